//! `digest preview`: one reader's digest as it would be mailed, written to
//! files instead of sent. Editors open the `.eml` in a mail client and the
//! `.html` in a browser; no subscriber and no run is touched.

use super::render::{Audience, RenderError, Renderer};
use super::{DigestError, fire_at, limits, material, period_start};
use crate::config::{Config, DigestConfig, MailTransportKind};
use crate::domain::SubscriberEmail;
use crate::domain::email::EmailError;
use crate::mail::{MailError, Mailer, OutgoingMail};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// Who a preview is made out to when no subscriber is named: a reader with
/// no followed topics, who gets every topic.
const SAMPLE_READER: &str = "reader@example.com";

/// What to preview.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub schedule: &'a DigestConfig,
    /// The moment to compose at: the run is the schedule's last fire time at
    /// or before it.
    pub at: DateTime<Utc>,
    /// A subscriber's address, to see their topics; `None` for the sample
    /// reader.
    pub email: Option<&'a str>,
    /// The folder for the files; `None` for `preview/` in the outbox folder.
    pub out: Option<&'a Path>,
}

/// What a preview came to.
#[derive(Debug, Clone)]
pub enum Preview {
    /// Nothing new for the reader between `since` and `fire`: no digest
    /// would be sent, and no file is written.
    Empty {
        to: SubscriberEmail,
        since: DateTime<Utc>,
        fire: DateTime<Utc>,
    },
    /// The digest's subject and the two files written.
    Written {
        subject: String,
        eml: PathBuf,
        html: PathBuf,
    },
}

/// Why no preview was written. The messages name the command-line option
/// the value came from, since `digest preview` is the one caller.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("--email: no subscriber '{0}'")]
    NoSubscriber(String),
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Mail(#[from] MailError),
    // The I/O error is part of the message rather than its source, so the
    // one-line-per-cause error output does not repeat it.
    #[error("--out {}: {error}", .path.display())]
    OutDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", .path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Composes and renders the reader's digest for the run `request.at` falls
/// in, builds the message as the file transport would (so a preview needs
/// no SMTP password), and writes `digest-<schedule>-<local fire
/// time>.eml` and `.html` to the output folder.
pub async fn write(
    store: &dyn Store,
    config: &Config,
    tera: &tera::Tera,
    request: Request<'_>,
) -> Result<Preview, PreviewError> {
    let schedule = request.schedule;
    let fire = fire_at(schedule, request.at)?;
    let since = period_start(schedule, fire);
    let (to, follows) = reader(store, request.email).await?;
    let material = material(store, config, fire, since).await?;
    let composition = material.compose(&follows, since, limits(schedule));
    if composition.is_empty() {
        return Ok(Preview::Empty { to, since, fire });
    }
    let rendered = Renderer {
        config,
        schedule,
        tera,
        fire,
        run_id: 0,
    }
    .render(&material, &composition, Audience::Preview)?;
    let (html, text) = rendered.personalise("preview");
    let mut mail_config = config.mail.clone();
    mail_config.transport = MailTransportKind::File;
    let mailer = Mailer::from_config(&mail_config)?;
    let message = mailer.build(&OutgoingMail {
        to,
        subject: rendered.subject.clone(),
        text,
        html: html.clone(),
        message_id: mailer.new_message_id(),
        list_unsubscribe: Some(format!("{}/unsubscribe/preview", config.site.base())),
        list_id: None,
        extra_headers: Vec::new(),
        bounce: None,
    })?;

    let out = request
        .out
        .map_or_else(|| config.mail.outbox_dir.join("preview"), Path::to_path_buf);
    std::fs::create_dir_all(&out).map_err(|error| PreviewError::OutDir {
        path: out.clone(),
        error,
    })?;
    let stem = format!(
        "digest-{}-{}",
        schedule.name,
        fire.with_timezone(&schedule.timezone).format("%Y%m%d-%H%M")
    );
    let eml = out.join(format!("{stem}.eml"));
    let page = out.join(format!("{stem}.html"));
    write_file(&eml, &message.formatted())?;
    write_file(&page, html.as_bytes())?;
    Ok(Preview::Written {
        subject: rendered.subject,
        eml,
        html: page,
    })
}

/// The address and followed topics of the subscriber named, or of the
/// sample reader.
async fn reader(
    store: &dyn Store,
    email: Option<&str>,
) -> Result<(SubscriberEmail, Vec<String>), PreviewError> {
    match email {
        Some(e) => {
            let s = store
                .subscriber_by_email(e.trim())
                .await?
                .ok_or_else(|| PreviewError::NoSubscriber(e.to_owned()))?;
            Ok((s.email, s.topics))
        }
        None => Ok((SubscriberEmail::parse(SAMPLE_READER)?, Vec::new())),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PreviewError> {
    std::fs::write(path, bytes).map_err(|error| PreviewError::Write {
        path: path.to_path_buf(),
        error,
    })
}
