//! Webhooks, delivered to a real HTTP receiver in the test and verified with the reference
//! Standard Webhooks library (`standardwebhooks`), not with lede's own code.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::support::{Options, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: DateTime<Utc>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn id(&self) -> String {
        self.header("webhook-id")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether the reference library accepts its signature under `secret`.
    pub fn verifies_with(&self, secret: &str) -> bool {
        standardwebhooks::Webhook::new(secret)
            .expect("a whsec_ secret")
            .verify(&self.body, &self.headers)
            .is_ok()
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    /// Statuses to answer next (200 when empty); 0 holds the request open for a minute.
    answers: VecDeque<u16>,
}

/// An HTTP endpoint that records what it gets and answers as told.
pub struct Receiver {
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = web::Data::from(inbox.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(shared.clone())
                .default_service(web::to(receive))
        })
        .listen(listener)
        .expect("listen")
        .workers(2)
        .disable_signals()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url,
            inbox,
            server: handle,
        }
    }

    /// The next requests are answered with these statuses (0: held open, no answer).
    pub fn answer(&self, statuses: &[u16]) {
        self.inbox.lock().unwrap().answers.extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }

    /// Waits until `count` requests came (at most `seconds`), and returns them all.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Received> {
        for _ in 0..seconds * 20 {
            if self.received().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    inbox: web::Data<Mutex<Inbox>>,
) -> HttpResponse {
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    let status = {
        let mut inbox = inbox.lock().unwrap();
        inbox.received.push(Received {
            path: req.path().to_owned(),
            headers,
            body: body.to_vec(),
            at: Utc::now(),
        });
        inbox.answers.pop_front().unwrap_or(200)
    };
    if status == 0 {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let mut answer =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status.max(200)).unwrap());
    // A redirect names somewhere else on this receiver: a client that followed it would be seen.
    if (300..400).contains(&status) {
        answer.insert_header(("location", "/followed"));
    }
    answer.finish()
}

/// The delivery log of webhook `id`, oldest attempt first, once it holds `count` attempts
/// (or after 5 s, as it is then).
async fn delivery_log(app: &TestApp, id: &str, count: usize) -> Value {
    let path = format!("/api/v1/webhooks/{id}/deliveries?sort=created_at");
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app.get(&path, Some(&app.admin)).await.expect(200);
        if log["data"].as_array().is_some_and(|d| d.len() == count) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log
}

async fn app() -> TestApp {
    TestApp::spawn_with(Options {
        webhook_allow_private: true,
        ..Options::default()
    })
    .await
}

/// Subscribes `url` to `events`; the webhook with its secret.
pub async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> Value {
    app.post(
        "/api/v1/webhooks",
        Some(&app.admin),
        &json!({"url": url, "events": events, "description": "the test's receiver"}),
    )
    .await
    .expect(201)
}

async fn article(app: &TestApp, body: Value) -> Value {
    let mut body = body;
    body["author"] = json!("test-author");
    body["body_markdown"] = json!("The ferry leaves at nine.");
    app.post("/api/v1/articles", Some(&app.editor), &body)
        .await
        .expect(201)
}

