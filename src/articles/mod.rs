//! `/api/v1/articles`: what lede exists for. Markdown bodies rendered on save, figures from
//! stored images, publishing and scheduling, revisions, old slugs that redirect, filters,
//! keyset pagination and ranked full-text search.
pub mod model;
pub mod queries;
pub mod render;

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{
    Article, ArticleChanges, ArticleResponse, NewArticle, Revision, RevisionResponse,
    RevisionSummary, Status,
};
use self::queries::{Embeds, Filters, Reader};
use self::render::Figure;
use crate::AppState;
use crate::db::SearchLanguage;
use crate::error::{ApiError, OnConstraint};
use crate::http::auth::{ANY_ROLE, Auth, Principal, Role};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response, time_key};
use crate::http::response::{IfMatch, fresh, ok, ok_showing};
use crate::http::validate::{Checks, first_free_slug, slugify};
use crate::images::storage::MediaUrls;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_articles)
        .service(create_article)
        .service(find_article)
        .service(update_article)
        .service(delete_article)
        .service(list_revisions)
        .service(find_revision);
}

const MAX_TITLE: usize = 300;
const MAX_SUBTITLE: usize = 500;
const MAX_EXCERPT: usize = 1000;
const MAX_BODY: usize = 500_000;
const MAX_TAGS: usize = 20;

/// Filters and order of the article list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ArticleQuery {
    /// Only this author's articles (id or slug).
    #[param(example = "ines-marchetti")]
    author: Option<String>,
    /// Only articles with this tag (id or slug); repeat it to require several.
    #[param(style = Form, explode, example = json!(["cities"]))]
    tag: Option<Vec<String>>,
    /// `draft`, `scheduled`, `published` or `archived`. Needs a token for anything but
    /// `published` (403 otherwise).
    status: Option<Status>,
    /// Published at or after this time.
    published_after: Option<crate::http::Timestamp>,
    /// Published before this time.
    published_before: Option<crate::http::Timestamp>,
    /// Full-text search (title, subtitle, excerpt, body and captions), as on a search engine:
    /// `"exact phrase"`, `-excluded`, `or`. Hits are ranked and carry a `snippet`.
    #[param(example = "night tram")]
    q: Option<String>,
    /// `published_at` (default, newest first as `-published_at`), `title`, `updated_at`,
    /// `created_at`, or `relevance` (with `q`; its default then). Prefix `-` for descending.
    #[param(
        example = "-published_at",
        pattern = r"^-?(published_at|title|updated_at|created_at|relevance)$"
    )]
    sort: Option<String>,
    /// `body`: also return `body_markdown` and `body_html` in each item. Without it a list
    /// item is a card: everything else of the article (`toc` included), ~20x smaller.
    #[param(example = "body", pattern = "^body$")]
    include: Option<String>,
}

