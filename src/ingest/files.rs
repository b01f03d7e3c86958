//! The content folder's files: listing the Markdown files with the stamps
//! that say whether they changed, and reading one into an article.

use super::content_dir::{self, Parsed, ReadContext};
use crate::domain::Article;
use crate::domain::topic::{ArticlePhrases, TopicRef};
use crate::store::SourceStamp;
use crate::topics::Matcher;
use chrono::{DateTime, Utc};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// One Markdown file found in the content folder.
#[derive(Debug)]
pub(super) struct ContentFile {
    /// Relative to the content folder, with `/` separators.
    pub rel: String,
    pub path: PathBuf,
    pub stamp: SourceStamp,
}

/// What reading one content file gave.
pub(super) enum FileRead {
    /// Not read: same stamp as the stored version.
    Unchanged,
    Rejected(String),
    Draft,
    Article(ReadArticle),
}

/// An article read from a file, with what the topics engine found in it.
pub(super) struct ReadArticle {
    pub article: Box<Article>,
    /// `article.content_hash()`.
    pub content_hash: String,
    /// Characters XML forbids that were removed.
    pub stripped: usize,
    pub topics: Vec<TopicRef>,
    pub phrases: ArticlePhrases,
}

/// Whether a file of this name is an article: `.md` or `.markdown`, and not
/// hidden. Editors' companions are not: Emacs's lock (`.#x.md`) and
/// auto-save (`#x.md#`) files, backups (`x.md~`), Vim's swap files
/// (`.x.md.swp`) and its write test (`4913`).
pub fn is_article_name(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".md") || name.ends_with(".markdown"))
}

/// Whether a folder of this name is looked into: hidden ones are not.
pub fn is_content_folder_name(name: &str) -> bool {
    !name.starts_with('.')
}

