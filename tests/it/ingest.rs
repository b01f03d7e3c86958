//! Articles in: the sample publication, the rules of DESIGN.md's
//! "Articles", and bad input that must be reported without harming the rest.

use crate::helpers::{TestSite, article, run_ok};
use chrono::Duration;

#[tokio::test]
async fn the_sample_publication_ingests_cleanly() {
    let site = TestSite::sample().await;
    let r = site.ingest().await;
    assert!(r.rejected.is_empty(), "rejected: {:?}", r.rejected);
    assert!(r.warnings.is_empty(), "warnings: {:?}", r.warnings);
    assert_eq!(
        r.new.len(),
        22,
        "22 published articles (one draft, one scheduled)"
    );
    assert!(
        !r.new.iter().any(|s| s == "polynucleotides-pdrn-salmon-dna"),
        "the draft stays out"
    );
    assert_eq!(r.scheduled.len(), 1);
    assert_eq!(
        r.scheduled[0].slug,
        "new-year-skin-resolutions-dermatologists-recommend"
    );

    let stored = site
        .store
        .article("exosomes-viral-skincare-trend")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.article.published.to_rfc3339(),
        "2026-11-18T10:30:00+05:30"
    );
    assert_eq!(stored.updated.to_rfc3339(), "2026-11-20T18:45:00+05:30");
    assert_eq!(stored.article.author.name, "Meera Kapoor");
    assert_eq!(
        stored.article.reviewed_by.as_deref(),
        Some("Dr. Kavya Raman, MD (Dermatology)")
    );
    // A date without an offset is read in the site's zone (IST).
    let local = site
        .store
        .article("retinol-for-beginners")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        local.article.published.offset().local_minus_utc(),
        5 * 3600 + 1800
    );
    // Relative links between articles are made absolute.
    let all = site.store.published_articles(None).await.unwrap();
    assert!(
        all.iter()
            .all(|a| !a.article.content_html.contains("href=\"retinol"))
    );
    assert!(all.iter().any(|a| {
        a.article
            .content_html
            .contains("href=\"https://dewline.test/articles/retinol-for-beginners\"")
    }));

    let again = site.ingest().await;
    assert!(
        !again.changed(),
        "a second ingest of the same files changes nothing: {again:?}"
    );
    assert_eq!(again.unchanged, 22);
}

#[tokio::test]
async fn a_scheduled_article_appears_on_the_first_ingest_after_its_time() {
    let site = TestSite::sample().await;
    site.ingest().await;
    site.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-01-05T07:00:01+05:30")
            .unwrap()
            .to_utc(),
    );
    let r = site.ingest().await;
    assert_eq!(
        r.new,
        vec!["new-year-skin-resolutions-dermatologists-recommend"]
    );
    assert!(r.scheduled.is_empty());
}

