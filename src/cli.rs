//! The command line (names from INTERFACES.md). Each command loads what it
//! needs and calls into the library; no logic of its own.

use crate::config::Config;
use crate::domain::{Clock, SystemClock};
use crate::ingest::{self, IngestReport};
use crate::scheduler::Job;
use chrono::Utc;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "feedletter",
    version,
    about = "Feeds and trending-topic digests for a skincare publication"
)]
pub struct Cli {
    /// Config file.
    #[arg(
        long,
        global = true,
        env = "FEEDLETTER_CONFIG",
        default_value = "feedletter.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: crate::telemetry::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: scheduler and HTTP.
    Run,
    /// Check config, templates, cron lines and content; non-zero exit on problems.
    Check,
    /// Scan the content folder once.
    Ingest {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write every feed once.
    Build,
    /// Trending topics: a table, or the JSON of INTERFACES.md.
    Trending {
        /// The moment to look from (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// The vocabulary: emerging candidates, and adding concepts to the local file.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Next fire times of every job, in its time zone.
    Schedule {
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Apply database migrations.
    Migrate,
    /// Manage the subscriber list.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Preview, send and inspect digest runs.
    #[command(subcommand)]
    Digest(DigestCommand),
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Phrases no vocabulary knows that burst in skincare articles, best first.
    Candidates {
        /// The moment to look from (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add a concept to the local vocabulary file (`topics.local`): the
    /// phrase becomes its alias, and the next ingest reads every article
    /// again with it.
    Add {
        /// The phrase, as articles write it ("sea fennel").
        phrase: String,
        /// ingredient, procedure, concern or trend.
        #[arg(long)]
        kind: String,
        /// The id of a broader concept it belongs under.
        #[arg(long)]
        parent: Option<String>,
        /// The label readers see (default: the phrase, capitalised).
        #[arg(long)]
        label: Option<String>,
        /// The id (default: the phrase as a slug).
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Write the .eml and .html of one subscriber's digest (or a sample
    /// reader's, who follows every topic) without sending anything.
    Preview {
        #[arg(long)]
        schedule: String,
        #[arg(long)]
        email: Option<String>,
        /// The moment to compose at (RFC 3339); the run is the schedule's
        /// last fire time at or before it. Default now.
        #[arg(long)]
        at: Option<String>,
        /// Where to write the files (default: `preview/` in the outbox folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create the run for the schedule's last fire time at or before --at
    /// (default now) if it does not exist, and deliver it. Called again for
    /// the same run, it resumes: due retries and rows left pending.
    Send {
        #[arg(long)]
        schedule: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// Counts by state and the last errors of a run (default: the latest).
    Status {
        #[arg(long)]
        run: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add one address; without --confirmed it gets a confirmation mail.
    Add {
        email: String,
        /// Topic ids, comma-separated (default: every topic).
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long, value_parser = ["daily", "weekly"], default_value = "weekly")]
        frequency: String,
        /// The address already consented elsewhere: no confirmation mail.
        #[arg(long)]
        confirmed: bool,
    },
    /// Import a CSV with the header email[,topics][,frequency] (topics
    /// separated by `;`). Unsubscribed and bounced addresses are never
    /// re-subscribed; bad rows are reported by line.
    Import {
        file: PathBuf,
        /// Import as confirmed (consent given elsewhere). Otherwise the new
        /// addresses are pending and get no mail until they subscribe.
        #[arg(long)]
        confirmed: bool,
        /// The import report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Everything kept about every subscriber, on stdout.
    Export {
        #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
        format: String,
    },
    /// One line per subscriber.
    List {
        #[arg(long, value_parser = ["pending", "confirmed", "unsubscribed", "bounced"])]
        status: Option<String>,
    },
    /// Unsubscribe an address; with --erase delete every record of it.
    Remove {
        email: String,
        #[arg(long)]
        erase: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Check = cli.command {
        return Ok(check(&cli.config).await);
    }
    let config = load(&cli.config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Run => {
            let stop = shutdown_signal();
            let app = crate::App::build(config, clock).await?;
            app.run_until_stopped(stop).await?;
        }
        Command::Ingest { json } => {
            let store = crate::store::connect(&config.store).await?;
            let report = ingest::ingest_once(store.as_ref(), &config, clock.as_ref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_ingest(&report);
            }
            if !report.rejected.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Build => {
            let store = crate::store::connect(&config.store).await?;
            let report =
                crate::feeds::build_feeds_once(store.as_ref(), &config, clock.now()).await?;
            for f in &report.written {
                println!("wrote     {}", config.feeds.dir.join(f).display());
            }
            println!(
                "{} written, {} unchanged",
                report.written.len(),
                report.unchanged
            );
        }
        Command::Trending { at, json, limit } => {
            let at = match at {
                Some(s) => chrono::DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| anyhow::anyhow!("--at: '{s}' is not an RFC 3339 time ({e})"))?
                    .to_utc(),
                None => clock.now(),
            };
            let store = crate::store::connect(&config.store).await?;
            let report =
                crate::topics::report::trending_at(store.as_ref(), &config, at, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_trending(&report)?;
            }
        }
        Command::Topics(cmd) => return topics(cmd, config, clock).await,
        Command::Schedule { count } => {
            for job in jobs_for_listing(&config) {
                println!("{} ({}, {})", job.name, job.cron.as_str(), job.timezone);
                for t in job.upcoming(Utc::now(), count) {
                    println!("  {}", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
                }
            }
        }
        Command::Migrate => {
            crate::store::connect(&config.store).await?;
            println!("migrations applied");
        }
        Command::Subscribers(cmd) => return subscribers(cmd, config, clock).await,
        Command::Digest(cmd) => return digest(cmd, config, clock).await,
        Command::Check => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The trending table: one line per entry, then why, what it includes and
/// its articles, indented under it.
fn print_trending(report: &crate::topics::report::TrendingReport) -> anyhow::Result<()> {
    println!(
        "trending at {} (last {} days against the {} before)",
        report.at, report.window_days, report.baseline_days
    );
    if report.topics.is_empty() {
        println!("no articles in the window");
    } else {
        println!(
            "{:<30} {:<8} {:>5} {:>8} {:>7} {:>6}  {:<10} weekly",
            "topic", "status", "count", "baseline", "score", "lift", "first seen"
        );
    }
    for t in &report.topics {
        let status = serde_json::to_value(t.status)?;
        println!(
            "{:<30} {:<8} {:>5} {:>8} {:>7.2} {:>6.1}  {:<10} {} {}",
            t.label,
            status.as_str().unwrap_or(""),
            t.count,
            t.baseline_count,
            t.score,
            t.lift,
            t.first_seen.get(..10).unwrap_or(""),
            crate::topics::report::sparkline_text(&t.weekly),
            t.weekly
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!("    why: {}", t.why);
        if !t.includes.is_empty() {
            let list: Vec<String> = t
                .includes
                .iter()
                .map(|i| format!("{} ({})", i.label, i.count))
                .collect();
            println!("    includes: {}", list.join(", "));
        }
        if !t.related.is_empty() {
            let list: Vec<String> = t
                .related
                .iter()
                .map(|r| format!("{} ({} shared)", r.label, r.shared))
                .collect();
            println!("    related: {}", list.join(", "));
        }
        for a in &t.articles {
            println!("    - {}  {}", a.published.get(..10).unwrap_or(""), a.title);
        }
    }
    if !report.candidates.is_empty() {
        println!("\nemerging (not in the vocabulary; `feedletter topics candidates`):");
        for c in &report.candidates {
            println!(
                "    {} ({} articles, {} before)",
                c.phrase, c.count, c.baseline_count
            );
        }
    }
    Ok(())
}

async fn topics(
    cmd: TopicsCommand,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    match cmd {
        TopicsCommand::Candidates { at, json } => {
            let at = parse_at(at.as_deref(), clock.as_ref())?;
            let store = crate::store::connect(&config.store).await?;
            let report = crate::topics::report::trending_at(store.as_ref(), &config, at, 0).await?;
            if json {
                let doc = serde_json::json!({
                    "at": report.at,
                    "window_days": report.window_days,
                    "baseline_days": report.baseline_days,
                    "candidates": report.candidates,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "emerging phrases at {} (skincare articles, last {} days against the {} before)",
                report.at, report.window_days, report.baseline_days
            );
            if report.candidates.is_empty() {
                println!("none");
            }
            for c in &report.candidates {
                println!(
                    "{:<30} {:>3} articles, {:>3} before, score {:.2}{}",
                    c.phrase,
                    c.count,
                    c.baseline_count,
                    c.score,
                    if c.variants.is_empty() {
                        String::new()
                    } else {
                        format!(" (also: {})", c.variants.join(", "))
                    }
                );
                for a in &c.articles {
                    println!("    - {}  {}", a.title, a.url);
                }
            }
            if !report.candidates.is_empty() {
                println!(
                    "\nadd one: feedletter topics add \"PHRASE\" --kind ingredient [--parent ID] [--label LABEL]"
                );
            }
        }
        TopicsCommand::Add {
            phrase,
            kind,
            parent,
            label,
            id,
        } => {
            let added = crate::topics::add_local(
                &config,
                &crate::topics::NewConcept {
                    phrase,
                    kind,
                    parent,
                    label,
                    id,
                },
            )?;
            println!(
                "added '{}' ({}, {}) to {}",
                added.topic.id,
                added.topic.label,
                added.topic.kind.as_str(),
                added.file.display()
            );
            println!("the next ingest reads every article again with it");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_at(at: Option<&str>, clock: &dyn Clock) -> anyhow::Result<chrono::DateTime<Utc>> {
    match at {
        Some(s) => Ok(chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| anyhow::anyhow!("--at: '{s}' is not an RFC 3339 time: {e}"))?
            .with_timezone(&Utc)),
        None => Ok(clock.now()),
    }
}

async fn digest(
    cmd: DigestCommand,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    use crate::delivery::{Deliverer, Options};
    use std::io::IsTerminal as _;
    let store = crate::store::connect(&config.store).await?;
    let tera = Arc::new(crate::templates::load(&config.site.templates_dir)?);
    match cmd {
        DigestCommand::Preview {
            schedule,
            email,
            at,
            out,
        } => {
            let schedule = crate::digest::schedule(&config, &schedule)?;
            let fire = crate::digest::fire_at(schedule, parse_at(at.as_deref(), clock.as_ref())?)?;
            let since = crate::digest::period_start(schedule, fire);
            let (to, topics) = match &email {
                Some(e) => {
                    let s = store
                        .subscriber_by_email(e.trim())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("--email: no subscriber '{e}'"))?;
                    (s.email, s.topics)
                }
                None => (
                    crate::domain::SubscriberEmail::parse("reader@example.com")
                        .map_err(anyhow::Error::msg)?,
                    Vec::new(),
                ),
            };
            let material = crate::digest::material(store.as_ref(), &config, fire, since).await?;
            let c = material.compose(&topics, since, crate::digest::limits(schedule));
            if c.is_empty() {
                println!(
                    "nothing new for {to} between {since} and {fire}: no digest would be sent"
                );
                return Ok(ExitCode::SUCCESS);
            }
            let rendered = crate::digest::render::Renderer {
                config: &config,
                schedule,
                tera: &tera,
                fire,
                run_id: 0,
            }
            .render(&material, &c, crate::digest::render::Audience::Preview)?;
            let (html, text) = rendered.personalise("preview");
            // Built as the file transport would, so the preview needs no SMTP
            // password.
            let mut mail_config = config.mail.clone();
            mail_config.transport = crate::config::MailTransportKind::File;
            let mailer = crate::mail::Mailer::from_config(&mail_config)?;
            let mail = crate::mail::OutgoingMail {
                to,
                subject: rendered.subject.clone(),
                text,
                html: html.clone(),
                message_id: mailer.new_message_id(),
                list_unsubscribe: Some(format!("{}/unsubscribe/preview", config.site.base())),
                list_id: None,
                extra_headers: Vec::new(),
            };
            let message = mailer.build(&mail)?;
            let out = out.unwrap_or_else(|| config.mail.outbox_dir.join("preview"));
            std::fs::create_dir_all(&out)
                .map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
            let stem = format!(
                "digest-{}-{}",
                schedule.name,
                fire.with_timezone(&schedule.timezone).format("%Y%m%d-%H%M")
            );
            let eml = out.join(format!("{stem}.eml"));
            let page = out.join(format!("{stem}.html"));
            std::fs::write(&eml, message.formatted())
                .map_err(|e| anyhow::anyhow!("{}: {e}", eml.display()))?;
            std::fs::write(&page, html).map_err(|e| anyhow::anyhow!("{}: {e}", page.display()))?;
            println!("subject: {}", rendered.subject);
            println!("wrote {} and {}", eml.display(), page.display());
        }
        DigestCommand::Send { schedule, at } => {
            let schedule = crate::digest::schedule(&config, &schedule)?.clone();
            let fire = crate::digest::fire_at(&schedule, parse_at(at.as_deref(), clock.as_ref())?)?;
            let mailer = crate::mail::Mailer::from_config(&config.mail)?;
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let signal = shutdown_signal();
            tokio::spawn(async move {
                signal.await;
                let _ = stop_tx.send(true);
            });
            let progress = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} {per_sec} {elapsed} (eta {eta})",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            let deliverer = Deliverer {
                store: store.clone(),
                mailer,
                config: Arc::new(config.clone()),
                tera,
                clock: clock.clone(),
            };
            let options = Options {
                wait_for_retries: std::time::Duration::from_secs(60),
                progress: progress.clone(),
            };
            let report = deliverer.fire(&schedule, fire, &options, stop_rx).await?;
            if let Some(bar) = progress {
                bar.finish_and_clear();
            }
            let c = &report.counts;
            println!(
                "run {} ({} at {}): {} sent now; {} sent, {} skipped, {} failed, {} pending of {}",
                report.run_id,
                schedule.name,
                fire.with_timezone(&schedule.timezone)
                    .format("%a %Y-%m-%d %H:%M %Z"),
                report.sent,
                c.sent,
                c.skipped,
                c.failed,
                c.pending + c.sending,
                c.total()
            );
            if let Some(next) = report.next_retry {
                println!(
                    "retries left: the next is due at {next}; the daemon, or `digest send` again, takes them"
                );
            }
        }
        DigestCommand::Status { run } => {
            let run = match run {
                Some(id) => store
                    .digest_run(id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("--run: no run {id}"))?,
                None => match store.latest_run(None).await? {
                    Some(r) => r,
                    None => {
                        println!("no digest has run yet");
                        return Ok(ExitCode::SUCCESS);
                    }
                },
            };
            let c = store.run_counts(run.id).await?;
            println!(
                "run {} of {}: fired {}, {}",
                run.id,
                run.schedule,
                run.fire.to_rfc3339(),
                if run.done { "done" } else { "delivering" }
            );
            println!("subject: {}", run.subject);
            println!(
                "pending {}  sending {}  sent {}  failed {}  skipped {}  (total {})",
                c.pending,
                c.sending,
                c.sent,
                c.failed,
                c.skipped,
                c.total()
            );
            let errors = store.last_errors(run.id, 10).await?;
            if !errors.is_empty() {
                println!("last errors:");
                for e in errors {
                    println!("  {} ({}): {}", e.email, e.state, e.error);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!(e))
}

fn jobs_for_listing(config: &Config) -> Vec<Job> {
    let noop: Arc<dyn Fn(chrono::DateTime<Utc>) -> crate::scheduler::JobFuture + Send + Sync> =
        Arc::new(|_| Box::pin(async {}));
    let mut jobs = vec![Job {
        name: "ingest".into(),
        cron: config.schedule.ingest.clone(),
        timezone: config.site.timezone,
        run: noop.clone(),
        catch_up: None,
    }];
    for d in &config.digests {
        jobs.push(Job {
            name: format!("digest:{}", d.name),
            cron: d.cron.clone(),
            timezone: d.timezone,
            run: noop.clone(),
            catch_up: None,
        });
    }
    jobs
}

fn print_ingest(r: &IngestReport) {
    for s in &r.new {
        println!("new        {s}");
    }
    for s in &r.updated {
        println!("updated    {s}");
    }
    for s in &r.withdrawn {
        println!("withdrawn  {s}");
    }
    for s in &r.scheduled {
        println!("scheduled  {} at {} ({})", s.slug, s.published, s.file);
    }
    for w in &r.warnings {
        println!("warning    {}: {}", w.file, w.error);
    }
    for x in &r.rejected {
        println!("rejected   {}: {}", x.file, x.error);
    }
    println!(
        "{} new, {} updated, {} withdrawn, {} rejected, {} unchanged",
        r.new.len(),
        r.updated.len(),
        r.withdrawn.len(),
        r.rejected.len(),
        r.unchanged
    );
}

/// `feedletter check`: every problem, one a line, on stdout.
async fn check(path: &Path) -> ExitCode {
    let mut problems: Vec<String> = Vec::new();
    let config = match Config::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.extend(e.problems);
            None
        }
    };
    if let Some(config) = &config {
        if let Err(e) = crate::templates::load(&config.site.templates_dir) {
            problems.push(e.to_string());
        }
        for (i, d) in config.digests.iter().enumerate() {
            let mut ctx = tera::Context::new();
            ctx.insert("top_topic", "Exosomes");
            ctx.insert("site_title", &config.site.title);
            ctx.insert("date_label", "Monday 23 November 2026");
            ctx.insert("period_label", "this week");
            if let Err(e) = tera::Tera::one_off(&d.subject, &ctx, false) {
                problems.push(format!(
                    "digest[{i}].subject: '{}': {} (variables: top_topic, site_title, date_label, period_label)",
                    d.subject,
                    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        }
        // The vocabulary with its local file: unknown parents, cycles,
        // aliases claimed twice.
        match crate::topics::load_matcher(config) {
            Err(e) => problems.extend(e.problems),
            Ok(_) => match ingest::check_content(config).await {
                Ok(rejections) => problems.extend(
                    rejections
                        .into_iter()
                        .map(|r| format!("{}: {}", r.file, r.error)),
                ),
                Err(e) => problems.push(e.to_string()),
            },
        }
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

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// during start-up (the first ingest) is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn subscribers(
    cmd: SubscribersCommand,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    use crate::domain::{Frequency, SubscriberStatus};
    use crate::subscribers::{Request, Subscriptions, import::ExportFormat};
    use std::io::IsTerminal as _;
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
                frequency: Some(Frequency::parse(&frequency).map_err(anyhow::Error::msg)?),
                source: "cli".into(),
                client: None,
            };
            let (s, created) = subs.add(request, confirmed).await?;
            if created {
                println!("added {} ({})", s.email, s.status.as_str());
                if !confirmed {
                    // Send the confirmation now rather than wait for the daemon.
                    let mailer = crate::mail::Mailer::from_config(&config.mail)?;
                    let r = crate::subscribers::queue::deliver_due(
                        store.as_ref(),
                        &mailer,
                        &config.delivery,
                        clock.as_ref(),
                    )
                    .await?;
                    println!(
                        "confirmation mail: {} sent, {} to retry, {} failed",
                        r.sent, r.retried, r.failed
                    );
                }
            } else {
                println!(
                    "{} is already on the list ({}); nothing changed",
                    s.email,
                    s.status.as_str()
                );
            }
        }
        SubscribersCommand::Import {
            file,
            confirmed,
            json,
        } => {
            let f = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let total = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = if std::io::stderr().is_terminal() && !json {
                let bar = indicatif::ProgressBar::new(total);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta})",
                ) {
                    bar.set_style(style);
                }
                Some(bar)
            } else {
                None
            };
            let source = format!("import:{}", file.display());
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
            if !report.bad.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        SubscribersCommand::Export { format } => {
            let format = if format == "json" {
                ExportFormat::Json
            } else {
                ExportFormat::Csv
            };
            subs.export(std::io::stdout().lock(), format, None).await?;
        }
        SubscribersCommand::List { status } => {
            let status = status
                .as_deref()
                .map(SubscriberStatus::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
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
                    println!(
                        "{:<40} {:<13} {:<7} {}",
                        s.email.as_str(),
                        s.status.as_str(),
                        s.frequency.as_str(),
                        topics
                    );
                    n += 1;
                }
            }
            eprintln!("{n} subscriber(s)");
        }
        SubscribersCommand::Remove { email, erase } => {
            if subs.remove(&email, erase).await? {
                println!(
                    "{} {}",
                    email.trim(),
                    if erase {
                        "erased: no record of it is left"
                    } else {
                        "unsubscribed"
                    }
                );
            } else {
                println!("{} is not on the list", email.trim());
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
