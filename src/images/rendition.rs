//! Renditions made from an image's stored original after its upload: the AVIF and WebP
//! ones (a `renditions` job), and all of them again when its focal point moves (the crops
//! are cut anew around it) or for images stored by an older lede (`lede images
//! reprocess`). The same processing as an upload, bounded by the same budget.
use actix_web::web;
use uuid::Uuid;

use super::model::{Image, ImageUpdate, StoredVariant};
use super::queries;
use crate::error::ApiError;
use crate::jobs::{ForImage, Job};
use crate::media::process;
use crate::media::storage;
use crate::state::AppState;

/// An image's modern renditions, encoded and stored, not yet in its variants.
pub struct Modern {
    image: Image,
    written: Vec<StoredVariant>,
}

/// Encodes and stores the image's modern renditions (AVIF and WebP of every width and
/// crop), once its upload was answered: the slow half of a `renditions` job, run outside
/// any transaction (no connection idles in one for the seconds an encode takes) and as
/// background work (after any waiting upload). Nothing when the image is gone.
pub async fn prepare_modern(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Modern>, ApiError> {
    let Some(mut image) = queries::find(conn, id).await? else {
        return Ok(None);
    };
    if !crops_follow_focus(&image) {
        // The re-cut after a focal point's move failed (the PATCH scheduled this job in its
        // transaction for that case): made now.
        image = reprocess_then(state, id, true).await?;
    }
    let (encoded, focus) = from_original(state, &image, process::modern_renditions, true).await?;
    let written = super::store_files(state, &folder_of(&image), encoded, focus).await?;
    Ok(Some(Modern { image, written }))
}

/// Adds prepared renditions to the image's variants, in the job's transaction. Articles
/// showing it are rendered again with `<picture>` sources, and the change is announced
/// (`image.updated`). When the image was deleted or its focal point moved meanwhile (its
/// own job makes renditions around the new point), the files are removed instead, but
/// never one a stored image refers to (the same bytes uploaded again share the folder).
pub async fn apply_modern(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    Modern { image, written }: Modern,
) -> Result<(), ApiError> {
    let current = queries::lock(conn, image.id).await?;
    let Some(current) =
        current.filter(|c| (c.focal_x, c.focal_y) == (image.focal_x, image.focal_y))
    else {
        let owner = match queries::by_sha256(conn, &image.sha256).await? {
            Some(owner) => queries::lock(conn, owner.id).await?,
            None => None,
        };
        let kept = owner.map(|o| o.storage_keys()).unwrap_or_default();
        let unused: Vec<String> = written
            .into_iter()
            .map(|v| v.key)
            .filter(|key| !kept.contains(key))
            .collect();
        state.storage.delete(&unused).await;
        return Ok(());
    };
    let mut variants: Vec<_> = current
        .stored_variants()
        .into_iter()
        .filter(|v| !is_modern(&v.mime_type))
        .collect();
    variants.extend(written);
    let update = ImageUpdate {
        variants: Some(
            serde_json::to_value(&variants).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        updated_at: Some(chrono::Utc::now()),
        ..ImageUpdate::default()
    };
    queries::update(conn, &crate::principal::IMAGE_PROCESSING, image.id, &update).await?;
    queue_figure_refresh(conn, image.id).await
}

/// Processing of an original's bytes: `process::process` or `process::modern_renditions`.
type Work<T> = fn(&[u8], process::Limits, (f32, f32)) -> Result<T, process::ProcessError>;

/// Runs `work` on the image's stored original around its focal point, off the async
/// workers and within the image budget (as an upload's processing; as background work,
/// after any waiting request, when `background`): what it made, and the focal point it
/// used.
async fn from_original<T: Send + 'static>(
    state: &AppState,
    image: &Image,
    work: Work<T>,
    background: bool,
) -> Result<(T, (f32, f32)), ApiError> {
    let id = image.id;
    let original = state
        .storage
        .get(&image.storage_key, None)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("the original of image {id} is missing")))?;
    let bytes = storage::read_all(original).await?.to_vec();
    let focus = focus_of(image);
    let (width, height) = (image.width.max(1) as u32, image.height.max(1) as u32);
    let admitted = match background {
        true => state.image_budget.admit_background(width, height).await?,
        false => state.image_budget.admit(width, height).await?,
    };
    let limits = state.image_limits;
    let made = web::block(move || {
        let _admitted = admitted;
        work(&bytes, limits, focus)
    })
    .await?
    .map_err(|e| ApiError::Internal(format!("image {id} cannot be processed again: {e}")))?;
    Ok((made, focus))
}

/// The modern formats made after the upload is answered, in the order a `<picture>` offers
/// them (a browser takes the first it can show).
pub const MODERN: [&str; 2] = ["image/avif", "image/webp"];

/// Whether a stored variant is one of the modern renditions (never one of the original's
/// own: a WebP upload's are PNG).
pub fn is_modern(mime_type: &str) -> bool {
    MODERN.contains(&mime_type)
}

/// The focal point the image's crops are cut around.
fn focus_of(image: &Image) -> (f32, f32) {
    process::focus(image.focal_x, image.focal_y)
}

