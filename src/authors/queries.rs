//! Author queries.
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::changes::{Action, Change, Key, Subject};
use crate::error::{ApiError, OnConstraint};
use crate::http::slugged::Slugged;

use super::model::{Author, AuthorInsert, AuthorUpdate};
use crate::db::schema::{articles, authors};
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Author>; 4] = [
    SortOption {
        name: "name",
        column: "authors.name",
        kind: KeyKind::Text,
        key: |a| a.name.clone(),
    },
    SortOption {
        name: "slug",
        column: "authors.slug",
        kind: KeyKind::Text,
        key: |a| a.slug.clone(),
    },
    SortOption {
        name: "created_at",
        column: "authors.created_at",
        kind: KeyKind::Time,
        key: |a| time_key(&a.created_at),
    },
    SortOption {
        name: "updated_at",
        column: "authors.updated_at",
        kind: KeyKind::Time,
        key: |a| time_key(&a.updated_at),
    },
];

pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Author>> {
    authors::table
        .filter(Slugged::Authors.by_key(key))
        .select(Author::as_select())
        .first(conn)
        .await
        .optional()
}

/// The id of the author a request names in its `author` field (id or slug); a 422 naming
/// that field when there is none.
pub async fn id_named(conn: &mut AsyncPgConnection, key: &str) -> Result<Uuid, ApiError> {
    find(conn, key).await?.map(|a| a.id).ok_or_else(|| {
        ApiError::invalid(
            "author",
            "not_found",
            format!("no author with id or slug `{key}`"),
        )
    })
}

/// The author with this email (stored lowercase).
pub async fn by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<Author>> {
    authors::table
        .filter(authors::email.eq(email))
        .select(Author::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locked until the end of the transaction (a write checks and changes it).
pub async fn lock(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Author>> {
    authors::table
        .filter(Slugged::Authors.by_key(key))
        .select(Author::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<Author>,
) -> Result<Loaded<Author>, crate::error::ApiError> {
    let query = authors::table.select(Author::as_select()).into_boxed();
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = authors::table.count().get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

/// Every author's id and name, by name (the desk's choices: no counts, one index scan).
pub async fn names(
    conn: &mut AsyncPgConnection,
    most: i64,
) -> QueryResult<Vec<(Uuid, String, String)>> {
    authors::table
        .select((authors::id, authors::slug, authors::name))
        .order(authors::name.asc())
        .limit(most)
        .load(conn)
        .await
}

/// Inserts a author and records the change (the list of authors changes).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    row: &AuthorInsert,
) -> Result<Author, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let author = diesel::insert_into(authors::table)
            .values(row)
            .returning(Author::as_returning())
            .get_result(conn)
            .await
            .on_unique(&[("authors_slug_key", "slug"), ("authors_email_key", "email")])?;
        // Nothing embeds a new author yet.
        let change = Change::to_thing(Subject::Author(author.id), Action::Created, &[]);
        crate::changes::record(conn, by, change).await?;
        Ok(author)
    })
    .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
    changes: &AuthorUpdate,
) -> Result<Author, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let author = diesel::update(authors::table.find(id))
            .set(changes)
            .returning(Author::as_returning())
            .get_result(conn)
            .await
            .on_unique(&[("authors_slug_key", "slug"), ("authors_email_key", "email")])?;
        // Articles show an author's byline (slug, name, avatar), not the bio or email.
        let shown_in_articles =
            changes.slug.is_some() || changes.name.is_some() || changes.avatar_image_id.is_some();
        let also: &[Key] = if shown_in_articles {
            &[Key::Byline(id), Key::Articles]
        } else {
            &[]
        };
        let change = Change::to_thing(Subject::Author(id), Action::Updated, also);
        crate::changes::record(conn, by, change).await?;
        Ok(author)
    })
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<usize, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let deleted = diesel::delete(authors::table.find(id))
            .execute(conn)
            .await?;
        let also = &[Key::Byline(id), Key::Articles];
        let change = Change::to_thing(Subject::Author(id), Action::Deleted, also);
        crate::changes::record(conn, by, change).await?;
        Ok(deleted)
    })
    .await
}

/// Public articles per author, for the authors given (their `article_count`).
pub async fn article_counts(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<std::collections::HashMap<Uuid, i64>> {
    crate::db::counts_by_id(
        conn,
        "SELECT author_id AS id, count(*) AS n FROM articles \
         WHERE author_id = ANY($1) AND status = 'published' AND published_at <= now() AND kind = 'article' \
         GROUP BY author_id",
        ids,
    )
    .await
}

/// Slugs of an author's articles (drafts included), a few, for a 409's message.
pub async fn article_slugs(
    conn: &mut AsyncPgConnection,
    author_id: Uuid,
) -> QueryResult<Vec<String>> {
    articles::table
        .filter(articles::author_id.eq(author_id))
        .order(articles::created_at)
        .select(articles::slug)
        .limit(10)
        .load(conn)
        .await
}
