//! The approvals' pages: `/approvals` (to review, mine, all — searchable, in the URL),
//! `/approvals/{id}` (the frozen request beside the WorkSpaces now, the reviews, the decisions
//! the signed-in user may take, the outcome), and what the fleet's pages use: the request dialog,
//! the marks of pending requests and the overview's overdue post-reviews.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::audit::AuditQuery;
use crate::forms::PostForm;
use crate::identity::{Me, Role};
use crate::ui::{use_who, ActionResult, ErrorBox, KeysetPager, StateBadge};
use crate::url::UrlQuery;

/// How a request's state reads as a badge.
fn state_badge(state: ApprovalState) -> impl IntoView {
    let kind = match state {
        ApprovalState::Pending | ApprovalState::Executing => "busy",
        ApprovalState::Executed => "ok",
        ApprovalState::Rejected | ApprovalState::Refused | ApprovalState::Unknown => "bad",
        ApprovalState::Cancelled | ApprovalState::Expired => "idle",
    };
    view! { <span class=format!("badge badge-{kind}") data-approval-state=state.as_str()>{state.as_str()}</span> }
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

use crate::ui::utc_minute as utc;

// ---------------------------------------------------------------------------------------------
// The list

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

// ---------------------------------------------------------------------------------------------
// One request

#[component]
pub fn ApprovalRequestPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let approve = ServerAction::<ApproveRequest>::new();
    let reject = ServerAction::<RejectRequest>::new();
    let cancel = ServerAction::<CancelRequest>::new();
    let acknowledge = ServerAction::<AcknowledgePostReview>::new();
    let detail = Resource::new(
        move || {
            (
                id.get(),
                approve.version().get() + reject.version().get() + cancel.version().get() + acknowledge.version().get(),
            )
        },
        |(id, _)| get_approval(id),
    );
    // While it executes, look again shortly; after a decision, the badge may change too.
    Effect::new(move |_| {
        let busy = detail.with(|d| matches!(d, Some(Ok(d)) if d.summary.state == ApprovalState::Executing));
        if busy {
            set_timeout(move || detail.refetch(), std::time::Duration::from_millis(700));
        }
    });
    Effect::new(move |previous: Option<usize>| {
        let decided = approve.version().get() + reject.version().get() + cancel.version().get();
        if previous.is_some_and(|p| p != decided) {
            use_who().refetch();
        }
        decided
    });
    view! {
        <Title text=move || format!("{} — WorkSpaces Portal", id.get())/>
        <p class="breadcrumb"><a href="/approvals">"Approvals"</a> " / " <span class="mono">{move || id.get()}</span></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => Either::Left(view! {
                        <RequestHead detail=d.clone()/>
                        <Decide detail=d.clone() approve reject cancel acknowledge/>
                        <Outcome detail=d.clone()/>
                        <Targets detail=d.clone()/>
                        <Reviews detail=d/>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn RequestHead(detail: ApprovalDetail) -> impl IntoView {
    let s = &detail.summary;
    let audit = AuditQuery {
        resource: s.id.as_str().to_owned(),
        ..Default::default()
    }
    .href();
    let title = format!("{} {}", s.action.label(), plural(s.workspace_count, "WorkSpace"));
    let running_mode = detail.frozen.properties.as_ref().map(|p| {
        format!(
            "{}{}",
            p.running_mode.label(),
            p.auto_stop_minutes
                .map(|m| format!(", stopping after {m} idle minutes"))
                .unwrap_or_default()
        )
    });
    view! {
        <div class="page-head">
            <h1>{title}</h1>
            {state_badge(s.state)}
            {s.break_glass.then(|| view! { <span class="badge badge-bad">"break-glass"</span> })}
        </div>
        {detail.webhook_error.clone().map(|e| view! {
            <p class="notice" role="status">{format!("Notification: {e}. The request itself is not affected.")}</p>
        })}
        <section class="card">
            <dl class="props">
                <div class="prop"><dt>"Requested by"</dt><dd>{s.requester.clone()}</dd></div>
                <div class="prop"><dt>"Reason"</dt><dd class="reason">{s.reason.clone()}</dd></div>
                <div class="prop"><dt>"Action"</dt><dd class="mono">{s.action.api_name()}</dd></div>
                {running_mode.map(|m| view! { <div class="prop"><dt>"New running mode"</dt><dd>{m}</dd></div> })}
                <div class="prop"><dt>"Asked (UTC)"</dt><dd class="mono">{utc(&s.created_at)}</dd></div>
                <div class="prop"><dt>"Expires (UTC)"</dt><dd class="mono">{utc(&s.expires_at)}</dd></div>
                <div class="prop"><dt>"Approvals"</dt><dd>{format!("{} of {} needed", s.approvals, s.approvals_needed)}</dd></div>
                <div class="prop"><dt>"SHA-256 of the request"</dt><dd class="mono hash">{detail.hash.clone()}</dd></div>
                <div class="prop"><dt>"Audit records"</dt><dd><a href=audit>"Every step of this request"</a></dd></div>
            </dl>
        </section>
    }
}

#[component]
fn Decide(
    detail: ApprovalDetail,
    approve: ServerAction<ApproveRequest>,
    reject: ServerAction<RejectRequest>,
    cancel: ServerAction<CancelRequest>,
    acknowledge: ServerAction<AcknowledgePostReview>,
) -> impl IntoView {
    let id = detail.summary.id.as_str().to_owned();
    let pending = detail.summary.state == ApprovalState::Pending;
    let drifted = detail.live.iter().filter(|w| w.drifted).count();
    let hash = detail.hash.clone();
    let (id_approve, id_reject, hash_approve) = (id.clone(), id.clone(), hash.clone());
    let review = match (&detail.cannot_review, pending) {
        (None, _) => EitherOf3::A(view! {
            <section class="card decide">
                <h2>"Your review"</h2>
                {(drifted > 0).then(|| view! {
                    <p class="warning">{format!(
                        "{} changed since the request and will not be touched if you approve: see the highlighted rows below.",
                        plural(drifted, "WorkSpace")
                    )}</p>
                })}
                <p class="hint">"You approve the request exactly as shown, identified by its SHA-256 above."</p>
                <PostForm action=approve class="stack">
                    <input type="hidden" name="id" value=id_approve/>
                    <input type="hidden" name="hash" value=hash_approve/>
                    <label>"Comment (optional)" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                    <button type="submit" class="button primary" disabled=move || approve.pending().get()>"Approve"</button>
                </PostForm>
                <PostForm action=reject class="stack">
                    <input type="hidden" name="id" value=id_reject/>
                    <input type="hidden" name="hash" value=hash/>
                    <label>"Why you reject it (required; the requester reads it)" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                    <button type="submit" class="button danger" disabled=move || reject.pending().get()>"Reject"</button>
                </PostForm>
            </section>
        }),
        (Some(why), true) => EitherOf3::B(view! {
            <p class="notice not-allowed" role="note">{format!("You cannot review this request: {why}.")}</p>
        }),
        (Some(_), false) => EitherOf3::C(()),
    };
    let id_cancel = id.clone();
    let cancel_form = detail.may_cancel.then(move || {
        view! {
            <PostForm action=cancel class="inline-form">
                <input type="hidden" name="id" value=id_cancel/>
                <button type="submit" class="button subtle" disabled=move || cancel.pending().get()>"Cancel this request"</button>
            </PostForm>
        }
    });
    let id_ack = id.clone();
    let post_review = detail.summary.break_glass.then(move || {
        let state = detail.summary.post_review.clone().unwrap_or_default();
        let done = detail
            .post_reviewer
            .clone()
            .map(|by| format!("{state} by {by}{}", detail.post_comment.clone().map(|c| format!(": “{c}”")).unwrap_or_default()));
        view! {
            <section class="card">
                <h2>"Post-review"</h2>
                <p>"This action was carried out at once by an admin (break-glass); an approver reviews it afterwards."</p>
                {match (done, detail.cannot_acknowledge.clone()) {
                    (Some(done), _) => EitherOf3::A(view! { <p class="success">{done}</p> }),
                    (None, None) => EitherOf3::B(view! {
                        <PostForm action=acknowledge class="stack">
                            <input type="hidden" name="id" value=id_ack/>
                            <input type="hidden" name="decision" value="acknowledge"/>
                            <label>"Comment (optional)" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                            <button type="submit" class="button">"Acknowledge"</button>
                        </PostForm>
                        <PostForm action=acknowledge class="stack">
                            <input type="hidden" name="id" value=id/>
                            <input type="hidden" name="decision" value="flag"/>
                            <label>"What is wrong with it (required to flag)" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                            <button type="submit" class="button danger">"Flag"</button>
                        </PostForm>
                    }),
                    (None, Some(why)) => EitherOf3::C(view! { <p class="notice" role="note">{format!("Open; you cannot review it: {why}.")}</p> }),
                }}
            </section>
        }
    });
    view! {
        {review}
        {cancel_form}
        {post_review}
        <ActionResult result=Signal::derive(move || approve.value().get().map(|r| r.map(|_| ()))) ok="Approved."/>
        <ActionResult result=Signal::derive(move || reject.value().get().map(|r| r.map(|_| ()))) ok="Rejected."/>
        <ActionResult result=Signal::derive(move || cancel.value().get().map(|r| r.map(|_| ()))) ok="Cancelled."/>
        <ActionResult result=Signal::derive(move || acknowledge.value().get().map(|r| r.map(|_| ()))) ok="Post-review recorded."/>
    }
}

#[component]
fn Outcome(detail: ApprovalDetail) -> impl IntoView {
    match detail.summary.state {
        ApprovalState::Executing => {
            EitherOf3::A(view! { <p class="loading" role="status">"Being sent to WorkSpaces…"</p> })
        }
        ApprovalState::Refused => EitherOf3::B(view! {
            <div class="error-box" role="alert"><strong>"Not executed"</strong>
                <p>"The stored request no longer matched the SHA-256 its reviewers approved, so nothing was sent. See its audit records."</p></div>
        }),
        ApprovalState::Unknown => EitherOf3::B(view! {
            <div class="error-box" role="alert"><strong>"Outcome unknown"</strong>
                <p>"The portal stopped while sending this request. It is never sent again: check the WorkSpaces, and their audit records."</p></div>
        }),
        _ if detail.outcome.is_empty() => EitherOf3::C(None),
        _ => {
            let count = |o: &str| detail.outcome.iter().filter(|i| i.outcome == o).count();
            let heading = format!(
                "Outcome: {} accepted, {} failed, {} changed since the request",
                count("accepted"),
                count("failed"),
                count("changed")
            );
            let rows = detail
                .outcome
                .iter()
                .map(|i| {
                    let class = match i.outcome.as_str() {
                        "accepted" => "ok",
                        _ => "failed",
                    };
                    let status = match i.outcome.as_str() {
                        "accepted" => "Accepted".to_string(),
                        "changed" => "Changed since the request".to_string(),
                        _ => i.error_code.clone().unwrap_or_else(|| "Failed".into()),
                    };
                    view! {
                        <li class=class data-outcome=i.outcome.clone()>
                            <a class="mono" href=format!("/workspaces/{}", i.workspace_id)>{i.workspace_id.as_str().to_owned()}</a>
                            " — " <strong>{status}</strong>
                            {i.message.clone().map(|m| view! { <span class="reason">{format!(": {m}")}</span> })}
                        </li>
                    }
                })
                .collect_view();
            EitherOf3::C(Some(view! {
                <section class="batch-result" aria-live="polite"><h2>{heading}</h2><ul>{rows}</ul></section>
            }))
        }
    }
}

#[component]
fn Targets(detail: ApprovalDetail) -> impl IntoView {
    let shown = detail.summary.state == ApprovalState::Pending;
    let rows = detail
        .frozen
        .workspaces
        .iter()
        .zip(detail.live.iter())
        .map(|(then, live)| {
            let tags = |t: &[crate::fleet::Tag]| t.iter().map(|t| format!("{}={}", t.key, t.value)).collect::<Vec<_>>().join(", ");
            let connection = then
                .connection
                .as_ref()
                .map(|c| format!("{}{}", c.state, c.last_user_connection.as_ref().map(|l| format!(", last {}", utc(l))).unwrap_or_default()))
                .unwrap_or_else(|| "—".into());
            let now = match &live.now {
                None => Either::Left(view! { <span class="badge badge-gone">"gone"</span> }),
                Some(n) => Either::Right(view! { <StateBadge state=n.state.clone()/> }),
            };
            let changes = if live.changes.is_empty() {
                Either::Left(view! { <span class="muted">"unchanged"</span> })
            } else {
                Either::Right(view! {
                    <ul class="changes">{live.changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}</ul>
                })
            };
            view! {
                <tr class=if live.drifted { "drifted" } else { "" } data-id=then.id.as_str().to_owned()>
                    <td><a class="mono" href=format!("/workspaces/{}", then.id)>{then.id.as_str().to_owned()}</a></td>
                    <td>{then.user_name.clone()}</td>
                    <td><StateBadge state=then.state.clone()/></td>
                    <td>{now}</td>
                    <td>{changes}{live.drifted.then(|| view! { <strong class="drift-note">"Will not be touched"</strong> })}</td>
                    <td class="mono">{then.bundle_id.clone()}</td>
                    <td class="mono">{then.directory_id.clone()}</td>
                    <td>{then.running_mode.label().to_string()}</td>
                    <td>{tags(&then.tags)}</td>
                    <td>{connection}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <h2>{format!("WorkSpaces ({})", detail.frozen.workspaces.len())}</h2>
            <p class="hint">{if shown {
                "As they were when the request was made, beside what they are now. A WorkSpace whose user, bundle or directory changed, or that is gone, is skipped when the request executes."
            } else {
                "As they were when the request was made, beside what they are now."
            }}</p>
            <div class="table-wrap">
                <table class="targets">
                    <thead>
                        <tr>
                            <th scope="col">"WorkSpace"</th>
                            <th scope="col">"User"</th>
                            <th scope="col">"State then"</th>
                            <th scope="col">"Now"</th>
                            <th scope="col">"Changed since"</th>
                            <th scope="col">"Bundle"</th>
                            <th scope="col">"Directory"</th>
                            <th scope="col">"Running mode"</th>
                            <th scope="col">"Tags"</th>
                            <th scope="col">"Connection then"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Reviews(detail: ApprovalDetail) -> impl IntoView {
    let items = detail
        .reviews
        .iter()
        .map(|r| {
            let verb = match r.decision {
                Decision::Approve => "approved",
                Decision::Reject => "rejected",
            };
            view! {
                <li data-decision=verb>
                    <strong>{r.reviewer.clone()}</strong> " " {verb} " at " <span class="mono">{utc(&r.created_at)}</span>
                    {(!r.comment.is_empty()).then(|| view! { ": “" {r.comment.clone()} "”" })}
                    {(!r.counts && r.decision == Decision::Approve).then(|| view! {
                        " " <span class="badge badge-idle" title="the reviewer is no longer an enabled approver or admin">"no longer counts"</span>
                    })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <h2>"Reviews"</h2>
            {if detail.reviews.is_empty() {
                Either::Left(view! { <p class="hint">"No review yet."</p> })
            } else {
                Either::Right(view! { <ul class="reviews">{items}</ul> })
            }}
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// For the fleet's pages

/// Asking for an action from the browser: `(action, WorkSpace IDs, reason, running mode, minutes,
/// break-glass)`.
pub type RequestHandle = Action<RequestInput, Result<ApprovalSummary, AppError>>;

#[derive(Clone, Debug)]
pub struct RequestInput {
    pub action: ApprovalAction,
    pub ids: Vec<String>,
    pub reason: String,
    pub running_mode: Option<String>,
    pub auto_stop_minutes: Option<String>,
    pub break_glass: bool,
}

pub fn request_action() -> RequestHandle {
    Action::new(move |input: &RequestInput| {
        let i = input.clone();
        async move {
            let action = i.action.api_name().to_string();
            if i.break_glass {
                break_glass(action, i.ids, i.reason, i.running_mode, i.auto_stop_minutes).await
            } else {
                request_approval(action, i.ids, i.reason, i.running_mode, i.auto_stop_minutes).await
            }
        }
    })
}

/// What the user sees after asking: the request and its link, or the error.
#[component]
pub fn RequestResult(request: RequestHandle) -> impl IntoView {
    move || {
        request.value().get().map(|result| match result {
            Ok(s) if s.break_glass => Either::Left(view! {
                <p class="success" role="status">
                    {format!("{} carried out at once (break-glass) on {}; an approver reviews it afterwards. ", s.action.label(), plural(s.workspace_count, "WorkSpace"))}
                    <a class="mono" href=format!("/approvals/{}", s.id)>{s.id.as_str().to_owned()}</a>
                </p>
            }),
            Ok(s) => Either::Left(view! {
                <p class="success" role="status">
                    {format!("Requested: {} of {}, waiting for {}. ", s.action.label(), plural(s.workspace_count, "WorkSpace"), plural(s.approvals_needed, "approval"))}
                    <a class="mono" href=format!("/approvals/{}", s.id)>{s.id.as_str().to_owned()}</a>
                </p>
            }),
            Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
        })
    }
}

/// The request dialog: what will be asked for, on how many WorkSpaces, and why (required).
/// An admin on a portal with break-glass may act at once instead.
#[component]
pub fn RequestDialog(
    requesting: RwSignal<Option<ApprovalAction>>,
    ids: Signal<Vec<String>>,
    request: RequestHandle,
    #[prop(optional)] running_mode: Option<Signal<(String, String)>>,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let glass = RwSignal::new(false);
    let close = move || {
        requesting.set(None);
        reason.set(String::new());
        glass.set(false);
    };
    // Keyboard: focus moves in and back out; Escape closes; Tab stays inside.
    crate::ui::dialog_focus(Signal::derive(move || requesting.with(Option::is_some)));
    let may_break_glass = Resource::new(
        || (),
        |_| async move {
            use_who()
                .await
                .ok()
                .is_some_and(|w| w.approvals.break_glass && w.user.is_some_and(|u: Me| u.role == Role::Admin))
        },
    );
    move || {
        requesting.get().map(|action| {
            let count = ids.with_untracked(|s| s.len());
            let short = move || reason.with(|r| r.trim().chars().count() < MIN_REASON);
            view! {
                <div class="dialog-backdrop">
                    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="request-title"
                        on:keydown=move |ev| crate::ui::on_dialog_key(&ev, close)>
                        <h2 id="request-title">{format!("Request: {} {}", action.label(), plural(count, "WorkSpace"))}</h2>
                        <p>{format!(
                            "{} needs a second person's approval here. Reviewers see each WorkSpace as it is now; \
                             one whose user, bundle or directory changes before the approval is left alone.",
                            action.api_name()
                        )}</p>
                        <label>{format!("Reason (at least {MIN_REASON} characters; reviewers read it)")}
                            <textarea rows="3" maxlength="2000" prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                        </label>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                may_break_glass.await.then(|| view! {
                                    <label class="check">
                                        <input type="checkbox" prop:checked=move || glass.get() on:change=move |ev| glass.set(event_target_checked(&ev))/>
                                        " Break-glass: act now without approval (recorded, and reviewed afterwards)"
                                    </label>
                                })
                            })}
                        </Transition>
                        <div class="dialog-actions">
                            <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                            <button type="button" class="button danger" disabled=move || short() || request.pending().get()
                                on:click=move |_| {
                                    let (mode, minutes) = match running_mode {
                                        Some(m) if action == ApprovalAction::Modify => {
                                            let (mode, minutes) = m.get_untracked();
                                            (Some(mode), Some(minutes))
                                        }
                                        _ => (None, None),
                                    };
                                    request.dispatch(RequestInput {
                                        action,
                                        ids: ids.get_untracked(),
                                        reason: reason.get_untracked(),
                                        running_mode: mode,
                                        auto_stop_minutes: minutes,
                                        break_glass: glass.get_untracked(),
                                    });
                                    close();
                                }>
                                {move || if glass.get() { format!("{} now", action.label()) } else { "Ask for approval".to_string() }}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}

/// Which batch actions the signed-in user is offered, and whether each is asked for (it needs an
/// approval) rather than done: the policy table and the approvals rule decide, as on the server.
pub fn offered(me: Option<&Me>, rule: &ApprovalRule) -> Vec<(crate::fleet::BatchAction, bool)> {
    let Some(me) = me else { return Vec::new() };
    let may_request = crate::policy::allows(me.role, RequestApproval::PATH, "CreateApprovalRequest");
    crate::fleet::BatchAction::ALL
        .into_iter()
        .filter_map(|a| {
            let gated = ApprovalAction::of_batch(a).is_some_and(|x| rule.requires(x));
            if gated {
                may_request.then_some((a, true))
            } else {
                crate::policy::allows(me.role, a.endpoint(), a.api_name()).then_some((a, false))
            }
        })
        .collect()
}

/// Marks of the pending requests on one WorkSpace, each linking to its request.
///
/// `pending` is a value the page's resource has already awaited (see [`pending_of`]), never a
/// signal read on its own: the server and the hydrating browser then render the same marks.
#[component]
pub fn PendingMarks(#[prop(into)] id: String, pending: Vec<PendingApproval>) -> impl IntoView {
    pending
        .into_iter()
        .filter(|p| p.workspace_id.as_str() == id)
        .map(|p| {
            view! {
                " "
                <a class="badge badge-busy pending-mark" href=format!("/approvals/{}", p.request)
                    title=format!("{} asked for, waiting for approval ({})", p.action.api_name(), p.request)>
                    {format!("{} pending", p.action.label())}
                </a>
            }
        })
        .collect_view()
}

/// The pending requests on `ids`, fetched inside the resource that loads the WorkSpaces they
/// mark (an error leaves the marks out; the page itself still shows).
pub async fn pending_of(ids: Vec<String>) -> Vec<PendingApproval> {
    if ids.is_empty() {
        return Vec::new();
    }
    pending_approvals(ids).await.unwrap_or_default()
}

/// The overview's list of break-glass actions whose post-review is open after a day (approvers
/// and admins only).
#[component]
pub fn OverduePostReviews() -> impl IntoView {
    let overdue = Resource::new(
        || (),
        |_| async move {
            let who = use_who().await.ok();
            if !who.and_then(|w| w.user).is_some_and(|u| u.role.allows(Role::Approver)) {
                return Ok(None);
            }
            list_approvals(ApprovalQuery {
                tab: Tab::All,
                overdue: true,
                ..Default::default()
            })
            .await
            .map(Some)
        },
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match overdue.await {
                    Ok(Some(page)) if !page.items.is_empty() => Some(Either::Left(view! {
                        <section class="card attention" aria-labelledby="overdue-title">
                            <h2 id="overdue-title">{format!("Break-glass actions awaiting review for more than 24 h ({})", page.items.len())}</h2>
                            <ul>
                                {page.items.into_iter().map(|r| view! {
                                    <li><a class="mono" href=format!("/approvals/{}", r.id)>{r.id.as_str().to_owned()}</a>
                                        {format!(" {} of {} by {} at {}", r.action.label(), plural(r.workspace_count, "WorkSpace"), r.requester, utc(&r.created_at))}</li>
                                }).collect_view()}
                            </ul>
                        </section>
                    })),
                    Ok(_) => None,
                    Err(e) => Some(Either::Right(view! { <ErrorBox error=e/> })),
                }
            })}
        </Transition>
    }
}
