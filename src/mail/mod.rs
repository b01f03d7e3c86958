//! Outgoing e-mail: building one message (headers, multipart body, DKIM
//! signature), or copies of one body encoded once for many recipients
//! (`shared`), and handing it to the configured transport (SMTP or a folder
//! of `.eml` files). Callers decide retries from `SendError`'s variant.

mod body;
pub mod message;
pub mod shared;
pub mod transport;

pub use message::{ListId, ListUnsubscribe, ListUnsubscribePost, OutgoingMail};
pub use shared::{Copy, SharedMessage};
pub use transport::Mailer;

use std::path::PathBuf;

/// The environment variable holding the SMTP password: never in the file.
pub const PASSWORD_VAR: &str = "FEEDLETTER_SMTP_PASSWORD";

/// Set-up and message-building problems: fixing them needs a person.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail.smtp.username is set but the environment variable {PASSWORD_VAR} is not")]
    MissingPassword,
    #[error("mail.smtp.host `{host}`: {reason}")]
    Smtp { host: String, reason: String },
    #[error("the SMTP connection pool needs a Tokio runtime: build the Mailer inside one")]
    NoRuntime,
    #[error("mail.outbox_dir {}: {source}", .path.display())]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mail.dkim.key_file {}: {reason}", .path.display())]
    DkimKey { path: PathBuf, reason: String },
    #[error("cannot build message: {0}")]
    Invalid(String),
}

/// Why a message was not sent, split by what the caller should do next.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: 4xx replies, connection, timeout, TLS and I/O trouble.
    #[error("temporary failure, will retry: {reason}")]
    Transient { reason: String },
    /// Do not retry this message: a 5xx reply.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
    /// The message cannot be built (a bug or bad config, not the address's
    /// fault): not retried, not counted as a bounce.
    #[error("message cannot be built: {reason}")]
    Invalid { reason: String },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. } | Self::Invalid { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Transient { reason } | Self::Permanent { reason } | Self::Invalid { reason } => {
                reason
            }
        }
    }
}
