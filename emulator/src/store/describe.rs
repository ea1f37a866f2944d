//! The read-only listings: DescribeWorkspaces, DescribeWorkspaceBundles,
//! DescribeWorkspaceDirectories, DescribeWorkspacesConnectionStatus, and the views they answer with.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Instant;

use super::{Store, PAGE_SIZE};
use crate::error::{ApiError, ApiResult};
use crate::model::{Bundle, ConnectionState, Directory, Workspace, WorkspaceState};
use crate::seed;
use crate::token::{self, Listing};
use crate::wire::*;

impl Store {
    pub(super) fn workspace_out(ws: &Workspace, now: Instant) -> WorkspaceOut<'_> {
        WorkspaceOut {
            bundle_id: &ws.bundle_id,
            computer_name: &ws.computer_name,
            directory_id: &ws.directory_id,
            error_code: ws.error_code.as_deref(),
            error_message: ws.error_message.as_deref(),
            ip_address: &ws.ip_address,
            root_volume_encryption_enabled: ws.root_volume_encryption_enabled,
            state: ws.state_at(now),
            subnet_id: &ws.subnet_id,
            user_name: &ws.user_name,
            user_volume_encryption_enabled: ws.user_volume_encryption_enabled,
            volume_encryption_key: ws.volume_encryption_key.as_deref(),
            workspace_id: &ws.id,
            workspace_properties: PropertiesOut {
                running_mode: ws.running_mode,
                running_mode_auto_stop_timeout_in_minutes: ws.auto_stop_timeout_minutes,
            },
        }
    }

    fn bundle_out(b: &Bundle) -> BundleOut {
        BundleOut {
            bundle_id: b.id.clone(),
            compute_type: ComputeTypeOut { name: b.compute_type },
            description: b.description.clone(),
            name: b.name.clone(),
            owner: b.owner.clone(),
            user_storage: UserStorageOut {
                capacity: b.user_storage_gb.to_string(),
            },
        }
    }

    fn directory_out(d: &Directory) -> DirectoryOut {
        let p = &d.creation_properties;
        DirectoryOut {
            alias: d.alias.clone(),
            customer_user_name: d.customer_user_name.clone(),
            directory_id: d.id.clone(),
            directory_name: d.name.clone(),
            directory_type: d.directory_type,
            dns_ip_addresses: d.dns_ip_addresses.clone(),
            iam_role_id: d.iam_role_id.clone(),
            registration_code: d.registration_code.clone(),
            state: d.state,
            subnet_ids: d.subnet_ids.clone(),
            workspace_creation_properties: CreationPropertiesOut {
                custom_security_group_id: p.custom_security_group_id.clone(),
                default_ou: p.default_ou.clone(),
                enable_internet_access: p.enable_internet_access,
                enable_work_docs: p.enable_work_docs,
                user_enabled_as_local_administrator: p.user_enabled_as_local_administrator,
            },
            workspace_security_group_id: d.security_group_id.clone(),
        }
    }

    /// Simulated user sessions: in each session period a running WorkSpace's user is connected
    /// or not, decided by a hash of its ID and the period, so sessions come and go over time
    /// and every client sees the same answer.
    pub(super) fn connection_status(&self, ws: &Workspace, now: Instant, epoch: i64) -> ConnectionStatusOut {
        use WorkspaceState::*;
        let period = self.settings.session_period_secs.max(1);
        let id_hash = ws.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let connected_in = |bucket: i64| seed::mix(id_hash ^ bucket as u64) % 5 < 3;
        let (state, last) = match ws.state_at(now) {
            Available | Impaired | Unhealthy => {
                let bucket = epoch / period;
                if connected_in(bucket) {
                    (ConnectionState::Connected, epoch)
                } else {
                    let last = (1..=96)
                        .map(|k| bucket - k)
                        .find(|b| connected_in(*b))
                        .map(|b| (b + 1) * period)
                        .unwrap_or(ws.last_connection);
                    (ConnectionState::Disconnected, last.max(ws.last_connection))
                }
            }
            Pending | Starting | Rebooting | Rebuilding | Maintenance => {
                (ConnectionState::Disconnected, ws.last_connection)
            }
            _ => (ConnectionState::Unknown, ws.last_connection),
        };
        ConnectionStatusOut {
            connection_state: state,
            connection_state_check_timestamp: EpochSeconds(epoch),
            last_known_user_connection_timestamp: EpochSeconds(last),
            workspace_id: ws.id.clone(),
        }
    }

    fn status_entry<'a>(&self, w: &'a Workspace, now: Instant, epoch: i64) -> Option<(&'a str, ConnectionStatusOut)> {
        (!w.is_gone_at(now)).then(|| (w.id.as_str(), self.connection_status(w, now, epoch)))
    }

    pub fn describe_workspaces(
        &self,
        input: DescribeWorkspacesInput,
        now: Instant,
    ) -> ApiResult<DescribeWorkspacesOutput<'_>> {
        let filters = [
            input.bundle_id.is_some(),
            input.directory_id.is_some(),
            input.workspace_ids.is_some(),
        ];
        if filters.iter().filter(|f| **f).count() > 1 {
            return Err(ApiError::invalid(
                "BundleId, DirectoryId, WorkspaceIds",
                "only one of the filter parameters BundleId, DirectoryId or WorkspaceIds can be specified at a time",
            ));
        }
        if input.user_name.is_some() && input.directory_id.is_none() {
            return Err(ApiError::invalid(
                "UserName",
                "it can only be used together with DirectoryId",
            ));
        }
        let ids = sorted_ids(&input.workspace_ids);
        // The constraints have held `Limit` to 1..=25; an embedding caller's is clamped.
        let limit = input.limit.map_or(PAGE_SIZE, |n| n.clamp(1, PAGE_SIZE as i64) as usize);
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Workspaces, t))
            .transpose()?;

        let keep = |ws: &Workspace| {
            !ws.is_gone_at(now)
                && input.bundle_id.as_ref().is_none_or(|b| &ws.bundle_id == b)
                && input.directory_id.as_ref().is_none_or(|d| &ws.directory_id == d)
                && input
                    .user_name
                    .as_ref()
                    .is_none_or(|u| ws.user_name.eq_ignore_ascii_case(u))
        };
        let (workspaces, next_token) = match ids {
            Some(ids) => {
                let found: Vec<&Workspace> = ids
                    .iter()
                    .filter(|id| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
                    .filter_map(|id| self.workspaces.get(id.as_str()))
                    .collect();
                paginate(found.into_iter(), limit, Listing::Workspaces, |w| {
                    keep(w).then(|| (w.id.as_str(), Self::workspace_out(w, now)))
                })
            }
            None => paginate(
                range_after(&self.workspaces, after.as_deref()),
                limit,
                Listing::Workspaces,
                |w| keep(w).then(|| (w.id.as_str(), Self::workspace_out(w, now))),
            ),
        };
        Ok(DescribeWorkspacesOutput { workspaces, next_token })
    }

    pub fn describe_bundles(&self, input: DescribeWorkspaceBundlesInput) -> ApiResult<DescribeBundlesOutput> {
        if input.bundle_ids.is_some() && input.owner.is_some() {
            return Err(ApiError::invalid(
                "BundleIds, Owner",
                "BundleIds and Owner cannot be combined",
            ));
        }
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Bundles, t))
            .transpose()?;
        // Owner null means the bundles of the calling account; AMAZON means AWS's own.
        let owner = input.owner.clone().unwrap_or_else(|| self.settings.account_id.clone());
        let keep = |b: &Bundle| match &input.bundle_ids {
            Some(ids) => ids.contains(&b.id),
            None => b.owner == owner,
        };
        let (bundles, next_token) = paginate(
            range_after(&self.bundles, after.as_deref()),
            PAGE_SIZE,
            Listing::Bundles,
            |b| keep(b).then(|| (b.id.as_str(), Self::bundle_out(b))),
        );
        Ok(DescribeBundlesOutput { bundles, next_token })
    }

    pub fn describe_directories(
        &self,
        input: DescribeWorkspaceDirectoriesInput,
    ) -> ApiResult<DescribeDirectoriesOutput> {
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::Directories, t))
            .transpose()?;
        let (directories, next_token) = paginate(
            range_after(&self.directories, after.as_deref()),
            PAGE_SIZE,
            Listing::Directories,
            |d| {
                input
                    .directory_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&d.id))
                    .then(|| (d.id.as_str(), Self::directory_out(d)))
            },
        );
        Ok(DescribeDirectoriesOutput {
            directories,
            next_token,
        })
    }

    pub fn describe_connection_status(
        &self,
        input: DescribeConnectionStatusInput,
        now: Instant,
        epoch: i64,
    ) -> ApiResult<DescribeConnectionStatusOutput> {
        let ids = sorted_ids(&input.workspace_ids);
        let after = input
            .next_token
            .as_deref()
            .map(|t| token::decode(Listing::ConnectionStatus, t))
            .transpose()?;
        let (workspaces_connection_status, next_token) = match ids {
            Some(ids) => {
                let found: Vec<&Workspace> = ids
                    .iter()
                    .filter(|id| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
                    .filter_map(|id| self.workspaces.get(id.as_str()))
                    .collect();
                paginate(found.into_iter(), PAGE_SIZE, Listing::ConnectionStatus, |w| {
                    self.status_entry(w, now, epoch)
                })
            }
            None => paginate(
                range_after(&self.workspaces, after.as_deref()),
                PAGE_SIZE,
                Listing::ConnectionStatus,
                |w| self.status_entry(w, now, epoch),
            ),
        };
        Ok(DescribeConnectionStatusOutput {
            workspaces_connection_status,
            next_token,
        })
    }
}

