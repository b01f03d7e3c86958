//! From scored topics to entries (see the module above): one entry per
//! concept tree, made more specific when one narrower concept is the story;
//! echoes folded into the entry whose story they are; each window article
//! listed under one entry.

use super::count::{Periods, Tally};
use super::score::Scored;
use super::{Entry, Input, Params, Status, TopicInfo};
use std::collections::{HashMap, HashSet};

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

/// Everything entries are chosen from: each topic's counts and figures, the
/// concept tree, and each topic's window articles as a set.
pub(super) struct Stories<'a> {
    input: &'a Input<'a>,
    params: &'a Params,
    periods: &'a Periods,
    tallies: &'a [Tally],
    scored: &'a [Scored],
    tree: Tree<'a>,
    window_sets: Vec<HashSet<u32>>,
}

/// The topics entries are chosen from, best first.
pub(super) struct Pool {
    ranked: Vec<usize>,
    /// Nothing trends: the pool is the window's covered topics.
    pub(super) covered: bool,
}

/// The entries that remain once echoes are folded, and whose articles are
/// whose.
pub(super) struct Folded {
    /// In rank order.
    pub(super) kept: Vec<usize>,
    /// (host, echo, window articles they share).
    related: Vec<(usize, usize, u32)>,
    /// Window article -> the entry it is listed under.
    owners: HashMap<u32, usize>,
}

/// A topic index as entries hold it.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// How many of `a` are in `b`.
fn overlap(a: &[u32], b: &HashSet<u32>) -> u32 {
    u32::try_from(a.iter().filter(|x| b.contains(x)).count()).unwrap_or(u32::MAX)
}

impl<'a> Stories<'a> {
    pub(super) fn new(
        input: &'a Input<'a>,
        params: &'a Params,
        periods: &'a Periods,
        tallies: &'a [Tally],
        scored: &'a [Scored],
    ) -> Self {
        Self {
            input,
            params,
            periods,
            tallies,
            scored,
            tree: Tree::new(input.topics),
            window_sets: tallies
                .iter()
                .map(|t| t.window.iter().copied().collect())
                .collect(),
        }
    }

    /// The trending topics, strongest first; or, when none trends, every
    /// topic with window articles, the most covered (then the most
    /// recently covered) first. Ties: the shallower concept, then id.
    pub(super) fn pool(&self) -> Pool {
        let scored = self.scored;
        let trending: Vec<usize> = (0..scored.len()).filter(|i| scored[*i].trending).collect();
        let covered = trending.is_empty();
        let mut ranked: Vec<usize> = if covered {
            (0..scored.len()).filter(|i| scored[*i].count > 0).collect()
        } else {
            trending
        };
        ranked.sort_by(|a, b| {
            let (x, y) = (&scored[*a], &scored[*b]);
            let by_strength = if covered {
                y.count
                    .cmp(&x.count)
                    .then_with(|| self.tallies[*b].last_seen.cmp(&self.tallies[*a].last_seen))
            } else {
                y.score.total_cmp(&x.score).then(y.count.cmp(&x.count))
            };
            by_strength
                .then(self.tree.depth[*a].cmp(&self.tree.depth[*b]))
                .then_with(|| self.input.topics[*a].id.cmp(&self.input.topics[*b].id))
        });
        Pool { ranked, covered }
    }

    /// One entry per concept tree (per story within it), in pool order: the
    /// first of the pool in its tree, made more specific when one narrower
    /// concept is the story.
    pub(super) fn choose(&self, pool: &Pool) -> Vec<usize> {
        let tree = &self.tree;
        let mut chosen: Vec<usize> = Vec::new();
        for &u in &pool.ranked {
            if chosen.iter().any(|c| tree.related(*c, u)) {
                continue;
            }
            // The highest pool member above u comes first: it is the entry's
            // candidate level, unless u is already under a chosen one.
            let mut top = u;
            let mut at = tree.parent(u);
            while let Some(p) = at {
                if pool.ranked.contains(&p) {
                    top = p;
                }
                at = tree.parent(p);
            }
            if chosen.iter().any(|c| tree.related(*c, top)) {
                continue;
            }
            chosen.push(self.narrower_story(top, &pool.ranked));
        }
        chosen.sort_by_key(|c| {
            pool.ranked
                .iter()
                .position(|p| p == c)
                .unwrap_or(usize::MAX)
        });
        chosen
    }

