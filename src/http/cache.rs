//! An in-process cache of rendered public answers. Each kept answer records what it shows
//! (`article:<id>`, `author:<id>`, ..., and `articles` for a list of them, see `changes`);
//! a write drops exactly the answers that show what it changed, on this node at once and on
//! the others when its notification arrives at commit. Answers are kept compressed (brotli
//! and gzip, made once), bounded by bytes with eviction (moka: TinyLFU admission, so a
//! flood of one-off URLs does not push out what readers keep asking for).
//! Public answers carry `Cache-Control`, `Vary: Accept-Encoding` and `Surrogate-Key`, so a
//! CDN can keep them and purge by the same keys.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpRequest, HttpResponse, web};
use chrono::Utc;
use tokio::sync::Notify;

use crate::changes::{self, Key};
use crate::state::AppState;

/// Answers larger than this, compressed, are served whole but not kept.
const MAX_KEEP: usize = 4 * 1024 * 1024;
/// Above this, compressing is done off the async workers.
const BLOCKING_COMPRESS: usize = 64 * 1024;
const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");

/// What an answer shows, left in its extensions by the handler: the keys a write names
/// when it changes one of them. Public answers without it are not kept.
#[derive(Clone, Debug, Default)]
pub struct Shown(pub Vec<Key>);

/// A response object that can say which things it shows. A single answer shows the thing
/// and what it embeds; a list shows its list key (`articles`) and its items' own keys, so
/// a change to something lists embed (an author, a tag, an image) names those lists too.
/// That keeps a list's `Surrogate-Key` short: a page of 100 names ~100 keys.
pub trait Shows {
    /// The key of the thing itself (`article:<id>`), if it is one.
    fn key(&self) -> Option<Key> {
        None
    }

    /// The keys of what it embeds (an article's author, avatar, tags and cover).
    fn embedded_keys(&self, _keys: &mut Vec<Key>) {}
}

/// The `Surrogate-Key` header of an answer showing `keys`, in the order of their text.
fn surrogate_key(keys: &[Key]) -> Option<HeaderValue> {
    let mut texts: Vec<String> = keys.iter().map(Key::to_string).collect();
    texts.sort();
    HeaderValue::from_str(&texts.join(" ")).ok()
}

/// Marks `response` as showing `keys`.
pub fn showing(mut response: HttpResponse, mut keys: Vec<Key>) -> HttpResponse {
    keys.sort();
    keys.dedup();
    response.extensions_mut().insert(Shown(keys));
    response
}

/// Marks `response` as also showing `keys`, besides what it shows already.
pub fn also_showing(response: HttpResponse, keys: Vec<Key>) -> HttpResponse {
    let mut all = response
        .extensions()
        .get::<Shown>()
        .map(|shown| shown.0.clone())
        .unwrap_or_default();
    all.extend(keys);
    showing(response, all)
}

pub struct ResponseCache {
    entries: moka::sync::Cache<String, Arc<Entry>>,
    /// Totals of lists (`meta.total`) by list (filters, not page), see `count`.
    /// A list's total (and whether it is an estimate), with the epoch it was made in.
    counts: moka::sync::Cache<String, ((i64, bool), u64)>,
    /// Keys being rendered now: a burst of misses for one URL renders it once (the first
    /// request leads, the others wait for its answer).
    in_flight: Mutex<HashMap<String, Arc<Notify>>>,
    /// Counts invalidations; an entry remembers the epoch its rendering started in.
    epoch: AtomicU64,
    /// Entries from before this epoch are stale (everything was dropped then).
    emptied_at: AtomicU64,
    /// The epoch each key was last invalidated in (and when, to forget old ones).
    invalidated: RwLock<HashMap<Key, (u64, Instant)>>,
    /// Whether changes made through other nodes are heard now. While they are not, the cache
    /// is neither read nor filled.
    listening: AtomicBool,
    /// Unix microseconds of the next scheduled publication (`i64::MAX`: none; `i64::MIN`:
    /// unknown, look it up).
    next_publication: AtomicI64,
    /// Database time (Unix microseconds) up to which publications are in every list made
    /// since (`i64::MIN`: not looked up yet). The next look-up asks what became public after
    /// it, so an instant passes unnoticed by no list, whatever happened to `next_publication`.
    published_through: AtomicI64,
    /// Counts changes that may have moved a publication instant (see `changed`).
    schedule_changes: AtomicU64,
    ttl: Duration,
    /// `Cache-Control` of public answers.
    cache_control: HeaderValue,
}

