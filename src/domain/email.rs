//! `SubscriberEmail`: an address a reader typed into a form, checked once.
//!
//! The rules are deliberately narrower than RFC 5321: no quoted local parts,
//! no comments, no address literals, no non-ASCII local parts (they need
//! SMTPUTF8, which many relays lack). What passes is safe to put in a header
//! and an SMTP envelope as it is. A domain typed in Unicode (`café.example`)
//! is converted to its ASCII (punycode) form; one already in `xn--` form is
//! kept as typed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// RFC 5321 limits: 254 for the whole path (256 minus the angle brackets),
/// 64 for the local part, 63 for a domain label.
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Characters that would need quoting in a local part, or that start header
/// syntax (`<`, `,`, `;`): refused rather than quoted.
const LOCAL_FORBIDDEN: &[char] = &['@', ' ', '<', '>', ',', ';', '"', '(', ')', '\\', '[', ']'];

/// What is wrong with an address, in words a reader can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("empty address")]
    Empty,
    #[error("control character in address")]
    ControlCharacter,
    #[error("address has no @")]
    NoAt,
    #[error("address has nothing before the @")]
    EmptyLocal,
    #[error("local part longer than 64 characters")]
    LocalTooLong,
    #[error("local part contains `{0}`")]
    LocalForbidden(char),
    #[error("local part contains a non-ASCII character")]
    LocalNonAscii,
    #[error("local part starts or ends with a dot")]
    LocalEdgeDot,
    #[error("local part contains two dots in a row")]
    LocalDoubleDot,
    #[error("address has nothing after the @")]
    EmptyDomain,
    #[error("domain `{0}` is not a valid international domain name")]
    BadIdn(String),
    #[error("domain `{0}` has no dot")]
    NoDot(String),
    #[error("domain `{domain}` has an empty label")]
    EmptyLabel { domain: String },
    #[error("domain `{domain}` has a label longer than 63 characters")]
    LabelTooLong { domain: String },
    #[error("domain `{domain}` contains `{ch}`: only letters, digits, `-` and dots are allowed")]
    DomainCharacter { domain: String, ch: char },
    #[error("domain `{domain}` has a label starting or ending with `-`")]
    LabelHyphen { domain: String },
    #[error("domain `{domain}` ends in a numeric top-level label")]
    NumericTld { domain: String },
    #[error("address longer than 254 characters")]
    TooLong,
}

/// A syntactically acceptable e-mail address: local part as typed, domain
/// in lower-case ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriberEmail(String);

impl SubscriberEmail {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        // Control characters are checked before trimming, so a trailing
        // "\r\n" is refused rather than silently dropped.
        if input.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacter);
        }
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError::NoAt)?;
        check_local(local)?;
        let domain = normalize_domain(domain)?;
        let address = format!("{local}@{domain}");
        if address.len() > MAX_ADDRESS {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The local part, as typed.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }

    /// The domain, lower-case ASCII.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn check_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocal);
    }
    if let Some(c) = local.chars().find(|c| LOCAL_FORBIDDEN.contains(c)) {
        return Err(EmailError::LocalForbidden(c));
    }
    if !local.is_ascii() {
        return Err(EmailError::LocalNonAscii);
    }
    if local.len() > MAX_LOCAL {
        return Err(EmailError::LocalTooLong);
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err(EmailError::LocalEdgeDot);
    }
    if local.contains("..") {
        return Err(EmailError::LocalDoubleDot);
    }
    Ok(())
}

fn normalize_domain(domain: &str) -> Result<String, EmailError> {
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    let domain = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        // UTS #46 processing (lower-casing, punycode) through the `url`
        // crate's host parser, which wraps `idna`.
        match url::Host::parse(domain) {
            Ok(url::Host::Domain(d)) => d,
            _ => return Err(EmailError::BadIdn(domain.to_owned())),
        }
    };
    if !domain.contains('.') {
        return Err(EmailError::NoDot(domain));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(EmailError::EmptyLabel { domain });
        }
        if label.len() > MAX_LABEL {
            return Err(EmailError::LabelTooLong { domain });
        }
        if let Some(ch) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(EmailError::DomainCharacter { domain, ch });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::LabelHyphen { domain });
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(EmailError::NumericTld { domain });
    }
    Ok(domain)
}

