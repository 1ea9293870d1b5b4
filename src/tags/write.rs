//! The one write path of tags: the API's handlers, batches, the importer and the demo call
//! these, as a principal; the role check is here.
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::model::{NewTag, Tag, TagChanges, TagInsert, TagMerge, TagUpdate};
use super::queries;
use crate::error::ApiError;
use crate::http::response::IfMatch;
use crate::http::slugged::Slugged;
use crate::http::validate::Checks;
use crate::principal::{PUBLISHERS, Principal, STAFF};

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2000;

/// Creates a tag (authors, editors and admins): the one path of the API, batches and the
/// importer. `checks` holds the body's shape problems; every problem is one 422.
pub async fn create(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    new: NewTag,
    mut checks: Checks,
) -> Result<Tag, ApiError> {
    principal.require(PUBLISHERS)?;
    let name = checks.text("name", &new.name, MAX_NAME);
    let slug = new.slug.as_deref().map(|s| checks.slug("slug", s));
    let mut row = TagInsert {
        id: uuid::Uuid::now_v7(),
        slug: slug.clone().unwrap_or_default(),
        description: checks.long_text("description", new.description.as_deref(), MAX_DESCRIPTION),
        name,
    };
    checks.finish()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if slug.is_none() {
            row.slug = Slugged::Tags.free_slug(conn, &row.name).await?;
        }
        queries::insert(conn, &principal.actor, &row).await
    })
    .await
}

/// Applies a merge patch to the tag `key` (editors and admins).
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
    changes: TagChanges,
    mut checks: Checks,
) -> Result<Tag, ApiError> {
    principal.require(STAFF)?;
    let changes = TagUpdate {
        name: changes
            .name
            .map(|name| checks.kept("name", name, |c, v| c.text("name", v, MAX_NAME))),
        slug: changes
            .slug
            .map(|slug| checks.kept("slug", slug, |c, v| c.slug("slug", v))),
        description: changes
            .description
            .map(|d| checks.long_text("description", d.as_deref(), MAX_DESCRIPTION)),
        updated_at: Some(chrono::Utc::now()),
    };
    checks.finish()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found = queries::lock(conn, key).await?;
        let current = if_match.locked(found, || ApiError::not_found("tag", key))?;
        queries::update(conn, &principal.actor, &current, &changes).await
    })
    .await
}

/// Deletes the tag `key` (editors and admins); its articles lose it.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    principal.require(STAFF)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let found = queries::lock(conn, key).await?;
        let current = if_match.locked(found, || ApiError::not_found("tag", key))?;
        queries::delete(conn, &principal.actor, current.id).await?;
        Ok(())
    })
    .await
}

/// Merges the tag `key` into the tag `into` (editors and admins): `key`'s articles are
/// filed under `into`, its slugs answer 301 to `into`, and it is deleted. `if_match` guards
/// the tag merged away. The answer is the tag that stays.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
    merge: TagMerge,
) -> Result<Tag, ApiError> {
    principal.require(STAFF)?;
    let into = merge.into.trim();
    if into.is_empty() || into.chars().count() > MAX_NAME {
        return Err(ApiError::invalid(
            "into",
            "invalid",
            "into is the id or slug of the tag that stays (at most 100 characters)",
        ));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let merged = queries::find(conn, key)
            .await?
            .ok_or_else(|| ApiError::not_found("tag", key))?;
        // A former slug names the tag it leads to, as a read of it does.
        let kept = match queries::find(conn, into).await? {
            Some(kept) => Some(kept),
            None => queries::by_old_slug(conn, into).await?,
        };
        let kept = kept.ok_or_else(|| {
            ApiError::invalid("into", "not_found", format!("there is no tag `{into}`"))
        })?;
        if kept.id == merged.id {
            return Err(ApiError::invalid(
                "into",
                "same_tag",
                "a tag cannot be merged into itself",
            ));
        }
        // The order every writer takes: the articles first (as their saves do), then both
        // tags by id, so neither two merges nor a merge and a save wait on each other in a
        // circle. The tag merged away is locked as for its delete (a save filing an article
        // under it meanwhile then finds it gone); the one that stays only against changes.
        queries::hold_articles_of(conn, merged.id).await?;
        let merged_first = merged.id < kept.id;
        let (first, second) = if merged_first {
            (merged.id, kept.id)
        } else {
            (kept.id, merged.id)
        };
        let first = queries::lock_for_merge(conn, first, merged_first).await?;
        let second = queries::lock_for_merge(conn, second, !merged_first).await?;
        let (merged, kept) = if merged_first {
            (first, second)
        } else {
            (second, first)
        };
        let merged = if_match.locked(merged, || ApiError::not_found("tag", key))?;
        let kept = kept.ok_or_else(|| {
            ApiError::invalid("into", "not_found", format!("there is no tag `{into}`"))
        })?;
        queries::merge(conn, &principal.actor, &merged, &kept).await
    })
    .await
}
