//! Pages every visitor sees (the landing page, article pages), rendered
//! once per change of the store rather than once per request.
//!
//! A build of the feeds (after an ingest, a push, or another instance's
//! change) calls [`PageCache::invalidate`]; a page is also rendered again
//! once it is [`TTL`] old, because the trending list moves with the clock.
//! While one request renders, the others get the previous copy if there is
//! one, so a burst of visitors costs one render, not one each.
//!
//! The landing page holds a per-visitor CSRF token in its form: it is
//! rendered with a placeholder, kept in pieces split at the placeholder,
//! and each request joins the pieces around its own token.

use axum::body::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The longest a rendered page is served without being rendered again.
pub const TTL: Duration = Duration::from_secs(60);

/// Article pages kept at most; past that the cache starts over.
const MAX_ARTICLES: usize = 2_000;

/// What a page is rendered with in place of the visitor's token: letters
/// and digits only, so no template escaping changes it.
pub const TOKEN_PLACEHOLDER: &str = "csrfplaceholder0f3c9a7e5b1d";

/// A rendered page, in pieces around each token placeholder, plain and
/// compressed.
#[derive(Debug)]
pub struct Rendered {
    generation: u64,
    at: Instant,
    pieces: Vec<Bytes>,
    /// Each piece as raw deflate data ending on a byte boundary with the
    /// compressor's history reset (a full flush; the last one finishes the
    /// stream), so that a stored block holding a token can go between any
    /// two of them.
    deflated: Vec<Bytes>,
}

impl Rendered {
    fn new(generation: u64, html: &str) -> Self {
        let pieces: Vec<Bytes> = html
            .split(TOKEN_PLACEHOLDER)
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect();
        let last = pieces.len() - 1;
        let deflated = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| deflate_piece(p, i == last))
            .collect();
        Self {
            generation,
            at: Instant::now(),
            pieces,
            deflated,
        }
    }

    /// The page with `token` where the placeholder was, as one gzip member
    /// (RFC 1952): the pieces were compressed once, at render time, and the
    /// token goes between them as a stored deflate block (RFC 1951, 3.2.4).
    /// Per request this costs a copy and a CRC, not a compression.
    pub fn gzip_with_token(&self, token: &str) -> Vec<u8> {
        const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let token = &token.as_bytes()[..token.len().min(u16::MAX as usize)];
        let size = self.deflated.iter().map(Bytes::len).sum::<usize>()
            + (token.len() + 5) * (self.pieces.len() - 1)
            + HEADER.len()
            + 8;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&HEADER);
        let mut crc = flate2::Crc::new();
        for (i, (piece, deflated)) in self.pieces.iter().zip(&self.deflated).enumerate() {
            if i > 0 {
                // A stored block, not the last: BFINAL 0, BTYPE 00, then
                // LEN and its complement, little-endian, then the bytes.
                let len = token.len() as u16;
                out.push(0);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(token);
                crc.update(token);
            }
            out.extend_from_slice(deflated);
            crc.update(piece);
        }
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        out
    }

    /// The page with `token` where the placeholder was.
    pub fn with_token(&self, token: &str) -> String {
        let len = self.pieces.iter().map(Bytes::len).sum::<usize>()
            + token.len() * self.pieces.len().saturating_sub(1);
        let mut out = String::with_capacity(len);
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(token);
            }
            // The pieces were cut from a str at an ASCII placeholder.
            out.push_str(std::str::from_utf8(piece).unwrap_or_default());
        }
        out
    }

    /// The page as it was rendered (pages without a token).
    pub fn html(&self) -> String {
        self.with_token(TOKEN_PLACEHOLDER)
    }
}

/// `piece` as raw deflate data: ended by a full flush (byte-aligned, no
/// back-references into it from what follows), or by the final block.
fn deflate_piece(piece: &[u8], last: bool) -> Bytes {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::new(6), false);
    let mut out = Vec::with_capacity(piece.len() / 3 + 64);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Full
    };
    loop {
        let consumed = c.total_in() as usize;
        out.reserve(4096);
        // Compressing into a Vec's spare capacity cannot fail.
        let status = c
            .compress_vec(&piece[consumed..], &mut out, flush)
            .unwrap_or(flate2::Status::StreamEnd);
        let done = c.total_in() as usize == piece.len() && out.len() < out.capacity();
        if status == flate2::Status::StreamEnd || (!last && done) {
            break;
        }
    }
    Bytes::from(out)
}

#[derive(Debug, Default)]
pub struct PageCache {
    generation: AtomicU64,
    index: RwLock<Option<Arc<Rendered>>>,
    rendering: tokio::sync::Mutex<()>,
    articles: RwLock<HashMap<String, Arc<Rendered>>>,
}

