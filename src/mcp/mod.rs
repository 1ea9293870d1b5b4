//! `/mcp`: the agents' face, a Model Context Protocol server (Streamable HTTP, answered
//! with JSON, no session). Its tools are made from the OpenAPI document (`tools`), only
//! those the bearer token's role may call are listed, and each call is the API request it
//! stands for, sent through the same app as the same token (`call`): roles, validation,
//! review rules, the change feed and the activity log are the API's own.
mod answer;
pub mod call;
pub mod protocol;
pub mod tools;
mod upload;

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use self::protocol::{Message, RpcError};
use self::tools::Catalog;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::inner::Inner;
use crate::principal::Principal;
use crate::state::AppState;

pub const PATH: &str = "/mcp";
/// Room in a message for what is around its arguments.
const ENVELOPE_BYTES: usize = 64 * 1024;
const INSTRUCTIONS: &str = "lede's content API as tools, one per API operation, limited to \
what your token's role may do. Lists answer cards, 10 to a page: call again with `cursor` \
(the answer's `meta.next_cursor`) for the next page, and read one article (`find_article`) \
for its body. Most writes that create take `idempotency_key`: retry with the same key and \
nothing is written twice. Changes take `if_match`, the ETag an earlier answer named. A new \
draft's answer carries its preview link. Contributors write drafts and submit them for \
review (`update_article` with status `in_review`); editors publish.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .route(web::post().to(post))
            // No stream for server-initiated messages, and no session to end: the
            // transport's answer for both is 405.
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
                    detail: "the MCP endpoint takes POST only (no event stream, no session)".into(),
                    allow: "POST".into(),
                })
            })),
    );
}

/// The tools of the document this binary serves, made once.
fn catalog(state: &AppState) -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::from_document(&serde_json::to_value(&state.openapi).unwrap_or_default())
    })
}

async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = match auth.principal() {
        Some(principal) if !principal.via_session => principal,
        Some(_) => {
            return Err(ApiError::Unauthorized(
                "agents send a token (`Authorization: Bearer <token>`), not a session cookie"
                    .into(),
            ));
        }
        None => {
            return Err(ApiError::Unauthorized(
                "the MCP endpoint needs a token: send `Authorization: Bearer <token>` (make one \
                 with `lede token create` or POST /api/v1/tokens)"
                    .into(),
            ));
        }
    };
    check_origin(&req, &state)?;
    if let Some(version) = req.headers().get("mcp-protocol-version")
        && !version
            .to_str()
            .is_ok_and(|v| protocol::VERSIONS.contains(&v))
    {
        return Err(ApiError::BadRequest(format!(
            "MCP-Protocol-Version is not one lede speaks ({})",
            protocol::VERSIONS.join(", ")
        )));
    }
    crate::http::body::check_json_type(
        req.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    // As large as any JSON body, unless the token is offered an upload: then an image in
    // base64, its lines wrapped (a sixteenth more) or not.
    let uploads = catalog(&state)
        .for_principal(principal)
        .any(|tool| matches!(tool.body, tools::Body::Upload { .. }));
    let limit = if uploads {
        let encoded = upload::limit(&state).div_ceil(3) * 4;
        (encoded + encoded / 16).max(state.json_limit)
    } else {
        state.json_limit
    } + ENVELOPE_BYTES;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body broke off: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "an MCP message may be at most {limit} bytes for this token's role"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let (id, method, params) = match protocol::parse(&body) {
        Ok(Message::Request { id, method, params }) => (id, method, params),
        Ok(Message::Accepted) => return Ok(HttpResponse::Accepted().finish()),
        // The transport's answer to what cannot be read: 400, with the JSON-RPC error
        // (its field errors in `data`) rather than a problem document.
        Err(error) => {
            let mut response = HttpResponse::BadRequest().json(error);
            response
                .extensions_mut()
                .insert(crate::http::observe::OwnErrorBody);
            return Ok(response);
        }
    };
    let Some(inner) = req.app_data::<Inner>() else {
        return Err(ApiError::Internal("the agents' app is not set up".into()));
    };
    let caller = call::Caller {
        req: &req,
        state: &state,
        inner,
    };
    let answer = match answer(&caller, principal, &method, params).await {
        Ok(result) => protocol::result(id, result),
        Err(error) => protocol::error(id, error),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// The result of one request.
async fn answer(
    caller: &call::Caller<'_>,
    principal: &Principal,
    method: &str,
    mut params: Value,
) -> Result<Value, RpcError> {
    match method {
        "initialize" => Ok(json!({
            "protocolVersion": protocol::negotiate(params["protocolVersion"].as_str()),
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "lede", "title": "lede", "version": env!("CARGO_PKG_VERSION")},
            "instructions": INSTRUCTIONS,
        })),
        "ping" => Ok(json!({})),
        "tools/list" => {
            let tools: Vec<&Value> = catalog(caller.state)
                .for_principal(principal)
                .map(|tool| &tool.listed)
                .collect();
            Ok(json!({"tools": tools}))
        }
        "tools/call" => {
            let name = params["name"].as_str().unwrap_or_default();
            let tool = catalog(caller.state)
                .find(name)
                .filter(|tool| tool.access.admits(principal))
                .ok_or_else(|| {
                    RpcError::new(
                        protocol::INVALID_PARAMS,
                        format!(
                            "Unknown tool: `{name}` (tools/list names those your token may call)"
                        ),
                    )
                    .at(Some("name"), "unknown_tool")
                })?;
            let arguments = match params["arguments"].take() {
                Value::Object(arguments) => arguments,
                Value::Null => Map::new(),
                _ => {
                    return Err(RpcError::new(
                        protocol::INVALID_PARAMS,
                        "`arguments` must be an object",
                    )
                    .at(Some("arguments"), "invalid_type"));
                }
            };
            call::call(caller, tool, arguments).await
        }
        _ => Err(RpcError::new(
            protocol::METHOD_NOT_FOUND,
            format!("lede's MCP server has no method `{method}` (it offers tools)"),
        )),
    }
}

/// A browser's request from another site is refused, as the transport asks of servers
/// against DNS rebinding: an `Origin` must be lede's own or one CORS allows. (With CORS
/// open to all, the default, any is: `/mcp` reads only bearer tokens, never cookies, so a
/// page cannot act as its visitor.)
fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    // lede's own: the scheme, host and port of its public URL (whose path does not count).
    let own = url::Url::parse(&crate::http::base_url(req))
        .map(|base| base.origin().ascii_serialization())
        .unwrap_or_default();
    let allowed = origin == own
        || crate::http::cors_origins(&state.cors_origins)
            .is_none_or(|allowed| allowed.contains(&origin));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "requests from the origin `{}` may not use the MCP endpoint",
            origin.chars().take(200).collect::<String>()
        )))
    }
}
