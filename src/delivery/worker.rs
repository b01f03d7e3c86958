//! The workers of one pass: each takes a claimed row, composes its digest,
//! sends its copy of the shared message for that composition (rendered and
//! encoded once, see `mail::shared`) over its own transport session, and
//! hands the result back to the pass, which records it. A worker takes no
//! new row before its last result is stored: that is what bounds the
//! messages sent but not yet recorded to the number of workers.

use super::attempt::{Attempt, Failure, Skip, Unsent};
use super::pacer::Pacer;
use crate::config::{Config, DeliveryConfig, DigestConfig};
use crate::digest::compose::{Composition, Material};
use crate::digest::render::{Audience, Renderer, TOKEN_PLACEHOLDER};
use crate::digest::{self, DigestError};
use crate::domain::{Clock, SubscriberStatus};
use crate::mail::transport::Session;
use crate::mail::{Copy, Mailer, SendError, SharedMessage};
use crate::store::{Claimed, DigestRun, StoreError};
use chrono::Duration;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Bytes of encoded messages kept per pass before the cache starts over:
/// a few hundred digests, whatever the number of subscribers.
const CACHE_BYTES: usize = 24 << 20;

/// A claimed row and, for a confirmed subscriber, the manage-link token
/// its message carries (stored, hashed, before the row was handed over).
pub struct Work {
    pub row: Claimed,
    pub token: Option<String>,
}

/// A row's result, waiting to be recorded.
pub struct Done {
    pub id: i64,
    pub subscriber: i64,
    pub attempt: Attempt,
    ack: oneshot::Sender<()>,
}

impl Done {
    /// Lets the worker take its next row: the result is stored.
    pub fn stored(self) {
        let _ = self.ack.send(());
    }
}

/// What every worker of one pass shares.
pub struct RunContext {
    pub run: DigestRun,
    pub schedule: DigestConfig,
    pub config: Arc<Config>,
    pub tera: Arc<tera::Tera>,
    pub material: Material,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub pacer: Pacer,
    pub list_id: String,
    /// Rows taken after this is cancelled are put back unsent.
    pub stop: CancellationToken,
    cache: Mutex<Cache>,
    /// Set when the pass fails: workers send nothing more, so no message
    /// goes out that could not be recorded.
    abort: AtomicBool,
}

impl RunContext {
    pub fn new(
        deliverer: &super::Deliverer,
        run: &DigestRun,
        schedule: DigestConfig,
        material: Material,
        stop: CancellationToken,
    ) -> Self {
        let config = &deliverer.config;
        Self {
            run: run.clone(),
            list_id: format!(
                "{} {} digest <{}.{}>",
                config.site.title,
                schedule.name,
                schedule.name,
                deliverer.mailer.from_domain()
            ),
            schedule,
            config: config.clone(),
            tera: deliverer.tera.clone(),
            material,
            mailer: deliverer.mailer.clone(),
            clock: deliverer.clock.clone(),
            pacer: Pacer::new(config.mail.rate_per_second),
            stop,
            cache: Mutex::new(Cache::default()),
            abort: AtomicBool::new(false),
        }
    }

    fn delivery(&self) -> &DeliveryConfig {
        &self.config.delivery
    }
}

/// The pool: rows go in through `hand`, results come out of `results`.
pub struct Workers {
    context: Arc<RunContext>,
    work_tx: mpsc::UnboundedSender<Work>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    tasks: tokio::task::JoinSet<()>,
}

impl Workers {
    pub fn start(context: Arc<RunContext>, count: usize) -> Self {
        let (work_tx, work_rx) = mpsc::unbounded_channel::<Work>();
        let work_rx = Arc::new(tokio::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            tasks.spawn(work(context.clone(), work_rx.clone(), done_tx.clone()));
        }
        Self {
            context,
            work_tx,
            done_rx,
            tasks,
        }
    }

    /// Queues a claimed row for the next free worker.
    pub fn hand(&self, work: Work) -> Result<(), DigestError> {
        self.work_tx.send(work).map_err(|_| {
            DigestError::from(StoreError::Other(anyhow::anyhow!(
                "delivery workers stopped"
            )))
        })
    }

    /// The next results: one, waited for, and whatever else is ready, so
    /// that they are stored in one transaction. None once every worker is
    /// gone.
    pub async fn results(&mut self) -> Option<Vec<Done>> {
        let first = self.done_rx.recv().await?;
        let mut batch = vec![first];
        while let Ok(more) = self.done_rx.try_recv() {
            batch.push(more);
        }
        Some(batch)
    }

    /// Stops the workers and waits for them. After a failed pass
    /// (`failed`), a worker about to send puts its row back instead.
    pub async fn finish(self, failed: bool) {
        let Self {
            context,
            work_tx,
            done_rx,
            mut tasks,
        } = self;
        if failed {
            context.abort.store(true, Ordering::SeqCst);
        }
        // Dropping the results drops the workers' acknowledgements, so none
        // of them waits for ever.
        drop(done_rx);
        drop(work_tx);
        while tasks.join_next().await.is_some() {}
    }
}

