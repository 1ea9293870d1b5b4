//! `POST /api/v1/batch`: up to 100 reads and writes of articles, tags and authors in one
//! transaction, for editors' scripts. Each operation runs the same library function as its
//! own route (roles, validation, If-Match and the change feed included); the first failure
//! rolls everything back and is answered with its index. `Idempotency-Key` covers the whole
//! batch.
use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use diesel_async::AsyncPgConnection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::articles::{self, write};
use crate::error::{ApiError, FieldError};
use crate::http::auth::Auth;
use crate::http::base_url;
use crate::http::body::{JsonBody, parse_json};
use crate::http::idempotency::{self, Created};
use crate::http::response::{IfMatch, Versioned, to_json, versioned_etag};
use crate::http::validate::Checks;
use crate::media::storage::MediaUrls;
use crate::principal::{Principal, WRITERS};
use crate::state::AppState;
use crate::{authors, tags};

pub const MAX_OPERATIONS: usize = 100;
/// The answers of one batch, at most.
const MAX_ANSWER_BYTES: usize = 8 << 20;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(run_batch);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schema(example = "PATCH")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// Operations to run in order, in one transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"operations": [
    {"method": "POST", "path": "/api/v1/tags", "body": {"name": "Harbours"}},
    {"method": "PUT", "path": "/api/v1/articles/by-external-id/notes%2Fpiers.md",
     "body": {"title": "Piers", "author": "ines-marchetti", "tags": ["Harbours"], "status": "published", "body_markdown": "Piers are..."}},
    {"method": "PATCH", "path": "/api/v1/articles/old-piers", "headers": {"If-Match": "\"3-9f2c1a\""}, "body": {"status": "archived"}}
]}))]
pub struct BatchRequest {
    /// 1 to 100 operations.
    pub operations: Vec<Operation>,
}

/// One request of a batch: what it would be on its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "PATCH", "path": "/api/v1/articles/old-piers",
    "headers": {"If-Match": "\"3-9f2c1a\""}, "body": {"status": "archived"}}))]
pub struct Operation {
    pub method: Method,
    /// Under `/api/v1`: `/articles`, `/articles/{id_or_slug}`,
    /// `/articles/by-external-id/{external_id}`, `/tags`, `/tags/{id_or_slug}`, `/authors`,
    /// `/authors/{id_or_slug}` (percent-encoded, no query).
    #[schema(example = "/api/v1/articles/night-buses")]
    pub path: String,
    #[serde(default)]
    #[schema(schema_with = any_object)]
    pub body: Option<serde_json::Value>,
    /// Only `If-Match` is taken.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A JSON object of any fields (a typed client checks it against the route's own schema).
fn any_object() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some(
            "The JSON body (`POST`, `PUT`, `PATCH`): what the route itself takes.",
        ))
        .build()
}

fn any_object_or_null() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some(
            "The answer's body (`null` for 204): what the route itself answers.",
        ))
        .build()
}

