//! Answers with ETags: every single-resource read is tagged with a strong ETag of its exact
//! bytes, `If-None-Match` turns a read into a 304, and `If-Match` guards writes (412).
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

/// The ETag a client would have seen for `value` (as `ok` would have sent it).
pub fn etag_of_value<T: Serialize>(value: &T) -> Result<String, ApiError> {
    Ok(etag_of(&to_json(value)?))
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("cannot serialize: {e}")))
}

/// 200 with the object and its ETag, or 304 when the client's `If-None-Match` has it.
pub fn ok<T: Serialize>(req: &HttpRequest, value: &T) -> Result<HttpResponse, ApiError> {
    tagged(req, StatusCode::OK, to_json(value)?)
}

/// `ok` for a read the public may make: the answer also names what it shows, for the
/// response cache and CDNs.
pub fn ok_showing<T: Serialize + Shows>(
    req: &HttpRequest,
    value: &T,
) -> Result<HttpResponse, ApiError> {
    let mut keys: Vec<String> = value.key().into_iter().collect();
    value.embedded_keys(&mut keys);
    Ok(showing(ok(req, value)?, keys))
}

/// 200 with the object and its ETag, unconditionally (the answer to a write).
pub fn fresh<T: Serialize>(value: &T) -> Result<HttpResponse, ApiError> {
    let body = to_json(value)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_of(&body)))
        .content_type("application/json")
        .body(body))
}

pub fn tagged(
    req: &HttpRequest,
    status: StatusCode,
    body: Vec<u8>,
) -> Result<HttpResponse, ApiError> {
    let etag = etag_of(&body);
    if none_match_has(req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, etag))
        .content_type("application/json")
        .body(body))
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
    /// Fails with 412 when `If-Match` was sent and none of its tags is `current_etag`.
    /// `If-Match` compares strongly: a weak tag never matches.
    pub fn check(&self, current_etag: &str) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(value)
                if header_tags(Some(value)).any(|tag| tag == "*" || tag == current_etag) =>
            {
                Ok(())
            }
            Some(_) => Err(ApiError::PreconditionFailed),
        }
    }

    /// Checks `If-Match` against the ETag `value` would be sent with.
    pub fn check_value<T: Serialize>(&self, value: &T) -> Result<(), ApiError> {
        match self.0 {
            None => Ok(()),
            Some(_) => self.check(&etag_of_value(value)?),
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

    #[test]
    fn if_match_is_strong_and_if_none_match_is_weak() {
        let tag = etag_of(b"{}");
        let weak = format!("W/{tag}");
        let if_match = |value: String| IfMatch(Some(HeaderValue::from_str(&value).unwrap()));
        assert!(if_match(weak.clone()).check(&tag).is_err());
        assert!(if_match(format!("\"other\", {tag}")).check(&tag).is_ok());
        assert!(if_match("*".into()).check(&tag).is_ok());
        assert!(IfMatch(None).check(&tag).is_ok());
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, weak.as_str()))
            .to_http_request();
        assert!(none_match_has(&req, &tag));
    }
}
