//! The one background sync that keeps the inventory current, politely:
//!
//! - a full sweep of DescribeWorkspaces every `sweep_every`, a page at a time, where it stopped
//!   kept in the database (a restart or an error resumes it there);
//! - WorkSpaces in a transitional state re-read by ID every `transitional_every`;
//! - tags and connection status read for WorkSpaces that are new or changed;
//! - every call through one limiter (`max_calls_per_sec`), SDK retries off, and a back-off with
//!   jitter after any failure (Throttling, 5xx, an unreachable endpoint).
//!
//! Re-reads the portal asks for itself (after a write, *Refresh now*) are made at once, outside
//! the limiter: a user is waiting for them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_workspaces::config::retry::RetryConfig;

use super::inventory::{Inventory, Versions};
use crate::audit::ssr::record::utc_now;
use crate::catalog::ssr::Catalog;
use crate::error::{AppError, AppResult};
use crate::fleet::{SyncHealth, WorkspaceId, WorkspaceSummary};
use crate::ssr::workspaces::{self, sdk_error, Client};

/// DescribeWorkspaces and DescribeWorkspacesConnectionStatus take at most 25 IDs.
pub const IDS_PER_CALL: usize = 25;

#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// A full sweep starts this long after the previous one started (at once if it took longer).
    pub sweep_every: Duration,
    /// The sync's calls to AWS, at most, per second.
    pub max_calls_per_sec: f64,
    /// How often WorkSpaces in a transitional state are re-read.
    pub transitional_every: Duration,
    /// The longest back-off after failures.
    pub max_backoff: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            sweep_every: Duration::from_secs(300),
            max_calls_per_sec: 2.0,
            transitional_every: Duration::from_secs(3),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// At most one call per `interval`, in order of asking.
