//! `/`: the fleet at a glance.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::access::pages::OpenAlerts;
use crate::approvals::pages::OverduePostReviews;
use crate::fleet::*;
use crate::ui::{ErrorBox, StateBadge};
use crate::url;

#[component]
pub fn HomePage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| fleet_summary());
    view! {
        <Title text="Overview — WorkSpaces Portal"/>
        <h1>"Fleet overview"</h1>
        <OverduePostReviews/>
        <OpenAlerts/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => Either::Left(view! {
                        <p class="count">{format!("{} WorkSpaces", s.total)}</p>
                        <div class="columns three">
                            <Chart title="By state" counts=s.by_state.clone() total=s.total link="state"/>
                            <Chart title="By directory" counts=s.by_directory.clone() total=s.total link=""/>
                            <Chart title="By running mode" counts=s.by_running_mode.clone() total=s.total link="mode"/>
                        </div>
                        <Attention items=s.attention.clone() total=s.attention_total/>
                        <SyncHealthCard health=s.sync.clone()/>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

/// Horizontal bars; each label links to the fleet filtered by it when `link` names a filter.
#[component]
fn Chart(title: &'static str, counts: Vec<Count>, total: usize, link: &'static str) -> impl IntoView {
    let rows = counts
        .into_iter()
        .map(|c| {
            let share = if total == 0 {
                0.0
            } else {
                c.count as f64 * 100.0 / total as f64
            };
            let label = if link.is_empty() {
                Either::Left(view! { <span>{c.label.clone()}</span> })
            } else {
                Either::Right(
                    view! { <a href=format!("/workspaces?{link}={}", url::encode(&c.label))>{c.label.clone()}</a> },
                )
            };
            view! {
                <li>
                    <span class="bar-label">{label}</span>
                    <span class="bar" role="img" aria-label=format!("{} of {total}", c.count)>
                        <span class="bar-fill" style=format!("width: {share:.1}%")></span>
                    </span>
                    <span class="bar-count">{c.count}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <h2>{title}</h2>
            <ul class="chart">{rows}</ul>
        </section>
    }
}

#[component]
fn Attention(items: Vec<WorkspaceSummary>, total: usize) -> impl IntoView {
    if items.is_empty() {
        return Either::Left(
            view! { <section class="card"><h2>"Needs attention"</h2><p>"No WorkSpace is in ERROR, IMPAIRED or UNHEALTHY."</p></section> },
        );
    }
    Either::Right(view! {
        <section class="card">
            <h2>{format!("Needs attention ({total})")}</h2>
            {(total > items.len()).then(|| view! {
                <p class="hint">{format!("The first {} by ID; the states in “By state” list them all.", items.len())}</p>
            })}
            <table>
                <thead><tr><th scope="col">"WorkSpace"</th><th scope="col">"User"</th><th scope="col">"State"</th><th scope="col">"Error"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|w| view! {
                        <tr>
                            <td><a class="mono" href=format!("/workspaces/{}", w.id)>{w.id.as_str().to_owned()}</a></td>
                            <td>{w.user_name.clone()}</td>
                            <td><StateBadge state=w.state.clone()/></td>
                            <td>{w.error_message.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    })
}

/// How the inventory's sync is doing: how fresh the pages are, its errors, and its calls to AWS.
#[component]
fn SyncHealthCard(health: SyncHealth) -> impl IntoView {
    let last_sweep = match (health.last_sweep_ms, health.last_sweep_calls) {
        (Some(ms), Some(calls)) if ms < 1000 => format!("took {ms} ms, {calls} calls"),
        (Some(ms), Some(calls)) => format!("took {:.1} s, {calls} calls", ms as f64 / 1000.0),
        _ => "none complete yet".to_string(),
    };
    let under_way = if health.sweeping {
        format!("under way, {} pages read", health.sweep_calls)
    } else {
        "waiting for the next".to_string()
    };
    let errors = match (&health.last_error, health.last_error_secs_ago) {
        (Some(last), Some(ago)) if health.errors > 0 => {
            format!(
                "{} (the last {}: {last}; the sync backs off and resumes)",
                health.errors,
                ago_text(ago)
            )
        }
        _ => "none".to_string(),
    };
    let healthy = health.last_error_secs_ago.is_none_or(|ago| ago > 300);
    view! {
        <section class="card sync-health" aria-labelledby="sync-health">
            <h2 id="sync-health">"Inventory sync " {if healthy { "" } else { "· recent errors" }}</h2>
            <dl>
                <dt>"Fleet"</dt><dd>{health.freshness()}</dd>
                <dt>"Last complete sweep"</dt><dd>{last_sweep}</dd>
                <dt>"Sweep"</dt><dd>{under_way}</dd>
                <dt>"Calls to AWS"</dt><dd>{format!("{} in the last minute (at most {} per second)", health.calls_last_minute, health.max_calls_per_sec)}</dd>
                <dt>"Tags to read"</dt><dd>{match health.details_due {
                    0 => "none".to_string(),
                    n => format!("{n} WorkSpaces (new, changed or refreshed)"),
                }}</dd>
                <dt>"Failed calls"</dt><dd>{errors}</dd>
            </dl>
        </section>
    }
}
