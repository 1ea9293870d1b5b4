//! People: `/api/v1/users` (admins invite and manage people; a person reads and renames
//! themselves) and `/api/v1/auth` (accepting an invitation, signing in and out, who am I).
pub mod model;
pub mod passwords;
pub mod queries;
pub mod sessions;
pub mod sign_in;
pub mod write;

use std::sync::{Arc, Mutex};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{UserResponse, UserStatus};
use crate::error::ApiError;
use crate::http::auth::{ADMIN, Actor, Auth, Role, WRITERS};
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
        .service(accept_invitation)
        .service(request_reset)
        .service(create_session)
        .service(who_am_i)
        .service(end_session);
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

/// The page of the desk a link opens, its secret after `#` (never sent to a server in a
/// request line or a `Referer`).
/// Always at the configured public URL: never a host a request named (a forged
/// `X-Forwarded-Host` must not send a mailed secret to someone else's site).
fn link_url(state: &AppState, page: &str, secret: &str) -> String {
    format!(
        "{}/desk/{page}#token={secret}",
        state.origin.configured_base()
    )
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
    let admin_name = principal.actor.name.to_string();
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
                Some(key) => Some(
                    crate::authors::queries::find(conn, key)
                        .await?
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "author",
                                "not_found",
                                format!("no author with id or slug `{key}`"),
                            )
                        })?
                        .id,
                ),
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
                invitation_url: link_url(&shared, "accept", &link.secret),
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
        mail_later(&state, link, Mailing::Invitation(admin_name));
    }
    Ok(response)
}

/// What a mailed link is for.
enum Mailing {
    /// Invited by this person.
    Invitation(String),
    Reset,
}

impl Mailing {
    /// What a link to `user` is for: an invited person is invited again.
    fn of(user: &model::User, by: &str) -> (&'static str, Mailing) {
        match user.status() {
            UserStatus::Invited => ("accept", Mailing::Invitation(by.to_owned())),
            UserStatus::Active | UserStatus::Disabled => ("reset", Mailing::Reset),
        }
    }
}

/// Mails a committed link to its person in the background, when mail is configured (a mail
/// server's pace holds no request, connection or lock; a failure is logged).
fn mail_later(state: &web::Data<AppState>, link: write::Link, mailing: Mailing) {
    if state.mailer.is_none() {
        return;
    }
    let state = state.clone();
    crate::stopping::spawn(async move {
        let page = match mailing {
            Mailing::Invitation(_) => "accept",
            Mailing::Reset => "reset",
        };
        let url = link_url(&state, page, &link.secret);
        mail_link(&state, &link.user, mailing, &url, link.expires_at).await;
    });
}

/// Mails `url` to `user`; whether it was handed over.
async fn mail_link(
    state: &AppState,
    user: &model::User,
    mailing: Mailing,
    url: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(mailer) = &state.mailer else {
        return false;
    };
    let site = &state.site.name;
    let until = expires_at.format("%Y-%m-%d %H:%M UTC");
    let (subject, body) = match mailing {
        Mailing::Invitation(by) => (
            format!("You are invited to {site}"),
            format!(
                "Hello {},\n\n{by} invited you to {site}. Choose your password here (the link \
                 works once, until {until}):\n\n{url}\n",
                user.name
            ),
        ),
        Mailing::Reset => (
            format!("A new password for {site}"),
            format!(
                "Hello {},\n\nChoose a new password here (the link works once, until \
                 {until}; signing in with it ends your other sessions):\n\n{url}\n\n\
                 If you did not ask for this, ignore this message: your password stays.\n",
                user.name
            ),
        ),
    };
    mailer.send((&user.name, &user.email), &subject, body).await
}

/// The person `id` when the caller may see them: admins anyone, others themselves.
fn may_see(auth: &Auth, id: Uuid) -> Result<(), ApiError> {
    let principal = auth.require(WRITERS)?;
    if principal.actor.user_id() == Some(id) {
        return Ok(());
    }
    principal.require(ADMIN).map(|_| ())
}

async fn found(
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
            crate::authors::queries::find(&mut conn, key)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "author",
                        "not_found",
                        format!("no author with id or slug `{key}`"),
                    )
                })?
                .id,
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
    let (page, mailing) = Mailing::of(&link.user, &principal.actor.name);
    let answer = ResetLinkResponse {
        reset_url: link_url(&state, page, &link.secret),
        expires_at: link.expires_at.into(),
        mailed: state.mailer.is_some(),
        user: queries::show(&mut conn, link.user.clone()).await?,
    };
    mail_later(&state, link, mailing);
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

