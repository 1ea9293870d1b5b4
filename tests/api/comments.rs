use serde_json::{Value, json};

use crate::support::{Options, TestApp};

const EMAIL: &str = "marta.private@example.com";
const AGENT: &str = "SecretBrowser/9.1";

async fn published(app: &TestApp, title: &str) -> String {
    let article = app
        .post(
            "/api/v1/articles",
            Some(&app.editor),
            &json!({"title": title, "author": "test-author", "status": "published"}),
        )
        .await
        .expect(201);
    article["slug"].as_str().unwrap().to_owned()
}

fn form(body: &str) -> Value {
    json!({"author_name": "Marta", "author_email": EMAIL, "author_url": "https://marta.example", "body": body})
}

async fn submit(app: &TestApp, slug: &str, form: &Value) -> crate::support::Reply {
    app.send(
        app.request(
            reqwest::Method::POST,
            &format!("/api/v1/articles/{slug}/comments"),
        )
        .header("User-Agent", AGENT)
        .json(form),
    )
    .await
}

async fn moderate(app: &TestApp, id: &str, status: &str) -> Value {
    app.patch(
        &format!("/api/v1/comments/{id}"),
        Some(&app.editor),
        &json!({"status": status}),
    )
    .await
    .expect(200)
}

#[tokio::test]
async fn the_reply_form_then_moderation_then_public_threads() {
    let app = TestApp::spawn().await;
    let slug = published(&app, "Night tram").await;
    let reply = submit(
        &app,
        &slug,
        &form("I rode it *every* night. [My blog](https://marta.example/tram)"),
    )
    .await;
    let comment = reply.expect(201);
    assert_eq!(comment["status"], "pending");
    assert_eq!(comment["author_name"], "Marta");
    assert!(
        comment["body_html"]
            .as_str()
            .unwrap()
            .contains("<em>every</em>")
    );
    assert!(
        comment["body_html"]
            .as_str()
            .unwrap()
            .contains("rel=\"nofollow ugc noopener\"")
    );
    assert!(comment["avatar_url"].is_null(), "{comment}");
    assert!(!reply.text().contains(EMAIL));
    let id = comment["id"].as_str().unwrap().to_owned();

    // Pending: invisible, not counted.
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    assert_eq!(thread["meta"]["total"], 0);
    assert_eq!(
        app.get(&format!("/api/v1/articles/{slug}"), None)
            .await
            .expect(200)["comment_count"],
        0
    );

    // The queue shows everything to moderators.
    let queue = app
        .get("/api/v1/comments?status=pending", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(queue["data"][0]["author_email"], EMAIL);
    assert_eq!(queue["data"][0]["user_agent"], AGENT);
    assert_eq!(queue["data"][0]["ip"], "127.0.0.1");

    moderate(&app, &id, "approved").await;
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    assert_eq!(thread["meta"]["total"], 1);
    assert_eq!(thread["data"][0]["id"], id.as_str());
    assert_eq!(
        app.get(&format!("/api/v1/articles/{slug}"), None)
            .await
            .expect(200)["comment_count"],
        1
    );

    // A reply thread three deep comes back in one request, nested.
    let mut parent = id.clone();
    let mut ids = vec![id.clone()];
    for depth in 1..=3 {
        let mut reply = form(&format!("reply at depth {depth}"));
        reply["parent_id"] = json!(parent);
        reply["author_email"] = json!(format!("replier{depth}@example.com"));
        let made = submit(&app, &slug, &reply).await.expect(201);
        parent = made["id"].as_str().unwrap().to_owned();
        moderate(&app, &parent, "approved").await;
        ids.push(parent.clone());
    }
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    let deepest = &thread["data"][0]["replies"][0]["replies"][0]["replies"][0];
    assert_eq!(deepest["id"], ids[3].as_str());
    assert_eq!(deepest["body_html"], "<p>reply at depth 3</p>\n");
    let list = app
        .get(&format!("/api/v1/articles/{slug}"), None)
        .await
        .expect(200);
    assert_eq!(list["comment_count"], 4, "replies are counted");

    // Deleting a comment with replies leaves a tombstone; a leaf goes away.
    app.delete(&format!("/api/v1/comments/{}", ids[1]), Some(&app.editor))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/comments/{}", ids[3]), Some(&app.editor))
        .await
        .expect(204);
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    let tombstone = &thread["data"][0]["replies"][0];
    assert_eq!(tombstone["deleted"], true);
    assert_eq!(tombstone["body_html"], "");
    assert_eq!(tombstone["author_name"], "");
    assert_eq!(tombstone["replies"][0]["id"], ids[2].as_str());
    assert!(
        tombstone["replies"][0]["replies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.get(&format!("/api/v1/comments/{}", ids[3]), Some(&app.editor))
        .await
        .problem(404);
    assert_eq!(
        app.get(&format!("/api/v1/articles/{slug}"), None)
            .await
            .expect(200)["comment_count"],
        2
    );
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let app = TestApp::spawn().await;
    let slug = published(&app, "Fields").await;
    let problem = submit(&app, &slug, &json!({"author_name": "", "author_email": "not-an-email", "author_url": "ftp://x", "body": " "})).await.problem(422);
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["author_email", "author_name", "author_url", "body"]
    );
    let missing = submit(&app, &slug, &json!({"author_name": "X", "body": "hi"}))
        .await
        .problem(422);
    assert_eq!(missing["errors"][0]["field"], "author_email");
    let long = submit(&app, &slug, &form(&"x".repeat(10_001)))
        .await
        .problem(422);
    assert_eq!(long["errors"][0]["code"], "too_long");
    let unknown = submit(
        &app,
        &slug,
        &json!({"author_name": "X", "author_email": EMAIL, "body": "hi", "rating": 5}),
    )
    .await
    .problem(422);
    assert_eq!(unknown["errors"][0]["field"], "rating");
    assert!(
        !unknown.to_string().contains(EMAIL) || unknown["errors"][0]["message"].as_str().is_some()
    );
    // Replies must hang on an approved comment of the same article.
    let pending = submit(&app, &slug, &form("parent, still pending"))
        .await
        .expect(201);
    let mut reply = form("reply");
    reply["parent_id"] = pending["id"].clone();
    submit(&app, &slug, &reply).await.problem(422);
    let other = published(&app, "Other").await;
    let elsewhere = submit(
        &app,
        &other,
        &json!({"author_name": "O", "author_email": "o@example.com", "body": "other"}),
    )
    .await
    .expect(201);
    moderate(&app, elsewhere["id"].as_str().unwrap(), "approved").await;
    reply["parent_id"] = elsewhere["id"].clone();
    submit(&app, &slug, &reply).await.problem(422);
    assert_eq!(
        app.get("/api/v1/comments", Some(&app.editor))
            .await
            .expect(200)["meta"]["total"],
        2,
        "nothing else stored"
    );
}

#[tokio::test]
async fn closed_drafts_and_missing_articles() {
    let app = TestApp::spawn().await;
    app.post("/api/v1/articles", Some(&app.editor), &json!({"title": "Closed", "author": "test-author", "status": "published", "comments_open": false}))
        .await
        .expect(201);
    submit(&app, "closed", &form("hello")).await.problem(403);
    app.post(
        "/api/v1/articles",
        Some(&app.editor),
        &json!({"title": "Draft", "author": "test-author"}),
    )
    .await
    .expect(201);
    submit(&app, "draft", &form("hello")).await.problem(404);
    app.get("/api/v1/articles/draft/comments", None)
        .await
        .problem(404);
    submit(&app, "nowhere", &form("hello")).await.problem(404);
}

#[tokio::test]
async fn honeypot_rate_limits_and_duplicates() {
    let app = TestApp::spawn_with(Options {
        comments_per_ip: 3,
        ..Options::default()
    })
    .await;
    let slug = published(&app, "Busy").await;
    let mut bot = form("Buy cheap watches");
    bot["website"] = json!("https://spam.example");
    let trapped = submit(&app, &slug, &bot).await.expect(201);
    assert_eq!(
        trapped["status"], "pending",
        "the bot sees an ordinary answer"
    );
    let stored = app
        .get(
            &format!("/api/v1/comments/{}", trapped["id"].as_str().unwrap()),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(stored["status"], "spam");

    let mut second = form("A real comment");
    second["author_email"] = json!("two@example.com");
    submit(&app, &slug, &second).await.expect(201);
    let duplicate = submit(&app, &slug, &second).await.problem(409);
    assert!(duplicate["detail"].as_str().unwrap().contains("already"));
    let mut third = form("Another one");
    third["author_email"] = json!("three@example.com");
    submit(&app, &slug, &third).await.expect(201);
    let mut fourth = form("One too many");
    fourth["author_email"] = json!("four@example.com");
    let limited = submit(&app, &slug, &fourth).await;
    limited.problem(429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let trusting = TestApp::spawn_with(Options {
        trusted_proxies: "127.0.0.1".into(),
        ..Options::default()
    })
    .await;
    let slug = published(&trusting, "Proxied").await;
    let sent = trusting
        .send(
            trusting
                .request(
                    reqwest::Method::POST,
                    &format!("/api/v1/articles/{slug}/comments"),
                )
                .header("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
                .json(&form("via the balancer")),
        )
        .await
        .expect(201);
    let seen = trusting
        .get(
            &format!("/api/v1/comments/{}", sent["id"].as_str().unwrap()),
            Some(&trusting.editor),
        )
        .await
        .expect(200);
    assert_eq!(seen["ip"], "203.0.113.9");

    let direct = TestApp::spawn().await;
    let slug = published(&direct, "Direct").await;
    let sent = direct
        .send(
            direct
                .request(
                    reqwest::Method::POST,
                    &format!("/api/v1/articles/{slug}/comments"),
                )
                .header("X-Forwarded-For", "203.0.113.9")
                .json(&form("spoofing")),
        )
        .await
        .expect(201);
    let seen = direct
        .get(
            &format!("/api/v1/comments/{}", sent["id"].as_str().unwrap()),
            Some(&direct.editor),
        )
        .await
        .expect(200);
    assert_eq!(
        seen["ip"], "127.0.0.1",
        "an untrusted X-Forwarded-For is ignored"
    );
}

#[tokio::test]
async fn moderation_in_bulk_and_auto_approval() {
    let app = TestApp::spawn_with(Options {
        comment_auto_approve: true,
        ..Options::default()
    })
    .await;
    let slug = published(&app, "Bulk").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut f = form(&format!("comment {i}"));
        f["author_email"] = json!(format!("c{i}@example.com"));
        ids.push(submit(&app, &slug, &f).await.expect(201)["id"].clone());
    }
    let result = app
        .post(
            "/api/v1/comments/bulk-status",
            Some(&app.editor),
            &json!({"ids": ids, "status": "approved"}),
        )
        .await
        .expect(200);
    assert_eq!(result["updated"], 3);
    assert_eq!(
        app.get(&format!("/api/v1/articles/{slug}/comments"), None)
            .await
            .expect(200)["meta"]["total"],
        3
    );
    app.post(
        "/api/v1/comments/bulk-status",
        Some(&app.editor),
        &json!({"ids": [], "status": "spam"}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/comments/bulk-status",
        Some(&app.author),
        &json!({"ids": ids, "status": "spam"}),
    )
    .await
    .problem(403);
    // A commenter with an approved comment is trusted from now on.
    let mut again = form("I am back");
    again["author_email"] = json!("C0@Example.com");
    assert_eq!(
        submit(&app, &slug, &again).await.expect(201)["status"],
        "approved"
    );
    let queue = app
        .get(
            "/api/v1/comments?status=approved&sort=created_at",
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(queue["meta"]["total"], 4);
    let trashed = moderate(&app, ids[0].as_str().unwrap(), "trash").await;
    assert_eq!(trashed["status"], "trash");
    let edited = app
        .patch(
            &format!("/api/v1/comments/{}", ids[1].as_str().unwrap()),
            Some(&app.editor),
            &json!({"body": "Edited <b>by</b> a moderator"}),
        )
        .await
        .expect(200);
    assert_eq!(
        edited["body_html"],
        "<p>Edited &lt;b&gt;by&lt;/b&gt; a moderator</p>\n"
    );
}

#[tokio::test]
async fn commenter_data_never_reaches_the_public() {
    // Behind a trusted proxy, so the stored address is a distinctive one to look for.
    let app = TestApp::spawn_with(Options {
        trusted_proxies: "127.0.0.1".into(),
        ..Options::default()
    })
    .await;
    let slug = published(&app, "Privacy").await;
    let made = app
        .send(
            app.request(
                reqwest::Method::POST,
                &format!("/api/v1/articles/{slug}/comments"),
            )
            .header("User-Agent", AGENT)
            .header("X-Forwarded-For", "203.0.113.77")
            .json(&form("Find me by my email")),
        )
        .await
        .expect(201);
    moderate(&app, made["id"].as_str().unwrap(), "approved").await;
    let mut reply = form("a reply");
    reply["parent_id"] = made["id"].clone();
    reply["author_email"] = json!("second.private@example.com");
    submit(&app, &slug, &reply).await.expect(201);
    for path in [
        format!("/api/v1/articles/{slug}/comments"),
        format!("/api/v1/articles/{slug}"),
        "/api/v1/articles".to_owned(),
        "/api/v1/articles?q=email".to_owned(),
        "/api/v1/articles?q=privacy".to_owned(),
        "/api/v1/authors".to_owned(),
        "/api/v1/tags".to_owned(),
        "/api/v1/images".to_owned(),
        "/api/v1/comments".to_owned(),
        format!("/api/v1/comments/{}", made["id"].as_str().unwrap()),
        "/metrics".to_owned(),
    ] {
        let text = app.get(&path, None).await.text();
        for secret in [EMAIL, "second.private@example.com", "203.0.113.77", AGENT] {
            assert!(!text.contains(secret), "{path} leaks {secret}: {text}");
        }
    }
    // Nor do authors' tokens see it.
    let queue = app.get("/api/v1/comments", Some(&app.author)).await;
    queue.problem(403);
    assert!(!queue.text().contains(EMAIL));
}

#[tokio::test]
async fn a_comment_may_have_several_paragraphs() {
    let app = TestApp::spawn().await;
    let slug = published(&app, "Paragraphs").await;
    let created = submit(&app, &slug, &form("First thought.\r\n\r\nSecond\tthought."))
        .await
        .expect(201);
    let html = created["body_html"].as_str().unwrap();
    assert_eq!(html.matches("<p>").count(), 2, "{html}");
    // A moderator's edit may span lines too.
    let id = created["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/comments/{id}"),
        Some(&app.editor),
        &json!({"body": "Edited.\n\nStill two."}),
    )
    .await
    .expect(200);
    // Other control characters are still refused, and named.
    for bad in ["bell \u{7} here", "escape \u{1b}[31m"] {
        let problem = submit(&app, &slug, &form(bad)).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
    }
}

#[tokio::test]
async fn limits_hold_under_parallel_submissions_and_ipv6_counts_per_64() {
    let app = TestApp::spawn_with(Options {
        comments_per_ip: 5,
        trusted_proxies: "127.0.0.1".into(),
        ..Options::default()
    })
    .await;
    let slug = published(&app, "Rush").await;
    let send = |address: &'static str, email: String, body: String| {
        let request = app
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/articles/{slug}/comments"),
            )
            .header("X-Forwarded-For", address)
            .json(&json!({"author_name": "R", "author_email": email, "body": body}));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // 20 at once from one address, each with its own email: exactly 5 get in.
    let statuses = futures_util::future::join_all((0..20).map(|i| {
        send(
            "203.0.113.7",
            format!("r{i}@example.com"),
            format!("Hello {i}"),
        )
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );

    // Every address of one IPv6 /64 is one sender; another /64 is another.
    let mut v6 = Vec::new();
    for (i, address) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::9"]
        .into_iter()
        .cycle()
        .take(7)
        .enumerate()
    {
        v6.push(send(address, format!("six{i}@example.com"), format!("Six {i}")).await);
    }
    assert_eq!(v6, [201, 201, 201, 201, 201, 429, 429]);
    assert_eq!(
        send(
            "2001:db8:5:7::1",
            "other@example.com".into(),
            "Other".into()
        )
        .await,
        201
    );

    // The same comment sent ten times at once (from ten addresses) is taken once.
    let addresses = [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.5",
        "198.51.100.6",
        "198.51.100.7",
        "198.51.100.8",
        "198.51.100.9",
        "198.51.100.10",
    ];
    let copies = futures_util::future::join_all(
        addresses.map(|a| send(a, "twin@example.com".into(), "Twice?".into())),
    )
    .await;
    assert_eq!(
        copies.iter().filter(|s| **s == 201).count(),
        1,
        "{copies:?}"
    );
    assert_eq!(
        copies.iter().filter(|s| **s == 409).count(),
        9,
        "{copies:?}"
    );
}

/// Submits `body`, approves it, and returns the picture its thread shows.
async fn shown_avatar(app: &TestApp, slug: &str, body: &str) -> String {
    let sent = submit(app, slug, &form(body)).await.expect(201);
    // The sender's own answer has none: it would tell them whose email they typed.
    assert!(sent["avatar_url"].is_null(), "{sent}");
    moderate(app, sent["id"].as_str().unwrap(), "approved").await;
    let threads = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    threads["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == sent["id"])
        .unwrap()["avatar_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn avatars_are_served_by_lede_and_tell_nothing_about_the_email() {
    use sha2::Digest;
    let app = TestApp::spawn().await;
    let slug = published(&app, "Faces").await;
    let url = shown_avatar(&app, &slug, "One").await;
    let second = shown_avatar(&app, &slug, "Two").await;
    let url = url.as_str();
    assert_eq!(url, second, "one commenter, one picture");
    // No public value is a hash of the email alone (Gravatar's MD5 or SHA-256).
    for digest in [
        hex::encode(sha2::Sha256::digest(EMAIL.as_bytes())),
        format!("{:x}", md5_of(EMAIL)),
    ] {
        assert!(!url.contains(&digest[..16]), "{url}");
    }
    let picture = app.fetch(url, &[]).await;
    assert_eq!(picture.status, 200);
    assert_eq!(picture.header("content-type"), Some("image/svg+xml"));
    assert!(picture.text().starts_with("<svg"), "{}", picture.text());
    assert!(
        picture
            .header("cache-control")
            .unwrap()
            .contains("immutable")
    );
    // Another app (another secret) draws the same email under another name.
    let other = TestApp::spawn().await;
    let slug = published(&other, "Faces").await;
    let elsewhere = shown_avatar(&other, &slug, "One").await;
    let name = |u: &str| u.rsplit('/').next().unwrap().to_owned();
    assert_ne!(name(url), name(&elsewhere));
    app.get("/api/v1/avatars/nothex.svg", None)
        .await
        .problem(404);
    app.get("/api/v1/avatars/0123456789abcdef0123456789abcdef.png", None)
        .await
        .problem(404);
    // Gravatar only when asked for.
    let gravatar = TestApp::spawn_with(Options {
        gravatar: true,
        ..Options::default()
    })
    .await;
    let slug = published(&gravatar, "Faces").await;
    let shown = shown_avatar(&gravatar, &slug, "One").await;
    assert!(
        shown.starts_with("https://www.gravatar.com/avatar/"),
        "{shown}"
    );
}

/// MD5, as Gravatar's classic URLs use (written out: the test must not trust lede's code).
fn md5_of(text: &str) -> u128 {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = text.as_bytes().to_vec();
    let bits = (msg.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    u128::from_be_bytes(out)
}

#[tokio::test]
async fn a_chain_of_ten_thousand_replies_answers_in_bounded_pages() {
    let app = TestApp::spawn().await;
    let slug = published(&app, "Chain").await;
    let article = app
        .get(&format!("/api/v1/articles/{slug}"), None)
        .await
        .expect(200);
    let article_id = article["id"].as_str().unwrap();
    // Reply n answers reply n-1: one thread 10,000 deep (written in SQL: 20,000 requests
    // would only slow the test down).
    let id = |n: &str| format!("('00000000-0000-7000-8000-' || lpad(to_hex({n}), 12, '0'))::uuid");
    app.exec(&format!(
        "INSERT INTO comments (id, article_id, parent_id, author_name, author_email, body_markdown, \
         body_html, status, ip, created_at, updated_at) \
         SELECT {}, '{article_id}', CASE WHEN i = 1 THEN NULL ELSE {} END, 'Chain', \
         'chain@example.com', 'Reply ' || i, '<p>Reply ' || i || '</p>', 'approved', '192.0.2.1', \
         now() + i * interval '1 ms', now() FROM generate_series(1, 10000) AS i",
        id("i"),
        id("i - 1")
    ))
    .await;
    // As autovacuum would after such a load: the planner then knows a comment has few
    // replies (without statistics it scans every approved comment at each step).
    app.exec("ANALYZE comments").await;
    let threads = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    assert_eq!(threads["meta"]["total"], 1);
    let root = &threads["data"][0];
    assert_eq!(root["body_html"], "<p>Reply 1</p>");
    // The first 50 replies, nested as they answer one another.
    let mut depth = 0;
    let mut node = root;
    while let Some(child) = node["replies"].get(0) {
        depth += 1;
        assert_eq!(child["body_html"], format!("<p>Reply {}</p>", depth + 1));
        node = child;
    }
    assert_eq!(depth, 50);
    // The rest by the thread's replies_cursor, flat, page by page.
    let cursor = root["replies_cursor"].as_str().unwrap();
    let root_id = root["id"].as_str().unwrap();
    let more = app
        .get(
            &format!("/api/v1/comments/{root_id}/replies?cursor={cursor}&per_page=100"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(more["meta"]["total"], 9999);
    assert_eq!(more["data"][0]["body_html"], "<p>Reply 52</p>");
    assert_eq!(more["data"][99]["body_html"], "<p>Reply 151</p>");
    // Reply 52 answers reply 51, the deepest one the thread showed.
    assert_eq!(more["data"][0]["parent_id"], node["id"]);
    let next = more["meta"]["next_cursor"].as_str().unwrap();
    let after = app
        .get(
            &format!("/api/v1/comments/{root_id}/replies?cursor={next}&per_page=100"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(after["data"][0]["body_html"], "<p>Reply 152</p>");
    // Far down the chain, by page: still an answer.
    let deep = app
        .get(
            &format!("/api/v1/comments/{root_id}/replies?page=100&per_page=100"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(deep["data"].as_array().unwrap().len(), 99);
    assert_eq!(deep["data"][98]["body_html"], "<p>Reply 10000</p>");
    app.get("/healthz", None).await.expect(200);
}

#[tokio::test]
async fn staff_reply_under_their_byline_and_readers_see_them_marked() {
    let app = TestApp::spawn().await;
    let slug = published(&app, "Staff replies").await;
    let question = submit(&app, &slug, &form("When did the line close?"))
        .await
        .expect(201);
    let question_id = question["id"].as_str().unwrap();
    let reply_to = |id: &str| format!("/api/v1/comments/{id}/replies");

    // A pending comment is approved first; readers could not see what a reply answers.
    let pending = app
        .post(
            &reply_to(question_id),
            Some(&app.editor),
            &json!({"body": "In 1997."}),
        )
        .await
        .problem(409);
    assert!(pending["detail"].as_str().unwrap().contains("approve"));
    moderate(&app, question_id, "approved").await;
    // Not on an article readers do not see.
    app.patch(
        &format!("/api/v1/articles/{slug}"),
        Some(&app.editor),
        &json!({"status": "draft"}),
    )
    .await
    .expect(200);
    app.post(
        &reply_to(question_id),
        Some(&app.editor),
        &json!({"body": "x"}),
    )
    .await
    .problem(409);
    app.patch(
        &format!("/api/v1/articles/{slug}"),
        Some(&app.editor),
        &json!({"status": "published"}),
    )
    .await
    .expect(200);

    // Readers, contributors and authors may not reply as staff.
    app.post(&reply_to(question_id), None, &json!({"body": "x"}))
        .await
        .problem(401);
    app.post(
        &reply_to(question_id),
        Some(&app.author),
        &json!({"body": "x"}),
    )
    .await
    .problem(403);
    for bad in [
        json!({"body": ""}),
        json!({"body": "x".repeat(10_001)}),
        json!({}),
    ] {
        app.post(&reply_to(question_id), Some(&app.editor), &bad)
            .await
            .problem(422);
    }
    app.post(
        &reply_to(&uuid::Uuid::now_v7().to_string()),
        Some(&app.editor),
        &json!({"body": "x"}),
    )
    .await
    .problem(404);

    // A signed-in editor with a byline replies under it, even with comments closed.
    crate::people::person(
        &app,
        "desk.editor@example.com",
        "editor",
        Some("test-author"),
    )
    .await;
    let session = crate::people::session(&app, "desk.editor@example.com").await;
    app.patch(
        &format!("/api/v1/articles/{slug}"),
        Some(&app.editor),
        &json!({"comments_open": false}),
    )
    .await
    .expect(200);
    let reply = app
        .send(
            session
                .on(app.request(reqwest::Method::POST, &reply_to(question_id)))
                .json(&json!({"body": "It closed in *1997*."})),
        )
        .await
        .expect(201);
    assert_eq!(reply["staff"], true);
    assert_eq!(reply["author_name"], "Test Author");
    assert_eq!(reply["parent_id"], question["id"]);
    // A token of no one replies under the token's name.
    let by_token = app
        .post(
            &reply_to(question_id),
            Some(&app.admin),
            &json!({"body": "Thank you."}),
        )
        .await
        .expect(201);
    assert_eq!(by_token["staff"], true);
    // The token's own name is not for readers.
    assert_eq!(by_token["author_name"], "The editors");

    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"), None)
        .await
        .expect(200);
    let replies = thread["data"][0]["replies"].as_array().unwrap();
    assert_eq!(thread["data"][0]["staff"], false);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["staff"], true);
    assert_eq!(
        replies[0]["body_html"],
        "<p>It closed in <em>1997</em>.</p>\n"
    );
    assert_eq!(replies[0]["author_name"], "Test Author");
    // A staff reply keeps no address or email for the public either.
    let public = thread.to_string();
    assert!(!public.contains("desk.editor@example.com"));
    let moderated = app
        .get(
            &format!("/api/v1/comments/{}", reply["id"].as_str().unwrap()),
            Some(&app.editor),
        )
        .await
        .expect(200);
    assert_eq!(moderated["staff"], true);
    assert_eq!(moderated["status"], "approved");
    assert_eq!(moderated["ip"], "");
}
