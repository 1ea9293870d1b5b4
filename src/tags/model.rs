//! Tag rows and the API's views of them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::tags;
use crate::http::{Timestamp, patch_field};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tags)]
pub struct TagInsert {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tags)]
pub struct TagUpdate {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A tag as clients see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-9a10-7d2e-8c55-0f4e2d7b6c33",
    "slug": "climate",
    "name": "Climate",
    "description": "Weather, warming and what cities do about it.",
    "article_count": 0,
    "created_at": "2025-10-28T09:30:00Z",
    "updated_at": "2025-10-28T09:30:00Z"
}))]
pub struct TagResponse {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// Plain text.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Public articles with this tag (published, their time come).
    pub article_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl TagResponse {
    pub fn new(tag: Tag, article_count: i64) -> Self {
        TagResponse {
            id: tag.id,
            slug: tag.slug,
            name: tag.name,
            description: tag.description,
            article_count,
            created_at: tag.created_at.into(),
            updated_at: tag.updated_at.into(),
        }
    }
}

/// A new tag. The slug is made from the name when absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Climate", "description": "Weather, warming and what cities do about it."}))]
pub struct NewTag {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Lowercase a-z, 0-9 and single dashes, at most 100 characters; unique.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// Plain text, at most 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// What a tag is merged into.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into": "climate"}))]
pub struct TagMerge {
    /// The tag that stays: its id or slug.
    #[schema(min_length = 1, max_length = 100)]
    pub into: String,
}

/// Changes to a tag (JSON merge patch): absent fields stay, `null` clears `description`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Climate and energy"}))]
pub struct TagChanges {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
}

impl crate::http::cache::Shows for TagResponse {
    fn key(&self) -> Option<crate::changes::Key> {
        Some(crate::changes::Key::Tag(self.id))
    }

    fn embedded_keys(&self, keys: &mut Vec<crate::changes::Key>) {
        keys.push(crate::changes::Key::Counts);
    }
}

impl crate::http::response::Versioned for Tag {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at)
    }
}

impl crate::http::response::Versioned for TagResponse {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at.0)
    }
}
