//! `JsonBody<T>`: the request-body extractor every write uses. It checks the content type,
//! stops reading at the size limit, and turns serde's complaints into 400 (not JSON) or
//! 422 naming the field (JSON of the wrong shape, unknown fields included).
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, FieldError};
use crate::http::idempotency::BodyDigest;

pub struct JsonBody<T>(pub T);

/// Media types a JSON body may be sent as (`PATCH` also takes JSON merge patch).
const JSON_TYPES: [&str; 2] = ["application/json", "application/merge-patch+json"];

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1024 * 1024, |s| s.json_limit);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("(not text)").to_owned());
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            check_content_type(content_type.as_deref())?;
            if declared_length.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("cannot read the request body: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            req.extensions_mut()
                .insert(BodyDigest(Sha256::digest(&body).to_vec()));
            parse_json(&body).map(JsonBody)
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("the request body is larger than {limit} bytes"))
}

fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(content_type) = content_type else {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/json (no Content-Type was given)".into(),
        ));
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if JSON_TYPES.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json, not `{content_type}`"
        )))
    }
}

/// Parses a JSON body, naming the offending field when the JSON has the wrong shape.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON object".into(),
        ));
    }
    // serde would read a struct from an array too; every body here is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => ApiError::Validation(vec![FieldError {
                    field: None,
                    code: "invalid_type".into(),
                    message: "the body must be a JSON object".into(),
                }]),
                Err(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            ApiError::Validation(vec![field_error(&path, &inner)])
        } else {
            ApiError::BadRequest(format!("malformed JSON: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Names the field of a shape error. A missing field is reported at its parent's path,
/// with the field's name between backticks in the message.
fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let message = error.to_string();
    let text = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(text, _)| text)
        .to_owned();
    let quoted = text.split('`').nth(1).map(str::to_owned);
    let join = |name: String| {
        if path == "." || path.is_empty() {
            name
        } else {
            format!("{path}.{name}")
        }
    };
    let (field, code) = if text.starts_with("unknown field") {
        // serde_path_to_error's path already ends with the unknown field's name.
        (Some(path.to_owned()), "unknown_field")
    } else if text.starts_with("missing field") {
        (quoted.map(join), "required")
    } else if path == "." || path.is_empty() {
        (None, "invalid_type")
    } else {
        (Some(path.to_owned()), "invalid_type")
    };
    FieldError {
        field,
        code: code.to_owned(),
        message: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: Option<u32>,
    }

    fn validation(body: &str) -> FieldError {
        match parse_json::<Sample>(body.as_bytes()) {
            Err(ApiError::Validation(mut errors)) => errors.remove(0),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_unknown_missing_and_mistyped_fields() {
        let unknown = validation(r#"{"name": "a", "nmae": "b"}"#);
        assert_eq!(
            (unknown.field.as_deref(), unknown.code.as_str()),
            (Some("nmae"), "unknown_field")
        );
        let missing = validation(r#"{"count": 1}"#);
        assert_eq!(
            (missing.field.as_deref(), missing.code.as_str()),
            (Some("name"), "required")
        );
        let mistyped = validation(r#"{"name": 5}"#);
        assert_eq!(
            (mistyped.field.as_deref(), mistyped.code.as_str()),
            (Some("name"), "invalid_type")
        );
        let not_object = validation("[1]");
        assert_eq!(not_object.field, None);
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in [
            "{",
            "{\"name\": \"a\"} trailing",
            "",
            "  ",
            "{\"name\": \"\\ud800\"}",
        ] {
            assert!(
                matches!(
                    parse_json::<Sample>(body.as_bytes()),
                    Err(ApiError::BadRequest(_))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\": \"\xff\"}"),
            Err(ApiError::BadRequest(_))
        ));
    }
}