/// A `WorkspaceIds` filter in key order, without duplicates, so it pages like the whole fleet.
fn sorted_ids(ids: &Option<Vec<String>>) -> Option<Vec<String>> {
    let mut sorted = ids.clone()?;
    sorted.sort();
    sorted.dedup();
    Some(sorted)
}

/// Items of a map whose key comes after `after`, in key order.
fn range_after<'a, T>(map: &'a BTreeMap<String, T>, after: Option<&str>) -> impl Iterator<Item = &'a T> + 'a {
    let start = match after {
        Some(key) => Bound::Excluded(key.to_string()),
        None => Bound::Unbounded,
    };
    map.range((start, Bound::Unbounded)).map(|(_, v)| v)
}

/// Takes up to `limit` kept items; a token is returned only when another kept item follows.
fn paginate<'a, T: 'a, O>(
    items: impl Iterator<Item = &'a T>,
    limit: usize,
    listing: Listing,
    mut keep: impl FnMut(&'a T) -> Option<(&'a str, O)>,
) -> (Vec<O>, Option<String>) {
    let mut out = Vec::with_capacity(limit.min(PAGE_SIZE));
    let mut last_key = None;
    for item in items {
        let Some((key, value)) = keep(item) else { continue };
        if out.len() == limit {
            return (out, last_key.map(|k| token::encode(listing, k)));
        }
        last_key = Some(key);
        out.push(value);
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::batch::BatchAction;
    use crate::store::testing::store;

    #[test]
    fn pages_cover_every_workspace_once_while_states_change() {
        let mut s = store(0, 120);
        let now = Instant::now();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = s
                .describe_workspaces(
                    DescribeWorkspacesInput {
                        next_token: token.clone(),
                        limit: Some(7),
                        ..Default::default()
                    },
                    now,
                )
                .unwrap();
            assert!(page.workspaces.len() <= 7);
            seen.extend(page.workspaces.iter().map(|w| w.workspace_id.to_string()));
            let next = page.next_token;
            // Meanwhile, other WorkSpaces change state.
            let available: Vec<String> = s
                .workspaces
                .values()
                .filter(|w| w.state == WorkspaceState::Available)
                .take(2)
                .map(|w| w.id.clone())
                .collect();
            s.batch(BatchAction::Reboot, available, now);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 120);
        assert_eq!(unique.len(), 120);
    }

    #[test]
    fn the_last_full_page_has_no_token() {
        let s = store(0, 50);
        let now = Instant::now();
        let first = s.describe_workspaces(DescribeWorkspacesInput::default(), now).unwrap();
        let second = s
            .describe_workspaces(
                DescribeWorkspacesInput {
                    next_token: first.next_token,
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        assert_eq!(second.workspaces.len(), 25);
        assert_eq!(second.next_token, None);
    }
}
