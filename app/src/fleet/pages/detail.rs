//! `/workspaces/{id}`: one WorkSpace — every property, connection status, tags, running mode
//! and the actions its state allows.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{Freshness, LIVE_REFRESH};
use crate::access::pages::LoginHistory;
use crate::approvals::pages::{offered, pending_of, request_action, PendingMarks, RequestDialog, RequestResult};
use crate::approvals::{ApprovalAction, ApprovalRule, PendingApproval, RequestApproval};
use crate::audit::pages::ResourceHistory;
use crate::error::AppError;
use crate::fleet::validate::MAX_TAGS;
use crate::fleet::*;
use crate::forms::PostForm;
use crate::identity::Me;
use crate::policy;
use crate::ui::{
    batch_action, use_who, yes_no, ActionResult, BatchActionHandle, BatchResult, ConfirmDialog, ErrorBox, NotAllowed,
    Prop, StateBadge,
};

#[component]
pub fn DetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));

    let set_tag = ServerAction::<SetTag>::new();
    let delete_tag = ServerAction::<DeleteTag>::new();
    let modify = ServerAction::<ModifyWorkspace>::new();
    let batch = batch_action();
    let request = request_action();
    let refresh = ServerAction::<RefreshWorkspaces>::new();
    // Reload after every change made here (and *Refresh now*); the pending requests on the WorkSpace load with it,
    // so that both are awaited before anything renders.
    let detail = Resource::new(
        move || {
            (
                id.get(),
                set_tag.version().get(),
                delete_tag.version().get(),
                modify.version().get(),
                batch.version().get(),
                request.version().get(),
                refresh.version().get(),
            )
        },
        |(id, ..)| async move {
            let detail = get_workspace(id.clone()).await?;
            Ok::<_, AppError>((detail, pending_of(vec![id]).await))
        },
    );
    Effect::new(move |_| {
        let busy = detail.with(|d| matches!(d, Some(Ok((d, _))) if d.workspace.state.is_transitional()));
        if busy {
            set_timeout(move || detail.refetch(), LIVE_REFRESH);
        }
    });
    let confirming = RwSignal::new(None::<BatchAction>);
    let requesting = RwSignal::new(None::<ApprovalAction>);
    // The running mode a request to change it asks for (the form's fields).
    let mode_asked = RwSignal::new((String::new(), String::new()));

    view! {
        <Title text=move || format!("{} — WorkSpaces Portal", id.get())/>
        <p class="breadcrumb"><a href="/workspaces">"WorkSpaces"</a> " / " <span class="mono">{move || id.get()}</span></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let who = use_who().await.ok().unwrap_or_default();
                let me = who.user.clone();
                let may = |endpoint: &str, event: &str| me.as_ref().is_some_and(|me| policy::allows(me.role, endpoint, event));
                let modify_gated = who.approvals.requires(ApprovalAction::Modify);
                let (modify_ok, tags_ok) = (
                    if modify_gated {
                        may(RequestApproval::PATH, "CreateApprovalRequest")
                    } else {
                        may(ModifyWorkspace::PATH, "ModifyWorkspaceProperties")
                    },
                    may(SetTag::PATH, "CreateTags"),
                );
                match detail.await {
                    Ok((d, pending)) => Either::Left(match d.workspace.gone_at.clone() {
                        None => Either::Left(view! {
                            <Header detail=d.clone() pending/>
                            <Freshness text=format!("Read from AWS {}", ago_text(d.read_secs_ago))
                                ids=vec![d.workspace.id.as_str().to_owned()] refresh/>
                            <Actions workspace=d.workspace.clone() batch confirming requesting me rule=who.approvals.clone()/>
                            <BatchResult batch/>
                            <RequestResult request/>
                            <div class="columns">
                                <Properties workspace=d.workspace.clone()/>
                                <div>
                                    <Connection connection=d.connection.clone()/>
                                    <RunningMode workspace=d.workspace.clone() modify operator=modify_ok
                                        ask=modify_gated.then_some((requesting, mode_asked))/>
                                </div>
                            </div>
                            <Tags id=d.workspace.id.as_str().to_owned() tags=d.tags.clone() pending=d.tags_pending
                                set_tag delete_tag operator=tags_ok/>
                        }),
                        // Gone from AWS: what the portal last read of it, for history; nothing to act on.
                        Some(gone_at) => Either::Right(view! {
                            <Header detail=d.clone() pending/>
                            <p class="notice" role="note">{format!(
                                "This WorkSpace is no longer in AWS (noticed {} UTC). Shown as the portal last read it, {}.",
                                crate::ui::utc_minute(&gone_at), ago_text(d.read_secs_ago),
                            )}</p>
                            <div class="columns">
                                <Properties workspace=d.workspace.clone()/>
                                <Connection connection=d.connection.clone()/>
                            </div>
                            <section class="card">
                                <h2>"Tags, as last read"</h2>
                                <ul>{d.tags.iter().map(|t| view! { <li><span class="mono">{t.key.clone()}</span>" = "{t.value.clone()}</li> }).collect_view()}</ul>
                            </section>
                        }),
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <LoginHistory workspace=id/>
        <ResourceHistory
            resource=id
            version=Signal::derive(move || {
                set_tag.version().get() + delete_tag.version().get() + modify.version().get() + batch.version().get()
            })
        />
        <ConfirmDialog confirming ids=Signal::derive(move || vec![id.get()]) batch/>
        <RequestDialog requesting ids=Signal::derive(move || vec![id.get()]) request running_mode=mode_asked.into()/>
    }
}

#[component]
fn Header(detail: WorkspaceDetail, pending: Vec<PendingApproval>) -> impl IntoView {
    let w = detail.workspace;
    view! {
        <div class="page-head">
            <h1><span class="mono">{w.id.as_str().to_owned()}</span> " · " {w.user_name.clone()}</h1>
            <StateBadge state=w.state.clone()/>
            <PendingMarks id=w.id.as_str().to_owned() pending/>
        </div>
        {w.error_code.clone().map(|code| view! {
            <div class="error-box" role="status"><strong>"WorkSpace error "</strong><code>{code}</code><p>{w.error_message.clone().unwrap_or_default()}</p></div>
        })}
    }
}

#[component]
fn Actions(
    workspace: WorkspaceSummary,
    batch: BatchActionHandle,
    confirming: RwSignal<Option<BatchAction>>,
    requesting: RwSignal<Option<ApprovalAction>>,
    me: Option<Me>,
    rule: ApprovalRule,
) -> impl IntoView {
    let offered = offered(me.as_ref(), &rule);
    let allowed: Vec<BatchAction> = offered.iter().map(|(a, _)| *a).collect();
    if allowed.is_empty() {
        return Either::Left(
            view! { <NotAllowed endpoint=RunBatch::PATH event="StartWorkspaces" what="Acting on this WorkSpace"/> },
        );
    }
    let buttons = offered
        .iter()
        .map(|&(action, ask)| {
            let check = action.check(&workspace.state, &workspace.running_mode);
            let reason = check.clone().err().map(|r| format!("{} is unavailable: {r}", action.label()));
            let class = if action.confirmation_word().is_some() { "button danger" } else { "button" };
            let id = workspace.id.as_str().to_owned();
            let blocked = check.is_err();
            view! {
                <button type="button" class=class title=reason.clone() aria-describedby=format!("why-{}", action.label())
                    disabled=move || blocked || batch.pending().get()
                    on:click=move |_| {
                        if ask {
                            requesting.set(ApprovalAction::of_batch(action));
                        } else if action.confirmation_word().is_some() {
                            confirming.set(Some(action));
                        } else {
                            batch.dispatch((action, vec![id.clone()], None));
                        }
                    }>
                    {if ask { format!("Request {}", action.label().to_lowercase()) } else { action.label().to_string() }}
                </button>
                <span class="visually-hidden" id=format!("why-{}", action.label())>{reason.unwrap_or_default()}</span>
            }
        })
        .collect_view();
    let unavailable: Vec<String> = allowed
        .iter()
        .filter_map(|a| {
            a.check(&workspace.state, &workspace.running_mode)
                .err()
                .map(|r| format!("{}: {r}", a.label()))
        })
        .collect();
    Either::Right(view! {
        <div class="bulk-bar" role="toolbar" aria-label="Actions">{buttons}</div>
        {(!unavailable.is_empty()).then(|| view! {
            <details class="why"><summary>"Why are some actions unavailable?"</summary>
                <ul>{unavailable.into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul>
            </details>
        })}
    })
}

#[component]
fn Properties(workspace: WorkspaceSummary) -> impl IntoView {
    let w = workspace;
    let directory = match &w.directory_alias {
        Some(alias) => format!("{alias} ({})", w.directory_id),
        None => w.directory_id.as_str().to_owned(),
    };
    let bundle = match &w.bundle_name {
        Some(name) => format!("{name} ({})", w.bundle_id),
        None => w.bundle_id.as_str().to_owned(),
    };
    view! {
        <section class="card">
            <h2>"Properties"</h2>
            <dl class="props">
                <Prop label="WorkSpace ID" value=w.id.as_str().to_owned()/>
                <Prop label="User" value=w.user_name.clone()/>
                <Prop label="State" value=w.state.as_str().to_owned()/>
                <Prop label="Directory" value=directory/>
                <Prop label="Bundle" value=bundle/>
                <Prop label="Compute type" value=w.compute_type.clone().unwrap_or_default()/>
                <Prop label="Running mode" value=w.running_mode.label().to_string()/>
                <Prop label="AutoStop after" value=w.auto_stop_minutes.map(|m| format!("{m} minutes")).unwrap_or_default()/>
                <Prop label="Computer name" value=w.computer_name.clone().unwrap_or_default()/>
                <Prop label="IP address" value=w.ip_address.clone().unwrap_or_default()/>
                <Prop label="Subnet" value=w.subnet_id.clone().unwrap_or_default()/>
                <Prop label="Root volume encrypted" value=yes_no(w.root_volume_encrypted).to_string()/>
                <Prop label="User volume encrypted" value=yes_no(w.user_volume_encrypted).to_string()/>
                <Prop label="Encryption key" value=w.volume_encryption_key.clone().unwrap_or_default()/>
            </dl>
        </section>
    }
}

#[component]
fn Connection(connection: Option<ConnectionStatus>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Connection"</h2>
            {match connection {
                Some(c) => Either::Left(view! {
                    <dl class="props">
                        <Prop label="Connection state" value=c.state.clone()/>
                        <Prop label="Last checked" value=c.checked_at.clone().unwrap_or_default()/>
                        <Prop label="Last user connection" value=c.last_user_connection.clone().unwrap_or_default()/>
                    </dl>
                }),
                None => Either::Right(view! { <p>"WorkSpaces reported no connection status."</p> }),
            }}
        </section>
    }
}

/// Where the running-mode form asks for an approval: the dialog to open, and the mode and
/// minutes it asks for.
type AskFor = (RwSignal<Option<ApprovalAction>>, RwSignal<(String, String)>);

#[component]
fn RunningMode(
    workspace: WorkspaceSummary,
    modify: ServerAction<ModifyWorkspace>,
    operator: bool,
    /// The change needs an approval: the form asks for one instead.
    ask: Option<AskFor>,
) -> impl IntoView {
    if !operator {
        return Either::Left(view! {
            <section class="card">
                <h2>"Running mode"</h2>
                <p>{format!("{} {}", workspace.running_mode.label(), workspace.auto_stop_minutes.map(|m| format!("(stops after {m} idle minutes)")).unwrap_or_default())}</p>
                <NotAllowed endpoint=ModifyWorkspace::PATH event="ModifyWorkspaceProperties" what="Changing the running mode"/>
            </section>
        });
    }
    let mode = workspace.running_mode.as_str().to_string();
    let minutes = workspace.auto_stop_minutes.map(|m| m.to_string()).unwrap_or_default();
    let fields = view! {
        <input type="hidden" name="id" value=workspace.id.as_str().to_owned()/>
        <label>"Running mode"
            <select name="running_mode">
                <option value="AUTO_STOP" selected=mode == "AUTO_STOP">"AutoStop (billed by the hour)"</option>
                <option value="ALWAYS_ON" selected=mode == "ALWAYS_ON">"AlwaysOn (billed monthly)"</option>
            </select>
        </label>
        <label>"AutoStop after (minutes, in steps of 60)"
            <input type="number" name="auto_stop_minutes" min="60" step="60" max="2880" value=minutes/>
        </label>
    };
    Either::Right(match ask {
        None => Either::Left(view! {
            <section class="card">
                <h2>"Running mode"</h2>
                <PostForm action=modify class="stack">
                    {fields}
                    <button type="submit" class="button" disabled=move || modify.pending().get()>"Save running mode"</button>
                </PostForm>
                <ActionResult result=Signal::derive(move || modify.value().get()) ok="Running mode saved."/>
            </section>
        }),
        Some((requesting, asked)) => Either::Right(view! {
            <section class="card">
                <h2>"Running mode"</h2>
                <form class="stack" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    use leptos::wasm_bindgen::JsCast;
                    ev.prevent_default();
                    let form = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
                    if let Some(data) = form.and_then(|f| leptos::web_sys::FormData::new_with_form(&f).ok()) {
                        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
                        asked.set((field("running_mode"), field("auto_stop_minutes")));
                        requesting.set(Some(ApprovalAction::Modify));
                    }
                }>
                    {fields}
                    <button type="submit" class="button">"Request running mode change"</button>
                </form>
                <p class="hint">"Changing the running mode needs a second person's approval on this portal."</p>
            </section>
        }),
    })
}

#[component]
fn Tags(
    id: String,
    tags: Vec<Tag>,
    /// Not read from AWS yet (shown as such, not as "no tags").
    pending: bool,
    set_tag: ServerAction<SetTag>,
    delete_tag: ServerAction<DeleteTag>,
    operator: bool,
) -> impl IntoView {
    let count = tags.len();
    let rows = tags
        .into_iter()
        .map(|t| {
            let id = id.clone();
            view! {
                <tr>
                    <td class="mono">{t.key.clone()}</td>
                    <td>{t.value.clone()}</td>
                    <td>
                        {operator.then(|| view! {
                            <PostForm action=delete_tag>
                                <input type="hidden" name="id" value=id.clone()/>
                                <input type="hidden" name="key" value=t.key.clone()/>
                                <button type="submit" class="button subtle" aria-label=format!("Delete tag {}", t.key)>"Delete"</button>
                            </PostForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <h2>{format!("Tags ({count} of {MAX_TAGS})")}</h2>
            <table class="tags">
                <thead><tr><th scope="col">"Key"</th><th scope="col">"Value"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {pending.then(|| view! { <p class="notice" role="note">"Its tags could not be read from AWS yet: Refresh now to try again."</p> })}
            {(!operator).then(|| view! { <NotAllowed endpoint=SetTag::PATH event="CreateTags" what="Editing tags"/> })}
            {operator.then(|| view! {
                <PostForm action=set_tag class="inline-form">
                    <input type="hidden" name="id" value=id.clone()/>
                    <label>"Key" <input type="text" name="key" required maxlength="127"/></label>
                    <label>"Value" <input type="text" name="value" maxlength="255"/></label>
                    <button type="submit" class="button" disabled=move || set_tag.pending().get()>"Add or change tag"</button>
                </PostForm>
            })}
            <p class="hint">"Adding a key that exists changes its value. Keys: 1–127 characters, not starting with aws:. Values: up to 255."</p>
            <ActionResult result=Signal::derive(move || set_tag.value().get()) ok="Tag saved."/>
            <ActionResult result=Signal::derive(move || delete_tag.value().get()) ok="Tag deleted."/>
        </section>
    }
}
