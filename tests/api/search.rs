//! Search through the index: what each reader may find, how it follows every kind of write,
//! filters and orders in the index, exact or estimated totals, and a node that builds its
//! own index.
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{TestApp, serve_on};

async fn titles(app: &TestApp, path: &str, token: Option<&str>) -> Vec<String> {
    let page = app.get(path, token).await.expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn write(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/api/v1/articles", Some(token), &body)
        .await
        .expect(201)
}

#[tokio::test]
async fn drafts_and_scheduled_articles_are_found_only_by_who_may_read_them() {
    let app = TestApp::spawn().await;
    write(
        &app,
        &app.editor,
        json!({"title": "Lantern public", "author": "test-author", "status": "published",
        "body_markdown": "The lantern festival opens."}),
    )
    .await;
    write(
        &app,
        &app.author,
        json!({"title": "Lantern draft", "body_markdown": "A lantern draft, not public."}),
    )
    .await;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    write(
        &app,
        &app.editor,
        json!({"title": "Lantern tomorrow", "author": "test-author", "status": "published",
        "published_at": tomorrow, "body_markdown": "Lantern news for tomorrow."}),
    )
    .await;

    assert_eq!(
        titles(&app, "/api/v1/articles?q=lantern", None).await,
        ["Lantern public"]
    );
    let mut staff = titles(
        &app,
        "/api/v1/articles?q=lantern&status=any",
        Some(&app.editor),
    )
    .await;
    staff.sort();
    assert_eq!(
        staff,
        ["Lantern draft", "Lantern public", "Lantern tomorrow"]
    );
    assert_eq!(
        titles(
            &app,
            "/api/v1/articles?q=lantern&status=scheduled",
            Some(&app.editor)
        )
        .await,
        ["Lantern tomorrow"]
    );
    assert_eq!(
        titles(
            &app,
            "/api/v1/articles?q=lantern&status=draft",
            Some(&app.author)
        )
        .await,
        ["Lantern draft"]
    );
    // Whatever the words, a draft's text never reaches the public (not even in a total).
    let public = app.get("/api/v1/articles?q=draft", None).await.expect(200);
    assert_eq!(public["meta"]["total"], 0, "{public}");
    app.get("/api/v1/articles?q=lantern&status=draft", None)
        .await
        .problem(403);
}

#[tokio::test]
async fn the_index_follows_every_write() {
    let app = TestApp::spawn().await;
    let made = write(
        &app,
        &app.editor,
        json!({"title": "Quay walls", "author": "test-author", "status": "published",
        "tags": ["harbours"], "body_markdown": "Granite quay walls."}),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(
        titles(&app, "/api/v1/articles?q=granite", None).await,
        ["Quay walls"]
    );
    // An edit: the old words are gone, the new ones found.
    app.patch(
        &format!("/api/v1/articles/{id}"),
        Some(&app.editor),
        &json!({"body_markdown": "Basalt quay walls."}),
    )
    .await
    .expect(200);
    assert!(
        titles(&app, "/api/v1/articles?q=granite", None)
            .await
            .is_empty()
    );
    assert_eq!(
        titles(&app, "/api/v1/articles?q=basalt", None).await,
        ["Quay walls"]
    );
    // The author's name and the tag's name are searchable, and follow a rename.
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"name": "Wilhelmina Okafor"}),
    )
    .await
    .expect(200);
    assert_eq!(
        titles(&app, "/api/v1/articles?q=wilhelmina", None).await,
        ["Quay walls"]
    );
    app.patch(
        "/api/v1/tags/harbours",
        Some(&app.editor),
        &json!({"name": "Seaports", "slug": "seaports"}),
    )
    .await
    .expect(200);
    assert_eq!(
        titles(&app, "/api/v1/articles?q=seaports", None).await,
        ["Quay walls"]
    );
    // Filters by the new slug work in the index.
    assert_eq!(
        titles(&app, "/api/v1/articles?q=basalt&tag=seaports", None).await,
        ["Quay walls"]
    );
    assert!(
        titles(&app, "/api/v1/articles?q=basalt&tag=harbours", None)
            .await
            .is_empty()
    );
    // A deleted tag leaves no trace in the index (its links went by cascade, unrecorded).
    app.delete("/api/v1/tags/seaports", Some(&app.editor))
        .await
        .expect(204);
    assert!(
        titles(&app, "/api/v1/articles?q=seaports", None)
            .await
            .is_empty()
    );
    // Back to draft: gone for the public, found by staff; deleted: gone for all.
    app.patch(
        &format!("/api/v1/articles/{id}"),
        Some(&app.editor),
        &json!({"status": "draft"}),
    )
    .await
    .expect(200);
    assert!(
        titles(&app, "/api/v1/articles?q=basalt", None)
            .await
            .is_empty()
    );
    assert_eq!(
        titles(
            &app,
            "/api/v1/articles?q=basalt&status=any",
            Some(&app.editor)
        )
        .await,
        ["Quay walls"]
    );
    app.delete(&format!("/api/v1/articles/{id}"), Some(&app.editor))
        .await
        .expect(204);
    assert!(
        titles(
            &app,
            "/api/v1/articles?q=basalt&status=any",
            Some(&app.editor)
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn searches_sort_and_page_by_cursor_in_the_index() {
    let app = TestApp::spawn().await;
    let start = Utc::now() - Duration::days(30);
    for i in 0..7 {
        let at = (start + Duration::days(i)).to_rfc3339();
        write(&app, &app.editor, json!({"title": format!("Ferry log {i}"), "author": "test-author",
            "status": "published", "published_at": at, "body_markdown": format!("The ferry ran {} times.", i + 1)})).await;
    }
    // Newest first, three per page, every article once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/articles?q=ferry&sort=-published_at&per_page=3".to_owned();
    loop {
        let page = app.get(&path, None).await.expect(200);
        assert_eq!(page["meta"]["total"], 7);
        assert_eq!(page["meta"]["total_estimated"], false);
        for item in page["data"].as_array().unwrap() {
            seen.push(item["title"].as_str().unwrap().to_owned());
        }
        match page["meta"]["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/articles?q=ferry&sort=-published_at&per_page=3&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Ferry log {i}")).collect();
    assert_eq!(seen, expected);
    // Oldest first by page number.
    assert_eq!(
        titles(
            &app,
            "/api/v1/articles?q=ferry&sort=published_at&per_page=2&page=2",
            None
        )
        .await,
        ["Ferry log 2", "Ferry log 3"]
    );
    // By relevance, paged by cursor: every hit once.
    let mut by_rank = Vec::new();
    let mut path = "/api/v1/articles?q=ferry&per_page=2".to_owned();
    loop {
        let page = app.get(&path, None).await.expect(200);
        for item in page["data"].as_array().unwrap() {
            assert!(
                item["snippet"]
                    .as_str()
                    .unwrap()
                    .contains("<mark>ferry</mark>"),
                "{item}"
            );
            by_rank.push(item["title"].as_str().unwrap().to_owned());
        }
        match page["meta"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/articles?q=ferry&per_page=2&cursor={cursor}"),
            None => break,
        }
    }
    by_rank.sort();
    let mut all: Vec<String> = (0..7).map(|i| format!("Ferry log {i}")).collect();
    all.sort();
    assert_eq!(by_rank, all);
    // A cursor whose score is not a number is refused, not an empty page.
    let nan =
        base64_url(r#"{"s":"-relevance","v":"NaN","id":"01a2193e-b983-71f4-91b1-677229d44d33"}"#);
    app.get(&format!("/api/v1/articles?q=ferry&cursor={nan}"), None)
        .await
        .problem(400);
    // A search sorts by relevance or time; by title it says so.
    let problem = app
        .get("/api/v1/articles?q=ferry&sort=title", None)
        .await
        .problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("relevance"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_new_node_builds_its_index_from_postgres_and_counts_every_hit() {
    let app = TestApp::spawn().await;
    write(
        &app,
        &app.editor,
        json!({"title": "Tidal mills", "author": "test-author", "status": "published",
        "body_markdown": "Mills on the tide."}),
    )
    .await;
    // 1,500 more, written straight into the database (no change recorded): only a node that
    // builds its index from Postgres knows them.
    app.exec(
        "INSERT INTO articles (id, slug, title, excerpt, body_markdown, body_html, body_text, toc, status, \
         published_at, author_id, word_count, reading_time_minutes) \
         SELECT gen_random_uuid(), 'tidal-copy-' || n, 'Tidal copy ' || n, 'Tide tables.', 'Tide', '<p>Tide</p>', \
         'Tidal tables ' || n, '[]', 'published', now() - interval '1 day', a.author_id, 1, 1 \
         FROM generate_series(1, 1500) n, (SELECT author_id FROM articles LIMIT 1) a",
    )
    .await;
    let (other, server) = serve_on(&app.database_url).await;
    let client = reqwest::Client::new();
    let search = |path: &'static str| {
        let url = format!("{other}{path}");
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let tidal = search("/api/v1/articles?q=tidal&per_page=5").await;
    // Every match is counted (the index visits each to rank it): exact, past 1,000 too.
    assert_eq!(tidal["meta"]["total"], 1501, "{}", tidal["meta"]);
    assert_eq!(tidal["meta"]["total_estimated"], false);
    assert_eq!(tidal["data"].as_array().unwrap().len(), 5);
    let mills = search("/api/v1/articles?q=mills").await;
    assert_eq!(mills["meta"]["total"], 1);
    assert_eq!(mills["meta"]["total_estimated"], false);
    // A write through the first node reaches the second's index (announced by the feed).
    write(
        &app,
        &app.editor,
        json!({"title": "Weirs", "author": "test-author", "status": "published",
        "body_markdown": "Weirs and sluices."}),
    )
    .await;
    let mut found = false;
    for _ in 0..100 {
        if search("/api/v1/articles?q=sluices").await["meta"]["total"] == 1 {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the other node's index took in the write");
    server.stop(false).await;
}

#[tokio::test]
async fn list_totals_are_kept_exact_or_estimated_past_a_thousand() {
    let app = TestApp::spawn().await;
    let total = |meta: &Value| {
        (
            meta["total"].as_i64().unwrap(),
            meta["total_estimated"].as_bool().unwrap(),
        )
    };
    write(
        &app,
        &app.editor,
        json!({"title": "One", "author": "test-author", "status": "published"}),
    )
    .await;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    write(&app, &app.editor, json!({"title": "Later", "author": "test-author", "status": "published", "published_at": tomorrow})).await;
    let draft = write(
        &app,
        &app.editor,
        json!({"title": "Draft", "author": "test-author"}),
    )
    .await;
    let list = app.get("/api/v1/articles", None).await.expect(200);
    assert_eq!(
        total(&list["meta"]),
        (1, false),
        "the scheduled one and the draft are not counted"
    );
    app.patch(
        &format!("/api/v1/articles/{}", draft["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"status": "published"}),
    )
    .await
    .expect(200);
    assert_eq!(
        total(&app.get("/api/v1/articles", None).await.expect(200)["meta"]),
        (2, false)
    );
    // 1,500 more in one statement: the kept totals follow bulk writes too.
    app.exec(
        "INSERT INTO articles (id, slug, title, excerpt, body_markdown, body_html, body_text, toc, status, \
         published_at, author_id, word_count, reading_time_minutes) \
         SELECT gen_random_uuid(), 'bulk-' || n, 'Bulk ' || n, '', '', '', '', '[]', 'published', \
         now() - interval '1 hour', a.author_id, 1, 1 \
         FROM generate_series(1, 1500) n, (SELECT author_id FROM articles LIMIT 1) a",
    )
    .await;
    // (Written behind lede's back: an edit makes it drop the total it keeps in memory.)
    let touch = |n: u32| {
        let app = &app;
        async move {
            app.patch(
                "/api/v1/articles/one",
                Some(&app.editor),
                &json!({"subtitle": format!("Edit {n}")}),
            )
            .await
        }
    };
    touch(1).await.expect(200);
    assert_eq!(
        total(&app.get("/api/v1/articles", None).await.expect(200)["meta"]),
        (1502, false)
    );
    let staff = app
        .get("/api/v1/articles?status=any", Some(&app.editor))
        .await
        .expect(200);
    assert!(
        total(&staff["meta"]).1,
        "staff lists past 1,000 are estimated"
    );
    // A filter matching more than 1,000: estimated, and said so; fewer: exact.
    let by_author = app
        .get("/api/v1/articles?author=test-author&per_page=5", None)
        .await
        .expect(200);
    let (estimate, estimated) = total(&by_author["meta"]);
    assert!(estimated && estimate > 1_000, "{}", by_author["meta"]);
    let recent = app
        .get(
            &format!(
                "/api/v1/articles?published_after={}",
                urlencoding((Utc::now() - Duration::minutes(10)).to_rfc3339())
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(total(&recent["meta"]), (2, false));
    app.exec("DELETE FROM articles WHERE slug LIKE 'bulk-%'")
        .await;
    touch(2).await.expect(200);
    assert_eq!(
        total(&app.get("/api/v1/articles", None).await.expect(200)["meta"]),
        (2, false)
    );
}

fn urlencoding(text: String) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn hits_postgres_no_longer_shows_do_not_end_the_pages_early() {
    let app = TestApp::spawn().await;
    let start = Utc::now() - Duration::days(10);
    for i in 1..=4 {
        let at = (start + Duration::days(i)).to_rfc3339();
        write(
            &app,
            &app.editor,
            json!({"title": format!("Zebra crossing {i}"), "author": "test-author",
            "status": "published", "published_at": at, "body_markdown": "Zebra crossings."}),
        )
        .await;
    }
    // Made a draft behind the feed's back: the index still has it as public for now.
    app.exec("UPDATE articles SET status = 'draft' WHERE slug = 'zebra-crossing-3'")
        .await;
    let path = "/api/v1/articles?q=zebra&sort=-published_at&per_page=2";
    let first = app.get(path, None).await.expect(200);
    let titles_of = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles_of(&first), ["Zebra crossing 4", "Zebra crossing 2"]);
    let cursor = first["meta"]["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a next page: {}", first["meta"]));
    let second = app
        .get(&format!("{path}&cursor={cursor}"), None)
        .await
        .expect(200);
    assert_eq!(titles_of(&second), ["Zebra crossing 1"]);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_snippet_shows_the_text_once_and_marks_a_phrase_whole() {
    let app = TestApp::spawn().await;
    write(
        &app,
        &app.editor,
        json!({"title": "Night service", "author": "test-author", "status": "published",
            "body_markdown": "The last bus left at ten; the last night tram at 00:41.\n\nThe depot went dark."}),
    )
    .await;
    let page = app
        .get("/api/v1/articles?q=%22last%20night%22", None)
        .await
        .expect(200);
    let snippet = page["data"][0]["snippet"].as_str().unwrap();
    // The derived excerpt is the body's start: shown once, not twice.
    assert_eq!(snippet.matches("The last bus").count(), 1, "{snippet}");
    assert!(
        snippet.contains("the <mark>last night</mark> tram"),
        "the phrase is marked whole, and `last` alone is not: {snippet}"
    );
    assert!(!snippet.contains("<mark>last</mark>"), "{snippet}");
}
