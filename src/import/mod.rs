//! `lede import wordpress`: a WordPress export (WXR) into lede, through the same write code
//! the API uses. Each post is one transaction (the article, its comments); it is found again
//! by `external_id` `wp:<post id>`, so a second run changes nothing. Everything not brought
//! over is named in the summary.
mod comments;
pub mod html;
mod images;
mod people;
mod posts;
pub mod wxr;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use self::comments::*;
use self::images::*;
use self::people::*;
use self::posts::*;
use crate::articles;
use crate::articles::model::{Kind, NewArticle, Status};
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::response::IfMatch;
use crate::http::slugged::Slugged;
use crate::http::validate::Checks;
use crate::images::ImageText;
use crate::principal::Principal;
use crate::state::AppState;
use wxr::{Item, WpComment};

pub struct Options {
    pub file: PathBuf,
    pub uploads: Option<PathBuf>,
    pub dry_run: bool,
    /// Whether images may be fetched from private addresses (an intranet's WordPress). Off,
    /// a post's `<img src="http://169.254.169.254/...">` cannot make lede call inside.
    pub fetch_private: bool,
}

/// What a run did: counts per kind of thing, and every item not (wholly) brought over.
#[derive(Debug, Default)]
pub struct Summary {
    pub dry_run: bool,
    pub counts: BTreeMap<&'static str, Counts>,
    /// `what: why`, one per item or image.
    pub problems: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

impl Summary {
    fn count(&mut self, kind: &'static str) -> &mut Counts {
        self.counts.entry(kind).or_default()
    }

