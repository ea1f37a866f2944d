//! The emulator's integration tests, one binary: it links the crate and the AWS SDK once.
//!
//! - `protocol`: the wire protocol as any client sees it, and fault injection;
//! - `sdk`: every action and rule of the API reference, through the real `aws-sdk-workspaces`.

mod common;
mod protocol;
mod sdk;
