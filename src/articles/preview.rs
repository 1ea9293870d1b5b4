//! Preview links: an editor shares a URL that shows one draft (or scheduled) article as
//! readers will see it, with no token of theirs in the browser. A link's token is its row's
//! id, the article's id and the expiry, signed (HMAC-SHA256) with a server secret kept in
//! the database; the row is what revoking deletes. `lede secrets rotate` replaces the secret,
//! which ends every link at once.
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{queries, view_one};
use crate::db::schema::{lede_meta, preview_links};
use crate::error::ApiError;
use crate::http::Timestamp;
use crate::http::auth::{Auth, WRITERS};
use crate::http::base_url;
use crate::http::body::OptionalJsonBody;
use crate::state::AppState;

const SECRET_KEY: &str = "preview_secret";
const DEFAULT_SECONDS: i64 = 3600;
const MAX_SECONDS: i64 = 7 * 24 * 3600;
/// Link id, article id, expiry (Unix seconds, big-endian).
const PAYLOAD_BYTES: usize = 16 + 16 + 8;

/// How long the link works.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_in_seconds": 3600}))]
pub struct NewPreviewLink {
    /// Seconds from now, 60 to 604,800 (7 days); 3,600 when absent.
    #[schema(minimum = 60, maximum = 604800, default = 3600)]
    pub expires_in_seconds: Option<i64>,
}

/// A preview link: open `url`, or fetch `GET /api/v1/preview/{token}` from the front-end.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://api.example.com/api/v1/preview/AZMsTszMd92O7gEjRWeJqwGTLE7MzH3djuABI0VniaoAAAAAZ0xZ8A.k3cR2cZ2m4m0c0R9gSx8cX0p9y3hC9zG0nB2tJ8mYqE",
    "token": "AZMsTszMd92O7gEjRWeJqwGTLE7MzH3djuABI0VniaoAAAAAZ0xZ8A.k3cR2cZ2m4m0c0R9gSx8cX0p9y3hC9zG0nB2tJ8mYqE",
    "expires_at": "2025-10-28T10:30:00Z"
}))]
pub struct PreviewLink {
    /// The front-end's draft-mode route with the token (`LEDE_PREVIEW_PATH`), or else this
    /// API's preview of it.
    pub url: String,
    /// Shows the one article it was made for until `expires_at`, or until the article's
    /// links are revoked or the server secret is rotated.
    pub token: String,
    pub expires_at: Timestamp,
}

type HmacSha256 = Hmac<Sha256>;

/// The preview secret, read on every use: a rotation (from the command line, on any node)
/// takes effect at once everywhere.
async fn secret(conn: &mut AsyncPgConnection) -> Result<Vec<u8>, ApiError> {
    crate::db::server_secret(conn, SECRET_KEY)
        .await
        .map_err(|e| ApiError::Internal(format!("the preview secret: {e}")))
}

/// Replaces the preview secret: every preview link made before stops working.
pub async fn rotate_secret(conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
    let fresh: [u8; 32] = rand::random();
    diesel::insert_into(lede_meta::table)
        .values((
            lede_meta::key.eq(SECRET_KEY),
            lede_meta::value.eq(hex::encode(fresh)),
        ))
        .on_conflict(lede_meta::key)
        .do_update()
        .set(lede_meta::value.eq(hex::encode(fresh)))
        .execute(conn)
        .await?;
    diesel::delete(preview_links::table).execute(conn).await?;
    Ok(())
}

fn mac(secret: &[u8], payload: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(payload);
    Some(mac)
}

