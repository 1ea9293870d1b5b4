//! Author rows and the API's views of them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::authors;
use crate::http::{Timestamp, patch_field};
use crate::images::model::ImageResponse;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authors)]
pub struct Author {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub email: Option<String>,
    pub bio: Option<String>,
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub avatar_image_id: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = authors)]
pub struct AuthorInsert {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub email: Option<String>,
    pub bio: Option<String>,
    pub website: Option<String>,
    pub avatar_image_id: Option<Uuid>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = authors)]
pub struct AuthorUpdate {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub avatar_image_id: Option<Option<Uuid>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An author as clients see it. `email` is present only for callers with a token.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11",
    "slug": "ada-okafor",
    "name": "Ada Okafor",
    "bio": "Science desk. Writes about rivers, bridges and the people who fix them.",
    "website": "https://example.com/ada",
    "avatar": {
        "id": "01932c4e-bbbb-7ccc-8ddd-0123456789ab",
        "url": "https://api.example.com/media/images/3f/3f9a.../original.jpg",
        "mime_type": "image/jpeg", "width": 800, "height": 800, "byte_size": 91234,
        "alt": "Ada Okafor", "caption": null, "credit": null, "focal_x": null, "focal_y": null,
        "placeholder": "3PcNNYSFeXh/d3eld0iHZoZgVwh2", "dominant_color": "#5a6b7c",
        "variants": [
            {"name": "w320", "width": 320, "height": 320, "mime_type": "image/jpeg", "url": "https://api.example.com/media/images/3f/3f9a.../w320.jpg"},
            {"name": "w800", "width": 800, "height": 800, "mime_type": "image/jpeg", "url": "https://api.example.com/media/images/3f/3f9a.../original.jpg"},
            {"name": "square", "width": 400, "height": 400, "mime_type": "image/avif", "url": "https://api.example.com/media/images/3f/3f9a.../square-3f0000003f000000.avif"}
        ],
        "created_at": "2025-10-28T09:30:00Z", "updated_at": "2025-10-28T09:30:00Z"
    },
    "article_count": 0,
    "created_at": "2025-10-28T09:30:00Z",
    "updated_at": "2025-10-28T09:30:00Z",
    "email": "ada@example.com"
}))]
pub struct AuthorResponse {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// Plain text.
    #[schema(required = true)]
    pub bio: Option<String>,
    #[schema(required = true)]
    pub website: Option<String>,
    /// The author's picture, embedded (url, size, alt, variants for `srcset`); `null` when
    /// none. Its `square` variants (400x400 around the focal point, smaller when the picture
    /// is; JPEG or PNG, AVIF and WebP) are made for round avatars.
    #[schema(required = true)]
    pub avatar: Option<ImageResponse>,
    /// Public articles by this author (published, their time come).
    pub article_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Only in answers to requests with a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Email, nullable)]
    pub email: Option<Option<String>>,
}

impl AuthorResponse {
    pub fn new(
        author: Author,
        with_private: bool,
        avatar: Option<ImageResponse>,
        article_count: i64,
    ) -> Self {
        AuthorResponse {
            id: author.id,
            slug: author.slug,
            name: author.name,
            bio: author.bio,
            website: author.website,
            avatar,
            article_count,
            created_at: author.created_at.into(),
            updated_at: author.updated_at.into(),
            email: with_private.then_some(author.email),
        }
    }
}

/// A new author. The slug is made from the name when absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ada Okafor", "email": "ada@example.com", "bio": "Science desk.", "website": "https://example.com/ada", "avatar": "01932c4e-bbbb-7ccc-8ddd-0123456789ab"}))]
pub struct NewAuthor {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Lowercase a-z, 0-9 and single dashes, at most 100 characters; unique.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// Never shown to readers; unique.
    #[schema(format = Email)]
    pub email: Option<String>,
    /// Plain text, at most 5,000 characters.
    #[schema(max_length = 5000)]
    pub bio: Option<String>,
    /// An absolute http(s) URL.
    #[schema(max_length = 2000, pattern = r"^https?://")]
    pub website: Option<String>,
    /// Id of an uploaded image to show as the author's picture.
    pub avatar: Option<Uuid>,
}

/// Changes to an author (JSON merge patch): absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"bio": "Now on the politics desk.", "website": null}))]
pub struct AuthorChanges {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, format = Email, nullable)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub website: Option<Option<String>>,
    /// Id of an uploaded image; `null` removes the picture.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub avatar: Option<Option<Uuid>>,
}

impl crate::http::cache::Shows for AuthorResponse {
    fn key(&self) -> Option<crate::changes::Key> {
        Some(crate::changes::Key::Author(self.id))
    }

    fn embedded_keys(&self, keys: &mut Vec<crate::changes::Key>) {
        keys.push(crate::changes::Key::Counts);
        keys.extend(
            self.avatar
                .iter()
                .filter_map(crate::http::cache::Shows::key),
        );
    }
}

impl crate::http::response::Versioned for Author {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at)
    }
}

impl crate::http::response::Versioned for AuthorResponse {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at.0)
    }
}
