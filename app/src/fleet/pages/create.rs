//! `/workspaces/new`: create WorkSpaces for many users at once.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

use crate::catalog::{list_bundles, list_directories, BundleOwner};
use crate::fleet::*;
use crate::forms::PostForm;
use crate::policy;
use crate::ui::{signed_in_user, ErrorBox, NotAllowed};

#[component]
pub fn CreatePage() -> impl IntoView {
    let create = ServerAction::<CreateWorkspaces>::new();
    let directories = Resource::new(|| (), |_| list_directories());
    let bundles = Resource::new(
        || (),
        |_| async {
            let mut all = list_bundles(BundleOwner::Account).await?;
            all.extend(list_bundles(BundleOwner::Amazon).await?);
            Ok::<_, crate::error::AppError>(all)
        },
    );
    view! {
        <Title text="Create WorkSpaces — WorkSpaces Portal"/>
        <p class="breadcrumb"><a href="/workspaces">"WorkSpaces"</a> " / new"</p>
        <h1>"Create WorkSpaces"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading directories and bundles…"</p> }>
            {move || Suspend::new(async move {
                let allowed = |me: crate::identity::Me| policy::allows(me.role, CreateWorkspaces::PATH, "CreateWorkspaces");
                if !signed_in_user().await.is_some_and(allowed) {
                    return EitherOf3::A(view! {
                        <NotAllowed endpoint=CreateWorkspaces::PATH event="CreateWorkspaces" what="Creating WorkSpaces"/>
                    });
                }
                let (directories, bundles) = (directories.await, bundles.await);
                let (directories, bundles) = match (directories, bundles) {
                    (Ok(d), Ok(b)) => (d, b),
                    (Err(e), _) | (_, Err(e)) => return EitherOf3::B(view! { <ErrorBox error=e/> }),
                };
                let registered: Vec<_> = directories.into_iter().filter(|d| d.state == "REGISTERED").collect();
                EitherOf3::C(view! {
                    <PostForm action=create class="create-form stack">
                        <label>"Directory (registered directories only)"
                            <select name="form[directory_id]" required>
                                {registered.into_iter().map(|d| view! {
                                    <option value=d.id.as_str().to_owned()>{format!("{} — {} ({}, {})", d.alias, d.name, d.directory_type, d.id)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label>"Bundle"
                            <select name="form[bundle_id]" required>
                                {bundles.into_iter().map(|b| view! {
                                    <option value=b.id.as_str().to_owned()>{format!("{} — {} · {} GB user storage · owner {}", b.name, b.compute_type, b.user_storage, b.owner)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label>"Users (one user name per line; any number, sent 25 at a time)"
                            <textarea name="form[users]" rows="6" required placeholder="alice\nbob\ncarol"></textarea>
                        </label>
                        <fieldset>
                            <legend>"Running mode"</legend>
                            <label class="check"><input type="radio" name="form[running_mode]" value="AUTO_STOP" checked/>"AutoStop"</label>
                            <label class="check"><input type="radio" name="form[running_mode]" value="ALWAYS_ON"/>"AlwaysOn"</label>
                            <label>"AutoStop after (minutes, in steps of 60)"
                                <input type="number" name="form[auto_stop_minutes]" min="60" step="60" max="2880" value="60"/>
                            </label>
                        </fieldset>
                        <fieldset>
                            <legend>"Volume encryption"</legend>
                            <label class="check"><input type="checkbox" name="form[root_volume_encrypted]" value="on"/>"Encrypt the root volume (C:)"</label>
                            <label class="check"><input type="checkbox" name="form[user_volume_encrypted]" value="on"/>"Encrypt the user volume (D:)"</label>
                            <label>"KMS key (required when encrypting)" <input type="text" name="form[volume_encryption_key]" placeholder="alias/aws/workspaces"/></label>
                        </fieldset>
                        <label>"Tags (key=value, one per line)"
                            <textarea name="form[tags]" rows="3" placeholder="Department=Finance"></textarea>
                        </label>
                        <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create WorkSpaces"</button>
                    </PostForm>
                })
            })}
        </Transition>
        <CreateResult create/>
    }
}

#[component]
fn CreateResult(create: ServerAction<CreateWorkspaces>) -> impl IntoView {
    move || {
        if create.pending().get() {
            return Some(EitherOf3::A(view! { <p class="loading" role="status">"Creating…"</p> }));
        }
        create.value().get().map(|result| match result {
            Ok(outcome) => {
                let ok = outcome.items.iter().filter(|i| i.workspace_id.is_some()).count();
                let failed = outcome.items.len() - ok;
                EitherOf3::B(view! {
                    <section class="batch-result" aria-live="polite">
                        <h2>{format!("{ok} WorkSpace(s) pending, {failed} failed")}</h2>
                        <table>
                            <thead><tr><th scope="col">"User"</th><th scope="col">"Outcome"</th></tr></thead>
                            <tbody>
                                {outcome.items.into_iter().map(|i| match i.workspace_id {
                                    Some(id) => Either::Left(view! {
                                        <tr class="ok"><td>{i.user_name}</td><td>"Pending: " <a class="mono" href=format!("/workspaces/{id}")>{id.to_string()}</a></td></tr>
                                    }),
                                    None => Either::Right(view! {
                                        <tr class="failed"><td>{i.user_name}</td><td><strong>{i.error_code.unwrap_or_default()}</strong>": " {i.error_message.unwrap_or_default()}</td></tr>
                                    }),
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                })
            }
            Err(e) => EitherOf3::C(view! { <ErrorBox error=e/> }),
        })
    }
}
