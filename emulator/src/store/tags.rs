//! CreateTags, DeleteTags, DescribeTags: tags merged by key, at most fifty.

use std::time::Instant;

use super::{Store, MAX_TAGS};
use crate::error::{ApiError, ApiResult};
use crate::model::Tag;
use crate::wire::*;

impl Store {
    pub fn describe_tags(&self, input: DescribeTagsInput, now: Instant) -> ApiResult<DescribeTagsOutput> {
        let id = input.resource_id.as_deref().unwrap_or_default();
        let ws = self.visible(id, now).ok_or_else(|| resource_not_found(id))?;
        let tag_list = ws
            .tags
            .iter()
            .map(|t| TagOut {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect();
        Ok(DescribeTagsOutput { tag_list })
    }

    pub fn create_tags(&mut self, input: CreateTagsInput, now: Instant) -> ApiResult<Empty> {
        let id = input.resource_id.clone().unwrap_or_default();
        let tags = input.tags.as_deref().unwrap_or_default();
        if tags.is_empty() {
            return Err(ApiError::invalid("Tags", "it must contain at least one tag"));
        }
        reserved_tag_keys("Tags", tags)?;
        self.sweep(now);
        let ws = self.visible_mut(&id, now).map_err(|_| resource_not_found(&id))?;
        let mut merged = ws.tags.clone();
        for t in tags {
            let (key, value) = (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default());
            match merged.iter_mut().find(|existing| existing.key == key) {
                Some(existing) => existing.value = value,
                None => merged.push(Tag { key, value }),
            }
        }
        if merged.len() > MAX_TAGS {
            return Err(ApiError::limit_exceeded(format!(
                "A WorkSpace can have at most {MAX_TAGS} tags; {id} has {} and this request would make it {}.",
                ws.tags.len(),
                merged.len()
            )));
        }
        ws.tags = merged;
        Ok(Empty {})
    }

    pub fn delete_tags(&mut self, input: DeleteTagsInput, now: Instant) -> ApiResult<Empty> {
        let id = input.resource_id.clone().unwrap_or_default();
        let keys = input.tag_keys.as_deref().unwrap_or_default();
        if keys.is_empty() {
            return Err(ApiError::invalid("TagKeys", "it must contain at least one tag key"));
        }
        if let Some(i) = keys.iter().position(|k| k.chars().count() > MAX_TAG_KEY) {
            return Err(ApiError::invalid(
                &format!("TagKeys[{i}]"),
                format!("no tag key is longer than {MAX_TAG_KEY} characters"),
            ));
        }
        self.sweep(now);
        let ws = self.visible_mut(&id, now).map_err(|_| resource_not_found(&id))?;
        ws.tags.retain(|t| !keys.contains(&t.key));
        Ok(Empty {})
    }
}

/// `Tag.Key`: at most 127 characters.
const MAX_TAG_KEY: usize = 127;

/// Keys starting with `aws:` are reserved for AWS (the rule the reference states in prose; the
/// lengths are the model's constraints). `parameter` names the list, e.g. `Workspaces[2].Tags`.
pub(super) fn reserved_tag_keys(parameter: &str, tags: &[TagIn]) -> ApiResult<()> {
    let reserved = tags.iter().position(|t| {
        t.key
            .as_deref()
            .is_some_and(|k| k.to_ascii_lowercase().starts_with("aws:"))
    });
    match reserved {
        Some(i) => Err(ApiError::invalid(
            &format!("{parameter}[{i}].Key"),
            "the prefix 'aws:' is reserved for AWS use",
        )),
        None => Ok(()),
    }
}

fn resource_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The resource {id} could not be found."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::store;

    #[test]
    fn keys_starting_with_aws_are_reserved_in_any_case() {
        let tag = |k: &str| TagIn {
            key: Some(k.into()),
            value: None,
        };
        assert!(reserved_tag_keys("Tags", &[tag("Team"), tag("awsome")]).is_ok());
        let err = reserved_tag_keys("Workspaces[2].Tags", &[tag("Team"), tag("AWS:owner")]).unwrap_err();
        assert_eq!(err.code, "InvalidParameterValuesException");
        assert!(err.message.contains("Workspaces[2].Tags[1].Key"), "{}", err.message);
    }

    #[test]
    fn tags_are_merged_by_key_and_limited_to_fifty() {
        let mut s = store(0, 5);
        let now = Instant::now();
        let id = s.workspaces.keys().next().unwrap().clone();
        let tag = |k: &str, v: &str| TagIn {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        s.workspaces.get_mut(&id).unwrap().tags.clear();
        s.create_tags(
            CreateTagsInput {
                resource_id: Some(id.clone()),
                tags: Some(vec![tag("a", "1"), tag("b", "2")]),
            },
            now,
        )
        .unwrap();
        s.create_tags(
            CreateTagsInput {
                resource_id: Some(id.clone()),
                tags: Some(vec![tag("a", "3")]),
            },
            now,
        )
        .unwrap();
        assert_eq!(
            s.workspaces[&id].tags,
            vec![
                Tag {
                    key: "a".into(),
                    value: "3".into()
                },
                Tag {
                    key: "b".into(),
                    value: "2".into()
                }
            ]
        );

        let many: Vec<TagIn> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
        let err = s
            .create_tags(
                CreateTagsInput {
                    resource_id: Some(id.clone()),
                    tags: Some(many),
                },
                now,
            )
            .unwrap_err();
        assert_eq!(err.code, "ResourceLimitExceededException");
        assert_eq!(s.workspaces[&id].tags.len(), 2, "a refused call changes nothing");
    }
}
