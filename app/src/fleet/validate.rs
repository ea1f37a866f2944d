//! Input checks from the API reference's constraints, shared by the browser (to say early what
//! is wrong) and the server (which checks again: the browser is never trusted). Each turns text
//! into the value it stands for, or a refusal that names the field.

use super::Tag;
use crate::error::{AppError, AppResult};

/// Checks an ID against `^{prefix}[alphabet]{min,max}$`.
pub(crate) fn pattern(
    field: &str,
    id: &str,
    prefix: &str,
    min: usize,
    max: usize,
    ok: fn(&u8) -> bool,
    example: &str,
) -> AppResult<()> {
    let valid = id
        .strip_prefix(prefix)
        .is_some_and(|rest| (min..=max).contains(&rest.len()) && rest.bytes().all(|b| ok(&b)));
    if valid {
        Ok(())
    } else if id.is_empty() {
        Err(AppError::validation(field, "is required"))
    } else {
        Err(AppError::validation(
            field,
            format!("'{}' is not a valid ID; it looks like {example} ({prefix} and {min}–{max} lower-case letters or digits)", clip(id)),
        ))
    }
}

/// Long input, shortened for an error message.
pub fn clip(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_string()
    }
}

/// UserName: 1..63 characters.
pub fn user_name(field: &str, name: &str) -> AppResult<String> {
    let len = name.chars().count();
    if len == 0 {
        return Err(AppError::validation(field, "is required"));
    }
    if len > 63 {
        return Err(AppError::validation(
            field,
            format!("'{}' is {len} characters long; at most 63 are allowed", clip(name)),
        ));
    }
    Ok(name.to_string())
}

pub const MAX_TAGS: usize = 50;

/// Tag key 1..127 characters, not starting with `aws:`; value at most 255 characters. Both are
/// trimmed.
pub fn tag(field: &str, key: &str, value: &str) -> AppResult<Tag> {
    let (key, value) = (key.trim(), value.trim());
    let key_len = key.chars().count();
    if key_len == 0 {
        return Err(AppError::validation(format!("{field}.key"), "a tag key is required"));
    }
    if key_len > 127 {
        return Err(AppError::validation(
            format!("{field}.key"),
            format!("the key is {key_len} characters long; at most 127 are allowed"),
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(AppError::validation(
            format!("{field}.key"),
            "keys starting with 'aws:' are reserved for AWS",
        ));
    }
    let value_len = value.chars().count();
    if value_len > 255 {
        return Err(AppError::validation(
            format!("{field}.value"),
            format!("the value is {value_len} characters long; at most 255 are allowed"),
        ));
    }
    Ok(Tag {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// AutoStop timeouts are set in 60-minute steps.
pub fn auto_stop_minutes(field: &str, minutes: i32) -> AppResult<i32> {
    if minutes <= 0 || minutes % 60 != 0 {
        return Err(AppError::validation(
            field,
            format!("{minutes} minutes is not allowed; use a multiple of 60 (60, 120, 180, …)"),
        ));
    }
    if minutes > 48 * 60 {
        return Err(AppError::validation(field, "at most 48 hours (2880 minutes)"));
    }
    Ok(minutes)
}

/// Parses `key=value` lines (blank lines ignored) into tags; a key given twice keeps its last
/// value.
pub fn parse_tag_lines(field: &str, text: &str) -> AppResult<Vec<Tag>> {
    let mut tags: Vec<Tag> = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let tag = tag(&format!("{field} line {}", n + 1), key, value)?;
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => tags.push(tag),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(AppError::validation(
            field,
            format!("{} tags given; a WorkSpace can have at most {MAX_TAGS}", tags.len()),
        ));
    }
    Ok(tags)
}

/// The most users one create request takes (25 are sent per call).
pub const MAX_USERS: usize = 500;

/// Parses user names pasted one per line; blank lines and duplicates are dropped (in time linear
/// in their number).
pub fn parse_user_lines(field: &str, text: &str) -> AppResult<Vec<String>> {
    let mut users: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() {
            continue;
        }
        let name = user_name(&format!("{field} line {}", n + 1), name)?;
        if seen.insert(name.to_ascii_lowercase()) {
            users.push(name);
        }
        if users.len() > MAX_USERS {
            return Err(AppError::validation(
                field,
                format!("more than {MAX_USERS} users; create them in several requests"),
            ));
        }
    }
    if users.is_empty() {
        return Err(AppError::validation(
            field,
            "enter at least one user name, one per line",
        ));
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lines_are_parsed_merged_and_checked() {
        let tags = parse_tag_lines("tags", "Team=QA\n\nCost = 12 \nTeam=Ops").unwrap();
        let pairs: Vec<(&str, &str)> = tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        assert_eq!(pairs, vec![("Team", "Ops"), ("Cost", "12")]);
        let err = parse_tag_lines("tags", "ok=1\naws:x=2").unwrap_err();
        assert_eq!(err.field(), Some("tags line 2.key"));
        let many: String = (0..51).map(|i| format!("k{i}=v\n")).collect();
        assert!(parse_tag_lines("tags", &many).is_err());
    }

    #[test]
    fn user_lines_drop_blanks_and_duplicates() {
        let users = parse_user_lines("users", " alice \n\nbob\nALICE\n").unwrap();
        assert_eq!(users, vec!["alice", "bob"]);
        assert!(parse_user_lines("users", "\n \n").is_err());
        let err = parse_user_lines("users", &format!("ok\n{}", "x".repeat(64))).unwrap_err();
        assert_eq!(err.field(), Some("users line 2"));
    }

    #[test]
    fn auto_stop_timeouts_come_in_hours() {
        assert_eq!(auto_stop_minutes("t", 60).unwrap(), 60);
        assert!(auto_stop_minutes("t", 120).is_ok());
        assert!(auto_stop_minutes("t", 90).is_err());
        assert!(auto_stop_minutes("t", 0).is_err());
    }
}
