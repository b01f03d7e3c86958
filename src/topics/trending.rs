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

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

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
            min_count: 3,
            min_lift: 3.0,
            min_score: 4.0,
            trend_tags: false,
            specific_share: 0.8,
            min_broad_baseline: 4,
            spikes: Spikes::Median(2),
            test: Test::Binomial,
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

/// -log10 P[X >= x] for X ~ Binomial(n, p), summed in log space from x up
/// until the terms stop mattering.
pub fn binomial_tail_score(x: u32, n: u32, p: f64) -> f64 {
    if x == 0 {
        return 0.0;
    }
    if x > n {
        return f64::INFINITY;
    }
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let (nf, xf) = (f64::from(n), f64::from(x));
    let log_p = libm::log(p);
    let log_q = libm::log1p(-p);
    let term = libm::lgamma(nf + 1.0) - libm::lgamma(xf + 1.0) - libm::lgamma(nf - xf + 1.0)
        + xf * log_p
        + (nf - xf) * log_q;
    let ratio = log_p - log_q;
    // pmf(k+1) / pmf(k) = (n-k)/(k+1) * p/q
    tail_score(term, x, n, nf * p, |k| {
        libm::log(f64::from(n - k)) - libm::log(f64::from(k + 1)) + ratio
    })
}

/// -log10 of a tail sum P[X >= x] from its first term's log and the log of
/// each next term's ratio to the one before (`step(k)`: pmf(k+1) / pmf(k)),
/// summed in log space until the terms stop mattering past the `mean`.
fn tail_score(first: f64, x: u32, n: u32, mean: f64, step: impl Fn(u32) -> f64) -> f64 {
    let mut term = first;
    let mut max = term;
    let mut sum = 1.0; // in units of exp(max)
    let mut k = x;
    while k < n {
        term += step(k);
        k += 1;
        if term > max {
            sum = sum * libm::exp(max - term) + 1.0;
            max = term;
        } else {
            let rel = libm::exp(term - max);
            sum += rel;
            if rel < 1e-17 && f64::from(k) > mean {
                break;
            }
        }
    }
    let log_tail = max + libm::log(sum);
    (-log_tail / core::f64::consts::LN_10).max(0.0)
}

/// -log10 P[X >= x] for X ~ BetaBinomial(n, alpha, beta), summed in log
/// space from x up, as for the binomial.
pub fn beta_binomial_tail_score(x: u32, n: u32, alpha: f64, beta: f64) -> f64 {
    if x == 0 {
        return 0.0;
    }
    if x > n {
        return f64::INFINITY;
    }
    let (nf, xf) = (f64::from(n), f64::from(x));
    let lbeta = |a: f64, b: f64| libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b);
    let first = libm::lgamma(nf + 1.0) - libm::lgamma(xf + 1.0) - libm::lgamma(nf - xf + 1.0)
        + lbeta(xf + alpha, nf - xf + beta)
        - lbeta(alpha, beta);
    let mean = nf * alpha / (alpha + beta);
    // pmf(k+1) / pmf(k) = (n-k)/(k+1) * (k+alpha)/(n-k-1+beta)
    tail_score(first, x, n, mean, |k| {
        let kf = f64::from(k);
        libm::log(nf - kf) - libm::log(kf + 1.0) + libm::log(kf + alpha)
            - libm::log(nf - kf - 1.0 + beta)
    })
}

/// The 99.9 % quantile of a Poisson count with this mean.
fn poisson_q999(mean: f64) -> u32 {
    let mut term = libm::exp(-mean);
    let mut cdf = term;
    let mut k = 0u32;
    while cdf < 0.999 && k < 10_000 {
        k += 1;
        term *= mean / f64::from(k);
        cdf += term;
    }
    k
}

/// The test of one count against its baseline: (score, lift).
pub fn burst_score(params: &Params, x: u32, n: u32, y: u32, m: u32) -> (f64, f64) {
    let p = (f64::from(y) + params.prior_weight * params.prior_rate)
        / (f64::from(m) + params.prior_weight);
    let score = match params.test {
        Test::Binomial => binomial_tail_score(x, n, p),
        Test::BetaBinomial => {
            let alpha = f64::from(y) + params.prior_weight * params.prior_rate;
            let beta =
                f64::from(m.saturating_sub(y)) + params.prior_weight * (1.0 - params.prior_rate);
            beta_binomial_tail_score(x, n, alpha, beta)
        }
    };
    let lift = (f64::from(x) + 1.0) / (f64::from(n) * p + 1.0);
    (score, lift)
}

