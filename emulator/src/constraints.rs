//! The modeled constraints of each request shape, as the API reference lists them (`Required`,
//! `Length Constraints`, `Array Members`, `Valid Range`, `Pattern`, `Valid Values`). Both
//! protocols check a decoded request here before its action runs; what remains for the actions
//! are the rules of the reference's prose.
//!
//! Members are named as AWS names them in validation messages: lower camel case, list items
//! counted from 1 (`workspaces.1.member.userName`).

use crate::error::ApiResult;
use crate::model::RunningMode;
use crate::store::BatchAction;
use crate::validate::{item, member, IdPattern, Violations};
use crate::wire::*;

/// A request shape with constraints in the service model.
pub trait Constrained: Sized {
    /// Records every violation of the shape's constraints.
    fn constraints(&self, v: &mut Violations);

    /// The request, or one `ValidationException` listing every violation.
    fn validated(self) -> ApiResult<Self> {
        let mut v = Violations::default();
        self.constraints(&mut v);
        v.finish().map(|()| self)
    }
}

/// `PaginationToken`: 1 to 63 characters.
fn next_token(v: &mut Violations, token: &Option<String>) {
    if let Some(token) = token {
        v.length("nextToken", token, 1, Some(63));
    }
}

/// A list of identifiers: 1 to 25, each matching `pattern`.
fn ids(v: &mut Violations, path: &str, ids: &Option<Vec<String>>, pattern: IdPattern) {
    if let Some(ids) = ids {
        v.items(path, ids, 1, 25);
        for (i, id) in ids.iter().enumerate() {
            v.pattern(&item(path, i), id, pattern);
        }
    }
}

/// `Tag`: a key of 1 to 127 characters, a value of at most 255.
fn tags(v: &mut Violations, path: &str, tags: &[TagIn]) {
    for (i, tag) in tags.iter().enumerate() {
        let at = item(path, i);
        if let Some(key) = v.required(&member(&at, "key"), &tag.key) {
            v.length(&member(&at, "key"), key, 1, Some(127));
        }
        if let Some(value) = &tag.value {
            v.length(&member(&at, "value"), value, 0, Some(255));
        }
    }
}

/// `WorkspaceProperties`: the running mode is one of the enum's values.
fn properties(v: &mut Violations, path: &str, properties: &PropertiesIn) {
    if let Some(mode) = &properties.running_mode {
        let valid: Vec<&str> = RunningMode::ALL.iter().map(|m| m.as_str()).collect();
        v.one_of(&member(path, "runningMode"), mode, &valid);
    }
}

impl Constrained for CreateTagsInput {
    fn constraints(&self, v: &mut Violations) {
        if let Some(id) = v.required("resourceId", &self.resource_id) {
            v.length("resourceId", id, 1, None);
        }
        if let Some(list) = v.required("tags", &self.tags) {
            tags(v, "tags", list);
        }
    }
}

impl Constrained for DeleteTagsInput {
    fn constraints(&self, v: &mut Violations) {
        if let Some(id) = v.required("resourceId", &self.resource_id) {
            v.length("resourceId", id, 1, None);
        }
        if let Some(keys) = v.required("tagKeys", &self.tag_keys) {
            for (i, key) in keys.iter().enumerate() {
                v.length(&item("tagKeys", i), key, 1, None);
            }
        }
    }
}

impl Constrained for DescribeTagsInput {
    fn constraints(&self, v: &mut Violations) {
        if let Some(id) = v.required("resourceId", &self.resource_id) {
            v.length("resourceId", id, 1, None);
        }
    }
}

impl Constrained for CreateWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        let Some(requests) = v.required("workspaces", &self.workspaces) else {
            return;
        };
        v.items("workspaces", requests, 1, 25);
        for (i, r) in requests.iter().enumerate() {
            let at = item("workspaces", i);
            if let Some(id) = v.required(&member(&at, "bundleId"), &r.bundle_id) {
                v.pattern(&member(&at, "bundleId"), id, IdPattern::Bundle);
            }
            if let Some(id) = v.required(&member(&at, "directoryId"), &r.directory_id) {
                v.pattern(&member(&at, "directoryId"), id, IdPattern::Directory);
            }
            if let Some(list) = &r.tags {
                tags(v, &member(&at, "tags"), list);
            }
            if let Some(user) = v.required(&member(&at, "userName"), &r.user_name) {
                v.length(&member(&at, "userName"), user, 1, Some(63));
            }
            if let Some(p) = &r.workspace_properties {
                properties(v, &member(&at, "workspaceProperties"), p);
            }
        }
    }
}