/// Parses the list's own parameters (the paging ones are `Pagination`'s).
fn parse_filters(query: &str, authenticated: bool) -> Result<Filters, ApiError> {
    let mut filters = Filters::default();
    let bad = |name: &str, message: &str| {
        ApiError::BadRequest(format!("query parameter `{name}` {message}"))
    };
    let time = |name: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                bad(
                    name,
                    "must be an RFC 3339 time such as 2025-10-28T09:30:00Z",
                )
            })
    };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "author" | "tag" if value.chars().count() > 100 => {
                return Err(bad(
                    &key,
                    "must be an id or a slug (at most 100 characters)",
                ));
            }
            "author" => filters.author = Some(value.into_owned()),
            "tag" if filters.tags.len() >= MAX_TAGS => {
                return Err(bad("tag", "may be given at most 20 times"));
            }
            "tag" => filters.tags.push(value.into_owned()),
            "status" => {
                let status: Status = serde_json::from_value(serde_json::Value::String(
                    value.to_string(),
                ))
                .map_err(|_| bad("status", "must be draft, scheduled, published or archived"))?;
                if status != Status::Published && !authenticated {
                    return Err(ApiError::Forbidden(format!(
                        "listing {} articles needs a token",
                        value
                    )));
                }
                filters.status = Some(status);
            }
            "published_after" => filters.published_after = Some(time("published_after", &value)?),
            "published_before" => {
                filters.published_before = Some(time("published_before", &value)?)
            }
            "include" if value == "body" => filters.include_body = true,
            "include" => return Err(bad("include", "may only be `body`")),
            "q" => {
                let q = value.trim();
                if q.chars().count() > 200 {
                    return Err(bad("q", "may be at most 200 characters"));
                }
                if !q.is_empty() {
                    filters.q = Some(q.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(filters)
}

fn reader(auth: &Auth) -> Reader {
    match auth.principal() {
        None => Reader::Public,
        Some(Principal {
            role: Role::Author,
            author_id: Some(id),
            ..
        }) => Reader::Author(*id),
        Some(Principal {
            role: Role::Author, ..
        }) => Reader::Public,
        Some(_) => Reader::Staff,
    }
}

fn may_read(reader: Reader, article: &Article) -> bool {
    let public =
        article.status == "published" && article.published_at.is_some_and(|t| t <= Utc::now());
    match reader {
        Reader::Public => public,
        Reader::Author(author_id) => public || article.author_id == author_id,
        Reader::Staff => true,
    }
}

/// What a change from `before` to `after` (`None`: no article) shows the public: the
/// article and the lists when it is public on either side; `counts` when it turned public
/// or stopped being so, or a public one changed author or tags (`tags_changed`); and
/// `schedule` when a publication instant may have moved (no answer shows that key; it makes
/// every node look up the next instant again). A draft's edit changes nothing public.
fn change_keys(
    before: Option<&Article>,
    after: Option<&Article>,
    tags_changed: bool,
) -> Vec<String> {
    let now = Utc::now();
    let sides = [before, after];
    let mut keys = Vec::new();
    let public = |side: Option<&Article>| side.is_some_and(|a| may_read(Reader::Public, a));
    if public(before) || public(after) {
        let id = before.or(after).map(|a| a.id).unwrap_or_default();
        keys.push(crate::changes::key("article", id));
        keys.push("articles".to_owned());
        let author_changed = before.map(|a| a.author_id) != after.map(|a| a.author_id);
        if public(before) != public(after) || author_changed || tags_changed {
            keys.push(crate::changes::COUNTS.to_owned());
        }
    }
    if sides
        .iter()
        .flatten()
        .any(|a| a.status == "published" && a.published_at.is_some_and(|t| t > now))
    {
        keys.push("schedule".to_owned());
    }
    keys
}

/// An article as a reader sees it; `with_body` false leaves the body out (a list's card).
fn view(
    article: Article,
    embeds: &Embeds,
    snippet: Option<String>,
    with_body: bool,
) -> ArticleResponse {
    let now = Utc::now();
    let comment_count = embeds.comment_count(&article);
    ArticleResponse {
        author: embeds.author(&article),
        tags: embeds.tags(&article),
        cover_image: embeds.cover(&article),
        id: article.id,
        status: Status::of(&article.status, article.published_at, now),
        slug: article.slug,
        title: article.title,
        subtitle: article.subtitle,
        excerpt: article.excerpt,
        body_html: with_body.then(|| embeds.complete(&article.body_html)),
        body_markdown: with_body.then_some(article.body_markdown),
        toc: serde_json::from_value(article.toc).unwrap_or_default(),
        word_count: article.word_count,
        reading_time_minutes: article.reading_time_minutes,
        published_at: article.published_at.map(Into::into),
        created_at: article.created_at.into(),
        updated_at: article.updated_at.into(),
        comments_open: article.comments_open,
        comment_count,
        version: article.version,
        snippet,
    }
}

/// One article with its embeds.
async fn view_one(
    conn: &mut AsyncPgConnection,
    article: Article,
    urls: &MediaUrls,
) -> Result<ArticleResponse, ApiError> {
    let embeds = Embeds::load(conn, &[&article], urls).await?;
    Ok(view(article, &embeds, None, true))
}

/// `ts_headline` output made safe: everything escaped, then the match marks become `<mark>`.
fn snippet_html(raw: &str) -> String {
    render::escape(raw)
        .replace(queries::MARK_START, "<mark>")
        .replace(queries::MARK_END, "</mark>")
}

/// List articles
///
/// Published articles, newest first, for everyone; with a token also drafts, scheduled and
/// archived ones (authors: their own). Every item embeds its author (with avatar), tags and
/// cover image. Filter by `author`, `tag` (all must match), `status`, publication time;
/// search with `q`.
#[utoipa::path(
    tag = "articles", operation_id = "list_articles",
    params(PageParams, ArticleQuery),
    responses((status = 200, description = "A page of articles", body = ListResponse<ArticleResponse>,
        headers(("Link" = String, description = "RFC 8288 links to the next, previous, first and last pages"),
                ("X-Total-Count" = i64, description = "Articles in the whole (filtered) list"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 403, description = "`status` other than `published` without a token", body = crate::error::Problem, content_type = "application/problem+json")),
    security((), ("bearer" = []))
)]
#[get("/articles")]
async fn list_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let filters = parse_filters(req.query_string(), auth.is_authenticated())?;
    let default_sort = if filters.q.is_some() {
        "relevance"
    } else {
        "-published_at"
    };
    let mut sort = pagination.sort(&queries::SORTS, default_sort)?;
    if sort.option.name == "relevance" {
        if filters.q.is_none() {
            return Err(ApiError::BadRequest(
                "`sort=relevance` needs a search query `q`".into(),
            ));
        }
        // Best match first, whichever way it was written.
        sort.descending = true;
    }
    let urls = state.storage.urls(&req);
    let mut conn = crate::db::conn(&state.pool).await?;
    let reader = reader(&auth);
    let language = &state.search_language;
    let rows = queries::list(&mut conn, reader, &filters, &pagination, &sort, language).await?;
    // Every change to an author or tag names `articles` too, so a filter by a renamed
    // one's slug is dropped with the rest.
    let list_keys = ["articles"];
    // The public count of a list is shared by all its pages and orders: kept until an
    // article (or a filter's author or tag) changes.
    let total = match reader {
        Reader::Public => {
            let list = format!("{filters:?}");
            match state.cache.count(&list, &list_keys) {
                Some(total) => total,
                None => {
                    let epoch = state.cache.epoch();
                    let total = queries::count(&mut conn, reader, &filters, language).await?;
                    state.cache.keep_count(list, epoch, total);
                    total
                }
            }
        }
        _ => queries::count(&mut conn, reader, &filters, language).await?,
    };
    let page: Vec<&Article> = rows.iter().map(|r| &r.article).collect();
    let embeds = Embeds::load(&mut conn, &page, &urls).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &list_keys,
        crate::http::pagination::Loaded { rows, total },
        |row| {
            let a = &row.article;
            let key = match sort.option.name {
                "title" => a.title.clone(),
                "updated_at" => time_key(&a.updated_at),
                "created_at" => time_key(&a.created_at),
                "relevance" => row.rank.to_string(),
                _ => time_key(&a.sort_at),
            };
            (key, a.id)
        },
        |row| {
            view(
                row.article,
                &embeds,
                row.snippet.as_deref().map(snippet_html),
                filters.include_body,
            )
        },
    )
}

