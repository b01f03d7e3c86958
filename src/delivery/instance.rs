//! This process as the store knows it: a row in `instances` with an id
//! (`host:pid:nonce`), renewed every `delivery.heartbeat`. Rows this
//! process claims carry the id, so that once it dies another process can
//! tell whose rows they were and put them back (see `recovery`).
//!
//! A process that finds its own row gone or declared dead (its heartbeat
//! lapsed, say while the store was unreachable) has lost its claims: the
//! store refuses it any further claim or start under that id. It takes a
//! new id and goes on; the passes that ran under the old one end.

use crate::domain::Clock;
use crate::store::{Store, StoreError};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A registered sending process; clones share the one registration.
#[derive(Clone)]
pub struct Instance {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    role: &'static str,
    id: RwLock<String>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("id", &self.id()).finish()
    }
}

impl Instance {
    /// Registers this process under a new id, as `role` (`daemon` or
    /// `digest send`).
    pub async fn register(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        role: &'static str,
    ) -> Result<Self, StoreError> {
        let id = new_id();
        store
            .register_instance(
                &id,
                role,
                process_key(std::process::id()).as_deref(),
                clock.now(),
            )
            .await?;
        tracing::debug!(instance = %id, role, "registered");
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                role,
                id: RwLock::new(id),
            }),
        })
    }

    /// The id rows are claimed under now.
    pub fn id(&self) -> String {
        self.inner
            .id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Renews the heartbeat once. When this process was declared dead, it
    /// registers again under a new id (its old claims are gone) and says
    /// so in the log.
    pub async fn beat(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let id = self.id();
        if inner.store.heartbeat(&id, inner.clock.now()).await? {
            return Ok(());
        }
        let fresh = new_id();
        inner
            .store
            .register_instance(
                &fresh,
                inner.role,
                process_key(std::process::id()).as_deref(),
                inner.clock.now(),
            )
            .await?;
        tracing::warn!(
            old = %id,
            new = %fresh,
            "this process was declared dead (its heartbeat lapsed): the rows it held were released for others to send; it goes on under a new id"
        );
        *inner.id.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Renews the heartbeat every `every` until `stop` is cancelled. A
    /// failed renewal is logged and tried again at the next beat.
    pub async fn beat_until(self, every: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(e) = self.beat().await {
                        tracing::error!(error = %e, "cannot renew this process's heartbeat");
                    }
                }
            }
        }
    }

    /// A clean exit: rows still claimed and never started go back to
    /// pending, and the registration goes.
    pub async fn deregister(&self) {
        let id = self.id();
        match self.inner.store.deregister_instance(&id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(instance = %id, rows = n, "released rows on the way out"),
            Err(e) => tracing::warn!(
                instance = %id,
                error = %e,
                "could not deregister; other processes release its rows once its heartbeat is old enough"
            ),
        }
    }
}

/// `host:pid:nonce`, as the scheduler lease names its holder.
fn new_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let mut nonce = [0u8; 4];
    let _ = getrandom::fill(&mut nonce);
    format!("{host}:{}:{}", std::process::id(), hex::encode(nonce))
}

/// What identifies process `pid` on this machine for as long as it runs,
/// on Linux: the boot, the pid namespace, the pid and the process's start
/// time (so a reused pid is another process). None elsewhere.
pub fn process_key(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let start = start_time(pid)?;
    Some(format!(
        "linux:{}:{}:{pid}:{start}",
        boot.trim(),
        namespace.display()
    ))
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock
/// ticks since boot. The command name before it is in parentheses and may
/// hold spaces, so fields are counted after the last `)`.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_owned)
}

/// Whether the process that registered `key` has certainly ended: it ran
/// on this machine, in this pid namespace, and no process with its pid and
/// start time runs now. False whenever that cannot be told (another
/// machine or container, no `/proc`): then only its heartbeat tells.
pub fn certainly_gone(key: Option<&str>) -> bool {
    let Some(key) = key else { return false };
    let Some(mine) = process_key(std::process::id()) else {
        return false;
    };
    // linux:<boot>:<namespace>:<pid>:<start>; the namespace reads
    // "pid:[4026531836]", so the pid and start time are the last two.
    let (Some((machine, pid_start)), Some((my_machine, _))) =
        (split_machine(key), split_machine(&mine))
    else {
        return false;
    };
    if machine != my_machine {
        return false;
    }
    let Some((pid, start)) = pid_start.split_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    start_time(pid).as_deref() != Some(start)
}

/// (boot and namespace, "pid:start") of a key.
fn split_machine(key: &str) -> Option<(&str, &str)> {
    let start_colon = key.rfind(':')?;
    let pid_colon = key[..start_colon].rfind(':')?;
    Some((&key[..pid_colon], &key[pid_colon + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_not_gone_and_an_ended_one_is() {
        let mine = process_key(std::process::id()).expect("a key on Linux");
        assert!(!certainly_gone(Some(&mine)));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let key = process_key(child.id());
        child.wait().unwrap();
        // Reaped: its pid is gone (or, if reused, has another start time).
        if let Some(key) = key {
            assert!(certainly_gone(Some(&key)), "{key}");
        }
        // Another machine, or no key at all: cannot tell.
        let elsewhere = mine.replacen("linux:", "linux:other-boot-", 1);
        assert!(!certainly_gone(Some(&elsewhere)));
        assert!(!certainly_gone(None));
    }
}
