use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn create_read_update_delete() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Ada Okafor", "email": "ada@example.com", "bio": "Science desk.", "website": "https://example.com/ada"}),
        )
        .await;
    let author = created.expect(201);
    assert_eq!(author["slug"], "ada-okafor");
    assert_eq!(author["article_count"], 0);
    assert!(author["avatar"].is_null());
    let id = author["id"].as_str().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        app.url(&format!("/api/v1/authors/{id}"))
    );
    assert!(created.header("etag").is_some());
    let created_at = author["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );

    // By id and by slug, the same object.
    let by_id = app
        .get(&format!("/api/v1/authors/{id}"), None)
        .await
        .expect(200);
    let by_slug = app
        .get("/api/v1/authors/ada-okafor", None)
        .await
        .expect(200);
    assert_eq!(by_id, by_slug);

    let changed = app
        .patch(
            "/api/v1/authors/ada-okafor",
            Some(&app.admin),
            &json!({"bio": "Politics desk.", "website": null}),
        )
        .await
        .expect(200);
    assert_eq!(changed["bio"], "Politics desk.");
    assert!(changed["website"].is_null());
    assert_eq!(changed["name"], "Ada Okafor", "absent fields stay");
    assert_eq!(changed["email"], "ada@example.com");

    app.delete(&format!("/api/v1/authors/{id}"), Some(&app.editor))
        .await
        .expect(204);
    app.get(&format!("/api/v1/authors/{id}"), None)
        .await
        .problem(404);
}

#[tokio::test]
async fn email_is_shown_only_with_a_token() {
    let app = TestApp::spawn().await;
    let public = app
        .get("/api/v1/authors/test-author", None)
        .await
        .expect(200);
    assert!(public.get("email").is_none(), "{public}");
    let list = app.get("/api/v1/authors", None).await;
    assert!(!list.text().contains("test-author@example.com"));
    let private = app
        .get("/api/v1/authors/test-author", Some(&app.author))
        .await
        .expect(200);
    assert_eq!(private["email"], "test-author@example.com");
}

#[tokio::test]
async fn slugs_are_generated_validated_and_unique() {
    let app = TestApp::spawn().await;
    let first = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Zoë Ünal"}),
        )
        .await
        .expect(201);
    assert_eq!(first["slug"], "zoe-unal");
    let second = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Zoe Unal"}),
        )
        .await
        .expect(201);
    assert_eq!(
        second["slug"], "zoe-unal-2",
        "a generated slug steps around a taken one"
    );

    let taken = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Other", "slug": "zoe-unal"}),
        )
        .await
        .problem(409);
    assert_eq!(taken["errors"][0]["field"], "slug");
    let taken = app
        .patch(
            "/api/v1/authors/zoe-unal-2",
            Some(&app.editor),
            &json!({"slug": "zoe-unal"}),
        )
        .await
        .problem(409);
    assert_eq!(taken["errors"][0]["code"], "taken");

    for bad in ["Upper", "two--dashes", "-edge", "ünï", "a b"] {
        let problem = app
            .post(
                "/api/v1/authors",
                Some(&app.editor),
                &json!({"name": "X", "slug": bad}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "slug", "{bad}");
    }
    let long = "a".repeat(101);
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "X", "slug": long}),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn email_is_unique_ignoring_case() {
    let app = TestApp::spawn().await;
    let problem = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Copy", "email": "TEST-author@example.com"}),
        )
        .await
        .problem(409);
    assert_eq!(problem["errors"][0]["field"], "email");
}

