//! Invitations and resets by mail, through a real SMTP conversation with a server the test
//! starts (RFC 5321's commands over TCP; the messages it takes are read back whole).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{Options, TestApp};

/// One message as the SMTP server took it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The body with quoted-printable soft line breaks joined (`=\r\n`) and `=3D` read.
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The secret after `#token=` in the message.
    pub fn token(&self) -> String {
        let text = self.text();
        let at = text.find("#token=").expect("a link in the mail") + "#token=".len();
        text[at..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect()
    }
}

/// An SMTP server on a free port, keeping what it is sent; stopped when dropped.
pub struct SmtpServer {
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, kept.clone()));
            }
        });
        SmtpServer { url, mails, task }
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..200 {
            if self.mails.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.mails.lock().unwrap().clone()
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One SMTP session: greeting, EHLO, MAIL, RCPT, DATA (dot-terminated, dot-unstuffed), QUIT.
async fn converse(stream: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let say = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        write
            .write_all(format!("{text}\r\n").as_bytes())
            .await
            .is_ok()
    };
    if !say(&mut write, "220 test.example ESMTP").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-test.example\r\n250 8BITMIME".to_owned()
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            "250 OK".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().to_owned();
            "250 OK".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().to_owned());
            "250 OK".to_owned()
        } else if upper == "DATA" {
            if !say(&mut write, "354 end with <CRLF>.<CRLF>").await {
                return;
            }
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            "250 OK: queued".to_owned()
        } else if upper == "QUIT" {
            let _ = say(&mut write, "221 bye").await;
            return;
        } else {
            "502 command not implemented".to_owned()
        };
        if !say(&mut write, &reply).await {
            return;
        }
    }
}

#[tokio::test]
async fn invitations_and_resets_are_mailed_and_the_mailed_links_work() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with(Options {
        smtp_url: Some(smtp.url.clone()),
        public_url: Some("https://news.example.com".into()),
        ..Default::default()
    })
    .await;
    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&app.admin),
            &json!({"email": "ines@example.com", "name": "Ines Marchetti", "role": "editor"}),
        )
        .await
        .expect(201);
    assert_eq!(invited["mailed"], true);
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    let invitation = &mails[0];
    assert_eq!(invitation.to, ["<ines@example.com>"]);
    assert_eq!(invitation.from, "<noreply@news.example.com>");
    assert!(
        invitation.text().contains("Subject: You are invited to"),
        "{}",
        invitation.data
    );
    assert!(
        invitation
            .text()
            .contains("https://news.example.com/desk/accept#token=")
    );
    // The mailed link is the one the admin was shown, and it works.
    assert!(
        invited["invitation_url"]
            .as_str()
            .unwrap()
            .ends_with(&invitation.token())
    );
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": invitation.token(), "password": crate::people::PASSWORD}),
    )
    .await
    .expect(200);

    // An admin's reset link, handed over (and mailed): a stranger's reset request for the
    // same email must not cancel it.
    let id = invited["user"]["id"].as_str().unwrap();
    let handed = app
        .post(
            &format!("/api/v1/users/{id}/reset-link"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(handed["mailed"], true);
    let handed = handed["reset_url"]
        .as_str()
        .unwrap()
        .split("#token=")
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(smtp.wait_for(2).await[1].token(), handed);

    // Forgot the password: the same answer for a person and for no one; only the person
    // gets mail.
    let asked = app
        .post(
            "/api/v1/auth/reset",
            None,
            &json!({"email": "INES@example.com"}),
        )
        .await
        .expect(202);
    let nobody = app
        .post(
            "/api/v1/auth/reset",
            None,
            &json!({"email": "nobody@example.com"}),
        )
        .await
        .expect(202);
    assert_eq!(asked, nobody);
    let mails = smtp.wait_for(3).await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    let reset = &mails[2];
    assert_eq!(reset.to, ["<ines@example.com>"]);
    assert!(
        reset
            .text()
            .contains("https://news.example.com/desk/reset#token=")
    );
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": reset.token(), "password": "a brand new password"}),
    )
    .await
    .expect(200);
    crate::people::sign_in(&app, "ines@example.com", "a brand new password")
        .await
        .expect(201);
    // No more mail went anywhere; the admin's link still works (it was not cancelled).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.mails().len(), 3);
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": handed, "password": "yet another password"}),
    )
    .await
    .expect(200);
    // Asking too often for one email is refused: three an hour are taken.
    for _ in 0..2 {
        app.post(
            "/api/v1/auth/reset",
            None,
            &json!({"email": "ines@example.com"}),
        )
        .await
        .expect(202);
    }
    app.post(
        "/api/v1/auth/reset",
        None,
        &json!({"email": "ines@example.com"}),
    )
    .await
    .problem(429);
}

#[tokio::test]
async fn without_mail_a_reset_request_says_to_ask_an_admin() {
    let app = TestApp::spawn().await;
    let refused = app
        .post(
            "/api/v1/auth/reset",
            None,
            &json!({"email": "ines@example.com"}),
        )
        .await
        .problem(409);
    assert!(refused["detail"].as_str().unwrap().contains("ask an admin"));
    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&app.admin),
            &json!({"email": "ines@example.com", "name": "Ines", "role": "editor"}),
        )
        .await
        .expect(201);
    assert_eq!(invited["mailed"], false);
}
