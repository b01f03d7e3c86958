//! The subscribe page in a real browser: headless Chromium driven over
//! WebDriver (Debian's `chromium` + `chromium-driver`, never a downloaded
//! browser). Skipped when chromedriver is missing, unless
//! `FEEDLETTER_REQUIRE_BROWSER=1` (as in CI).

use crate::helpers::TestSite;
use feedletter::domain::{Frequency, SubscriberStatus};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const EMAIL: &str = "browser-reader@example.com";

/// chromedriver at its Debian path, or on PATH.
fn find_chromedriver() -> Option<PathBuf> {
    let fixed = Path::new(CHROMEDRIVER);
    if fixed.is_file() {
        return Some(fixed.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// The chromedriver process: killed when the test ends, panics included.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    async fn start(exe: &Path, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let mut driver = Self { child, port };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{}/status", driver.url())).send().await
                && let Ok(v) = r.json::<serde_json::Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!(
                    "chromedriver exited at start-up ({status}); see {}",
                    log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Page width against the viewport, for the phone-layout check.
async fn widths(driver: &WebDriver) -> WebDriverResult<(i64, i64)> {
    let r = driver
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            Vec::new(),
        )
        .await?;
    r.convert()
}

/// The path of the confirmation link in the mail at `eml`.
fn confirm_link(eml: &Path) -> String {
    let data = std::fs::read(eml).unwrap();
    let m = mail_parser::MessageParser::default().parse(&data).unwrap();
    let text = m.body_text(0).unwrap().into_owned();
    let at = text
        .find("/confirm/")
        .unwrap_or_else(|| panic!("no confirmation link in:\n{text}"));
    let rest = &text[at..];
    rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())].to_owned()
}

/// The first `.eml` file in `dir`, waiting up to 10 s for it.
async fn wait_for_mail(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(entries) = std::fs::read_dir(dir)
            && let Some(p) = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no .eml in {} after 10 s",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn subscribe_page_works_in_headless_chromium() {
    let Some(chromedriver) = find_chromedriver() else {
        if std::env::var("FEEDLETTER_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "FEEDLETTER_REQUIRE_BROWSER=1 but chromedriver is not installed \
                 (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!("skipped: chromium-driver is not installed");
        return;
    };
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing (apt-get install chromium)"
    );

    let site = TestSite::sample().await;
    site.ingest().await;
    let app = site.spawn_at_fixed_time().await;

    let scratch = tempfile::tempdir().unwrap();
    let chromedriver = Driver::start(&chromedriver, &scratch.path().join("chromedriver.log")).await;

    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ] {
        caps.add_arg(arg).unwrap();
    }
    let profile = scratch.path().join("profile");
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))
        .unwrap();
    let driver = WebDriver::new(chromedriver.url(), caps)
        .await
        .expect("a Chromium session");

    let shots = screenshot_dir();
    let home = format!("{}/", app.address);
    let address = app.address.clone();
    let background = app.background.clone();
    let outbox = site.config.mail.outbox_dir.clone();
    let store = site.store.clone();
    let title = site.config.site.title.clone();
    // Quits the browser after the scenario, also when it panics.
    let ticked = driver
        .run_and_quit(|driver| async move {
            // Phone width first.
            driver.set_window_rect(0, 0, 390, 844).await?;
            driver.goto(&home).await?;
            driver
                .screenshot(&shots.join("subscribe-phone.png"))
                .await?;
            let (page_width, viewport) = widths(&driver).await?;
            assert!(
                page_width <= viewport,
                "the front page is {page_width}px wide in a {viewport}px phone viewport"
            );

            // No JavaScript needed: a plain form that posts.
            let source = driver.source().await?;
            assert!(
                source.contains(r#"<form class="subscribe" method="post" action="/subscribe""#),
                "no plain POST form in the page source"
            );
            let form = driver
                .find(By::XPath("//form[.//input[@id='email']]"))
                .await?;
            assert_eq!(form.attr("method").await?.as_deref(), Some("post"));

            // The field is found by its label.
            let label = form.find(By::Css("label[for=email]")).await?;
            assert_eq!(label.text().await?, "E-mail address");
            let email = form.find(By::Id("email")).await?;
            assert!(email.is_displayed().await?, "the e-mail field is hidden");
            let r = email.rect().await?;
            assert!(
                r.x >= 0.0 && r.x + r.width <= viewport as f64,
                "the e-mail field runs off the phone screen: {r:?}"
            );
            email.send_keys(EMAIL).await?;

            let topics = form.find_all(By::Css("input[name=topics]")).await?;
            let mut ticked = None;
            if let Some(first) = topics.first() {
                first.scroll_into_view().await?;
                first.click().await?;
                assert!(first.is_selected().await?);
                ticked = first.value().await?;
            }
            let daily = form
                .find(By::Css("input[name=frequency][value=daily]"))
                .await?;
            daily.scroll_into_view().await?;
            daily.click().await?;
            assert!(daily.is_selected().await?);

            let submit = form
                .find(By::XPath(".//button[normalize-space()='Subscribe']"))
                .await?;
            assert_eq!(submit.attr("type").await?.as_deref(), Some("submit"));
            submit.scroll_into_view().await?;
            submit.click().await?;

            let deadline = Instant::now() + Duration::from_secs(10);
            let heading = loop {
                if let Ok(h1) = driver.find(By::Tag("h1")).await
                    && let Ok(text) = h1.text().await
                    && text != title
                {
                    break text;
                }
                assert!(
                    Instant::now() < deadline,
                    "no answer page after submitting; now at {}",
                    driver.current_url().await?
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            driver
                .screenshot(&shots.join("subscribe-phone-done.png"))
                .await?;
            assert_eq!(heading, "Check your inbox");
            assert!(driver.current_url().await?.path().ends_with("/subscribe"));

            // Desktop width.
            driver.set_window_rect(0, 0, 1280, 900).await?;
            driver.goto(&home).await?;
            driver
                .screenshot(&shots.join("subscribe-desktop.png"))
                .await?;
            let (page_width, viewport) = widths(&driver).await?;
            assert!(page_width <= viewport, "{page_width}px in {viewport}px");

            // The confirmation link opens a page with a button and changes
            // nothing by itself (link scanners open it too); the page is
            // styled by its stylesheet under the strict policy.
            background.drain_mail().await.unwrap();
            let confirm = confirm_link(&wait_for_mail(&outbox).await);
            driver.goto(&format!("{address}{confirm}")).await?;
            let h1 = driver.find(By::Tag("h1")).await?;
            assert_eq!(h1.text().await?, "Confirm your subscription");
            let margin: String = driver
                .execute(
                    "return getComputedStyle(document.body).marginTop;",
                    Vec::new(),
                )
                .await?
                .convert()?;
            assert_eq!(margin, "0px", "the stylesheet did not apply");
            let status = store
                .subscriber_by_email(EMAIL)
                .await
                .unwrap()
                .unwrap()
                .status;
            assert_eq!(
                status,
                SubscriberStatus::Pending,
                "opening the link confirmed"
            );
            driver
                .screenshot(&shots.join("confirm-desktop.png"))
                .await?;
            let button = driver
                .find(By::XPath("//form//button[@type='submit']"))
                .await?;
            button.click().await?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(h1) = driver.find(By::Tag("h1")).await
                    && h1.text().await.ok().as_deref() == Some("You are subscribed")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "no answer page after confirming; now at {}",
                    driver.current_url().await?
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }

            Ok::<_, WebDriverError>(ticked)
        })
        .await
        .unwrap_or_else(|e| panic!("the browser scenario: {e:?}"));
    check_store_and_outbox(&site, ticked).await;

    app.stop().await;
    drop(chromedriver);
}

async fn check_store_and_outbox(site: &TestSite, ticked: Option<String>) {
    let sub = site
        .store
        .subscriber_by_email(EMAIL)
        .await
        .unwrap()
        .expect("the subscriber was stored");
    assert_eq!(sub.status, SubscriberStatus::Confirmed);
    assert_eq!(sub.frequency, Frequency::Daily);
    match ticked {
        Some(t) => assert_eq!(sub.topics, vec![t]),
        None => assert!(sub.topics.is_empty()),
    }
    let mail = wait_for_mail(&site.config.mail.outbox_dir).await;
    let text = std::fs::read_to_string(&mail).unwrap();
    assert!(text.contains(EMAIL), "the confirmation is not to {EMAIL}");
}
