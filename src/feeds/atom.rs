//! Atom 1.0 (RFC 4287).

use super::{FeedView, ItemView};
use crate::config::FeedFormat;
use atom_syndication::{
    Category, Content, Entry, EntryBuilder, FeedBuilder, Generator, Link, Person, Text, WriteConfig,
};

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
        .content(Some(Content {
            value: Some(i.content_html.clone()),
            content_type: Some("html".to_owned()),
            ..Default::default()
        }))
        .links(vec![link(i.url.clone(), "alternate", Some("text/html"))])
        .categories(categories)
        .build()
}

pub fn render(view: &FeedView) -> Vec<u8> {
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
        .entries(view.items.iter().map(entry).collect::<Vec<_>>())
        .build();
    feed.lang = Some(view.language.clone());
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
