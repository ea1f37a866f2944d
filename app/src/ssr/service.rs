//! The service layer: what each server function does, on the server.
//!
//! Every public method runs through [`Portal::call`] (or, for the audit log's own pages,
//! [`Portal::authorize`]): the single place where each request is authorized against the
//! role its [`Event`] requires, recorded in the audit log, logged, and its error status set,
//! so that no server function can skip them. An [`Event`] cannot be made without saying which
//! role it needs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_workspaces::types as sdk;
use aws_sdk_workspaces::Client;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::audit::{self, record, AuditLog, AuditRecord, Caller, IpNet, UserIdentity};
use super::auth::{Auth, Identity, SignInFailure};
use super::mapping::{self, Catalog};
use crate::audit::{AuditDetail, AuditPage, AuditQuery};
use crate::auth::{Role, UserRow};
use crate::catalog::{BundleInfo, BundleOwner, DirectoryInfo};
use crate::error::{AppError, AppResult};
use crate::validate;
use crate::workspaces::*;

#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// How long a fleet listing is reused before WorkSpaces is asked again. Writes made
    /// through the portal invalidate it at once.
    pub fleet_cache_ttl: Duration,
    /// How long bundles and directories are reused.
    pub catalog_cache_ttl: Duration,
    /// The AWS account the WorkSpaces belong to, for the audit log's `recipientAccountId`.
    pub account_id: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed for the client's address.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            fleet_cache_ttl: Duration::from_secs(2),
            catalog_cache_ttl: Duration::from_secs(60),
            account_id: None,
            trusted_proxies: Vec::new(),
        }
    }
}

struct Cached<T> {
    at: Instant,
    value: Arc<T>,
}

#[derive(Default)]
struct FleetCache {
    snapshot: Option<Cached<Vec<WorkspaceSummary>>>,
    /// Bumped by every write made through the portal.
    generation: u64,
    /// A background walk is under way.
    refreshing: bool,
}

pub struct Portal {
    client: Client,
    audit: AuditLog,
    auth: Auth,
    settings: PortalSettings,
    fleet: std::sync::Mutex<FleetCache>,
    /// Single-flight: concurrent page loads share one walk of the fleet.
    walking: Mutex<()>,
    catalog: Mutex<Option<Cached<Catalog>>>,
    tags: Mutex<HashMap<String, Cached<Vec<Tag>>>>,
}

