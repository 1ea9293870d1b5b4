//! An in-process cache of rendered public answers, keyed by URL. Every write through the API
//! makes all of them stale at once (a generation counter: coarse, but never wrong about
//! embedded objects such as a renamed author or an edited image), other nodes hear of it
//! through Postgres `NOTIFY`, and a scheduled article's publication instant expires them too.
//! Public answers carry `Cache-Control` so browsers and CDNs can keep them a little while.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse, web};
use chrono::Utc;
use tokio::sync::Notify;

use crate::AppState;

/// The Postgres channel writes are announced on.
pub const CHANNEL: &str = "lede_changes";
/// Entries and bytes kept at most; past either the cache is emptied (a cheap bound, refilled
/// on demand).
const MAX_ENTRIES: usize = 10_000;
const MAX_BYTES: usize = 128 * 1024 * 1024;
/// Answers larger than this are served but not kept.
const MAX_BODY: usize = 2 * 1024 * 1024;

pub struct ResponseCache {
    entries: Mutex<Entries>,
    /// Keys being rendered now: a burst of misses for one URL renders it once (the first
    /// request leads, the others wait for its answer).
    in_flight: Mutex<HashMap<String, Arc<Notify>>>,
    generation: AtomicU64,
    /// Unix microseconds of the next scheduled publication (`i64::MAX`: none; `i64::MIN`:
    /// unknown, look it up).
    next_publication: AtomicI64,
    ttl: Duration,
    /// `Cache-Control` of public answers.
    cache_control: HeaderValue,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
}

#[derive(Clone)]
struct Entry {
    generation: u64,
    expires: Instant,
    etag: HeaderValue,
    body: Bytes,
    /// `Link`, `X-Total-Count`: what a list answer carries besides its body.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The route pattern, for metrics of answers that skip the router.
    route: Option<String>,
}

impl ResponseCache {
    pub fn new(ttl_secs: u64, max_age: u64, stale_while_revalidate: u64) -> Self {
        let cache_control =
            format!("public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}");
        ResponseCache {
            entries: Mutex::new(Entries::default()),
            in_flight: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            next_publication: AtomicI64::new(i64::MIN),
            ttl: Duration::from_secs(ttl_secs),
            cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or(HeaderValue::from_static("no-cache")),
        }
    }

    /// Makes every kept answer stale (a write happened here or on another node).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.next_publication.store(i64::MIN, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.lock() {
            *entries = Entries::default();
        }
    }

    fn get(&self, key: &str) -> Option<Entry> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.map.get(key)?;
        (entry.generation == self.generation.load(Ordering::SeqCst)
            && entry.expires > Instant::now())
        .then(|| entry.clone())
    }

    /// Becomes the one request that renders `key`, or waits (a bounded time) for the one that
    /// does. `Some(guard)` means: render it, the guard wakes the others when dropped.
    async fn lead_or_wait(&self, key: &str) -> Option<Leader<'_>> {
        let notified = {
            let Ok(mut in_flight) = self.in_flight.lock() else {
                return None;
            };
            match in_flight.get(key) {
                Some(notify) => notify.clone(),
                None => {
                    in_flight.insert(key.to_owned(), Arc::new(Notify::new()));
                    return Some(Leader {
                        cache: self,
                        key: key.to_owned(),
                    });
                }
            }
        };
        let wait = notified.notified();
        tokio::pin!(wait);
        // Registered before checking again, so a leader finishing now still wakes us.
        wait.as_mut().enable();
        if self.in_flight.lock().is_ok_and(|m| m.contains_key(key)) {
            let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
        }
        None
    }

    fn put(&self, key: String, entry: Entry) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.map.len() >= MAX_ENTRIES || entries.bytes + entry.body.len() > MAX_BYTES {
                *entries = Entries::default();
            }
            entries.bytes += entry.body.len();
            if let Some(old) = entries.map.insert(key, entry) {
                entries.bytes -= old.body.len();
            }
        }
    }
}

struct Leader<'a> {
    cache: &'a ResponseCache,
    key: String,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.cache.in_flight.lock()
            && let Some(notify) = in_flight.remove(&self.key)
        {
            notify.notify_waiters();
        }
    }
}

/// Public, cacheable reads: GET without a token under /api/v1.
fn is_public_read(req: &ServiceRequest) -> bool {
    req.method() == Method::GET
        && req.path().starts_with("/api/v1/")
        && !req.headers().contains_key(header::AUTHORIZATION)
}

fn is_write(req: &ServiceRequest) -> bool {
    matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    )
}

