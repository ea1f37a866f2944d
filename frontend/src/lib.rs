//! Hydrates the server-rendered page in the browser.

// The pages' view types are deep; the release build (LTO) needs more than the default 128.
#![recursion_limit = "256"]

use std::cell::Cell;

use leptos::prelude::{document, window};
use wasm_bindgen::prelude::*;

/// Marks the tab (in `window.name`, which outlives a navigation) while it loads a page from the
/// server because the page's code failed to load, so that happens once per page, not forever.
const RELOADING: &str = "workspaces-portal:reloading:";

thread_local! {
    /// Set once the browser starts leaving the page: code that fails to load then was cut off
    /// by the navigation, and the page must not reload over it.
    static LEAVING: Cell<bool> = const { Cell::new(false) };
}

#[wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(on_panic));
    let on_leave = Closure::<dyn Fn()>::new(|| LEAVING.set(true));
    let _ = window().add_event_listener_with_callback("beforeunload", on_leave.as_ref().unchecked_ref());
    on_leave.forget();

    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else { return };
        // Pages are split out of the main module: hydration finishes once the page's part is in.
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        if window().name().is_ok_and(|n| n.starts_with(RELOADING)) {
            let _ = window().set_name("");
        }
        // Lets end-to-end tests (and curious users) tell when the page has become interactive.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// Logs a panic to the console; when it is a page's code that failed to load (a network error,
/// or a new version of the portal deployed since this page was loaded), asks the server for the
/// page instead of leaving one whose buttons do nothing.
fn on_panic(info: &std::panic::PanicHookInfo) {
    console_error_panic_hook::hook(info);
    if LEAVING.get() || !info.to_string().contains("SplitLoaderError") {
        return;
    }
    let location = window().location();
    let Some(url) = app::routed_url().or_else(|| location.href().ok()) else {
        return;
    };
    let mark = format!("{RELOADING}{url}");
    if window().name().is_ok_and(|n| n == mark) {
        return; // loaded from the server for this already: leave the page as it is
    }
    let _ = window().set_name(&mark);
    let _ = location.assign(&url);
}
