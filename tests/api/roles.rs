//! Walks every documented route with no token, a bad token, a revoked token and each role,
//! against API.md's table. The routes come from the app's own route table (the OpenAPI
//! document), so a new route without an entry here fails the test.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, with_token};

#[derive(Clone, Copy, Debug)]
pub enum Access {
    /// Anyone, and a bad token is refused (401).
    Public,
    /// Anyone; tokens are not looked at.
    Open,
    /// Only these roles.
    Roles(&'static [&'static str]),
    /// These roles on the walk's subject (a published article, another's token or account);
    /// every role on what is its own (a contributor's draft, a person's tokens and self).
    Own(&'static [&'static str]),
    /// Anyone, answered with this status for the walk's request (a made-up link is a 404;
    /// a reset request on a site without mail a 409).
    Answers(u16),
    /// Only a session signed in by its cookie (a token is a 400).
    Session,
    /// Only a session, which is answered this status for the walk's request (a made-up
    /// ceremony or passkey is a 404).
    SessionAnswers(u16),
}

// `session` is an editor signed in by a session cookie (sending its CSRF token).
const STAFF: &[&str] = &["admin", "editor", "session"];
const PUBLISHERS: &[&str] = &["admin", "editor", "author", "session"];
const WRITERS: &[&str] = &["admin", "editor", "author", "contributor", "session"];
const ADMIN: &[&str] = &["admin"];
/// Admins, and people making their own (the harness's editor and author tokens are service
/// tokens, which belong to no one).
const PEOPLE: &[&str] = &["admin", "contributor", "session"];
const PUBLIC_HOOK: &str = "https://192.0.43.10/hook";

pub fn expected(operation_id: &str) -> Option<Access> {
    Some(match operation_id {
        "list_authors" | "find_author" | "list_tags" | "find_tag" => Access::Public,
        "create_author" | "update_author" | "delete_author" => Access::Roles(STAFF),
        "create_tag" => Access::Roles(PUBLISHERS),
        "update_tag" | "delete_tag" | "merge_tag" => Access::Roles(STAFF),
        // Others' tokens (the shared one is a service token): admins only.
        "find_token" | "revoke_token" => Access::Own(ADMIN),
        "list_tokens" => Access::Own(PEOPLE),
        "create_token" => Access::Own(PEOPLE),
        "list_images" | "find_image" => Access::Public,
        "create_image" | "update_image" | "delete_image" => Access::Roles(PUBLISHERS),
        "get_media" => Access::Open,
        "list_articles" | "find_article" | "list_related_articles" => Access::Public,
        "create_preview_link" | "revoke_preview_links" => Access::Own(PUBLISHERS),
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
        | "bulk_comment_status"
        | "reply_to_comment" => Access::Roles(STAFF),
        // A contributor writes drafts; the shared article is published, so no longer theirs to
        // change, and a batch that makes a tag is beyond them.
        "create_article" | "upsert_article" => Access::Roles(WRITERS),
        "update_article" | "delete_article" | "list_revisions" | "find_revision" | "run_batch" => {
            Access::Own(PUBLISHERS)
        }
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
        "list_users" | "invite_user" | "create_reset_link" => Access::Roles(ADMIN),
        // Of another person (the target): admins only; of oneself, see people.rs.
        "find_user" | "update_user" | "end_user_sessions" => Access::Own(ADMIN),
        "who_am_i" => Access::Roles(WRITERS),
        // The shared article is the contributor's byline's: its notes are theirs to read.
        "list_notes" | "create_note" => Access::Roles(WRITERS),
        "list_activity" => Access::Roles(STAFF),
        "sign_in" => Access::Public,
        "accept_invitation" => Access::Answers(404),
        "request_password_reset" => Access::Answers(409),
        "sign_out" | "change_password" | "begin_passkey_registration" | "list_passkeys" => {
            Access::Session
        }
        "add_passkey" | "delete_passkey" => Access::SessionAnswers(404),
        "begin_passkey_sign_in" => Access::Public,
        "sign_in_with_passkey" => Access::Answers(404),
        "find_settings" | "update_settings" => Access::Roles(ADMIN),
        _ => return None,
    })
}

/// Whether an agent with a person's token of `role` is offered the operation as a tool:
/// what the walk says the role may call, on what is its own too. Signing in is a
/// browser's (an agent has its token); what needs no token at all is not a tool.
pub fn agent_may(operation_id: &str, role: &str) -> bool {
    match expected(operation_id) {
        // Signing in is a browser's.
        Some(Access::Public) => !matches!(operation_id, "sign_in" | "begin_passkey_sign_in"),
        Some(Access::Roles(roles)) => roles.contains(&role),
        Some(Access::Own(_)) => true,
        _ => false,
    }
}

