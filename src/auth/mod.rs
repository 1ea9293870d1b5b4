//! `/api/v1/tokens`: admins make, list and revoke API tokens.
pub mod authenticate;
pub mod queries;
pub mod tokens;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::tokens::Token;
use crate::error::ApiError;
use crate::http::auth::{ADMIN, Auth, Role, WRITERS};
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, Created};
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::ok;
use crate::http::{Timestamp, base_url};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tokens)
        .service(create_token)
        .service(find_token)
        .service(revoke_token);
}

/// A token as an admin sees it. The secret is in the answer to its creation only.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab",
    "name": "CI deploy script",
    "role": "editor",
    "author_id": null,
    "user_id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab",
    "secret_prefix": "lede_x7Ka9Q2",
    "created_at": "2025-10-28T09:30:00Z",
    "revoked_at": null,
    "secret": "lede_x7Ka9Q2mZpR4tW8yB1cD3eF5gH7jK9LmN0pQ2sT4"
}))]
pub struct TokenResponse {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The author an `author` or `contributor` token writes as.
    pub author_id: Option<Uuid>,
    /// The person it belongs to (it acts as them, with the lower of its role and theirs,
    /// and stops working when they are disabled); `null` for a service token.
    #[schema(required = true)]
    pub user_id: Option<Uuid>,
    /// The secret's first characters, to tell tokens apart.
    pub secret_prefix: String,
    pub created_at: Timestamp,
    /// When it stopped working; `null` while it works.
    pub revoked_at: Option<Timestamp>,
    /// The secret to send as `Authorization: Bearer <secret>`: only in the answer that
    /// created the token, and stored nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Token answers are never public.
impl crate::http::cache::Shows for TokenResponse {}

/// A token changes only when it is revoked.
impl crate::http::response::Versioned for TokenResponse {
    fn version(&self) -> String {
        let at = self.revoked_at.unwrap_or(self.created_at);
        crate::http::response::version_at(&at.0)
    }
}

impl TokenResponse {
    fn new(token: Token, secret: Option<String>) -> Self {
        TokenResponse {
            id: token.id,
            name: token.name,
            role: Role::parse(&token.role).unwrap_or(Role::Author),
            author_id: token.author_id,
            user_id: token.user_id,
            secret_prefix: token.secret_prefix,
            created_at: token.created_at.into(),
            revoked_at: token.revoked_at.map(Into::into),
            secret,
        }
    }
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ada's laptop", "role": "author", "author": "ada-okafor"}))]
pub struct NewToken {
    /// A label for people, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    pub role: Role,
    /// Id or slug of the author an `author` or `contributor` token writes as (required for
    /// those roles, not allowed for the others; a person's token takes their byline).
    pub author: Option<String>,
    /// Admins: the person the token belongs to; absent, an admin's token belongs to no
    /// one (a service token) and anyone else's to themselves.
    pub user: Option<Uuid>,
}

/// Whose tokens the caller manages: everyone's (`None`: admins) or a person's own.
fn whose(auth: &Auth) -> Result<Option<Uuid>, ApiError> {
    let principal = auth.require(WRITERS)?;
    if principal.role == Role::Admin {
        return Ok(None);
    }
    match principal.actor.user_id() {
        Some(me) => Ok(Some(me)),
        None => principal.require(ADMIN).map(|_| None),
    }
}

/// The token `id` when the caller manages it: 404 when there is none, 403 when it is
/// someone else's.
async fn visible(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
    owner: Option<Uuid>,
) -> Result<Token, ApiError> {
    let token = queries::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token with id `{id}`")))?;
    match owner {
        Some(me) if token.user_id != Some(me) => Err(ApiError::Forbidden(
            "this token is someone else's: only admins manage others' tokens".into(),
        )),
        _ => Ok(token),
    }
}

/// List tokens
///
/// Admins list every token; a signed-in person (or one of their tokens) lists their own.
/// Newest first; secrets are never listed.
#[utoipa::path(
    tag = "tokens", operation_id = "list_tokens",
    params(PageParams),
    responses((status = 200, description = "A page of tokens", body = ListResponse<TokenResponse>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Tokens in the whole list"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/tokens")]
async fn list_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let owner = whose(&auth)?;
    let sort = pagination.sort(&queries::SORTS, "-created_at")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let loaded = queries::list(&mut conn, &pagination, &sort, owner).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        loaded,
        |t| t.id,
        |t| TokenResponse::new(t, None),
    )
}

/// Get a token
///
/// Admins, or the person whose token it is. Without its secret.
#[utoipa::path(
    tag = "tokens", operation_id = "find_token",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 200, description = "The token", body = TokenResponse,
        headers(("ETag" = String, description = "Strong ETag of the token")))),
    security(("bearer" = []))
)]
#[get("/tokens/{id}")]
async fn find_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let owner = whose(&auth)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let token = visible(&mut conn, *id, owner).await?;
    ok(&req, &TokenResponse::new(token, None))
}