fn sign(secret: &[u8], link: Uuid, article: Uuid, expires_at: DateTime<Utc>) -> Option<String> {
    let mut payload = Vec::with_capacity(PAYLOAD_BYTES);
    payload.extend_from_slice(link.as_bytes());
    payload.extend_from_slice(article.as_bytes());
    payload.extend_from_slice(&expires_at.timestamp().to_be_bytes());
    let signature = mac(secret, &payload)?.finalize().into_bytes();
    Some(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// A token's payload and signature, when it has a token's shape (checked before anything
/// is read from the database: no query for what cannot be a token).
fn parts(token: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let (payload, signature) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    (payload.len() == PAYLOAD_BYTES && signature.len() == 32).then_some((payload, signature))
}

/// The link id, article id and expiry a token's parts carry, if the signature is the
/// secret's (compared in constant time).
fn verify(secret: &[u8], (payload, signature): &(Vec<u8>, Vec<u8>)) -> Option<(Uuid, Uuid, i64)> {
    mac(secret, payload)?.verify_slice(signature).ok()?;
    let link = Uuid::from_slice(&payload[..16]).ok()?;
    let article = Uuid::from_slice(&payload[16..32]).ok()?;
    let expires = i64::from_be_bytes(payload[32..].try_into().ok()?);
    Some((link, article, expires))
}

/// Make a preview link
///
/// A signed link that shows this article (a draft or scheduled one included) as readers
/// will see it, without a token in the browser. The article's own author, editors and
/// admins.
#[utoipa::path(
    tag = "articles", operation_id = "create_preview_link",
    params(("id_or_slug" = String, Path, description = "The article's id or slug", example = "the-last-night-tram")),
    request_body(content = NewPreviewLink, description = "Optional: how long the link works"),
    responses((status = 201, description = "The link", body = PreviewLink,
        headers(("Location" = String, description = "This API's preview of the article")))),
    security(("bearer" = []))
)]
#[post("/articles/{id_or_slug}/preview-links")]
pub async fn create_preview_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    body: OptionalJsonBody<NewPreviewLink>,
) -> Result<HttpResponse, ApiError> {
    // Who asks before what: a stranger learns nothing from the body's checks.
    auth.require(WRITERS)?;
    let (new, mut checks) = body.into_parts();
    let seconds = new.expires_in_seconds.unwrap_or(DEFAULT_SECONDS);
    if !(60..=MAX_SECONDS).contains(&seconds) {
        checks.fail(
            "expires_in_seconds",
            "out_of_range",
            format!("expires_in_seconds must be from 60 to {MAX_SECONDS} (7 days)"),
        );
    }
    checks.finish()?;
    let mut conn = crate::db::conn(&state.pool).await?;
    let article = super::writable(&mut conn, &auth, &key).await?;
    let secret = secret(&mut conn).await?;
    // To the second, as the token carries it.
    let expires_at = DateTime::from_timestamp(Utc::now().timestamp() + seconds, 0)
        .ok_or_else(|| ApiError::Internal("expiry out of range".into()))?;
    let link = Uuid::now_v7();
    diesel::insert_into(preview_links::table)
        .values((
            preview_links::id.eq(link),
            preview_links::article_id.eq(article.id),
            preview_links::expires_at.eq(expires_at),
            preview_links::created_by.eq(auth.principal().map(|p| p.token_id)),
        ))
        .execute(&mut conn)
        .await?;
    // Links long expired are of no use to anyone: cleared as new ones are made.
    diesel::delete(preview_links::table)
        .filter(preview_links::expires_at.lt(Utc::now() - Duration::days(1)))
        .execute(&mut conn)
        .await?;
    let token = sign(&secret, link, article.id, expires_at)
        .ok_or_else(|| ApiError::Internal("the preview secret cannot sign".into()))?;
    let api_url = format!("{}/api/v1/preview/{token}", base_url(&req));
    let view = PreviewLink {
        url: state
            .site
            .preview_url(&token, &article.slug)
            .unwrap_or_else(|| api_url.clone()),
        token,
        expires_at: expires_at.into(),
    };
    let mut response = HttpResponse::Created();
    response
        .insert_header((header::LOCATION, api_url))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(response.json(view))
}

/// Revoke an article's preview links
///
/// Every link made for this article stops working at once. The article's own author,
/// editors and admins.
#[utoipa::path(
    tag = "articles", operation_id = "revoke_preview_links",
    params(("id_or_slug" = String, Path, description = "The article's id or slug", example = "the-last-night-tram")),
    responses((status = 204, description = "Revoked (also when there were none)")),
    security(("bearer" = []))
)]
#[delete("/articles/{id_or_slug}/preview-links")]
pub async fn revoke_preview_links(
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = crate::db::conn(&state.pool).await?;
    let article = super::writable(&mut conn, &auth, &key).await?;
    diesel::delete(preview_links::table)
        .filter(preview_links::article_id.eq(article.id))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview an article
///
/// The one article a preview link was made for, as the public API will show it (a draft or
/// scheduled one included), with `Cache-Control: no-store` and `X-Robots-Tag: noindex`.
/// An expired, revoked or altered token is 404 (also `no-store`: it may work tomorrow for
/// no one, and must not be kept for anyone). No token needed: the link is the credential;
/// revoking the API token that made it ends it too.
#[utoipa::path(
    tag = "articles", operation_id = "preview_article",
    params(("token" = String, Path, description = "The `token` of a preview link")),
    responses((status = 200, description = "The article", body = super::model::ArticleResponse,
        headers(("Cache-Control" = String, description = "`no-store`: never kept by a browser or CDN"),
                ("X-Robots-Tag" = String, description = "`noindex`")))),
    security(())
)]
#[get("/preview/{token}")]
pub async fn preview_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Its every answer, errors included, is marked private on the way out
    // (`http::observe`): no-store, noindex, no-referrer.
    let gone = || ApiError::NotFound("no preview for this link (it may have expired)".into());
    let parts = parts(&token).ok_or_else(gone)?;
    // The primary: a link made a moment ago works at once.
    let mut conn = crate::db::conn(&state.pool).await?;
    let secret = secret(&mut conn).await?;
    let (link, article_id, expires) = verify(&secret, &parts).ok_or_else(gone)?;
    if expires <= Utc::now().timestamp() {
        return Err(gone());
    }
    let live: i64 = preview_links::table
        .filter(preview_links::id.eq(link))
        .filter(preview_links::article_id.eq(article_id))
        .filter(preview_links::expires_at.gt(diesel::dsl::now))
        .count()
        .get_result(&mut conn)
        .await?;
    if live == 0 {
        return Err(gone());
    }
    let article = queries::find(&mut conn, &article_id.to_string())
        .await?
        .ok_or_else(gone)?;
    let urls = crate::http::media_urls(&req);
    let view = view_one(&mut conn, article, &urls, &state.site).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_under_their_secret() {
        let secret = [7u8; 32];
        let (link, article) = (Uuid::now_v7(), Uuid::now_v7());
        let at = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let token = sign(&secret, link, article, at).unwrap();
        let check = |secret: &[u8], token: &str| verify(secret, &parts(token)?);
        assert_eq!(
            check(&secret, &token),
            Some((link, article, at.timestamp()))
        );
        assert_eq!(check(&[8u8; 32], &token), None);
        let (payload, signature) = token.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[39] ^= 1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(check(&secret, &forged), None);
        assert_eq!(check(&secret, payload), None);
        assert_eq!(check(&secret, "not.base64!"), None);
        assert_eq!(check(&secret, &format!("{token}A")), None);
    }
}
