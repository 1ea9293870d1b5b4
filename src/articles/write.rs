//! Writing articles, with or without HTTP: the one path every create, change and delete
//! takes (the API's handlers, the demo content, the importer and batch writes to come).
//! Each runs in the caller's transaction: resolves the author, tags and images, renders and
//! sanitizes the body off the async workers, writes the row, its tags, figures, revision
//! and old slug, and records the change in the change feed. Every problem with the input
//! (its shape, its text, what the database knows) is named in one 422.
use std::collections::HashMap;

use actix_web::web;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::limits;
use super::may_read;
use super::model::{Article, ArticleChanges, ArticleRow, Kind, NewArticle, Revision, Status};
use super::queries::{self, Reader};
use super::render::{self, Figure};
use crate::changes::{Action, Announce, Change, Event, Key, Subject};
use crate::db::SearchLanguage;
use crate::error::ApiError;
use crate::http::response::IfMatch;
use crate::http::slugged::Slugged;
use crate::http::validate::Checks;
use crate::jobs::{Job, Publication};
use crate::media::storage::MediaUrls;
use crate::principal::{Principal, Role};

pub(crate) const MAX_TITLE: usize = 300;
const MAX_SUBTITLE: usize = 500;
pub(crate) const MAX_EXCERPT: usize = 1000;
const MAX_BODY: usize = 500_000;
pub const MAX_TAGS: usize = 20;

/// What a change from `before` to `after` (`None`: no article) shows the public: the
/// article and the lists when it is public on either side; `counts` when it turned public
/// or stopped being so, or a public one changed author or tags (`tags_changed`); `sequence`
/// when it may have moved among the public ones or been renamed (answers with previous/next
/// within a tag);
/// and `schedule` when a publication instant may have moved (no answer shows that key; it
/// makes every node look up the next instant again). A draft's edit changes nothing public.
/// The articles beside it, whose previous/next show it, are named by `neighbour_keys`.
fn change_keys(before: Option<&Article>, after: Option<&Article>, tags_changed: bool) -> Vec<Key> {
    let sides = [before, after];
    let mut keys = Vec::new();
    let public = |side: Option<&Article>| side.is_some_and(|a| a.is_public);
    if public(before) || public(after) {
        let id = before.or(after).map(|a| a.id).unwrap_or_default();
        keys.push(Key::Article(id));
        keys.push(Key::Articles);
        let author_changed = before.map(|a| a.author_id) != after.map(|a| a.author_id);
        // Pages are not counted as an author's or a tag's articles.
        let kind_changed = before.map(|a| &a.kind) != after.map(|a| &a.kind);
        if public(before) != public(after) || author_changed || tags_changed || kind_changed {
            keys.push(Key::Counts);
        }
        let moved = before.map(|a| a.published_at) != after.map(|a| a.published_at);
        let renamed = before.map(|a| (&a.title, &a.slug)) != after.map(|a| (&a.title, &a.slug));
        if public(before) != public(after) || tags_changed || kind_changed || moved || renamed {
            keys.push(Key::Sequence);
        }
    }
    if sides
        .iter()
        .flatten()
        .any(|a| Status::of(a) == Status::Scheduled)
    {
        keys.push(Key::Schedule);
    }
    keys
}

/// What webhook subscribers hear of a change from `before` to `after` (`None`: no article):
/// only what the public could see on one side or the other. A scheduled article is
/// announced at its instant (`publication_due`), not when it is saved.
fn announce(before: Option<&Article>, after: Option<&Article>) -> Option<Announce> {
    let public = |side: Option<&Article>| side.is_some_and(|a| a.is_public);
    let event = match (public(before), public(after), after.is_some()) {
        (false, true, _) => Event::ArticlePublished,
        (true, true, _) => Event::ArticleUpdated,
        (true, false, true) => Event::ArticleUnpublished,
        (true, false, false) => Event::ArticleDeleted,
        (false, false, _) => return None,
    };
    let announce = Announce::from(event);
    // What is no longer public is named, not shown.
    match (public(after), before) {
        (false, Some(gone)) => {
            Some(announce.with_subject(serde_json::json!({"id": gone.id, "slug": gone.slug})))
        }
        _ => Some(announce),
    }
}

/// The keys of the public articles whose previous or next link is `article` now.
async fn neighbour_keys(
    conn: &mut AsyncPgConnection,
    article: &Article,
) -> Result<Vec<Key>, ApiError> {
    Ok(queries::linking_to(conn, article)
        .await?
        .into_iter()
        .map(Key::Article)
        .collect())
}

