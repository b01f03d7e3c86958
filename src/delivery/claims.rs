//! The claim loop of one pass: claims due rows a window at a time, hands
//! them to the workers, records their results (the only writer of the
//! pass, so SQLite never sees two at once), waits for retries that come due
//! soon, and stops claiming when asked.

use super::worker::{Done, Work, Workers};
use super::{Deliverer, LINK_DAYS, Options, Report};
use crate::digest::DigestError;
use crate::domain::SubscriberStatus;
use crate::store::{Claimed, DigestRun, OutboxOutcome, StoreError};
use crate::subscribers::tokens;
use chrono::{DateTime, Duration, Utc};
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
    /// Rows handed to the workers whose results are not yet recorded.
    in_flight: usize,
    /// Nothing is due right now.
    drained: bool,
    stopping: bool,
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
        window: Window,
        report: &'a mut Report,
    ) -> Self {
        Self {
            deliverer,
            run,
            options,
            stop: stop.clone(),
            window,
            report,
            in_flight: 0,
            drained: false,
            stopping: stop.is_cancelled(),
        }
    }

    /// Until no row is due within `options.wait_for_retries`, or a stop and
    /// the rows in flight are done.
    pub async fn run(mut self, workers: &mut Workers) -> Result<(), DigestError> {
        loop {
            self.claim(workers).await?;
            if self.in_flight == 0 {
                match self.idle().await? {
                    Idle::ClaimAgain => continue,
                    Idle::Done => return Ok(()),
                }
            }
            let stop = self.stop.clone();
            tokio::select! {
                results = workers.results() => {
                    let Some(results) = results else { return Ok(()) };
                    self.record(results).await?;
                }
                () = stop.cancelled(), if !self.stopping => self.begin_stopping(),
            }
        }
    }

    /// Claims rows up to the window and hands them to the workers.
    async fn claim(&mut self, workers: &Workers) -> Result<(), DigestError> {
        let store = &self.deliverer.store;
        while !self.stopping && !self.drained && self.in_flight < self.window.refill_below {
            let now = self.deliverer.clock.now();
            let rows = store
                .claim(self.run.id, now, self.window.want(self.in_flight))
                .await?;
            if rows.is_empty() {
                self.drained = true;
                break;
            }
            for work in self.with_tokens(rows, now).await? {
                self.in_flight += 1;
                workers.hand(work)?;
            }
        }
        Ok(())
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
    /// `options.wait_for_retries`, or ends the pass.
    async fn idle(&mut self) -> Result<Idle, DigestError> {
        if self.stopping {
            return Ok(Idle::Done);
        }
        let Some(due) = self.deliverer.store.next_due(self.run.id).await? else {
            return Ok(Idle::Done);
        };
        let wait = (due - self.deliverer.clock.now())
            .to_std()
            .unwrap_or_default();
        if wait > self.options.wait_for_retries {
            self.report.next_retry = Some(due);
            return Ok(Idle::Done);
        }
        tokio::select! {
            // A little past the due time: the store compares whole seconds.
            () = tokio::time::sleep(wait + std::time::Duration::from_millis(50)) => {}
            () = self.stop.cancelled() => self.stopping = true,
        }
        self.drained = false;
        Ok(Idle::ClaimAgain)
    }

    /// Stores a batch of results, then lets their workers go on.
    async fn record(&mut self, results: Vec<Done>) -> Result<(), DigestError> {
        let outcomes: Vec<OutboxOutcome> = results
            .iter()
            .map(|d| d.attempt.to_store(d.id, d.subscriber))
            .collect();
        self.deliverer
            .store
            .record(&outcomes, self.deliverer.clock.now())
            .await?;
        let tried = results.iter().filter(|d| d.attempt.was_tried()).count();
        for done in results {
            self.report.tally(&done.attempt);
            done.stored();
        }
        self.in_flight -= outcomes.len();
        if let Some(bar) = &self.options.progress {
            bar.inc(tried as u64);
        }
        Ok(())
    }

    /// No new rows are claimed; the workers put back the rows they have
    /// not started (`Attempt::Unsent`) and finish the ones they have.
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
