//! The agents' tools, made from the OpenAPI document: one per documented operation under
//! `/api/v1` that a token may call (`access::of`) and that answers JSON. Its name is the
//! `operationId`, its description the summary and description, its input schema the
//! operation's parameters and body as the document has them (with the schemas they refer to
//! in `$defs`). Nothing here names an operation: a new one is a new tool.
use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::Method;
use serde_json::{Map, Value, json};

use crate::access::{self, Access};
use crate::principal::Principal;

/// How many items a list tool answers when the agent does not say: a page of cards that
/// stays well inside an agent's answer limit (`call::MAX_ANSWER_BYTES`).
pub const AGENT_PAGE: u64 = 10;
/// Where the document keeps its schemas, and where a tool's input schema keeps them.
const COMPONENTS: &str = "#/components/schemas/";
/// An upload's file, in one of two arguments.
pub const FILE_BASE64: &str = "file_base64";
pub const FILE_URL: &str = "file_url";
const DEFS: &str = "#/$defs/";

/// Where an argument goes in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
    /// A header, by its name (`If-Match`, `Idempotency-Key`).
    Header(String),
}

#[derive(Debug, Clone)]
pub struct Argument {
    pub name: String,
    pub place: Place,
    pub required: bool,
}

/// What a tool sends as the request's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    /// The `body` argument, as JSON of this content type.
    Json {
        content_type: String,
        required: bool,
    },
    /// A file upload (`multipart/form-data`): the file from `file_base64` or `file_url`,
    /// with the form's other fields as arguments of their own.
    Upload {
        fields: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub method: Method,
    /// The path template, `{name}` for each path argument.
    pub path: String,
    pub arguments: Vec<Argument>,
    pub body: Body,
    pub access: Access,
    /// Writes an article and answers it: a draft's answer gains its preview link.
    pub writes_article: bool,
    /// The tool as `tools/list` shows it.
    pub listed: Value,
}

pub struct Catalog {
    tools: Vec<Tool>,
}

impl Catalog {
    /// The tools of a document (as JSON).
    pub fn from_document(doc: &Value) -> Catalog {
        let schemas = &doc["components"]["schemas"];
        let mut tools = Vec::new();
        let Some(paths) = doc["paths"].as_object() else {
            return Catalog { tools };
        };
        for (path, item) in paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                if let Some(tool) = tool(path, method, operation, schemas) {
                    tools.push(tool);
                }
            }
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog { tools }
    }

    /// The tools `principal` may call.
    pub fn for_principal<'a>(&'a self, principal: &'a Principal) -> impl Iterator<Item = &'a Tool> {
        self.tools
            .iter()
            .filter(|tool| tool.access.admits(principal))
    }

    pub fn find(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|tool| tool.name == name)
    }
}

