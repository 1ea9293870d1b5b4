//! The start page: what is mine to finish, what waits for review, what is coming and what
//! went out lately, and the comments waiting for a moderator.
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::api::Api;
use super::articles::{CARD_FIELDS, Row};
use super::page::{DeskError, Frame, Person, html};

/// One list of the start page.
struct Section {
    heading: &'static str,
    empty: &'static str,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    frame: Frame,
    sections: Vec<Section>,
    pending_comments: Option<i64>,
}

pub async fn page(req: HttpRequest, person: Person) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    // An author or a contributor sees their own byline's; staff see everyone's.
    let mine = match (&person.author_id, person.is_staff()) {
        (Some(author), false) => format!("&author={author}"),
        _ => String::new(),
    };
    let review = if person.is_staff() {
        ("Waiting for review", "Nothing waits for review.")
    } else {
        ("Submitted for review", "Nothing of yours waits for review.")
    };
    let wanted = [
        (
            "draft",
            "-updated_at",
            "Drafts",
            "No drafts. Start one with New article.",
        ),
        ("in_review", "-updated_at", review.0, review.1),
        (
            "scheduled",
            "published_at",
            "Scheduled",
            "Nothing is scheduled.",
        ),
        (
            "published",
            "-published_at",
            "Published lately",
            "Nothing published yet.",
        ),
    ];
    let mut sections = Vec::new();
    for (status, sort, heading, empty) in wanted {
        let list = api
            .get(&format!(
                "/api/v1/articles?status={status}&sort={sort}&per_page=8&fields={CARD_FIELDS}{mine}"
            ))
            .await?;
        sections.push(Section {
            heading,
            empty,
            rows: Row::all(&list),
        });
    }
    let pending_comments = if person.is_staff() {
        let list = api
            .get("/api/v1/comments?status=pending&per_page=1&fields=id")
            .await?;
        list["meta"]["total"].as_i64()
    } else {
        None
    };
    html(&StartPage {
        frame: Frame::new("Start", &person, "start"),
        sections,
        pending_comments,
    })
}
