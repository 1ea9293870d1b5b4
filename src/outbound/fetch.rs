//! Fetching a file from the web for someone (the importer's attachments, an agent's image by
//! URL): public addresses only unless allowed, a few redirects each checked the same way,
//! within a time and a byte bound.
use std::time::Duration;

use super::address::{PublicOnly, is_public, literal_ip};

/// How long one file may take to arrive.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A client that resolves names to public addresses only, and checks each redirect to an
/// address written as such like the first URL (it never reaches the resolver). `hint` says
/// how private addresses are allowed, for the refusal's message.
pub fn client(
    allow_private: bool,
    user_agent: &str,
    hint: &'static str,
) -> reqwest::Result<reqwest::Client> {
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("more than 5 redirects")
        } else if let Some(why) = private_literal(attempt.url(), allow_private, hint) {
            attempt.error(why)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(redirects)
        .no_proxy()
        .dns_resolver(PublicOnly::new(allow_private))
        .user_agent(user_agent)
        .build()
}

/// Why `url` may not be fetched when it names a private address as such (`None`: it may).
pub fn private_literal(url: &url::Url, allow_private: bool, hint: &str) -> Option<String> {
    let ip = literal_ip(url).filter(|ip| !allow_private && !is_public(*ip))?;
    Some(format!("{ip} is not a public address ({hint})"))
}

/// The body at an absolute http(s) `url`, at most `limit` bytes; why not, in a sentence.
pub async fn bytes(
    client: &reqwest::Client,
    url: url::Url,
    limit: usize,
    allow_private: bool,
    hint: &str,
) -> Result<Vec<u8>, String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("not an http(s) URL".into());
    }
    if let Some(why) = private_literal(&url, allow_private, hint) {
        return Err(why);
    }
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch it: {}", crate::error::with_causes(&e)))?;
    if !response.status().is_success() {
        return Err(format!("fetching it answered {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(format!("larger than the image limit of {limit} bytes"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("fetching it failed: {}", crate::error::with_causes(&e)))?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(format!("larger than the image limit of {limit} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