/// The tool of one operation, if it is one: under a token's reach, answering JSON.
fn tool(path: &str, method: Method, operation: &Value, schemas: &Value) -> Option<Tool> {
    let name = operation["operationId"].as_str()?.to_owned();
    // An operation the access table does not know yet is a tool only when the document says
    // it needs no token (`access` tests refuse such a gap).
    let access = access::of(&name).or_else(|| {
        (operation["security"].as_array().is_some_and(Vec::is_empty)).then_some(Access::Public)
    })?;
    if matches!(access, Access::Browser | Access::Open) || !answers_json(operation) {
        return None;
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut arguments = Vec::new();
    let mut refs = BTreeSet::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let Some(wire) = parameter["name"].as_str() else {
            continue;
        };
        let (argument, place, description) = match (parameter["in"].as_str(), wire) {
            (Some("path"), _) => (wire.to_owned(), Place::Path, None),
            (Some("query"), _) => (wire.to_owned(), Place::Query, None),
            (Some("header"), "If-Match") => (
                "if_match".to_owned(),
                Place::Header(wire.to_owned()),
                Some(
                    "The ETag of the copy this change is based on (the text of an earlier answer names it): refused with 412 when it changed since",
                ),
            ),
            (Some("header"), "Idempotency-Key") => (
                "idempotency_key".to_owned(),
                Place::Header(wire.to_owned()),
                Some(
                    "Any unique string: calling again with the same key and arguments answers the first call's result instead of writing twice",
                ),
            ),
            // Conditional reads and ranges are for caches and players, not agents.
            _ => continue,
        };
        let mut schema = parameter["schema"].clone();
        let description = description
            .map(str::to_owned)
            .or_else(|| parameter["description"].as_str().map(str::to_owned));
        if let (Some(object), Some(description)) = (schema.as_object_mut(), description) {
            object.insert("description".into(), json!(description));
        }
        if argument == "per_page" {
            schema["default"] = json!(AGENT_PAGE);
        }
        let is_required = place == Place::Path || parameter["required"].as_bool().unwrap_or(false);
        if is_required {
            required.push(json!(argument));
        }
        collect_refs(&mut schema, &mut refs);
        properties.insert(argument.clone(), schema);
        arguments.push(Argument {
            name: argument,
            place,
            required: is_required,
        });
    }
    let content = &operation["requestBody"]["content"];
    let body = if let Some(upload) = content.get("multipart/form-data") {
        let mut form = resolve(&upload["schema"], schemas);
        let mut fields = Vec::new();
        for (field, mut schema) in form["properties"]
            .as_object_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            if field == "file" {
                continue;
            }
            collect_refs(&mut schema, &mut refs);
            properties.insert(field.clone(), schema);
            fields.push(field);
        }
        properties.insert(FILE_BASE64.into(), json!({"type": "string",
            "contentEncoding": "base64",
            "description": "The image's bytes in base64 (a `data:` URL too), at most the upload limit; or give `file_url`"}));
        properties.insert(FILE_URL.into(), json!({"type": "string", "format": "uri",
            "description": "An http(s) URL on a public address to fetch the image from; or give `file_base64`"}));
        Body::Upload { fields }
    } else if let Some((content_type, media)) = content
        .as_object()
        .and_then(|types| types.iter().find(|(kind, _)| kind.contains("json")))
    {
        let mut schema = media["schema"].clone();
        collect_refs(&mut schema, &mut refs);
        if let Some(object) = schema.as_object_mut()
            && let Some(description) = operation["requestBody"]["description"].as_str()
        {
            object.insert("description".into(), json!(description));
        }
        properties.insert("body".into(), schema);
        let body_required = operation["requestBody"]["required"]
            .as_bool()
            .unwrap_or(false);
        if body_required {
            required.push(json!("body"));
        }
        Body::Json {
            content_type: content_type.clone(),
            required: body_required,
        }
    } else {
        Body::None
    };
    let mut input = json!({"type": "object", "properties": properties,
        "required": required, "additionalProperties": false});
    let defs = definitions(refs, schemas);
    if !defs.is_empty() {
        input["$defs"] = Value::Object(defs);
    }
    let title = operation["summary"].as_str().unwrap_or(&name).to_owned();
    let description = match operation["description"].as_str() {
        Some(more) => format!("{title}. {more}"),
        None => title.clone(),
    };
    let listed = json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": input,
        "annotations": annotations(&name, &method, &title),
    });
    let writes_article = method != Method::GET
        && path.starts_with("/api/v1/articles")
        && success_schema(operation).as_deref() == Some("ArticleResponse");
    Some(Tool {
        name,
        method,
        path: path.to_owned(),
        arguments,
        body,
        access,
        writes_article,
        listed,
    })
}

/// The protocol's hints: reads only read; deletes and changes that overwrite what was
/// there are destructive (so are the few POSTs that may, `access::destroys`); a change in
/// place may be repeated; what fetches a URL or calls one reaches beyond lede.
fn annotations(name: &str, method: &Method, title: &str) -> Value {
    let read = *method == Method::GET;
    let mut hints = json!({"title": title, "readOnlyHint": read,
        "openWorldHint": access::reaches_out(name)});
    if !read {
        hints["destructiveHint"] = json!(*method != Method::POST || access::destroys(name));
        hints["idempotentHint"] = json!(*method != Method::POST);
    }
    hints
}

/// Whether the operation's success answers are JSON (or empty).
fn answers_json(operation: &Value) -> bool {
    operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .all(|(_, answer)| {
            answer["content"]
                .as_object()
                .is_none_or(|types| types.keys().all(|kind| kind.contains("json")))
        })
}

/// The component a success answer's schema refers to.
fn success_schema(operation: &Value) -> Option<String> {
    operation["responses"]
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .find_map(|(_, answer)| {
            answer["content"]["application/json"]["schema"]["$ref"]
                .as_str()?
                .strip_prefix(COMPONENTS)
                .map(str::to_owned)
        })
}

/// A schema that may be a reference, resolved one level.
fn resolve(schema: &Value, schemas: &Value) -> Value {
    match schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix(COMPONENTS))
    {
        Some(name) => schemas[name].clone(),
        None => schema.clone(),
    }
}

