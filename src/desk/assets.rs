//! The desk's script and styles, in the binary: nothing is fetched from another host, and
//! nothing is built with another toolchain.
use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::page::DeskError;
use crate::error::ApiError;

/// `(name, content type, bytes)`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "desk.css",
        "text/css; charset=utf-8",
        include_str!("assets/desk.css"),
    ),
    (
        "preview.css",
        "text/css; charset=utf-8",
        include_str!("assets/preview.css"),
    ),
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/desk.js"),
    ),
];

pub async fn serve(name: web::Path<String>) -> Result<HttpResponse, DeskError> {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(n, _, _)| *n == name.as_str()) else {
        return Err(ApiError::NotFound(format!("the desk has no asset {name}")).into());
    };
    let mut response = HttpResponse::Ok()
        .content_type(*content_type)
        // Short: a new release's pages should not wait a day for its script.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(*body);
    response
        .extensions_mut()
        .insert(crate::http::cache::SameForEveryone);
    Ok(response)
}
