//! The documented routes, read from the OpenAPI document: which methods a path answers (405
//! with `Allow`), which query parameters an operation takes (any other is a 400, so a typo
//! or axios's `tag[]=` never silently returns an unfiltered list), and HEAD wherever GET is.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::error::ApiError;
use crate::state::AppState;

/// The longest query string taken (a list's parameters fit many times over).
const MAX_QUERY: usize = 4096;

/// Answers HEAD as GET without the body (the HTTP layer leaves the body out for a HEAD
/// request), and refuses what no operation takes: query parameters it does not document, a
/// query string longer than any it needs, and NUL anywhere in the URL.
pub async fn check_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    if let Some(problem) = refusal(&req) {
        return Ok(req.error_response(problem).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn refusal(req: &ServiceRequest) -> Option<ApiError> {
    let query = req.query_string();
    let bad = |detail: String| Some(ApiError::BadRequest(detail));
    if query.len() > MAX_QUERY {
        return bad(format!("the query string is longer than {MAX_QUERY} bytes"));
    }
    let nul = |text: &str| text.contains('\0') || text.to_ascii_lowercase().contains("%00");
    if nul(req.path()) || nul(query) {
        return bad("the URL contains a NUL character".into());
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    // The path as the router matches it (`%61rticles` is `articles`).
    let path = req.match_info().as_str();
    let name = state.routes.unknown_parameter(req.method(), path, query)?;
    bad(format!(
        "unknown query parameter `{}`; see the operation's parameters in /docs",
        name.chars().take(100).collect::<String>()
    ))
}
