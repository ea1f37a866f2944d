//! The emulator's integration tests, one binary: it links the crate and the AWS SDK once.
//!
//! - `protocol`: the wire protocols as any client sees them, and fault injection;
//! - `sdk`: every action and rule of the API reference, through the real `aws-sdk-workspaces`.
//!
//! Most tests are written once as `async fn name(protocol: Protocol)` and run over both
//! protocols, as `name::aws_json` and `name::rpc_v2_cbor`.

/// Runs each named `async fn(Protocol)` once per protocol. An optional leading `[attribute]`
/// replaces `tokio::test`, e.g. `[tokio::test(flavor = "multi_thread")]`.
macro_rules! each_protocol {
    ([$($test:tt)*]) => {};
    ([$($test:tt)*] $name:ident $(, $rest:ident)* $(,)?) => {
        mod $name {
            #[$($test)*]
            async fn aws_json() {
                super::$name(workspaces_emulator::Protocol::AwsJson1_1).await
            }

            #[$($test)*]
            async fn rpc_v2_cbor() {
                super::$name(workspaces_emulator::Protocol::RpcV2Cbor).await
            }
        }
        each_protocol!([$($test)*] $($rest),*);
    };
    ($($name:ident),+ $(,)?) => {
        each_protocol!([tokio::test] $($name),+);
    };
}

mod common;
mod protocol;
mod sdk;
