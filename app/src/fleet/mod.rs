//! The fleet: WorkSpaces listed, filtered, inspected, created and changed.
//!
//! - [`types`]: IDs, states, running modes and the rows the pages show;
//! - [`query`]: the fleet view's search (filters, sort, page) as it lives in the URL;
//! - [`actions`]: batch actions and their rules, the create form, per-item outcomes;
//! - [`validate`]: the API reference's input constraints;
//! - the server functions below (thin: one call into the service);
//! - [`pages`]: the fleet list, a WorkSpace's page, the create page and the overview;
//! - `ssr`: the service on the server — reads (the fleet walk and its cache) and writes,
//!   through the SDK, each request through the one pipeline.

mod actions;
pub mod pages;
mod query;
mod types;
pub mod validate;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use actions::*;
pub use query::*;
pub use types::*;

use leptos::prelude::*;

use crate::error::AppError;

// ---------------------------------------------------------------------------------------------
// Server functions

#[server(endpoint = "workspaces/list")]
pub async fn list_workspaces(#[server(default)] query: FleetQuery) -> Result<FleetPage, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.list(&caller, query).await
}

#[server(endpoint = "workspaces/summary")]
pub async fn fleet_summary() -> Result<FleetOverview, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.summary(&caller).await
}

#[server(endpoint = "workspaces/get")]
pub async fn get_workspace(id: String) -> Result<WorkspaceDetail, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.detail(&caller, &id).await
}

/// *Refresh now*: re-reads these WorkSpaces from AWS at once (a single one with its tags and
/// connection status) and returns their rows (those AWS no longer has are left out).
#[server(endpoint = "workspaces/refresh", input = server_fn::codec::Json)]
pub async fn refresh_workspaces(ids: Vec<String>) -> Result<Vec<WorkspaceSummary>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.refresh(&caller, ids).await
}

/// Runs a batch action on any number of WorkSpaces, in API-sized batches.
/// Rebuild and terminate need `confirm` to be the action's confirmation word.
#[server(endpoint = "workspaces/batch", input = server_fn::codec::Json)]
pub async fn run_batch(
    action: BatchAction,
    ids: Vec<String>,
    confirm: Option<String>,
) -> Result<BatchOutcome, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.batch(&caller, action, ids, confirm).await
}

#[server(endpoint = "workspaces/create")]
pub async fn create_workspaces(form: CreateForm) -> Result<CreateOutcome, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.create(&caller, form).await
}

#[server(endpoint = "workspaces/modify")]
pub async fn modify_workspace(id: String, running_mode: String, auto_stop_minutes: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .fleet
        .modify(&caller, &id, &running_mode, &auto_stop_minutes)
        .await
}

#[server(endpoint = "workspaces/tags/set")]
pub async fn set_tag(id: String, key: String, value: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.set_tag(&caller, &id, &key, &value).await
}

#[server(endpoint = "workspaces/tags/delete")]
pub async fn delete_tag(id: String, key: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.fleet.delete_tag(&caller, &id, &key).await
}

crate::forms::text_form! {
    ModifyWorkspace { id, running_mode, auto_stop_minutes };
    SetTag { id, key, value };
    DeleteTag { id, key };
}

impl crate::forms::FromForm for CreateWorkspaces {
    fn from_form(field: impl Fn(&str) -> String) -> Self {
        let checked = |name: &str| Some(field(name)).filter(|v| !v.is_empty());
        Self {
            form: CreateForm {
                directory_id: field("form[directory_id]"),
                bundle_id: field("form[bundle_id]"),
                users: field("form[users]"),
                running_mode: field("form[running_mode]"),
                auto_stop_minutes: field("form[auto_stop_minutes]"),
                root_volume_encrypted: checked("form[root_volume_encrypted]"),
                user_volume_encrypted: checked("form[user_volume_encrypted]"),
                volume_encryption_key: field("form[volume_encryption_key]"),
                tags: field("form[tags]"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_form_reads_its_fields_and_an_unchecked_box_as_none() {
        use crate::forms::FromForm;
        let posted = [
            ("form[directory_id]", "d-1"),
            ("form[users]", "alice\nbob"),
            ("form[user_volume_encrypted]", "on"),
            ("form[tags]", "Team=A"),
        ];
        let field = |name: &str| {
            posted
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let form = CreateWorkspaces::from_form(field).form;
        assert_eq!(form.directory_id, "d-1");
        assert_eq!(form.users, "alice\nbob");
        assert_eq!(form.root_volume_encrypted, None);
        assert_eq!(form.user_volume_encrypted.as_deref(), Some("on"));
        assert_eq!(form.tags, "Team=A");
        assert_eq!(form.bundle_id, "");
    }
}
