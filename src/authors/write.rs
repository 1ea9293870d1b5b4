//! The one write path of authors: the API's handlers, batches, the importer and the demo
//! call these, as a principal; the role check is here.
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::model::{Author, AuthorChanges, AuthorInsert, AuthorUpdate, NewAuthor};
use super::queries;
use crate::error::ApiError;
use crate::http::response::IfMatch;
use crate::http::slugged::Slugged;
use crate::http::validate::Checks;
use crate::principal::{Principal, STAFF};

const MAX_NAME: usize = 200;
const MAX_BIO: usize = 5000;

/// Creates an author (editors and admins): the one path of the API and batches.
pub async fn create(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    new: NewAuthor,
    mut checks: Checks,
) -> Result<Author, ApiError> {
    principal.require(STAFF)?;
    let name = checks.text("name", &new.name, MAX_NAME);
    let slug = new.slug.as_deref().map(|s| checks.slug("slug", s));
    let mut row = AuthorInsert {
        id: uuid::Uuid::now_v7(),
        slug: slug.clone().unwrap_or_default(),
        email: checks.email("email", new.email.as_deref()),
        bio: checks.long_text("bio", new.bio.as_deref(), MAX_BIO),
        website: checks.url("website", new.website.as_deref()),
        avatar_image_id: new.avatar,
        name,
    };
    checks.finish()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        check_avatar(conn, row.avatar_image_id).await?;
        if slug.is_none() {
            row.slug = Slugged::Authors.free_slug(conn, &row.name).await?;
        }
        queries::insert(conn, &principal.actor, &row).await
    })
    .await
}

/// Applies a merge patch to the author `key` (editors and admins).
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
    changes: AuthorChanges,
    mut checks: Checks,
) -> Result<Author, ApiError> {
    principal.require(STAFF)?;
    let changes = AuthorUpdate {
        name: changes
            .name
            .map(|name| checks.kept("name", name, |c, v| c.text("name", v, MAX_NAME))),
        slug: changes
            .slug
            .map(|slug| checks.kept("slug", slug, |c, v| c.slug("slug", v))),
        email: changes.email.map(|e| checks.email("email", e.as_deref())),
        bio: changes
            .bio
            .map(|b| checks.long_text("bio", b.as_deref(), MAX_BIO)),
        website: changes.website.map(|w| checks.url("website", w.as_deref())),
        avatar_image_id: changes.avatar,
        updated_at: Some(chrono::Utc::now()),
    };
    checks.finish()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found = queries::lock(conn, key).await?;
        let current = if_match.locked(found, || ApiError::not_found("author", key))?;
        check_avatar(conn, changes.avatar_image_id.flatten()).await?;
        queries::update(conn, &principal.actor, current.id, &changes).await
    })
    .await
}

/// Deletes the author `key` (editors and admins); 409 while it has articles.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    principal.require(STAFF)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found = queries::lock(conn, key).await?;
        let current = if_match.locked(found, || ApiError::not_found("author", key))?;
        let articles = queries::article_slugs(conn, current.id).await?;
        if !articles.is_empty() {
            return Err(ApiError::Conflict {
                detail: format!(
                    "the author has articles ({}); move or delete them first",
                    articles.join(", ")
                ),
                errors: Vec::new(),
            });
        }
        queries::delete(conn, &principal.actor, current.id).await?;
        Ok(())
    })
    .await
}

/// A 422 unless the avatar names an existing image.
async fn check_avatar(conn: &mut AsyncPgConnection, avatar: Option<Uuid>) -> Result<(), ApiError> {
    match avatar {
        Some(id) if crate::images::queries::find(conn, id).await?.is_none() => {
            Err(ApiError::invalid(
                "avatar",
                "not_found",
                format!("no image with id `{id}`; upload it to /api/v1/images first"),
            ))
        }
        _ => Ok(()),
    }
}
