//! `/login` (sign in) and `/setup` (first run: the first administrator).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::forms::PostForm;
use crate::identity::{CompleteSetup, SignIn, MIN_PASSWORD};
use crate::ui::{use_who, ErrorBox};

/// After signing in (or out), a full page load: every part of the page sees the new user.
fn go(path: &str) {
    let _ = window().location().assign(path);
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    let sign_in = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(target)) = sign_in.value().get() {
            go(&target);
        }
    });
    let who = use_who();
    view! {
        <Title text="Sign in — WorkSpaces Portal"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let pending = who.await.map(|w| w.setup_pending).unwrap_or(false);
                    pending.then(|| view! {
                        <div class="notice" role="status">
                            <strong>"No user exists yet."</strong>
                            " Open the setup link the portal printed in its log when it started ("
                            <code>"/setup?token=…"</code>
                            ") to create the first administrator, or run "
                            <code>"workspaces-portal user add --name NAME --role admin"</code> "."
                        </div>
                    })
                })}
            </Transition>
            <PostForm action=sign_in class="stack">
                <input type="hidden" name="next" value=next/>
                <label>"User name" <input type="text" name="name" autocomplete="username" required autofocus/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>"Sign in"</button>
            </PostForm>
            {move || sign_in.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
        </section>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    let setup = ServerAction::<CompleteSetup>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = setup.value().get() {
            go("/admin/users");
        }
    });
    let who = use_who();
    view! {
        <Title text="First run — WorkSpaces Portal"/>
        <section class="card narrow">
            <h1>"Create the first administrator"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let pending = who.await.map(|w| w.setup_pending).unwrap_or(true);
                    (!pending).then(|| view! {
                        <div class="notice" role="status">
                            "The portal is set up already: this link no longer works. "
                            <a href="/login">"Sign in"</a>
                            ", or ask an administrator for an account."
                        </div>
                    })
                })}
            </Transition>
            <p class="hint">
                "This link works once, while no user exists. The administrator you create here "
                "adds everyone else on the Users page."
            </p>
            <PostForm action=setup class="stack">
                <input type="hidden" name="token" value=token/>
                <label>"User name (letters, digits, . - _ @)" <input type="text" name="name" autocomplete="username" required maxlength="64"/></label>
                <label>{format!("Password (at least {} characters)", MIN_PASSWORD)}
                    <input type="password" name="password" autocomplete="new-password" required minlength=MIN_PASSWORD.to_string()/>
                </label>
                <label>"Password again" <input type="password" name="again" autocomplete="new-password" required/></label>
                <button type="submit" class="button primary" disabled=move || setup.pending().get()>"Create administrator and sign in"</button>
            </PostForm>
            {move || setup.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
        </section>
    }
}
