//! Comment queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::Comment;
use crate::changes::{Action, Announce, Change, Event, Key, Subject};
use crate::db::schema::comments;
use crate::error::ApiError;
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Comment>; 1] = [SortOption {
    name: "created_at",
    column: "comments.created_at",
    kind: KeyKind::Time,
    key: |c| time_key(&c.created_at),
}];

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .select(Comment::as_select())
        .first(conn)
        .await
        .optional()
}

/// The comment `id`, held (`FOR SHARE`) until the transaction ends.
pub async fn lock_shared(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .select(Comment::as_select())
        .for_share()
        .first(conn)
        .await
        .optional()
}

/// Inserts a comment; an approved one changes its article's public thread (and count).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    comment: &Comment,
) -> Result<Comment, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let comment = diesel::insert_into(comments::table)
            .values(comment)
            .returning(Comment::as_returning())
            .get_result(conn)
            .await?;
        // A pending comment changes nothing anyone sees; moderators' tools hear of it. Spam
        // (the honeypot's catch) is announced to no one.
        let (public, announce): (&[Uuid], _) = match comment.status.as_str() {
            APPROVED => (&[comment.article_id], Some(Event::CommentApproved)),
            "pending" => (&[], Some(Event::CommentCreated)),
            _ => (&[], None),
        };
        let announced = announce.map(|event| (comment.id, event));
        record(conn, by, Action::Created, public, announced).await?;
        Ok(comment)
    })
    .await
}

/// Inserts comments brought from elsewhere (an import), parents before replies. A comment
/// already there (by id) is left as it is. They are recorded like other comments but
/// announced to no one: they are not new. How many were inserted.
pub async fn insert_imported(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    rows: &[Comment],
) -> Result<usize, ApiError> {
    let mut inserted: Vec<String> = Vec::new();
    // Postgres takes at most 65,535 parameters in one statement.
    for chunk in rows.chunks(1_000) {
        let statuses: Vec<String> = diesel::insert_into(comments::table)
            .values(chunk)
            .on_conflict(comments::id)
            .do_nothing()
            .returning(comments::status)
            .get_results(conn)
            .await?;
        inserted.extend(statuses);
    }
    let public: &[Uuid] = if inserted.iter().any(|status| status == APPROVED) {
        &[article_id]
    } else {
        &[]
    };
    if !inserted.is_empty() {
        record(
            conn,
            &crate::principal::Principal::IMPORTER.actor,
            Action::Created,
            public,
            None,
        )
        .await?;
    }
    Ok(inserted.len())
}

const APPROVED: &str = "approved";

/// The change of some articles' public threads (and their `comment_count`), and of one
/// comment what subscribers hear (`comment.created`, `comment.approved`). Only approved
/// comments are public: a pending or spam comment changes nothing anyone sees.
async fn record(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    action: Action,
    article_ids: &[Uuid],
    announced: Option<(Uuid, Event)>,
) -> Result<(), ApiError> {
    let keys = article_ids
        .iter()
        .flat_map(|id| [Key::Comments(*id), Key::Article(*id)]);
    let subject = announced.map_or(Subject::Comments, |(id, _)| Subject::Comment(id));
    let change = Change::new(subject, action)
        .touching(keys)
        .announcing(announced.map(|(_, event)| Announce::from(event)));
    crate::changes::record(conn, by, change).await
}

/// Of `ids`, those a change to `new_status` approves (they were not approved before).
async fn newly_approved(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    new_status: Option<&str>,
) -> QueryResult<Vec<Uuid>> {
    if new_status != Some(APPROVED) {
        return Ok(Vec::new());
    }
    comments::table
        .filter(comments::id.eq_any(ids))
        .filter(comments::status.ne(APPROVED))
        .filter(comments::deleted_at.is_null())
        .select(comments::id)
        .load(conn)
        .await
}

/// The articles whose public threads change when these comments get `new_status` (`None`:
/// they are edited or removed): those where one of them is approved now or will be.
async fn public_articles_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    new_status: Option<&str>,
) -> QueryResult<Vec<Uuid>> {
    let mut query = comments::table
        .filter(comments::id.eq_any(ids))
        .select(comments::article_id)
        .distinct()
        .into_boxed();
    if new_status != Some(APPROVED) {
        query = query.filter(comments::status.eq(APPROVED));
    }
    query.load(conn).await
}

