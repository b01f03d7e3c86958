//! `mail.rate_per_second` across all the workers of a pass.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces sends `1 / rate` apart; rate 0 is no limit. Each caller is given
/// the next free slot, so workers never bunch up behind one another.
pub struct Pacer {
    gap: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    pub fn new(rate_per_second: u32) -> Self {
        Self {
            gap: (rate_per_second > 0).then(|| Duration::from_secs(1) / rate_per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        let Some(gap) = self.gap else { return };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}
