//! `POST /api/v1/batch` as an editor's script uses it: many writes in one call, all or
//! nothing, each answer as its own request would give it, replays by Idempotency-Key.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, with_token};

async fn batch(app: &TestApp, token: &str, operations: Value) -> crate::support::Reply {
    app.post(
        "/api/v1/batch",
        Some(token),
        &json!({ "operations": operations }),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> String {
    app.sql_text(sql).await.pop().unwrap()
}

fn article(i: usize) -> Value {
    json!({"method": "POST", "path": "/api/v1/articles", "body": {
        "title": format!("Batch article {i}"), "author": "test-author", "status": "published",
        "tags": ["Batch Made"], "body_markdown": format!("Number **{i}**.")}})
}

#[tokio::test]
async fn a_hundred_creates_apply_together_and_one_bad_one_applies_none() {
    let app = TestApp::spawn().await;
    let articles = "SELECT count(*) FROM articles";

    // One bad item (an empty title at 57): nothing is applied, and it is named.
    let mut operations: Vec<Value> = (0..100).map(article).collect();
    operations[57]["body"]["title"] = json!("");
    let refused = batch(&app, &app.editor, json!(operations))
        .await
        .problem(422);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .starts_with("operation 57 failed"),
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["field"], "operations[57].body.title");
    assert_eq!(count(&app, articles).await, "0");
    assert_eq!(
        count(&app, "SELECT count(*) FROM tags WHERE name = 'Batch Made'").await,
        "0"
    );

    // All hundred, in order, each answered as POST /articles answers.
    let operations: Vec<Value> = (0..100).map(article).collect();
    let request = app
        .request(Method::POST, "/api/v1/batch")
        .header("Idempotency-Key", "import-2026-11-26")
        .json(&json!({ "operations": operations }));
    let first = app.send(with_token(request, Some(&app.editor))).await;
    let answer = first.expect(200);
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert_eq!(count(&app, articles).await, "100");
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["status"], 201);
        assert_eq!(result["body"]["title"], format!("Batch article {i}"));
        let location = result["headers"]["Location"].as_str().unwrap();
        assert!(location.starts_with(&app.address), "{location}");
    }
    // The tag made by the first is found by name by the other 99.
    assert_eq!(
        count(&app, "SELECT count(*) FROM tags WHERE name = 'Batch Made'").await,
        "1"
    );
    // An answer's ETag is the one a GET gives (the last one's: an earlier one's `next` was
    // made by a later operation).
    let slug = results[99]["body"]["slug"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/articles/{slug}"), Some(&app.editor))
        .await;
    assert_eq!(
        read.header("etag"),
        results[99]["headers"]["ETag"].as_str(),
        "{slug}"
    );

    // The same key and body: the first answer again, nothing made twice.
    let request = app
        .request(Method::POST, "/api/v1/batch")
        .header("Idempotency-Key", "import-2026-11-26")
        .json(&json!({ "operations": operations }));
    let replay = app.send(with_token(request, Some(&app.editor))).await;
    assert_eq!(replay.expect(200), answer);
    assert_eq!(count(&app, articles).await, "100");
    // The same key with another body is refused.
    let request = app
        .request(Method::POST, "/api/v1/batch")
        .header("Idempotency-Key", "import-2026-11-26")
        .json(&json!({ "operations": [article(1000)] }));
    app.send(with_token(request, Some(&app.editor)))
        .await
        .problem(422);
    assert_eq!(count(&app, articles).await, "100");
}

