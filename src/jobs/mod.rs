//! The queue of work that must be done once by any node: a `jobs` row, claimed with
//! `FOR UPDATE SKIP LOCKED` (nodes never wait on each other and never take the same one) as
//! a lease (`locked_until`): a node that dies mid-job leaves it to another when the lease
//! runs out. Any layer enqueues a [`Job`] inside its own transaction; the runner
//! (`crate::runner`, above the resources) claims and runs them.
//!
//! A job's kind and payload are stored as text and JSON (`renditions`, `{"image_id": ...}`),
//! so nodes of two releases share one queue during a deploy: each claims only the kinds it
//! knows.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// How long a claim holds before another node may take the job.
const LEASE: &str = "5 minutes";

/// A piece of work to be done once, by any node.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Hourly housekeeping: old changes, rate-limit buckets, finished jobs, the webhook
    /// delivery log (each run schedules the next).
    Prune,
    /// A scheduled article's instant: announces `article.published` with no request made,
    /// and drops the answers of the articles beside it.
    Publication(Publication),
    /// An image's AVIF and WebP encodes, after its upload was answered.
    Renditions(ForImage),
    /// The articles showing an image as a figure are rendered again, so they show its
    /// current alt, caption, credit and variants.
    Figures(ForImage),
}

/// The kinds of job, in the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prune,
    Publication,
    Renditions,
    Figures,
}

impl Kind {
    /// A job of this kind that failed (or took its node down) this many times is given up
    /// (done, with its last error kept): a broken original is not encoded forever. Other
    /// kinds are kept until they succeed: housekeeping, announcements and renders must not
    /// be lost to an outage.
    pub fn max_attempts(self) -> Option<i32> {
        match self {
            Kind::Renditions => Some(10),
            Kind::Prune | Kind::Publication | Kind::Figures => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Prune => "prune",
            Kind::Publication => "publication",
            Kind::Renditions => "renditions",
            Kind::Figures => "figures",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    pub article_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForImage {
    pub image_id: Uuid,
}

impl Job {
    pub fn kind(&self) -> Kind {
        match self {
            Job::Prune => Kind::Prune,
            Job::Publication(_) => Kind::Publication,
            Job::Renditions(_) => Kind::Renditions,
            Job::Figures(_) => Kind::Figures,
        }
    }

    fn payload(&self) -> Result<serde_json::Value, ApiError> {
        let payload = match self {
            Job::Prune => Ok(serde_json::json!({})),
            Job::Publication(publication) => serde_json::to_value(publication),
            Job::Renditions(image) | Job::Figures(image) => serde_json::to_value(image),
        };
        payload.map_err(|e| ApiError::Internal(format!("a job's payload: {e}")))
    }

    /// Reads a claimed row back.
    fn read(kind: &str, payload: serde_json::Value) -> Result<Job, ApiError> {
        let bad = |e: serde_json::Error| ApiError::Internal(format!("a {kind} job's payload: {e}"));
        Ok(match kind {
            "prune" => Job::Prune,
            "publication" => Job::Publication(serde_json::from_value(payload).map_err(bad)?),
            "renditions" => Job::Renditions(serde_json::from_value(payload).map_err(bad)?),
            "figures" => Job::Figures(serde_json::from_value(payload).map_err(bad)?),
            other => return Err(ApiError::Internal(format!("unknown job kind `{other}`"))),
        })
    }
}

/// Queues `job` in the caller's transaction, at `run_at` (now when `None`). One waiting job
/// per payload: a publication once per article and instant, the encodes and figure
/// renders of an image once until one starts (a change after it started queues another),
/// housekeeping once.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    job: &Job,
    run_at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let waiting = match job.kind() {
        Kind::Publication => "done_at IS NULL",
        Kind::Prune | Kind::Renditions | Kind::Figures => {
            "done_at IS NULL AND locked_until IS NULL"
        }
    };
    diesel::sql_query(format!(
        "INSERT INTO jobs (kind, payload, run_at) SELECT $1, $2, coalesce($3, now()) \
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND payload = $2 AND {waiting})"
    ))
    .bind::<Text, _>(job.kind().name())
    .bind::<Jsonb, _>(job.payload()?)
    .bind::<Nullable<diesel::sql_types::Timestamptz>, _>(run_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A job this node holds the lease of.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub kind: Kind,
    /// The job, or why its payload cannot be read (one a newer release wrote).
    pub job: Result<Job, ApiError>,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// Claims the next due job of `kinds` for `node` (none that failed as often as its kind
/// allows).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    node: &str,
    kinds: &[Kind],
) -> Result<Option<Claimed>, ApiError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Integer)]
        attempts: i32,
        #[diesel(sql_type = Jsonb)]
        payload: serde_json::Value,
    }
    let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
    let (limited, limits): (Vec<&str>, Vec<i32>) = kinds
        .iter()
        .filter_map(|kind| kind.max_attempts().map(|max| (kind.name(), max)))
        .unzip();
    let claimed: Option<Row> = diesel::sql_query(format!(
        "UPDATE jobs SET attempts = attempts + 1, locked_until = now() + interval '{LEASE}', locked_by = $1 \
         WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= now() AND kind = ANY($2) \
                     AND (locked_until IS NULL OR locked_until < now()) \
                     AND attempts < coalesce((SELECT l.max FROM unnest($3::text[], $4::int[]) AS l(kind, max) \
                                              WHERE l.kind = jobs.kind), 2147483647) \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, attempts, payload"
    ))
    .bind::<Text, _>(node)
    .bind::<diesel::sql_types::Array<Text>, _>(names)
    .bind::<diesel::sql_types::Array<Text>, _>(limited)
    .bind::<diesel::sql_types::Array<Integer>, _>(limits)
    .get_result(conn)
    .await
    .optional()?;
    Ok(claimed.and_then(|row| {
        let kind = *kinds.iter().find(|kind| kind.name() == row.kind)?;
        Some(Claimed {
            id: row.id,
            kind,
            job: Job::read(&row.kind, row.payload),
            attempts: row.attempts,
        })
    }))
}

