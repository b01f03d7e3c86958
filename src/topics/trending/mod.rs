//! Which topics are trending, as an editor would list them: a pure function
//! of (now, articles, topic occurrences, the concept tree, parameters), with
//! no clock inside.
//!
//! **Counting.** The window is the `window_days` before `now`; the baseline
//! the `baseline_days` before the window. Counts are of articles, each topic
//! once per article, at the time it first appeared there (its publication,
//! or the update that added it). An article about a concept also counts for
//! every ancestor of the concept (the store holds those rows). Only articles
//! about skincare count: articles with at least one vocabulary concept
//! (every article when `trend_tags` is on); a batch of diabetes articles
//! neither trends nor dilutes the rates of skincare topics.
//!
//! **The test.** With x of the n window articles and y of the m baseline
//! articles about a topic, the expected share is p = (y + a*pi) / (m + a)
//! (a prior of `a` articles at rate `pi`, so that a topic never seen before
//! is not infinitely surprising) and the score S = -log10 P[X >= x] for
//! X ~ Binomial(n, p). The same test runs over a longer window
//! (`long_window_days`, the 14 days before now against the baseline before
//! them), because a ramp (1, 2, then 6 articles a week) spreads over two
//! weeks and inflates its own baseline; the topic's score is the larger of
//! the two, the longer one less log10(2) for being a second look. Baseline
//! counts are robust to one-off spikes: each window-sized period of the
//! baseline counts at most twice the median period (at least 1), so that a
//! festival week or a story that mentioned a topic in passing does not make
//! it usual. A topic trends when this
//! window has at least `min_count` articles about it, its lift
//! (x+1)/(n*p+1) in the window that scored is at least `min_lift`, and S is
//! at least `min_score`; it is "new" when the baseline has none.
//!
//! **Entries.** A concept tree gives one entry: the highest trending concept,
//! unless one narrower trending concept holds at least `specific_share` of
//! its window articles while the broader one is an established topic
//! (a baseline at least twice the narrower one's, and `min_broad_baseline`
//! or more): then the narrower one is the story ("Retinol", not
//! "Retinoids"). The entry lists the narrower concepts it `includes`.
//!
//! **Echoes.** Each window article belongs to one entry's story: of the
//! entries about it, the most novel one (the lowest baseline rate; an
//! article on exosome facials that mentions microneedling is an exosome
//! story), then the best ranked. An entry most of whose window articles
//! (more than half) belong to one other entry is an echo: it becomes that
//! entry's `related` topic. Microneedling inside the exosome story is
//! related to it, whatever their scores; microneedling trending on articles
//! of its own stays an entry. Each article is listed once, under its
//! story. Ranking: S desc, count desc, then shallower concepts first, then
//! id.
//!
//! When nothing trends, the most covered topics of the window are listed
//! ("covered"), one per concept tree, ties broken by the most recent
//! coverage, then the shallower concept, then id.
//!
//! libm keeps the arithmetic identical on every platform.
//!
//! `score` is the test, `count` the periods and what falls in them,
//! `entries` the concept trees and echoes folded into entries.

mod count;
mod entries;
mod score;
#[cfg(test)]
mod tests;

pub use count::{Falls, Periods, in_scope};
pub(super) use count::{Sizes, Tally};
pub(super) use score::{Scored, score};
pub use score::{beta_binomial_tail_score, binomial_tail_score, burst_score};

use chrono::{DateTime, Utc};
use entries::Stories;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub window_days: u32,
    pub baseline_days: u32,
    /// The longer window a rise is also tested over (0: none).
    pub long_window_days: u32,
    /// Prior weight `a`.
    pub prior_weight: f64,
    /// Prior rate `pi`.
    pub prior_rate: f64,
    pub min_count: u32,
    pub min_lift: f64,
    pub min_score: f64,
    /// Tags that name no concept may trend.
    pub trend_tags: bool,
    /// Share of a broad concept's window articles that makes a narrower
    /// concept the story.
    pub specific_share: f64,
    /// Baseline count from which a concept is broad enough to give way to
    /// a narrower one.
    pub min_broad_baseline: u32,
    /// How baseline periods that are spikes count.
    pub spikes: Spikes,
    /// How a count is tested against its baseline.
    pub test: Test,
    /// How prominently an article must name a topic to count in the test
    /// (0 anywhere, 1 the title, the dek or a heading, 2 the title).
    pub min_prominence: u8,
    /// Window articles an emerging phrase needs.
    pub candidate_min_count: u32,
}