/// Points `schema`'s references at `$defs` and notes the components they name.
fn collect_refs(schema: &mut Value, refs: &mut BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get_mut("$ref")
                && let Some(name) = reference.strip_prefix(COMPONENTS)
            {
                refs.insert(name.to_owned());
                *reference = format!("{DEFS}{name}");
            }
            object.values_mut().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// The components `refs` names and those they name in turn, pointed at `$defs`.
fn definitions(mut refs: BTreeSet<String>, schemas: &Value) -> Map<String, Value> {
    let mut done = BTreeMap::new();
    while let Some(name) = refs.pop_first() {
        if done.contains_key(&name) {
            continue;
        }
        let mut schema = schemas[&name].clone();
        let mut more = BTreeSet::new();
        collect_refs(&mut schema, &mut more);
        refs.extend(more.into_iter().filter(|n| !done.contains_key(n)));
        done.insert(name, schema);
    }
    done.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{Actor, Role};

    fn document() -> Value {
        serde_json::to_value(crate::openapi::document()).unwrap()
    }

    fn names(catalog: &Catalog, role: Role) -> Vec<String> {
        let principal = Principal {
            token_id: uuid::Uuid::nil(),
            role,
            author_id: None,
            actor: Actor::system("a test"),
            via_session: false,
        };
        catalog
            .for_principal(&principal)
            .map(|tool| tool.name.clone())
            .collect()
    }

    /// The tools follow the document: an operation added to it is a tool at once, with its
    /// summary and parameters; one taken out is gone.
    #[test]
    fn the_tools_are_made_from_the_document() {
        let mut doc = document();
        let before = Catalog::from_document(&doc);
        assert!(before.find("list_tags").is_some());
        assert!(before.find("find_weather").is_none());
        doc["paths"]["/api/v1/tags"]
            .as_object_mut()
            .unwrap()
            .remove("get");
        assert!(Catalog::from_document(&doc).find("list_tags").is_none());
        doc["paths"]["/api/v1/weather"] = json!({"get": {
            "operationId": "find_weather",
            "summary": "The weather",
            "security": [],
            "parameters": [{"name": "city", "in": "query", "required": true,
                "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TagResponse"}}}}}
        }});
        let after = Catalog::from_document(&doc);
        let tool = after.find("find_weather").unwrap();
        assert_eq!(tool.path, "/api/v1/weather");
        assert_eq!(tool.listed["title"], "The weather");
        assert_eq!(tool.listed["inputSchema"]["required"], json!(["city"]));
        assert!(names(&after, Role::Contributor).contains(&"find_weather".to_owned()));
    }

    #[test]
    fn a_tools_schema_holds_every_schema_it_refers_to() {
        let catalog = Catalog::from_document(&document());
        for tool in &catalog.tools {
            let text = tool.listed.to_string();
            assert!(!text.contains(COMPONENTS), "{}", tool.name);
            let defs = &tool.listed["inputSchema"]["$defs"];
            for (at, _) in text.match_indices(DEFS) {
                let name: String = text[at + DEFS.len()..]
                    .chars()
                    .take_while(|c| *c != '"')
                    .collect();
                assert!(defs.get(&name).is_some(), "{}: {name}", tool.name);
            }
        }
    }

    #[test]
    fn deletes_are_destructive_and_reads_read_only() {
        let catalog = Catalog::from_document(&document());
        let hints = |name: &str| catalog.find(name).unwrap().listed["annotations"].clone();
        assert_eq!(hints("delete_article")["destructiveHint"], true);
        assert_eq!(hints("list_articles")["readOnlyHint"], true);
        assert_eq!(hints("create_article")["destructiveHint"], false);
        assert_eq!(hints("run_batch")["destructiveHint"], true);
        assert_eq!(hints("create_image")["openWorldHint"], true);
        assert_eq!(hints("update_tag")["openWorldHint"], false);
        let create = &catalog.find("create_article").unwrap().listed["inputSchema"];
        assert!(create["properties"]["idempotency_key"].is_object());
        assert_eq!(create["required"], json!(["body"]));
        assert!(catalog.find("get_media").is_none());
        assert!(catalog.find("sign_in").is_none());
        assert!(names(&catalog, Role::Admin).contains(&"list_webhooks".to_owned()));
        assert!(!names(&catalog, Role::Editor).contains(&"list_webhooks".to_owned()));
    }
}
