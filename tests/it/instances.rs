//! Two `feedletter run` processes on one store: PostgreSQL in the suite's
//! PostgreSQL pass, one SQLite file in the other. One holds the scheduler
//! lease and fires the digest; both deliver, and each subscriber gets one
//! message. When the holder is killed, the other takes the lease once it
//! expires and fires the next job.
//!
//! These run against the wall clock (the processes use the system clock),
//! so the digest's article is dated just before a coming fire time.

use crate::helpers::TestSite;
use crate::smtp_server::TestSmtp;
use chrono::{DateTime, Utc};
use feedletter::domain::{Frequency, SubscriberEmail};
use feedletter::store::{ImportRow, MailKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `feedletter run` and the JSON log lines it has written.
struct Instance {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Instance {
    /// With extra environment, e.g. config overrides.
    fn start_with(name: &'static str, site: &TestSite, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedletter"))
            .arg("--config")
            .arg(site.dir.path().join("feedletter.toml"))
            .args(["--log-format", "json", "run"])
            .env_remove("FEEDLETTER_CONFIG")
            .env_remove("RUST_LOG")
            // The scheduler at work: these tests are about its runs.
            .env("FEEDLETTER_SCHEDULE__INGEST", "* * * * * *")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(v);
            }
        });
        Self { name, child, lines }
    }

    /// Log lines whose message starts with `message`.
    fn logged(&self, message: &str) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .cloned()
            .collect()
    }

    /// Summary lines of one job.
    fn job_runs(&self, job: &str) -> Vec<Value> {
        self.logged("job finished")
            .into_iter()
            .filter(|v| v["fields"]["job"] == job)
            .collect()
    }

    /// Waits for a line with `message` (and `pred`), returning it.
    async fn wait_for(
        &self,
        message: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.logged(message).into_iter().find(|v| pred(v)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no '{message}' within {timeout:?}; its log:\n{}",
                self.name,
                self.dump()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its HTTP address, from the "serving" line.
    async fn address(&self) -> String {
        let serving = self
            .wait_for("serving", Duration::from_secs(30), |_| true)
            .await;
        format!("http://{}", serving["fields"]["address"].as_str().unwrap())
    }

    fn dump(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> Option<i32> {
        self.signal("-TERM");
        self.child.wait().unwrap().code()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sum(lines: &[Value], field: &str) -> u64 {
    lines
        .iter()
        .map(|v| v["fields"][field].as_u64().unwrap_or(0))
        .sum()
}

fn fire_of(v: &Value) -> DateTime<Utc> {
    v["fields"]["fire"]
        .as_str()
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no fire time in {v}"))
}

/// A site mailing to `smtp`, with a weekly digest firing every
/// `every_secs` seconds, `subscribers` confirmed weekly subscribers, a
/// `lease`-second scheduler lease and a one-second sweep.
async fn site(smtp: &TestSmtp, every_secs: u32, subscribers: usize, rate: u32) -> TestSite {
    let extra = format!(
        r#"lease = "3s"

[mail]
from = "The Dewline <digest@dewline.example>"
transport = "smtp"
rate_per_second = {rate}
postal_address = "The Dewline, 12 Test Lane, Mumbai 400050"
[mail.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
pool_size = 2
timeout = "2s"

[delivery]
sweep = "1s"
claim_timeout = "5s"
retry_initial = "1s"
retry_max = "2s"

[[digest]]
name = "weekly"
frequency = "weekly"
cron = "*/{every_secs} * * * * *"
timezone = "Asia/Kolkata"
subject = "This week: {{{{ top_topic }}}}"
"#,
        port = smtp.port()
    );
    let site = TestSite::new(&extra).await;
    add_weekly(&site, "reader", subscribers, Utc::now()).await;
    site
}

/// Writes an article for the digest fire at least six seconds ahead, and
/// returns that fire time. A run's window starts at the fire before it, so
/// the article is dated three seconds before its fire: the lease holder
/// ingests (every second) it once that time has come, before the fire.
fn publish_for_a_coming_fire(site: &TestSite, every_secs: i64) -> DateTime<Utc> {
    let soon = (Utc::now() + chrono::Duration::seconds(6)).timestamp();
    let fire =
        DateTime::from_timestamp((soon + every_secs - 1) / every_secs * every_secs, 0).unwrap();
    let published = (fire - chrono::Duration::seconds(3))
        .with_timezone(&chrono::FixedOffset::east_opt(19800).unwrap())
        .to_rfc3339();
    site.write(
        "retinol-at-night.md",
        format!(
            "---\ntitle: \"Retinol at night, sunscreen by day\"\npublished: {published}\n\
             tags: [retinol, sunscreen]\n---\nStart retinol twice a week and wear SPF 50 each morning.\n"
        ),
    );
    fire
}

/// `n` confirmed weekly subscribers, `{prefix}{i}@inbox.example`.
async fn add_weekly(site: &TestSite, prefix: &str, n: usize, at: DateTime<Utc>) {
    let rows: Vec<ImportRow> = (0..n)
        .map(|i| ImportRow {
            email: SubscriberEmail::parse(&format!("{prefix}{i}@inbox.example")).unwrap(),
            topics: Vec::new(),
            frequency: Frequency::Weekly,
        })
        .collect();
    site.store
        .import_batch(
            &rows,
            true,
            &feedletter::domain::ConsentSource::Import("test".into()),
            at,
        )
        .await
        .unwrap();
}

/// A, once it holds the scheduler lease, then B, once it serves.
async fn start_pair(
    site: &TestSite,
    env_a: &[(&str, String)],
    env_b: &[(&str, String)],
) -> (Instance, Instance) {
    let a = Instance::start_with("A", site, env_a);
    a.wait_for("took the scheduler lease", Duration::from_secs(30), |_| {
        true
    })
    .await;
    let b = Instance::start_with("B", site, env_b);
    b.wait_for("serving", Duration::from_secs(30), |_| true)
        .await;
    (a, b)
}

/// Each address's number of messages.
fn per_recipient(smtp: &TestSmtp) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in smtp.received() {
        for to in m.to {
            *counts.entry(to).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_fire_each_run_once_and_send_each_subscriber_one_message() {
    let smtp = TestSmtp::start();
    // 300 messages at 100 a second per instance: the first run lasts long
    // enough for the second instance's sweep to join it.
    let subscribers = 300;
    let site = site(&smtp, 4, subscribers, 100).await;
    let (a, b) = start_pair(&site, &[], &[]).await;
    let fire = publish_for_a_coming_fire(&site, 4);

    let got = smtp
        .wait_for(subscribers, Duration::from_secs(60))
        .await
        .len();
    assert!(
        got >= subscribers,
        "{got} messages; A:\n{}\nB:\n{}",
        a.dump(),
        b.dump()
    );
    // Two more fire times: nothing new, so nobody gets a second digest.
    let later = fire + chrono::Duration::seconds(8);
    a.wait_for("job finished", Duration::from_secs(30), |v| {
        v["fields"]["job"] == "digest:weekly" && fire_of(v) >= later
    })
    .await;

    let counts = per_recipient(&smtp);
    assert_eq!(counts.len(), subscribers, "addresses reached");
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "more than one message: {doubled:?}");

    // Only the lease holder fired, once per fire time.
    let a_fires = a.job_runs("digest:weekly");
    assert!(b.job_runs("digest:weekly").is_empty(), "B fired a digest");
    assert!(b.logged("took the scheduler lease").is_empty());
    let mut fires: Vec<DateTime<Utc>> = a_fires.iter().map(fire_of).collect();
    let n = fires.len();
    fires.dedup();
    assert_eq!(fires.len(), n, "a fire time ran twice: {fires:?}");
    assert!(n >= 3, "{n} fires");

    // Both delivered the first run; together they sent each row once.
    let b_sent = sum(&b.job_runs("sweep"), "sent");
    let a_sent = sum(&a_fires, "sent") + sum(&a.job_runs("sweep"), "sent");
    assert!(b_sent > 0, "B sent nothing; B:\n{}", b.dump());
    assert_eq!(
        a_sent + b_sent,
        subscribers as u64,
        "A {a_sent} + B {b_sent}"
    );

    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_lease_holder_is_killed_the_other_instance_takes_over_within_the_lease() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, 2, 5, 0).await;
    let (a, b) = start_pair(&site, &[], &[]).await;
    publish_for_a_coming_fire(&site, 2);
    // A fires and delivers the run with the article.
    a.wait_for("job finished", Duration::from_secs(30), |v| {
        v["fields"]["job"] == "digest:weekly" && v["fields"]["sent"] == 5
    })
    .await;
    assert!(b.logged("took the scheduler lease").is_empty());

    a.signal("-KILL");
    let killed = Utc::now();
    let took = b
        .wait_for("took the scheduler lease", Duration::from_secs(20), |_| {
            true
        })
        .await;
    let took_at: DateTime<Utc> = took["timestamp"].as_str().unwrap().parse().unwrap();
    // The lease is 3 s, renewed every second, with whole-second expiry: B
    // must hold it within lease + one renewal + one second of rounding.
    let waited = took_at - killed;
    assert!(
        waited <= chrono::Duration::seconds(5),
        "B took the lease {waited} after A was killed"
    );
    // And fires the next job itself.
    let fired = b
        .wait_for("job finished", Duration::from_secs(15), |v| {
            v["fields"]["job"] == "digest:weekly"
        })
        .await;
    assert!(fire_of(&fired) > killed - chrono::Duration::seconds(2));
    // Nothing new since the first run: still one message each.
    assert!(per_recipient(&smtp).values().all(|n| *n == 1));
    assert_eq!(per_recipient(&smtp).len(), 5);
    assert_eq!(b.stop(), Some(0));
}

/// The store's side of several instances, on whichever backend the suite
/// runs on: one lease holder at a time, claims that never overlap, and a
/// revision that moves with every ingest that writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_gives_the_lease_to_one_holder_and_each_row_to_one_claimer() {
    use feedletter::store::NewRun;
    let site = TestSite::new("").await;
    let store = site.store.clone();
    let t0 = Utc::now();
    let s = chrono::Duration::seconds;

    // One holder until its lease expires; renewing is only for the holder.
    // (who, seconds after t0, taken?), each for three seconds.
    let steps = [
        ("x", 0, true),
        ("y", 1, false),
        ("x", 2, true),
        ("y", 4, false),
        ("y", 5, true),
        ("x", 6, false),
    ];
    for (who, at, expected) in steps {
        let now = t0 + s(at);
        let taken = store
            .take_lease("scheduler", who, now, now + s(3))
            .await
            .unwrap();
        assert_eq!(taken, expected, "{who} at +{at}s");
    }
    // Giving it up lets the other in at once; x cannot drop y's lease.
    store.drop_lease("scheduler", "x").await.unwrap();
    assert!(
        !store
            .take_lease("scheduler", "x", t0 + s(6), t0 + s(9))
            .await
            .unwrap()
    );
    store.drop_lease("scheduler", "y").await.unwrap();
    assert!(
        store
            .take_lease("scheduler", "x", t0 + s(6), t0 + s(9))
            .await
            .unwrap()
    );

    // The revision moves when an ingest writes, not when it finds nothing.
    let r0 = store.revision().await.unwrap();
    site.write(
        "a.md",
        crate::helpers::article("A", "2026-11-20T09:00:00+05:30", "Body."),
    );
    site.ingest().await;
    let r1 = store.revision().await.unwrap();
    assert_eq!(r1, r0 + 1);
    site.ingest().await;
    assert_eq!(store.revision().await.unwrap(), r1);

    // 600 pending rows claimed by four claimers at once, 25 at a time:
    // every row once, none twice (SKIP LOCKED on PostgreSQL, the single
    // writer on SQLite).
    add_weekly(&site, "c", 600, t0).await;
    let (run, created) = store
        .create_run(
            &NewRun {
                schedule: "weekly",
                fire: t0,
                since: t0 - chrono::Duration::days(7),
                frequency: Frequency::Weekly,
                subject: "s",
                web_html: "<p>w</p>",
            },
            t0,
        )
        .await
        .unwrap();
    assert!(created);
    // Rounds in step: the four claims of a round reach the store together.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    for i in 0..4 {
        store
            .register_instance(&format!("claimer-{i}"), "test", None, t0)
            .await
            .unwrap();
    }
    let claimers: Vec<_> = (0..4)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let holder = format!("claimer-{i}");
                let mut mine = Vec::new();
                for _ in 0..7 {
                    barrier.wait().await;
                    let got = store.claim(run.id, &holder, t0, 25).await.unwrap();
                    mine.extend(got.into_iter().map(|c| c.id));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        let mine = c.await.unwrap();
        assert!(!mine.is_empty(), "a claimer got nothing");
        all.extend(mine);
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        (n, all.len()),
        (600, 600),
        "rows claimed twice or not at all"
    );
    assert_eq!(store.run_counts(run.id).await.unwrap().sending, 600);

    // Queued transactional mail: claimed once, due again after the hold.
    for i in 0..10 {
        store
            .enqueue_mail(None, MailKind::Notice, &format!("{{\"n\":{i}}}"), t0)
            .await
            .unwrap();
    }
    let first = store.claim_mail(t0, t0 + s(60), 6).await.unwrap();
    let second = store.claim_mail(t0, t0 + s(60), 6).await.unwrap();
    assert_eq!((first.len(), second.len()), (6, 4));
    assert!(first.iter().all(|m| second.iter().all(|o| o.id != m.id)));
    assert!(
        store
            .claim_mail(t0 + s(30), t0 + s(90), 20)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim_mail(t0 + s(60), t0 + s(120), 20)
            .await
            .unwrap()
            .len(),
        10
    );
}

/// Each instance serves its own feeds folder; an article pushed to one
/// reaches the other's feeds on its next ingest tick (every second here),
/// through the store's revision.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_pushed_to_one_instance_reaches_the_others_feeds() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, 4, 0, 0).await;
    let token = "instances-test-token-0123456789".to_string();
    let env = |feeds: &str| {
        vec![
            ("FEEDLETTER_ADMIN_TOKEN", token.clone()),
            (
                "FEEDLETTER_FEEDS__DIR",
                site.dir.path().join(feeds).display().to_string(),
            ),
        ]
    };
    let (a, b) = start_pair(&site, &env("feeds-a"), &env("feeds-b")).await;
    let (a_url, b_url) = (a.address().await, b.address().await);
    let client = reqwest::Client::new();

    let published = (Utc::now() - chrono::Duration::hours(1))
        .with_timezone(&chrono::FixedOffset::east_opt(19800).unwrap())
        .to_rfc3339();
    let r = client
        .put(format!("{b_url}/api/v1/articles/ceramides-in-winter"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "title": "Ceramides for a winter barrier",
            "published": published,
            "tags": ["ceramides", "moisturiser"],
            "body": "Ceramides refill the gaps between skin cells.",
        }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}: {}",
        r.status(),
        r.text().await.unwrap()
    );
    // B rebuilt its own feeds before answering.
    let b_feed = client
        .get(format!("{b_url}/feeds/rss.xml"))
        .send()
        .await
        .unwrap();
    assert!(
        b_feed
            .text()
            .await
            .unwrap()
            .contains("Ceramides for a winter barrier")
    );

    // A did not ingest it and was not told: it sees the store move.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = client
            .get(format!("{a_url}/feeds/rss.xml"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains("Ceramides for a winter barrier") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A's feed never showed the pushed article; A:\n{}",
            a.dump()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let on_disk = std::fs::read_to_string(site.dir.path().join("feeds-a/rss.xml")).unwrap();
    assert!(on_disk.contains("Ceramides for a winter barrier"));
    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));
}
