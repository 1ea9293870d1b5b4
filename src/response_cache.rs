//! The response cache: rendered public answers kept per URL, compressed once (brotli and
//! gzip), each recording the keys of what it shows (see `changes::Key`); a change drops
//! exactly the answers that show what it touched, on this node at once and on the others
//! when its notification arrives at commit. Bounded by bytes with eviction (moka: TinyLFU
//! admission, so a flood of one-off URLs does not push out what readers keep asking for).
//! The middleware that serves and fills it is `http::cache`.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Bytes;
use tokio::sync::Notify;

use crate::changes::Key;

/// Answers larger than this, compressed, are served whole but not kept.
pub(crate) const MAX_KEEP: usize = 4 * 1024 * 1024;
/// Above this, compressing is done off the async workers.
pub(crate) const BLOCKING_COMPRESS: usize = 64 * 1024;
pub(crate) const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");

/// What an answer shows, left in its extensions by the handler: the keys a write names
/// when it changes one of them. Public answers without it are not kept.
#[derive(Clone, Debug, Default)]
pub struct Shown(pub Vec<Key>);

/// A response object that can say which things it shows. A single answer shows the thing
/// and what it embeds; a list shows its list key (`articles`) and its items' own keys, so
/// a change to something lists embed (an author, a tag, an image) names those lists too.
/// That keeps a list's `Surrogate-Key` short: a page of 100 names ~100 keys.
pub trait Shows {
    /// The key of the thing itself (`article:<id>`), if it is one.
    fn key(&self) -> Option<Key> {
        None
    }

    /// The keys of what it embeds (an article's author, avatar, tags and cover).
    fn embedded_keys(&self, _keys: &mut Vec<Key>) {}
}

/// The `Surrogate-Key` header of an answer showing `keys`, in the order of their text.
pub(crate) fn surrogate_key(keys: &[Key]) -> Option<HeaderValue> {
    let mut texts: Vec<String> = keys.iter().map(Key::to_string).collect();
    texts.sort();
    HeaderValue::from_str(&texts.join(" ")).ok()
}

/// Marks `response` as showing `keys`.
pub fn showing(mut response: HttpResponse, mut keys: Vec<Key>) -> HttpResponse {
    keys.sort();
    keys.dedup();
    response.extensions_mut().insert(Shown(keys));
    response
}

/// Marks `response` as also showing `keys`, besides what it shows already.
pub fn also_showing(response: HttpResponse, keys: Vec<Key>) -> HttpResponse {
    let mut all = response
        .extensions()
        .get::<Shown>()
        .map(|shown| shown.0.clone())
        .unwrap_or_default();
    all.extend(keys);
    showing(response, all)
}

pub struct ResponseCache {
    pub(crate) entries: moka::sync::Cache<String, Arc<Entry>>,
    /// Totals of lists (`meta.total`) by list (filters, not page), see `count`.
    /// A list's total (and whether it is an estimate), with the epoch it was made in.
    pub(crate) counts: moka::sync::Cache<String, ((i64, bool), u64)>,
    /// Keys being rendered now: a burst of misses for one URL renders it once (the first
    /// request leads, the others wait for its answer).
    pub(crate) in_flight: Mutex<HashMap<String, Arc<Notify>>>,
    /// Counts invalidations; an entry remembers the epoch its rendering started in.
    pub(crate) epoch: AtomicU64,
    /// Entries from before this epoch are stale (everything was dropped then).
    pub(crate) emptied_at: AtomicU64,
    /// The epoch each key was last invalidated in (and when, to forget old ones).
    pub(crate) invalidated: RwLock<HashMap<Key, (u64, Instant)>>,
    /// Whether changes made through other nodes are heard now. While they are not, the cache
    /// is neither read nor filled.
    pub(crate) listening: AtomicBool,
    /// Unix microseconds of the next scheduled publication (`i64::MAX`: none; `i64::MIN`:
    /// unknown, look it up).
    pub(crate) next_publication: AtomicI64,
    /// Database time (Unix microseconds) up to which publications are in every list made
    /// since (`i64::MIN`: not looked up yet). The next look-up asks what became public after
    /// it, so an instant passes unnoticed by no list, whatever happened to `next_publication`.
    pub(crate) published_through: AtomicI64,
    /// Counts changes that may have moved a publication instant (see `changed`).
    pub(crate) schedule_changes: AtomicU64,
    pub(crate) ttl: Duration,
    /// `Cache-Control` of public answers.
    pub(crate) cache_control: HeaderValue,
}

/// A kept answer, compressed once both ways (even a small one: served as it is, it would be
/// compressed again on every request by the compression middleware).
pub(crate) struct Body {
    pub(crate) br: Bytes,
    pub(crate) gzip: Bytes,
}

