//! Identity on the server: users ([`users`]), sessions ([`sessions`]), sign-in throttling
//! ([`throttle`]), and the services behind the identity server functions — signing in and out,
//! first-run setup and user management — each through the request pipeline. The command line
//! (`workspaces-portal user …`) calls the same services as the Users page.

mod sessions;
mod throttle;
mod users;

use std::sync::Mutex;
use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;
use tower_sessions::Session;

pub use sessions::random_hex;
pub use users::{hash_password, StoredUser, Users};

use self::throttle::Throttle;
use crate::audit::ssr::record::UserIdentity;
use crate::error::{AppError, AppResult};
use crate::identity::{
    check_new_password, check_user_name, CompleteSetup, CreateUser, ListUsers, Me, ResetUserPassword, Role,
    SetUserEnabled, SetUserRole, SignIn, SignOut, UserRow, MAX_PASSWORD,
};
use crate::ssr::db::Db;
use crate::ssr::{note_error_message, note_identity, note_params, Audited, Caller, Operation, Pipeline};

/// The signed-in user of a request, put in the request's extensions by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// A random name for the session, for the audit log (never the session cookie's value).
    pub session_ref: String,
}

impl User {
    /// As the pages see it.
    pub fn me(&self) -> Me {
        Me {
            name: self.name.clone(),
            role: self.role,
        }
    }
}

#[derive(Clone, Debug)]
pub struct IdentitySettings {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub lifetime: Duration,
    /// Failed sign-ins for one account from one network within `failure_window` before it is
    /// refused there for a while.
    pub account_failures: usize,
    /// Failed sign-ins for one account from anywhere before it is refused everywhere (higher:
    /// a few guesses from one address do not lock its owner out).
    pub account_ceiling: usize,
    /// Failed sign-ins from one address within `failure_window` before it is refused.
    pub address_failures: usize,
    pub failure_window: Duration,
    /// Mark the session cookie Secure (HTTPS only).
    pub secure_cookies: bool,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            idle_timeout: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
            account_failures: 5,
            account_ceiling: 50,
            address_failures: 20,
            failure_window: Duration::from_secs(15 * 60),
            secure_cookies: false,
        }
    }
}

/// Why a sign-in failed. The user only ever sees the generic message; the audit log says which.
enum SignInFailure {
    /// Too many failures for the account or from the address: retry after this long.
    Throttled(Duration),
    /// Too many passwords are being checked right now.
    Busy(AppError),
    /// Wrong name or password, or a disabled user. `user` is the stored user when the name
    /// exists, `reason` says which.
    Rejected {
        user: Option<StoredUser>,
        reason: &'static str,
    },
}

/// The identity service.
pub struct Identity {
    db: Db,
    users: Users,
    pipeline: Pipeline,
    settings: IdentitySettings,
    throttle: Mutex<Throttle>,
    /// Verified against when the name is unknown, so that an unknown name takes as long.
    dummy_hash: String,
    /// First run: the one-time token that lets the first administrator be created.
    setup_token: Mutex<Option<String>>,
}

/// Where to go after signing in: a path of this site, never another site. The text is parsed as
/// a browser would, against this site's origin, and must stay on it; control characters and
/// backslashes (which browsers drop or turn into slashes) are refused.
pub fn safe_next(next: &str) -> String {
    const HOME: &str = "/";
    let next = next.trim();
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return HOME.into();
    }
    let base = url::Url::parse("http://portal.invalid/").expect("a valid base");
    let Ok(target) = base.join(next) else {
        return HOME.into();
    };
    let path = target.path();
    // A path that resolves to `//host` would be read as another site.
    if target.origin() != base.origin()
        || path.starts_with("//")
        || path.starts_with("/login")
        || path.starts_with("/setup")
        || path.starts_with("/api/")
    {
        return HOME.into();
    }
    let mut out = path.to_string();
    if let Some(query) = target.query() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The session of the request being served (inside a server function).
pub async fn session() -> AppResult<Session> {
    leptos_axum::extract().await.map_err(|_| {
        crate::ssr::internal("a server function that needs a session was called without the session layer")
    })
}

impl Audited for Vec<UserRow> {}

