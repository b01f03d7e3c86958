//! Reading one article file: split the front matter, deserialize it into a
//! typed struct, validate, render the Markdown. Every error names the field.

use super::front_matter::{AuthorField, FrontMatter, split_front_matter};
use super::sanitize::{absolute_url, sanitize_html, strip_xml_forbidden};
use crate::domain::text::squash_whitespace;
use crate::domain::{Article, Person, Slug};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use url::Url;

/// What the site contributes to reading an article.
#[derive(Debug, Clone)]
pub struct ReadContext {
    pub timezone: Tz,
    pub default_author: Person,
    /// `site.article_url` with `{base_url}` already filled in.
    pub article_url: String,
}

impl ReadContext {
    fn url_for(&self, slug: &Slug) -> String {
        self.article_url.replace("{slug}", slug.as_str())
    }
}

/// The result of reading a file that parsed.
#[derive(Debug, Clone)]
pub enum Parsed {
    Article {
        article: Box<Article>,
        /// Characters XML forbids that were removed.
        stripped: usize,
    },
    Draft,
}

/// Reads a date: RFC 3339, or `YYYY-MM-DD[ HH:MM[:SS]]` in `tz`.
pub fn parse_date(field: &str, s: &str, tz: Tz) -> Result<DateTime<FixedOffset>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1)) {
        return Ok(d);
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| {
        format!("{field}: '{s}' is not a date (use RFC 3339, or YYYY-MM-DD with an optional HH:MM)")
    })?;
    // In a spring-forward gap, take the first valid instant after it.
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .ok_or_else(|| format!("{field}: '{s}' does not exist in {tz}"))?;
    Ok(local.fixed_offset())
}

fn clean_line(s: &str) -> String {
    squash_whitespace(s)
}

/// Reads one article from its text. `file_stem` is the file name without
/// `.md`, the default slug. The checks run in the order the fields are
/// listed, and the first failure is the message.
pub fn read_article(text: &str, file_stem: &str, ctx: &ReadContext) -> Result<Parsed, String> {
    let mut text = text.to_owned();
    let stripped = strip_xml_forbidden(&mut text);
    let (fm, body) = front_matter(&text)?;
    if fm.draft {
        return Ok(Parsed::Draft);
    }
    let title = clean_line(fm.title.as_deref().unwrap_or(""));
    if title.is_empty() {
        return Err("title: missing (every article needs a title)".into());
    }
    let (published, updated) = dates(&fm, ctx.timezone)?;
    let slug = slug_of(fm.slug.as_deref(), file_stem)?;
    let url = url_of(fm.url.as_deref(), &slug, ctx)?;
    let base = Url::parse(&url).map_err(|e| format!("url: '{url}' is not a URL ({e})"))?;
    let author = author_of(fm.author, ctx)?;
    let image = fm
        .image
        .as_deref()
        .map(|i| absolute_url(i, &base).map_err(|e| format!("image: {e}")))
        .transpose()?;
    let image_alt = image_alt_of(fm.image_alt.as_deref(), image.is_some())?;
    let tags = tags_of(&fm.tags);

    let (html, first_paragraph) = render_markdown(body);
    let content_html = sanitize_html(&html, &base);
    let summary = fm
        .summary
        .as_deref()
        .map(clean_line)
        .filter(|s| !s.is_empty())
        .unwrap_or(first_paragraph);

    Ok(Parsed::Article {
        article: Box::new(Article {
            slug,
            title,
            summary,
            content_html,
            author,
            reviewed_by: fm
                .reviewed_by
                .map(|r| clean_line(&r))
                .filter(|r| !r.is_empty()),
            tags,
            category: fm
                .category
                .map(|c| clean_line(&c))
                .filter(|c| !c.is_empty()),
            image,
            image_alt,
            url,
            published,
            updated,
        }),
        stripped,
    })
}

/// The image's text alternative on one line; an error when there is no
/// image for it to describe (a misplaced or misspelt `image`).
fn image_alt_of(alt: Option<&str>, has_image: bool) -> Result<Option<String>, String> {
    let Some(alt) = alt.map(clean_line).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if has_image {
        Ok(Some(alt))
    } else {
        Err(format!(
            "image_alt: '{alt}' describes no image (set `image` too)"
        ))
    }
}