impl fmt::Display for SubscriberEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SubscriberEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for SubscriberEmail {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SubscriberEmail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SubscriberEmail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("`{text}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses() {
        let cases = [
            ("reader@dewline.example", "reader@dewline.example"),
            ("  reader@dewline.example  ", "reader@dewline.example"),
            ("Reader.Name@Dewline.Example", "Reader.Name@dewline.example"),
            (
                "a+skincare@mail.dewline.example",
                "a+skincare@mail.dewline.example",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("x@a-b.co.uk", "x@a-b.co.uk"),
            ("x@xn--caf-dma.example", "x@xn--caf-dma.example"),
            ("x@café.example", "x@xn--caf-dma.example"),
            ("x@CAFÉ.example", "x@xn--caf-dma.example"),
            ("x@1.2.3.com", "x@1.2.3.com"),
            ("x@123.example", "x@123.example"),
        ];
        for (input, want) in cases {
            let email = SubscriberEmail::parse(input)
                .unwrap_or_else(|e| panic!("{input:?} was refused: {e}"));
            assert_eq!(email.as_str(), want, "{input:?}");
        }
    }

    #[test]
    fn bad_addresses() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_total = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty address"),
            ("   ", "empty address"),
            ("a@b.c\r\nBcc: x@y.z", "control character"),
            ("a@b.c\n", "control character"),
            ("a\t@b.example", "control character"),
            ("a@b.example\0", "control character"),
            ("reader.dewline.example", "no @"),
            ("@dewline.example", "nothing before"),
            ("reader@", "nothing after"),
            ("a@b@dewline.example", "local part contains `@`"),
            ("a b@dewline.example", "local part contains ` `"),
            ("<a@dewline.example>", "local part contains `<`"),
            ("a,b@dewline.example", "local part contains `,`"),
            ("a;b@dewline.example", "local part contains `;`"),
            ("\"a\"@dewline.example", "local part contains `\"`"),
            ("a(b)@dewline.example", "local part contains `(`"),
            ("a\\b@dewline.example", "local part contains `\\`"),
            ("[a]@dewline.example", "local part contains `[`"),
            ("rené@dewline.example", "non-ASCII"),
            (".a@dewline.example", "starts or ends with a dot"),
            ("a.@dewline.example", "starts or ends with a dot"),
            ("a..b@dewline.example", "two dots"),
            (&long_local, "longer than 64"),
            ("a@localhost", "domain `localhost` has no dot"),
            ("a@dewline..example", "empty label"),
            ("a@.dewline.example", "empty label"),
            ("a@dewline.example.", "empty label"),
            (&long_label, "longer than 63"),
            ("a@dew_line.example", "contains `_`"),
            ("a@dew line.example", "contains ` `"),
            ("a@dewline.example>", "contains `>`"),
            ("a@-dewline.example", "starting or ending with `-`"),
            ("a@dewline-.example", "starting or ending with `-`"),
            ("a@127.0.0.1", "numeric top-level"),
            ("a@[127.0.0.1]", "contains `[`"),
            (&long_total, "longer than 254"),
        ];
        for (input, want) in cases {
            match SubscriberEmail::parse(input) {
                Ok(e) => panic!("{input:?} was accepted as {e}"),
                Err(e) => assert!(
                    e.to_string().contains(want),
                    "{input:?}: `{e}` does not mention `{want}`"
                ),
            }
        }
    }

    #[test]
    fn parts() {
        let e = SubscriberEmail::parse("Mixed.Case@Dewline.EXAMPLE").unwrap();
        assert_eq!(e.local_part(), "Mixed.Case");
        assert_eq!(e.domain(), "dewline.example");
        assert_eq!(e.to_string(), "Mixed.Case@dewline.example");
    }

    #[test]
    fn serde_round_trip_validates() {
        let e = SubscriberEmail::parse("reader@dewline.example").unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"reader@dewline.example\"");
        let back: SubscriberEmail = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let err = serde_json::from_str::<SubscriberEmail>("\"a@b.c\\r\\nBcc: x@y.z\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("control character"), "{err}");
    }
}
