//! Bounces and complaints that come back later: real-shaped DSN and ARF
//! messages (tests/fixtures/bounces) delivered over SMTP to the listener
//! the daemon starts (`[bounces] listen`), and to a maildir folder.

use crate::helpers::TestSite;
use feedletter::Clock as _;
use feedletter::bounces::verp::{BounceRef, Verp};
use feedletter::bounces::{Inbox, maildir};
use feedletter::domain::{ConsentSource, Frequency, Subscriber, SubscriberEmail, SubscriberStatus};
use feedletter::store::ImportRow;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

pub const LISTEN: &str = "[bounces]\nlisten = \"127.0.0.1:0\"\n";

/// A report from tests/fixtures/bounces, about `recipient`, sent back to
/// `verp`.
pub fn fixture(name: &str, verp: &str, recipient: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bounces")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .replace("VERP_ADDRESS", verp)
        .replace("RECIPIENT", recipient)
}

/// The daemon, running, with its bounce listener's address.
pub struct Daemon {
    pub bounces: Option<SocketAddr>,
    /// The HTTP server's base URL.
    pub http: String,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    pub async fn start(site: &TestSite) -> Self {
        Self::start_with(site.config.clone(), site).await
    }

    pub async fn start_with(config: feedletter::Config, site: &TestSite) -> Self {
        let app = feedletter::App::build(config, Arc::new(site.clock.clone()))
            .await
            .unwrap();
        let bounces = app.bounce_addr();
        let http = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        for _ in 0..200 {
            if reqwest::get(format!("{http}/healthz"))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        Self {
            bounces,
            http,
            stop: Some(tx),
            handle,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.handle.await.unwrap().unwrap();
    }
}

/// Confirmed subscribers, by address.
pub async fn subscribe(site: &TestSite, emails: &[&str]) -> Vec<Subscriber> {
    let rows: Vec<ImportRow> = emails
        .iter()
        .map(|e| ImportRow {
            email: SubscriberEmail::parse(e).unwrap(),
            topics: Vec::new(),
            frequency: Frequency::Weekly,
        })
        .collect();
    site.store
        .import_batch(
            &rows,
            true,
            &ConsentSource::Import("test".into()),
            site.clock.now(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for e in emails {
        out.push(site.store.subscriber_by_email(e).await.unwrap().unwrap());
    }
    out
}

pub async fn reload(site: &TestSite, s: &Subscriber) -> Subscriber {
    site.store.subscriber(s.id).await.unwrap().unwrap()
}

/// The VERP addresses of this site's store.
pub async fn verp(site: &TestSite) -> Verp {
    Verp::load(
        site.store.as_ref(),
        &site.config.bounces,
        &site.config.mail.from.email,
    )
    .await
    .unwrap()
}

pub fn about(s: &Subscriber, run: i64) -> BounceRef {
    BounceRef {
        subscriber: s.id,
        run: Some(run),
    }
}

/// Sends `message` from the null sender to `rcpt` over plain SMTP, as a
/// relay forwarding a bounce does; returns the reply to the message.
pub async fn send(addr: SocketAddr, rcpt: &str, message: &str) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut reply = String::new();
    let read = async |r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>| {
        // Multi-line replies: up to the line with a space after the code.
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    };
    assert!(read(&mut r).await.starts_with("220"));
    for (command, want) in [
        ("EHLO relay.test".to_owned(), "250"),
        ("MAIL FROM:<>".to_owned(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        w.write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        let got = read(&mut r).await;
        assert!(got.starts_with(want), "{command}: {got}");
    }
    let mut data = String::new();
    for line in message.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    w.write_all(data.as_bytes()).await.unwrap();
    reply.push_str(read(&mut r).await.trim_end());
    w.write_all(b"QUIT\r\n").await.unwrap();
    reply
}

#[tokio::test]
async fn three_hard_bounces_from_different_mail_systems_make_the_address_bounced() {
    let site = TestSite::new(LISTEN).await;
    let daemon = Daemon::start(&site).await;
    let addr = daemon.bounces.expect("the daemon listens for bounces");
    let [jane] = &subscribe(&site, &["jane@inbox.example"]).await[..] else {
        unreachable!()
    };
    let v = verp(&site).await;
    let reports = [
        "postfix-hard.eml",
        "gmail-no-such-user.eml",
        "outlook-recipient-not-found.eml",
    ];
    for (i, name) in reports.iter().enumerate() {
        let to = v.address(about(jane, i as i64 + 1));
        let reply = send(addr, &to, &fixture(name, &to, jane.email.as_str())).await;
        assert!(reply.starts_with("250"), "{name}: {reply}");
        let now = reload(&site, jane).await;
        assert_eq!(now.bounce_count, i as u32 + 1, "{name}");
        if i < 2 {
            assert_eq!(now.status, SubscriberStatus::Confirmed, "{name}");
        }
        // The same report again (a relay retrying) counts once.
        send(addr, &to, &fixture(name, &to, jane.email.as_str())).await;
        assert_eq!(
            reload(&site, jane).await.bounce_count,
            i as u32 + 1,
            "{name} twice"
        );
    }
    let jane = reload(&site, jane).await;
    assert_eq!(jane.status, SubscriberStatus::Bounced);
    let reason = jane.status_reason.clone().unwrap();
    assert!(
        reason.contains("5.1.10")
            && reason.contains("RecipientNotFound")
            && reason.contains("smtp"),
        "{reason}"
    );
    assert_eq!(jane.status_at, Some(site.clock.now()));
    daemon.stop().await;

    // `subscribers list --status bounced` and `export` say why and when.
    let out = site
        .command()
        .args(["subscribers", "list", "--status", "bounced"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("jane@inbox.example"), "{list}");
    assert!(list.contains("RecipientNotFound"), "{list}");
    assert!(list.contains(&site.clock.now().to_rfc3339()), "{list}");
    let out = site
        .command()
        .args(["subscribers", "export"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let col = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(col("status"), "bounced");
    assert_eq!(col("bounce_count"), "3");
    assert!(col("status_reason").contains("RecipientNotFound"), "{csv}");
    assert_eq!(col("status_at"), site.clock.now().to_rfc3339());
}

#[tokio::test]
async fn soft_bounces_count_only_past_the_limit() {
    let site = TestSite::new(&format!("{LISTEN}soft_limit = 2\n")).await;
    let daemon = Daemon::start(&site).await;
    let addr = daemon.bounces.unwrap();
    let [sam] = &subscribe(&site, &["sam@inbox.example"]).await[..] else {
        unreachable!()
    };
    let v = verp(&site).await;
    let mut seen = Vec::new();
    for run in 1..=5 {
        let to = v.address(about(sam, run));
        let reply = send(
            addr,
            &to,
            &fixture("exim-mailbox-full.eml", &to, sam.email.as_str()),
        )
        .await;
        assert!(reply.starts_with("250"), "{reply}");
        let now = reload(&site, sam).await;
        seen.push((now.soft_bounce_count, now.bounce_count, now.status));
    }
    use SubscriberStatus::{Bounced, Confirmed};
    assert_eq!(
        seen,
        [
            (1, 0, Confirmed),
            (2, 0, Confirmed),
            (3, 1, Confirmed),
            (4, 2, Confirmed),
            (5, 3, Bounced)
        ]
    );
    let reason = reload(&site, sam).await.status_reason.unwrap();
    assert!(
        reason.contains("soft_limit = 2") && reason.contains("4.2.2"),
        "{reason}"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_complaint_unsubscribes_at_once_and_keeps_its_reason() {
    let site = TestSite::new(LISTEN).await;
    let daemon = Daemon::start(&site).await;
    let addr = daemon.bounces.unwrap();
    let people = subscribe(&site, &["yael@yahoo.example", "omar@outlook.example"]).await;
    let v = verp(&site).await;
    // Feedback loops mail their own address, not the VERP one: the report
    // itself names the envelope sender (Yahoo) or holds the original
    // message with its Return-Path (Microsoft).
    for (s, name, agent) in [
        (&people[0], "yahoo-complaint.eml", "Yahoo"),
        (&people[1], "outlook-complaint.eml", "Microsoft"),
    ] {
        let original_sender = v.address(about(s, 9));
        let report = fixture(name, &original_sender, "redacted@example.com");
        let reply = send(addr, "fbl@dewline.test", &report).await;
        assert!(reply.starts_with("250"), "{reply}");
        let s = reload(&site, s).await;
        assert_eq!(s.status, SubscriberStatus::Unsubscribed, "{name}");
        assert!(s.unsubscribed_at.is_some());
        let reason = s.status_reason.unwrap();
        assert!(
            reason.contains("complaint") && reason.contains(agent),
            "{reason}"
        );
    }
    daemon.stop().await;
}

#[tokio::test]
async fn auto_replies_delays_and_foreign_or_forged_tokens_change_nothing() {
    let site = TestSite::new(LISTEN).await;
    let daemon = Daemon::start(&site).await;
    let addr = daemon.bounces.unwrap();
    let people = subscribe(&site, &["ana@inbox.example", "gone@inbox.example"]).await;
    let ana = &people[0];
    let v = verp(&site).await;
    let to = v.address(about(ana, 1));
    for name in [
        "out-of-office.eml",
        "vacation-no-headers.eml",
        "postfix-delayed.eml",
        "not-spam-report.eml",
    ] {
        let reply = send(addr, &to, &fixture(name, &to, ana.email.as_str())).await;
        assert!(reply.starts_with("250"), "{name}: {reply}");
    }
    // A token with its MAC changed, one of another store's key, no token.
    let (base, rest) = to.rsplit_once('-').unwrap();
    let (mac, domain) = rest.split_once('@').unwrap();
    let flipped: String = mac
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    let flipped = format!("{flipped}@{domain}");
    let other = Verp::new(
        &"9".repeat(64),
        &"bounces@dewline.test".parse().unwrap(),
        true,
    )
    .address(about(ana, 1));
    for forged in [
        format!("{base}-{flipped}"),
        other,
        "bounces@dewline.test".into(),
    ] {
        let reply = send(
            addr,
            &forged,
            &fixture("postfix-hard.eml", &forged, ana.email.as_str()),
        )
        .await;
        assert!(reply.starts_with("250"), "{forged}: {reply}");
    }
    let ana_now = reload(&site, ana).await;
    assert_eq!(
        (
            ana_now.status,
            ana_now.bounce_count,
            ana_now.soft_bounce_count
        ),
        (SubscriberStatus::Confirmed, 0, 0)
    );
    // A good token of a subscriber erased since: ignored, nothing breaks.
    let gone_to = v.address(about(&people[1], 1));
    assert!(
        site.store
            .erase_subscriber("gone@inbox.example")
            .await
            .unwrap()
    );
    let reply = send(
        addr,
        &gone_to,
        &fixture("postfix-hard.eml", &gone_to, "gone@inbox.example"),
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    daemon.stop().await;
}

/// Renames the table reports are kept in (both backends), so that
/// recording fails as with a store that is down.
async fn break_store(site: &TestSite, broken: bool) {
    let (from, to) = if broken {
        ("bounce_events", "bounce_events_away")
    } else {
        ("bounce_events_away", "bounce_events")
    };
    let statement = format!("ALTER TABLE {from} RENAME TO {to}");
    match &site.config.store {
        feedletter::config::StoreConfig::Sqlite { path } => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&pool)
                .await
                .unwrap();
        }
        feedletter::config::StoreConfig::Postgres { url } => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_report_the_store_cannot_record_is_kept_for_a_retry() {
    let dir_name = "bounce-mail";
    let site = TestSite::new(&format!("{LISTEN}maildir = \"{dir_name}\"\n")).await;
    let [lee] = &subscribe(&site, &["lee@inbox.example"]).await[..] else {
        unreachable!()
    };
    let v = verp(&site).await;
    let to = v.address(about(lee, 1));
    let inbox = Inbox::new(
        site.store.clone(),
        &site.config,
        Arc::new(site.clock.clone()),
    )
    .await
    .unwrap();
    let dir = site.config.bounces.maildir.clone().unwrap();
    assert_eq!(dir, site.dir.path().join(dir_name));
    // Delivered by the relay's local delivery: the VERP address is in
    // Delivered-To; no envelope comes with the file.
    std::fs::create_dir_all(dir.join("new")).unwrap();
    std::fs::write(
        dir.join("new/1795835560.M1P2.relay"),
        fixture("postfix-hard.eml", &to, lee.email.as_str()),
    )
    .unwrap();
    std::fs::write(
        dir.join("new/1795835561.M1P3.relay"),
        fixture("out-of-office.eml", &to, lee.email.as_str()),
    )
    .unwrap();
    std::fs::write(
        dir.join("new/1795835562.M1P4.relay"),
        "not a message at all",
    )
    .unwrap();

    break_store(&site, true).await;
    let pass = maildir::read_once(&dir, &inbox).await.unwrap();
    assert_eq!((pass.recorded, pass.left), (0, 1), "{pass:?}");
    assert!(
        dir.join("new/1795835560.M1P2.relay").exists(),
        "kept for the next pass"
    );
    // Over SMTP the relay is told to try again later.
    let daemon = Daemon::start(&site).await;
    let reply = send(
        daemon.bounces.unwrap(),
        &to,
        &fixture("gmail-no-such-user.eml", &to, lee.email.as_str()),
    )
    .await;
    assert!(reply.starts_with("451"), "{reply}");
    daemon.stop().await;

    break_store(&site, false).await;
    let pass = maildir::read_once(&dir, &inbox).await.unwrap();
    assert_eq!(
        (pass.recorded, pass.ignored, pass.left),
        (1, 0, 0),
        "{pass:?}"
    );
    let new: Vec<_> = std::fs::read_dir(dir.join("new")).unwrap().collect();
    assert!(new.is_empty(), "{new:?}");
    let mut cur: Vec<String> = std::fs::read_dir(dir.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cur.sort();
    assert_eq!(
        cur,
        [
            "1795835560.M1P2.relay:2,S",
            "1795835561.M1P3.relay:2,S",
            "1795835562.M1P4.relay:2,S"
        ]
    );
    let lee = reload(&site, lee).await;
    assert_eq!(
        (lee.bounce_count, lee.status),
        (1, SubscriberStatus::Confirmed)
    );
}

#[tokio::test]
async fn a_listen_address_in_use_stops_start_up_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let site = TestSite::new(&format!("[bounces]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    let e = match feedletter::App::build(site.config.clone(), Arc::new(site.clock.clone())).await {
        Ok(_) => panic!("started on a port in use"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("bounces.listen") && e.contains(&port.to_string()),
        "{e}"
    );
}

/// Says `command` and reads the whole reply.
async fn say(
    w: &mut tokio::net::tcp::OwnedWriteHalf,
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    command: &str,
) -> String {
    w.write_all(format!("{command}\r\n").as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).await.unwrap();
        reply.push_str(&l);
        if l.len() < 4 || l.as_bytes()[3] == b' ' {
            return reply;
        }
    }
}

#[tokio::test]
async fn the_listener_speaks_smtp_in_order_and_says_no_to_what_it_cannot_take() {
    let site = TestSite::new(LISTEN).await;
    let daemon = Daemon::start(&site).await;
    let stream = tokio::net::TcpStream::connect(daemon.bounces.unwrap())
        .await
        .unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("220"), "{line}");
    for (command, want) in [
        ("RCPT TO:<a@b.example>", "503"),
        ("HELO relay.test", "250"),
        ("DATA", "503"),
        ("MAIL FROM:<> SIZE=2000 BODY=8BITMIME", "250"),
        ("RCPT TO:bad syntax", "501"),
        ("RCPT TO:<fbl@dewline.test> NOTIFY=NEVER", "250"),
        ("STARTTLS", "502"),
        ("NOOP", "250"),
        ("RSET", "250"),
    ] {
        let reply = say(&mut w, &mut r, command).await;
        assert!(reply.starts_with(want), "{command}: {reply}");
    }
    let ehlo = say(&mut w, &mut r, "EHLO relay.test").await;
    assert!(ehlo.contains("SIZE 10485760"), "{ehlo}");
    // Larger than SIZE: read to its end, then refused for good.
    for command in ["MAIL FROM:<>", "RCPT TO:<fbl@dewline.test>", "DATA"] {
        say(&mut w, &mut r, command).await;
    }
    let chunk = format!("{}\r\n", "x".repeat(998));
    for _ in 0..(11 * 1024 * 1024 / chunk.len()) {
        w.write_all(chunk.as_bytes()).await.unwrap();
    }
    assert!(say(&mut w, &mut r, ".").await.starts_with("552"));
    assert!(say(&mut w, &mut r, "QUIT").await.starts_with("221"));
    daemon.stop().await;
}