/// Get an article
///
/// By id or slug. Drafts and scheduled articles are 404 without a token (authors see their
/// own). A slug the article had before answers 301 to its current URL.
#[utoipa::path(
    tag = "articles", operation_id = "find_article",
    params(("id_or_slug" = String, Path, description = "The article's id or slug", example = "the-last-night-tram"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The article, author, tags and cover embedded", body = ArticleResponse,
        headers(("ETag" = String, description = "Strong ETag of the article"))),
        (status = 301, description = "An old slug: the article lives at `Location` now",
            headers(("Location" = String, description = "The article's current URL"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/articles/{id_or_slug}")]
async fn find_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reader = reader(&auth);
    let mut conn = crate::db::conn(&state.pool).await?;
    let article = match queries::find(&mut conn, &key).await? {
        Some(article) => article,
        None => {
            return match queries::by_old_slug(&mut conn, &key).await? {
                Some(moved) if may_read(reader, &moved) => {
                    let location = format!("{}/api/v1/articles/{}", base_url(&req), moved.slug);
                    let moved_to = HttpResponse::MovedPermanently()
                        .insert_header((header::LOCATION, location))
                        .finish();
                    // Dropped (by a CDN too) when the article changes, its slug included.
                    let keys = vec![crate::changes::key("article", moved.id)];
                    Ok(crate::http::cache::showing(moved_to, keys))
                }
                _ => Err(ApiError::not_found("article", &key)),
            };
        }
    };
    if !may_read(reader, &article) {
        return Err(ApiError::not_found("article", &key));
    }
    let urls = state.storage.urls(&req);
    ok_showing(&req, &view_one(&mut conn, article, &urls).await?)
}

/// An article's fields after a create or a change, before anything is resolved.
struct Input {
    title: String,
    slug: Option<String>,
    subtitle: Option<String>,
    excerpt_given: Option<String>,
    body_markdown: String,
    status: Status,
    published_at: Option<DateTime<Utc>>,
    author: String,
    tags: Vec<String>,
    cover_image: Option<Uuid>,
    comments_open: bool,
}

fn check_text(checks: &mut Checks, input: &mut Input) {
    input.title = checks.text("title", &input.title, MAX_TITLE);
    if let Some(slug) = &input.slug {
        checks.slug("slug", slug);
    }
    input.subtitle = checks.long_text("subtitle", input.subtitle.as_deref(), MAX_SUBTITLE);
    input.excerpt_given = checks.long_text("excerpt", input.excerpt_given.as_deref(), MAX_EXCERPT);
    if input.body_markdown.chars().count() > MAX_BODY {
        checks.fail(
            "body_markdown",
            "too_long",
            format!("body_markdown must be at most {MAX_BODY} characters"),
        );
    }
    if input.body_markdown.contains('\0') {
        checks.fail(
            "body_markdown",
            "invalid_characters",
            "body_markdown must not contain NUL characters",
        );
    }
    if input.tags.len() > MAX_TAGS {
        checks.fail("tags", "too_many", format!("at most {MAX_TAGS} tags"));
    }
    if input.status == Status::Scheduled && input.published_at.is_none_or(|t| t <= Utc::now()) {
        checks.fail(
            "published_at",
            "required",
            "a scheduled article needs a published_at in the future",
        );
    }
}

/// Resolves, renders and writes an article (new when `current` is `None`) with its tags,
/// figures, revision and old slug, inside the caller's transaction. `checks` holds what was
/// found wrong with the request so far: what the database says (an unknown author, tag or
/// image) is added, and one 422 names it all.
async fn save(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    current: Option<&Article>,
    mut input: Input,
    language: &SearchLanguage,
    mut checks: Checks,
) -> Result<Article, ApiError> {
    let author = crate::authors::queries::find(conn, &input.author).await?;
    let author_id = author.map(|a| a.id);
    if author_id.is_none() {
        checks.fail(
            "author",
            "not_found",
            format!("no author with id or slug `{}`", input.author),
        );
    }
    if principal.role == Role::Author && author_id.is_some() && principal.author_id != author_id {
        return Err(ApiError::Forbidden(
            "an author token may only write its own author's articles".into(),
        ));
    }
    let (tag_ids, unknown_tags) =
        queries::resolve_tags(conn, &input.tags, principal.role != Role::Author).await?;
    if !unknown_tags.is_empty() {
        checks.fail(
            "tags",
            "not_found",
            format!(
                "unknown tags: {} (authors may only use existing tags)",
                unknown_tags.join(", ")
            ),
        );
    }
    if let Some(cover) = input.cover_image
        && crate::images::queries::find(conn, cover).await?.is_none()
    {
        checks.fail(
            "cover_image",
            "not_found",
            format!("no image with id `{cover}`"),
        );
    }
    // Parsing a long body is CPU work: off the async workers, like rendering.
    let markdown = input.body_markdown.clone();
    let (figure_ids, bad_refs) = web::block(move || render::image_refs(&markdown)).await?;
    let stored = crate::images::queries::by_ids(conn, &figure_ids).await?;
    let missing: Vec<String> = figure_ids
        .iter()
        .filter(|id| !stored.iter().any(|i| i.id == **id))
        .map(ToString::to_string)
        .chain(bad_refs)
        .collect();
    if !missing.is_empty() {
        checks.fail(
            "body_markdown",
            "unknown_image",
            format!("no image for image:{}", missing.join(", image:")),
        );
    }
    checks.finish()?;
    let author_id = author_id.unwrap_or_default();

    let figures = figures_of(stored);
    let markdown = input.body_markdown.clone();
    let rendered = web::block(move || render::render(&markdown, &figures)).await?;

    let now = Utc::now();
    if input.status == Status::Published && input.published_at.is_none() {
        input.published_at = Some(current.and_then(|c| c.published_at).unwrap_or(now));
    }
    let slug = match (&input.slug, current) {
        (Some(slug), _) => slug.clone(),
        (None, Some(current)) => current.slug.clone(),
        (None, None) => {
            let base = slugify(&input.title, "article");
            first_free_slug(&base, &queries::slugs_like(conn, &base).await?)
        }
    };
    let excerpt = input.excerpt_given.clone().unwrap_or(rendered.excerpt);
    let row = ArticleRow {
        id: current.map_or_else(Uuid::now_v7, |c| c.id),
        slug: slug.clone(),
        title: input.title.clone(),
        subtitle: input.subtitle.clone(),
        excerpt_given: input.excerpt_given.clone(),
        excerpt,
        body_markdown: input.body_markdown.clone(),
        body_html: rendered.html,
        body_text: rendered.text,
        toc: serde_json::to_value(&rendered.toc).unwrap_or_default(),
        word_count: rendered.word_count as i32,
        reading_time_minutes: rendered.reading_time_minutes as i32,
        status: input.status.stored().to_owned(),
        published_at: input.published_at,
        author_id,
        cover_image_id: input.cover_image,
        comments_open: input.comments_open,
        version: current.map_or(1, |c| c.version + 1),
        updated_at: now,
        search_language: language.clone(),
    };
    let tags_changed = match current {
        Some(current) => queries::tag_ids(conn, current.id).await? != tag_ids,
        None => true,
    };
    let article = row.write(conn, current.is_some()).await?;
    let event = if current.is_some() {
        "updated"
    } else {
        "created"
    };
    crate::changes::record(
        conn,
        "article",
        Some(article.id),
        event,
        change_keys(current, Some(&article), tags_changed),
    )
    .await?;
    queries::set_tags(conn, article.id, &tag_ids).await?;
    queries::set_figures(conn, article.id, &figure_ids).await?;
    queries::forget_old_slug(conn, &article.slug).await?;
    if let Some(current) = current
        && current.slug != article.slug
    {
        queries::remember_old_slug(conn, &current.slug, article.id).await?;
    }
    queries::add_revision(
        conn,
        &Revision {
            article_id: article.id,
            version: article.version,
            title: article.title.clone(),
            subtitle: article.subtitle.clone(),
            excerpt_given: article.excerpt_given.clone(),
            body_markdown: article.body_markdown.clone(),
            status: article.status.clone(),
            published_at: article.published_at,
            author_id: article.author_id,
            cover_image_id: article.cover_image_id,
            tag_ids: serde_json::to_value(&tag_ids).unwrap_or_default(),
            comments_open: article.comments_open,
            slug: article.slug.clone(),
            saved_by: Some(principal.token_id),
            created_at: now,
        },
    )
    .await?;
    Ok(article)
}

/// Stored images as the renderer shows them in a body. Stored HTML holds a placeholder for
/// the media base, completed when served.
fn figures_of(images: Vec<crate::images::model::Image>) -> HashMap<Uuid, Figure> {
    let urls = MediaUrls::placeholder();
    images
        .into_iter()
        .map(|image| {
            let view = crate::images::model::ImageResponse::new(image, &urls);
            let mut srcset: Vec<(String, u32)> = view
                .variants
                .iter()
                .map(|v| (v.url.clone(), v.width))
                .collect();
            srcset.push((view.url.clone(), view.width));
            (
                view.id,
                Figure {
                    url: view.url,
                    width: view.width,
                    height: view.height,
                    alt: view.alt,
                    caption: view.caption,
                    credit: view.credit,
                    srcset,
                },
            )
        })
        .collect()
}

/// Renders again the bodies of the articles that show `image_id` as a figure, so they
/// show the image's current alt, caption and credit. Runs in the image write's
/// transaction; the version is not bumped (the article's own text did not change), and
/// the change is recorded for the public ones.
pub async fn refresh_figures(conn: &mut AsyncPgConnection, image_id: Uuid) -> Result<(), ApiError> {
    for id in queries::with_figure(conn, image_id).await? {
        let Some(article) = queries::lock(conn, &id.to_string()).await? else {
            continue;
        };
        let markdown = article.body_markdown.clone();
        let (figure_ids, _) = web::block(move || render::image_refs(&markdown)).await?;
        let figures = figures_of(crate::images::queries::by_ids(conn, &figure_ids).await?);
        let markdown = article.body_markdown.clone();
        let rendered = web::block(move || render::render(&markdown, &figures)).await?;
        let excerpt = article.excerpt_given.clone().unwrap_or(rendered.excerpt);
        queries::set_body(conn, id, &rendered.html, &rendered.text, &excerpt).await?;
        let keys = change_keys(Some(&article), Some(&article), false);
        crate::changes::record(conn, "article", Some(id), "updated", keys).await?;
    }
    Ok(())
}

/// Every column of a saved article. `None` writes NULL: a merge patch's `null` clears.
#[derive(diesel::Insertable, diesel::AsChangeset)]
#[diesel(table_name = crate::db::schema::articles, treat_none_as_null = true)]
struct ArticleRow {
    id: Uuid,
    slug: String,
    title: String,
    subtitle: Option<String>,
    excerpt_given: Option<String>,
    excerpt: String,
    body_markdown: String,
    body_html: String,
    body_text: String,
    toc: serde_json::Value,
    word_count: i32,
    reading_time_minutes: i32,
    status: String,
    published_at: Option<DateTime<Utc>>,
    author_id: Uuid,
    cover_image_id: Option<Uuid>,
    comments_open: bool,
    version: i32,
    updated_at: DateTime<Utc>,
    search_language: SearchLanguage,
}

impl ArticleRow {
    async fn write(&self, conn: &mut AsyncPgConnection, exists: bool) -> Result<Article, ApiError> {
        use crate::db::schema::articles;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let slug_taken = [("articles_slug_key", "slug")];
        if exists {
            diesel::update(articles::table.find(self.id))
                .set(self)
                .returning(Article::as_returning())
                .get_result(conn)
                .await
                .on_unique(&slug_taken)
        } else {
            diesel::insert_into(articles::table)
                .values(self)
                .returning(Article::as_returning())
                .get_result(conn)
                .await
                .on_unique(&slug_taken)
        }
    }
}

/// Create an article
///
/// Authors (for themselves), editors and admins. The body is rendered and sanitized now;
/// `image:<id>` references must name stored images (422 otherwise). Without `status` the
/// article is a draft; `published` without `published_at` publishes it now.
#[utoipa::path(
    tag = "articles", operation_id = "create_article",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer")),
    request_body = NewArticle,
    responses((status = 201, description = "Created", body = ArticleResponse,
        headers(("Location" = String, description = "URL of the new article"), ("ETag" = String, description = "Strong ETag of the article")))),
    security(("bearer" = []))
)]
#[post("/articles")]
async fn create_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewArticle>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ANY_ROLE)?.clone();
    let (new, checks) = body.into_parts();
    let (input, checks) = input_for_new(new, &principal, checks);
    let base = base_url(&req);
    let urls = state.storage.urls(&req);
    let language = &state.search_language;
    idempotency::once(
        &req,
        &state.pool,
        Some(principal.token_id),
        async move |conn| {
            let article = save(conn, &principal, None, input, language, checks).await?;
            let view = view_one(conn, article, &urls).await?;
            Created::new(format!("{base}/api/v1/articles/{}", view.id), &view)
        },
    )
    .await
}

