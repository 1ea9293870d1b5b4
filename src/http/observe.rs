//! The outermost middleware: gives every request an id, logs one line per request,
//! records Prometheus metrics, and makes sure every error answer is a complete
//! problem+json document, whoever produced it (handler, extractor, CORS, router).
use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use tracing::Instrument;

use crate::error::{PROBLEM_JSON, Problem, ProblemDraft, draft_for_status};
use crate::http::base_url;

#[cfg(test)]
mod tests {
    #[test]
    fn preview_tokens_stay_out_of_the_log() {
        assert_eq!(
            super::loggable("/api/v1/preview/AZMs.k3cR"),
            "/api/v1/preview/(token)"
        );
        assert_eq!(super::loggable("/api/v1/articles/a"), "/api/v1/articles/a");
        // An article called `preview` is not a token.
        assert_eq!(
            super::loggable("/api/v1/articles/preview/related"),
            "/api/v1/articles/preview/related"
        );
    }

    #[test]
    fn a_path_cannot_forge_a_log_line() {
        assert_eq!(
            super::loggable("/api/v1/articles/x\nFAKE LINE\u{0}\r"),
            "/api/v1/articles/x\\nFAKE LINE\\u{0}\\r"
        );
    }

    #[test]
    fn secrets_are_left_out_whatever_the_path_looks_like() {
        let preview = format!("{}.{}", "AaJN".repeat(14), "k3cR".repeat(11));
        for path in [
            format!("/api/v1//preview/{preview}"),
            format!("/api/v1/PREVIEW/{preview}"),
            format!("/x/{preview}/y"),
            format!("/api/v1/preview%2F{preview}"),
            "/api/v1/tokens/lede_0123456789abcdefABCDEF".to_owned(),
            format!("/x/v1.{preview}.json"),
            "/x/Xlede_0123456789abcdefABCDEF".to_owned(),
        ] {
            let logged = super::loggable(&path);
            assert!(logged.contains("(token)"), "{path} logged as {logged}");
            assert!(!logged.contains("AaJNAaJN") && !logged.contains("0123456789abcdef"));
        }
        // What is not secret stays readable.
        for path in [
            "/media/2026/12/harbour-at-dawn.w640.webp",
            "/api/v1/articles/0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b/comments",
            "/api/v1/articles/a-very-long-slug-about-the-last-night-tram-of-the-winter",
        ] {
            assert_eq!(super::loggable(path), path);
        }
    }
}

/// Preview answers, whatever they are (the draft, a 404, a 400 for a stray parameter).
const PREVIEW: &str = "/api/v1/preview/";

/// A path (as the router decodes it: `%70review` is `preview`) as the access log keeps it,
/// control characters escaped.
/// Secrets are left out by what they look like, wherever they stand (a path that misses
/// every route included): a preview token (`<base64url>.<base64url>`: whoever reads the log
/// could open the draft) or an API token (`lede_...`).
fn loggable(path: &str) -> String {
    if path.starts_with(PREVIEW) {
        return format!("{PREVIEW}(token)");
    }
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while !rest.is_empty() {
        let run = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(rest.len());
        let (word, after) = rest.split_at(run);
        if looks_secret(word) {
            out.push_str("(token)");
        } else {
            out.push_str(word);
        }
        let Some(separator) = after.chars().next() else {
            break;
        };
        // A decoded `%0A` or `%00` would start a forged line or make the log binary.
        if separator.is_control() {
            out.extend(separator.escape_default());
        } else {
            out.push(separator);
        }
        rest = &after[separator.len_utf8()..];
    }
    out
}

/// Whether a run of URL-safe characters holds a token: an API token's prefix anywhere, or
/// two long parts side by side among its dot-separated ones (a preview token is two
/// base64url parts; a file name's extension is short, an id or slug has no dot).
fn looks_secret(word: &str) -> bool {
    const LONG: usize = 16;
    let parts: Vec<&str> = word.split('.').collect();
    word.contains("lede_")
        || parts
            .windows(2)
            .any(|pair| pair[0].len() >= LONG && pair[1].len() >= LONG)
}

