//! A tool call is the API request it stands for, made inside the process through the same
//! app (middleware, handlers, role checks, validation, write paths, the change feed) with
//! the caller's own token: what an agent may do and what it is told are exactly the API's.
use std::rc::Rc;

use actix_service::boxed::{BoxFuture, RcService};
use actix_service::{IntoServiceFactory, Service, ServiceExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpMessage, HttpRequest};

use crate::http::observe::{REQUEST_ID, RequestId};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::protocol::{INTERNAL_ERROR, RpcError};
use super::tools::{AGENT_PAGE, Body, FILE_BASE64, FILE_URL, Place, Tool};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// The largest answer an agent gets, in bytes of JSON (about 25,000 tokens, what agents'
/// hosts keep of one tool's answer): a larger list is refused with how to narrow it, a
/// larger single answer loses its largest fields, named.
pub const MAX_ANSWER_BYTES: usize = 100_000;
/// What is read of an answer at most (a batch's answers are at most 8 MB).
const MAX_READ_BYTES: usize = 16 << 20;
/// The longest value of a path or query argument, and the most values of a repeated one.
const MAX_ARGUMENT_CHARS: usize = 2_000;
const MAX_REPEATS: usize = 100;
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
/// Set on a replayed answer by `http::idempotency`.
const REPLAYED: &str = "idempotent-replayed";
/// How to allow fetching images from private addresses, for a refusal's message.
const PRIVATE_HINT: &str = "LEDE_WEBHOOK_ALLOW_PRIVATE=true allows intranet addresses";

type AppService = RcService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;
type MakeApp = dyn Fn() -> BoxFuture<Result<AppService, ()>>;

/// The app once more, per worker, for the requests tool calls stand for: made by the same
/// function as the app the worker serves (so nothing an agent does takes another path), on
/// the worker's first tool call. Its requests are logged and counted like any, under the
/// MCP request's id.
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
    replayed: bool,
    /// `None`: larger than is read at all.
    body: Option<Value>,
}

/// Where an upload's file comes from.
enum File {
    Bytes(Vec<u8>),
    Url(url::Url),
}

/// A request whose arguments all fit, before its file (if any) is fetched.
struct Checked {
    request: Request,
    /// An upload's file and the form's other fields.
    upload: Option<(File, Vec<(String, String)>)>,
}

/// Calls `tool` with `arguments`: the protocol's result (`isError` for what the API
/// refused, with its problem document), or an error for arguments that do not fit.
pub async fn call(
    caller: &Caller<'_>,
    tool: &Tool,
    mut arguments: Map<String, Value>,
) -> Result<Value, RpcError> {
    // A model often sends `null` for "not given".
    arguments.retain(|_, value| !value.is_null());
    let checked = check(caller, tool, arguments)?;
    let request = match with_file(caller, checked).await {
        Ok(request) => request,
        // The image could not be fetched: the agent hears why, as a failed call.
        Err(problem) => return Ok(failed(&problem)),
    };
    let internal = |error: ApiError| RpcError::new(INTERNAL_ERROR, error.to_string());
    let mut answer = send(caller, request).await.map_err(internal)?;
    // An old slug: followed once, as a browser would, to where the API says it lives.
    let base = crate::http::base_url(caller.req);
    let mut moved = false;
    if answer.status.is_redirection()
        && tool.method == Method::GET
        && let Some(path) = answer.location.as_deref().and_then(|l| api_path(l, &base))
    {
        moved = true;
        let request = Request {
            method: Method::GET,
            path_and_query: path,
            headers: Vec::new(),
            body: Vec::new(),
        };
        answer = send(caller, request).await.map_err(internal)?;
    }
    let Some(mut body) = answer.body.take() else {
        return Ok(too_large(tool));
    };
    if !answer.status.is_success() {
        return Ok(failed(&problem(answer.status, body)));
    }
    if answer.status == StatusCode::NO_CONTENT {
        return Ok(json!({
            "content": [text(&format!("Done ({}).", status_line(answer.status)))],
            "isError": false,
        }));
    }
    // A new draft (not a replay of one) answers with a link to see it.
    if tool.writes_article && answer.status == StatusCode::CREATED && !answer.replayed {
        with_preview(caller, &mut body).await;
    }
    let body = match body {
        Value::Object(_) => body,
        other => json!({"items": other}),
    };
    let Some((body, cut)) = fit(tool, body) else {
        return Ok(too_large(tool));
    };
    let json = serde_json::to_string(&body).unwrap_or_default();
    Ok(json!({
        // A line to read first, then the answer itself for hosts that show only text.
        "content": [text(&summary(&answer, &body, &cut, moved)), text(&json)],
        "structuredContent": body,
        "isError": false,
    }))
}

