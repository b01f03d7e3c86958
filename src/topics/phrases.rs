//! The phrases an article is about that no vocabulary knows: the raw
//! material of emerging candidates.
//!
//! A phrase is one to three words within a clause (punctuation ends
//! phrases), with no stop word, number, month or weekday in it, that
//! contains no alias of the vocabulary. It is *salient* in an article when
//! the title, the summary or a heading has it, or the body has it at least
//! `BODY_MENTIONS` times, as for concepts. Every phrase an article uses is
//! also kept, in a Bloom filter (`SeenSet`), for counting the baseline.
//! Names of people and places
//! (words capitalised in the middle of sentences, "Dr. Kavya Raman",
//! "Mumbai") are left out; acronyms ("PDRN") are kept. Ingest stores the
//! `MAX_PER_ARTICLE` most salient phrases of each article and the set;
//! candidates count articles, never mentions.
//!
//! Phrases are hashed, not built as strings, until they prove salient: an
//! article has about a thousand n-grams and fifty salient phrases.

use super::extract::{ArticleText, BODY_MENTIONS, Spans};
use crate::domain::topic::{ArticlePhrases, Phrase, SeenSet, combine_hash, word_hash};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Phrases kept per article.
pub const MAX_PER_ARTICLE: usize = 32;
/// Longest phrase, in words.
pub const MAX_WORDS: usize = 3;

const STOP_WORDS: &str = "a about above across after afterwards again against all almost alone along \
already also although always am among amongst an and another any anyhow anyone anything anyway anywhere \
are around as at back be became because become becomes becoming been before beforehand behind being \
below beside besides best better between beyond both but by can cannot could did do does doing done \
down during each either else elsewhere enough even ever every everyone everything everywhere except \
few first for former formerly from further get gets getting give given gives go goes going gone got \
had has have having he hence her here hers herself him himself his how however i if in indeed instead \
into is it its itself just keep keeps last least less let lets like likely made make makes making many \
may maybe me meanwhile might mine more moreover most mostly much must my myself near nearly need needs \
neither never nevertheless new next no nobody none nor not nothing now nowhere of off often on once one \
ones only onto or other others otherwise our ours ourselves out over own per perhaps please put quite \
rather really said same say says see seem seemed seems seen several she should show shows since so \
some somehow someone something sometime sometimes somewhere still such take takes than that the their \
theirs them themselves then there thereafter thereby therefore therein these they thing things this \
those though through throughout thus to together too toward towards two under until up upon us use used \
uses using very via want wants was way ways we well were what whatever when whenever where whereas \
wherever whether which while who whoever whole whom whose why will with within without would yet you \
your yours yourself yourselves lot lots tell tells told ask asks asked think thinks thought know knows \
known look looks looked find finds found try tries tried work works worked add adds added explain \
explains explained suggest suggests suggested note notes noted recommend recommends recommended call \
called help helps helped start starts started mean means meant feel feels felt come comes came point \
points week weeks day days month months year years today time times part kind sort good great big small \
large little long short high low able sure true right left least worth own older newer latest recent \
recently early late later today's isn't aren't don't doesn't didn't can't won't it's that's there's \
you're we're they're i'm i've you've we've they've";

const CALENDAR: &str = "january february march april may june july august september october \
november december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday \
friday saturday sunday";

/// Units of measure: "30 ml" is no phrase.
const UNITS: &str = "ml mg mcg kg cm mm nm iu percent";

/// Titles before names; also never part of a phrase.
const TITLES: [&str; 8] = ["dr", "mr", "mrs", "ms", "prof", "st", "drs", "profs"];

/// FNV-1a for the stop-word set: short keys, looked up once a word.
#[derive(Default, Clone, Copy)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

static STOP: LazyLock<HashSet<&'static str, std::hash::BuildHasherDefault<WordHasher>>> =
    LazyLock::new(|| {
        STOP_WORDS
            .split_whitespace()
            .chain(CALENDAR.split_whitespace())
            .chain(TITLES)
            .chain(UNITS.split_whitespace())
            .collect()
    });