impl PageCache {
    /// The store changed: every page is rendered again on its next request.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn fresh(&self, page: &Rendered) -> bool {
        page.generation == self.generation.load(Ordering::Relaxed) && page.at.elapsed() < TTL
    }

    /// The landing page: the cached copy while it is fresh, else rendered
    /// by `render` (by one request at a time; the others meanwhile get the
    /// stale copy when there is one).
    pub async fn index<E, F>(&self, render: impl FnOnce() -> F) -> Result<Arc<Rendered>, E>
    where
        F: Future<Output = Result<String, E>>,
    {
        let current = self.index.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(page) = &current
            && self.fresh(page)
        {
            return Ok(page.clone());
        }
        let _rendering = match (self.rendering.try_lock(), current) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale),
            (Err(_), None) => self.rendering.lock().await,
        };
        // Someone may have rendered it while this request waited.
        if let Some(page) = self
            .index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|p| self.fresh(p))
        {
            return Ok(page.clone());
        }
        let generation = self.generation.load(Ordering::Relaxed);
        let page = Arc::new(Rendered::new(generation, &render().await?));
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = Some(page.clone());
        Ok(page)
    }

    /// An article's page, by slug, rendered by `render` when not cached.
    pub async fn article<E, F>(
        &self,
        slug: &str,
        render: impl FnOnce() -> F,
    ) -> Result<Arc<Rendered>, E>
    where
        F: Future<Output = Result<String, E>>,
    {
        if let Some(page) = self
            .articles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
            .filter(|p| self.fresh(p))
        {
            return Ok(page.clone());
        }
        let generation = self.generation.load(Ordering::Relaxed);
        let page = Arc::new(Rendered::new(generation, &render().await?));
        let mut articles = self.articles.write().unwrap_or_else(|p| p.into_inner());
        if articles.len() >= MAX_ARTICLES {
            articles.clear();
        }
        articles.insert(slug.to_owned(), page.clone());
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    async fn render(count: &AtomicUsize) -> Result<String, ()> {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(format!(
            "<form><input value=\"{TOKEN_PLACEHOLDER}\"></form><p>render {n}</p>"
        ))
    }

    #[tokio::test]
    async fn the_landing_page_is_rendered_once_per_change() {
        let cache = PageCache::default();
        let renders = AtomicUsize::new(0);
        for _ in 0..5 {
            let page = cache.index(|| render(&renders)).await.unwrap();
            assert_eq!(
                page.with_token("tok1"),
                "<form><input value=\"tok1\"></form><p>render 1</p>"
            );
        }
        cache.invalidate();
        let page = cache.index(|| render(&renders)).await.unwrap();
        assert!(page.with_token("x").ends_with("render 2</p>"));
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn article_pages_are_kept_by_slug_until_a_change() {
        let cache = PageCache::default();
        let renders = AtomicUsize::new(0);
        cache.article("a", || render(&renders)).await.unwrap();
        cache.article("a", || render(&renders)).await.unwrap();
        cache.article("b", || render(&renders)).await.unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        cache.invalidate();
        cache.article("a", || render(&renders)).await.unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_gzipped_page_decodes_to_the_page_with_each_token() {
        use std::io::Read;
        let body = "<p>Niacinamide, retinol and sunscreen.</p>".repeat(300);
        for html in [
            format!("<form><input value=\"{TOKEN_PLACEHOLDER}\"></form>{body}"),
            format!("{body}<a>{TOKEN_PLACEHOLDER}</a>{body}<b>{TOKEN_PLACEHOLDER}</b>"),
            format!("{TOKEN_PLACEHOLDER}{body}{TOKEN_PLACEHOLDER}"),
            body.clone(),
            String::new(),
        ] {
            let page = Rendered::new(1, &html);
            for token in ["3f9a0c", "a-longer-token-0123456789abcdef0123456789abcdef"] {
                let zipped = page.gzip_with_token(token);
                let mut plain = String::new();
                flate2::read::GzDecoder::new(&zipped[..])
                    .read_to_string(&mut plain)
                    .unwrap();
                assert_eq!(plain, html.replace(TOKEN_PLACEHOLDER, token));
                if html.len() > 1000 {
                    assert!(zipped.len() * 5 < html.len(), "compressed");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_failed_render_is_not_kept() {
        let cache = PageCache::default();
        let failed: Result<_, &str> = cache.index(|| async { Err("store down") }).await;
        assert!(failed.is_err());
        let renders = AtomicUsize::new(0);
        assert!(cache.index(|| render(&renders)).await.is_ok());
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }
}
