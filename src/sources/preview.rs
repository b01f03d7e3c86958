//! `sources test`: one page of a source, read and shown, nothing written.

use super::http::Fetcher;
use super::{SourceError, read_source};
use crate::config::Config;
use crate::store::SourceState;
use serde::Serialize;

/// What `sources test` shows: one page of a source, read but not stored.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub name: String,
    pub items: Vec<PreviewItem>,
    pub errors: Vec<SourceError>,
}

#[derive(Debug, Serialize)]
pub struct PreviewItem {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub url: String,
    pub published: String,
    pub tags: Vec<String>,
}

/// Fetches one page of the source `name` and reads it, writing nothing
/// (its stored state is read for nothing either: a first page as a first
/// poll would ask for it).
pub async fn test(config: &Config, name: &str) -> Result<Preview, String> {
    let source = config
        .sources
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
            format!(
                "no [[source]] named '{name}' (sources: {})",
                names.join(", ")
            )
        })?;
    let fetcher = Fetcher::new(config.site.base()).map_err(|e| e.to_string())?;
    let state = SourceState {
        name: source.name.clone(),
        ..SourceState::default()
    };
    let pass = read_source(&fetcher, source, &state, false, true).await;
    let mut errors = pass.errors;
    errors.extend(pass.item_errors.into_iter().map(|e| SourceError {
        url: e.url.unwrap_or_else(|| source.url.to_string()),
        error: e.error,
    }));
    let items = pass
        .items
        .into_iter()
        .map(|item| {
            let slug = item.wanted_slug();
            let a = item.clone().into_article(slug, &config.site.author);
            PreviewItem {
                id: item.id,
                slug: a.slug.as_str().to_owned(),
                title: a.title,
                url: a.url,
                published: a.published.to_rfc3339(),
                tags: a.tags,
            }
        })
        .collect();
    Ok(Preview {
        name: source.name.clone(),
        items,
        errors,
    })
}