/// A kept answer, compressed once both ways (even a small one: served as it is, it would be
/// compressed again on every request by the compression middleware).
struct Body {
    br: Bytes,
    gzip: Bytes,
}

struct Entry {
    epoch: u64,
    keys: Vec<Key>,
    surrogate_key: Option<HeaderValue>,
    etag: HeaderValue,
    body: Body,
    /// `Content-Type`, and `Link`, `X-Total-Count`: what an answer carries besides its body.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The route pattern, for metrics of answers that skip the router.
    route: Option<String>,
}

impl Entry {
    fn weight(&self, key: &str) -> u32 {
        let body = self.body.br.len() + self.body.gzip.len();
        let keys = self.keys.len() * (std::mem::size_of::<Key>() + 24);
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let surrogate_key = self.surrogate_key.as_ref().map_or(0, HeaderValue::len);
        (key.len() + body + keys + headers + surrogate_key + self.etag.len() + 256)
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

impl ResponseCache {
    pub fn new(ttl_secs: u64, max_bytes: u64, max_age: u64, stale_while_revalidate: u64) -> Self {
        let cache_control =
            format!("public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}");
        let ttl = Duration::from_secs(ttl_secs);
        ResponseCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, entry: &Arc<Entry>| entry.weight(key))
                .time_to_live(ttl.max(Duration::from_secs(1)))
                .build(),
            counts: moka::sync::Cache::builder()
                .max_capacity(16 * 1024 * 1024)
                .weigher(|list: &String, _| (list.len() + 64).try_into().unwrap_or(u32::MAX))
                .time_to_live(count_ttl(ttl))
                .build(),
            in_flight: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(1),
            emptied_at: AtomicU64::new(0),
            invalidated: RwLock::new(HashMap::new()),
            listening: AtomicBool::new(true),
            next_publication: AtomicI64::new(i64::MIN),
            published_through: AtomicI64::new(i64::MIN),
            schedule_changes: AtomicU64::new(0),
            ttl,
            cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or(HeaderValue::from_static("no-cache")),
        }
    }

    /// Drops the answers that show any of `keys` (`*`: all of them).
    pub fn invalidate(&self, keys: &[Key]) {
        if keys.is_empty() {
            return;
        }
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if keys.contains(&Key::Everything) {
            self.emptied_at.store(epoch, Ordering::SeqCst);
            self.entries.invalidate_all();
            self.counts.invalidate_all();
            return;
        }
        let now = Instant::now();
        if let Ok(mut invalidated) = self.invalidated.write() {
            if invalidated.len() > 100_000 {
                // Older than any kept answer or count can be: forget them.
                let horizon = count_ttl(self.ttl) + Duration::from_secs(60);
                invalidated.retain(|_, (_, at)| now.duration_since(*at) < horizon);
            }
            for key in keys {
                invalidated.insert(*key, (epoch, now));
            }
        }
    }

    /// A change was recorded: drop what shows it. What each key means to the cache is
    /// decided here, for every key there is.
    fn changed(&self, keys: &[Key]) {
        self.invalidate(keys);
        let schedule_moved = keys.iter().any(|key| match key {
            // A publication instant may have moved (no answer shows that key): look it up
            // again, as after a change this node may not have understood.
            Key::Schedule | Key::Everything => true,
            Key::Article(_)
            | Key::Author(_)
            | Key::Byline(_)
            | Key::Tag(_)
            | Key::Image(_)
            | Key::Comments(_)
            | Key::Articles
            | Key::Authors
            | Key::Tags
            | Key::Images
            | Key::Search
            | Key::Counts
            | Key::Sequence => false,
        });
        if schedule_moved {
            self.schedule_changes.fetch_add(1, Ordering::SeqCst);
            self.next_publication.store(i64::MIN, Ordering::SeqCst);
        }
    }

