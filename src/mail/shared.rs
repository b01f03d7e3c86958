//! One message sent to many recipients who differ only in a token (their
//! personal links): the multipart body is encoded once, with a placeholder
//! where the token goes, and each copy is that body with the recipient's
//! token written over the placeholder, plus the recipient's own headers.
//! Encoding a 44 KB digest again for every subscriber was the largest
//! cost of sending one.

use super::MailError;
use super::body;
use crate::bounces::verp::BounceRef;
use crate::domain::SubscriberEmail;
use lettre::message::MultiPart;
use lettre::message::header::ContentType;

/// A subject and a multipart/alternative body (text, then HTML), encoded
/// once for every recipient.
#[derive(Debug, Clone)]
pub struct SharedMessage {
    pub(super) subject: String,
    /// `Name <id.domain>`, checked.
    pub(super) list_id: Option<String>,
    pub(super) content_type: ContentType,
    /// The encoded body, after the multipart's own Content-Type header.
    body: Vec<u8>,
    placeholder: String,
    /// Where the placeholder starts in `body`.
    slots: Vec<usize>,
}

/// One recipient's copy of a `SharedMessage`.
#[derive(Debug, Clone)]
pub struct Copy<'a> {
    pub to: &'a SubscriberEmail,
    /// Written where the placeholder was: as long as it, and letters,
    /// digits, `-` or `_` only.
    pub token: &'a str,
    /// Without angle brackets, as in `OutgoingMail`.
    pub message_id: String,
    /// Full http(s) URL; adds `List-Unsubscribe` and the RFC 8058 one-click
    /// `List-Unsubscribe-Post`.
    pub list_unsubscribe: Option<String>,
    /// Whose message this is, for the VERP envelope sender.
    pub bounce: Option<BounceRef>,
}

impl SharedMessage {
    /// Encodes `text` and `html` with `placeholder` kept whole wherever it
    /// occurs. The placeholder must be as `Copy::token` describes.
    pub fn new(
        subject: &str,
        text: &str,
        html: &str,
        list_id: Option<&str>,
        placeholder: &str,
    ) -> Result<Self, MailError> {
        if placeholder.is_empty() || !placeholder.bytes().all(token_byte) {
            return Err(MailError::Invalid(format!(
                "placeholder `{}` is not letters, digits, `-` and `_`",
                placeholder.escape_debug()
            )));
        }
        let list_id = list_id.map(super::message::list_id_value).transpose()?;
        let multipart = MultiPart::alternative_plain_html(
            body::encode_keeping(text, placeholder),
            body::encode_keeping(html, placeholder),
        );
        let content_type = multipart
            .headers()
            .get::<ContentType>()
            .ok_or_else(|| MailError::Invalid("multipart without a Content-Type".into()))?;
        // `formatted` is the multipart's own header, a blank line, the body.
        let formatted = multipart.formatted();
        let start = find(&formatted, b"\r\n\r\n", 0)
            .map(|at| at + 4)
            .ok_or_else(|| MailError::Invalid("multipart without a blank line".into()))?;
        let body = formatted[start..].to_vec();
        let mut slots = Vec::new();
        let mut from = 0;
        while let Some(at) = find(&body, placeholder.as_bytes(), from) {
            slots.push(at);
            from = at + placeholder.len();
        }
        Ok(Self {
            subject: super::message::one_line_subject(subject),
            list_id,
            content_type,
            body,
            placeholder: placeholder.to_owned(),
            slots,
        })
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The encoded body with `token` in every place of the placeholder.
    pub fn body_for(&self, token: &str) -> Result<Vec<u8>, MailError> {
        if token.len() != self.placeholder.len() || !token.bytes().all(token_byte) {
            return Err(MailError::Invalid(format!(
                "a token of {} characters does not fit a placeholder of {}, or is not letters, digits, `-` and `_`",
                token.len(),
                self.placeholder.len()
            )));
        }
        let mut out = self.body.clone();
        for &at in &self.slots {
            out[at..at + token.len()].copy_from_slice(token.as_bytes());
        }
        Ok(out)
    }

    /// Bytes held: what a cache of shared messages counts.
    pub fn size(&self) -> usize {
        self.body.len() + self.subject.len() + self.slots.len() * 8
    }
}

/// Neither quoted-printable nor dot-stuffing touches these.
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The first `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let next = haystack[at..].iter().position(|&b| b == first)? + at;
        if haystack.get(next..next + needle.len()) == Some(needle) {
            return Some(next);
        }
        at = next + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACEHOLDER: &str = "ffffeeeeddddccccbbbbaaaa99998888ffffeeeeddddccccbbbbaaaa9999zzzz";

    #[test]
    fn each_copy_has_its_token_where_the_placeholder_was_and_nothing_else_differs() {
        let text = format!("Caf\u{e9} news.\nUnsubscribe: https://d.example/u/{PLACEHOLDER}\n");
        let html = format!(
            "<p style=\"color: red\">{}</p><a href=\"https://d.example/u/{PLACEHOLDER}\">stop</a>\n",
            "Ni\u{f1}o ".repeat(40)
        );
        let shared = SharedMessage::new("Week 47", &text, &html, None, PLACEHOLDER).unwrap();
        assert_eq!(shared.slots.len(), 2);
        let a = shared.body_for(&"a".repeat(64)).unwrap();
        let b = shared.body_for(&"b".repeat(64)).unwrap();
        assert_eq!(a.len(), b.len());
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(differ, 128, "only the two tokens differ");
        assert!(!String::from_utf8_lossy(&a).contains(PLACEHOLDER));
    }

    #[test]
    fn a_token_that_does_not_fit_is_refused() {
        let shared = SharedMessage::new("s", PLACEHOLDER, PLACEHOLDER, None, PLACEHOLDER).unwrap();
        for bad in ["short", &"a=".repeat(32), &"\u{e9}".repeat(32)] {
            let e = shared.body_for(bad).unwrap_err().to_string();
            assert!(e.contains("does not fit"), "{bad}: {e}");
        }
        assert!(SharedMessage::new("s", "t", "h", None, "a b").is_err());
        let e = SharedMessage::new("s", "t", "h", Some("no brackets"), PLACEHOLDER)
            .unwrap_err()
            .to_string();
        assert!(e.contains("List-Id"), "{e}");
    }
}
