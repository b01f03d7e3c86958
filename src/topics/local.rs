//! `topics add`: a concept appended to the local vocabulary file, checked
//! first against the whole vocabulary.

use super::extract::Matcher;
use super::load_matcher;
use super::vocabulary::{self, Topic, TopicKind, Vocabulary, VocabularyError};
use crate::config::Config;
use crate::domain::Slug;
use std::path::{Path, PathBuf};

/// A concept for `topics add`.
#[derive(Debug, Clone)]
pub struct NewConcept {
    /// The phrase articles use; it becomes the concept's alias.
    pub phrase: String,
    pub kind: String,
    pub parent: Option<String>,
    pub label: Option<String>,
    pub id: Option<String>,
}

/// What `topics add` wrote.
#[derive(Debug, Clone)]
pub struct Added {
    pub topic: Topic,
    pub file: PathBuf,
}

fn fail(problem: String) -> VocabularyError {
    VocabularyError {
        problems: vec![problem],
    }
}

/// Appends a concept to the local vocabulary file (`topics.local`), after
/// checking that the vocabulary with it is still valid: a new id, a parent
/// that exists, no alias another concept has. Nothing is written otherwise.
pub fn add_local(config: &Config, new: &NewConcept) -> Result<Added, VocabularyError> {
    let file = config.topics.local.clone().ok_or_else(|| {
        fail("topics.local is empty: name the file local concepts go to (for example \"topics.local.toml\")".into())
    })?;
    let phrase = vocabulary::normalize(&new.phrase);
    if phrase.is_empty() {
        return Err(fail("the phrase is empty".into()));
    }
    let kind = TopicKind::parse(new.kind.trim()).ok_or_else(|| {
        fail(format!(
            "--kind: '{}' is not a kind ({})",
            new.kind,
            vocabulary::KINDS
        ))
    })?;
    let id = concept_id(new.id.as_deref(), &phrase)?;
    let current = load_matcher(config)?;
    if let Some(existing) = current.vocabulary().get(&id) {
        return Err(fail(format!(
            "id '{id}' is already in the vocabulary ({}): choose another with --id",
            existing.label
        )));
    }
    let parent = non_empty(new.parent.as_deref());
    check_aliases(&current, &phrase, parent)?;
    let label = non_empty(new.label.as_deref()).map_or_else(|| capitalized(&phrase), str::to_owned);
    let topic = Topic {
        id,
        label,
        kind,
        parent: parent.map(str::to_owned),
        aliases: vec![phrase],
        case_sensitive: Vec::new(),
        exclude: Vec::new(),
    };
    let text = format!("{}{}", local_text(&file)?, vocabulary::topic_toml(&topic));
    check_merged(config, &text, &file)?;
    write_replacing(&file, &text)?;
    Ok(Added { topic, file })
}

/// The id `--id` gives, or one made of the phrase.
fn concept_id(given: Option<&str>, phrase: &str) -> Result<String, VocabularyError> {
    match given {
        Some(id) => Slug::parse(id.trim()).map_err(|_| {
            fail(format!(
                "--id: '{id}' must be lowercase letters, digits and single hyphens"
            ))
        }),
        None => Slug::slugify(phrase).map_err(|_| {
            fail(format!(
                "'{phrase}' has no letters or digits to make an id of"
            ))
        }),
    }
    .map(|slug| slug.to_string())
}

/// An option's value, trimmed, when there is one.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// "sea fennel" -> "Sea fennel".
fn capitalized(phrase: &str) -> String {
    let mut c = phrase.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A phrase that holds another concept's alias would take that concept's
/// mentions (the longest match wins): it must be that alias' concept or go
/// under it.
fn check_aliases(
    current: &Matcher,
    phrase: &str,
    parent: Option<&str>,
) -> Result<(), VocabularyError> {
    let vocabulary = current.vocabulary();
    for (start, end, i) in current.mention_spans(phrase) {
        let inner = &vocabulary.topics[i];
        if start == 0 && end == phrase.len() {
            return Err(fail(format!(
                "'{phrase}' is already an alias of '{}' ({})",
                inner.id, inner.label
            )));
        }
        let under = parent.is_some_and(|p| {
            p == inner.id || vocabulary.ancestors(p).iter().any(|a| a.id == inner.id)
        });
        if !under {
            return Err(fail(format!(
                "'{phrase}' contains '{}', an alias of '{}' ({}): add it under that concept with --parent {}, or choose a phrase of its own",
                &phrase[start..end],
                inner.id,
                inner.label,
                inner.id
            )));
        }
    }
    Ok(())
}

/// The local file as it is, or the header a new one starts with.
fn local_text(file: &Path) -> Result<String, VocabularyError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(
            "# Local concepts, merged over the built-in vocabulary (`feedletter topics add`\n\
             # appends here). Same keys as the built-in vocabulary: id, label, kind,\n\
             # parent, aliases, case_sensitive, exclude.\n"
                .to_owned(),
        ),
        Err(e) => Err(fail(format!("topics.local: {}: {e}", file.display()))),
    }
}

/// The whole vocabulary with `text` as the local file must still be valid.
fn check_merged(config: &Config, text: &str, file: &Path) -> Result<(), VocabularyError> {
    let (base, base_name) = match config.topics.vocabulary.as_str() {
        "builtin:skincare" => (
            vocabulary::BUILTIN_SKINCARE.to_owned(),
            "builtin:skincare".to_owned(),
        ),
        path => (
            std::fs::read_to_string(path)
                .map_err(|e| fail(format!("topics.vocabulary: {path}: {e}")))?,
            path.to_owned(),
        ),
    };
    let name = file.display().to_string();
    Vocabulary::parse_merged(&base, &base_name, Some((text, &name)))?;
    Ok(())
}

/// Writes `text` beside `file`, then renames it over: a crash leaves the
/// old file or the new one, never half of it.
fn write_replacing(file: &Path, text: &str) -> Result<(), VocabularyError> {
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| fail(format!("topics.local: writing {}: {e}", file.display())))
}
