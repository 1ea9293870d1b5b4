//! The dispatcher: reads the change feed and queues a delivery for every endpoint
//! subscribed to what a change announces. Any node may run it; one at a time does (the
//! reader's row in `feed_readers`, FOR UPDATE SKIP LOCKED), and its position moves in the
//! same transaction as the deliveries it queued: each change is fanned out exactly once.
use std::time::Duration;

use actix_web::web;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::Webhook;
use crate::changes::{self, Entry, Position, Subject};
use crate::db::schema::webhooks;
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::state::AppState;

/// Changes read per transaction.
const BATCH: i64 = 200;
/// How often an idle node looks at the feed (a notification wakes it sooner).
const POLL: Duration = Duration::from_millis(500);
const READER: &str = "webhooks";

/// The body of a message: `{"type", "timestamp", "data"}` (Standard Webhooks), and
/// `changes` (what changed: the fields, an article's previous slug) when the change says.
pub fn message(event_type: &str, data: Value, changes: Option<&Value>) -> String {
    let mut message = json!({
        "type": event_type,
        "timestamp": Timestamp(chrono::Utc::now()),
        "data": data,
    });
    if let Some(changes) = changes {
        message["changes"] = changes.clone();
    }
    message.to_string()
}

/// A message's `webhook-id`: the same for every endpoint and every retry of one event.
pub fn message_id() -> String {
    format!("msg_{}", Uuid::now_v7().simple())
}

/// Starts this node's dispatcher.
pub fn run(state: web::Data<AppState>) {
    crate::stopping::spawn(async move {
        loop {
            let wake = state.webhooks.wake.notified();
            match dispatch(&state).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "webhooks: cannot read the change feed"),
            }
            let _ = tokio::time::timeout(POLL, wake).await;
        }
    });
}

/// Where the dispatcher stands; with `lock`, taken for this transaction (`None` when
/// another node holds it).
async fn position(conn: &mut AsyncPgConnection, lock: bool) -> Result<Option<Position>, ApiError> {
    #[derive(QueryableByName)]
    struct Reader {
        #[diesel(sql_type = BigInt)]
        txid: i64,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let lock = if lock { "FOR UPDATE SKIP LOCKED" } else { "" };
    let reader: Option<Reader> = diesel::sql_query(format!(
        "SELECT txid, id FROM feed_readers WHERE name = $1 {lock}"
    ))
    .bind::<Text, _>(READER)
    .get_result(conn)
    .await
    .optional()?;
    Ok(reader.map(|r| Position {
        txid: r.txid,
        id: r.id,
    }))
}

/// Fans out the next batch of changes. True when a full batch was read (more may follow).
async fn dispatch(state: &AppState) -> Result<bool, ApiError> {
    let mut conn = crate::db::conn(&state.background).await?;
    // A look first, writing nothing: an idle feed costs no transaction id and no WAL (a
    // replica that must replay every write to be used stays usable).
    let Some(from) = position(&mut conn, false).await? else {
        return Ok(false);
    };
    if changes::read(&mut conn, from, 1).await?.0.is_empty() {
        return Ok(false);
    }
    let (read, queued) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Another node is at it.
            let Some(from) = position(conn, true).await? else {
                return Ok((0, 0));
            };
            let (changes, next) = changes::read(conn, from, BATCH).await?;
            let queued = fan_out(conn, state, &changes).await?;
            if next != from {
                diesel::sql_query("UPDATE feed_readers SET txid = $2, id = $3 WHERE name = $1")
                    .bind::<Text, _>(READER)
                    .bind::<BigInt, _>(next.txid)
                    .bind::<BigInt, _>(next.id)
                    .execute(conn)
                    .await?;
            }
            Ok((changes.len(), queued))
        })
        .await?;
    if queued > 0 {
        state.webhooks.wake.notify_waiters();
    }
    Ok(read as i64 >= BATCH)
}

