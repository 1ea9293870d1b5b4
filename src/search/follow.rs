//! Keeping the index current: opened (or built from Postgres) at start, then fed from the
//! change feed: woken by each change's notification, and polling every second besides, so
//! a lost notification loses nothing. The feed is read up to the oldest writing transaction
//! still running in the cluster: one left open holds every node's index back until it ends
//! (set `idle_in_transaction_session_timeout`).
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::Utc;
use tantivy::directory::MmapDirectory;
use tantivy::{Index, TantivyError};
use uuid::Uuid;

use super::documents::{self, IndexedArticle};
use super::{Engine, Payload, SCHEMA_VERSION, Search, schema};
use crate::changes::{self, Key, Position, Subject};
use crate::db::Pool;
use crate::response_cache::ResponseCache;

/// Changes read per batch, articles loaded per query.
const BATCH: i64 = 1_000;
const LOAD: usize = 500;
/// The writer's indexing memory (tantivy's minimum is 15 MB per thread).
const WRITER_HEAP: usize = 64 * 1024 * 1024;
/// An index whose last commit is older than this may have missed pruned changes (the feed
/// keeps 7 days): it is rebuilt. A quiet index commits its position this often.
const TRUSTED_FOR: chrono::TimeDelta = chrono::TimeDelta::days(6);
const PERSIST_EVERY: Duration = Duration::from_secs(600);

/// This node's index: opened or built, then followed until the process ends (spawn it).
/// `pool` is one for background work; the answers `cache` made from the index are dropped
/// when it commits.
pub async fn follow(pool: &Pool, search: &Search, cache: &ResponseCache) {
    loop {
        if let Err(error) = run(pool, search, cache).await {
            tracing::warn!(%error, "search index: retrying");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn run(pool: &Pool, search: &Search, cache: &ResponseCache) -> anyhow::Result<()> {
    let engine = match search.engine() {
        Some(engine) => engine,
        None => {
            let engine = open_or_build(pool, search).await?;
            if let Ok(mut slot) = search.engine.write() {
                *slot = Some(engine.clone());
            }
            // Wakes those waiting for the index to open (`Search::until_ready`).
            search.position.send_modify(|_| ());
            engine
        }
    };
    let database = {
        let mut conn = crate::db::conn(pool).await?;
        documents::database_identity(&mut conn).await?
    };
    let mut persisted = Instant::now();
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), search.wake.notified()).await;
        let persist = persisted.elapsed() > PERSIST_EVERY;
        let changed = catch_up(pool, search, cache, &engine, &database, persist).await?;
        if changed {
            persisted = Instant::now();
        }
    }
}

/// Applies every final change since the index's position, a batch of articles at a time,
/// and commits. True when it committed (a quiet index still commits its position when
/// `persist`, so it is not taken for stale later).
async fn catch_up(
    pool: &Pool,
    search: &Search,
    cache: &ResponseCache,
    engine: &Arc<Engine>,
    database: &str,
    persist: bool,
) -> anyhow::Result<bool> {
    let mut conn = crate::db::conn(pool).await?;
    let mut position = *search.position.borrow();
    let mut touched = false;
    loop {
        let (changes, next) = changes::read(&mut conn, position, BATCH).await?;
        if next == position {
            break;
        }
        let mut ids = BTreeSet::new();
        let mut owners = Vec::new();
        for entry in &changes {
            // What each subject means to the index: articles are its documents; authors
            // and tags are in them, when a change touches what articles show (a byline, a
            // tag's name or slug). A newer release's change counts for what it is about,
            // whatever it did (indexing again is harmless).
            let Some((subject, keys)) = entry.about() else {
                continue;
            };
            match subject {
                Subject::Article(id) => {
                    ids.insert(id);
                }
                Subject::Author(id) if keys.contains(&Key::Byline(id)) => owners.push(id),
                Subject::Tag(id) if keys.contains(&Key::Articles) => owners.push(id),
                Subject::Author(_)
                | Subject::Tag(_)
                | Subject::Image(_)
                | Subject::Comment(_)
                | Subject::Comments
                | Subject::Token(_)
                | Subject::Webhook(_)
                | Subject::User(_)
                | Subject::Settings => {}
            }
        }
        if !owners.is_empty() {
            // Those Postgres links them with now, and those the index links them with (a
            // deleted tag's rows are gone from Postgres, not from the documents).
            ids.extend(documents::touched_by(&mut conn, &owners).await?);
            let indexed = engine.clone();
            ids.extend(web::block(move || indexed.with_keys(&owners)).await??);
        }
        let ids: Vec<Uuid> = ids.into_iter().collect();
        for chunk in ids.chunks(LOAD) {
            let articles = documents::by_ids(&mut conn, chunk).await?;
            let (engine, chunk) = (engine.clone(), chunk.to_vec());
            web::block(move || engine.replace(&chunk, &articles, None)).await??;
            touched = true;
        }
        position = next;
    }
    if !touched && !persist {
        search.position.send_replace(position);
        return Ok(false);
    }
    let payload = payload(&search.language, database, position);
    let committing = engine.clone();
    web::block(move || committing.replace(&[], &[], Some(&payload))).await??;
    search.position.send_replace(position);
    // Answers made from the index before this are stale now.
    cache.invalidate(&[Key::Search]);
    Ok(true)
}

