//! Crash recovery: a `digest send` stopped by SIGTERM, killed with
//! SIGKILL and run again (the rest goes out within seconds), the rules
//! for a dead sender's rows on a clock moved by hand, and a `digest send`
//! frozen mid-run (SIGSTOP, so its process still exists and only its
//! heartbeat can tell) while another must finish the run within seconds,
//! waiting for the frozen one's rows rather than reporting success with
//! them left behind; the frozen one then wakes up and must send nothing
//! more than the messages it had on the wire.

use crate::digests::{
    AT, add, deliverer, emails, feedletter_cmd, monday, no_stop, quick, recipients, schedule,
    signal, site, wait_received,
};
use crate::smtp_server::TestSmtp;
use feedletter::Clock as _;
use feedletter::domain::Frequency;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_cleanly_a_kill_loses_nothing_and_send_again_resumes() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    // Paced to 100 a second, so the run takes a few seconds to interrupt.
    let config_path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("rate_per_second = 0", "rate_per_second = 100");
    std::fs::write(&config_path, text).unwrap();
    let list = emails("k", 400);
    add(&site, &list, &[], Frequency::Weekly).await;
    let send = ["digest", "send", "--schedule", "weekly", "--at", AT];

    // SIGTERM: stops claiming, finishes what is in flight, exits 0.
    let child = feedletter_cmd(&site).args(send).spawn().unwrap();
    wait_received(&smtp, 50).await;
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = site
        .store
        .latest_run(Some("weekly"))
        .await
        .unwrap()
        .unwrap();
    let counts = site.store.run_counts(run.id).await.unwrap();
    assert_eq!(counts.sending, 0, "nothing left half-sent: {counts:?}");
    assert!(counts.pending > 0, "it stopped early: {counts:?}");
    assert_eq!(counts.sent as usize, smtp.received().len());

    // SIGKILL: no chance to clean up.
    let child = feedletter_cmd(&site).args(send).spawn().unwrap();
    wait_received(&smtp, counts.sent as usize + 50).await;
    signal(&child, "-KILL");
    let _ = child.wait_with_output().unwrap();
    let killed = site.store.run_counts(run.id).await.unwrap();
    assert!(killed.pending + killed.sending > 0, "{killed:?}");

    // Sent again at once: the rows the killed process held are pending
    // again within seconds (it ran on this machine and has certainly
    // ended), not after claim_timeout, and the send reports all 400.
    let restarted = std::time::Instant::now();
    let out = feedletter_cmd(&site).args(send).output().unwrap();
    let took = restarted.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("400 sent"), "{stdout}");
    assert!(!stdout.contains("held by"), "{stdout}");
    assert!(took < Duration::from_secs(30), "the rest took {took:?}");
    let done = site.store.run_counts(run.id).await.unwrap();
    assert_eq!((done.sent, done.pending, done.sending), (400, 0, 0));

    // Every subscriber has a message; duplicates only within the window
    // the README documents: the messages in flight at the kill (pool_size).
    let to = recipients(&smtp.received());
    assert_eq!(to.len(), 400);
    let extra: usize = to.values().map(|n| n - 1).sum();
    assert!(extra <= 4, "{extra} duplicates, more than pool_size");

    // `digest status` shows the run.
    let out = feedletter_cmd(&site)
        .args(["digest", "status"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains(&format!("run {} of weekly", run.id)),
        "{status}"
    );
    assert!(status.contains("sent 400"), "{status}");
}

