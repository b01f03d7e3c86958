//! Atomic, change-only writes: a reader never sees half a file, and a file
//! whose bytes would not change keeps its modification time (and so its
//! Last-Modified and the readers' caches).

use std::io::{Read, Write};
use std::path::Path;

/// Writes `bytes` to `path` unless it already holds exactly them. Returns
/// whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let replaces = match std::fs::File::open(path) {
        Ok(file) => match holds(file, bytes)? {
            Held::Same => return Ok(false),
            Held::Other => true,
            // A folder, say: the rename fails, naming it, as it should.
            Held::NotAFile => false,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Same folder, so the rename is atomic; a dot name so nothing serves it.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // No fsync: the rename alone keeps readers from seeing half a file,
        // and feeds are derived data. Should a crash leave a file short, the
        // next build finds its bytes differ and writes it again. An fsync per
        // file cost more than rendering on this machine's disk.
        drop(f);
        if replaces {
            replace(&tmp, path)
        } else {
            std::fs::rename(&tmp, path)
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| true)
}

/// What an existing file holds, against the bytes a build would write.
enum Held {
    Same,
    Other,
    NotAFile,
}

/// Compares without reading when the sizes differ (a changed feed's
/// usually do).
fn holds(mut file: std::fs::File, bytes: &[u8]) -> std::io::Result<Held> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Held::NotAFile);
    }
    if meta.len() != bytes.len() as u64 {
        return Ok(Held::Other);
    }
    let mut existing = Vec::with_capacity(bytes.len());
    file.read_to_end(&mut existing)?;
    Ok(if existing == bytes {
        Held::Same
    } else {
        Held::Other
    })
}

/// Puts `tmp` in place of the existing file `path`, atomically for readers.
///
/// On Linux the two are exchanged (`renameat2` with `RENAME_EXCHANGE`) and
/// the old file, now under the temporary name, is removed. A plain rename
/// over an existing file makes ext4 start writing the new file's data out
/// there and then (its `auto_da_alloc` safeguard for programs that do not
/// fsync), inside the build: a quarter of `write_if_changed`'s CPU time
/// after one change at 10,000 articles. An exchange leaves that to the
/// kernel's write-back; what a crash can do to the file is what this
/// module accepts already (the next build writes it again). Where the
/// exchange is not supported (another system, an old kernel, a file
/// system without it), or the file went meanwhile, a plain rename.
fn replace(tmp: &Path, path: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        };
        let (from, to) = (c(tmp)?, c(path)?);
        // SAFETY: both are NUL-terminated paths that outlive the call;
        // AT_FDCWD resolves them as `rename` would.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        } == 0;
        if done {
            // The new file is in place; the old one, left under the
            // temporary name, is a dot file nothing serves.
            let _ = std::fs::remove_file(tmp);
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::ENOENT) => {}
            _ => return Err(e),
        }
    }
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/rss.xml");
        assert!(write_if_changed(&p, b"one").unwrap());
        let m1 = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!write_if_changed(&p, b"one").unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), m1);
        assert!(write_if_changed(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_replaced_file_is_whole_for_readers_old_and_new() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("atom.xml");
        assert!(write_if_changed(&p, b"old bytes").unwrap());
        // A reader that opened the file before the build keeps the old
        // bytes; one that opens it after gets the new ones, whole.
        let mut before = std::fs::File::open(&p).unwrap();
        assert!(write_if_changed(&p, b"the new, longer bytes").unwrap());
        let mut old = String::new();
        before.read_to_string(&mut old).unwrap();
        assert_eq!(old, "old bytes");
        assert_eq!(std::fs::read(&p).unwrap(), b"the new, longer bytes");
        // Same size, other bytes: compared, and written.
        assert!(write_if_changed(&p, b"THE NEW, LONGER BYTES").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"THE NEW, LONGER BYTES");
        assert!(std::fs::symlink_metadata(&p).unwrap().is_file());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["atom.xml"], "no temporary file left behind");
    }

    #[test]
    fn a_folder_in_the_way_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rss.xml");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("keep"), b"x").unwrap();
        assert!(write_if_changed(&p, b"feed").is_err());
        assert_eq!(std::fs::read(p.join("keep")).unwrap(), b"x");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["rss.xml"], "no temporary file left behind");
    }
}
