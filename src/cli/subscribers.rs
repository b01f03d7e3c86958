//! `subscribers`: add, import, export, list and remove addresses.

use super::{Progress, SubscribersCommand, progress_bar};
use crate::config::Config;
use crate::domain::Clock;
use crate::domain::ConsentSource;
use crate::store::Store;
use crate::subscribers::{Request, Subscriptions};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn subscribers(
    cmd: SubscribersCommand,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    let store = crate::store::connect(&config.store).await?;
    let tera = crate::templates::load(&config.site.templates_dir)?;
    let config = Arc::new(config);
    let subs = Subscriptions::new(store.clone(), config.clone(), Arc::new(tera), clock.clone());
    match cmd {
        SubscribersCommand::Add {
            email,
            topics,
            frequency,
            confirmed,
        } => {
            let request = Request {
                email,
                topics,
                frequency: Some(frequency.into()),
                source: ConsentSource::Cli,
                client: None,
            };
            let (store, clock) = (store.as_ref(), clock.as_ref());
            add(&subs, store, &config, clock, request, confirmed).await
        }
        SubscribersCommand::Import {
            file,
            confirmed,
            json,
        } => {
            let done = import(&subs, &file, confirmed, json).await;
            // A million rows leave a large log on SQLite (`Store::close`).
            store.close().await;
            done
        }
        SubscribersCommand::Export { format } => {
            subs.export(std::io::stdout().lock(), format.into(), None)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::List { status } => {
            list(store.as_ref(), status.map(Into::into)).await?;
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Remove { email, erase } => remove(&subs, &email, erase).await,
    }
}

async fn add(
    subs: &Subscriptions,
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    request: Request,
    confirmed: bool,
) -> anyhow::Result<ExitCode> {
    let (s, created) = subs.add(request, confirmed).await?;
    if !created {
        println!(
            "{} is already on the list ({}); nothing changed",
            s.email,
            s.status.as_str()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("added {} ({})", s.email, s.status.as_str());
    if !confirmed {
        // Send the confirmation now rather than wait for the daemon.
        let mailer = crate::mail::Mailer::from_config(&config.mail)?;
        crate::bounces::verp::prepare(store, &mailer, &config.bounces).await?;
        let r =
            crate::subscribers::queue::deliver_due(store, &mailer, &config.delivery, clock).await?;
        println!(
            "confirmation mail: {} sent, {} to retry, {} failed",
            r.sent, r.retried, r.failed
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit 1 when a row was bad, after reporting each by line.
async fn import(
    subs: &Subscriptions,
    file: &Path,
    confirmed: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let f = std::fs::File::open(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    // No bar under --json: the output is for a program.
    let bar = if json {
        None
    } else {
        progress_bar(total, Progress::Bytes)
    };
    let source = ConsentSource::Import(file.display().to_string());
    let report = subs
        .import_csv(std::io::BufReader::new(f), confirmed, &source, |bytes| {
            if let Some(b) = &bar {
                b.set_position(bytes);
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for bad in &report.bad {
            println!("{}:{}: {}", file.display(), bad.line, bad.reason);
        }
        println!(
            "{} rows: {} added, {} confirmed, {} already on the list, {} not re-subscribed (unsubscribed or bounced), {} bad",
            report.rows,
            report.added,
            report.confirmed,
            report.existing,
            report.refused,
            report.bad.len()
        );
    }
    Ok(if report.bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line per subscriber on stdout, read a page at a time; the count on
/// stderr, so the list pipes cleanly.
async fn list(
    store: &dyn Store,
    status: Option<crate::domain::SubscriberStatus>,
) -> anyhow::Result<()> {
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.list_subscribers(status, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in &page {
            let topics = if s.topics.is_empty() {
                "(every topic)".to_owned()
            } else {
                s.topics.join(",")
            };
            // Why and when a bounce or complaint report changed the status.
            let why = match (&s.status_reason, s.status_at) {
                (Some(reason), Some(at)) => format!("  [{}: {reason}]", at.to_rfc3339()),
                (Some(reason), None) => format!("  [{reason}]"),
                _ => String::new(),
            };
            println!(
                "{:<40} {:<13} {:<7} {}{why}",
                s.email.as_str(),
                s.status.as_str(),
                s.frequency.as_str(),
                topics
            );
            n += 1;
        }
    }
    eprintln!("{n} subscriber(s)");
    Ok(())
}

/// Exit 1 when the address is not on the list.
async fn remove(subs: &Subscriptions, email: &str, erase: bool) -> anyhow::Result<ExitCode> {
    if !subs.remove(email, erase).await? {
        println!("{} is not on the list", email.trim());
        return Ok(ExitCode::from(1));
    }
    let done = if erase {
        "erased: no record of it is left"
    } else {
        "unsubscribed"
    };
    println!("{} {done}", email.trim());
    Ok(ExitCode::SUCCESS)
}
