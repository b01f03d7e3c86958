//! One outgoing message: what callers fill in (`OutgoingMail`), the list
//! headers lettre has no type for, and the lettre `Message` built from them,
//! DKIM-signed last so the signature covers every header we set.

use super::MailError;
use super::shared::{Copy, SharedMessage};
use crate::domain::SubscriberEmail;
use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::{Header, HeaderName, HeaderValue, MessageId};
use lettre::message::{Body, MessageBuilder};
use lettre::message::{Mailbox, MultiPart};
use std::path::Path;

/// The error type of lettre's `Header::parse` (lettre keeps its alias private).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Headers covered by the DKIM signature. Names absent from a message are
/// still listed, which (RFC 6376 §5.4) stops anyone adding them later.
/// Not `Content-Type`: lettre keeps a multipart body's Content-Type with the
/// body, so its signer never sees that header and the signature would not
/// verify (checked against an independent verifier).
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "MIME-Version",
];

/// Headers the builder owns: `extra_headers` may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "DKIM-Signature",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
];

/// Longest URL accepted for `List-Unsubscribe`, so the header line stays
/// under SMTP's 998-character limit (lettre cannot fold inside a URL).
const MAX_URL: usize = 900;

/// A message for one subscriber, before it becomes MIME.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingMail {
    pub to: SubscriberEmail,
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
    /// Without angle brackets: `<random>@<domain of From>`. Keep it the same
    /// across retries of one message so receivers can drop duplicates.
    pub message_id: String,
    /// Full http(s) URL; adds `List-Unsubscribe` and the RFC 8058 one-click
    /// `List-Unsubscribe-Post`.
    pub list_unsubscribe: Option<String>,
    /// For example `The Dewline digest <weekly.dewline.example>`.
    pub list_id: Option<String>,
    pub extra_headers: Vec<(String, String)>,
    /// Whose message this is: with VERP set up, its envelope sender is
    /// that subscriber's VERP address, so a later bounce finds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce: Option<crate::bounces::verp::BounceRef>,
}

impl OutgoingMail {
    /// 128 random bits in hex, `@`, the domain.
    pub fn new_message_id(from_domain: &str) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            bytes = fallback_random();
        }
        format!("{}@{from_domain}", hex::encode(bytes))
    }
}

/// Unique rather than unpredictable: used only if the OS has no randomness.
fn fallback_random() -> [u8; 16] {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// `List-Unsubscribe: <https://...>` (RFC 2369).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(pub String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, BoxError> {
        let url = s
            .trim()
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .ok_or("List-Unsubscribe is not `<URL>`")?;
        Ok(Self(url.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListUnsubscribePost;

impl ListUnsubscribePost {
    pub const VALUE: &'static str = "List-Unsubscribe=One-Click";
}

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(s: &str) -> Result<Self, BoxError> {
        if s.trim() == Self::VALUE {
            Ok(Self)
        } else {
            Err(format!("List-Unsubscribe-Post is not `{}`", Self::VALUE).into())
        }
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), Self::VALUE.to_owned())
    }
}

/// `List-Id: Name <id.domain>` (RFC 2919).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListId(pub String);

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }
    fn parse(s: &str) -> Result<Self, BoxError> {
        Ok(Self(s.trim().to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

fn invalid(msg: impl Into<String>) -> MailError {
    MailError::Invalid(msg.into())
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Templates may leave a line break in a subject; a header cannot hold one.
pub(super) fn one_line_subject(subject: &str) -> String {
    let spaced: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::domain::text::squash_whitespace(&spaced)
}

fn message_id_value(id: &str) -> Result<String, MailError> {
    let bare = id
        .trim()
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id.trim());
    let well_formed = bare
        .split_once('@')
        .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'))
        && bare
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\'));
    if !well_formed {
        return Err(invalid(format!(
            "Message-ID `{}` is not `id@domain` in printable ASCII",
            id.escape_debug()
        )));
    }
    Ok(format!("<{bare}>"))
}

fn unsubscribe_url(raw: &str) -> Result<String, MailError> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| invalid(format!("List-Unsubscribe `{}`: {e}", raw.escape_debug())))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(format!(
            "List-Unsubscribe `{raw}`: one-click unsubscribe needs an http(s) URL"
        )));
    }
    if url.as_str().len() > MAX_URL {
        return Err(invalid(format!(
            "List-Unsubscribe URL longer than {MAX_URL} characters"
        )));
    }
    Ok(url.into())
}

pub(super) fn list_id_value(raw: &str) -> Result<String, MailError> {
    let value = raw.trim();
    let shaped = value.ends_with('>')
        && value
            .rfind('<')
            .is_some_and(|i| value[i + 1..value.len() - 1].contains('.'));
    if has_control(value) || !shaped {
        return Err(invalid(format!(
            "List-Id `{}` is not `Name <id.domain>`",
            raw.escape_debug()
        )));
    }
    Ok(value.to_owned())
}