impl Constrained for DescribeWorkspaceBundlesInput {
    fn constraints(&self, v: &mut Violations) {
        ids(v, "bundleIds", &self.bundle_ids, IdPattern::Bundle);
        next_token(v, &self.next_token);
    }
}

impl Constrained for DescribeWorkspaceDirectoriesInput {
    fn constraints(&self, v: &mut Violations) {
        ids(v, "directoryIds", &self.directory_ids, IdPattern::Directory);
        next_token(v, &self.next_token);
    }
}

impl Constrained for DescribeWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        if let Some(id) = &self.bundle_id {
            v.pattern("bundleId", id, IdPattern::Bundle);
        }
        if let Some(id) = &self.directory_id {
            v.pattern("directoryId", id, IdPattern::Directory);
        }
        if let Some(limit) = self.limit {
            v.range("limit", limit, 1, 25);
        }
        next_token(v, &self.next_token);
        if let Some(user) = &self.user_name {
            v.length("userName", user, 1, Some(63));
        }
        ids(v, "workspaceIds", &self.workspace_ids, IdPattern::Workspace);
    }
}

impl Constrained for DescribeConnectionStatusInput {
    fn constraints(&self, v: &mut Violations) {
        next_token(v, &self.next_token);
        ids(v, "workspaceIds", &self.workspace_ids, IdPattern::Workspace);
    }
}

impl Constrained for ModifyWorkspacePropertiesInput {
    fn constraints(&self, v: &mut Violations) {
        if let Some(id) = v.required("workspaceId", &self.workspace_id) {
            v.pattern("workspaceId", id, IdPattern::Workspace);
        }
        if let Some(p) = v.required("workspaceProperties", &self.workspace_properties) {
            properties(v, "workspaceProperties", p);
        }
    }
}

/// The array of a batch action: 1 to 25 requests (RebuildWorkspaces exactly 1), each naming a
/// WorkSpace. `StartRequest` and `StopRequest` model their `WorkspaceId` as optional; a request
/// without one names nothing to start or stop, so it is refused like the other three.
fn batch(v: &mut Violations, action: BatchAction, requests: &Option<Vec<WorkspaceChangeRequest>>) {
    let path = action.member_path();
    let Some(requests) = v.required(&path, requests) else {
        return;
    };
    v.items(&path, requests, 1, action.max_items());
    for (i, r) in requests.iter().enumerate() {
        let at = member(&item(&path, i), "workspaceId");
        if let Some(id) = v.required(&at, &r.workspace_id) {
            v.pattern(&at, id, IdPattern::Workspace);
        }
    }
}

impl Constrained for StartWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        batch(v, BatchAction::Start, &self.start_workspace_requests);
    }
}

impl Constrained for StopWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        batch(v, BatchAction::Stop, &self.stop_workspace_requests);
    }
}

impl Constrained for RebootWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        batch(v, BatchAction::Reboot, &self.reboot_workspace_requests);
    }
}

impl Constrained for RebuildWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        batch(v, BatchAction::Rebuild, &self.rebuild_workspace_requests);
    }
}

