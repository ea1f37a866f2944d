//! A `WorkSpaces Access` event as EventBridge delivers it (the seed's JSON), checked field by
//! field: what is stored, or which field is wrong and why.
//!
//! Real-world variants are taken as they come: `directoryId` as `d-…` or `domain/d-…`, an empty
//! `clientIpAddress`, a platform or client product the documentation does not list (kept as
//! sent), `loginTime` with or without fractional seconds.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::audit::ssr::record::utc_text;

/// The most one text field may hold.
const MAX_TEXT: usize = 256;

/// One successful login, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub event_id: String,
    pub workspace_id: String,
    /// `d-…`, without a `domain/` prefix.
    pub directory_id: String,
    /// As sent; empty when the client sent none.
    pub client_ip: String,
    /// [`ip_key`] of the address; empty with it.
    pub ip_key: String,
    pub platform: String,
    pub product: String,
    /// UTC with milliseconds: `2018-07-01T17:52:51.595Z`.
    pub login_time: String,
    /// The event's own `time`, in the same form (its login time when it has none).
    pub event_time: String,
    pub account: String,
    pub region: String,
}

/// Why an event was refused: the field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// The events of a delivery's body: one event, or a JSON array of them.
pub fn events_of(body: &[u8]) -> Result<Vec<Value>, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        refuse(
            "body",
            format!("not JSON ({e}); send one event, or a JSON array of events"),
        )
    })?;
    Ok(match value {
        Value::Array(items) => items,
        other => vec![other],
    })
}

/// The events of a file to import: a JSON array, one event, or one event per line.
pub fn events_of_file(text: &str) -> Vec<Result<Value, Refusal>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(items)) => items.into_iter().map(Ok).collect(),
            Ok(other) => vec![Ok(other)],
            Err(e) => vec![Err(refuse("file", format!("not a JSON array ({e})")))],
        };
    }
    if let Ok(one) = serde_json::from_str::<Value>(trimmed) {
        return vec![Ok(one)];
    }
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| refuse("line", format!("not JSON ({e})"))))
        .collect()
}

fn text<'a>(object: &'a Value, key: &str, field: &str, required: bool) -> Result<&'a str, Refusal> {
    match object.get(key) {
        None | Some(Value::Null) if !required => Ok(""),
        None | Some(Value::Null) => Err(refuse(field, "missing")),
        Some(Value::String(s)) if s.len() > MAX_TEXT => {
            Err(refuse(field, format!("longer than {MAX_TEXT} characters")))
        }
        Some(Value::String(s)) if required && s.trim().is_empty() => Err(refuse(field, "empty")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(refuse(field, "not a string")),
    }
}

