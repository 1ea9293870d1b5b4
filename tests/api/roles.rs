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
const PUBLIC_HOOK: &str = "https://192.0.43.10/hook";

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
        "list_articles" | "find_article" | "list_related_articles" => Access::Public,
        "create_preview_link" | "revoke_preview_links" => Access::Roles(ANY_ROLE),
        // The link is the credential (a token sent is still checked, as everywhere).
        "preview_article" => Access::Open,
        "site_atom_feed" | "site_json_feed" | "tag_atom_feed" | "tag_json_feed"
        | "author_atom_feed" | "author_json_feed" | "list_sitemap" | "feed_stylesheet" => {
            Access::Open
        }
        "submit_comment" | "list_article_comments" | "list_replies" => Access::Public,
        "get_avatar" => Access::Open,
        "list_comments"
        | "find_comment"
        | "update_comment"
        | "delete_comment"
        | "bulk_comment_status" => Access::Roles(STAFF),
        "create_article" | "update_article" | "delete_article" | "list_revisions"
        | "find_revision" | "upsert_article" | "run_batch" => Access::Roles(ANY_ROLE),
        "list_webhooks"
        | "create_webhook"
        | "find_webhook"
        | "update_webhook"
        | "delete_webhook"
        | "rotate_webhook_secret"
        | "ping_webhook"
        | "list_webhook_deliveries"
        | "redeliver_webhook_delivery" => Access::Roles(ADMIN),
        "healthz" | "readyz" | "metrics" => Access::Open,
        _ => return None,
    })
}

fn sample_body(operation_id: &str, caller: &str) -> Option<Value> {
    match operation_id {
        "create_author" => Some(json!({"name": format!("Matrix Author {caller}")})),
        "update_author" => Some(json!({"bio": "matrix"})),
        "create_tag" => Some(json!({"name": format!("Matrix Tag {caller}")})),
        "update_tag" => Some(json!({"description": "matrix"})),
        "update_image" => Some(json!({"alt": "matrix"})),
        "create_article" => {
            Some(json!({"title": format!("Matrix Article {caller}"), "author": "test-author"}))
        }
        "update_article" => Some(json!({"subtitle": "matrix"})),
        "upsert_article" => Some(json!({"title": "Matrix upsert", "author": "test-author"})),
        "run_batch" => Some(
            json!({"operations": [{"method": "POST", "path": "/api/v1/tags",
            "body": {"name": format!("Matrix Batch Tag {caller}")}}]}),
        ),
        // A public address written as such: no name to resolve, nothing listens.
        "create_webhook" => Some(json!({"url": PUBLIC_HOOK, "events": ["article.published"]})),
        "update_webhook" => Some(json!({"description": "matrix"})),
        "submit_comment" => Some(json!({"author_name": caller,
            "author_email": format!("{caller}@example.com"), "body": format!("matrix {caller}")})),
        "update_comment" => Some(json!({"status": "approved"})),
        "bulk_comment_status" => Some(json!({"ids": [uuid::Uuid::now_v7()], "status": "spam"})),
        "create_token" => Some(json!({"name": "matrix", "role": "editor"})),
        _ => None,
    }
}

