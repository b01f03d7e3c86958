//! RSS 2.0 with the content, Dublin Core and Atom extensions.

use super::{FeedView, ItemView, entries};
use crate::config::FeedFormat;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, ChannelBuilder, Guid, ItemBuilder};

fn item(i: &ItemView) -> rss::Item {
    let categories = i
        .category
        .iter()
        .chain(i.tags.iter())
        .map(|t| Category {
            name: t.clone(),
            domain: None,
        })
        .collect::<Vec<_>>();
    let categories = {
        let mut seen: Vec<Category> = Vec::new();
        for c in categories {
            if !seen.iter().any(|s| s.name.eq_ignore_ascii_case(&c.name)) {
                seen.push(c);
            }
        }
        seen
    };
    ItemBuilder::default()
        .title(Some(i.title.clone()))
        .link(Some(i.url.clone()))
        .guid(Some(Guid {
            // The id is the permalink the article had when first seen.
            permalink: i.id.starts_with("http://") || i.id.starts_with("https://"),
            value: i.id.clone(),
        }))
        .pub_date(Some(i.published.to_rfc2822()))
        .description(Some(i.summary.clone()))
        .content(Some(i.content_html.clone()))
        .dublin_core_ext(Some(DublinCoreExtension {
            creators: vec![i.author.name.clone()],
            ..Default::default()
        }))
        .categories(categories)
        .build()
}

/// The channel with these items, written by the crate.
fn document(view: &FeedView, items: Vec<rss::Item>) -> Vec<u8> {
    let mut links = vec![Link {
        href: view.url(FeedFormat::Rss),
        rel: "self".into(),
        mime_type: Some(FeedFormat::Rss.media_type().into()),
        ..Default::default()
    }];
    if let Some(hub) = &view.hub {
        links.push(Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Default::default()
        });
    }
    if let Some(newest) = view.newest_archive {
        // RFC 5005 in RSS: the same links as atom:link; the archive pages
        // themselves are Atom.
        links.push(Link {
            href: view.url(FeedFormat::Rss),
            rel: "current".into(),
            mime_type: Some(FeedFormat::Rss.media_type().into()),
            ..Default::default()
        });
        links.push(Link {
            href: view.public(&super::archive::page_file(
                &view.path,
                newest,
                FeedFormat::Atom,
            )),
            rel: "prev-archive".into(),
            mime_type: Some(FeedFormat::Atom.media_type().into()),
            ..Default::default()
        });
    }
    let channel = ChannelBuilder::default()
        .title(view.title.clone())
        .link(view.home_url.clone())
        .description(view.description.clone())
        .language(Some(view.language.clone()))
        .last_build_date(Some(view.updated.to_rfc2822()))
        .generator(Some("feedletter".to_owned()))
        .docs(Some(
            "https://www.rssboard.org/rss-specification".to_owned(),
        ))
        .ttl(Some("15".to_owned()))
        .atom_ext(Some(AtomExtension { links }))
        .items(items)
        .build();
    write(&channel)
}

fn write(channel: &rss::Channel) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    let mut out = channel
        .pretty_write_to(Vec::new(), b' ', 2)
        .unwrap_or_default();
    out.push(b'\n');
    out
}

/// The feed, with its items made from the cache: see `entries`.
pub fn render(view: &FeedView) -> Vec<u8> {
    if view.items.is_empty() {
        return document(view, Vec::new());
    }
    // Like every item, the placeholder has content and a creator: the
    // namespaces the channel declares follow its items'.
    let placeholder = ItemBuilder::default()
        .guid(Some(Guid {
            permalink: false,
            value: entries::PLACEHOLDER.to_owned(),
        }))
        .content(Some(String::new()))
        .dublin_core_ext(Some(DublinCoreExtension {
            creators: vec![String::new()],
            ..Default::default()
        }))
        .build();
    let skeleton = document(view, vec![placeholder]);
    let xml = entries::XmlEntries {
        format: FeedFormat::Rss,
        open: b"<item>",
        close: b"</item>",
        mark: format!("{}</guid>", entries::PLACEHOLDER),
        lone,
    };
    xml.splice_into(&skeleton, &view.items)
        .unwrap_or_else(|| document(view, view.items.iter().map(|i| item(i)).collect()))
}

/// A document whose only item is `i`'s, for `entries::cut`.
fn lone(i: &ItemView) -> Vec<u8> {
    write(&ChannelBuilder::default().items(vec![item(i)]).build())
}

/// The whole channel written by the crate in one go: what `render` must
/// equal.
#[cfg(test)]
pub(super) fn render_whole(view: &FeedView) -> Vec<u8> {
    document(view, view.items.iter().map(|i| item(i)).collect())
}
