//! Articles as the index holds them, read from Postgres in batches.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiError;

/// What the index knows of one article: its searchable text and what searches filter and
/// sort by.
#[derive(Debug, QueryableByName)]
pub struct IndexedArticle {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub subtitle: String,
    /// The excerpt when one was given (a derived one is the body's start), then the body's
    /// text with its captions.
    #[diesel(sql_type = Text)]
    pub text: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    /// `article` or `page`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub published_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub sort_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub author_id: Uuid,
    #[diesel(sql_type = Text)]
    pub author_slug: String,
    #[diesel(sql_type = Text)]
    pub author_name: String,
    #[diesel(sql_type = Array<diesel::sql_types::Uuid>)]
    pub tag_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<Text>)]
    pub tag_slugs: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub tag_names: Vec<String>,
}

const SELECT: &str = "SELECT articles.id, articles.title, coalesce(articles.subtitle, '') AS subtitle, \
     coalesce(articles.excerpt_given || E'\\n', '') || articles.body_text AS text, articles.status, articles.kind, \
     articles.published_at, articles.sort_at, articles.created_at, articles.updated_at, \
     articles.author_id, authors.slug AS author_slug, authors.name AS author_name, \
     coalesce(t.ids, '{}') AS tag_ids, coalesce(t.slugs, '{}') AS tag_slugs, coalesce(t.names, '{}') AS tag_names \
     FROM articles JOIN authors ON authors.id = articles.author_id \
     LEFT JOIN LATERAL (SELECT array_agg(tags.id) AS ids, array_agg(tags.slug) AS slugs, array_agg(tags.name) AS names \
         FROM article_tags JOIN tags ON tags.id = article_tags.tag_id \
         WHERE article_tags.article_id = articles.id) t ON true";

/// The articles among `ids` that exist (the others were deleted).
pub async fn by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<Vec<IndexedArticle>, ApiError> {
    Ok(
        diesel::sql_query(format!("{SELECT} WHERE articles.id = ANY($1)"))
            .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
            .load(conn)
            .await?,
    )
}

/// Up to `limit` articles after `after` in id order: the whole table, batch by batch.
pub async fn page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<IndexedArticle>, ApiError> {
    Ok(diesel::sql_query(format!(
        "{SELECT} WHERE articles.id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid) \
         ORDER BY articles.id LIMIT $2"
    ))
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// How many articles there are (for a rebuild's progress bar).
pub async fn count(conn: &mut AsyncPgConnection) -> Result<u64, ApiError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let count: Count = diesel::sql_query("SELECT count(*) AS count FROM articles")
        .get_result(conn)
        .await?;
    Ok(count.count.max(0) as u64)
}

/// The articles that show any of `owners` (authors' bylines or tags, by id).
pub async fn touched_by(
    conn: &mut AsyncPgConnection,
    owners: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT id FROM articles WHERE author_id = ANY($1) \
         UNION SELECT article_id FROM article_tags WHERE tag_id = ANY($1)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(owners)
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// A value the index keeps for this database, so an index made for another one (a restored
/// backup elsewhere, another test database) is rebuilt rather than trusted.
pub async fn database_identity(conn: &mut AsyncPgConnection) -> Result<String, ApiError> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let value: Value = diesel::sql_query(
        "WITH made AS (INSERT INTO lede_meta (key, value) VALUES ('search_identity', gen_random_uuid()::text) \
         ON CONFLICT (key) DO NOTHING RETURNING value) \
         SELECT value FROM made UNION ALL SELECT value FROM lede_meta WHERE key = 'search_identity' LIMIT 1",
    )
    .get_result(conn)
    .await?;
    Ok(value.value)
}
