//! `feeds/index.opml`: every feed, for feed readers that import a list.

use crate::config::Config;
use crate::store::TopicSummary;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `topics` sorted by id. Each feed is listed in every configured format;
/// no date, so the same topics give the same bytes.
pub fn render(config: &Config, topics: &[TopicSummary]) -> Vec<u8> {
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
    out.push_str("    </outline>\n  </body>\n</opml>\n");
    out.into_bytes()
}
