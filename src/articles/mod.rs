//! `/api/v1/articles`: what lede exists for. Markdown bodies rendered on save, figures from
//! stored images, publishing and scheduling, revisions, old slugs that redirect, filters,
//! keyset pagination and ranked full-text search.
pub mod embeds;
pub mod limits;
pub mod list;
pub mod model;
pub mod notes;
pub mod preview;
pub mod queries;
mod query;
pub mod related;
pub mod removed;
pub mod render;
pub mod revisions;
pub mod seo;
pub mod view;
pub mod write;

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use diesel_async::AsyncPgConnection;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{Article, ArticleChanges, ArticleResponse, ListedArticle, NewArticle};
use self::queries::{Embeds, Filters, Reader};
use self::query::{ArticleQuery, parse_filters};
use self::revisions::{find_revision, list_revisions};
use self::view::snippet_html;
pub(crate) use self::view::{view, view_adjacent, view_one, written};
pub use self::write::{create, refresh_figures};
use self::write::{may_write, reader_of};
use crate::changes::Key;
use crate::error::ApiError;
use crate::http::auth::{Auth, WRITERS};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, Sort, list_response};
use crate::http::response::{IfMatch, fresh, ok_showing};
use crate::media::storage::MediaUrls;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_articles)
        .service(create_article)
        .service(find_article)
        .service(update_article)
        .service(upsert_article)
        .service(delete_article)
        .service(list_revisions)
        .service(find_revision)
        .service(preview::create_preview_link)
        .service(preview::revoke_preview_links)
        .service(preview::preview_article)
        .service(related::list_related)
        .configure(notes::configure);
}

fn reader(auth: &Auth) -> Reader {
    auth.principal().map_or(Reader::Public, reader_of)
}

pub(crate) fn may_read(reader: Reader, article: &Article) -> bool {
    match reader {
        Reader::Public => article.is_public,
        Reader::Author(author_id) => article.is_public || article.author_id == author_id,
        Reader::Staff => true,
    }
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
    let urls = crate::http::media_urls(&req);
    let reader = reader(&auth);
    if filters.q.is_some() {
        return search_articles(&req, &state, &auth, &filters, &pagination, &sort, &urls).await;
    }
    // Before the connection is chosen: a count read from a replica that turns out behind is
    // then not kept as current.
    let epoch = state.cache.epoch();
    let mut conn = auth.read_conn(&state).await?;
    let rows = queries::list(&mut conn, reader, &filters, &pagination, &sort).await?;
    // Every change to an author or tag names `articles` too, so a filter by a renamed
    // one's slug is dropped with the rest.
    let list_keys = [Key::Articles];
    // The public count of a list is shared by all its pages and orders: kept until an
    // article (or a filter's author or tag) changes.
    let (total, estimated) = match reader {
        Reader::Public => {
            let list = format!("{filters:?}");
            match state.cache.count(&list, &list_keys) {
                Some(total) => total,
                None => {
                    let total = queries::count(&mut conn, reader, &filters).await?;
                    state.cache.keep_count(list, epoch, total);
                    total
                }
            }
        }
        _ => queries::count(&mut conn, reader, &filters).await?,
    };
    let page: Vec<&Article> = rows.iter().map(|r| &r.article).collect();
    let embeds = Embeds::load(&mut conn, &page, &urls, &state.site).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &list_keys,
        crate::http::pagination::Loaded {
            rows,
            total,
            estimated,
            more: false,
        },
        |row| row.article.id,
        |row| view(row.article, &embeds, None, filters.include_body),
    )
}

