//! Reviewing the logins on the server: each WorkSpace's last login, the allowed networks, the
//! alerts a new login raises (in the transaction that stores it); the charts are in [`super::charts`].
//!
//! An alert is judged on arrival, against what is stored then: `outside` when the login's
//! address is in no allowed network of its directory or of every directory (a directory with
//! none allows any address: nothing is defined to be outside of); `new-network` when its
//! WorkSpace logged in during the 30 days before, never from this login's /24 (IPv4) or /64
//! (IPv6) (a WorkSpace with no such login has no habits to differ from). A login without an
//! address raises neither.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use leptos::server_fn::ServerFn;
use serde_json::json;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;

use super::charts::{chart_days, charts, DAY};
use super::event::{key_range, Login as Event};
use super::{filter_of, Access};
use crate::access::{
    AccessAlert, AccessQuery, AcknowledgeAlert, AddAllowedNetwork, AlertKind, AlertPage, AlertQuery, AllowedNetwork,
    GetLoginCharts, ListAlerts, ListAllowedNetworks, LoginCharts, LoginCharts as Charts, RemoveAllowedNetwork,
    NEW_NETWORK_DAYS,
};
use crate::audit::ssr::record::{utc_now, utc_text};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;
use crate::ssr::{Audited, Caller, Operation};

/// Alerts per page.
const ALERT_PAGE: usize = 50;

impl Audited for Vec<AllowedNetwork> {}
impl Audited for AllowedNetwork {}
impl Audited for AlertPage {}
impl Audited for LoginCharts {}

pub(super) fn db_error(e: sqlx::Error) -> AppError {
    crate::ssr::internal(format!("access review database: {e}"))
}

// ---------------------------------------------------------------------------------------------
// On arrival (inside the transaction that stores the login)

