//! Who acts: the principal every write path takes (never an HTTP extractor), with its role.
//! A request's principal comes from its token or its session cookie (`auth::authenticate`);
//! the importer and the first start act as named system principals.
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[schema(example = "editor")]
pub enum Role {
    /// Everything, including people, tokens and webhooks.
    Admin,
    /// All content, review and moderation.
    Editor,
    /// Its own articles, images and tags, which it may publish; bound to one author.
    Author,
    /// Its own drafts, which it submits for review; cannot publish or upload. Bound to one
    /// author.
    Contributor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
            Role::Contributor => "contributor",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "author" => Some(Role::Author),
            "contributor" => Some(Role::Contributor),
            _ => None,
        }
    }

    /// Higher may do more.
    fn rank(self) -> u8 {
        match self {
            Role::Contributor => 0,
            Role::Author => 1,
            Role::Editor => 2,
            Role::Admin => 3,
        }
    }

    /// The lower of the two: what a person's token may do.
    pub fn lower(self, other: Role) -> Role {
        if self.rank() <= other.rank() {
            self
        } else {
            other
        }
    }

    /// Whether it is at most `other`.
    pub fn at_most(self, other: Role) -> bool {
        self.rank() <= other.rank()
    }

    /// Writes only its own author's articles (author and contributor).
    pub fn is_bound(self) -> bool {
        matches!(self, Role::Author | Role::Contributor)
    }
}

/// Roles that manage content owned by anyone.
pub const STAFF: &[Role] = &[Role::Admin, Role::Editor];
pub const ADMIN: &[Role] = &[Role::Admin];
/// Roles that may publish, and so also upload images and create tags.
pub const PUBLISHERS: &[Role] = &[Role::Admin, Role::Editor, Role::Author];
/// Every role: each writes articles (a contributor its own drafts).
pub const WRITERS: &[Role] = &[Role::Admin, Role::Editor, Role::Author, Role::Contributor];

/// What kind of actor a change is recorded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "user")]
pub enum ActorKind {
    /// A person (signed in, or through one of their tokens).
    User,
    /// A service token that belongs to no one.
    Token,
    /// lede itself: the first start, the importer, the command line, the scheduler.
    System,
}

/// Who did something, as the activity log and revisions name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "user", "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Ines Marchetti"}))]
pub struct Actor {
    pub kind: ActorKind,
    /// The person's or the token's id; `null` for the system.
    pub id: Option<Uuid>,
    pub name: Cow<'static, str>,
}

/// lede's own actors, for changes no request made.
pub const SCHEDULER: Actor = Actor::system("scheduler");
pub const IMAGE_PROCESSING: Actor = Actor::system("image processing");
/// A reader using the public comment form.
pub const COMMENT_FORM: Actor = Actor::system("comment form");

impl Actor {
    pub const fn system(name: &'static str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            name: Cow::Borrowed(name),
        }
    }

    /// The person, if a person acts.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.kind {
            ActorKind::User => self.id,
            ActorKind::Token | ActorKind::System => None,
        }
    }
}

/// Who is acting: a valid token's or session's holder, or a system actor.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The credential: a token's id, a session's id, or nil for the system. Idempotency keys
    /// and preview links are kept per credential.
    pub token_id: Uuid,
    pub role: Role,
    /// The author an author or contributor writes as.
    pub author_id: Option<Uuid>,
    /// Who it is, for the change feed and revisions.
    pub actor: Actor,
    /// Signed in by a session cookie (its writes carry the CSRF token), not a token.
    pub via_session: bool,
}

impl Principal {
    /// The importer writes as an admin; revisions it saves name no token (the nil id), which
    /// is how a later run knows an article was not edited in lede since.
    pub const IMPORTER: Principal = Principal::system("importer");

    /// A system actor (the first start, the command line): an admin, named.
    pub const fn system(name: &'static str) -> Principal {
        Principal {
            token_id: Uuid::nil(),
            role: Role::Admin,
            author_id: None,
            actor: Actor::system(name),
            via_session: false,
        }
    }

    /// Itself when its role is one of `roles`, else 403: the role check of a write path.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        if roles.contains(&self.role) {
            return Ok(self);
        }
        let allowed: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!(
            "the role `{}` may not do this (allowed: {})",
            self.role.as_str(),
            allowed.join(", ")
        )))
    }
}
