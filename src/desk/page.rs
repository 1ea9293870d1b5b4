//! What every desk page shares: who is signed in, the page's frame, the CSRF check of a
//! form, and the one way a desk answer fails (an HTML page, or to the sign-in page).
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use uuid::Uuid;

use super::api::Refusal;
use crate::error::ApiError;
use crate::http::auth::{Auth, Role, SessionCsrf};
use crate::http::observe::OwnErrorBody;

/// The person a desk page is for: signed in by a session cookie (a token is for scripts).
#[derive(Clone)]
pub struct Person {
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

    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }

    /// The token a form sent is the session's (compared as hashes: no comparison takes
    /// time by what matches). The API checks it again on the write the form stands for.
    pub fn check_csrf(&self, sent: &str) -> Result<(), DeskError> {
        use crate::http::auth::hash_secret;
        if hash_secret(sent) == hash_secret(&self.csrf) {
            Ok(())
        } else {
            Err(DeskError::Csrf)
        }
    }
}

impl FromRequest for Person {
    type Error = DeskError;
    type Future = Ready<Result<Person, DeskError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        let principal = extensions
            .get::<Auth>()
            .and_then(|auth| auth.principal().cloned())
            .filter(|principal| principal.via_session);
        let csrf = extensions.get::<SessionCsrf>().map(|csrf| csrf.0.clone());
        ready(match (principal, csrf) {
            (Some(principal), Some(csrf)) => Ok(Person {
                name: principal.actor.name.into_owned(),
                role: principal.role,
                author_id: principal.author_id,
                csrf,
            }),
            _ => Err(DeskError::SignIn),
        })
    }
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

    pub fn with_flash(mut self, flash: Option<String>) -> Frame {
        self.flash = flash;
        self
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
pub fn error_page(_req: &HttpRequest, status: StatusCode, message: &str) -> HttpResponse {
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
    /// The API refused a read the page needs.
    #[error("{}", .0.detail())]
    Refused(Refusal),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail())
    }
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
            DeskError::Refused(refusal) => refusal.detail(),
            // What failed inside is logged; the page says only that it did.
            DeskError::Api(error) if status.is_server_error() => {
                tracing::error!(%error, "a desk page failed");
                "Something went wrong on the server. Try again in a moment.".to_owned()
            }
            DeskError::Api(error) => error.to_string(),
        };
        let page = ErrorPage {
            frame: Frame::signed_out(status.canonical_reason().unwrap_or("Error")),
            message: &message,
        };
        html_status(&page, status).unwrap_or_else(|_| HttpResponse::build(status).finish())
    }
}
