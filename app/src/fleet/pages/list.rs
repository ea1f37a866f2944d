//! `/workspaces`: the whole fleet, filtered, sorted and paged, with bulk actions.

use std::collections::BTreeSet;

use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::{Freshness, LIVE_REFRESH};
use crate::approvals::pages::{offered, pending_of, request_action, PendingMarks, RequestDialog, RequestResult};
use crate::approvals::{ApprovalAction, ApprovalRule, PendingApproval};
use crate::error::AppError;
use crate::fleet::*;
use crate::identity::Me;
use crate::policy;
use crate::ui::{
    batch_action, signed_in_user, use_who, BatchActionHandle, BatchResult, ConfirmDialog, ErrorBox, GoneBadge,
    NotAllowed, StateBadge,
};
use crate::url::UrlQuery;

#[component]
pub fn FleetPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| FleetQuery::from_pairs(p.latest_values().map(|(k, v)| (k.as_ref(), v)))));
    // The page and the pending requests on its WorkSpaces, loaded together so that both are
    // awaited before anything renders (the same marks on the server and after hydration).
    let refresh = ServerAction::<RefreshWorkspaces>::new();
    let page = Resource::new(
        move || (query.get(), refresh.version().get()),
        |(query, _)| async move {
            let page = list_workspaces(query).await?;
            let pending = pending_of(page.items.iter().map(|w| w.id.as_str().to_owned()).collect()).await;
            Ok::<_, AppError>((page, pending))
        },
    );

    // Live state: while a shown WorkSpace is in a transitional state, ask again shortly.
    Effect::new(move |_| {
        let busy = page.with(|p| matches!(p, Some(Ok((p, _))) if p.items.iter().any(|w| w.state.is_transitional())));
        if busy {
            set_timeout(move || page.refetch(), LIVE_REFRESH);
        }
    });

    let selected = RwSignal::new(BTreeSet::<String>::new());
    let batch = batch_action();
    // After a batch, clear the selection and show the new states.
    Effect::new(move |_| {
        if batch.value().with(|v| v.as_ref().is_some_and(|r| r.is_ok())) {
            selected.set(BTreeSet::new());
            page.refetch();
        }
    });
    let confirming = RwSignal::new(None::<BatchAction>);
    let requesting = RwSignal::new(None::<ApprovalAction>);
    let request = request_action();
    // After a request, clear the selection too (and show its marks).
    Effect::new(move |_| {
        if request.value().with(|v| v.as_ref().is_some_and(|r| r.is_ok())) {
            selected.set(BTreeSet::new());
            page.refetch();
        }
    });

    view! {
        <Title text="WorkSpaces — WorkSpaces Portal"/>
        <div class="page-head">
            <h1>"WorkSpaces"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    signed_in_user().await.filter(|me| policy::allows(me.role, CreateWorkspaces::PATH, "CreateWorkspaces")).map(|_| view! {
                        <a class="button primary" href="/workspaces/new">"Create WorkSpaces"</a>
                    })
                })}
            </Transition>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading the fleet…"</p> }>
            {move || Suspend::new(async move {
                let who = use_who().await.ok().unwrap_or_default();
                match page.await {
                    Ok((data, pending)) => Either::Left(view! {
                        <Filters query=query.get_untracked() data=data.clone()/>
                        <SyncNote query=query.get_untracked() data=data.clone() refresh/>
                        <BulkBar selected batch confirming requesting me=who.user rule=who.approvals/>
                        <BatchResult batch/>
                        <RequestResult request/>
                        <FleetTable data query=query.get_untracked() selected pending/>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <ConfirmDialog confirming ids=Signal::derive(move || selected.get().into_iter().collect()) batch/>
        <RequestDialog requesting ids=Signal::derive(move || selected.get().into_iter().collect()) request/>
    }
}

/// How fresh the inventory is, *Refresh now* for the rows shown, and what the tag filters
/// cannot match yet.
#[component]
fn SyncNote(query: FleetQuery, data: FleetPage, refresh: ServerAction<RefreshWorkspaces>) -> impl IntoView {
    let ids: Vec<String> = data
        .items
        .iter()
        .filter(|w| w.gone_at.is_none())
        .map(|w| w.id.as_str().to_owned())
        .collect();
    let tags_filtered = !query.tag_key.is_empty() || !query.tag_value.is_empty();
    let unread = data.sync.details_due;
    view! {
        <Freshness text=format!("Inventory {}", data.sync.freshness()) ids refresh/>
        {(tags_filtered && unread > 0).then(|| view! {
            <p class="notice" role="note">{format!(
                "The tags of {unread} new or changed WorkSpaces are still being read: the tag filters match them once read."
            )}</p>
        })}
    }
}

#[component]
fn Filters(query: FleetQuery, data: FleetPage) -> impl IntoView {
    fn option(value: &str, label: &str, current: &str) -> impl IntoView {
        view! { <option value=value.to_string() selected=value == current>{label.to_string()}</option> }
    }
    let state = query.state.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default();
    let mode = query.mode.as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let states = WorkspaceState::ALL
        .iter()
        .map(|s| option(s.as_str(), s.as_str(), &state))
        .collect_view();
    let directories = data
        .directories
        .iter()
        .map(|c| option(&c.value, &c.label, &query.directory))
        .collect_view();
    let bundles = data
        .bundles
        .iter()
        .map(|c| option(&c.value, &c.label, &query.bundle))
        .collect_view();
    let idle_now = query
        .idle
        .map(|i| crate::url::QueryValue::render(&i))
        .unwrap_or_default();
    let mut idle_choices: Vec<(String, String)> = vec![
        (String::new(), "Any".into()),
        ("never".into(), "No login received".into()),
    ];
    for days in [7, 14, 30, 60, 90] {
        idle_choices.push((days.to_string(), format!("No login for {days} days")));
    }
    if !idle_choices.iter().any(|(v, _)| *v == idle_now) {
        idle_choices.push((idle_now.clone(), format!("No login for {idle_now} days")));
    }
    let idle = idle_choices
        .iter()
        .map(|(value, label)| option(value, label, &idle_now))
        .collect_view();
    let per_page = PER_PAGE_CHOICES
        .iter()
        .map(|n| option(&n.to_string(), &n.to_string(), &query.per_page.to_string()))
        .collect_view();
    view! {
        <Form method="GET" action="/workspaces" attr:class="filters" attr:aria-label="Filter WorkSpaces">
            <label>"State" <select name="state">{option("", "Any", &state)}{states}</select></label>
            <label>"Directory" <select name="directory">{option("", "Any", &query.directory)}{directories}</select></label>
            <label>"Bundle" <select name="bundle">{option("", "Any", &query.bundle)}{bundles}</select></label>
            <label>"Running mode"
                <select name="mode">
                    {option("", "Any", &mode)}
                    {option("AUTO_STOP", "AutoStop", &mode)}
                    {option("ALWAYS_ON", "AlwaysOn", &mode)}
                </select>
            </label>
            <label>"User" <input type="search" name="user" value=query.user.clone() placeholder="part of a name"/></label>
            <label>"Tag key" <input type="text" name="tag_key" value=query.tag_key.clone()/></label>
            <label>"Tag value" <input type="text" name="tag_value" value=query.tag_value.clone()/></label>
            <label>"Last login" <select name="idle">{idle}</select></label>
            <label>"Show"
                <select name="gone">
                    {option("", "In AWS", if query.gone { "true" } else { "" })}
                    {option("true", "Gone from AWS (history)", if query.gone { "true" } else { "" })}
                </select>
            </label>
            <label>"Per page" <select name="per_page">{per_page}</select></label>
            <input type="hidden" name="sort" value=query.sort.as_str()/>
            <input type="hidden" name="desc" value=if query.desc { "true" } else { "" }/>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <a href="/workspaces" class="button subtle">"Clear"</a>
            </div>
        </Form>
    }
}

#[component]
fn FleetTable(
    data: FleetPage,
    query: FleetQuery,
    selected: RwSignal<BTreeSet<String>>,
    pending: Vec<PendingApproval>,
) -> impl IntoView {
    let page_ids: Vec<String> = data.items.iter().map(|w| w.id.as_str().to_owned()).collect();
    let all_ids = page_ids.clone();
    let all_checked = move || !all_ids.is_empty() && selected.with(|s| all_ids.iter().all(|id| s.contains(id)));
    let toggle_all = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        selected.update(|s| {
            for id in &page_ids {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(id);
                }
            }
        });
    };
    let header = {
        let query = query.clone();
        move |column: SortColumn, label: &'static str| {
            let sorted = query.sort == column;
            let next = FleetQuery {
                sort: column,
                desc: sorted && !query.desc,
                page: 1,
                ..query.clone()
            };
            let aria = if sorted {
                if query.desc {
                    "descending"
                } else {
                    "ascending"
                }
            } else {
                "none"
            };
            let arrow = if sorted {
                if query.desc {
                    " ▼"
                } else {
                    " ▲"
                }
            } else {
                ""
            };
            view! { <th scope="col" aria-sort=aria><a href=next.href()>{label}{arrow}</a></th> }
        }
    };
    let summary = if query.gone {
        format!("{} WorkSpaces gone from AWS (kept for history)", data.total)
    } else if data.total == data.fleet_size {
        format!("{} WorkSpaces", data.total)
    } else {
        format!("{} of {} WorkSpaces match", data.total, data.fleet_size)
    };
    let first = if data.total == 0 {
        0
    } else {
        (data.page - 1) * data.per_page + 1
    };
    let last = ((data.page - 1) * data.per_page + data.items.len()).min(data.total);
    let prev = (data.page > 1).then(|| {
        FleetQuery {
            page: data.page - 1,
            ..query.clone()
        }
        .href()
    });
    let next = (data.page < data.pages).then(|| {
        FleetQuery {
            page: data.page + 1,
            ..query.clone()
        }
        .href()
    });
    let empty = data.items.is_empty();
    let rows = data
        .items
        .into_iter()
        .map(|w| {
            let id = w.id.as_str().to_owned();
            let id_toggle = w.id.as_str().to_owned();
            let checked = move || selected.with(|s| s.contains(&id));
            let label = format!("Select {} ({})", w.id, w.user_name);
            let gone = w.gone_at.is_some();
            let bundle = match (&w.bundle_name, &w.compute_type) {
                (Some(n), Some(c)) => format!("{n} · {c}"),
                (Some(n), None) => n.clone(),
                _ => w.bundle_id.as_str().to_owned(),
            };
            view! {
                <tr data-id=w.id.as_str().to_owned()>
                    <td><input type="checkbox" aria-label=label prop:checked=checked disabled=gone
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let id = id_toggle.clone();
                            selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                        }/></td>
                    <td><a href=format!("/workspaces/{}", w.id) class="mono">{w.id.as_str().to_owned()}</a>
                        <PendingMarks id=w.id.as_str().to_owned() pending=pending.clone()/></td>
                    <td>{w.user_name.clone()}</td>
                    <td>{match &w.gone_at {
                        None => Either::Left(view! { <StateBadge state=w.state.clone()/> }),
                        Some(at) => Either::Right(view! { <GoneBadge at=at.clone() last=w.state.clone()/> }),
                    }}</td>
                    <td title=w.directory_id.as_str().to_owned()>{w.directory_alias.clone().unwrap_or(w.directory_id.as_str().to_owned())}</td>
                    <td title=w.bundle_id.as_str().to_owned()>{bundle}</td>
                    <td>{w.running_mode.label().to_string()}</td>
                    <td class="mono">{w.ip_address.clone().unwrap_or_default()}</td>
                    <td class="mono">{w.computer_name.clone().unwrap_or_default()}</td>
                    <td class="nowrap" data-last-login=w.last_login.clone().unwrap_or_default()>{match &w.last_login {
                        Some(at) => Either::Left(view! { <span class="mono">{crate::ui::utc_minute(at)}</span> }),
                        None => Either::Right(view! { <span class="muted">"never"</span> }),
                    }}</td>
                </tr>
            }
        })
        .collect_view();
    let export = {
        let q = FleetQuery {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            ..query.clone()
        };
        match q.to_query_string() {
            qs if qs.is_empty() => EXPORT_PATH.to_string(),
            qs => format!("{EXPORT_PATH}?{qs}"),
        }
    };
    view! {
        <div class="count-row">
            <p class="count" aria-live="polite">{summary}</p>
            <a class="button subtle" download="" rel="external" href=export>"Export these as CSV"</a>
        </div>
        <div class="table-wrap">
            <table class="fleet">
                <caption class="visually-hidden">"WorkSpaces, " {format!("showing {first}–{last}")}</caption>
                <thead>
                    <tr>
                        <th scope="col"><input type="checkbox" aria-label="Select all on this page" prop:checked=all_checked on:change=toggle_all/></th>
                        {header(SortColumn::Id, "WorkSpace")}
                        {header(SortColumn::User, "User")}
                        {header(SortColumn::State, "State")}
                        {header(SortColumn::Directory, "Directory")}
                        {header(SortColumn::Bundle, "Bundle")}
                        {header(SortColumn::Mode, "Running mode")}
                        {header(SortColumn::Ip, "IP address")}
                        {header(SortColumn::Computer, "Computer name")}
                        {header(SortColumn::LastLogin, "Last login")}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {empty.then(|| view! { <p class="empty">"No WorkSpace matches these filters."</p> })}
        <nav class="pager" aria-label="Pages">
            {match prev { Some(h) => Either::Left(view! { <a href=h rel="prev">"← Previous"</a> }), None => Either::Right(view! { <span class="disabled">"← Previous"</span> }) }}
            <span>{format!("Page {} of {} · {first}–{last}", data.page, data.pages)}</span>
            {match next { Some(h) => Either::Left(view! { <a href=h rel="next">"Next →"</a> }), None => Either::Right(view! { <span class="disabled">"Next →"</span> }) }}
        </nav>
    }
}

