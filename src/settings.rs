//! `/api/v1/settings`: what an admin sets while lede runs, kept in Postgres so every node
//! reads the same. One so far: whether admins must sign in with a passkey.
use actix_web::{HttpResponse, get, patch, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::changes::{Action, Change, Subject};
use crate::db::schema::{passkeys, settings, users};
use crate::error::ApiError;
use crate::http::auth::{ADMIN, Auth};
use crate::http::body::JsonBody;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(find_settings).service(update_settings);
}

const ADMINS_NEED_PASSKEYS: &str = "admins_need_passkeys";

/// The site's settings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"admins_need_passkeys": false}))]
pub struct Settings {
    /// Admins who have a passkey sign in with it only: their password alone is refused
    /// (403). An admin without one yet still signs in with their password, to add one.
    /// Turned on by an admin who has a passkey.
    pub admins_need_passkeys: bool,
}

/// Changes to the settings: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"admins_need_passkeys": true}))]
pub struct SettingsChanges {
    pub admins_need_passkeys: Option<bool>,
}

/// Whether admins must sign in with a passkey.
pub async fn admins_need_passkeys(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let value: Option<serde_json::Value> = settings::table
        .find(ADMINS_NEED_PASSKEYS)
        .select(settings::value)
        .first(conn)
        .await
        .optional()?;
    Ok(value.and_then(|v| v.as_bool()).unwrap_or(false))
}

async fn current(conn: &mut AsyncPgConnection) -> QueryResult<Settings> {
    Ok(Settings {
        admins_need_passkeys: admins_need_passkeys(conn).await?,
    })
}

/// Get the settings
///
/// Admins.
#[utoipa::path(
    tag = "settings", operation_id = "find_settings",
    responses((status = 200, description = "The settings", body = Settings)),
    security(("bearer" = []))
)]
#[get("/settings")]
async fn find_settings(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let mut conn = crate::db::conn(&state.pool).await?;
    Ok(HttpResponse::Ok().json(current(&mut conn).await?))
}

/// Change the settings
///
/// Admins. Requiring passkeys of admins is turned on by a person who has one themselves
/// (409 otherwise), so the site keeps an admin who can sign in.
#[utoipa::path(
    tag = "settings", operation_id = "update_settings",
    request_body = SettingsChanges,
    responses((status = 200, description = "The settings now", body = Settings),
        (status = 409, description = "Passkeys would be required by someone who has none", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[patch("/settings")]
async fn update_settings(
    state: web::Data<AppState>,
    auth: Auth,
    body: JsonBody<SettingsChanges>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.require(ADMIN)?;
    let (changes, checks) = body.into_parts();
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let settings = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(required) = changes.admins_need_passkeys {
                if required {
                    // The person held: a removal of their last passkey meanwhile waits.
                    let has_one = match principal.actor.user_id() {
                        Some(id) => {
                            users::table
                                .find(id)
                                .select(users::id)
                                .for_update()
                                .first::<uuid::Uuid>(conn)
                                .await?;
                            diesel::select(diesel::dsl::exists(
                                passkeys::table.filter(passkeys::user_id.eq(id)),
                            ))
                            .get_result(conn)
                            .await?
                        }
                        None => false,
                    };
                    if !has_one {
                        return Err(ApiError::Conflict {
                            detail: "add a passkey to your own account first: requiring \
                                     passkeys would otherwise leave no admin who can sign in"
                                .into(),
                            errors: Vec::new(),
                        });
                    }
                }
                diesel::insert_into(settings::table)
                    .values((
                        settings::name.eq(ADMINS_NEED_PASSKEYS),
                        settings::value.eq(serde_json::Value::Bool(required)),
                    ))
                    .on_conflict(settings::name)
                    .do_update()
                    .set((
                        settings::value.eq(serde_json::Value::Bool(required)),
                        settings::updated_at.eq(chrono::Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
                let change = Change::new(Subject::Settings, Action::Updated);
                crate::changes::record(conn, &principal.actor, change).await?;
            }
            Ok(current(conn).await?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
