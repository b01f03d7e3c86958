//! Crash recovery with the real binary: a `digest send` frozen mid-run
//! (SIGSTOP, so its process still exists and only its heartbeat can tell),
//! and another `digest send` that must finish the run within seconds,
//! waiting for the frozen one's rows rather than reporting success with
//! them left behind. Then the frozen one wakes up and must send nothing
//! more than the messages it had on the wire.

use crate::digests::{AT, add, emails, feedletter_cmd, recipients, signal, site, wait_received};
use crate::smtp_server::TestSmtp;
use feedletter::domain::Frequency;
use std::time::{Duration, Instant};

/// SIGSTOP, at an instant the process holds no SQLite write lock: on
/// SQLite a process frozen inside a write transaction keeps every other
/// writer out until it resumes or dies (the file has one writer), which no
/// recovery can help; PostgreSQL ends such a transaction itself.
async fn freeze_outside_a_write(site: &crate::helpers::TestSite, child: &std::process::Child) {
    for attempt in 0..50 {
        signal(child, "-STOP");
        let id = format!("probe-{attempt}");
        let probe = site
            .store
            .register_instance(&id, "test", None, chrono::Utc::now());
        if tokio::time::timeout(Duration::from_millis(500), probe)
            .await
            .is_ok_and(|r| r.is_ok())
        {
            return;
        }
        signal(child, "-CONT");
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    panic!("could not freeze the sender outside a write");
}

#[cfg(unix)]
#[tokio::test]
async fn a_frozen_senders_rows_are_sent_by_another_within_seconds_and_it_sends_no_more_on_waking() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    // Paced to 100 a second, so the run takes a few seconds to interrupt.
    let config_path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("rate_per_second = 0", "rate_per_second = 100");
    std::fs::write(&config_path, text).unwrap();
    add(&site, &emails("f", 300), &[], Frequency::Weekly).await;
    let send = ["digest", "send", "--schedule", "weekly", "--at", AT];

    let mut frozen = feedletter_cmd(&site)
        .args(send)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read as it comes, so that a full pipe never blocks the process.
    let mut pipe = frozen.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
        text
    });
    wait_received(&smtp, 50).await;
    freeze_outside_a_write(&site, &frozen).await;
    let at_freeze = smtp.received().len();
    let run = site
        .store
        .latest_run(Some("weekly"))
        .await
        .unwrap()
        .unwrap();
    let held = site.store.run_counts(run.id).await.unwrap();
    assert!(held.sending > 0, "the frozen sender holds rows: {held:?}");

    // Another sender: it sends what is pending, waits for the frozen
    // one's rows (dead_after is 3 s, in_flight_grace 2 s), sends those
    // too, and reports the whole run.
    let started = Instant::now();
    let out = feedletter_cmd(&site).args(send).output().unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("300 sent"), "{stdout}");
    assert!(!stdout.contains("held by"), "{stdout}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let counts = site.store.run_counts(run.id).await.unwrap();
    assert_eq!((counts.sent, counts.pending, counts.sending), (300, 0, 0));
    assert!(site.store.digest_run(run.id).await.unwrap().unwrap().done);

    // The frozen sender wakes up: it may finish the messages it had on the
    // wire (at most pool_size = 4), then finds its claims gone and stops.
    let before_waking = smtp.received().len();
    signal(&frozen, "-CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = frozen.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the woken sender did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let stderr = stderr.join().unwrap();
    // It ends well, or, on PostgreSQL when it was frozen inside a
    // transaction, with the error that the server ended that transaction
    // (which is how the others got its locked rows back).
    assert!(
        status.success() || stderr.contains("idle-in-transaction timeout"),
        "{status:?}: {stderr}"
    );
    let woke_sent = smtp.received().len() - before_waking;
    assert!(woke_sent <= 4, "the woken sender sent {woke_sent} more");

    let to = recipients(&smtp.received());
    assert_eq!(to.len(), 300, "every subscriber got the digest");
    let extra: usize = to.values().map(|n| n - 1).sum();
    assert!(
        extra <= 4,
        "{extra} duplicates (frozen at {at_freeze}), more than pool_size"
    );
    let counts = site.store.run_counts(run.id).await.unwrap();
    assert_eq!(counts.sent, 300, "{counts:?}");
}
