//! Sessions: a signed-in browser. The cookie holds a random secret, kept here only as its
//! SHA-256 (like a token's); each request looks the session up, so ending it (sign-out,
//! "end all", disabling the person) is seen at once by every node.
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{sessions, users};
use crate::http::auth::hash_secret;
use crate::principal::{Actor, ActorKind, Principal, Role};

pub const COOKIE: &str = "lede_session";
/// A session unused this long has ended.
pub const IDLE: TimeDelta = TimeDelta::hours(12);
/// However much it is used, a session ends this long after sign-in.
pub const ABSOLUTE: TimeDelta = TimeDelta::days(30);
/// Use is written down at most this often (a read should not be a write every time).
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// A new session: the secret for the cookie (shown once) and the CSRF token its writes send.
pub struct Started {
    pub id: Uuid,
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts a session for `user_id` and notes that they were seen.
pub async fn start(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Started> {
    let secret = crate::text::random_secret("lede_s_");
    let csrf_token = crate::text::random_secret("");
    let now = Utc::now();
    let started = Started {
        id: Uuid::now_v7(),
        expires_at: now + ABSOLUTE,
        secret,
        csrf_token,
    };
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(started.id),
            sessions::secret_hash.eq(hash_secret(&started.secret)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(&started.csrf_token),
            sessions::expires_at.eq(started.expires_at),
        ))
        .execute(conn)
        .await?;
    diesel::update(users::table.find(user_id))
        .set(users::last_seen_at.eq(Some(now)))
        .execute(conn)
        .await?;
    Ok(started)
}

/// A live session's caller, and the CSRF token its writes must carry.
pub struct Resolved {
    pub principal: Principal,
    pub csrf_token: String,
}

/// The session whose cookie holds `secret`, while it lasts and its person is active.
pub async fn resolve(conn: &mut AsyncPgConnection, secret: &str) -> QueryResult<Option<Resolved>> {
    let now = Utc::now();
    type Row = (
        Uuid,
        String,
        DateTime<Utc>,
        Uuid,
        String,
        String,
        Option<Uuid>,
    );
    let row: Option<Row> = sessions::table
        .inner_join(users::table)
        .filter(sessions::secret_hash.eq(hash_secret(secret)))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_used_at.gt(now - IDLE))
        .filter(users::status.eq("active"))
        .select((
            sessions::id,
            sessions::csrf_token,
            sessions::last_used_at,
            users::id,
            users::name,
            users::role,
            users::author_id,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((id, csrf_token, last_used_at, user_id, name, role, author_id)) = row else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    if now - last_used_at > TOUCH_EVERY {
        diesel::update(sessions::table.find(id))
            .set(sessions::last_used_at.eq(now))
            .execute(conn)
            .await?;
        diesel::update(users::table.find(user_id))
            .set(users::last_seen_at.eq(Some(now)))
            .execute(conn)
            .await?;
    }
    Ok(Some(Resolved {
        principal: Principal {
            token_id: id,
            role,
            author_id,
            actor: Actor {
                kind: ActorKind::User,
                id: Some(user_id),
                name: name.into(),
            },
            via_session: true,
        },
        csrf_token,
    }))
}

/// Ends one session (signing out); false when it had already ended.
pub async fn end(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let ended = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(Some(Utc::now())))
    .execute(conn)
    .await?;
    Ok(ended == 1)
}

/// Ends every session of a person; how many were live.
pub async fn end_all(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}

/// Ends every session of a person but `keep` (the one changing their password).
pub async fn end_others(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Uuid,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}

/// Removes sessions that ended or expired a day ago or more (run now and then).
pub async fn forget_old(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let day_ago = Utc::now() - TimeDelta::days(1);
    diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(day_ago)
                .or(sessions::ended_at.lt(day_ago))
                .or(sessions::last_used_at.lt(day_ago - IDLE)),
        ),
    )
    .execute(conn)
    .await
}