/// Keeps the cache honest about scheduled articles: when the next publication instant has
/// passed, everything kept is stale. Returns false when the instant is unknown and could
/// not be looked up (then nothing is served from or put in the cache).
async fn publication_check(state: &AppState) -> bool {
    let cache = &state.cache;
    let now = Utc::now().timestamp_micros();
    let next = cache.next_publication.load(Ordering::SeqCst);
    if next != i64::MIN && now < next {
        return true;
    }
    if next != i64::MIN {
        // The instant came: what was kept may lack the article that is public now.
        cache.invalidate();
    }
    let generation = cache.generation.load(Ordering::SeqCst);
    match crate::articles::queries::next_publication(&state.pool).await {
        Ok(found) => {
            // Only if no write happened meanwhile (it would have reset the instant).
            if cache.generation.load(Ordering::SeqCst) == generation {
                let value = found.map_or(i64::MAX, |t| t.timestamp_micros());
                let _ = cache.next_publication.compare_exchange(
                    i64::MIN,
                    value,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
            true
        }
        Err(_) => false,
    }
}

pub async fn cache(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if is_write(&req) {
        let response = next.call(req).await?.map_into_boxed_body();
        if response.status().is_success() {
            state.cache.invalidate();
            announce(&state).await;
        }
        return Ok(response);
    }
    if !is_public_read(&req) || state.cache.ttl.is_zero() || !publication_check(&state).await {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    // The leader guard lives to the end of this function: waiters wake once it has kept
    // its answer (or failed).
    let (entry, _leader) = match state.cache.get(&key) {
        Some(entry) => (Some(entry), None),
        None => match state.cache.lead_or_wait(&key).await {
            Some(leader) => (None, Some(leader)),
            // Another request rendered it meanwhile (or gave up): use its answer if kept.
            None => (state.cache.get(&key), None),
        },
    };
    if let Some(entry) = entry {
        let etag = entry.etag.to_str().unwrap_or_default();
        let response = if crate::http::response::none_match_has(req.request(), etag) {
            HttpResponse::NotModified()
                .insert_header((header::ETAG, entry.etag.clone()))
                .insert_header((header::CACHE_CONTROL, state.cache.cache_control.clone()))
                .finish()
        } else {
            let mut builder = HttpResponse::Ok();
            builder
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .insert_header((header::ETAG, entry.etag.clone()))
                .insert_header((header::CACHE_CONTROL, state.cache.cache_control.clone()));
            for (name, value) in &entry.headers {
                builder.insert_header((name.clone(), value.clone()));
            }
            builder.body(entry.body.clone())
        };
        let mut response = response;
        if let Some(route) = entry.route {
            response
                .extensions_mut()
                .insert(crate::http::observe::RoutePattern(route));
        }
        return Ok(req.into_response(response));
    }

    let generation = state.cache.generation.load(Ordering::SeqCst);
    let mut response = next.call(req).await?.map_into_boxed_body();
    let cacheable = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    if cacheable {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, state.cache.cache_control.clone());
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::OK || !is_json {
        return Ok(response);
    }
    let Some(etag) = response.headers().get(header::ETAG).cloned() else {
        return Ok(response);
    };
    let headers: Vec<(HeaderName, HeaderValue)> =
        [header::LINK, HeaderName::from_static("x-total-count")]
            .into_iter()
            .filter_map(|name| response.headers().get(&name).cloned().map(|v| (name, v)))
            .collect();
    let route = response.request().match_pattern();
    let (request, http_response) = response.into_parts();
    let (head, body) = http_response.into_parts();
    let body = match actix_web::body::to_bytes_limited(body, MAX_BODY).await {
        Ok(Ok(bytes)) => bytes,
        // Too large to keep, or unreadable: answer without keeping it.
        _ => {
            return Ok(ServiceResponse::new(
                request,
                head.set_body(BoxBody::new(Bytes::new())),
            ));
        }
    };
    state.cache.put(
        key,
        Entry {
            generation,
            expires: Instant::now() + state.cache.ttl,
            etag,
            body: body.clone(),
            headers,
            route,
        },
    );
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(body)),
    ))
}

/// Tells the other nodes (and this one's listener) that something changed.
async fn announce(state: &AppState) {
    use diesel_async::RunQueryDsl;
    if let Ok(mut conn) = crate::db::conn(&state.pool).await {
        let _ = diesel::sql_query(format!("NOTIFY {CHANNEL}"))
            .execute(&mut conn)
            .await;
    }
}

/// Listens for writes made through other nodes and empties this node's cache when one is
/// announced. Reconnects by itself; while it is not connected the cache is bypassed... by
/// expiry: entries live `ttl` at most.
pub fn listen(state: web::Data<AppState>, database_url: String) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = listen_once(&state, &database_url).await {
                tracing::warn!(%error, "cache invalidation listener lost its connection; retrying");
            }
            state.cache.invalidate();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen_once(state: &web::Data<AppState>, database_url: &str) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let (client, mut connection) =
        tokio_postgres::connect(database_url, tokio_postgres::NoTls).await?;
    let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listener = state.clone();
    // The connection must be polled for LISTEN to be sent and notifications to arrive.
    let driver = tokio::spawn(async move {
        let mut messages = std::pin::pin!(messages);
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(_) = message {
                listener.cache.invalidate();
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    driver.await?;
    anyhow::bail!("notification stream ended")
}
