//! Trending as an editor would sign it, on real ingests (both backends):
//! one entry per story with the narrower concepts it includes, skincare
//! only, echoes folded, emerging phrases as candidates, `topics add`, the
//! vocabulary's problems named, and the entries in the feeds, the pages and
//! the digest.

use crate::helpers::{TestSite, article};
use chrono::{DateTime, Duration, Utc};
use feedletter::topics::report::{TrendingReport, trending_at};
use feedletter::topics::trending::Status;

/// Monday 2026-11-23 08:00 in Kolkata.
fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T08:00:00+05:30")
        .unwrap()
        .to_utc()
}

/// `days` before Monday morning, as front matter writes it (IST).
fn day(days: i64) -> String {
    (monday() - Duration::days(days) - Duration::hours(2))
        .with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A site with nine weeks of ordinary skincare coverage: sunscreen,
/// moisturisers and acne, four articles a week.
async fn site_with_background(extra: &str) -> TestSite {
    let site = TestSite::new(extra).await;
    let subjects = [
        (
            "Sunscreen in the monsoon",
            "Sunscreen every morning. Reapply sunscreen.",
        ),
        (
            "Moisturiser basics",
            "A moisturiser seals water in. Pick a moisturiser with ceramides.",
        ),
        (
            "Acne and your pillowcase",
            "Acne flares with friction. Acne needs patience.",
        ),
        (
            "Sunscreen sticks tested",
            "A sunscreen stick is handy. Sunscreen still needs two coats.",
        ),
    ];
    for d in 0..63 {
        if d % 2 == 0 {
            let (title, body) = subjects[(d / 2) as usize % subjects.len()];
            site.write(&format!("bg-{d}.md"), article(title, &day(d), body));
        }
    }
    site.clock.set(monday());
    site
}

async fn report(site: &TestSite) -> TrendingReport {
    trending_at(site.store.as_ref(), &site.config, monday(), 10)
        .await
        .unwrap()
}

fn ids(r: &TrendingReport) -> Vec<&str> {
    r.topics
        .iter()
        .filter(|t| t.status != Status::Covered)
        .map(|t| t.id.as_str())
        .collect()
}

#[tokio::test]
async fn a_story_told_through_narrower_concepts_is_one_entry_and_the_parent_feed_holds_it() {
    let site = site_with_background("").await;
    // The exosome story of the week, each piece naming a narrower concept.
    site.write(
        "exo-facial.md",
        article(
            "Inside an exosome facial",
            &day(1),
            "The exosome facial starts with a cleanse. An exosome facial costs more than a peel.",
        ),
    );
    site.write(
        "exo-plant.md",
        article(
            "Plant-derived exosomes, bottled",
            &day(2),
            "Rose and ginseng plant-derived exosomes fill new serums.",
        ),
    );
    site.write(
        "exo-therapy.md",
        article(
            "Exosome therapy for hair",
            &day(3),
            "Clinics sell exosome therapy for thinning hair.",
        ),
    );
    // A retinal article that never says "retinoid".
    site.write(
        "retinal-only.md",
        article("Retinal, gently", &day(4), "Retinaldehyde works faster."),
    );
    site.ingest().await;
    site.build().await;

    let r = report(&site).await;
    assert_eq!(ids(&r), ["exosomes"], "{r:#?}");
    let exo = &r.topics[0];
    assert_eq!(
        (exo.status, exo.count, exo.baseline_count),
        (Status::New, 3, 0)
    );
    let parts: Vec<(&str, u32)> = exo
        .includes
        .iter()
        .map(|i| (i.id.as_str(), i.count))
        .collect();
    assert_eq!(
        parts,
        [
            ("exosome-facial", 1),
            ("exosome-therapy", 1),
            ("plant-exosomes", 1)
        ]
    );
    assert_eq!(exo.articles.len(), 3);
    assert_eq!(exo.weekly.len(), 9);
    assert_eq!(*exo.weekly.last().unwrap(), 3);
    assert!(exo.why.contains("3 articles this week"), "{}", exo.why);

    // The parent's feed holds its children's articles; the children keep
    // feeds of their own.
    let titles = |name: &str| -> Vec<String> {
        site.feed(name)
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect()
    };
    let exo_feed = titles("topics/exosomes/atom.xml");
    for t in [
        "Inside an exosome facial",
        "Plant-derived exosomes, bottled",
        "Exosome therapy for hair",
    ] {
        assert!(exo_feed.contains(&t.to_owned()), "{t} not in {exo_feed:?}");
    }
    assert_eq!(
        titles("topics/exosome-facial/atom.xml"),
        ["Inside an exosome facial"]
    );
    assert!(titles("topics/retinoids/atom.xml").contains(&"Retinal, gently".to_owned()));
}

#[tokio::test]
async fn tags_and_articles_outside_skincare_never_trend_unless_the_config_says_so() {
    let extra = "[topics]\nignore_tags = [\"News\"]\n";
    let site = site_with_background(extra).await;
    for i in 0..6 {
        site.write(
            &format!("diabetes-{i}.md"),
            format!(
                "---\ntitle: \"Blood sugar, part {i}\"\npublished: {}\ntags: [diabetes, news]\n---\nInsulin and HbA1c, explained.\n",
                day(i)
            ),
        );
    }
    site.ingest().await;
    site.build().await;
    let r = report(&site).await;
    assert!(ids(&r).is_empty(), "nothing about skincare trends: {r:#?}");
    // The fallback lists skincare only, and a tag never leads.
    assert!(
        r.topics
            .iter()
            .all(|t| t.id != "diabetes" && t.id != "test"),
        "{r:#?}"
    );
    // The tag still has its feed; the ignored tag has none.
    assert_eq!(site.feed("topics/diabetes/atom.xml").entries.len(), 6);
    assert!(!site.feeds_dir().join("topics/news").exists());

    // With trend_tags, the burst of tagged articles does trend.
    let mut config = site.config.clone();
    config.topics.trend_tags = true;
    let r = trending_at(site.store.as_ref(), &config, monday(), 10)
        .await
        .unwrap();
    assert!(ids(&r).contains(&"diabetes"), "{r:#?}");
}

#[tokio::test]
async fn an_echo_is_related_to_the_story_and_each_article_is_listed_once() {
    let site = site_with_background("").await;
    // Microneedling once before.
    site.write(
        "mn-old.md",
        article(
            "Microneedling at home",
            &day(45),
            "Microneedling needs care. Microneedling hurts.",
        ),
    );
    // This week's exosome pieces all pair exosomes with microneedling.
    for d in 1..=4 {
        site.write(
            &format!("exo-{d}.md"),
            article(
                &format!("Exosomes after microneedling, part {d}"),
                &day(d),
                "Exosomes are applied after microneedling.",
            ),
        );
    }
    site.ingest().await;
    let r = report(&site).await;
    assert_eq!(ids(&r), ["exosomes"], "{r:#?}");
    let related: Vec<(&str, u32)> = r.topics[0]
        .related
        .iter()
        .map(|x| (x.id.as_str(), x.shared))
        .collect();
    assert_eq!(related, [("microneedling", 4)]);
    assert_eq!(r.topics[0].articles.len(), 4);
}

#[tokio::test]
async fn a_new_phrase_is_a_candidate_until_topics_add_makes_it_a_concept() {
    let site = site_with_background("").await;
    for (i, d) in [1, 3, 5].iter().enumerate() {
        site.write(
            &format!("fennel-{i}.md"),
            article(
                &format!("Sea fennel, the new partner of sunscreen ({i})"),
                &day(*d),
                "Sea fennel grows on sea cliffs. Brands pair sea fennel with sunscreen.",
            ),
        );
    }
    site.ingest().await;
    let out = site
        .command()
        .args([
            "topics",
            "candidates",
            "--at",
            &monday().to_rfc3339(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &doc["candidates"][0];
    assert_eq!(first["phrase"], "sea fennel", "{doc:#}");
    assert_eq!(first["count"], 3);
    assert_eq!(first["baseline_count"], 0);
    assert_eq!(first["articles"].as_array().unwrap().len(), 3);
    assert!(
        first["articles"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://dewline.test/")
    );
    // It is no entry: candidates go to editors, not subscribers.
    assert!(!ids(&report(&site).await).contains(&"sea-fennel"));

    // Bad input is refused by name, and nothing is written.
    let local = site.dir.path().join("topics.local.toml");
    let bad = site
        .command()
        .args(["topics", "add", "sea fennel", "--kind", "potion"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--kind: 'potion'"));
    let bad = site
        .command()
        .args([
            "topics",
            "add",
            "sea fennel",
            "--kind",
            "ingredient",
            "--parent",
            "botanicals",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("names parent 'botanicals'") && err.contains("topics.local.toml"),
        "{err}"
    );
    let bad = site
        .command()
        .args(["topics", "add", "Exosome", "--kind", "ingredient"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("'exosome' is already an alias of 'exosomes' (Exosomes)"),
        "{err}"
    );
    let bad = site
        .command()
        .args(["topics", "add", "retinol serum", "--kind", "ingredient"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("'retinol serum' contains 'retinol', an alias of 'retinol'")
            && err.contains("--parent retinol"),
        "{err}"
    );
    assert!(!local.exists(), "nothing written");

    let out = site
        .command()
        .args([
            "topics",
            "add",
            "sea fennel",
            "--kind",
            "ingredient",
            "--label",
            "Sea fennel (crithmum)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&local).unwrap();
    assert!(text.contains("id = \"sea-fennel\"") && text.contains("aliases = [\"sea fennel\"]"));
    let check = site.command().arg("check").output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // The next ingest reads the articles again: the concept trends, and the
    // phrase is a candidate no more.
    let again = site.ingest().await;
    assert!(again.rejected.is_empty());
    let r = report(&site).await;
    assert_eq!(ids(&r), ["sea-fennel"], "{r:#?}");
    assert_eq!(r.topics[0].label, "Sea fennel (crithmum)");
    assert_eq!(r.topics[0].status, Status::New);
    // First seen when the first of them was published, not when the
    // vocabulary learnt the word.
    let first = DateTime::parse_from_rfc3339(&r.topics[0].first_seen).unwrap();
    assert_eq!(
        first
            .with_timezone(&chrono_tz::Asia::Kolkata)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        day(5)
    );
    assert!(
        r.candidates.iter().all(|c| !c.phrase.contains("fennel")),
        "{:?}",
        r.candidates
    );
}

#[tokio::test]
async fn phrases_are_kept_only_for_articles_that_can_still_be_in_a_window_or_baseline() {
    // A back catalogue imported long after it was published: its phrases
    // could never make a candidate again, so ingest does not read them
    // (the horizon is the long window plus two baselines: 126 days here).
    let site = site_with_background("").await;
    for (i, d) in [1, 3, 5].iter().enumerate() {
        site.write(
            &format!("fennel-{i}.md"),
            article(
                &format!("Sea fennel, the new partner of sunscreen ({i})"),
                &day(*d),
                "Sea fennel grows on sea cliffs. Brands pair sea fennel with sunscreen.",
            ),
        );
    }
    site.clock.set(monday() + Duration::days(200));
    let ingested = site.ingest().await;
    assert!(ingested.new.len() >= 3, "{ingested:?}");
    let r = report(&site).await;
    assert!(r.candidates.is_empty(), "{:?}", r.candidates);
    // Topics are not limited by the horizon: the articles are still about
    // sunscreen, in its feed and in a report at that time.
    assert!(
        r.topics.iter().any(|t| t.id == "sunscreen"),
        "{:?}",
        ids(&r)
    );
}

#[tokio::test]
async fn a_broken_local_vocabulary_is_named_by_file_line_and_concept() {
    let site = site_with_background("").await;
    std::fs::write(
        site.dir.path().join("topics.local.toml"),
        "[[topic]]\nid = \"a\"\nlabel = \"A\"\nkind = \"ingredient\"\nparent = \"b\"\naliases = [\"alpha thing\"]\n\n\
         [[topic]]\nid = \"b\"\nlabel = \"B\"\nkind = \"ingredient\"\nparent = \"a\"\naliases = [\"beta thing\"]\n\n\
         [[topic]]\nid = \"c\"\nlabel = \"C\"\nkind = \"ingredient\"\nparent = \"nowhere\"\naliases = [\"Retinol\"]\n",
    )
    .unwrap();
    let out = site.command().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let local = site
        .dir
        .path()
        .join("topics.local.toml")
        .display()
        .to_string();
    for needle in [
        format!("{local}:5: topic 'a' is its own ancestor through its parents: a -> b -> a"),
        format!("{local}:19: topic 'c' names parent 'nowhere', which is not in the vocabulary"),
        format!(
            "{local}:20: alias 'retinol' of 'c' is already an alias of 'retinol' (builtin:skincare:"
        ),
    ] {
        assert!(stdout.contains(&needle), "{needle}\nnot in:\n{stdout}");
    }
    // Ingest stops with the same reasons rather than guess.
    let out = site.command().arg("ingest").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("own ancestor"));
}

#[tokio::test]
async fn the_json_report_carries_the_explanation_and_the_candidates() {
    let site = TestSite::sample().await;
    site.clock.set(monday());
    site.ingest().await;
    let out = site
        .command()
        .args(["trending", "--json", "--at", "2026-11-23T08:00:00+05:30"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = &doc["topics"][0];
    assert_eq!(top["id"], "exosomes");
    for key in [
        "includes",
        "related",
        "articles",
        "weekly",
        "first_seen",
        "why",
    ] {
        assert!(!top[key].is_null(), "{key} missing: {top:#}");
    }
    assert_eq!(top["first_seen"], "2026-11-18T05:00:00Z");
    assert_eq!(top["weekly"].as_array().unwrap().len(), 9);
    assert_eq!(
        top["articles"][0]["url"],
        "https://dewline.test/articles/plant-derived-exosomes-serums"
    );
    assert!(doc["candidates"].is_array());
    // The table says the same for people.
    let out = site
        .command()
        .args(["trending", "--at", "2026-11-23T08:00:00+05:30"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("Exosomes") && table.contains("why: 3 articles this week"),
        "{table}"
    );
    assert!(table.contains("includes: Exosome facials (2)"), "{table}");
}

#[tokio::test]
async fn the_subscribe_form_offers_top_level_concepts_only() {
    let site = TestSite::sample().await;
    site.clock.set(monday());
    site.ingest().await;
    let subs = feedletter::subscribers::Subscriptions::new(
        site.store.clone(),
        std::sync::Arc::new(site.config.clone()),
        std::sync::Arc::new(feedletter::templates::load(&site.config.site.templates_dir).unwrap()),
        std::sync::Arc::new(site.clock.clone()),
    );
    let choices = subs.topic_choices(100).await.unwrap();
    let ids: Vec<&str> = choices.iter().map(|c| c.id.as_str()).collect();
    assert!(
        ids.contains(&"exosomes") && ids.contains(&"retinoids"),
        "{ids:?}"
    );
    for narrower in ["exosome-facial", "plant-exosomes", "retinol", "tretinoin"] {
        assert!(!ids.contains(&narrower), "{narrower} offered: {ids:?}");
    }
    assert!(!ids.contains(&"diwali"), "tags are not offered: {ids:?}");
}

const WEEKLY: &str = r#"
[mail]
from = "The Dewline <digest@dewline.example>"
transport = "file"
postal_address = "The Dewline, 12 Test Lane, Mumbai 400050"

[[digest]]
name = "weekly"
frequency = "weekly"
cron = "0 8 * * Mon"
timezone = "Asia/Kolkata"
subject = "This week in skincare: {{ top_topic }}"
max_topics = 4
max_articles_per_topic = 3
"#;

/// `digest preview` of the weekly schedule at `at` (a Monday 08:00 IST
/// fire): the subject, HTML and text of the `.eml` it writes.
fn preview(site: &TestSite, at: &str) -> (String, String, String) {
    let preview_dir = site.dir.path().join("preview");
    let out = site
        .command()
        .args([
            "digest",
            "preview",
            "--schedule",
            "weekly",
            "--at",
            at,
            "--out",
        ])
        .arg(&preview_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mail_parts(&preview_dir.join("digest-weekly-20261123-0800.eml"))
}

fn mail_parts(path: &std::path::Path) -> (String, String, String) {
    let bytes = std::fs::read(path).unwrap();
    let m = mail_parser::MessageParser::default()
        .parse(&bytes[..])
        .unwrap();
    (
        m.subject().unwrap_or_default().to_owned(),
        m.body_html(0).unwrap().into_owned(),
        m.body_text(0).unwrap().into_owned(),
    )
}

/// The sample publication with three sea fennel pieces in its last week.
async fn sample_with_a_new_phrase(extra: &str) -> TestSite {
    let site = TestSite::sample_with(&format!("{WEEKLY}{extra}")).await;
    for (i, d) in [1, 2, 4].iter().enumerate() {
        site.write(
            &format!("fennel-{i}.md"),
            article(
                &format!("Sea fennel and your sunscreen ({i})"),
                &day(*d),
                "Sea fennel is the new darling of Korean labs. Sea fennel extract sits beside sunscreen.",
            ),
        );
    }
    site.clock.set(monday());
    site.ingest().await;
    site
}

#[tokio::test]
async fn the_digest_leads_with_the_entry_explains_it_and_only_editors_see_candidates() {
    let site = sample_with_a_new_phrase("").await;
    let at = "2026-11-23T08:00:00+05:30";
    let (subject, html, text) = preview(&site, at);
    assert_eq!(subject, "This week in skincare: Exosomes");
    // Why, with a bar chart made of table cells (no SVG, no script): nine
    // weeks, the last one this week's three articles.
    assert!(html.contains("Why it is here:"), "{html}");
    assert!(html.contains("3 articles this week, none in the 8 weeks before: new"));
    assert!(html.contains("aria-label=\"Articles a week, oldest first: 0 0 0 0 0 0 0 0 3\""));
    assert_eq!(
        html.matches("class=\"bar-now\"").count(),
        1,
        "one current bar per entry"
    );
    assert!(!html.contains("<svg") && !html.contains("<script"));
    assert!(
        html.contains("Includes Exosome facials (2), Exosome therapy (1), Plant exosomes (1).")
    );
    assert!(text.contains("Why: 3 articles this week"), "{text}");
    assert!(
        text.contains("Articles a week, oldest first: 0 0 0 0 0 0 0 0 3"),
        "{text}"
    );
    // The editors' preview shows the phrase no vocabulary knows.
    assert!(
        html.contains("On our radar") && html.contains("sea fennel"),
        "{html}"
    );
    assert!(
        text.contains("ON OUR RADAR") && text.contains("* sea fennel: 3 articles"),
        "{text}"
    );

    // Subscribers never get it.
    let add = site
        .command()
        .args(["subscribers", "add", "reader@inbox.example", "--confirmed"])
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let send = site
        .command()
        .args(["digest", "send", "--schedule", "weekly", "--at", at])
        .output()
        .unwrap();
    assert!(
        send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let sent: Vec<std::path::PathBuf> = std::fs::read_dir(&site.config.mail.outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (subject, html, text) = mail_parts(&sent[0]);
    assert_eq!(subject, "This week in skincare: Exosomes");
    assert!(html.contains("Why it is here:"));
    assert!(!html.contains("On our radar") && !text.contains("ON OUR RADAR"));
    assert!(!html.contains("sea fennel"));
}

#[tokio::test]
async fn editors_can_keep_candidates_out_of_the_preview() {
    let site = sample_with_a_new_phrase("[topics]\nshow_candidates_in_preview = false\n").await;
    let (_, html, _) = preview(&site, "2026-11-23T08:00:00+05:30");
    assert!(!html.contains("On our radar"));
    // The candidate is still there for the command line.
    let r = report(&site).await;
    assert!(
        r.candidates.iter().any(|c| c.phrase == "sea fennel"),
        "{:?}",
        r.candidates
    );
}

/// An article as `article` writes it, with an `updated` time.
fn updated_article(title: &str, published: &str, updated: &str, body: &str) -> String {
    format!(
        "---\ntitle: \"{title}\"\npublished: {published}\nupdated: {updated}\ntags: [test]\n---\n{body}\n"
    )
}

#[tokio::test]
async fn a_report_reads_its_span_yet_knows_when_a_topic_first_appeared() {
    let site = site_with_background("").await;
    // Azelaic acid, long before the report's ten weeks: once in an article
    // that stays, earlier still in one that is withdrawn.
    site.write(
        "azelaic-withdrawn.md",
        article(
            "Azelaic acid, an early look",
            &day(400),
            "Azelaic acid calms redness.",
        ),
    );
    site.write(
        "azelaic-first.md",
        article(
            "Azelaic acid for rosacea",
            &day(300),
            "Azelaic acid is an old rosacea cream.",
        ),
    );
    site.write(
        "sunscreen-old.md",
        article(
            "Sunscreen under makeup",
            &day(200),
            "Sunscreen goes on first.",
        ),
    );
    site.ingest().await;
    site.remove("azelaic-withdrawn.md");
    site.ingest().await;
    // This week: four new azelaic acid articles, and the old sunscreen
    // article updated to be about it too (its row dated by the update).
    for d in 1..5 {
        site.write(
            &format!("azelaic-{d}.md"),
            article(
                &format!("Azelaic acid, week note {d}"),
                &day(d),
                "Azelaic acid fades marks after acne.",
            ),
        );
    }
    site.write(
        "sunscreen-old.md",
        updated_article(
            "Sunscreen and azelaic acid under makeup",
            &day(200),
            &day(1),
            "Sunscreen goes on after azelaic acid.",
        ),
    );
    site.ingest().await;

    let r = report(&site).await;
    let entry = r
        .topics
        .iter()
        .find(|t| t.id == "azelaic-acid")
        .unwrap_or_else(|| panic!("azelaic acid is not listed: {r:#?}"));
    assert_eq!(entry.count, 5, "{entry:#?}");
    assert!(
        entry.articles.iter().any(|a| a.slug == "sunscreen-old"),
        "the article updated this week is not counted: {entry:#?}"
    );
    // First seen: the first time the site covered it, though that article
    // was withdrawn later; not the first article of the report's span.
    let first = DateTime::parse_from_rfc3339(&entry.first_seen).unwrap();
    assert_eq!(
        first
            .with_timezone(&chrono_tz::Asia::Kolkata)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        day(400),
        "{entry:#?}"
    );

    // Everything else is the report computed whole, from every published
    // article of all history.
    let config = &site.config;
    let all = site
        .store
        .topic_data(DateTime::<Utc>::MIN_UTC)
        .await
        .unwrap();
    let phrases = site
        .store
        .phrase_data(DateTime::<Utc>::MIN_UTC)
        .await
        .unwrap();
    let matcher = feedletter::topics::load_matcher(config).unwrap();
    let whole = feedletter::topics::report::report_from(
        &all,
        &phrases,
        &matcher,
        &feedletter::topics::report::params(config),
        monday(),
        10,
    );
    let without_first_seen = |r: &TrendingReport| {
        let mut v = serde_json::to_value(r).unwrap();
        for t in v["topics"].as_array_mut().unwrap() {
            t.as_object_mut().unwrap().remove("first_seen");
        }
        v
    };
    assert_eq!(
        without_first_seen(&r),
        without_first_seen(&whole),
        "the span's report differs from the whole history's"
    );
    // And the span read is the smaller: the background's first weeks and
    // the articles of last year are not in it.
    let span = site
        .store
        .topic_data(monday() - Duration::days(71))
        .await
        .unwrap();
    assert!(
        span.articles.len() < all.articles.len()
            && span.articles.iter().any(|a| a.slug == "sunscreen-old")
            && !span.articles.iter().any(|a| a.slug == "azelaic-first"),
        "{} of {} articles read",
        span.articles.len(),
        all.articles.len()
    );
}
