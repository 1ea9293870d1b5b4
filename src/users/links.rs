//! The links people are sent (an invitation, a password reset): where they point, and
//! mailing them once the write that made them has committed.
use actix_web::web;

use super::model::{self, UserStatus};
use super::write;
use crate::state::AppState;

/// The page of the desk a link opens, its secret after `#` (never sent to a server in a
/// request line or a `Referer`).
/// Always at the configured public URL: never a host a request named (a forged
/// `X-Forwarded-Host` must not send a mailed secret to someone else's site).
pub(super) fn link_url(state: &AppState, page: &str, secret: &str) -> String {
    format!(
        "{}/desk/{page}#token={secret}",
        state.origin.configured_base()
    )
}

/// What a mailed link is for.
pub(super) enum Mailing {
    /// Invited by this person.
    Invitation(String),
    Reset,
}

impl Mailing {
    /// What a link to `user` is for: an invited person is invited again.
    pub(super) fn of(user: &model::User, by: &str) -> (&'static str, Mailing) {
        match user.status() {
            UserStatus::Invited => ("accept", Mailing::Invitation(by.to_owned())),
            UserStatus::Active | UserStatus::Disabled => ("reset", Mailing::Reset),
        }
    }
}

/// Mails a committed link to its person in the background, when mail is configured (a mail
/// server's pace holds no request, connection or lock; a failure is logged).
pub(super) fn mail_later(state: &web::Data<AppState>, link: write::Link, mailing: Mailing) {
    if state.mailer.is_none() {
        return;
    }
    let state = state.clone();
    crate::stopping::spawn(async move {
        let page = match mailing {
            Mailing::Invitation(_) => "accept",
            Mailing::Reset => "reset",
        };
        let url = link_url(&state, page, &link.secret);
        mail_link(&state, &link.user, mailing, &url, link.expires_at).await;
    });
}

/// Mails `url` to `user`; whether it was handed over.
async fn mail_link(
    state: &AppState,
    user: &model::User,
    mailing: Mailing,
    url: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(mailer) = &state.mailer else {
        return false;
    };
    let site = &state.site.name;
    let until = expires_at.format("%Y-%m-%d %H:%M UTC");
    let (subject, body) = match mailing {
        Mailing::Invitation(by) => (
            format!("You are invited to {site}"),
            format!(
                "Hello {},\n\n{by} invited you to {site}. Choose your password here (the link \
                 works once, until {until}):\n\n{url}\n",
                user.name
            ),
        ),
        Mailing::Reset => (
            format!("A new password for {site}"),
            format!(
                "Hello {},\n\nChoose a new password here (the link works once, until \
                 {until}; signing in with it ends your other sessions):\n\n{url}\n\n\
                 If you did not ask for this, ignore this message: your password stays.\n",
                user.name
            ),
        ),
    };
    mailer.send((&user.name, &user.email), &subject, body).await
}
