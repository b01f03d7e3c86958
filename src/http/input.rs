//! Reading what a request sends: form bodies, JSON bodies, and the fields
//! more than one route reads.

use super::error::{ApiError, Form, PageError};
use super::guard::csrf_ok;
use crate::domain::Frequency;
use axum::http::{HeaderMap, header};

/// A form body as (key, value) pairs; keys may repeat (`topics`).
pub struct FormBody {
    pairs: Vec<(String, String)>,
}

impl FormBody {
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the form carries `name` with `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.pairs.iter().any(|(k, v)| k == name && v == value)
    }

    /// Ok when the `csrf` field matches the visitor's cookie: the form came
    /// from one of our pages.
    pub fn check_csrf(&self, headers: &HeaderMap, form: Form) -> Result<(), PageError> {
        if csrf_ok(headers, self.get("csrf")) {
            Ok(())
        } else {
            Err(PageError::ExpiredForm(form))
        }
    }
}

/// Whether the body is JSON by its `Content-Type`.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// A JSON body; a 400 naming what is wrong with it otherwise.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("body: {e}")))
}

/// A `frequency` field, when there is one; the message names the field.
pub fn frequency(value: Option<&str>) -> Result<Option<Frequency>, String> {
    value
        .map(Frequency::parse)
        .transpose()
        .map_err(|e| format!("frequency: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_repeat_and_decode() {
        let form = FormBody::parse(b"email=a%40example.com&topics=acne&topics=retinol&x=");
        assert_eq!(form.get("email"), Some("a@example.com"));
        assert_eq!(form.all("topics"), ["acne", "retinol"]);
        assert_eq!(form.get("x"), Some(""));
        assert_eq!(form.get("y"), None);
        assert!(form.has("topics", "retinol"));
        assert!(!form.has("topics", "niacinamide"));
    }

    #[test]
    fn frequency_names_the_field() {
        assert_eq!(frequency(None), Ok(None));
        assert_eq!(frequency(Some(" Daily")), Ok(Some(Frequency::Daily)));
        let e = frequency(Some("hourly")).unwrap_err();
        assert!(e.starts_with("frequency: "), "{e}");
        assert!(e.contains("hourly"), "{e}");
    }

    #[test]
    fn json_is_told_by_content_type() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
    }
}
