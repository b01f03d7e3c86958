//! `feeds/index.opml`: every feed, for feed readers that import a list,
//! and the head of each feed's archive.
//!
//! The archive heads (each feed's newest RFC 5005 archive page, in Atom and
//! JSON Feed) are listed in their own "Archives" outline as OPML 2.0
//! `type="link"` outlines with a `url` attribute, not as feed outlines
//! with `xmlUrl`: a reader importing the list subscribes to the feeds, and
//! does not also subscribe to a page that will never change. A reader or
//! a crawler that wants the history starts from a head and follows
//! `prev-archive` (or `next_url`) back to page 1.

use super::archive;
use crate::config::Config;
use crate::store::TopicSummary;
use std::collections::BTreeMap;

/// The newest full archive page of each feed (0: none yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heads {
    pub site: u32,
    pub topics: BTreeMap<String, u32>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `topics` sorted by id. Each feed is listed in every configured format;
/// no date, so the same topics and heads give the same bytes.
pub fn render(config: &Config, topics: &[TopicSummary], heads: &Heads) -> Vec<u8> {
    let site = &config.site;
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n");
    out.push_str(&format!(
        "    <title>{}: feeds</title>\n  </head>\n  <body>\n",
        esc(&site.title)
    ));
    let outline = |out: &mut String, indent: &str, title: &str, path: &str| {
        for f in &config.feeds.formats {
            let kind = match f {
                crate::config::FeedFormat::Rss => "rss",
                crate::config::FeedFormat::Atom => "atom",
                crate::config::FeedFormat::Json => "json",
            };
            let url = site.url(&format!("/feeds/{path}{}", f.file_name()));
            out.push_str(&format!(
                "{indent}<outline type=\"{kind}\" text=\"{t} ({l})\" title=\"{t} ({l})\" xmlUrl=\"{u}\" htmlUrl=\"{h}\"/>\n",
                t = esc(title),
                l = f.label(),
                u = esc(&url),
                h = esc(&format!("{}/", site.base())),
            ));
        }
    };
    outline(&mut out, "    ", &site.title, "");
    outline(
        &mut out,
        "    ",
        &format!("{}: trending now", site.title),
        "trending/",
    );
    out.push_str("    <outline text=\"Topics\" title=\"Topics\">\n");
    for t in topics {
        outline(
            &mut out,
            "      ",
            &format!("{}: {}", site.title, t.label),
            &format!("topics/{}/", t.id),
        );
    }
    out.push_str("    </outline>\n");
    let mut listed = Vec::new();
    if heads.site > 0 {
        listed.push((site.title.clone(), String::new(), heads.site));
    }
    for t in topics {
        if let Some(n) = heads.topics.get(&t.id).filter(|n| **n > 0) {
            listed.push((
                format!("{}: {}", site.title, t.label),
                format!("topics/{}", t.id),
                *n,
            ));
        }
    }
    if !listed.is_empty() {
        out.push_str("    <outline text=\"Archives\" title=\"Archives\">\n");
        for (title, path, n) in listed {
            for f in archive::page_formats(&config.feeds.formats) {
                let url = site.url(&format!("/feeds/{}", archive::page_file(&path, n, f)));
                let t = format!("{title}: archive, page {n} ({})", f.label());
                out.push_str(&format!(
                    "      <outline type=\"link\" text=\"{t}\" title=\"{t}\" url=\"{u}\"/>\n",
                    t = esc(&t),
                    u = esc(&url),
                ));
            }
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}