/// A new article's fields, checked; an author token writes as its own author by default.
/// `checks` are the body's so far; they go on to `save`, which answers them all at once.
fn input_for_new(new: NewArticle, principal: &Principal, mut checks: Checks) -> (Input, Checks) {
    let author = match (new.author, principal.role, principal.author_id) {
        (Some(author), _, _) => author,
        (None, Role::Author, Some(own)) => own.to_string(),
        (None, _, _) => {
            checks.fail("author", "required", "author (id or slug) is required");
            String::new()
        }
    };
    let mut input = Input {
        title: new.title,
        slug: new.slug,
        subtitle: new.subtitle,
        excerpt_given: new.excerpt,
        body_markdown: new.body_markdown,
        status: new.status.unwrap_or(Status::Draft),
        published_at: new.published_at.map(|t| t.0),
        author,
        tags: new.tags,
        cover_image: new.cover_image,
        comments_open: new.comments_open.unwrap_or(true),
    };
    check_text(&mut checks, &mut input);
    (input, checks)
}

/// Creates an article as `principal` would through the API (demo content, benchmarks).
pub async fn create(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    new: NewArticle,
    language: &SearchLanguage,
) -> Result<Article, ApiError> {
    let (input, checks) = input_for_new(new, principal, Checks::new());
    conn.transaction::<_, ApiError, _>(async |conn| {
        save(conn, principal, None, input, language, checks).await
    })
    .await
}

