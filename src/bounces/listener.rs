//! `[bounces] listen`: a small SMTP receiver in the daemon (RFC 5321, no
//! relaying, no TLS: it is meant for the local relay, which forwards the
//! bounce address to it). Every message is read as a report and answered
//! only once it is recorded: 250 when done (also when it was not a report
//! of ours: there is nothing to retry), 451 when the store could not
//! record it, so that the relay keeps the message and tries again.

use super::Inbox;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Largest message accepted (reports are small; the original message may
/// be attached).
pub const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// Longest command or text line read.
const MAX_LINE: usize = 64 * 1024;
/// Recipients of one message.
const MAX_RECIPIENTS: usize = 100;
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;
/// A client silent this long is disconnected.
const IDLE: Duration = Duration::from_secs(300);

/// Binds `bounces.listen`, naming the key in the error.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("bounces.listen: cannot listen on {addr}: {e}"))
}

/// Serves until `stop` is cancelled; sessions in progress are told the
/// service is closing at their next command.
pub async fn serve(listener: TcpListener, inbox: Inbox, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(address = %addr, "bounce listener ready");
    }
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let inbox = inbox.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    session(stream, peer, &inbox, &stop).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "bounce listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn session(stream: TcpStream, peer: SocketAddr, inbox: &Inbox, stop: &CancellationToken) {
    let (read, write) = stream.into_split();
    let mut s = Session {
        reader: BufReader::new(read),
        writer: write,
        inbox,
        stop,
    };
    if let Err(e) = s.run().await {
        tracing::debug!(%peer, error = %e, "bounce listener: session ended");
    }
}

struct Session<'a, R, W> {
    reader: BufReader<R>,
    writer: W,
    inbox: &'a Inbox,
    stop: &'a CancellationToken,
}

/// What the client has said of the message so far.
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

