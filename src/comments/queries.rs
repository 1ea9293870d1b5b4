//! Comment queries.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::Comment;
use crate::db::schema::comments;
use crate::error::ApiError;
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption};

pub static SORTS: [SortOption; 1] = [SortOption {
    name: "created_at",
    column: "comments.created_at",
    kind: KeyKind::Time,
}];

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .select(Comment::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, comment: &Comment) -> QueryResult<Comment> {
    diesel::insert_into(comments::table)
        .values(comment)
        .returning(Comment::as_returning())
        .get_result(conn)
        .await
}

/// The approved comments of an article (tombstones included), oldest first.
pub async fn approved_of(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
) -> QueryResult<Vec<Comment>> {
    comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::status.eq("approved"))
        .order((comments::created_at, comments::id))
        .select(Comment::as_select())
        .load(conn)
        .await
}

/// Comments since `since` from this IP or this email, and the oldest of them.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    ip: &str,
    email: &str,
    since: DateTime<Utc>,
) -> QueryResult<(i64, Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>)> {
    let by_ip: (i64, Option<DateTime<Utc>>) = comments::table
        .filter(comments::ip.eq(ip))
        .filter(comments::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(comments::created_at),
        ))
        .first(conn)
        .await?;
    let by_email: (i64, Option<DateTime<Utc>>) = comments::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Text>("lower(author_email)")
                .eq(email.to_lowercase()),
        )
        .filter(comments::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(comments::created_at),
        ))
        .first(conn)
        .await?;
    Ok((by_ip.0, by_ip.1, by_email.0, by_email.1))
}

/// Whether this email sent this body to this article since `since`.
pub async fn is_duplicate(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    email: &str,
    body: &str,
    since: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table
            .filter(comments::article_id.eq(article_id))
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Text>("lower(author_email)")
                    .eq(email.to_lowercase()),
            )
            .filter(comments::body_markdown.eq(body))
            .filter(comments::created_at.gt(since)),
    ))
    .get_result(conn)
    .await
}

pub async fn has_approved_from(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Text>("lower(author_email)")
                    .eq(email.to_lowercase()),
            )
            .filter(comments::status.eq("approved")),
    ))
    .get_result(conn)
    .await
}

/// The moderation queue: newest first by default, filtered by status and article.
pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort,
    status: Option<&str>,
    article_id: Option<Uuid>,
) -> Result<Loaded<Comment>, ApiError> {
    let mut query = comments::table
        .select(Comment::as_select())
        .order(sort.order_by())
        .limit(pagination.per_page + 1)
        .offset(pagination.offset())
        .into_boxed();
    let mut count = comments::table.count().into_boxed();
    if let Some(status) = status {
        query = query.filter(comments::status.eq(status.to_owned()));
        count = count.filter(comments::status.eq(status.to_owned()));
    }
    if let Some(article_id) = article_id {
        query = query.filter(comments::article_id.eq(article_id));
        count = count.filter(comments::article_id.eq(article_id));
    }
    if let Some(cursor) = pagination.cursor(sort)? {
        query = query.filter(sort.after(cursor)?);
    }
    Ok(Loaded {
        rows: query.load(conn).await?,
        total: count.get_result(conn).await?,
    })
}

pub async fn has_replies(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table.filter(comments::parent_id.eq(id)),
    ))
    .get_result(conn)
    .await
}

/// Approved, not deleted comments per article, for a page of articles in one query.
pub async fn approved_counts(
    conn: &mut AsyncPgConnection,
    article_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = comments::table
        .filter(comments::article_id.eq_any(article_ids))
        .filter(comments::status.eq("approved"))
        .filter(comments::deleted_at.is_null())
        .group_by(comments::article_id)
        .select((comments::article_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}
