//! One post (or page) of an export into one article, in one transaction with its comments:
//! status and dates, body HTML to markdown, tags, cover and figures, SEO fields.
use super::*;

pub(super) const MAX_TAGS: usize = crate::articles::write::MAX_TAGS;

/// lede's status and publication date for a post, and a note when it changes what the
/// post was (a password-protected post is kept private).
pub(super) fn status_of(item: &Item) -> ((Status, Option<chrono::DateTime<Utc>>), Option<String>) {
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
        "draft" => ((Status::Draft, None), None),
        // Pending review in WordPress: waiting for an editor here too.
        "pending" => ((Status::InReview, None), None),
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

/// Deeper HTML than this is not converted (the converter recurses; WordPress never nests
/// so).
pub(super) const MAX_HTML_DEPTH: usize = 200;

/// Names links whose targets were dropped (a browser would have run them).
pub(super) fn note_dropped_links(dropped: usize, notes: &mut Vec<String>) {
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
pub(super) fn too_deep(html: &str) -> bool {
    crate::articles::limits::html_deeper_than(html, MAX_HTML_DEPTH)
        || html::tree_depth(&html::parse(html)) > MAX_HTML_DEPTH + 2
}

/// What became of a post.
pub(super) enum Outcome {
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
pub(super) async fn import_post(
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
        note: None,
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
pub(super) fn seo_meta(item: &Item, key: &str) -> Option<String> {
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
pub(super) fn explain(error: &ApiError) -> String {
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