fn extra_header(name: &str, value: &str) -> Result<HeaderValue, MailError> {
    // RFC 5322 field names: printable ASCII except the colon.
    let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !valid_name {
        return Err(invalid(format!(
            "header name `{}` is not printable ASCII without `:`",
            name.escape_debug()
        )));
    }
    if RESERVED_HEADERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(invalid(format!(
            "header `{name}` is set by the mailer, not by extra_headers"
        )));
    }
    if has_control(value) {
        return Err(invalid(format!(
            "header `{name}` has a control character in its value"
        )));
    }
    let name = HeaderName::new_from_ascii(name.to_owned())
        .map_err(|_| invalid(format!("header name `{name}` is not allowed")))?;
    Ok(HeaderValue::new(name, value.to_owned()))
}

/// The headers of one message, as `build` and `build_copy` fill them in.
struct Head<'a> {
    to: &'a SubscriberEmail,
    /// On one line already.
    subject: String,
    message_id: &'a str,
    list_unsubscribe: Option<&'a str>,
    /// Checked already.
    list_id: Option<String>,
    extra_headers: &'a [(String, String)],
}

/// Every header but the body's, with `envelope_from` as the envelope
/// sender (MAIL FROM) when given.
fn headers(
    from: &Mailbox,
    head: Head<'_>,
    envelope_from: Option<&str>,
) -> Result<MessageBuilder, MailError> {
    let to: lettre::Address = head
        .to
        .as_str()
        .parse()
        .map_err(|e| invalid(format!("recipient `{}`: {e}", head.to)))?;
    let mut builder = Message::builder();
    if let Some(sender) = envelope_from {
        let sender: lettre::Address = sender
            .parse()
            .map_err(|e| invalid(format!("envelope sender `{sender}`: {e}")))?;
        let envelope = lettre::address::Envelope::new(Some(sender), vec![to.clone()])
            .map_err(|e| invalid(format!("envelope: {e}")))?;
        builder = builder.envelope(envelope);
    }
    let mut builder = builder
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(head.subject)
        .header(MessageId::from(message_id_value(head.message_id)?));
    if let Some(url) = head.list_unsubscribe {
        builder = builder
            .header(ListUnsubscribe(unsubscribe_url(url)?))
            .header(ListUnsubscribePost);
    }
    if let Some(id) = head.list_id {
        builder = builder.header(ListId(id));
    }
    for (name, value) in head.extra_headers {
        builder = builder.raw_header(extra_header(name, value)?);
    }
    Ok(builder)
}

