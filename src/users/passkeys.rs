//! Passkeys (WebAuthn): a signed-in person adds some (and removes them) and signs in with one
//! instead of a password. The checks are `webauthn-rs`'s. A ceremony's state is kept in
//! Postgres between its two requests, so any node finishes what another began, once, within
//! five minutes. Sign-in is discoverable: the browser offers the passkeys it holds for this
//! site, so nothing tells a stranger who has an account.
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use super::model::{User, UserStatus};
use super::signing::{SessionResponse, session_cookie};
use super::{queries, sessions};
use crate::changes::{Action, Change, Subject};
use crate::db::schema::{passkey_ceremonies, passkeys, users};
use crate::error::{ApiError, OnConstraint};
use crate::http::Timestamp;
use crate::http::auth::{Auth, Principal, WRITERS};
use crate::http::body::JsonBody;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(begin_passkey_registration)
        .service(add_passkey)
        .service(list_passkeys)
        .service(delete_passkey)
        .service(begin_passkey_sign_in)
        .service(sign_in_with_passkey);
}

/// How long a ceremony may take between its two requests.
const CEREMONY: TimeDelta = TimeDelta::minutes(5);
/// The most passkeys one person keeps.
const MOST: i64 = 20;
/// Sign-in ceremonies begun from one address in a minute.
const SIGN_INS_PER_ADDRESS: i64 = 30;
const REGISTER: &str = "register";
const SIGN_IN: &str = "sign_in";

/// A passkey as its person sees it (the key itself stays on their device).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Laptop",
    "created_at": "2026-12-07T10:00:00Z", "last_used_at": null}))]
pub struct PasskeyResponse {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    #[schema(required = true)]
    pub last_used_at: Option<Timestamp>,
}

/// A ceremony begun: pass `options` to the browser (`navigator.credentials.create` or
/// `.get`, with its binary fields base64url-decoded), and its answer back with `ceremony`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ceremony": "01932c4e-aaaa-7bbb-8ccc-0123456789ab",
    "options": {"publicKey": {"challenge": "q0b4...", "rpId": "news.example.com"}}}))]
pub struct CeremonyResponse {
    pub ceremony: Uuid,
    /// WebAuthn's `PublicKeyCredentialCreationOptions` or `...RequestOptions`, as JSON
    /// (binary fields base64url), under `publicKey`.
    #[schema(value_type = Object)]
    pub options: Value,
}

/// A new passkey: the browser's answer to a registration ceremony.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ceremony": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Laptop",
    "credential": {"id": "...", "rawId": "...", "type": "public-key", "response": {}}}))]
pub struct NewPasskey {
    pub ceremony: Uuid,
    /// What the person calls it, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The `PublicKeyCredential` `navigator.credentials.create` gave, as JSON (binary
    /// fields base64url).
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// Signing in: the browser's answer to a sign-in ceremony.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ceremony": "01932c4e-aaaa-7bbb-8ccc-0123456789ab",
    "credential": {"id": "...", "rawId": "...", "type": "public-key", "response": {}}}))]
pub struct PasskeySignIn {
    pub ceremony: Uuid,
    /// The `PublicKeyCredential` `navigator.credentials.get` gave, as JSON.
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// The relying party this request's browser talks to: lede's public URL, or without one the
/// host the request was sent to (`http://localhost:8080` while developing; a passkey cannot
/// belong to a bare IP address).
fn relying_party(state: &AppState, req: &HttpRequest) -> Result<Webauthn, ApiError> {
    let base = match req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) if !state.origin.is_configured() => format!("http://{host}"),
        _ => state.origin.base(req),
    };
    let refused = |why: String| {
        ApiError::BadRequest(format!(
            "passkeys cannot be used at {base}: {why} (set LEDE_PUBLIC_URL to the site's \
             https address; locally, open lede at http://localhost)"
        ))
    };
    let origin = Url::parse(&base).map_err(|e| refused(e.to_string()))?;
    let rp_id = origin
        .domain()
        .ok_or_else(|| refused("its host is not a domain name".into()))?
        .to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .map(|builder| builder.rp_name("lede"))
        .and_then(WebauthnBuilder::build)
        .map_err(|e| refused(e.to_string()))
}

/// The person behind a session (passkeys are a browser's, not a token's).
fn session_person(principal: &Principal) -> Result<Uuid, ApiError> {
    principal
        .actor
        .user_id()
        .filter(|_| principal.via_session)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "passkeys are managed from a signed-in session, not with a token".into(),
            )
        })
}

fn too_many() -> ApiError {
    ApiError::Conflict {
        detail: format!("you have {MOST} passkeys: remove one first"),
        errors: Vec::new(),
    }
}

