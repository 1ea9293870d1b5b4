//! The OpenAPI document: paths come from the registered handlers (utoipa-actix-web), then
//! one pass adds what every operation shares (error answers, security), so no handler can
//! forget them.
use actix_web::http::Method;
use utoipa::OpenApi as _;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, OpenApi, Ref, RefOr, Response, Server};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::changes::Event;
use crate::error::{PROBLEM_JSON, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "lede",
        description = "A headless JSON content API: articles, images, authors and comments.\n\n\
            Lists answer `{\"data\": [...], \"meta\": {...}}` with `Link` and `X-Total-Count`; \
            single resources answer the object with a strong `ETag`. Writes need \
            `Authorization: Bearer <token>`. Every error is `application/problem+json`.\n\n\
            HEAD is answered wherever GET is (the same headers, no body). A query parameter an \
            operation does not list is a 400 naming it. Absolute URLs in answers are built \
            from the server's configuration (`LEDE_PUBLIC_URL`), never from a request's `Host`; \
            only a configured trusted proxy may name the host (then each host has its own answers).\n\n\
            **A token**: reads of what is published need none. To write, make one on the server \
            with `lede token create --role editor` (`cargo run --release -- token create --role editor` \
            from a checkout; the first start prints an admin token), or as an admin with \
            `POST /api/v1/tokens`; then press *Authorize* and paste it. \
            **People** sign in with `POST /api/v1/auth/sessions`: its session cookie works on every \
            operation, and a request that changes anything must also send the session's CSRF token \
            as `X-CSRF-Token`. \
            **Errors**: every `type` is explained in the [error catalogue](/docs/errors).",
        license(name = "MIT", identifier = "MIT"),
    ),
    servers((url = "/")),
    components(schemas(
        Problem,
        crate::error::FieldError,
        crate::changes::Changed,
        crate::articles::write::ReviewEvent,
        crate::listing::StatusFilter
    )),
    tags(
        (name = "articles", description = "Stories with their bodies, figures, bylines and tags: public reads of what is published, writes by their authors and editors"),
        (name = "authors", description = "Bylines: public reads, editor writes"),
        (name = "tags", description = "Topics articles are filed under"),
        (name = "images", description = "Uploads with alt text, captions, credits and resized variants; files under /media"),
        (name = "comments", description = "The public \"Leave a reply\" form and threads"),
        (name = "moderation", description = "Comment moderation (editors and admins)"),
        (name = "tokens", description = "API tokens (admins only)"),
        (name = "people", description = "People who sign in: invited by admins, with a role and an optional byline; disabled rather than deleted"),
        (name = "activity", description = "Who did what, when: every change with its actor (editors and admins)"),
        (name = "auth", description = "Accepting an invitation, signing in and out with a session cookie or a passkey, one's password and passkeys, and who is calling"),
        (name = "settings", description = "What admins set while lede runs"),
        (name = "batch", description = "Many reads and writes of articles, tags and authors in one transaction, for scripts"),
        (name = "webhooks", description = "Events delivered to your URLs by the Standard Webhooks specification (admins only)"),
        (name = "feeds", description = "Atom and JSON feeds of the newest articles, and the sitemap's data, pointing at the front-end's site"),
        (name = "system", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

/// Every documented route. Registered through utoipa-actix-web's `service`, so the
/// OpenAPI document is made from exactly what is served.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/api/v1")
            .configure(crate::articles::configure)
            .configure(crate::authors::configure)
            .configure(crate::comments::configure)
            .configure(crate::tags::configure)
            .configure(crate::images::configure)
            .configure(crate::auth::configure)
            .configure(crate::users::configure)
            .configure(crate::activity::configure)
            .configure(crate::settings::configure)
            .configure(crate::webhooks::configure)
            .configure(crate::batch::configure)
            .configure(crate::feeds::configure_api),
    )
    .configure(crate::feeds::configure)
    .service(crate::images::media::get_media)
    .configure(crate::system::configure);
}

/// The full document for the app's routes.
pub fn document() -> OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, paths) = actix_web::App::new()
        .into_utoipa_app()
        .configure(routes)
        .split_for_parts();
    finish(paths)
}

