//! The command line: what each command and option is, and the dispatch.
//! Each command loads the config, calls into the library and prints; one
//! file per command group holds that.

mod check;
mod content;
mod daemon;
mod digest;
mod schedule;
mod subscribers;
mod topics;

pub use daemon::shutdown_signal;

use crate::config::Config;
use crate::domain::{Clock, Frequency, SubscriberStatus, SystemClock};
use crate::subscribers::import::ExportFormat;
use crate::topics::vocabulary::{KINDS, TopicKind};
use chrono::{DateTime, Utc};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
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
    /// Scan the content folder and poll every [[source]] once.
    Ingest {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write every feed once.
    Build,
    /// Trending topics: a table, or one JSON document with --json.
    ///
    /// The JSON holds the moment looked from and the windows compared (`at`,
    /// `window_days`, `baseline_days`); the entries, best first (`topics`:
    /// each with its id, label, status new/rising/covered, article count
    /// this window and in the baseline, score, lift, feed, first seen,
    /// weekly counts, narrower topics included, related topics, articles and
    /// why it is listed); and the emerging phrases no vocabulary knows yet
    /// (`candidates`, with their counts, score and articles).
    Trending {
        /// The moment to look from (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// The report as one JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Entries at most.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// The vocabulary: emerging candidates, and adding concepts to the local file.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Next fire times of every job, in its time zone.
    Schedule {
        /// Fire times listed per job.
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Apply database migrations.
    Migrate,
    /// Manage the subscriber list.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// The [[source]] entries: try one without writing anything.
    #[command(subcommand)]
    Sources(SourcesCommand),
    /// Preview, send and inspect digest runs.
    #[command(subcommand)]
    Digest(DigestCommand),
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Fetch one page of a [[source]] and print what would be ingested;
    /// nothing is written.
    Test {
        /// The source's `name`.
        name: String,
        /// One JSON document on stdout: `name`, `items` (id, slug, title,
        /// url, published, tags) and `errors` (url, error).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Phrases no vocabulary knows that burst in skincare articles, best first.
    Candidates {
        /// The moment to look from (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// One JSON document on stdout: `at`, `window_days`, `baseline_days`
        /// and the `candidates`, with their counts, score and articles.
        #[arg(long)]
        json: bool,
    },
    /// Add a concept to the local vocabulary file (`topics.local`): the
    /// phrase becomes its alias, and the next ingest reads every article
    /// again with it.
    Add {
        /// The phrase, as articles write it ("sea fennel").
        phrase: String,
        /// What the concept is.
        #[arg(long, value_parser = KindParser)]
        kind: KindArg,
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
        /// The digest's name (its `[[digest]]` name in the config).
        #[arg(long)]
        schedule: String,
        /// The subscriber whose topics to preview (default: a sample reader).
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
        /// The digest's name (its `[[digest]]` name in the config).
        #[arg(long)]
        schedule: String,
        /// The moment to send for (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Counts by state and the last errors of a run (default: the latest).
    Status {
        /// The run's number, as `digest send` prints it.
        #[arg(long)]
        run: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add one address; without --confirmed it gets a confirmation mail.
    Add {
        /// The address.
        email: String,
        /// Topic ids, comma-separated (default: every topic).
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        /// How often the digest comes.
        #[arg(long, value_enum, default_value_t = FrequencyArg::Weekly)]
        frequency: FrequencyArg,
        /// The address already consented elsewhere: no confirmation mail.
        #[arg(long)]
        confirmed: bool,
    },
    /// Import a CSV with the header email[,topics][,frequency] (topics
    /// separated by `;`). Unsubscribed and bounced addresses are never
    /// re-subscribed; bad rows are reported by line.
    Import {
        /// The CSV file.
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
        /// CSV with a header line, or a JSON array.
        #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
        format: FormatArg,
    },
    /// One line per subscriber.
    List {
        /// Only the subscribers in this state (default: all).
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
    /// Unsubscribe an address; with --erase delete every record of it.
    Remove {
        /// The address.
        email: String,
        /// Delete the subscriber and every record of them, rather than keep
        /// the address as unsubscribed.
        #[arg(long)]
        erase: bool,
    },
}

// The option values, as clap lists them. The library's types stay free of
// clap; each converts at the edge. (No doc comments on the variants: clap
// would print them as per-value help.)

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrequencyArg {
    Daily,
    Weekly,
}

impl From<FrequencyArg> for Frequency {
    fn from(f: FrequencyArg) -> Self {
        match f {
            FrequencyArg::Daily => Frequency::Daily,
            FrequencyArg::Weekly => Frequency::Weekly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
}

impl From<FormatArg> for ExportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Csv => ExportFormat::Csv,
            FormatArg::Json => ExportFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Pending,
    Confirmed,
    Unsubscribed,
    Bounced,
}

impl From<StatusArg> for SubscriberStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => SubscriberStatus::Pending,
            StatusArg::Confirmed => SubscriberStatus::Confirmed,
            StatusArg::Unsubscribed => SubscriberStatus::Unsubscribed,
            StatusArg::Bounced => SubscriberStatus::Bounced,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Ingredient,
    Procedure,
    Concern,
    Trend,
}

impl From<KindArg> for TopicKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Ingredient => TopicKind::Ingredient,
            KindArg::Procedure => TopicKind::Procedure,
            KindArg::Concern => TopicKind::Concern,
            KindArg::Trend => TopicKind::Trend,
        }
    }
}

/// `--kind` as an enum, refused in the words `topics add` has always used
/// (`--kind: 'potion' is not a kind (...)`) rather than clap's, and with
/// surrounding blanks forgiven as before.
#[derive(Debug, Clone, Copy)]
struct KindParser;

impl TypedValueParser for KindParser {
    type Value = KindArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<KindArg, clap::Error> {
        value
            .to_str()
            .and_then(|s| KindArg::from_str(s.trim(), false).ok())
            .ok_or_else(|| {
                clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "--kind: '{}' is not a kind ({KINDS})\n",
                        value.to_string_lossy()
                    ),
                )
                .with_cmd(cmd)
            })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            KindArg::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// Runs one command. Errors come back for `main` to print; the exit code
/// says what went wrong otherwise (1: rejections, bad rows, problems found).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_path();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        // The one command that reports a bad config rather than stop at it.
        Command::Check => Ok(check::check(path).await),
        Command::Run => daemon::run(load(path)?, clock).await,
        Command::Ingest { json } => content::ingest(&load(path)?, clock, json).await,
        Command::Build => content::build(&load(path)?, clock).await,
        Command::Trending { at, json, limit } => {
            let config = load(path)?;
            topics::trending(
                &config,
                parse_at(at.as_deref(), clock.as_ref())?,
                json,
                limit,
            )
            .await
        }
        Command::Topics(cmd) => topics::topics(cmd, &load(path)?, clock).await,
        Command::Schedule { count } => Ok(schedule::list(&load(path)?, count)),
        Command::Migrate => daemon::migrate(&load(path)?).await,
        Command::Subscribers(cmd) => subscribers::subscribers(cmd, load(path)?, clock).await,
        Command::Digest(cmd) => digest::digest(cmd, load(path)?, clock).await,
        Command::Sources(SourcesCommand::Test { name, json }) => {
            content::test_source(&load(path)?, &name, json).await
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!(e))
}

/// `--at`: an RFC 3339 time, or the clock's now when absent.
fn parse_at(at: Option<&str>, clock: &dyn Clock) -> anyhow::Result<DateTime<Utc>> {
    match at {
        Some(s) => Ok(DateTime::parse_from_rfc3339(s)
            .map_err(|e| anyhow::anyhow!("--at: '{s}' is not an RFC 3339 time: {e}"))?
            .to_utc()),
        None => Ok(clock.now()),
    }
}

/// What a progress bar counts.
#[derive(Debug, Clone, Copy)]
enum Progress {
    Mails,
    Bytes,
}

/// A progress bar on stderr, or none when stderr is not a terminal (a log
/// file or a pipe would fill with redraws).
fn progress_bar(len: u64, counts: Progress) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let template = match counts {
        Progress::Mails => "{bar:40} {pos}/{len} {per_sec} {elapsed} (eta {eta})",
        Progress::Bytes => "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta})",
    };
    let bar = indicatif::ProgressBar::new(len);
    // The templates are constants: a bad one would only lose the styling.
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn at_takes_rfc_3339_with_any_offset_and_names_a_bad_value() {
        let clock = crate::FixedClock::new(DateTime::UNIX_EPOCH);
        let at = parse_at(Some("2026-11-23T08:00:00+05:30"), &clock).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-23T02:30:00+00:00");
        assert_eq!(parse_at(None, &clock).unwrap(), DateTime::UNIX_EPOCH);
        let err = parse_at(Some("yesterday"), &clock).unwrap_err().to_string();
        assert!(
            err.starts_with("--at: 'yesterday' is not an RFC 3339 time: "),
            "{err}"
        );
    }

    #[test]
    fn a_bad_kind_is_refused_in_the_words_of_topics_add() {
        let err = Cli::try_parse_from(["feedletter", "topics", "add", "x", "--kind", "potion"])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: --kind: 'potion' is not a kind (ingredient, procedure, concern, trend)\n"
        );
        let ok = Cli::try_parse_from(["feedletter", "topics", "add", "x", "--kind", " trend "]);
        assert!(matches!(
            ok.map(|c| c.command),
            Ok(Command::Topics(TopicsCommand::Add {
                kind: KindArg::Trend,
                ..
            }))
        ));
    }
}