/// Update an article
///
/// JSON merge patch. Every saved change increments `version` and is kept as a revision.
/// With `If-Match`, the change is made only if the article still has that ETag: of two
/// writers with the same ETag one wins, the other gets 412. Changing the slug keeps the old
/// one as a redirect. Authors may change only their own articles.
#[utoipa::path(
    tag = "articles", operation_id = "update_article",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Change only if the article's ETag is still this")),
    request_body(content = ArticleChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed article", body = ArticleResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed article")))),
    security(("bearer" = []))
)]
#[patch("/articles/{id_or_slug}")]
async fn update_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<ArticleChanges>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ANY_ROLE)?.clone();
    let (changes, checks) = body.into_parts();
    let urls = state.storage.urls(&req);
    let mut conn = crate::db::conn(&state.pool).await?;
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let current = lock_for_write(conn, &principal, &key, &if_match).await?;
            let (input, checks) = apply(conn, &current, changes, checks).await?;
            let article = save(
                conn,
                &principal,
                Some(&current),
                input,
                &state.search_language,
                checks,
            )
            .await?;
            view_one(conn, article, &urls).await
        })
        .await?;
    fresh(&view)
}

/// The article a write is about, locked for the transaction: 404 when the caller may not see
/// it, 403 when it may not change it, 412 when `If-Match` is stale.
async fn lock_for_write(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
) -> Result<Article, ApiError> {
    let current = queries::lock(conn, key)
        .await?
        .ok_or_else(|| ApiError::not_found("article", key))?;
    if !may_read(reader_of(principal), &current) {
        return Err(ApiError::not_found("article", key));
    }
    may_write(principal, &current)?;
    if_match.check(&current)?;
    Ok(current)
}

