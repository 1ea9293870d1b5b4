//! Database access: the connection pool, migrations and the embedded cluster.
pub mod embedded;
pub mod schema;

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type Pool = DeadPool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;

/// A pool that never waits longer than `timeout` for a connection: past it the request
/// answers 503 instead of hanging. Broken connections are replaced on the next checkout,
/// so the service recovers by itself when the database comes back.
pub fn build_pool(database_url: &str, size: usize, timeout: Duration) -> anyhow::Result<Pool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Ok(DeadPool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// Takes a connection from the pool, or a 503 when the database is out of reach.
pub async fn conn(pool: &Pool) -> Result<Conn, ApiError> {
    Ok(pool.get().await?)
}

/// Applies pending migrations. Runs diesel's synchronous harness on a thread of its own
/// (it drives its connection with a private runtime), so any caller may await it.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    use diesel::Connection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    let url = database_url.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| {
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
            let applied = conn
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
            Ok(applied.iter().map(ToString::to_string).collect())
        })();
        let _ = tx.send(result);
    });
    rx.await?
}