/// Every operation's answer, in order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [
    {"status": 201, "headers": {"ETag": "\"1-5d41402abc4b2a76b9719d91\"", "Location": "https://api.example.com/api/v1/tags/01932c4e-aaaa-7bbb-8ccc-0123456789ab"},
     "body": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "slug": "harbours", "name": "Harbours", "description": null, "article_count": 0}},
    {"status": 204, "headers": {}, "body": null}
]}))]
pub struct BatchResponse {
    pub results: Vec<OperationResult>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": 201, "headers": {"Location": "https://api.example.com/api/v1/tags/01932c4e-aaaa-7bbb-8ccc-0123456789ab", "ETag": "\"1-5d41402abc4b2a76b9719d91\""}, "body": {"id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "slug": "harbours", "name": "Harbours"}}))]
pub struct OperationResult {
    /// What the request would have answered on its own: 200, 201 or 204.
    pub status: u16,
    /// `Location` of what was created, `ETag` of what is answered.
    pub headers: BTreeMap<String, String>,
    #[schema(schema_with = any_object_or_null, required = true)]
    pub body: Option<serde_json::Value>,
}

/// Run a batch
///
/// Up to 100 reads and writes of articles, tags and authors, in order, in one transaction:
/// all are applied (200, each operation's status, headers and body) or none is (the first
/// failure's status and problem; its fields are named `operations[<index>].body.<field>`).
/// Each operation needs the role its own route needs. `Idempotency-Key` replays the first
/// answer of the whole batch.
#[utoipa::path(
    tag = "batch", operation_id = "run_batch",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body replays the first answer, marked `Idempotent-Replayed: true`")),
    request_body = BatchRequest,
    responses((status = 200, description = "Every operation succeeded; their answers", body = BatchResponse),
        (status = 404, description = "An operation's article, tag or author does not exist (or is not visible to the token); nothing was applied", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "An operation's If-Match no longer matches; nothing was applied", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/batch")]
async fn run_batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<BatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(WRITERS)?;
    let caller = principal.token_id;
    let (batch, mut checks) = body.into_parts();
    match batch.operations.len() {
        // Already named when its shape was wrong.
        _ if checks.has("operations") => {}
        0 => checks.fail("operations", "too_short", "give at least one operation"),
        n if n > MAX_OPERATIONS => checks.fail(
            "operations",
            "too_long",
            format!("at most {MAX_OPERATIONS} operations in a batch, not {n}"),
        ),
        _ => {}
    }
    checks.finish()?;
    // The articles' bodies are rendered before the batch's transaction opens.
    let bodies = batch.operations.iter().filter_map(|operation| {
        let body = operation.body.as_ref()?.get("body_markdown")?.as_str()?;
        Some(body.to_owned())
    });
    let bodies = write::Prerendered::of(&state.pool, bodies).await?;
    let context = Context {
        base: base_url(&req),
        urls: crate::http::media_urls(&req),
        state: state.clone(),
        bodies,
    };
    idempotency::once(&req, &state.pool, Some(caller), async move |conn| {
        let mut results = Vec::with_capacity(batch.operations.len());
        let mut size = 0;
        for (index, operation) in batch.operations.into_iter().enumerate() {
            let in_operation = |error| ApiError::InOperation {
                index,
                error: Box::new(error),
            };
            let (result, bytes) = run(conn, principal, &context, operation)
                .await
                .map_err(in_operation)?;
            // A small request must not make a huge answer (100 reads of a long article).
            size += bytes;
            if size > MAX_ANSWER_BYTES {
                return Err(in_operation(ApiError::invalid(
                    "operations",
                    "too_large",
                    format!(
                        "the answers would pass {} MiB: split the batch",
                        MAX_ANSWER_BYTES >> 20
                    ),
                )));
            }
            results.push(result);
        }
        Created::ok(&BatchResponse { results })
    })
    .await
}

struct Context {
    base: String,
    urls: MediaUrls,
    state: web::Data<AppState>,
    bodies: write::Prerendered,
}

/// What an operation is about, from its path.
enum Target {
    Articles,
    Article(String),
    ArticleByExternalId(String),
    Tags,
    Tag(String),
    Authors,
    Author(String),
}

fn target(path: &str) -> Result<Target, ApiError> {
    let unsupported = || {
        ApiError::invalid(
            "path",
            "unsupported",
            format!(
                "`{path}` cannot be batched: give /api/v1/articles, /api/v1/tags or \
                 /api/v1/authors, optionally with /{{id_or_slug}} (or \
                 /api/v1/articles/by-external-id/{{external_id}}), without a query"
            ),
        )
    };
    let rest = path.strip_prefix("/api/v1/").ok_or_else(unsupported)?;
    if rest.contains(['?', '#']) {
        return Err(unsupported());
    }
    let segments: Vec<String> = rest
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| unsupported())
        })
        .collect::<Result<_, _>>()?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    Ok(match segments.as_slice() {
        ["articles"] => Target::Articles,
        ["articles", "by-external-id", id] if !id.is_empty() => {
            Target::ArticleByExternalId((*id).to_owned())
        }
        ["articles", key] if !key.is_empty() => Target::Article((*key).to_owned()),
        ["tags"] => Target::Tags,
        ["tags", key] if !key.is_empty() => Target::Tag((*key).to_owned()),
        ["authors"] => Target::Authors,
        ["authors", key] if !key.is_empty() => Target::Author((*key).to_owned()),
        _ => return Err(unsupported()),
    })
}

