//! A WordPress source read over HTTP: a first pass over 10,000 posts (100
//! pages of 100, with `_embed`) and then incremental passes with 10
//! changes, against a stand-in API on loopback serving pre-rendered JSON.
//!
//!     cargo bench --bench sources
//!     FEEDLETTER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench sources
//!
//! The first pass is `sources::poll` as `feedletter ingest` makes it: the
//! posts oldest change first, then the listing of every id (another 100
//! small pages); every post is sanitized, analysed for topics and stored.
//! An incremental pass is the daemon's (its article index kept between
//! polls): only what changed since the cursor
//! (the 10 edits and whatever else changed in the day before it). The
//! server's own time (building each response) is measured and reported
//! apart: the targets are 10 s for the first pass and 200 ms plus the
//! server's time for an incremental one.

#[path = "common/store.rs"]
mod store;

use anyhow::{Result, ensure};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration as Days, Utc};
use feedletter::ingest::IndexCache;
use feedletter::sources::{Poll, poll_with};
use feedletter::{Clock as _, Config, FixedClock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const POSTS: u64 = 10_000;
const CHANGES: u64 = 10;
const FIRST_RUNS: usize = 3;
const INCREMENTAL_RUNS: usize = 10;
const FIRST_TARGET_MS: f64 = 10_000.0;
const INCREMENTAL_TARGET_MS: f64 = 200.0;

const WORDS: &[&str] = &[
    "retinol",
    "barrier",
    "niacinamide",
    "sunscreen",
    "ceramides",
    "hydration",
    "acne",
    "pigmentation",
    "azelaic",
    "acid",
    "serum",
    "moisturiser",
    "dermatologist",
    "routine",
    "gentle",
    "irritation",
    "evidence",
    "study",
    "skin",
    "night",
    "morning",
    "week",
    "dose",
    "peptides",
    "exfoliation",
    "sensitive",
    "texture",
    "redness",
    "collagen",
    "vitamin",
];

struct Post {
    id: u64,
    modified: DateTime<Utc>,
    json: String,
}

#[derive(Default)]
struct Api {
    posts: RwLock<Vec<Post>>,
    /// Nanoseconds spent building responses.
    server_ns: AtomicU64,
    requests: AtomicU64,
}

fn gmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A post as the API writes it, with `_embed`; its text from a fixed
/// sequence, about 3 KB of HTML.
fn render(id: u64, date: DateTime<Utc>, modified: DateTime<Utc>, edit: u32) -> String {
    let mut seed = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(edit);
    let mut word = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        WORDS[(seed % WORDS.len() as u64) as usize]
    };
    let title = format!("{} &#8217;{}&#8217; and {} ({id})", word(), word(), word());
    let mut content = String::new();
    for _ in 0..8 {
        content.push_str("<p>");
        for _ in 0..55 {
            content.push_str(word());
            content.push(' ');
        }
        content.push_str("<a href=\"/related/\">more</a></p>\n");
    }
    let slug = format!("post-{id}");
    serde_json::json!({
        "id": id, "date_gmt": gmt(date), "modified_gmt": gmt(modified), "slug": slug,
        "status": "publish", "type": "post",
        "link": format!("https://cms.example/{}/{slug}/", date.format("%Y/%m")),
        "title": {"rendered": title},
        "content": {"rendered": content, "protected": false},
        "excerpt": {"rendered": format!("<p>{} {} [&hellip;]</p>", word(), word())},
        "_embedded": {
            "author": [{"id": 2, "name": "Meera Iyer"}],
            "wp:term": [[{"id": 3, "name": "Skincare", "slug": "skincare", "taxonomy": "category"}],
                        [{"id": 9, "name": word(), "slug": "t", "taxonomy": "post_tag"}]],
            "wp:featuredmedia": [{"id": 7, "source_url": "https://cms.example/hero.jpg", "alt_text": "A jar"}]
        }
    })
    .to_string()
}