impl Portal {
    pub fn new(client: Client, audit: AuditLog, auth: Auth, settings: PortalSettings) -> Self {
        Portal {
            client,
            audit,
            auth,
            settings,
            fleet: std::sync::Mutex::new(FleetCache::default()),
            walking: Mutex::new(()),
            catalog: Mutex::new(None),
            tags: Mutex::new(HashMap::new()),
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Runs one request of the portal: the one place every server function goes through.
    ///
    /// Each request gets exactly one audit record. Its start is stored before anything is sent
    /// to AWS for a write (if that fails, the write is refused) and while the calls run for a
    /// read (if that fails, the read's answer is withheld): no request is answered without a
    /// stored record. The outcome is handed to the audit writer, which seals it into the chain
    /// without the request waiting for it.
    ///
    /// The time the request spent waiting for the audit log is sent in a `Server-Timing`
    /// header (`audit;dur=…`, milliseconds).
    async fn call<T: Audited>(&self, event: Event, work: impl Future<Output = AppResult<T>>) -> AppResult<T> {
        let started = Instant::now();
        let caller = self.caller();
        if let Err(denied) = self.authorize(&event, &caller).await {
            return self.answer(event.name, started, Err(denied));
        }
        let mut record = self.new_record(&event, &caller);
        let begin = self.audit.begin(record.clone());
        // On the heap: the SDK's futures are large, and a read holds this one and the audit's
        // at the same time.
        let work = Box::pin(TRAIL.scope(RefCell::new(Vec::new()), async {
            let result = work.await;
            (result, TRAIL.with(|t| t.take()))
        }));
        let (pending, (result, request_ids), mut audit_wait) = if event.read_only {
            let ((begun, begun_at), (done, done_at)) = tokio::join!(finished_at(begin), finished_at(work));
            match begun {
                // Only the part of the insert that outlasted the calls delays the answer.
                Ok(id) => (id, done, begun_at.saturating_duration_since(done_at)),
                Err(e) => return self.unrecorded(event.name, started, e),
            }
        } else {
            let asked = Instant::now();
            match begin.await {
                Ok(id) => {
                    let waited = asked.elapsed();
                    (id, work.await, waited)
                }
                Err(e) => return self.unrecorded(event.name, started, e),
            }
        };

        let data = &mut record.additional_event_data;
        data.outcome = "completed".into();
        data.elapsed_ms = Some(started.elapsed().as_millis() as u64);
        record.request_id = request_ids.first().cloned();
        data.request_ids = request_ids;
        match &result {
            Ok(value) => {
                if !event.read_only {
                    record.response_elements = value.response_elements();
                }
                data.failed_items = value.failed_items();
                for id in value.resource_ids() {
                    if !data.resource_ids.contains(&id) {
                        data.resource_ids.push(id);
                    }
                }
            }
            Err(e) => {
                let (code, message) = audit_error(e);
                record.error_code = Some(code);
                record.error_message = Some(message);
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
            tracing::error!(action = event.name, %event_id, error = %e, "could not record the outcome of a request");
        }
        audit_wait += handed.elapsed();
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(value) = axum::http::HeaderValue::from_str(&event_id) {
                response.insert_header(axum::http::HeaderName::from_static("x-portal-event-id"), value);
            }
            let timing = format!("audit;dur={:.3};desc=\"audit log\"", audit_wait.as_secs_f64() * 1000.0);
            if let Ok(value) = axum::http::HeaderValue::from_str(&timing) {
                response.insert_header(axum::http::header::HeaderName::from_static("server-timing"), value);
            }
        }
        self.answer(event.name, started, result)
    }

    /// Answers a request whose start could not be stored: nothing was sent to AWS for a write;
    /// a read's answer is withheld.
    fn unrecorded<T>(&self, action: &str, started: Instant, error: audit::AuditError) -> AppResult<T> {
        tracing::error!(action, %error, "request refused: its audit record could not be stored");
        self.answer(action, started, Err(audit_unavailable()))
    }

    /// Logs the request and sets the HTTP status of an error.
    fn answer<T>(&self, action: &str, started: Instant, result: AppResult<T>) -> AppResult<T> {
        let elapsed_ms = started.elapsed().as_millis() as u64;
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

    /// Checks that the caller's role allows `event`. A refusal is recorded in the audit log
    /// (`errorCode: AccessDenied`) and answered 401 (not signed in) or 403.
    pub async fn authorize(&self, event: &Event, caller: &Caller) -> AppResult<()> {
        let Some(needed) = event.needs else {
            return Ok(());
        };
        let denied = match &caller.user {
            None => AppError::Unauthorized,
            Some(user) if user.role.allows(needed) => return Ok(()),
            Some(user) => AppError::Forbidden {
                message: format!("{} needs the {needed} role; you are {}", event.name, user.role),
            },
        };
        let mut record = self.new_record(event, caller);
        record.additional_event_data.outcome = "completed".into();
        record.error_code = Some("AccessDenied".into());
        record.error_message = Some(denied.to_string());
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(action = event.action, error = %e, "could not record a refused request");
        }
        Err(denied)
    }

    /// Who is calling, from the HTTP request being served.
    pub fn caller(&self) -> Caller {
        match leptos::prelude::use_context::<axum::http::request::Parts>() {
            Some(parts) => self.caller_of(&parts),
            None => Caller::local(),
        }
    }

    /// Who is calling, from a request's head (the signed-in user is in its extensions).
    pub fn caller_of(&self, parts: &axum::http::request::Parts) -> Caller {
        let user = parts.extensions.get::<Identity>().cloned();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        Caller {
            identity: user
                .as_ref()
                .map(UserIdentity::portal_user)
                .unwrap_or_else(UserIdentity::anonymous),
            user,
            source_ip: record::client_ip(peer, header("x-forwarded-for"), &self.settings.trusted_proxies),
            user_agent: header("user-agent").unwrap_or("").chars().take(512).collect(),
        }
    }

    fn new_record(&self, event: &Event, caller: &Caller) -> AuditRecord {
        let mut record = AuditRecord::start(
            record::EventKind {
                source: event.source,
                event_type: event.event_type,
                name: event.name,
                action: event.action,
                read_only: event.read_only,
            },
            caller,
            event.params.clone(),
        );
        record.aws_region = self.client.config().region().map(|r| r.to_string()).unwrap_or_default();
        record.recipient_account_id = self.settings.account_id.clone();
        record.additional_event_data.resource_ids = event.resources.clone();
        record
    }

    // -----------------------------------------------------------------------------------------
    // The audit log

    // Reading the audit log is not itself recorded (only refusals are).

    pub async fn audit_list(&self, query: AuditQuery) -> AppResult<AuditPage> {
        let started = Instant::now();
        let event = Event::portal_read("LookupAuditRecords", "audit/list", json!({ "filters": query }));
        let result = async {
            self.authorize(&event, &self.caller()).await?;
            self.audit_settled().await?;
            audit::query::list(self.audit.db(), &audit::Filter::parse(&query)?).await
        }
        .await;
        self.answer(event.action, started, result)
    }

    pub async fn audit_get(&self, event_id: &str) -> AppResult<AuditDetail> {
        let started = Instant::now();
        let event = Event::portal_read("GetAuditRecord", "audit/get", json!({ "eventId": event_id }));
        let result = async {
            self.authorize(&event, &self.caller()).await?;
            self.audit_settled().await?;
            audit::query::get(self.audit.db(), event_id).await
        }
        .await;
        self.answer(event.action, started, result)
    }

    /// Waits until every request answered so far has its outcome stored, so that what is read
    /// next includes them.
    pub async fn audit_settled(&self) -> AppResult<()> {
        self.audit.settled().await.map_err(|e| {
            tracing::error!(error = %e, "the audit log is unavailable");
            audit_unavailable()
        })
    }

    /// May the request behind `parts` export the audit log? (`GET /api/audit/export`.)
    pub async fn authorize_export(&self, parts: &axum::http::request::Parts, params: Value) -> AppResult<()> {
        let event = Event::portal_read("ExportAuditRecords", "audit/export", params);
        self.authorize(&event, &self.caller_of(parts)).await
    }

    /// Records a request refused before it reached the app (a cross-site write), as the
    /// signed-in user if the request carried a session.
    pub async fn record_cross_site_refusal(&self, parts: &axum::http::request::Parts, message: String) {
        let event = Event::portal(
            "CrossSiteRequestRefused",
            "security/cross-site",
            None,
            json!({ "method": parts.method.as_str(), "path": parts.uri.path() }),
        );
        let mut record = self.new_record(&event, &self.caller_of(parts));
        record.additional_event_data.outcome = "completed".into();
        record.error_code = Some("AccessDenied".into());
        record.error_message = Some(message);
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(error = %e, "could not record a refused cross-site request");
        }
    }

    /// Answers a server function whose arguments could not be read (a field missing, a value of
    /// the wrong type): its body never ran. The attempt is recorded like any refused request
    /// (`InvalidRequest`, `ValidationError`) and answered with the reason — after the same
    /// sign-in check as the endpoint's own, so the anonymous learn nothing but "sign in".
    pub async fn refuse_unreadable(&self, parts: &axum::http::request::Parts, message: String) -> AppError {
        let endpoint = parts.uri.path().trim_start_matches("/api/");
        let needs = (!endpoint.starts_with("auth/")).then_some(Role::Viewer);
        let event = Event::portal(
            "InvalidRequest",
            "invalid-request",
            needs,
            json!({ "endpoint": endpoint }),
        );
        let caller = self.caller_of(parts);
        if let Err(denied) = self.authorize(&event, &caller).await {
            return denied;
        }
        let error = AppError::validation("request", message);
        tracing::info!(endpoint, %error, "request refused: its arguments could not be read");
        let mut record = self.new_record(&event, &caller);
        record.additional_event_data.outcome = "completed".into();
        let (code, message) = audit_error(&error);
        record.error_code = Some(code);
        record.error_message = Some(message);
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(endpoint, error = %e, "could not record a request with unreadable arguments");
        }
        error
    }

    // -----------------------------------------------------------------------------------------
    // Signing in and out, first run, users

    /// Records a portal event that is not a server function's request (sign-in, setup).
    async fn record_portal_event(
        &self,
        event: &Event,
        identity: UserIdentity,
        started: Instant,
        error: Option<(&str, String)>,
    ) {
        let mut record = self.new_record(event, &self.caller());
        record.user_identity = identity;
        record.additional_event_data.outcome = "completed".into();
        record.additional_event_data.elapsed_ms = Some(started.elapsed().as_millis() as u64);
        if let Some((code, message)) = error {
            record.error_code = Some(code.into());
            record.error_message = Some(message);
        }
        if let Err(e) = self.audit.append(record).await {
            tracing::error!(action = event.action, error = %e, "could not record a portal event");
        }
    }

