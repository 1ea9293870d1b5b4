//! Signing in and out, and choosing a password from an invitation or a reset link. Each is
//! the API's own request (`/api/v1/auth/...`); its cookie is passed on to the browser.
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::api::Api;
use super::page::{
    CsrfOnly, DeskError, Frame, Person, Posted, capitalised, html, html_status, see_other,
};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    frame: Frame,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignedOut {
    #[serde(default)]
    done: Option<String>,
}

pub async fn page(
    person: Option<Person>,
    query: web::Query<SignedOut>,
) -> Result<HttpResponse, DeskError> {
    if person.is_some() {
        return Ok(see_other("/desk"));
    }
    let flash = match query.done.as_deref() {
        Some("out") => Some("You are signed out.".to_owned()),
        Some("password") => Some("Your password is set. Sign in with it.".to_owned()),
        _ => None,
    };
    html(&SignInPage {
        frame: Frame::signed_out("Sign in").with_flash(flash),
        email: String::new(),
        error: None,
    })
}

/// `response` with the API's `Set-Cookie`s (a session's start or end) for the browser.
fn with_cookies(mut response: HttpResponse, cookies: Vec<header::HeaderValue>) -> HttpResponse {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

pub async fn submit(
    req: HttpRequest,
    form: web::Form<Credentials>,
) -> Result<HttpResponse, DeskError> {
    let body = json!({"email": form.email, "password": form.password});
    let answer = Api::signing_in(&req)
        .send(Method::POST, "/api/v1/auth/sessions", Some(&body), None)
        .await?;
    match answer {
        Ok(success) => Ok(with_cookies(see_other("/desk"), success.cookies)),
        Err(refusal) => {
            let error = match refusal.status {
                StatusCode::UNAUTHORIZED => "The email or the password is wrong.".to_owned(),
                StatusCode::TOO_MANY_REQUESTS => {
                    format!("Too many tries. {}", capitalised(&refusal.detail()))
                }
                _ => capitalised(&refusal.detail()),
            };
            html_status(
                &SignInPage {
                    frame: Frame::signed_out("Sign in"),
                    email: form.email.chars().take(254).collect(),
                    error: Some(error),
                },
                refusal.status,
            )
        }
    }
}

pub async fn sign_out(
    req: HttpRequest,
    posted: Posted<CsrfOnly>,
) -> Result<HttpResponse, DeskError> {
    let answer = posted
        .api(&req)
        .send(Method::DELETE, "/api/v1/auth/sessions/current", None, None)
        .await?;
    let cookies = answer.map(|success| success.cookies).unwrap_or_default();
    Ok(with_cookies(see_other("/desk/sign-in?done=out"), cookies))
}

/// The page an invitation or a reset link opens: the secret is after `#` (never sent to a
/// server by the browser), put into the form by the desk's script.
#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    frame: Frame,
    action: &'static str,
    intro: &'static str,
    error: Option<String>,
    /// After a refused password, the link's secret again, to try another (the page is
    /// kept by no cache).
    token: String,
}

const ACCEPT_INTRO: &str = "Welcome. Choose a password of at least 12 characters to finish \
                            setting up your account.";
const RESET_INTRO: &str = "Choose a new password of at least 12 characters.";

pub async fn accept_page() -> Result<HttpResponse, DeskError> {
    password_page(
        "/desk/accept",
        ACCEPT_INTRO,
        None,
        String::new(),
        StatusCode::OK,
    )
}

pub async fn reset_page() -> Result<HttpResponse, DeskError> {
    password_page(
        "/desk/reset",
        RESET_INTRO,
        None,
        String::new(),
        StatusCode::OK,
    )
}

fn password_page(
    action: &'static str,
    intro: &'static str,
    error: Option<String>,
    token: String,
    status: StatusCode,
) -> Result<HttpResponse, DeskError> {
    html_status(
        &PasswordPage {
            frame: Frame::signed_out("Choose a password"),
            action,
            intro,
            error,
            token,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct NewPassword {
    #[serde(default)]
    token: String,
    password: String,
}

pub async fn accept(
    req: HttpRequest,
    form: web::Form<NewPassword>,
) -> Result<HttpResponse, DeskError> {
    set_password(req, form, "/desk/accept", ACCEPT_INTRO).await
}

pub async fn reset(
    req: HttpRequest,
    form: web::Form<NewPassword>,
) -> Result<HttpResponse, DeskError> {
    set_password(req, form, "/desk/reset", RESET_INTRO).await
}

async fn set_password(
    req: HttpRequest,
    form: web::Form<NewPassword>,
    action: &'static str,
    intro: &'static str,
) -> Result<HttpResponse, DeskError> {
    if form.token.is_empty() {
        return password_page(
            action,
            intro,
            Some("This page needs the link you were sent: open it again from the message.".into()),
            String::new(),
            StatusCode::BAD_REQUEST,
        );
    }
    let body = json!({"token": form.token, "password": form.password});
    let answer = Api::signing_in(&req)
        .send(Method::POST, "/api/v1/auth/accept", Some(&body), None)
        .await?;
    match answer {
        Ok(_) => Ok(see_other("/desk/sign-in?done=password")),
        Err(refusal) => {
            let fields = refusal.field_errors();
            let error = if fields.is_empty() {
                capitalised(&refusal.detail())
            } else {
                fields
                    .iter()
                    .map(|(_, message)| capitalised(message))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            // A link that is used or expired is no use again; a refused password is.
            let token = if refusal.status == StatusCode::NOT_FOUND {
                String::new()
            } else {
                form.token.chars().take(100).collect()
            };
            password_page(action, intro, Some(error), token, refusal.status)
        }
    }
}

/// Forgot one's password: a link to choose another is mailed, when the site sends mail.
#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    frame: Frame,
    email: String,
    error: Option<String>,
}

pub async fn forgot_page() -> Result<HttpResponse, DeskError> {
    html(&ForgotPage {
        frame: Frame::signed_out("Forgot your password?"),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct Email {
    email: String,
}

pub async fn forgot(req: HttpRequest, form: web::Form<Email>) -> Result<HttpResponse, DeskError> {
    let body = json!({"email": form.email});
    let answer = Api::signing_in(&req)
        .send(Method::POST, "/api/v1/auth/reset", Some(&body), None)
        .await?;
    let (status, flash, error) = match answer {
        Ok(sent) => (
            StatusCode::OK,
            Some(capitalised(sent.body["detail"].as_str().unwrap_or_default()) + "."),
            None,
        ),
        Err(refusal) if refusal.status == StatusCode::CONFLICT => (
            refusal.status,
            None,
            Some(
                "This site sends no mail: ask an admin for a link to choose a new password.".into(),
            ),
        ),
        Err(refusal) => (refusal.status, None, Some(capitalised(&refusal.detail()))),
    };
    html_status(
        &ForgotPage {
            frame: Frame::signed_out("Forgot your password?").with_flash(flash),
            email: form.email.chars().take(254).collect(),
            error,
        },
        status,
    )
}
