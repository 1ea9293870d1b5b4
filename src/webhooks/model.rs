//! Webhook rows and the API's views of them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::changes::Event;
use crate::db::schema::webhooks;
use crate::http::{Timestamp, patch_field};

/// Sent on request only (`POST /webhooks/{id}/ping`), to every endpoint whatever it subscribes to.
pub const PING: &str = "webhook.ping";

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub retired_secrets: serde_json::Value,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookInsert {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub secret: String,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A subscription, as admins see it. The secret is shown only when it is made (create,
/// rotate-secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-eeee-7fff-8aaa-0123456789ab",
    "url": "https://www.example.com/api/revalidate",
    "events": ["article.published", "article.updated", "article.deleted"],
    "description": "Next.js on-demand revalidation",
    "enabled": true,
    "disabled_reason": null,
    "failing_since": null,
    "created_at": "2025-10-28T09:30:00Z",
    "updated_at": "2025-10-28T09:30:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
}))]
pub struct WebhookResponse {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<Event>,
    #[schema(required = true)]
    pub description: Option<String>,
    /// False when an admin turned it off, or after five days of failed deliveries
    /// (`disabled_reason` says which). Events are not queued for a disabled endpoint.
    pub enabled: bool,
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (`null` while the last one succeeded).
    #[schema(required = true)]
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// `whsec_` and the base64 of the signing key: shown once, in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub secret: Option<String>,
}

impl WebhookResponse {
    pub fn new(webhook: Webhook, show_secret: bool) -> Self {
        WebhookResponse {
            id: webhook.id,
            url: webhook.url,
            // Stored by name; a name this version does not know is left out.
            events: webhook
                .events
                .into_iter()
                .filter_map(|name| serde_json::from_value(serde_json::Value::String(name)).ok())
                .collect(),
            description: webhook.description,
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason,
            failing_since: webhook.failing_since.map(Into::into),
            created_at: webhook.created_at.into(),
            updated_at: webhook.updated_at.into(),
            secret: show_secret.then_some(webhook.secret),
        }
    }
}

impl crate::http::cache::Shows for WebhookResponse {}

impl crate::http::response::Versioned for WebhookResponse {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at.0)
    }
}

impl crate::http::response::Versioned for Webhook {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://www.example.com/api/revalidate",
    "events": ["article.published", "article.updated", "article.deleted"],
    "description": "Next.js on-demand revalidation"
}))]
pub struct NewWebhook {
    /// `http` or `https`, to a public address.
    #[schema(max_length = 2000, format = "uri")]
    pub url: String,
    /// One or more of the event types.
    #[schema(min_items = 1)]
    pub events: Vec<Event>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// JSON merge patch of a webhook: absent fields stay, `null` clears `description`.
/// `enabled: true` turns a disabled endpoint back on (and forgets why it was off).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct WebhookChanges {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 2000, format = "uri")]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Vec<Event>>, min_items = 1)]
    pub events: Option<Option<Vec<Event>>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 500, nullable)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Option<bool>>,
}

/// One attempt to deliver one event to one endpoint, as the delivery log shows it.
// A row that is its own answer.
#[derive(Debug, Serialize, ToSchema, Queryable)]
#[schema(example = json!({
    "id": "01932c4f-0000-7aaa-8bbb-0123456789ab",
    "delivery_id": "01932c4e-ffff-7aaa-8bbb-0123456789ab",
    "webhook_id": "01932c4e-eeee-7fff-8aaa-0123456789ab",
    "message_id": "msg_01932c4effff7aaa8bbb0123456789ab",
    "event_type": "article.published",
    "attempt": 1,
    "response_status": 500,
    "duration_ms": 41,
    "error": "the endpoint answered 500",
    "next_attempt_at": "2025-10-28T09:30:05Z",
    "outcome": "failed",
    "state": "succeeded",
    "created_at": "2025-10-28T09:30:00Z"
}))]
pub struct DeliveryAttempt {
    pub id: Uuid,
    /// The delivery (this event to this endpoint): `POST .../deliveries/{delivery_id}/redeliver`.
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// The `webhook-id` header: the same on every attempt of one event.
    pub message_id: String,
    pub event_type: String,
    /// 1 for the first attempt of the delivery.
    pub attempt: i32,
    /// The endpoint's HTTP status; `null` when none came (timeout, refused, unreachable).
    #[schema(required = true)]
    pub response_status: Option<i32>,
    pub duration_ms: i32,
    /// Why the attempt failed; `null` when it succeeded.
    #[schema(required = true)]
    pub error: Option<String>,
    /// When it is tried again; `null` when it succeeded or its attempts ran out.
    #[schema(value_type = Option<Timestamp>, required = true)]
    #[serde(serialize_with = "crate::http::serialize_time_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// How this attempt went: `succeeded` (a 2xx within 10 s) or `failed` (see `error`).
    #[schema(pattern = "^(succeeded|failed)$", example = "failed")]
    pub outcome: String,
    /// Where the whole delivery stands now, after all its attempts: `pending`, `succeeded`
    /// (a later attempt may have succeeded after this one failed) or `failed` (attempts ran
    /// out).
    pub state: String,
    #[schema(value_type = Timestamp)]
    #[serde(serialize_with = "crate::http::serialize_time")]
    pub created_at: DateTime<Utc>,
}

impl crate::http::cache::Shows for DeliveryAttempt {}
