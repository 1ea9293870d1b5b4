//! Agents: lede's MCP server (`/mcp`) driven by the official SDKs, Python's (`mcp`) and
//! TypeScript's (`@modelcontextprotocol/sdk`), as four people's tokens; and the transport's
//! edges over plain HTTP. Each SDK is installed once under `target/` (from
//! `tests/mcp/requirements.txt` and `tests/mcp/package-lock.json`) and reused.
use std::path::{Path, PathBuf};
use std::process::Stdio;

use reqwest::Method;
use serde_json::{Value, json};

use crate::people::person;
use crate::support::{TestApp, eventually};

const ROLES: [&str; 4] = ["contributor", "author", "editor", "admin"];
/// A word only the published article of these tests has.
const WORD: &str = "lighthouse";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-clients")
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mcp")
        .join(name)
}

async fn run(command: &mut tokio::process::Command, what: &str) -> String {
    let output = command
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // Shown when a test fails: how far the script came.
    eprintln!("{what}:\n{stdout}");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Installs what `stamp` names into `dir` unless the same was installed before.
async fn installed(dir: &Path, stamp: &str, install: impl AsyncFnOnce(&Path)) {
    let marker = dir.join(".installed");
    if std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp) {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    install(dir).await;
    std::fs::write(marker, stamp).unwrap();
}

/// The Python SDK's interpreter.
async fn python() -> PathBuf {
    let dir = clients_dir().join("python");
    let requirements = std::fs::read_to_string(source("requirements.txt")).unwrap();
    installed(&dir, &requirements, async |dir| {
        run(
            tokio::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")),
            "python3 -m venv",
        )
        .await;
        run(
            tokio::process::Command::new(dir.join("venv/bin/pip"))
                .args(["install", "-q", "-r"])
                .arg(source("requirements.txt")),
            "pip install (the MCP Python SDK)",
        )
        .await;
    })
    .await;
    dir.join("venv/bin/python")
}

/// A folder with the TypeScript SDK installed and the check beside it.
async fn node() -> PathBuf {
    let dir = clients_dir().join("node");
    let lock = std::fs::read_to_string(source("package-lock.json")).unwrap();
    installed(&dir, &lock, async |dir| {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source(file), dir.join(file)).unwrap();
        }
        run(
            tokio::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(dir),
            "npm ci (the MCP TypeScript SDK)",
        )
        .await;
    })
    .await;
    // The check itself is copied each time: it is the repository's, not the install's.
    std::fs::copy(source("agent.mjs"), dir.join("agent.mjs")).unwrap();
    dir
}

/// A person of `role` (a contributor or author writing as `test-author`) with a token of
/// their own: (user id, secret).
async fn agent(app: &TestApp, role: &str, email: &str) -> (String, String) {
    let author = matches!(role, "contributor" | "author").then_some("test-author");
    let id = person(app, email, role, author).await;
    let token = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": format!("{role}'s agent"), "role": role, "user": id}),
        )
        .await
        .expect(201);
    (id, token["secret"].as_str().unwrap().to_owned())
}

/// A person of each role with a token of their own: (role, user id, secret).
async fn people(app: &TestApp) -> Vec<(&'static str, String, String)> {
    let mut people = Vec::new();
    for role in ROLES {
        let (id, secret) = agent(app, role, &format!("agent-{role}@example.com")).await;
        people.push((role, id, secret));
    }
    people
}

/// The tools each role must be offered: the role walk's verdict on every documented
/// operation.
async fn expected(app: &TestApp) -> Value {
    let doc = app.get("/openapi.json", None).await.expect(200);
    let mut operations = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            if let Some(id) = operation["operationId"].as_str() {
                operations.push(id.to_owned());
            }
        }
    }
    let mut expected = serde_json::Map::new();
    for role in ROLES {
        let tools: Vec<&String> = operations
            .iter()
            .filter(|id| crate::roles::agent_may(id, role))
            .collect();
        expected.insert(role.to_owned(), json!(tools));
    }
    Value::Object(expected)
}

