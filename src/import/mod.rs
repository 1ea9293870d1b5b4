//! `lede import wordpress`: a WordPress export (WXR) into lede, through the same write code
//! the API uses. Each post is one transaction (the article, its comments); it is found again
//! by `external_id` `wp:<post id>`, so a second run changes nothing. Everything not brought
//! over is named in the summary.
pub mod html;
pub mod wxr;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

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

/// Comment ids of imported comments are made from where they came from, so a second run
/// finds them (`Uuid::new_v5` of `wp:<post>:comment:<id>` in this namespace).
const COMMENT_IDS: Uuid = Uuid::from_u128(0x6c65_6465_2d77_702d_636f_6d6d_656e_7473);
const MAX_TAGS: usize = crate::articles::write::MAX_TAGS;
/// How long one image may take to arrive.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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

/// The images uploaded to each post, in the order they were (what `[gallery]` shows).
fn attached_by_post(attachments: &HashMap<i64, Item>) -> HashMap<i64, Vec<i64>> {
    let mut by_post: HashMap<i64, Vec<i64>> = HashMap::new();
    for attachment in attachments.values() {
        by_post
            .entry(attachment.parent)
            .or_default()
            .push(attachment.id);
    }
    for ids in by_post.values_mut() {
        ids.sort_unstable();
    }
    by_post
}

fn attachment_url(attachments: &HashMap<i64, Item>, id: Option<i64>) -> Option<&str> {
    id.and_then(|id| attachments.get(&id))
        .map(|a| a.attachment_url.as_str())
        .filter(|url| !url.is_empty())
}

/// lede's status and publication date for a post, and a note when it changes what the
/// post was (a password-protected post is kept private).
fn status_of(item: &Item) -> ((Status, Option<chrono::DateTime<Utc>>), Option<String>) {
    let date = item.date;
    if !item.password.is_empty() {
        return (
            (Status::Draft, None),
            Some("password-protected: imported as a draft, never public".into()),
        );
    }
    match item.status.as_str() {
        "publish" => ((Status::Published, date), None),
        "future" if date.is_some_and(|d| d > Utc::now()) => ((Status::Scheduled, date), None),
        "future" => (
            (Status::Published, date),
            Some("scheduled for a time already past: imported as published".into()),
        ),
        "draft" | "pending" => ((Status::Draft, None), None),
        "private" => (
            (Status::Draft, None),
            Some("private: imported as a draft".into()),
        ),
        other => (
            (Status::Draft, None),
            Some(format!("unknown status `{other}`: imported as a draft")),
        ),
    }
}

/// Authors and tags found or made so far, by WordPress login and slug (`None`: it could
/// not be made, and the summary says why).
#[derive(Default)]
struct People {
    authors: HashMap<String, Option<Uuid>>,
    tags: HashMap<String, Option<Uuid>>,
    /// Authors (by login) and tags (by slug) this run made: counted once, and forgotten
    /// after each of a dry run's rolled-back transactions (made again when needed again).
    made_authors: HashSet<String>,
    made_tags: HashSet<String>,
    /// The ids of what this run made: gone with a dry run's rollback.
    made_ids: HashSet<Uuid>,
}

impl People {
    /// Forgets what was made in a transaction that was rolled back.
    fn forget_made(&mut self) {
        let made = &self.made_ids;
        let kept = |id: &mut Option<Uuid>| id.is_none_or(|id| !made.contains(&id));
        self.authors.retain(|_, id| kept(id));
        self.tags.retain(|_, id| kept(id));
    }

    /// The author of a post, by its creator's login; made from the login alone when the
    /// export does not list it.
    async fn author_of(
        &mut self,
        conn: &mut AsyncPgConnection,
        login: &str,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        let login = match login.trim() {
            "" => "wordpress",
            login => login,
        };
        if let Some(id) = self.authors.get(login) {
            return *id;
        }
        let author = wxr::WpAuthor {
            login: login.to_owned(),
            email: String::new(),
            display_name: login.to_owned(),
        };
        self.author(conn, &author, summary).await
    }