impl Constrained for TerminateWorkspacesInput {
    fn constraints(&self, v: &mut Violations) {
        batch(v, BatchAction::Terminate, &self.terminate_workspace_requests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(ids: &[&str]) -> StopWorkspacesInput {
        StopWorkspacesInput {
            stop_workspace_requests: Some(
                ids.iter()
                    .map(|id| WorkspaceChangeRequest {
                        workspace_id: Some(id.to_string()),
                    })
                    .collect(),
            ),
        }
    }

    fn message<T: Constrained + std::fmt::Debug>(input: T) -> String {
        let err = input.validated().unwrap_err();
        assert_eq!((err.status, err.code), (400, "ValidationException"));
        err.message
    }

    #[test]
    fn twenty_six_stop_requests_are_one_too_many() {
        let ids: Vec<String> = (0..26).map(|i| format!("ws-{i:09}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let text = message(stop(&refs));
        assert!(
            text.starts_with("1 validation error detected: Value '[{WorkspaceId=ws-000000000}, "),
            "{text}"
        );
        assert!(
            text.ends_with(
                "at 'stopWorkspaceRequests' failed to satisfy constraint: Member must have length less than or equal to 25"
            ),
            "{text}"
        );
        assert!(stop(&refs[..25]).validated().is_ok());
    }

    #[test]
    fn rebuild_takes_exactly_one_request() {
        let two = RebuildWorkspacesInput {
            rebuild_workspace_requests: stop(&["ws-abcdefgh1", "ws-abcdefgh2"]).stop_workspace_requests,
        };
        assert!(message(two).ends_with(
            "at 'rebuildWorkspaceRequests' failed to satisfy constraint: Member must have length less than or equal to 1"
        ));
        let none = RebuildWorkspacesInput {
            rebuild_workspace_requests: Some(vec![]),
        };
        assert!(message(none).ends_with("Member must have length greater than or equal to 1"));
        assert_eq!(
            message(RebootWorkspacesInput::default()),
            "1 validation error detected: Value null at 'rebootWorkspaceRequests' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn every_bad_item_of_a_batch_is_reported() {
        let mut input = stop(&["ws-abcdefgh1", "ws-BAD", "i-123"]);
        input
            .stop_workspace_requests
            .as_mut()
            .unwrap()
            .push(WorkspaceChangeRequest::default());
        let text = message(input);
        assert!(text.starts_with("3 validation errors detected: "), "{text}");
        for part in [
            "Value 'ws-BAD' at 'stopWorkspaceRequests.2.member.workspaceId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^ws-[0-9a-z]{8,63}$",
            "Value 'i-123' at 'stopWorkspaceRequests.3.member.workspaceId'",
            "Value null at 'stopWorkspaceRequests.4.member.workspaceId' failed to satisfy constraint: Member must not be null",
        ] {
            assert!(text.contains(part), "{part}\n{text}");
        }
    }

    #[test]
    fn create_workspaces_checks_each_request_and_its_tags() {
        let input = CreateWorkspacesInput {
            workspaces: Some(vec![
                WorkspaceRequest {
                    bundle_id: Some("wsb-92tn3b7gx".into()),
                    directory_id: Some("d-906734e5a1".into()),
                    user_name: Some("alice".into()),
                    ..Default::default()
                },
                WorkspaceRequest {
                    bundle_id: Some("wsb-92tn3b7gx".into()),
                    directory_id: Some("d-XYZ".into()),
                    user_name: Some("u".repeat(64)),
                    tags: Some(vec![TagIn {
                        key: None,
                        value: Some("v".repeat(256)),
                    }]),
                    workspace_properties: Some(PropertiesIn {
                        running_mode: Some("SOMETIMES".into()),
                        running_mode_auto_stop_timeout_in_minutes: Some(90),
                    }),
                    ..Default::default()
                },
            ]),
        };
        let text = message(input);
        assert!(text.starts_with("5 validation errors detected: "), "{text}");
        for path in [
            "workspaces.2.member.directoryId",
            "workspaces.2.member.tags.1.member.key",
            "workspaces.2.member.tags.1.member.value",
            "workspaces.2.member.userName",
            "workspaces.2.member.workspaceProperties.runningMode",
        ] {
            assert!(text.contains(&format!("at '{path}'")), "{path}\n{text}");
        }
        assert!(!text.contains("workspaces.1."), "the first request is fine: {text}");
        assert!(
            !text.contains("AutoStopTimeout"),
            "60-minute steps are the action's own rule: {text}"
        );
    }

    #[test]
    fn describe_workspaces_checks_every_member() {
        let input = DescribeWorkspacesInput {
            bundle_id: Some("wsb-SHOUTING1".into()),
            directory_id: Some("d-nothexxxxx".into()),
            limit: Some(26),
            next_token: Some(String::new()),
            user_name: Some(String::new()),
            workspace_ids: Some(vec!["i-1234567890".into()]),
        };
        let text = message(input);
        assert!(text.starts_with("6 validation errors detected: "), "{text}");
        for path in [
            "bundleId",
            "directoryId",
            "limit",
            "nextToken",
            "userName",
            "workspaceIds.1.member",
        ] {
            assert!(text.contains(&format!("at '{path}'")), "{path}\n{text}");
        }
        assert!(DescribeWorkspacesInput::default().validated().is_ok());
    }

    #[test]
    fn tag_actions_need_a_resource() {
        assert_eq!(
            message(DescribeTagsInput {
                resource_id: Some(String::new())
            }),
            "1 validation error detected: Value '' at 'resourceId' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        );
        let text = message(DeleteTagsInput {
            resource_id: None,
            tag_keys: Some(vec!["ok".into(), String::new()]),
        });
        assert!(
            text.starts_with("2 validation errors detected: Value null at 'resourceId'"),
            "{text}"
        );
        assert!(text.contains("Value '' at 'tagKeys.2.member'"), "{text}");
    }
}
