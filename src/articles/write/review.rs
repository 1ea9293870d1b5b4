//! Review: who may move an article into and out of `in_review`, and what subscribers hear
//! of it. Checked in the one write path, so the API, batches, the importer, the desk and
//! agents all keep to it.
use super::*;

/// A step of review a write takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A draft was sent to the editors.
    Submitted,
    /// An editor sent a submission back to its writer.
    Returned,
}

/// The review step of moving an article from `before` (`None`: new) to `after`, as
/// `principal`; 403 for a move its role may not make.
pub(super) fn step(
    principal: &Principal,
    before: Option<Status>,
    after: Status,
) -> Result<Option<Step>, ApiError> {
    if principal.role == Role::Contributor && !matches!(after, Status::Draft | Status::InReview) {
        return Err(ApiError::Forbidden(
            "a contributor writes drafts and submits them for review (`status: in_review`); \
             an editor publishes them"
                .into(),
        ));
    }
    Ok(match (before, after) {
        (Some(Status::InReview), Status::InReview) => None,
        (_, Status::InReview) => Some(Step::Submitted),
        (Some(Status::InReview), Status::Draft) if !principal.role.is_bound() => {
            Some(Step::Returned)
        }
        _ => None,
    })
}

/// What subscribers of `article.submitted` and `article.returned` get: the article named,
/// who moved it and the note they gave. Not the public article: it is not public.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "0192f0c1-6a4e-7cc2-9a51-3f1e2d4c5b6a", "slug": "the-last-night-tram",
    "title": "The last night tram",
    "by": {"kind": "user", "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Ines Marchetti"},
    "note": "Sources are in the shared folder."
}))]
pub struct ReviewEvent {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    /// Who submitted or returned it.
    pub by: crate::principal::Actor,
    /// The note given with it, if any.
    #[schema(required = true)]
    pub note: Option<String>,
}

/// The announcement of a review step.
pub(super) fn announce_step(
    step: Step,
    article: &Article,
    principal: &Principal,
    note: Option<&str>,
) -> Announce {
    let event = match step {
        Step::Submitted => Event::ArticleSubmitted,
        Step::Returned => Event::ArticleReturned,
    };
    let shown = ReviewEvent {
        id: article.id,
        slug: article.slug.clone(),
        title: article.title.clone(),
        by: principal.actor.clone(),
        note: note.map(str::to_owned),
    };
    Announce::from(event).with_subject(serde_json::to_value(shown).unwrap_or_default())
}
