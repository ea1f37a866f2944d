//! The fleet on the server: reading it (here) and changing it ([`writes`]), through the SDK,
//! each request through the pipeline.
//!
//! DescribeWorkspaces has no server-side filters worth the name, so a page of the fleet view is
//! made from a walk of the whole fleet, cached briefly: stale-while-revalidate, single-flight,
//! and forgotten after every write made through the portal so that its effect shows at once.

mod writes;

pub(crate) use writes::{auto_stop_minutes, checked_ids};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use leptos::server_fn::ServerFn;
use serde_json::json;
use tokio::sync::Mutex;

use super::{
    Choice, Count, FleetOverview, FleetPage, FleetQuery, FleetSummary, GetWorkspace, Idle, ListWorkspaces,
    RefreshWorkspaces, Tag, WorkspaceDetail, WorkspaceId, WorkspaceSummary,
};
use crate::access::ssr::review::LastLogins;
use crate::catalog::ssr::Catalog;
use crate::error::{AppError, AppResult};
use crate::ssr::workspaces::{self, sdk_error, Client};
use crate::ssr::{Audited, Cached, Caller, Operation, Pipeline};

/// How long reads are reused.
#[derive(Clone, Debug)]
pub struct FleetSettings {
    /// How long a walk of the whole fleet counts as fresh (0: walk on every request). Writes
    /// made through the portal invalidate it at once.
    pub walk_ttl: Duration,
    /// How long a WorkSpace's tags are reused for the tag filter.
    pub tags_ttl: Duration,
}

impl Default for FleetSettings {
    fn default() -> Self {
        FleetSettings {
            walk_ttl: Duration::from_secs(2),
            tags_ttl: Duration::from_secs(60),
        }
    }
}

#[derive(Default)]
struct WalkCache {
    last: Option<Cached<Vec<WorkspaceSummary>>>,
    /// Bumped by every write made through the portal.
    generation: u64,
    /// A background walk is under way.
    refreshing: bool,
}

/// The fleet service.
pub struct Fleet {
    client: Client,
    pipeline: Pipeline,
    catalog: Arc<Catalog>,
    /// Each WorkSpace's last login, for the *Last login* column and the idle filter.
    last_logins: LastLogins,
    settings: FleetSettings,
    walk: Arc<std::sync::Mutex<WalkCache>>,
    /// Single-flight: concurrent page loads share one walk of the fleet.
    walking: Arc<Mutex<()>>,
    tags: Mutex<HashMap<WorkspaceId, Cached<Vec<Tag>>>>,
}

impl Audited for FleetPage {}
impl Audited for FleetOverview {}
impl Audited for WorkspaceDetail {}
impl Audited for Vec<WorkspaceSummary> {}

/// A CSV download (only its size is recorded).
struct Csv(String);

impl Audited for Csv {
    fn response_elements(&self) -> serde_json::Value {
        json!({ "bytes": self.0.len() })
    }
}

/// The fleet as CSV: one row per WorkSpace, the columns of the page and more.
fn export_csv(rows: &[WorkspaceSummary]) -> String {
    use crate::audit::ssr::query::csv_field;
    let mut out: Vec<u8> = b"workspaceId,userName,state,directoryId,directory,bundleId,bundle,runningMode,\
autoStopMinutes,ipAddress,computerName,lastLogin\n"
        .to_vec();
    for w in rows {
        let fields = [
            w.id.to_string(),
            w.user_name.clone(),
            w.state.to_string(),
            w.directory_id.to_string(),
            w.directory_alias.clone().unwrap_or_default(),
            w.bundle_id.to_string(),
            w.bundle_name.clone().unwrap_or_default(),
            w.running_mode.to_string(),
            w.auto_stop_minutes.map(|m| m.to_string()).unwrap_or_default(),
            w.ip_address.clone().unwrap_or_default(),
            w.computer_name.clone().unwrap_or_default(),
            w.last_login.clone().unwrap_or_default(),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            csv_field(&mut out, field.as_bytes());
        }
        out.push(b'\n');
    }
    String::from_utf8(out).unwrap_or_default()
}

