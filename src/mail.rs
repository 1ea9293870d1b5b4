//! Mail: invitations and password resets through `LEDE_SMTP_URL` (lettre). Sent after the
//! write that made the link has committed, in the background, never inside its
//! transaction; a failure is logged (the admin hands the link over instead).
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one message may take to hand over.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// This node's way out for mail, when one is configured.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer of `smtp_url`; `None` without one. Mailed links point at the public URL
    /// (`public_url`, required with mail: never a host a request named), whose host is also
    /// the default sender's domain.
    pub fn from_config(
        smtp_url: Option<&str>,
        from: Option<&str>,
        public_url: Option<&str>,
    ) -> anyhow::Result<Option<Mailer>> {
        let Some(url) = smtp_url.filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let Some(base) = public_url else {
            anyhow::bail!("LEDE_SMTP_URL needs LEDE_PUBLIC_URL: the links lede mails point there");
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| anyhow::anyhow!("LEDE_SMTP_URL is not a usable SMTP URL: {error}"))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let host = url::Url::parse(base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .filter(|h| h.contains('.'))
            .unwrap_or_else(|| "localhost.localdomain".to_owned());
        let from = from
            .map(str::to_owned)
            .unwrap_or_else(|| format!("lede <noreply@{host}>"));
        let from = from.parse().map_err(|error| {
            anyhow::anyhow!("LEDE_MAIL_FROM `{from}` is not a mailbox: {error}")
        })?;
        Ok(Some(Mailer { transport, from }))
    }

    /// Sends a plain-text message; one that cannot be handed over is logged (without its
    /// text: it holds a link's secret).
    pub async fn send(&self, to: (&str, &str), subject: &str, body: String) {
        let (name, email) = to;
        let Ok(address) = email.parse() else {
            tracing::warn!("mail: not an address, nothing sent");
            return;
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(name.to_owned()), address))
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "mail: the message could not be made");
                return;
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => {}
            // The link is in the message: never in the log line.
            Ok(Err(error)) => tracing::warn!(%error, "mail: not sent"),
            Err(_) => tracing::warn!("mail: the SMTP server took too long"),
        }
    }
}
