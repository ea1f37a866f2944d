//! `/bundles` and `/directories`.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::*;
use crate::ui::{yes_no, ErrorBox};

#[component]
pub fn BundlesPage() -> impl IntoView {
    let params = use_query_map();
    let owner = Memo::new(move |_| {
        if params.with(|p| p.get_str("owner") == Some("account")) {
            BundleOwner::Account
        } else {
            BundleOwner::Amazon
        }
    });
    let bundles = Resource::new(move || owner.get(), list_bundles);
    let tab = move |value: BundleOwner, label: &'static str, href: &'static str| {
        view! { <a href=href aria-current=move || if owner.get() == value { "page" } else { "false" }>{label}</a> }
    };
    view! {
        <Title text="Bundles — WorkSpaces Portal"/>
        <h1>"Bundles"</h1>
        <nav class="tabs" aria-label="Bundle owner">
            {tab(BundleOwner::Amazon, "Provided by Amazon", "/bundles")}
            {tab(BundleOwner::Account, "Owned by this account", "/bundles?owner=account")}
        </nav>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match bundles.await {
                    Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"No bundles."</p> }),
                    Ok(list) => EitherOf3::B(view! {
                        <div class="table-wrap"><table>
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Bundle ID"</th><th scope="col">"Compute type"</th>
                                <th scope="col">"User storage"</th><th scope="col">"Owner"</th><th scope="col">"Description"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|b| view! {
                                    <tr>
                                        <td>{b.name.clone()}</td>
                                        <td class="mono"><a href=format!("/workspaces?bundle={}", b.id)>{b.id.as_str().to_owned()}</a></td>
                                        <td>{b.compute_type.clone()}</td>
                                        <td>{format!("{} GB", b.user_storage)}</td>
                                        <td>{b.owner.clone()}</td>
                                        <td>{b.description.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }),
                    Err(e) => EitherOf3::C(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn DirectoriesPage() -> impl IntoView {
    let directories = Resource::new(|| (), |_| list_directories());
    view! {
        <Title text="Directories — WorkSpaces Portal"/>
        <h1>"Directories"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match directories.await {
                    Ok(list) => Either::Left(list.into_iter().map(|d| view! {
                        <section class="card directory">
                            <h2>{d.alias.clone()} " " <span class="muted">{d.name.clone()}</span></h2>
                            <dl class="props">
                                <div class="prop"><dt>"Directory ID"</dt><dd class="mono">{d.id.as_str().to_owned()}</dd></div>
                                <div class="prop"><dt>"State"</dt><dd><span class=format!("badge badge-{}", if d.state == "REGISTERED" { "ok" } else { "bad" })>{d.state.clone()}</span></dd></div>
                                <div class="prop"><dt>"Type"</dt><dd>{d.directory_type.clone()}</dd></div>
                                <div class="prop"><dt>"WorkSpaces"</dt><dd><a href=format!("/workspaces?directory={}", d.id)>{d.workspace_count}</a></dd></div>
                                <div class="prop"><dt>"Registration code"</dt><dd class="mono">{d.registration_code.clone().unwrap_or_default()}</dd></div>
                                <div class="prop"><dt>"DNS addresses"</dt><dd class="mono">{d.dns_ip_addresses.join(", ")}</dd></div>
                                <div class="prop"><dt>"Subnets"</dt><dd class="mono">{d.subnet_ids.join(", ")}</dd></div>
                                <div class="prop"><dt>"Security group"</dt><dd class="mono">{d.security_group_id.clone().unwrap_or_default()}</dd></div>
                                <div class="prop"><dt>"Service account"</dt><dd>{d.customer_user_name.clone().unwrap_or_default()}</dd></div>
                                <div class="prop"><dt>"IAM role"</dt><dd class="mono">{d.iam_role_id.clone().unwrap_or_default()}</dd></div>
                            </dl>
                            <h3>"Creation properties"</h3>
                            <dl class="props">
                                <div class="prop"><dt>"Default OU"</dt><dd>{d.default_ou.clone().unwrap_or_default()}</dd></div>
                                <div class="prop"><dt>"Custom security group"</dt><dd class="mono">{d.custom_security_group_id.clone().unwrap_or_default()}</dd></div>
                                <div class="prop"><dt>"Internet access"</dt><dd>{d.enable_internet_access.map(yes_no).unwrap_or("—")}</dd></div>
                                <div class="prop"><dt>"User is local administrator"</dt><dd>{d.user_enabled_as_local_administrator.map(yes_no).unwrap_or("—")}</dd></div>
                            </dl>
                        </section>
                    }).collect_view()),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}
