//! The record: CloudTrail's format, field for field, plus what the portal knows besides.

use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The CloudTrail record version whose fields these are.
pub const EVENT_VERSION: &str = "1.08";
/// The event source of every WorkSpaces API call.
pub const WORKSPACES_SOURCE: &str = "workspaces.amazonaws.com";
/// The source of the portal's own events: sign-in, sign-out, user changes, refusals of
/// requests for the audit log.
pub const PORTAL_SOURCE: &str = "workspaces-portal";
/// `userIdentity.userName` of a failed sign-in with a name that does not exist (as
/// CloudTrail records it: the typed text may be a password).
pub const HIDDEN_USER: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// One audit record, serialized exactly as CloudTrail writes its records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub event_version: String,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    pub resources: Vec<Resource>,
    pub event_type: String,
    pub management_event: bool,
    pub recipient_account_id: Option<String>,
    pub event_category: String,
    pub additional_event_data: PortalData,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `Anonymous` until sign-in exists; then `PortalUser`.
    #[serde(rename = "type")]
    pub kind: String,
    pub principal_id: String,
    pub user_name: String,
    pub portal_role: Option<String>,
    pub session_id: Option<String>,
}

impl UserIdentity {
    /// A signed-in portal user.
    pub fn portal_user(user: &crate::ssr::auth::Identity) -> Self {
        UserIdentity {
            kind: "PortalUser".into(),
            principal_id: format!("user-{}", user.user_id),
            user_name: user.name.clone(),
            portal_role: Some(user.role.as_str().into()),
            session_id: Some(user.session_ref.clone()),
        }
    }

    /// The command line on the portal's machine (`workspaces-portal user …`), as the
    /// operating-system user who ran it.
    pub fn command_line() -> Self {
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        UserIdentity {
            kind: "CommandLine".into(),
            principal_id: format!("os-user:{os_user}"),
            user_name: if os_user.is_empty() {
                "command-line".into()
            } else {
                os_user
            },
            portal_role: Some("admin".into()),
            session_id: None,
        }
    }

    pub fn anonymous() -> Self {
        UserIdentity {
            kind: "Anonymous".into(),
            principal_id: "anonymous".into(),
            user_name: "anonymous".into(),
            portal_role: None,
            session_id: None,
        }
    }
}

/// What kind of event a record is about to describe.
pub struct EventKind<'a> {
    pub source: &'a str,
    pub event_type: &'a str,
    pub name: &'a str,
    pub action: &'a str,
    pub read_only: bool,
}

impl AuditRecord {
    /// A new record of a request by `caller`, `started`; the rest is filled in as it runs.
    pub fn start(kind: EventKind<'_>, caller: &Caller, params: Value) -> Self {
        AuditRecord {
            event_version: EVENT_VERSION.into(),
            user_identity: caller.identity.clone(),
            event_time: utc_now(),
            event_source: kind.source.into(),
            event_name: kind.name.into(),
            aws_region: String::new(),
            source_ip_address: caller.source_ip.clone(),
            user_agent: caller.user_agent.clone(),
            request_parameters: params,
            response_elements: Value::Null,
            error_code: None,
            error_message: None,
            request_id: None,
            event_id: event_id(),
            read_only: kind.read_only,
            resources: Vec::new(),
            event_type: kind.event_type.into(),
            management_event: true,
            recipient_account_id: None,
            event_category: "Management".into(),
            additional_event_data: PortalData {
                outcome: "started".into(),
                portal_action: kind.action.into(),
                ..Default::default()
            },
        }
    }
}

/// A resource the request touched, as CloudTrail lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What the portal adds to CloudTrail's fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalData {
    /// `started` while the request runs, `completed` once its outcome is known, `unknown` if
    /// the portal stopped in between.
    pub outcome: String,
    /// The portal's name for the request (its server function).
    pub portal_action: String,
    /// Every resource ID the request touched (the WorkSpace history index).
    pub resource_ids: Vec<String>,
    /// The request IDs of every AWS call made (`requestID` holds the first).
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Items of a batch that WorkSpaces refused (their codes are in `responseElements`).
    #[serde(default)]
    pub failed_items: usize,
    pub elapsed_ms: Option<u64>,
}

