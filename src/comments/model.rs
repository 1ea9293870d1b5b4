//! Comment rows and the API's views of them: the public one (no email, IP or user agent) and
//! the moderator's.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::comments;
use crate::http::Timestamp;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = comments)]
pub struct Comment {
    pub id: Uuid,
    pub article_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_name: String,
    pub author_email: String,
    pub author_url: Option<String>,
    pub body_markdown: String,
    pub body_html: String,
    pub status: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Written by a member of staff under their byline (`reply_to_comment`).
    pub staff: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "pending")]
pub enum CommentStatus {
    /// Waiting for a moderator; not public.
    Pending,
    /// Public.
    Approved,
    Spam,
    Trash,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Spam => "spam",
            CommentStatus::Trash => "trash",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
    }
}

/// A comment as readers see it. Replies are nested, so one request renders a thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-dddd-7eee-8fff-0123456789ab",
    "article_id": "01932c4e-cccc-7ddd-8eee-0123456789ab",
    "parent_id": null,
    "author_name": "Marta",
    "author_url": "https://marta.example",
    "avatar_url": "https://api.example.com/api/v1/avatars/5f6e0c3b9a7d4e21b8c0f1a2d3e4b5c6.svg",
    "body_html": "<p>I rode it every night for thirty years.</p>",
    "created_at": "2025-10-28T10:02:00Z",
    "deleted": false,
    "staff": false,
    "replies": [],
    "replies_cursor": null
}))]
pub struct PublicComment {
    pub id: Uuid,
    pub article_id: Uuid,
    #[schema(required = true)]
    pub parent_id: Option<Uuid>,
    /// Empty for a deleted comment kept for its replies.
    pub author_name: String,
    #[schema(required = true)]
    pub author_url: Option<String>,
    /// A picture lede draws from a keyed hash of the email (nothing public tells the email;
    /// no third party is called). `null` when deleted.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// Sanitized; links carry `rel="nofollow ugc noopener"`. Empty when deleted.
    pub body_html: String,
    pub created_at: Timestamp,
    /// A removed comment kept so its replies stay in place.
    pub deleted: bool,
    /// Written by a member of the site's staff; `author_name` is their byline.
    pub staff: bool,
    /// Only in the answer to its own submission: where it stands (`pending` until a
    /// moderator approves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CommentStatus>,
    /// Approved replies, nested: in a thread, its first 50 replies (nearer ones first,
    /// then oldest first), at whatever depth; empty in a list of `replies`.
    #[schema(no_recursion)]
    pub replies: Vec<PublicComment>,
    /// When a thread has more replies than it shows: pass as `cursor` to
    /// `GET /api/v1/comments/{id}/replies` (with this thread's `id`) for the rest.
    #[schema(required = true)]
    pub replies_cursor: Option<String>,
}

impl PublicComment {
    /// `avatar_url` makes the picture's URL from the commenter's email.
    pub fn new(comment: &Comment, avatar_url: &dyn Fn(&str) -> String) -> Self {
        let deleted = comment.deleted_at.is_some();
        PublicComment {
            id: comment.id,
            article_id: comment.article_id,
            parent_id: comment.parent_id,
            author_name: if deleted {
                String::new()
            } else {
                comment.author_name.clone()
            },
            author_url: if deleted {
                None
            } else {
                comment.author_url.clone()
            },
            avatar_url: (!deleted).then(|| avatar_url(&comment.author_email)),
            body_html: if deleted {
                String::new()
            } else {
                comment.body_html.clone()
            },
            created_at: comment.created_at.into(),
            deleted,
            staff: comment.staff,
            status: None,
            replies: Vec::new(),
            replies_cursor: None,
        }
    }
}

