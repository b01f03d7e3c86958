//! `Mailer`: the configured transport, sender and DKIM key, built once at
//! start-up and shared (cheaply cloned) by the HTTP handlers and the digest
//! sender.

use super::message::{self, OutgoingMail};
use super::shared::{Copy, SharedMessage};
use super::{MailError, PASSWORD_VAR, SendError};
use crate::config::{MailConfig, MailTransportKind, SmtpTls};
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
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
    /// For `Session`s: SMTP connections of their own (the digest workers).
    direct: Option<Direct>,
    /// VERP envelope senders, once the store's key is known
    /// (`bounces::verp::prepare`).
    verp: std::sync::OnceLock<crate::bounces::verp::Verp>,
}

/// Where a `Session` connects, and how.
struct Direct {
    host: String,
    port: u16,
    tls: SmtpTls,
    credentials: Option<Credentials>,
    timeout: std::time::Duration,
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
        let from = config.from.clone();
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
        let direct = matches!(config.transport, MailTransportKind::Smtp).then(|| Direct {
            host: config.smtp.host.clone(),
            port: config.smtp.port,
            tls: config.smtp.tls,
            credentials: config
                .smtp
                .username
                .as_ref()
                .zip(password.as_ref())
                .map(|(u, p)| Credentials::new(u.clone(), p.clone())),
            timeout: config.smtp.timeout,
        });
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
                direct,
                verp: std::sync::OnceLock::new(),
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

    /// Sends every later message about a subscriber from its own VERP
    /// address. Set once; a second call changes nothing.
    pub fn set_verp(&self, verp: crate::bounces::verp::Verp) {
        let _ = self.inner.verp.set(verp);
    }

    /// The VERP addresses in use, once set.
    pub fn verp(&self) -> Option<&crate::bounces::verp::Verp> {
        self.inner.verp.get()
    }

    /// The envelope sender of `mail`: its VERP address when it names a
    /// subscriber and VERP is set up, else None (the `From` address).
    pub fn envelope_from(&self, mail: &OutgoingMail) -> Option<String> {
        Some(self.verp()?.address(mail.bounce?))
    }

    /// The complete, signed message; `.formatted()` gives its bytes.
    pub fn build(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let envelope_from = self.envelope_from(mail);
        message::build(
            &self.inner.from,
            mail,
            self.inner.dkim.as_ref(),
            envelope_from.as_deref(),
        )
    }

    /// One recipient's copy of `shared`, complete and signed.
    pub fn build_copy(
        &self,
        shared: &SharedMessage,
        copy: &Copy<'_>,
    ) -> Result<Message, MailError> {
        let envelope_from = copy
            .bounce
            .and_then(|bounce| Some(self.verp()?.address(bounce)));
        message::build_copy(
            &self.inner.from,
            shared,
            copy,
            self.inner.dkim.as_ref(),
            envelope_from.as_deref(),
        )
    }

    /// Builds and sends one message. A message that cannot be built is a
    /// permanent failure: retrying would build it the same way.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.build(mail).map_err(unbuildable)?;
        self.deliver(message).await?;
        tracing::debug!(message_id = %mail.message_id, "mail handed to transport");
        Ok(())
    }

    /// Hands a built message to the transport (the shared pool for SMTP).
    async fn deliver(&self, message: Message) -> Result<(), SendError> {
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
        Ok(())
    }
}

/// A message that cannot be built: retrying would build it the same way.
fn unbuildable(e: MailError) -> SendError {
    SendError::Invalid {
        reason: e.to_string(),
    }
}

