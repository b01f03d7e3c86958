//! The one list every section adds its problems to, so that a config with
//! several mistakes reports all of them at once, each naming its key. A value
//! that cannot be read becomes `None` and a problem, never a stand-in: checks
//! that need it are skipped rather than run on a made-up value.

use super::duration::parse_duration;
use crate::domain::schedule::CronLine;
use chrono_tz::Tz;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use std::fmt::Display;
use std::time::Duration;

#[derive(Debug, Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    /// A problem with the value at `key`: `key: message`.
    pub(super) fn push(&mut self, key: &str, message: impl Display) {
        self.0.push(format!("{key}: {message}"));
    }

    /// A problem whose text names its key itself.
    pub(super) fn note(&mut self, message: String) {
        self.0.push(message);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every problem, one a line, each prefixed with the file it is in.
    pub(super) fn into_lines(self, file: &str) -> Vec<String> {
        self.0.into_iter().map(|p| format!("{file}: {p}")).collect()
    }

    /// The value, or its error as a problem at `key`.
    pub(super) fn check<T, E: Display>(&mut self, key: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.push(key, e)).ok()
    }

    /// A key the section cannot do without.
    pub(super) fn required<T>(&mut self, key: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(key, "must be set");
        }
        value
    }

    /// A duration such as `30s` or `1h30m`.
    pub(super) fn duration(&mut self, key: &str, text: &str) -> Option<Duration> {
        self.check(key, parse_duration(text))
    }

    /// An IANA time zone name.
    pub(super) fn timezone(&mut self, key: &str, text: &str) -> Option<Tz> {
        let unknown =
            |_| format!("unknown time zone '{text}' (use an IANA name such as Asia/Kolkata)");
        self.check(key, text.parse::<Tz>().map_err(unknown))
    }

    /// A crontab line.
    pub(super) fn cron(&mut self, key: &str, text: &str) -> Option<CronLine> {
        self.check(key, CronLine::parse(text))
    }

    /// The named choice, or `unknown(text)` as a problem at `key`.
    pub(super) fn choice<T>(
        &mut self,
        key: &str,
        choice: Choice<T>,
        unknown: impl FnOnce(&str) -> String,
    ) -> Option<T> {
        match choice {
            Choice::Known(value) => Some(value),
            Choice::Unknown(text) => {
                self.push(key, unknown(&text));
                None
            }
        }
    }
}

/// A name from a fixed list, read by serde as `T` (a `rename_all =
/// "lowercase"` enum). A name that is not on the list is kept as text rather
/// than failing the whole load, so that the problem can quote it next to
/// every other one; a value that is not text at all still fails as a type
/// error.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Choice<T> {
    Known(T),
    Unknown(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let named: Result<T, serde::de::value::Error> =
            T::deserialize(text.as_str().into_deserializer());
        Ok(match named {
            Ok(value) => Choice::Known(value),
            Err(_) => Choice::Unknown(text),
        })
    }
}
