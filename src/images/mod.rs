//! `/api/v1/images`: uploads with alt text, captions, credits and resized variants, and
//! `/media/...`, where their files are served with long-lived caching.
mod ingest;
pub mod media;
pub mod model;
pub mod queries;
pub mod rendition;
pub mod write;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use futures_util::StreamExt;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{ImageChanges, ImageResponse, ImageUpload};
use crate::error::ApiError;
use crate::http::auth::{Auth, PUBLISHERS};
use crate::http::base_url;
use crate::http::body::JsonBody;
use crate::http::idempotency::Created;
use crate::http::pagination::{ListResponse, PageParams, Pagination, list_response};
use crate::http::response::{IfMatch, fresh, ok_showing};
use crate::http::validate::Checks;
use crate::state::AppState;

pub use self::ingest::{ImageText, ingest, ingest_dry};
pub(crate) use self::ingest::{focal_tag, store_files};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_images)
        .service(create_image)
        .service(find_image)
        .service(update_image)
        .service(delete_image);
}

pub(crate) const MAX_ALT: usize = 1000;
pub(crate) const MAX_CAPTION: usize = 2000;
pub(crate) const MAX_CREDIT: usize = 300;
/// Bytes a text field of the upload form may have.
const MAX_FORM_TEXT: usize = 16 * 1024;

/// Filters and sort order of the image list.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Only images of this type, e.g. `image/png`.
    #[param(example = "image/jpeg")]
    mime_type: Option<String>,
    /// Only the image with these exact bytes: the SHA-256 of the file, in hex (what a
    /// script checks before uploading, so that a re-run uploads nothing twice).
    #[param(
        example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        pattern = r"^[0-9a-fA-F]{64}$"
    )]
    sha256: Option<String>,
    /// Only images whose alt text, caption or credit hold each of these words (any case,
    /// anywhere in a word: `harb` finds "Harbour"); at most 10 words of 100 characters.
    #[param(example = "harbour dawn", max_length = 1000)]
    q: Option<String>,
    /// `created_at` or `updated_at`, prefix `-` for descending (default `-created_at`).
    #[param(example = "-created_at", pattern = r"^-?(created_at|updated_at)$")]
    #[allow(dead_code)]
    sort: Option<String>,
}

/// List images
///
/// Newest first unless `sort` says otherwise; search the alt text, caption and credit
/// (`q`), filter by `mime_type`, or find an upload by the SHA-256 of its bytes (`sha256`).
#[utoipa::path(
    tag = "images", operation_id = "list_images",
    params(PageParams, ImageQuery),
    responses((status = 200, description = "A page of images", body = ListResponse<ImageResponse>,
        headers(("Link" = String, description = "RFC 8288 links to the next, previous, first and last pages"),
                ("X-Total-Count" = i64, description = "Images in the whole (filtered) list"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/images")]
async fn list_images(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
    query: web::Query<ImageQuery>,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&queries::SORTS, "-created_at")?;
    let mut conn = auth.read_conn(&state).await?;
    let sha256 = match query.sha256.as_deref().map(hex::decode) {
        Some(Ok(bytes)) if bytes.len() == 32 => Some(bytes),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sha256 must be the 64 hex digits of a SHA-256".into(),
            ));
        }
        None => None,
    };
    let words = queries::search_words(query.q.as_deref().unwrap_or_default())?;
    let filter = queries::ImageFilter {
        mime_type: query.mime_type.as_deref(),
        sha256: sha256.as_deref(),
        words: &words,
    };
    let loaded = queries::list(&mut conn, &pagination, &sort, &filter).await?;
    let urls = crate::http::media_urls(&req);
    list_response(
        &req,
        &pagination,
        &sort,
        &[crate::changes::Key::Images],
        loaded,
        |i| i.id,
        |i| ImageResponse::new(i, &urls),
    )
}

