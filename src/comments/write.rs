//! The one write path of moderation (editors and admins): a comment's status and body
//! changed, many statuses at once, a comment removed. The handlers call these as a
//! principal; the role check is here. (A reader's submission is anonymous: `submit_comment`
//! and `queries::insert`; the importer's comments are `queries::insert_imported`.)
use actix_web::web;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::model::{BulkStatus, Comment, CommentChanges, CommentStatus, StaffReply};
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

/// A member of staff's reply to the approved comment `parent_id`, as `principal`: shown at
/// once, under their byline (their author's name, else their own, else the token's), and
/// marked `staff`. Comments closed on the article do not stop it.
pub async fn reply(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    parent_id: Uuid,
    reply: StaffReply,
    mut checks: Checks,
) -> Result<Comment, ApiError> {
    principal.require(STAFF)?;
    let markdown = checks.multiline_text("body", &reply.body, MAX_BODY);
    check_nesting(&mut checks, &markdown);
    checks.finish()?;
    let author_name = byline(conn, principal).await?;
    let source = markdown.clone();
    let body_html = web::block(move || render_body(&source)).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // The comment and its article held (shared) while the reply is written: neither is
        // hidden meanwhile under it.
        let parent = queries::lock_shared(conn, parent_id)
            .await?
            .filter(|parent| parent.deleted_at.is_none())
            .ok_or_else(|| comment_not_found(parent_id))?;
        if !crate::articles::queries::hold_if_public(conn, parent.article_id).await? {
            return Err(ApiError::Conflict {
                detail: "this comment's article is not public: a reply would show nowhere".into(),
                errors: Vec::new(),
            });
        }
        if parent.status != CommentStatus::Approved.as_str() {
            return Err(ApiError::Conflict {
                detail: format!(
                    "this comment is {}: approve it first, so readers see what the reply answers",
                    parent.status
                ),
                errors: Vec::new(),
            });
        }
        let now = chrono::Utc::now();
        let comment = Comment {
            id: Uuid::now_v7(),
            article_id: parent.article_id,
            parent_id: Some(parent.id),
            author_name,
            // No email: nothing of the person's is published (or approves a stranger who
            // types theirs).
            author_email: String::new(),
            author_url: None,
            body_markdown: markdown,
            body_html,
            status: CommentStatus::Approved.as_str().to_owned(),
            // Staff replies are no reader's: no address or browser is kept.
            ip: String::new(),
            user_agent: None,
            deleted_at: None,
            created_at: now,
            updated_at: now,
            staff: true,
        };
        queries::insert(conn, &principal.actor, &comment).await
    })
    .await
}

/// What a reply by a token of no one is signed.
const STAFF_NAME: &str = "The editors";

/// The name a member of staff replies under.
async fn byline(conn: &mut AsyncPgConnection, principal: &Principal) -> Result<String, ApiError> {
    let person = match principal.actor.user_id() {
        Some(id) => crate::users::queries::find(conn, id).await?,
        None => None,
    };
    let author = match person
        .as_ref()
        .and_then(|p| p.author_id)
        .or(principal.author_id)
    {
        Some(id) => crate::authors::queries::find(conn, &id.to_string()).await?,
        None => None,
    };
    // A token's own name is for admins, never for readers.
    let name = match (&author, &person) {
        (Some(author), _) => author.name.clone(),
        (None, Some(person)) => person.name.clone(),
        (None, None) => STAFF_NAME.to_owned(),
    };
    Ok(name)
}