/// A list with `q`: the search index finds and orders the hits, Postgres reads them back as
/// `reader` may see them (an index a moment behind never shows what it must not).
async fn search_articles(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
    filters: &Filters,
    pagination: &Pagination,
    sort: &Sort<ListedArticle>,
    urls: &MediaUrls,
) -> Result<HttpResponse, ApiError> {
    use crate::http::pagination::KeyBound;
    use crate::search::{Order, SearchRequest};
    let reader = reader(auth);
    let after = match pagination.cursor(sort)? {
        Some(cursor) => Some((sort.bound(cursor)?, cursor.id)),
        None => None,
    };
    let order = match (sort.option.name, after) {
        ("relevance", None) => Order::Relevance { after: None },
        ("relevance", Some((KeyBound::Float(score), id))) => Order::Relevance {
            after: Some((score, id)),
        },
        (name @ ("published_at" | "updated_at" | "created_at"), after) => Order::Time {
            field: if name == "published_at" {
                "sort_at"
            } else {
                name
            },
            descending: sort.descending,
            after: match after {
                Some((KeyBound::Time(time), id)) => Some((time.timestamp_micros(), id)),
                Some(_) => {
                    return Err(ApiError::BadRequest(
                        "query parameter `cursor` is not valid".into(),
                    ));
                }
                None => None,
            },
        },
        ("relevance", Some(_)) => {
            return Err(ApiError::BadRequest(
                "query parameter `cursor` is not valid".into(),
            ));
        }
        (name, _) => {
            return Err(ApiError::BadRequest(format!(
                "a search (`q`) cannot be sorted by `{name}`; use relevance, published_at, \
                 updated_at or created_at"
            )));
        }
    };
    let found = state
        .search
        .find(SearchRequest {
            reader,
            filters: filters.clone(),
            order,
            offset: pagination.offset() as usize,
            limit: pagination.per_page as usize + 1,
        })
        .await?;
    let mut conn = auth.read_conn(state).await?;
    let ids: Vec<Uuid> = found.hits.iter().map(|hit| hit.id).collect();
    // The index found more than a page: more follow, even if Postgres drops some of these
    // (an index a moment behind a draft or a deletion).
    let more = ids.len() as i64 > pagination.per_page;
    let mut articles: HashMap<Uuid, ListedArticle> =
        queries::by_ids(&mut conn, reader, filters, &ids)
            .await?
            .into_iter()
            .map(|row| (row.article.id, row))
            .collect();
    let rows: Vec<ListedArticle> = found
        .hits
        .into_iter()
        .filter_map(|hit| {
            let mut row = articles.remove(&hit.id)?;
            row.rank = hit.score;
            row.snippet = Some(hit.snippet);
            Some(row)
        })
        .collect();
    let page: Vec<&Article> = rows.iter().map(|r| &r.article).collect();
    let embeds = Embeds::load(&mut conn, &page, urls, &state.site).await?;
    // Dropped when an article changes, and when the index has taken in a change.
    let list_keys = [Key::Articles, Key::Search];
    list_response(
        req,
        pagination,
        sort,
        &list_keys,
        crate::http::pagination::Loaded {
            rows,
            total: found.total,
            estimated: false,
            more,
        },
        |row| row.article.id,
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

/// What one article's answer may be asked for.
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FindQuery {
    /// `previous` and `next` within this tag (id or slug) instead of all articles of the
    /// kind: "more in Cities".
    #[param(example = "cities")]
    adjacent_tag: Option<String>,
}

/// Get an article
///
/// By id or slug. Drafts and scheduled articles are 404 without a token (authors see their
/// own). A slug the article had before answers 301 to its current URL. The answer also
/// links the `previous` and `next` public articles.
#[utoipa::path(
    tag = "articles", operation_id = "find_article",
    params(("id_or_slug" = String, Path, description = "The article's id or slug", example = "the-last-night-tram"),
           FindQuery,
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
    query: web::Query<FindQuery>,
) -> Result<HttpResponse, ApiError> {
    let reader = reader(&auth);
    let mut conn = auth.read_conn(&state).await?;
    let article = match queries::find(&mut conn, &key).await? {
        Some(article) => article,
        None => {
            return match queries::by_old_slug(&mut conn, &key).await? {
                Some(moved) if may_read(reader, &moved) => {
                    let mut location = format!("{}/api/v1/articles/{}", base_url(&req), moved.slug);
                    // `adjacent_tag` goes along (the only parameter this route takes).
                    if let Some(tag) = &query.adjacent_tag {
                        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
                        pairs.append_pair("adjacent_tag", tag);
                        location = format!("{location}?{}", pairs.finish());
                    }
                    let moved_to = HttpResponse::MovedPermanently()
                        .insert_header((header::LOCATION, location))
                        .finish();
                    // Dropped (by a CDN too) when the article changes, its slug included.
                    let keys = vec![Key::Article(moved.id)];
                    Ok(crate::http::cache::showing(moved_to, keys))
                }
                _ => Err(ApiError::not_found("article", &key)),
            };
        }
    };
    if !may_read(reader, &article) {
        return Err(ApiError::not_found("article", &key));
    }
    let tag_id = match &query.adjacent_tag {
        Some(tag) => Some(
            crate::tags::queries::find(&mut conn, tag)
                .await?
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "query parameter `adjacent_tag` names no tag (`{}`)",
                        tag.chars().take(100).collect::<String>()
                    ))
                })?
                .id,
        ),
        None => None,
    };
    let urls = crate::http::media_urls(&req);
    let view = view_adjacent(&mut conn, article, &urls, &state.site, tag_id).await?;
    let response = ok_showing(&req, &view)?;
    Ok(match tag_id {
        // Neighbours within a tag change with any public article's move, rename or tags:
        // such answers are dropped with every one of those changes (and the tag's own).
        Some(tag) => crate::http::cache::also_showing(response, vec![Key::Sequence, Key::Tag(tag)]),
        None => response,
    })
}