/// Every answer under a preview link is for one person's browser only: never kept (by
/// a browser, a CDN or lede), never indexed, and its URL never sent on as a `Referer`.
fn keep_private(response: &mut ServiceResponse<BoxBody>) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Requests answered since start, all routes together (for `system::memory`'s idea of quiet).
pub static ANSWERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, readable by handlers through the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // Invented methods are counted together: each would otherwise make metric series.
    let method = match req.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "other",
    }
    .to_owned();
    let path = loggable(req.match_info().as_str());
    let is_preview = req.match_info().as_str().starts_with(PREVIEW);
    let span = tracing::info_span!("request", request_id = %request_id);
    let started = Instant::now();

    // Handlers' and extractors' errors arrive here as responses; an `Err` can only come
    // from a middleware, and actix turns it into its `error_response()` (for `ApiError`s
    // a problem document, without the request id that only this layer knows).
    let response = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let own_body = response.response().extensions().contains::<OwnErrorBody>();
    let mut response = if response.status().as_u16() >= 400 && !own_body {
        finish_problem(response, &request_id)
    } else {
        response
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if is_preview {
        keep_private(&mut response);
    }

    let status = response.status().as_u16();
    let route = response
        .response()
        .extensions()
        .get::<RoutePattern>()
        .map(|r| r.0.clone())
        .or_else(|| response.request().match_pattern())
        .or_else(|| documented_route(&response))
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    ANSWERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    METRICS
        .requests
        .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
        .inc();
    METRICS
        .latency
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            target: "lede::access",
            %method,
            %path,
            %route,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
        )
    });
    Ok(response)
}

/// The route an answer belongs to, left in its extensions by whoever answered without the
/// router (the cache), so metrics need not match the path again.
#[derive(Clone, Debug)]
pub struct RoutePattern(pub String);

/// The documented route a path belongs to, for answers that never reached the router.
fn documented_route(response: &ServiceResponse<BoxBody>) -> Option<String> {
    let state = response
        .request()
        .app_data::<actix_web::web::Data<crate::state::AppState>>()?;
    let path = response.request().path();
    state
        .routes
        .find(path)
        .and_then(|route| route.def.pattern().map(str::to_owned))
}

/// Keeps a caller's id when it is short and plain (it is echoed into headers and logs).
fn is_sane_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Marks an error answer whose body is its protocol's own error (the MCP endpoint's
/// JSON-RPC error for a message it cannot read, with the field errors inside): kept as is.
pub struct OwnErrorBody;

/// Writes the final problem document: the draft an `ApiError` left in the response, or one
/// made from the status for errors from elsewhere, plus `request_id`, `instance` and `type`.
/// Headers already set (CORS, `Retry-After`, `Allow`) are kept.
fn finish_problem(
    response: ServiceResponse<BoxBody>,
    request_id: &str,
) -> ServiceResponse<BoxBody> {
    let (request, response) = response.into_parts();
    let status = response.status();
    let draft = response
        .extensions()
        .get::<ProblemDraft>()
        .cloned()
        .unwrap_or_else(|| draft_for_status(status));
    let problem = Problem {
        type_url: format!("{}/docs/errors#{}", base_url(&request), draft.kind),
        title: draft.title.to_owned(),
        status: status.as_u16(),
        detail: draft.detail,
        instance: request.path().to_owned(),
        request_id: request_id.to_owned(),
        errors: draft.errors,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = response.set_body(BoxBody::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::ETAG);
    ServiceResponse::new(request, response)
}

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
}

// Fixed names and labels, registered once: these cannot fail at run time (a unit test
// builds them).
#[allow(clippy::expect_used)]
static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new("lede_http_requests_total", "HTTP requests answered"),
        &["method", "route", "status"],
    )
    .expect("valid metric");
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "lede_http_request_duration_seconds",
            "Time to answer an HTTP request",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]),
        &["method", "route"],
    )
    .expect("valid metric");
    let pool = IntGaugeVec::new(
        Opts::new(
            "lede_db_pool_connections",
            "Database pool connections by state",
        ),
        &["state"],
    )
    .expect("valid metric");
    for metric in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(pool.clone()),
    ] {
        registry.register(metric).expect("metric registered once");
    }
    Metrics {
        registry,
        requests,
        latency,
        pool,
    }
});

/// The Prometheus text exposition of every metric, with the pool's state read now.
pub fn render_metrics(pool: &crate::db::Pool, queries: u64) -> String {
    let status = pool.status();
    let gauges = [
        ("max", status.max_size),
        ("open", status.size),
        ("idle", status.available),
        ("waiting", status.waiting),
    ];
    for (state, value) in gauges {
        METRICS
            .pool
            .with_label_values(&[state])
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    let mut buffer = Vec::new();
    let _ = prometheus::TextEncoder::new().encode(&METRICS.registry.gather(), &mut buffer);
    let mut text = String::from_utf8(buffer).unwrap_or_default();
    text.push_str(&format!(
        "# HELP lede_db_queries_total SQL statements run by the pool's connections\n\
         # TYPE lede_db_queries_total counter\n\
         lede_db_queries_total {}\n",
        queries
    ));
    text
}
