//! Emerging candidates: phrases no vocabulary knows that burst in skincare
//! articles, for editors to name and add (`feedletter topics add`). Pure:
//! no clock, no I/O.
//!
//! In the window, a phrase counts once per article whose salient phrases
//! include it (the article is about it: `phrases`); in the baseline, once
//! per article that uses it at all (its `SeenSet`), so that words every
//! article uses in passing never look new. Articles count at their
//! publication, and only articles about skincare (with at least one
//! vocabulary concept). A phrase is a candidate when this window has at
//! least `candidate_min_count` such articles and the same test as topics
//! (`trending::score`: both windows, robust baselines) finds it rising
//! against the baseline ("few or none before"). Phrases in more than half of the window's
//! articles (at least `BOILERPLATE_MIN` of them) are boilerplate, whatever
//! their history.
//!
//! Phrases that overlap are one candidate: when more than half of a
//! phrase's articles are those of a stronger candidate ("sea fennel",
//! "fennel", "fennel extract"), it joins that candidate, which is named by
//! the phrase the articles use most, the longer one when most uses of the
//! shorter are inside it.

use super::trending::{Falls, Params, Periods, Scored, Sizes, Tally, score};
use crate::domain::topic::{ArticlePhrases, SeenSet};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Window articles from which a phrase in more than half of them is boilerplate.
pub const BOILERPLATE_MIN: u32 = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub phrase: String,
    pub count: u32,
    pub baseline_count: u32,
    pub score: f64,
    /// Window articles using it, most recent first.
    pub articles: Vec<u32>,
    /// Other phrases folded into it.
    pub variants: Vec<String>,
}

/// One article's phrases.
#[derive(Debug, Clone, Copy)]
pub struct PhraseArticle<'a> {
    pub article: u32,
    pub published: DateTime<Utc>,
    pub phrases: &'a ArticlePhrases,
}

struct Count<'a> {
    text: &'a str,
    tally: Tally,
    /// Mentions in the window's articles.
    mentions: u32,
}

/// The candidates at `now`, best first, at most `limit`. `in_scope[a]` says
/// whether article `a` is about skincare; `known(phrase)` whether a
/// vocabulary alias or a tag already covers it.
pub fn candidates(
    now: DateTime<Utc>,
    params: &Params,
    articles: &[PhraseArticle],
    in_scope: &[bool],
    known: &dyn Fn(&str) -> bool,
    limit: usize,
) -> Vec<Candidate> {
    let periods = Periods::new(now, params);
    let scoped = |a: u32| in_scope.get(a as usize).copied().unwrap_or(false);
    let dated: Vec<(&PhraseArticle, Falls)> = articles
        .iter()
        .filter(|a| scoped(a.article))
        .filter_map(|a| Some((a, periods.falls(a.published)?)))
        .collect();
    let mut sizes = Sizes::default();
    for (_, f) in &dated {
        sizes.window += u32::from(f.window);
        sizes.baseline += u32::from(f.baseline);
        sizes.long += u32::from(f.long);
        sizes.long_baseline += u32::from(f.long_baseline);
    }
    // This window's salient phrases with enough articles.
    let mut counts: HashMap<&str, Count> = HashMap::new();
    for (a, _) in dated.iter().filter(|(_, f)| f.window) {
        for p in &a.phrases.salient {
            let c = counts.entry(p.text.as_str()).or_insert_with(|| Count {
                text: p.text.as_str(),
                tally: Tally::default(),
                mentions: 0,
            });
            c.tally.window.push(a.article);
            c.mentions += p.mentions;
        }
    }
    counts.retain(|_, c| c.tally.window.len() >= params.candidate_min_count as usize);
    // The rest of their history: salient in the long window, used at all in
    // the baselines (day by day, for the robust count).
    let days = periods.days();
    for c in counts.values_mut() {
        let keys = SeenSet::keys(c.text);
        c.tally.days = vec![0; days];
        for (a, f) in &dated {
            if f.long && a.phrases.salient.iter().any(|p| p.text == c.text) {
                c.tally.long += 1;
            }
            if (f.baseline || f.long_baseline) && a.phrases.seen.contains_keys(&keys) {
                c.tally.baseline += u32::from(f.baseline);
                c.tally.long_baseline += u32::from(f.long_baseline);
                if let Some(d) = periods.day(a.published).filter(|d| *d < days) {
                    c.tally.days[d] = c.tally.days[d].saturating_add(1);
                }
            }
        }
    }
    let two_windows = params.long_window_days > params.window_days;
    // The same test as topics, with the phrases' own minimum.
    let params = &Params {
        min_count: params.candidate_min_count,
        ..*params
    };
    let mut found: Vec<(Count, Scored)> = counts
        .into_values()
        .filter_map(|c| {
            let x = u32::try_from(c.tally.window.len()).unwrap_or(u32::MAX);
            if x >= BOILERPLATE_MIN && x * 2 > sizes.window {
                return None;
            }
            let s = score(&c.tally, &sizes, params, two_windows);
            (s.trending && !known(c.text)).then_some((c, s))
        })
        .collect();
    found.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then(b.1.count.cmp(&a.1.count))
            .then_with(|| a.0.text.cmp(b.0.text))
    });
    // Groups of overlapping phrases, strongest first.
    let mut groups: Vec<Vec<(Count, Scored)>> = Vec::new();
    for c in found {
        let mine: HashSet<u32> = c.0.tally.window.iter().copied().collect();
        let host = groups.iter().position(|g| {
            let theirs: HashSet<u32> = g[0].0.tally.window.iter().copied().collect();
            mine.intersection(&theirs).count() * 2 > mine.len()
        });
        match host {
            Some(h) => groups[h].push(c),
            None => groups.push(vec![c]),
        }
    }
    groups
        .into_iter()
        .take(limit)
        .map(|g| name_group(g, articles))
        .collect()
}