/// The periods a report looks at, as offsets in seconds before `now`.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    now: DateTime<Utc>,
    window: i64,
    baseline: i64,
    long: i64,
}

/// Which periods an instant falls in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Falls {
    pub window: bool,
    pub baseline: bool,
    pub long: bool,
    pub long_baseline: bool,
}

impl Periods {
    pub fn new(now: DateTime<Utc>, params: &Params) -> Self {
        let day = 86_400;
        let window = i64::from(params.window_days.max(1)) * day;
        Self {
            now,
            window,
            baseline: i64::from(params.baseline_days) * day,
            long: (i64::from(params.long_window_days) * day).max(window),
        }
    }

    pub fn falls(&self, t: DateTime<Utc>) -> Option<Falls> {
        let age = (self.now - t).num_seconds();
        if age <= 0 && t >= self.now {
            return None;
        }
        Some(Falls {
            window: age <= self.window,
            baseline: age > self.window && age <= self.window + self.baseline,
            long: age <= self.long,
            long_baseline: age > self.long && age <= self.long + self.baseline,
        })
    }

    /// Window-sized periods in the series: the baseline's and the window.
    pub fn buckets(&self) -> usize {
        usize::try_from((self.baseline + self.window - 1) / self.window + 1).unwrap_or(9)
    }

    /// Days covered by the daily counts: the long window and its baseline.
    pub fn days(&self) -> usize {
        usize::try_from((self.long + self.baseline) / 86_400).unwrap_or(0)
    }

    /// Whole days between `t` and now (0: the last 24 hours).
    pub fn day(&self, t: DateTime<Utc>) -> Option<usize> {
        let age = (self.now - t).num_seconds();
        if age <= 0 && t >= self.now {
            return None;
        }
        usize::try_from((age.max(1) - 1) / 86_400).ok()
    }

    /// The series bucket of `t`, 0 the oldest; None when older than them all.
    pub fn bucket(&self, t: DateTime<Utc>) -> Option<usize> {
        let age = (self.now - t).num_seconds();
        if age <= 0 && t >= self.now {
            return None;
        }
        let back = usize::try_from((age.max(1) - 1) / self.window).ok()?;
        let n = self.buckets();
        (back < n).then(|| n - 1 - back)
    }
}

/// Everything counted about one topic.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    /// The window's articles.
    pub(super) window: Vec<u32>,
    pub(super) baseline: u32,
    pub(super) long: u32,
    pub(super) long_baseline: u32,
    pub(super) weekly: Vec<u32>,
    /// Occurrences per day back from now (0: the last 24 hours), over the
    /// long window and its baseline.
    pub(super) days: Vec<u16>,
    pub(super) first_seen: Option<DateTime<Utc>>,
    /// The most recent occurrence in the window.
    pub(super) last_seen: Option<DateTime<Utc>>,
    /// How prominently each window article names it, when not just in
    /// the body.
    pub(super) prominence: HashMap<u32, u8>,
}

/// A topic's figures.
#[derive(Debug, Clone)]
pub(super) struct Scored {
    pub(super) count: u32,
    pub(super) baseline: u32,
    pub(super) score: f64,
    pub(super) lift: f64,
    /// The baseline rate p: how usual the topic is.
    pub(super) rate: f64,
    pub(super) trending: bool,
}

/// Article counts of the periods, articles about skincare only.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sizes {
    pub(super) window: u32,
    pub(super) baseline: u32,
    pub(super) long: u32,
    pub(super) long_baseline: u32,
}

/// Which articles are in scope: about at least one concept (or anything,
/// with `trend_tags`).
pub fn in_scope(input: &Input, params: &Params) -> Vec<bool> {
    let mut scope = vec![params.trend_tags; input.published.len()];
    if !params.trend_tags {
        for o in input.occurrences {
            if input
                .topics
                .get(o.topic as usize)
                .is_some_and(|t| t.concept)
                && let Some(s) = scope.get_mut(o.article as usize)
            {
                *s = true;
            }
        }
    }
    scope
}