impl AuditRecord {
    /// The CloudTrail `resources` entries for these IDs.
    pub fn resources_for(ids: &[String], region: &str, account: Option<&str>) -> Vec<Resource> {
        ids.iter()
            .map(|id| {
                let (kind, path) = if id.starts_with("ws-") {
                    ("AWS::WorkSpaces::Workspace", "workspace")
                } else if id.starts_with("wsb-") {
                    ("AWS::WorkSpaces::WorkspaceBundle", "workspacebundle")
                } else if id.starts_with("d-") {
                    ("AWS::WorkSpaces::Directory", "directory")
                } else {
                    ("AWS::WorkSpaces::Resource", "resource")
                };
                Resource {
                    arn: format!("arn:aws:workspaces:{region}:{}:{path}/{id}", account.unwrap_or("")),
                    account_id: account.map(str::to_owned),
                    kind: kind.into(),
                }
            })
            .collect()
    }
}

/// Who made a request and from where, as the audit log records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub identity: UserIdentity,
    /// The signed-in user, whose role is checked; `None` when anonymous.
    pub user: Option<crate::ssr::auth::Identity>,
    pub source_ip: String,
    pub user_agent: String,
}

impl Caller {
    /// A caller outside any HTTP request (the command line, start-up).
    pub fn local() -> Self {
        Caller {
            identity: UserIdentity::command_line(),
            user: None,
            source_ip: "127.0.0.1".into(),
            user_agent: "workspaces-portal".into(),
        }
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<SocketAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> String {
    let Some(peer) = peer.map(|p| canonical(p.ip())) else {
        return "unknown".into();
    };
    if !trusted.iter().any(|n| n.contains(peer)) {
        return peer.to_string();
    }
    let mut client = peer;
    if let Some(header) = forwarded_for {
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !trusted.iter().any(|n| n.contains(client)) {
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

/// An address or a CIDR network (`10.0.0.0/8`, `::1`), for `--trusted-proxy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net) as u128, self.prefix, 32) == masked(u32::from(ip) as u128, self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// A new event ID: a random UUID (version 4).
pub fn event_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Unique is what matters here, not unpredictable.
        bytes = (fastrand_u128()).to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn fastrand_u128() -> u128 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    nanos ^ ((std::process::id() as u128) << 96)
}

/// UTC time as the audit log writes it: fixed width, milliseconds, so text order is time order.
pub fn utc_text(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

pub fn utc_now() -> String {
    utc_text(SystemTime::now())
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A time typed into a filter (`2026-11-22`, `2026-11-22T10:00`, `…T10:00:30`, or RFC 3339 in
/// UTC) in the audit log's form; `None` if it is not one of those.
pub fn parse_filter_time(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches('Z');
    let (date, time) = t.split_once(['T', ' ']).unwrap_or((t, "00:00"));
    let date_ok = date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && date.chars().filter(char::is_ascii_digit).count() == 8;
    let month: u32 = date.get(5..7)?.parse().ok()?;
    let day: u32 = date.get(8..10)?.parse().ok()?;
    if !date_ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = hms.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let mi: u32 = parts.next()?.parse().ok()?;
    let s: u32 = parts.next().map(|s| s.parse().ok()).unwrap_or(Some(0))?;
    if parts.next().is_some() || h > 23 || mi > 59 || s > 59 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let millis: String = frac.chars().chain("000".chars()).take(3).collect();
    Some(format!("{date}T{h:02}:{mi:02}:{s:02}.{millis}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_fixed_width_utc() {
        assert_eq!(utc_text(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_344_123_456);
        assert_eq!(utc_text(t), "2026-11-22T10:42:03.456Z");
        // Leap day.
        assert_eq!(
            utc_text(UNIX_EPOCH + Duration::from_secs(1_709_164_800)),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn filter_times_accept_what_browsers_send() {
        assert_eq!(
            parse_filter_time("2026-11-22T10:05").as_deref(),
            Some("2026-11-22T10:05:00.000Z")
        );
        assert_eq!(
            parse_filter_time("2026-11-22").as_deref(),
            Some("2026-11-22T00:00:00.000Z")
        );
        assert_eq!(
            parse_filter_time("2026-11-22T10:05:07.5Z").as_deref(),
            Some("2026-11-22T10:05:07.500Z")
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-11-22T25:00",
            "2026/11/22",
            "2026-11-22T10",
        ] {
            assert_eq!(parse_filter_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_proxies() {
        let proxy: IpNet = "10.0.0.0/8".parse().unwrap();
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
        assert!("::1".parse::<IpNet>().unwrap().contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("0.0.0.0/0"
            .parse::<IpNet>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn event_ids_are_uuids() {
        let id = event_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, event_id());
    }
}
