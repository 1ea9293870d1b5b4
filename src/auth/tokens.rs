//! API tokens: random secrets shown once, stored only as SHA-256 hashes (a 40-character
//! random secret has ~238 bits of entropy, so a fast hash is safe and lookups stay cheap).
use crate::http::auth::hash_secret;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::changes::{Action, Change, Subject};
use crate::db::schema::api_tokens;
use crate::principal::{Actor, ActorKind, Principal, Role};

const SECRET_PREFIX: &str = "lede_";
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
    pub user_id: Option<Uuid>,
}

/// Stores a new token and returns it with its secret (the only time the secret exists).
pub async fn create(
    conn: &mut AsyncPgConnection,
    by: &Actor,
    name: &str,
    role: Role,
    author_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> Result<(Token, String), crate::error::ApiError> {
    let secret = crate::text::random_secret(SECRET_PREFIX);
    conn.transaction::<_, crate::error::ApiError, _>(async |conn| {
        let token = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(Uuid::now_v7()),
                api_tokens::name.eq(name),
                api_tokens::role.eq(role.as_str()),
                api_tokens::author_id.eq(author_id),
                api_tokens::user_id.eq(user_id),
                api_tokens::secret_hash.eq(hash_secret(&secret)),
                api_tokens::secret_prefix.eq(&secret[..SHOWN_PREFIX_CHARS]),
            ))
            .returning(Token::as_returning())
            .get_result(conn)
            .await?;
        // Nothing public shows a token; the feed still says what changed (the CLI's too).
        let change = Change::new(Subject::Token(token.id), Action::Created);
        crate::changes::record(conn, by, change).await?;
        Ok((token, secret.clone()))
    })
    .await
}

/// The principal of an unrevoked token with this secret. A person's token works while the
/// person is active, with the lower of its role and theirs, and acts as them.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    secret: &str,
) -> QueryResult<Option<Principal>> {
    use crate::db::schema::users;
    type Person = (Uuid, String, String, String, Option<Uuid>);
    type Row = (Uuid, String, String, Option<Uuid>, Option<Person>);
    let row: Option<Row> = api_tokens::table
        .left_join(users::table)
        .filter(api_tokens::secret_hash.eq(hash_secret(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            api_tokens::id,
            api_tokens::name,
            api_tokens::role,
            api_tokens::author_id,
            (
                users::id,
                users::name,
                users::role,
                users::status,
                users::author_id,
            )
                .nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((token_id, name, role, author_id, person)) = row else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    let (role, author_id, actor) = match person {
        None => (
            role,
            author_id,
            Actor {
                kind: ActorKind::Token,
                id: Some(token_id),
                name: name.into(),
            },
        ),
        Some((user_id, user_name, user_role, status, byline)) => {
            let Some(user_role) = Role::parse(&user_role).filter(|_| status == "active") else {
                return Ok(None);
            };
            let role = role.lower(user_role);
            // The person's byline as it is now, not as it was when the token was made.
            (
                role,
                byline.filter(|_| role.is_bound()),
                Actor {
                    kind: ActorKind::User,
                    id: Some(user_id),
                    name: user_name.into(),
                },
            )
        }
    };
    Ok(Some(Principal {
        token_id,
        role,
        author_id,
        actor,
        via_session: false,
    }))
}