impl Fleet {
    pub fn new(
        client: Client,
        pipeline: Pipeline,
        catalog: Arc<Catalog>,
        last_logins: LastLogins,
        settings: FleetSettings,
    ) -> Self {
        Fleet {
            client,
            pipeline,
            catalog,
            last_logins,
            settings,
            walk: Arc::default(),
            walking: Arc::default(),
            tags: Mutex::default(),
        }
    }

    /// `workspaces/list`: one page of the whole fleet, filtered and sorted.
    pub async fn list(&self, caller: &Caller, query: FleetQuery) -> AppResult<FleetPage> {
        let op = Operation::aws_read(
            ListWorkspaces::PATH,
            "DescribeWorkspaces",
            json!({ "portalFilters": query }),
        );
        self.pipeline.run(caller, op, self.page(query)).await
    }

    /// `GET /api/workspaces/export?<the fleet page's query>`: every WorkSpace the page's
    /// filters match, in its order, as CSV.
    pub async fn export(&self, caller: &Caller, query: FleetQuery) -> AppResult<String> {
        let op = Operation::aws_read(
            super::EXPORT_PATH,
            "DescribeWorkspaces",
            json!({ "portalFilters": query, "export": "csv" }),
        );
        let work = async {
            let (rows, _) = self.matching(&query).await?;
            Ok(Csv(export_csv(&rows)))
        };
        Ok(self.pipeline.run(caller, op, work).await?.0)
    }

    async fn page(&self, query: FleetQuery) -> AppResult<FleetPage> {
        let (rows, fleet_size) = self.matching(&query).await?;
        let total = rows.len();
        let pages = total.div_ceil(query.per_page).max(1);
        let page = query.page.min(pages);
        let items = rows
            .into_iter()
            .skip((page - 1) * query.per_page)
            .take(query.per_page)
            .collect();
        let catalog = self.catalog.index().await?;
        let mut directories: Vec<Choice> = catalog
            .directories
            .values()
            .map(|d| Choice {
                value: d.id.to_string(),
                label: format!("{} ({})", d.alias, d.id),
            })
            .collect();
        directories.sort_by(|a, b| a.label.cmp(&b.label));
        let mut bundles: Vec<Choice> = catalog
            .bundles
            .values()
            .map(|b| Choice {
                value: b.id.to_string(),
                label: format!("{} ({})", b.name, b.compute_type),
            })
            .collect();
        bundles.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(FleetPage {
            items,
            total,
            fleet_size,
            page,
            per_page: query.per_page,
            pages,
            directories,
            bundles,
        })
    }

    /// The WorkSpaces `query`'s filters match, in its order, each with its last login; and the
    /// size of the whole fleet.
    async fn matching(&self, query: &FleetQuery) -> AppResult<(Vec<WorkspaceSummary>, usize)> {
        let (fleet, last_logins) = tokio::try_join!(self.all(), self.last_logins.all())?;
        let idle_since = match query.idle {
            Some(Idle::Days(days)) => Some(crate::audit::ssr::record::utc_text(
                std::time::SystemTime::now()
                    .checked_sub(Duration::from_secs(u64::from(days) * 86_400))
                    .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
            )),
            _ => None,
        };
        let user = query.user.to_lowercase();
        let mut rows: Vec<WorkspaceSummary> = fleet
            .iter()
            .filter(|w| query.state.as_ref().is_none_or(|s| w.state == *s))
            .filter(|w| query.directory.is_empty() || w.directory_id.as_str() == query.directory)
            .filter(|w| query.bundle.is_empty() || w.bundle_id.as_str() == query.bundle)
            .filter(|w| query.mode.as_ref().is_none_or(|m| w.running_mode == *m))
            .filter(|w| user.is_empty() || w.user_name.to_lowercase().contains(&user))
            .map(|w| WorkspaceSummary {
                last_login: last_logins.get(w.id.as_str()).cloned(),
                ..w.clone()
            })
            .filter(|w| match (query.idle, &w.last_login) {
                (None, _) => true,
                (Some(_), None) => true,
                (Some(Idle::Never), Some(_)) => false,
                (Some(Idle::Days(_)), Some(last)) => idle_since.as_ref().is_some_and(|since| last < since),
            })
            .collect();
        if !query.tag_key.is_empty() || !query.tag_value.is_empty() {
            // DescribeWorkspaces carries no tags: ask for them, a few at a time, cached.
            let ids: Vec<WorkspaceId> = rows.iter().map(|w| w.id.clone()).collect();
            let tag_sets: Vec<AppResult<Vec<Tag>>> = stream::iter(ids)
                .map(|id| async move { self.tags_of(&id).await })
                .buffered(16)
                .collect()
                .await;
            let keep: Vec<bool> = tag_sets
                .into_iter()
                .map(|tags| {
                    Ok(tags?.iter().any(|t| {
                        (query.tag_key.is_empty() || t.key == query.tag_key)
                            && (query.tag_value.is_empty() || t.value == query.tag_value)
                    }))
                })
                .collect::<AppResult<_>>()?;
            let mut keep = keep.into_iter();
            rows.retain(|_| keep.next().unwrap_or(false));
        }
        rows.sort_by_cached_key(|w| (query.sort.key(w), w.id.clone()));
        if query.desc {
            rows.reverse();
        }
        Ok((rows, fleet.len()))
    }

