//! Webhooks (admins) at `/desk/webhooks`: subscribe a URL to events (its secret shown once),
//! change or delete it, ping it, rotate its secret, and see every delivery attempt with the
//! answer it got, redelivering any. Every change is the API's (`create_webhook`,
//! `update_webhook`, `delete_webhook`, `ping_webhook`, `rotate_webhook_secret`,
//! `redeliver_webhook_delivery`).
use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Api;
use super::page::{
    CsrfOnly, DeskError, Frame, Person, Posted, flash_from, html, html_showing, next_page,
    optional, see_other, see_other_showing, short_time, shown, text,
};
use crate::error::ApiError;

/// The events an endpoint may subscribe to, as the API names them.
fn events() -> Vec<String> {
    use strum::IntoEnumIterator;
    crate::changes::Event::iter()
        .map(|event| event.name().to_owned())
        .collect()
}

struct Hook {
    id: String,
    url: String,
    description: String,
    enabled: bool,
    disabled_reason: String,
    /// Each event, and whether it is subscribed.
    events: Vec<(String, bool)>,
}

impl Hook {
    fn of(hook: &Value) -> Hook {
        let chosen: Vec<String> = hook["events"]
            .as_array()
            .map(|events| events.iter().map(text).collect())
            .unwrap_or_default();
        Hook {
            id: text(&hook["id"]),
            url: text(&hook["url"]),
            description: text(&hook["description"]),
            enabled: hook["enabled"].as_bool().unwrap_or(false),
            disabled_reason: text(&hook["disabled_reason"]),
            events: events()
                .into_iter()
                .map(|event| {
                    let on = chosen.contains(&event);
                    (event, on)
                })
                .collect(),
        }
    }

    fn subscribed(&self) -> String {
        let on: Vec<&str> = self
            .events
            .iter()
            .filter(|(_, on)| *on)
            .map(|(event, _)| event.as_str())
            .collect();
        on.join(", ")
    }

    fn blank() -> Hook {
        Hook::of(&json!({"enabled": true, "events": []}))
    }
}

struct Attempt {
    delivery_id: String,
    event: String,
    attempt: i64,
    status: String,
    duration_ms: i64,
    error: String,
    outcome: String,
    state: String,
    at: String,
    next: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    frame: Frame,
    hooks: Vec<Hook>,
    blank: Hook,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    frame: Frame,
    hook: Hook,
    attempts: Vec<Attempt>,
    next: Option<String>,
    /// Its secret, just made: shown only now.
    secret: Option<String>,
}

/// What each form's `done` says.
const DONE: &[(&str, &str)] = &[
    ("saved", "Saved."),
    ("pinged", "A ping is on its way: it shows below once tried."),
    ("redelivered", "Queued again: it shows below once tried."),
    ("deleted", "Deleted."),
    (
        "added",
        "Webhook added. Copy its secret now: it is shown only this once.",
    ),
    (
        "rotated",
        "A new secret. Copy it now: it is shown only this once. For 24 hours the old one \
         signs deliveries too.",
    ),
];

pub async fn list(
    req: HttpRequest,
    person: Person,
    browse: web::Query<super::page::Browse>,
) -> Result<HttpResponse, DeskError> {
    let person = person.admin()?;
    let list = Api::new(&req, None)
        .get("/api/v1/webhooks?per_page=100")
        .await?;
    html(&WebhooksPage {
        frame: Frame::new("Webhooks", &person, "webhooks")
            .with_flash(flash_from(DONE, &browse.done)),
        hooks: list["data"]
            .as_array()
            .map(|hooks| hooks.iter().map(Hook::of).collect())
            .unwrap_or_default(),
        blank: Hook::blank(),
    })
}

