//! Delivery status notifications: the RFC 3464 `message/delivery-status`
//! part of a `multipart/report` (Postfix, Exim, Sendmail, Gmail, Microsoft
//! and the big providers all send one, with variations: comments after
//! the status, three-digit details, a status only in `Diagnostic-Code`),
//! and the older plain-text bounces that carry a status code only in their
//! prose (qmail, old Exim, some appliances).
//!
//! Kinds follow RFC 3463: class 5 is permanent (a hard bounce), class 4
//! temporary (a soft bounce: the sender gave up retrying), with two
//! exceptions for class 5 that do not speak of the address: `x.2.2`
//! (mailbox full, "a persistent transient failure" per RFC 3463) and
//! `x.7.x` (refused by policy, such as a spam filter or a block of the
//! sending host) are soft. Reports of delays (`Action: delayed`) and of
//! successful deliveries are not bounces.

use super::fields::{self, Fields};
use crate::store::BounceKind;
use mail_parser::{Message, MimeHeaders as _};

/// What a DSN says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dsn {
    /// It failed for good.
    Failed {
        kind: BounceKind,
        /// The enhanced status code (`5.1.1`), when one was found.
        status: Option<String>,
        /// What the remote server said, or the status's meaning.
        reason: String,
        /// The recipient the report names.
        recipient: Option<String>,
    },
    /// Delivery is late but still being tried: not a bounce.
    Delayed,
    /// Delivered, relayed or expanded: not a bounce.
    Delivered,
}

/// The RFC 3464 report in `message`, if it has one.
pub fn report(message: &Message<'_>) -> Option<Dsn> {
    let part = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    })?;
    let text = String::from_utf8_lossy(part.contents());
    let recipients: Vec<Fields> = fields::blocks(&text)
        .into_iter()
        .filter(|b| {
            fields::get(b, "action").is_some()
                || fields::get(b, "final-recipient").is_some()
                || fields::get(b, "status").is_some()
        })
        .collect();
    if recipients.is_empty() {
        // A delivery-status part with no recipient block: read its prose.
        return text_status(&text, true).or(Some(Dsn::Failed {
            kind: BounceKind::Soft,
            status: None,
            reason: "a delivery status report without a recipient's status".into(),
            recipient: None,
        }));
    }
    // One recipient a message is what we send; a report on several is
    // read for its worst news.
    let mut worst: Option<Dsn> = None;
    for block in &recipients {
        let dsn = recipient(block);
        worst = Some(match (worst, dsn) {
            (None, d) => d,
            (Some(w), d) if rank(&d) > rank(&w) => d,
            (Some(w), _) => w,
        });
    }
    worst
}

fn rank(d: &Dsn) -> u8 {
    match d {
        Dsn::Delivered => 0,
        Dsn::Delayed => 1,
        Dsn::Failed {
            kind: BounceKind::Soft,
            ..
        } => 2,
        Dsn::Failed { .. } => 3,
    }
}

/// One per-recipient block.
fn recipient(block: &Fields) -> Dsn {
    let action = fields::get(block, "action").map(|a| {
        a.split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    });
    let diagnostic = fields::get(block, "diagnostic-code")
        .or_else(|| fields::get(block, "x-exim-diagnostic"))
        .map(|d| fields::typed_address(d).to_owned());
    let status = fields::get(block, "status")
        .and_then(fields::enhanced_status)
        .or_else(|| diagnostic.as_deref().and_then(fields::enhanced_status))
        .or_else(|| {
            let code = diagnostic.as_deref().and_then(fields::smtp_code)?;
            Some(format!("{}.0.0", code / 100))
        });
    match action.as_deref() {
        Some("delayed") => return Dsn::Delayed,
        Some("delivered" | "relayed" | "expanded") => return Dsn::Delivered,
        _ => {}
    }
    // No action (or an unknown one): a report is a failure unless its
    // status says success.
    if action.is_none() && status.as_deref().is_some_and(|s| s.starts_with('2')) {
        return Dsn::Delivered;
    }
    let recipient = fields::get(block, "final-recipient")
        .or_else(|| fields::get(block, "original-recipient"))
        .map(|r| fields::typed_address(r).to_owned());
    let reason = diagnostic
        .map(|d| fields::one_line(&d, 300))
        .or_else(|| status.as_deref().map(|s| meaning(s).to_owned()))
        .unwrap_or_else(|| "delivery failed (no status given)".into());
    Dsn::Failed {
        kind: kind_of(status.as_deref()),
        status,
        reason,
        recipient,
    }
}

