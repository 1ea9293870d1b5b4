//! Article rows and the API's views of them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::render::TocEntry;
use crate::db::schema::{article_revisions, articles};
use crate::http::{Timestamp, patch_field};
use crate::images::model::ImageResponse;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = articles)]
pub struct Article {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt_given: Option<String>,
    pub excerpt: String,
    pub body_markdown: String,
    pub body_html: String,
    pub toc: serde_json::Value,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
    pub author_id: Uuid,
    pub cover_image_id: Option<Uuid>,
    pub comments_open: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sort_at: DateTime<Utc>,
    pub external_id: Option<String>,
    pub kind: String,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    /// Whether readers without a token see it now, by the database's clock (the one every
    /// list's `published_at <= now()` uses): one clock decides, everywhere.
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Bool>(IS_PUBLIC))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Bool>)]
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub is_public: bool,
}

/// SQL for "public now": published, and its time has come by the database's clock.
pub const IS_PUBLIC: &str =
    "(articles.status = 'published' AND coalesce(articles.published_at <= now(), false))";

/// A row of a list query: the article, and for searches its rank and highlighted snippet.
#[derive(Debug, QueryableByName)]
pub struct ListedArticle {
    #[diesel(embed)]
    pub article: Article,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub snippet: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Float4)]
    pub rank: f32,
}

pub use crate::listing::{Kind, Status};

// What an article row is and where it stands, as readers are told.
impl Kind {
    pub fn of(article: &Article) -> Kind {
        if article.kind == "page" {
            Kind::Page
        } else {
            Kind::Article
        }
    }
}

impl Status {
    /// The status readers are told: `published` stored and not yet public is `scheduled`.
    pub fn of(article: &Article) -> Status {
        match article.status.as_str() {
            "published" if !article.is_public => Status::Scheduled,
            "published" => Status::Published,
            "archived" => Status::Archived,
            "in_review" => Status::InReview,
            _ => Status::Draft,
        }
    }
}

/// The byline embedded in an article.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "slug": "ada-okafor", "name": "Ada Okafor", "avatar": null}))]
pub struct AuthorSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[schema(required = true)]
    pub avatar: Option<ImageResponse>,
}

