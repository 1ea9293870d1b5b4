//! Tags (editors and admins) at `/desk/tags`: each with its public articles counted; rename
//! (the old slug keeps leading to it), merge into another (its articles move, its slugs
//! lead to the one that stays) and delete. Every change is the API's (`update_tag`,
//! `merge_tag`, `delete_tag`).
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::api::Api;
use super::page::{
    DeskError, Frame, Person, Posted, flash_from, html, next_page, optional, see_other, text,
    total_of,
};
use crate::state::AppState;

struct Row {
    id: String,
    name: String,
    slug: String,
    description: String,
    articles: i64,
}

#[derive(Template)]
#[template(path = "tags.html")]
struct TagsPage {
    frame: Frame,
    rows: Vec<Row>,
    slugs: Vec<(String, String)>,
    total: String,
    next: Option<String>,
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("saved", "Saved. The old address keeps leading to the tag."),
    (
        "merged",
        "Merged. Its articles are under the tag that stays, and its address leads there.",
    ),
    ("deleted", "Deleted."),
];

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    browse: web::Query<super::page::Browse>,
) -> Result<HttpResponse, DeskError> {
    let person = person.staff()?;
    let api = Api::new(&req, None);
    let list = api
        .page("/api/v1/tags?per_page=50&sort=name", &browse.cursor)
        .await?;
    let rows = list["data"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|tag| Row {
                    id: text(&tag["id"]),
                    name: text(&tag["name"]),
                    slug: text(&tag["slug"]),
                    description: text(&tag["description"]),
                    articles: tag["article_count"].as_i64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    html(&TagsPage {
        frame: Frame::new("Tags", &person, "tags").with_flash(flash_from(DONE, &browse.done)),
        rows,
        slugs: super::choices::tag_slugs(&state).await?,
        total: total_of(&list),
        next: next_page(&list, "/desk/tags"),
    })
}

/// A tag's buttons: rename (with its fields), merge (into another) or delete.
#[derive(Deserialize)]
pub struct Change {
    csrf: String,
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    into: String,
}

pub async fn change(
    req: HttpRequest,
    id: web::Path<uuid::Uuid>,
    posted: Posted<Change>,
) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let api = posted.api(&req);
    let path = format!("/api/v1/tags/{id}");
    let (method, path, body, done) = match form.action.as_str() {
        "save" => (
            Method::PATCH,
            path,
            Some(json!({"name": form.name, "slug": form.slug.trim(),
                "description": optional(&form.description)})),
            "saved",
        ),
        "merge" => (
            Method::POST,
            format!("{path}/merge"),
            Some(json!({"into": form.into.trim()})),
            "merged",
        ),
        "delete" => (Method::DELETE, path, None, "deleted"),
        _ => {
            return Err(crate::error::ApiError::BadRequest("no such action".into()).into());
        }
    };
    api.write(method, &path, body.as_ref()).await?;
    Ok(see_other(&format!("/desk/tags?done={done}")))
}

super::page::csrf_field!(Change);
