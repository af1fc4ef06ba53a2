//! The address guard: webhooks reach the public internet only, unless an operator's
//! allow-list names a host or network. A URL is checked when saved, and every connection
//! is checked again when its name is resolved (a name that resolved to a public address
//! yesterday may resolve to 127.0.0.1 today), by the HTTP client's own resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhook::URL_MAX;

/// Hosts and networks webhooks may reach although they are private, and over plain http.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Entries: host names, addresses or networks (`127.0.0.1`, `10.0.0.0/8`, `hooks.internal`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut list = AllowList::default();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                list.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!("SUPPORT_WEBHOOK_ALLOW: {entry:?} is not a host name, address or network"));
            }
        }
        Ok(list)
    }

    fn names(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn covers(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether a connection to `ip`, reached through the name `host`, is allowed.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        public(ip) || self.names(host) || self.covers(ip)
    }

    /// Checks a subscription's URL: http(s), a host, no credentials, at most 2 KiB; plain
    /// http and private addresses only for the allow-list.
    pub fn check_url(&self, url: &str) -> Result<String, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("is required: the https URL to POST events to".into());
        }
        if url.len() > URL_MAX {
            return Err(format!("is {} bytes long; at most {URL_MAX}", url.len()));
        }
        let parsed = Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
        let host = parsed.host_str().ok_or("has no host")?.trim_matches(['[', ']']).to_ascii_lowercase();
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not carry credentials; the signature authenticates the service".into());
        }
        let listed = self.names(&host) || host.parse::<IpAddr>().is_ok_and(|ip| self.covers(ip));
        match parsed.scheme() {
            "https" => {}
            "http" if listed => {}
            "http" => {
                return Err(format!(
                    "must be https (plain http only to hosts SUPPORT_WEBHOOK_ALLOW names; {host} is not one)"
                ));
            }
            other => return Err(format!("has scheme {other:?}; use https")),
        }
        if let Ok(ip) = host.parse::<IpAddr>()
            && !self.allows(&host, ip)
        {
            return Err(refused(&host, ip));
        }
        Ok(url.to_owned())
    }
}

/// Why an address is refused, in words.
pub fn refused(host: &str, ip: IpAddr) -> String {
    format!(
        "{host} is {ip}, a loopback, private or link-local address; webhooks reach such addresses only when \
         SUPPORT_WEBHOOK_ALLOW names them"
    )
}

/// Whether `ip` is on the public internet (not loopback, private, link-local, shared,
/// unspecified, broadcast, multicast or documentation space).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The HTTP client's resolver: the system's answer, less the addresses the guard refuses.
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub Arc<AllowList>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.iter().copied().filter(|a| allow.allows(&host, a.ip())).collect();
            if kept.is_empty() {
                let why = match found.first() {
                    Some(a) => refused(&host, a.ip()),
                    None => format!("{host} has no address"),
                };
                return Err(why.into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(!public(ip.parse().unwrap()), "{ip}");
        }
        assert!(public("93.184.216.34".parse().unwrap()));
        let none = AllowList::default();
        assert!(none.check_url("https://127.0.0.1/hook").unwrap_err().contains("loopback"));
        assert!(none.check_url("http://hooks.example.com/x").unwrap_err().contains("https"));
        assert!(none.check_url("https://user:pw@hooks.example.com/x").unwrap_err().contains("credentials"));
        assert!(none.check_url("ftp://hooks.example.com/x").is_err());
        assert!(none.check_url("https://hooks.example.com/x").is_ok());
        let local = AllowList::parse(&["127.0.0.0/8".into(), "hooks.internal".into()]).unwrap();
        assert!(local.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(local.check_url("http://hooks.internal/hook").is_ok());
        assert!(local.allows("hooks.internal", "10.0.0.5".parse().unwrap()));
        assert!(!local.allows("evil.example", "10.0.0.5".parse().unwrap()));
        assert!(AllowList::parse(&["not a host!".into()]).is_err());
    }
}
