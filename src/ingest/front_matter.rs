//! What an article's front matter may hold, and where it ends: the shape
//! serde reads it into, before anything is checked.

use serde::Deserialize;
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    pub title: Option<String>,
    #[serde(alias = "date")]
    pub published: Option<DateField>,
    pub updated: Option<DateField>,
    pub summary: Option<String>,
    pub author: Option<AuthorField>,
    pub reviewed_by: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    pub image_alt: Option<String>,
    pub slug: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// Free-form data for templates; never interpreted.
    #[serde(default)]
    #[allow(dead_code)]
    extra: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum AuthorField {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        email: Option<String>,
    },
}

/// A date as text, from YAML (always a string) or TOML (a string or a
/// native datetime).
#[derive(Debug)]
pub(super) struct DateField(pub String);

impl<'de> Deserialize<'de> for DateField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DateField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date such as 2026-11-18 10:30 or 2026-11-18T10:30:00+05:30")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DateField, E> {
                Ok(DateField(v.to_owned()))
            }
            // TOML hands native datetimes over as a one-entry map.
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<DateField, A::Error> {
                let (_, v): (String, String) = m
                    .next_entry()?
                    .ok_or_else(|| serde::de::Error::custom("empty date"))?;
                Ok(DateField(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits `---` YAML or `+++` TOML front matter from the body.
pub(super) fn split_front_matter(text: &str) -> Result<(&str, &str, bool), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (delim, is_toml) = if text.starts_with("---") {
        ("---", false)
    } else if text.starts_with("+++") {
        ("+++", true)
    } else {
        return Err(
            "no front matter: the file must start with a --- (YAML) or +++ (TOML) line".into(),
        );
    };
    let first_nl = text.find('\n').ok_or("front matter is not closed")?;
    if text[..first_nl].trim_end() != delim {
        return Err(format!("the first line must be exactly {delim}"));
    }
    let rest = &text[first_nl + 1..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == delim {
            let fm = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Ok((fm, body, is_toml));
        }
        offset += line.len();
    }
    Err(format!(
        "front matter is not closed: no closing {delim} line"
    ))
}
