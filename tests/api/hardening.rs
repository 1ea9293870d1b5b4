//! What an outside attacker found (issue 25), each through the real server or binary:
//! bodies that would burn a core, link targets that would run in a front-end's markdown
//! renderer, slugs that read as ids, structured data that could close its script element,
//! text that reads other than it is, unknown tokens on public routes, secrets in the log,
//! settings that would panic at request time.
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{Running, TestApp};

/// A published article of `title` by the test author.
async fn publish(app: &TestApp, title: &str) {
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": title, "author": "test-author", "status": "published"}),
    )
    .await
    .expect(201);
}

async fn post_article(app: &TestApp, body: &str) -> crate::support::Reply {
    app.post(
        "/api/v1/articles",
        Some(&app.author),
        &json!({"title": "Deep", "body_markdown": body}),
    )
    .await
}

#[tokio::test]
async fn bodies_nested_too_deep_are_refused_naming_the_line_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    for (body, line) in [
        (format!("{}x", "- ".repeat(32_000)), 1),
        ("> ".repeat(64_000), 1),
        (format!("Intro\n\n{}", "<div>".repeat(90_000)), 3),
        ("<div></span>".repeat(10_000), 1),
    ] {
        let problem = post_article(&app, &body).await.problem(422);
        let error = &problem["errors"][0];
        assert_eq!(error["field"], "body_markdown", "{problem}");
        assert_eq!(error["code"], "too_deep", "{problem}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("line {line}:")) && message.contains("16"),
            "{message}"
        );
    }
    // The same structures at the limit are an article.
    let at_limit = format!("{}x\n\n{}y\n", "- ".repeat(8), "> ".repeat(16));
    post_article(&app, &at_limit).await.expect(201);
    let listed = app
        .get("/api/v1/articles?status=draft", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(
        listed["meta"]["total"], 1,
        "only the allowed one was written"
    );
}

#[tokio::test]
async fn while_sixteen_authors_post_worst_case_bodies_reads_and_readiness_answer() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Read me", "author": "test-author", "status": "published",
                "body_markdown": "Plain text."}),
    )
    .await
    .expect(201);
    // The worst bodies found: refused ones past the limit, and the slowest to render at it.
    let refused = format!("{}x", "- ".repeat(200_000));
    let slowest = format!("{}x\n\n", "- ".repeat(8)).repeat(25_000);
    let writers: Vec<_> = (0..16)
        .map(|n| {
            let body = if n % 2 == 0 { &refused } else { &slowest }.clone();
            let request = app
                .request(Method::POST, "/api/v1/articles")
                .bearer_auth(&app.author)
                .timeout(Duration::from_secs(300))
                .json(&json!({"title": format!("Worst {n}"), "body_markdown": body}));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Reads that miss the cache (a page length not asked for before), and readiness, all
    // the while.
    let mut reads = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        let path = format!("/api/v1/articles?per_page={}", 1 + reads % 100);
        let read = app.get(&path, None).await;
        assert_eq!(read.status, 200, "a public read during the writes");
        assert_eq!(read.json()["data"][0]["slug"], "read-me");
        assert_eq!(app.get("/readyz", None).await.status, 200);
        reads += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut statuses = Vec::new();
    for writer in writers {
        statuses.push(writer.await.unwrap().unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [[201; 8], [422; 8]].concat(), "{statuses:?}");
    assert!(reads > 0);
}

#[tokio::test]
async fn link_targets_that_would_run_are_refused_in_markdown() {
    let app = TestApp::spawn().await;
    for target in [
        "javascript:alert(3)",
        "JaVaScRiPt:alert(3)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "&#106;avascript:alert(1)",
    ] {
        let body = format!("Fine text.\n\n[click]({target})");
        let problem = post_article(&app, &body).await.problem(422);
        let error = &problem["errors"][0];
        assert_eq!(
            (error["field"].as_str(), error["code"].as_str()),
            (Some("body_markdown"), Some("unsafe_link")),
            "{target}: {problem}"
        );
        assert!(error["message"].as_str().unwrap().starts_with("line 3:"));
    }
    let fine = "[w](https://x.test) [m](mailto:a@x.test) [t](tel:+441) [p](/about) [f](#top)";
    post_article(&app, fine).await.expect(201);
    // A change to an existing article is held to the same rule.
    let problem = app
        .patch(
            "/api/v1/articles/deep",
            Some(&app.author),
            &json!({"body_markdown": "<javascript:alert(1)>"}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["code"], "unsafe_link");
}

#[tokio::test]
async fn slugs_shaped_like_ids_are_refused_and_never_made() {
    let app = TestApp::spawn().await;
    let first = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "First", "author": "test-author"}),
        )
        .await
        .expect(201);
    let id = first["id"].as_str().unwrap();
    let second = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Second", "author": "test-author"}),
        )
        .await
        .expect(201);
    for slug in [id.to_owned(), id.replace('-', "")] {
        let problem = app
            .patch(
                &format!("/api/v1/articles/{}", second["id"].as_str().unwrap()),
                Some(&app.editor),
                &json!({"slug": slug}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["code"], "shaped_like_id", "{problem}");
    }
    for path in ["/api/v1/tags", "/api/v1/authors"] {
        let problem = app
            .post(path, Some(&app.admin), &json!({"name": "Odd", "slug": id}))
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "slug");
    }
    // A title that is an id gets a slug that is not one.
    let made = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": id, "author": "test-author"}),
        )
        .await
        .expect(201);
    assert_eq!(made["slug"], format!("{id}-1"));
}

