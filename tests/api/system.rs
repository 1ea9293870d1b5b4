use crate::support::{Options, TestApp};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.expect(200)["status"], "ok");
    assert_eq!(
        app.get("/readyz", None).await.expect(200)["status"],
        "ready"
    );
    // The second comes from the cache, without the router: still counted under its route.
    // (HEAD: the registry is the process's, shared with tests running beside this one, and
    // none of them sends HEAD here.)
    for _ in 0..2 {
        let head = app
            .send(app.request(reqwest::Method::HEAD, "/api/v1/authors"))
            .await;
        assert_eq!(head.status, 200);
    }
    app.get("/api/v1/authors/nobody", None).await.problem(404);
    let metrics = app.get("/metrics", None).await;
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text();
    assert!(
        text.contains(
            r#"lede_http_requests_total{method="HEAD",route="/api/v1/authors",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/authors/{id_or_slug}",status="404""#),
        "{text}"
    );
    assert!(text.contains("lede_http_request_duration_seconds_bucket"));
    // Invented methods make no series of their own.
    for name in ["FROB", "XYZZY", "BREW"] {
        let method = reqwest::Method::from_bytes(name.as_bytes()).unwrap();
        let reply = app.send(app.request(method, "/api/v1/authors")).await;
        assert_eq!(reply.status, 405);
    }
    let text = app.get("/metrics", None).await.text();
    assert!(!text.contains("FROB") && !text.contains("XYZZY"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(text.contains(r#"lede_db_pool_connections{state="max"}"#));
}

#[tokio::test]
async fn with_a_metrics_token_only_its_bearer_reads_metrics() {
    let app = TestApp::spawn_with(Options {
        metrics_token: Some("scrape-secret-1".into()),
        ..Options::default()
    })
    .await;
    let problem = app.get("/metrics", None).await.problem(401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("LEDE_METRICS_TOKEN")
    );
    // Not an API token, not even an admin's; not another secret.
    for token in [app.admin.as_str(), "scrape-secret-2"] {
        app.get("/metrics", Some(token)).await.problem(401);
    }
    let metrics = app.get("/metrics", Some("scrape-secret-1")).await;
    assert_eq!(metrics.status, 200);
    // Read as any bearer token is: the scheme in any case.
    let lower = app
        .send(
            app.request(reqwest::Method::GET, "/metrics")
                .header("Authorization", "bearer scrape-secret-1"),
        )
        .await;
    assert_eq!(lower.status, 200);
    assert!(metrics.text().contains("lede_http_requests_total"));
    // The rest of the API still reads API tokens, and health stays public.
    app.get("/api/v1/tokens", Some("scrape-secret-1"))
        .await
        .problem(401);
    app.get("/api/v1/tokens", Some(&app.admin))
        .await
        .expect(200);
    app.get("/healthz", None).await.expect(200);
}
