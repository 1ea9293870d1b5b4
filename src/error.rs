//! `ApiError`: the one way a request fails. Each variant maps to a status and an RFC 9457
//! `application/problem+json` body; `http::observe` adds `request_id`, `instance` and the
//! absolute `type` URL on the way out.
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::DatabaseErrorKind;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"field": "slug", "code": "invalid_format", "message": "slug may only hold a-z, 0-9 and single dashes"}))]
pub struct FieldError {
    /// The field's name (dotted for nested ones), or `null` for the body as a whole.
    pub field: Option<String>,
    /// A stable, machine-readable reason: `required`, `invalid_type`, `unknown_field`,
    /// `too_long`, `invalid_format`, `taken`, ...
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: Some(field.to_owned()),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document: the body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://api.example.com/docs/errors#validation",
    "title": "Validation failed",
    "status": 422,
    "detail": "1 field is invalid",
    "instance": "/api/v1/authors",
    "request_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11",
    "errors": [{"field": "name", "code": "required", "message": "name is required"}]
}))]
pub struct Problem {
    /// A URL naming the kind of problem; its fragment is a stable identifier.
    #[serde(rename = "type")]
    pub type_url: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path that failed.
    pub instance: String,
    /// The request's `X-Request-Id`, to quote when reporting a problem.
    pub request_id: String,
    /// Each invalid field, for validation problems; empty otherwise.
    pub errors: Vec<FieldError>,
}

/// The status-independent part of a problem, stashed in the response's extensions so the
/// outermost middleware can finish the document with what only it knows.
#[derive(Debug, Clone)]
pub struct ProblemDraft {
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    #[error("{detail}")]
    Conflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("the resource changed since it was read (If-Match does not match its ETag)")]
    PreconditionFailed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the requested range is outside the file ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{} invalid", count_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A batch's operation `index` failed with `error` (nothing of the batch was applied).
    #[error("operation {index} failed: {error}")]
    InOperation { index: usize, error: Box<ApiError> },
}

/// An error with its causes, in one line (a transport error's own message names only the
/// URL: the refused connection or the timeout is in its causes).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn count_fields(errors: &[FieldError]) -> String {
    match errors.len() {
        1 => "1 field is".to_owned(),
        n => format!("{n} fields are"),
    }
}

impl ApiError {
    pub fn not_found(what: &str, key: &str) -> Self {
        ApiError::NotFound(format!("no {what} with id or slug `{key}`"))
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Conflict {
            detail: message.clone(),
            errors: vec![FieldError::new(field, "taken", message)],
        }
    }

