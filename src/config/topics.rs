//! `[topics]`: the vocabulary and what makes a topic trend. The defaults
//! live here, with the rest of the config's, so that `topics` reads its
//! parameters from config rather than config from `topics`.

use super::problems::{Choice, Problems};
use super::resolve;
use crate::domain::Slug;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// Read straight from the file; paths are made absolute by `resolved`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TopicsConfig {
    /// `builtin:skincare`, or the path of a vocabulary file.
    pub vocabulary: String,
    /// Concepts merged over the vocabulary, when the file exists; `topics
    /// add` writes here. `local = ""` turns it off.
    #[serde(deserialize_with = "optional_path")]
    pub local: Option<PathBuf>,
    pub window_days: u32,
    pub baseline_days: u32,
    /// The longer window a rise is also tested over (0: none).
    pub long_window_days: u32,
    pub min_count: u32,
    pub min_score: f64,
    pub min_lift: f64,
    /// Where an article must name a topic to count towards its trend.
    #[serde(skip)]
    pub counted_in: CountedIn,
    /// `counted_in` as written; `resolved` checks it.
    #[serde(rename = "counted_in")]
    counted_in_text: Choice<CountedIn>,
    /// Tags that name no concept may trend and fill digests.
    pub trend_tags: bool,
    /// Tags that are no topic at all.
    pub ignore_tags: Vec<String>,
    /// Ingest keeps each article's salient phrases and reports find
    /// emerging candidates among them.
    pub candidates: bool,
    /// `digest preview` shows emerging candidates ("On our radar").
    pub show_candidates_in_preview: bool,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            vocabulary: "builtin:skincare".into(),
            local: Some("topics.local.toml".into()),
            window_days: 7,
            baseline_days: 56,
            long_window_days: 14,
            min_count: 4,
            min_score: 4.0,
            min_lift: 3.0,
            counted_in: CountedIn::Title,
            counted_in_text: Choice::Known(CountedIn::Title),
            trend_tags: false,
            ignore_tags: Vec::new(),
            candidates: true,
            show_candidates_in_preview: true,
        }
    }
}

/// Where an article must name a topic for it to count towards the topic's
/// trend. Elsewhere it still makes the article part of the topic (its
/// feed, its listing under an entry), but a story is what headlines name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CountedIn {
    /// The headline (the default).
    Title,
    /// The headline, the dek or a section heading.
    Lead,
    /// Anywhere the topic is found: a heading, two mentions in the body,
    /// or a tag.
    Anywhere,
}

impl CountedIn {
    /// The prominence trending asks of an occurrence (see
    /// `topics::trending::Occurrence`).
    pub fn min_prominence(self) -> u8 {
        match self {
            Self::Title => 2,
            Self::Lead => 1,
            Self::Anywhere => 0,
        }
    }
}

/// A path, or none for blank text.
fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let text = String::deserialize(d)?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| PathBuf::from(text)))
}

impl TopicsConfig {
    /// Paths against the config file's folder, then the checks.
    pub(super) fn resolved(mut self, root: &Path, p: &mut Problems) -> Self {
        if self.window_days == 0 || self.baseline_days == 0 {
            p.push("topics", "window_days and baseline_days must be at least 1");
        }
        if self.min_count == 0 {
            p.push("topics.min_count", "must be at least 1");
        }
        let counted_in =
            std::mem::replace(&mut self.counted_in_text, Choice::Known(CountedIn::Title));
        if let Some(c) = p.choice("topics.counted_in", counted_in, |other| {
            format!("'{other}' is not one of title, lead, anywhere")
        }) {
            self.counted_in = c;
        }
        for (key, value) in [
            ("topics.min_score", self.min_score),
            ("topics.min_lift", self.min_lift),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                p.push(key, format!("{value} must be a number of at least 0"));
            }
        }
        for (i, t) in self.ignore_tags.iter().enumerate() {
            if Slug::slugify(t).is_err() {
                p.push(
                    &format!("topics.ignore_tags[{i}]"),
                    format!("'{t}' has no letters or digits"),
                );
            }
        }
        if !self.vocabulary.starts_with("builtin:") {
            let file = resolve(root, &self.vocabulary);
            if !file.is_file() {
                p.push(
                    "topics.vocabulary",
                    format!(
                        "'{}' is neither builtin:skincare nor a readable file",
                        self.vocabulary
                    ),
                );
            }
            self.vocabulary = file.display().to_string();
        }
        self.local = self.local.map(|local| resolve(root, local));
        self
    }
}
