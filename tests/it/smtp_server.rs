//! A real SMTP server in the test process (mailin-embedded) on a free port.
//! It keeps every accepted message and can refuse chosen recipients with a
//! chosen reply code, so tests see what a relay would do.

use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as the server got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// The message as sent, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("received message parses")
    }
}

/// What both test servers keep: the messages they accepted and the
/// recipients they refuse, shared with their sessions. Each server derefs
/// to it.
#[derive(Clone, Default)]
pub struct Mailbox {
    messages: Arc<Mutex<Vec<Received>>>,
    rejections: Arc<Mutex<HashMap<String, u16>>>,
}

impl Mailbox {
    /// Replies `code` (e.g. 550 or 451) to `RCPT TO:<address>`.
    pub fn reject_rcpt(&self, address: &str, code: u16) {
        self.rejections
            .lock()
            .unwrap()
            .insert(address.to_ascii_lowercase(), code);
    }

    /// Accepts `address` again.
    pub fn accept_rcpt(&self, address: &str) {
        self.rejections
            .lock()
            .unwrap()
            .remove(&address.to_ascii_lowercase());
    }

    /// A copy of what has arrived so far.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// The code `RCPT TO:<to>` is refused with, if it is.
    fn refusal(&self, to: &str) -> Option<u16> {
        self.rejections
            .lock()
            .unwrap()
            .get(&to.to_ascii_lowercase())
            .copied()
    }

    fn keep(&self, message: Received) {
        self.messages.lock().unwrap().push(message);
    }
}

pub struct TestSmtp {
    pub addr: SocketAddr,
    mailbox: Mailbox,
}

impl std::ops::Deref for TestSmtp {
    type Target = Mailbox;
    fn deref(&self) -> &Mailbox {
        &self.mailbox
    }
}

impl TestSmtp {
    /// Starts a server on 127.0.0.1 and a free port; it runs until the
    /// test process ends.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mailbox = Mailbox::default();
        let handler = Session {
            mailbox: mailbox.clone(),
            current: None,
        };
        let mut server = Server::new(handler);
        // Pooled client connections each hold a thread while idle.
        server
            .with_name("smtp.test")
            .with_num_threads(16)
            .with_tcp_listener(listener);
        // The listener is bound already: connections made before the thread
        // runs wait in the backlog.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { addr, mailbox }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits (up to `timeout`) until at least `n` messages have arrived, for
    /// code that sends in the background.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One per connection (mailin clones the prototype for each).
#[derive(Clone)]
struct Session {
    mailbox: Mailbox,
    current: Option<Received>,
}

impl Handler for Session {
    fn rcpt(&mut self, to: &str) -> Response {
        match self.mailbox.refusal(to) {
            Some(code) => Response::custom(code, format!("Refused by the test server: {to}")),
            None => OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            self.mailbox.keep(done);
        }
        OK
    }
}

/// A small SMTP server that offers `PIPELINING` (RFC 2920) and, as the RFC
/// lets a server do, answers MAIL and RCPT only once the group's DATA has
/// come: a client that waits for each reply before sending the next
/// command never gets one, and times out. It keeps what it accepts, as
/// `TestSmtp` does, and counts the command groups it answered.
pub struct PipeliningSmtp {
    pub addr: SocketAddr,
    mailbox: Mailbox,
    groups: Arc<Mutex<usize>>,
}

impl std::ops::Deref for PipeliningSmtp {
    type Target = Mailbox;
    fn deref(&self) -> &Mailbox {
        &self.mailbox
    }
}

impl PipeliningSmtp {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Self {
            addr,
            mailbox: Mailbox::default(),
            groups: Arc::default(),
        };
        let (mailbox, groups) = (server.mailbox.clone(), server.groups.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (mailbox, groups) = (mailbox.clone(), groups.clone());
                std::thread::spawn(move || {
                    let _ = pipelining_session(stream, &mailbox, &groups);
                });
            }
        });
        server
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// MAIL-RCPT-DATA groups answered in one go so far.
    pub fn groups(&self) -> usize {
        *self.groups.lock().unwrap()
    }
}

fn pipelining_session(
    stream: std::net::TcpStream,
    mailbox: &Mailbox,
    groups: &Mutex<usize>,
) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 pipe.test ESMTP\r\n")?;
    // Replies held back until the group's DATA.
    let mut held = String::new();
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let path = |prefix: &str| {
            command[prefix.len()..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        if upper.starts_with("MAIL FROM:") {
            from = path("MAIL FROM:");
            to.clear();
            held.push_str("250 2.1.0 Ok\r\n");
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = path("RCPT TO:");
            match mailbox.refusal(&rcpt) {
                Some(code) => {
                    held.push_str(&format!("{code} Refused by the test server: {rcpt}\r\n"))
                }
                None => {
                    held.push_str("250 2.1.5 Ok\r\n");
                    to.push(rcpt);
                }
            }
        } else if upper == "DATA" {
            let accept = !to.is_empty();
            held.push_str(if accept {
                "354 End data with <CR><LF>.<CR><LF>\r\n"
            } else {
                "554 5.5.1 No valid recipients\r\n"
            });
            out.write_all(std::mem::take(&mut held).as_bytes())?;
            *groups.lock().unwrap() += 1;
            if !accept {
                continue;
            }
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if input.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            mailbox.keep(Received {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            out.write_all(b"250 2.0.0 Ok: queued\r\n")?;
        } else {
            // Anything else ends a group: held replies go first.
            let reply = if upper.starts_with("EHLO") {
                "250-pipe.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
            } else if upper == "QUIT" {
                "221 2.0.0 Bye\r\n"
            } else if upper.starts_with("HELO") || upper == "RSET" || upper == "NOOP" {
                "250 2.0.0 Ok\r\n"
            } else {
                "502 5.5.2 Command not recognized\r\n"
            };
            if upper == "RSET" {
                from.clear();
                to.clear();
            }
            held.push_str(reply);
            out.write_all(std::mem::take(&mut held).as_bytes())?;
            if upper == "QUIT" {
                return Ok(());
            }
        }
    }
}
