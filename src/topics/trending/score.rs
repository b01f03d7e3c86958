//! The statistic (see the module above): the tail of a window's count
//! under its baseline's rate, and the baseline counted robustly to spikes.

use super::count::{Sizes, Tally};
use super::{Params, Spikes, Test};

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

/// A topic's figures.
#[derive(Debug, Clone)]
pub(in crate::topics) struct Scored {
    pub(in crate::topics) count: u32,
    pub(in crate::topics) baseline: u32,
    /// What the test counted of `count` and `baseline`: the articles that
    /// name it prominently enough (all of them for phrases).
    pub(in crate::topics) headlines: u32,
    pub(in crate::topics) baseline_headlines: u32,
    pub(in crate::topics) score: f64,
    pub(in crate::topics) lift: f64,
    /// The baseline rate p: how usual the topic is.
    pub(in crate::topics) rate: f64,
    pub(in crate::topics) trending: bool,
    /// It would trend if every article that names it counted: an echo
    /// when those articles are mostly another entry's story.
    pub(in crate::topics) mentioned: bool,
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
pub(in crate::topics) fn score(t: &Tally, s: &Sizes, params: &Params, two_windows: bool) -> Scored {
    let count = u32::try_from(t.window.len()).unwrap_or(u32::MAX);
    let (x, tested_baseline) = t.headlines.unwrap_or((count, t.baseline));
    let window = params.window_days.max(1) as usize;
    let baseline_days = params.baseline_days as usize;
    let y =
        robust_baseline(&t.days, window, window, baseline_days, params.spikes).min(tested_baseline);
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
    // Every article that names it, however prominently, against the
    // baseline's: what makes a topic an echo of a story that names it.
    let (all_score, all_lift) = burst_score(params, count, s.window, t.baseline, s.baseline);
    Scored {
        count,
        baseline: t.baseline,
        headlines: x,
        baseline_headlines: tested_baseline,
        score,
        lift,
        rate: (f64::from(t.baseline) + params.prior_weight * params.prior_rate)
            / (f64::from(s.baseline) + params.prior_weight),
        trending: x >= params.min_count && lift >= params.min_lift && score >= params.min_score,
        mentioned: count >= params.min_count
            && all_lift >= params.min_lift
            && all_score >= params.min_score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
