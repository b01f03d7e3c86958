//! What an article is about.
//!
//! Matching is whole-word and leftmost-longest over every alias (and its
//! plural), case-insensitive except for the aliases marked case-sensitive
//! ("HA"), and an exclusion phrase ("retinal detachment") hides any alias
//! inside it.
//!
//! An article is *about* a topic when a tag names it, or when the title, the
//! summary or a heading mentions it, or when the body mentions it at least
//! `BODY_MENTIONS` times: one passing mention in a long body is not enough.
//! A tag that matches no concept becomes a topic of its own.

use super::vocabulary::{TopicKind, Vocabulary, normalize};
use crate::domain::topic::{ArticlePhrases, LEAD, TITLE, TopicRef};
use crate::domain::{Article, Slug};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

/// Body mentions that make an article about a topic.
pub const BODY_MENTIONS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Topic(usize),
    Excluded,
}

/// Above this many articles to read, `prepare_for` builds the full DFAs.
const DFA_ABOVE: usize = 200;

/// A compiled vocabulary.
pub struct Matcher {
    vocabulary: Vocabulary,
    /// Contiguous NFAs: cheap to build (a command that reads one changed
    /// article builds nothing else), a little slower to search.
    insensitive: AhoCorasick,
    insensitive_targets: Vec<Target>,
    sensitive: AhoCorasick,
    sensitive_targets: Vec<Target>,
    /// The same patterns as full DFAs, the fastest to search, built by
    /// `prepare_for` when many articles are to be read; None when a DFA
    /// could not be built (the NFAs serve).
    dfa: OnceLock<Option<(AhoCorasick, AhoCorasick)>>,
    /// Both pattern lists, kept to build the DFAs from.
    patterns: (Vec<String>, Vec<String>),
    /// Normalized alias, id or label -> topic index, for tags.
    by_name: HashMap<String, usize>,
    /// Tags (as slugs) that are no topic at all (`topics.ignore_tags`).
    ignored: HashSet<String>,
    /// Salient phrases are collected (`topics.candidates`).
    phrases: bool,
}

fn plurals(alias: &str) -> Vec<String> {
    let mut out = vec![format!("{alias}s"), format!("{alias}es")];
    if let Some(stem) = alias
        .strip_suffix('y')
        .filter(|stem| !stem.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        out.push(format!("{stem}ies"));
    }
    out
}

fn build(
    patterns: &[String],
    insensitive: bool,
    kind: AhoCorasickKind,
) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .ascii_case_insensitive(insensitive)
        .kind(Some(kind))
        .build(patterns)
}

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

impl Matcher {
    pub fn new(vocabulary: Vocabulary) -> Result<Self, aho_corasick::BuildError> {
        let mut ins: Vec<(String, Target)> = Vec::new();
        let mut sens: Vec<(String, Target)> = Vec::new();
        let mut by_name = HashMap::new();
        // Aliases as written first: on equal matches the earlier pattern wins.
        for (i, t) in vocabulary.topics.iter().enumerate() {
            for a in &t.aliases {
                ins.push((a.clone(), Target::Topic(i)));
                by_name.entry(a.clone()).or_insert(i);
            }
            for a in &t.case_sensitive {
                sens.push((a.clone(), Target::Topic(i)));
            }
            by_name.entry(t.id.clone()).or_insert(i);
            by_name.entry(normalize(&t.label)).or_insert(i);
        }
        for (i, t) in vocabulary.topics.iter().enumerate() {
            for a in &t.aliases {
                for p in plurals(a) {
                    by_name.entry(p.clone()).or_insert(i);
                    ins.push((p, Target::Topic(i)));
                }
            }
            for a in &t.case_sensitive {
                sens.push((format!("{a}s"), Target::Topic(i)));
            }
            for x in &t.exclude {
                ins.push((x.clone(), Target::Excluded));
                sens.push((x.clone(), Target::Excluded));
            }
        }
        let (ins, insensitive_targets): (Vec<String>, Vec<Target>) = ins.into_iter().unzip();
        let (sens, sensitive_targets): (Vec<String>, Vec<Target>) = sens.into_iter().unzip();
        let nfa = AhoCorasickKind::ContiguousNFA;
        Ok(Self {
            insensitive: build(&ins, true, nfa)?,
            insensitive_targets,
            sensitive: build(&sens, false, nfa)?,
            sensitive_targets,
            dfa: OnceLock::new(),
            patterns: (ins, sens),
            vocabulary,
            by_name,
            ignored: HashSet::new(),
            phrases: true,
        })
    }

