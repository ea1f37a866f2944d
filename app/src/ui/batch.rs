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
    // Keyboard: focus moves in and back out; Escape closes; Tab stays inside.
    super::dialog_focus(Signal::derive(move || confirming.with(Option::is_some)));
    move || {
        confirming.get().map(|action| {
            let word = action.confirmation_word().unwrap_or_default();
            let count = ids.with_untracked(|s| s.len());
            view! {
                <div class="dialog-backdrop">
                    <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-text"
                        on:keydown=move |ev| super::on_dialog_key(&ev, close)>
                        <h2 id="confirm-title">{format!("{} {count} WorkSpace{}?", action.label(), if count == 1 { "" } else { "s" })}</h2>
                        <p id="confirm-text" class="warning">{action.warning().unwrap_or_default()}</p>
                        {(action == BatchAction::Rebuild && count > 1).then(|| view! {
                            <p>"The API rebuilds one WorkSpace per call; the portal sends them one after the other."</p>
                        })}
                        <label>{format!("Type {word} to confirm")}
                            <input type="text" autocomplete="off" prop:value=move || typed.get()
                                on:input=move |ev| typed.set(event_target_value(&ev))/>
                        </label>
                        <div class="dialog-actions">
                            <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                            <button type="button" class="button danger" disabled=move || typed.get().trim() != word
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
