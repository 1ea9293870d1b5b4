use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn a_token_is_shown_once_works_and_stops_working_when_revoked() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "deploy script", "role": "editor"}),
        )
        .await
        .expect(201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("lede_") && secret.len() > 40);
    assert!(secret.starts_with(created["secret_prefix"].as_str().unwrap()));
    let id = created["id"].as_str().unwrap().to_owned();

    let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
    assert!(!list.text().contains(&secret), "the secret is never listed");
    assert_eq!(list.expect(200)["meta"]["total"], 4);
    let one = app
        .get(&format!("/api/v1/tokens/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert!(one.get("secret").is_none());
    assert!(one["revoked_at"].is_null());

    // The new token works as an editor...
    app.post(
        "/api/v1/authors",
        Some(&secret),
        &json!({"name": "By the new token"}),
    )
    .await
    .expect(201);
    // ...until it is revoked: then it is refused at once, everywhere.
    app.delete(&format!("/api/v1/tokens/{id}"), Some(&app.admin))
        .await
        .expect(204);
    app.post("/api/v1/authors", Some(&secret), &json!({"name": "Again"}))
        .await
        .problem(401);
    app.get("/api/v1/authors", Some(&secret)).await.problem(401);
    let revoked = app
        .get(&format!("/api/v1/tokens/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert!(revoked["revoked_at"].is_string());
    app.delete(&format!("/api/v1/tokens/{id}"), Some(&app.admin))
        .await
        .expect(204);
    app.delete(
        &format!("/api/v1/tokens/{}", uuid::Uuid::now_v7()),
        Some(&app.admin),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn the_secret_is_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "x", "role": "admin"}),
        )
        .await
        .expect(201);
    let secret = created["secret"].as_str().unwrap();
    // Read the row back through SQL: nothing in it holds the secret.
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let mut conn = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    let rows: Vec<Row> = diesel::sql_query("SELECT t::text AS row FROM api_tokens t")
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| !r.row.contains(secret) && !r.row.contains(&secret[12..]))
    );
}

#[tokio::test]
async fn author_tokens_are_bound_to_an_author() {
    let app = TestApp::spawn().await;
    let missing = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "x", "role": "author"}),
        )
        .await
        .problem(422);
    assert_eq!(missing["errors"][0]["field"], "author");
    let unknown = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "x", "role": "author", "author": "nobody"}),
        )
        .await
        .problem(422);
    assert_eq!(unknown["errors"][0]["code"], "not_found");
    let bad_role = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "x", "role": "owner"}),
        )
        .await
        .problem(422);
    assert_eq!(bad_role["errors"][0]["field"], "role");
    let bound = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "x", "role": "author", "author": "test-author"}),
        )
        .await
        .expect(201);
    assert!(bound["author_id"].is_string());
    app.post(
        "/api/v1/tokens",
        Some(&app.admin),
        &json!({"name": "x", "role": "editor", "author": "test-author"}),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn an_idempotent_token_create_never_stores_or_replays_its_secret() {
    let app = TestApp::spawn().await;
    let post = || {
        app.request(reqwest::Method::POST, "/api/v1/tokens")
            .bearer_auth(&app.admin)
            .header("Idempotency-Key", "deploy-token-1")
            .json(&json!({"name": "deploy", "role": "editor"}))
    };
    let first = app.send(post()).await.expect(201);
    let secret = first["secret"].as_str().unwrap().to_owned();
    let replay = app.send(post()).await;
    let replayed = replay.expect(201);
    assert_eq!(replayed["id"], first["id"], "one token");
    assert!(replayed.get("secret").is_none(), "{replayed}");
    let stored = app.sql_text("SELECT k::text FROM idempotency_keys k").await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&secret[12..]),
        "the secret is in the replay table"
    );
    // The secret still works: the replay did not make another one.
    app.get("/api/v1/tokens", Some(&secret)).await.expect(403);
}
