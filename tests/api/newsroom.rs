//! The desk's newsroom pages in a real browser: moderating comments, tags and bylines,
//! people and one's own account, tokens, webhooks and activity; each page checked by
//! axe-core, and the pages kept to their roles over plain HTTP.
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::desk::{sign_in, two_halves};
use crate::people::{PASSWORD, person};
use crate::support::{Options, TempDir, TestApp, eventually};
use crate::webhooks::Receiver;

/// Opens the `<details>` inside `within` (a CSS id selector) by its summary.
async fn open_details(browser: &Browser, within: &str) {
    let id = within.trim_start_matches('#');
    browser
        .client
        .find(Locator::XPath(&format!("//*[@id='{id}']//summary")))
        .await
        .unwrap_or_else(|e| panic!("no summary in {within}: {e}"))
        .click()
        .await
        .unwrap();
}

/// A desk form sent over plain HTTP with `session`'s cookie (what a browser, or a forger
/// holding the cookie, sends).
async fn desk_post(
    app: &TestApp,
    session: &crate::people::Session,
    path: &str,
    form: &[(&str, &str)],
) -> crate::support::Reply {
    app.send(
        app.request(reqwest::Method::POST, path)
            .header("cookie", format!("lede_session={}", session.cookie))
            .form(form),
    )
    .await
}

