//! `[bounces]`: where bounces and complaints that come back after a
//! message was accepted are read (an SMTP listener, a maildir folder, the
//! providers' webhooks), the VERP envelope sender they come back to, and
//! how soft bounces count. The webhooks' secrets come from the environment
//! only.

use super::problems::Problems;
use super::resolve;
use base64::Engine as _;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The shared secret of the `ses`, `postmark` and (unsigned) `sendgrid`
/// webhooks: the password of HTTP basic auth, or `?secret=` in the URL.
pub const WEBHOOK_SECRET_VAR: &str = "FEEDLETTER_WEBHOOK_SECRET";
/// Mailgun's HTTP webhook signing key.
pub const MAILGUN_KEY_VAR: &str = "FEEDLETTER_MAILGUN_SIGNING_KEY";

#[derive(Clone)]
pub struct BouncesConfig {
    /// `bounces.listen`: an SMTP listener in the daemon for DSN and ARF
    /// messages (the relay's bounces, forwarded).
    pub listen: Option<SocketAddr>,
    /// `bounces.maildir`: a maildir folder whose `new/` is read.
    pub maildir: Option<PathBuf>,
    /// `bounces.return_path`: the envelope sender's base address; each
    /// message goes out from `<local>+<token>@<domain>`. Default:
    /// `bounces@<domain of mail.from>`.
    pub return_path: Option<lettre::Address>,
    /// `bounces.verp`: false sends every message from the plain
    /// `return_path` (or `mail.from`), as before.
    pub verp: bool,
    /// `bounces.soft_limit`: soft bounces an address may have before each
    /// further one counts as a hard bounce.
    pub soft_limit: u32,
    /// `bounces.sendgrid_public_key`: the Signed Event Webhook's
    /// verification key (base64 DER), when SendGrid signs its events.
    pub sendgrid_public_key: Option<Vec<u8>>,
    /// `$FEEDLETTER_WEBHOOK_SECRET`.
    pub webhook_secret: Option<String>,
    /// `$FEEDLETTER_MAILGUN_SIGNING_KEY`.
    pub mailgun_signing_key: Option<String>,
}

impl Default for BouncesConfig {
    fn default() -> Self {
        Self {
            listen: None,
            maildir: None,
            return_path: None,
            verp: true,
            soft_limit: 3,
            sendgrid_public_key: None,
            webhook_secret: None,
            mailgun_signing_key: None,
        }
    }
}

impl fmt::Debug for BouncesConfig {
    // By hand: the secrets stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BouncesConfig")
            .field("listen", &self.listen)
            .field("maildir", &self.maildir)
            .field("return_path", &self.return_path)
            .field("verp", &self.verp)
            .field("soft_limit", &self.soft_limit)
            .field("sendgrid_public_key", &self.sendgrid_public_key.is_some())
            .field("webhook_secret", &self.webhook_secret.is_some())
            .field("mailgun_signing_key", &self.mailgun_signing_key.is_some())
            .finish()
    }
}

impl BouncesConfig {
    /// Reads the webhooks' secrets from the environment.
    pub(super) fn with_secrets(mut self, env: &[(String, String)]) -> Self {
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        self.webhook_secret = var(WEBHOOK_SECRET_VAR);
        self.mailgun_signing_key = var(MAILGUN_KEY_VAR);
        self
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawBounces {
    listen: Option<String>,
    maildir: Option<String>,
    return_path: Option<String>,
    verp: bool,
    soft_limit: u32,
    sendgrid_public_key: Option<String>,
}

impl Default for RawBounces {
    fn default() -> Self {
        let d = BouncesConfig::default();
        Self {
            listen: None,
            maildir: None,
            return_path: None,
            verp: d.verp,
            soft_limit: d.soft_limit,
            sendgrid_public_key: None,
        }
    }
}

impl RawBounces {
    pub(super) fn build(self, root: &Path, p: &mut Problems) -> Option<BouncesConfig> {
        let listen = match &self.listen {
            Some(text) => Some(p.check(
                "bounces.listen",
                text.trim().parse::<SocketAddr>().map_err(|_| {
                    format!("'{text}' is not an address and port such as 127.0.0.1:2525")
                }),
            )?),
            None => None,
        };
        let return_path = match &self.return_path {
            Some(text) => Some(
                p.check(
                    "bounces.return_path",
                    text.trim()
                        .parse::<lettre::Address>()
                        .map_err(|e| format!("'{text}' is not an e-mail address: {e}")),
                )?,
            ),
            None => None,
        };
        if let Some(address) = &return_path
            && address.user().contains('+')
        {
            p.push(
                "bounces.return_path",
                format!("'{address}' already has a '+': give the base address, the token is added"),
            );
            return None;
        }
        let sendgrid_public_key = match &self.sendgrid_public_key {
            Some(text) => Some(p.check("bounces.sendgrid_public_key", sendgrid_key(text))?),
            None => None,
        };
        Some(BouncesConfig {
            listen,
            maildir: self
                .maildir
                .filter(|m| !m.trim().is_empty())
                .map(|m| resolve(root, m.trim())),
            return_path,
            verp: self.verp,
            soft_limit: self.soft_limit,
            sendgrid_public_key,
            webhook_secret: None,
            mailgun_signing_key: None,
        })
    }
}

/// SendGrid shows its verification key as base64 DER, with or without PEM
/// armour: a P-256 public key.
fn sendgrid_key(text: &str) -> Result<Vec<u8>, String> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.split_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("not base64: {e}"))?;
    crate::bounces::webhook_auth::p256_point(&der)
        .map(|_| der.clone())
        .ok_or_else(|| "not an ECDSA P-256 public key (base64 DER, as SendGrid shows it)".into())
}