    /// Whether the run wrote anything.
    pub fn changed_anything(&self) -> bool {
        self.counts.values().any(|c| c.created + c.updated > 0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would be " } else { "" };
        for (kind, c) in &self.counts {
            writeln!(
                f,
                "{kind:>10}: {} {verb}created, {} {verb}updated, {} unchanged, {} not brought over",
                c.created, c.updated, c.unchanged, c.failed
            )?;
        }
        if !self.dry_run && !self.changed_anything() {
            writeln!(f, "Nothing changed: everything was already imported.")?;
        }
        if !self.problems.is_empty() {
            writeln!(
                f,
                "\nNot brought over, or not wholly ({}):",
                self.problems.len()
            )?;
            for problem in &self.problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        Ok(())
    }
}

/// Reads and checks the whole file (nothing is written when it is broken), keeping only
/// what every post may need.
pub fn read(file: &Path) -> anyhow::Result<wxr::Export> {
    wxr::scan(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Imports `export`, read from `options.file`. A dry run does all the real run does, each
/// post (and the authors and tags first) in a transaction that is rolled back, except
/// storing images (each is fetched or read and checked, and found among the stored ones or
/// counted as new): what it says is what the real run would say.
pub async fn wordpress(
    state: &AppState,
    export: wxr::Export,
    options: &Options,
) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        dry_run: options.dry_run,
        ..Summary::default()
    };
    let attachments = sort_attachments(export.attachments, &mut summary);
    if wxr::fingerprint(&options.file) != export.fingerprint {
        anyhow::bail!(
            "{} changed since it was checked: nothing was imported",
            options.file.display()
        );
    }
    let mut posts = Posts::read(&options.file);
    let mut conn = crate::db::conn(&state.pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut people = People::default();
    let dry = DryRun(options.dry_run);
    dry.begin(&mut conn).await?;
    for author in &export.authors {
        people.author(&mut conn, author, &mut summary).await;
    }
    for term in &export.terms {
        people.tag(&mut conn, term, &mut summary).await;
    }
    dry.end(&mut conn, &mut people, None).await?;
    let mut images = Images::new(state, options, attachments, export.base_url)?;
    let mut progress = crate::progress::Progress::new(export.items, "posts");
    while let Some(item) = posts.next(&mut summary).await {
        dry.begin(&mut conn).await?;
        import_post(
            state,
            &mut conn,
            &item,
            &mut people,
            &mut images,
            &mut summary,
        )
        .await;
        dry.end(&mut conn, &mut people, Some(&mut images)).await?;
        progress.tick();
    }
    drop(progress);
    summary.counts.insert("images", images.counts);
    summary.problems.extend(images.problems);
    posts.finish(summary).await
}

/// A dry run's transactions: one per post, short (its locks and its place in the change
/// feed's horizon are held only while the post is written), rolled back.
struct DryRun(bool);

impl DryRun {
    async fn begin(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        use diesel_async::{AnsiTransactionManager, TransactionManager};
        if self.0 {
            AnsiTransactionManager::begin_transaction(conn).await?;
        }
        Ok(())
    }

    async fn end(
        &self,
        conn: &mut AsyncPgConnection,
        people: &mut People,
        images: Option<&mut Images<'_>>,
    ) -> anyhow::Result<()> {
        use diesel_async::{AnsiTransactionManager, TransactionManager};
        if self.0 {
            AnsiTransactionManager::rollback_transaction(conn).await?;
            people.forget_made();
            if let Some(images) = images {
                images.forget_made();
            }
        }
        Ok(())
    }
}

/// The export's posts and pages, read from the file one at a time (on a thread of their
/// own: reading is blocking work) as the import takes them; other items are named.
struct Posts {
    items: tokio::sync::mpsc::Receiver<Item>,
    reader: tokio::task::JoinHandle<Result<(), wxr::ParseError>>,
    file: PathBuf,
    /// Ids seen so far: a post is found again by its id.
    seen: HashSet<i64>,
    skipped: BTreeMap<String, usize>,
}

impl Posts {
    fn read(file: &Path) -> Posts {
        let (send, items) = tokio::sync::mpsc::channel(4);
        let path = file.to_owned();
        let reader = tokio::task::spawn_blocking(move || {
            wxr::items(&path, |item| send.blocking_send(item).is_ok())
        });
        Posts {
            items,
            reader,
            file: file.to_owned(),
            seen: HashSet::new(),
            skipped: BTreeMap::new(),
        }
    }

    /// The next post or page to import; what is not one is counted in `summary`.
    async fn next(&mut self, summary: &mut Summary) -> Option<Item> {
        while let Some(item) = self.items.recv().await {
            // An id is what a later run finds the post by: without one (or with another's),
            // posts would be merged into one article.
            if item.id <= 0 || !self.seen.insert(item.id) {
                no_id(&item, kind_name(&item), summary);
                continue;
            }
            match (item.post_type.as_str(), item.status.as_str()) {
                ("post" | "page", "trash" | "auto-draft" | "inherit") => {
                    summary.problems.push(format!(
                        "{}: WordPress status `{}` is not imported",
                        describe(&item),
                        item.status
                    ));
                    summary.count(kind_name(&item)).failed += 1;
                }
                ("post" | "page", _) => return Some(item),
                (other, _) => *self.skipped.entry(other.to_owned()).or_default() += 1,
            }
        }
        None
    }

    /// The summary with the items that were not posts named, once the file is read through
    /// (an error when it changed since it was checked).
    async fn finish(self, mut summary: Summary) -> anyhow::Result<Summary> {
        drop(self.items);
        self.reader
            .await?
            .map_err(|e| anyhow::anyhow!("{} (read again): {e}", self.file.display()))?;
        for (kind, count) in self.skipped {
            summary.problems.push(format!(
                "{count} item(s) of type `{kind}` (lede imports posts, pages and their images)"
            ));
        }
        Ok(summary)
    }
}

/// Names an item left out for want of an id of its own (`kind`: what it counts as).
fn no_id(item: &Item, kind: &'static str, summary: &mut Summary) {
    summary.problems.push(format!(
        "{}: not imported: its wp:post_id is missing or not unique in the file",
        describe(item)
    ));
    summary.count(kind).failed += 1;
}

/// Attachments by their id; one without an id, or with one already used, is named.
fn sort_attachments(items: Vec<Item>, summary: &mut Summary) -> HashMap<i64, Item> {
    let mut attachments = HashMap::new();
    for item in items {
        if item.id <= 0 || attachments.contains_key(&item.id) {
            no_id(&item, "attachments", summary);
            continue;
        }
        attachments.insert(item.id, item);
    }
    attachments
}

fn kind_name(item: &Item) -> &'static str {
    if item.post_type == "page" {
        "pages"
    } else {
        "articles"
    }
}

fn describe(item: &Item) -> String {
    let title = html::plain_text(&item.title);
    format!(
        "{} {} \u{201c}{}\u{201d} (line {})",
        item.post_type, item.id, title, item.line
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_without_sizes_and_in_uploads() {
        assert_eq!(
            without_size("https://s/wp-content/uploads/2024/03/pier-300x200.jpg"),
            "https://s/wp-content/uploads/2024/03/pier.jpg"
        );
        assert_eq!(without_size("/a/b-c.png"), "/a/b-c.png");
        let dir = Path::new("/u");
        assert_eq!(
            uploads_path(dir, "https://s/wp-content/uploads/2024/03/p%C3%A9.jpg?w=2"),
            Some(PathBuf::from("/u/2024/03/p\u{e9}.jpg"))
        );
        assert_eq!(
            uploads_path(dir, "/x/y.png"),
            Some(PathBuf::from("/u/x/y.png"))
        );
        assert_eq!(
            uploads_path(dir, "https://s/wp-content/uploads/a%2F..%2F..%2Fetc"),
            None
        );
        assert_eq!(uploads_path(dir, "../../etc/passwd"), None);
    }

    #[test]
    fn slugs_from_wordpress() {
        assert_eq!(slug_of("%e6%97%a5%e6%9c%ac").as_deref(), Some("ri-ben"));
        assert_eq!(slug_of("hello-world").as_deref(), Some("hello-world"));
        assert_eq!(slug_of("  "), None);
        // A slug shaped like an id would be read as one: renamed.
        assert_eq!(
            slug_of("0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b").as_deref(),
            Some("0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b-1")
        );
    }
}
