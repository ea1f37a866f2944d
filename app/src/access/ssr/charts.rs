//! The logins' charts: per day and platform, per hour, per network — from the counts kept on
//! arrival when the search sets only whole days, else from the logins themselves.

use std::net::{Ipv4Addr, Ipv6Addr};

use sqlx::{QueryBuilder, Sqlite};

use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::review::{db_error, NETWORK_SQL};
use super::store;
use crate::access::{DayCount, LoginCharts as Charts, NetworkCount};
use crate::error::{AppError, AppResult};
use crate::ssr::db::Db;

/// Days charted when the search sets no start.
const CHART_DAYS: i64 = 30;
/// The most days one chart spans.
const MAX_CHART_DAYS: i64 = 400;

pub(super) const DAY: &[time::format_description::FormatItem<'_>] = format_description!("[year]-[month]-[day]");

/// The first and last day charted: the search's range, or the 30 days up to its end (today).
pub(super) fn chart_days(from: Option<&str>, to: Option<&str>) -> AppResult<(Date, Date)> {
    let day_of = |t: &str| Date::parse(t.get(..10).unwrap_or_default(), DAY).ok();
    let today = OffsetDateTime::now_utc().date();
    // `to` is exclusive: a range to midnight ends the day before.
    let last = match to {
        Some(t) if t.get(10..).is_some_and(|rest| rest.starts_with("T00:00:00.000")) => {
            day_of(t).and_then(|d| d.previous_day())
        }
        Some(t) => day_of(t),
        None => Some(today),
    }
    .unwrap_or(today);
    let first = match from {
        Some(t) => day_of(t).unwrap_or(last),
        None => last - time::Duration::days(CHART_DAYS - 1),
    };
    if first > last {
        return Err(AppError::validation("from", "the range starts after it ends"));
    }
    if (last - first).whole_days() >= MAX_CHART_DAYS {
        return Err(AppError::validation(
            "from",
            format!("a chart spans at most {MAX_CHART_DAYS} days: narrow the range"),
        ));
    }
    Ok((first, last))
}

/// Logins per key (an hour, a network).
type Counts = Vec<(String, i64)>;

/// Whether the charts of `filter` can be read from the counts: it sets nothing but a range of
/// whole days.
fn counted(filter: &store::Filter) -> bool {
    let whole_day = |t: &Option<String>| t.as_ref().is_none_or(|t| t.get(10..) == Some("T00:00:00.000Z"));
    let store::Filter {
        workspace,
        user,
        directory,
        ip,
        platform,
        product,
        from,
        to,
        before: _,
    } = filter;
    [workspace, user, directory, platform, product]
        .iter()
        .all(|f| f.is_none())
        && ip.is_none()
        && whole_day(from)
        && whole_day(to)
}

pub(super) async fn charts(db: &Db, filter: &store::Filter, first: Date, last: Date) -> AppResult<Charts> {
    let (per_day, per_hour, per_network): (Vec<(String, String, i64)>, Counts, Counts) = if counted(filter) {
        // The counts: a few rows per hour and day, however many logins.
        let bound = |t: &Option<String>, len: usize, none: &str| {
            t.as_deref().and_then(|t| t.get(..len)).unwrap_or(none).to_string()
        };
        let (from_hour, to_hour) = (bound(&filter.from, 13, ""), bound(&filter.to, 13, "~"));
        let (from_day, to_day) = (bound(&filter.from, 10, ""), bound(&filter.to, 10, "~"));
        let per_day = sqlx::query_as(
            "SELECT substr(hour, 1, 10), platform, sum(logins) FROM access_hourly \
                 WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
        )
        .bind(&from_hour)
        .bind(&to_hour)
        .fetch_all(db)
        .await
        .map_err(db_error)?;
        let per_hour = sqlx::query_as(
            "SELECT substr(hour, 12, 2), sum(logins) FROM access_hourly WHERE hour >= ? AND hour < ? GROUP BY 1",
        )
        .bind(&from_hour)
        .bind(&to_hour)
        .fetch_all(db)
        .await
        .map_err(db_error)?;
        let per_network = sqlx::query_as(
            "SELECT network, sum(logins) FROM access_daily_networks WHERE day >= ? AND day < ? \
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        )
        .bind(&from_day)
        .bind(&to_day)
        .fetch_all(db)
        .await
        .map_err(db_error)?;
        (per_day, per_hour, per_network)
    } else {
        let grouped = |select: &str, group: &str| {
            let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {select}, count(*) FROM access_events"));
            store::push_filter(&mut q, filter);
            q.push(format!(" GROUP BY {group}"));
            q
        };
        let per_day = grouped("substr(login_time, 1, 10), platform", "1, 2")
            .build_query_as()
            .fetch_all(db)
            .await
            .map_err(db_error)?;
        let per_hour = grouped("substr(login_time, 12, 2)", "1")
            .build_query_as()
            .fetch_all(db)
            .await
            .map_err(db_error)?;
        let mut top = grouped(NETWORK_SQL, "1");
        top.push(" ORDER BY 2 DESC, 1 LIMIT 10");
        let per_network = top.build_query_as().fetch_all(db).await.map_err(db_error)?;
        (per_day, per_hour, per_network)
    };

    let mut platforms: Vec<(String, u64)> = Vec::new();
    for (_, platform, n) in &per_day {
        match platforms.iter_mut().find(|(p, _)| p == platform) {
            Some((_, total)) => *total += *n as u64,
            None => platforms.push((platform.clone(), *n as u64)),
        }
    }
    platforms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut days = Vec::new();
    let mut day = first;
    loop {
        let text = day.format(DAY).unwrap_or_default();
        let counts = platforms
            .iter()
            .map(|(p, _)| {
                per_day
                    .iter()
                    .find(|(d, q, _)| *d == text && q == p)
                    .map_or(0, |(_, _, n)| *n as u64)
            })
            .collect();
        days.push(DayCount { day: text, counts });
        match day.next_day() {
            Some(next) if next <= last => day = next,
            _ => break,
        }
    }
    let mut hours = vec![0u64; 24];
    for (hour, n) in per_hour {
        if let Some(slot) = hour.parse::<usize>().ok().and_then(|h| hours.get_mut(h)) {
            *slot = n as u64;
        }
    }
    Ok(Charts {
        first_day: first.format(DAY).unwrap_or_default(),
        last_day: last.format(DAY).unwrap_or_default(),
        total: platforms.iter().map(|(_, n)| n).sum(),
        platforms: platforms.into_iter().map(|(p, _)| p).collect(),
        days,
        hours,
        networks: per_network
            .into_iter()
            .map(|(prefix, n)| NetworkCount {
                network: network_label(&prefix),
                logins: n as u64,
            })
            .collect(),
    })
}

/// A network of the chart's grouping (a prefix of `ip_key`) as CIDR text.
fn network_label(prefix: &str) -> String {
    match prefix.len() {
        30 => u32::from_str_radix(&prefix[24..], 16)
            .map(|v| format!("{}/24", Ipv4Addr::from(v << 8)))
            .unwrap_or_default(),
        16 => u64::from_str_radix(prefix, 16)
            .map(|v| format!("{}/64", Ipv6Addr::from(u128::from(v) << 64)))
            .unwrap_or_default(),
        _ => "no address".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ssr::event::ip_key;

    #[test]
    fn a_chart_network_is_named_from_its_key_prefix() {
        let v4 = ip_key("198.51.100.7".parse().unwrap());
        assert_eq!(network_label(&v4[..30]), "198.51.100.0/24");
        let v6 = ip_key("2001:db8:1:2::9".parse().unwrap());
        assert_eq!(network_label(&v6[..16]), "2001:db8:1:2::/64");
        assert_eq!(network_label(""), "no address");
    }

    #[test]
    fn the_chart_spans_the_search_or_the_last_thirty_days() {
        let (first, last) = chart_days(Some("2026-11-01T00:00:00.000Z"), Some("2026-11-08T00:00:00.000Z")).unwrap();
        assert_eq!(
            (first.to_string(), last.to_string()),
            ("2026-11-01".into(), "2026-11-07".into())
        );
        let (first, last) = chart_days(None, None).unwrap();
        assert_eq!((last - first).whole_days(), CHART_DAYS - 1);
        assert!(chart_days(Some("2026-11-09T00:00:00.000Z"), Some("2026-11-08T00:00:00.000Z")).is_err());
        assert!(chart_days(Some("2020-01-01T00:00:00.000Z"), Some("2026-11-08T00:00:00.000Z")).is_err());
    }
}
