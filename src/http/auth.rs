//! Who calls: `Auth` reads the bearer token (one indexed lookup by its hash); handlers
//! say which roles may act with `auth.require(&[...])`, and pass the [`Principal`] on to
//! the write paths, which check again.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::auth::tokens;
use crate::error::ApiError;
pub use crate::principal::{ADMIN, ANY_ROLE, Principal, Role, STAFF};
use crate::state::AppState;

/// The caller: anonymous, or a principal. A token that is sent but not valid is a 401 on
/// every route, public ones included: a client with a broken token should hear about it.
#[derive(Clone)]
pub struct Auth(pub Option<Principal>);

/// A connection for a read without a token (a feed, the sitemap): the replica's while it
/// has every change this node has heard of (see `db::replica`), else the primary's.
pub async fn public_conn(state: &crate::state::AppState) -> Result<crate::db::Conn, ApiError> {
    match &state.replica {
        Some(replica) if state.cache.is_listening() && replica.is_fresh() => {
            // A replica out of reach: the primary answers.
            match crate::db::conn(&replica.pool).await {
                Ok(conn) => Ok(conn),
                Err(_) => crate::db::conn(&state.pool).await,
            }
        }
        _ => crate::db::conn(&state.pool).await,
    }
}

impl Auth {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }

    pub fn is_authenticated(&self) -> bool {
        self.0.is_some()
    }

    /// A connection for a read: the replica's for a public read while it has every change
    /// this node has heard of (see `db::replica`), else the primary's. Token holders read
    /// the primary: their own writes, at once.
    pub async fn read_conn(
        &self,
        state: &crate::state::AppState,
    ) -> Result<crate::db::Conn, ApiError> {
        if self.is_authenticated() {
            return crate::db::conn(&state.pool).await;
        }
        public_conn(state).await
    }

    /// The principal when its role is one of `roles`: 401 without a token, 403 otherwise.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        let principal = self.0.as_ref().ok_or_else(|| {
            ApiError::Unauthorized(
                "this request needs a token: send `Authorization: Bearer <token>`".into(),
            )
        })?;
        principal.require(roles)
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Read once, by `authenticate`, for every request; a handler reached some other way
        // (none is, in the app) reads the header itself.
        if let Some(auth) = req.extensions().get::<Auth>() {
            let auth = auth.clone();
            return Box::pin(async move { Ok(auth) });
        }
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move { resolve(header, state).await })
    }
}

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
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
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
    if header.is_some() {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        match resolve(header, state).await {
            Ok(auth) => {
                req.extensions_mut().insert(auth);
            }
            Err(error) => return Ok(req.error_response(error).map_into_boxed_body()),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