/// The articles of each period (published there, or given a topic there),
/// in scope only.
fn sizes(input: &Input, periods: &Periods, scope: &[bool]) -> Sizes {
    let mut flags = vec![0u8; input.published.len()];
    let mut mark = |a: u32, t: DateTime<Utc>| {
        if let (Some(f), Some(falls)) = (flags.get_mut(a as usize), periods.falls(t)) {
            *f |= u8::from(falls.window)
                | u8::from(falls.baseline) << 1
                | u8::from(falls.long) << 2
                | u8::from(falls.long_baseline) << 3;
        }
    };
    for (i, t) in input.published.iter().enumerate() {
        mark(u32::try_from(i).unwrap_or(u32::MAX), *t);
    }
    for o in input.occurrences {
        mark(o.article, o.at);
    }
    let mut s = Sizes::default();
    for (f, in_scope) in flags.iter().zip(scope) {
        if *in_scope {
            s.window += u32::from(f & 1);
            s.baseline += u32::from(f >> 1 & 1);
            s.long += u32::from(f >> 2 & 1);
            s.long_baseline += u32::from(f >> 3 & 1);
        }
    }
    s
}

fn tallies(input: &Input, periods: &Periods, scope: &[bool], params: &Params) -> Vec<Tally> {
    let buckets = periods.buckets();
    let mut out = vec![Tally::default(); input.topics.len()];
    for o in input.occurrences {
        let (Some(topic), Some(true)) = (
            input.topics.get(o.topic as usize),
            scope.get(o.article as usize),
        ) else {
            continue;
        };
        if !topic.concept && !params.trend_tags {
            continue;
        }
        let t = &mut out[o.topic as usize];
        if t.first_seen.is_none_or(|f| o.at < f) {
            t.first_seen = Some(o.at);
        }
        let Some(falls) = periods.falls(o.at) else {
            continue;
        };
        if falls.window {
            t.window.push(o.article);
            if o.prominence > 0 {
                let p = t.prominence.entry(o.article).or_insert(0);
                *p = (*p).max(o.prominence);
            }
            if t.last_seen.is_none_or(|l| o.at > l) {
                t.last_seen = Some(o.at);
            }
        }
        t.baseline += u32::from(falls.baseline);
        t.long += u32::from(falls.long);
        t.long_baseline += u32::from(falls.long_baseline);
        if let Some(b) = periods.bucket(o.at) {
            if t.weekly.is_empty() {
                t.weekly = vec![0; buckets];
            }
            t.weekly[b] += 1;
        }
        if let Some(d) = periods.day(o.at).filter(|d| *d < periods.days()) {
            if t.days.is_empty() {
                t.days = vec![0; periods.days()];
            }
            t.days[d] = t.days[d].saturating_add(1);
        }
    }
    out
}

/// A baseline count robust to one-off spikes: the baseline's days, from
/// `from` days back, in window-sized periods; each period counts at most
/// twice the median period (and at least 1). A festival week of nine
/// articles, or a story that mentioned a topic in passing, does not make
/// the topic usual.
fn robust_baseline(
    days: &[u16],
    from: usize,
    period: usize,
    baseline_days: usize,
    spikes: Spikes,
) -> u32 {
    if days.is_empty() || period == 0 {
        return 0;
    }
    let periods: Vec<u32> = (0..baseline_days.div_ceil(period))
        .map(|k| {
            let start = from + k * period;
            let end = (start + period).min(from + baseline_days).min(days.len());
            days.get(start..end)
                .map_or(0, |d| d.iter().map(|x| u32::from(*x)).sum())
        })
        .collect();
    match spikes {
        Spikes::Kept => periods.iter().sum(),
        Spikes::Median(factor) => {
            let mut sorted = periods.clone();
            sorted.sort_unstable();
            let median = sorted
                .get(sorted.len().saturating_sub(1) / 2)
                .copied()
                .unwrap_or(0);
            let cap = (factor * median).max(1);
            periods.iter().map(|p| (*p).min(cap)).sum()
        }
        Spikes::Implausible => {
            let total: u32 = periods.iter().sum();
            let others = periods.len().saturating_sub(1).max(1) as f64;
            periods
                .iter()
                .map(|p| {
                    let mean = f64::from(total - p) / others;
                    (*p).min(poisson_q999(mean).max(1))
                })
                .sum()
        }
    }
}

