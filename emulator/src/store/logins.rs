//! Simulated logins: the `WorkSpaces Access` events the WorkSpaces clients of this fleet would
//! send to EventBridge. Each WorkSpace logs in at times decided by a hash of its ID and a
//! quarter-hour slot — more often on weekdays' working hours, some WorkSpaces never — so the
//! same fleet tells the same history on every run.

use std::time::Instant;

use serde_json::{json, Value};

use super::Store;
use crate::model::WorkspaceState;
use crate::seed;

/// Logins start in slots of this many seconds.
pub const SLOT_SECS: i64 = 900;

/// The client products and platforms of the documentation, as pairs a client sends, and one
/// the documentation does not list (a real client's event may name any).
const CLIENTS: &[(&str, &str)] = &[
    ("WorkSpaces Desktop client", "Windows"),
    ("WorkSpaces Desktop client", "Windows"),
    ("WorkSpaces Desktop client", "Windows"),
    ("WorkSpaces Desktop client", "OSX"),
    ("WorkSpaces Desktop client", "OSX"),
    ("WorkSpaces Desktop client", "Linux"),
    ("WorkSpaces Web client", "Web"),
    ("WorkSpaces Web client", "Web"),
    ("Amazon WorkSpaces Mobile client", "iOS"),
    ("WorkSpaces Mobile client", "Android"),
    ("WorkSpaces Chrome client", "Chrome"),
    (
        "Teradici PCoIP Zero Client, Teradici PCoIP Desktop Client, or Dell Wyse PCoIP Client",
        "Teradici PCoIP Zero Client and Tera2",
    ),
    ("WorkSpaces Thin Client", "Linux"),
];

fn hash_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The networks the simulated users log in from as a rule (the two offices and the homes); what
/// the embedded portal allows when no allowed network is defined yet. Logins from 192.0.2.0/24
/// are outside them.
pub const USUAL_NETWORKS: &[(&str, &str)] = &[
    ("Head office", "198.51.100.0/24"),
    ("Branch office", "203.0.113.0/24"),
    ("Homes (carrier NAT)", "100.64.0.0/10"),
    ("Homes (IPv6)", "2001:db8::/32"),
];

/// Where a login comes from: mostly the two offices' networks, sometimes home (a carrier's
/// shared range, or IPv6: the same network for a user each time, `home` being the user's
/// hash), now and then somewhere else — outside any office network.
fn client_ip(h: u64, home: u64) -> String {
    let host = (h >> 8) % 250 + 2;
    match h % 100 {
        0..=54 => format!("198.51.100.{host}"),
        55..=79 => format!("203.0.113.{host}"),
        80..=89 => format!("100.{}.{}.{host}", 64 + (home >> 16) % 64, (home >> 24) % 256),
        90..=94 => format!(
            "2001:db8:{:x}:{:x}::{:x}",
            (home >> 16) % 0xffff,
            (home >> 32) % 0xffff,
            host
        ),
        // Somewhere else entirely: a hotel, a phone abroad.
        95..=97 => format!("192.0.2.{host}"),
        _ => String::new(),
    }
}

