//! Feed validity beyond "a parser accepts it".
//!
//! The W3C Feed Validation Service cannot be reached from here, so its rules
//! that apply to what feedletter writes (RSS 2.0 with the RSS Advisory
//! Board's best practices, RFC 4287 for Atom, JSON Feed 1.1) are checked
//! below on the sample publication plus hostile input. Python's feedparser,
//! an independent implementation, reads the files too: it is skipped when
//! missing unless FEEDLETTER_REQUIRE_PEERS is set, as CI does.

use crate::helpers::TestSite;
use chrono::DateTime;
use std::collections::HashSet;

const RSS_NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";

/// The sample publication plus a hostile article, in archive pages of 5,
/// with one article withdrawn (so the Atom feeds carry a tombstone).
async fn hostile_site() -> TestSite {
    let site = TestSite::sample_with("[feeds]\narchive_page_size = 5\n").await;
    site.write(
        "ampersands.md",
        "---\ntitle: \"AHA & BHA <together>? \\\"Maybe\\\"\"\npublished: 2026-11-24 21:00\ntags: [\"acids & peels\", \"<b>bold</b>\"]\nauthor: { name: \"Tanvi <T> D'Souza\" }\n---\nA ]]> cdata breaker, <b onclick=\"x()\">bold</b>, [relative](../sunscreen) and ![i](img/x.png).\n\n<script>alert(1)</script>\n",
    );
    let r = site.ingest().await;
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    site.remove("chemical-peels-before-diwali.md");
    assert_eq!(site.ingest().await.withdrawn.len(), 1);
    site.build().await;
    assert!(
        String::from_utf8(site.feed_bytes("atom.xml"))
            .unwrap()
            .contains("<at:deleted-entry ")
    );
    site
}

/// Every archive page the build wrote, relative to the feeds folder.
fn archive_pages(site: &TestSite) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                walk(root, &p, out);
            } else if rel.contains("archive/") && (rel.ends_with(".xml") || rel.ends_with(".json"))
            {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(&site.feeds_dir(), &site.feeds_dir(), &mut out);
    out.sort();
    out
}

fn is_absolute_http(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Every URL attribute in an HTML fragment is absolute, and nothing active is left.
fn check_html(where_: &str, html: &str, problems: &mut Vec<String>) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "javascript:",
        "<iframe",
        " onclick=",
        " onerror=",
        " onload=",
    ] {
        if lower.contains(bad) {
            problems.push(format!("{where_}: HTML contains {bad}"));
        }
    }
    for attr in ["href=\"", "src=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            if !(is_absolute_http(value) || value.starts_with("mailto:")) {
                problems.push(format!("{where_}: relative or odd URL {value:?}"));
            }
        }
    }
}

fn rfc822(where_: &str, s: &str, problems: &mut Vec<String>) {
    match DateTime::parse_from_rfc2822(s) {
        // The validator wants a four-digit year and an explicit numeric zone or GMT.
        Ok(_) if s.len() >= 29 && s.split_whitespace().nth(3).is_some_and(|y| y.len() == 4) => {}
        _ => problems.push(format!("{where_}: {s:?} is not an RFC 822 date")),
    }
}

fn rfc3339(where_: &str, s: &str, problems: &mut Vec<String>) {
    if DateTime::parse_from_rfc3339(s).is_err() {
        problems.push(format!("{where_}: {s:?} is not an RFC 3339 date-time"));
    }
}

fn child<'a>(
    n: roxmltree::Node<'a, 'a>,
    ns: Option<&str>,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'a>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == ns)
        .collect()
}

fn text<'a>(n: roxmltree::Node<'a, 'a>) -> &'a str {
    n.text().unwrap_or("")
}

