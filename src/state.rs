//! What every handler and background task can reach: the pools, settings made ready, and
//! this node's cache, search index and webhook workers. Built by `crate::AppState::new`
//! (the wiring, in `lib.rs`).
use crate::{config, db, media, origin, outbound, response_cache, route_table, search, site};

/// What every handler can reach.
pub struct AppState {
    pub pool: db::Pool,
    /// Connections for background work (see `db::Database::background`).
    pub background: db::Pool,
    /// A read replica for public reads, when configured.
    pub replica: Option<std::sync::Arc<db::replica::Replica>>,
    /// Statements run so far by the pool's connections.
    pub queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Where absolute URLs point, and who a request comes from.
    pub origin: origin::Origin,
    pub json_limit: usize,
    pub cors_origins: String,
    /// The front-end's site: where canonical URLs, feeds and previews point.
    pub site: std::sync::Arc<site::Site>,
    pub storage: media::storage::Storage,
    pub image_max_bytes: usize,
    pub image_limits: media::process::Limits,
    /// Room for decoding: memory and worker places, shared by every upload.
    pub image_budget: media::budget::ImageBudget,
    /// Text-search configuration of new and saved articles and of search queries.
    pub search_language: db::SearchLanguage,
    pub comment_rules: config::CommentRules,
    /// Commenters' pictures: the server secret they are keyed by.
    pub avatar_key: media::avatars::AvatarKey,
    pub cache: response_cache::ResponseCache,
    /// This node's full-text index of articles.
    pub search: std::sync::Arc<search::Search>,
    /// This node's webhook dispatcher and delivery workers.
    pub webhooks: outbound::Webhooks,
    /// Where invitations and reset links are mailed, when `LEDE_SMTP_URL` is set.
    pub mailer: Option<crate::mail::Mailer>,
    /// The SHA-256 of the secret `/metrics` needs (`LEDE_METRICS_TOKEN`); `None`: public.
    pub metrics_token: Option<Vec<u8>>,
    /// For the cache's LISTEN connection.
    pub(crate) database_url: Option<String>,
    /// Documented routes with their methods, to answer 405 with `Allow` (and to name the
    /// route of an answer that never reached the router, e.g. from the cache).
    pub(crate) routes: route_table::RouteTable,
    pub(crate) openapi: utoipa::openapi::OpenApi,
}

impl AppState {
    /// Where the cache listens for other nodes' writes (Postgres NOTIFY).
    pub fn with_database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }
}
