//! The media library: every image with its placeholder colour while it loads, its text
//! (alt, caption, credit) and focal point to edit, and the crops the focal point makes.
//! Uploads are the page's script's (`POST /api/v1/images`, one file at a time, with
//! progress); the same library opens as a dialog in the editor to insert a figure or set
//! the cover.
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Api, encode, query_pairs};
use super::page::optional;
use super::page::{DeskError, Frame, Person, Posted, html, see_other};
use crate::error::ApiError;
use crate::state::AppState;

/// The smallest picture of an image that still fills a thumbnail: the `w320` (or the
/// narrowest) rendition in the original's format, else the original.
pub fn thumbnail(image: &Value) -> String {
    let variants = image["variants"].as_array().cloned().unwrap_or_default();
    let original_type = image["mime_type"].as_str().unwrap_or_default();
    variants
        .iter()
        .filter(|v| v["name"].as_str().is_some_and(|n| n.starts_with('w')))
        .filter(|v| {
            let t = v["mime_type"].as_str().unwrap_or_default();
            t != "image/avif" && t != "image/webp" || t == original_type
        })
        .min_by_key(|v| v["width"].as_u64().unwrap_or(u64::MAX))
        .and_then(|v| v["url"].as_str())
        .or_else(|| image["url"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The longest side of a painted placeholder, in pixels.
const PLACEHOLDER_SIDE: f32 = 8.0;

/// An image's ThumbHash painted as a tiny PNG (a `data:` URL of a few hundred bytes), for
/// the thumbnail's background while it loads.
fn placeholder(hash: &str) -> Option<String> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let hash = engine.decode(hash).ok()?;
    // A ThumbHash has a 5-byte header; lede made these, the check keeps a bad row harmless.
    if hash.len() < 5 || hash.len() > 100 {
        return None;
    }
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).ok()?;
    let picture = image::RgbaImage::from_raw(w as u32, h as u32, rgba)?;
    // A few pixels a side: the browser's smooth scaling is the blur (a 32 px one is ~4 KB).
    let (w, h) = (w as f32, h as f32);
    let scale = PLACEHOLDER_SIDE / w.max(h);
    let picture = image::imageops::resize(
        &picture,
        ((w * scale).round() as u32).max(1),
        ((h * scale).round() as u32).max(1),
        image::imageops::FilterType::Triangle,
    );
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(picture)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(format!("data:image/png;base64,{}", engine.encode(png)))
}

/// The URL of a named crop (`square`, `social`) in the original's format.
fn crop(image: &Value, name: &str) -> String {
    image["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name)
        .and_then(|v| v["url"].as_str())
        .unwrap_or_default()
        .to_owned()
}

pub struct Item {
    pub id: String,
    pub thumbnail: String,
    pub square: String,
    pub social: String,
    pub colour: String,
    /// The ThumbHash as a `data:` URL, when there is one.
    pub placeholder: String,
    pub width: u64,
    pub height: u64,
    pub alt: String,
    pub caption: String,
    pub credit: String,
    pub focal_x: f64,
    pub focal_y: f64,
    /// The articles that show it: `(id, title)`, the most recently changed first.
    pub used_in: Vec<(String, String)>,
    /// More articles show it than are listed.
    pub used_more: bool,
}

impl Item {
    fn of(image: &Value) -> Item {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Item {
            id: text(&image["id"]),
            thumbnail: thumbnail(image),
            square: crop(image, "square"),
            social: crop(image, "social"),
            colour: image["dominant_color"]
                .as_str()
                .filter(|c| c.len() == 7 && c.starts_with('#'))
                .unwrap_or("#ddd")
                .to_owned(),
            placeholder: image["placeholder"]
                .as_str()
                .and_then(placeholder)
                .unwrap_or_default(),
            width: image["width"].as_u64().unwrap_or_default(),
            height: image["height"].as_u64().unwrap_or_default(),
            alt: text(&image["alt"]),
            caption: text(&image["caption"]),
            credit: text(&image["credit"]),
            focal_x: image["focal_x"].as_f64().unwrap_or(0.5),
            focal_y: image["focal_y"].as_f64().unwrap_or(0.5),
            used_in: Vec::new(),
            used_more: false,
        }
    }

    /// The focal point as percentages, for the marker's position.
    pub fn focal_left(&self) -> String {
        format!("{:.1}", self.focal_x * 100.0)
    }

    pub fn focal_top(&self) -> String {
        format!("{:.1}", self.focal_y * 100.0)
    }
}

/// The library as the page and the dialog show it.
struct Library {
    items: Vec<Item>,
    next: Option<String>,
    csrf: String,
    /// May upload and change images (every role but contributor).
    uploads: bool,
    dialog: bool,
    q: String,
}

#[derive(Template)]
#[template(path = "media.html")]
struct MediaPage {
    frame: Frame,
    library: Library,
}

/// The library inside the editor's dialog: the same list, with `Insert` and
/// `Set as cover`.
#[derive(Template)]
#[template(path = "media_dialog.html")]
struct MediaDialog {
    library: Library,
}

#[derive(Deserialize)]
pub struct Browse {
    #[serde(default)]
    cursor: String,
    /// The editor's dialog: the library without the page around it.
    #[serde(default)]
    dialog: bool,
    #[serde(default)]
    done: String,
    /// Words of the alt text, caption or credit.
    #[serde(default)]
    q: String,
}

/// Articles listed under an image (a photo on every page of a series would list hundreds).
const USES_LISTED: usize = 5;

/// Notes on each item the articles that show it, of those the person may see.
async fn used_in(state: &AppState, person: &Person, items: &mut [Item]) -> Result<(), DeskError> {
    use crate::articles::queries::{Seen, using_images};
    let ids: Vec<uuid::Uuid> = items.iter().filter_map(|i| i.id.parse().ok()).collect();
    let seen = if person.is_staff() {
        Seen::All
    } else {
        Seen::PublicAnd(person.author_id)
    };
    let mut conn = crate::db::conn(&state.pool).await?;
    let uses = using_images(&mut conn, &ids, 500, seen)
        .await
        .map_err(ApiError::from)?;
    for (image, article, title) in uses {
        if let Some(item) = items.iter_mut().find(|i| i.id == image.to_string()) {
            if item.used_in.len() < USES_LISTED {
                item.used_in.push((article.to_string(), title));
            } else {
                item.used_more = true;
            }
        }
    }
    Ok(())
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    browse: web::Query<Browse>,
) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    let per_page = if browse.dialog { 12 } else { 24 };
    let q = browse.q.trim();
    let path = format!(
        "/api/v1/images?per_page={per_page}&sort=-created_at{}",
        query_pairs(&[("cursor", browse.cursor.as_str()), ("q", q)])
    );
    let list = api.get(&path).await?;
    let mut items: Vec<Item> = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Item::of)
        .collect();
    if !browse.dialog {
        used_in(&state, &person, &mut items).await?;
    }
    let next = list["meta"]["next_cursor"].as_str().map(|cursor| {
        let dialog = if browse.dialog { "true" } else { "" };
        let link = format!(
            "/desk/media?cursor={}{}",
            encode(cursor),
            query_pairs(&[("q", q), ("dialog", dialog)])
        );
        link
    });
    let library = Library {
        items,
        next,
        csrf: person.csrf.clone(),
        uploads: person.publishes(),
        dialog: browse.dialog,
        q: q.to_owned(),
    };
    if browse.dialog {
        return html(&MediaDialog { library });
    }
    let flash = (browse.done == "saved").then(|| "Saved.".to_owned());
    html(&MediaPage {
        frame: Frame::new("Media", &person, "media").with_flash(flash),
        library,
    })
}