pub async fn page(
    req: HttpRequest,
    person: Person,
    id: web::Path<Uuid>,
    browse: web::Query<super::page::Browse>,
) -> Result<HttpResponse, DeskError> {
    let person = person.admin()?;
    let id = *id;
    let secret = shown(&req);
    let api = Api::new(&req, None);
    let hook = api.get(&format!("/api/v1/webhooks/{id}")).await?;
    let deliveries = api
        .page(
            &format!("/api/v1/webhooks/{id}/deliveries?per_page=50"),
            &browse.cursor,
        )
        .await?;
    let attempts = deliveries["data"]
        .as_array()
        .map(|attempts| {
            attempts
                .iter()
                .map(|a| Attempt {
                    delivery_id: text(&a["delivery_id"]),
                    event: text(&a["event_type"]),
                    attempt: a["attempt"].as_i64().unwrap_or(0),
                    status: a["response_status"]
                        .as_i64()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "none".to_owned()),
                    duration_ms: a["duration_ms"].as_i64().unwrap_or(0),
                    error: text(&a["error"]),
                    outcome: text(&a["outcome"]),
                    state: text(&a["state"]),
                    at: short_time(a["created_at"].as_str().unwrap_or_default()),
                    next: a["next_attempt_at"]
                        .as_str()
                        .map(short_time)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let hook = Hook::of(&hook);
    let page = WebhookPage {
        frame: Frame::new(format!("Webhook {}", hook.url), &person, "webhooks")
            .with_flash(flash_from(DONE, &browse.done)),
        next: next_page(&deliveries, &format!("/desk/webhooks/{id}")),
        hook,
        attempts,
        secret,
    };
    html_showing(&req, &page, page.secret.is_some())
}

/// A webhook's form: its fields (`event-<name>` ticked per event) and the button pressed.
#[derive(Deserialize)]
pub struct Fields {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl Fields {
    fn events(&self) -> Vec<&str> {
        self.rest
            .keys()
            .filter_map(|key| key.strip_prefix("event-"))
            .collect()
    }
}

pub async fn create(req: HttpRequest, posted: Posted<Fields>) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let mut body = json!({"url": form.url.trim(), "events": form.events()});
    if let Value::String(description) = optional(&form.description) {
        body["description"] = json!(description);
    }
    let made = posted
        .api(&req)
        .write(Method::POST, "/api/v1/webhooks", Some(&body))
        .await?;
    let id: Uuid = text(&made.body["id"])
        .parse()
        .map_err(|_| ApiError::Internal("the new webhook has no id".into()))?;
    Ok(see_other_showing(
        &req,
        &format!("/desk/webhooks/{id}?done=added"),
        &text(&made.body["secret"]),
    ))
}

pub async fn change(
    req: HttpRequest,
    id: web::Path<Uuid>,
    posted: Posted<Fields>,
) -> Result<HttpResponse, DeskError> {
    let form = &posted.form;
    let api = posted.api(&req);
    let path = format!("/api/v1/webhooks/{id}");
    let (method, path, body, done) = match form.action.as_str() {
        "save" => (
            Method::PATCH,
            path,
            Some(json!({
                "url": form.url.trim(),
                "events": form.events(),
                "description": optional(&form.description),
                "enabled": form.enabled.is_some(),
            })),
            "saved",
        ),
        "ping" => (Method::POST, format!("{path}/ping"), None, "pinged"),
        "delete" => (Method::DELETE, path, None, "deleted"),
        "rotate" => {
            let rotated = api
                .write(Method::POST, &format!("{path}/rotate-secret"), None)
                .await?;
            return Ok(see_other_showing(
                &req,
                &format!("/desk/webhooks/{id}?done=rotated"),
                &text(&rotated.body["secret"]),
            ));
        }
        _ => return Err(ApiError::BadRequest("no such action".into()).into()),
    };
    api.write(method, &path, body.as_ref()).await?;
    if done == "deleted" {
        return Ok(see_other("/desk/webhooks?done=deleted"));
    }
    Ok(see_other(&format!("/desk/webhooks/{id}?done={done}")))
}

pub async fn redeliver(
    req: HttpRequest,
    ids: web::Path<(Uuid, Uuid)>,
    posted: Posted<CsrfOnly>,
) -> Result<HttpResponse, DeskError> {
    let (id, delivery) = *ids;
    posted
        .api(&req)
        .write(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            None,
        )
        .await?;
    Ok(see_other(&format!("/desk/webhooks/{id}?done=redelivered")))
}

super::page::csrf_field!(Fields);
