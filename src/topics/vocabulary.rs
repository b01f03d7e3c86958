//! The vocabulary: skincare concepts with their aliases. The built-in one
//! (`skincare.toml`, compiled in) is used unless `[topics].vocabulary` names
//! a file. Problems are reported with the line they are on.

use crate::domain::Slug;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use toml::Spanned;

pub const BUILTIN_SKINCARE: &str = include_str!("skincare.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicKind {
    Ingredient,
    Procedure,
    Concern,
    Trend,
    /// A tag that matched no concept.
    Tag,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub id: String,
    pub label: String,
    pub kind: TopicKind,
    /// Matched case-insensitively.
    pub aliases: Vec<String>,
    /// Matched exactly as written.
    pub case_sensitive: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub topics: Vec<Topic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    topic: Vec<RawTopic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    id: Spanned<String>,
    label: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    case_sensitive: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct VocabularyError {
    pub problems: Vec<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

impl Vocabulary {
    /// `builtin:skincare` or a path to a TOML file.
    pub fn load(spec: &str, root: &Path) -> Result<Self, VocabularyError> {
        if spec == "builtin:skincare" {
            return Self::parse(BUILTIN_SKINCARE, "builtin:skincare");
        }
        if let Some(other) = spec.strip_prefix("builtin:") {
            return Err(VocabularyError {
                problems: vec![format!(
                    "topics.vocabulary: no built-in vocabulary '{other}' (builtin:skincare)"
                )],
            });
        }
        let path = root.join(spec);
        let text = std::fs::read_to_string(&path).map_err(|e| VocabularyError {
            problems: vec![format!("{}: {e}", path.display())],
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a vocabulary; every problem names `name` and a line.
    pub fn parse(text: &str, name: &str) -> Result<Self, VocabularyError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            VocabularyError {
                problems: vec![format!(
                    "{name}:{line}: {}",
                    e.message().split_whitespace().collect::<Vec<_>>().join(" ")
                )],
            }
        })?;
        let mut problems = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut aliases: HashMap<String, (String, usize)> = HashMap::new();
        let mut exact: HashMap<String, (String, usize)> = HashMap::new();
        let mut topics = Vec::with_capacity(raw.topic.len());
        for t in raw.topic {
            let at = |s: &Spanned<String>| line_of(text, s.span().start);
            let id = t.id.get_ref().clone();
            if Slug::parse(&id).is_err() {
                problems.push(format!(
                    "{name}:{}: id '{id}' must be lowercase letters, digits and single hyphens",
                    at(&t.id)
                ));
            }
            if let Some(first) = ids.insert(id.clone(), at(&t.id)) {
                problems.push(format!(
                    "{name}:{}: id '{id}' is already used on line {first}",
                    at(&t.id)
                ));
            }
            if t.label.get_ref().trim().is_empty() {
                problems.push(format!(
                    "{name}:{}: topic '{id}' has an empty label",
                    at(&t.label)
                ));
            }
            let kind = match t.kind.get_ref().as_str() {
                "ingredient" => TopicKind::Ingredient,
                "procedure" => TopicKind::Procedure,
                "concern" => TopicKind::Concern,
                "trend" => TopicKind::Trend,
                other => {
                    problems.push(format!(
                        "{name}:{}: topic '{id}' has kind '{other}' (ingredient, procedure, concern, trend)",
                        at(&t.kind)
                    ));
                    TopicKind::Trend
                }
            };
            if t.aliases.is_empty() && t.case_sensitive.is_empty() {
                problems.push(format!("{name}:{}: topic '{id}' has no aliases", at(&t.id)));
            }
            for a in &t.aliases {
                let key = normalize(a.get_ref());
                if key.is_empty() {
                    problems.push(format!("{name}:{}: topic '{id}' has an empty alias", at(a)));
                    continue;
                }
                if let Some((other, line)) = aliases.insert(key.clone(), (id.clone(), at(a))) {
                    problems.push(format!(
                        "{name}:{}: alias '{}' of '{id}' is already an alias of '{other}' (line {line})",
                        at(a),
                        a.get_ref()
                    ));
                }
            }
            for a in &t.case_sensitive {
                if let Some((other, line)) =
                    exact.insert(a.get_ref().trim().to_owned(), (id.clone(), at(a)))
                {
                    problems.push(format!(
                        "{name}:{}: case-sensitive alias '{}' of '{id}' is already used by '{other}' (line {line})",
                        at(a),
                        a.get_ref()
                    ));
                }
            }
            topics.push(Topic {
                id,
                label: t.label.into_inner().trim().to_owned(),
                kind,
                aliases: t
                    .aliases
                    .into_iter()
                    .map(|a| normalize(a.get_ref()))
                    .collect(),
                case_sensitive: t
                    .case_sensitive
                    .into_iter()
                    .map(|a| a.into_inner().trim().to_owned())
                    .collect(),
                exclude: t
                    .exclude
                    .into_iter()
                    .map(|a| a.into_inner().trim().to_owned())
                    .collect(),
            });
        }
        if problems.is_empty() {
            Ok(Self { topics })
        } else {
            Err(VocabularyError { problems })
        }
    }

    pub fn get(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// A digest of the vocabulary: when it changes, articles are read again.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for t in &self.topics {
            h.update(format!(
                "{}|{:?}|{:?}|{:?}\n",
                t.id, t.aliases, t.case_sensitive, t.exclude
            ));
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// Lower case, single spaces, hyphens kept.
pub fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_vocabulary_loads_and_is_large_enough() {
        let v = Vocabulary::load("builtin:skincare", Path::new(".")).unwrap();
        assert!(v.topics.len() >= 150, "{} topics", v.topics.len());
        for kind in [
            TopicKind::Ingredient,
            TopicKind::Procedure,
            TopicKind::Concern,
            TopicKind::Trend,
        ] {
            assert!(v.topics.iter().any(|t| t.kind == kind), "{kind:?}");
        }
        assert!(v.get("retinol").is_some() && v.get("exosomes").is_some());
    }

    #[test]
    fn problems_name_the_line() {
        let text = "[[topic]]\nid = \"a\"\nlabel = \"A\"\nkind = \"ingredient\"\naliases = [\"x\"]\n\n[[topic]]\nid = \"b\"\nlabel = \" \"\nkind = \"potion\"\naliases = [\"X\"]\n";
        let e = Vocabulary::parse(text, "v.toml")
            .unwrap_err()
            .problems
            .join("\n");
        assert!(e.contains("v.toml:9: topic 'b' has an empty label"), "{e}");
        assert!(e.contains("v.toml:10: topic 'b' has kind 'potion'"), "{e}");
        assert!(
            e.contains("v.toml:11: alias 'X' of 'b' is already an alias of 'a' (line 5)"),
            "{e}"
        );
        let e = Vocabulary::parse(
            "[[topic]]\nid = \"a\"\nlabel = \"A\"\nkind = \"trend\"\nsynonyms = []\n",
            "v.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v.toml:5") && e.contains("synonyms"), "{e}");
    }
}
