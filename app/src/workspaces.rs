//! WorkSpaces: the wire types the UI shows and the server functions that act on the fleet.
//!
//! Server functions are thin: they reach the service layer (`crate::ssr::Portal`), which
//! validates, calls AWS through the SDK and maps the answer. Authorization and audit plug in
//! there, in one place, for every function.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// States a WorkSpace passes through on its own; the UI refreshes while one is shown.
pub const TRANSITIONAL_STATES: &[&str] = &[
    "PENDING",
    "STARTING",
    "STOPPING",
    "REBOOTING",
    "REBUILDING",
    "TERMINATING",
];

pub const ALL_STATES: &[&str] = &[
    "PENDING",
    "AVAILABLE",
    "IMPAIRED",
    "UNHEALTHY",
    "REBOOTING",
    "STARTING",
    "REBUILDING",
    "MAINTENANCE",
    "TERMINATING",
    "TERMINATED",
    "SUSPENDED",
    "STOPPING",
    "STOPPED",
    "ERROR",
];

pub const ATTENTION_STATES: &[&str] = &["ERROR", "IMPAIRED", "UNHEALTHY"];

pub fn is_transitional(state: &str) -> bool {
    TRANSITIONAL_STATES.contains(&state)
}

/// One row of the fleet: a WorkSpace with its bundle and directory names joined in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSummary {
    pub id: String,
    pub user_name: String,
    pub state: String,
    pub directory_id: String,
    pub directory_alias: Option<String>,
    pub bundle_id: String,
    pub bundle_name: Option<String>,
    pub compute_type: Option<String>,
    pub running_mode: String,
    pub auto_stop_minutes: Option<i32>,
    pub ip_address: Option<String>,
    pub computer_name: Option<String>,
    pub subnet_id: Option<String>,
    pub root_volume_encrypted: bool,
    pub user_volume_encrypted: bool,
    pub volume_encryption_key: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub state: String,
    /// RFC 3339, UTC.
    pub checked_at: Option<String>,
    pub last_user_connection: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDetail {
    pub workspace: WorkspaceSummary,
    pub tags: Vec<Tag>,
    pub connection: Option<ConnectionStatus>,
}

/// The fleet view's filters, sort and page; every field lives in the URL's query string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetQuery {
    pub state: String,
    pub directory: String,
    pub bundle: String,
    pub mode: String,
    /// Case-insensitive substring of the user name.
    pub user: String,
    pub tag_key: String,
    pub tag_value: String,
    /// id, user, state, directory, bundle, mode, ip, computer
    pub sort: String,
    pub desc: bool,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

pub const DEFAULT_PER_PAGE: usize = 50;
pub const PER_PAGE_CHOICES: &[usize] = &[25, 50, 100, 200];
pub const SORT_COLUMNS: &[&str] = &["id", "user", "state", "directory", "bundle", "mode", "ip", "computer"];

