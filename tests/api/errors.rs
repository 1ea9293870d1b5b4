//! Every kind of failure a client can meet answers problem+json with the right status.
use reqwest::Method;
use serde_json::json;

use crate::support::{Options, TestApp};

#[tokio::test]
async fn malformed_and_mistyped_bodies() {
    let app = TestApp::spawn().await;
    let post = |body: Vec<u8>, content_type: Option<&str>| {
        let mut request = app
            .request(Method::POST, "/api/v1/authors")
            .bearer_auth(&app.editor)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        app.send(request)
    };
    post(b"{\"name\": ".to_vec(), Some("application/json"))
        .await
        .problem(400);
    post(b"".to_vec(), Some("application/json"))
        .await
        .problem(400);
    post(
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        Some("application/json"),
    )
    .await
    .problem(400);
    let deep = format!("{{\"name\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    let nested = post(deep.into_bytes(), Some("application/json")).await;
    nested.problem(nested.status.as_u16());
    assert!(
        matches!(nested.status.as_u16(), 400 | 422),
        "{}",
        nested.status
    );
    let not_object = post(b"[1, 2]".to_vec(), Some("application/json"))
        .await
        .problem(422);
    assert!(
        not_object["errors"][0]["field"].is_null(),
        "a body-level error has no field"
    );

    let wrong_type = post(b"{\"name\": \"x\"}".to_vec(), Some("text/plain"))
        .await
        .problem(415);
    assert!(
        wrong_type["detail"]
            .as_str()
            .unwrap()
            .contains("text/plain")
    );
    post(b"{\"name\": \"x\"}".to_vec(), None).await.problem(415);
    post(
        b"name=x".to_vec(),
        Some("application/x-www-form-urlencoded"),
    )
    .await
    .problem(415);
    // Charset parameters are fine.
    post(
        b"{\"name\": \"Charset\"}".to_vec(),
        Some("application/json; charset=utf-8"),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = TestApp::spawn_with(Options {
        json_limit: 1000,
        ..Options::default()
    })
    .await;
    let big = json!({"name": "x", "bio": "y".repeat(2000)});
    app.post("/api/v1/authors", Some(&app.editor), &big)
        .await
        .problem(413);
    // Also when streamed without a Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 100])).collect();
    let streamed = app
        .send(
            app.request(Method::POST, "/api/v1/authors")
                .bearer_auth(&app.editor)
                .header("Content-Type", "application/json")
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                ))),
        )
        .await;
    streamed.problem(413);
}

#[tokio::test]
async fn bad_parameters_routes_and_methods() {
    let app = TestApp::spawn().await;
    let bad_path = app
        .get("/api/v1/tokens/not-a-uuid", Some(&app.admin))
        .await
        .problem(400);
    assert!(bad_path["detail"].as_str().unwrap().contains("path"));
    app.get("/api/v1/authors?per_page=lots", None)
        .await
        .problem(400);
    let unknown = app.get("/api/v1/nothing-here", None).await.problem(404);
    assert_eq!(unknown["instance"], "/api/v1/nothing-here");
    assert!(
        unknown["type"]
            .as_str()
            .unwrap()
            .ends_with("/docs/errors#not-found")
    );
    app.get("/api/v1", None).await.problem(404);
    let wrong_method = app
        .send(app.request(Method::PUT, "/api/v1/authors/test-author"))
        .await;
    let problem = wrong_method.problem(405);
    assert_eq!(
        wrong_method.header("allow"),
        Some("GET, HEAD, PATCH, DELETE")
    );
    assert!(problem["detail"].as_str().unwrap().contains("PUT"));
    // The page the `type` URLs point to exists.
    let page = app.get("/docs/errors", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"validation\""));
}

