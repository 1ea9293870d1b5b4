//! Article queries. The list is one SQL statement built from the filters (plus a count);
//! what an article embeds (author, avatar, tags, cover) is loaded for a whole page at once,
//! so a page costs the same few queries whatever its length.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Float4, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{
    Article, ArticleLink, ArticleRow, AuthorSummary, Kind, ListedArticle, Revision,
    RevisionSummary, TagSummary,
};
use crate::db::schema::{
    article_images, article_old_slugs, article_revisions, article_tags, articles, authors, tags,
};
use crate::error::{ApiError, OnConstraint};
use crate::http::pagination::{
    Cursor, EXACT_TOTAL, KeyBound, KeyKind, Pagination, Sort, SortOption, time_key,
};
use crate::http::slugged::Slugged;
use crate::images::model::{Image, ImageResponse};
pub use crate::listing::{Filters, MARK_END, MARK_START, Reader};
use crate::media::storage::MediaUrls;

pub static SORTS: [SortOption<ListedArticle>; 5] = [
    SortOption {
        name: "published_at",
        column: "articles.sort_at",
        kind: KeyKind::Time,
        key: |row| time_key(&row.article.sort_at),
    },
    SortOption {
        name: "title",
        column: "articles.title",
        kind: KeyKind::Text,
        key: |row| row.article.title.clone(),
    },
    SortOption {
        name: "updated_at",
        column: "articles.updated_at",
        kind: KeyKind::Time,
        key: |row| time_key(&row.article.updated_at),
    },
    SortOption {
        name: "created_at",
        column: "articles.created_at",
        kind: KeyKind::Time,
        key: |row| time_key(&row.article.created_at),
    },
    SortOption {
        name: "relevance",
        column: "rank",
        kind: KeyKind::Float,
        key: |row| row.rank.to_string(),
    },
];

enum Bind {
    Text(String),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Int(i64),
    Float(f32),
    Uuids(Vec<Uuid>),
}

/// SQL text with `$n` placeholders and the values for them, in order.
#[derive(Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    fn query(self) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed();
        for bind in self.binds {
            query = match bind {
                Bind::Text(v) => query.bind::<Text, _>(v),
                Bind::Uuid(v) => query.bind::<diesel::sql_types::Uuid, _>(v),
                Bind::Time(v) => query.bind::<Timestamptz, _>(v),
                Bind::Int(v) => query.bind::<BigInt, _>(v),
                Bind::Float(v) => query.bind::<Float4, _>(v),
                Bind::Uuids(v) => {
                    query.bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(v)
                }
            };
        }
        query
    }
}

/// `id = $n` for a UUID key, else a match on the slug column given.
fn key_match(sql: &mut Sql, id_column: &str, slug_sql: &str, key: &str) {
    match Uuid::parse_str(key) {
        Ok(id) => {
            sql.push(&format!("{id_column} = ")).bind(Bind::Uuid(id));
        }
        Err(_) => {
            sql.push(slug_sql)
                .bind(Bind::Text(key.to_owned()))
                .push(")");
        }
    }
}

/// The WHERE clause every list and count shares.
fn where_clause(sql: &mut Sql, reader: Reader, filters: &Filters) {
    sql.push(&format!(
        " WHERE articles.kind = '{}'",
        filters.kind.as_str()
    ));
    let public = super::model::IS_PUBLIC;
    match reader {
        Reader::Public => {
            sql.push(&format!(" AND {public}"));
        }
        Reader::Author(author_id) => {
            sql.push(&format!(" AND ({public} OR articles.author_id = "))
                .bind(Bind::Uuid(author_id))
                .push(")");
        }
        Reader::Staff => {}
    }
    match filters.status {
        Some(super::model::Status::Draft) => sql.push(" AND articles.status = 'draft'"),
        Some(super::model::Status::Archived) => sql.push(" AND articles.status = 'archived'"),
        Some(super::model::Status::Published) => sql.push(&format!(" AND {public}")),
        Some(super::model::Status::Scheduled) => {
            sql.push(" AND articles.status = 'published' AND articles.published_at > now()")
        }
        None => sql,
    };
    if let Some(author) = &filters.author {
        sql.push(" AND ");
        key_match(
            sql,
            "articles.author_id",
            "articles.author_id = (SELECT id FROM authors WHERE slug = ",
            author,
        );
    }
    for tag in &filters.tags {
        sql.push(" AND EXISTS (SELECT 1 FROM article_tags JOIN tags ON tags.id = article_tags.tag_id WHERE article_tags.article_id = articles.id AND ");
        key_match(sql, "tags.id", "(tags.slug = ", tag);
        sql.push(")");
    }
    if let Some(after) = filters.published_after {
        sql.push(" AND articles.published_at >= ")
            .bind(Bind::Time(after));
    }
    if let Some(before) = filters.published_before {
        sql.push(" AND articles.published_at < ")
            .bind(Bind::Time(before));
    }
}