/// An RFC 3339 time of epoch seconds (and milliseconds), UTC: `2018-07-01T17:52:51.595Z`.
pub fn rfc3339(epoch: i64, millis: u32) -> String {
    const FORM: &[time::format_description::FormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .map(|t| t + time::Duration::milliseconds(i64::from(millis)))
        .ok()
        .and_then(|t| t.format(FORM).ok())
        .unwrap_or_default()
}

impl Store {
    /// The login events of the fleet with a login time in `[from, to)` (epoch seconds), in
    /// time order. `running_only`: only WorkSpaces that are running now log in (live events);
    /// otherwise every WorkSpace still listed does (history).
    pub fn logins_between(&self, from: i64, to: i64, now: Instant, running_only: bool) -> Vec<Value> {
        let mut out = Vec::new();
        for ws in self.workspaces.values() {
            if ws.is_gone_at(now) || (running_only && ws.state_at(now) != WorkspaceState::Available) {
                continue;
            }
            let id_hash = hash_of(&ws.id);
            // One in eight WorkSpaces is never used (what the cost review looks for).
            if id_hash % 8 == 0 {
                continue;
            }
            let first_slot = from.div_euclid(SLOT_SECS);
            for slot in first_slot..=to.div_euclid(SLOT_SECS) {
                let h = seed::mix(id_hash ^ (slot as u64).wrapping_mul(0x9E37_79B9));
                let start = slot * SLOT_SECS;
                let hour = start.rem_euclid(86_400) / 3600;
                // 1970-01-01 was a Thursday: days 2 and 3 of the week are the weekend.
                let weekend = matches!(start.div_euclid(86_400).rem_euclid(7), 2 | 3);
                let percent = match (weekend, hour) {
                    (false, 7..=17) => 9,
                    (false, _) => 1,
                    (true, _) => 1,
                };
                if h % 100 >= percent {
                    continue;
                }
                let at = start + ((h >> 8) % SLOT_SECS as u64) as i64;
                if at < from || at >= to {
                    continue;
                }
                let millis = ((h >> 20) % 1000) as u32;
                // A WorkSpace's user keeps to one or two clients.
                let client = CLIENTS[((id_hash >> 8) + (h >> 40) % 2) as usize % CLIENTS.len()];
                let id = format!(
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    h >> 32,
                    (h >> 16) & 0xffff,
                    id_hash & 0xffff,
                    (id_hash >> 16) & 0xffff,
                    (h ^ id_hash) & 0xffff_ffff_ffff
                );
                // The event reaches EventBridge a few seconds after the login.
                let sent = at + 2 + (h >> 50) as i64 % 20;
                out.push((
                    (at, millis),
                    json!({
                        "version": "0",
                        "id": id,
                        "detail-type": "WorkSpaces Access",
                        "source": "aws.workspaces",
                        "account": self.settings.account_id,
                        "time": rfc3339(sent, 0).replace(".000Z", "Z"),
                        "region": "us-east-1",
                        "resources": [],
                        "detail": {
                            "clientIpAddress": client_ip(seed::mix(h), seed::mix(id_hash)),
                            "actionType": "successfulLogin",
                            "workspacesClientProductName": client.0,
                            "loginTime": rfc3339(at, millis),
                            "clientPlatform": client.1,
                            "directoryId": ws.directory_id,
                            "workspaceId": ws.id,
                        }
                    }),
                ));
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out.into_iter().map(|(_, event)| event).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;
    use crate::store::Settings;

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_530_467_571, 595), "2018-07-01T17:52:51.595Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_fleet_logs_in_the_same_way_every_run_and_some_workspaces_never() {
        let store = Store::new(Settings::default(), &Seed { workspaces: 40 });
        let now = Instant::now();
        let (from, to) = (1_764_547_200, 1_764_547_200 + 14 * 86_400);
        let a = store.logins_between(from, to, now, false);
        let b = store.logins_between(from, to, now, false);
        assert_eq!(a, b);
        assert!(a.len() > 300, "{}", a.len());
        let ids: std::collections::HashSet<&str> = a.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), a.len(), "event IDs are unique");
        let used: std::collections::HashSet<&str> =
            a.iter().map(|e| e["detail"]["workspaceId"].as_str().unwrap()).collect();
        assert!(used.len() < 40 && used.len() > 25, "{}", used.len());
        let times: Vec<&str> = a.iter().map(|e| e["detail"]["loginTime"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times
            .iter()
            .all(|t| *t >= "2025-12-01" && *t < "2025-12-15T00:00:00.001Z"));
        // Some logins come from outside the offices' networks, some with no address.
        let ips: Vec<&str> = a
            .iter()
            .map(|e| e["detail"]["clientIpAddress"].as_str().unwrap())
            .collect();
        assert!(ips.iter().any(|ip| ip.starts_with("192.0.2.")));
        assert!(ips.iter().any(|ip| ip.is_empty()));
        assert!(ips.iter().any(|ip| ip.contains(':')));
    }
}
