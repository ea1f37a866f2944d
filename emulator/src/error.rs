//! Whole-call errors. AWS JSON 1.1 renders them as `{"__type": code, "message": …}`, RPC v2 CBOR
//! as the same map in CBOR with the error's absolute shape ID in `__type`.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameterValuesException`, always naming the parameter at fault.
    pub fn invalid(parameter: &str, why: impl fmt::Display) -> Self {
        Self::new(
            400,
            "InvalidParameterValuesException",
            format!("The value of parameter {parameter} is not valid: {why}."),
        )
    }

    /// `ValidationException`: the request breaks constraints of the service model; `found`
    /// holds one `Value … at '…' failed to satisfy constraint: …` line per violation.
    pub fn validation(found: &[String]) -> Self {
        let detected = match found.len() {
            1 => "1 validation error detected".to_string(),
            n => format!("{n} validation errors detected"),
        };
        Self::new(400, "ValidationException", format!("{detected}: {}", found.join("; ")))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(400, "ResourceNotFoundException", message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(400, "ResourceLimitExceededException", message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidResourceStateException", message)
    }

    pub fn in_progress(message: impl Into<String>) -> Self {
        Self::new(400, "OperationInProgressException", message)
    }

    pub fn unsupported_configuration(message: impl Into<String>) -> Self {
        Self::new(400, "UnsupportedWorkspaceConfigurationException", message)
    }

    /// The body is not JSON, or a member has the wrong JSON type.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }

    pub fn invalid_action(action: &str) -> Self {
        Self::new(
            400,
            "InvalidAction",
            format!(
                "The action {action} is not valid for this web service (WorkspacesService, API version 2015-04-08)."
            ),
        )
    }

    pub fn missing_action() -> Self {
        Self::new(
            400,
            "MissingAction",
            "The request has no X-Amz-Target header of the form WorkspacesService.<Action>.",
        )
    }

    /// RPC v2 CBOR: no operation of this service at that path (or a request not framed as
    /// the protocol requires).
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(404, "UnknownOperationException", message)
    }

    /// RPC v2 CBOR: a body that is not `application/cbor`.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaTypeException", message)
    }

    pub fn missing_authentication_token() -> Self {
        Self::new(
            403,
            "MissingAuthenticationToken",
            "The request must contain an Authorization header (AWS Signature Version 4).",
        )
    }

    /// Errors that fault injection can produce, by their code.
    pub fn injected(code: &str) -> Option<Self> {
        Some(match code {
            "Throttling" => Self::new(400, "Throttling", "Rate exceeded."),
            "InternalFailure" => Self::new(
                500,
                "InternalFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ),
            "ServiceUnavailable" => Self::new(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ),
            "ResourceUnavailableException" => Self::new(
                400,
                "ResourceUnavailableException",
                "The specified resource is not available.",
            ),
            "AccessDeniedException" => Self::new(
                400,
                "AccessDeniedException",
                "The user is not authorized to access a resource.",
            ),
            _ => return None,
        })
    }

    /// The error's absolute shape ID, as RPC v2 CBOR names errors: the request-level errors
    /// every Smithy service shares are in `smithy.framework`, the rest in the WorkSpaces
    /// namespace. Clients keep only what follows the `#`.
    pub fn shape_id(&self) -> String {
        let namespace = match self.code {
            "ValidationException"
            | "SerializationException"
            | "UnknownOperationException"
            | "UnsupportedMediaTypeException"
            | "InternalFailure" => "smithy.framework",
            _ => "com.amazonaws.workspaces",
        };
        format!("{namespace}#{}", self.code)
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({ "__type": self.code, "message": self.message }).to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
