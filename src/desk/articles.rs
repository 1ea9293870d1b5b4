//! The articles list: search (the API's index), filters, sorting and paging, each the list
//! operation's own query, so it is as fast at 100,000 articles as the API is.
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::api::{Api, encode, query_pairs};
use super::choices::{self, Choice};
use super::page::{DeskError, Frame, Person, html, short_time, total_of};
use crate::state::AppState;

/// An article as a list shows it.
pub struct Row {
    pub id: String,
    pub title: String,
    pub status: String,
    pub author: String,
    pub when: String,
    pub tags: String,
}

impl Row {
    pub fn from_card(card: &Value) -> Row {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let when = card["published_at"]
            .as_str()
            .or_else(|| card["updated_at"].as_str())
            .unwrap_or_default();
        Row {
            id: text(&card["id"]),
            title: match card["title"].as_str() {
                Some(title) if !title.trim().is_empty() => title.to_owned(),
                _ => "(untitled)".to_owned(),
            },
            status: text(&card["status"]),
            author: text(&card["author"]["name"]),
            when: short_time(when),
            tags: super::tag_field::shown(&card["tags"]),
        }
    }

    /// Cards of a list answer.
    pub fn all(list: &Value) -> Vec<Row> {
        list["data"]
            .as_array()
            .map(|cards| cards.iter().map(Row::from_card).collect())
            .unwrap_or_default()
    }
}

/// The fields a list of cards needs (less to make, less to send).
pub const CARD_FIELDS: &str = "id,title,status,author,published_at,updated_at,tags";

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
}

pub const STATUSES: &[(&str, &str)] = &[
    ("any", "Any status"),
    ("draft", "Draft"),
    ("in_review", "In review"),
    ("scheduled", "Scheduled"),
    ("published", "Published"),
    ("archived", "Archived"),
];

const SORTS: &[(&str, &str)] = &[
    ("-updated_at", "Last changed"),
    ("-published_at", "Newest published"),
    ("published_at", "Oldest published"),
    ("title", "Title"),
    ("relevance", "Best match (with a search)"),
];

#[derive(Template)]
#[template(path = "articles.html")]
struct ListPage {
    frame: Frame,
    q: String,
    tag: String,
    statuses: Vec<Choice>,
    authors: Vec<Choice>,
    sorts: Vec<Choice>,
    rows: Vec<Row>,
    total: String,
    next: Option<String>,
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    let status = if filters.status.is_empty() {
        "any"
    } else {
        filters.status.as_str()
    };
    let q = filters.q.trim();
    let sort = match filters.sort.as_str() {
        "" if q.is_empty() => "-updated_at",
        "" => "relevance",
        "relevance" if q.is_empty() => "-updated_at",
        // A search sorts by relevance or a time.
        "title" if !q.is_empty() => "relevance",
        sort => sort,
    };
    let mut query = format!(
        "/api/v1/articles?status={}&sort={}&per_page=25&fields={CARD_FIELDS}",
        encode(status),
        encode(sort)
    );
    query.push_str(&query_pairs(&[
        ("q", q),
        ("author", filters.author.trim()),
        ("tag", filters.tag.trim()),
        ("cursor", filters.cursor.trim()),
    ]));
    let list = api.get(&query).await?;
    let mut author_choices = vec![Choice {
        value: String::new(),
        label: "Any author".into(),
        selected: filters.author.is_empty(),
    }];
    author_choices.extend(choices::authors(&state, filters.author.trim()).await?);
    let total = total_of(&list);
    let next = list["meta"]["next_cursor"].as_str().map(|cursor| {
        format!(
            "/desk/articles?cursor={}{}",
            encode(cursor),
            query_pairs(&[
                ("q", q),
                ("status", status),
                ("author", filters.author.trim()),
                ("tag", filters.tag.trim()),
                ("sort", sort),
            ])
        )
    });
    html(&ListPage {
        frame: Frame::new("Articles", &person, "articles"),
        q: q.to_owned(),
        tag: filters.tag.clone(),
        statuses: Choice::fixed(STATUSES, status),
        authors: author_choices,
        sorts: Choice::fixed(SORTS, sort),
        rows: Row::all(&list),
        total,
        next,
    })
}
