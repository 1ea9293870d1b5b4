//! The delivery workers: every node claims due deliveries (FOR UPDATE SKIP LOCKED, as a
//! lease: a node that dies mid-delivery leaves it to another when the lease runs out),
//! signs them by the Standard Webhooks specification and sends them. An endpoint gets its
//! deliveries in order: only its oldest pending one is ever claimed. Runs on the background
//! pool, never on the one that serves requests.
use std::time::{Duration, Instant};

use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a claim holds: the timeout and room to record the outcome.
const LEASE: &str = "20 seconds";
/// How often an idle node looks for due deliveries (a notification wakes it sooner).
const POLL: Duration = Duration::from_millis(500);
/// Waits before each retry, in seconds: the first within 10 s, then growing, about three
/// days in all; after the last, the delivery has failed.
const RETRIES: [u32; 10] = [
    5, 60, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 72_000,
];
/// An endpoint that has failed every delivery for this long is disabled.
const GIVE_UP: &str = "5 days";

#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = Text)]
    message_id: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    url: String,
    /// The current secret and the retired ones still signing.
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    secrets: Vec<String>,
    /// This claim's own mark: the outcome is recorded only while the claim is still this one.
    #[diesel(sql_type = Text)]
    locked_by: String,
}

/// Starts this node's workers.
pub fn run(state: web::Data<AppState>) {
    crate::stopping::spawn(async move {
        loop {
            let wake = state.webhooks.wake.notified();
            let Ok(permit) = state.webhooks.in_flight.clone().acquire_owned().await else {
                return;
            };
            match claim(&state).await {
                Ok(Some(delivery)) => {
                    let state = state.clone();
                    crate::stopping::spawn(async move {
                        if let Err(error) = attempt(&state, delivery).await {
                            tracing::warn!(%error, "webhooks: cannot record a delivery attempt");
                        }
                        drop(permit);
                    });
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "webhooks: cannot claim a delivery"),
            }
            drop(permit);
            let _ = tokio::time::timeout(POLL, wake).await;
        }
    });
}

/// Takes the next due delivery whose endpoint has nothing older pending: the oldest
/// pending delivery of each enabled endpoint (one index probe each, however long the queue
/// behind it), due and not claimed. The endpoint's row is locked while claiming, so two
/// workers never take deliveries of one endpoint at once.
async fn claim(state: &AppState) -> Result<Option<Claimed>, ApiError> {
    let mut conn = crate::db::conn(&state.background).await?;
    Ok(diesel::sql_query(format!(
        "WITH head AS ( \
             SELECT w.id AS webhook_id, oldest.id FROM webhooks w \
             CROSS JOIN LATERAL (SELECT d.id, d.seq, d.next_attempt_at, d.locked_until \
                                 FROM webhook_deliveries d \
                                 WHERE d.webhook_id = w.id AND d.state = 'pending' \
                                 ORDER BY d.seq LIMIT 1) oldest \
             WHERE w.enabled AND oldest.next_attempt_at <= now() \
               AND (oldest.locked_until IS NULL OR oldest.locked_until < now()) \
             ORDER BY oldest.next_attempt_at, oldest.seq LIMIT 1 \
             FOR UPDATE OF w SKIP LOCKED) \
         UPDATE webhook_deliveries d \
         SET attempts = d.attempts + 1, locked_until = now() + interval '{LEASE}', locked_by = $1 \
         FROM head JOIN webhooks w ON w.id = head.webhook_id \
         WHERE d.id = head.id \
         RETURNING d.id, d.webhook_id, d.message_id, d.body, d.attempts, w.url, d.locked_by, \
                   ARRAY[w.secret] || ARRAY(SELECT r->>'secret' FROM jsonb_array_elements(w.retired_secrets) r \
                                             WHERE (r->>'until')::timestamptz > now()) AS secrets"
    ))
    .bind::<Text, _>(Uuid::now_v7().to_string())
    .get_result(&mut conn)
    .await
    .optional()?)
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under a `whsec_` secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The outcome of one attempt: the endpoint's status, and why it failed.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
}

