//! The README's tour, run as a newcomer runs it: every command in README order, in one
//! shell, on a fresh server with the demo content, from the checkout; each answer checked
//! against what the comment beside it promises. A command added to the tour without a check
//! here fails this test, and so does one that stops doing what its comment says.
use std::process::Command;

use serde_json::Value;

use crate::cli::{DataDir, free_port, start_logging, stop};

/// What one command of the tour printed, and the HTTP statuses its `curl`s got, in order.
struct Ran {
    command: String,
    out: String,
    statuses: Vec<u16>,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}):\n{}", self.command, self.out))
    }

    fn statuses(&self, expected: &[u16]) {
        assert_eq!(self.statuses, expected, "{}\n{}", self.command, self.out);
    }

    fn shows(&self, text: &str) {
        assert!(
            self.out.contains(text),
            "{}: no {text:?} in\n{}",
            self.command,
            self.out
        );
    }
}

/// The commands of the tour's shell block: comment lines left out, a command continued
/// over lines by a trailing `\` or an open quote.
fn tour(readme: &str) -> Vec<String> {
    let start = readme.find("## A tour of the API").expect("the tour");
    let block = &readme[start..];
    let block = &block[block.find("```sh\n").expect("its shell block") + 6..];
    let block = &block[..block.find("\n```").expect("its end")];
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if !trimmed.ends_with('\\') && !quote_open(&current) {
            commands.push(std::mem::take(&mut current));
        }
    }
    assert!(current.is_empty(), "an unfinished command: {current}");
    commands
}

/// Whether `text` ends inside a quoted string, as the shell reads it (a `#` that starts a
/// word outside quotes starts a comment to the end of the line).
fn quote_open(text: &str) -> bool {
    let (mut single, mut double, mut comment, mut escaped) = (false, false, false, false);
    let mut word_start = true;
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            word_start = true;
            continue;
        }
        match c {
            _ if escaped => escaped = false,
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && word_start => comment = true,
            _ => {}
        }
        word_start = c.is_whitespace();
    }
    single || double
}

