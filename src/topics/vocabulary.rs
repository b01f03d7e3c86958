//! The vocabulary: skincare concepts with their aliases, arranged in a tree
//! (a concept may name a broader `parent`). The built-in one
//! (`skincare.toml`, compiled in) is used unless `[topics].vocabulary` names
//! a file; a local file (`[topics].local`, written by `feedletter topics
//! add`) is merged over it. Problems are reported with the file and line
//! they are on, and every problem is reported at once.

use crate::domain::Slug;
use crate::domain::text::squash_whitespace;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use toml::Spanned;

pub const BUILTIN_SKINCARE: &str = include_str!("skincare.toml");

/// The kinds a vocabulary concept can have, as `topics add --kind` takes them.
pub const KINDS: &str = "ingredient, procedure, concern, trend";

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

impl TopicKind {
    /// A concept kind by name (not `tag`, which no vocabulary declares).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ingredient" => Some(Self::Ingredient),
            "procedure" => Some(Self::Procedure),
            "concern" => Some(Self::Concern),
            "trend" => Some(Self::Trend),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingredient => "ingredient",
            Self::Procedure => "procedure",
            Self::Concern => "concern",
            Self::Trend => "trend",
            Self::Tag => "tag",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub id: String,
    pub label: String,
    pub kind: TopicKind,
    /// The broader concept this one belongs to.
    pub parent: Option<String>,
    /// Matched case-insensitively.
    pub aliases: Vec<String>,
    /// Matched exactly as written.
    pub case_sensitive: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub topics: Vec<Topic>,
    /// id -> index into `topics`.
    index: HashMap<String, usize>,
    /// Index of each topic's parent.
    parents: Vec<Option<usize>>,
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
    parent: Option<Spanned<String>>,
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

impl VocabularyError {
    fn one(problem: String) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    Lines::new(text).of(offset)
}

/// Line numbers of byte offsets in one text, found by binary search over
/// its line starts (a vocabulary file asks for one per alias).
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    /// The 1-based line holding byte `offset`.
    fn of(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }
}

/// Where a definition is: "file:line".
#[derive(Debug, Clone)]
struct At {
    file: String,
    line: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl At {
    /// "line 12" in the same file, "other.toml:12" in another.
    fn seen_from(&self, here: &At) -> String {
        if self.file == here.file {
            format!("line {}", self.line)
        } else {
            self.to_string()
        }
    }
}

/// One concept as a file defines it, with where each part is.
struct Defined {
    topic: Topic,
    parent_at: At,
    alias_at: Vec<At>,
    exact_at: Vec<At>,
}

/// Reads one file's concepts; problems that concern one file only (syntax,
/// ids, kinds, labels, an id twice in the file) are added to `problems`.
fn read_file(text: &str, name: &str, problems: &mut Vec<String>) -> Vec<Defined> {
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            problems.push(format!("{name}:{line}: {}", squash_whitespace(e.message())));
            return Vec::new();
        }
    };
    let lines = Lines::new(text);
    let at = |offset: usize| At {
        file: name.to_owned(),
        line: lines.of(offset),
    };
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.topic.len());
    for t in raw.topic {
        let here = at(t.id.span().start);
        let id = t.id.get_ref().clone();
        if Slug::parse(&id).is_err() {
            problems.push(format!(
                "{here}: id '{id}' must be lowercase letters, digits and single hyphens"
            ));
        }
        if let Some(first) = ids.insert(id.clone(), here.line) {
            problems.push(format!("{here}: id '{id}' is already used on line {first}"));
        }
        if t.label.get_ref().trim().is_empty() {
            problems.push(format!(
                "{}: topic '{id}' has an empty label",
                at(t.label.span().start)
            ));
        }
        let kind = TopicKind::parse(t.kind.get_ref()).unwrap_or_else(|| {
            problems.push(format!(
                "{}: topic '{id}' has kind '{}' ({KINDS})",
                at(t.kind.span().start),
                t.kind.get_ref()
            ));
            TopicKind::Trend
        });
        if t.aliases.is_empty() && t.case_sensitive.is_empty() {
            problems.push(format!("{here}: topic '{id}' has no aliases"));
        }
        for a in &t.aliases {
            if normalize(a.get_ref()).is_empty() {
                problems.push(format!(
                    "{}: topic '{id}' has an empty alias",
                    at(a.span().start)
                ));
            }
        }
        let parent_at = t
            .parent
            .as_ref()
            .map_or(here.clone(), |p| at(p.span().start));
        out.push(Defined {
            alias_at: t.aliases.iter().map(|a| at(a.span().start)).collect(),
            exact_at: t
                .case_sensitive
                .iter()
                .map(|a| at(a.span().start))
                .collect(),
            parent_at,
            topic: Topic {
                id,
                label: t.label.into_inner().trim().to_owned(),
                kind,
                parent: t
                    .parent
                    .map(|p| p.into_inner().trim().to_owned())
                    .filter(|p| !p.is_empty()),
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
            },
        });
    }
    out
}