#[tokio::test]
async fn bad_tokens_are_401_with_a_challenge() {
    let app = TestApp::spawn().await;
    for header in ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer", "lede_abc"] {
        let reply = app
            .send(
                app.request(Method::GET, "/api/v1/authors")
                    .header("Authorization", header),
            )
            .await;
        reply.problem(401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_made_otherwise() {
    let app = TestApp::spawn().await;
    let kept = app
        .send(
            app.request(Method::GET, "/healthz")
                .header("X-Request-Id", "trace-abc.123"),
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("trace-abc.123"));
    let replaced = app
        .send(
            app.request(Method::GET, "/healthz")
                .header("X-Request-Id", "bad id with spaces <script>"),
        )
        .await;
    let id = replaced.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let problem = app
        .send(
            app.request(Method::GET, "/api/v1/authors/nobody")
                .header("X-Request-Id", "req-42"),
        )
        .await
        .problem(404);
    assert_eq!(problem["request_id"], "req-42");
}

#[tokio::test]
async fn an_unreachable_database_is_503_and_the_service_recovers() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/authors", None).await.expect(200);
    app.cut_database();
    // With a token where a public answer could come from the cache.
    for (path, token) in [
        ("/api/v1/authors", Some(app.admin.as_str())),
        ("/api/v1/tags/anything", None),
        ("/readyz", None),
    ] {
        let reply = app.get(path, token).await;
        reply.problem(503);
        assert_eq!(reply.header("retry-after"), Some("5"), "{path}");
    }
    app.post("/api/v1/tags", Some(&app.editor), &json!({"name": "x"}))
        .await
        .problem(503);
    app.get("/healthz", None).await.expect(200);

    app.restore_database();
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/api/v1/authors", None).await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the service serves again without a restart");
    app.get("/readyz", None).await.expect(200);
}

#[tokio::test]
async fn cors_preflights_are_answered_and_headers_exposed() {
    let app = TestApp::spawn().await;
    let preflight = app
        .send(
            app.request(Method::OPTIONS, "/api/v1/authors")
                .header("Origin", "https://front.example")
                .header("Access-Control-Request-Method", "PATCH")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, if-match, idempotency-key",
                ),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(preflight.header("access-control-max-age"), Some("86400"));
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("if-match") && allowed.contains("idempotency-key"),
        "{allowed}"
    );

    let get = app
        .send(
            app.request(Method::GET, "/api/v1/authors")
                .header("Origin", "https://front.example"),
        )
        .await;
    let exposed = get
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for header in [
        "etag",
        "location",
        "link",
        "x-total-count",
        "retry-after",
        "x-request-id",
    ] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
    assert!(get.header("access-control-allow-credentials").is_none());

    let strict = TestApp::spawn_with(Options {
        cors_origins: "https://front.example".into(),
        ..Options::default()
    })
    .await;
    let refused = strict
        .send(
            strict
                .request(Method::OPTIONS, "/api/v1/authors")
                .header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "GET"),
        )
        .await;
    refused.problem(400);
}

#[tokio::test]
async fn public_url_makes_every_link_absolute_on_it() {
    let app = TestApp::spawn_with(Options {
        public_url: Some("https://api.example.com/".into()),
        ..Options::default()
    })
    .await;
    let created = app
        .post(
            "/api/v1/tags",
            Some(&app.editor),
            &json!({"name": "Linked"}),
        )
        .await;
    assert!(
        created
            .header("location")
            .unwrap()
            .starts_with("https://api.example.com/api/v1/tags/")
    );
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Second"}),
    )
    .await
    .expect(201);
    let list = app.get("/api/v1/tags?per_page=1", None).await;
    assert!(
        list.header("link")
            .unwrap()
            .contains("<https://api.example.com/api/v1/tags?per_page=1&page=2>")
    );
    let problem = app.get("/api/v1/tags/none", None).await.problem(404);
    assert_eq!(
        problem["type"],
        "https://api.example.com/docs/errors#not-found"
    );
}

#[tokio::test]
async fn deep_pages_point_to_the_cursor_and_slow_statements_are_cut_off() {
    let app = TestApp::spawn_with(Options {
        statement_timeout_ms: 300,
        ..Default::default()
    })
    .await;
    // An OFFSET of 10^8 rows is not a page anyone needs: the answer says how to go deep.
    for query in [
        "page=1000000",
        "page=501&per_page=20",
        "page=101&per_page=100",
    ] {
        let problem = app
            .get(&format!("/api/v1/articles?{query}"), None)
            .await
            .expect(400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("`page`") && detail.contains("cursor"),
            "{query}: {detail}"
        );
    }
    app.get("/api/v1/articles?page=500&per_page=20", None)
        .await
        .expect(200);

    // A statement that waits past LEDE_STATEMENT_TIMEOUT_MS (here on a row another session
    // holds) is cancelled: the request answers 503 with Retry-After, and nothing is changed.
    let made = app
        .post("/api/v1/tags", Some(&app.editor), &json!({"name": "Held"}))
        .await
        .expect(201);
    let id = made["id"].as_str().unwrap().to_owned();
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let mut holder = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM tags WHERE id = '{id}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let reply = app
        .patch(
            &format!("/api/v1/tags/{id}"),
            Some(&app.editor),
            &json!({"description": "changed"}),
        )
        .await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    holder.batch_execute("ROLLBACK").await.unwrap();
    let tag = app
        .get(&format!("/api/v1/tags/{id}"), None)
        .await
        .expect(200);
    assert!(tag["description"].is_null(), "{tag}");
    app.patch(
        &format!("/api/v1/tags/{id}"),
        Some(&app.editor),
        &json!({"description": "changed"}),
    )
    .await
    .expect(200);
}

