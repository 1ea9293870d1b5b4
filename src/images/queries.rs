//! Image queries.
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Image, ImageInsert, ImageUpdate};
use crate::changes::{Action, Change, Key, Subject};
use crate::db::schema::{article_images, articles, authors, images};
use crate::error::{ApiError, OnConstraint};
use crate::http::pagination::{KeyKind, Loaded, Pagination, Sort, SortOption, page_of, time_key};

pub static SORTS: [SortOption<Image>; 2] = [
    SortOption {
        name: "created_at",
        column: "images.created_at",
        kind: KeyKind::Time,
        key: |i| time_key(&i.created_at),
    },
    SortOption {
        name: "updated_at",
        column: "images.updated_at",
        kind: KeyKind::Time,
        key: |i| time_key(&i.updated_at),
    },
];

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Image>> {
    images::table
        .find(id)
        .select(Image::as_select())
        .first(conn)
        .await
        .optional()
}

/// The image, locked against other writes until the end of the transaction. `NO KEY
/// UPDATE`: an article saved meanwhile may still refer to it (its foreign-key check takes
/// `KEY SHARE`), so an image edit and an article edit never wait on each other.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Image>> {
    images::table
        .find(id)
        .select(Image::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn by_sha256(conn: &mut AsyncPgConnection, sha256: &[u8]) -> QueryResult<Option<Image>> {
    images::table
        .filter(images::sha256.eq(sha256))
        .select(Image::as_select())
        .first(conn)
        .await
        .optional()
}

/// Several images in one query (for embedding them in other resources).
pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Image>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    images::table
        .filter(images::id.eq_any(ids))
        .select(Image::as_select())
        .load(conn)
        .await
}

/// What the image list may be narrowed to.
pub struct ImageFilter<'a> {
    pub mime_type: Option<&'a str>,
    /// The SHA-256 of the file's bytes (unique: at most one image).
    pub sha256: Option<&'a [u8]>,
    /// Words each of which the alt text, caption or credit holds.
    pub words: &'a [String],
}

/// Words of an image search: at most 10, each at most 100 characters.
pub fn search_words(q: &str) -> Result<Vec<String>, ApiError> {
    let words: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
    if words.len() > 10 || words.iter().any(|w| w.chars().count() > 100) {
        return Err(ApiError::BadRequest(
            "q takes at most 10 words of at most 100 characters each".into(),
        ));
    }
    Ok(words)
}

/// `text` matched literally by `LIKE` (its `%`, `_` and `\` escaped).
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    pagination: &Pagination,
    sort: &Sort<Image>,
    filter: &ImageFilter<'_>,
) -> Result<Loaded<Image>, ApiError> {
    let mut query = images::table.select(Image::as_select()).into_boxed();
    let mut count = images::table.count().into_boxed();
    if let Some(mime_type) = filter.mime_type {
        query = query.filter(images::mime_type.eq(mime_type.to_owned()));
        count = count.filter(images::mime_type.eq(mime_type.to_owned()));
    }
    if let Some(sha256) = filter.sha256 {
        query = query.filter(images::sha256.eq(sha256.to_vec()));
        count = count.filter(images::sha256.eq(sha256.to_vec()));
    }
    for word in filter.words {
        let pattern = format!("%{}%", like_escaped(word));
        query = query.filter(
            images::alt
                .ilike(pattern.clone())
                .or(images::caption.ilike(pattern.clone()))
                .or(images::credit.ilike(pattern.clone())),
        );
        count = count.filter(
            images::alt
                .ilike(pattern.clone())
                .or(images::caption.ilike(pattern.clone()))
                .or(images::credit.ilike(pattern)),
        );
    }
    let rows = page_of(query, pagination, sort)?.load(conn).await?;
    let total = count.get_result(conn).await?;
    Ok(Loaded::exact(rows, total))
}

/// Inserts a image and records the change (the list of images changes).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    row: &ImageInsert,
) -> Result<Image, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let image = diesel::insert_into(images::table)
            .values(row)
            .returning(Image::as_returning())
            .get_result(conn)
            .await
            .on_unique(&[("images_sha256_key", "sha256")])?;
        // Nothing embeds a new image yet.
        let change = Change::to_thing(Subject::Image(image.id), Action::Created, &[]);
        crate::changes::record(conn, by, change).await?;
        Ok(image)
    })
    .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
    changes: &ImageUpdate,
) -> Result<Image, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let image = diesel::update(images::table.find(id))
            .set(changes)
            .returning(Image::as_returning())
            .get_result(conn)
            .await?;
        // Authors (avatars) and articles (covers) embed the whole image.
        let also = &[Key::Authors, Key::Articles];
        let change = Change::to_thing(Subject::Image(id), Action::Updated, also);
        crate::changes::record(conn, by, change).await?;
        Ok(image)
    })
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    id: Uuid,
) -> Result<usize, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let deleted = diesel::delete(images::table.find(id)).execute(conn).await?;
        // Only an image nothing uses can be deleted (409 otherwise): no list embeds it.
        let change = Change::to_thing(Subject::Image(id), Action::Deleted, &[]);
        crate::changes::record(conn, by, change).await?;
        Ok(deleted)
    })
    .await
}

/// Slugs of the authors whose avatar the image is.
pub async fn avatar_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<String>> {
    authors::table
        .filter(authors::avatar_image_id.eq(id))
        .select(authors::slug)
        .load(conn)
        .await
}

/// Slugs of the articles showing an image (as cover or figure).
pub async fn using_image(conn: &mut AsyncPgConnection, image_id: Uuid) -> QueryResult<Vec<String>> {
    articles::table
        .filter(
            articles::cover_image_id
                .eq(image_id)
                .or(articles::id.eq_any(
                    article_images::table
                        .filter(article_images::image_id.eq(image_id))
                        .select(article_images::article_id),
                )),
        )
        .select(articles::slug)
        .load(conn)
        .await
}