#[actix_web::test]
async fn a_publication_is_one_signed_event_and_a_draft_is_none() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let webhook = subscribe(
        &app,
        &receiver.url,
        &["article.published", "article.updated", "article.deleted"],
    )
    .await;
    let secret = webhook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{webhook}");
    // Shown once: never again.
    let id = webhook["id"].as_str().unwrap();
    let shown = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert!(shown.get("secret").is_none(), "{shown}");

    // A draft, and its edit, are nothing public.
    let draft = article(&app, json!({"title": "Night ferry"})).await;
    let path = format!("/api/v1/articles/{}", draft["id"].as_str().unwrap());
    app.patch(
        &path,
        Some(&app.editor),
        &json!({"subtitle": "Still a draft"}),
    )
    .await
    .expect(200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());

    app.patch(&path, Some(&app.editor), &json!({"status": "published"}))
        .await
        .expect(200);
    let received = receiver.wait_for(1, 10).await;
    assert_eq!(received.len(), 1);
    let published = &received[0];
    assert!(
        published.verifies_with(secret),
        "the reference library verifies it"
    );
    let event = published.json();
    assert_eq!(event["type"], "article.published");
    assert_eq!(event["data"]["slug"], "night-ferry");
    assert_eq!(event["data"]["title"], "Night ferry");
    assert!(
        event["timestamp"].as_str().unwrap().ends_with('Z'),
        "{event}"
    );
    assert!(published.id().starts_with("msg_"));
    assert_eq!(published.header("content-type"), "application/json");
    // A tampered body does not verify.
    let mut forged = published.clone();
    forged.body = String::from_utf8_lossy(&forged.body)
        .replacen("Night", "Day", 1)
        .into_bytes();
    assert!(!forged.verifies_with(secret));

    // A rename says what changed and the slug it had, so a front-end refreshes both pages.
    app.patch(
        &path,
        Some(&app.editor),
        &json!({"title": "Dawn ferry crossing", "slug": "dawn-ferry-crossing"}),
    )
    .await
    .expect(200);
    let received = receiver.wait_for(2, 10).await;
    assert_eq!(received.len(), 2, "{received:?}");
    let renamed = received[1].json();
    assert_eq!(renamed["type"], "article.updated");
    assert_eq!(renamed["data"]["slug"], "dawn-ferry-crossing");
    assert_eq!(
        renamed["changes"],
        json!({"fields": ["slug", "title"], "previous_slug": "night-ferry"}),
        "{renamed}"
    );

    app.delete(&path, Some(&app.editor)).await.expect(204);
    let received = receiver.wait_for(3, 10).await;
    assert_eq!(received.len(), 3, "{received:?}");
    let deleted = received[2].json();
    assert_eq!(deleted["type"], "article.deleted");
    assert_eq!(
        deleted["data"],
        json!({"id": draft["id"], "slug": "dawn-ferry-crossing"})
    );
    assert!(deleted.get("changes").is_none(), "{deleted}");
    assert_ne!(received[0].id(), received[1].id(), "one id per event");
    assert!(received[2].verifies_with(secret));
}

#[actix_web::test]
async fn a_failed_delivery_comes_again_with_the_same_id_and_the_log_shows_both() {
    let app = app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    let webhook = subscribe(&app, &receiver.url, &["article.published"]).await;
    article(
        &app,
        json!({"title": "Harbour lights", "status": "published"}),
    )
    .await;
    let received = receiver.wait_for(2, 15).await;
    assert_eq!(received.len(), 2, "a retry within 10 s: {received:?}");
    assert_eq!(received[0].id(), received[1].id(), "the same webhook-id");
    assert_eq!(received[0].body, received[1].body, "the same body");
    let secret = webhook["secret"].as_str().unwrap();
    assert!(received[1].verifies_with(secret));

    let id = webhook["id"].as_str().unwrap();
    let log = delivery_log(&app, id, 2).await;
    let attempts = log["data"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log}");
    assert_eq!(attempts[0]["attempt"], 1);
    assert_eq!(attempts[0]["response_status"], 500);
    assert_eq!(attempts[0]["error"], "the endpoint answered 500");
    assert!(attempts[0]["next_attempt_at"].is_string());
    // Each attempt its own outcome; the delivery's state is where all of them left it.
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["state"], "succeeded");
    assert_eq!(attempts[1]["attempt"], 2);
    assert_eq!(attempts[1]["response_status"], 200);
    assert_eq!(attempts[1]["error"], Value::Null);
    assert_eq!(attempts[1]["outcome"], "succeeded");
    assert_eq!(attempts[1]["state"], "succeeded");
    assert_eq!(attempts[1]["event_type"], "article.published");
    assert_eq!(attempts[0]["delivery_id"], attempts[1]["delivery_id"]);
    assert_eq!(attempts[0]["message_id"], received[0].id());

    // Redelivered by hand: the same message again.
    let delivery = attempts[0]["delivery_id"].as_str().unwrap();
    let queued = app
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(queued["message_id"], received[0].id());
    let received = receiver.wait_for(3, 10).await;
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].id(), received[0].id());
    let unknown = uuid::Uuid::now_v7();
    app.post(
        &format!("/api/v1/webhooks/{id}/deliveries/{unknown}/redeliver"),
        Some(&app.admin),
        &json!({}),
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn after_a_rotation_both_secrets_sign() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let webhook = subscribe(&app, &receiver.url, &["tag.updated"]).await;
    let id = webhook["id"].as_str().unwrap();
    let old = webhook["secret"].as_str().unwrap();
    let reply = rotated_reply(&app, id).await;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let rotated = reply.expect(200);
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(old, new);
    // Rotated again within the day (a retry whose answer was lost, say): the first secret
    // still signs, beside both newer ones.
    let again = rotated_reply(&app, id).await.expect(200);
    let newest = again["secret"].as_str().unwrap();
    let ping = app
        .post(
            &format!("/api/v1/webhooks/{id}/ping"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(ping["event_type"], "webhook.ping");
    let received = receiver.wait_for(1, 10).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["type"], "webhook.ping");
    assert_eq!(received[0].id(), ping["message_id"].as_str().unwrap());
    for secret in [old, new, newest] {
        assert!(
            received[0].verifies_with(secret),
            "{secret} signs for 24 hours"
        );
    }
    assert_eq!(
        received[0].header("webhook-signature").split(' ').count(),
        3,
        "the current secret and the two retired ones"
    );
    let unknown = uuid::Uuid::now_v7();
    rotated_reply(&app, &unknown.to_string()).await.problem(404);
}

async fn rotated_reply(app: &TestApp, id: &str) -> crate::support::Reply {
    app.post(
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        Some(&app.admin),
        &json!({}),
    )
    .await
}

#[actix_web::test]
async fn a_scheduled_article_is_announced_at_its_instant_with_no_request() {
    let app = app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url, &["article.published"]).await;
    let at = Utc::now() + chrono::TimeDelta::seconds(3);
    let scheduled = article(
        &app,
        json!({"title": "Tide tables", "status": "scheduled", "published_at": at.to_rfc3339()}),
    )
    .await;
    assert_eq!(scheduled["status"], "scheduled");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.received().is_empty(), "not before its instant");
    let received = receiver.wait_for(1, 30).await;
    assert_eq!(received.len(), 1);
    // Never before its instant (one machine, one clock: a little slack for rounding); how
    // soon after it depends on the machine, so only a generous bound.
    let lag = (received[0].at - at).num_milliseconds();
    assert!(
        (-500..=20_000).contains(&lag),
        "announced {lag} ms from its instant"
    );
    assert_eq!(received[0].json()["data"]["slug"], "tide-tables");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "once");
}