/// A password chosen with an invitation or reset link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Zk3q9XrT0bWm4Yp7Lc2Vd8Hs1Nf6Ga5Je3Qu0Ko9", "password": "tram lines at dusk"}))]
pub struct Acceptance {
    /// The secret after `#token=` in the link.
    #[schema(max_length = 100)]
    pub token: String,
    /// At least 12 characters, not a common password, nor the person's email or name.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// Accept an invitation (or a reset link)
///
/// Public: the link is the credential. Sets the password and makes the person active; a
/// link works once (a second use is a 404), and a reset ends the person's sessions. Then
/// sign in.
#[utoipa::path(
    tag = "auth", operation_id = "accept_invitation",
    request_body = Acceptance,
    responses((status = 200, description = "The person, now active", body = UserResponse),
        (status = 404, description = "The link is unknown, used or expired", body = crate::error::Problem, content_type = "application/problem+json")),
    security(())
)]
#[post("/auth/accept")]
async fn accept_invitation(
    state: web::Data<AppState>,
    body: JsonBody<Acceptance>,
) -> Result<HttpResponse, ApiError> {
    let (acceptance, checks) = body.into_parts();
    checks.finish()?;
    if acceptance.token.len() > 100 {
        return Err(ApiError::NotFound(write::USED_OR_EXPIRED.into()));
    }
    let mut conn = crate::db::conn(&state.pool).await?;
    let user = write::accept(&mut conn, &acceptance.token, acceptance.password).await?;
    Ok(HttpResponse::Ok().json(queries::show(&mut conn, user).await?))
}

/// Who forgot their password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ines@example.com"}))]
pub struct ResetRequest {
    #[schema(max_length = 254)]
    pub email: String,
}

/// What a reset request is told, whoever asked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "if a person with this email can sign in here, a link to choose a new password is on its way"}))]
pub struct ResetRequested {
    pub detail: &'static str,
}

const RESET_REQUESTED: &str =
    "if a person with this email can sign in here, a link to choose a new password is on its way";
/// Requests a minute: per email, and per address.
const RESETS_PER_EMAIL: i64 = 3;
const RESETS_PER_ADDRESS: i64 = 20;
const RESET_WINDOW_SECS: i64 = 3600;

/// Forgot my password
///
/// Public, when the server sends mail (`LEDE_SMTP_URL`; without it a 409: ask an admin for
/// a reset link). Mails a link to choose a new password to the person with this email, if
/// there is one who may sign in; the answer is the same 202 either way, so it tells no one
/// who has an account. At most 3 an hour per email and 20 per address (429).
#[utoipa::path(
    tag = "auth", operation_id = "request_password_reset",
    request_body = ResetRequest,
    responses((status = 202, description = "Taken (mailed when the person exists)", body = ResetRequested),
        (status = 429, description = "Too many requests for this email or from this address", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds to wait")))),
    security(())
)]
#[post("/auth/reset")]
async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let (asked, checks) = body.into_parts();
    checks.finish()?;
    if state.mailer.is_none() {
        return Err(ApiError::Conflict {
            detail: "this site sends no mail (LEDE_SMTP_URL is not set): ask an admin for a \
                     reset link"
                .into(),
            errors: Vec::new(),
        });
    }
    let email = asked.email.trim().to_lowercase();
    let address = crate::rate_limits::sender(&state.origin.client_ip(&req));
    let mut conn = crate::db::conn(&state.pool).await?;
    for (bucket, limit) in [
        (format!("reset:email:{email}"), RESETS_PER_EMAIL),
        (format!("reset:address:{address}"), RESETS_PER_ADDRESS),
    ] {
        let counted = crate::rate_limits::count_in(&mut conn, &bucket, RESET_WINDOW_SECS).await?;
        if i64::from(counted.count) > limit {
            let ends = counted.window_start + chrono::TimeDelta::seconds(RESET_WINDOW_SECS);
            return Err(ApiError::TooManyRequests {
                detail: format!(
                    "at most {RESETS_PER_EMAIL} reset requests an hour for one email and \
                     {RESETS_PER_ADDRESS} from one address"
                ),
                retry_after: (ends - chrono::Utc::now()).num_seconds().max(1) as u64,
            });
        }
    }
    drop(conn);
    // Looked up, made and mailed away from the answer: its time tells no one whether the
    // email has an account. Earlier links stay good (a stranger's request cancels none).
    let state = state.clone();
    crate::stopping::spawn(async move {
        let made = async {
            let mut conn = crate::db::conn(&state.pool).await?;
            let Some(person) = queries::by_email(&mut conn, &email).await? else {
                return Ok(None);
            };
            write::requested_reset_link(&mut conn, person.id).await
        };
        match made.await {
            Ok(Some(link)) => {
                let (_, mailing) = Mailing::of(&link.user, "Someone");
                mail_later(&state, link, mailing);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "a requested reset link could not be made"),
        }
    });
    Ok(HttpResponse::Accepted().json(ResetRequested {
        detail: RESET_REQUESTED,
    }))
}

