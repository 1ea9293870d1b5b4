//! The desk (`/desk`) in a real browser: headless Chromium, driven by the accessible names
//! API.md lists, with axe-core run on every page; and its guards over plain HTTP.
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::people::{PASSWORD, person};
use crate::support::{TempDir, TestApp, eventually};

/// A photo whose left half is red and right half blue: where its focal point is decides
/// the colour of its square crop.
pub fn two_halves(width: u32, height: u32) -> Vec<u8> {
    let picture = image::ImageBuffer::from_fn(width, height, |x, _| {
        if x < width / 2 {
            image::Rgb([200u8, 20, 20])
        } else {
            image::Rgb([20u8, 20, 200])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The article's version now (its `ETag`), as a page opened now has it.
async fn version_of(app: &TestApp, id: &str) -> String {
    app.get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
        .await
        .header("etag")
        .unwrap()
        .to_owned()
}

/// A small PNG of its own (`seed`) uploaded by the editor: its id.
async fn uploaded(app: &TestApp, seed: u8) -> String {
    app.upload_unwaited(
        Some(&app.editor),
        crate::roles::png(seed),
        "p.png",
        "image/png",
        &[],
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs `email` in through the sign-in page.
pub async fn sign_in(browser: &Browser, email: &str) {
    browser.goto("/desk/sign-in").await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Sign in").await;
    assert_eq!(browser.path().await, "/desk", "{}", browser.text().await);
}

/// The article's id from the editor's address.
async fn article_id(browser: &Browser) -> String {
    let path = browser.path().await;
    path.trim_start_matches("/desk/articles/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

/// Opens the media library dialog from `button` and presses `action` on the image `alt`.
async fn pick_image(browser: &Browser, button: &str, alt: &str, action: &str) {
    browser.click(button).await;
    let item = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!(
            "//dialog//li[@data-alt='{alt}']//button[normalize-space()='{action}']"
        )))
        .await
        .unwrap();
    item.click().await.unwrap();
}

#[tokio::test]
async fn an_article_goes_from_a_contributor_through_review_to_readers() {
    let app = TestApp::spawn().await;
    let pages = Browser::open(&app.address, 1280).await;

    // An editor is invited, opens the link, chooses a password and signs in.
    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&app.admin),
            &json!({"email": "edna@example.com", "name": "Edna Editor", "role": "editor"}),
        )
        .await
        .expect(201);
    let link = invited["invitation_url"].as_str().unwrap();
    pages.client.goto(link).await.unwrap();
    pages.assert_accessible().await;
    // The secret left the address bar once the form had it.
    assert_eq!(pages.path().await, "/desk/accept");
    // The server's own checks are shown on the page (the browser checks the length).
    pages.fill("Password", "edna@example.com").await;
    pages.submit("Set password").await;
    pages.wait_for_text("email").await;
    pages.assert_accessible().await;
    // The page kept no secret: the link is needed again.
    pages.client.goto(link).await.unwrap();
    pages.fill("Password", PASSWORD).await;
    pages.submit("Set password").await;
    pages.wait_for_text("Your password is set").await;
    pages.assert_accessible().await;
    pages.fill("Email", "edna@example.com").await;
    pages.fill("Password", "not the password").await;
    pages.submit("Sign in").await;
    pages
        .wait_for_text("The email or the password is wrong")
        .await;
    sign_in(&pages, "edna@example.com").await;
    pages.wait_for_text("Edna Editor").await;
    pages.assert_accessible().await;

    // The editor uploads a photo in the media library and describes it.
    let files = TempDir::new("lede-desk-upload");
    let photo = files.path().join("harbour.png");
    std::fs::write(&photo, two_halves(640, 400)).unwrap();
    pages.goto("/desk/media").await;
    pages
        .field("Upload")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    // Uploaded, the library shows it (the page reloads when every file is in).
    pages.wait_for_text("Alt text").await;
    let images = app.get("/api/v1/images", None).await.expect(200);
    let image_id = images["data"][0]["id"].as_str().unwrap().to_owned();
    pages.goto("/desk/media").await;
    pages.fill("Alt text", "The harbour at dawn").await;
    pages.fill("Caption", "Boats leave before six.").await;
    pages.fill("Credit", "Photo: Edna").await;
    pages.submit("Save").await;
    pages.wait_for_text("Saved.").await;
    pages.assert_accessible().await;
    let image = app
        .get(&format!("/api/v1/images/{image_id}"), None)
        .await
        .expect(200);
    assert_eq!(image["alt"], "The harbour at dawn");
    assert_eq!(image["credit"], "Photo: Edna");

    // A contributor writes in a second browser: a figure and the cover from the library.
    person(&app, "cora@example.com", "contributor", Some("test-author")).await;
    let writer = Browser::open(&app.address, 1280).await;
    sign_in(&writer, "cora@example.com").await;
    writer.goto("/desk/articles/new").await;
    writer.assert_accessible().await;
    writer.fill("Title", "The harbour wakes").await;
    writer
        .fill(
            "Body",
            "Fishing boats leave before six.\n\nThe nets come back full.",
        )
        .await;
    // The live preview shows the body as readers will get it.
    writer.client.enter_frame(0).await.unwrap();
    for _ in 0..100 {
        let text = writer.text().await;
        if text.contains("The nets come back full.") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(writer.text().await.contains("The nets come back full."));
    writer.client.enter_parent_frame().await.unwrap();
    pick_image(&writer, "Add image", "The harbour at dawn", "Insert").await;
    writer.assert_accessible().await;
    pick_image(
        &writer,
        "Choose cover",
        "The harbour at dawn",
        "Set as cover",
    )
    .await;
    writer.submit("Save draft").await;
    writer.wait_for_text("Draft created.").await;
    let id = article_id(&writer).await;
    // A draft saves itself a few seconds after the last change.
    writer.fill("Subtitle", "Before six").await;
    writer.wait_for_text("Draft saved at").await;
    let saved = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(saved["subtitle"], "Before six");
    let draft = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["cover_image"]["id"], image_id.as_str());
    assert!(
        draft["body_markdown"]
            .as_str()
            .unwrap()
            .contains(&format!("![The harbour at dawn](image:{image_id})")),
        "{}",
        draft["body_markdown"]
    );
    assert_eq!(draft["author"]["slug"], "test-author");
    writer.assert_accessible().await;
    // A contributor is offered no Publish.
    assert!(
        writer
            .client
            .find(Locator::XPath("//button[normalize-space()='Publish']"))
            .await
            .is_err()
    );
    writer.fill("Note", "Photos are from this morning.").await;
    writer.submit("Submit for review").await;
    writer.wait_for_text("Submitted for review.").await;

    // The editor finds it waiting, and returns it with a note.
    pages.goto("/desk").await;
    pages.wait_for_text("Waiting for review").await;
    pages
        .client
        .find(Locator::LinkText("The harbour wakes"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    pages.wait_for_text("Photos are from this morning.").await;
    pages.fill("Note", "Say which harbour.").await;
    pages.submit("Return to writer").await;
    pages.wait_for_text("Returned to the writer").await;
    let returned = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(returned["status"], "draft");

    // The writer reads the note, fixes the draft and sends it again.
    writer.goto(&format!("/desk/articles/{id}")).await;
    writer.wait_for_text("Say which harbour.").await;
    writer.fill("Title", "The harbour of Sète wakes").await;
    writer.submit("Submit for review").await;
    writer.wait_for_text("Submitted for review.").await;

    // The editor mends the photo's caption from the editor's library dialog, which stays
    // open, then publishes.
    pages.goto(&format!("/desk/articles/{id}")).await;
    pages.click("Add image").await;
    let caption = pages.field("Caption").await;
    caption.clear().await.unwrap();
    caption
        .send_keys("Boats leave before six, every day.")
        .await
        .unwrap();
    pages
        .client
        .find(Locator::XPath("//dialog//button[normalize-space()='Save']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    pages.wait_for_text("Saved.").await;
    pages.assert_accessible().await;
    pages.click("Close").await;
    let image = app
        .get(&format!("/api/v1/images/{image_id}"), None)
        .await
        .expect(200);
    assert_eq!(image["caption"], "Boats leave before six, every day.");
    pages.submit("Publish").await;
    pages.wait_for_text("Published.").await;
    pages.assert_accessible().await;

    // Readers get it with its figure, as a <picture> once the modern formats exist.
    app.wait_for_renditions(&image_id).await;
    eventually(30, "the published figure is a <picture>", async || {
        let article = app.get(&format!("/api/v1/articles/{id}"), None).await;
        if article.status != 200 {
            return false;
        }
        let article = article.json();
        let html = article["body_html"].as_str().unwrap_or_default();
        article["title"] == "The harbour of Sète wakes"
            && article["cover_image"]["id"] == image_id.as_str()
            && html.contains("<picture>")
            && html.contains("<figcaption>")
            && html.contains("The harbour at dawn")
    })
    .await;

    // The library finds the photo by a word of its caption, and says where it is used.
    pages.goto("/desk/media").await;
    pages.fill("Search alt text and captions", "boats").await;
    pages.submit("Search").await;
    pages
        .wait_for_text("Used in: The harbour of Sète wakes")
        .await;
    pages.assert_accessible().await;
    pages.goto("/desk/media?q=nowhere").await;
    pages.wait_for_text("No image matches.").await;

    // The articles list finds it by a word of its body, through the search index.
    pages.goto("/desk/articles?q=nets").await;
    pages.wait_for_text("The harbour of Sète wakes").await;
    pages.assert_accessible().await;
}

/// The mean colour of a stored picture: (red, blue).
async fn red_and_blue(app: &TestApp, url: &str) -> (u64, u64) {
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let picture = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let (mut red, mut blue) = (0u64, 0u64);
    for pixel in picture.pixels() {
        red += u64::from(pixel[0]);
        blue += u64::from(pixel[2]);
    }
    let _ = app;
    let n = u64::from(picture.width() * picture.height()).max(1);
    (red / n, blue / n)
}

fn square_url(image: &Value) -> String {
    image["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "square" && v["mime_type"] == "image/png")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn focal_points_revisions_and_a_conflicting_save() {
    let app = TestApp::spawn().await;
    person(&app, "ed@example.com", "editor", None).await;
    let browser = Browser::open(&app.address, 1280).await;
    sign_in(&browser, "ed@example.com").await;

    // A wide photo, focal point in the middle: its square crop is half red, half blue.
    let uploaded = app
        .upload(
            Some(&app.editor),
            two_halves(1200, 400),
            "wide.png",
            "image/png",
            &[("alt", "Two halves")],
        )
        .await
        .expect(201);
    let image_id = uploaded["id"].as_str().unwrap().to_owned();
    let image = app.wait_for_renditions(&image_id).await;
    let (red, blue) = red_and_blue(&app, &square_url(&image)).await;
    assert!(
        red > 60 && blue > 60,
        "a middle crop has both: {red} {blue}"
    );

    // A click near the right edge of the picture moves the focal point there; saved, the
    // API's crops are cut around it.
    browser.goto("/desk/media").await;
    let picture = browser
        .client
        .find(Locator::Css("[data-focal] img"))
        .await
        .unwrap();
    let (_, _, width, _) = picture.rectangle().await.unwrap();
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: picture.clone(),
            duration: None,
            x: width * 0.45,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.client.perform_actions(click).await.unwrap();
    let across: f64 = browser
        .field("Across, 0 to 1")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(across > 0.9, "the click set the focal point: {across}");
    browser.assert_accessible().await;
    browser.submit("Save").await;
    browser.wait_for_text("Saved.").await;
    eventually(
        60,
        "the square crop is cut around the new focal point",
        async || {
            let image = app
                .get(&format!("/api/v1/images/{image_id}"), None)
                .await
                .json();
            if image["focal_x"].as_f64().unwrap_or_default() < 0.9 {
                return false;
            }
            let (red, blue) = red_and_blue(&app, &square_url(&image)).await;
            blue > 150 && red < 40
        },
    )
    .await;

    // Two revisions: the older one is compared and restored.
    let created = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "First words", "body_markdown": "One line.\n\nTwo lines.", "author": "test-author"}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    let etag = version_of(&app, &id).await;
    let changed = app
        .send(
            app.request(reqwest::Method::PATCH, &format!("/api/v1/articles/{id}"))
                .bearer_auth(&app.editor)
                .header("if-match", etag)
                .json(
                    &json!({"title": "Second words", "body_markdown": "One line.\n\nThree lines."}),
                ),
        )
        .await;
    changed.expect(200);
    browser
        .goto(&format!("/desk/articles/{id}/revisions"))
        .await;
    browser.submit("Compare").await;
    browser.wait_for_text("− Two lines.").await;
    browser.wait_for_text("+ Three lines.").await;
    browser.wait_for_text("First words").await;
    browser.assert_accessible().await;
    browser
        .field("Revision to restore")
        .await
        .select_by_value("1")
        .await
        .unwrap();
    browser.submit("Restore").await;
    browser.wait_for_text("Restored").await;
    let restored = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(restored["title"], "First words");
    assert_eq!(restored["body_markdown"], "One line.\n\nTwo lines.");

    // Someone else saves while the editor has the page open: their save shows the other
    // change, keeping theirs in the form, and `Save draft` then keeps theirs knowingly.
    browser.goto(&format!("/desk/articles/{id}")).await;
    let etag = version_of(&app, &id).await;
    app.send(
        app.request(reqwest::Method::PATCH, &format!("/api/v1/articles/{id}"))
            .bearer_auth(&app.admin)
            .header("if-match", etag)
            .json(&json!({"title": "The admin's title", "body_markdown": "One line.\n\nAn admin's line."})),
    )
    .await
    .expect(200);
    browser.fill("Title", "The editor's title").await;
    browser.submit("Save draft").await;
    browser
        .wait_for_text("Someone else saved this article")
        .await;
    browser.wait_for_text("The admin's title").await;
    browser.wait_for_text("+ An admin's line.").await;
    browser.assert_accessible().await;
    let kept = browser.field("Title").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("The editor's title"));
    let unchanged = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(unchanged["title"], "The admin's title");
    browser.submit("Save draft").await;
    browser.wait_for_text("Saved.").await;
    let mine = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(mine["title"], "The editor's title");

    // A picture of the editor for the README, when asked for.
    if let Ok(to) = std::env::var("LEDE_DESK_SCREENSHOT") {
        browser.goto(&format!("/desk/articles/{id}")).await;
        browser.screenshot(std::path::Path::new(&to)).await;
    }
}

#[tokio::test]
async fn the_desk_fits_a_phone() {
    let app = TestApp::spawn().await;
    person(&app, "ph@example.com", "author", Some("test-author")).await;
    let created = app
        .post(
            "/api/v1/articles",
            Some(&app.author),
            &json!({"title": "A long headline that has to wrap on a narrow screen somewhere", "body_markdown": "Text."}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    // A phone, and a 1280 px screen at 200% zoom.
    let mut last = None;
    for width in [390, 640] {
        let phone = Browser::open(&app.address, width).await;
        phone.goto("/desk/sign-in").await;
        phone.assert_accessible().await;
        sign_in(&phone, "ph@example.com").await;
        for path in [
            "/desk".to_owned(),
            "/desk/articles".to_owned(),
            "/desk/articles/new".to_owned(),
            format!("/desk/articles/{id}"),
            format!("/desk/articles/{id}/revisions"),
            "/desk/media".to_owned(),
        ] {
            phone.goto(&path).await;
            let viewport = phone.execute("return window.innerWidth;", vec![]).await;
            assert_eq!(viewport, width, "the page is seen {width} px wide");
            phone.assert_fits(width).await;
            phone.assert_accessible().await;
        }
        last = Some(phone);
    }
    let phone = last.unwrap();
    // The check can fail: a picture without a text alternative is found.
    phone
        .execute(
            "const i = document.createElement('img'); i.src = 'data:,'; \
             document.querySelector('main').append(i); return true;",
            vec![],
        )
        .await;
    let violations = phone.accessibility_violations().await;
    assert!(
        violations.iter().any(|v| v.starts_with("image-alt")),
        "{violations:?}"
    );
    // Signing out ends the session: the desk asks to sign in again.
    phone.goto("/desk").await;
    phone.submit("Sign out").await;
    phone.wait_for_text("You are signed out.").await;
    phone.goto("/desk/articles").await;
    assert_eq!(phone.path().await, "/desk/sign-in");
}

/// A desk request as a signed-in browser sends it: the cookie only (forms carry the token).
fn as_browser(
    app: &TestApp,
    session: &crate::people::Session,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.request(method, path)
        .header("cookie", format!("lede_session={}", session.cookie))
}

#[tokio::test]
async fn desk_pages_keep_to_their_person_and_refuse_forged_forms() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    person(
        &app,
        "guard@example.com",
        "contributor",
        Some("test-author"),
    )
    .await;
    let session = crate::people::session(&app, "guard@example.com").await;

    // Nobody, or a script's token, is sent to the sign-in page.
    for request in [
        app.request(Method::GET, "/desk/articles"),
        app.request(Method::GET, "/desk/articles")
            .bearer_auth(&app.admin),
    ] {
        let reply = app.send(request).await;
        assert_eq!(reply.status, 303);
        assert_eq!(reply.header("location"), Some("/desk/sign-in"));
    }

    // A page: a strict policy, no framing, kept by no cache.
    let page = app
        .send(as_browser(&app, &session, Method::GET, "/desk"))
        .await;
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(policy.contains(part), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page.header("cache-control").unwrap().contains("no-store"));
    // No inline script and no handler attribute anywhere in the pages.
    for path in [
        "/desk",
        "/desk/articles",
        "/desk/articles/new",
        "/desk/media",
    ] {
        let html = app
            .send(as_browser(&app, &session, Method::GET, path))
            .await
            .text();
        assert!(!html.contains("<script>"), "{path}");
        assert!(!html.contains(" onclick="), "{path}");
        assert!(!html.contains(" style="), "{path}");
    }

    // A form without the session's token, with another token, or sent from another site
    // writes nothing.
    let count = async || {
        app.get("/api/v1/articles?status=any&per_page=1", Some(&app.admin))
            .await
            .json()["meta"]["total"]
            .as_i64()
            .unwrap()
    };
    let before = count().await;
    for (csrf, site) in [
        (None, None),
        (Some("forged"), None),
        (Some(session.csrf.as_str()), Some("cross-site")),
    ] {
        let mut form = vec![("title", "Forged"), ("body", "x"), ("action", "save")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let mut request =
            as_browser(&app, &session, Method::POST, "/desk/articles/new").form(&form);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 403, "{csrf:?} {site:?}: {}", reply.text());
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
    assert_eq!(count().await, before);

    // The real form works; a contributor's forged `Publish` is the API's 403, shown.
    let made = app
        .send(
            as_browser(&app, &session, Method::POST, "/desk/articles/new").form(&[
                ("csrf", session.csrf.as_str()),
                ("title", "<script>alert(1)</script> & friends"),
                ("body", "Text."),
                ("action", "save"),
            ]),
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let location = made.header("location").unwrap().to_owned();
    let id = location
        .trim_start_matches("/desk/articles/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let editor = app
        .send(as_browser(
            &app,
            &session,
            Method::GET,
            &format!("/desk/articles/{id}"),
        ))
        .await;
    let html = editor.text();
    // Escaped by the template engine (as numeric references), in text and attributes.
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; friends"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
    let version = version_of(&app, &id).await;
    let published = app
        .send(
            as_browser(
                &app,
                &session,
                Method::POST,
                &format!("/desk/articles/{id}"),
            )
            .form(&[
                ("csrf", session.csrf.as_str()),
                ("version", version.as_str()),
                ("title", "Published by a contributor?"),
                ("body", "Text."),
                ("action", "publish"),
            ]),
        )
        .await;
    assert_eq!(published.status, 403, "{}", published.text());
    // A save is guarded by the version the page had: none, `*` or a broken one is refused.
    for version in ["", "*", "\"a\nb\"", "a\u{1}b"] {
        let reply = app
            .send(
                as_browser(
                    &app,
                    &session,
                    Method::POST,
                    &format!("/desk/articles/{id}"),
                )
                .form(&[
                    ("csrf", session.csrf.as_str()),
                    ("version", version),
                    ("title", "Unguarded?"),
                    ("body", "Text."),
                    ("action", "save"),
                ]),
            )
            .await;
        assert_eq!(reply.status, 400, "{version:?}: {}", reply.text());
    }
    let article = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(article["status"], "draft");
    assert_eq!(article["title"], "<script>alert(1)</script> & friends");

    // Anything else under /desk is an HTML page too; a form from another origin (a browser
    // that sends no Sec-Fetch-Site) is refused.
    let missing = app
        .send(as_browser(&app, &session, Method::GET, "/desk/nowhere"))
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let elsewhere = app
        .send(
            as_browser(&app, &session, Method::POST, "/desk/articles/new")
                .header("origin", "https://evil.example")
                .form(&[
                    ("csrf", session.csrf.as_str()),
                    ("title", "x"),
                    ("action", "save"),
                ]),
        )
        .await;
    assert_eq!(elsewhere.status, 403);

    // Where an image is used names only what the person may see: another author's draft
    // stays unnamed, a published article is named.
    let image = uploaded(&app, 77).await;
    app.post(
        "/api/v1/authors",
        Some(&app.editor),
        &json!({"name": "Someone Else"}),
    )
    .await
    .expect(201);
    for (title, status) in [
        ("A secret merger", "draft"),
        ("Out in the open", "published"),
    ] {
        app.post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": title, "body_markdown": "x", "author": "someone-else",
                    "cover_image": image, "status": status}),
        )
        .await
        .expect(201);
    }
    let library = app
        .send(as_browser(&app, &session, Method::GET, "/desk/media"))
        .await
        .text();
    assert!(library.contains("Out in the open"), "{library}");
    // Each thumbnail has its ThumbHash painted to show while it loads.
    assert!(library.contains("data-placeholder=\"data:image/png;base64,"));
    assert!(!library.contains("A secret merger"), "{library}");
    // A contributor is offered no form to change an image (the API would refuse it).
    assert!(!library.contains("name=\"alt\""));

    // The live preview is the sanitised HTML readers get, with what was removed by line.
    let preview = app
        .send(
            as_browser(&app, &session, Method::POST, "/desk/render").form(&[
                ("csrf", session.csrf.as_str()),
                (
                    "body",
                    "Hello.\n\n<script>alert(1)</script>\n\n<iframe src=\"https://evil.example\"></iframe>",
                ),
            ]),
        )
        .await;
    assert_eq!(preview.status, 200);
    let preview = preview.json();
    let document = preview["document"].as_str().unwrap();
    assert!(document.contains("<p>Hello.</p>"));
    assert!(!document.contains("<script>alert"), "{document}");
    assert!(!document.contains("<iframe"), "{document}");
    let removed: Vec<_> = preview["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["html"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(removed.contains(&(5, "<iframe>".to_owned())), "{removed:?}");
    // Longer than any article may be: told, not rendered.
    let long = "word ".repeat(120_000);
    let preview = app
        .send(
            as_browser(&app, &session, Method::POST, "/desk/render")
                .form(&[("csrf", session.csrf.as_str()), ("body", long.as_str())]),
        )
        .await
        .json();
    assert!(
        preview["problems"][0]
            .as_str()
            .unwrap()
            .contains("longer than"),
        "{preview}"
    );
}

#[tokio::test]
async fn an_editor_schedules_unpublishes_and_hands_out_a_preview_link_through_forms() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    person(&app, "sched@example.com", "editor", None).await;
    let session = crate::people::session(&app, "sched@example.com").await;
    let author = app
        .get("/api/v1/authors/test-author", None)
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = |action: &'static str, publish_at: &str| {
        vec![
            ("csrf", session.csrf.clone()),
            ("title", "Timed".to_owned()),
            ("body", "Soon.".to_owned()),
            ("author", author.clone()),
            (
                "tags",
                "Brand new tag, Another, \"Salt, pepper\"".to_owned(),
            ),
            ("publish_at", publish_at.to_owned()),
            ("action", action.to_owned()),
        ]
    };
    let made = app
        .send(
            as_browser(&app, &session, Method::POST, "/desk/articles/new").form(&form("save", "")),
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let id = made
        .header("location")
        .unwrap()
        .trim_start_matches("/desk/articles/");
    let id = id.split('?').next().unwrap().to_owned();
    let path = format!("/desk/articles/{id}");
    let article = async || {
        app.get(&format!("/api/v1/articles/{id}"), Some(&app.admin))
            .await
            .expect(200)
    };
    // An editor's new tag names make tags.
    let tags: Vec<String> = article().await["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, ["Brand new tag", "Another", "Salt, pepper"]);

    // Scheduled in UTC, a day ahead.
    let when = (chrono::Utc::now() + chrono::TimeDelta::days(1)).format("%Y-%m-%dT%H:%M");
    let version = || version_of(&app, &id);
    let mut scheduled = form("schedule", &when.to_string());
    scheduled.push(("version", version().await));
    let reply = app
        .send(as_browser(&app, &session, Method::POST, &path).form(&scheduled))
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    let now = article().await;
    assert_eq!(now["status"], "scheduled");
    assert!(
        now["published_at"]
            .as_str()
            .unwrap()
            .starts_with(&when.to_string()),
        "{}",
        now["published_at"]
    );
    // A time that is not one is the form's error, nothing saved.
    let mut bad = form("schedule", "tomorrow-ish");
    bad.push(("version", version().await));
    let reply = app
        .send(as_browser(&app, &session, Method::POST, &path).form(&bad))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text());

    // Unpublished: a draft again.
    let mut back = form("unpublish", "");
    back.push(("version", version().await));
    let reply = app
        .send(as_browser(&app, &session, Method::POST, &path).form(&back))
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    assert_eq!(article().await["status"], "draft");

    // A focal point is two numbers from 0 to 1, or none: anything else changes nothing.
    let image = uploaded(&app, 91).await;
    for (x, y) in [
        ("NaN", "0.5"),
        ("inf", "0.5"),
        ("0.2", ""),
        ("1.5", "0.5"),
        ("x", "y"),
    ] {
        let reply = app
            .send(
                as_browser(
                    &app,
                    &session,
                    Method::POST,
                    &format!("/desk/media/{image}"),
                )
                .form(&[
                    ("csrf", session.csrf.as_str()),
                    ("alt", "Changed?"),
                    ("focal_x", x),
                    ("focal_y", y),
                ]),
            )
            .await;
        assert_eq!(reply.status, 422, "{x} {y}: {}", reply.text());
    }
    let unchanged = app
        .get(&format!("/api/v1/images/{image}"), None)
        .await
        .expect(200);
    assert_eq!(unchanged["alt"], Value::Null);

    // A preview link for the page's script: it opens the draft.
    let link = app
        .send(
            as_browser(
                &app,
                &session,
                Method::POST,
                &format!("{path}/preview-link"),
            )
            .form(&[("csrf", session.csrf.as_str())]),
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.text());
    let url = link.json()["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap();
    let previewed = app
        .get(&format!("/api/v1/preview/{token}"), None)
        .await
        .expect(200);
    assert_eq!(previewed["title"], "Timed");
}

#[tokio::test]
async fn schedules_are_typed_in_the_sites_time_zone_and_shown_with_utc() {
    use reqwest::Method;
    let app = TestApp::spawn_with(crate::support::Options {
        site_time_zone: "Europe/Paris".into(),
        ..Default::default()
    })
    .await;
    person(&app, "tz@example.com", "editor", None).await;
    let session = crate::people::session(&app, "tz@example.com").await;
    let created = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Summer", "body_markdown": "Sun.", "author": "test-author"}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/desk/articles/{id}");
    let schedule = async |at: &str| {
        let version = version_of(&app, &id).await;
        app.send(as_browser(&app, &session, Method::POST, &path).form(&[
            ("csrf", session.csrf.as_str()),
            ("version", version.as_str()),
            ("title", "Summer"),
            ("body", "Sun."),
            ("publish_at", at),
            ("action", "schedule"),
        ]))
        .await
    };
    // Noon in Paris in July is 10:00 UTC (summer time).
    assert_eq!(schedule("2027-07-01T12:00").await.status, 303);
    let article = app
        .get(&format!("/api/v1/articles/{id}"), Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(article["published_at"], "2027-07-01T10:00:00Z");
    let page = app
        .send(as_browser(&app, &session, Method::GET, &path))
        .await
        .text();
    assert!(page.contains("Publish at (Europe/Paris time)"), "{page}");
    assert!(page.contains("value=\"2027-07-01T12:00\""), "{page}");
    assert!(
        page.contains("Publishes 2027-07-01 12:00 CEST (2027-07-01 10:00 UTC)"),
        "{page}"
    );
    // 02:30 on the last Sunday of March does not happen in Paris.
    let skipped = schedule("2027-03-28T02:30").await;
    assert_eq!(skipped.status, 422);
    assert!(skipped.text().contains("does not exist in Europe/Paris"));
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let smtp = crate::mail::SmtpServer::start().await;
    let app = TestApp::spawn_with(crate::support::Options {
        smtp_url: Some(smtp.url.clone()),
        // Where mailed links point (plain http: the browser is sent to the test's address).
        public_url: Some("http://news.example.com".into()),
        ..Default::default()
    })
    .await;
    person(&app, "forgetful@example.com", "author", Some("test-author")).await;
    let browser = Browser::open(&app.address, 1280).await;
    browser.goto("/desk/sign-in").await;
    browser
        .client
        .find(Locator::LinkText("Forgot your password?"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.fill("Email", "forgetful@example.com").await;
    browser.submit("Send the link").await;
    browser.wait_for_text("is on its way").await;
    browser.assert_accessible().await;
    // The invitation was mailed first; the reset link second.
    let mails = smtp.wait_for(2).await;
    let reset = mails
        .iter()
        .find(|m| m.text().contains("/desk/reset#token="))
        .expect("a reset link was mailed");
    browser
        .goto(&format!("/desk/reset#token={}", reset.token()))
        .await;
    browser.fill("Password", "a brand new password").await;
    browser.submit("Set password").await;
    browser.wait_for_text("Your password is set").await;
    browser.fill("Email", "forgetful@example.com").await;
    browser.fill("Password", "a brand new password").await;
    browser.submit("Sign in").await;
    assert_eq!(browser.path().await, "/desk");
    // The old password no longer signs in.
    crate::people::sign_in(&app, "forgetful@example.com", PASSWORD)
        .await
        .problem(401);
}

/// Presses `key` on whatever has the focus.
async fn press(browser: &Browser, key: &str) {
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

/// Tabs until the control with `id` has the focus (at most 40 presses).
async fn tab_to(browser: &Browser, id: &str) {
    for _ in 0..40 {
        let focused = browser
            .execute(
                "return document.activeElement && document.activeElement.id;",
                vec![],
            )
            .await;
        if focused == id {
            return;
        }
        press(browser, TAB).await;
    }
    panic!("the keyboard never reached #{id}");
}

#[tokio::test]
async fn the_desk_works_by_keyboard_alone() {
    let app = TestApp::spawn().await;
    person(&app, "keys@example.com", "author", Some("test-author")).await;
    let browser = Browser::open(&app.address, 1280).await;
    browser.goto("/desk/sign-in").await;
    tab_to(&browser, "email").await;
    press(&browser, "keys@example.com").await;
    press(&browser, TAB).await;
    press(&browser, PASSWORD).await;
    press(&browser, ENTER).await;
    browser.wait_for_text("Sign out").await;
    assert_eq!(browser.path().await, "/desk");

    browser.goto("/desk/articles/new").await;
    tab_to(&browser, "title").await;
    press(&browser, "Typed, never clicked").await;
    // The library opens from the keyboard as a dialog, and Escape closes it.
    tab_to(&browser, "add-image").await;
    press(&browser, ENTER).await;
    let open = browser
        .execute("return document.getElementById('library').open;", vec![])
        .await;
    assert_eq!(open, true);
    press(&browser, ESCAPE).await;
    let open = browser
        .execute("return document.getElementById('library').open;", vec![])
        .await;
    assert_eq!(open, false);
    tab_to(&browser, "body").await;
    press(&browser, "Every word from the keyboard.").await;
    // On to the first button of the actions, `Save draft`, and Enter.
    for _ in 0..40 {
        let name = browser
            .execute("return document.activeElement.textContent;", vec![])
            .await;
        if name == "Save draft" {
            break;
        }
        press(&browser, TAB).await;
    }
    press(&browser, ENTER).await;
    browser.wait_for_text("Draft created.").await;
    let list = app
        .get("/api/v1/articles?status=draft&q=keyboard", Some(&app.admin))
        .await
        .expect(200);
    assert_eq!(list["data"][0]["title"], "Typed, never clicked");
}