    pub async fn sign_in(&self, session: &tower_sessions::Session, name: &str, password: &str) -> AppResult<()> {
        let started = Instant::now();
        let caller = self.caller();
        let mut event = Event::portal(
            "SignIn",
            "auth/sign-in",
            None,
            json!({ "userName": record::HIDDEN_USER }),
        );
        event.event_type = "PortalSignIn";
        let mut identity = UserIdentity::anonymous();
        identity.user_name = record::HIDDEN_USER.into();
        let result = match self.auth.check_password(name, password, &caller.source_ip).await {
            Ok(user) => match self.auth.start_session(session, &user).await {
                Ok(signed_in) => {
                    event.params = json!({ "userName": user.name });
                    self.record_portal_event(&event, UserIdentity::portal_user(&signed_in), started, None)
                        .await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Err(SignInFailure::Throttled(wait)) => {
                // Auditors see which account is under attack (when it exists).
                if let Ok(Some(user)) = self.auth.find(name).await {
                    identity.user_name = user.name.clone();
                    identity.principal_id = format!("user-{}", user.id);
                    event.params = json!({ "userName": user.name });
                }
                let minutes = wait.as_secs().div_ceil(60).max(1);
                let message = format!(
                    "too many failed sign-ins for this account or from your address; try again in {minutes} minute(s)"
                );
                self.record_portal_event(&event, identity, started, Some(("Throttled", message.clone())))
                    .await;
                Err(AppError::TooManyRequests { message })
            }
            Err(SignInFailure::Rejected { user, reason }) => {
                if let Some(user) = &user {
                    identity.user_name = user.name.clone();
                    identity.principal_id = format!("user-{}", user.id);
                    event.params = json!({ "userName": user.name });
                }
                let message = format!("Failed authentication: {reason}");
                self.record_portal_event(&event, identity, started, Some(("FailedAuthentication", message)))
                    .await;
                Err(AppError::SignInFailed)
            }
        };
        self.answer(event.action, started, result)
    }

    pub async fn sign_out(&self, session: &tower_sessions::Session) -> AppResult<()> {
        let started = Instant::now();
        let caller = self.caller();
        let mut event = Event::portal("SignOut", "auth/sign-out", None, json!({}));
        event.event_type = "PortalSignIn";
        let result = self.auth.end_session(session).await;
        if caller.user.is_some() {
            self.record_portal_event(&event, caller.identity, started, None).await;
        }
        self.answer(event.action, started, result)
    }

    /// First run: the one-time token makes the first administrator, who is signed in.
    pub async fn complete_setup(
        &self,
        session: &tower_sessions::Session,
        token: &str,
        name: &str,
        password: &str,
        again: &str,
    ) -> AppResult<()> {
        let started = Instant::now();
        let event = Event::portal(
            "CompleteSetup",
            "auth/setup",
            None,
            json!({ "userName": name, "role": "admin" }),
        );
        let result = async {
            let name = crate::auth::check_user_name(name)?;
            crate::auth::check_new_password(password, "password")?;
            if password != again {
                return Err(AppError::validation("again", "the two passwords differ"));
            }
            // Taken for the duration: a second setup at the same time is refused.
            if !self.auth.take_setup_token(token).await? {
                return Err(AppError::validation(
                    "token",
                    "this setup link is not valid: it works once, while no user exists. \
                     Sign in, or ask an administrator for an account.",
                ));
            }
            let created = self.auth.create(&name, Role::Admin, password).await;
            let user = match created {
                Ok(user) => user,
                Err(e) => {
                    self.auth.restore_setup_token(token);
                    return Err(e);
                }
            };
            self.auth.start_session(session, &user).await
        }
        .await;
        match &result {
            Ok(identity) => {
                self.record_portal_event(&event, UserIdentity::portal_user(identity), started, None)
                    .await
            }
            Err(e) => {
                let (code, message) = audit_error(e);
                self.record_portal_event(&event, UserIdentity::anonymous(), started, Some((&code, message)))
                    .await
            }
        }
        self.answer(event.action, started, result.map(|_| ()))
    }

    pub async fn users_list(&self) -> AppResult<Vec<UserRow>> {
        let started = Instant::now();
        let event = Event::portal_read("ListUsers", "users/list", json!({}));
        let result = async {
            self.authorize(&event, &self.caller()).await?;
            self.auth.list().await
        }
        .await;
        self.answer(event.action, started, result)
    }

    pub async fn user_create(&self, name: &str, role: &str, password: &str) -> AppResult<()> {
        let event = Event::portal(
            "CreateUser",
            "users/create",
            Some(Role::Admin),
            json!({ "userName": name, "role": role }),
        );
        self.call(event, async {
            let role = Role::parse(role)?;
            self.auth.create(name, role, password).await.map(|_| ())
        })
        .await
    }

    pub async fn user_set_role(&self, name: &str, role: &str) -> AppResult<()> {
        let event = Event::portal(
            "SetUserRole",
            "users/set-role",
            Some(Role::Admin),
            json!({ "userName": name, "role": role }),
        );
        self.call(event, async { self.auth.set_role(name, Role::parse(role)?).await })
            .await
    }

    pub async fn user_set_enabled(&self, name: &str, enabled: bool) -> AppResult<()> {
        let event_name = if enabled { "EnableUser" } else { "DisableUser" };
        let event = Event::portal(
            event_name,
            "users/set-enabled",
            Some(Role::Admin),
            json!({ "userName": name }),
        );
        self.call(event, self.auth.set_enabled(name, enabled)).await
    }

    pub async fn user_reset_password(&self, name: &str, password: &str) -> AppResult<()> {
        let event = Event::portal(
            "ResetUserPassword",
            "users/reset-password",
            Some(Role::Admin),
            json!({ "userName": name }),
        );
        self.call(event, self.auth.set_password(name, password)).await
    }

    /// Checks that WorkSpaces answers (for `/readyz`).
    pub async fn ping(&self) -> AppResult<()> {
        self.client
            .describe_workspace_directories()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| mapping::sdk_error("DescribeWorkspaceDirectories", e))
    }

    // -----------------------------------------------------------------------------------------
    // Reading the fleet

    async fn catalog(&self) -> AppResult<Arc<Catalog>> {
        let mut cached = self.catalog.lock().await;
        if let Some(c) = cached
            .as_ref()
            .filter(|c| c.at.elapsed() < self.settings.catalog_cache_ttl)
        {
            return Ok(c.value.clone());
        }
        let mut catalog = Catalog::default();
        for owner in [Some("AMAZON"), None] {
            for b in self.fetch_bundles(owner).await? {
                catalog.bundles.insert(b.id.clone(), b);
            }
        }
        for d in self.fetch_directories().await? {
            catalog.directories.insert(d.id.clone(), d);
        }
        let value = Arc::new(catalog);
        *cached = Some(Cached {
            at: Instant::now(),
            value: value.clone(),
        });
        Ok(value)
    }

    async fn fetch_bundles(&self, owner: Option<&str>) -> AppResult<Vec<BundleInfo>> {
        let mut pages = self
            .client
            .describe_workspace_bundles()
            .set_owner(owner.map(str::to_owned))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| mapping::sdk_error("DescribeWorkspaceBundles", e))?;
            out.extend(page.bundles().iter().map(mapping::bundle));
        }
        Ok(out)
    }

    async fn fetch_directories(&self) -> AppResult<Vec<DirectoryInfo>> {
        let mut pages = self.client.describe_workspace_directories().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| mapping::sdk_error("DescribeWorkspaceDirectories", e))?;
            out.extend(page.directories().iter().map(mapping::directory));
        }
        Ok(out)
    }

    /// The whole fleet: every page of DescribeWorkspaces, not only the first 25.
    ///
    /// Stale-while-revalidate: once a walk is older than the cache TTL, readers get it at once
    /// while one fresh walk runs in the background. Only the first read, and the first after a
    /// write made through the portal, wait for a walk. A TTL of zero means: always walk.
    async fn fleet(self: &Arc<Self>) -> AppResult<Arc<Vec<WorkspaceSummary>>> {
        let ttl = self.settings.fleet_cache_ttl;
        if !ttl.is_zero() {
            let mut cache = self.fleet.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(snapshot) = &cache.snapshot {
                let value = snapshot.value.clone();
                if snapshot.at.elapsed() >= ttl && !cache.refreshing {
                    cache.refreshing = true;
                    let portal = Arc::clone(self);
                    tokio::spawn(async move {
                        if let Err(e) = portal.walk_fleet().await {
                            tracing::warn!(error = %e, "background refresh of the fleet failed");
                        }
                        portal.fleet.lock().unwrap_or_else(|e| e.into_inner()).refreshing = false;
                    });
                }
                return Ok(value);
            }
        }
        self.walk_fleet().await
    }

    /// Walks every page (one walk at a time) and stores the result, unless a write made
    /// through the portal happened meanwhile: then the walk may predate the write.
    async fn walk_fleet(&self) -> AppResult<Arc<Vec<WorkspaceSummary>>> {
        let _one_walk_at_a_time = self.walking.lock().await;
        let generation = {
            let cache = self.fleet.lock().unwrap_or_else(|e| e.into_inner());
            // Someone else finished a walk while this one waited for its turn.
            if let Some(snapshot) = cache
                .snapshot
                .as_ref()
                .filter(|s| s.at.elapsed() < self.settings.fleet_cache_ttl)
            {
                return Ok(snapshot.value.clone());
            }
            cache.generation
        };
        let catalog = self.catalog().await?;
        let mut pages = self.client.describe_workspaces().into_paginator().send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| mapping::sdk_error("DescribeWorkspaces", e))?;
            all.extend(page.workspaces().iter().map(|w| mapping::workspace(w, &catalog)));
        }
        let value = Arc::new(all);
        let mut cache = self.fleet.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation == generation {
            cache.snapshot = Some(Cached {
                at: Instant::now(),
                value: value.clone(),
            });
        }
        Ok(value)
    }

    /// Forgets cached fleet data after a write, so the next read shows its effect.
    async fn invalidate(&self) {
        let mut cache = self.fleet.lock().unwrap_or_else(|e| e.into_inner());
        cache.snapshot = None;
        cache.generation += 1;
    }

    async fn tags_of(&self, id: &str) -> AppResult<Vec<Tag>> {
        if let Some(c) = self
            .tags
            .lock()
            .await
            .get(id)
            .filter(|c| c.at.elapsed() < self.settings.catalog_cache_ttl)
        {
            return Ok((*c.value).clone());
        }
        let out = self
            .client
            .describe_tags()
            .resource_id(id)
            .send()
            .await
            .map_err(|e| mapping::sdk_error("DescribeTags", e))?;
        let tags: Vec<Tag> = out.tag_list().iter().map(mapping::tag).collect();
        self.tags.lock().await.insert(
            id.to_string(),
            Cached {
                at: Instant::now(),
                value: Arc::new(tags.clone()),
            },
        );
        Ok(tags)
    }

    pub async fn list(self: &Arc<Self>, query: FleetQuery) -> AppResult<FleetPage> {
        let event = Event::read(
            "DescribeWorkspaces",
            "workspaces/list",
            json!({ "portalFilters": query }),
        );
        self.call(event, async {
            let query = query.normalized();
            let fleet = self.fleet().await?;
            let user = query.user.to_lowercase();
            let mut rows: Vec<WorkspaceSummary> = fleet
                .iter()
                .filter(|w| query.state.is_empty() || w.state == query.state)
                .filter(|w| query.directory.is_empty() || w.directory_id == query.directory)
                .filter(|w| query.bundle.is_empty() || w.bundle_id == query.bundle)
                .filter(|w| query.mode.is_empty() || w.running_mode == query.mode)
                .filter(|w| user.is_empty() || w.user_name.to_lowercase().contains(&user))
                .cloned()
                .collect();
            if !query.tag_key.is_empty() || !query.tag_value.is_empty() {
                // DescribeWorkspaces carries no tags: ask for them, a few at a time, cached.
                let ids: Vec<String> = rows.iter().map(|w| w.id.clone()).collect();
                let tag_sets: Vec<AppResult<Vec<Tag>>> = stream::iter(ids)
                    .map(|id| async move { self.tags_of(&id).await })
                    .buffered(16)
                    .collect()
                    .await;
                let keep: Vec<bool> = tag_sets
                    .into_iter()
                    .map(|tags| {
                        Ok(tags?.iter().any(|t| {
                            (query.tag_key.is_empty() || t.key == query.tag_key)
                                && (query.tag_value.is_empty() || t.value == query.tag_value)
                        }))
                    })
                    .collect::<AppResult<_>>()?;
                let mut keep = keep.into_iter();
                rows.retain(|_| keep.next().unwrap_or(false));
            }
            sort_rows(&mut rows, &query.sort, query.desc);
            let total = rows.len();
            let pages = total.div_ceil(query.per_page).max(1);
            let page = query.page.min(pages);
            let items = rows
                .into_iter()
                .skip((page - 1) * query.per_page)
                .take(query.per_page)
                .collect();
            let catalog = self.catalog().await?;
            let mut directories: Vec<Choice> = catalog
                .directories
                .values()
                .map(|d| Choice {
                    value: d.id.clone(),
                    label: format!("{} ({})", d.alias, d.id),
                })
                .collect();
            directories.sort_by(|a, b| a.label.cmp(&b.label));
            let mut bundles: Vec<Choice> = catalog
                .bundles
                .values()
                .map(|b| Choice {
                    value: b.id.clone(),
                    label: format!("{} ({})", b.name, b.compute_type),
                })
                .collect();
            bundles.sort_by(|a, b| a.label.cmp(&b.label));
            Ok(FleetPage {
                items,
                total,
                fleet_size: fleet.len(),
                page,
                per_page: query.per_page,
                pages,
                directories,
                bundles,
            })
        })
        .await
    }

    pub async fn summary(self: &Arc<Self>) -> AppResult<FleetOverview> {
        self.call(
            Event::read("DescribeWorkspaces", "workspaces/summary", json!({})),
            async {
                let fleet = self.fleet().await?;
                let count_by = |key: &dyn Fn(&WorkspaceSummary) -> String| {
                    let mut counts: HashMap<String, usize> = HashMap::new();
                    for w in fleet.iter() {
                        *counts.entry(key(w)).or_default() += 1;
                    }
                    let mut counts: Vec<Count> = counts
                        .into_iter()
                        .map(|(label, count)| Count { label, count })
                        .collect();
                    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
                    counts
                };
                Ok(FleetOverview {
                    total: fleet.len(),
                    by_state: count_by(&|w| w.state.clone()),
                    by_directory: count_by(&|w| w.directory_alias.clone().unwrap_or_else(|| w.directory_id.clone())),
                    by_running_mode: count_by(&|w| w.running_mode.clone()),
                    attention: fleet
                        .iter()
                        .filter(|w| ATTENTION_STATES.contains(&w.state.as_str()))
                        .cloned()
                        .collect(),
                })
            },
        )
        .await
    }

    pub async fn detail(&self, id: &str) -> AppResult<WorkspaceDetail> {
        let event = Event::read("DescribeWorkspaces", "workspaces/get", json!({ "workspaceIds": [id] })).touching([id]);
        self.call(event, async {
            validate::workspace_id("id", id)?;
            let catalog = self.catalog().await?;
            let (described, tags, connection) = tokio::join!(
                self.client.describe_workspaces().workspace_ids(id).send(),
                self.client.describe_tags().resource_id(id).send(),
                self.client
                    .describe_workspaces_connection_status()
                    .workspace_ids(id)
                    .send(),
            );
            let described = described
                .map(noted)
                .map_err(|e| mapping::sdk_error("DescribeWorkspaces", e))?;
            let workspace = described
                .workspaces()
                .first()
                .map(|w| mapping::workspace(w, &catalog))
                .ok_or_else(|| AppError::NotFound {
                    message: format!("WorkSpace {id} does not exist (or was terminated)"),
                })?;
            let tags = tags
                .map(noted)
                .map_err(|e| mapping::sdk_error("DescribeTags", e))?
                .tag_list()
                .iter()
                .map(mapping::tag)
                .collect();
            let connection = connection
                .map(noted)
                .map_err(|e| mapping::sdk_error("DescribeWorkspacesConnectionStatus", e))?
                .workspaces_connection_status()
                .first()
                .map(mapping::connection);
            Ok(WorkspaceDetail {
                workspace,
                tags,
                connection,
            })
        })
        .await
    }

    pub async fn refresh(&self, ids: Vec<String>) -> AppResult<Vec<WorkspaceSummary>> {
        let event = Event::read(
            "DescribeWorkspaces",
            "workspaces/refresh",
            json!({ "workspaceIds": ids }),
        )
        .touching(&ids);
        self.call(event, async {
            let ids = checked_ids(&ids)?;
            let catalog = self.catalog().await?;
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(25) {
                let page = self
                    .client
                    .describe_workspaces()
                    .set_workspace_ids(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map(noted)
                    .map_err(|e| mapping::sdk_error("DescribeWorkspaces", e))?;
                out.extend(page.workspaces().iter().map(|w| mapping::workspace(w, &catalog)));
            }
            Ok(out)
        })
        .await
    }

    pub async fn bundles(&self, owner: BundleOwner) -> AppResult<Vec<BundleInfo>> {
        let owner = matches!(owner, BundleOwner::Amazon).then_some("AMAZON");
        let event = Event::read("DescribeWorkspaceBundles", "bundles/list", json!({ "owner": owner }));
        self.call(event, async {
            let mut bundles = self.fetch_bundles(owner).await?;
            bundles.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(bundles)
        })
        .await
    }

    pub async fn directories(self: &Arc<Self>) -> AppResult<Vec<DirectoryInfo>> {
        self.call(
            Event::read("DescribeWorkspaceDirectories", "directories/list", json!({})),
            async {
                let mut directories = self.fetch_directories().await?;
                let fleet = self.fleet().await?;
                for d in &mut directories {
                    d.workspace_count = fleet.iter().filter(|w| w.directory_id == d.id).count();
                }
                directories.sort_by(|a, b| a.alias.cmp(&b.alias));
                Ok(directories)
            },
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Changing the fleet

    pub async fn batch(
        &self,
        action: BatchAction,
        ids: Vec<String>,
        confirm: Option<String>,
    ) -> AppResult<BatchOutcome> {
        let requests: Vec<Value> = ids.iter().map(|id| json!({ "workspaceId": id })).collect();
        let event = Event::write(
            action.api_name(),
            "workspaces/batch",
            action.needed_role(),
            json!({ batch_parameter(action): requests }),
        )
        .touching(&ids);
        self.call(event, async {
            let ids = checked_ids(&ids)?;
            if let Some(word) = action.confirmation_word() {
                if confirm.as_deref().map(str::trim) != Some(word) {
                    return Err(AppError::validation(
                        "confirm",
                        format!("type '{word}' to confirm: {}", action.warning().unwrap_or_default()),
                    ));
                }
            }
            let mut items = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(action.api_batch_size()) {
                let failed = self.send_batch(action, chunk).await;
                for id in chunk {
                    let failure = match &failed {
                        Ok(failed) => failed.get(id).cloned(),
                        // The whole call failed: every WorkSpace of this batch shares the error.
                        Err(AppError::Upstream { code, message }) => Some((code.clone(), message.clone())),
                        Err(other) => Some(("Error".to_string(), other.to_string())),
                    };
                    items.push(ItemOutcome {
                        workspace_id: id.clone(),
                        error_code: failure.as_ref().map(|f| f.0.clone()),
                        error_message: failure.map(|f| f.1),
                    });
                }
            }
            self.invalidate().await;
            Ok(BatchOutcome { action, items })
        })
        .await
    }

    /// One API call; returns the per-item failures by WorkSpace ID.
    async fn send_batch(&self, action: BatchAction, ids: &[String]) -> AppResult<HashMap<String, (String, String)>> {
        let c = &self.client;
        let ids = ids.iter().map(String::as_str);
        let failed = match action {
            BatchAction::Start => c
                .start_workspaces()
                .set_start_workspace_requests(Some(
                    ids.map(|id| sdk::StartRequest::builder().workspace_id(id).build())
                        .collect(),
                ))
                .send()
                .await
                .map(|o| noted(o).failed_requests().to_vec())
                .map_err(|e| mapping::sdk_error(action.api_name(), e)),
            BatchAction::Stop => c
                .stop_workspaces()
                .set_stop_workspace_requests(Some(
                    ids.map(|id| sdk::StopRequest::builder().workspace_id(id).build())
                        .collect(),
                ))
                .send()
                .await
                .map(|o| noted(o).failed_requests().to_vec())
                .map_err(|e| mapping::sdk_error(action.api_name(), e)),
            BatchAction::Reboot => c
                .reboot_workspaces()
                .set_reboot_workspace_requests(Some(
                    ids.map(|id| sdk::RebootRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| noted(o).failed_requests().to_vec())
                .map_err(|e| mapping::sdk_error(action.api_name(), e)),
            BatchAction::Rebuild => c
                .rebuild_workspaces()
                .set_rebuild_workspace_requests(Some(
                    ids.map(|id| sdk::RebuildRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| noted(o).failed_requests().to_vec())
                .map_err(|e| mapping::sdk_error(action.api_name(), e)),
            BatchAction::Terminate => c
                .terminate_workspaces()
                .set_terminate_workspace_requests(Some(
                    ids.map(|id| sdk::TerminateRequest::builder().workspace_id(id).build())
                        .collect::<Result<_, _>>()
                        .map_err(build_error)?,
                ))
                .send()
                .await
                .map(|o| noted(o).failed_requests().to_vec())
                .map_err(|e| mapping::sdk_error(action.api_name(), e)),
        }?;
        Ok(failed
            .iter()
            .map(|f| {
                (
                    f.workspace_id().unwrap_or_default().to_string(),
                    (
                        f.error_code().unwrap_or("Failed").to_string(),
                        f.error_message().unwrap_or_default().to_string(),
                    ),
                )
            })
            .collect())
    }

    pub async fn create(&self, form: CreateForm) -> AppResult<CreateOutcome> {
        let event = Event::write(
            "CreateWorkspaces",
            "workspaces/create",
            Role::Operator,
            create_parameters(&form),
        )
        .touching([form.directory_id.trim(), form.bundle_id.trim()]);
        self.call(event, async {
            validate::directory_id("directory_id", form.directory_id.trim())?;
            validate::bundle_id("bundle_id", form.bundle_id.trim())?;
            let users = validate::parse_user_lines("users", &form.users)?;
            let mode = if form.running_mode.is_empty() {
                "ALWAYS_ON"
            } else {
                form.running_mode.as_str()
            };
            validate::running_mode("running_mode", mode)?;
            // AUTO_STOP defaults to one hour, as in the console.
            let minutes = auto_stop_minutes(mode, &form.auto_stop_minutes)?.or((mode == "AUTO_STOP").then_some(60));
            let tags = validate::parse_tag_lines("tags", &form.tags)?;
            let root = form.root_volume_encrypted.is_some();
            let user = form.user_volume_encrypted.is_some();
            let key = form.volume_encryption_key.trim();
            if (root || user) && key.is_empty() {
                return Err(AppError::validation(
                    "volume_encryption_key",
                    "volume encryption needs a KMS key (ARN or alias)",
                ));
            }
            let properties = sdk::WorkspaceProperties::builder()
                .running_mode(sdk::RunningMode::from(mode))
                .set_running_mode_auto_stop_timeout_in_minutes(minutes)
                .build();
            let sdk_tags: Vec<sdk::Tag> = tags
                .iter()
                .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
                .collect::<Result<_, _>>()
                .map_err(build_error)?;

            let mut items = Vec::with_capacity(users.len());
            for chunk in users.chunks(25) {
                let requests = chunk
                    .iter()
                    .map(|u| {
                        sdk::WorkspaceRequest::builder()
                            .directory_id(form.directory_id.trim())
                            .bundle_id(form.bundle_id.trim())
                            .user_name(u)
                            .root_volume_encryption_enabled(root)
                            .user_volume_encryption_enabled(user)
                            .set_volume_encryption_key((!key.is_empty()).then(|| key.to_string()))
                            .workspace_properties(properties.clone())
                            .set_tags((!sdk_tags.is_empty()).then(|| sdk_tags.clone()))
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(build_error)?;
                match self
                    .client
                    .create_workspaces()
                    .set_workspaces(Some(requests))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let out = noted(out);
                        let mut by_user: HashMap<String, CreateOutcomeItem> = HashMap::new();
                        for p in out.pending_requests() {
                            let name = p.user_name().unwrap_or_default().to_string();
                            by_user.insert(
                                name.to_lowercase(),
                                CreateOutcomeItem {
                                    user_name: name,
                                    workspace_id: p.workspace_id().map(str::to_owned),
                                    error_code: None,
                                    error_message: None,
                                },
                            );
                        }
                        for f in out.failed_requests() {
                            let name = f
                                .workspace_request()
                                .map(|r| r.user_name().to_string())
                                .unwrap_or_default();
                            by_user.entry(name.to_lowercase()).or_insert(CreateOutcomeItem {
                                user_name: name,
                                workspace_id: None,
                                error_code: f.error_code().map(str::to_owned),
                                error_message: f.error_message().map(str::to_owned),
                            });
                        }
                        for u in chunk {
                            items.push(by_user.remove(&u.to_lowercase()).unwrap_or(CreateOutcomeItem {
                                user_name: u.clone(),
                                workspace_id: None,
                                error_code: Some("NoAnswer".into()),
                                error_message: Some("WorkSpaces did not report on this request.".into()),
                            }));
                        }
                    }
                    Err(e) => {
                        let (code, message) = match mapping::sdk_error("CreateWorkspaces", e) {
                            AppError::Upstream { code, message } => (code, message),
                            other => ("Error".to_string(), other.to_string()),
                        };
                        items.extend(chunk.iter().map(|u| CreateOutcomeItem {
                            user_name: u.clone(),
                            workspace_id: None,
                            error_code: Some(code.clone()),
                            error_message: Some(message.clone()),
                        }));
                    }
                }
            }
            self.invalidate().await;
            Ok(CreateOutcome { items })
        })
        .await
    }

    pub async fn modify(&self, id: &str, running_mode: &str, auto_stop_minutes: &str) -> AppResult<()> {
        let event = Event::write(
            "ModifyWorkspaceProperties",
            "workspaces/modify",
            Role::Operator,
            json!({
                "workspaceId": id,
                "workspaceProperties": {
                    "runningMode": running_mode,
                    "runningModeAutoStopTimeoutInMinutes": auto_stop_minutes,
                },
            }),
        )
        .touching([id]);
        self.call(event, async {
            validate::workspace_id("id", id)?;
            validate::running_mode("running_mode", running_mode)?;
            let minutes = self::auto_stop_minutes(running_mode, auto_stop_minutes)?;
            let properties = sdk::WorkspaceProperties::builder()
                .running_mode(sdk::RunningMode::from(running_mode))
                .set_running_mode_auto_stop_timeout_in_minutes(minutes)
                .build();
            self.client
                .modify_workspace_properties()
                .workspace_id(id)
                .workspace_properties(properties)
                .send()
                .await
                .map(noted)
                .map_err(|e| mapping::sdk_error("ModifyWorkspaceProperties", e))?;
            self.invalidate().await;
            Ok(())
        })
        .await
    }

    pub async fn set_tag(&self, id: &str, key: &str, value: &str) -> AppResult<()> {
        let event = Event::write(
            "CreateTags",
            "workspaces/tags/set",
            Role::Operator,
            json!({ "resourceId": id, "tags": [{ "key": key, "value": value }] }),
        )
        .touching([id]);
        self.call(event, async {
            validate::workspace_id("id", id)?;
            let (key, value) = (key.trim(), value.trim());
            validate::tag("tag", key, value)?;
            let tag = sdk::Tag::builder().key(key).value(value).build().map_err(build_error)?;
            self.client
                .create_tags()
                .resource_id(id)
                .tags(tag)
                .send()
                .await
                .map(noted)
                .map_err(|e| mapping::sdk_error("CreateTags", e))?;
            self.tags.lock().await.remove(id);
            Ok(())
        })
        .await
    }

    pub async fn delete_tag(&self, id: &str, key: &str) -> AppResult<()> {
        let event = Event::write(
            "DeleteTags",
            "workspaces/tags/delete",
            Role::Operator,
            json!({ "resourceId": id, "tagKeys": [key] }),
        )
        .touching([id]);
        self.call(event, async {
            validate::workspace_id("id", id)?;
            if key.is_empty() {
                return Err(AppError::validation("key", "is required"));
            }
            self.client
                .delete_tags()
                .resource_id(id)
                .tag_keys(key)
                .send()
                .await
                .map(noted)
                .map_err(|e| mapping::sdk_error("DeleteTags", e))?;
            self.tags.lock().await.remove(id);
            Ok(())
        })
        .await
    }
}

tokio::task_local! {
    /// The AWS request IDs of the calls made for the request being served.
    static TRAIL: RefCell<Vec<String>>;
}

/// Notes the AWS request ID of a call, for the audit record of the request being served.
pub(crate) fn note_request_id(id: Option<&str>) {
    if let Some(id) = id {
        let _ = TRAIL.try_with(|t| t.borrow_mut().push(id.to_string()));
    }
}

fn noted<O: aws_sdk_workspaces::operation::RequestId>(output: O) -> O {
    note_request_id(output.request_id());
    output
}

/// What a request is: the role it needs, and what its audit record says.
pub struct Event {
    /// The least role allowed to make the request; `None`: anyone, signed in or not.
    needs: Option<Role>,
    /// `workspaces.amazonaws.com`, or the portal's own events.
    source: &'static str,
    /// CloudTrail's `eventType`.
    event_type: &'static str,
    /// The WorkSpaces action (CloudTrail's `eventName`).
    name: &'static str,
    /// The portal's server function.
    action: &'static str,
    read_only: bool,
    /// The request's parameters, as sent.
    params: Value,
    /// The resource IDs it names.
    resources: Vec<String>,
}

impl Event {
    /// Reading WorkSpaces: any signed-in user (viewer and up).
    fn read(name: &'static str, action: &'static str, params: Value) -> Self {
        Event {
            needs: Some(Role::Viewer),
            source: record::WORKSPACES_SOURCE,
            event_type: "AwsApiCall",
            name,
            action,
            read_only: true,
            params,
            resources: Vec::new(),
        }
    }

    /// Changing WorkSpaces: the role must be stated.
    fn write(name: &'static str, action: &'static str, needs: Role, params: Value) -> Self {
        Event {
            read_only: false,
            needs: Some(needs),
            ..Event::read(name, action, params)
        }
    }

    /// A portal event that changes something (users, sessions).
    fn portal(name: &'static str, action: &'static str, needs: Option<Role>, params: Value) -> Self {
        Event {
            read_only: false,
            needs,
            source: record::PORTAL_SOURCE,
            event_type: "PortalAction",
            ..Event::read(name, action, params)
        }
    }

    /// Reading the portal's own data: the audit log (viewer), users (admin).
    fn portal_read(name: &'static str, action: &'static str, params: Value) -> Self {
        let needs = if action.starts_with("users/") {
            Role::Admin
        } else {
            Role::Viewer
        };
        Event {
            needs: Some(needs),
            source: record::PORTAL_SOURCE,
            event_type: "PortalAction",
            ..Event::read(name, action, params)
        }
    }

    fn touching<S: AsRef<str>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        for id in ids {
            let id = id.as_ref().trim();
            if !id.is_empty() && id.len() <= 64 && !self.resources.iter().any(|r| r == id) {
                self.resources.push(id.to_string());
            }
        }
        self
    }
}

/// What a request's answer adds to its audit record.
trait Audited {
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
impl Audited for FleetPage {}
impl Audited for FleetOverview {}
impl Audited for WorkspaceDetail {}
impl Audited for Vec<WorkspaceSummary> {}
impl Audited for Vec<BundleInfo> {}
impl Audited for Vec<DirectoryInfo> {}

impl Audited for BatchOutcome {
    fn response_elements(&self) -> Value {
        let failed: Vec<Value> = self
            .items
            .iter()
            .filter(|i| !i.ok())
            .map(|i| json!({ "workspaceId": i.workspace_id, "errorCode": i.error_code, "errorMessage": i.error_message }))
            .collect();
        let succeeded: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.ok())
            .map(|i| i.workspace_id.as_str())
            .collect();
        json!({ "failedRequests": failed, "succeededWorkspaceIds": succeeded })
    }

    fn failed_items(&self) -> usize {
        self.items.iter().filter(|i| !i.ok()).count()
    }
}

impl Audited for CreateOutcome {
    fn response_elements(&self) -> Value {
        let pending: Vec<Value> = self
            .items
            .iter()
            .filter(|i| i.workspace_id.is_some())
            .map(|i| json!({ "userName": i.user_name, "workspaceId": i.workspace_id, "state": "PENDING" }))
            .collect();
        let failed: Vec<Value> = self
            .items
            .iter()
            .filter(|i| i.workspace_id.is_none())
            .map(|i| json!({ "userName": i.user_name, "errorCode": i.error_code, "errorMessage": i.error_message }))
            .collect();
        json!({ "pendingRequests": pending, "failedRequests": failed })
    }

    fn failed_items(&self) -> usize {
        self.items.iter().filter(|i| i.workspace_id.is_none()).count()
    }

    fn resource_ids(&self) -> Vec<String> {
        self.items.iter().filter_map(|i| i.workspace_id.clone()).collect()
    }
}

/// The error code and message an audit record keeps for a failed request.
pub fn audit_error(e: &AppError) -> (String, String) {
    let code = match e {
        AppError::Upstream { code, .. } => code.as_str(),
        AppError::Validation { .. } => "ValidationError",
        AppError::Unauthorized | AppError::Forbidden { .. } => "AccessDenied",
        AppError::SignInFailed => "FailedAuthentication",
        AppError::TooManyRequests { .. } => "Throttled",
        AppError::NotFound { .. } => "NotFound",
        AppError::Conflict { .. } => "Conflict",
        AppError::Unavailable { .. } => "ServiceUnavailable",
        AppError::Internal { .. } => "InternalError",
        AppError::Transport { .. } => "TransportError",
    };
    let message = match e {
        AppError::Upstream { message, .. } => message.clone(),
        other => other.to_string(),
    };
    (code.to_string(), message)
}

/// Runs `future` and notes when it finished.
async fn finished_at<F: Future>(future: F) -> (F::Output, Instant) {
    let output = future.await;
    (output, Instant::now())
}

fn audit_unavailable() -> AppError {
    AppError::Unavailable {
        message: "the audit log cannot store records right now, so the portal refused this request \
                  (a change was not sent to WorkSpaces). Try again; if it keeps failing, tell an \
                  administrator (the server log has the cause)."
            .into(),
    }
}

/// The request list's name in the batch action's API call, as CloudTrail records it.
fn batch_parameter(action: BatchAction) -> &'static str {
    match action {
        BatchAction::Start => "startWorkspaceRequests",
        BatchAction::Stop => "stopWorkspaceRequests",
        BatchAction::Reboot => "rebootWorkspaceRequests",
        BatchAction::Rebuild => "rebuildWorkspaceRequests",
        BatchAction::Terminate => "terminateWorkspaceRequests",
    }
}

/// CreateWorkspaces' parameters as the form sent them, one request per user line.
fn create_parameters(form: &CreateForm) -> Value {
    let users: Vec<&str> = form.users.lines().map(str::trim).filter(|u| !u.is_empty()).collect();
    let tags: Vec<Value> = form
        .tags
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => json!({ "key": k.trim(), "value": v.trim() }),
            None => json!({ "key": l.trim() }),
        })
        .collect();
    let workspaces: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "directoryId": form.directory_id.trim(),
                "bundleId": form.bundle_id.trim(),
                "userName": u,
                "rootVolumeEncryptionEnabled": form.root_volume_encrypted.is_some(),
                "userVolumeEncryptionEnabled": form.user_volume_encrypted.is_some(),
                "volumeEncryptionKey": form.volume_encryption_key.trim(),
                "workspaceProperties": {
                    "runningMode": form.running_mode,
                    "runningModeAutoStopTimeoutInMinutes": form.auto_stop_minutes,
                },
                "tags": tags,
            })
        })
        .collect();
    json!({ "workspaces": workspaces })
}

