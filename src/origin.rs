//! Where lede's absolute URLs point and who is asking. Both come from configuration and the
//! connection, never from what a stranger writes in a header: `Host`, `Forwarded` and
//! `X-Forwarded-*` are believed only from `LEDE_TRUSTED_PROXIES`, and even then only when
//! they are a host (name or address, optional port) and a scheme of `http`/`https`.
use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use anyhow::{Context, bail};

pub struct Origin {
    /// `LEDE_PUBLIC_URL`, or the address lede serves on, without a trailing slash.
    base: String,
    /// `LEDE_PUBLIC_URL` was set: it wins over anything a proxy says.
    configured: bool,
    trusted: Vec<IpAddr>,
}

impl Origin {
    pub fn new(public_url: Option<&str>, bind: SocketAddr, trusted: &str) -> anyhow::Result<Self> {
        let trusted = trusted
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse()
                    .with_context(|| format!("LEDE_TRUSTED_PROXIES: `{p}` is not an IP address"))
            })
            .collect::<anyhow::Result<_>>()?;
        let (base, configured) = match public_url {
            Some(url) => (checked_base("LEDE_PUBLIC_URL", url)?, true),
            None => (served_on(bind), false),
        };
        Ok(Origin {
            base,
            configured,
            trusted,
        })
    }

    /// The address the listener got (a port chosen by the system, in tests), unless
    /// `LEDE_PUBLIC_URL` says otherwise.
    pub fn serving_on(&mut self, addr: SocketAddr) {
        if !self.configured {
            self.base = served_on(addr);
        }
    }

    /// The configured base (what every client gets unless a trusted proxy says otherwise).
    pub fn configured_base(&self) -> &str {
        &self.base
    }

    fn is_from_trusted_proxy(&self, req: &HttpRequest) -> bool {
        !self.trusted.is_empty()
            && req
                .peer_addr()
                .is_some_and(|peer| self.trusted.contains(&peer.ip()))
    }

    /// Whether `LEDE_PUBLIC_URL` says where lede is.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// The absolute URL prefix for this request's links.
    pub fn base(&self, req: &HttpRequest) -> String {
        if !self.configured
            && self.is_from_trusted_proxy(req)
            && let Some(base) = forwarded_base(req.headers())
        {
            return base;
        }
        self.base.clone()
    }

    /// The client's address: the connection's, or, when that is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not one.
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return "unknown".into();
        };
        if !self.trusted.contains(&peer) {
            return peer.to_string();
        }
        // Every line, in order: a proxy may append a line of its own rather than a value.
        let forwarded = all_values(req.headers(), "x-forwarded-for");
        forwarded
            .split(',')
            .rev()
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .find(|a| !self.trusted.contains(a))
            .unwrap_or(peer)
            .to_string()
    }
}

/// `http://<address>`; an unspecified address (0.0.0.0, ::) is written `localhost`.
fn served_on(addr: SocketAddr) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{}", addr.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
    }
}

/// A configured base URL (`LEDE_PUBLIC_URL`, `LEDE_MEDIA_URL`): http(s), a host, maybe a
/// path; no credentials, query or fragment. Returned as the URL parser writes it (so no
/// quote or angle bracket survives), without a trailing slash.
pub fn checked_base(name: &str, value: &str) -> anyhow::Result<String> {
    let url =
        url::Url::parse(value.trim()).with_context(|| format!("{name}: `{value}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        bail!(
            "{name}: `{value}` must be an http(s) URL with a host and no credentials, query or fragment"
        );
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A header's lines joined with commas, as one list.
fn all_values(headers: &HeaderMap, name: &str) -> String {
    let lines: Vec<&str> = headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect();
    lines.join(",")
}

/// What a trusted proxy says the client asked for, when it is a scheme and a host. Proxies
/// append to these headers, so what the client itself sent comes first: only the last
/// element, added by the proxy nearest lede, is believed.
fn forwarded_base(headers: &HeaderMap) -> Option<String> {
    let last = |name: &str| {
        let values = all_values(headers, name);
        let last = values.rsplit(',').next().unwrap_or_default().trim();
        (!last.is_empty()).then(|| last.to_owned())
    };
    let mut proto = None;
    let mut host = None;
    if let Some(forwarded) = last("forwarded") {
        for pair in forwarded.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(value),
                "host" => host = Some(value),
                _ => {}
            }
        }
    }
    let proto = proto
        .or_else(|| last("x-forwarded-proto"))
        .unwrap_or_else(|| "http".to_owned())
        .to_ascii_lowercase();
    let host = host
        .or_else(|| last("x-forwarded-host"))
        .or_else(|| last(header::HOST.as_str()))?;
    checked_host(&proto, &host)
}

/// `scheme://host[:port]` when `scheme` is http(s) and `host` is a name or an address with
/// an optional port and nothing else.
fn checked_host(scheme: &str, host: &str) -> Option<String> {
    if !matches!(scheme, "http" | "https")
        || host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    let url = url::Url::parse(&format!("{scheme}://{host}/")).ok()?;
    (url.path() == "/" && url.host_str().is_some())
        .then(|| url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_hosts_and_http_schemes_are_believed() {
        let base = |pairs: &[(&'static str, &str)]| forwarded_base(&headers(pairs));
        assert_eq!(
            base(&[
                ("x-forwarded-host", "cms.example.com"),
                ("x-forwarded-proto", "https")
            ]),
            Some("https://cms.example.com".into())
        );
        assert_eq!(
            base(&[(
                "forwarded",
                "for=1.2.3.4;proto=https;host=\"a.example:8443\""
            )]),
            Some("https://a.example:8443".into())
        );
        assert_eq!(
            base(&[("host", "[::1]:8080")]),
            Some("http://[::1]:8080".into())
        );
        for evil in [
            "x\" onerror=\"alert(1)\" y=\"",
            "evil.example/path",
            "user@evil.example",
            "evil.example?x=1",
            "<script>",
            "",
        ] {
            assert_eq!(base(&[("x-forwarded-host", evil)]), None, "{evil}");
        }
        assert_eq!(
            base(&[("forwarded", "proto=javascript;host=x")]),
            None,
            "javascript scheme"
        );
        assert_eq!(
            base(&[("x-forwarded-proto", "javascript"), ("host", "x")]),
            None
        );
        // What a client sent comes first; the proxy appends what it saw.
        assert_eq!(
            base(&[(
                "forwarded",
                "host=evil.example, for=1.2.3.4;host=cms.example;proto=https"
            )]),
            Some("https://cms.example".into())
        );
        assert_eq!(
            base(&[
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-host", "cms.example")
            ]),
            Some("http://cms.example".into())
        );
    }

    #[test]
    fn configured_bases_are_checked() {
        assert_eq!(
            checked_base("X", "https://api.example.com/").unwrap(),
            "https://api.example.com"
        );
        assert_eq!(
            checked_base("X", "https://cdn.example.com/lede/").unwrap(),
            "https://cdn.example.com/lede"
        );
        assert!(checked_base("X", "javascript://x").is_err());
        assert!(checked_base("X", "https://a@b.example").is_err());
        assert!(checked_base("X", "not a url").is_err());
        assert!(
            checked_base("X", "https://x.example/\"onerror=")
                .unwrap()
                .contains("%22")
        );
    }
}
