//! Bundles and directories: what WorkSpaces are made from and where they live — their types,
//! server functions, pages, and (`ssr`) the cached reads on the server.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::fleet::{BundleId, DirectoryId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub id: BundleId,
    pub name: String,
    pub owner: String,
    pub description: String,
    pub compute_type: String,
    /// User volume, GB.
    pub user_storage: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryInfo {
    pub id: DirectoryId,
    pub alias: String,
    pub name: String,
    pub directory_type: String,
    pub state: String,
    pub dns_ip_addresses: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_id: Option<String>,
    pub registration_code: Option<String>,
    pub customer_user_name: Option<String>,
    pub iam_role_id: Option<String>,
    pub default_ou: Option<String>,
    pub custom_security_group_id: Option<String>,
    pub enable_internet_access: Option<bool>,
    pub user_enabled_as_local_administrator: Option<bool>,
    pub workspace_count: usize,
}

/// Which bundles to list: AWS's own, or the account's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleOwner {
    Amazon,
    Account,
}

#[server(endpoint = "bundles/list")]
pub async fn list_bundles(owner: BundleOwner) -> Result<Vec<BundleInfo>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.catalog.bundles(&caller, owner).await
}

#[server(endpoint = "directories/list")]
pub async fn list_directories() -> Result<Vec<DirectoryInfo>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.catalog.directories(&caller, &portal.fleet).await
}
