//! The one write path for people: inviting, accepting, changing, disabling, ending sessions.
//! Handlers, the command line and (later) the desk call these; each is one transaction that
//! records its change.
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{User, UserStatus};
use super::{passwords, queries, sessions};
use crate::changes::{Action, Change, Subject};
use crate::db::schema::{api_tokens, user_links, users};
use crate::error::{ApiError, OnConstraint};
use crate::http::auth::hash_secret;
use crate::http::validate::Checks;
use crate::principal::{ADMIN, Actor, ActorKind, Principal, Role};

/// How long an invitation or a reset link works.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::days(7);

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }
}

/// A one-use link's secret (shown once) with the person it is for and what it is for.
pub struct Link {
    pub user: User,
    pub purpose: Purpose,
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A new person, checked.
pub struct Invitation {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub author_id: Option<Uuid>,
}

async fn record(
    conn: &mut AsyncPgConnection,
    by: &Actor,
    id: Uuid,
    action: Action,
) -> Result<(), ApiError> {
    crate::changes::record(conn, by, Change::new(Subject::User(id), action)).await
}

/// Whether a new link ends the person's unused ones of the same kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Earlier {
    /// An admin's new link replaces the one handed over before.
    End,
    /// Asked for by anyone (a reset request): nothing handed over is cancelled by it.
    Keep,
}

async fn make_link(
    conn: &mut AsyncPgConnection,
    user: User,
    purpose: Purpose,
    earlier: Earlier,
) -> Result<Link, ApiError> {
    let secret = crate::text::random_secret("");
    let expires_at = Utc::now() + LINK_LIFETIME;
    if earlier == Earlier::End {
        diesel::delete(
            user_links::table
                .filter(user_links::user_id.eq(user.id))
                .filter(user_links::purpose.eq(purpose.as_str()))
                .filter(user_links::used_at.is_null()),
        )
        .execute(conn)
        .await?;
    }
    diesel::insert_into(user_links::table)
        .values((
            user_links::secret_hash.eq(hash_secret(&secret)),
            user_links::user_id.eq(user.id),
            user_links::purpose.eq(purpose.as_str()),
            user_links::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(Link {
        user,
        purpose,
        secret,
        expires_at,
    })
}

/// Invites a person (admins, and the command line as the system): 409 when the email is
/// taken. Answers the invitation link's secret.
pub async fn invite(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    invitation: Invitation,
) -> Result<Link, ApiError> {
    principal.require(ADMIN)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let user: User = diesel::insert_into(users::table)
            .values((
                users::id.eq(Uuid::now_v7()),
                users::email.eq(&invitation.email),
                users::name.eq(&invitation.name),
                users::role.eq(invitation.role.as_str()),
                users::author_id.eq(invitation.author_id),
                users::status.eq(UserStatus::Invited.as_str()),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
            // Emails are unique in any case (the index on `lower(email)`).
            .on_unique(&[("users_email_key", "email")])?;
        record(conn, &principal.actor, user.id, Action::Created).await?;
        make_link(conn, user, Purpose::Invitation, Earlier::End).await
    })
    .await
}

/// A link to choose a new password (admins): an invited person gets a fresh invitation.
/// It replaces the one handed over before.
pub async fn reset_link(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
) -> Result<Link, ApiError> {
    principal.require(ADMIN)?;
    link_for(conn, id, Earlier::End).await
}

/// A link a reset request asked for (`POST /auth/reset`): none for a disabled person, and
/// earlier links stay good.
pub async fn requested_reset_link(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Link>, ApiError> {
    match link_for(conn, id, Earlier::Keep).await {
        Ok(link) => Ok(Some(link)),
        Err(ApiError::Conflict { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn link_for(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    earlier: Earlier,
) -> Result<Link, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let user = locked(conn, id).await?;
        let purpose = match user.status() {
            UserStatus::Invited => Purpose::Invitation,
            UserStatus::Active => Purpose::Reset,
            UserStatus::Disabled => {
                return Err(ApiError::Conflict {
                    detail: "this person is disabled: enable them first".into(),
                    errors: Vec::new(),
                });
            }
        };
        make_link(conn, user, purpose, earlier).await
    })
    .await
}

async fn locked(conn: &mut AsyncPgConnection, id: Uuid) -> Result<User, ApiError> {
    users::table
        .find(id)
        .for_update()
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound(format!("no person with id `{id}`")))
}

/// Wrong current passwords one person may send in a minute.
const PASSWORD_TRIES: i64 = 10;

/// Changes a signed-in person's password, as `principal` (their session): the current one
/// must be right, so a session left open does not hand over the account. Their other
/// sessions end; this one goes on. Hashing and checking hold no connection.
pub async fn change_password(
    pool: &crate::db::Pool,
    principal: &Principal,
    current: String,
    new: String,
) -> Result<(), ApiError> {
    let user_id = principal
        .actor
        .user_id()
        .filter(|_| principal.via_session)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "a password is changed from a signed-in session, not with a token".into(),
            )
        })?;
    let user = {
        let mut conn = crate::db::conn(pool).await?;
        let bucket = format!("password:account:{user_id}");
        crate::rate_limits::count_within(&mut conn, &bucket, PASSWORD_TRIES, 60, || {
            format!("at most {PASSWORD_TRIES} tries a minute")
        })
        .await?;
        queries::find(&mut conn, user_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no person with id `{user_id}`")))?
    };
    let mut checks = Checks::new();
    passwords::check(&mut checks, "new_password", &new, &user.email, &user.name);
    if !passwords::verify(current, user.password_hash.clone()).await? {
        checks.fail(
            "current_password",
            "wrong",
            "current_password is not the password you signed in with",
        );
    }
    checks.finish()?;
    let password_hash = passwords::hash(new).await?;
    let mut conn = crate::db::conn(pool).await?;
    crate::rate_limits::uncount(&mut conn, &format!("password:account:{user_id}")).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let user = locked(conn, user_id).await?;
        if user.status() != UserStatus::Active {
            return Err(ApiError::Unauthorized("this account is not active".into()));
        }
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(Some(&password_hash)),
                users::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        sessions::end_others(conn, user_id, principal.token_id).await?;
        record(conn, &principal.actor, user_id, Action::Updated).await
    })
    .await
}

