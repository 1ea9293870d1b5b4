use serde_json::json;

use crate::support::{TestApp, with_token};

#[tokio::test]
async fn tags_are_created_by_authors_and_managed_by_editors() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/tags",
            Some(&app.author),
            &json!({"name": "Climate & Energy", "description": "Weather and power."}),
        )
        .await
        .expect(201);
    assert_eq!(created["slug"], "climate-energy");
    assert_eq!(created["article_count"], 0);

    // Authors may create but not change or delete.
    app.patch(
        "/api/v1/tags/climate-energy",
        Some(&app.author),
        &json!({"name": "x"}),
    )
    .await
    .problem(403);
    app.delete("/api/v1/tags/climate-energy", Some(&app.author))
        .await
        .problem(403);

    let changed = app
        .patch(
            "/api/v1/tags/climate-energy",
            Some(&app.editor),
            &json!({"description": null, "slug": "climate"}),
        )
        .await
        .expect(200);
    assert!(changed["description"].is_null());
    assert_eq!(changed["slug"], "climate");
    assert_eq!(changed["name"], "Climate & Energy");
    app.get("/api/v1/tags/climate", None).await.expect(200);
    // The slug it had keeps leading to it, as an article's does.
    let moved = app.get("/api/v1/tags/climate-energy", None).await;
    assert_eq!(moved.status, 301);
    assert!(
        moved
            .header("location")
            .unwrap()
            .ends_with("/api/v1/tags/climate")
    );

    let list = app.get("/api/v1/tags", None).await.expect(200);
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(list["data"][0]["id"], created["id"]);

    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Other", "slug": "climate"}),
    )
    .await
    .problem(409);
    app.post("/api/v1/tags", Some(&app.editor), &json!({"name": ""}))
        .await
        .problem(422);
    app.delete(
        &format!("/api/v1/tags/{}", created["id"].as_str().unwrap()),
        Some(&app.admin),
    )
    .await
    .expect(204);
    app.get("/api/v1/tags/climate", None).await.problem(404);
    app.get("/api/v1/tags/climate-energy", None)
        .await
        .problem(404);
}

