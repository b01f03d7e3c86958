//! Bounces and complaints that come back after a message was accepted.
//! A relay (Postfix, SES, Postmark) answers 250 to every message; a
//! mailbox that does not exist, or a recipient who marks the digest as
//! spam, is reported hours later: as a delivery status notification (RFC
//! 3464) or a feedback report (RFC 5965) mailed to the envelope sender,
//! or as a provider's webhook.
//!
//! The parts: `verp` (each message's envelope sender names its subscriber
//! and run, signed), `dsn` and `arf` (reading the reports), `classify`
//! here (which report a message is, and auto-replies, which are neither),
//! `Inbox` (applying a report to the subscriber through the store), and
//! the ways in: `listener` (SMTP in the daemon), `maildir` (a folder), and
//! `providers` with `webhook_auth` (the HTTP webhooks, routed in
//! `http::routes::webhooks`).

pub mod arf;
pub mod dsn;
pub mod fields;
pub mod listener;
pub mod maildir;
pub mod providers;
pub mod verp;
pub mod webhook_auth;

use crate::config::Config;
use crate::domain::Clock;
use crate::store::{BounceEffect, BounceKind, BounceReport, Store, StoreError};
use mail_parser::MessageParser;
use std::sync::Arc;
use verp::{BounceRef, Verp};

/// What an inbound message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A bounce: the message failed for good.
    Bounce {
        kind: BounceKind,
        status: Option<String>,
        reason: String,
    },
    /// A recipient's spam complaint.
    Complaint(arf::Feedback),
    /// Not acted on, and why.
    Ignored(String),
}

/// Reads one inbound message. `hints` gets where a VERP token may be
/// found besides the envelope: the headers a delivery agent adds, and for
/// feedback reports the original sender.
pub fn classify(raw: &[u8]) -> (Classified, Vec<String>) {
    let Some(message) = MessageParser::default().parse(raw) else {
        return (Classified::Ignored("not a mail message".into()), Vec::new());
    };
    let mut hints: Vec<String> = [
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
        "X-Rcpt-To",
        "To",
    ]
    .iter()
    .filter_map(|h| message.header_raw(*h).map(str::to_owned))
    .collect();
    if let Some(feedback) = arf::report(&message) {
        hints.extend(feedback.hints.iter().cloned());
        let c = if feedback.is_complaint() {
            Classified::Complaint(feedback)
        } else {
            Classified::Ignored(format!(
                "a feedback report of type {}, not a complaint",
                feedback.feedback_type
            ))
        };
        return (c, hints);
    }
    if let Some(report) = dsn::report(&message) {
        return (from_dsn(report), hints);
    }
    // Mailer daemons mark their prose bounces `Auto-Submitted` too: they
    // are read before auto-replies are set aside; a bounce's subject alone
    // is trusted only after.
    let prose = || match dsn::text_status(&dsn::body_text(&message), true) {
        Some(report) => from_dsn(report),
        None => Classified::Ignored("an empty bounce".into()),
    };
    if dsn::from_mailer_daemon(&message) {
        return (prose(), hints);
    }
    if let Some(why) = auto_reply(&message) {
        return (Classified::Ignored(format!("an auto-reply ({why})")), hints);
    }
    if dsn::bounce_subject(&message) {
        return (prose(), hints);
    }
    (
        Classified::Ignored("neither a bounce nor a complaint".into()),
        hints,
    )
}

fn from_dsn(report: dsn::Dsn) -> Classified {
    match report {
        dsn::Dsn::Failed {
            kind,
            status,
            reason,
            ..
        } => Classified::Bounce {
            kind,
            status,
            reason,
        },
        dsn::Dsn::Delayed => Classified::Ignored("a delay notice: still being tried".into()),
        dsn::Dsn::Delivered => Classified::Ignored("a delivery report".into()),
    }
}

/// Why `message` is an automatic reply (RFC 3834 and the headers and
/// subjects vacation responders use), if it is one.
fn auto_reply(message: &mail_parser::Message<'_>) -> Option<String> {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(v) = header("Auto-Submitted").filter(|v| !v.starts_with("no")) {
        return Some(format!("Auto-Submitted: {v}"));
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Autoresponse"] {
        if header(name).is_some() {
            return Some(format!("{name} header"));
        }
    }
    if let Some(v) =
        header("Precedence").filter(|v| matches!(v.as_str(), "auto_reply" | "bulk" | "junk"))
    {
        return Some(format!("Precedence: {v}"));
    }
    let subject = message.subject().unwrap_or_default().to_lowercase();
    [
        "out of office",
        "out of the office",
        "automatic reply",
        "auto reply",
        "autoreply",
        "auto-reply",
        "auto:",
        "away from the office",
        "on vacation",
        "abwesenheitsnotiz",
        "réponse automatique",
        "respuesta automática",
    ]
    .iter()
    .find(|s| subject.contains(*s))
    .map(|s| format!("subject says \"{s}\""))
}

/// Where a report came in, and its identity for de-duplication.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `smtp`, `maildir`, `webhook:<provider>`.
    pub source: String,
    /// The provider's event id, for webhooks; reports to a VERP address
    /// are told apart by run, subscriber and kind.
    pub event_id: Option<String>,
}

/// Who a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A VERP token (or a manage link's token) named them.
    Known(BounceRef),
    /// An authenticated provider named the address.
    Address(String),
}

