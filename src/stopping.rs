//! Background work that ends before the process stops: once the server has let its last
//! request finish, `stop` ends every task spawned here, before the database (the embedded
//! cluster is stopped next) can go away under them. A clean stop then has nothing to warn
//! of, and no loop needs to know that the process is stopping.
use std::future::Future;
use std::sync::Mutex;

use tokio::task::JoinHandle;

/// The background tasks still running (finished ones are dropped as new ones come).
static TASKS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Spawns background work (a follower, a worker, a delivery) that `stop` ends.
pub fn spawn(work: impl Future<Output = ()> + Send + 'static) {
    let task = tokio::spawn(work);
    let mut tasks = TASKS.lock().unwrap_or_else(|e| e.into_inner());
    tasks.retain(|task| !task.is_finished());
    tasks.push(task);
}

/// Ends every background task and waits until each has (after the server's graceful stop,
/// before the cluster's). A task ended mid-work is one a crash would have ended: its
/// transaction rolls back, its job's lease or delivery's claim runs out and another takes
/// it.
pub async fn stop() {
    let tasks = std::mem::take(&mut *TASKS.lock().unwrap_or_else(|e| e.into_inner()));
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
}
