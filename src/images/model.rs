//! Image rows and the API's views of them.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::images;
use crate::http::{Timestamp, patch_field};
use crate::media::storage::MediaUrls;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = images)]
pub struct Image {
    pub id: Uuid,
    pub sha256: Vec<u8>,
    pub mime_type: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i64,
    pub storage_key: String,
    pub variants: serde_json::Value,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_x: Option<f32>,
    pub focal_y: Option<f32>,
    pub owner_author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub placeholder: Option<String>,
    pub dominant_color: Option<String>,
}

impl Image {
    pub fn stored_variants(&self) -> Vec<StoredVariant> {
        serde_json::from_value(self.variants.clone()).unwrap_or_default()
    }

    /// Every stored file of the image: the original and each variant.
    pub fn storage_keys(&self) -> Vec<String> {
        std::iter::once(self.storage_key.clone())
            .chain(self.stored_variants().into_iter().map(|v| v.key))
            .collect()
    }
}

/// A variant as kept in the `variants` column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredVariant {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub mime_type: String,
    pub key: String,
    pub byte_size: u64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = images)]
pub struct ImageInsert {
    pub id: Uuid,
    pub sha256: Vec<u8>,
    pub mime_type: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i64,
    pub storage_key: String,
    pub variants: serde_json::Value,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_x: Option<f32>,
    pub focal_y: Option<f32>,
    pub owner_author_id: Option<Uuid>,
    pub placeholder: Option<String>,
    pub dominant_color: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = images)]
pub struct ImageUpdate {
    /// Renditions made again (`images::rendition`).
    pub variants: Option<serde_json::Value>,
    pub placeholder: Option<Option<String>>,
    pub dominant_color: Option<Option<String>>,
    pub alt: Option<Option<String>>,
    pub caption: Option<Option<String>>,
    pub credit: Option<Option<String>>,
    pub focal_x: Option<Option<f32>>,
    pub focal_y: Option<Option<f32>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A rendition of the image: a width for `srcset` or a named crop, in one format.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"name": "w640", "width": 640, "height": 427, "mime_type": "image/avif",
    "url": "https://api.example.com/media/images/3f/3f9a.../w640.avif"}))]
pub struct VariantResponse {
    /// `w<width>` for the widths a `srcset` offers (`w320`, `w640`, `w1024`, `w1600` when
    /// narrower than the original, and the original's own width), or a crop: `square`
    /// (400x400, avatars and thumbnails) or `social` (1200x630, Open Graph cards), cut
    /// around the focal point and never enlarged.
    #[schema(example = "w640")]
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The format of the original's renditions (JPEG for JPEG uploads, else PNG; the
    /// original's own width in its own format), `image/avif` or `image/webp`.
    pub mime_type: String,
    pub url: String,
}

