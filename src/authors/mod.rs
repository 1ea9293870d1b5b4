//! `/api/v1/authors`: bylines. Anyone reads them; editors and admins write them.
pub mod model;
pub mod queries;
pub mod write;

pub use self::write::{create, delete, update};

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use self::model::{Author, AuthorChanges, AuthorResponse, NewAuthor};
use crate::changes::Key;
use crate::error::ApiError;
use crate::http::auth::{Auth, STAFF};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, Loaded, PageParams, Pagination, list_response};
use crate::http::response::{IfMatch, fresh, ok_showing};
use crate::images::{self, model::ImageResponse};
use crate::media::storage::MediaUrls;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_authors)
        .service(create_author)
        .service(find_author)
        .service(update_author)
        .service(delete_author);
}

/// Sort order of the author list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuthorSortParam {
    /// `name` (default), `slug`, `created_at` or `updated_at`; prefix `-` for descending.
    #[param(
        example = "-created_at",
        pattern = r"^-?(name|slug|created_at|updated_at)$"
    )]
    sort: Option<String>,
}

/// List authors
///
/// Every author, sorted by name unless `sort` says otherwise. `email` is included only
/// for callers with a token.
#[utoipa::path(
    tag = "authors", operation_id = "list_authors",
    params(PageParams, AuthorSortParam),
    responses((status = 200, description = "A page of authors", body = ListResponse<AuthorResponse>,
        headers(("Link" = String, description = "RFC 8288 links to the next, previous, first and last pages"),
                ("X-Total-Count" = i64, description = "Authors in the whole list"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/authors")]
async fn list_authors(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&queries::SORTS, "name")?;
    let mut conn = auth.read_conn(&state).await?;
    let Loaded { rows, total, .. } = queries::list(&mut conn, &pagination, &sort).await?;
    let urls = crate::http::media_urls(&req);
    let avatars = avatars(&mut conn, &rows, &urls).await?;
    let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
    let counts = queries::article_counts(&mut conn, &ids).await?;
    let with_private = auth.is_authenticated();
    list_response(
        &req,
        &pagination,
        &sort,
        // Lists name their items, not what they embed: every author's count is `counts`.
        &[Key::Authors, Key::Counts],
        Loaded::exact(rows, total),
        |a| a.id,
        |a| {
            let avatar = a.avatar_image_id.and_then(|id| avatars.get(&id).cloned());
            let count = counts.get(&a.id).copied().unwrap_or(0);
            AuthorResponse::new(a, with_private, avatar, count)
        },
    )
}

/// The avatars of a page of authors, in one query.
async fn avatars(
    conn: &mut AsyncPgConnection,
    authors: &[Author],
    urls: &MediaUrls,
) -> Result<HashMap<Uuid, ImageResponse>, ApiError> {
    let ids: Vec<Uuid> = authors.iter().filter_map(|a| a.avatar_image_id).collect();
    Ok(images::queries::by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|image| (image.id, ImageResponse::new(image, urls)))
        .collect())
}

/// One author as a client sees it, avatar embedded, articles counted.
pub(crate) async fn view(
    conn: &mut AsyncPgConnection,
    author: Author,
    with_private: bool,
    urls: &MediaUrls,
) -> Result<AuthorResponse, ApiError> {
    let mut avatars = avatars(conn, std::slice::from_ref(&author), urls).await?;
    let avatar = author.avatar_image_id.and_then(|id| avatars.remove(&id));
    let counts = queries::article_counts(conn, &[author.id]).await?;
    let count = counts.get(&author.id).copied().unwrap_or(0);
    Ok(AuthorResponse::new(author, with_private, avatar, count))
}

/// Get an author
///
/// By id or slug.
#[utoipa::path(
    tag = "authors", operation_id = "find_author",
    params(("id_or_slug" = String, Path, description = "The author's id or slug", example = "ada-okafor"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The author", body = AuthorResponse,
        headers(("ETag" = String, description = "Strong ETag of the author"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/authors/{id_or_slug}")]
async fn find_author(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = auth.read_conn(&state).await?;
    let author = queries::find(&mut conn, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("author", &key))?;
    let urls = crate::http::media_urls(&req);
    ok_showing(
        &req,
        &view(&mut conn, author, auth.is_authenticated(), &urls).await?,
    )
}

/// Create an author
///
/// Editors and admins. The slug is made from the name when not given (with `-2`, `-3`
/// appended when taken); a given slug that is taken is a 409.
#[utoipa::path(
    tag = "authors", operation_id = "create_author",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer, marked `Idempotent-Replayed: true`")),
    request_body = NewAuthor,
    responses((status = 201, description = "Created", body = AuthorResponse,
        headers(("Location" = String, description = "URL of the new author"), ("ETag" = String, description = "Strong ETag of the author")))),
    security(("bearer" = []))
)]
#[post("/authors")]
async fn create_author(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewAuthor>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(STAFF)?;
    let caller = principal.token_id;
    let (new, checks) = body.into_parts();
    let base = base_url(&req);
    let urls = crate::http::media_urls(&req);
    idempotency::once(&req, &state.pool, Some(caller), async move |conn| {
        let author = create(conn, principal, new, checks).await?;
        let location = format!("{base}/api/v1/authors/{}", author.id);
        Created::new(location, &view(conn, author, true, &urls).await?)
    })
    .await
}

/// Update an author
///
/// JSON merge patch: absent fields stay, `null` clears `email`, `bio` and `website`.
/// With `If-Match`, the change is made only if the author still has that ETag.
#[utoipa::path(
    tag = "authors", operation_id = "update_author",
    params(("id_or_slug" = String, Path, description = "The author's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Change only if the author's ETag is still this")),
    request_body(content = AuthorChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed author", body = AuthorResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed author")))),
    security(("bearer" = []))
)]
#[patch("/authors/{id_or_slug}")]
async fn update_author(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<AuthorChanges>,
) -> Result<HttpResponse, ApiError> {
    // Refused before a connection is taken.
    let principal = auth.require(STAFF)?;
    let (changes, checks) = body.into_parts();
    let urls = crate::http::media_urls(&req);
    let mut conn = crate::db::conn(&state.pool).await?;
    let author = update(&mut conn, principal, &key, &if_match, changes, checks).await?;
    fresh(&view(&mut conn, author, true, &urls).await?)
}

/// Delete an author
///
/// Editors and admins. Tokens bound to the author are deleted with it; an author who still
/// has articles is a 409 naming them (move or delete those first).
#[utoipa::path(
    tag = "authors", operation_id = "delete_author",
    params(("id_or_slug" = String, Path, description = "The author's id or slug"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the author's ETag is still this")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = []))
)]
#[delete("/authors/{id_or_slug}")]
async fn delete_author(
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
