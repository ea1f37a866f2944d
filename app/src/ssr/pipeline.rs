//! The request pipeline: the one way anything audited happens in the portal.
//!
//! Server functions, portal events (sign-in, setup, user changes), refusals made before a
//! request reaches the app (cross-site, unreadable arguments) and the command line all pass
//! here, so that none of them can skip a step. [`Pipeline::run`] authorizes the caller against
//! the policy table (`crate::policy`), records the request in the audit log (its start before
//! a change is made, its outcome after), runs it, logs it and sets the answer's status.
//! [`Pipeline::refuse`] records a request refused before any work.
//!
//! What a request is comes from its [`Operation`]: the endpoint and event name that key the
//! policy table, its kind (which says when it is recorded), its parameters and the resources it
//! names. The work may add to its record while it runs ([`note_request_id`], [`note_identity`],
//! [`note_params`]); the WorkSpaces client notes every AWS request ID on its own.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use serde_json::{json, Value};

pub use super::caller::{client_ip, network_of, parse_network, Caller, Principal};
use super::refusals::{self, Admit, Refusals};
use crate::audit::ssr::record::{self, AuditRecord, UserIdentity};
use crate::audit::ssr::AuditLog;
use crate::audit::Outcome;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Rule};

/// When a request is recorded, and how its record is labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A WorkSpaces read: its start is stored while its calls run; the answer waits for it.
    AwsRead,
    /// A WorkSpaces write: its start is stored before anything is sent.
    AwsWrite,
    /// A change to the portal's own state (users): stored before the change is made.
    PortalWrite,
    /// Signing in, out, or setting up: like a portal write, recorded as `PortalSignIn`.
    SignIn,
    /// Reading the portal's own data (the audit log, users): only refusals are recorded.
    PortalRead,
}

impl Kind {
    fn source(self) -> &'static str {
        match self {
            Kind::AwsRead | Kind::AwsWrite => record::WORKSPACES_SOURCE,
            _ => record::PORTAL_SOURCE,
        }
    }

    fn event_type(self) -> &'static str {
        match self {
            Kind::AwsRead | Kind::AwsWrite => "AwsApiCall",
            Kind::SignIn => "PortalSignIn",
            Kind::PortalWrite | Kind::PortalRead => "PortalAction",
        }
    }

    fn read_only(self) -> bool {
        matches!(self, Kind::AwsRead | Kind::PortalRead)
    }
}

/// What a request is: the policy table's key, and what its audit record says.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The server function's path (`ServerFn::PATH`), or the name of what is not one.
    pub endpoint: &'static str,
    /// CloudTrail's `eventName`.
    pub event: &'static str,
    pub kind: Kind,
    /// The request's parameters, as sent.
    pub params: Value,
    /// The resource IDs it names (a WorkSpace's history is found by them).
    pub resources: Vec<String>,
    /// An approved request (or a break-glass action) that carries this operation out, for an
    /// operation that needs one; recorded as `additionalEventData.approval`.
    pub approval: Option<Value>,
}

impl Operation {
    pub fn new(kind: Kind, endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Operation {
            endpoint,
            event,
            kind,
            params,
            resources: Vec::new(),
            approval: None,
        }
    }

    /// Carried out by an approved request (or break-glass), described by `approval`.
    pub fn approved(mut self, approval: Value) -> Self {
        self.approval = Some(approval);
        self
    }

    pub fn aws_read(endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Self::new(Kind::AwsRead, endpoint, event, params)
    }

    pub fn aws_write(endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Self::new(Kind::AwsWrite, endpoint, event, params)
    }

    pub fn portal_write(endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Self::new(Kind::PortalWrite, endpoint, event, params)
    }

    pub fn portal_read(endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Self::new(Kind::PortalRead, endpoint, event, params)
    }

    pub fn sign_in(endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Self::new(Kind::SignIn, endpoint, event, params)
    }

