//! `/workspaces/{id}`: one WorkSpace — every property, connection status, tags, running mode
//! and the actions its state allows.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::LIVE_REFRESH;
use crate::audit::pages::ResourceHistory;
use crate::fleet::validate::MAX_TAGS;
use crate::fleet::*;
use crate::forms::PostForm;
use crate::identity::Me;
use crate::policy;
use crate::ui::{
    batch_action, signed_in_user, yes_no, ActionResult, BatchActionHandle, BatchResult, ConfirmDialog, ErrorBox,
    NotAllowed, Prop, StateBadge,
};

#[component]
pub fn DetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));

    let set_tag = ServerAction::<SetTag>::new();
    let delete_tag = ServerAction::<DeleteTag>::new();
    let modify = ServerAction::<ModifyWorkspace>::new();
    let batch = batch_action();
    // Reload after every change made here.
    let detail = Resource::new(
        move || {
            (
                id.get(),
                set_tag.version().get(),
                delete_tag.version().get(),
                modify.version().get(),
                batch.version().get(),
            )
        },
        |(id, ..)| get_workspace(id),
    );
    Effect::new(move |_| {
        let busy = detail.with(|d| matches!(d, Some(Ok(d)) if d.workspace.state.is_transitional()));
        if busy {
            set_timeout(move || detail.refetch(), LIVE_REFRESH);
        }
    });
    let confirming = RwSignal::new(None::<BatchAction>);

    view! {
        <Title text=move || format!("{} — WorkSpaces Portal", id.get())/>
        <p class="breadcrumb"><a href="/workspaces">"WorkSpaces"</a> " / " <span class="mono">{move || id.get()}</span></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = signed_in_user().await;
                let may = |endpoint: &str, event: &str| me.as_ref().is_some_and(|me| policy::allows(me.role, endpoint, event));
                let (modify_ok, tags_ok) = (
                    may(ModifyWorkspace::PATH, "ModifyWorkspaceProperties"),
                    may(SetTag::PATH, "CreateTags"),
                );
                match detail.await {
                    Ok(d) => Either::Left(view! {
                        <Header detail=d.clone()/>
                        <Actions workspace=d.workspace.clone() batch confirming me/>
                        <BatchResult batch/>
                        <div class="columns">
                            <Properties workspace=d.workspace.clone()/>
                            <div>
                                <Connection connection=d.connection.clone()/>
                                <RunningMode workspace=d.workspace.clone() modify operator=modify_ok/>
                            </div>
                        </div>
                        <Tags id=d.workspace.id.as_str().to_owned() tags=d.tags.clone() set_tag delete_tag operator=tags_ok/>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <ResourceHistory
            resource=id
            version=Signal::derive(move || {
                set_tag.version().get() + delete_tag.version().get() + modify.version().get() + batch.version().get()
            })
        />
        <ConfirmDialog confirming ids=Signal::derive(move || vec![id.get()]) batch/>
    }
}

#[component]
fn Header(detail: WorkspaceDetail) -> impl IntoView {
    let w = detail.workspace;
    view! {
        <div class="page-head">
            <h1><span class="mono">{w.id.as_str().to_owned()}</span> " · " {w.user_name.clone()}</h1>
            <StateBadge state=w.state.clone()/>
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
    me: Option<Me>,
) -> impl IntoView {
    let allowed = BatchAction::allowed_for(me.as_ref());
    if allowed.is_empty() {
        return Either::Left(
            view! { <NotAllowed endpoint=RunBatch::PATH event="StartWorkspaces" what="Acting on this WorkSpace"/> },
        );
    }
    let buttons = allowed
        .iter()
        .map(|&action| {
            let check = action.check(&workspace.state, &workspace.running_mode);
            let reason = check.clone().err().map(|r| format!("{} is unavailable: {r}", action.label()));
            let class = if action.confirmation_word().is_some() { "button danger" } else { "button" };
            let id = workspace.id.as_str().to_owned();
            let blocked = check.is_err();
            view! {
                <button type="button" class=class title=reason.clone() aria-describedby=format!("why-{}", action.label())
                    disabled=move || blocked || batch.pending().get()
                    on:click=move |_| {
                        if action.confirmation_word().is_some() {
                            confirming.set(Some(action));
                        } else {
                            batch.dispatch((action, vec![id.clone()], None));
                        }
                    }>
                    {action.label()}
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

#[component]
fn RunningMode(workspace: WorkspaceSummary, modify: ServerAction<ModifyWorkspace>, operator: bool) -> impl IntoView {
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
    Either::Right(view! {
        <section class="card">
            <h2>"Running mode"</h2>
            <PostForm action=modify class="stack">
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
                <button type="submit" class="button" disabled=move || modify.pending().get()>"Save running mode"</button>
            </PostForm>
            <ActionResult result=Signal::derive(move || modify.value().get()) ok="Running mode saved."/>
        </section>
    })
}

#[component]
fn Tags(
    id: String,
    tags: Vec<Tag>,
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
