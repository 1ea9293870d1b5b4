//! `/api/v1/activity`: who did what, when. Read from the change feed, where every write
//! records its actor in its own transaction (`changes::record`), so nothing changes without
//! a line here. Kept as long as the feed (`changes::RETENTION`).
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::db::schema::changes;
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::auth::{Actor, Auth, STAFF};
use crate::http::pagination::{
    KeyKind, ListResponse, Loaded, PageParams, Pagination, SortOption, list_response, page_of,
};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_activity);
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changes)]
pub struct ActivityRow {
    pub id: i64,
    pub resource: String,
    pub resource_id: Option<Uuid>,
    pub event: String,
    pub actor: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// What a line is about.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"type": "tag", "id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11"}))]
pub struct ActivitySubject {
    /// `article`, `author`, `tag`, `image`, `comment`, `token`, `webhook` or `user`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `null` for several things at once (a bulk moderation).
    #[schema(required = true)]
    pub id: Option<Uuid>,
}

/// One thing someone did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1042, "at": "2026-12-07T02:03:04Z",
    "actor": {"kind": "user", "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Ines Marchetti"},
    "event": "tag.updated",
    "subject": {"type": "tag", "id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11"}
}))]
pub struct ActivityItem {
    /// Its place in the feed (newer is larger).
    pub id: i64,
    pub at: Timestamp,
    /// Who: a person (signed in or through one of their tokens), a token of no one, or lede
    /// itself (`system`: the scheduler, the importer, the command line, the comment form).
    pub actor: Actor,
    /// `<type>.<action>`: `article.created`, `article.updated`, `article.deleted`,
    /// `article.published` (a scheduled one's instant came), `token.revoked`,
    /// `user.disabled`, `user.signed_out`, ...
    pub event: String,
    pub subject: ActivitySubject,
}

impl crate::http::cache::Shows for ActivityItem {}

impl ActivityItem {
    fn new(row: ActivityRow) -> Self {
        ActivityItem {
            id: row.id,
            at: row.created_at.into(),
            // Lines written before actors were recorded.
            actor: row
                .actor
                .and_then(|a| serde_json::from_value(a).ok())
                .unwrap_or(Actor::system("unknown")),
            event: format!("{}.{}", row.resource, row.event),
            subject: ActivitySubject {
                kind: row.resource,
                id: row.resource_id,
            },
        }
    }
}

/// Filters of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Only what this person or token did (its id).
    pub actor: Option<Uuid>,
    /// Only what was done to this thing (an article's, tag's, person's... id).
    pub subject: Option<Uuid>,
    /// Only this kind of line: `<type>.<action>` (`article.updated`) or a type
    /// (`article`).
    #[param(example = "article.updated", pattern = r"^[a-z_]+(\.[a-z_]+)?$")]
    pub event: Option<String>,
    /// `id` or `-id` (default: newest first).
    #[allow(dead_code)]
    #[param(pattern = r"^-?id$")]
    pub sort: Option<String>,
}

static SORTS: [SortOption<ActivityRow>; 1] = [SortOption {
    name: "id",
    column: "changes.id",
    kind: KeyKind::Int,
    key: |row| row.id.to_string(),
}];

/// List activity
///
/// Editors and admins: every change, who made it and when, newest first, paged; filtered by
/// `actor`, `subject` and `event`. Kept for 90 days.
#[utoipa::path(
    tag = "activity", operation_id = "list_activity",
    params(PageParams, ActivityQuery),
    responses((status = 200, description = "A page of activity", body = ListResponse<ActivityItem>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Lines in the (filtered) list"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/activity")]
async fn list_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    pagination: Pagination,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(STAFF)?;
    let sort = pagination.sort(&SORTS, "-id")?;
    let event = match query.event.as_deref() {
        None => None,
        Some(event) => {
            let (resource, action) = match event.split_once('.') {
                Some((resource, action)) => (resource, Some(action)),
                None => (event, None),
            };
            let known = crate::changes::Subject::read(resource, Some(Uuid::nil())).is_some()
                && action.is_none_or(|a| crate::changes::Action::read(a).is_some());
            if !known {
                return Err(ApiError::BadRequest(format!(
                    "query parameter `event` names no kind of activity: `{event}` (e.g. \
                     `article.updated`, `tag`)"
                )));
            }
            Some((resource.to_owned(), action.map(str::to_owned)))
        }
    };
    let filtered = || {
        let mut q = changes::table.into_boxed();
        if let Some(actor) = query.actor {
            q = q.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("changes.actor->>'id' = ")
                    .bind::<diesel::sql_types::Text, _>(actor.to_string()),
            );
        }
        if let Some(subject) = query.subject {
            q = q.filter(changes::resource_id.eq(subject));
        }
        if let Some((resource, action)) = &event {
            q = q.filter(changes::resource.eq(resource.clone()));
            if let Some(action) = action {
                q = q.filter(changes::event.eq(action.clone()));
            }
        }
        q
    };
    let mut conn = crate::db::conn(&state.pool).await?;
    let rows = page_of(
        filtered().select(ActivityRow::as_select()),
        &pagination,
        &sort,
    )?
    .load(&mut conn)
    .await?;
    let total = filtered().count().get_result(&mut conn).await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        Loaded::exact(rows, total),
        |row| Uuid::from_u64_pair(0, row.id as u64),
        ActivityItem::new,
    )
}
