//! Parameter constraints of the API reference. Each check names the parameter it rejects.

use crate::error::{ApiError, ApiResult};

/// The identifier patterns of the reference.
#[derive(Clone, Copy, Debug)]
pub enum IdPattern {
    /// `^ws-[0-9a-z]{8,63}$`
    Workspace,
    /// `^wsb-[0-9a-z]{8,63}$`
    Bundle,
    /// `^d-[0-9a-f]{8,63}$`
    Directory,
    /// `^(sg-[0-9a-f]{8})$`
    SecurityGroup,
    /// `^(subnet-[0-9a-f]{8})$`
    Subnet,
}

impl IdPattern {
    fn parts(self) -> (&'static str, fn(u8) -> bool, usize, usize) {
        let lower_alnum: fn(u8) -> bool = |b| b.is_ascii_digit() || b.is_ascii_lowercase();
        let lower_hex: fn(u8) -> bool = |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        match self {
            IdPattern::Workspace => ("ws-", lower_alnum, 8, 63),
            IdPattern::Bundle => ("wsb-", lower_alnum, 8, 63),
            IdPattern::Directory => ("d-", lower_hex, 8, 63),
            IdPattern::SecurityGroup => ("sg-", lower_hex, 8, 8),
            IdPattern::Subnet => ("subnet-", lower_hex, 8, 8),
        }
    }

    pub fn regex(self) -> &'static str {
        match self {
            IdPattern::Workspace => "^ws-[0-9a-z]{8,63}$",
            IdPattern::Bundle => "^wsb-[0-9a-z]{8,63}$",
            IdPattern::Directory => "^d-[0-9a-f]{8,63}$",
            IdPattern::SecurityGroup => "^(sg-[0-9a-f]{8})$",
            IdPattern::Subnet => "^(subnet-[0-9a-f]{8})$",
        }
    }

    pub fn matches(self, text: &str) -> bool {
        let (prefix, allowed, min, max) = self.parts();
        match text.strip_prefix(prefix) {
            Some(rest) => (min..=max).contains(&rest.len()) && rest.bytes().all(allowed),
            None => false,
        }
    }

    pub fn check(self, parameter: &str, text: &str) -> ApiResult<()> {
        if self.matches(text) {
            Ok(())
        } else {
            Err(ApiError::invalid(
                parameter,
                format!("'{}' does not match the pattern {}", shorten(text), self.regex()),
            ))
        }
    }
}

/// Quotes user input in messages without echoing megabytes back.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

pub fn required<'a, T>(parameter: &str, value: &'a Option<T>) -> ApiResult<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::invalid(parameter, "it is required"))
}

/// Length in characters, as the reference counts it.
pub fn length(parameter: &str, text: &str, min: usize, max: Option<usize>) -> ApiResult<()> {
    let len = text.chars().count();
    let too_long = max.is_some_and(|max| len > max);
    if len < min || too_long {
        let range = match max {
            Some(max) => format!("between {min} and {max} characters"),
            None => format!("at least {min} character(s)"),
        };
        return Err(ApiError::invalid(
            parameter,
            format!("its length must be {range}, got {len}"),
        ));
    }
    Ok(())
}

/// Array member counts: `Minimum number of min items. Maximum number of max items.`
pub fn members<T>(parameter: &str, items: &[T], min: usize, max: usize) -> ApiResult<()> {
    let n = items.len();
    if n < min || n > max {
        let range = if min == max {
            format!("exactly {min} item(s)")
        } else {
            format!("between {min} and {max} items")
        };
        return Err(ApiError::invalid(
            parameter,
            format!("it must contain {range}, got {n}"),
        ));
    }
    Ok(())
}

pub fn next_token(token: &Option<String>) -> ApiResult<()> {
    match token {
        Some(t) => length("NextToken", t, 1, Some(63)),
        None => Ok(()),
    }
}

/// `Tag`: Key 1..127 characters, Value at most 255; keys starting with `aws:` are reserved.
pub fn tag(parameter: &str, key: &Option<String>, value: &Option<String>) -> ApiResult<()> {
    let key_param = format!("{parameter}.Key");
    let key = required(&key_param, key)?;
    length(&key_param, key, 1, Some(127))?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(ApiError::invalid(
            &key_param,
            "the prefix 'aws:' is reserved for AWS use",
        ));
    }
    if let Some(value) = value {
        length(&format!("{parameter}.Value"), value, 0, Some(255))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_ids_follow_the_reference_pattern() {
        let p = IdPattern::Workspace;
        assert!(p.matches("ws-abcd1234"));
        assert!(p.matches(&format!("ws-{}", "a".repeat(63))));
        assert!(!p.matches(&format!("ws-{}", "a".repeat(64))));
        assert!(!p.matches("ws-abc1234"), "7 characters is too short");
        assert!(!p.matches("ws-ABCD1234"), "upper case is outside [0-9a-z]");
        assert!(!p.matches("wsb-abcd1234"));
        assert!(!p.matches(" ws-abcd1234"));
    }

    #[test]
    fn directory_ids_are_lower_hex() {
        assert!(IdPattern::Directory.matches("d-90670b1a2c"));
        assert!(!IdPattern::Directory.matches("d-90670b1a2z"));
    }

    #[test]
    fn security_group_and_subnet_ids_have_exactly_eight_hex_digits() {
        assert!(IdPattern::SecurityGroup.matches("sg-0123abcd"));
        assert!(!IdPattern::SecurityGroup.matches("sg-0123abcd0"));
        assert!(IdPattern::Subnet.matches("subnet-0123abcd"));
        assert!(!IdPattern::Subnet.matches("subnet-0123abc"));
    }

    #[test]
    fn errors_name_the_parameter() {
        let err = IdPattern::Bundle.check("BundleIds[2]", "bundle-1").unwrap_err();
        assert_eq!(err.code, "InvalidParameterValuesException");
        assert!(err.message.contains("BundleIds[2]"), "{}", err.message);
        assert!(err.message.contains("^wsb-[0-9a-z]{8,63}$"), "{}", err.message);

        let err = members("WorkspaceIds", &[0; 26], 1, 25).unwrap_err();
        assert!(
            err.message.contains("WorkspaceIds") && err.message.contains("26"),
            "{}",
            err.message
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(length("UserName", &"é".repeat(63), 1, Some(63)).is_ok());
        assert!(length("UserName", &"é".repeat(64), 1, Some(63)).is_err());
        assert!(length("UserName", "", 1, Some(63)).is_err());
    }

    #[test]
    fn tags_enforce_key_and_value_limits() {
        let some = |s: &str| Some(s.to_string());
        assert!(tag("Tags[0]", &some("Team"), &some("")).is_ok());
        assert!(tag("Tags[0]", &some(""), &None).is_err());
        assert!(tag("Tags[0]", &some(&"k".repeat(128)), &None).is_err());
        assert!(tag("Tags[0]", &some("k"), &some(&"v".repeat(256))).is_err());
        let err = tag("Tags[0]", &some("aws:owner"), &None).unwrap_err();
        assert!(err.message.contains("Tags[0].Key"), "{}", err.message);
        assert!(tag("Tags[0]", &None, &some("v")).is_err());
    }
}