fn if_match(headers: &BTreeMap<String, String>) -> Result<IfMatch, ApiError> {
    let mut given = None;
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("if-match") {
            return Err(ApiError::invalid(
                &format!("headers.{name}"),
                "unsupported",
                "only If-Match is taken in a batch operation",
            ));
        }
        if given.replace(value.as_str()).is_some() {
            return Err(ApiError::invalid(
                &format!("headers.{name}"),
                "repeated",
                "If-Match is given twice (names are case-insensitive)",
            ));
        }
    }
    IfMatch::given(given).ok_or_else(|| {
        ApiError::invalid(
            "headers.If-Match",
            "invalid",
            "If-Match must be visible ASCII (ETags as GET answers them)",
        )
    })
}

/// The operation's body as `T`, with the problems of its shape (as the route would read it).
fn body<T: DeserializeOwned>(body: Option<serde_json::Value>) -> Result<(T, Checks), ApiError> {
    let bytes = to_json(&body.unwrap_or(serde_json::Value::Null))?;
    let (value, problems) = parse_json(&bytes)?;
    Ok((value, Checks::with(problems)))
}

/// The problems of an operation's body are named under `body`.
fn in_body(error: ApiError) -> ApiError {
    let prefix = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|mut e| {
                e.field = Some(match e.field {
                    Some(field) => format!("body.{field}"),
                    None => "body".into(),
                });
                e
            })
            .collect()
    };
    match error {
        ApiError::Validation(errors) => ApiError::Validation(prefix(errors)),
        ApiError::Conflict { detail, errors } => ApiError::Conflict {
            detail,
            errors: prefix(errors),
        },
        other => other,
    }
}

fn no_body(operation: &Option<serde_json::Value>) -> Result<(), ApiError> {
    match operation {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "body",
            "unexpected",
            "GET and DELETE take no body",
        )),
    }
}

/// An answer with its ETag (and `Location` when it made something).
fn answer<T: Serialize + Versioned>(
    status: u16,
    value: &T,
    location: Option<String>,
) -> Result<(OperationResult, usize), ApiError> {
    let bytes = to_json(value)?;
    let mut headers = BTreeMap::new();
    headers.insert("ETag".to_owned(), versioned_etag(&value.version(), &bytes));
    if let Some(location) = location {
        headers.insert("Location".to_owned(), location);
    }
    let body = serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    let result = OperationResult {
        status,
        headers,
        body: Some(body),
    };
    Ok((result, bytes.len()))
}

fn deleted() -> (OperationResult, usize) {
    let result = OperationResult {
        status: 204,
        headers: BTreeMap::new(),
        body: None,
    };
    (result, 0)
}

fn not_taken(method: Method) -> ApiError {
    let name = format!("{method:?}").to_uppercase();
    ApiError::invalid(
        "method",
        "unsupported",
        format!(
            "{name} is not taken by this path (collections take POST; one item GET, PATCH and DELETE; by-external-id PUT)"
        ),
    )
}

/// Whether the path takes the method (checked before anything runs).
fn takes(method: Method, target: &Target) -> bool {
    match target {
        Target::Articles | Target::Tags | Target::Authors => method == Method::Post,
        Target::ArticleByExternalId(_) => method == Method::Put,
        Target::Article(_) | Target::Tag(_) | Target::Author(_) => {
            matches!(method, Method::Get | Method::Patch | Method::Delete)
        }
    }
}

async fn run(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    context: &Context,
    operation: Operation,
) -> Result<(OperationResult, usize), ApiError> {
    let target = target(&operation.path)?;
    if !takes(operation.method, &target) {
        return Err(not_taken(operation.method));
    }
    let if_match = if_match(&operation.headers)?;
    if matches!(operation.method, Method::Get | Method::Delete) {
        no_body(&operation.body)?;
    }
    run_on(
        conn,
        principal,
        context,
        operation.method,
        target,
        &if_match,
        operation.body,
    )
    .await
    .map_err(in_body)
}

