//! Topics on real ingests: the sample publication's week of exosomes, topics
//! added by an update, idempotent ingest.

use crate::helpers::{TestSite, article};
use chrono::{DateTime, Utc};
use feedletter::topics::report::trending_at;
use feedletter::topics::trending::Status;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test]
async fn on_monday_morning_exosomes_are_the_topic_of_the_week() {
    let site = TestSite::sample().await;
    site.ingest().await;
    // Monday 2026-11-23, 08:00 in Kolkata.
    let r = trending_at(
        site.store.as_ref(),
        &site.config,
        t("2026-11-23T08:00:00+05:30"),
        10,
    )
    .await
    .unwrap();
    let top = &r.topics[0];
    assert_eq!(
        (top.id.as_str(), top.label.as_str()),
        ("exosomes", "Exosomes"),
        "{r:?}"
    );
    assert_eq!(top.status, Status::New);
    // The explainer (18th), the clinic piece (20th) and the serum piece (22nd).
    assert!(top.count == 3 && top.baseline_count == 0, "{top:?}");
    assert_eq!(top.feed, "/feeds/topics/exosomes/atom.xml");
    // Steady topics and the traps do not trend.
    for id in ["sunscreen", "retinol", "hyaluronic-acid", "retinaldehyde"] {
        assert!(!r.topics.iter().any(|x| x.id == id), "{id} flagged: {r:?}");
    }
    // A quiet week falls back to the most covered topics, labelled as such.
    let quiet = trending_at(
        site.store.as_ref(),
        &site.config,
        t("2026-10-20T08:00:00+05:30"),
        5,
    )
    .await
    .unwrap();
    assert!(!quiet.topics.is_empty() && quiet.topics.iter().all(|x| x.status == Status::Covered));
}

#[tokio::test]
async fn a_topic_added_by_an_update_counts_at_the_update_and_reingest_changes_nothing() {
    let site = TestSite::new("").await;
    let now = t("2026-11-23T08:00:00+05:30");
    site.clock.set(now);
    // Sixty quiet articles over the baseline, three in the window about retinol.
    for i in 0..60 {
        let day = 20 + i % 50;
        let date = (now - chrono::Duration::days(day))
            .format("%Y-%m-%d 09:00")
            .to_string();
        site.write(
            &format!("old-{i}.md"),
            article(&format!("Old {i}"), &date, "Cleansing, gently."),
        );
    }
    site.write(
        "old-azelaic.md",
        article("Old note", "2026-10-01 09:00", "Gentle care."),
    );
    let before = site.ingest().await;
    for (i, d) in ["2026-11-17 09:00", "2026-11-18 09:00", "2026-11-19 09:00"]
        .iter()
        .enumerate()
    {
        site.write(
            &format!("new-{i}.md"),
            article(&format!("Week {i}"), d, "Quiet."),
        );
    }
    site.ingest().await;
    let r = trending_at(site.store.as_ref(), &site.config, now, 10)
        .await
        .unwrap();
    assert!(!r.topics.iter().any(|x| x.id == "azelaic-acid"), "{r:?}");

    // Three articles get azelaic acid this week: two new ones and an update
    // of the October article. The update counts now, not in October.
    site.clock.set(t("2026-11-20T10:00:00+05:30"));
    site.write(
        "old-azelaic.md",
        article(
            "Azelaic acid for rosacea",
            "2026-10-01 09:00",
            "Azelaic acid, gently.",
        ),
    );
    site.write(
        "new-0.md",
        article("Azelaic acid, week 0", "2026-11-17 09:00", "Quiet."),
    );
    site.write(
        "new-1.md",
        article("Azelaic acid, week 1", "2026-11-18 09:00", "Quiet."),
    );
    let r1 = site.ingest().await;
    assert_eq!(r1.updated.len(), 3, "{r1:?}");
    let r = trending_at(site.store.as_ref(), &site.config, now, 10)
        .await
        .unwrap();
    let az = r
        .topics
        .iter()
        .find(|x| x.id == "azelaic-acid")
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!((az.count, az.baseline_count), (3, 0));
    assert_eq!(az.status, Status::New);

    let again = site.ingest().await;
    assert!(!again.changed());
    let r2 = trending_at(site.store.as_ref(), &site.config, now, 10)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&r2).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
    assert_eq!(before.new.len(), 61);
}