/// One worker: one transport session (one SMTP connection, kept across
/// messages), one row at a time.
async fn work(
    context: Arc<RunContext>,
    rows: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Work>>>,
    done: mpsc::UnboundedSender<Done>,
) {
    let mut session = context.mailer.session();
    loop {
        let next = rows.lock().await.recv().await;
        let Some(work) = next else { break };
        let (id, subscriber) = (work.row.id, work.row.subscriber_id);
        let attempt = if context.stop.is_cancelled() {
            unsent(&context, Unsent::Stopped)
        } else {
            attempt(&context, &mut session, work).await
        };
        let (ack, acked) = oneshot::channel();
        let result = Done {
            id,
            subscriber,
            attempt,
            ack,
        };
        if done.send(result).is_err() {
            break;
        }
        // Take no new row before this one's result is stored.
        let _ = acked.await;
    }
    session.close().await;
}

fn unsent(context: &RunContext, why: Unsent) -> Attempt {
    Attempt::Unsent {
        at: context.clock.now(),
        why,
    }
}

/// Composes, renders and sends one row's digest.
async fn attempt(context: &RunContext, session: &mut Session, work: Work) -> Attempt {
    let row = work.row;
    let (Some(token), SubscriberStatus::Confirmed) = (work.token, row.status) else {
        return Attempt::Skipped(Skip::NotConfirmed(row.status));
    };
    let composition =
        context
            .material
            .compose(&row.topics, row.since, digest::limits(&context.schedule));
    if composition.is_empty() {
        return Attempt::Skipped(Skip::NothingNew);
    }
    let shared = match shared_message(context, &composition) {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(Failure::Invalid(e)),
    };
    let copy = copy(context, &row, &token);
    context.pacer.wait().await;
    if context.abort.load(Ordering::SeqCst) {
        return unsent(context, Unsent::PassFailed);
    }
    match session.send_copy(&shared, &copy).await {
        Ok(()) => Attempt::Sent,
        Err(SendError::Transient { reason }) => transient(context, &row, reason),
        Err(SendError::Permanent { reason }) => Attempt::Failed(Failure::Rejected(reason)),
        Err(SendError::Invalid { reason }) => Attempt::Failed(Failure::Invalid(reason)),
    }
}

/// A temporary failure: retried with backoff, until the run is older than
/// `delivery.give_up_after`.
fn transient(context: &RunContext, row: &Claimed, reason: String) -> Attempt {
    let now = context.clock.now();
    let delivery = context.delivery();
    let give_up = Duration::from_std(delivery.give_up_after).unwrap_or(Duration::hours(24));
    if now - context.run.created_at >= give_up {
        return Attempt::Failed(Failure::GaveUp {
            attempts: row.attempts,
            reason,
        });
    }
    let attempts = row.attempts.saturating_sub(1);
    Attempt::Retry {
        next: now + crate::subscribers::queue::backoff(delivery, attempts),
        reason,
    }
}

/// One subscriber's copy: their address, links and envelope sender.
fn copy<'a>(context: &RunContext, row: &'a Claimed, token: &'a str) -> Copy<'a> {
    let base = context.config.site.base();
    Copy {
        to: &row.email,
        token,
        message_id: super::message_id(&context.run, row.id, context.mailer.from_domain()),
        list_unsubscribe: Some(format!("{base}/unsubscribe/{token}")),
        bounce: Some(crate::bounces::verp::BounceRef {
            subscriber: row.subscriber_id,
            run: Some(context.run.id),
        }),
    }
}

/// Encoded messages by composition, and their size.
#[derive(Default)]
struct Cache {
    messages: HashMap<Composition, Arc<SharedMessage>>,
    bytes: usize,
}

/// The message of `c`, from the cache or rendered and encoded now:
/// subscribers with the same composition share one.
fn shared_message(context: &RunContext, c: &Composition) -> Result<Arc<SharedMessage>, String> {
    if let Some(m) = context
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .messages
        .get(c)
    {
        return Ok(m.clone());
    }
    let rendered = Renderer {
        config: &context.config,
        schedule: &context.schedule,
        tera: &context.tera,
        fire: context.run.fire,
        run_id: context.run.id,
    }
    .render(&context.material, c, Audience::Subscriber)
    .map_err(|e| e.to_string())?;
    let m = Arc::new(
        SharedMessage::new(
            &rendered.subject,
            &rendered.text,
            &rendered.html,
            Some(&context.list_id),
            TOKEN_PLACEHOLDER,
        )
        .map_err(|e| e.to_string())?,
    );
    let mut cache = context.cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.bytes + m.size() > CACHE_BYTES {
        cache.messages.clear();
        cache.bytes = 0;
    }
    cache.bytes += m.size();
    if let Some(old) = cache.messages.insert(c.clone(), m.clone()) {
        cache.bytes -= old.size();
    }
    Ok(m)
}
