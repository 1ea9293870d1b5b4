//! What every desk page shares: who is signed in, the page's frame, the CSRF check of a
//! form, and the one way a desk answer fails (an HTML page, or to the sign-in page).
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::api::{Api, Refusal};
use crate::error::ApiError;
use crate::http::auth::{Auth, Role, SessionCsrf};
use crate::http::observe::OwnErrorBody;

/// The person a desk page is for: signed in by a session cookie (a token is for scripts).
#[derive(Clone)]
pub struct Person {
    /// Their account's id.
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub author_id: Option<Uuid>,
    /// The session's CSRF token, for the page's forms and scripts.
    pub csrf: String,
}

impl Person {
    /// Editors and admins: everyone's articles, the review queue.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Editor)
    }

    /// May publish (and upload): every role but contributor.
    pub fn publishes(&self) -> bool {
        self.role != Role::Contributor
    }

    /// Itself when an editor or an admin, else the page's 403.
    pub fn staff(self) -> Result<Person, DeskError> {
        match self.is_staff() {
            true => Ok(self),
            false => Err(forbidden("This page is for editors and admins.")),
        }
    }

    /// Itself when an admin, else the page's 403.
    pub fn admin(self) -> Result<Person, DeskError> {
        match self.role == Role::Admin {
            true => Ok(self),
            false => Err(forbidden("This page is for admins.")),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }

    /// The session's person, whatever the method.
    fn of(req: &HttpRequest) -> Result<Person, DeskError> {
        let extensions = req.extensions();
        let principal = extensions
            .get::<Auth>()
            .and_then(|auth| auth.principal().cloned())
            .filter(|principal| principal.via_session);
        let csrf = extensions.get::<SessionCsrf>().map(|csrf| csrf.0.clone());
        match (principal, csrf) {
            (Some(principal), Some(csrf)) => Ok(Person {
                id: principal.actor.id.unwrap_or_default(),
                name: principal.actor.name.into_owned(),
                role: principal.role,
                author_id: principal.author_id,
                csrf,
            }),
            _ => Err(DeskError::SignIn),
        }
    }
}

/// The person of a page that only reads. A write takes [`Posted`]: `Person` alone refuses
/// anything but a read, so a handler that forgets the CSRF check fails closed.
impl FromRequest for Person {
    type Error = DeskError;
    type Future = Ready<Result<Person, DeskError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let reads = matches!(*req.method(), Method::GET | Method::HEAD);
        ready(if reads {
            Person::of(req)
        } else {
            Err(DeskError::Csrf)
        })
    }
}

/// A form that carries the session's CSRF token (a hidden field named `csrf`).
pub trait WithCsrf {
    fn csrf(&self) -> &str;
}

/// `WithCsrf` for forms whose token is their `csrf` field.
macro_rules! csrf_field {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::desk::page::WithCsrf for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use csrf_field;

csrf_field!(CsrfOnly);

/// The line saying what a form just did (`done` in the address), from a page's table.
pub fn flash_from(messages: &[(&str, &str)], done: &str) -> Option<String> {
    messages
        .iter()
        .find(|(name, _)| *name == done)
        .map(|(_, text)| (*text).to_owned())
}

/// A list page's address: the API's cursor of the page, and what a form just did.
#[derive(serde::Deserialize)]
pub struct Browse {
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub done: String,
}

fn forbidden(message: &str) -> DeskError {
    DeskError::Api(ApiError::Forbidden(message.to_owned()))
}

/// A form a signed-in person sent, its CSRF token checked against their session's before
/// the handler sees it (compared as hashes: no comparison takes time by what matches).
/// The API checks it again on each write the form stands for.
pub struct Posted<T> {
    pub person: Person,
    pub form: T,
}

impl<T> Posted<T>
where
    T: WithCsrf,
{
    /// The person's way to the API, writes carrying the form's token.
    pub fn api<'a>(&self, req: &'a HttpRequest) -> Api<'a> {
        Api::new(req, Some(self.form.csrf().to_owned()))
    }
}

impl<T> FromRequest for Posted<T>
where
    T: serde::de::DeserializeOwned + WithCsrf + 'static,
{
    type Error = DeskError;
    type Future = LocalBoxFuture<'static, Result<Posted<T>, DeskError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use crate::http::auth::hash_secret;
        let person = Person::of(req);
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let person = person?;
            let form = form
                .await
                .map_err(|e| ApiError::BadRequest(e.to_string()))?
                .into_inner();
            if hash_secret(form.csrf()) != hash_secret(&person.csrf) {
                return Err(DeskError::Csrf);
            }
            Ok(Posted { person, form })
        })
    }
}

/// The form of a button that only acts (sign out, a preview link).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// What frames every page: its title, who is signed in, which part of the desk it is, and
/// a line saying what just happened.
pub struct Frame {
    pub title: String,
    pub person: Option<Person>,
    pub section: &'static str,
    pub flash: Option<String>,
}

impl Frame {
    pub fn new(title: impl Into<String>, person: &Person, section: &'static str) -> Frame {
        Frame {
            title: title.into(),
            person: Some(person.clone()),
            section,
            flash: None,
        }
    }

    pub fn signed_out(title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            person: None,
            section: "",
            flash: None,
        }
    }

    /// Whether the page is an editor's or an admin's.
    pub fn is_staff(&self) -> bool {
        self.person.as_ref().is_some_and(Person::is_staff)
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> &str {
        self.person
            .as_ref()
            .map_or("", |person| person.csrf.as_str())
    }

    pub fn with_flash(mut self, flash: Option<String>) -> Frame {
        self.flash = flash;
        self
    }
}

/// Optional text from a form: empty (or blank) is none.
pub fn optional(text: &str) -> serde_json::Value {
    match text.trim() {
        "" => serde_json::Value::Null,
        text => serde_json::Value::String(text.to_owned()),
    }
}

