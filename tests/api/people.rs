//! People: invitations, sign-in with a session cookie and its CSRF token, limits on
//! guessing, ending sessions, disabling, the contributor role and people's own tokens.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Reply, TestApp};

pub const PASSWORD: &str = "tram lines at dusk";

/// A signed-in browser: its cookie and the CSRF token its writes send.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub fn on(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .header("cookie", format!("lede_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
    }
}

/// Invites a person as the admin and accepts the invitation: their id.
pub async fn person(app: &TestApp, email: &str, role: &str, author: Option<&str>) -> String {
    let mut body = json!({"email": email, "name": format!("Person {email}"), "role": role});
    if let Some(author) = author {
        body["author"] = json!(author);
    }
    let invited = app
        .post("/api/v1/users/invitations", Some(&app.admin), &body)
        .await
        .expect(201);
    let url = invited["invitation_url"].as_str().unwrap();
    let secret = url.split("#token=").nth(1).unwrap();
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": secret, "password": PASSWORD}),
    )
    .await
    .expect(200);
    invited["user"]["id"].as_str().unwrap().to_owned()
}

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Reply {
    app.post(
        "/api/v1/auth/sessions",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
}

/// Signs in and keeps the cookie and CSRF token.
pub async fn session(app: &TestApp, email: &str) -> Session {
    let reply = sign_in(app, email, PASSWORD).await;
    let body = reply.expect(201);
    let set = reply.header("set-cookie").unwrap();
    let cookie = set
        .strip_prefix("lede_session=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

async fn me(app: &TestApp, session: &Session) -> Reply {
    app.send(session.on(app.request(Method::GET, "/api/v1/auth/me")))
        .await
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_signing_in_gives_a_session_cookie() {
    let app = TestApp::spawn().await;
    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&app.admin),
            &json!({"email": "Ines@Example.com", "name": "Ines Marchetti", "role": "author", "author": "test-author"}),
        )
        .await
        .expect(201);
    assert_eq!(invited["user"]["status"], "invited");
    assert_eq!(invited["user"]["author"]["slug"], "test-author");
    let url = invited["invitation_url"].as_str().unwrap();
    assert!(url.contains("/desk/accept#token="), "{url}");
    let secret = url.split("#token=").nth(1).unwrap();
    // The same email again, in another case: taken.
    app.post(
        "/api/v1/users/invitations",
        Some(&app.admin),
        &json!({"email": "ines@example.COM", "name": "Other", "role": "editor"}),
    )
    .await
    .problem(409);
    // Not yet a person who can sign in.
    sign_in(&app, "ines@example.com", PASSWORD)
        .await
        .problem(401);
    // A weak password is refused, and the link still works after.
    let weak = app
        .post(
            "/api/v1/auth/accept",
            None,
            &json!({"token": secret, "password": "password1234"}),
        )
        .await
        .problem(422);
    assert_eq!(weak["errors"][0]["code"], "too_common");
    let accepted = app
        .post(
            "/api/v1/auth/accept",
            None,
            &json!({"token": secret, "password": PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(accepted["status"], "active");
    // Once only.
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": secret, "password": "another long one"}),
    )
    .await
    .problem(404);

    let reply = sign_in(&app, "INES@example.com", PASSWORD).await;
    let body = reply.expect(201);
    let cookie = reply.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("lede_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    // Served over http here: not `Secure` (the next test's https site is).
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(body["user"]["email"], "Ines@Example.com");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);
    // The password is stored as an Argon2id hash, never as given.
    let stored = app.sql_text("SELECT password_hash FROM users").await;
    assert!(
        stored[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored:?}"
    );
    assert!(!stored[0].contains(PASSWORD));

    let session = session(&app, "ines@example.com").await;
    let who = me(&app, &session).await.expect(200);
    assert_eq!(who["via"], "session");
    assert_eq!(who["role"], "author");
    assert_eq!(who["actor"]["kind"], "user");
    assert_eq!(who["actor"]["name"], "Ines Marchetti");
    assert_eq!(who["user"]["email"], "Ines@Example.com");
    // A token says who it is too.
    let token = app
        .get("/api/v1/auth/me", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(token["via"], "token");
    assert_eq!(token["actor"]["kind"], "token");
    assert_eq!(token["user"], Value::Null);
}

#[tokio::test]
async fn the_cookie_is_secure_on_an_https_site() {
    let app = TestApp::spawn_with(crate::support::Options {
        public_url: Some("https://news.example.com".into()),
        ..Default::default()
    })
    .await;
    person(&app, "sec@example.com", "editor", None).await;
    let reply = sign_in(&app, "sec@example.com", PASSWORD).await;
    reply.expect(201);
    assert!(reply.header("set-cookie").unwrap().contains("Secure"));
}

#[tokio::test]
async fn a_cookie_write_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    person(&app, "ed@example.com", "editor", None).await;
    let session = session(&app, "ed@example.com").await;
    let cookie_only = app
        .request(Method::POST, "/api/v1/tags")
        .header("cookie", format!("lede_session={}", session.cookie))
        .json(&json!({"name": "Forged"}));
    let refused = app.send(cookie_only).await.problem(403);
    assert!(
        refused["detail"].as_str().unwrap().contains("x-csrf-token"),
        "{refused}"
    );
    let wrong = app
        .request(Method::POST, "/api/v1/tags")
        .header("cookie", format!("lede_session={}", session.cookie))
        .header("x-csrf-token", "not-the-token")
        .json(&json!({"name": "Forged"}));
    app.send(wrong).await.problem(403);
    app.get("/api/v1/tags/forged", None).await.problem(404);
    // With it, the write is made, as the person.
    let made = app
        .send(
            session
                .on(app.request(Method::POST, "/api/v1/tags"))
                .json(&json!({"name": "Real"})),
        )
        .await;
    made.expect(201);
    // Reads need no CSRF token, and a signed-in read is never a public cached answer.
    let draft = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Hidden draft", "author": "test-author"}),
        )
        .await
        .expect(201);
    let slug = draft["slug"].as_str().unwrap();
    let path = format!("/api/v1/articles/{slug}");
    app.get(&path, None).await.problem(404);
    let seen = app
        .send(
            app.request(Method::GET, &path)
                .header("cookie", format!("lede_session={}", session.cookie)),
        )
        .await;
    seen.expect(200);
    assert_eq!(seen.header("cache-control"), Some("private, no-store"));
    app.get(&path, None).await.problem(404);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_answer_alike_and_guessing_is_refused() {
    let app = TestApp::spawn().await;
    person(&app, "ada@example.com", "author", Some("test-author")).await;
    let wrong = sign_in(&app, "ada@example.com", "not her password").await;
    let unknown = sign_in(&app, "nobody@example.com", "not her password").await;
    let (wrong, unknown) = (wrong.problem(401), unknown.problem(401));
    for field in ["type", "title", "status", "detail"] {
        assert_eq!(wrong[field], unknown[field], "{field}");
    }
    // Nine more wrong ones make ten in the minute; the eleventh is refused, and so is the
    // right password until the minute is over.
    for _ in 0..9 {
        sign_in(&app, "ada@example.com", "still wrong")
            .await
            .problem(401);
    }
    let refused = sign_in(&app, "ada@example.com", "still wrong").await;
    refused.problem(429);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    sign_in(&app, "ada@example.com", PASSWORD)
        .await
        .problem(429);
    // Another account from the same address is not locked out by it.
    person(&app, "bo@example.com", "editor", None).await;
    sign_in(&app, "bo@example.com", PASSWORD).await.expect(201);
    // Once the window has passed (moved back here, not waited for), the right one works.
    app.exec("UPDATE comment_limits SET window_start = window_start - interval '61 seconds'")
        .await;
    sign_in(&app, "ada@example.com", PASSWORD).await.expect(201);
}

#[tokio::test]
async fn sessions_end_on_sign_out_on_end_all_on_idleness_and_when_the_person_is_disabled() {
    let app = TestApp::spawn().await;
    let id = person(&app, "cy@example.com", "editor", None).await;
    // Signing out ends this session and clears the cookie.
    let first = session(&app, "cy@example.com").await;
    let out = app
        .send(first.on(app.request(Method::DELETE, "/api/v1/auth/sessions/current")))
        .await;
    out.expect(204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    me(&app, &first).await.problem(401);
    // A token cannot sign out.
    app.delete("/api/v1/auth/sessions/current", Some(&app.editor))
        .await
        .problem(400);

    // "End all": both of the person's sessions.
    let (a, b) = (
        session(&app, "cy@example.com").await,
        session(&app, "cy@example.com").await,
    );
    app.send(a.on(app.request(Method::DELETE, &format!("/api/v1/users/{id}/sessions"))))
        .await
        .expect(204);
    me(&app, &a).await.problem(401);
    me(&app, &b).await.problem(401);

    // Unused for longer than the idle expiry (the clock moved back, not waited for).
    let idle = session(&app, "cy@example.com").await;
    me(&app, &idle).await.expect(200);
    app.exec("UPDATE sessions SET last_used_at = now() - interval '12 hours 1 minute'")
        .await;
    me(&app, &idle).await.problem(401);

    // Disabling ends the person's sessions and tokens at once.
    let live = session(&app, "cy@example.com").await;
    let token = app
        .send(
            live.on(app.request(Method::POST, "/api/v1/tokens"))
                .json(&json!({"name": "cy's script", "role": "editor"})),
        )
        .await
        .expect(201);
    let secret = token["secret"].as_str().unwrap().to_owned();
    assert_eq!(token["user_id"], id.as_str());
    app.get("/api/v1/auth/me", Some(&secret)).await.expect(200);
    let disabled = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&app.admin),
            &json!({"status": "disabled"}),
        )
        .await
        .expect(200);
    assert_eq!(disabled["status"], "disabled");
    me(&app, &live).await.problem(401);
    app.get("/api/v1/auth/me", Some(&secret)).await.problem(401);
    sign_in(&app, "cy@example.com", PASSWORD).await.problem(401);
    // Enabled again, their old token stays revoked.
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&app.admin),
        &json!({"status": "active"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/auth/me", Some(&secret)).await.problem(401);
    sign_in(&app, "cy@example.com", PASSWORD).await.expect(201);
}

#[tokio::test]
async fn a_persons_token_has_at_most_their_role_and_a_reset_link_works_once() {
    let app = TestApp::spawn().await;
    let id = person(&app, "dee@example.com", "author", Some("test-author")).await;
    let session = session(&app, "dee@example.com").await;
    let above = app
        .send(
            session
                .on(app.request(Method::POST, "/api/v1/tokens"))
                .json(&json!({"name": "more", "role": "editor"})),
        )
        .await
        .problem(422);
    assert_eq!(above["errors"][0]["code"], "above_yours");
    // Another's token, or a service token, only admins make.
    app.send(
        session
            .on(app.request(Method::POST, "/api/v1/tokens"))
            .json(&json!({"name": "x", "role": "author", "user": uuid::Uuid::now_v7()})),
    )
    .await
    .problem(403);
    // The admin makes an editor token for them; demoted, the token's role follows.
    let token = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "dee's", "role": "editor", "user": id}),
        )
        .await
        .expect(201);
    let secret = token["secret"].as_str().unwrap().to_owned();
    let who = app.get("/api/v1/auth/me", Some(&secret)).await.expect(200);
    assert_eq!(
        who["role"], "author",
        "the lower of the token's and the person's"
    );
    assert_eq!(who["actor"]["name"], "Person dee@example.com");

    // A person sees and renames themselves, not others; only admins change roles.
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&secret),
        &json!({"name": "Dee Dee"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&secret),
        &json!({"role": "admin"}),
    )
    .await
    .problem(403);
    app.get("/api/v1/users", Some(&secret)).await.problem(403);
    let other = person(&app, "eve@example.com", "editor", None).await;
    app.get(&format!("/api/v1/users/{other}"), Some(&secret))
        .await
        .problem(403);
    app.get(&format!("/api/v1/users/{id}"), Some(&secret))
        .await
        .expect(200);

    // A reset link: the new password works, the old one and the old session do not.
    let reset = app
        .post(
            &format!("/api/v1/users/{id}/reset-link"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(200);
    let url = reset["reset_url"].as_str().unwrap();
    assert!(url.contains("/desk/reset#token="), "{url}");
    let link = url.split("#token=").nth(1).unwrap();
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": link, "password": "a new long password"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/auth/accept",
        None,
        &json!({"token": link, "password": "a new long password"}),
    )
    .await
    .problem(404);
    me(&app, &session).await.problem(401);
    sign_in(&app, "dee@example.com", PASSWORD)
        .await
        .problem(401);
    sign_in(&app, "dee@example.com", "a new long password")
        .await
        .expect(201);
}

#[tokio::test]
async fn a_contributor_writes_drafts_only_and_sees_no_one_elses() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Cora"}),
    )
    .await
    .expect(201);
    person(&app, "cora@example.com", "contributor", Some("cora")).await;
    let cora = session(&app, "cora@example.com").await;
    let post = |body: Value| {
        app.send(
            cora.on(app.request(Method::POST, "/api/v1/articles"))
                .json(&body),
        )
    };
    // Her own draft, under her byline (given or not).
    let draft = post(json!({"title": "Cora's draft"})).await.expect(201);
    assert_eq!(draft["author"]["slug"], "cora");
    assert_eq!(draft["status"], "draft");
    // Not published, scheduled, or under another byline.
    post(json!({"title": "Straight out", "status": "published"}))
        .await
        .problem(403);
    post(json!({"title": "Later", "status": "published", "published_at": "2030-01-01T00:00:00Z"}))
        .await
        .problem(403);
    post(json!({"title": "As another", "author": "test-author"}))
        .await
        .problem(403);
    let id = draft["id"].as_str().unwrap();
    app.send(
        cora.on(app.request(Method::PATCH, &format!("/api/v1/articles/{id}")))
            .json(&json!({"status": "published"})),
    )
    .await
    .problem(403);
    // No uploads.
    let part = reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G']).file_name("x.png");
    app.send(
        cora.on(app.request(Method::POST, "/api/v1/images"))
            .multipart(reqwest::multipart::Form::new().part("file", part)),
    )
    .await
    .problem(403);
    // Another author's draft does not exist for her.
    let other = app
        .post(
            "/api/v1/articles",
            Some(&app.author),
            &json!({"title": "Someone else's draft"}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/articles/{}", other["id"].as_str().unwrap());
    app.send(cora.on(app.request(Method::GET, &path)))
        .await
        .problem(404);
    let listed = app
        .send(cora.on(app.request(Method::GET, "/api/v1/articles?status=draft")))
        .await
        .expect(200);
    let titles: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Cora's draft"]);
    // Once an editor publishes it, it is no longer hers to change.
    app.patch(
        &format!("/api/v1/articles/{id}"),
        Some(&app.editor),
        &json!({"status": "published"}),
    )
    .await
    .expect(200);
    app.send(
        cora.on(app.request(Method::PATCH, &format!("/api/v1/articles/{id}")))
            .json(&json!({"title": "Changed"})),
    )
    .await
    .problem(403);
}

#[tokio::test]
async fn the_last_admin_stays_and_no_one_disables_themselves() {
    let app = TestApp::spawn().await;
    let first = person(&app, "first.admin@example.com", "admin", None).await;
    let session = session(&app, "first.admin@example.com").await;
    let own = |body: serde_json::Value| {
        session
            .on(app.request(Method::PATCH, &format!("/api/v1/users/{first}")))
            .json(&body)
    };
    // Not oneself, and not the last admin who can sign in (by anyone).
    let refused = app
        .send(own(json!({"status": "disabled"})))
        .await
        .problem(409);
    assert!(refused["detail"].as_str().unwrap().contains("yourself"));
    let refused = app.send(own(json!({"role": "editor"}))).await.problem(409);
    assert!(refused["detail"].as_str().unwrap().contains("last admin"));
    app.patch(
        &format!("/api/v1/users/{first}"),
        Some(&app.admin),
        &json!({"status": "disabled"}),
    )
    .await
    .problem(409);
    // With a second admin, the first may step down, and then the second is the last.
    let second = person(&app, "second.admin@example.com", "admin", None).await;
    app.send(own(json!({"role": "editor"}))).await.expect(200);
    app.patch(
        &format!("/api/v1/users/{second}"),
        Some(&app.admin),
        &json!({"role": "author", "author": "test-author"}),
    )
    .await
    .problem(409);
    me(&app, &session).await.expect(200);
}