/// Whether the image's crops (in its own format) are cut around its focal point now: not
/// when the re-cut after a focal point's move failed.
fn crops_follow_focus(image: &Image) -> bool {
    let tag = super::focal_tag(focus_of(image));
    image
        .stored_variants()
        .iter()
        .filter(|v| !v.name.starts_with('w') && !is_modern(&v.mime_type))
        .all(|v| v.key.contains(&tag))
}

fn folder_of(image: &Image) -> String {
    image
        .storage_key
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder)
        .to_owned()
}

/// Everything an upload gets, made again now (for `lede images reprocess`, which runs
/// where no job runner may be): `reprocess` without scheduling a job, then the modern
/// renditions at once.
pub async fn complete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    use diesel_async::AsyncConnection;
    reprocess_then(state, id, true).await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let Some(modern) = prepare_modern(state, &mut conn, id).await? else {
        return Ok(());
    };
    conn.transaction::<_, ApiError, _>(async |conn| apply_modern(state, conn, modern).await)
        .await
}

/// Images that lack what uploads get now (a placeholder, the named crops or the modern
/// renditions), oldest first.
pub async fn wanting(state: &AppState) -> Result<Vec<Uuid>, ApiError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = crate::db::conn(&state.pool).await?;
    Ok(crate::db::schema::images::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "placeholder IS NULL OR NOT variants @> '[{\"name\": \"square\"}]' \
             OR NOT variants @> '[{\"mime_type\": \"image/webp\", \"name\": \"square\"}]' \
             OR NOT variants @> '[{\"mime_type\": \"image/avif\", \"name\": \"square\"}]'",
        ))
        .order(crate::db::schema::images::id)
        .select(crate::db::schema::images::id)
        .load(&mut conn)
        .await?)
}

/// Makes the image's variants, crops and placeholder again from its original, and keeps
/// them unless its focal point moved meanwhile (that move makes its own). Files no longer
/// used are removed; articles showing it are rendered again. The image as it now is.
pub async fn reprocess(state: &AppState, id: Uuid) -> Result<Image, ApiError> {
    reprocess_then(state, id, false).await
}

/// `reprocess`; `for_modern` when the caller makes the modern renditions next itself (the
/// renditions job, `lede images reprocess`): then no job is scheduled for them, and the work
/// waits its turn as background work.
async fn reprocess_then(state: &AppState, id: Uuid, for_modern: bool) -> Result<Image, ApiError> {
    let not_found = || ApiError::NotFound(format!("no image with id `{id}`"));
    let mut conn = crate::db::conn(&state.pool).await?;
    let image = queries::find(&mut conn, id).await?.ok_or_else(not_found)?;
    drop(conn);
    let (processed, focus) = from_original(state, &image, process::process, for_modern).await?;
    let mut variants =
        super::store_files(state, &folder_of(&image), processed.variants, focus).await?;
    // The modern widths do not depend on the focal point: kept (pages cached with them go
    // on working); the job this schedules makes the modern crops again.
    variants.extend(
        image
            .stored_variants()
            .into_iter()
            .filter(|v| is_modern(&v.mime_type) && v.name.starts_with('w')),
    );
    let update = ImageUpdate {
        variants: Some(
            serde_json::to_value(&variants).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        placeholder: Some(Some(processed.placeholder)),
        dominant_color: Some(Some(processed.dominant_color)),
        updated_at: Some(chrono::Utc::now()),
        ..ImageUpdate::default()
    };
    let mut conn = crate::db::conn(&state.pool).await?;
    let (kept, current) = {
        use diesel_async::AsyncConnection;
        conn.transaction::<_, ApiError, _>(async |conn| {
            let current = queries::lock(conn, id).await?.ok_or_else(not_found)?;
            if (current.focal_x, current.focal_y) != (image.focal_x, image.focal_y) {
                return Ok((false, current));
            }
            let updated =
                queries::update(conn, &crate::principal::IMAGE_PROCESSING, id, &update).await?;
            queue_figure_refresh(conn, id).await?;
            // The modern renditions are made again too, around the new focal point.
            if !for_modern {
                schedule_renditions(conn, id).await?;
            }
            Ok((true, updated))
        })
        .await?
    };
    // What neither the image before nor the image now uses: the crops of an old focal
    // point, or this run's when another run won.
    let now_used = current.storage_keys();
    let before: Vec<String> = match kept {
        true => image.storage_keys(),
        false => variants.into_iter().map(|v| v.key).collect(),
    };
    let unused: Vec<String> = before
        .into_iter()
        .filter(|key| !now_used.contains(key))
        .collect();
    state.storage.delete(&unused).await;
    Ok(current)
}

/// Queues the encodes of an image's modern renditions (in the caller's transaction).
pub async fn schedule_renditions(
    conn: &mut diesel_async::AsyncPgConnection,
    image_id: Uuid,
) -> Result<(), ApiError> {
    crate::jobs::enqueue(conn, &Job::Renditions(ForImage { image_id }), None).await
}

/// Queues the renders of the articles showing the image as a figure (in the caller's
/// transaction): its write commits at once, and the articles follow in batches of their own
/// (`articles::refresh_figures`).
pub async fn queue_figure_refresh(
    conn: &mut diesel_async::AsyncPgConnection,
    image_id: Uuid,
) -> Result<(), ApiError> {
    crate::jobs::enqueue(conn, &Job::Figures(ForImage { image_id }), None).await
}
