//! The links people are sent (an invitation, a password reset): where they point, and
//! mailing them once the write that made them has committed.
use actix_web::web;

use super::write::{self, Purpose};
use crate::state::AppState;

/// The page of the desk a link opens, its secret after `#` (never sent to a server in a
/// request line or a `Referer`), always at the configured public URL: never a host a
/// request named (a forged `X-Forwarded-Host` must not send a secret to someone else's site).
pub(super) fn link_url(state: &AppState, link: &write::Link) -> String {
    let page = match link.purpose {
        Purpose::Invitation => "accept",
        Purpose::Reset => "reset",
    };
    format!(
        "{}/desk/{page}#token={}",
        state.origin.configured_base(),
        link.secret
    )
}

/// Mails a committed link to its person in the background, when mail is configured (a mail
/// server's pace holds no request, connection or lock; a failure is logged by the mailer).
/// `by` names who invited them (an invitation's mail says so).
pub(super) fn mail_later(state: &web::Data<AppState>, link: write::Link, by: &str) {
    let Some(mailer) = state.mailer.clone() else {
        return;
    };
    let state = state.clone();
    let by = by.to_owned();
    crate::stopping::spawn(async move {
        let url = link_url(&state, &link);
        let user = &link.user;
        let site = &state.site.name;
        let until = link.expires_at.format("%Y-%m-%d %H:%M UTC");
        let (subject, body) = match link.purpose {
            Purpose::Invitation => (
                format!("You are invited to {site}"),
                format!(
                    "Hello {},\n\n{by} invited you to {site}. Choose your password here (the \
                     link works once, until {until}):\n\n{url}\n",
                    user.name
                ),
            ),
            Purpose::Reset => (
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
