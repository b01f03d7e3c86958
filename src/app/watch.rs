//! The content folder, watched: a saved, renamed or deleted article wakes
//! the ingest job as soon as the folder has been quiet for
//! `content.debounce`, instead of waiting for `[schedule].ingest`.
//!
//! An event wakes the job and names the file: the run looks at the files
//! named since the last run (`Scan::Paths`), the rest as the last scan
//! listed them, and reads only those whose stamp changed, so a burst of
//! saves is one run. A folder created, moved or removed, or events lost,
//! make the next run list the whole folder, as the cron tick's runs always
//! do: a lost event costs nothing once any later full scan happens. The
//! cron tick stays as the fallback: when the watcher
//! cannot start (no inotify, its limits reached), it is logged once and the
//! tick alone ingests. When the kernel's event queue overflows (or the
//! watcher reports an error), events were lost: the job runs at once.
//!
//! Editors' companions (`.#x.md`, `x.md~`, `.x.md.swp`, hidden folders) and
//! reads (ingest's own opens) wake nothing.

use super::ingest_job::{IngestJob, Trigger};
use crate::ingest::{Scan, is_article_name, is_content_folder_name};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// However long changes keep coming, a run starts this long after the
/// first of them (or after the debounce, if that is longer).
const MAX_WAIT: Duration = Duration::from_secs(1);

/// What the watcher's thread tells the loop that wakes the job.
#[derive(Debug)]
pub(super) struct Changes {
    root: PathBuf,
    wake: Notify,
    /// Events were lost since the last run: run at once.
    lost: AtomicBool,
    /// The article files changed since the last run took them; None when
    /// the next run must list the whole folder (at start, after lost
    /// events, after a folder changed).
    paths: Mutex<Option<BTreeSet<PathBuf>>>,
}

impl Changes {
    /// `root` relative to the working folder is made absolute, as the
    /// watcher reports paths.
    pub(super) fn new(root: PathBuf) -> Self {
        let root = match std::env::current_dir() {
            Ok(cwd) if root.is_relative() => cwd.join(root),
            _ => root,
        };
        Self {
            root,
            wake: Notify::new(),
            lost: AtomicBool::new(false),
            paths: Mutex::new(None),
        }
    }

    /// What the next run scans: the files changed since the last call, or
    /// the whole folder. Taken before the run looks at any file, so a
    /// change made while it runs is in the next one's.
    pub(super) fn take(&self) -> Scan {
        let taken = self
            .paths
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(BTreeSet::new());
        match taken {
            Some(paths) => Scan::Paths {
                root: self.root.clone(),
                paths: paths.into_iter().collect(),
            },
            None => Scan::Full,
        }
    }

    /// Keeps the article files an event named for the next run; a folder
    /// (or the content folder itself) means the whole folder.
    fn note(&self, seen: &[(&Path, Seen)]) {
        let mut paths = self.paths.lock().unwrap_or_else(|p| p.into_inner());
        for (path, what) in seen {
            let Some(set) = paths.as_mut() else { return };
            match what {
                Seen::Ignored => {}
                Seen::Article | Seen::Gone => {
                    set.insert(path.to_path_buf());
                }
                Seen::Folder => *paths = None,
            }
        }
    }

    /// What the watcher reports, on its own thread.
    pub(super) fn handle(&self, event: notify::Result<Event>) {
        match event {
            Ok(event) if event.need_rescan() => {
                tracing::warn!(
                    folder = %self.root.display(),
                    "the content folder's watcher lost events (its queue overflowed); rescanning"
                );
                self.lost();
            }
            Ok(event) => {
                let seen = classify(&self.root, &event);
                if !seen.is_empty() {
                    self.note(&seen);
                    self.wake.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(folder = %self.root.display(), error = %e, "content folder watcher; rescanning");
                self.lost();
            }
        }
    }

    fn lost(&self) {
        *self.paths.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.lost.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// The paths of an event that may change what ingest finds, each with
/// what it is: a write, creation, removal or rename of an article file, or
/// of a folder that may hold some. Opens and reads never do; an event that
/// wakes nothing gives none.
fn classify<'e>(root: &Path, event: &'e Event) -> Vec<(&'e Path, Seen)> {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return Vec::new(),
        _ => {}
    }
    event
        .paths
        .iter()
        .map(|path| (path.as_path(), seen(root, event.kind, path)))
        .filter(|(_, what)| *what != Seen::Ignored)
        .collect()
}

/// Whether an event wakes the job.
#[cfg(test)]
fn matters(root: &Path, event: &Event) -> bool {
    !classify(root, event).is_empty()
}

/// What a path an event names is to ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Outside the content, or an editor's companion file.
    Ignored,
    /// An article file: the next run looks at it.
    Article,
    /// A name without a dot, gone by a rename: a folder moved away, or a
    /// tool's temporary file renamed over the article it edits (`sed -i`
    /// writes `sedXXXXXX`). The next run looks at it too, and lists
    /// everything only when its last listing held articles below it.
    Gone,
    /// A folder made, removed or moved, or the content folder itself: the
    /// next run lists everything.
    Folder,
}

fn seen(root: &Path, kind: EventKind, path: &Path) -> Seen {
    let Ok(rel) = path.strip_prefix(root) else {
        return Seen::Ignored;
    };
    let names: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .collect();
    let Some((last, folders)) = names.split_last() else {
        // The content folder itself was moved or removed.
        return Seen::Folder;
    };
    if !folders.iter().all(|f| is_content_folder_name(f)) {
        return Seen::Ignored;
    }
    if is_article_name(last) {
        return Seen::Article;
    }
    // A folder made, removed or moved holds articles; a name without a
    // dot that is gone may have been one.
    if !is_content_folder_name(last) {
        return Seen::Ignored;
    }
    match kind {
        EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder) => {
            Seen::Folder
        }
        EventKind::Modify(ModifyKind::Name(_)) if path.is_dir() => Seen::Folder,
        EventKind::Modify(ModifyKind::Name(_)) if !path.exists() && !last.contains('.') => {
            Seen::Gone
        }
        _ => Seen::Ignored,
    }
}

