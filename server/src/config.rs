//! The portal's configuration: every flag of `workspaces-portal`, each with its environment
//! variable, and the subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use app::audit::ssr::AuditKey;
use app::audit::AuditQuery;
use app::ssr::db::{self, Db};
use app::ssr::pipeline::parse_network;
use app::ssr::IpNet;
use clap::{Parser, Subcommand, ValueEnum};

use crate::cli::{AccessCommand, IngestTokenCommand, UserCommand};

/// Where the portal sends its WorkSpaces requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The built-in WorkSpaces emulator, started in-process (no AWS account needed).
    Emulator,
    /// Amazon WorkSpaces, configured the standard AWS way: credentials chain, AWS_PROFILE,
    /// AWS_REGION, AWS_ENDPOINT_URL_WORKSPACES.
    Aws,
}

/// WorkSpaces Portal: administer an Amazon WorkSpaces fleet from the browser.
#[derive(Clone, Debug, Parser)]
#[command(name = "workspaces-portal", version)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The portal's database: `sqlite://path/to/portal.db` (the file and its directory are
    /// created). Any other kind of URL is refused.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/portal.db", global = true, value_parser = Quiet(parse_database_url))]
    pub database_url: String,

    /// The key that signs the audit log's checkpoints (hex; created with a random key if
    /// missing). Keep it apart from the database for the signatures to mean something.
    #[arg(long, env = "PORTAL_AUDIT_KEY_FILE", default_value = "data/audit.key", global = true)]
    pub audit_key_file: PathBuf,

    /// Address to listen on.
    #[arg(long, env = "PORTAL_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// WorkSpaces endpoint: the embedded emulator, or AWS.
    #[arg(long, env = "PORTAL_WORKSPACES", value_enum, default_value = "emulator")]
    pub workspaces: Backend,

    /// Embedded emulator only: time spent in each transitional state, in milliseconds.
    #[arg(long, env = "PORTAL_EMULATOR_TRANSITION_DELAY_MS", default_value_t = 3000)]
    pub emulator_transition_delay_ms: u64,

    /// Embedded emulator only: serve its control endpoints (/_emulator/faults, forced states)
    /// beside the WorkSpaces API, for demonstrations and tests. Off by default: any local
    /// process could otherwise change WorkSpaces behind the audit log.
    #[arg(long, env = "PORTAL_EMULATOR_CONTROL")]
    pub emulator_control: bool,

    /// Embedded emulator only: days of simulated WorkSpaces Access events (logins) it delivers
    /// to the portal's own endpoint at start-up, with an ingest token named `emulator` made
    /// for it, before delivering new logins as they happen. 0 delivers none.
    #[arg(long, env = "PORTAL_EMULATOR_ACCESS_EVENTS_DAYS", default_value_t = 14)]
    pub emulator_access_events_days: u32,

    /// Embedded emulator only: seed this many WorkSpaces instead of the default 40.
    #[arg(long, env = "PORTAL_EMULATOR_SEED_WORKSPACES")]
    pub emulator_seed_workspaces: Option<usize>,

    /// The inventory: a full sweep of the fleet (DescribeWorkspaces, 25 per call) starts this
    /// many seconds after the previous one started (at once, if it took longer).
    #[arg(long, env = "PORTAL_INVENTORY_SWEEP_SECS", default_value_t = 300)]
    pub inventory_sweep_secs: u64,

    /// The inventory sync's calls to AWS, at most, per second (sweeps, re-reads of WorkSpaces
    /// in transition, tags and connection status). Re-reads after a write made through the
    /// portal, and *Refresh now*, are made at once besides.
    #[arg(long, env = "PORTAL_INVENTORY_MAX_CALLS_PER_SEC", default_value_t = 2.0, value_parser = parse_call_rate)]
    pub inventory_max_calls_per_sec: f64,

    /// How often, in milliseconds, the sync re-reads WorkSpaces in a transitional state
    /// (PENDING, STARTING, STOPPING, REBOOTING, REBUILDING, TERMINATING).
    #[arg(long, env = "PORTAL_INVENTORY_TRANSITIONAL_MS", default_value_t = 3000)]
    pub inventory_transitional_ms: u64,

    /// Also append every signed audit checkpoint to this file (one JSON line each), outside the
    /// database: `audit verify --checkpoint-log FILE` then proves nothing before them was cut
    /// off or rewritten. Keep it where whoever can edit the database cannot.
    #[arg(long, env = "PORTAL_AUDIT_CHECKPOINT_LOG")]
    pub audit_checkpoint_log: Option<PathBuf>,

    /// Delete audit records older than this many days (checked hourly); 0 keeps them all.
    /// Verification still works: the first kept record's predecessor hash is kept.
    #[arg(long, env = "PORTAL_AUDIT_RETENTION_DAYS", default_value_t = 0)]
    pub audit_retention_days: u32,

    /// Delete WorkSpaces Access events (logins) older than this many days (checked hourly).
    #[arg(long, env = "PORTAL_ACCESS_RETENTION_DAYS", default_value_t = 400)]
    pub access_retention_days: u32,

    /// Post each new access alert (a login from outside the allowed networks, or from a network
    /// its WorkSpace had not used in 30 days) to this URL (JSON with a `text` line, as chat
    /// webhooks take it).
    #[arg(long, env = "PORTAL_ALERT_WEBHOOK", value_parser = Quiet(parse_webhook))]
    pub alert_webhook: Option<url::Url>,

    /// A proxy (address or CIDR network) whose X-Forwarded-For header is believed for the
    /// client address in the audit log. Repeat, or separate with commas.
    #[arg(long = "trusted-proxy", env = "PORTAL_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// The AWS account ID recorded as recipientAccountId (the emulator's account by default
    /// with the emulator).
    #[arg(long, env = "PORTAL_AWS_ACCOUNT_ID")]
    pub aws_account_id: Option<String>,

    /// A signed-in session unused for this many seconds ends.
    #[arg(long, env = "PORTAL_SESSION_IDLE_SECS", default_value_t = 1800)]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after sign-in, however much it is used.
    #[arg(long, env = "PORTAL_SESSION_LIFETIME_SECS", default_value_t = 43200)]
    pub session_lifetime_secs: u64,

    /// Mark the session cookie Secure (sent over HTTPS only). Set it whenever the portal is
    /// reached over HTTPS, e.g. behind a TLS-terminating proxy (an https `--public-url` implies
    /// it).
    #[arg(long, env = "PORTAL_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The URL users reach the portal at (e.g. https://portal.example.com). When set, requests
    /// for another Host are refused (421), a state-changing request's Origin must be exactly
    /// this origin, and an https URL makes cookies Secure and sends HSTS.
    #[arg(long, env = "PORTAL_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// How long, in seconds, a readiness check's answer from WorkSpaces is reused (`/readyz`
    /// makes at most one AWS call per this period).
    #[arg(long, env = "PORTAL_READINESS_CACHE_SECS", default_value_t = 5)]
    pub readiness_cache_secs: u64,

    /// The actions that need a second person's approval: any of TerminateWorkspaces,
    /// RebuildWorkspaces, StopWorkspaces, RebootWorkspaces, ModifyWorkspaceProperties,
    /// separated with commas; `none` for no approvals at all.
    #[arg(
        long,
        env = "PORTAL_APPROVAL_REQUIRED",
        default_value = "TerminateWorkspaces,RebuildWorkspaces",
        value_parser = parse_approval_required
    )]
    pub approval_required: ApprovalRequired,

    /// How many distinct approvers (never the requester) a request needs.
    #[arg(long, env = "PORTAL_APPROVALS_NEEDED", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub approvals_needed: u32,

    /// How long a request waits for its approvals before it expires: seconds, or with a unit
    /// (90s, 30m, 24h, 7d).
    #[arg(long, env = "PORTAL_APPROVAL_TTL", default_value = "24h", value_parser = parse_duration)]
    pub approval_ttl: std::time::Duration,

    /// Let an admin carry out a gated action at once, with a reason; an approver reviews it
    /// afterwards (the overview lists those not reviewed within a day).
    #[arg(long, env = "PORTAL_BREAK_GLASS")]
    pub break_glass: bool,

    /// Post each new approval request and each decision to this URL (JSON with a `text` line,
    /// as chat webhooks take it).
    #[arg(long, env = "PORTAL_APPROVAL_WEBHOOK", value_parser = Quiet(parse_webhook))]
    pub approval_webhook: Option<url::Url>,
}

