//! The job runner: claims due jobs from the queue (`crate::jobs`) and runs each kind by
//! calling the resource that knows how. It sits above the resources (they only enqueue), and
//! runs on the background pool, never on the one that serves requests.
use std::time::Duration;

use actix_web::web;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::error::ApiError;
use crate::jobs::{self, Job, Kind};
use crate::state::AppState;

/// The kinds this version runs, in two queues: an image's encodes (seconds each) and the
/// renders of the articles showing an image (seconds to minutes) must never hold back a
/// publication's instant.
const QUEUES: [&[Kind]; 2] = [
    &[Kind::Prune, Kind::Publication],
    &[Kind::Renditions, Kind::Figures],
];
/// How often an idle node looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

/// Starts this node's runners, one per queue.
pub fn run(state: web::Data<AppState>) {
    let node = uuid::Uuid::now_v7().to_string();
    for kinds in QUEUES {
        let (state, node) = (state.clone(), node.clone());
        crate::stopping::spawn(async move { run_queue(&state, &node, kinds).await });
    }
}

async fn run_queue(state: &AppState, node: &str, kinds: &[Kind]) {
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
async fn next(state: &AppState, node: &str, kinds: &[Kind]) -> Result<bool, ApiError> {
    let mut conn = crate::db::conn(&state.background).await?;
    let Some(claimed) = jobs::claim(&mut conn, node, kinds).await? else {
        return Ok(false);
    };
    let job = match &claimed.job {
        Ok(job) => job,
        // A payload a newer release wrote: left to a node of that release, and tried again
        // here soon (not counted as a failure of the job's own).
        Err(error) => {
            tracing::warn!(id = claimed.id, kind = claimed.kind.name(), %error, "job cannot be read here; left for a newer node");
            jobs::retry(&mut conn, &claimed, node, error.to_string(), false).await?;
            return Ok(true);
        }
    };
    match run_claimed(state, &mut conn, node, claimed.id, job).await {
        Ok(()) => {}
        Err(error)
            if !matches!(error, ApiError::Unavailable(_))
                && claimed
                    .kind
                    .max_attempts()
                    .is_some_and(|max| claimed.attempts >= max) =>
        {
            tracing::error!(id = claimed.id, kind = claimed.kind.name(), %error, "job failed {} times; given up", claimed.attempts);
            let why = format!("given up after {} attempts: {error}", claimed.attempts);
            jobs::give_up(&mut conn, claimed.id, node, why).await?;
        }
        Err(error) => {
            tracing::warn!(id = claimed.id, kind = claimed.kind.name(), %error, "job failed; it will be retried");
            // Waiting for room (busy with uploads) is no failure of the job's own.
            let counted = !matches!(error, ApiError::Unavailable(_));
            jobs::retry(&mut conn, &claimed, node, error.to_string(), counted).await?;
        }
    }
    Ok(true)
}

/// Runs the claimed job and marks it done. Work that is one write commits with its
/// completion: a node that dies in between leaves nothing done (the job runs again, whole),
/// and one whose lease ran out (another node took the job) undoes its work. Work that takes
/// long is prepared first, outside any transaction (an image's encodes), or done in batches
/// of their own (the articles showing an image), then completed.
async fn run_claimed(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    node: &str,
    id: i64,
    job: &Job,
) -> Result<(), ApiError> {
    let modern = match job {
        Job::Renditions(image) => {
            crate::images::rendition::prepare_modern(state, conn, image.image_id).await?
        }
        Job::Figures(image) => {
            crate::articles::refresh_figures(&state.background, image.image_id).await?;
            None
        }
        Job::Prune | Job::Publication(_) => None,
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        match (job, modern) {
            (Job::Prune, _) => prune(conn).await?,
            (Job::Publication(due), _) => {
                crate::articles::write::publication_due(conn, due.article_id, due.at).await?
            }
            (Job::Renditions(_), Some(modern)) => {
                crate::images::rendition::apply_modern(state, conn, modern).await?
            }
            (Job::Renditions(_), None) => {} // the image is gone
            (Job::Figures(_), _) => {}       // done in batches above
        }
        jobs::finish(conn, id, node).await
    })
    .await
}

/// Removes what is kept only for a while (old changes, rate-limit buckets, ended sessions,
/// finished jobs, the webhook delivery log and retired secrets), and schedules the next run
/// in an hour.
async fn prune(conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
    crate::changes::prune(conn).await?;
    crate::rate_limits::forget_old(conn).await?;
    crate::users::sessions::forget_old(conn).await?;
    crate::webhooks::queries::forget_expired(conn).await?;
    jobs::prune(conn).await
}
