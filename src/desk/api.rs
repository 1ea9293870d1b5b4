//! The desk's requests to the API: each sent through the app once more as the person's own
//! (their session cookie, and for a write the CSRF token their form carried).
use actix_web::HttpRequest;
use actix_web::http::{Method, StatusCode, header};
use serde_json::Value;

use super::page::DeskError;
use crate::error::ApiError;
use crate::http::inner::{Answer, Inner, Request};
use crate::users::sessions::COOKIE;

/// A person's way to the API from a desk page.
pub struct Api<'a> {
    req: &'a HttpRequest,
    /// The CSRF token a write carries: the one the form sent (the API checks it).
    csrf: Option<String>,
    /// Signing in: a 401 is the page's to tell, not a way back to the sign-in page.
    signing_in: bool,
    /// Sent with every request (an `Idempotency-Key`).
    extra: Vec<(header::HeaderName, String)>,
}

/// An answer that is not a success, as the API gave it.
pub struct Refusal {
    pub status: StatusCode,
    pub problem: Value,
    pub etag: Option<String>,
}

impl Refusal {
    /// The field errors of a 422, as `field: message` pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.problem["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the API said, for a person.
    pub fn detail(&self) -> String {
        self.problem["detail"]
            .as_str()
            .or_else(|| self.problem["title"].as_str())
            .unwrap_or("the request was refused")
            .to_owned()
    }
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail())
    }
}

/// A success: the body and the version it is at.
pub struct Success {
    pub body: Value,
    pub etag: Option<String>,
    /// `Set-Cookie` headers (signing in and out), for the browser.
    pub cookies: Vec<header::HeaderValue>,
}

impl<'a> Api<'a> {
    pub fn new(req: &'a HttpRequest, csrf: Option<String>) -> Api<'a> {
        Api {
            req,
            csrf,
            signing_in: false,
            extra: Vec::new(),
        }
    }

    /// The same, each request also sending `name: value`.
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Api<'a> {
        self.extra.push((name, value.to_owned()));
        self
    }

    /// For the pages that sign in, where a 401 is wrong credentials.
    pub fn signing_in(req: &'a HttpRequest) -> Api<'a> {
        Api {
            req,
            csrf: None,
            signing_in: true,
            extra: Vec::new(),
        }
    }

    /// Sends one request; a refusal is `Ok(Err(..))`, for the page to show.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Result<Success, Refusal>, DeskError> {
        let inner = self
            .req
            .app_data::<Inner>()
            .ok_or_else(|| ApiError::Internal("the desk's app is missing".into()))?;
        let mut headers = self.extra.clone();
        if let Some(cookie) = self.req.cookie(COOKIE) {
            headers.push((header::COOKIE, format!("{COOKIE}={}", cookie.value())));
        }
        if let Some(csrf) = &self.csrf {
            headers.push((
                header::HeaderName::from_static(crate::auth::authenticate::CSRF_HEADER),
                csrf.clone(),
            ));
        }
        if let Some(version) = if_match {
            headers.push((header::IF_MATCH, version.to_owned()));
        }
        let body = match body {
            Some(body) => {
                headers.push((header::CONTENT_TYPE, "application/json".to_owned()));
                serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?
            }
            None => Vec::new(),
        };
        let answer: Answer = inner
            .send(
                self.req,
                Request {
                    method,
                    path_and_query: path_and_query.to_owned(),
                    headers,
                    body,
                },
            )
            .await?;
        let body = answer.body.unwrap_or(Value::Null);
        if answer.status.is_success() {
            return Ok(Ok(Success {
                body,
                etag: answer.etag,
                cookies: answer.cookies,
            }));
        }
        if answer.status == StatusCode::UNAUTHORIZED && !self.signing_in {
            return Err(DeskError::SignIn);
        }
        Ok(Err(Refusal {
            status: answer.status,
            problem: body,
            etag: answer.etag,
        }))
    }

    /// A read the page cannot do without: a refusal is the page's error.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, DeskError> {
        match self.send(Method::GET, path_and_query, None, None).await? {
            Ok(success) => Ok(success.body),
            Err(refusal) => Err(DeskError::Refused(refusal)),
        }
    }

    /// A write a form stands for: a refusal is the page's error.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Success, DeskError> {
        self.send(method, path, body, None)
            .await?
            .map_err(DeskError::Refused)
    }

    /// One page of a list: `path` with its query, and the cursor the desk's address carried.
    pub async fn page(&self, path: &str, cursor: &str) -> Result<Value, DeskError> {
        let cursor = cursor.trim();
        if cursor.is_empty() {
            return self.get(path).await;
        }
        let joiner = if path.contains('?') { '&' } else { '?' };
        self.get(&format!("{path}{joiner}cursor={}", encode(cursor)))
            .await
    }

    /// A read with its version (`ETag`).
    pub async fn get_versioned(&self, path: &str) -> Result<(Value, String), DeskError> {
        match self.send(Method::GET, path, None, None).await? {
            Ok(success) => Ok((success.body, success.etag.unwrap_or_default())),
            Err(refusal) => Err(DeskError::Refused(refusal)),
        }
    }
}

/// What a path segment or a query value keeps as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `&name=value` for each pair whose value is not empty, values percent-encoded.
pub fn query_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("&{name}={}", encode(value)))
        .collect()
}

/// A path segment or query value, percent-encoded.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}
