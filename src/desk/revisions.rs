//! An article's revisions: the list, a comparison of any two (fields, and the markdown line
//! by line), and `Restore` of an older one, saved as a new revision over the version the
//! page was opened at (as `If-Match` guards any save).
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::api::{Api, encode};
use super::page::{DeskError, Frame, Person, Posted, html, see_other, short_time};
use crate::error::ApiError;

/// One line of a diff.
pub struct DiffLine {
    /// `same`, `added`, `removed`, or `gap` (unchanged lines left out).
    pub kind: &'static str,
    pub text: String,
}

/// Lines of context kept around each change.
const CONTEXT: usize = 3;
/// A diff of two long, very different bodies gives up looking for the shortest one here.
const DIFF_TIME: Duration = Duration::from_millis(500);

/// The most diff lines a page shows (two long, very different bodies make millions).
const MOST_LINES: usize = 2_000;

/// `line_diff` off the async workers (a long body's diff is CPU work), at most
/// `MOST_LINES` of it.
pub async fn bounded_diff(old: String, new: String) -> Result<Vec<DiffLine>, ApiError> {
    let mut lines = web::block(move || line_diff(&old, &new)).await?;
    if lines.len() > MOST_LINES {
        let left = lines.len() - MOST_LINES;
        lines.truncate(MOST_LINES);
        lines.push(DiffLine {
            kind: "gap",
            text: format!("… and {left} more lines"),
        });
    }
    Ok(lines)
}

/// `old` to `new`, line by line, with a little context around each change.
fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::configure()
        .timeout(DIFF_TIME)
        .diff_lines(old, new);
    let mut lines = Vec::new();
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            lines.push(DiffLine {
                kind: "gap",
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                lines.push(DiffLine {
                    kind: match change.tag() {
                        ChangeTag::Equal => "same",
                        ChangeTag::Insert => "added",
                        ChangeTag::Delete => "removed",
                    },
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    lines
}

pub struct Summary {
    pub version: i64,
    pub title: String,
    pub status: String,
    pub by: String,
    pub at: String,
}

/// A field that differs between the two compared revisions.
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

pub struct Comparison {
    pub old: i64,
    pub new: i64,
    pub fields: Vec<FieldChange>,
    pub body: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsPage {
    frame: Frame,
    id: String,
    title: String,
    version: String,
    revisions: Vec<Summary>,
    comparison: Option<Comparison>,
    /// The page of older revisions.
    older: Option<String>,
    /// Where this page starts (empty: the newest).
    cursor: String,
    /// The article's version now (not offered to restore).
    current: i64,
}

impl RevisionsPage {
    /// Whether this page lists a revision other than the current one.
    fn restorable(&self) -> bool {
        self.revisions.iter().any(|r| r.version != self.current)
    }
}

#[derive(Deserialize)]
pub struct Compare {
    a: Option<i64>,
    b: Option<i64>,
    /// Where a page of older revisions starts.
    #[serde(default)]
    cursor: String,
}

/// The fields a revision holds that a comparison shows, beside the body.
const COMPARED: &[(&str, &str)] = &[
    ("title", "Title"),
    ("subtitle", "Subtitle"),
    ("excerpt", "Excerpt"),
    ("status", "Status"),
    ("published_at", "Published at"),
    ("author_id", "Author"),
    ("cover_image", "Cover"),
    ("tag_ids", "Tags"),
    ("meta_title", "Meta title"),
    ("meta_description", "Meta description"),
];

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub async fn list(
    req: HttpRequest,
    person: Person,
    id: web::Path<String>,
    compare: web::Query<Compare>,
) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    let path = format!("/api/v1/articles/{}", encode(&id));
    let (article, version) = api.get_versioned(&path).await?;
    let mut revisions_path = format!("{path}/revisions?per_page=100");
    if !compare.cursor.is_empty() {
        revisions_path.push_str(&format!("&cursor={}", encode(&compare.cursor)));
    }
    let list = api.get(&revisions_path).await?;
    let older = list["meta"]["next_cursor"].as_str().map(|cursor| {
        format!(
            "/desk/articles/{}/revisions?cursor={}",
            encode(&id),
            encode(cursor)
        )
    });
    let revisions: Vec<Summary> = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Summary {
            version: r["version"].as_i64().unwrap_or_default(),
            title: r["title"].as_str().unwrap_or_default().to_owned(),
            status: r["status"].as_str().unwrap_or_default().to_owned(),
            by: r["saved_by_name"].as_str().unwrap_or("lede").to_owned(),
            at: short_time(r["created_at"].as_str().unwrap_or_default()),
        })
        .collect();
    let comparison = match (compare.a, compare.b) {
        (Some(a), Some(b)) => {
            let (old, new) = (a.min(b), a.max(b));
            let older = api.get(&format!("{path}/revisions/{old}")).await?;
            let newer = api.get(&format!("{path}/revisions/{new}")).await?;
            let fields = COMPARED
                .iter()
                .filter(|(name, _)| older[*name] != newer[*name])
                .map(|(name, label)| FieldChange {
                    field: label,
                    old: shown(&older[*name]),
                    new: shown(&newer[*name]),
                })
                .collect();
            let body = bounded_diff(
                older["body_markdown"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                newer["body_markdown"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .await?;
            Some(Comparison {
                old,
                new,
                fields,
                body,
            })
        }
        _ => None,
    };
    let title = article["title"].as_str().unwrap_or_default().to_owned();
    html(&RevisionsPage {
        frame: Frame::new(format!("Revisions: {title}"), &person, "articles"),
        id: article["id"].as_str().unwrap_or_default().to_owned(),
        title,
        version,
        revisions,
        comparison,
        older,
        cursor: compare.cursor.clone(),
        current: article["version"].as_i64().unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub struct Restore {
    csrf: String,
    /// The article's version the page was opened at.
    version: String,
    /// The revision to bring back.
    revision: i64,
}

/// Saves an older revision's content as the newest revision (its status stays as it is).
pub async fn restore(
    req: HttpRequest,
    id: web::Path<String>,
    posted: Posted<Restore>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let Posted { person, form } = posted;
    if !super::editor::is_version(&form.version) {
        return Err(ApiError::BadRequest(
            "this form has no version of the article: open its revisions again".into(),
        )
        .into());
    }
    let path = format!("/api/v1/articles/{}", encode(&id));
    let old = api
        .get(&format!("{path}/revisions/{}", form.revision))
        .await?;
    let mut changes = Map::new();
    for field in [
        "title",
        "subtitle",
        "excerpt",
        "body_markdown",
        "cover_image",
        "meta_title",
        "meta_description",
    ] {
        changes.insert(field.into(), old[field].clone());
    }
    changes.insert("tags".into(), old["tag_ids"].clone());
    if person.is_staff() && old["author_id"].is_string() {
        changes.insert("author".into(), old["author_id"].clone());
    }
    let answer = api
        .send(
            Method::PATCH,
            &path,
            Some(&Value::Object(changes)),
            Some(&form.version),
        )
        .await?;
    match answer {
        Ok(_) => Ok(see_other(&format!(
            "/desk/articles/{}?done=restored",
            encode(&id)
        ))),
        Err(refusal) if refusal.status == actix_web::http::StatusCode::PRECONDITION_FAILED => {
            Err(DeskError::Api(ApiError::Conflict {
                detail: "Someone saved the article after this page was opened: nothing was \
                         restored. Open its revisions again to see the newest one first."
                    .to_owned(),
                errors: Vec::new(),
            }))
        }
        Err(refusal) => Err(DeskError::Refused(refusal)),
    }
}

super::page::csrf_field!(Restore);