/// Merges the static parts and adds the shared error answers and security scheme.
pub fn finish(paths: OpenApi) -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    doc.servers = Some(vec![Server::new("/")]);
    let components = doc.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token from `lede token create` or POST /api/v1/tokens",
                ))
                .build(),
        ),
    );
    for (name, response) in problem_responses() {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(response));
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let is_api = path.starts_with("/api/v1/");
        let has_path_params = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        for (method, operation) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
        ] {
            if let Some(operation) = operation {
                with_roles(operation);
                let public = takes_optional_token(operation);
                add_error_responses(method.clone(), operation, has_path_params);
                if public {
                    if method == HttpMethod::Get && is_api {
                        add_cache_control(operation);
                    }
                    // Public: no security requirement, so docs show no padlock and generated
                    // clients (openapi-python-client: `bool(security)`) call it without a
                    // token. A token, when sent, is still read (drafts for their authors).
                    operation.security = Some(Vec::new());
                }
            }
        }
    }
    // What utoipa cannot say is written into the document as JSON, then read back.
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    with_list_examples(&mut value);
    with_form_bodies(&mut value);
    let webhooks = with_webhooks(&mut value);
    let Ok(mut doc) = serde_json::from_value::<OpenApi>(value) else {
        return doc;
    };
    // utoipa has no `webhooks` field: it goes beside the document's fields.
    doc.extensions
        .get_or_insert_with(Default::default)
        .insert("webhooks".to_owned(), webhooks);
    doc
}

/// `x-roles`: the roles whose tokens may call an operation (`access::of`), so the docs,
/// and the agents' tools made from the document, say who may.
fn with_roles(operation: &mut utoipa::openapi::path::Operation) {
    let Some(access) = operation
        .operation_id
        .as_deref()
        .and_then(crate::access::of)
    else {
        return;
    };
    let roles: Vec<&str> = access.roles().iter().map(|role| role.as_str()).collect();
    if !roles.is_empty() {
        operation
            .extensions
            .get_or_insert_with(Default::default)
            .insert("x-roles".to_owned(), serde_json::json!(roles));
    }
}

/// What a receiver gets of each event: its description and the schema of its `data`.
fn payload_of(event: Event) -> (&'static str, &'static str) {
    match event {
        Event::ArticlePublished => (
            "An article became public (a scheduled one at its instant, with no request made).",
            "ArticleResponse",
        ),
        Event::ArticleUpdated => (
            "A public article changed (its text, tags, author, an image in it); `changes` says what.",
            "ArticleResponse",
        ),
        Event::ArticleUnpublished => (
            "A public article went back to draft or was rescheduled: named, no longer shown.",
            "ArticleRef",
        ),
        Event::ArticleDeleted => ("A public article was deleted.", "ArticleRef"),
        Event::ArticleSubmitted => (
            "A draft was submitted for review (`status: in_review`), with its writer's note: for the editors' tools.",
            "ReviewEvent",
        ),
        Event::ArticleReturned => (
            "An editor returned a submission to its writer (back to `draft`), with the editor's note.",
            "ReviewEvent",
        ),
        Event::CommentCreated => (
            "A comment waits for moderation (for moderators' tools; never the email).",
            "PublicComment",
        ),
        Event::CommentApproved => ("A comment became public.", "PublicComment"),
        Event::ImageUpdated => (
            "An image changed (its text, focal point or variants).",
            "ImageResponse",
        ),
        Event::AuthorUpdated => (
            "An author changed, as the public API shows it.",
            "AuthorResponse",
        ),
        Event::TagUpdated => ("A tag changed, as the public API shows it.", "TagResponse"),
    }
}