#[tokio::test]
async fn bad_files_are_reported_by_name_and_the_good_ones_publish() {
    let site = TestSite::new("[content]\nmax_file_size = 4000\n").await;
    site.write(
        "good.md",
        article("Niacinamide, calmly", "2026-11-01 09:00", "Fine."),
    );
    site.write("no-title.md", "---\npublished: 2026-11-01\n---\nBody\n");
    site.write(
        "bad-date.md",
        "---\ntitle: T\npublished: the day after Diwali\n---\nBody\n",
    );
    site.write(
        "bad-yaml.md",
        "---\ntitle: [unclosed\npublished: 2026-11-01\n---\nBody\n",
    );
    site.write(
        "bad-utf8.md",
        b"---\ntitle: T\npublished: 2026-11-01\n---\nBad \xff\xfe bytes\n",
    );
    site.write(
        "dup-a.md",
        "---\ntitle: A\npublished: 2026-11-02\nslug: shared\n---\nA\n",
    );
    site.write(
        "dup-b.md",
        "---\ntitle: B\npublished: 2026-11-03\nslug: shared\n---\nB\n",
    );
    site.write(
        "big.md",
        article("Big", "2026-11-01", &"Sunscreen, again. ".repeat(400)),
    );
    site.write(
        "scripted.md",
        article(
            "Scripted",
            "2026-11-04",
            "Hello <script>alert('x')</script><img src=\"x.png\" onerror=\"steal()\" alt=\"x\"> \
             <a href=\"javascript:alert(1)\">click</a><iframe src=\"https://evil.example\"></iframe>",
        ),
    );
    site.write(
        "control.md",
        article(
            "Control\u{1}chars",
            "2026-11-05",
            "Bell \u{7} and NUL \u{0} removed.",
        ),
    );
    site.write(
        "relative.md",
        article(
            "Relative",
            "2026-11-06",
            "[see](good) and ![pic](/img/a.png) and [up](../about)",
        ),
    );

    let r = site.ingest().await;
    let error_of = |file: &str| {
        r.rejected
            .iter()
            .find(|x| x.file.ends_with(file))
            .map(|x| x.error.clone())
            .unwrap_or_else(|| panic!("{file} not rejected: {:?}", r.rejected))
    };
    assert!(error_of("no-title.md").contains("title"));
    assert!(
        error_of("bad-date.md").contains("published")
            && error_of("bad-date.md").contains("the day after Diwali")
    );
    assert!(error_of("bad-yaml.md").contains("YAML"));
    assert!(error_of("bad-utf8.md").contains("UTF-8"));
    assert!(
        error_of("dup-b.md").contains("'shared' is already used by")
            && error_of("dup-b.md").contains("dup-a.md")
    );
    assert!(error_of("big.md").contains("max_file_size"));
    assert_eq!(r.rejected.len(), 6, "{:?}", r.rejected);
    assert!(
        r.rejected.iter().all(|x| x.file.contains("content/")),
        "errors name the file"
    );

    let mut new = r.new.clone();
    new.sort();
    assert_eq!(
        new,
        vec!["control", "good", "relative", "scripted", "shared"]
    );
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].file.ends_with("control.md"));

    let scripted = site
        .store
        .article("scripted")
        .await
        .unwrap()
        .unwrap()
        .article
        .content_html;
    for bad in ["<script", "onerror", "javascript:", "<iframe"] {
        assert!(!scripted.contains(bad), "{bad} survived: {scripted}");
    }
    let control = site
        .store
        .article("control")
        .await
        .unwrap()
        .unwrap()
        .article;
    assert_eq!(control.title, "Controlchars");
    assert!(!control.content_html.contains('\u{0}') && !control.content_html.contains('\u{7}'));
    let relative = site
        .store
        .article("relative")
        .await
        .unwrap()
        .unwrap()
        .article
        .content_html;
    assert!(
        relative.contains("href=\"https://dewline.test/articles/good\""),
        "{relative}"
    );
    assert!(
        relative.contains("src=\"https://dewline.test/img/a.png\""),
        "{relative}"
    );
    assert!(
        relative.contains("href=\"https://dewline.test/about\""),
        "{relative}"
    );

    // The feeds build and parse with the bad files present.
    site.build().await;
    assert_eq!(site.feed("rss.xml").entries.len(), 5);
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_version_published() {
    let site = TestSite::new("").await;
    site.write(
        "retinol.md",
        article("Retinol, slowly", "2026-11-01 09:00", "Version one."),
    );
    site.ingest().await;
    site.write(
        "retinol.md",
        "---\ntitle: Retinol, slowly\npublished: yesterday-ish\n---\nVersion two.\n",
    );
    let r = site.ingest().await;
    assert_eq!(r.rejected.len(), 1);
    assert!(r.withdrawn.is_empty(), "a rejected file is not withdrawn");
    let a = site.store.article("retinol").await.unwrap().unwrap();
    assert!(a.article.content_html.contains("Version one"));
}

#[tokio::test]
async fn an_edit_keeps_the_id_and_moves_updated_to_when_it_was_seen() {
    let site = TestSite::new("").await;
    site.write(
        "spf.md",
        article("SPF basics", "2026-11-01 09:00", "First version."),
    );
    site.ingest().await;
    let before = site.store.article("spf").await.unwrap().unwrap();
    site.clock.advance(Duration::hours(3));
    site.write(
        "spf.md",
        article(
            "SPF basics",
            "2026-11-01 09:00",
            "Second version, with PA ratings.",
        ),
    );
    let r = site.ingest().await;
    assert_eq!(r.updated, vec!["spf"]);
    let after = site.store.article("spf").await.unwrap().unwrap();
    assert_eq!(after.guid, before.guid);
    assert_eq!(after.updated.to_utc(), site.clock_now());
    assert!(after.updated > before.updated);

    // Touching the file without changing it is not an update.
    site.clock.advance(Duration::hours(1));
    site.write(
        "spf.md",
        article(
            "SPF basics",
            "2026-11-01 09:00",
            "Second version, with PA ratings.",
        ),
    );
    let r = site.ingest().await;
    assert!(!r.changed(), "{r:?}");
}

