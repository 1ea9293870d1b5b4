//! `/api/v1/webhooks`: admins subscribe URLs to events; lede delivers them by the Standard
//! Webhooks specification. Events come from the one change feed (`dispatch`), deliveries
//! go out from every node (`deliver`), and where they may go is guarded (`address`).
pub mod deliver;
pub mod dispatch;
pub mod model;
pub mod queries;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use diesel_async::AsyncConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{
    DeliveryAttempt, NewWebhook, PING, Webhook, WebhookChanges, WebhookInsert, WebhookResponse,
    WebhookUpdate,
};
use crate::changes::Event;
use crate::error::ApiError;
use crate::http::auth::{ADMIN, Auth};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::{IfMatch, fresh, ok_showing};
use crate::http::validate::Checks;
use crate::state::AppState;

pub use crate::outbound::Webhooks;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(find_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_secret)
        .service(ping_webhook)
        .service(list_deliveries)
        .service(redeliver);
}

/// Starts this node's dispatcher (change feed to deliveries) and delivery workers.
pub fn run(state: web::Data<AppState>) {
    dispatch::run(state.clone());
    deliver::run(state);
}

const MAX_DESCRIPTION: usize = 500;

/// A URL lede may deliver to, or what is wrong with it (in `checks`).
async fn checked_url(state: &AppState, checks: &mut Checks, url: &str) -> String {
    let Some(url) = checks.url("url", Some(url)) else {
        checks.fail("url", "required", "url must be an http or https URL");
        return String::new();
    };
    if let (false, Ok(parsed)) = (checks.has("url"), url::Url::parse(&url))
        && let Some(reason) =
            crate::outbound::address::refusal(&parsed, state.webhooks.allow_private()).await
    {
        checks.fail("url", "not_allowed", reason);
    }
    url
}

fn checked_events(checks: &mut Checks, events: &[Event]) -> Vec<String> {
    if events.is_empty() && !checks.has("events") {
        checks.fail("events", "required", "subscribe to at least one event");
    }
    let mut names: Vec<String> = events.iter().map(|e| e.name().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no webhook with id `{id}`"))
}

async fn find(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> Result<Webhook, ApiError> {
    queries::find(conn, id).await?.ok_or_else(|| not_found(id))
}

/// List webhooks
///
/// Admins. Newest first unless `sort` says otherwise. Secrets are never listed.
#[utoipa::path(
    tag = "webhooks", operation_id = "list_webhooks",
    params(PageParams, WebhookSortParam),
    responses((status = 200, description = "A page of webhooks", body = ListResponse<WebhookResponse>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Webhooks in the whole list"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/webhooks")]
async fn list_webhooks(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let sort = pagination.sort(&queries::SORTS, "-created_at")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let loaded = queries::list(&mut conn, &pagination, &sort).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        |w| w.id,
        |w| WebhookResponse::new(w, false),
    )
}

/// Sort order of the webhook and delivery lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct WebhookSortParam {
    /// `created_at`, or `-created_at` (default: newest first).
    #[param(example = "-created_at", pattern = r"^-?created_at$")]
    sort: Option<String>,
}

/// Create a webhook
///
/// Admins. The answer holds the signing `secret`, shown this once. The URL must be `http` or
/// `https` and reach a public address (422 otherwise, unless the server allows private ones).
#[utoipa::path(
    tag = "webhooks", operation_id = "create_webhook",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer (without the secret)")),
    request_body = NewWebhook,
    responses((status = 201, description = "Created; `secret` is shown only here", body = WebhookResponse,
        headers(("Location" = String, description = "URL of the new webhook"), ("ETag" = String, description = "Strong ETag of the webhook")))),
    security(("bearer" = []))
)]
#[post("/webhooks")]
async fn create_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let admin = auth.require(ADMIN)?.clone();
    let caller = admin.token_id;
    let (new, mut checks) = body.into_parts();
    let row = WebhookInsert {
        id: Uuid::now_v7(),
        url: checked_url(&state, &mut checks, &new.url).await,
        events: checked_events(&mut checks, &new.events),
        description: checks.long_text("description", new.description.as_deref(), MAX_DESCRIPTION),
        secret: queries::new_secret(),
    };
    checks.finish()?;
    let base = base_url(&req);
    let created = idempotency::once(&req, &state.pool, Some(caller), async move |conn| {
        let webhook = queries::insert(conn, &admin.actor, &row).await?;
        let location = format!("{base}/api/v1/webhooks/{}", webhook.id);
        // The secret is shown once: a replay answers the webhook without it.
        Created::new(location, &WebhookResponse::new(webhook.clone(), true))?
            .replayed_as(&WebhookResponse::new(webhook, false))
    })
    .await?;
    Ok(not_stored(created))
}

