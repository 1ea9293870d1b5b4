//! Bodies are rendered on the blocking pool before a write's transaction opens, within a
//! time budget; figures show their images' current text, and are rendered again (in
//! batches of their own) when an image's text changes.
use super::*;

/// How long rendering one body may take, once it has its place. Bodies within `limits`
/// render in well under a second (`bench/render`); this is the bound should one not.
pub(super) const RENDER_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a body waits for a place to render before the write is told to come back.
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Places to render in: one per core. Sixteen long bodies arriving at once take turns
/// instead of sharing the cores sixteen ways, so each renders as fast as it would alone
/// and the budget measures the body, not how many arrived with it.
static RENDERING: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::sync::Arc::new(tokio::sync::Semaphore::new(cores))
    });

/// Renders a body on the blocking pool when a place is free, within `RENDER_BUDGET`. The
/// place is held until the rendering ends, also one the budget gave up waiting for.
pub(super) async fn render_body(
    markdown: String,
    figures: HashMap<Uuid, Figure>,
) -> Result<render::Rendered, ApiError> {
    let place = tokio::time::timeout(RENDER_WAIT, RENDERING.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::Unavailable("rendering is at capacity; try again shortly".into())
        })?;
    let rendering = web::block(move || {
        let _place = place;
        render::render(&markdown, &figures)
    });
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
pub(super) struct Body {
    pub(super) markdown: String,
    pub(super) problems: Vec<limits::BodyProblem>,
    pub(super) figure_ids: Vec<Uuid>,
    pub(super) bad_refs: Vec<String>,
    /// What rendering removes from its raw HTML, told to the writer.
    pub(super) removed: Vec<crate::articles::removed::Removed>,
    pub(super) rendered: Option<(HashMap<Uuid, Figure>, render::Rendered)>,
}

impl Body {
    /// Checks a body on the blocking pool (the parse of a long body is CPU work).
    pub(super) async fn read(markdown: String) -> Result<Body, ApiError> {
        web::block(move || {
            use crate::articles::removed;
            let read = limits::read(&markdown, removed::JUDGED);
            let problems = read.problems;
            let (figure_ids, bad_refs) = render::image_refs(&markdown);
            let removed = if problems.is_empty() {
                removed::removed(&read.start_tags)
            } else {
                Vec::new()
            };
            Body {
                markdown,
                problems,
                figure_ids,
                bad_refs,
                removed,
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

    pub(super) async fn looking_up(
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

    /// What rendering `markdown` (one of these bodies) removed, for the write's answer.
    pub fn removed(&self, markdown: &str) -> Vec<crate::articles::removed::Removed> {
        self.find(markdown)
            .map(|body| body.removed.clone())
            .unwrap_or_default()
    }

    pub(super) fn find(&self, markdown: &str) -> Option<&Body> {
        self.0.iter().find(|body| body.markdown == markdown)
    }

    pub(super) fn rendered(
        &self,
        markdown: &str,
        figures: &HashMap<Uuid, Figure>,
    ) -> Option<render::Rendered> {
        let (shown, rendered) = self.find(markdown)?.rendered.as_ref()?;
        (shown == figures).then(|| rendered.clone())
    }
}

/// A body as readers would get it, for the desk's live preview: nothing is saved.
pub struct Preview {
    /// The sanitised HTML, media URLs as the stored placeholder (`MediaUrls::complete`).
    pub html: String,
    /// What rendering removed, each with its line.
    pub removed: Vec<crate::articles::removed::Removed>,
    /// Why a save would refuse it as it is (too deep, too many elements, unknown figures).
    pub problems: Vec<String>,
}

/// Renders `markdown` as a save would (the same checks, bounds and renderer, off the async
/// workers), with the figures' images as they are now.
pub async fn preview(pool: &crate::db::Pool, markdown: String) -> Result<Preview, ApiError> {
    if markdown.chars().count() > MAX_BODY {
        return Ok(Preview {
            html: String::new(),
            removed: Vec::new(),
            problems: vec![format!("the body is longer than {MAX_BODY} characters")],
        });
    }
    let bodies = Prerendered::of(pool, [markdown.clone()]).await?;
    let Some(body) = bodies.find(&markdown) else {
        return Err(ApiError::Internal(
            "a previewed body was not rendered".into(),
        ));
    };
    let mut problems: Vec<String> = body.problems.iter().map(|p| p.message.clone()).collect();
    let shown = body.rendered.as_ref();
    for id in &body.figure_ids {
        if shown.is_none_or(|(figures, _)| !figures.contains_key(id)) && body.problems.is_empty() {
            problems.push(format!("there is no image {id}"));
        }
    }
    problems.extend(
        body.bad_refs
            .iter()
            .map(|reference| format!("`{reference}` is not an image id")),
    );
    Ok(Preview {
        html: shown
            .map(|(_, rendered)| rendered.html.clone())
            .unwrap_or_default(),
        removed: body.removed.clone(),
        problems,
    })
}

/// Stored images as the renderer shows them in a body. Stored HTML holds a placeholder for
/// the media base, completed when served.
pub(super) fn figures_of(images: Vec<crate::images::model::Image>) -> HashMap<Uuid, Figure> {
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
pub(super) fn widths_of(
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
pub(super) const FIGURE_BATCH: usize = 100;

/// Renders again the bodies of the articles that show `image_id` as a figure, so they
/// show the image's current alt, caption, credit and variants (a job queued by the image's
/// write). A batch at a time: rendered outside any transaction, then written in one
/// transaction of its own, skipping an article whose rendering is the same, and leaving one
/// changed meanwhile (its body, or its rendering by another run) to another run, queued
/// here. The version is not bumped (the article's own text did not change); the change is
/// recorded per article, and announced for the public ones.
pub async fn refresh_figures(pool: &crate::db::Pool, image_id: Uuid) -> Result<(), ApiError> {
    let mut conn = crate::db::conn(pool).await?;
    let ids = queries::with_figure(&mut conn, image_id).await?;
    let mut changed_meanwhile = false;
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
        if rendered.is_empty() {
            continue;
        }
        conn.transaction::<_, ApiError, _>(async |conn| {
            for (seen, body) in &rendered {
                let Some(article) = queries::lock(conn, &seen.id.to_string()).await? else {
                    continue;
                };
                // Changed meanwhile: its own write rendered it, perhaps with the image as it
                // was before, or another run (on another node) wrote a rendering made from
                // the image read later than this one. The next run renders it again; one
                // that finds the stored rendering current writes and queues nothing.
                if (&article.body_markdown, &article.body_html)
                    != (&seen.body_markdown, &seen.body_html)
                {
                    changed_meanwhile = true;
                    continue;
                }
                let excerpt = article.excerpt_given.as_ref().unwrap_or(&body.excerpt);
                queries::set_body(conn, article.id, &body.html, &body.text, excerpt).await?;
                let change = Change::new(Subject::Article(article.id), Action::Updated)
                    .touching(change_keys(Some(&article), Some(&article), false))
                    .announcing(announce(Some(&article), Some(&article), &["body_html"]));
                crate::changes::record(conn, &crate::principal::IMAGE_PROCESSING, change).await?;
            }
            Ok(())
        })
        .await?;
    }
    if changed_meanwhile {
        let job = crate::jobs::Job::Figures(crate::jobs::ForImage { image_id });
        crate::jobs::enqueue(&mut conn, &job, None).await?;
    }
    Ok(())
}
