//! The middleware of the response cache (`crate::response_cache`): public reads are served
//! from it or rendered once and kept; writes drop what they recorded before their answer
//! leaves; a LISTEN connection hears other nodes' changes. Public answers carry
//! `Cache-Control`, `Vary: Accept-Encoding` and `Surrogate-Key`, so a CDN can keep them and
//! purge by the same keys.
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};

use crate::changes::{self, Key};
use crate::error::ApiError;
// What handlers and models mark their answers with, where they have always found it.
use crate::response_cache::{
    BLOCKING_COMPRESS, Body, Entry, MAX_KEEP, ONCE, SURROGATE_KEY, Shown, compress, compress_as,
    gunzip, surrogate_key,
};
pub use crate::response_cache::{Shows, also_showing, showing};
use crate::state::AppState;

/// Public, cacheable reads: GET (HEAD arrives as GET) without a token under /api/v1. A
/// preview is not one: its link is a credential, and it must stop working when revoked.
fn is_public_read(req: &ServiceRequest) -> bool {
    req.method() == Method::GET
        && !signed_in(req)
        && (req.path().starts_with("/api/v1/") || req.path().starts_with("/feeds/"))
        && !req.match_info().as_str().starts_with("/api/v1/preview/")
        && !req.headers().contains_key(header::AUTHORIZATION)
}

/// Marks an answer that is the same whoever asks (the desk's script and styles): its own
/// `Cache-Control` stands, signed in or not.
pub struct SameForEveryone;

/// Whether a token or a session cookie named a caller (`auth::authenticate` ran before).
fn signed_in(req: &ServiceRequest) -> bool {
    req.extensions()
        .get::<crate::http::auth::Auth>()
        .is_some_and(|auth| auth.is_authenticated())
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
    let Ok(found) = publications_since(&state.pool, since).await else {
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
        let signed_in = signed_in(&req);
        let mut response = next.call(req).await?.map_into_boxed_body();
        // What a signed-in person reads (drafts, their own things) is theirs alone: no
        // browser or shared cache keeps it (a cookie, unlike `Authorization`, does not stop
        // a shared cache by itself).
        let shared = response
            .response()
            .extensions()
            .contains::<SameForEveryone>();
        if signed_in && !shared {
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
        }
        return Ok(response);
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

/// Listens for the changes other nodes (and the CLI) record and drops what they show.
/// While the connection is down the cache is bypassed; once `LISTEN` is back it is emptied
/// (changes may have been missed) and used again.
pub fn listen(state: web::Data<AppState>, database_url: String) {
    state.cache.listening.store(false, Ordering::SeqCst);
    crate::stopping::spawn(async move {
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

/// Scheduled publications, by the database's clock (the one every list's
/// `published_at <= now()` uses).
#[derive(diesel::QueryableByName)]
struct Publications {
    /// The database's now.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    now: DateTime<Utc>,
    /// Whether an article became public after `since` (and by now).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    passed: bool,
    /// The next instant an article becomes public, if any is scheduled.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    next: Option<DateTime<Utc>>,
}

/// What became public since `since`, and the next instant scheduled.
async fn publications_since(
    pool: &crate::db::Pool,
    since: Option<DateTime<Utc>>,
) -> Result<Publications, ApiError> {
    use diesel_async::RunQueryDsl;
    let mut conn = crate::db::conn(pool).await?;
    Ok(diesel::sql_query(
        "SELECT now() AS now, \
         EXISTS (SELECT 1 FROM articles WHERE status = 'published' \
                 AND published_at > coalesce($1, now()) AND published_at <= now()) AS passed, \
         (SELECT min(published_at) FROM articles WHERE status = 'published' \
          AND published_at > now()) AS next",
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(since)
    .get_result(&mut conn)
    .await?)
}
