//! Token queries (making and checking secrets is in `tokens`).
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::tokens::Token;
use crate::changes::{Action, Change, Subject};
use crate::db::schema::api_tokens;
use crate::error::ApiError;
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Token>; 1] = [SortOption {
    name: "created_at",
    column: "api_tokens.created_at",
    kind: KeyKind::Time,
    key: |t| time_key(&t.created_at),
}];

/// One page of tokens.
pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<Token>,
    owner: Option<Uuid>,
) -> Result<Loaded<Token>, ApiError> {
    let mut query = api_tokens::table.select(Token::as_select()).into_boxed();
    let mut count = api_tokens::table.count().into_boxed();
    if let Some(owner) = owner {
        query = query.filter(api_tokens::user_id.eq(owner));
        count = count.filter(api_tokens::user_id.eq(owner));
    }
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = count.get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Token>> {
    api_tokens::table
        .find(id)
        .select(Token::as_select())
        .first(conn)
        .await
        .optional()
}

/// Revokes a token (a revoked one stays revoked, at its first time); false when there is
/// no such token.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<bool, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let revoked = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(Some(chrono::Utc::now())))
        .execute(conn)
        .await?;
        if revoked == 1 {
            // What it shared ends with it: a stolen token's preview links too.
            use crate::db::schema::preview_links;
            diesel::delete(preview_links::table.filter(preview_links::created_by.eq(id)))
                .execute(conn)
                .await?;
            let change = Change::new(Subject::Token(id), Action::Revoked);
            crate::changes::record(conn, by, change).await?;
            return Ok(true);
        }
        Ok(find(conn, id).await?.is_some())
    })
    .await
}
