//! What the articles of a page embed (author with avatar, tags, cover, comment counts),
//! loaded for the whole page at once, so a page costs the same few queries whatever its
//! length.
use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Article, AuthorSummary, TagSummary};
use crate::db::schema::{article_tags, authors, tags};
use crate::error::ApiError;
use crate::images::model::{Image, ImageResponse};
use crate::media::storage::MediaUrls;

/// What a page of articles embeds, loaded in three queries whatever the page's length.
pub struct Embeds {
    urls: MediaUrls,
    site: std::sync::Arc<crate::site::Site>,
    comment_counts: HashMap<Uuid, i64>,
    authors: HashMap<Uuid, AuthorSummary>,
    images: HashMap<Uuid, ImageResponse>,
    tags: HashMap<Uuid, Vec<TagSummary>>,
}

impl Embeds {
    pub async fn load(
        conn: &mut AsyncPgConnection,
        page: &[&Article],
        urls: &MediaUrls,
        site: &std::sync::Arc<crate::site::Site>,
    ) -> Result<Self, ApiError> {
        use crate::db::schema::{comments, images};
        let article_ids: Vec<Uuid> = page.iter().map(|a| a.id).collect();
        let author_ids: Vec<Uuid> = page.iter().map(|a| a.author_id).collect();
        let cover_ids: Vec<Uuid> = page.iter().filter_map(|a| a.cover_image_id).collect();
        // Four independent statements, sent together (pipelined on the one connection): one
        // round trip, not four.
        let shared: &AsyncPgConnection = conn;
        let bylines = authors::table
            .filter(authors::id.eq_any(&author_ids))
            .select((
                authors::id,
                authors::slug,
                authors::name,
                authors::avatar_image_id,
            ))
            .load::<(Uuid, String, String, Option<Uuid>)>(&mut &*shared);
        let avatars = authors::table
            .filter(authors::id.eq_any(&author_ids))
            .select(authors::avatar_image_id);
        let pictures = images::table
            .filter(
                images::id
                    .eq_any(&cover_ids)
                    .or(images::id.nullable().eq_any(avatars)),
            )
            .select(Image::as_select())
            .load::<Image>(&mut &*shared);
        let tag_rows = article_tags::table
            .inner_join(tags::table)
            .filter(article_tags::article_id.eq_any(&article_ids))
            .order((article_tags::article_id, article_tags::position))
            .select((article_tags::article_id, tags::id, tags::slug, tags::name))
            .load::<(Uuid, Uuid, String, String)>(&mut &*shared);
        // Approved comments, replies included.
        let counts = comments::table
            .filter(comments::article_id.eq_any(&article_ids))
            .filter(comments::status.eq("approved"))
            .filter(comments::deleted_at.is_null())
            .group_by(comments::article_id)
            .select((comments::article_id, diesel::dsl::count_star()))
            .load::<(Uuid, i64)>(&mut &*shared);
        let (bylines, pictures, tag_rows, counts) =
            futures_util::try_join!(bylines, pictures, tag_rows, counts)?;
        let images: HashMap<Uuid, ImageResponse> = pictures
            .into_iter()
            .map(|i: Image| (i.id, ImageResponse::new(i, urls)))
            .collect();
        let comment_counts: HashMap<Uuid, i64> = counts.into_iter().collect();
        let authors = bylines
            .into_iter()
            .map(|(id, slug, name, avatar)| {
                let avatar = avatar.and_then(|a| images.get(&a).cloned());
                (
                    id,
                    AuthorSummary {
                        id,
                        slug,
                        name,
                        avatar,
                    },
                )
            })
            .collect();
        let mut tags: HashMap<Uuid, Vec<TagSummary>> = HashMap::new();
        for (article_id, id, slug, name) in tag_rows {
            tags.entry(article_id)
                .or_default()
                .push(TagSummary { id, slug, name });
        }
        Ok(Embeds {
            urls: urls.clone(),
            site: site.clone(),
            comment_counts,
            authors,
            images,
            tags,
        })
    }

    /// The front-end's site, where canonical URLs point.
    pub fn site(&self) -> &crate::site::Site {
        &self.site
    }

    /// Approved comments, replies included.
    pub fn comment_count(&self, article: &Article) -> i64 {
        self.comment_counts.get(&article.id).copied().unwrap_or(0)
    }

    /// Stored HTML with its figures' URLs completed.
    pub fn complete(&self, html: &str) -> String {
        self.urls.complete(html)
    }

    pub fn author(&self, article: &Article) -> AuthorSummary {
        self.authors
            .get(&article.author_id)
            .cloned()
            .unwrap_or(AuthorSummary {
                id: article.author_id,
                slug: String::new(),
                name: String::new(),
                avatar: None,
            })
    }

    pub fn cover(&self, article: &Article) -> Option<ImageResponse> {
        article
            .cover_image_id
            .and_then(|id| self.images.get(&id).cloned())
    }

    pub fn tags(&self, article: &Article) -> Vec<TagSummary> {
        self.tags.get(&article.id).cloned().unwrap_or_default()
    }
}
