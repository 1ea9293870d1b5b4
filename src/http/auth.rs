//! Who calls: `Auth`, the caller `auth::authenticate` read from the bearer token (one
//! indexed lookup by its hash). Handlers say which roles may act with
//! `auth.require(&[...])` and pass the [`Principal`] on to the write paths, which check again.
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::error::ApiError;
pub use crate::principal::{ADMIN, Actor, PUBLISHERS, Principal, Role, STAFF, WRITERS};

/// The caller: anonymous, or a principal. A token that is sent but not valid is a 401 on
/// every route, public ones included: a client with a broken token should hear about it.
#[derive(Clone)]
pub struct Auth(pub Option<Principal>);

/// The CSRF token of the session that signed a request in, for the desk's forms.
#[derive(Clone)]
pub struct SessionCsrf(pub String);

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

    /// Signed in by a session cookie.
    pub fn via_session(&self) -> bool {
        self.0.as_ref().is_some_and(|p| p.via_session)
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
    type Future = Ready<Result<Self, ApiError>>;

    /// The caller `auth::authenticate` read from the request's token (it runs before every
    /// handler): anonymous when none was sent, and a 401 for a token nothing checked.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = req.extensions().get::<Auth>().cloned();
        ready(match auth {
            Some(auth) => Ok(auth),
            None if req
                .headers()
                .contains_key(actix_web::http::header::AUTHORIZATION) =>
            {
                Err(ApiError::Unauthorized(
                    "the token could not be checked".into(),
                ))
            }
            None => Ok(Auth(None)),
        })
    }
}

/// The secret of an `Authorization` value `Bearer <secret>`: the scheme in any case, the
/// secret trimmed; `None` for another scheme or an empty secret.
pub fn bearer_secret(value: &str) -> Option<&str> {
    let (scheme, secret) = value.split_once(' ')?;
    Some(secret.trim()).filter(|secret| scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty())
}

/// How a secret is kept and compared: its SHA-256 (an API token's in the database, the
/// metrics secret in memory), so no comparison takes time by what matches.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}