pub(crate) struct Entry {
    pub(crate) epoch: u64,
    pub(crate) keys: Vec<Key>,
    pub(crate) surrogate_key: Option<HeaderValue>,
    pub(crate) etag: HeaderValue,
    pub(crate) body: Body,
    /// `Content-Type`, and `Link`, `X-Total-Count`: what an answer carries besides its body.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// The route pattern, for metrics of answers that skip the router.
    pub(crate) route: Option<String>,
}

impl Entry {
    pub(crate) fn weight(&self, key: &str) -> u32 {
        let body = self.body.br.len() + self.body.gzip.len();
        let keys = self.keys.len() * (std::mem::size_of::<Key>() + 24);
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let surrogate_key = self.surrogate_key.as_ref().map_or(0, HeaderValue::len);
        (key.len() + body + keys + headers + surrogate_key + self.etag.len() + 256)
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

impl ResponseCache {
    pub fn new(ttl_secs: u64, max_bytes: u64, max_age: u64, stale_while_revalidate: u64) -> Self {
        let cache_control =
            format!("public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}");
        let ttl = Duration::from_secs(ttl_secs);
        ResponseCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, entry: &Arc<Entry>| entry.weight(key))
                .time_to_live(ttl.max(Duration::from_secs(1)))
                .build(),
            counts: moka::sync::Cache::builder()
                .max_capacity(16 * 1024 * 1024)
                .weigher(|list: &String, _| (list.len() + 64).try_into().unwrap_or(u32::MAX))
                .time_to_live(count_ttl(ttl))
                .build(),
            in_flight: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(1),
            emptied_at: AtomicU64::new(0),
            invalidated: RwLock::new(HashMap::new()),
            listening: AtomicBool::new(true),
            next_publication: AtomicI64::new(i64::MIN),
            published_through: AtomicI64::new(i64::MIN),
            schedule_changes: AtomicU64::new(0),
            ttl,
            cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or(HeaderValue::from_static("no-cache")),
        }
    }

    /// Drops the answers that show any of `keys` (`*`: all of them).
    pub fn invalidate(&self, keys: &[Key]) {
        if keys.is_empty() {
            return;
        }
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if keys.contains(&Key::Everything) {
            self.emptied_at.store(epoch, Ordering::SeqCst);
            self.entries.invalidate_all();
            self.counts.invalidate_all();
            return;
        }
        let now = Instant::now();
        if let Ok(mut invalidated) = self.invalidated.write() {
            if invalidated.len() > 100_000 {
                // Older than any kept answer or count can be: forget them.
                let horizon = count_ttl(self.ttl) + Duration::from_secs(60);
                invalidated.retain(|_, (_, at)| now.duration_since(*at) < horizon);
            }
            for key in keys {
                invalidated.insert(*key, (epoch, now));
            }
        }
    }

    /// A change was recorded: drop what shows it. What each key means to the cache is
    /// decided here, for every key there is.
    pub(crate) fn changed(&self, keys: &[Key]) {
        self.invalidate(keys);
        let schedule_moved = keys.iter().any(|key| match key {
            // A publication instant may have moved (no answer shows that key): look it up
            // again, as after a change this node may not have understood.
            Key::Schedule | Key::Everything => true,
            Key::Article(_)
            | Key::Author(_)
            | Key::Byline(_)
            | Key::Tag(_)
            | Key::Image(_)
            | Key::Comments(_)
            | Key::Articles
            | Key::Authors
            | Key::Tags
            | Key::Images
            | Key::Search
            | Key::Counts
            | Key::Sequence => false,
        });
        if schedule_moved {
            self.schedule_changes.fetch_add(1, Ordering::SeqCst);
            self.next_publication.store(i64::MIN, Ordering::SeqCst);
        }
    }

    /// Drops everything (a node that may have missed changes).
    pub fn empty(&self) {
        self.invalidate(&[Key::Everything]);
        self.next_publication.store(i64::MIN, Ordering::SeqCst);
    }

    /// Whether something made in `epoch` that shows `keys` is still current.
    pub(crate) fn is_current(&self, epoch: u64, keys: &[Key]) -> bool {
        if epoch < self.emptied_at.load(Ordering::SeqCst) {
            return false;
        }
        if epoch == self.epoch.load(Ordering::SeqCst) {
            return true;
        }
        let Ok(invalidated) = self.invalidated.read() else {
            return false;
        };
        keys.iter()
            .all(|key| invalidated.get(key).is_none_or(|(at, _)| *at <= epoch))
    }

