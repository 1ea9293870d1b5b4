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

use crate::AppState;
use crate::articles::model::{Kind, NewArticle, Status};
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::auth::{Principal, Role};
use crate::http::response::IfMatch;
use crate::http::validate::Checks;
use crate::images::ImageText;
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

/// Shows how far a run is: a bar on a terminal, a line per 100 items otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} posts ({per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if self.done.is_multiple_of(100) || self.done == self.total => {
                eprintln!("{}/{} posts", self.done, self.total);
            }
            None => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Reads and checks the whole file (nothing is written when it is broken).
pub fn read(file: &Path) -> anyhow::Result<wxr::Export> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    wxr::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Imports `export` (`state` is `None` for a dry run: nothing is read or written).
pub async fn wordpress(
    state: Option<&AppState>,
    export: wxr::Export,
    options: &Options,
) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        dry_run: state.is_none(),
        ..Summary::default()
    };
    let (posts, attachments) = sort_items(export.items, &mut summary);
    let Some(state) = state else {
        dry_run(&posts, &attachments, options, &mut summary);
        return Ok(summary);
    };
    let mut conn = crate::db::conn(&state.pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Utc::now();
    let mut people = People::default();
    for author in &export.authors {
        let name = match author.display_name.trim() {
            "" => author.login.trim(),
            name => name,
        };
        let id = people
            .author(&mut conn, &author.login, name, &author.email, &mut summary)
            .await?;
        people.authors.insert(author.login.clone(), id);
    }
    for term in &export.terms {
        people.tag(&mut conn, term, &mut summary).await?;
    }
    let mut images = Images::new(state, options, attachments, export.base_url)?;
    let mut progress = Progress::new(posts.len());
    for item in &posts {
        import_post(
            state,
            &mut conn,
            item,
            &mut people,
            &mut images,
            started,
            &mut summary,
        )
        .await?;
        progress.tick();
    }
    drop(progress);
    summary.counts.insert("images", images.counts);
    summary.problems.extend(images.problems);
    Ok(summary)
}

/// Posts and pages to import, and attachments by post id; everything else is named.
fn sort_items(items: Vec<Item>, summary: &mut Summary) -> (Vec<Item>, HashMap<i64, Item>) {
    let mut posts = Vec::new();
    let mut attachments = HashMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        match (item.post_type.as_str(), item.status.as_str()) {
            ("attachment", _) => {
                attachments.insert(item.id, item);
            }
            ("post" | "page", "trash" | "auto-draft" | "inherit") => {
                summary.problems.push(format!(
                    "{}: WordPress status `{}` is not imported",
                    describe(&item),
                    item.status
                ));
                summary.count(kind_name(&item)).failed += 1;
            }
            ("post" | "page", _) => posts.push(item),
            (other, _) => *skipped.entry(other.to_owned()).or_default() += 1,
        }
    }
    for (kind, count) in skipped {
        summary.problems.push(format!(
            "{count} item(s) of type `{kind}` (lede imports posts, pages and their images)"
        ));
    }
    (posts, attachments)
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

/// What a run would do, without a database: each post converted, its notes collected.
fn dry_run(
    posts: &[Item],
    attachments: &HashMap<i64, Item>,
    options: &Options,
    summary: &mut Summary,
) {
    for item in posts {
        let mut notes = Vec::new();
        let attached = attached(attachments, item.id);
        let tree = html::parse(&html::prepare(&item.content, &attached, &mut notes));
        let refs = html::images(&tree);
        if let Some(uploads) = &options.uploads {
            for image in &refs {
                let url = attachment_url(attachments, image.attachment).unwrap_or(&image.src);
                if uploads_path(uploads, url).is_none_or(|path| !path.is_file()) {
                    notes.push(format!(
                        "image {url} is not in {} (it would be fetched)",
                        uploads.display()
                    ));
                }
            }
        }
        let stored = refs
            .into_iter()
            .map(|r| (r.src, Some(Uuid::nil())))
            .collect();
        html::to_markdown(&tree, stored, &mut notes);
        let (_, status_note) = status_of(item);
        notes.extend(status_note);
        if !notes.is_empty() {
            summary
                .problems
                .push(format!("{}: {}", describe(item), notes.join("; ")));
        }
        summary.count(kind_name(item)).created += 1;
    }
}

