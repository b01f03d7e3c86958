//! Serving the feed folder: only files below it, with the feed media types,
//! ETag and Last-Modified, and 304 answers to conditional requests.

use crate::http::error::PageError;
use crate::http::state::{AppState, EtagCache, FileVersion};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The media type of a feed file, by name.
pub fn media_type(name: &str) -> &'static str {
    match name {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        n if n.ends_with(".json") => "application/feed+json; charset=utf-8",
        n if n.ends_with(".opml") => "text/x-opml; charset=utf-8",
        n if n.ends_with(".xml") => "application/xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a request path onto the feed folder, refusing anything that could
/// step outside it or reach hidden (temporary) files.
fn safe_path(root: &std::path::Path, requested: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for seg in requested.split('/') {
        if seg.is_empty()
            || seg.starts_with('.')
            || seg.contains('\\')
            || seg.contains('\0')
            || seg.contains(':')
        {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header.trim() == "*" || header.split(',').any(|t| bare(t) == bare(etag))
}

/// `GET /feeds/{*path}`.
pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let root = state.config.feeds.dir.clone();
    let etags = state.etags.clone();
    let owned_path = path.clone();
    let validators = Validators {
        if_none_match: headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        if_modified_since: headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    };
    let file = tokio::task::spawn_blocking(move || find(&root, &owned_path, &etags, &validators))
        .await
        .map_err(|e| PageError::Unexpected(anyhow::anyhow!("feed read task: {e}")))??;
    Ok(respond(&state, &path, file))
}

/// The client's copy, as its conditional headers describe it.
struct Validators {
    if_none_match: Option<String>,
    if_modified_since: Option<SystemTime>,
}

impl Validators {
    /// Whether the client's copy is the file with this ETag and time.
    fn current(&self, etag: &str, modified_s: SystemTime) -> bool {
        match (&self.if_none_match, self.if_modified_since) {
            (Some(inm), _) => etag_matches(inm, etag),
            (None, Some(ims)) => modified_s <= ims,
            (None, None) => false,
        }
    }
}

/// A feed file as the blocking part of a request found it.
struct FeedFile {
    real: PathBuf,
    etag: String,
    /// The modification time in whole seconds: all an HTTP date can say.
    modified_s: SystemTime,
    /// None when the answer is 304: the file was not read.
    bytes: Option<Vec<u8>>,
}

/// The file under `root` that `path` names, if it may be served: no step
/// out of the folder, by `..` or by a symbolic link, and only files.
fn locate(root: &std::path::Path, path: &str) -> Option<(PathBuf, std::fs::Metadata)> {
    let file = safe_path(root, path)?;
    let real = std::fs::canonicalize(&file).ok()?;
    let real_root = std::fs::canonicalize(root).ok()?;
    if !real.starts_with(&real_root) {
        return None;
    }
    let meta = std::fs::metadata(&real).ok()?;
    meta.is_file().then_some((real, meta))
}

/// Resolves, checks and (unless the client's copy is current) reads the
/// file, all in one blocking task: one hop to the blocking pool per
/// request, and no read at all for a 304 once the file's ETag is known.
fn find(
    root: &std::path::Path,
    path: &str,
    etags: &EtagCache,
    client: &Validators,
) -> Result<FeedFile, PageError> {
    let (real, meta) = locate(root, path).ok_or(PageError::NotFound)?;
    let since_epoch = meta
        .modified()
        .unwrap_or(UNIX_EPOCH)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let version = FileVersion {
        modified_ns: since_epoch.as_nanos() as i128,
        len: meta.len(),
    };
    let modified_s = UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs());
    if let Some(etag) = etags
        .get(&real, version)
        .filter(|t| client.current(t, modified_s))
    {
        return Ok(FeedFile {
            real,
            etag,
            modified_s,
            bytes: None,
        });
    }
    let bytes = std::fs::read(&real).map_err(|_| PageError::NotFound)?;
    let etag = {
        use sha2::{Digest, Sha256};
        format!("W/\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]))
    };
    let version = FileVersion {
        len: bytes.len() as u64,
        ..version
    };
    etags.insert(real.clone(), version, etag.clone());
    let current = client.current(&etag, modified_s);
    Ok(FeedFile {
        real,
        etag,
        modified_s,
        bytes: (!current).then_some(bytes),
    })
}

/// The file, or 304 when the client's copy is current, with the headers
/// every feed answer carries.
fn respond(state: &AppState, path: &str, file: FeedFile) -> Response {
    let mut response = match file.bytes {
        None => StatusCode::NOT_MODIFIED.into_response(),
        Some(bytes) => {
            let name = file
                .real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(media_type(&name)),
            );
            r
        }
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(file.modified_s)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Some(v) = crate::feeds::websub::link_header(&state.config, path)
        .and_then(|l| HeaderValue::from_str(&l).ok())
    {
        h.insert(header::LINK, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let root = std::path::Path::new("/srv/feeds");
        assert_eq!(
            safe_path(root, "topics/retinol/rss.xml").unwrap(),
            root.join("topics/retinol/rss.xml")
        );
        for bad in [
            "../etc/passwd",
            "topics/../../x",
            "/etc/passwd",
            ".rss.xml.1.tmp",
            "a//b",
            "..\\x",
            "c:x",
        ] {
            assert!(safe_path(root, bad).is_none(), "{bad} accepted");
        }
    }

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("W/\"abc\"", "W/\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "W/\"abc\""));
        assert!(etag_matches("*", "W/\"abc\""));
        assert!(!etag_matches("\"abd\"", "W/\"abc\""));
    }
}