/// Hard or soft, from an enhanced status code (see the module's notes).
pub fn kind_of(status: Option<&str>) -> BounceKind {
    let Some(status) = status else {
        return BounceKind::Soft;
    };
    let mut parts = status.split('.');
    let (class, subject, detail) = (parts.next(), parts.next(), parts.next());
    match (class, subject, detail) {
        (Some("5"), Some("2"), Some("2")) | (Some("5"), Some("7"), _) => BounceKind::Soft,
        (Some("5"), _, _) => BounceKind::Hard,
        _ => BounceKind::Soft,
    }
}

/// A few words for a status code with no diagnostic text.
fn meaning(status: &str) -> &'static str {
    let subject_detail = status.split_once('.').map_or("", |(_, rest)| rest);
    match subject_detail {
        "1.1" => "no such mailbox",
        "1.2" => "no such domain",
        "1.10" => "no such recipient (null MX)",
        "2.1" => "mailbox disabled",
        "2.2" => "mailbox full",
        "4.4" | "4.0" => "no route to the domain",
        "4.7" => "delivery time expired",
        _ if status.starts_with('5') => "permanent failure",
        _ => "temporary failure",
    }
}

/// Phrases of bounces that give no code: permanent ones first.
const PERMANENT_PHRASES: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such mailbox",
    "mailbox not found",
    "mailbox unavailable",
    "no mailbox here",
    "does not exist",
    "unrouteable address",
    "unroutable address",
    "invalid recipient",
    "recipient address rejected",
    "address rejected",
    "account has been disabled",
    "account is disabled",
    "host or domain name not found",
];
const TEMPORARY_PHRASES: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "over quota",
    "quota exceeded",
    "insufficient storage",
    "retry timeout exceeded",
    "temporarily",
    "try again later",
];

/// The status of a plain-text bounce, read from its prose: an enhanced
/// code, else an SMTP reply code, else a known phrase. `always`: a failure
/// even when nothing is recognised (the text is known to be a bounce).
pub fn text_status(text: &str, always: bool) -> Option<Dsn> {
    let lower = text.to_ascii_lowercase();
    let line_with = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .map(|l| fields::one_line(l, 300))
    };
    let (status, reason) = if let Some(status) = fields::enhanced_status(text) {
        let reason = line_with(&status);
        (Some(status), reason)
    } else if let Some(code) = fields::smtp_code(text) {
        (
            Some(format!("{}.0.0", code / 100)),
            line_with(&code.to_string()),
        )
    } else if let Some(p) = PERMANENT_PHRASES.iter().find(|p| lower.contains(*p)) {
        (Some("5.0.0".to_owned()), Some((*p).to_owned()))
    } else if let Some(p) = TEMPORARY_PHRASES.iter().find(|p| lower.contains(*p)) {
        (Some("4.0.0".to_owned()), Some((*p).to_owned()))
    } else if always {
        (None, None)
    } else {
        return None;
    };
    let kind = kind_of(status.as_deref());
    Some(Dsn::Failed {
        reason: reason.unwrap_or_else(|| match &status {
            Some(s) => meaning(s).to_owned(),
            None => "undeliverable (no status given)".to_owned(),
        }),
        kind,
        status,
        recipient: None,
    })
}

/// Whether `message` comes from a mailer daemon or postmaster (bounces
/// written as prose do; people's auto-replies do not).
pub fn from_mailer_daemon(message: &Message<'_>) -> bool {
    let from = message
        .from()
        .and_then(|a| a.first())
        .map(|a| {
            format!(
                "{} {}",
                a.name().unwrap_or_default(),
                a.address().unwrap_or_default()
            )
            .to_ascii_lowercase()
        })
        .unwrap_or_default();
    [
        "mailer-daemon",
        "mailer_daemon",
        "mail-daemon",
        "postmaster@",
        "mail delivery",
    ]
    .iter()
    .any(|d| from.contains(d))
}

/// Whether `message` has the subject of a bounce.
pub fn bounce_subject(message: &Message<'_>) -> bool {
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    [
        "undeliver",
        "undelivered",
        "delivery status notification",
        "delivery failure",
        "delivery failed",
        "delivery has failed",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "could not be delivered",
        "non-delivery",
        "nondeliverable",
    ]
    .iter()
    .any(|s| subject.contains(s))
}

/// The prose of a message: its text parts, or its HTML without tags.
pub fn body_text(message: &Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..message.text_body_count() {
        if let Some(t) = message.body_text(i) {
            out.push_str(&t);
            out.push('\n');
        }
    }
    out
}
