//! The landing page, the plain article pages and the browser copy of a
//! digest.

use crate::config::Config;
use crate::domain::StoredArticle;
use crate::http::counter::RouteCounter;
use crate::http::error::PageError;
use crate::http::feed_cache::Coding;
use crate::http::guard::{csrf_for, no_store};
use crate::http::headers::WEB_COPY_POLICY;
use crate::http::page::{Page, render_pages};
use crate::http::page_cache::TOKEN_PLACEHOLDER;
use crate::http::state::AppState;
use crate::topics::report::{EntryArticle, TrendingTopic};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// An article as the page templates show it (`articles`, `article`).
#[derive(Serialize)]
struct ArticlePageView<'a> {
    url: &'a str,
    title: &'a str,
    summary: &'a str,
    author: &'a str,
    reviewed_by: Option<&'a str>,
    category: Option<&'a str>,
    image: Option<&'a str>,
    /// Empty when the image is decorative.
    image_alt: &'a str,
    tags: &'a [String],
    content_html: &'a str,
    published_iso: String,
    published_human: String,
    was_updated: bool,
    updated_iso: String,
    updated_human: String,
}

/// A trending topic as the landing page shows it (`trending`).
#[derive(Serialize)]
struct TrendView<'a> {
    label: &'a str,
    status: &'static str,
    count: u32,
    feed: String,
    sparkline: String,
    why: &'a str,
    first_seen: String,
    includes: String,
    related: String,
    articles: &'a [EntryArticle],
}

/// "18 Nov 2026, 10:30 IST", in the site's time zone.
fn human_time(config: &Config, t: DateTime<FixedOffset>) -> String {
    t.with_timezone(&config.site.timezone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

fn article_view<'a>(config: &Config, s: &'a StoredArticle) -> ArticlePageView<'a> {
    let a = &s.article;
    ArticlePageView {
        url: &a.url,
        title: &a.title,
        summary: &a.summary,
        author: &a.author.name,
        reviewed_by: a.reviewed_by.as_deref(),
        category: a.category.as_deref(),
        image: a.image.as_deref(),
        image_alt: a.image_alt.as_deref().unwrap_or_default(),
        tags: &a.tags,
        content_html: &a.content_html,
        published_iso: a.published.to_rfc3339(),
        published_human: human_time(config, a.published),
        was_updated: s.updated > a.published,
        updated_iso: s.updated.to_rfc3339(),
        updated_human: human_time(config, s.updated),
    }
}

fn trend_view<'a>(config: &Config, t: &'a TrendingTopic) -> TrendView<'a> {
    use crate::topics::trending::Status;
    TrendView {
        label: &t.label,
        status: match t.status {
            Status::New => "new",
            Status::Rising => "rising",
            Status::Covered => "covered",
        },
        count: t.count,
        feed: config.site.url(&t.feed),
        sparkline: crate::topics::report::sparkline_svg(&t.weekly),
        why: &t.why,
        first_seen: DateTime::parse_from_rfc3339(&t.first_seen)
            .map(|d| {
                d.with_timezone(&config.site.timezone)
                    .format("%-d %b %Y")
                    .to_string()
            })
            .unwrap_or_default(),
        includes: t.includes_text(),
        related: t.related_text(),
        articles: &t.articles,
    }
}

/// `GET /`: rendered once per store change (see `page_cache`); each
/// request only puts its visitor's CSRF token into the form, in the page
/// or in its gzip copy made at render time.
///
/// Like the feeds, this route sits outside the page layers: it renders its
/// own error page, compresses nothing per request and counts itself.
pub async fn index(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    let response = match state.served.pages.index(|| render_index(&state)).await {
        Ok(page) => {
            let (csrf, cookie) = csrf_for(&headers, state.secure_cookies());
            let gzip = Coding::accepts_gzip(
                headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok()),
            );
            let mut response = if gzip {
                let mut r = Response::new(Body::from(page.gzip_with_token(&csrf)));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            } else {
                Response::new(Body::from(page.with_token(&csrf)))
            };
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            no_store(response, cookie)
        }
        Err(e) => render_pages(&state, e.into_response()),
    };
    LANDING.count(&method, response)
}

/// Landing page requests in `/metrics`.
static LANDING: RouteCounter = RouteCounter::new("/");

async fn render_index(state: &AppState) -> Result<String, PageError> {
    let config = &state.config;
    let articles = state.store.published_articles(Some(20)).await?;
    let views: Vec<ArticlePageView> = articles.iter().map(|a| article_view(config, a)).collect();
    let trending =
        crate::topics::report::trending_at(state.store.as_ref(), config, state.clock.now(), 6)
            .await?;
    let topics: Vec<TrendView> = trending
        .topics
        .iter()
        .map(|t| trend_view(config, t))
        .collect();
    let choices = state.subs.topic_choices(12).await.unwrap_or_default();
    Page::new("pages/index.html")
        .with("articles", &views)
        .with("trending", &topics)
        .with(
            "trending_is_fallback",
            &topics.iter().all(|t| t.status == "covered"),
        )
        .with(
            "trending_feed",
            &config.site.url("/feeds/trending/atom.xml"),
        )
        // The subscribe form's token: each request puts its own in.
        .with("csrf", TOKEN_PLACEHOLDER)
        // Relative: the form works whatever host name the page was reached by.
        .with("subscribe_url", "/subscribe")
        .with("topic_choices", &choices)
        .render(state)
        .map_err(PageError::from)
}

/// `GET /articles/{slug}`, rendered once per store change.
pub async fn article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let page = state
        .served
        .pages
        .article(&slug, || async {
            let stored = state
                .store
                .article(&slug)
                .await?
                .ok_or(PageError::NotFound)?;
            Page::new("pages/article.html")
                .with("article", &article_view(&state.config, &stored))
                .render(&state)
                .map_err(PageError::from)
        })
        .await?;
    Ok(Html(page.html()).into_response())
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

/// The browser copy of a digest run: the same for every subscriber, with
/// no personal links.
pub async fn digest(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Response, PageError> {
    let id: i64 = run_id.parse().map_err(|_| PageError::NotFound)?;
    let (_, html) = state.store.web_copy(id).await?.ok_or(PageError::NotFound)?;
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::CONTENT_SECURITY_POLICY, WEB_COPY_POLICY),
        ],
        Html(html),
    )
        .into_response())
}

/// `GET /static/site.css`: the pages' stylesheet (`pages/site.css`, which
/// `site.templates` can replace). The pages' policy allows no inline
/// style, so this is the only place the pages' look comes from. An ETag
/// from its content, so a reload costs a 304.
pub async fn stylesheet(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let css = match crate::templates::render(&state.tera, "pages/site.css", &tera::Context::new()) {
        Ok(css) => css,
        Err(e) => return PageError::from(e).into_response(),
    };
    let etag = format!("\"{}\"", &crate::subscribers::tokens::hash(&css)[..16]);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        css.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