/// One SMTP connection kept open across many messages, for the digest
/// workers (one `Session` each, so `pool_size` workers hold `pool_size`
/// connections). Unlike lettre's pooled transport (0.11), its socket has
/// `TCP_NODELAY` set: lettre writes the message body and the closing
/// `<CRLF>.<CRLF>` as two writes, and with Nagle's algorithm on, the second
/// waits for the server's delayed ACK, 40 ms on Linux, on every message.
/// Implicit TLS (`tls = "tls"`) goes through lettre's own connect, which
/// keeps Nagle on. When the server offers `PIPELINING` (RFC 2920), MAIL,
/// RCPT and DATA go in one write and their replies are read together: two
/// round trips a message instead of four. With the file transport a
/// session simply writes files.
pub struct Session {
    mailer: Mailer,
    conn: Option<Connection>,
}

/// An open SMTP connection and what its server offers that lettre does
/// not record.
struct Connection {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
}

impl Mailer {
    pub fn session(&self) -> Session {
        Session {
            mailer: self.clone(),
            conn: None,
        }
    }
}

impl Session {
    /// Builds and sends one message on this session's connection,
    /// (re)connecting when there is none or it broke. Errors are split as
    /// `Mailer::send` splits them.
    pub async fn send(&mut self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.mailer.build(mail).map_err(unbuildable)?;
        self.send_message(message, &mail.message_id).await
    }

    /// `send` for one recipient's copy of a shared message.
    pub async fn send_copy(
        &mut self,
        shared: &SharedMessage,
        copy: &Copy<'_>,
    ) -> Result<(), SendError> {
        let message = self.mailer.build_copy(shared, copy).map_err(unbuildable)?;
        self.send_message(message, &copy.message_id).await
    }

    async fn send_message(&mut self, message: Message, message_id: &str) -> Result<(), SendError> {
        let Some(direct) = &self.mailer.inner.direct else {
            return self.mailer.deliver(message).await;
        };
        let bytes = message.formatted();
        let conn = &mut self.conn;
        let attempt = async {
            if conn.as_ref().is_none_or(|c| c.smtp.has_broken()) {
                *conn = None;
                *conn = Some(connect(direct).await?);
            }
            match conn.as_mut() {
                Some(c) => transmit(&mut c.smtp, c.pipelining, message.envelope(), &bytes)
                    .await
                    .map_err(classify),
                None => Err(SendError::Transient {
                    reason: "no connection".into(),
                }),
            }
        };
        let result = match tokio::time::timeout(direct.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                Err(SendError::Transient {
                    reason: format!(
                        "no answer from {}:{} within {} s",
                        direct.host,
                        direct.port,
                        direct.timeout.as_secs()
                    ),
                })
            }
        };
        if self.conn.as_ref().is_some_and(|c| c.smtp.has_broken()) {
            self.conn = None;
        }
        if result.is_ok() {
            tracing::debug!(message_id, "mail handed to the SMTP server");
        }
        result
    }

    /// Says QUIT, politely.
    pub async fn close(mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.smtp.quit().await;
        }
    }
}

/// What lettre's `AsyncSmtpConnection::send` does (MAIL, RCPT, DATA, the
/// message), with the message made transparent (RFC 5321 §4.5.2: a line
/// that starts with `.` gets another) a line at a time rather than a byte
/// at a time, and written with its closing `<CRLF>.<CRLF>` in one write;
/// MAIL, RCPT and DATA pipelined when the server allows. Messages or
/// addresses beyond ASCII (which need `8BITMIME` or `SMTPUTF8`) go through
/// lettre's own `send`. On an error the connection is closed, as lettre
/// does.
async fn transmit(
    conn: &mut AsyncSmtpConnection,
    pipelining: bool,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
    let ascii_addresses = envelope.from().is_none_or(ascii) && envelope.to().iter().all(ascii);
    let Some(text) = std::str::from_utf8(message)
        .ok()
        .filter(|t| ascii_addresses && t.is_ascii())
    else {
        return conn.send(envelope, message).await.map(|_| ());
    };
    let data = Raw(transparent(text));
    let result = async {
        if pipelining {
            pipelined_envelope(conn, envelope).await?;
        } else {
            conn.command(Mail::new(envelope.from().cloned(), Vec::new()))
                .await?;
            for to in envelope.to() {
                conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
            }
            conn.command(Data).await?;
        }
        conn.command(&data).await
    }
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            conn.abort().await;
            Err(e)
        }
    }
}

