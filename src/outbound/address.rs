//! Where webhooks may go (the SSRF guard): only `http`/`https`, and only to public
//! addresses, unless `LEDE_WEBHOOK_ALLOW_PRIVATE` is set. A URL is checked when it is saved
//! (a clear 422) and again at each delivery, by the resolver the delivery client connects
//! through: a name that later resolves somewhere private (DNS rebinding) reaches nothing.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether lede may send to `ip` without the private-address setting. IPv4: not loopback,
/// private, link-local (cloud metadata lives there), shared (CGNAT), unspecified,
/// multicast, broadcast, documentation, benchmarking, relay or reserved. IPv6: only global
/// unicast (2000::/3) outside the special blocks (2001::/23 with Teredo, documentation,
/// 6to4, which reaches any IPv4 address), and IPv4 written as IPv6 (mapped, NAT64) by the
/// IPv4 inside. Anything else (unique-local, link- and site-local, SIIT, local NAT64) is not.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::from_bits(v6.to_bits() as u32));
            }
            (s[0] & 0xe000) == 0x2000 // global unicast
                && !(s[0] == 0x2001 && s[1] < 0x200) // 2001::/23: Teredo, ORCHID, ...
                && !(s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                && s[0] != 0x2002 // 6to4
                && (s[0] & 0xfff0) != 0x3ff0 // documentation, 3fff::/20
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
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b)) // benchmarking, 198.18/15
        || a >= 240) // reserved
}

/// The address a URL names when it is written as one (`http://10.0.0.1/`, `http://[::1]/`):
/// it never reaches a resolver, so it is checked by itself.
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// How long a name may take to resolve when a URL is saved.
const LOOKUP: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a webhook URL is refused, in words for a 422; `None` when it may be used.
pub async fn refusal(url: &url::Url, allow_private: bool) -> Option<String> {
    let host = url.host_str()?;
    if allow_private {
        return None;
    }
    if let Some(ip) = literal_ip(url) {
        return (!is_public(ip)).then(|| not_public(&ip.to_string()));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> =
        match tokio::time::timeout(LOOKUP, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(_)) => return Some(format!("`{host}` does not resolve")),
            Err(_) => {
                return Some(format!(
                    "`{host}` did not resolve within {} s",
                    LOOKUP.as_secs()
                ));
            }
        };
    match addresses.iter().find(|a| !is_public(a.ip())) {
        Some(private) => Some(not_public(&format!(
            "`{host}` (it resolves to {})",
            private.ip()
        ))),
        None if addresses.is_empty() => Some(format!("`{host}` does not resolve")),
        None => None,
    }
}

fn not_public(what: &str) -> String {
    format!(
        "{what} is not a public address (loopback, private, link-local or reserved); \
         LEDE_WEBHOOK_ALLOW_PRIVATE=true allows such addresses for intranets"
    )
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
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
            "64:ff9b:1::a9fe:a9fe",
            "::ffff:0:7f00:1",
            "fec0::1",
            "2001::1",
            "2001:10::1",
            "2001:20::1",
            "100::1",
            "5f00::1",
            "3fff::1",
            "192.88.99.1",
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