/// Checks one event and gives what is stored of it.
pub fn parse(event: &Value) -> Result<Login, Refusal> {
    if !event.is_object() {
        return Err(refuse("event", "not a JSON object"));
    }
    let source = text(event, "source", "source", true)?;
    if source != "aws.workspaces" {
        return Err(refuse(
            "source",
            format!("'{source}': this endpoint takes WorkSpaces events (source aws.workspaces) only"),
        ));
    }
    let kind = text(event, "detail-type", "detail-type", true)?;
    if kind != "WorkSpaces Access" {
        return Err(refuse(
            "detail-type",
            format!("'{kind}': this endpoint takes WorkSpaces Access events only"),
        ));
    }
    let event_id = text(event, "id", "id", true)?.trim().to_string();
    let Some(detail) = event.get("detail").filter(|d| d.is_object()) else {
        return Err(refuse("detail", "missing, or not an object"));
    };
    let action = text(detail, "actionType", "detail.actionType", true)?;
    if action != "successfulLogin" {
        return Err(refuse(
            "detail.actionType",
            format!("'{action}': only successfulLogin events are WorkSpaces Access events"),
        ));
    }
    let workspace_id = text(detail, "workspaceId", "detail.workspaceId", true)?.trim();
    let valid_id = workspace_id
        .strip_prefix("ws-")
        .is_some_and(|rest| !rest.is_empty() && rest.len() <= 63 && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !valid_id {
        return Err(refuse(
            "detail.workspaceId",
            format!("'{workspace_id}' is not a WorkSpace ID (ws- and letters or digits)"),
        ));
    }
    let login_time = utc_millis(text(detail, "loginTime", "detail.loginTime", true)?).ok_or_else(|| {
        refuse(
            "detail.loginTime",
            "not a time (RFC 3339, such as 2018-07-01T17:52:51.595Z)",
        )
    })?;
    let event_time = match text(event, "time", "time", false)? {
        "" => login_time.clone(),
        sent => {
            utc_millis(sent).ok_or_else(|| refuse("time", "not a time (RFC 3339, such as 2018-07-01T17:53:06Z)"))?
        }
    };
    let directory = text(detail, "directoryId", "detail.directoryId", false)?.trim();
    let directory_id = directory.rsplit('/').next().unwrap_or(directory).to_string();
    if !directory_id.is_empty() && !directory_id.starts_with("d-") {
        return Err(refuse(
            "detail.directoryId",
            format!("'{directory}' is not a directory ID (d-…, or domain/d-…)"),
        ));
    }
    let client_ip = text(detail, "clientIpAddress", "detail.clientIpAddress", false)?.trim();
    let ip_key = if client_ip.is_empty() {
        String::new()
    } else {
        let ip: IpAddr = client_ip
            .parse()
            .map_err(|_| refuse("detail.clientIpAddress", format!("'{client_ip}' is not an IP address")))?;
        ip_key(ip)
    };
    Ok(Login {
        event_id,
        workspace_id: workspace_id.to_string(),
        directory_id,
        client_ip: client_ip.to_string(),
        ip_key,
        platform: text(detail, "clientPlatform", "detail.clientPlatform", false)?.to_string(),
        product: text(
            detail,
            "workspacesClientProductName",
            "detail.workspacesClientProductName",
            false,
        )?
        .to_string(),
        login_time,
        event_time,
        account: text(event, "account", "account", false)?.to_string(),
        region: text(event, "region", "region", false)?.to_string(),
    })
}

/// An RFC 3339 time in UTC with milliseconds (the audit log's form), or `None`.
pub fn utc_millis(text: &str) -> Option<String> {
    let time = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    Some(utc_text(time.into()))
}

/// An address as 32 hex digits (IPv4 mapped into IPv6): text order is address order, so a
/// network is one range of keys.
pub fn ip_key(ip: IpAddr) -> String {
    let v6: Ipv6Addr = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    hex::encode(v6.octets())
}

/// The keys of a network (or of one address), first and last.
pub fn key_range(net: IpNet) -> (String, String) {
    (ip_key(net.network()), ip_key(net.broadcast()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The seed's own example, exactly.
    pub fn seed_example() -> Value {
        json!({
            "version": "0",
            "id": "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7",
            "detail-type": "WorkSpaces Access",
            "source": "aws.workspaces",
            "account": "123456789012",
            "time": "2018-07-01T17:53:06Z",
            "region": "us-east-2",
            "resources": [],
            "detail": {
                "clientIpAddress": "192.0.2.3",
                "actionType": "successfulLogin",
                "workspacesClientProductName": "WorkSpaces Desktop client",
                "loginTime": "2018-07-01T17:52:51.595Z",
                "clientPlatform": "Windows",
                "directoryId": "d-123456789",
                "workspaceId": "ws-xyskdga"
            }
        })
    }

    fn with(path: &[&str], value: Value) -> Value {
        let mut event = seed_example();
        let mut at = &mut event;
        for key in &path[..path.len() - 1] {
            at = at.get_mut(*key).unwrap();
        }
        match value {
            Value::Null => {
                at.as_object_mut().unwrap().remove(path[path.len() - 1]);
            }
            v => at[path[path.len() - 1]] = v,
        }
        event
    }

    fn refused_field(event: Value) -> String {
        parse(&event).expect_err("refused").field
    }

    #[test]
    fn the_seed_example_is_taken_as_it_is() {
        let login = parse(&seed_example()).unwrap();
        assert_eq!(login.event_id, "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7");
        assert_eq!(login.workspace_id, "ws-xyskdga");
        assert_eq!(login.directory_id, "d-123456789");
        assert_eq!(login.client_ip, "192.0.2.3");
        assert_eq!(login.ip_key, "00000000000000000000ffffc0000203");
        assert_eq!(login.platform, "Windows");
        assert_eq!(login.product, "WorkSpaces Desktop client");
        assert_eq!(login.login_time, "2018-07-01T17:52:51.595Z");
        assert_eq!(login.event_time, "2018-07-01T17:53:06.000Z");
        assert_eq!(
            (login.account.as_str(), login.region.as_str()),
            ("123456789012", "us-east-2")
        );
    }

    #[test]
    fn real_world_variants_are_accepted() {
        let login = parse(&with(
            &["detail", "directoryId"],
            json!("corp.example.com/d-906734a1b2"),
        ))
        .unwrap();
        assert_eq!(login.directory_id, "d-906734a1b2");
        let login = parse(&with(&["detail", "clientIpAddress"], json!(""))).unwrap();
        assert_eq!((login.client_ip.as_str(), login.ip_key.as_str()), ("", ""));
        let login = parse(&with(&["detail", "loginTime"], json!("2018-07-01T17:52:51Z"))).unwrap();
        assert_eq!(login.login_time, "2018-07-01T17:52:51.000Z");
        let login = parse(&with(&["detail", "loginTime"], json!("2018-07-01T19:52:51.5+02:00"))).unwrap();
        assert_eq!(login.login_time, "2018-07-01T17:52:51.500Z");
        let login = parse(&with(&["detail", "clientPlatform"], json!("Windows ARM64"))).unwrap();
        assert_eq!(login.platform, "Windows ARM64");
        let login = parse(&with(&["detail", "clientIpAddress"], json!("2001:db8::7"))).unwrap();
        assert_eq!(login.ip_key, "20010db8000000000000000000000007");
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert_eq!(refused_field(json!([1])), "event");
        assert_eq!(refused_field(with(&["source"], json!("aws.ec2"))), "source");
        assert_eq!(
            refused_field(with(&["detail-type"], json!("WorkSpaces State Change"))),
            "detail-type"
        );
        assert_eq!(refused_field(with(&["id"], Value::Null)), "id");
        assert_eq!(refused_field(with(&["id"], json!("  "))), "id");
        assert_eq!(refused_field(with(&["detail"], Value::Null)), "detail");
        assert_eq!(
            refused_field(with(&["detail", "actionType"], json!("failedLogin"))),
            "detail.actionType"
        );
        assert_eq!(
            refused_field(with(&["detail", "workspaceId"], Value::Null)),
            "detail.workspaceId"
        );
        assert_eq!(
            refused_field(with(&["detail", "workspaceId"], json!("i-123"))),
            "detail.workspaceId"
        );
        assert_eq!(
            refused_field(with(&["detail", "loginTime"], Value::Null)),
            "detail.loginTime"
        );
        assert_eq!(
            refused_field(with(&["detail", "loginTime"], json!("yesterday"))),
            "detail.loginTime"
        );
        assert_eq!(refused_field(with(&["time"], json!("2018-07-01 17:53"))), "time");
        assert_eq!(
            refused_field(with(&["detail", "clientIpAddress"], json!("300.1.1.1"))),
            "detail.clientIpAddress"
        );
        assert_eq!(
            refused_field(with(&["detail", "directoryId"], json!("sd-1"))),
            "detail.directoryId"
        );
        assert_eq!(
            refused_field(with(&["detail", "clientPlatform"], json!(7))),
            "detail.clientPlatform"
        );
        assert_eq!(
            refused_field(with(&["detail", "clientPlatform"], json!("x".repeat(300)))),
            "detail.clientPlatform"
        );
    }

    #[test]
    fn a_body_is_one_event_or_an_array_and_anything_else_is_refused() {
        assert_eq!(events_of(br#"{"id":"a"}"#).unwrap().len(), 1);
        assert_eq!(events_of(br#"[{"id":"a"},{"id":"b"}]"#).unwrap().len(), 2);
        assert_eq!(events_of(b"not json").unwrap_err().field, "body");
    }

    #[test]
    fn a_file_is_an_array_one_event_or_one_event_per_line() {
        let line = seed_example().to_string();
        assert_eq!(events_of_file(&format!("[{line},{line}]")).len(), 2);
        assert_eq!(
            events_of_file(&serde_json::to_string_pretty(&seed_example()).unwrap()).len(),
            1
        );
        let lines = events_of_file(&format!("{line}\n\n{line}\nbroken\n"));
        assert_eq!(lines.len(), 3);
        assert!(lines[0].is_ok() && lines[1].is_ok());
        assert_eq!(lines[2].as_ref().unwrap_err().field, "line");
    }

    #[test]
    fn networks_are_key_ranges_that_hold_their_addresses() {
        let parse_network = |t: &str| crate::ssr::pipeline::parse_network(t).ok().map(|n| n.trunc());
        let net = parse_network("192.0.2.0/24").unwrap();
        let (lo, hi) = key_range(net);
        let inside = ip_key("192.0.2.3".parse().unwrap());
        let outside = ip_key("192.0.3.1".parse().unwrap());
        assert!(lo <= inside && inside <= hi);
        assert!(!(lo <= outside && outside <= hi));
        // One address is a network of one; host bits are dropped.
        let (lo, hi) = key_range(parse_network("192.0.2.3").unwrap());
        assert_eq!(lo, hi);
        assert_eq!(parse_network("192.0.2.77/24").unwrap().to_string(), "192.0.2.0/24");
        assert!(parse_network("192.0.2.0/33").is_none());
        assert!(parse_network("office").is_none());
    }
}