    /// Stable identifier (the `type` URL's fragment) and title of each kind of problem.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::PreconditionFailed => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::RangeNotSatisfiable { .. } => {
                ("range-not-satisfiable", "Range not satisfiable")
            }
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Validation(_) => ("validation", "Validation failed"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
            ApiError::InOperation { error, .. } => error.kind(),
        }
    }

    /// The error itself, out of the batch operation it failed in.
    fn innermost(&self) -> &ApiError {
        match self {
            ApiError::InOperation { error, .. } => error.innermost(),
            other => other,
        }
    }

    pub fn draft(&self) -> ProblemDraft {
        if let ApiError::InOperation { index, error } = self {
            // Named from the batch request: `operations[2].body.title`.
            let mut draft = error.draft();
            draft.detail = format!("operation {index} failed: {}", draft.detail);
            for field in &mut draft.errors {
                field.field = Some(match field.field.take() {
                    Some(name) => format!("operations[{index}].{name}"),
                    None => format!("operations[{index}]"),
                });
            }
            return draft;
        }
        let (kind, title) = self.kind();
        let detail = match self {
            // The cause is logged, never sent: it may hold internals.
            ApiError::Internal(_) => {
                "an unexpected error occurred; quote the request_id when reporting it".to_owned()
            }
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation(errors) | ApiError::Conflict { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        ProblemDraft {
            kind,
            title,
            detail,
            errors,
        }
    }
}

/// A draft for an error that did not come from an `ApiError` (e.g. a middleware's).
pub fn draft_for_status(status: StatusCode) -> ProblemDraft {
    let error = match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required".into()),
        StatusCode::FORBIDDEN => ApiError::Forbidden("this request is not allowed".into()),
        StatusCode::NOT_FOUND => ApiError::NotFound("no such resource".into()),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("the request body is too large".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("unsupported content type".into())
        }
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable("try again shortly".into()),
        s if s.is_client_error() => ApiError::BadRequest(
            s.canonical_reason()
                .unwrap_or("the request was rejected")
                .to_owned(),
        ),
        _ => ApiError::Internal(String::new()),
    };
    error.draft()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::InOperation { error, .. } => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self.innermost() {
            tracing::error!(cause = %cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self.innermost() {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            ApiError::RangeNotSatisfiable { size } => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            _ => {}
        }
        let mut response = response.finish();
        response.extensions_mut().insert(self.draft());
        response
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::Error as E;
        match &error {
            E::NotFound => ApiError::NotFound("no such resource".into()),
            // Something still refers to the row (a write raced the check made before it).
            E::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => ApiError::Conflict {
                detail: "other records still refer to this one; try again".into(),
                errors: Vec::new(),
            },
            // A write that can meet a unique constraint maps it where it is made
            // (`OnConstraint`): one that reaches here is a bug, logged as a 500.
            E::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ApiError::Internal(format!(
                    "unexpected unique violation of {}: {error}",
                    info.constraint_name().unwrap_or("an unnamed constraint")
                ))
            }
            E::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
                _,
            ) => ApiError::Unavailable("the database connection was lost; try again".into()),
            // Two transactions that had to wait on each other: one is cancelled, and may
            // simply be sent again.
            E::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable("a concurrent change got in the way; try again".into())
            }
            E::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("deadlock detected") =>
            {
                tracing::warn!(%error, "deadlock");
                ApiError::Unavailable("a concurrent change got in the way; try again".into())
            }
            // A text value Postgres cannot store (a NUL character) is the request's fault.
            E::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("invalid byte sequence") =>
            {
                ApiError::BadRequest(
                    "a text value holds a character that cannot be stored (NUL)".into(),
                )
            }
            E::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("statement timeout") =>
            {
                tracing::warn!(%error, "a statement ran past LEDE_STATEMENT_TIMEOUT_MS");
                ApiError::Unavailable("the database took too long to answer; try again".into())
            }
            E::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_connection_loss(info.message()) =>
            {
                ApiError::Unavailable("the database connection was lost; try again".into())
            }
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

/// Messages Postgres sends when it ends a session (shutdown, `pg_terminate_backend`).
fn is_connection_loss(message: &str) -> bool {
    message.contains("terminating connection")
        || message.contains("the database system is shutting down")
        || message.contains("connection closed")
}

/// Maps the unique constraints a write can meet, by name, where the write is made (the
/// model is launchbadge's realworld `on_constraint`).
pub trait OnConstraint<T> {
    /// A violation of one of `constraints` (`(constraint name, request field)`) is a 409
    /// naming that field; every other error is mapped as usual.
    fn on_unique(self, constraints: &[(&str, &'static str)]) -> Result<T, ApiError>;
}

impl<T> OnConstraint<T> for Result<T, diesel::result::Error> {
    fn on_unique(self, constraints: &[(&str, &'static str)]) -> Result<T, ApiError> {
        self.map_err(|error| {
            if let diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) =
                &error
                && let Some((_, field)) = constraints
                    .iter()
                    .find(|(name, _)| info.constraint_name() == Some(*name))
            {
                return ApiError::conflict(field, format!("this {field} is already taken"));
            }
            ApiError::from(error)
        })
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(%error, "no database connection");
        ApiError::Unavailable("the database is unreachable; try again shortly".into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable("the server is overloaded; try again shortly".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Violated(&'static str);

    impl diesel::result::DatabaseErrorInformation for Violated {
        fn message(&self) -> &str {
            "duplicate key value violates unique constraint"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some(self.0)
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn violation(constraint: &'static str) -> Result<(), diesel::result::Error> {
        Err(diesel::result::Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Violated(constraint)),
        ))
    }

    #[test]
    fn unique_violations_are_named_where_the_write_is_made() {
        let known = [("authors_slug_key", "slug"), ("authors_email_key", "email")];
        match violation("authors_email_key").on_unique(&known) {
            Err(ApiError::Conflict { errors, .. }) => {
                assert_eq!(errors[0].field.as_deref(), Some("email"))
            }
            other => panic!("{other:?}"),
        }
        // A constraint the write did not expect is a bug: a logged 500, not "slug taken".
        assert!(matches!(
            violation("tags_slug_key").on_unique(&known),
            Err(ApiError::Internal(_))
        ));
        assert!(matches!(
            ApiError::from(violation("authors_slug_key").unwrap_err()),
            ApiError::Internal(_)
        ));
    }
}