#[component]
fn BulkBar(
    selected: RwSignal<BTreeSet<String>>,
    batch: BatchActionHandle,
    confirming: RwSignal<Option<BatchAction>>,
    requesting: RwSignal<Option<ApprovalAction>>,
    me: Option<Me>,
    rule: ApprovalRule,
) -> impl IntoView {
    let count = move || selected.with(|s| s.len());
    // Only what the role may do is offered, as a request where it needs an approval; the server
    // refuses the rest anyway.
    let offered = offered(me.as_ref(), &rule);
    if offered.is_empty() {
        return Either::Left(view! {
            <NotAllowed endpoint=RunBatch::PATH event="StartWorkspaces" what="Starting, stopping and rebooting WorkSpaces"/>
        });
    }
    let buttons = offered
        .into_iter()
        .map(|(action, ask)| {
            let class = if action.confirmation_word().is_some() {
                "button danger"
            } else {
                "button"
            };
            let label = if ask {
                format!("Request {}", action.label().to_lowercase())
            } else {
                action.label().to_string()
            };
            view! {
                <button type="button" class=class
                    disabled=move || count() == 0 || batch.pending().get()
                    on:click=move |_| {
                        if ask {
                            requesting.set(ApprovalAction::of_batch(action));
                        } else if action.confirmation_word().is_some() {
                            confirming.set(Some(action));
                        } else {
                            batch.dispatch((action, selected.get_untracked().into_iter().collect(), None));
                        }
                    }>
                    {label}
                </button>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="bulk-bar" role="toolbar" aria-label="Actions on the selected WorkSpaces">
            <span>{move || match count() { 0 => "Select WorkSpaces to act on them".to_string(), 1 => "1 selected".to_string(), n => format!("{n} selected") }}</span>
            {buttons}
            {move || batch.pending().get().then(|| view! { <span class="loading">"Working…"</span> })}
        </div>
    })
}
