//! Lists of articles: one SQL statement built from the filters, sort and page (plus a
//! count, kept per list by the response cache), and the look-up of the cards a search
//! found.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Float4, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::ListedArticle;
use crate::error::ApiError;
use crate::http::pagination::{
    Cursor, EXACT_TOTAL, KeyBound, KeyKind, Pagination, Sort, SortOption, time_key,
};
use crate::listing::{Filters, Reader};

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
        Some(super::model::Status::InReview) => sql.push(" AND articles.status = 'in_review'"),
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
        && filters.kind == super::model::Kind::Article;
    // What the public sees: all a public reader sees, or the published ones for anyone.
    let public = match filters.status {
        Some(super::model::Status::Published) => true,
        None => matches!(reader, Reader::Public),
        Some(_) => false,
    };
    if public && unfiltered {
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
