//! What every dialog does with the keyboard: focus moves into it when it opens, Tab and
//! Shift+Tab stay inside it, Escape closes it, and focus goes back to what opened it.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, HtmlElement, KeyboardEvent};

const FOCUSABLE: &str =
    "button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), a[href]";

fn focusable_in(container: &Element) -> Vec<HtmlElement> {
    let all = container.get_elements_by_tag_name("*");
    (0..all.length())
        .filter_map(|i| all.item(i))
        .filter(|e| e.matches(FOCUSABLE).unwrap_or(false))
        .filter_map(|e| e.dyn_into::<HtmlElement>().ok())
        .collect()
}

/// A dialog's key handler (on the dialog's element): Escape calls `close`; Tab and Shift+Tab
/// wrap around inside the dialog.
pub fn on_dialog_key(ev: &KeyboardEvent, close: impl Fn()) {
    match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "Tab" => {
            let Some(dialog) = ev.current_target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            let items = focusable_in(&dialog);
            let (Some(first), Some(last)) = (items.first(), items.last()) else {
                return;
            };
            let active = document().active_element();
            let is = |el: &HtmlElement| active.as_ref() == Some(el.unchecked_ref::<Element>());
            if ev.shift_key() && is(first) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && is(last) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
        _ => {}
    }
}

/// For a dialog shown while `open` is true: when it opens, remembers what had focus and moves
/// focus to the dialog's first field (or first control); when it closes, gives focus back.
pub fn dialog_focus(open: Signal<bool>) {
    // Focus is the browser's: on the server there is nothing to do.
    if cfg!(feature = "ssr") {
        return;
    }
    let opener = std::rc::Rc::new(std::cell::RefCell::new(None::<HtmlElement>));
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            *opener.borrow_mut() = document()
                .active_element()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok());
            // Once the dialog is drawn (this effect may run before it is).
            request_animation_frame(|| {
                let Some(dialog) = document().query_selector(".dialog-backdrop .dialog").ok().flatten() else {
                    return;
                };
                let items = focusable_in(&dialog);
                let field = items
                    .iter()
                    .find(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA"))
                    .or(items.first());
                if let Some(field) = field {
                    let _ = field.focus();
                }
            });
        } else if !is_open && was_open == Some(true) {
            if let Some(opener) = opener.borrow_mut().take() {
                let _ = opener.focus();
            }
        }
        is_open
    });
}
