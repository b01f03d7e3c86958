//! JSON Feed 1.1, as plain serde structs.

use super::FeedView;
use crate::config::FeedFormat;
use serde::Serialize;

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
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
}

pub fn render(view: &FeedView) -> Vec<u8> {
    let older = match view.page {
        Some(n) => n.checked_sub(1).filter(|n| *n > 0),
        None => view.newest_archive,
    };
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
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
        items: view
            .items
            .iter()
            .map(|i| Item {
                id: &i.id,
                url: &i.url,
                title: &i.title,
                content_html: (!i.content_html.is_empty()).then_some(i.content_html.as_str()),
                content_text: i.content_html.is_empty().then_some(i.summary.as_str()),
                summary: &i.summary,
                image: i.image.as_deref(),
                date_published: i.published.to_rfc3339(),
                date_modified: i.updated.to_rfc3339(),
                authors: vec![Author {
                    name: &i.author.name,
                }],
                tags: i.tags.iter().map(String::as_str).collect(),
            })
            .collect(),
    };
    // Serializing plain structs of strings cannot fail.
    let mut out = serde_json::to_vec_pretty(&feed).unwrap_or_default();
    out.push(b'\n');
    out
}
