//! One codec for the searches that live in a page's URL — the fleet's filters, the audit log's,
//! and the ones to come: a search's fields ⇄ `key=value` pairs, read and written the same way in
//! the page's links, the forms that submit them, the server functions that receive them
//! (`query[key]=value`) and the exports.
//!
//! A search implements [`UrlQuery`] with [`url_query!`]; each field's type says how its value is
//! written and read ([`QueryValue`]). Malformed values fall back to the field's default, so a
//! hand-edited URL still opens a page.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A value escaped for a URL's query (or path segment).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// A query value decoded (`%XX`, and `+` as a space); invalid UTF-8 becomes U+FFFD.
pub fn decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// How one field of a search is written in a URL and read back.
pub trait QueryValue: Sized {
    /// `None`: not a value of this type (the field keeps its default).
    fn parse(text: &str) -> Option<Self>;
    fn render(&self) -> String;
}

impl QueryValue for String {
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

/// A checkbox, as forms send it (`on`, or its `value`) and links write it (`true`).
impl QueryValue for bool {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "1" | "true" | "on" | "yes" => Some(true),
            "" | "0" | "false" | "off" | "no" => Some(false),
            _ => None,
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl QueryValue for usize {
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl QueryValue for i64 {
    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// An optional value: empty means none.
impl<T: QueryValue> QueryValue for Option<T> {
    fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            Some(None)
        } else {
            T::parse(text).map(Some)
        }
    }
    fn render(&self) -> String {
        self.as_ref().map(T::render).unwrap_or_default()
    }
}

/// A search whose fields live in a page's URL.
pub trait UrlQuery: Default + Sized {
    /// The page that shows this search.
    const PAGE: &'static str;

    /// Sets the field named `key` from its URL value; unknown keys and malformed values are
    /// ignored.
    fn set(&mut self, key: &str, value: &str);

    /// The fields that differ from their default, in a fixed order, as `(key, value)`.
    fn pairs(&self) -> Vec<(&'static str, String)>;

    /// Brings fields back into their allowed range (a page number of 0, say).
    fn normalized(self) -> Self {
        self
    }

    /// Reads a search from decoded URL pairs.
    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut query = Self::default();
        for (key, value) in pairs {
            query.set(key, value.trim());
        }
        query.normalized()
    }

    /// The query string (without `?`) that reproduces this search; defaults are left out.
    fn to_query_string(&self) -> String {
        self.pairs()
            .into_iter()
            .map(|(key, value)| format!("{key}={}", encode(&value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The page showing this search.
    fn href(&self) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            Self::PAGE.to_string()
        } else {
            format!("{}?{qs}", Self::PAGE)
        }
    }
}

/// A value of a server function's search argument: text as forms send it, or a JSON scalar.
pub struct Scalar(pub String);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("text, a number or a boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Implements [`UrlQuery`] for a search struct from its fields (each field's URL key is its
/// name; a field equal to its default is left out), and serde through it, so that a server
/// function receives the search exactly as the page's URL states it.
///
/// `url_query!(FleetQuery, "/workspaces", { state, user, page });` — add `normalize =
/// Self::normalize` after the page to bring values back into range after reading.
macro_rules! url_query {
    ($ty:ident, $page:literal $(, normalize = $normalize:path)?, { $($field:ident),* $(,)? }) => {
        impl $crate::url::UrlQuery for $ty {
            const PAGE: &'static str = $page;

            fn set(&mut self, key: &str, value: &str) {
                match key {
                    $(stringify!($field) => {
                        if let Some(v) = $crate::url::QueryValue::parse(value) {
                            self.$field = v;
                        }
                    })*
                    _ => {}
                }
            }

            fn pairs(&self) -> Vec<(&'static str, String)> {
                let default = Self::default();
                let mut out = Vec::new();
                $(if self.$field != default.$field {
                    out.push((stringify!($field), $crate::url::QueryValue::render(&self.$field)));
                })*
                out
            }

            $(fn normalized(self) -> Self {
                $normalize(self)
            })?
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let pairs = $crate::url::UrlQuery::pairs(self);
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (key, value) in &pairs {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let map = <std::collections::BTreeMap<String, $crate::url::Scalar> as serde::Deserialize>::deserialize(d)?;
                Ok($crate::url::UrlQuery::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.0.as_str()))))
            }
        }
    };
}
pub(crate) use url_query;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Search {
        text: String,
        all: bool,
        page: usize,
        before: Option<i64>,
    }

    impl Default for Search {
        fn default() -> Self {
            Search {
                text: String::new(),
                all: false,
                page: 1,
                before: None,
            }
        }
    }

    impl Search {
        fn normalize(mut self) -> Self {
            self.page = self.page.max(1);
            self
        }
    }

    url_query!(Search, "/search", normalize = Search::normalize, { text, all, page, before });

    #[test]
    fn a_search_survives_its_url_and_leaves_defaults_out() {
        let q = Search {
            text: "a b&c/é".into(),
            all: true,
            page: 3,
            before: Some(42),
        };
        let qs = q.to_query_string();
        assert_eq!(qs, "text=a%20b%26c%2F%C3%A9&all=true&page=3&before=42");
        let pairs: Vec<(String, String)> = qs
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        assert_eq!(
            Search::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            q
        );
        assert_eq!(Search::default().href(), "/search");
    }

    #[test]
    fn checkboxes_read_the_same_however_they_are_sent() {
        for on in ["1", "true", "on"] {
            assert!(Search::from_pairs([("all", on)]).all, "{on}");
        }
        assert!(!Search::from_pairs([("all", "")]).all);
        // Malformed values keep the default; normalization applies.
        let q = Search::from_pairs([("page", "-4"), ("before", "x"), ("unknown", "1")]);
        assert_eq!(q, Search::default());
        assert_eq!(Search::from_pairs([("page", "0")]).page, 1);
    }

    #[test]
    fn server_functions_read_the_search_from_form_fields_or_json() {
        let from_json: Search = serde_json::from_str(r#"{"text":"x","all":true,"page":2,"before":null}"#).unwrap();
        assert_eq!((from_json.text.as_str(), from_json.all, from_json.page), ("x", true, 2));
        let back: Search = serde_json::from_str(&serde_json::to_string(&from_json).unwrap()).unwrap();
        assert_eq!(back, from_json);
    }

    #[test]
    fn decoding_takes_plus_as_space() {
        assert_eq!(decode("a+b%20c%2Fd"), "a b c/d");
        assert_eq!(encode("ws-1 ~x"), "ws-1%20~x");
    }
}
