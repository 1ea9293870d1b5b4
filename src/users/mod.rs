//! People: `/api/v1/users` (admins invite and manage people; a person reads and renames
//! themselves). `/api/v1/auth` (accepting an invitation, signing in and out, who am I) is
//! in `signing`; the one write path for people in `write`.
mod links;
pub mod model;
pub mod passkeys;
pub mod passwords;
pub mod queries;
pub mod sessions;
pub mod sign_in;
pub mod signing;
pub mod write;

use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::links::{link_url, mail_later};
use self::model::{UserResponse, UserStatus};
use crate::error::ApiError;
use crate::http::auth::{ADMIN, Auth, Role, WRITERS};
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::{fresh, ok};
use crate::http::{Timestamp, base_url, patch_field};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(invite_user)
        .service(find_user)
        .service(update_user)
        .service(create_reset_link)
        .service(end_user_sessions)
        .configure(signing::configure)
        .configure(passkeys::configure);
}

/// A new person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ines@example.com", "name": "Ines Marchetti", "role": "author", "author": "ines-marchetti"}))]
pub struct NewInvitation {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// How the desk names them, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    pub role: Role,
    /// Id or slug of the byline they write under (authors and contributors write only as it).
    pub author: Option<String>,
}

/// An invitation or reset link, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "email": "ines@example.com", "name": "Ines Marchetti",
             "role": "author", "author": null, "status": "invited", "created_at": "2026-12-07T09:30:00Z", "last_seen_at": null},
    "invitation_url": "https://api.example.com/desk/accept#token=Zk3q9XrT0bWm4Yp7Lc2Vd8Hs1Nf6Ga5Je3Qu0Ko9",
    "expires_at": "2026-12-14T09:30:00Z", "mailed": false
}))]
pub struct InvitationResponse {
    pub user: UserResponse,
    /// The page where they choose a password. Shown only in this answer; it works once,
    /// until `expires_at`. Its secret goes to `POST /api/v1/auth/accept` as `token`.
    pub invitation_url: String,
    pub expires_at: Timestamp,
    /// Whether it is being mailed to them too (`LEDE_SMTP_URL` is set; a failure to send
    /// is logged).
    pub mailed: bool,
}

impl crate::http::cache::Shows for InvitationResponse {}
impl crate::http::response::Versioned for InvitationResponse {
    fn version(&self) -> String {
        crate::http::response::Versioned::version(&self.user)
    }
}

/// List people
///
/// Admins. Newest first (or `sort=name`).
#[utoipa::path(
    tag = "people", operation_id = "list_users",
    params(PageParams),
    responses((status = 200, description = "A page of people", body = ListResponse<UserResponse>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "People in the whole list"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let sort = pagination.sort(&queries::SORTS, "-created_at")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let loaded = queries::list(&mut conn, &pagination, &sort).await?;
    let bylines = queries::bylines(&mut conn, &loaded.rows).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        |u| u.id,
        |u| {
            let author = u.author_id.and_then(|id| bylines.get(&id).cloned());
            UserResponse::new(u, author)
        },
    )
}

/// Invite a person
///
/// Admins. Makes the person (`invited`) and a link, shown once and working for 7 days,
/// where they choose a password. With `LEDE_SMTP_URL` set it is also mailed to them
/// (`mailed`); else hand it over. `lede users invite` prints one too. An email that is
/// taken is a 409.
#[utoipa::path(
    tag = "people", operation_id = "invite_user",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer (without the link, and mailing nothing again), marked `Idempotent-Replayed: true`")),
    request_body = NewInvitation,
    responses((status = 201, description = "Invited; `invitation_url` is shown only here", body = InvitationResponse,
        headers(("Location" = String, description = "URL of the person")))),
    security(("bearer" = []))
)]
#[post("/users/invitations")]
async fn invite_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewInvitation>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ADMIN)?.clone();
    let invited_by = principal.actor.name.to_string();
    let (new, mut checks) = body.into_parts();
    let name = checks.text("name", &new.name, 100);
    let email = checks.email("email", Some(&new.email));
    if email.is_none() {
        checks.fail("email", "required", "email must not be empty");
    }
    if let Some(author) = &new.author {
        checks.key("author", author);
    }
    checks.finish()?;
    let location_base = base_url(&req);
    // What to mail once the invitation has committed (never from inside its transaction,
    // never on a replay).
    let to_mail: Arc<Mutex<Option<write::Link>>> = Arc::default();
    let made = to_mail.clone();
    let mailing = state.mailer.is_some();
    let shared = state.clone();
    let response = idempotency::once(
        &req,
        &state.pool,
        Some(principal.token_id),
        async move |conn| {
            let author_id = match &new.author {
                Some(key) => Some(crate::authors::queries::id_named(conn, key).await?),
                None => None,
            };
            let invitation = write::Invitation {
                email: email.unwrap_or_default(),
                name,
                role: new.role,
                author_id,
            };
            let link = write::invite(conn, &principal, invitation).await?;
            let user = queries::show(conn, link.user.clone()).await?;
            let answer = InvitationResponse {
                invitation_url: link_url(&shared, &link),
                expires_at: link.expires_at.into(),
                mailed: mailing,
                user: user.clone(),
            };
            let location = format!("{location_base}/api/v1/users/{}", user.id);
            if let Ok(mut made) = made.lock() {
                *made = Some(link);
            }
            // The link is shown once: a replay answers the person alone.
            Created::new(location, &answer)?.replayed_as(&user)
        },
    )
    .await?;
    let link = to_mail.lock().ok().and_then(|mut made| made.take());
    if let Some(link) = link {
        mail_later(&state, link, &invited_by);
    }
    Ok(response)
}

