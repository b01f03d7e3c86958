//! `Mailer`: the configured transport, sender and DKIM key, built once at
//! start-up and shared (cheaply cloned) by the HTTP handlers and the digest
//! sender.

use super::message::{self, OutgoingMail};
use super::{MailError, PASSWORD_VAR, SendError};
use crate::config::{MailConfig, MailTransportKind, SmtpTls};
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::sync::Arc;

/// Sends `OutgoingMail` through the configured transport. Clones share one
/// SMTP connection pool. With the SMTP transport, build and drop it inside a
/// Tokio runtime: the pool runs a background task.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    transport: Transport,
    dkim: Option<DkimConfig>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl fmt::Debug for Mailer {
    // By hand: the SMTP transport holds the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.inner.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File(_) => "file",
        };
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("transport", &transport)
            .field("dkim", &self.inner.dkim.is_some())
            .finish()
    }
}

impl Mailer {
    /// Builds the transport from config; the SMTP password, when
    /// `mail.smtp.username` is set, comes from `FEEDLETTER_SMTP_PASSWORD`.
    pub fn from_config(config: &MailConfig) -> Result<Mailer, MailError> {
        let password = std::env::var(PASSWORD_VAR).ok().filter(|p| !p.is_empty());
        Self::from_config_with_password(config, password)
    }

    /// `from_config` with the password given rather than read from the
    /// environment.
    pub fn from_config_with_password(
        config: &MailConfig,
        password: Option<String>,
    ) -> Result<Mailer, MailError> {
        let from = parse_from(&config.from)?;
        let dkim = match &config.dkim {
            Some(d) => {
                let from_domain = from.email.domain().to_ascii_lowercase();
                let signing = d.domain.to_ascii_lowercase();
                if from_domain != signing && !from_domain.ends_with(&format!(".{signing}")) {
                    // Signing still helps deliverability, but DMARC wants
                    // the signing domain aligned with From.
                    tracing::warn!(
                        from = %from_domain, dkim = %signing,
                        "mail.dkim.domain is not the From domain or a parent of it"
                    );
                }
                Some(message::dkim_config(&d.selector, &d.domain, &d.key_file)?)
            }
            None => None,
        };
        // Last: the SMTP pool starts a task, so build it once nothing else can fail.
        let transport = match config.transport {
            MailTransportKind::Smtp => Transport::Smtp(smtp_transport(config, password)?),
            MailTransportKind::File => {
                std::fs::create_dir_all(&config.outbox_dir).map_err(|source| {
                    MailError::Outbox {
                        path: config.outbox_dir.clone(),
                        source,
                    }
                })?;
                Transport::File(AsyncFileTransport::new(&config.outbox_dir))
            }
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                from,
                transport,
                dkim,
            }),
        })
    }

    /// The `From` mailbox of every message.
    pub fn from_address(&self) -> &Mailbox {
        &self.inner.from
    }

    /// The domain of `From`, for Message-IDs.
    pub fn from_domain(&self) -> &str {
        self.inner.from.email.domain()
    }

    /// A fresh Message-ID on the `From` domain.
    pub fn new_message_id(&self) -> String {
        OutgoingMail::new_message_id(self.from_domain())
    }

    /// The complete, signed message; `.formatted()` gives its bytes.
    pub fn build(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        message::build(&self.inner.from, mail, self.inner.dkim.as_ref())
    }

    /// Builds and sends one message. A message that cannot be built is a
    /// permanent failure: retrying would build it the same way.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.build(mail).map_err(|e| SendError::Permanent {
            reason: e.to_string(),
        })?;
        match &self.inner.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(classify)?;
            }
            Transport::File(file) => {
                file.send(message).await.map_err(|e| SendError::Transient {
                    reason: format!("writing to the outbox: {}", chain(&e)),
                })?;
            }
        };
        tracing::debug!(message_id = %mail.message_id, "mail handed to transport");
        Ok(())
    }
}

/// `Name <address>`, or a bare address. The display name may hold
/// characters RFC 5322 wants quoted (a site title like `The Dewline (test)`):
/// lettre quotes them when writing the header.
fn parse_from(value: &str) -> Result<Mailbox, MailError> {
    let error = |reason: String| MailError::From {
        value: value.to_owned(),
        reason,
    };
    if let Ok(mailbox) = value.parse::<Mailbox>() {
        return Ok(mailbox);
    }
    let trimmed = value.trim();
    let (name, address) = match trimmed.strip_suffix('>').and_then(|s| s.rsplit_once('<')) {
        Some((name, address)) => (name.trim().trim_matches('"').trim(), address.trim()),
        None => ("", trimmed),
    };
    let address: lettre::Address = address.parse().map_err(|e| error(format!("{e}")))?;
    if name.chars().any(char::is_control) {
        return Err(error("control character in the name".into()));
    }
    let name = (!name.is_empty()).then(|| name.to_owned());
    Ok(Mailbox::new(name, address))
}

fn smtp_transport(
    config: &MailConfig,
    password: Option<String>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let smtp = &config.smtp;
    // lettre's pool spawns tasks when built and dropped; without a runtime
    // that would panic.
    tokio::runtime::Handle::try_current().map_err(|_| MailError::NoRuntime)?;
    let tls_error = |e: lettre::transport::smtp::Error| MailError::Smtp {
        host: smtp.host.clone(),
        reason: chain(&e),
    };
    let builder = match smtp.tls {
        SmtpTls::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(tls_error)?
        }
        SmtpTls::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(tls_error)?
        }
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(smtp.timeout))
        .pool_config(PoolConfig::new().max_size(smtp.pool_size));
    if let Some(user) = &smtp.username {
        let password = password.ok_or(MailError::MissingPassword)?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// 5xx replies are final; everything else (4xx, connection refused,
/// timeouts, TLS, broken pipes) may pass on a later try.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let reason = chain(&e);
    if e.is_permanent() {
        SendError::Permanent { reason }
    } else {
        SendError::Transient { reason }
    }
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // lettre's Display already includes its direct source.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
