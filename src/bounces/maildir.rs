//! `[bounces] maildir`: reports delivered to a maildir folder (by the
//! relay's local delivery, procmail, fetchmail, getmail, ...). Each file in
//! `new/` is read and recorded, then moved to `cur/` with the seen flag, as
//! mail readers do. A file is moved only once its report is recorded (or
//! found not to be one): when the store cannot record it, it stays in
//! `new/` for the next pass, so no report is lost.

use super::{Inbox, Outcome};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often `new/` is read.
pub const EVERY: Duration = Duration::from_secs(10);

/// What one pass over `new/` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Reports recorded against a subscriber (duplicates included).
    pub recorded: u64,
    /// Messages that were not reports of ours.
    pub ignored: u64,
    /// Left in `new/`: they could not be read or recorded.
    pub left: u64,
}

/// Problems with the folder itself.
#[derive(Debug, thiserror::Error)]
#[error("bounces.maildir {}: {source}", .path.display())]
pub struct MaildirError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Reads every message now in `dir/new`.
pub async fn read_once(dir: &Path, inbox: &Inbox) -> Result<Pass, MaildirError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MaildirError { path, source }
    };
    for sub in ["new", "cur", "tmp"] {
        let p = dir.join(sub);
        tokio::fs::create_dir_all(&p).await.map_err(err(&p))?;
    }
    let new = dir.join("new");
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(&new).await.map_err(err(&new))?;
    while let Some(entry) = entries.next_entry().await.map_err(err(&new))? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    // Oldest first: maildir names begin with their delivery time.
    names.sort();
    let mut pass = Pass::default();
    for name in names {
        let path = new.join(&name);
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "bounces.maildir: cannot read; left in new/");
                pass.left += 1;
                continue;
            }
        };
        match inbox.receive(&bytes, &[], "maildir").await {
            Ok(Outcome::Recorded { .. }) => pass.recorded += 1,
            Ok(Outcome::Ignored(why)) => {
                tracing::info!(file = %path.display(), %why, "maildir message not acted on");
                pass.ignored += 1;
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "bounce report not recorded; left in new/ for the next pass");
                pass.left += 1;
                continue;
            }
        }
        let seen = dir.join("cur").join(seen_name(&name));
        if let Err(e) = tokio::fs::rename(&path, &seen).await {
            tracing::warn!(file = %path.display(), error = %e, "bounces.maildir: cannot move to cur/");
        }
    }
    Ok(pass)
}

/// The name a read message has in `cur/`: its info set to seen (`:2,S`),
/// keeping flags it had.
fn seen_name(name: &str) -> String {
    match name.split_once(":2,") {
        Some((base, flags)) if flags.contains('S') => format!("{base}:2,{flags}"),
        Some((base, flags)) => {
            let mut f: Vec<char> = flags.chars().chain(['S']).collect();
            f.sort_unstable();
            format!("{base}:2,{}", f.into_iter().collect::<String>())
        }
        None => format!("{name}:2,S"),
    }
}

/// Reads `dir` every `EVERY` until `stop`.
pub async fn read_until_stopped(dir: PathBuf, inbox: Inbox, stop: CancellationToken) {
    loop {
        match read_once(&dir, &inbox).await {
            Ok(p) if p.recorded + p.ignored + p.left > 0 => {
                tracing::info!(
                    recorded = p.recorded,
                    ignored = p.ignored,
                    left = p.left,
                    "bounces.maildir read"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "bounce folder not read"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::seen_name;

    #[test]
    fn read_messages_get_the_seen_flag() {
        assert_eq!(seen_name("1700.M1P2.host"), "1700.M1P2.host:2,S");
        assert_eq!(seen_name("1700.M1P2.host:2,F"), "1700.M1P2.host:2,FS");
        assert_eq!(seen_name("1700.M1P2.host:2,S"), "1700.M1P2.host:2,S");
    }
}
