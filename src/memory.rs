//! Giving memory back once the load is over. The allocator keeps what a burst freed (see
//! `keep_freed_memory` in `main.rs`: the search index's writer would otherwise map and zero
//! its arenas again on every commit), spread over one arena per busy thread: after 500
//! connections or a large photo a server held about 1 GB it no longer used. So the arenas
//! are few, and when the server has been quiet for a while the freed memory goes back to the
//! system (`malloc_trim`, which also releases free pages inside the heaps). Idle is then the
//! caches' bounds plus the index writer plus a margin (`bench/memory`).
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::http::observe::ANSWERED;

/// How often the server looks whether it is quiet.
const EVERY: Duration = Duration::from_secs(10);
/// At most this many answers in `EVERY` is quiet.
const QUIET: u64 = 20;

/// Arenas for the whole process: a few, so that freed memory is not scattered over one
/// arena per thread that ever allocated (the blocking pool runs up to hundreds). Called
/// first in `main`, before any thread.
pub fn few_arenas() {
    // Benchmarks only (`bench/memory`): the allocator as it was, to compare.
    if keeps_memory() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

/// Runs for the server's life: each time the server has been quiet for `EVERY` after being
/// busy, hands freed memory back to the system.
pub async fn return_when_quiet() {
    if keeps_memory() {
        return;
    }
    let mut last = ANSWERED.load(Ordering::Relaxed);
    let mut trimmed = true;
    loop {
        tokio::time::sleep(EVERY).await;
        let now = ANSWERED.load(Ordering::Relaxed);
        let answered = now - last;
        last = now;
        if answered > QUIET {
            trimmed = false;
        } else if !trimmed {
            trimmed = true;
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

fn keeps_memory() -> bool {
    std::env::var_os("LEDE_BENCH_KEEP_MEMORY").is_some()
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