/// A tag embedded in an article.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "01932c4e-9a10-7d2e-8c55-0f4e2d7b6c33", "slug": "climate", "name": "Climate"}))]
pub struct TagSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// An article as a reader sees it: one request renders a page or a card.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-cccc-7ddd-8eee-0123456789ab",
    "slug": "the-last-night-tram",
    "title": "The last night tram",
    "subtitle": "Line 4 ran for ninety years. On Friday it stopped.",
    "excerpt": "At 00:41 the last car of line 4 left the depot with eleven passengers and a driver who had done the route for thirty years.",
    "body_markdown": "At 00:41 the last car...\n\n## Why it stopped\n\n![The depot](image:01932c4e-bbbb-7ccc-8ddd-0123456789ab)\n",
    "body_html": "<p>At 00:41 the last car...</p>\n<h2 id=\"why-it-stopped\">Why it stopped</h2>\n<figure><img src=\"...\" srcset=\"...\" sizes=\"(max-width: 800px) 100vw, 800px\" width=\"1600\" height=\"1067\" alt=\"The depot\" loading=\"lazy\" decoding=\"async\"><figcaption>The depot at midnight. <span class=\"credit\">Photo: Inès Marchetti</span></figcaption></figure>",
    "toc": [{"level": 2, "text": "Why it stopped", "anchor": "why-it-stopped"}],
    "word_count": 1480,
    "reading_time_minutes": 7,
    "status": "published",
    "published_at": "2025-10-28T09:30:00Z",
    "created_at": "2025-10-27T16:02:11Z",
    "updated_at": "2025-10-28T09:30:00Z",
    "author": {"id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "slug": "ines-marchetti", "name": "Inès Marchetti", "avatar": null},
    "tags": [{"id": "01932c4e-9a10-7d2e-8c55-0f4e2d7b6c33", "slug": "cities", "name": "Cities"}],
    "cover_image": null,
    "comments_open": true,
    "comment_count": 0,
    "version": 3,
    "external_id": null,
    "kind": "article",
    "meta_title": null,
    "meta_description": null,
    "seo": {
        "title": "The last night tram",
        "description": "At 00:41 the last car of line 4 left the depot with eleven passengers and a driver who had done the route for thirty years.",
        "canonical_url": "https://www.example.com/the-last-night-tram",
        "og_image": null,
        "json_ld": {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "The last night tram",
            "description": "At 00:41 the last car of line 4 left the depot.",
            "url": "https://www.example.com/the-last-night-tram",
            "mainEntityOfPage": {"@type": "WebPage", "@id": "https://www.example.com/the-last-night-tram"},
            "datePublished": "2025-10-28T09:30:00Z", "dateModified": "2025-10-28T09:30:00Z",
            "author": [{"@type": "Person", "name": "Inès Marchetti", "url": "https://www.example.com/authors/ines-marchetti"}],
            "publisher": {"@type": "Organization", "name": "The Daily Example", "url": "https://www.example.com"}},
        "json_ld_script": "{\"@context\":\"https://schema.org\",\"@type\":\"NewsArticle\",\"headline\":\"The last night tram\"}"
    },
    "previous": {"id": "01932c4e-cccc-7ddd-8eee-0123456789aa", "slug": "the-first-tram", "title": "The first tram",
        "published_at": "2025-10-20T08:00:00Z", "canonical_url": "https://www.example.com/the-first-tram"},
    "next": null
}))]
pub struct ArticleResponse {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    #[schema(required = true)]
    pub subtitle: Option<String>,
    /// The given excerpt, or the first paragraph as plain text (at most 300 characters, cut
    /// at a word, ended with `…` when cut).
    pub excerpt: String,
    /// The source: CommonMark with tables, strikethrough and footnotes;
    /// `![alt](image:<id> "caption")` places a stored image as a figure (`image:<id>#wide`,
    /// `#full`, `#left`, `#right` or `#center` aligns it: `<figure class="alignwide">`). In
    /// lists only with `include=body`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true, nullable = false, value_type = String)]
    pub body_markdown: Option<String>,
    /// Rendered and sanitized on save: no script, style, event handler or `javascript:` URL.
    /// In lists only with `include=body`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true, nullable = false, value_type = String)]
    pub body_html: Option<String>,
    /// The h2 and h3 headings, with the `id` anchors they carry in `body_html`.
    pub toc: Vec<TocEntry>,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub status: Status,
    #[schema(required = true)]
    pub published_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub author: AuthorSummary,
    pub tags: Vec<TagSummary>,
    #[schema(required = true)]
    pub cover_image: Option<ImageResponse>,
    pub comments_open: bool,
    /// Approved comments, replies included.
    pub comment_count: i64,
    /// Saved changes so far; each is kept as a revision.
    pub version: i32,
    /// Where it came from (a WordPress post id, a file path), when its writer said.
    #[schema(required = true)]
    pub external_id: Option<String>,
    /// `article`, or `page` (About, Contact: not in lists, searches and feeds unless asked).
    pub kind: Kind,
    /// The SEO title as written (`null`: `seo.title` is the title).
    #[schema(required = true)]
    pub meta_title: Option<String>,
    /// The SEO description as written (`null`: `seo.description` is the excerpt).
    #[schema(required = true)]
    pub meta_description: Option<String>,
    /// What a page's `<head>` needs: title, description, canonical URL on the front-end's
    /// site, Open Graph image and schema.org JSON-LD.
    pub seo: super::seo::Seo,
    /// One article's answer only (not lists): the public article of the same kind published
    /// just before this one (within `adjacent_tag` when given); `null` when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ArticleLink>, nullable)]
    pub previous: Option<Option<ArticleLink>>,
    /// One article's answer only: the public article published just after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ArticleLink>, nullable)]
    pub next: Option<Option<ArticleLink>>,
    /// A write's answer only, when there is any: what rendering removed from the body's
    /// raw HTML (an `<iframe>`, a `class` the sanitizer does not allow), with its line.
    /// `body_markdown` keeps what was written; `body_html` goes without.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable = false)]
    pub removed: Vec<super::removed::Removed>,
    /// Search results only: where the query matched, HTML-escaped, matches in `<mark>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub snippet: Option<String>,
}

