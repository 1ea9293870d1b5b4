//! Bylines (editors and admins) at `/desk/authors`: each with its picture, bio, website,
//! the person who writes under it and its public articles counted; add, edit and delete (the
//! API refuses to delete a byline that still has articles, and says which). The picture is
//! uploaded to the library and shown cut square around its focal point. Every change is the
//! API's (`create_author`, `update_author`, `delete_author`).
use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Api;
use super::page::{
    DeskError, Frame, Person, Posted, flash_from, html, next_page, optional, see_other, text,
    total_of,
};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Default)]
struct Row {
    id: String,
    name: String,
    slug: String,
    email: String,
    bio: String,
    website: String,
    avatar_id: String,
    /// The picture as shown: its square crop when made, else the image.
    avatar_url: String,
    articles: i64,
    /// The people who write under it.
    people: String,
}

impl Row {
    fn of(author: &Value, people: &HashMap<String, Vec<String>>) -> Row {
        let avatar = &author["avatar"];
        let square = avatar["variants"].as_array().and_then(|variants| {
            variants
                .iter()
                .find(|v| v["name"] == "square")
                .map(|v| text(&v["url"]))
        });
        let id = text(&author["id"]);
        Row {
            name: text(&author["name"]),
            slug: text(&author["slug"]),
            email: text(&author["email"]),
            bio: text(&author["bio"]),
            website: text(&author["website"]),
            avatar_id: text(&avatar["id"]),
            avatar_url: square.unwrap_or_else(|| text(&avatar["url"])),
            articles: author["article_count"].as_i64().unwrap_or(0),
            people: people
                .get(&id)
                .map(|names| names.join(", "))
                .unwrap_or_default(),
            id,
        }
    }
}

#[derive(Template)]
#[template(path = "authors.html")]
struct AuthorsPage {
    frame: Frame,
    rows: Vec<Row>,
    /// The new byline's empty fields.
    blank: Row,
    total: String,
    next: Option<String>,
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("created", "Byline added."),
    ("saved", "Saved."),
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
        .page("/api/v1/authors?per_page=50&sort=name", &browse.cursor)
        .await?;
    let authors = list["data"].as_array().cloned().unwrap_or_default();
    let ids: Vec<Uuid> = authors
        .iter()
        .filter_map(|a| a["id"].as_str()?.parse().ok())
        .collect();
    let people = {
        let mut conn = crate::db::conn(&state.pool).await?;
        crate::users::queries::writing_as(&mut conn, &ids)
            .await
            .map_err(ApiError::from)?
    };
    let mut by_author: HashMap<String, Vec<String>> = HashMap::new();
    for (author, name) in people {
        by_author.entry(author.to_string()).or_default().push(name);
    }
    html(&AuthorsPage {
        frame: Frame::new("Bylines", &person, "authors").with_flash(flash_from(DONE, &browse.done)),
        rows: authors.iter().map(|a| Row::of(a, &by_author)).collect(),
        blank: Row::default(),
        total: total_of(&list),
        next: next_page(&list, "/desk/authors"),
    })
}

/// A byline's form: new, or an existing one's save or delete.
#[derive(Deserialize)]
pub struct Fields {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    avatar: String,
}

impl Fields {
    fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name,
            "email": optional(&self.email),
            "bio": optional(&self.bio),
            "website": optional(&self.website),
            "avatar": optional(&self.avatar),
        });
        if !self.slug.trim().is_empty() {
            body["slug"] = json!(self.slug.trim());
        }
        body
    }
}

pub async fn create(req: HttpRequest, posted: Posted<Fields>) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let mut body = posted.form.body();
    // A new byline leaves out what is not given (`null` is for clearing).
    if let Some(fields) = body.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
    api.write(Method::POST, "/api/v1/authors", Some(&body))
        .await?;
    Ok(see_other("/desk/authors?done=created"))
}

pub async fn change(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Fields>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let path = format!("/api/v1/authors/{id}");
    let (method, body, done) = match posted.form.action.as_str() {
        "save" => (Method::PATCH, Some(posted.form.body()), "saved"),
        "delete" => (Method::DELETE, None, "deleted"),
        _ => return Err(ApiError::BadRequest("no such action".into()).into()),
    };
    api.write(method, &path, body.as_ref()).await?;
    Ok(see_other(&format!("/desk/authors?done={done}")))
}

super::page::csrf_field!(Fields);
