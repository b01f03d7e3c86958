//! The whole loop: a digest sent over SMTP by `digest send`, its VERP
//! envelope sender read off the server, a bounce built to it and a
//! complaint about it delivered back to the daemon's listener.

use crate::bounces::{Daemon, LISTEN, fixture, reload, subscribe};
use crate::helpers::TestSite;
use crate::smtp_server::TestSmtp;
use feedletter::domain::SubscriberStatus;

const WEEKLY: &str = r#"
[[digest]]
name = "weekly"
frequency = "weekly"
cron = "0 8 * * Mon"
timezone = "Asia/Kolkata"
subject = "This week in skincare: {{ top_topic }}"
max_topics = 3
max_articles_per_topic = 2
"#;

#[tokio::test]
async fn a_digest_bounced_later_comes_back_to_its_verp_address_and_counts() {
    let smtp = TestSmtp::start();
    let mail = format!(
        "[mail]\nfrom = \"The Dewline <digest@dewline.example>\"\ntransport = \"smtp\"\n\
         rate_per_second = 0\npostal_address = \"The Dewline, 12 Test Lane, Mumbai\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\npool_size = 2\n",
        smtp.port()
    );
    let site = TestSite::new(&format!("{mail}{WEEKLY}{LISTEN}"))
        .await
        .with_sample();
    site.ingest().await;
    let people = subscribe(&site, &["kim@inbox.example", "lou@inbox.example"]).await;
    let daemon = Daemon::start(&site).await;
    let addr = daemon.bounces.unwrap();

    // The operator's `digest send`, through the relay (here the test server).
    let out = site
        .command()
        .args([
            "digest",
            "send",
            "--schedule",
            "weekly",
            "--at",
            "2026-11-23T08:00:00+05:30",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    let mut senders = Vec::new();
    for r in &got {
        // One envelope sender per message, on the From domain, naming no
        // address.
        let recipient = &r.to[0];
        assert!(r.from.starts_with("bounces+"), "{}", r.from);
        assert!(r.from.ends_with("@dewline.example"), "{}", r.from);
        assert!(
            !r.from.contains(recipient.split('@').next().unwrap()),
            "{}",
            r.from
        );
        senders.push(r.from.clone());
    }
    assert_ne!(senders[0], senders[1]);
    let message_for = |who: &str| got.iter().find(|r| r.to[0] == who).unwrap();

    // Hours later the relay's bounce for Kim comes back to her VERP
    // address, forwarded to the listener by a real SMTP client.
    let kim = message_for("kim@inbox.example");
    let dsn = fixture("postfix-hard.eml", &kim.from, "kim@inbox.example").replace('\n', "\r\n");
    let relay =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(addr.port())
            .build();
    let envelope = lettre::address::Envelope::new(None, vec![kim.from.parse().unwrap()]).unwrap();
    use lettre::AsyncTransport as _;
    relay.send_raw(&envelope, dsn.as_bytes()).await.unwrap();
    let k = reload(&site, &people[0]).await;
    assert_eq!((k.bounce_count, k.status), (1, SubscriberStatus::Confirmed));
    // The same bounce for the same digest, again: still one.
    relay.send_raw(&envelope, dsn.as_bytes()).await.unwrap();
    assert_eq!(reload(&site, &people[0]).await.bounce_count, 1);

    // Lou's mailbox provider reports a complaint with only the digest's
    // headers and no envelope sender: its List-Unsubscribe link says whose.
    let lou = message_for("lou@inbox.example");
    let raw = String::from_utf8_lossy(&lou.data).into_owned();
    let headers = &raw[..raw.find("\r\n\r\n").unwrap()];
    let arf = format!(
        "From: fbl@isp.example\r\nTo: fbl@dewline.example\r\nSubject: complaint\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n\
         --r\r\nContent-Type: message/feedback-report\r\n\r\n\
         Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/3.1\r\nVersion: 1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n\r\n--r--\r\n"
    );
    let fbl =
        lettre::address::Envelope::new(None, vec!["fbl@dewline.example".parse().unwrap()]).unwrap();
    relay.send_raw(&fbl, arf.as_bytes()).await.unwrap();
    let l = reload(&site, &people[1]).await;
    assert_eq!(l.status, SubscriberStatus::Unsubscribed);
    assert!(l.status_reason.unwrap().contains("ISP-FBL"));
    daemon.stop().await;

    // Transactional mail has a VERP sender too: run 0, the subscriber.
    let out = site
        .command()
        .args(["subscribers", "add", "pat@inbox.example"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pat = site
        .store
        .subscriber_by_email("pat@inbox.example")
        .await
        .unwrap()
        .unwrap();
    let got = smtp.received();
    let confirmation = got.iter().find(|r| r.to[0] == "pat@inbox.example").unwrap();
    assert!(
        confirmation
            .from
            .starts_with(&format!("bounces+0-{}-", pat.id)),
        "{}",
        confirmation.from
    );
}