/// The fields one 422 names, sorted.
fn fields_named(problem: &serde_json::Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or("(body)").to_owned())
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn one_422_names_every_bad_field_of_a_body() {
    let app = TestApp::spawn().await;
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Open", "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    let slug = article["slug"].as_str().unwrap();
    // Missing and invalid together.
    let problem = app
        .post(
            &format!("/api/v1/articles/{slug}/comments"),
            None,
            &json!({"author_email": "nope", "body": "hi"}),
        )
        .await
        .problem(422);
    assert_eq!(fields_named(&problem), ["author_email", "author_name"]);
    assert_eq!(problem["detail"], "2 fields are invalid");
    // Missing, mistyped, unknown, invalid and unknown to the database, in one answer.
    let problem = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"subtitle": 7, "autor": "x", "status": "live", "tags": ["no-such-tag-here", 3],
                    "cover_image": "not-a-uuid", "body_markdown": "![](image:00000000-0000-7000-8000-000000000000)"}),
        )
        .await
        .problem(422);
    assert_eq!(
        fields_named(&problem),
        [
            "author",
            "autor",
            "body_markdown",
            "cover_image",
            "status",
            "subtitle",
            "tags[1]",
            "title"
        ]
    );
    // With the shape right, what the database knows is named with the rest.
    let problem = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": " ", "author": "nobody", "cover_image": "00000000-0000-7000-8000-000000000000"}),
        )
        .await
        .problem(422);
    assert_eq!(fields_named(&problem), ["author", "cover_image", "title"]);
    // Every other resource too.
    for (path, token, body, expected) in [
        (
            "/api/v1/authors",
            &app.editor,
            json!({"email": 5, "website": "ftp://x", "nick": 1}),
            vec!["email", "name", "nick", "website"],
        ),
        (
            "/api/v1/tags",
            &app.editor,
            json!({"slug": "Bad Slug", "description": []}),
            vec!["description", "name", "slug"],
        ),
        (
            "/api/v1/tokens",
            &app.admin,
            json!({"role": "king", "name": ""}),
            vec!["name", "role"],
        ),
    ] {
        let problem = app.post(path, Some(token), &body).await.problem(422);
        assert_eq!(fields_named(&problem), expected, "{path}: {problem}");
    }
    let problem = app
        .patch(
            "/api/v1/authors/test-author",
            Some(&app.editor),
            &json!({"name": null, "bio": 5, "colour": "red"}),
        )
        .await
        .problem(422);
    assert_eq!(fields_named(&problem), ["bio", "colour", "name"]);
    // Nothing half-written.
    let authors = app.get("/api/v1/authors", None).await.expect(200);
    assert_eq!(authors["meta"]["total"], 1);
}

#[tokio::test]
async fn what_the_http_parser_refuses_is_problem_json_too() {
    use std::io::{Read, Write};
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let send = move |request: Vec<u8>| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(&request).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let mut many = b"GET /api/v1/articles HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-Filler-{i}: {i}\r\n").as_bytes());
    }
    many.extend_from_slice(b"Connection: close\r\n\r\n");
    let huge = format!(
        "GET /api/v1/articles HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    )
    .into_bytes();
    let garbled = b"GET /api/v1/articles HTTP/9.9 nonsense\r\n\r\n".to_vec();
    for (request, status) in [(many, 431), (huge, 431), (garbled, 400)] {
        let answer = tokio::task::spawn_blocking({
            let send = send.clone();
            move || send(request)
        })
        .await
        .unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], status);
        assert!(problem["detail"].is_string());
    }
}

#[tokio::test]
async fn nul_and_control_characters_in_references_are_named_not_500() {
    let app = TestApp::spawn().await;
    let problem = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "T", "author": "a\u{0}b", "tags": ["ok", "\u{0}\u{e}"]}),
        )
        .await
        .problem(422);
    assert_eq!(fields_named(&problem), ["author", "tags[1]"]);
    let problem = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "t", "role": "author", "author": "x\u{0}"}),
        )
        .await
        .problem(422);
    assert_eq!(fields_named(&problem), ["author"]);
    // A cursor that decodes to a NUL is refused before any query.
    use base64::Engine;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"s":"name","v":"a\u0000","id":"00000000-0000-7000-8000-000000000000"}"#);
    app.get(&format!("/api/v1/authors?sort=name&cursor={cursor}"), None)
        .await
        .problem(400);
}
