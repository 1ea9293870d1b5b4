//! Content codings: which one a client takes (`Accept-Encoding`, every line, with q-values),
//! and a guard that keeps the compression middleware from answering a client that refuses
//! every coding with its plain-text 406: such a client gets the answer uncompressed.
use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;

/// The q-value the client gives `coding` (by name, else by `*`; 0 when not listed).
fn q_value(headers: &HeaderMap, coding: &str) -> f32 {
    let mut wildcard = 0.0;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            wildcard = q;
        }
    }
    wildcard
}

/// `br` or `gzip`, whichever the client prefers (brotli on a tie), or `None` for neither.
pub fn preferred(headers: &HeaderMap) -> Option<&'static str> {
    let (br, gzip) = (q_value(headers, "br"), q_value(headers, "gzip"));
    if br > 0.0 && br >= gzip {
        Some("br")
    } else if gzip > 0.0 {
        Some("gzip")
    } else {
        None
    }
}

/// Outermost: a client that takes none of the codings lede makes gets identity (RFC 9110
/// allows it), not the compression middleware's plain-text 406.
pub async fn identity_when_nothing_fits(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let headers = req.headers();
    if headers.contains_key(header::ACCEPT_ENCODING)
        && ["br", "gzip", "zstd", "deflate"]
            .iter()
            .all(|coding| q_value(headers, coding) <= 0.0)
    {
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut req = TestRequest::default();
        for value in values {
            req = req.append_header((header::ACCEPT_ENCODING, *value));
        }
        req.to_http_request().headers().clone()
    }

    #[test]
    fn the_preferred_coding_follows_q_values_on_every_line() {
        assert_eq!(preferred(&headers(&["gzip, deflate, br"])), Some("br"));
        assert_eq!(preferred(&headers(&["br;q=0.1, gzip;q=1"])), Some("gzip"));
        assert_eq!(preferred(&headers(&["gzip;q=1, br;q=0"])), Some("gzip"));
        assert_eq!(preferred(&headers(&["identity", "gzip"])), Some("gzip"));
        assert_eq!(preferred(&headers(&["*"])), Some("br"));
        assert_eq!(preferred(&headers(&["*;q=0"])), None);
        assert_eq!(preferred(&headers(&["identity"])), None);
        assert_eq!(preferred(&headers(&[])), None);
    }
}
