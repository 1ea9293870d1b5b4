//! The job runner: claims due jobs from the queue (`crate::jobs`) and runs each kind by
//! calling the resource that knows how. It sits above the resources (they only enqueue), and
//! runs on the background pool, never on the one that serves requests.
use std::time::Duration;

use actix_web::web;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::error::ApiError;
use crate::jobs::{self, Claimed, Job, Kind};
use crate::state::AppState;

/// The kinds this version runs, in two queues: an image's encodes and the renders of the
/// articles showing it take seconds and must never hold back a publication's instant.
const QUEUES: [&[Kind]; 2] = [
    &[Kind::Prune, Kind::Publication],
    &[Kind::Renditions, Kind::Figures],
];
/// A `renditions` job that failed (or took its node down) this many times is given up
/// (done, with its last error kept): a broken original is not encoded forever. Other kinds
/// are kept until they succeed: housekeeping and announcements must not be lost to an
/// outage.
const MAX_RENDITION_ATTEMPTS: i32 = 10;
/// How often an idle node looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

/// Starts this node's runners, one per queue.
pub fn run(state: web::Data<AppState>) {
    let node = uuid::Uuid::now_v7().to_string();
    for kinds in QUEUES {
        let (state, node) = (state.clone(), node.clone());
        tokio::spawn(async move { run_queue(&state, &node, kinds).await });
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
    let given_up = (Kind::Renditions, MAX_RENDITION_ATTEMPTS);
    let claimed = match jobs::claim(&mut conn, node, kinds, given_up).await? {
        None => return Ok(false),
        Some(Ok(claimed)) => claimed,
        Some(Err((id, error))) => {
            // A payload this release cannot read will not read better later.
            tracing::error!(id, %error, "job cannot be read; given up");
            jobs::give_up(&mut conn, id, node, error.to_string()).await?;
            return Ok(true);
        }
    };
    match run_claimed(state, &mut conn, node, &claimed).await {
        Ok(()) => {}
        Err(error)
            if claimed.job.kind() == Kind::Renditions
                && claimed.attempts >= MAX_RENDITION_ATTEMPTS =>
        {
            tracing::error!(id = claimed.id, job = ?claimed.job, %error, "job failed {MAX_RENDITION_ATTEMPTS} times; given up");
            let why = format!("given up after {MAX_RENDITION_ATTEMPTS} attempts: {error}");
            jobs::give_up(&mut conn, claimed.id, node, why).await?;
        }
        Err(error) => {
            tracing::warn!(id = claimed.id, job = ?claimed.job, %error, "job failed; it will be retried");
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
    claimed: &Claimed,
) -> Result<(), ApiError> {
    let modern = match &claimed.job {
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
        match (&claimed.job, modern) {
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
        jobs::finish(conn, claimed.id, node).await
    })
    .await
}

/// Removes what is kept only for a while (old changes, rate-limit buckets, finished jobs,
/// the webhook delivery log and retired secrets), and schedules the next run in an hour.
async fn prune(conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
    crate::changes::prune(conn).await?;
    crate::comments::queries::forget_old_limits(conn).await?;
    crate::webhooks::queries::forget_expired(conn).await?;
    jobs::prune(conn).await
}