/// The test of one topic (or phrase): both windows, robust baselines.
pub(super) fn score(t: &Tally, s: &Sizes, params: &Params, two_windows: bool) -> Scored {
    let x = u32::try_from(t.window.len()).unwrap_or(u32::MAX);
    let window = params.window_days.max(1) as usize;
    let baseline_days = params.baseline_days as usize;
    let y = robust_baseline(&t.days, window, window, baseline_days, params.spikes).min(t.baseline);
    let (short, short_lift) = burst_score(params, x, s.window, y, s.baseline);
    let (score, lift) = if two_windows {
        let long_days = (params.long_window_days as usize).max(window);
        let y_long = robust_baseline(&t.days, long_days, window, baseline_days, params.spikes)
            .min(t.long_baseline);
        let (long, long_lift) = burst_score(params, t.long, s.long, y_long, s.long_baseline);
        // The longer window is a second look: it pays for being one.
        let long = (long - core::f64::consts::LOG10_2).max(0.0);
        if long > short {
            (long, long_lift)
        } else {
            (short, short_lift)
        }
    } else {
        (short, short_lift)
    };
    Scored {
        count: x,
        baseline: t.baseline,
        score,
        lift,
        rate: (f64::from(t.baseline) + params.prior_weight * params.prior_rate)
            / (f64::from(s.baseline) + params.prior_weight),
        trending: x >= params.min_count && lift >= params.min_lift && score >= params.min_score,
    }
}

/// The concept tree, as indexes.
struct Tree<'a> {
    topics: &'a [TopicInfo],
    depth: Vec<u32>,
}

impl<'a> Tree<'a> {
    fn new(topics: &'a [TopicInfo]) -> Self {
        let depth = (0..topics.len())
            .map(|i| {
                let mut d = 0;
                let mut at = topics[i].parent;
                // The vocabulary has no cycles; the bound keeps bad input finite.
                while let Some(p) = at.filter(|_| d < 64) {
                    d += 1;
                    at = topics.get(p as usize).and_then(|t| t.parent);
                }
                d
            })
            .collect();
        Self { topics, depth }
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.topics
            .get(i)
            .and_then(|t| t.parent)
            .map(|p| p as usize)
    }

    /// `a` is `d` or one of its ancestors.
    fn is_ancestor_or_self(&self, a: usize, d: usize) -> bool {
        let mut at = Some(d);
        let mut steps = 0;
        while let Some(i) = at {
            if i == a {
                return true;
            }
            steps += 1;
            if steps > 64 {
                return false;
            }
            at = self.parent(i);
        }
        false
    }

    fn related(&self, a: usize, b: usize) -> bool {
        self.is_ancestor_or_self(a, b) || self.is_ancestor_or_self(b, a)
    }
}

fn overlap(a: &[u32], b: &HashSet<u32>) -> u32 {
    u32::try_from(a.iter().filter(|x| b.contains(x)).count()).unwrap_or(u32::MAX)
}

