//! `[mail]`, `[mail.smtp]`, `[mail.dkim]`: the sender, the transport and
//! the signing key. `mail.from` is parsed here, once, into the mailbox every
//! message is sent from.

use super::duration::parse_duration;
use super::problems::{Choice, Problems};
use super::resolve;
use super::site::SiteConfig;
use lettre::message::Mailbox;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// One `.eml` file a message in `mail.outbox_dir`.
    #[default]
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    StartTls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `mail.from`, or `<site.title> <digest@<site.base_url's host>>`.
    pub from: Mailbox,
    pub transport: MailTransportKind,
    pub outbox_dir: PathBuf,
    pub rate_per_second: u32,
    pub postal_address: String,
    pub smtp: SmtpConfig,
    pub dkim: Option<DkimConfig>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub pool_size: u32,
    pub timeout: Duration,
}

/// Read straight from the file (every key required); `key_file` is made
/// absolute when the section is built.
#[derive(Debug, Clone, Deserialize)]
pub struct DkimConfig {
    pub selector: String,
    pub domain: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawMail {
    from: Option<String>,
    transport: Choice<MailTransportKind>,
    outbox_dir: String,
    rate_per_second: u32,
    postal_address: String,
    smtp: RawSmtp,
    dkim: Option<DkimConfig>,
}

impl Default for RawMail {
    fn default() -> Self {
        Self {
            from: None,
            transport: Choice::Known(MailTransportKind::default()),
            outbox_dir: "outbox".into(),
            rate_per_second: 50,
            postal_address: String::new(),
            smtp: RawSmtp::default(),
            dkim: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSmtp {
    host: String,
    port: u16,
    tls: Choice<SmtpTls>,
    username: Option<String>,
    pool_size: u32,
    timeout: String,
}

impl Default for RawSmtp {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            tls: Choice::Known(SmtpTls::default()),
            username: None,
            pool_size: 4,
            timeout: "30s".into(),
        }
    }
}

impl RawMail {
    /// `site` gives the default sender; without it (a broken `[site]`,
    /// already reported) only an explicit `mail.from` is checked.
    pub(super) fn build(
        self,
        site: Option<&SiteConfig>,
        root: &Path,
        p: &mut Problems,
    ) -> Option<MailConfig> {
        let transport = p.choice("mail.transport", self.transport, |other| {
            format!("unknown transport '{other}' (file, smtp)")
        });
        let from = match self.from {
            Some(text) => Some(text),
            None => site.map(default_from),
        }
        .and_then(|text| p.check("mail.from", parse_mailbox(&text)));
        let smtp = self.smtp.build(p);
        Some(MailConfig {
            from: from?,
            transport: transport?,
            outbox_dir: resolve(root, &self.outbox_dir),
            rate_per_second: self.rate_per_second,
            postal_address: self.postal_address,
            smtp: smtp?,
            dkim: self.dkim.map(|d| DkimConfig {
                key_file: resolve(root, &d.key_file),
                ..d
            }),
        })
    }

    /// `mail.smtp.timeout`, if it reads as a duration; `build` reports it
    /// when it does not.
    pub(super) fn smtp_timeout(&self) -> Option<Duration> {
        parse_duration(&self.smtp.timeout).ok()
    }
}

impl RawSmtp {
    fn build(self, p: &mut Problems) -> Option<SmtpConfig> {
        let tls = p.choice("mail.smtp.tls", self.tls, |other| {
            format!("'{other}' is not one of starttls, tls, none")
        });
        if self.pool_size == 0 {
            p.push("mail.smtp.pool_size", "must be at least 1");
        }
        let timeout = p.duration("mail.smtp.timeout", &self.timeout);
        Some(SmtpConfig {
            host: self.host,
            port: self.port,
            tls: tls?,
            username: self.username,
            pool_size: self.pool_size,
            timeout: timeout?,
        })
    }
}

/// The site's name at `digest@` its host.
fn default_from(site: &SiteConfig) -> String {
    let host = site.base_url.host_str().unwrap_or("localhost");
    format!("{} <digest@{host}>", site.title)
}

/// `Name <address>` or a bare address. Strictly as RFC 5322 first; failing
/// that, a display name with characters RFC 5322 wants quoted (a site title
/// such as `The Dewline (test)`) is taken as it stands: lettre quotes it when
/// writing the header.
fn parse_mailbox(value: &str) -> Result<Mailbox, String> {
    let error = |reason: String| {
        format!("`{value}` is not a mailbox like `The Dewline <digest@dewline.example>`: {reason}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_strict_and_lenient() {
        let m = parse_mailbox("The Dewline <digest@dewline.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("The Dewline"));
        assert_eq!(m.email.domain(), "dewline.example");
        let m = parse_mailbox("The Dewline (test) <digest@dewline.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("The Dewline (test)"));
        let m = parse_mailbox("digest@dewline.example").unwrap();
        assert_eq!(m.name, None);
        let e = parse_mailbox("The Dewline <nobody>").unwrap_err();
        assert!(
            e.starts_with("`The Dewline <nobody>` is not a mailbox"),
            "{e}"
        );
        assert!(parse_mailbox("The\u{7}Dewline <d@x.example>").is_err());
    }
}