/// How a spike in the baseline (a festival week, a story that mentioned the
/// topic in passing) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spikes {
    /// As it is.
    Kept,
    /// At most this many times the median period (at least 1).
    Median(u32),
    /// At most what the other periods make plausible: the 99.9 %
    /// quantile of a Poisson count at their mean (at least 1).
    Implausible,
}

/// The test of a window's count against its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// Binomial with the baseline's share as the rate (the rate taken as
    /// known).
    Binomial,
    /// Beta-binomial: the baseline's share is itself uncertain, more so
    /// the fewer articles it rests on.
    BetaBinomial,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            window_days: 7,
            baseline_days: 56,
            long_window_days: 14,
            prior_weight: 20.0,
            prior_rate: 0.005,
            min_count: 4,
            min_lift: 3.0,
            min_score: 4.0,
            trend_tags: false,
            specific_share: 0.8,
            min_broad_baseline: 4,
            spikes: Spikes::Implausible,
            test: Test::Binomial,
            min_prominence: 2,
            candidate_min_count: 3,
        }
    }
}

/// One topic as trending sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    pub id: String,
    /// Index of the broader concept in the same list.
    pub parent: Option<u32>,
    /// A vocabulary concept, not a tag: about skincare.
    pub concept: bool,
}

/// One topic's first appearance in one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub article: u32,
    /// Index into the topic list.
    pub topic: u32,
    pub at: DateTime<Utc>,
    /// How prominently the article names the topic (2 title, 1 summary
    /// or heading, 0 body or tags).
    pub prominence: u8,
}

/// What trending reads: `published[i]` is article i's publication time.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub published: &'a [DateTime<Utc>],
    pub topics: &'a [TopicInfo],
    pub occurrences: &'a [Occurrence],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Rising,
    /// Not trending: among the most covered topics of the window, shown only
    /// when nothing trends.
    Covered,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub topic: u32,
    pub status: Status,
    /// Articles about it this window.
    pub count: u32,
    /// Articles about it in the baseline.
    pub baseline_count: u32,
    pub score: f64,
    pub lift: f64,
    /// Its first occurrence ever.
    pub first_seen: DateTime<Utc>,
    /// Of `count` and `baseline_count`, the articles the test counted:
    /// those that name it prominently enough (`Params::min_prominence`).
    pub headlines: u32,
    pub baseline_headlines: u32,
    /// Articles per window-sized period, oldest first; the last is `count`.
    pub weekly: Vec<u32>,
    /// Narrower concepts with articles this window: (topic, count), most first.
    pub includes: Vec<(u32, u32)>,
    /// Echoes folded in: (topic, window articles shared with this entry).
    pub related: Vec<(u32, u32)>,
    /// Window articles listed under this entry (none listed by a higher
    /// entry), most recent first.
    pub articles: Vec<u32>,
}

/// The report at `now`: trending entries, ranked; or, when nothing trends,
/// the most covered topics of the window (status `Covered`).
pub fn analyze(now: DateTime<Utc>, params: &Params, input: &Input) -> Vec<Entry> {
    let periods = Periods::new(now, params);
    let scope = in_scope(input, params);
    let sizes = count::sizes(input, &periods, &scope);
    let tallies = count::tallies(input, &periods, &scope, params);
    let two_windows = params.long_window_days > params.window_days;
    let scored: Vec<Scored> = tallies
        .iter()
        .map(|t| score(t, &sizes, params, two_windows))
        .collect();
    let stories = Stories::new(input, params, &periods, &tallies, &scored);
    let pool = stories.pool();
    let chosen = stories.choose(&pool);
    // Rank, then fold echoes and list each article once.
    let folded = stories.fold_echoes(&chosen);
    folded
        .kept
        .iter()
        .map(|c| stories.entry(*c, &pool, &folded))
        .collect()
}