/// One word of a clause.
#[derive(Clone, Copy)]
struct Word<'a> {
    /// Lower case.
    lower: &'a str,
    hash: u64,
    /// Not a stop word, number or calendar word: may be part of a phrase.
    usable: bool,
    /// Upper-case initial, not an acronym, not the first word of a sentence.
    proper: bool,
    acronym: bool,
}

/// Phrase keys are hashes already: a map keyed by them need not hash again.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// Where a phrase was seen in one article.
#[derive(Default)]
struct Tally<'a> {
    lead: u32,
    body: u32,
    /// Mentions outside the title, and those of them that look like a name
    /// (every word capitalised mid-sentence).
    checked: u32,
    proper: u32,
    acronym: bool,
    /// Its words (lower case), from its first occurrence.
    words: [&'a str; MAX_WORDS],
    len: usize,
}

impl Tally<'_> {
    fn text(&self) -> String {
        self.words[..self.len].join(" ")
    }
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '-' || c == '\''
    } else {
        c.is_alphanumeric() || c == '\u{2019}'
    }
}

/// The character at byte `i` and its length; ASCII without decoding.
fn char_at(text: &str, i: usize) -> (char, usize) {
    match text.as_bytes().get(i) {
        Some(b) if *b < 0x80 => (char::from(*b), 1),
        _ => text
            .get(i..)
            .and_then(|t| t.chars().next())
            .map_or((' ', 1), |c| (c, c.len_utf8())),
    }
}

/// (letters, upper-case letters, digits) of a word.
fn letter_counts(word: &str) -> (usize, usize, bool) {
    let (mut letters, mut upper, mut digit) = (0, 0, false);
    if word.is_ascii() {
        for b in word.bytes() {
            letters += usize::from(b.is_ascii_alphabetic());
            upper += usize::from(b.is_ascii_uppercase());
            digit |= b.is_ascii_digit();
        }
    } else {
        for c in word.chars() {
            letters += usize::from(c.is_alphabetic());
            upper += usize::from(c.is_uppercase());
            digit |= c.is_ascii_digit();
        }
    }
    (letters, upper, digit)
}

/// Calls `f` with the words of each clause of `text` (lower-cased copy in
/// `lower`, which has the same byte offsets for ASCII text). `known` are
/// the spans the vocabulary matched, sorted: they end clauses too, so that
/// no phrase is part of an alias ("tranexamic" of "tranexamic acid").
fn clauses<'a>(
    text: &'a str,
    lower: &'a str,
    known: &[(usize, usize, usize)],
    mut f: impl FnMut(&[Word<'a>]),
) {
    let mut known = known.iter().peekable();
    let mut clause: Vec<Word<'a>> = Vec::with_capacity(32);
    let mut sentence_start = true;
    let mut last_word: Option<&str> = None;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let (c, len) = char_at(text, i);
        if is_word_char(c) {
            let start = i;
            let mut end = i;
            while end < text.len() {
                let (c, l) = char_at(text, end);
                if !is_word_char(c) {
                    break;
                }
                end += l;
            }
            i = end;
            while known.peek().is_some_and(|k| k.1 <= start) {
                known.next();
            }
            if known.peek().is_some_and(|k| k.0 < end) {
                // Inside a vocabulary mention.
                if !clause.is_empty() {
                    f(&clause);
                    clause.clear();
                }
                sentence_start = false;
                continue;
            }
            let span = &text[start..end];
            let trimmed = span.trim_start_matches(['-', '\'', '\u{2019}']);
            let offset = start + (span.len() - trimmed.len());
            let raw = trimmed.trim_end_matches(['-', '\'', '\u{2019}']);
            if raw.is_empty() {
                continue;
            }
            let mut w = &lower[offset..offset + raw.len()];
            for suffix in ["'s", "\u{2019}s"] {
                if let Some(stem) = w.strip_suffix(suffix) {
                    w = stem;
                }
            }
            let first_upper = raw.chars().next().is_some_and(char::is_uppercase);
            let (letters, upper, digit) = letter_counts(raw);
            let acronym = letters >= 2 && upper == letters;
            let usable = !w.is_empty() && !digit && letters > 0 && !STOP.contains(w);
            clause.push(Word {
                lower: w,
                hash: word_hash(w),
                usable,
                proper: first_upper && !acronym && !sentence_start,
                acronym,
            });
            sentence_start = false;
            last_word = Some(w);
            continue;
        }
        // Punctuation ends a clause; the end of a sentence also resets
        // what counts as a capital in mid-sentence.
        if !c.is_whitespace() {
            if !clause.is_empty() {
                f(&clause);
                clause.clear();
            }
            // "Dr. Kavya Raman": the full stop of a title is no sentence end.
            let title = c == '.' && last_word.is_some_and(|w| TITLES.contains(&w));
            if matches!(
                c,
                '.' | '!' | '?' | ':' | '"' | '\u{201c}' | '\u{201d}' | '\u{2014}' | '('
            ) && !title
            {
                sentence_start = true;
            }
        } else if c == '\n' && bytes.get(i + 1) == Some(&b'\n') {
            sentence_start = true;
        }
        i += len;
    }
    if !clause.is_empty() {
        f(&clause);
    }
}