/// The actions `--approval-required` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequired(pub Vec<app::approvals::ApprovalAction>);

fn parse_approval_required(text: &str) -> Result<ApprovalRequired, String> {
    if text.trim().eq_ignore_ascii_case("none") || text.trim().is_empty() {
        return Ok(ApprovalRequired(Vec::new()));
    }
    let mut actions = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let action = app::approvals::ApprovalAction::from_api(name).ok_or_else(|| {
            format!(
                "'{name}' cannot need an approval; name any of {} (or none)",
                app::approvals::ApprovalAction::ALL.map(|a| a.api_name()).join(", ")
            )
        })?;
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    Ok(ApprovalRequired(actions))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration: give seconds, or e.g. 90s, 30m, 24h, 7d"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("'{text}': the unit is one of s, m, h, d")),
    };
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err(format!("'{text}': between 1 second and 30 days"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

/// A flag's parser whose error names the flag and says why, without repeating the value (clap's
/// own message does): database URLs and webhook URLs may hold secrets.
#[derive(Clone)]
struct Quiet<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Quiet<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg.and_then(|a| a.get_long()).unwrap_or("value");
        let refuse = |why: String| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("--{flag}: {why}\n")).with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| refuse("not UTF-8".into()))?;
        (self.0)(text).map_err(refuse)
    }
}

