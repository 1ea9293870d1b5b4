//! lede: a headless JSON content API. This crate builds the HTTP app and its state; the
//! binary (`main.rs`) and the tests both start it from here.
// The article schema's example (`json!`) nests deeper than the default macro recursion limit.
#![recursion_limit = "256"]

pub mod access;
pub mod activity;
pub mod articles;
pub mod auth;
pub mod authors;
pub mod batch;
pub mod changes;
pub mod comments;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk;
pub mod error;
pub mod feeds;
pub mod http;
pub mod images;
pub mod import;
pub mod jobs;
pub mod listing;
pub mod mail;
pub mod mcp;
pub mod media;
pub mod memory;
pub mod openapi;
pub mod origin;
pub mod outbound;
pub mod principal;
pub mod progress;
pub mod rate_limits;
pub mod response_cache;
pub mod route_table;
pub mod runner;
pub mod search;
pub mod settings;
pub mod site;
pub mod state;
pub mod stopping;
pub mod system;
pub mod tags;
pub mod text;
pub mod users;
pub mod webhooks;

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::error::ApiError;
pub use crate::state::AppState;

impl AppState {
    /// Fails when a setting is wrong or the database lacks the search language.
    pub async fn new(database: db::Database, config: &Config) -> anyhow::Result<Self> {
        let openapi = openapi::document();
        let routes = route_table::RouteTable::new(openapi::route_table(&openapi));
        tokio::task::spawn_blocking(users::passwords::prepare)
            .await?
            .map_err(|error| anyhow::anyhow!("passwords cannot be hashed: {error}"))?;
        Ok(AppState {
            site: std::sync::Arc::new(site::Site::from_config(config)?),
            storage: media::storage::Storage::from_config(config)?,
            image_max_bytes: config.image_max_bytes,
            search_language: db::SearchLanguage::find(&database.pool, &config.search_language)
                .await?,
            comment_rules: comments::CommentRules::from_config(config)?,
            avatar_key: media::avatars::AvatarKey::load(&database.pool, config.gravatar).await?,
            cache: response_cache::ResponseCache::new(
                config.cache_ttl,
                config.cache_max_mb * 1024 * 1024,
                config.cache_max_age,
                config.cache_stale,
            ),
            search: std::sync::Arc::new(search::Search::new(
                Some(config.search_index_dir()),
                &config.search_language,
            )),
            webhooks: webhooks::Webhooks::new(config.webhook_allow_private)?,
            metrics_token: config
                .metrics_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(http::auth::hash_secret),
            mailer: mail::Mailer::from_config(
                config.smtp_url.as_deref(),
                config.mail_from.as_deref(),
                config.public_url.as_deref(),
            )?,
            database_url: None,
            image_budget: media::budget::ImageBudget::for_machine(config.image_memory_mb),
            image_limits: media::process::Limits {
                max_pixels: config.image_max_pixels,
                max_dimension: config.image_max_dimension,
            },
            pool: database.pool,
            background: database.background,
            replica: database.replica.map(db::replica::Replica::new),
            queries: database.queries,
            origin: origin::Origin::new(
                config.public_url.as_deref(),
                config.bind,
                &config.trusted_proxies,
            )?,
            json_limit: config.json_limit,
            cors_origins: config.cors_origins.clone(),
            routes,
            openapi,
        })
    }
}

