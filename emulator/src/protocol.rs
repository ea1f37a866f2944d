//! The two protocols the WorkSpaces service model lists, over the same shapes (`wire`):
//!
//! - **AWS JSON 1.1**: `POST /` with `X-Amz-Target: WorkspacesService.<Action>`, JSON bodies,
//!   epoch-second numbers for timestamps, errors as `{"__type": "<Code>", "message": …}`;
//! - **Smithy RPC v2 CBOR**: `POST /service/WorkspacesService/operation/<Action>` with
//!   `smithy-protocol: rpc-v2-cbor`, CBOR bodies, timestamps as tag 1 (epoch seconds), errors
//!   as a CBOR map with the error's absolute shape ID in `__type`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    AwsJson1_1,
    RpcV2Cbor,
}

/// The `smithy-protocol` header of RPC v2 CBOR requests and answers.
pub const SMITHY_PROTOCOL: &str = "rpc-v2-cbor";

impl Protocol {
    /// As the service model names it (and the request log shows it).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::AwsJson1_1 => "awsJson1_1",
            Protocol::RpcV2Cbor => "rpcv2Cbor",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson1_1 => "application/x-amz-json-1.1",
            Protocol::RpcV2Cbor => "application/cbor",
        }
    }

    /// Decodes a request body; an empty body is an empty request, as SDKs may send. A body
    /// that is not a structure of the right member types is a `SerializationException`.
    pub fn decode<T: DeserializeOwned + Default>(self, body: &[u8]) -> ApiResult<T> {
        match self {
            Protocol::AwsJson1_1 => decode_json(body),
            Protocol::RpcV2Cbor => decode_cbor(body),
        }
    }

    pub fn encode<T: Serialize>(self, value: &T) -> Vec<u8> {
        // Serializing these plain structs cannot fail; an empty structure is the fallback.
        match self {
            Protocol::AwsJson1_1 => serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
            Protocol::RpcV2Cbor => {
                let mut out = Vec::with_capacity(1024);
                match ciborium::into_writer(value, &mut out) {
                    Ok(()) => out,
                    Err(_) => vec![0xa0],
                }
            }
        }
    }

    /// The body of an error answer. AWS JSON names the error by its code alone, as WorkSpaces
    /// does; RPC v2 CBOR by its absolute shape ID, as that protocol requires.
    pub fn error_body(self, error: &ApiError) -> Vec<u8> {
        match self {
            Protocol::AwsJson1_1 => error.to_json().into_bytes(),
            Protocol::RpcV2Cbor => {
                #[derive(Serialize)]
                struct ErrorBody<'a> {
                    #[serde(rename = "__type")]
                    shape: &'a str,
                    message: &'a str,
                }
                self.encode(&ErrorBody {
                    shape: &error.shape_id(),
                    message: &error.message,
                })
            }
        }
    }
}

fn decode_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // serde would read a struct from a JSON array too; AWS requires an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::serialization("The request body must be a JSON object."));
    }
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        ApiError::serialization(match e.classify() {
            Category::Data => format!("A member of the request has the wrong JSON type ({e})."),
            _ => format!("The request body is not valid JSON ({e})."),
        })
    })
}

/// CBOR major type 5: a map, definite or indefinite length.
fn is_cbor_map(first: u8) -> bool {
    first >> 5 == 5
}

