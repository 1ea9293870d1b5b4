//! Health, readiness and metrics: what load balancers and Prometheus ask.
use actix_web::{HttpRequest, HttpResponse, get, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` (process is up) or `ready` (database answers).
    pub status: &'static str,
}

/// Liveness
///
/// The process is up and answering. Never touches the database.
#[utoipa::path(tag = "system", operation_id = "healthz",
    responses((status = 200, description = "Up", body = Health)), security(()))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness
///
/// The database answers a query and this node's search index is open; 503 with
/// `Retry-After` while either is not (a new node builds its index first).
#[utoipa::path(tag = "system", operation_id = "readyz",
    responses((status = 200, description = "Ready", body = Health)), security(()))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = crate::db::conn(&state.pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    if !state.search.is_ready() {
        return Err(ApiError::Unavailable(
            "the search index is being built".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}

/// Metrics
///
/// Prometheus text format: request counts and latency histograms by route and status,
/// and the database pool's connections by state. Public unless the server sets
/// `LEDE_METRICS_TOKEN`: then only `Authorization: Bearer <that secret>` reads it (it is
/// not an API token; 401 otherwise).
#[utoipa::path(tag = "system", operation_id = "metrics",
    responses((status = 200, description = "Prometheus metrics", content_type = "text/plain", body = String,
        example = "lede_http_requests_total{method=\"GET\",route=\"/api/v1/authors\",status=\"200\"} 3"),
        (status = 401, description = "`LEDE_METRICS_TOKEN` is set and the request does not carry it", body = crate::error::Problem, content_type = "application/problem+json")),
    security(()))]
#[get("/metrics")]
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.metrics_token {
        // Read as the API reads a bearer token.
        use crate::http::auth::{bearer_secret, hash_secret};
        let given = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_secret)
            .map(hash_secret);
        if given.as_ref() != Some(expected) {
            return Err(ApiError::Unauthorized(
                "/metrics needs `Authorization: Bearer <LEDE_METRICS_TOKEN>`".into(),
            ));
        }
    }
    let mut text = crate::http::observe::render_metrics(
        &state.pool,
        std::sync::atomic::AtomicU64::load(&state.queries, std::sync::atomic::Ordering::Relaxed),
    );
    text.push_str(&format!(
        "# HELP lede_cache_listening 1 while the response cache hears recorded changes (else it is bypassed)\n\
         # TYPE lede_cache_listening gauge\n\
         lede_cache_listening {}\n\
         # HELP lede_search_ready 1 once this node's search index is open (built when missing or stale)\n\
         # TYPE lede_search_ready gauge\n\
         lede_search_ready {}\n",
        u8::from(state.cache.is_listening()),
        u8::from(state.search.is_ready())
    ));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}
