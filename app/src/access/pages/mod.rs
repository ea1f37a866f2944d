//! `/access`: the logins WorkSpaces clients reported, newest first, searchable (in the URL),
//! charted ([`charts`]) and downloadable; `/access/alerts` ([`alerts`]); the ingest tokens'
//! panel of the Users page and a WorkSpace's login history.

mod alerts;
mod charts;

pub use alerts::{AccessAlertsPage, AccessTabs, OpenAlerts};

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::*;
use crate::forms::PostForm;
use crate::ui::{ErrorBox, KeysetPager};
use crate::url::UrlQuery;

/// The platforms and client products the documentation lists (the filters suggest them; any
/// other value sent is kept and can be typed).
const PLATFORMS: &[&str] = &[
    "Android",
    "Chrome",
    "iOS",
    "Linux",
    "OSX",
    "Windows",
    "Teradici PCoIP Zero Client and Tera2",
    "Web",
];
const PRODUCTS: &[&str] = &[
    "WorkSpaces Desktop client",
    "Amazon WorkSpaces Mobile client",
    "WorkSpaces Mobile client",
    "WorkSpaces Chrome client",
    "WorkSpaces Web client",
    "Teradici PCoIP Zero Client, Teradici PCoIP Desktop Client, or Dell Wyse PCoIP Client",
];

use crate::ui::utc_second as utc;

