//! The moderation queue (editors and admins): list, read, change, bulk-change and delete
//! comments.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    BulkResult, BulkStatus, CommentChanges, CommentStatus, ModeratedComment, PublicComment,
    StaffReply,
};
use crate::error::ApiError;
use crate::http::auth::{Auth, STAFF};
use crate::http::body::JsonBody;
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::{fresh, ok};
use crate::state::AppState;

use super::{queries, write};

/// Filters of the moderation queue.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct QueueQuery {
    /// `pending`, `approved`, `spam` or `trash`.
    pub(super) status: Option<CommentStatus>,
    /// Only comments on this article (id).
    pub(super) article: Option<Uuid>,
    /// `created_at` or `-created_at` (default: newest first).
    #[allow(dead_code)]
    #[param(pattern = r"^-?created_at$")]
    pub(super) sort: Option<String>,
}

/// Moderation queue
///
/// Editors and admins: every comment with the commenter's email, IP address and user agent.
#[utoipa::path(
    tag = "moderation", operation_id = "list_comments",
    params(PageParams, QueueQuery),
    responses((status = 200, description = "A page of comments", body = ListResponse<ModeratedComment>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Comments in the (filtered) queue"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/comments")]
pub(super) async fn list_comments(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(STAFF)?;
    let sort = pagination.sort(&queries::SORTS, "-created_at")?;
    let mut conn = auth.read_conn(&state).await?;
    let loaded = queries::list(
        &mut conn,
        &pagination,
        &sort,
        query.status.map(CommentStatus::as_str),
        query.article,
    )
    .await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        |c| c.id,
        ModeratedComment::from,
    )
}

pub(super) fn comment_not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no comment with id `{id}`"))
}

/// Get a comment (moderation)
///
/// Editors and admins.
#[utoipa::path(
    tag = "moderation", operation_id = "find_comment",
    params(("id" = Uuid, Path, description = "The comment's id")),
    responses((status = 200, description = "The comment", body = ModeratedComment,
        headers(("ETag" = String, description = "Strong ETag of the comment")))),
    security(("bearer" = []))
)]
#[get("/comments/{id}")]
pub(super) async fn find_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    auth.require(STAFF)?;
    let mut conn = auth.read_conn(&state).await?;
    let comment = queries::find(&mut conn, *id)
        .await?
        .ok_or_else(|| comment_not_found(*id))?;
    ok(&req, &ModeratedComment::from(comment))
}

/// Moderate a comment
///
/// Editors and admins: change its status (approve, mark as spam, trash) and/or its body.
#[utoipa::path(
    tag = "moderation", operation_id = "update_comment",
    params(("id" = Uuid, Path, description = "The comment's id")),
    request_body = CommentChanges,
    responses((status = 200, description = "The changed comment", body = ModeratedComment,
        headers(("ETag" = String, description = "Strong ETag of the comment")))),
    security(("bearer" = []))
)]
#[patch("/comments/{id}")]
pub(super) async fn update_comment(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: JsonBody<CommentChanges>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(STAFF)?;
    let (changes, checks) = body.into_parts();
    let mut conn = crate::db::conn(&state.pool).await?;
    let comment = write::moderate(&mut conn, principal, *id, changes, checks).await?;
    fresh(&ModeratedComment::from(comment))
}

/// Change many comments' status
///
/// Editors and admins: one status for up to 100 comments. Unknown ids are skipped; the
/// answer says how many were changed.
#[utoipa::path(
    tag = "moderation", operation_id = "bulk_comment_status",
    request_body = BulkStatus,
    responses((status = 200, description = "Changed", body = BulkResult)),
    security(("bearer" = []))
)]
#[post("/comments/bulk-status")]
pub(super) async fn bulk_status(
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<BulkStatus>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(STAFF)?;
    let (bulk, checks) = body.into_parts();
    let mut conn = crate::db::conn(&state.pool).await?;
    let updated = write::set_status(&mut conn, principal, bulk, checks).await?;
    Ok(HttpResponse::Ok().json(BulkResult { updated }))
}

/// Delete a comment
///
/// Editors and admins. A comment with replies is kept as a tombstone (no name, no text) so
/// the thread stays readable; one without is removed.
#[utoipa::path(
    tag = "moderation", operation_id = "delete_comment",
    params(("id" = Uuid, Path, description = "The comment's id")),
    responses((status = 204, description = "Deleted (or tombstoned)")),
    security(("bearer" = []))
)]
#[delete("/comments/{id}")]
pub(super) async fn delete_comment(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(STAFF)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    write::remove(&mut conn, principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reply as staff
///
/// Editors and admins: a reply to an approved comment of a public article, public at once
/// under the caller's byline (their author's name, else their own name; a token of no one
/// signs "The editors") and marked `staff: true`. It is written even when comments are
/// closed on the article.
#[utoipa::path(
    tag = "moderation", operation_id = "reply_to_comment",
    params(("id" = Uuid, Path, description = "The comment replied to: an approved one")),
    request_body = StaffReply,
    responses((status = 201, description = "The reply, as readers see it", body = PublicComment),
        (status = 409, description = "The comment is not approved, or its article not public", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/comments/{id}/replies")]
pub(super) async fn reply_to_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: JsonBody<StaffReply>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(STAFF)?;
    let (reply, checks) = body.into_parts();
    let mut conn = crate::db::conn(&state.pool).await?;
    let comment = write::reply(&mut conn, principal, *id, reply, checks).await?;
    let base = crate::http::base_url(&req);
    let view = PublicComment::new(&comment, &|email| state.avatar_key.url(&base, email));
    Ok(HttpResponse::Created().json(view))
}
