//! The test harness: one throwaway Postgres cluster per test binary (removed at exit), one
//! migrated template database, and for each test its own database cloned from the
//! template, served by the real app on a real port.
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use lede::config::Config;
use lede::db::embedded::{Durability, EmbeddedPostgres};
use lede::http::auth::Role;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const TEMPLATE: &str = "lede_template";

struct Cluster {
    postgres: Mutex<Option<EmbeddedPostgres>>,
    dir: PathBuf,
    admin_url: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Starts the cluster once (on a thread of its own, with its own runtime, so it can be
/// called from any test's runtime) and registers its removal at process exit.
fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        std::thread::spawn(|| {
            let dir = std::env::temp_dir().join(format!("lede-test-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let postgres = EmbeddedPostgres::start(&dir.join("pg"), Durability::Throwaway)
                .expect("start the test cluster (is the PostgreSQL server package installed?)");
            let admin_url = postgres.url_for("postgres");
            let template_url = postgres.url_for(TEMPLATE);
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut conn = AsyncPgConnection::establish(&admin_url)
                        .await
                        .expect("connect");
                    diesel::sql_query(format!("CREATE DATABASE {TEMPLATE}"))
                        .execute(&mut conn)
                        .await
                        .expect("create template");
                    lede::db::run_migrations(&template_url)
                        .await
                        .expect("migrate template");
                });
            // SAFETY: registers a plain `extern "C" fn` with no arguments.
            unsafe { libc::atexit(remove_cluster) };
            Cluster {
                postgres: Mutex::new(Some(postgres)),
                dir,
                admin_url,
            }
        })
        .join()
        .expect("cluster thread")
    })
}

extern "C" fn remove_cluster() {
    if let Some(cluster) = CLUSTER.get() {
        if let Some(mut postgres) = cluster.postgres.lock().ok().and_then(|mut p| p.take()) {
            postgres.stop();
        }
        let _ = std::fs::remove_dir_all(&cluster.dir);
    }
}

/// Runs SQL against the cluster's maintenance database, from any context.
fn admin_sql(sql: String) {
    let url = cluster().admin_url.clone();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let mut conn = AsyncPgConnection::establish(&url).await.expect("connect");
                diesel::sql_query(sql)
                    .execute(&mut conn)
                    .await
                    .expect("admin sql");
            })
    })
    .join()
    .expect("admin thread");
}

/// A new migrated database on the test cluster (its name and URL), served by nothing yet.
pub fn fresh_database() -> (String, String) {
    let database = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    admin_sql(format!(
        "CREATE DATABASE {database} TEMPLATE {TEMPLATE} STRATEGY = FILE_COPY"
    ));
    let url = cluster()
        .postgres
        .lock()
        .expect("cluster lock")
        .as_ref()
        .expect("cluster running")
        .url_for(&database);
    (database, url)
}

/// A running app on its own database, with a token of each role.
pub struct TestApp {
    pub address: String,
    /// Where this app's image files are stored.
    pub media_dir: PathBuf,
    /// Its own data directory (the search index).
    pub data_dir: PathBuf,
    pub database: String,
    pub database_url: String,
    pub admin: String,
    pub editor: String,
    /// An author-role token bound to the demo author `test-author`.
    pub author: String,
    client: reqwest::Client,
    server: actix_web::dev::ServerHandle,
}

pub struct Options {
    pub json_limit: usize,
    pub public_url: Option<String>,
    pub cors_origins: String,
    pub media_url: Option<String>,
    pub image_max_bytes: usize,
    pub image_max_pixels: u64,
    pub comments_per_ip: i64,
    pub comment_auto_approve: bool,
    pub trusted_proxies: String,
    /// `LEDE_CACHE_TTL` (0: answers are not kept).
    pub cache_ttl: u64,
    /// `LEDE_SEARCH_LANGUAGE`.
    pub search_language: String,
    /// `LEDE_STATEMENT_TIMEOUT_MS`.
    pub statement_timeout_ms: u64,
    /// `LEDE_GRAVATAR`.
    pub gravatar: bool,
    /// `LEDE_WEBHOOK_ALLOW_PRIVATE` (a receiver in the test listens on 127.0.0.1).
    pub webhook_allow_private: bool,
    /// `LEDE_SITE_URL`.
    pub site_url: String,
    /// `LEDE_ARTICLE_PATH`.
    pub article_path: String,
    /// `LEDE_SITE_LOGO`.
    pub site_logo: Option<String>,
    /// `LEDE_SITE_TIME_ZONE`.
    pub site_time_zone: String,
    /// `LEDE_PREVIEW_PATH`.
    pub preview_path: Option<String>,
    /// `LEDE_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// Where mail goes (`smtp://...`).
    pub smtp_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            json_limit: 1024 * 1024,
            public_url: None,
            cors_origins: "*".into(),
            media_url: None,
            image_max_bytes: 20 * 1024 * 1024,
            image_max_pixels: 50_000_000,
            comments_per_ip: 100,
            comment_auto_approve: false,
            trusted_proxies: String::new(),
            cache_ttl: 60,
            search_language: "english".into(),
            statement_timeout_ms: 10_000,
            gravatar: false,
            webhook_allow_private: false,
            site_url: "http://localhost:3000".into(),
            article_path: "/{slug}".into(),
            site_logo: None,
            site_time_zone: "UTC".into(),
            preview_path: None,
            metrics_token: None,
            smtp_url: None,
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        let cluster = cluster();
        let (database, database_url) = fresh_database();

