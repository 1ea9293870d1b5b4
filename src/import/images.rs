//! Attachments of an export: fetched from public addresses (or read from `--uploads`)
//! within size and time bounds, stored once per file, with their alt and caption.
use super::*;

/// How to allow fetching from private addresses, for a refusal's message.
const PRIVATE_HINT: &str = "--fetch-private allows fetching from an intranet";

/// The images uploaded to each post, in the order they were (what `[gallery]` shows).
pub(super) fn attached_by_post(attachments: &HashMap<i64, Item>) -> HashMap<i64, Vec<i64>> {
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

pub(super) fn attachment_url(attachments: &HashMap<i64, Item>, id: Option<i64>) -> Option<&str> {
    id.and_then(|id| attachments.get(&id))
        .map(|a| a.attachment_url.as_str())
        .filter(|url| !url.is_empty())
}

/// Images found or stored so far, by the URL they came from.
pub(super) struct Images<'a> {
    pub(super) state: &'a AppState,
    /// Nothing is stored (see `crate::images::ingest_dry`).
    pub(super) dry_run: bool,
    /// The bytes (SHA-256) of the images this run stored, their ids (gone with a dry run's
    /// rollback), and the URLs already counted.
    pub(super) made: HashSet<Vec<u8>>,
    pub(super) made_ids: HashSet<Uuid>,
    pub(super) answered: HashSet<String>,
    pub(super) uploads: &'a Option<PathBuf>,
    pub(super) fetch_private: bool,
    pub(super) attachments: HashMap<i64, Item>,
    /// Attachments by their URL without the size WordPress adds (`-300x200`).
    pub(super) by_url: HashMap<String, i64>,
    pub(super) by_post: HashMap<i64, Vec<i64>>,
    pub(super) base: Option<url::Url>,
    pub(super) client: reqwest::Client,
    pub(super) done: HashMap<String, Option<Uuid>>,
    pub(super) counts: Counts,
    pub(super) problems: Vec<String>,
}

impl<'a> Images<'a> {
    pub(super) fn new(
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
        let client = crate::outbound::fetch::client(
            fetch_private,
            concat!("lede-import/", env!("CARGO_PKG_VERSION")),
            PRIVATE_HINT,
        )?;
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
    pub(super) fn attached(&self, post: i64) -> Vec<i64> {
        self.by_post.get(&post).cloned().unwrap_or_default()
    }

    /// The stored image for an attachment id or a `src`, fetched or read the first time;
    /// `None` (and a problem named once) when it cannot be had.
    pub(super) async fn get(
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
                true => {
                    crate::images::ingest_dry(conn, &Principal::IMPORTER.actor, self.state, bytes)
                        .await
                }
                false => {
                    crate::images::ingest(&Principal::IMPORTER.actor, self.state, bytes, text, None)
                        .await
                }
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
    pub(super) fn forget_made(&mut self) {
        let made = &self.made_ids;
        self.done
            .retain(|_, id| id.is_none_or(|id| !made.contains(&id)));
    }

    pub(super) fn fail(&mut self, url: &str, why: &str) {
        self.counts.failed += 1;
        self.problems.push(format!("image {url}: {why}"));
    }

    /// The image's bytes: from the uploads folder when it has them, else from the web.
    pub(super) async fn bytes(&self, url: &str) -> Result<Vec<u8>, String> {
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
        crate::outbound::fetch::bytes(
            &self.client,
            absolute,
            limit,
            self.fetch_private,
            PRIVATE_HINT,
        )
        .await
    }
}

/// Where an image URL's file is in a copy of the uploads folder: the path after
/// `wp-content/uploads/`, else the URL's whole path.
pub(super) fn uploads_path(dir: &Path, url: &str) -> Option<PathBuf> {
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
pub(super) fn uploads_file(dir: &Path, url: &str) -> Result<Option<PathBuf>, String> {
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
pub(super) async fn read_no_follow(path: PathBuf, limit: usize) -> Result<Vec<u8>, String> {
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
pub(super) fn without_size(url: &str) -> String {
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