/// Queues each announced change for its subscribers; the number of deliveries queued. A
/// newer release's change (an event or action this node cannot name) goes to the
/// subscribers of its event by name, showing its subject as this node shows it (or its id,
/// for a kind of thing this node does not know).
async fn fan_out(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    entries: &[Entry],
) -> Result<usize, ApiError> {
    let announced: Vec<_> = entries
        .iter()
        .filter_map(|entry| entry.announced().map(|announced| (entry, announced)))
        .collect();
    if announced.is_empty() {
        return Ok(0);
    }
    let subscribers: Vec<Webhook> = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .select(Webhook::as_select())
        .load(conn)
        .await?;
    let mut queued = 0;
    for (entry, announced) in announced {
        let event = announced.event;
        let targets: Vec<Uuid> = subscribers
            .iter()
            .filter(|w| w.events.iter().any(|e| e == event))
            .map(|w| w.id)
            .collect();
        if targets.is_empty() {
            continue;
        }
        let subject = entry.about().map(|(subject, _)| subject);
        let named = entry.id();
        let data = match (announced.subject, subject) {
            (Some(recorded), _) => recorded.clone(),
            (None, Some(subject)) => match data(conn, state, subject).await {
                Ok(data) => data,
                // A change that cannot be shown (it failed to render) still goes out, naming
                // what changed: one bad row must not hold back every event after it.
                Err(error) => {
                    tracing::warn!(%error, ?subject, "webhooks: cannot render an event's data; sending its id");
                    json!({"id": named})
                }
            },
            (None, None) => json!({"id": named}),
        };
        let body = message(event, data, announced.changes);
        let id = message_id();
        for webhook in targets {
            super::queries::enqueue(conn, webhook, &id, event, &body).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// What a message carries: the resource as the public API shows it now, or what names it
/// when it can no longer be shown (deleted, unpublished, or gone since the change).
async fn data(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    subject: Subject,
) -> Result<Value, ApiError> {
    let named = || json!({"id": subject.columns().1});
    let base = state.origin.configured_base().to_owned();
    let urls = state.storage.urls_at(&base);
    // What subscribers get of each subject: what the public API shows of it now.
    let shown = match subject {
        Subject::Article(id) => {
            match crate::articles::queries::find(conn, &id.to_string()).await? {
                Some(article) if article.is_public => {
                    to_value(crate::articles::view_one(conn, article, &urls, &state.site).await?)?
                }
                Some(article) => json!({"id": article.id, "slug": article.slug}),
                None => named(),
            }
        }
        Subject::Comment(id) => match crate::comments::queries::find(conn, id).await? {
            Some(comment) => {
                let avatar = |email: &str| state.avatar_key.url(&base, email);
                let mut shown = crate::comments::model::PublicComment::new(&comment, &avatar);
                // Moderators' tools tell a pending comment from an approved one.
                shown.status = crate::comments::model::CommentStatus::parse(&comment.status);
                to_value(shown)?
            }
            None => named(),
        },
        Subject::Image(id) => match crate::images::queries::find(conn, id).await? {
            Some(image) => to_value(crate::images::model::ImageResponse::new(image, &urls))?,
            None => named(),
        },
        Subject::Author(id) => match crate::authors::queries::find(conn, &id.to_string()).await? {
            Some(author) => to_value(crate::authors::view(conn, author, false, &urls).await?)?,
            None => named(),
        },
        Subject::Tag(id) => match crate::tags::queries::find(conn, &id.to_string()).await? {
            Some(tag) => to_value(crate::tags::view(conn, tag).await?)?,
            None => named(),
        },
        // Nothing of these is announced.
        Subject::Comments
        | Subject::Token(_)
        | Subject::Webhook(_)
        | Subject::User(_)
        | Subject::Settings => named(),
    };
    Ok(shown)
}

fn to_value(value: impl serde::Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("cannot serialize: {e}")))
}