impl FleetQuery {
    /// Reads a query from URL parameters; unknown or malformed values fall back to defaults.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = FleetQuery::default();
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "state" => q.state = v.to_string(),
                "directory" => q.directory = v.to_string(),
                "bundle" => q.bundle = v.to_string(),
                "mode" => q.mode = v.to_string(),
                "user" => q.user = v.to_string(),
                "tag_key" => q.tag_key = v.to_string(),
                "tag_value" => q.tag_value = v.to_string(),
                "sort" if SORT_COLUMNS.contains(&v) => q.sort = v.to_string(),
                "desc" => q.desc = v == "true" || v == "1",
                "page" => q.page = v.parse().unwrap_or(1),
                "per_page" => q.per_page = v.parse().unwrap_or(DEFAULT_PER_PAGE),
                _ => {}
            }
        }
        q.normalized()
    }

    pub fn normalized(mut self) -> Self {
        self.page = self.page.max(1);
        if !PER_PAGE_CHOICES.contains(&self.per_page) {
            self.per_page = DEFAULT_PER_PAGE;
        }
        self
    }

    /// The query string (without `?`) that reproduces this view; defaults are left out.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |k: &str, v: &str| {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        };
        push("state", &self.state);
        push("directory", &self.directory);
        push("bundle", &self.bundle);
        push("mode", &self.mode);
        push("user", &self.user);
        push("tag_key", &self.tag_key);
        push("tag_value", &self.tag_value);
        push("sort", &self.sort);
        if self.desc {
            push("desc", "true");
        }
        if self.page > 1 {
            push("page", &self.page.to_string());
        }
        if self.per_page != DEFAULT_PER_PAGE && self.per_page != 0 {
            push("per_page", &self.per_page.to_string());
        }
        parts.join("&")
    }

    pub fn href(&self) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            "/workspaces".to_string()
        } else {
            format!("/workspaces?{qs}")
        }
    }
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a URL query value (`%XX` and `+`); invalid sequences are kept as they are.
pub fn urldecode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetPage {
    pub items: Vec<WorkspaceSummary>,
    /// WorkSpaces matching the filters, over the whole fleet.
    pub total: usize,
    /// WorkSpaces in the fleet, unfiltered.
    pub fleet_size: usize,
    pub page: usize,
    pub per_page: usize,
    pub pages: usize,
    /// Choices for the directory and bundle filters.
    pub directories: Vec<Choice>,
    pub bundles: Vec<Choice>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The five actions that change WorkSpaces in batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchAction {
    Start,
    Stop,
    Reboot,
    Rebuild,
    Terminate,
}

impl BatchAction {
    pub const ALL: [BatchAction; 5] = [
        BatchAction::Start,
        BatchAction::Stop,
        BatchAction::Reboot,
        BatchAction::Rebuild,
        BatchAction::Terminate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BatchAction::Start => "Start",
            BatchAction::Stop => "Stop",
            BatchAction::Reboot => "Reboot",
            BatchAction::Rebuild => "Rebuild",
            BatchAction::Terminate => "Terminate",
        }
    }

    /// The AWS action name, as audit records and logs name it.
    pub fn api_name(self) -> &'static str {
        match self {
            BatchAction::Start => "StartWorkspaces",
            BatchAction::Stop => "StopWorkspaces",
            BatchAction::Reboot => "RebootWorkspaces",
            BatchAction::Rebuild => "RebuildWorkspaces",
            BatchAction::Terminate => "TerminateWorkspaces",
        }
    }

    /// Destructive actions need the user to type this word to confirm.
    /// The actions the signed-in user's role allows (none when signed out).
    pub fn allowed_for(me: Option<&crate::auth::Me>) -> Vec<BatchAction> {
        BatchAction::ALL
            .iter()
            .copied()
            .filter(|a| me.is_some_and(|me| me.role.allows(a.needed_role())))
            .collect()
    }

    /// The least role that may do this. Until approvals exist, terminate and rebuild are
    /// admin-only.
    pub fn needed_role(self) -> crate::auth::Role {
        match self {
            BatchAction::Rebuild | BatchAction::Terminate => crate::auth::Role::Admin,
            _ => crate::auth::Role::Operator,
        }
    }

    pub fn confirmation_word(self) -> Option<&'static str> {
        match self {
            BatchAction::Rebuild => Some("rebuild"),
            BatchAction::Terminate => Some("terminate"),
            _ => None,
        }
    }

    /// What is lost, in the API reference's words.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            BatchAction::Rebuild => Some(
                "Rebuilding restores the system to the image of the bundle the WorkSpace was created from: \
                 applications installed and system settings made since it was created are lost. The data drive (D:) \
                 is re-created from the last automatic snapshot, which can be up to 12 hours old; its current contents \
                 are overwritten.",
            ),
            BatchAction::Terminate => Some(
                "Terminating is permanent and cannot be undone. The user's data is not kept and will be destroyed.",
            ),
            _ => None,
        }
    }

    /// Whether the API reference allows this action on a WorkSpace, and if not, why.
    pub fn check(self, state: &str, running_mode: &str) -> Result<(), String> {
        let allowed: &[&str] = match self {
            BatchAction::Start => &["STOPPED"],
            BatchAction::Stop => &["AVAILABLE", "IMPAIRED", "UNHEALTHY", "ERROR"],
            BatchAction::Reboot => &["AVAILABLE", "IMPAIRED", "UNHEALTHY"],
            BatchAction::Rebuild => &["AVAILABLE", "ERROR"],
            BatchAction::Terminate => {
                return match state {
                    "SUSPENDED" => Err("a SUSPENDED WorkSpace cannot be terminated".into()),
                    "TERMINATING" | "TERMINATED" => Err(format!("it is already {state}")),
                    _ => Ok(()),
                };
            }
        };
        if matches!(self, BatchAction::Start | BatchAction::Stop) && running_mode != "AUTO_STOP" {
            let verb = if self == BatchAction::Start {
                "started"
            } else {
                "stopped"
            };
            return Err(format!(
                "only AutoStop WorkSpaces can be {verb}; this one is {running_mode}"
            ));
        }
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(format!(
                "it is {state}; {} needs {}",
                self.label().to_lowercase(),
                allowed.join(" or ")
            ))
        }
    }

    /// How many WorkSpaces one API call takes.
    pub fn api_batch_size(self) -> usize {
        match self {
            BatchAction::Rebuild => 1,
            _ => 25,
        }
    }
}

/// The outcome for one WorkSpace of a batch action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub workspace_id: String,
    /// None: accepted. Some: the per-item error code (or the whole call's, if that failed).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl ItemOutcome {
    pub fn ok(&self) -> bool {
        self.error_code.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchOutcome {
    pub action: BatchAction,
    pub items: Vec<ItemOutcome>,
}

impl BatchOutcome {
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.ok()).count()
    }
}

/// The create form, as the browser posts it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateForm {
    pub directory_id: String,
    pub bundle_id: String,
    /// One user name per line.
    pub users: String,
    pub running_mode: String,
    pub auto_stop_minutes: String,
    pub root_volume_encrypted: Option<String>,
    pub user_volume_encrypted: Option<String>,
    pub volume_encryption_key: String,
    /// `key=value` per line.
    pub tags: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateOutcomeItem {
    pub user_name: String,
    pub workspace_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateOutcome {
    pub items: Vec<CreateOutcomeItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub count: usize,
}

/// The fleet at a glance, for the home page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetOverview {
    pub total: usize,
    pub by_state: Vec<Count>,
    pub by_directory: Vec<Count>,
    pub by_running_mode: Vec<Count>,
    pub attention: Vec<WorkspaceSummary>,
}