/// Checks the merged concepts as a whole (aliases claimed twice, parents
/// that do not exist, cycles) and builds the vocabulary.
fn assemble(defined: Vec<Defined>, problems: &mut Vec<String>) -> Vocabulary {
    let mut aliases: HashMap<&str, (&str, &At)> = HashMap::new();
    let mut exact: HashMap<&str, (&str, &At)> = HashMap::new();
    for d in &defined {
        let id = d.topic.id.as_str();
        for (a, at) in d.topic.aliases.iter().zip(&d.alias_at) {
            if a.is_empty() {
                continue;
            }
            match aliases.get(a.as_str()) {
                Some((other, first)) if *other != id => problems.push(format!(
                    "{at}: alias '{a}' of '{id}' is already an alias of '{other}' ({})",
                    first.seen_from(at)
                )),
                Some(_) => {}
                None => {
                    aliases.insert(a, (id, at));
                }
            }
        }
        for (a, at) in d.topic.case_sensitive.iter().zip(&d.exact_at) {
            match exact.get(a.as_str()) {
                Some((other, first)) if *other != id => problems.push(format!(
                    "{at}: case-sensitive alias '{a}' of '{id}' is already used by '{other}' ({})",
                    first.seen_from(at)
                )),
                Some(_) => {}
                None => {
                    exact.insert(a, (id, at));
                }
            }
        }
    }
    let index: HashMap<String, usize> = defined
        .iter()
        .enumerate()
        .map(|(i, d)| (d.topic.id.clone(), i))
        .collect();
    let mut parents = Vec::with_capacity(defined.len());
    for d in &defined {
        let parent = d.topic.parent.as_ref().and_then(|p| {
            let found = index.get(p).copied();
            if found.is_none() {
                problems.push(format!(
                    "{}: topic '{}' names parent '{p}', which is not in the vocabulary",
                    d.parent_at, d.topic.id
                ));
            } else if *p == d.topic.id {
                problems.push(format!(
                    "{}: topic '{}' names itself as its parent",
                    d.parent_at, d.topic.id
                ));
                return None;
            }
            found
        });
        parents.push(parent);
    }
    // A cycle is reported once, at the first of its concepts in file order.
    let mut reported = vec![false; defined.len()];
    for start in 0..defined.len() {
        let mut path = vec![start];
        let mut at = parents[start];
        while let Some(i) = at {
            if let Some(pos) = path.iter().position(|p| *p == i) {
                let cycle = &path[pos..];
                if pos == 0 && !cycle.iter().any(|c| reported[*c]) {
                    for c in cycle {
                        reported[*c] = true;
                    }
                    let names: Vec<&str> = cycle
                        .iter()
                        .chain(std::iter::once(&i))
                        .map(|c| defined[*c].topic.id.as_str())
                        .collect();
                    problems.push(format!(
                        "{}: topic '{}' is its own ancestor through its parents: {}",
                        defined[start].parent_at,
                        defined[start].topic.id,
                        names.join(" -> ")
                    ));
                }
                break;
            }
            path.push(i);
            at = parents[i];
        }
    }
    if problems.is_empty() {
        Vocabulary {
            topics: defined.into_iter().map(|d| d.topic).collect(),
            index,
            parents,
        }
    } else {
        Vocabulary::default()
    }
}

impl Vocabulary {
    /// `builtin:skincare` or a path to a TOML file.
    pub fn load(spec: &str, root: &Path) -> Result<Self, VocabularyError> {
        Self::load_with_local(spec, None, root)
    }

