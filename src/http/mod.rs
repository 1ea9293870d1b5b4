//! What every resource's handlers share: extractors, answers, paging, the role guard,
//! input checks, and the middleware that observes every request.
pub mod auth;
pub mod body;
pub mod cache;
pub mod encoding;
pub mod idempotency;
pub mod inner;
pub mod observe;
pub mod pagination;
pub mod response;
pub mod routes;
pub mod slugged;
pub mod validate;

use actix_web::{HttpRequest, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::state::AppState;

/// The origins `LEDE_CORS_ORIGINS` names (comma-separated), or `None` for `*` (any).
pub fn cors_origins(setting: &str) -> Option<Vec<&str>> {
    (setting.trim() != "*").then(|| {
        setting
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect()
    })
}

/// The absolute URL prefix for links: `LEDE_PUBLIC_URL` when set, else the address lede
/// serves on (or what a trusted proxy says, checked; see `origin`).
pub fn base_url(req: &HttpRequest) -> String {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.origin.base(req),
        None => String::new(),
    }
}

/// Where clients fetch stored files from, for this request.
pub fn media_urls(req: &HttpRequest) -> crate::media::storage::MediaUrls {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.storage.urls_at(&state.origin.base(req)),
        None => crate::media::storage::MediaUrls::placeholder(),
    }
}

/// A point in time, written as RFC 3339 in UTC with a `Z`, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|_| {
                serde::de::Error::custom(
                    "expected an RFC 3339 timestamp such as 2025-10-28T09:30:00Z",
                )
            })
    }
}

/// Writes a row's time as a `Timestamp` (for rows that are their own answer).
pub fn serialize_time<S: Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    Timestamp(*time).serialize(serializer)
}

/// `serialize_time` for a time that may be absent.
pub fn serialize_time_opt<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    time.map(Timestamp).serialize(serializer)
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Timestamp(time)
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 timestamp in UTC"))
            .examples([serde_json::json!("2025-10-28T09:30:00Z")])
            .into()
    }
}

impl ToSchema for Timestamp {}

/// Reads a merge-patch field: absent stays `None` (keep), `null` is `Some(None)` (clear),
/// a value is `Some(Some(v))` (set). Use with `#[serde(default)]`.
pub fn patch_field<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
