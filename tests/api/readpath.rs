//! The read path a CDN and thousands of readers rely on: nothing one client sends reaches
//! another's answer; writes drop exactly the kept answers that show what they changed;
//! kept answers are compressed, bounded and served whole; lists are cards.
use std::io::Read;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Options, Reply, TestApp};

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::new_rgb8(width, height)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A published article with a tag, a cover and a figure; returns its id.
async fn article_with_figure(app: &TestApp, title: &str) -> String {
    let image = app
        .upload(
            Some(&app.editor),
            png(800, 600),
            "f.png",
            "image/png",
            &[("alt", "A figure"), ("caption", "Its caption")],
        )
        .await;
    let image = if image.status == 200 {
        image.json()
    } else {
        image.expect(201)
    };
    let id = image["id"].as_str().unwrap();
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({
            "title": title, "author": "test-author", "status": "published",
            "tags": ["cities"], "cover_image": id,
            "body_markdown": format!("Intro.\n\n![x](image:{id})\n\n## Part\n\nText."),
        }),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn everything(reply: &Reply) -> String {
    let mut text = reply.text();
    for (name, value) in &reply.headers {
        text.push_str(&format!("\n{name}: {}", value.to_str().unwrap_or_default()));
    }
    text
}

const ATTACKS: [(&str, &str); 6] = [
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "javascript"),
    ("Forwarded", "proto=javascript;host=evil.example"),
    ("X-Forwarded-Host", "x\" onerror=\"alert(1)\" y=\""),
    ("Forwarded", "host=\"x\\\" onerror=alert(1)\""),
];

fn assert_clean(text: &str, context: &str) {
    for bad in ["evil.example", "javascript", "onerror", "alert(1)"] {
        assert!(!text.contains(bad), "{context}: `{bad}` in\n{text}");
    }
}

#[tokio::test]
async fn untrusted_forwarding_headers_reach_no_answer() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Cities"}),
    )
    .await
    .expect(201);
    let id = article_with_figure(&app, "Harbour at night").await;
    app.patch(
        &format!("/api/v1/articles/{id}"),
        Some(&app.editor),
        &json!({"slug": "the-harbour"}),
    )
    .await
    .expect(200);
    let reads = [
        "/api/v1/articles".to_owned(),
        "/api/v1/articles?per_page=1&include=body".to_owned(),
        "/api/v1/articles/the-harbour".to_owned(),
        "/api/v1/articles/harbour-at-night".to_owned(),
        "/api/v1/images?per_page=1".to_owned(),
        "/api/v1/authors/test-author".to_owned(),
        "/api/v1/tags?per_page=1".to_owned(),
        "/api/v1/no-such-thing".to_owned(),
        "/api/v1/articles/no-such-article".to_owned(),
    ];
    for (name, value) in ATTACKS {
        for path in &reads {
            // The attacker's own answer is clean, and so is the next plain reader's.
            let attacked = app
                .send(app.request(Method::GET, path).header(name, value))
                .await;
            assert_clean(
                &everything(&attacked),
                &format!("{name}: {value} on {path}"),
            );
            let plain = app.get(path, None).await;
            assert_clean(&everything(&plain), &format!("after {name} on {path}"));
        }
        // Locations of writes, too.
        let created = app
            .send(
                app.request(Method::POST, "/api/v1/tags")
                    .bearer_auth(&app.editor)
                    .header(name, value)
                    .json(&json!({"name": format!("t {}", rand_suffix())})),
            )
            .await;
        assert_eq!(created.status, 201);
        assert_clean(
            &everything(&created),
            &format!("{name}: {value} on a create"),
        );
    }
    // URLs are on the address lede serves on, figures included.
    let article = app.get("/api/v1/articles/the-harbour", None).await.json();
    let html = article["body_html"].as_str().unwrap();
    assert!(
        html.contains(&format!("src=\"{}/media/", app.address)),
        "{html}"
    );
    assert!(
        article["cover_image"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&app.address)
    );
    // The old slug redirects on-site, and says how long to keep that.
    let moved = app
        .send(
            app.request(Method::GET, "/api/v1/articles/harbour-at-night")
                .header("X-Forwarded-Host", "evil.example"),
        )
        .await;
    assert_eq!(moved.status, 301);
    assert_eq!(
        moved.header("location"),
        Some(format!("{}/api/v1/articles/the-harbour", app.address).as_str())
    );
    assert!(moved.header("cache-control").is_some());
}