    /// Finds the author by slug (from the login), then by email; else makes it through
    /// the API's code. Its email is kept private, as every author's is.
    async fn author(
        &mut self,
        conn: &mut AsyncPgConnection,
        author: &wxr::WpAuthor,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        if let Some(id) = self.authors.get(&author.login) {
            return *id;
        }
        let slug = slug_of(&author.login).unwrap_or_else(|| "wordpress-author".into());
        let email = author.email.trim().to_lowercase();
        let found = match crate::authors::queries::find(conn, &slug).await {
            Ok(None) if !email.is_empty() => crate::authors::queries::by_email(conn, &email).await,
            other => other,
        };
        let id = match found {
            Ok(Some(existing)) => {
                summary.count("authors").unchanged += 1;
                Some(existing.id)
            }
            Ok(None) => {
                let name = match html::plain_text(&author.display_name) {
                    name if name.is_empty() => author.login.clone(),
                    name => name,
                };
                let new = |email: Option<String>| crate::authors::model::NewAuthor {
                    name: name.chars().take(100).collect(),
                    slug: Some(slug.clone()),
                    email,
                    bio: None,
                    website: None,
                    avatar: None,
                };
                let importer = &Principal::IMPORTER;
                let made = match crate::authors::create(
                    conn,
                    importer,
                    new(Some(email).filter(|e| !e.is_empty())),
                    Checks::new(),
                )
                .await
                {
                    // An address lede does not take: the author without it.
                    Err(ApiError::Validation(_)) => {
                        crate::authors::create(conn, importer, new(None), Checks::new()).await
                    }
                    other => other,
                };
                match made {
                    Ok(made) => {
                        self.made_ids.insert(made.id);
                        if self.made_authors.insert(slug.clone()) {
                            summary.count("authors").created += 1;
                        }
                        Some(made.id)
                    }
                    Err(error) => {
                        summary.count("authors").failed += 1;
                        summary.problems.push(format!(
                            "author {}: {} (their posts are not imported)",
                            author.login,
                            explain(&error)
                        ));
                        None
                    }
                }
            }
            Err(error) => {
                summary
                    .problems
                    .push(format!("author {}: {error}", author.login));
                None
            }
        };
        self.authors.insert(author.login.clone(), id);
        id
    }

    /// Finds the tag by slug, else makes it through the API's code.
    async fn tag(
        &mut self,
        conn: &mut AsyncPgConnection,
        term: &wxr::WpTerm,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        let name = html::plain_text(&term.name);
        let slug = slug_of(&term.slug).or_else(|| slug_of(&name))?;
        if let Some(id) = self.tags.get(&slug) {
            return *id;
        }
        let id = match crate::tags::queries::find(conn, &slug).await {
            Ok(Some(tag)) => {
                summary.count("tags").unchanged += 1;
                Some(tag.id)
            }
            Ok(None) => {
                let new = crate::tags::model::NewTag {
                    name: match name.is_empty() {
                        true => slug.clone(),
                        false => name.chars().take(100).collect(),
                    },
                    slug: Some(slug.clone()),
                    description: None,
                };
                match crate::tags::create(conn, &Principal::IMPORTER, new, Checks::new()).await {
                    Ok(tag) => {
                        self.made_ids.insert(tag.id);
                        if self.made_tags.insert(slug.clone()) {
                            summary.count("tags").created += 1;
                        }
                        Some(tag.id)
                    }
                    Err(error) => {
                        summary.count("tags").failed += 1;
                        summary
                            .problems
                            .push(format!("tag {slug}: {}", explain(&error)));
                        None
                    }
                }
            }
            Err(error) => {
                summary.problems.push(format!("tag {slug}: {error}"));
                None
            }
        };
        self.tags.insert(slug, id);
        id
    }
}

