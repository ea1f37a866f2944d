//! What each WorkSpace is now, read from AWS (never the inventory): a request's snapshot when
//! it is asked for, and what a reviewer compares it with.

use futures::stream::{self, StreamExt};

use super::WorkspaceSnapshot;
use crate::catalog::ssr::CatalogIndex;
use crate::error::AppResult;
use crate::fleet::WorkspaceId;
use crate::ssr::workspaces::{self, sdk_error, Client};

/// What each WorkSpace is now, as a reviewer decides on it; WorkSpaces that do not exist are left
/// out. With `tags`, one DescribeTags per WorkSpace (a few at a time).
pub(crate) async fn snapshots(client: &Client, ids: &[WorkspaceId], tags: bool) -> AppResult<Vec<WorkspaceSnapshot>> {
    let names = CatalogIndex::default();
    let mut out: Vec<WorkspaceSnapshot> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(25) {
        let chunk: Vec<String> = chunk.iter().map(|id| id.to_string()).collect();
        let (described, connections) = tokio::join!(
            client
                .describe_workspaces()
                .set_workspace_ids(Some(chunk.clone()))
                .send(),
            client
                .describe_workspaces_connection_status()
                .set_workspace_ids(Some(chunk.clone()))
                .send(),
        );
        let described = described.map_err(|e| sdk_error("DescribeWorkspaces", e))?;
        let connections = connections.map_err(|e| sdk_error("DescribeWorkspacesConnectionStatus", e))?;
        for w in described.workspaces() {
            let summary = workspaces::workspace(w, &names);
            let connection = connections
                .workspaces_connection_status()
                .iter()
                .find(|c| c.workspace_id() == Some(summary.id.as_str()))
                .map(workspaces::connection);
            out.push(WorkspaceSnapshot {
                id: summary.id,
                state: summary.state,
                user_name: summary.user_name,
                directory_id: summary.directory_id.to_string(),
                bundle_id: summary.bundle_id.to_string(),
                running_mode: summary.running_mode,
                tags: Vec::new(),
                connection,
            });
        }
    }
    if tags {
        let found: Vec<String> = out.iter().map(|w| w.id.as_str().to_owned()).collect();
        let tag_sets: Vec<AppResult<Vec<crate::fleet::Tag>>> = stream::iter(found)
            .map(|id| async move {
                client
                    .describe_tags()
                    .resource_id(id)
                    .send()
                    .await
                    .map(|t| t.tag_list().iter().map(workspaces::tag).collect())
                    .map_err(|e| sdk_error("DescribeTags", e))
            })
            .buffered(8)
            .collect()
            .await;
        for (w, tags) in out.iter_mut().zip(tag_sets) {
            w.tags = tags?;
        }
    }
    // In the order asked for.
    out.sort_by_key(|w| ids.iter().position(|id| *id == w.id));
    Ok(out)
}