/// MAIL, every RCPT and DATA in one write (RFC 2920), then every reply in
/// order. The first refusal is the error: a 550 to RCPT is a refused
/// address even though DATA then fails too. Once the connection itself
/// fails, nothing more is read.
async fn pipelined_envelope(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
) -> Result<(), lettre::transport::smtp::Error> {
    let mut group = Mail::new(envelope.from().cloned(), Vec::new()).to_string();
    for to in envelope.to() {
        group.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    group.push_str(&Data.to_string());
    // `command` writes the group and reads the first reply, MAIL's.
    let mut first_error = conn.command(Raw(group)).await.err();
    for _ in 0..envelope.to().len() + 1 {
        if first_error.as_ref().is_some_and(|e| !is_reply(e)) {
            break;
        }
        if let Err(e) = conn.read_response().await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// A refusal by the server, as opposed to trouble reaching it.
fn is_reply(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent() || e.is_transient()
}

/// Bytes written as they are: a pipelined group, or a message as DATA
/// carries it, terminator included.
struct Raw(String);

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `text` with a `.` before every line that starts with one, then
/// `<CRLF>.<CRLF>`.
fn transparent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 8);
    // Split at LF (a memchr), but only a line after CRLF starts a line, as
    // lettre reads it.
    let mut after_crlf = true;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if after_crlf && line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        after_crlf = line.ends_with('\r');
    }
    out.push_str("\r\n.\r\n");
    out
}

/// Whether an EHLO reply offers `PIPELINING`.
fn offers_pipelining(ehlo: &lettre::transport::smtp::response::Response) -> bool {
    ehlo.message().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case("PIPELINING"))
    })
}

async fn connect(d: &Direct) -> Result<Connection, SendError> {
    let hello = ClientId::default();
    let tls = || TlsParameters::new(d.host.clone()).map_err(classify);
    let mut conn = match d.tls {
        SmtpTls::Tls => AsyncSmtpConnection::connect_tokio1(
            (d.host.as_str(), d.port),
            Some(d.timeout),
            &hello,
            Some(tls()?),
            None,
        )
        .await
        .map_err(classify)?,
        SmtpTls::StartTls | SmtpTls::None => {
            let tcp = tokio::net::TcpStream::connect((d.host.as_str(), d.port))
                .await
                .map_err(|e| SendError::Transient {
                    reason: format!("connecting to {}:{}: {e}", d.host, d.port),
                })?;
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                .await
                .map_err(classify)?;
            if d.tls == SmtpTls::StartTls {
                conn.starttls(tls()?, &hello).await.map_err(classify)?;
            }
            conn
        }
    };
    // lettre keeps only the extensions it uses from its EHLO: ask again
    // for PIPELINING (once a connection; EHLO changes nothing else).
    let ehlo = conn.command(Ehlo::new(hello)).await.map_err(classify)?;
    let pipelining = offers_pipelining(&ehlo);
    if let Some(credentials) = &d.credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
            .await
            .map_err(classify)?;
    }
    Ok(Connection {
        smtp: conn,
        pipelining,
    })
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

#[cfg(test)]
mod tests {
    #[test]
    fn lines_starting_with_a_dot_get_another_and_the_terminator_follows() {
        assert_eq!(
            super::transparent(".a\r\nb.\r\n.\r\n..c\r\n"),
            "..a\r\nb.\r\n..\r\n...c\r\n\r\n.\r\n"
        );
        assert_eq!(super::transparent("x"), "x\r\n.\r\n");
        // A bare LF starts no line.
        assert_eq!(super::transparent("a\n.b"), "a\n.b\r\n.\r\n");
    }
}
