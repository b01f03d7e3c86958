//! Atom 1.0 (RFC 4287).

use super::archive::{self, NS_AT, NS_FH};
use super::{FeedView, ItemView, entries};
use crate::config::FeedFormat;
use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, EntryBuilder, FeedBuilder, Generator, Link, Person, Text, WriteConfig,
};
use chrono::SecondsFormat;
use std::collections::BTreeMap;

fn person(p: &crate::domain::Person) -> Person {
    Person {
        name: p.name.clone(),
        email: p.email.clone(),
        ..Default::default()
    }
}

fn link(href: String, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    }
}

fn entry(i: &ItemView) -> Entry {
    let mut categories: Vec<Category> = Vec::new();
    for t in i.category.iter().chain(i.tags.iter()) {
        if !categories.iter().any(|c| c.term.eq_ignore_ascii_case(t)) {
            categories.push(Category {
                term: t.clone(),
                scheme: None,
                label: None,
            });
        }
    }
    let mut contributors = Vec::new();
    if let Some(r) = &i.reviewed_by {
        contributors.push(Person {
            name: r.clone(),
            ..Default::default()
        });
    }
    EntryBuilder::default()
        .id(i.id.clone())
        .title(Text::plain(i.title.clone()))
        .published(Some(i.published))
        .updated(i.updated)
        .authors(vec![person(&i.author)])
        .contributors(contributors)
        .summary(Some(Text::plain(i.summary.clone())))
        // A summary-only item (topic archive pages) has no content; its
        // alternate link stands in for it, as RFC 4287 allows.
        .content((!i.content_html.is_empty()).then(|| Content {
            value: Some(i.content_html.clone()),
            content_type: Some("html".to_owned()),
            ..Default::default()
        }))
        .links(vec![link(i.url.clone(), "alternate", Some("text/html"))])
        .categories(categories)
        .build()
}

fn extension(name: &str, attrs: &[(&str, String)]) -> Extension {
    Extension {
        name: name.to_owned(),
        value: None,
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        children: BTreeMap::new(),
    }
}

/// The subscription document an archive page names as `current`: the Atom
/// one, or the RSS one when only RSS is configured.
fn current_format(view: &FeedView) -> FeedFormat {
    if view.formats.contains(&FeedFormat::Atom) {
        FeedFormat::Atom
    } else {
        FeedFormat::Rss
    }
}

/// RFC 5005 links and elements, and RFC 6721 tombstones.
fn history(view: &FeedView, links: &mut Vec<Link>) -> (BTreeMap<String, String>, ExtensionMap) {
    let atom = Some(FeedFormat::Atom.media_type());
    let page = |n: u32| view.public(&archive::page_file(&view.path, n, FeedFormat::Atom));
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::new();
    match view.page {
        Some(n) => {
            let current = current_format(view);
            links.push(link(
                view.public(&view.current_file(current)),
                "current",
                Some(current.media_type()),
            ));
            if n > 1 {
                links.push(link(page(n - 1), "prev-archive", atom));
            }
            links.push(link(page(n + 1), "next-archive", atom));
            namespaces.insert("fh".to_owned(), NS_FH.to_owned());
            extensions.insert(
                "fh".to_owned(),
                BTreeMap::from([("archive".to_owned(), vec![extension("fh:archive", &[])])]),
            );
        }
        None => {
            if let Some(newest) = view.newest_archive {
                links.push(link(view.url(FeedFormat::Atom), "current", atom));
                links.push(link(page(newest), "prev-archive", atom));
            }
            if !view.tombstones.is_empty() {
                namespaces.insert("at".to_owned(), NS_AT.to_owned());
                let deleted = view
                    .tombstones
                    .iter()
                    .map(|t| {
                        extension(
                            "at:deleted-entry",
                            &[
                                ("ref", t.id.clone()),
                                ("when", t.when.to_rfc3339_opts(SecondsFormat::Secs, true)),
                            ],
                        )
                    })
                    .collect();
                extensions.insert(
                    "at".to_owned(),
                    BTreeMap::from([("deleted-entry".to_owned(), deleted)]),
                );
            }
        }
    }
    (namespaces, extensions)
}

/// The feed, with its entries made from the cache: see `entries`.
pub fn render(view: &FeedView) -> Vec<u8> {
    if view.items.is_empty() {
        return document(view, Vec::new());
    }
    let placeholder = EntryBuilder::default()
        .id(entries::PLACEHOLDER.to_owned())
        .build();
    let skeleton = document(view, vec![placeholder]);
    let xml = entries::XmlEntries {
        format: FeedFormat::Atom,
        open: OPEN,
        close: CLOSE,
        mark: format!("<id>{}</id>", entries::PLACEHOLDER),
        lone,
    };
    xml.splice_into(&skeleton, &view.items)
        .unwrap_or_else(|| document(view, view.items.iter().map(|i| entry(i)).collect()))
}

const OPEN: &[u8] = b"<entry>";
const CLOSE: &[u8] = b"</entry>";

/// How an entry is rendered alone, for rendering ahead.
pub(super) const RENDERER: entries::Renderer = entries::Renderer {
    format: FeedFormat::Atom,
    lone,
    cut: |doc| entries::cut(doc, OPEN, CLOSE),
};

/// A document whose only entry is `item`'s, for `entries::cut`.
fn lone(item: &ItemView) -> Vec<u8> {
    let feed = FeedBuilder::default().entries(vec![entry(item)]).build();
    write(&feed)
}

fn write(feed: &atom_syndication::Feed) -> Vec<u8> {
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    // Writing into a Vec cannot fail.
    let mut out = feed
        .write_with_config(Vec::new(), config)
        .unwrap_or_default();
    out.push(b'\n');
    out
}

/// The feed with these entries, written by the crate.
fn document(view: &FeedView, entries: Vec<Entry>) -> Vec<u8> {
    let mut links = vec![
        link(
            view.url(FeedFormat::Atom),
            "self",
            Some(FeedFormat::Atom.media_type()),
        ),
        link(view.home_url.clone(), "alternate", Some("text/html")),
    ];
    if let Some(hub) = &view.hub {
        links.push(link(hub.clone(), "hub", None));
    }
    let (namespaces, extensions) = history(view, &mut links);
    let mut feed = FeedBuilder::default()
        .id(view.url(FeedFormat::Atom))
        .title(Text::plain(view.title.clone()))
        .subtitle(Some(Text::plain(view.description.clone())))
        .updated(view.updated)
        .authors(vec![person(&view.author)])
        .links(links)
        .generator(Some(Generator {
            value: "feedletter".to_owned(),
            uri: None,
            version: None,
        }))
        .entries(entries)
        .build();
    feed.lang = Some(view.language.clone());
    feed.namespaces = namespaces;
    feed.extensions = extensions;
    write(&feed)
}

/// The whole feed written by the crate in one go: what `render` must equal.
#[cfg(test)]
pub(super) fn render_whole(view: &FeedView) -> Vec<u8> {
    document(view, view.items.iter().map(|i| entry(i)).collect())
}
