//! The matcher `[topics]` configures: the vocabulary, the local file merged
//! over it and the ignored tags, compiled.

use super::extract::Matcher;
use super::vocabulary::{Vocabulary, VocabularyError};
use crate::config::Config;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The vocabulary `[topics]` names, with the local file merged over it and
/// the ignored tags, compiled. The last one is kept: compiling takes longer
/// than a scan of unchanged files, and the files are read again each time
/// so that edits (and `topics add`) take effect.
pub fn load_matcher(config: &Config) -> Result<Arc<Matcher>, VocabularyError> {
    static LAST: Mutex<Option<(String, Arc<Matcher>)>> = Mutex::new(None);
    let key = cache_key(config)?;
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, m)) = last.as_ref().filter(|(k, _)| *k == key) {
        return Ok(m.clone());
    }
    let spec = &config.topics.vocabulary;
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

/// What the matcher is compiled from: the settings and the text of both
/// vocabulary files, hashed.
fn cache_key(config: &Config) -> Result<String, VocabularyError> {
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
    Ok(hex::encode(key.finalize()))
}
