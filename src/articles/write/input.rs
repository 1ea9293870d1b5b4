//! An article's fields as given: checked, merged with what is stored (a merge patch), and
//! compared with it (a save of what is already there writes nothing).
use super::*;

pub(crate) const MAX_TITLE: usize = 300;

pub(super) const MAX_SUBTITLE: usize = 500;

pub(crate) const MAX_EXCERPT: usize = 1000;

pub(super) const MAX_BODY: usize = 500_000;

pub const MAX_TAGS: usize = 20;

/// An article's fields after a create or a change, before anything is resolved.
pub(super) struct Input {
    pub(super) title: String,
    pub(super) slug: Option<String>,
    pub(super) subtitle: Option<String>,
    pub(super) excerpt_given: Option<String>,
    pub(super) body_markdown: String,
    pub(super) status: Status,
    pub(super) published_at: Option<DateTime<Utc>>,
    pub(super) author: String,
    pub(super) tags: Vec<String>,
    pub(super) cover_image: Option<Uuid>,
    pub(super) comments_open: bool,
    pub(super) external_id: Option<String>,
    pub(super) kind: Kind,
    pub(super) meta_title: Option<String>,
    pub(super) meta_description: Option<String>,
    /// An editorial note given with the write (not a field of the article).
    pub(super) note: Option<String>,
}

use crate::articles::notes::MAX_NOTE;

pub(super) const MAX_EXTERNAL_ID: usize = 200;

/// A tag named by id, slug or name (as tags' own names are limited).
pub(super) const MAX_TAG_NAME: usize = 100;

pub(super) fn check_text(checks: &mut Checks, input: &mut Input) {
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
    input.note = checks.long_text("note", input.note.as_deref(), MAX_NOTE);
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

/// A new article's fields, checked; an author token writes as its own author by default.
/// `checks` are the body's so far; they go on to `save`, which answers them all at once.
pub(super) fn input_for_new(
    new: NewArticle,
    principal: &Principal,
    mut checks: Checks,
) -> (Input, Checks) {
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
        note,
    } = new;
    let author = match (author, principal.role, principal.author_id) {
        (Some(author), _, _) => author,
        (None, role, Some(own)) if role.is_bound() => own.to_string(),
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
        note,
    };
    check_text(&mut checks, &mut input);
    (input, checks)
}

/// The fields of its source (what a writer gives) that `row` changes from `current`, as the
/// API names them; none when it holds what is already there.
pub(super) fn changed_source(current: &Article, row: &ArticleRow) -> Vec<&'static str> {
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
    [
        ("slug", current.slug != *slug),
        ("title", current.title != *title),
        ("subtitle", current.subtitle != *subtitle),
        ("excerpt", current.excerpt_given != *excerpt_given),
        ("body_markdown", current.body_markdown != *body_markdown),
        ("status", current.status != *status),
        ("published_at", current.published_at != *published_at),
        ("author", current.author_id != *author_id),
        ("cover_image", current.cover_image_id != *cover_image_id),
        ("comments_open", current.comments_open != *comments_open),
        ("external_id", current.external_id != *external_id),
        ("kind", current.kind != *kind),
        ("meta_title", current.meta_title != *meta_title),
        (
            "meta_description",
            current.meta_description != *meta_description,
        ),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// Whether `row` holds what `current` already has of what lede makes of the source.
pub(super) fn same_rendering(current: &Article, row: &ArticleRow) -> bool {
    current.body_html == row.body_html
        && current.excerpt == row.excerpt
        && current.toc == row.toc
        && current.word_count == row.word_count
        && current.reading_time_minutes == row.reading_time_minutes
}

/// The current article with the merge patch applied, checked.
pub(super) async fn apply(
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
        note: None,
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
        note,
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
    input.note = note.flatten();
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