    /// Adds the resource IDs the request names (blank, overlong and repeated ones left out).
    pub fn touching<S: AsRef<str>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        let mut seen: HashSet<String> = self.resources.iter().cloned().collect();
        for id in ids {
            let id = id.as_ref().trim();
            if !id.is_empty() && id.len() <= 64 && seen.insert(id.to_string()) {
                self.resources.push(id.to_string());
            }
        }
        self
    }

    /// The portal's name for the request in its record (`additionalEventData.portalAction`).
    fn action(&self) -> &'static str {
        self.endpoint.trim_start_matches("/api/")
    }
}

/// What a request's answer adds to its audit record.
pub trait Audited {
    /// CloudTrail's `responseElements` (recorded for writes).
    fn response_elements(&self) -> Value {
        Value::Null
    }
    /// Items of a batch that failed.
    fn failed_items(&self) -> usize {
        0
    }
    /// Resources the answer names that the request did not (a created WorkSpace).
    fn resource_ids(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Audited for () {}

/// What the pipeline puts in every record.
#[derive(Clone, Debug, Default)]
pub struct PipelineSettings {
    /// The AWS region the WorkSpaces client talks to (`awsRegion`).
    pub region: String,
    /// The AWS account the WorkSpaces belong to (`recipientAccountId`).
    pub account_id: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed for the client's address.
    pub trusted_proxies: Vec<IpNet>,
    /// The operations (event names) that need an approved request (`--approval-required`).
    pub approval_required: Vec<&'static str>,
}

/// The pipeline: the audit log and what every record carries. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    audit: AuditLog,
    settings: Arc<PipelineSettings>,
    refusals: Arc<Refusals>,
}

tokio::task_local! {
    /// What the request being served adds to its record as it runs.
    static NOTES: RefCell<Notes>;
}

#[derive(Default)]
struct Notes {
    request_ids: Vec<String>,
    identity: Option<UserIdentity>,
    params: Option<Value>,
    error_message: Option<String>,
}

/// Notes the AWS request ID of a call made for the request being served (the WorkSpaces
/// client's interceptor does, for every call); outside a request it is ignored.
pub fn note_request_id(id: &str) {
    let _ = NOTES.try_with(|n| n.borrow_mut().request_ids.push(id.to_string()));
}

/// The request turned out to be someone's (the user who signed in): records it as theirs.
pub fn note_identity(identity: UserIdentity) {
    let _ = NOTES.try_with(|n| n.borrow_mut().identity = Some(identity));
}

/// Records why the request failed in more words than its caller is told (a sign-in's reason).
pub fn note_error_message(message: String) {
    let _ = NOTES.try_with(|n| n.borrow_mut().error_message = Some(message));
}

/// Replaces the recorded parameters (what may be recorded is known only once checked: a
/// user name that exists, never a typed password).
pub fn note_params(params: Value) {
    let _ = NOTES.try_with(|n| n.borrow_mut().params = Some(params));
}

impl Pipeline {
    pub fn new(audit: AuditLog, settings: PipelineSettings) -> Self {
        let refusals = Arc::new(Refusals::default());
        // Counted refusals are recorded as one record per network and operation, once their
        // window ends, even if no further refusal comes along to flush them.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (log, counts) = (audit.clone(), Arc::downgrade(&refusals));
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(refusals::WINDOW / 4).await;
                    let Some(counts) = counts.upgrade() else { return };
                    for record in counts.due() {
                        if let Err(e) = log.append(record).await {
                            tracing::error!(error = %e, "could not record counted refusals");
                        }
                    }
                }
            });
        }
        Pipeline {
            audit,
            settings: Arc::new(settings),
            refusals,
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Who is calling, from a request's head (the signed-in user is in its extensions).
    pub fn caller_of(&self, parts: &axum::http::request::Parts) -> Caller {
        Caller::of(parts, &self.settings.trusted_proxies)
    }

    /// Runs one request: authorizes it, records it, runs `work`, logs it, and sets the answer's
    /// status (and, for a recorded request, the `X-Portal-Event-Id` and `Server-Timing` headers).
    ///
    /// Each recorded request gets exactly one record. Its start is stored before `work` runs for
    /// a write (if that fails, the write is refused: no record, no change) and while it runs
    /// for a read (if that fails, the read's answer is withheld): no request is answered without
    /// a stored record. The outcome is handed to the audit writer, which seals it into the chain
    /// without the request waiting.
    pub async fn run<T: Audited>(
        &self,
        caller: &Caller,
        op: Operation,
        work: impl Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let started = Instant::now();
        if let Err(denied) = self.authorize(caller, &op) {
            let denied = self.refuse(caller, &op, denied).await;
            return self.answer(&op, started, Err(denied));
        }
        if op.kind == Kind::PortalRead {
            let result = work.await;
            return self.answer(&op, started, result);
        }
        let mut record = self.new_record(caller, &op);
        let begin = self.audit.begin(record.clone());
        // On the heap: the SDK's futures are large, and a read holds this one and the audit's
        // at the same time.
        let work = Box::pin(NOTES.scope(RefCell::new(Notes::default()), async {
            let result = work.await;
            (result, NOTES.with(|n| n.take()))
        }));
        // Should the request be dropped before its outcome is known (the client went away), the
        // record is sealed as what it is at once, not left pending until the next start-up.
        let mut unanswered = Unanswered {
            audit: &self.audit,
            pending: None,
            record: &record,
        };
        let (pending, (result, notes), mut audit_wait) = if op.kind.read_only() {
            let ((begun, begun_at), (done, done_at)) = tokio::join!(finished_at(begin), finished_at(work));
            match begun {
                // Only the part of the insert that outlasted the calls delays the answer.
                Ok(id) => (id, done, begun_at.saturating_duration_since(done_at)),
                Err(e) => return self.unrecorded(&op, started, e),
            }
        } else {
            let asked = Instant::now();
            match begin.await {
                Ok(id) => {
                    let waited = asked.elapsed();
                    unanswered.pending = Some(id);
                    (id, work.await, waited)
                }
                Err(e) => return self.unrecorded(&op, started, e),
            }
        };
        unanswered.pending = None;
        drop(unanswered);

        let Notes {
            request_ids,
            identity,
            params,
            error_message,
        } = notes;
        let data = &mut record.additional_event_data;
        data.outcome = Outcome::Completed;
        data.elapsed_ms = Some(started.elapsed().as_millis() as u64);
        record.request_id = request_ids.first().cloned();
        data.request_ids = request_ids;
        if let Some(identity) = identity {
            record.user_identity = identity;
        }
        if let Some(params) = params {
            record.request_parameters = params;
        }
        match &result {
            Ok(value) => {
                if !op.kind.read_only() {
                    record.response_elements = value.response_elements();
                }
                let data = &mut record.additional_event_data;
                data.failed_items = value.failed_items();
                for id in value.resource_ids() {
                    if !data.resource_ids.contains(&id) {
                        data.resource_ids.push(id);
                    }
                }
            }
            Err(e) => {
                record.error_code = Some(e.audit_code().to_string());
                record.error_message = Some(error_message.unwrap_or_else(|| e.audit_message()));
                // Refused input changed nothing: what was sent is kept bounded.
                if matches!(e, AppError::Validation { .. } | AppError::TooLarge { .. }) {
                    record.request_parameters = refusals::bounded(&record.request_parameters);
                }
            }
        }
        record.resources = AuditRecord::resources_for(
            &record.additional_event_data.resource_ids,
            &record.aws_region,
            self.settings.account_id.as_deref(),
        );
        let event_id = record.event_id.clone();
        let handed = Instant::now();
        if let Err(e) = self.audit.finish(pending, record).await {
            // The request's start is stored: it is sealed with an unknown outcome at the next start.
            tracing::error!(action = op.event, %event_id, error = %e, "could not record the outcome of a request");
        }
        audit_wait += handed.elapsed();
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(value) = axum::http::HeaderValue::from_str(&event_id) {
                response.insert_header(axum::http::HeaderName::from_static("x-portal-event-id"), value);
            }
            let timing = format!("audit;dur={:.3};desc=\"audit log\"", audit_wait.as_secs_f64() * 1000.0);
            if let Ok(value) = axum::http::HeaderValue::from_str(&timing) {
                response.insert_header(axum::http::HeaderName::from_static("server-timing"), value);
            }
        }
        self.answer(&op, started, result)
    }

    /// Records a request refused before any work (its role, a cross-site request, arguments
    /// that cannot be read), and hands back the refusal.
    ///
    /// What was sent is recorded bounded (the first entries of a list and a count, text cut
    /// short). Callers who are not signed in are recorded one by one up to a few a minute per
    /// network and operation, then counted into one record (`refusals`).
    pub async fn refuse(&self, caller: &Caller, op: &Operation, refusal: AppError) -> AppError {
        let mut record = self.new_record(caller, op);
        record.request_parameters = refusals::bounded(&record.request_parameters);
        record.additional_event_data.outcome = Outcome::Completed;
        record.error_code = Some(refusal.audit_code().to_string());
        record.error_message = Some(refusal.audit_message());
        tracing::info!(action = op.event, endpoint = op.endpoint, error = %escaped(&refusal.to_string()), "request refused");
        let (record_it, due) = match caller.principal {
            Principal::Anonymous => match self.refusals.admit(&caller.network(), op.endpoint, op.event, &record) {
                Admit::Record(due) => (true, due),
                Admit::Counted(due) => (false, due),
            },
            _ => (true, Vec::new()),
        };
        for record in due.into_iter().chain(record_it.then_some(record)) {
            if let Err(e) = self.audit.append(record).await {
                tracing::error!(action = op.event, error = %e, "could not record a refused request");
            }
        }
        refusal
    }

    /// Answers a server function whose arguments could not be read (a field missing, a value of
    /// the wrong type): its body never ran. Recorded like any refused request (`InvalidRequest`,
    /// `ValidationError`) and answered with the reason — after the sign-in check of the endpoint
    /// itself, so the anonymous learn nothing but "sign in".
    pub async fn refuse_unreadable(&self, caller: &Caller, endpoint: &str, message: String) -> AppError {
        let public = policy::TABLE
            .iter()
            .any(|e| e.endpoint == endpoint && e.rule == Rule::Public);
        let op = Operation::portal_write(
            "invalid-request",
            "InvalidRequest",
            json!({ "endpoint": endpoint.trim_start_matches("/api/") }),
        );
        let refusal = if !public && caller.role().is_none() {
            AppError::Unauthorized
        } else {
            AppError::validation("request", message)
        };
        self.refuse(caller, &op, refusal).await
    }

    /// Checks the caller against the policy table's rule for the operation. An operation the
    /// table lacks is refused: a forgotten row fails closed.
    fn authorize(&self, caller: &Caller, op: &Operation) -> AppResult<()> {
        // The portal's own work (expiring requests, executing approved ones) needs no row.
        if matches!(caller.principal, Principal::Portal { .. }) {
            return Ok(());
        }
        let Some(rule) = policy::rule(op.endpoint, op.event) else {
            let reference = super::reference();
            tracing::error!(%reference, endpoint = op.endpoint, event = op.event, "no policy for this operation");
            return Err(AppError::Forbidden {
                message: format!("{} is not in the portal's policy (reference {reference})", op.event),
            });
        };
        if !rule.allows(caller.role()) {
            return Err(match (caller.role(), rule.least_role()) {
                (None, _) => AppError::Unauthorized,
                (Some(role), Some(needed)) => AppError::Forbidden {
                    message: format!("{} needs the {needed} role; you are {role}", op.event),
                },
                (Some(_), None) => unreachable!("a public rule allows everyone"),
            });
        }
        // Allowed by role, a gated operation still needs an approved request to carry it.
        if matches!(rule, Rule::Gated(_))
            && self.settings.approval_required.contains(&op.event)
            && op.approval.is_none()
        {
            return Err(AppError::Forbidden {
                message: format!(
                    "{} needs an approved request: ask for one (\"Request …\" on the page, or approvals/request), \
                     and a second person approves it",
                    op.event
                ),
            });
        }
        Ok(())
    }

    fn new_record(&self, caller: &Caller, op: &Operation) -> AuditRecord {
        let mut record = AuditRecord::start(
            record::EventKind {
                source: op.kind.source(),
                event_type: op.kind.event_type(),
                name: op.event,
                action: op.action(),
                read_only: op.kind.read_only(),
            },
            caller.identity(),
            &caller.source_ip,
            &caller.user_agent,
            op.params.clone(),
        );
        record.aws_region = self.settings.region.clone();
        record.recipient_account_id = self.settings.account_id.clone();
        record.additional_event_data.resource_ids = op.resources.clone();
        record.additional_event_data.approval = op.approval.clone();
        record
    }

    /// Answers a request whose start could not be stored: nothing was changed for a write; a
    /// read's answer is withheld.
    fn unrecorded<T>(&self, op: &Operation, started: Instant, error: crate::audit::ssr::AuditError) -> AppResult<T> {
        tracing::error!(action = op.event, %error, "request refused: its audit record could not be stored");
        self.answer(op, started, Err(audit_unavailable()))
    }

    /// Logs the request and sets the HTTP status of an error.
    fn answer<T>(&self, op: &Operation, started: Instant, result: AppResult<T>) -> AppResult<T> {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let action = op.action();
        match &result {
            Ok(_) => tracing::info!(action, elapsed_ms, "ok"),
            Err(e) => {
                tracing::info!(action, elapsed_ms, error = %escaped(&e.to_string()), "refused or failed");
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(
                        axum::http::StatusCode::from_u16(e.status())
                            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                    );
                    if let Some(secs) = e.retry_after() {
                        response.insert_header(axum::http::header::RETRY_AFTER, secs.into());
                    }
                }
            }
        }
        result
    }
}