/// A link to another article: what a "previous / next" card shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "01932c4e-cccc-7ddd-8eee-0123456789aa", "slug": "the-first-tram", "title": "The first tram",
    "published_at": "2025-10-20T08:00:00Z", "canonical_url": "https://www.example.com/the-first-tram"}))]
pub struct ArticleLink {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub published_at: Timestamp,
    /// Its address on the front-end's site.
    pub canonical_url: String,
}

/// A new article. Without `status` it is a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "The last night tram",
    "subtitle": "Line 4 ran for ninety years. On Friday it stopped.",
    "body_markdown": "At 00:41 the last car left the depot.\n\n## Why it stopped\n\n![The depot](image:01932c4e-bbbb-7ccc-8ddd-0123456789ab \"The depot at midnight.\")\n",
    "author": "ines-marchetti",
    "tags": ["cities", "transport"],
    "status": "published"
}))]
pub struct NewArticle {
    /// 1 to 300 characters.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub title: String,
    /// Made from the title when absent; unique.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    pub subtitle: Option<String>,
    /// Plain text, at most 1,000 characters; derived from the body when absent.
    pub excerpt: Option<String>,
    #[serde(default)]
    pub body_markdown: String,
    /// `draft` (default), `published` (now, unless `published_at` says otherwise),
    /// `scheduled` (needs a future `published_at`) or `archived`.
    pub status: Option<Status>,
    pub published_at: Option<Timestamp>,
    /// The author's id or slug. An author token may name only its own author and may
    /// leave it out; editors and admins must give it.
    pub author: Option<String>,
    /// Tags by id, slug or name (`"New York"` finds the tag `new-york`). Tags not found
    /// are created for editors and admins, with the name given; for author tokens they are
    /// a 422.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Id of an uploaded image.
    pub cover_image: Option<Uuid>,
    /// Defaults to true.
    pub comments_open: Option<bool>,
    /// Where it came from (a WordPress post id, a file path): unique, at most 200
    /// characters, shown to everyone. `PUT /articles/by-external-id/{external_id}` creates
    /// or replaces by it.
    #[schema(max_length = 200, example = "wp:1234")]
    pub external_id: Option<String>,
    /// `article` (default) or `page`.
    pub kind: Option<Kind>,
    /// The title for search engines and link previews (`seo.title`), when it should
    /// differ from the headline; at most 300 characters.
    #[schema(max_length = 300, example = "Line 4's last night tram")]
    pub meta_title: Option<String>,
    /// The description for search engines and link previews (`seo.description`), when it
    /// should differ from the excerpt; at most 1,000 characters.
    #[schema(max_length = 1000)]
    pub meta_description: Option<String>,
    /// An editorial note to go with it (at most 2,000 characters), added to the article's
    /// internal thread (`/articles/{id}/notes`): never public. With `status: in_review`,
    /// what the editors should know.
    #[schema(max_length = 2000, example = "Sources are in the shared folder.")]
    pub note: Option<String>,
}