#[actix_web::test]
async fn comments_authors_and_tags_are_announced_to_their_subscribers_only() {
    let app = app().await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        &receiver.url,
        &["comment.created", "comment.approved", "tag.updated"],
    )
    .await;
    let story = article(&app, json!({"title": "Breakwater", "status": "published"})).await;
    let comment = app
        .post(
            &format!("/api/v1/articles/{}/comments", story["id"].as_str().unwrap()),
            None,
            &json!({"author_name": "Marta", "author_email": "marta@example.com", "body": "Lovely."}),
        )
        .await
        .expect(201);
    // The honeypot's catch is spam: announced to no one.
    app.post(
        &format!("/api/v1/articles/{}/comments", story["id"].as_str().unwrap()),
        None,
        &json!({"author_name": "Bot", "author_email": "bot@example.com", "body": "Buy now", "website": "http://spam.example"}),
    )
    .await
    .expect(201);
    let received = receiver.wait_for(1, 10).await;
    assert_eq!(received.len(), 1, "the article itself is not subscribed to");
    let created = received[0].json();
    assert_eq!(created["type"], "comment.created");
    assert_eq!(created["data"]["id"], comment["id"]);
    assert_eq!(created["data"]["status"], "pending");
    let text = received[0].body.clone();
    assert!(
        !String::from_utf8_lossy(&text).contains("marta@example.com"),
        "no commenter's email in an event"
    );
    app.patch(
        &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"status": "approved"}),
    )
    .await
    .expect(200);
    let received = receiver.wait_for(2, 10).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].json()["type"], "comment.approved");

    let tag = app
        .post(
            "/api/v1/tags",
            Some(&app.editor),
            &json!({"name": "Harbour"}),
        )
        .await
        .expect(201);
    app.patch(
        &format!("/api/v1/tags/{}", tag["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"description": "Boats and the people on them"}),
    )
    .await
    .expect(200);
    let received = receiver.wait_for(3, 10).await;
    assert_eq!(
        received.len(),
        3,
        "a new tag is not announced; its change is"
    );
    let updated = received[2].json();
    assert_eq!(updated["type"], "tag.updated");
    assert_eq!(
        updated["data"]["description"],
        "Boats and the people on them"
    );
}

#[actix_web::test]
async fn private_and_odd_urls_are_refused_without_the_setting() {
    let app = TestApp::spawn().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0x7f000001/hook",
    ] {
        let problem = app
            .post(
                "/api/v1/webhooks",
                Some(&app.admin),
                &json!({"url": url, "events": ["article.published"]}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
        assert_eq!(
            problem["errors"][0]["code"], "not_allowed",
            "{url}: {problem}"
        );
    }
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/x", "events": ["article.published"]}),
            "url",
        ),
        (
            json!({"url": "javascript:alert(1)", "events": ["article.published"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/x", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["article.exploded"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/x", "events": "article.published"}),
            "events",
        ),
    ] {
        let problem = app
            .post("/api/v1/webhooks", Some(&app.admin), &body)
            .await
            .problem(422);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{body}: {problem}"
        );
    }
    let unknown_field = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin),
            &json!({"url": "https://example.com/x", "events": ["article.published"], "secret": "mine"}),
        )
        .await;
    assert_eq!(unknown_field.status, 422, "{}", unknown_field.text());
    // Admins only.
    let body = json!({"url": "https://example.com/x", "events": ["article.published"]});
    app.post("/api/v1/webhooks", Some(&app.editor), &body)
        .await
        .problem(403);
    app.post("/api/v1/webhooks", None, &body).await.problem(401);
    app.get("/api/v1/webhooks", Some(&app.author))
        .await
        .problem(403);
    app.get("/api/v1/webhooks", None).await.problem(401);
    assert_eq!(
        app.sql_text("SELECT count(*)::text FROM webhooks").await,
        ["0"],
        "nothing written"
    );
}