fn rand_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[tokio::test]
async fn a_trusted_proxy_sets_the_base_only_as_a_host() {
    let app = TestApp::spawn_with(Options {
        trusted_proxies: "127.0.0.1".into(),
        ..Options::default()
    })
    .await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Cities"}),
    )
    .await
    .expect(201);
    article_with_figure(&app, "Proxied").await;
    let behind = app
        .send(
            app.request(Method::GET, "/api/v1/articles/proxied")
                .header("X-Forwarded-Host", "cms.example.com")
                .header("X-Forwarded-Proto", "https"),
        )
        .await
        .expect(200);
    assert!(
        behind["body_html"]
            .as_str()
            .unwrap()
            .contains("src=\"https://cms.example.com/media/"),
        "{behind}"
    );
    // The base is part of the cache key: a direct reader gets its own.
    let direct = app.get("/api/v1/articles/proxied", None).await.json();
    assert!(
        direct["cover_image"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&app.address)
    );
    // Even a trusted proxy's values are believed only when they are a host and http(s).
    for (name, value) in ATTACKS.iter().skip(2) {
        let reply = app
            .send(
                app.request(Method::GET, "/api/v1/articles/proxied")
                    .header(*name, *value),
            )
            .await;
        assert_clean(&everything(&reply), &format!("{name}: {value}"));
        assert!(
            reply.json()["cover_image"]["url"]
                .as_str()
                .unwrap()
                .starts_with(&app.address)
        );
    }
}

#[tokio::test]
async fn an_author_cannot_forge_the_media_placeholder() {
    let app = TestApp::spawn().await;
    let body = "[a](/__lede_media__/x) `/__lede_media__` <a href=\"/__lede_media__/y\">b</a>";
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Forged", "author": "test-author", "status": "published", "body_markdown": body}),
    )
    .await
    .expect(201);
    let reply = app
        .send(
            app.request(Method::GET, "/api/v1/articles/forged")
                .header("Host", "x\" onerror=\"alert(1)"),
        )
        .await
        .expect(200);
    let html = reply["body_html"].as_str().unwrap();
    assert!(!html.contains("/media"), "{html}");
    assert!(!html.contains("onerror"), "{html}");
}

/// Reads `path` and tells how many SQL statements that cost (0: served from the cache).
async fn statements_for(app: &TestApp, path: &str) -> u64 {
    let before = app.queries().await;
    app.get(path, None).await.expect(200);
    app.queries().await - before
}

#[tokio::test]
async fn writes_that_change_nothing_public_keep_hot_answers() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Cities"}),
    )
    .await
    .expect(201);
    article_with_figure(&app, "Hot").await;
    let hot = [
        "/api/v1/articles/hot",
        "/api/v1/articles",
        "/api/v1/articles/hot/comments",
    ];
    for path in hot {
        statements_for(&app, path).await;
        assert_eq!(statements_for(&app, path).await, 0, "{path} kept");
    }
    // A pending comment, a draft's creation and edit, a token.
    app.post(
        "/api/v1/articles/hot/comments",
        None,
        &json!({"author_name": "P", "author_email": "p@example.com", "body": "pending"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Draft", "author": "test-author"}),
    )
    .await
    .expect(201);
    app.patch(
        "/api/v1/articles/draft",
        Some(&app.editor),
        &json!({"subtitle": "still a draft"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/tokens",
        Some(&app.admin),
        &json!({"name": "ci", "role": "editor"}),
    )
    .await
    .expect(201);
    // 12,000 junk query strings: refused, and they neither fill nor empty the cache.
    let junk: Vec<String> = (0..12_000)
        .map(|i| format!("/api/v1/articles?junk{i}=1"))
        .collect();
    for chunk in junk.chunks(200) {
        let replies = futures_util::future::join_all(chunk.iter().map(|p| app.get(p, None))).await;
        for reply in replies {
            reply.problem(400);
        }
    }
    // The same list written differently is the same kept answer.
    statements_for(&app, "/api/v1/articles?per_page=20&sort=-published_at").await;
    for same in [
        "/api/v1/articles?sort=-published_at&per_page=20",
        "/api/v1/articles?per_page=%32%30&sort=%2Dpublished_at",
    ] {
        assert_eq!(statements_for(&app, same).await, 0, "{same}");
    }
    for path in hot {
        assert_eq!(statements_for(&app, path).await, 0, "{path} still kept");
    }
}

#[tokio::test]
async fn a_write_drops_only_the_answers_that_show_what_it_changed() {
    let app = TestApp::spawn().await;
    for title in ["First", "Second"] {
        app.post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": title, "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    }
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Other Writer"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Third", "author": "other-writer", "status": "published"}),
    )
    .await
    .expect(201);
    for path in [
        "/api/v1/articles/first",
        "/api/v1/articles/second",
        "/api/v1/articles/third",
        "/api/v1/tags",
    ] {
        statements_for(&app, path).await;
    }
    app.patch(
        "/api/v1/articles/first",
        Some(&app.editor),
        &json!({"subtitle": "Edited"}),
    )
    .await
    .expect(200);
    assert_eq!(
        statements_for(&app, "/api/v1/articles/second").await,
        0,
        "another article kept"
    );
    assert_eq!(statements_for(&app, "/api/v1/tags").await, 0, "tags kept");
    assert_eq!(
        app.get("/api/v1/articles/first", None).await.json()["subtitle"],
        "Edited",
        "the edit shows at once"
    );
    // A rename shows at once in every article of that author, and only there.
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"name": "New Name"}),
    )
    .await
    .expect(200);
    assert_eq!(
        statements_for(&app, "/api/v1/articles/third").await,
        0,
        "other author's kept"
    );
    for slug in ["first", "second"] {
        assert_eq!(
            app.get(&format!("/api/v1/articles/{slug}"), None)
                .await
                .json()["author"]["name"],
            "New Name"
        );
    }
    // A change no article shows (an author's bio) keeps the articles and their lists.
    statements_for(&app, "/api/v1/articles").await;
    statements_for(&app, "/api/v1/articles/first").await;
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"bio": "Writes."}),
    )
    .await
    .expect(200);
    assert_eq!(
        statements_for(&app, "/api/v1/articles").await,
        0,
        "lists kept"
    );
    assert_eq!(
        statements_for(&app, "/api/v1/articles/first").await,
        0,
        "articles kept"
    );
    assert_eq!(
        app.get("/api/v1/authors/test-author", None).await.json()["bio"],
        "Writes."
    );
    // What the answers say they show, for a CDN to purge by.
    let reply = app.get("/api/v1/articles/third", None).await;
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let keys = reply.header("surrogate-key").unwrap().to_owned();
    assert!(keys.contains(&format!("article:{id}")), "{keys}");
    assert!(keys.contains("byline:"), "{keys}");
    let list_keys = app.get("/api/v1/articles", None).await;
    let list_keys = list_keys.header("surrogate-key").unwrap();
    assert!(list_keys.split(' ').any(|k| k == "articles"), "{list_keys}");
    assert!(list_keys.contains(&format!("article:{id}")), "{list_keys}");
    // A list names its items, not what they embed (a short header; a change to an author,
    // tag or image names the lists too).
    assert!(!list_keys.contains("byline:"), "{list_keys}");
}

