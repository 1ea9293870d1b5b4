//! A tool call is the API request it stands for, made inside the process through the same
//! app (middleware, handlers, role checks, validation, write paths, the change feed) with
//! the caller's own token: what an agent may do and what it is told are exactly the API's.
use std::rc::Rc;

use actix_service::boxed::{BoxFuture, RcService};
use actix_service::{IntoServiceFactory, Service, ServiceExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpRequest};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::protocol::RpcError;
use super::tools::{AGENT_PAGE, Body, Place, Tool};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// The largest answer an agent gets, in bytes of JSON (about 25,000 tokens, what agents'
/// hosts keep of one tool's answer); a larger one is refused with how to narrow it.
pub const MAX_ANSWER_BYTES: usize = 100_000;
/// The largest image an agent sends in base64 (decoded), whatever the upload limit.
pub const MAX_AGENT_IMAGE: usize = 10 * 1024 * 1024;
/// Characters allowed as they are in a path segment (RFC 3986's unreserved).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The caller's headers an inner request carries: who it is and where it came from, so the
/// token, the addresses and the links in answers are those of the agent's own request.
const CARRIED: &[&str] = &[
    "authorization",
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "user-agent",
];
/// How to allow fetching images from private addresses, for a refusal's message.
const PRIVATE_HINT: &str = "LEDE_WEBHOOK_ALLOW_PRIVATE=true allows intranet addresses";

type AppService = RcService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;
type MakeApp = dyn Fn() -> BoxFuture<Result<AppService, ()>>;

/// The app, once per worker, for the requests tool calls stand for. Made on the first call
/// (a worker that never serves an agent never makes it); it is the same app the worker
/// serves, so nothing an agent does takes another path.
#[derive(Clone)]
pub struct Inner {
    make: Rc<MakeApp>,
    app: Rc<tokio::sync::OnceCell<AppService>>,
}

impl Inner {
    pub fn new<F, T, B>(make: F) -> Inner
    where
        F: Fn() -> App<T> + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        Inner {
            make: Rc::new(move || {
                let factory = make().into_factory();
                Box::pin(async move {
                    let app = factory.new_service(AppConfig::default()).await?;
                    let app = app.map(ServiceResponse::map_into_boxed_body);
                    Ok(actix_service::boxed::rc_service(app))
                })
            }),
            app: Rc::new(tokio::sync::OnceCell::new()),
        }
    }

    async fn send(&self, request: actix_http::Request) -> Result<ServiceResponse, ApiError> {
        let app = self
            .app
            .get_or_try_init(|| (self.make)())
            .await
            .map_err(|()| ApiError::Internal("the agents' app could not be made".into()))?;
        app.call(request)
            .await
            .map_err(|error| ApiError::Internal(format!("a tool's request failed: {error}")))
    }
}

/// What every tool call of one MCP request shares.
pub struct Caller<'a> {
    pub req: &'a HttpRequest,
    pub state: &'a AppState,
    pub inner: &'a Inner,
}

/// An API request a tool call stands for.
struct Request {
    method: Method,
    path_and_query: String,
    headers: Vec<(header::HeaderName, String)>,
    body: Vec<u8>,
}

/// What the API answered.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    location: Option<String>,
    /// `None`: larger than an agent's answer may be.
    body: Option<Value>,
}

/// Calls `tool` with `arguments`: the protocol's result (`isError` for what the API
/// refused, with its problem document), or an error for arguments that do not fit.
pub async fn call(
    caller: &Caller<'_>,
    tool: &Tool,
    arguments: Map<String, Value>,
) -> Result<Value, RpcError> {
    let request = request(caller, tool, arguments).await?;
    let request = match request {
        Ok(request) => request,
        // The image could not be had: the agent hears why, as a failed call.
        Err(problem) => return Ok(failed(&problem)),
    };
    let answer = send(caller, request).await.map_err(internal)?;
    let Some(mut body) = answer.body.clone() else {
        return Ok(too_large(tool));
    };
    if !answer.status.is_success() && !answer.status.is_redirection() {
        return Ok(failed(&body));
    }
    if answer.status == StatusCode::NO_CONTENT {
        return Ok(
            json!({"content": [text(&format!("Done ({}).", status_line(answer.status)))],
            "isError": false}),
        );
    }
    if let Some(location) = &answer.location
        && answer.status.is_redirection()
    {
        return Ok(json!({"content": [text(&format!("It moved: {location}"))],
            "structuredContent": {"location": location}, "isError": false}));
    }
    if tool.writes_article {
        with_preview(caller, &mut body).await;
    }
    let structured = match body {
        Value::Object(_) => body,
        other => json!({"items": other}),
    };
    Ok(json!({
        "content": [text(&summary(&answer, &structured))],
        "structuredContent": structured,
        "isError": false,
    }))
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn internal(error: ApiError) -> RpcError {
    RpcError::new(-32603, error.to_string())
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// A refusal the agent can act on: the problem document as the API answered it, its
/// field errors in the text too.
fn failed(problem: &Value) -> Value {
    let mut text = format!(
        "{} {}: {}",
        problem["status"],
        problem["title"].as_str().unwrap_or("Refused"),
        problem["detail"].as_str().unwrap_or("")
    );
    for error in problem["errors"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n- {}: {}",
            error["field"].as_str().unwrap_or("(the body)"),
            error["message"].as_str().unwrap_or("")
        ));
    }
    json!({"content": [self::text(&text)], "structuredContent": problem, "isError": true})
}

