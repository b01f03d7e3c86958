//! An article's identity: a URL-safe slug, checked once.

use std::fmt;

/// Lowercase ASCII letters and digits in runs separated by single hyphens,
/// at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{0}' is not a valid slug (lowercase letters, digits and single hyphens, 1 to 200 characters)"
)]
pub struct InvalidSlug(pub String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, InvalidSlug> {
        let ok = !s.is_empty()
            && s.len() <= 200
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidSlug(s.to_owned()))
        }
    }

    /// Derives a slug from free text such as a file name: letters and digits
    /// are kept (lower-cased, accents dropped only when ASCII has no
    /// equivalent), everything else becomes a single hyphen.
    pub fn slugify(s: &str) -> Result<Self, InvalidSlug> {
        let mut out = String::with_capacity(s.len());
        let mut pending_hyphen = false;
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_hyphen && !out.is_empty() {
                    out.push('-');
                }
                pending_hyphen = false;
                out.push(c.to_ascii_lowercase());
            } else {
                pending_hyphen = true;
            }
        }
        out.truncate(200);
        while out.ends_with('-') {
            out.pop();
        }
        Self::parse(&out).map_err(|_| InvalidSlug(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_slugs() {
        assert!(Slug::parse("exosomes-viral-skincare-trend").is_ok());
        assert!(Slug::parse("spf-50").is_ok());
    }

    #[test]
    fn rejects_what_urls_or_paths_would_mangle() {
        for bad in [
            "",
            "Upper",
            "two--hyphens",
            "-lead",
            "trail-",
            "a/b",
            "../x",
            "sp ace",
            "é",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Slug::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn slugify_folds_file_names() {
        assert_eq!(
            Slug::slugify("Retinol 101_Guide").unwrap().as_str(),
            "retinol-101-guide"
        );
        assert_eq!(Slug::slugify("--SPF  50!--").unwrap().as_str(), "spf-50");
        assert!(Slug::slugify("???").is_err());
    }
}
