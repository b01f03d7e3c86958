//! Loading as a whole: defaults, overrides, and every problem at once.

use super::*;
use std::time::Duration;

const MINIMAL: &str = r#"
[site]
title = "The Dewline"
base_url = "https://dewline.example"
"#;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_toml_str(text, Path::new("/srv/dew/feedletter.toml"), &env)
}

#[test]
fn defaults_fill_everything_but_title_and_base_url() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.feeds.limit, 50);
    assert_eq!(c.feeds.dir, PathBuf::from("/srv/dew/feeds"));
    assert_eq!(
        c.site.article_url("x"),
        "https://dewline.example/articles/x"
    );
    assert!(
        matches!(c.store, StoreConfig::Sqlite { ref path } if path == Path::new("/srv/dew/data/feedletter.db"))
    );
    assert_eq!(c.http.bind.port(), 8080);
}

#[test]
fn missing_title_is_named() {
    let e = load("[site]\nbase_url = \"https://x.example\"\n", &[]).unwrap_err();
    assert!(e.to_string().contains("title"), "{e}");
}

#[test]
fn environment_overrides_keys() {
    let c = load(
        MINIMAL,
        &[
            ("FEEDLETTER_STORE__URL", "sqlite:///tmp/x.db"),
            ("FEEDLETTER_FEEDS__LIMIT", "7"),
            ("FEEDLETTER_HTTP__BIND", "0.0.0.0:9000"),
            ("FEEDLETTER_CONFIG", "ignored.toml"),
        ],
    )
    .unwrap();
    assert!(matches!(c.store, StoreConfig::Sqlite { ref path } if path == Path::new("/tmp/x.db")));
    assert_eq!(c.feeds.limit, 7);
    // The archive page size follows the limit unless it is set.
    assert_eq!(c.feeds.archive_page_size, 7);
    assert_eq!(c.http.bind.port(), 9000);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = r#"
[site]
title = "T"
base_url = "not a url"
timezone = "Mars/Olympus"
colour = "pink"

[schedule]
ingest = "* * *"

[feeds]
formats = ["rss", "gopher"]
"#;
    let e = load(text, &[]).unwrap_err();
    let all = e.problems.join("\n");
    for key in [
        "site.colour",
        "site.base_url",
        "site.timezone",
        "schedule.ingest",
        "feeds.formats",
    ] {
        assert!(all.contains(key), "{key} missing from:\n{all}");
    }
    assert!(
        e.problems
            .iter()
            .all(|p| p.starts_with("/srv/dew/feedletter.toml: "))
    );
}

#[test]
fn a_postgres_url_picks_postgres_and_lease_and_sweep_are_checked() {
    let c = load(
        MINIMAL,
        &[("FEEDLETTER_STORE__URL", "postgres://fl@db.internal:5432/fl")],
    )
    .unwrap();
    assert!(matches!(c.store, StoreConfig::Postgres { ref url } if url.ends_with("/fl")));
    assert_eq!(c.schedule.lease, Duration::from_secs(30));
    assert_eq!(c.delivery.sweep, Duration::from_secs(30));
    let e = load(
        MINIMAL,
        &[
            ("FEEDLETTER_SCHEDULE__LEASE", "1s"),
            ("FEEDLETTER_DELIVERY__SWEEP", "0s"),
        ],
    )
    .unwrap_err();
    let all = e.problems.join("\n");
    assert!(all.contains("schedule.lease: '1s' is too short"), "{all}");
    assert!(
        all.contains("delivery.sweep: must be longer than 0s"),
        "{all}"
    );
    let e = load(MINIMAL, &[("FEEDLETTER_STORE__URL", "mysql://x/y")]).unwrap_err();
    assert!(e.problems.join("\n").contains("store.url: 'mysql://x/y'"));
}

