//! The one harness of the integration tests: [`TestPortal`] starts the real server on port 0
//! with a temporary database, a new audit key and the built-in emulator; [`Session`] is a
//! browser-like HTTP client (it keeps cookies) with typed calls of the server functions.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use app::identity::Role;
use app::ssr::db::Db;
use clap::Parser;
use portal_server::{start, Config, Running};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";

/// The defaults, listening on a free port, with a database and audit key of its own in a new
/// temporary directory; a small fleet with quick transitions, read fresh on every request.
pub fn test_config() -> Config {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "workspaces-portal-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut config = Config::parse_from(["workspaces-portal"]);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database_url = format!("sqlite://{}/portal.db", dir.display());
    config.audit_key_file = dir.join("audit.key");
    config.emulator_seed_workspaces = Some(6);
    config.emulator_transition_delay_ms = 50;
    // The inventory's sync as fast as the emulator answers, WorkSpaces in transition re-read often.
    config.inventory_max_calls_per_sec = 1000.0;
    config.inventory_transitional_ms = 100;
    config.readiness_cache_secs = 0;
    // Tests deliver the access events they need themselves.
    config.emulator_access_events_days = 0;
    config
}

/// A configuration with `seed` WorkSpaces that spend `transition_ms` in each transitional state.
pub fn fleet_config(seed: usize, transition_ms: u64) -> Config {
    let mut config = test_config();
    config.emulator_seed_workspaces = Some(seed);
    config.emulator_transition_delay_ms = transition_ms;
    config
}

/// A running portal.
pub struct TestPortal {
    pub running: Running,
    pub config: Config,
    pub base: String,
}

impl TestPortal {
    pub async fn start(config: Config) -> Self {
        let running = start(config.clone()).await.expect("the portal starts");
        let base = format!("http://{}", running.addr);
        let portal = TestPortal { running, config, base };
        portal.synced().await;
        portal
    }

