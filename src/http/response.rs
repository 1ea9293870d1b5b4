//! Answers with ETags: every single-resource read is tagged with a strong ETag of its exact
//! bytes, `If-None-Match` turns a read into a 304, and `If-Match` guards writes (412).
//!
//! A resource's ETag is `"<version>-<digest>"`: the digest tells representations apart (with
//! a token's extra fields or without, with today's embedded counts), the version is the stored
//! resource's own. `If-Match` compares the version, so whichever representation a client read,
//! its ETag guards the write as long as the resource itself is unchanged.
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::http::cache::{Shows, showing};

/// A strong ETag: a quoted digest of the representation's bytes.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// A stored resource's version: what changes each time the resource itself is written.
pub trait Versioned {
    fn version(&self) -> String;

    /// The ETag of this answer with `body` its bytes: by default of the bytes themselves. An
    /// answer that says more on a write than a read shows tags what a read shows, so both
    /// carry one ETag.
    fn etag(&self, body: &[u8]) -> Result<String, ApiError> {
        Ok(versioned_etag(&self.version(), body))
    }
}

/// The version of a resource that records when it was last written (to the microsecond;
/// writes to one row are serialised by its lock).
pub fn version_at(updated_at: &chrono::DateTime<chrono::Utc>) -> String {
    updated_at.timestamp_micros().to_string()
}

/// The strong ETag of one representation of a versioned resource.
pub fn versioned_etag(version: &str, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{version}-{}\"", hex::encode(&digest[..12]))
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("cannot serialize: {e}")))
}

/// 200 with the object and its ETag, or 304 when the client's `If-None-Match` has it.
pub fn ok<T: Serialize>(req: &HttpRequest, value: &T) -> Result<HttpResponse, ApiError> {
    tagged(req, StatusCode::OK, to_json(value)?)
}

/// A resource a public read may show, with its versioned ETag (or 304); the answer also
/// names what it shows, for the response cache and CDNs.
pub fn ok_showing<T: Serialize + Shows + Versioned>(
    req: &HttpRequest,
    value: &T,
) -> Result<HttpResponse, ApiError> {
    let mut keys: Vec<crate::changes::Key> = value.key().into_iter().collect();
    value.embedded_keys(&mut keys);
    let body = to_json(value)?;
    let etag = versioned_etag(&value.version(), &body);
    Ok(showing(tagged_as(req, StatusCode::OK, body, etag), keys))
}

/// 200 with the resource and its versioned ETag, unconditionally (the answer to a write).
pub fn fresh<T: Serialize + Versioned>(value: &T) -> Result<HttpResponse, ApiError> {
    let body = to_json(value)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, value.etag(&body)?))
        .content_type("application/json")
        .body(body))
}

/// `status` with the body and the ETag of its bytes, or 304 when `If-None-Match` has it.
pub fn tagged(
    req: &HttpRequest,
    status: StatusCode,
    body: Vec<u8>,
) -> Result<HttpResponse, ApiError> {
    let etag = etag_of(&body);
    Ok(tagged_as(req, status, body, etag))
}

fn tagged_as(req: &HttpRequest, status: StatusCode, body: Vec<u8>, etag: String) -> HttpResponse {
    typed_as(req, status, body, etag, "application/json")
}

/// `tagged` for a body of another type (a feed): its ETag, or a 304.
pub fn tagged_typed(req: &HttpRequest, body: Vec<u8>, content_type: &str) -> HttpResponse {
    let etag = etag_of(&body);
    typed_as(req, StatusCode::OK, body, etag, content_type)
}

fn typed_as(
    req: &HttpRequest,
    status: StatusCode,
    body: Vec<u8>,
    etag: String,
    content_type: &str,
) -> HttpResponse {
    if none_match_has(req, &etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag))
        .content_type(content_type)
        .body(body)
}

/// Whether the request's `If-None-Match` names `etag` (or `*`): then the answer is a 304.
/// It compares weakly (RFC 9110 13.1.2): `W/` prefixes are ignored.
pub fn none_match_has(req: &HttpRequest, etag: &str) -> bool {
    none_match_in(req.headers().get(header::IF_NONE_MATCH), etag)
}

/// `none_match_has` for an `If-None-Match` value taken out of its request.
pub fn none_match_in(if_none_match: Option<&HeaderValue>, etag: &str) -> bool {
    header_tags(if_none_match).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The request's `If-Match` header, taken out of the request so a database transaction
/// (which must be `Send`) can check it against the row it locked.
pub struct IfMatch(Option<HeaderValue>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(IfMatch(req.headers().get(header::IF_MATCH).cloned())))
    }
}

impl IfMatch {
    /// No `If-Match`: any version may be changed (a write that is not a request's).
    pub fn any() -> Self {
        IfMatch(None)
    }

    /// An `If-Match` given outside a request's headers (a batch operation's); `None` when
    /// it cannot be a header value.
    pub fn given(value: Option<&str>) -> Option<Self> {
        match value {
            None => Some(IfMatch(None)),
            Some(value) => HeaderValue::from_str(value).ok().map(|v| IfMatch(Some(v))),
        }
    }

    /// Fails with 412 when `If-Match` was sent and none of its tags is an ETag of
    /// `current`'s version (any representation of it). `If-Match` compares strongly: a weak
    /// tag never matches.
    pub fn check<T: Versioned>(&self, current: &T) -> Result<(), ApiError> {
        let Some(value) = &self.0 else {
            return Ok(());
        };
        let prefix = format!("\"{}-", current.version());
        if header_tags(Some(value)).any(|tag| tag == "*" || tag.starts_with(&prefix)) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed)
        }
    }

    /// The row a write is about, as locked (`found`): `not_found` (404) when there is none,
    /// 412 when `If-Match` names another version. Every write that takes `If-Match` starts so.
    pub fn locked<T: Versioned>(
        &self,
        found: Option<T>,
        not_found: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError> {
        let current = found.ok_or_else(not_found)?;
        self.check(&current)?;
        Ok(current)
    }
}

impl IfMatch {
    /// Fails with 412 when `If-Match` was sent for something that does not exist (RFC 9110:
    /// no current representation matches, `*` included).
    pub fn check_absent(&self) -> Result<(), ApiError> {
        match self.0 {
            Some(_) => Err(ApiError::PreconditionFailed),
            None => Ok(()),
        }
    }
}

fn header_tags(value: Option<&HeaderValue>) -> impl Iterator<Item = &str> {
    value
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    struct At(&'static str);
    impl Versioned for At {
        fn version(&self) -> String {
            self.0.to_owned()
        }
    }

    #[test]
    fn if_match_is_strong_and_if_none_match_is_weak() {
        let tag = versioned_etag("17", b"{}");
        let weak = format!("W/{tag}");
        let if_match = |value: String| IfMatch(Some(HeaderValue::from_str(&value).unwrap()));
        assert!(if_match(weak.clone()).check(&At("17")).is_err());
        assert!(
            if_match(format!("\"other\", {tag}"))
                .check(&At("17"))
                .is_ok()
        );
        // Another representation of the same version matches; another version does not.
        let other_view = versioned_etag("17", b"{\"email\":null}");
        assert!(if_match(other_view).check(&At("17")).is_ok());
        assert!(if_match(tag.clone()).check(&At("171")).is_err());
        assert!(if_match(tag.clone()).check(&At("1")).is_err());
        assert!(if_match("*".into()).check(&At("17")).is_ok());
        assert!(IfMatch(None).check(&At("17")).is_ok());
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, weak.as_str()))
            .to_http_request();
        assert!(none_match_has(&req, &tag));
    }
}