/// Announces `article.published` for the scheduled article `id` whose instant `at` has come
/// (a job made when it was scheduled; nothing when it has since moved, been unpublished or
/// deleted). The cache already dropped the lists at the instant; this is for subscribers,
/// and for the two articles beside it, whose previous/next now show it (their answers are
/// dropped now: about a second after the instant, when the job runs).
pub async fn publication_due(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(article) = queries::find(conn, &id.to_string()).await? else {
        return Ok(());
    };
    if article.is_public && article.published_at == Some(at) {
        // Its instant has come: the articles beside it now link to it.
        let change = Change::new(Subject::Article(id), Action::Published)
            .touching([Key::Article(id)])
            .touching(neighbour_keys(conn, &article).await?)
            .announcing(announce(None, Some(&article)));
        crate::changes::record(conn, change).await?;
    }
    Ok(())
}

/// An article's fields after a create or a change, before anything is resolved.
struct Input {
    title: String,
    slug: Option<String>,
    subtitle: Option<String>,
    excerpt_given: Option<String>,
    body_markdown: String,
    status: Status,
    published_at: Option<DateTime<Utc>>,
    author: String,
    tags: Vec<String>,
    cover_image: Option<Uuid>,
    comments_open: bool,
    external_id: Option<String>,
    kind: Kind,
    meta_title: Option<String>,
    meta_description: Option<String>,
}

const MAX_EXTERNAL_ID: usize = 200;
/// A tag named by id, slug or name (as tags' own names are limited).
const MAX_TAG_NAME: usize = 100;

fn check_text(checks: &mut Checks, input: &mut Input) {
    input.title = checks.text("title", &input.title, MAX_TITLE);
    if let Some(slug) = &input.slug {
        checks.slug("slug", slug);
    }
    input.subtitle = checks.long_text("subtitle", input.subtitle.as_deref(), MAX_SUBTITLE);
    input.excerpt_given = checks.long_text("excerpt", input.excerpt_given.as_deref(), MAX_EXCERPT);
    // An empty override is none, as for `meta_description`.
    input.meta_title = match input.meta_title.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(meta_title) => Some(checks.text("meta_title", meta_title, MAX_TITLE)),
    };
    input.meta_description = checks.long_text(
        "meta_description",
        input.meta_description.as_deref(),
        MAX_EXCERPT,
    );
    if let Some(external_id) = &input.external_id {
        input.external_id = Some(checks.text("external_id", external_id, MAX_EXTERNAL_ID));
    }
    if input.body_markdown.chars().count() > MAX_BODY {
        checks.fail(
            "body_markdown",
            "too_long",
            format!("body_markdown must be at most {MAX_BODY} characters"),
        );
    }
    if input.body_markdown.contains('\0') {
        checks.fail(
            "body_markdown",
            "invalid_characters",
            "body_markdown must not contain NUL characters",
        );
    }
    if input.tags.len() > MAX_TAGS {
        checks.fail("tags", "too_many", format!("at most {MAX_TAGS} tags"));
    } else {
        for (i, tag) in input.tags.iter_mut().enumerate() {
            let field = format!("tags[{i}]");
            *tag = checks.text(&field, tag, MAX_TAG_NAME);
            if !checks.has(&field) && crate::http::validate::slugify(tag, "").is_empty() {
                checks.fail(&field, "invalid", "a tag's name needs a letter or a digit");
            }
        }
    }
    // Stored to the microsecond: finer input would differ from what is stored every time.
    input.published_at = input
        .published_at
        .map(|t| chrono::SubsecRound::trunc_subsecs(t, 6));
    if !input.author.is_empty() {
        checks.key("author", &input.author);
    }
    if input.status == Status::Scheduled && input.published_at.is_none_or(|t| t <= Utc::now()) {
        checks.fail(
            "published_at",
            "required",
            "a scheduled article needs a published_at in the future",
        );
    }
}

/// How long rendering one body may take. Bodies within `limits` render in well under a
/// second (`bench/render`); this is the bound should one not.
const RENDER_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Renders a body on the blocking pool, within `RENDER_BUDGET`.
async fn render_body(
    markdown: String,
    figures: HashMap<Uuid, Figure>,
) -> Result<render::Rendered, ApiError> {
    let rendering = web::block(move || render::render(&markdown, &figures));
    match tokio::time::timeout(RENDER_BUDGET, rendering).await {
        Ok(rendered) => Ok(rendered?),
        Err(_) => Err(ApiError::invalid(
            "body_markdown",
            "too_complex",
            "body_markdown takes too long to render: make its structure simpler",
        )),
    }
}

/// What every article write is given besides its input: the search language, and the
/// bodies rendered before its transaction opened.
#[derive(Clone, Copy)]
pub struct Write<'a> {
    pub language: &'a SearchLanguage,
    pub bodies: &'a Prerendered,
}

