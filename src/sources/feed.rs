//! An RSS 2.0, Atom 1.0 or JSON Feed 1.1 document, told apart from its
//! bytes, fetched with a conditional GET. A feed is a window: an item that
//! drops off its end stays published; an Atom tombstone (RFC 6721
//! `at:deleted-entry`) withdraws the entry it names.

use super::Pass;
use super::http::Fetcher;
use super::item::{ItemError, RemoteItem, html_to_text, http_url};
use crate::store::SourceState;
use feed_rs::model::{Entry, FeedType, MediaContent, MediaObject, Text};
use url::Url;

/// RFC 6721's namespace.
const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";

pub(super) async fn pass(fetcher: &Fetcher, url: &Url, state: &SourceState) -> Pass {
    let mut pass = Pass::default();
    let mut headers = vec![(
        "accept",
        "application/feed+json, application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5",
    )];
    if let Some(etag) = &state.etag {
        headers.push(("if-none-match", etag));
    }
    if let Some(lm) = &state.last_modified {
        headers.push(("if-modified-since", lm));
    }
    let fetched = match fetcher.get(url, &headers).await {
        Ok(f) => f,
        Err(e) => {
            pass.fail(url.as_str(), &e.message, e.retry_after);
            return pass;
        }
    };
    if fetched.status == reqwest::StatusCode::NOT_MODIFIED {
        pass.not_modified = true;
        pass.validators = Some((state.etag.clone(), state.last_modified.clone()));
        return pass;
    }
    match read(&fetched.body, &fetched.url, &fetched.media_type()) {
        Ok((items, errors, tombstones)) => {
            pass.items = items;
            pass.item_errors = errors;
            pass.tombstones = tombstones;
            pass.validators = Some((
                fetched.header("etag").map(str::to_owned),
                fetched.header("last-modified").map(str::to_owned),
            ));
        }
        Err(e) => pass.fail(url.as_str(), &e, None),
    }
    pass
}

type Read = (Vec<RemoteItem>, Vec<ItemError>, Vec<String>);

/// The document's items (those that read), the items' problems, and the
/// ids its tombstones name.
pub(super) fn read(body: &[u8], url: &Url, media: &str) -> Result<Read, String> {
    let start = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    // By the bytes: some servers label feeds text/html.
    let html = head.contains("<!doctype html") || head.trim_start().starts_with("<html");
    if html {
        return Err(format!(
            "expected a feed (RSS, Atom or JSON Feed), got an HTML page{}",
            if media.is_empty() {
                String::new()
            } else {
                format!(" ({media})")
            }
        ));
    }
    if start.is_none() {
        return Err("the response is empty".into());
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .sanitize_content(false)
        // Identity falls back to the item's link when it has no guid or id.
        .id_generator(|links, title, uri| match links.first() {
            Some(l) => l.href.clone(),
            None => feed_rs::parser::generate_id(links, title, uri),
        })
        .build();
    let feed = parser.parse(body).map_err(|e| match e {
        feed_rs::parser::ParseFeedError::ParseError(kind) => {
            format!("not an RSS, Atom or JSON feed ({kind:?})")
        }
        other => format!("the feed does not parse (cut short?): {other}"),
    })?;
    let tombstones = if feed.feed_type == FeedType::Atom {
        tombstones(body)?
    } else {
        Vec::new()
    };
    let feed_author = feed.authors.first().and_then(|a| a.name.clone());
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for entry in feed.entries {
        match read_entry(entry, url, feed_author.as_deref()) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(e),
        }
    }
    Ok((items, errors, tombstones))
}

/// Text as plain text: HTML titles lose their markup and entities.
fn plain(text: &Text) -> String {
    if text.content_type.essence().to_string().contains("html") {
        html_to_text(&text.content)
    } else {
        html_to_text(&text.content.replace('<', "&lt;"))
    }
}

fn read_entry(
    entry: Entry,
    feed_url: &Url,
    feed_author: Option<&str>,
) -> Result<RemoteItem, ItemError> {
    let id = entry.id.trim().to_owned();
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.clone())
        // An RSS guid that is a permalink.
        .or_else(|| http_url(&id, None).ok().map(|u| u.to_string()));
    let name = link.clone().unwrap_or_else(|| id.clone());
    let fail = |error: String| ItemError {
        url: Some(link.clone().unwrap_or_else(|| feed_url.to_string())),
        error: format!("item '{name}': {error}"),
    };
    let url = http_url(
        &link.clone().ok_or_else(|| fail("no link".into()))?,
        Some(feed_url),
    )
    .map_err(|e| fail(format!("link: {e}")))?;
    let title = entry.title.as_ref().map(plain).unwrap_or_default();
    if title.is_empty() {
        return Err(fail("title: missing".into()));
    }
    let published = entry
        .published
        .or(entry.updated)
        .ok_or_else(|| fail("no publication date (missing, or not a date)".into()))?;
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .or_else(|| entry.summary.as_ref().map(|s| s.content.clone()))
        .unwrap_or_default();
    let summary = entry.summary.as_ref().map(plain).unwrap_or_default();
    let tags = entry
        .categories
        .iter()
        .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
        .collect();
    let (image, image_alt) = image_of(&entry.media);
    Ok(RemoteItem {
        id: if id.is_empty() { url.to_string() } else { id },
        slug: None,
        title,
        content_html: content,
        summary,
        author: entry
            .authors
            .first()
            .and_then(|a| a.name.clone())
            .or_else(|| feed_author.map(str::to_owned)),
        tags,
        category: None,
        image,
        image_alt,
        url,
        published,
        updated: entry.updated,
        dated_by_update: entry.published.is_none(),
    })
}

/// The item's picture and its text alternative: the first media object
/// (Media RSS `media:content` or `media:group`, an RSS `enclosure`) with a
/// thumbnail or an image, described by its `media:description`, else its
/// `media:title`. JSON Feed's `image` has no text alternative (and feed-rs
/// does not read it).
fn image_of(media: &[MediaObject]) -> (Option<String>, Option<String>) {
    for m in media {
        let url = m
            .thumbnails
            .first()
            .map(|t| t.image.uri.clone())
            .or_else(|| {
                m.content
                    .iter()
                    .find(|c| is_image(c))
                    .and_then(|c| c.url.as_ref())
                    .map(|u| u.to_string())
            });
        if let Some(url) = url {
            let alt = m
                .description
                .as_ref()
                .or(m.title.as_ref())
                .map(plain)
                .filter(|a| !a.is_empty());
            return (Some(url), alt);
        }
    }
    (None, None)
}

/// An image by its media type, or by its file name when it has none.
fn is_image(c: &MediaContent) -> bool {
    match &c.content_type {
        Some(t) => t.essence().to_string().starts_with("image/"),
        None => c.url.as_ref().is_some_and(|u| {
            let path = u.path().to_ascii_lowercase();
            [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"]
                .iter()
                .any(|ext| path.ends_with(ext))
        }),
    }
}

/// The `ref` of every `at:deleted-entry` in an Atom document.
fn tombstones(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the feed is not UTF-8: {e}"))?;
    let doc = roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .map_err(|e| format!("the feed is not well-formed XML: {e}"))?;
    Ok(doc
        .descendants()
        .filter(|n| {
            n.tag_name().name() == "deleted-entry"
                && n.tag_name().namespace() == Some(TOMBSTONES_NS)
        })
        .filter_map(|n| n.attribute("ref").map(|r| r.trim().to_owned()))
        .filter(|r| !r.is_empty())
        .collect())
}
