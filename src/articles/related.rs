//! `GET /api/v1/articles/{id_or_slug}/related`: "more like this", from the search index
//! (shared tags and words), read back from Postgres as the public sees it.
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Article, ArticleResponse, Kind};
use super::queries::{self, Embeds, Filters, Reader};
use super::{may_read, reader, view};
use crate::changes::Key;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::cache::{Shows, showing};
use crate::http::pagination::{ListMeta, ListResponse};
use crate::http::response::{tagged, to_json};
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 5;
const MAX_LIMIT: i64 = 10;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RelatedQuery {
    /// How many, 1 to 10 (default 5).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10, default = 5, example = 5)]
    // Read as text, so a bad value is answered naming `limit`.
    limit: Option<String>,
}

/// List related articles
///
/// Up to `limit` public articles of the same kind most like this one, best first: sharing
/// its tags and its words. Never the article itself, never a draft. Cards, as in the
/// article list.
#[utoipa::path(
    tag = "articles", operation_id = "list_related_articles",
    params(("id_or_slug" = String, Path, description = "The article's id or slug", example = "the-last-night-tram"),
           RelatedQuery),
    responses((status = 200, description = "Related articles, best first", body = ListResponse<ArticleResponse>,
        headers(("ETag" = String, description = "Strong ETag of the list"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/articles/{id_or_slug}/related")]
pub async fn list_related(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    query: web::Query<RelatedQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "query parameter `limit` must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let mut conn = auth.read_conn(&state).await?;
    let article = queries::find(&mut conn, &key)
        .await?
        .filter(|article| may_read(reader(&auth), article))
        .ok_or_else(|| ApiError::not_found("article", &key))?;
    let tag_ids = queries::tag_ids(&mut conn, article.id).await?;
    let kind = Kind::of(&article);
    let ids = state
        .search
        .related(article.id, tag_ids, kind, limit as usize)
        .await?;
    let filters = Filters {
        kind,
        ..Filters::default()
    };
    let mut found: HashMap<_, _> = queries::by_ids(&mut conn, Reader::Public, &filters, &ids)
        .await?
        .into_iter()
        .map(|row| (row.article.id, row.article))
        .collect();
    let rows: Vec<Article> = ids.iter().filter_map(|id| found.remove(id)).collect();
    let page: Vec<&Article> = rows.iter().collect();
    let urls = crate::http::media_urls(&req);
    let embeds = Embeds::load(&mut conn, &page, &urls, &state.site).await?;
    let data: Vec<ArticleResponse> = rows
        .into_iter()
        .map(|row| view(row, &embeds, None, false))
        .collect();
    // Any public article's change, and the index taking it in, may change the list.
    let mut keys = vec![Key::Articles, Key::Search, Key::Article(article.id)];
    keys.extend(data.iter().filter_map(Shows::key));
    let meta = ListMeta {
        per_page: limit,
        total: data.len() as i64,
        total_estimated: false,
        next_cursor: None,
        page: None,
        total_pages: None,
    };
    let body = to_json(&ListResponse { data, meta })?;
    Ok(showing(tagged(&req, StatusCode::OK, body)?, keys))
}