/// A moderator's change of one comment (status and/or body), recorded when public.
pub async fn moderate(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
    status: Option<&str>,
    body: Option<(String, String)>,
) -> Result<Option<Comment>, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let public = public_articles_of(conn, &[id], status).await?;
        let approved = newly_approved(conn, &[id], status).await?;
        let (markdown, html) = body.unzip();
        let comment = diesel::update(comments::table.find(id))
            .set((
                status.map(|s| comments::status.eq(s)),
                markdown.map(|m| comments::body_markdown.eq(m)),
                html.map(|h| comments::body_html.eq(h)),
                comments::updated_at.eq(Utc::now()),
            ))
            .returning(Comment::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        let announced = approved
            .into_iter()
            .next()
            .map(|id| (id, Event::CommentApproved));
        record(conn, by, Action::Updated, &public, announced).await?;
        Ok(comment)
    })
    .await
}

/// One status for many comments; the number changed.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    ids: &[Uuid],
    status: &str,
) -> Result<usize, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let public = public_articles_of(conn, ids, Some(status)).await?;
        let approved = newly_approved(conn, ids, Some(status)).await?;
        let updated = diesel::update(comments::table.filter(comments::id.eq_any(ids)))
            .set((
                comments::status.eq(status),
                comments::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        record(conn, by, Action::Updated, &public, None).await?;
        for id in approved {
            record(
                conn,
                by,
                Action::Updated,
                &[],
                Some((id, Event::CommentApproved)),
            )
            .await?;
        }
        Ok(updated)
    })
    .await
}

/// Removes a comment, or keeps a tombstone (no name, no text) when it has replies so the
/// thread stays readable. False when there is no such comment.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<bool, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        if find(conn, id).await?.is_none() {
            return Ok(false);
        }
        let public = public_articles_of(conn, &[id], None).await?;
        if has_replies(conn, id).await? {
            diesel::update(comments::table.find(id))
                .set((
                    comments::deleted_at.eq(Some(Utc::now())),
                    comments::body_markdown.eq(""),
                    comments::body_html.eq(""),
                    comments::author_url.eq(None::<String>),
                    comments::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
        } else {
            diesel::delete(comments::table.find(id))
                .execute(conn)
                .await?;
        }
        record(conn, by, Action::Deleted, &public, None).await?;
        Ok(true)
    })
    .await
}

/// Where a thread starts: an approved comment whose parent is not shown (none, or no
/// longer approved); a deleted one only while approved replies hang on it.
const THREAD_ROOT: &str = "comments.status = 'approved' \
    AND NOT EXISTS (SELECT 1 FROM comments p WHERE p.id = comments.parent_id AND p.status = 'approved') \
    AND (comments.deleted_at IS NULL OR EXISTS \
         (SELECT 1 FROM comments r WHERE r.parent_id = comments.id AND r.status = 'approved'))";

/// One page of an article's threads (their first comments), by keyset or page.
pub async fn thread_roots(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    pagination: &Pagination,
    sort: &Sort<Comment>,
) -> Result<Loaded<Comment>, ApiError> {
    let query = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(THREAD_ROOT))
        .select(Comment::as_select())
        .into_boxed();
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(THREAD_ROOT))
        .count()
        .get_result(conn)
        .await?;
    Ok(Loaded::exact(rows, total))
}

/// A reply with where it sits: how deep under its thread's first comment, and which.
#[derive(QueryableByName)]
pub struct Reply {
    #[diesel(embed)]
    pub comment: Comment,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub depth: i32,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub root_id: Uuid,
}