/// A published article to find by `WORD`, once the search index has it: its slug.
async fn published(app: &TestApp) -> String {
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "The harbour tram at midnight", "author": "test-author",
                "status": "published",
                "body_markdown": "The last tram runs past the lighthouse at midnight."}),
        )
        .await
        .expect(201);
    eventually(10, "the article is searchable", || async {
        let found = app
            .get(&format!("/api/v1/articles?q={WORD}"), None)
            .await
            .json();
        found["data"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    article["slug"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_python_sdk_lists_each_roles_tools_drafts_with_an_image_and_submits() {
    let python = python().await;
    let app = TestApp::spawn().await;
    let people = people(&app).await;
    let slug = published(&app).await;
    let tokens: serde_json::Map<String, Value> = people
        .iter()
        .map(|(role, _, secret)| (role.to_string(), json!(secret)))
        .collect();
    let output = run(
        tokio::process::Command::new(python)
            .arg(source("agent.py"))
            .env("LEDE_MCP_URL", app.url("/mcp"))
            .env("LEDE_MCP_TOKENS", Value::Object(tokens).to_string())
            .env("LEDE_MCP_EXPECTED", expected(&app).await.to_string())
            .env("LEDE_MCP_ARTICLE", &slug)
            .env("LEDE_MCP_WORD", WORD),
        "tests/mcp/agent.py",
    )
    .await;
    let report: Value = serde_json::from_str(output.lines().last().unwrap()).unwrap();

    // The API sees what the agent did, as the person whose token it used.
    let (_, author_id, _) = &people[1];
    let submitted = report["submitted"].as_str().unwrap();
    let article = app
        .get(&format!("/api/v1/articles/{submitted}"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(article["status"], "in_review");
    assert!(article["body_html"].as_str().unwrap().contains("<figure"));
    let activity = app
        .get(
            &format!("/api/v1/activity?actor={author_id}&subject={submitted}"),
            Some(&app.admin),
        )
        .await
        .expect(200);
    let lines = activity["data"].as_array().unwrap();
    assert!(!lines.is_empty(), "{activity}");
    for line in lines {
        assert_eq!(line["actor"]["kind"], "user");
        assert_eq!(line["actor"]["name"], "Person agent-author@example.com");
    }
    let notes = app
        .get(
            &format!("/api/v1/articles/{submitted}/notes"),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(notes["data"][0]["body"], "Ready when you are");
    let contributors = report["contributor_draft"].as_str().unwrap();
    let draft = app
        .get(
            &format!("/api/v1/articles/{contributors}"),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(draft["status"], "draft");
}

#[tokio::test]
async fn the_typescript_sdk_connects_as_a_contributor_and_is_kept_to_drafts() {
    let node = node().await;
    let app = TestApp::spawn().await;
    let people = people(&app).await;
    let slug = published(&app).await;
    let (_, _, contributor) = &people[0];
    let expected = expected(&app).await;
    run(
        tokio::process::Command::new("node")
            .arg(node.join("agent.mjs"))
            .current_dir(&node)
            .env("LEDE_MCP_URL", app.url("/mcp"))
            .env("LEDE_MCP_TOKEN", contributor)
            .env("LEDE_MCP_EXPECTED", expected["contributor"].to_string())
            .env("LEDE_MCP_ARTICLE", &slug)
            .env("LEDE_MCP_WORD", WORD),
        "tests/mcp/agent.mjs",
    )
    .await;
}

/// One JSON-RPC request to `/mcp` as `token`: the HTTP status and body.
async fn rpc(app: &TestApp, token: &str, method: &str, params: Value) -> (u16, Value) {
    let reply = app
        .send(
            app.request(Method::POST, "/mcp")
                .bearer_auth(token)
                .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})),
        )
        .await;
    (reply.status.as_u16(), reply.json())
}

async fn call(app: &TestApp, token: &str, tool: &str, arguments: Value) -> Value {
    let (status, body) = rpc(
        app,
        token,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn the_transport_refuses_what_it_cannot_take_each_with_a_clear_answer() {
    let app = TestApp::spawn().await;
    let post = |body: &'static str| {
        app.request(Method::POST, "/mcp")
            .header("content-type", "application/json")
            .body(body)
    };
    // No token; a session cookie instead of one.
    let reply = app
        .send(post(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        .await;
    reply.problem(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    crate::people::person(&app, "agent-session@example.com", "editor", None).await;
    let session = crate::people::session(&app, "agent-session@example.com").await;
    let reply = app
        .send(session.on(post(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)))
        .await;
    assert!(
        reply.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("not a session")
    );
    // No event stream and no session to end.
    for method in [Method::GET, Method::DELETE] {
        let reply = app
            .send(app.request(method, "/mcp").bearer_auth(&app.editor))
            .await;
        reply.problem(405);
        assert_eq!(reply.header("allow"), Some("POST"));
    }
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    // Not JSON's media type; a protocol revision lede does not speak; another site's page.
    app.send(
        app.request(Method::POST, "/mcp")
            .bearer_auth(&app.editor)
            .header("content-type", "text/plain")
            .body(ping),
    )
    .await
    .problem(415);
    app.send(
        post(ping)
            .bearer_auth(&app.editor)
            .header("mcp-protocol-version", "1999-01-01"),
    )
    .await
    .problem(400);
    let strict = TestApp::spawn_with(crate::support::Options {
        cors_origins: "https://desk.example.com".into(),
        ..Default::default()
    })
    .await;
    let from = |origin: &str| {
        strict
            .request(Method::POST, "/mcp")
            .bearer_auth(&strict.editor)
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(ping)
    };
    strict
        .send(from("https://evil.example.net"))
        .await
        .problem(403);
    assert_eq!(
        strict.send(from("https://desk.example.com")).await.status,
        200
    );
    // Too large a message: 413 before it is read whole.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(15 * 1024 * 1024)
    );
    app.send(
        app.request(Method::POST, "/mcp")
            .bearer_auth(&app.editor)
            .header("content-type", "application/json")
            .body(huge),
    )
    .await
    .problem(413);
    // A notification is accepted with nothing to say; a batch is not part of the protocol.
    let reply = app
        .send(
            post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                .bearer_auth(&app.editor),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 202);
    assert!(reply.text().is_empty());
    let reply = app
        .send(post(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).bearer_auth(&app.editor))
        .await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(reply.json()["error"]["code"], -32600);
    let (status, body) = rpc(&app, &app.editor, "resources/list", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (200, Some(-32601))
    );
    let (_, body) = rpc(
        &app,
        &app.editor,
        "tools/call",
        json!({"name": "list_tags", "arguments": [1]}),
    )
    .await;
    assert_eq!(body["error"]["data"]["errors"][0]["field"], "arguments");
    let body = call(&app, &app.editor, "create_article", json!({})).await;
    assert_eq!(
        body["error"]["data"]["errors"][0]["field"], "body",
        "{body}"
    );
    // Path and query arguments: something to name, and of a bounded length.
    for (arguments, field, code) in [
        (json!({"id_or_slug": ""}), "id_or_slug", "invalid_value"),
        (json!({"id_or_slug": ".."}), "id_or_slug", "invalid_value"),
        (
            json!({"id_or_slug": "x".repeat(5000)}),
            "id_or_slug",
            "too_long",
        ),
        (
            json!({"id_or_slug": {"a": 1}}),
            "id_or_slug",
            "invalid_type",
        ),
    ] {
        let body = call(&app, &app.editor, "find_article", arguments).await;
        assert_eq!(body["error"]["data"]["errors"][0]["field"], field, "{body}");
        assert_eq!(body["error"]["data"]["errors"][0]["code"], code, "{body}");
    }
    let many: Vec<String> = (0..500).map(|n| format!("tag-{n}")).collect();
    let body = call(&app, &app.editor, "list_articles", json!({"tag": many})).await;
    assert_eq!(
        body["error"]["data"]["errors"][0]["code"], "invalid_type",
        "{body}"
    );
    // `null` is "not given", as models often send it.
    let body = call(
        &app,
        &app.editor,
        "list_articles",
        json!({"q": null, "cursor": null}),
    )
    .await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    // A message larger than a JSON body may be, from a role that does not upload.
    let (_, token) = agent(&app, "contributor", "agent-small@example.com").await;
    let padded = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    app.send(
        app.request(Method::POST, "/mcp")
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(padded),
    )
    .await
    .problem(413);
    // A browser client's preflight: its protocol header is allowed.
    let reply = app
        .send(
            app.request(Method::OPTIONS, "/mcp")
                .header("origin", "https://agent.example.com")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type,mcp-protocol-version",
                ),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
}

#[tokio::test]
async fn a_write_too_large_to_show_is_done_and_says_what_it_cut() {
    // A public URL with a path of its own: links lede makes to itself carry it.
    let app = TestApp::spawn_with(crate::support::Options {
        public_url: Some("https://news.example.com/cms".into()),
        ..Default::default()
    })
    .await;
    let long = "A paragraph about the harbour trams, long enough to fill a page. ".repeat(2000);
    let body = call(
        &app,
        &app.editor,
        "create_article",
        json!({"body": {"title": "A very long read", "author": "test-author", "body_markdown": long}}),
    )
    .await;
    let result = &body["result"];
    assert_eq!(result["isError"], false, "{body}");
    let article = &result["structuredContent"];
    assert!(article["body_html"].is_null() && article["body_markdown"].is_null());
    assert_eq!(article["title"], "A very long read");
    let summary = result["content"][0]["text"].as_str().unwrap();
    assert!(
        summary.contains("Cut as too large") && summary.contains("body_html"),
        "{summary}"
    );
    // The text's second part is the answer itself, for hosts that show only text.
    let shown: Value =
        serde_json::from_str(result["content"][1]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&shown, article);
    let listed = app
        .get("/api/v1/articles?status=draft&q=harbour", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(listed["meta"]["total"], 1, "written once");
    // An old slug is followed to where the article lives now.
    let id = article["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/articles/{id}"),
        Some(&app.editor),
        &json!({"slug": "a-long-read"}),
    )
    .await
    .expect(200);
    let body = call(
        &app,
        &app.editor,
        "find_article",
        json!({"id_or_slug": "a-very-long-read"}),
    )
    .await;
    assert_eq!(
        body["result"]["structuredContent"]["slug"], "a-long-read",
        "{body}"
    );
    let summary = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        summary.contains("old slug") && summary.contains("\"a-long-read\""),
        "{summary}"
    );
    // A change in place is not a new draft: no new preview link. Its ETag works copied
    // with or without its quotes; an empty one is not "any version".
    let etag = summary
        .split("ETag ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    let bare = etag.trim_matches('"');
    let body = call(
        &app,
        &app.editor,
        "update_article",
        json!({"id_or_slug": id, "if_match": bare, "body": {"subtitle": "Short"}}),
    )
    .await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert!(
        body["result"]["structuredContent"]["preview"].is_null(),
        "{body}"
    );
    let body = call(
        &app,
        &app.editor,
        "update_article",
        json!({"id_or_slug": id, "if_match": "", "body": {"subtitle": "Shorter"}}),
    )
    .await;
    assert_eq!(
        body["error"]["data"]["errors"][0]["field"], "if_match",
        "{body}"
    );
    // A batch's answers too large for an agent: the first that fit, and how many there were.
    let mut operations =
        vec![json!({"method": "POST", "path": "/api/v1/tags", "body": {"name": "Trams"}})];
    operations
        .extend((0..8).map(|_| json!({"method": "GET", "path": format!("/api/v1/articles/{id}")})));
    let body = call(
        &app,
        &app.editor,
        "run_batch",
        json!({"body": {"operations": operations}}),
    )
    .await;
    let result = &body["result"];
    assert_eq!(result["isError"], false, "{body}");
    assert_eq!(
        result["structuredContent"]["results"][0]["status"], 201,
        "{body}"
    );
    let summary = result["content"][0]["text"].as_str().unwrap();
    assert!(summary.contains("of 9 shown"), "{summary}");
}

#[tokio::test]
async fn images_come_as_bounded_base64_or_from_public_addresses_only() {
    let app = TestApp::spawn_with(crate::support::Options {
        image_max_bytes: 100_000,
        ..Default::default()
    })
    .await;
    let arguments = |extra: Value| {
        let mut arguments = json!({"alt": "A picture"});
        arguments
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        arguments
    };
    for (extra, field, code) in [
        (json!({}), "file_base64", "required"),
        (
            json!({"file_base64": "not base64 at all!"}),
            "file_base64",
            "invalid_format",
        ),
        (
            json!({"file_base64": "AAAA", "file_url": "https://example.com/a.png"}),
            "file_url",
            "conflict",
        ),
        (
            json!({"file_base64": "A".repeat(200_000)}),
            "file_base64",
            "too_large",
        ),
        (
            json!({"file_url": "not a url"}),
            "file_url",
            "invalid_format",
        ),
        (
            json!({"file_url": "file:///etc/passwd"}),
            "file_url",
            "invalid_format",
        ),
        (
            json!({"file_base64": "AAAA", "alt": ["not", "text"]}),
            "alt",
            "invalid_type",
        ),
    ] {
        let body = call(&app, &app.editor, "create_image", arguments(extra.clone())).await;
        let error = &body["error"];
        assert_eq!(error["code"], -32602, "{extra}: {body}");
        assert_eq!(error["data"]["errors"][0]["field"], field, "{body}");
        assert_eq!(error["data"]["errors"][0]["code"], code, "{body}");
    }
    // Base64 with or without its padding, in a `data:` URL or not.
    use base64::Engine;
    for (seed, encoded) in [(202u8, false), (203, true)] {
        let picture = crate::roles::png(seed);
        let mut encoded_png = base64::engine::general_purpose::STANDARD.encode(&picture);
        if encoded {
            encoded_png = format!("data:image/png;base64,{encoded_png}");
        } else {
            encoded_png = encoded_png.trim_end_matches('=').to_owned();
        }
        let body = call(
            &app,
            &app.editor,
            "create_image",
            arguments(json!({"file_base64": encoded_png})),
        )
        .await;
        assert_eq!(body["result"]["isError"], false, "{body}");
    }
    // A private address is never fetched (the importer's rule), however it is written.
    for url in [
        "http://127.0.0.1:9/a.png",
        "http://[::1]/a.png",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let body = call(
            &app,
            &app.editor,
            "create_image",
            arguments(json!({"file_url": url})),
        )
        .await;
        let result = &body["result"];
        assert_eq!(result["isError"], true, "{url}: {body}");
        assert_eq!(
            result["structuredContent"]["errors"][0]["field"], "file_url",
            "{body}"
        );
    }
    // A contributor is not offered uploads, and calling it anyway is an unknown tool.
    let (_, token) = agent(&app, "contributor", "agent-c@example.com").await;
    let body = call(&app, &token, "create_image", json!({"file_base64": "AAAA"})).await;
    assert_eq!(body["error"]["data"]["errors"][0]["code"], "unknown_tool");
}

#[tokio::test]
async fn an_answer_too_large_for_an_agent_is_refused_with_how_to_narrow_it() {
    let app = TestApp::spawn().await;
    let long = "A long paragraph about trams and harbours. ".repeat(400);
    for n in 0..8 {
        app.post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": format!("Long read {n}"), "author": "test-author",
                "status": "published", "body_markdown": long}),
        )
        .await
        .expect(201);
    }
    let body = call(
        &app,
        &app.editor,
        "list_articles",
        json!({"include": "body"}),
    )
    .await;
    let result = &body["result"];
    assert_eq!(result["isError"], true, "{body}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("per_page") && text.contains("cursor"),
        "{text}"
    );
    // Narrowed as it says, the same list answers.
    let body = call(
        &app,
        &app.editor,
        "list_articles",
        json!({"include": "body", "per_page": 2}),
    )
    .await;
    let result = &body["result"];
    assert_eq!(result["isError"], false, "{body}");
    assert_eq!(
        result["structuredContent"]["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("cursor")
    );
}

#[tokio::test]
async fn an_image_is_fetched_from_a_url_when_private_addresses_are_allowed() {
    // The picture's host: one answer to each connection, for as long as the test runs.
    let picture = crate::roles::png(201);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let served = picture.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                served.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&served).await;
        }
    });
    let url = format!("http://{address}/picture.png");
    let closed = TestApp::spawn().await;
    let body = call(
        &closed,
        &closed.editor,
        "create_image",
        json!({"file_url": url}),
    )
    .await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    let open = TestApp::spawn_with(crate::support::Options {
        webhook_allow_private: true,
        ..Default::default()
    })
    .await;
    let body = call(
        &open,
        &open.editor,
        "create_image",
        json!({"file_url": url, "alt": "Fetched for an agent"}),
    )
    .await;
    let image = &body["result"]["structuredContent"];
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(image["alt"], "Fetched for an agent");
    assert_eq!(image["width"], 4);
}