/// The path and query of a link lede made to itself under `/api/v1/` (where a moved
/// article now answers), `base` (which may have a path of its own) taken off.
fn api_path(location: &str, base: &str) -> Option<String> {
    let rest = location.strip_prefix(base)?;
    let url = url::Url::parse("http://lede.invalid")
        .ok()?
        .join(rest)
        .ok()?;
    url.path()
        .starts_with("/api/v1/")
        .then(|| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
}

/// The answer within an agent's limit: as it is; a list that is not (nothing was
/// changed by reading it) `None`, to be narrowed; one thing (an article, a write's answer,
/// which must not read as failed) cut, what was cut named: its largest list to the items
/// that fit, else its largest field left out.
fn fit(tool: &Tool, mut body: Value) -> Option<(Value, Vec<String>)> {
    let size = |value: &Value| serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    let mut cut = Vec::new();
    if size(&body) <= MAX_ANSWER_BYTES {
        return Some((body, cut));
    }
    if tool.method == Method::GET && body["data"].is_array() {
        return None;
    }
    while size(&body) > MAX_ANSWER_BYTES {
        let whole = size(&body);
        let fields = body.as_object_mut()?;
        let (largest, largest_size) = fields
            .iter()
            .map(|(name, value)| (name.clone(), size(value)))
            .max_by_key(|(_, size)| *size)?;
        let budget = MAX_ANSWER_BYTES.saturating_sub(whole - largest_size);
        if let Some(items) = fields.get_mut(&largest).and_then(Value::as_array_mut)
            && items.len() > 1
        {
            let total = items.len();
            let (mut used, mut keep) = (2, 0);
            for item in items.iter() {
                used += size(item) + 1;
                if used > budget {
                    break;
                }
                keep += 1;
            }
            if keep > 0 {
                items.truncate(keep);
                cut.push(format!("{largest} ({keep} of {total} shown)"));
                continue;
            }
        }
        fields.remove(&largest);
        cut.push(largest);
    }
    Some((body, cut))
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// What the API refused with: its problem document, or one made from the status for an
/// answer that is not one (a redirect that leads outside the API).
fn problem(status: StatusCode, body: Value) -> Value {
    if body["title"].is_string() {
        return body;
    }
    json!({"type": "about:blank", "title": status.canonical_reason().unwrap_or("Refused"),
        "status": status.as_u16(), "detail": status_line(status), "errors": []})
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

/// A list too large for an agent's context: refused, with the arguments that narrow it.
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
    let filters: Vec<String> = ["q", "tag", "author", "status", "article"]
        .into_iter()
        .filter(|name| has(name))
        .map(|name| format!("`{name}`"))
        .collect();
    if !filters.is_empty() {
        ways.push(format!("filter with {}", filters.join(", ")));
    }
    if ways.is_empty() {
        ways.push("ask for less at a time".to_owned());
    }
    let detail = format!(
        "the answer is more than the {} KB an agent's answer may be; to narrow it, {}",
        MAX_ANSWER_BYTES / 1000,
        ways.join("; or ")
    );
    failed(
        &json!({"type": "about:blank#too_large", "title": "Answer too large", "status": 413,
        "detail": detail, "errors": []}),
    )
}

/// One line an agent reads first: the status, what the answer is, how to go on.
fn summary(answer: &Answer, body: &Value, cut: &[String], moved: bool) -> String {
    let mut line = status_line(answer.status);
    if let Some(items) = body["data"].as_array() {
        let plural = if items.len() == 1 { "" } else { "s" };
        line.push_str(&format!(": {} item{plural}", items.len()));
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
        // Quoted as JSON: a title's quotes and line breaks stay inside it.
        match ["title", "name", "email", "slug"]
            .iter()
            .find_map(|key| body[*key].as_str())
        {
            Some(label) => line.push_str(&format!(": {} ({id})", json!(label))),
            None => line.push_str(&format!(": {id}")),
        }
        if let Some(status) = body["status"].as_str() {
            line.push_str(&format!(", {status}"));
        }
    }
    if moved && let Some(slug) = body["slug"].as_str() {
        line.push_str(&format!(
            " (found by an old slug: call it by \"{slug}\" from now on)"
        ));
    }
    if answer.replayed {
        line.push_str(" (the first call's answer, replayed: nothing was written again)");
    }
    if !cut.is_empty() {
        line.push_str(&format!(
            ". Cut as too large for an agent: {}",
            cut.join(", ")
        ));
    }
    // An ETag matters to what may be changed next, not to a list.
    if let Some(etag) = answer.etag.as_ref().filter(|_| body["data"].is_null()) {
        line.push_str(&format!(
            ". ETag {etag}: pass it as `if_match` to change this safely"
        ));
    }
    match body["preview"]["url"].as_str() {
        // Last, and with nothing after it: the link is copied as it stands.
        Some(url) => line.push_str(&format!(
            ". Preview link (anyone with it sees the draft, for an hour): {url}"
        )),
        None => line.push('.'),
    }
    line
}

/// A new draft's (or scheduled or submitted article's) answer gains a signed link to see it
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

/// Whether the tool takes an argument of this name.
fn takes(tool: &Tool, name: &str) -> bool {
    tool.arguments.iter().any(|a| a.name == name)
        || match &tool.body {
            Body::None => false,
            Body::Json { .. } => name == "body",
            Body::Upload { fields } => {
                name == FILE_BASE64 || name == FILE_URL || fields.iter().any(|f| f == name)
            }
        }
}

/// The request `arguments` stand for, every argument checked (nothing is fetched yet):
/// the protocol's error, naming each that does not fit.
fn check(
    caller: &Caller<'_>,
    tool: &Tool,
    mut arguments: Map<String, Value>,
) -> Result<Checked, RpcError> {
    let mut errors = Vec::new();
    for name in arguments.keys().filter(|name| !takes(tool, name)) {
        errors.push(FieldError::new(
            name,
            "unknown_field",
            format!("`{name}` is not an argument of `{}`", tool.name),
        ));
    }
    let mut path = tool.path.clone();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    for argument in &tool.arguments {
        let name = &argument.name;
        let Some(value) = arguments.remove(name) else {
            if argument.required {
                errors.push(FieldError::new(
                    name,
                    "required",
                    format!("`{name}` is required"),
                ));
            } else if name == "per_page" {
                query.append_pair("per_page", &AGENT_PAGE.to_string());
            }
            continue;
        };
        let values: Option<Vec<String>> = match (&argument.place, &value) {
            (Place::Query, Value::Array(items)) if items.len() <= MAX_REPEATS => {
                items.iter().map(scalar).collect()
            }
            (_, value) => scalar(value).map(|one| vec![one]),
        };
        let Some(values) = values.filter(|v| !v.is_empty()) else {
            errors.push(FieldError::new(
                name,
                "invalid_type",
                format!("`{name}` must be a string, a number or true/false (a query parameter: or up to {MAX_REPEATS} of them)"),
            ));
            continue;
        };
        if values
            .iter()
            .any(|v| v.chars().count() > MAX_ARGUMENT_CHARS)
        {
            errors.push(FieldError::new(
                name,
                "too_long",
                format!("`{name}` may be at most {MAX_ARGUMENT_CHARS} characters"),
            ));
            continue;
        }
        match &argument.place {
            Place::Path if matches!(values[0].as_str(), "" | "." | "..") => {
                errors.push(FieldError::new(
                    name,
                    "invalid_value",
                    format!("`{name}` must name something"),
                ));
            }
            Place::Path => {
                let segment =
                    percent_encoding::utf8_percent_encode(&values[0], SEGMENT).to_string();
                path = path.replace(&format!("{{{name}}}"), &segment);
            }
            Place::Query => {
                for value in &values {
                    query.append_pair(name, value);
                }
            }
            Place::Header(header) => match header::HeaderName::try_from(header.as_str()) {
                Ok(_) if values[0].trim().is_empty() => errors.push(FieldError::new(
                    name,
                    "required",
                    format!("`{name}` must not be empty (leave it out instead)"),
                )),
                Ok(header) if header::HeaderValue::from_str(&values[0]).is_ok() => {
                    headers.push((header.clone(), quoted(&header, &values[0])))
                }
                _ => errors.push(FieldError::new(
                    name,
                    "invalid_format",
                    format!("`{name}` must be text without line breaks or control characters"),
                )),
            },
        }
    }
    let mut upload = None;
    let body = match &tool.body {
        Body::None => Vec::new(),
        Body::Json {
            content_type,
            required,
        } => match arguments.remove("body") {
            Some(body) => {
                headers.push((header::CONTENT_TYPE, content_type.clone()));
                serde_json::to_vec(&body).unwrap_or_default()
            }
            None => {
                if *required {
                    errors.push(FieldError::new("body", "required", "`body` is required"));
                }
                Vec::new()
            }
        },
        Body::Upload { fields } => {
            let mut form = Vec::new();
            for field in fields {
                match arguments.get(field).map(scalar) {
                    None => {}
                    Some(Some(value)) => form.push((field.clone(), value)),
                    Some(None) => errors.push(FieldError::new(
                        field,
                        "invalid_type",
                        format!("`{field}` must be a string or a number"),
                    )),
                }
            }
            let limit = caller.state.image_max_bytes.min(MAX_AGENT_IMAGE);
            if let Some(file) = file(&mut arguments, limit, &mut errors) {
                upload = Some((file, form));
            }
            Vec::new()
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
    Ok(Checked {
        request: Request {
            method: tool.method.clone(),
            path_and_query,
            headers,
            body,
        },
        upload,
    })
}

/// An ETag as `If-Match` wants it: quoted, as answers give it (an agent that copies it
/// without its quotes means the same version).
fn quoted(header: &header::HeaderName, value: &str) -> String {
    let value = value.trim();
    if header != header::IF_MATCH
        || value == "*"
        || value.starts_with('"')
        || value.starts_with("W/")
    {
        value.to_owned()
    } else {
        format!("\"{value}\"")
    }
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

/// Where an upload's file is: decoded from `file_base64` (at most `limit` bytes), or the
/// URL in `file_url`; `None` with what is wrong noted.
fn file(
    arguments: &mut Map<String, Value>,
    limit: usize,
    errors: &mut Vec<FieldError>,
) -> Option<File> {
    let mut fail = |field: &str, code: &str, message: String| {
        errors.push(FieldError::new(field, code, message));
        None
    };
    match (arguments.remove(FILE_BASE64), arguments.remove(FILE_URL)) {
        (Some(Value::String(encoded)), None) => {
            // A `data:` URL's header goes; so does whitespace a tool may wrap lines with.
            let encoded = match encoded.split_once(";base64,") {
                Some((head, rest)) if head.starts_with("data:") => rest,
                _ => encoded.as_str(),
            };
            let compact: std::borrow::Cow<str> = if encoded.bytes().any(|b| b.is_ascii_whitespace())
            {
                encoded
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect::<String>()
                    .into()
            } else {
                encoded.into()
            };
            let too_large = || format!("the image may be at most {limit} bytes");
            if compact.len() > limit.div_ceil(3) * 4 {
                return fail(FILE_BASE64, "too_large", too_large());
            }
            // With or without its `=` padding.
            const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            match BASE64.decode(compact.as_bytes()) {
                Ok(bytes) if bytes.len() <= limit => Some(File::Bytes(bytes)),
                Ok(_) => fail(FILE_BASE64, "too_large", too_large()),
                Err(error) => fail(
                    FILE_BASE64,
                    "invalid_format",
                    format!("{FILE_BASE64} is not base64: {error}"),
                ),
            }
        }
        (None, Some(Value::String(address))) => match url::Url::parse(&address) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(File::Url(url)),
            _ => fail(
                FILE_URL,
                "invalid_format",
                format!("{FILE_URL} must be an absolute http(s) URL"),
            ),
        },
        (None, None) => fail(
            FILE_BASE64,
            "required",
            format!("give the image as `{FILE_BASE64}` or `{FILE_URL}`"),
        ),
        (Some(_), Some(_)) => fail(
            FILE_URL,
            "conflict",
            format!("give `{FILE_BASE64}` or `{FILE_URL}`, not both"),
        ),
        _ => fail(
            FILE_BASE64,
            "invalid_type",
            format!("the image is a string: base64 in `{FILE_BASE64}` or a URL in `{FILE_URL}`"),
        ),
    }
}

/// The request, its upload's file fetched (under the importer's rules: public addresses
/// only, bounded in bytes and time) and the form made; the problem when it cannot be.
async fn with_file(caller: &Caller<'_>, checked: Checked) -> Result<Request, Value> {
    let Checked {
        mut request,
        upload,
    } = checked;
    let Some((file, form)) = upload else {
        return Ok(request);
    };
    let bytes = match file {
        File::Bytes(bytes) => bytes,
        File::Url(url) => {
            let allow_private = caller.state.webhooks.allow_private();
            let limit = caller.state.image_max_bytes.min(MAX_AGENT_IMAGE);
            let client = crate::outbound::fetch::client(
                allow_private,
                concat!("lede-agents/", env!("CARGO_PKG_VERSION")),
                PRIVATE_HINT,
            )
            .map_err(|error| unreachable_image(&error.to_string()))?;
            crate::outbound::fetch::bytes(&client, url, limit, allow_private, PRIVATE_HINT)
                .await
                .map_err(|why| unreachable_image(&why))?
        }
    };
    let boundary = format!("lede-agent-{}", uuid::Uuid::now_v7().simple());
    request.headers.push((
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    ));
    request.body = multipart(&boundary, &bytes, &form);
    Ok(request)
}

fn unreachable_image(why: &str) -> Value {
    json!({"type": "about:blank#unreachable", "title": "The image could not be fetched",
        "status": 422, "detail": format!("nothing was stored from `{FILE_URL}`"),
        "errors": [{"field": FILE_URL, "code": "unreachable", "message": why}]})
}

/// The upload form: the file, then the other fields given.
fn multipart(boundary: &str, file: &[u8], form: &[(String, String)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    for (field, value) in form {
        body.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// Sends `request` through the app as the caller, from the caller's address, under the
/// MCP request's id.
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
    if let Some(id) = caller.req.extensions().get::<RequestId>()
        && let Ok(id) = header::HeaderValue::from_str(&id.0)
    {
        head.headers.insert(REQUEST_ID, id);
    }
    head.headers.insert(
        header::ACCEPT,
        header::HeaderValue::from_static("application/json"),
    );
    let response = caller.inner.send(inner).await?;
    let read = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = read("etag");
    let location = read("location");
    let replayed = read(REPLAYED).is_some_and(|v| v == "true");
    let status = response.status();
    let body = match actix_web::body::to_bytes_limited(response.into_body(), MAX_READ_BYTES).await {
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
        Err(_) => None,
    };
    Ok(Answer {
        status,
        etag,
        location,
        replayed,
        body,
    })
}
