//! Making untrusted article HTML safe for feeds and mail: no scripts, event
//! handlers, `javascript:` URLs or frames; relative URLs made absolute
//! against the article's own URL; characters XML 1.0 forbids removed.

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Cleans `html` and rewrites its relative links against `base`.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let mut builder = Builder::default();
    builder
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener"))
        .add_tags(["figure", "figcaption"])
        .add_tag_attributes("img", ["loading"])
        .strip_comments(true);
    builder.clean(html).to_string()
}

/// True for characters XML 1.0 allows in a document.
pub fn xml_allowed(c: char) -> bool {
    matches!(c,
        '\u{9}' | '\u{A}' | '\u{D}'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Removes characters XML 1.0 forbids (NUL, most C0 controls, U+FFFE/U+FFFF).
/// Returns how many were removed.
pub fn strip_xml_forbidden(s: &mut String) -> usize {
    let before = s.chars().count();
    if s.chars().all(xml_allowed) {
        return 0;
    }
    s.retain(xml_allowed);
    before - s.chars().count()
}

/// Resolves a possibly relative URL against `base`; rejects schemes other
/// than http(s).
pub fn absolute_url(value: &str, base: &Url) -> Result<String, String> {
    let url = base
        .join(value.trim())
        .map_err(|e| format!("'{value}' is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{value}' must be an http(s) URL"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://dewline.example/articles/exosomes").unwrap()
    }

    #[test]
    fn scripts_handlers_frames_and_javascript_urls_go() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p>
<iframe src="https://evil.example"></iframe><a href="javascript:alert(1)">x</a><img src="a.png" onerror="x()">"#;
        let clean = sanitize_html(dirty, &base());
        for bad in ["script", "onclick", "iframe", "javascript:", "onerror"] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("<p>Hi</p>"));
    }

    #[test]
    fn relative_links_become_absolute() {
        let clean = sanitize_html(
            r#"<a href="retinol-for-beginners">r</a> <img src="/img/a.png" alt="a">"#,
            &base(),
        );
        assert!(
            clean.contains(r#"href="https://dewline.example/articles/retinol-for-beginners""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://dewline.example/img/a.png""#),
            "{clean}"
        );
    }

    #[test]
    fn forbidden_characters_are_removed() {
        let mut s = "a\u{0}b\u{1b}c\td\u{FFFE}".to_string();
        assert_eq!(strip_xml_forbidden(&mut s), 3);
        assert_eq!(s, "abc\td");
    }
}