pub fn rss_problems(xml: &str, self_url: &str) -> Vec<String> {
    let mut p = Vec::new();
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let rss = doc.root_element();
    if rss.tag_name().name() != "rss" || rss.attribute("version") != Some("2.0") {
        p.push("root must be <rss version=\"2.0\">".into());
    }
    let channels = child(rss, None, "channel");
    if channels.len() != 1 {
        return vec!["exactly one <channel>".into()];
    }
    let ch = channels[0];
    for req in ["title", "link", "description"] {
        if child(ch, None, req).len() != 1 || text(child(ch, None, req)[0]).trim().is_empty() {
            p.push(format!("channel needs exactly one non-empty <{req}>"));
        }
    }
    if let Some(l) = child(ch, None, "link").first()
        && !is_absolute_http(text(*l))
    {
        p.push("channel <link> must be a full URL".into());
    }
    for d in child(ch, None, "lastBuildDate")
        .into_iter()
        .chain(child(ch, None, "pubDate"))
    {
        rfc822("channel date", text(d), &mut p);
    }
    if let Some(lang) = child(ch, None, "language").first() {
        let l = text(*lang);
        if !l
            .split('-')
            .all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            p.push(format!("language {l:?}"));
        }
    }
    let selfs: Vec<_> = child(ch, Some(RSS_NS_ATOM), "link")
        .into_iter()
        .filter(|l| l.attribute("rel") == Some("self"))
        .collect();
    if selfs.len() != 1 {
        p.push("missing atom:link rel=\"self\" (best practice)".into());
    } else {
        if selfs[0].attribute("href") != Some(self_url) {
            p.push(format!(
                "self link {:?} is not where the feed lives ({self_url})",
                selfs[0].attribute("href")
            ));
        }
        if selfs[0].attribute("type") != Some("application/rss+xml") {
            p.push("self link type must be application/rss+xml".into());
        }
    }
    let mut guids = HashSet::new();
    for (i, item) in child(ch, None, "item").into_iter().enumerate() {
        let w = format!("item {i}");
        if child(item, None, "title").is_empty() && child(item, None, "description").is_empty() {
            p.push(format!("{w}: needs a title or a description"));
        }
        for l in child(item, None, "link") {
            if !is_absolute_http(text(l)) {
                p.push(format!("{w}: link must be a full URL"));
            }
        }
        match child(item, None, "guid").as_slice() {
            [g] => {
                let permalink = g.attribute("isPermaLink") != Some("false");
                if permalink && !is_absolute_http(text(*g)) {
                    p.push(format!("{w}: a permalink guid must be a full URL"));
                }
                if !guids.insert(text(*g).to_owned()) {
                    p.push(format!("{w}: duplicate guid"));
                }
            }
            _ => p.push(format!("{w}: needs exactly one guid (best practice)")),
        }
        match child(item, None, "pubDate").as_slice() {
            [d] => rfc822(&w, text(*d), &mut p),
            _ => p.push(format!("{w}: needs a pubDate (best practice)")),
        }
        if !child(item, None, "author").is_empty() {
            p.push(format!(
                "{w}: <author> must be an e-mail address; use dc:creator"
            ));
        }
        if child(item, Some(NS_DC), "creator").is_empty() {
            p.push(format!("{w}: no dc:creator"));
        }
        for c in child(item, None, "category") {
            if text(c).trim().is_empty() {
                p.push(format!("{w}: empty category"));
            }
        }
        for c in child(item, Some(NS_CONTENT), "encoded") {
            check_html(&w, text(c), &mut p);
        }
        for d in child(item, None, "description") {
            check_html(&w, text(d), &mut p);
        }
    }
    p
}