/// Bodies checked and rendered before a write's transaction opens: that is CPU work, and
/// no transaction (with its row locks) and no pool connection should wait for it. The
/// write takes a body from here when it is the one it saves and its figures are still the
/// ones it was rendered with; any other it checks and renders itself, within the same
/// bounds.
#[derive(Default)]
pub struct Prerendered(Vec<Body>);

/// One body, read: what `limits` says of it, the figures it names, and (when it may be
/// saved) its rendering with the figures as they were.
struct Body {
    markdown: String,
    problems: Vec<limits::BodyProblem>,
    figure_ids: Vec<Uuid>,
    bad_refs: Vec<String>,
    rendered: Option<(HashMap<Uuid, Figure>, render::Rendered)>,
}

impl Body {
    /// Checks a body on the blocking pool (the parse of a long body is CPU work).
    async fn read(markdown: String) -> Result<Body, ApiError> {
        web::block(move || {
            let problems = limits::check(&markdown);
            let (figure_ids, bad_refs) = render::image_refs(&markdown);
            Body {
                markdown,
                problems,
                figure_ids,
                bad_refs,
                rendered: None,
            }
        })
        .await
        .map_err(Into::into)
    }
}

impl Prerendered {
    /// Checks and renders `bodies`, one at a time; a pool connection is taken only to look
    /// up the figures they show. A body the write will refuse is not rendered.
    pub async fn of(
        pool: &crate::db::Pool,
        bodies: impl IntoIterator<Item = String>,
    ) -> Result<Prerendered, ApiError> {
        Prerendered::looking_up(bodies, async |ids| {
            let mut conn = crate::db::conn(pool).await?;
            Ok(crate::images::queries::by_ids(&mut conn, ids).await?)
        })
        .await
    }

    /// As `of`, looking figures up on `conn` (the importer's, which holds it throughout).
    pub async fn on(
        conn: &mut AsyncPgConnection,
        bodies: impl IntoIterator<Item = String>,
    ) -> Result<Prerendered, ApiError> {
        Prerendered::looking_up(bodies, async |ids| {
            Ok(crate::images::queries::by_ids(conn, ids).await?)
        })
        .await
    }

    async fn looking_up(
        bodies: impl IntoIterator<Item = String>,
        mut images_of: impl AsyncFnMut(&[Uuid]) -> Result<Vec<crate::images::model::Image>, ApiError>,
    ) -> Result<Prerendered, ApiError> {
        let mut done = Prerendered::default();
        for markdown in bodies {
            if markdown.len() > 4 * MAX_BODY || done.find(&markdown).is_some() {
                continue;
            }
            let mut body = Body::read(markdown).await?;
            if body.problems.is_empty() {
                let images = images_of(&body.figure_ids).await?;
                let figures = figures_of(images);
                let rendered = render_body(body.markdown.clone(), figures.clone()).await?;
                body.rendered = Some((figures, rendered));
            }
            done.0.push(body);
        }
        Ok(done)
    }

    /// For a merge patch of the article `key`: the body it sets, or the one it keeps.
    pub async fn for_changes(
        pool: &crate::db::Pool,
        key: &str,
        changes: &ArticleChanges,
    ) -> Result<Prerendered, ApiError> {
        let body = match &changes.body_markdown {
            Some(body) => body.clone().unwrap_or_default(),
            None => {
                let mut conn = crate::db::conn(pool).await?;
                match queries::find(&mut conn, key).await? {
                    Some(article) => article.body_markdown,
                    None => return Ok(Prerendered::default()),
                }
            }
        };
        Prerendered::of(pool, [body]).await
    }

    fn find(&self, markdown: &str) -> Option<&Body> {
        self.0.iter().find(|body| body.markdown == markdown)
    }

    fn rendered(
        &self,
        markdown: &str,
        figures: &HashMap<Uuid, Figure>,
    ) -> Option<render::Rendered> {
        let (shown, rendered) = self.find(markdown)?.rendered.as_ref()?;
        (shown == figures).then(|| rendered.clone())
    }
}

