//! `/access/alerts`: logins from outside the allowed networks, or from a network new to their
//! WorkSpace — to acknowledge one by one — and the allowed networks themselves.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::utc;
use crate::access::*;
use crate::forms::PostForm;
use crate::policy;
use crate::ui::{signed_in_user, ErrorBox, KeysetPager, NotAllowed};
use crate::url::UrlQuery;

/// The tabs of the access pages.
#[component]
pub fn AccessTabs(current: &'static str) -> impl IntoView {
    let tab = move |href: &'static str, label: &'static str| {
        let here = if href == current { "page" } else { "false" };
        view! { <A href=href attr:aria-current=here>{label}</A> }
    };
    view! {
        <nav class="tabs" aria-label="Access">
            {tab("/access", "Logins")}
            {tab("/access/alerts", "Alerts and allowed networks")}
        </nav>
    }
}

#[component]
pub fn AccessAlertsPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| AlertQuery::from_pairs(p.latest_values().map(|(k, v)| (k.as_ref(), v)))));
    let acknowledge = ServerAction::<AcknowledgeAlert>::new();
    let page = Resource::new(
        move || (query.get(), acknowledge.version().get()),
        |(query, _)| async move {
            let may_acknowledge = signed_in_user()
                .await
                .is_some_and(|me| policy::allows(me.role, AcknowledgeAlert::PATH, "AcknowledgeAccessAlert"));
            list_alerts(query).await.map(|page| (page, may_acknowledge))
        },
    );
    view! {
        <Title text="Access alerts — WorkSpaces Portal"/>
        <div class="page-head"><h1>"Access alerts"</h1></div>
        <AccessTabs current="/access/alerts"/>
        <p class="hint">"A login raises an alert when its address is in none of the allowed networks (of its \
            directory, or of every directory), or when its WorkSpace logged in during the 30 days before but never \
            from this /24 (IPv4) or /64 (IPv6). A login without an address raises none. Times are UTC."</p>
        <div aria-live="polite">
            {move || acknowledge.value().get().map(|r| match r {
                Ok(()) => Either::Left(view! { <p class="ok-box" role="status">"Alert acknowledged (recorded in the audit log)."</p> }),
                Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
            })}
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading alerts…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok((data, may)) => Either::Left(view! {
                        <AlertTable data query=query.get_untracked() acknowledge may_acknowledge=may/>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <AllowedNetworks/>
    }
}

#[component]
fn AlertTable(
    data: AlertPage,
    query: AlertQuery,
    acknowledge: ServerAction<AcknowledgeAlert>,
    may_acknowledge: bool,
) -> impl IntoView {
    let toggle = if query.all {
        view! { <a href=AlertQuery::default().href()>"Show open alerts only"</a> }
    } else {
        view! { <a href=AlertQuery { all: true, ..Default::default() }.href()>"Show acknowledged alerts too"</a> }
    };
    let summary = view! {
        <p class="alert-summary">
            <strong data-open-alerts=data.open.to_string()>{format!("{} open", data.open)}</strong>
            " · " {toggle}
        </p>
    };
    if data.items.is_empty() {
        let message = if query.all {
            "No alert has been raised."
        } else {
            "No open alert: every alert raised has been acknowledged."
        };
        return Either::Left(view! { {summary} <p class="empty">{message}</p> });
    }
    let first = (!query.before.is_empty()).then(|| {
        AlertQuery {
            before: String::new(),
            ..query.clone()
        }
        .href()
    });
    let more = data.next.map(|before| {
        AlertQuery {
            before,
            ..query.clone()
        }
        .href()
    });
    let rows = data
        .items
        .into_iter()
        .map(|a| {
            let logins = AccessQuery {
                workspace: a.workspace_id.clone(),
                ip: a.network.clone(),
                ..Default::default()
            }
            .href();
            let acknowledge_label = format!("Acknowledge the alert of {} at {}", a.workspace_id, utc(&a.login_time));
            let state = match (&a.acknowledged_at, may_acknowledge) {
                (Some(at), _) => EitherOf3::A(view! {
                    <span class="acknowledged">
                        {format!("Acknowledged by {} at {}", a.acknowledged_by.clone().unwrap_or_default(), utc(at))}
                    </span>
                }),
                (None, true) => EitherOf3::B(view! {
                    <PostForm action=acknowledge class="row-form">
                        <input type="hidden" name="id" value=a.id.to_string()/>
                        <button type="submit" class="button subtle" aria-label=acknowledge_label.clone()>
                            "Acknowledge"
                        </button>
                    </PostForm>
                }),
                (None, false) => EitherOf3::C(view! { <span>"Open"</span> }),
            };
            let kind = match a.kind {
                AlertKind::Outside => "badge badge-bad",
                AlertKind::NewNetwork => "badge badge-busy-static",
            };
            view! {
                <tr data-alert=a.id.to_string() data-kind=a.kind.as_str()>
                    <td class="mono nowrap">{utc(&a.login_time)}</td>
                    <td><span class=kind>{a.kind.label()}</span>
                        {a.webhook_error.clone().map(|e| view! { <p class="hint">{format!("Not posted to the webhook: {e}")}</p> })}</td>
                    <td><a class="mono" href=format!("/workspaces/{}", a.workspace_id)>{a.workspace_id.clone()}</a></td>
                    <td>{a.user_name.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class="mono">{a.client_ip.clone()}</td>
                    <td><a class="mono" href=logins title="This WorkSpace's logins from this network">{a.network.clone()}</a></td>
                    <td>{state}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        {summary}
        <div class="table-wrap">
            <table class="alerts">
                <caption class="visually-hidden">"Access alerts, newest login first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Login (UTC)"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col">"WorkSpace"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Client IP"</th>
                        <th scope="col">"Network"</th>
                        <th scope="col">"State"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <KeysetPager first next=more first_label="Newest" next_label="Older alerts"/>
    })
}

/// The allowed networks: listed for everyone, added and removed by admins.
#[component]
fn AllowedNetworks() -> impl IntoView {
    let add = ServerAction::<AddAllowedNetwork>::new();
    let remove = ServerAction::<RemoveAllowedNetwork>::new();
    let networks = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| async move {
            let admin = signed_in_user()
                .await
                .is_some_and(|me| policy::allows(me.role, AddAllowedNetwork::PATH, "AddAllowedNetwork"));
            list_allowed_networks().await.map(|rows| (rows, admin))
        },
    );
    view! {
        <section class="card" aria-labelledby="allowed-networks">
            <h2 id="allowed-networks">"Allowed networks"</h2>
            <p class="hint">"Logins from these networks raise no \"outside\" alert. A network for every directory \
                applies to all; one for a directory adds to those. Changes apply to logins that arrive from now on."</p>
            <div aria-live="polite">
                {move || add.value().get().map(|r| match r {
                    Ok(n) => Either::Left(view! { <p class="ok-box" role="status">{format!("{} ({}) allowed.", n.cidr, n.name)}</p> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
                {move || remove.value().get().map(|r| match r {
                    Ok(()) => Either::Left(view! { <p class="ok-box" role="status">"Network removed."</p> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading networks…"</p> }>
                {move || Suspend::new(async move {
                    match networks.await {
                        Ok((rows, admin)) => Either::Left(view! { <NetworkTable rows admin remove/> {admin_form(admin, add)} }),
                        Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                    }
                })}
            </Transition>
        </section>
    }
}

fn admin_form(admin: bool, add: ServerAction<AddAllowedNetwork>) -> impl IntoView {
    if !admin {
        return Either::Left(view! {
            <NotAllowed endpoint=AddAllowedNetwork::PATH event="AddAllowedNetwork" what="Changing the allowed networks"/>
        });
    }
    Either::Right(view! {
        <PostForm action=add class="inline-form network-form">
            <label>"Name" <input type="text" name="name" required maxlength="64" placeholder="Head office" autocomplete="off"/></label>
            <label>"Network (CIDR) or address" <input type="text" name="cidr" required placeholder="198.51.100.0/24" autocomplete="off"/></label>
            <label>"Directory (empty: every directory)" <input type="text" name="directory" placeholder="d-…" autocomplete="off"/></label>
            <button type="submit" class="button primary" disabled=move || add.pending().get()>"Allow"</button>
        </PostForm>
    })
}

#[component]
fn NetworkTable(rows: Vec<AllowedNetwork>, admin: bool, remove: ServerAction<RemoveAllowedNetwork>) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(view! {
            <p class="empty">"No allowed network: no login raises an \"outside\" alert until one is added."</p>
        });
    }
    let rows = rows
        .into_iter()
        .map(|n| {
            let label = format!("Remove {} ({})", n.cidr, n.name);
            let action = admin.then(move || {
                view! {
                    <PostForm action=remove class="row-form">
                        <input type="hidden" name="id" value=n.id.to_string()/>
                        <button type="submit" class="button subtle" aria-label=label>
                            "Remove"
                        </button>
                    </PostForm>
                }
            });
            view! {
                <tr data-network=n.cidr.clone()>
                    <td>{n.name.clone()}</td>
                    <td class="mono">{n.cidr.clone()}</td>
                    <td class="mono">{n.directory_id.clone().unwrap_or_else(|| "every directory".into())}</td>
                    <td>{format!("{} at {}", n.created_by, utc(&n.created_at))}</td>
                    <td>{action}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="networks">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Network"</th>
                        <th scope="col">"Directory"</th>
                        <th scope="col">"Added"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    })
}

/// The overview's line on access alerts: how many are open, linking to them.
#[component]
pub fn OpenAlerts() -> impl IntoView {
    let page = Resource::new(|| (), |_| list_alerts(AlertQuery::default()));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // A role that may not read alerts sees nothing here, not an error.
                let open = page.await.ok()?.open;
                Some(if open == 0 {
                    Either::Left(view! {
                        <p class="hint" data-open-alerts="0">"No open access alert. "
                            <a href="/access/alerts">"Alerts and allowed networks"</a></p>
                    })
                } else {
                    Either::Right(view! {
                        <p class="notice warn" role="status" data-open-alerts=open.to_string()>
                            <a href="/access/alerts">{format!("{open} open access alert{}", if open == 1 { "" } else { "s" })}</a>
                            ": logins from outside the allowed networks or from new networks, to acknowledge."
                        </p>
                    })
                })
            })}
        </Transition>
    }
}