async fn run_on(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    context: &Context,
    method: Method,
    target: Target,
    if_match: &IfMatch,
    given: Option<serde_json::Value>,
) -> Result<(OperationResult, usize), ApiError> {
    let write = &write::Write {
        language: &context.state.search_language,
        bodies: &context.bodies,
    };
    let urls = &context.urls;
    let base = &context.base;
    let site = &context.state.site;
    Ok(match (method, target) {
        (Method::Post, Target::Articles) => {
            let (new, checks) = body(given)?;
            let article = write::create(conn, principal, new, checks, write).await?;
            let view = articles::written(conn, article, urls, site, &context.bodies).await?;
            let location = format!("{base}/api/v1/articles/{}", view.id);
            answer(201, &view, Some(location))?
        }
        (Method::Put, Target::ArticleByExternalId(external_id)) => {
            let (new, checks) = body(given)?;
            let (article, created) =
                write::upsert(conn, principal, &external_id, new, checks, if_match, write).await?;
            let view = articles::written(conn, article, urls, site, &context.bodies).await?;
            match created {
                true => answer(
                    201,
                    &view,
                    Some(format!("{base}/api/v1/articles/{}", view.id)),
                )?,
                false => answer(200, &view, None)?,
            }
        }
        (Method::Get, Target::Article(key)) => {
            let article = articles::queries::find(conn, &key)
                .await?
                .filter(|a| articles::may_read(write::reader_of(principal), a))
                .ok_or_else(|| ApiError::not_found("article", &key))?;
            answer(
                200,
                &articles::view_one(conn, article, urls, &context.state.site).await?,
                None,
            )?
        }
        (Method::Patch, Target::Article(key)) => {
            let (changes, checks) = body(given)?;
            let article =
                write::update(conn, principal, &key, if_match, changes, checks, write).await?;
            answer(
                200,
                &articles::written(conn, article, urls, site, &context.bodies).await?,
                None,
            )?
        }
        (Method::Delete, Target::Article(key)) => {
            write::delete(conn, principal, &key, if_match).await?;
            deleted()
        }
        (Method::Post, Target::Tags) => {
            let (new, checks) = body(given)?;
            let tag = tags::create(conn, principal, new, checks).await?;
            let location = format!("{base}/api/v1/tags/{}", tag.id);
            answer(201, &tags::model::TagResponse::new(tag, 0), Some(location))?
        }
        (Method::Get, Target::Tag(key)) => {
            let tag = tags::queries::find(conn, &key)
                .await?
                .ok_or_else(|| ApiError::not_found("tag", &key))?;
            answer(200, &tags::view(conn, tag).await?, None)?
        }
        (Method::Patch, Target::Tag(key)) => {
            let (changes, checks) = body(given)?;
            let tag = tags::update(conn, principal, &key, if_match, changes, checks).await?;
            answer(200, &tags::view(conn, tag).await?, None)?
        }
        (Method::Delete, Target::Tag(key)) => {
            tags::delete(conn, principal, &key, if_match).await?;
            deleted()
        }
        (Method::Post, Target::Authors) => {
            let (new, checks) = body(given)?;
            let author = authors::create(conn, principal, new, checks).await?;
            let location = format!("{base}/api/v1/authors/{}", author.id);
            answer(
                201,
                &authors::view(conn, author, true, urls).await?,
                Some(location),
            )?
        }
        (Method::Get, Target::Author(key)) => {
            let author = authors::queries::find(conn, &key)
                .await?
                .ok_or_else(|| ApiError::not_found("author", &key))?;
            answer(200, &authors::view(conn, author, true, urls).await?, None)?
        }
        (Method::Patch, Target::Author(key)) => {
            let (changes, checks) = body(given)?;
            let author = authors::update(conn, principal, &key, if_match, changes, checks).await?;
            answer(200, &authors::view(conn, author, true, urls).await?, None)?
        }
        (Method::Delete, Target::Author(key)) => {
            authors::delete(conn, principal, &key, if_match).await?;
            deleted()
        }
        (method, _) => return Err(not_taken(method)),
    })
}
