//! The daemon's ways in for bounces and complaints (`[bounces]`): the SMTP
//! listener, bound when the daemon is built so that its port is known, and
//! the maildir reader. The webhooks are routes of the HTTP server.

use crate::bounces::{Inbox, listener, maildir};
use crate::config::Config;
use crate::domain::Clock;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(super) struct Inbound {
    inbox: Option<Inbox>,
    listener: Option<TcpListener>,
}

impl Inbound {
    /// Binds `bounces.listen` and reads the VERP key, when `[bounces]`
    /// asks for a listener or a folder.
    pub(super) async fn build(
        config: &Config,
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let b = &config.bounces;
        if b.listen.is_none() && b.maildir.is_none() {
            return Ok(Self {
                inbox: None,
                listener: None,
            });
        }
        let inbox = Inbox::new(store.clone(), config, clock.clone()).await?;
        let listener = match b.listen {
            Some(addr) => Some(listener::bind(addr).await?),
            None => None,
        };
        Ok(Self {
            inbox: Some(inbox),
            listener,
        })
    }

    pub(super) fn addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Starts the listener and the folder reader, until `stop`.
    pub(super) fn start(self, config: &Config, stop: &CancellationToken) -> Vec<JoinHandle<()>> {
        let Some(inbox) = self.inbox else {
            return Vec::new();
        };
        let mut tasks = Vec::new();
        if let Some(l) = self.listener {
            tasks.push(tokio::spawn(listener::serve(
                l,
                inbox.clone(),
                stop.clone(),
            )));
        }
        if let Some(dir) = config.bounces.maildir.clone() {
            tasks.push(tokio::spawn(maildir::read_until_stopped(
                dir,
                inbox,
                stop.clone(),
            )));
        }
        tasks
    }
}
