use crate::support::TestApp;

/// The committed document is the one the code generates. Refresh it with
/// `cargo run -- openapi > openapi/openapi.json`.
#[test]
fn committed_openapi_document_is_current() {
    let generated = lede::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; refresh it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_document_and_the_docs_page_are_served() {
    let app = TestApp::spawn().await;
    let served = app.get("/openapi.json", None).await.expect(200);
    let generated: serde_json::Value = serde_json::from_str(&lede::openapi_json()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    // lede's docs, saying how to get a token and where errors are explained.
    let page = docs.text();
    assert!(page.contains("<title>lede API docs</title>"), "{page}");
    assert!(page.contains("swagger-initializer.js"), "{page}");
    assert!(page.contains("lede token create") && page.contains(r#"href="/docs/errors""#));
    assert_eq!(app.get("/docs/index.html", None).await.text(), page);
    let intro = served["info"]["description"].as_str().unwrap();
    assert!(
        intro.contains("token create") && intro.contains("(/docs/errors)"),
        "{intro}"
    );
    let initializer = app.get("/docs/swagger-initializer.js", None).await;
    assert!(initializer.text().contains("/openapi.json"));
    // Whoever types the address without the slash, or only the host, finds the docs.
    for path in ["/docs", "/"] {
        let moved = app.get(path, None).await;
        assert_eq!(moved.status, 301, "{path}");
        assert_eq!(moved.header("location"), Some(app.url("/docs/").as_str()));
    }
}

#[test]
fn tags_are_ordered_and_described_and_public_reads_need_no_token() {
    let doc: serde_json::Value = serde_json::from_str(&lede::openapi_json()).unwrap();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(t["description"].is_string(), "{t}");
            t["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(tags[0], "articles");
    let mut used: Vec<&str> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for tag in op["tags"].as_array().unwrap() {
                used.push(tag.as_str().unwrap());
            }
        }
    }
    for tag in used {
        assert!(
            tags.contains(&tag),
            "operation tag {tag} is not in the tag list"
        );
    }
    // Public operations carry no security requirement (generated clients and the docs'
    // padlock read any requirement as "needs a token"); the others need the bearer token.
    let op = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    for (path, method) in [
        ("/api/v1/articles", "get"),
        ("/api/v1/articles/{id_or_slug}", "get"),
        ("/api/v1/authors", "get"),
        ("/api/v1/articles/{id_or_slug}/comments", "post"),
    ] {
        assert_eq!(op(path, method), serde_json::json!([]), "{method} {path}");
    }
    assert_eq!(
        op("/api/v1/articles", "post"),
        serde_json::json!([{"bearer": []}])
    );
    // Multipart fields that may be left out are not nullable: a client leaves them out
    // instead of sending "None".
    let upload = &doc["components"]["schemas"]["ImageUpload"]["properties"];
    for field in ["alt", "caption", "credit", "focal_x", "focal_y"] {
        assert!(
            upload[field]["type"].is_string(),
            "{field}: {}",
            upload[field]
        );
    }
}

#[test]
fn every_operation_documents_its_errors_and_security() {
    let doc: serde_json::Value = serde_json::from_str(&lede::openapi_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(op["summary"].is_string(), "{id} has no summary");
            assert!(op["security"].is_array(), "{id} has no security");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("400") && responses.contains_key("503"),
                "{id}"
            );
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{id} lacks 404");
            }
            if op.get("requestBody").is_some() {
                for status in ["413", "415", "422"] {
                    assert!(responses.contains_key(status), "{id} lacks {status}");
                }
            }
        }
    }
}

#[test]
fn every_schema_has_an_example() {
    let doc: serde_json::Value = serde_json::from_str(&lede::openapi_json()).unwrap();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema.get("example").is_some() || schema.get("examples").is_some(),
            "schema {name} has no example"
        );
    }
}
