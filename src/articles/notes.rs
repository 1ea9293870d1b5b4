//! `/api/v1/articles/{id_or_slug}/notes`: an article's internal thread, where writers tell
//! editors what to know and editors say why they return a submission. Never public: not in
//! the article, its lists, feeds, caches or public webhooks. Who may read the article's
//! draft reads and adds to it (a contributor or author their own articles').
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Article;
use super::queries;
use crate::db::schema::article_notes;
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::auth::{Actor, Auth, Principal, WRITERS};
use crate::http::body::JsonBody;
use crate::http::pagination::{
    KeyKind, ListResponse, Loaded, PageParams, Pagination, SortOption, list_response, page_of,
    time_key,
};
use crate::state::AppState;

/// The longest note.
pub const MAX_NOTE: usize = 2000;

/// An editorial note as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = article_notes)]
pub struct NoteRow {
    pub id: Uuid,
    pub article_id: Uuid,
    pub body: String,
    pub actor: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// An editorial note.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01932c4e-cccc-7ddd-8eee-0123456789ab", "body": "Sources are in the shared folder.",
    "by": {"kind": "user", "id": "01932c4e-aaaa-7bbb-8ccc-0123456789ab", "name": "Ines Marchetti"},
    "created_at": "2026-12-07T09:30:00Z"
}))]
pub struct NoteResponse {
    pub id: Uuid,
    pub body: String,
    /// Who wrote it.
    pub by: Actor,
    pub created_at: Timestamp,
}

impl NoteResponse {
    fn new(row: NoteRow) -> Self {
        NoteResponse {
            id: row.id,
            body: row.body,
            by: serde_json::from_value(row.actor).unwrap_or(Actor::system("unknown")),
            created_at: row.created_at.into(),
        }
    }
}

impl crate::http::cache::Shows for NoteResponse {}
impl crate::http::response::Versioned for NoteResponse {
    fn version(&self) -> String {
        self.id.to_string()
    }
}

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "The second source confirmed by phone."}))]
pub struct NewNote {
    /// 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
}

static SORTS: [SortOption<NoteRow>; 1] = [SortOption {
    name: "created_at",
    column: "article_notes.created_at",
    kind: KeyKind::Time,
    key: |n| time_key(&n.created_at),
}];

/// Adds a note to the article's thread, as `principal` (inside the caller's transaction),
/// and records it in the activity log. The same note again from the same person (a script
/// run twice) is the one already there.
pub async fn add(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    principal: &Principal,
    body: &str,
) -> Result<NoteRow, ApiError> {
    let actor = serde_json::to_value(&principal.actor).unwrap_or_default();
    let last: Option<NoteRow> = article_notes::table
        .filter(article_notes::article_id.eq(article_id))
        .order((article_notes::created_at.desc(), article_notes::id.desc()))
        .select(NoteRow::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(last) = last.filter(|n| n.body == body && n.actor == actor) {
        return Ok(last);
    }
    let note = diesel::insert_into(article_notes::table)
        .values((
            article_notes::id.eq(Uuid::now_v7()),
            article_notes::article_id.eq(article_id),
            article_notes::body.eq(body),
            article_notes::actor.eq(actor),
        ))
        .returning(NoteRow::as_returning())
        .get_result(conn)
        .await?;
    // Nothing public shows a note: the change touches no answer and tells no subscriber.
    let change = crate::changes::Change::new(
        crate::changes::Subject::Article(article_id),
        crate::changes::Action::Noted,
    );
    crate::changes::record(conn, &principal.actor, change).await?;
    Ok(note)
}

/// The article whose notes the caller may read: editors and admins any, authors and
/// contributors their own author's (another's is answered as absent).
async fn with_notes(
    conn: &mut AsyncPgConnection,
    auth: &Auth,
    key: &str,
) -> Result<(Article, Principal), ApiError> {
    let principal = auth.require(WRITERS)?.clone();
    let article = queries::find(conn, key)
        .await?
        .filter(|a| !principal.role.is_bound() || principal.author_id == Some(a.author_id))
        .ok_or_else(|| ApiError::not_found("article", key))?;
    Ok((article, principal))
}

/// List an article's notes
///
/// Oldest first (`sort=-created_at`: newest first), paged. Editors and admins, and the
/// authors and contributors of the article's byline.
#[utoipa::path(
    tag = "articles", operation_id = "list_notes",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"), PageParams),
    responses((status = 200, description = "A page of notes", body = ListResponse<NoteResponse>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Notes on the article"),
                ("ETag" = String, description = "Strong ETag of this page")))),
    security(("bearer" = []))
)]
#[get("/articles/{id_or_slug}/notes")]
async fn list_notes(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&SORTS, "created_at")?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let (article, _) = with_notes(&mut conn, &auth, &key).await?;
    let query = article_notes::table
        .filter(article_notes::article_id.eq(article.id))
        .select(NoteRow::as_select())
        .into_boxed();
    let rows = page_of(query, &pagination, &sort)?.load(&mut conn).await?;
    let total = article_notes::table
        .filter(article_notes::article_id.eq(article.id))
        .count()
        .get_result(&mut conn)
        .await?;
    list_response(
        &req,
        &pagination,
        &sort,
        &[],
        Loaded::exact(rows, total),
        |n| n.id,
        NoteResponse::new,
    )
}

/// Add a note
///
/// To the article's internal thread, as the caller. Who may list the notes may add one.
#[utoipa::path(
    tag = "articles", operation_id = "create_note",
    params(("id_or_slug" = String, Path, description = "The article's id or slug")),
    request_body = NewNote,
    responses((status = 201, description = "Added", body = NoteResponse)),
    security(("bearer" = []))
)]
#[post("/articles/{id_or_slug}/notes")]
async fn create_note(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    body: JsonBody<NewNote>,
) -> Result<HttpResponse, ApiError> {
    let (new, mut checks) = body.into_parts();
    let text = checks.long_text("body", Some(&new.body), MAX_NOTE);
    if text.is_none() {
        checks.fail("body", "required", "body must not be empty");
    }
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let (article, principal) = with_notes(&mut conn, &auth, &key).await?;
    let text = text.unwrap_or_default();
    let note = conn
        .transaction::<_, ApiError, _>(async |conn| add(conn, article.id, &principal, &text).await)
        .await?;
    Ok(HttpResponse::Created().json(NoteResponse::new(note)))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notes).service(create_note);
}