pub const USED_OR_EXPIRED: &str =
    "this link is unknown, used or expired: ask an admin for a new one";

/// Sets a person's password with an invitation or reset link (used once, within its
/// lifetime) and makes them active; a reset also ends their sessions. The password is
/// hashed before the transaction (CPU work holds no locks).
pub async fn accept(
    conn: &mut AsyncPgConnection,
    secret: &str,
    password: String,
) -> Result<User, ApiError> {
    let hash = hash_secret(secret);
    let link: Option<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = user_links::table
        .filter(user_links::secret_hash.eq(&hash))
        .select((
            user_links::user_id,
            user_links::expires_at,
            user_links::used_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let user_id = match link {
        Some((user_id, expires_at, None)) if expires_at > Utc::now() => user_id,
        _ => return Err(ApiError::NotFound(USED_OR_EXPIRED.into())),
    };
    let user = queries::find(conn, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(USED_OR_EXPIRED.into()))?;
    let mut checks = Checks::new();
    passwords::check(&mut checks, "password", &password, &user.email, &user.name);
    checks.finish()?;
    let password_hash = passwords::hash(password).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Claimed once: of two at the same time, one finds it used.
        let claimed: Option<String> = diesel::update(
            user_links::table
                .filter(user_links::secret_hash.eq(&hash))
                .filter(user_links::used_at.is_null())
                .filter(user_links::expires_at.gt(Utc::now())),
        )
        .set(user_links::used_at.eq(Some(Utc::now())))
        .returning(user_links::purpose)
        .get_result(conn)
        .await
        .optional()?;
        let Some(purpose) = claimed else {
            return Err(ApiError::NotFound(USED_OR_EXPIRED.into()));
        };
        let user = locked(conn, user_id).await?;
        if user.status() == UserStatus::Disabled {
            return Err(ApiError::NotFound(USED_OR_EXPIRED.into()));
        }
        let user: User = diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(Some(&password_hash)),
                users::status.eq(UserStatus::Active.as_str()),
                users::updated_at.eq(Utc::now()),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await?;
        if purpose == Purpose::Reset.as_str() {
            sessions::end_all(conn, user_id).await?;
        }
        // They act for themselves: the link was their credential.
        let them = Actor {
            kind: ActorKind::User,
            id: Some(user.id),
            name: user.name.clone().into(),
        };
        record(conn, &them, user_id, Action::Updated).await?;
        Ok(user)
    })
    .await
}

/// What may change of a person; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` unlinks the byline.
    pub author_id: Option<Option<Uuid>>,
    /// `active` or `disabled` (an invited person becomes active by accepting).
    pub status: Option<UserStatus>,
}