/// The report at `now`: trending entries, ranked; or, when nothing trends,
/// the most covered topics of the window (status `Covered`).
pub fn analyze(now: DateTime<Utc>, params: &Params, input: &Input) -> Vec<Entry> {
    let periods = Periods::new(now, params);
    let scope = in_scope(input, params);
    let sizes = sizes(input, &periods, &scope);
    let tallies = tallies(input, &periods, &scope, params);
    let two_windows = params.long_window_days > params.window_days;
    let scored: Vec<Scored> = tallies
        .iter()
        .map(|t| score(t, &sizes, params, two_windows))
        .collect();
    let tree = Tree::new(input.topics);
    let window_sets: Vec<HashSet<u32>> = tallies
        .iter()
        .map(|t| t.window.iter().copied().collect())
        .collect();

    let trending: Vec<usize> = (0..scored.len()).filter(|i| scored[*i].trending).collect();
    let covered = trending.is_empty();
    // The nodes entries are chosen from, best first.
    let mut pool: Vec<usize> = if covered {
        (0..scored.len()).filter(|i| scored[*i].count > 0).collect()
    } else {
        trending
    };
    pool.sort_by(|a, b| {
        let (x, y) = (&scored[*a], &scored[*b]);
        let by_strength = if covered {
            y.count
                .cmp(&x.count)
                .then_with(|| tallies[*b].last_seen.cmp(&tallies[*a].last_seen))
        } else {
            y.score.total_cmp(&x.score).then(y.count.cmp(&x.count))
        };
        by_strength
            .then(tree.depth[*a].cmp(&tree.depth[*b]))
            .then_with(|| input.topics[*a].id.cmp(&input.topics[*b].id))
    });

    // One entry per concept tree (per story within it): the first of the
    // pool in its tree, made more specific when one narrower concept is the
    // story.
    let mut chosen: Vec<usize> = Vec::new();
    for &u in &pool {
        if chosen.iter().any(|c| tree.related(*c, u)) {
            continue;
        }
        // The highest pool member above u comes first: it is the entry's
        // candidate level, unless u is already under a chosen one.
        let mut top = u;
        let mut at = tree.parent(u);
        while let Some(p) = at {
            if pool.contains(&p) {
                top = p;
            }
            at = tree.parent(p);
        }
        if chosen.iter().any(|c| tree.related(*c, top)) {
            continue;
        }
        let entry = narrower_story(top, &pool, &scored, &window_sets, &tree, params);
        chosen.push(entry);
    }
    // Rank, then fold echoes and list each article once.
    chosen.sort_by_key(|c| pool.iter().position(|p| p == c).unwrap_or(usize::MAX));
    let (kept, related) = fold_echoes(&chosen, &scored, &tallies, &window_sets);
    let owners = owners(&kept, &scored, &tallies);
    let mut entries: Vec<Entry> = Vec::new();
    for c in kept {
        let s = &scored[c];
        let mut includes: Vec<(u32, u32)> = (0..tallies.len())
            .filter(|d| *d != c && scored[*d].count > 0 && tree.is_ancestor_or_self(c, *d))
            .map(|d| (u32::try_from(d).unwrap_or(u32::MAX), scored[d].count))
            .collect();
        includes.sort_by(|a, b| {
            b.1.cmp(&a.1).then_with(|| {
                input.topics[a.0 as usize]
                    .id
                    .cmp(&input.topics[b.0 as usize].id)
            })
        });
        let mut articles: Vec<u32> = tallies[c]
            .window
            .iter()
            .copied()
            .filter(|a| owners.get(a) == Some(&c))
            .collect();
        articles.sort_by(|a, b| {
            let t = |i: &u32| input.published.get(*i as usize).copied();
            t(b).cmp(&t(a)).then(a.cmp(b))
        });
        entries.push(Entry {
            topic: u32::try_from(c).unwrap_or(u32::MAX),
            status: if covered {
                Status::Covered
            } else if s.baseline == 0 {
                Status::New
            } else {
                Status::Rising
            },
            count: s.count,
            baseline_count: s.baseline,
            score: s.score,
            lift: s.lift,
            first_seen: tallies[c].first_seen.unwrap_or(now),
            weekly: if tallies[c].weekly.is_empty() {
                vec![0; periods.buckets()]
            } else {
                tallies[c].weekly.clone()
            },
            includes,
            related: related
                .iter()
                .filter(|(host, _, _)| *host == c)
                .map(|(_, echo, shared)| (u32::try_from(*echo).unwrap_or(u32::MAX), *shared))
                .collect(),
            articles,
        });
    }
    entries
}

/// Which entry each window article belongs to: of the entries about it,
/// the one it names most prominently (the title, then the summary or a
/// heading, then the body), then the most novel
/// (the lowest baseline rate: an article on exosome facials that mentions
/// microneedling is an exosome story), then the best ranked.
fn owners(kept: &[usize], scored: &[Scored], tallies: &[Tally]) -> HashMap<u32, usize> {
    let mut owner: HashMap<u32, usize> = HashMap::new();
    for (rank, &c) in kept.iter().enumerate() {
        for a in &tallies[c].window {
            let better = match owner.get(a) {
                None => true,
                Some(&o) => {
                    let other = kept.iter().position(|k| *k == o).unwrap_or(usize::MAX);
                    let prominence = |t: usize| tallies[t].prominence.get(a).copied().unwrap_or(0);
                    prominence(o)
                        .cmp(&prominence(c))
                        .then(scored[c].rate.total_cmp(&scored[o].rate))
                        .then(rank.cmp(&other))
                        .is_lt()
                }
            };
            if better {
                owner.insert(*a, c);
            }
        }
    }
    owner
}

