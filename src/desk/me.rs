//! One's own page at `/desk/me`: name and password, and API tokens (each secret shown once);
//! and the admins' page of every token at `/desk/tokens`. Every change is the API's
//! (`update_user`, `change_password`, `create_token`, `revoke_token`).
use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Api;
use super::choices::Choice;
use super::page::{
    CsrfOnly, DeskError, Frame, Person, Posted, flash_from, html_showing, see_other,
    see_other_showing, short_time, shown, text,
};
use super::people::ROLES;
use crate::principal::Role;

struct KeyRow {
    id: String,
    name: String,
    added: String,
    used: String,
}

struct TokenRow {
    id: String,
    name: String,
    role: String,
    owner: String,
    prefix: String,
    made: String,
    revoked: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    frame: Frame,
    name: String,
    email: String,
    tokens: Vec<TokenRow>,
    /// One's passkeys (on one's own page).
    passkeys: Vec<KeyRow>,
    roles: Vec<Choice>,
    /// Admins choose whose a token is; others make their own.
    owners: Vec<Choice>,
    /// A token just made: its secret, shown only now.
    secret: Option<String>,
    /// The page's own address (`/desk/me` or `/desk/tokens`).
    here: &'static str,
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("name", "Your name is saved."),
    (
        "password",
        "Your password is changed. Your other sessions ended.",
    ),
    ("revoked", "Revoked: it no longer works."),
    (
        "token",
        "Token made. Copy its secret now: it is shown only this once.",
    ),
    ("passkey", "Passkey added: sign in with it next time."),
    ("passkey-removed", "Passkey removed."),
];

/// Roles a person may give a token: theirs and those below; theirs chosen, or editor for
/// an admin (authors' and contributors' tokens need a byline, which a person's token takes
/// from them and a service token does not have).
fn roles_up_to(role: Role) -> Vec<Choice> {
    let allowed: Vec<(&str, &str)> = ROLES
        .iter()
        .filter(|(value, _)| Role::parse(value).is_some_and(|r| r.at_most(role)))
        .copied()
        .collect();
    Choice::fixed(&allowed, role.lower(Role::Editor).as_str())
}

async fn tokens(api: &Api<'_>, only: Option<Uuid>) -> Result<Vec<TokenRow>, DeskError> {
    let list = api.get("/api/v1/tokens?per_page=100").await?;
    let people: HashMap<String, String> = match only {
        // Names of the people tokens belong to, for an admin's list of all.
        None => api.get("/api/v1/users?per_page=100&fields=id,name").await?["data"]
            .as_array()
            .map(|people| {
                people
                    .iter()
                    .map(|p| (text(&p["id"]), text(&p["name"])))
                    .collect()
            })
            .unwrap_or_default(),
        Some(_) => HashMap::new(),
    };
    let rows = list["data"].as_array().cloned().unwrap_or_default();
    Ok(rows
        .iter()
        .filter(|t| only.is_none_or(|me| t["user_id"].as_str() == Some(&me.to_string())))
        .map(|t| TokenRow {
            id: text(&t["id"]),
            name: text(&t["name"]),
            role: text(&t["role"]),
            owner: match t["user_id"].as_str() {
                Some(id) => people.get(id).cloned().unwrap_or_default(),
                None => "no one (a service token)".to_owned(),
            },
            prefix: text(&t["secret_prefix"]),
            made: short_time(t["created_at"].as_str().unwrap_or_default()),
            revoked: t["revoked_at"].as_str().map(short_time),
        })
        .collect())
}

