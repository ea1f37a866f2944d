//! Opaque pagination tokens.
//!
//! A token names the kind of listing and the last key returned, hex-encoded. Listings are
//! ordered by identifier, which never changes, so walking the pages returns every item exactly
//! once even while other WorkSpaces change state, appear or disappear.

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Workspaces,
    Bundles,
    Directories,
    ConnectionStatus,
}

impl Listing {
    fn tag(self) -> u8 {
        match self {
            Listing::Workspaces => b'w',
            Listing::Bundles => b'b',
            Listing::Directories => b'd',
            Listing::ConnectionStatus => b'c',
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn encode(listing: Listing, last_key: &str) -> String {
    let mut out = String::with_capacity(2 + 2 * last_key.len());
    out.push('1'); // format version
    out.push(listing.tag() as char);
    for b in last_key.bytes() {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// The last key a token names; any token not made by `encode` for this listing is rejected.
pub fn decode(listing: Listing, token: &str) -> ApiResult<String> {
    let bad = || {
        ApiError::invalid(
            "NextToken",
            "it is not a token returned by a previous call to this action",
        )
    };
    let bytes = token.as_bytes();
    if bytes.len() < 4 || bytes[0] != b'1' || bytes[1] != listing.tag() || bytes.len() % 2 != 0 {
        return Err(bad());
    }
    let nibble = |c: u8| HEX.iter().position(|&h| h == c).map(|p| p as u8);
    let mut key = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes[2..].chunks(2) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return Err(bad());
        };
        key.push(hi << 4 | lo);
    }
    String::from_utf8(key).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_fit_the_63_character_limit() {
        let token = encode(Listing::Workspaces, "ws-abcdefgh1");
        assert!(token.len() <= 63, "{token}");
        assert_eq!(decode(Listing::Workspaces, &token).unwrap(), "ws-abcdefgh1");
    }

    #[test]
    fn a_token_of_another_listing_or_garbage_is_rejected() {
        let token = encode(Listing::Bundles, "wsb-abcdefgh1");
        let err = decode(Listing::Workspaces, &token).unwrap_err();
        assert_eq!(err.code, "InvalidParameterValuesException");
        assert!(err.message.contains("NextToken"));
        assert!(decode(Listing::Workspaces, "garbage").is_err());
        assert!(decode(Listing::Workspaces, "1wzz").is_err());
        assert!(decode(Listing::Workspaces, "1w").is_err());
    }
}