    /// A portal with `seed` WorkSpaces and an administrator signed in (named `admin`).
    pub async fn with_admin(seed: usize, transition_ms: u64) -> (Self, Session) {
        let p = TestPortal::start(fleet_config(seed, transition_ms)).await;
        let admin = p.signed_in("admin", Role::Admin, "api-test").await;
        (p, admin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Has a sweep of the whole fleet start now (after the one under way, if any) and waits
    /// until it is complete and every new or changed WorkSpace's tags are read: the inventory
    /// then holds what the emulator holds now.
    pub async fn synced(&self) {
        let sync = self.running.portal.fleet.sync();
        let health = sync.health().await.expect("sync health");
        let target = health.completed_sweeps + 1 + u64::from(health.sweeping);
        sync.sweep_soon();
        for _ in 0..1500 {
            let now = sync.health().await.expect("sync health");
            if now.completed_sweeps >= target && now.details_due == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no sweep of the fleet completed within 30 s");
    }

    /// The portal's database, for what a test reads directly.
    pub fn db(&self) -> &Db {
        &self.running.portal.db
    }

    /// Waits until every answered request's outcome is sealed (as the audit page does before it
    /// reads), for a test that reads the audit tables directly.
    pub async fn settled(&self) {
        self.running
            .portal
            .pipeline
            .audit()
            .settled()
            .await
            .expect("the audit log settles");
    }

    pub fn emulator(&self) -> &workspaces_emulator::Emulator {
        self.running.emulator.as_ref().expect("the embedded emulator")
    }

    /// Installs a fault rule in the emulator (its JSON form, as `POST /_emulator/faults` takes it).
    pub fn fault(&self, rule: &str) {
        self.emulator()
            .faults()
            .add(serde_json::from_str(rule).expect("a fault rule"))
            .expect("the rule is installed");
    }

    /// Adds a user directly (not through the portal: no audit record).
    pub async fn add_user(&self, name: &str, role: Role) {
        self.running
            .portal
            .identity
            .users()
            .create(name, role, PASSWORD)
            .await
            .expect("the user is created");
    }

    /// A client that is not signed in.
    pub fn anonymous(&self, user_agent: &str) -> Session {
        Session::new(&self.base, user_agent)
    }

    /// A new user with `role`, signed in.
    pub async fn signed_in(&self, name: &str, role: Role, user_agent: &str) -> Session {
        self.add_user(name, role).await;
        let session = self.anonymous(user_agent);
        assert_eq!(session.sign_in(name, PASSWORD).await, 200, "{name} signs in");
        session
    }

    /// Runs `workspaces-portal ARGS` on this portal's database and key, with `stdin` typed in.
    pub async fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        cli(&self.config, args, stdin).await
    }
}

/// Runs `workspaces-portal ARGS` on the database and key of `config`, with `stdin` typed in —
/// off the runtime's thread, so that the portal under test (on the same runtime) goes on
/// serving and writing while the command runs.
pub async fn cli(config: &Config, args: &[&str], stdin: &str) -> std::process::Output {
    let (config, args, stdin) = (
        config.clone(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        stdin.to_string(),
    );
    tokio::task::spawn_blocking(move || run_cli(&config, &args, &stdin))
        .await
        .unwrap()
}

fn run_cli(config: &Config, args: &[String], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_workspaces-portal"))
        .args(args)
        .args(["--database-url", &config.database_url])
        .arg("--audit-key-file")
        .arg(&config.audit_key_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
    child.wait_with_output().unwrap()
}

/// A browser-like client of the portal: it keeps cookies and sends a user agent.
#[derive(Clone)]
pub struct Session {
    pub http: reqwest::Client,
    base: String,
}

/// A server function's answer.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// `X-Portal-Event-Id`: the request's audit record.
    pub event_id: Option<String>,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let event_id = response
            .headers()
            .get("x-portal-event-id")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            event_id,
        }
    }

    /// Status and body.
    pub fn pair(self) -> (u16, Value) {
        (self.status, self.body)
    }
}

impl Session {
    pub fn new(base: &str, user_agent: &str) -> Self {
        Session {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .user_agent(user_agent)
                .build()
                .unwrap(),
            base: base.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs in; returns the status.
    pub async fn sign_in(&self, name: &str, password: &str) -> u16 {
        self.form("auth/sign-in", &[("name", name), ("password", password)])
            .await
            .status
    }

    /// A server function with form-encoded arguments (the default encoding).
    pub async fn form(&self, endpoint: &str, args: &[(&str, &str)]) -> Answer {
        let body: String = args
            .iter()
            .map(|(k, v)| format!("{}={}", app::url::encode(k), app::url::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(self.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        Answer::of(response).await
    }

    /// A server function with JSON arguments.
    pub async fn json(&self, endpoint: &str, args: Value) -> Answer {
        let response = self
            .http
            .post(self.url(&format!("/api/{endpoint}")))
            .json(&args)
            .send()
            .await
            .unwrap();
        Answer::of(response).await
    }

    /// A `GET` of any path.
    pub async fn get(&self, path: &str) -> Answer {
        Answer::of(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    // Typed calls of the fleet's server functions.

    /// `workspaces/list` with the fleet's filters as the form sends them (`query[state]`, …).
    pub async fn list(&self, args: &[(&str, &str)]) -> Value {
        let answer = self.form("workspaces/list", args).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    /// The IDs of every WorkSpace matching the filters (up to 200).
    pub async fn ids_where(&self, filters: &[(&str, &str)]) -> Vec<String> {
        let mut all = vec![("query[per_page]", "200")];
        all.extend_from_slice(filters);
        self.list(&all).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// A WorkSpace's state now (`GONE` once it no longer exists).
    pub async fn state_of(&self, id: &str) -> String {
        let rows = self
            .json("workspaces/refresh", serde_json::json!({ "ids": [id] }))
            .await
            .body;
        rows[0]["state"].as_str().unwrap_or("GONE").to_string()
    }

    /// `workspaces/batch`.
    pub async fn batch(&self, action: &str, ids: &[&str]) -> Answer {
        self.json("workspaces/batch", serde_json::json!({ "action": action, "ids": ids }))
            .await
    }

    // Typed calls of the audit log's server functions.

    /// Every record matching the audit page's filters (`reads`, `event`, …), newest first,
    /// through every page.
    pub async fn records(&self, filters: &[(&str, &str)]) -> Vec<Value> {
        let mut form: Vec<(String, String)> = filters
            .iter()
            .map(|(k, v)| (format!("query[{k}]"), v.to_string()))
            .collect();
        let mut out = Vec::new();
        loop {
            let args: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let page = self.form("audit/list", &args).await;
            assert_eq!(page.status, 200, "{}", page.body);
            out.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match page.body["next_before"].as_i64() {
                Some(before) => {
                    form.retain(|(k, _)| k != "query[before]");
                    form.push(("query[before]".into(), before.to_string()));
                }
                None => return out,
            }
        }
    }

    /// A record's CloudTrail JSON.
    pub async fn record_json(&self, event_id: &str) -> Value {
        let detail = self.form("audit/get", &[("event_id", event_id)]).await;
        assert_eq!(detail.status, 200, "{}", detail.body);
        serde_json::from_str(detail.body["json"].as_str().unwrap()).unwrap()
    }
}