/// A line as read: complete, too long (drained), or the end.
enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Session<'_, R, W> {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    async fn line(&mut self) -> std::io::Result<Line> {
        let mut buf = Vec::new();
        let read = tokio::select! {
            () = self.stop.cancelled() => return Ok(Line::Closed),
            r = tokio::time::timeout(IDLE, read_line(&mut self.reader, &mut buf)) => r,
        };
        match read {
            Err(_) => Ok(Line::Closed),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) => Ok(Line::Closed),
            Ok(Ok(Some(false))) => Ok(Line::TooLong),
            Ok(Ok(Some(true))) => Ok(Line::Text(buf)),
        }
    }

    async fn run(&mut self) -> std::io::Result<()> {
        self.reply("220 feedletter bounce receiver ESMTP").await?;
        let mut envelope = Envelope::default();
        loop {
            let line = match self.line().await? {
                Line::Closed => {
                    if self.stop.is_cancelled() {
                        let _ = self.reply("421 4.3.2 shutting down").await;
                    }
                    return Ok(());
                }
                Line::TooLong => {
                    self.reply("500 5.5.2 line too long").await?;
                    continue;
                }
                Line::Text(l) => String::from_utf8_lossy(&l).trim_end().to_owned(),
            };
            let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    envelope = Envelope::default();
                    self.reply(&format!(
                        "250-feedletter\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES"
                    ))
                    .await?;
                }
                "HELO" => {
                    envelope = Envelope::default();
                    self.reply("250 feedletter").await?;
                }
                "MAIL" => match path(arg, "FROM:") {
                    Some(from) => {
                        envelope = Envelope {
                            from: Some(from),
                            to: Vec::new(),
                        };
                        self.reply("250 2.1.0 ok").await?;
                    }
                    None => self.reply("501 5.5.4 syntax: MAIL FROM:<address>").await?,
                },
                "RCPT" => {
                    if envelope.from.is_none() {
                        self.reply("503 5.5.1 MAIL first").await?;
                    } else if envelope.to.len() >= MAX_RECIPIENTS {
                        self.reply("452 4.5.3 too many recipients").await?;
                    } else if let Some(to) = path(arg, "TO:").filter(|t| is_mailbox(t)) {
                        envelope.to.push(to);
                        self.reply("250 2.1.5 ok").await?;
                    } else {
                        self.reply("501 5.5.4 syntax: RCPT TO:<address>").await?;
                    }
                }
                "DATA" => {
                    if envelope.to.is_empty() {
                        self.reply("503 5.5.1 RCPT first").await?;
                        continue;
                    }
                    self.reply("354 end with <CRLF>.<CRLF>").await?;
                    let Some(data) = self.data().await? else {
                        return Ok(());
                    };
                    let answer = match data {
                        Data::TooBig => "552 5.3.4 message too big".to_owned(),
                        Data::Message(bytes) => self.deliver(&bytes, &envelope.to).await,
                    };
                    envelope = Envelope::default();
                    self.reply(&answer).await?;
                }
                "RSET" => {
                    envelope = Envelope::default();
                    self.reply("250 2.0.0 ok").await?;
                }
                "NOOP" => self.reply("250 2.0.0 ok").await?,
                "VRFY" => self.reply("252 2.5.0 cannot verify").await?,
                "QUIT" => {
                    self.reply("221 2.0.0 bye").await?;
                    return Ok(());
                }
                _ => self.reply("502 5.5.1 command not implemented").await?,
            }
        }
    }

    /// The message after DATA, dot-unstuffed; None if the client went away.
    async fn data(&mut self) -> std::io::Result<Option<Data>> {
        let mut out = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.line().await? {
                Line::Closed => return Ok(None),
                // Longer than SMTP allows: kept whole would need no limit.
                Line::TooLong => {
                    too_big = true;
                    continue;
                }
                Line::Text(l) => l,
            };
            let body = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            if body == b"." {
                break;
            }
            let body = body.strip_prefix(b".").unwrap_or(body);
            if out.len() + body.len() + 2 > MAX_MESSAGE {
                too_big = true;
            }
            if !too_big {
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
        }
        Ok(Some(if too_big {
            Data::TooBig
        } else {
            Data::Message(out)
        }))
    }

    /// Records the message; the reply says whether the relay may forget it.
    async fn deliver(&self, bytes: &[u8], recipients: &[String]) -> String {
        match self.inbox.receive(bytes, recipients, "smtp").await {
            Ok(super::Outcome::Ignored(why)) => {
                tracing::info!(recipients = ?recipients, %why, "inbound message not acted on");
                "250 2.0.0 received (not a report of ours)".to_owned()
            }
            Ok(super::Outcome::Recorded { .. }) => "250 2.0.0 report recorded".to_owned(),
            Err(e) => {
                tracing::error!(error = %e, "bounce report not recorded; the sender will retry");
                "451 4.3.0 cannot record the report now; try again later".to_owned()
            }
        }
    }
}

enum Data {
    Message(Vec<u8>),
    TooBig,
}

/// Reads one line (with its end) into `buf`: Some(true) when read whole,
/// Some(false) when longer than `MAX_LINE` (the rest is skipped), None at
/// the end of the stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    let mut whole = true;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() { None } else { Some(whole) });
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let n = chunk.len();
        if whole && buf.len() + n <= MAX_LINE {
            buf.extend_from_slice(chunk);
        } else {
            whole = false;
            buf.clear();
        }
        reader.consume(n);
        if done {
            return Ok(Some(whole));
        }
    }
}

/// A recipient: `local@domain`, or the bare `postmaster` (RFC 5321).
fn is_mailbox(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        || address.eq_ignore_ascii_case("postmaster")
}

/// The address of `FROM:<a>` or `TO:<a>` (parameters after it ignored);
/// `<>` is the empty path.
fn path(arg: &str, prefix: &str) -> Option<String> {
    let arg = arg.trim();
    if arg.len() < prefix.len() || !arg[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let address = match rest.strip_prefix('<') {
        Some(inner) => inner.split_once('>')?.0,
        None => rest.split_whitespace().next().unwrap_or(""),
    };
    Some(address.to_owned())
}

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn paths_are_read_with_or_without_brackets_and_parameters() {
        assert_eq!(path("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(
            path("from: <a+b@x.example> SIZE=100", "FROM:").as_deref(),
            Some("a+b@x.example")
        );
        assert_eq!(
            path("TO:a@x.example", "TO:").as_deref(),
            Some("a@x.example")
        );
        assert_eq!(path("TO a@x.example", "TO:"), None);
        assert_eq!(path("TO:<unclosed", "TO:"), None);
    }
}
