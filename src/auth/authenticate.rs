//! Who calls: every request's bearer token is read here, before anything answers it.
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
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
