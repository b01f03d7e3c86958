//! One item as a source describes it, and the article it becomes: titles
//! and excerpts decoded to plain text, content sanitized exactly as a
//! content file's, links absolute.

use crate::domain::text::squash_whitespace;
use crate::domain::{Article, Person, Slug};
use crate::ingest::sanitize::{absolute_url, sanitize_html, strip_xml_forbidden};
use chrono::{DateTime, Utc};
use url::Url;

/// An item read from a source, before it has a slug here.
#[derive(Debug, Clone)]
pub struct RemoteItem {
    /// Its id at the source: a WordPress post id, a feed item's guid or id
    /// (its link when it has none).
    pub id: String,
    /// The slug it has there, when it has one.
    pub slug: Option<String>,
    /// Plain text.
    pub title: String,
    /// HTML as the source gives it; sanitized when the article is made.
    pub content_html: String,
    /// Plain text; the content's first paragraph when empty.
    pub summary: String,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    /// The image's text alternative, plain text.
    pub image_alt: Option<String>,
    /// Absolute http(s): the article's URL and canonical link.
    pub url: Url,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// The source gives no publication time, only when the item was last
    /// updated (Atom's `updated` alone): once stored, the article keeps the
    /// publication time it was first stored with.
    pub dated_by_update: bool,
}

/// Why an item was not read: the item named by its id or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// What the report names: the item's URL when known, else the page's.
    pub url: Option<String>,
    pub error: String,
}

impl RemoteItem {
    /// The slug this item asks for: the source's own when it is a valid
    /// slug, else one made from its link's last segment or its title.
    pub fn wanted_slug(&self) -> Slug {
        let from_link = self
            .url
            .path_segments()
            .and_then(|mut s| s.rfind(|p| !p.is_empty()))
            .map(|p| {
                p.trim_end_matches(".html")
                    .trim_end_matches(".htm")
                    .to_owned()
            });
        self.slug
            .as_deref()
            .and_then(|s| Slug::parse(s).ok())
            .or_else(|| from_link.and_then(|s| Slug::slugify(&s).ok()))
            .or_else(|| Slug::slugify(&self.title).ok())
            .or_else(|| Slug::slugify(&format!("item {}", short_hash(&self.id))).ok())
            .unwrap_or_else(|| Slug::parse("item").unwrap_or_else(|_| unreachable!()))
    }

    /// The article this item is, under `slug`.
    pub fn into_article(self, slug: Slug, default_author: &Person) -> Article {
        let mut content = sanitize_html(&self.content_html, &self.url);
        strip_xml_forbidden(&mut content);
        let mut summary = squash_whitespace(&self.summary);
        if summary.is_empty() {
            summary = first_paragraph(&content);
        }
        strip_xml_forbidden(&mut summary);
        let mut title = self.title;
        strip_xml_forbidden(&mut title);
        let author = match self.author.map(|a| squash_whitespace(&a)) {
            Some(name) if !name.is_empty() => Person { name, email: None },
            _ => default_author.clone(),
        };
        let mut tags: Vec<String> = Vec::new();
        for t in self.tags {
            let t = squash_whitespace(&t);
            if !t.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                tags.push(t);
            }
        }
        let published = self.published.fixed_offset();
        let image = self.image.and_then(|i| absolute_url(&i, &self.url).ok());
        Article {
            slug,
            title,
            summary,
            content_html: content,
            author,
            reviewed_by: None,
            tags,
            category: self
                .category
                .map(|c| squash_whitespace(&c))
                .filter(|c| !c.is_empty()),
            image_alt: image
                .is_some()
                .then(|| self.image_alt.as_deref().map(squash_whitespace))
                .flatten()
                .map(|mut alt| {
                    strip_xml_forbidden(&mut alt);
                    alt
                })
                .filter(|alt| !alt.is_empty()),
            image,
            url: self.url.to_string(),
            published,
            updated: self
                .updated
                .filter(|u| *u > self.published)
                .map(|u| u.fixed_offset()),
        }
    }
}

/// A short, stable digest of `s`.
pub fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(s.as_bytes())[..6])
}

/// An absolute http(s) URL, or why not.
pub fn http_url(value: &str, base: Option<&Url>) -> Result<Url, String> {
    let parsed = match base {
        Some(b) => b.join(value.trim()),
        None => Url::parse(value.trim()),
    };
    match parsed {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
        Ok(_) => Err(format!("'{value}' is not an http(s) URL")),
        Err(e) => Err(format!("'{value}' is not a URL ({e})")),
    }
}

/// The plain text of the first paragraph of sanitized HTML, or of the
/// whole when it has none; 300 characters at most.
fn first_paragraph(html: &str) -> String {
    let part = html
        .find("<p>")
        .and_then(|start| {
            let rest = &html[start + 3..];
            rest.find("</p>").map(|end| &rest[..end])
        })
        .unwrap_or(html);
    let text = html_to_text(part);
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", text[..i].trim_end()),
        None => text,
    }
}

/// Text from an HTML fragment: tags dropped, entities decoded, white space
/// squashed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    squash_whitespace(&decode_entities(&out))
}

/// Decodes HTML character references: numeric ones (`&#8217;`,
/// `&#x2019;`) and the named ones WordPress and feeds use. Anything else
/// is left as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i + 1);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "middot" => '·',
        "bull" => '•',
        "times" => '×',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "ccedil" => 'ç',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("Retinol&#8217;s &#x201C;purge&#x201d; &amp; you &foo; & more"),
            "Retinol’s “purge” & you &foo; & more"
        );
        assert_eq!(html_to_text("<b>Sun</b>&nbsp;care&hellip;"), "Sun care…");
    }

    #[test]
    fn slugs_come_from_the_source_then_the_link_then_the_title() {
        let item = |slug: Option<&str>, link: &str| RemoteItem {
            id: "1".into(),
            slug: slug.map(str::to_owned),
            title: "Niacinamide, Explained".into(),
            content_html: String::new(),
            summary: String::new(),
            author: None,
            tags: vec![],
            category: None,
            image: None,
            image_alt: None,
            url: Url::parse(link).unwrap(),
            published: Utc::now(),
            updated: None,
            dated_by_update: false,
        };
        let s = |i: RemoteItem| i.wanted_slug().as_str().to_owned();
        assert_eq!(
            s(item(Some("niacinamide"), "https://a.example/x/")),
            "niacinamide"
        );
        assert_eq!(
            s(item(
                Some("%e2%80%99bad"),
                "https://a.example/2026/11/zinc-facts/"
            )),
            "zinc-facts"
        );
        assert_eq!(s(item(None, "https://a.example/")), "niacinamide-explained");
    }
}
