//! A read replica for public reads (`LEDE_DATABASE_REPLICA_URL`). A public answer may be
//! kept in the response cache and shared, so it is read from the replica only while the
//! replica has replayed every change this node has heard of: each change (announced by the
//! feed's notification, or written by this node) sends reads to the primary until the
//! replica's replay position passes the primary's position at that moment. Token holders
//! always read the primary: they see their own writes at once.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use tokio::sync::Notify;

use super::Pool;

/// Not known yet: reads go to the primary.
const UNKNOWN: u64 = u64::MAX;

pub struct Replica {
    pub pool: Pool,
    /// The primary's WAL position the replica must have replayed.
    needed: AtomicU64,
    /// The replica's replay position, as last seen.
    replayed: AtomicU64,
    /// Bumped by every change heard of.
    changes: AtomicU64,
    /// The value of `changes` when `needed` was read: `needed` holds for that many changes.
    checked: AtomicU64,
    wake: Notify,
}

impl Replica {
    pub fn new(pool: Pool) -> Arc<Replica> {
        Arc::new(Replica {
            pool,
            needed: AtomicU64::new(UNKNOWN),
            replayed: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            checked: AtomicU64::new(UNKNOWN),
            wake: Notify::new(),
        })
    }

    /// Whether a public read may be served from the replica now.
    pub fn is_fresh(&self) -> bool {
        // `needed` must have been read after the last change heard of.
        let changes = self.changes.load(Ordering::SeqCst);
        if self.checked.load(Ordering::SeqCst) != changes {
            return false;
        }
        let needed = self.needed.load(Ordering::SeqCst);
        needed != UNKNOWN && self.replayed.load(Ordering::SeqCst) >= needed
    }

    /// Something changed: reads go to the primary until the replica has it too. Call it
    /// before anything that lets a new answer be kept (the response cache's invalidation).
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Keeps `needed` and `replayed` current, until the process ends.
    pub fn follow(self: &Arc<Self>, primary: Pool) {
        let replica = self.clone();
        crate::stopping::spawn(async move {
            loop {
                if let Err(error) = replica.check(&primary).await {
                    tracing::warn!(%error, "read replica: cannot tell how far it is; reading the primary");
                    replica.replayed.store(0, Ordering::SeqCst);
                }
                let pause = if replica.is_fresh() {
                    Duration::from_secs(1)
                } else {
                    Duration::from_millis(20)
                };
                let _ = tokio::time::timeout(pause, replica.wake.notified()).await;
            }
        });
    }

    async fn check(&self, primary: &Pool) -> anyhow::Result<()> {
        let seen = self.changes.load(Ordering::SeqCst);
        if self.checked.load(Ordering::SeqCst) != seen {
            // Where WAL is inserted, not where it is written: with asynchronous commit a
            // commit's record may not be written yet, and the replica must have it too.
            let position = lsn(primary, "pg_current_wal_insert_lsn()")
                .await?
                .unwrap_or(0);
            self.needed.store(position, Ordering::SeqCst);
            // Holds for the changes heard of before the position was read (a later one
            // leaves `checked` behind `changes`: read again).
            self.checked.store(seen, Ordering::SeqCst);
        }
        // NULL when it is not replaying (not a standby): it is as current as the primary.
        let replayed = lsn(&self.pool, "pg_last_wal_replay_lsn()")
            .await?
            .unwrap_or(UNKNOWN - 1);
        self.replayed.store(replayed, Ordering::SeqCst);
        Ok(())
    }
}

/// A WAL position (`position`: a function giving a `pg_lsn`) as a number.
async fn lsn(pool: &Pool, position: &str) -> anyhow::Result<Option<u64>> {
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Lsn {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        lsn: Option<i64>,
    }
    let mut conn = pool.get().await?;
    let found: Lsn = diesel::sql_query(format!(
        "SELECT ({position} - '0/0'::pg_lsn)::bigint AS lsn"
    ))
    .get_result(&mut conn)
    .await?;
    Ok(found.lsn.map(|lsn| lsn.max(0) as u64))
}