    /// Drops everything (a node that may have missed changes).
    pub fn empty(&self) {
        self.invalidate(&[Key::Everything]);
        self.next_publication.store(i64::MIN, Ordering::SeqCst);
    }

    /// Whether something made in `epoch` that shows `keys` is still current.
    fn is_current(&self, epoch: u64, keys: &[Key]) -> bool {
        if epoch < self.emptied_at.load(Ordering::SeqCst) {
            return false;
        }
        if epoch == self.epoch.load(Ordering::SeqCst) {
            return true;
        }
        let Ok(invalidated) = self.invalidated.read() else {
            return false;
        };
        keys.iter()
            .all(|key| invalidated.get(key).is_none_or(|(at, _)| *at <= epoch))
    }

    /// A kept count of a list (its `meta.total`), while nothing it counts has changed.
    /// Counts are kept even when answers are not (`LEDE_CACHE_TTL=0`): every page, cursor
    /// and order of one list shares one, and counting is most of what a list costs.
    pub fn count(&self, list: &str, keys: &[Key]) -> Option<(i64, bool)> {
        if !self.listening.load(Ordering::SeqCst) {
            return None;
        }
        let (total, epoch) = self.counts.get(list)?;
        self.is_current(epoch, keys).then_some(total)
    }

    /// Keeps a count made from what was current in `epoch` (see `epoch`).
    pub fn keep_count(&self, list: String, epoch: u64, total: (i64, bool)) {
        self.counts.insert(list, (total, epoch));
    }

    /// Where invalidation stands now: take it before reading what will be kept.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn get(&self, key: &str) -> Option<Arc<Entry>> {
        // A stale entry stays until the next render of its URL replaces it (removing it
        // here could remove that newer one) or it is evicted.
        let entry = self.entries.get(key)?;
        self.is_current(entry.epoch, &entry.keys).then_some(entry)
    }

    fn usable(&self) -> bool {
        !self.ttl.is_zero() && self.listening.load(Ordering::SeqCst)
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
}

/// How long a list's count is kept at most (it is dropped at once when what it counts changes).
fn count_ttl(ttl: Duration) -> Duration {
    ttl.max(Duration::from_secs(60))
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

/// Public, cacheable reads: GET (HEAD arrives as GET) without a token under /api/v1. A
/// preview is not one: its link is a credential, and it must stop working when revoked.
fn is_public_read(req: &ServiceRequest) -> bool {
    req.method() == Method::GET
        && (req.path().starts_with("/api/v1/") || req.path().starts_with("/feeds/"))
        && !req.match_info().as_str().starts_with("/api/v1/preview/")
        && !req.headers().contains_key(header::AUTHORIZATION)
}

fn is_write(req: &ServiceRequest) -> bool {
    matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    )
}

/// The cache key: the URL base (it differs only behind a trusted proxy), the path, and the
/// query parameters in a normal order and encoding, so `?b=1&a=2` and `?a=2&b=%31` share
/// one answer.
fn cache_key(state: &AppState, req: &ServiceRequest) -> String {
    let mut key = state.origin.base(req.request());
    // The path as the router matches it: `%61rticles` is `articles`.
    key.push_str(req.match_info().as_str());
    if !req.query_string().is_empty() {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        // Stable: repeated parameters (`tag`) keep their order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs);
        key.push('?');
        key.push_str(&query.finish());
    }
    key
}

/// Keeps the cache honest about scheduled articles: once a publication instant has passed,
/// article lists (and their counts) made before it are dropped. Returns false when that
/// could not be looked up (then nothing is served from or put in the cache).
async fn publication_check(state: &AppState) -> bool {
    let cache = &state.cache;
    let next = cache.next_publication.load(Ordering::SeqCst);
    if next != i64::MIN && Utc::now().timestamp_micros() < next {
        return true;
    }
    let changes = cache.schedule_changes.load(Ordering::SeqCst);
    let through = cache.published_through.load(Ordering::SeqCst);
    let since = (through != i64::MIN)
        .then(|| chrono::DateTime::from_timestamp_micros(through))
        .flatten();
    let Ok(found) = crate::articles::queries::publications_since(&state.pool, since).await else {
        return false;
    };
    if found.passed {
        cache.invalidate(&[Key::Articles, Key::Counts, Key::Sequence]);
    }
    cache
        .published_through
        .fetch_max(found.now.timestamp_micros(), Ordering::SeqCst);
    // Unless a change moved the instants meanwhile (then the next read looks again).
    if cache.schedule_changes.load(Ordering::SeqCst) == changes {
        let value = found.next.map_or(i64::MAX, |t| t.timestamp_micros());
        cache.next_publication.store(value, Ordering::SeqCst);
    }
    true
}