pub fn atom_problems(xml: &str, self_url: &str) -> Vec<String> {
    let mut p = Vec::new();
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let feed = doc.root_element();
    let a = Some(RSS_NS_ATOM);
    if feed.tag_name().name() != "feed" || feed.tag_name().namespace() != a {
        return vec!["root must be atom:feed".into()];
    }
    let one = |n: roxmltree::Node, name: &str, p: &mut Vec<String>, w: &str| -> Option<String> {
        let c = child(n, a, name);
        if c.len() != 1 {
            p.push(format!("{w}: needs exactly one <{name}>, has {}", c.len()));
            return None;
        }
        Some(text(c[0]).to_owned())
    };
    if let Some(id) = one(feed, "id", &mut p, "feed")
        && url::Url::parse(&id).is_err()
    {
        p.push("feed id must be an IRI".into());
    }
    one(feed, "title", &mut p, "feed");
    if let Some(u) = one(feed, "updated", &mut p, "feed") {
        rfc3339("feed updated", &u, &mut p);
    }
    let feed_has_author = !child(feed, a, "author").is_empty();
    let links = child(feed, a, "link");
    let mut alternates = HashSet::new();
    for l in &links {
        if l.attribute("href").is_none_or(|h| !is_absolute_http(h)) {
            p.push("feed link without a full href".into());
        }
        let rel = l.attribute("rel").unwrap_or("alternate");
        if rel == "alternate" && !alternates.insert((l.attribute("type"), l.attribute("hreflang")))
        {
            p.push("two alternate links with the same type and hreflang".into());
        }
    }
    if !links
        .iter()
        .any(|l| l.attribute("rel") == Some("self") && l.attribute("href") == Some(self_url))
    {
        p.push(format!("no self link to {self_url}"));
    }
    let mut ids = HashSet::new();
    for (i, e) in child(feed, a, "entry").into_iter().enumerate() {
        let w = format!("entry {i}");
        if let Some(id) = one(e, "id", &mut p, &w) {
            if url::Url::parse(&id).is_err() {
                p.push(format!("{w}: id must be an IRI"));
            }
            if !ids.insert(id) {
                p.push(format!("{w}: duplicate id"));
            }
        }
        one(e, "title", &mut p, &w);
        if let Some(u) = one(e, "updated", &mut p, &w) {
            rfc3339(&w, &u, &mut p);
        }
        for pb in child(e, a, "published") {
            rfc3339(&w, text(pb), &mut p);
        }
        let authors = child(e, a, "author");
        if authors.is_empty() && !feed_has_author {
            p.push(format!("{w}: no author"));
        }
        for au in authors {
            if child(au, a, "name").len() != 1 {
                p.push(format!("{w}: author needs one name"));
            }
        }
        let contents = child(e, a, "content");
        match contents.as_slice() {
            [c] => {
                if c.attribute("type") != Some("html") {
                    p.push(format!("{w}: content type should be html"));
                }
                check_html(&w, text(*c), &mut p);
            }
            [] => {
                if !child(e, a, "link")
                    .iter()
                    .any(|l| l.attribute("rel").unwrap_or("alternate") == "alternate")
                {
                    p.push(format!("{w}: no content and no alternate link"));
                }
            }
            _ => p.push(format!("{w}: more than one content")),
        }
        if child(e, a, "summary").len() > 1 {
            p.push(format!("{w}: more than one summary"));
        }
    }
    p
}

pub fn json_feed_problems(json: &[u8], self_url: &str) -> Vec<String> {
    let mut p = Vec::new();
    let v: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    if v["version"] != "https://jsonfeed.org/version/1.1" {
        p.push("version must be https://jsonfeed.org/version/1.1".into());
    }
    if !v["title"].is_string() {
        p.push("title is required".into());
    }
    if v["feed_url"] != self_url {
        p.push("feed_url must be where the feed lives".into());
    }
    let Some(items) = v["items"].as_array() else {
        return vec!["items is required".into()];
    };
    let mut ids = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let w = format!("item {i}");
        match item["id"].as_str() {
            Some(id) if !id.is_empty() => {
                if !ids.insert(id.to_owned()) {
                    p.push(format!("{w}: duplicate id"));
                }
            }
            _ => p.push(format!("{w}: id must be a non-empty string")),
        }
        match (item["content_html"].as_str(), item["content_text"].as_str()) {
            (Some(h), _) => check_html(&w, h, &mut p),
            (None, Some(_)) => {}
            _ => p.push(format!("{w}: content_html or content_text is required")),
        }
        if !item["url"].as_str().is_some_and(is_absolute_http) {
            p.push(format!("{w}: url must be absolute"));
        }
        for k in ["date_published", "date_modified"] {
            if let Some(d) = item[k].as_str() {
                rfc3339(&w, d, &mut p);
            }
        }
        if let Some(authors) = item["authors"].as_array()
            && authors.iter().any(|a| !a["name"].is_string())
        {
            p.push(format!("{w}: every author needs a name"));
        }
    }
    p
}

