//! The article list's query string: filters and order, parsed and checked.

use chrono::{DateTime, Utc};
use utoipa::IntoParams;

use super::model::Kind;
use super::queries::Filters;
use super::write::MAX_TAGS;
use crate::error::ApiError;
use crate::listing::{Status, StatusFilter};

/// Filters and order of the article list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct ArticleQuery {
    /// Only this author's articles (id or slug).
    #[param(example = "ines-marchetti")]
    author: Option<String>,
    /// Only articles with this tag (id or slug); repeat it to require several.
    #[param(style = Form, explode, example = json!(["cities"]))]
    tag: Option<Vec<String>>,
    /// `published` (the default, with a token or without), `draft`, `scheduled`,
    /// `archived`, or `any` (every status the token may see). Anything but `published`
    /// needs a token (403 otherwise).
    status: Option<StatusFilter>,
    /// Published at or after this time (RFC 3339), or this date (`2025-10-28`: its
    /// midnight, UTC).
    #[param(value_type = Option<String>, example = "2025-10-28")]
    published_after: Option<crate::http::Timestamp>,
    /// Published before this time, or this date's midnight UTC.
    #[param(value_type = Option<String>, example = "2025-11-01T00:00:00Z")]
    published_before: Option<crate::http::Timestamp>,
    /// Full-text search (title, subtitle, excerpt, body and captions, tags, author), as on a
    /// search engine: words (all must match, stemmed), `"exact phrase"`, `-excluded`, `or`.
    /// Hits are ranked and carry a `snippet`. Past 1,000 hits `meta.total` is an estimate
    /// (`meta.total_estimated`).
    #[param(example = "night tram")]
    q: Option<String>,
    /// `published_at` (default, newest first as `-published_at`), `title`, `updated_at`,
    /// `created_at`, or `relevance` (with `q`; its default then). Prefix `-` for descending.
    /// A search (`q`) sorts by relevance or a time, not by `title` (400).
    #[param(
        example = "-published_at",
        pattern = r"^-?(published_at|title|updated_at|created_at|relevance)$"
    )]
    sort: Option<String>,
    /// `article` (default) or `page`: lists, searches and feeds show one kind at a time.
    kind: Option<Kind>,
    /// `body`: also return `body_markdown` and `body_html` in each item. Without it a list
    /// item is a card: everything else of the article (`toc` included), ~20x smaller.
    #[param(example = "body", pattern = "^body$")]
    include: Option<String>,
}

/// Parses the list's own parameters (the paging ones are `Pagination`'s).
pub(super) fn parse_filters(query: &str, authenticated: bool) -> Result<Filters, ApiError> {
    // Published unless asked: a token sent for previews shows no drafts on a home page.
    let mut filters = Filters {
        status: Some(Status::Published),
        ..Filters::default()
    };
    let bad = |name: &str, message: &str| {
        ApiError::BadRequest(format!("query parameter `{name}` {message}"))
    };
    // A date alone is that day's midnight, UTC.
    let time = |name: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
            })
            .map_err(|_| {
                bad(
                    name,
                    "must be an RFC 3339 time such as 2025-10-28T09:30:00Z, or a date (2025-10-28: midnight UTC)",
                )
            })
    };
    let mut seen_once: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if matches!(key.as_ref(), "kind" | "status") {
            if seen_once.iter().any(|k| k == key.as_ref()) {
                return Err(bad(&key, "may be given once"));
            }
            seen_once.push(key.to_string());
        }
        match key.as_ref() {
            "author" | "tag" if value.chars().count() > 100 => {
                return Err(bad(
                    &key,
                    "must be an id or a slug (at most 100 characters)",
                ));
            }
            "author" => filters.author = Some(value.into_owned()),
            "tag" if filters.tags.len() >= MAX_TAGS => {
                return Err(bad("tag", "may be given at most 20 times"));
            }
            "tag" => filters.tags.push(value.into_owned()),
            "status" => {
                let status: StatusFilter = serde_json::from_value(serde_json::Value::String(
                    value.to_string(),
                ))
                .map_err(|_| {
                    bad(
                        "status",
                        "must be draft, scheduled, published, archived or any",
                    )
                })?;
                if status != StatusFilter::Published && !authenticated {
                    return Err(ApiError::Forbidden(format!(
                        "listing {value} articles needs a token"
                    )));
                }
                filters.status = status.status();
            }
            "published_after" => filters.published_after = Some(time("published_after", &value)?),
            "published_before" => {
                filters.published_before = Some(time("published_before", &value)?)
            }
            "kind" => {
                filters.kind = serde_json::from_value(serde_json::Value::String(value.to_string()))
                    .map_err(|_| bad("kind", "must be article or page"))?;
            }
            "include" if value == "body" => filters.include_body = true,
            "include" => return Err(bad("include", "may only be `body`")),
            "q" => {
                let q = value.trim();
                if q.chars().count() > 200 {
                    return Err(bad("q", "may be at most 200 characters"));
                }
                if !q.is_empty() {
                    filters.q = Some(q.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(filters)
}
