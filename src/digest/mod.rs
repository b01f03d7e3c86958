//! Digests: which run a fire time stands for, what goes into each
//! subscriber's mail (`compose`), and how it looks (`render`). Sending is
//! `delivery`'s job.

pub mod compose;
pub mod preview;
pub mod render;
mod view;

use crate::config::{Config, DigestConfig};
use crate::store::{DigestRun, NewRun, Store, StoreError};
use chrono::{DateTime, Utc};
use compose::{Limits, Material, Scope};
use render::{Audience, Renderer};

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("digest '{0}' is not in the config (its [[digest]] names: {1})")]
    UnknownSchedule(String, String),
    #[error("digest '{0}': its crontab line never fires at or before {1}")]
    NoFire(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

/// Trending topics considered for a digest: more than any digest shows, so
/// that a subscriber's followed topics are found among them.
const TRENDING_CONSIDERED: usize = 50;

pub fn schedule<'a>(config: &'a Config, name: &str) -> Result<&'a DigestConfig, DigestError> {
    config
        .digests
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            DigestError::UnknownSchedule(
                name.to_owned(),
                config
                    .digests
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

pub fn limits(schedule: &DigestConfig) -> Limits {
    Limits {
        max_topics: schedule.max_topics,
        max_articles_per_topic: schedule.max_articles_per_topic,
    }
}

/// The fire time a run for `at` stands for: the last one at or before it.
pub fn fire_at(schedule: &DigestConfig, at: DateTime<Utc>) -> Result<DateTime<Utc>, DigestError> {
    schedule
        .cron
        .last_fire(at, schedule.timezone)
        .ok_or_else(|| DigestError::NoFire(schedule.name.clone(), at.to_rfc3339()))
}

/// One period back from `fire`: the fire before it, or a day or a week.
pub fn period_start(schedule: &DigestConfig, fire: DateTime<Utc>) -> DateTime<Utc> {
    schedule
        .cron
        .last_fire(fire - chrono::Duration::seconds(1), schedule.timezone)
        .unwrap_or_else(|| fire - chrono::Duration::days(schedule.frequency.days()))
}

/// What every digest of a run at `fire` is chosen from, for windows that
/// start at `since` or later.
pub async fn material(
    store: &dyn Store,
    config: &Config,
    fire: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<Material, StoreError> {
    let report =
        crate::topics::report::trending_at(store, config, fire, TRENDING_CONSIDERED).await?;
    let articles = store.digest_articles(since, fire).await?;
    let matcher = crate::topics::load_matcher(config).map_err(|e| StoreError::Other(e.into()))?;
    let vocabulary = matcher.vocabulary();
    let scope = Scope {
        top_level: vocabulary
            .topics
            .iter()
            .filter(|t| t.parent.is_none())
            .map(|t| t.id.clone())
            .collect(),
        concepts: vocabulary.topics.iter().map(|t| t.id.clone()).collect(),
        trend_tags: config.topics.trend_tags,
    };
    Ok(Material::new(report.topics, articles)
        .with_scope(scope)
        .with_candidates(report.candidates))
}

/// Finds the run of `schedule` for `fire`, or creates it with one pending
/// row per confirmed subscriber of its frequency. The second value says
/// whether it was created now.
pub async fn open_run(
    store: &dyn Store,
    config: &Config,
    tera: &tera::Tera,
    schedule: &DigestConfig,
    fire: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(DigestRun, bool), DigestError> {
    // A run resumed (`digest send` again, a restart) is usually the latest:
    // no need to compose and render its browser copy again.
    if let Some(run) = store.latest_run(Some(&schedule.name)).await?
        && run.fire == fire
    {
        return Ok((run, false));
    }
    let since = period_start(schedule, fire);
    // The browser copy: everything that trended, over one period.
    let material = material(store, config, fire, since).await?;
    let all = material.compose(&[], since, limits(schedule));
    let web = Renderer {
        config,
        schedule,
        tera,
        fire,
        run_id: 0,
    }
    .render(&material, &all, Audience::Web)?;
    let (run, created) = store
        .create_run(
            &NewRun {
                schedule: &schedule.name,
                fire,
                since,
                frequency: schedule.frequency,
                subject: &web.subject,
                web_html: &web.html,
            },
            now,
        )
        .await?;
    Ok((run, created))
}