#[test]
fn every_default_is_the_documented_one() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.site.language, "en");
    assert_eq!(c.site.timezone, chrono_tz::Tz::UTC);
    assert_eq!(c.site.author.name, "The Dewline");
    assert_eq!(c.site.templates_dir, PathBuf::from("/srv/dew/templates"));
    assert_eq!(c.content.dir, PathBuf::from("/srv/dew/content"));
    assert_eq!(c.content.max_file_size, 5 * 1024 * 1024);
    let formats = [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json];
    assert_eq!(c.feeds.formats, formats);
    assert_eq!(c.feeds.archive_page_size, 50);
    assert_eq!(c.feeds.tombstone_days, 30);
    assert_eq!(c.topics.vocabulary, "builtin:skincare");
    assert_eq!(
        c.topics.local.as_deref(),
        Some(Path::new("/srv/dew/topics.local.toml"))
    );
    let t = &c.topics;
    assert_eq!(
        (t.window_days, t.baseline_days, t.long_window_days),
        (7, 56, 14)
    );
    assert_eq!((t.min_count, t.min_score, t.min_lift), (4, 4.0, 3.0));
    assert_eq!(t.counted_in, super::topics::CountedIn::Title);
    assert!(!t.trend_tags && t.candidates && t.show_candidates_in_preview);
    assert_eq!(c.http.subscribe_per_minute, 5);
    assert!(!c.http.trust_forwarded_for && c.http.admin_token.is_none());
    assert_eq!(c.http.feed_max_age, Duration::from_secs(300));
    assert_eq!(c.http.feed_requests_per_minute, 0);
    assert_eq!(
        c.mail.from.to_string(),
        "The Dewline <digest@dewline.example>"
    );
    assert_eq!(c.mail.transport, MailTransportKind::File);
    assert_eq!(c.mail.outbox_dir, PathBuf::from("/srv/dew/outbox"));
    assert_eq!(c.mail.rate_per_second, 50);
    let s = &c.mail.smtp;
    assert_eq!(
        (s.host.as_str(), s.port, s.tls),
        ("localhost", 587, SmtpTls::StartTls)
    );
    assert_eq!((s.pool_size, s.timeout), (4, Duration::from_secs(30)));
    let d = &c.delivery;
    assert_eq!(d.retry_initial, Duration::from_secs(30));
    assert_eq!(d.retry_max, Duration::from_secs(3600));
    assert_eq!(d.give_up_after, Duration::from_secs(86400));
    assert_eq!(d.claim_timeout, Duration::from_secs(600));
    assert_eq!(
        (d.heartbeat, d.dead_after, d.in_flight_grace),
        (
            Duration::from_secs(2),
            Duration::from_secs(10),
            Duration::from_secs(10)
        )
    );
    assert_eq!(c.schedule.catch_up, Duration::from_secs(12 * 3600));
    assert!(c.websub.is_none() && c.digests.is_empty());
}

#[test]
fn a_digest_takes_its_defaults_and_the_site_time_zone() {
    let text = format!(
        "{MINIMAL}timezone = \"Asia/Kolkata\"\n[[digest]]\nname = \"weekly\"\ncron = \"0 8 * * 1\"\n"
    );
    let c = load(&text, &[]).unwrap();
    let d = &c.digests[0];
    assert_eq!(d.frequency, Frequency::Weekly);
    assert_eq!(d.timezone, chrono_tz::Asia::Kolkata);
    assert_eq!(d.subject, "This week in skincare: {{ top_topic }}");
    assert_eq!((d.max_topics, d.max_articles_per_topic), (5, 3));
}

#[test]
fn names_from_fixed_lists_are_checked_together() {
    let text = format!(
        "{MINIMAL}[mail]\ntransport = \"pigeon\"\n[mail.smtp]\ntls = \"maybe\"\n\
         [[digest]]\nname = \"a\"\ncron = \"0 8 * * 1\"\nfrequency = \"hourly\"\n\
         [[digest]]\nname = \"a\"\n[topics]\ncounted_in = \"headline\"\n"
    );
    let all = load(&text, &[]).unwrap_err().problems.join("\n");
    for needle in [
        "mail.transport: unknown transport 'pigeon' (file, smtp)",
        "mail.smtp.tls: 'maybe' is not one of starttls, tls, none",
        "digest[0].frequency: 'hourly' is not daily or weekly",
        "digest[1].name: 'a' is used by another digest",
        "digest[1].cron: must be set",
        "topics.counted_in: 'headline' is not one of title, lead, anywhere",
    ] {
        assert!(all.contains(needle), "{needle} missing from:\n{all}");
    }
    // Not text at all is still a type error, named by serde.
    let e = load(&format!("{MINIMAL}[mail]\ntransport = 5\n"), &[]).unwrap_err();
    assert!(e.to_string().contains("mail.transport"), "{e}");
}

