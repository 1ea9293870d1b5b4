//! Database access: the connection pool, migrations and the embedded cluster.
pub mod embedded;
pub mod schema;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
pub fn build_pool(database_url: &str, size: usize, timeout: Duration) -> anyhow::Result<Database> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    let queries = Arc::new(AtomicU64::new(0));
    let counter = queries.clone();
    let pool = DeadPool::builder(manager)
        .post_create(deadpool::managed::Hook::sync_fn(
            move |conn: &mut AsyncPgConnection, _| {
                use diesel_async::AsyncConnection;
                conn.set_instrumentation(CountQueries(counter.clone()));
                Ok(())
            },
        ))
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(Database { pool, queries })
}

/// The pool and the count of statements its connections ran (`lede_db_queries_total`):
/// how tests and benchmarks see that a page costs a constant number of queries.
pub struct Database {
    pub pool: Pool,
    pub queries: Arc<AtomicU64>,
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

struct CountQueries(Arc<AtomicU64>);

impl diesel::connection::Instrumentation for CountQueries {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Fails unless `language` is a text-search configuration of the database (it is put into
/// SQL text, so only a known name may pass), and makes it the default of new articles.
pub async fn check_search_language(
    conn: &mut AsyncPgConnection,
    language: &str,
) -> anyhow::Result<()> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found =
        diesel::sql_query("SELECT count(*) AS n FROM pg_ts_config WHERE cfgname = $1")
            .bind::<diesel::sql_types::Text, _>(language)
            .get_result(conn)
            .await?;
    if found.n == 0
        || !language
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        anyhow::bail!(
            "LEDE_SEARCH_LANGUAGE `{language}` is not a text-search configuration of this database \
             (try english, simple, french, german, ...)"
        );
    }
    diesel::sql_query(format!(
        "ALTER TABLE articles ALTER COLUMN search_language SET DEFAULT '{language}'"
    ))
    .execute(conn)
    .await?;
    Ok(())
}