/// Runs `commands` in one bash, in order, against `base` (webhooks to `receiver`), and
/// splits what each printed.
fn run(commands: &[String], base: &str, receiver: &str, token: &str) -> Vec<Ran> {
    let home = crate::support::TempDir::new("lede-tour-curl");
    // Every curl also says its status, on stderr, so pipes into jq keep working.
    std::fs::write(
        home.path().join(".curlrc"),
        "write-out = \"%{stderr}@@status %{http_code}\\n\"\n",
    )
    .unwrap();
    let mut script = String::new();
    for (n, command) in commands.iter().enumerate() {
        script.push_str(&format!("echo '@@{n}'; echo '@@{n}' >&2\n{command}\n"));
    }
    script.push_str("echo '@@end'; echo '@@end' >&2\n");
    // The only changes: this server's port, and a receiver of this test's for the front-end
    // the tour subscribes (its name would not resolve here).
    let script = script
        .replace("http://127.0.0.1:8080", base)
        .replace("https://www.example.com/api/revalidate", receiver);
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TOKEN", token)
        .env("CURL_HOME", home.path())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let part = |text: &str, n: usize| -> String {
        let from = text
            .find(&format!("@@{n}\n"))
            .unwrap_or_else(|| panic!("command {n} did not run:\n{stderr}"));
        let rest = &text[from + format!("@@{n}\n").len()..];
        let next = if n + 1 < commands.len() {
            format!("@@{}\n", n + 1)
        } else {
            "@@end\n".to_owned()
        };
        rest[..rest.find(&next).unwrap_or(rest.len())].to_owned()
    };
    (0..commands.len())
        .map(|n| {
            let errors = part(&stderr, n);
            Ran {
                command: commands[n].clone(),
                out: part(&stdout, n),
                statuses: errors
                    .lines()
                    .filter_map(|l| l.strip_prefix("@@status "))
                    .map(|s| s.trim().parse().unwrap_or(0))
                    .collect(),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_readme_tour_runs_in_order_and_does_what_it_says() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-tour-{}", std::process::id())));
    let port = free_port();
    let receiver = crate::webhooks::Receiver::start().await;
    let (child, said, _rest) = start_logging(
        &guard.0,
        port,
        &[("LEDE_LOG", "warn"), ("LEDE_WEBHOOK_ALLOW_PRIVATE", "true")],
    );
    let token = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .expect("the first start's token")
        .to_owned();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let commands = tour(&readme);
    let base = format!("http://127.0.0.1:{port}");
    // A newcomer starts the tour when lede says it is ready: so is all of it, search too.
    assert!(said.contains(", ready in "), "{said}");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200, "lede said it was ready:\n{said}");
    let url = receiver.url.clone();
    let ran = tokio::task::spawn_blocking(move || run(&commands, &base, &url, &token))
        .await
        .unwrap();
    // The tour's ping reached the front-end it subscribed.
    let pinged = receiver.wait_for(1, 30).await;
    assert_eq!(pinged[0].json()["type"], "webhook.ping");
    assert!(stop(child).success());
    let checks = checks();
    for (n, ran) in ran.iter().enumerate() {
        let Some((needle, check)) = checks.get(n) else {
            panic!(
                "no check for the tour's command {n}:\n{}\nstatuses {:?}, printed:\n{}",
                ran.command, ran.statuses, ran.out
            );
        };
        assert!(
            ran.command.contains(needle),
            "check {n} is for `{needle}`, the command is:\n{}",
            ran.command
        );
        check(ran);
    }
    assert_eq!(
        checks.len(),
        ran.len(),
        "checks for commands the tour no longer has"
    );
}

type Check = (&'static str, Box<dyn Fn(&Ran)>);

fn check(needle: &'static str, check: impl Fn(&Ran) + 'static) -> Check {
    (needle, Box::new(check))
}

/// The titles of a list's items.
fn titles(ran: &Ran) -> Vec<String> {
    ran.json()["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: not a list:\n{}", ran.command, ran.out))
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// What each command of the tour promises, in its order.
fn checks() -> Vec<Check> {
    vec![
        check("API=", |r| r.statuses(&[])),
        check(r#""$API/articles"  "#, |r| {
            r.statuses(&[200]);
            // Published ones, newest first, as cards.
            let articles = r.json();
            assert_eq!(
                titles(r),
                [
                    "The last night tram",
                    "Bread at three in the morning",
                    "Six weeks on the Skagerrak",
                    "The storm that came early"
                ]
            );
            assert!(articles["data"][0].get("body_html").is_none());
            assert!(articles["data"][0]["author"]["avatar"]["url"].is_string());
        }),
        check("include=body", |r| {
            r.statuses(&[200]);
            let first = &r.json()["data"][0];
            assert!(first["body_markdown"].is_string() && first["body_html"].is_string());
        }),
        check("jq '.title, .toc, .body_html'", |r| {
            r.statuses(&[200]);
            r.shows("\"The last night tram\"");
            r.shows("\"anchor\": \"why-it-stopped\"");
            r.shows("<figure");
        }),
        check("tag=cities&tag=long-reads&author=ines-marchetti", |r| {
            r.statuses(&[200]);
            assert_eq!(titles(r), ["The last night tram"]);
        }),
        check("q=%22brass%20band%22%20-storm", |r| {
            r.statuses(&[200]);
            r.shows("<mark>brass band</mark>");
        }),
        check("q=tram%20or%20ferry", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["total"], 1);
        }),
        check("published_after=2025-01-01&sort=title", |r| {
            r.statuses(&[200]);
            let page = r.json();
            assert_eq!(titles(r)[0], "Bread at three in the morning");
            assert_eq!(
                page["data"][0].as_object().unwrap().len(),
                2,
                "slug and title"
            );
        }),
        check("status=draft", |r| {
            r.statuses(&[200]);
            assert_eq!(titles(r), ["Notes for a piece on night buses"]);
        }),
        check("status=any", |r| {
            r.statuses(&[200]);
            let all = titles(r);
            assert_eq!(all.len(), 6, "{all:?}");
            assert!(all.contains(&"Notes for a piece on night buses".to_owned()));
        }),
        check(r#""title": "Ferry at dawn""#, |r| {
            r.statuses(&[201]);
            let made = r.json();
            assert_eq!(made["slug"], "ferry-at-dawn");
            assert_eq!(made["toc"][0]["anchor"], "the-crossing");
        }),
        check(r#"{"slug": "the-dawn-ferry"}"#, |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["slug"], "the-dawn-ferry");
        }),
        check("articles/ferry-at-dawn\" | grep", |r| {
            r.statuses(&[301]);
            r.shows("301 Moved Permanently");
            r.shows("/api/v1/articles/the-dawn-ferry");
        }),
        check("the-dawn-ferry/revisions", |r| {
            r.statuses(&[200]);
            let versions = r.json();
            assert_eq!(versions["meta"]["total"], 2);
            assert_eq!(versions["data"][0]["slug"], "the-dawn-ferry");
            assert!(versions["data"][0]["saved_by_name"].is_string());
        }),
        check(r#""title": "Tomorrow""#, |r| {
            r.statuses(&[201]);
            assert_eq!(r.json()["status"], "scheduled");
        }),
        check(r#""body": "Thank you!""#, |r| {
            r.statuses(&[201]);
            let comment = r.json();
            assert_eq!(comment["status"], "pending");
            assert!(comment.get("author_email").is_none(), "never published");
        }),
        check("the-last-night-tram/comments\"      #", |r| {
            r.statuses(&[200]);
            let threads = r.json();
            assert_eq!(threads["data"][0]["author_name"], "Marta");
            assert_eq!(threads["data"][0]["replies"].as_array().unwrap().len(), 50);
            assert!(threads["data"][0]["replies_cursor"].is_string());
            assert!(
                !r.out.contains("Thank you!\\u"),
                "the pending one is not shown"
            );
        }),
        check("THREAD=", |r| r.statuses(&[200])),
        check("MORE=", |r| r.statuses(&[200])),
        check("replies?cursor=$MORE", |r| {
            r.statuses(&[200]);
            assert_eq!(r.out.trim(), "10");
        }),
        check("status=pending\" -H", |r| {
            r.statuses(&[200]);
            let queue = r.json();
            // The demo's pending one, and the tour's.
            assert_eq!(queue["meta"]["total"], 2);
            assert!(
                queue["data"][0]["author_email"].is_string(),
                "editors see it"
            );
        }),
        check("PENDING=", |r| r.statuses(&[200])),
        check("comments/$PENDING", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["status"], "approved");
        }),
        check("bulk-status", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["updated"], 1);
        }),
        check("comments/$THREAD/replies\" -H", |r| {
            r.statuses(&[201]);
            assert_eq!(r.out.trim(), "true");
        }),
        check("jq '{seo, previous, next}'", |r| {
            r.statuses(&[200]);
            let shown = r.json();
            assert_eq!(shown["seo"]["json_ld"]["@type"], "NewsArticle");
            assert_eq!(shown["seo"]["og_image"]["width"], 1200);
            assert_eq!(shown["previous"]["slug"], "bread-at-three-in-the-morning");
            assert_eq!(shown["next"]["slug"], "the-dawn-ferry");
        }),
        check("adjacent_tag=cities", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["slug"], "the-dawn-ferry");
        }),
        check("related?limit=4", |r| {
            r.statuses(&[200]);
            let related = titles(r);
            assert!(!related.is_empty() && related.len() <= 4, "{related:?}");
            assert!(!related.contains(&"Notes for a piece on night buses".to_owned()));
        }),
        check("$API/sitemap", |r| {
            r.statuses(&[200]);
            r.shows("\"canonical_url\"");
        }),
        check("/feeds/articles.atom", |r| {
            r.statuses(&[200]);
            r.shows("<?xml-stylesheet");
            r.shows("<title>The last night tram</title>");
        }),
        check("/feeds/tags/cities.atom", |r| {
            r.statuses(&[200]);
            r.shows("<title>Ferry at dawn</title>");
            assert!(!r.out.contains("Six weeks"), "only the tag's");
        }),
        check("DRAFT=", |r| r.statuses(&[200])),
        check("PREVIEW=", |r| r.statuses(&[201])),
        check("preview/$PREVIEW", |r| {
            r.statuses(&[200]);
            r.shows("cache-control: no-store");
            r.shows("x-robots-tag: noindex");
            r.shows("\"status\":\"draft\"");
        }),
        check("-X DELETE \"$API/articles/$DRAFT/preview-links\"", |r| {
            r.statuses(&[204])
        }),
        check("body='Sent from a form.'", |r| {
            r.statuses(&[303]);
            r.shows("location: http://localhost:3000/the-last-night-tram#comments");
        }),
        check("curl -s \"$API/authors\"\n", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["meta"]["total"], 2);
        }),
        check("tags?per_page=2&sort=-created_at", |r| {
            r.statuses(&[200]);
            r.shows("link: <");
            r.shows("rel=\"next\"");
            r.shows("x-total-count: 5");
        }),
        check("authors/ines-marchetti\"                      #", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["name"], "Inès Marchetti");
        }),
        check("CURSOR=", |r| r.statuses(&[200])),
        check("cursor=$CURSOR", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
        }),
        check("fields=id,slug,name", |r| {
            r.statuses(&[200]);
            let first = &r.json()["data"][0];
            assert_eq!(first.as_object().unwrap().len(), 3);
        }),
        check("autor=ines-marchetti", |r| {
            r.statuses(&[400]);
            r.shows("unknown query parameter `autor`");
        }),
        check("curl -sI", |r| {
            r.statuses(&[200]);
            for header in [
                "etag:",
                "vary:",
                "surrogate-key: article:",
                "cache-control: public",
            ] {
                r.shows(header);
            }
        }),
        check("ETAG=$(curl -si \"$API/authors/ines-marchetti\"", |r| {
            r.statuses(&[200])
        }),
        check("If-None-Match: $ETAG", |r| {
            r.statuses(&[304]);
            r.shows("304 Not Modified");
        }),
        check(r#""name": "Ada Okafor""#, |r| {
            r.statuses(&[201]);
            assert_eq!(r.json()["slug"], "ada-okafor");
        }),
        check(r#""name": "Urban life""#, |r| {
            r.statuses(&[201]);
            assert_eq!(r.json()["slug"], "urban-life");
        }),
        check("tags/urban-life/merge", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["slug"], "cities");
            assert!(r.json()["article_count"].as_i64().unwrap() > 0);
        }),
        check("curl -sI \"$API/tags/urban-life\"", |r| {
            r.statuses(&[301]);
            r.shows("301");
        }),
        check("ETAG=$(curl -si \"$API/authors/ada-okafor\"", |r| {
            r.statuses(&[200])
        }),
        check("If-Match: $ETAG", |r| {
            r.statuses(&[200]);
            let author = r.json();
            assert_eq!(author["bio"], "Politics desk.");
            assert!(author["website"].is_null());
        }),
        check("Idempotency-Key: 6f1c0d9e", |r| {
            r.statuses(&[201]);
            assert_eq!(r.json()["slug"], "rivers");
        }),
        check("kind=page", |r| {
            r.statuses(&[200]);
            assert_eq!(titles(r), ["About this site"]);
        }),
        check("by-external-id/posts%2Friver.md", |r| {
            r.statuses(&[201]);
            assert_eq!(r.json()["slug"], "the-river-in-winter");
        }),
        check("images?sha256=", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["meta"]["total"], 0, "not uploaded yet");
        }),
        check("$API/batch", |r| {
            r.statuses(&[200]);
            let done = r.json();
            assert_eq!(done["results"][0]["status"], 201);
            assert_eq!(done["results"][1]["body"]["tags"][0]["name"], "Winter");
        }),
        check("ADA=", |r| r.statuses(&[201])),
        check("curl -s \"$API/tokens\"", |r| {
            r.statuses(&[200]);
            r.shows("\"name\":\"Ada laptop\"");
            r.shows("\"secret_prefix\"");
            assert!(!r.out.contains("\"secret\":"), "never the secret");
        }),
        check("tokens/$ADA", |r| r.statuses(&[204])),
        check("HOOK=", |r| r.statuses(&[201])),
        check("$HOOK/ping", |r| r.statuses(&[202])),
        check("$HOOK/deliveries", |r| {
            r.statuses(&[200]);
            assert!(r.json()["data"].is_array());
        }),
        check("IMAGE=", |r| r.statuses(&[201])),
        check("images?mime_type=image/jpeg", |r| {
            r.statuses(&[200]);
            assert_eq!(r.out.trim(), "6", "five demo photos and this one");
        }),
        check("URL=", |r| r.statuses(&[200])),
        check("curl -sI \"$URL\"", |r| {
            r.statuses(&[200]);
            r.shows("public, max-age=31536000, immutable");
        }),
        check("Range: bytes=0-99", |r| {
            r.statuses(&[206]);
            assert_eq!(r.out.trim(), "100");
        }),
        check(r#"{\"avatar\": \"$IMAGE\"}"#, |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["avatar"]["alt"], "A tram on the river bridge");
        }),
        check(r#"{"name": "", "website": "ftp://x"}"#, |r| {
            r.statuses(&[422]);
            let problem = r.json();
            assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
        }),
        check(r#""emial": "x""#, |r| {
            r.statuses(&[422]);
            assert_eq!(r.json()["errors"][0]["code"], "unknown_field");
        }),
        check("/healthz", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["status"], "ok");
        }),
        check("/readyz", |r| {
            r.statuses(&[200]);
            assert_eq!(r.json()["status"], "ready");
        }),
        check("/metrics", |r| {
            r.statuses(&[200]);
            r.shows("lede_http_requests_total");
        }),
    ]
}
