//! `Idempotency-Key` for POST: a retry with the same key and body replays the first
//! answer instead of creating twice. Keys are kept for 24 hours, per caller.
use std::future::Future;

use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use uuid::Uuid;

use crate::db::Pool;
use crate::db::schema::idempotency_keys as keys;
use crate::error::ApiError;
use crate::http::response::{etag_of, to_json};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// SHA-256 of the raw request body, left in the request's extensions by `JsonBody`.
#[derive(Clone)]
pub struct BodyDigest(pub Vec<u8>);

/// What a successful create answers: 201, `Location` and the object.
pub struct Created {
    location: String,
    body: Vec<u8>,
}

impl Created {
    pub fn new<T: Serialize>(location: String, value: &T) -> Result<Self, ApiError> {
        Ok(Created {
            location,
            body: to_json(value)?,
        })
    }

    pub fn into_response(self) -> HttpResponse {
        HttpResponse::Created()
            .insert_header((header::LOCATION, self.location))
            .insert_header((header::ETAG, etag_of(&self.body)))
            .content_type("application/json")
            .body(self.body)
    }
}

/// Marks a claimed key whose first request has not finished yet.
const IN_PROGRESS: i16 = 0;

/// Runs `create` once per `Idempotency-Key` (when the request has one) and answers 201.
pub async fn once<F, Fut>(
    req: &HttpRequest,
    pool: &Pool,
    caller: Option<Uuid>,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Created, ApiError>>,
{
    let Some(key) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(create().await?.into_response());
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?
        .to_owned();
    let principal = caller.unwrap_or(Uuid::nil());
    let digest = req
        .extensions()
        .get::<BodyDigest>()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    let path = req.path().to_owned();

    let mut conn = crate::db::conn(pool).await?;
    diesel::delete(
        keys::table.filter(keys::created_at.lt(chrono::Utc::now() - chrono::Duration::hours(24))),
    )
    .execute(&mut conn)
    .await?;
    let claimed = diesel::insert_into(keys::table)
        .values((
            keys::key.eq(&key),
            keys::principal.eq(principal),
            keys::method.eq(req.method().as_str()),
            keys::path.eq(&path),
            keys::body_hash.eq(&digest),
            keys::status.eq(IN_PROGRESS),
            keys::body.eq(Vec::<u8>::new()),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    if claimed == 0 {
        let (stored_path, stored_hash, status, location, body): (
            String,
            Vec<u8>,
            i16,
            Option<String>,
            Vec<u8>,
        ) = keys::table
            .find((principal, &key))
            .select((
                keys::path,
                keys::body_hash,
                keys::status,
                keys::location,
                keys::body,
            ))
            .first(&mut conn)
            .await?;
        if stored_path != path || stored_hash != digest {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        if status == IN_PROGRESS {
            return Err(ApiError::Conflict {
                detail: "a request with this Idempotency-Key is still being processed".into(),
                errors: Vec::new(),
            });
        }
        return Ok(Created {
            location: location.unwrap_or_default(),
            body,
        }
        .into_response());
    }
    drop(conn);

    match create().await {
        Ok(created) => {
            let mut conn = crate::db::conn(pool).await?;
            diesel::update(keys::table.find((principal, &key)))
                .set((
                    keys::status.eq(201_i16),
                    keys::location.eq(&created.location),
                    keys::body.eq(&created.body),
                ))
                .execute(&mut conn)
                .await?;
            Ok(created.into_response())
        }
        Err(error) => {
            // A failed request may be retried with the same key.
            if let Ok(mut conn) = crate::db::conn(pool).await {
                let _ = diesel::delete(keys::table.find((principal, &key)))
                    .execute(&mut conn)
                    .await;
            }
            Err(error)
        }
    }
}