#[tokio::test]
async fn topic_and_trending_feeds_and_the_opml_index() {
    let site = TestSite::sample().await;
    // Monday morning, after the week's exosome articles.
    site.clock.set(t("2026-11-23T08:00:00+05:30"));
    site.ingest().await;
    site.build().await;

    // A topic feed holds exactly the articles about the topic, newest first.
    let exo = site.feed("topics/exosomes/atom.xml");
    let slugs: Vec<String> = exo
        .entries
        .iter()
        .map(|e| e.links[0].href.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        slugs,
        vec![
            "plant-derived-exosomes-serums",
            "exosome-facials-what-happens-in-clinic",
            "exosomes-viral-skincare-trend"
        ],
        "exosome articles published by Monday 08:00 IST"
    );
    assert_eq!(exo.title.unwrap().content, "The Dewline (test): Exosomes");
    for name in ["rss.xml", "atom.xml", "feed.json"] {
        assert_eq!(
            site.feed(&format!("topics/exosomes/{name}")).entries.len(),
            3,
            "{name}"
        );
    }
    let rss = String::from_utf8(site.feed_bytes("topics/exosomes/rss.xml")).unwrap();
    let p =
        crate::validity::rss_problems(&rss, "https://dewline.test/feeds/topics/exosomes/rss.xml");
    assert!(p.is_empty(), "{p:?}");
    let atom = String::from_utf8(site.feed_bytes("topics/exosomes/atom.xml")).unwrap();
    let p = crate::validity::atom_problems(
        &atom,
        "https://dewline.test/feeds/topics/exosomes/atom.xml",
    );
    assert!(p.is_empty(), "{p:?}");
    // The trap: "retinal detachment" in the diabetes article is not retinaldehyde.
    let retinal = site.feed("topics/retinaldehyde/atom.xml");
    assert!(
        retinal
            .entries
            .iter()
            .all(|e| !e.links[0].href.ends_with("skin-signs-of-diabetes"))
    );
    assert!(!site.feeds_dir().join("topics/exosomes-explained").exists());

    // The trending feed carries the trending topics' articles.
    let trending = site.feed("trending/atom.xml");
    assert!(
        trending
            .entries
            .iter()
            .any(|e| e.links[0].href.ends_with("/exosomes-viral-skincare-trend"))
    );
    assert!(
        !trending
            .entries
            .iter()
            .any(|e| e.links[0].href.ends_with("/how-much-sunscreen-is-enough")),
        "steady topics stay out"
    );

    // The OPML index lists the main, trending and every topic feed that exists.
    let opml = String::from_utf8(site.feed_bytes("index.opml")).unwrap();
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let urls: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("xmlUrl"))
        .collect();
    assert!(urls.contains(&"https://dewline.test/feeds/rss.xml"));
    assert!(urls.contains(&"https://dewline.test/feeds/trending/atom.xml"));
    assert!(urls.contains(&"https://dewline.test/feeds/topics/exosomes/feed.json"));
    for u in &urls {
        let rel = u.strip_prefix("https://dewline.test/feeds/").unwrap();
        assert!(
            site.feeds_dir().join(rel).is_file(),
            "{u} is listed but not written"
        );
    }
}

#[tokio::test]
async fn a_topic_that_loses_its_last_article_loses_its_feed_folder() {
    use feedletter::Clock as _;
    use feedletter::feeds::{Scope, build_feeds};
    let site = TestSite::sample().await;
    site.ingest().await;
    site.build().await;
    assert!(site.feeds_dir().join("topics/diwali/atom.xml").is_file());
    let counts = |topics: Vec<feedletter::store::TopicSummary>| -> std::collections::BTreeMap<String, (String, u32)> {
        topics
            .into_iter()
            .map(|t| (t.id, (t.label, t.articles)))
            .collect()
    };
    let before = counts(site.store.topics().await.unwrap());
    let slug = "chemical-peels-before-diwali";
    let its = site.store.topics_of_articles(&[slug]).await.unwrap()[slug].clone();
    assert!(
        its.iter().any(|t| t == "diwali") && its.len() > 1,
        "{its:?}"
    );

    site.remove("chemical-peels-before-diwali.md");
    let r = site.ingest().await;
    // Each topic counts published articles only: the withdrawn one's
    // topics lose it, diwali (its only article) goes, the rest stay.
    let after = counts(site.store.topics().await.unwrap());
    for (id, (label, n)) in &before {
        match (its.contains(id), *n) {
            (true, 1) => assert!(!after.contains_key(id), "{id}: {after:?}"),
            (true, _) => assert_eq!(after.get(id), Some(&(label.clone(), n - 1)), "{id}"),
            (false, _) => assert_eq!(after.get(id), Some(&(label.clone(), *n)), "{id}"),
        }
    }
    assert!(after.keys().all(|id| before.contains_key(id)), "{after:?}");
    assert!(!after.contains_key("diwali"), "{after:?}");
    assert!(
        r.topics_changed.iter().any(|t| t == "diwali"),
        "{:?}",
        r.topics_changed
    );
    let scope = Scope::Changed {
        main: true,
        topics: r.topics_changed.clone(),
        trending: true,
    };
    let b = build_feeds(site.store.as_ref(), &site.config, site.clock.now(), &scope)
        .await
        .unwrap();
    assert!(b.removed.contains(&"topics/diwali".to_string()), "{b:?}");
    assert!(!site.feeds_dir().join("topics/diwali").exists());
    // Only the touched topics were rebuilt, not all of them.
    assert!(
        !b.written.iter().any(|w| w.starts_with("topics/exosomes/")),
        "{:?}",
        b.written
    );
    let opml = String::from_utf8(site.feed_bytes("index.opml")).unwrap();
    assert!(!opml.contains("topics/diwali/"));
}
