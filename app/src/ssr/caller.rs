//! Who makes a request — a signed-in user, someone anonymous, the command line — and from which
//! address, as the policy checks it and the audit log records it.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::audit::ssr::record::UserIdentity;
use crate::identity::ssr::User;
use crate::identity::Role;

/// Who makes a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    Anonymous,
    /// A signed-in user of the portal.
    User(User),
    /// Someone at the portal's machine, running `workspaces-portal` commands (with access to its
    /// database, so with an administrator's powers).
    CommandLine {
        os_user: String,
    },
    /// The portal itself: its upkeep (expiring requests), and carrying out an approved request
    /// (recorded as its requester, `on_behalf_of`, with the approval beside it). The policy was
    /// applied to the steps that led here, not again.
    Portal {
        on_behalf_of: Option<Box<UserIdentity>>,
    },
    /// A delivery of WorkSpaces Access events with a live ingest token (EventBridge): it may
    /// deliver events and nothing else.
    IngestToken {
        name: String,
    },
}

/// Who made a request and from where, as the policy checks it and the audit log records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub principal: Principal,
    pub source_ip: String,
    pub user_agent: String,
}

impl Caller {
    /// The command line on the portal's machine, as the operating-system user who ran it.
    pub fn command_line() -> Self {
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        Caller {
            principal: Principal::CommandLine { os_user },
            source_ip: "127.0.0.1".into(),
            user_agent: "workspaces-portal".into(),
        }
    }

    /// The portal itself (its background work).
    pub fn portal() -> Self {
        Caller {
            principal: Principal::Portal { on_behalf_of: None },
            source_ip: "127.0.0.1".into(),
            user_agent: "workspaces-portal".into(),
        }
    }

    /// The portal carrying out what `requester` asked for and others approved.
    pub fn on_behalf_of(requester: UserIdentity) -> Self {
        Caller {
            principal: Principal::Portal {
                on_behalf_of: Some(Box::new(requester)),
            },
            source_ip: "127.0.0.1".into(),
            user_agent: "workspaces-portal".into(),
        }
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User(user) => Some(user),
            _ => None,
        }
    }

    /// The role the policy checks (the command line acts as an administrator).
    pub fn role(&self) -> Option<Role> {
        match &self.principal {
            Principal::Anonymous | Principal::IngestToken { .. } => None,
            Principal::User(user) => Some(user.role),
            Principal::CommandLine { .. } | Principal::Portal { .. } => Some(Role::Admin),
        }
    }

    /// CloudTrail's `userIdentity`.
    pub fn identity(&self) -> UserIdentity {
        match &self.principal {
            Principal::Anonymous => UserIdentity::anonymous(),
            Principal::User(user) => UserIdentity::portal_user(user),
            Principal::CommandLine { os_user } => UserIdentity::command_line(os_user),
            Principal::IngestToken { name } => UserIdentity::ingest_token(name),
            Principal::Portal { on_behalf_of: None } => UserIdentity::portal(),
            Principal::Portal {
                on_behalf_of: Some(requester),
            } => (**requester).clone(),
        }
    }
}

impl Caller {
    /// Who is calling, from a request's head (the signed-in user is in its extensions).
    pub fn of(parts: &axum::http::request::Parts, trusted_proxies: &[IpNet]) -> Caller {
        // Every X-Forwarded-For line, in order: a proxy that appends a line of its own must not
        // leave the client's own first line to be believed.
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Caller {
            principal: match parts.extensions.get::<User>() {
                Some(user) => Principal::User(user.clone()),
                None => Principal::Anonymous,
            },
            source_ip: client_ip(peer, forwarded.as_deref(), trusted_proxies),
            user_agent: parts
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(512)
                .collect(),
        }
    }

    /// The network an address belongs to for limits: the address itself for IPv4, its /64 for
    /// IPv6 (one subscriber's share).
    pub fn network(&self) -> String {
        network_of(&self.source_ip)
    }
}

/// The network of an address for limits: itself for IPv4, its /64 for IPv6.
pub fn network_of(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => IpNet::new(IpAddr::V6(v6), 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| address.to_string()),
        _ => address.to_string(),
    }
}

/// An address or a CIDR network (`10.0.0.0/8`, `::1`), as `--trusted-proxy` takes it.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("'{text}' is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<SocketAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> String {
    let Some(peer) = peer.map(|p| canonical(p.ip())) else {
        return "unknown".into();
    };
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return peer.to_string();
    }
    let mut client = peer;
    if let Some(header) = forwarded_for {
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !trusted.iter().any(|n| n.contains(&client)) {
                        break;
                    }
                }
                // A hop that is not an address: stop at the last one we could trust.
                Err(_) => break,
            }
        }
    }
    client.to_string()
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_proxies() {
        let proxy = parse_network("10.0.0.0/8").unwrap();
        let peer = Some("10.1.2.3:5000".parse().unwrap());
        let outsider = Some("203.0.113.9:5000".parse().unwrap());
        assert_eq!(client_ip(outsider, Some("1.2.3.4"), &[proxy]), "203.0.113.9");
        assert_eq!(client_ip(peer, Some("1.2.3.4"), &[]), "10.1.2.3");
        // A client cannot spoof by prepending: the right-most untrusted hop counts.
        assert_eq!(
            client_ip(peer, Some("6.6.6.6, 198.51.100.7, 10.9.9.9"), &[proxy]),
            "198.51.100.7"
        );
        assert_eq!(client_ip(peer, None, &[proxy]), "10.1.2.3");
        assert!(parse_network("::1")
            .unwrap()
            .contains(&"::1".parse::<IpAddr>().unwrap()));
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("0.0.0.0/0")
            .unwrap()
            .contains(&"8.8.8.8".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn the_command_line_acts_as_an_administrator_and_is_recorded_as_itself() {
        let cli = Caller::command_line();
        assert_eq!(cli.role(), Some(Role::Admin));
        assert_eq!(
            cli.identity().kind,
            crate::audit::ssr::record::IdentityKind::CommandLine
        );
    }

    #[test]
    fn ipv6_clients_share_their_64_and_ipv4_clients_are_their_address() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:bbbb::9"), network_of("2001:db8:1:2:aaaa::1"));
        assert_eq!(network_of("198.51.100.7"), "198.51.100.7");
    }

    #[test]
    fn every_forwarded_for_line_counts() {
        let proxy = parse_network("10.0.0.0/8").unwrap();
        let mut parts = axum::http::Request::new(()).into_parts().0;
        parts.headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        parts.headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        parts.extensions.insert(axum::extract::ConnectInfo::<SocketAddr>(
            "10.1.2.3:5000".parse().unwrap(),
        ));
        assert_eq!(Caller::of(&parts, &[proxy]).source_ip, "198.51.100.7");
    }
}
