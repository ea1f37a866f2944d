//! CreateTags, DeleteTags, DescribeTags: tags merged by key, at most fifty.

use std::time::Instant;

use super::{Store, MAX_TAGS};
use crate::error::{ApiError, ApiResult};
use crate::model::Tag;
use crate::validate;
use crate::wire::*;

impl Store {
    pub fn describe_tags(&self, input: DescribeTagsInput, now: Instant) -> ApiResult<DescribeTagsOutput> {
        let id = resource_id(&input.resource_id)?;
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
        let id = resource_id(&input.resource_id)?.to_string();
        let tags = validate::required("Tags", &input.tags)?;
        validate::members("Tags", tags, 1, usize::MAX)?;
        for (i, t) in tags.iter().enumerate() {
            validate::tag(&format!("Tags[{i}]"), &t.key, &t.value)?;
        }
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
        let id = resource_id(&input.resource_id)?.to_string();
        let keys = validate::required("TagKeys", &input.tag_keys)?;
        validate::members("TagKeys", keys, 1, usize::MAX)?;
        for (i, key) in keys.iter().enumerate() {
            validate::length(&format!("TagKeys[{i}]"), key, 1, Some(127))?;
        }
        self.sweep(now);
        let ws = self.visible_mut(&id, now).map_err(|_| resource_not_found(&id))?;
        ws.tags.retain(|t| !keys.contains(&t.key));
        Ok(Empty {})
    }
}

fn resource_id(value: &Option<String>) -> ApiResult<&str> {
    let id = validate::required("ResourceId", value)?;
    validate::length("ResourceId", id, 1, None)?;
    Ok(id)
}

fn resource_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The resource {id} could not be found."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::store;

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