/// What became of one inbound report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded against a subscriber.
    Recorded {
        subscriber: i64,
        kind: BounceKind,
        effect: BounceEffect,
    },
    /// Not acted on, and why.
    Ignored(String),
}

/// Applies inbound reports to subscribers: the one place the listener,
/// the maildir reader and the webhooks hand them to.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<dyn Store>,
    verp: Verp,
    soft_limit: u32,
    clock: Arc<dyn Clock>,
}

impl Inbox {
    /// Reads the VERP key from the store (making it on first use).
    pub async fn new(
        store: Arc<dyn Store>,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let verp = Verp::load(store.as_ref(), &config.bounces, &config.mail.from.email).await?;
        Ok(Self {
            store,
            verp,
            soft_limit: config.bounces.soft_limit,
            clock,
        })
    }

    /// The VERP addresses this inbox recognises.
    pub fn verp(&self) -> &Verp {
        &self.verp
    }

    /// One inbound message, `recipients` its envelope recipients (none for
    /// a maildir file). Only a report that names its subscriber through a
    /// VERP token (or, for a complaint, the manage link of the reported
    /// digest) is acted on: a forged bounce can not unsubscribe anyone.
    pub async fn receive(
        &self,
        raw: &[u8],
        recipients: &[String],
        source: &str,
    ) -> Result<Outcome, StoreError> {
        let (classified, hints) = classify(raw);
        let (kind, status, reason, manage_link) = match classified {
            Classified::Ignored(why) => return Ok(Outcome::Ignored(why)),
            Classified::Bounce {
                kind,
                status,
                reason,
            } => (kind, status, reason, None),
            Classified::Complaint(feedback) => (
                BounceKind::Complaint,
                None,
                feedback.reason(),
                feedback.list_unsubscribe.clone(),
            ),
        };
        let texts = recipients.iter().chain(hints.iter()).map(String::as_str);
        let found = match self.verp.find_in(texts) {
            Some(r) => Some(r),
            None => match manage_link {
                Some(link) => self.by_manage_link(&link).await?,
                None => None,
            },
        };
        let Some(r) = found else {
            return Ok(Outcome::Ignored(
                "no VERP address of ours in the report: whose message it was is unknown".into(),
            ));
        };
        let origin = Origin {
            source: source.to_owned(),
            event_id: None,
        };
        self.apply(Target::Known(r), kind, status, reason, &origin)
            .await
    }

    /// The subscriber behind a `List-Unsubscribe` value of one of our
    /// digests (`<https://.../unsubscribe/TOKEN>`).
    async fn by_manage_link(&self, value: &str) -> Result<Option<BounceRef>, StoreError> {
        let Some(token) = value
            .split(['<', '>', ',', ' '])
            .filter_map(|u| u.rsplit_once("/unsubscribe/").map(|(_, t)| t))
            .map(|t| t.split(['?', '#', '/']).next().unwrap_or(""))
            .find(|t| crate::subscribers::tokens::well_formed(t))
        else {
            return Ok(None);
        };
        let hash = crate::subscribers::tokens::hash(token);
        let id = self
            .store
            .token_subscriber(&hash, crate::domain::TokenPurpose::Manage, self.clock.now())
            .await?;
        Ok(id.map(|subscriber| BounceRef {
            subscriber,
            run: None,
        }))
    }

    /// Records one report about `target`.
    pub async fn apply(
        &self,
        target: Target,
        kind: BounceKind,
        status: Option<String>,
        reason: String,
        origin: &Origin,
    ) -> Result<Outcome, StoreError> {
        let r = match target {
            Target::Known(r) => r,
            Target::Address(address) => match self.store.subscriber_by_email(&address).await? {
                Some(s) => BounceRef {
                    subscriber: s.id,
                    run: None,
                },
                None => return Ok(Outcome::Ignored(format!("{address} is not on the list"))),
            },
        };
        let dedupe = match (&origin.event_id, r.run) {
            (Some(id), _) => Some(format!("{}:{id}", origin.source)),
            (None, Some(run)) => Some(format!("run:{run}:{}:{}", r.subscriber, kind.as_str())),
            (None, None) => None,
        };
        let report = BounceReport {
            subscriber_id: r.subscriber,
            run_id: r.run,
            kind,
            status,
            reason: fields::one_line(&reason, 500),
            source: origin.source.clone(),
            dedupe,
        };
        let effect = self
            .store
            .record_bounce_report(&report, self.soft_limit, self.clock.now())
            .await?;
        crate::telemetry::count_bounce(&origin.source, kind.as_str(), &effect);
        match &effect {
            BounceEffect::UnknownSubscriber => {
                return Ok(Outcome::Ignored(format!(
                    "subscriber {} is no longer on the list",
                    r.subscriber
                )));
            }
            BounceEffect::Duplicate => {
                tracing::info!(subscriber = r.subscriber, run = ?r.run, kind = kind.as_str(), source = %origin.source, "report seen before; not counted again");
            }
            BounceEffect::Recorded { status, .. } => {
                tracing::info!(subscriber = r.subscriber, run = ?r.run, kind = kind.as_str(), source = %origin.source, status = status.as_str(), reason = %report.reason, "bounce report recorded");
            }
        }
        Ok(Outcome::Recorded {
            subscriber: r.subscriber,
            kind,
            effect,
        })
    }
}

#[cfg(test)]
mod tests;
