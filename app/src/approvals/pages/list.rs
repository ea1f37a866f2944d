//! `/approvals`: to review, mine, all — searchable, the search in the URL.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::{plural, state_badge};
use crate::approvals::*;
use crate::ui::utc_minute as utc;
use crate::ui::{use_who, ErrorBox, KeysetPager};
use crate::url::UrlQuery;

#[component]
pub fn ApprovalsListPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| ApprovalQuery::from_pairs(p.latest_values().map(|(k, v)| (k.as_ref(), v)))));
    let page = Resource::new(move || query.get(), list_approvals);
    view! {
        <Title text="Approvals — WorkSpaces Portal"/>
        <div class="page-head"><h1>"Approvals"</h1></div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let rule = use_who().await.map(|w| w.approvals).unwrap_or_default();
                view! { <RuleNote rule/> }
            })}
        </Transition>
        <Tabs query/>
        <Filters query/>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => Either::Left(view! { <RequestTable data query=query.get_untracked()/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn RuleNote(rule: ApprovalRule) -> impl IntoView {
    let text = if rule.required.is_empty() {
        "No action needs an approval on this portal (--approval-required none).".to_string()
    } else {
        format!(
            "{} need{} an approved request: {} besides the requester, never on their own WorkSpace.{}",
            rule.required.join(", "),
            if rule.required.len() == 1 { "s" } else { "" },
            plural(rule.approvals_needed as usize, "approver"),
            if rule.break_glass {
                " Break-glass is enabled for admins, with a review afterwards."
            } else {
                ""
            },
        )
    };
    view! { <p class="hint">{text}</p> }
}

#[component]
fn Tabs(query: Memo<ApprovalQuery>) -> impl IntoView {
    let tab = move |tab: Tab, label: &'static str| {
        let href = ApprovalQuery {
            tab,
            ..Default::default()
        }
        .href();
        view! {
            <a href=href role="tab" aria-selected=move || if query.get().tab == tab { "true" } else { "false" }
                aria-current=move || (query.get().tab == tab).then_some("page")>{label}</a>
        }
    };
    view! {
        <nav class="tabs" role="tablist" aria-label="Which requests">
            {tab(Tab::Review, "To review")}
            {tab(Tab::Mine, "Mine")}
            {tab(Tab::All, "All")}
        </nav>
    }
}

#[component]
fn Filters(query: Memo<ApprovalQuery>) -> impl IntoView {
    let q = query.get_untracked();
    let states = ApprovalState::ALL
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=q.state == Some(*s)>{s.as_str()}</option> })
        .collect_view();
    let actions = ApprovalAction::ALL
        .iter()
        .map(|a| view! { <option value=a.api_name() selected=q.action == a.api_name()>{a.api_name()}</option> })
        .collect_view();
    let tab = crate::url::QueryValue::render(&q.tab);
    view! {
        <Form method="GET" action="/approvals" attr:class="filters" attr:aria-label="Filter the requests">
            <input type="hidden" name="tab" value=tab/>
            <label>"State" <select name="state"><option value="" selected=q.state.is_none()>"Any"</option>{states}</select></label>
            <label>"Action" <select name="action"><option value="" selected=q.action.is_empty()>"Any"</option>{actions}</select></label>
            <label>"Requester" <input type="text" name="requester" value=q.requester.clone() placeholder="user name"/></label>
            <label>"Reviewer" <input type="text" name="reviewer" value=q.reviewer.clone() placeholder="user name"/></label>
            <label>"WorkSpace" <input type="text" name="workspace" value=q.workspace.clone() placeholder="ws-…"/></label>
            <label>"From (UTC)" <input type="datetime-local" name="from" value=q.from.clone()/></label>
            <label>"To (UTC)" <input type="datetime-local" name="to" value=q.to.clone()/></label>
            <label class="check"><input type="checkbox" name="overdue" value="true" checked=q.overdue/> "Break-glass awaiting review > 24 h"</label>
            <div class="filter-actions">
                <button type="submit" class="button">"Search"</button>
                <a href=ApprovalQuery { tab: q.tab, ..Default::default() }.href() class="button subtle">"Clear"</a>
            </div>
        </Form>
    }
}

#[component]
fn RequestTable(data: ApprovalPage, query: ApprovalQuery) -> impl IntoView {
    if data.items.is_empty() {
        let message = match query.tab {
            Tab::Review => "Nothing waits for your review.",
            Tab::Mine => "You have not asked for anything that matches.",
            Tab::All => "No request matches these filters.",
        };
        return Either::Left(view! { <p class="empty">{message}</p> });
    }
    let first = query.before.is_some().then(|| {
        ApprovalQuery {
            before: None,
            ..query.clone()
        }
        .href()
    });
    let more = data.next.map(|before| {
        ApprovalQuery {
            before: Some(before),
            ..query.clone()
        }
        .href()
    });
    let rows = data
        .items
        .into_iter()
        .map(|r| {
            view! {
                <tr data-request=r.id.as_str().to_owned()>
                    <td><a class="mono" href=format!("/approvals/{}", r.id)>{r.id.as_str().to_owned()}</a>
                        {r.break_glass.then(|| view! { " " <span class="badge badge-bad">"break-glass"</span> })}</td>
                    <td>{r.action.label()}</td>
                    <td class="num">{r.workspace_count}</td>
                    <td>{r.requester.clone()}</td>
                    <td class="reason-cell" title=r.reason.clone()>{r.reason.clone()}</td>
                    <td>{state_badge(r.state)}
                        {r.post_review.clone().map(|p| view! { " " <span class="muted">{format!("post-review {p}")}</span> })}</td>
                    <td class="num">{format!("{} / {}", r.approvals, r.approvals_needed)}</td>
                    <td class="mono nowrap">{utc(&r.created_at)}</td>
                    <td class="mono nowrap">{if r.state == ApprovalState::Pending { utc(&r.expires_at) } else { "—".into() }}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="approvals">
                <thead>
                    <tr>
                        <th scope="col">"Request"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"WorkSpaces"</th>
                        <th scope="col">"Requester"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Approvals"</th>
                        <th scope="col">"Asked (UTC)"</th>
                        <th scope="col">"Expires (UTC)"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <KeysetPager first next=more first_label="« First" next_label="More »"/>
    })
}
