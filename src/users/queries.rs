//! People queries (the writes are in `write`, sessions in `sessions`).
use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{User, UserAuthor, UserResponse};
use crate::db::schema::{authors, users};
use crate::error::ApiError;
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<User>; 2] = [
    SortOption {
        name: "created_at",
        column: "users.created_at",
        kind: KeyKind::Time,
        key: |u| time_key(&u.created_at),
    },
    SortOption {
        name: "name",
        column: "users.name",
        kind: KeyKind::Text,
        key: |u| u.name.clone(),
    },
];

/// One page of people.
pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<User>,
) -> Result<Loaded<User>, ApiError> {
    let query = users::table.select(User::as_select()).into_boxed();
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = users::table.count().get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The person, locked against changes (a disable) until the transaction ends.
pub async fn lock_shared(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .for_share()
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The person with this email (in any case).
pub async fn by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Text>("lower(users.email)")
                .eq(email.to_lowercase()),
        )
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The bylines of these people, by id, in one query.
pub async fn bylines(
    conn: &mut AsyncPgConnection,
    people: &[User],
) -> QueryResult<HashMap<Uuid, UserAuthor>> {
    let ids: Vec<Uuid> = people.iter().filter_map(|u| u.author_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String, String)> = authors::table
        .filter(authors::id.eq_any(&ids))
        .select((authors::id, authors::slug, authors::name))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name)| (id, UserAuthor { id, slug, name }))
        .collect())
}

/// Every person's id and name, by name (a menu of who acted).
pub async fn names(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, String)>> {
    users::table
        .select((users::id, users::name))
        .order(users::name.asc())
        .limit(1000)
        .load(conn)
        .await
}

/// The people who write under the bylines `authors`: `(author id, person's name)`.
pub async fn writing_as(
    conn: &mut AsyncPgConnection,
    authors: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    let rows: Vec<(Option<Uuid>, String)> = users::table
        .filter(users::author_id.eq_any(authors))
        .select((users::author_id, users::name))
        .order(users::name.asc())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(author, name)| Some((author?, name)))
        .collect())
}

/// One person as shown, with their byline.
pub async fn show(conn: &mut AsyncPgConnection, user: User) -> QueryResult<UserResponse> {
    let mut bylines = bylines(conn, std::slice::from_ref(&user)).await?;
    let author = user.author_id.and_then(|id| bylines.remove(&id));
    Ok(UserResponse::new(user, author))
}
