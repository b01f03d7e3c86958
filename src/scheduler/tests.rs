//! The scheduler against a clock the jobs move: a slow run is one that
//! advances the clock past later fire times, so nothing here waits for the
//! wall clock to get anywhere.

use super::*;
use crate::domain::FixedClock;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn every_second() -> Timing {
    Timing {
        name: "slow".into(),
        cron: CronLine::parse("* * * * * *").unwrap(),
        timezone: chrono_tz::UTC,
    }
}

/// Runs last just under three seconds of its clock; stops the scheduler
/// after `runs_before_stop` runs.
struct Slow {
    timing: Timing,
    clock: FixedClock,
    log: Mutex<Vec<(&'static str, DateTime<Utc>)>>,
    running: AtomicBool,
    runs_before_stop: usize,
    stop: CancellationToken,
}

impl Slow {
    /// A job that fires every second on `clock`, and stops the scheduler
    /// after `runs_before_stop` runs (0: never).
    fn every_second(
        clock: &FixedClock,
        runs_before_stop: usize,
        stop: &CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Slow {
            timing: every_second(),
            clock: clock.clone(),
            log: Mutex::default(),
            running: AtomicBool::new(false),
            runs_before_stop,
            stop: stop.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Job for Slow {
    fn timing(&self) -> &Timing {
        &self.timing
    }

    async fn run(&self, fire: DateTime<Utc>) {
        assert!(
            !self.running.swap(true, Ordering::SeqCst),
            "two runs at once"
        );
        self.clock.advance(chrono::Duration::milliseconds(2999));
        tokio::task::yield_now().await;
        let runs = {
            let mut log = self.log.lock().unwrap();
            log.push(("run", fire));
            log.iter().filter(|(k, _)| *k == "run").count()
        };
        self.running.store(false, Ordering::SeqCst);
        if runs == self.runs_before_stop {
            self.stop.cancel();
        }
    }

    async fn catch_up(&self, missed: DateTime<Utc>) {
        self.log.lock().unwrap().push(("catch_up", missed));
    }
}

#[tokio::test]
async fn runs_never_overlap_and_fires_passed_during_a_run_are_caught_up_once_not_queued() {
    // Just before a whole second, so each wait for a fire time is a few
    // milliseconds of real time.
    let clock = FixedClock::new(at("2026-11-23T08:00:00.999Z"));
    let stop = CancellationToken::new();
    let job = Slow::every_second(&clock, 3, &stop);
    let deadline = std::time::Duration::from_secs(30);
    tokio::time::timeout(
        deadline,
        run(vec![job.clone()], Arc::new(clock.clone()), stop),
    )
    .await
    .expect("the scheduler stopped");
    let s = |n: u32| at(&format!("2026-11-23T08:00:{n:02}Z"));
    // At start, the second that just passed; then each run outlasts two
    // fire times, and only the latest of them is handed to catch_up.
    assert_eq!(
        *job.log.lock().unwrap(),
        [
            ("catch_up", s(0)),
            ("run", s(1)),
            ("catch_up", s(3)),
            ("run", s(4)),
            ("catch_up", s(6)),
            ("run", s(7)),
            ("catch_up", s(9)),
        ]
    );
}

#[tokio::test]
async fn a_stop_before_the_first_fire_still_leaves_the_start_up_catch_up_done() {
    let clock = FixedClock::new(at("2026-11-23T08:00:00.500Z"));
    let stop = CancellationToken::new();
    stop.cancel();
    let job = Slow::every_second(&clock, 0, &stop);
    run(vec![job.clone()], Arc::new(clock), stop).await;
    assert_eq!(
        *job.log.lock().unwrap(),
        [("catch_up", at("2026-11-23T08:00:00Z"))]
    );
}

#[test]
fn the_next_step_waits_for_the_next_fire_or_hands_over_the_latest_missed_one() {
    let timing = Timing {
        name: "hourly".into(),
        cron: CronLine::parse("0 * * * *").unwrap(),
        timezone: chrono_tz::Asia::Kolkata,
    };
    // Kolkata is UTC+05:30: its whole hours fall at UTC half-hours.
    assert_eq!(
        next_step(
            &timing,
            at("2026-11-23T08:30:00Z"),
            at("2026-11-23T09:00:00Z")
        ),
        Step::Wait {
            fire: at("2026-11-23T09:30:00Z"),
            wait: std::time::Duration::from_secs(1800),
        }
    );
    assert_eq!(
        next_step(
            &timing,
            at("2026-11-23T08:30:00Z"),
            at("2026-11-23T11:45:00Z")
        ),
        Step::Missed {
            first: at("2026-11-23T09:30:00Z"),
            latest: at("2026-11-23T11:30:00Z"),
        }
    );
}

#[tokio::test]
async fn taking_the_lease_over_catches_up_each_job_at_the_time_it_is_taken() {
    let clock = FixedClock::new(at("2026-11-23T08:00:00.500Z"));
    let stop = CancellationToken::new();
    let job = Slow::every_second(&clock, 0, &stop);
    // Another instance holds it at start; this one takes it a minute later.
    let (held, leader) = watch::channel(false);
    let task = tokio::spawn(catch_up_on_takeover(
        leader,
        vec![job.clone() as Arc<dyn Job>],
        Arc::new(clock.clone()),
        stop.clone(),
    ));
    // One thread: the task reads the lease as not held before going on.
    tokio::task::yield_now().await;
    clock.advance(chrono::Duration::minutes(1));
    held.send_replace(true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while job.log.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no catch-up");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.cancel();
    task.await.unwrap();
    assert_eq!(
        *job.log.lock().unwrap(),
        [("catch_up", at("2026-11-23T08:01:00Z"))]
    );
}
