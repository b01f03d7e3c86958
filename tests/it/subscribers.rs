//! Subscribers over real HTTP against the spawned app, with mail sent over
//! SMTP to an in-process server (or written to the outbox folder) and read
//! back with mail-parser.

use crate::helpers::TestSite;
use crate::smtp_server::TestSmtp;
use feedletter::Clock as _;
use feedletter::domain::SubscriberStatus;
use reqwest::StatusCode;

fn smtp_config(smtp: &TestSmtp) -> String {
    format!(
        "[mail]\nfrom = \"The Dewline <digest@dewline.example>\"\ntransport = \"smtp\"\n\
         postal_address = \"The Dewline, 12 Test Lane, Mumbai\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        smtp.port()
    )
}

/// The body's text part (decoded).
fn text_of(data: &[u8]) -> String {
    let m = mail_parser::MessageParser::default().parse(data).unwrap();
    m.body_text(0).unwrap().into_owned()
}

fn header(data: &[u8], name: &str) -> Option<String> {
    let m = mail_parser::MessageParser::default().parse(data).unwrap();
    m.header_raw(name).map(|v| v.trim().to_owned())
}

/// The first link in `text` whose path starts with `prefix`, as a path.
fn link_path(text: &str, prefix: &str) -> String {
    let start = text
        .find(&format!("https://dewline.test{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let rest = &text[start + "https://dewline.test".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// GET / and return (csrf field, cookie header).
async fn form_token(app: &crate::helpers::RunningApp, path: &str) -> (String, String) {
    let r = app.get(path).await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("feedletter_csrf="))
        .expect("a CSRF cookie");
    let html = r.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let csrf = html[at..at + 64].to_owned();
    (csrf, cookie)
}

/// Confirms as a person does: the link opens a page whose button posts
/// the form with its CSRF token.
async fn confirm_with_button(app: &crate::helpers::RunningApp, path: &str) -> reqwest::Response {
    let (csrf, cookie) = form_token(app, path).await;
    app.request(reqwest::Method::POST, path)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

/// One pass of the transactional mail queue at the site's clock.
async fn send_queued(
    site: &TestSite,
    mailer: &feedletter::mail::Mailer,
) -> feedletter::subscribers::queue::QueueReport {
    feedletter::subscribers::queue::deliver_due(
        site.store.as_ref(),
        mailer,
        &site.config.delivery,
        &site.clock,
    )
    .await
    .unwrap()
}

async fn status_of(site: &TestSite, email: &str) -> Option<SubscriberStatus> {
    site.store
        .subscriber_by_email(email)
        .await
        .unwrap()
        .map(|s| s.status)
}

#[tokio::test]
async fn subscribe_confirm_welcome_and_one_click_unsubscribe_over_smtp() {
    let smtp = TestSmtp::start();
    let site = TestSite::new(&smtp_config(&smtp)).await;
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/content/2026-11-20-exosomes-explained.md"
        ),
        site.content_dir().join("exosomes.md"),
    )
    .ok();
    let app = site.spawn_at_fixed_time().await;

    // The landing page's form, filled in as a browser would.
    let (csrf, cookie) = form_token(&app, "/").await;
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "  Meena.Reader@Example.COM "),
            ("frequency", "daily"),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your inbox"));
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Pending)
    );

    // The confirmation mail, over SMTP.
    app.drain_mail().await;
    let got = smtp.received();
    assert_eq!(got.len(), 1, "one confirmation mail");
    assert_eq!(got[0].to, vec!["Meena.Reader@example.com".to_owned()]);
    let text = text_of(&got[0].data);
    assert!(text.contains("daily digest"), "{text}");
    assert!(text.contains("7 days"), "{text}");
    let confirm = link_path(&text, "/confirm/");

    // A link scanner opens the link (twice, as some do): a page with a
    // button, and the address stays unconfirmed.
    for _ in 0..2 {
        let r = app.get(&confirm).await.unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("<button"), "{page}");
        assert!(page.contains("Meena.Reader@example.com"), "{page}");
        assert!(!page.contains("You are subscribed"), "{page}");
    }
    // HEAD, as some scanners send, changes nothing either.
    let r = app
        .request(reqwest::Method::HEAD, &confirm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A POST without the page's CSRF token (another site's form) is refused.
    let r = app
        .request(reqwest::Method::POST, &confirm)
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Pending)
    );
    app.drain_mail().await;
    assert_eq!(
        smtp.received().len(),
        1,
        "no welcome mail before the button"
    );

    // The person presses the button: confirmed, then the welcome mail with
    // its list headers.
    let r = confirm_with_button(&app, &confirm).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("You are subscribed"));
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );
    // The link is used up.
    assert_eq!(app.get(&confirm).await.unwrap().status(), 404);

    app.drain_mail().await;
    let got = smtp.received();
    assert_eq!(got.len(), 2, "the welcome mail");
    let welcome = &got[1].data;
    let list_unsubscribe = header(welcome, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(list_unsubscribe.starts_with("<https://dewline.test/unsubscribe/"));
    assert_eq!(
        header(welcome, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let text = text_of(welcome);
    assert!(text.contains("https://dewline.test/preferences/"), "{text}");
    let unsubscribe = list_unsubscribe
        .trim_start_matches("<https://dewline.test")
        .trim_end_matches('>')
        .to_owned();

    // GET shows a button and changes nothing (mail scanners follow links).
    let r = app.get(&unsubscribe).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<button"));
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );

    // RFC 8058 one-click: no cookie, no CSRF token, no redirect.
    let r = app
        .request(reqwest::Method::POST, &unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Unsubscribed)
    );

    // Coming back needs a new confirmation: the address stays unsubscribed
    // until the new link is opened.
    site.clock.advance(chrono::Duration::minutes(11));
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": "meena.reader@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.drain_mail().await;
    let got = smtp.received();
    assert_eq!(got.len(), 3, "a second confirmation mail");
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Unsubscribed)
    );
    let confirm = link_path(&text_of(&got[2].data), "/confirm/");
    assert_eq!(app.get(&confirm).await.unwrap().status(), 200);
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Unsubscribed),
        "opening the link changes nothing"
    );
    assert_eq!(confirm_with_button(&app, &confirm).await.status(), 200);
    assert_eq!(
        status_of(&site, "Meena.Reader@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_answer_is_the_same_for_new_pending_confirmed_and_unsubscribed_addresses() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    let subs = subscriptions(&site).await;
    add(&subs, "pending@example.com", false).await;
    add(&subs, "confirmed@example.com", true).await;
    add(&subs, "gone@example.com", true).await;
    subs.remove("gone@example.com", false).await.unwrap();

    let mut answers = Vec::new();
    for email in [
        "new@example.com",
        "pending@example.com",
        "confirmed@example.com",
        "gone@example.com",
    ] {
        let r = app
            .request(reqwest::Method::POST, "/subscribe")
            .json(&serde_json::json!({ "email": email, "topics": [], "frequency": "weekly" }))
            .send()
            .await
            .unwrap();
        answers.push((r.status(), r.text().await.unwrap()));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    // And nothing about the confirmed subscriber changed.
    assert_eq!(
        status_of(&site, "confirmed@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );
    assert_eq!(
        status_of(&site, "gone@example.com").await,
        Some(SubscriberStatus::Unsubscribed)
    );
    app.stop().await;
}

async fn subscriptions(site: &TestSite) -> feedletter::subscribers::Subscriptions {
    use std::sync::Arc;
    let tera = feedletter::templates::load(&site.config.site.templates_dir).unwrap();
    feedletter::subscribers::Subscriptions::new(
        site.store.clone(),
        Arc::new(site.config.clone()),
        Arc::new(tera),
        Arc::new(site.clock.clone()),
    )
}

async fn add(subs: &feedletter::subscribers::Subscriptions, email: &str, confirmed: bool) {
    subs.add(
        feedletter::subscribers::Request {
            email: email.into(),
            topics: vec![],
            frequency: None,
            source: feedletter::domain::ConsentSource::Cli,
            client: None,
        },
        confirmed,
    )
    .await
    .unwrap();
}

/// The newest `.eml` in the outbox whose text mentions `needle`.
fn outbox_link(site: &TestSite, prefix: &str) -> String {
    let dir = site.config.mail.outbox_dir.clone();
    let mut texts: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let data = std::fs::read(e.path()).unwrap();
            (e.metadata().unwrap().modified().unwrap(), text_of(&data))
        })
        .filter(|(_, t)| t.contains(&format!("https://dewline.test{prefix}")))
        .collect();
    texts.sort();
    link_path(&texts.last().expect("a mail with the link").1, prefix)
}

/// Runs the mail queue's pass and checks the outbox then holds `n` mails.
async fn drain_outbox(app: &crate::helpers::RunningApp, site: &TestSite, n: usize) {
    app.drain_mail().await;
    let count = std::fs::read_dir(&site.config.mail.outbox_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(count, n, "mails in the outbox");
}

#[tokio::test]
async fn expired_and_forged_tokens_answer_the_same_404() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": "late@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    drain_outbox(&app, &site, 1).await;
    let confirm = outbox_link(&site, "/confirm/");

    // Eight days later the link has expired.
    site.clock.advance(chrono::Duration::days(8));
    let expired = app.get(&confirm).await.unwrap();
    assert_eq!(expired.status(), 404);
    let expired = expired.text().await.unwrap();
    let forged = app
        .get(&format!("/confirm/{}", "ab".repeat(32)))
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    assert_eq!(forged.text().await.unwrap(), expired, "no hint of why");
    assert_eq!(app.get("/confirm/short").await.unwrap().status(), 404);
    assert_eq!(
        status_of(&site, "late@example.com").await,
        Some(SubscriberStatus::Pending)
    );

    for path in [
        format!("/unsubscribe/{}", "cd".repeat(32)),
        format!("/preferences/{}", "cd".repeat(32)),
    ] {
        assert_eq!(app.get(&path).await.unwrap().status(), 404, "{path}");
        let r = app
            .request(reqwest::Method::POST, &path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 403,
            "{path}: {}",
            r.status()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn malformed_addresses_are_refused_with_the_field_named_and_nothing_stored() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    for bad in [
        "a@b.c\r\nBcc: x@y.z",
        "a@b.c\nBcc: x@y.z",
        "",
        "no-at-sign.example.com",
        "two@@example.com",
        "a@localhost",
        "a b@example.com",
        "<a@example.com>",
        "a@example.com, b@example.com",
        "a@-example.com",
        "a@exa_mple.com",
        &format!("{}@example.com", "x".repeat(65)),
        &format!("a@{}.com", "d".repeat(250)),
        "a@example.com\0",
    ] {
        let r = app
            .request(reqwest::Method::POST, "/subscribe")
            .json(&serde_json::json!({ "email": bad }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().starts_with("email:"),
            "{bad:?}: {body}"
        );
    }
    // Unknown topics and frequencies are named too.
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": "ok@example.com", "topics": ["unicorn-dust"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unicorn-dust"));
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": "ok@example.com", "frequency": "hourly" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("hourly"));
    assert_eq!(site.store.count_subscribers(None).await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn forms_need_the_csrf_cookie_and_the_honeypot_catches_bots() {
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    // A form posted from elsewhere: no cookie.
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .form(&[
            ("csrf", "ab".repeat(32).as_str()),
            ("email", "x@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A bot that fills every field gets the usual answer, and nothing happens.
    let (csrf, cookie) = form_token(&app, "/").await;
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "bot@example.com"),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your inbox"));
    assert_eq!(status_of(&site, "bot@example.com").await, None);
    // An oversized body is refused before it is read.
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"email\":\"{}@example.com\"}}",
            "a".repeat(64 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn the_subscribe_rate_limit_answers_429_with_retry_after() {
    let mut site = TestSite::new("").await;
    site.config.http.subscribe_per_minute = 3;
    let app = site.spawn_at_fixed_time().await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..5 {
        let r = app
            .request(reqwest::Method::POST, "/subscribe")
            .json(&serde_json::json!({ "email": format!("r{i}@example.com") }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry_after = r.headers().get("retry-after").cloned();
        }
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429]);
    let wait: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    app.stop().await;
}

#[tokio::test]
async fn preferences_change_topics_and_frequency_through_the_link() {
    let site = TestSite::sample().await;
    site.ingest().await;
    let app = site.spawn_at_fixed_time().await;
    let r = app
        .request(reqwest::Method::POST, "/subscribe")
        .json(&serde_json::json!({ "email": "prefs@example.com", "topics": ["retinol"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    drain_outbox(&app, &site, 1).await;
    assert_eq!(
        confirm_with_button(&app, &outbox_link(&site, "/confirm/"))
            .await
            .status(),
        200
    );
    drain_outbox(&app, &site, 2).await;
    let prefs = outbox_link(&site, "/preferences/");

    let (csrf, cookie) = form_token(&app, &prefs).await;
    let r = app
        .request(reqwest::Method::POST, &prefs)
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("topics", "exosomes"),
            ("topics", "niacinamide"),
            ("frequency", "daily"),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Saved"));
    let s = site
        .store
        .subscriber_by_email("prefs@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.topics, ["exosomes", "niacinamide"]);
    assert_eq!(s.frequency, feedletter::domain::Frequency::Daily);

    // Without the cookie the same form is refused.
    let r = app
        .request(reqwest::Method::POST, &prefs)
        .form(&[("csrf", csrf.as_str()), ("frequency", "weekly")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The page's unsubscribe button.
    let r = app
        .request(reqwest::Method::POST, &prefs)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("action", "unsubscribe")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        status_of(&site, "prefs@example.com").await,
        Some(SubscriberStatus::Unsubscribed)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token_and_checks_it_otherwise() {
    // Off: 404 whatever is sent.
    let site = TestSite::new("").await;
    let app = site.spawn_at_fixed_time().await;
    let r = app
        .request(reqwest::Method::GET, "/api/v1/subscribers")
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;

    let mut site = TestSite::new("").await;
    site.config.http.admin_token = Some("s3cret-admin-token".into());
    let app = site.spawn_at_fixed_time().await;
    let r = app.get("/api/v1/subscribers").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = app
        .request(reqwest::Method::GET, "/api/v1/subscribers")
        .bearer_auth("s3cret-admin-tokeX")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let api = |m, p: &str| app.request(m, p).bearer_auth("s3cret-admin-token");
    let r = api(reqwest::Method::POST, "/api/v1/subscribers")
        .json(&serde_json::json!({ "email": "Admin.Added@Example.com", "confirmed": true, "frequency": "daily" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = api(reqwest::Method::POST, "/api/v1/subscribers")
        .json(&serde_json::json!({ "email": "bad@@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = api(
        reqwest::Method::POST,
        "/api/v1/subscribers/import?confirmed=true",
    )
    .header("content-type", "text/csv")
    .body("email,frequency\none@example.com,weekly\nnot-an-address,weekly\ntwo@example.com,daily\n")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["added"], 2);
    assert_eq!(report["bad"][0]["line"], 3);

    let r = api(
        reqwest::Method::GET,
        "/api/v1/subscribers?status=confirmed&limit=2",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let page: serde_json::Value = r.json().await.unwrap();
    assert_eq!(page["subscribers"].as_array().unwrap().len(), 2);
    assert_eq!(page["subscribers"][0]["email"], "Admin.Added@example.com");
    let after = page["next_after"].as_i64().unwrap();
    let r = api(
        reqwest::Method::GET,
        &format!("/api/v1/subscribers?status=confirmed&after={after}"),
    )
    .send()
    .await
    .unwrap();
    let page: serde_json::Value = r.json().await.unwrap();
    assert_eq!(page["subscribers"].as_array().unwrap().len(), 1);
    assert!(page["next_after"].is_null());

    let csv = api(
        reqwest::Method::GET,
        "/api/v1/subscribers/export?format=csv",
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(csv.starts_with("email,status,topics,frequency,created_at,consent_at,consent_source"));
    assert!(csv.contains("two@example.com,confirmed,,daily,"));
    assert!(csv.contains("import:api"));

    let r = api(
        reqwest::Method::DELETE,
        "/api/v1/subscribers/two@example.com",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(status_of(&site, "two@example.com").await, None);
    let r = api(
        reqwest::Method::DELETE,
        "/api/v1/subscribers/two@example.com",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn csv_import_reports_bad_rows_by_line_and_never_resubscribes() {
    let site = TestSite::new("").await;
    let subs = subscriptions(&site).await;
    add(&subs, "left@example.com", true).await;
    subs.remove("left@example.com", false).await.unwrap();
    add(&subs, "waiting@example.com", false).await;
    let csv = "email,topics,frequency\n\
               good@example.com,retinol;exosomes,daily\n\
               a@b.c\r\n\
               Bcc: x@y.z,,weekly\n\
               left@example.com,,weekly\n\
               waiting@example.com,,weekly\n\
               good@example.com,,weekly\n\
               other@example.com,,fortnightly\n\
               third@example.com,Not A Topic!,weekly\n\
               \n\
               last@EXAMPLE.com\n";
    // Line numbers with CRLF endings too.
    let crlf = "email\r\nbad-one\r\nfine@example.com\r\nbad-two\r\n";
    let r = subs
        .import_csv(crlf.as_bytes(), true, &test_import(), |_| {})
        .await
        .unwrap();
    let lines: Vec<u64> = r.bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, [2, 4]);
    let report = subs
        .import_csv(csv.as_bytes(), true, &test_import(), |_| {})
        .await
        .unwrap();
    let bad: Vec<(u64, &str)> = report
        .bad
        .iter()
        .map(|b| (b.line, b.reason.as_str()))
        .collect();
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert_eq!(bad[0].0, 4, "{bad:?}");
    assert!(bad[0].1.contains("email"), "{bad:?}");
    assert_eq!(bad[1].0, 8);
    assert!(bad[1].1.contains("fortnightly"), "{bad:?}");
    assert_eq!(bad[2].0, 9);
    assert!(bad[2].1.contains("Not A Topic!"), "{bad:?}");
    assert_eq!(report.added, 3, "{report:?}"); // good, a@b.c, last
    assert_eq!(report.confirmed, 1, "{report:?}"); // waiting
    assert_eq!(report.refused, 1, "{report:?}"); // left
    assert_eq!(
        status_of(&site, "left@example.com").await,
        Some(SubscriberStatus::Unsubscribed)
    );
    assert_eq!(
        status_of(&site, "waiting@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );
    let good = site
        .store
        .subscriber_by_email("good@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(good.topics, ["exosomes", "retinol"]);
    assert_eq!(good.consent.source.to_string(), "import:test.csv");
    assert_eq!(
        status_of(&site, "last@example.com").await,
        Some(SubscriberStatus::Confirmed)
    );
    // A header without an email column stops the import at line 1.
    let e = subs
        .import_csv(
            "address\nx@example.com\n".as_bytes(),
            true,
            &test_import(),
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("line 1:"), "{e}");
    let _ = site.clock.now();
}

#[tokio::test]
async fn queued_mail_retries_temporary_failures_and_bounces_an_address_after_three_refusals() {
    let smtp = TestSmtp::start();
    smtp.reject_rcpt("later@example.com", 451);
    smtp.reject_rcpt("nobody@example.com", 550);
    let site = TestSite::new(&smtp_config(&smtp)).await;
    let subs = subscriptions(&site).await;
    for email in [
        "fine@example.com",
        "later@example.com",
        "nobody@example.com",
    ] {
        add(&subs, email, false).await;
    }
    let mailer = feedletter::mail::Mailer::from_config(&site.config.mail).unwrap();
    let report = send_queued(&site, &mailer).await;
    assert_eq!((report.sent, report.retried, report.failed), (1, 1, 1));
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(site.store.mail_queue_depth().await.unwrap(), 1);
    // One 5xx is one hard bounce, not yet `bounced` (three are).
    assert_eq!(
        status_of(&site, "nobody@example.com").await,
        Some(SubscriberStatus::Pending)
    );
    // Not due again until the backoff has passed; then it goes through.
    let again = send_queued(&site, &mailer).await;
    assert_eq!(again, Default::default());
    smtp.accept_rcpt("later@example.com");
    site.clock.advance(chrono::Duration::hours(1));
    let later = send_queued(&site, &mailer).await;
    assert_eq!(later.sent, 1, "{later:?}");
    assert_eq!(site.store.mail_queue_depth().await.unwrap(), 0);

    // Two more refused confirmations (the form asked again, past the
    // 10-minute gap): the third hard bounce marks the address bounced.
    for _ in 0..2 {
        site.clock.advance(chrono::Duration::minutes(11));
        subs.subscribe(feedletter::subscribers::Request {
            email: "nobody@example.com".into(),
            topics: vec![],
            frequency: None,
            source: feedletter::domain::ConsentSource::Cli,
            client: None,
        })
        .await
        .unwrap();
        send_queued(&site, &mailer).await;
    }
    let nobody = site
        .store
        .subscriber_by_email("nobody@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (nobody.bounce_count, nobody.status),
        (3, SubscriberStatus::Bounced)
    );
}

/// The consent source of the imports these tests make.
fn test_import() -> feedletter::domain::ConsentSource {
    feedletter::domain::ConsentSource::Import("test.csv".into())
}
