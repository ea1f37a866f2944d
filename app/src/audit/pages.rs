//! `/audit`: search the audit log (every filter at once, newest first, 50 per page), open a
//! record's full JSON at `/audit/{eventID}`, export the filtered set.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::ui::{ErrorBox, KeysetPager};
use crate::url::UrlQuery;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| AuditQuery::from_pairs(p.latest_values().map(|(k, v)| (k.as_ref(), v)))));
    let page = Resource::new(move || query.get(), list_audit);
    view! {
        <Title text="Audit log — WorkSpaces Portal"/>
        <div class="page-head">
            <h1>"Audit log"</h1>
            <div class="export" aria-label="Export">
                <span class="muted">"Export these results: "</span>
                <a class="button" download="" rel="external" href=move || query.get().export_href("cloudtrail")>"CloudTrail JSON"</a>
                <a class="button" download="" rel="external" href=move || query.get().export_href("csv")>"CSV"</a>
            </div>
        </div>
        <p class="hint">
            "Every request made through the portal, in CloudTrail's record format. "
            "Records are chained by SHA-256 and checkpoints are signed; "
            <code>"workspaces-portal audit verify"</code> " checks them."
        </p>
        <AuditFilters query/>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => Either::Left(view! { <AuditTable data query=query.get_untracked()/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditFilters(query: Memo<AuditQuery>) -> impl IntoView {
    let q = query.get_untracked();
    let events = EVENT_NAMES
        .iter()
        .map(|e| view! { <option value=*e selected=q.event == *e>{*e}</option> })
        .collect_view();
    view! {
        <Form method="GET" action="/audit" attr:class="filters" attr:aria-label="Filter the audit log">
            <label>"Event name"
                <select name="event">
                    <option value="" selected=q.event.is_empty()>"Any"</option>
                    {events}
                </select>
            </label>
            <label>"User" <input type="text" name="user" value=q.user.clone() placeholder="user name"/></label>
            <label>"Resource ID" <input type="text" name="resource" value=q.resource.clone() placeholder="ws-…, d-…, wsb-…"/></label>
            <label>"From (UTC)" <input type="datetime-local" name="from" value=q.from.clone()/></label>
            <label>"To (UTC)" <input type="datetime-local" name="to" value=q.to.clone()/></label>
            <label>"Source IP" <input type="text" name="ip" value=q.ip.clone()/></label>
            <label class="check"><input type="checkbox" name="reads" value="true" checked=q.reads/> "Show read-only events"</label>
            <label class="check"><input type="checkbox" name="errors" value="true" checked=q.errors/> "Errors only"</label>
            <div class="filter-actions">
                <button type="submit" class="button">"Search"</button>
                <a href="/audit" class="button subtle">"Clear"</a>
            </div>
        </Form>
    }
}

/// How a record's outcome reads in one word.
fn outcome_badge(row: &AuditRow) -> (&'static str, String) {
    match (row.outcome, &row.error_code) {
        (Outcome::Started, _) => ("busy", "in progress".into()),
        (Outcome::Unknown, _) => ("bad", "outcome unknown".into()),
        (_, Some(code)) => ("bad", code.clone()),
        _ if row.failed_items > 0 => ("bad", format!("{} item(s) failed", row.failed_items)),
        _ => ("ok", "success".into()),
    }
}

#[component]
fn AuditTable(data: AuditPage, query: AuditQuery) -> impl IntoView {
    if data.items.is_empty() {
        let message = if query.before.is_some() {
            "No older records match."
        } else if query.reads {
            "No records match these filters."
        } else {
            "No records match these filters. Read-only events are hidden: tick “Show read-only events” to see them."
        };
        return Either::Left(view! { <p class="empty">{message}</p> });
    }
    let newest = query.before.is_some().then(|| {
        AuditQuery {
            before: None,
            ..query.clone()
        }
        .href()
    });
    let older = data.next_before.map(|before| {
        AuditQuery {
            before: Some(before),
            ..query.clone()
        }
        .href()
    });
    let rows = data
        .items
        .into_iter()
        .map(|r| {
            let (kind, label) = outcome_badge(&r);
            let resources = r
                .resources
                .iter()
                .map(|id| {
                    let href = AuditQuery {
                        resource: id.clone(),
                        reads: true,
                        ..Default::default()
                    }
                    .href();
                    view! { <a class="mono" href=href>{id.clone()}</a> " " }
                })
                .collect_view();
            view! {
                <tr data-event-id=r.event_id.clone()>
                    <td class="mono nowrap"><a href=format!("/audit/{}", r.event_id)>{r.event_time.replace('T', " ")}</a></td>
                    <td>{r.event_name.clone()} {r.read_only.then(|| view! { " " <span class="muted">"(read)"</span> })}</td>
                    <td>{r.user_name.clone()}</td>
                    <td class="mono">{r.source_ip.clone()}</td>
                    <td>{resources}</td>
                    <td><span class=format!("badge badge-{kind}") title=r.error_message.clone().unwrap_or_default()>{label}</span></td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="audit">
                <thead>
                    <tr>
                        <th scope="col">"Event time (UTC)"</th>
                        <th scope="col">"Event name"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Source IP"</th>
                        <th scope="col">"Resources"</th>
                        <th scope="col">"Outcome"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <KeysetPager first=newest next=older first_label="« Newest" next_label="Older »"/>
    })
}

#[component]
pub fn AuditRecordPage() -> impl IntoView {
    let params = use_params_map();
    let event_id = Memo::new(move |_| params.with(|p| p.get("event_id").unwrap_or_default()));
    let record = Resource::new(move || event_id.get(), get_audit_record);
    view! {
        <Title text=move || format!("Audit record {} — WorkSpaces Portal", event_id.get())/>
        <p class="breadcrumb"><a href="/audit">"Audit log"</a> " / " <span class="mono">{move || event_id.get()}</span></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match record.await {
                    Ok(d) => Either::Left({
                        let (kind, label) = outcome_badge(&d.row);
                        let history = d.row.resources.iter().map(|id| {
                            let href = AuditQuery { resource: id.clone(), reads: true, ..Default::default() }.href();
                            view! { <a class="mono" href=href>{id.clone()}</a> " " }
                        }).collect_view();
                        view! {
                            <div class="page-head">
                                <h1>{d.row.event_name.clone()}</h1>
                                <span class=format!("badge badge-{kind}")>{label}</span>
                            </div>
                            <section class="card">
                                <dl class="props">
                                    <div class="prop"><dt>"Event time (UTC)"</dt><dd class="mono">{d.row.event_time.clone()}</dd></div>
                                    <div class="prop"><dt>"User"</dt><dd>{d.row.user_name.clone()}</dd></div>
                                    <div class="prop"><dt>"Source IP"</dt><dd class="mono">{d.row.source_ip.clone()}</dd></div>
                                    <div class="prop"><dt>"Error"</dt><dd>{d.row.error_message.clone().unwrap_or_else(|| "—".into())}</dd></div>
                                    <div class="prop"><dt>"History of"</dt><dd>{history}</dd></div>
                                    <div class="prop"><dt>"Chain position"</dt><dd class="mono">{d.chain_seq.map(|s| format!("#{s}")).unwrap_or_else(|| "not sealed yet".into())}</dd></div>
                                    <div class="prop"><dt>"SHA-256"</dt><dd class="mono">{d.hash.clone().unwrap_or_else(|| "—".into())}</dd></div>
                                </dl>
                            </section>
                            <h2>"Record"</h2>
                            <pre class="json" tabindex="0" aria-label="The record's JSON">{d.json.clone()}</pre>
                        }
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

/// A resource's recent changes, for its own page (the WorkSpace detail page).
#[component]
pub fn ResourceHistory(#[prop(into)] resource: Signal<String>, #[prop(into)] version: Signal<usize>) -> impl IntoView {
    let page = Resource::new(
        move || (resource.get(), version.get()),
        |(resource, _)| {
            list_audit(AuditQuery {
                resource,
                ..Default::default()
            })
        },
    );
    view! {
        <section class="card history">
            <h2>"History"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(data) if data.items.is_empty() => EitherOf3::A(view! {
                            <p class="hint">"No changes made through the portal yet."</p>
                        }),
                        Ok(data) => {
                            let rows = data.items.into_iter().take(10).map(|r| {
                                let (kind, label) = outcome_badge(&r);
                                view! {
                                    <li>
                                        <a class="mono" href=format!("/audit/{}", r.event_id)>{r.event_time.replace('T', " ")}</a>
                                        " " {r.event_name.clone()} " by " {r.user_name.clone()} " "
                                        <span class=format!("badge badge-{kind}")>{label}</span>
                                    </li>
                                }
                            }).collect_view();
                            EitherOf3::B(view! { <ul class="history-list">{rows}</ul> })
                        }
                        Err(e) => EitherOf3::C(view! { <ErrorBox error=e/> }),
                    }
                })}
            </Transition>
            <p><a href=move || AuditQuery { resource: resource.get(), reads: true, ..Default::default() }.href()>
                "Full history in the audit log, reads included"
            </a></p>
        </section>
    }
}
