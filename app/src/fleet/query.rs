//! The fleet view's search: filters, sort and page, every field in the URL's query string.

use serde::{Deserialize, Serialize};

use super::{RunningMode, WorkspaceState, WorkspaceSummary};
use crate::url::{url_query, QueryValue};

pub const DEFAULT_PER_PAGE: usize = 50;
pub const PER_PAGE_CHOICES: &[usize] = &[25, 50, 100, 200];

/// The columns the fleet can be sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortColumn {
    #[default]
    Id,
    User,
    State,
    Directory,
    Bundle,
    Mode,
    Ip,
    Computer,
    LastLogin,
}

impl SortColumn {
    pub const ALL: [SortColumn; 9] = [
        SortColumn::Id,
        SortColumn::User,
        SortColumn::State,
        SortColumn::Directory,
        SortColumn::Bundle,
        SortColumn::Mode,
        SortColumn::Ip,
        SortColumn::Computer,
        SortColumn::LastLogin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::User => "user",
            SortColumn::State => "state",
            SortColumn::Directory => "directory",
            SortColumn::Bundle => "bundle",
            SortColumn::Mode => "mode",
            SortColumn::Ip => "ip",
            SortColumn::Computer => "computer",
            SortColumn::LastLogin => "last_login",
        }
    }

    /// What a row is sorted by in this column (ties are broken by ID).
    pub fn key(self, w: &WorkspaceSummary) -> String {
        match self {
            SortColumn::Id => w.id.as_str().to_owned(),
            SortColumn::User => w.user_name.to_lowercase(),
            SortColumn::State => w.state.as_str().to_string(),
            SortColumn::Directory => w
                .directory_alias
                .clone()
                .unwrap_or_else(|| w.directory_id.as_str().to_owned()),
            SortColumn::Bundle => w.bundle_name.clone().unwrap_or_else(|| w.bundle_id.as_str().to_owned()),
            SortColumn::Mode => w.running_mode.as_str().to_string(),
            SortColumn::Ip => w.ip_address.as_deref().map(ip_sort_key).unwrap_or_default(),
            SortColumn::Computer => w.computer_name.clone().unwrap_or_default(),
            // Never logged in sorts first: the longest unused.
            SortColumn::LastLogin => w.last_login.clone().unwrap_or_default(),
        }
    }
}

impl QueryValue for SortColumn {
    fn parse(text: &str) -> Option<Self> {
        SortColumn::ALL.into_iter().find(|c| c.as_str() == text)
    }
    fn render(&self) -> String {
        self.as_str().to_string()
    }
}

/// Sorts 10.0.2.5 before 10.0.10.1.
fn ip_sort_key(ip: &str) -> String {
    ip.split('.')
        .map(|part| format!("{:0>3}", part))
        .collect::<Vec<_>>()
        .join(".")
}

/// The fleet's "no login for N days / never" filter (the cost question: which WorkSpaces nobody
/// uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idle {
    /// No login received at all.
    Never,
    /// No login in the last N days (or never).
    Days(u32),
}

impl Idle {
    /// The longest "no login for N days" the filter takes (the retention's default is 400).
    pub const MAX_DAYS: u32 = 3650;
}

impl QueryValue for Idle {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "never" => Some(Idle::Never),
            days => days
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=Idle::MAX_DAYS).contains(d))
                .map(Idle::Days),
        }
    }
    fn render(&self) -> String {
        match self {
            Idle::Never => "never".to_string(),
            Idle::Days(d) => d.to_string(),
        }
    }
}

/// The fleet view's filters, sort and page.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetQuery {
    pub state: Option<WorkspaceState>,
    pub directory: String,
    pub bundle: String,
    pub mode: Option<RunningMode>,
    /// Case-insensitive substring of the user name.
    pub user: String,
    pub tag_key: String,
    pub tag_value: String,
    /// No login for N days, or never.
    pub idle: Option<Idle>,
    /// Only the WorkSpaces gone from AWS (kept for history), instead of those in it.
    pub gone: bool,
    pub sort: SortColumn,
    pub desc: bool,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

impl Default for FleetQuery {
    fn default() -> Self {
        FleetQuery {
            state: None,
            directory: String::new(),
            bundle: String::new(),
            mode: None,
            user: String::new(),
            tag_key: String::new(),
            tag_value: String::new(),
            idle: None,
            gone: false,
            sort: SortColumn::Id,
            desc: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl FleetQuery {
    fn normalize(mut self) -> Self {
        self.page = self.page.max(1);
        if !PER_PAGE_CHOICES.contains(&self.per_page) {
            self.per_page = DEFAULT_PER_PAGE;
        }
        self
    }
}

url_query!(FleetQuery, "/workspaces", normalize = FleetQuery::normalize, {
    state, directory, bundle, mode, user, tag_key, tag_value, idle, gone, sort, desc, page, per_page
});

/// Where the fleet's filtered set is downloaded as CSV (the page's query string appended).
pub const EXPORT_PATH: &str = "/api/workspaces/export";

/// One page of the fleet, with what its filters can choose from.
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
    /// How fresh the inventory is.
    #[serde(default)]
    pub sync: super::SyncHealth,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::UrlQuery;

    #[test]
    fn a_query_survives_the_url() {
        let q = FleetQuery {
            state: Some(WorkspaceState::Stopped),
            user: "a b&c".into(),
            sort: SortColumn::User,
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
        assert_eq!((q.page, q.per_page, q.sort), (1, DEFAULT_PER_PAGE, SortColumn::Id));
        assert_eq!(FleetQuery::default().href(), "/workspaces");
    }

    #[test]
    fn the_idle_filter_is_never_or_a_number_of_days() {
        let q = FleetQuery::from_pairs([("idle", "never")]);
        assert_eq!(q.idle, Some(Idle::Never));
        assert_eq!(FleetQuery::from_pairs([("idle", "30")]).idle, Some(Idle::Days(30)));
        assert_eq!(FleetQuery::from_pairs([("idle", "0")]).idle, None);
        assert_eq!(FleetQuery::from_pairs([("idle", "soon")]).idle, None);
        let q = FleetQuery {
            idle: Some(Idle::Days(14)),
            sort: SortColumn::LastLogin,
            ..Default::default()
        };
        assert_eq!(q.to_query_string(), "idle=14&sort=last_login");
    }

    #[test]
    fn ip_addresses_sort_numerically() {
        assert!(ip_sort_key("10.0.2.5") < ip_sort_key("10.0.10.1"));
    }
}
