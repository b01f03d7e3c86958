//! Which topics are trending: a pure function of (now, articles, topic
//! occurrences, parameters), with no clock inside.
//!
//! The window is the `window_days` before `now`; the baseline the
//! `baseline_days` before the window. Counts are of articles, each topic once
//! per article, at the time it first appeared there (its publication, or the
//! update that added it). With x of n window articles and y of m baseline
//! articles mentioning a topic, the expected rate is
//! p = (y + a*pi) / (m + a) and the score S = -log10 P[X >= x] for
//! X ~ Binomial(n, p). A topic trends when x >= min_count,
//! lift = (x+1)/(n*p+1) >= min_lift and S >= min_score; it is "new" when
//! y = 0, else "rising". libm keeps the arithmetic identical everywhere.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub window_days: u32,
    pub baseline_days: u32,
    /// Prior weight `a`.
    pub prior_weight: f64,
    /// Prior rate `pi`.
    pub prior_rate: f64,
    pub min_count: u32,
    pub min_lift: f64,
    pub min_score: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            window_days: 7,
            baseline_days: 56,
            prior_weight: 20.0,
            prior_rate: 0.005,
            min_count: 3,
            min_lift: 2.0,
            min_score: 3.0,
        }
    }
}

/// One topic's first appearance in one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub article: u32,
    pub topic: String,
    pub at: DateTime<Utc>,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicScore {
    pub id: String,
    pub status: Status,
    pub count: u32,
    pub baseline_count: u32,
    pub score: f64,
    pub lift: f64,
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
    let mut term = libm::lgamma(nf + 1.0) - libm::lgamma(xf + 1.0) - libm::lgamma(nf - xf + 1.0)
        + xf * log_p
        + (nf - xf) * log_q;
    let ratio = log_p - log_q;
    let mut max = term;
    let mut sum = 1.0; // in units of exp(max)
    let mut k = x;
    while k < n {
        // pmf(k+1) / pmf(k) = (n-k)/(k+1) * p/q
        term += libm::log(f64::from(n - k)) - libm::log(f64::from(k + 1)) + ratio;
        k += 1;
        if term > max {
            sum = sum * libm::exp(max - term) + 1.0;
            max = term;
        } else {
            let rel = libm::exp(term - max);
            sum += rel;
            if rel < 1e-17 && f64::from(k) > nf * p {
                break;
            }
        }
    }
    let log_tail = max + libm::log(sum);
    (-log_tail / core::f64::consts::LN_10).max(0.0)
}