/// Keeps each WorkSpace's last login (the later one wins, whatever the order of arrival).
pub async fn note_last_logins(conn: &mut SqliteConnection, events: &[&Event]) -> sqlx::Result<()> {
    for chunk in events.chunks(1000) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO workspace_last_login (workspace_id, login_time, client_ip) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(&e.workspace_id)
                .push_bind(&e.login_time)
                .push_bind(&e.client_ip);
        });
        q.push(
            " ON CONFLICT (workspace_id) DO UPDATE SET login_time = excluded.login_time, client_ip = excluded.client_ip \
             WHERE excluded.login_time > workspace_last_login.login_time",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The chart's network of a login: a prefix of its `ip_key` — 30 hex digits for an IPv4 /24
/// (mapped into IPv6), 16 for an IPv6 /64, empty without an address. The same as [`NETWORK_SQL`].
pub fn chart_network(ip_key: &str) -> &str {
    match ip_key {
        "" => "",
        k if k.starts_with("00000000000000000000ffff") => k.get(..30).unwrap_or(k),
        k => k.get(..16).unwrap_or(k),
    }
}

/// [`chart_network`] in SQL.
pub(super) const NETWORK_SQL: &str =
    "CASE WHEN ip_key = '' THEN '' WHEN substr(ip_key, 1, 24) = '00000000000000000000ffff' \
                           THEN substr(ip_key, 1, 30) ELSE substr(ip_key, 1, 16) END";

/// Adds new logins to the charts' counts (per hour and platform, per day and network).
pub async fn count_logins(conn: &mut SqliteConnection, events: &[&Event]) -> sqlx::Result<()> {
    let mut hourly: HashMap<(&str, &str), i64> = HashMap::new();
    let mut networks: HashMap<(&str, &str), i64> = HashMap::new();
    for e in events {
        *hourly
            .entry((e.login_time.get(..13).unwrap_or_default(), e.platform.as_str()))
            .or_default() += 1;
        *networks
            .entry((e.login_time.get(..10).unwrap_or_default(), chart_network(&e.ip_key)))
            .or_default() += 1;
    }
    for (table, key, counts) in [
        ("access_hourly", "hour, platform", hourly),
        ("access_daily_networks", "day, network", networks),
    ] {
        let rows: Vec<((&str, &str), i64)> = counts.into_iter().collect();
        for chunk in rows.chunks(1000) {
            let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} ({key}, logins) "));
            q.push_values(chunk, |mut row, ((a, b), n)| {
                row.push_bind(*a).push_bind(*b).push_bind(*n);
            });
            q.push(format!(
                " ON CONFLICT ({key}) DO UPDATE SET logins = logins + excluded.logins"
            ));
            q.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// An alert just raised, for the webhook.
#[derive(Clone, Debug)]
pub struct Raised {
    pub id: i64,
    pub kind: AlertKind,
    pub event_id: String,
    pub workspace_id: String,
    pub client_ip: String,
    pub network: String,
    pub login_time: String,
}

/// The /24 (IPv4) or /64 (IPv6) of an address.
pub fn network_of(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, prefix).expect("a valid prefix").trunc()
}

/// Raises the alerts of logins just stored (see the module's comment), in a few statements
/// whatever their number: the allowed networks are read once, the 30 days before each login
/// of their WorkSpaces in one read per 300 WorkSpaces, and the alerts stored in one insert.
pub async fn raise(conn: &mut SqliteConnection, events: &[&Event], now: &str) -> sqlx::Result<Vec<Raised>> {
    let judged: Vec<(&Event, IpNet, String)> = events
        .iter()
        .filter_map(|e| {
            // `::ffff:192.0.2.1` is the IPv4 address it maps (as `ip_key` and the charts see it).
            let network = network_of(e.client_ip.trim().parse::<IpAddr>().ok()?.to_canonical());
            Some((*e, network, days_before(&e.login_time, NEW_NETWORK_DAYS)?))
        })
        .collect();
    if judged.is_empty() {
        return Ok(Vec::new());
    }
    let allowed: Vec<(String, String, String)> =
        sqlx::query_as("SELECT directory_id, first_key, last_key FROM allowed_networks")
            .fetch_all(&mut *conn)
            .await?;
    // Each WorkSpace's window: from 30 days before its earliest login here to its latest.
    let mut windows: HashMap<&str, (String, String)> = HashMap::new();
    for (e, _, since) in &judged {
        let w = windows
            .entry(e.workspace_id.as_str())
            .or_insert_with(|| (since.clone(), e.login_time.clone()));
        if *since < w.0 {
            w.0 = since.clone();
        }
        if e.login_time > w.1 {
            w.1 = e.login_time.clone();
        }
    }
    let windows: Vec<(&str, (String, String))> = windows.into_iter().collect();
    let mut before: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for chunk in windows.chunks(300) {
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT workspace_id, login_time, ip_key, event_id FROM access_events WHERE ");
        for (i, (workspace, (from, to))) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push("(workspace_id = ")
                .push_bind(*workspace)
                .push(" AND login_time >= ")
                .push_bind(from.as_str())
                .push(" AND login_time < ")
                .push_bind(to.as_str())
                .push(")");
        }
        let rows: Vec<(String, String, String, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
        for (workspace, time, key, event) in rows {
            before.entry(workspace).or_default().push((time, key, event));
        }
    }
    let mut alerts: Vec<(&Event, IpNet, AlertKind)> = Vec::new();
    for (e, network, since) in &judged {
        let applies: Vec<_> = allowed
            .iter()
            .filter(|(directory, _, _)| directory.is_empty() || *directory == e.directory_id)
            .collect();
        let inside = |first: &str, last: &str| first <= e.ip_key.as_str() && e.ip_key.as_str() <= last;
        if !applies.is_empty() && !applies.iter().any(|(_, first, last)| inside(first, last)) {
            alerts.push((e, *network, AlertKind::Outside));
        }
        let (first, last) = key_range(*network);
        let earlier: Vec<&(String, String, String)> = before
            .get(&e.workspace_id)
            .into_iter()
            .flatten()
            // A login without an address says nothing of the WorkSpace's networks.
            .filter(|(time, key, event)| {
                !key.is_empty() && time >= since && *time < e.login_time && *event != e.event_id
            })
            .collect();
        if !earlier.is_empty() && !earlier.iter().any(|(_, key, _)| first <= *key && *key <= last) {
            alerts.push((e, *network, AlertKind::NewNetwork));
        }
    }
    let mut raised = Vec::new();
    for chunk in alerts.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO access_alerts (event_id, kind, workspace_id, directory_id, client_ip, network, login_time, \
             raised_at) ",
        );
        q.push_values(chunk, |mut row, (e, network, kind)| {
            row.push_bind(&e.event_id)
                .push_bind(kind.as_str())
                .push_bind(&e.workspace_id)
                .push_bind(&e.directory_id)
                .push_bind(&e.client_ip)
                .push_bind(network.to_string())
                .push_bind(&e.login_time)
                .push_bind(now);
        });
        q.push(" ON CONFLICT (event_id, kind) DO NOTHING RETURNING id, event_id, kind");
        let stored: Vec<(i64, String, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
        for (id, event_id, kind) in stored {
            let Some((e, network, kind)) = chunk
                .iter()
                .find(|(e, _, k)| e.event_id == event_id && k.as_str() == kind)
            else {
                continue;
            };
            raised.push(Raised {
                id,
                kind: *kind,
                event_id: e.event_id.clone(),
                workspace_id: e.workspace_id.clone(),
                client_ip: e.client_ip.clone(),
                network: network.to_string(),
                login_time: e.login_time.clone(),
            });
        }
    }
    Ok(raised)
}

/// `days` before a stored time, in the stored form.
fn days_before(time: &str, days: u32) -> Option<String> {
    let at = OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).ok()?;
    let at: SystemTime = at.into();
    Some(utc_text(at.checked_sub(Duration::from_secs(u64::from(days) * 86_400))?))
}

