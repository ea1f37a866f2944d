//! A protocol-faithful emulator of the Amazon WorkSpaces API (version 2015-04-08).
//!
//! It speaks both protocols of the service model, AWS JSON 1.1 and Smithy RPC v2 CBOR, exactly
//! as the SDKs do, implements all 14 actions with the state rules of the API reference, answers
//! violations of the model's constraints with `ValidationException` as AWS does, and can be
//! embedded (an axum [`Router`](axum::Router) over an
//! [`Emulator`]) or run on its own (the `workspaces-emulator` binary).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use workspaces_emulator::{spawn, Config, Emulator};
//! let addr = spawn(Emulator::new(Config::default())).await?;
//! // Point any AWS SDK at http://{addr}.
//! # Ok(()) }
//! ```

pub mod constraints;
pub mod error;
pub mod events;
pub mod faults;
pub mod model;
pub mod protocol;
pub mod seed;
pub mod server;
pub mod store;
pub mod token;
pub mod validate;
pub mod wire;

pub use error::ApiError;
pub use protocol::Protocol;
pub use seed::Seed;
pub use server::{router, router_with, serve, spawn, spawn_with, Config, Emulator, ACTIONS};
pub use store::Settings;