    /// The vocabulary `spec` names, with the concepts of `local` (when the
    /// file exists) merged over it: a local concept with a new id is added,
    /// one with an id the vocabulary has replaces that concept.
    pub fn load_with_local(
        spec: &str,
        local: Option<&Path>,
        root: &Path,
    ) -> Result<Self, VocabularyError> {
        let (text, name) = read_spec(spec, root)?;
        let local = match local.map(|p| root.join(p)) {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    VocabularyError::one(format!("topics.local: {}: {e}", path.display()))
                })?;
                Some((text, path.display().to_string()))
            }
            _ => None,
        };
        Self::parse_merged(
            &text,
            &name,
            local.as_ref().map(|(t, n)| (t.as_str(), n.as_str())),
        )
    }

    /// Parses and checks a vocabulary; every problem names `name` and a line.
    pub fn parse(text: &str, name: &str) -> Result<Self, VocabularyError> {
        Self::parse_merged(text, name, None)
    }

    /// Parses a vocabulary and an optional local file merged over it.
    pub fn parse_merged(
        text: &str,
        name: &str,
        local: Option<(&str, &str)>,
    ) -> Result<Self, VocabularyError> {
        let mut problems = Vec::new();
        let mut defined = read_file(text, name, &mut problems);
        if let Some((local_text, local_name)) = local {
            for d in read_file(local_text, local_name, &mut problems) {
                match defined.iter_mut().find(|x| x.topic.id == d.topic.id) {
                    Some(slot) => *slot = d,
                    None => defined.push(d),
                }
            }
        }
        let vocabulary = assemble(defined, &mut problems);
        if problems.is_empty() {
            Ok(vocabulary)
        } else {
            Err(VocabularyError { problems })
        }
    }

    pub fn get(&self, id: &str) -> Option<&Topic> {
        self.index.get(id).map(|i| &self.topics[*i])
    }

    /// The index of `id` in `topics`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The parent of topic `i`, as an index.
    pub fn parent_of(&self, i: usize) -> Option<usize> {
        self.parents.get(i).copied().flatten()
    }

    /// The ancestors of `id`, nearest first.
    pub fn ancestors(&self, id: &str) -> Vec<&Topic> {
        let mut out = Vec::new();
        let mut at = self.position(id).and_then(|i| self.parent_of(i));
        while let Some(i) = at {
            out.push(&self.topics[i]);
            at = self.parent_of(i);
        }
        out
    }

    /// Concepts with no parent: what a reader chooses from.
    pub fn is_top_level(&self, id: &str) -> bool {
        self.get(id).is_some_and(|t| t.parent.is_none())
    }

    /// The concepts directly under `id`.
    pub fn children(&self, id: &str) -> Vec<&Topic> {
        self.topics
            .iter()
            .filter(|t| t.parent.as_deref() == Some(id))
            .collect()
    }

    /// A digest of the vocabulary: when it changes, articles are read again.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for t in &self.topics {
            h.update(format!(
                "{}|{}|{:?}|{:?}|{:?}|{:?}\n",
                t.id, t.label, t.parent, t.aliases, t.case_sensitive, t.exclude
            ));
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// The text and display name of `builtin:skincare` or of a file.
fn read_spec(spec: &str, root: &Path) -> Result<(String, String), VocabularyError> {
    if spec == "builtin:skincare" {
        return Ok((BUILTIN_SKINCARE.to_owned(), spec.to_owned()));
    }
    if let Some(other) = spec.strip_prefix("builtin:") {
        return Err(VocabularyError::one(format!(
            "topics.vocabulary: no built-in vocabulary '{other}' (builtin:skincare)"
        )));
    }
    let path = root.join(spec);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| VocabularyError::one(format!("{}: {e}", path.display())))?;
    Ok((text, path.display().to_string()))
}

/// Lower case, single spaces, hyphens kept.
pub fn normalize(s: &str) -> String {
    squash_whitespace(s).to_lowercase()
}

/// One `[[topic]]` table for a local vocabulary file, as `topics add`
/// appends it.
pub fn topic_toml(topic: &Topic) -> String {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    let mut out = format!(
        "\n[[topic]]\nid = {}\nlabel = {}\nkind = {}\n",
        q(&topic.id),
        q(&topic.label),
        q(topic.kind.as_str())
    );
    if let Some(p) = &topic.parent {
        out.push_str(&format!("parent = {}\n", q(p)));
    }
    out.push_str(&format!("aliases = [{}]\n", list(&topic.aliases)));
    if !topic.case_sensitive.is_empty() {
        out.push_str(&format!(
            "case_sensitive = [{}]\n",
            list(&topic.case_sensitive)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
