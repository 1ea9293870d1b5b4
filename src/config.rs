//! Settings: one struct that is both the command-line flags and the `LEDE_*` environment.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "LEDE_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Postgres to use. When unset, lede runs its own cluster under `<data-dir>/postgres`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// A read replica of that database for public reads (answers without a token), used
    /// while it has replayed every change this node has heard of; token holders always read
    /// the primary.
    #[arg(
        long,
        env = "LEDE_DATABASE_REPLICA_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_replica_url: Option<String>,

    /// Directory for lede's own data (the embedded Postgres cluster, media files).
    #[arg(long, env = "LEDE_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Base URL that absolute links in responses start with (e.g. https://api.example.com).
    /// When unset, links use the address lede listens on, or what a proxy named in
    /// LEDE_TRUSTED_PROXIES forwards (a request's own Host header is never believed).
    #[arg(long, env = "LEDE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The front-end's own address (e.g. https://www.example.com): where `canonical_url`,
    /// feeds, the sitemap and structured data point readers. Not the API's address.
    #[arg(
        long,
        env = "LEDE_SITE_URL",
        default_value = "http://localhost:3000",
        global = true
    )]
    pub site_url: String,

    /// The site's name: the publisher in structured data and the title of its feeds.
    #[arg(long, env = "LEDE_SITE_NAME", default_value = "lede", global = true)]
    pub site_name: String,

    /// The site's time zone (an IANA name such as `Europe/Paris`): the desk schedules in it
    /// and shows UTC beside it.
    #[arg(
        long,
        env = "LEDE_SITE_TIME_ZONE",
        default_value = "UTC",
        global = true
    )]
    pub site_time_zone: String,

    /// The publisher's logo (an absolute http(s) URL), in structured data and feeds.
    #[arg(long, env = "LEDE_SITE_LOGO", global = true)]
    pub site_logo: Option<String>,

    /// Where an article lives on the site, after `LEDE_SITE_URL`: `{slug}`, and optionally
    /// `{kind}`, `{yyyy}`, `{mm}`, `{dd}` (its publication date, UTC).
    #[arg(
        long,
        env = "LEDE_ARTICLE_PATH",
        default_value = "/{slug}",
        global = true
    )]
    pub article_path: String,

    /// Where a page (`kind=page`: About, Contact) lives on the site: `{slug}` (no date).
    #[arg(long, env = "LEDE_PAGE_PATH", default_value = "/{slug}", global = true)]
    pub page_path: String,

    /// Where an author's page lives on the site: `{slug}`.
    #[arg(
        long,
        env = "LEDE_AUTHOR_PATH",
        default_value = "/authors/{slug}",
        global = true
    )]
    pub author_path: String,

    /// Where a tag's page lives on the site: `{slug}`.
    #[arg(
        long,
        env = "LEDE_TAG_PATH",
        default_value = "/tags/{slug}",
        global = true
    )]
    pub tag_path: String,

    /// The front-end's draft-mode route a preview link opens, after `LEDE_SITE_URL`:
    /// `{token}` and optionally `{slug}` (e.g. `/api/draft?token={token}`). Unset: preview
    /// links point at lede's own `/api/v1/preview/{token}`.
    #[arg(long, env = "LEDE_PREVIEW_PATH", global = true)]
    pub preview_path: Option<String>,

    /// Comma-separated origins allowed by CORS, or `*` for any.
    #[arg(long, env = "LEDE_CORS_ORIGINS", default_value = "*", global = true)]
    pub cors_origins: String,

    /// Maximum number of database connections.
    #[arg(
        long,
        env = "LEDE_POOL_SIZE",
        default_value_t = 16,
        global = true,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000)
    )]
    pub pool_size: usize,

    /// Seconds to wait for a database connection before answering 503.
    #[arg(
        long,
        env = "LEDE_POOL_TIMEOUT",
        default_value_t = 5,
        global = true,
        value_parser = clap::value_parser!(u64).range(1..=3_600)
    )]
    pub pool_timeout_secs: u64,

    /// Milliseconds a database statement may run before it is cancelled and the request
    /// answers 503 (0: no limit).
    #[arg(
        long,
        env = "LEDE_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=3_600_000)
    )]
    pub statement_timeout_ms: u64,

    /// Largest accepted JSON request body, in bytes.
    #[arg(
        long,
        env = "LEDE_JSON_LIMIT",
        default_value_t = 1024 * 1024,
        global = true,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1_024..=268_435_456)
    )]
    pub json_limit: usize,

    /// Where images are stored: `file:///path` (default: `<data-dir>/media`) or
    /// `s3://bucket/prefix` (credentials and region from the usual AWS_* variables;
    /// AWS_ENDPOINT for S3-compatible services).
    #[arg(long, env = "LEDE_STORAGE_URL", global = true)]
    pub storage_url: Option<String>,

    /// Public base URL of stored media (e.g. a CDN in front of the bucket). When unset,
    /// lede serves media itself under `<public URL>/media`.
    #[arg(long, env = "LEDE_MEDIA_URL", global = true)]
    pub media_url: Option<String>,

    /// Largest accepted image upload, in bytes.
    #[arg(
        long,
        env = "LEDE_IMAGE_MAX_BYTES",
        default_value_t = 20 * 1024 * 1024,
        global = true,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1_024..=1_073_741_824)
    )]
    pub image_max_bytes: usize,

    /// Largest accepted image, in pixels (width x height), checked from the file's header
    /// before anything is decoded.
    #[arg(
        long,
        env = "LEDE_IMAGE_MAX_PIXELS",
        default_value_t = 50_000_000,
        global = true,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000_000)
    )]
    pub image_max_pixels: u64,

    /// Memory image decoding may take at once, in MiB: uploads beyond it wait their turn
    /// (a 7000x7000 image takes about 560).
    #[arg(
        long,
        env = "LEDE_IMAGE_MEMORY_MB",
        default_value_t = 640,
        global = true,
        value_parser = clap::value_parser!(u32).range(16..=1_048_576)
    )]
    pub image_memory_mb: u32,

    /// Largest accepted image width or height, in pixels.
    #[arg(
        long,
        env = "LEDE_IMAGE_MAX_DIMENSION",
        default_value_t = 16_384,
        global = true,
        value_parser = clap::value_parser!(u32).range(1..=65_535)
    )]
    pub image_max_dimension: u32,

    /// Language of article search: stop words and stemming (`english`, `french`, `german`,
    /// ... or `simple` for none). Also a Postgres `pg_ts_config` name it must exist as.
    #[arg(
        long,
        env = "LEDE_SEARCH_LANGUAGE",
        default_value = "english",
        global = true
    )]
    pub search_language: String,

    /// Comments one IP address may submit per window (429 beyond).
    #[arg(
        long,
        env = "LEDE_COMMENTS_PER_IP",
        default_value_t = 5,
        global = true,
        value_parser = clap::value_parser!(i64).range(1..=1_000_000_000)
    )]
    pub comments_per_ip: i64,

    /// Comments one email address may submit per window (429 beyond).
    #[arg(
        long,
        env = "LEDE_COMMENTS_PER_EMAIL",
        default_value_t = 3,
        global = true,
        value_parser = clap::value_parser!(i64).range(1..=1_000_000_000)
    )]
    pub comments_per_email: i64,

    /// The rate-limit window for comments, in seconds.
    #[arg(
        long,
        env = "LEDE_COMMENT_WINDOW_SECS",
        default_value_t = 600,
        global = true,
        value_parser = clap::value_parser!(i64).range(1..=31_536_000)
    )]
    pub comment_window_secs: i64,

    /// Approve new comments at once when their email already has an approved comment.
    #[arg(
        long,
        env = "LEDE_COMMENT_AUTO_APPROVE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub comment_auto_approve: bool,

    /// Commenters' pictures from Gravatar (the email's hash goes to a third party, and
    /// anyone can check a guessed email against it) instead of lede's own identicons.
    #[arg(
        long,
        env = "LEDE_GRAVATAR",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub gravatar: bool,

    /// Comma-separated proxy addresses whose X-Forwarded-For is believed (e.g. the load
    /// balancer's). Without it the client address is the connection's.
    #[arg(long, env = "LEDE_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,

    /// Seconds a rendered public answer is kept in memory at most (0: no cache). A write (on
    /// any node, or from the CLI) drops the answers that show what it changed at once.
    #[arg(
        long,
        env = "LEDE_CACHE_TTL",
        default_value_t = 300,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=31_536_000)
    )]
    pub cache_ttl: u64,

    /// Memory for kept answers, in MiB (they are kept compressed; the least asked-for go
    /// first when it is full).
    #[arg(
        long,
        env = "LEDE_CACHE_MAX_MB",
        default_value_t = 256,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=1_048_576)
    )]
    pub cache_max_mb: u64,

    /// `max-age` of public answers' Cache-Control, in seconds.
    #[arg(
        long,
        env = "LEDE_CACHE_MAX_AGE",
        default_value_t = 10,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=31_536_000)
    )]
    pub cache_max_age: u64,

    /// `stale-while-revalidate` of public answers' Cache-Control, in seconds.
    #[arg(
        long,
        env = "LEDE_CACHE_STALE",
        default_value_t = 60,
        global = true,
        value_parser = clap::value_parser!(u64).range(0..=31_536_000)
    )]
    pub cache_stale: u64,

    /// Benchmarks only: also serve a minimal actix-web handler on this address, the
    /// framework's ceiling to compare lede's answers with (bench/run).
    #[arg(long, env = "LEDE_BENCH_CEILING", hide = true, global = true)]
    pub bench_ceiling: Option<std::net::SocketAddr>,

    /// Benchmarks only: the bytes the ceiling serves (a brotli-compressed answer lede sent),
    /// so lede is compared with a handler serving the same bytes.
    #[arg(long, env = "LEDE_BENCH_CEILING_BODY", hide = true, global = true)]
    pub bench_ceiling_body: Option<PathBuf>,

    /// HTTP worker threads (defaults to the number of cores).
    #[arg(
        long,
        env = "LEDE_WORKERS",
        global = true,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_024)
    )]
    pub workers: Option<usize>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        env = "LEDE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// A secret Prometheus sends to read `/metrics` (`Authorization: Bearer <it>`); unset,
    /// `/metrics` is public, as health and readiness are.
    #[arg(
        long,
        env = "LEDE_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// Where mail goes (invitations, password resets): `smtp://host:25`,
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`.
    /// Unset, links are handed over by the admin instead.
    #[arg(long, env = "LEDE_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of lede's mail (default: `lede <noreply@<the public URL's host>>`).
    #[arg(long, env = "LEDE_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// Let webhooks reach loopback, private, link-local and shared (CGNAT) addresses: for
    /// tests and intranets. Off, such URLs are refused (422), and checked again when sent.
    #[arg(
        long,
        env = "LEDE_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub webhook_allow_private: bool,

    /// Load demo authors and tags into a brand-new database.
    #[arg(
        long,
        env = "LEDE_DEMO",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub demo: bool,
}