/// The columns of a list's rows: cards leave the bodies (the bulk of a row, stored out of
/// line) unread unless asked for.
fn card_columns(include_body: bool) -> String {
    let bodies = if include_body {
        "articles.body_markdown, articles.body_html"
    } else {
        "'' AS body_markdown, '' AS body_html"
    };
    format!(
        "articles.id, articles.slug, articles.title, articles.subtitle, articles.excerpt_given, \
         articles.excerpt, {bodies}, articles.toc, \
         articles.word_count, articles.reading_time_minutes, articles.status, articles.published_at, \
         articles.author_id, articles.cover_image_id, articles.comments_open, articles.version, \
         articles.created_at, articles.updated_at, articles.sort_at, articles.external_id, articles.kind, \
         articles.meta_title, articles.meta_description, {} AS is_public, NULL::text AS snippet, 0::real AS rank",
        super::model::IS_PUBLIC
    )
}

/// The cards `reader` may see that pass `filters`: the statement a list or a search's read
/// back goes on from.
fn cards(reader: Reader, filters: &Filters) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {} FROM articles",
        card_columns(filters.include_body)
    ));
    where_clause(&mut sql, reader, filters);
    sql
}

/// One page of the list (`per_page + 1` rows, to know whether more follow). Searches
/// (`q`) are the index's: see `by_ids`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    reader: Reader,
    filters: &Filters,
    pagination: &Pagination,
    sort: &Sort<ListedArticle>,
) -> Result<Vec<ListedArticle>, ApiError> {
    let mut sql = cards(reader, filters);
    if let Some(cursor) = pagination.cursor(sort)? {
        keyset(&mut sql, sort, cursor)?;
    }
    let direction = if sort.descending { "DESC" } else { "ASC" };
    sql.push(&format!(
        " ORDER BY {} {direction}, articles.id {direction} LIMIT ",
        sort.option.column
    ))
    .bind(Bind::Int(pagination.per_page + 1))
    .push(" OFFSET ")
    .bind(Bind::Int(pagination.offset()));
    Ok(sql.query().load(conn).await?)
}

/// The articles among `ids` that `reader` may see and that pass `filters` (the search
/// index found them; Postgres has the last word), in no particular order.
pub async fn by_ids(
    conn: &mut AsyncPgConnection,
    reader: Reader,
    filters: &Filters,
    ids: &[Uuid],
) -> Result<Vec<ListedArticle>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = cards(reader, filters);
    sql.push(" AND articles.id = ANY(")
        .bind(Bind::Uuids(ids.to_vec()))
        .push(")");
    Ok(sql.query().load(conn).await?)
}

/// One `count` column.
#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Public articles and pages now: the kept total of published ones, less those still to
/// come (few: an index range).
const PUBLIC_NOW: &str = "coalesce((SELECT articles FROM article_totals WHERE status = 'published'), 0) \
     - (SELECT count(*) FROM articles WHERE status = 'published' AND published_at > now())";

/// Every public article and page (the sitemap's total), read from the kept totals.
pub async fn count_public(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let count: Count = diesel::sql_query(format!("SELECT {PUBLIC_NOW} AS count"))
        .get_result(conn)
        .await?;
    Ok(count.count)
}