#[tokio::test]
async fn validation_names_every_bad_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let problem = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "  ", "email": "not-an-email", "website": "javascript:alert(1)", "bio": "x".repeat(5001)}),
        )
        .await
        .problem(422);
    let mut fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["bio", "email", "name", "website"]);
    assert_eq!(problem["detail"], "4 fields are invalid");

    let unknown = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Typo", "emial": "a@b.co"}),
        )
        .await
        .problem(422);
    assert_eq!(unknown["errors"][0]["field"], "emial");
    assert_eq!(unknown["errors"][0]["code"], "unknown_field");

    let missing = app
        .post("/api/v1/authors", Some(&app.editor), &json!({}))
        .await
        .problem(422);
    assert_eq!(missing["errors"][0]["field"], "name");
    assert_eq!(missing["errors"][0]["code"], "required");

    let wrong_type = app
        .post("/api/v1/authors", Some(&app.editor), &json!({"name": 42}))
        .await
        .problem(422);
    assert_eq!(wrong_type["errors"][0]["field"], "name");

    let cleared_name = app
        .patch(
            "/api/v1/authors/test-author",
            Some(&app.editor),
            &json!({"name": null}),
        )
        .await
        .problem(422);
    assert_eq!(cleared_name["errors"][0]["field"], "name");

    let total = app.get("/api/v1/authors", None).await.expect(200)["meta"]["total"].clone();
    assert_eq!(total, 1, "only the harness's author exists");
}

#[tokio::test]
async fn sql_and_html_are_stored_as_text() {
    let app = TestApp::spawn().await;
    let name = "Robert'); DROP TABLE authors;-- <script>alert(1)</script>";
    let author = app
        .post("/api/v1/authors", Some(&app.editor), &json!({"name": name}))
        .await
        .expect(201);
    assert_eq!(author["name"], name);
    assert_eq!(
        author["slug"],
        "robert-drop-table-authors-script-alert-1-script"
    );
    app.get("/api/v1/authors", None).await.expect(200);
    let nul = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "a\u{0}b"}),
        )
        .await
        .problem(422);
    assert_eq!(nul["errors"][0]["code"], "invalid_characters");
}

