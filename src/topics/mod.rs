//! Skincare topics: the vocabulary (a tree of concepts), what each article
//! is about, which topics are trending, and which unknown phrases are
//! emerging. `extract`, `phrases`, `trending` and `candidates` are pure: no
//! clock, no I/O; `report` reads the store and puts them together.

pub mod candidates;
pub mod extract;
pub mod phrases;
pub mod report;
pub mod trending;
pub mod vocabulary;

pub use extract::Matcher;
pub use vocabulary::{Topic, TopicKind, Vocabulary, VocabularyError};

use crate::config::Config;
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Changes whenever what ingest extracts from an article changes (the
/// ancestors of concepts, salient phrases): stored articles are read again.
pub const EXTRACTION_VERSION: u32 = 3;

/// Days back from the ingest clock within which an article's phrases are
/// kept: the longest window and its baseline, then one more baseline so
/// that `trending --at` a few weeks back still sees them. An older article
/// can never be in a window or a baseline again (time only moves forward),
/// so reading its phrases would be wasted work: on a first import of a
/// back catalogue, most of the work.
pub fn phrase_horizon_days(config: &Config) -> u32 {
    let t = &config.topics;
    t.window_days.max(t.long_window_days) + 2 * t.baseline_days
}

/// The earliest publication time whose phrases ingest keeps at `now`.
pub fn phrase_horizon(config: &Config, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(phrase_horizon_days(config)))
}

/// The vocabulary `[topics]` names, with the local file merged over it and
/// the ignored tags, compiled. The last one is kept: compiling takes longer
/// than a scan of unchanged files, and the files are read again each time
/// so that edits (and `topics add`) take effect.
pub fn load_matcher(config: &Config) -> Result<Arc<Matcher>, VocabularyError> {
    static LAST: Mutex<Option<(String, Arc<Matcher>)>> = Mutex::new(None);
    use sha2::{Digest, Sha256};
    let spec = &config.topics.vocabulary;
    let mut key = Sha256::new();
    key.update(spec.as_bytes());
    if !spec.starts_with("builtin:") {
        let text = std::fs::read(spec).map_err(|e| VocabularyError {
            problems: vec![format!("topics.vocabulary: {spec}: {e}")],
        })?;
        key.update(&text);
    }
    key.update(b"\0local\0");
    if let Some(local) = &config.topics.local
        && let Ok(text) = std::fs::read(local)
    {
        key.update(local.display().to_string().as_bytes());
        key.update(&text);
    }
    key.update(if config.topics.candidates {
        "\0phrases\0"
    } else {
        "\0no-phrases\0"
    });
    key.update(b"\0ignore\0");
    for t in &config.topics.ignore_tags {
        key.update(t.as_bytes());
        key.update(b"\0");
    }
    let key = hex::encode(key.finalize());
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, m)) = last.as_ref().filter(|(k, _)| *k == key) {
        return Ok(m.clone());
    }
    let vocabulary =
        Vocabulary::load_with_local(spec, config.topics.local.as_deref(), Path::new(""))?;
    let matcher = Arc::new(
        Matcher::new(vocabulary)
            .map_err(|e| VocabularyError {
                problems: vec![format!("topics.vocabulary: {e}")],
            })?
            .with_ignored_tags(&config.topics.ignore_tags)
            .with_phrases(config.topics.candidates),
    );
    *last = Some((key, matcher.clone()));
    Ok(matcher)
}

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
    pub file: std::path::PathBuf,
}

/// Appends a concept to the local vocabulary file (`topics.local`), after
/// checking that the vocabulary with it is still valid: a new id, a parent
/// that exists, no alias another concept has. Nothing is written otherwise.
pub fn add_local(config: &Config, new: &NewConcept) -> Result<Added, VocabularyError> {
    let fail = |p: String| VocabularyError { problems: vec![p] };
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
    let id = match &new.id {
        Some(id) => crate::domain::Slug::parse(id.trim())
            .map_err(|_| {
                fail(format!(
                    "--id: '{id}' must be lowercase letters, digits and single hyphens"
                ))
            })?
            .to_string(),
        None => crate::domain::Slug::slugify(&phrase)
            .map_err(|_| {
                fail(format!(
                    "'{phrase}' has no letters or digits to make an id of"
                ))
            })?
            .to_string(),
    };
    let current = load_matcher(config)?;
    let vocabulary = current.vocabulary();
    if let Some(existing) = vocabulary.get(&id) {
        return Err(fail(format!(
            "id '{id}' is already in the vocabulary ({}): choose another with --id",
            existing.label
        )));
    }
    // A phrase that holds another concept's alias would take that
    // concept's mentions (the longest match wins): it belongs under it.
    let parent = new
        .parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for (start, end, i) in current.mention_spans(&phrase) {
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
    let label = new
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let label = label.map_or_else(
        || {
            let mut c = phrase.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        },
        str::to_owned,
    );
    let topic = Topic {
        id,
        label,
        kind,
        parent: parent.map(str::to_owned),
        aliases: vec![phrase],
        case_sensitive: Vec::new(),
        exclude: Vec::new(),
    };
    let old = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Local concepts, merged over the built-in vocabulary (`feedletter topics add`\n\
             # appends here). Same keys as the built-in vocabulary: id, label, kind,\n\
             # parent, aliases, case_sensitive, exclude.\n"
                .to_owned()
        }
        Err(e) => return Err(fail(format!("topics.local: {}: {e}", file.display()))),
    };
    let text = format!("{old}{}", vocabulary::topic_toml(&topic));
    // The whole vocabulary with the new file must still be valid.
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
    Vocabulary::parse_merged(&base, &base_name, Some((&text, &name)))?;
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .map_err(|e| fail(format!("topics.local: writing {}: {e}", file.display())))?;
    Ok(Added { topic, file })
}