/// The person `id` when the caller may see them: admins anyone, others themselves.
fn may_see(auth: &Auth, id: Uuid) -> Result<(), ApiError> {
    let principal = auth.require(WRITERS)?;
    if principal.actor.user_id() == Some(id) {
        return Ok(());
    }
    principal.require(ADMIN).map(|_| ())
}

pub(super) async fn found(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<model::User, ApiError> {
    queries::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no person with id `{id}`")))
}

/// Get a person
///
/// Admins, or the person themselves.
#[utoipa::path(
    tag = "people", operation_id = "find_user",
    params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The person", body = UserResponse,
        headers(("ETag" = String, description = "Strong ETag of the person")))),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn find_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    may_see(&auth, *id)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let user = found(&mut conn, *id).await?;
    ok(&req, &queries::show(&mut conn, user).await?)
}

/// Changes to a person (JSON merge patch): absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "editor"}))]
pub struct UserChanges {
    /// Their own, or an admin's to change.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub name: Option<Option<String>>,
    /// Admins.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Role>)]
    pub role: Option<Option<Role>>,
    /// Admins: id or slug of their byline; `null` unlinks it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub author: Option<Option<String>>,
    /// Admins: `disabled` (they left: their sessions end and their tokens are revoked at
    /// once; their articles and history stay) or `active` again.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<UserStatus>)]
    pub status: Option<Option<UserStatus>>,
}

/// Change a person
///
/// A person may change their own `name`; admins also `role`, `author` and `status`.
/// Disabling ends the person's sessions and revokes their tokens in the same step: their
/// next request is a 401, on every node.
#[utoipa::path(
    tag = "people", operation_id = "update_user",
    params(("id" = Uuid, Path, description = "The person's id")),
    request_body(content = UserChanges, content_type = "application/json"),
    responses((status = 200, description = "The changed person", body = UserResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed person")))),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
async fn update_user(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: JsonBody<UserChanges>,
) -> Result<HttpResponse, ApiError> {
    may_see(&auth, *id)?;
    let principal = auth.require(WRITERS)?;
    let (changes, mut checks) = body.into_parts();
    let name = match changes.name {
        Some(Some(name)) => Some(checks.text("name", &name, 100)),
        Some(None) => {
            checks.fail("name", "required", "name must not be empty");
            None
        }
        None => None,
    };
    for (field, null) in [
        ("role", matches!(changes.role, Some(None))),
        ("status", matches!(changes.status, Some(None))),
    ] {
        if null {
            checks.fail(field, "required", format!("{field} cannot be null"));
        }
    }
    if let Some(Some(author)) = &changes.author {
        checks.key("author", author);
    }
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let author_id = match &changes.author {
        Some(Some(key)) => Some(Some(
            crate::authors::queries::id_named(&mut conn, key).await?,
        )),
        Some(None) => Some(None),
        None => None,
    };
    let changes = write::UserChanges {
        name,
        role: changes.role.flatten(),
        author_id,
        status: changes.status.flatten(),
    };
    let user = write::update(&mut conn, principal, *id, changes).await?;
    fresh(&queries::show(&mut conn, user).await?)
}

/// A password reset link, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "email": "ines@example.com", "name": "Ines Marchetti",
             "role": "author", "author": null, "status": "active", "created_at": "2026-12-01T09:30:00Z", "last_seen_at": null},
    "reset_url": "https://api.example.com/desk/reset#token=Zk3q9XrT0bWm4Yp7Lc2Vd8Hs1Nf6Ga5Je3Qu0Ko9",
    "expires_at": "2026-12-14T09:30:00Z", "mailed": false
}))]
pub struct ResetLinkResponse {
    pub user: UserResponse,
    /// The page where they choose a new password (an invited person's is a new
    /// invitation). Shown only here; works once, until `expires_at`; earlier unused links
    /// of the same kind stop working.
    pub reset_url: String,
    pub expires_at: Timestamp,
    /// Whether it is being mailed to them too (`LEDE_SMTP_URL` is set).
    pub mailed: bool,
}

/// Make a password reset link
///
/// Admins. Hand the link to the person; using it sets a new password and ends their
/// sessions.
#[utoipa::path(
    tag = "people", operation_id = "create_reset_link",
    params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The link, shown only here", body = ResetLinkResponse)),
    security(("bearer" = []))
)]
#[post("/users/{id}/reset-link")]
async fn create_reset_link(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ADMIN)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let link = write::reset_link(&mut conn, principal, *id).await?;
    let answer = ResetLinkResponse {
        reset_url: link_url(&state, &link),
        expires_at: link.expires_at.into(),
        mailed: state.mailer.is_some(),
        user: queries::show(&mut conn, link.user.clone()).await?,
    };
    mail_later(&state, link, &principal.actor.name);
    Ok(HttpResponse::Ok().json(answer))
}

/// End a person's sessions
///
/// Admins, or the person ("sign out everywhere"). Their tokens keep working (revoke those
/// separately, or disable the person).
#[utoipa::path(
    tag = "people", operation_id = "end_user_sessions",
    params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 204, description = "Every session of theirs has ended")),
    security(("bearer" = []))
)]
#[delete("/users/{id}/sessions")]
async fn end_user_sessions(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    may_see(&auth, *id)?;
    let principal = auth.require(WRITERS)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    write::end_sessions(&mut conn, principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
