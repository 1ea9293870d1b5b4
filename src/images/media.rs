//! `GET /media/{key}`: stored image files. Keys are content-addressed, so answers are
//! cacheable forever; `If-None-Match` and single `Range` requests are honoured.
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use object_store::GetRange;

use crate::error::ApiError;
use crate::http::response::{etag_of, none_match_has};
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A media file
///
/// An image's original or variant, as linked from its `url` and `variants[].url`.
/// Cached for a year (`immutable`); supports `If-None-Match` and single byte ranges.
#[utoipa::path(
    tag = "images", operation_id = "get_media",
    params(("key" = String, Path, description = "The file's key, as in the image's URLs", example = "images/3f/3f9a0c.../w640.jpg"),
           ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String, description = "Strong ETag of the file"), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("Content-Range" = String, description = "`bytes start-end/size`"))),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 416, description = "The range is outside the file", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/media/{key:.*}")]
pub async fn get_media(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    if !is_media_key(&key) {
        return Err(ApiError::NotFound(format!("no media file `{key}`")));
    }
    let etag = etag_of(key.as_bytes());
    if none_match_has(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish());
    }
    let range = match req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => parse_range(value),
        None => None,
    };
    let Some(found) = state.storage.get(&key, None).await? else {
        return Err(ApiError::NotFound(format!("no media file `{key}`")));
    };
    let size = found.meta.size;
    let content_type = mime_of(&key);
    let (status, result, content_range) = match range {
        Some(requested) => {
            let Some((start, end)) = requested.resolve(size) else {
                return Err(ApiError::RangeNotSatisfiable { size });
            };
            drop(found);
            let part = state
                .storage
                .get(&key, Some(GetRange::Bounded(start..end + 1)))
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no media file `{key}`")))?;
            (
                actix_web::http::StatusCode::PARTIAL_CONTENT,
                part,
                Some(format!("bytes {start}-{end}/{size}")),
            )
        }
        None => (actix_web::http::StatusCode::OK, found, None),
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        // Images are compressed already; this also keeps byte ranges meaningful.
        .insert_header((header::CONTENT_ENCODING, "identity"));
    if let Some(content_range) = content_range {
        response.insert_header((header::CONTENT_RANGE, content_range));
    }
    // One read (a single blocking call for local files) beats streaming small chunks, each
    // its own blocking task; files are at most a few megabytes.
    let bytes = crate::media::storage::read_all(result).await?;
    Ok(response.body(bytes))
}

/// Only keys lede writes: `images/` then plain segments. Rules out `..`, empty segments,
/// absolute paths and encoded tricks, so nothing outside the store can be named.
fn is_media_key(key: &str) -> bool {
    key.starts_with("images/")
        && key.len() < 300
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        })
}

fn mime_of(key: &str) -> HeaderValue {
    HeaderValue::from_static(match key.rsplit('.').next() {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        _ => "application/octet-stream",
    })
}

/// One byte range of a `Range` header (several ranges are served whole, as RFC 9110 allows).
#[derive(Debug, PartialEq)]
enum ByteRange {
    From(u64),
    FromTo(u64, u64),
    Last(u64),
}

impl ByteRange {
    /// Inclusive start and end within a file of `size` bytes, or `None` if unsatisfiable.
    fn resolve(&self, size: u64) -> Option<(u64, u64)> {
        match *self {
            ByteRange::From(start) if start < size => Some((start, size - 1)),
            ByteRange::FromTo(start, end) if start < size && start <= end => {
                Some((start, end.min(size - 1)))
            }
            ByteRange::Last(n) if n > 0 && size > 0 => Some((size.saturating_sub(n), size - 1)),
            _ => None,
        }
    }
}

fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    match (start.trim(), end.trim()) {
        ("", n) => n.parse().ok().map(ByteRange::Last),
        (s, "") => s.parse().ok().map(ByteRange::From),
        (s, e) => Some(ByteRange::FromTo(s.parse().ok()?, e.parse().ok()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_leave_the_store() {
        assert!(is_media_key("images/ab/abcdef/w640.jpg"));
        for bad in [
            "../etc/passwd",
            "images/../x",
            "images//x",
            "images/.hidden",
            "images/a/%2e%2e/x",
            "/images/x",
            "other/x",
        ] {
            assert!(!is_media_key(bad), "{bad}");
        }
    }

    #[test]
    fn ranges_parse_and_resolve() {
        assert_eq!(parse_range("bytes=0-99"), Some(ByteRange::FromTo(0, 99)));
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100)));
        assert_eq!(parse_range("bytes=-10"), Some(ByteRange::Last(10)));
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(ByteRange::FromTo(0, 999).resolve(100), Some((0, 99)));
        assert_eq!(ByteRange::From(100).resolve(100), None);
        assert_eq!(ByteRange::Last(500).resolve(100), Some((0, 99)));
    }
}