/// Resolves, renders and writes an article (new when `current` is `None`) with its tags,
/// figures, revision and old slug, inside the caller's transaction. `checks` holds what was
/// found wrong with the request so far: what the database says (an unknown author, tag or
/// image) is added, and one 422 names it all.
async fn save(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    current: Option<&Article>,
    mut input: Input,
    write: &Write<'_>,
    mut checks: Checks,
) -> Result<Article, ApiError> {
    let Write { language, bodies } = *write;
    // An author or tags already found wrong are not looked up.
    let author = if checks.has("author") {
        None
    } else {
        crate::authors::queries::find(conn, &input.author).await?
    };
    let author_id = author.map(|a| a.id);
    if author_id.is_none() {
        checks.fail(
            "author",
            "not_found",
            format!("no author with id or slug `{}`", input.author),
        );
    }
    if principal.role == Role::Author && author_id.is_some() && principal.author_id != author_id {
        return Err(ApiError::Forbidden(
            "an author token may only write its own author's articles".into(),
        ));
    }
    let (tag_ids, unknown_tags) = if checks.has("tags") {
        (Vec::new(), Vec::new())
    } else {
        queries::resolve_tags(conn, &input.tags, principal.role != Role::Author).await?
    };
    if !unknown_tags.is_empty() {
        checks.fail(
            "tags",
            "not_found",
            format!(
                "unknown tags: {} (authors may only use existing tags)",
                unknown_tags.join(", ")
            ),
        );
    }
    if let Some(cover) = input.cover_image
        && crate::images::queries::find(conn, cover).await?.is_none()
    {
        checks.fail(
            "cover_image",
            "not_found",
            format!("no image with id `{cover}`"),
        );
    }
    let (problems, figure_ids, bad_refs) = match bodies.find(&input.body_markdown) {
        Some(body) => (
            body.problems.clone(),
            body.figure_ids.clone(),
            body.bad_refs.clone(),
        ),
        // Already refused (too long, a NUL): not read.
        None if checks.has("body_markdown") => Default::default(),
        None => {
            let body = Body::read(input.body_markdown.clone()).await?;
            (body.problems, body.figure_ids, body.bad_refs)
        }
    };
    // A body as it is stored is kept as it is (written before these rules, or by a rule
    // since widened): only a body being changed is held to them, so an old article can
    // still be unpublished or retagged at once.
    if current.is_none_or(|c| c.body_markdown != input.body_markdown) {
        for problem in problems {
            checks.fail("body_markdown", problem.code, problem.message);
        }
    }
    let stored = crate::images::queries::by_ids(conn, &figure_ids).await?;
    let missing: Vec<String> = figure_ids
        .iter()
        .filter(|id| !stored.iter().any(|i| i.id == **id))
        .map(ToString::to_string)
        .chain(bad_refs)
        .collect();
    if !missing.is_empty() {
        checks.fail(
            "body_markdown",
            "unknown_image",
            format!("no image for image:{}", missing.join(", image:")),
        );
    }
    checks.finish()?;
    let author_id = author_id.unwrap_or_default();

    let figures = figures_of(stored);
    let rendered = match bodies.rendered(&input.body_markdown, &figures) {
        Some(rendered) => rendered,
        // Not rendered before the transaction (a figure changed since, or a body no one
        // foresaw): rendered now, within the same bounds.
        None => render_body(input.body_markdown.clone(), figures).await?,
    };

    // The database's clock (its transaction's start): the one that decides what is public.
    let now = queries::now(conn).await?;
    // Published without a date (none given, none kept, or cleared with `null`): now.
    if input.status == Status::Published && input.published_at.is_none() {
        input.published_at = Some(now);
    }
    // The date as read (to the second) is the stored one: writing back what was read
    // changes nothing.
    if let (Some(given), Some(stored)) = (input.published_at, current.and_then(|c| c.published_at))
        && given.timestamp() == stored.timestamp()
        && given.timestamp_subsec_micros() == 0
    {
        input.published_at = Some(stored);
    }
    let slug = match (&input.slug, current) {
        (Some(slug), _) => slug.clone(),
        (None, Some(current)) => current.slug.clone(),
        (None, None) => Slugged::Articles.free_slug(conn, &input.title).await?,
    };
    let excerpt = input.excerpt_given.clone().unwrap_or(rendered.excerpt);
    let row = ArticleRow {
        id: current.map_or_else(Uuid::now_v7, |c| c.id),
        slug: slug.clone(),
        title: input.title.clone(),
        subtitle: input.subtitle.clone(),
        excerpt_given: input.excerpt_given.clone(),
        excerpt,
        body_markdown: input.body_markdown.clone(),
        body_html: rendered.html,
        body_text: rendered.text,
        toc: serde_json::to_value(&rendered.toc).unwrap_or_default(),
        word_count: rendered.word_count as i32,
        reading_time_minutes: rendered.reading_time_minutes as i32,
        status: input.status.stored().to_owned(),
        published_at: input.published_at,
        author_id,
        cover_image_id: input.cover_image,
        comments_open: input.comments_open,
        version: current.map_or(1, |c| c.version + 1),
        updated_at: now,
        search_language: language.clone(),
        external_id: input.external_id.clone(),
        kind: input.kind.as_str().to_owned(),
        meta_title: input.meta_title.clone(),
        meta_description: input.meta_description.clone(),
    };
    let tags_changed = match current {
        Some(current) => queries::tag_ids(conn, current.id).await? != tag_ids,
        None => true,
    };
    // Saving what is already there (a script run again) writes nothing: no version, no
    // revision, no change announced.
    if let Some(current) = current
        && !tags_changed
        && same_source(current, &row)
    {
        if same_rendering(current, &row) {
            return Ok(current.clone());
        }
        // What was sent is what is there; only what lede makes of it differs (a figure's
        // variants appeared, the renderer changed). Brought up to date without a new
        // version, revision or webhook: nothing the writer sent changed.
        queries::set_rendered(conn, &row).await?;
        let change = Change::new(Subject::Article(current.id), Action::Updated)
            .touching(change_keys(Some(current), Some(current), false));
        crate::changes::record(conn, change).await?;
        return queries::find(conn, &current.id.to_string())
            .await?
            .ok_or_else(|| ApiError::not_found("article", &current.id.to_string()));
    }
    // What the articles beside it show of it (their previous/next links) may change: those
    // beside it before, and those beside it after.
    let links_change = current.is_none_or(|c| {
        (&c.title, &c.slug, &c.status, c.published_at, &c.kind)
            != (
                &row.title,
                &row.slug,
                &row.status,
                row.published_at,
                &row.kind,
            )
    });
    let mut keys = Vec::new();
    if links_change && let Some(current) = current {
        keys.extend(neighbour_keys(conn, current).await?);
    }
    let article = queries::write(conn, &row, current.is_some()).await?;
    let action = if current.is_some() {
        Action::Updated
    } else {
        Action::Created
    };
    if links_change {
        keys.extend(neighbour_keys(conn, &article).await?);
    }
    keys.extend(change_keys(current, Some(&article), tags_changed));
    let change = Change::new(Subject::Article(article.id), action)
        .touching(keys)
        .announcing(announce(current, Some(&article)));
    crate::changes::record(conn, change).await?;
    if Status::of(&article) == Status::Scheduled
        && let Some(at) = article.published_at
        && current.is_none_or(|c| Status::of(c) != Status::Scheduled || c.published_at != Some(at))
    {
        let due = Publication {
            article_id: article.id,
            at,
        };
        crate::jobs::enqueue(conn, &Job::Publication(due), Some(at)).await?;
    }
    queries::set_tags(conn, article.id, &tag_ids).await?;
    queries::set_figures(conn, article.id, &figure_ids).await?;
    queries::forget_old_slug(conn, &article.slug).await?;
    if let Some(current) = current
        && current.slug != article.slug
    {
        queries::remember_old_slug(conn, &current.slug, article.id).await?;
    }
    queries::add_revision(
        conn,
        &Revision {
            article_id: article.id,
            version: article.version,
            title: article.title.clone(),
            subtitle: article.subtitle.clone(),
            excerpt_given: article.excerpt_given.clone(),
            body_markdown: article.body_markdown.clone(),
            status: article.status.clone(),
            published_at: article.published_at,
            author_id: article.author_id,
            cover_image_id: article.cover_image_id,
            tag_ids: serde_json::to_value(&tag_ids).unwrap_or_default(),
            comments_open: article.comments_open,
            slug: article.slug.clone(),
            saved_by: Some(principal.token_id),
            created_at: now,
            meta_title: article.meta_title.clone(),
            meta_description: article.meta_description.clone(),
        },
    )
    .await?;
    Ok(article)
}

