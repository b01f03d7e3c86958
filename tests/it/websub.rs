//! WebSub against a stand-in hub on loopback: hub links in the feeds, Link
//! headers, and announcements of changed feeds, retried when the hub fails.

use crate::helpers::{TestSite, article};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records `hub.mode=publish` requests; answers 503 while `failures` > 0.
#[derive(Clone, Default)]
pub struct Hub {
    pub published: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicU32>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl Hub {
    pub async fn start(&self) -> String {
        use axum::http::StatusCode;
        let hub = self.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |axum::Form(form): axum::Form<Vec<(String, String)>>| {
                let hub = hub.clone();
                async move {
                    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    if hub
                        .failures
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        let url = get("hub.url").unwrap_or_default();
                        hub.refused.lock().unwrap().push(url);
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    if get("hub.mode").as_deref() != Some("publish") {
                        return StatusCode::BAD_REQUEST;
                    }
                    if let Some(url) = get("hub.url") {
                        hub.published.lock().unwrap().push(url);
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/")
    }

    pub async fn wait_for(&self, url: &str) -> bool {
        for _ in 0..300 {
            if self.published.lock().unwrap().iter().any(|u| u == url) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

#[tokio::test]
async fn changed_feeds_are_announced_to_the_hub_and_retried_when_it_fails() {
    let hub = Hub::default();
    let hub_url = hub.start().await;
    let site = TestSite::sample_with(&format!("[websub]\nhub = \"{hub_url}\"\n")).await;
    let app = site.spawn_at_fixed_time().await;

    // The first build writes every feed: each is announced.
    for feed in [
        "rss.xml",
        "atom.xml",
        "feed.json",
        "topics/exosomes/atom.xml",
    ] {
        let url = format!("https://dewline.test/feeds/{feed}");
        assert!(
            hub.wait_for(&url).await,
            "{url} not announced: {:?}",
            hub.published.lock().unwrap()
        );
    }
    assert!(
        !hub.published
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.ends_with(".opml")),
        "the OPML index is not a feed"
    );

    // Feeds name the hub; responses carry Link headers for hub and self.
    let atom = site.feed("atom.xml");
    assert!(
        atom.links
            .iter()
            .any(|l| l.rel.as_deref() == Some("hub") && l.href == hub_url)
    );
    let rss = String::from_utf8(site.feed_bytes("rss.xml")).unwrap();
    assert!(
        rss.contains(&format!("<atom:link href=\"{hub_url}\" rel=\"hub\"")),
        "{rss}"
    );
    let json: serde_json::Value = serde_json::from_slice(&site.feed_bytes("feed.json")).unwrap();
    assert_eq!(json["hubs"][0]["url"], hub_url.as_str());
    let r = app.get("/feeds/atom.xml").await.unwrap();
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains(&format!("<{hub_url}>; rel=\"hub\"")),
        "{link}"
    );
    assert!(
        link.contains("<https://dewline.test/feeds/atom.xml>; rel=\"self\""),
        "{link}"
    );

    // The hub fails twice; a new article still reaches it, by retries.
    hub.published.lock().unwrap().clear();
    hub.failures.store(2, Ordering::SeqCst);
    site.write(
        "websub-test.md",
        article(
            "Hyaluronic acid in dry winter air",
            "2026-11-25 09:00",
            "Humectants need water to pull from.",
        ),
    );
    // The daemon's next ingest run, driven rather than waited for.
    app.ingest().await;
    assert!(
        hub.wait_for("https://dewline.test/feeds/rss.xml").await,
        "rss.xml never announced after the failures"
    );
    assert!(hub.wait_for("https://dewline.test/feeds/atom.xml").await);
    // Each announcement the hub refused came again and got through.
    let refused = hub.refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 2);
    for url in &refused {
        assert!(
            hub.wait_for(url).await,
            "{url} was refused and never retried"
        );
    }
    // Unchanged feeds are not announced again.
    assert!(
        !hub.published
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.ends_with("topics/retinol/atom.xml"))
    );
    app.stop().await;
}
