//! The typed change protocol: what a change is about ([`Subject`]), what happened to it
//! ([`Action`]), which public answers it touches ([`Key`]) and what webhook subscribers hear
//! ([`Event`]). Producers build these values; the readers (the response cache, the search
//! follower, the webhook dispatcher) match them exhaustively, so a new resource or event does
//! not compile until each of them has said what it means to it.
//!
//! Stored rows and the NOTIFY payload keep their text forms (`article:<id>`, `articles`,
//! `article.published`), so nodes of the previous and the next release read each other's
//! changes during a deploy; text is parsed back once, where a change is read.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator};
use utoipa::ToSchema;
use uuid::Uuid;

/// A set of public answers a change may touch: answers say which keys they show
/// (`Surrogate-Key`), changes name the keys they touch, and the cache drops the answers in
/// common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter)]
pub enum Key {
    /// Answers showing one article (its own, and lists or feeds holding it).
    Article(Uuid),
    /// Answers showing one author's profile.
    Author(Uuid),
    /// Answers showing what articles embed of an author (their byline).
    Byline(Uuid),
    Tag(Uuid),
    Image(Uuid),
    /// One article's public comment thread.
    Comments(Uuid),
    /// The lists of each kind of thing (filters and pages of `GET /articles`, ...).
    Articles,
    Authors,
    Tags,
    Images,
    /// Answers made from this node's search index.
    Search,
    /// Every answer with an `article_count`: named by every write to an article that is
    /// public before or after it (it may have turned public, or moved between authors or
    /// tags).
    Counts,
    /// The article answers whose `previous`/`next` are within a tag (`adjacent_tag`): named
    /// when the order of public articles, or what their links show, may have changed. Plain
    /// answers are named one by one instead (`articles::write::announce`).
    Sequence,
    /// No answer shows it: a publication instant may have moved, so every node looks up the
    /// next one again.
    Schedule,
    /// Everything (`*`): a change too large to name, or a key this node does not know.
    Everything,
}

impl Key {
    /// The text of its kind: `article` in `article:<id>`, or the whole key.
    fn name(self) -> &'static str {
        match self {
            Key::Article(_) => "article",
            Key::Author(_) => "author",
            Key::Byline(_) => "byline",
            Key::Tag(_) => "tag",
            Key::Image(_) => "image",
            Key::Comments(_) => "comments",
            Key::Articles => "articles",
            Key::Authors => "authors",
            Key::Tags => "tags",
            Key::Images => "images",
            Key::Search => "search",
            Key::Counts => "counts",
            Key::Sequence => "sequence",
            Key::Schedule => "schedule",
            Key::Everything => "*",
        }
    }

    /// The one thing it names, if it names one.
    fn id(self) -> Option<Uuid> {
        match self {
            Key::Article(id)
            | Key::Author(id)
            | Key::Byline(id)
            | Key::Tag(id)
            | Key::Image(id)
            | Key::Comments(id) => Some(id),
            Key::Articles
            | Key::Authors
            | Key::Tags
            | Key::Images
            | Key::Search
            | Key::Counts
            | Key::Sequence
            | Key::Schedule
            | Key::Everything => None,
        }
    }

    /// The same kind of key for another thing.
    fn with_id(self, id: Uuid) -> Key {
        match self {
            Key::Article(_) => Key::Article(id),
            Key::Author(_) => Key::Author(id),
            Key::Byline(_) => Key::Byline(id),
            Key::Tag(_) => Key::Tag(id),
            Key::Image(_) => Key::Image(id),
            Key::Comments(_) => Key::Comments(id),
            Key::Articles
            | Key::Authors
            | Key::Tags
            | Key::Images
            | Key::Search
            | Key::Counts
            | Key::Sequence
            | Key::Schedule
            | Key::Everything => self,
        }
    }

    /// Reads a key another node sent: one this node does not know (a newer release's)
    /// stands for everything, so nothing stale is kept.
    pub fn read(text: &str) -> Key {
        text.parse().unwrap_or(Key::Everything)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{id}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl FromStr for Key {
    type Err = String;

    /// Every kind of key is tried (`Key::iter`), so a new one reads back with no list to keep.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, id) = match text.split_once(':') {
            Some((name, id)) => (name, Some(id.parse::<Uuid>().map_err(|e| e.to_string())?)),
            None => (text, None),
        };
        Key::iter()
            .find(|key| key.name() == name && key.id().is_some() == id.is_some())
            .map(|key| id.map_or(key, |id| key.with_id(id)))
            .ok_or_else(|| format!("unknown change key {text:?}"))
    }
}

