//! `JsonBody<T>`: the request-body extractor every write uses. It checks the content type,
//! stops reading at the size limit, answers 400 for what is not JSON, and collects every
//! field of the wrong shape (unknown, missing, mistyped): the handler gets them in its
//! `Checks`, adds what its own checks find, and answers one 422 naming them all.
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, FieldError};
use crate::http::idempotency::BodyDigest;
use crate::http::validate::Checks;
use crate::state::AppState;

pub struct JsonBody<T> {
    value: T,
    problems: Vec<FieldError>,
}

impl<T> JsonBody<T> {
    /// The body and the checks to go on with, holding every shape problem found. While
    /// those hold problems, the body's fields that had them carry stand-in values (to let
    /// the handler's own checks run on the rest): `checks.finish()?` comes before any use.
    pub fn into_parts(self) -> (T, Checks) {
        (self.value, Checks::with(self.problems))
    }
}

/// Media types a JSON body may be sent as (`PATCH` also takes JSON merge patch).
const JSON_TYPES: [&str; 2] = ["application/json", "application/merge-patch+json"];

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        read(req, payload, false)
    }
}

/// A body sent as JSON or as an HTML form (`application/x-www-form-urlencoded`, what a
/// `<form method="post">` sends without JavaScript). A form's fields become the JSON
/// object's (text values; an empty field is left out) and are checked like JSON's.
pub struct JsonOrFormBody<T> {
    pub body: JsonBody<T>,
    /// Whether it came from a form (a browser to send somewhere after, not a script).
    pub is_form: bool,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrFormBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_form = essence(
            req.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        ) == FORM;
        let body = read(req, payload, is_form);
        Box::pin(async move {
            Ok(JsonOrFormBody {
                body: body.await?,
                is_form,
            })
        })
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

fn read<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    // Read as a form (the caller takes forms, and this is one), else as JSON.
    is_form: bool,
) -> LocalBoxFuture<'static, Result<JsonBody<T>, ApiError>> {
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
        if !is_form {
            check_json_type(content_type.as_deref())?;
        }
        if declared_length.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        req.extensions_mut()
            .insert(BodyDigest(Sha256::digest(&body).to_vec()));
        let (value, problems) = if is_form {
            parse_json(&form_to_json(&body)?)?
        } else {
            parse_json(&body)?
        };
        Ok(JsonBody { value, problems })
    })
}

/// A form's fields as a JSON object of strings. Broken percent-encoding or UTF-8, or a field
/// given twice, is a 400: nothing is guessed.
fn form_to_json(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut object = serde_json::Map::new();
    let mut seen = std::collections::HashSet::new();
    let bad = |detail: String| ApiError::BadRequest(format!("malformed form body: {detail}"));
    let decode = |part: &[u8]| -> Result<String, ApiError> {
        let broken = part.iter().enumerate().any(|(i, b)| {
            *b == b'%'
                && !part
                    .get(i + 1..i + 3)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
        if broken {
            return Err(bad("a `%` is not followed by two hex digits".into()));
        }
        let spaced: Vec<u8> = part
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        percent_encoding::percent_decode(&spaced)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| bad("a field is not UTF-8".into()))
    };
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = decode(halves.next().unwrap_or_default())?;
        let value = decode(halves.next().unwrap_or_default())?;
        if !seen.insert(name.clone()) {
            let shown: String = name.chars().take(100).collect();
            return Err(bad(format!("the field `{shown}` is given twice")));
        }
        // An empty field is one the form left blank: absent, as in JSON.
        if !value.is_empty() {
            object.insert(name, serde_json::Value::String(value));
        }
    }
    if seen.is_empty() {
        return Err(ApiError::BadRequest(
            "the request body is empty; send the form's fields".into(),
        ));
    }
    serde_json::to_vec(&object).map_err(|e| ApiError::Internal(e.to_string()))
}

fn essence(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("the request body is larger than {limit} bytes"))
}

/// A JSON body that may be left out entirely (no `Content-Type`, nothing sent): then the
/// defaults. A body that is sent is read and checked like any `JsonBody`.
pub struct OptionalJsonBody<T>(pub Option<JsonBody<T>>);

impl<T: Default> OptionalJsonBody<T> {
    pub fn into_parts(self) -> (T, Checks) {
        self.0
            .map_or_else(|| (T::default(), Checks::new()), JsonBody::into_parts)
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let empty = !headers.contains_key(header::CONTENT_TYPE)
            && !headers.contains_key(header::TRANSFER_ENCODING)
            && headers
                .get(header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        if empty {
            return Box::pin(async { Ok(OptionalJsonBody(None)) });
        }
        let body = JsonBody::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJsonBody(Some(body.await?))) })
    }
}

/// A JSON body's media type, or a 415 saying what to send.
pub fn check_json_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(content_type) = content_type else {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/json (no Content-Type was given)".into(),
        ));
    };
    if JSON_TYPES.contains(&essence(Some(content_type)).as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json, not `{content_type}`"
        )))
    }
}

