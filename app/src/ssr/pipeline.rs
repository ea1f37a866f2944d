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
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use serde_json::{json, Value};

use crate::audit::ssr::record::{self, AuditRecord, UserIdentity};
use crate::audit::ssr::AuditLog;
use crate::audit::Outcome;
use crate::error::{AppError, AppResult};
use crate::identity::ssr::User;
use crate::identity::Role;
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
}

impl Operation {
    pub fn new(kind: Kind, endpoint: &'static str, event: &'static str, params: Value) -> Self {
        Operation {
            endpoint,
            event,
            kind,
            params,
            resources: Vec::new(),
        }
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

/// Who makes a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    Anonymous,
    /// A signed-in user of the portal.
    User(User),
    /// Someone at the portal's machine, running `workspaces-portal` commands (with access to its
    /// database, so with an administrator's powers).
    CommandLine {
        os_user: String,
    },
}

/// Who made a request and from where, as the policy checks it and the audit log records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub principal: Principal,
    pub source_ip: String,
    pub user_agent: String,
}

impl Caller {
    /// The command line on the portal's machine, as the operating-system user who ran it.
    pub fn command_line() -> Self {
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        Caller {
            principal: Principal::CommandLine { os_user },
            source_ip: "127.0.0.1".into(),
            user_agent: "workspaces-portal".into(),
        }
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User(user) => Some(user),
            _ => None,
        }
    }

    /// The role the policy checks (the command line acts as an administrator).
    pub fn role(&self) -> Option<Role> {
        match &self.principal {
            Principal::Anonymous => None,
            Principal::User(user) => Some(user.role),
            Principal::CommandLine { .. } => Some(Role::Admin),
        }
    }

    /// CloudTrail's `userIdentity`.
    pub fn identity(&self) -> UserIdentity {
        match &self.principal {
            Principal::Anonymous => UserIdentity::anonymous(),
            Principal::User(user) => UserIdentity::portal_user(user),
            Principal::CommandLine { os_user } => UserIdentity::command_line(os_user),
        }
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
}

/// The pipeline: the audit log and what every record carries. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    audit: AuditLog,
    settings: Arc<PipelineSettings>,
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
        Pipeline {
            audit,
            settings: Arc::new(settings),
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Who is calling, from a request's head (the signed-in user is in its extensions).
    pub fn caller_of(&self, parts: &axum::http::request::Parts) -> Caller {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Caller {
            principal: match parts.extensions.get::<User>() {
                Some(user) => Principal::User(user.clone()),
                None => Principal::Anonymous,
            },
            source_ip: client_ip(peer, header("x-forwarded-for"), &self.settings.trusted_proxies),
            user_agent: header("user-agent").unwrap_or("").chars().take(512).collect(),
        }
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
                    (id, work.await, waited)
                }
                Err(e) => return self.unrecorded(&op, started, e),
            }
        };

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
    pub async fn refuse(&self, caller: &Caller, op: &Operation, refusal: AppError) -> AppError {
        let mut record = self.new_record(caller, op);
        record.additional_event_data.outcome = Outcome::Completed;
        record.error_code = Some(refusal.audit_code().to_string());
        record.error_message = Some(refusal.audit_message());
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(action = op.event, error = %e, "could not record a refused request");
        }
        tracing::info!(action = op.event, endpoint = op.endpoint, error = %refusal, "request refused");
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
        let Some(rule) = policy::rule(op.endpoint, op.event) else {
            let reference = super::reference();
            tracing::error!(%reference, endpoint = op.endpoint, event = op.event, "no policy for this operation");
            return Err(AppError::Forbidden {
                message: format!("{} is not in the portal's policy (reference {reference})", op.event),
            });
        };
        if rule.allows(caller.role()) {
            return Ok(());
        }
        Err(match (caller.role(), rule) {
            (None, _) => AppError::Unauthorized,
            (Some(role), Rule::AtLeast(needed)) => AppError::Forbidden {
                message: format!("{} needs the {needed} role; you are {role}", op.event),
            },
            (Some(_), Rule::Public) => unreachable!("a public rule allows everyone"),
        })
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
                tracing::info!(action, elapsed_ms, error = %e, "refused or failed");
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(
                        axum::http::StatusCode::from_u16(e.status())
                            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                    );
                }
            }
        }
        result
    }
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

/// An address or a CIDR network (`10.0.0.0/8`, `::1`), as `--trusted-proxy` takes it.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("'{text}' is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<SocketAddr>, forwarded_for: Option<&str>, trusted: &[IpNet]) -> String {
    let Some(peer) = peer.map(|p| canonical(p.ip())) else {
        return "unknown".into();
    };
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return peer.to_string();
    }
    let mut client = peer;
    if let Some(header) = forwarded_for {
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !trusted.iter().any(|n| n.contains(&client)) {
                        break;
                    }
                }
                // A hop that is not an address: stop at the last one we could trust.
                Err(_) => break,
            }
        }
    }
    client.to_string()
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_proxies() {
        let proxy = parse_network("10.0.0.0/8").unwrap();
        let peer = Some("10.1.2.3:5000".parse().unwrap());
        let outsider = Some("203.0.113.9:5000".parse().unwrap());
        assert_eq!(client_ip(outsider, Some("1.2.3.4"), &[proxy]), "203.0.113.9");
        assert_eq!(client_ip(peer, Some("1.2.3.4"), &[]), "10.1.2.3");
        // A client cannot spoof by prepending: the right-most untrusted hop counts.
        assert_eq!(
            client_ip(peer, Some("6.6.6.6, 198.51.100.7, 10.9.9.9"), &[proxy]),
            "198.51.100.7"
        );
        assert_eq!(client_ip(peer, None, &[proxy]), "10.1.2.3");
        assert!(parse_network("::1")
            .unwrap()
            .contains(&"::1".parse::<IpAddr>().unwrap()));
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("0.0.0.0/0")
            .unwrap()
            .contains(&"8.8.8.8".parse::<IpAddr>().unwrap()));
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

    #[test]
    fn the_command_line_acts_as_an_administrator_and_is_recorded_as_itself() {
        let cli = Caller::command_line();
        assert_eq!(cli.role(), Some(Role::Admin));
        assert_eq!(cli.identity().kind, record::IdentityKind::CommandLine);
    }
}