#[tokio::test]
async fn a_tag_merged_into_another_leaves_its_articles_and_its_slug_to_it() {
    let app = TestApp::spawn().await;
    for name in ["Trams", "Tramways", "Ferries"] {
        app.post("/api/v1/tags", Some(&app.editor), &json!({"name": name}))
            .await
            .expect(201);
    }
    // One article under both, one under the merged tag only (between two others).
    let both = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Both", "author": "test-author", "status": "published",
                "tags": ["tramways", "trams"]}),
        )
        .await
        .expect(201);
    let one = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "One", "author": "test-author", "status": "published",
                "tags": ["ferries", "tramways"]}),
        )
        .await
        .expect(201);
    let version = app.get("/api/v1/tags/tramways", None).await;
    let etag = version.header("etag").unwrap().to_owned();

    // Nobody but staff, not into itself, not into nothing, not at a stale version.
    app.post(
        "/api/v1/tags/tramways/merge",
        Some(&app.author),
        &json!({"into": "trams"}),
    )
    .await
    .problem(403);
    let same = app
        .post(
            "/api/v1/tags/tramways/merge",
            Some(&app.editor),
            &json!({"into": "tramways"}),
        )
        .await
        .problem(422);
    assert_eq!(same["errors"][0]["field"], "into");
    app.post(
        "/api/v1/tags/tramways/merge",
        Some(&app.editor),
        &json!({"into": "buses"}),
    )
    .await
    .problem(422);
    let long = app
        .post(
            "/api/v1/tags/tramways/merge",
            Some(&app.editor),
            &json!({"into": "x".repeat(200_000)}),
        )
        .await
        .problem(422);
    assert!(long.to_string().len() < 2000, "the answer does not echo it");
    app.post(
        "/api/v1/tags/tramways/merge",
        Some(&app.editor),
        &json!({"to": "trams"}),
    )
    .await
    .problem(422);
    app.send(
        with_token(
            app.request(reqwest::Method::POST, "/api/v1/tags/tramways/merge"),
            Some(&app.editor),
        )
        .header("If-Match", "\"stale\"")
        .json(&json!({"into": "trams"})),
    )
    .await
    .problem(412);

    let kept = app
        .send(
            with_token(
                app.request(reqwest::Method::POST, "/api/v1/tags/tramways/merge"),
                Some(&app.editor),
            )
            .header("If-Match", etag)
            .json(&json!({"into": "trams"})),
        )
        .await
        .expect(200);
    assert_eq!(kept["slug"], "trams");
    assert_eq!(kept["article_count"], 2);
    let tags_of = |article: &serde_json::Value| {
        article["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let both = app
        .get(
            &format!("/api/v1/articles/{}", both["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(tags_of(&both), ["trams"]);
    let one = app
        .get(
            &format!("/api/v1/articles/{}", one["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(tags_of(&one), ["ferries", "trams"]);
    let moved = app.get("/api/v1/tags/tramways", None).await;
    assert_eq!(moved.status, 301);
    assert!(
        moved
            .header("location")
            .unwrap()
            .ends_with("/api/v1/tags/trams")
    );
    let listed = app
        .get("/api/v1/articles?tag=trams", None)
        .await
        .expect(200);
    assert_eq!(listed["meta"]["total"], 2);
    // A write naming the merged tag files the article under the one that stays.
    let named = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Named", "author": "test-author", "tags": ["Tramways", "tramways"]}),
        )
        .await
        .expect(201);
    assert_eq!(tags_of(&named), ["trams"]);
    let tags = app.get("/api/v1/tags", None).await.expect(200);
    assert_eq!(tags["meta"]["total"], 2);

    // Merged on: the first merged tag's slug follows to the last tag that stays.
    app.post(
        "/api/v1/tags/trams/merge",
        Some(&app.admin),
        &json!({"into": "ferries"}),
    )
    .await
    .expect(200);
    for old in ["tramways", "trams"] {
        let moved = app.get(&format!("/api/v1/tags/{old}"), None).await;
        assert_eq!(moved.status, 301, "{old}");
        assert!(
            moved
                .header("location")
                .unwrap()
                .ends_with("/api/v1/tags/ferries")
        );
    }
    // Into a former slug: the tag it leads to.
    app.post("/api/v1/tags", Some(&app.editor), &json!({"name": "Boats"}))
        .await
        .expect(201);
    let kept = app
        .post(
            "/api/v1/tags/boats/merge",
            Some(&app.editor),
            &json!({"into": "trams"}),
        )
        .await
        .expect(200);
    assert_eq!(kept["slug"], "ferries");
    // A slug a new tag takes is that tag's own again.
    app.post("/api/v1/tags", Some(&app.editor), &json!({"name": "Trams"}))
        .await
        .expect(201);
    app.get("/api/v1/tags/trams", None).await.expect(200);
}

#[tokio::test]
async fn tag_lists_sort_and_page() {
    let app = TestApp::spawn().await;
    for name in ["Beta", "alpha", "Gamma", "Delta"] {
        app.post("/api/v1/tags", Some(&app.editor), &json!({"name": name}))
            .await
            .expect(201);
    }
    let by_slug = app.get("/api/v1/tags?sort=slug", None).await.expect(200);
    let slugs: Vec<_> = by_slug["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha", "beta", "delta", "gamma"]);
    let newest = app
        .get("/api/v1/tags?sort=-created_at&per_page=1", None)
        .await
        .expect(200);
    assert_eq!(newest["data"][0]["slug"], "delta");
    let cursor = newest["meta"]["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/tags?sort=-created_at&per_page=1&cursor={cursor}"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(next["data"][0]["slug"], "gamma");
}