/// Whether `inner`'s words appear in `outer` in a row.
fn contains_words(outer: &str, inner: &str) -> bool {
    outer != inner && format!(" {outer} ").contains(&format!(" {inner} "))
}

fn name_group(group: Vec<(Count, Scored)>, articles: &[PhraseArticle]) -> Candidate {
    // The phrase used most; then a longer one that holds most (three
    // fifths) of its uses: "sea fennel" rather than "fennel".
    let mut best = 0;
    for (i, (c, _)) in group.iter().enumerate() {
        let b = &group[best].0;
        if (c.mentions, c.tally.window.len(), c.text.len())
            > (b.mentions, b.tally.window.len(), b.text.len())
        {
            best = i;
        }
    }
    loop {
        let b = &group[best].0;
        let longer = group
            .iter()
            .enumerate()
            .filter(|(_, (c, _))| {
                contains_words(c.text, b.text) && c.mentions * 5 >= b.mentions * 3
            })
            .max_by_key(|(_, (c, _))| (c.mentions, c.text.len()))
            .map(|(i, _)| i);
        match longer {
            Some(i) if i != best => best = i,
            _ => break,
        }
    }
    let published: HashMap<u32, DateTime<Utc>> =
        articles.iter().map(|a| (a.article, a.published)).collect();
    let variants: Vec<String> = group
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, (c, _))| c.text.to_owned())
        .collect();
    let (c, scored) = &group[best];
    let mut list = c.tally.window.clone();
    list.sort_by(|a, b| published.get(b).cmp(&published.get(a)).then(a.cmp(b)));
    Candidate {
        phrase: c.text.to_owned(),
        count: scored.count,
        baseline_count: scored.baseline,
        score: scored.score,
        articles: list,
        variants,
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

    use crate::domain::topic::Phrase;

    struct Site {
        published: Vec<DateTime<Utc>>,
        phrases: Vec<ArticlePhrases>,
        scope: Vec<bool>,
    }

    impl Site {
        fn new() -> Self {
            let mut s = Self {
                published: vec![],
                phrases: vec![],
                scope: vec![],
            };
            // Twenty skincare articles a week for nine weeks, each with
            // the house phrases.
            for day in 0..63 {
                for _ in 0..3 {
                    s.add(
                        f64::from(day) + 0.4,
                        &[("patch test", 2), ("gentle cleanser", 1)],
                        &["lotion", "costs"],
                        true,
                    );
                }
            }
            s
        }

        /// An article `days` ago with these salient phrases, and `passing`
        /// ones it uses without being about them.
        fn add(&mut self, days: f64, salient: &[(&str, u32)], passing: &[&str], skincare: bool) {
            self.published
                .push(now() - Duration::seconds((days * 86400.0) as i64));
            self.phrases.push(ArticlePhrases {
                salient: salient
                    .iter()
                    .map(|(t, m)| Phrase {
                        text: (*t).into(),
                        mentions: *m,
                    })
                    .collect(),
                seen: SeenSet::of(
                    salient
                        .iter()
                        .map(|(t, _)| *t)
                        .chain(passing.iter().copied()),
                ),
            });
            self.scope.push(skincare);
        }

        fn run(&self, known: &dyn Fn(&str) -> bool) -> Vec<Candidate> {
            let articles: Vec<PhraseArticle> = (0..self.published.len())
                .map(|i| PhraseArticle {
                    article: i as u32,
                    published: self.published[i],
                    phrases: &self.phrases[i],
                })
                .collect();
            candidates(now(), &Params::default(), &articles, &self.scope, known, 10)
        }
    }

    #[test]
    fn a_new_phrase_in_three_skincare_articles_is_a_candidate_named_as_written_most() {
        let mut s = Site::new();
        for d in [1.0, 2.0, 3.0] {
            s.add(
                d,
                &[
                    ("sea fennel", 5),
                    ("fennel", 6),
                    ("fennel extract", 1),
                    ("patch test", 1),
                ],
                &[],
                true,
            );
        }
        s.add(4.0, &[("fennel", 2)], &[], true);
        // One article before the window does not make it old.
        s.add(9.0, &[("sea fennel", 3), ("fennel", 3)], &[], true);
        let c = s.run(&|_| false);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].phrase, "sea fennel");
        assert_eq!((c[0].count, c[0].baseline_count), (3, 1));
        assert_eq!(c[0].articles.len(), 3);
        assert!(c[0].variants.contains(&"fennel".to_owned()));
    }

    #[test]
    fn old_phrases_boilerplate_known_words_and_other_subjects_are_not_candidates() {
        let mut s = Site::new();
        // Known to the vocabulary.
        for d in [1.0, 2.0, 3.0] {
            s.add(d, &[("exosome facial", 4)], &[], true);
        }
        // Not about skincare.
        for d in [1.0, 2.0, 3.0, 4.0] {
            s.add(d, &[("blood sugar", 4)], &[], false);
        }
        // Seen often before.
        for d in [10.0, 20.0, 30.0, 40.0, 1.0, 2.0, 3.0] {
            s.add(d, &[("double cleanse", 2)], &[], true);
        }
        // Two articles only.
        for d in [1.0, 2.0] {
            s.add(d, &[("tremella", 3)], &[], true);
        }
        // Used in passing every week, salient in three articles this week.
        for d in [1.0, 2.0, 3.0] {
            s.add(d, &[("lotion", 4), ("costs", 2)], &[], true);
        }
        // New this week, but in every article: boilerplate.
        for i in 0..s.published.len() {
            if s.published[i] > now() - Duration::days(7) && s.scope[i] {
                s.phrases[i].salient.push(Phrase {
                    text: "join our newsletter".into(),
                    mentions: 1,
                });
                s.phrases[i].seen =
                    SeenSet::of(s.phrases[i].salient.iter().map(|p| p.text.as_str()));
            }
        }
        let c = s.run(&|p| p == "exosome facial");
        assert!(c.is_empty(), "{c:?}");
    }
}
