//! What a front-end builds a site from: SEO data and JSON-LD, previous/next, preview links,
//! feeds, the sitemap, related articles, and the comment form without JavaScript.
use chrono::DateTime;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Options, TestApp};

const SITE: &str = "https://www.example.com";

async fn site_app() -> TestApp {
    TestApp::spawn_with(Options {
        site_url: format!("{SITE}/"),
        article_path: "/{yyyy}/{mm}/{slug}".into(),
        site_logo: Some("https://www.example.com/logo.png".into()),
        ..Options::default()
    })
    .await
}

async fn article(app: &TestApp, body: Value) -> Value {
    app.post("/api/v1/articles", Some(&app.editor), &body)
        .await
        .expect(201)
}

fn published(title: &str, at: &str) -> Value {
    json!({"title": title, "author": "test-author", "status": "published", "published_at": at,
           "body_markdown": format!("{title} is about trams and the night.")})
}

fn is_time(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok())
}

fn is_absolute(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[tokio::test]
async fn seo_and_json_ld_describe_the_article_on_the_site() {
    let app = site_app().await;
    let png = {
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(image::ImageBuffer::from_pixel(
            1600,
            900,
            image::Rgb([30, 60, 90]),
        ))
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
        out
    };
    let cover = app
        .upload(Some(&app.editor), png, "c.jpg", "image/jpeg", &[])
        .await
        .expect(201);
    let long_title = format!("The last night tram {}", "and a very long title ".repeat(8));
    let made = article(
        &app,
        json!({"title": long_title, "author": "test-author", "status": "published",
               "published_at": "2025-03-07T09:30:00Z", "tags": ["Cities"],
               "cover_image": cover["id"], "body_markdown": "At 00:41 the last car left."}),
    )
    .await;
    let slug = made["slug"].as_str().unwrap();
    let seo = &made["seo"];
    assert_eq!(seo["title"], made["title"]);
    assert_eq!(seo["description"], "At 00:41 the last car left.");
    assert_eq!(
        seo["canonical_url"],
        format!("{SITE}/2025/03/{slug}"),
        "{seo}"
    );
    let social = cover["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "social" && v["mime_type"] == "image/jpeg")
        .unwrap();
    assert_eq!(seo["og_image"]["url"], social["url"]);
    assert_eq!(seo["og_image"]["width"], 1200);
    assert_eq!(seo["og_image"]["height"], 630);

    // The JSON-LD, as Google's rich results read a NewsArticle: its types, required and
    // recommended properties, and values of the right schema.org types.
    let ld: Value = serde_json::from_str(&serde_json::to_string(&seo["json_ld"]).unwrap()).unwrap();
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "NewsArticle");
    let headline = ld["headline"].as_str().unwrap();
    assert!(
        headline.chars().count() <= 110 && headline.ends_with('…'),
        "{headline}"
    );
    assert!(
        is_time(&ld["datePublished"]) && is_time(&ld["dateModified"]),
        "{ld}"
    );
    assert_eq!(ld["datePublished"], "2025-03-07T09:30:00Z");
    let images = ld["image"].as_array().unwrap();
    assert!(images.len() >= 2 && images.iter().all(is_absolute), "{ld}");
    let authors = ld["author"].as_array().unwrap();
    assert_eq!(authors[0]["@type"], "Person");
    assert_eq!(authors[0]["name"], "Test Author");
    assert_eq!(authors[0]["url"], format!("{SITE}/authors/test-author"));
    assert_eq!(ld["publisher"]["@type"], "Organization");
    assert_eq!(ld["publisher"]["name"], "lede");
    assert_eq!(ld["publisher"]["logo"]["@type"], "ImageObject");
    assert!(is_absolute(&ld["publisher"]["logo"]["url"]));
    assert_eq!(ld["mainEntityOfPage"]["@id"], seo["canonical_url"]);
    assert_eq!(ld["url"], seo["canonical_url"]);
    assert_eq!(ld["keywords"], "Cities");
    assert!(ld["wordCount"].is_i64());
    // Every property is one schema.org defines for NewsArticle (no typos a validator flags).
    let known = [
        "@context",
        "@type",
        "headline",
        "description",
        "url",
        "mainEntityOfPage",
        "datePublished",
        "dateModified",
        "author",
        "publisher",
        "image",
        "keywords",
        "wordCount",
    ];
    for key in ld.as_object().unwrap().keys() {
        assert!(known.contains(&key.as_str()), "unknown property {key}");
    }

    // The overrides win, are validated, and `null` goes back to the derived values.
    let id = made["id"].as_str().unwrap();
    let changed = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            Some(&app.editor),
            &json!({"meta_title": "Line 4's last tram", "meta_description": "Eleven passengers."}),
        )
        .await
        .expect(200);
    assert_eq!(changed["seo"]["title"], "Line 4's last tram");
    assert_eq!(changed["seo"]["description"], "Eleven passengers.");
    assert_eq!(changed["meta_title"], "Line 4's last tram");
    // Kept in the revision, like every saved field.
    let revision = app
        .get(
            &format!("/api/v1/articles/{id}/revisions/{}", changed["version"]),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(revision["meta_description"], "Eleven passengers.");
    let problem = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            Some(&app.editor),
            &json!({"meta_title": "a\u{0}b", "meta_description": "x".repeat(1001)}),
        )
        .await
        .problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["meta_title", "meta_description"], "{problem}");
    let cleared = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            Some(&app.editor),
            &json!({"meta_title": null, "meta_description": null}),
        )
        .await
        .expect(200);
    assert_eq!(cleared["seo"]["title"], made["title"]);
    assert!(cleared["meta_title"].is_null());

    // A page is a WebPage at its own path, without a date.
    let page = article(
        &app,
        json!({"title": "About", "author": "test-author", "status": "published", "kind": "page"}),
    )
    .await;
    assert_eq!(page["seo"]["canonical_url"], format!("{SITE}/about"));
    assert_eq!(page["seo"]["json_ld"]["@type"], "WebPage");
    assert!(page["seo"]["og_image"].is_null());

    // A draft (seen with a token) has no publication date to claim; a title with markup is
    // kept as text (the front-end escapes `<` when it writes the script element).
    let draft = article(
        &app,
        json!({"title": "Soon </script><script>alert(1)</script>", "author": "test-author"}),
    )
    .await;
    assert!(draft["seo"]["json_ld"].get("datePublished").is_none());
    assert_eq!(
        draft["seo"]["json_ld"]["headline"],
        "Soon </script><script>alert(1)</script>"
    );

    // A forged Host changes none of it.
    let forged = app
        .send(
            app.request(Method::GET, &format!("/api/v1/articles/{slug}"))
                .header("Host", "evil.test")
                .header("X-Forwarded-Host", "evil.test"),
        )
        .await;
    assert!(!forged.text().contains("evil.test"));
}