/// A lede slug from a WordPress one (which may be percent-encoded unicode).
fn slug_of(text: &str) -> Option<String> {
    let decoded = percent_decode(text.trim());
    let slug: String = slug::slugify(decoded).chars().take(100).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    (!slug.is_empty()).then(|| crate::http::validate::not_id_shaped(slug))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Images found or stored so far, by the URL they came from.
struct Images<'a> {
    state: &'a AppState,
    /// Nothing is stored (see `crate::images::ingest_dry`).
    dry_run: bool,
    /// The bytes (SHA-256) of the images this run stored, their ids (gone with a dry run's
    /// rollback), and the URLs already counted.
    made: HashSet<Vec<u8>>,
    made_ids: HashSet<Uuid>,
    answered: HashSet<String>,
    uploads: &'a Option<PathBuf>,
    fetch_private: bool,
    attachments: HashMap<i64, Item>,
    /// Attachments by their URL without the size WordPress adds (`-300x200`).
    by_url: HashMap<String, i64>,
    by_post: HashMap<i64, Vec<i64>>,
    base: Option<url::Url>,
    client: reqwest::Client,
    done: HashMap<String, Option<Uuid>>,
    counts: Counts,
    problems: Vec<String>,
}

impl<'a> Images<'a> {
    fn new(
        state: &'a AppState,
        options: &'a Options,
        attachments: HashMap<i64, Item>,
        base: Option<String>,
    ) -> anyhow::Result<Self> {
        let fetch_private = options.fetch_private;
        let by_url = attachments
            .iter()
            .map(|(id, a)| (without_size(&a.attachment_url), *id))
            .collect();
        // Names resolve to public addresses only, and a redirect to an address written as
        // such is checked like the first URL (it never reaches the resolver).
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if let Some(why) = private_literal(attempt.url(), fetch_private) {
                attempt.error(why)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(redirects)
            .no_proxy()
            .dns_resolver(crate::outbound::address::PublicOnly::new(fetch_private))
            .user_agent(concat!("lede-import/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Images {
            dry_run: options.dry_run,
            made: HashSet::new(),
            made_ids: HashSet::new(),
            answered: HashSet::new(),
            by_post: attached_by_post(&attachments),
            state,
            uploads: &options.uploads,
            fetch_private,
            attachments,
            by_url,
            base: base.and_then(|b| url::Url::parse(&b).ok()),
            client,
            done: HashMap::new(),
            counts: Counts::default(),
            problems: Vec::new(),
        })
    }

    /// The images uploaded to a post.
    fn attached(&self, post: i64) -> Vec<i64> {
        self.by_post.get(&post).cloned().unwrap_or_default()
    }

    /// The stored image for an attachment id or a `src`, fetched or read the first time;
    /// `None` (and a problem named once) when it cannot be had.
    async fn get(
        &mut self,
        conn: &mut AsyncPgConnection,
        attachment: Option<i64>,
        src: &str,
        alt: &str,
    ) -> Option<Uuid> {
        let attachment = attachment
            .filter(|id| self.attachments.contains_key(id))
            .or_else(|| self.by_url.get(&without_size(src)).copied());
        let url = attachment_url(&self.attachments, attachment)
            .unwrap_or(src)
            .to_owned();
        if let Some(done) = self.done.get(&url) {
            return *done;
        }
        let item = attachment.and_then(|id| self.attachments.get(&id));
        let text = ImageText {
            alt: item
                .and_then(|a| a.meta("_wp_attachment_image_alt"))
                .filter(|alt| !alt.trim().is_empty())
                .or(Some(alt).filter(|alt| !alt.trim().is_empty()))
                .map(html::plain_text),
            caption: item
                .map(|a| html::plain_text(&a.excerpt))
                .filter(|c| !c.is_empty()),
            ..ImageText::default()
        };
        let stored = match self.bytes(&url).await {
            Ok(bytes) => match match self.dry_run {
                true => crate::images::ingest_dry(conn, self.state, bytes).await,
                false => crate::images::ingest(self.state, bytes, text, None).await,
            } {
                Ok((image, created)) => {
                    if created {
                        self.made_ids.insert(image.id);
                    }
                    // Counted once per URL (a dry run asks again after each rollback), and
                    // by their bytes, as a real run finds them.
                    if self.answered.insert(url.clone()) {
                        if created && self.made.insert(image.sha256.clone()) {
                            self.counts.created += 1;
                        } else {
                            self.counts.unchanged += 1;
                        }
                    }
                    Some(image.id)
                }
                Err(error) => {
                    self.fail(&url, &explain(&error));
                    None
                }
            },
            Err(why) => {
                self.fail(&url, &why);
                None
            }
        };
        self.done.insert(url, stored);
        stored
    }

    /// Forgets the images made in a transaction that was rolled back (a dry run's).
    fn forget_made(&mut self) {
        let made = &self.made_ids;
        self.done
            .retain(|_, id| id.is_none_or(|id| !made.contains(&id)));
    }

    fn fail(&mut self, url: &str, why: &str) {
        self.counts.failed += 1;
        self.problems.push(format!("image {url}: {why}"));
    }

    /// The image's bytes: from the uploads folder when it has them, else from the web.
    async fn bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        let limit = self.state.image_max_bytes;
        if let Some(path) = match self.uploads.as_deref() {
            Some(dir) => uploads_file(dir, url)?,
            None => None,
        } {
            return read_no_follow(path, limit).await;
        }
        if let Some(id) = url.strip_prefix(html::ATTACHMENT_SRC) {
            return Err(format!("attachment {id} is not in the export"));
        }
        let absolute = match (url::Url::parse(url), &self.base) {
            (Ok(absolute), _) => absolute,
            (Err(_), Some(base)) => base.join(url).map_err(|e| e.to_string())?,
            (Err(e), None) => return Err(format!("not a URL ({e}) and not in --uploads")),
        };
        if !matches!(absolute.scheme(), "http" | "https") {
            return Err("not an http(s) URL and not in --uploads".into());
        }
        if let Some(why) = private_literal(&absolute, self.fetch_private) {
            return Err(why);
        }
        let mut response = self
            .client
            .get(absolute)
            .send()
            .await
            .map_err(|e| format!("cannot fetch it: {}", crate::error::with_causes(&e)))?;
        if !response.status().is_success() {
            return Err(format!("fetching it answered {}", response.status()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("fetching it failed: {}", crate::error::with_causes(&e)))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(format!("larger than the image limit of {limit} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// Why `url` may not be fetched when it names a private address as such (`None`: it may).
fn private_literal(url: &url::Url, fetch_private: bool) -> Option<String> {
    use crate::outbound::address::{is_public, literal_ip};
    let ip = literal_ip(url).filter(|ip| !fetch_private && !is_public(*ip))?;
    Some(format!(
        "{ip} is not a public address (--fetch-private allows fetching from an intranet)"
    ))
}

/// Where an image URL's file is in a copy of the uploads folder: the path after
/// `wp-content/uploads/`, else the URL's whole path.
fn uploads_path(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = match url::Url::parse(url) {
        Ok(url) => url.path().to_owned(),
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
    };
    let path = percent_decode(&path);
    let relative = match path.split_once("wp-content/uploads/") {
        Some((_, after)) => after.to_owned(),
        None => path.trim_start_matches('/').to_owned(),
    };
    // Never outside the folder.
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    Some(dir.join(relative))
}

/// The file an image URL names in the uploads folder `dir`, when it is there: its real
/// path, which is inside `dir` (a link leading out of the folder is refused, whatever the
/// URL looks like). `None` when the folder has no such file.
fn uploads_file(dir: &Path, url: &str) -> Result<Option<PathBuf>, String> {
    let Some(path) = uploads_path(dir, url) else {
        return Ok(None);
    };
    let (Ok(real_dir), Ok(real)) = (dir.canonicalize(), path.canonicalize()) else {
        return Ok(None);
    };
    if !real.starts_with(&real_dir) {
        return Err(format!(
            "{} leads out of --uploads (a link to {}): not read",
            path.display(),
            real.display()
        ));
    }
    Ok(real.is_file().then_some(real))
}

/// A file's bytes, at most `limit` of them, refusing a link in its last step (the path was
/// resolved just before: a link put in its place since is not followed) and anything but
/// a plain file (a FIFO would never end).
async fn read_no_follow(path: PathBuf, limit: usize) -> Result<Vec<u8>, String> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(cannot)?;
        if !file.metadata().map_err(cannot)?.is_file() {
            return Err(format!("{} is not a plain file", path.display()));
        }
        let mut bytes = Vec::new();
        file.take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
        if bytes.len() > limit {
            return Err(format!("larger than the image limit of {limit} bytes"));
        }
        Ok(bytes)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A WordPress image URL without the size it adds to resized copies and without a query:
/// `photo-300x200.jpg?w=150` is `photo.jpg`.
fn without_size(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((stem, extension)) = url.rsplit_once('.') else {
        return url.to_owned();
    };
    match stem.rsplit_once('-') {
        Some((name, size))
            if size.split_once('x').is_some_and(|(w, h)| {
                !w.is_empty()
                    && !h.is_empty()
                    && w.bytes().all(|b| b.is_ascii_digit())
                    && h.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            format!("{name}.{extension}")
        }
        _ => url.to_owned(),
    }
}

/// Deeper HTML than this is not converted (the converter recurses; WordPress never nests
/// so).
const MAX_HTML_DEPTH: usize = 200;

/// Names links whose targets were dropped (a browser would have run them).
fn note_dropped_links(dropped: usize, notes: &mut Vec<String>) {
    if dropped > 0 {
        html::note(
            notes,
            format!(
                "{dropped} link target(s) that are not http(s), mailto, tel, a path or a \
                 #fragment (javascript:, data:, ...) were dropped, their text kept"
            ),
        );
    }
}

/// Whether HTML nests deeper than `MAX_HTML_DEPTH`: first by a scan that stops at the
/// limit (a parser's cost grows with depth), then on the tree as parsed, which is what the
/// converter walks.
fn too_deep(html: &str) -> bool {
    crate::articles::limits::html_deeper_than(html, MAX_HTML_DEPTH)
        || html::tree_depth(&html::parse(html)) > MAX_HTML_DEPTH + 2
}

/// What became of a post.
enum Outcome {
    Written {
        created: bool,
        changed: bool,
        comments: usize,
        inserted: usize,
    },
    /// Already imported and left as it is, for this reason.
    Kept(&'static str),
}

/// One post: its images stored first (each image is its own write, kept when the post
/// fails), then the article and its comments in one transaction. An article imported
/// before is left as it is when it was edited in lede since, or when an image it shows
/// could not be had this time (the old site may be gone).
async fn import_post(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    item: &Item,
    people: &mut People,
    images: &mut Images<'_>,
    summary: &mut Summary,
) {
    let kind = kind_name(item);
    let mut notes = Vec::new();
    let attached = images.attached(item.id);
    let prepared = html::prepare(&item.content, &attached, &mut notes);
    if too_deep(&prepared) {
        summary.count(kind).failed += 1;
        summary.problems.push(format!(
            "{}: not imported: its HTML nests more than {MAX_HTML_DEPTH} elements deep",
            describe(item)
        ));
        return;
    }
    let ((status, published_at), status_note) = status_of(item);
    notes.extend(status_note);
    // Images are public in lede: those of a post no one may see stay behind.
    let private = !item.password.is_empty() || item.status == "private";
    // The parsed HTML is not `Send`: parsed again after the images are in.
    let refs = html::images(&html::parse(&prepared));
    let mut stored = html::Stored::new();
    let mut missing = false;
    for image in refs {
        let id = match private {
            true => None,
            false => {
                images
                    .get(conn, image.attachment, &image.src, &image.alt)
                    .await
            }
        };
        if id.is_none() && !private {
            missing = true;
            html::note(
                &mut notes,
                format!("image {} could not be had (its caption is kept)", image.src),
            );
        }
        stored.insert(image.src, id);
    }
    if private && !stored.is_empty() {
        notes.push("its images were not imported (they would be public)".into());
    }
    let cover = match item
        .meta("_thumbnail_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
    {
        Some(_) if private => None,
        Some(id) => match attachment_url(&images.attachments, Some(id)).map(str::to_owned) {
            Some(url) => {
                let cover = images.get(conn, Some(id), &url, "").await;
                missing |= cover.is_none();
                cover
            }
            None => {
                notes.push(format!(
                    "the featured image (attachment {id}) is not in the export"
                ));
                None
            }
        },
        None => None,
    };
    let tree = html::parse(&prepared);
    note_dropped_links(html::drop_unsafe_links(&tree), &mut notes);
    let body_markdown = html::to_markdown(&tree, stored, &mut notes);

    let author = people.author_of(conn, &item.creator, summary).await;
    let mut tags = Vec::new();
    for term in &item.terms {
        if let Some(id) = people.tag(conn, term, summary).await
            && !tags.contains(&id.to_string())
        {
            tags.push(id.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        notes.push(format!("{} tags: the first {MAX_TAGS} kept", tags.len()));
        tags.truncate(MAX_TAGS);
    }
    let title = match html::plain_text(&item.title) {
        title if !title.is_empty() => title.chars().take(300).collect(),
        _ => {
            notes.push("no title: one was made".into());
            format!("Untitled {} {}", item.post_type, item.id)
        }
    };
    let slug = slug_of(&item.post_name);
    if let Some(slug) = &slug
        && !item.post_name.is_empty()
        && *slug != item.post_name
    {
        notes.push(format!("slug `{}` became `{slug}`", item.post_name));
    }
    let excerpt = html::plain_text(&item.excerpt);
    let mut new = NewArticle {
        title,
        slug,
        subtitle: None,
        excerpt: (!excerpt.is_empty()).then(|| excerpt.chars().take(1000).collect()),
        body_markdown,
        status: Some(status),
        published_at: published_at.map(Timestamp),
        author: author.map(|id| id.to_string()),
        tags,
        cover_image: cover,
        comments_open: Some(item.comment_status != "closed"),
        external_id: None,
        kind: Some(if item.post_type == "page" {
            Kind::Page
        } else {
            Kind::Article
        }),
        // Yoast SEO's overrides, where the site used it.
        meta_title: seo_meta(item, "_yoast_wpseo_title"),
        meta_description: seo_meta(item, "_yoast_wpseo_metadesc"),
    };
    let external_id = format!("wp:{}", item.id);
    let comments = comments_of(item, &mut notes);
    // Rendered before the post's transaction opens.
    let bodies = match articles::write::Prerendered::on(conn, [new.body_markdown.clone()]).await {
        Ok(bodies) => bodies,
        Err(error) => {
            summary.count(kind).failed += 1;
            summary.problems.push(format!(
                "{}: not imported: {}",
                describe(item),
                explain(&error)
            ));
            return;
        }
    };
    let write = articles::write::Write {
        language: &state.search_language,
        bodies: &bodies,
    };
    let written = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let current = articles::queries::lock_by_external_id(conn, &external_id).await?;
            if let Some(current) = &current {
                if articles::queries::last_saved_by(conn, current.id).await?
                    != Some(Principal::IMPORTER.token_id)
                {
                    return Ok(Outcome::Kept("edited in lede since it was imported"));
                }
                if missing {
                    return Ok(Outcome::Kept(
                        "an image it shows could not be had this time",
                    ));
                }
            }
            // A slug another article holds (a page and a post may share one in WordPress).
            if let Some(slug) = new.slug.clone()
                && let Some(holder) = articles::queries::find(conn, &slug).await?
                && holder.external_id.as_deref() != Some(external_id.as_str())
            {
                let free = Slugged::Articles.free_slug(conn, &slug).await?;
                notes.push(format!("slug `{slug}` is taken: `{free}` instead"));
                new.slug = Some(free);
            }
            let (article, created) = articles::write::upsert(
                conn,
                &Principal::IMPORTER,
                &external_id,
                new,
                Checks::new(),
                &IfMatch::any(),
                &write,
            )
            .await?;
            let changed = current.is_some_and(|c| c.version != article.version);
            let rows = comment_rows(article.id, &external_id, comments, &mut notes);
            let inserted =
                crate::comments::queries::insert_imported(conn, article.id, &rows).await?;
            Ok(Outcome::Written {
                created,
                changed,
                comments: rows.len(),
                inserted,
            })
        })
        .await;
    let counts = summary.count(kind);
    match written {
        Ok(Outcome::Written {
            created,
            changed,
            comments,
            inserted,
        }) => {
            match (created, changed) {
                (true, _) => counts.created += 1,
                (false, true) => counts.updated += 1,
                (false, false) => counts.unchanged += 1,
            }
            let counts = summary.count("comments");
            counts.created += inserted;
            counts.unchanged += comments - inserted;
        }
        Ok(Outcome::Kept(why)) => {
            counts.unchanged += 1;
            notes = vec![format!("left as it is: {why}")];
        }
        Err(error) => {
            counts.failed += 1;
            notes.insert(0, format!("not imported: {}", explain(&error)));
        }
    }
    if !notes.is_empty() {
        summary
            .problems
            .push(format!("{}: {}", describe(item), notes.join("; ")));
    }
}

/// A Yoast SEO override as lede stores one: plain, within the limits, and not a template
/// (`%%title%% %%sep%% %%sitename%%` is Yoast's own, not text).
fn seo_meta(item: &Item, key: &str) -> Option<String> {
    let text = html::plain_text(item.meta(key)?);
    let text = text.trim();
    let max = if key.ends_with("title") {
        crate::articles::write::MAX_TITLE
    } else {
        crate::articles::write::MAX_EXCERPT
    };
    (!text.is_empty() && !text.contains("%%")).then(|| text.chars().take(max).collect())
}

/// An error as one line, with the fields it names.
fn explain(error: &ApiError) -> String {
    let mut text = error.to_string();
    if let ApiError::Validation(errors) = error {
        let fields: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field.as_deref().unwrap_or("-"), e.message))
            .collect();
        text = fields.join(", ");
    }
    text
}

/// A post's comments worth importing (pings and trackbacks are not), parents first.
fn comments_of<'a>(item: &'a Item, notes: &mut Vec<String>) -> Vec<&'a WpComment> {
    let (mut pings, mut repeated) = (0, 0);
    let mut kept: Vec<&WpComment> = Vec::new();
    let mut seen = HashSet::new();
    for comment in &item.comments {
        if matches!(comment.kind.as_str(), "pingback" | "trackback") {
            pings += 1;
        } else if !seen.insert(comment.id) {
            repeated += 1;
        } else {
            kept.push(comment);
        }
    }
    if pings > 0 {
        notes.push(format!("{pings} pingback(s)/trackback(s) skipped"));
    }
    if repeated > 0 {
        notes.push(format!(
            "{repeated} comment(s) with an id already used skipped"
        ));
    }
    // Parents before replies, however the file orders them.
    let ids: HashSet<i64> = kept.iter().map(|c| c.id).collect();
    let mut placed = HashSet::new();
    let mut ordered = Vec::with_capacity(kept.len());
    while ordered.len() < kept.len() {
        let before = ordered.len();
        for comment in &kept {
            let ready = comment.parent == 0
                || !ids.contains(&comment.parent)
                || placed.contains(&comment.parent);
            if !placed.contains(&comment.id) && ready {
                placed.insert(comment.id);
                ordered.push(*comment);
            }
        }
        if ordered.len() == before {
            // A cycle (a broken file): what is left is not imported.
            notes.push(format!(
                "{} comment(s) in a reply cycle skipped",
                kept.len() - before
            ));
            break;
        }
    }
    ordered
}

/// A WordPress commenter's name the API would refuse, made one it takes: without control
/// and bidirectional characters, at most 100 characters, `Anonymous` when nothing is left.
fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !crate::http::validate::is_bidi_control(*c))
        .take(100)
        .collect();
    match name.trim() {
        "" => "Anonymous".into(),
        name => name.to_owned(),
    }
}

fn comment_id(external_id: &str, comment: i64) -> Uuid {
    Uuid::new_v5(
        &COMMENT_IDS,
        format!("{external_id}:comment:{comment}").as_bytes(),
    )
}

/// `approved` in lede's words, or the status WordPress's `comment_approved` names.
fn comment_status(approved: &str) -> &'static str {
    match approved {
        "1" | "approve" => "approved",
        "spam" => "spam",
        "trash" => "trash",
        _ => "pending",
    }
}

fn comment_rows(
    article_id: Uuid,
    external_id: &str,
    comments: Vec<&WpComment>,
    notes: &mut Vec<String>,
) -> Vec<crate::comments::model::Comment> {
    let by_id: HashMap<i64, &WpComment> = comments.iter().map(|c| (c.id, *c)).collect();
    // A public reply hangs under its nearest public ancestor (a reply to a comment held
    // for moderation or marked spam is shown under the one above it, or at the top).
    let parent_of = |comment: &WpComment| -> Option<i64> {
        let approved = comment_status(&comment.approved) == "approved";
        let mut parent = by_id.get(&comment.parent)?;
        let mut steps = 0;
        while approved && comment_status(&parent.approved) != "approved" {
            parent = by_id.get(&parent.parent)?;
            steps += 1;
            if steps > by_id.len() {
                return None;
            }
        }
        Some(parent.id)
    };
    comments
        .into_iter()
        .map(|c| {
            let mut dropped = Vec::new();
            let prepared = html::prepare(&c.content, &[], &mut dropped);
            let body_markdown = if too_deep(&prepared) {
                html::note(
                    notes,
                    "a comment's HTML nests too deep: its text was kept without markup".into(),
                );
                html::text_paragraph(&html::plain_text(&prepared))
            } else {
                let tree = html::parse(&prepared);
                note_dropped_links(html::drop_unsafe_links(&tree), notes);
                html::to_markdown(&tree, html::Stored::new(), &mut dropped)
            };
            // The API's checks and normalisation; what they refuse is left out and named
            // (an old comment is not refused for its author's address).
            let mut checks = Checks::new();
            let url = Some(c.url.as_str()).filter(|u| !u.trim().is_empty());
            let (name, _, url) =
                crate::comments::author_fields(&mut checks, &c.author, &c.email, url);
            let url = match checks.has("author_url") {
                true => {
                    html::note(
                        notes,
                        "a comment's author_url that is not an http(s) URL was left out".into(),
                    );
                    None
                }
                false => url,
            };
            let name = match checks.has("author_name") {
                true => clean_name(&c.author),
                false => name,
            };
            let body_html = crate::comments::render_body(&body_markdown);
            let at = c.date.unwrap_or_else(Utc::now);
            let status = comment_status(&c.approved);
            crate::comments::model::Comment {
                id: comment_id(external_id, c.id),
                article_id,
                parent_id: parent_of(c).map(|parent| comment_id(external_id, parent)),
                author_name: name,
                author_email: c.email.trim().to_owned(),
                author_url: url,
                body_markdown,
                body_html,
                status: status.into(),
                ip: c.ip.trim().to_owned(),
                user_agent: None,
                deleted_at: None,
                created_at: at,
                updated_at: at,
            }
        })
        .collect()
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
