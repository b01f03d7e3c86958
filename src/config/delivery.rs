//! `[delivery]`: retries and the crash-safety timings of digest sending:
//! the heartbeat of each sending process and when a silent one is dead.

use super::problems::Problems;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub give_up_after: Duration,
    /// A digest row left `sending` this long belongs to a process that
    /// died: it goes back to pending. Longer than `mail.smtp.timeout`.
    pub claim_timeout: Duration,
    /// How often unfinished runs are looked at: retries that came due, runs
    /// another instance fired, runs a stopped process left.
    pub sweep: Duration,
    /// How often a sending process renews its row in `instances`.
    pub heartbeat: Duration,
    /// A process whose heartbeat is older than this is declared dead: the
    /// rows it had claimed but not started go back to pending at once.
    pub dead_after: Duration,
    /// The few rows a dead process had handed to the transport go back
    /// this much later: a process that was only frozen and wakes within it
    /// records them itself rather than see them sent twice.
    pub in_flight_grace: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawDelivery {
    retry_initial: String,
    retry_max: String,
    give_up_after: String,
    claim_timeout: String,
    sweep: String,
    heartbeat: String,
    dead_after: String,
    in_flight_grace: String,
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            retry_initial: "30s".into(),
            retry_max: "1h".into(),
            give_up_after: "24h".into(),
            claim_timeout: "10m".into(),
            sweep: "30s".into(),
            heartbeat: "2s".into(),
            dead_after: "10s".into(),
            in_flight_grace: "10s".into(),
        }
    }
}

impl RawDelivery {
    /// `smtp_timeout` is `mail.smtp.timeout`, when it could be read: the
    /// claim timeout must outlast it.
    pub(super) fn build(
        self,
        smtp_timeout: Option<Duration>,
        p: &mut Problems,
    ) -> Option<DeliveryConfig> {
        let retry_initial = p.duration("delivery.retry_initial", &self.retry_initial);
        let retry_max = p.duration("delivery.retry_max", &self.retry_max);
        let give_up_after = p.duration("delivery.give_up_after", &self.give_up_after);
        let claim_timeout = p.duration("delivery.claim_timeout", &self.claim_timeout);
        let sweep = p.duration("delivery.sweep", &self.sweep);
        if sweep.is_some_and(|s| s.is_zero()) {
            p.push("delivery.sweep", "must be longer than 0s");
        }
        let heartbeat = p.duration("delivery.heartbeat", &self.heartbeat);
        let dead_after = p.duration("delivery.dead_after", &self.dead_after);
        let in_flight_grace = p.duration("delivery.in_flight_grace", &self.in_flight_grace);
        if heartbeat.is_some_and(|h| h < Duration::from_secs(1)) {
            p.push(
                "delivery.heartbeat",
                "must be 1s or longer (the store keeps whole seconds)",
            );
        }
        if let (Some(h), Some(d)) = (heartbeat, dead_after)
            && d < h * 3
        {
            p.push(
                "delivery.dead_after",
                format!(
                    "'{}' must be at least three heartbeats (delivery.heartbeat is {} s), or a live sender would be taken for a dead one",
                    self.dead_after,
                    h.as_secs()
                ),
            );
        }
        if let (Some(claim), Some(smtp)) = (claim_timeout, smtp_timeout)
            && claim <= smtp
        {
            p.push(
                "delivery.claim_timeout",
                format!(
                    "'{}' must be longer than mail.smtp.timeout ({} s), or a slow send would be taken for a dead one and sent twice",
                    self.claim_timeout,
                    smtp.as_secs()
                ),
            );
        }
        Some(DeliveryConfig {
            retry_initial: retry_initial?,
            retry_max: retry_max?,
            give_up_after: give_up_after?,
            claim_timeout: claim_timeout?,
            sweep: sweep?,
            heartbeat: heartbeat?,
            dead_after: dead_after?,
            in_flight_grace: in_flight_grace?,
        })
    }
}