/// Marks the job done (in the transaction of its work, so both commit or neither). An
/// error when this node's lease ran out (another node took the job): the work is undone.
pub async fn finish(conn: &mut AsyncPgConnection, id: i64, node: &str) -> Result<(), ApiError> {
    let done = diesel::sql_query(
        "UPDATE jobs SET done_at = now(), locked_until = NULL WHERE id = $1 AND locked_by = $2",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(node)
    .execute(conn)
    .await?;
    if done == 0 {
        return Err(ApiError::Internal("the job's lease ran out".into()));
    }
    Ok(())
}

/// Gives the job up: done, with `error` kept.
pub async fn give_up(
    conn: &mut AsyncPgConnection,
    id: i64,
    node: &str,
    error: String,
) -> Result<(), ApiError> {
    diesel::sql_query(
        "UPDATE jobs SET locked_until = NULL, done_at = now(), last_error = $2 \
         WHERE id = $1 AND locked_by = $3",
    )
    .bind::<BigInt, _>(id)
    .bind::<Nullable<Text>, _>(Some(error))
    .bind::<Text, _>(node)
    .execute(conn)
    .await?;
    Ok(())
}

/// Leaves the job to be tried again later, waiting longer after each attempt (up to an
/// hour). `counted`: false when it waited for room (busy with uploads), no failure of the
/// job's own.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    claimed: &Claimed,
    node: &str,
    error: String,
    counted: bool,
) -> Result<(), ApiError> {
    let wait = 2i64
        .saturating_pow(claimed.attempts.clamp(0, 12) as u32)
        .min(3600);
    diesel::sql_query(
        "UPDATE jobs SET locked_until = NULL, last_error = $2, \
         attempts = attempts - $5::int, \
         run_at = now() + make_interval(secs => $3) WHERE id = $1 AND locked_by = $4",
    )
    .bind::<BigInt, _>(claimed.id)
    .bind::<Nullable<Text>, _>(Some(error))
    .bind::<diesel::sql_types::Double, _>(wait as f64)
    .bind::<Text, _>(node)
    .bind::<Integer, _>(i32::from(!counted))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes finished jobs after a week, and queues the next housekeeping in an hour.
pub async fn prune(conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
    diesel::sql_query("DELETE FROM jobs WHERE done_at < now() - interval '7 days'")
        .execute(conn)
        .await?;
    let next = Utc::now() + chrono::Duration::hours(1);
    enqueue(conn, &Job::Prune, Some(next)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_read_back_what_they_store() {
        let image = ForImage {
            image_id: Uuid::now_v7(),
        };
        let jobs = [
            Job::Prune,
            Job::Publication(Publication {
                article_id: Uuid::now_v7(),
                at: Utc::now(),
            }),
            Job::Renditions(image.clone()),
            Job::Figures(image),
        ];
        for job in jobs {
            let payload = job.payload().unwrap_or_default();
            let read = Job::read(job.kind().name(), payload).ok();
            assert_eq!(read, Some(job));
        }
        assert!(Job::read("newer", serde_json::json!({})).is_err());
    }
}