fn varies(reply: &Reply) -> bool {
    reply
        .headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap_or_default().contains("Accept-Encoding"))
}

#[tokio::test]
async fn answers_are_served_whole_compressed_and_vary_on_encoding() {
    let app = TestApp::spawn().await;
    // Ten long reads: a list with bodies of ~10 MB.
    let long = "A sentence of a long read, with *some* markup. ".repeat(9_000);
    for i in 0..10 {
        app.post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": format!("Long read {i}"), "author": "test-author", "status": "published", "body_markdown": long}),
        )
        .await
        .expect(201);
    }
    for path in [
        "/api/v1/articles?include=body&per_page=10",
        "/api/v1/articles?include=body&per_page=4",
    ] {
        for _ in 0..2 {
            let reply = app.get(path, None).await;
            assert_eq!(reply.status, 200);
            assert!(
                reply.body.len() > 3_000_000,
                "{path}: {} bytes",
                reply.body.len()
            );
            let list = reply.json();
            assert!(list["data"][0]["body_markdown"].as_str().unwrap().len() > 400_000);
            assert!(varies(&reply), "{path}");
        }
    }
    // Kept answers in the encoding asked for, the same bytes once decoded.
    let path = "/api/v1/articles/long-read-1";
    let plain = app.get(path, None).await;
    let br = app
        .send(
            app.request(Method::GET, path)
                .header("Accept-Encoding", "br"),
        )
        .await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(varies(&br));
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
    assert!(br.body.len() * 5 < plain.body.len());
    let gzip = app
        .send(
            app.request(Method::GET, path)
                .header("Accept-Encoding", "gzip;q=1, br;q=0"),
        )
        .await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    // A client that refuses every coding gets the answer as it is, never a plain-text 406.
    for refuses in ["identity;q=0, *;q=0", "*;q=0", "gzip;q=0"] {
        let reply = app
            .send(
                app.request(Method::GET, path)
                    .header("Accept-Encoding", refuses),
            )
            .await;
        assert_eq!(reply.status, 200, "{refuses}");
        assert_eq!(reply.body, plain.body, "{refuses}");
        let reply = app
            .send(
                app.request(Method::GET, "/api/v1/nothing")
                    .header("Accept-Encoding", refuses),
            )
            .await;
        reply.problem(404);
    }
    // A 304 and a small answer vary too.
    let etag = plain.header("etag").unwrap();
    let not_modified = app
        .send(app.request(Method::GET, path).header("If-None-Match", etag))
        .await;
    assert_eq!(not_modified.status, 304);
    assert!(varies(&not_modified));
    assert!(varies(&app.get("/api/v1/tags", None).await));
}

