//! Tag queries.
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::changes::{Action, Change, Key, Subject};
use crate::error::{ApiError, OnConstraint};
use crate::http::slugged::Slugged;

use super::model::{Tag, TagInsert, TagUpdate};
use crate::db::schema::{article_tags, tag_old_slugs, tags};
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Tag>; 4] = [
    SortOption {
        name: "name",
        column: "tags.name",
        kind: KeyKind::Text,
        key: |t| t.name.clone(),
    },
    SortOption {
        name: "slug",
        column: "tags.slug",
        kind: KeyKind::Text,
        key: |t| t.slug.clone(),
    },
    SortOption {
        name: "created_at",
        column: "tags.created_at",
        kind: KeyKind::Time,
        key: |t| time_key(&t.created_at),
    },
    SortOption {
        name: "updated_at",
        column: "tags.updated_at",
        kind: KeyKind::Time,
        key: |t| time_key(&t.updated_at),
    },
];

pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Tag>> {
    tags::table
        .filter(Slugged::Tags.by_key(key))
        .select(Tag::as_select())
        .first(conn)
        .await
        .optional()
}

/// The tag a former slug of it leads to (renamed, or merged into another).
pub async fn by_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Tag>> {
    tag_old_slugs::table
        .inner_join(tags::table)
        .filter(tag_old_slugs::slug.eq(slug))
        .select(Tag::as_select())
        .first(conn)
        .await
        .optional()
}

/// Makes `slug` lead to the tag `id` from now on.
async fn keep_old_slug(conn: &mut AsyncPgConnection, slug: &str, id: Uuid) -> QueryResult<()> {
    diesel::insert_into(tag_old_slugs::table)
        .values((tag_old_slugs::slug.eq(slug), tag_old_slugs::tag_id.eq(id)))
        .on_conflict(tag_old_slugs::slug)
        .do_update()
        .set(tag_old_slugs::tag_id.eq(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// A slug a tag now has is no longer another's former one.
async fn forget_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<()> {
    diesel::delete(tag_old_slugs::table.filter(tag_old_slugs::slug.eq(slug)))
        .execute(conn)
        .await?;
    Ok(())
}

/// A tag locked for a merge until the transaction ends: the one merged away as for its
/// delete (`FOR UPDATE`), the one that stays only against other changes (`FOR NO KEY
/// UPDATE`: an article filed under it meanwhile is not held up).
pub async fn lock_for_merge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    merged_away: bool,
) -> QueryResult<Option<Tag>> {
    let query = tags::table.find(id).select(Tag::as_select());
    match merged_away {
        true => query.for_update().first(conn).await.optional(),
        false => query.for_no_key_update().first(conn).await.optional(),
    }
}

/// Holds the articles filed under the tag `id` against saves until the transaction ends
/// (in id order, as every writer takes them).
pub async fn hold_articles_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    use crate::db::schema::articles;
    articles::table
        .filter(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq(id))
                    .select(article_tags::article_id),
            ),
        )
        .order(articles::id.asc())
        .select(articles::id)
        .for_key_share()
        .load::<Uuid>(conn)
        .await?;
    Ok(())
}

/// Locked until the end of the transaction (a write checks and changes it).
pub async fn lock(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Tag>> {
    tags::table
        .filter(Slugged::Tags.by_key(key))
        .select(Tag::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<Tag>,
) -> Result<Loaded<Tag>, crate::error::ApiError> {
    let query = tags::table.select(Tag::as_select()).into_boxed();
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = tags::table.count().get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

/// Tags' names, by name (the desk's suggestions as one types).
pub async fn names(conn: &mut AsyncPgConnection, most: i64) -> QueryResult<Vec<String>> {
    tags::table
        .select(tags::name)
        .order(tags::name.asc())
        .limit(most)
        .load(conn)
        .await
}

/// Tags' slugs and names, by name (the desk's choice of a tag to merge into).
pub async fn slugs(conn: &mut AsyncPgConnection, most: i64) -> QueryResult<Vec<(String, String)>> {
    tags::table
        .select((tags::slug, tags::name))
        .order(tags::name.asc())
        .limit(most)
        .load(conn)
        .await
}

/// Inserts a tag and records the change (the list of tags changes).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    row: &TagInsert,
) -> Result<Tag, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let tag = diesel::insert_into(tags::table)
            .values(row)
            .returning(Tag::as_returning())
            .get_result(conn)
            .await
            .on_unique(&[("tags_slug_key", "slug")])?;
        forget_old_slug(conn, &tag.slug).await?;
        // Nothing embeds a new tag yet.
        let change = Change::to_thing(Subject::Tag(tag.id), Action::Created, &[]);
        crate::changes::record(conn, by, change).await?;
        Ok(tag)
    })
    .await
}

