//! Articles pushed by a CMS over the admin API, and jobs run on demand.

use crate::helpers::TestSite;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "push-test-token-0123456789";

async fn site_with_token() -> TestSite {
    let mut site = TestSite::sample_with(
        "[[digest]]\nname = \"weekly\"\nfrequency = \"weekly\"\ncron = \"0 8 * * Mon\"\n",
    )
    .await;
    site.config.http.admin_token = Some(TOKEN.into());
    site
}

async fn put(
    app: &crate::helpers::RunningApp,
    slug: &str,
    body: &Value,
    token: &str,
) -> (StatusCode, Value) {
    let r = app
        .request(reqwest::Method::PUT, &format!("/api/v1/articles/{slug}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An admin request without a body, with the right token.
async fn admin(
    app: &crate::helpers::RunningApp,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    app.request(method, path)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

/// The test article, titled `title`, pushed with the right token.
async fn push_guide(app: &crate::helpers::RunningApp, title: &str) -> (StatusCode, Value) {
    put(app, "azelaic-acid-guide", &azelaic(title), TOKEN).await
}

fn azelaic(title: &str) -> Value {
    json!({
        "title": title,
        "published": "2026-11-25 09:00",
        "author": { "name": "Tanvi Deshpande" },
        "reviewed_by": "Dr. Kavya Raman, MD (Dermatology)",
        "tags": ["azelaic acid", "rosacea"],
        "summary": "A gentle acid with a long record for redness and bumps.",
        "body": "Azelaic acid calms the redness of **rosacea** and fades marks.\n\n## How to start\n\nEvery other night, then nightly."
    })
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[tokio::test]
async fn a_pushed_article_is_in_the_feeds_at_once_and_leaves_them_on_delete() {
    let site = site_with_token().await;
    let app = site.spawn_at_fixed_time().await;

    let (status, _) = put(
        &app,
        "azelaic-acid-guide",
        &azelaic("Azelaic acid"),
        "wrong",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, report) = push_guide(&app, "Azelaic acid, explained").await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["status"], "new");
    // Served at once: the main feed and the topic feed, read by feed-rs.
    assert!(titles(&site.feed("rss.xml")).contains(&"Azelaic acid, explained".to_owned()));
    assert!(
        titles(&site.feed("topics/azelaic-acid/atom.xml"))
            .contains(&"Azelaic acid, explained".to_owned())
    );
    let served = app
        .get("/feeds/feed.json")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(served.contains("Azelaic acid, explained"));

    // The same again changes nothing; a new title is an update.
    let (status, report) = push_guide(&app, "Azelaic acid, explained").await;
    assert_eq!(
        (status, report["status"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    let (status, report) = push_guide(&app, "Azelaic acid for rosacea").await;
    assert_eq!(
        (status, report["status"].as_str()),
        (StatusCode::OK, Some("updated"))
    );
    let now = titles(&site.feed("atom.xml"));
    assert!(now.contains(&"Azelaic acid for rosacea".to_owned()));
    assert!(!now.contains(&"Azelaic acid, explained".to_owned()));

    // A scan of the content folder keeps it: it has no file, and needs none.
    let r = admin(&app, reqwest::Method::POST, "/api/v1/jobs/ingest").await;
    assert_eq!(r.status(), 200);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["ingest"]["withdrawn"], json!([]));
    assert!(titles(&site.feed("rss.xml")).contains(&"Azelaic acid for rosacea".to_owned()));

    // DELETE takes it out; a second DELETE finds nothing.
    let r = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/articles/azelaic-acid-guide",
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!titles(&site.feed("rss.xml")).contains(&"Azelaic acid for rosacea".to_owned()));
    let r = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/articles/azelaic-acid-guide",
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn bad_pushes_get_a_clear_4xx_naming_the_field() {
    let site = site_with_token().await;
    let app = site.spawn_at_fixed_time().await;
    let mut no_title = azelaic("x");
    no_title.as_object_mut().unwrap().remove("title");
    let mut typo = azelaic("Azelaic");
    typo.as_object_mut()
        .unwrap()
        .insert("titel".into(), json!("Azelaic"));
    let mut no_body = azelaic("Azelaic");
    no_body.as_object_mut().unwrap().remove("body");
    let mut future = azelaic("Azelaic");
    future["published"] = json!("2027-03-01 08:00");
    let mut bad_date = azelaic("Azelaic");
    bad_date["published"] = json!("the day after Diwali");
    let mut other_slug = azelaic("Azelaic");
    other_slug["slug"] = json!("something-else");
    for (body, field, words) in [
        (no_title, "title", "missing"),
        (typo, "", "titel"),
        (no_body, "body", "missing"),
        (future, "published", "future"),
        (bad_date, "published", "not a date"),
        (other_slug, "slug", "differs"),
    ] {
        let (status, answer) = put(&app, "azelaic-acid-guide", &body, TOKEN).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
        if !field.is_empty() {
            assert_eq!(answer["field"], field, "{answer}");
        }
    }
    // A slug that a content file owns.
    let (status, answer) = put(
        &app,
        "exosomes-viral-skincare-trend",
        &azelaic("Mine now"),
        TOKEN,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("exosomes-viral-skincare-trend.md")
    );
    let r = admin(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/articles/exosomes-viral-skincare-trend",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Not JSON at all.
    let r = app
        .request(reqwest::Method::PUT, "/api/v1/articles/azelaic-acid-guide")
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{title: nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Nothing of it reached the feeds.
    let shown = titles(&site.feed("rss.xml"));
    for t in ["Azelaic", "x", "Mine now"] {
        assert!(!shown.contains(&t.to_owned()), "{t} is in the feed");
    }
    app.stop().await;
}

#[tokio::test]
async fn jobs_run_on_demand() {
    let site = site_with_token().await;
    let app = site.spawn_at_fixed_time().await;
    let post = |path: &'static str| admin(&app, reqwest::Method::POST, path);
    let r = post("/api/v1/jobs/build").await;
    assert_eq!(r.status(), 200);
    // digest:NAME creates the run for the last fire time and answers at once.
    let r = post("/api/v1/jobs/digest:weekly").await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["fire"], "2026-11-23T02:30:00+00:00");
    let run = job["run_id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/digests/{run}")).await.unwrap().status(),
        200
    );
    let again: Value = post("/api/v1/jobs/digest:weekly")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["run_id"].as_i64(), again["created"].as_bool()),
        (Some(run), Some(false))
    );
    let r = post("/api/v1/jobs/digest:nope").await;
    assert_eq!(r.status(), 404);
    let r = post("/api/v1/jobs/reboot").await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}
