//! `/admin/users`: administrators add users, change roles, disable and enable them, and
//! reset passwords. Every change is checked (admin) and recorded on the server.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::access::pages::IngestTokens;
use crate::error::AppError;
use crate::forms::PostForm;
use crate::identity::{
    list_users, CreateUser, ResetUserPassword, Role, SetUserEnabled, SetUserRole, UserRow, MIN_PASSWORD,
};
use crate::ui::ErrorBox;

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_enabled = ServerAction::<SetUserEnabled>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                set_enabled.version().get(),
                reset.version().get(),
            )
        },
        |_| list_users(),
    );
    // The outcome of the last change, whichever form made it.
    let last = RwSignal::new(None::<Result<String, AppError>>);
    Effect::new(move |_| {
        if let Some(r) = create.value().get() {
            last.set(Some(r.map(|_| "User added.".to_string())));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = set_role.value().get() {
            last.set(Some(r.map(|_| "Role changed.".to_string())));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = set_enabled.value().get() {
            last.set(Some(r.map(|_| "User updated.".to_string())));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = reset.value().get() {
            last.set(Some(
                r.map(|_| "Password reset; the user's sessions have ended.".to_string()),
            ));
        }
    });
    view! {
        <Title text="Users — WorkSpaces Portal"/>
        <h1>"Users"</h1>
        <ul class="hint roles">
            {Role::ALL.into_iter().map(|r| view! { <li><strong>{r.as_str()}</strong>": " {r.describe()}</li> }).collect_view()}
        </ul>
        <div aria-live="polite">
            {move || last.get().map(|r| match r {
                Ok(message) => Either::Left(view! { <p class="ok-box" role="status">{message}</p> }),
                Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
            })}
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(rows) => Either::Left(view! { <UserTable rows set_role set_enabled reset/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <section class="card">
            <h2>"Add a user"</h2>
            <PostForm action=create class="inline-form">
                <label>"User name" <input type="text" name="name" required maxlength="64" autocomplete="off"/></label>
                <label>"Role" <RoleSelect selected=Role::Viewer/></label>
                <label>{format!("Password (at least {} characters)", MIN_PASSWORD)}
                    <input type="password" name="password" required autocomplete="new-password"/>
                </label>
                <button type="submit" class="button primary" disabled=move || create.pending().get()>"Add user"</button>
            </PostForm>
        </section>
        <IngestTokens/>
    }
}

#[component]
fn RoleSelect(selected: Role) -> impl IntoView {
    view! {
        <select name="role">
            {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> }).collect_view()}
        </select>
    }
}

#[component]
fn UserTable(
    rows: Vec<UserRow>,
    set_role: ServerAction<SetUserRole>,
    set_enabled: ServerAction<SetUserEnabled>,
    reset: ServerAction<ResetUserPassword>,
) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|u| {
            let (n1, n2, n3) = (u.name.clone(), u.name.clone(), u.name.clone());
            let role_label = format!("Role of {}", u.name);
            let password_label = format!("New password for {}", u.name);
            let toggle = if u.enabled { "Disable" } else { "Enable" };
            let role = u.role;
            let enable = (!u.enabled).to_string();
            view! {
                <tr data-user=u.name.clone() class:disabled=!u.enabled>
                    <td>{u.name.clone()}</td>
                    <td>
                        <PostForm action=set_role class="row-form">
                            <input type="hidden" name="name" value=n1.clone()/>
                            <label><span class="visually-hidden">{role_label.clone()}</span><RoleSelect selected=role/></label>
                            <button type="submit" class="button subtle">"Change role"</button>
                        </PostForm>
                    </td>
                    <td>{if u.enabled { "enabled" } else { "disabled" }}</td>
                    <td>{u.created_at.clone()}</td>
                    <td>{u.last_sign_in_at.clone().unwrap_or_else(|| "never".into())}</td>
                    <td>
                        <PostForm action=set_enabled class="row-form">
                            <input type="hidden" name="name" value=n2.clone()/>
                            <input type="hidden" name="enabled" value=enable.clone()/>
                            <button type="submit" class="button subtle">{toggle}</button>
                        </PostForm>
                        <PostForm action=reset class="row-form">
                            <input type="hidden" name="name" value=n3.clone()/>
                            <label><span class="visually-hidden">{password_label.clone()}</span>
                                <input type="password" name="password" placeholder="new password" autocomplete="new-password" required/>
                            </label>
                            <button type="submit" class="button subtle">"Reset password"</button>
                        </PostForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="users">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                <th scope="col">"Created (UTC)"</th><th scope="col">"Last sign-in (UTC)"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
