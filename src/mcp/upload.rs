//! An agent's image: base64 in the arguments, or fetched from a URL under the importer's
//! rules, sent to the upload route as the form a browser would send.
use base64::Engine;
use serde_json::{Map, Value, json};

use super::tools::{FILE_BASE64, FILE_URL};
use crate::error::FieldError;
use crate::state::AppState;

/// The largest image an agent sends in base64 (decoded), whatever the upload limit.
pub const MAX_AGENT_IMAGE: usize = 10 * 1024 * 1024;

/// The largest image an agent may send on this site: the upload limit, at most
/// [`MAX_AGENT_IMAGE`].
pub(super) fn limit(state: &AppState) -> usize {
    state.image_max_bytes.min(MAX_AGENT_IMAGE)
}
/// How to allow fetching images from private addresses, for a refusal's message.
const PRIVATE_HINT: &str = "LEDE_WEBHOOK_ALLOW_PRIVATE=true allows intranet addresses";

/// Where an upload's file comes from.
pub(super) enum File {
    Bytes(Vec<u8>),
    Url(url::Url),
}

/// Where an upload's file is: decoded from `file_base64` (at most `limit` bytes), or the
/// URL in `file_url`; `None` with what is wrong noted.
pub(super) fn file(
    arguments: &mut Map<String, Value>,
    limit: usize,
    errors: &mut Vec<FieldError>,
) -> Option<File> {
    let mut fail = |field: &str, code: &str, message: String| {
        errors.push(FieldError::new(field, code, message));
        None
    };
    match (arguments.remove(FILE_BASE64), arguments.remove(FILE_URL)) {
        (Some(Value::String(encoded)), None) => {
            // A `data:` URL's header goes; so does whitespace a tool may wrap lines with.
            let encoded = match encoded.split_once(";base64,") {
                Some((head, rest)) if head.starts_with("data:") => rest,
                _ => encoded.as_str(),
            };
            let compact: std::borrow::Cow<str> = if encoded.bytes().any(|b| b.is_ascii_whitespace())
            {
                encoded
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect::<String>()
                    .into()
            } else {
                encoded.into()
            };
            let too_large = || format!("the image may be at most {limit} bytes");
            if compact.len() > limit.div_ceil(3) * 4 {
                return fail(FILE_BASE64, "too_large", too_large());
            }
            // With or without its `=` padding.
            const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            match BASE64.decode(compact.as_bytes()) {
                Ok(bytes) if bytes.len() <= limit => Some(File::Bytes(bytes)),
                Ok(_) => fail(FILE_BASE64, "too_large", too_large()),
                Err(error) => fail(
                    FILE_BASE64,
                    "invalid_format",
                    format!("{FILE_BASE64} is not base64: {error}"),
                ),
            }
        }
        (None, Some(Value::String(address))) => match url::Url::parse(&address) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(File::Url(url)),
            _ => fail(
                FILE_URL,
                "invalid_format",
                format!("{FILE_URL} must be an absolute http(s) URL"),
            ),
        },
        (None, None) => fail(
            FILE_BASE64,
            "required",
            format!("give the image as `{FILE_BASE64}` or `{FILE_URL}`"),
        ),
        (Some(_), Some(_)) => fail(
            FILE_URL,
            "conflict",
            format!("give `{FILE_BASE64}` or `{FILE_URL}`, not both"),
        ),
        _ => fail(
            FILE_BASE64,
            "invalid_type",
            format!("the image is a string: base64 in `{FILE_BASE64}` or a URL in `{FILE_URL}`"),
        ),
    }
}

/// The file's bytes: as given, or fetched (public addresses only, bounded in bytes and
/// time); the problem when it cannot be had.
pub(super) async fn bytes(state: &AppState, file: File) -> Result<Vec<u8>, Value> {
    match file {
        File::Bytes(bytes) => Ok(bytes),
        File::Url(url) => {
            let allow_private = state.webhooks.allow_private();
            let limit = limit(state);
            let client = crate::outbound::fetch::client(
                allow_private,
                concat!("lede-agents/", env!("CARGO_PKG_VERSION")),
                PRIVATE_HINT,
            )
            .map_err(|error| unreachable_image(&error.to_string()))?;
            crate::outbound::fetch::bytes(&client, url, limit, allow_private, PRIVATE_HINT)
                .await
                .map_err(|why| unreachable_image(&why))
        }
    }
}

fn unreachable_image(why: &str) -> Value {
    json!({"type": "about:blank#unreachable", "title": "The image could not be fetched",
        "status": 422, "detail": format!("nothing was stored from `{FILE_URL}`"),
        "errors": [{"field": FILE_URL, "code": "unreachable", "message": why}]})
}

/// The upload form, the file then the other fields given: its content type and body.
pub(super) fn multipart(file: &[u8], form: &[(String, String)]) -> (String, Vec<u8>) {
    let boundary = format!("lede-agent-{}", uuid::Uuid::now_v7().simple());
    let mut body = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    for (field, value) in form {
        body.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
