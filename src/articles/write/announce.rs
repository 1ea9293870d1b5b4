//! What an article's change touches (the keys of the public answers it changes) and what
//! webhook subscribers hear of it; a scheduled article's instant.
use super::*;

/// What a change from `before` to `after` (`None`: no article) shows the public: the
/// article and the lists when it is public on either side; `counts` when it turned public
/// or stopped being so, or a public one changed author or tags (`tags_changed`); `sequence`
/// when it may have moved among the public ones or been renamed (answers with previous/next
/// within a tag);
/// and `schedule` when a publication instant may have moved (no answer shows that key; it
/// makes every node look up the next instant again). A draft's edit changes nothing public.
/// The articles beside it, whose previous/next show it, are named by `neighbour_keys`.
pub(super) fn change_keys(
    before: Option<&Article>,
    after: Option<&Article>,
    tags_changed: bool,
) -> Vec<Key> {
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
/// announced at its instant (`publication_due`), not when it is saved. A change of a saved
/// article says which `fields` changed, and the slug it had when that changed.
pub(super) fn announce(
    before: Option<&Article>,
    after: Option<&Article>,
    fields: &[&str],
) -> Option<Announce> {
    let public = |side: Option<&Article>| side.is_some_and(|a| a.is_public);
    let event = match (public(before), public(after), after.is_some()) {
        (false, true, _) => Event::ArticlePublished,
        (true, true, _) => Event::ArticleUpdated,
        (true, false, true) => Event::ArticleUnpublished,
        (true, false, false) => Event::ArticleDeleted,
        (false, false, _) => return None,
    };
    let mut announce = Announce::from(event);
    if let (Some(before), Some(after)) = (before, after) {
        announce = announce.with_changes(&Changed {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            // Only a slug the public knew: a draft's was never a page to refresh.
            previous_slug: (before.is_public && before.slug != after.slug)
                .then(|| before.slug.clone()),
        });
    }
    // What is no longer public is named, not shown.
    match (public(after), before) {
        (false, Some(gone)) => {
            Some(announce.with_subject(serde_json::json!({"id": gone.id, "slug": gone.slug})))
        }
        _ => Some(announce),
    }
}

/// The keys of the public articles whose previous or next link is `article` now.
pub(super) async fn neighbour_keys(
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
            .announcing(announce(None, Some(&article), &[]));
        crate::changes::record(conn, &crate::principal::SCHEDULER, change).await?;
    }
    Ok(())
}