/// An image as clients see it. URLs are absolute and never change (content-addressed).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-bbbb-7ccc-8ddd-0123456789ab",
    "url": "https://api.example.com/media/images/3f/3f9a.../original.jpg",
    "mime_type": "image/jpeg",
    "width": 2400,
    "height": 1600,
    "byte_size": 845123,
    "alt": "A tram crossing the river at dusk",
    "caption": "Line 4 on its last night run.",
    "credit": "Photo: Inès Marchetti",
    "focal_x": 0.5,
    "focal_y": 0.4,
    "placeholder": "3PcNNYSFeXh/d3eld0iHZoZgVwh2",
    "dominant_color": "#5a6b7c",
    "variants": [
        {"name": "w320", "width": 320, "height": 213, "mime_type": "image/jpeg", "url": "https://api.example.com/media/images/3f/3f9a.../w320.jpg"},
        {"name": "w2400", "width": 2400, "height": 1600, "mime_type": "image/jpeg", "url": "https://api.example.com/media/images/3f/3f9a.../original.jpg"},
        {"name": "square", "width": 400, "height": 400, "mime_type": "image/jpeg", "url": "https://api.example.com/media/images/3f/3f9a.../square-3f0000003ecccccd.jpg"},
        {"name": "w320", "width": 320, "height": 213, "mime_type": "image/avif", "url": "https://api.example.com/media/images/3f/3f9a.../w320.avif"},
        {"name": "social", "width": 1200, "height": 630, "mime_type": "image/webp", "url": "https://api.example.com/media/images/3f/3f9a.../social-3f0000003ecccccd.webp"}
    ],
    "created_at": "2025-10-28T09:30:00Z",
    "updated_at": "2025-10-28T09:30:00Z"
}))]
pub struct ImageResponse {
    pub id: Uuid,
    /// The full-size file, with EXIF orientation applied and metadata (EXIF, XMP) removed.
    pub url: String,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    /// Size of the file at `url`.
    pub byte_size: u64,
    #[schema(required = true)]
    pub alt: Option<String>,
    #[schema(required = true)]
    pub caption: Option<String>,
    #[schema(required = true)]
    pub credit: Option<String>,
    /// Horizontal focal point, 0 (left) to 1 (right), for cropping.
    #[schema(required = true)]
    pub focal_x: Option<f32>,
    /// Vertical focal point, 0 (top) to 1 (bottom).
    #[schema(required = true)]
    pub focal_y: Option<f32>,
    /// A ThumbHash of the image (base64; its aspect ratio and a blurred likeness, about
    /// 25 bytes) to paint before the image arrives. `null` for an image uploaded before
    /// lede made them.
    #[schema(required = true, example = "3PcNNYSFeXh/d3eld0iHZoZgVwh2")]
    pub placeholder: Option<String>,
    /// The image's average colour, `#rrggbb` (`null` like `placeholder`).
    #[schema(required = true, example = "#5a6b7c", pattern = "^#[0-9a-f]{6}$")]
    pub dominant_color: Option<String>,
    /// Renditions by format: the original's (JPEG for JPEG uploads, else PNG: its widths
    /// narrowest first, the original's own width among them as the original's file, then
    /// the crops), then AVIF and WebP (the same widths, the original's own up to 2,560 px a
    /// side, and crops), which a background job adds after the upload (usually within
    /// seconds; `image.updated` announces them).
    pub variants: Vec<VariantResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ImageResponse {
    pub fn new(image: Image, urls: &MediaUrls) -> Self {
        let original = VariantResponse {
            name: format!("w{}", image.width),
            url: urls.url(&image.storage_key),
            width: image.width.max(0) as u32,
            height: image.height.max(0) as u32,
            mime_type: image.mime_type.clone(),
        };
        let mut variants: Vec<VariantResponse> = image
            .stored_variants()
            .into_iter()
            .map(|v| VariantResponse {
                url: urls.url(&v.key),
                name: v.name,
                width: v.width,
                height: v.height,
                mime_type: v.mime_type,
            })
            .collect();
        // The original is a width of its own format (after that format's resized widths),
        // unless a rendition of that width and format exists (a WebP upload's WebP one).
        if !variants
            .iter()
            .any(|v| v.name == original.name && v.mime_type == original.mime_type)
        {
            let at = variants
                .iter()
                .take_while(|v| {
                    v.name.starts_with('w') && !super::rendition::is_modern(&v.mime_type)
                })
                .count();
            variants.insert(at, original);
        }
        ImageResponse {
            id: image.id,
            url: urls.url(&image.storage_key),
            mime_type: image.mime_type,
            width: image.width.max(0) as u32,
            height: image.height.max(0) as u32,
            byte_size: image.byte_size.max(0) as u64,
            alt: image.alt,
            caption: image.caption,
            credit: image.credit,
            focal_x: image.focal_x,
            focal_y: image.focal_y,
            placeholder: image.placeholder,
            dominant_color: image.dominant_color,
            variants,
            created_at: image.created_at.into(),
            updated_at: image.updated_at.into(),
        }
    }
}

/// The upload form (`multipart/form-data`).
#[derive(ToSchema)]
#[schema(example = json!({"file": "(the image's bytes)", "alt": "A tram crossing the river at dusk",
    "caption": "Line 4 on its last night run.", "credit": "Photo: Inès Marchetti", "focal_x": 0.5, "focal_y": 0.4}))]
#[allow(dead_code)]
pub struct ImageUpload {
    /// The image: JPEG, PNG, GIF or WebP, judged from its bytes (the filename and declared
    /// type are ignored).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    // Optional fields are left out of the form, never sent empty: not `nullable`, or a
    // generated client sends the text "None" for them.
    /// Text alternative for screen readers, at most 1,000 characters.
    #[schema(nullable = false)]
    pub alt: Option<String>,
    /// At most 2,000 characters.
    #[schema(nullable = false)]
    pub caption: Option<String>,
    /// At most 300 characters.
    #[schema(nullable = false)]
    pub credit: Option<String>,
    /// Horizontal focal point, 0 (left) to 1 (right).
    #[schema(nullable = false, minimum = 0, maximum = 1)]
    pub focal_x: Option<f32>,
    /// Vertical focal point, 0 (top) to 1 (bottom).
    #[schema(nullable = false, minimum = 0, maximum = 1)]
    pub focal_y: Option<f32>,
}

/// Changes to an image's text and focal point (JSON merge patch; `null` clears).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"alt": "A tram on the river bridge", "credit": null}))]
pub struct ImageChanges {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub alt: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub caption: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, nullable)]
    pub credit: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f32>, nullable, minimum = 0, maximum = 1)]
    pub focal_x: Option<Option<f32>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f32>, nullable, minimum = 0, maximum = 1)]
    pub focal_y: Option<Option<f32>>,
}

impl crate::http::cache::Shows for ImageResponse {
    fn key(&self) -> Option<crate::changes::Key> {
        Some(crate::changes::Key::Image(self.id))
    }
}

impl crate::http::response::Versioned for Image {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at)
    }
}

impl crate::http::response::Versioned for ImageResponse {
    fn version(&self) -> String {
        crate::http::response::version_at(&self.updated_at.0)
    }
}