/// The AutoStop timeout typed in a form: none for ALWAYS_ON or an empty field.
fn auto_stop_minutes(running_mode: &str, text: &str) -> AppResult<Option<i32>> {
    let text = text.trim();
    if running_mode != "AUTO_STOP" || text.is_empty() {
        return Ok(None);
    }
    let minutes: i32 = text
        .parse()
        .map_err(|_| AppError::validation("auto_stop_minutes", format!("'{text}' is not a number of minutes")))?;
    validate::auto_stop_minutes("auto_stop_minutes", minutes)?;
    Ok(Some(minutes))
}

/// Validates IDs (naming the bad one by position) and drops duplicates, keeping order.
fn checked_ids(ids: &[String]) -> AppResult<Vec<String>> {
    if ids.is_empty() {
        return Err(AppError::validation("ids", "select at least one WorkSpace"));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = id.trim();
        validate::workspace_id(&format!("ids[{i}]"), id)?;
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

fn build_error(e: aws_sdk_workspaces::error::BuildError) -> AppError {
    let reference = super::reference();
    tracing::error!(%reference, error = %e, "could not build a WorkSpaces request");
    AppError::Internal { reference }
}

fn sort_rows(rows: &mut [WorkspaceSummary], column: &str, desc: bool) {
    let key = |w: &WorkspaceSummary| -> String {
        match column {
            "user" => w.user_name.to_lowercase(),
            "state" => w.state.clone(),
            "directory" => w.directory_alias.clone().unwrap_or_else(|| w.directory_id.clone()),
            "bundle" => w.bundle_name.clone().unwrap_or_else(|| w.bundle_id.clone()),
            "mode" => w.running_mode.clone(),
            "ip" => w.ip_address.as_deref().map(ip_sort_key).unwrap_or_default(),
            "computer" => w.computer_name.clone().unwrap_or_default(),
            _ => w.id.clone(),
        }
    };
    rows.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id)));
    if desc {
        rows.reverse();
    }
}

/// Sorts 10.0.2.5 before 10.0.10.1.
fn ip_sort_key(ip: &str) -> String {
    ip.split('.')
        .map(|part| format!("{:0>3}", part))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_by_position_and_deduplicated() {
        let ids = vec!["ws-abcdefgh1".to_string(), "ws-abcdefgh1".into(), "ws-abcdefgh2".into()];
        assert_eq!(checked_ids(&ids).unwrap(), vec!["ws-abcdefgh1", "ws-abcdefgh2"]);
        let err = checked_ids(&["ws-abcdefgh1".into(), "nope".into()]).unwrap_err();
        assert_eq!(err.field(), Some("ids[1]"));
        assert_eq!(checked_ids(&[]).unwrap_err().field(), Some("ids"));
    }

    #[test]
    fn ip_addresses_sort_numerically() {
        assert!(ip_sort_key("10.0.2.5") < ip_sort_key("10.0.10.1"));
    }
}