fn reader_of(principal: &Principal) -> Reader {
    match (principal.role, principal.author_id) {
        (Role::Author, Some(id)) => Reader::Author(id),
        (Role::Author, None) => Reader::Public,
        _ => Reader::Staff,
    }
}

fn may_write(principal: &Principal, article: &Article) -> Result<(), ApiError> {
    if principal.role == Role::Author && principal.author_id != Some(article.author_id) {
        return Err(ApiError::Forbidden(
            "an author token may only change its own author's articles".into(),
        ));
    }
    Ok(())
}

/// The current article with the merge patch applied, checked.
async fn apply(
    conn: &mut AsyncPgConnection,
    current: &Article,
    changes: ArticleChanges,
    mut checks: Checks,
) -> Result<(Input, Checks), ApiError> {
    let current_tags = queries::tag_ids(conn, current.id).await?;
    let required = |checks: &mut Checks, field: &str| {
        checks.fail(field, "required", format!("{field} cannot be removed"));
    };
    let mut input = Input {
        title: current.title.clone(),
        slug: None,
        subtitle: current.subtitle.clone(),
        excerpt_given: current.excerpt_given.clone(),
        body_markdown: current.body_markdown.clone(),
        status: Status::of(&current.status, current.published_at, Utc::now()),
        published_at: current.published_at,
        author: current.author_id.to_string(),
        tags: current_tags.iter().map(ToString::to_string).collect(),
        cover_image: current.cover_image_id,
        comments_open: current.comments_open,
    };
    match changes.title {
        Some(Some(title)) => input.title = title,
        Some(None) => required(&mut checks, "title"),
        None => {}
    }
    match changes.slug {
        Some(Some(slug)) => input.slug = Some(slug),
        Some(None) => required(&mut checks, "slug"),
        None => {}
    }
    if let Some(subtitle) = changes.subtitle {
        input.subtitle = subtitle;
    }
    if let Some(excerpt) = changes.excerpt {
        input.excerpt_given = excerpt;
    }
    if let Some(body) = changes.body_markdown {
        input.body_markdown = body.unwrap_or_default();
    }
    if let Some(published_at) = changes.published_at {
        input.published_at = published_at.map(|t| t.0);
    }
    match changes.status {
        Some(Some(status)) => input.status = status,
        Some(None) => required(&mut checks, "status"),
        None => {}
    }
    match changes.author {
        Some(Some(author)) => input.author = author,
        Some(None) => required(&mut checks, "author"),
        None => {}
    }
    if let Some(tags) = changes.tags {
        input.tags = tags.unwrap_or_default();
    }
    if let Some(cover) = changes.cover_image {
        input.cover_image = cover;
    }
    match changes.comments_open {
        Some(Some(open)) => input.comments_open = open,
        Some(None) => required(&mut checks, "comments_open"),
        None => {}
    }
    check_text(&mut checks, &mut input);
    Ok((input, checks))
}