// ---------------------------------------------------------------------------------------------
// Server functions

#[server(endpoint = "workspaces/list")]
pub async fn list_workspaces(#[server(default)] query: FleetQuery) -> Result<FleetPage, AppError> {
    crate::ssr::portal()?.list(query).await
}

#[server(endpoint = "workspaces/summary")]
pub async fn fleet_summary() -> Result<FleetOverview, AppError> {
    crate::ssr::portal()?.summary().await
}

#[server(endpoint = "workspaces/get")]
pub async fn get_workspace(id: String) -> Result<WorkspaceDetail, AppError> {
    crate::ssr::portal()?.detail(&id).await
}

/// The current rows of these WorkSpaces, for live refresh (missing ones are left out).
#[server(endpoint = "workspaces/refresh", input = server_fn::codec::Json)]
pub async fn refresh_workspaces(ids: Vec<String>) -> Result<Vec<WorkspaceSummary>, AppError> {
    crate::ssr::portal()?.refresh(ids).await
}

/// Runs a batch action on any number of WorkSpaces, in API-sized batches.
/// Rebuild and terminate need `confirm` to be the action's confirmation word.
#[server(endpoint = "workspaces/batch", input = server_fn::codec::Json)]
pub async fn run_batch(
    action: BatchAction,
    ids: Vec<String>,
    confirm: Option<String>,
) -> Result<BatchOutcome, AppError> {
    crate::ssr::portal()?.batch(action, ids, confirm).await
}

#[server(endpoint = "workspaces/create")]
pub async fn create_workspaces(form: CreateForm) -> Result<CreateOutcome, AppError> {
    crate::ssr::portal()?.create(form).await
}

#[server(endpoint = "workspaces/modify")]
pub async fn modify_workspace(id: String, running_mode: String, auto_stop_minutes: String) -> Result<(), AppError> {
    crate::ssr::portal()?
        .modify(&id, &running_mode, &auto_stop_minutes)
        .await
}

#[server(endpoint = "workspaces/tags/set")]
pub async fn set_tag(id: String, key: String, value: String) -> Result<(), AppError> {
    crate::ssr::portal()?.set_tag(&id, &key, &value).await
}

#[server(endpoint = "workspaces/tags/delete")]
pub async fn delete_tag(id: String, key: String) -> Result<(), AppError> {
    crate::ssr::portal()?.delete_tag(&id, &key).await
}

crate::components::text_form! {
    ModifyWorkspace { id, running_mode, auto_stop_minutes };
    SetTag { id, key, value };
    DeleteTag { id, key };
}

impl crate::components::FromForm for CreateWorkspaces {
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
        use crate::components::FromForm;
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

    #[test]
    fn a_query_survives_the_url() {
        let q = FleetQuery {
            state: "STOPPED".into(),
            user: "a b&c".into(),
            sort: "user".into(),
            desc: true,
            page: 3,
            per_page: 100,
            ..Default::default()
        };
        let qs = q.to_query_string();
        assert_eq!(
            qs,
            "state=STOPPED&user=a%20b%26c&sort=user&desc=true&page=3&per_page=100"
        );
        let pairs: Vec<(String, String)> = qs
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.replace("%20", " ").replace("%26", "&")))
            .collect();
        let back = FleetQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, q);
    }

    #[test]
    fn bad_url_values_fall_back_to_defaults() {
        let q = FleetQuery::from_pairs([("page", "-4"), ("per_page", "7"), ("sort", "password")]);
        assert_eq!((q.page, q.per_page, q.sort.as_str()), (1, DEFAULT_PER_PAGE, ""));
        assert_eq!(FleetQuery::default().normalized().href(), "/workspaces");
    }

    #[test]
    fn action_checks_follow_the_reference() {
        assert!(BatchAction::Start.check("STOPPED", "AUTO_STOP").is_ok());
        assert!(BatchAction::Start
            .check("STOPPED", "ALWAYS_ON")
            .unwrap_err()
            .contains("AutoStop"));
        assert!(BatchAction::Stop.check("ERROR", "AUTO_STOP").is_ok());
        assert!(BatchAction::Reboot
            .check("STOPPED", "ALWAYS_ON")
            .unwrap_err()
            .contains("STOPPED"));
        assert!(BatchAction::Rebuild.check("ERROR", "ALWAYS_ON").is_ok());
        assert!(BatchAction::Terminate.check("SUSPENDED", "ALWAYS_ON").is_err());
        assert!(BatchAction::Terminate.check("IMPAIRED", "ALWAYS_ON").is_ok());
        assert_eq!(
            BatchAction::Stop.check("AVAILABLE", "ALWAYS_ON").unwrap_err(),
            "only AutoStop WorkSpaces can be stopped; this one is ALWAYS_ON"
        );
    }
}