#[actix_web::test]
async fn webhooks_are_listed_changed_and_deleted_by_admins() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let webhook = subscribe(&app, &receiver.url, &["article.published"]).await;
    let id = webhook["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}");
    let listed = app
        .get("/api/v1/webhooks", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(listed["meta"]["total"], 1);
    assert!(listed["data"][0].get("secret").is_none());

    // The ETag of a read guards a change; after it, it is stale.
    let found = app.get(&path, Some(&app.admin)).await;
    let etag = found.header("etag").unwrap().to_owned();
    let not_modified = app
        .send(
            app.request(reqwest::Method::GET, &path)
                .bearer_auth(&app.admin)
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(not_modified.status, 304);
    let changed = app
        .send(
            app.request(reqwest::Method::PATCH, &path)
                .bearer_auth(&app.admin)
                .header("if-match", &etag)
                .json(&json!({"enabled": false, "description": null, "events": ["article.updated", "article.updated"]})),
        )
        .await
        .expect(200);
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["disabled_reason"], "turned off by an admin");
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["events"], json!(["article.updated"]));
    let stale = app
        .send(
            app.request(reqwest::Method::DELETE, &path)
                .bearer_auth(&app.admin)
                .header("if-match", &etag),
        )
        .await;
    assert_eq!(stale.status, 412);
    // What cannot be removed is not removed by `null`.
    for field in ["url", "events", "enabled"] {
        let problem = app
            .patch(&path, Some(&app.admin), &json!({field: null}))
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    // A disabled endpoint is sent nothing.
    article(&app, json!({"title": "Quiet night", "status": "published"})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty());

    app.delete(&path, Some(&app.admin)).await.expect(204);
    app.get(&path, Some(&app.admin)).await.problem(404);
    app.get("/api/v1/webhooks/not-a-uuid", Some(&app.admin))
        .await
        .problem(400);
}

#[actix_web::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_says_why() {
    let app = app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[503, 503]);
    let webhook = subscribe(&app, &receiver.url, &["tag.updated"]).await;
    let id = webhook["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}");
    // Failing for a while already.
    app.exec(&format!(
        "UPDATE webhooks SET failing_since = now() - interval '1 day' WHERE id = '{id}'"
    ))
    .await;
    app.post(&format!("{path}/ping"), Some(&app.admin), &json!({}))
        .await
        .expect(202);
    receiver.wait_for(1, 10).await;
    let attempts = format!("SELECT count(*) FROM webhook_attempts WHERE webhook_id = '{id}'");
    for _ in 0..40 {
        if app.sql_text(&attempts).await == ["1"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = app.get(&path, Some(&app.admin)).await.expect(200);
    assert_eq!(shown["enabled"], true, "one day is not five: {shown}");
    assert!(shown["failing_since"].is_string(), "{shown}");

    // Five days and more: the next failure turns it off.
    app.exec(&format!(
        "UPDATE webhooks SET failing_since = now() - interval '6 days' WHERE id = '{id}'"
    ))
    .await;
    app.exec(&format!(
        "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE webhook_id = '{id}' AND state = 'pending'"
    ))
    .await;
    receiver.wait_for(2, 10).await;
    let mut disabled = Value::Null;
    for _ in 0..40 {
        disabled = app.get(&path, Some(&app.admin)).await.expect(200);
        if disabled["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["enabled"], false, "{disabled}");
    let reason = disabled["disabled_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("5 days") && reason.contains("503"),
        "{reason}"
    );

    // Turned on again by an admin: its failures are forgotten, and what was pending goes out.
    let enabled = app
        .patch(&path, Some(&app.admin), &json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    assert_eq!(enabled["failing_since"], Value::Null);
    let received = receiver.wait_for(3, 10).await;
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].id(), received[0].id(), "the same ping, at last");
}

#[actix_web::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let app = app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[307]);
    let webhook = subscribe(&app, &receiver.url, &["tag.updated"]).await;
    let id = webhook["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/webhooks/{id}/ping"),
        Some(&app.admin),
        &json!({}),
    )
    .await
    .expect(202);
    let log = delivery_log(&app, id, 1).await;
    assert_eq!(log["data"][0]["response_status"], 307, "{log}");
    assert_eq!(log["data"][0]["error"], "the endpoint answered 307");
    let paths: Vec<String> = receiver.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/hook"], "not followed");
}