pub async fn cache(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if is_write(&req) {
        // What the write recorded in the change feed is dropped here before its answer
        // leaves (other nodes hear it from the notification sent at commit). Its writer
        // finds it in this node's search at once: the answer waits for the index.
        let (response, recorded) = changes::recording(next.call(req)).await;
        if let Some(replica) = state.replica.as_ref().filter(|_| !recorded.keys.is_empty()) {
            replica.changed();
        }
        state.cache.changed(&recorded.keys);
        if let Some(txid) = recorded.txid {
            state.search.wait_for(txid).await;
        }
        return Ok(response?.map_into_boxed_body());
    }
    if !is_public_read(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Also when answers are not kept: kept list counts must hear of publication instants.
    let instants_known =
        state.cache.listening.load(Ordering::SeqCst) && publication_check(&state).await;
    if !state.cache.usable() || !instants_known {
        let response = next.call(req).await?.map_into_boxed_body();
        return not_kept(&state, response).await;
    }
    let key = cache_key(&state, &req);
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
        let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
        let response = answer(&state, &entry, req.request(), if_none_match.as_ref());
        return Ok(req.into_response(response));
    }

    // Rendered whole even for a revalidation (a 304 could not be kept); the condition is
    // applied to the kept answer.
    let mut req = req;
    let if_none_match = req.headers_mut().remove(header::IF_NONE_MATCH).next();
    let epoch = state.cache.epoch.load(Ordering::SeqCst);
    let response = next.call(req).await?.map_into_boxed_body();
    let shown = response.response().extensions().get::<Shown>().cloned();
    // JSON, and the feeds' Atom and JSON Feed.
    let keepable = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            [
                &b"application/json"[..],
                b"application/atom+xml",
                b"application/feed+json",
            ]
            .iter()
            .any(|kind| v.as_bytes().starts_with(kind))
        });
    let etag = response.headers().get(header::ETAG).cloned();
    let (Some(shown), Some(etag), true, StatusCode::OK) =
        (shown, etag, keepable, response.status())
    else {
        let response = not_modified_if(response, if_none_match.as_ref());
        return not_kept(&state, response).await;
    };
    let headers: Vec<(HeaderName, HeaderValue)> = [
        header::CONTENT_TYPE,
        header::LINK,
        HeaderName::from_static("x-total-count"),
    ]
    .into_iter()
    .filter_map(|name| response.headers().get(&name).cloned().map(|v| (name, v)))
    .collect();
    let route = response.request().match_pattern();
    let (request, http_response) = response.into_parts();
    let body = http_response.into_body();
    let Some(body) = read_and_compress(body, compress).await? else {
        return Ok(unreadable(request));
    };
    let entry = Arc::new(Entry {
        epoch,
        surrogate_key: surrogate_key(&shown.0),
        keys: shown.0,
        etag,
        body,
        headers,
        route,
    });
    // Too large to keep even compressed: served whole all the same.
    if entry.body.br.len() + entry.body.gzip.len() <= MAX_KEEP {
        state.cache.entries.insert(key, entry.clone());
    }
    let response = answer(&state, &entry, &request, if_none_match.as_ref());
    Ok(ServiceResponse::new(request, response))
}

