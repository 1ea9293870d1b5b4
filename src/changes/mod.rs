//! The change feed. A write that changes anything records one [`Change`] in its own
//! transaction: what it is about, what happened, the [`Key`]s of the public answers it
//! touches (`article:<id>`, `articles`, `counts`, ...: see [`Key`]) and what webhook
//! subscribers hear of it ([`Announce`]: `article.published`, ..., decided by the write that
//! knows what the public saw before and after). The same transaction NOTIFYs the keys,
//! delivered at commit to every node's response cache. A write that changes nothing public
//! (a pending comment, a draft edit) records a change with no keys: the search index, which
//! staff search drafts in, still hears of it.
//!
//! Readers that must miss nothing (the search index, the webhook dispatcher) follow the feed
//! with [`read`], by the position of the writing transaction (see the migration
//! `change_feed_position`).
mod protocol;

pub use protocol::{Action, Announce, Change, Changed, Event, Key, Subject};

use std::cell::RefCell;
use std::future::Future;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiError;

/// The Postgres channel changes are announced on; the payload is the keys, space-separated
/// (`*` when they would not fit a notification: then every node empties its cache).
pub const CHANNEL: &str = "lede_changes";
/// Postgres refuses notification payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;

/// What the request being served recorded.
#[derive(Debug, Default)]
pub struct Recorded {
    /// So its own node drops the answers at once (before the write's answer leaves), not
    /// only when the notification comes back.
    pub keys: Vec<Key>,
    /// The newest writing transaction, so its own node's search index can be waited for.
    pub txid: Option<i64>,
}

tokio::task_local! {
    static RECORDED: RefCell<Recorded>;
}

/// Runs `work` (a write request) and returns what it recorded besides its output.
pub async fn recording<F: Future>(work: F) -> (F::Output, Recorded) {
    RECORDED
        .scope(RefCell::new(Recorded::default()), async move {
            let output = work.await;
            let recorded = RECORDED.with(|recorded| recorded.take());
            (output, recorded)
        })
        .await
}

/// How long recorded changes are kept: they are the activity log too (`/api/v1/activity`).
const RETENTION: &str = "90 days";

/// Removes changes older than the retention (any node may; run now and then), but none
/// that a shared reader of the feed (the webhook dispatcher) has not read yet.
pub async fn prune(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    Ok(diesel::sql_query(format!(
        "DELETE FROM changes WHERE created_at < now() - interval '{RETENTION}' \
         AND txid < coalesce((SELECT min(txid) FROM feed_readers)::text::xid8, pg_current_xact_id())"
    ))
    .execute(conn)
    .await?)
}

/// Records a change made `by` someone in the caller's transaction (the activity log names
/// them) and announces it at commit: its keys to every node's cache, `announce` to webhook
/// subscribers.
pub async fn record(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    change: Change,
) -> Result<(), ApiError> {
    let Change {
        subject,
        action,
        mut keys,
        announce,
    } = change;
    keys.sort();
    keys.dedup();
    let texts: Vec<String> = keys.iter().map(Key::to_string).collect();
    let mut payload = texts.join(" ");
    if payload.len() > MAX_PAYLOAD {
        payload = "*".to_owned();
    }
    let (resource, id) = subject.columns();
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = BigInt)]
        txid: i64,
    }
    // An empty payload still wakes the other nodes' search indexes; their caches drop nothing.
    let written: Written = diesel::sql_query(format!(
        "WITH change AS (INSERT INTO changes (resource, resource_id, event, keys, announce, subject, changes, actor) \
         VALUES ($1, $2, $3, $4, $6, $7, $8, $9) RETURNING txid) \
         SELECT txid::text::bigint AS txid, pg_notify('{CHANNEL}', $5)::text AS notified FROM change"
    ))
    .bind::<Text, _>(resource)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(id)
    .bind::<Text, _>(action.name())
    .bind::<Array<Text>, _>(&texts)
    .bind::<Text, _>(&payload)
    .bind::<Nullable<Text>, _>(announce.as_ref().map(|a| a.event.name()))
    .bind::<Nullable<Jsonb>, _>(announce.as_ref().and_then(|a| a.subject.as_ref()))
    .bind::<Nullable<Jsonb>, _>(announce.as_ref().and_then(|a| a.changes.as_ref()))
    .bind::<Jsonb, _>(serde_json::to_value(by).unwrap_or_default())
    .get_result(conn)
    .await?;
    let _ = RECORDED.try_with(|recorded| {
        let mut recorded = recorded.borrow_mut();
        recorded.keys.extend(keys);
        recorded.txid = recorded.txid.max(Some(written.txid));
    });
    Ok(())
}

/// Where a reader of the feed stands: it has seen every change of transactions before
/// `txid`, and of transaction `txid` those up to `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub txid: i64,
    pub id: i64,
}

/// A recorded change as a reader of the feed gets it.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A change this release can name.
    Known(Change),
    /// One a newer release wrote (during a deploy, or before a rollback): its resource,
    /// action or event is not known here. Readers pass on what they can (its announcement goes
    /// to the subscribers of that event, by name) and move past it.
    Foreign(Foreign),
}

/// What every release can read of a change: its columns as text.
#[derive(Debug, Clone)]
pub struct Foreign {
    pub resource: String,
    pub id: Option<Uuid>,
    /// What it is about, when this release knows that kind of thing (a new action or event
    /// on an article is still about an article).
    pub subject: Option<Subject>,
    pub keys: Vec<Key>,
    pub announce: Option<Announced>,
}