/// Builds the complete message, DKIM-signed when `dkim` is given, with
/// `envelope_from` as the envelope sender (MAIL FROM) when given.
pub(crate) fn build(
    from: &Mailbox,
    mail: &OutgoingMail,
    dkim: Option<&DkimConfig>,
    envelope_from: Option<&str>,
) -> Result<Message, MailError> {
    let head = Head {
        to: &mail.to,
        subject: one_line_subject(&mail.subject),
        message_id: &mail.message_id,
        list_unsubscribe: mail.list_unsubscribe.as_deref(),
        list_id: mail.list_id.as_deref().map(list_id_value).transpose()?,
        extra_headers: &mail.extra_headers,
    };
    // `multipart` adds Date (now) and MIME-Version; text first, so clients
    // that cannot show HTML fall back to the written-for-text part.
    let mut message = headers(from, head, envelope_from)?
        .multipart(MultiPart::alternative_plain_html(
            super::body::encode(&mail.text),
            super::body::encode(&mail.html),
        ))
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(dkim) = dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// One recipient's copy of a shared message, complete and DKIM-signed
/// when `dkim` is given: the same headers and wire format as `build`
/// gives, the body encoded once for all copies.
pub(crate) fn build_copy(
    from: &Mailbox,
    shared: &SharedMessage,
    copy: &Copy<'_>,
    dkim: Option<&DkimConfig>,
    envelope_from: Option<&str>,
) -> Result<Message, MailError> {
    let head = Head {
        to: copy.to,
        subject: shared.subject.clone(),
        message_id: &copy.message_id,
        list_unsubscribe: copy.list_unsubscribe.as_deref(),
        list_id: shared.list_id.clone(),
        extra_headers: &[],
    };
    // `body` adds Date (now) and the body's Content-Transfer-Encoding
    // (7bit: the parts inside are 7bit or quoted-printable).
    let mut message = headers(from, head, envelope_from)?
        .header(lettre::message::header::MIME_VERSION_1_0)
        .header(shared.content_type.clone())
        .body(Body::dangerous_pre_encoded(
            shared.body_for(copy.token)?,
            ContentTransferEncoding::SevenBit,
        ))
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(dkim) = dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// Reads a DKIM private key: an RSA key as PKCS#1 PEM, or an Ed25519 key as
/// its base64 32-byte seed, told apart by content.
pub(crate) fn dkim_config(
    selector: &str,
    domain: &str,
    key_file: &Path,
) -> Result<DkimConfig, MailError> {
    let key_error = |reason: String| MailError::DkimKey {
        path: key_file.to_path_buf(),
        reason,
    };
    let text =
        std::fs::read_to_string(key_file).map_err(|e| key_error(format!("cannot read: {e}")))?;
    let key = parse_dkim_key(&text).map_err(key_error)?;
    let headers = SIGNED_HEADERS
        .iter()
        .map(|h| HeaderName::new_from_ascii((*h).to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| key_error("invalid signed header name".into()))?;
    // Relaxed headers survive relays that refold or recase them.
    let canonicalization = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(DkimConfig::new(
        selector.to_owned(),
        domain.to_owned(),
        key,
        headers,
        canonicalization,
    ))
}

fn parse_dkim_key(text: &str) -> Result<DkimSigningKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        return DkimSigningKey::new(text, DkimSigningAlgorithm::Rsa)
            .map_err(|e| format!("not a valid RSA PKCS#1 PEM key: {e}"));
    }
    if text.starts_with("-----BEGIN PRIVATE KEY-----") {
        return Err("a PKCS#8 key: convert an RSA key to PKCS#1 with \
             `openssl rsa -in KEY -traditional`, or give an Ed25519 key as its base64 seed \
             (`openssl pkey -in KEY -outform DER | tail -c 32 | base64`)"
            .into());
    }
    if text.starts_with("-----BEGIN") {
        let kind = text.lines().next().unwrap_or_default();
        return Err(format!(
            "unsupported PEM block `{kind}`: expected an RSA PKCS#1 key or a base64 Ed25519 seed"
        ));
    }
    let seed: String = text.split_whitespace().collect();
    DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519).map_err(|e| {
        format!("neither an RSA PKCS#1 PEM key nor a base64 32-byte Ed25519 seed: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes 0..32, base64: a fixed Ed25519 seed.
    const ED25519_SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn from() -> Mailbox {
        "The Dewline <digest@dewline.example>".parse().unwrap()
    }

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: SubscriberEmail::parse("reader@inbox.example").unwrap(),
            subject: "Week 47: ceramides".into(),
            text: "Plain words.\n".into(),
            html: "<p>HTML words.</p>\n".into(),
            message_id: "0123abcd@dewline.example".into(),
            list_unsubscribe: Some("https://dewline.example/unsubscribe/tok123".into()),
            list_id: Some("The Dewline digest <weekly.dewline.example>".into()),
            extra_headers: vec![("X-Feedletter-Digest".into(), "weekly".into())],
            bounce: None,
        }
    }

    fn text(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn message_ids_are_random_hex_at_domain() {
        let a = OutgoingMail::new_message_id("dewline.example");
        let b = OutgoingMail::new_message_id("dewline.example");
        assert_ne!(a, b);
        let (hex_part, domain) = a.split_once('@').unwrap();
        assert_eq!(domain, "dewline.example");
        assert_eq!(hex_part.len(), 32);
        assert!(hex_part.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn headers_are_set() {
        let m = text(&build(&from(), &mail(), None, None).unwrap());
        for line in [
            "From: \"The Dewline\" <digest@dewline.example>\r\n",
            "To: reader@inbox.example\r\n",
            "Subject: Week 47: ceramides\r\n",
            "Message-ID: <0123abcd@dewline.example>\r\n",
            "List-Unsubscribe: <https://dewline.example/unsubscribe/tok123>\r\n",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            "List-Id: The Dewline digest <weekly.dewline.example>\r\n",
            "X-Feedletter-Digest: weekly\r\n",
            "MIME-Version: 1.0\r\n",
        ] {
            assert!(m.contains(line), "missing {line:?} in\n{m}");
        }
        assert!(m.contains("\r\nDate: "));
        let plain = m.find("Content-Type: text/plain").unwrap();
        let html = m.find("Content-Type: text/html").unwrap();
        assert!(plain < html, "text part must come first");
    }

    #[test]
    fn the_envelope_sender_is_the_one_given_or_from() {
        let verp = "bounces+1-2-00ff@dewline.example";
        let m = build(&from(), &mail(), None, Some(verp)).unwrap();
        assert_eq!(
            m.envelope().from().map(ToString::to_string).as_deref(),
            Some(verp)
        );
        assert_eq!(m.envelope().to()[0].to_string(), "reader@inbox.example");
        let text = text(&m);
        assert!(
            text.contains("From: \"The Dewline\" <digest@dewline.example>"),
            "{text}"
        );
        let plain = build(&from(), &mail(), None, None).unwrap();
        assert_eq!(
            plain.envelope().from().map(ToString::to_string).as_deref(),
            Some("digest@dewline.example")
        );
        assert!(build(&from(), &mail(), None, Some("no at sign")).is_err());
    }

    #[test]
    fn list_headers_are_optional() {
        let mut mail = mail();
        mail.list_unsubscribe = None;
        mail.list_id = None;
        let m = text(&build(&from(), &mail, None, None).unwrap());
        assert!(!m.contains("List-"), "{m}");
    }

    #[test]
    fn message_id_brackets_are_tolerated() {
        let mut mail = mail();
        mail.message_id = "<x1@dewline.example>".into();
        let m = text(&build(&from(), &mail, None, None).unwrap());
        assert!(m.contains("Message-ID: <x1@dewline.example>\r\n"), "{m}");
    }

    #[test]
    fn subject_line_breaks_become_spaces() {
        let mut mail = mail();
        mail.subject = "Week 47\r\nBcc: victim@example.com".into();
        let m = text(&build(&from(), &mail, None, None).unwrap());
        assert!(
            m.contains("Subject: Week 47 Bcc: victim@example.com\r\n"),
            "{m}"
        );
        assert!(!m.contains("\r\nBcc:"));
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        type Change = fn(&mut OutgoingMail);
        let cases: Vec<(Change, &str)> = vec![
            (|m| m.message_id = "no-at-sign".into(), "Message-ID"),
            (|m| m.message_id = "a b@c".into(), "Message-ID"),
            (|m| m.message_id = "a@b\r\nX: y".into(), "Message-ID"),
            (
                |m| m.list_unsubscribe = Some("mailto:u@dewline.example".into()),
                "http(s)",
            ),
            (
                |m| m.list_unsubscribe = Some("not a url".into()),
                "List-Unsubscribe",
            ),
            (|m| m.list_id = Some("no brackets".into()), "List-Id"),
            (
                |m| m.extra_headers = vec![("X-A".into(), "v\r\nBcc: x@y.z".into())],
                "control character",
            ),
            (
                |m| m.extra_headers = vec![("X A".into(), "v".into())],
                "header name",
            ),
            (
                |m| m.extra_headers = vec![("bcc".into(), "x@y.z".into())],
                "set by the mailer",
            ),
        ];
        for (change, want) in cases {
            let mut m = mail();
            change(&mut m);
            let err = build(&from(), &m, None, None).unwrap_err().to_string();
            assert!(err.contains(want), "{m:?}: `{err}` lacks `{want}`");
        }
    }

    #[test]
    fn dkim_key_kinds_are_detected() {
        assert!(parse_dkim_key(ED25519_SEED).is_ok());
        assert!(parse_dkim_key(&format!("\n{ED25519_SEED}\n")).is_ok());
        let e = parse_dkim_key("-----BEGIN PRIVATE KEY-----\nMC4CAQ==\n-----END PRIVATE KEY-----")
            .unwrap_err();
        assert!(e.contains("PKCS#8"), "{e}");
        let e =
            parse_dkim_key("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----")
                .unwrap_err();
        assert!(e.contains("RSA"), "{e}");
        let e = parse_dkim_key("AAEC").unwrap_err();
        assert!(e.contains("Ed25519"), "{e}");
    }

    #[test]
    fn dkim_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dkim.key");
        std::fs::write(&path, "garbage").unwrap();
        let e = dkim_config("s1", "dewline.example", &path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dkim.key") && e.contains("mail.dkim.key_file"),
            "{e}"
        );
        let missing = dir.path().join("absent.key");
        let e = dkim_config("s1", "dewline.example", &missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.key"), "{e}");
    }

    #[test]
    fn dkim_signature_covers_list_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dkim.key");
        std::fs::write(&path, ED25519_SEED).unwrap();
        let dkim = dkim_config("s1", "dewline.example", &path).unwrap();
        // Unfold continuation lines so each header is one line.
        let m = text(&build(&from(), &mail(), Some(&dkim), None).unwrap()).replace("\r\n ", " ");
        let sig = m
            .split("\r\n")
            .find(|l| l.starts_with("DKIM-Signature:"))
            .unwrap_or_else(|| panic!("no DKIM-Signature in\n{m}"));
        assert!(sig.contains("a=ed25519-sha256"), "{sig}");
        assert!(sig.contains("d=dewline.example"), "{sig}");
        assert!(sig.contains("s=s1"), "{sig}");
    }
}
