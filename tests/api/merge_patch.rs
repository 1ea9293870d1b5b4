//! JSON merge patch: a field that is absent stays, `null` clears. Checked for every nullable
//! field of every resource, through the API and in what a later read returns.
use serde_json::{Value, json};

use crate::support::TestApp;

fn png() -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_pixel(
        40,
        30,
        image::Rgb([200, 80, 20]),
    ));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// PATCHes `fields` to null, then checks the answer and a fresh read both hold null.
async fn clear(app: &TestApp, path: &str, fields: &[&str]) {
    let patch: Value = fields
        .iter()
        .map(|f| (f.to_string(), Value::Null))
        .collect();
    let changed = app.patch(path, Some(&app.admin), &patch).await.expect(200);
    let read = app.get(path, Some(&app.admin)).await.expect(200);
    for field in fields {
        assert!(changed[field].is_null(), "{path} {field}: {changed}");
        assert!(read[field].is_null(), "{path} {field} read back: {read}");
    }
}

#[tokio::test]
async fn null_clears_every_nullable_field_of_every_resource() {
    let app = TestApp::spawn().await;
    let image = app
        .upload(
            Some(&app.editor),
            png(),
            "a.png",
            "image/png",
            &[
                ("alt", "Alt"),
                ("caption", "Cap"),
                ("credit", "Cred"),
                ("focal_x", "0.2"),
                ("focal_y", "0.7"),
            ],
        )
        .await
        .expect(201);
    let image_id = image["id"].as_str().unwrap().to_owned();

    let author = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Ada Null", "email": "ada@example.com", "bio": "Bio",
                    "website": "https://ada.example.com", "avatar": image_id}),
        )
        .await
        .expect(201);
    clear(
        &app,
        &format!("/api/v1/authors/{}", author["id"].as_str().unwrap()),
        &["email", "bio", "website", "avatar"],
    )
    .await;

    let tag = app
        .post(
            "/api/v1/tags",
            Some(&app.editor),
            &json!({"name": "Nullable", "description": "Described"}),
        )
        .await
        .expect(201);
    clear(
        &app,
        &format!("/api/v1/tags/{}", tag["id"].as_str().unwrap()),
        &["description"],
    )
    .await;

    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Cleared", "author": "test-author", "subtitle": "Sub",
                    "excerpt": "Given excerpt", "cover_image": image_id, "status": "published",
                    "body_markdown": "First paragraph."}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/articles/{}", article["id"].as_str().unwrap());
    clear(&app, &path, &["subtitle", "cover_image"]).await;
    // A null excerpt goes back to the one derived from the body.
    let derived = app
        .patch(&path, Some(&app.admin), &json!({"excerpt": null}))
        .await
        .expect(200);
    assert_eq!(derived["excerpt"], "First paragraph.");
    // Back to draft, and the publication date with it.
    let draft = app
        .patch(
            &path,
            Some(&app.admin),
            &json!({"status": "draft", "published_at": null}),
        )
        .await
        .expect(200);
    assert_eq!(draft["status"], "draft");
    assert!(draft["published_at"].is_null(), "{draft}");
    let read = app.get(&path, Some(&app.admin)).await.expect(200);
    assert!(read["published_at"].is_null(), "{read}");

    clear(
        &app,
        &format!("/api/v1/images/{image_id}"),
        &["alt", "caption", "credit"],
    )
    .await;
    // The focal point has a default (the middle) rather than no value.
    let centred = app
        .patch(
            &format!("/api/v1/images/{image_id}"),
            Some(&app.admin),
            &json!({"focal_x": null, "focal_y": null}),
        )
        .await
        .expect(200);
    assert!(
        centred["focal_x"].is_null() || centred["focal_x"] == 0.5,
        "{centred}"
    );
}

#[tokio::test]
async fn publishing_with_a_cleared_date_publishes_now() {
    let app = TestApp::spawn().await;
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let scheduled = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Later", "author": "test-author", "status": "published", "published_at": later}),
        )
        .await
        .expect(201);
    assert_eq!(scheduled["status"], "scheduled");
    let path = format!("/api/v1/articles/{}", scheduled["id"].as_str().unwrap());
    let now = app
        .patch(
            &path,
            Some(&app.editor),
            &json!({"status": "published", "published_at": null}),
        )
        .await
        .expect(200);
    assert_eq!(now["status"], "published", "{now}");
    app.get(&path, None).await.expect(200);
}
