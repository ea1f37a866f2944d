//! The portal's HTTP server: configuration ([`config`]), start-up ([`startup`]), the routes
//! and their layers ([`router`], [`middleware`], [`handlers`]), and the command line ([`cli`]).
//!
//! [`start`] makes the whole app from a [`Config`], so the binary and the integration tests
//! start exactly the same server (tests on port 0).

pub mod cli;
pub mod config;
pub mod handlers;
pub mod middleware;
pub mod router;
pub mod startup;

pub use cli::{run_access_command, run_audit_command, run_ingest_token_command, run_user_command};
pub use config::{AuditCommand, Backend, Command, Config};
pub use startup::{start, Running};