fn unverified(error: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(
        "credential",
        "not_verified",
        format!("the browser's answer could not be verified: {error}"),
    )
}

/// Keeps a ceremony's state for its second request (and forgets ceremonies that ran out).
async fn begin(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    purpose: &str,
    state: &impl Serialize,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    let state = serde_json::to_value(state).map_err(|e| ApiError::Internal(e.to_string()))?;
    diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::expires_at.lt(Utc::now())))
        .execute(conn)
        .await?;
    diesel::insert_into(passkey_ceremonies::table)
        .values((
            passkey_ceremonies::id.eq(id),
            passkey_ceremonies::user_id.eq(user_id),
            passkey_ceremonies::purpose.eq(purpose),
            passkey_ceremonies::state.eq(state),
            passkey_ceremonies::expires_at.eq(Utc::now() + CEREMONY),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Takes a ceremony's state, once: of two answers to one challenge, one finds it gone.
async fn take<T: serde::de::DeserializeOwned>(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user_id: Option<Uuid>,
    purpose: &str,
) -> Result<T, ApiError> {
    let gone = || {
        ApiError::NotFound("this passkey ceremony is unknown, used or expired: begin again".into())
    };
    let state: Value = diesel::delete(
        passkey_ceremonies::table
            .filter(passkey_ceremonies::id.eq(id))
            .filter(passkey_ceremonies::purpose.eq(purpose))
            .filter(passkey_ceremonies::user_id.is_not_distinct_from(user_id))
            .filter(passkey_ceremonies::expires_at.gt(Utc::now())),
    )
    .returning(passkey_ceremonies::state)
    .get_result(conn)
    .await
    .optional()?
    .ok_or_else(gone)?;
    serde_json::from_value(state).map_err(|_| gone())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = passkeys)]
struct PasskeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    credential: Value,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl PasskeyRow {
    fn view(&self) -> PasskeyResponse {
        PasskeyResponse {
            id: self.id,
            name: self.name.clone(),
            created_at: self.created_at.into(),
            last_used_at: self.last_used_at.map(Into::into),
        }
    }

    fn key(&self) -> Result<Passkey, ApiError> {
        serde_json::from_value(self.credential.clone())
            .map_err(|e| ApiError::Internal(format!("a stored passkey cannot be read: {e}")))
    }
}

async fn of_person(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::created_at.asc())
        .select(PasskeyRow::as_select())
        .load(conn)
        .await
}

/// The person, held (`FOR UPDATE`) while their passkeys are counted and changed.
pub async fn lock_person(conn: &mut AsyncPgConnection, user_id: Uuid) -> Result<User, ApiError> {
    users::table
        .find(user_id)
        .select(User::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::Unauthorized("sign in again".into()))
}

/// Whether the person has a passkey.
pub async fn has_passkey(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        passkeys::table.filter(passkeys::user_id.eq(user_id)),
    ))
    .get_result(conn)
    .await
}

