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

pub struct TestSmtp {
    pub addr: SocketAddr,
    pub messages: Arc<Mutex<Vec<Received>>>,
    rejections: Arc<Mutex<HashMap<String, u16>>>,
}

impl TestSmtp {
    /// Starts a server on 127.0.0.1 and a free port; it runs until the
    /// test process ends.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let rejections = Arc::new(Mutex::new(HashMap::new()));
        let handler = Session {
            messages: Arc::clone(&messages),
            rejections: Arc::clone(&rejections),
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
        Self {
            addr,
            messages,
            rejections,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

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
    messages: Arc<Mutex<Vec<Received>>>,
    rejections: Arc<Mutex<HashMap<String, u16>>>,
    current: Option<Received>,
}

impl Handler for Session {
    fn rcpt(&mut self, to: &str) -> Response {
        let code = self
            .rejections
            .lock()
            .unwrap()
            .get(&to.to_ascii_lowercase())
            .copied();
        match code {
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
            self.messages.lock().unwrap().push(done);
        }
        OK
    }
}
