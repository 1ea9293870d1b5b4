//! The `lede` command: `serve` (the default), `migrate`, `token create`, `openapi`.
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lede::config::{Config, LogFormat};
use lede::db::embedded::{Durability, EmbeddedPostgres};
use lede::principal::Role;

#[derive(Parser)]
#[command(
    name = "lede",
    version,
    about = "A headless JSON content API: articles, images, authors and comments from Postgres.",
    long_about = "A headless JSON content API.\n\nWithout DATABASE_URL, lede runs its own \
        Postgres under <data-dir>/postgres (the server package must be installed). Every \
        flag can also be set with the environment variable shown."
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage people: invite them, or make a link to reset a password.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Manage server secrets.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Manage this node's search index.
    Search {
        #[command(subcommand)]
        action: SearchAction,
    },
    /// Work on stored images.
    Images {
        #[command(subcommand)]
        action: ImagesAction,
    },
    /// Bring content over from another system.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Print the OpenAPI document (refresh the committed one with
    /// `cargo run -- openapi > openapi/openapi.json`).
    Openapi,
    /// Load benchmark data: published articles of ~1,500 words with five figures each.
    #[command(hide = true)]
    Seed {
        #[arg(long, default_value_t = 10_000)]
        articles: usize,
    },
}

#[derive(Subcommand)]
enum ImagesAction {
    /// Give images stored before this version what uploads get now (the named crops, the
    /// placeholder and average colour, AVIF and WebP), from their originals. Beside a running lede or
    /// not; stopped and run again, it goes on with the images still wanting.
    Reprocess,
}

#[derive(Subcommand)]
enum ImportSource {
    /// A WordPress export (Tools > Export, WXR 1.1 or 1.2): authors, categories and tags,
    /// posts, pages, their images and comments. Run it again to bring over what changed in
    /// WordPress: a post already here (found by `external_id` `wp:<post id>`) is replaced
    /// by WordPress's version, unless it was edited in lede since or an image it shows
    /// cannot be had this time.
    Wordpress {
        /// The export file (.xml).
        file: std::path::PathBuf,
        /// A copy of the site's `wp-content/uploads` folder: images are read from it
        /// instead of fetched from their URLs.
        #[arg(long)]
        uploads: Option<std::path::PathBuf>,
        /// Read and convert everything and report, without writing.
        #[arg(long)]
        dry_run: bool,
        /// Fetch images from private addresses too (a WordPress on an intranet); by
        /// default only public addresses are fetched from.
        #[arg(long)]
        fetch_private: bool,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Replace the secret preview links are signed with: every preview link made so far
    /// stops working at once (on every node; lede may be running).
    Rotate,
}

#[derive(Subcommand)]
enum SearchAction {
    /// Build the search index anew from the articles in Postgres (with lede stopped: a
    /// running lede rebuilds a missing or stale index itself).
    Reindex,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Make a token and print its secret (alone, on stdout): `TOKEN=$(lede token create --role admin)`.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// The author (slug or id) an `author` token writes as.
        #[arg(long)]
        author: Option<String>,
        /// A label to tell tokens apart.
        #[arg(long, default_value = "made with lede token create")]
        name: String,
    },
}

#[derive(Subcommand)]
enum UsersAction {
    /// Invite a person and print the link where they choose a password (alone, on stdout;
    /// it works once, for 7 days). Works before anyone exists: a new site's first admin.
    Invite {
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// How the desk names them (default: the email's name part).
        #[arg(long)]
        name: Option<String>,
        /// The byline (author slug or id) they write under.
        #[arg(long)]
        author: Option<String>,
    },
    /// Print a link where a person chooses a new password (alone, on stdout).
    Reset { email: String },
}

/// glibc gives every allocation over 128 KB its own mapping and unmaps it when freed. The
/// search index's writer allocates and frees megabytes of arenas on every commit (one per
/// write that reaches it): each time the pages are mapped, faulted in and zeroed again, and a
/// burst of writes spent more CPU in that than in indexing (measured: 300 publishes in 6.2 s,
/// 3.4 s with this). Below 32 MB allocations come from the heap, and up to 128 MB of freed
/// memory is kept for the next ones; larger buffers (a decoded photo) are still returned.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called first, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    lede::memory::few_arenas();
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Some(
            Command::Token { .. }
                | Command::Users { .. }
                | Command::Openapi
                | Command::Import { .. }
        )
    );
    init_logging(cli.config.log_format, quiet);
    let result = actix_web::rt::System::new().block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `target=level` from literals, which parse (every start of lede reads them).
#[allow(clippy::expect_used)]
fn directive(target: &str, level: &str) -> tracing_subscriber::filter::Directive {
    format!("{target}={level}")
        .parse()
        .expect("a valid directive")
}