#[test]
fn mail_from_is_parsed_once_and_a_bad_one_is_a_config_problem() {
    let text = format!("{MINIMAL}[mail]\nfrom = \"Desk <desk@mail.dewline.example>\"\n");
    let c = load(&text, &[]).unwrap();
    assert_eq!(c.mail.from.email.domain(), "mail.dewline.example");
    assert_eq!(c.mail.from.name.as_deref(), Some("Desk"));
    let e = load(&format!("{MINIMAL}[mail]\nfrom = \"nobody\"\n"), &[]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/srv/dew/feedletter.toml: mail.from: `nobody` is not a mailbox"),
        "{e}"
    );
}

#[test]
fn unknown_keys_name_their_section() {
    let text = format!("{MINIMAL}[mail.smtp]\nhots = \"x\"\n[topics]\nwindow = 3\n");
    let all = load(&text, &[]).unwrap_err().problems.join("\n");
    assert!(all.contains("unknown key `mail.smtp.hots`"), "{all}");
    assert!(all.contains("unknown key `topics.window`"), "{all}");
}

#[test]
fn a_bad_claim_timeout_is_one_problem_not_two() {
    let e = load(MINIMAL, &[("FEEDLETTER_DELIVERY__CLAIM_TIMEOUT", "soon")]).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    let e = load(MINIMAL, &[("FEEDLETTER_DELIVERY__CLAIM_TIMEOUT", "20s")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("'20s' must be longer than mail.smtp.timeout (30 s)"),
        "{e}"
    );
}

#[test]
fn the_admin_token_comes_from_the_environment_only() {
    let c = load(MINIMAL, &[(ADMIN_TOKEN_VAR, " s3cret ")]).unwrap();
    assert_eq!(c.http.admin_token.as_deref(), Some("s3cret"));
    let c = load(MINIMAL, &[(ADMIN_TOKEN_VAR, "  ")]).unwrap();
    assert_eq!(c.http.admin_token, None);
}

#[test]
fn feed_serving_settings_are_read_and_a_bad_max_age_is_named() {
    let c = load(
        &format!("{MINIMAL}\n[http]\nfeed_max_age = \"15m\"\nfeed_requests_per_minute = 30\n"),
        &[],
    )
    .unwrap();
    assert_eq!(c.http.feed_max_age, Duration::from_secs(900));
    assert_eq!(c.http.feed_requests_per_minute, 30);
    let e = load(
        &format!("{MINIMAL}\n[http]\nfeed_max_age = \"soon\"\n"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("http.feed_max_age") && e.contains("soon"), "{e}");
}

#[test]
fn the_content_folder_is_watched_unless_turned_off() {
    let c = load(MINIMAL, &[]).unwrap();
    assert!(c.content.watch);
    assert_eq!(c.content.debounce, Duration::from_millis(100));
    let text = format!("{MINIMAL}\n[content]\nwatch = false\ndebounce = \"250ms\"\n");
    let c = load(&text, &[]).unwrap();
    assert!(!c.content.watch);
    assert_eq!(c.content.debounce, Duration::from_millis(250));
    for bad in ["soon", "1m"] {
        let text = format!("{MINIMAL}\n[content]\ndebounce = \"{bad}\"\n");
        let e = load(&text, &[]).unwrap_err();
        assert!(e.to_string().contains("content.debounce"), "{bad}: {e}");
    }
}

#[test]
fn bounces_section_defaults_keys_and_secrets() {
    let c = load(MINIMAL, &[]).unwrap();
    assert!(c.bounces.listen.is_none() && c.bounces.maildir.is_none());
    assert!(c.bounces.verp);
    assert_eq!(c.bounces.soft_limit, 3);
    assert!(c.bounces.webhook_secret.is_none());
    let text = format!(
        "{MINIMAL}\n[bounces]\nlisten = \"127.0.0.1:2525\"\nmaildir = \"mail/bounces\"\n\
         return_path = \"returns@mail.dewline.example\"\nsoft_limit = 5\n"
    );
    let c = load(
        &text,
        &[
            ("FEEDLETTER_WEBHOOK_SECRET", "s3cret"),
            ("FEEDLETTER_MAILGUN_SIGNING_KEY", "mg"),
        ],
    )
    .unwrap();
    assert_eq!(c.bounces.listen, Some("127.0.0.1:2525".parse().unwrap()));
    assert_eq!(
        c.bounces.maildir.as_deref(),
        Some(Path::new("/srv/dew/mail/bounces"))
    );
    assert_eq!(
        c.bounces
            .return_path
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("returns@mail.dewline.example")
    );
    assert_eq!(c.bounces.soft_limit, 5);
    assert_eq!(c.bounces.webhook_secret.as_deref(), Some("s3cret"));
    assert_eq!(c.bounces.mailgun_signing_key.as_deref(), Some("mg"));
    assert!(!format!("{:?}", c.bounces).contains("s3cret"));
}

#[test]
fn bad_bounces_keys_are_named() {
    for (body, key) in [
        ("listen = \"localhost\"", "bounces.listen"),
        ("return_path = \"not an address\"", "bounces.return_path"),
        (
            "return_path = \"bounces+x@dewline.example\"",
            "bounces.return_path",
        ),
        (
            "sendgrid_public_key = \"AAAA\"",
            "bounces.sendgrid_public_key",
        ),
        (
            "sendgrid_public_key = \"%%%\"",
            "bounces.sendgrid_public_key",
        ),
        ("soft_limt = 2", "bounces.soft_limt"),
    ] {
        let e = load(&format!("{MINIMAL}\n[bounces]\n{body}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{body}: {e}");
    }
}

#[test]
fn sources_read_with_their_defaults_and_unique_names() {
    let text = format!(
        "{MINIMAL}\n[[source]]\nname = \"cms\"\nkind = \"wordpress\"\n\
         url = \"https://www.example.com/wp-json/wp/v2\"\nevery = \"5m\"\n\
         [[source]]\nname = \"partner\"\nkind = \"feed\"\nurl = \"https://p.example/feed.xml\"\nevery = \"15m\"\n"
    );
    let c = load(&text, &[]).unwrap();
    let [cms, partner] = &c.sources[..] else {
        panic!("{:?}", c.sources)
    };
    assert_eq!(cms.kind, SourceKind::Wordpress);
    // The API root, to which post types are joined.
    assert_eq!(cms.url.as_str(), "https://www.example.com/wp-json/wp/v2/");
    assert_eq!(cms.types, ["posts"]);
    assert_eq!(cms.every, Duration::from_secs(300));
    assert_eq!(partner.kind, SourceKind::Feed);
    assert!(partner.types.is_empty());

    let twice = text.replace("name = \"partner\"", "name = \"cms\"");
    let e = load(&twice, &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("source[1].name: 'cms' is used by another source"),
        "{e}"
    );
    let missing = format!("{MINIMAL}\n[[source]]\nname = \"x\"\n");
    let e = load(&missing, &[]).unwrap_err().to_string();
    for key in ["source[0].kind", "source[0].url", "source[0].every"] {
        assert!(e.contains(&format!("{key}: must be set")), "{e}");
    }
}

#[test]
fn where_a_topic_counts_towards_its_trend_is_read() {
    let c = load(&format!("{MINIMAL}[topics]\ncounted_in = \"lead\"\n"), &[]).unwrap();
    assert_eq!(c.topics.counted_in, super::topics::CountedIn::Lead);
    assert_eq!(c.topics.counted_in.min_prominence(), 1);
}
