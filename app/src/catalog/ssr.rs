//! Bundles and directories on the server: read through the SDK (every page of them), cached for
//! a while (they change rarely), and joined into fleet rows by ID.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;
use tokio::sync::Mutex;

use super::{BundleInfo, BundleOwner, DirectoryInfo, ListBundles, ListDirectories};
use crate::error::AppResult;
use crate::fleet::ssr::Fleet;
use crate::fleet::{BundleId, DirectoryId};
use crate::ssr::workspaces::{self, sdk_error, Client};
use crate::ssr::{Audited, Cached, Caller, Operation, Pipeline};

/// Bundles and directories by ID, to join names into fleet rows.
#[derive(Clone, Debug, Default)]
pub struct CatalogIndex {
    pub bundles: HashMap<BundleId, BundleInfo>,
    pub directories: HashMap<DirectoryId, DirectoryInfo>,
}

/// The catalog service.
pub struct Catalog {
    client: Client,
    pipeline: Pipeline,
    /// How long bundles and directories are reused.
    ttl: Duration,
    index: Mutex<Option<Cached<CatalogIndex>>>,
}

impl Audited for Vec<BundleInfo> {}
impl Audited for Vec<DirectoryInfo> {}

impl Catalog {
    pub fn new(client: Client, pipeline: Pipeline, ttl: Duration) -> Self {
        Catalog {
            client,
            pipeline,
            ttl,
            index: Mutex::new(None),
        }
    }

    /// `bundles/list`: AWS's own bundles, or the account's.
    pub async fn bundles(&self, caller: &Caller, owner: BundleOwner) -> AppResult<Vec<BundleInfo>> {
        let owner = matches!(owner, BundleOwner::Amazon).then_some("AMAZON");
        let op = Operation::aws_read(ListBundles::PATH, "DescribeWorkspaceBundles", json!({ "owner": owner }));
        let work = async {
            let mut bundles = self.fetch_bundles(owner).await?;
            bundles.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(bundles)
        };
        self.pipeline.run(caller, op, work).await
    }

    /// `directories/list`: every directory, with how many WorkSpaces it holds.
    pub async fn directories(&self, caller: &Caller, fleet: &Fleet) -> AppResult<Vec<DirectoryInfo>> {
        let op = Operation::aws_read(ListDirectories::PATH, "DescribeWorkspaceDirectories", json!({}));
        let work = async {
            let mut directories = self.fetch_directories().await?;
            let counts = fleet.per_directory().await?;
            for d in &mut directories {
                d.workspace_count = counts.get(d.id.as_str()).copied().unwrap_or(0);
            }
            directories.sort_by(|a, b| a.alias.cmp(&b.alias));
            Ok(directories)
        };
        self.pipeline.run(caller, op, work).await
    }

    /// Bundles and directories by ID, read at most once per TTL.
    pub async fn index(&self) -> AppResult<Arc<CatalogIndex>> {
        let mut cached = self.index.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.fresh(self.ttl)) {
            return Ok(c.value.clone());
        }
        let mut index = CatalogIndex::default();
        for owner in [Some("AMAZON"), None] {
            for b in self.fetch_bundles(owner).await? {
                index.bundles.insert(b.id.clone(), b);
            }
        }
        for d in self.fetch_directories().await? {
            index.directories.insert(d.id.clone(), d);
        }
        let fresh = Cached::new(index);
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn fetch_bundles(&self, owner: Option<&str>) -> AppResult<Vec<BundleInfo>> {
        let mut pages = self
            .client
            .describe_workspace_bundles()
            .set_owner(owner.map(str::to_owned))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("DescribeWorkspaceBundles", e))?;
            out.extend(page.bundles().iter().map(workspaces::bundle));
        }
        Ok(out)
    }

    async fn fetch_directories(&self) -> AppResult<Vec<DirectoryInfo>> {
        let mut pages = self.client.describe_workspace_directories().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("DescribeWorkspaceDirectories", e))?;
            out.extend(page.directories().iter().map(workspaces::directory));
        }
        Ok(out)
    }
}