/// A comment as moderators see it: everything, the commenter's private data included.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-dddd-7eee-8fff-0123456789ab",
    "article_id": "01932c4e-cccc-7ddd-8eee-0123456789ab",
    "parent_id": null,
    "author_name": "Marta",
    "author_email": "marta@example.com",
    "author_url": "https://marta.example",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "body_markdown": "I rode it every night for thirty years.",
    "body_html": "<p>I rode it every night for thirty years.</p>",
    "status": "pending",
    "staff": false,
    "deleted_at": null,
    "created_at": "2025-10-28T10:02:00Z",
    "updated_at": "2025-10-28T10:02:00Z"
}))]
pub struct ModeratedComment {
    pub id: Uuid,
    pub article_id: Uuid,
    #[schema(required = true)]
    pub parent_id: Option<Uuid>,
    pub author_name: String,
    pub author_email: String,
    #[schema(required = true)]
    pub author_url: Option<String>,
    pub ip: String,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    pub body_markdown: String,
    pub body_html: String,
    pub status: CommentStatus,
    /// Written by a member of staff under their byline.
    pub staff: bool,
    #[schema(required = true)]
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Comment> for ModeratedComment {
    fn from(c: Comment) -> Self {
        ModeratedComment {
            status: CommentStatus::parse(&c.status).unwrap_or(CommentStatus::Pending),
            id: c.id,
            article_id: c.article_id,
            parent_id: c.parent_id,
            author_name: c.author_name,
            author_email: c.author_email,
            author_url: c.author_url,
            ip: c.ip,
            user_agent: c.user_agent,
            body_markdown: c.body_markdown,
            body_html: c.body_html,
            staff: c.staff,
            deleted_at: c.deleted_at.map(Into::into),
            created_at: c.created_at.into(),
            updated_at: c.updated_at.into(),
        }
    }
}

/// The "Leave a reply" form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "author_name": "Marta",
    "author_email": "marta@example.com",
    "author_url": "https://marta.example",
    "body": "I rode it every night for *thirty years*.",
    "parent_id": null
}))]
pub struct NewComment {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub author_name: String,
    /// Required, never published.
    #[schema(format = Email)]
    pub author_email: String,
    /// An http(s) URL.
    #[schema(max_length = 2000, pattern = r"^https?://")]
    pub author_url: Option<String>,
    /// Markdown (emphasis, links, lists, quotes, code); raw HTML is shown as text. At most
    /// 10,000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub body: String,
    /// Reply to this comment: an approved comment of the same article.
    pub parent_id: Option<Uuid>,
    /// Leave empty: a trap for bots. A filled one gets an ordinary-looking answer and the
    /// comment is filed as spam.
    pub website: Option<String>,
    /// For a plain HTML form (a form-encoded body): where to send the browser afterwards
    /// (303 See Other), an address on the site's own origin (`LEDE_SITE_URL`) or a path on
    /// it. Any other, or one in a JSON body, is ignored and the answer is the usual JSON.
    #[schema(max_length = 2000, example = "/the-last-night-tram#comments")]
    pub redirect: Option<String>,
}

/// A moderator's change: status and/or body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "approved"}))]
pub struct CommentChanges {
    pub status: Option<CommentStatus>,
    /// New markdown body (re-rendered).
    pub body: Option<String>,
}

/// A member of staff's reply to a comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Thank you, Marta: the line closed in 1997."}))]
pub struct StaffReply {
    /// Markdown, as a reader's comment: at most 10,000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub body: String,
}

/// One status for many comments at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": ["01932c4e-dddd-7eee-8fff-0123456789ab"], "status": "spam"}))]
pub struct BulkStatus {
    /// 1 to 100 comment ids.
    pub ids: Vec<Uuid>,
    pub status: CommentStatus,
}

/// How many comments a bulk change touched.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"updated": 3}))]
pub struct BulkResult {
    pub updated: usize,
}

/// A thread's answer shows its article's thread as a whole (`comments:<article id>`, named
/// by the handler); single comments name nothing more.
impl crate::http::cache::Shows for PublicComment {}

/// Moderation answers are never public.
impl crate::http::cache::Shows for ModeratedComment {}

impl crate::http::response::Versioned for ModeratedComment {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at.0)
    }
}