fn decode_cbor<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    let Some(&first) = body.first() else {
        return Ok(T::default());
    };
    // As with JSON, serde would read a struct from an array; the protocol sends a map.
    if !is_cbor_map(first) {
        return Err(ApiError::serialization("The request body must be a CBOR map."));
    }
    let mut reader = std::io::Cursor::new(body);
    let value = ciborium::from_reader(&mut reader).map_err(|e| {
        ApiError::serialization(match e {
            ciborium::de::Error::Semantic(_, why) => {
                format!("A member of the request has the wrong CBOR type ({why}).")
            }
            other => format!("The request body is not valid CBOR ({other})."),
        })
    })?;
    if reader.position() as usize != body.len() {
        return Err(ApiError::serialization(
            "The request body holds more than one CBOR data item.",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ConnectionStatusOut, DescribeWorkspacesInput, EpochSeconds};
    use ciborium::Value;

    fn cbor(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn cbor_requests_decode_into_the_same_shapes_as_json() {
        let body = cbor(&Value::Map(vec![
            (text("Limit"), Value::Integer(7.into())),
            (text("WorkspaceIds"), Value::Array(vec![text("ws-abcdefgh1")])),
            (text("SomethingNew"), Value::Bool(true)),
        ]));
        let from_cbor: DescribeWorkspacesInput = Protocol::RpcV2Cbor.decode(&body).unwrap();
        let from_json: DescribeWorkspacesInput = Protocol::AwsJson1_1
            .decode(br#"{"Limit": 7, "WorkspaceIds": ["ws-abcdefgh1"], "SomethingNew": true}"#)
            .unwrap();
        assert_eq!(format!("{from_cbor:?}"), format!("{from_json:?}"));
        let empty: DescribeWorkspacesInput = Protocol::RpcV2Cbor.decode(b"").unwrap();
        assert_eq!(empty.limit, None);
    }

    #[test]
    fn cbor_null_and_undefined_are_absent_members() {
        let null = cbor(&Value::Map(vec![(text("NextToken"), Value::Null)]));
        let mut undefined = vec![0xa1, 0x69];
        undefined.extend_from_slice(b"NextToken");
        undefined.push(0xf7);
        for body in [null, undefined] {
            let input: DescribeWorkspacesInput = Protocol::RpcV2Cbor.decode(&body).unwrap();
            assert_eq!(input.next_token, None);
        }
    }

    #[test]
    fn bad_cbor_bodies_are_serialization_errors() {
        let wrong_type = cbor(&Value::Map(vec![(text("Limit"), text("ten"))]));
        let mut trailing = cbor(&Value::Map(vec![]));
        trailing.push(0xa0);
        for body in [
            wrong_type,
            cbor(&Value::Array(vec![])),
            vec![0xa1, 0x65], // a map cut short
            trailing,
            b"{}".to_vec(),
        ] {
            let err = Protocol::RpcV2Cbor
                .decode::<DescribeWorkspacesInput>(&body)
                .unwrap_err();
            assert_eq!((err.status, err.code), (400, "SerializationException"), "{body:02x?}");
        }
    }

    #[test]
    fn timestamps_are_tag_1_in_cbor_and_numbers_in_json() {
        let status = ConnectionStatusOut {
            connection_state: crate::model::ConnectionState::Connected,
            connection_state_check_timestamp: EpochSeconds(1_767_225_600),
            last_known_user_connection_timestamp: EpochSeconds(1_767_222_000),
            workspace_id: "ws-abcdefgh1".into(),
        };
        let json: serde_json::Value = serde_json::from_slice(&Protocol::AwsJson1_1.encode(&status)).unwrap();
        assert_eq!(json["ConnectionStateCheckTimestamp"], 1_767_225_600);
        let value: Value = ciborium::from_reader(&Protocol::RpcV2Cbor.encode(&status)[..]).unwrap();
        let member = |name: &str| {
            value
                .as_map()
                .unwrap()
                .iter()
                .find(|(k, _)| k.as_text() == Some(name))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            member("ConnectionStateCheckTimestamp"),
            Value::Tag(1, Box::new(Value::Integer(1_767_225_600.into())))
        );
        assert_eq!(member("ConnectionState"), text("CONNECTED"));
    }

    #[test]
    fn cbor_errors_carry_the_absolute_shape_id() {
        let body = Protocol::RpcV2Cbor.error_body(&ApiError::not_found("The WorkSpace ws-x could not be found."));
        let value: Value = ciborium::from_reader(&body[..]).unwrap();
        assert_eq!(
            value,
            Value::Map(vec![
                (
                    text("__type"),
                    text("com.amazonaws.workspaces#ResourceNotFoundException")
                ),
                (text("message"), text("The WorkSpace ws-x could not be found.")),
            ])
        );
        let validation =
            ApiError::validation(&["Value null at 'x' failed to satisfy constraint: Member must not be null".into()]);
        assert_eq!(validation.shape_id(), "smithy.framework#ValidationException");
        let json: serde_json::Value = serde_json::from_slice(&Protocol::AwsJson1_1.error_body(&validation)).unwrap();
        assert_eq!(json["__type"], "ValidationException");
    }
}