/// The value of the field labelled `label`.
async fn value_of(browser: &Browser, label: &str) -> String {
    browser
        .field(label)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn comment(app: &TestApp, slug: &str, name: &str, body: &str) -> String {
    app.post(
        &format!("/api/v1/articles/{slug}/comments"),
        None,
        &json!({"author_name": name, "author_email": format!("{}@example.com", name.to_lowercase()),
            "body": body}),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn names(thread: &Value) -> Vec<String> {
    thread["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_editor_moderates_in_bulk_replies_as_staff_and_closes_comments() {
    let app = TestApp::spawn().await;
    person(&app, "moderator@example.com", "editor", Some("test-author")).await;
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Night trams", "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    let slug = article["slug"].as_str().unwrap();
    let article_id = article["id"].as_str().unwrap();
    let marta = comment(&app, slug, "Marta", "I rode it every night.").await;
    let jonas = comment(&app, slug, "Jonas", "So did I, <b>twice</b>.").await;
    let bot = comment(&app, slug, "Bot", "Cheap pills here.").await;

    let browser = Browser::open(&app.address, 1280).await;
    sign_in(&browser, "moderator@example.com").await;
    browser
        .wait_for_text("Comments waiting for moderation: 3")
        .await;
    browser.goto("/desk/comments").await;
    browser.wait_for_text("Cheap pills here.").await;
    // What a commenter typed is shown as text, and moderators see their email.
    browser.wait_for_text("So did I, <b>twice</b>.").await;
    browser.wait_for_text("marta@example.com").await;
    browser.assert_accessible().await;

    // Two approved at once, one marked as spam.
    for id in [&marta, &jonas] {
        browser
            .field_in(&format!("#comment-{id}"), "Select")
            .await
            .click()
            .await
            .unwrap();
    }
    browser.submit("Approve selected").await;
    browser.wait_for_text("Approved.").await;
    browser.submit_in(&format!("#comment-{bot}"), "Spam").await;
    browser.wait_for_text("Marked as spam.").await;
    browser.wait_for_text("No comments here.").await;
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    assert_eq!(names(&thread), ["Marta", "Jonas"]);

    // A staff reply, under the editor's byline.
    browser.goto("/desk/comments?status=approved").await;
    open_details(&browser, &format!("#comment-{marta}")).await;
    browser
        .fill(
            "Your reply to Marta",
            "Thank you, Marta: it ran until 1997.",
        )
        .await;
    browser
        .submit_in(&format!("#comment-{marta}"), "Reply")
        .await;
    browser.wait_for_text("Your reply is published.").await;
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    let reply = &thread["data"][0]["replies"][0];
    assert_eq!(reply["staff"], true);
    assert_eq!(reply["author_name"], "Test Author");
    assert!(reply["body_html"].as_str().unwrap().contains("until 1997"));
    assert_eq!(thread["data"][1]["replies"].as_array().unwrap().len(), 0);

    // The article's thread, where its comments are closed and opened again.
    browser
        .goto(&format!("/desk/comments?article={article_id}"))
        .await;
    browser.wait_for_text("in reply to Marta").await;
    browser.assert_accessible().await;
    browser.submit("Close comments").await;
    browser
        .wait_for_text("Comments are closed on this article.")
        .await;
    app.post(
        &format!("/api/v1/articles/{slug}/comments"),
        None,
        &json!({"author_name": "Late", "author_email": "late@example.com", "body": "Too late?"}),
    )
    .await
    .problem(403);
    browser.submit("Open comments").await;
    browser
        .wait_for_text("Comments are open on this article.")
        .await;
    comment(&app, slug, "Late", "Not too late.").await;

    // Deleted: gone from the queue and from readers.
    browser.goto("/desk/comments?status=approved").await;
    browser
        .submit_in(&format!("#comment-{jonas}"), "Delete")
        .await;
    browser.wait_for_text("Deleted.").await;
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    assert_eq!(names(&thread), ["Marta"]);
}

#[tokio::test]
async fn tags_are_renamed_and_merged_and_bylines_kept_in_the_desk() {
    let app = TestApp::spawn().await;
    person(&app, "tagger@example.com", "editor", None).await;
    for name in ["Trams", "Tramways"] {
        app.post("/api/v1/tags", Some(&app.editor), &json!({"name": name}))
            .await
            .expect(201);
    }
    let mut articles = Vec::new();
    for (title, tags) in [
        ("Under one", json!(["tramways"])),
        ("Under both", json!(["trams", "tramways"])),
    ] {
        let made = app
            .post(
                "/api/v1/articles",
                Some(&app.editor),
                &json!({"title": title, "author": "test-author", "status": "published", "tags": tags}),
            )
            .await
            .expect(201);
        articles.push(made["id"].as_str().unwrap().to_owned());
    }
    let browser = Browser::open(&app.address, 1280).await;
    sign_in(&browser, "tagger@example.com").await;
    browser.goto("/desk/tags").await;
    browser.wait_for_text("2 public articles").await;
    browser.assert_accessible().await;

    // Tramways merged into Trams.
    browser
        .field_in("#tag-card-tramways", "Into")
        .await
        .send_keys("trams")
        .await
        .unwrap();
    browser.submit_in("#tag-card-tramways", "Merge").await;
    browser.wait_for_text("Merged.").await;
    for id in &articles {
        let article = app
            .get(&format!("/api/v1/articles/{id}"), None)
            .await
            .expect(200);
        let slugs: Vec<&str> = article["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["trams"], "{}", article["title"]);
    }
    let moved = app.get("/api/v1/tags/tramways", None).await;
    assert_eq!(moved.status, 301);
    assert!(
        moved
            .header("location")
            .unwrap()
            .ends_with("/api/v1/tags/trams")
    );

    // Renamed: the old slug leads to the new one.
    open_details(&browser, "#tag-card-trams").await;
    browser
        .fill_in("#tag-card-trams", "Name", "Trams and trains")
        .await;
    browser
        .fill_in("#tag-card-trams", "Slug", "trams-and-trains")
        .await;
    browser.submit_in("#tag-card-trams", "Save").await;
    browser.wait_for_text("Saved.").await;
    browser.wait_for_text("Trams and trains").await;
    for old in ["trams", "tramways"] {
        let moved = app.get(&format!("/api/v1/tags/{old}"), None).await;
        assert_eq!(moved.status, 301, "{old}");
        assert!(
            moved
                .header("location")
                .unwrap()
                .ends_with("/api/v1/tags/trams-and-trains")
        );
    }

    // A byline with a bio, a website and a picture.
    browser.goto("/desk/authors").await;
    browser.assert_accessible().await;
    open_details(&browser, "#new-byline").await;
    browser
        .fill_in("#new-byline", "Name", "Ines Marchetti")
        .await;
    browser
        .fill_in("#new-byline", "Bio", "Writes about trams.")
        .await;
    browser
        .fill_in("#new-byline", "Website", "https://ines.example")
        .await;
    let dir = TempDir::new("byline");
    let photo = dir.path().join("ines.png");
    std::fs::write(&photo, two_halves(300, 200)).unwrap();
    browser
        .field_in("#new-byline", "Picture")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    browser.wait_for_text("Uploaded: save to use it.").await;
    browser.submit("Add byline").await;
    browser.wait_for_text("Byline added.").await;
    browser.wait_for_text("no person writes under it").await;
    let ines = app
        .get("/api/v1/authors/ines-marchetti", None)
        .await
        .expect(200);
    assert_eq!(ines["bio"], "Writes about trams.");
    assert_eq!(ines["website"], "https://ines.example/");
    assert_eq!(ines["avatar"]["width"], 300);
    browser.assert_accessible().await;

    // A byline with articles is not deleted: the page says which.
    open_details(&browser, "#byline-test-author").await;
    browser.submit_in("#byline-test-author", "Delete").await;
    browser.wait_for_text("under-both").await;
    app.get("/api/v1/authors/test-author", None)
        .await
        .expect(200);
    // One without is.
    browser.goto("/desk/authors").await;
    open_details(&browser, "#byline-ines-marchetti").await;
    browser.submit_in("#byline-ines-marchetti", "Delete").await;
    browser.wait_for_text("Deleted.").await;
    app.get("/api/v1/authors/ines-marchetti", None)
        .await
        .problem(404);
}

#[tokio::test]
async fn an_admin_invites_a_person_and_disabling_them_signs_their_open_page_out() {
    let app = TestApp::spawn().await;
    person(&app, "chief@example.com", "admin", None).await;
    let admin = Browser::open(&app.address, 1280).await;
    sign_in(&admin, "chief@example.com").await;
    admin.goto("/desk/people").await;
    admin.assert_accessible().await;
    open_details(&admin, "#invite").await;
    admin.fill_in("#invite", "Email", "nadia@example.com").await;
    admin.fill_in("#invite", "Name", "Nadia New").await;
    admin
        .field_in("#invite", "Role")
        .await
        .select_by_value("editor")
        .await
        .unwrap();
    admin.submit("Invite").await;
    admin.wait_for_text("Hand this link to Nadia New").await;
    admin.assert_accessible().await;
    let link = value_of(&admin, "Link").await;
    assert!(link.contains("/desk/accept#token="), "{link}");

    // The person accepts, signs in and looks after their own account.
    let nadia = Browser::open(&app.address, 1280).await;
    nadia.client.goto(&link).await.unwrap();
    nadia.fill("Password", PASSWORD).await;
    nadia.submit("Set password").await;
    nadia.wait_for_text("Your password is set").await;
    sign_in(&nadia, "nadia@example.com").await;
    nadia.goto("/desk/me").await;
    nadia.assert_accessible().await;
    nadia.fill("Name", "Nadia N.").await;
    nadia.submit("Save name").await;
    nadia.wait_for_text("Your name is saved.").await;
    nadia.fill("Token name", "laptop").await;
    // An editor may make tokens up to editor: no admin role is offered.
    assert!(!nadia.text().await.contains("Admin: also people"));
    nadia
        .field("Token role")
        .await
        .select_by_value("editor")
        .await
        .unwrap();
    nadia.submit("Make token").await;
    nadia.wait_for_text("shown only this once").await;
    let secret = value_of(&nadia, "The new token's secret (shown only now)").await;
    let me = app.get("/api/v1/auth/me", Some(&secret)).await.expect(200);
    assert_eq!(me["user"]["name"], "Nadia N.");
    assert_eq!(me["role"], "editor");
    // Shown once: the page again has no secret.
    nadia.goto("/desk/me").await;
    assert!(!nadia.text().await.contains(&secret));
    nadia.wait_for_text("laptop").await;
    nadia.assert_accessible().await;
    // A wrong current password changes nothing; the right one does.
    nadia
        .fill("Current password", "not my password at all")
        .await;
    nadia.fill("New password", "ferries before dawn 42").await;
    nadia.submit("Change password").await;
    nadia
        .wait_for_text("not the password you signed in with")
        .await;
    nadia.goto("/desk/me").await;
    nadia.fill("Current password", PASSWORD).await;
    nadia.fill("New password", "ferries before dawn 42").await;
    nadia.submit("Change password").await;
    nadia.wait_for_text("Your password is changed.").await;
    crate::people::sign_in(&app, "nadia@example.com", PASSWORD)
        .await
        .problem(401);

    // The admin disables her: her open page is signed out at its next step, her token
    // stops working.
    let users = app.get("/api/v1/users", Some(&app.admin)).await.expect(200);
    let id = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nadia@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin.goto("/desk/people").await;
    admin.wait_for_text("Nadia N.").await;
    admin.submit_in(&format!("#person-{id}"), "Disable").await;
    admin.wait_for_text("Disabled: their sessions ended").await;
    nadia
        .client
        .find(Locator::LinkText("Articles"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(10, "the disabled person is sent to sign in", || async {
        nadia.path().await == "/desk/sign-in"
    })
    .await;
    app.get("/api/v1/auth/me", Some(&secret)).await.problem(401);

    // Enabled again, with a reset link to hand over.
    admin.submit_in(&format!("#person-{id}"), "Enable").await;
    admin.wait_for_text("Enabled").await;
    admin
        .submit_in(&format!("#person-{id}"), "Make reset link")
        .await;
    admin.wait_for_text("Hand this link to Nadia N.").await;
    let reset = value_of(&admin, "Link").await;
    assert!(reset.contains("/desk/reset#token="), "{reset}");
    // Reloaded, the link is not shown again, and no other is made.
    admin.client.refresh().await.unwrap();
    admin
        .wait_for_text("shown once and is not shown again")
        .await;
    nadia.client.goto(&reset).await.unwrap();
    nadia.fill("Password", "a third long password").await;
    nadia.submit("Set password").await;
    nadia.wait_for_text("Your password is set").await;
    crate::people::sign_in(&app, "nadia@example.com", "a third long password")
        .await
        .expect(201);

    // Every token, for admins: a service token made and revoked.
    admin.goto("/desk/tokens").await;
    admin.assert_accessible().await;
    admin.fill("Token name", "deploy bot").await;
    admin.submit("Make token").await;
    let service = value_of(&admin, "The new token's secret (shown only now)").await;
    app.get("/api/v1/auth/me", Some(&service)).await.expect(200);
    admin.wait_for_text("no one (a service token)").await;
    let tokens = app
        .get("/api/v1/tokens", Some(&app.admin))
        .await
        .expect(200);
    let bot = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "deploy bot")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .button_in(&format!("#token-row-{bot}"), "Revoke")
        .await
        .click()
        .await
        .unwrap();
    admin.wait_for_text("Revoked: it no longer works.").await;
    app.get("/api/v1/auth/me", Some(&service))
        .await
        .problem(401);
}

#[tokio::test]
async fn a_webhook_made_in_the_desk_delivers_a_ping_the_reference_library_verifies() {
    let app = TestApp::spawn_with(Options {
        webhook_allow_private: true,
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    person(&app, "wiring@example.com", "admin", None).await;
    let browser = Browser::open(&app.address, 1280).await;
    sign_in(&browser, "wiring@example.com").await;
    browser.goto("/desk/webhooks").await;
    browser.assert_accessible().await;
    open_details(&browser, "#new-webhook").await;
    browser.fill("Endpoint URL", &receiver.url).await;
    browser.fill("Description", "The front-end's cache").await;
    browser
        .field_in("#new-webhook", "article.published")
        .await
        .click()
        .await
        .unwrap();
    browser.submit("Add webhook").await;
    browser.wait_for_text("shown only this once").await;
    let secret = value_of(&browser, "Signing secret (shown only now)").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    browser.assert_accessible().await;

    browser.submit("Ping").await;
    browser.wait_for_text("A ping is on its way").await;
    let received = receiver.wait_for(1, 30).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["type"], "webhook.ping");
    assert!(received[0].verifies_with(&secret));
    let page = browser.path().await;
    eventually(20, "the delivery shows with its answer", || async {
        browser.goto(&page).await;
        browser.text().await.contains("succeeded")
    })
    .await;
    // Opened again, the page shows the secret no more (and made nothing again).
    assert!(!browser.text().await.contains("Signing secret"));
    browser.wait_for_text("200").await;
    browser.assert_accessible().await;

    // Sent again: the same event, the same id.
    browser.submit("Redeliver").await;
    browser.wait_for_text("Queued again").await;
    let received = receiver.wait_for(2, 30).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].id(), received[0].id());

    // A new secret signs from now on (the old one too, for a day).
    browser.submit("Rotate secret").await;
    let rotated = value_of(&browser, "Signing secret (shown only now)").await;
    assert_ne!(rotated, secret);
    browser.submit("Ping").await;
    let received = receiver.wait_for(3, 30).await;
    assert!(received[2].verifies_with(&rotated));
    assert!(received[2].verifies_with(&secret));
    let hooks = app
        .get("/api/v1/webhooks", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(hooks["data"][0]["description"], "The front-end's cache");
    assert_eq!(hooks["data"][0]["events"], json!(["article.published"]));
}

#[tokio::test]
async fn newsroom_pages_fit_a_phone_show_activity_and_keep_to_their_roles() {
    let app = TestApp::spawn().await;
    person(&app, "boss@example.com", "admin", None).await;
    person(
        &app,
        "writer@example.com",
        "contributor",
        Some("test-author"),
    )
    .await;
    person(&app, "desk.editor@example.com", "editor", None).await;
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Activity", "author": "test-author", "status": "published", "tags": ["Harbours"]}),
        )
        .await
        .expect(201);
    let article_id = article["id"].as_str().unwrap();
    comment(&app, "activity", "Marta", "A comment to moderate.").await;
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin),
            &json!({"url": "https://192.0.43.10/hook", "events": ["tag.updated"]}),
        )
        .await
        .expect(201);
    let pages = [
        "/desk/comments".to_owned(),
        format!("/desk/comments?article={article_id}"),
        "/desk/tags".to_owned(),
        "/desk/authors".to_owned(),
        "/desk/people".to_owned(),
        "/desk/me".to_owned(),
        "/desk/tokens".to_owned(),
        "/desk/webhooks".to_owned(),
        format!("/desk/webhooks/{}", hook["id"].as_str().unwrap()),
        "/desk/activity".to_owned(),
    ];
    let phone = Browser::open(&app.address, 390).await;
    sign_in(&phone, "boss@example.com").await;
    for path in &pages {
        phone.goto(path).await;
        phone.assert_fits(390).await;
        phone.assert_accessible().await;
    }

    // Activity: filtered by what it is about, by event and by person.
    phone
        .goto(&format!("/desk/activity?subject={article_id}"))
        .await;
    phone.wait_for_text("article.created").await;
    assert!(!phone.text().await.contains("webhook.created"));
    phone.goto("/desk/activity?event=webhook").await;
    phone.wait_for_text("webhook.created").await;
    assert!(!phone.text().await.contains("article.created"));
    phone.goto("/desk/activity").await;
    phone
        .field("Person")
        .await
        .select_by_label("Person boss@example.com")
        .await
        .unwrap();
    phone.submit("Filter").await;
    phone.wait_for_text("user.updated").await;
    assert!(!phone.text().await.contains("article.created"));

    // Over HTTP: each page refuses who may not see it, and a form without its token.
    let contributor = crate::people::session(&app, "writer@example.com").await;
    let editor = crate::people::session(&app, "desk.editor@example.com").await;
    let get = |session: &crate::people::Session, path: &str| {
        app.send(
            app.request(reqwest::Method::GET, path)
                .header("cookie", format!("lede_session={}", session.cookie)),
        )
    };
    for path in pages.iter().filter(|p| *p != "/desk/me") {
        let admin_only = ["/desk/people", "/desk/tokens", "/desk/webhooks"]
            .iter()
            .any(|p| path.starts_with(p));
        let seen = get(&contributor, path).await;
        assert_eq!(seen.status, 403, "a contributor opened {path}");
        let why = if admin_only {
            "for admins"
        } else {
            "for editors and admins"
        };
        assert!(seen.text().contains(why), "{path}: {}", seen.text());
        let seen = get(&editor, path).await;
        let want = if admin_only { 403 } else { 200 };
        assert_eq!(seen.status, want, "an editor opened {path}");
    }
    assert_eq!(get(&contributor, "/desk/me").await.status, 200);
    let forged = desk_post(
        &app,
        &editor,
        "/desk/comments/bulk",
        &[("csrf", "forged"), ("status", "approved")],
    )
    .await;
    assert_eq!(forged.status, 403);
    let forged = desk_post(
        &app,
        &editor,
        "/desk/people",
        &[
            ("csrf", editor.csrf.as_str()),
            ("email", "sneaky@example.com"),
            ("name", "Sneaky"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(forged.status, 403, "an editor invited someone");
    // Nor may an editor make a token for someone through the admins' page.
    let forged = desk_post(
        &app,
        &editor,
        "/desk/tokens",
        &[
            ("csrf", editor.csrf.as_str()),
            ("name", "sneaky token"),
            ("role", "editor"),
            ("owner", ""),
        ],
    )
    .await;
    assert_eq!(forged.status, 403);
    let tokens = app
        .get("/api/v1/tokens", Some(&app.admin))
        .await
        .expect(200);
    assert!(!tokens.to_string().contains("sneaky token"));
    // A form's way back is a desk address the desk made, whatever is sent: the change is
    // made and the browser sent to the queue.
    let pending = comment(&app, "activity", "Jonas", "Another one.").await;
    let sent = desk_post(
        &app,
        &editor,
        &format!("/desk/comments/{pending}"),
        &[
            ("csrf", editor.csrf.as_str()),
            ("action", "approve"),
            ("back", "/desk/comments?\r\nSet-Cookie: x=1"),
        ],
    )
    .await;
    assert_eq!(sent.status, 303);
    assert_eq!(
        sent.header("location").unwrap(),
        "/desk/comments?&done=approved"
    );
    let users = app.get("/api/v1/users", Some(&app.admin)).await.expect(200);
    assert!(!users.to_string().contains("sneaky@example.com"));
}

#[tokio::test]
async fn a_passkey_added_in_the_desk_signs_in_and_may_be_required_of_admins() {
    let app = TestApp::spawn().await;
    person(&app, "keyholder@example.com", "admin", None).await;
    person(&app, "other.admin@example.com", "admin", None).await;
    // A passkey belongs to a domain name: the desk is opened at localhost.
    let port = app.address.rsplit(':').next().unwrap();
    let site = format!("http://localhost:{port}");
    let browser = Browser::open(&site, 1280).await;
    browser.add_virtual_authenticator().await;

    // Not yet: requiring passkeys of admins needs one's own first.
    sign_in(&browser, "keyholder@example.com").await;
    browser.goto("/desk/people").await;
    browser
        .field("Admins must sign in with a passkey")
        .await
        .click()
        .await
        .unwrap();
    browser.submit("Save setting").await;
    browser
        .wait_for_text("Add a passkey to your own account first")
        .await;

    browser.goto("/desk/me").await;
    browser.wait_for_text("No passkeys yet.").await;
    browser.fill("Passkey name", "Test laptop").await;
    browser.click("Add a passkey").await;
    browser
        .wait_for_text("Passkey added: sign in with it next time.")
        .await;
    browser.wait_for_text("Test laptop").await;
    browser.assert_accessible().await;

    // Signed out, back in with the passkey alone: no email, no password.
    browser.submit("Sign out").await;
    browser.goto("/desk/sign-in").await;
    browser.assert_accessible().await;
    browser.click("Sign in with a passkey").await;
    eventually(20, "the passkey signs in", || async {
        browser.path().await == "/desk"
    })
    .await;
    browser.wait_for_text("Person keyholder@example.com").await;
    browser.goto("/desk/me").await;
    browser.wait_for_text("last used").await;

    // Now admins need one: a password alone no longer signs an admin in, a passkey does.
    browser.goto("/desk/people").await;
    browser
        .field("Admins must sign in with a passkey")
        .await
        .click()
        .await
        .unwrap();
    browser.submit("Save setting").await;
    browser.wait_for_text("Setting saved.").await;
    let settings = app
        .get("/api/v1/settings", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(settings["admins_need_passkeys"], true);
    let refused = crate::people::sign_in(&app, "keyholder@example.com", PASSWORD)
        .await
        .problem(403);
    assert!(refused["detail"].as_str().unwrap().contains("passkey"));
    // An admin without a passkey yet signs in with their password, to add one.
    crate::people::sign_in(&app, "other.admin@example.com", PASSWORD)
        .await
        .expect(201);
    // Others still sign in with their password.
    person(&app, "editor.still@example.com", "editor", None).await;
    crate::people::sign_in(&app, "editor.still@example.com", PASSWORD)
        .await
        .expect(201);
    // The last passkey of an admin stays while it is required.
    browser.goto("/desk/me").await;
    browser.submit("Remove").await;
    browser
        .wait_for_text("add another before removing your last")
        .await;

    // A made-up or replayed ceremony signs no one in.
    let begun = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/auth/passkey-challenges")
                .header("host", format!("localhost:{port}")),
        )
        .await
        .expect(200);
    assert!(begun["options"]["publicKey"]["challenge"].is_string());
    let forged = json!({"ceremony": begun["ceremony"], "credential": {"id": "AAAA", "rawId": "AAAA",
        "type": "public-key", "extensions": {}, "response": {"authenticatorData": "AAAA",
        "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"}}});
    let sent = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/auth/passkey-sessions")
                .header("host", format!("localhost:{port}"))
                .json(&forged),
        )
        .await;
    assert_eq!(sent.status, 401, "{}", sent.text());
    let again = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/auth/passkey-sessions")
                .header("host", format!("localhost:{port}"))
                .json(&forged),
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.text());
    // A registration answered wrongly has used its ceremony up.
    let editor = crate::people::session(&app, "editor.still@example.com").await;
    let at_localhost = |path: &str| {
        editor
            .on(app.request(reqwest::Method::POST, path))
            .header("host", format!("localhost:{port}"))
    };
    let begun = app
        .send(at_localhost("/api/v1/auth/passkeys/registrations"))
        .await
        .expect(200);
    let answer = json!({"ceremony": begun["ceremony"], "name": "x", "credential": {"id": "AAAA"}});
    app.send(at_localhost("/api/v1/auth/passkeys").json(&answer))
        .await
        .problem(422);
    app.send(at_localhost("/api/v1/auth/passkeys").json(&answer))
        .await
        .problem(404);
    // At an IP address there are no passkeys, and the answer says why.
    let at_ip = app
        .post("/api/v1/auth/passkey-challenges", None, &json!({}))
        .await
        .problem(400);
    assert!(at_ip["detail"].as_str().unwrap().contains("localhost"));
}
