//! Whether this process is stopping. Once the server has let its last request finish, the
//! database may go away under the background loops (the embedded cluster is stopped next):
//! they end quietly then, since what fails is the stop itself, nothing an operator must act on.
use std::sync::atomic::{AtomicBool, Ordering};

static STOPPING: AtomicBool = AtomicBool::new(false);

/// Says the process is stopping (after the server's graceful stop, before the cluster's).
pub fn begin() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// Whether `begin` was called: a background loop that fails now ends without a warning.
pub fn began() -> bool {
    STOPPING.load(Ordering::SeqCst)
}
