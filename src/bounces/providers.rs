//! The JSON the providers' webhooks post, read into reports: Amazon SES
//! notifications through SNS, Postmark's bounce and spam complaint
//! webhooks, SendGrid's Event Webhook and Mailgun's webhooks. Each
//! provider's own words are mapped to hard, soft or complaint; delays,
//! deliveries and events that say nothing about the address are left out.

use super::Target;
use super::verp::Verp;
use crate::store::BounceKind;
use serde_json::Value;

/// One provider event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub target: Target,
    pub kind: BounceKind,
    pub status: Option<String>,
    pub reason: String,
    /// The provider's id of the event: the same event posted twice counts
    /// once.
    pub event_id: Option<String>,
}

/// What a webhook post holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Events not acted on, and why.
    pub ignored: Vec<String>,
    /// An SNS subscription waiting to be confirmed: its topic and the URL
    /// that confirms it.
    pub confirm: Option<(String, String)>,
}

fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn kind_from_status(status: Option<&str>, default: BounceKind) -> BounceKind {
    match status {
        Some(s) if s.starts_with('5') || s.starts_with('4') => super::dsn::kind_of(Some(s)),
        _ => default,
    }
}

/// Amazon SES through SNS: the SNS envelope (`Type`: `Notification`,
/// `SubscriptionConfirmation`) around the SES notification, or the SES
/// notification alone (SNS "raw message delivery").
pub fn ses(body: &[u8], verp: &Verp) -> Result<Batch, String> {
    let mut batch = Batch::default();
    let Some(n) = sns_message(parse(body)?, &mut batch)? else {
        return Ok(batch);
    };
    let kind = text(&n, "notificationType")
        .or_else(|| text(&n, "eventType"))
        .ok_or("neither notificationType nor eventType: not an SES notification")?;
    // The envelope sender SES used: our VERP address names the subscriber.
    let verp_ref = n
        .pointer("/mail/source")
        .and_then(Value::as_str)
        .and_then(|s| verp.find(s));
    let target = |address: &str| match verp_ref {
        Some(r) => Target::Known(r),
        None => Target::Address(address.to_owned()),
    };
    match kind {
        "Bounce" => {
            let b = n.get("bounce").ok_or("Bounce without bounce")?;
            ses_bounce(b, &target, &mut batch);
        }
        "Complaint" => {
            let c = n.get("complaint").ok_or("Complaint without complaint")?;
            ses_complaint(c, &target, &mut batch);
        }
        other => batch.ignored.push(format!("an SES {other} notification")),
    }
    Ok(batch)
}

/// The SES notification inside an SNS post (`outer` itself when it has no
/// SNS `Type`); None when the post was an SNS handshake, noted in `batch`.
fn sns_message(outer: Value, batch: &mut Batch) -> Result<Option<Value>, String> {
    match text(&outer, "Type") {
        Some("SubscriptionConfirmation") => {
            let url = text(&outer, "SubscribeURL")
                .ok_or("SubscriptionConfirmation without SubscribeURL")?;
            let topic = text(&outer, "TopicArn").unwrap_or("(no TopicArn)");
            batch.confirm = Some((topic.to_owned(), url.to_owned()));
            Ok(None)
        }
        Some("UnsubscribeConfirmation") => {
            batch.ignored.push("SNS unsubscribe confirmation".into());
            Ok(None)
        }
        Some("Notification") => {
            let message = text(&outer, "Message").ok_or("SNS Notification without Message")?;
            serde_json::from_str::<Value>(message)
                .map(Some)
                .map_err(|e| format!("the SNS Message is not JSON: {e}"))
        }
        Some(other) => Err(format!("SNS message Type `{other}` is not known")),
        None => Ok(Some(outer)),
    }
}

/// The recipients listed under `key` of an SES bounce or complaint, with
/// their address; a recipient without one is skipped.
fn ses_recipients<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (&'a Value, &'a str)> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r, text(r, "emailAddress")?)))
}