#[tokio::test]
async fn etags_give_304_and_guard_writes_with_412() {
    let app = TestApp::spawn().await;
    let first = app
        .get("/api/v1/authors/test-author", Some(&app.editor))
        .await;
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");

    let cached = app
        .send(
            app.request(reqwest::Method::GET, "/api/v1/authors/test-author")
                .bearer_auth(&app.editor)
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    // A write with the current ETag succeeds; replaying the old one is 412 and changes nothing.
    let patch = |tag: &str, bio: &str| {
        app.request(reqwest::Method::PATCH, "/api/v1/authors/test-author")
            .bearer_auth(&app.editor)
            .header("If-Match", tag)
            .header("Content-Type", "application/merge-patch+json")
            .body(json!({"bio": bio}).to_string())
    };
    let changed = app.send(patch(&etag, "first")).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let new_etag = changed.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    app.send(patch(&etag, "second")).await.problem(412);
    let now = app
        .get("/api/v1/authors/test-author", None)
        .await
        .expect(200);
    assert_eq!(now["bio"], "first");

    let stale_delete = app
        .send(
            app.request(reqwest::Method::DELETE, "/api/v1/authors/test-author")
                .bearer_auth(&app.editor)
                .header("If-Match", &etag),
        )
        .await;
    stale_delete.problem(412);
    let delete = app
        .send(
            app.request(reqwest::Method::DELETE, "/api/v1/authors/test-author")
                .bearer_auth(&app.editor)
                .header("If-Match", &new_etag),
        )
        .await;
    assert_eq!(delete.status, 204);
}

#[tokio::test]
async fn lists_page_by_number_and_by_cursor() {
    let app = TestApp::spawn().await;
    for i in 0..24 {
        app.post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": format!("Writer {i:02}")}),
        )
        .await
        .expect(201);
    }
    // 25 authors with the harness's one.
    let page = app.get("/api/v1/authors?per_page=10&page=2", None).await;
    let body = page.expect(200);
    assert_eq!(body["meta"]["total"], 25);
    assert_eq!(body["meta"]["page"], 2);
    assert_eq!(body["meta"]["total_pages"], 3);
    assert_eq!(body["meta"]["per_page"], 10);
    assert_eq!(body["data"].as_array().unwrap().len(), 10);
    assert_eq!(page.header("x-total-count"), Some("25"));
    let link = page.header("link").unwrap();
    assert!(
        link.contains(&format!(
            "<{}/api/v1/authors?per_page=10&page=3>; rel=\"next\"",
            app.address
        )),
        "{link}"
    );
    assert!(link.contains("page=1>; rel=\"prev\""), "{link}");

    // Walking by cursor visits every author once, in order.
    let mut seen = Vec::new();
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let path = if cursor.is_empty() {
            "/api/v1/authors?per_page=7&sort=-name".to_owned()
        } else {
            format!("/api/v1/authors?per_page=7&sort=-name&cursor={cursor}")
        };
        let body = app.get(&path, None).await.expect(200);
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned()),
        );
        if !cursor.is_empty() {
            assert!(
                body["meta"].get("page").is_none(),
                "cursor pages have no page number"
            );
        }
        next = body["meta"]["next_cursor"].as_str().map(str::to_owned);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 25);

    let last = app
        .get("/api/v1/authors?per_page=10&page=3", None)
        .await
        .expect(200);
    assert!(last["meta"]["next_cursor"].is_null());
    assert_eq!(last["data"].as_array().unwrap().len(), 5);

    let sparse = app
        .get("/api/v1/authors?fields=id,name&per_page=1", None)
        .await
        .expect(200);
    let keys: Vec<_> = sparse["data"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["id", "name"]);

    for bad in [
        "per_page=101",
        "per_page=0",
        "page=0",
        "page=abc",
        "sort=password",
        "cursor=garbage",
        "page=1&cursor=x",
        "fields=nope",
    ] {
        app.get(&format!("/api/v1/authors?{bad}"), None)
            .await
            .problem(400);
    }
    // A cursor made for one sort order is refused for another.
    let first = app
        .get("/api/v1/authors?per_page=2&sort=name", None)
        .await
        .expect(200);
    let cursor = first["meta"]["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/api/v1/authors?sort=created_at&cursor={cursor}"),
        None,
    )
    .await
    .problem(400);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let post = |body: serde_json::Value| {
        app.request(reqwest::Method::POST, "/api/v1/authors")
            .bearer_auth(&app.editor)
            .header("Idempotency-Key", "create-mira-1")
            .json(&body)
    };
    let first = app.send(post(json!({"name": "Mira"}))).await;
    let first_body = first.expect(201);
    let retry = app.send(post(json!({"name": "Mira"}))).await;
    assert_eq!(retry.expect(201), first_body);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let list = app
        .get("/api/v1/authors?per_page=100", None)
        .await
        .expect(200);
    assert_eq!(list["meta"]["total"], 2, "created once");
    let reused = app
        .send(post(json!({"name": "Someone else"})))
        .await
        .problem(422);
    assert_eq!(reused["errors"][0]["field"], "Idempotency-Key");
}

/// `article_count` of the test author and of the tag `counted` (read alone and in the list).
async fn counts(app: &TestApp) -> (serde_json::Value, serde_json::Value) {
    let author = app
        .get("/api/v1/authors/test-author", None)
        .await
        .expect(200);
    let tag = app.get("/api/v1/tags/counted", None).await.expect(200);
    let listed = app.get("/api/v1/tags?per_page=100", None).await.expect(200);
    let in_list = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "counted")
        .unwrap()["article_count"]
        .clone();
    assert_eq!(tag["article_count"], in_list);
    (
        author["article_count"].clone(),
        tag["article_count"].clone(),
    )
}