async fn posts(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> Response {
    let started = Instant::now();
    let q: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(10);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let after = q
        .get("modified_after")
        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.to_utc());
    let ids_only = q.get("_fields").is_some_and(|f| f == "id");
    let all = api.posts.read().unwrap();
    let mut chosen: Vec<&Post> = all
        .iter()
        .filter(|p| after.is_none_or(|a| p.modified > a))
        .collect();
    if ids_only {
        chosen.sort_by_key(|p| p.id);
    } else {
        chosen.sort_by_key(|p| (p.modified, p.id));
    }
    let total = chosen.len();
    let pages = total.div_ceil(per_page).max(1);
    let mut body = String::from("[");
    for (i, p) in chosen
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .enumerate()
    {
        if i > 0 {
            body.push(',');
        }
        if ids_only {
            body.push_str(&format!("{{\"id\":{}}}", p.id));
        } else {
            body.push_str(&p.json);
        }
    }
    body.push(']');
    drop(all);
    let response = Response::builder()
        .header("content-type", "application/json; charset=UTF-8")
        .header("x-wp-total", total.to_string())
        .header("x-wp-totalpages", pages.to_string())
        .body(Body::from(body))
        .unwrap();
    api.server_ns
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    api.requests.fetch_add(1, Ordering::Relaxed);
    response
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> Result<()> {
    feedletter::telemetry::install_crypto();
    let now: DateTime<Utc> = "2026-11-25T12:00:00Z".parse()?;
    let api = Arc::new(Api::default());
    {
        let mut posts = api.posts.write().unwrap();
        for id in 1..=POSTS {
            // Two years, oldest first.
            let date = now - Days::minutes(((POSTS - id) * 105 + 60) as i64);
            posts.push(Post {
                id,
                modified: date,
                json: render(id, date, date, 0),
            });
        }
    }
    let app = axum::Router::new()
        .route("/wp-json/wp/v2/posts", axum::routing::get(posts))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut firsts = Vec::new();
    let mut first_server = Vec::new();
    let mut incrementals = Vec::new();
    let mut incremental_server = Vec::new();
    for run in 0..FIRST_RUNS {
        let dir = tempfile::tempdir()?;
        let db = store::BenchStore::create(dir.path()).await?;
        let text = format!(
            "[site]\ntitle = \"Bench\"\nbase_url = \"https://bench.example\"\ntimezone = \"UTC\"\n\
             author = {{ name = \"Desk\" }}\n[store]\nurl = \"{}\"\n\
             [[source]]\nname = \"cms\"\nkind = \"wordpress\"\nurl = \"http://{addr}/wp-json/wp/v2/\"\nevery = \"5m\"\n",
            db.url
        );
        let path = dir.path().join("feedletter.toml");
        std::fs::write(&path, &text)?;
        let config = Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = feedletter::store::connect(&config.store).await?;
        let clock = FixedClock::new(now);

        api.server_ns.store(0, Ordering::Relaxed);
        let started = Instant::now();
        // The daemon keeps the article index between polls.
        let mut cache = IndexCache::default();
        let outcome = poll_with(store.as_ref(), &config, &clock, Poll::Command, &mut cache).await?;
        let took = started.elapsed();
        let report = &outcome.reports[0];
        ensure!(
            report.errors.is_empty(),
            "first pass errors: {:?}",
            report.errors
        );
        ensure!(
            report.new.len() == POSTS as usize,
            "first pass stored {}",
            report.new.len()
        );
        let server = Duration::from_nanos(api.server_ns.load(Ordering::Relaxed));
        println!(
            "first pass {run}: {} posts in {:.0} ms ({:.0} ms of it the server's), {}",
            report.new.len(),
            took.as_secs_f64() * 1e3,
            server.as_secs_f64() * 1e3,
            db.kind()
        );
        if run == 0 {
            println!(
                "store after the first pass: {} MB",
                db.size_bytes().await? / 1_000_000
            );
        }
        firsts.push(took.as_secs_f64() * 1e3);
        first_server.push(server.as_secs_f64() * 1e3);

        if run == 0 {
            for i in 0..INCREMENTAL_RUNS {
                clock.advance(Days::minutes(6));
                let at = clock.now();
                {
                    let mut posts = api.posts.write().unwrap();
                    for k in 0..CHANGES {
                        let id = 1 + (i as u64 * 997 + k * 613) % POSTS;
                        let p = &mut posts[(id - 1) as usize];
                        let date = now - Days::minutes(((POSTS - id) * 105 + 60) as i64);
                        p.modified = at - Days::seconds(k as i64);
                        p.json = render(id, date, p.modified, i as u32 + 1);
                    }
                }
                api.server_ns.store(0, Ordering::Relaxed);
                let started = Instant::now();
                let outcome =
                    poll_with(store.as_ref(), &config, &clock, Poll::Now, &mut cache).await?;
                let took = started.elapsed();
                let r = &outcome.reports[0];
                ensure!(r.errors.is_empty(), "incremental errors: {:?}", r.errors);
                ensure!(
                    r.updated.len() == CHANGES as usize,
                    "incremental pass {i}: {} updated",
                    r.updated.len()
                );
                let server = Duration::from_nanos(api.server_ns.load(Ordering::Relaxed));
                incrementals.push(took.as_secs_f64() * 1e3);
                incremental_server.push(server.as_secs_f64() * 1e3);
                if i == 0 {
                    println!(
                        "incremental: {} updated, {} unchanged read again",
                        r.updated.len(),
                        r.unchanged
                    );
                }
            }
        }
        drop(store);
        db.remove().await?;
    }
    as_process(&api, addr, now).await?;
    let first = median(firsts);
    let inc = median(incrementals);
    let inc_server = median(incremental_server);
    println!(
        "first pass over {POSTS} posts: median {first:.0} ms (server {:.0} ms); target {FIRST_TARGET_MS:.0} ms: {}",
        median(first_server),
        if first < FIRST_TARGET_MS {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "incremental pass, {CHANGES} changes: median {inc:.1} ms (server {inc_server:.1} ms); \
         target {INCREMENTAL_TARGET_MS:.0} ms + server: {}",
        if inc < INCREMENTAL_TARGET_MS + inc_server {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

/// `feedletter ingest --json` as a process, as a user runs it: on a fresh
/// store (the first pass, then every feed built), and again after
/// `CHANGES` posts were edited (the changes, the id listing every command
/// line ingest makes, and the feeds the changes touched). Wall clock from
/// spawn to exit, the stand-in server's time included.
async fn as_process(api: &Arc<Api>, addr: std::net::SocketAddr, now: DateTime<Utc>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = store::BenchStore::create(dir.path()).await?;
    let content = dir.path().join("content");
    std::fs::create_dir_all(&content)?;
    let text = format!(
        "[site]\ntitle = \"Bench\"\nbase_url = \"https://bench.example\"\ntimezone = \"UTC\"\n\
         author = {{ name = \"Desk\" }}\n[store]\nurl = \"{}\"\n\
         [content]\ndir = \"{}\"\n[feeds]\ndir = \"{}\"\n\
         [[source]]\nname = \"cms\"\nkind = \"wordpress\"\nurl = \"http://{addr}/wp-json/wp/v2/\"\nevery = \"5m\"\n",
        db.url,
        content.display(),
        dir.path().join("feeds").display()
    );
    let path = dir.path().join("feedletter.toml");
    std::fs::write(&path, &text)?;
    let ingest = |label: &str| -> Result<f64> {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedletter"))
            .arg("--config")
            .arg(&path)
            .args(["ingest", "--json"])
            .env("RUST_LOG", "warn")
            .output()?;
        let took = started.elapsed().as_secs_f64() * 1e3;
        ensure!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(took)
    };
    let first = tokio::task::block_in_place(|| ingest("first pass"))?;
    let mut changed = Vec::new();
    for i in 0..5u32 {
        let at = Utc::now();
        {
            let mut posts = api.posts.write().unwrap();
            for k in 0..CHANGES {
                let id = 1 + (u64::from(i) * 389 + k * 211) % POSTS;
                let p = &mut posts[(id - 1) as usize];
                p.modified = at - Days::seconds(k as i64);
                let date = now - Days::minutes(((POSTS - id) * 105 + 60) as i64);
                p.json = render(id, date, p.modified, 100 + i);
            }
        }
        changed.push(tokio::task::block_in_place(|| ingest("after changes"))?);
    }
    println!(
        "feedletter ingest --json as a process: first pass and every feed built {first:.0} ms; \
         after {CHANGES} posts changed (with the id listing and the touched feeds), median of 5 {:.0} ms",
        median(changed)
    );
    db.remove().await?;
    Ok(())
}
