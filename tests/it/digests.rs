//! Digest runs against the sample publication, delivered over SMTP to an
//! in-process server and read back with mail-parser; the command line for
//! sending, stopping, killing and resuming.

use crate::helpers::{BASE_URL, TestSite, sample_now};
use crate::smtp_server::{PipeliningSmtp, TestSmtp};
use chrono::{DateTime, Utc};
use feedletter::Clock as _;
use feedletter::delivery::instance::Instance;
use feedletter::delivery::{Deliverer, Options};
use feedletter::domain::{Frequency, SubscriberEmail, SubscriberStatus};
use feedletter::store::ImportRow;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) const DIGESTS: &str = r#"
[delivery]
retry_initial = "1s"
retry_max = "2s"
give_up_after = "1h"
claim_timeout = "1m"
heartbeat = "1s"
dead_after = "3s"
in_flight_grace = "2s"

[[digest]]
name = "weekly"
frequency = "weekly"
cron = "0 8 * * Mon"
timezone = "Asia/Kolkata"
subject = "This week in skincare: {{ top_topic }}"
max_topics = 4
max_articles_per_topic = 3

[[digest]]
name = "daily"
frequency = "daily"
cron = "0 7 * * *"
timezone = "Asia/Kolkata"
subject = "Today at {{ site_title }}: {{ top_topic }}"
max_topics = 3
max_articles_per_topic = 2
"#;

pub(crate) fn smtp_toml(port: u16, extra_mail: &str) -> String {
    format!(
        "[mail]\nfrom = \"The Dewline <digest@dewline.example>\"\ntransport = \"smtp\"\n\
         rate_per_second = 0\n\
         postal_address = \"The Dewline, 12 Test Lane, Mumbai 400050\"\n{extra_mail}\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\npool_size = 4\ntimeout = \"2s\"\n",
    )
}

/// The sample publication, ingested at `sample_now()`, mailing to `smtp`.
pub(crate) async fn site(smtp: &TestSmtp, extra_mail: &str) -> TestSite {
    site_on(smtp.port(), extra_mail).await
}

/// `site`, mailing to the SMTP server on `port` of 127.0.0.1.
pub(crate) async fn site_on(port: u16, extra_mail: &str) -> TestSite {
    let site = TestSite::new(&format!("{}{DIGESTS}", smtp_toml(port, extra_mail))).await;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), site.content_dir().join(entry.file_name())).unwrap();
    }
    site.ingest().await;
    site
}

pub(crate) async fn add(site: &TestSite, emails: &[String], topics: &[&str], frequency: Frequency) {
    let rows: Vec<ImportRow> = emails
        .iter()
        .map(|e| ImportRow {
            email: SubscriberEmail::parse(e).unwrap(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            frequency,
        })
        .collect();
    for chunk in rows.chunks(2000) {
        site.store
            .import_batch(
                chunk,
                true,
                &feedletter::domain::ConsentSource::Import("test".into()),
                site.clock.now(),
            )
            .await
            .unwrap();
    }
}

pub(crate) fn emails(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{i}@inbox.example"))
        .collect()
}

pub(crate) async fn deliverer(site: &TestSite) -> Deliverer {
    Deliverer {
        store: site.store.clone(),
        mailer: feedletter::mail::Mailer::from_config(&site.config.mail).unwrap(),
        config: Arc::new(site.config.clone()),
        tera: Arc::new(feedletter::templates::load(&site.config.site.templates_dir).unwrap()),
        clock: Arc::new(site.clock.clone()),
        instance: Instance::register(site.store.clone(), Arc::new(site.clock.clone()), "test")
            .await
            .unwrap(),
    }
}

pub(crate) fn schedule<'a>(site: &'a TestSite, name: &str) -> &'a feedletter::config::DigestConfig {
    feedletter::digest::schedule(&site.config, name).unwrap()
}

/// Monday 2026-11-23 08:00 in Kolkata: the weekly run `sample_now()` acts on.
pub(crate) fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T08:00:00+05:30")
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn no_stop() -> CancellationToken {
    CancellationToken::new()
}

pub(crate) fn quick() -> Options {
    Options {
        wait_for_retries: Duration::ZERO,
        progress: None,
    }
}

fn parsed(data: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(data).unwrap()
}