/// Create a token
///
/// Admins make tokens for anyone (`user`) or for no one (a service token); a signed-in
/// person (or one of their tokens) makes tokens of their own, with a role at most theirs.
/// The answer holds the secret; it is shown this once and stored only as a hash.
#[utoipa::path(
    tag = "tokens", operation_id = "create_token",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer, marked `Idempotent-Replayed: true`")),
    request_body = NewToken,
    responses((status = 201, description = "Created; `secret` is shown only here", body = TokenResponse,
        headers(("Location" = String, description = "URL of the new token"), ("ETag" = String, description = "Strong ETag of the answer")))),
    security(("bearer" = []))
)]
#[post("/tokens")]
async fn create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<NewToken>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?.clone();
    let is_admin = principal.role == Role::Admin;
    let (new, mut checks) = body.into_parts();
    // Whose it is: an admin names anyone or no one; a person makes their own.
    let owner = match (is_admin, new.user, principal.actor.user_id()) {
        (true, given, _) => given,
        (false, None, Some(me)) => Some(me),
        (false, Some(given), Some(me)) if given == me => Some(me),
        _ => {
            return Err(ApiError::Forbidden(
                "only admins make tokens for others or service tokens; a person makes their own"
                    .into(),
            ));
        }
    };
    let caller = principal.token_id;
    let name = checks.text("name", &new.name, 100);
    if let Some(author) = &new.author {
        checks.key("author", author);
    }
    if !is_admin && !new.role.at_most(principal.role) {
        checks.fail(
            "role",
            "above_yours",
            format!(
                "a token of yours may have a role at most `{}`",
                principal.role.as_str()
            ),
        );
    }
    checks.finish()?;
    let base = base_url(&req);
    idempotency::once(&req, &state.pool, Some(caller), async move |conn| {
        // Held (shared) until the token is stored: a person disabled meanwhile waits for it,
        // and then revokes it with the rest.
        let person = match owner {
            Some(id) => {
                let person = crate::users::queries::lock_shared(conn, id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::invalid("user", "not_found", format!("no person with id `{id}`"))
                    })?;
                if person.status() != crate::users::model::UserStatus::Active {
                    return Err(ApiError::invalid(
                        "user",
                        "not_active",
                        "tokens are made for active people only",
                    ));
                }
                Some(person)
            }
            None => None,
        };
        let given = match &new.author {
            Some(key) => Some(crate::authors::queries::id_named(conn, key).await?),
            None => None,
        };
        // A person's token writes under their byline, and only it (it follows the person's
        // byline when that changes: `tokens::find_active`).
        let author_id = match &person {
            Some(person) if given.is_some() && given != person.author_id => {
                return Err(ApiError::invalid(
                    "author",
                    "not_theirs",
                    "a person's token writes under their own byline",
                ));
            }
            Some(person) if new.role.is_bound() => person.author_id,
            Some(_) | None => given,
        };
        match (new.role.is_bound(), author_id) {
            (true, None) => {
                return Err(ApiError::invalid(
                    "author",
                    "required",
                    format!(
                        "a{} {} token needs `author` (id or slug)",
                        if new.role == Role::Author { "n" } else { "" },
                        new.role.as_str()
                    ),
                ));
            }
            (false, Some(_)) => {
                return Err(ApiError::invalid(
                    "author",
                    "not_allowed",
                    "only author and contributor tokens are bound to an author",
                ));
            }
            _ => {}
        }
        let (token, secret) =
            tokens::create(conn, &principal.actor, &name, new.role, author_id, owner).await?;
        let location = format!("{base}/api/v1/tokens/{}", token.id);
        // The secret is shown once: a replay answers the token without it.
        Created::new(location, &TokenResponse::new(token.clone(), Some(secret)))?
            .replayed_as(&TokenResponse::new(token, None))
    })
    .await
}

/// Revoke a token
///
/// Admins, or the person whose token it is. The token stops working at once (and the
/// preview links it made with it); it stays listed with `revoked_at`.
#[utoipa::path(
    tag = "tokens", operation_id = "revoke_token",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked (also when it already was)")),
    security(("bearer" = []))
)]
#[delete("/tokens/{id}")]
async fn revoke_token(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let owner = whose(&auth)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    visible(&mut conn, *id, owner).await?;
    if !queries::revoke(&mut conn, &auth.require(WRITERS)?.actor, *id).await? {
        return Err(ApiError::NotFound(format!("no token with id `{id}`")));
    }
    Ok(HttpResponse::NoContent().finish())
}
