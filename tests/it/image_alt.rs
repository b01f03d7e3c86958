//! An article's image and its text alternative (`image_alt`): from a
//! WordPress featured image's alt text, a feed's media description and a
//! content file's front matter, kept in the store, and shown escaped on the
//! article page and in the digest (read back with mail-parser). An image
//! without one is decorative: `alt=""`.

use crate::digests::{DIGESTS, add, deliverer, monday, no_stop, quick, schedule, smtp_toml};
use crate::helpers::TestSite;
use crate::remote_server::{Post, Remote};
use crate::smtp_server::TestSmtp;
use crate::sources::{ingest, source};
use feedletter::domain::Frequency;
use feedletter::sources::Poll;

/// Typed into WordPress's "Alternative Text" box: quotes, a `<` and an
/// ampersand, which the pages and mails must escape.
const ALT: &str = r#"A jar of "barrier" cream <50 ml> & a spoon"#;

/// The `alt` of every `<img>` in `html`, with the character references
/// an HTML serializer may use decoded: what a browser reads.
fn img_alts(html: &str) -> Vec<String> {
    let mut alts = Vec::new();
    for tag in html.split("<img").skip(1) {
        // The tag ends at the first `>` outside a quoted value: a `>` in
        // an attribute value may be left unescaped.
        let mut quoted = false;
        let end = tag
            .char_indices()
            .find(|(_, c)| {
                if *c == '"' {
                    quoted = !quoted;
                }
                *c == '>' && !quoted
            })
            .map_or(tag.len(), |(i, _)| i);
        let tag = &tag[..end];
        let value = tag
            .split_once(" alt=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(v, _)| v);
        alts.push(value.map_or_else(
            || "<no alt attribute>".to_owned(),
            |v| {
                v.replace("&quot;", "\"")
                    .replace("&#34;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#x27;", "'")
                    .replace("&#x2F;", "/")
                    .replace("&amp;", "&")
            },
        ));
    }
    alts
}

/// Three posts from 20 November: one with a described image, one whose
/// image has no alt text, one without an image.
fn posts(remote: &Remote) {
    let mut described = Post::new(
        1,
        "barrier-cream",
        "Barrier cream and retinol",
        "2026-11-20T10:00:00Z",
    );
    described.image = Some(("https://cms.example/uploads/jar.jpg".into(), ALT.into()));
    remote.put(described);
    let mut bare = Post::new(
        2,
        "retinol-night",
        "Retinol at night",
        "2026-11-20T11:00:00Z",
    );
    bare.image = Some((
        "https://cms.example/uploads/night.jpg".into(),
        String::new(),
    ));
    remote.put(bare);
    remote.put(Post::new(
        3,
        "retinol-words",
        "Retinol in words",
        "2026-11-20T12:00:00Z",
    ));
}

#[tokio::test]
async fn a_wordpress_image_keeps_its_alt_text_on_the_article_page() {
    let remote = Remote::start().await;
    posts(&remote);
    let site = TestSite::new(&source("cms", "wordpress", &remote.wp_url())).await;
    let r = ingest(&site, Poll::Command).await;
    assert_eq!(r.sources[0].new.len(), 3, "{r:?}");

    let stored = site.store.article("barrier-cream").await.unwrap().unwrap();
    assert_eq!(stored.article.image_alt.as_deref(), Some(ALT));
    let bare = site.store.article("retinol-night").await.unwrap().unwrap();
    assert_eq!(
        bare.article.image_alt, None,
        "empty alt text is no alt text"
    );

    let app = site.spawn_at_fixed_time().await;
    let page = app
        .get("/articles/barrier-cream")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            r#"<img src="https://cms.example/uploads/jar.jpg" alt="A jar of &quot;barrier&quot; cream &lt;50 ml&gt; &amp; a spoon">"#
        ),
        "{page}"
    );
    let page = app
        .get("/articles/retinol-night")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(img_alts(&page), [""], "{page}");
    assert!(!page.contains("None"), "{page}");
    let page = app
        .get("/articles/retinol-words")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(img_alts(&page).is_empty(), "no image, no <img>: {page}");

    // Edited in WordPress, the alt text is an update like any other.
    remote.edit(1, "2026-11-24T10:00:00Z", |p| {
        p.image = Some((
            "https://cms.example/uploads/jar.jpg".into(),
            "A jar of cream".into(),
        ));
    });
    let r = ingest(&site, Poll::Command).await;
    assert_eq!(r.sources[0].updated, ["barrier-cream"], "{r:?}");
    app.ingest().await;
    let page = app
        .get("/articles/barrier-cream")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(img_alts(&page), ["A jar of cream"], "{page}");
    app.stop().await;
}

