//! What the served pages promise a browser, over real HTTP: a strict
//! Content-Security-Policy that the pages themselves keep (no inline
//! script, style or handler; the stylesheet a same-origin file served as
//! CSS), framing denied, `nosniff` with the right media types (feeds
//! included), no `Referer` from a page whose URL carries a token; and
//! that no GET or HEAD anywhere changes anything (mail scanners follow
//! every link).

use crate::helpers::{RunningApp, TestSite};
use feedletter::Clock as _;
use reqwest::Method;
use reqwest::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

/// The text parts of the mails in the outbox.
fn outbox_texts(site: &TestSite) -> Vec<String> {
    let mut texts = Vec::new();
    for e in std::fs::read_dir(&site.config.mail.outbox_dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let m = mail_parser::MessageParser::default().parse(&data).unwrap();
        texts.push(m.body_text(0).unwrap().into_owned());
    }
    texts
}

/// The path of the first `https://dewline.test{prefix}...` link in any
/// mail of the outbox.
fn link(site: &TestSite, prefix: &str) -> String {
    let needle = format!("https://dewline.test{prefix}");
    for text in outbox_texts(site) {
        if let Some(at) = text.find(&needle) {
            let rest = &text[at + "https://dewline.test".len()..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(rest.len());
            return rest[..end].to_owned();
        }
    }
    panic!("no {prefix} link in the outbox");
}

/// Subscribes `email` over HTTP and returns the confirmation link.
async fn subscribe(app: &RunningApp, site: &TestSite, email: &str) -> String {
    let r = app
        .request(Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.drain_mail().await;
    let needle = format!("To: <{email}>");
    for e in std::fs::read_dir(&site.config.mail.outbox_dir).unwrap() {
        let data = std::fs::read_to_string(e.unwrap().path()).unwrap();
        if data.contains(&needle) || data.contains(email) {
            let m = mail_parser::MessageParser::default()
                .parse(data.as_bytes())
                .unwrap();
            let text = m.body_text(0).unwrap();
            if let Some(at) = text.find("https://dewline.test/confirm/") {
                let rest = &text[at + "https://dewline.test".len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                return rest[..end].to_owned();
            }
        }
    }
    panic!("no confirmation mail to {email}");
}

/// Confirms through the page's button, as a person does.
async fn confirm(app: &RunningApp, path: &str) {
    let r = app.get(path).await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("feedletter_csrf="))
        .expect("a CSRF cookie");
    let html = r.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let r = app
        .request(Method::POST, path)
        .header("cookie", cookie)
        .form(&[("csrf", &html[at..at + 64])])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The headers every response carries, and the referrer policy its URL
/// calls for.
fn assert_common(path: &str, h: &HeaderMap, token_url: bool) {
    assert_eq!(h[X_FRAME_OPTIONS], "DENY", "{path}");
    assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    let referrer = h[REFERRER_POLICY].to_str().unwrap();
    if token_url {
        assert_eq!(referrer, "no-referrer", "{path}");
    } else {
        assert_eq!(referrer, "strict-origin-when-cross-origin", "{path}");
    }
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{path}: {csp}");
    }
    assert!(
        !csp.contains("script-src"),
        "{path}: nothing may run: {csp}"
    );
}

/// A page's policy is the strict one, and the page keeps it: no inline
/// script, style or event handler, and each stylesheet it links is a
/// same-origin file served as CSS.
async fn assert_strict_page(app: &RunningApp, path: &str, h: &HeaderMap, html: &str) {
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("style-src 'self'"), "{path}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    assert!(
        h[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html; charset=utf-8"),
        "{path}"
    );
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{path}: a script element");
    assert!(!lower.contains("<style"), "{path}: a style element");
    for tag in lower.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        for attr in tag.split_whitespace().skip(1) {
            let name = attr.split('=').next().unwrap_or("");
            assert!(name != "style", "{path}: a style attribute in <{tag}>");
            assert!(
                !(name.starts_with("on") && attr.contains('=')),
                "{path}: an event handler in <{tag}>"
            );
        }
    }
    let mut sheets = 0;
    for (at, _) in lower.match_indices("<link rel=\"stylesheet\" href=\"") {
        let href = &html[at + 29..];
        let href = &href[..href.find('"').unwrap()];
        assert!(
            href.starts_with('/'),
            "{path}: stylesheet {href} is not ours"
        );
        let r = app.get(href).await.unwrap();
        assert_eq!(r.status(), 200, "{href}");
        assert_eq!(r.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
        assert!(r.text().await.unwrap().contains("body {"), "{href}");
        sheets += 1;
    }
    assert_eq!(sheets, 1, "{path}: one stylesheet");
}

#[tokio::test]
async fn every_page_carries_a_strict_policy_that_it_keeps_and_token_pages_send_no_referrer() {
    let site = TestSite::sample().await;
    site.ingest().await;
    let app = site.spawn_at_fixed_time().await;
    let confirm_path = subscribe(&app, &site, "headers@example.com").await;
    let slug = site.store.published_articles(Some(1)).await.unwrap()[0]
        .article
        .slug
        .to_string();

    // Pages, the confirmation page first (its token is still unused).
    let pages = [
        (confirm_path.clone(), true),
        ("/".to_owned(), false),
        (format!("/articles/{slug}"), false),
        ("/no/such/page".to_owned(), false),
        (format!("/confirm/{}", "ab".repeat(32)), true),
    ];
    for (path, token_url) in &pages {
        let r = app.get(path).await.unwrap();
        let h = r.headers().clone();
        let html = r.text().await.unwrap();
        assert_common(path, &h, *token_url);
        assert_strict_page(&app, path, &h, &html).await;
    }
    confirm(&app, &confirm_path).await;
    app.drain_mail().await;
    let unsubscribe = link(&site, "/unsubscribe/");
    let preferences = link(&site, "/preferences/");
    for path in [&unsubscribe, &preferences] {
        let r = app.get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        let html = r.text().await.unwrap();
        assert_common(path, &h, true);
        assert_strict_page(&app, path, &h, &html).await;
    }
    // The answer to a POST on a token URL too.
    let r = app
        .request(Method::POST, &unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_common(&unsubscribe, r.headers(), true);

    // Feeds: nosniff with their real media types, still parsed by a
    // reader; the stylesheet answers 304 to its ETag.
    for (path, media) in [
        ("/feeds/rss.xml", "application/rss+xml"),
        ("/feeds/atom.xml", "application/atom+xml"),
        ("/feeds/feed.json", "application/feed+json"),
        ("/healthz", "text/plain"),
    ] {
        let r = app.get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_common(path, r.headers(), false);
        let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(ct.starts_with(media), "{path}: {ct}");
        let body = r.bytes().await.unwrap();
        if path.starts_with("/feeds/") {
            let feed = feed_rs::parser::parse(&body[..]).unwrap();
            assert!(!feed.entries.is_empty(), "{path}");
        }
    }
    let r = app.get("/static/site.css").await.unwrap();
    assert_common("/static/site.css", r.headers(), false);
    let etag = r.headers()[ETAG].clone();
    let r = app
        .request(Method::GET, "/static/site.css")
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // The browser copy of a digest: mail HTML keeps its inline styles, but
    // nothing runs and nothing frames it.
    let now = site.clock.now();
    let (run, _) = site
        .store
        .create_run(
            &feedletter::store::NewRun {
                schedule: "weekly",
                fire: now,
                since: now - chrono::Duration::days(7),
                frequency: feedletter::domain::Frequency::Weekly,
                subject: "s",
                web_html: "<p style=\"color:#333\">A digest</p>",
            },
            now,
        )
        .await
        .unwrap();
    let path = format!("/digests/{}", run.id);
    let r = app.get(&path).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_common(&path, r.headers(), false);
    let csp = r.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("style-src 'unsafe-inline'"), "{csp}");
    assert!(csp.contains("form-action 'none'"), "{csp}");
    app.stop().await;
}

/// What a GET could change: every subscriber's state and the mail queue.
async fn snapshot(site: &TestSite) -> (Vec<String>, u64) {
    let mut subscribers = Vec::new();
    for email in ["pending@example.com", "member@example.com"] {
        let s = site
            .store
            .subscriber_by_email(email)
            .await
            .unwrap()
            .unwrap();
        subscribers.push(format!(
            "{} {} {:?} {} {}",
            s.email.as_str(),
            s.status.as_str(),
            s.topics,
            s.frequency.as_str(),
            s.updated_at
        ));
    }
    (subscribers, site.store.mail_queue_depth().await.unwrap())
}

#[tokio::test]
async fn no_get_or_head_anywhere_changes_anything() {
    let site = TestSite::sample().await;
    site.ingest().await;
    let app = site.spawn_at_fixed_time().await;
    let member_confirm = subscribe(&app, &site, "member@example.com").await;
    confirm(&app, &member_confirm).await;
    app.drain_mail().await;
    let unsubscribe = link(&site, "/unsubscribe/");
    let preferences = link(&site, "/preferences/");
    let pending_confirm = subscribe(&app, &site, "pending@example.com").await;
    let before = snapshot(&site).await;
    let sent_before = std::fs::read_dir(&site.config.mail.outbox_dir)
        .unwrap()
        .count();

    // Every route a link or a scanner could reach, as scanners send them:
    // plain, with the query a form would carry, and HEAD.
    let routes = [
        "/".to_owned(),
        pending_confirm.clone(),
        unsubscribe.clone(),
        preferences.clone(),
        "/subscribe".to_owned(),
        "/articles/x".to_owned(),
        "/digests/1".to_owned(),
        "/feeds/atom.xml".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/metrics".to_owned(),
        "/static/site.css".to_owned(),
        "/api/v1/subscribers".to_owned(),
        "/api/v1/subscribers/export".to_owned(),
    ];
    let queries = [
        "",
        "?List-Unsubscribe=One-Click",
        "?action=unsubscribe&frequency=daily&topics=retinol",
        "?email=new%40example.com",
    ];
    for route in &routes {
        for query in queries {
            for method in [Method::GET, Method::HEAD] {
                let r = app
                    .request(method.clone(), &format!("{route}{query}"))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    !r.status().is_server_error(),
                    "{method} {route}{query}: {}",
                    r.status()
                );
            }
        }
    }
    assert_eq!(snapshot(&site).await, before);
    app.drain_mail().await;
    let sent_after = std::fs::read_dir(&site.config.mail.outbox_dir)
        .unwrap()
        .count();
    assert_eq!(sent_after, sent_before, "a GET queued mail");
    app.stop().await;
}
