//! `/api/v1/tags`: topics articles are filed under. Anyone reads them; editors and
//! admins write them, and authors may create them.
pub mod model;
pub mod queries;
pub mod write;

pub use self::write::{create, delete, merge, update};

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use diesel_async::AsyncPgConnection;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{NewTag, Tag, TagChanges, TagMerge, TagResponse};
use crate::changes::Key;
use crate::error::ApiError;
use crate::http::auth::{Auth, PUBLISHERS, STAFF};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::{IfMatch, fresh, ok_showing};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tags)
        .service(create_tag)
        .service(find_tag)
        .service(update_tag)
        .service(delete_tag)
        .service(merge_tag);
}

/// Sort order of the tag list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TagSortParam {
    /// `name` (default), `slug`, `created_at` or `updated_at`; prefix `-` for descending.
    #[param(example = "name", pattern = r"^-?(name|slug|created_at|updated_at)$")]
    sort: Option<String>,
}

/// A tag as a client sees it, its public articles counted.
pub(crate) async fn view(conn: &mut AsyncPgConnection, tag: Tag) -> Result<TagResponse, ApiError> {
    let counts = queries::article_counts(conn, &[tag.id]).await?;
    let count = counts.get(&tag.id).copied().unwrap_or(0);
    Ok(TagResponse::new(tag, count))
}

/// List tags
///
/// Every tag, sorted by name unless `sort` says otherwise.
#[utoipa::path(
    tag = "tags", operation_id = "list_tags",
    params(PageParams, TagSortParam),
    responses((status = 200, description = "A page of tags", body = ListResponse<TagResponse>,
        headers(("Link" = String, description = "RFC 8288 links to the next, previous, first and last pages"),
                ("X-Total-Count" = i64, description = "Tags in the whole list"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/tags")]
async fn list_tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&queries::SORTS, "name")?;
    let mut conn = auth.read_conn(&state).await?;
    let loaded = queries::list(&mut conn, &pagination, &sort).await?;
    let ids: Vec<Uuid> = loaded.rows.iter().map(|t| t.id).collect();
    let counts = queries::article_counts(&mut conn, &ids).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[Key::Tags, Key::Counts],
        loaded,
        |t| t.id,
        |t| {
            let count = counts.get(&t.id).copied().unwrap_or(0);
            TagResponse::new(t, count)
        },
    )
}

/// Get a tag
///
/// By id or slug. A slug the tag had before (renamed, or merged into this one) answers 301
/// to its current URL.
#[utoipa::path(
    tag = "tags", operation_id = "find_tag",
    params(("id_or_slug" = String, Path, description = "The tag's id or slug", example = "climate"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The tag", body = TagResponse,
        headers(("ETag" = String, description = "Strong ETag of the tag"))),
        (status = 301, description = "A former slug: the tag lives at `Location` now",
            headers(("Location" = String, description = "The tag's current URL"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/tags/{id_or_slug}")]
async fn find_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = auth.read_conn(&state).await?;
    let Some(tag) = queries::find(&mut conn, &key).await? else {
        let moved = queries::by_old_slug(&mut conn, &key)
            .await?
            .ok_or_else(|| ApiError::not_found("tag", &key))?;
        let moved_to = HttpResponse::MovedPermanently()
            .insert_header((
                actix_web::http::header::LOCATION,
                format!("{}/api/v1/tags/{}", base_url(&req), moved.slug),
            ))
            .finish();
        // Dropped (by a CDN too) when the tag changes, its slug included.
        return Ok(crate::http::cache::showing(
            moved_to,
            vec![Key::Tag(moved.id)],
        ));
    };
    ok_showing(&req, &view(&mut conn, tag).await?)
}

/// Create a tag
///
/// Authors, editors and admins. The slug is made from the name when not given (with
/// `-2`, `-3` appended when taken); a given slug that is taken is a 409.
#[utoipa::path(
    tag = "tags", operation_id = "create_tag",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer, marked `Idempotent-Replayed: true`")),
    request_body = NewTag,
    responses((status = 201, description = "Created", body = TagResponse,
        headers(("Location" = String, description = "URL of the new tag"), ("ETag" = String, description = "Strong ETag of the tag")))),
    security(("bearer" = []))
)]
#[post("/tags")]
async fn create_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewTag>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(PUBLISHERS)?;
    let caller = principal.token_id;
    let (new, checks) = body.into_parts();
    let base = base_url(&req);
    idempotency::once(&req, &state.pool, Some(caller), async move |conn| {
        let tag = create(conn, principal, new, checks).await?;
        let location = format!("{base}/api/v1/tags/{}", tag.id);
        Created::new(location, &TagResponse::new(tag, 0))
    })
    .await
}

/// Update a tag
///
/// Editors and admins. JSON merge patch: absent fields stay, `null` clears `description`.
/// With `If-Match`, the change is made only if the tag still has that ETag.
#[utoipa::path(
    tag = "tags", operation_id = "update_tag",
    params(("id_or_slug" = String, Path, description = "The tag's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Change only if the tag's ETag is still this")),
    request_body(content = TagChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed tag", body = TagResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed tag")))),
    security(("bearer" = []))
)]
#[patch("/tags/{id_or_slug}")]
async fn update_tag(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<TagChanges>,
) -> Result<HttpResponse, ApiError> {
    // Refused before a connection is taken.
    let principal = auth.require(STAFF)?;
    let (changes, checks) = body.into_parts();
    let mut conn = crate::db::conn(&state.pool).await?;
    let tag = update(&mut conn, principal, &key, &if_match, changes, checks).await?;
    fresh(&view(&mut conn, tag).await?)
}

/// Delete a tag
///
/// Editors and admins.
#[utoipa::path(
    tag = "tags", operation_id = "delete_tag",
    params(("id_or_slug" = String, Path, description = "The tag's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the tag's ETag is still this")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = []))
)]
#[delete("/tags/{id_or_slug}")]
async fn delete_tag(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    // Refused before a connection is taken.
    let principal = auth.require(STAFF)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    delete(&mut conn, principal, &key, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Merge a tag into another
///
/// Editors and admins. Every article filed under this tag is filed under `into` instead
/// (in the same place among its tags; once, if it had both), this tag's slugs answer 301 to
/// `into`'s URL, and this tag is deleted. With `If-Match`, only if this tag's ETag is still
/// that. The answer is the tag that stays.
#[utoipa::path(
    tag = "tags", operation_id = "merge_tag",
    params(("id_or_slug" = String, Path, description = "The tag merged away: its id or slug"),
           ("If-Match" = Option<String>, Header, description = "Merge only if this tag's ETag is still this")),
    request_body = TagMerge,
    responses((status = 200, description = "The tag that stays, its articles counted", body = TagResponse,
        headers(("ETag" = String, description = "Strong ETag of the tag that stays")))),
    security(("bearer" = []))
)]
#[post("/tags/{id_or_slug}/merge")]
async fn merge_tag(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<TagMerge>,
) -> Result<HttpResponse, ApiError> {
    // Refused before a connection is taken.
    let principal = auth.require(STAFF)?;
    let (merge_into, checks) = body.into_parts();
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let tag = merge(&mut conn, principal, &key, &if_match, merge_into).await?;
    fresh(&view(&mut conn, tag).await?)
}