/// How many articles the whole (filtered) list holds, and whether that is an estimate.
/// Counting every row would cost a list more than its page (at 100,000 articles, 160 ms
/// against 0.1 ms): the public list without filters reads the kept per-status totals;
/// others count up to `EXACT_TOTAL` and, past it, take the planner's estimate.
pub async fn count(
    conn: &mut AsyncPgConnection,
    reader: Reader,
    filters: &Filters,
) -> Result<(i64, bool), ApiError> {
    let unfiltered = filters.author.is_none()
        && filters.tags.is_empty()
        && filters.published_after.is_none()
        && filters.published_before.is_none()
        && matches!(filters.status, None | Some(super::model::Status::Published))
        && filters.kind == super::model::Kind::Article;
    if matches!(reader, Reader::Public) && unfiltered {
        // Published ones, less those still to come (few: an index range) and the public
        // pages (few: their own index).
        let count: Count = diesel::sql_query(format!(
            "SELECT {PUBLIC_NOW} \
             - (SELECT count(*) FROM articles WHERE kind = 'page' AND status = 'published' AND published_at <= now()) AS count"
        ))
        .get_result(conn)
        .await?;
        return Ok((count.count, false));
    }
    let mut bounded = Sql::default();
    bounded.push("SELECT count(*) AS count FROM (SELECT 1 FROM articles");
    where_clause(&mut bounded, reader, filters);
    bounded.push(&format!(" LIMIT {}) counted", EXACT_TOTAL + 1));
    let counted = bounded.query().get_result::<Count>(conn).await?.count;
    if counted <= EXACT_TOTAL {
        return Ok((counted, false));
    }
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Json, column_name = "QUERY PLAN")]
        plan: serde_json::Value,
    }
    let mut explain = Sql::default();
    explain.push("EXPLAIN (FORMAT JSON) SELECT 1 FROM articles");
    where_clause(&mut explain, reader, filters);
    let plan = explain.query().get_result::<Plan>(conn).await?;
    let estimate = plan.plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
    Ok((estimate.max(counted), true))
}

/// Rows after the cursor's, as one row comparison on (sort column, id): `Sort::after`'s,
/// written into this list's SQL text.
fn keyset(sql: &mut Sql, sort: &Sort<ListedArticle>, cursor: &Cursor) -> Result<(), ApiError> {
    let value = match sort.bound(cursor)? {
        KeyBound::Text(value) => Bind::Text(value),
        KeyBound::Time(time) => Bind::Time(time),
        KeyBound::Float(value) => Bind::Float(value),
        KeyBound::Int(value) => Bind::Int(value),
    };
    sql.push(&format!(
        " AND ({}, articles.id) {} (",
        sort.option.column,
        sort.after_op()
    ))
    .bind(value)
    .push(", ")
    .bind(Bind::Uuid(cursor.id))
    .push(")");
    Ok(())
}

