//! The desk: the web app at `/desk` where people write, illustrate, review and publish.
//! Pages are rendered on the server (askama templates, escaping by default). Every write a
//! page makes, and every read of what a person may or may not see, is an API request sent
//! through the app once more (`http::inner::Inner`) with the person's session cookie and
//! CSRF token, so roles, validation, the review rules, the change feed, caches, search and
//! webhooks are the API's own. Three things read below the API: the menus of bylines and
//! tag names (`choices`), where an image is used (limited to what the person may see), and
//! the live preview (the write path's own renderer, nothing saved). Its script and styles
//! are served from the binary; nothing is fetched from another host.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::web;

mod activity;
mod api;
mod articles;
mod assets;
mod authors;
mod choices;
mod comments;
mod editor;
mod me;
mod media;
mod page;
mod people;
mod revisions;
mod sign_in;
mod start;
mod tag_field;
mod tags;
mod webhooks;

pub use page::DeskError;

/// The desk's strict policy: its own scripts, styles, images and requests only; no inline
/// script, style or event handler; no framing; forms post only to lede. Images may also
/// come from the media base (an object store's public URL).
fn content_security_policy(media_origin: Option<&str>) -> String {
    let images = match media_origin {
        Some(origin) => format!("'self' data: blob: {origin}"),
        None => "'self' data: blob:".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; \
         connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// The largest form taken: the editor's, with a body of the longest an article may have.
const FORM_LIMIT: usize = 8 << 20;

/// The desk's routes, under `/desk`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.service(
        web::scope("/desk")
            .wrap(from_fn(guard))
            // A body of 500,000 characters, percent-encoded; a bad form is the desk's page.
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                DeskError::Api(crate::error::ApiError::BadRequest(format!(
                    "the address is not one the desk makes: {error}"
                )))
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|error, _| {
                DeskError::Api(crate::error::ApiError::BadRequest(format!(
                    "the address is not one the desk makes: {error}"
                )))
                .into()
            }))
            .app_data(
                web::FormConfig::default()
                    .limit(FORM_LIMIT)
                    .error_handler(|error, _| {
                        DeskError::Api(crate::error::ApiError::BadRequest(format!(
                            "the form could not be read: {error}"
                        )))
                        .into()
                    }),
            )
            .route("", get().to(start::page))
            .route("/", get().to(start::page))
            .route("/assets/{name}", get().to(assets::serve))
            .route("/sign-in", get().to(sign_in::page))
            .route("/sign-in", post().to(sign_in::submit))
            .route("/sign-out", post().to(sign_in::sign_out))
            .route("/accept", get().to(sign_in::accept_page))
            .route("/accept", post().to(sign_in::accept))
            .route("/reset", get().to(sign_in::reset_page))
            .route("/reset", post().to(sign_in::reset))
            .route("/forgot", get().to(sign_in::forgot_page))
            .route("/forgot", post().to(sign_in::forgot))
            .route("/articles", get().to(articles::list))
            .route("/articles/new", get().to(editor::new_page))
            .route("/articles/new", post().to(editor::create))
            .route("/articles/{id}", get().to(editor::page))
            .route("/articles/{id}", post().to(editor::save))
            .route("/articles/{id}/revisions", get().to(revisions::list))
            .route("/articles/{id}/restore", post().to(revisions::restore))
            .route(
                "/articles/{id}/preview-link",
                post().to(editor::preview_link),
            )
            .route("/render", post().to(editor::render))
            .route("/media", get().to(media::page))
            .route("/media/{id}", post().to(media::save))
            .route("/comments", get().to(comments::list))
            .route("/comments/bulk", post().to(comments::bulk))
            .route("/comments/articles/{id}", post().to(comments::close))
            .route("/comments/{id}", post().to(comments::act))
            .route("/comments/{id}/reply", post().to(comments::reply))
            .route("/authors", get().to(authors::list))
            .route("/authors", post().to(authors::create))
            .route("/authors/{id}", post().to(authors::change))
            .route("/people", get().to(people::list))
            .route("/people", post().to(people::invite))
            .route("/people/link", get().to(people::link_page))
            .route("/people/{id}", post().to(people::change))
            .route("/me", get().to(me::page))
            .route("/me/name", post().to(me::rename))
            .route("/me/password", post().to(me::password))
            .route("/me/passkeys/{id}/remove", post().to(me::remove_passkey))
            .route("/settings", post().to(people::setting))
            .route("/tokens", get().to(me::all))
            .route("/tokens", post().to(me::create))
            .route("/tokens/{id}/revoke", post().to(me::revoke))
            .route("/webhooks", get().to(webhooks::list))
            .route("/webhooks", post().to(webhooks::create))
            .route("/webhooks/{id}", get().to(webhooks::page))
            .route("/webhooks/{id}", post().to(webhooks::change))
            .route(
                "/webhooks/{id}/deliveries/{delivery}/redeliver",
                post().to(webhooks::redeliver),
            )
            .route("/activity", get().to(activity::list))
            .route("/tags", get().to(tags::list))
            .route("/tags/{id}", post().to(tags::change))
            // Anything else under /desk is the desk's own page too, never a problem document.
            .default_service(web::to(not_found)),
    );
}

/// A desk address that is no page.
async fn not_found() -> Result<actix_web::HttpResponse, DeskError> {
    Err(DeskError::Api(crate::error::ApiError::NotFound(
        "There is no such page in the desk.".into(),
    )))
}

/// Whether a write came from another site: the browser says so (`Sec-Fetch-Site`), or,
/// for one that does not, its `Origin` is not lede's own (the public URL, or what a trusted
/// proxy forwards; without a configured public URL, the host the request was sent to).
fn from_elsewhere(req: &ServiceRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site != "same-origin" && site != "none";
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let Some(origin) = url::Url::parse(origin).ok().map(|o| o.origin()) else {
        return true;
    };
    let state = req.app_data::<web::Data<crate::state::AppState>>();
    let own = state
        .and_then(|state| url::Url::parse(&state.origin.base(req.request())).ok())
        .map(|base| base.origin());
    if own.as_ref() == Some(&origin) {
        return false;
    }
    // Without a public URL, a page on `localhost` posts to `localhost`.
    let configured = state.is_some_and(|state| state.origin.is_configured());
    let sent_to = header("host").and_then(|host| url::Url::parse(&format!("http://{host}")).ok());
    let same_host = match (&origin, sent_to) {
        (url::Origin::Tuple(_, host, port), Some(sent)) => {
            // A `Host` without a port says nothing of the scheme's: any port is the one.
            sent.host().map(|h| h.to_owned()).as_ref() == Some(host)
                && sent.port().is_none_or(|sent| sent == *port)
        }
        _ => false,
    };
    configured || !same_host
}

/// Around every desk answer: writes only from lede's own pages (a cross-site form is
/// refused before anything reads it, signing in included), and the headers that keep a
/// page to itself.
async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let writes = req.method() != actix_web::http::Method::GET
        && req.method() != actix_web::http::Method::HEAD;
    if writes && from_elsewhere(&req) {
        let response = page::error_page(
            actix_web::http::StatusCode::FORBIDDEN,
            "This form was sent from another site. Open the desk and try again.",
        );
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    let media = req
        .app_data::<web::Data<crate::state::AppState>>()
        .and_then(|state| state.storage.external_origin());
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&content_security_policy(media.as_deref())) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(response)
}
