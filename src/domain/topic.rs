//! What ingest records of an article's topics and phrases, as the store
//! keeps it. The algorithms that produce these (matching, phrase
//! extraction) live in `topics`; what is here is the stored form, so the
//! store can read and write it without depending on them.

/// `TopicRef::prominence` of a topic the title names.
pub const TITLE: u8 = 2;
/// `TopicRef::prominence` of a topic the summary or a heading names.
pub const LEAD: u8 = 1;

/// A topic an article is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct TopicRef {
    pub id: String,
    pub label: String,
    /// How prominently the article names it (itself or a narrower
    /// concept): `TITLE`, `LEAD` (the summary or a heading) or 0 (the body
    /// or the tags). Trending gives an article two stories share to the one
    /// it names most prominently.
    pub prominence: u8,
}

/// A salient phrase of one article: lower case, words joined by one space,
/// and how often the article uses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Phrase {
    pub text: String,
    pub mentions: u32,
}

/// What ingest keeps of an article's phrases.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ArticlePhrases {
    /// The salient phrases, most salient first, at most
    /// `topics::phrases::MAX_PER_ARTICLE`.
    pub salient: Vec<Phrase>,
    /// Every phrase the article uses, salient or not.
    pub seen: SeenSet,
}

/// The set of every phrase an article uses, as a Bloom filter of
/// `SEEN_BYTES`: a baseline article "has" a phrase when it mentions it at
/// all, so that a word every article uses in passing ("serum", "costs")
/// never looks new because this week's articles happen to repeat it. With
/// single words and pairs only (about 600 in a 3 KB article), about 1 in 250
/// lookups of an absent phrase answers yes.
///
/// The keys are `word_hash` of each word folded with `combine_hash`: they
/// are part of the stored form (a set written with other keys answers
/// wrongly), which is why they are defined here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenSet(Vec<u8>);

/// Size of a `SeenSet`.
pub const SEEN_BYTES: usize = 1024;
const SEEN_PROBES: u64 = 4;

/// FNV-1a of a word: phrase keys only need to be distinct within an
/// article, and a word is hashed once however many phrases hold it.
pub fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The key of a phrase one word longer: `key` (0 for none) followed by a
/// word of hash `word`.
pub fn combine_hash(key: u64, word: u64) -> u64 {
    (key.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The keys a `SeenSet` holds for a phrase: the phrase itself up to two
/// words; for three, its two pairs (an article that has both pairs is
/// taken to use the three words: the set stays small, and a baseline
/// count can only err towards "used before").
fn seen_keys(words: &[&str]) -> Vec<u64> {
    let key = |ws: &[&str]| ws.iter().fold(0, |h, w| combine_hash(h, word_hash(w)));
    match words.len() {
        0 => Vec::new(),
        1 | 2 => vec![key(words)],
        _ => words.windows(2).map(key).collect(),
    }
}

impl SeenSet {
    fn positions(hash: u64) -> impl Iterator<Item = usize> {
        let bits = (SEEN_BYTES * 8) as u64;
        let (h1, h2) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        (0..SEEN_PROBES).map(move |i| usize::try_from((h1 + i * h2) % bits).unwrap_or(0))
    }

    /// The set of these phrases (lower case, single spaces).
    pub fn of<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = Self::default();
        for p in phrases {
            for k in Self::keys(p) {
                set.insert(k);
            }
        }
        set
    }

    /// Adds the key of a phrase of one or two words (see `combine_hash`).
    pub fn insert(&mut self, key: u64) {
        if self.0.len() != SEEN_BYTES {
            self.0 = vec![0; SEEN_BYTES];
        }
        for p in Self::positions(key) {
            self.0[p / 8] |= 1 << (p % 8);
        }
    }

    /// Whether the article may use `phrase` (lower case, single spaces).
    pub fn contains(&self, phrase: &str) -> bool {
        self.contains_keys(&Self::keys(phrase))
    }

    /// What `contains_keys` looks up for `phrase`, computed once.
    pub fn keys(phrase: &str) -> Vec<u64> {
        let words: Vec<&str> = phrase.split(' ').filter(|w| !w.is_empty()).collect();
        seen_keys(&words)
    }

    pub fn contains_keys(&self, keys: &[u64]) -> bool {
        self.0.len() == SEEN_BYTES
            && !keys.is_empty()
            && keys
                .iter()
                .all(|k| Self::positions(*k).all(|p| self.0[p / 8] & (1 << (p % 8)) != 0))
    }
}

impl serde::Serialize for SeenSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for SeenSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text.as_bytes())
            .map(SeenSet)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seen_set_holds_its_phrases_and_reads_back_from_json() {
        let set = SeenSet::of(["sea kelp", "lotion", "kelp farming methods"]);
        for used in ["sea kelp", "lotion", "kelp farming", "farming methods"] {
            assert!(set.contains(used), "{used}");
        }
        // Three words are held through their pairs.
        assert!(set.contains("kelp farming methods"));
        for absent in ["sea fennel", "tremella", ""] {
            assert!(!set.contains(absent), "{absent}");
        }
        let phrases = ArticlePhrases {
            salient: vec![Phrase {
                text: "sea kelp".into(),
                mentions: 3,
            }],
            seen: set,
        };
        let json = serde_json::to_string(&phrases).unwrap();
        let back: ArticlePhrases = serde_json::from_str(&json).unwrap();
        assert_eq!(back, phrases);
        let empty: ArticlePhrases = serde_json::from_str("{}").unwrap();
        assert!(!empty.seen.contains("kelp"));
    }

    #[test]
    fn phrase_keys_are_words_folded_in_order() {
        let key = combine_hash(combine_hash(0, word_hash("sea")), word_hash("kelp"));
        assert_eq!(SeenSet::keys("sea  kelp"), vec![key]);
        assert_ne!(SeenSet::keys("kelp sea"), vec![key]);
    }
}
