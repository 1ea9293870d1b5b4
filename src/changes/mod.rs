//! The change feed. A write that changes what the public sees records one row, in its own
//! transaction, naming the keys of what it changed: `article:<id>`, `author:<id>`,
//! `byline:<author id>`, `tag:<id>`, `image:<id>`, `comments:<article id>` for things,
//! `articles`, `authors`, `tags`, `images` for the lists that show them, `counts` when the
//! number of public articles may have changed (every author's and tag's `article_count`
//! shows it), and `schedule` when a publication instant may have moved. The same transaction NOTIFYs the keys, delivered at
//! commit to every node's response cache; a write that changes nothing public (a pending
//! comment, a draft edit, a token) records nothing.
use std::cell::RefCell;
use std::future::Future;

use diesel::sql_types::{Array, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiError;

/// The Postgres channel changes are announced on; the payload is the keys, space-separated
/// (`*` when they would not fit a notification: then every node empties its cache).
pub const CHANNEL: &str = "lede_changes";
/// Postgres refuses notification payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;

/// Shown by every answer with an `article_count`; named by every write to an article that is
/// public before or after it (it may have turned public, or moved between authors or tags).
pub const COUNTS: &str = "counts";

/// The key of one thing: `article:<id>`.
pub fn key(kind: &str, id: Uuid) -> String {
    format!("{kind}:{id}")
}

tokio::task_local! {
    /// Keys recorded by the request being served, so its own node drops the answers at once
    /// (before the write's answer leaves), not only when the notification comes back.
    static RECORDED: RefCell<Vec<String>>;
}

/// Runs `work` (a write request) and returns what it recorded besides its output.
pub async fn recording<F: Future>(work: F) -> (F::Output, Vec<String>) {
    RECORDED
        .scope(RefCell::new(Vec::new()), async move {
            let output = work.await;
            let keys = RECORDED.with(|keys| keys.take());
            (output, keys)
        })
        .await
}

/// How long recorded changes are kept.
const RETENTION: &str = "7 days";

/// Removes changes older than the retention (any node may; run now and then).
pub async fn prune(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    Ok(diesel::sql_query(format!(
        "DELETE FROM changes WHERE created_at < now() - interval '{RETENTION}'"
    ))
    .execute(conn)
    .await?)
}

/// Records a change to one thing of `kind` (`author`, `tag`, `image`): the answers that show
/// it (`<kind>:<id>`) and its list (`<kind>s`), plus `also`: what embeds it, named by a change
/// that shows there (lists name only their items' own keys, see `http::cache::Shows`).
pub async fn record_thing(
    conn: &mut AsyncPgConnection,
    kind: &str,
    id: Uuid,
    event: &str,
    also: &[&str],
) -> Result<(), ApiError> {
    let mut keys = vec![key(kind, id), format!("{kind}s")];
    keys.extend(also.iter().map(|k| (*k).to_owned()));
    record(conn, kind, Some(id), event, keys).await
}

/// Records a change in the caller's transaction and announces it at commit.
pub async fn record(
    conn: &mut AsyncPgConnection,
    resource: &str,
    id: Option<Uuid>,
    event: &str,
    mut keys: Vec<String>,
) -> Result<(), ApiError> {
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    let mut payload = keys.join(" ");
    if payload.len() > MAX_PAYLOAD {
        payload = "*".to_owned();
    }
    diesel::sql_query(format!(
        "WITH change AS (INSERT INTO changes (resource, resource_id, event, keys) \
         VALUES ($1, $2, $3, $4) RETURNING id) \
         SELECT pg_notify('{CHANNEL}', $5) FROM change"
    ))
    .bind::<Text, _>(resource)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(id)
    .bind::<Text, _>(event)
    .bind::<Array<Text>, _>(&keys)
    .bind::<Text, _>(&payload)
    .execute(conn)
    .await?;
    let _ = RECORDED.try_with(|recorded| recorded.borrow_mut().extend(keys));
    Ok(())
}
