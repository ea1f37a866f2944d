//! What the fleet's pages use: the request dialog, the marks of pending requests, and the
//! overview's overdue post-reviews.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::plural;
use crate::approvals::*;
use crate::identity::{Me, Role};
use crate::ui::utc_minute as utc;
use crate::ui::{use_who, ErrorBox};

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
