//! lede's own Postgres cluster, run from the installed server binaries when no
//! `DATABASE_URL` is given. It listens only on a unix socket inside its directory.
//!
//! `initdb` and `postgres` refuse to run as root, so when lede is root they run as the
//! `postgres` system user, which then owns the cluster directory.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// Name of the superuser `initdb` creates; connections over the socket are trusted.
const SUPERUSER: &str = "lede";
const DATABASE: &str = "lede";

pub struct EmbeddedPostgres {
    dir: PathBuf,
    launch: Launch,
    /// Present when this process watches the cluster: it started it (then it restarts it
    /// when it dies, and stops it at the end), or it is a server that attached to one
    /// another lede runs (then it takes the cluster over if that lede goes away).
    supervisor: Option<Supervisor>,
}

/// A cluster this process started is stopped when its handle goes, however that happens
/// (a test that panics included): no postmaster outlives its owner.
impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Server settings for a throwaway cluster (tests) versus one that keeps data (serve).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

/// What a data directory's `postmaster.pid` says, checked against the live process.
enum Postmaster {
    /// No pid file.
    None,
    /// A postmaster of this directory is running with this pid.
    Live(libc::pid_t),
    /// A pid file left behind: its pid is gone, a zombie, or another program now.
    Stale,
    /// A standalone backend (another process's `initdb`) is at work: wait for it.
    Busy,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `dir` (creating it on first use), or attaches to the one
    /// another running lede owns there (e.g. `lede token create` beside the server). A
    /// cluster left running by a lede that is gone is stopped and started afresh, so this
    /// process owns and watches it.
    pub fn start(dir: &Path, durability: Durability) -> anyhow::Result<Self> {
        Self::start_with(dir, durability, &[])
    }

