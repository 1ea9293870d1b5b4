//! The one write path of an image's text and focal point, and of its removal: the API's
//! handlers call these as a principal; the role check is here. (Uploads are taken in by
//! `ingest`, which the importer and the demo call too.)
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::model::{Image, ImageChanges, ImageUpdate};
use super::{MAX_ALT, MAX_CAPTION, MAX_CREDIT, focal, not_found, queries, rendition};
use crate::error::ApiError;
use crate::http::response::IfMatch;
use crate::http::validate::Checks;
use crate::principal::{PUBLISHERS, Principal};

/// Applies a merge patch to the image `id`, as `principal`: the image, and whether its focal
/// point moved (its crops are then to be cut again). Articles showing it as a figure are
/// rendered again by a job queued here.
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
    if_match: &IfMatch,
    changes: ImageChanges,
    mut checks: Checks,
) -> Result<(Image, bool), ApiError> {
    principal.require(PUBLISHERS)?;
    let update = ImageUpdate {
        alt: changes
            .alt
            .map(|v| checks.long_text("alt", v.as_deref(), MAX_ALT)),
        caption: changes
            .caption
            .map(|v| checks.long_text("caption", v.as_deref(), MAX_CAPTION)),
        credit: changes
            .credit
            .map(|v| checks.long_text("credit", v.as_deref(), MAX_CREDIT)),
        focal_x: changes
            .focal_x
            .map(|v| v.and_then(|x| focal(&mut checks, "focal_x", Some(&x.to_string())))),
        focal_y: changes
            .focal_y
            .map(|v| v.and_then(|y| focal(&mut checks, "focal_y", Some(&y.to_string())))),
        updated_at: Some(chrono::Utc::now()),
        ..ImageUpdate::default()
    };
    checks.finish()?;
    let shown_in_figures =
        update.alt.is_some() || update.caption.is_some() || update.credit.is_some();
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = queries::lock(conn, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        may_change(principal, &current)?;
        if_match.check(&current)?;
        let image = queries::update(conn, &principal.actor, id, &update).await?;
        // Figures show the image's current text: the bodies showing it are redone.
        if shown_in_figures {
            rendition::queue_figure_refresh(conn, id).await?;
        }
        let moved = (current.focal_x, current.focal_y) != (image.focal_x, image.focal_y);
        if moved {
            // Makes the renditions around the new point, and the crops too when the
            // re-cut below fails: the move commits with the work that follows it.
            rendition::schedule_renditions(conn, id).await?;
        }
        Ok((image, moved))
    })
    .await
}

/// Deletes the image `id`, as `principal`: 409 while an article or an author shows it. The
/// storage keys of its files, to remove once the row is gone.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<Vec<String>, ApiError> {
    principal.require(PUBLISHERS)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = queries::lock(conn, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        may_change(principal, &current)?;
        if_match.check(&current)?;
        let articles = queries::using_image(conn, id).await?;
        if !articles.is_empty() {
            return Err(ApiError::Conflict {
                detail: format!(
                    "the image is shown in the articles {}; remove it there first",
                    articles.join(", ")
                ),
                errors: Vec::new(),
            });
        }
        let users = queries::avatar_of(conn, id).await?;
        if !users.is_empty() {
            return Err(ApiError::Conflict {
                detail: format!(
                    "the image is the avatar of {}; change that first",
                    users.join(", ")
                ),
                errors: Vec::new(),
            });
        }
        queries::delete(conn, &principal.actor, id).await?;
        Ok(current.storage_keys())
    })
    .await
}

/// Authors may change only the images they uploaded.
fn may_change(principal: &Principal, image: &Image) -> Result<(), ApiError> {
    if principal.role.is_bound() && image.owner_author_id != principal.author_id {
        return Err(ApiError::Forbidden(
            "an author token may only change images uploaded as its own author".into(),
        ));
    }
    Ok(())
}