/// Parses a JSON body. Malformed JSON is a 400; a body of the wrong shape gives the value
/// with stand-ins where fields were unknown, missing or mistyped, and one problem for each.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Vec<FieldError>), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON object".into(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    let mut value = value;
    if !value.is_object() {
        return Err(ApiError::Validation(vec![FieldError {
            field: None,
            code: "invalid_type".into(),
            message: "the body must be a JSON object".into(),
        }]));
    }
    let mut problems: Vec<FieldError> = Vec::new();
    // Each round names a problem and mends its field (all unknown fields go in one round):
    // a body has few fields, a field is given up once its stand-ins are spent, and the
    // rounds and the problems named are capped, so a hostile body costs a bounded amount.
    let mut tried: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for _ in 0..MAX_ROUNDS {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) => {
                problems.truncate(MAX_PROBLEMS);
                return Ok((parsed, problems));
            }
            Err(error) => error,
        };
        let path = error.path().to_string();
        let problem = field_error(&path, error.inner());
        let Some(field) = problem.field.clone() else {
            problems.push(problem);
            break;
        };
        // The body's own key the problem is in (`tags[1]` is in `tags`), from the path's
        // first segment (a key may hold dots); a missing field is named by its problem.
        let key = match error.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
            _ => field,
        };
        let Some(object) = value.as_object_mut() else {
            break;
        };
        // One problem per key: a stand-in that does not fit either is not news.
        let within = |f: &str| {
            f == key || f.starts_with(&format!("{key}[")) || f.starts_with(&format!("{key}."))
        };
        if !problems
            .iter()
            .any(|p| p.field.as_deref().is_some_and(within))
        {
            problems.push(problem.clone());
        }
        if problem.code == "unknown_field" {
            // serde lists the fields it knows: every other key goes at once.
            let known = known_fields(&problem.message);
            let unknown: Vec<String> = object
                .keys()
                .filter(|k| *k == &key || (!known.is_empty() && !known.contains(&k.as_str())))
                .cloned()
                .collect();
            for name in unknown {
                object.remove(&name);
                if name != key && problems.len() < MAX_PROBLEMS {
                    problems.push(FieldError::new(
                        &name,
                        "unknown_field",
                        format!("unknown field `{name}`"),
                    ));
                }
            }
            continue;
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let round = tried.entry(key.clone()).or_default();
        match stand_ins(&problem.message).into_iter().nth(*round) {
            Some(stand_in) => {
                object.insert(key, stand_in);
                *round += 1;
            }
            // Nothing this field takes: what was found is the answer.
            None => break,
        }
    }
    problems.truncate(MAX_PROBLEMS);
    Err(ApiError::Validation(problems))
}

/// At most this many rounds of reading a body, and problems named in one answer.
const MAX_ROUNDS: usize = 64;
const MAX_PROBLEMS: usize = 20;

/// The field names an "unknown field" message says are expected.
fn known_fields(message: &str) -> Vec<&str> {
    message
        .split_once("expected")
        .map(|(_, expected)| expected.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default()
}

/// Values of each JSON type to try in place of a bad field, so the rest of the body can be
/// read (an enum's first variant first, when serde named the variants).
fn stand_ins(message: &str) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut values = Vec::new();
    if let Some((_, expected)) = message.split_once("expected one of ")
        && let Some(variant) = expected.split('`').nth(1)
    {
        values.push(json!(variant));
    }
    values.extend([
        json!(null),
        json!(""),
        json!(0),
        json!(false),
        json!([]),
        json!({}),
        json!("00000000-0000-0000-0000-000000000000"),
        json!("1970-01-01T00:00:00Z"),
    ]);
    values
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

    fn problems(body: &str) -> Vec<(Option<String>, String)> {
        match parse_json::<Sample>(body.as_bytes()) {
            Ok((_, problems)) => problems,
            Err(ApiError::Validation(problems)) => problems,
            Err(other) => panic!("expected problems, got {other:?}"),
        }
        .into_iter()
        .map(|p| (p.field, p.code))
        .collect()
    }

    fn named(field: &str, code: &str) -> (Option<String>, String) {
        (Some(field.to_owned()), code.to_owned())
    }

    #[test]
    fn names_every_unknown_missing_and_mistyped_field_at_once() {
        assert_eq!(
            problems(r#"{"name": "a", "nmae": "b"}"#),
            [named("nmae", "unknown_field")]
        );
        assert_eq!(problems(r#"{"count": 1}"#), [named("name", "required")]);
        assert_eq!(problems(r#"{"name": 5}"#), [named("name", "invalid_type")]);
        let all = problems(r#"{"nmae": "b", "count": "x", "extra": 1}"#);
        assert_eq!(all.len(), 4, "{all:?}");
        for expected in [
            named("nmae", "unknown_field"),
            named("extra", "unknown_field"),
            named("count", "invalid_type"),
            named("name", "required"),
        ] {
            assert!(all.contains(&expected), "{expected:?} in {all:?}");
        }
        match parse_json::<Sample>(b"[1]") {
            Err(ApiError::Validation(problems)) => assert_eq!(problems[0].field, None),
            other => panic!("{other:?}"),
        }
        // A clean body has none.
        assert!(problems(r#"{"name": "a", "count": 2}"#).is_empty());
        // Keys with dots are keys, not paths.
        assert_eq!(
            problems(r#"{"name": "a", "name.x": 1}"#),
            [named("name.x", "unknown_field")]
        );
        // Thousands of unknown keys: gone in one round, at most 20 named.
        let many: String = (0..5000).map(|i| format!(r#""k{i}": {i},"#)).collect();
        let found = problems(&format!("{{{many} \"name\": 5}}"));
        assert!(found.len() <= MAX_PROBLEMS, "{}", found.len());
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