/// The document's `webhooks` (OpenAPI 3.1): each event a subscriber may receive, with its
/// payload's schema (`{type, timestamp, data, changes}`) and the Standard Webhooks headers,
/// so a generated client types a receiver: the section, its schemas added to `doc`'s.
fn with_webhooks(doc: &mut serde_json::Value) -> serde_json::Value {
    use strum::IntoEnumIterator;
    let mut events: Vec<(String, &str, &str)> = Event::iter()
        .map(|event| {
            let (description, data) = payload_of(event);
            (event.name().to_owned(), description, data)
        })
        .collect();
    events.push((
        crate::webhooks::model::PING.to_owned(),
        "`POST /api/v1/webhooks/{id}/ping` was called: a test delivery.",
        "WebhookPing",
    ));
    let schemas = &mut doc["components"]["schemas"];
    schemas["ArticleRef"] = serde_json::json!({
        "type": "object",
        "description": "What names an article that can no longer be shown.",
        "required": ["id", "slug"],
        "properties": {"id": {"type": "string", "format": "uuid"}, "slug": {"type": "string"}},
        "example": {"id": "0192f0c1-6a4e-7cc2-9a51-3f1e2d4c5b6a", "slug": "the-last-night-tram"}
    });
    schemas["WebhookPing"] = serde_json::json!({
        "type": "object",
        "description": "The endpoint a ping was sent to.",
        "required": ["webhook_id", "url"],
        "properties": {
            "webhook_id": {"type": "string", "format": "uuid"},
            "url": {"type": "string", "format": "uri"}
        },
        "example": {"webhook_id": "0192f0c1-6a4e-7cc2-9a51-3f1e2d4c5b6b",
            "url": "https://www.example.com/api/revalidate"}
    });
    let header = |name: &str, description: &str| {
        serde_json::json!({"name": name, "in": "header", "required": true,
            "description": description, "schema": {"type": "string"}})
    };
    let mut webhooks = serde_json::Map::new();
    for (name, description, data) in events {
        let schema = format!(
            "{}Event",
            name.split(['.', '_'])
                .map(|word| {
                    let mut chars = word.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_uppercase().chain(chars).collect()
                    })
                })
                .collect::<String>()
        );
        let mut properties = serde_json::json!({
            "type": {"type": "string", "enum": [name]},
            "timestamp": {"$ref": "#/components/schemas/Timestamp"},
            "data": {"$ref": format!("#/components/schemas/{data}")}
        });
        let mut example = serde_json::json!({"type": name, "timestamp": "2025-10-28T09:30:00Z",
            "data": schemas[data]["example"]});
        if name.starts_with("article.") {
            properties["changes"] = serde_json::json!({"$ref": "#/components/schemas/Changed"});
        }
        if name == Event::ArticleUpdated.name() {
            example["changes"] = schemas["Changed"]["example"].clone();
        }
        schemas[&schema] = serde_json::json!({
            "type": "object",
            "description": format!("The `{name}` event. {description}"),
            "required": ["type", "timestamp", "data"],
            "properties": properties,
            "example": example
        });
        webhooks.insert(name.clone(), serde_json::json!({"post": {
            "operationId": format!("on_{}", name.replace('.', "_")),
            "summary": name,
            "description": description,
            "tags": ["webhooks"],
            // Not a bearer token: the receiver checks the signature with the secret.
            "security": [],
            "parameters": [
                header("webhook-id", "The message's id: the same on every retry of one event (deduplicate by it)."),
                header("webhook-timestamp", "When it was sent, in Unix seconds."),
                header("webhook-signature", "`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">` under the secret; two during a rotation, space-separated."),
            ],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
            "responses": {
                "200": {"description": "Received: any 2xx within 10 s is success"},
                "4XX": {"description": "Refused (a bad signature, say): retried with backoff for about 3 days"}
            }
        }}));
    }
    serde_json::Value::Object(webhooks)
}

/// A body taken as JSON or as an HTML form names one schema per form: `X` for JSON and
/// `XForm` for the form (the same fields, as a form sends them), so a generated client
/// tells the two apart (openapi-python-client sends whichever class it is given). Such a
/// body is marked not required: openapi-python-client 0.29 writes an unimported `Unset`
/// into a module whose required body has two types (its issue #1451), and a request
/// without a body is answered 415 anyway.
fn with_form_bodies(doc: &mut serde_json::Value) {
    const FORM: &str = "application/x-www-form-urlencoded";
    let mut forms = Vec::new();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let body = &mut operation["requestBody"];
            let Some(name) = body["content"][FORM]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned)
            else {
                continue;
            };
            let form = format!("{name}Form");
            body["content"][FORM]["schema"]["$ref"] =
                serde_json::json!(format!("#/components/schemas/{form}"));
            body["required"] = serde_json::json!(false);
            body["description"] = serde_json::json!(
                "Required: JSON (`application/json`) or an HTML form's fields \
                 (`application/x-www-form-urlencoded`)."
            );
            forms.push((name, form));
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    for (name, form) in forms {
        let mut schema = schemas[&name].clone();
        let description = schema["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        schema["description"] = serde_json::json!(format!(
            "{description}\n\nAs an HTML form sends it (`application/x-www-form-urlencoded`): \
             the same fields, as text; a blank one counts as absent."
        ));
        schemas[form] = schema;
    }
}

/// A schema whose list items are cards: the card's name, the fields a list item leaves
/// out unless the list is asked to include them, those only one thing's answer has (of
/// which some always), and those only a list item has (sometimes).
struct Cards {
    single: &'static str,
    card: &'static str,
    left_out: &'static [&'static str],
    single_only: &'static [&'static str],
    single_required: &'static [&'static str],
    list_only: &'static [&'static str],
}

const CARDS: &[Cards] = &[Cards {
    single: "ArticleResponse",
    card: "ArticleCard",
    left_out: &["body_markdown", "body_html"],
    single_only: &["previous", "next", "removed"],
    single_required: &["previous", "next"],
    list_only: &["snippet"],
}];

/// Finishes the generic `ListResponse<T>` schemas: their items are `T`, every field a plain
/// list returns required (so a generated client sees `data[0].title` as a string), except
/// those a list leaves out by default (`ArticleCard`: no body without `include=body`). The
/// example is assembled from `T`'s and `ListMeta`'s.
fn with_list_examples(doc: &mut serde_json::Value) {
    let schemas = &mut doc["components"]["schemas"];
    let meta = schemas["ListMeta"]["example"].clone();
    let names: Vec<String> = schemas
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| k.starts_with("ListResponse_"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for name in names {
        let item = name.trim_start_matches("ListResponse_").to_owned();
        let mut example = schemas[&item]["example"].clone();
        if let Some(cards) = CARDS.iter().find(|c| c.single == item) {
            let (listed, left_out) = (cards.card, cards.left_out);
            let mut card = schemas[&item].clone();
            if let Some(required) = card["required"].as_array_mut() {
                required.retain(|f| !left_out.iter().any(|l| f == l));
            }
            if let Some(example) = example.as_object_mut() {
                example.retain(|k, _| {
                    !left_out.contains(&k.as_str()) && !cards.single_only.contains(&k.as_str())
                });
            }
            for field in cards.single_only {
                if let Some(properties) = card["properties"].as_object_mut() {
                    properties.remove(*field);
                }
            }
            if let Some(required) = schemas[&item]["required"].as_array_mut() {
                required.extend(cards.single_required.iter().map(|f| serde_json::json!(f)));
            }
            for field in cards.list_only {
                if let Some(properties) = schemas[&item]["properties"].as_object_mut() {
                    properties.remove(*field);
                }
            }
            card["example"] = example.clone();
            let description = card["description"].as_str().unwrap_or_default().to_owned();
            card["description"] = serde_json::Value::String(format!(
                "{description}\n\nAs a list item (a card): without {} unless the list is asked to `include` them.",
                left_out.join(" and ")
            ));
            schemas[listed] = card;
            schemas[&name]["properties"]["data"]["items"] =
                serde_json::json!({"$ref": format!("#/components/schemas/{listed}")});
        } else if schemas.get(&item).is_some() {
            // Items by reference, never inlined: one schema a client names.
            schemas[&name]["properties"]["data"]["items"] =
                serde_json::json!({"$ref": format!("#/components/schemas/{item}")});
        }
        schemas[&name]["example"] = serde_json::json!({"data": [example], "meta": meta});
    }
}

/// Whether a handler declared its token optional (`security((), ("bearer" = []))`).
fn takes_optional_token(operation: &Operation) -> bool {
    operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        })
    })
}

/// Public reads say how long they may be kept.
fn add_cache_control(operation: &mut Operation) {
    if matches!(
        operation.operation_id.as_deref(),
        Some("get_media" | "get_avatar")
    ) {
        return;
    }
    if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") {
        for (name, description) in [
            (
                "Cache-Control",
                "For answers without a token: `public, max-age=10, stale-while-revalidate=60` (configurable)",
            ),
            (
                "Vary",
                "`Accept-Encoding`: public answers differ only by the compression asked for",
            ),
            (
                "Surrogate-Key",
                "For answers without a token: what the answer shows, space-separated (`article:<id> byline:<author id> tag:<id>`; a list: `articles article:<id> ...`), for a CDN to purge by when lede records a change with those keys",
            ),
        ] {
            ok.headers.insert(
                name.to_owned(),
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(description))
                    .build(),
            );
        }
    }
}

/// The error answers an operation can give, from what it takes: every one can meet a bad
/// parameter (400) and an unreachable database (503); one with a token can meet 401/403;
/// one with a path parameter 404; one with a body 413/415/422; writes 409/412.
fn add_error_responses(method: HttpMethod, operation: &mut Operation, has_path_params: bool) {
    let needs_token = operation.security.as_ref().is_some_and(|requirements| {
        !requirements.is_empty()
            && requirements.iter().all(|r| {
                serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
            })
    });
    let takes_token = operation.security.is_some();
    let has_param_in_path = has_path_params
        || operation.parameters.as_ref().is_some_and(|ps| {
            ps.iter()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path))
        });
    let has_body = operation.request_body.is_some();
    let is_write = matches!(
        method,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
    );
    let mut add = |status: &str, name: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    add("400", "BadRequest");
    if takes_token {
        add("401", "Unauthorized");
    }
    if needs_token {
        add("403", "Forbidden");
    }
    if has_param_in_path {
        add("404", "NotFound");
    }
    // A delete conflicts too: an author with articles, an image an article shows.
    if is_write {
        add("409", "Conflict");
    }
    if matches!(
        method,
        HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
    ) && has_param_in_path
    {
        add("412", "PreconditionFailed");
    }
    if has_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
        add("422", "ValidationFailed");
    } else if method == HttpMethod::Post {
        add("422", "ValidationFailed");
    }
    add("503", "Unavailable");
}

fn problem_responses() -> Vec<(&'static str, Response)> {
    let problem = |description: &str, example: serde_json::Value| {
        ResponseBuilder::new().description(description).content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
    };
    let example = |kind: &str, title: &str, status: u16, detail: &str| {
        serde_json::json!({
            "type": format!("https://api.example.com/docs/errors#{kind}"),
            "title": title, "status": status, "detail": detail,
            "instance": "/api/v1/authors/ada-okafor",
            "request_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11", "errors": []
        })
    };
    vec![
        ("BadRequest", problem("Malformed JSON, or a bad query or path parameter",
            example("bad-request", "Bad request", 400, "query parameter `per_page` must be a whole number from 1 to 100")).build()),
        ("Unauthorized", problem("No token, or one that is unknown or revoked",
            example("unauthorized", "Authentication required", 401, "this request needs a token: send `Authorization: Bearer <token>`"))
            .header("WWW-Authenticate", HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String)).description(Some("`Bearer`")).build())
            .build()),
        ("Forbidden", problem("The token's role may not do this",
            example("forbidden", "Not allowed", 403, "a token with role `author` may not do this (allowed: admin, editor)")).build()),
        ("NotFound", problem("No such resource",
            example("not-found", "Not found", 404, "no author with id or slug `ada-okafor`")).build()),
        ("Conflict", problem("A unique field (slug, email) is taken",
            serde_json::json!({
                "type": "https://api.example.com/docs/errors#conflict", "title": "Conflict", "status": 409,
                "detail": "this slug is already taken", "instance": "/api/v1/authors",
                "request_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11",
                "errors": [{"field": "slug", "code": "taken", "message": "this slug is already taken"}]
            })).build()),
        ("PreconditionFailed", problem("`If-Match` no longer matches; nothing was changed",
            example("precondition-failed", "Precondition failed", 412, "the resource changed since it was read (If-Match does not match its ETag)")).build()),
        ("PayloadTooLarge", problem("The body is over the size limit",
            example("payload-too-large", "Request body too large", 413, "the request body is larger than 1048576 bytes")).build()),
        ("UnsupportedMediaType", problem("The body is not sent as JSON",
            example("unsupported-media-type", "Unsupported media type", 415, "send the body as application/json, not `text/plain`")).build()),
        ("ValidationFailed", problem("Fields are missing, unknown or invalid; each is named",
            serde_json::json!({
                "type": "https://api.example.com/docs/errors#validation", "title": "Validation failed", "status": 422,
                "detail": "2 fields are invalid", "instance": "/api/v1/authors",
                "request_id": "01932c4e-8f0a-7cc2-b1d6-4a4c1f0e9a11",
                "errors": [
                    {"field": "name", "code": "required", "message": "name must not be empty"},
                    {"field": "website", "code": "invalid_url", "message": "website must be an absolute http or https URL"}
                ]
            })).build()),
        ("Unavailable", problem("The database is unreachable; retry after the given seconds",
            example("unavailable", "Service unavailable", 503, "the database is unreachable; try again shortly"))
            .header("Retry-After", HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::Integer)).description(Some("Seconds to wait before retrying")).build())
            .build()),
    ]
}

/// Methods of a path, each with the names of the query parameters it takes.
pub use crate::route_table::Operations;

/// Each path of the document (actix pattern syntax) with the methods it answers, for
/// telling 405 from 404 and refusing unknown query parameters.
pub fn route_table(doc: &OpenApi) -> Vec<(String, Operations)> {
    doc.paths
        .paths
        .iter()
        .map(|(path, item)| {
            let methods = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ]
            .into_iter()
            .filter_map(|(method, operation)| {
                let operation = operation.as_ref()?;
                let query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .filter(|p| p.parameter_in == ParameterIn::Query)
                    .map(|p| p.name.clone())
                    .collect();
                Some((method, query))
            })
            .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// `/docs/errors`: what each problem `type` means (the URLs errors point to).
/// `/docs/`: Swagger UI's page (its files are served beside it), titled and introduced as
/// lede's: how to get a token, and where the errors are explained.
pub const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>lede API docs</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="index.css">
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <header class="swagger-ui">
      <nav class="wrapper" aria-label="About these docs">
        <p><strong>lede</strong>: the API of this site's articles, images, authors and comments.
          Reads of what is published need no token; to write, make one with
          <code>lede token create --role editor</code> (or <code>POST /api/v1/tokens</code> as an
          admin) and press <em>Authorize</em>.
          <a href="/docs/errors">Error catalogue</a> &middot; <a href="/openapi.json">openapi.json</a></p>
      </nav>
    </header>
    <main id="swagger-ui"></main>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"#;

pub const ERRORS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lede: error types</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}dt{font-weight:600;margin-top:1em}</style>
</head><body>
<h1>Error types</h1>
<p>Every error is <code>application/problem+json</code> (RFC 9457) with <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, <code>instance</code>, <code>request_id</code> and <code>errors</code>. The <code>type</code> URL points to one of these.</p>
<dl>
<dt id="bad-request">bad-request (400)</dt><dd>Malformed JSON, an empty body, or a bad query or path parameter (e.g. <code>per_page=500</code>, a bad <code>cursor</code>).</dd>
<dt id="unauthorized">unauthorized (401)</dt><dd>The route needs a token, or the token sent is unknown or revoked. Send <code>Authorization: Bearer &lt;token&gt;</code>.</dd>
<dt id="forbidden">forbidden (403)</dt><dd>The token's role may not do this.</dd>
<dt id="not-found">not-found (404)</dt><dd>No such resource or route.</dd>
<dt id="method-not-allowed">method-not-allowed (405)</dt><dd>The route exists but not with this method; <code>Allow</code> lists the ones it takes.</dd>
<dt id="conflict">conflict (409)</dt><dd>A unique field such as <code>slug</code> is taken; <code>errors</code> names it.</dd>
<dt id="precondition-failed">precondition-failed (412)</dt><dd><code>If-Match</code> no longer matches the resource's <code>ETag</code>: someone changed it since you read it. Nothing was changed.</dd>
<dt id="payload-too-large">payload-too-large (413)</dt><dd>The body is over the configured limit.</dd>
<dt id="range-not-satisfiable">range-not-satisfiable (416)</dt><dd>The <code>Range</code> asked for lies outside the file; <code>Content-Range</code> gives its size.</dd>
<dt id="unsupported-media-type">unsupported-media-type (415)</dt><dd>Send bodies as <code>application/json</code> (or <code>application/merge-patch+json</code> for PATCH).</dd>
<dt id="validation">validation (422)</dt><dd>Fields are missing, unknown or invalid. <code>errors</code> lists each with <code>field</code>, <code>code</code> and <code>message</code>.</dd>
<dt id="rate-limited">rate-limited (429)</dt><dd>Too many comments from this address or email in a short time; retry after <code>Retry-After</code> seconds.</dd>
<dt id="unavailable">unavailable (503)</dt><dd>The database is out of reach, or the server is at capacity for the work the request needs (rendering long bodies, decoding images). Retry after <code>Retry-After</code> seconds; the service recovers by itself.</dd>
<dt id="internal">internal (500)</dt><dd>A bug. Quote the <code>request_id</code> when reporting it.</dd>
</dl></body></html>"#;
