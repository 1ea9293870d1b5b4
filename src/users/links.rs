//! The links people are sent (an invitation, a password reset): where they point, and
//! mailing them once the write that made them has committed.
use actix_web::web;

use super::model::{self, UserStatus};
use super::write;
use crate::state::AppState;

/// The page of the desk a link opens, its secret after `#` (never sent to a server in a
/// request line or a `Referer`), always at the configured public URL: never a host a
/// request named (a forged `X-Forwarded-Host` must not send a secret to someone else's site).
pub(super) fn link_url(state: &AppState, mailing: &Mailing, secret: &str) -> String {
    format!(
        "{}/desk/{}#token={secret}",
        state.origin.configured_base(),
        mailing.page()
    )
}

/// What a link is for.
pub(super) enum Mailing {
    /// Choosing a first password; invited by this person.
    Invitation(String),
    /// Choosing a new one.
    Reset,
}

impl Mailing {
    /// What a new link to `user` is for: an invited person is invited again.
    pub(super) fn of(user: &model::User, by: &str) -> Mailing {
        match user.status() {
            UserStatus::Invited => Mailing::Invitation(by.to_owned()),
            UserStatus::Active | UserStatus::Disabled => Mailing::Reset,
        }
    }

    /// The desk's page for it.
    fn page(&self) -> &'static str {
        match self {
            Mailing::Invitation(_) => "accept",
            Mailing::Reset => "reset",
        }
    }
}

/// Mails a committed link to its person in the background, when mail is configured (a mail
/// server's pace holds no request, connection or lock; a failure is logged by the mailer).
pub(super) fn mail_later(state: &web::Data<AppState>, link: write::Link, mailing: Mailing) {
    let Some(mailer) = state.mailer.clone() else {
        return;
    };
    let state = state.clone();
    crate::stopping::spawn(async move {
        let url = link_url(&state, &mailing, &link.secret);
        let user = &link.user;
        let site = &state.site.name;
        let until = link.expires_at.format("%Y-%m-%d %H:%M UTC");
        let (subject, body) = match mailing {
            Mailing::Invitation(by) => (
                format!("You are invited to {site}"),
                format!(
                    "Hello {},\n\n{by} invited you to {site}. Choose your password here (the \
                     link works once, until {until}):\n\n{url}\n",
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
        mailer.send((&user.name, &user.email), &subject, body).await;
    });
}