/// Stored images as the renderer shows them in a body. Stored HTML holds a placeholder for
/// the media base, completed when served.
fn figures_of(images: Vec<crate::images::model::Image>) -> HashMap<Uuid, Figure> {
    use crate::images::rendition::{MODERN, is_modern};
    let urls = MediaUrls::placeholder();
    images
        .into_iter()
        .map(|image| {
            let stored = image.stored_variants();
            // A source per modern format, in the order browsers should pick them.
            let sources = MODERN
                .iter()
                .map(|mime| (mime.to_string(), widths_of(&stored, &urls, |m| m == *mime)))
                .filter(|(_, set)| !set.is_empty())
                .collect();
            // The fallback: the original's format, the original itself the widest.
            let url = urls.url(&image.storage_key);
            let width = image.width.max(0) as u32;
            let mut srcset = widths_of(&stored, &urls, |mime| !is_modern(mime));
            srcset.push((url.clone(), width));
            (
                image.id,
                Figure {
                    url,
                    width,
                    height: image.height.max(0) as u32,
                    alt: image.alt,
                    caption: image.caption,
                    credit: image.credit,
                    srcset,
                    placeholder: image.placeholder,
                    sources,
                },
            )
        })
        .collect()
}

/// The widths (a crop has another shape) among `stored` in the formats `in_format` takes,
/// as `srcset` candidates.
fn widths_of(
    stored: &[crate::images::model::StoredVariant],
    urls: &MediaUrls,
    in_format: impl Fn(&str) -> bool,
) -> Vec<(String, u32)> {
    stored
        .iter()
        .filter(|v| v.name.starts_with('w') && in_format(&v.mime_type))
        .map(|v| (urls.url(&v.key), v.width))
        .collect()
}