/// Folds echoes: an entry most of whose window articles belong to one other
/// entry's story becomes that entry's related topic. Returns the entries
/// kept, in rank order, and (host, echo, shared articles).
fn fold_echoes(
    chosen: &[usize],
    scored: &[Scored],
    tallies: &[Tally],
    window_sets: &[HashSet<u32>],
) -> (Vec<usize>, Vec<(usize, usize, u32)>) {
    let mut kept: Vec<usize> = chosen.to_vec();
    let mut related = Vec::new();
    // Each fold changes who owns what: fold one at a time, then look again.
    // An entry can only be folded into a more novel one, so this ends.
    loop {
        let owner = owners(&kept, scored, tallies);
        let fold = kept.iter().find_map(|&c| {
            let mut by_owner: HashMap<usize, u32> = HashMap::new();
            for a in &tallies[c].window {
                if let Some(&o) = owner.get(a).filter(|o| **o != c) {
                    *by_owner.entry(o).or_default() += 1;
                }
            }
            let total = u32::try_from(tallies[c].window.len()).unwrap_or(u32::MAX);
            by_owner
                .into_iter()
                .filter(|(_, n)| n * 2 > total)
                .map(|(host, _)| (host, c))
                .next()
        });
        match fold {
            Some((host, echo)) => {
                kept.retain(|k| *k != echo);
                let shared = overlap(&tallies[echo].window, &window_sets[host]);
                related.push((host, echo, shared));
            }
            None => return (kept, related),
        }
    }
}