#[derive(Deserialize)]
pub struct ImageText {
    csrf: String,
    #[serde(default)]
    alt: String,
    #[serde(default)]
    caption: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    focal_x: String,
    #[serde(default)]
    focal_y: String,
}

/// A focal point's coordinate as typed: empty is none; else a number from 0 to 1.
fn coordinate(typed: &str, name: &str) -> Result<Option<f64>, DeskError> {
    if typed.trim().is_empty() {
        return Ok(None);
    }
    match typed.trim().parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(Some(value)),
        _ => Err(ApiError::invalid(
            name,
            "invalid",
            format!(
                "the focal point's {name} must be a number from 0 to 1, not `{}`",
                typed.trim()
            ),
        )
        .into()),
    }
}

/// Saves an image's text and focal point (the crops are cut again around it).
pub async fn save(
    req: HttpRequest,
    id: web::Path<String>,
    posted: Posted<ImageText>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let form = posted.form;
    let mut changes = json!({
        "alt": optional(&form.alt),
        "caption": optional(&form.caption),
        "credit": optional(&form.credit),
    });
    match (
        coordinate(&form.focal_x, "across")?,
        coordinate(&form.focal_y, "down")?,
    ) {
        (Some(x), Some(y)) => {
            changes["focal_x"] = json!(x);
            changes["focal_y"] = json!(y);
        }
        (None, None) => {}
        _ => {
            return Err(ApiError::invalid(
                "focal_point",
                "invalid",
                "give the focal point both ways (across and down), or neither",
            )
            .into());
        }
    }
    match api
        .send(
            Method::PATCH,
            &format!("/api/v1/images/{}", encode(&id)),
            Some(&changes),
            None,
        )
        .await?
    {
        Ok(_) => Ok(see_other(&format!(
            "/desk/media?done=saved#image-{}",
            encode(&id)
        ))),
        Err(refusal) => Err(DeskError::Refused(refusal)),
    }
}

super::page::csrf_field!(ImageText);
