//! Image work is bounded, whatever arrives at once: each decode first takes its share of a
//! memory budget (`LEDE_IMAGE_MEMORY_MB`, its size known from the file's header) and one of
//! as many worker places as there are cores. Others wait their turn in order; one that
//! waits too long answers 503 with `Retry-After`. The async workers never decode: `/healthz`
//! and every read go on meanwhile.
//!
//! Background work (an image's AVIF and WebP encodes) takes a place only when no request
//! waits for one and it is free: it never goes before an upload in the line (an upload that
//! comes while an encode runs waits for that one encode, as for another upload).
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Bytes one pixel may take at the decode's peak: the decoded pixels (up to RGBA, 4 bytes),
/// a turned copy when EXIF asks for one, and the resize's buffers. Measured: a 7000x7000
/// PNG peaks at about 10 bytes a pixel (500 MiB); 12 leaves room.
const BYTES_PER_PIXEL: u64 = 12;

/// How long an upload waits for its turn before it is told to come back.
const WAIT: Duration = Duration::from_secs(60);
/// How long background work waits for a moment without requests before it gives up (and
/// its job is tried again later): well within a job's lease.
const BACKGROUND_WAIT: Duration = Duration::from_secs(120);
/// How often waiting background work looks again.
const BACKGROUND_POLL: Duration = Duration::from_millis(100);

pub struct ImageBudget {
    memory: Arc<Semaphore>,
    memory_mb: u32,
    workers: Arc<Semaphore>,
    /// Requests waiting for a place: background work stays out of the line while any do.
    requests_waiting: Arc<AtomicUsize>,
}

/// Counts a waiting request for as long as it waits (also when its wait is given up).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A place in image work, held while decoding and resizing.
pub struct Admitted {
    _memory: OwnedSemaphorePermit,
    _worker: OwnedSemaphorePermit,
}

impl ImageBudget {
    pub fn new(memory_mb: u32, workers: usize) -> Self {
        let memory_mb = memory_mb.max(1);
        ImageBudget {
            memory: Arc::new(Semaphore::new(memory_mb as usize)),
            memory_mb,
            workers: Arc::new(Semaphore::new(workers.max(1))),
            requests_waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sized to this machine: a worker place per core.
    pub fn for_machine(memory_mb: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ImageBudget::new(memory_mb, cores)
    }

    /// What decoding a `width` x `height` image may take, in MiB. An image larger than the
    /// whole budget takes all of it (alone, then). Turns are first come, first served: a large
    /// image is not starved by small ones.
    pub fn cost_mb(&self, width: u32, height: u32) -> u32 {
        let bytes = u64::from(width) * u64::from(height) * BYTES_PER_PIXEL;
        u32::try_from(bytes.div_ceil(1 << 20))
            .unwrap_or(u32::MAX)
            .clamp(1, self.memory_mb)
    }

    /// Waits for room to decode a `width` x `height` image; 503 when none comes in time.
    /// Turns are first come, first served: a large image is not starved by small ones.
    pub async fn admit(&self, width: u32, height: u32) -> Result<Admitted, ApiError> {
        let cost = self.cost_mb(width, height);
        let memory = self.memory.clone();
        let workers = self.workers.clone();
        let _waiting = Waiting::new(&self.requests_waiting);
        // Memory first, then a worker, always in that order: no two uploads hold one each.
        let admitted = tokio::time::timeout(WAIT, async move {
            let memory = memory.acquire_many_owned(cost).await.ok()?;
            let worker = workers.acquire_owned().await.ok()?;
            Some(Admitted {
                _memory: memory,
                _worker: worker,
            })
        })
        .await;
        match admitted {
            Ok(Some(admitted)) => Ok(admitted),
            _ => Err(ApiError::Unavailable(
                "image processing is at capacity; try again shortly".into(),
            )),
        }
    }

    /// Waits for room for background work on a `width` x `height` image: taken only when
    /// no request waits and the room is free at once (never a place in the requests' line).
    pub async fn admit_background(&self, width: u32, height: u32) -> Result<Admitted, ApiError> {
        let cost = self.cost_mb(width, height);
        let deadline = tokio::time::Instant::now() + BACKGROUND_WAIT;
        loop {
            if self.requests_waiting.load(Ordering::SeqCst) == 0
                && let Ok(memory) = self.memory.clone().try_acquire_many_owned(cost)
                && let Ok(worker) = self.workers.clone().try_acquire_owned()
            {
                return Ok(Admitted {
                    _memory: memory,
                    _worker: worker,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::Unavailable(
                    "image processing stayed busy with requests; background work waits".into(),
                ));
            }
            tokio::time::sleep(BACKGROUND_POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_follows_pixels_and_stays_within_the_budget() {
        let budget = ImageBudget::new(640, 2);
        assert_eq!(budget.cost_mb(10, 10), 1);
        assert_eq!(budget.cost_mb(4000, 3000), 138);
        assert_eq!(budget.cost_mb(7000, 7000), 561);
        assert_eq!(budget.cost_mb(16_384, 16_384), 640);
    }

    #[tokio::test]
    async fn a_second_large_decode_waits_for_the_first() {
        let budget = Arc::new(ImageBudget::new(640, 2));
        let first = budget.admit(7000, 7000).await.unwrap();
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.admit(7000, 7000).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "two 7000x7000 decodes at once");
        drop(first);
        waiting.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn background_work_waits_while_a_request_waits() {
        let budget = Arc::new(ImageBudget::new(640, 2));
        let first = budget.admit(7000, 7000).await.unwrap();
        // A request waits for the first to end; background work, though it asks for little,
        // does not go before it nor beside it.
        let request = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.admit(7000, 7000).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let background = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.admit_background(10, 10).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !background.is_finished(),
            "background work went before a waiting request"
        );
        drop(first);
        request.await.unwrap().unwrap();
        // No request waits now: the background work gets its turn.
        background.await.unwrap().unwrap();
    }
}