/// An article by id or current slug, whoever may see it (visibility is the caller's).
pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Article>> {
    articles::table
        .filter(Slugged::Articles.by_key(key))
        .select(Article::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locked until the end of the transaction (a write checks and changes it).
pub async fn lock(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Article>> {
    articles::table
        .filter(Slugged::Articles.by_key(key))
        .select(Article::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Holds `external_id` for this transaction, whether an article has it yet or not.
pub async fn lock_external_id(conn: &mut AsyncPgConnection, external_id: &str) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('article-external-id:' || $1, 0))",
    )
    .bind::<diesel::sql_types::Text, _>(external_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The token that saved the article's latest revision (`None`: none did).
pub async fn last_saved_by(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::article_revisions as revisions;
    Ok(revisions::table
        .filter(revisions::article_id.eq(id))
        .order(revisions::version.desc())
        .select(revisions::saved_by)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()?
        .flatten())
}

/// The article with this `external_id`, locked until the end of the transaction.
pub async fn lock_by_external_id(
    conn: &mut AsyncPgConnection,
    external_id: &str,
) -> QueryResult<Option<Article>> {
    articles::table
        .filter(articles::external_id.eq(external_id))
        .select(Article::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The article that used to have this slug.
pub async fn by_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Article>> {
    article_old_slugs::table
        .inner_join(articles::table)
        .filter(article_old_slugs::slug.eq(slug))
        .select(Article::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Neighbour {
    #[diesel(sql_type = Text)]
    side: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    published_at: DateTime<Utc>,
}

/// The public articles of `article`'s kind published just before and just after it (by
/// `published_at`, then id; a draft stands at now), within the tag `tag_id` when given.
/// Two index range reads.
async fn neighbours(
    conn: &mut AsyncPgConnection,
    article: &Article,
    tag_id: Option<Uuid>,
) -> QueryResult<Vec<Neighbour>> {
    let within_tag = if tag_id.is_some() {
        " AND EXISTS (SELECT 1 FROM article_tags WHERE article_tags.article_id = articles.id \
         AND article_tags.tag_id = $4)"
    } else {
        " AND $4::uuid IS NULL"
    };
    let side = |name: &str, op: &str, direction: &str| {
        format!(
            "(SELECT '{name}' AS side, id, slug, title, published_at FROM articles \
             WHERE status = 'published' AND published_at <= now() AND kind = $1 \
             AND (published_at, id) {op} ($2, $3){within_tag} \
             ORDER BY published_at {direction}, id {direction} LIMIT 1)"
        )
    };
    let sql = format!(
        "{} UNION ALL {}",
        side("previous", "<", "DESC"),
        side("next", ">", "ASC")
    );
    let pivot = article.published_at.unwrap_or_else(Utc::now);
    diesel::sql_query(sql)
        .bind::<Text, _>(&article.kind)
        .bind::<Timestamptz, _>(pivot)
        .bind::<diesel::sql_types::Uuid, _>(article.id)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(tag_id)
        .load(conn)
        .await
}

/// `article`'s previous and next public articles (see `neighbours`) as links on the site.
pub async fn adjacent(
    conn: &mut AsyncPgConnection,
    article: &Article,
    tag_id: Option<Uuid>,
    site: &crate::site::Site,
) -> QueryResult<(Option<ArticleLink>, Option<ArticleLink>)> {
    let page = Kind::of(article) == Kind::Page;
    let mut found = (None, None);
    for row in neighbours(conn, article, tag_id).await? {
        let link = ArticleLink {
            canonical_url: site.article_url(
                page,
                &row.slug,
                Some(row.published_at),
                row.published_at,
            ),
            id: row.id,
            slug: row.slug,
            title: row.title,
            published_at: row.published_at.into(),
        };
        match row.side.as_str() {
            "previous" => found.0 = Some(link),
            _ => found.1 = Some(link),
        }
    }
    Ok(found)
}

/// The ids of the public articles whose previous or next link is `article` (it being
/// public): those whose answers show it.
pub async fn linking_to(conn: &mut AsyncPgConnection, article: &Article) -> QueryResult<Vec<Uuid>> {
    if !article.is_public {
        return Ok(Vec::new());
    }
    Ok(neighbours(conn, article, None)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect())
}

/// What a page of articles embeds, loaded in three queries whatever the page's length.
pub struct Embeds {
    urls: MediaUrls,
    site: std::sync::Arc<crate::site::Site>,
    comment_counts: HashMap<Uuid, i64>,
    authors: HashMap<Uuid, AuthorSummary>,
    images: HashMap<Uuid, ImageResponse>,
    tags: HashMap<Uuid, Vec<TagSummary>>,
}

impl Embeds {
    pub async fn load(
        conn: &mut AsyncPgConnection,
        page: &[&Article],
        urls: &MediaUrls,
        site: &std::sync::Arc<crate::site::Site>,
    ) -> Result<Self, ApiError> {
        use crate::db::schema::{comments, images};
        let article_ids: Vec<Uuid> = page.iter().map(|a| a.id).collect();
        let author_ids: Vec<Uuid> = page.iter().map(|a| a.author_id).collect();
        let cover_ids: Vec<Uuid> = page.iter().filter_map(|a| a.cover_image_id).collect();
        // Four independent statements, sent together (pipelined on the one connection): one
        // round trip, not four.
        let shared: &AsyncPgConnection = conn;
        let bylines = authors::table
            .filter(authors::id.eq_any(&author_ids))
            .select((
                authors::id,
                authors::slug,
                authors::name,
                authors::avatar_image_id,
            ))
            .load::<(Uuid, String, String, Option<Uuid>)>(&mut &*shared);
        let avatars = authors::table
            .filter(authors::id.eq_any(&author_ids))
            .select(authors::avatar_image_id);
        let pictures = images::table
            .filter(
                images::id
                    .eq_any(&cover_ids)
                    .or(images::id.nullable().eq_any(avatars)),
            )
            .select(Image::as_select())
            .load::<Image>(&mut &*shared);
        let tag_rows = article_tags::table
            .inner_join(tags::table)
            .filter(article_tags::article_id.eq_any(&article_ids))
            .order((article_tags::article_id, article_tags::position))
            .select((article_tags::article_id, tags::id, tags::slug, tags::name))
            .load::<(Uuid, Uuid, String, String)>(&mut &*shared);
        // Approved comments, replies included.
        let counts = comments::table
            .filter(comments::article_id.eq_any(&article_ids))
            .filter(comments::status.eq("approved"))
            .filter(comments::deleted_at.is_null())
            .group_by(comments::article_id)
            .select((comments::article_id, diesel::dsl::count_star()))
            .load::<(Uuid, i64)>(&mut &*shared);
        let (bylines, pictures, tag_rows, counts) =
            futures_util::try_join!(bylines, pictures, tag_rows, counts)?;
        let images: HashMap<Uuid, ImageResponse> = pictures
            .into_iter()
            .map(|i: Image| (i.id, ImageResponse::new(i, urls)))
            .collect();
        let comment_counts: HashMap<Uuid, i64> = counts.into_iter().collect();
        let authors = bylines
            .into_iter()
            .map(|(id, slug, name, avatar)| {
                let avatar = avatar.and_then(|a| images.get(&a).cloned());
                (
                    id,
                    AuthorSummary {
                        id,
                        slug,
                        name,
                        avatar,
                    },
                )
            })
            .collect();
        let mut tags: HashMap<Uuid, Vec<TagSummary>> = HashMap::new();
        for (article_id, id, slug, name) in tag_rows {
            tags.entry(article_id)
                .or_default()
                .push(TagSummary { id, slug, name });
        }
        Ok(Embeds {
            urls: urls.clone(),
            site: site.clone(),
            comment_counts,
            authors,
            images,
            tags,
        })
    }

    /// The front-end's site, where canonical URLs point.
    pub fn site(&self) -> &crate::site::Site {
        &self.site
    }

    /// Approved comments, replies included.
    pub fn comment_count(&self, article: &Article) -> i64 {
        self.comment_counts.get(&article.id).copied().unwrap_or(0)
    }

    /// Stored HTML with its figures' URLs completed.
    pub fn complete(&self, html: &str) -> String {
        self.urls.complete(html)
    }

    pub fn author(&self, article: &Article) -> AuthorSummary {
        self.authors
            .get(&article.author_id)
            .cloned()
            .unwrap_or(AuthorSummary {
                id: article.author_id,
                slug: String::new(),
                name: String::new(),
                avatar: None,
            })
    }

    pub fn cover(&self, article: &Article) -> Option<ImageResponse> {
        article
            .cover_image_id
            .and_then(|id| self.images.get(&id).cloned())
    }

    pub fn tags(&self, article: &Article) -> Vec<TagSummary> {
        self.tags.get(&article.id).cloned().unwrap_or_default()
    }
}

/// Tag ids for ids, slugs or names, in the given order. A name finds the tag of that name
/// (its slug made from it, the name matching but for case); a tag not found is created when
/// `create` (with the name given, on a free slug), else returned as the second value. An id
/// finds its tag or nothing.
pub async fn resolve_tags(
    conn: &mut AsyncPgConnection,
    keys: &[String],
    create: bool,
) -> Result<(Vec<Uuid>, Vec<String>), ApiError> {
    use crate::tags::queries as tags;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for key in keys {
        let is_slug = crate::http::validate::is_valid_slug(key);
        let found = match tags::find(conn, key).await? {
            Some(tag) => Some(tag),
            None if is_slug || Uuid::parse_str(key).is_ok() => None,
            None => tags::find(conn, &crate::http::validate::slugify(key, ""))
                .await?
                .filter(|tag| tag.name.to_lowercase() == key.to_lowercase()),
        };
        let id = match found {
            Some(tag) => Some(tag.id),
            None if create && Uuid::parse_str(key).is_err() => {
                Some(make_tag(conn, key, is_slug).await?)
            }
            None => None,
        };
        match id {
            // Named twice (by slug and id, or repeated): once, in its first place.
            Some(id) if ids.contains(&id) => {}
            Some(id) => ids.push(id),
            None => unknown.push(key.clone()),
        }
    }
    Ok((ids, unknown))
}

/// A new tag for `key` (a slug: named from it; a name: kept), on the slug made from it, or
/// on a free one when a tag of another name holds that. Two writers making the same tag at
/// once: the second takes the first's.
async fn make_tag(
    conn: &mut AsyncPgConnection,
    key: &str,
    is_slug: bool,
) -> Result<Uuid, ApiError> {
    use crate::tags::queries as tags;
    let name = if is_slug {
        key.replace('-', " ")
    } else {
        key.to_owned()
    };
    let insert = |slug: String| crate::tags::model::TagInsert {
        id: Uuid::now_v7(),
        slug,
        name: name.clone(),
        description: None,
    };
    let slug = crate::http::validate::slugify(key, "");
    match tags::insert(conn, &insert(slug.clone())).await {
        Ok(tag) => Ok(tag.id),
        Err(ApiError::Conflict { .. }) => match tags::find(conn, &slug).await? {
            Some(tag) if is_slug || tag.name.to_lowercase() == key.to_lowercase() => Ok(tag.id),
            _ => {
                let free = Slugged::Tags.free_slug(conn, key).await?;
                Ok(tags::insert(conn, &insert(free)).await?.id)
            }
        },
        Err(error) => Err(error),
    }
}

pub async fn set_tags(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    tag_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = tag_ids
        .iter()
        .enumerate()
        .map(|(position, tag_id)| {
            (
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(*tag_id),
                article_tags::position.eq(position as i16),
            )
        })
        .collect();
    diesel::insert_into(article_tags::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn tag_ids(conn: &mut AsyncPgConnection, article_id: Uuid) -> QueryResult<Vec<Uuid>> {
    article_tags::table
        .filter(article_tags::article_id.eq(article_id))
        .order(article_tags::position)
        .select(article_tags::tag_id)
        .load(conn)
        .await
}

pub async fn set_figures(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    image_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(article_images::table.filter(article_images::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = image_ids
        .iter()
        .map(|id| {
            (
                article_images::article_id.eq(article_id),
                article_images::image_id.eq(*id),
            )
        })
        .collect();
    diesel::insert_into(article_images::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// The database's clock: the start of the current transaction (what `now()` says in it).
pub async fn now(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    diesel::select(diesel::dsl::now.into_sql::<Timestamptz>())
        .get_result(conn)
        .await
}

/// Inserts a new article's row, or replaces an existing one's (a taken slug is a 409).
pub async fn write(
    conn: &mut AsyncPgConnection,
    row: &ArticleRow,
    exists: bool,
) -> Result<Article, ApiError> {
    let slug_taken = [
        ("articles_slug_key", "slug"),
        ("articles_external_id_key", "external_id"),
    ];
    if exists {
        diesel::update(articles::table.find(row.id))
            .set(row)
            .returning(Article::as_returning())
            .get_result(conn)
            .await
            .on_unique(&slug_taken)
    } else {
        diesel::insert_into(articles::table)
            .values(row)
            .returning(Article::as_returning())
            .get_result(conn)
            .await
            .on_unique(&slug_taken)
    }
}

/// The articles that show `image_id` as a figure in their body.
pub async fn with_figure(conn: &mut AsyncPgConnection, image_id: Uuid) -> QueryResult<Vec<Uuid>> {
    article_images::table
        .filter(article_images::image_id.eq(image_id))
        .select(article_images::article_id)
        .order(article_images::article_id)
        .load(conn)
        .await
}

/// Replaces what an article's body renders to (its text unchanged).
pub async fn set_body(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    html: &str,
    text: &str,
    excerpt: &str,
) -> QueryResult<usize> {
    diesel::update(articles::table.find(id))
        .set((
            articles::body_html.eq(html),
            articles::body_text.eq(text),
            articles::excerpt.eq(excerpt),
        ))
        .execute(conn)
        .await
}

/// Stores what is rendered from an article's source (`row`'s), leaving the rest as it is:
/// no new version.
pub async fn set_rendered(conn: &mut AsyncPgConnection, row: &ArticleRow) -> QueryResult<usize> {
    diesel::update(articles::table.find(row.id))
        .set((
            articles::body_html.eq(&row.body_html),
            articles::body_text.eq(&row.body_text),
            articles::excerpt.eq(&row.excerpt),
            articles::toc.eq(&row.toc),
            articles::word_count.eq(row.word_count),
            articles::reading_time_minutes.eq(row.reading_time_minutes),
        ))
        .execute(conn)
        .await
}

pub async fn remember_old_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
    article_id: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(article_old_slugs::table)
        .values((
            article_old_slugs::slug.eq(slug),
            article_old_slugs::article_id.eq(article_id),
        ))
        .on_conflict(article_old_slugs::slug)
        .do_update()
        .set(article_old_slugs::article_id.eq(article_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// A slug that is some other article's old slug is free again once reused by a new one.
pub async fn forget_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<()> {
    diesel::delete(article_old_slugs::table.filter(article_old_slugs::slug.eq(slug)))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_revision(conn: &mut AsyncPgConnection, revision: &Revision) -> QueryResult<()> {
    diesel::insert_into(article_revisions::table)
        .values(revision)
        .execute(conn)
        .await?;
    Ok(())
}

/// How an article's revisions may be listed: by version (unique within the article).
pub static REVISION_SORTS: [SortOption<RevisionSummary>; 1] = [SortOption {
    name: "version",
    column: "article_revisions.version",
    kind: KeyKind::Int,
    key: |row| row.version.to_string(),
}];

/// A page of an article's revisions, without their bodies.
pub async fn revisions(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    pagination: &Pagination,
    sort: &Sort<RevisionSummary>,
) -> Result<crate::http::pagination::Loaded<RevisionSummary>, ApiError> {
    let query = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .select(RevisionSummary::as_select())
        .into_boxed();
    let rows = crate::http::pagination::page_of(query, pagination, sort)?
        .load(conn)
        .await?;
    let total = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(crate::http::pagination::Loaded::exact(rows, total))
}

pub async fn revision(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    version: i32,
) -> QueryResult<Option<Revision>> {
    article_revisions::table
        .find((article_id, version))
        .select(Revision::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(articles::table.find(id)).execute(conn).await
}

#[cfg(test)]
mod tests {
    use super::super::model::Article;

    /// Lists read rows by name: every field of `Article` must be a column of a card. A new
    /// field does not compile here until it is named, and then fails until it is selected.
    #[test]
    fn cards_select_every_field_of_an_article() {
        let _every_field = |article: Article| {
            let Article {
                id: _,
                slug: _,
                title: _,
                subtitle: _,
                excerpt_given: _,
                excerpt: _,
                body_markdown: _,
                body_html: _,
                toc: _,
                word_count: _,
                reading_time_minutes: _,
                status: _,
                published_at: _,
                author_id: _,
                cover_image_id: _,
                comments_open: _,
                version: _,
                created_at: _,
                updated_at: _,
                sort_at: _,
                external_id: _,
                kind: _,
                meta_title: _,
                meta_description: _,
                is_public: _,
            } = article;
        };
        let named = [
            "id",
            "slug",
            "title",
            "subtitle",
            "excerpt_given",
            "excerpt",
            "body_markdown",
            "body_html",
            "toc",
            "word_count",
            "reading_time_minutes",
            "status",
            "published_at",
            "author_id",
            "cover_image_id",
            "comments_open",
            "version",
            "created_at",
            "updated_at",
            "sort_at",
            "external_id",
            "kind",
            "meta_title",
            "meta_description",
            "is_public",
        ];
        for include_body in [false, true] {
            let columns = super::card_columns(include_body);
            let selected: Vec<&str> = columns
                .split(", ")
                .map(|column| {
                    let column = column.rsplit(" AS ").next().unwrap_or(column);
                    column.rsplit('.').next().unwrap_or(column).trim()
                })
                .collect();
            for field in named {
                assert!(selected.contains(&field), "{field} is not in {columns}");
            }
        }
    }
}