#[tokio::test]
async fn previous_and_next_follow_publication_within_the_kind_and_tag() {
    let app = site_app().await;
    let first = article(&app, published("First", "2025-01-01T00:00:00Z")).await;
    let mut second_body = published("Second", "2025-01-02T00:00:00Z");
    second_body["tags"] = json!(["Trams"]);
    let second = article(&app, second_body).await;
    let mut third_body = published("Third", "2025-01-03T00:00:00Z");
    third_body["tags"] = json!(["Trams"]);
    article(&app, third_body).await;
    article(
        &app,
        json!({"title": "Draft between", "author": "test-author", "published_at": "2025-01-02T12:00:00Z"}),
    )
    .await;
    article(
        &app,
        json!({"title": "A page", "author": "test-author", "status": "published", "kind": "page",
               "published_at": "2025-01-02T06:00:00Z"}),
    )
    .await;

    let middle = app.get("/api/v1/articles/second", None).await.expect(200);
    assert_eq!(middle["previous"]["slug"], "first");
    assert_eq!(middle["next"]["slug"], "third");
    assert_eq!(
        middle["next"]["canonical_url"],
        format!("{SITE}/2025/01/third")
    );
    let oldest = app.get("/api/v1/articles/first", None).await.expect(200);
    assert!(oldest["previous"].is_null() && oldest.get("previous").is_some());
    let in_tag = app
        .get("/api/v1/articles/second?adjacent_tag=trams", None)
        .await
        .expect(200);
    assert!(in_tag["previous"].is_null(), "{}", in_tag["previous"]);
    assert_eq!(in_tag["next"]["slug"], "third");
    app.get("/api/v1/articles/second?adjacent_tag=nope", None)
        .await
        .problem(400);
    // A neighbour within the tag renamed: the tag-scoped answer changes at once too.
    let third = app.get("/api/v1/articles/third", None).await.expect(200);
    app.patch(
        &format!("/api/v1/articles/{}", third["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"title": "Third, renamed"}),
    )
    .await
    .expect(200);
    let in_tag = app
        .get("/api/v1/articles/second?adjacent_tag=trams", None)
        .await
        .expect(200);
    assert_eq!(in_tag["next"]["title"], "Third, renamed");
    // Lists are cards without them.
    let list = app.get("/api/v1/articles", None).await.expect(200);
    assert!(list["data"][0].get("previous").is_none());

    // Publishing one in between changes the kept answer at once.
    article(&app, published("Between", "2025-01-01T12:00:00Z")).await;
    let middle = app.get("/api/v1/articles/second", None).await.expect(200);
    assert_eq!(middle["previous"]["slug"], "between");
    // And so does moving one in time.
    app.patch(
        &format!("/api/v1/articles/{}", first["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"published_at": "2025-01-04T00:00:00Z"}),
    )
    .await
    .expect(200);
    let last = app.get("/api/v1/articles/third", None).await.expect(200);
    assert_eq!(last["next"]["slug"], "first");
    // A neighbour renamed, or unpublished: the kept answer changes at once.
    let first_path = format!("/api/v1/articles/{}", first["id"].as_str().unwrap());
    app.patch(
        &first_path,
        Some(&app.editor),
        &json!({"title": "First, renamed"}),
    )
    .await
    .expect(200);
    let last = app.get("/api/v1/articles/third", None).await.expect(200);
    assert_eq!(last["next"]["title"], "First, renamed");
    app.patch(&first_path, Some(&app.editor), &json!({"status": "draft"}))
        .await
        .expect(200);
    let last = app.get("/api/v1/articles/third", None).await.expect(200);
    assert!(last["next"].is_null(), "{}", last["next"]);
    // A body edit of a neighbour keeps it (nothing it shows changed).
    app.patch(
        &format!("/api/v1/articles/{}", second["id"].as_str().unwrap()),
        Some(&app.editor),
        &json!({"body_markdown": "New words."}),
    )
    .await
    .expect(200);
    let after_write = app.queries().await;
    app.get("/api/v1/articles/third", None).await.expect(200);
    assert_eq!(app.queries().await, after_write, "third was read again");
}

#[tokio::test]
async fn a_preview_link_shows_one_draft_until_it_expires_or_is_revoked() {
    let app = TestApp::spawn().await;
    let draft = app
        .post(
            "/api/v1/articles",
            Some(&app.author),
            &json!({"title": "Secret draft", "body_markdown": "Not yet."}),
        )
        .await
        .expect(201);
    let id = draft["id"].as_str().unwrap();
    let other = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": "Editor's draft", "author": "test-author"}),
        )
        .await
        .expect(201);

    // Who may make one: the article's author, editors, admins; not the public.
    let path = format!("/api/v1/articles/{id}/preview-links");
    app.post(&path, None, &json!({})).await.problem(401);
    let made = app
        .send(app.request(Method::POST, &path).bearer_auth(&app.author))
        .await;
    let link = made.expect(201);
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/preview/{token}"))
    );
    let expires = DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!((expires.timestamp() - in_an_hour.timestamp()).abs() < 10);
    for bad in [
        json!({"expires_in_seconds": 604801}),
        json!({"expires_in_seconds": 5}),
        json!({"expires_in_seconds": "1h"}),
        json!({"expires": 60}),
    ] {
        app.post(&path, Some(&app.editor), &bad).await.problem(422);
    }
    let week = app
        .post(
            &path,
            Some(&app.editor),
            &json!({"expires_in_seconds": 604800}),
        )
        .await
        .expect(201);

    // A published article: not the draft's neighbour, which has none until it is out.
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Already out", "author": "test-author", "status": "published"}),
    )
    .await
    .expect(201);
    // It shows the draft as readers will see it, never kept, never indexed.
    for _ in 0..2 {
        let shown = app.get(&format!("/api/v1/preview/{token}"), None).await;
        let body = shown.expect(200);
        assert_eq!(body["id"], draft["id"]);
        assert_eq!(body["status"], "draft");
        assert!(
            body["previous"].is_null() && body["next"].is_null(),
            "{body}"
        );
        assert_eq!(shown.header("cache-control"), Some("no-store"));
        assert_eq!(shown.header("x-robots-tag"), Some("noindex"));
        assert!(shown.header("surrogate-key").is_none());
    }
    // Whatever answers under a preview link is private, a stray parameter's 400 too.
    for path in [
        format!("/api/v1/preview/{token}?utm=x"),
        "/api/v1/%70review/x".into(),
    ] {
        let reply = app.get(&path, None).await;
        assert!(reply.status.is_client_error(), "{path}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(reply.header("x-robots-tag"), Some("noindex"), "{path}");
    }

    // The draft itself stays private.
    app.get(&format!("/api/v1/articles/{id}"), None)
        .await
        .problem(404);

    // An altered token is nobody's: its article id swapped for another's, or one byte off.
    let (payload, signature) = token.split_once('.').unwrap();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = engine.decode(payload).unwrap();
    let other_id = uuid::Uuid::parse_str(other["id"].as_str().unwrap()).unwrap();
    bytes[16..32].copy_from_slice(other_id.as_bytes());
    let swapped = format!("{}.{signature}", engine.encode(&bytes));
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    for bad in [
        swapped,
        String::from_utf8(flipped).unwrap(),
        "x".into(),
        "a.b".into(),
        "%00".into(),
    ] {
        let reply = app.get(&format!("/api/v1/preview/{bad}"), None).await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 404),
            "{bad}: {}",
            reply.status
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }

    // Another author's token may not make one for this article (it cannot even see it).
    let stranger = app
        .post(
            "/api/v1/authors",
            Some(&app.editor),
            &json!({"name": "Stranger"}),
        )
        .await
        .expect(201);
    let stranger_token = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "s", "role": "author", "author": stranger["id"]}),
        )
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&path, Some(&stranger_token), &json!({}))
        .await
        .problem(404);

    // Expired: the row says so even while the signed time has not come.
    app.exec(&format!(
        "UPDATE preview_links SET expires_at = now() - interval '1 second' WHERE article_id = '{id}' AND expires_at < now() + interval '2 hours'"
    ))
    .await;
    app.get(&format!("/api/v1/preview/{token}"), None)
        .await
        .problem(404);
    let week_token = week["token"].as_str().unwrap();
    app.get(&format!("/api/v1/preview/{week_token}"), None)
        .await
        .expect(200);

    // Revoked: every link of the article stops at once.
    app.delete(&path, Some(&app.author)).await.expect(204);
    app.get(&format!("/api/v1/preview/{week_token}"), None)
        .await
        .problem(404);

    // Revoking the API token that made a link ends the link.
    let made_by = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"name": "temp", "role": "editor"}),
        )
        .await
        .expect(201);
    let temp_link = app
        .post(&path, Some(made_by["secret"].as_str().unwrap()), &json!({}))
        .await
        .expect(201);
    let temp_path = format!("/api/v1/preview/{}", temp_link["token"].as_str().unwrap());
    app.get(&temp_path, None).await.expect(200);
    app.delete(
        &format!("/api/v1/tokens/{}", made_by["id"].as_str().unwrap()),
        Some(&app.admin),
    )
    .await
    .expect(204);
    let ended = app.get(&temp_path, None).await;
    ended.problem(404);
    assert_eq!(ended.header("cache-control"), Some("no-store"));

    // Rotating the secret ends every link.
    let fresh = app
        .post(&path, Some(&app.editor), &json!({}))
        .await
        .expect(201);
    let fresh_token = fresh["token"].as_str().unwrap();
    app.get(&format!("/api/v1/preview/{fresh_token}"), None)
        .await
        .expect(200);
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
        &app.database_url,
    )
    .await
    .unwrap();
    lede::articles::preview::rotate_secret(&mut conn)
        .await
        .unwrap();
    app.get(&format!("/api/v1/preview/{fresh_token}"), None)
        .await
        .problem(404);
}

