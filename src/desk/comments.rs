//! Moderation (editors and admins) at `/desk/comments`: the queue by status, each comment
//! with the article it is on and the comment it answers; approve, mark as spam or delete one
//! or many at once; reply as staff; an article's whole thread, where its comments are closed
//! or opened. Every change is the API's (`update_comment`, `bulk_comment_status`,
//! `delete_comment`, `reply_to_comment`, `update_article`).
use std::collections::{BTreeMap, HashMap};

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::api::{Api, encode, query_pairs};
use super::choices::Choice;
use super::page::{
    DeskError, Frame, Person, Posted, flash_from, html, see_other, short_time, text, total_of,
};
use crate::error::ApiError;
use crate::state::AppState;

const STATUSES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("spam", "Spam"),
    ("trash", "Trash"),
    ("any", "Any status"),
];

/// A comment as the queue shows it.
struct Row {
    id: String,
    author: String,
    email: String,
    url: String,
    ip: String,
    body: String,
    when: String,
    status: String,
    staff: bool,
    deleted: bool,
    article_id: String,
    article: String,
    /// The commenter it answers, when it is a reply.
    answers: Option<String>,
}

impl Row {
    fn approved(&self) -> bool {
        self.status == "approved"
    }
}

/// The article a thread page is about.
struct Heading {
    id: String,
    title: String,
    open: bool,
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    article: Option<Uuid>,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "comments.html")]
struct QueuePage {
    frame: Frame,
    statuses: Vec<Choice>,
    thread: Option<Heading>,
    rows: Vec<Row>,
    total: String,
    next: Option<String>,
    /// Where a form sends the browser back to: this very page.
    back: String,
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("approved", "Approved."),
    ("spam", "Marked as spam."),
    ("deleted", "Deleted."),
    ("replied", "Your reply is published."),
    ("closed", "Comments are closed on this article."),
    ("opened", "Comments are open on this article."),
    ("none", "Select one or more comments first."),
];

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, DeskError> {
    let person = person.staff()?;
    let api = Api::new(&req, None);
    // An article's thread shows every status, oldest first; the queue the pending ones.
    let status = match (filters.status.as_str(), filters.article) {
        ("", Some(_)) => "any",
        ("", None) => "pending",
        (status, _) => status,
    };
    let sort = if filters.article.is_some() {
        "created_at"
    } else {
        "-created_at"
    };
    let article = filters.article.map(|id| id.to_string()).unwrap_or_default();
    let wanted = if status == "any" { "" } else { status };
    let list = api
        .get(&format!(
            "/api/v1/comments?per_page=50&sort={sort}{}",
            query_pairs(&[
                ("status", wanted),
                ("article", &article),
                ("cursor", filters.cursor.trim())
            ])
        ))
        .await?;
    let comments = list["data"].as_array().cloned().unwrap_or_default();

    // The articles' titles and the names of the comments answered, each read once.
    let mut article_ids: Vec<Uuid> = comments
        .iter()
        .filter_map(|c| c["article_id"].as_str()?.parse().ok())
        .chain(filters.article)
        .collect();
    article_ids.sort();
    article_ids.dedup();
    let headings = {
        let mut conn = crate::db::conn(&state.pool).await?;
        crate::articles::queries::headings(&mut conn, &article_ids)
            .await
            .map_err(ApiError::from)?
    };
    let titles: HashMap<String, (String, bool)> = headings
        .into_iter()
        .map(|(id, title, open)| (id.to_string(), (untitled(title), open)))
        .collect();
    let mut names: HashMap<String, String> = comments
        .iter()
        .map(|c| (text(&c["id"]), text(&c["author_name"])))
        .collect();
    let missing: Vec<Uuid> = comments
        .iter()
        .filter_map(|c| c["parent_id"].as_str())
        .filter(|parent| !names.contains_key(*parent))
        .filter_map(|parent| parent.parse().ok())
        .collect();
    for (id, name) in parent_names(&state, &missing).await? {
        names.insert(id.to_string(), name);
    }

    let rows = comments
        .iter()
        .map(|c| {
            let article_id = text(&c["article_id"]);
            Row {
                id: text(&c["id"]),
                author: text(&c["author_name"]),
                email: text(&c["author_email"]),
                url: text(&c["author_url"]),
                ip: text(&c["ip"]),
                body: text(&c["body_markdown"]),
                when: short_time(c["created_at"].as_str().unwrap_or_default()),
                status: text(&c["status"]),
                staff: c["staff"].as_bool().unwrap_or(false),
                deleted: !c["deleted_at"].is_null(),
                article: titles
                    .get(&article_id)
                    .map(|(title, _)| title.clone())
                    .unwrap_or_default(),
                article_id,
                answers: c["parent_id"].as_str().map(|parent| {
                    names
                        .get(parent)
                        .filter(|name| !name.is_empty())
                        .cloned()
                        .unwrap_or_else(|| "a removed comment".to_owned())
                }),
            }
        })
        .collect();
    let thread = filters.article.map(|id| {
        let id = id.to_string();
        let (title, open) = titles.get(&id).cloned().unwrap_or_default();
        Heading { id, title, open }
    });
    let total = total_of(&list);
    let own = |cursor: &str| {
        format!(
            "/desk/comments?status={}{}",
            encode(status),
            query_pairs(&[("article", &article), ("cursor", cursor)])
        )
    };
    let next = list["meta"]["next_cursor"].as_str().map(own);
    let title = match &thread {
        Some(thread) => format!("Comments on {}", thread.title),
        None => "Comments".to_owned(),
    };
    html(&QueuePage {
        frame: Frame::new(title, &person, "comments").with_flash(flash_from(DONE, &filters.done)),
        statuses: Choice::fixed(STATUSES, status),
        thread,
        rows,
        total,
        next,
        back: own(filters.cursor.trim()),
    })
}

