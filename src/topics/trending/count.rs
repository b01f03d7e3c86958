//! Counting: the periods a report looks at (the window, the long window and
//! the baseline before each), which articles are in scope, and what each
//! topic counts in them.

use super::{Input, Params};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

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

    /// The instant the periods end at.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
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
pub(in crate::topics) struct Tally {
    /// The window's articles.
    pub(in crate::topics) window: Vec<u32>,
    pub(in crate::topics) baseline: u32,
    /// The window's and the baseline's articles that name it prominently
    /// enough to count in the test (`Params::min_prominence`); None when
    /// every article counts (phrases, or a minimum of 0).
    pub(in crate::topics) headlines: Option<(u32, u32)>,
    pub(in crate::topics) long: u32,
    pub(in crate::topics) long_baseline: u32,
    pub(in crate::topics) weekly: Vec<u32>,
    /// Occurrences that count in the test per day back from now (0: the
    /// last 24 hours), over the long window and its baseline.
    pub(in crate::topics) days: Vec<u16>,
    pub(in crate::topics) first_seen: Option<DateTime<Utc>>,
    /// The most recent occurrence in the window.
    pub(in crate::topics) last_seen: Option<DateTime<Utc>>,
    /// How prominently each window article names it, when not just in
    /// the body.
    pub(in crate::topics) prominence: HashMap<u32, u8>,
}

/// Article counts of the periods, articles about skincare only.
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::topics) struct Sizes {
    pub(in crate::topics) window: u32,
    pub(in crate::topics) baseline: u32,
    pub(in crate::topics) long: u32,
    pub(in crate::topics) long_baseline: u32,
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
pub(in crate::topics) fn sizes(input: &Input, periods: &Periods, scope: &[bool]) -> Sizes {
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

pub(in crate::topics) fn tallies(
    input: &Input,
    periods: &Periods,
    scope: &[bool],
    params: &Params,
) -> Vec<Tally> {
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
        // A tag that names no concept has no place in the text to weigh:
        // the editor's tag is all there is.
        let counted = !topic.concept || o.prominence >= params.min_prominence;
        if params.min_prominence > 0 {
            let h = t.headlines.get_or_insert((0, 0));
            h.0 += u32::from(counted && falls.window);
            h.1 += u32::from(counted && falls.baseline);
        }
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
        if let Some(b) = periods.bucket(o.at) {
            if t.weekly.is_empty() {
                t.weekly = vec![0; buckets];
            }
            t.weekly[b] += 1;
        }
        if !counted {
            continue;
        }
        t.long += u32::from(falls.long);
        t.long_baseline += u32::from(falls.long_baseline);
        if let Some(d) = periods.day(o.at).filter(|d| *d < periods.days()) {
            if t.days.is_empty() {
                t.days = vec![0; periods.days()];
            }
            t.days[d] = t.days[d].saturating_add(1);
        }
    }
    out
}