pub async fn page(
    req: HttpRequest,
    person: Person,
    done: web::Query<Done>,
) -> Result<HttpResponse, DeskError> {
    let secret = shown(&req);
    let api = Api::new(&req, None);
    let me = api.get("/api/v1/auth/me").await?;
    let keys = api.get("/api/v1/auth/passkeys").await?;
    let passkeys = keys
        .as_array()
        .map(|keys| {
            keys.iter()
                .map(|key| KeyRow {
                    id: text(&key["id"]),
                    name: text(&key["name"]),
                    added: short_time(key["created_at"].as_str().unwrap_or_default()),
                    used: key["last_used_at"]
                        .as_str()
                        .map(short_time)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = MePage {
        frame: Frame::new("My account", &person, "me").with_flash(flash_from(DONE, &done.done)),
        name: text(&me["user"]["name"]),
        email: text(&me["user"]["email"]),
        tokens: tokens(&api, Some(person.id)).await?,
        passkeys,
        roles: roles_up_to(person.role),
        owners: Vec::new(),
        here: "/desk/me",
        secret,
    };
    html_showing(&req, &page, page.secret.is_some())
}

pub async fn all(
    req: HttpRequest,
    person: Person,
    done: web::Query<Done>,
) -> Result<HttpResponse, DeskError> {
    let person = person.admin()?;
    let secret = shown(&req);
    let api = Api::new(&req, None);
    let people = api.get("/api/v1/users?per_page=100&fields=id,name").await?;
    let mut owners = vec![Choice {
        value: String::new(),
        label: "No one (a service token)".into(),
        selected: true,
    }];
    owners.extend(
        people["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Choice {
                value: text(&p["id"]),
                label: text(&p["name"]),
                selected: false,
            }),
    );
    let page = MePage {
        frame: Frame::new("Tokens", &person, "tokens").with_flash(flash_from(DONE, &done.done)),
        name: String::new(),
        email: String::new(),
        tokens: tokens(&api, None).await?,
        passkeys: Vec::new(),
        roles: roles_up_to(Role::Admin),
        owners,
        here: "/desk/tokens",
        secret,
    };
    html_showing(&req, &page, page.secret.is_some())
}

#[derive(Deserialize)]
pub struct Name {
    csrf: String,
    name: String,
}

pub async fn rename(req: HttpRequest, posted: Posted<Name>) -> Result<HttpResponse, DeskError> {
    let path = format!("/api/v1/users/{}", posted.person.id);
    posted
        .api(&req)
        .write(
            Method::PATCH,
            &path,
            Some(&json!({"name": posted.form.name})),
        )
        .await?;
    Ok(see_other("/desk/me?done=name"))
}

#[derive(Deserialize)]
pub struct Password {
    csrf: String,
    current_password: String,
    new_password: String,
}

pub async fn password(
    req: HttpRequest,
    posted: Posted<Password>,
) -> Result<HttpResponse, DeskError> {
    let body = json!({
        "current_password": posted.form.current_password,
        "new_password": posted.form.new_password,
    });
    posted
        .api(&req)
        .write(Method::POST, "/api/v1/auth/password", Some(&body))
        .await?;
    Ok(see_other("/desk/me?done=password"))
}

#[derive(Deserialize)]
pub struct NewToken {
    csrf: String,
    name: String,
    role: String,
    /// Admins on the tokens page: whose it is (empty: no one's).
    #[serde(default)]
    owner: Option<String>,
}

/// Makes a token and shows its secret, once, on the page it was made from.
pub async fn create(req: HttpRequest, posted: Posted<NewToken>) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let mut body = json!({"name": form.name, "role": form.role});
    let on_tokens_page = form.owner.is_some();
    // The tokens page is an admin's: refused before anything is made.
    if on_tokens_page {
        posted.person.clone().admin()?;
    }
    match form.owner.as_deref().map(str::trim) {
        // The tokens page: an admin's choice; none is a service token.
        Some("") => {}
        Some(owner) => body["user"] = Value::String(owner.to_owned()),
        // One's own page: one's own token (an admin's would otherwise be no one's).
        None => body["user"] = json!(posted.person.id),
    }
    let made = posted
        .api(&req)
        .write(Method::POST, "/api/v1/tokens", Some(&body))
        .await?;
    let page = if on_tokens_page {
        "/desk/tokens?done=token"
    } else {
        "/desk/me?done=token"
    };
    Ok(see_other_showing(&req, page, &text(&made.body["secret"])))
}

#[derive(Deserialize)]
pub struct Revoke {
    csrf: String,
    #[serde(default)]
    back: String,
}

pub async fn revoke(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Revoke>,
) -> Result<HttpResponse, DeskError> {
    posted
        .api(&req)
        .write(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
        .await?;
    let back = if posted.form.back == "/desk/tokens" {
        "/desk/tokens"
    } else {
        "/desk/me"
    };
    Ok(see_other(&format!("{back}?done=revoked")))
}

/// Removes one of one's passkeys.
pub async fn remove_passkey(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<CsrfOnly>,
) -> Result<HttpResponse, DeskError> {
    posted
        .api(&req)
        .write(Method::DELETE, &format!("/api/v1/auth/passkeys/{id}"), None)
        .await?;
    Ok(see_other("/desk/me?done=passkey-removed"))
}

super::page::csrf_field!(Name, Password, NewToken, Revoke);