/// The approved replies under one comment, to any depth, in the order a thread shows
/// them: nearer first, then oldest first (`depth, created_at, id`). Each step looks up the
/// children by `comments_parent_id`: a chain 10,000 deep is 10,000 index lookups (some
/// milliseconds), once the table has statistics.
const SUBTREE: &str = "WITH RECURSIVE tree AS ( \
        SELECT comments.*, 1 AS depth FROM comments \
        WHERE comments.parent_id = root.id AND comments.status = 'approved' \
      UNION ALL \
        SELECT comments.*, tree.depth + 1 FROM comments JOIN tree ON comments.parent_id = tree.id \
        WHERE comments.status = 'approved' AND tree.depth < $2 \
    )";

/// The first `limit` replies of each thread in `roots` (one statement, a recursive query
/// per thread that stops as soon as it has them: a chain 10,000 deep costs `limit` rows).
pub async fn first_replies(
    conn: &mut AsyncPgConnection,
    roots: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<Reply>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(format!(
        "SELECT t.* FROM unnest($1::uuid[]) AS root(id) CROSS JOIN LATERAL ( \
           {SUBTREE} SELECT tree.*, root.id AS root_id FROM tree \
           ORDER BY depth, created_at, id LIMIT $3) t"
    ))
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(roots)
    // No reply deeper than `limit` can be among the first `limit` in this order.
    .bind::<diesel::sql_types::Integer, _>(limit as i32)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// The replies under `root` after the one at (`depth`, `created_at`, `id`) (or from
/// `offset`), `limit` of them, and how many there are in all: the rest of a thread, by its
/// `replies_cursor`.
pub async fn more_replies(
    conn: &mut AsyncPgConnection,
    root: Uuid,
    after: Option<(i32, DateTime<Utc>, Uuid)>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Reply>, i64), ApiError> {
    let (depth, time, id) = after.unwrap_or((0, DateTime::UNIX_EPOCH, Uuid::nil()));
    let rows = diesel::sql_query(format!(
        "SELECT t.* FROM (SELECT $1::uuid AS id) AS root CROSS JOIN LATERAL ( \
           {SUBTREE} SELECT tree.*, root.id AS root_id FROM tree \
           WHERE (depth, created_at, id) > ($4, $5, $6) \
           ORDER BY depth, created_at, id LIMIT $3 OFFSET $7) t"
    ))
    .bind::<diesel::sql_types::Uuid, _>(root)
    .bind::<diesel::sql_types::Integer, _>(i32::MAX)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Integer, _>(depth)
    .bind::<diesel::sql_types::Timestamptz, _>(time)
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(offset)
    .load(conn)
    .await?;
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let total: Total = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM (SELECT $1::uuid AS id) AS root CROSS JOIN LATERAL ( \
           {SUBTREE} SELECT 1 FROM tree) t"
    ))
    .bind::<diesel::sql_types::Uuid, _>(root)
    .bind::<diesel::sql_types::Integer, _>(i32::MAX)
    .get_result(conn)
    .await?;
    Ok((rows, total.n))
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
    sort: &Sort<Comment>,
    status: Option<&str>,
    article_id: Option<Uuid>,
) -> Result<Loaded<Comment>, ApiError> {
    let mut query = comments::table.select(Comment::as_select()).into_boxed();
    let mut count = comments::table.count().into_boxed();
    if let Some(status) = status {
        query = query.filter(comments::status.eq(status.to_owned()));
        count = count.filter(comments::status.eq(status.to_owned()));
    }
    if let Some(article_id) = article_id {
        query = query.filter(comments::article_id.eq(article_id));
        count = count.filter(comments::article_id.eq(article_id));
    }
    Ok(Loaded::exact(
        page_of(query, pagination, sort)?.load(conn).await?,
        count.get_result(conn).await?,
    ))
}

pub async fn has_replies(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table.filter(comments::parent_id.eq(id)),
    ))
    .get_result(conn)
    .await
}

/// The commenters' names of the comments `ids` (a deleted one's is empty).
pub async fn names(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, String)>> {
    let rows: Vec<(Uuid, String, Option<chrono::DateTime<chrono::Utc>>)> = comments::table
        .filter(comments::id.eq_any(ids))
        .select((comments::id, comments::author_name, comments::deleted_at))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, deleted)| {
            (
                id,
                if deleted.is_some() {
                    String::new()
                } else {
                    name
                },
            )
        })
        .collect())
}
