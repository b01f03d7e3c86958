//! Feedback reports (RFC 5965, ARF): what mailbox providers' feedback
//! loops send when a recipient marks a message as spam. A
//! `multipart/report; report-type=feedback-report` with a human part, a
//! `message/feedback-report` part (`Feedback-Type`, `User-Agent`,
//! `Original-Mail-From`, ...) and the original message or its headers
//! (`message/rfc822` or `text/rfc822-headers`). Providers vary: Yahoo
//! redacts the recipient but keeps `Original-Mail-From`; Microsoft's
//! program sends the whole original; some send only its headers.

use super::fields;
use mail_parser::{Message, MessageParser, MimeHeaders as _, PartType};

/// Feedback types that are a person's complaint. `not-spam`, `virus` and
/// `auth-failure` (a DMARC failure report) are not.
const COMPLAINT_TYPES: &[&str] = &["abuse", "fraud"];

/// One feedback report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// `Feedback-Type`, lower case (`abuse`, `fraud`, `not-spam`, ...).
    pub feedback_type: String,
    /// `User-Agent`: whose feedback loop sent it.
    pub user_agent: Option<String>,
    /// Where a VERP token may be: `Original-Mail-From`, and the original
    /// message's `Return-Path`.
    pub hints: Vec<String>,
    /// The original message's `List-Unsubscribe` value, if included.
    pub list_unsubscribe: Option<String>,
}

impl Feedback {
    /// Whether this is a recipient's complaint.
    pub fn is_complaint(&self) -> bool {
        COMPLAINT_TYPES.contains(&self.feedback_type.as_str())
    }

    /// The reason kept with the unsubscribe.
    pub fn reason(&self) -> String {
        match &self.user_agent {
            Some(agent) => format!(
                "marked as spam ({} report from {})",
                self.feedback_type,
                fields::one_line(agent, 80)
            ),
            None => format!("marked as spam ({} report)", self.feedback_type),
        }
    }
}

/// The feedback report in `message`, if it is one.
pub fn report(message: &Message<'_>) -> Option<Feedback> {
    let part = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("feedback-report"))
        })
    })?;
    let text = String::from_utf8_lossy(part.contents());
    let block = fields::blocks(&text).into_iter().next().unwrap_or_default();
    let feedback_type = fields::get(&block, "feedback-type")
        .unwrap_or("abuse")
        .split_whitespace()
        .next()
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let mut hints: Vec<String> = ["original-mail-from", "original-rcpt-to"]
        .iter()
        .filter_map(|f| fields::get(&block, f).map(str::to_owned))
        .collect();
    let mut list_unsubscribe = None;
    if let Some(original) = original_headers(message) {
        for name in ["Return-Path", "Sender", "Errors-To"] {
            if let Some(v) = original.header_raw(name) {
                hints.push(v.trim().to_owned());
            }
        }
        list_unsubscribe = original
            .header_raw("List-Unsubscribe")
            .map(|v| v.trim().to_owned());
    }
    Some(Feedback {
        feedback_type,
        user_agent: fields::get(&block, "user-agent").map(str::to_owned),
        hints,
        list_unsubscribe,
    })
}

/// The reported message's headers: a `message/rfc822` part, or a
/// `text/rfc822-headers` one parsed here.
fn original_headers<'a>(message: &'a Message<'a>) -> Option<Message<'a>> {
    for part in &message.parts {
        if let PartType::Message(original) = &part.body {
            return MessageParser::default().parse_headers(original.raw_message());
        }
        let headers_only = part.content_type().is_some_and(|ct| {
            ct.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
        });
        if headers_only {
            return MessageParser::default().parse_headers(part.contents());
        }
    }
    None
}