struct Limiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl Limiter {
    fn new(per_sec: f64) -> Self {
        Limiter {
            interval: Duration::from_secs_f64(1.0 / per_sec.max(0.001)),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The sync.
pub struct Sync {
    /// The portal's client, for the re-reads users wait for (the SDK retries a throttled call).
    client: Client,
    /// The same, without SDK retries: the sync's own back-off decides when to call again.
    background: Client,
    catalog: Arc<Catalog>,
    inventory: Inventory,
    settings: SyncSettings,
    limiter: Limiter,
    /// When each call of the last minute was made (for the overview's calls per minute).
    calls: Mutex<VecDeque<Instant>>,
    /// WorkSpaces whose connection status was read and whose tags are next.
    tags_next: Mutex<VecDeque<WorkspaceId>>,
    /// A sweep was asked for: it starts as soon as the current one (if any) is over.
    sweep_asked: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

/// What one step of the sync did.
#[derive(Debug, PartialEq)]
enum Step {
    Called,
    Idle,
}

impl Sync {
    pub fn new(client: Client, catalog: Arc<Catalog>, inventory: Inventory, settings: SyncSettings) -> Self {
        let background = Client::from_conf(
            client
                .config()
                .to_builder()
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        Sync {
            client,
            background,
            catalog,
            inventory,
            limiter: Limiter::new(settings.max_calls_per_sec),
            settings,
            calls: Mutex::default(),
            tags_next: Mutex::default(),
            sweep_asked: Default::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn counted(&self) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        calls.push_back(now);
        while calls
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            calls.pop_front();
        }
    }

    /// How the sync is doing, for the pages.
    pub async fn health(&self) -> AppResult<SyncHealth> {
        Ok(self.health_at().await?.0)
    }

    /// How the sync is doing, and the inventory's versions it read that at.
    pub(crate) async fn health_at(&self) -> AppResult<(SyncHealth, Versions)> {
        let row = self.inventory.sync_row().await?;
        let at = (row.version, row.tags_version);
        let details_due = self.inventory.details_due_count(at).await?;
        let calls_last_minute = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            while calls
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                calls.pop_front();
            }
            calls.len()
        };
        let health = SyncHealth {
            synced_secs_ago: row.last_complete_at.as_deref().and_then(secs_since),
            completed_sweeps: (row.sweep - i64::from(row.sweep_started_at.is_some())).max(0) as u64,
            sweeping: row.sweep_started_at.is_some(),
            sweep_calls: row.sweep_calls.max(0) as u64,
            last_sweep_ms: row.last_complete_ms.map(|m| m.max(0) as u64),
            last_sweep_calls: row.last_complete_calls.map(|c| c.max(0) as u64),
            errors: row.errors.max(0) as u64,
            last_error: row.last_error,
            last_error_secs_ago: row.last_error_at.as_deref().and_then(secs_since),
            calls_last_minute,
            max_calls_per_sec: self.settings.max_calls_per_sec,
            details_due,
        };
        Ok((health, at))
    }

    /// Has a full sweep start as soon as the one under way (if any) is over.
    pub fn sweep_soon(&self) {
        self.sweep_asked.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Re-reads these WorkSpaces now (after a write, or *Refresh now*), stores them, marks
    /// the ones AWS no longer returns gone, and has their tags and connection status read again.
    pub async fn reread(&self, ids: &[WorkspaceId]) -> AppResult<Vec<WorkspaceSummary>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_CALL) {
            out.extend(self.read_ids(&self.client, chunk, true).await?);
        }
        self.wake.notify_one();
        Ok(out)
    }

    /// Re-reads one WorkSpace's tags and connection status now.
    pub async fn reread_details(&self, id: &WorkspaceId) -> AppResult<()> {
        self.read_connections(&self.client, std::slice::from_ref(id)).await?;
        self.read_tags(&self.client, id).await
    }

    /// Reads WorkSpaces by ID; `details`: have their tags and connection status read again too.
    async fn read_ids(&self, client: &Client, ids: &[WorkspaceId], details: bool) -> AppResult<Vec<WorkspaceSummary>> {
        let read_at = utc_now();
        self.counted();
        let page = client
            .describe_workspaces()
            .set_workspace_ids(Some(ids.iter().map(|id| id.to_string()).collect()))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeWorkspaces", e))?;
        let catalog = self.catalog.index().await?;
        let rows: Vec<WorkspaceSummary> = page
            .workspaces()
            .iter()
            .map(|w| workspaces::workspace(w, &catalog))
            .collect();
        self.inventory.store(&rows, &read_at, 0).await?;
        let missing: Vec<WorkspaceId> = ids
            .iter()
            .filter(|id| !rows.iter().any(|w| &w.id == *id))
            .cloned()
            .collect();
        self.inventory.mark_gone(&missing, &read_at).await?;
        if details {
            self.inventory.mark_details_due(ids).await?;
        }
        Ok(rows)
    }

    async fn read_connections(&self, client: &Client, ids: &[WorkspaceId]) -> AppResult<()> {
        let read_at = utc_now();
        self.counted();
        let out = client
            .describe_workspaces_connection_status()
            .set_workspace_ids(Some(ids.iter().map(|id| id.to_string()).collect()))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeWorkspacesConnectionStatus", e))?;
        let found: Vec<_> = out
            .workspaces_connection_status()
            .iter()
            .map(|c| {
                (
                    WorkspaceId::from_api(c.workspace_id().unwrap_or_default()),
                    workspaces::connection(c),
                )
            })
            .collect();
        self.inventory.store_connections(&found, &read_at).await
    }

    async fn read_tags(&self, client: &Client, id: &WorkspaceId) -> AppResult<()> {
        let read_at = utc_now();
        self.counted();
        match client.describe_tags().resource_id(id.as_str()).send().await {
            Ok(out) => {
                let tags: Vec<_> = out.tag_list().iter().map(workspaces::tag).collect();
                self.inventory.store_tags(id, &tags, &read_at).await
            }
            Err(e) => match sdk_error("DescribeTags", e) {
                // Terminated meanwhile: the next read of its row says so.
                AppError::Upstream { code, .. } if code == "ResourceNotFoundException" => {
                    self.inventory.details_done(id).await
                }
                other => Err(other),
            },
        }
    }

    /// Runs for as long as the portal does.
    pub async fn run(self: Arc<Self>) {
        let mut backoff = Duration::ZERO;
        let mut last_transitional = Instant::now() - self.settings.transitional_every;
        let mut turn = 0u64;
        loop {
            match self.step(&mut last_transitional, &mut turn).await {
                Ok(Step::Called) => backoff = Duration::ZERO,
                Ok(Step::Idle) => {
                    let _ = tokio::time::timeout(Duration::from_millis(500), self.wake.notified()).await;
                }
                Err(e) => {
                    let text = e.to_string();
                    tracing::warn!(error = %text, "inventory sync: a call failed; backing off");
                    if let Err(e) = self.inventory.sync_error(&text, &utc_now()).await {
                        tracing::warn!(error = %e, "inventory sync: cannot record the failure");
                    }
                    backoff = (backoff * 2).clamp(Duration::from_millis(500), self.settings.max_backoff);
                    // Full jitter, from half the back-off to all of it: processes do not call in step.
                    let wait = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One call's worth of work: the transitional WorkSpaces when due, else the sweep and the
    /// details in turns.
    async fn step(&self, last_transitional: &mut Instant, turn: &mut u64) -> AppResult<Step> {
        if last_transitional.elapsed() >= self.settings.transitional_every {
            let ids = self.inventory.transitional(IDS_PER_CALL).await?;
            if !ids.is_empty() {
                self.limiter.acquire().await;
                self.read_ids(&self.background, &ids, false).await?;
                *last_transitional = Instant::now();
                return Ok(Step::Called);
            }
            *last_transitional = Instant::now();
        }
        *turn += 1;
        if *turn % 2 == 0 {
            if self.details_step().await? == Step::Called {
                return Ok(Step::Called);
            }
            return self.sweep_step().await;
        }
        if self.sweep_step().await? == Step::Called {
            return Ok(Step::Called);
        }
        self.details_step().await
    }

    /// One page of the sweep under way, or the start of one that is due.
    async fn sweep_step(&self) -> AppResult<Step> {
        let row = self.inventory.sync_row().await?;
        let (sweep, started_at) = match row.sweep_started_at {
            Some(started) => (row.sweep, started),
            None => {
                let asked = self.sweep_asked.swap(false, std::sync::atomic::Ordering::SeqCst);
                let due = asked
                    || match row.last_complete_at.as_deref().and_then(secs_since) {
                        None => true,
                        Some(ago) => {
                            let took = row.last_complete_ms.unwrap_or(0).max(0) as u64 / 1000;
                            Duration::from_secs(ago + took) >= self.settings.sweep_every
                        }
                    };
                if !due {
                    return Ok(Step::Idle);
                }
                let now = utc_now();
                (self.inventory.sweep_started(&now).await?, now)
            }
        };
        self.limiter.acquire().await;
        let read_at = utc_now();
        self.counted();
        let page = match self
            .background
            .describe_workspaces()
            .set_next_token(row.next_token.clone())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                let e = sdk_error("DescribeWorkspaces", e);
                // A page token AWS no longer takes (kept too long): the sweep starts over.
                if row.next_token.is_some()
                    && matches!(&e, AppError::Upstream { code, .. } if code == "InvalidParameterValuesException")
                {
                    tracing::warn!("inventory sync: AWS refused the sweep's page token; the sweep starts over");
                    self.inventory.sweep_started(&utc_now()).await?;
                }
                return Err(e);
            }
        };
        let catalog = self.catalog.index().await?;
        let rows: Vec<WorkspaceSummary> = page
            .workspaces()
            .iter()
            .map(|w| workspaces::workspace(w, &catalog))
            .collect();
        self.inventory.store(&rows, &read_at, sweep).await?;
        let next = page.next_token().filter(|t| !t.is_empty());
        self.inventory.sweep_progress(next).await?;
        if next.is_none() {
            let now = utc_now();
            let gone = self.inventory.sweep_done(sweep, &started_at, &now).await?;
            let took = secs_since_ms(&started_at).unwrap_or(0);
            self.inventory.sweep_complete(&now, took as i64).await?;
            tracing::info!(sweep, gone, took_ms = took, "inventory sync: sweep complete");
        }
        Ok(Step::Called)
    }

    /// The connection status of up to 25 new or changed WorkSpaces, or the tags of one.
    async fn details_step(&self) -> AppResult<Step> {
        let next = self.tags_next.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        if let Some(id) = next {
            self.limiter.acquire().await;
            if let Err(e) = self.read_tags(&self.background, &id).await {
                self.tags_next.lock().unwrap_or_else(|e| e.into_inner()).push_front(id);
                return Err(e);
            }
            return Ok(Step::Called);
        }
        let due = self.inventory.details_due(IDS_PER_CALL).await?;
        if due.is_empty() {
            return Ok(Step::Idle);
        }
        self.limiter.acquire().await;
        self.read_connections(&self.background, &due).await?;
        self.tags_next.lock().unwrap_or_else(|e| e.into_inner()).extend(due);
        Ok(Step::Called)
    }
}

/// Seconds since an RFC 3339 UTC time (0 if it is in the future).
pub fn secs_since(at: &str) -> Option<u64> {
    secs_since_ms(at).map(|ms| ms / 1000)
}

fn secs_since_ms(at: &str) -> Option<u64> {
    let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    let now = time::OffsetDateTime::from(SystemTime::now());
    Some((now - at).whole_milliseconds().max(0) as u64)
}