/// Changes to an article (JSON merge patch): absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "published", "tags": ["cities"], "cover_image": null}))]
pub struct ArticleChanges {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub subtitle: Option<Option<String>>,
    /// `null` goes back to the excerpt derived from the body.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub excerpt: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub body_markdown: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Status>)]
    pub status: Option<Option<Status>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Timestamp>, nullable)]
    pub published_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub author: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub cover_image: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub comments_open: Option<Option<bool>>,
    /// `null` forgets where it came from.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable, max_length = 200)]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Kind>)]
    pub kind: Option<Option<Kind>>,
    /// `null` goes back to the title.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable, max_length = 300)]
    pub meta_title: Option<Option<String>>,
    /// `null` goes back to the excerpt.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable, max_length = 1000)]
    pub meta_description: Option<Option<String>>,
    /// An editorial note that goes with this change (at most 2,000 characters), added to the
    /// article's internal thread: what a submission (`status: in_review`) should tell the
    /// editors, or why an editor returns it (`status: draft`). Never public.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub note: Option<Option<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = article_revisions)]
pub struct Revision {
    pub article_id: Uuid,
    pub version: i32,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt_given: Option<String>,
    pub body_markdown: String,
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
    pub author_id: Uuid,
    pub cover_image_id: Option<Uuid>,
    pub tag_ids: serde_json::Value,
    pub comments_open: bool,
    pub slug: String,
    pub saved_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    pub saved_by_user: Option<Uuid>,
}

/// One saved version in the list of an article's revisions: who saved what, when; the
/// body is in `/revisions/{version}`.
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = article_revisions)]
#[schema(example = json!({
    "version": 2, "title": "The last night tram", "slug": "the-last-night-tram", "status": "draft",
    "published_at": null, "author_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11",
    "saved_by": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "saved_by_user": null, "saved_by_name": "Newsroom scripts",
    "created_at": "2025-10-27T16:05:00Z"
}))]
pub struct RevisionSummary {
    pub version: i32,
    pub title: String,
    pub slug: String,
    /// The stored status (`published` also covers scheduled).
    pub status: String,
    #[schema(value_type = Option<Timestamp>, required = true)]
    #[serde(serialize_with = "crate::http::serialize_time_opt")]
    pub published_at: Option<DateTime<Utc>>,
    pub author_id: Uuid,
    /// The token (or session) that saved this version.
    #[schema(required = true)]
    pub saved_by: Option<Uuid>,
    /// The person who saved it, signed in or through one of their tokens (`null`: a token
    /// of no one, or lede itself).
    #[schema(required = true)]
    pub saved_by_user: Option<Uuid>,
    /// Who saved it: the person's name, else the token's (`null`: lede itself, or the
    /// token is gone).
    #[schema(required = true)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>("coalesce(users.name, api_tokens.name)"))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    pub saved_by_name: Option<String>,
    #[schema(value_type = Timestamp)]
    #[serde(serialize_with = "crate::http::serialize_time")]
    pub created_at: DateTime<Utc>,
}

impl crate::http::cache::Shows for RevisionSummary {}

/// One saved version of an article, as it was written.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "version": 2, "title": "The last night tram", "slug": "the-last-night-tram", "subtitle": null, "excerpt": null,
    "body_markdown": "At 00:41 ...", "status": "draft", "published_at": null,
    "author_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "cover_image": null, "tag_ids": [],
    "comments_open": true, "saved_by": "01932c4e-aaaa-7bbb-8ccc-0123456789ab",
    "saved_by_user": null, "saved_by_name": "Newsroom scripts", "created_at": "2025-10-27T16:05:00Z",
    "meta_title": null, "meta_description": null
}))]
pub struct RevisionResponse {
    pub version: i32,
    pub title: String,
    pub slug: String,
    #[schema(required = true)]
    pub subtitle: Option<String>,
    /// The excerpt as given (`null`: derived from the body).
    #[schema(required = true)]
    pub excerpt: Option<String>,
    pub body_markdown: String,
    /// The stored status (`published` also covers scheduled).
    pub status: String,
    #[schema(required = true)]
    pub published_at: Option<Timestamp>,
    pub author_id: Uuid,
    #[schema(required = true)]
    pub cover_image: Option<Uuid>,
    pub tag_ids: Vec<Uuid>,
    pub comments_open: bool,
    /// The token (or session) that saved this version.
    #[schema(required = true)]
    pub saved_by: Option<Uuid>,
    /// The person who saved it (`null`: a token of no one, or lede itself).
    #[schema(required = true)]
    pub saved_by_user: Option<Uuid>,
    /// Who saved it: the person's name, else the token's (`null`: lede itself, or the
    /// token is gone).
    #[schema(required = true)]
    pub saved_by_name: Option<String>,
    pub created_at: Timestamp,
    #[schema(required = true)]
    pub meta_title: Option<String>,
    #[schema(required = true)]
    pub meta_description: Option<String>,
}