/// A request whose start is stored and whose outcome is not: dropped before it is answered,
/// it seals the record as abandoned.
struct Unanswered<'a> {
    audit: &'a AuditLog,
    pending: Option<i64>,
    record: &'a AuditRecord,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.pending.take() {
            tracing::warn!(action = %self.record.event_name, event_id = %self.record.event_id, "the client went away before the answer");
            self.audit.abandon(id, self.record.clone());
        }
    }
}

/// User text for a log line: control characters (a newline could forge a line) escaped.
pub fn escaped(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().flat_map(char::escape_default).collect()
}

/// Runs `future` and notes when it finished.
async fn finished_at<F: Future>(future: F) -> (F::Output, Instant) {
    let output = future.await;
    (output, Instant::now())
}

/// The refusal when the audit log cannot store a request's record.
pub fn audit_unavailable() -> AppError {
    AppError::Unavailable {
        message: "the audit log cannot store records right now, so the portal refused this request \
                  (a change was not sent to WorkSpaces). Try again; if it keeps failing, tell an \
                  administrator (the server log has the cause)."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_add_lines_to_the_log() {
        assert_eq!(escaped("ids[0]: 'x\nFAKE ok'"), "ids[0]: \\'x\\nFAKE ok\\'");
        assert_eq!(escaped("plain text"), "plain text");
    }

    #[test]
    fn an_operation_names_each_resource_once() {
        let op = Operation::aws_write("/api/workspaces/batch", "StopWorkspaces", Value::Null).touching([
            "ws-1",
            " ws-1 ",
            "",
            "ws-2",
            &"x".repeat(65),
        ]);
        assert_eq!(op.resources, ["ws-1", "ws-2"]);
        assert_eq!(op.action(), "workspaces/batch");
    }
}