/// The images uploaded to a post, in the order they were (what `[gallery]` shows).
fn attached(attachments: &HashMap<i64, Item>, post: i64) -> Vec<i64> {
    let mut ids: Vec<i64> = attachments
        .values()
        .filter(|a| a.parent == post)
        .map(|a| a.id)
        .collect();
    ids.sort_unstable();
    ids
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

/// Authors and tags found or made so far, by WordPress login and slug.
#[derive(Default)]
struct People {
    authors: HashMap<String, Uuid>,
    tags: HashMap<String, Uuid>,
}

impl People {
    async fn author(
        &mut self,
        conn: &mut AsyncPgConnection,
        login: &str,
        name: &str,
        email: &str,
        summary: &mut Summary,
    ) -> anyhow::Result<Uuid> {
        if let Some(id) = self.authors.get(login) {
            return Ok(*id);
        }
        let slug = slug_of(login).unwrap_or_else(|| "wordpress-author".into());
        let counts = summary.count("authors");
        let id = match crate::authors::queries::find(conn, &slug).await? {
            Some(author) => {
                counts.unchanged += 1;
                author.id
            }
            None => {
                let email = email.trim();
                let row = crate::authors::model::AuthorInsert {
                    id: Uuid::now_v7(),
                    slug,
                    name: name.chars().take(200).collect(),
                    email: (!email.is_empty()).then(|| email.to_lowercase()),
                    bio: None,
                    website: None,
                    avatar_image_id: None,
                };
                counts.created += 1;
                crate::authors::queries::insert(conn, &row)
                    .await
                    .map_err(|e| anyhow::anyhow!("author {login}: {e}"))?
                    .id
            }
        };
        self.authors.insert(login.to_owned(), id);
        Ok(id)
    }

    async fn tag(
        &mut self,
        conn: &mut AsyncPgConnection,
        term: &wxr::WpTerm,
        summary: &mut Summary,
    ) -> anyhow::Result<Option<Uuid>> {
        let name = html::plain_text(&term.name);
        let Some(slug) = slug_of(&term.slug).or_else(|| slug_of(&name)) else {
            return Ok(None);
        };
        if let Some(id) = self.tags.get(&slug) {
            return Ok(Some(*id));
        }
        let counts = summary.count("tags");
        let id = match crate::tags::queries::find(conn, &slug).await? {
            Some(tag) => {
                counts.unchanged += 1;
                tag.id
            }
            None => {
                let row = crate::tags::model::TagInsert {
                    id: Uuid::now_v7(),
                    name: if name.is_empty() { slug.clone() } else { name },
                    slug: slug.clone(),
                    description: None,
                };
                counts.created += 1;
                crate::tags::queries::insert(conn, &row)
                    .await
                    .map_err(|e| anyhow::anyhow!("tag {slug}: {e}"))?
                    .id
            }
        };
        self.tags.insert(slug, id);
        Ok(Some(id))
    }
}

/// A lede slug from a WordPress one (which may be percent-encoded unicode).
fn slug_of(text: &str) -> Option<String> {
    let decoded = percent_decode(text.trim());
    let slug: String = slug::slugify(decoded).chars().take(100).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    (!slug.is_empty()).then_some(slug)
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Images found or stored so far, by the URL they came from.
struct Images<'a> {
    state: &'a AppState,
    uploads: &'a Option<PathBuf>,
    fetch_private: bool,
    attachments: HashMap<i64, Item>,
    /// Attachments by their URL without the size WordPress adds (`-300x200`).
    by_url: HashMap<String, i64>,
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
            .dns_resolver(crate::webhooks::address::PublicOnly::new(fetch_private))
            .user_agent(concat!("lede-import/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Images {
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

    /// The stored image for an attachment id or a `src`, fetched or read the first time;
    /// `None` (and a problem named once) when it cannot be had.
    async fn get(&mut self, attachment: Option<i64>, src: &str, alt: &str) -> Option<Uuid> {
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
            Ok(bytes) => match crate::images::ingest(self.state, bytes, text, None).await {
                Ok((image, created)) => {
                    if created {
                        self.counts.created += 1;
                    } else {
                        self.counts.unchanged += 1;
                    }
                    Some(image.id)
                }
                Err(error) => {
                    self.fail(&url, &error.to_string());
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

    fn fail(&mut self, url: &str, why: &str) {
        self.counts.failed += 1;
        self.problems.push(format!("image {url}: {why}"));
    }

    /// The image's bytes: from the uploads folder when it has them, else from the web.
    async fn bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        if let Some(path) = self
            .uploads
            .as_deref()
            .and_then(|dir| uploads_path(dir, url))
            && path.is_file()
        {
            return tokio::fs::read(&path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()));
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
        let limit = self.state.image_max_bytes;
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
    use crate::webhooks::address::{is_public, literal_ip};
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

/// One post: its images stored first (each image is its own write, kept when the post
/// fails), then the article and its comments in one transaction.
async fn import_post(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    item: &Item,
    people: &mut People,
    images: &mut Images<'_>,
    started: chrono::DateTime<Utc>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let kind = kind_name(item);
    let mut notes = Vec::new();
    let attached = attached(&images.attachments, item.id);
    let prepared = html::prepare(&item.content, &attached, &mut notes);
    // The parsed HTML is not `Send`: parsed again after the images are in.
    let refs = html::images(&html::parse(&prepared));
    let mut stored = html::Stored::new();
    for image in refs {
        let id = images.get(image.attachment, &image.src, &image.alt).await;
        if id.is_none() {
            notes.push(format!(
                "image {} could not be had (its caption is kept)",
                image.src
            ));
        }
        stored.insert(image.src, id);
    }
    let cover = match item
        .meta("_thumbnail_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
    {
        Some(id) => match attachment_url(&images.attachments, Some(id)).map(str::to_owned) {
            Some(url) => images.get(Some(id), &url, "").await,
            None => {
                notes.push(format!(
                    "the featured image (attachment {id}) is not in the export"
                ));
                None
            }
        },
        None => None,
    };
    let body_markdown = html::to_markdown(&html::parse(&prepared), stored, &mut notes);
    let ((status, published_at), status_note) = status_of(item);
    notes.extend(status_note);

    let author = {
        let login = item.creator.trim();
        let login = if login.is_empty() { "wordpress" } else { login };
        people.author(conn, login, login, "", summary).await?
    };
    let mut tags = Vec::new();
    for term in &item.terms {
        if let Some(id) = people.tag(conn, term, summary).await?
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
    let new = NewArticle {
        title,
        slug,
        subtitle: None,
        excerpt: (!excerpt.is_empty()).then(|| excerpt.chars().take(1000).collect()),
        body_markdown,
        status: Some(status),
        published_at: published_at.map(Timestamp),
        author: Some(author.to_string()),
        tags,
        cover_image: cover,
        comments_open: Some(item.comment_status != "closed"),
        external_id: None,
        kind: Some(if item.post_type == "page" {
            Kind::Page
        } else {
            Kind::Article
        }),
    };
    let external_id = format!("wp:{}", item.id);
    let comments = comments_of(item, &mut notes);
    let written = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (article, created) = crate::articles::write::upsert(
                conn,
                &IMPORTER,
                &external_id,
                new,
                Checks::new(),
                &IfMatch::any(),
                &state.search_language,
            )
            .await?;
            let rows = comment_rows(article.id, &external_id, comments);
            let inserted =
                crate::comments::queries::insert_imported(conn, article.id, &rows).await?;
            Ok((article, created, rows.len(), inserted))
        })
        .await;
    match written {
        Ok((article, created, total, inserted)) => {
            let counts = summary.count(kind);
            if created {
                counts.created += 1;
            } else if article.updated_at >= started {
                counts.updated += 1;
            } else {
                counts.unchanged += 1;
            }
            let counts = summary.count("comments");
            counts.created += inserted;
            counts.unchanged += total - inserted;
            if !notes.is_empty() {
                summary
                    .problems
                    .push(format!("{}: {}", describe(item), notes.join("; ")));
            }
        }
        Err(error) => {
            summary.count(kind).failed += 1;
            summary.problems.push(format!(
                "{}: not imported: {}",
                describe(item),
                explain(&error)
            ));
        }
    }
    Ok(())
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

/// The importer writes as an admin; revisions it saves name no token (the nil id).
const IMPORTER: Principal = Principal {
    token_id: Uuid::nil(),
    role: Role::Admin,
    author_id: None,
};

/// A post's comments worth importing (pings and trackbacks are not), parents first.
fn comments_of<'a>(item: &'a Item, notes: &mut Vec<String>) -> Vec<&'a WpComment> {
    let mut pings = 0;
    let mut kept: Vec<&WpComment> = Vec::new();
    for comment in &item.comments {
        if matches!(comment.kind.as_str(), "pingback" | "trackback") {
            pings += 1;
        } else {
            kept.push(comment);
        }
    }
    if pings > 0 {
        notes.push(format!("{pings} pingback(s)/trackback(s) skipped"));
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

fn comment_id(external_id: &str, comment: i64) -> Uuid {
    Uuid::new_v5(
        &COMMENT_IDS,
        format!("{external_id}:comment:{comment}").as_bytes(),
    )
}

fn comment_rows(
    article_id: Uuid,
    external_id: &str,
    comments: Vec<&WpComment>,
) -> Vec<crate::comments::model::Comment> {
    let ids: HashSet<i64> = comments.iter().map(|c| c.id).collect();
    comments
        .into_iter()
        .map(|c| {
            let mut notes = Vec::new();
            let tree = html::parse(&html::prepare(&c.content, &[], &mut notes));
            let body_markdown = html::to_markdown(&tree, html::Stored::new(), &mut notes);
            let body_html = crate::comments::render_body(&body_markdown);
            let at = c.date.unwrap_or_else(Utc::now);
            let status = match c.approved.as_str() {
                "1" | "approve" => "approved",
                "spam" => "spam",
                "trash" => "trash",
                _ => "pending",
            };
            crate::comments::model::Comment {
                id: comment_id(external_id, c.id),
                article_id,
                parent_id: (c.parent != 0 && ids.contains(&c.parent))
                    .then(|| comment_id(external_id, c.parent)),
                author_name: match c.author.trim() {
                    "" => "Anonymous".into(),
                    name => name.chars().take(100).collect(),
                },
                author_email: c.email.trim().to_owned(),
                author_url: Some(c.url.trim().to_owned()).filter(|u| u.starts_with("http")),
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
    }
}