    /// Readies the matcher for reading `articles` articles: above a few
    /// hundred, the full DFAs (built once, then kept) pay for their build
    /// time; a command that reads one changed article skips it.
    pub fn prepare_for(&self, articles: usize) {
        if articles > DFA_ABOVE {
            self.dfa.get_or_init(|| {
                let dfa = AhoCorasickKind::DFA;
                let (ins, sens) = &self.patterns;
                build(ins, true, dfa).ok().zip(build(sens, false, dfa).ok())
            });
        }
    }

    /// Whether `analyze` collects salient phrases (for candidates).
    pub fn with_phrases(mut self, on: bool) -> Self {
        self.phrases = on;
        self
    }

    /// Tags that make no topic (generic ones such as "news"): compared as
    /// slugs, so "Skin Trends" and "skin-trends" are the same tag.
    pub fn with_ignored_tags(mut self, tags: &[String]) -> Self {
        self.ignored = tags
            .iter()
            .filter_map(|t| Slug::slugify(t).ok())
            .map(|s| s.to_string())
            .collect();
        self
    }

    /// Whether `tag` is one of `topics.ignore_tags`.
    pub fn is_ignored_tag(&self, tag: &str) -> bool {
        !self.ignored.is_empty()
            && Slug::slugify(tag).is_ok_and(|s| self.ignored.contains(s.as_str()))
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Changes when what this matcher finds in an article may change.
    pub fn fingerprint(&self) -> String {
        let mut ignored: Vec<&str> = self.ignored.iter().map(String::as_str).collect();
        ignored.sort_unstable();
        format!(
            "{}|{}|{}",
            self.vocabulary.fingerprint(),
            ignored.join(","),
            self.phrases
        )
    }

    /// Topic indices mentioned in `text`, one entry per mention, in order.
    pub fn mentions(&self, text: &str) -> Vec<usize> {
        self.mention_spans(text)
            .into_iter()
            .map(|(_, _, i)| i)
            .collect()
    }

    /// Mentions as (start, end, topic index), byte offsets in `text`.
    pub fn mention_spans(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let mut spans: Vec<(usize, usize, Target)> = Vec::new();
        let (insensitive, sensitive) = match self.dfa.get() {
            Some(Some((i, s))) => (i, s),
            _ => (&self.insensitive, &self.sensitive),
        };
        for (ac, targets) in [
            (insensitive, &self.insensitive_targets),
            (sensitive, &self.sensitive_targets),
        ] {
            for m in ac.find_iter(text) {
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                if !is_word_char(before) && !is_word_char(after) {
                    spans.push((m.start(), m.end(), targets[m.pattern().as_usize()]));
                }
            }
        }
        // Leftmost-longest across both sets; exclusions hide what they cover.
        spans.sort_by(|a, b| a.0.cmp(&b.0).then((b.1 - b.0).cmp(&(a.1 - a.0))));
        let excluded: Vec<(usize, usize)> = spans
            .iter()
            .filter(|s| s.2 == Target::Excluded)
            .map(|s| (s.0, s.1))
            .collect();
        let mut out = Vec::new();
        let mut end = 0;
        for (s, e, t) in spans {
            if s < end {
                continue;
            }
            if let Target::Topic(i) = t {
                if excluded.iter().any(|(xs, xe)| s < *xe && *xs < e) {
                    continue;
                }
                out.push((s, e, i));
                end = e;
            }
        }
        out
    }

    fn topic_ref(&self, i: usize) -> TopicRef {
        let t = &self.vocabulary.topics[i];
        TopicRef {
            id: t.id.clone(),
            label: t.label.clone(),
            prominence: 0,
        }
    }

    /// The topic a tag names: a concept through its aliases, or the tag itself.
    pub fn tag_topic(&self, tag: &str) -> Option<TopicRef> {
        if let Some(i) = self.tag_concept(tag) {
            return Some(self.topic_ref(i));
        }
        if self.is_ignored_tag(tag) {
            return None;
        }
        let slug = Slug::slugify(tag).ok()?;
        Some(TopicRef {
            id: slug.to_string(),
            label: tag.trim().to_owned(),
            prominence: 0,
        })
    }

    /// The concept a tag names, through its aliases, id or label.
    fn tag_concept(&self, tag: &str) -> Option<usize> {
        self.by_name.get(&normalize(tag)).copied()
    }

    /// The topics `article` is about, sorted by id: the concepts it is about
    /// and each of their ancestors (an article about retinol is also about
    /// retinoids), and the tags that name no concept.
    pub fn article_topics(&self, article: &Article) -> Vec<TopicRef> {
        let text = ArticleText::of(article);
        let spans = text.spans(self);
        self.topics_in(&spans, &article.tags)
    }

    /// What ingest records of an article: its topics and, when it was
    /// published at or after `phrases_since` (see `topics::phrase_horizon`),
    /// its salient phrases.
    pub fn analyze(
        &self,
        article: &Article,
        phrases_since: DateTime<Utc>,
    ) -> (Vec<TopicRef>, ArticlePhrases) {
        let text = ArticleText::of(article);
        // One pass of the automaton over each part serves both.
        let spans = text.spans(self);
        let topics = self.topics_in(&spans, &article.tags);
        let phrases = if self.phrases && article.published >= phrases_since {
            super::phrases::extract(&text, &spans)
        } else {
            ArticlePhrases::default()
        };
        (topics, phrases)
    }

    fn topics_in(&self, spans: &Spans, tags: &[String]) -> Vec<TopicRef> {
        // Concept index -> how prominently the article names it.
        let mut concepts: HashMap<usize, u8> = HashMap::new();
        let mut about: BTreeMap<String, TopicRef> = BTreeMap::new();
        for tag in tags {
            match self.tag_concept(tag) {
                Some(i) => {
                    concepts.entry(i).or_insert(0);
                }
                None => {
                    if let Some(t) = self.tag_topic(tag) {
                        about.entry(t.id.clone()).or_insert(t);
                    }
                }
            }
        }
        for (part, level) in [(&spans[0], TITLE), (&spans[1], LEAD), (&spans[2], LEAD)] {
            for i in part.iter().map(|s| s.2) {
                let p = concepts.entry(i).or_insert(0);
                *p = (*p).max(level);
            }
        }
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for i in spans[3].iter().map(|s| s.2) {
            *counts.entry(i).or_default() += 1;
        }
        for (i, n) in counts {
            if n >= BODY_MENTIONS {
                concepts.entry(i).or_insert(0);
            }
        }
        let direct: Vec<(usize, u8)> = concepts.iter().map(|(i, l)| (*i, *l)).collect();
        for (i, level) in direct {
            let mut at = self.vocabulary.parent_of(i);
            while let Some(p) = at {
                let entry = concepts.entry(p).or_insert(0);
                *entry = (*entry).max(level);
                at = self.vocabulary.parent_of(p);
            }
        }
        for (i, level) in concepts {
            let mut t = self.topic_ref(i);
            t.prominence = level;
            about.insert(t.id.clone(), t);
        }
        about.into_values().collect()
    }

    /// The kind of a topic id (tags that are not concepts are `Tag`).
    pub fn kind(&self, id: &str) -> TopicKind {
        self.vocabulary.get(id).map_or(TopicKind::Tag, |t| t.kind)
    }
}

/// An article's text as matching reads it: the title, the summary, the
/// headings and the rest of the body, tags removed.
pub struct ArticleText {
    pub title: String,
    pub summary: String,
    pub headings: String,
    pub body: String,
}

/// Vocabulary mentions in the title, the summary, the headings and the body:
/// (start, end, topic index).
pub type Spans = [Vec<(usize, usize, usize)>; 4];

impl ArticleText {
    /// The matcher's mentions in each part.
    pub fn spans(&self, matcher: &Matcher) -> Spans {
        [
            matcher.mention_spans(&self.title),
            matcher.mention_spans(&self.summary),
            matcher.mention_spans(&self.headings),
            matcher.mention_spans(&self.body),
        ]
    }