fn ses_bounce(b: &Value, target: &dyn Fn(&str) -> Target, batch: &mut Batch) {
    let bounce_type = text(b, "bounceType").unwrap_or("Undetermined");
    let sub_type = text(b, "bounceSubType").unwrap_or("General");
    let feedback = text(b, "feedbackId");
    for (r, address) in ses_recipients(b, "bouncedRecipients") {
        let status = text(r, "status").and_then(super::fields::enhanced_status);
        let default = if bounce_type == "Permanent" {
            BounceKind::Hard
        } else {
            BounceKind::Soft
        };
        let kind = match (bounce_type, sub_type) {
            // On a suppression list: SES knows the address is bad.
            ("Permanent", "Suppressed" | "OnAccountSuppressionList") => BounceKind::Hard,
            ("Permanent", _) => kind_from_status(status.as_deref(), default),
            _ => BounceKind::Soft,
        };
        let reason = text(r, "diagnosticCode")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("SES {bounce_type} bounce ({sub_type})"));
        batch.events.push(Event {
            target: target(address),
            kind,
            status,
            reason,
            event_id: feedback.map(|f| format!("{f}:{address}")),
        });
    }
}

fn ses_complaint(c: &Value, target: &dyn Fn(&str) -> Target, batch: &mut Batch) {
    let feedback_type = text(c, "complaintFeedbackType").unwrap_or("abuse");
    if feedback_type == "not-spam" {
        batch.ignored.push("a not-spam report".into());
        return;
    }
    let agent = text(c, "userAgent").unwrap_or("a feedback loop");
    let feedback = text(c, "feedbackId");
    for (_, address) in ses_recipients(c, "complainedRecipients") {
        batch.events.push(Event {
            target: target(address),
            kind: BounceKind::Complaint,
            status: None,
            reason: format!("marked as spam ({feedback_type} report from {agent}, via SES)"),
            event_id: feedback.map(|f| format!("{f}:{address}")),
        });
    }
}

/// Postmark: one record a post (`RecordType` `Bounce` or `SpamComplaint`).
pub fn postmark(body: &[u8]) -> Result<Batch, String> {
    let v = parse(body)?;
    let mut batch = Batch::default();
    let record = text(&v, "RecordType").unwrap_or("Bounce");
    let address = text(&v, "Email").ok_or("no Email in the Postmark record")?;
    let bounce_type = text(&v, "Type").unwrap_or("");
    let kind = match (record, bounce_type) {
        ("SpamComplaint", _) | (_, "SpamComplaint" | "SpamNotification") => {
            Some(BounceKind::Complaint)
        }
        ("Bounce", "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated") => {
            Some(BounceKind::Hard)
        }
        ("Bounce", "SoftBounce" | "DnsError" | "Blocked" | "DMARCPolicy" | "Undeliverable") => {
            Some(BounceKind::Soft)
        }
        _ => None,
    };
    let Some(kind) = kind else {
        batch
            .ignored
            .push(format!("a Postmark {record} record of type {bounce_type}"));
        return Ok(batch);
    };
    let details = text(&v, "Details").or_else(|| text(&v, "Description"));
    let reason = match (kind, details) {
        (BounceKind::Complaint, _) => "marked as spam (reported through Postmark)".to_owned(),
        (_, Some(d)) => d.to_owned(),
        (_, None) => format!("Postmark {bounce_type}"),
    };
    batch.events.push(Event {
        target: Target::Address(address.to_owned()),
        kind,
        status: details.and_then(super::fields::enhanced_status),
        reason,
        event_id: v
            .get("ID")
            .map(|id| id.to_string().trim_matches('"').to_owned()),
    });
    Ok(batch)
}