/// Create an article
///
/// Authors (for themselves), editors and admins. The body is rendered and sanitized now;
/// `image:<id>` references must name stored images (422 otherwise). Without `status` the
/// article is a draft; `published` without `published_at` publishes it now.
#[utoipa::path(
    tag = "articles", operation_id = "create_article",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer, marked `Idempotent-Replayed: true`")),
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
    let principal = auth.require(WRITERS)?.clone();
    let (new, checks) = body.into_parts();
    let base = base_url(&req);
    let urls = crate::http::media_urls(&req);
    let language = &state.search_language;
    let site = &state.site;
    // Rendered before the write's transaction (the idempotency key's) opens.
    let bodies = write::Prerendered::of(&state.pool, [new.body_markdown.clone()]).await?;
    idempotency::once(
        &req,
        &state.pool,
        Some(principal.token_id),
        async move |conn| {
            let write = write::Write {
                language,
                bodies: &bodies,
            };
            let article = write::create(conn, &principal, new, checks, &write).await?;
            let view = written(conn, article, &urls, site, &bodies).await?;
            Created::new(format!("{base}/api/v1/articles/{}", view.id), &view)
        },
    )
    .await
}

/// Create or replace an article by its external id
///
/// For scripts and importers that run again: the body is a whole article, as on create
/// (`external_id` in it may be left out). When no article has this `external_id` it is
/// created (201); otherwise it is replaced (200), keeping its slug and its publication date
/// unless the body gives them (a draft's date is the body's). Sending what is already there
/// changes nothing: no new version, no revision, no webhook. Authors may replace only their
/// own articles; external ids are one namespace, so one held by a draft the token may not
/// see is a 404. With `If-Match`, replace only that version (412 when there is none yet).
#[utoipa::path(
    tag = "articles", operation_id = "upsert_article",
    params(("external_id" = String, Path, description = "Where the article came from: a WordPress post id, a file path (at most 200 characters)", example = "wp:1234"),
           ("If-Match" = Option<String>, Header, description = "Replace only if the article's ETag is still this")),
    request_body = NewArticle,
    responses((status = 200, description = "Replaced (or already so)", body = ArticleResponse,
        headers(("ETag" = String, description = "Strong ETag of the article"))),
        (status = 201, description = "Created", body = ArticleResponse,
        headers(("Location" = String, description = "URL of the new article"), ("ETag" = String, description = "Strong ETag of the article")))),
    security(("bearer" = []))
)]
#[put("/articles/by-external-id/{external_id}")]
async fn upsert_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    external_id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<NewArticle>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?.clone();
    let (new, checks) = body.into_parts();
    let urls = crate::http::media_urls(&req);
    let bodies = write::Prerendered::of(&state.pool, [new.body_markdown.clone()]).await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let write = write::Write {
        language: &state.search_language,
        bodies: &bodies,
    };
    let (article, created) = write::upsert(
        &mut conn,
        &principal,
        &external_id,
        new,
        checks,
        &if_match,
        &write,
    )
    .await?;
    let view = written(&mut conn, article, &urls, &state.site, &bodies).await?;
    if created {
        let location = format!("{}/api/v1/articles/{}", base_url(&req), view.id);
        return Ok(Created::new(location, &view)?.into_response());
    }
    fresh(&view)
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
    let principal = auth.require(WRITERS)?.clone();
    let (changes, checks) = body.into_parts();
    let urls = crate::http::media_urls(&req);
    let bodies = write::Prerendered::for_changes(&state.pool, &key, &changes).await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let write = write::Write {
        language: &state.search_language,
        bodies: &bodies,
    };
    let article = write::update(
        &mut conn, &principal, &key, &if_match, changes, checks, &write,
    )
    .await?;
    fresh(&written(&mut conn, article, &urls, &state.site, &bodies).await?)
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
    let principal = auth.require(WRITERS)?.clone();
    let mut conn = crate::db::conn(&state.pool).await?;
    write::delete(&mut conn, &principal, &key, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The article behind a URL only its writers use (revisions, preview links): for editors,
/// admins and its own author; 404 to whoever may not see it, 403 to an author who may see
/// but not change it.
pub(crate) async fn writable(
    conn: &mut AsyncPgConnection,
    auth: &Auth,
    key: &str,
) -> Result<Article, ApiError> {
    let principal = auth.require(WRITERS)?;
    let article = queries::find(conn, key)
        .await?
        .ok_or_else(|| ApiError::not_found("article", key))?;
    if !may_read(reader_of(principal), &article) {
        return Err(ApiError::not_found("article", key));
    }
    may_write(principal, &article)?;
    Ok(article)
}
