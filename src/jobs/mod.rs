//! The runner of work that must be done once by any node: a `jobs` row, claimed with
//! `FOR UPDATE SKIP LOCKED` (nodes never wait on each other and never take the same one) as
//! a lease (`locked_until`): a node that dies mid-job leaves it to another when the lease
//! runs out. Runs on the background pool, never on the one that serves requests.
//!
//! Kinds: `prune` (hourly housekeeping: old changes and rate-limit buckets; each run
//! schedules the next), `publication` (a scheduled article's instant: announces
//! `article.published` to webhook subscribers, with no request made, and drops the answers
//! of the articles beside it, whose previous/next now show it) and `renditions`
//! (an image's AVIF and WebP encodes, after its upload was answered).
use std::time::Duration;

use actix_web::web;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::AppState;
use crate::error::ApiError;

/// How long a claim holds before another node may take the job.
const LEASE: &str = "5 minutes";
/// The kinds this version runs (a job of a kind it does not know is left to a node that
/// does, during a rolling deploy), in two queues: an image's encodes take seconds and must
/// never hold back a publication's instant.
const QUEUES: [&[&str]; 2] = [&["prune", "publication"], &["renditions"]];
/// A `renditions` job that failed (or took its node down) this many times is given up
/// (done, with its last error kept): a broken original is not encoded forever. Other kinds
/// are kept until they succeed: housekeeping and announcements must not be lost to an
/// outage.
const MAX_RENDITION_ATTEMPTS: i32 = 10;
/// How often an idle node looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
}

/// Starts this node's runners, one per queue.
pub fn run(state: web::Data<AppState>) {
    let node = uuid::Uuid::now_v7().to_string();
    for kinds in QUEUES {
        let (state, node) = (state.clone(), node.clone());
        tokio::spawn(async move { run_queue(&state, &node, kinds).await });
    }
}