#[component]
pub fn AccessLoginsPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| AccessQuery::from_pairs(p.latest_values().map(|(k, v)| (k.as_ref(), v)))));
    let page = Resource::new(move || query.get(), list_access);
    let charts = Resource::new(
        move || {
            let mut q = query.get();
            q.before.clear();
            q
        },
        get_login_charts,
    );
    view! {
        <Title text="Access — WorkSpaces Portal"/>
        <div class="page-head">
            <h1>"Logins"</h1>
            <div class="export" aria-label="Export">
                <span class="muted">"Export these logins: "</span>
                <a class="button" download="" rel="external" href=move || query.get().export_href("csv")>"CSV"</a>
                <a class="button" download="" rel="external" href=move || query.get().export_href("ndjson")>"NDJSON"</a>
            </div>
        </div>
        <AccessTabs current="/access"/>
        <p class="hint">"Successful logins to WorkSpaces, as WorkSpaces clients report them to EventBridge \
            (WorkSpaces Access events), newest first. Times are UTC."</p>
        {move || view! { <Filters query=query.get()/> }}
        <Transition fallback=|| view! { <p class="loading">"Charting…"</p> }>
            {move || Suspend::new(async move {
                match charts.await {
                    Ok(charts) => Either::Left(view! { <charts::LoginChartsView charts/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => Either::Left(view! { <LoginTable data query=query.get_untracked()/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Filters(query: AccessQuery) -> impl IntoView {
    let options = |id: &'static str, values: &'static [&'static str]| {
        view! { <datalist id=id>{values.iter().map(|v| view! { <option value=*v/> }).collect_view()}</datalist> }
    };
    view! {
        <Form method="GET" action="/access" attr:class="filters" attr:aria-label="Filter the logins">
            <label>"WorkSpace" <input type="text" name="workspace" value=query.workspace.clone() placeholder="ws-…"/></label>
            <label>"User" <input type="text" name="user" value=query.user.clone() placeholder="user name"/></label>
            <label>"Directory" <input type="text" name="directory" value=query.directory.clone() placeholder="d-…"/></label>
            <label>"Client IP or network" <input type="text" name="ip" value=query.ip.clone() placeholder="203.0.113.0/24"/></label>
            <label>"Platform" <input type="text" name="platform" list="access-platforms" value=query.platform.clone()/></label>
            <label>"Client" <input type="text" name="product" list="access-products" value=query.product.clone()/></label>
            <label>"From (UTC)" <input type="datetime-local" name="from" value=query.from.clone()/></label>
            <label>"To (UTC)" <input type="datetime-local" name="to" value=query.to.clone()/></label>
            {options("access-platforms", PLATFORMS)}
            {options("access-products", PRODUCTS)}
            <div class="filter-actions">
                <button type="submit" class="button">"Search"</button>
                <a href=AccessQuery::default().href() class="button subtle">"Clear"</a>
            </div>
        </Form>
    }
}

#[component]
fn LoginTable(data: AccessPage, query: AccessQuery) -> impl IntoView {
    if data.items.is_empty() {
        let message = if query == AccessQuery::default() {
            "No login has been received yet. Connect EventBridge (see the README), or import events with \
             `workspaces-portal access import FILE`."
        } else {
            "No login matches these filters."
        };
        return Either::Left(view! { <p class="empty">{message}</p> });
    }
    let first = (!query.before.is_empty()).then(|| {
        AccessQuery {
            before: String::new(),
            ..query.clone()
        }
        .href()
    });
    let more = data.next.map(|before| {
        AccessQuery {
            before,
            ..query.clone()
        }
        .href()
    });
    let rows = data
        .items
        .into_iter()
        .map(|l| {
            let user = l
                .user_name
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "—".into());
            let ip = if l.client_ip.is_empty() {
                "—".to_string()
            } else {
                l.client_ip.clone()
            };
            view! {
                <tr data-event=l.event_id.clone()>
                    <td class="mono nowrap">{utc(&l.login_time)}</td>
                    <td><a class="mono" href=format!("/workspaces/{}", l.workspace_id)>{l.workspace_id.clone()}</a></td>
                    <td>{user}</td>
                    <td class="mono">{ip}</td>
                    <td>{l.platform.clone()}</td>
                    <td>{l.product.clone()}</td>
                    <td class="mono">{l.directory_id.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="logins">
                <caption class="visually-hidden">"Logins, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Login (UTC)"</th>
                        <th scope="col">"WorkSpace"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Client IP"</th>
                        <th scope="col">"Platform"</th>
                        <th scope="col">"Client"</th>
                        <th scope="col">"Directory"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <KeysetPager first next=more first_label="Newest" next_label="Older logins"/>
    })
}

/// The Users page's panel of ingest tokens: make one (shown once), see when each was last
/// used, revoke one.
#[component]
pub fn IngestTokens() -> impl IntoView {
    let create = ServerAction::<CreateIngestToken>::new();
    let revoke = ServerAction::<RevokeIngestToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_ingest_tokens(),
    );
    view! {
        <section class="card" aria-labelledby="ingest-tokens">
            <h2 id="ingest-tokens">"Ingest tokens"</h2>
            <p class="hint">"An ingest token lets EventBridge deliver WorkSpaces Access events to "
                <code>{INGEST_PATH}</code> " (header " <code>"Authorization: Bearer <token>"</code>
                "); it reaches nothing else. The token is shown once, when it is made."</p>
            <div aria-live="polite">
                {move || create.value().get().map(|r| match r {
                    Ok(made) => Either::Left(view! {
                        <div class="ok-box" role="status">
                            <p>{format!("Token {} made. Copy it now: it is not shown again.", made.name)}</p>
                            <code class="secret" data-token=made.name.clone()>{made.token.clone()}</code>
                        </div>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
                {move || revoke.value().get().map(|r| match r {
                    Ok(()) => Either::Left(view! { <p class="ok-box" role="status">"Token revoked: its deliveries are refused from now on."</p> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(rows) if rows.is_empty() => Either::Left(view! { <p class="empty">"No ingest token yet."</p> }),
                        Ok(rows) => Either::Right(Either::Left(view! { <TokenTable rows revoke/> })),
                        Err(e) => Either::Right(Either::Right(view! { <ErrorBox error=e/> })),
                    }
                })}
            </Transition>
            <PostForm action=create class="inline-form">
                <label>"Name" <input type="text" name="name" required maxlength="64" placeholder="eventbridge" autocomplete="off"/></label>
                <button type="submit" class="button primary" disabled=move || create.pending().get()>"Make a token"</button>
            </PostForm>
        </section>
    }
}

#[component]
fn TokenTable(rows: Vec<IngestToken>, revoke: ServerAction<RevokeIngestToken>) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|t| {
            let (name, label) = (t.name.clone(), format!("Revoke {}", t.name));
            let state = match &t.revoked_at {
                Some(at) => {
                    Either::Left(view! { <span class="badge badge-idle">{format!("revoked {}", utc(at))}</span> })
                }
                None => Either::Right(view! {
                    <PostForm action=revoke class="row-form">
                        <input type="hidden" name="name" value=name/>
                        <button type="submit" class="button subtle" aria-label=label>"Revoke"</button>
                    </PostForm>
                }),
            };
            view! {
                <tr data-token-row=t.name.clone()>
                    <td>{t.name.clone()}</td>
                    <td class="mono nowrap">{utc(&t.created_at)}</td>
                    <td>{t.created_by.clone()}</td>
                    <td class="mono nowrap">{t.last_used_at.as_deref().map(utc).unwrap_or_else(|| "never".into())}</td>
                    <td>{state}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="tokens">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Made (UTC)"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Last used (UTC)"</th>
                        <th scope="col">"State"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A WorkSpace's recent logins, for its own page (the WorkSpace detail page).
#[component]
pub fn LoginHistory(#[prop(into)] workspace: Signal<String>) -> impl IntoView {
    let page = Resource::new(
        move || workspace.get(),
        |workspace| {
            list_access(AccessQuery {
                workspace,
                ..Default::default()
            })
        },
    );
    view! {
        <section class="card logins-history" aria-labelledby="login-history">
            <h2 id="login-history">"Logins"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(data) if data.items.is_empty() => Either::Left(view! {
                            <p class="hint">"No login received for this WorkSpace."</p>
                        }),
                        Ok(data) => {
                            let rows = data.items.into_iter().take(10).map(|l| {
                                let ip = if l.client_ip.is_empty() { "—".to_string() } else { l.client_ip.clone() };
                                view! {
                                    <li data-event=l.event_id.clone()>
                                        <span class="mono">{utc(&l.login_time)}</span>
                                        " from " <span class="mono">{ip}</span>
                                        " · " {l.platform.clone()} " · " {l.product.clone()}
                                    </li>
                                }
                            }).collect_view();
                            Either::Right(Either::Left(view! { <ul class="history-list">{rows}</ul> }))
                        }
                        Err(e) => Either::Right(Either::Right(view! { <ErrorBox error=e/> })),
                    }
                })}
            </Transition>
            <p><a href=move || AccessQuery { workspace: workspace.get(), ..Default::default() }.href()>
                "All of this WorkSpace's logins"
            </a></p>
        </section>
    }
}
