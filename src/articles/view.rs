//! An article as a reader sees it: the row with its embeds, for a page, a card, a search
//! hit or a webhook.
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::model::{Article, ArticleResponse, Kind, Status};
use super::queries::Embeds;
use super::{queries, render, seo};
use crate::error::ApiError;
use crate::media::storage::MediaUrls;
use crate::site::Site;

/// An article as a reader sees it; `with_body` false leaves the body out (a list's card).
pub(crate) fn view(
    article: Article,
    embeds: &Embeds,
    snippet: Option<String>,
    with_body: bool,
) -> ArticleResponse {
    let comment_count = embeds.comment_count(&article);
    let kind = Kind::of(&article);
    let author = embeds.author(&article);
    let tags = embeds.tags(&article);
    let cover_image = embeds.cover(&article);
    let seo = seo::of(
        &article,
        &author,
        &tags,
        cover_image.as_ref(),
        embeds.site(),
    );
    let status = Status::of(&article);
    ArticleResponse {
        author,
        tags,
        cover_image,
        seo,
        meta_title: article.meta_title,
        meta_description: article.meta_description,
        previous: None,
        next: None,
        id: article.id,
        status,
        slug: article.slug,
        title: article.title,
        subtitle: article.subtitle,
        excerpt: article.excerpt,
        body_html: with_body.then(|| embeds.complete(&article.body_html)),
        body_markdown: with_body.then_some(article.body_markdown),
        toc: serde_json::from_value(article.toc).unwrap_or_default(),
        word_count: article.word_count,
        reading_time_minutes: article.reading_time_minutes,
        published_at: article.published_at.map(Into::into),
        created_at: article.created_at.into(),
        updated_at: article.updated_at.into(),
        comments_open: article.comments_open,
        comment_count,
        version: article.version,
        external_id: article.external_id,
        kind,
        snippet,
        removed: Vec::new(),
    }
}

/// A write's answer: the article as a read shows it, and what rendering removed from the
/// body it was given (`bodies`, rendered before the write).
pub(crate) async fn written(
    conn: &mut AsyncPgConnection,
    article: Article,
    urls: &MediaUrls,
    site: &Arc<Site>,
    bodies: &super::write::Prerendered,
) -> Result<ArticleResponse, ApiError> {
    let removed = bodies.removed(&article.body_markdown);
    let mut view = view_one(conn, article, urls, site).await?;
    view.removed = removed;
    Ok(view)
}

/// One article with its embeds.
pub(crate) async fn view_one(
    conn: &mut AsyncPgConnection,
    article: Article,
    urls: &MediaUrls,
    site: &Arc<Site>,
) -> Result<ArticleResponse, ApiError> {
    view_adjacent(conn, article, urls, site, None).await
}

/// One article with its embeds and its previous and next public articles (within the tag
/// `adjacent_tag` when given): every answer of one article, so a write's answer and a
/// read's are the same (and so are their ETags).
pub(crate) async fn view_adjacent(
    conn: &mut AsyncPgConnection,
    article: Article,
    urls: &MediaUrls,
    site: &Arc<Site>,
    adjacent_tag: Option<Uuid>,
) -> Result<ArticleResponse, ApiError> {
    // Neighbours are among the public articles: a draft (or one still scheduled) is not
    // among them yet, so it has none.
    let (previous, next) = if article.is_public {
        queries::adjacent(conn, &article, adjacent_tag, site).await?
    } else {
        (None, None)
    };
    let embeds = Embeds::load(conn, &[&article], urls, site).await?;
    let mut view = view(article, &embeds, None, true);
    view.previous = Some(previous);
    view.next = Some(next);
    Ok(view)
}

/// A search hit's snippet made safe: everything escaped, then the match marks become `<mark>`.
pub(super) fn snippet_html(raw: &str) -> String {
    render::escape(raw)
        .replace(queries::MARK_START, "<mark>")
        .replace(queries::MARK_END, "</mark>")
}