/// Begin adding a passkey
///
/// A signed-in person (a session, with its CSRF token). Answers the options to pass to
/// `navigator.credentials.create`; send its answer to `POST /api/v1/auth/passkeys` within
/// five minutes. The passkey is made discoverable, so the person signs in with it without
/// typing their email. At most 20 passkeys a person (409).
#[utoipa::path(
    tag = "auth", operation_id = "begin_passkey_registration",
    responses((status = 200, description = "The ceremony begun", body = CeremonyResponse),
        (status = 409, description = "The person has 20 passkeys already", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/auth/passkeys/registrations")]
async fn begin_passkey_registration(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let user_id = session_person(auth.require(WRITERS)?)?;
    let rp = relying_party(&state, &req)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let user = queries::find(&mut conn, user_id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("sign in again".into()))?;
    let existing = of_person(&mut conn, user_id).await?;
    if existing.len() as i64 >= MOST {
        return Err(too_many());
    }
    let exclude = existing
        .iter()
        .map(|row| row.key().map(|key| key.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (challenge, registration) = rp
        .start_passkey_registration(user.id, &user.email, &user.name, Some(exclude))
        .map_err(|e| ApiError::Internal(format!("a passkey ceremony could not begin: {e}")))?;
    let mut options =
        serde_json::to_value(&challenge).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Kept on the device (discoverable), so signing in needs no email first.
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
    // One open at a time per person: beginning again ends the one before (the person held,
    // so two beginnings at once leave one).
    let ceremony = conn
        .transaction::<_, ApiError, _>(async |conn| {
            lock_person(conn, user_id).await?;
            diesel::delete(
                passkey_ceremonies::table
                    .filter(passkey_ceremonies::user_id.eq(user_id))
                    .filter(passkey_ceremonies::purpose.eq(REGISTER)),
            )
            .execute(conn)
            .await?;
            begin(conn, Some(user_id), REGISTER, &registration).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(CeremonyResponse { ceremony, options }))
}

/// Add a passkey
///
/// A signed-in person: the browser's answer to the ceremony begun by
/// `POST /api/v1/auth/passkeys/registrations`, and a name for the passkey. A ceremony is
/// used once (a second answer is a 404).
#[utoipa::path(
    tag = "auth", operation_id = "add_passkey",
    request_body = NewPasskey,
    responses((status = 201, description = "Added", body = PasskeyResponse),
        (status = 404, description = "The ceremony is unknown, used or expired", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This passkey is already added", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/auth/passkeys")]
async fn add_passkey(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewPasskey>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    let user_id = session_person(principal)?;
    let (new, mut checks) = body.into_parts();
    let name = checks.text("name", &new.name, 100);
    checks.finish()?;
    let rp = relying_party(&state, &req)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    // Taken in a statement of its own: an answer that is refused has used it up too.
    let registration: PasskeyRegistration =
        take(&mut conn, new.ceremony, Some(user_id), REGISTER).await?;
    // Checked outside any transaction (it is CPU work).
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(new.credential).map_err(unverified)?;
    let passkey = rp
        .finish_passkey_registration(&credential, &registration)
        .map_err(unverified)?;
    let stored = serde_json::to_value(&passkey).map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // The person held while counting: two additions at once cannot pass the limit.
            lock_person(conn, user_id).await?;
            let kept: i64 = passkeys::table
                .filter(passkeys::user_id.eq(user_id))
                .count()
                .get_result(conn)
                .await?;
            if kept >= MOST {
                return Err(too_many());
            }
            let row = diesel::insert_into(passkeys::table)
                .values((
                    passkeys::id.eq(Uuid::now_v7()),
                    passkeys::user_id.eq(user_id),
                    passkeys::credential_id.eq(passkey.cred_id().to_vec()),
                    passkeys::name.eq(&name),
                    passkeys::credential.eq(stored),
                ))
                .returning(PasskeyRow::as_returning())
                .get_result(conn)
                .await
                .on_unique(&[("passkeys_credential_id_key", "credential")])?;
            let change = Change::new(Subject::User(user_id), Action::Updated);
            crate::changes::record(conn, &principal.actor, change).await?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(row.view()))
}

/// List one's passkeys
///
/// A signed-in person: their own passkeys, oldest first.
#[utoipa::path(
    tag = "auth", operation_id = "list_passkeys",
    responses((status = 200, description = "Their passkeys", body = Vec<PasskeyResponse>)),
    security(("bearer" = []))
)]
#[get("/auth/passkeys")]
async fn list_passkeys(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let user_id = session_person(auth.require(WRITERS)?)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let rows = of_person(&mut conn, user_id).await?;
    let views: Vec<PasskeyResponse> = rows.iter().map(PasskeyRow::view).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Remove a passkey
///
/// A signed-in person, one of their own. An admin's last passkey stays while admins must
/// sign in with one (409).
#[utoipa::path(
    tag = "auth", operation_id = "delete_passkey",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such passkey of theirs", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin's last passkey while admins need one", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/auth/passkeys/{id}")]
async fn delete_passkey(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    let user_id = session_person(principal)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Held while counting: two removals at once cannot both take the last one.
        let person = lock_person(conn, user_id).await?;
        let keys = of_person(conn, user_id).await?;
        if !keys.iter().any(|row| row.id == *id) {
            return Err(ApiError::NotFound(format!("you have no passkey `{id}`")));
        }
        let admin = person.role() == crate::principal::Role::Admin;
        if admin && keys.len() == 1 && crate::settings::admins_need_passkeys(conn).await? {
            return Err(ApiError::Conflict {
                detail: "admins sign in with a passkey here: add another before removing \
                         your last"
                    .into(),
                errors: Vec::new(),
            });
        }
        diesel::delete(passkeys::table.find(*id))
            .execute(conn)
            .await?;
        let change = Change::new(Subject::User(user_id), Action::Updated);
        crate::changes::record(conn, &principal.actor, change).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Begin signing in with a passkey
///
/// Public. Answers the options to pass to `navigator.credentials.get` (the browser offers
/// the passkeys it holds for this site); send its answer to
/// `POST /api/v1/auth/passkey-sessions` within five minutes. At most 30 a minute from one
/// address (429).
#[utoipa::path(
    tag = "auth", operation_id = "begin_passkey_sign_in",
    responses((status = 200, description = "The ceremony begun", body = CeremonyResponse),
        (status = 429, description = "Too many from this address", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds to wait")))),
    security(())
)]
#[post("/auth/passkey-challenges")]
async fn begin_passkey_sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rp = relying_party(&state, &req)?;
    let address = state.origin.client_ip(&req);
    let mut conn = crate::db::conn(&state.pool).await?;
    let bucket = format!("passkey:address:{}", crate::rate_limits::sender(&address));
    crate::rate_limits::count_within(&mut conn, &bucket, SIGN_INS_PER_ADDRESS, 60, || {
        format!("at most {SIGN_INS_PER_ADDRESS} passkey sign-ins a minute from one address")
    })
    .await?;
    let (challenge, authentication) = rp
        .start_discoverable_authentication()
        .map_err(|e| ApiError::Internal(format!("a passkey ceremony could not begin: {e}")))?;
    let mut options =
        serde_json::to_value(&challenge).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Asked for by a button, not offered in the email field's autofill.
    if let Some(options) = options.as_object_mut() {
        options.remove("mediation");
    }
    let ceremony = begin(&mut conn, None, SIGN_IN, &authentication).await?;
    Ok(HttpResponse::Ok().json(CeremonyResponse { ceremony, options }))
}

/// Sign in with a passkey
///
/// Public: the browser's answer to the ceremony begun by
/// `POST /api/v1/auth/passkey-challenges`. Answers like `POST /api/v1/auth/sessions`: 201
/// with the person, the session's CSRF token and the session cookie. A passkey that is not
/// known here, or a person who may not sign in, is a 401.
#[utoipa::path(
    tag = "auth", operation_id = "sign_in_with_passkey",
    request_body = PasskeySignIn,
    responses((status = 201, description = "Signed in", body = SessionResponse,
        headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 404, description = "The ceremony is unknown, used or expired", body = crate::error::Problem, content_type = "application/problem+json")),
    security(())
)]
#[post("/auth/passkey-sessions")]
async fn sign_in_with_passkey(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<PasskeySignIn>,
) -> Result<HttpResponse, ApiError> {
    let (answer, checks) = body.into_parts();
    checks.finish()?;
    let rp = relying_party(&state, &req)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let authentication: DiscoverableAuthentication =
        take(&mut conn, answer.ceremony, None, SIGN_IN).await?;
    let credential: PublicKeyCredential =
        serde_json::from_value(answer.credential).map_err(unverified)?;
    let unknown = || ApiError::Unauthorized("this passkey is not one of this site's".into());
    let (user_id, credential_id) = rp
        .identify_discoverable_authentication(&credential)
        .map_err(|_| unknown())?;
    let row: PasskeyRow = passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .filter(passkeys::user_id.eq(user_id))
        .select(PasskeyRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(unknown)?;
    let mut key = row.key()?;
    let result = rp
        .finish_discoverable_authentication_v2(&credential, authentication, &key)
        .map_err(|_| unknown())?;
    let counted = key.update_credential(&result).unwrap_or(false);
    let stored = serde_json::to_value(&key).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (user, started): (User, sessions::Started) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Held (shared) while the session is made, as a password sign-in does.
            let user = match queries::lock_shared(conn, row.user_id).await? {
                Some(user) if user.status() == UserStatus::Active => user,
                _ => return Err(unknown()),
            };
            // The signature counter moved: kept, so a cloned key shows. Written only over
            // what was checked: of two sign-ins with one counter, one finds it changed.
            let credential = if counted {
                stored
            } else {
                row.credential.clone()
            };
            let written = diesel::update(
                passkeys::table
                    .find(row.id)
                    .filter(passkeys::credential.eq(&row.credential)),
            )
            .set((
                passkeys::last_used_at.eq(Some(Utc::now())),
                passkeys::credential.eq(credential),
            ))
            .execute(conn)
            .await?;
            if written == 0 {
                return Err(ApiError::Unauthorized(
                    "this passkey was used at the same moment elsewhere: sign in again".into(),
                ));
            }
            let started = sessions::start(conn, user.id).await?;
            Ok((user, started))
        })
        .await?;
    let answer = SessionResponse {
        user: queries::show(&mut conn, user).await?,
        expires_at: started.expires_at.into(),
        csrf_token: started.csrf_token,
    };
    Ok(HttpResponse::Created()
        .cookie(session_cookie(&state, started.secret, sessions::ABSOLUTE))
        .json(answer))
}