/// An answer too large for an agent's context: refused, with the arguments that narrow it.
fn too_large(tool: &Tool) -> Value {
    let has = |name: &str| tool.arguments.iter().any(|a| a.name == name);
    let mut ways = Vec::new();
    if has("per_page") {
        ways.push(
            "ask for fewer items with `per_page` (e.g. 3), then page on with `cursor`".to_owned(),
        );
    }
    if has("fields") {
        ways.push("keep only the fields you need with `fields` (e.g. `id,slug,title`)".to_owned());
    }
    if has("include") {
        ways.push("leave out `include`".to_owned());
    }
    let filters: Vec<&str> = ["q", "tag", "author", "status", "article"]
        .into_iter()
        .filter(|name| has(name))
        .collect();
    if !filters.is_empty() {
        ways.push(format!(
            "filter with {}",
            filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if ways.is_empty() {
        ways.push("ask for less at a time".to_owned());
    }
    let detail = format!(
        "the answer is more than the {} KB an agent's answer may be; to narrow it, {}",
        MAX_ANSWER_BYTES / 1000,
        ways.join("; or ")
    );
    let problem = json!({"type": "about:blank#too_large", "title": "Answer too large", "status": 413,
        "detail": detail, "errors": []});
    failed(&problem)
}

/// One line an agent reads first: the status, what the answer is, how to go on.
fn summary(answer: &Answer, body: &Value) -> String {
    let mut line = status_line(answer.status);
    if let Some(items) = body["data"].as_array() {
        line.push_str(&format!(
            ": {} item{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        ));
        if let Some(total) = body["meta"]["total"].as_i64() {
            line.push_str(&format!(" of {total}"));
        }
        match body["meta"]["next_cursor"].as_str() {
            Some(cursor) => line.push_str(&format!(
                "; more follow: call again with cursor \"{cursor}\""
            )),
            None => line.push_str("; no more follow"),
        }
    } else if let Some(id) = body["id"].as_str() {
        let label = ["title", "name", "email", "slug"]
            .iter()
            .find_map(|key| body[*key].as_str());
        match label {
            Some(label) => line.push_str(&format!(": \"{label}\" ({id})")),
            None => line.push_str(&format!(": {id}")),
        }
        if let Some(status) = body["status"].as_str() {
            line.push_str(&format!(", {status}"));
        }
    }
    // An ETag matters to what may be changed next, not to a list.
    if let Some(etag) = answer.etag.as_ref().filter(|_| body["data"].is_null()) {
        line.push_str(&format!(
            ". ETag {etag}: pass it as `if_match` to change this safely"
        ));
    }
    match body["preview"]["url"].as_str() {
        // Last, and with nothing after it: the link is copied as it stands.
        Some(url) => line.push_str(&format!(". Preview link: {url}")),
        None => line.push('.'),
    }
    line
}

/// A draft's (or a scheduled or submitted article's) answer gains a signed link to see it
/// as readers will: made by the same token, so only when its role may.
async fn with_preview(caller: &Caller<'_>, article: &mut Value) {
    let (Some(id), Some(status)) = (article["id"].as_str(), article["status"].as_str()) else {
        return;
    };
    if status == "published" {
        return;
    }
    let request = Request {
        method: Method::POST,
        path_and_query: format!("/api/v1/articles/{id}/preview-links"),
        headers: vec![(header::CONTENT_TYPE, "application/json".into())],
        body: b"{}".to_vec(),
    };
    if let Ok(answer) = send(caller, request).await
        && answer.status == StatusCode::CREATED
        && let Some(link) = answer.body
    {
        article["preview"] = json!({"url": link["url"], "expires_at": link["expires_at"]});
    }
}

/// The request `arguments` stand for: the protocol's error for arguments that do not fit
/// the tool, and `Ok(Err(problem))` for an image that could not be fetched.
async fn request(
    caller: &Caller<'_>,
    tool: &Tool,
    mut arguments: Map<String, Value>,
) -> Result<Result<Request, Value>, RpcError> {
    let mut errors = Vec::new();
    let takes = |name: &str| -> bool {
        tool.arguments.iter().any(|a| a.name == name)
            || match &tool.body {
                Body::None => false,
                Body::Json { .. } => name == "body",
                Body::Upload { fields } => {
                    name == "file_base64" || name == "file_url" || fields.iter().any(|f| f == name)
                }
            }
    };
    for name in arguments.keys() {
        if !takes(name) {
            errors.push(FieldError::new(
                name,
                "unknown_field",
                format!("`{name}` is not an argument of `{}`", tool.name),
            ));
        }
    }
    let mut path = tool.path.clone();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    for argument in &tool.arguments {
        let Some(value) = arguments.remove(&argument.name) else {
            if argument.required {
                errors.push(FieldError::new(
                    &argument.name,
                    "required",
                    format!("`{}` is required", argument.name),
                ));
            } else if argument.name == "per_page" {
                query.append_pair("per_page", &AGENT_PAGE.to_string());
            }
            continue;
        };
        let values: Vec<String> = match (&argument.place, &value) {
            (Place::Query, Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            (_, value) => scalar(value).into_iter().collect(),
        };
        if values.is_empty() {
            errors.push(FieldError::new(
                &argument.name,
                "invalid_type",
                format!(
                    "`{}` must be a string, a number or true/false",
                    argument.name
                ),
            ));
            continue;
        }
        match &argument.place {
            Place::Path => {
                let segment =
                    percent_encoding::utf8_percent_encode(&values[0], SEGMENT).to_string();
                path = path.replace(&format!("{{{}}}", argument.name), &segment);
            }
            Place::Query => {
                for value in &values {
                    query.append_pair(&argument.name, value);
                }
            }
            Place::Header(name) => match header::HeaderName::try_from(name.as_str()) {
                Ok(name) if header::HeaderValue::from_str(&values[0]).is_ok() => {
                    headers.push((name, values[0].clone()))
                }
                _ => errors.push(FieldError::new(
                    &argument.name,
                    "invalid_format",
                    format!("`{}` must be visible ASCII", argument.name),
                )),
            },
        }
    }
    let body = match &tool.body {
        Body::None => Vec::new(),
        Body::Json { content_type } => match arguments.remove("body") {
            Some(body) => {
                headers.push((header::CONTENT_TYPE, content_type.clone()));
                serde_json::to_vec(&body).unwrap_or_default()
            }
            None => Vec::new(),
        },
        Body::Upload { fields } => {
            let file = match image(caller, &mut arguments, &mut errors).await {
                Ok(file) => file,
                Err(problem) => return Ok(Err(problem)),
            };
            let boundary = format!("lede-agent-{}", uuid::Uuid::now_v7().simple());
            headers.push((
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ));
            multipart(
                &boundary,
                file.unwrap_or_default(),
                fields,
                &arguments,
                &mut errors,
            )
        }
    };
    if !errors.is_empty() {
        return Err(RpcError::invalid_arguments(&tool.name, errors));
    }
    let query = query.finish();
    let path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    Ok(Ok(Request {
        method: tool.method.clone(),
        path_and_query,
        headers,
        body,
    }))
}

/// A path or query value as the API reads it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The image an upload sends: decoded from `file_base64` or fetched from `file_url` (under
/// the importer's rules: public addresses only, bounded in bytes and time). `Ok(None)` with
/// the argument errors noted; `Err` with the problem when the URL could not be fetched.
async fn image(
    caller: &Caller<'_>,
    arguments: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Vec<u8>>, Value> {
    let limit = caller.state.image_max_bytes.min(MAX_AGENT_IMAGE);
    match (
        arguments.remove("file_base64"),
        arguments.remove("file_url"),
    ) {
        (Some(Value::String(encoded)), None) => {
            // A `data:` URL's header goes; whitespace a tool may wrap lines with too.
            let encoded = match encoded.split_once(";base64,") {
                Some((head, rest)) if head.starts_with("data:") => rest,
                _ => encoded.as_str(),
            };
            if encoded.len() > limit.div_ceil(3) * 4 + 1024 {
                errors.push(FieldError::new(
                    "file_base64",
                    "too_large",
                    format!("the image may be at most {limit} bytes"),
                ));
                return Ok(None);
            }
            let compact: String = encoded
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            match base64::engine::general_purpose::STANDARD.decode(compact) {
                Ok(bytes) if bytes.len() <= limit => Ok(Some(bytes)),
                Ok(_) => {
                    errors.push(FieldError::new(
                        "file_base64",
                        "too_large",
                        format!("the image may be at most {limit} bytes"),
                    ));
                    Ok(None)
                }
                Err(error) => {
                    errors.push(FieldError::new(
                        "file_base64",
                        "invalid_format",
                        format!("file_base64 is not base64: {error}"),
                    ));
                    Ok(None)
                }
            }
        }
        (None, Some(Value::String(address))) => {
            let Ok(url) = url::Url::parse(&address) else {
                errors.push(FieldError::new(
                    "file_url",
                    "invalid_format",
                    "file_url must be an absolute http(s) URL",
                ));
                return Ok(None);
            };
            let allow_private = caller.state.webhooks.allow_private();
            let client = crate::outbound::fetch::client(
                allow_private,
                concat!("lede-agents/", env!("CARGO_PKG_VERSION")),
                PRIVATE_HINT,
            )
            .map_err(|error| unreachable_image(&error.to_string()))?;
            crate::outbound::fetch::bytes(&client, url, limit, allow_private, PRIVATE_HINT)
                .await
                .map(Some)
                .map_err(|why| unreachable_image(&why))
        }
        (None, None) => {
            errors.push(FieldError::new(
                "file_base64",
                "required",
                "give the image as `file_base64` or `file_url`",
            ));
            Ok(None)
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "file_url",
                "conflict",
                "give `file_base64` or `file_url`, not both",
            ));
            Ok(None)
        }
        _ => {
            errors.push(FieldError::new(
                "file_base64",
                "invalid_type",
                "the image is a string: base64 in `file_base64` or a URL in `file_url`",
            ));
            Ok(None)
        }
    }
}

fn unreachable_image(why: &str) -> Value {
    json!({"type": "about:blank#unreachable", "title": "The image could not be fetched",
        "status": 422, "detail": format!("file_url: {why}"),
        "errors": [{"field": "file_url", "code": "unreachable", "message": why}]})
}

/// The upload form: the file, then the other fields given.
fn multipart(
    boundary: &str,
    file: Vec<u8>,
    fields: &[String],
    arguments: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&file);
    for field in fields {
        let Some(value) = arguments.get(field) else {
            continue;
        };
        let Some(value) = scalar(value) else {
            errors.push(FieldError::new(
                field,
                "invalid_type",
                format!("`{field}` must be a string or a number"),
            ));
            continue;
        };
        body.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// Sends `request` through the app as the caller, from the caller's address.
async fn send(caller: &Caller<'_>, request: Request) -> Result<Answer, ApiError> {
    let mut inner = actix_http::Request::with_payload(actix_http::Payload::from(request.body));
    let head = inner.head_mut();
    head.method = request.method;
    head.uri = request
        .path_and_query
        .parse()
        .map_err(|_| ApiError::Internal("a tool made an unreadable path".into()))?;
    head.peer_addr = caller.req.peer_addr();
    for (name, value) in request.headers {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            head.headers.append(name, value);
        }
    }
    for name in CARRIED {
        if let Some(value) = caller.req.headers().get(*name) {
            head.headers
                .insert(header::HeaderName::from_static(name), value.clone());
        }
    }
    head.headers.insert(
        header::ACCEPT,
        header::HeaderValue::from_static("application/json"),
    );
    let response = caller.inner.send(inner).await?;
    let status = response.status();
    let read = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = read(header::ETAG);
    let location = read(header::LOCATION);
    let body = match actix_web::body::to_bytes_limited(response.into_body(), MAX_ANSWER_BYTES).await
    {
        Ok(Ok(bytes)) if bytes.is_empty() => Some(Value::Null),
        Ok(Ok(bytes)) => Some(
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| json!({"text": String::from_utf8_lossy(&bytes)})),
        ),
        Ok(Err(error)) => {
            return Err(ApiError::Internal(format!(
                "a tool's answer failed: {error}"
            )));
        }
        // Over the limit: the rest is not read.
        Err(_) => None,
    };
    Ok(Answer {
        status,
        etag,
        location,
        body,
    })
}