/// An email and a password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ines@example.com", "password": "tram lines at dusk"}))]
pub struct Credentials {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 256)]
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "email": "ines@example.com", "name": "Ines Marchetti",
             "role": "author", "author": null, "status": "active", "created_at": "2026-12-01T09:30:00Z", "last_seen_at": "2026-12-07T09:30:00Z"},
    "expires_at": "2027-01-06T09:30:00Z",
    "csrf_token": "p0Vd8Hs1Nf6Ga5Je3Qu0Ko9Zk3q9XrT0bWm4Yp7L"
}))]
pub struct SessionResponse {
    pub user: UserResponse,
    /// When the session ends however much it is used (30 days); unused for 12 hours, it
    /// ends sooner.
    pub expires_at: Timestamp,
    /// Send it as `X-CSRF-Token` with every request that changes anything while signed in
    /// by the cookie.
    pub csrf_token: String,
}

/// The session cookie: `HttpOnly`, `SameSite=Lax`, `Secure` when the public URL is https.
fn session_cookie(state: &AppState, value: String, max_age: chrono::TimeDelta) -> Cookie<'static> {
    Cookie::build(sessions::COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.origin.configured_base().starts_with("https://"))
        .max_age(actix_web::cookie::time::Duration::seconds(
            max_age.num_seconds(),
        ))
        .finish()
}

/// Sign in
///
/// Public. Answers 201 with the person, the session's CSRF token and a session cookie
/// (`lede_session`: `HttpOnly`, `SameSite=Lax`, `Secure` when the public URL is https).
/// A wrong email and a wrong password are the same 401. Attempts are counted per account
/// (10 a minute) and per address (50 a minute): past a few they are slowed, past the limit
/// refused with 429 and `Retry-After`, right password or not.
#[utoipa::path(
    tag = "auth", operation_id = "sign_in",
    request_body = Credentials,
    responses((status = 201, description = "Signed in", body = SessionResponse,
        headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 429, description = "Too many attempts on this account or from this address; retry after `Retry-After` seconds", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds until the attempts are counted afresh")))),
    security(())
)]
#[post("/auth/sessions")]
async fn create_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let (credentials, checks) = body.into_parts();
    checks.finish()?;
    if credentials.email.len() > 254 || credentials.password.len() > passwords::MAX_CHARS * 4 {
        return Err(ApiError::Unauthorized(
            "the email or the password is wrong".into(),
        ));
    }
    let address = state.origin.client_ip(&req);
    let (user, started) = sign_in::sign_in(
        &state.pool,
        &credentials.email,
        credentials.password,
        &address,
    )
    .await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let answer = SessionResponse {
        user: queries::show(&mut conn, user).await?,
        expires_at: started.expires_at.into(),
        csrf_token: started.csrf_token,
    };
    Ok(HttpResponse::Created()
        .cookie(session_cookie(&state, started.secret, sessions::ABSOLUTE))
        .json(answer))
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "actor": {"kind": "user", "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Ines Marchetti"},
    "role": "author", "author_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "via": "session",
    "user": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "email": "ines@example.com", "name": "Ines Marchetti",
             "role": "author", "author": null, "status": "active", "created_at": "2026-12-01T09:30:00Z", "last_seen_at": "2026-12-07T09:30:00Z"}
}))]
pub struct Me {
    /// As the activity log names them.
    pub actor: Actor,
    /// What they may do now (a token's: the lower of its own and its person's).
    pub role: Role,
    /// The byline an author or contributor writes as.
    #[schema(required = true)]
    pub author_id: Option<Uuid>,
    /// `token` or `session`.
    #[schema(example = "session")]
    pub via: &'static str,
    /// The person, when a person calls (a service token belongs to no one).
    #[schema(required = true)]
    pub user: Option<UserResponse>,
}

/// Who am I
///
/// Anyone signed in or with a token: the caller as lede sees them.
#[utoipa::path(
    tag = "auth", operation_id = "who_am_i",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = []))
)]
#[get("/auth/me")]
async fn who_am_i(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let user = match principal.actor.user_id() {
        Some(id) => {
            let user = found(&mut conn, id).await?;
            Some(queries::show(&mut conn, user).await?)
        }
        None => None,
    };
    let via = if auth.via_session() {
        "session"
    } else {
        "token"
    };
    let me = Me {
        actor: principal.actor.clone(),
        role: principal.role,
        author_id: principal.author_id,
        via,
        user,
    };
    let _ = req;
    Ok(HttpResponse::Ok().json(me))
}

/// Sign out
///
/// Ends the session the cookie names and clears the cookie (signed in by the cookie; with
/// a token it is a 400: tokens are revoked instead).
#[utoipa::path(
    tag = "auth", operation_id = "sign_out",
    responses((status = 204, description = "Signed out; the cookie is cleared")),
    security(("bearer" = []))
)]
#[delete("/auth/sessions/current")]
async fn end_session(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    if !auth.via_session() {
        return Err(ApiError::BadRequest(
            "signing out ends a session: this request came with a token (revoke it instead)".into(),
        ));
    }
    let mut conn = crate::db::conn(&state.pool).await?;
    sessions::end(&mut conn, principal.token_id).await?;
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(
            &state,
            String::new(),
            chrono::TimeDelta::zero(),
        ))
        .finish())
}