/// Every `.md` and `.markdown` file below `dir` (hidden files and folders
/// left out), sorted by relative path so reports come out in a stable order.
/// A file or folder that goes while the folder is listed (an editor's
/// temporary file, a save in progress) is left out, not an error.
pub(super) fn scan(dir: &Path, render_key: &str) -> Result<Vec<ContentFile>, std::io::Error> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) if gone(&e) && !prefix.is_empty() => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_content_folder_name(&name) {
                continue;
            }
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                stack.push((entry.path(), rel));
            } else if meta.is_file() && is_article_name(&name) {
                out.push(ContentFile {
                    rel,
                    path: entry.path(),
                    stamp: stamp(&meta, render_key),
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

pub(super) fn stamp(meta: &std::fs::Metadata, render_key: &str) -> SourceStamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    SourceStamp {
        mtime_ns,
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        render_key: render_key.to_owned(),
    }
}

/// Reads, parses and analyses one file; a problem is a rejection that names
/// it, never an error that stops the scan.
pub(super) fn read_file(
    file: &ContentFile,
    max: u64,
    ctx: &ReadContext,
    matcher: &Matcher,
    phrases_since: DateTime<Utc>,
) -> FileRead {
    let text = match read_text(file, max) {
        Ok(text) => text,
        Err(e) => return FileRead::Rejected(e),
    };
    let stem = file
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&file.rel)
        .trim_end_matches(".markdown")
        .trim_end_matches(".md");
    match content_dir::read_article(&text, stem, ctx) {
        Ok(Parsed::Draft) => FileRead::Draft,
        Ok(Parsed::Article { article, stripped }) => {
            let (topics, phrases) = matcher.analyze(&article, phrases_since);
            FileRead::Article(ReadArticle {
                content_hash: article.content_hash(),
                article,
                stripped,
                topics,
                phrases,
            })
        }
        Err(e) => FileRead::Rejected(e),
    }
}

/// The file's text, if it is no larger than `max` bytes and is UTF-8. The
/// size is checked again on reading: the file may have grown since the scan.
fn read_text(file: &ContentFile, max: u64) -> Result<String, String> {
    let too_big = |n: u64| {
        format!("the file is {n} bytes, over the limit of {max} bytes (content.max_file_size)")
    };
    let size = u64::try_from(file.stamp.size).unwrap_or(u64::MAX);
    if size > max {
        return Err(too_big(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    std::fs::File::open(&file.path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("not valid UTF-8 (first bad byte at offset {at})")
    })
}

/// `files` (sorted by relative path) with `paths` looked at again: a path
/// that is an article file now is listed with its new stamp, one that is
/// gone (or no longer a file) leaves the listing, and one that is no
/// article file (a tool's temporary file) is passed over. None when a path
/// cannot be placed that way (a folder, one that held listed articles and
/// is gone, the folder itself, an error other than "not found"): the
/// caller lists the whole folder instead.
pub(super) fn refresh_listing(
    mut files: Vec<ContentFile>,
    (root, dir): (&Path, &Path),
    paths: &[PathBuf],
    key: &str,
) -> Option<Vec<ContentFile>> {
    for path in paths {
        let mut names = Vec::new();
        for c in path.strip_prefix(root).ok()?.components() {
            match c {
                Component::Normal(n) => names.push(n.to_str()?),
                _ => return None,
            }
        }
        let (last, folders) = names.split_last()?;
        if !folders.iter().all(|f| is_content_folder_name(f)) {
            // In a hidden folder: no scan looks there.
            continue;
        }
        let rel = names.join("/");
        if !is_article_name(last) {
            // Not an article: nothing to list, unless it is (or was) a
            // folder, whose articles only a full listing finds. A tool's
            // temporary file (`sed -i` writes `sedXXXXXX` beside the file
            // it edits, then renames it over) is passed over.
            match std::fs::symlink_metadata(dir.join(&rel)) {
                Ok(meta) if !meta.is_dir() => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let below = format!("{rel}/");
                    if files.iter().any(|f| f.rel.starts_with(&below)) {
                        return None;
                    }
                    continue;
                }
                _ => return None,
            }
        }
        let at = files.binary_search_by(|f| f.rel.as_str().cmp(&rel));
        let path = dir.join(&rel);
        // As the listing does: a symbolic link is not followed.
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => return None,
            Ok(meta) if meta.is_file() => {
                let file = ContentFile {
                    stamp: stamp(&meta, key),
                    rel,
                    path,
                };
                match at {
                    Ok(i) => files[i] = file,
                    Err(i) => files.insert(i, file),
                }
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return None,
            // Gone, or no longer a file: off the listing.
            _ => {
                if let Ok(i) = at {
                    files.remove(i);
                }
            }
        }
    }
    Some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_companion_files_are_not_articles() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "x.md",
            ".#x.md",
            "#x.md#",
            "x.md~",
            ".x.md.swp",
            ".x.md.swx",
            "4913",
            "x.md.tmp",
            "y.markdown",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), "---\ntitle: T\n---\n").unwrap();
        }
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/z.md"), "").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/z.md"), "").unwrap();
        let found: Vec<String> = scan(dir.path(), "k")
            .unwrap()
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(found, ["sub/z.md", "x.md", "y.markdown"]);
    }

    fn rels(files: &[ContentFile]) -> Vec<&str> {
        files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn a_tools_temporary_file_is_passed_over_and_a_folder_needs_the_whole_listing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("retinol.md"), "x").unwrap();
        std::fs::create_dir(d.join("clinic")).unwrap();
        std::fs::write(d.join("clinic/peels.md"), "x").unwrap();
        let listed = scan(d, "k").unwrap();
        assert_eq!(rels(&listed), ["clinic/peels.md", "retinol.md"]);
        // The last listing brought up to date with `paths`, as the watcher
        // names them.
        let refresh = |listing: Vec<ContentFile>, paths: &[&str]| {
            let paths: Vec<PathBuf> = paths.iter().map(|p| d.join(p)).collect();
            refresh_listing(listing, (d, d), &paths, "k")
        };

        // `sed -i` writes its temporary file, then renames it over the
        // article it edits.
        std::fs::write(d.join("sedAb12Cd"), "edited").unwrap();
        let files = refresh(listed, &["sedAb12Cd"]).expect("a temporary file: full listing");
        assert_eq!(rels(&files), ["clinic/peels.md", "retinol.md"]);
        std::fs::rename(d.join("sedAb12Cd"), d.join("retinol.md")).unwrap();
        let files = refresh(files, &["sedAb12Cd", "retinol.md"])
            .expect("a temporary file renamed away: full listing");
        assert_eq!(rels(&files), ["clinic/peels.md", "retinol.md"]);
        assert_eq!(files[1].stamp.size, 6, "the edited article's new stamp");

        // A name that is gone and held nothing listed: passed over.
        let files = refresh(files, &["notes-2026"]).expect("a gone name: full listing");
        // A folder that appears, or one that held articles and went: the
        // whole listing.
        std::fs::create_dir(d.join("news")).unwrap();
        assert!(refresh(files, &["news"]).is_none());
        let listed = scan(d, "k").unwrap();
        std::fs::remove_dir_all(d.join("clinic")).unwrap();
        assert!(refresh(listed, &["clinic"]).is_none());
    }
}