/// A name that resolved to a public address when it was saved and now points somewhere
/// private (DNS rebinding) reaches nothing: the address is checked again when sending.
#[actix_web::test]
async fn an_address_turned_private_after_saving_is_refused_when_sending() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    // What the API would refuse, written behind its back as if DNS had changed since.
    let rebound = receiver.url.replace("127.0.0.1", "localhost");
    let literal = receiver.url.clone();
    for (n, url) in [rebound, literal].iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        app.exec(&format!(
            "INSERT INTO webhooks (id, url, events, secret) VALUES ('{id}', '{url}', '{{tag.updated}}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')"
        ))
        .await;
        app.post(
            &format!("/api/v1/webhooks/{id}/ping"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(202);
        let log = delivery_log(&app, &id.to_string(), 1).await;
        let error = log["data"][0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("public address"),
            "attempt {n} ({url}): {log}"
        );
        assert_eq!(log["data"][0]["response_status"], Value::Null);
    }
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
}

/// An image's AVIF and WebP, made by a job after its upload was answered, are announced
/// as `image.updated` with the new variants.
#[tokio::test]
async fn an_images_modern_renditions_are_announced_as_image_updated() {
    let app = app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url, &["image.updated"]).await;
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&image::RgbImage::from_fn(700, 400, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }))
        .unwrap();
    let image = app
        .upload_unwaited(Some(&app.editor), jpeg, "pier.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    let received = receiver.wait_for(1, 60).await;
    assert_eq!(received.len(), 1, "one announcement: the renditions");
    let event = received[0].json();
    assert_eq!(event["type"], "image.updated");
    assert_eq!(event["data"]["id"], image["id"]);
    let formats: Vec<&str> = event["data"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["mime_type"].as_str().unwrap())
        .collect();
    assert!(
        formats.contains(&"image/avif") && formats.contains(&"image/webp"),
        "{event}"
    );
}

/// Changes a newer release recorded (a kind of thing, an action or an event this release does
/// not know: nodes of two releases run side by side during a deploy) hold nothing back: the
/// events after them still reach subscribers, and an article's change is taken into the
/// search index whatever its action.
#[actix_web::test]
async fn a_newer_releases_changes_hold_back_nothing() {
    let app = app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url, &["article.published"]).await;
    let draft = article(&app, json!({"title": "Night ferry"})).await;
    let id = draft["id"].as_str().unwrap();
    app.exec(&format!(
        "INSERT INTO changes (resource, resource_id, event, keys, announce) VALUES \
         ('series', gen_random_uuid(), 'created', ARRAY['series:{id}'], 'series.created'); \
         UPDATE articles SET title = 'Night ferry seen by a newer node' WHERE id = '{id}'; \
         INSERT INTO changes (resource, resource_id, event, keys, announce) VALUES \
         ('article', '{id}', 'embargoed', ARRAY[]::text[], 'article.embargoed')"
    ))
    .await;
    crate::support::eventually(
        30,
        "the index has the article as the newer node left it",
        || async {
            let found = app
                .get("/api/v1/articles?q=newer&status=any", Some(&app.editor))
                .await
                .expect(200);
            found["data"][0]["id"] == id
        },
    )
    .await;
    let path = format!("/api/v1/articles/{id}");
    app.patch(&path, Some(&app.editor), &json!({"status": "published"}))
        .await
        .expect(200);
    let received = receiver.wait_for(1, 10).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].json()["type"], "article.published");
}