/// How many articles one transaction of a figure refresh writes.
const FIGURE_BATCH: usize = 100;

/// Renders again the bodies of the articles that show `image_id` as a figure, so they
/// show the image's current alt, caption, credit and variants (a job queued by the image's
/// write). A batch at a time: rendered outside any transaction, then written in one
/// transaction of its own, skipping an article changed meanwhile (its own write rendered
/// it with the image as it is) and one whose rendering is the same. The version is not
/// bumped (the article's own text did not change); the change is recorded per article,
/// and announced for the public ones.
pub async fn refresh_figures(pool: &crate::db::Pool, image_id: Uuid) -> Result<(), ApiError> {
    let mut conn = crate::db::conn(pool).await?;
    let ids = queries::with_figure(&mut conn, image_id).await?;
    for chunk in ids.chunks(FIGURE_BATCH) {
        let mut rendered = Vec::with_capacity(chunk.len());
        for id in chunk {
            let Some(article) = queries::find(&mut conn, &id.to_string()).await? else {
                continue;
            };
            let markdown = article.body_markdown.clone();
            let (figure_ids, _) = web::block(move || render::image_refs(&markdown)).await?;
            let images = crate::images::queries::by_ids(&mut conn, &figure_ids).await?;
            let body = match render_body(article.body_markdown.clone(), figures_of(images)).await {
                Ok(body) => body,
                // Not this article's figure: it stays as it was rather than hold back the rest.
                Err(error) => {
                    tracing::warn!(id = %article.id, %error, "figures: cannot render an article again");
                    continue;
                }
            };
            if body.html != article.body_html {
                rendered.push((article, body));
            }
        }
        conn.transaction::<_, ApiError, _>(async |conn| {
            for (seen, body) in &rendered {
                let Some(article) = queries::lock(conn, &seen.id.to_string()).await? else {
                    continue;
                };
                if article.version != seen.version {
                    continue;
                }
                let excerpt = article.excerpt_given.as_ref().unwrap_or(&body.excerpt);
                queries::set_body(conn, article.id, &body.html, &body.text, excerpt).await?;
                let change = Change::new(Subject::Article(article.id), Action::Updated)
                    .touching(change_keys(Some(&article), Some(&article), false))
                    .announcing(announce(Some(&article), Some(&article)));
                crate::changes::record(conn, change).await?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(())
}

/// A new article's fields, checked; an author token writes as its own author by default.
/// `checks` are the body's so far; they go on to `save`, which answers them all at once.
fn input_for_new(new: NewArticle, principal: &Principal, mut checks: Checks) -> (Input, Checks) {
    // Every field named, so a new one does not compile until it is taken in here.
    let NewArticle {
        title,
        slug,
        subtitle,
        excerpt,
        body_markdown,
        status,
        published_at,
        author,
        tags,
        cover_image,
        comments_open,
        external_id,
        kind,
        meta_title,
        meta_description,
    } = new;
    let author = match (author, principal.role, principal.author_id) {
        (Some(author), _, _) => author,
        (None, Role::Author, Some(own)) => own.to_string(),
        (None, _, _) => {
            checks.fail("author", "required", "author (id or slug) is required");
            String::new()
        }
    };
    let mut input = Input {
        title,
        slug,
        subtitle,
        excerpt_given: excerpt,
        body_markdown,
        status: status.unwrap_or(Status::Draft),
        published_at: published_at.map(|t| t.0),
        author,
        tags,
        cover_image,
        comments_open: comments_open.unwrap_or(true),
        external_id,
        kind: kind.unwrap_or_default(),
        meta_title,
        meta_description,
    };
    check_text(&mut checks, &mut input);
    (input, checks)
}

/// Whether `row` holds what `current` already has of what a writer gives: its source.
fn same_source(current: &Article, row: &ArticleRow) -> bool {
    // Every field named, so a new one does not compile until it is said to be source (here),
    // made from it (`same_rendering`) or neither.
    let ArticleRow {
        id: _,
        slug,
        title,
        subtitle,
        excerpt_given,
        excerpt: _,
        body_markdown,
        body_html: _,
        body_text: _,
        toc: _,
        word_count: _,
        reading_time_minutes: _,
        status,
        published_at,
        author_id,
        cover_image_id,
        comments_open,
        version: _,
        updated_at: _,
        search_language: _,
        external_id,
        kind,
        meta_title,
        meta_description,
    } = row;
    current.slug == *slug
        && current.title == *title
        && current.subtitle == *subtitle
        && current.excerpt_given == *excerpt_given
        && current.body_markdown == *body_markdown
        && current.status == *status
        && current.published_at == *published_at
        && current.author_id == *author_id
        && current.cover_image_id == *cover_image_id
        && current.comments_open == *comments_open
        && current.external_id == *external_id
        && current.kind == *kind
        && current.meta_title == *meta_title
        && current.meta_description == *meta_description
}

/// Whether `row` holds what `current` already has of what lede makes of the source.
fn same_rendering(current: &Article, row: &ArticleRow) -> bool {
    current.body_html == row.body_html
        && current.excerpt == row.excerpt
        && current.toc == row.toc
        && current.word_count == row.word_count
        && current.reading_time_minutes == row.reading_time_minutes
}

/// Creates or replaces the article with `external_id`, as `principal`: `new` says every
/// field, as on create, except that a replaced article keeps its slug and its publication
/// date unless `new` gives them. The article and whether it was created.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    external_id: &str,
    mut new: NewArticle,
    mut checks: Checks,
    if_match: &IfMatch,
    write: &Write<'_>,
) -> Result<(Article, bool), ApiError> {
    if new
        .external_id
        .as_deref()
        .is_some_and(|given| given != external_id)
    {
        checks.fail(
            "external_id",
            "mismatch",
            "external_id in the body must be the one in the path, or left out",
        );
    }
    // Looked up as given: one that would be stored otherwise (trimmed) could never be found.
    if external_id.trim() != external_id {
        checks.fail(
            "external_id",
            "invalid",
            "external_id must not start or end with spaces",
        );
    }
    new.external_id = Some(external_id.to_owned());
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Two writers of one new external id: the second waits for the first and replaces
        // what it made (a row lock has no row to hold yet).
        queries::lock_external_id(conn, external_id).await?;
        let Some(current) = queries::lock_by_external_id(conn, external_id).await? else {
            // `If-Match` asks for a current version, and there is none.
            if_match.check_absent()?;
            let (input, checks) = input_for_new(new, principal, checks);
            return Ok((
                save(conn, principal, None, input, write, checks).await?,
                true,
            ));
        };
        // External ids are one namespace: one held by an article this token may not see
        // is answered as if absent, and not taken over.
        check_write(principal, &current, external_id, if_match).map_err(|error| match error {
            ApiError::NotFound(_) => ApiError::NotFound(format!(
                "no article with external_id `{external_id}` that this token may see"
            )),
            error => error,
        })?;
        let (mut input, checks) = input_for_new(new, principal, checks);
        if input.published_at.is_none() && input.status != Status::Draft {
            input.published_at = current.published_at;
        }
        Ok((
            save(conn, principal, Some(&current), input, write, checks).await?,
            false,
        ))
    })
    .await
}

/// Creates an article as `principal`. `checks` holds the problems found so far (a body's
/// shape; `Checks::new()` for none): every problem is answered in one 422.
pub async fn create(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    new: NewArticle,
    checks: Checks,
    write: &Write<'_>,
) -> Result<Article, ApiError> {
    let (input, checks) = input_for_new(new, principal, checks);
    conn.transaction::<_, ApiError, _>(async |conn| {
        save(conn, principal, None, input, write, checks).await
    })
    .await
}

/// Applies a merge patch to the article `key` (id or slug) as `principal`: 404 when it may
/// not see it, 403 when it may not change it, 412 when `if_match` is stale, 422 naming
/// every bad field (those already in `checks` included).
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
    changes: ArticleChanges,
    checks: Checks,
    write: &Write<'_>,
) -> Result<Article, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = lock_for_write(conn, principal, key, if_match).await?;
        let (input, checks) = apply(conn, &current, changes, checks).await?;
        save(conn, principal, Some(&current), input, write, checks).await
    })
    .await
}

