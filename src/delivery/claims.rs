//! The claim loop of one pass: claims due rows a window at a time, starts
//! them one per free worker (the start is written with the results that
//! freed the workers, in one transaction) and hands them over, records
//! their results (the only writer of the pass, so SQLite never sees two at
//! once), waits for retries that come due soon and for rows other
//! processes hold, and stops claiming when asked.

use super::worker::{Done, Work, Workers};
use super::{Deliverer, LINK_DAYS, Options, Report, recovery};
use crate::digest::DigestError;
use crate::domain::SubscriberStatus;
use crate::store::{Claimed, DigestRun, OutboxOutcome, StoreError};
use crate::subscribers::tokens;
use chrono::{DateTime, Duration, Utc};
use std::collections::VecDeque;
use tokio_util::sync::CancellationToken;

/// Rows claimed in one go.
pub const CLAIM_BATCH: u32 = 200;

/// How many rows a pass holds claimed at once. Paced, about one second of
/// sending: other instances delivering the same run find the rest pending,
/// and a stopped process leaves little to its claim timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    paced: bool,
    high_water: usize,
    /// Claim again below this: unpaced, whole batches while under the
    /// high-water mark; paced, a refill to it once half has gone.
    refill_below: usize,
}

impl Window {
    pub fn new(rate_per_second: u32, workers: usize) -> Self {
        let rate = rate_per_second as usize;
        let paced = rate > 0;
        let high_water = if paced {
            rate.clamp(workers * 2, CLAIM_BATCH as usize)
        } else {
            workers * 4 + CLAIM_BATCH as usize
        };
        let refill_below = if paced {
            (high_water / 2).max(1)
        } else {
            high_water
        };
        Self {
            paced,
            high_water,
            refill_below,
        }
    }

    /// How many rows to claim with `in_flight` held.
    fn want(&self, in_flight: usize) -> u32 {
        if self.paced {
            (self.high_water - in_flight) as u32
        } else {
            CLAIM_BATCH
        }
    }
}

/// One pass's progress through a run.
pub struct Pass<'a> {
    deliverer: &'a Deliverer,
    run: &'a DigestRun,
    options: &'a Options,
    stop: CancellationToken,
    window: Window,
    report: &'a mut Report,
    /// The id the pass claims under: this process's when it began.
    holder: String,
    /// Workers, hence rows started at most at once.
    workers: usize,
    /// Rows claimed and not yet started, in claim order.
    queue: VecDeque<Work>,
    /// Rows started and handed to the workers whose results are not yet
    /// recorded: at most `workers`.
    busy: usize,
    /// Nothing is due right now.
    drained: bool,
    stopping: bool,
    /// The store refused a start: this process was declared dead and its
    /// claims released; the pass ends.
    lost: bool,
    /// When waiting for retries and for rows held elsewhere ends.
    patience: Option<std::time::Instant>,
}

/// What to do once nothing is in flight.
enum Idle {
    /// A retry came due: claim again.
    ClaimAgain,
    /// Nothing more this pass.
    Done,
}

impl<'a> Pass<'a> {
    pub fn new(
        deliverer: &'a Deliverer,
        run: &'a DigestRun,
        options: &'a Options,
        stop: &CancellationToken,
        (window, workers): (Window, usize),
        report: &'a mut Report,
    ) -> Self {
        Self {
            deliverer,
            run,
            options,
            stop: stop.clone(),
            window,
            report,
            holder: deliverer.instance.id(),
            workers,
            queue: VecDeque::new(),
            busy: 0,
            drained: false,
            stopping: stop.is_cancelled(),
            lost: false,
            patience: None,
        }
    }

