//! API tokens: random secrets shown once, stored only as SHA-256 hashes (a 40-character
//! random secret has ~238 bits of entropy, so a fast hash is safe and lookups stay cheap).
use crate::http::auth::hash_secret;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use rand::distr::Alphanumeric;
use uuid::Uuid;

use crate::changes::{Action, Change, Subject};
use crate::db::schema::api_tokens;
use crate::principal::{Principal, Role};

const SECRET_PREFIX: &str = "lede_";
const SECRET_RANDOM_CHARS: usize = 40;
/// How much of the secret a token list shows so people can tell tokens apart.
const SHOWN_PREFIX_CHARS: usize = 12;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub author_id: Option<Uuid>,
    pub secret_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn new_secret() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{SECRET_PREFIX}{random}")
}

/// Stores a new token and returns it with its secret (the only time the secret exists).
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
    role: Role,
    author_id: Option<Uuid>,
) -> Result<(Token, String), crate::error::ApiError> {
    let secret = new_secret();
    conn.transaction::<_, crate::error::ApiError, _>(async |conn| {
        let token = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(Uuid::now_v7()),
                api_tokens::name.eq(name),
                api_tokens::role.eq(role.as_str()),
                api_tokens::author_id.eq(author_id),
                api_tokens::secret_hash.eq(hash_secret(&secret)),
                api_tokens::secret_prefix.eq(&secret[..SHOWN_PREFIX_CHARS]),
            ))
            .returning(Token::as_returning())
            .get_result(conn)
            .await?;
        // Nothing public shows a token; the feed still says what changed (the CLI's too).
        let change = Change::new(Subject::Token(token.id), Action::Created);
        crate::changes::record(conn, change).await?;
        Ok((token, secret.clone()))
    })
    .await
}

/// The principal of an unrevoked token with this secret.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    secret: &str,
) -> QueryResult<Option<Principal>> {
    let row: Option<(Uuid, String, Option<Uuid>)> = api_tokens::table
        .filter(api_tokens::secret_hash.eq(hash_secret(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .select((api_tokens::id, api_tokens::role, api_tokens::author_id))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(token_id, role, author_id)| {
        Some(Principal {
            token_id,
            role: Role::parse(&role)?,
            author_id,
        })
    }))
}