/// Counts the n-grams of `text` into `seen`; `lower` is `text` lower-cased
/// (ASCII lower-casing keeps byte offsets; other letters are rare in
/// phrases worth finding and are compared as written). `names`: whether
/// capitals in mid-sentence say "a name" here (not in a title, often in
/// title case).
fn count<'a>(
    text: &'a str,
    lower: &'a str,
    lead: bool,
    names: bool,
    known: &[(usize, usize, usize)],
    seen: &mut KeyMap<Tally<'a>>,
) {
    clauses(text, lower, known, |words| {
        for start in 0..words.len() {
            if !words[start].usable {
                continue;
            }
            let mut hash = 0u64;
            let mut proper = true;
            let mut acronym = true;
            for n in 0..MAX_WORDS.min(words.len() - start) {
                let w = &words[start + n];
                if !w.usable {
                    break;
                }
                hash = combine_hash(hash, w.hash);
                proper &= w.proper;
                acronym &= w.acronym;
                if n == 0 && !acronym && w.lower.chars().count() < 4 {
                    // Short single words are rarely names of anything.
                    continue;
                }
                let s = seen.entry(hash).or_insert_with(|| {
                    let mut t = Tally {
                        len: n + 1,
                        ..Tally::default()
                    };
                    for (k, w) in words[start..=start + n].iter().enumerate() {
                        t.words[k] = w.lower;
                    }
                    t
                });
                if lead {
                    s.lead += 1;
                } else {
                    s.body += 1;
                }
                if names {
                    s.checked += 1;
                    s.proper += u32::from(proper);
                }
                s.acronym |= acronym;
            }
        }
    });
}

