//! What a queued transactional mail is: the store keeps it as text in
//! `mail_queue.kind`, the delivery loop counts and logs by it, and it
//! names the mail's templates.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// Asks a pending subscriber to confirm.
    Confirm,
    /// Greets a subscriber who just confirmed.
    Welcome,
    /// Tells an address that subscribed again that it already is.
    Notice,
}

impl MailKind {
    /// The stored text, which is also the name of the mail's templates
    /// (`email/<kind>.html`, `.txt`) and the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Welcome => "welcome",
            Self::Notice => "notice",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "confirm" => Ok(Self::Confirm),
            "welcome" => Ok(Self::Welcome),
            "notice" => Ok(Self::Notice),
            other => Err(format!(
                "mail kind `{other}` is not one of confirm, welcome, notice"
            )),
        }
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::MailKind;

    #[test]
    fn kinds_round_trip_through_their_stored_text() {
        for kind in [MailKind::Confirm, MailKind::Welcome, MailKind::Notice] {
            assert_eq!(MailKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert!(MailKind::parse("digest").is_err());
    }
}