fn init_logging(format: LogFormat, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "warn" } else { "info" };
    // html5ever (ammonia's and the importer's HTML parser) warns of every odd tag it mends;
    // tantivy (the search index) tells of every commit and merge at `info`, about six lines
    // a write: a log line is for an operator to act on, unless `LEDE_LOG` names them.
    // Only ever quieter than asked: with `LEDE_LOG=error` no tantivy warning comes back.
    use tracing_subscriber::filter::LevelFilter;
    let asked = std::env::var("LEDE_LOG").unwrap_or_default();
    let mut filter =
        EnvFilter::try_from_env("LEDE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let most = filter.max_level_hint().unwrap_or(LevelFilter::TRACE);
    for (target, level, quieter) in [
        ("html5ever", "error", LevelFilter::ERROR),
        ("tantivy", "warn", LevelFilter::WARN),
    ] {
        if most > quieter && !asked.contains(target) {
            filter = filter.add_directive(directive(target, level));
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", lede::openapi_json());
            Ok(())
        }
        Command::Serve => serve(config).await,
        Command::Seed { articles } => {
            long_command(config, async |url, config| {
                let state = lede::AppState::new(lede::pool_for(&url, &config)?, &config).await?;
                let started = std::time::Instant::now();
                lede::demo::seed_benchmark(&state, articles).await?;
                eprintln!(
                    "{articles} articles in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
            .await
        }
        Command::Images {
            action: ImagesAction::Reprocess,
        } => {
            long_command(config, async |url, config| {
                let state = lede::AppState::new(lede::pool_for(&url, &config)?, &config).await?;
                let ids = lede::images::rendition::wanting(&state).await?;
                let started = std::time::Instant::now();
                let mut progress = lede::progress::Progress::new(ids.len(), "images");
                let mut failed = 0;
                for id in &ids {
                    if let Err(error) = lede::images::rendition::complete(&state, *id).await {
                        failed += 1;
                        eprintln!("image {id}: {error}");
                    }
                    progress.tick();
                }
                drop(progress);
                eprintln!(
                    "{} image(s) processed again, {failed} failed, in {:.1} s",
                    ids.len() - failed,
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
            .await
        }
        Command::Import {
            source:
                ImportSource::Wordpress {
                    file,
                    uploads,
                    dry_run,
                    fetch_private,
                },
        } => {
            let options = lede::import::Options {
                file,
                uploads,
                dry_run,
                fetch_private,
            };
            let started = std::time::Instant::now();
            let export = lede::import::read(&options.file)?;
            // A dry run too: it compares with the database (and writes nothing).
            let mut summary = None;
            long_command(config, async |url, config| {
                let state = lede::AppState::new(lede::pool_for(&url, &config)?, &config).await?;
                summary = Some(lede::import::wordpress(&state, export, &options).await?);
                Ok(())
            })
            .await?;
            let summary = summary.ok_or_else(|| anyhow::anyhow!("the import did not run"))?;
            print!("{summary}");
            eprintln!("in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Search {
            action: SearchAction::Reindex,
        } => {
            long_command(config, async |url, config| {
                let database = lede::pool_for(&url, &config)?;
                let dir = lede::search::version_dir(&config.search_index_dir());
                let started = std::time::Instant::now();
                let count =
                    lede::search::rebuild_offline(&database.pool, dir, &config.search_language)
                        .await?;
                eprintln!(
                    "search index rebuilt: {count} articles in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
            .await
        }
        Command::Secrets {
            action: SecretsAction::Rotate,
        } => {
            one_off(&config, async |url| {
                lede::db::run_migrations(&url).await?;
                let mut conn = lede::db::connect(&url).await?;
                lede::articles::preview::rotate_secret(&mut conn)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            eprintln!("The preview secret was replaced: earlier preview links no longer work.");
            Ok(())
        }
        Command::Migrate => {
            let applied =
                one_off(&config, async |url| lede::db::run_migrations(&url).await).await?;
            eprintln!("{} migration(s) applied", applied.len());
            for name in applied {
                eprintln!("  {name}");
            }
            Ok(())
        }
        Command::Token {
            action: TokenAction::Create { role, author, name },
        } => {
            let secret = one_off(&config, async |url| {
                create_token(&url, role, author.as_deref(), &name).await
            })
            .await?;
            println!("{secret}");
            eprintln!(
                "A new {} token; the secret above is shown only now. Use it as:\n  \
                 curl -H 'Authorization: Bearer {secret}' http://{}/api/v1/tokens",
                role.as_str(),
                config.bind
            );
            Ok(())
        }
        Command::Users { action } => {
            let base = lede::origin::Origin::new(
                config.public_url.as_deref(),
                config.bind,
                &config.trusted_proxies,
            )?
            .configured_base()
            .to_owned();
            let (page, link) = one_off(&config, async |url| people(&url, action).await).await?;
            println!("{base}/desk/{page}#token={}", link.secret);
            eprintln!(
                "The link above is for {} ({}); it works once, until {}. Or, without the desk:\n  \
                 curl -X POST {base}/api/v1/auth/accept -H 'Content-Type: application/json' \\\n    \
                 -d '{{\"token\": \"<what follows #token= above>\", \"password\": \"<at least 12 characters>\"}}'",
                link.user.name,
                link.user.email,
                link.expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            Ok(())
        }
    }
}

/// `lede users ...`, as the command line (a system actor): the page the link opens, and it.
async fn people(
    url: &str,
    action: UsersAction,
) -> anyhow::Result<(&'static str, lede::users::write::Link)> {
    use lede::users::write;
    lede::db::run_migrations(url).await?;
    let mut conn = lede::db::connect(url).await?;
    let cli = lede::principal::Principal::system("command line");
    let problem = |e: lede::error::ApiError| {
        let draft = e.draft();
        let fields: String = draft
            .errors
            .iter()
            .map(|f| format!("\n  {}", f.message))
            .collect();
        anyhow::anyhow!("{}{fields}", draft.detail)
    };
    match action {
        UsersAction::Invite {
            email,
            role,
            name,
            author,
        } => {
            let author_id = match author {
                Some(key) => Some(
                    lede::authors::queries::find(&mut conn, &key)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no author with slug or id `{key}`"))?
                        .id,
                ),
                None => None,
            };
            let mut checks = lede::http::validate::Checks::new();
            let email = checks.email("email", Some(&email)).unwrap_or_default();
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            let name = checks.text("name", &name, 100);
            checks.finish().map_err(problem)?;
            let invitation = write::Invitation {
                email,
                name,
                role,
                author_id,
            };
            Ok((
                "accept",
                write::invite(&mut conn, &cli, invitation)
                    .await
                    .map_err(problem)?,
            ))
        }
        UsersAction::Reset { email } => {
            let user = lede::users::queries::by_email(&mut conn, &email)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no person with email `{email}`"))?;
            let link = write::reset_link(&mut conn, &cli, user.id)
                .await
                .map_err(problem)?;
            let page = if link.user.status() == lede::users::model::UserStatus::Invited {
                "accept"
            } else {
                "reset"
            };
            Ok((page, link))
        }
    }
}

/// The database to use: `DATABASE_URL`, or the embedded cluster (started, or attached to
/// when a running lede already started it). A server (`watch`) also takes over a cluster it
/// attached to when the lede running it goes away.
async fn database(
    config: &Config,
    watch: bool,
) -> anyhow::Result<(String, Option<EmbeddedPostgres>)> {
    if let Some(url) = &config.database_url {
        return Ok((url.clone(), None));
    }
    let dir = config.data_dir.join("postgres");
    let cluster = tokio::task::spawn_blocking(move || {
        let cluster = EmbeddedPostgres::start(&dir, Durability::Durable)?;
        if watch { cluster.watch() } else { Ok(cluster) }
    })
    .await??;
    let url = cluster.database_url().await?;
    Ok((url, Some(cluster)))
}

/// A one-off command that may take long (seeding, rebuilding the index): on a migrated
/// database, without a statement timeout.
async fn long_command(
    config: Config,
    work: impl AsyncFnOnce(String, Config) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let config = Config {
        statement_timeout_ms: 0,
        ..config
    };
    one_off(&config.clone(), async |url| {
        lede::db::run_migrations(&url).await?;
        work(url, config).await
    })
    .await
}

/// Runs a one-off command on the database until it ends, or until SIGINT or SIGTERM asks it
/// to stop: then it is abandoned (its transactions roll back) and the cluster released.
///
/// The signals are listened for before the cluster starts: a stop that arrives while Postgres
/// is starting is remembered and ends the command once it may, never the default kill that
/// would leave the cluster running without an owner.
async fn one_off<T>(
    config: &Config,
    work: impl AsyncFnOnce(String) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (url, cluster) = database(config, false).await?;
    let result = tokio::select! {
        // A stop that came during startup wins over beginning the work.
        biased;
        _ = terminate.recv() => Err(anyhow::anyhow!("stopped by SIGTERM")),
        _ = interrupt.recv() => Err(anyhow::anyhow!("stopped by SIGINT")),
        result = work(url) => result,
    };
    release(cluster).await;
    result
}

async fn create_token(
    url: &str,
    role: Role,
    author: Option<&str>,
    name: &str,
) -> anyhow::Result<String> {
    lede::db::run_migrations(url).await?;
    let mut conn = lede::db::connect(url).await?;
    let author_id = match (role, author) {
        (role, None) if role.is_bound() => {
            anyhow::bail!("an {} token needs --author <slug or id>", role.as_str())
        }
        (role, Some(_)) if !role.is_bound() => {
            anyhow::bail!("only author and contributor tokens take --author")
        }
        (_, Some(key)) => Some(
            lede::authors::queries::find(&mut conn, key)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no author with slug or id `{key}`"))?
                .id,
        ),
        (_, None) => None,
    };
    let (_, secret) = lede::auth::tokens::create(
        &mut conn,
        &lede::principal::Actor::system("command line"),
        name,
        role,
        author_id,
        None,
    )
    .await?;
    Ok(secret)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (url, cluster) = database(&config, true).await?;
    let result = serve_on(&config, &url, started).await;
    release(cluster).await;
    result
}

/// After a command: stops the cluster only if this process started it (one another lede
/// runs is left to it).
async fn release(cluster: Option<EmbeddedPostgres>) {
    if let Some(mut cluster) = cluster {
        let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
    }
}

/// How long the first words wait for the search index to open.
const SAY_READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

async fn serve_on(config: &Config, url: &str, started: std::time::Instant) -> anyhow::Result<()> {
    let applied = lede::db::run_migrations(url).await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "migrations applied");
    }
    let state = lede::AppState::new(lede::pool_for(url, config)?, config)
        .await?
        .with_database_url(url);
    let first_admin = {
        let mut conn = lede::db::connect(url).await?;
        lede::demo::first_start(&state, &mut conn, config.demo).await?
    };
    let listener = TcpListener::bind(config.bind).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e} (set --bind or LEDE_BIND)",
            config.bind
        )
    })?;
    let address = listener.local_addr()?;
    let search = state.search.clone();
    let server = lede::serve(state, listener, config.workers)?;
    // Running the server installs its SIGINT/SIGTERM handlers: do it before saying we are
    // up, so a stop signal sent right after is a graceful stop, never the default kill.
    let server = actix_web::rt::spawn(server);
    actix_web::rt::spawn(lede::memory::return_when_quiet());
    if let Some(address) = config.bench_ceiling {
        let body = match &config.bench_ceiling_body {
            Some(path) => Some(std::fs::read(path)?),
            None => None,
        };
        actix_web::rt::spawn(ceiling(address, config.workers, body)?);
    }
    tokio::task::yield_now().await;
    let base = lede::origin::Origin::new(
        config.public_url.as_deref(),
        address,
        &config.trusted_proxies,
    )?
    .configured_base()
    .to_owned();
    // "Ready" means what `/readyz` means: search answers too (a new node builds its index
    // first). A large site's build may take longer than anyone should wait for a word.
    match tokio::time::timeout(SAY_READY_WITHIN, search.until_ready()).await {
        Ok(()) => eprintln!(
            "lede is serving {base}/api/v1 (docs: {base}/docs), ready in {} ms",
            started.elapsed().as_millis()
        ),
        Err(_) => eprintln!(
            "lede is serving {base}/api/v1 (docs: {base}/docs); the search index is still \
             being built (search answers 503 until {base}/readyz says ready)"
        ),
    }
    match first_admin {
        Some(secret) => eprintln!(
            "\nFirst start: an admin token was made. Its secret is shown only this once:\n\n  {secret}\n\n\
             Try it:\n  curl -H 'Authorization: Bearer {secret}' {base}/api/v1/tokens\n"
        ),
        None => eprintln!(
            "Need a token? `lede token create --role admin` (from a checkout: \
             `cargo run --release -- token create --role admin`)."
        ),
    }
    server.await??;
    lede::stopping::stop().await;
    Ok(())
}

/// The framework's ceiling for benchmarks: the smallest useful actix-web handler, on the same
/// runtime settings, without lede's middleware, database or serialization. It serves `body`
/// (brotli-compressed bytes of an answer) when given, else a tiny JSON document.
fn ceiling(
    address: std::net::SocketAddr,
    workers: Option<usize>,
    body: Option<Vec<u8>>,
) -> anyhow::Result<actix_web::dev::Server> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let body = web::Bytes::from(body.unwrap_or_default());
    let mut server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let body = body.clone();
                async move {
                    let mut response = HttpResponse::Ok();
                    response.content_type("application/json");
                    if body.is_empty() {
                        return response.body(r#"{"status":"ok"}"#);
                    }
                    response
                        .insert_header(("Content-Encoding", "br"))
                        .body(body)
                }
            }),
        )
    })
    .bind(address)?;
    if let Some(workers) = workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.run())
}