/// The most informative level of a story found at `top`: a narrower pool
/// member that holds most of its articles, when `top` is an established,
/// broader topic; else `top` itself.
fn narrower_story(
    top: usize,
    pool: &[usize],
    scored: &[Scored],
    window_sets: &[HashSet<u32>],
    tree: &Tree,
    params: &Params,
) -> usize {
    let mut at = top;
    loop {
        let broad = &scored[at];
        let total = window_sets[at].len().max(1) as f64;
        let next = pool
            .iter()
            .copied()
            // The pool is ranked: the first is the strongest.
            .find(|d| {
                let narrow = &scored[*d];
                *d != at
                    && tree.is_ancestor_or_self(at, *d)
                    && window_sets[*d].len() as f64 >= params.specific_share * total
                    && broad.baseline >= params.min_broad_baseline
                    && broad.baseline >= 2 * narrow.baseline
            });
        match next {
            Some(d) => at = d,
            None => return at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
            .unwrap()
            .to_utc()
    }

    fn at(days_before: f64) -> DateTime<Utc> {
        now() - Duration::seconds((days_before * 86400.0) as i64)
    }

    /// A little world: topics by id (with parents), and articles with the
    /// topics they are about.
    #[derive(Default)]
    struct World {
        topics: Vec<TopicInfo>,
        published: Vec<DateTime<Utc>>,
        occurrences: Vec<Occurrence>,
    }

    impl World {
        fn topic(&mut self, id: &str, parent: Option<&str>, concept: bool) -> &mut Self {
            let parent = parent.map(|p| self.index(p));
            self.topics.push(TopicInfo {
                id: id.into(),
                parent,
                concept,
            });
            self
        }

        fn index(&self, id: &str) -> u32 {
            self.topics.iter().position(|t| t.id == id).unwrap() as u32
        }

        /// An article `days` ago about `topics` (ancestors added, as the
        /// store does).
        fn article(&mut self, days: f64, topics: &[&str]) -> u32 {
            let a = self.published.len() as u32;
            self.published.push(at(days));
            let mut all: Vec<u32> = Vec::new();
            for t in topics {
                let mut i = Some(self.index(t));
                while let Some(x) = i {
                    if !all.contains(&x) {
                        all.push(x);
                    }
                    i = self.topics[x as usize].parent;
                }
            }
            for topic in all {
                self.occurrences.push(Occurrence {
                    article: a,
                    topic,
                    at: at(days),
                    prominence: 2,
                });
            }
            a
        }

        /// `per_week` background articles a week over the window and the
        /// baseline, each about `topic`.
        fn background(&mut self, per_week: u32, topic: &str) {
            for w in 0..9 {
                for i in 0..per_week {
                    let d = 7.0 * f64::from(w) + 0.3 + 6.5 * f64::from(i) / f64::from(per_week);
                    self.article(d, &[topic]);
                }
            }
        }

        fn run(&self, params: &Params) -> Vec<(String, Status, u32, u32)> {
            self.entries(params)
                .into_iter()
                .map(|e| {
                    (
                        self.topics[e.topic as usize].id.clone(),
                        e.status,
                        e.count,
                        e.baseline_count,
                    )
                })
                .collect()
        }

        fn entries(&self, params: &Params) -> Vec<Entry> {
            analyze(
                now(),
                params,
                &Input {
                    published: &self.published,
                    topics: &self.topics,
                    occurrences: &self.occurrences,
                },
            )
        }

        fn ids(&self, list: &[(u32, u32)]) -> Vec<(String, u32)> {
            list.iter()
                .map(|(t, n)| (self.topics[*t as usize].id.clone(), *n))
                .collect()
        }
    }

    fn skincare() -> World {
        let mut w = World::default();
        w.topic("sunscreen", None, true)
            .topic("exosomes", None, true)
            .topic("exosome-therapy", Some("exosomes"), true)
            .topic("exosome-facial", Some("exosomes"), true)
            .topic("microneedling", None, true)
            .topic("retinoids", None, true)
            .topic("retinol", Some("retinoids"), true)
            .topic("tretinoin", Some("retinoids"), true)
            .topic("azelaic-acid", None, true)
            .topic("diabetes", None, false)
            .topic("news", None, false);
        w.background(20, "sunscreen");
        w
    }

    #[test]
    fn the_tail_matches_a_direct_sum() {
        // P[X >= 3], n = 100, p = 0.1/820: direct sum of the first terms.
        let p: f64 = 0.1 / 820.0;
        let direct: f64 = (3..=10)
            .map(|k| {
                let c = (0..k).fold(1.0, |acc, i| acc * f64::from(100 - i) / f64::from(i + 1));
                c * p.powi(k) * (1.0 - p).powi(100 - k)
            })
            .sum();
        let s = binomial_tail_score(3, 100, p);
        assert!(
            (s - (-direct.log10())).abs() < 1e-9,
            "{s} vs {}",
            -direct.log10()
        );
        assert_eq!(binomial_tail_score(0, 100, 0.5), 0.0);
        assert!((binomial_tail_score(1, 1, 0.5) - 0.5f64.log10().abs()).abs() < 1e-12);
    }

    #[test]
    fn a_story_split_over_narrower_concepts_is_one_entry_for_the_parent() {
        let mut w = skincare();
        w.article(1.0, &["exosome-therapy"]);
        w.article(2.0, &["exosome-facial"]);
        w.article(3.0, &["exosome-facial", "exosome-therapy"]);
        let e = w.entries(&Params::default());
        assert_eq!(e.len(), 1, "{:?}", w.run(&Params::default()));
        assert_eq!(w.topics[e[0].topic as usize].id, "exosomes");
        assert_eq!((e[0].status, e[0].count), (Status::New, 3));
        assert_eq!(
            w.ids(&e[0].includes),
            [
                ("exosome-facial".to_owned(), 2),
                ("exosome-therapy".to_owned(), 2)
            ]
        );
        assert_eq!(e[0].articles.len(), 3);
    }

    #[test]
    fn a_narrower_concept_is_the_story_when_the_broad_one_is_established() {
        let mut w = skincare();
        // Retinoids are written about every week (tretinoin); this week
        // brings six retinol articles.
        for week in 1..9 {
            for i in 0..2 {
                w.article(7.0 * f64::from(week) + 1.0 + f64::from(i), &["tretinoin"]);
            }
        }
        for d in 0..6 {
            w.article(0.5 + f64::from(d), &["retinol"]);
        }
        let r = w.run(&Params::default());
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].0, "retinol", "{r:?}");
    }

    #[test]
    fn an_echo_becomes_related_and_an_independent_story_stays_an_entry() {
        let mut w = skincare();
        for d in [1.0, 2.0, 3.0, 4.0] {
            w.article(d, &["exosomes", "microneedling"]);
        }
        // Microneedling is a rare topic; exosomes are new.
        w.article(44.0, &["microneedling"]);
        let e = w.entries(&Params::default());
        let ids: Vec<&str> = e
            .iter()
            .map(|e| w.topics[e.topic as usize].id.as_str())
            .collect();
        assert_eq!(ids, ["exosomes"], "{:?}", w.run(&Params::default()));
        assert_eq!(w.ids(&e[0].related), [("microneedling".to_owned(), 4)]);

        // Now microneedling trends on articles of its own, too.
        for d in [0.5, 1.5, 2.5, 3.5, 4.5, 5.5] {
            w.article(d, &["microneedling"]);
        }
        let r = w.run(&Params::default());
        let ids: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            ids,
            ["microneedling", "exosomes"],
            "ten articles rank first: {r:?}"
        );
        let e = w.entries(&Params::default());
        let all: Vec<u32> = e.iter().flat_map(|e| e.articles.clone()).collect();
        let unique: HashSet<u32> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len(), "each article listed once");
        assert_eq!(
            (e[0].articles.len(), e[1].articles.len()),
            (6, 4),
            "the shared ones are the exosome story's"
        );
        assert!(e[0].related.is_empty() && e[1].related.is_empty());
    }

    #[test]
    fn a_ramp_rises_even_when_it_straddles_the_window() {
        let mut w = skincare();
        // Well under one a week before: two in the first seven weeks.
        w.article(40.0, &["azelaic-acid"]);
        w.article(55.0, &["azelaic-acid"]);
        // 1, 2, then 6 a week, the six split 3 + 3 over the window's edge.
        w.article(19.0, &["azelaic-acid"]);
        w.article(12.0, &["azelaic-acid"]);
        w.article(10.0, &["azelaic-acid"]);
        for d in [7.5, 8.5, 9.0, 1.0, 2.0, 3.0] {
            w.article(d, &["azelaic-acid"]);
        }
        let r = w.run(&Params::default());
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!((r[0].0.as_str(), r[0].1), ("azelaic-acid", Status::Rising));
        // The one-window test alone misses it.
        let one = Params {
            long_window_days: 0,
            ..Params::default()
        };
        assert!(w.run(&one).iter().all(|x| x.1 == Status::Covered));
    }

    #[test]
    fn tags_and_articles_outside_skincare_do_not_trend() {
        let mut w = skincare();
        for d in 0..8 {
            w.article(0.5 + f64::from(d) * 0.7, &["diabetes", "news"]);
        }
        let r = w.run(&Params::default());
        assert!(r.iter().all(|x| x.1 == Status::Covered), "{r:?}");
        assert!(
            r.iter().all(|x| x.0 == "sunscreen"),
            "only skincare is covered: {r:?}"
        );
        let tags = Params {
            trend_tags: true,
            ..Params::default()
        };
        let r = w.run(&tags);
        assert!(
            r.iter().any(|x| x.0 == "diabetes" && x.1 == Status::New),
            "{r:?}"
        );
    }

    #[test]
    fn with_nothing_trending_the_most_covered_break_ties_by_recency() {
        let mut w = World::default();
        w.topic("acanthosis-nigricans", None, true)
            .topic("sunscreen", None, true)
            .topic("retinoids", None, true)
            .topic("retinol", Some("retinoids"), true);
        for week in 0..9 {
            let d = 7.0 * f64::from(week);
            w.article(d + 5.0, &["acanthosis-nigricans"]);
            w.article(d + 1.0, &["sunscreen"]);
            w.article(d + 3.0, &["retinol"]);
        }
        let r = w.run(&Params::default());
        let ids: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
        // One article each this week: the most recently covered first; one
        // entry for the retinoid tree, at its top.
        assert_eq!(
            ids,
            ["sunscreen", "retinoids", "acanthosis-nigricans"],
            "{r:?}"
        );
        assert!(r.iter().all(|x| x.1 == Status::Covered));
    }

    #[test]
    fn the_weekly_series_ends_with_this_windows_count_and_first_seen_is_the_first_ever() {
        let mut w = skincare();
        w.article(100.0, &["exosomes"]);
        w.article(20.0, &["exosomes"]);
        for d in [1.0, 2.0, 3.0, 4.0, 5.0] {
            w.article(d, &["exosomes"]);
        }
        let e = w.entries(&Params::default());
        assert_eq!(w.topics[e[0].topic as usize].id, "exosomes");
        assert_eq!(e[0].weekly, vec![0, 0, 0, 0, 0, 0, 1, 0, 5]);
        assert_eq!(e[0].first_seen, at(100.0));
        assert_eq!((e[0].count, e[0].baseline_count), (5, 1));
    }

    #[test]
    fn order_and_time_shifts_do_not_change_the_result() {
        let mut w = skincare();
        for d in [1.0, 2.0, 3.0, 4.0] {
            w.article(d, &["exosome-facial", "microneedling"]);
        }
        let base = w.entries(&Params::default());
        w.occurrences.reverse();
        assert_eq!(w.entries(&Params::default()), base);
        let shift = Duration::days(400) + Duration::seconds(17);
        for t in &mut w.published {
            *t += shift;
        }
        for x in &mut w.occurrences {
            x.at += shift;
        }
        let shifted = analyze(
            now() + shift,
            &Params::default(),
            &Input {
                published: &w.published,
                topics: &w.topics,
                occurrences: &w.occurrences,
            },
        );
        let strip = |v: Vec<Entry>| {
            v.into_iter()
                .map(|mut e| {
                    e.first_seen = now();
                    e
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(shifted), strip(base));
    }
}
