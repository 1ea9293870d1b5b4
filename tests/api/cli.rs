//! The `lede` binary as a newcomer uses it: its own Postgres in a fresh data dir, demo
//! content, the first admin token, graceful stop, a second start on the same data.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Running, TempDir};

const LEDE: &str = env!("CARGO_BIN_EXE_lede");

/// A data dir whose cluster is stopped and files removed however the test ends.
pub(crate) struct DataDir(pub std::path::PathBuf);

impl Drop for DataDir {
    fn drop(&mut self) {
        let pid_file = self.0.join("postgres/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        {
            // SAFETY: signalling the postmaster this test's lede started.
            unsafe { libc::kill(pid, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while pid_file.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `lede` and reads its stderr until it says it is serving; returns what it said.
fn start(data_dir: &std::path::Path, port: u16) -> (Running, String) {
    let (child, said, _rest) = start_logging(data_dir, port, &[("LEDE_LOG", "warn")]);
    (child, said)
}

/// As `start`, with `env` set, and also what it says after (read until it exits).
pub(crate) fn start_logging(
    data_dir: &std::path::Path,
    port: u16,
    env: &[(&str, &str)],
) -> (Running, String, std::thread::JoinHandle<String>) {
    let mut child = Command::new(LEDE)
        .env_remove("DATABASE_URL")
        .env_remove("LEDE_LOG")
        .envs(env.iter().copied())
        .env("LEDE_DATA_DIR", data_dir)
        .env("LEDE_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map(Running)
        .expect("start lede");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        said.push_str(&line);
        if line.contains("curl -H") || line.contains("Need a token?") {
            // Keep draining stderr so lede never blocks on a full pipe.
            let rest = std::thread::spawn(move || {
                let mut rest = String::new();
                let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
                rest
            });
            return (child, said, rest);
        }
    }
    panic!("lede did not start:\n{said}");
}

pub(crate) fn stop(mut child: Running) -> std::process::ExitStatus {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap()
}

#[tokio::test]
async fn first_start_serves_demo_content_and_a_working_admin_token() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-cli-{}", std::process::id())));
    let data = guard.0.clone();
    let port = free_port();
    let (child, said) = start(&data, port);
    let secret = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .unwrap_or_else(|| panic!("no token printed:\n{said}"))
        .to_owned();
    assert!(said.contains(&format!(
        "curl -H 'Authorization: Bearer {secret}' http://127.0.0.1:{port}/api/v1/tokens"
    )));

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let authors: serde_json::Value = client
        .get(format!("{base}/api/v1/authors"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(authors["meta"]["total"], 2, "{authors}");
    let tokens = client
        .get(format!("{base}/api/v1/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);

    // `token create` works beside the running server, printing only the secret on stdout.
    let made = Command::new(LEDE)
        .args(["token", "create", "--role", "editor", "--name", "cli test"])
        .env_remove("DATABASE_URL")
        .env("LEDE_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let editor = String::from_utf8(made.stdout).unwrap();
    assert!(
        editor.starts_with("lede_") && editor.trim_end().lines().count() == 1,
        "{editor}"
    );
    let as_editor = client
        .get(format!("{base}/api/v1/tokens"))
        .bearer_auth(editor.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(as_editor.status(), 403);

    // `import wordpress` writes beside the running server too, and the server's cached
    // list hears of it (through the change feed, like any write).
    let total = |list: serde_json::Value| list["meta"]["total"].as_i64().unwrap();
    let list = async || -> serde_json::Value {
        let url = format!("{base}/api/v1/articles");
        client.get(url).send().await.unwrap().json().await.unwrap()
    };
    let before = total(list().await);
    assert_eq!(total(list().await), before, "a second read, from the cache");
    let export = data.with_extension("xml");
    std::fs::write(
        &export,
        r#"<rss xmlns:wp="https://wordpress.org/export/1.2/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><item><title>Imported beside</title>
<dc:creator>ines-marchetti</dc:creator><wp:post_id>1</wp:post_id><wp:post_name>imported-beside</wp:post_name>
<wp:post_date_gmt>2024-01-02 03:04:05</wp:post_date_gmt><wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type><content:encoded><![CDATA[<p>Hello</p>]]></content:encoded></item>
</channel></rss>"#,
    )
    .unwrap();
    let imported = Command::new(LEDE)
        .args(["import", "wordpress", export.to_str().unwrap()])
        .env_remove("DATABASE_URL")
        .env("LEDE_DATA_DIR", &data)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&export);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let mut seen = 0;
    for _ in 0..100 {
        seen = total(list().await);
        if seen == before + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        before + 1,
        "the running server shows the imported post"
    );

    assert!(stop(child).success());
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "Postgres was stopped with lede"
    );

    // A second start reuses the data, loads nothing twice and prints no new token.
    let (child, said) = start(&data, port);
    let client = reqwest::Client::new();
    assert!(!said.contains("lede_"), "{said}");
    let authors: serde_json::Value = client
        .get(format!("{base}/api/v1/authors"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(authors["meta"]["total"], 2);
    let still = client
        .get(format!("{base}/api/v1/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
    assert!(stop(child).success());

    // Token made while the server is down starts and stops the cluster itself.
    let made = Command::new(LEDE)
        .args([
            "token",
            "create",
            "--role",
            "author",
            "--author",
            "ines-marchetti",
        ])
        .env_remove("DATABASE_URL")
        .env("LEDE_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(!data.join("postgres/postmaster.pid").exists());
}

#[test]
fn without_postgres_binaries_it_says_what_to_install() {
    let guard = TempDir::new("lede-nobin");
    let empty = guard.path();
    let out = Command::new(LEDE)
        .args(["migrate"])
        .env_remove("DATABASE_URL")
        .env("LEDE_POSTGRES_BIN", empty)
        .env("LEDE_DATA_DIR", empty.join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("apt-get install postgresql") && said.contains("DATABASE_URL"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
}

#[test]
fn help_documents_the_settings() {
    let out = Command::new(LEDE).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for setting in [
        "LEDE_BIND",
        "LEDE_DATA_DIR",
        "DATABASE_URL",
        "LEDE_POOL_SIZE",
        "LEDE_LOG_FORMAT",
        "LEDE_JSON_LIMIT",
        "LEDE_PUBLIC_URL",
        "LEDE_CORS_ORIGINS",
    ] {
        assert!(help.contains(setting), "{setting} missing from --help");
    }
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_stops_postgres_cleanly() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-stop-{}", std::process::id())));
    let data = guard.0.clone();
    let port = free_port();
    let (child, said) = start(&data, port);
    let token = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .unwrap()
        .to_owned();
    // A 12-megapixel photo: decoding and resizing it keeps a request busy for a while.
    let photo = tokio::task::spawn_blocking(|| {
        let img = image::ImageBuffer::from_fn(4000, 3000, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // The upload goes over a connection the server has already taken (a keep-alive one, made
    // by a first request), and the signal is sent once its body is being written: however
    // slow the machine, the request is in flight when the server is told to stop.
    let client = reqwest::Client::new();
    client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let (sending, sent) = tokio::sync::oneshot::channel::<()>();
    let upload = tokio::spawn({
        let url = format!("{base}/api/v1/images");
        async move {
            use futures_util::StreamExt;
            let mut sending = Some(sending);
            let chunks: Vec<Vec<u8>> = photo.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
            let body = futures_util::stream::iter(chunks).map(move |chunk| {
                if let Some(sending) = sending.take() {
                    let _ = sending.send(());
                }
                Ok::<_, std::io::Error>(chunk)
            });
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
                    .file_name("big.jpg"),
            );
            client
                .post(url)
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
        }
    });
    sent.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
    let finished = upload
        .await
        .unwrap()
        .expect("the request in flight got an answer");
    assert_eq!(finished.status(), 201, "the request in flight completed");
    assert!(refused, "new connections are refused once stopping");
    let mut child = child;
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!data.join("postgres/postmaster.pid").exists());

    // The next start finds a cleanly shut down cluster: no crash recovery.
    let (child, _) = start(&data, port);
    assert!(stop(child).success());
    let log = std::fs::read_to_string(data.join("postgres.log")).unwrap();
    assert!(
        !log.contains("not properly shut down") && !log.contains("automatic recovery"),
        "{log}"
    );
    assert!(log.contains("database system is shut down"), "{log}");
}

#[tokio::test]
async fn at_the_default_level_the_log_is_the_access_log_and_a_clean_stop_warns_of_nothing() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-log-{}", std::process::id())));
    let port = free_port();
    let (child, said, rest) = start_logging(&guard.0, port, &[("LEDE_LOG_FORMAT", "json")]);
    let token = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .unwrap()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // Writes the search index takes in (each a commit of its own), read back by a search.
    for n in 0..3 {
        let written = client
            .post(format!("{base}/api/v1/articles"))
            .bearer_auth(&token)
            .json(
                &serde_json::json!({"title": format!("Quiet log {n}"), "author": "ines-marchetti",
                "status": "published", "body_markdown": "Zanzibar harbour at dawn."}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(written.status(), 201);
    }
    crate::support::eventually(30, "the index has the three articles", || async {
        let found: serde_json::Value = client
            .get(format!("{base}/api/v1/articles?q=zanzibar"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found["meta"]["total"] == 3
    })
    .await;
    assert!(stop(child).success());
    let log = rest.join().unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access = lines
        .iter()
        .filter(|l| l["target"] == "lede::access")
        .count();
    assert!(access >= 4, "the requests are in the access log:\n{log}");
    for line in &lines {
        let (level, target) = (
            line["level"].as_str(),
            line["target"].as_str().unwrap_or(""),
        );
        assert!(
            !matches!(level, Some("WARN" | "ERROR")),
            "a clean run and stop warn of nothing: {line}"
        );
        assert!(
            !target.starts_with("tantivy"),
            "no search library chatter: {line}"
        );
    }
}

/// The most memory the process `pid` has held (VmHWM), in MiB.
fn peak_rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
async fn eight_huge_uploads_at_once_stay_within_memory_while_health_answers() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-big-{}", std::process::id())));
    let port = free_port();
    let (child, said) = start(&guard.0, port);
    let secret = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .unwrap()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let before = peak_rss_mb(child.id());
    // 7000x7000 PNGs (49 megapixels each, small files: a pattern compresses well), each a
    // little different so that none is answered as a copy of another.
    let pngs: Vec<Vec<u8>> = (0..8u8)
        .map(|n| {
            let image = image::RgbImage::from_fn(7000, 7000, |x, y| {
                image::Rgb([(x % 251) as u8, (y % 241) as u8, n])
            });
            let mut out = Vec::new();
            image::DynamicImage::ImageRgb8(image)
                .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        })
        .collect();
    let client = reqwest::Client::new();
    let uploads: Vec<_> = pngs
        .into_iter()
        .map(|png| {
            let (client, url, secret) = (
                client.clone(),
                format!("{base}/api/v1/images"),
                secret.clone(),
            );
            // As a client would: a 503 says when to come back (`Retry-After`), and is
            // asked again then, a few times.
            tokio::spawn(async move {
                for _ in 0..20 {
                    let answer = client
                        .post(&url)
                        .bearer_auth(&secret)
                        .multipart(reqwest::multipart::Form::new().part(
                            "file",
                            reqwest::multipart::Part::bytes(png.clone()).file_name("big.png"),
                        ))
                        .timeout(Duration::from_secs(600))
                        .send()
                        .await
                        .unwrap();
                    let wait = answer
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                    match (answer.status().as_u16(), wait) {
                        (503, Some(seconds)) => {
                            tokio::time::sleep(Duration::from_secs(seconds.min(10))).await
                        }
                        (status, _) => return status,
                    }
                }
                503
            })
        })
        .collect();
    // Health is asked every 50 ms while they run.
    let mut slowest = Duration::ZERO;
    while !uploads.iter().all(|u| u.is_finished()) {
        let asked = Instant::now();
        let health = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for upload in uploads {
        assert_eq!(upload.await.unwrap(), 201);
    }
    let peak = peak_rss_mb(child.id());
    eprintln!(
        "8 x 7000x7000 PNG: peak RSS {peak} MiB (before {before} MiB), slowest /healthz {slowest:?}"
    );
    assert!(peak < 1024, "peak RSS {peak} MiB");
    // How fast /healthz answered depends on the machine: printed, not judged (every answer
    // was a 200, which is the verdict).
    stop(child);
}

/// The pid in a data dir's `postmaster.pid`.
fn postmaster_pid(data: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(data.join("postgres/postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
}

/// Waits (at most `within`) until `url` answers 200.
async fn answers_within(client: &reqwest::Client, url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(reply) = client.get(url).send().await
            && reply.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_server_keeps_its_database_whatever_else_runs_or_dies() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-pg-{}", std::process::id())));
    let data = guard.0.clone();
    let port = free_port();
    let (child, said) = start(&data, port);
    let secret = said
        .split_whitespace()
        .find(|w| w.starts_with("lede_"))
        .unwrap()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = format!("{base}/readyz");
    let lede = |args: &[&str]| {
        let mut command = Command::new(LEDE);
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .env("LEDE_DATA_DIR", &data)
            .env("LEDE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };

    // A second process attaches to the server's cluster and exits: the cluster stays.
    assert!(
        lede(&["token", "create", "--role", "editor"])
            .status()
            .unwrap()
            .success()
    );
    assert!(answers_within(&client, &ready, Duration::from_secs(30)).await);
    // So does a second server on the same data (another node on one machine), stopped.
    let (second, _) = start(&data, free_port());
    assert!(stop(second).success());
    assert!(answers_within(&client, &ready, Duration::from_secs(30)).await);
    // A long command attached to it, stopped by SIGTERM: it stops, the cluster stays.
    let mut seed = Running(lede(&["seed", "--articles", "100000"]).spawn().unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(seed.id() as i32, libc::SIGTERM) };
    let stopped = seed.wait().unwrap();
    assert!(!stopped.success(), "seed was stopped, not finished");
    assert!(answers_within(&client, &ready, Duration::from_secs(30)).await);

    // An acknowledged write, then the postmaster is killed under the server.
    let made = client
        .post(format!("{base}/api/v1/tags"))
        .bearer_auth(&secret)
        .json(&serde_json::json!({"name": "Survives"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let postmaster = postmaster_pid(&data).unwrap();
    // SAFETY: killing the postmaster of this test's data dir.
    unsafe { libc::kill(postmaster, libc::SIGKILL) };
    let began = Instant::now();
    // Served again, the acknowledged write with it (a request on a connection that died
    // with the old postmaster may meet a 503 first).
    assert!(
        answers_within(
            &client,
            &format!("{base}/api/v1/tags/survives"),
            Duration::from_secs(30)
        )
        .await,
        "the acknowledged write is not served again within 30 s"
    );
    eprintln!(
        "served again {:?} after the postmaster was killed",
        began.elapsed()
    );
    // A new postmaster takes over (a backend of the killed one may still have answered
    // that read: when is a matter of the machine's speed, so it is waited for).
    crate::support::eventually(60, "a new postmaster", || async {
        postmaster_pid(&data).is_some_and(|pid| pid != postmaster)
    })
    .await;
    // The dead postmaster was reaped, not left a zombie.
    let state = std::fs::read_to_string(format!("/proc/{postmaster}/stat")).unwrap_or_default();
    assert!(!state.contains(") Z "), "{state}");

    assert!(stop(child).success());
    assert!(
        postmaster_pid(&data).is_none(),
        "the owner stopped its cluster"
    );

    // A stale pid file (its pid now another program: this test) does not block a start.
    let pid_file = data.join("postgres/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!(
            "{}\n{}\n0\n5432\n{}\n\n0 0\nready\n",
            std::process::id(),
            data.join("postgres").canonicalize().unwrap().display(),
            data.join("postgres").display()
        ),
    )
    .unwrap();
    let (child, _) = start(&data, port);
    assert!(answers_within(&client, &ready, Duration::from_secs(30)).await);
    assert!(stop(child).success());
}

#[tokio::test]
async fn a_stopped_command_stops_the_postgres_it_started() {
    // Stopped right away, while Postgres is still starting (the stop must not be the default
    // kill that leaves the cluster without an owner), and later, in the middle of seeding.
    for (run, delay) in [Duration::ZERO, Duration::from_millis(1500)]
        .into_iter()
        .enumerate()
    {
        let guard =
            DataDir(std::env::temp_dir().join(format!("lede-seed-{}-{run}", std::process::id())));
        let mut seed = Command::new(LEDE)
            .args(["seed", "--articles", "100000"])
            .env_remove("DATABASE_URL")
            .env("LEDE_DATA_DIR", &guard.0)
            .env("LEDE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Running)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while postmaster_pid(&guard.0).is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let postmaster = postmaster_pid(&guard.0).expect("seed started Postgres");
        tokio::time::sleep(delay).await;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(seed.id() as i32, libc::SIGTERM) };
        seed.wait().unwrap();
        assert!(
            postmaster_pid(&guard.0).is_none(),
            "its Postgres was stopped (stopped after {delay:?})"
        );
        // SAFETY: signal 0 only asks whether the process exists.
        assert_ne!(
            unsafe { libc::kill(postmaster, 0) },
            0,
            "no postmaster left running (stopped after {delay:?})"
        );
    }
}

#[tokio::test]
async fn a_server_takes_over_the_postgres_a_stopped_command_started() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-over-{}", std::process::id())));
    let data = guard.0.clone();
    // A long command starts the cluster, and a server attaches to it.
    let mut seed = Command::new(LEDE)
        .args(["seed", "--articles", "100000"])
        .env_remove("DATABASE_URL")
        .env("LEDE_DATA_DIR", &data)
        .env("LEDE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Running)
        .unwrap();
    // Running: its postmaster's pid (initdb's standalone backend writes a negative one).
    let deadline = Instant::now() + Duration::from_secs(60);
    while postmaster_pid(&data).is_none_or(|pid| pid <= 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = postmaster_pid(&data).expect("seed started Postgres");
    let port = free_port();
    let (server, _) = start(&data, port);
    // The command stops, and its Postgres with it: the server starts one of its own.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(seed.id() as i32, libc::SIGTERM) };
    seed.wait().unwrap();
    let client = reqwest::Client::new();
    assert!(
        answers_within(
            &client,
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(30)
        )
        .await,
        "the server lost its database"
    );
    assert_ne!(postmaster_pid(&data), Some(first));
    assert!(stop(server).success());
    assert!(
        postmaster_pid(&data).is_none(),
        "the server stopped the cluster it took over"
    );
}

#[tokio::test]
async fn users_invite_makes_a_new_sites_first_admin_from_the_command_line() {
    let guard = DataDir(std::env::temp_dir().join(format!("lede-invite-{}", std::process::id())));
    // Before any server has run: no one exists yet.
    let made = Command::new(LEDE)
        .args([
            "users",
            "invite",
            "first@example.com",
            "--role",
            "admin",
            "--name",
            "First Admin",
        ])
        .env_remove("DATABASE_URL")
        .env("LEDE_DATA_DIR", &guard.0)
        .env("LEDE_PUBLIC_URL", "https://news.example.com")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&made.stderr).into_owned();
    assert!(made.status.success(), "{stderr}");
    // The link alone on stdout; its secret nowhere else.
    let link = String::from_utf8(made.stdout).unwrap();
    assert_eq!(link.trim_end().lines().count(), 1, "{link}");
    let link = link.trim();
    assert!(
        link.starts_with("https://news.example.com/desk/accept#token="),
        "{link}"
    );
    let secret = link.split("#token=").nth(1).unwrap();
    assert!(!stderr.contains(secret), "{stderr}");
    assert!(stderr.contains("First Admin"), "{stderr}");

    let port = free_port();
    let (child, _said, _rest) = start_logging(&guard.0, port, &[("LEDE_LOG", "warn")]);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let accepted = client
        .post(format!("{base}/auth/accept"))
        .json(&serde_json::json!({"token": secret, "password": "the first admin's password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let signed_in = client
        .post(format!("{base}/auth/sessions"))
        .json(&serde_json::json!({"email": "first@example.com", "password": "the first admin's password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201);
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let me: serde_json::Value = client
        .get(format!("{base}/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin", "{me}");
    // The activity log names the command line as who made them.
    let made_by: serde_json::Value = client
        .get(format!("{base}/activity?event=user.created"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        made_by["data"][0]["actor"],
        serde_json::json!({"kind": "system", "id": null, "name": "command line"})
    );
    assert!(stop(child).success());
}