impl Identity {
    pub async fn new(db: Db, pipeline: Pipeline, settings: IdentitySettings) -> AppResult<Self> {
        let dummy_hash = hash_password(&random_hex(16)).await?;
        Ok(Identity {
            users: Users::new(db.clone()),
            db,
            pipeline,
            settings,
            throttle: Mutex::new(Throttle::default()),
            dummy_hash,
            setup_token: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// The users table, for what needs no audit record (listing them on the command line,
    /// setting up tests).
    pub fn users(&self) -> &Users {
        &self.users
    }

    // -----------------------------------------------------------------------------------------
    // First run

    /// On a first run (no user at all), makes the one-time setup token; `None` otherwise.
    pub async fn first_run_token(&self) -> AppResult<Option<String>> {
        if self.users.count().await? > 0 {
            return Ok(None);
        }
        let token = random_hex(24);
        *self.setup_token() = Some(token.clone());
        Ok(Some(token))
    }

    fn setup_token(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the setup token if `token` is it (compared in constant time) and still no user
    /// exists (one may have been added with the command line since start-up): only one setup
    /// can use it.
    async fn take_setup_token(&self, token: &str) -> AppResult<bool> {
        if !self.setup_pending().await? {
            return Ok(false);
        }
        let mut live = self.setup_token();
        let matches = live
            .as_deref()
            .is_some_and(|live| bool::from(subtle::ConstantTimeEq::ct_eq(live.as_bytes(), token.as_bytes())));
        Ok(matches && live.take().is_some())
    }

    /// Whether the portal still waits for its first user. The token is dropped as soon as a
    /// user exists, however that user was made.
    pub async fn setup_pending(&self) -> AppResult<bool> {
        if self.setup_token().is_none() {
            return Ok(false);
        }
        if self.users.count().await? > 0 {
            *self.setup_token() = None;
            return Ok(false);
        }
        Ok(true)
    }

    /// First run: the one-time token makes the first administrator, who is signed in.
    pub async fn complete_setup(
        &self,
        caller: &Caller,
        session: &Session,
        token: &str,
        name: &str,
        password: &str,
        again: &str,
    ) -> AppResult<()> {
        let op = Operation::portal_write(
            CompleteSetup::PATH,
            "CompleteSetup",
            json!({ "userName": name, "role": "admin" }),
        );
        let work = async {
            let name = check_user_name(name)?;
            check_new_password(password, "password")?;
            if password != again {
                return Err(AppError::validation("again", "the two passwords differ"));
            }
            // Taken for the duration: a second setup at the same time is refused.
            if !self.take_setup_token(token).await? {
                return Err(AppError::validation(
                    "token",
                    "this setup link is not valid: it works once, while no user exists. \
                     Sign in, or ask an administrator for an account.",
                ));
            }
            let user = match self.users.create(&name, Role::Admin, password).await {
                Ok(user) => user,
                Err(e) => {
                    *self.setup_token() = Some(token.to_string());
                    return Err(e);
                }
            };
            let signed_in = self.start_session(session, &user).await?;
            note_identity(UserIdentity::portal_user(&signed_in));
            Ok(())
        };
        self.pipeline.run(caller, op, work).await
    }

    // -----------------------------------------------------------------------------------------
    // Signing in and out

    /// Signs in with a name and password, with throttling and the same work whether the name
    /// exists. The record names the account when it exists, never the typed text otherwise.
    pub async fn sign_in(&self, caller: &Caller, session: &Session, name: &str, password: &str) -> AppResult<()> {
        let op = Operation::sign_in(
            SignIn::PATH,
            "SignIn",
            json!({ "userName": crate::audit::ssr::record::HIDDEN_USER }),
        );
        let work = async {
            note_identity(UserIdentity::hidden());
            let named = |user: &StoredUser| {
                note_identity(UserIdentity::named_user(user.id, &user.name));
                note_params(json!({ "userName": user.name }));
            };
            match self.check_password(name, password, &caller.source_ip).await {
                Ok(user) => {
                    let signed_in = self.start_session(session, &user).await?;
                    note_params(json!({ "userName": user.name }));
                    note_identity(UserIdentity::portal_user(&signed_in));
                    Ok(())
                }
                Err(SignInFailure::Throttled(wait)) => {
                    // Auditors see which account is under attack (when it exists).
                    if let Ok(Some(user)) = self.users.find(name).await {
                        named(&user);
                    }
                    let minutes = wait.as_secs().div_ceil(60).max(1);
                    Err(AppError::TooManyRequests {
                        message: format!(
                            "too many failed sign-ins for this account or from your address; try again in {minutes} minute(s)"
                        ),
                        retry_after: Some(wait.as_secs().max(1)),
                    })
                }
                Err(SignInFailure::Busy(e)) => Err(e),
                Err(SignInFailure::Rejected { user, reason }) => {
                    if let Some(user) = &user {
                        named(user);
                    }
                    note_error_message(format!("Failed authentication: {reason}"));
                    Err(AppError::SignInFailed)
                }
            }
        };
        self.pipeline.run(caller, op, work).await
    }

    /// Checks a name and password against the throttle and the users table. The attempt counts
    /// from its start; a name longer than any user's is refused before any work.
    async fn check_password(&self, name: &str, password: &str, address: &str) -> Result<StoredUser, SignInFailure> {
        let network = crate::ssr::pipeline::network_of(address);
        let from = format!("address:{network}");
        if name.trim().chars().count() > crate::identity::MAX_USER_NAME {
            return match self.throttle().begin(
                &[(from.as_str(), self.settings.address_failures)],
                self.settings.failure_window,
            ) {
                Err(wait) => Err(SignInFailure::Throttled(wait)),
                Ok(()) => {
                    self.throttle().end(&[from.as_str()], true, &[]);
                    Err(SignInFailure::Rejected {
                        user: None,
                        reason: "no such user (the name is longer than any user's)",
                    })
                }
            };
        }
        let name_key = name.trim().to_lowercase();
        let here = format!("account:{name_key}|{network}");
        let anywhere = format!("account:{name_key}");
        let limits = [
            (here.as_str(), self.settings.account_failures),
            (anywhere.as_str(), self.settings.account_ceiling),
            (from.as_str(), self.settings.address_failures),
        ];
        let keys = [here.as_str(), anywhere.as_str(), from.as_str()];
        if let Err(wait) = self.throttle().begin(&limits, self.settings.failure_window) {
            return Err(SignInFailure::Throttled(wait));
        }
        let user = self.users.find(name).await.ok().flatten();
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let matches = if password.len() > 4 * MAX_PASSWORD {
            false
        } else {
            match users::password_matches(hash, password).await {
                Ok(matches) => matches,
                Err(busy) => {
                    // Not checked: not a failure.
                    self.throttle().end(&keys, false, &[]);
                    return Err(SignInFailure::Busy(busy));
                }
            }
        };
        let failure = match &user {
            None => Some("no such user"),
            Some(_) if !matches => Some("wrong password"),
            Some(u) if !u.enabled => Some("user is disabled"),
            Some(_) => None,
        };
        self.throttle().end(&keys, failure.is_some(), &[here.as_str()]);
        match failure {
            None => Ok(user.expect("a user when nothing failed")),
            Some(reason) => Err(SignInFailure::Rejected { user, reason }),
        }
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the session (the cookie stops working at once). Signing out without a session
    /// changes nothing and is not recorded.
    pub async fn sign_out(&self, caller: &Caller, session: &Session) -> AppResult<()> {
        if caller.user().is_none() {
            return self.end_session(session).await;
        }
        let op = Operation::sign_in(SignOut::PATH, "SignOut", json!({}));
        self.pipeline.run(caller, op, self.end_session(session)).await
    }

    // -----------------------------------------------------------------------------------------
    // Users

    pub async fn list_users(&self, caller: &Caller) -> AppResult<Vec<UserRow>> {
        let op = Operation::portal_read(ListUsers::PATH, "ListUsers", json!({}));
        self.pipeline.run(caller, op, self.users.list()).await
    }

    pub async fn create_user(&self, caller: &Caller, name: &str, role: &str, password: &str) -> AppResult<()> {
        let op = Operation::portal_write(
            CreateUser::PATH,
            "CreateUser",
            json!({ "userName": name, "role": role }),
        );
        let work = async { self.users.create(name, Role::parse(role)?, password).await.map(|_| ()) };
        self.pipeline.run(caller, op, work).await
    }

    pub async fn set_role(&self, caller: &Caller, name: &str, role: &str) -> AppResult<()> {
        let op = Operation::portal_write(
            SetUserRole::PATH,
            "SetUserRole",
            json!({ "userName": name, "role": role }),
        );
        let work = async { self.users.set_role(name, Role::parse(role)?).await };
        self.pipeline.run(caller, op, work).await
    }

    /// Disabling a user ends their sessions at once.
    pub async fn set_enabled(&self, caller: &Caller, name: &str, enabled: bool) -> AppResult<()> {
        let event = if enabled { "EnableUser" } else { "DisableUser" };
        let op = Operation::portal_write(SetUserEnabled::PATH, event, json!({ "userName": name }));
        self.pipeline
            .run(caller, op, self.users.set_enabled(name, enabled))
            .await
    }

    /// A new password ends the user's sessions.
    pub async fn reset_password(&self, caller: &Caller, name: &str, password: &str) -> AppResult<()> {
        let op = Operation::portal_write(
            ResetUserPassword::PATH,
            "ResetUserPassword",
            json!({ "userName": name }),
        );
        self.pipeline
            .run(caller, op, self.users.set_password(name, password))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/workspaces?state=STOPPED"), "/workspaces?state=STOPPED");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%09/evil.example/../..//evil.example",
            "",
            "javascript:alert(1)",
            "/login",
            "/api/auth/sign-out",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
