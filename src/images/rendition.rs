//! Making an image's renditions again from its stored original: when its focal point moves
//! (the crops are cut anew around it) and for images stored before lede made crops and
//! placeholders (`lede images reprocess`). The same processing as an upload, bounded by the
//! same budget.
use actix_web::web;
use uuid::Uuid;

use super::model::{Image, ImageUpdate};
use super::process::{self, CENTRE};
use super::{queries, storage};
use crate::AppState;
use crate::error::ApiError;

/// Adds the image's modern renditions (AVIF and WebP of every width and crop) to its
/// variants, once its upload was answered: run by a job (`jobs::schedule_renditions`), in
/// its transaction. The encodes take seconds: the image is read without a lock and stays
/// editable meanwhile; a focal point moved in that time wins (its own job cuts its crops).
/// Nothing when the image is gone. Articles showing it are rendered again with `<picture>`
/// sources, and the change is announced (`image.updated`).
pub async fn modern(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<(), ApiError> {
    let Some(image) = queries::find(conn, id).await? else {
        return Ok(());
    };
    let (encoded, focus) = from_original(state, &image, process::modern_renditions, true).await?;
    let written = super::store_files(state, &folder_of(&image), encoded, focus).await?;
    let current = queries::lock(conn, id).await?;
    let Some(current) =
        current.filter(|c| (c.focal_x, c.focal_y) == (image.focal_x, image.focal_y))
    else {
        // Gone, or its focal point moved: these crops are of a point no longer wanted (the
        // widths are the same files the next run writes, and are left).
        let crops: Vec<String> = written
            .into_iter()
            .filter(|v| !v.name.starts_with('w'))
            .map(|v| v.key)
            .collect();
        state.storage.delete(&crops).await;
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
    queries::update(conn, id, &update).await?;
    crate::articles::refresh_figures(conn, id).await
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
    let focus = (
        image.focal_x.unwrap_or(CENTRE.0),
        image.focal_y.unwrap_or(CENTRE.1),
    );
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

/// Whether a variant is one of the modern renditions (never the original's format: a WebP
/// upload's own variants are PNG).
pub fn is_modern(mime_type: &str) -> bool {
    MODERN.contains(&mime_type)
}

fn folder_of(image: &Image) -> String {
    image
        .storage_key
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder)
        .to_owned()
}

/// Everything an upload gets, made again now (for `lede images reprocess`, which runs
/// where no job runner may be): `reprocess`, then the modern renditions at once. The job
/// `reprocess` leaves finds them made and makes them again, which changes nothing.
pub async fn complete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    use diesel_async::AsyncConnection;
    reprocess(state, id).await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| modern(state, conn, id).await)
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
    let not_found = || ApiError::NotFound(format!("no image with id `{id}`"));
    let mut conn = crate::db::conn(&state.pool).await?;
    let image = queries::find(&mut conn, id).await?.ok_or_else(not_found)?;
    drop(conn);
    let (processed, focus) = from_original(state, &image, process::process, false).await?;
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
            let updated = queries::update(conn, id, &update).await?;
            crate::articles::refresh_figures(conn, id).await?;
            // The modern renditions are made again too, around the new focal point.
            crate::jobs::schedule_renditions(conn, id).await?;
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