async fn run_queue(state: &AppState, node: &str, kinds: &[&str]) {
    loop {
        match next(state, node, kinds).await {
            Ok(true) => continue,
            Ok(false) => tokio::time::sleep(POLL).await,
            Err(error) => {
                tracing::warn!(%error, "jobs: cannot claim; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// Claims and runs one due job of `kinds`. False when none is due.
async fn next(state: &AppState, node: &str, kinds: &[&str]) -> Result<bool, ApiError> {
    let mut conn = crate::db::conn(&state.background).await?;
    let claimed: Option<Claimed> = diesel::sql_query(format!(
        "UPDATE jobs SET attempts = attempts + 1, locked_until = now() + interval '{LEASE}', locked_by = $1 \
         WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= now() AND kind = ANY($2) \
                     AND (locked_until IS NULL OR locked_until < now()) \
                     AND (kind <> 'renditions' OR attempts < $3) \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, attempts, payload"
    ))
    .bind::<Text, _>(node)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<Integer, _>(MAX_RENDITION_ATTEMPTS)
    .get_result(&mut conn)
    .await
    .optional()?;
    let Some(job) = claimed else {
        return Ok(false);
    };
    // An image's encodes only write files: made before the transaction, so no connection
    // idles in one for the seconds they take.
    let modern = match job.kind.as_str() {
        "renditions" => match rendition_of(&job.payload) {
            Ok(id) => crate::images::rendition::prepare_modern(state, &mut conn, id).await,
            Err(error) => Err(error),
        },
        _ => Ok(None),
    };
    let outcome = match modern {
        Ok(modern) => run_claimed(state, &mut conn, node, &job, modern).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => {}
        Err(error) if job.kind == "renditions" && job.attempts >= MAX_RENDITION_ATTEMPTS => {
            tracing::error!(id = job.id, kind = %job.kind, %error, "job failed {MAX_RENDITION_ATTEMPTS} times; given up");
            diesel::sql_query(
                "UPDATE jobs SET locked_until = NULL, done_at = now(), last_error = $2 \
                 WHERE id = $1 AND locked_by = $3",
            )
            .bind::<BigInt, _>(job.id)
            .bind::<Nullable<Text>, _>(Some(format!(
                "given up after {MAX_RENDITION_ATTEMPTS} attempts: {error}"
            )))
            .bind::<Text, _>(node)
            .execute(&mut conn)
            .await?;
        }
        Err(error) => {
            tracing::warn!(id = job.id, kind = %job.kind, %error, "job failed; it will be retried");
            // Again later, waiting longer each time (up to an hour). Waiting for room (busy
            // with uploads) is no failure of the job's own: not counted as an attempt.
            let busy = matches!(error, ApiError::Unavailable(_));
            let wait = 2i64
                .saturating_pow(job.attempts.clamp(0, 12) as u32)
                .min(3600);
            diesel::sql_query(
                "UPDATE jobs SET locked_until = NULL, last_error = $2, \
                 attempts = attempts - $5::int, \
                 run_at = now() + make_interval(secs => $3) WHERE id = $1 AND locked_by = $4",
            )
            .bind::<BigInt, _>(job.id)
            .bind::<Nullable<Text>, _>(Some(error.to_string()))
            .bind::<diesel::sql_types::Double, _>(wait as f64)
            .bind::<Text, _>(node)
            .bind::<Integer, _>(i32::from(busy))
            .execute(&mut conn)
            .await?;
        }
    }
    Ok(true)
}

/// Runs the claimed job (`modern`: its prepared renditions) and marks it done. The work and
/// its completion commit together: a node that dies in between leaves nothing done (the job
/// runs again, whole), and one whose lease ran out (another node took the job) undoes its
/// work.
async fn run_claimed(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    node: &str,
    job: &Claimed,
    modern: Option<crate::images::rendition::Modern>,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        match (job.kind.as_str(), modern) {
            ("prune", _) => prune(conn).await?,
            ("publication", _) => publication(conn, &job.payload).await?,
            ("renditions", Some(modern)) => {
                crate::images::rendition::apply_modern(state, conn, modern).await?
            }
            ("renditions", None) => {} // the image is gone
            (other, _) => {
                return Err(ApiError::Internal(format!("unknown job kind `{other}`")));
            }
        }
        let done = diesel::sql_query(
            "UPDATE jobs SET done_at = now(), locked_until = NULL WHERE id = $1 AND locked_by = $2",
        )
        .bind::<BigInt, _>(job.id)
        .bind::<Text, _>(node)
        .execute(conn)
        .await?;
        if done == 0 {
            return Err(ApiError::Internal("the job's lease ran out".into()));
        }
        Ok(())
    })
    .await
}

/// Removes what is kept only for a while (old changes, rate-limit buckets, finished jobs,
/// the webhook delivery log and retired secrets),
/// and schedules the next run in an hour.
async fn prune(conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
    crate::changes::prune(conn).await?;
    crate::comments::queries::forget_old_limits(conn).await?;
    diesel::sql_query("DELETE FROM jobs WHERE done_at < now() - interval '7 days'")
        .execute(conn)
        .await?;
    crate::webhooks::queries::forget_expired(conn).await?;
    diesel::sql_query(
        "INSERT INTO jobs (kind, run_at) SELECT 'prune', now() + interval '1 hour' \
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'prune' AND done_at IS NULL AND locked_until IS NULL)",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The payload of a `publication` job: which article, at which instant.
#[derive(serde::Serialize, serde::Deserialize)]
struct Publication {
    article_id: uuid::Uuid,
    at: chrono::DateTime<chrono::Utc>,
}

/// Makes the job that announces the scheduled article `article_id` at `at` (in the caller's
/// transaction; once per article and instant).
pub async fn schedule_publication(
    conn: &mut AsyncPgConnection,
    article_id: uuid::Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let payload = serde_json::to_value(Publication { article_id, at })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    diesel::sql_query(
        "INSERT INTO jobs (kind, payload, run_at) SELECT 'publication', $1, $2 \
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'publication' AND done_at IS NULL AND payload = $1)",
    )
    .bind::<diesel::sql_types::Jsonb, _>(&payload)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Renditions {
    image_id: uuid::Uuid,
}

/// Makes the job that encodes an image's modern renditions (in the caller's transaction; one
/// waiting job per image).
pub async fn schedule_renditions(
    conn: &mut AsyncPgConnection,
    image_id: uuid::Uuid,
) -> Result<(), ApiError> {
    let payload = serde_json::to_value(Renditions { image_id })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    diesel::sql_query(
        "INSERT INTO jobs (kind, payload, run_at) SELECT 'renditions', $1, now() \
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'renditions' AND done_at IS NULL \
                           AND locked_until IS NULL AND payload = $1)",
    )
    .bind::<diesel::sql_types::Jsonb, _>(&payload)
    .execute(conn)
    .await?;
    Ok(())
}

/// The image a `renditions` job is for.
fn rendition_of(payload: &serde_json::Value) -> Result<uuid::Uuid, ApiError> {
    serde_json::from_value::<Renditions>(payload.clone())
        .map(|job| job.image_id)
        .map_err(|e| ApiError::Internal(format!("a renditions job's payload: {e}")))
}

/// A scheduled article's instant has come.
async fn publication(
    conn: &mut AsyncPgConnection,
    payload: &serde_json::Value,
) -> Result<(), ApiError> {
    let due: Publication = serde_json::from_value(payload.clone())
        .map_err(|e| ApiError::Internal(format!("a publication job's payload: {e}")))?;
    crate::articles::write::publication_due(conn, due.article_id, due.at).await
}