/// `dead_after` is 3 s here and `in_flight_grace` 2 s; the clock is the
/// site's, moved by hand.
#[tokio::test]
async fn a_dead_senders_unstarted_rows_come_back_after_dead_after_its_started_ones_later() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    add(&site, &emails("held", 10), &[], Frequency::Weekly).await;
    let d = deliverer(&site).await;
    // The run, created by a sender stopped before it claimed anything.
    let stopped = CancellationToken::new();
    stopped.cancel();
    let created = d
        .fire(schedule(&site, "weekly"), monday(), &quick(), &stopped)
        .await
        .unwrap();
    assert_eq!(
        (created.sent, created.counts.pending),
        (0, 10),
        "{created:?}"
    );
    let run = d.store.digest_run(created.run_id).await.unwrap().unwrap();

    // Another sender claims four rows and starts two (hands them to its
    // transport), then falls silent: its heartbeat stops at t0.
    let t0 = site.clock.now();
    let store = &site.store;
    store
        .register_instance("other-host:7:abcd", "digest send", None, t0)
        .await
        .unwrap();
    let held = store
        .claim(run.id, "other-host:7:abcd", t0, 4)
        .await
        .unwrap();
    assert_eq!(held.len(), 4);
    let started = store
        .record("other-host:7:abcd", &[], &[held[0].id, held[1].id], t0)
        .await
        .unwrap();
    assert_eq!(started.len(), 2);

    // Two seconds later it is not dead yet: its rows stand, the others go,
    // and the pass reports who holds the rest.
    site.clock.advance(chrono::Duration::seconds(2));
    let first = d.deliver(&run, &quick(), &no_stop()).await.unwrap();
    assert_eq!((first.recovered, first.sent), (0, 6), "{first:?}");
    assert_eq!(first.counts.sending, 4);
    assert_eq!(first.held.len(), 1, "{first:?}");
    assert_eq!(first.held[0].rows, 4);
    assert!(first.held[0].alive);
    assert!(!d.store.digest_run(run.id).await.unwrap().unwrap().done);

    // Its heartbeat is 4 s old: dead. The two it never started go now.
    site.clock.advance(chrono::Duration::seconds(2));
    let second = d.deliver(&run, &quick(), &no_stop()).await.unwrap();
    assert_eq!((second.recovered, second.sent), (2, 2), "{second:?}");
    assert_eq!(second.counts.sending, 2);
    assert!(!second.held[0].alive, "{second:?}");
    // Declared dead, it can start nothing more, even if it was only
    // stalled: the store refuses, and its heartbeat tells it so.
    assert!(
        store
            .record("other-host:7:abcd", &[], &[held[2].id], site.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .heartbeat("other-host:7:abcd", site.clock.now())
            .await
            .unwrap()
    );

    // The two it had started wait for in_flight_grace past dead_after (a
    // frozen sender that wakes could still finish them), then go too.
    site.clock.advance(chrono::Duration::seconds(2));
    let third = d.deliver(&run, &quick(), &no_stop()).await.unwrap();
    assert_eq!((third.recovered, third.sent), (2, 2), "{third:?}");
    assert!(third.counts.finished(), "{third:?}");
    assert!(third.held.is_empty());
    assert!(d.store.digest_run(run.id).await.unwrap().unwrap().done);
    let to = recipients(&smtp.received());
    assert_eq!(to.len(), 10);
    assert!(to.values().all(|n| *n == 1), "{to:?}");
    // Holding nothing any more, the dead sender is forgotten.
    let ids: Vec<String> = store
        .instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!ids.iter().any(|i| i == "other-host:7:abcd"), "{ids:?}");
}

/// Any instance, not only `digest send` run again: a daemon started after
/// the kill sends the rest at its first sweep.
#[cfg(unix)]
#[tokio::test]
async fn a_daemon_sends_what_a_killed_digest_send_left_within_seconds() {
    let smtp = TestSmtp::start();
    let site = site(&smtp, "").await;
    let config_path = site.dir.path().join("feedletter.toml");
    let text = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("rate_per_second = 0", "rate_per_second = 100");
    std::fs::write(&config_path, text).unwrap();
    add(&site, &emails("d", 300), &[], Frequency::Weekly).await;
    let send = ["digest", "send", "--schedule", "weekly", "--at", AT];
    let child = feedletter_cmd(&site).args(send).spawn().unwrap();
    wait_received(&smtp, 50).await;
    signal(&child, "-KILL");
    let _ = child.wait_with_output().unwrap();
    let run = site
        .store
        .latest_run(Some("weekly"))
        .await
        .unwrap()
        .unwrap();
    let killed = site.store.run_counts(run.id).await.unwrap();
    assert!(killed.sending > 0, "{killed:?}");

    let started = Instant::now();
    let app = site.spawn().await;
    let deadline = started + Duration::from_secs(30);
    while !site.store.digest_run(run.id).await.unwrap().unwrap().done {
        assert!(
            Instant::now() < deadline,
            "not done 30 s after the daemon started: {:?}",
            site.store.run_counts(run.id).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
    let done = site.store.run_counts(run.id).await.unwrap();
    assert_eq!((done.sent, done.pending, done.sending), (300, 0, 0));
    // This run's messages only: the daemon also catches up today's fire
    // of the weekly schedule, a run of its own.
    let ours = format!("digest.{}.", run.id);
    let of_run: Vec<_> = smtp
        .received()
        .into_iter()
        .filter(|m| {
            m.parsed()
                .message_id()
                .is_some_and(|id| id.starts_with(&ours))
        })
        .collect();
    let to = recipients(&of_run);
    assert_eq!(to.len(), 300);
    let extra: usize = to.values().map(|n| n - 1).sum();
    assert!(extra <= 4, "{extra} duplicates, more than pool_size");
}
