//! What an agent is told: the API's answer within an agent's limit, a line to read first,
//! and refusals it can act on.
use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::tools::Tool;
use crate::http::inner::Answer;

/// The largest answer an agent gets, in bytes of JSON (about 25,000 tokens, what agents'
/// hosts keep of one tool's answer): a larger list is refused with how to narrow it, a
/// larger single answer loses its largest fields, named.
pub(super) const MAX_ANSWER_BYTES: usize = 100_000;

/// The answer within an agent's limit: as it is; a list that is not (nothing was
/// changed by reading it) `None`, to be narrowed; one thing (an article, a write's answer,
/// which must not read as failed) cut, what was cut named: its largest list to the items
/// that fit, else its largest field left out. With the answer as JSON text, written once.
pub(super) fn fit(tool: &Tool, mut body: Value) -> Option<(Value, String, Vec<String>)> {
    let size = |value: &Value| serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    let mut cut = Vec::new();
    loop {
        let json = serde_json::to_string(&body).ok()?;
        if json.len() <= MAX_ANSWER_BYTES {
            return Some((body, json, cut));
        }
        if cut.is_empty() && tool.method == Method::GET && body["data"].is_array() {
            return None;
        }
        let whole = json.len();
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
}

pub(super) fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

pub(super) fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// What the API refused with: its problem document, or one made from the status for an
/// answer that is not one (a redirect that leads outside the API).
pub(super) fn problem(status: StatusCode, body: Value) -> Value {
    if body["title"].is_string() {
        return body;
    }
    json!({"type": "about:blank", "title": status.canonical_reason().unwrap_or("Refused"),
        "status": status.as_u16(), "detail": status_line(status), "errors": []})
}

/// A refusal the agent can act on: the problem document as the API answered it, its
/// field errors in the text too.
pub(super) fn failed(problem: &Value) -> Value {
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
pub(super) fn too_large(tool: &Tool) -> Value {
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
pub(super) fn summary(answer: &Answer, body: &Value, cut: &[String], moved: bool) -> String {
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
