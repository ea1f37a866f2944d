//! Who may call what: one table, keyed by the server function (its `ServerFn::PATH`) and the
//! operation it performs (CloudTrail's event name — a batch call is one of five), read by the
//! request pipeline on the server, which enforces it; by the pages, which only hide what would
//! be refused; and by the endpoint × role matrix test, which checks both against each other.

use leptos::server_fn::ServerFn;

use crate::access::{
    AcknowledgeAlert, AddAllowedNetwork, CreateIngestToken, GetLoginCharts, ListAccess, ListAlerts,
    ListAllowedNetworks, ListIngestTokens, RemoveAllowedNetwork, RevokeIngestToken,
};
use crate::approvals::{
    AcknowledgePostReview, ApproveRequest, BreakGlass, CancelRequest, GetApproval, ListApprovals, PendingApprovals,
    RejectRequest, RequestApproval,
};
use crate::audit::{GetAuditRecord, ListAudit, EXPORT_PATH};
use crate::catalog::{ListBundles, ListDirectories};
use crate::fleet::{
    CreateWorkspaces, DeleteTag, FleetSummary, GetWorkspace, ListWorkspaces, ModifyWorkspace, RefreshWorkspaces,
    RunBatch, SetTag,
};
use crate::identity::{
    CompleteSetup, CreateUser, ListUsers, ResetUserPassword, Role, SetUserEnabled, SetUserRole, SignIn, SignOut, WhoAmI,
};

/// What a caller must be for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not: signing in and out, first-run setup.
    Public,
    /// A signed-in user whose role includes this one.
    AtLeast(Role),
    /// At least this role — unless the operation needs an approved request
    /// (`--approval-required`): then only an approved request carries it out (or break-glass).
    Gated(Role),
    /// Reviewing a request: at least this role, and never one's own request, nor one on one's
    /// own WorkSpace (checked against the request by the approvals service).
    Review(Role),
    /// A request's own requester, or an admin, with at least this role (the approvals service
    /// checks whose request it is).
    RequesterOrAdmin(Role),
}

impl Rule {
    /// Whether a caller signed in with `role` (`None`: not signed in) passes.
    /// (The further conditions of `Gated`, `Review` and `RequesterOrAdmin` are checked where
    /// the request is known.)
    pub fn allows(self, role: Option<Role>) -> bool {
        match self.least_role() {
            None => true,
            Some(needed) => role.is_some_and(|r| r.allows(needed)),
        }
    }

