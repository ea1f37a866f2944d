//! The logins page's charts, as SVG rendered on the server (no charting library): logins per
//! day stacked by platform, by hour of day, and the top client networks. Each is readable
//! without colour — a legend names every series with its total, each bar carries its numbers as
//! a tooltip, and the numbers are in a table beside it for screen readers and for reading.

use leptos::prelude::*;

use crate::access::LoginCharts;

/// Series colours (a colour-blind-safe palette, Okabe–Ito), by platform rank.
const SERIES: usize = 8;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
const AXIS: f64 = 28.0;

fn series_class(i: usize) -> String {
    format!("series series-{}", i.min(SERIES - 1))
}

/// A round top for an axis: 1, 2, 5 × 10ⁿ at or above `max`.
fn axis_top(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

#[component]
pub fn LoginChartsView(charts: LoginCharts) -> impl IntoView {
    let range = format!("{} to {} (UTC)", charts.first_day, charts.last_day);
    if charts.total == 0 {
        return view! {
            <section class="card charts" aria-labelledby="charts-title">
                <h2 id="charts-title">"Logins charted"</h2>
                <p class="empty">{format!("No login matches this search from {range}.")}</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card charts" aria-labelledby="charts-title">
            <h2 id="charts-title">{format!("Logins charted: {} from {range}", charts.total)}</h2>
            <div class="chart-grid">
                <PerDay charts=charts.clone()/>
                <PerHour hours=charts.hours.clone()/>
                <TopNetworks charts=charts.clone()/>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn PerDay(charts: LoginCharts) -> impl IntoView {
    let totals: Vec<u64> = charts.days.iter().map(|d| d.counts.iter().sum()).collect();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0));
    let n = charts.days.len().max(1) as f64;
    let slot = (WIDTH - AXIS) / n;
    let bar = (slot * 0.8).max(1.0);
    let scale = HEIGHT / top as f64;
    let label_every = (charts.days.len() / 8).max(1);
    let bars = charts
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = AXIS + i as f64 * slot + (slot - bar) / 2.0;
            let mut y = HEIGHT;
            let segments = day
                .counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(p, count)| {
                    let h = *count as f64 * scale;
                    y -= h;
                    let title = format!("{}: {} logins on {}", charts.platforms[p], count, day.day);
                    view! {
                        <rect class=series_class(p) x=format!("{x:.1}") y=format!("{y:.1}")
                            width=format!("{bar:.1}") height=format!("{h:.1}")>
                            <title>{title}</title>
                        </rect>
                    }
                })
                .collect_view();
            let label = (i % label_every == 0).then(|| {
                view! {
                    <text class="tick" x=format!("{:.1}", x + bar / 2.0) y=format!("{}", HEIGHT + 14.0)
                        text-anchor="middle">{day.day.get(5..).unwrap_or_default().to_string()}</text>
                }
            });
            view! { <g>{segments}{label}</g> }
        })
        .collect_view();
    let legend = charts
        .platforms
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let total: u64 = charts.days.iter().map(|d| d.counts[p]).sum();
            view! {
                <li><span class=format!("swatch {}", series_class(p)) aria-hidden="true"></span>
                    {format!("{name}: {total}")}</li>
            }
        })
        .collect_view();
    let rows = charts
        .days
        .iter()
        .zip(&totals)
        .filter(|(_, total)| **total > 0)
        .map(|(day, total)| {
            view! {
                <tr>
                    <th scope="row">{day.day.clone()}</th>
                    {day.counts.iter().map(|c| view! { <td>{c.to_string()}</td> }).collect_view()}
                    <td>{total.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="login-chart chart-days">
            <figcaption id="chart-days">"Logins per day, by platform"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 20.0) role="img" aria-labelledby="chart-days">
                <Axis top/>
                {bars}
            </svg>
            <ul class="legend">{legend}</ul>
            <details>
                <summary>"The numbers per day"</summary>
                <table class="chart-numbers">
                    <thead><tr>
                        <th scope="col">"Day"</th>
                        {charts.platforms.iter().map(|p| view! { <th scope="col">{p.clone()}</th> }).collect_view()}
                        <th scope="col">"All"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[component]
fn PerHour(hours: Vec<u64>) -> impl IntoView {
    let top = axis_top(hours.iter().copied().max().unwrap_or(0));
    let slot = (WIDTH - AXIS) / 24.0;
    let bar = slot * 0.8;
    let scale = HEIGHT / top as f64;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(hour, count)| {
            let x = AXIS + hour as f64 * slot + (slot - bar) / 2.0;
            let h = *count as f64 * scale;
            let label = (hour % 3 == 0).then(|| {
                view! {
                    <text class="tick" x=format!("{:.1}", x + bar / 2.0) y=format!("{}", HEIGHT + 14.0)
                        text-anchor="middle">{format!("{hour:02}")}</text>
                }
            });
            view! {
                <g>
                    <rect class="series series-0" x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - h)
                        width=format!("{bar:.1}") height=format!("{h:.1}")>
                        <title>{format!("{hour:02}:00–{hour:02}:59 UTC: {count} logins")}</title>
                    </rect>
                    {label}
                </g>
            }
        })
        .collect_view();
    let rows = hours
        .iter()
        .enumerate()
        .map(|(hour, count)| view! { <tr><th scope="row">{format!("{hour:02}:00")}</th><td>{count.to_string()}</td></tr> })
        .collect_view();
    view! {
        <figure class="login-chart chart-hours">
            <figcaption id="chart-hours">"Logins by hour of the day (UTC)"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 20.0) role="img" aria-labelledby="chart-hours">
                <Axis top/>
                {bars}
            </svg>
            <details>
                <summary>"The numbers per hour"</summary>
                <table class="chart-numbers">
                    <thead><tr><th scope="col">"Hour (UTC)"</th><th scope="col">"Logins"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

/// Horizontal bars, each labelled with its network and count: the text is the chart.
#[component]
fn TopNetworks(charts: LoginCharts) -> impl IntoView {
    let top = charts.networks.first().map_or(1, |n| n.logins.max(1)) as f64;
    let rows = charts
        .networks
        .iter()
        .map(|n| {
            let share = n.logins as f64 * 100.0 / charts.total.max(1) as f64;
            view! {
                <li>
                    <span class="network mono">{n.network.clone()}</span>
                    <span class="bar-track" aria-hidden="true">
                        <span class="net-fill series-0" style=format!("width: {:.1}%", n.logins as f64 * 100.0 / top)></span>
                    </span>
                    <span class="count">{format!("{} ({share:.0} %)", n.logins)}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <figure class="login-chart chart-networks">
            <figcaption id="chart-networks">"Top client networks (/24, /64)"</figcaption>
            <ol class="net-bars" aria-labelledby="chart-networks">{rows}</ol>
        </figure>
    }
}

/// The value axis: its top and middle, with faint lines.
#[component]
fn Axis(top: u64) -> impl IntoView {
    let mid = HEIGHT / 2.0;
    view! {
        <g class="axis" aria-hidden="true">
            <line x1=format!("{AXIS}") x2=format!("{WIDTH}") y1="0.5" y2="0.5"/>
            <line x1=format!("{AXIS}") x2=format!("{WIDTH}") y1=format!("{mid}") y2=format!("{mid}")/>
            <line x1=format!("{AXIS}") x2=format!("{WIDTH}") y1=format!("{HEIGHT}") y2=format!("{HEIGHT}")/>
            <text class="tick" x="0" y="10">{top.to_string()}</text>
            <text class="tick" x="0" y=format!("{}", mid + 4.0)>{(top / 2).to_string()}</text>
        </g>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_are_round() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(180), 200);
        assert_eq!(axis_top(501), 1000);
    }
}
