//! `lede import wordpress` as an operator runs it: the binary, on the app's database and
//! media folder, with exports written here (both namespace spellings and the odd posts real
//! sites have), images from an uploads folder and from a web server; then read back over
//! the API as clients see it.
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::support::TestApp;

fn image_bytes(rgb: [u8; 3], format: image::ImageFormat) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(80, 60, |x, y| {
        image::Rgb([
            rgb[0].wrapping_add(x as u8),
            rgb[1].wrapping_add(y as u8),
            rgb[2],
        ])
    }));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// A web server for images a post shows from the web: `/remote.png`; anything else is 404.
async fn image_server() -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let png = web::Bytes::from(image_bytes([200, 30, 30], image::ImageFormat::Png));
    let server = HttpServer::new(move || {
        let png = png.clone();
        App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
            let png = png.clone();
            async move {
                if req.path() == "/remote.png" {
                    HttpResponse::Ok().content_type("image/png").body(png)
                } else {
                    HttpResponse::NotFound().finish()
                }
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (address, handle)
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("lede-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Runs `lede import wordpress <args>` against the app's database and media folder.
async fn import(app: &TestApp, args: &[&str], data: &Path) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lede"));
    command
        .args(["import", "wordpress"])
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("LEDE_DATA_DIR", data)
        .env(
            "LEDE_STORAGE_URL",
            format!("file://{}", app.media_dir.display()),
        )
        .env("LEDE_LOG", "warn");
    command.output().await.expect("run lede import")
}

/// A run's summary as the real run words it (a dry run says "would be created").
fn summary_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .replace("would be ", "")
        .lines()
        .filter(|line| !line.starts_with("Nothing changed"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn wxr(namespace: &str, channel: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="{namespace}excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="{namespace}"
>
<channel>
	<title>Harbour Notes</title>
	<link>https://harbour.example</link>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>https://harbour.example</wp:base_site_url>
	<wp:base_blog_url>https://harbour.example</wp:base_blog_url>
{channel}
</channel>
</rss>
"#
    )
}

struct Post<'a> {
    id: i64,
    title: &'a str,
    name: &'a str,
    status: &'a str,
    kind: &'a str,
    date_gmt: &'a str,
    content: &'a str,
    extra: String,
}

impl Default for Post<'_> {
    fn default() -> Self {
        Post {
            id: 0,
            title: "",
            name: "",
            status: "publish",
            kind: "post",
            date_gmt: "2024-03-01 09:30:00",
            content: "",
            extra: String::new(),
        }
    }
}

fn item(post: Post) -> String {
    format!(
        r#"<item>
		<title><![CDATA[{title}]]></title>
		<dc:creator><![CDATA[kim]]></dc:creator>
		<content:encoded><![CDATA[{content}]]></content:encoded>
		<excerpt:encoded><![CDATA[]]></excerpt:encoded>
		<wp:post_id>{id}</wp:post_id>
		<wp:post_date_gmt><![CDATA[{date}]]></wp:post_date_gmt>
		<wp:comment_status><![CDATA[open]]></wp:comment_status>
		<wp:post_name><![CDATA[{name}]]></wp:post_name>
		<wp:status><![CDATA[{status}]]></wp:status>
		<wp:post_type><![CDATA[{kind}]]></wp:post_type>
		<wp:post_password><![CDATA[]]></wp:post_password>
		{extra}
	</item>"#,
        title = post.title,
        content = post.content,
        id = post.id,
        date = post.date_gmt,
        name = post.name,
        status = post.status,
        kind = post.kind,
        extra = post.extra,
    )
}

fn attachment(id: i64, url: &str, alt: &str, caption: &str) -> String {
    item(Post {
        id,
        title: "photo",
        name: "photo",
        status: "inherit",
        kind: "attachment",
        extra: format!(
            "<wp:attachment_url><![CDATA[{url}]]></wp:attachment_url>\
             <wp:postmeta><wp:meta_key><![CDATA[_wp_attachment_image_alt]]></wp:meta_key>\
             <wp:meta_value><![CDATA[{alt}]]></wp:meta_value></wp:postmeta>"
        ),
        ..Post::default()
    })
    .replace(
        "<excerpt:encoded><![CDATA[]]>",
        &format!("<excerpt:encoded><![CDATA[{caption}]]>"),
    )
}

fn comment(id: i64, parent: i64, approved: &str, kind: &str) -> String {
    format!(
        r#"<wp:comment>
			<wp:comment_id>{id}</wp:comment_id>
			<wp:comment_author><![CDATA[Reader {id}]]></wp:comment_author>
			<wp:comment_author_email><![CDATA[reader{id}@mail.example]]></wp:comment_author_email>
			<wp:comment_author_url>https://reader{id}.example</wp:comment_author_url>
			<wp:comment_author_IP><![CDATA[203.0.113.{id}]]></wp:comment_author_IP>
			<wp:comment_date_gmt><![CDATA[2024-03-0{day} 10:00:00]]></wp:comment_date_gmt>
			<wp:comment_content><![CDATA[Reply {id} <script>alert(1)</script>
second line]]></wp:comment_content>
			<wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>
			<wp:comment_type><![CDATA[{kind}]]></wp:comment_type>
			<wp:comment_parent>{parent}</wp:comment_parent>
		</wp:comment>"#,
        day = 1 + id % 9,
    )
}

/// The site: a classic post with a captioned image, a 10-level thread, a pending comment,
/// a ping and spam; a block-editor post in Japanese with a missing image and a gallery
/// (one image from the uploads folder, one from the web); a post without title or content;
/// a password-protected one; a scheduled one; a draft without slug; a page; a menu item.
fn site(remote: &str) -> String {
    let upload = |file: &str| format!("https://harbour.example/wp-content/uploads/2024/03/{file}");
    let mut thread: Vec<String> = (1..=10)
        .map(|id| comment(id, id - 1, "1", "comment"))
        .collect();
    thread.push(comment(11, 0, "0", "comment"));
    thread.push(comment(12, 0, "1", "pingback"));
    thread.push(comment(13, 0, "spam", ""));
    let classic = format!(
        "The harbour opened in 1871.\nIt still runs.\n\n\
         [caption id=\"attachment_100\" align=\"alignnone\" width=\"300\"]<a href=\"{full}\">\
         <img class=\"size-medium wp-image-100\" src=\"{medium}\" alt=\"\" width=\"300\" height=\"200\" /></a> \
         The old pier at dawn[/caption]\n\n<h2>The cranes</h2>\n\nSQL '; DROP TABLE articles; -- stays text.",
        full = upload("pier.jpg"),
        medium = upload("pier-300x200.jpg"),
    );
    let blocks = format!(
        "<!-- wp:heading --><h2 class=\"wp-block-heading\">夏の港</h2><!-- /wp:heading -->\
         <!-- wp:paragraph --><p>Ein <em>heißer</em> Tag.</p><!-- /wp:paragraph -->\
         <!-- wp:image {{\"id\":999}} --><figure class=\"wp-block-image\"><img src=\"{remote}/gone.jpg\" \
         alt=\"\" class=\"wp-image-999\"/><figcaption class=\"wp-element-caption\">Lost photo</figcaption>\
         </figure><!-- /wp:image -->\
         <!-- wp:gallery {{\"linkTo\":\"none\"}} --><figure class=\"wp-block-gallery has-nested-images\">\
         <!-- wp:image {{\"id\":101}} --><figure class=\"wp-block-image\"><img src=\"{boats}\" alt=\"Boats\" \
         class=\"wp-image-101\"/></figure><!-- /wp:image -->\
         <!-- wp:image --><figure class=\"wp-block-image\"><img src=\"{remote}/remote.png\" alt=\"Red\"/>\
         <figcaption>From the web</figcaption></figure><!-- /wp:image --></figure><!-- /wp:gallery -->",
        boats = upload("boats-1024x768.png"),
    );
    let posts = [
        item(Post {
            id: 10,
            title: "The <em>harbour</em> &amp; its cranes",
            name: "the-harbour",
            content: &classic,
            extra: format!(
                "<category domain=\"category\" nicename=\"news\"><![CDATA[News]]></category>\
                 <category domain=\"post_tag\" nicename=\"cafe\"><![CDATA[Café]]></category>\
                 <wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>100</wp:meta_value></wp:postmeta>\
                 {}",
                thread.join("\n")
            ),
            ..Post::default()
        }),
        item(Post {
            id: 11,
            title: "日本の夏",
            name: "%e6%97%a5%e6%9c%ac%e3%81%ae%e5%a4%8f",
            content: &blocks,
            ..Post::default()
        }),
        item(Post {
            id: 12,
            ..Post::default()
        }),
        item(Post {
            id: 13,
            title: "Members only",
            name: "members-only",
            content: "<p>Secret</p>",
            ..Post::default()
        })
        .replace(
            "<wp:post_password><![CDATA[]]>",
            "<wp:post_password><![CDATA[hunter2]]>",
        ),
        item(Post {
            id: 14,
            title: "Coming in 2031",
            name: "coming",
            status: "future",
            date_gmt: "2031-01-01 08:00:00",
            content: "<p>Soon</p>",
            ..Post::default()
        }),
        item(Post {
            id: 15,
            title: "Draft idea",
            status: "draft",
            date_gmt: "0000-00-00 00:00:00",
            content: "Notes",
            ..Post::default()
        }),
        item(Post {
            id: 16,
            title: "About us",
            name: "about",
            kind: "page",
            content: "<p>We write about harbours.</p>",
            ..Post::default()
        }),
        item(Post {
            id: 17,
            title: "Menu",
            kind: "nav_menu_item",
            ..Post::default()
        }),
        attachment(100, &upload("pier.jpg"), "A pier at dawn", "The old pier"),
        attachment(101, &upload("boats.png"), "Boats in the harbour", ""),
    ];
    wxr(
        "https://wordpress.org/export/1.2/",
        &format!(
            "<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[kim]]></wp:author_login>\
             <wp:author_email><![CDATA[kim@harbour.example]]></wp:author_email>\
             <wp:author_display_name><![CDATA[Kim Li]]></wp:author_display_name></wp:author>\n\
             <wp:category><wp:term_id>2</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename>\
             <wp:cat_name><![CDATA[News]]></wp:cat_name></wp:category>\n{}",
            posts.join("\n")
        ),
    )
}

async fn slug_of(app: &TestApp, external_id: &str) -> String {
    app.sql_text(&format!(
        "SELECT slug FROM articles WHERE external_id = '{external_id}'"
    ))
    .await
    .pop()
    .unwrap_or_else(|| panic!("{external_id} was not imported"))
}

/// Every comment in a thread, with its depth.
fn depths(comments: &[Value], depth: usize, out: &mut Vec<usize>) {
    for comment in comments {
        out.push(depth);
        depths(comment["replies"].as_array().unwrap(), depth + 1, out);
    }
}

/// What the import wrote, counted; a second run must leave every count as it is.
async fn counts(app: &TestApp) -> Vec<String> {
    app.sql_text(
        "SELECT concat_ws(' ', (SELECT count(*) FROM articles), (SELECT count(*) FROM article_revisions), \
         (SELECT count(*) FROM comments), (SELECT count(*) FROM images), (SELECT count(*) FROM tags), \
         (SELECT count(*) FROM authors), (SELECT max(updated_at) FROM articles))",
    )
    .await
}

#[tokio::test]
async fn a_wordpress_site_comes_over_whole_and_a_second_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let (remote, server) = image_server().await;
    let dir = scratch("site");
    let uploads = dir.0.join("uploads/2024/03");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(
        uploads.join("pier.jpg"),
        image_bytes([20, 60, 120], image::ImageFormat::Jpeg),
    )
    .unwrap();
    std::fs::write(
        uploads.join("boats.png"),
        image_bytes([10, 140, 60], image::ImageFormat::Png),
    )
    .unwrap();
    let file = dir.0.join("site.xml");
    std::fs::write(&file, site(&remote)).unwrap();
    let uploads_arg = dir.0.join("uploads");
    // The image server listens on 127.0.0.1: private addresses are allowed for this site.
    let args = [
        file.to_str().unwrap(),
        "--uploads",
        uploads_arg.to_str().unwrap(),
        "--fetch-private",
    ];

    // A dry run writes nothing, and says what the real run then says.
    let before = counts(&app).await;
    let dry_args = [&args[..], &["--dry-run"]].concat();
    let dry = import(&app, &dry_args, &dir.0).await;
    assert!(dry.status.success(), "{}", said(&dry));
    assert!(said(&dry).contains("6 would be created"), "{}", said(&dry));
    assert_eq!(counts(&app).await, before);

    let run = import(&app, &args, &dir.0).await;
    let report = said(&run);
    assert!(run.status.success(), "{report}");
    assert_eq!(summary_of(&dry), summary_of(&run));
    assert!(report.contains("articles: 6 created"), "{report}");
    assert!(report.contains("pages: 1 created"), "{report}");
    assert!(report.contains("comments: 12 created"), "{report}");
    assert!(report.contains("images: 3 created"), "{report}");
    assert!(
        report.contains("1 item(s) of type `nav_menu_item`"),
        "{report}"
    );
    assert!(report.contains("password-protected"), "{report}");
    assert!(report.contains("gone.jpg"), "{report}");
    assert!(report.contains("1 pingback(s)"), "{report}");

    // The classic post: plain title, slug and date kept, tags, cover, captioned figure.
    let post = app
        .get("/api/v1/articles/the-harbour", None)
        .await
        .expect(200);
    assert_eq!(post["title"], "The harbour & its cranes");
    assert_eq!(post["published_at"], "2024-03-01T09:30:00Z");
    assert_eq!(post["external_id"], "wp:10");
    assert_eq!(post["author"]["name"], "Kim Li");
    assert!(!post.to_string().contains("kim@harbour.example"));
    let tags: Vec<&str> = post["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["news", "cafe"]);
    assert_eq!(post["tags"][1]["name"], "Café");
    assert_eq!(post["cover_image"]["alt"], "A pier at dawn");
    let html = post["body_html"].as_str().unwrap();
    assert!(html.contains("<p>The harbour opened in 1871.<br"), "{html}");
    assert!(html.contains("The old pier at dawn</figcaption>"), "{html}");
    assert!(html.contains("alt=\"A pier at dawn\""), "{html}");
    assert!(
        html.contains("SQL &#x27;; DROP TABLE articles; -- stays text")
            || html.contains("SQL '; DROP TABLE articles; -- stays text"),
        "{html}"
    );
    assert_eq!(post["toc"][0]["text"], "The cranes");
    assert_eq!(post["comment_count"], 10);

    // Its thread: ten levels of approved replies; pending, spam and pings are not public.
    let thread = app
        .get("/api/v1/articles/the-harbour/comments", None)
        .await
        .expect(200);
    let mut seen = Vec::new();
    depths(thread["data"].as_array().unwrap(), 1, &mut seen);
    assert_eq!(seen.len(), 10, "{thread}");
    assert_eq!(seen.iter().max(), Some(&10), "{thread}");
    let text = thread.to_string();
    assert!(
        !text.contains("mail.example") && !text.contains("203.0.113"),
        "{text}"
    );
    assert!(!text.contains("<script>"), "{text}");
    let pending = app
        .get("/api/v1/comments?status=pending", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(pending["data"].as_array().unwrap().len(), 1, "{pending}");
    let spam = app
        .get("/api/v1/comments?status=spam", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(spam["data"].as_array().unwrap().len(), 1, "{spam}");
    // Imported comments are not news: no webhook hears of them.
    let announced = "SELECT count(*) FROM changes WHERE announce LIKE 'comment.%'";
    assert_eq!(app.sql_text(announced).await, ["0"]);

    // The block-editor post: a unicode slug made ASCII, headings, the missing image's
    // caption kept, a gallery of an uploaded and a fetched image.
    let slug = slug_of(&app, "wp:11").await;
    assert!(slug.starts_with("ri-ben"), "{slug}");
    let blocks = app
        .get(&format!("/api/v1/articles/{slug}"), None)
        .await
        .expect(200);
    assert_eq!(blocks["title"], "日本の夏");
    let html = blocks["body_html"].as_str().unwrap();
    assert!(
        html.contains("夏の港</h2>") && html.contains("<em>heißer</em>"),
        "{html}"
    );
    assert!(html.contains("<p>Lost photo</p>"), "{html}");
    assert_eq!(html.matches("<figure").count(), 2, "{html}");
    assert!(
        html.contains("alt=\"Boats\"") && html.contains("From the web</figcaption>"),
        "{html}"
    );
    assert!(!html.contains("wp:"), "{html}");

    // The odd ones.
    let untitled = app
        .get(
            &format!("/api/v1/articles/{}", slug_of(&app, "wp:12").await),
            None,
        )
        .await
        .expect(200);
    assert_eq!(untitled["title"], "Untitled post 12");
    app.get("/api/v1/articles/members-only", None)
        .await
        .problem(404);
    let members = app
        .get("/api/v1/articles/members-only", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(members["status"], "draft");
    app.get("/api/v1/articles/coming", None).await.problem(404);
    let coming = app
        .get("/api/v1/articles/coming", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(
        (coming["status"].as_str(), coming["published_at"].as_str()),
        (Some("scheduled"), Some("2031-01-01T08:00:00Z"))
    );
    let draft = app
        .get("/api/v1/articles/draft-idea", Some(&app.editor))
        .await
        .expect(200);
    assert_eq!(draft["status"], "draft");
    let pages = app
        .get("/api/v1/articles?kind=page", None)
        .await
        .expect(200);
    assert_eq!(pages["data"][0]["slug"], "about");
    let listed = app.get("/api/v1/articles", None).await.expect(200);
    assert_eq!(
        listed["meta"]["total"], 3,
        "the harbour, 日本の夏, untitled: {listed}"
    );

    // Again: nothing changes, and it says so, even though what lede made of the posts
    // changed in between (an image's AVIF and WebP variants appear after its first use, so
    // its figure's HTML differs): what was imported is compared, not what was derived.
    app.exec("UPDATE articles SET body_html = body_html || '<!-- older rendering -->'")
        .await;
    let after_first = counts(&app).await;
    let dry_again = import(&app, &dry_args, &dir.0).await;
    assert!(
        said(&dry_again).contains("articles: 0 would be created, 0 would be updated, 6 unchanged"),
        "{}",
        said(&dry_again)
    );
    assert_eq!(counts(&app).await, after_first);
    let again = import(&app, &args, &dir.0).await;
    assert_eq!(summary_of(&dry_again), summary_of(&again));
    let report = said(&again);
    assert!(again.status.success(), "{report}");
    assert!(report.contains("Nothing changed"), "{report}");
    assert!(
        report.contains("articles: 0 created, 0 updated, 6 unchanged"),
        "{report}"
    );
    assert_eq!(counts(&app).await, after_first);

    // With the old site gone, a run keeps the images it had (nothing is stripped).
    server.stop(false).await;
    let gone = import(&app, &args, &dir.0).await;
    let report = said(&gone);
    assert!(
        report.contains("left as it is: an image it shows could not be had"),
        "{report}"
    );
    assert_eq!(counts(&app).await, after_first);
}

#[tokio::test]
async fn an_older_export_imports_and_a_broken_one_writes_nothing() {
    let app = TestApp::spawn().await;
    let dir = scratch("older");
    // WordPress before 4.x, self-hosted: WXR 1.1 on http.
    let older = wxr(
        "http://wordpress.org/export/1.1/",
        &item(Post {
            id: 5,
            title: "Old times",
            name: "old-times",
            content: "<p>From 2012.</p>",
            ..Post::default()
        }),
    );
    // A post cannot make lede fetch from inside the network unless told to.
    let inside = wxr(
        "http://wordpress.org/export/1.1/",
        &item(Post {
            id: 6,
            title: "Inside",
            name: "inside",
            content: "<img src=\"http://169.254.169.254/latest/meta-data\"><img src=\"http://127.0.0.1:9/x.png\">",
            ..Post::default()
        }),
    );
    let inside_file = dir.0.join("inside.xml");
    std::fs::write(&inside_file, &inside).unwrap();
    let run = import(&app, &[inside_file.to_str().unwrap()], &dir.0).await;
    let report = said(&run);
    assert!(run.status.success(), "{report}");
    assert!(
        report.contains("169.254.169.254 is not a public address"),
        "{report}"
    );
    assert!(
        report.contains("127.0.0.1 is not a public address"),
        "{report}"
    );
    let file = dir.0.join("older.xml");
    std::fs::write(&file, &older).unwrap();
    let run = import(&app, &[file.to_str().unwrap()], &dir.0).await;
    assert!(run.status.success(), "{}", said(&run));
    let post = app
        .get("/api/v1/articles/old-times", None)
        .await
        .expect(200);
    assert_eq!(post["author"]["slug"], "kim");

    let before = counts(&app).await;
    let broken = older.replace(
        "<p>From 2012.</p>]]></content:encoded>",
        "<p>From 2012.</p>]]></content>",
    );
    let broken_file = dir.0.join("broken.xml");
    std::fs::write(&broken_file, &broken).unwrap();
    let refused = import(&app, &[broken_file.to_str().unwrap()], &dir.0).await;
    assert!(!refused.status.success());
    let report = said(&refused);
    let line = broken
        .lines()
        .position(|l| l.contains("</content>"))
        .unwrap()
        + 1;
    assert!(
        report.contains(&format!("line {line}:")),
        "line {line}: {report}"
    );
    // A truncated file and one that is not WordPress's are refused the same way.
    std::fs::write(&broken_file, &older[..older.len() / 2]).unwrap();
    let truncated = import(&app, &[broken_file.to_str().unwrap()], &dir.0).await;
    assert!(!truncated.status.success());
    assert!(said(&truncated).contains(": line "), "{}", said(&truncated));
    std::fs::write(&broken_file, "<rss><channel><item/></channel></rss>").unwrap();
    let foreign = import(&app, &[broken_file.to_str().unwrap()], &dir.0).await;
    assert!(
        said(&foreign).contains("not a WordPress export"),
        "{}",
        said(&foreign)
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn odd_exports_lose_nothing_and_a_rerun_keeps_edits_made_in_lede() {
    let app = TestApp::spawn().await;
    let dir = scratch("odd");
    let uploads = dir.0.join("uploads/2024/03");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(
        uploads.join("secret.png"),
        image_bytes([1, 2, 3], image::ImageFormat::Png),
    )
    .unwrap();
    let secret = "https://harbour.example/wp-content/uploads/2024/03/secret.png";
    let post = |id: i64, title: &'static str, name: &'static str, content: &'static str| {
        item(Post {
            id,
            title,
            name,
            content,
            ..Post::default()
        })
    };
    let deep = format!("{}deep{}", "<div>".repeat(300), "</div>".repeat(300));
    let deep: &'static str = Box::leak(deep.into_boxed_str());
    let thread = [
        comment(1, 0, "0", ""),
        comment(2, 1, "1", ""),
        comment(3, 2, "1", ""),
    ]
    .join("\n");
    let items = [
        post(0, "No id", "no-id", "<p>x</p>"),
        post(30, "First thirty", "first-thirty", "<p>first</p>"),
        post(30, "Second thirty", "second-thirty", "<p>second</p>"),
        post(31, "About the post", "about", "<p>a post</p>"),
        item(Post {
            id: 32,
            title: "About",
            name: "about",
            kind: "page",
            content: "<p>a page</p>",
            ..Post::default()
        }),
        item(Post {
            id: 33,
            title: "Members",
            name: "members",
            content: "<p><img src=\"https://harbour.example/wp-content/uploads/2024/03/secret.png\"></p>",
            ..Post::default()
        })
        .replace(
            "<wp:post_password><![CDATA[]]>",
            "<wp:post_password><![CDATA[pw]]>",
        ),
        item(Post {
            id: 34,
            title: "Held parent",
            name: "held-parent",
            content: "<p>talk</p>",
            extra: thread,
            ..Post::default()
        }),
        post(35, "Deep", "deep", deep),
        post(36, "Code", "code", "Before\n\n<pre>line one\n\nline two</pre>\n\nAfter"),
        attachment(100, secret, "secret", ""),
    ];
    let file = dir.0.join("odd.xml");
    std::fs::write(
        &file,
        wxr("https://wordpress.org/export/1.2/", &items.join("\n")),
    )
    .unwrap();
    let uploads_arg = dir.0.join("uploads");
    let args = [
        file.to_str().unwrap(),
        "--uploads",
        uploads_arg.to_str().unwrap(),
    ];
    let run = import(&app, &args, &dir.0).await;
    let report = said(&run);
    assert!(run.status.success(), "{report}");
    // Posts without an id of their own are named, never merged into another.
    assert_eq!(
        report.matches("missing or not unique").count(),
        2,
        "{report}"
    );
    assert_eq!(slug_of(&app, "wp:30").await, "first-thirty");
    // A post and a page sharing a slug both come over.
    assert_eq!(slug_of(&app, "wp:31").await, "about");
    assert_eq!(slug_of(&app, "wp:32").await, "about-2");
    // A password-protected post's images are not made public.
    assert_eq!(app.sql_text("SELECT count(*) FROM images").await, ["0"]);
    assert!(report.contains("its images were not imported"), "{report}");
    // An approved reply to a comment held for moderation is shown at the top.
    let thread = app
        .get("/api/v1/articles/held-parent/comments", None)
        .await
        .expect(200);
    assert_eq!(thread["data"].as_array().unwrap().len(), 1, "{thread}");
    assert_eq!(thread["data"][0]["parent_id"], Value::Null);
    assert_eq!(thread["data"][0]["replies"].as_array().unwrap().len(), 1);
    // HTML nested too deep for the converters is refused, and said so.
    assert!(report.contains("nests more than 200"), "{report}");
    // Preformatted text keeps its blank lines.
    let code = app.get("/api/v1/articles/code", None).await.expect(200);
    assert!(
        code["body_html"]
            .as_str()
            .unwrap()
            .contains("line one\n\nline two"),
        "{code}"
    );

    // An article edited in lede since is left as it is by the next run.
    app.patch(
        "/api/v1/articles/first-thirty",
        Some(&app.editor),
        &json!({"title": "Edited in lede"}),
    )
    .await
    .expect(200);
    let again = import(&app, &args, &dir.0).await;
    let report = said(&again);
    assert!(
        report.contains("left as it is: edited in lede since it was imported"),
        "{report}"
    );
    let kept = app
        .get("/api/v1/articles/first-thirty", None)
        .await
        .expect(200);
    assert_eq!(kept["title"], "Edited in lede");
}

/// An export made to hurt (issue 25): each bad post is refused or cleaned and named, and the
/// rest of the import goes on; nothing outside `--uploads` is read.
#[tokio::test]
async fn a_hostile_export_is_refused_item_by_item_and_never_leads_out_of_uploads() {
    let app = TestApp::spawn().await;
    let dir = scratch("hostile");
    let uploads = dir.0.join("uploads/2024/03");
    std::fs::create_dir_all(&uploads).unwrap();
    // A file outside the uploads folder, and a link to it inside.
    let outside = dir.0.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.png"),
        image_bytes([9, 9, 9], image::ImageFormat::Png),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("secret.png"), uploads.join("x.png")).unwrap();
    std::os::unix::fs::symlink(&outside, uploads.join("linked-dir")).unwrap();
    let linked = "https://harbour.example/wp-content/uploads/2024/03/x.png";
    let in_linked_dir = "https://harbour.example/wp-content/uploads/2024/03/linked-dir/secret.png";
    let stray_closes = "<div></span>".repeat(10_000);
    let id_slug = "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";
    let hostile_comment = comment(1, 0, "1", "")
        .replace(
            "https://reader1.example",
            "<![CDATA[http://x/\"><script>alert(1)</script>]]>",
        )
        .replace("Reader 1", "Reader \u{202E}1");
    let items = [
        item(Post {
            id: 40,
            title: "Stray closes",
            name: "stray",
            content: &stray_closes,
            ..Post::default()
        }),
        item(Post {
            id: 41,
            title: "Links",
            name: "links",
            content: "<p><a href=\"javascript:alert(3)\">js</a> <a href=\"JaVaScRiPt:alert(4)\">js2</a> \
                      <a href=\"data:text/html,x\">d</a> <a href=\"vbscript:x\">v</a> \
                      <a href=\"https://ok.example/\">fine</a></p>",
            extra: hostile_comment,
            ..Post::default()
        }),
        item(Post {
            id: 42,
            title: "Linked photo",
            name: "linked-photo",
            content: &format!("<p><img src=\"{linked}\"><img src=\"{in_linked_dir}\"></p>"),
            ..Post::default()
        }),
        item(Post {
            id: 43,
            title: "Id slug",
            name: id_slug,
            content: "<p>slug</p>",
            ..Post::default()
        }),
        attachment(110, linked, "", ""),
    ];
    let file = dir.0.join("hostile.xml");
    std::fs::write(
        &file,
        wxr("http://wordpress.org/export/1.2/", &items.join("\n")),
    )
    .unwrap();
    let uploads_arg = dir.0.join("uploads");
    let args = [
        file.to_str().unwrap(),
        "--uploads",
        uploads_arg.to_str().unwrap(),
    ];

    // The dry run does not crash either, and names the deep post.
    let dry = import(&app, &[&args[..], &["--dry-run"]].concat(), &dir.0).await;
    let report = said(&dry);
    assert!(dry.status.success(), "{report}");
    assert!(report.contains("nests more than 200"), "{report}");

    let run = import(&app, &args, &dir.0).await;
    let report = said(&run);
    assert!(run.status.success(), "{report}");
    assert!(!report.contains("overflow"), "{report}");
    assert!(
        report.contains("post 40") && report.contains("nests more than 200"),
        "{report}"
    );
    // The links' text stays, their targets go, and the summary says so.
    let links = app.get("/api/v1/articles/links", None).await.expect(200);
    let markdown = links["body_markdown"].as_str().unwrap().to_lowercase();
    for gone in ["javascript", "data:", "vbscript"] {
        assert!(!markdown.contains(gone), "{markdown}");
    }
    assert!(
        markdown.contains("js") && markdown.contains("https://ok.example"),
        "{markdown}"
    );
    assert!(report.contains("link target(s)"), "{report}");
    // The comment went through the API's checks: its address normalised as the API stores
    // it (nothing in it can leave an attribute), the name cleaned.
    let comments = app
        .get("/api/v1/articles/links/comments", None)
        .await
        .expect(200);
    let comment = &comments["data"][0];
    assert_eq!(
        comment["author_url"], "http://x/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "{comment}"
    );
    assert_eq!(comment["author_name"], "Reader 1");
    assert!(!comments.to_string().contains("<script>"));
    // Nothing outside the uploads folder was read: no image stored.
    assert!(
        report.contains("leads out of --uploads"),
        "the link is named: {report}"
    );
    assert_eq!(app.sql_text("SELECT count(*) FROM images").await, ["0"]);
    // A slug shaped like an id is renamed, and the rename named.
    let renamed = format!("{id_slug}-1");
    app.get(&format!("/api/v1/articles/{renamed}"), None)
        .await
        .expect(200);
    assert!(report.contains(&format!("became `{renamed}`")), "{report}");
}
