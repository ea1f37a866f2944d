//! The one error type that flows from the SDK and the services to the browser: what the user
//! sees, the HTTP status it is answered with, and the code the audit log records for it.
//!
//! Internals never travel: an unexpected failure is logged on the server with a reference,
//! and the browser gets only that reference.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    /// Wrong user name or password (deliberately not saying which), or a disabled user.
    #[error("Wrong user name or password.")]
    SignInFailed,
    #[error("Not allowed: {message}")]
    Forbidden { message: String },
    #[error("Not found: {message}")]
    NotFound { message: String },
    #[error("Conflict: {message}")]
    Conflict { message: String },
    /// Bad input, caught before anything was sent to AWS.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// An error answered by WorkSpaces, with its AWS error code.
    #[error("{code}: {message}")]
    Upstream { code: String, message: String },
    /// Too many attempts (failed sign-ins, exports, a busy server): wait before trying again.
    #[error("Too many attempts: {message}")]
    TooManyRequests {
        message: String,
        /// Seconds to wait, sent as `Retry-After`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// The request is larger than the endpoint accepts.
    #[error("Too large: {message}")]
    TooLarge { message: String },
    /// A part the portal needs (the audit log, the database) cannot serve the request now.
    #[error("Unavailable: {message}")]
    Unavailable { message: String },
    /// Something unexpected; details are in the server log under `reference`.
    #[error("Internal error (reference {reference}). The details are in the server log.")]
    Internal { reference: String },
    /// The request did not reach the server function, or its answer could not be read.
    #[error("The request failed: {message}")]
    Transport { message: String },
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::SignInFailed => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Conflict { .. } => 409,
            AppError::Validation { .. } => 400,
            AppError::Upstream { code, .. } if code == "ResourceNotFoundException" => 404,
            AppError::Upstream { code, .. } if code == "Throttling" || code == "ThrottlingException" => 429,
            AppError::Upstream { .. } => 502,
            AppError::TooManyRequests { .. } => 429,
            AppError::TooLarge { .. } => 413,
            AppError::Unavailable { .. } => 503,
            AppError::Internal { .. } | AppError::Transport { .. } => 500,
        }
    }

    /// CloudTrail's `errorCode` for a request that ended with this error: AWS's own code for
    /// an upstream error, the portal's name for the others.
    pub fn audit_code(&self) -> &str {
        match self {
            AppError::Upstream { code, .. } => code,
            AppError::Validation { .. } => "ValidationError",
            AppError::Unauthorized | AppError::Forbidden { .. } => "AccessDenied",
            AppError::SignInFailed => "FailedAuthentication",
            AppError::TooManyRequests { .. } => "Throttled",
            AppError::TooLarge { .. } => "RequestTooLarge",
            AppError::NotFound { .. } => "NotFound",
            AppError::Conflict { .. } => "Conflict",
            AppError::Unavailable { .. } => "ServiceUnavailable",
            AppError::Internal { .. } => "InternalError",
            AppError::Transport { .. } => "TransportError",
        }
    }

    /// CloudTrail's `errorMessage`: AWS's message for an upstream error, else what the user sees.
    pub fn audit_message(&self) -> String {
        match self {
            AppError::Upstream { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// How long to wait before trying again, when the error says (sent as `Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The field at fault, for showing the message next to it.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A short title for error boxes.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "Sign-in required",
            AppError::SignInFailed => "Sign-in failed",
            AppError::Forbidden { .. } => "Not allowed",
            AppError::NotFound { .. } => "Not found",
            AppError::Conflict { .. } => "Conflict",
            AppError::Validation { .. } => "Invalid input",
            AppError::Upstream { .. } => "WorkSpaces refused the request",
            AppError::TooManyRequests { .. } => "Too many attempts",
            AppError::TooLarge { .. } => "Request too large",
            AppError::Unavailable { .. } => "Temporarily unavailable",
            AppError::Internal { .. } => "Something went wrong",
            AppError::Transport { .. } => "Request failed",
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            AppError::Upstream { code, .. } if code == "Throttling" || code == "ThrottlingException" => {
                Some("WorkSpaces is rate-limiting requests. Wait a few seconds and try again.")
            }
            AppError::Upstream { code, .. } if code == "OperationInProgressException" => {
                Some("A previous change is still being applied. Try again in a moment.")
            }
            AppError::Upstream { code, .. } if code == "InvalidResourceStateException" => {
                Some("Wait until the WorkSpace reaches a state that allows this action.")
            }
            AppError::Transport { .. } => Some("Check your connection and reload the page."),
            AppError::Unauthorized => Some("Your session may have ended: sign in again."),
            AppError::Forbidden { .. } => Some("Ask an administrator for a role that allows this."),
            AppError::Internal { .. } => {
                Some("Try again; if it keeps failing, give the reference to an administrator.")
            }
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) => AppError::validation("request", message),
            ServerFnErrorErr::MissingArg(arg) => AppError::validation(arg, "is required"),
            // On the server, what fails to deserialize is a request's arguments (a JSON body);
            // in the browser, it is a response.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(message) => AppError::validation("request", message),
            other => AppError::Transport {
                message: other.to_string(),
            },
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Outside server functions (the server's own handlers and middleware), an error is answered
/// the same way: its status and its JSON.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status =
            axum::http::StatusCode::from_u16(self.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_json_with_their_kind() {
        let e = AppError::validation("WorkspaceId", "must look like ws-xxxxxxxx");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"validation","field":"WorkspaceId","message":"must look like ws-xxxxxxxx"}"#
        );
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
    }

    #[test]
    fn every_variant_serializes() {
        // serde cannot tag newtype variants holding a string; every variant must be a struct.
        let all = [
            AppError::Unauthorized,
            AppError::Forbidden { message: "m".into() },
            AppError::NotFound { message: "m".into() },
            AppError::Conflict { message: "m".into() },
            AppError::validation("f", "m"),
            AppError::Upstream {
                code: "c".into(),
                message: "m".into(),
            },
            AppError::Internal { reference: "r".into() },
            AppError::Transport { message: "m".into() },
        ];
        for e in all {
            let json = serde_json::to_string(&e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
            assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
        }
    }

    #[test]
    fn statuses_follow_the_error() {
        assert_eq!(AppError::validation("a", "b").status(), 400);
        assert_eq!(
            AppError::Upstream {
                code: "Throttling".into(),
                message: String::new()
            }
            .status(),
            429
        );
        assert_eq!(
            AppError::Upstream {
                code: "InvalidResourceStateException".into(),
                message: String::new()
            }
            .status(),
            502
        );
        assert_eq!(AppError::Internal { reference: "r".into() }.status(), 500);
    }

    #[test]
    fn internal_errors_show_only_a_reference() {
        let text = AppError::Internal {
            reference: "7f3a".into(),
        }
        .to_string();
        assert!(text.contains("7f3a") && text.contains("server log"), "{text}");
    }
}
