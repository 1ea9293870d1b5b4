//! Who reads and what a list of articles is narrowed to: the vocabulary the SQL lists
//! (`articles::list`) and the search index (`search`) share, below both.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What an article is: a dated `article` (the default), or a `page` (About, Contact, an
/// imprint) that lists, searches and feeds leave out unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "article")]
pub enum Kind {
    #[default]
    Article,
    Page,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Page => "page",
        }
    }
}

/// Where an article stands. `in_review` is a draft submitted to the editors; `scheduled` is
/// a published article whose time has not come: it becomes public at that instant, with no
/// job running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "published")]
pub enum Status {
    Draft,
    #[serde(rename = "in_review")]
    InReview,
    Scheduled,
    Published,
    Archived,
}

impl Status {
    /// The stored form (`scheduled` is stored as `published`).
    pub fn stored(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::Scheduled | Status::Published => "published",
            Status::Archived => "archived",
        }
    }
}

/// The article list's `status` filter: one status, or `any` (everything the token may
/// see). Lists show `published` unless another is asked for, with a token or without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "any")]
pub enum StatusFilter {
    Draft,
    #[serde(rename = "in_review")]
    InReview,
    Scheduled,
    Published,
    Archived,
    Any,
}

impl StatusFilter {
    /// The status it narrows to, `None` for any.
    pub fn status(self) -> Option<Status> {
        match self {
            StatusFilter::Draft => Some(Status::Draft),
            StatusFilter::InReview => Some(Status::InReview),
            StatusFilter::Scheduled => Some(Status::Scheduled),
            StatusFilter::Published => Some(Status::Published),
            StatusFilter::Archived => Some(Status::Archived),
            StatusFilter::Any => None,
        }
    }
}

/// Who is reading, which decides what exists for them.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// No token: published articles whose time has come.
    Public,
    /// An author token: those, and everything by its own author.
    Author(Uuid),
    /// Editors and admins: everything.
    Staff,
}

/// The list's filters, already validated.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub author: Option<String>,
    pub tags: Vec<String>,
    /// `None`: every status the reader may see (`status=any`).
    pub status: Option<Status>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
    pub q: Option<String>,
    /// Articles (the default) or pages.
    pub kind: Kind,
    /// Load and return the bodies (`include=body`); lists are cards without.
    pub include_body: bool,
}

/// Marks the search index puts around matches; replaced by `<mark>` after HTML-escaping.
pub const MARK_START: char = '\u{1}';
pub const MARK_END: char = '\u{2}';
