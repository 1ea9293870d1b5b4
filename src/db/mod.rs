//! Database access: the connection pool, migrations and the embedded cluster.
pub mod embedded;
pub mod replica;
pub mod schema;
pub mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type Pool = DeadPool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;

/// A pool that never waits longer than `timeout` for a connection: past it the request
/// answers 503 instead of hanging. Broken connections are replaced on the next checkout,
/// so the service recovers by itself when the database comes back. Each connection ends a
/// statement that runs longer than `statement_timeout` (zero: never), so no request can
/// hold a connection and a core of the database for long.
pub fn build_pool(
    database_url: &str,
    size: usize,
    timeout: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<Database> {
    let queries = Arc::new(AtomicU64::new(0));
    let pool = pool_of(
        database_url,
        size,
        timeout,
        statement_timeout,
        Some(queries.clone()),
    )?;
    // Two job queues, the search index's and the replica's followers, webhook dispatch and
    // deliveries: one connection each at most, and one to spare.
    let background = pool_of(database_url, 7, timeout, statement_timeout, None)?;
    Ok(Database {
        pool,
        background,
        replica: None,
        queries,
    })
}

/// A pool whose connections run with `statement_timeout`, counting their statements in
/// `counter` when given.
fn pool_of(
    database_url: &str,
    size: usize,
    timeout: Duration,
    statement_timeout: Duration,
    counter: Option<Arc<AtomicU64>>,
) -> anyhow::Result<Pool> {
    // Taken as they are: a test query on every checkout would cost each request a round
    // trip. A connection that died fails its first statement (a 503) and is dropped then.
    let mut manager_config = ManagerConfig::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    let target = Arc::new(tls::Target::parse(database_url)?);
    manager_config.custom_setup = Box::new(move |_| {
        let target = target.clone();
        Box::pin(async move { target.connect().await })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        database_url,
        manager_config,
    );
    // Postgres takes at most i32::MAX milliseconds (about 24 days).
    let set_timeout = format!(
        "SET statement_timeout = {}",
        statement_timeout.as_millis().min(i32::MAX as u128)
    );
    Ok(DeadPool::builder(manager)
        .post_create(deadpool::managed::Hook::async_fn(
            move |conn: &mut AsyncPgConnection, _| {
                let counter = counter.clone();
                let set_timeout = set_timeout.clone();
                Box::pin(async move {
                    use diesel_async::{AsyncConnection, RunQueryDsl};
                    diesel::sql_query(set_timeout)
                        .execute(conn)
                        .await
                        .map_err(|e| {
                            deadpool::managed::HookError::Backend(
                                diesel_async::pooled_connection::PoolError::QueryError(e),
                            )
                        })?;
                    // Counted from here: the setting is not a statement of any request.
                    if let Some(counter) = counter {
                        conn.set_instrumentation(CountQueries(counter));
                    }
                    Ok(())
                })
            },
        ))
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// The pool and the count of statements its connections ran (`lede_db_queries_total`):
/// how tests and benchmarks see that a page costs a constant number of queries.
pub struct Database {
    pub pool: Pool,
    /// For work no request waits on (the search index's feed): it never takes a connection
    /// a reader needs, and its statements are not counted as requests'.
    pub background: Pool,
    /// A read replica for public reads (`LEDE_DATABASE_REPLICA_URL`).
    pub replica: Option<Pool>,
    pub queries: Arc<AtomicU64>,
}

impl Database {
    /// Adds a read replica's pool (its statements counted with the primary's).
    pub fn with_replica(
        mut self,
        replica_url: &str,
        size: usize,
        timeout: Duration,
        statement_timeout: Duration,
    ) -> anyhow::Result<Self> {
        self.replica = Some(pool_of(
            replica_url,
            size,
            timeout,
            statement_timeout,
            Some(self.queries.clone()),
        )?);
        Ok(self)
    }
}

/// Takes a connection from the pool, or a 503 when the database is out of reach.
pub async fn conn(pool: &Pool) -> Result<Conn, ApiError> {
    Ok(pool.get().await?)
}

/// The server secret stored as `key` in `lede_meta` (32 random bytes), made once, by whichever
/// node asks first, when missing: every node signs and checks with the same one.
pub async fn server_secret(conn: &mut AsyncPgConnection, key: &str) -> anyhow::Result<Vec<u8>> {
    use crate::db::schema::lede_meta;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let query = lede_meta::table.find(key).select(lede_meta::value);
    // A read, usually: written only the first time.
    let stored = match query.first::<String>(conn).await.optional()? {
        Some(stored) => stored,
        None => {
            let fresh: [u8; 32] = rand::random();
            diesel::insert_into(lede_meta::table)
                .values((
                    lede_meta::key.eq(key),
                    lede_meta::value.eq(hex::encode(fresh)),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            query.first::<String>(conn).await?
        }
    };
    Ok(hex::decode(stored)?)
}

/// Applies pending migrations. Runs diesel's synchronous harness on a thread of its own
/// (it drives its connection with a private runtime), so any caller may await it. Nodes
/// (or commands) starting at once take turns: an advisory lock is held while migrating.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    use diesel_async::RunQueryDsl;
    let target = tls::Target::parse(database_url)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| {
            // The harness blocks in place: a multi-threaded runtime of its own.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = target.connect().await?;
                // Released with the session, whatever happens.
                diesel::sql_query("SELECT pg_advisory_lock(7306734)")
                    .execute(&mut conn)
                    .await?;
                let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
                let applied = harness
                    .run_pending_migrations(MIGRATIONS)
                    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
                Ok(applied.iter().map(ToString::to_string).collect())
            })
        })();
        let _ = tx.send(result);
    });
    rx.await?
}

