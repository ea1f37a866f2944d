//! What batch actions show, wherever they are started (the fleet's bulk bar, a WorkSpace's own
//! page): each WorkSpace's outcome, and the confirmation that rebuild and terminate ask for.

use leptos::either::Either;
use leptos::prelude::*;

use super::ErrorBox;
use crate::error::AppError;
use crate::fleet::{run_batch, BatchAction, BatchOutcome};

/// Runs a batch action from the browser: `(action, WorkSpace IDs, confirmation word)`.
pub fn batch_action() -> BatchActionHandle {
    Action::new(
        move |(action, ids, confirm): &(BatchAction, Vec<String>, Option<String>)| {
            let (action, ids, confirm) = (*action, ids.clone(), confirm.clone());
            async move { run_batch(action, ids, confirm).await }
        },
    )
}

pub type BatchActionHandle = Action<(BatchAction, Vec<String>, Option<String>), Result<BatchOutcome, AppError>>;

#[component]
pub fn BatchResult(batch: BatchActionHandle) -> impl IntoView {
    move || {
        batch.value().get().map(|result| match result {
            Ok(outcome) => {
                let ok = outcome.succeeded();
                let failed = outcome.items.len() - ok;
                let rows = outcome
                    .items
                    .into_iter()
                    .map(|i| {
                        let ok = i.ok();
                        let status = if ok { "Accepted".to_string() } else { i.error_code.clone().unwrap_or_default() };
                        view! {
                            <li class=if ok { "ok" } else { "failed" }>
                                <a class="mono" href=format!("/workspaces/{}", i.workspace_id)>{i.workspace_id.as_str().to_owned()}</a>
                                " — " <strong>{status}</strong>
                                {i.error_message.map(|m| view! { <span class="reason">{format!(": {m}")}</span> })}
                            </li>
                        }
                    })
                    .collect_view();
                Either::Left(view! {
                    <section class="batch-result" aria-live="polite">
                        <h2>{format!("{}: {ok} accepted, {failed} failed", outcome.action.label())}</h2>
                        <ul>{rows}</ul>
                    </section>
                })
            }
            Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
        })
    }
}

/// Rebuild and terminate: say what is lost and ask the user to type the action's word.
#[component]
pub fn ConfirmDialog(
    confirming: RwSignal<Option<BatchAction>>,
    ids: Signal<Vec<String>>,
    batch: BatchActionHandle,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let close = move || {
        confirming.set(None);
        typed.set(String::new());
    };
    // Keyboard: Escape closes; Tab and Shift+Tab stay inside the dialog.
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        use leptos::wasm_bindgen::JsValue;
        use leptos::web_sys::HtmlElement;
        match ev.key().as_str() {
            "Escape" => close(),
            "Tab" => {
                let (Some(input), Some(cancel), Some(confirm)) = (input_ref.get(), cancel_ref.get(), confirm_ref.get())
                else {
                    return;
                };
                let first: HtmlElement = input.into();
                let last: HtmlElement = if confirm.disabled() {
                    cancel.into()
                } else {
                    confirm.into()
                };
                let active = document().active_element();
                let is = |el: &HtmlElement| {
                    active
                        .as_ref()
                        .is_some_and(|a| AsRef::<JsValue>::as_ref(a) == AsRef::<JsValue>::as_ref(el))
                };
                if ev.shift_key() && is(&first) {
                    ev.prevent_default();
                    let _ = last.focus();
                } else if !ev.shift_key() && is(&last) {
                    ev.prevent_default();
                    let _ = first.focus();
                }
            }
            _ => {}
        }
    };
    move || {
        confirming.get().map(|action| {
            let word = action.confirmation_word().unwrap_or_default();
            let count = ids.with_untracked(|s| s.len());
            view! {
                <div class="dialog-backdrop">
                    <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-text"
                        on:keydown=on_key>
                        <h2 id="confirm-title">{format!("{} {count} WorkSpace{}?", action.label(), if count == 1 { "" } else { "s" })}</h2>
                        <p id="confirm-text" class="warning">{action.warning().unwrap_or_default()}</p>
                        {(action == BatchAction::Rebuild && count > 1).then(|| view! {
                            <p>"The API rebuilds one WorkSpace per call; the portal sends them one after the other."</p>
                        })}
                        <label>{format!("Type {word} to confirm")}
                            <input type="text" autocomplete="off" autofocus node_ref=input_ref prop:value=move || typed.get()
                                on:input=move |ev| typed.set(event_target_value(&ev))/>
                        </label>
                        <div class="dialog-actions">
                            <button type="button" class="button" node_ref=cancel_ref on:click=move |_| close()>"Cancel"</button>
                            <button type="button" class="button danger" node_ref=confirm_ref disabled=move || typed.get().trim() != word
                                on:click=move |_| {
                                    batch.dispatch((action, ids.get_untracked(), Some(typed.get_untracked())));
                                    close();
                                }>
                                {action.label()}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}