/// Changes the tag `current`; a slug it leaves keeps leading to it.
pub async fn update(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    current: &Tag,
    changes: &TagUpdate,
) -> Result<Tag, ApiError> {
    let id = current.id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let tag = diesel::update(tags::table.find(id))
            .set(changes)
            .returning(Tag::as_returning())
            .get_result(conn)
            .await
            .on_unique(&[("tags_slug_key", "slug")])?;
        if tag.slug != current.slug {
            forget_old_slug(conn, &tag.slug).await?;
            keep_old_slug(conn, &current.slug, id).await?;
        }
        // Articles show a tag's slug and name, not its description.
        let also: &[Key] = if changes.slug.is_some() || changes.name.is_some() {
            &[Key::Articles]
        } else {
            &[]
        };
        let change = Change::to_thing(Subject::Tag(id), Action::Updated, also);
        crate::changes::record(conn, by, change).await?;
        Ok(tag)
    })
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<usize, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let deleted = diesel::delete(tags::table.find(id)).execute(conn).await?;
        let change = Change::to_thing(Subject::Tag(id), Action::Deleted, &[Key::Articles]);
        crate::changes::record(conn, by, change).await?;
        Ok(deleted)
    })
    .await
}

/// Merges the tag `merged` into `kept`: its articles are filed under `kept` (in the place
/// it had), its slugs lead to `kept`, and it is gone.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    merged: &Tag,
    kept: &Tag,
) -> Result<Tag, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::sql_query(
            "INSERT INTO article_tags (article_id, tag_id, position) \
             SELECT article_id, $2, position FROM article_tags WHERE tag_id = $1 \
             ON CONFLICT (article_id, tag_id) DO NOTHING",
        )
        .bind::<diesel::sql_types::Uuid, _>(merged.id)
        .bind::<diesel::sql_types::Uuid, _>(kept.id)
        .execute(conn)
        .await?;
        diesel::update(tag_old_slugs::table.filter(tag_old_slugs::tag_id.eq(merged.id)))
            .set(tag_old_slugs::tag_id.eq(kept.id))
            .execute(conn)
            .await?;
        diesel::delete(article_tags::table.filter(article_tags::tag_id.eq(merged.id)))
            .execute(conn)
            .await?;
        diesel::delete(tags::table.find(merged.id))
            .execute(conn)
            .await?;
        keep_old_slug(conn, &merged.slug, kept.id).await?;
        let tag = diesel::update(tags::table.find(kept.id))
            .set(tags::updated_at.eq(chrono::Utc::now()))
            .returning(Tag::as_returning())
            .get_result(conn)
            .await?;
        let gone = Change::to_thing(Subject::Tag(merged.id), Action::Deleted, &[Key::Articles]);
        crate::changes::record(conn, by, gone).await?;
        let grown = Change::to_thing(Subject::Tag(kept.id), Action::Updated, &[Key::Articles]);
        crate::changes::record(conn, by, grown).await?;
        Ok(tag)
    })
    .await
}

/// Public articles per tag, for the tags given (their `article_count`).
pub async fn article_counts(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<std::collections::HashMap<Uuid, i64>> {
    crate::db::counts_by_id(
        conn,
        "SELECT article_tags.tag_id AS id, count(*) AS n FROM article_tags \
         JOIN articles ON articles.id = article_tags.article_id \
         WHERE article_tags.tag_id = ANY($1) AND articles.status = 'published' AND articles.kind = 'article' \
         AND articles.published_at <= now() GROUP BY article_tags.tag_id",
        ids,
    )
    .await
}
