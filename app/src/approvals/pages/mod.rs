//! The approvals' pages: `/approvals` (to review, mine, all — searchable, in the URL),
//! `/approvals/{id}` (the frozen request beside the WorkSpaces now, the reviews, the decisions
//! the signed-in user may take, the outcome), and what the fleet's pages use: the request dialog,
//! the marks of pending requests and the overview's overdue post-reviews.

mod fleet;
mod list;
mod request;

pub use fleet::{offered, pending_of, request_action, OverduePostReviews, PendingMarks, RequestDialog, RequestResult};
pub use fleet::{RequestHandle, RequestInput};
pub use list::ApprovalsListPage;
pub use request::ApprovalRequestPage;

use leptos::prelude::*;

use super::ApprovalState;

/// How a request's state reads as a badge.
pub(super) fn state_badge(state: ApprovalState) -> impl IntoView {
    let kind = match state {
        ApprovalState::Pending | ApprovalState::Executing => "busy",
        ApprovalState::Executed => "ok",
        ApprovalState::Rejected | ApprovalState::Refused | ApprovalState::Unknown => "bad",
        ApprovalState::Cancelled | ApprovalState::Expired => "idle",
    };
    view! { <span class=format!("badge badge-{kind}") data-approval-state=state.as_str()>{state.as_str()}</span> }
}

pub(super) fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}
