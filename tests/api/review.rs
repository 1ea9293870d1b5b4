//! Review before publishing: a contributor submits, an editor returns with a note or
//! publishes; notes stay internal; the activity log names who did what.
use reqwest::Method;
use serde_json::{Value, json};

use crate::people::{Session, person, session};
use crate::support::{Options, TestApp};
use crate::webhooks::Receiver;

async fn send(
    app: &TestApp,
    who: &Session,
    method: Method,
    path: &str,
    body: Value,
) -> crate::support::Reply {
    app.send(who.on(app.request(method, path)).json(&body))
        .await
}

#[tokio::test]
async fn a_submission_is_returned_with_a_note_that_never_appears_publicly_then_published() {
    let app = TestApp::spawn_with(Options {
        webhook_allow_private: true,
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin),
            &json!({"url": receiver.url, "events": ["article.submitted", "article.returned", "article.published"]}),
        )
        .await
        .expect(201);
    let secret = hook["secret"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Cora"}),
    )
    .await
    .expect(201);
    person(&app, "cora@example.com", "contributor", Some("cora")).await;
    person(&app, "eddie@example.com", "editor", None).await;
    let cora = session(&app, "cora@example.com").await;
    let eddie = session(&app, "eddie@example.com").await;

    let draft = send(
        &app,
        &cora,
        Method::POST,
        "/api/v1/articles",
        json!({"title": "Harbour lights", "body_markdown": "The first draft."}),
    )
    .await
    .expect(201);
    let id = draft["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/articles/{id}");
    // Submitted with a note for the editors.
    let submitted = send(
        &app,
        &cora,
        Method::PATCH,
        &path,
        json!({"status": "in_review", "note": "Sources in the shared folder."}),
    )
    .await
    .expect(200);
    assert_eq!(submitted["status"], "in_review");
    // The editors' queue.
    let queue = app
        .get("/api/v1/articles?status=in_review", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(queue["data"][0]["title"], "Harbour lights");
    // Returned with a note, by an editor.
    let returned = send(
        &app,
        &eddie,
        Method::PATCH,
        &path,
        json!({"status": "draft", "note": "SECRET-NOTE: the second source is wrong."}),
    )
    .await
    .expect(200);
    assert_eq!(returned["status"], "draft");
    // The writer reads the thread; both notes, in order, with who wrote them.
    let notes = app
        .send(cora.on(app.request(Method::GET, &format!("{path}/notes"))))
        .await
        .expect(200);
    let thread: Vec<(&str, &str)> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["by"]["name"].as_str().unwrap(),
                n["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        thread,
        [
            ("Person cora@example.com", "Sources in the shared folder."),
            (
                "Person eddie@example.com",
                "SECRET-NOTE: the second source is wrong."
            ),
        ]
    );
    // Another author's token does not see them; no token gets nothing at all.
    let other = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "other", "role": "author", "author": "test-author"}),
        )
        .await
        .expect(201);
    app.get(&format!("{path}/notes"), other["secret"].as_str())
        .await
        .problem(404);
    app.get(&format!("{path}/notes"), None).await.problem(401);

    // The same note sent again (a script run twice) is not added twice.
    send(
        &app,
        &eddie,
        Method::PATCH,
        &path,
        json!({"note": "SECRET-NOTE: the second source is wrong."}),
    )
    .await
    .expect(200);
    let notes = app
        .get(&format!("{path}/notes"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(notes["meta"]["total"], 2, "{notes}");
    // The activity log tells the review steps apart.
    let steps = app
        .get(&format!("/api/v1/activity?subject={id}"), Some(&app.admin))
        .await
        .expect(200);
    let events: Vec<&str> = steps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        // Newest first: each step's note is recorded just after it.
        [
            "article.noted",
            "article.returned",
            "article.noted",
            "article.submitted",
            "article.created"
        ]
    );

    // Submitted again, and published by the editor.
    send(
        &app,
        &cora,
        Method::PATCH,
        &path,
        json!({"status": "in_review"}),
    )
    .await
    .expect(200);
    let published = send(
        &app,
        &eddie,
        Method::PATCH,
        &path,
        json!({"status": "published"}),
    )
    .await
    .expect(200);
    assert_eq!(published["status"], "published");

    // Subscribers heard: submitted (with the writer's note), returned (with the editor's),
    // submitted, published; every one signed.
    let got = receiver.wait_for(4, 30).await;
    let events: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        events,
        [
            "article.submitted",
            "article.returned",
            "article.submitted",
            "article.published"
        ]
    );
    assert!(got.iter().all(|r| r.verifies_with(&secret)));
    let first = got[0].json();
    assert_eq!(first["data"]["title"], "Harbour lights");
    assert_eq!(first["data"]["by"]["name"], "Person cora@example.com");
    assert_eq!(first["data"]["note"], "Sources in the shared folder.");
    assert_eq!(
        got[1].json()["data"]["by"]["name"],
        "Person eddie@example.com"
    );
    // The public event carries the article as the public sees it: no note in it.
    assert!(!String::from_utf8_lossy(&got[3].body).contains("SECRET-NOTE"));

    // Nowhere public: the article, lists, search, feeds.
    let slug = published["slug"].as_str().unwrap();
    for public in [
        format!("/api/v1/articles/{slug}"),
        "/api/v1/articles?include=body".to_owned(),
        "/api/v1/articles?q=harbour".to_owned(),
        "/feeds/articles.atom".to_owned(),
        "/feeds/articles.json".to_owned(),
    ] {
        let reply = app.get(&public, None).await;
        assert!(reply.status.is_success(), "{public}: {}", reply.status);
        assert!(!reply.text().contains("SECRET-NOTE"), "{public}");
        assert!(!reply.text().contains("Sources in the shared"), "{public}");
    }
    // Once published, the contributor may not change it.
    send(
        &app,
        &cora,
        Method::PATCH,
        &path,
        json!({"title": "Changed"}),
    )
    .await
    .problem(403);
}

