//! `/api/v1/articles/{id_or_slug}/revisions`: the versions an article was saved as.

use actix_web::{HttpRequest, HttpResponse, get, web};
use utoipa::IntoParams;

use super::model::{RevisionResponse, RevisionSummary};
use super::{queries, writable};
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::ok;
use crate::state::AppState;

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
    let mut conn = auth.read_conn(&state).await?;
    let article = writable(&mut conn, &auth, &key).await?;
    let loaded = queries::revisions(&mut conn, article.id, &pagination, &sort).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        // Versions are unique within the article: its id stands in for the rows'.
        |_| article.id,
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
    let mut conn = auth.read_conn(&state).await?;
    let article = writable(&mut conn, &auth, &key).await?;
    let (revision, saved_by_name) = queries::revision(&mut conn, article.id, version)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("article `{key}` has no version {version}")))?;
    let mut shown = RevisionResponse::from(revision);
    shown.saved_by_name = saved_by_name;
    ok(&req, &shown)
}
