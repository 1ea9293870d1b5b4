//! JSON-RPC 2.0 as the Model Context Protocol carries it over Streamable HTTP: one message
//! per POST, answered with one JSON response (or 202 for a notification). lede keeps no
//! session: every request carries its bearer token, so any node answers any request.
use serde_json::{Value, json};

/// The revisions lede speaks, newest first: the `initialize` handshake's since batches
/// left the protocol (2025-03-26 had them; lede takes one message a request).
pub const VERSIONS: &[&str] = &["2025-11-25", "2025-06-18"];

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC error: its code, a sentence, and for invalid arguments lede's field errors
/// (`data.errors`, as a problem document has them).
#[derive(Debug)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// With one field error in `data.errors`: what is wrong, where.
    pub fn at(mut self, field: Option<&str>, code: &str) -> Self {
        let error = crate::error::FieldError {
            field: field.map(str::to_owned),
            code: code.to_owned(),
            message: self.message.clone(),
        };
        self.data = Some(json!({"errors": [error]}));
        self
    }

    /// Arguments that do not fit the tool, each named.
    pub fn invalid_arguments(tool: &str, errors: Vec<crate::error::FieldError>) -> Self {
        let count = errors.len();
        RpcError {
            code: INVALID_PARAMS,
            message: format!(
                "{count} argument{} of `{tool}` {} invalid",
                if count == 1 { "" } else { "s" },
                if count == 1 { "is" } else { "are" }
            ),
            data: Some(json!({"errors": errors})),
        }
    }
}

/// What one POST carried.
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    /// A notification or a response to the server: nothing to answer.
    Accepted,
}

/// The message in a POST's body, or the error response to answer (with the request's id
/// when one was read).
pub fn parse(body: &[u8]) -> Result<Message, Value> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        self::error(
            Value::Null,
            RpcError::new(PARSE_ERROR, format!("the body is not JSON: {error}"))
                .at(None, "invalid_json"),
        )
    })?;
    let invalid = |id: Option<Value>, field: Option<&str>, code: &str, why: &str| {
        self::error(
            id.unwrap_or_default(),
            RpcError::new(INVALID_REQUEST, why).at(field, code),
        )
    };
    let Value::Object(mut message) = value else {
        return Err(invalid(
            None,
            None,
            "invalid_type",
            "a message is one JSON-RPC object (batches are not part of MCP since 2025-06-18)",
        ));
    };
    let id = message.remove("id");
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64() || id.is_u64())
    {
        return Err(invalid(
            None,
            Some("id"),
            "invalid_type",
            "`id` must be a string or an integer",
        ));
    }
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(
            id,
            Some("jsonrpc"),
            "invalid_value",
            "`jsonrpc` must be \"2.0\"",
        ));
    }
    let method = match message.remove("method") {
        Some(Value::String(method)) => method,
        Some(_) => {
            return Err(invalid(
                id,
                Some("method"),
                "invalid_type",
                "`method` must be a string",
            ));
        }
        // A client's response (to a request lede never sends) is acknowledged.
        None if message.contains_key("result") || message.contains_key("error") => {
            return Ok(Message::Accepted);
        }
        None => {
            return Err(invalid(
                id,
                Some("method"),
                "required",
                "`method` is missing",
            ));
        }
    };
    let params = message.remove("params").unwrap_or_else(|| json!({}));
    if !params.is_object() {
        return Err(invalid(
            id,
            Some("params"),
            "invalid_type",
            "`params` must be an object",
        ));
    }
    match id {
        Some(id) => Ok(Message::Request { id, method, params }),
        None => Ok(Message::Accepted),
    }
}

pub fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: Value, error: RpcError) -> Value {
    let mut body = json!({"code": error.code, "message": error.message});
    if let Some(data) = error.data {
        body["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": id, "error": body})
}

/// The revision to speak: the client's when lede speaks it, else lede's newest (the client
/// then decides whether it can go on).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    VERSIONS
        .iter()
        .find(|v| Some(**v) == requested)
        .copied()
        .unwrap_or(VERSIONS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> i64 {
        match parse(body.as_bytes()) {
            Err(error) => error["error"]["code"].as_i64().unwrap(),
            Ok(_) => 0,
        }
    }

    #[test]
    fn malformed_messages_are_named() {
        assert_eq!(code("{"), PARSE_ERROR);
        assert_eq!(code("[]"), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#),
            INVALID_REQUEST
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), 0);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            0
        );
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("1999-01-01")), VERSIONS[0]);
    }
}
