//! The fleet on the server: reading it (here, from the inventory) and changing it
//! ([`writes`], through the SDK at once), each request through the pipeline.
//!
//! Pages read only the [`inventory`], which one background [`sync`] keeps current: full sweeps
//! at a bounded call rate, re-reads by ID after every write made through the portal and of
//! WorkSpaces in transition. A write re-reads what it changed before it answers, so the next
//! page shows it.

pub mod inventory;
pub mod sync;
mod writes;

pub(crate) use writes::{auto_stop_minutes, checked_ids};

use std::collections::HashMap;
use std::sync::Arc;

use leptos::server_fn::ServerFn;
use serde_json::json;

use super::{
    Choice, Count, FleetOverview, FleetPage, FleetQuery, FleetSummary, GetWorkspace, ListWorkspaces, RefreshWorkspaces,
    WorkspaceDetail, WorkspaceId, WorkspaceState, WorkspaceSummary, ATTENTION_SHOWN,
};
use crate::catalog::ssr::Catalog;
use crate::error::{AppError, AppResult};
use crate::ssr::workspaces::Client;
use crate::ssr::{Audited, Caller, Operation, Pipeline};
pub use inventory::Inventory;
pub use sync::{Sync, SyncSettings};

/// The fleet service.
pub struct Fleet {
    client: Client,
    pipeline: Pipeline,
    catalog: Arc<Catalog>,
    inventory: Inventory,
    sync: Arc<Sync>,
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
        inventory: Inventory,
        sync: Arc<Sync>,
    ) -> Self {
        Fleet {
            client,
            pipeline,
            catalog,
            inventory,
            sync,
        }
    }

    /// The background sync (started by the server).
    pub fn sync(&self) -> Arc<Sync> {
        self.sync.clone()
    }

    /// `workspaces/list`: one page of the whole fleet, filtered and sorted, from the inventory.
    pub async fn list(&self, caller: &Caller, query: FleetQuery) -> AppResult<FleetPage> {
        let op = Operation::aws_read(
            ListWorkspaces::PATH,
            "DescribeWorkspaces",
            json!({ "portalFilters": query, "source": "inventory" }),
        );
        self.pipeline.run(caller, op, self.page(query)).await
    }

    /// `GET /api/workspaces/export?<the fleet page's query>`: every WorkSpace the page's
    /// filters match, in its order, as CSV.
    pub async fn export(&self, caller: &Caller, query: FleetQuery) -> AppResult<String> {
        let op = Operation::aws_read(
            super::EXPORT_PATH,
            "DescribeWorkspaces",
            json!({ "portalFilters": query, "export": "csv", "source": "inventory" }),
        );
        let work = async {
            let rows = self.inventory.matching(&query, 0, usize::MAX).await?;
            Ok(Csv(export_csv(&rows)))
        };
        Ok(self.pipeline.run(caller, op, work).await?.0)
    }

    async fn page(&self, query: FleetQuery) -> AppResult<FleetPage> {
        let (sync, at) = self.sync.health_at().await?;
        let (total, fleet_size) = self.inventory.count(&query, at).await?;
        let pages = total.div_ceil(query.per_page).max(1);
        let page = query.page.min(pages);
        let items = self
            .inventory
            .matching(&query, (page - 1) * query.per_page, query.per_page)
            .await?;
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
            sync,
        })
    }

    /// `workspaces/summary`: counts by state, directory and running mode, what needs
    /// attention, and how the sync is doing.
    pub async fn summary(&self, caller: &Caller) -> AppResult<FleetOverview> {
        let op = Operation::aws_read(
            FleetSummary::PATH,
            "DescribeWorkspaces",
            json!({ "source": "inventory" }),
        );
        let work = async {
            let counted = |pairs: Vec<(String, usize)>| {
                let mut counts: Vec<Count> = pairs.into_iter().map(|(label, count)| Count { label, count }).collect();
                counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
                counts
            };
            let attention: Vec<WorkspaceState> = WorkspaceState::ALL
                .into_iter()
                .filter(|s| s.needs_attention())
                .collect();
            let (by_state, by_directory, by_running_mode, attention, sync) = tokio::try_join!(
                self.inventory.counts("state"),
                self.inventory.counts("directory_key"),
                self.inventory.counts("running_mode"),
                self.inventory.in_states(&attention, ATTENTION_SHOWN),
                self.sync.health(),
            )?;
            let attention_total = by_state
                .iter()
                .filter(|(state, _)| WorkspaceState::from_api(state).needs_attention())
                .map(|(_, n)| n)
                .sum();
            Ok(FleetOverview {
                sync,
                total: by_state.iter().map(|(_, n)| n).sum(),
                by_state: counted(by_state),
                by_directory: counted(by_directory),
                by_running_mode: counted(by_running_mode),
                attention,
                attention_total,
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/get`: one WorkSpace with its tags and connection status, from the
    /// inventory (read from AWS first if the inventory has not seen it yet). A WorkSpace gone
    /// from AWS is shown as last read, with when it went.
    pub async fn detail(&self, caller: &Caller, id: &str) -> AppResult<WorkspaceDetail> {
        let op = Operation::aws_read(
            GetWorkspace::PATH,
            "DescribeWorkspaces",
            json!({ "workspaceIds": [id], "source": "inventory" }),
        )
        .touching([id]);
        let work = async {
            let id = WorkspaceId::parse("id", id)?;
            let mut held = self.inventory.get(&id).await?;
            if held.is_none() {
                // Made outside the portal since the last sweep, or mistyped: ask AWS.
                self.sync.reread(std::slice::from_ref(&id)).await?;
                held = self.inventory.get(&id).await?;
            }
            // Its tags not read yet (new to the inventory): read them now, the user is waiting.
            if held
                .as_ref()
                .is_some_and(|h| h.tags.is_none() && h.workspace.gone_at.is_none())
            {
                self.sync.reread_details(&id).await?;
                held = self.inventory.get(&id).await?;
            }
            let held = held.ok_or_else(|| AppError::NotFound {
                message: format!("WorkSpace {id} does not exist (or was terminated)"),
            })?;
            Ok(WorkspaceDetail {
                workspace: held.workspace,
                tags_pending: held.tags.is_none(),
                tags: held.tags.unwrap_or_default(),
                connection: held.connection,
                read_secs_ago: sync::secs_since(&held.read_at).unwrap_or(0),
            })
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `workspaces/refresh` (*Refresh now*): re-reads these WorkSpaces from AWS at once, with
    /// their tags and connection status, and returns their rows (missing ones left out).
    pub async fn refresh(&self, caller: &Caller, ids: Vec<String>) -> AppResult<Vec<WorkspaceSummary>> {
        let op = Operation::aws_read(
            RefreshWorkspaces::PATH,
            "DescribeWorkspaces",
            json!({ "workspaceIds": ids }),
        )
        .touching(&ids);
        let work = async {
            let ids = writes::checked_ids(&ids, writes::MAX_REFRESH)?;
            self.sync.reread(&ids).await?;
            if let [one] = ids.as_slice() {
                self.sync.reread_details(one).await?;
            }
            self.inventory.rows(&ids).await
        };
        self.pipeline.run(caller, op, work).await
    }

    /// The user of each WorkSpace the inventory holds (gone ones too), once a sweep of the
    /// whole fleet is complete; `None` before (a WorkSpace missing from it may just be unread).
    pub async fn users(&self) -> AppResult<Option<HashMap<String, String>>> {
        if self.sync.health().await?.completed_sweeps == 0 {
            return Ok(None);
        }
        Ok(Some(self.inventory.users().await?))
    }

    /// WorkSpaces per directory ID.
    pub async fn per_directory(&self) -> AppResult<HashMap<String, usize>> {
        self.inventory.per_directory().await
    }

    /// After a write made through the portal: re-reads what it touched, so the next page shows
    /// it. The write itself succeeded, so a failure here is logged, and the sync re-reads them.
    pub(crate) async fn reread(&self, ids: &[WorkspaceId]) {
        if let Err(e) = self.sync.reread(ids).await {
            tracing::warn!(error = %e, "re-reading WorkSpaces after a write failed; the sync will");
            let _ = self.inventory.mark_details_due(ids).await;
        }
    }
}
