//! Taking an image in: its bytes checked, hashed and decoded within the machine's room,
//! variants and crops stored, the row written (uploads, the importer and the demo).
use actix_web::web;
use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{ImageInsert, StoredVariant};
use crate::error::ApiError;
use crate::media::process::{self, ProcessError, Processed};
use crate::state::AppState;

use super::{model, queries, rendition};

/// What people write about an image.
#[derive(Debug, Default)]
pub struct ImageText {
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_x: Option<f32>,
    pub focal_y: Option<f32>,
}

/// An upload's SHA-256 and header, checked (its kind and size): hashing 20 MB and reading
/// a header are CPU work too, off the async workers.
pub(super) async fn inspected(
    file: Vec<u8>,
    limits: process::Limits,
) -> Result<(Vec<u8>, Vec<u8>, process::Header), ApiError> {
    let (file, sha256, header) = web::block(move || {
        let sha256 = Sha256::digest(&file).to_vec();
        let header = process::inspect(&file, limits);
        (file, sha256, header)
    })
    .await?;
    Ok((file, sha256, header.map_err(refused)?))
}

/// An image lede does not take, as the client hears it.
pub(super) fn refused(error: ProcessError) -> ApiError {
    match error {
        ProcessError::Unsupported(detail) => ApiError::UnsupportedMediaType(detail),
        other => ApiError::invalid("file", "invalid_image", other.to_string()),
    }
}

/// What `ingest` would do with `file`, for a dry run, on `conn` (in a transaction that is
/// never committed): the same checks of its kind and size, the image already stored with
/// these bytes, or else a stand-in row (no files: nothing is decoded or stored) that a
/// body may show until the transaction is rolled back. Whether it was new.
pub async fn ingest_dry(
    conn: &mut diesel_async::AsyncPgConnection,
    by: &crate::principal::Actor,
    state: &AppState,
    file: Vec<u8>,
) -> Result<(model::Image, bool), ApiError> {
    let (file, sha256, header) = inspected(file, state.image_limits).await?;
    let byte_size = file.len();
    let row = ImageInsert {
        id: Uuid::now_v7(),
        sha256,
        mime_type: header.kind.mime_type().to_owned(),
        width: header.width as i32,
        height: header.height as i32,
        byte_size: byte_size as i64,
        storage_key: "dry-run".into(),
        variants: serde_json::json!([]),
        alt: None,
        caption: None,
        credit: None,
        focal_x: None,
        focal_y: None,
        owner_author_id: None,
        placeholder: None,
        dominant_color: None,
    };
    // In a savepoint: a failed statement leaves the caller's transaction usable.
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(existing) = queries::by_sha256(conn, &row.sha256).await? {
            return Ok((existing, false));
        }
        Ok((queries::insert(conn, by, &row).await?, true))
    })
    .await
}