/// Changes a person: their own name (anyone, for themselves); role, byline and status
/// (admins). Disabling ends their sessions and revokes their tokens in the same transaction.
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
    changes: UserChanges,
) -> Result<User, ApiError> {
    let is_self = principal.actor.user_id() == Some(id);
    let admin_only =
        changes.role.is_some() || changes.author_id.is_some() || changes.status.is_some();
    if admin_only || !is_self {
        principal.require(ADMIN)?;
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Admins first, then the person, in that order in every change: two admins
        // demoting each other wait for one another and cannot both leave.
        let admins = match changes.role.is_some() || changes.status.is_some() {
            true => active_admins(conn).await?,
            false => Vec::new(),
        };
        let user = locked(conn, id).await?;
        let status = match (user.status(), changes.status) {
            (_, None) => user.status(),
            (UserStatus::Invited, Some(UserStatus::Active)) => {
                return Err(ApiError::invalid(
                    "status",
                    "not_accepted",
                    "an invited person becomes active by accepting their invitation",
                ));
            }
            (_, Some(UserStatus::Invited)) => {
                return Err(ApiError::invalid(
                    "status",
                    "invalid",
                    "status may be set to `active` or `disabled`",
                ));
            }
            // Enabled again before they ever chose a password: invited again.
            (UserStatus::Disabled, Some(UserStatus::Active)) if user.password_hash.is_none() => {
                UserStatus::Invited
            }
            (_, Some(status)) => status,
        };
        let role = changes.role.unwrap_or(user.role());
        if is_self && status == UserStatus::Disabled {
            return Err(ApiError::Conflict {
                detail: "you cannot disable yourself: ask another admin".into(),
                errors: Vec::new(),
            });
        }
        let was_admin = user.role() == Role::Admin && user.status() == UserStatus::Active;
        let stays_admin = role == Role::Admin && status == UserStatus::Active;
        if was_admin && !stays_admin && !admins.iter().any(|admin| *admin != id) {
            return Err(ApiError::Conflict {
                detail: "this is the last admin who can sign in: make another admin first".into(),
                errors: Vec::new(),
            });
        }
        let user: User = diesel::update(users::table.find(id))
            .set((
                users::name.eq(changes.name.unwrap_or(user.name)),
                users::role.eq(changes.role.map_or(user.role, |r| r.as_str().to_owned())),
                users::author_id.eq(changes.author_id.unwrap_or(user.author_id)),
                users::status.eq(status.as_str()),
                users::updated_at.eq(Utc::now()),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await?;
        let disabled = changes.status == Some(UserStatus::Disabled);
        if disabled {
            end_everything(conn, &principal.actor, id).await?;
        }
        let action = if disabled {
            Action::Disabled
        } else {
            Action::Updated
        };
        record(conn, &principal.actor, id, action).await?;
        Ok(user)
    })
    .await
}

/// The active admins, locked in one order until the transaction ends.
async fn active_admins(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .order(users::id.asc())
        .select(users::id)
        .for_update()
        .load(conn)
        .await
}

/// What ends when a person is disabled: their sessions, their tokens (each revocation
/// recorded), and the preview links any of those made.
async fn end_everything(
    conn: &mut AsyncPgConnection,
    by: &Actor,
    id: Uuid,
) -> Result<(), ApiError> {
    use crate::db::schema::{preview_links, sessions as session_rows};
    sessions::end_all(conn, id).await?;
    let revoked: Vec<Uuid> = diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(Utc::now())))
    .returning(api_tokens::id)
    .get_results(conn)
    .await?;
    let their_sessions = session_rows::table
        .filter(session_rows::user_id.eq(id))
        .select(session_rows::id);
    let their_tokens = api_tokens::table
        .filter(api_tokens::user_id.eq(id))
        .select(api_tokens::id);
    diesel::delete(
        preview_links::table.filter(
            preview_links::created_by
                .eq_any(their_sessions.nullable())
                .or(preview_links::created_by.eq_any(their_tokens.nullable())),
        ),
    )
    .execute(conn)
    .await?;
    for token in revoked {
        crate::changes::record(
            conn,
            by,
            Change::new(Subject::Token(token), Action::Revoked),
        )
        .await?;
    }
    Ok(())
}

/// Ends every session of a person (admins, or the person): how many were live.
pub async fn end_sessions(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
) -> Result<usize, ApiError> {
    if principal.actor.user_id() != Some(id) {
        principal.require(ADMIN)?;
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        locked(conn, id).await?;
        let ended = sessions::end_all(conn, id).await?;
        record(conn, &principal.actor, id, Action::SignedOut).await?;
        Ok(ended)
    })
    .await
}