    pub fn of(article: &Article) -> Self {
        let (headings, body) = html_text(&article.content_html);
        Self {
            title: article.title.clone(),
            summary: article.summary.clone(),
            headings,
            body,
        }
    }
}

/// The text of headings and of everything else in an HTML fragment, tags
/// removed and the common entities decoded.
pub fn html_text(html: &str) -> (String, String) {
    let mut headings = String::new();
    let mut body = String::new();
    let mut in_heading = false;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        push_text(if in_heading { &mut headings } else { &mut body }, text);
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[lt + 1..lt + gt].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
            in_heading = !rest[lt + 1..].starts_with('/');
            headings.push_str(" . ");
        }
        // Block boundaries end words and sentences.
        body.push(' ');
        rest = &rest[lt + gt + 1..];
    }
    push_text(if in_heading { &mut headings } else { &mut body }, rest);
    (headings, body)
}

fn push_text(out: &mut String, text: &str) {
    if !text.contains('&') {
        out.push_str(text);
        return;
    }
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.push_str(&decoded);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn matcher() -> Matcher {
        Matcher::new(Vocabulary::load("builtin:skincare", Path::new(".")).unwrap()).unwrap()
    }

    fn ids(m: &Matcher, text: &str) -> Vec<String> {
        m.mentions(text)
            .into_iter()
            .map(|i| m.vocabulary().topics[i].id.clone())
            .collect()
    }

    #[test]
    fn whole_words_plurals_and_case_rules() {
        let m = matcher();
        assert_eq!(ids(&m, "Retinol at night"), vec!["retinol"]);
        assert_eq!(ids(&m, "two retinols compared"), vec!["retinol"]);
        assert!(ids(&m, "retinolate").is_empty(), "whole words only");
        assert_eq!(ids(&m, "HA serums"), vec!["hyaluronic-acid"]);
        assert!(
            ids(&m, "ha ha, said the reader").is_empty(),
            "'ha ha' is laughter"
        );
        assert!(ids(&m, "HA HA!").is_empty());
        assert!(
            !ids(&m, "sudden floaters can signal retinal detachment")
                .contains(&"retinaldehyde".to_string())
        );
        assert_eq!(ids(&m, "a retinal serum"), vec!["retinaldehyde"]);
    }

    #[test]
    fn leftmost_longest_prefers_the_specific_phrase() {
        let m = matcher();
        let found = ids(&m, "an exosome facial after microneedling");
        assert_eq!(
            found[0],
            m.vocabulary().topics[m.mentions("exosome facial")[0]].id
        );
        assert_ne!(found[0], "exosomes", "the procedure, not the ingredient");
    }

    #[test]
    fn tags_map_through_aliases_and_unknown_tags_become_topics() {
        let m = matcher();
        assert_eq!(m.tag_topic("Sunscreen").unwrap().id, "sunscreen");
        assert_eq!(m.tag_topic("exosomes").unwrap().id, "exosomes");
        let t = m.tag_topic("Diwali").unwrap();
        assert_eq!((t.id.as_str(), t.label.as_str()), ("diwali", "Diwali"));
    }

    #[test]
    fn headings_and_body_are_told_apart() {
        let (h, b) = html_text("<h2>Why &amp; how</h2><p>Body &lt;text&gt;</p>");
        assert!(h.contains("Why & how"));
        assert!(b.contains("Body <text>") && !b.contains("Why"));
    }
}
