//! `Idempotency-Key` for POST: a retry with the same key and body replays the first
//! answer instead of creating twice. Keys are kept for 24 hours, per caller. Every create
//! runs through `once`, in one transaction (with or without a key).
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, TransactionManager};
use serde::Serialize;
use uuid::Uuid;

use crate::db::Pool;
use crate::db::schema::idempotency_keys as keys;
use crate::error::ApiError;
use crate::http::response::{Versioned, to_json};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// SHA-256 of the raw request body, left in the request's extensions by `JsonBody`.
#[derive(Clone)]
pub struct BodyDigest(pub Vec<u8>);

/// What a successful create answers: 201, `Location`, the object and its ETag (or, for a
/// batch, 200 and the answers).
pub struct Created {
    status: StatusCode,
    location: String,
    body: Vec<u8>,
    etag: String,
    /// What a replay answers, when it must differ from the first answer (a secret shown
    /// once is never stored).
    replay: Option<Vec<u8>>,
}

impl Created {
    pub fn new<T: Serialize + Versioned>(location: String, value: &T) -> Result<Self, ApiError> {
        let body = to_json(value)?;
        Ok(Created {
            status: StatusCode::CREATED,
            location,
            etag: value.etag(&body)?,
            body,
            replay: None,
        })
    }

    /// 200 with `value`, neither `Location` nor `ETag` (a batch's answers).
    pub fn ok<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        Ok(Created {
            status: StatusCode::OK,
            location: String::new(),
            etag: String::new(),
            body: to_json(value)?,
            replay: None,
        })
    }

    /// Replays of this answer show `value` instead (the object without its secret).
    pub fn replayed_as<T: Serialize>(mut self, value: &T) -> Result<Self, ApiError> {
        self.replay = Some(to_json(value)?);
        Ok(self)
    }

    pub fn into_response(self) -> HttpResponse {
        answer(self.status, &self.location, &self.etag, self.body)
    }
}

fn answer(status: StatusCode, location: &str, etag: &str, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if !location.is_empty() {
        response.insert_header((header::LOCATION, location));
    }
    if !etag.is_empty() {
        response.insert_header((header::ETAG, etag));
    }
    response.content_type("application/json").body(body)
}

type Transactions = <AsyncPgConnection as AsyncConnection>::TransactionManager;

/// Runs `create` in one transaction with the `Idempotency-Key` claim (when the request has
/// one) and the answer saved for replays, and answers what it made (201; 200 for a
/// batch). A crash or failure anywhere leaves nothing: no object, no claim. A retry with
/// the same key and body made while the first is running waits for it (the claim's row
/// lock), then replays its answer; the same key with another body is a 422. The model is zero2prod's `idempotency/persistence.rs`.
pub async fn once<F>(
    req: &HttpRequest,
    pool: &Pool,
    caller: Option<Uuid>,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<Created, ApiError>,
{
    let key = match req.headers().get(&IDEMPOTENCY_KEY) {
        None => None,
        Some(key) => Some(
            key.to_str()
                .ok()
                .filter(|k| (1..=255).contains(&k.len()))
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                    )
                })?
                .to_owned(),
        ),
    };
    let claim = key.map(|key| Claim {
        key,
        principal: caller.unwrap_or(Uuid::nil()),
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
        digest: req
            .extensions()
            .get::<BodyDigest>()
            .map(|d| d.0.clone())
            .unwrap_or_default(),
    });
    let mut conn = crate::db::conn(pool).await?;
    if claim.is_some() {
        diesel::delete(keys::table.filter(keys::created_at.lt(Utc::now() - Duration::hours(24))))
            .execute(&mut conn)
            .await?;
    }
    Transactions::begin_transaction(&mut *conn).await?;
    let outcome = async {
        if let Some(claim) = &claim
            && let Some(replay) = claim.take(&mut conn).await?
        {
            return Ok(replay);
        }
        let created = create(&mut conn).await?;
        if let Some(claim) = &claim {
            claim.save(&mut conn, &created).await?;
        }
        Ok(created.into_response())
    }
    .await;
    match outcome {
        Ok(response) => {
            Transactions::commit_transaction(&mut *conn).await?;
            Ok(response)
        }
        Err(error) => {
            let _ = Transactions::rollback_transaction(&mut *conn).await;
            Err(error)
        }
    }
}

/// One caller's use of one key for one request.
struct Claim {
    key: String,
    principal: Uuid,
    method: String,
    path: String,
    digest: Vec<u8>,
}

impl Claim {
    /// Claims the key (`None`: go on and create), or answers what its first use answered.
    async fn take(&self, conn: &mut AsyncPgConnection) -> Result<Option<HttpResponse>, ApiError> {
        let claimed = diesel::insert_into(keys::table)
            .values((
                keys::key.eq(&self.key),
                keys::principal.eq(self.principal),
                keys::method.eq(&self.method),
                keys::path.eq(&self.path),
                keys::body_hash.eq(&self.digest),
                keys::status.eq(CLAIMED),
                keys::body.eq(Vec::<u8>::new()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        // Taken, and committed (a claim in flight held this insert until it ended).
        let (path, digest, status, location, etag, body): (
            String,
            Vec<u8>,
            i16,
            Option<String>,
            Option<String>,
            Vec<u8>,
        ) = keys::table
            .find((self.principal, &self.key))
            .select((
                keys::path,
                keys::body_hash,
                keys::status,
                keys::location,
                keys::etag,
                keys::body,
            ))
            .first(conn)
            .await?;
        if path != self.path || digest != self.digest {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        let status = StatusCode::from_u16(status as u16)
            .map_err(|e| ApiError::Internal(format!("a stored answer's status: {e}")))?;
        let mut replayed = answer(
            status,
            &location.unwrap_or_default(),
            &etag.unwrap_or_default(),
            body,
        );
        // Says it is the first answer again, not a second creation (as Stripe's does).
        replayed.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderValue::from_static("true"),
        );
        Ok(Some(replayed))
    }

    /// Keeps the answer for replays, in the transaction that made it.
    async fn save(&self, conn: &mut AsyncPgConnection, created: &Created) -> Result<(), ApiError> {
        diesel::update(keys::table.find((self.principal, &self.key)))
            .set((
                keys::status.eq(created.status.as_u16() as i16),
                keys::location.eq(&created.location),
                keys::etag.eq(&created.etag),
                keys::body.eq(created.replay.as_ref().unwrap_or(&created.body)),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// The status of a claim until its answer is saved (never seen by anyone else: both are
/// written in one transaction).
const CLAIMED: i16 = 0;