fn raw_header(data: &[u8], name: &str) -> Option<String> {
    parsed(data)
        .header_raw(name)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub(crate) fn recipients(got: &[crate::smtp_server::Received]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in got {
        for to in &r.to {
            *out.entry(to.to_ascii_lowercase()).or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test]
async fn a_weekly_run_mails_each_weekly_subscriber_once_with_list_headers_and_working_links() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    let weekly = emails("weekly", 500);
    let daily = emails("daily", 20);
    add(&site, &weekly, &[], Frequency::Weekly).await;
    add(&site, &daily, &[], Frequency::Daily).await;

    let d = deliverer(&site).await;
    let fire = feedletter::digest::fire_at(schedule(&site, "weekly"), sample_now()).unwrap();
    assert_eq!(fire, monday());
    let report = d
        .fire(schedule(&site, "weekly"), fire, &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!(report.sent, 500, "{report:?}");
    assert_eq!(report.counts.sent, 500);
    assert_eq!(report.counts.total(), 500, "daily subscribers have no row");

    let got = smtp.received();
    let to = recipients(&got);
    assert_eq!(to.len(), 500);
    assert!(to.values().all(|n| *n == 1), "someone got two");
    assert_eq!(
        to.keys().cloned().collect::<BTreeSet<_>>(),
        weekly.iter().cloned().collect::<BTreeSet<_>>()
    );

    let mut message_ids = BTreeSet::new();
    let mut tokens = BTreeSet::new();
    for r in &got {
        let m = parsed(&r.data);
        let subject = m.subject().unwrap();
        assert!(
            subject.starts_with("This week in skincare: ") && subject.len() > 23,
            "{subject}"
        );
        assert_eq!(
            raw_header(&r.data, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let unsub = raw_header(&r.data, "List-Unsubscribe").unwrap();
        let prefix = format!("<{BASE_URL}/unsubscribe/");
        assert!(
            unsub.starts_with(&prefix) && unsub.ends_with('>'),
            "{unsub}"
        );
        let token = unsub[prefix.len()..unsub.len() - 1].to_owned();
        assert_eq!(token.len(), 64);
        tokens.insert(token.clone());
        assert!(
            raw_header(&r.data, "List-Id")
                .unwrap()
                .contains("<weekly.dewline.example>")
        );
        message_ids.insert(m.message_id().unwrap().to_owned());
        assert!(m.date().is_some());
        // multipart/alternative: the text part first, then HTML.
        let ct = raw_header(&r.data, "Content-Type").unwrap();
        assert!(ct.starts_with("multipart/alternative"), "{ct}");
        let text = m.body_text(0).unwrap();
        let html = m.body_html(0).unwrap();
        let text_at = String::from_utf8_lossy(&r.data).find("Content-Type: text/plain");
        let html_at = String::from_utf8_lossy(&r.data).find("Content-Type: text/html");
        assert!(text_at.unwrap() < html_at.unwrap());
        // Both parts carry this subscriber's links and the footer.
        for body in [&text, &html] {
            assert!(body.contains(&format!("/unsubscribe/{token}")));
            assert!(body.contains(&format!("/preferences/{token}")));
            assert!(body.contains(&format!("/digests/{}", report.run_id)));
            assert!(body.contains("12 Test Lane"));
        }
        // Written for text, not tags stripped from HTML.
        assert!(!text.contains('<') || !text.contains("</"), "{text}");
        assert!(html.contains("width=\"600\""));
        assert!(html.contains("style=\""), "CSS is inlined");
    }
    assert_eq!(message_ids.len(), 500, "one Message-ID per delivery");
    assert_eq!(tokens.len(), 500, "one token per message");

    // The same fire time again, from the library or a second process: the
    // run is found and nothing new goes out.
    let again = d
        .fire(schedule(&site, "weekly"), fire, &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!(again.run_id, report.run_id);
    assert_eq!(again.sent, 0);
    assert_eq!(smtp.received().len(), 500);

    // The daily schedule mails the daily subscribers only.
    let daily_fire = feedletter::digest::fire_at(schedule(&site, "daily"), sample_now()).unwrap();
    let daily_report = d
        .fire(schedule(&site, "daily"), daily_fire, &quick(), &no_stop())
        .await
        .unwrap();
    let daily_to: BTreeSet<String> = recipients(&smtp.received()[500..]).into_keys().collect();
    assert_eq!(
        daily_report.sent + daily_report.skipped,
        20,
        "{daily_report:?}"
    );
    assert!(daily_to.is_subset(&daily.iter().cloned().collect()));

    // The links work: the browser copy has no personal data, and the
    // one-click unsubscribe from the header unsubscribes.
    let app = site.spawn_at_fixed_time().await;
    let web = app
        .get(&format!("/digests/{}", report.run_id))
        .await
        .unwrap();
    assert_eq!(web.status(), 200);
    let page = web.text().await.unwrap();
    assert!(page.contains("12 Test Lane"));
    assert!(!page.contains("/unsubscribe/") && !page.contains("/preferences/"));
    assert!(!page.contains("@inbox.example"));
    assert_eq!(app.get("/digests/999999").await.unwrap().status(), 404);
    assert_eq!(app.get("/digests/abc").await.unwrap().status(), 404);

    let token = tokens.iter().next().unwrap();
    let r = app
        .request(reqwest::Method::POST, &format!("/unsubscribe/{token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let unsubscribed = site
        .store
        .count_subscribers(Some(SubscriberStatus::Unsubscribed))
        .await
        .unwrap();
    assert_eq!(unsubscribed, 1);
    app.stop().await;
}

#[tokio::test]
async fn each_digest_is_dkim_signed_over_the_list_headers() {
    let smtp = TestSmtp::start();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dkim.key");
    std::fs::write(&key_file, format!("{}\n", crate::mail::ED25519_SEED)).unwrap();
    let dkim = format!(
        "[mail.dkim]\nselector = \"dew2026\"\ndomain = \"dewline.example\"\nkey_file = \"{}\"\n",
        key_file.display()
    );
    let site = site(&smtp, &dkim).await;
    add(&site, &emails("signed", 3), &[], Frequency::Weekly).await;
    let report = deliverer(&site)
        .await
        .fire(schedule(&site, "weekly"), monday(), &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!(report.sent, 3);
    let key =
        ed25519_dalek::SigningKey::from_bytes(&std::array::from_fn(|i| i as u8)).verifying_key();
    for r in smtp.received() {
        let tags =
            crate::mail::verify_ed25519_dkim(&r.data, &key).unwrap_or_else(|e| panic!("DKIM: {e}"));
        crate::mail::assert_signs_list_headers(&tags);
    }
}

#[tokio::test]
async fn a_451_is_retried_and_delivered_once_a_550_fails_at_once_and_counts_a_bounce() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    let list = emails("r", 10);
    add(&site, &list, &[], Frequency::Weekly).await;
    smtp.reject_rcpt("r1@inbox.example", 451);
    smtp.reject_rcpt("r2@inbox.example", 550);

    let d = deliverer(&site).await;
    let first = d
        .fire(schedule(&site, "weekly"), monday(), &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!(
        (first.sent, first.retried, first.failed),
        (8, 1, 1),
        "{first:?}"
    );
    assert_eq!(first.counts.pending, 1);
    assert!(first.next_retry.is_some());
    let status = d.store.last_errors(first.run_id, 10).await.unwrap();
    assert!(
        status.iter().any(|e| e.email == "r2@inbox.example"
            && e.state == "failed"
            && e.error.contains("550"))
    );
    assert!(
        status.iter().any(|e| e.email == "r1@inbox.example"
            && e.state == "pending"
            && e.error.contains("451"))
    );

    // The server takes the address again; the retry comes due.
    smtp.accept_rcpt("r1@inbox.example");
    site.clock.advance(chrono::Duration::seconds(5));
    let run = d.store.digest_run(first.run_id).await.unwrap().unwrap();
    let second = d.deliver(&run, &quick(), &no_stop()).await.unwrap();
    assert_eq!((second.sent, second.failed), (1, 0), "{second:?}");
    assert!(second.counts.finished());
    assert!(d.store.digest_run(run.id).await.unwrap().unwrap().done);

    let to = recipients(&smtp.received());
    assert_eq!(to.get("r1@inbox.example"), Some(&1));
    assert_eq!(to.get("r2@inbox.example"), None, "a 550 is not retried");
    let bounced = d
        .store
        .subscriber_by_email("r2@inbox.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bounced.bounce_count, 1);
    assert_eq!(
        bounced.status,
        SubscriberStatus::Confirmed,
        "one hard bounce is not three"
    );
}

#[tokio::test]
async fn a_server_offering_pipelining_gets_each_envelope_in_one_go_and_every_copy_its_own_links() {
    let smtp = PipeliningSmtp::start();
    let site = site_on(smtp.port(), "").await;
    let list = emails("p", 60);
    add(&site, &list, &[], Frequency::Weekly).await;
    smtp.reject_rcpt("p1@inbox.example", 451);
    smtp.reject_rcpt("p2@inbox.example", 550);

    let d = deliverer(&site).await;
    let report = d
        .fire(schedule(&site, "weekly"), monday(), &quick(), &no_stop())
        .await
        .unwrap();
    // The server answers MAIL and RCPT only once DATA has come: a client
    // that waited for each reply would have sent nothing.
    assert_eq!(
        (report.sent, report.retried, report.failed),
        (58, 1, 1),
        "{report:?}"
    );
    assert_eq!(smtp.groups(), 60, "one MAIL-RCPT-DATA group a message");
    let errors = d.store.last_errors(report.run_id, 10).await.unwrap();
    assert!(
        errors.iter().any(|e| e.email == "p2@inbox.example"
            && e.state == "failed"
            && e.error.contains("550")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.email == "p1@inbox.example"
            && e.state == "pending"
            && e.error.contains("451")),
        "{errors:?}"
    );
    let bounced = d
        .store
        .subscriber_by_email("p2@inbox.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bounced.bounce_count, 1, "a refused RCPT is a hard bounce");

    // One body encoded for everyone, each copy with its reader's token:
    // in List-Unsubscribe and in both parts, and nowhere else different.
    let got = smtp.received();
    assert_eq!(got.len(), 58);
    let mut tokens = BTreeSet::new();
    let mut bodies = BTreeSet::new();
    for r in &got {
        assert_eq!(r.to.len(), 1);
        assert!(r.from.starts_with("bounces+"), "VERP sender: {}", r.from);
        let m = parsed(&r.data);
        assert_eq!(
            m.to().and_then(|a| a.first()).and_then(|a| a.address()),
            Some(r.to[0].as_str())
        );
        let unsub = raw_header(&r.data, "List-Unsubscribe").unwrap();
        let prefix = format!("<{BASE_URL}/unsubscribe/");
        let token = unsub
            .strip_prefix(&prefix)
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or_else(|| panic!("{unsub}"))
            .to_owned();
        assert_eq!(token.len(), 64);
        let text = m.body_text(0).unwrap();
        let html = m.body_html(0).unwrap();
        for body in [&text, &html] {
            assert!(body.contains(&format!("/unsubscribe/{token}")), "{body}");
            assert!(body.contains(&format!("/preferences/{token}")));
        }
        bodies.insert((text.replace(&token, "TOKEN"), html.replace(&token, "TOKEN")));
        tokens.insert(token);
    }
    assert_eq!(tokens.len(), 58, "a token per reader");
    assert_eq!(bodies.len(), 1, "the bodies differ only in the token");
    let (text, html) = bodies.into_iter().next().unwrap();
    assert!(text.contains("/unsubscribe/TOKEN") && html.contains("/unsubscribe/TOKEN"));
    assert!(html.contains("style=\""), "CSS is inlined");
}

#[tokio::test]
async fn nothing_new_means_no_mail_recorded_as_skipped() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    // Follows a topic with nothing new in the week before the run.
    add(
        &site,
        &["quiet@inbox.example".to_owned()],
        &["no-such-topic"],
        Frequency::Weekly,
    )
    .await;
    add(
        &site,
        &["everything@inbox.example".to_owned()],
        &[],
        Frequency::Weekly,
    )
    .await;
    let d = deliverer(&site).await;
    let first = d
        .fire(schedule(&site, "weekly"), monday(), &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!((first.sent, first.skipped), (1, 1), "{first:?}");
    let to = recipients(&smtp.received());
    assert_eq!(to.keys().collect::<Vec<_>>(), ["everything@inbox.example"]);

    let first_text = parsed(&smtp.received()[0].data)
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(first_text.contains("/articles/exosomes-viral-skincare-trend"));

    // The next week's digest holds only what came after the last one.
    site.clock.advance(chrono::Duration::days(7));
    let next = monday() + chrono::Duration::days(7);
    let second = d
        .fire(schedule(&site, "weekly"), next, &quick(), &no_stop())
        .await
        .unwrap();
    assert_eq!((second.sent, second.skipped), (1, 1), "{second:?}");
    let second_text = parsed(&smtp.received()[1].data)
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(second_text.contains("/articles/exosomes-for-thinning-hair"));
    assert!(
        !second_text.contains("/articles/exosomes-viral-skincare-trend"),
        "last week's article again:\n{second_text}"
    );

    // And a week with nothing published: no mail at all.
    site.clock.advance(chrono::Duration::days(7));
    let third = d
        .fire(
            schedule(&site, "weekly"),
            next + chrono::Duration::days(7),
            &quick(),
            &no_stop(),
        )
        .await
        .unwrap();
    assert_eq!((third.sent, third.skipped), (0, 2), "{third:?}");
    assert_eq!(smtp.received().len(), 2);
}

pub(crate) fn feedletter_cmd(site: &TestSite) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedletter"));
    c.arg("--config")
        .arg(site.dir.path().join("feedletter.toml"))
        .env_remove("FEEDLETTER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

pub(crate) const AT: &str = "2026-11-25T12:00:00+05:30";

pub(crate) async fn wait_received(smtp: &TestSmtp, n: usize) {
    let got = smtp.wait_for(n, Duration::from_secs(60)).await;
    assert!(got.len() >= n, "only {} messages arrived", got.len());
}

pub(crate) fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test]
async fn preview_writes_an_eml_and_html_and_sends_nothing() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    add(
        &site,
        &["reader@inbox.example".to_owned()],
        &["exosomes"],
        Frequency::Weekly,
    )
    .await;
    let out_dir = site.dir.path().join("preview");
    let out = feedletter_cmd(&site)
        .args([
            "digest",
            "preview",
            "--schedule",
            "weekly",
            "--at",
            AT,
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eml = std::fs::read(out_dir.join("digest-weekly-20261123-0800.eml")).unwrap();
    let m = parsed(&eml);
    assert!(m.subject().unwrap().starts_with("This week in skincare"));
    assert!(m.body_html(0).unwrap().contains("width=\"600\""));
    assert!(out_dir.join("digest-weekly-20261123-0800.html").is_file());
    assert!(smtp.received().is_empty());

    let bad = feedletter_cmd(&site)
        .args(["digest", "preview", "--schedule", "monthly"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("monthly") && err.contains("weekly, daily"),
        "{err}"
    );
}

#[tokio::test]
async fn the_daemon_catches_up_a_missed_run_at_start_only_when_it_is_young_enough() {
    // The fixed clock says Wednesday noon; Monday 08:00's weekly fire was
    // missed while the daemon was down, 52 hours ago.
    let smtp = TestSmtp::start();
    let mut site = site(&smtp, "").await;
    add(&site, &emails("late", 5), &[], Frequency::Weekly).await;

    // Older than catch_up (12 h): skipped, no run.
    // Stopping waits for the scheduler, which has decided on the missed
    // fire by then.
    site.config.schedule.catch_up = Duration::from_secs(12 * 3600);
    let app = site.spawn_at_fixed_time().await;
    app.stop().await;
    assert!(
        site.store
            .latest_run(Some("weekly"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(smtp.received().is_empty());

    // Younger than catch_up (3 days): run once at start.
    site.config.schedule.catch_up = Duration::from_secs(72 * 3600);
    let app = site.spawn_at_fixed_time().await;
    let got = smtp.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 5);
    let run = site
        .store
        .latest_run(Some("weekly"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.fire, monday());
    app.stop().await;

    // A restart finds the run and sends nothing more.
    let app = site.spawn_at_fixed_time().await;
    app.stop().await;
    assert_eq!(smtp.received().len(), 5);
    let runs = site.store.unfinished_runs().await.unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    assert_eq!(
        site.store
            .latest_run(Some("weekly"))
            .await
            .unwrap()
            .unwrap()
            .id,
        run.id
    );
}

#[tokio::test]
async fn check_names_a_broken_subject_and_a_claim_timeout_shorter_than_the_smtp_timeout() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    let path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("{{ top_topic }}\"", "{{ top_topic \"");
    std::fs::write(&path, &text).unwrap();
    let out = feedletter_cmd(&site).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let problems = String::from_utf8_lossy(&out.stdout);
    assert!(problems.contains("digest[0].subject"), "{problems}");

    std::fs::write(
        &path,
        text.replace("claim_timeout = \"1m\"", "claim_timeout = \"1s\"")
            .replace("dead_after = \"3s\"", "dead_after = \"2s\""),
    )
    .unwrap();
    let out = feedletter_cmd(&site).arg("check").output().unwrap();
    let problems = String::from_utf8_lossy(&out.stdout);
    assert!(problems.contains("delivery.claim_timeout"), "{problems}");
    assert!(
        problems.contains("delivery.dead_after: '2s' must be at least three heartbeats"),
        "{problems}"
    );
}