/// Sends one delivery and records how it went, unless its claim ran out meanwhile and
/// another worker took it (then that one records).
async fn attempt(state: &AppState, delivery: Claimed) -> Result<(), ApiError> {
    let started = Instant::now();
    let outcome = send(&state.webhooks, &delivery).await;
    let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let succeeded = outcome.error.is_none();
    // After a failure: the next try (with jitter, so endpoints that failed together do not
    // all come back at once), or none when the retries are spent.
    let next_attempt = (!succeeded)
        .then(|| RETRIES.get(delivery.attempts as usize - 1))
        .flatten()
        .map(|secs| {
            let secs = f64::from(*secs) * rand::rng().random_range(0.8..1.2);
            chrono::Utc::now() + chrono::TimeDelta::milliseconds((secs * 1000.0) as i64)
        });
    let state_after = match (succeeded, next_attempt) {
        (true, _) => "succeeded",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let mut conn = crate::db::conn(&state.background).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let still_ours = diesel::sql_query(
            "UPDATE webhook_deliveries SET state = $3, locked_until = NULL, \
             next_attempt_at = coalesce($4, next_attempt_at) \
             WHERE id = $1 AND locked_by = $2",
        )
        .bind::<diesel::sql_types::Uuid, _>(delivery.id)
        .bind::<Text, _>(&delivery.locked_by)
        .bind::<Text, _>(state_after)
        .bind::<Nullable<Timestamptz>, _>(next_attempt)
        .execute(conn)
        .await?;
        if still_ours == 0 {
            return Ok(());
        }
        diesel::sql_query(
            "INSERT INTO webhook_attempts \
             (id, delivery_id, webhook_id, attempt, response_status, duration_ms, error, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
        .bind::<diesel::sql_types::Uuid, _>(delivery.id)
        .bind::<diesel::sql_types::Uuid, _>(delivery.webhook_id)
        .bind::<Integer, _>(delivery.attempts)
        .bind::<Nullable<Integer>, _>(outcome.status.map(i32::from))
        .bind::<Integer, _>(duration_ms)
        .bind::<Nullable<Text>, _>(outcome.error.as_deref())
        .bind::<Nullable<Timestamptz>, _>(next_attempt)
        .execute(conn)
        .await?;
        // Five days of nothing but failures turn the endpoint off (it says why, and its
        // version moves, so an If-Match made before no longer holds); a success forgets the
        // failures.
        diesel::sql_query(format!(
            "UPDATE webhooks SET enabled = false, \
               disabled_reason = 'every delivery failed for {GIVE_UP} (the last: ' || $3 || ')', \
               updated_at = now() \
             WHERE id = $1 AND enabled AND NOT $2 AND failing_since <= now() - interval '{GIVE_UP}'"
        ))
        .bind::<diesel::sql_types::Uuid, _>(delivery.webhook_id)
        .bind::<Bool, _>(succeeded)
        .bind::<Text, _>(outcome.error.as_deref().unwrap_or(""))
        .execute(conn)
        .await?;
        diesel::sql_query(
            "UPDATE webhooks SET failing_since = CASE WHEN $2 THEN NULL ELSE coalesce(failing_since, now()) END \
             WHERE id = $1 AND (failing_since IS NULL) = $2",
        )
        .bind::<diesel::sql_types::Uuid, _>(delivery.webhook_id)
        .bind::<Bool, _>(succeeded)
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}

async fn send(webhooks: &crate::outbound::Webhooks, delivery: &Claimed) -> Outcome {
    let failed = |error: String| Outcome {
        status: None,
        error: Some(error),
    };
    // An address written as such never reaches the resolver that guards names.
    let literal = url::Url::parse(&delivery.url)
        .ok()
        .and_then(|url| crate::outbound::address::literal_ip(&url));
    if let Some(ip) = literal
        && !webhooks.allow_private()
        && !crate::outbound::address::is_public(ip)
    {
        return failed(format!("{ip} is not a public address"));
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signatures: Vec<String> = delivery
        .secrets
        .iter()
        .filter_map(|secret| signature(secret, &delivery.message_id, timestamp, &delivery.body))
        .collect();
    let request = webhooks
        .client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(delivery.body.clone());
    match request.send().await {
        Ok(response) if response.status().is_success() => Outcome {
            status: Some(response.status().as_u16()),
            error: None,
        },
        Ok(response) => Outcome {
            status: Some(response.status().as_u16()),
            error: Some(format!(
                "the endpoint answered {}",
                response.status().as_u16()
            )),
        },
        Err(error) if error.is_timeout() => failed(format!(
            "no answer within {} s",
            crate::outbound::TIMEOUT.as_secs()
        )),
        Err(error) => failed(crate::error::with_causes(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference tests.
        let signature = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }
}