/// Delete an article
///
/// With its revisions and comments; its images stay. Authors may delete only
/// their own articles.
#[utoipa::path(
    tag = "articles", operation_id = "delete_article",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the article's ETag is still this")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = []))
)]
#[delete("/articles/{id_or_slug}")]
async fn delete_article(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ANY_ROLE)?.clone();
    let mut conn = crate::db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = lock_for_write(conn, &principal, &key, &if_match).await?;
        queries::delete(conn, current.id).await?;
        let keys = change_keys(Some(&current), None, true);
        crate::changes::record(conn, "article", Some(current.id), "deleted", keys).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The article behind a revisions URL, for editors, admins and its own author.
async fn revisable(
    conn: &mut AsyncPgConnection,
    auth: &Auth,
    key: &str,
) -> Result<Article, ApiError> {
    let principal = auth.require(ANY_ROLE)?;
    let article = queries::find(conn, key)
        .await?
        .ok_or_else(|| ApiError::not_found("article", key))?;
    if !may_read(reader_of(principal), &article) {
        return Err(ApiError::not_found("article", key));
    }
    may_write(principal, &article)?;
    Ok(article)
}

/// How the revisions list may be sorted.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct RevisionSortParam {
    /// `version` (oldest first) or `-version` (newest first, the default).
    #[param(pattern = r"^-?version$", example = "-version")]
    sort: Option<String>,
}