/// The API's messages start in lower case (they read inside a sentence); a page shows them
/// alone.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `2026-12-07T17:45:23Z` as `2026-12-07 17:45 UTC`.
pub fn short_time(time: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(time) {
        Ok(time) => time
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => time.to_owned(),
    }
}

/// A rendered page.
pub fn html(page: &impl Template) -> Result<HttpResponse, DeskError> {
    html_status(page, StatusCode::OK)
}

pub fn html_status(page: &impl Template, status: StatusCode) -> Result<HttpResponse, DeskError> {
    let body = page
        .render()
        .map_err(|e| DeskError::Api(ApiError::Internal(format!("a desk page failed: {e}"))))?;
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    // An error page is the desk's own HTML, not a problem document.
    response.extensions_mut().insert(OwnErrorBody);
    Ok(response)
}

/// After a form: to the page that shows what it did.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    message: &'a str,
}

/// A page that says what went wrong, with the status it is.
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let page = ErrorPage {
        frame: Frame::signed_out(status.canonical_reason().unwrap_or("Error")),
        message,
    };
    html_status(&page, status).unwrap_or_else(|_| HttpResponse::build(status).finish())
}

/// The one way a desk answer fails.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Not signed in (or the session ended): to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// A form without the session's CSRF token.
    #[error("the form is out of date")]
    Csrf,
    /// The API refused a read the page needs, or the write a form stands for.
    #[error("{}", .0.detail())]
    Refused(Refusal),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ResponseError for DeskError {
    fn status_code(&self) -> StatusCode {
        match self {
            DeskError::SignIn => StatusCode::SEE_OTHER,
            DeskError::Csrf => StatusCode::FORBIDDEN,
            DeskError::Refused(refusal) => refusal.status,
            DeskError::Api(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            DeskError::SignIn => return see_other("/desk/sign-in"),
            DeskError::Csrf => {
                "This form is out of date (it was opened before you last signed in). Go back, \
                 reload the page and try again."
                    .to_owned()
            }
            DeskError::Refused(refusal) => {
                let mut message = capitalised(&refusal.detail());
                for (field, error) in refusal.field_errors() {
                    message.push_str(&format!(" {field}: {error}."));
                }
                message
            }
            // What failed inside is logged; the page says only that it did.
            DeskError::Api(error) if status.is_server_error() => {
                tracing::error!(%error, "a desk page failed");
                "Something went wrong on the server. Try again in a moment.".to_owned()
            }
            DeskError::Api(error) => capitalised(&error.to_string()),
        };
        error_page(status, &message)
    }
}

/// A list answer's total, as a page says it ("about 1200" when estimated).
pub fn total_of(list: &serde_json::Value) -> String {
    match (
        list["meta"]["total"].as_i64(),
        list["meta"]["total_estimated"].as_bool(),
    ) {
        (Some(total), Some(true)) => format!("about {total}"),
        (Some(total), _) => total.to_string(),
        _ => String::new(),
    }
}

/// The desk address of a list's next page: `page` (a desk path, its query included) with
/// the API's cursor; none on the last page.
pub fn next_page(list: &serde_json::Value, page: &str) -> Option<String> {
    let cursor = list["meta"]["next_cursor"].as_str()?;
    let joiner = if page.contains('?') { '&' } else { '?' };
    Some(format!(
        "{page}{joiner}cursor={}",
        super::api::encode(cursor)
    ))
}

/// What a field of an API answer says, as text (empty when absent or not text).
pub fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The cookie that carries a secret a form just made (a token's, a webhook's, a link) to the
/// page that shows it, once: the form answers with a redirect, so reloading that page sends
/// nothing again and shows the secret no more.
const SHOWN: &str = "lede_desk_shown";

/// After a form that made a secret: to `location`, which shows it once (the cookie goes to
/// that page only, so no other page shows it as its own).
pub fn see_other_showing(req: &HttpRequest, location: &str, secret: &str) -> HttpResponse {
    let mut response = see_other(location);
    let page = location.split('?').next().unwrap_or(location);
    let cookie = shown_cookie(req, page, super::api::encode(secret))
        .max_age(actix_web::cookie::time::Duration::minutes(2))
        .finish();
    // A cookie of printable characters always makes a header.
    let _ = response.add_cookie(&cookie);
    response
}

/// The secret a form just made for this page, if any: shown once, then `forget_shown`.
pub fn shown(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(SHOWN)?;
    let secret = percent_encoding::percent_decode_str(cookie.value())
        .decode_utf8()
        .ok()?
        .into_owned();
    (!secret.is_empty()).then_some(secret)
}

/// Drops the shown secret from the browser.
pub fn forget_shown(req: &HttpRequest, response: &mut HttpResponse) {
    let mut cookie = shown_cookie(req, req.path(), String::new()).finish();
    cookie.make_removal();
    let _ = response.add_cookie(&cookie);
}

fn shown_cookie(
    req: &HttpRequest,
    page: &str,
    value: String,
) -> actix_web::cookie::CookieBuilder<'static> {
    let secure = req
        .app_data::<web::Data<crate::state::AppState>>()
        .is_some_and(|state| state.origin.configured_base().starts_with("https://"));
    actix_web::cookie::Cookie::build(SHOWN, value)
        .path(page.to_owned())
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .secure(secure)
}

/// A page that shows what `shown` gave, the cookie dropped with it.
pub fn html_showing(
    req: &HttpRequest,
    page: &impl Template,
    showed: bool,
) -> Result<HttpResponse, DeskError> {
    let mut response = html(page)?;
    if showed {
        forget_shown(req, &mut response);
    }
    Ok(response)
}