/// A SQLite URL or file path. Another scheme is refused by name only: the rest of a database
/// URL may hold a password.
fn parse_database_url(text: &str) -> Result<String, String> {
    let scheme = text
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|s| s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
    match scheme {
        None => Ok(text.to_string()),
        Some(s) if s.eq_ignore_ascii_case("sqlite") => Ok(text.to_string()),
        Some(s) => Err(format!(
            "'{s}:' databases are not supported (yet): the portal stores its data in SQLite — \
             give a sqlite://path/to/portal.db URL or a file path"
        )),
    }
}

fn parse_call_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && (0.01..=10_000.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "'{text}': calls per second, between 0.01 and 10000 (e.g. 2 or 0.5)"
        )),
    }
}

fn parse_webhook(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text)
        .map_err(|_| "not a URL (the value is not repeated here: it may hold a secret)".to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("not an http(s) URL with a host".into());
    }
    Ok(url)
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Check or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the portal's users (add, list, set-role, disable, enable, reset-password).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the tokens EventBridge delivers WorkSpaces Access events with (create, list, revoke).
    #[command(subcommand)]
    IngestToken(IngestTokenCommand),
    /// WorkSpaces Access events: import a file of them.
    #[command(subcommand)]
    Access(AccessCommand),
}

#[derive(Clone, Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain, the signed checkpoints and anchor, the resource index and the
    /// pending rows. Prints how many records verified, or the first place where the log breaks
    /// (and exits with status 1).
    Verify {
        /// A chain position and hash known from outside the database (a checkpoint line of
        /// the server log): the chain must still hold it. Repeatable.
        #[arg(long = "expect", value_name = "SEQ:HASH")]
        expect: Vec<app::audit::ssr::Expectation>,
        /// The file `--audit-checkpoint-log` appends to: every checkpoint in it must still be
        /// in the chain, with its hash.
        #[arg(long, value_name = "FILE")]
        checkpoint_log: Option<PathBuf>,
    },
    /// Write the matching records to stdout, oldest first, streamed.
    Export {
        /// cloudtrail ({"Records": [...]}) or csv.
        #[arg(long, default_value = "cloudtrail")]
        format: String,
        /// Only this event name (e.g. TerminateWorkspaces).
        #[arg(long)]
        event: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// Only requests that touched this resource (e.g. a WorkSpace ID).
        #[arg(long)]
        resource: Option<String>,
        /// From this time on (UTC, e.g. 2026-11-22T10:00).
        #[arg(long)]
        from: Option<String>,
        /// Before this time (UTC).
        #[arg(long)]
        to: Option<String>,
        /// Only requests from this address.
        #[arg(long)]
        ip: Option<String>,
        /// Include read-only events (left out by default, as on the audit page).
        #[arg(long)]
        reads: bool,
        /// Only failed requests and requests with per-item failures.
        #[arg(long)]
        errors: bool,
    },
}

