//! People as stored and as admins and they themselves see them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::users;
use crate::http::Timestamp;
use crate::principal::Role;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub author_id: Option<Uuid>,
    pub status: String,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn role(&self) -> Role {
        // The column's CHECK allows only these; the least role is the safe reading.
        Role::parse(&self.role).unwrap_or(Role::Contributor)
    }

    pub fn status(&self) -> UserStatus {
        match self.status.as_str() {
            "active" => UserStatus::Active,
            "invited" => UserStatus::Invited,
            _ => UserStatus::Disabled,
        }
    }
}

/// Where a person stands: `invited` until they choose a password, `active`, or `disabled`
/// (they left: they cannot sign in, their tokens and sessions have ended, their articles
/// and history stay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "active")]
pub enum UserStatus {
    Invited,
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

/// The byline a person writes under.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "slug": "ines-marchetti", "name": "Ines Marchetti"}))]
pub struct UserAuthor {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A person, as admins and the person see them (no one else does).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "email": "ines@example.com",
    "name": "Ines Marchetti", "role": "author",
    "author": {"id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "slug": "ines-marchetti", "name": "Ines Marchetti"},
    "status": "active", "created_at": "2026-12-01T09:30:00Z", "last_seen_at": "2026-12-07T08:02:11Z"
}))]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The byline they write under (authors and contributors need one to write).
    #[schema(required = true)]
    pub author: Option<UserAuthor>,
    pub status: UserStatus,
    pub created_at: Timestamp,
    /// When they last signed in or used a session; `null` before that.
    #[schema(required = true)]
    pub last_seen_at: Option<Timestamp>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
}

/// People are never public.
impl crate::http::cache::Shows for UserResponse {}

impl crate::http::response::Versioned for UserResponse {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at)
    }
}

impl UserResponse {
    pub fn new(user: User, author: Option<UserAuthor>) -> Self {
        UserResponse {
            role: user.role(),
            status: user.status(),
            id: user.id,
            email: user.email,
            name: user.name,
            author,
            created_at: user.created_at.into(),
            last_seen_at: user.last_seen_at.map(Into::into),
            updated_at: user.updated_at,
        }
    }
}