/// What subscribers hear of a change, as every release can read it.
#[derive(Debug, Clone, Copy)]
pub struct AnnouncedRef<'a> {
    /// The event, by name.
    pub event: &'a str,
    /// What it names when the subject can no longer be shown.
    pub subject: Option<&'a serde_json::Value>,
    /// What the change changed (`Changed`).
    pub changes: Option<&'a serde_json::Value>,
}

/// The announcement of a newer release's change.
#[derive(Debug, Clone)]
pub struct Announced {
    pub event: String,
    pub subject: Option<serde_json::Value>,
    pub changes: Option<serde_json::Value>,
}

impl Entry {
    /// What it is about, when this release knows that kind of thing (a newer release's new
    /// action on an article is still about the article), and the keys it touches.
    pub fn about(&self) -> Option<(Subject, &[Key])> {
        match self {
            Entry::Known(change) => Some((change.subject, &change.keys)),
            Entry::Foreign(foreign) => foreign.subject.map(|subject| (subject, &foreign.keys[..])),
        }
    }

    /// What subscribers hear of it, if anything.
    pub fn announced(&self) -> Option<AnnouncedRef<'_>> {
        match self {
            Entry::Known(change) => change.announce.as_ref().map(|a| AnnouncedRef {
                event: a.event.name(),
                subject: a.subject.as_ref(),
                changes: a.changes.as_ref(),
            }),
            Entry::Foreign(foreign) => foreign.announce.as_ref().map(|a| AnnouncedRef {
                event: &a.event,
                subject: a.subject.as_ref(),
                changes: a.changes.as_ref(),
            }),
        }
    }

    /// The id of what it is about, as recorded.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Entry::Known(change) => change.subject.columns().1,
            Entry::Foreign(foreign) => foreign.id,
        }
    }
}

/// Changes after `from`, oldest first, at most `limit`, and the position after them. Only
/// changes of transactions older than every one still running are read: those are final, so
/// a reader that moves on never misses one that commits later.
pub async fn read(
    conn: &mut AsyncPgConnection,
    from: Position,
    limit: i64,
) -> Result<(Vec<Entry>, Position), ApiError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        horizon: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        txid: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        id: Option<i64>,
        #[diesel(sql_type = Nullable<Text>)]
        resource: Option<String>,
        #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
        resource_id: Option<Uuid>,
        #[diesel(sql_type = Nullable<Text>)]
        event: Option<String>,
        #[diesel(sql_type = Nullable<Array<Text>>)]
        keys: Option<Vec<String>>,
        #[diesel(sql_type = Nullable<Text>)]
        announce: Option<String>,
        #[diesel(sql_type = Nullable<Jsonb>)]
        subject: Option<serde_json::Value>,
        #[diesel(sql_type = Nullable<Jsonb>)]
        changes: Option<serde_json::Value>,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) \
         SELECT horizon.xmin::text::bigint AS horizon, c.txid::text::bigint AS txid, c.id, \
                c.resource, c.resource_id, c.event, c.keys, c.announce, c.subject, c.changes \
         FROM horizon LEFT JOIN LATERAL ( \
             SELECT * FROM changes \
             WHERE (changes.txid, changes.id) > ($1::text::xid8, $2) AND changes.txid < horizon.xmin \
             ORDER BY changes.txid, changes.id LIMIT $3) c ON true",
    )
    .bind::<Text, _>(from.txid.to_string())
    .bind::<BigInt, _>(from.id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let horizon = rows
        .as_slice()
        .first()
        .map(|r| r.horizon)
        .unwrap_or(from.txid);
    let mut entries = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows {
        let (Some(txid), Some(id), Some(resource), Some(event), Some(keys)) =
            (row.txid, row.id, row.resource, row.event, row.keys)
        else {
            continue;
        };
        last = Some(Position { txid, id });
        let keys: Vec<Key> = keys.iter().map(|key| Key::read(key)).collect();
        let known = (
            Subject::read(&resource, row.resource_id),
            Action::read(&event),
            row.announce.as_deref().map(Event::read),
        );
        entries.push(match known {
            (Some(subject), Some(action), announced) if announced != Some(None) => {
                Entry::Known(Change {
                    subject,
                    action,
                    keys,
                    announce: announced.flatten().map(|event| Announce {
                        event,
                        subject: row.subject,
                        changes: row.changes,
                    }),
                })
            }
            (subject, _, _) => Entry::Foreign(Foreign {
                resource,
                id: row.resource_id,
                subject,
                keys,
                announce: row.announce.map(|event| Announced {
                    event,
                    subject: row.subject,
                    changes: row.changes,
                }),
            }),
        });
    }
    let next = match last {
        // A full batch: more of the same transactions may follow.
        Some(last) if entries.len() as i64 >= limit => last,
        // Everything before the horizon is read.
        _ => Position {
            txid: horizon,
            id: 0,
        }
        .max(from),
    };
    Ok((entries, next))
}

/// The position of a reader that has seen everything final now (a fresh index starts here,
/// then reads what Postgres holds).
pub async fn horizon(conn: &mut AsyncPgConnection) -> Result<Position, ApiError> {
    #[derive(QueryableByName)]
    struct Horizon {
        #[diesel(sql_type = BigInt)]
        txid: i64,
    }
    let horizon: Horizon =
        diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS txid")
            .get_result(conn)
            .await?;
    Ok(Position {
        txid: horizon.txid,
        id: 0,
    })
}