#[tokio::test]
async fn lists_are_cards_and_unknown_parameters_are_refused() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Card", "author": "test-author", "status": "published", "body_markdown": "## Head\n\nBody."}),
    )
    .await
    .expect(201);
    let card = &app.get("/api/v1/articles", None).await.expect(200)["data"][0];
    assert!(
        card.get("body_markdown").is_none() && card.get("body_html").is_none(),
        "{card}"
    );
    assert_eq!(card["toc"][0]["anchor"], "head");
    assert_eq!(card["title"], "Card");
    let full = &app
        .get("/api/v1/articles?include=body", None)
        .await
        .expect(200)["data"][0];
    assert_eq!(full["body_markdown"], "## Head\n\nBody.");
    app.get("/api/v1/articles?include=comments", None)
        .await
        .problem(400);
    // A single article always has its body.
    assert!(app.get("/api/v1/articles/card", None).await.json()["body_html"].is_string());

    for (path, name) in [
        ("/api/v1/articles?autor=test-author", "autor"),
        ("/api/v1/articles?tag[]=cities", "tag[]"),
        ("/api/v1/authors?status=draft", "status"),
        ("/api/v1/articles/card?fields=id", "fields"),
        ("/api/v1/tags?per_page=1&x=1", "x"),
        ("/api/v1/%61rticles?autor=x", "autor"),
    ] {
        let problem = app.get(path, None).await.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{path}: {problem}"
        );
    }
}

#[tokio::test]
async fn answers_not_kept_are_public_and_compressed_all_the_same() {
    let app = TestApp::spawn_with(Options {
        cache_ttl: 0,
        ..Options::default()
    })
    .await;
    article_with_figure(&app, "Uncached").await;
    for path in ["/api/v1/articles", "/api/v1/articles/uncached"] {
        let plain = app.get(path, None).await;
        assert_eq!(plain.status, 200);
        let br = app
            .send(
                app.request(Method::GET, path)
                    .header("Accept-Encoding", "br"),
            )
            .await;
        assert_eq!(br.header("content-encoding"), Some("br"), "{path}");
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&br.body[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain.body, "{path}");
        assert!(varies(&br), "{path}");
        assert!(br.header("cache-control").unwrap().starts_with("public"));
        assert!(br.header("surrogate-key").unwrap().contains("article:"));
    }
}

#[tokio::test]
async fn a_revalidation_that_misses_the_cache_is_kept() {
    let app = TestApp::spawn().await;
    // Two URLs of one list answer the same bytes, so the same ETag.
    let etag = app
        .get("/api/v1/authors", None)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let path = "/api/v1/authors?per_page=20";
    let conditional = app
        .send(
            app.request(Method::GET, path)
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(conditional.status, 304);
    assert_eq!(
        statements_for(&app, path).await,
        0,
        "the answer behind the 304 was kept"
    );
}

#[tokio::test]
async fn urls_no_operation_takes_are_refused() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(5000);
    for path in [
        format!("/api/v1/articles?q={long}"),
        format!("/api/v1/articles?author={}", "a".repeat(101)),
        format!("/api/v1/articles?tag={}", "b".repeat(101)),
        "/api/v1/articles/%00".to_owned(),
        "/api/v1/authors/a%00b".to_owned(),
        "/api/v1/articles?q=%00".to_owned(),
        "/api/v1/articles?author=%00".to_owned(),
        "/api/v1/articles?tag=a%00b".to_owned(),
        "/api/v1/images?mime_type=image%2Fpng%00".to_owned(),
        "/api/v1/tags/a%00b".to_owned(),
    ] {
        app.get(&path, None).await.problem(400);
    }
}

#[tokio::test]
async fn head_is_answered_wherever_get_is() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Cities"}),
    )
    .await
    .expect(201);
    article_with_figure(&app, "Headed").await;
    let media = app.get("/api/v1/articles/headed", None).await.json()["cover_image"]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    for path in [
        "/api/v1/articles",
        "/api/v1/articles/headed",
        media.as_str(),
        "/healthz",
    ] {
        let get = app.get(path, None).await;
        let head = app.send(app.request(Method::HEAD, path)).await;
        assert_eq!(head.status, 200, "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
    }
    let _: Value = app.get("/api/v1/articles", None).await.json();
}