/// Get a webhook
///
/// Admins. Its secret is not shown (rotate it to get a new one).
#[utoipa::path(
    tag = "webhooks", operation_id = "find_webhook",
    params(("id" = Uuid, Path, description = "The webhook's id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The webhook", body = WebhookResponse,
        headers(("ETag" = String, description = "Strong ETag of the webhook"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
async fn find_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    // Its ETag names its version: what `If-Match` on a change or a delete compares.
    ok_showing(
        &req,
        &WebhookResponse::new(find(&mut conn, *id).await?, false),
    )
}

/// Update a webhook
///
/// Admins. JSON merge patch: absent fields stay, `null` clears `description`.
/// `enabled: true` turns an endpoint back on after it was disabled (by an admin or by five
/// days of failures) and forgets why. With `If-Match`, only if its ETag is still that.
#[utoipa::path(
    tag = "webhooks", operation_id = "update_webhook",
    params(("id" = Uuid, Path, description = "The webhook's id"),
           ("If-Match" = Option<String>, Header, description = "Change only if the webhook's ETag is still this")),
    request_body(content = WebhookChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed webhook", body = WebhookResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed webhook")))),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<WebhookChanges>,
) -> Result<HttpResponse, ApiError> {
    let admin = auth.require(ADMIN)?.clone();
    let (changes, mut checks) = body.into_parts();
    let url = match changes.url {
        Some(Some(url)) => Some(checked_url(&state, &mut checks, &url).await),
        Some(None) => {
            checks.fail("url", "required", "url cannot be removed");
            None
        }
        None => None,
    };
    let events = match changes.events {
        Some(Some(events)) => Some(checked_events(&mut checks, &events)),
        Some(None) => {
            checks.fail("events", "required", "events cannot be removed");
            None
        }
        None => None,
    };
    let enabled = match changes.enabled {
        Some(None) => {
            checks.fail("enabled", "required", "enabled is true or false");
            None
        }
        enabled => enabled.flatten(),
    };
    let description = changes
        .description
        .map(|d| checks.long_text("description", d.as_deref(), MAX_DESCRIPTION));
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let webhook = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let found = queries::lock(conn, *id).await?;
            let current = if_match.locked(found, || not_found(*id))?;
            let turned = enabled.filter(|on| *on != current.enabled);
            let update = WebhookUpdate {
                url,
                events,
                description,
                enabled: turned,
                // Turned on: its past failures are forgiven. Turned off: by whom.
                disabled_reason: turned
                    .map(|on| (!on).then(|| "turned off by an admin".to_owned())),
                failing_since: (turned == Some(true)).then_some(None),
                updated_at: Some(chrono::Utc::now()),
            };
            let webhook = queries::update(conn, &admin.actor, current.id, &update).await?;
            if turned == Some(true) {
                queries::resume(conn, current.id).await?;
            }
            Ok(webhook)
        })
        .await?;
    fresh(&WebhookResponse::new(webhook, false))
}