/// The front matter, deserialized, and the body after it.
fn front_matter(text: &str) -> Result<(FrontMatter, &str), String> {
    let (fm_text, body, is_toml) = split_front_matter(text)?;
    let fm = if is_toml {
        toml::from_str(fm_text)
            .map_err(|e| format!("TOML front matter: {}", squash_whitespace(e.message())))?
    } else if fm_text.trim().is_empty() {
        return Err("front matter is empty: title and published are required".into());
    } else {
        serde_saphyr::from_str(fm_text).map_err(|e| {
            let msg = e.to_string();
            format!(
                "YAML front matter: {}",
                squash_whitespace(msg.lines().next().unwrap_or(&msg))
            )
        })?
    };
    Ok((fm, body))
}

/// `published` (required) and `updated` (never before it).
fn dates(
    fm: &FrontMatter,
    tz: Tz,
) -> Result<(DateTime<FixedOffset>, Option<DateTime<FixedOffset>>), String> {
    let published = match &fm.published {
        Some(d) => parse_date("published", &d.0, tz)?,
        None => return Err("published: missing (give a date such as 2026-11-18 10:30)".into()),
    };
    let updated = fm
        .updated
        .as_ref()
        .map(|d| parse_date("updated", &d.0, tz))
        .transpose()?;
    if let Some(u) = updated.filter(|u| *u < published) {
        return Err(format!(
            "updated: {} is before published {}",
            u.to_rfc3339(),
            published.to_rfc3339()
        ));
    }
    Ok((published, updated))
}

/// The front matter's `slug`, or one made from the file name.
fn slug_of(given: Option<&str>, file_stem: &str) -> Result<Slug, String> {
    match given {
        Some(s) => Slug::parse(s.trim()).map_err(|e| format!("slug: {e}")),
        None => Slug::slugify(file_stem).map_err(|_| {
            format!("slug: cannot derive one from the file name '{file_stem}'; set slug")
        }),
    }
}

/// The front matter's `url` (absolute, http or https), or the site's
/// article URL for `slug`.
fn url_of(given: Option<&str>, slug: &Slug, ctx: &ReadContext) -> Result<String, String> {
    let Some(u) = given else {
        return Ok(ctx.url_for(slug));
    };
    let parsed =
        Url::parse(u.trim()).map_err(|e| format!("url: '{u}' is not an absolute URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("url: '{u}' must be an http(s) URL"));
    }
    Ok(parsed.to_string())
}

/// The front matter's author (a name, or a name and an e-mail address), or
/// the site's.
fn author_of(given: Option<AuthorField>, ctx: &ReadContext) -> Result<Person, String> {
    let author = match given {
        None => ctx.default_author.clone(),
        Some(AuthorField::Name(name)) => Person {
            name: clean_line(&name),
            email: None,
        },
        Some(AuthorField::Full { name, email }) => Person {
            name: clean_line(&name),
            email: email.map(|e| e.trim().to_owned()),
        },
    };
    if author.name.is_empty() {
        return Err("author: the name is empty".into());
    }
    if let Some(e) = &author.email {
        // A light check: the address only goes into feeds, never gets mail.
        let ok = e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && d.contains('.')
                && !e.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        });
        if !ok {
            return Err(format!("author.email: '{e}' is not an e-mail address"));
        }
    }
    Ok(author)
}

/// Tags on one line each, empty ones dropped, the first spelling of tags
/// that differ only in case kept.
fn tags_of(given: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in given {
        let t = clean_line(t);
        if !t.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
            tags.push(t);
        }
    }
    tags
}

