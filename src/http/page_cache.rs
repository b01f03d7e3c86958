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

/// A rendered page, in pieces around each token placeholder.
#[derive(Debug)]
pub struct Rendered {
    generation: u64,
    at: Instant,
    pieces: Vec<Bytes>,
}

impl Rendered {
    fn new(generation: u64, html: &str) -> Self {
        Self {
            generation,
            at: Instant::now(),
            pieces: html
                .split(TOKEN_PLACEHOLDER)
                .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                .collect(),
        }
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