/// Get an image
#[utoipa::path(
    tag = "images", operation_id = "find_image",
    params(("id" = Uuid, Path, description = "The image's id"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The image", body = ImageResponse,
        headers(("ETag" = String, description = "Strong ETag of the image"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/images/{id}")]
async fn find_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = auth.read_conn(&state).await?;
    let image = queries::find(&mut conn, *id)
        .await?
        .ok_or_else(|| not_found(*id))?;
    ok_showing(
        &req,
        &ImageResponse::new(image, &crate::http::media_urls(&req)),
    )
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no image with id `{id}`"))
}

/// The upload form, read while it streams in.
#[derive(Default)]
struct UploadForm {
    file: Option<Vec<u8>>,
    alt: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
    focal_x: Option<String>,
    focal_y: Option<String>,
}

/// Upload an image
///
/// Authors, editors and admins. `multipart/form-data` with `file` and optional `alt`,
/// `caption`, `credit`, `focal_x`, `focal_y`. The type is judged from the bytes: JPEG, PNG,
/// GIF and WebP are accepted. Variants 320, 640, 1024 and 1600 pixels wide (never wider
/// than the original) and the crops `square` and `social` around the focal point are made
/// at once, in JPEG for JPEG uploads and PNG otherwise; `variants` also lists the original
/// at its own width. AVIF and WebP of each are made by a background job and join
/// `variants` when ready (usually seconds; `image.updated` is announced). EXIF orientation
/// is applied and metadata (EXIF with GPS positions, XMP, comments) is removed from every
/// served file.
///
/// Uploading bytes that are already stored answers **200** with the existing image (its
/// text is left as it was) instead of storing a copy.
#[utoipa::path(
    tag = "images", operation_id = "create_image",
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ImageResponse,
            headers(("Location" = String, description = "URL of the new image"), ("ETag" = String, description = "Strong ETag of the image"))),
        (status = 200, description = "These bytes were already uploaded: the existing image", body = ImageResponse,
            headers(("Location" = String, description = "URL of the existing image"))),
        (status = 413, description = "The file is larger than the byte limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data, or the file is not a supported image (the problem says what it is)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, a truncated or corrupt image, too many pixels, or invalid text fields", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/images")]
async fn create_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(PUBLISHERS)?.clone();
    let form = read_form(&req, payload, state.image_max_bytes).await?;
    let mut checks = Checks::new();
    let alt = checks.long_text("alt", form.alt.as_deref(), MAX_ALT);
    let caption = checks.long_text("caption", form.caption.as_deref(), MAX_CAPTION);
    let credit = checks.long_text("credit", form.credit.as_deref(), MAX_CREDIT);
    let focal_x = focal(&mut checks, "focal_x", form.focal_x.as_deref());
    let focal_y = focal(&mut checks, "focal_y", form.focal_y.as_deref());
    let Some(file) = form.file else {
        checks.fail(
            "file",
            "required",
            "send the image as the form field `file`",
        );
        return Err(ApiError::Validation(checks.into_errors()));
    };
    checks.finish()?;

    let text = ImageText {
        alt,
        caption,
        credit,
        focal_x,
        focal_y,
    };
    let (image, created) =
        ingest(&principal.actor, &state, file, text, principal.author_id).await?;
    if !created {
        return existing_image(&req, image);
    }
    let view = ImageResponse::new(image, &crate::http::media_urls(&req));
    let location = format!("{}/api/v1/images/{}", base_url(&req), view.id);
    Ok(Created::new(location, &view)?.into_response())
}

fn existing_image(req: &HttpRequest, image: model::Image) -> Result<HttpResponse, ApiError> {
    let location = format!("{}/api/v1/images/{}", base_url(req), image.id);
    let mut response = fresh(&ImageResponse::new(image, &crate::http::media_urls(req)))?;
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&location).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

pub(crate) fn focal(checks: &mut Checks, field: &str, value: Option<&str>) -> Option<f32> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    match value.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Some(v),
        _ => {
            checks.fail(
                field,
                "out_of_range",
                format!("{field} must be a number from 0 to 1"),
            );
            None
        }
    }
}