    /// The most informative level of a story found at `top`: a narrower pool
    /// member that holds most of its articles, when `top` is an established,
    /// broader topic; else `top` itself.
    fn narrower_story(&self, top: usize, pool: &[usize]) -> usize {
        let (scored, window_sets, params) = (self.scored, &self.window_sets, self.params);
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
                        && self.tree.is_ancestor_or_self(at, *d)
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

    /// Which entry each window article belongs to: of the entries about it,
    /// the one it names most prominently (the title, then the summary or a
    /// heading, then the body), then the most novel
    /// (the lowest baseline rate: an article on exosome facials that mentions
    /// microneedling is an exosome story), then the best ranked.
    fn owners(&self, kept: &[usize]) -> HashMap<u32, usize> {
        let (scored, tallies) = (self.scored, self.tallies);
        let mut owner: HashMap<u32, usize> = HashMap::new();
        for (rank, &c) in kept.iter().enumerate() {
            for a in &tallies[c].window {
                let better = match owner.get(a) {
                    None => true,
                    Some(&o) => {
                        let other = kept.iter().position(|k| *k == o).unwrap_or(usize::MAX);
                        let prominence =
                            |t: usize| tallies[t].prominence.get(a).copied().unwrap_or(0);
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

    /// The entry whose story `c` is told inside, when ownership split their
    /// shared articles: another kept entry that has more than half of `c`'s
    /// window articles and that those shared articles name more prominently,
    /// summed over them (exosome pieces that also mention microneedling in
    /// some titles are an exosome story, whichever ranks first).
    fn subject_of_shared(&self, c: usize, kept: &[usize]) -> Option<usize> {
        let tallies = self.tallies;
        let total = tallies[c].window.len();
        let prominence = |t: usize, shared: &[u32]| -> u64 {
            shared
                .iter()
                .map(|a| u64::from(tallies[t].prominence.get(a).copied().unwrap_or(0)))
                .sum()
        };
        kept.iter().copied().filter(|o| *o != c).find(|&o| {
            let shared: Vec<u32> = tallies[c]
                .window
                .iter()
                .copied()
                .filter(|a| self.window_sets[o].contains(a))
                .collect();
            shared.len() * 2 > total && prominence(o, &shared) > prominence(c, &shared)
        })
    }

    /// Folds echoes: an entry most of whose window articles belong to one other
    /// entry's story becomes that entry's related topic. Returns the entries
    /// kept, in rank order, their echoes, and whose each article is.
    pub(super) fn fold_echoes(&self, chosen: &[usize]) -> Folded {
        let (tallies, window_sets) = (self.tallies, &self.window_sets);
        let mut kept: Vec<usize> = chosen.to_vec();
        let mut related = Vec::new();
        // Each fold changes who owns what: fold one at a time, then look again.
        // An entry can only be folded into a more novel one, so this ends.
        loop {
            let owner = self.owners(&kept);
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
                    .or_else(|| self.subject_of_shared(c, &kept).map(|host| (host, c)))
            });
            match fold {
                Some((host, echo)) => {
                    kept.retain(|k| *k != echo);
                    let shared = overlap(&tallies[echo].window, &window_sets[host]);
                    related.push((host, echo, shared));
                }
                None => {
                    let owners = self.owners(&kept);
                    related.extend(self.mentioned_echoes(&kept, &related, &owners));
                    return Folded {
                        kept,
                        related,
                        owners,
                    };
                }
            }
        }
    }

    /// Echoes that do not trend by the headlines that name them but would
    /// by every article that does, when more than half of those articles
    /// belong to one entry's story: (host, echo, shared). Microneedling
    /// named in the body of each exosome piece is related to the exosome
    /// entry, though no headline makes it a story of its own.
    fn mentioned_echoes(
        &self,
        kept: &[usize],
        related: &[(usize, usize, u32)],
        owners: &HashMap<u32, usize>,
    ) -> Vec<(usize, usize, u32)> {
        let (tallies, window_sets) = (self.tallies, &self.window_sets);
        let mut out = Vec::new();
        if self.scored.iter().all(|s| !s.trending) {
            return out;
        }
        // The narrowest concept of a tree first: "Microneedling", not a
        // broader family that only holds it.
        let mut echoes: Vec<usize> = (0..self.scored.len())
            .filter(|c| self.scored[*c].mentioned && !self.scored[*c].trending)
            .collect();
        echoes.sort_by_key(|c| std::cmp::Reverse(self.tree.depth[*c]));
        for c in echoes {
            let taken = kept.iter().any(|k| self.tree.related(*k, c))
                || related
                    .iter()
                    .chain(&out)
                    .any(|(_, e, _)| self.tree.related(*e, c));
            if taken {
                continue;
            }
            let mut by_owner: HashMap<usize, u32> = HashMap::new();
            for a in &tallies[c].window {
                if let Some(&o) = owners.get(a) {
                    *by_owner.entry(o).or_default() += 1;
                }
            }
            let total = u32::try_from(tallies[c].window.len()).unwrap_or(u32::MAX);
            let host = by_owner
                .into_iter()
                .filter(|(_, n)| n * 2 > total)
                .map(|(host, _)| host)
                .next();
            if let Some(host) = host {
                out.push((host, c, overlap(&tallies[c].window, &window_sets[host])));
            }
        }
        out
    }

    /// The entry of topic `c`: its figures, the narrower concepts it
    /// includes, its echoes and the articles listed under it.
    pub(super) fn entry(&self, c: usize, pool: &Pool, folded: &Folded) -> Entry {
        let (s, tally) = (&self.scored[c], &self.tallies[c]);
        Entry {
            topic: index(c),
            status: if pool.covered {
                Status::Covered
            } else if s.baseline == 0 {
                Status::New
            } else {
                Status::Rising
            },
            count: s.count,
            baseline_count: s.baseline,
            headlines: s.headlines,
            baseline_headlines: s.baseline_headlines,
            score: s.score,
            lift: s.lift,
            first_seen: tally.first_seen.unwrap_or(self.periods.now()),
            weekly: if tally.weekly.is_empty() {
                vec![0; self.periods.buckets()]
            } else {
                tally.weekly.clone()
            },
            includes: self.includes(c),
            related: folded
                .related
                .iter()
                .filter(|(host, _, _)| *host == c)
                .map(|(_, echo, shared)| (index(*echo), *shared))
                .collect(),
            articles: self.articles(c, &folded.owners),
        }
    }

    /// The narrower concepts of `c` with window articles: (topic, count),
    /// most first, then by id.
    fn includes(&self, c: usize) -> Vec<(u32, u32)> {
        let topics = self.input.topics;
        let mut includes: Vec<(u32, u32)> = (0..self.tallies.len())
            .filter(|d| {
                *d != c && self.scored[*d].count > 0 && self.tree.is_ancestor_or_self(c, *d)
            })
            .map(|d| (index(d), self.scored[d].count))
            .collect();
        includes.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| topics[a.0 as usize].id.cmp(&topics[b.0 as usize].id))
        });
        includes
    }

    /// The window articles listed under `c`, most recent first.
    fn articles(&self, c: usize, owners: &HashMap<u32, usize>) -> Vec<u32> {
        let mut articles: Vec<u32> = self.tallies[c]
            .window
            .iter()
            .copied()
            .filter(|a| owners.get(a) == Some(&c))
            .collect();
        let published = self.input.published;
        articles.sort_by(|a, b| {
            let t = |i: &u32| published.get(*i as usize).copied();
            t(b).cmp(&t(a)).then(a.cmp(b))
        });
        articles
    }
}