#[tokio::test]
async fn the_digest_shows_each_image_with_its_alt_text_or_as_decorative() {
    let smtp = TestSmtp::start();
    let remote = Remote::start().await;
    posts(&remote);
    let site = TestSite::new(&format!(
        "{}{DIGESTS}{}",
        smtp_toml(smtp.port(), ""),
        source("cms", "wordpress", &remote.wp_url())
    ))
    .await;
    let r = ingest(&site, Poll::Command).await;
    assert_eq!(r.sources[0].new.len(), 3, "{r:?}");
    add(
        &site,
        &["reader@inbox.example".to_owned()],
        &["retinol"],
        Frequency::Weekly,
    )
    .await;
    let report = deliverer(&site)
        .await
        .fire(schedule(&site, "weekly"), monday(), &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let got = smtp.received();
    let mail = mail_parser::MessageParser::default()
        .parse(&got[0].data)
        .unwrap();
    let html = mail.body_html(0).unwrap();
    let mut alts = img_alts(&html);
    alts.sort();
    // The described image, and the one WordPress has no alt text for.
    assert_eq!(alts, ["", ALT], "{html}");
    assert!(!html.contains("\"None\""), "{html}");
}

#[tokio::test]
async fn a_content_file_sets_image_alt_in_its_front_matter() {
    let site = TestSite::new("").await;
    site.write(
        "jar.md",
        "---\ntitle: \"The jar\"\npublished: 2026-11-20 10:00\nimage: /img/jar.jpg\n\
         image_alt: 'A jar of \"barrier\" cream <50 ml>'\n---\nBody.\n",
    );
    site.write(
        "plain.md",
        "---\ntitle: \"Plain\"\npublished: 2026-11-20 11:00\nimage: /img/plain.jpg\n---\nBody.\n",
    );
    // An alt text with no image to describe names the field.
    site.write(
        "orphan.md",
        "---\ntitle: \"Orphan\"\npublished: 2026-11-20 12:00\nimage_alt: A jar\n---\nBody.\n",
    );
    let r = site.ingest().await;
    assert_eq!(r.new, ["jar", "plain"], "{r:?}");
    assert_eq!(r.rejected.len(), 1, "{r:?}");
    assert!(r.rejected[0].file.ends_with("orphan.md"), "{r:?}");
    assert!(
        r.rejected[0]
            .error
            .starts_with("image_alt: 'A jar' describes no image"),
        "{r:?}"
    );

    let app = site.spawn_at_fixed_time().await;
    let page = app
        .get("/articles/jar")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            r#"<img src="https://dewline.test/img/jar.jpg" alt="A jar of &quot;barrier&quot; cream &lt;50 ml&gt;">"#
        ),
        "{page}"
    );
    let page = app
        .get("/articles/plain")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(img_alts(&page), [""], "{page}");
    app.stop().await;

    // Taking the alt text out again is an update.
    site.write(
        "jar.md",
        "---\ntitle: \"The jar\"\npublished: 2026-11-20 10:00\nimage: /img/jar.jpg\n---\nBody.\n",
    );
    let r = site.ingest().await;
    assert_eq!(r.updated, ["jar"], "{r:?}");
    let jar = site.store.article("jar").await.unwrap().unwrap();
    assert_eq!(jar.article.image_alt, None);
}

#[tokio::test]
async fn a_feed_item_image_is_described_by_its_media_description() {
    let remote = Remote::start().await;
    remote.set_feed(
        "rss",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Partner</title><link>https://partner.example/</link><description>d</description>
<item><title>Sunscreen sticks</title><link>https://partner.example/sticks</link>
<guid isPermaLink="false">p-1</guid><pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate><description>Sticks.</description>
<media:content url="https://partner.example/img/stick.jpg" type="image/jpeg">
<media:description>A sunscreen stick &amp; its cap</media:description></media:content></item>
<item><title>Mineral filters</title><link>https://partner.example/mineral</link>
<guid isPermaLink="false">p-2</guid><pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate><description>Zinc.</description>
<enclosure url="https://partner.example/img/zinc.png" length="1000" type="image/png"/></item>
</channel></rss>"#,
        "application/rss+xml",
    );
    let site = TestSite::new(&source("partner", "feed", &remote.feed_url("rss"))).await;
    let r = ingest(&site, Poll::Command).await;
    assert_eq!(r.sources[0].new, ["mineral", "sticks"], "{r:?}");
    let sticks = site.store.article("sticks").await.unwrap().unwrap().article;
    assert_eq!(
        sticks.image.as_deref(),
        Some("https://partner.example/img/stick.jpg")
    );
    assert_eq!(
        sticks.image_alt.as_deref(),
        Some("A sunscreen stick & its cap")
    );
    // An enclosure has no description: the image is decorative.
    let zinc = site
        .store
        .article("mineral")
        .await
        .unwrap()
        .unwrap()
        .article;
    assert_eq!(
        zinc.image.as_deref(),
        Some("https://partner.example/img/zinc.png")
    );
    assert_eq!(zinc.image_alt, None);
}
