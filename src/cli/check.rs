//! `feedletter check`: every problem with the config, the templates, the
//! digest subjects, the vocabulary and the content, one a line on stdout,
//! after any notes (things worth knowing that are not problems).

use crate::config::Config;
use std::path::Path;
use std::process::ExitCode;

pub(super) async fn check(path: &Path) -> ExitCode {
    let (problems, notes) = match Config::load(path) {
        Ok(config) => problems(&config).await,
        Err(e) => (e.problems, Vec::new()),
    };
    for n in &notes {
        println!("note: {n}");
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("{p}");
        }
        eprintln!("{} problem(s) found", problems.len());
        ExitCode::from(1)
    }
}

/// What is wrong with a config that loads, and the notes about it.
async fn problems(config: &Config) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if let Err(e) = crate::templates::load(&config.site.templates_dir) {
        problems.push(e.to_string());
    }
    problems.extend(subject_problems(config));
    // The vocabulary with its local file: unknown parents, cycles, aliases
    // claimed twice. Content is read with it, so only a good one is used.
    match crate::topics::load_matcher(config) {
        Err(e) => problems.extend(e.problems),
        Ok(_) => match crate::ingest::check_content(config).await {
            Ok(rejections) => problems.extend(
                rejections
                    .into_iter()
                    .map(|r| format!("{}: {}", r.file, r.error)),
            ),
            // A site fed by sources alone needs no folder.
            Err(e) if e.is_absent_content_folder() && !config.sources.is_empty() => {
                notes.push(format!(
                    "the content folder {} is absent: articles come from the {} [[source]] \
                     entr{} only",
                    config.content.dir.display(),
                    config.sources.len(),
                    if config.sources.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                ));
            }
            Err(e) if e.is_absent_content_folder() => problems.push(format!(
                "{e} (create it, even empty, or read articles from [[source]] entries)"
            )),
            Err(e) => problems.push(e.to_string()),
        },
    }
    (problems, notes)
}

/// Each digest's subject template, rendered with sample values for every
/// variable it may use.
fn subject_problems(config: &Config) -> Vec<String> {
    let mut ctx = tera::Context::new();
    ctx.insert("top_topic", "Exosomes");
    ctx.insert("site_title", &config.site.title);
    ctx.insert("date_label", "Monday 23 November 2026");
    ctx.insert("period_label", "this week");
    let mut problems = Vec::new();
    for (i, d) in config.digests.iter().enumerate() {
        if let Err(e) = tera::Tera::one_off(&d.subject, &ctx, false) {
            problems.push(format!(
                "digest[{i}].subject: '{}': {} (variables: top_topic, site_title, date_label, period_label)",
                d.subject,
                crate::domain::text::squash_whitespace(&e.to_string())
            ));
        }
    }
    problems
}