/// One connection to `database_url` (TLS as its `sslmode` asks), outside any pool.
pub async fn connect(database_url: &str) -> anyhow::Result<AsyncPgConnection> {
    Ok(tls::Target::parse(database_url)?.connect().await?)
}

struct CountQueries(Arc<AtomicU64>);

impl diesel::connection::Instrumentation for CountQueries {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The SQL type `regconfig` (a text-search configuration), sent as its oid.
#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 3734, array_oid = 3735))]
pub struct Regconfig;

/// A text-search configuration this database has. Made only by [`SearchLanguage::find`], so
/// holding one proves it exists; bound as a `regconfig` parameter, never written into SQL text.
#[derive(Debug, Clone, diesel::expression::AsExpression)]
#[diesel(sql_type = Regconfig)]
pub struct SearchLanguage {
    oid: u32,
}

impl SearchLanguage {
    /// The configuration named `name` (e.g. `english`, `french`, `simple`), or an error
    /// saying what to set instead.
    pub async fn find(pool: &Pool, name: &str) -> anyhow::Result<Self> {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::Oid)]
            oid: u32,
        }
        let mut conn = pool.get().await?;
        let found: Option<Found> = diesel::sql_query(
            "SELECT oid FROM pg_ts_config WHERE cfgname = $1 ORDER BY cfgnamespace LIMIT 1",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(&mut conn)
        .await
        .optional()?;
        match found {
            Some(Found { oid }) => Ok(SearchLanguage { oid }),
            None => anyhow::bail!(
                "LEDE_SEARCH_LANGUAGE `{name}` is not a text-search configuration of this database \
                 (try english, simple, french, german, ...)"
            ),
        }
    }
}

impl diesel::serialize::ToSql<Regconfig, diesel::pg::Pg> for SearchLanguage {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        diesel::serialize::ToSql::<diesel::sql_types::Oid, diesel::pg::Pg>::to_sql(&self.oid, out)
    }
}

/// A count per id of `ids`, from `sql` (selecting `id` and `n`, `$1` the ids): e.g. the
/// `article_count` of a page of authors or tags in one statement.
pub async fn counts_by_id(
    conn: &mut diesel_async::AsyncPgConnection,
    sql: &'static str,
    ids: &[uuid::Uuid],
) -> diesel::QueryResult<std::collections::HashMap<uuid::Uuid, i64>> {
    #[derive(diesel::QueryableByName)]
    struct Counted {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    use diesel_async::RunQueryDsl;
    let rows: Vec<Counted> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.n)).collect())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// A landed migration never changes: a database migrated before the change would never
    /// get it. Every migration folder is held to `migrations/checksums.sha256`; a new one
    /// adds its lines there, a correction is a new migration.
    #[test]
    fn landed_migrations_are_never_changed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let listed = std::fs::read_to_string(root.join("checksums.sha256")).unwrap();
        let mut expected = std::collections::BTreeMap::new();
        for line in listed
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (sum, file) = line.split_once("  ").unwrap();
            expected.insert(file.to_owned(), sum.to_owned());
        }
        let mut found = std::collections::BTreeMap::new();
        for dir in std::fs::read_dir(&root).unwrap().flatten() {
            if !dir.path().is_dir() {
                continue;
            }
            for file in ["up.sql", "down.sql"] {
                if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
                    let name = format!("{}/{file}", dir.file_name().to_string_lossy());
                    found.insert(name, hex::encode(Sha256::digest(&bytes)));
                }
            }
        }
        for (file, sum) in &found {
            match expected.get(file) {
                Some(listed) => assert_eq!(
                    listed, sum,
                    "migrations/{file} changed after it landed: put the change in a new migration"
                ),
                None => panic!(
                    "migrations/{file} is not in migrations/checksums.sha256: add `{sum}  {file}`"
                ),
            }
        }
        for file in expected.keys() {
            assert!(found.contains_key(file), "migrations/{file} was removed");
        }
    }
}