impl From<Revision> for RevisionResponse {
    fn from(r: Revision) -> Self {
        RevisionResponse {
            version: r.version,
            title: r.title,
            slug: r.slug,
            subtitle: r.subtitle,
            excerpt: r.excerpt_given,
            body_markdown: r.body_markdown,
            status: r.status,
            published_at: r.published_at.map(Into::into),
            author_id: r.author_id,
            cover_image: r.cover_image_id,
            tag_ids: serde_json::from_value(r.tag_ids).unwrap_or_default(),
            comments_open: r.comments_open,
            saved_by: r.saved_by,
            saved_by_user: r.saved_by_user,
            saved_by_name: None,
            created_at: r.created_at.into(),
            meta_title: r.meta_title,
            meta_description: r.meta_description,
        }
    }
}

impl crate::http::cache::Shows for ArticleResponse {
    fn key(&self) -> Option<crate::changes::Key> {
        Some(crate::changes::Key::Article(self.id))
    }

    fn embedded_keys(&self, keys: &mut Vec<crate::changes::Key>) {
        use crate::changes::Key;
        // The byline (id, slug, name, avatar), not the whole author: a bio edit keeps it.
        keys.push(Key::Byline(self.author.id));
        keys.extend(self.tags.iter().map(|tag| Key::Tag(tag.id)));
        let images = self.author.avatar.iter().chain(&self.cover_image);
        keys.extend(images.filter_map(crate::http::cache::Shows::key));
        // Previous and next need no keys here: a write that changes them names this
        // article's key (see `write::neighbour_keys`).
    }
}

/// Every saved change increments `version`: it is what `If-Match` guards.
impl crate::http::response::Versioned for Article {
    fn version(&self) -> String {
        self.version.to_string()
    }
}

impl crate::http::response::Versioned for ArticleResponse {
    fn version(&self) -> String {
        self.version.to_string()
    }

    /// A write's answer tells what rendering removed; a read does not: tagged as a read.
    fn etag(&self, body: &[u8]) -> Result<String, crate::error::ApiError> {
        use crate::http::response::{to_json, versioned_etag};
        if self.removed.is_empty() {
            return Ok(versioned_etag(&self.version(), body));
        }
        let read = ArticleResponse {
            removed: Vec::new(),
            ..self.clone()
        };
        Ok(versioned_etag(&self.version(), &to_json(&read)?))
    }
}

/// Every column of a saved article. `None` writes NULL: a merge patch's `null` clears.
#[derive(diesel::Insertable, diesel::AsChangeset)]
#[diesel(table_name = crate::db::schema::articles, treat_none_as_null = true)]
pub struct ArticleRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt_given: Option<String>,
    pub excerpt: String,
    pub body_markdown: String,
    pub body_html: String,
    pub body_text: String,
    pub toc: serde_json::Value,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
    pub author_id: Uuid,
    pub cover_image_id: Option<Uuid>,
    pub comments_open: bool,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub search_language: crate::db::SearchLanguage,
    pub external_id: Option<String>,
    pub kind: String,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
}