#[tokio::test]
async fn article_count_counts_public_articles_and_follows_changes() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Counted"}),
    )
    .await
    .expect(201);
    assert_eq!(counts(&app).await, (json!(0), json!(0)));
    let post = |status: &str, at: Option<String>| {
        json!({"title": format!("Counted {status} {at:?}"), "author": "test-author",
               "tags": ["counted"], "status": status, "published_at": at})
    };
    let published = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &post("published", None),
        )
        .await
        .expect(201);
    app.post("/api/v1/articles", Some(&app.editor), &post("draft", None))
        .await
        .expect(201);
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &post("published", Some(soon)),
    )
    .await
    .expect(201);
    // Drafts and scheduled articles are not counted (the answers were cached at 0: the
    // write dropped them).
    assert_eq!(counts(&app).await, (json!(1), json!(1)));
    // The scheduled one counts from its instant, with no request made.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(counts(&app).await, (json!(2), json!(2)));
    // Unpublishing drops it again.
    let path = format!("/api/v1/articles/{}", published["id"].as_str().unwrap());
    app.patch(&path, Some(&app.editor), &json!({"status": "draft"}))
        .await
        .expect(200);
    assert_eq!(counts(&app).await, (json!(1), json!(1)));
    let listed = app.get("/api/v1/authors", None).await.expect(200);
    let me = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "test-author")
        .unwrap();
    assert_eq!(me["article_count"], 1);
}

#[tokio::test]
async fn if_match_takes_the_etag_of_any_representation_of_the_current_version() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Ada Okafor", "email": "ada@example.com"}),
    )
    .await
    .expect(201);
    let path = "/api/v1/authors/ada-okafor";
    let public = app.get(path, None).await;
    let private = app.get(path, Some(&app.editor)).await;
    let public_etag = public.header("etag").unwrap().to_owned();
    let private_etag = private.header("etag").unwrap().to_owned();
    assert_ne!(
        public_etag, private_etag,
        "the email makes another representation"
    );
    // What it embeds may change (here its article_count) without the author changing.
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "By Ada", "author": "ada-okafor", "status": "published"}),
    )
    .await
    .expect(201);
    let patch = |etag: String, bio: &'static str| {
        app.send(
            app.request(reqwest::Method::PATCH, path)
                .bearer_auth(&app.editor)
                .header("If-Match", etag)
                .json(&json!({"bio": bio})),
        )
    };
    // The README's example: the ETag of a read without a token guards the write.
    patch(public_etag.clone(), "Science desk.")
        .await
        .expect(200);
    // Now stale, whichever representation it came from.
    patch(public_etag, "Again").await.problem(412);
    patch(private_etag, "Again").await.problem(412);
    let now = app.get(path, None).await.header("etag").unwrap().to_owned();
    patch(now, "Politics desk.").await.expect(200);
}

#[tokio::test]
async fn an_idempotent_create_is_claimed_written_and_saved_at_once() {
    let app = TestApp::spawn().await;
    let post = |key: &str, body: serde_json::Value| {
        app.request(reqwest::Method::POST, "/api/v1/authors")
            .bearer_auth(&app.editor)
            .header("Idempotency-Key", key)
            .json(&body)
    };
    // Ten retries at once: one creates, the others wait for it and replay its answer
    // (never "still in progress").
    let sent = futures_util::future::join_all(
        (0..10).map(|_| app.send(post("same-ten", json!({"name": "Ten Times"})))),
    )
    .await;
    let ids: Vec<_> = sent.iter().map(|r| r.expect(201)["id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let list = app
        .get("/api/v1/authors?per_page=100", None)
        .await
        .expect(200);
    assert_eq!(list["meta"]["total"], 2, "created once");
    // A create that fails leaves nothing behind, its key included: the corrected retry
    // with the same key goes through.
    app.send(post(
        "fix-me",
        json!({"name": "Bad Avatar", "avatar": uuid::Uuid::now_v7()}),
    ))
    .await
    .problem(422);
    assert_eq!(
        app.sql_text("SELECT key FROM idempotency_keys WHERE key = 'fix-me'")
            .await
            .len(),
        0
    );
    app.send(post("fix-me", json!({"name": "Good Avatar"})))
        .await
        .expect(201);
}