/// The phrases of an article: the salient ones, and the set of all. The
/// vocabulary's mentions (`spans`) end phrases: no phrase holds an alias,
/// the vocabulary covers those.
pub fn extract(text: &ArticleText, spans: &Spans) -> ArticlePhrases {
    let lower = [
        text.title.to_ascii_lowercase(),
        text.summary.to_ascii_lowercase(),
        text.headings.to_ascii_lowercase(),
        text.body.to_ascii_lowercase(),
    ];
    let mut tallies: KeyMap<Tally> = KeyMap::with_capacity_and_hasher(2048, Default::default());
    count(&text.title, &lower[0], true, false, &spans[0], &mut tallies);
    count(
        &text.summary,
        &lower[1],
        true,
        true,
        &spans[1],
        &mut tallies,
    );
    count(
        &text.headings,
        &lower[2],
        true,
        true,
        &spans[2],
        &mut tallies,
    );
    count(&text.body, &lower[3], false, true, &spans[3], &mut tallies);
    let mut seen = SeenSet::default();
    for (hash, t) in &tallies {
        if t.len <= 2 {
            seen.insert(*hash);
        }
    }
    let mut out: Vec<(u32, &Tally)> = tallies
        .values()
        .filter(|s| s.lead > 0 || s.body as usize >= BODY_MENTIONS)
        .filter(|s| s.acronym || s.checked == 0 || s.proper * 2 <= s.checked)
        .filter(|s| s.len > 0)
        .map(|s| (s.lead * 2 + s.body, s))
        .collect();
    out.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.words[..a.1.len].cmp(&b.1.words[..b.1.len]))
    });
    let salient: Vec<Phrase> = out
        .into_iter()
        .take(MAX_PER_ARTICLE)
        .map(|(_, s)| Phrase {
            text: s.text(),
            mentions: s.lead + s.body,
        })
        .collect();
    ArticlePhrases { salient, seen }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::{Matcher, Vocabulary};
    use std::path::Path;

    fn matcher() -> Matcher {
        Matcher::new(Vocabulary::load("builtin:skincare", Path::new(".")).unwrap()).unwrap()
    }

    fn phrases(title: &str, body: &str) -> Vec<String> {
        let text = ArticleText {
            title: title.into(),
            summary: String::new(),
            headings: String::new(),
            body: body.into(),
        };
        let m = matcher();
        extract(&text, &text.spans(&m))
            .salient
            .into_iter()
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn new_words_in_the_title_or_repeated_in_the_body_are_salient() {
        let p = phrases(
            "Why sea fennel is in every new serum",
            "Sea fennel grows on cliffs. Brands say sea fennel extract calms skin. \
             A single mention of kelp water is not enough.",
        );
        assert!(p.contains(&"sea fennel".to_owned()), "{p:?}");
        assert!(p.contains(&"fennel".to_owned()), "{p:?}");
        assert!(!p.contains(&"kelp water".to_owned()), "{p:?}");
    }

    #[test]
    fn stop_words_numbers_dates_names_and_known_aliases_are_not_phrases() {
        let p = phrases(
            "A note",
            "In 2026 the 30 ml bottle sold out in March. In 2026 the 30 ml bottle sold out in March. \
             Dermatologist Dr. Kavya Raman in Mumbai said so. Later, Kavya Raman in Mumbai agreed. \
             Retinol serums again; retinol serums again. PDRN injections and PDRN creams. \
             Tranexamic acid toners, tranexamic acid toners.",
        );
        for bad in [
            "kavya raman",
            "raman",
            "mumbai",
            "march",
            "retinol serum",
            "retinol serums",
            "tranexamic acid toners",
            "tranexamic",
            "acid toners",
            "in 2026",
            "ml bottle",
            "30 ml",
        ] {
            assert!(!p.contains(&bad.to_owned()), "{bad} in {p:?}");
        }
        assert!(p.contains(&"bottle sold".to_owned()), "{p:?}");
        assert!(p.contains(&"toners".to_owned()), "{p:?}");
        assert!(
            !p.iter().any(|x| x.split(' ').any(|w| STOP.contains(w))),
            "{p:?}"
        );
    }

    #[test]
    fn the_seen_set_holds_every_phrase_and_reads_back_from_json() {
        let text = ArticleText {
            title: "Barrier care".into(),
            summary: "Notes on kelp farming.".into(),
            headings: String::new(),
            body: "A passing word about sea kelp. Brands sold out of lotion quickly.".into(),
        };
        let m = matcher();
        let p = extract(&text, &text.spans(&m));
        for used in ["sea kelp", "brands sold", "lotion"] {
            assert!(p.seen.contains(used), "{used}");
            assert!(
                !p.salient.iter().any(|s| s.text == used),
                "{used} is not salient"
            );
        }
        assert!(p.seen.contains("kelp farming"));
        assert!(p.salient.iter().any(|s| s.text == "kelp farming"));
        for absent in ["sea fennel", "tremella", "lotion quickly sold"] {
            assert!(!p.seen.contains(absent), "{absent}");
        }
        let json = serde_json::to_string(&p).unwrap();
        let back: ArticlePhrases = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert!(json.len() < 1600, "{} bytes", json.len());
        let empty: ArticlePhrases = serde_json::from_str("{}").unwrap();
        assert!(!empty.seen.contains("kelp"));
    }

    #[test]
    fn clauses_end_phrases_and_acronyms_are_kept() {
        let p = phrases(
            "",
            "Ask about NMN, then tallow. Ask about NMN, then tallow. \
             Cold plunge, face masks; cold plunge, face masks.",
        );
        assert!(p.contains(&"nmn".to_owned()), "{p:?}");
        assert!(p.contains(&"cold plunge".to_owned()), "{p:?}");
        assert!(!p.contains(&"plunge face".to_owned()), "{p:?}");
    }
}