/// The revalidation the handler did not see (its `If-None-Match` was taken for the kept
/// answer), applied to an answer that is not kept: 304 when its ETag matches.
fn not_modified_if(
    response: ServiceResponse<BoxBody>,
    if_none_match: Option<&HeaderValue>,
) -> ServiceResponse<BoxBody> {
    let matched = response.status() == StatusCode::OK
        && response
            .headers()
            .get(header::ETAG)
            .and_then(|etag| etag.to_str().ok())
            .is_some_and(|etag| crate::http::response::none_match_in(if_none_match, etag));
    if !matched {
        return response;
    }
    let (request, answer) = response.into_parts();
    let mut not_modified = HttpResponse::NotModified();
    for name in [header::ETAG, SURROGATE_KEY] {
        if let Some(value) = answer.headers().get(&name) {
            not_modified.insert_header((name, value.clone()));
        }
    }
    let mut not_modified = not_modified.finish();
    if let Some(shown) = answer.extensions().get::<Shown>().cloned() {
        not_modified.extensions_mut().insert(shown);
    }
    ServiceResponse::new(request, not_modified)
}

/// A public answer that is not kept: with `Cache-Control`, `Vary` and `Surrogate-Key`, and
/// compressed here in the coding the client prefers (the same settings as kept answers;
/// the general compression middleware's brotli allocates far more per call).
async fn not_kept(
    state: &AppState,
    response: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let status = response.status();
    if !matches!(
        status,
        StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::MOVED_PERMANENTLY
    ) {
        return Ok(response);
    }
    let keys = response
        .response()
        .extensions()
        .get::<Shown>()
        .and_then(|shown| surrogate_key(&shown.0));
    let coding = crate::http::encoding::preferred(response.request().headers());
    let (request, mut response) = response.into_parts();
    let headers = response.headers_mut();
    // Unless the answer says how long it keeps (a picture that never changes).
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, state.cache.cache_control.clone());
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(keys) = keys {
        headers.insert(SURROGATE_KEY, keys);
    }
    let (Some(coding), StatusCode::OK) = (coding, status) else {
        return Ok(ServiceResponse::new(request, response));
    };
    let (head, body) = response.into_parts();
    let encoded = read_and_compress(body, move |body| compress_as(coding, body, ONCE)).await?;
    let Some(encoded) = encoded else {
        return Ok(unreadable(request));
    };
    let mut response = head.set_body(BoxBody::new(encoded));
    response
        .headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    Ok(ServiceResponse::new(request, response))
}

/// A kept answer in the encoding the client takes (304 when its `If-None-Match` has it).
fn answer(
    state: &AppState,
    entry: &Entry,
    req: &HttpRequest,
    if_none_match: Option<&HeaderValue>,
) -> HttpResponse {
    let etag = entry.etag.to_str().unwrap_or_default();
    let not_modified = crate::http::response::none_match_in(if_none_match, etag);
    let mut builder = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    builder
        .insert_header((header::ETAG, entry.etag.clone()))
        .insert_header((header::CACHE_CONTROL, state.cache.cache_control.clone()))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Encoding")));
    if let Some(keys) = &entry.surrogate_key {
        builder.insert_header((SURROGATE_KEY, keys.clone()));
    }
    let mut response = if not_modified {
        builder.finish()
    } else {
        for (name, value) in &entry.headers {
            builder.insert_header((name.clone(), value.clone()));
        }
        let Body { br, gzip } = &entry.body;
        match crate::http::encoding::preferred(req.headers()) {
            Some("br") => builder
                .insert_header((header::CONTENT_ENCODING, "br"))
                .body(br.clone()),
            Some(_) => builder
                .insert_header((header::CONTENT_ENCODING, "gzip"))
                .body(gzip.clone()),
            None => builder.body(gunzip(gzip)),
        }
    };
    if let Some(route) = &entry.route {
        response
            .extensions_mut()
            .insert(crate::http::observe::RoutePattern(route.clone()));
    }
    response
}

/// A rendered body, read whole and compressed (off the async workers when it is large);
/// `None` when it cannot be read.
async fn read_and_compress<T: Send + 'static>(
    body: BoxBody,
    compress: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<Option<T>, Error> {
    let Ok(body) = actix_web::body::to_bytes(body).await else {
        return Ok(None);
    };
    Ok(Some(if body.len() < BLOCKING_COMPRESS {
        compress(&body)
    } else {
        web::block(move || compress(&body)).await?
    }))
}

