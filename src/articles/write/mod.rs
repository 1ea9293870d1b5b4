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
use crate::changes::{Action, Announce, Change, Changed, Event, Key, Subject};
use crate::db::SearchLanguage;
use crate::error::ApiError;
use crate::http::response::IfMatch;
use crate::http::slugged::Slugged;
use crate::http::validate::Checks;
use crate::jobs::{Job, Publication};
use crate::media::storage::MediaUrls;
use crate::principal::{Principal, Role};

mod announce;
mod input;
mod review;
pub use self::review::ReviewEvent;
mod prerender;

pub use self::announce::publication_due;
use self::announce::{announce, change_keys, neighbour_keys};
pub use self::input::MAX_TAGS;
use self::input::*;
pub(crate) use self::input::{MAX_EXCERPT, MAX_TITLE};
use self::prerender::*;
pub use self::prerender::{Prerendered, Preview, Write, preview, refresh_figures};

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
    if principal.role.is_bound() && author_id.is_some() && principal.author_id != author_id {
        return Err(ApiError::Forbidden(format!(
            "the role `{}` may only write its own author's articles",
            principal.role.as_str()
        )));
    }
    let step = review::step(principal, current.map(Status::of), input.status)?;
    // When it appears is the editor's to choose: a contributor's date is not kept.
    if principal.role == Role::Contributor {
        input.published_at = current.and_then(|c| c.published_at);
    }
    let (tag_ids, unknown_tags) = if checks.has("tags") {
        (Vec::new(), Vec::new())
    } else {
        queries::resolve_tags(
            conn,
            &input.tags,
            (!principal.role.is_bound()).then_some(&principal.actor),
        )
        .await?
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
    let mut changed = current.map_or_else(Vec::new, |c| changed_source(c, &row));
    if tags_changed && current.is_some() {
        changed.push("tags");
    }
    // Saving what is already there (a script run again) writes nothing: no version, no
    // revision, no change announced.
    if let Some(current) = current
        && changed.is_empty()
    {
        // A note with nothing else is still added.
        if let Some(note) = &input.note {
            super::notes::add(conn, current.id, principal, note).await?;
        }
        if same_rendering(current, &row) {
            return Ok(current.clone());
        }
        // What was sent is what is there; only what lede makes of it differs (a figure's
        // variants appeared, the renderer changed). Brought up to date without a new
        // version, revision or webhook: nothing the writer sent changed.
        queries::set_rendered(conn, &row).await?;
        let change = Change::new(Subject::Article(current.id), Action::Updated)
            .touching(change_keys(Some(current), Some(current), false));
        crate::changes::record(conn, &principal.actor, change).await?;
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
    // The activity log says what kind of write it was.
    let action = match (current, step) {
        (None, _) => Action::Created,
        (Some(_), Some(review::Step::Submitted)) => Action::Submitted,
        (Some(_), Some(review::Step::Returned)) => Action::Returned,
        (Some(_), None) => Action::Updated,
    };
    if links_change {
        keys.extend(neighbour_keys(conn, &article).await?);
    }
    keys.extend(change_keys(current, Some(&article), tags_changed));
    // A public change is announced as one; else a review step, if the write took one.
    let announced = announce(current, Some(&article), &changed).or_else(|| {
        step.map(|step| review::announce_step(step, &article, principal, input.note.as_deref()))
    });
    let change = Change::new(Subject::Article(article.id), action)
        .touching(keys)
        .announcing(announced);
    crate::changes::record(conn, &principal.actor, change).await?;
    if let Some(note) = &input.note {
        super::notes::add(conn, article.id, principal, note).await?;
    }
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
            saved_by_user: principal.actor.user_id(),
            created_at: now,
            meta_title: article.meta_title.clone(),
            meta_description: article.meta_description.clone(),
        },
    )
    .await?;
    Ok(article)
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
            .announcing(announce(Some(&current), None, &[]));
        crate::changes::record(conn, &principal.actor, change).await
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
    match (principal.role.is_bound(), principal.author_id) {
        (true, Some(id)) => Reader::Author(id),
        (true, None) => Reader::Public,
        (false, _) => Reader::Staff,
    }
}

pub(super) fn may_write(principal: &Principal, article: &Article) -> Result<(), ApiError> {
    if principal.role.is_bound() && principal.author_id != Some(article.author_id) {
        return Err(ApiError::Forbidden(format!(
            "the role `{}` may only change its own author's articles",
            principal.role.as_str()
        )));
    }
    if principal.role == Role::Contributor
        && !matches!(Status::of(article), Status::Draft | Status::InReview)
    {
        return Err(ApiError::Forbidden(
            "a contributor may only change its drafts and submissions: this article is no \
             longer one"
                .into(),
        ));
    }
    Ok(())
}
