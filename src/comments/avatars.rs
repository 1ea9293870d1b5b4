//! Commenters' pictures, served by lede: an identicon drawn from a keyed hash of the email.
//! The key is a server secret kept in the database (`lede_meta`, made on first start), so
//! no public value lets anyone confirm a guessed email, and no reader's browser calls a
//! third party. Gravatar only where `LEDE_GRAVATAR=true`.
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::error::ApiError;

/// A 5x5 mirrored pattern in one colour, drawn from the 16 bytes of `hash`.
fn identicon(hash: &[u8; 16]) -> String {
    let hue = u16::from_be_bytes([hash[0], hash[1]]) % 360;
    let mut cells = String::new();
    for row in 0..5 {
        for col in 0..3 {
            let bit = row * 3 + col;
            if hash[2 + bit / 8] >> (bit % 8) & 1 == 1 {
                for x in [col, 4 - col] {
                    cells.push_str(&format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\"/>",
                        x, row
                    ));
                }
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"-0.5 -0.5 6 6\" width=\"96\" height=\"96\">\
         <rect x=\"-0.5\" y=\"-0.5\" width=\"6\" height=\"6\" fill=\"#f2f2f2\"/>\
         <g fill=\"hsl({hue} 55% 50%)\" shape-rendering=\"crispEdges\">{cells}</g></svg>"
    )
}

/// Get a commenter's picture
///
/// The identicon that a comment's `avatar_url` points at: an SVG drawn from a keyed hash of
/// the commenter's email (the hash tells nothing about the email without the server's
/// secret). The same name always answers the same picture.
#[utoipa::path(
    tag = "comments", operation_id = "get_avatar",
    params(("name" = String, Path, description = "32 hex digits and `.svg`, as in `avatar_url`",
        example = "5f6e0c3b9a7d4e21b8c0f1a2d3e4b5c6.svg", pattern = r"^[0-9a-f]{32}\.svg$")),
    responses((status = 200, description = "The picture", content_type = "image/svg+xml", body = String,
        headers(("Cache-Control" = String, description = "Kept for a year: a name never shows another picture"),
                ("ETag" = String, description = "Strong ETag of the picture")))),
    security(())
)]
#[get("/avatars/{name}")]
pub async fn get_avatar(
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no avatar `{name}`"));
    let hex = name.strip_suffix(".svg").ok_or_else(not_found)?;
    let hash: [u8; 16] = hex::decode(hex)
        .ok()
        .filter(|_| {
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(not_found)?;
    let etag = format!("\"{hex}\"");
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    if crate::http::response::none_match_has(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        // Drawn here from hex digits only; still, nothing in it may run.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(identicon(&hash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_stable() {
        assert_eq!(identicon(&[7; 16]), identicon(&[7; 16]));
        assert_ne!(identicon(&[7; 16]), identicon(&[8; 16]));
    }
}
