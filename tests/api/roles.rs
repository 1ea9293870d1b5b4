//! Walks every documented route with no token, a bad token, a revoked token and each role,
//! against API.md's table. The routes come from the app's own route table (the OpenAPI
//! document), so a new route without an entry here fails the test.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, with_token};

#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone, and a bad token is refused (401).
    Public,
    /// Anyone; tokens are not looked at.
    Open,
    /// Only these roles.
    Roles(&'static [&'static str]),
}

const STAFF: &[&str] = &["admin", "editor"];
const ANY_ROLE: &[&str] = &["admin", "editor", "author"];
const ADMIN: &[&str] = &["admin"];

fn expected(operation_id: &str) -> Option<Access> {
    Some(match operation_id {
        "list_authors" | "find_author" | "list_tags" | "find_tag" => Access::Public,
        "create_author" | "update_author" | "delete_author" => Access::Roles(STAFF),
        "create_tag" => Access::Roles(ANY_ROLE),
        "update_tag" | "delete_tag" => Access::Roles(STAFF),
        "list_tokens" | "find_token" | "create_token" | "revoke_token" => Access::Roles(ADMIN),
        "list_images" | "find_image" => Access::Public,
        "create_image" | "update_image" | "delete_image" => Access::Roles(ANY_ROLE),
        "get_media" => Access::Open,
        "list_articles" | "find_article" => Access::Public,
        "submit_comment" | "list_article_comments" => Access::Public,
        "list_comments"
        | "find_comment"
        | "update_comment"
        | "delete_comment"
        | "bulk_comment_status" => Access::Roles(STAFF),
        "create_article" | "update_article" | "delete_article" | "list_revisions"
        | "find_revision" => Access::Roles(ANY_ROLE),
        "healthz" | "readyz" | "metrics" => Access::Open,
        _ => return None,
    })
}

fn sample_body(operation_id: &str) -> Option<Value> {
    match operation_id {
        "create_author" => Some(json!({"name": "Matrix Author"})),
        "update_author" => Some(json!({"bio": "matrix"})),
        "create_tag" => Some(json!({"name": "Matrix Tag"})),
        "update_tag" => Some(json!({"description": "matrix"})),
        "update_image" => Some(json!({"alt": "matrix"})),
        "create_article" => Some(json!({"title": "Matrix Article"})),
        "update_article" => Some(json!({"subtitle": "matrix"})),
        "submit_comment" => {
            Some(json!({"author_name": "M", "author_email": "m@example.com", "body": "matrix"}))
        }
        "update_comment" => Some(json!({"status": "approved"})),
        "bulk_comment_status" => Some(json!({"ids": [uuid::Uuid::now_v7()], "status": "spam"})),
        "create_token" => Some(json!({"name": "matrix", "role": "editor"})),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_checks_roles_as_documented() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/tags",
        Some(&app.editor),
        &json!({"name": "Matrix"}),
    )
    .await
    .expect(201);
    // Not the harness's author: deleting that one would delete the author token with it.
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Matrix"}),
    )
    .await
    .expect(201);
    let spare = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "spare", "role": "admin"}),
        )
        .await
        .expect(201);
    let revoked = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "revoked", "role": "admin"}),
        )
        .await
        .expect(201);
    let revoked_secret = revoked["secret"].as_str().unwrap().to_owned();
    app.delete(
        &format!("/api/v1/tokens/{}", revoked["id"].as_str().unwrap()),
        Some(&app.admin),
    )
    .await
    .expect(204);

    // Uploaded as the author, so the author token may change and delete it too.
    let png = {
        let mut out = Vec::new();
        image::DynamicImage::new_rgb8(4, 4)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let image = app
        .upload(Some(&app.author), png, "m.png", "image/png", &[])
        .await
        .expect(201);
    let media_key = image["url"]
        .as_str()
        .unwrap()
        .split("/media/")
        .nth(1)
        .unwrap()
        .to_owned();

    // By the author token's author, published, so every role may read and write it.
    app.post(
        "/api/v1/articles",
        Some(&app.author),
        &json!({"title": "Matrix", "status": "published"}),
    )
    .await
    .expect(201);

    let comment = app
        .post(
            "/api/v1/articles/matrix/comments",
            None,
            &json!({"author_name": "A", "author_email": "a@example.com", "body": "first"}),
        )
        .await
        .expect(201);
    let comment_id = comment["id"].as_str().unwrap().to_owned();

    let doc: Value = serde_json::from_str(&lede::openapi_json()).unwrap();
    let mut operations: Vec<(&String, &String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(template, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(m, op)| (template, m, op))
        })
        .collect();
    // Deletes last, so every resource exists for the other calls.
    operations.sort_by_key(|(_, method, _)| *method == "delete");
    let mut checked = 0;
    for (template, method, operation) in operations {
        {
            let id = operation["operationId"].as_str().unwrap();
            let access = expected(id).unwrap_or_else(|| {
                panic!("route {method} {template} ({id}) has no entry in the role matrix")
            });
            let path = template
                .replace("{id_or_slug}", "matrix")
                .replace("{key}", &media_key)
                .replace("{version}", "1")
                .replace(
                    "{id}",
                    if template.contains("images") {
                        image["id"].as_str().unwrap()
                    } else if template.contains("comments") {
                        comment_id.as_str()
                    } else {
                        spare["id"].as_str().unwrap()
                    },
                );
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let callers: [(&str, Option<&str>); 6] = [
                ("none", None),
                ("bad", Some("lede_not-a-real-token")),
                ("revoked", Some(&revoked_secret)),
                ("author", Some(&app.author)),
                ("editor", Some(&app.editor)),
                ("admin", Some(&app.admin)),
            ];
            for (caller, token) in callers {
                // Deletes go last so the resource exists for every other call.
                if method == Method::DELETE
                    && caller != "admin"
                    && matches!(access, Access::Roles(r) if r.contains(&caller))
                {
                    continue;
                }
                let mut request = with_token(app.request(method.clone(), &path), token);
                if id == "submit_comment" {
                    request = request.json(&json!({"author_name": caller, "author_email": format!("{caller}@example.com"), "body": format!("matrix {caller}")}));
                } else if id == "create_image" {
                    let part = reqwest::multipart::Part::bytes(b"not an image".to_vec())
                        .file_name("x.png");
                    request = request.multipart(reqwest::multipart::Form::new().part("file", part));
                } else if let Some(body) = sample_body(id) {
                    request = request.json(&body);
                }
                let status = app.send(request).await.status.as_u16();
                let want = match (access, caller) {
                    (Access::Open, _) => "2xx",
                    (_, "bad" | "revoked") => "401",
                    (Access::Public, _) => "2xx",
                    (Access::Roles(_), "none") => "401",
                    (Access::Roles(roles), role) if roles.contains(&role) => "allowed",
                    (Access::Roles(_), _) => "403",
                };
                let ok = match want {
                    "2xx" => (200..300).contains(&status),
                    "allowed" => status != 401 && status != 403 && status < 500,
                    code => status.to_string() == code,
                };
                assert!(
                    ok,
                    "{method} {path} ({id}) as {caller}: got {status}, want {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 80, "walked {checked} route-caller pairs");
}