#[tokio::test]
async fn deleted_drafted_and_renamed_articles_are_withdrawn_and_can_return() {
    let site = TestSite::new("").await;
    site.write("a.md", article("A", "2026-11-01", "a"));
    site.write("b.md", article("B", "2026-11-02", "b"));
    site.write("c.md", article("C", "2026-11-03", "c"));
    site.ingest().await;
    let guid_a = site.store.article("a").await.unwrap().unwrap().guid;

    site.remove("a.md");
    site.write(
        "b.md",
        "---\ntitle: B\npublished: 2026-11-02\ndraft: true\n---\nb\n",
    );
    site.write(
        "c.md",
        "---\ntitle: C\npublished: 2026-11-03\nslug: c-renamed\n---\nc\n",
    );
    let r = site.ingest().await;
    assert_eq!(r.withdrawn, vec!["a", "b", "c"]);
    assert_eq!(r.new, vec!["c-renamed"]);
    assert!(site.store.article("a").await.unwrap().is_none());

    site.write("a.md", article("A", "2026-11-01", "a"));
    let r = site.ingest().await;
    assert_eq!(r.new, vec!["a"]);
    assert_eq!(
        site.store.article("a").await.unwrap().unwrap().guid,
        guid_a,
        "same id when it returns"
    );
}

impl TestSite {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use feedletter::Clock;
        self.clock.now()
    }
}

/// A store row whose source is neither `api` nor `file:<path>` (a damaged
/// or hand-edited database) stops the scan with an error that names the
/// article, instead of being taken for a pushed article and kept forever.
#[tokio::test]
async fn a_stored_source_that_is_no_source_is_reported_with_its_article() {
    let site = TestSite::new_on_sqlite("").await;
    std::fs::write(
        site.dir.path().join("content/azelaic.md"),
        article("Azelaic acid", "2026-11-02", "A calm acid for redness."),
    )
    .unwrap();
    assert_eq!(site.ingest().await.new, ["azelaic"]);
    let db = site.dir.path().join("data/feedletter.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE articles SET source = 'ftp:azelaic.md' WHERE slug = 'azelaic'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = feedletter::ingest::ingest_once(site.store.as_ref(), &site.config, &site.clock)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("article 'azelaic'"), "{err}");
    assert!(err.contains("`ftp:azelaic.md`"), "{err}");
}

#[tokio::test]
async fn the_ingest_and_import_commands_leave_no_write_ahead_log_behind() {
    // SQLite keeps what a transaction wrote in `<db>-wal` until a
    // checkpoint; a process that exits with a large log left makes every
    // process that opens the database next read all of it (a cold ingest
    // of 100,000 articles left 750 MB, and `trending` took 0.5 s instead of
    // 0.2 s). The command closes its connections, so the log is written
    // back and removed.
    let site = TestSite::new_on_sqlite("").await.with_sample();
    site.store.close().await;
    let db = site.dir.path().join("data/feedletter.db");
    let wal = site.dir.path().join("data/feedletter.db-wal");
    let log_left = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    run_ok(&site, &["ingest"]);
    assert!(db.exists(), "no database at {}", db.display());
    assert_eq!(
        log_left(),
        0,
        "after the ingest, {} is not empty",
        wal.display()
    );

    // An ingest of 200 changes or more leaves its log to a checkpoint in
    // the background, which closing waits for: nothing is left either, and
    // a new process finds every article.
    for i in 0..300 {
        site.write(
            &format!("bulk-{i:03}.md"),
            article(
                &format!("Niacinamide, note {i}"),
                &format!("2026-10-{:02} 09:30", 1 + i % 28),
                "Niacinamide calms redness for many readers, a dermatologist says.",
            ),
        );
    }
    let out = run_ok(&site, &["ingest", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["new"].as_array().map(Vec::len), Some(300), "{out}");
    assert_eq!(
        log_left(),
        0,
        "after an ingest of 300 articles, {} is not empty",
        wal.display()
    );
    let again: serde_json::Value =
        serde_json::from_str(&run_ok(&site, &["ingest", "--json"])).unwrap();
    assert_eq!(again["new"].as_array().map(Vec::len), Some(0), "{again}");
    assert_eq!(
        again["updated"].as_array().map(Vec::len),
        Some(0),
        "{again}"
    );

    // So does an import, the other large writer from the command line.
    let csv = site.dir.path().join("list.csv");
    let rows: String = (0..500)
        .map(|i| format!("reader{i}@example.com,weekly\n"))
        .collect();
    std::fs::write(&csv, format!("email,frequency\n{rows}")).unwrap();
    run_ok(
        &site,
        &[
            "subscribers",
            "import",
            "--confirmed",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(
        log_left(),
        0,
        "after the import, {} is not empty",
        wal.display()
    );
}
