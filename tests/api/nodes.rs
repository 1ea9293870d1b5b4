//! Past one machine: two lede processes against one Postgres reached over TCP with TLS
//! (verified against a self-signed certificate; the server refuses connections without TLS)
//! and one S3-compatible store (s3s-fs, from crates.io, serving a directory over HTTP).
//! An upload through one node is served by the other; a write through one is seen through
//! the other's cache and search at once.
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lede::db::embedded::{Durability, EmbeddedPostgres};
use serde_json::{Value, json};

/// A lede process, stopped when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Stops it as a crash would: no chance to finish or hand anything over.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: signals a child this test started and still owns.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn lede(env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lede"));
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

async fn start_node(env: &[(String, String)], data: &Path) -> Node {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(data.with_extension("log")).expect("log file");
    let child = lede(env)
        .env("LEDE_DATA_DIR", data)
        .env("LEDE_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start lede");
    let node = Node { child, base };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(reply) = client.get(format!("{}/readyz", node.base)).send().await
            && reply.status() == 200
        {
            return node;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "node did not become ready: {}",
        std::fs::read_to_string(data.with_extension("log")).unwrap_or_default()
    );
}

/// The S3-compatible store: s3s-fs over `root`, on a port of its own, in this process.
async fn start_s3(
    root: &Path,
    access: &str,
    secret: &str,
) -> (String, tokio::task::JoinHandle<()>) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access, secret));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind s3");
    let endpoint = format!("http://{}", listener.local_addr().expect("s3 address"));
    let server = tokio::spawn(async move {
        let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    (endpoint, server)
}

/// The `postgres` user's ids when the tests run as root (the server runs as it then).
fn postgres_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam returns a pointer to static storage or null; read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!entry.is_null(), "no postgres user");
    // SAFETY: entry is non-null.
    Some(unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
}

/// Files the `postgres` user must own.
fn give_to_postgres(path: &Path) {
    if let Some((uid, gid)) = postgres_user() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

fn png() -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 120])
    }));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test]