/// A PNG no other upload in the walk has (the same bytes would answer the existing image).
fn png(seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image::ImageBuffer::from_pixel(
        4,
        4,
        image::Rgb([seed, 1, 2]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
    .unwrap();
    out
}

/// What a DELETE by an allowed caller removes: made fresh for each such caller, so each one
/// is seen to succeed (204), not only the first.
async fn fresh_target(app: &TestApp, operation_id: &str, seed: u8) -> String {
    let made = match operation_id {
        "delete_author" => {
            app.post(
                "/api/v1/authors",
                Some(&app.editor),
                &json!({"name": format!("Gone {seed}")}),
            )
            .await
        }
        "delete_tag" => {
            app.post(
                "/api/v1/tags",
                Some(&app.editor),
                &json!({"name": format!("Gone {seed}")}),
            )
            .await
        }
        "delete_webhook" => {
            app.post(
                "/api/v1/webhooks",
                Some(&app.admin),
                &json!({"url": PUBLIC_HOOK, "events": ["tag.updated"]}),
            )
            .await
        }
        "revoke_token" => {
            app.post(
                "/api/v1/tokens",
                Some(&app.admin),
                &json!({"name": "gone", "role": "editor"}),
            )
            .await
        }
        "delete_image" => {
            app.upload(
                Some(&app.author),
                png(100 + seed),
                "g.png",
                "image/png",
                &[],
            )
            .await
        }
        // By the author token's author, so every role may delete it (or its preview links).
        "delete_article" | "revoke_preview_links" => {
            app.post(
                "/api/v1/articles",
                Some(&app.author),
                &json!({"title": format!("Gone {seed}"), "status": "published"}),
            )
            .await
        }
        "delete_comment" => {
            app.post(
                "/api/v1/articles/matrix/comments",
                None,
                &json!({"author_name": "G",
                "author_email": format!("g{seed}@example.com"), "body": format!("gone {seed}")}),
            )
            .await
        }
        other => panic!("no fresh target for {other}"),
    };
    made.expect(201)["id"].as_str().unwrap().to_owned()
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
    let webhook = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin),
            &json!({"url": PUBLIC_HOOK, "events": ["article.published"]}),
        )
        .await
        .expect(201);
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    let ping = app
        .post(
            &format!("/api/v1/webhooks/{webhook_id}/ping"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .expect(202);
    let delivery_id = ping["delivery_id"].as_str().unwrap().to_owned();
    app.delete(
        &format!("/api/v1/tokens/{}", revoked["id"].as_str().unwrap()),
        Some(&app.admin),
    )
    .await
    .expect(204);

    // Uploaded as the author, so the author token may change and delete it too.
    let image = app
        .upload(Some(&app.author), png(0), "m.png", "image/png", &[])
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
    // Approved, so its replies are public.
    app.patch(
        &format!("/api/v1/comments/{comment_id}"),
        Some(&app.editor),
        &json!({"status": "approved"}),
    )
    .await
    .expect(200);
    let thread = app
        .get("/api/v1/articles/matrix/comments", None)
        .await
        .expect(200);
    let avatar = thread["data"][0]["avatar_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let preview = app
        .post(
            "/api/v1/articles/matrix/preview-links",
            Some(&app.author),
            &json!({}),
        )
        .await
        .expect(201);
    let preview_token = preview["token"].as_str().unwrap().to_owned();

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
    let mut seed = 0u8;
    for (template, method, operation) in operations {
        let id = operation["operationId"].as_str().unwrap();
        let access = expected(id).unwrap_or_else(|| {
            panic!("route {method} {template} ({id}) has no entry in the role matrix")
        });
        // `target` is the resource's id; the shared article is named by its slug.
        let path_for = |target: &str, slug: &str| {
            template
                .replace("{id_or_slug}", slug)
                .replace("{key}", &media_key)
                .replace("{name}", &avatar)
                .replace("{version}", "1")
                .replace("{delivery_id}", &delivery_id)
                .replace("{external_id}", "matrix-upsert")
                .replace("{token}", &preview_token)
                .replace("{slug}", "matrix")
                .replace("{id}", target)
        };
        let shared = if template.contains("webhooks") {
            webhook_id.as_str()
        } else if template.contains("images") {
            image["id"].as_str().unwrap()
        } else if template.contains("comments") {
            comment_id.as_str()
        } else {
            spare["id"].as_str().unwrap()
        };
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
            let allowed = matches!(access, Access::Roles(r) if r.contains(&caller));
            let path = if method == Method::DELETE && allowed {
                seed += 1;
                let fresh = fresh_target(&app, id, seed).await;
                path_for(&fresh, &fresh)
            } else {
                path_for(shared, "matrix")
            };
            let mut request = with_token(app.request(method.clone(), &path), token);
            if id == "create_image" {
                seed += 1;
                let part = reqwest::multipart::Part::bytes(png(seed)).file_name("x.png");
                request = request.multipart(reqwest::multipart::Form::new().part("file", part));
            } else if let Some(body) = sample_body(id, caller) {
                request = request.json(&body);
            }
            let status = app.send(request).await.status.as_u16();
            // A token that is sent but not valid is a 401 everywhere, open routes included.
            let want = match (access, caller) {
                (_, "bad" | "revoked") => "401",
                (Access::Open, _) => "2xx",
                (Access::Public, _) => "2xx",
                (Access::Roles(_), "none") => "401",
                (Access::Roles(roles), role) if roles.contains(&role) => "2xx",
                (Access::Roles(_), _) => "403",
            };
            let ok = match want {
                "2xx" => (200..300).contains(&status),
                code => status.to_string() == code,
            };
            assert!(
                ok,
                "{method} {path} ({id}) as {caller}: got {status}, want {want}"
            );
            // And the document says the operation may answer it.
            assert!(
                operation["responses"].get(status.to_string()).is_some(),
                "{method} {template} ({id}) answered {status}, which it does not document"
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "walked {checked} route-caller pairs");
}
