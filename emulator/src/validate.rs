//! Checking requests against the constraints of the service model, as AWS does before an action
//! runs: every violation in the request is collected and answered in one `ValidationException`,
//! `N validation error(s) detected: Value '…' at 'member.path' failed to satisfy constraint: …`.
//!
//! The rules only the reference's prose states (filter combinations, 60-minute timeouts, reserved
//! tag prefixes, pagination tokens) are the actions' own: they answer
//! `InvalidParameterValuesException` naming the parameter (`ApiError::invalid`).

use serde::Serialize;

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
}

/// Quotes user input in messages without echoing megabytes back.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The path AWS names a member by: `workspaces.1.member.userName` is the `UserName` of the
/// first item of `Workspaces` (items count from 1).
pub fn item(list: &str, index: usize) -> String {
    format!("{list}.{}.member", index + 1)
}

/// `parent.member`, for a member of a nested structure.
pub fn member(parent: &str, name: &str) -> String {
    format!("{parent}.{name}")
}

/// Every violation of the modeled constraints found in one request.
#[derive(Debug, Default)]
pub struct Violations {
    found: Vec<String>,
}

impl Violations {
    fn add(&mut self, value: Option<String>, path: &str, constraint: impl std::fmt::Display) {
        let value = match value {
            Some(text) => format!("'{}'", shorten(&text)),
            None => "null".to_string(),
        };
        self.found.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// `Required: Yes`; returns the value when it is there, so its own constraints can follow.
    pub fn required<'a, T>(&mut self, path: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.add(None, path, "not be null");
        }
        value.as_ref()
    }

    /// `Length Constraints`, in characters as the reference counts them.
    pub fn length(&mut self, path: &str, text: &str, min: usize, max: Option<usize>) {
        let len = text.chars().count();
        if len < min {
            self.add(
                Some(text.to_string()),
                path,
                format!("have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|max| len > *max) {
            self.add(
                Some(text.to_string()),
                path,
                format!("have length less than or equal to {max}"),
            );
        }
    }

    /// `Array Members: Minimum number of min items. Maximum number of max items.`
    pub fn items<T: Serialize>(&mut self, path: &str, items: &[T], min: usize, max: usize) {
        let n = items.len();
        if n < min {
            self.add(
                Some(list_text(items)),
                path,
                format!("have length greater than or equal to {min}"),
            );
        }
        if n > max {
            self.add(
                Some(list_text(items)),
                path,
                format!("have length less than or equal to {max}"),
            );
        }
    }

    /// `Valid Range: Minimum value of min. Maximum value of max.`
    pub fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        if value < min {
            self.add(
                Some(value.to_string()),
                path,
                format!("have value greater than or equal to {min}"),
            );
        }
        if value > max {
            self.add(
                Some(value.to_string()),
                path,
                format!("have value less than or equal to {max}"),
            );
        }
    }

    /// `Pattern: …`
    pub fn pattern(&mut self, path: &str, text: &str, pattern: IdPattern) {
        if !pattern.matches(text) {
            self.add(
                Some(text.to_string()),
                path,
                format!("satisfy regular expression pattern: {}", pattern.regex()),
            );
        }
    }

    /// `Valid Values: A | B`
    pub fn one_of(&mut self, path: &str, text: &str, valid: &[&str]) {
        if !valid.contains(&text) {
            self.add(
                Some(text.to_string()),
                path,
                format!("satisfy enum value set: [{}]", valid.join(", ")),
            );
        }
    }

    /// Ok when nothing was found, else the one `ValidationException` that lists it all.
    pub fn finish(self) -> ApiResult<()> {
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(&self.found))
        }
    }
}

/// A list as AWS quotes it: `[a, b]`, structures as `{Key=value}`.
fn list_text<T: Serialize>(items: &[T]) -> String {
    fn text(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => format!("[{}]", items.iter().map(text).collect::<Vec<_>>().join(", ")),
            serde_json::Value::Object(members) => format!(
                "{{{}}}",
                members
                    .iter()
                    .map(|(k, v)| format!("{k}={}", text(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_string(),
        }
    }
    serde_json::to_value(items).map(|v| text(&v)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(check: impl FnOnce(&mut Violations)) -> String {
        let mut v = Violations::default();
        check(&mut v);
        let err = v.finish().unwrap_err();
        assert_eq!((err.status, err.code), (400, "ValidationException"));
        err.message
    }

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
    fn nothing_found_is_no_error() {
        let mut v = Violations::default();
        v.length("userName", "alice", 1, Some(63));
        v.pattern("bundleId", "wsb-92tn3b7gx", IdPattern::Bundle);
        v.range("limit", 25, 1, 25);
        assert!(v.finish().is_ok());
    }

    #[test]
    fn each_constraint_reads_as_aws_words_it() {
        assert_eq!(
            message(|v| v.pattern("bundleIds.3.member", "bundle-1", IdPattern::Bundle)),
            "1 validation error detected: Value 'bundle-1' at 'bundleIds.3.member' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^wsb-[0-9a-z]{8,63}$"
        );
        assert_eq!(
            message(|v| {
                v.required::<String>("resourceId", &None);
            }),
            "1 validation error detected: Value null at 'resourceId' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            message(|v| v.range("limit", 0, 1, 25)),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: \
             Member must have value greater than or equal to 1"
        );
        assert_eq!(
            message(|v| v.one_of("runningMode", "SOMETIMES", &["AUTO_STOP", "ALWAYS_ON"])),
            "1 validation error detected: Value 'SOMETIMES' at 'runningMode' failed to satisfy constraint: \
             Member must satisfy enum value set: [AUTO_STOP, ALWAYS_ON]"
        );
        let ids: Vec<String> = (0..26).map(|i| format!("ws-{i:09}")).collect();
        let text = message(|v| v.items("workspaceIds", &ids, 1, 25));
        assert!(
            text.starts_with("1 validation error detected: Value '[ws-000000000, ws-000000001, "),
            "{text}"
        );
        assert!(
            text.ends_with(
                "…' at 'workspaceIds' failed to satisfy constraint: Member must have length less than or equal to 25"
            ),
            "{text}"
        );
    }

    #[test]
    fn several_violations_are_counted_and_joined() {
        let text = message(|v| {
            v.length(&member(&item("workspaces", 0), "userName"), "", 1, Some(63));
            v.required::<String>(&member(&item("workspaces", 1), "bundleId"), &None);
        });
        assert_eq!(
            text,
            "2 validation errors detected: \
             Value '' at 'workspaces.1.member.userName' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value null at 'workspaces.2.member.bundleId' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let fits = |text: &str| {
            let mut v = Violations::default();
            v.length("userName", text, 1, Some(63));
            v.finish().is_ok()
        };
        assert!(fits(&"é".repeat(63)));
        assert!(!fits(&"é".repeat(64)));
        assert!(!fits(""));
    }

    #[test]
    fn structures_in_lists_are_quoted_by_member() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request {
            workspace_id: &'static str,
        }
        let two = [Request { workspace_id: "ws-a" }, Request { workspace_id: "ws-b" }];
        assert_eq!(list_text(&two), "[{WorkspaceId=ws-a}, {WorkspaceId=ws-b}]");
    }
}
