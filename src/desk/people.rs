//! People (admins) at `/desk/people`: invite (with a byline; the link shown once to hand
//! over, and mailed when mail is set up), change a role, disable and enable, end someone's
//! sessions, make a reset link; and whether admins must sign in with a passkey. Every change
//! is the API's (`invite_user`, `update_user`, `end_user_sessions`, `create_reset_link`,
//! `update_settings`).
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Api;
use super::choices::{self, Choice};
use super::page::{
    DeskError, Frame, Person, Posted, flash_from, html, html_showing, next_page, optional,
    see_other, see_other_showing, short_time, shown, text, total_of,
};
use crate::error::ApiError;
use crate::state::AppState;

pub const ROLES: &[(&str, &str)] = &[
    (
        "contributor",
        "Contributor: writes drafts, submits them for review",
    ),
    ("author", "Author: writes and publishes under one byline"),
    ("editor", "Editor: all content, review and moderation"),
    ("admin", "Admin: also people, tokens and webhooks"),
];

struct Row {
    id: String,
    name: String,
    email: String,
    role: String,
    status: String,
    byline: String,
    last_seen: String,
    roles: Vec<Choice>,
    me: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    frame: Frame,
    rows: Vec<Row>,
    roles: Vec<Choice>,
    authors: Vec<Choice>,
    admins_need_passkeys: bool,
    total: String,
    next: Option<String>,
}

/// A secret link made for someone, shown once.
#[derive(Template)]
#[template(path = "link_made.html")]
struct LinkPage {
    frame: Frame,
    /// Who it is for.
    to: String,
    /// None once shown (the page was opened again).
    link: Option<String>,
    mailed: bool,
}

/// Where a link made for someone is shown, once.
#[derive(Deserialize)]
pub struct Made {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    mailed: bool,
}

/// The page a new invitation or reset link is shown on (the link came in the shown cookie).
pub async fn link_page(
    req: HttpRequest,
    person: Person,
    made: web::Query<Made>,
) -> Result<HttpResponse, DeskError> {
    let person = person.admin()?;
    let title = match made.kind.as_str() {
        "reset" => "Reset link made",
        _ => "Invitation made",
    };
    let page = LinkPage {
        frame: Frame::new(title, &person, "people"),
        to: made.to.clone(),
        link: shown(&req),
        mailed: made.mailed,
    };
    html_showing(&req, &page, page.link.is_some())
}

/// To the page that shows a new link once.
fn showing_link(
    req: &HttpRequest,
    made: &serde_json::Value,
    kind: &str,
    link: &str,
) -> HttpResponse {
    let page = format!(
        "/desk/people/link?kind={kind}&to={}&mailed={}",
        super::api::encode(&text(&made["user"]["name"])),
        made["mailed"].as_bool().unwrap_or(false)
    );
    see_other_showing(req, &page, link)
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("role", "Role changed."),
    (
        "disabled",
        "Disabled: their sessions ended and their tokens were revoked.",
    ),
    ("enabled", "Enabled: they may sign in again."),
    (
        "sessions",
        "Their sessions ended: they are signed out everywhere.",
    ),
    ("setting", "Setting saved."),
];

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    browse: web::Query<super::page::Browse>,
) -> Result<HttpResponse, DeskError> {
    let person = person.admin()?;
    let api = Api::new(&req, None);
    let list = api
        .page("/api/v1/users?per_page=50", &browse.cursor)
        .await?;
    let rows = list["data"]
        .as_array()
        .map(|people| people.iter().map(|p| row(p, &person)).collect())
        .unwrap_or_default();
    let mut authors = vec![Choice {
        value: String::new(),
        label: "No byline".into(),
        selected: true,
    }];
    authors.extend(choices::authors(&state, "").await?);
    let settings = api.get("/api/v1/settings").await?;
    html(&PeoplePage {
        frame: Frame::new("People", &person, "people").with_flash(flash_from(DONE, &browse.done)),
        rows,
        roles: Choice::fixed(ROLES, "contributor"),
        authors,
        admins_need_passkeys: settings["admins_need_passkeys"].as_bool().unwrap_or(false),
        total: total_of(&list),
        next: next_page(&list, "/desk/people"),
    })
}

fn row(user: &Value, me: &Person) -> Row {
    let role = text(&user["role"]);
    let id = text(&user["id"]);
    Row {
        name: text(&user["name"]),
        email: text(&user["email"]),
        status: text(&user["status"]),
        byline: text(&user["author"]["name"]),
        last_seen: user["last_seen_at"]
            .as_str()
            .map(short_time)
            .unwrap_or_else(|| "never".to_owned()),
        roles: Choice::fixed(ROLES, &role),
        me: id == me.id.to_string(),
        role,
        id,
    }
}

#[derive(Deserialize)]
pub struct Invite {
    csrf: String,
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    author: String,
}

pub async fn invite(req: HttpRequest, posted: Posted<Invite>) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let mut body = json!({"email": form.email.trim(), "name": form.name.trim(), "role": form.role});
    if let Value::String(author) = optional(&form.author) {
        body["author"] = json!(author);
    }
    let made = posted
        .api(&req)
        .write(Method::POST, "/api/v1/users/invitations", Some(&body))
        .await?;
    let link = text(&made.body["invitation_url"]);
    Ok(showing_link(&req, &made.body, "invitation", &link))
}

/// A person's buttons.
#[derive(Deserialize)]
pub struct Change {
    csrf: String,
    action: String,
    #[serde(default)]
    role: String,
}

pub async fn change(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Change>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let path = format!("/api/v1/users/{id}");
    let (method, path, body, done) = match posted.form.action.as_str() {
        "role" => (
            Method::PATCH,
            path,
            Some(json!({"role": posted.form.role})),
            "role",
        ),
        "disable" => (
            Method::PATCH,
            path,
            Some(json!({"status": "disabled"})),
            "disabled",
        ),
        "enable" => (
            Method::PATCH,
            path,
            Some(json!({"status": "active"})),
            "enabled",
        ),
        "sessions" => (Method::DELETE, format!("{path}/sessions"), None, "sessions"),
        "reset" => {
            let made = api
                .write(Method::POST, &format!("{path}/reset-link"), None)
                .await?;
            let link = text(&made.body["reset_url"]);
            return Ok(showing_link(&req, &made.body, "reset", &link));
        }
        _ => return Err(ApiError::BadRequest("no such action".into()).into()),
    };
    api.write(method, &path, body.as_ref()).await?;
    Ok(see_other(&format!("/desk/people?done={done}")))
}

#[derive(Deserialize)]
pub struct Setting {
    csrf: String,
    #[serde(default)]
    admins_need_passkeys: Option<String>,
}

/// Whether admins must sign in with a passkey.
pub async fn setting(req: HttpRequest, posted: Posted<Setting>) -> Result<HttpResponse, DeskError> {
    let body = json!({"admins_need_passkeys": posted.form.admins_need_passkeys.is_some()});
    posted
        .api(&req)
        .write(Method::PATCH, "/api/v1/settings", Some(&body))
        .await?;
    Ok(see_other("/desk/people?done=setting"))
}

super::page::csrf_field!(Invite, Change, Setting);