#[tokio::test]
async fn mixed_operations_keep_each_routes_rules() {
    let app = TestApp::spawn().await;
    let made = batch(
        &app,
        &app.editor,
        json!([
            {"method": "POST", "path": "/api/v1/tags", "body": {"name": "Piers"}},
            {"method": "POST", "path": "/api/v1/authors", "body": {"name": "Ada Batch", "email": "ada@example.com"}},
            {"method": "PUT", "path": "/api/v1/articles/by-external-id/notes%2Fpiers.md", "body": {
                "title": "Piers", "author": "ada-batch", "tags": ["piers"], "status": "published"}},
            {"method": "GET", "path": "/api/v1/articles/by-external-id/notes%2Fpiers.md"},
        ]),
    )
    .await;
    // A GET of the by-external-id path is not a read of it: the whole batch is refused.
    let problem = made.problem(422);
    assert_eq!(problem["errors"][0]["field"], "operations[3].method");
    assert_eq!(count(&app, "SELECT count(*) FROM tags").await, "0");

    let made = batch(
        &app,
        &app.editor,
        json!([
            {"method": "POST", "path": "/api/v1/tags", "body": {"name": "Piers"}},
            {"method": "POST", "path": "/api/v1/authors", "body": {"name": "Ada Batch", "email": "ada@example.com"}},
            {"method": "PUT", "path": "/api/v1/articles/by-external-id/notes%2Fpiers.md", "body": {
                "title": "Piers", "author": "ada-batch", "tags": ["piers"], "status": "published"}},
            {"method": "GET", "path": "/api/v1/articles/piers"},
            {"method": "PATCH", "path": "/api/v1/tags/piers", "body": {"description": "Where boats tie up"}},
            {"method": "GET", "path": "/api/v1/authors/ada-batch"},
        ]),
    )
    .await
    .expect(200);
    let results = made["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 201, 200, 200, 200]);
    assert_eq!(results[2]["body"]["external_id"], "notes/piers.md");
    assert_eq!(results[3]["body"]["tags"][0]["slug"], "piers");
    assert_eq!(results[5]["body"]["article_count"], 1);
    let etag = results[3]["headers"]["ETag"].as_str().unwrap().to_owned();

    // A stale If-Match fails the batch with 412, naming the operation; the tag is kept.
    app.patch(
        "/api/v1/articles/piers",
        Some(&app.editor),
        &json!({"subtitle": "moved on"}),
    )
    .await
    .expect(200);
    let stale = batch(
        &app,
        &app.editor,
        json!([
            {"method": "DELETE", "path": "/api/v1/tags/piers"},
            {"method": "PATCH", "path": "/api/v1/articles/piers", "headers": {"If-Match": etag}, "body": {"title": "Mine"}},
        ]),
    )
    .await
    .problem(412);
    assert!(
        stale["detail"]
            .as_str()
            .unwrap()
            .starts_with("operation 1 failed"),
        "{stale}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM tags").await, "1");

    // Each operation needs its route's role: an author may not change a tag.
    let forbidden = batch(
        &app,
        &app.author,
        json!([
            {"method": "POST", "path": "/api/v1/tags", "body": {"name": "Author Tag"}},
            {"method": "PATCH", "path": "/api/v1/tags/piers", "body": {"description": "mine"}},
        ]),
    )
    .await
    .problem(403);
    assert!(
        forbidden["detail"]
            .as_str()
            .unwrap()
            .starts_with("operation 1 failed")
    );
    assert_eq!(count(&app, "SELECT count(*) FROM tags").await, "1");

    // Deletes answer 204 with no body.
    let deleted = batch(
        &app,
        &app.editor,
        json!([
            {"method": "DELETE", "path": "/api/v1/articles/piers"},
            {"method": "DELETE", "path": "/api/v1/authors/ada-batch"},
        ]),
    )
    .await
    .expect(200);
    assert_eq!(
        deleted["results"][1],
        json!({"status": 204, "headers": {}, "body": null})
    );
    app.get("/api/v1/articles/piers", None).await.problem(404);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"operations": []}), "operations"),
        (
            json!({"operations": (0..101).map(article).collect::<Vec<_>>()}),
            "operations",
        ),
        (
            json!({"operations": [article(1)], "atomic": false}),
            "atomic",
        ),
        (
            json!({"operations": [{"method": "POST", "path": "/api/v1/tokens", "body": {}}]}),
            "operations[0].path",
        ),
        (
            json!({"operations": [{"method": "POST", "path": "/api/v1/tags?x=1", "body": {}}]}),
            "operations[0].path",
        ),
        (
            json!({"operations": [{"method": "POST", "path": "https://evil.example/api/v1/tags"}]}),
            "operations[0].path",
        ),
        (
            json!({"operations": [{"method": "TRACE", "path": "/api/v1/tags"}]}),
            "operations[0].method",
        ),
        (
            json!({"operations": [{"method": "DELETE", "path": "/api/v1/tags"}]}),
            "operations[0].method",
        ),
        (
            json!({"operations": [{"method": "GET", "path": "/api/v1/tags/x", "body": {"a": 1}}]}),
            "operations[0].body",
        ),
        (
            json!({"operations": [{"method": "GET", "path": "/api/v1/tags/x", "headers": {"Host": "evil.example"}}]}),
            "operations[0].headers.Host",
        ),
        (
            json!({"operations": [{"method": "POST", "path": "/api/v1/tags", "body": "<script>"}]}),
            "operations[0].body",
        ),
        (
            json!({"operations": [{"method": "POST", "path": "/api/v1/tags", "body": {"name": 5, "colour": "red"}}]}),
            "operations[0].body.name",
        ),
        (
            json!({"operations": [{"method": "PATCH", "path": "/api/v1/tags/x", "body": {},
                "headers": {"If-Match": "\"1-a\"", "if-match": "*"}}]}),
            "operations[0].headers.if-match",
        ),
        (json!({"operations": "all of them"}), "operations"),
    ];
    for (body, field) in cases {
        let problem = app
            .post("/api/v1/batch", Some(&app.editor), &body)
            .await
            .problem(422);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{body}: {problem}");
    }
    // A small request may not ask for a huge answer: 100 reads of a long article.
    let long = "A sentence of a long article. ".repeat(3_000);
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Long", "author": "test-author", "body_markdown": long}),
    )
    .await
    .expect(201);
    let reads: Vec<Value> = (0..100)
        .map(|_| json!({"method": "GET", "path": "/api/v1/articles/long"}))
        .collect();
    let problem = batch(&app, &app.editor, json!(reads)).await.problem(422);
    assert_eq!(problem["errors"][0]["code"], "too_large", "{problem}");

    // Without a token: 401 before anything is read.
    app.post("/api/v1/batch", None, &json!({"operations": [article(1)]}))
        .await
        .problem(401);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, "1");
    assert_eq!(count(&app, "SELECT count(*) FROM tags").await, "0");
}