/// What a change is about: the `resource` and `resource_id` of its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum Subject {
    Article(Uuid),
    Author(Uuid),
    Tag(Uuid),
    Image(Uuid),
    Comment(Uuid),
    /// Several comments at once (a moderation of many, an import).
    Comments,
    Token(Uuid),
    Webhook(Uuid),
    /// A person (their account, role, sessions, passkeys).
    User(Uuid),
    /// The site's settings.
    Settings,
}

impl Subject {
    /// The `resource` and `resource_id` columns.
    pub fn columns(self) -> (&'static str, Option<Uuid>) {
        match self {
            Subject::Article(id) => ("article", Some(id)),
            Subject::Author(id) => ("author", Some(id)),
            Subject::Tag(id) => ("tag", Some(id)),
            Subject::Image(id) => ("image", Some(id)),
            Subject::Comment(id) => ("comment", Some(id)),
            Subject::Comments => ("comment", None),
            Subject::Token(id) => ("token", Some(id)),
            Subject::Webhook(id) => ("webhook", Some(id)),
            Subject::User(id) => ("user", Some(id)),
            Subject::Settings => ("settings", None),
        }
    }

    /// The same kind of subject for another thing.
    fn with_id(self, id: Uuid) -> Subject {
        match self {
            Subject::Article(_) => Subject::Article(id),
            Subject::Author(_) => Subject::Author(id),
            Subject::Tag(_) => Subject::Tag(id),
            Subject::Image(_) => Subject::Image(id),
            Subject::Comment(_) => Subject::Comment(id),
            Subject::Token(_) => Subject::Token(id),
            Subject::Webhook(_) => Subject::Webhook(id),
            Subject::User(_) => Subject::User(id),
            Subject::Comments | Subject::Settings => self,
        }
    }

    /// Reads the columns back (every kind is tried); `None` for a resource this node does not
    /// know.
    pub fn read(resource: &str, id: Option<Uuid>) -> Option<Subject> {
        Subject::iter()
            .find(|subject| {
                let (name, its_id) = subject.columns();
                name == resource && its_id.is_some() == id.is_some()
            })
            .map(|subject| id.map_or(subject, |id| subject.with_id(id)))
    }
}

/// What happened to the subject: the `event` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum Action {
    Created,
    Updated,
    Deleted,
    /// A scheduled article's instant came.
    Published,
    Revoked,
    /// A person was disabled (their sessions and tokens end with it).
    Disabled,
    /// A person's sessions were ended.
    SignedOut,
    /// An article was submitted for review.
    Submitted,
    /// A submission was returned to its writer.
    Returned,
    /// A note was added to an article's internal thread.
    Noted,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
            Action::Published => "published",
            Action::Revoked => "revoked",
            Action::Disabled => "disabled",
            Action::SignedOut => "signed_out",
            Action::Submitted => "submitted",
            Action::Returned => "returned",
            Action::Noted => "noted",
        }
    }

    pub fn read(text: &str) -> Option<Action> {
        Action::iter().find(|action| action.name() == text)
    }
}

/// An event type a webhook may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, EnumIter)]
// What subscribers hear of a change; named `EventType` in the OpenAPI document.
#[schema(as = EventType, example = "article.published")]
pub enum Event {
    #[serde(rename = "article.published")]
    ArticlePublished,
    #[serde(rename = "article.updated")]
    ArticleUpdated,
    #[serde(rename = "article.unpublished")]
    ArticleUnpublished,
    #[serde(rename = "article.deleted")]
    ArticleDeleted,
    #[serde(rename = "article.submitted")]
    ArticleSubmitted,
    #[serde(rename = "article.returned")]
    ArticleReturned,
    #[serde(rename = "comment.created")]
    CommentCreated,
    #[serde(rename = "comment.approved")]
    CommentApproved,
    #[serde(rename = "image.updated")]
    ImageUpdated,
    #[serde(rename = "author.updated")]
    AuthorUpdated,
    #[serde(rename = "tag.updated")]
    TagUpdated,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::ArticlePublished => "article.published",
            Event::ArticleUpdated => "article.updated",
            Event::ArticleUnpublished => "article.unpublished",
            Event::ArticleDeleted => "article.deleted",
            Event::ArticleSubmitted => "article.submitted",
            Event::ArticleReturned => "article.returned",
            Event::CommentCreated => "comment.created",
            Event::CommentApproved => "comment.approved",
            Event::ImageUpdated => "image.updated",
            Event::AuthorUpdated => "author.updated",
            Event::TagUpdated => "tag.updated",
        }
    }

    pub fn read(text: &str) -> Option<Event> {
        Event::iter().find(|event| event.name() == text)
    }
}