#[tokio::test]
async fn preview_links_point_at_the_sites_draft_route_when_configured() {
    let app = TestApp::spawn_with(Options {
        site_url: SITE.into(),
        preview_path: Some("/api/draft?token={token}&slug={slug}".into()),
        ..Options::default()
    })
    .await;
    app.post(
        "/api/v1/articles",
        Some(&app.author),
        &json!({"title": "Draft"}),
    )
    .await
    .expect(201);
    let link = app
        .post(
            "/api/v1/articles/draft/preview-links",
            Some(&app.author),
            &json!({}),
        )
        .await
        .expect(201);
    let token = link["token"].as_str().unwrap();
    assert_eq!(
        link["url"],
        format!("{SITE}/api/draft?token={token}&slug=draft")
    );
}

fn parse_feed(bytes: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(bytes).expect("a valid feed")
}

#[tokio::test]
async fn feeds_parse_and_point_at_the_site() {
    let app = site_app().await;
    for (i, title) in ["Alpha", "Beta", "Gamma"].iter().enumerate() {
        let mut body = published(title, &format!("2025-02-0{}T08:00:00Z", i + 1));
        body["tags"] = json!(if i == 0 {
            vec!["Cities"]
        } else {
            vec!["Trams"]
        });
        body["body_markdown"] = json!(format!(
            "{title} <script>alert(1)</script> see [the about page](/about) and [a note](#note).\n\n## Note\n\nA backspace \u{8} from an old import.\n"
        ));
        article(&app, body).await;
    }
    article(
        &app,
        json!({"title": "Hidden draft", "author": "test-author"}),
    )
    .await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    article(&app, published("Not yet", &future)).await;
    article(
        &app,
        json!({"title": "About", "author": "test-author", "status": "published", "kind": "page"}),
    )
    .await;

    let atom = app.get("/feeds/articles.atom", None).await;
    assert_eq!(atom.status.as_u16(), 200);
    assert_eq!(
        atom.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    // A browser shows it with lede's stylesheet, not as raw XML.
    let stylesheet = format!(
        r#"<?xml-stylesheet type="text/css" href="{}"?>"#,
        app.url("/feeds/feed.css")
    );
    assert!(atom.text().contains(&stylesheet), "{}", atom.text());
    let css = app.get("/feeds/feed.css", None).await;
    assert_eq!(css.status.as_u16(), 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains("entry"), "{}", css.text());
    let feed = parse_feed(atom.text().as_bytes());
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, ["Gamma", "Beta", "Alpha"]);
    let entry = &feed.entries[0];
    assert_eq!(entry.links[0].href, format!("{SITE}/2025/02/gamma"));
    assert_eq!(
        entry.published.unwrap().to_rfc3339(),
        "2025-02-03T08:00:00+00:00"
    );
    assert!(entry.updated.is_some());
    assert_eq!(entry.authors[0].name.as_deref(), Some("Test Author"));
    let content = entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        content.contains(&format!("href=\"{SITE}/about\"")),
        "{content}"
    );
    assert!(
        content.contains(&format!("href=\"{SITE}/2025/02/gamma#note\"")),
        "{content}"
    );
    assert!(!content.contains("<script"), "{content}");
    assert!(feed.links.iter().any(|l| l.rel.as_deref() == Some("self")));

    // ETag and 304.
    let etag = atom.header("etag").unwrap().to_owned();
    let again = app
        .send(
            app.request(Method::GET, "/feeds/articles.atom")
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(again.status.as_u16(), 304);

    // JSON Feed 1.1.
    let json = app.get("/feeds/articles.json", None).await;
    assert_eq!(
        json.header("content-type"),
        Some("application/feed+json; charset=utf-8")
    );
    let parsed = parse_feed(json.text().as_bytes());
    assert_eq!(parsed.entries.len(), 3);
    let raw = json.json();
    assert_eq!(raw["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(raw["home_page_url"], format!("{SITE}/"));
    assert!(
        raw["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| is_absolute(&i["url"]) && is_time(&i["date_published"]))
    );

    // A tag's and an author's.
    let trams = parse_feed(
        app.get("/feeds/tags/trams.atom", None)
            .await
            .text()
            .as_bytes(),
    );
    assert_eq!(trams.entries.len(), 2);
    let trams_json = app.get("/feeds/tags/trams.json", None).await.json();
    assert_eq!(trams_json["home_page_url"], format!("{SITE}/tags/trams"));
    let by_author = parse_feed(
        app.get("/feeds/authors/test-author.atom", None)
            .await
            .text()
            .as_bytes(),
    );
    assert_eq!(by_author.entries.len(), 3);
    app.get("/feeds/tags/nope.atom", None).await.problem(404);
    app.get("/feeds/authors/nope.json", None).await.problem(404);

    // However the path is spelt, the feed names itself one way: a stranger's spelling never
    // reaches the next reader's copy.
    let canonical = format!("{}/feeds/tags/trams.atom", app.address);
    let tag_id = app.get("/api/v1/tags/trams", None).await.expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/feeds/tags/%74rams.atom".to_owned(),
        format!("/feeds/tags/{tag_id}.atom"),
        "/feeds/tags/trams.atom".into(),
    ] {
        let feed = parse_feed(app.get(&path, None).await.text().as_bytes());
        let me = feed
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("self"))
            .unwrap();
        assert_eq!(me.href, canonical, "{path}");
        assert_eq!(feed.id, format!("urn:uuid:{tag_id}"));
    }

    // A new article shows in the feed at once.
    article(&app, published("Delta", "2025-02-04T08:00:00Z")).await;
    let feed = parse_feed(
        app.get("/feeds/articles.atom", None)
            .await
            .text()
            .as_bytes(),
    );
    assert_eq!(feed.entries.len(), 4);
}

#[tokio::test]
async fn the_sitemap_pages_every_public_article_by_cursor() {
    let app = site_app().await;
    for i in 0..5 {
        article(
            &app,
            published(&format!("Post {i}"), "2025-04-01T00:00:00Z"),
        )
        .await;
    }
    article(
        &app,
        json!({"title": "About", "author": "test-author", "status": "published", "kind": "page"}),
    )
    .await;
    article(&app, json!({"title": "Draft", "author": "test-author"})).await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    article(&app, published("Later", &future)).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/sitemap?per_page=2".to_owned();
    loop {
        let page = app.get(&path, None).await.expect(200);
        assert_eq!(page["meta"]["total"], 6);
        for entry in page["data"].as_array().unwrap() {
            assert!(is_absolute(&entry["canonical_url"]) && is_time(&entry["updated_at"]));
            assert!(entry["canonical_url"].as_str().unwrap().starts_with(SITE));
            seen.push(entry["slug"].as_str().unwrap().to_owned());
        }
        match page["meta"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/sitemap?per_page=2&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["about", "post-0", "post-1", "post-2", "post-3", "post-4"]
    );
    let all = app.get("/api/v1/sitemap", None).await.expect(200);
    assert_eq!(all["meta"]["per_page"], 1000);
    assert_eq!(all["data"].as_array().unwrap().len(), 6);
    let about = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["slug"] == "about")
        .unwrap();
    assert_eq!(about["kind"], "page");
    assert_eq!(about["canonical_url"], format!("{SITE}/about"));
    app.get("/api/v1/sitemap?per_page=1001", None)
        .await
        .problem(400);
    app.get("/api/v1/sitemap?page=2", None).await.problem(400);
    app.get("/api/v1/sitemap?cursor=nope", None)
        .await
        .problem(400);
}

#[tokio::test]
async fn related_articles_share_tags_and_words_and_are_public() {
    let app = TestApp::spawn().await;
    let body = |words: &str| {
        json!({"title": words, "author": "test-author", "status": "published",
               "body_markdown": format!("{words} {words} {words}.")})
    };
    let mut source = body("Night trams of the harbour city depot");
    source["tags"] = json!(["Trams"]);
    let source = article(&app, source).await;
    let mut shared_tag = body("Bakeries open at dawn");
    shared_tag["tags"] = json!(["Trams"]);
    article(&app, shared_tag).await;
    article(&app, body("The harbour depot trams at night, again")).await;
    article(&app, body("Unrelated gardening notes about tomatoes")).await;
    let mut draft = body("Night trams of the harbour depot, a draft");
    draft["status"] = json!("draft");
    draft["tags"] = json!(["Trams"]);
    article(&app, draft).await;

    let path = format!(
        "/api/v1/articles/{}/related",
        source["id"].as_str().unwrap()
    );
    let related = app.get(&path, None).await.expect(200);
    let slugs: Vec<&str> = related["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"bakeries-open-at-dawn"), "{slugs:?}");
    assert!(
        slugs.contains(&"the-harbour-depot-trams-at-night-again"),
        "{slugs:?}"
    );
    assert!(!slugs.iter().any(|s| s.contains("draft")), "{slugs:?}");
    assert!(
        !slugs.contains(&source["slug"].as_str().unwrap()),
        "{slugs:?}"
    );
    assert!(
        !slugs.contains(&"unrelated-gardening-notes-about-tomatoes"),
        "{slugs:?}"
    );
    assert!(related["data"][0].get("body_html").is_none());
    let one = app.get(&format!("{path}?limit=1"), None).await.expect(200);
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    app.get(&format!("{path}?limit=11"), None)
        .await
        .problem(400);
    app.get(&format!("{path}?limit=0"), None).await.problem(400);
    let named = app
        .get(&format!("{path}?limit=1e9"), None)
        .await
        .problem(400);
    assert!(
        named["detail"].as_str().unwrap().contains("`limit`"),
        "{named}"
    );
    app.get(
        "/api/v1/articles/night-trams-of-the-harbour-depot-a-draft/related",
        None,
    )
    .await
    .problem(404);

    // One of them unpublished: gone from the kept answer at once.
    app.patch(
        "/api/v1/articles/the-harbour-depot-trams-at-night-again",
        Some(&app.editor),
        &json!({"status": "draft"}),
    )
    .await
    .expect(200);
    let related = app.get(&path, None).await.expect(200);
    let slugs: Vec<&str> = related["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert!(
        !slugs.contains(&"the-harbour-depot-trams-at-night-again"),
        "{slugs:?}"
    );
}

async fn form(app: &TestApp, path: &str, body: &str) -> crate::support::Reply {
    app.send(
        app.request(Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn the_comment_form_works_without_javascript() {
    let app = TestApp::spawn_with(Options {
        site_url: SITE.into(),
        comments_per_ip: 7,
        ..Options::default()
    })
    .await;
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Open thread", "author": "test-author", "status": "published"}),
    )
    .await
    .expect(201);
    let path = "/api/v1/articles/open-thread/comments";

    // Stored like a JSON comment; blank fields are absent; back to the page.
    let sent = form(
        &app,
        path,
        "author_name=Marta+K%C3%B6nig&author_email=marta%40example.com&author_url=&parent_id=&website=\
         &body=First+line%0A%0ASecond+%3Cb%3Ebold%3C%2Fb%3E&redirect=%2Fopen-thread%23comments",
    )
    .await;
    assert_eq!(sent.status.as_u16(), 303, "{}", sent.text());
    assert_eq!(
        sent.header("location"),
        Some("https://www.example.com/open-thread#comments")
    );
    let stored = app
        .get("/api/v1/comments?status=pending", Some(&app.editor))
        .await
        .expect(200);
    let comment = &stored["data"][0];
    assert_eq!(comment["author_name"], "Marta König");
    assert_eq!(comment["author_email"], "marta@example.com");
    assert!(comment["author_url"].is_null());
    let html = comment["body_html"].as_str().unwrap();
    assert!(
        html.contains("<p>First line</p>") && html.contains("&lt;b&gt;"),
        "{html}"
    );

    // Dot segments and runs of slashes are resolved first: a clean path on the site, never
    // `//evil.example` for a path-collapsing proxy to read as a host.
    let sent = form(
        &app,
        path,
        "author_name=C&author_email=c%40example.com&body=dots&redirect=%2F..%2F%2Fevil.example",
    )
    .await;
    assert_eq!(sent.status.as_u16(), 303, "{}", sent.text());
    assert_eq!(
        sent.header("location"),
        Some("https://www.example.com/evil.example")
    );

    // Elsewhere than the site: no redirect, the usual JSON.
    for redirect in [
        "https%3A%2F%2Fevil.test%2F",
        "%2F%2Fevil.test%2Fx",
        "%2F%5Cevil.test",
        "javascript%3Aalert(1)",
    ] {
        let sent = form(
            &app,
            path,
            &format!(
                "author_name=B&author_email=b%40example.com&body=hi+{redirect}&redirect={redirect}"
            ),
        )
        .await;
        assert_eq!(sent.status.as_u16(), 201, "{redirect}: {}", sent.text());
        assert!(
            sent.header("location")
                .unwrap()
                .contains("/api/v1/articles/")
        );
        assert_eq!(sent.json()["status"], "pending");
    }

    // A script's JSON with a `redirect` gets its JSON answer: redirects are for browsers.
    let scripted = app
        .post(
            path,
            None,
            &json!({"author_name": "S", "author_email": "s@example.com", "body": "json",
                    "redirect": "/open-thread"}),
        )
        .await;
    assert_eq!(scripted.status.as_u16(), 201, "{}", scripted.text());

    // Bad forms get problem+json naming what is wrong.
    let unknown = form(
        &app,
        path,
        "author_name=A&author_email=a%40example.com&body=x&color=red",
    )
    .await;
    assert_eq!(unknown.problem(422)["errors"][0]["field"], "color");
    form(&app, path, "author_name=A&body=%FF%FE")
        .await
        .problem(400);
    form(&app, path, "author_name=A&author_name=B")
        .await
        .problem(400);
    form(&app, path, "author_name=&author_name=B")
        .await
        .problem(400);
    form(
        &app,
        path,
        "author_name=A%ZZ&author_email=a%40example.com&body=x",
    )
    .await
    .problem(400);
    form(&app, path, "").await.problem(400);
    let missing = form(&app, path, "author_name=A").await.problem(422);
    assert!(
        missing["errors"].as_array().unwrap().len() >= 2,
        "{missing}"
    );

    // Rate limited like JSON: the same address has used up its 7.
    let limited = form(
        &app,
        path,
        "author_name=C&author_email=c%40example.com&body=again",
    )
    .await;
    limited.problem(429);
    assert!(limited.header("retry-after").is_some());
    let json_too = app
        .post(
            path,
            None,
            &json!({"author_name": "D", "author_email": "d@example.com", "body": "json"}),
        )
        .await;
    json_too.problem(429);
}

#[tokio::test]
async fn related_articles_answer_while_the_index_holds_deleted_articles() {
    // Articles written together share a segment of the search index; deleted, they stay
    // in it (marked deleted) until segments merge. tantivy's more-like-this counts a word's
    // documents with those and asserted they were no more than the live ones: it panicked
    // (found by the fuzzer), and related articles answered 503.
    let app = TestApp::spawn().await;
    let operations: Vec<serde_json::Value> = (0..8)
        .map(|n| {
            json!({"method": "POST", "path": "/api/v1/articles", "body": {
                "title": format!("Harbour lights {n}"), "author": "test-author",
                "status": "published", "tags": ["Harbours"],
                "body_markdown": "Harbour lanterns, harbour ferries, lanterns and ferries."}})
        })
        .collect();
    let made = app
        .post(
            "/api/v1/batch",
            Some(&app.editor),
            &json!({"operations": operations}),
        )
        .await
        .expect(200);
    let ids: Vec<String> = made["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"]["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids[2..] {
        app.delete(&format!("/api/v1/articles/{id}"), Some(&app.editor))
            .await
            .expect(204);
    }
    let related = app
        .get(&format!("/api/v1/articles/{}/related", ids[0]), None)
        .await
        .expect(200);
    assert_eq!(related["data"].as_array().unwrap().len(), 1, "{related}");
}
