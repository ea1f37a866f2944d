//! `/approvals/{id}`: the frozen request beside the WorkSpaces now, the reviews, the decisions
//! the signed-in user may take, the outcome.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{plural, state_badge};
use crate::approvals::*;
use crate::audit::AuditQuery;
use crate::forms::PostForm;
use crate::ui::utc_minute as utc;
use crate::ui::{use_who, ActionResult, ErrorBox, StateBadge};
use crate::url::UrlQuery;

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