/// Scores every topic at `now`. `published[i]` is article i's publication
/// time. Ranked: trending topics by score, count, id; when none trends, the
/// most covered topics of the window with status `Covered`.
pub fn trending(
    now: DateTime<Utc>,
    params: &Params,
    published: &[DateTime<Utc>],
    occurrences: &[Occurrence],
) -> Vec<TopicScore> {
    let window_start = now - Duration::days(i64::from(params.window_days));
    let baseline_start = window_start - Duration::days(i64::from(params.baseline_days));
    let in_window = |t: DateTime<Utc>| t >= window_start && t < now;
    let in_baseline = |t: DateTime<Utc>| t >= baseline_start && t < window_start;

    // Articles that count in each period: published there, or given a topic there.
    let mut window_articles: HashSet<u32> = HashSet::new();
    let mut baseline_articles: HashSet<u32> = HashSet::new();
    for (i, t) in published.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        if in_window(*t) {
            window_articles.insert(i);
        } else if in_baseline(*t) {
            baseline_articles.insert(i);
        }
    }
    let mut counts: BTreeMap<&str, (HashSet<u32>, HashSet<u32>)> = BTreeMap::new();
    for o in occurrences {
        if in_window(o.at) {
            window_articles.insert(o.article);
            counts.entry(&o.topic).or_default().0.insert(o.article);
        } else if in_baseline(o.at) {
            baseline_articles.insert(o.article);
            counts.entry(&o.topic).or_default().1.insert(o.article);
        }
    }
    let n = u32::try_from(window_articles.len()).unwrap_or(u32::MAX);
    let m = u32::try_from(baseline_articles.len()).unwrap_or(u32::MAX);

    let mut all: Vec<TopicScore> = counts
        .into_iter()
        .map(|(id, (w, b))| {
            let x = u32::try_from(w.len()).unwrap_or(u32::MAX);
            let y = u32::try_from(b.len()).unwrap_or(u32::MAX);
            let p = (f64::from(y) + params.prior_weight * params.prior_rate)
                / (f64::from(m) + params.prior_weight);
            let score = binomial_tail_score(x, n, p);
            let lift = (f64::from(x) + 1.0) / (f64::from(n) * p + 1.0);
            TopicScore {
                id: id.to_owned(),
                status: if y == 0 { Status::New } else { Status::Rising },
                count: x,
                baseline_count: y,
                score,
                lift,
            }
        })
        .collect();
    let mut hot: Vec<TopicScore> = all
        .iter()
        .filter(|t| {
            t.count >= params.min_count && t.lift >= params.min_lift && t.score >= params.min_score
        })
        .cloned()
        .collect();
    if hot.is_empty() {
        all.retain(|t| t.count > 0);
        for t in &mut all {
            t.status = Status::Covered;
        }
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
        return all;
    }
    hot.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.id.cmp(&b.id))
    });
    hot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_before: f64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::seconds((days_before * 86400.0) as i64)
    }

    /// n articles in the window and m in the baseline; topic "t" in x of the
    /// window's and y of the baseline's.
    fn scenario(
        n: u32,
        m: u32,
        x: u32,
        y: u32,
        now: DateTime<Utc>,
    ) -> (Vec<DateTime<Utc>>, Vec<Occurrence>) {
        let mut published = Vec::new();
        let mut occ = Vec::new();
        for i in 0..n {
            published.push(at(0.5 + 6.0 * f64::from(i) / f64::from(n), now));
            if i < x {
                occ.push(Occurrence {
                    article: i,
                    topic: "t".into(),
                    at: published[i as usize],
                });
            }
        }
        for j in 0..m {
            let idx = n + j;
            published.push(at(8.0 + 54.0 * f64::from(j) / f64::from(m), now));
            if j < y {
                occ.push(Occurrence {
                    article: idx,
                    topic: "t".into(),
                    at: published[idx as usize],
                });
            }
        }
        (published, occ)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T02:30:00Z")
            .unwrap()
            .to_utc()
    }

    fn score_of(n: u32, m: u32, x: u32, y: u32) -> Vec<TopicScore> {
        let (p, o) = scenario(n, m, x, y, now());
        trending(now(), &Params::default(), &p, &o)
    }

    #[test]
    fn worked_examples() {
        let r = score_of(100, 800, 3, 0);
        assert_eq!(r[0].status, Status::New, "{r:?}");
        assert_eq!((r[0].count, r[0].baseline_count), (3, 0));
        let r = score_of(100, 800, 6, 8);
        assert_eq!(r[0].status, Status::Rising, "{r:?}");
        let r = score_of(100, 800, 12, 90);
        assert_eq!(r[0].status, Status::Covered, "not trending: {r:?}");
        let r = score_of(100, 800, 2, 0);
        assert_eq!(r[0].status, Status::Covered, "not trending: {r:?}");
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
    fn order_and_time_shifts_do_not_change_the_result() {
        let (mut p, mut o) = scenario(100, 800, 6, 8, now());
        o.push(Occurrence {
            article: 1,
            topic: "u".into(),
            at: p[1],
        });
        let base = trending(now(), &Params::default(), &p, &o);
        o.reverse();
        assert_eq!(trending(now(), &Params::default(), &p, &o), base);
        let shift = Duration::days(400) + Duration::seconds(17);
        for t in &mut p {
            *t += shift;
        }
        for x in &mut o {
            x.at += shift;
        }
        assert_eq!(trending(now() + shift, &Params::default(), &p, &o), base);
    }
}