#[tokio::test]
async fn structured_data_comes_safe_for_a_script_element_and_bidi_overrides_are_refused() {
    let app = TestApp::spawn().await;
    let title = "Trams </script><script>alert(1)</script> <!-- & more";
    let made = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": title, "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    let script = made["seo"]["json_ld_script"].as_str().unwrap();
    assert!(
        !script.contains('<') && !script.contains('>') && !script.contains('&'),
        "{script}"
    );
    // The same value for a JSON reader.
    let read: serde_json::Value = serde_json::from_str(script).unwrap();
    assert_eq!(read, made["seo"]["json_ld"]);
    assert_eq!(read["headline"], title);

    for text in ["Evil \u{202E}gpj.exe", "a\u{2066}b", "\u{202A}x"] {
        for (path, body) in [
            (
                "/api/v1/articles",
                json!({"title": text, "author": "test-author"}),
            ),
            ("/api/v1/tags", json!({"name": text})),
            ("/api/v1/authors", json!({"name": text})),
        ] {
            let problem = app.post(path, Some(&app.admin), &body).await.problem(422);
            assert_eq!(
                problem["errors"][0]["code"], "invalid_characters",
                "{path}: {problem}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_or_revoked_token_is_a_401_on_every_public_route() {
    let app = TestApp::spawn().await;
    publish(&app, "Open").await;
    let made = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "gone", "role": "editor"}),
        )
        .await
        .expect(201);
    let revoked = made["secret"].as_str().unwrap().to_owned();
    app.delete(
        &format!("/api/v1/tokens/{}", made["id"].as_str().unwrap()),
        Some(&app.admin),
    )
    .await;
    let token = format!("{}.{}", "A".repeat(54), "B".repeat(43));
    for path in [
        "/feeds/articles.atom",
        "/feeds/articles.json",
        "/api/v1/sitemap",
        &format!("/api/v1/preview/{token}"),
        "/api/v1/articles",
        "/api/v1/articles/open",
        "/healthz",
        "/openapi.json",
    ] {
        for bad in ["lede_unknown0000000000000000000000", revoked.as_str()] {
            let answer = app
                .send(app.request(Method::GET, path).bearer_auth(bad))
                .await;
            answer.problem(401);
        }
        // Without a token: public as before.
        assert_ne!(app.get(path, None).await.status, 401, "{path}");
    }
}

/// Starts the real binary on the app's database with the access log on, runs `ask`
/// against it, stops it and returns what it logged.
async fn logged_while(app: &TestApp, ask: impl AsyncFnOnce(&str)) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = crate::support::TempDir::new("lede-log");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_lede"))
            .env("DATABASE_URL", &app.database_url)
            .env("LEDE_DATA_DIR", data.path())
            .env("LEDE_BIND", format!("127.0.0.1:{port}"))
            .env("LEDE_LOG", "info")
            .env("LEDE_DEMO", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    crate::support::eventually(60, "lede answers", || async {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    ask(&base).await;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    child.wait().unwrap();
    said
}

#[tokio::test]
async fn no_preview_token_reaches_the_log_whatever_the_path() {
    let app = TestApp::spawn().await;
    let token = format!("AaJN{}.k3cR{}", "x".repeat(50), "y".repeat(39));
    let said = logged_while(&app, async |base| {
        for path in [
            format!("/api/v1//preview/{token}"),
            format!("/api/v1/PREVIEW/{token}"),
            format!("/api/v1/preview/{token}/"),
            format!("/{token}"),
        ] {
            let answer = reqwest::get(format!("{base}{path}")).await.unwrap();
            assert!(answer.status().is_client_error(), "{path}");
        }
    })
    .await;
    assert!(said.contains("(token)"), "{said}");
    assert!(!said.contains("AaJNxxxx"), "a token in the log:\n{said}");
}

#[test]
fn settings_out_of_range_are_refused_at_start_naming_them() {
    for (name, value) in [
        ("LEDE_COMMENT_WINDOW_SECS", "9223372036854775807"),
        ("LEDE_COMMENT_WINDOW_SECS", "0"),
        ("LEDE_POOL_SIZE", "0"),
        ("LEDE_CACHE_TTL", "18446744073709551615"),
        ("LEDE_IMAGE_MAX_DIMENSION", "0"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lede"))
            .args(["migrate"])
            .env(name, value)
            .env("DATABASE_URL", "postgres://nowhere.invalid/x")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value}");
        assert!(
            said.contains(&name.to_lowercase().replace("lede_", "").replace('_', "-"))
                || said.contains(name),
            "{name}={value}: {said}"
        );
        assert!(!said.contains("panicked"), "{said}");
    }
}

#[tokio::test]
async fn a_comment_nested_too_deep_is_refused_before_it_is_rendered() {
    let app = TestApp::spawn().await;
    publish(&app, "Open").await;
    let problem = app
        .post(
            "/api/v1/articles/open/comments",
            None,
            &json!({"author_name": "A", "author_email": "a@example.com",
                    "body": format!("{}x", "- ".repeat(4_000))}),
        )
        .await
        .problem(422);
    assert_eq!(
        (
            problem["errors"][0]["field"].as_str(),
            problem["errors"][0]["code"].as_str()
        ),
        (Some("body"), Some("too_deep")),
        "{problem}"
    );
}
