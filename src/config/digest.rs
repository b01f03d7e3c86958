//! `[[digest]]`: each e-mail digest, its schedule and its size.

use super::problems::{Choice, Problems};
use crate::domain::schedule::CronLine;
use crate::domain::subscriber::Frequency;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub name: String,
    pub frequency: Frequency,
    pub cron: CronLine,
    pub timezone: Tz,
    pub subject: String,
    pub max_topics: usize,
    pub max_articles_per_topic: usize,
}

/// One `[[digest]]` as written. `name` and `cron` have no default: they are
/// options here only so that their absence is one problem among the others.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawDigest {
    name: Option<String>,
    frequency: Choice<Frequency>,
    cron: Option<String>,
    /// The site's when absent.
    timezone: Option<String>,
    subject: String,
    max_topics: usize,
    max_articles_per_topic: usize,
}

impl Default for RawDigest {
    fn default() -> Self {
        Self {
            name: None,
            frequency: Choice::Known(Frequency::Weekly),
            cron: None,
            timezone: None,
            subject: "This week in skincare: {{ top_topic }}".into(),
            max_topics: 5,
            max_articles_per_topic: 3,
        }
    }
}

/// Every digest, checked; names must be unique. `site_timezone` is `None`
/// when `site.timezone` could not be read (already reported).
pub(super) fn build_all(
    raw: Vec<RawDigest>,
    site_timezone: Option<Tz>,
    p: &mut Problems,
) -> Option<Vec<DigestConfig>> {
    let mut first_use = BTreeMap::new();
    let mut digests = Vec::with_capacity(raw.len());
    for (i, d) in raw.into_iter().enumerate() {
        let key = format!("digest[{i}]");
        if let Some(name) = &d.name
            && *first_use.entry(name.clone()).or_insert(i) != i
        {
            p.push(
                &format!("{key}.name"),
                format!("'{name}' is used by another digest"),
            );
        }
        digests.push(d.build(&key, site_timezone, p));
    }
    digests.into_iter().collect()
}

impl RawDigest {
    fn build(self, key: &str, site_timezone: Option<Tz>, p: &mut Problems) -> Option<DigestConfig> {
        let name = p.required(&format!("{key}.name"), self.name);
        if let Some(name) = &name
            && !is_digest_name(name)
        {
            p.push(
                &format!("{key}.name"),
                format!("'{name}' must be letters, digits, '-' or '_'"),
            );
        }
        let frequency = p.choice(&format!("{key}.frequency"), self.frequency, |other| {
            format!("'{other}' is not daily or weekly")
        });
        let cron_key = format!("{key}.cron");
        let cron = p
            .required(&cron_key, self.cron)
            .and_then(|line| p.cron(&cron_key, &line));
        let timezone = match &self.timezone {
            Some(t) => p.timezone(&format!("{key}.timezone"), t),
            None => site_timezone,
        };
        Some(DigestConfig {
            name: name?,
            frequency: frequency?,
            cron: cron?,
            timezone: timezone?,
            subject: self.subject,
            max_topics: self.max_topics,
            max_articles_per_topic: self.max_articles_per_topic,
        })
    }
}

/// Names go into mail headers (List-Id) and the store: a plain, non-empty
/// alphabet that needs no quoting anywhere.
fn is_digest_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