fn payload(language: &str, database: &str, position: Position) -> Payload {
    Payload {
        schema: SCHEMA_VERSION,
        language: language.to_owned(),
        database: database.to_owned(),
        txid: position.txid,
        id: position.id,
        at: Utc::now(),
    }
}

/// The index as it stands on disk when it is this database's, of this version and recent;
/// else built anew from the articles.
async fn open_or_build(pool: &Pool, search: &Search) -> anyhow::Result<Arc<Engine>> {
    let mut conn = crate::db::conn(pool).await?;
    let database = documents::database_identity(&mut conn).await?;
    drop(conn);
    let (dir, language) = (search.dir.clone(), search.language.clone());
    let engine = web::block(move || open(dir.as_deref(), &language)).await??;
    let horizon = {
        let mut conn = crate::db::conn(pool).await?;
        changes::horizon(&mut conn).await?
    };
    // Ahead of the feed: made before the database was restored from a backup.
    let trusted = engine.payload().filter(|p| {
        p.schema == SCHEMA_VERSION
            && p.language == search.language
            && p.database == database
            && p.txid <= horizon.txid
            && Utc::now() - p.at < TRUSTED_FOR
    });
    let position = match trusted {
        Some(payload) => Position {
            txid: payload.txid,
            id: payload.id,
        },
        None => {
            tracing::info!("search index: building from the articles");
            let started = Instant::now();
            let (position, count) =
                build(pool, &engine, &search.language, &database, |_, _| {}).await?;
            tracing::info!(
                articles = count,
                seconds = started.elapsed().as_secs_f64(),
                "search index: built"
            );
            position
        }
    };
    search.position.send_replace(position);
    Ok(engine)
}

/// This node's index: the one in `dir` (made when missing), or one in memory when another
/// process holds that (two nodes sharing a data directory) or it cannot be read (kept for
/// a look, never deleted).
fn open(dir: Option<&Path>, language: &str) -> anyhow::Result<Arc<Engine>> {
    let in_memory = || -> anyhow::Result<Arc<Engine>> {
        let (schema, _) = schema();
        Ok(Arc::new(Engine::new(
            Index::create_in_ram(schema),
            language,
            WRITER_HEAP,
        )?))
    };
    let Some(dir) = dir else {
        return in_memory();
    };
    match open_dir(dir, language) {
        Ok(Some(engine)) => Ok(Arc::new(engine)),
        Ok(None) => {
            tracing::warn!(dir = %dir.display(), "search index: another process holds it; this node keeps one in memory");
            in_memory()
        }
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "search index: unreadable; this node keeps one in memory");
            in_memory()
        }
    }
}

/// The index in `dir`, made when missing; `None` when another process holds its writer.
fn open_dir(dir: &Path, language: &str) -> anyhow::Result<Option<Engine>> {
    std::fs::create_dir_all(dir)?;
    let (schema, _) = schema();
    let index = Index::open_or_create(MmapDirectory::open(dir)?, schema)?;
    match Engine::new(index, language, WRITER_HEAP) {
        Ok(engine) => Ok(Some(engine)),
        Err(TantivyError::LockFailure(..)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Fills the index with every article, from the position the feed is at before reading
/// them (a change made meanwhile is applied again by the follower: harmless). `progress` is
/// told (done, total) after each batch.
async fn build(
    pool: &Pool,
    engine: &Arc<Engine>,
    language: &str,
    database: &str,
    progress: impl Fn(u64, u64),
) -> anyhow::Result<(Position, u64)> {
    let mut conn = crate::db::conn(pool).await?;
    let position = changes::horizon(&mut conn).await?;
    let total = documents::count(&mut conn).await?;
    let cleared = engine.clone();
    web::block(move || cleared.clear()).await??;
    let mut after = None;
    let mut done = 0u64;
    loop {
        let page: Vec<IndexedArticle> = documents::page(&mut conn, after, LOAD as i64).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        done += page.len() as u64;
        let engine = engine.clone();
        web::block(move || engine.replace(&[], &page, None)).await??;
        progress(done, total);
    }
    let payload = payload(language, database, position);
    let engine = engine.clone();
    web::block(move || engine.replace(&[], &[], Some(&payload))).await??;
    Ok((position, done))
}

/// `lede search reindex`: builds the index in `dir` anew, with a progress bar on a terminal
/// (a line per 10,000 articles otherwise). A running lede holds the index: it must be
/// stopped first (it rebuilds a missing or stale index itself at start).
pub async fn rebuild_offline(pool: &Pool, dir: PathBuf, language: &str) -> anyhow::Result<u64> {
    let mut conn = crate::db::conn(pool).await?;
    let database = documents::database_identity(&mut conn).await?;
    drop(conn);
    let index_dir = dir.clone();
    let index_language = language.to_owned();
    let engine = match web::block(move || open_dir(&index_dir, &index_language)).await? {
        Ok(Some(engine)) => Arc::new(engine),
        Ok(None) => anyhow::bail!(
            "a running lede holds the search index in {}; stop it first (it rebuilds a \
             missing or stale index itself when it starts)",
            dir.display()
        ),
        Err(error) => anyhow::bail!(
            "cannot open the search index in {}: {error}; remove that directory and run again",
            dir.display()
        ),
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} articles, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let terminal = std::io::stderr().is_terminal();
    let (_, count) = build(pool, &engine, language, &database, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        if !terminal && (done % 10_000 < LOAD as u64 || done == total) {
            eprintln!("  {done}/{total} articles");
        }
    })
    .await?;
    bar.finish_and_clear();
    Ok(count)
}