    /// A kept count of a list (its `meta.total`), while nothing it counts has changed.
    /// Counts are kept even when answers are not (`LEDE_CACHE_TTL=0`): every page, cursor
    /// and order of one list shares one, and counting is most of what a list costs.
    pub fn count(&self, list: &str, keys: &[Key]) -> Option<(i64, bool)> {
        if !self.listening.load(Ordering::SeqCst) {
            return None;
        }
        let (total, epoch) = self.counts.get(list)?;
        self.is_current(epoch, keys).then_some(total)
    }

    /// Keeps a count made from what was current in `epoch` (see `epoch`).
    pub fn keep_count(&self, list: String, epoch: u64, total: (i64, bool)) {
        self.counts.insert(list, (total, epoch));
    }

    /// Where invalidation stands now: take it before reading what will be kept.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        // A stale entry stays until the next render of its URL replaces it (removing it
        // here could remove that newer one) or it is evicted.
        let entry = self.entries.get(key)?;
        self.is_current(entry.epoch, &entry.keys).then_some(entry)
    }

    pub(crate) fn usable(&self) -> bool {
        !self.ttl.is_zero() && self.listening.load(Ordering::SeqCst)
    }

    /// Becomes the one request that renders `key`, or waits (a bounded time) for the one that
    /// does. `Some(guard)` means: render it, the guard wakes the others when dropped.
    pub(crate) async fn lead_or_wait(&self, key: &str) -> Option<Leader<'_>> {
        let notified = {
            let Ok(mut in_flight) = self.in_flight.lock() else {
                return None;
            };
            match in_flight.get(key) {
                Some(notify) => notify.clone(),
                None => {
                    in_flight.insert(key.to_owned(), Arc::new(Notify::new()));
                    return Some(Leader {
                        cache: self,
                        key: key.to_owned(),
                    });
                }
            }
        };
        let wait = notified.notified();
        tokio::pin!(wait);
        // Registered before checking again, so a leader finishing now still wakes us.
        wait.as_mut().enable();
        if self.in_flight.lock().is_ok_and(|m| m.contains_key(key)) {
            let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
        }
        None
    }
}

/// How long a list's count is kept at most (it is dropped at once when what it counts changes).
pub(crate) fn count_ttl(ttl: Duration) -> Duration {
    ttl.max(Duration::from_secs(60))
}

pub(crate) struct Leader<'a> {
    pub(crate) cache: &'a ResponseCache,
    pub(crate) key: String,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.cache.in_flight.lock()
            && let Some(notify) = in_flight.remove(&self.key)
        {
            notify.notify_waiters();
        }
    }
}

pub(crate) fn compress(body: &[u8]) -> Body {
    Body {
        br: compress_as("br", body, KEPT),
        gzip: compress_as("gzip", body, KEPT),
    }
}

/// Compression levels (brotli, gzip): kept answers are compressed once and served many
/// times, so harder; an answer served once is compressed fast (brotli 1 takes half the time
/// of 2 for 8% more bytes, measured on a 31 KB article).
pub(crate) type Levels = (u32, u32);
pub(crate) const KEPT: Levels = (5, 6);
pub(crate) const ONCE: Levels = (1, 3);

/// `body` in brotli (`br`) or gzip (anything else).
pub(crate) fn compress_as(coding: &str, body: &[u8], (br_level, gzip_level): Levels) -> Bytes {
    // Writing into a Vec cannot fail.
    if coding == "br" {
        // A window just larger than the answer (brotli's 22 bits would allocate megabytes
        // per compression, many at once under a burst of misses), but not under 18 bits: at
        // 16 and below brotli picks a hasher whose tables are zeroed at great cost each call.
        let window = (usize::BITS - body.len().leading_zeros() + 1).clamp(18, 24);
        let mut br = brotli::CompressorWriter::new(
            Vec::with_capacity(body.len() / 4),
            4096,
            br_level,
            window,
        );
        let _ = br.write_all(body);
        Bytes::from(br.into_inner())
    } else {
        let mut gzip = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 3),
            flate2::Compression::new(gzip_level),
        );
        let _ = gzip.write_all(body);
        Bytes::from(gzip.finish().unwrap_or_default())
    }
}

/// For a client that takes no compression (rare: browsers and CDNs all take gzip or br).
pub(crate) fn gunzip(gzip: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(gzip.len() * 4);
    let _ = flate2::read::GzDecoder::new(gzip).read_to_end(&mut out);
    Bytes::from(out)
}

impl ResponseCache {
    /// Whether changes are heard (else answers are neither kept nor served from the cache).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_bodies_come_back_whole() {
        let body = "lede ".repeat(2000);
        let Body { br, gzip } = compress(body.as_bytes());
        assert!(br.len() < body.len() / 10 && gzip.len() < body.len() / 10);
        assert_eq!(gunzip(&gzip), body.as_bytes());
    }
}