/// What subscribers (webhooks) hear of a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Announce {
    pub event: Event,
    /// What identifies something that can no longer be shown (a deleted or unpublished
    /// article: `{id, slug}`); otherwise subscribers get it as the public API shows it.
    pub subject: Option<serde_json::Value>,
    /// What the change changed (`Changed`, as JSON: a newer release's is passed on as is).
    pub changes: Option<serde_json::Value>,
}

/// What a change changed, beside the event: the fields, as the API names them, and an
/// article's previous slug when it moved (so a front-end refreshes the old page too).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"fields": ["slug", "title"], "previous_slug": "the-dawn-ferry"}))]
pub struct Changed {
    /// The fields whose values changed.
    pub fields: Vec<String>,
    /// The slug before the change, when the slug changed (its old path now redirects).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub previous_slug: Option<String>,
}

impl From<Event> for Announce {
    fn from(event: Event) -> Self {
        Announce {
            event,
            subject: None,
            changes: None,
        }
    }
}

impl Announce {
    pub fn with_subject(mut self, subject: serde_json::Value) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn with_changes(mut self, changed: &Changed) -> Self {
        self.changes = serde_json::to_value(changed).ok();
        self
    }
}

/// One change: built by the write that makes it, recorded in its transaction, read back by
/// the feed's readers.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub subject: Subject,
    pub action: Action,
    /// The public answers it touches; none when it changes nothing public (a draft's edit,
    /// a pending comment): the search index, which staff search drafts in, still hears of it.
    pub keys: Vec<Key>,
    pub announce: Option<Announce>,
}

impl Change {
    pub fn new(subject: Subject, action: Action) -> Self {
        Change {
            subject,
            action,
            keys: Vec::new(),
            announce: None,
        }
    }

    pub fn touching(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.keys.extend(keys);
        self
    }

    pub fn announcing(mut self, announce: impl Into<Option<Announce>>) -> Self {
        self.announce = announce.into();
        self
    }

    /// A change to one author, tag or image: the answers that show it and its list, and
    /// `also` what embeds it. Subscribers hear of changes to things they have seen
    /// (`author.updated`); a new one is announced where it shows (an article naming it), a
    /// removed one by what it removes.
    pub fn to_thing(subject: Subject, action: Action, also: &[Key]) -> Self {
        let (own, list, updated) = match subject {
            Subject::Author(id) => (Key::Author(id), Key::Authors, Event::AuthorUpdated),
            Subject::Tag(id) => (Key::Tag(id), Key::Tags, Event::TagUpdated),
            Subject::Image(id) => (Key::Image(id), Key::Images, Event::ImageUpdated),
            Subject::Article(_)
            | Subject::Comment(_)
            | Subject::Comments
            | Subject::Token(_)
            | Subject::Webhook(_)
            | Subject::User(_)
            | Subject::Settings => {
                return Change::new(subject, action).touching(also.iter().copied());
            }
        };
        Change::new(subject, action)
            .touching([own, list])
            .touching(also.iter().copied())
            .announcing((action == Action::Updated).then_some(Announce::from(updated)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_what_they_write() {
        let id = Uuid::now_v7();
        for key in Key::iter().map(|key| key.id().map_or(key, |_| key.with_id(id))) {
            assert_eq!(Key::read(&key.to_string()), key);
        }
        assert_eq!(Key::Article(id).to_string(), format!("article:{id}"));
        assert_eq!(Key::Articles.to_string(), "articles");
        assert_eq!(Key::Everything.to_string(), "*");
        assert_eq!(Key::read("series:x"), Key::Everything);
        assert_eq!(Key::read(&format!("series:{id}")), Key::Everything);
        assert_eq!(Key::read(&format!("articles:{id}")), Key::Everything);
        assert_eq!(Key::read("newer"), Key::Everything);
    }

    #[test]
    fn subjects_actions_and_events_read_back() {
        let id = Uuid::now_v7();
        for subject in Subject::iter() {
            let subject = match subject.columns().1 {
                Some(_) => subject.with_id(id),
                None => subject,
            };
            let (resource, its_id) = subject.columns();
            assert_eq!(Subject::read(resource, its_id), Some(subject));
        }
        assert_eq!(Subject::read("comment", None), Some(Subject::Comments));
        assert_eq!(Subject::read("series", Some(id)), None);
        assert_eq!(Subject::read("article", None), None);
        for action in Action::iter() {
            assert_eq!(Action::read(action.name()), Some(action));
        }
        for event in Event::iter() {
            assert_eq!(Event::read(event.name()), Some(event));
            let json = serde_json::to_value(event).unwrap_or_default();
            assert_eq!(json, event.name());
        }
        assert_eq!(Action::read("embargoed"), None);
        assert_eq!(Event::read("article.embargoed"), None);
    }
}