#[tokio::test]
async fn feeds_follow_the_rules_of_rss_atom_and_json_feed() {
    let site = hostile_site().await;
    let rss = String::from_utf8(site.feed_bytes("rss.xml")).unwrap();
    let atom = String::from_utf8(site.feed_bytes("atom.xml")).unwrap();
    let p = rss_problems(&rss, "https://dewline.test/feeds/rss.xml");
    assert!(p.is_empty(), "RSS:\n{}", p.join("\n"));
    let p = atom_problems(&atom, "https://dewline.test/feeds/atom.xml");
    assert!(p.is_empty(), "Atom:\n{}", p.join("\n"));
    let p = json_feed_problems(
        &site.feed_bytes("feed.json"),
        "https://dewline.test/feeds/feed.json",
    );
    assert!(p.is_empty(), "JSON Feed:\n{}", p.join("\n"));
    // Every archive page, of the site and of each topic, follows the same
    // rules.
    let pages = archive_pages(&site);
    assert!(pages.contains(&"archive/4.xml".to_owned()), "{pages:?}");
    assert!(pages.iter().any(|p| p.starts_with("topics/")), "{pages:?}");
    for rel in &pages {
        let url = format!("https://dewline.test/feeds/{rel}");
        let bytes = site.feed_bytes(rel);
        let p = if rel.ends_with(".json") {
            json_feed_problems(&bytes, &url)
        } else {
            atom_problems(&String::from_utf8(bytes).unwrap(), &url)
        };
        assert!(p.is_empty(), "{rel}:\n{}", p.join("\n"));
    }

    // The hostile article reads back as written, escaped and not broken.
    let feed = site.feed("atom.xml");
    let e = feed
        .entries
        .iter()
        .find(|e| e.links[0].href.ends_with("/ampersands"))
        .unwrap();
    assert_eq!(
        e.title.as_ref().unwrap().content,
        "AHA & BHA <together>? \"Maybe\""
    );
    assert!(
        e.content
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap()
            .contains("]]&gt; cdata breaker")
    );
    let rss_feed = site.feed("rss.xml");
    let r = rss_feed
        .entries
        .iter()
        .find(|e| e.links[0].href.ends_with("/ampersands"))
        .unwrap();
    assert_eq!(
        r.title.as_ref().unwrap().content,
        "AHA & BHA <together>? \"Maybe\""
    );
}

#[test]
fn the_checker_catches_what_the_validator_would() {
    // The checker is only worth something if it fails on bad feeds.
    let bad_rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/relative</link><description>d</description>
<item><title>x</title><pubDate>2026-11-18</pubDate><content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">&lt;a href="rel"&gt;x&lt;/a&gt;&lt;script&gt;</content:encoded></item></channel></rss>"#;
    let p = rss_problems(bad_rss, "https://x.example/feeds/rss.xml").join("\n");
    for expected in [
        "full URL",
        "self",
        "guid",
        "RFC 822",
        "relative",
        "<script",
        "dc:creator",
    ] {
        assert!(p.contains(expected), "{expected} not caught:\n{p}");
    }
    let bad_atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><updated>yesterday</updated>
<entry><id>a</id><title>x</title><updated>2026-11-18T10:00:00Z</updated></entry></feed>"#;
    let p = atom_problems(bad_atom, "https://x.example/feeds/atom.xml").join("\n");
    for expected in [
        "exactly one <id>",
        "RFC 3339",
        "self link",
        "no author",
        "IRI",
    ] {
        assert!(p.contains(expected), "{expected} not caught:\n{p}");
    }
}

#[tokio::test]
async fn python_feedparser_reads_every_feed_cleanly() {
    let site = hostile_site().await;
    let script = r#"
import json, sys, feedparser
out = {}
for name in sys.argv[1:]:
    d = feedparser.parse(name)
    out[name.split('/feeds/', 1)[-1]] = {"bozo": int(bool(d.bozo)), "error": str(d.get("bozo_exception", "")), "version": d.version, "entries": len(d.entries), "first": d.entries[0].title if d.entries else None}
print(json.dumps(out))
"#;
    let pages: Vec<String> = archive_pages(&site)
        .into_iter()
        .filter(|p| p.ends_with(".xml"))
        .collect();
    let files: Vec<String> = ["rss.xml", "atom.xml"]
        .iter()
        .map(|n| n.to_string())
        .chain(pages.iter().cloned())
        .map(|n| site.feeds_dir().join(n).display().to_string())
        .collect();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output();
    let required = std::env::var_os("FEEDLETTER_REQUIRE_PEERS").is_some();
    let out = match out {
        Ok(o) if o.status.success() => o,
        other => {
            assert!(
                !required,
                "python3 with feedparser is required here: {other:?}"
            );
            eprintln!("skipped: python3 with feedparser is not installed (pip install feedparser)");
            return;
        }
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = site.store.published_articles(None).await.unwrap().len();
    for (name, version) in [("rss.xml", "rss20"), ("atom.xml", "atom10")] {
        assert_eq!(v[name]["bozo"], 0, "{name}: {}", v[name]["error"]);
        assert_eq!(v[name]["version"], version);
        assert_eq!(
            v[name]["entries"].as_u64().unwrap() as usize,
            want,
            "{name}"
        );
    }
    // Archive pages, tombstones and history links included, read cleanly.
    assert!(!pages.is_empty());
    for name in &pages {
        assert_eq!(v[name]["bozo"], 0, "{name}: {}", v[name]["error"]);
        assert_eq!(v[name]["version"], "atom10", "{name}");
    }
}