    /// The least role the rule asks for (`None`: anyone).
    pub fn least_role(self) -> Option<Role> {
        match self {
            Rule::Public => None,
            Rule::AtLeast(role) | Rule::Gated(role) | Rule::Review(role) | Rule::RequesterOrAdmin(role) => Some(role),
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The server function's path (`ServerFn::PATH`), or the route of a plain handler.
    pub endpoint: &'static str,
    /// The operation: CloudTrail's `eventName` of its audit record.
    pub event: &'static str,
    pub rule: Rule,
}

const fn entry(endpoint: &'static str, event: &'static str, rule: Rule) -> Entry {
    Entry { endpoint, event, rule }
}

use Role::{Admin, Approver, Operator, Viewer};
use Rule::{AtLeast, Gated, Public, RequesterOrAdmin, Review};

/// The whole policy. A server function missing here is refused by the pipeline (and fails the
/// matrix test).
pub const TABLE: &[Entry] = &[
    // identity
    entry(WhoAmI::PATH, "GetSignedInUser", Public),
    entry(SignIn::PATH, "SignIn", Public),
    entry(SignOut::PATH, "SignOut", Public),
    entry(CompleteSetup::PATH, "CompleteSetup", Public),
    entry(ListUsers::PATH, "ListUsers", AtLeast(Admin)),
    entry(CreateUser::PATH, "CreateUser", AtLeast(Admin)),
    entry(SetUserRole::PATH, "SetUserRole", AtLeast(Admin)),
    entry(SetUserEnabled::PATH, "EnableUser", AtLeast(Admin)),
    entry(SetUserEnabled::PATH, "DisableUser", AtLeast(Admin)),
    entry(ResetUserPassword::PATH, "ResetUserPassword", AtLeast(Admin)),
    // fleet: reads
    entry(ListWorkspaces::PATH, "DescribeWorkspaces", AtLeast(Viewer)),
    entry(FleetSummary::PATH, "DescribeWorkspaces", AtLeast(Viewer)),
    entry(GetWorkspace::PATH, "DescribeWorkspaces", AtLeast(Viewer)),
    entry(RefreshWorkspaces::PATH, "DescribeWorkspaces", AtLeast(Viewer)),
    entry(crate::fleet::EXPORT_PATH, "DescribeWorkspaces", AtLeast(Viewer)),
    // fleet: writes
    entry(RunBatch::PATH, "StartWorkspaces", AtLeast(Operator)),
    entry(RunBatch::PATH, "StopWorkspaces", Gated(Operator)),
    entry(RunBatch::PATH, "RebootWorkspaces", Gated(Operator)),
    entry(RunBatch::PATH, "RebuildWorkspaces", Gated(Admin)),
    entry(RunBatch::PATH, "TerminateWorkspaces", Gated(Admin)),
    entry(CreateWorkspaces::PATH, "CreateWorkspaces", AtLeast(Operator)),
    entry(ModifyWorkspace::PATH, "ModifyWorkspaceProperties", Gated(Operator)),
    entry(SetTag::PATH, "CreateTags", AtLeast(Operator)),
    entry(DeleteTag::PATH, "DeleteTags", AtLeast(Operator)),
    // catalog
    entry(ListBundles::PATH, "DescribeWorkspaceBundles", AtLeast(Viewer)),
    entry(ListDirectories::PATH, "DescribeWorkspaceDirectories", AtLeast(Viewer)),
    // approvals
    entry(RequestApproval::PATH, "CreateApprovalRequest", AtLeast(Operator)),
    entry(ListApprovals::PATH, "ListApprovalRequests", AtLeast(Viewer)),
    entry(GetApproval::PATH, "GetApprovalRequest", AtLeast(Viewer)),
    entry(PendingApprovals::PATH, "ListPendingApprovals", AtLeast(Viewer)),
    entry(ApproveRequest::PATH, "ApproveRequest", Review(Approver)),
    entry(RejectRequest::PATH, "RejectRequest", Review(Approver)),
    entry(CancelRequest::PATH, "CancelApprovalRequest", RequesterOrAdmin(Operator)),
    entry(BreakGlass::PATH, "BreakGlass", AtLeast(Admin)),
    entry(AcknowledgePostReview::PATH, "AcknowledgePostReview", Review(Approver)),
    // audit
    entry(ListAccess::PATH, "ListAccessEvents", AtLeast(Viewer)),
    entry(ListIngestTokens::PATH, "ListIngestTokens", AtLeast(Admin)),
    entry(CreateIngestToken::PATH, "CreateIngestToken", AtLeast(Admin)),
    entry(RevokeIngestToken::PATH, "RevokeIngestToken", AtLeast(Admin)),
    entry(crate::access::EXPORT_PATH, "ExportAccessEvents", AtLeast(Viewer)),
    entry(GetLoginCharts::PATH, "GetLoginCharts", AtLeast(Viewer)),
    entry(ListAllowedNetworks::PATH, "ListAllowedNetworks", AtLeast(Viewer)),
    entry(AddAllowedNetwork::PATH, "AddAllowedNetwork", AtLeast(Admin)),
    entry(RemoveAllowedNetwork::PATH, "RemoveAllowedNetwork", AtLeast(Admin)),
    entry(ListAlerts::PATH, "ListAccessAlerts", AtLeast(Viewer)),
    entry(AcknowledgeAlert::PATH, "AcknowledgeAccessAlert", AtLeast(Operator)),
    entry(ListAudit::PATH, "LookupAuditRecords", AtLeast(Viewer)),
    entry(GetAuditRecord::PATH, "GetAuditRecord", AtLeast(Viewer)),
    entry(EXPORT_PATH, "ExportAuditRecords", AtLeast(Viewer)),
];

/// The rule for an operation; `None` when the table has no row for it.
pub fn rule(endpoint: &str, event: &str) -> Option<Rule> {
    TABLE
        .iter()
        .find(|e| e.endpoint == endpoint && e.event == event)
        .map(|e| e.rule)
}

/// Whether `role` may perform the operation (false for an operation the table lacks).
pub fn allows(role: Role, endpoint: &str, event: &str) -> bool {
    rule(endpoint, event).is_some_and(|r| r.allows(Some(role)))
}

/// The least role an operation needs, for pages that say why something is not offered.
pub fn least_role(endpoint: &str, event: &str) -> Option<Role> {
    rule(endpoint, event).and_then(Rule::least_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_row() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(a.endpoint.starts_with("/api/"), "{}", a.endpoint);
            for b in &TABLE[i + 1..] {
                assert!(
                    a.endpoint != b.endpoint || a.event != b.event,
                    "{} {} is listed twice",
                    a.endpoint,
                    a.event
                );
            }
        }
    }

    #[test]
    fn rules_follow_the_roles() {
        assert!(allows(Role::Operator, RunBatch::PATH, "StopWorkspaces"));
        assert!(!allows(Role::Operator, RunBatch::PATH, "TerminateWorkspaces"));
        assert!(allows(Role::Admin, RunBatch::PATH, "TerminateWorkspaces"));
        assert!(!allows(Role::Admin, RunBatch::PATH, "NoSuchAction"));
        assert!(rule(SignIn::PATH, "SignIn").unwrap().allows(None));
        assert!(!rule(ListWorkspaces::PATH, "DescribeWorkspaces").unwrap().allows(None));
        assert_eq!(least_role(ListUsers::PATH, "ListUsers"), Some(Role::Admin));
    }
}