/// List an article's revisions
///
/// Every saved version, newest first, paged like every list: who saved which version when.
/// The text of a version is in `/revisions/{version}`. Editors, admins and the article's
/// author.
#[utoipa::path(
    tag = "articles", operation_id = "list_revisions",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"),
           PageParams, RevisionSortParam),
    responses((status = 200, description = "A page of revisions", body = ListResponse<RevisionSummary>,
        headers(("Link" = String, description = "RFC 8288 links to the next, previous, first and last pages"),
                ("X-Total-Count" = i64, description = "Revisions of the article"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/articles/{id_or_slug}/revisions")]
async fn list_revisions(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&queries::REVISION_SORTS, "-version")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let article = revisable(&mut conn, &auth, &key).await?;
    let loaded = queries::revisions(&mut conn, article.id, &pagination, &sort).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        |r| (r.version.to_string(), article.id),
        |r| r,
    )
}

/// Get one revision
///
/// The article as it was saved in `version`. Editors, admins and the article's author.
#[utoipa::path(
    tag = "articles", operation_id = "find_revision",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"),
           ("version" = i32, Path, description = "The version number, from 1", minimum = 1)),
    responses((status = 200, description = "The revision", body = RevisionResponse,
        headers(("ETag" = String, description = "Strong ETag of the revision")))),
    security(("bearer" = []))
)]
#[get("/articles/{id_or_slug}/revisions/{version}")]
async fn find_revision(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (key, version) = path.into_inner();
    let mut conn = crate::db::conn(&state.pool).await?;
    let article = revisable(&mut conn, &auth, &key).await?;
    let revision = queries::revision(&mut conn, article.id, version)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("article `{key}` has no version {version}")))?;
    ok(&req, &RevisionResponse::from(revision))
}
