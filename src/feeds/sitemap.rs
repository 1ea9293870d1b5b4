//! `GET /api/v1/sitemap`: every public article's address on the site and when it last
//! changed, paged by id, for a front-end's sitemap.xml. Each page is one range read of a
//! partial index that holds every column it needs (an index-only scan).
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::articles::model::Kind;
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::pagination::{
    KeyKind, ListResponse, Loaded, Pagination, SortOption, list_response,
};
use crate::state::AppState;

/// Rows a sitemap page may hold.
const MAX_PER_PAGE: i64 = 1000;

#[derive(Debug, QueryableByName)]
pub struct SitemapRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    published_at: Option<DateTime<Utc>>,
}

/// One public article in the sitemap.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"slug": "the-last-night-tram", "kind": "article",
    "canonical_url": "https://www.example.com/the-last-night-tram", "updated_at": "2025-10-28T09:30:00Z"}))]
pub struct SitemapEntry {
    pub slug: String,
    pub kind: Kind,
    /// Its address on the front-end's site (`<loc>`).
    pub canonical_url: String,
    /// When it last changed (`<lastmod>`).
    pub updated_at: Timestamp,
}

impl crate::http::cache::Shows for SitemapEntry {}

static ORDER: [SortOption<SitemapRow>; 1] = [SortOption {
    name: "id",
    column: "articles.id",
    kind: KeyKind::Text,
    key: |row| row.id.to_string(),
}];

/// The sitemap's paging: by cursor only, long pages allowed.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SitemapParams {
    /// Entries per page, 1 to 1,000.
    #[param(minimum = 1, maximum = 1000, default = 1000, example = 1000)]
    per_page: Option<i64>,
    /// The previous page's `meta.next_cursor`; every page costs what the first one does.
    cursor: Option<String>,
}

/// List the sitemap
///
/// Every public article and page: its slug, kind, address on the site and last change, in
/// a stable order, 1,000 a page by default; follow `meta.next_cursor` to the end. For a
/// front-end's `sitemap.xml`.
#[utoipa::path(
    tag = "feeds", operation_id = "list_sitemap",
    params(SitemapParams),
    responses((status = 200, description = "A page of the sitemap", body = ListResponse<SitemapEntry>,
        headers(("Link" = String, description = "RFC 8288 link to the next page"),
                ("X-Total-Count" = i64, description = "Public articles and pages"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/sitemap")]
pub async fn list_sitemap(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Long pages unless asked otherwise.
    let pagination = Pagination::parse_with(req.query_string(), MAX_PER_PAGE, MAX_PER_PAGE)?;
    let sort = pagination.sort(&ORDER, "id")?;
    let after = pagination.cursor(&sort)?.map(|cursor| cursor.id);
    let epoch = state.cache.epoch();
    let mut conn = crate::http::auth::public_conn(&state).await?;
    let rows = page(&mut conn, after, pagination.per_page + 1).await?;
    let list_keys = [crate::changes::Key::Articles];
    let total = match state.cache.count("sitemap", &list_keys) {
        Some(total) => total,
        None => {
            let total = (
                crate::articles::queries::count_public(&mut conn).await?,
                false,
            );
            state.cache.keep_count("sitemap".into(), epoch, total);
            total
        }
    };
    let site = state.site.clone();
    list_response(
        &req,
        &pagination,
        &sort,
        &list_keys,
        Loaded::exact(rows, total.0),
        |row| row.id,
        |row| {
            let page = row.kind == "page";
            SitemapEntry {
                // Public rows are published: their date is the one in the URL.
                canonical_url: site.article_url(
                    page,
                    &row.slug,
                    row.published_at,
                    row.published_at.unwrap_or(row.updated_at),
                ),
                kind: if page { Kind::Page } else { Kind::Article },
                slug: row.slug,
                updated_at: row.updated_at.into(),
            }
        },
    )
}

async fn page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<SitemapRow>> {
    diesel::sql_query(
        "SELECT id, slug, kind, updated_at, published_at FROM articles \
         WHERE status = 'published' AND published_at <= now() \
         AND id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid) \
         ORDER BY id LIMIT $2",
    )
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