/// Reads the multipart form, refusing the file as soon as it passes `max_bytes` (nothing
/// beyond the limit is buffered).
async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    max_bytes: usize,
) -> Result<UploadForm, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "upload images as multipart/form-data with the image in the field `file`, not `{}`",
            if content_type.is_empty() {
                "(no Content-Type)"
            } else {
                content_type
            }
        )));
    }
    let too_large =
        || ApiError::PayloadTooLarge(format!("the image is larger than {max_bytes} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_bytes + 64 * 1024) {
        return Err(too_large());
    }
    let malformed = |e: actix_multipart::MultipartError| {
        ApiError::BadRequest(format!("malformed multipart body: {e}"))
    };
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut form = UploadForm::default();
    let mut unknown = Vec::new();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if name == "file" {
            max_bytes
        } else {
            MAX_FORM_TEXT
        };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if data.len() + chunk.len() > limit {
                return Err(if name == "file" {
                    too_large()
                } else {
                    ApiError::invalid(&name, "too_long", format!("{name} is too long"))
                });
            }
            data.extend_from_slice(&chunk);
        }
        let text = |data: Vec<u8>| {
            String::from_utf8(data).map_err(|_| {
                ApiError::invalid(&name, "invalid_utf8", format!("{name} is not UTF-8 text"))
            })
        };
        match name.as_str() {
            "file" if form.file.is_some() => {
                return Err(ApiError::invalid(
                    "file",
                    "duplicate",
                    "send one file per upload",
                ));
            }
            "file" => form.file = Some(data),
            "alt" => form.alt = Some(text(data)?),
            "caption" => form.caption = Some(text(data)?),
            "credit" => form.credit = Some(text(data)?),
            "focal_x" => form.focal_x = Some(text(data)?),
            "focal_y" => form.focal_y = Some(text(data)?),
            _ => unknown.push(name),
        }
    }
    if let Some(name) = unknown.first() {
        return Err(ApiError::invalid(
            name,
            "unknown_field",
            format!(
                "unknown form field `{name}`; expected file, alt, caption, credit, focal_x, focal_y"
            ),
        ));
    }
    Ok(form)
}

/// Update an image
///
/// Alt text, caption, credit and focal point (JSON merge patch; `null` clears). Authors
/// may change the images they uploaded; editors and admins any.
#[utoipa::path(
    tag = "images", operation_id = "update_image",
    params(("id" = Uuid, Path, description = "The image's id"),
           ("If-Match" = Option<String>, Header, description = "Change only if the image's ETag is still this")),
    request_body(content = ImageChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed image", body = ImageResponse,
        headers(("ETag" = String, description = "Strong ETag of the changed image")))),
    security(("bearer" = []))
)]
#[patch("/images/{id}")]
async fn update_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<ImageChanges>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(PUBLISHERS)?;
    let (changes, checks) = body.into_parts();
    let id = *id;
    let urls = crate::http::media_urls(&req);
    let mut conn = crate::db::conn(&state.pool).await?;
    let image = write::update(&mut conn, principal, id, &if_match, changes, checks).await?;
    // The crops are cut again around the new focal point before the answer shows them
    // (or, when that fails, by the job, a moment later).
    let image = match image {
        (image, true) => match rendition::reprocess(&state, id).await {
            Ok(recut) => recut,
            Err(error) => {
                tracing::warn!(%id, %error, "crops not cut again yet; the renditions job will");
                image
            }
        },
        (image, false) => image,
    };
    fresh(&ImageResponse::new(image, &urls))
}

/// Delete an image
///
/// Removes the image and all its stored files. 409 while an article shows it (cover or
/// figure) or an author uses it as avatar; the problem names them.
/// Authors may delete the images they uploaded; editors and admins any.
#[utoipa::path(
    tag = "images", operation_id = "delete_image",
    params(("id" = Uuid, Path, description = "The image's id"),
           ("If-Match" = Option<String>, Header, description = "Delete only if the image's ETag is still this")),
    responses((status = 204, description = "Deleted, files included")),
    security(("bearer" = []))
)]
#[delete("/images/{id}")]
async fn delete_image(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(PUBLISHERS)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let keys = write::delete(&mut conn, principal, *id, &if_match).await?;
    state.storage.delete(&keys).await;
    Ok(HttpResponse::NoContent().finish())
}
