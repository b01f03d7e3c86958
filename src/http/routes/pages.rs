//! The landing page and the plain article pages.

use crate::config::Config;
use crate::domain::StoredArticle;
use crate::http::error::PageError;
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

#[derive(Serialize)]
struct FeedLink {
    url: String,
    media_type: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct SiteView<'a> {
    title: &'a str,
    description: &'a str,
    language: &'a str,
    home_url: String,
    feeds: Vec<FeedLink>,
}

#[derive(Serialize)]
struct ArticleView<'a> {
    url: &'a str,
    title: &'a str,
    summary: &'a str,
    author: &'a str,
    reviewed_by: Option<&'a str>,
    category: Option<&'a str>,
    image: Option<&'a str>,
    tags: &'a [String],
    content_html: &'a str,
    published_iso: String,
    published_human: String,
    was_updated: bool,
    updated_iso: String,
    updated_human: String,
}

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
    articles: &'a [crate::topics::report::EntryArticle],
}

/// "18 Nov 2026, 10:30 IST", in the site's time zone.
pub fn human_time(config: &Config, t: DateTime<FixedOffset>) -> String {
    t.with_timezone(&config.site.timezone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

fn article_view<'a>(config: &Config, s: &'a StoredArticle) -> ArticleView<'a> {
    let a = &s.article;
    ArticleView {
        url: &a.url,
        title: &a.title,
        summary: &a.summary,
        author: &a.author.name,
        reviewed_by: a.reviewed_by.as_deref(),
        category: a.category.as_deref(),
        image: a.image.as_deref(),
        tags: &a.tags,
        content_html: &a.content_html,
        published_iso: a.published.to_rfc3339(),
        published_human: human_time(config, a.published),
        was_updated: s.updated > a.published,
        updated_iso: s.updated.to_rfc3339(),
        updated_human: human_time(config, s.updated),
    }
}

/// The `site` variable every page template gets.
pub fn site_context(state: &AppState) -> tera::Context {
    let c = &state.config;
    let site = SiteView {
        title: &c.site.title,
        description: &c.site.description,
        language: &c.site.language,
        home_url: format!("{}/", c.site.base()),
        feeds: c
            .feeds
            .formats
            .iter()
            .map(|f| FeedLink {
                url: c.site.url(&format!("/feeds/{}", f.file_name())),
                media_type: f.media_type(),
                label: f.label(),
            })
            .collect(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("site", &site);
    ctx
}

fn page(state: &AppState, name: &str, ctx: &tera::Context) -> Result<Response, PageError> {
    let html = crate::templates::render(&state.tera, name, ctx).map_err(anyhow::Error::from)?;
    Ok(Html(html).into_response())
}

pub async fn index(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let mut cookie = None;
    let result = async {
        let articles = state
            .store
            .published_articles(Some(20))
            .await
            .map_err(anyhow::Error::from)?;
        let views: Vec<ArticleView> = articles
            .iter()
            .map(|a| article_view(&state.config, a))
            .collect();
        let trending = crate::topics::report::trending_at(
            state.store.as_ref(),
            &state.config,
            state.clock.now(),
            6,
        )
        .await
        .map_err(anyhow::Error::from)?;
        let topics: Vec<TrendView> = trending
            .topics
            .iter()
            .map(|t| TrendView {
                label: &t.label,
                status: match t.status {
                    crate::topics::trending::Status::New => "new",
                    crate::topics::trending::Status::Rising => "rising",
                    crate::topics::trending::Status::Covered => "covered",
                },
                count: t.count,
                feed: state.config.site.url(&t.feed),
                sparkline: crate::topics::report::sparkline_svg(&t.weekly),
                why: &t.why,
                first_seen: chrono::DateTime::parse_from_rfc3339(&t.first_seen)
                    .map(|d| {
                        d.with_timezone(&state.config.site.timezone)
                            .format("%-d %b %Y")
                            .to_string()
                    })
                    .unwrap_or_default(),
                includes: t
                    .includes
                    .iter()
                    .map(|i| format!("{} ({})", i.label, i.count))
                    .collect::<Vec<_>>()
                    .join(", "),
                related: t
                    .related
                    .iter()
                    .map(|r| r.label.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                articles: &t.articles,
            })
            .collect();
        let mut ctx = site_context(&state);
        ctx.insert("articles", &views);
        ctx.insert("trending", &topics);
        ctx.insert(
            "trending_is_fallback",
            &topics.iter().all(|t| t.status == "covered"),
        );
        ctx.insert(
            "trending_feed",
            &state.config.site.url("/feeds/trending/atom.xml"),
        );
        cookie = super::subscribe::form_context(&state, &headers, &mut ctx).await;
        page(&state, "pages/index.html", &ctx)
    }
    .await;
    match result {
        Ok(r) => super::subscribe::with_cookie(r, cookie),
        Err(e) => e.into_page(&state),
    }
}

pub async fn article(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let result = async {
        let stored = state
            .store
            .article(&slug)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or(PageError::NotFound)?;
        let mut ctx = site_context(&state);
        ctx.insert("article", &article_view(&state.config, &stored));
        page(&state, "pages/article.html", &ctx)
    }
    .await;
    result.unwrap_or_else(|e| e.into_page(&state))
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    PageError::NotFound.into_page(&state)
}

/// The browser copy of a digest run: the same for every subscriber, with
/// no personal links.
pub async fn digest(State(state): State<AppState>, Path(run_id): Path<String>) -> Response {
    let result = async {
        let id: i64 = run_id.parse().map_err(|_| PageError::NotFound)?;
        let (_, html) = state
            .store
            .web_copy(id)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or(PageError::NotFound)?;
        Ok::<_, PageError>(
            (
                [(axum::http::header::CACHE_CONTROL, "public, max-age=3600")],
                Html(html),
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|e| e.into_page(&state))
}