impl Config {
    /// Where this node keeps its search index (rebuildable from Postgres at any time).
    pub fn search_index_dir(&self) -> PathBuf {
        self.data_dir.join("search")
    }

    /// Settings for tests and tools: every default, no environment.
    pub fn for_database(database_url: String) -> Self {
        Config {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Some(database_url),
            database_replica_url: None,
            data_dir: PathBuf::from("./data"),
            public_url: None,
            site_url: "http://localhost:3000".into(),
            site_name: "lede".into(),
            site_time_zone: "UTC".into(),
            site_logo: None,
            article_path: "/{slug}".into(),
            page_path: "/{slug}".into(),
            author_path: "/authors/{slug}".into(),
            tag_path: "/tags/{slug}".into(),
            preview_path: None,
            cors_origins: "*".into(),
            pool_size: 4,
            pool_timeout_secs: 2,
            statement_timeout_ms: 10_000,
            json_limit: 1024 * 1024,
            storage_url: None,
            media_url: None,
            image_max_bytes: 20 * 1024 * 1024,
            image_max_pixels: 50_000_000,
            image_max_dimension: 16_384,
            image_memory_mb: 640,
            search_language: "english".into(),
            comments_per_ip: 5,
            comments_per_email: 3,
            comment_window_secs: 600,
            comment_auto_approve: false,
            gravatar: false,
            trusted_proxies: String::new(),
            bench_ceiling: None,
            bench_ceiling_body: None,
            cache_ttl: 60,
            cache_max_mb: 64,
            cache_max_age: 10,
            cache_stale: 60,
            workers: Some(1),
            log_format: LogFormat::Text,
            webhook_allow_private: false,
            metrics_token: None,
            smtp_url: None,
            mail_from: None,
            demo: false,
        }
    }
}

/// Limits on the public form, from the configuration.
#[derive(Debug, Clone)]
pub struct CommentRules {
    pub per_ip: i64,
    pub per_email: i64,
    pub window_secs: i64,
    pub auto_approve: bool,
}

impl CommentRules {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(CommentRules {
            per_ip: config.comments_per_ip,
            per_email: config.comments_per_email,
            window_secs: config.comment_window_secs.max(1),
            auto_approve: config.comment_auto_approve,
        })
    }
}