/// Stores uploaded bytes as an image: checked, processed off the async workers, files
/// written, row inserted. Returns the image and whether it is new (the same bytes return
/// the stored one). Nothing is left behind when it fails.
pub async fn ingest(
    by: &crate::principal::Actor,
    state: &AppState,
    file: Vec<u8>,
    text: ImageText,
    owner_author_id: Option<Uuid>,
) -> Result<(model::Image, bool), ApiError> {
    let limits = state.image_limits;
    let (file, sha256, header) = inspected(file, limits).await?;
    let mut conn = crate::db::conn(&state.pool).await?;
    if let Some(existing) = queries::by_sha256(&mut conn, &sha256).await? {
        return Ok((existing, false));
    }
    drop(conn);

    let admitted = state
        .image_budget
        .admit(header.width, header.height)
        .await?;
    // The place is held by the decode itself: a client that goes away mid-upload drops
    // this request, not the work already running on its blocking thread.
    let focus = process::focus(text.focal_x, text.focal_y);
    let processed = web::block(move || {
        let _admitted = admitted;
        process::process(&file, limits, focus)
    })
    .await?
    .map_err(refused)?;

    let hex = hex::encode(&sha256);
    let folder = format!("images/{}/{hex}", &hex[..2]);
    let placeholder = processed.placeholder.clone();
    let dominant_color = processed.dominant_color.clone();
    let written = store(state, &folder, processed, focus).await?;
    let row = ImageInsert {
        id: Uuid::now_v7(),
        sha256: sha256.clone(),
        mime_type: written.original.mime_type.clone(),
        width: written.original.width as i32,
        height: written.original.height as i32,
        byte_size: written.original.byte_size as i64,
        storage_key: written.original.key.clone(),
        variants: serde_json::to_value(&written.variants)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        alt: text.alt,
        caption: text.caption,
        credit: text.credit,
        focal_x: text.focal_x,
        focal_y: text.focal_y,
        owner_author_id,
        placeholder: Some(placeholder),
        dominant_color: Some(dominant_color),
    };
    let mut conn = crate::db::conn(&state.pool).await?;
    // The slow encodes (AVIF, WebP) are a job: the upload is answered without waiting.
    let inserted = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let image = queries::insert(conn, by, &row).await?;
            rendition::schedule_renditions(conn, image.id).await?;
            Ok(image)
        })
        .await;
    match inserted {
        Ok(image) => Ok((image, true)),
        // The same bytes arrived at the same moment: the files are identical (their keys
        // come from the content), so keep them and answer with the image that won.
        Err(ApiError::Conflict { errors, .. })
            if errors.first().and_then(|e| e.field.as_deref()) == Some("sha256") =>
        {
            let existing = queries::by_sha256(&mut conn, &sha256)
                .await?
                .ok_or_else(|| {
                    ApiError::Internal("image vanished after a unique violation".into())
                })?;
            Ok((existing, false))
        }
        Err(error) => {
            state.storage.delete(&written.keys()).await;
            Err(error)
        }
    }
}

/// A stored file's description.
#[derive(serde::Serialize)]
pub(super) struct Written {
    pub(super) original: StoredVariant,
    pub(super) variants: Vec<StoredVariant>,
}

impl Written {
    pub(super) fn keys(&self) -> Vec<String> {
        std::iter::once(self.original.key.clone())
            .chain(self.variants.iter().map(|v| v.key.clone()))
            .collect()
    }
}

/// Writes the original and the variants; on a failure removes what was written.
pub(super) async fn store(
    state: &AppState,
    folder: &str,
    processed: Processed,
    focus: (f32, f32),
) -> Result<Written, ApiError> {
    let files = std::iter::once(processed.original).chain(processed.variants);
    let mut written = store_files(state, folder, files.collect(), focus).await?;
    let original = written.remove(0);
    Ok(Written {
        original,
        variants: written,
    })
}

/// What a crop's key says of the focal point it was cut around: its exact bits, so two
/// points never share a crop's file.
pub(crate) fn focal_tag(focus: (f32, f32)) -> String {
    format!("-{:08x}{:08x}", focus.0.to_bits(), focus.1.to_bits())
}

/// Writes encoded files under `folder`; on a failure removes what was written. A file's key
/// is its name (the content's folder makes it unique), except a crop's, which also names
/// the focal point it was cut around: a moved focal point is a new file, never a changed
/// one (media is cached forever).
pub(crate) async fn store_files(
    state: &AppState,
    folder: &str,
    files: Vec<process::Encoded>,
    focus: (f32, f32),
) -> Result<Vec<StoredVariant>, ApiError> {
    let mut written: Vec<StoredVariant> = Vec::new();
    for encoded in files {
        let tag = match process::CROPS
            .iter()
            .any(|(name, ..)| *name == encoded.name)
        {
            true => focal_tag(focus),
            false => String::new(),
        };
        let key = format!(
            "{folder}/{}{tag}.{}",
            encoded.name,
            encoded.kind.extension()
        );
        let stored = StoredVariant {
            name: encoded.name,
            width: encoded.width,
            height: encoded.height,
            mime_type: encoded.kind.mime_type().to_owned(),
            byte_size: encoded.bytes.len() as u64,
            key: key.clone(),
        };
        if let Err(error) = state.storage.put(&key, encoded.bytes).await {
            let keys: Vec<String> = written.iter().map(|w| w.key.clone()).collect();
            state.storage.delete(&keys).await;
            return Err(error);
        }
        written.push(stored);
    }
    Ok(written)
}
