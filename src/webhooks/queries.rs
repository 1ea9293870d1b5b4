//! Webhook queries: subscriptions, their delivery log, and deliveries queued by hand (ping,
//! redeliver). Deliveries of events are queued by `dispatch`, from the change feed.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::RngCore;
use uuid::Uuid;

use super::model::{DeliveryAttempt, Webhook, WebhookInsert, WebhookUpdate};
use crate::changes::{Action, Change, Subject};
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhooks};
use crate::error::ApiError;
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Webhook>; 1] = [SortOption {
    name: "created_at",
    column: "webhooks.created_at",
    kind: KeyKind::Time,
    key: |w| time_key(&w.created_at),
}];

pub static ATTEMPT_SORTS: [SortOption<DeliveryAttempt>; 1] = [SortOption {
    name: "created_at",
    column: "webhook_attempts.created_at",
    kind: KeyKind::Time,
    key: |a| time_key(&a.created_at),
}];

/// How long the delivery log keeps a finished delivery (and its attempts).
const LOG_KEPT: &str = "30 days";

/// How long a retired secret still signs after a rotation.
const ROTATION_OVERLAP: &str = "24 hours";

/// A new signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks).
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locked until the end of the transaction (a write checks and changes it).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<Webhook>,
) -> Result<Loaded<Webhook>, ApiError> {
    let query = webhooks::table.select(Webhook::as_select()).into_boxed();
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = webhooks::table.count().get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

/// Records a change to a subscription in the feed (nothing public shows it).
async fn record(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
    action: Action,
) -> Result<(), ApiError> {
    crate::changes::record(conn, by, Change::new(Subject::Webhook(id), action)).await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    row: &WebhookInsert,
) -> Result<Webhook, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let webhook = diesel::insert_into(webhooks::table)
            .values(row)
            .returning(Webhook::as_returning())
            .get_result(conn)
            .await?;
        record(conn, by, webhook.id, Action::Created).await?;
        Ok(webhook)
    })
    .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
    changes: &WebhookUpdate,
) -> Result<Webhook, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let webhook = diesel::update(webhooks::table.find(id))
            .set(changes)
            .returning(Webhook::as_returning())
            .get_result(conn)
            .await?;
        record(conn, by, id, Action::Updated).await?;
        Ok(webhook)
    })
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::delete(webhooks::table.find(id))
            .execute(conn)
            .await?;
        record(conn, by, id, Action::Deleted).await
    })
    .await
}

/// A new secret; the current one is retired: it keeps signing beside the new one for 24
/// hours, as do the ones retired before it until their own time is up (rotating twice in a
/// row cuts no receiver off). `None` when there is no such webhook.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<Option<Webhook>, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let webhook: Option<Webhook> = diesel::sql_query(format!(
            "UPDATE webhooks SET \
               retired_secrets = {UNEXPIRED} || jsonb_build_array(jsonb_build_object( \
                 'secret', secret, 'until', now() + interval '{ROTATION_OVERLAP}')), \
               secret = $2, updated_at = now() \
             WHERE id = $1 RETURNING *"
        ))
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Text, _>(new_secret())
        .get_result(conn)
        .await
        .optional()?;
        if webhook.is_some() {
            record(conn, by, id, Action::Updated).await?;
        }
        Ok(webhook)
    })
    .await
}

/// The retired secrets of a webhook row that still sign (SQL, as a jsonb array).
const UNEXPIRED: &str = "coalesce((SELECT jsonb_agg(r) FROM jsonb_array_elements(retired_secrets) r \
                         WHERE (r->>'until')::timestamptz > now()), '[]')";

/// A page of one endpoint's delivery log, newest first unless `sort` says otherwise.
pub async fn attempts(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    pagination: &Pagination,
    sort: &Sort<DeliveryAttempt>,
) -> Result<Loaded<DeliveryAttempt>, ApiError> {
    let query = webhook_attempts::table
        .inner_join(webhook_deliveries::table)
        .filter(webhook_attempts::webhook_id.eq(webhook_id))
        .select((
            webhook_attempts::id,
            webhook_attempts::delivery_id,
            webhook_attempts::webhook_id,
            webhook_deliveries::message_id,
            webhook_deliveries::event_type,
            webhook_attempts::attempt,
            webhook_attempts::response_status,
            webhook_attempts::duration_ms,
            webhook_attempts::error,
            webhook_attempts::next_attempt_at,
            diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN webhook_attempts.error IS NULL THEN 'succeeded' ELSE 'failed' END",
            ),
            webhook_deliveries::state,
            webhook_attempts::created_at,
        ))
        .into_boxed();
    let rows = page_of(query, pagination, sort)?
        .load::<DeliveryAttempt>(conn)
        .await?;
    let total = webhook_attempts::table
        .filter(webhook_attempts::webhook_id.eq(webhook_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(Loaded::exact(rows, total))
}

/// What an endpoint had pending goes out now (it was turned back on), not at the retry
/// times its failures had set.
pub async fn resume(conn: &mut AsyncPgConnection, webhook_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::state.eq("pending")),
    )
    .set(webhook_deliveries::next_attempt_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Queues one message for one endpoint (after its pending ones: an endpoint hears events in
/// order). `message_id` is the `webhook-id` its receiver dedupes by.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    message_id: &str,
    event_type: &str,
    body: &str,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(id),
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::message_id.eq(message_id),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::body.eq(body),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Queues a delivery's message again (same `webhook-id` and body), as a new delivery.
/// `None` when the endpoint has no such delivery.
pub async fn redeliver(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<Option<super::QueuedDelivery>, ApiError> {
    let found: Option<(String, String, String)> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(delivery_id))
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select((
            webhook_deliveries::message_id,
            webhook_deliveries::event_type,
            webhook_deliveries::body,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((message_id, event_type, body)) = found else {
        return Ok(None);
    };
    let delivery_id = enqueue(conn, webhook_id, &message_id, &event_type, &body).await?;
    Ok(Some(super::QueuedDelivery {
        delivery_id,
        message_id,
        event_type,
    }))
}

/// Forgets what is kept only for a while: finished deliveries older than the log keeps
/// (their attempts go with them), and retired secrets whose time is up.
pub async fn forget_expired(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!(
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < now() - interval '{LOG_KEPT}'"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "UPDATE webhooks SET retired_secrets = {UNEXPIRED} WHERE retired_secrets <> '[]' AND retired_secrets <> {UNEXPIRED}"
    ))
    .execute(conn)
    .await?;
    Ok(())
}