/// Markdown to HTML (raw HTML passes through, to be sanitized), and the
/// plain text of the first paragraph.
fn render_markdown(body: &str) -> (String, String) {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_SMART_PUNCTUATION;
    let mut first = String::new();
    let mut state = 0u8; // 0 before, 1 inside, 2 after the first paragraph
    let events: Vec<Event> = Parser::new_ext(body, options)
        .inspect(|ev| match ev {
            Event::Start(Tag::Paragraph) if state == 0 => state = 1,
            Event::End(TagEnd::Paragraph) if state == 1 => state = 2,
            Event::Text(t) | Event::Code(t) if state == 1 => first.push_str(t),
            Event::SoftBreak | Event::HardBreak if state == 1 => first.push(' '),
            _ => {}
        })
        .collect();
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    (html, squash_whitespace(&first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ReadContext {
        ReadContext {
            timezone: chrono_tz::Asia::Kolkata,
            default_author: Person {
                name: "Desk".into(),
                email: None,
            },
            article_url: "https://d.example/articles/{slug}".into(),
        }
    }

    fn article(text: &str) -> Article {
        match read_article(text, "file-name", &ctx()).unwrap() {
            Parsed::Article { article, .. } => *article,
            Parsed::Draft => panic!("draft"),
        }
    }

    #[test]
    fn yaml_with_local_time_reads_in_the_site_zone() {
        let a =
            article("---\ntitle: Hi\npublished: 2026-11-18 10:30\n---\nFirst *para*.\n\nSecond.\n");
        assert_eq!(a.published.to_rfc3339(), "2026-11-18T10:30:00+05:30");
        assert_eq!(a.summary, "First para.");
        assert_eq!(a.slug.as_str(), "file-name");
        assert_eq!(a.url, "https://d.example/articles/file-name");
    }

    #[test]
    fn toml_native_and_string_dates() {
        let a = article(
            "+++\ntitle = \"T\"\ndate = 2026-10-09T08:00:00+05:30\nupdated = \"2026-10-10\"\n+++\nBody\n",
        );
        assert_eq!(a.published.to_rfc3339(), "2026-10-09T08:00:00+05:30");
        assert_eq!(a.updated.unwrap().to_rfc3339(), "2026-10-10T00:00:00+05:30");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("---\npublished: 2026-01-01\n---\n", "title"),
            ("---\ntitle: T\npublished: next tuesday\n---\n", "published"),
            ("---\ntitle: T\n---\n", "published"),
            (
                "---\ntitle: T\npublished: 2026-01-01\nslug: Bad Slug\n---\n",
                "slug",
            ),
            (
                "---\ntitle: T\npublished: 2026-01-01\ntitel: x\n---\n",
                "titel",
            ),
            ("---\ntitle: [unclosed\n---\n", "YAML"),
            ("no front matter", "front matter"),
            (
                "---\ntitle: T\npublished: 2026-01-02\nupdated: 2026-01-01\n---\n",
                "updated",
            ),
            (
                "---\ntitle: T\npublished: 2026-01-02\nauthor: {name: A, email: nope}\n---\n",
                "author.email",
            ),
            (
                "---\ntitle: T\npublished: 2026-01-02\nimage_alt: A jar\n---\n",
                "image_alt",
            ),
        ];
        for (text, field) in cases {
            let e = read_article(text, "x", &ctx()).unwrap_err();
            assert!(
                e.contains(field),
                "{text:?} gave {e:?}, expected it to name {field}"
            );
        }
    }

    #[test]
    fn the_image_keeps_its_alt_text_on_one_line() {
        let a = article(
            "---\ntitle: T\npublished: 2026-01-02\nimage: /img/jar.jpg\nimage_alt: \"A  jar of\\n cream\"\n---\nBody\n",
        );
        assert_eq!(a.image.as_deref(), Some("https://d.example/img/jar.jpg"));
        assert_eq!(a.image_alt.as_deref(), Some("A jar of cream"));
        let plain =
            article("---\ntitle: T\npublished: 2026-01-02\nimage: /img/jar.jpg\n---\nBody\n");
        assert_eq!(plain.image_alt, None);
        // Absent, the field leaves the hash as it was before it existed.
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("image_alt"), "{json}");
    }

    #[test]
    fn drafts_are_recognised() {
        assert!(matches!(
            read_article("---\ntitle: T\ndraft: true\n---\n", "x", &ctx()).unwrap(),
            Parsed::Draft
        ));
    }
}