/// Deletes the article `key` with its revisions and comments (its images stay), as
/// `principal`, with the same 404/403/412 as `update`.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = lock_for_write(conn, principal, key, if_match).await?;
        let keys = neighbour_keys(conn, &current).await?;
        queries::delete(conn, current.id).await?;
        let change = Change::new(Subject::Article(current.id), Action::Deleted)
            .touching(keys)
            .touching(change_keys(Some(&current), None, true))
            .announcing(announce(Some(&current), None));
        crate::changes::record(conn, change).await
    })
    .await
}

/// The article a write is about, locked for the transaction: 404 when the caller may not see
/// it, 403 when it may not change it, 412 when `If-Match` is stale.
async fn lock_for_write(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    key: &str,
    if_match: &IfMatch,
) -> Result<Article, ApiError> {
    let current = queries::lock(conn, key)
        .await?
        .ok_or_else(|| ApiError::not_found("article", key))?;
    check_write(principal, &current, key, if_match)?;
    Ok(current)
}

/// 404 when `principal` may not see `current` (named `key`), 403 when it may not change
/// it, 412 when `If-Match` is stale.
fn check_write(
    principal: &Principal,
    current: &Article,
    key: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    if !may_read(reader_of(principal), current) {
        return Err(ApiError::not_found("article", key));
    }
    may_write(principal, current)?;
    if_match.check(current)
}