fn sample_body(operation_id: &str, caller: &str) -> Option<Value> {
    match operation_id {
        "create_author" => Some(json!({"name": format!("Matrix Author {caller}")})),
        "update_author" => Some(json!({"bio": "matrix"})),
        "create_tag" => Some(json!({"name": format!("Matrix Tag {caller}")})),
        "update_tag" => Some(json!({"description": "matrix"})),
        "merge_tag" => Some(json!({"into": "matrix"})),
        "reply_to_comment" => Some(json!({"body": format!("staff {caller}")})),
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
        // At most the caller's own role.
        "create_token" if caller == "contributor" => {
            Some(json!({"name": "matrix", "role": "contributor"}))
        }
        "create_token" => Some(json!({"name": "matrix", "role": "editor"})),
        "invite_user" => Some(json!({"email": format!("{caller}@matrix.example.com"),
            "name": "Matrix person", "role": "editor"})),
        "update_user" => Some(json!({"name": "Matrix person"})),
        "create_note" => Some(json!({"body": format!("a note from {caller}")})),
        "sign_in" => {
            Some(json!({"email": "target@example.com", "password": crate::people::PASSWORD}))
        }
        "request_password_reset" => Some(json!({"email": "target@example.com"})),
        "add_passkey" => Some(json!({"ceremony": uuid::Uuid::now_v7(), "name": "walk",
            "credential": {}})),
        "sign_in_with_passkey" => Some(json!({"ceremony": uuid::Uuid::now_v7(), "credential": {}})),
        "update_settings" => Some(json!({"admins_need_passkeys": false})),
        // The same again: the walk's session goes on signing in with it.
        "change_password" => Some(json!({"current_password": crate::people::PASSWORD,
            "new_password": crate::people::PASSWORD})),
        "accept_invitation" => {
            Some(json!({"token": "made-up", "password": crate::people::PASSWORD}))
        }
        _ => None,
    }
}

/// A PNG no other upload in the walk has (the same bytes would answer the existing image).
pub fn png(seed: u8) -> Vec<u8> {
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
        "delete_tag" | "merge_tag" => {
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
        "end_user_sessions" => {
            let id = crate::people::person(app, &format!("gone{seed}@example.com"), "editor", None)
                .await;
            return id;
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

    // People: the target of /users/{id}, a contributor (under the test author's byline, so
    // the published "Matrix" article is theirs but no longer a draft) and a signed-in editor.
    let target = crate::people::person(&app, "target@example.com", "editor", None).await;
    let writer = crate::people::person(
        &app,
        "writer@example.com",
        "contributor",
        Some("test-author"),
    )
    .await;
    let contributor = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "matrix contributor", "role": "contributor", "user": writer}),
        )
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::people::person(&app, "session@example.com", "editor", None).await;
    let session = crate::people::session(&app, "session@example.com").await;

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
    let mut wrong = Vec::new();
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
        } else if template.contains("users") {
            target.as_str()
        } else {
            spare["id"].as_str().unwrap()
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let callers: [(&str, Option<&str>); 8] = [
            ("none", None),
            ("bad", Some("lede_not-a-real-token")),
            ("revoked", Some(&revoked_secret)),
            ("contributor", Some(&contributor)),
            ("author", Some(&app.author)),
            ("editor", Some(&app.editor)),
            ("admin", Some(&app.admin)),
            ("session", None),
        ];
        for (caller, token) in callers {
            // The walk's subjects are not the callers' own.
            let allowed =
                matches!(access, Access::Roles(r) | Access::Own(r) if r.contains(&caller));
            // A merge, like a delete, takes its tag away.
            let path = if (method == Method::DELETE || id == "merge_tag") && allowed {
                seed += 1;
                let fresh = fresh_target(&app, id, seed).await;
                path_for(&fresh, &fresh)
            } else {
                path_for(shared, "matrix")
            };
            let mut request = with_token(app.request(method.clone(), &path), token);
            if id.contains("passkey") {
                // A passkey belongs to a domain name, not to an IP address.
                let port = app.address.rsplit(':').next().unwrap();
                request = request.header("host", format!("localhost:{port}"));
            }
            if caller == "session" {
                // Signing out ends the session: a fresh one signs out.
                request = if id == "sign_out" {
                    crate::people::session(&app, "session@example.com")
                        .await
                        .on(request)
                } else {
                    session.on(request)
                };
            }
            if id == "create_image" {
                seed += 1;
                let part = reqwest::multipart::Part::bytes(png(seed)).file_name("x.png");
                request = request.multipart(reqwest::multipart::Form::new().part("file", part));
            } else if let Some(body) = sample_body(id, caller) {
                request = request.json(&body);
            }
            let status = app.send(request).await.status.as_u16();
            // A token that is sent but not valid is a 401 everywhere, open routes included.
            // A status, or 0 for any 2xx.
            let want: u16 = match (access, caller) {
                (_, "bad" | "revoked") => 401,
                (Access::Open | Access::Public, _) => 0,
                (Access::Answers(status), _) => status,
                (Access::Session | Access::SessionAnswers(_), "none") => 401,
                (Access::Session, "session") => 0,
                (Access::SessionAnswers(status), "session") => status,
                (Access::Session | Access::SessionAnswers(_), _) => 400,
                (Access::Roles(_) | Access::Own(_), "none") => 401,
                (Access::Roles(roles) | Access::Own(roles), role) if roles.contains(&role) => 0,
                (Access::Roles(_) | Access::Own(_), _) => 403,
            };
            let ok = match want {
                0 => (200..300).contains(&status),
                code => status == code,
            };
            let want = if want == 0 {
                "2xx".to_owned()
            } else {
                want.to_string()
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} ({id}) as {caller}: got {status}, want {want}"
                ));
            }
            // And the document says the operation may answer it.
            if operation["responses"].get(status.to_string()).is_none() {
                wrong.push(format!(
                    "{method} {template} ({id}) answered {status}, which it does not document"
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 100, "walked {checked} route-caller pairs");
}