    /// Until no row is due within `options.wait_for_retries`, or a stop and
    /// the rows in flight are done. Rows claimed and not started go back
    /// to pending at the end, also when the pass fails.
    pub async fn run(mut self, workers: &mut Workers) -> Result<(), DigestError> {
        let result = self.drive(workers).await;
        let left: Vec<i64> = self.queue.drain(..).map(|w| w.row.id).collect();
        if !left.is_empty() {
            match self.deliverer.store.release(&self.holder, &left).await {
                Ok(n) => self.report.released += n,
                Err(e) => tracing::warn!(
                    run = self.run.id,
                    error = %e,
                    "claimed rows not put back; they go back once this process is gone"
                ),
            }
        }
        result
    }

    async fn drive(&mut self, workers: &mut Workers) -> Result<(), DigestError> {
        loop {
            self.claim().await?;
            self.start(workers, Vec::new()).await?;
            if self.busy == 0 {
                match self.idle().await? {
                    Idle::ClaimAgain => continue,
                    Idle::Done => return Ok(()),
                }
            }
            let stop = self.stop.clone();
            tokio::select! {
                results = workers.results() => {
                    let Some(results) = results else { return Ok(()) };
                    self.record(workers, results).await?;
                }
                () = stop.cancelled(), if !self.stopping => self.begin_stopping(),
            }
        }
    }

    /// Claims rows up to the window.
    async fn claim(&mut self) -> Result<(), DigestError> {
        if self.deliverer.instance.id() != self.holder {
            self.lose();
        }
        let store = &self.deliverer.store;
        while !self.stopping
            && !self.lost
            && !self.drained
            && self.in_flight() < self.window.refill_below
        {
            let now = self.deliverer.clock.now();
            let rows = store
                .claim(
                    self.run.id,
                    &self.holder,
                    now,
                    self.window.want(self.in_flight()),
                )
                .await?;
            if rows.is_empty() {
                self.drained = true;
                break;
            }
            self.queue.extend(self.with_tokens(rows, now).await?);
        }
        Ok(())
    }

    /// Claimed rows not yet recorded.
    fn in_flight(&self) -> usize {
        self.queue.len() + self.busy
    }

    /// Records `results` (their workers are free again), starts as many
    /// queued rows as there are free workers, in one transaction, and
    /// hands the started rows over.
    async fn start(&mut self, workers: &Workers, results: Vec<Done>) -> Result<(), DigestError> {
        self.busy -= results.len();
        let free = if self.stopping || self.lost {
            0
        } else {
            self.workers.saturating_sub(self.busy)
        };
        let ids: Vec<i64> = self.queue.iter().take(free).map(|w| w.row.id).collect();
        if results.is_empty() && ids.is_empty() {
            return Ok(());
        }
        let outcomes: Vec<OutboxOutcome> = results
            .iter()
            .map(|d| d.attempt.to_store(d.id, d.subscriber))
            .collect();
        let started = self
            .deliverer
            .store
            .record(&self.holder, &outcomes, &ids, self.deliverer.clock.now())
            .await?;
        // Only now off the queue: after a failed write they are still
        // there, and go back to pending at the end of the pass.
        let next: Vec<Work> = self.queue.drain(..ids.len()).collect();
        let tried = results.iter().filter(|d| d.attempt.was_tried()).count();
        for done in results {
            self.report.tally(&done.attempt);
            done.stored();
        }
        if let Some(bar) = &self.options.progress {
            bar.inc(tried as u64);
        }
        for work in next {
            if started.contains(&work.row.id) {
                self.busy += 1;
                workers.hand(work)?;
            } else {
                self.lose();
            }
        }
        Ok(())
    }

    /// The store refused to start a row of ours: this process was declared
    /// dead, and whatever it held was released for others to send.
    fn lose(&mut self) {
        if !self.lost {
            tracing::warn!(
                run = self.run.id,
                holder = %self.holder,
                "this pass lost its claims (its process was declared dead); it ends here"
            );
        }
        self.lost = true;
        self.queue.clear();
    }