/// Each WorkSpace's last login, as the fleet reads it.
#[derive(Clone)]
pub struct LastLogins(Db);

impl LastLogins {
    pub fn new(db: Db) -> Self {
        LastLogins(db)
    }

    /// Every WorkSpace's last login (WorkSpace ID → UTC time): one row per WorkSpace.
    pub async fn all(&self) -> AppResult<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT workspace_id, login_time FROM workspace_last_login")
            .fetch_all(&self.0)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().collect())
    }
}

/// Deletes alerts about logins older than `before` (a midnight), and the charts' counts of the
/// hours and days before it.
pub async fn prune(db: &Db, before: &str) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM access_alerts WHERE login_time < ?")
        .bind(before)
        .execute(db)
        .await
        .map_err(db_error)?;
    for (sql, key) in [
        ("DELETE FROM access_hourly WHERE hour < ?", before.get(..13)),
        ("DELETE FROM access_daily_networks WHERE day < ?", before.get(..10)),
    ] {
        sqlx::query(sql)
            .bind(key.unwrap_or_default())
            .execute(db)
            .await
            .map_err(db_error)?;
    }
    Ok(done.rows_affected())
}

/// Notes why an alert could not be posted to the webhook (`None`: it was).
pub async fn set_webhook_error(db: &Db, id: i64, error: Option<&str>) -> AppResult<()> {
    sqlx::query("UPDATE access_alerts SET webhook_error = ? WHERE id = ?")
        .bind(error)
        .bind(id)
        .execute(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The service

impl Access {
    /// Posts each alert to `--alert-webhook` (when set), noting on the alert if it could not be.
    pub(super) fn post_alerts(&self, raised: Vec<Raised>) {
        let Some(webhook) = &self.settings.alert_webhook else {
            return;
        };
        for alert in raised {
            let text = format!(
                "WorkSpaces Access alert — {}: {} logged in from {} ({}) at {}",
                alert.kind.label(),
                alert.workspace_id,
                alert.client_ip,
                alert.network,
                alert.login_time
            );
            let answer = webhook.send(json!({
                "text": text,
                "kind": alert.kind.as_str(),
                "alertId": alert.id,
                "eventId": alert.event_id,
                "workspaceId": alert.workspace_id,
                "clientIpAddress": alert.client_ip,
                "network": alert.network,
                "loginTime": alert.login_time,
            }));
            let db = self.db.clone();
            tokio::spawn(async move {
                let error = match answer.await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some("the webhook stopped".to_string()),
                };
                if let Err(e) = set_webhook_error(&db, alert.id, error.as_deref()).await {
                    tracing::warn!(alert = alert.id, error = %e, "recording the webhook's outcome failed");
                }
            });
        }
    }

    /// `access/charts`: the logins of the page's search per day and platform, per hour, and
    /// per network — over its time range, or the last 30 days when it sets no start.
    pub async fn charts(&self, caller: &Caller, query: AccessQuery) -> AppResult<Charts> {
        let op = Operation::portal_read(
            GetLoginCharts::PATH,
            "GetLoginCharts",
            json!({ "query": crate::url::UrlQuery::to_query_string(&query) }),
        );
        let work = async {
            let mut filter = filter_of(&query)?;
            filter.before = None;
            let (first_day, last_day) = chart_days(filter.from.as_deref(), filter.to.as_deref())?;
            if filter.from.is_none() {
                filter.from = Some(format!("{first_day}T00:00:00.000Z"));
            }
            // Logins after the last day charted (a client's clock ahead) are not counted.
            if filter.to.is_none() {
                if let Some(after) = last_day.next_day() {
                    filter.to = Some(format!("{}T00:00:00.000Z", after.format(DAY).unwrap_or_default()));
                }
            }
            charts(&self.db, &filter, first_day, last_day).await
        };
        self.pipeline.run(caller, op, work).await
    }

    pub async fn networks(&self, caller: &Caller) -> AppResult<Vec<AllowedNetwork>> {
        let op = Operation::portal_read(ListAllowedNetworks::PATH, "ListAllowedNetworks", json!({}));
        self.pipeline.run(caller, op, networks(&self.db)).await
    }

    pub async fn add_network(
        &self,
        caller: &Caller,
        name: &str,
        cidr: &str,
        directory: &str,
    ) -> AppResult<AllowedNetwork> {
        let (name, directory) = (name.trim().to_string(), directory.trim().to_string());
        let op = Operation::portal_write(
            AddAllowedNetwork::PATH,
            "AddAllowedNetwork",
            json!({ "name": name, "cidr": cidr, "directoryId": directory }),
        );
        let work = async {
            if name.is_empty() || name.chars().count() > 64 {
                return Err(AppError::validation(
                    "name",
                    "give the network a name of 1 to 64 characters",
                ));
            }
            let net = crate::ssr::pipeline::parse_network(cidr)
                .map_err(|message| AppError::validation("cidr", message))?
                .trunc();
            let directory = directory.rsplit('/').next().unwrap_or_default().to_string();
            let is_directory_id = |d: &str| {
                d.strip_prefix("d-").is_some_and(|rest| {
                    (1..=63).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
                })
            };
            if !directory.is_empty() && !is_directory_id(&directory) {
                return Err(AppError::validation(
                    "directory",
                    format!("'{directory}' is not a directory ID (d-…); leave it empty for every directory"),
                ));
            }
            let (first, last) = key_range(net);
            let by = caller.identity().user_name;
            let done = sqlx::query(
                "INSERT INTO allowed_networks (name, cidr, directory_id, first_key, last_key, created_at, created_by) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&name)
            .bind(net.to_string())
            .bind(&directory)
            .bind(first)
            .bind(last)
            .bind(utc_now())
            .bind(&by)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
            if done.rows_affected() == 0 {
                return Err(AppError::Conflict {
                    message: format!(
                        "{net} is allowed already for {}",
                        if directory.is_empty() {
                            "every directory".to_string()
                        } else {
                            directory.clone()
                        }
                    ),
                });
            }
            let id = done.last_insert_rowid();
            networks(&self.db)
                .await?
                .into_iter()
                .find(|n| n.id == id)
                .ok_or_else(|| crate::ssr::internal("the network just added is gone"))
        };
        self.pipeline.run(caller, op, work).await
    }

    pub async fn remove_network(&self, caller: &Caller, id: &str) -> AppResult<()> {
        let op = Operation::portal_write(RemoveAllowedNetwork::PATH, "RemoveAllowedNetwork", json!({ "id": id }));
        let work = async {
            let id: i64 = id
                .trim()
                .parse()
                .map_err(|_| AppError::validation("id", "not an allowed network of this list"))?;
            let done = sqlx::query("DELETE FROM allowed_networks WHERE id = ?")
                .bind(id)
                .execute(&self.db)
                .await
                .map_err(db_error)?;
            if done.rows_affected() == 0 {
                return Err(AppError::NotFound {
                    message: "no such allowed network (removed already?)".into(),
                });
            }
            Ok(())
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `access/alerts/list`: open alerts (or all of them), newest login first.
    pub async fn alerts(&self, caller: &Caller, query: AlertQuery) -> AppResult<AlertPage> {
        let op = Operation::portal_read(
            ListAlerts::PATH,
            "ListAccessAlerts",
            json!({ "query": crate::url::UrlQuery::to_query_string(&query) }),
        );
        let work = async {
            let before = match query.before.trim() {
                "" => None,
                text => Some(
                    text.rsplit_once('~')
                        .and_then(|(time, id)| Some((time.to_string(), id.parse::<i64>().ok()?)))
                        .ok_or_else(|| {
                            AppError::validation("before", "not a page of this list (follow the page links)")
                        })?,
                ),
            };
            let mut items = alerts(&self.db, query.all, before, ALERT_PAGE + 1).await?;
            let next = (items.len() > ALERT_PAGE).then(|| {
                items.truncate(ALERT_PAGE);
                let last = items.last().expect("a full page");
                format!("{}~{}", last.login_time, last.id)
            });
            let open: i64 = sqlx::query_scalar("SELECT count(*) FROM access_alerts WHERE acknowledged_at IS NULL")
                .fetch_one(&self.db)
                .await
                .map_err(db_error)?;
            Ok(AlertPage {
                items,
                next,
                open: open as u64,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// Acknowledges an open alert (who and when are kept on it, and the request recorded).
    pub async fn acknowledge(&self, caller: &Caller, id: &str) -> AppResult<()> {
        let op = Operation::portal_write(AcknowledgeAlert::PATH, "AcknowledgeAccessAlert", json!({ "id": id }));
        let work = async {
            let id: i64 = id
                .trim()
                .parse()
                .map_err(|_| AppError::validation("id", "not an alert of this list"))?;
            let by = caller.identity().user_name;
            let done = sqlx::query(
                "UPDATE access_alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL",
            )
            .bind(utc_now())
            .bind(&by)
            .bind(id)
            .execute(&self.db)
            .await
            .map_err(db_error)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            let earlier: Option<(Option<String>, Option<String>)> =
                sqlx::query_as("SELECT acknowledged_by, acknowledged_at FROM access_alerts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.db)
                    .await
                    .map_err(db_error)?;
            Err(match earlier {
                None => AppError::NotFound {
                    message: "no such alert (pruned with its login?)".into(),
                },
                Some((who, when)) => AppError::Conflict {
                    message: format!(
                        "this alert was acknowledged already, by {} at {}",
                        who.unwrap_or_default(),
                        when.unwrap_or_default()
                    ),
                },
            })
        };
        self.pipeline.run(caller, op, work).await
    }
}

async fn networks(db: &Db) -> AppResult<Vec<AllowedNetwork>> {
    let rows = sqlx::query(
        "SELECT id, name, cidr, directory_id, created_at, created_by FROM allowed_networks \
         ORDER BY directory_id, first_key, id",
    )
    .fetch_all(db)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|r| AllowedNetwork {
            id: r.get("id"),
            name: r.get("name"),
            cidr: r.get("cidr"),
            directory_id: Some(r.get::<String, _>("directory_id")).filter(|d| !d.is_empty()),
            created_at: r.get("created_at"),
            created_by: r.get("created_by"),
        })
        .collect())
}

async fn alerts(db: &Db, all: bool, before: Option<(String, i64)>, limit: usize) -> AppResult<Vec<AccessAlert>> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT a.id, a.kind, a.event_id, a.workspace_id, a.directory_id, e.user_name, a.client_ip, a.network, \
         a.login_time, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.webhook_error FROM access_alerts a \
         LEFT JOIN access_events e ON e.event_id = a.event_id WHERE 1 = 1",
    );
    if !all {
        q.push(" AND a.acknowledged_at IS NULL");
    }
    if let Some((time, id)) = &before {
        q.push(" AND (a.login_time < ")
            .push_bind(time.clone())
            .push(" OR (a.login_time = ")
            .push_bind(time.clone())
            .push(" AND a.id < ")
            .push_bind(*id)
            .push("))");
    }
    q.push(" ORDER BY a.login_time DESC, a.id DESC LIMIT ")
        .push_bind(limit as i64);
    let rows = q.build().fetch_all(db).await.map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(AccessAlert {
                id: r.get("id"),
                kind: AlertKind::parse(r.get("kind"))?,
                event_id: r.get("event_id"),
                workspace_id: r.get("workspace_id"),
                directory_id: r.get("directory_id"),
                user_name: r.get::<Option<String>, _>("user_name").filter(|u| !u.is_empty()),
                client_ip: r.get("client_ip"),
                network: r.get("network"),
                login_time: r.get("login_time"),
                raised_at: r.get("raised_at"),
                acknowledged_at: r.get("acknowledged_at"),
                acknowledged_by: r.get("acknowledged_by"),
                webhook_error: r.get("webhook_error"),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ssr::event::ip_key;

    #[test]
    fn the_chart_network_of_a_key_is_its_24_or_64_prefix() {
        let v4 = ip_key("198.51.100.7".parse().unwrap());
        assert_eq!(chart_network(&v4), &v4[..30]);
        let v6 = ip_key("2001:db8:1:2::9".parse().unwrap());
        assert_eq!(chart_network(&v6), &v6[..16]);
        assert_eq!(chart_network(""), "");
    }

    #[test]
    fn a_login_network_is_its_slash_24_or_slash_64() {
        assert_eq!(
            network_of("203.0.113.77".parse().unwrap()).to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:a:b:c::1".parse().unwrap()).to_string(),
            "2001:db8:a:b::/64"
        );
    }

    #[test]
    fn thirty_days_before_a_login() {
        assert_eq!(
            days_before("2026-03-31T10:00:00.500Z", 30).as_deref(),
            Some("2026-03-01T10:00:00.500Z")
        );
    }
}
