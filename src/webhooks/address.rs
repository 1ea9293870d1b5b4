//! Where webhooks may go (the SSRF guard): only `http`/`https`, and only to public
//! addresses, unless `LEDE_WEBHOOK_ALLOW_PRIVATE` is set. A URL is checked when it is saved
//! (a clear 422) and again at each delivery, by the resolver the delivery client connects
//! through: a name that later resolves somewhere private (DNS rebinding) reaches nothing.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether lede may send to `ip` without the private-address setting: not loopback,
/// private, link-local (cloud metadata lives there), shared (CGNAT), unspecified,
/// multicast, broadcast, documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Documentation (2001:db8::/32) and the deprecated IPv4-compatible ::/96.
                || segments[..2] == [0x2001, 0xdb8]
                || segments[..6] == [0; 6])
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking, 198.18/15
        || a >= 240) // reserved
}

/// How long a name may take to resolve when a URL is saved.
const LOOKUP: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a webhook URL is refused, in words for a 422; `None` when it may be used.
pub async fn refusal(url: &url::Url, allow_private: bool) -> Option<String> {
    let Some(host) = url.host_str() else {
        return Some("the URL has no host".into());
    };
    if allow_private {
        return None;
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::time::timeout(LOOKUP, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(_)) => return Some(format!("`{host}` does not resolve")),
            Err(_) => {
                return Some(format!(
                    "`{host}` did not resolve within {} s",
                    LOOKUP.as_secs()
                ));
            }
        },
    };
    match addresses.iter().find(|a| !is_public(a.ip())) {
        Some(private) => Some(format!(
            "`{host}` resolves to {}, which is not a public address \
             (loopback, private, link-local or reserved); set LEDE_WEBHOOK_ALLOW_PRIVATE=true \
             for intranets",
            private.ip()
        )),
        None if addresses.is_empty() => Some(format!("`{host}` does not resolve")),
        None => None,
    }
}

/// The delivery client's resolver: the system's, keeping only public addresses (all of
/// them when private ones are allowed). A name left with none fails to connect.
pub struct PublicOnly {
    pub allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(format!("`{}` resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

impl PublicOnly {
    pub fn new(allow_private: bool) -> Arc<Self> {
        Arc::new(PublicOnly { allow_private })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "100.128.0.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