pub(crate) fn reader_of(principal: &Principal) -> Reader {
    match (principal.role, principal.author_id) {
        (Role::Author, Some(id)) => Reader::Author(id),
        (Role::Author, None) => Reader::Public,
        _ => Reader::Staff,
    }
}

pub(super) fn may_write(principal: &Principal, article: &Article) -> Result<(), ApiError> {
    if principal.role == Role::Author && principal.author_id != Some(article.author_id) {
        return Err(ApiError::Forbidden(
            "an author token may only change its own author's articles".into(),
        ));
    }
    Ok(())
}

/// The current article with the merge patch applied, checked.
async fn apply(
    conn: &mut AsyncPgConnection,
    current: &Article,
    changes: ArticleChanges,
    mut checks: Checks,
) -> Result<(Input, Checks), ApiError> {
    let current_tags = queries::tag_ids(conn, current.id).await?;
    let required = |checks: &mut Checks, field: &str| {
        checks.fail(field, "required", format!("{field} cannot be removed"));
    };
    let mut input = Input {
        title: current.title.clone(),
        slug: None,
        subtitle: current.subtitle.clone(),
        excerpt_given: current.excerpt_given.clone(),
        body_markdown: current.body_markdown.clone(),
        status: Status::of(current),
        published_at: current.published_at,
        author: current.author_id.to_string(),
        tags: current_tags.iter().map(ToString::to_string).collect(),
        cover_image: current.cover_image_id,
        comments_open: current.comments_open,
        external_id: current.external_id.clone(),
        kind: Kind::of(current),
        meta_title: current.meta_title.clone(),
        meta_description: current.meta_description.clone(),
    };
    // Every field named, so a new one does not compile until it is applied here.
    let ArticleChanges {
        title,
        slug,
        subtitle,
        excerpt,
        body_markdown,
        status,
        published_at,
        author,
        tags,
        cover_image,
        comments_open,
        external_id,
        kind,
        meta_title,
        meta_description,
    } = changes;
    match title {
        Some(Some(title)) => input.title = title,
        Some(None) => required(&mut checks, "title"),
        None => {}
    }
    match slug {
        Some(Some(slug)) => input.slug = Some(slug),
        Some(None) => required(&mut checks, "slug"),
        None => {}
    }
    if let Some(subtitle) = subtitle {
        input.subtitle = subtitle;
    }
    if let Some(excerpt) = excerpt {
        input.excerpt_given = excerpt;
    }
    if let Some(body) = body_markdown {
        input.body_markdown = body.unwrap_or_default();
    }
    if let Some(published_at) = published_at {
        input.published_at = published_at.map(|t| t.0);
    }
    match status {
        Some(Some(status)) => input.status = status,
        Some(None) => required(&mut checks, "status"),
        None => {}
    }
    match author {
        Some(Some(author)) => input.author = author,
        Some(None) => required(&mut checks, "author"),
        None => {}
    }
    if let Some(tags) = tags {
        input.tags = tags.unwrap_or_default();
    }
    if let Some(cover) = cover_image {
        input.cover_image = cover;
    }
    if let Some(external_id) = external_id {
        input.external_id = external_id;
    }
    if let Some(meta_title) = meta_title {
        input.meta_title = meta_title;
    }
    if let Some(meta_description) = meta_description {
        input.meta_description = meta_description;
    }
    match kind {
        Some(Some(kind)) => input.kind = kind,
        Some(None) => required(&mut checks, "kind"),
        None => {}
    }
    match comments_open {
        Some(Some(open)) => input.comments_open = open,
        Some(None) => required(&mut checks, "comments_open"),
        None => {}
    }
    check_text(&mut checks, &mut input);
    Ok((input, checks))
}
