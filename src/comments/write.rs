//! The one write path of moderation (editors and admins): a comment's status and body
//! changed, many statuses at once, a comment removed. The handlers call these as a
//! principal; the role check is here. (A reader's submission is anonymous: `submit_comment`
//! and `queries::insert`; the importer's comments are `queries::insert_imported`.)
use actix_web::web;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::model::{BulkStatus, Comment, CommentChanges};
use super::{MAX_BODY, check_nesting, comment_not_found, queries, render_body};
use crate::error::ApiError;
use crate::http::validate::Checks;
use crate::principal::{Principal, STAFF};

/// Changes the status and/or the body of the comment `id`, as `principal`.
pub async fn moderate(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
    changes: CommentChanges,
    mut checks: Checks,
) -> Result<Comment, ApiError> {
    principal.require(STAFF)?;
    let markdown = changes
        .body
        .as_deref()
        .map(|b| checks.multiline_text("body", b, MAX_BODY));
    if let Some(markdown) = &markdown {
        check_nesting(&mut checks, markdown);
    }
    checks.finish()?;
    let html = match markdown.clone() {
        Some(markdown) => Some(web::block(move || render_body(&markdown)).await?),
        None => None,
    };
    let body = markdown.zip(html);
    queries::moderate(
        conn,
        &principal.actor,
        id,
        changes.status.map(|s| s.as_str()),
        body,
    )
    .await?
    .ok_or_else(|| comment_not_found(id))
}

/// Gives up to 100 comments one status, as `principal`: how many changed (unknown ids are
/// skipped).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    bulk: BulkStatus,
    mut checks: Checks,
) -> Result<usize, ApiError> {
    principal.require(STAFF)?;
    if bulk.ids.is_empty() || bulk.ids.len() > 100 {
        checks.fail("ids", "out_of_range", "send 1 to 100 comment ids");
    }
    checks.finish()?;
    queries::set_status(conn, &principal.actor, &bulk.ids, bulk.status.as_str()).await
}

/// Removes the comment `id` (a tombstone while it has replies), as `principal`.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
) -> Result<(), ApiError> {
    principal.require(STAFF)?;
    if !queries::remove(conn, &principal.actor, id).await? {
        return Err(comment_not_found(id));
    }
    Ok(())
}
