//! Where image files live: a local directory by default, any S3-compatible bucket with
//! `LEDE_STORAGE_URL=s3://bucket/prefix`, both through `object_store`. Keys are
//! content-addressed (`images/ab/<sha256>/w640.jpg`), so a stored file never changes and
//! can be cached forever.
use std::sync::Arc;

use actix_web::web::Bytes;
use anyhow::Context;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, GetResult, ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::Config;
use crate::error::ApiError;

pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Public base of media URLs (a CDN), or `None` to serve them under `/media`.
    media_url: Option<String>,
}

impl Storage {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match config.storage_url.as_deref() {
            Some(url) if url.starts_with("s3://") => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .with_context(|| format!("cannot use {url} for storage"))?,
            ),
            Some(url) => Arc::new(local(url.strip_prefix("file://").unwrap_or(url))?),
            None => Arc::new(local(&config.data_dir.join("media").to_string_lossy())?),
        };
        Ok(Storage {
            store,
            media_url: config
                .media_url
                .as_deref()
                .map(|u| crate::origin::checked_base("LEDE_MEDIA_URL", u))
                .transpose()?,
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        self.store
            .put(&StorePath::from(key), PutPayload::from(bytes))
            .await
            .map_err(|e| ApiError::Unavailable(format!("the media storage is unavailable: {e}")))?;
        Ok(())
    }

    /// Removes files; a missing one is not an error (the goal is that it is gone).
    pub async fn delete(&self, keys: &[String]) {
        for key in keys {
            if let Err(error) = self.store.delete(&StorePath::from(key.as_str())).await
                && !matches!(error, object_store::Error::NotFound { .. })
            {
                tracing::warn!(%key, %error, "could not delete a stored file");
            }
        }
    }

    /// A stored file, or the part of it `range` asks for.
    pub async fn get(
        &self,
        key: &str,
        range: Option<GetRange>,
    ) -> Result<Option<GetResult>, ApiError> {
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        match self.store.get_opts(&StorePath::from(key), options).await {
            Ok(result) => Ok(Some(result)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(ApiError::Unavailable(format!(
                "the media storage is unavailable: {error}"
            ))),
        }
    }

    /// The origin media is served from when it is not lede's own (an object store's or a
    /// CDN's public URL): the desk's pages may show images from there.
    pub fn external_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.media_url.as_ref()?).ok()?;
        Some(url.origin().ascii_serialization())
    }

    /// Media URLs for answers made without a request (webhook events), under `base`.
    pub fn urls_at(&self, base: &str) -> MediaUrls {
        MediaUrls {
            base: match &self.media_url {
                Some(media) => media.clone(),
                None => format!("{base}/media"),
            },
        }
    }
}

/// Builds absolute URLs of stored files (a plain value, so database transactions can
/// carry it).
#[derive(Debug, Clone)]
pub struct MediaUrls {
    base: String,
}

/// Stands for the media base in stored HTML (article bodies): replaced when the HTML is
/// served, so stored bodies stay right when `LEDE_PUBLIC_URL` or the CDN change.
/// A root-relative path, so the sanitizer keeps it like any other link. Only figures made by
/// the renderer carry it: the renderer disarms any copy an author writes (see
/// `articles::render`).
pub const MEDIA_PLACEHOLDER: &str = "/__lede_media__";

impl MediaUrls {
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base)
    }

    /// URLs for HTML that is stored, to be completed by `complete` when served.
    pub fn placeholder() -> Self {
        MediaUrls {
            base: MEDIA_PLACEHOLDER.to_owned(),
        }
    }

    /// Stored HTML with its media URLs pointing at this base. The base is a checked URL
    /// (configuration, or a trusted proxy's host); it is attribute-escaped all the same.
    pub fn complete(&self, html: &str) -> String {
        html.replace(MEDIA_PLACEHOLDER, &crate::text::escape(&self.base))
    }
}

fn local(dir: &str) -> anyhow::Result<object_store::local::LocalFileSystem> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the media directory {dir}"))?;
    Ok(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
}

/// Reads a whole stored file (for tests and small files).
pub async fn read_all(result: GetResult) -> Result<Bytes, ApiError> {
    result
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the media storage is unavailable: {e}")))
}
