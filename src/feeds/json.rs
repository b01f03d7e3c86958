//! JSON Feed 1.1, as plain serde structs.

use super::{FeedView, ItemView, entries};
use crate::config::FeedFormat;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: String,
    description: &'a str,
    language: &'a str,
    authors: Vec<Author<'a>>,
    /// Older items: the newest archive page from the current feed, the
    /// page before from an archive page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    /// Only for a summary-only item (topic archive pages): JSON Feed wants
    /// one of the two contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    /// Left out when it is the `content_text`: a topic page would carry
    /// every summary twice (about 48 MB of its 104 at 10,000 articles).
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
}

fn item(i: &ItemView) -> Item<'_> {
    Item {
        id: &i.id,
        url: &i.url,
        title: &i.title,
        content_html: (!i.content_html.is_empty()).then_some(i.content_html.as_str()),
        content_text: i.content_html.is_empty().then_some(i.summary.as_str()),
        summary: (!i.content_html.is_empty()).then_some(i.summary.as_str()),
        image: i.image.as_deref(),
        date_published: i.published.to_rfc3339(),
        date_modified: i.updated.to_rfc3339(),
        authors: vec![Author {
            name: &i.author.name,
        }],
        tags: i.tags.iter().map(String::as_str).collect(),
    }
}

/// The feed with these items, written by serde_json.
fn document<'a>(view: &'a FeedView, items: Vec<Item<'a>>) -> Vec<u8> {
    let older = match view.page {
        Some(n) => n.checked_sub(1).filter(|n| *n > 0),
        None => view.newest_archive,
    };
    let feed = JsonFeed {
        version: VERSION,
        title: &view.title,
        home_page_url: &view.home_url,
        feed_url: view.url(FeedFormat::Json),
        description: &view.description,
        language: &view.language,
        next_url: older
            .map(|n| view.public(&super::archive::page_file(&view.path, n, FeedFormat::Json))),
        authors: vec![Author {
            name: &view.author.name,
        }],
        hubs: view
            .hub
            .as_deref()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .into_iter()
            .collect(),
        items,
    };
    write(&feed)
}

const VERSION: &str = "https://jsonfeed.org/version/1.1";

fn write(feed: &JsonFeed) -> Vec<u8> {
    // Serializing plain structs of strings cannot fail.
    let mut out = serde_json::to_vec_pretty(feed).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `items` is the feed's last member: an empty list is written `[]`, and
/// each item of a list on lines of its own, indented by four spaces.
const EMPTY: &[u8] = b"\"items\": []";
const OPEN: &[u8] = b"\"items\": [";
const CLOSE: &[u8] = b"\n  ]";

/// The feed, with its items made from the cache: see `entries`.
pub fn render(view: &FeedView) -> Vec<u8> {
    let skeleton = document(view, Vec::new());
    if view.items.is_empty() {
        return skeleton;
    }
    let parts: Vec<Arc<[u8]>> = view
        .items
        .iter()
        .map(|i| entries::entry(FeedFormat::Json, i, lone, cut))
        .collect();
    // Member names and values are escaped strings: the last `"items": []`
    // is the list's.
    let Some(at) = skeleton.windows(EMPTY.len()).rposition(|w| w == EMPTY) else {
        return skeleton;
    };
    let len = skeleton.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>() + CLOSE.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&skeleton[..at]);
    out.extend_from_slice(OPEN);
    for (n, p) in parts.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(p);
    }
    out.extend_from_slice(CLOSE);
    out.extend_from_slice(&skeleton[at + EMPTY.len()..]);
    out
}

/// How an item is rendered alone, for rendering ahead.
pub(super) const RENDERER: entries::Renderer = entries::Renderer {
    format: FeedFormat::Json,
    lone,
    cut,
};

/// A document whose only item is `i`'s.
fn lone(i: &ItemView) -> Vec<u8> {
    let feed = JsonFeed {
        version: VERSION,
        title: "",
        home_page_url: "",
        feed_url: String::new(),
        description: "",
        language: "",
        authors: Vec::new(),
        next_url: None,
        hubs: Vec::new(),
        items: vec![item(i)],
    };
    write(&feed)
}

/// The item of a `lone` document, with the line break and indentation
/// before it: from after the list's `[` to before its `]`.
fn cut(doc: &[u8]) -> Vec<u8> {
    let start = doc.windows(OPEN.len()).position(|w| w == OPEN);
    let end = doc.windows(CLOSE.len()).rposition(|w| w == CLOSE);
    match (start, end) {
        (Some(s), Some(e)) if s + OPEN.len() <= e => doc[s + OPEN.len()..e].to_vec(),
        _ => Vec::new(),
    }
}

/// The whole feed written by serde_json in one go: what `render` must
/// equal.
#[cfg(test)]
pub(super) fn render_whole(view: &FeedView) -> Vec<u8> {
    document(view, view.items.iter().map(|i| item(i)).collect())
}
