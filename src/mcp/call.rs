//! A tool call is the API request it stands for, made inside the process through the same
//! app (middleware, handlers, role checks, validation, write paths, the change feed) with
//! the caller's own token: what an agent may do and what it is told are exactly the API's.
use actix_web::HttpRequest;
use actix_web::http::{Method, StatusCode, header};
use serde_json::{Map, Value, json};

use super::answer::{failed, fit, problem, status_line, summary, text, too_large};
use super::protocol::{INTERNAL_ERROR, RpcError};
use super::tools::{AGENT_PAGE, Body, FILE_BASE64, FILE_URL, Place, Tool};
use super::upload::{self, File};
use crate::error::{ApiError, FieldError};
use crate::http::inner::{Inner, Request};
use crate::state::AppState;

/// The longest value of a path or query argument, and the most values of a repeated one.
const MAX_ARGUMENT_CHARS: usize = 2_000;
const MAX_REPEATS: usize = 100;
/// Characters allowed as they are in a path segment (RFC 3986's unreserved).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What every tool call of one MCP request shares.
pub struct Caller<'a> {
    pub req: &'a HttpRequest,
    pub state: &'a AppState,
    pub inner: &'a Inner,
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
    let mut answer = caller
        .inner
        .send(caller.req, request)
        .await
        .map_err(internal)?;
    // An old slug: followed once, as a browser would, to where the API says it lives.
    let mut moved = false;
    if answer.status.is_redirection()
        && tool.method == Method::GET
        && let Some(path) = answer
            .location
            .as_deref()
            .and_then(|l| api_path(l, &crate::http::base_url(caller.req)))
    {
        moved = true;
        let request = Request {
            method: Method::GET,
            path_and_query: path,
            headers: Vec::new(),
            body: Vec::new(),
        };
        answer = caller
            .inner
            .send(caller.req, request)
            .await
            .map_err(internal)?;
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
    let Some((body, json, cut)) = fit(tool, body) else {
        return Ok(too_large(tool));
    };
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
    if let Ok(answer) = caller.inner.send(caller.req, request).await
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
            let limit = upload::limit(caller.state);
            if let Some(file) = upload::file(&mut arguments, limit, &mut errors) {
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

/// The request, its upload's file had and the form made; the problem when it cannot be.
async fn with_file(caller: &Caller<'_>, checked: Checked) -> Result<Request, Value> {
    let Checked {
        mut request,
        upload,
    } = checked;
    let Some((file, form)) = upload else {
        return Ok(request);
    };
    let bytes = upload::bytes(caller.state, file).await?;
    let (content_type, body) = upload::multipart(&bytes, &form);
    request.headers.push((header::CONTENT_TYPE, content_type));
    request.body = body;
    Ok(request)
}
