//! Identity: roles, users, signing in and out, first-run setup, sessions.
//!
//! Here: the types the browser and the server share, the rules for names and passwords, and the
//! server functions; [`pages`]: the sign-in, setup and users pages; `ssr`: users and sessions in
//! the database, sign-in throttling, and the services behind the server functions. The checks
//! that matter run on the server (the pipeline and the policy table); the browser uses
//! [`Role::allows`] only to hide or disable what would be refused anyway.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A portal role. Each includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything: fleet, bundles, directories, connection status, audit log.
    Viewer,
    /// Also starts, stops, reboots, creates, edits tags and running mode.
    Operator,
    /// Also approves destructive actions (coming with approvals).
    Approver,
    /// Everything, including terminate, rebuild and user management.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role, AppError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| AppError::validation("role", "must be one of viewer, operator, approver, admin"))
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }

    /// What the role may do, for the users page.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "reads the fleet, bundles, directories and the audit log",
            Role::Operator => "viewer, plus start, stop, reboot, create, tags and running mode",
            Role::Approver => "operator, plus reviewing (approving or rejecting) other people's requests",
            Role::Admin => "everything: user management, terminate and rebuild (through an approved request where those need one), break-glass",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`: widths in format strings apply (the command line's user table).
        f.pad(self.as_str())
    }
}

/// The signed-in user, as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub role: Role,
}

/// Who the browser is signed in as, and whether the portal still waits for its first user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthState {
    pub user: Option<Me>,
    /// No user exists yet: the setup link in the server's log creates the first admin.
    pub setup_pending: bool,
    /// Which actions need an approved request (the pages offer "Request …" for those).
    pub approvals: crate::approvals::ApprovalRule,
    /// How many requests wait for the signed-in user's review (the navigation's badge).
    pub to_review: usize,
}

/// A user, as the users page lists them. Never carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    pub enabled: bool,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

/// The longest user name.
pub const MAX_USER_NAME: usize = 64;

/// The rules for user names and passwords, checked before anything is stored.
pub fn check_user_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_USER_NAME {
        return Err(AppError::validation("name", "must be 1 to 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
    {
        return Err(AppError::validation(
            "name",
            "may contain only letters, digits and . - _ @",
        ));
    }
    Ok(name.to_string())
}

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 256;

pub fn check_new_password(password: &str, field: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::validation(
            field,
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::validation(
            field,
            format!("must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Server functions

/// The signed-in user, if any.
#[server(endpoint = "auth/me")]
pub async fn who_am_i() -> Result<AuthState, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    Ok(AuthState {
        user: caller.user().map(|u| u.me()),
        setup_pending: portal.identity.setup_pending().await?,
        approvals: portal.approvals.rule(),
        to_review: portal.approvals.to_review(&caller).await?,
    })
}

/// Signs in; answers where to go next (a path on this site).
#[server(endpoint = "auth/sign-in")]
pub async fn sign_in(name: String, password: String, #[server(default)] next: String) -> Result<String, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal
        .identity
        .sign_in(&caller, &ssr::session().await?, &name, &password)
        .await?;
    Ok(ssr::safe_next(&next))
}

/// Ends the session (the cookie stops working at once).
#[server(endpoint = "auth/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.sign_out(&caller, &ssr::session().await?).await
}

/// First run: creates the first administrator with the one-time token from the server log,
/// and signs them in.
#[server(endpoint = "auth/setup")]
pub async fn complete_setup(token: String, name: String, password: String, again: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    let session = ssr::session().await?;
    portal
        .identity
        .complete_setup(&caller, &session, &token, &name, &password, &again)
        .await
}

#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.list_users(&caller).await
}

#[server(endpoint = "users/create")]
pub async fn create_user(name: String, role: String, password: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.create_user(&caller, &name, &role, &password).await
}

#[server(endpoint = "users/set-role")]
pub async fn set_user_role(name: String, role: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.set_role(&caller, &name, &role).await
}

/// Disables (`enabled=false`: their sessions stop working at once) or re-enables a user.
#[server(endpoint = "users/set-enabled")]
pub async fn set_user_enabled(name: String, enabled: bool) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.set_enabled(&caller, &name, enabled).await
}

/// Sets a new password; the user's other sessions stop working.
#[server(endpoint = "users/reset-password")]
pub async fn reset_user_password(name: String, password: String) -> Result<(), AppError> {
    let (portal, caller) = crate::ssr::request()?;
    portal.identity.reset_password(&caller, &name, &password).await
}

crate::forms::text_form! {
    SignIn { name, password, next };
    SignOut {};
    CompleteSetup { token, name, password, again };
    CreateUser { name, role, password };
    SetUserRole { name, role };
    ResetUserPassword { name, password };
}

impl crate::forms::FromForm for SetUserEnabled {
    fn from_form(field: impl Fn(&str) -> String) -> Self {
        Self {
            name: field("name"),
            enabled: field("enabled") == "true",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_before_them() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Approver.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Operator.allows(Role::Approver));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Approver.allows(Role::Admin));
        assert_eq!(Role::parse(" Admin ").unwrap(), Role::Admin);
        assert_eq!(Role::parse("root").unwrap_err().field(), Some("role"));
    }

    #[test]
    fn names_and_passwords_are_checked_with_the_field() {
        assert_eq!(check_user_name(" alice@example.com ").unwrap(), "alice@example.com");
        assert_eq!(check_user_name("").unwrap_err().field(), Some("name"));
        assert_eq!(check_user_name("a b").unwrap_err().field(), Some("name"));
        assert_eq!(check_user_name(&"x".repeat(65)).unwrap_err().field(), Some("name"));
        assert!(check_new_password("short", "password").is_err());
        assert!(check_new_password("twelve chars", "password").is_ok());
        assert_eq!(
            check_new_password(&"p".repeat(257), "new").unwrap_err().field(),
            Some("new")
        );
    }
}
