//! Who calls: every request's bearer token, or else its session cookie, is read here,
//! before anything answers it. A write signed in by the cookie must carry the session's
//! CSRF token.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use super::tokens;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::state::AppState;

/// The caller a request's `Authorization` header names: anonymous without one, a 401 for
/// one that is not a valid, unrevoked bearer token.
async fn resolve(
    header: Option<header::HeaderValue>,
    state: Option<web::Data<AppState>>,
) -> Result<Auth, ApiError> {
    let Some(header) = header else {
        return Ok(Auth(None));
    };
    let secret = header
        .to_str()
        .ok()
        .and_then(crate::http::auth::bearer_secret)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?
        .to_owned();
    let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let mut conn = crate::db::conn(&state.pool).await?;
    match tokens::find_active(&mut conn, &secret).await? {
        Some(principal) => Ok(Auth(Some(principal))),
        None => Err(ApiError::Unauthorized(
            "the token is not valid (unknown or revoked)".into(),
        )),
    }
}

/// Middleware: reads the bearer token of every request before anything answers it, so a
/// token that is sent but not valid is a 401 on every route (feeds, previews, the sitemap,
/// health and docs included), not only on those whose handlers ask who is calling. The
/// caller is left in the request for the `Auth` extractor: one lookup per request.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let header = req.headers().get(header::AUTHORIZATION).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // With `LEDE_METRICS_TOKEN` set, `/metrics` reads its own secret, not an API token.
    let metrics_secret =
        req.path() == "/metrics" && state.as_ref().is_some_and(|s| s.metrics_token.is_some());
    if header.is_some() && !metrics_secret {
        match resolve(header, state).await {
            Ok(auth) => {
                req.extensions_mut().insert(auth);
            }
            Err(error) => return Ok(req.error_response(error).map_into_boxed_body()),
        }
    } else if header.is_none()
        && let Some(cookie) = req.cookie(crate::users::sessions::COOKIE)
        && !SIGNING_IN.contains(&req.path())
    {
        match session(cookie.value(), state, &req).await {
            Ok(Some(auth)) => {
                req.extensions_mut().insert(auth);
            }
            // Ended or expired: the request is anonymous (a public read still answers).
            Ok(None) => {}
            Err(error) => return Ok(req.error_response(error).map_into_boxed_body()),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Where a session cookie is not read: signing in and accepting an invitation are
/// anonymous, whoever was signed in before.
const SIGNING_IN: &[&str] = &[
    "/api/v1/auth/sessions",
    "/api/v1/auth/accept",
    "/api/v1/auth/reset",
];

pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller a live session cookie names; a write must also send the session's CSRF token
/// (a page on another site can make the browser send the cookie, never the token).
async fn session(
    secret: &str,
    state: Option<web::Data<AppState>>,
    req: &ServiceRequest,
) -> Result<Option<Auth>, ApiError> {
    let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let Some(resolved) = crate::users::sessions::resolve(&mut conn, secret).await? else {
        return Ok(None);
    };
    let reads = matches!(
        *req.method(),
        actix_web::http::Method::GET
            | actix_web::http::Method::HEAD
            | actix_web::http::Method::OPTIONS
    );
    req.extensions_mut()
        .insert(crate::http::auth::SessionCsrf(resolved.csrf_token.clone()));
    // The desk's forms send the token as a field, which the desk checks before any handler
    // runs (its `Posted` extractor); every write a desk page makes is an API request,
    // checked here again.
    let desk = req.path() == "/desk" || req.path().starts_with("/desk/");
    if !reads && !desk {
        use crate::http::auth::hash_secret;
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        // Compared as hashes: no comparison takes time by what matches.
        if sent.map(hash_secret) != Some(hash_secret(&resolved.csrf_token)) {
            return Err(ApiError::Forbidden(format!(
                "a write signed in by the session cookie must send the session's CSRF token \
                 as `{CSRF_HEADER}` (it came with the sign-in's answer)"
            )));
        }
    }
    Ok(Some(Auth(Some(resolved.principal))))
}