        let mut conn = AsyncPgConnection::establish(&database_url)
            .await
            .expect("connect");
        let author_id = uuid::Uuid::now_v7();
        diesel::sql_query(format!(
            "INSERT INTO authors (id, slug, name, email) VALUES ('{author_id}', 'test-author', 'Test Author', 'test-author@example.com')"
        ))
        .execute(&mut conn)
        .await
        .expect("insert test author");
        let (_, admin) = lede::auth::tokens::create(
            &mut conn,
            &lede::principal::Actor::system("tests"),
            "test admin",
            Role::Admin,
            None,
            None,
        )
        .await
        .expect("admin token");
        let (_, editor) = lede::auth::tokens::create(
            &mut conn,
            &lede::principal::Actor::system("tests"),
            "test editor",
            Role::Editor,
            None,
            None,
        )
        .await
        .expect("editor token");
        let (_, author) = lede::auth::tokens::create(
            &mut conn,
            &lede::principal::Actor::system("tests"),
            "test author",
            Role::Author,
            Some(author_id),
            None,
        )
        .await
        .expect("author token");

        let media_dir = cluster.dir.join("media").join(&database);
        let data_dir = cluster.dir.join("data").join(&database);
        let mut config = Config::for_database(database_url.clone());
        config.data_dir = data_dir.clone();
        config.storage_url = Some(format!("file://{}", media_dir.display()));
        config.media_url = options.media_url;
        config.image_max_bytes = options.image_max_bytes;
        config.image_max_pixels = options.image_max_pixels;
        config.comments_per_ip = options.comments_per_ip;
        config.comments_per_email = options.comments_per_ip;
        config.comment_auto_approve = options.comment_auto_approve;
        config.trusted_proxies = options.trusted_proxies;
        config.metrics_token = options.metrics_token;
        config.smtp_url = options.smtp_url;
        config.cache_ttl = options.cache_ttl;
        config.json_limit = options.json_limit;
        config.public_url = options.public_url;
        config.cors_origins = options.cors_origins;
        config.search_language = options.search_language;
        config.statement_timeout_ms = options.statement_timeout_ms;
        config.gravatar = options.gravatar;
        config.webhook_allow_private = options.webhook_allow_private;
        config.site_url = options.site_url;
        config.article_path = options.article_path;
        config.site_logo = options.site_logo;
        config.site_time_zone = options.site_time_zone;
        config.preview_path = options.preview_path;
        let pool = lede::pool_for(&database_url, &config).expect("pool");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let server = lede::serve(
            lede::AppState::new(pool, &config)
                .await
                .expect("state")
                .with_database_url(&database_url),
            listener,
            Some(1),
        )
        .expect("serve");
        let handle = server.handle();
        tokio::spawn(server);
        let app = TestApp {
            address,
            media_dir,
            data_dir,
            database,
            database_url,
            admin,
            editor,
            author,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            server: handle,
        };
        // Until its listener is connected, the cache is bypassed: tests about what is kept
        // start once it hears changes (and once its search index is built).
        for _ in 0..400 {
            let metrics = app.get("/metrics", None).await.text();
            if metrics.contains("\nlede_cache_listening 1")
                && metrics.contains("\nlede_search_ready 1")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request builder with the base URL filled in.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(with_token(self.request(Method::GET, path), token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(with_token(self.request(Method::POST, path), token).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(with_token(self.request(Method::PATCH, path), token).json(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(with_token(self.request(Method::DELETE, path), token))
            .await
    }

    /// Uploads `bytes` as the form field `file` with a filename and declared type that the
    /// server must ignore, plus text fields; a new image's answer comes back once its
    /// AVIF and WebP renditions are made too (a job that changes the image and what embeds it: tests
    /// that read ETags or count changes must not race it).
    pub async fn upload(
        &self,
        token: Option<&str>,
        bytes: Vec<u8>,
        filename: &str,
        declared: &str,
        fields: &[(&str, &str)],
    ) -> Reply {
        let reply = self
            .upload_unwaited(token, bytes, filename, declared, fields)
            .await;
        if reply.status == 201 {
            let id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
            self.wait_for_renditions(&id).await;
        }
        reply
    }

    /// `upload`, answered as soon as the server answers.
    pub async fn upload_unwaited(
        &self,
        token: Option<&str>,
        bytes: Vec<u8>,
        filename: &str,
        declared: &str,
        fields: &[(&str, &str)],
    ) -> Reply {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(declared)
            .expect("mime");
        let mut form = reqwest::multipart::Form::new().part("file", part);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        self.send(with_token(self.request(Method::POST, "/api/v1/images"), token).multipart(form))
            .await
    }

    /// Waits until the image's AVIF and WebP renditions are made (a job, after the upload
    /// answers; its crops come last): a test that counts what a write changes starts when
    /// that change is over.
    pub async fn wait_for_renditions(&self, id: &str) -> Value {
        for _ in 0..1200 {
            let image = self.get(&format!("/api/v1/images/{id}"), None).await.json();
            let variants = image["variants"].as_array().cloned().unwrap_or_default();
            if variants
                .iter()
                .any(|v| v["mime_type"] == "image/avif" && v["name"] == "square")
            {
                return image;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("image {id} got no AVIF and WebP renditions within 60 s");
    }

    /// SQL statements this app's pool has run so far (`lede_db_queries_total`).
    pub async fn queries(&self) -> u64 {
        self.get("/metrics", None)
            .await
            .text()
            .lines()
            .find_map(|l| l.strip_prefix("lede_db_queries_total "))
            .and_then(|n| n.parse().ok())
            .expect("lede_db_queries_total in /metrics")
    }

    /// The first column (as text) of each row `sql` returns from this app's database: what
    /// a test checks behind the API's back.
    pub async fn sql_text(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("connect");
        let rows: Vec<Row> = diesel::sql_query(format!("SELECT v::text AS v FROM ({sql}) AS q(v)"))
            .load(&mut conn)
            .await
            .expect("query");
        rows.into_iter().map(|r| r.v).collect()
    }

    /// Runs `sql` on this app's database behind the API's back (to set up data no client
    /// could make quickly, such as a chain of 10,000 replies).
    pub async fn exec(&self, sql: &str) {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("connect");
        conn.batch_execute(sql).await.expect("sql");
    }

    /// GETs an absolute URL the API gave out.
    pub async fn fetch(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Makes the database refuse this app: no new connections, existing ones ended.
    pub fn cut_database(&self) {
        admin_sql(format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            self.database
        ));
        admin_sql(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.database
        ));
    }

    pub fn restore_database(&self) {
        admin_sql(format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.database
        ));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.server.stop(false));
        let _ = std::fs::remove_dir_all(&self.media_dir);
        let _ = std::fs::remove_dir_all(&self.data_dir);
        admin_sql(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        ));
    }
}

/// Asks `probe` again (every 100 ms, at most `seconds`) until it holds: for what happens at
/// an instant or after some work, so no verdict depends on how fast the machine is.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !probe().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {seconds} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub fn with_token(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): status {}, {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts an RFC 9457 problem with this status and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        let problem = self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        assert_eq!(problem["status"], status);
        for field in ["type", "title", "detail", "instance", "request_id"] {
            assert!(
                problem[field].is_string(),
                "problem lacks {field}: {problem}"
            );
        }
        assert_eq!(
            Some(problem["request_id"].as_str().unwrap()),
            self.header("x-request-id"),
            "request_id matches X-Request-Id"
        );
        assert!(problem["errors"].is_array());
        problem
    }
}

/// Serves the real app on an arbitrary database (not one of the harness's clones), for
/// tests that need a cluster of their own.
pub async fn serve_on(database_url: &str) -> (String, actix_web::dev::ServerHandle) {
    let mut config = Config::for_database(database_url.to_owned());
    // A node of its own: its own search index, inside the cluster's folder (removed at exit
    // however the test ends).
    config.data_dir = cluster()
        .dir
        .join("nodes")
        .join(uuid::Uuid::now_v7().to_string());
    let pool = lede::pool_for(database_url, &config).expect("pool");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let server = lede::serve(
        lede::AppState::new(pool, &config)
            .await
            .expect("state")
            .with_database_url(database_url),
        listener,
        Some(2),
    )
    .expect("serve");
    let handle = server.handle();
    tokio::spawn(server);
    // Ready once its search index is built from the database.
    let client = reqwest::Client::new();
    for _ in 0..600 {
        let ready = client.get(format!("{address}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (address, handle)
}

/// A folder of the system's temp dir that is removed when the guard goes, however the test
/// ends (a panic included).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process that is stopped when the guard goes, however the test ends: asked with
/// SIGTERM, killed if it is still there 30 s later, and reaped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        // Already reaped (a test waited for it): its pid may belong to another process now.
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: signals a child this test started, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while matches!(self.0.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
