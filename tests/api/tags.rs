use serde_json::json;

use crate::support::TestApp;

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
    app.get("/api/v1/tags/climate-energy", None)
        .await
        .problem(404);

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