/// Delete a webhook
///
/// Admins. Its queued deliveries and its log go with it.
#[utoipa::path(
    tag = "webhooks", operation_id = "delete_webhook",
    params(("id" = Uuid, Path, description = "The webhook's id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the webhook's ETag is still this")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let admin = auth.require(ADMIN)?.clone();
    let mut conn = crate::db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found = queries::lock(conn, *id).await?;
        let current = if_match.locked(found, || not_found(*id))?;
        queries::delete(conn, &admin.actor, current.id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook's secret
///
/// Admins. Answers the webhook with its new `secret` (shown this once). For 24 hours every
/// delivery is signed with both the old and the new secret, so receivers can switch over.
#[utoipa::path(
    tag = "webhooks", operation_id = "rotate_webhook_secret",
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 200, description = "The webhook with its new secret", body = WebhookResponse,
        headers(("ETag" = String, description = "Strong ETag of the webhook")))),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/rotate-secret")]
async fn rotate_secret(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let admin = auth.require(ADMIN)?.clone();
    let mut conn = crate::db::conn(&state.pool).await?;
    let webhook = queries::rotate_secret(&mut conn, &admin.actor, *id)
        .await?
        .ok_or_else(|| not_found(*id))?;
    Ok(not_stored(fresh(&WebhookResponse::new(webhook, true))?))
}

/// An answer holding a secret is kept by no cache.
fn not_stored(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// A delivery queued by hand.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "delivery_id": "01932c4e-ffff-7aaa-8bbb-0123456789ab",
    "message_id": "msg_01932c4effff7aaa8bbb0123456789ab",
    "event_type": "webhook.ping"
}))]
pub struct QueuedDelivery {
    pub delivery_id: Uuid,
    /// The `webhook-id` header it is sent with.
    pub message_id: String,
    pub event_type: String,
}

fn accepted(queued: QueuedDelivery) -> HttpResponse {
    HttpResponse::Accepted().json(queued)
}

/// Ping a webhook
///
/// Admins. Queues a `webhook.ping` event for this endpoint (after anything it has pending);
/// its delivery shows in the log like any other. Works on a disabled endpoint too: it goes
/// out once the endpoint is enabled.
#[utoipa::path(
    tag = "webhooks", operation_id = "ping_webhook",
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 202, description = "Queued", body = QueuedDelivery)),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/ping")]
async fn ping_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let webhook = find(&mut conn, *id).await?;
    let message_id = dispatch::message_id();
    let body = dispatch::message(
        PING,
        serde_json::json!({"webhook_id": webhook.id, "url": webhook.url}),
        None,
    );
    let delivery_id = queries::enqueue(&mut conn, webhook.id, &message_id, PING, &body).await?;
    state.webhooks.wake();
    Ok(accepted(QueuedDelivery {
        delivery_id,
        message_id,
        event_type: PING.to_owned(),
    }))
}

/// List a webhook's delivery attempts
///
/// Admins. Every attempt to deliver an event to this endpoint, newest first unless `sort`
/// says otherwise, with its delivery's state.
#[utoipa::path(
    tag = "webhooks", operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "The webhook's id"), PageParams, WebhookSortParam),
    responses((status = 200, description = "A page of attempts", body = ListResponse<DeliveryAttempt>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Attempts in the whole log"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let sort = pagination.sort(&queries::ATTEMPT_SORTS, "-created_at")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    find(&mut conn, *id).await?;
    let loaded = queries::attempts(&mut conn, *id, &pagination, &sort).await?;
    list_response(&req, &pagination, &sort, &[], loaded, |a| a.id, |a| a)
}

/// Redeliver
///
/// Admins. Sends a delivery's event again (same `webhook-id` and body, so a receiver that
/// already has it can tell), queued after anything the endpoint has pending.
#[utoipa::path(
    tag = "webhooks", operation_id = "redeliver_webhook_delivery",
    params(("id" = Uuid, Path, description = "The webhook's id"),
           ("delivery_id" = Uuid, Path, description = "The delivery's id (`delivery_id` in the log)")),
    responses((status = 202, description = "Queued again", body = QueuedDelivery)),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let (id, delivery_id) = *path;
    let mut conn = crate::db::conn(&state.pool).await?;
    find(&mut conn, id).await?;
    let queued = queries::redeliver(&mut conn, id, delivery_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("webhook `{id}` has no delivery `{delivery_id}`"))
        })?;
    state.webhooks.wake();
    Ok(accepted(queued))
}