    /// `start`, with server settings (`name=value`) over lede's own: a cluster that also
    /// listens on TCP, with TLS (as the tests' stand-in for an external server).
    pub fn start_with(
        dir: &Path,
        durability: Durability,
        settings: &[String],
    ) -> anyhow::Result<Self> {
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

        let launch = Launch {
            bin,
            log: dir.with_extension("log"),
            dir: dir.clone(),
            durability,
            owner,
            settings: settings.to_vec(),
        };
        let mut cluster = EmbeddedPostgres {
            dir,
            launch,
            supervisor: None,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while matches!(postmaster(&cluster.dir), Postmaster::Busy) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        match postmaster(&cluster.dir) {
            Postmaster::Live(pid) if owner_is_running(&cluster.dir) => {
                cluster.wait_ready_for(None)?;
                tracing::debug!(pid, "attached to the embedded Postgres another lede runs");
                return Ok(cluster);
            }
            Postmaster::Live(pid) => {
                tracing::warn!(
                    pid,
                    "the embedded Postgres was left running by a lede that is gone; restarting it"
                );
                stop_and_wait(pid);
            }
            Postmaster::Stale => {
                tracing::warn!(
                    "removing a stale postmaster.pid (no postmaster of this directory runs)"
                );
                let _ = fs::remove_file(cluster.dir.join("postmaster.pid"));
            }
            Postmaster::None => {}
            Postmaster::Busy => bail!(
                "another process has been preparing {} for over a minute",
                cluster.dir.display()
            ),
        }
        let child = cluster.launch.spawn()?;
        cluster.wait_ready_for(Some(child.id() as libc::pid_t))?;
        cluster.supervise(Some(child))?;
        Ok(cluster)
    }

    /// For a server: when it only attached, it also watches the cluster, and takes it over
    /// (starts it, then owns it) if the lede that runs it stops it or dies. A second server
    /// on the same data, or one started while `lede token create` held the cluster, keeps
    /// its database.
    pub fn watch(mut self) -> anyhow::Result<Self> {
        if self.supervisor.is_none() {
            self.supervise(None)?;
        }
        Ok(self)
    }

    fn supervise(&mut self, child: Option<Child>) -> anyhow::Result<()> {
        let stopping = Arc::new(AtomicBool::new(false));
        let launch = self.launch.clone();
        let flag = stopping.clone();
        let thread = std::thread::Builder::new()
            .name("postgres-supervisor".into())
            .spawn(move || supervise(child, launch, flag))?;
        self.supervisor = Some(Supervisor {
            stopping,
            thread: Some(thread),
        });
        Ok(())
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
        if !found.exists
            && let Err(error) = diesel::sql_query(format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await
        {
            // Another lede on the same data made it at the same moment: that is fine.
            if !error.to_string().contains("already exists")
                && !error.to_string().contains("duplicate key")
            {
                return Err(error.into());
            }
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

    /// Stops the cluster if this process owns it (fast shutdown: running transactions are
    /// rolled back, data is flushed, the next start needs no recovery); leaves one another
    /// lede owns running for it.
    pub fn stop(&mut self) {
        if let Some(mut supervisor) = self.supervisor.take() {
            supervisor.stopping.store(true, Ordering::SeqCst);
            if let Some(thread) = supervisor.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// Waits until the pid file says `ready` (Postgres writes it when accepting connections)
    /// and its socket answers. `child`: a postmaster just started, whose early exit ends the
    /// wait with its log.
    fn wait_ready_for(&mut self, child: Option<libc::pid_t>) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = fs::read_to_string(self.dir.join("postmaster.pid")).unwrap_or_default();
            let port = status
                .lines()
                .nth(3)
                .map(str::trim)
                .unwrap_or("5432")
                .to_owned();
            if status.lines().nth(7).map(str::trim) == Some("ready")
                && std::os::unix::net::UnixStream::connect(
                    self.dir.join(format!(".s.PGSQL.{port}")),
                )
                .is_ok()
            {
                return Ok(());
            }
            if let Some(pid) = child
                && !is_alive(pid)
            {
                let tail = fs::read_to_string(&self.launch.log)
                    .map(|t| t.lines().rev().take(15).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default();
                bail!("postgres exited while starting; its log ends with:\n{tail}");
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

/// The thread that watches the cluster.
struct Supervisor {
    stopping: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How to start the postmaster, again when it dies.
#[derive(Clone)]
struct Launch {
    bin: PathBuf,
    dir: PathBuf,
    log: PathBuf,
    durability: Durability,
    owner: Option<(u32, u32)>,
    /// `name=value` settings after lede's own (which they override).
    settings: Vec<String>,
}

impl Launch {
    /// Starts the postmaster and records this process as the cluster's owner.
    fn spawn(&self) -> anyhow::Result<Child> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&self.dir)
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "listen_addresses=", "-c", "max_connections=200"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for lede must not stop the database
            // under requests that are still finishing.
            .process_group(0);
        if self.durability == Durability::Throwaway {
            postgres.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        for setting in &self.settings {
            postgres.arg("-c").arg(setting);
        }
        run_as(&mut postgres, self.owner);
        let child = postgres.spawn().context("cannot start postgres")?;
        fs::write(owner_file(&self.dir), std::process::id().to_string())
            .context("cannot write the cluster's owner file")?;
        Ok(child)
    }
}

/// Watches the cluster every 100 ms until lede stops it. A postmaster this process started
/// is waited on (so a dead one is reaped, never left a zombie) and started again: first
/// after 200 ms, then with a growing pause while it keeps failing (the backends of a killed
/// postmaster may hold its shared memory for a moment); Postgres recovers from its WAL, so
/// every acknowledged write is there. Without one, it starts the cluster when nobody runs
/// it (its owner stopped it or died). Only this thread signals the postmaster it started,
/// so no signal ever reaches a pid that was reaped and reused.
fn supervise(mut child: Option<Child>, launch: Launch, stopping: Arc<AtomicBool>) {
    const FIRST_PAUSE: Duration = Duration::from_millis(200);
    let mut pause = FIRST_PAUSE;
    let mut next_try = Instant::now();
    let mut started = Instant::now();
    loop {
        if stopping.load(Ordering::SeqCst) {
            if let Some(mut postmaster) = child.take() {
                // SAFETY: kill(2) on our own child, not yet reaped.
                unsafe { libc::kill(postmaster.id() as libc::pid_t, libc::SIGINT) };
                let _ = postmaster.wait();
                let _ = fs::remove_file(owner_file(&launch.dir));
            }
            return;
        }
        match child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => {}
            Some(exit) => {
                if started.elapsed() > Duration::from_secs(60) {
                    pause = FIRST_PAUSE;
                }
                tracing::error!(?exit, retry_in = ?pause, "the embedded Postgres stopped; starting it again");
                child = None;
                next_try = Instant::now() + pause;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            None if Instant::now() >= next_try => match postmaster(&launch.dir) {
                Postmaster::Live(_) if owner_is_running(&launch.dir) => {}
                Postmaster::Busy => {}
                state => {
                    match state {
                        Postmaster::Live(pid) => stop_and_wait(pid),
                        Postmaster::Stale => {
                            let _ = fs::remove_file(launch.dir.join("postmaster.pid"));
                        }
                        Postmaster::None | Postmaster::Busy => {}
                    }
                    match launch.spawn() {
                        Ok(next) => {
                            tracing::info!(pid = next.id(), "the embedded Postgres is starting");
                            child = Some(next);
                            started = Instant::now();
                        }
                        Err(error) => {
                            tracing::error!(%error, "cannot start the embedded Postgres");
                            next_try = Instant::now() + pause;
                            pause = (pause * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            },
            None => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where the pid of the lede that owns the cluster in `dir` is kept.
fn owner_file(dir: &Path) -> PathBuf {
    dir.with_extension("owner")
}

/// Whether another lede that started the cluster in `dir` still runs.
fn owner_is_running(dir: &Path) -> bool {
    fs::read_to_string(owner_file(dir))
        .ok()
        .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
        .is_some_and(|pid| pid as u32 != std::process::id() && is_alive(pid))
}

/// What the pid file in `dir` says, checked: the process must be alive (not a zombie), be
/// `postgres`, and serve this directory.
fn postmaster(dir: &Path) -> Postmaster {
    let Ok(text) = fs::read_to_string(dir.join("postmaster.pid")) else {
        return Postmaster::None;
    };
    let mut lines = text.lines();
    let pid = lines
        .next()
        .and_then(|l| l.trim().parse::<libc::pid_t>().ok());
    let data_dir = lines.next().map(str::trim).map(PathBuf::from);
    // A standalone backend (initdb's) writes its pid negated.
    match pid {
        Some(pid) if pid < 0 && is_alive(-pid) => Postmaster::Busy,
        Some(pid) if is_alive(pid) && is_postgres(pid) && data_dir.is_some_and(|d| d == dir) => {
            Postmaster::Live(pid)
        }
        _ => Postmaster::Stale,
    }
}

/// Whether `pid` is a live process (a zombie is not: it is dead, waiting to be reaped).
fn is_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        // No /proc (macOS): the signal said it exists.
        Err(_) => true,
    }
}

/// Whether `pid` runs the `postgres` program (a reused pid of another program is not).
fn is_postgres(pid: libc::pid_t) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(name) => name.trim() == "postgres",
        Err(_) => true,
    }
}

/// Asks a postmaster left behind to stop, and waits (at most 30 s) until it is gone.
fn stop_and_wait(pid: libc::pid_t) {
    // SAFETY: kill(2) on the postmaster of our own data directory (checked by the caller).
    unsafe { libc::kill(pid, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while is_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
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
    let name = c"postgres";
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