fn unreadable(request: HttpRequest) -> ServiceResponse<BoxBody> {
    let error = crate::error::ApiError::Internal("cannot read an answer".into());
    ServiceResponse::new(request, actix_web::ResponseError::error_response(&error))
}

fn compress(body: &[u8]) -> Body {
    Body {
        br: compress_as("br", body, KEPT),
        gzip: compress_as("gzip", body, KEPT),
    }
}

/// Compression levels (brotli, gzip): kept answers are compressed once and served many
/// times, so harder; an answer served once is compressed fast (brotli 1 takes half the time
/// of 2 for 8% more bytes, measured on a 31 KB article).
type Levels = (u32, u32);
const KEPT: Levels = (5, 6);
const ONCE: Levels = (1, 3);

/// `body` in brotli (`br`) or gzip (anything else).
fn compress_as(coding: &str, body: &[u8], (br_level, gzip_level): Levels) -> Bytes {
    // Writing into a Vec cannot fail.
    if coding == "br" {
        // A window just larger than the answer (brotli's 22 bits would allocate megabytes
        // per compression, many at once under a burst of misses), but not under 18 bits: at
        // 16 and below brotli picks a hasher whose tables are zeroed at great cost each call.
        let window = (usize::BITS - body.len().leading_zeros() + 1).clamp(18, 24);
        let mut br = brotli::CompressorWriter::new(
            Vec::with_capacity(body.len() / 4),
            4096,
            br_level,
            window,
        );
        let _ = br.write_all(body);
        Bytes::from(br.into_inner())
    } else {
        let mut gzip = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 3),
            flate2::Compression::new(gzip_level),
        );
        let _ = gzip.write_all(body);
        Bytes::from(gzip.finish().unwrap_or_default())
    }
}

/// For a client that takes no compression (rare: browsers and CDNs all take gzip or br).
fn gunzip(gzip: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(gzip.len() * 4);
    let _ = flate2::read::GzDecoder::new(gzip).read_to_end(&mut out);
    Bytes::from(out)
}

impl ResponseCache {
    /// Whether changes are heard (else answers are neither kept nor served from the cache).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }
}

/// Listens for the changes other nodes (and the CLI) record and drops what they show.
/// While the connection is down the cache is bypassed; once `LISTEN` is back it is emptied
/// (changes may have been missed) and used again.
pub fn listen(state: web::Data<AppState>, database_url: String) {
    state.cache.listening.store(false, Ordering::SeqCst);
    tokio::spawn(async move {
        loop {
            if let Err(error) = listen_once(&state, &database_url).await {
                tracing::warn!(%error, "cache invalidation listener lost its connection; retrying");
            }
            state.cache.listening.store(false, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen_once(state: &web::Data<AppState>, database_url: &str) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    // Keepalives: a connection that died silently (a dropped network path) is noticed in
    // about a minute, not the system's default two hours.
    let target = crate::db::tls::Target::parse(database_url)?;
    let mut config: tokio_postgres::Config = target.url().parse()?;
    config
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
    let (client, messages) = target.client(config).await?;
    let listener = state.clone();
    // The connection must be polled for LISTEN to be sent and notifications to arrive.
    let driver = tokio::spawn(async move {
        let mut messages = messages;
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(note) = message {
                let keys: Vec<Key> = note.payload().split_whitespace().map(Key::read).collect();
                // The replica first: no answer may be kept from it without this change.
                if let Some(replica) = listener.replica.as_ref().filter(|_| !keys.is_empty()) {
                    replica.changed();
                }
                listener.cache.changed(&keys);
                listener.search.wake();
                listener.webhooks.wake();
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", changes::CHANNEL))
        .await?;
    state.cache.empty();
    state.cache.listening.store(true, Ordering::SeqCst);
    let ended = driver.await;
    ended?;
    anyhow::bail!("notification stream ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_bodies_come_back_whole() {
        let body = "lede ".repeat(2000);
        let Body { br, gzip } = compress(body.as_bytes());
        assert!(br.len() < body.len() / 10 && gzip.len() < body.len() / 10);
        assert_eq!(gunzip(&gzip), body.as_bytes());
    }
}