/// The commenters' names of the comments `ids` (the ones a page's replies answer), in one
/// read below the API: moderators see every comment.
async fn parent_names(state: &AppState, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = crate::db::conn(&state.pool).await?;
    Ok(crate::comments::queries::names(&mut conn, ids).await?)
}

fn untitled(title: String) -> String {
    if title.trim().is_empty() {
        "(untitled)".to_owned()
    } else {
        title
    }
}

/// Where a form sends the browser back: a desk comments page the desk made (a short,
/// printable path), never elsewhere.
fn back_to(back: &str, done: &str) -> String {
    let made_here = back.starts_with("/desk/comments?")
        && back.len() <= 1000
        && back.bytes().all(|b| b.is_ascii_graphic());
    let page = if made_here { back } else { "/desk/comments?" };
    format!("{page}&done={done}")
}

/// One comment's buttons.
#[derive(Deserialize)]
pub struct Act {
    csrf: String,
    action: String,
    #[serde(default)]
    back: String,
}

pub async fn act(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Act>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let path = format!("/api/v1/comments/{id}");
    let (method, body, done) = match posted.form.action.as_str() {
        "approve" => (
            Method::PATCH,
            Some(json!({"status": "approved"})),
            "approved",
        ),
        "spam" => (Method::PATCH, Some(json!({"status": "spam"})), "spam"),
        "delete" => (Method::DELETE, None, "deleted"),
        _ => return Err(ApiError::BadRequest("no such action".into()).into()),
    };
    api.write(method, &path, body.as_ref()).await?;
    Ok(see_other(&back_to(&posted.form.back, done)))
}

/// The queue's bulk form: a status, and a `select-<id>` field per comment ticked.
#[derive(Deserialize)]
pub struct Bulk {
    csrf: String,
    status: String,
    #[serde(default)]
    back: String,
    #[serde(flatten)]
    selected: BTreeMap<String, String>,
}

pub async fn bulk(req: HttpRequest, posted: Posted<Bulk>) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let done = match form.status.as_str() {
        "approved" => "approved",
        "spam" => "spam",
        _ => return Err(ApiError::BadRequest("no such status".into()).into()),
    };
    let ids: Vec<&str> = form
        .selected
        .keys()
        .filter_map(|key| key.strip_prefix("select-"))
        .collect();
    if ids.is_empty() {
        return Ok(see_other(&back_to(&form.back, "none")));
    }
    let body = json!({"ids": ids, "status": form.status});
    let api = posted.api(&req);
    api.write(Method::POST, "/api/v1/comments/bulk-status", Some(&body))
        .await?;
    Ok(see_other(&back_to(&form.back, done)))
}

#[derive(Deserialize)]
pub struct Reply {
    csrf: String,
    body: String,
    #[serde(default)]
    back: String,
}

pub async fn reply(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Reply>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let body = json!({"body": posted.form.body});
    let path = format!("/api/v1/comments/{id}/replies");
    api.write(Method::POST, &path, Some(&body)).await?;
    Ok(see_other(&back_to(&posted.form.back, "replied")))
}

#[derive(Deserialize)]
pub struct Closing {
    csrf: String,
    open: String,
}

/// Closes or opens comments on an article.
pub async fn close(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Closing>,
) -> Result<HttpResponse, DeskError> {
    let open = match posted.form.open.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(ApiError::BadRequest("open is `true` or `false`".into()).into()),
    };
    let api = posted.api(&req);
    let body = json!({"comments_open": open});
    let path = format!("/api/v1/articles/{id}");
    api.write(Method::PATCH, &path, Some(&body)).await?;
    let done = if open { "opened" } else { "closed" };
    Ok(see_other(&format!(
        "/desk/comments?article={id}&done={done}"
    )))
}

super::page::csrf_field!(Act, Bulk, Reply, Closing);
