//! Serving the feed folder: only files below it, with the feed media types,
//! ETag and Last-Modified, and 304 answers to conditional requests.

use crate::http::error::PageError;
use crate::http::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

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

pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    match serve_inner(&state, &path, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_page(&state),
    }
}

/// What the blocking part of a request found.
struct Found {
    real: PathBuf,
    etag: String,
    modified_s: std::time::SystemTime,
    not_modified: bool,
    /// None when the answer is 304: the file was not read.
    bytes: Option<Vec<u8>>,
}

/// Resolves, checks and (unless the client's copy is current) reads the
/// file, all in one blocking task: one hop to the blocking pool per
/// request, and no read at all for a 304 once the file's ETag is known.
fn find(
    root: &std::path::Path,
    path: &str,
    etags: &crate::http::state::EtagCache,
    if_none_match: Option<&str>,
    if_modified_since: Option<std::time::SystemTime>,
) -> Result<Found, PageError> {
    let file = safe_path(root, path).ok_or(PageError::NotFound)?;
    // Symbolic links must not lead out of the folder either.
    let (Ok(real), Ok(real_root)) = (std::fs::canonicalize(&file), std::fs::canonicalize(root))
    else {
        return Err(PageError::NotFound);
    };
    if !real.starts_with(&real_root) {
        return Err(PageError::NotFound);
    }
    let meta = std::fs::metadata(&real).map_err(|_| PageError::NotFound)?;
    if !meta.is_file() {
        return Err(PageError::NotFound);
    }
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let mtime_ns = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    // Whole seconds: that is all an HTTP date can say.
    let modified_s = UNIX_EPOCH
        + std::time::Duration::from_secs(
            modified
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
    let is_current = |etag: &str| match (if_none_match, if_modified_since) {
        (Some(inm), _) => etag_matches(inm, etag),
        (None, Some(ims)) => modified_s <= ims,
        (None, None) => false,
    };
    let known = {
        let cache = etags.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&real)
            .filter(|(m, l, _)| *m == mtime_ns && *l == meta.len())
            .map(|(_, _, tag)| tag.clone())
    };
    if let Some(etag) = known.filter(|t| is_current(t)) {
        return Ok(Found {
            real,
            etag,
            modified_s,
            not_modified: true,
            bytes: None,
        });
    }
    let bytes = std::fs::read(&real).map_err(|_| PageError::NotFound)?;
    let etag = {
        use sha2::{Digest, Sha256};
        let tag = format!("W/\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
        let mut cache = etags.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(real.clone(), (mtime_ns, bytes.len() as u64, tag.clone()));
        tag
    };
    let not_modified = is_current(&etag);
    Ok(Found {
        real,
        etag,
        modified_s,
        not_modified,
        bytes: (!not_modified).then_some(bytes),
    })
}

async fn serve_inner(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let root = state.config.feeds.dir.clone();
    let etags = state.etags.clone();
    let owned_path = path.to_owned();
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let if_modified_since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let found = tokio::task::spawn_blocking(move || {
        find(
            &root,
            &owned_path,
            &etags,
            if_none_match.as_deref(),
            if_modified_since,
        )
    })
    .await
    .map_err(|e| PageError::Unexpected(anyhow::anyhow!("feed read task: {e}")))??;
    let Found {
        real,
        etag,
        modified_s,
        not_modified,
        bytes,
    } = found;
    let last_modified = httpdate::fmt_http_date(modified_s);

    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(bytes.unwrap_or_default()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media_type(&name)),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
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
    Ok(response)
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