async fn two_nodes_share_postgres_over_tls_and_an_s3_store() {
    use std::os::unix::fs::PermissionsExt;
    // Removed however the test ends (declared first: dropped after what runs in it).
    let temp = crate::support::TempDir::new("lede-nodes");
    let dir: PathBuf = temp.0.clone();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    for d in [&dir, &dir.join("tls")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // A self-signed certificate for 127.0.0.1, the server's only way in over TCP.
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("tls/server.crt"), dir.join("tls/server.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    give_to_postgres(&key);
    give_to_postgres(&cert);
    let pg_port = free_port();
    let settings = vec![
        "listen_addresses=127.0.0.1".to_owned(),
        format!("port={pg_port}"),
        "ssl=on".to_owned(),
        format!("ssl_cert_file={}", cert.display()),
        format!("ssl_key_file={}", key.display()),
    ];
    let pg_dir = dir.join("pg");
    let mut postgres = tokio::task::spawn_blocking(move || {
        EmbeddedPostgres::start_with(&pg_dir, Durability::Throwaway, &settings)
    })
    .await
    .unwrap()
    .expect("start the TCP Postgres");
    // Over TCP only with TLS; the socket stays for this test's own setup.
    std::fs::write(
        postgres.dir().join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 0.0.0.0/0 reject\n",
    )
    .unwrap();
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        // (The socket's name carries the port.)
        let socket = format!("{} port={pg_port}", postgres.url_for("postgres"));
        let mut admin = AsyncPgConnection::establish(&socket).await.unwrap();
        for sql in ["SELECT pg_reload_conf()", "CREATE DATABASE lede"] {
            diesel::sql_query(sql).execute(&mut admin).await.unwrap();
        }
    }
    let database_url = format!(
        "postgres://lede@127.0.0.1:{pg_port}/lede?sslmode=verify-full&sslrootcert={}",
        cert.display()
    );
    // Without TLS the server says no (in its own words): what follows went over TLS.
    let refused = lede::db::connect(&format!(
        "postgres://lede@127.0.0.1:{pg_port}/lede?sslmode=disable"
    ))
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(refused.contains("no encryption"), "{refused}");
    // A certificate for another name is refused by verify-full.
    let other = rcgen::generate_simple_self_signed(vec!["db.example".to_owned()]).unwrap();
    std::fs::write(dir.join("tls/other.crt"), other.cert.pem()).unwrap();
    let wrong = lede::db::connect(&format!(
        "postgres://lede@127.0.0.1:{pg_port}/lede?sslmode=verify-full&sslrootcert={}",
        dir.join("tls/other.crt").display()
    ))
    .await;
    assert!(wrong.is_err(), "a server whose certificate is not trusted");

    let (access, secret) = ("lede-test", "lede-test-secret");
    std::fs::create_dir_all(dir.join("s3/media")).unwrap();
    let (s3, s3_server) = start_s3(&dir.join("s3"), access, secret).await;
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", database_url.as_str()),
        ("LEDE_DEMO", "false"),
        ("LEDE_LOG", "warn"),
        ("LEDE_STORAGE_URL", "s3://media"),
        ("AWS_ENDPOINT", s3.as_str()),
        ("AWS_ACCESS_KEY_ID", access),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("LEDE_WEBHOOK_ALLOW_PRIVATE", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let one = start_node(&env, &dir.join("node-1")).await;
    let two = start_node(&env, &dir.join("node-2")).await;
    let made = lede(&env)
        .args(["token", "create", "--role", "editor"])
        .output()
        .expect("token create");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap() }
    };

    // An upload through one node is stored in S3 and served by the other.
    let bytes = png();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone())
            .file_name("grid.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let image: Value = client
        .post(format!("{}/api/v1/images", one.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let original = image["url"].as_str().unwrap_or_else(|| panic!("{image}"));
    let path = original
        .strip_prefix(&one.base)
        .expect("a URL of the first node");
    let served = get(format!("{}{path}", two.base)).await;
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().await.unwrap(),
        bytes,
        "the same bytes, from S3"
    );
    assert!(
        walkdir(&dir.join("s3/media"))
            .iter()
            .any(|f| f.ends_with(".png")),
        "the file is in the bucket's directory"
    );

    // The second node's answers (kept in its cache) and its search see a write through the
    // first at once.
    let list = format!("{}/api/v1/articles", two.base);
    assert_eq!(
        get(list.clone()).await.json::<Value>().await.unwrap()["meta"]["total"],
        0
    );
    let search = format!("{}/api/v1/articles?q=cormorants", two.base);
    assert_eq!(
        get(search.clone()).await.json::<Value>().await.unwrap()["meta"]["total"],
        0
    );
    let author: Value = client
        .post(format!("{}/api/v1/authors", one.base))
        .bearer_auth(&token)
        .json(&json!({"name": "Noor Haddad"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = client
        .post(format!("{}/api/v1/articles", one.base))
        .bearer_auth(&token)
        .json(&json!({"title": "Cormorants of the breakwater", "author": author["slug"], "status": "published",
            "cover_image": image["id"], "body_markdown": "The cormorants dry their wings."}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut seen = (false, false);
    for _ in 0..100 {
        let listed = get(list.clone()).await.json::<Value>().await.unwrap();
        let found = get(search.clone()).await.json::<Value>().await.unwrap();
        seen = (listed["meta"]["total"] == 1, found["meta"]["total"] == 1);
        if seen == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, (true, true), "(list, search) of the second node");

    // Jobs: 40 due at once, two nodes claiming; each is done, and done once.
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let socket = format!("{} port={pg_port}", postgres.url_for("lede"));
        let mut admin = AsyncPgConnection::establish(&socket).await.unwrap();
        diesel::sql_query(
            "INSERT INTO jobs (kind, run_at) SELECT 'prune', now() FROM generate_series(1, 40)",
        )
        .execute(&mut admin)
        .await
        .unwrap();
        #[derive(diesel::QueryableByName, Debug, PartialEq)]
        struct Tally {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            done: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            pending: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            twice: i64,
        }
        let mut tally = None;
        for _ in 0..200 {
            let now: Tally = diesel::sql_query(
                "SELECT count(*) FILTER (WHERE done_at IS NOT NULL) AS done, \
                 count(*) FILTER (WHERE done_at IS NULL AND run_at <= now()) AS pending, \
                 count(*) FILTER (WHERE attempts > 1) AS twice FROM jobs WHERE kind = 'prune'",
            )
            .get_result(&mut admin)
            .await
            .unwrap();
            let finished = now.pending == 0 && now.done >= 41;
            tally = Some(now);
            if finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tally = tally.unwrap();
        assert!(tally.done >= 41 && tally.pending == 0, "{tally:?}");
        assert_eq!(tally.twice, 0, "no job ran twice: {tally:?}");
    }

    // Webhooks: six events written through either node reach the receiver once each, in order.
    let admin = lede(&env)
        .args(["token", "create", "--role", "admin"])
        .output()
        .expect("token create");
    let admin = String::from_utf8(admin.stdout).unwrap().trim().to_owned();
    let receiver = crate::webhooks::Receiver::start().await;
    let subscribed = client
        .post(format!("{}/api/v1/webhooks", one.base))
        .bearer_auth(&admin)
        .json(&json!({"url": receiver.url, "events": ["article.published", "article.updated", "article.deleted", "tag.updated"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 201);
    let nodes = [&one.base, &two.base];
    let write = |i: usize, method: reqwest::Method, path: String, body: Value| {
        let request = client
            .request(method, format!("{}{path}", nodes[i % 2]))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let reply = request.send().await.unwrap();
            assert!(reply.status().is_success(), "{}", reply.status());
            reply.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    let story = json!({"title": "Ferry strike", "author": author["slug"], "status": "published", "body_markdown": "No boats today."});
    let made = write(0, reqwest::Method::POST, "/api/v1/articles".into(), story).await;
    let path = format!("/api/v1/articles/{}", made["id"].as_str().unwrap());
    write(
        1,
        reqwest::Method::PATCH,
        path.clone(),
        json!({"subtitle": "Day two"}),
    )
    .await;
    let tag = write(
        0,
        reqwest::Method::POST,
        "/api/v1/tags".into(),
        json!({"name": "Strikes"}),
    )
    .await;
    let tag_path = format!("/api/v1/tags/{}", tag["id"].as_str().unwrap());
    write(
        1,
        reqwest::Method::PATCH,
        tag_path.clone(),
        json!({"description": "Work stopped"}),
    )
    .await;
    write(
        0,
        reqwest::Method::PATCH,
        tag_path,
        json!({"description": "Work stopped again"}),
    )
    .await;
    write(
        0,
        reqwest::Method::PATCH,
        path.clone(),
        json!({"subtitle": "Day three"}),
    )
    .await;
    write(1, reqwest::Method::DELETE, path, Value::Null).await;
    let received = receiver.wait_for(6, 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received_now = receiver.received();
    let types: Vec<String> = received_now
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(received.len(), 6, "{types:?}");
    assert_eq!(received_now.len(), 6, "none twice: {types:?}");
    let mut ids: Vec<String> = received_now.iter().map(|r| r.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six events, each once");
    assert_eq!(
        types,
        [
            "article.published",
            "article.updated",
            "tag.updated",
            "tag.updated",
            "article.updated",
            "article.deleted"
        ],
        "in the order they were written"
    );

    drop((one, two));
    s3_server.abort();
    tokio::task::spawn_blocking(move || postgres.stop())
        .await
        .unwrap();
}

fn walkdir(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walkdir(&path));
            } else {
                files.push(path.display().to_string());
            }
        }
    }
    files
}

#[tokio::test]
async fn a_replica_serves_public_reads_only_while_it_has_every_change() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // Removed however the test ends (declared first: dropped after what runs in it).
    let temp = crate::support::TempDir::new("lede-replica");
    let dir: PathBuf = temp.0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (primary_port, standby_port) = (free_port(), free_port());
    let primary_dir = dir.join("primary");
    let mut primary = tokio::task::spawn_blocking(move || {
        EmbeddedPostgres::start_with(
            &primary_dir,
            Durability::Throwaway,
            &[format!("port={primary_port}")],
        )
    })
    .await
    .unwrap()
    .expect("start the primary");
    let socket = |cluster: &EmbeddedPostgres, port: u16, db: &str| {
        format!("{} port={port}", cluster.url_for(db))
    };
    {
        let mut admin = AsyncPgConnection::establish(&socket(&primary, primary_port, "postgres"))
            .await
            .unwrap();
        diesel::sql_query("CREATE DATABASE lede")
            .execute(&mut admin)
            .await
            .unwrap();
    }
    // A streaming standby, copied from the primary with pg_basebackup.
    let standby_dir = dir.join("standby");
    std::fs::create_dir_all(&standby_dir).unwrap();
    std::fs::set_permissions(&standby_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    give_to_postgres(&standby_dir);
    let bin = lede::db::embedded::find_binaries().unwrap();
    // Beside the server binaries, or the client package's on PATH.
    let basebackup = Some(bin.join("pg_basebackup"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("pg_basebackup"));
    let mut backup = Command::new(basebackup);
    backup
        .arg("-D")
        .arg(&standby_dir)
        .args([
            "-R",
            "-c",
            "fast",
            "-X",
            "stream",
            "-U",
            "lede",
            "-p",
            &primary_port.to_string(),
            "-h",
        ])
        .arg(primary.dir());
    if let Some((uid, gid)) = postgres_user() {
        backup.uid(uid).gid(gid);
    }
    let copied = backup
        .output()
        .unwrap_or_else(|e| panic!("{} {e}", bin.display()));
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let standby_path = standby_dir.clone();
    let mut standby = tokio::task::spawn_blocking(move || {
        EmbeddedPostgres::start_with(
            &standby_path,
            Durability::Throwaway,
            &[format!("port={standby_port}")],
        )
    })
    .await
    .unwrap()
    .expect("start the standby");
    let reads_on_standby = || {
        let url = socket(&standby, standby_port, "postgres");
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            // Live (the cumulative statistics are flushed seconds later): lede's
            // connections there, and what they ran last.
            let count: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = 'lede' AND query LIKE '%author%'",
            )
            .get_result(&mut conn)
            .await
            .unwrap();
            count.n
        }
    };

    let env: Vec<(String, String)> = vec![
        (
            "DATABASE_URL".into(),
            socket(&primary, primary_port, "lede"),
        ),
        (
            "LEDE_DATABASE_REPLICA_URL".into(),
            socket(&standby, standby_port, "lede"),
        ),
        ("LEDE_DEMO".into(), "false".into()),
        ("LEDE_LOG".into(), "warn".into()),
    ];
    let node = start_node(&env, &dir.join("node")).await;
    let made = lede(&env)
        .args(["token", "create", "--role", "editor"])
        .output()
        .expect("token create");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let client = reqwest::Client::new();
    let read = |path: String, token: Option<String>| {
        let client = client.clone();
        let url = format!("{}{path}", node.base);
        async move {
            let mut request = client.get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let reply = request.send().await.unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let write = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{}{path}", node.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let author: Value = write(
        reqwest::Method::POST,
        "/api/v1/authors",
        json!({"name": "Ines Marchetti"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let slug = author["slug"].as_str().unwrap().to_owned();

    // Public reads, once the replica has what the node heard of, are the replica's.
    assert_eq!(reads_on_standby().await, 0);
    // (Other nodes' work after the write, such as the webhook dispatcher moving its place in
    // the feed, is WAL the replica must replay too: a moment later.)
    let mut on_standby = 0;
    for page in 1..=100 {
        let (status, _) = read(format!("/api/v1/authors?per_page={page}"), None).await;
        assert_eq!(status, 200);
        on_standby = reads_on_standby().await;
        if on_standby >= 1 {
            eprintln!("replica used after {page} reads");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        on_standby >= 1,
        "public reads went to the replica: {on_standby} connections there read authors"
    );

    // With replay paused, a write is not on the replica: the writer (a token) and the public
    // both see it at once, from the primary.
    {
        let mut conn = AsyncPgConnection::establish(&socket(&standby, standby_port, "postgres"))
            .await
            .unwrap();
        diesel::sql_query("SELECT pg_wal_replay_pause()")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let renamed = write(
        reqwest::Method::PATCH,
        &format!("/api/v1/authors/{slug}"),
        json!({"bio": "Covers the harbour."}),
    )
    .await
    .unwrap();
    assert_eq!(renamed.status(), 200);
    let (_, own) = read(format!("/api/v1/authors/{slug}"), Some(token.clone())).await;
    assert_eq!(own["bio"], "Covers the harbour.");
    for page in 21..=25 {
        let (_, public) = read(format!("/api/v1/authors?per_page={page}"), None).await;
        assert_eq!(
            public["data"][0]["bio"], "Covers the harbour.",
            "a public read while the replica lags: {public}"
        );
    }
    let (_, public) = read(format!("/api/v1/authors/{slug}"), None).await;
    assert_eq!(public["bio"], "Covers the harbour.");
    {
        let mut conn = AsyncPgConnection::establish(&socket(&standby, standby_port, "postgres"))
            .await
            .unwrap();
        diesel::sql_query("SELECT pg_wal_replay_resume()")
            .execute(&mut conn)
            .await
            .unwrap();
    }

    drop(node);
    tokio::task::spawn_blocking(move || {
        standby.stop();
        primary.stop();
    })
    .await
    .unwrap();
}

/// A node that dies while an endpoint holds its delivery open loses nothing: once its claim
/// runs out, another node sends the same message (same `webhook-id`) again.
#[actix_web::test]
async fn a_delivery_in_flight_when_its_node_dies_is_sent_by_another() {
    let (_, database_url) = crate::support::fresh_database();
    // Removed however the test ends (declared first: dropped after what runs in it).
    let temp = crate::support::TempDir::new("lede-kill");
    let dir: PathBuf = temp.0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", database_url.as_str()),
        ("LEDE_DEMO", "false"),
        ("LEDE_LOG", "warn"),
        ("LEDE_WEBHOOK_ALLOW_PRIVATE", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let made = lede(&env)
        .args(["token", "create", "--role", "admin"])
        .output()
        .expect("token create");
    let admin = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let receiver = crate::webhooks::Receiver::start().await;
    receiver.answer(&[0]);
    let first = start_node(&env, &dir.join("node-1")).await;
    let client = reqwest::Client::new();
    let webhook: Value = client
        .post(format!("{}/api/v1/webhooks", first.base))
        .bearer_auth(&admin)
        .json(&json!({"url": receiver.url, "events": ["tag.updated"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ping = client
        .post(format!(
            "{}/api/v1/webhooks/{}/ping",
            first.base,
            webhook["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 202);
    assert_eq!(
        receiver.wait_for(1, 10).await.len(),
        1,
        "the first node sent it"
    );
    first.kill();
    let second = start_node(&env, &dir.join("node-2")).await;
    let received = receiver.wait_for(2, 40).await;
    assert_eq!(received.len(), 2, "sent again by the second node");
    assert_eq!(received[0].id(), received[1].id());
    drop(second);
}

/// Disabling a person through one node ends their session and their token on the other at
/// once: each request looks both up in Postgres, and no node keeps them.
#[actix_web::test]
async fn a_person_disabled_through_one_node_is_refused_by_the_other_at_once() {
    let (_, database_url) = crate::support::fresh_database();
    // Removed however the test ends (declared first: dropped after what runs in it).
    let temp = crate::support::TempDir::new("lede-people-nodes");
    let dir: PathBuf = temp.0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", database_url.as_str()),
        ("LEDE_DEMO", "false"),
        ("LEDE_LOG", "warn"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let run = |args: &[&str]| {
        let made = lede(&env).args(args).output().expect("lede");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        String::from_utf8(made.stdout).unwrap().trim().to_owned()
    };
    let admin = run(&["token", "create", "--role", "admin"]);
    let link = run(&["users", "invite", "ed@example.com", "--role", "editor"]);
    let one = start_node(&env, &dir.join("node-1")).await;
    let two = start_node(&env, &dir.join("node-2")).await;
    let client = reqwest::Client::new();
    let password = "the editor's own password";
    let accepted = client
        .post(format!("{}/api/v1/auth/accept", one.base))
        .json(&json!({"token": link.split("#token=").nth(1).unwrap(), "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let id = accepted.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed_in = client
        .post(format!("{}/api/v1/auth/sessions", one.base))
        .json(&json!({"email": "ed@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = signed_in.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token: Value = client
        .post(format!("{}/api/v1/tokens", one.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "ed's script", "role": "editor"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = token["secret"].as_str().unwrap().to_owned();
    let me = |base: &str, by_cookie: bool| {
        let request = client.get(format!("{base}/api/v1/auth/me"));
        let request = if by_cookie {
            request.header("cookie", &cookie)
        } else {
            request.bearer_auth(&secret)
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // The other node knows them, by cookie and by token.
    assert_eq!(me(&two.base, true).await, 200);
    assert_eq!(me(&two.base, false).await, 200);
    let disabled = client
        .patch(format!("{}/api/v1/users/{id}", one.base))
        .bearer_auth(&admin)
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    // The very next requests, on the other node.
    assert_eq!(me(&two.base, true).await, 401);
    assert_eq!(me(&two.base, false).await, 401);
}
