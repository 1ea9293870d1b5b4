//! Activity (editors and admins) at `/desk/activity`: who did what, when, newest first,
//! filtered by person, by what it was done to (an article's page links here) and by event.
//! Read from the API (`list_activity`).
use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::api::{Api, query_pairs};
use super::choices::Choice;
use super::page::{DeskError, Frame, Person, html, next_page, short_time, text};
use crate::error::ApiError;
use crate::state::AppState;

const EVENTS: &[(&str, &str)] = &[
    ("", "Any event"),
    ("article", "Articles: anything"),
    ("article.created", "Articles: created"),
    ("article.updated", "Articles: changed"),
    ("article.published", "Articles: published"),
    ("article.deleted", "Articles: deleted"),
    ("comment", "Comments"),
    ("image", "Images"),
    ("author", "Bylines"),
    ("tag", "Tags"),
    ("user", "People"),
    ("token", "Tokens"),
    ("webhook", "Webhooks"),
    ("settings", "Settings"),
];

struct Line {
    at: String,
    who: String,
    event: String,
    subject: String,
    /// Where the subject is in the desk, when it has a page.
    link: Option<String>,
}

impl Line {
    /// A line, its subject named from `names` (articles' titles, people's names) or by the
    /// start of its id; linked to its page where the person may open it.
    fn of(item: &Value, names: &HashMap<String, String>, admin: bool) -> Line {
        let kind = text(&item["subject"]["type"]);
        let id = text(&item["subject"]["id"]);
        let link = match kind.as_str() {
            "article" if !id.is_empty() => Some(format!("/desk/articles/{id}")),
            "webhook" if admin && !id.is_empty() => Some(format!("/desk/webhooks/{id}")),
            _ => None,
        };
        let who = match text(&item["actor"]["kind"]).as_str() {
            "token" => format!("token {}", text(&item["actor"]["name"])),
            "system" => format!("lede ({})", text(&item["actor"]["name"])),
            _ => text(&item["actor"]["name"]),
        };
        Line {
            at: short_time(item["at"].as_str().unwrap_or_default()),
            who,
            event: text(&item["event"]),
            subject: match names.get(&id) {
                _ if id.is_empty() => kind.clone(),
                Some(name) => format!("{kind} “{name}”"),
                None => format!("{kind} {}…", &id[..id.len().min(8)]),
            },
            link,
        }
    }
}

#[derive(Deserialize)]
pub struct Filters {
    /// A person's id, or empty for anyone.
    #[serde(default)]
    actor: String,
    /// An id, or empty for anything.
    #[serde(default)]
    subject: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    frame: Frame,
    people: Vec<Choice>,
    events: Vec<Choice>,
    subject: String,
    lines: Vec<Line>,
    next: Option<String>,
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, DeskError> {
    let person = person.staff()?;
    let actor = id_or_empty("Person", &filters.actor)?;
    let subject = id_or_empty("About", &filters.subject)?;
    // Only the events offered (the API refuses others with a 400 the page would show).
    let event = EVENTS
        .iter()
        .find(|(value, _)| *value == filters.event)
        .map_or("", |(value, _)| value);
    let wanted = query_pairs(&[("actor", &actor), ("subject", &subject), ("event", event)]);
    let list = Api::new(&req, None)
        .page(
            &format!("/api/v1/activity?per_page=50{wanted}"),
            &filters.cursor,
        )
        .await?;
    let items = list["data"].as_array().cloned().unwrap_or_default();
    // Everyone who can act, by name (a menu, read below the API: editors do not list
    // people there), and the titles of the articles the lines are about.
    let articles: Vec<Uuid> = items
        .iter()
        .filter(|item| item["subject"]["type"] == "article")
        .filter_map(|item| item["subject"]["id"].as_str()?.parse().ok())
        .collect();
    let (names, titles) = {
        let mut conn = crate::db::conn(&state.pool).await?;
        let names = crate::users::queries::names(&mut conn)
            .await
            .map_err(ApiError::from)?;
        let titles = crate::articles::queries::headings(&mut conn, &articles)
            .await
            .map_err(ApiError::from)?;
        (names, titles)
    };
    let subjects: HashMap<String, String> = names
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .chain(
            titles
                .into_iter()
                .map(|(id, title, _)| (id.to_string(), title)),
        )
        .collect();
    let admin = person.is_admin();
    let lines = items
        .iter()
        .map(|item| Line::of(item, &subjects, admin))
        .collect();
    let mut people = vec![Choice {
        value: String::new(),
        label: "Anyone".into(),
        selected: actor.is_empty(),
    }];
    people.extend(names.into_iter().map(|(id, name)| {
        let value = id.to_string();
        Choice {
            selected: value == actor,
            value,
            label: name,
        }
    }));
    html(&ActivityPage {
        frame: Frame::new("Activity", &person, "activity"),
        people,
        events: Choice::fixed(EVENTS, event),
        next: next_page(
            &list,
            &format!("/desk/activity?{}", wanted.trim_start_matches('&')),
        ),
        subject,
        lines,
    })
}

/// A filter's id as typed (trimmed), or empty; anything else is the page's 400.
fn id_or_empty(field: &str, value: &str) -> Result<String, DeskError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    value.parse::<Uuid>().map(|id| id.to_string()).map_err(|_| {
        ApiError::BadRequest(format!(
            "{field} must be an id like 01932c4e-aaaa-7bbb-8ccc-0123456789ab"
        ))
        .into()
    })
}
