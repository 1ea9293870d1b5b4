//! Who acts: the principal every write path takes (never an HTTP extractor), with its role.
//! A request's principal comes from its token (`http::auth`); the importer and the first
//! start act as named system principals.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[schema(example = "editor")]
pub enum Role {
    /// Everything, including tokens.
    Admin,
    /// All content and moderation.
    Editor,
    /// Its own articles, images and tags; bound to one author.
    Author,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "author" => Some(Role::Author),
            _ => None,
        }
    }
}

/// Roles that manage content owned by anyone.
pub const STAFF: &[Role] = &[Role::Admin, Role::Editor];
pub const ADMIN: &[Role] = &[Role::Admin];
pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Editor, Role::Author];

/// Who is acting: a valid, unrevoked token's holder, or a system actor.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub role: Role,
    /// The author an author-role token writes as.
    pub author_id: Option<Uuid>,
}

impl Principal {
    /// The importer writes as an admin; revisions it saves name no token (the nil id), which
    /// is how a later run knows an article was not edited in lede since.
    pub const IMPORTER: Principal = Principal {
        token_id: Uuid::nil(),
        role: Role::Admin,
        author_id: None,
    };

    /// Itself when its role is one of `roles`, else 403: the role check of a write path.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        if roles.contains(&self.role) {
            return Ok(self);
        }
        let allowed: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!(
            "a token with role `{}` may not do this (allowed: {})",
            self.role.as_str(),
            allowed.join(", ")
        )))
    }
}