#[tokio::test]
async fn the_activity_list_names_who_did_what() {
    let app = TestApp::spawn().await;
    let id = person(&app, "ines@example.com", "editor", None).await;
    let ines = session(&app, "ines@example.com").await;
    let tag = app
        .post(
            "/api/v1/tags",
            Some(&app.editor),
            &json!({"name": "Harbour"}),
        )
        .await
        .expect(201);
    let tag_id = tag["id"].as_str().unwrap();
    send(
        &app,
        &ines,
        Method::PATCH,
        "/api/v1/tags/harbour",
        json!({"name": "Harbours"}),
    )
    .await
    .expect(200);
    let activity = app
        .get(
            &format!("/api/v1/activity?subject={tag_id}"),
            Some(&app.admin),
        )
        .await
        .expect(200);
    let lines: Vec<(&str, &str, &str)> = activity["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["actor"]["kind"].as_str().unwrap(),
                l["actor"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first: the person renamed it; the editor's service token made it.
    assert_eq!(
        lines,
        [
            ("tag.updated", "user", "Person ines@example.com"),
            ("tag.created", "token", "test editor")
        ]
    );
    assert_eq!(
        activity["data"][0]["subject"],
        json!({"type": "tag", "id": tag_id})
    );
    // By the person, and by kind of event.
    let theirs = app
        .get(&format!("/api/v1/activity?actor={id}"), Some(&app.editor))
        .await
        .expect(200);
    assert!(
        theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["actor"]["id"] == id.as_str())
    );
    assert!(
        theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["event"] == "tag.updated")
    );
    let created = app
        .get("/api/v1/activity?event=user.created", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(created["data"][0]["actor"]["name"], "test admin");
    app.get("/api/v1/activity?event=nothing.at_all", Some(&app.admin))
        .await
        .problem(400);
    // Not for authors or the public.
    app.get("/api/v1/activity", Some(&app.author))
        .await
        .problem(403);
    app.get("/api/v1/activity", None).await.problem(401);
    // A revision names the person who saved it.
    let article = send(
        &app,
        &ines,
        Method::POST,
        "/api/v1/articles",
        json!({"title": "By Ines", "author": "test-author"}),
    )
    .await
    .expect(201);
    let revisions = app
        .get(
            &format!(
                "/api/v1/articles/{}/revisions",
                article["id"].as_str().unwrap()
            ),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(
        revisions["data"][0]["saved_by_name"],
        "Person ines@example.com"
    );
    assert_eq!(revisions["data"][0]["saved_by_user"], id.as_str());
}

#[tokio::test]
async fn a_persons_token_follows_their_byline_and_disabling_ends_their_preview_links() {
    let app = TestApp::spawn().await;
    // Without a byline, a person's author token cannot be made, nor name another's byline.
    let nobody = person(&app, "nobyline@example.com", "author", None).await;
    let lone = session(&app, "nobyline@example.com").await;
    send(
        &app,
        &lone,
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "x", "role": "author", "author": "test-author"}),
    )
    .await
    .problem(422);
    send(
        &app,
        &lone,
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "x", "role": "author"}),
    )
    .await
    .problem(422);
    // Linked to the test author, their token writes as it; linked elsewhere, as that.
    app.patch(
        &format!("/api/v1/users/{nobody}"),
        Some(&app.admin),
        &json!({"author": "test-author"}),
    )
    .await
    .expect(200);
    let token = send(
        &app,
        &lone,
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "mine", "role": "author"}),
    )
    .await
    .expect(201);
    let secret = token["secret"].as_str().unwrap().to_owned();
    let mine = app
        .post("/api/v1/articles", Some(&secret), &json!({"title": "Mine"}))
        .await
        .expect(201);
    assert_eq!(mine["author"]["slug"], "test-author");
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Elsewhere"}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/api/v1/users/{nobody}"),
        Some(&app.admin),
        &json!({"author": "elsewhere"}),
    )
    .await
    .expect(200);
    let moved = app
        .post(
            "/api/v1/articles",
            Some(&secret),
            &json!({"title": "Now elsewhere"}),
        )
        .await
        .expect(201);
    assert_eq!(moved["author"]["slug"], "elsewhere");
    // The old byline's draft is no longer theirs to see.
    app.patch(
        &format!("/api/v1/articles/{}", mine["id"].as_str().unwrap()),
        Some(&secret),
        &json!({"title": "Not mine now"}),
    )
    .await
    .problem(404);
    // Their own tokens: listed and revoked by them, not others'.
    let listed = app.get("/api/v1/tokens", Some(&secret)).await.expect(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let spare = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "service", "role": "editor"}),
        )
        .await
        .expect(201);
    app.delete(
        &format!("/api/v1/tokens/{}", spare["id"].as_str().unwrap()),
        Some(&secret),
    )
    .await
    .problem(403);

    // A preview link they made dies when they are disabled.
    let link = app
        .post(
            &format!(
                "/api/v1/articles/{}/preview-links",
                moved["id"].as_str().unwrap()
            ),
            Some(&secret),
            &json!({}),
        )
        .await
        .expect(201);
    let preview = format!("/api/v1/preview/{}", link["token"].as_str().unwrap());
    app.get(&preview, None).await.expect(200);
    app.patch(
        &format!("/api/v1/users/{nobody}"),
        Some(&app.admin),
        &json!({"status": "disabled"}),
    )
    .await
    .expect(200);
    app.get(&preview, None).await.problem(404);
    let revoked = app
        .get("/api/v1/activity?event=token.revoked", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(revoked["data"][0]["subject"]["id"], token["id"]);
    assert_eq!(revoked["data"][0]["actor"]["name"], "test admin");

    // Someone invited, disabled before accepting, and enabled again is invited again.
    let never = app
        .post(
            "/api/v1/users/invitations",
            Some(&app.admin),
            &json!({"email": "never@example.com", "name": "Never", "role": "editor"}),
        )
        .await
        .expect(201);
    let never_id = never["user"]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/users/{never_id}"),
        Some(&app.admin),
        &json!({"status": "disabled"}),
    )
    .await
    .expect(200);
    let again = app
        .patch(
            &format!("/api/v1/users/{never_id}"),
            Some(&app.admin),
            &json!({"status": "active"}),
        )
        .await
        .expect(200);
    assert_eq!(again["status"], "invited");
}
