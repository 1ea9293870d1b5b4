//! Public answers are kept in memory and by clients; every kind of write is seen at once,
//! through embedded objects too, and on another node of the same database.
use serde_json::json;

use crate::support::{TestApp, serve_on};

#[tokio::test]
async fn public_answers_are_cacheable_and_revalidate_with_304() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/authors",
        "/api/v1/authors/test-author",
        "/api/v1/tags",
        "/api/v1/articles",
    ] {
        let first = app.get(path, None).await;
        assert_eq!(first.status, 200);
        assert_eq!(
            first.header("cache-control"),
            Some("public, max-age=10, stale-while-revalidate=60"),
            "{path}"
        );
        let etag = first.header("etag").unwrap().to_owned();
        // Again: from the cache, same bytes, same ETag.
        let again = app.get(path, None).await;
        assert_eq!(again.body, first.body, "{path}");
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let revalidated = app
            .send(
                app.request(reqwest::Method::GET, path)
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(revalidated.status, 304, "{path}");
        assert!(revalidated.body.is_empty());
        assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    }
    // Lists keep their paging headers when served from the cache.
    let list = app.get("/api/v1/tags", None).await;
    assert!(list.header("x-total-count").is_some());
    // Answers with a token are never kept, and say so to every cache on the way.
    let private = app
        .get("/api/v1/authors/test-author", Some(&app.editor))
        .await;
    assert_eq!(private.header("cache-control"), Some("private, no-store"));
    assert_eq!(private.json()["email"], "test-author@example.com");
    let public = app.get("/api/v1/authors/test-author", None).await;
    assert!(
        public.json().get("email").is_none(),
        "a token's answer never reaches the public"
    );
}

#[tokio::test]
async fn every_kind_of_write_is_seen_at_once_through_embedded_objects() {
    let app = TestApp::spawn().await;
    let png = {
        let mut out = Vec::new();
        image::DynamicImage::new_rgb8(400, 300)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let image = app
        .upload(
            Some(&app.editor),
            png,
            "c.png",
            "image/png",
            &[("alt", "Old alt")],
        )
        .await
        .expect(201);
    let image_id = image["id"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Old tag"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Cached", "author": "test-author", "status": "published", "tags": ["old-tag"], "cover_image": image_id}),
    )
    .await
    .expect(201);
    let article = app.get("/api/v1/articles/cached", None).await.json();
    assert_eq!(article["author"]["name"], "Test Author");
    app.get("/api/v1/articles", None).await.json();

    // An author rename shows in the article that embeds it.
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"name": "Renamed Author"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/articles/cached", None).await.json()["author"]["name"],
        "Renamed Author"
    );
    assert_eq!(
        app.get("/api/v1/articles", None).await.json()["data"][0]["author"]["name"],
        "Renamed Author"
    );
    // An image edit shows in the cover.
    app.patch(
        &format!("/api/v1/images/{image_id}"),
        Some(&app.editor),
        &json!({"alt": "New alt"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/articles/cached", None).await.json()["cover_image"]["alt"],
        "New alt"
    );
    // A tag rename shows in the article's tags.
    app.patch(
        "/api/v1/tags/old-tag",
        Some(&app.editor),
        &json!({"name": "New tag"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/articles/cached", None).await.json()["tags"][0]["name"],
        "New tag"
    );
    // An article edit, a new comment approved, a delete.
    app.patch(
        "/api/v1/articles/cached",
        Some(&app.editor),
        &json!({"subtitle": "Fresh"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/articles/cached", None).await.json()["subtitle"],
        "Fresh"
    );
    let comment = app
        .post(
            "/api/v1/articles/cached/comments",
            None,
            &json!({"author_name": "R", "author_email": "r@example.com", "body": "hi"}),
        )
        .await
        .expect(201);
    app.patch(
        &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"status": "approved"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/articles/cached", None).await.json()["comment_count"],
        1
    );
    app.delete("/api/v1/articles/cached", Some(&app.editor))
        .await
        .expect(204);
    app.get("/api/v1/articles/cached", None).await.problem(404);
    assert_eq!(
        app.get("/api/v1/articles", None).await.json()["meta"]["total"],
        0
    );
}

#[tokio::test]
async fn a_scheduled_article_appears_at_its_instant_despite_the_cache() {
    let app = TestApp::spawn().await;
    // Far enough ahead that the first reads come before it on a busy machine.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    app.post("/api/v1/articles", Some(&app.editor), &json!({"title": "Soon", "author": "test-author", "status": "scheduled", "published_at": at}))
        .await
        .expect(201);
    assert_eq!(
        app.get("/api/v1/articles", None).await.json()["meta"]["total"],
        0
    );
    assert_eq!(
        app.get("/api/v1/articles", None).await.json()["meta"]["total"],
        0,
        "kept"
    );
    // Another article scheduled later, before the first instant comes: the first instant
    // must still drop the lists.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    app.post("/api/v1/articles", Some(&app.editor), &json!({"title": "Later", "author": "test-author", "status": "scheduled", "published_at": later}))
        .await
        .expect(201);
    crate::support::eventually(30, "the list shows it after its instant", || async {
        app.get("/api/v1/articles", None).await.json()["meta"]["total"] == 1
    })
    .await;
    // Another page of the same list shares its (kept) count: it was counted again too.
    assert_eq!(
        app.get("/api/v1/articles?per_page=5&sort=title", None)
            .await
            .json()["meta"]["total"],
        1
    );
}

#[tokio::test]
async fn a_write_through_one_node_is_seen_through_another() {
    let app = TestApp::spawn().await;
    // A second node on the same database.
    let (other, server) = serve_on(&app.database_url).await;
    let client = reqwest::Client::new();
    let read = |base: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/api/v1/authors/test-author"))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(read(other.clone()).await["name"], "Test Author");
    assert_eq!(
        read(other.clone()).await["name"],
        "Test Author",
        "kept by the other node"
    );
    app.patch(
        "/api/v1/authors/test-author",
        Some(&app.editor),
        &json!({"name": "Changed Elsewhere"}),
    )
    .await
    .expect(200);
    // NOTIFY reaches the other node within milliseconds; allow a moment for delivery.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if read(other.clone()).await["name"] == "Changed Elsewhere" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other node kept the stale answer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(server.stop(false));
}

#[tokio::test]
async fn answers_are_compressed_when_asked() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/articles", "/openapi.json"] {
        let reply = app
            .send(
                app.request(reqwest::Method::GET, path)
                    .header("Accept-Encoding", "gzip"),
            )
            .await;
        assert_eq!(reply.header("content-encoding"), Some("gzip"), "{path}");
    }
}
