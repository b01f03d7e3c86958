//! Tera templates for pages (and later e-mail). Built-in copies are compiled
//! into the binary; a file of the same name under `site.templates` (default
//! `templates/`) replaces its built-in copy, so operators can restyle.

use std::path::Path;
use tera::Tera;

/// (name, built-in text)
const BUILTIN: &[(&str, &str)] = &[
    (
        "pages/base.html",
        include_str!("../templates/pages/base.html"),
    ),
    (
        "pages/index.html",
        include_str!("../templates/pages/index.html"),
    ),
    (
        "pages/article.html",
        include_str!("../templates/pages/article.html"),
    ),
    (
        "pages/error.html",
        include_str!("../templates/pages/error.html"),
    ),
    (
        "email/confirm.html",
        include_str!("../templates/email/confirm.html"),
    ),
    (
        "email/confirm.txt",
        include_str!("../templates/email/confirm.txt"),
    ),
    (
        "email/welcome.html",
        include_str!("../templates/email/welcome.html"),
    ),
    (
        "email/welcome.txt",
        include_str!("../templates/email/welcome.txt"),
    ),
    (
        "email/notice.html",
        include_str!("../templates/email/notice.html"),
    ),
    (
        "email/notice.txt",
        include_str!("../templates/email/notice.txt"),
    ),
    (
        "email/digest.html",
        include_str!("../templates/email/digest.html"),
    ),
    (
        "email/digest.txt",
        include_str!("../templates/email/digest.txt"),
    ),
    (
        "pages/subscribe.html",
        include_str!("../templates/pages/subscribe.html"),
    ),
    (
        "pages/message.html",
        include_str!("../templates/pages/message.html"),
    ),
    (
        "pages/preferences.html",
        include_str!("../templates/pages/preferences.html"),
    ),
    (
        "pages/unsubscribe.html",
        include_str!("../templates/pages/unsubscribe.html"),
    ),
    (
        "pages/confirm.html",
        include_str!("../templates/pages/confirm.html"),
    ),
    // Not HTML, so not escaped; served as it renders at /static/site.css.
    (
        "pages/site.css",
        include_str!("../templates/pages/site.css"),
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("template {name}: {message}")]
pub struct TemplateError {
    pub name: String,
    pub message: String,
}

fn describe(e: &tera::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    crate::domain::text::squash_whitespace(&msg)
}

/// Loads every template, preferring files under `dir`.
pub fn load(dir: &Path) -> Result<Tera, TemplateError> {
    let mut tera = Tera::new();
    let mut sources = Vec::new();
    for (name, builtin) in BUILTIN {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (*builtin).to_owned(),
            Err(e) => {
                return Err(TemplateError {
                    name: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        sources.push((*name, text));
    }
    tera.add_raw_templates(sources.iter().map(|(n, t)| (*n, t.as_str())))
        .map_err(|e| TemplateError {
            name: dir.display().to_string(),
            message: describe(&e),
        })?;
    Ok(tera)
}

/// Renders `name` with `context`.
pub fn render(tera: &Tera, name: &str, context: &tera::Context) -> Result<String, TemplateError> {
    tera.render(name, context).map_err(|e| TemplateError {
        name: name.to_owned(),
        message: describe(&e),
    })
}