    /// `workspaces/summary`: counts by state, directory and running mode, and what needs
    /// attention.
    pub async fn summary(&self, caller: &Caller) -> AppResult<FleetOverview> {
        let op = Operation::aws_read(FleetSummary::PATH, "DescribeWorkspaces", json!({}));
        let work = async {
            let fleet = self.all().await?;
            let count_by = |key: &dyn Fn(&WorkspaceSummary) -> String| {
                let mut counts: HashMap<String, usize> = HashMap::new();
                for w in fleet.iter() {
                    *counts.entry(key(w)).or_default() += 1;
                }
                let mut counts: Vec<Count> = counts
                    .into_iter()
                    .map(|(label, count)| Count { label, count })
                    .collect();
                counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
                counts
            };
            Ok(FleetOverview {
                total: fleet.len(),
                by_state: count_by(&|w| w.state.to_string()),
                by_directory: count_by(&|w| w.directory_alias.clone().unwrap_or_else(|| w.directory_id.to_string())),
                by_running_mode: count_by(&|w| w.running_mode.to_string()),
                attention: fleet.iter().filter(|w| w.state.needs_attention()).cloned().collect(),
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/get`: one WorkSpace with its tags and connection status.
    pub async fn detail(&self, caller: &Caller, id: &str) -> AppResult<WorkspaceDetail> {
        let op = Operation::aws_read(
            GetWorkspace::PATH,
            "DescribeWorkspaces",
            json!({ "workspaceIds": [id] }),
        )
        .touching([id]);
        let work = async {
            let id = WorkspaceId::parse("id", id)?;
            let catalog = self.catalog.index().await?;
            let (described, tags, connection) = tokio::join!(
                self.client.describe_workspaces().workspace_ids(id.as_str()).send(),
                self.client.describe_tags().resource_id(id.as_str()).send(),
                self.client
                    .describe_workspaces_connection_status()
                    .workspace_ids(id.as_str())
                    .send(),
            );
            let described = described.map_err(|e| sdk_error("DescribeWorkspaces", e))?;
            let workspace = described
                .workspaces()
                .first()
                .map(|w| workspaces::workspace(w, &catalog))
                .ok_or_else(|| AppError::NotFound {
                    message: format!("WorkSpace {id} does not exist (or was terminated)"),
                })?;
            let tags = tags
                .map_err(|e| sdk_error("DescribeTags", e))?
                .tag_list()
                .iter()
                .map(workspaces::tag)
                .collect();
            let connection = connection
                .map_err(|e| sdk_error("DescribeWorkspacesConnectionStatus", e))?
                .workspaces_connection_status()
                .first()
                .map(workspaces::connection);
            Ok(WorkspaceDetail {
                workspace,
                tags,
                connection,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/refresh`: the current rows of these WorkSpaces (missing ones left out).
    pub async fn refresh(&self, caller: &Caller, ids: Vec<String>) -> AppResult<Vec<WorkspaceSummary>> {
        let op = Operation::aws_read(
            RefreshWorkspaces::PATH,
            "DescribeWorkspaces",
            json!({ "workspaceIds": ids }),
        )
        .touching(&ids);
        let work = async {
            let ids = writes::checked_ids(&ids, writes::MAX_REFRESH)?;
            let catalog = self.catalog.index().await?;
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(25) {
                let page = self
                    .client
                    .describe_workspaces()
                    .set_workspace_ids(Some(chunk.iter().map(|id| id.to_string()).collect()))
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeWorkspaces", e))?;
                out.extend(page.workspaces().iter().map(|w| workspaces::workspace(w, &catalog)));
            }
            let last_logins = self.last_logins.all().await?;
            for w in &mut out {
                w.last_login = last_logins.get(w.id.as_str()).cloned();
            }
            Ok(out)
        };
        self.pipeline.run(caller, op, work).await
    }

    /// The whole fleet: every page of DescribeWorkspaces, not only the first 25.
    ///
    /// Stale-while-revalidate: once a walk is older than its TTL, readers get it at once while
    /// one fresh walk runs in the background. Only the first read, and the first after a write
    /// made through the portal, wait for a walk. A TTL of zero means: always walk.
    pub async fn all(&self) -> AppResult<Arc<Vec<WorkspaceSummary>>> {
        let ttl = self.settings.walk_ttl;
        if !ttl.is_zero() {
            let mut cache = self.walk.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(last) = &cache.last {
                let value = last.value.clone();
                if !last.fresh(ttl) && !cache.refreshing {
                    cache.refreshing = true;
                    let walker = self.walker();
                    tokio::spawn(async move {
                        if let Err(e) = walker.walk().await {
                            tracing::warn!(error = %e, "background refresh of the fleet failed");
                        }
                        walker.walk_cache.lock().unwrap_or_else(|e| e.into_inner()).refreshing = false;
                    });
                }
                return Ok(value);
            }
        }
        self.walker().walk().await
    }

    fn walker(&self) -> Walker {
        Walker {
            client: self.client.clone(),
            catalog: self.catalog.clone(),
            ttl: self.settings.walk_ttl,
            walk_cache: self.walk.clone(),
            walking: self.walking.clone(),
        }
    }

    /// Forgets the cached walk after a write, so the next read shows its effect.
    pub(crate) fn invalidate(&self) {
        let mut cache = self.walk.lock().unwrap_or_else(|e| e.into_inner());
        cache.last = None;
        cache.generation += 1;
    }

    async fn tags_of(&self, id: &WorkspaceId) -> AppResult<Vec<Tag>> {
        if let Some(c) = self
            .tags
            .lock()
            .await
            .get(id)
            .filter(|c| c.fresh(self.settings.tags_ttl))
        {
            return Ok((*c.value).clone());
        }
        let out = self
            .client
            .describe_tags()
            .resource_id(id.as_str())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTags", e))?;
        let tags: Vec<Tag> = out.tag_list().iter().map(workspaces::tag).collect();
        self.tags.lock().await.insert(id.clone(), Cached::new(tags.clone()));
        Ok(tags)
    }
}

/// What a walk of the fleet needs, owned, so a background walk can outlive the request.
struct Walker {
    client: Client,
    catalog: Arc<Catalog>,
    ttl: Duration,
    walk_cache: Arc<std::sync::Mutex<WalkCache>>,
    walking: Arc<Mutex<()>>,
}

impl Walker {
    /// Walks every page (one walk at a time) and stores the result, unless a write made through
    /// the portal happened meanwhile: then the walk may predate the write.
    async fn walk(&self) -> AppResult<Arc<Vec<WorkspaceSummary>>> {
        let _one_walk_at_a_time = self.walking.lock().await;
        let generation = {
            let cache = self.walk_cache.lock().unwrap_or_else(|e| e.into_inner());
            // Someone else finished a walk while this one waited for its turn.
            if let Some(last) = cache.last.as_ref().filter(|l| l.fresh(self.ttl)) {
                return Ok(last.value.clone());
            }
            cache.generation
        };
        let catalog = self.catalog.index().await?;
        let mut pages = self.client.describe_workspaces().into_paginator().send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("DescribeWorkspaces", e))?;
            all.extend(page.workspaces().iter().map(|w| workspaces::workspace(w, &catalog)));
        }
        let fresh = Cached::new(all);
        let value = fresh.value.clone();
        let mut cache = self.walk_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation == generation {
            cache.last = Some(fresh);
        }
        Ok(value)
    }
}