impl AuditCommand {
    /// The export's search, as the audit page would express it.
    pub fn query(&self) -> Option<(String, AuditQuery)> {
        match self {
            AuditCommand::Verify { .. } => None,
            AuditCommand::Export {
                format,
                event,
                user,
                resource,
                from,
                to,
                ip,
                reads,
                errors,
            } => Some((
                format.clone(),
                AuditQuery {
                    event: event.clone().unwrap_or_default(),
                    user: user.clone().unwrap_or_default(),
                    resource: resource.clone().unwrap_or_default(),
                    from: from.clone().unwrap_or_default(),
                    to: to.clone().unwrap_or_default(),
                    ip: ip.clone().unwrap_or_default(),
                    reads: *reads,
                    errors: *errors,
                    before: None,
                },
            )),
        }
    }
}

fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("'{text}' is not an http(s) URL with a host"));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "'{text}': the portal is served at the root of its host; give the URL without a path"
        ));
    }
    Ok(url)
}

impl Config {
    /// The approvals rule, from its flags.
    pub fn approval_settings(&self) -> app::approvals::ssr::ApprovalSettings {
        app::approvals::ssr::ApprovalSettings {
            required: self.approval_required.0.clone(),
            approvals_needed: self.approvals_needed,
            ttl: self.approval_ttl,
            break_glass: self.break_glass,
            webhook: self
                .approval_webhook
                .as_ref()
                .map(|url| app::approvals::ssr::Webhook::spawn("approvals", url.to_string())),
            public_url: self
                .public_url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_string()),
        }
    }

    /// Whether session cookies are marked Secure.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies || self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }

    /// Opens (and migrates) the database and loads the audit key.
    pub async fn open_database(&self) -> std::io::Result<(Db, AuditKey)> {
        let db = db::open(&self.database_url)
            .await
            .map_err(|e| std::io::Error::other(format!("database {}: {e}", self.database_url)))?;
        let key = AuditKey::load_or_create(&self.audit_key_file)?;
        Ok((db, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_of_another_kind_is_refused_without_repeating_it() {
        for ok in [
            "sqlite://data/portal.db",
            "sqlite::memory:",
            "SQLITE://x.db",
            "data/portal.db",
            "C:/portal.db",
        ] {
            assert_eq!(parse_database_url(ok).as_deref(), Ok(ok));
        }
        for refused in [
            "postgres://portal:s3cret@db.example.com/portal",
            "postgresql://db/portal",
            "mysql://x",
        ] {
            let error = parse_database_url(refused).unwrap_err();
            assert!(
                error.contains("not supported") && error.contains("sqlite://"),
                "{error}"
            );
            assert!(
                !error.contains("s3cret") && !error.contains("db.example.com"),
                "{error}"
            );
        }
        for (flag, value) in [
            ("--database-url", "postgres://u:pw-123@h/db"),
            ("--alert-webhook", "hooks.example.com/pw-123"),
        ] {
            let error = Config::try_parse_from(["workspaces-portal", flag, value])
                .unwrap_err()
                .to_string();
            assert!(error.contains(flag) && !error.contains("pw-123"), "{error}");
        }
    }

    #[test]
    fn approval_flags_are_checked_with_reasons() {
        assert_eq!(parse_approval_required("none").unwrap().0, []);
        assert_eq!(
            parse_approval_required("StopWorkspaces, TerminateWorkspaces,StopWorkspaces")
                .unwrap()
                .0,
            [
                app::approvals::ApprovalAction::Stop,
                app::approvals::ApprovalAction::Terminate
            ]
        );
        assert!(parse_approval_required("StartWorkspaces")
            .unwrap_err()
            .contains("'StartWorkspaces' cannot need"));
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("24h").unwrap().as_secs(), 86_400);
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5w").unwrap_err().contains("unit"));
        let secret = "https://hooks.example.com/services/SECRET";
        assert!(parse_webhook(secret).is_ok());
        assert!(!parse_webhook("hooks.example.com/SECRET")
            .unwrap_err()
            .contains("SECRET"));
    }
}
