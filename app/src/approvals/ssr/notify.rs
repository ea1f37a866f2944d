//! The approvals webhook (`--approval-webhook`): each new request and each decision is posted
//! as JSON with a `text` line (what chat webhooks show) and a link to the request. A post that
//! finally fails is recorded on the request, and its page says so.

use serde_json::json;

use super::store;
use crate::approvals::ApprovalSummary;
use crate::ssr::db::Db;
use crate::ssr::webhook::Webhook;

/// What is posted about `summary`.
pub fn body(
    public_url: Option<&str>,
    what: &str,
    summary: &ApprovalSummary,
    comment: Option<&str>,
) -> serde_json::Value {
    let link = public_url.map(|base| format!("{}/approvals/{}", base.trim_end_matches('/'), summary.id));
    let mut text = format!(
        "{} {}: {} on {} WorkSpace{} asked by {} — \"{}\"",
        summary.id,
        what,
        summary.action.api_name(),
        summary.workspace_count,
        if summary.workspace_count == 1 { "" } else { "s" },
        summary.requester,
        summary.reason,
    );
    if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
        text.push_str(&format!(" (comment: \"{}\")", comment.trim()));
    }
    if let Some(link) = &link {
        text.push_str(&format!(" {link}"));
    }
    json!({
        "source": "workspaces-portal",
        "type": "ApprovalRequest",
        "event": what,
        "text": text,
        "requestId": summary.id,
        "action": summary.action.api_name(),
        "state": summary.state.as_str(),
        "requester": summary.requester,
        "reason": summary.reason,
        "workspaceCount": summary.workspace_count,
        "approvals": summary.approvals,
        "approvalsNeeded": summary.approvals_needed,
        "breakGlass": summary.break_glass,
        "expiresAt": summary.expires_at,
        "comment": comment,
        "link": link,
    })
}

/// Posts, and records on the request how the post ended.
pub fn send(
    webhook: &Webhook,
    db: &Db,
    public_url: Option<&str>,
    what: &str,
    summary: &ApprovalSummary,
    comment: Option<&str>,
) {
    let answer = webhook.send(body(public_url, what, summary, comment));
    let db = db.clone();
    let id = summary.id.clone();
    let what = what.to_string();
    tokio::spawn(async move {
        let error = match answer.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("the notification \"{what}\" could not be posted: {e}")),
            Err(_) => Some(format!(
                "the notification \"{what}\" was not posted: the webhook stopped"
            )),
        };
        if let Err(e) = store::set_webhook_error(&db, &id, error.as_deref()).await {
            tracing::warn!(request = %id, error = %e, "recording the webhook's outcome failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approvals::{ApprovalAction, ApprovalId, ApprovalState};

    #[test]
    fn a_notification_says_what_who_why_and_links_to_the_request() {
        let summary = ApprovalSummary {
            id: ApprovalId::from_stored("apr-0123456789abcdef".into()),
            action: ApprovalAction::Terminate,
            state: ApprovalState::Pending,
            requester: "olivia".into(),
            reason: "leavers of November".into(),
            workspace_count: 3,
            created_at: String::new(),
            expires_at: "2026-12-03T10:00:00Z".into(),
            approvals: 0,
            approvals_needed: 1,
            break_glass: false,
            post_review: None,
        };
        let b = body(Some("https://portal.example.com/"), "requested", &summary, None);
        assert_eq!(
            b["text"],
            "apr-0123456789abcdef requested: TerminateWorkspaces on 3 WorkSpaces asked by olivia — \"leavers of November\" \
             https://portal.example.com/approvals/apr-0123456789abcdef"
        );
        assert_eq!(b["link"], "https://portal.example.com/approvals/apr-0123456789abcdef");
    }
}
