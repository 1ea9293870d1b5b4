//! `/api/v1/auth`: accepting an invitation (or a reset link), asking for a reset link,
//! signing in and out with a session cookie, and who is calling.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::links::mail_later;
use super::model::UserResponse;
use super::{found, passwords, queries, sessions, sign_in, write};
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::auth::{Actor, Auth, Role, WRITERS};
use crate::http::body::JsonBody;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(accept_invitation)
        .service(request_reset)
        .service(create_session)
        .service(who_am_i)
        .service(end_session)
        .service(change_password);
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
        crate::rate_limits::count_within(&mut conn, &bucket, limit, RESET_WINDOW_SECS, || {
            format!(
                "at most {RESETS_PER_EMAIL} reset requests an hour for one email and \
                 {RESETS_PER_ADDRESS} from one address"
            )
        })
        .await?;
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
                mail_later(&state, link, "Someone");
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
pub(super) fn session_cookie(
    state: &AppState,
    value: String,
    max_age: chrono::TimeDelta,
) -> Cookie<'static> {
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
        return Err(ApiError::Unauthorized(sign_in::WRONG.into()));
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

/// A signed-in person's new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "tram lines at dusk", "new_password": "ferries before dawn"}))]
pub struct PasswordChange {
    /// The password they signed in with.
    #[schema(max_length = 256)]
    pub current_password: String,
    /// At least 12 characters, not a common password, nor the person's email or name.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// Change one's password
///
/// A signed-in person (a session, with its CSRF token): the current password must be right
/// (tries are limited per account). Their other sessions end; this one goes on. A token
/// cannot change a password (400).
#[utoipa::path(
    tag = "auth", operation_id = "change_password",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed"),
        (status = 429, description = "Too many tries", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds until another try is taken")))),
    security(("bearer" = []))
)]
#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    let (change, checks) = body.into_parts();
    checks.finish()?;
    write::change_password(
        &state.pool,
        principal,
        change.current_password,
        change.new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