/// The app: routes, docs, error mapping for actix's own rejections, CORS, and the
/// observing middleware outermost (so even CORS rejections become problem+json).
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.cors_origins);
    let openapi = state.openapi.clone();
    App::new()
        .app_data(state)
        .app_data(web::PathConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("bad path parameter: {error}")).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("bad query parameter: {error}")).into()
        }))
        .configure(|cfg| openapi::routes(&mut ServiceConfig::new(cfg)))
        .configure(mcp::configure)
        .configure(desk::configure)
        // Deliberately undocumented: the page problem `type` URLs point to.
        .service(web::resource("/docs/errors").get(errors_page))
        .service(web::resource(["/", "/docs"]).get(to_docs))
        .service(web::resource(["/docs/", "/docs/index.html"]).get(docs_page))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi))
        .default_service(web::to(no_route))
        .wrap(from_fn(http::cache::cache))
        .wrap(from_fn(auth::authenticate::authenticate))
        .wrap(from_fn(http::routes::check_request))
        .wrap(cors)
        .wrap(from_fn(http::observe::observe))
        // Outside the rest, so it compresses the final bytes (problem documents included).
        .wrap(actix_web::middleware::Compress::default())
        // No answer is ever to be read as another type than it says (an uploaded file
        // under /media least of all).
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
        )
        .wrap(from_fn(http::encoding::identity_when_nothing_fits))
}

/// `/` and `/docs` lead to the browsable docs at `/docs/`.
async fn to_docs(req: HttpRequest) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{}/docs/", http::base_url(&req)),
        ))
        .finish()
}

async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(openapi::DOCS_PAGE)
}

async fn errors_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(openapi::ERRORS_PAGE)
}

/// No route matched: 405 with `Allow` when the path exists with other methods, else 404.
async fn no_route(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    Err(match state.routes.find(path) {
        Some(route) => ApiError::MethodNotAllowed {
            detail: format!("{} is not allowed here; use {}", req.method(), route.allow),
            allow: route.allow.clone(),
        },
        None => ApiError::NotFound(format!("no route for {path}")),
    })
}

fn cors(origins: &str) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            http::idempotency::IDEMPOTENCY_KEY,
            http::observe::REQUEST_ID,
            // An MCP client in a browser sends its protocol revision with each message.
            header::HeaderName::from_static("mcp-protocol-version"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-total-count"),
            header::HeaderName::from_static("idempotent-replayed"),
            http::observe::REQUEST_ID,
        ])
        .max_age(86_400);
    match http::cors_origins(origins) {
        None => cors = cors.allow_any_origin().send_wildcard(),
        Some(origins) => {
            for origin in origins {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    cors
}

/// Starts serving on `listener`. The returned server stops gracefully on SIGINT/SIGTERM
/// (stop accepting, finish in-flight requests for up to 30 s).
pub fn serve(
    mut state: AppState,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<actix_web::dev::Server> {
    state.origin.serving_on(listener.local_addr()?);
    let state = web::Data::new(state);
    if let Some(url) = state.database_url.clone() {
        http::cache::listen(state.clone(), url);
    }
    let following = state.clone();
    stopping::spawn(async move {
        search::follow(&following.background, &following.search, &following.cache).await
    });
    runner::run(state.clone());
    webhooks::run(state.clone());
    if let Some(replica) = &state.replica {
        replica.follow(state.background.clone());
    }
    // Each worker's app, and beside it the same app for the requests agents' tool calls
    // stand for (made on a worker's first tool call).
    let mut server = HttpServer::new(move || {
        let inner = state.clone();
        app(state.clone()).app_data(http::inner::Inner::new(move || app(inner.clone())))
    })
    // A compressed answer leaves in several writes; without this, Nagle's algorithm holds
    // the last until the client's delayed ACK (40 ms on Linux) on a kept-alive connection.
    .tcp_nodelay(true)
    .listen(listener)?
    .shutdown_timeout(30);
    if let Some(workers) = workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.run())
}

/// The pool for a configuration's database.
pub fn pool_for(database_url: &str, config: &Config) -> anyhow::Result<db::Database> {
    let timeout = Duration::from_secs(config.pool_timeout_secs.max(1));
    let statement_timeout = Duration::from_millis(config.statement_timeout_ms);
    let database = db::build_pool(database_url, config.pool_size, timeout, statement_timeout)?;
    match &config.database_replica_url {
        Some(replica) => {
            database.with_replica(replica, config.pool_size, timeout, statement_timeout)
        }
        None => Ok(database),
    }
}

/// Shared by the binary and tests: the document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let doc = openapi::document();
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