/// Starts watching `root` with every change going to `changes`; None (and
/// logged once) when it cannot: the cron tick ingests alone then.
pub(super) fn start(changes: &Arc<Changes>) -> Option<notify::RecommendedWatcher> {
    let to = changes.clone();
    let started = notify::recommended_watcher(move |event| to.handle(event)).and_then(|mut w| {
        w.watch(&changes.root, RecursiveMode::Recursive)?;
        Ok(w)
    });
    match started {
        Ok(watcher) => {
            tracing::info!(folder = %changes.root.display(), "watching the content folder");
            Some(watcher)
        }
        Err(e) => {
            tracing::warn!(
                folder = %changes.root.display(),
                error = %e,
                "cannot watch the content folder; ingesting on [schedule].ingest only"
            );
            None
        }
    }
}

/// Wakes `job` after changes, until `stop`: once the folder has been quiet
/// for `debounce`, or `MAX_WAIT` after the first change of a stream that
/// does not stop; at once when events were lost. Changes during a run wake
/// the next one.
pub(super) async fn wake_ingest_until_stopped(
    job: Arc<IngestJob>,
    changes: Arc<Changes>,
    debounce: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = changes.wake.notified() => {}
            () = stop.cancelled() => return,
        }
        let deadline = Instant::now() + MAX_WAIT.max(debounce);
        while !changes.lost.load(Ordering::SeqCst) {
            tokio::select! {
                () = changes.wake.notified() => {}
                () = tokio::time::sleep(debounce) => break,
                () = tokio::time::sleep_until(deadline) => break,
                () = stop.cancelled() => return,
            }
        }
        let trigger = if changes.lost.swap(false, Ordering::SeqCst) {
            Trigger::Rescan
        } else {
            Trigger::Watch
        };
        job.run_scan(trigger, &changes.take()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{DataChange, RenameMode};

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn article_changes_matter_and_editors_companions_do_not() {
        let root = Path::new("/site/content");
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let created = EventKind::Create(CreateKind::File);
        let gone = EventKind::Remove(RemoveKind::File);
        let moved = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        for (kind, path) in [
            (write, "/site/content/a.md"),
            (closed, "/site/content/a.md"),
            (created, "/site/content/2026/b.markdown"),
            (gone, "/site/content/a.md"),
            (moved, "/site/content/a.md"),
            (moved, "/site/content/old-folder"),
            (EventKind::Create(CreateKind::Folder), "/site/content/2027"),
            (EventKind::Remove(RemoveKind::Folder), "/site/content/2025"),
        ] {
            assert!(matters(root, &event(kind, path)), "{kind:?} {path}");
        }
        let opened = EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any));
        for (kind, path) in [
            (opened, "/site/content/a.md"),
            (write, "/site/content/.#a.md"),
            (created, "/site/content/#a.md#"),
            (write, "/site/content/a.md~"),
            (write, "/site/content/.a.md.swp"),
            (created, "/site/content/4913"),
            (gone, "/site/content/4913"),
            (write, "/site/content/.git/x.md"),
            (moved, "/site/content/a.md.tmp"),
            (write, "/elsewhere/a.md"),
        ] {
            assert!(!matters(root, &event(kind, path)), "{kind:?} {path}");
        }
    }

    #[test]
    fn runs_scan_the_files_named_since_the_last_and_everything_after_a_folder_or_a_loss() {
        let changes = Changes::new(PathBuf::from("/site/content"));
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let tell = |kind, path: &str| changes.handle(Ok(event(kind, path)));
        let paths = |names: &[&str]| Scan::Paths {
            root: PathBuf::from("/site/content"),
            paths: names.iter().map(PathBuf::from).collect(),
        };
        // Nothing is known of the folder before the first run.
        tell(write, "/site/content/a.md");
        assert_eq!(changes.take(), Scan::Full);
        assert_eq!(changes.take(), paths(&[]));
        tell(write, "/site/content/b.md");
        tell(write, "/site/content/2026/a.md");
        tell(write, "/site/content/b.md");
        tell(write, "/site/content/.b.md.swp");
        assert_eq!(
            changes.take(),
            paths(&["/site/content/2026/a.md", "/site/content/b.md"])
        );
        tell(write, "/site/content/b.md");
        tell(EventKind::Create(CreateKind::Folder), "/site/content/2027");
        tell(write, "/site/content/c.md");
        assert_eq!(changes.take(), Scan::Full);
        tell(write, "/site/content/c.md");
        changes.handle(Err(notify::Error::generic("queue overflow")));
        assert_eq!(changes.take(), Scan::Full);
        // `sed -i` renames its temporary file over the article: both names
        // go to the run, whose listing tells a folder from a file.
        let moved = |mode| EventKind::Modify(ModifyKind::Name(mode));
        tell(moved(RenameMode::From), "/site/content/sedAb12Cd");
        tell(moved(RenameMode::To), "/site/content/c.md");
        assert_eq!(
            changes.take(),
            paths(&["/site/content/c.md", "/site/content/sedAb12Cd"])
        );
    }

    #[test]
    fn a_relative_folder_is_matched_as_the_watcher_reports_it() {
        // The watcher reports absolute paths, from the working folder.
        let changes = Changes::new(PathBuf::from("content"));
        let saved = std::env::current_dir().unwrap().join("content/a.md");
        let kind = EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any));
        assert!(matters(&changes.root, &Event::new(kind).add_path(saved)));
    }
}