/// SendGrid: an array of events.
pub fn sendgrid(body: &[u8]) -> Result<Batch, String> {
    let v = parse(body)?;
    let events = v.as_array().ok_or("SendGrid posts an array of events")?;
    let mut batch = Batch::default();
    for e in events {
        let (Some(address), Some(event)) = (text(e, "email"), text(e, "event")) else {
            batch.ignored.push("an event without email or event".into());
            continue;
        };
        let status = text(e, "status").and_then(super::fields::enhanced_status);
        let reason = text(e, "reason").unwrap_or(event).to_owned();
        let kind = match event {
            "bounce" if text(e, "type") == Some("blocked") => Some(BounceKind::Soft),
            "bounce" => Some(kind_from_status(status.as_deref(), BounceKind::Hard)),
            "blocked" => Some(BounceKind::Soft),
            "spamreport" => Some(BounceKind::Complaint),
            "dropped" if reason.eq_ignore_ascii_case("Bounced Address") => Some(BounceKind::Hard),
            "dropped" if reason.eq_ignore_ascii_case("Spam Reporting Address") => {
                Some(BounceKind::Complaint)
            }
            _ => None,
        };
        let Some(kind) = kind else {
            batch.ignored.push(format!("a SendGrid {event} event"));
            continue;
        };
        let reason = if kind == BounceKind::Complaint {
            "marked as spam (reported through SendGrid)".to_owned()
        } else {
            reason
        };
        batch.events.push(Event {
            target: Target::Address(address.to_owned()),
            kind,
            status,
            reason,
            event_id: text(e, "sg_event_id").map(str::to_owned),
        });
    }
    Ok(batch)
}

/// Mailgun's signature fields, checked before the event is read.
pub struct MailgunSignature {
    pub timestamp: String,
    pub token: String,
    pub signature: String,
}

/// Mailgun: `{"signature": {...}, "event-data": {...}}`.
pub fn mailgun_signature(body: &[u8]) -> Result<MailgunSignature, String> {
    let v = parse(body)?;
    let s = v.get("signature").ok_or("no signature object")?;
    let field = |k: &str| {
        s.get(k)
            .map(|x| x.to_string().trim_matches('"').to_owned())
            .ok_or(format!("no signature.{k}"))
    };
    Ok(MailgunSignature {
        timestamp: field("timestamp")?,
        token: field("token")?,
        signature: field("signature")?,
    })
}

/// The event of a Mailgun post.
pub fn mailgun(body: &[u8]) -> Result<Batch, String> {
    let v = parse(body)?;
    let e = v.get("event-data").ok_or("no event-data object")?;
    let mut batch = Batch::default();
    let event = text(e, "event").unwrap_or("");
    let Some(address) = text(e, "recipient") else {
        batch
            .ignored
            .push(format!("a Mailgun {event} event without recipient"));
        return Ok(batch);
    };
    let ds = e.get("delivery-status");
    let message = ds
        .and_then(|d| text(d, "message").or_else(|| text(d, "description")))
        .map(str::to_owned);
    let status = message
        .as_deref()
        .and_then(super::fields::enhanced_status)
        .or_else(|| {
            let code = ds?.get("code")?.as_u64()?;
            (400..600)
                .contains(&code)
                .then(|| format!("{}.0.0", code / 100))
        });
    let kind = match (event, text(e, "severity"), text(e, "reason")) {
        ("complained", _, _) => Some(BounceKind::Complaint),
        // Mailgun gave up after retrying temporary failures.
        ("failed", Some("permanent"), Some("old")) => Some(BounceKind::Soft),
        ("failed", Some("permanent"), _) => {
            Some(kind_from_status(status.as_deref(), BounceKind::Hard))
        }
        // Mailgun retries these itself.
        _ => None,
    };
    let Some(kind) = kind else {
        batch.ignored.push(format!("a Mailgun {event} event"));
        return Ok(batch);
    };
    let reason = match kind {
        BounceKind::Complaint => "marked as spam (reported through Mailgun)".to_owned(),
        _ => message.unwrap_or_else(|| format!("Mailgun {event}")),
    };
    batch.events.push(Event {
        target: Target::Address(address.to_owned()),
        kind,
        status,
        reason,
        event_id: text(e, "id").map(str::to_owned),
    });
    Ok(batch)
}
