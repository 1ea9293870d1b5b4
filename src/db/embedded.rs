//! lede's own Postgres cluster, run from the installed server binaries when no
//! `DATABASE_URL` is given. It listens only on a unix socket inside its directory.
//!
//! `initdb` and `postgres` refuse to run as root, so when lede is root they run as the
//! `postgres` system user, which then owns the cluster directory.
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// Name of the superuser `initdb` creates; connections over the socket are trusted.
const SUPERUSER: &str = "lede";
const DATABASE: &str = "lede";

pub struct EmbeddedPostgres {
    dir: PathBuf,
    /// The postmaster when this process started it; `None` when it was already running.
    child: Option<Child>,
}

/// Server settings for a throwaway cluster (tests) versus one that keeps data (serve).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `dir` (creating it on first use), or attaches to the one
    /// already running there (e.g. `lede token create` while the server runs).
    pub fn start(dir: &Path, durability: Durability) -> anyhow::Result<Self> {
        let bin = find_binaries()?;
        let owner = cluster_owner()?;
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        if let Some((uid, gid)) = owner {
            check_reachable_by_postgres(&dir)?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;

        if !dir.join("PG_VERSION").exists() {
            let mut initdb = Command::new(bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(&dir)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .stdout(Stdio::null());
            if durability == Durability::Throwaway {
                initdb.arg("--no-sync");
            }
            run_as(&mut initdb, owner);
            let out = initdb.output().context("cannot run initdb")?;
            if !out.status.success() {
                bail!(
                    "initdb failed for {}:\n{}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }

        let mut cluster = EmbeddedPostgres { dir, child: None };
        if cluster.running_postmaster().is_some() {
            cluster.wait_ready(None)?;
            return Ok(cluster);
        }

        let log_path = cluster.dir.with_extension("log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&cluster.dir)
            .arg("-k")
            .arg(&cluster.dir)
            .args(["-c", "listen_addresses=", "-c", "max_connections=200"])
            .current_dir(&cluster.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for lede must not stop the database
            // under requests that are still finishing.
            .process_group(0);
        if durability == Durability::Throwaway {
            postgres.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        run_as(&mut postgres, owner);
        let child = postgres.spawn().context("cannot start postgres")?;
        cluster.child = Some(child);
        cluster.wait_ready(Some(&log_path))?;
        Ok(cluster)
    }

    /// A connection string for lede's database, creating that database when missing.
    pub async fn database_url(&self) -> anyhow::Result<String> {
        use diesel::prelude::*;
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let mut conn = AsyncPgConnection::establish(&self.url_for("postgres")).await?;
        let found: Exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<diesel::sql_types::Text, _>(DATABASE)
        .get_result(&mut conn)
        .await?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await?;
        }
        Ok(self.url_for(DATABASE))
    }

    /// A key-value connection string (the form tokio-postgres reads) for one database.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "host={} user={SUPERUSER} dbname={database}",
            self.dir.display()
        )
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the cluster if this process started it; leaves it running for whoever did
    /// (e.g. `lede token create` beside a running server).
    pub fn release(mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }

    /// Fast shutdown: running transactions are rolled back, data is flushed, and the next
    /// start needs no recovery. Stops a postmaster this process attached to as well (the
    /// server owns its data dir's cluster, even one a crashed run left behind).
    pub fn stop(&mut self) {
        let pid = match &self.child {
            Some(child) => Some(child.id() as libc::pid_t),
            None => self.running_postmaster(),
        };
        let Some(pid) = pid else { return };
        // SAFETY: kill(2) on a pid we started or read from the cluster's own pid file.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        match &mut self.child {
            Some(child) => loop {
                if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            },
            None => {
                while self.dir.join("postmaster.pid").exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        self.child = None;
    }

    /// The pid of a live postmaster serving this directory, from its pid file.
    fn running_postmaster(&self) -> Option<libc::pid_t> {
        let text = fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        let pid: libc::pid_t = text.lines().next()?.trim().parse().ok()?;
        // SAFETY: signal 0 only checks that the process exists.
        (unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
    }

    /// Waits until the pid file says `ready` (Postgres writes it when accepting connections).
    fn wait_ready(&mut self, log: Option<&Path>) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = fs::read_to_string(self.dir.join("postmaster.pid")).unwrap_or_default();
            if status.lines().nth(7).map(str::trim) == Some("ready") {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(exit)) = child.try_wait()
            {
                let tail = log
                    .and_then(|p| fs::read_to_string(p).ok())
                    .map(|t| t.lines().rev().take(15).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default();
                bail!("postgres exited ({exit}) while starting; its log ends with:\n{tail}");
            }
            if Instant::now() > deadline {
                bail!(
                    "postgres in {} did not become ready in 60 s",
                    self.dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The directory holding `initdb` and `postgres`: `LEDE_POSTGRES_BIN` when set, else
/// `PATH` first, then Debian's versioned directories under /usr/lib/postgresql (newest first).
pub fn find_binaries() -> anyhow::Result<PathBuf> {
    let pinned = std::env::var_os("LEDE_POSTGRES_BIN").map(PathBuf::from);
    let from_path = match &pinned {
        Some(dir) => vec![dir.clone()],
        None => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default(),
    };
    let mut debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()
        .filter(|_| pinned.is_none())
        .ok_or(())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    debian.sort_by_key(|p| {
        let version = p
            .parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str());
        std::cmp::Reverse(version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0))
    });
    from_path
        .into_iter()
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .ok_or_else(|| {
            anyhow!(
                "no PostgreSQL server binaries found (looked for `initdb` and `postgres` in PATH \
                 and /usr/lib/postgresql/*/bin).\n\
                 Either install them (Debian/Ubuntu: `apt-get install postgresql`; macOS: \
                 `brew install postgresql`) so lede can run its own database, or point lede at \
                 an existing server with DATABASE_URL=postgres://user:password@host/dbname."
            )
        })
}

/// `Some((uid, gid))` of the `postgres` user when this process is root (Postgres will not
/// run as root); `None` when the current user can run it.
fn cluster_owner() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").expect("literal has no NUL");
    // SAFETY: getpwnam returns a pointer to static storage or null; read it at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        bail!(
            "lede runs as root, and Postgres refuses to run as root, but there is no `postgres` \
             user to run it as. Install the server package (it creates that user), run lede as \
             an ordinary user, or set DATABASE_URL."
        );
    }
    // SAFETY: entry is non-null and points to a valid passwd record.
    Ok(Some(unsafe { ((*entry).pw_uid, (*entry).pw_gid) }))
}

/// The `postgres` user must be able to walk down to the cluster directory.
fn check_reachable_by_postgres(dir: &Path) -> anyhow::Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        let mode = fs::metadata(ancestor)?.permissions().mode();
        if mode & 0o001 == 0 {
            bail!(
                "the `postgres` user cannot reach {} because {} is not searchable by others \
                 (mode {:o}). Choose a data directory it can reach, e.g. \
                 LEDE_DATA_DIR=/var/lib/lede, or set DATABASE_URL.",
                dir.display(),
                ancestor.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

fn run_as(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        // std drops supplementary groups when it changes the uid of a root process.
        command.uid(uid).gid(gid);
    }
}