    /// Fresh link tokens for the rows that will be mailed, stored (hashed)
    /// before any message carrying them leaves.
    async fn with_tokens(
        &self,
        rows: Vec<Claimed>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Work>, DigestError> {
        let mut hashes = Vec::new();
        let mut work = Vec::with_capacity(rows.len());
        for row in rows {
            let token = if row.status == SubscriberStatus::Confirmed {
                let (token, hash) = tokens::new_token()
                    .map_err(|e| StoreError::Other(anyhow::anyhow!("randomness: {e}")))?;
                hashes.push((row.subscriber_id, hash));
                Some(token)
            } else {
                None
            };
            work.push(Work { row, token });
        }
        self.deliverer
            .store
            .add_manage_tokens(&hashes, now, now + Duration::days(LINK_DAYS))
            .await?;
        Ok(work)
    }

    /// Nothing in flight: waits for a retry due within
    /// `options.wait_for_retries`, and for rows other processes hold (put
    /// back to pending if their holder stops), looking again every second;
    /// or ends the pass, with the held rows in the report.
    async fn idle(&mut self) -> Result<Idle, DigestError> {
        if self.stopping || self.lost {
            return Ok(Idle::Done);
        }
        let held = recovery::held(self.deliverer, self.run.id).await?;
        let due = self.deliverer.store.next_due(self.run.id).await?;
        let now = self.deliverer.clock.now();
        let retry = due.map(|d| (d - now).to_std().unwrap_or_default());
        let wait = if held.is_empty() {
            match retry {
                Some(wait) if wait <= self.options.wait_for_retries => wait,
                _ => {
                    self.report.next_retry = due;
                    return Ok(Idle::Done);
                }
            }
        } else {
            // Held rows come back within `dead_after` (plus the SMTP
            // timeout for started ones) if their holder stopped: look again
            // every second, for as long as retries would be waited for.
            let patience = *self
                .patience
                .get_or_insert_with(|| std::time::Instant::now() + self.options.wait_for_retries);
            if std::time::Instant::now() >= patience {
                self.report.next_retry = due;
                self.report.held = held;
                return Ok(Idle::Done);
            }
            retry.map_or(std::time::Duration::from_secs(1), |w| {
                w.min(std::time::Duration::from_secs(1))
            })
        };
        tokio::select! {
            // A little past the due time: the store compares whole seconds.
            () = tokio::time::sleep(wait + std::time::Duration::from_millis(50)) => {}
            () = self.stop.cancelled() => self.stopping = true,
        }
        if !held.is_empty() {
            self.report.recovered += self.deliverer.recover().await?;
        }
        self.drained = false;
        Ok(Idle::ClaimAgain)
    }

    /// Stores a batch of results, starts the next rows, then lets the
    /// workers go on.
    async fn record(&mut self, workers: &Workers, results: Vec<Done>) -> Result<(), DigestError> {
        self.start(workers, results).await
    }

    /// No new rows are claimed or started; the workers put back the rows
    /// they have not begun (`Attempt::Unsent`) and finish the ones they
    /// have; the queue goes back at the end of the pass.
    fn begin_stopping(&mut self) {
        self.stopping = true;
        tracing::info!(
            run = self.run.id,
            "stopping: no new rows are claimed; messages in flight finish"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_pass_holds_about_a_second_of_sending_and_refills_at_half() {
        // 100 a second, four workers: 100 held, refilled below 50.
        let w = Window::new(100, 4);
        assert_eq!((w.high_water, w.refill_below), (100, 50));
        assert_eq!(w.want(30), 70);
        // Slow rates still keep every worker busy; fast ones stop at a batch.
        assert_eq!(Window::new(1, 4).high_water, 8);
        assert_eq!(Window::new(10_000, 4).high_water, CLAIM_BATCH as usize);
        // Unpaced: whole batches while under the mark.
        let w = Window::new(0, 4);
        assert_eq!((w.high_water, w.refill_below), (216, 216));
        assert_eq!(w.want(100), CLAIM_BATCH);
    }
}
