//! Serving, measured from outside as readers and visitors see it: the
//! `feedletter` binary runs as a process (`feedletter run`) on a site of
//! generated articles, `wrk` loads it over loopback, and nginx serves the
//! same files (the feeds folder, and the landing page saved as a static
//! file) in the same run, for scale.
//!
//!     cargo bench --bench serving
//!     FEEDLETTER_BENCH_SECONDS=2 FEEDLETTER_BENCH_ARTICLES=1000 cargo bench --bench serving
//!
//! Needs `wrk` (Debian package `wrk`): without it the bench says so and
//! stops. nginx (`nginx-light`) is optional: without it there is no
//! comparison column. Neither is needed by feedletter itself.
//!
//! Rows: the site's RSS and Atom feeds, plain (200, whole body), gzipped
//! (200) and conditional (304); the landing page (200, each request a new
//! visitor with a new CSRF cookie, as a browser without cookies would be).
//! The daemon's resident memory is sampled through the whole load.

#[path = "corpus/mod.rs"]
mod corpus;

use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: u32 = 64;
const THREADS: u32 = 2;

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().with_context(|| format!("{name}={v}")),
        Err(_) => Ok(default),
    }
}

/// What `wrk` reported for one row.
#[derive(Debug, Clone, Copy)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    errors: u64,
}

/// One request shape.
struct Row {
    label: &'static str,
    path: String,
    headers: Vec<String>,
    expect: u16,
    /// feedletter's throughput must be at least this share of nginx's.
    target: f64,
}

fn wrk(url: &str, headers: &[String], secs: u64) -> Result<Figures> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &THREADS.to_string(),
        "-c",
        &CONNECTIONS.to_string(),
        "-d",
        &format!("{secs}s"),
        "--latency",
    ]);
    for h in headers {
        cmd.arg("-H").arg(h);
    }
    let out = cmd.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Figures> {
    let value_after = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let per_second = value_after("Requests/sec:")?.parse().ok()?;
    let errors = value_after("Non-2xx or 3xx responses:").map_or(Some(0), |v| v.parse().ok())?;
    Some(Figures {
        per_second,
        p50_ms: duration_ms(value_after("50%")?)?,
        p99_ms: duration_ms(value_after("99%")?)?,
        errors,
    })
}

/// "812.00us", "1.23ms", "2.01s" in milliseconds.
fn duration_ms(v: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Resident memory of `pid` in bytes (VmRSS), or its peak (VmHWM).
fn memory(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Samples the resident memory of `pid` until dropped; the peak seen.
struct MemoryWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = memory(pid, "VmRSS:") {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A process that is stopped with SIGTERM when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM: nginx's master stops its workers (SIGKILL would not).
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn write_config(dir: &Path, content: &Path, port: u16) -> Result<PathBuf> {
    let text = format!(
        "[site]\ntitle = \"The Dewline\"\nbase_url = \"http://127.0.0.1:{port}\"\n\
         timezone = \"Asia/Kolkata\"\ntemplates = \"{templates}\"\n\
         [store]\nurl = \"sqlite://{db}\"\n[content]\ndir = \"{content}\"\n\
         [feeds]\ndir = \"{feeds}\"\n[mail]\noutbox_dir = \"{outbox}\"\n\
         [http]\nbind = \"127.0.0.1:{port}\"\n[schedule]\ningest = \"0 0 0 1 1 *\"\n",
        templates = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates")
            .display(),
        db = dir.join("bench.db").display(),
        content = content.display(),
        feeds = dir.join("feeds").display(),
        outbox = dir.join("outbox").display(),
    );
    let path = dir.join("feedletter.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

async fn wait_until_served(base: &str, deadline: Duration) -> Result<()> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < deadline {
        if let Ok(r) = client.get(format!("{base}/feeds/rss.xml")).send().await
            && r.status() == 200
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{base} did not serve its feeds within {deadline:?}")
}

async fn etag(url: &str) -> Result<String> {
    let r = reqwest::get(url).await?;
    Ok(r.headers()
        .get("etag")
        .context("no ETag")?
        .to_str()?
        .to_owned())
}

fn nginx_conf(dir: &Path, port: u16, www: &Path, feeds: &Path) -> Result<PathBuf> {
    let conf = dir.join("nginx.conf");
    let own = dir.join("nginx");
    std::fs::create_dir_all(&own)?;
    std::fs::write(
        &conf,
        format!(
            "worker_processes auto;\ndaemon off;\npid {own}/nginx.pid;\nerror_log {own}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n\
               types {{ application/atom+xml xml; application/feed+json json; text/html html; }}\n\
               gzip on;\n  gzip_types application/atom+xml application/rss+xml application/feed+json;\n\
               client_body_temp_path {own};\n  proxy_temp_path {own};\n  fastcgi_temp_path {own};\n\
               uwsgi_temp_path {own};\n  scgi_temp_path {own};\n\
               server {{\n    listen 127.0.0.1:{port};\n    root {www};\n    index index.html;\n\
                 location /feeds/ {{ alias {feeds}/; etag on; }}\n  }}\n}}\n",
            own = own.display(),
            www = www.display(),
            feeds = feeds.display(),
        ),
    )?;
    Ok(conf)
}

/// The paths of the rows: the site's feeds and a small topic feed.
struct Paths {
    small: String,
    small_tag: String,
    rss_tag: String,
    atom_tag: String,
}

fn rows(p: &Paths) -> Vec<Row> {
    let identity = "Accept-Encoding: identity".to_owned();
    let gzip = "Accept-Encoding: gzip".to_owned();
    let (rss, atom) = (&p.rss_tag, &p.atom_tag);
    vec![
        Row {
            label: "small feed 200",
            path: p.small.clone(),
            headers: vec![identity.clone()],
            expect: 200,
            target: 0.7,
        },
        Row {
            label: "small feed 304",
            path: p.small.clone(),
            headers: vec![identity.clone(), format!("If-None-Match: {}", p.small_tag)],
            expect: 304,
            target: 0.7,
        },
        Row {
            label: "rss.xml 200",
            path: "/feeds/rss.xml".into(),
            headers: vec![identity.clone()],
            expect: 200,
            target: 0.7,
        },
        Row {
            label: "rss.xml 304",
            path: "/feeds/rss.xml".into(),
            headers: vec![identity.clone(), format!("If-None-Match: {rss}")],
            expect: 304,
            target: 0.7,
        },
        Row {
            label: "atom.xml 200",
            path: "/feeds/atom.xml".into(),
            headers: vec![identity.clone()],
            expect: 200,
            target: 0.7,
        },
        Row {
            label: "atom.xml 200 gzip",
            path: "/feeds/atom.xml".into(),
            headers: vec![gzip],
            expect: 200,
            target: 0.7,
        },
        Row {
            label: "atom.xml 304",
            path: "/feeds/atom.xml".into(),
            headers: vec![identity.clone(), format!("If-None-Match: {atom}")],
            expect: 304,
            target: 0.7,
        },
        Row {
            label: "landing page",
            path: "/".into(),
            headers: vec![identity],
            expect: 200,
            target: 0.5,
        },
    ]
}

/// The size of the small feed the bench looks for: a topic feed of about
/// the size of a summary-only site feed...
const SMALL_FEED_BYTES: u64 = 28_000;
/// ...made by tagging this many articles "clinic notes".
const SMALL_FEED_ARTICLES: usize = 7;

/// The topic RSS feed whose size is nearest `bytes`, as a path under the
/// feeds folder.
fn small_feed(feeds: &Path, bytes: u64) -> Result<String> {
    let mut best: Option<(u64, String)> = None;
    for entry in std::fs::read_dir(feeds.join("topics"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let rel = format!("topics/{name}/rss.xml");
        if let Ok(m) = std::fs::metadata(feeds.join(&rel)) {
            let off = m.len().abs_diff(bytes);
            if best.as_ref().is_none_or(|(b, _)| off < *b) {
                best = Some((off, rel));
            }
        }
    }
    best.map(|(_, rel)| rel)
        .context("no topic feeds were built")
}

async fn paths(base: &str, small: &str) -> Result<Paths> {
    Ok(Paths {
        small: format!("/feeds/{small}"),
        small_tag: etag(&format!("{base}/feeds/{small}")).await?,
        rss_tag: etag(&format!("{base}/feeds/rss.xml")).await?,
        atom_tag: etag(&format!("{base}/feeds/atom.xml")).await?,
    })
}

fn main() -> Result<()> {
    let secs = env_number("FEEDLETTER_BENCH_SECONDS", 6)?;
    let articles = env_number("FEEDLETTER_BENCH_ARTICLES", 10_000)? as usize;
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("serving: wrk is not installed (Debian package wrk): nothing measured");
        return Ok(());
    }
    feedletter::telemetry::install_crypto();
    let bin = env!("CARGO_BIN_EXE_feedletter");
    let dir = tempfile::tempdir()?;
    let content = dir.path().join("content");
    let written = corpus::write_articles(&content, articles, 7)?;
    // A tag on a few articles, for a small topic feed beside the big ones.
    for a in written.articles.iter().take(SMALL_FEED_ARTICLES) {
        let text = std::fs::read_to_string(&a.path)?;
        std::fs::write(
            &a.path,
            text.replacen("\ntags: [", "\ntags: [clinic notes, ", 1),
        )?;
    }
    let port = free_port()?;
    let config = write_config(dir.path(), &content, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let started = Instant::now();
    let daemon = Process(
        Command::new(bin)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting feedletter run")?,
    );
    let pid = daemon.0.id();
    rt.block_on(wait_until_served(&base, Duration::from_secs(300)))?;
    let feeds = dir.path().join("feeds");
    let size = |name: &str| std::fs::metadata(feeds.join(name)).map_or(0, |m| m.len());
    let small = small_feed(&feeds, SMALL_FEED_BYTES)?;
    let ours_paths = rt.block_on(paths(&base, &small))?;
    // The landing page as a static file, for nginx.
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www)?;
    let landing = rt.block_on(async { reqwest::get(format!("{base}/")).await?.bytes().await })?;
    std::fs::write(www.join("index.html"), &landing)?;
    println!(
        "{articles} articles, ready in {:.1} s; small feed {small} {:.1} KB, rss.xml {:.1} KB, atom.xml {:.1} KB, landing page {:.1} KB",
        started.elapsed().as_secs_f64(),
        size(&small) as f64 / 1000.0,
        size("rss.xml") as f64 / 1000.0,
        size("atom.xml") as f64 / 1000.0,
        landing.len() as f64 / 1000.0,
    );
    println!(
        "wrk -t{THREADS} -c{CONNECTIONS} -d{secs}s over loopback; the same 2 cores serve and load"
    );

    let rest = memory(pid, "VmRSS:").unwrap_or(0);
    let (anon, file) = (
        memory(pid, "RssAnon:").unwrap_or(0),
        memory(pid, "RssFile:").unwrap_or(0),
    );
    let watch = MemoryWatch::start(pid);
    let mut ours = Vec::new();
    for row in rows(&ours_paths) {
        // One request first: the row measures what it says.
        let status = rt.block_on(async {
            let mut r = reqwest::Client::new().get(format!("{base}{}", row.path));
            for h in &row.headers {
                let (k, v) = h.split_once(": ").unwrap_or((h, ""));
                r = r.header(k, v);
            }
            r.send().await.map(|r| r.status().as_u16())
        })?;
        if status != row.expect {
            bail!(
                "{}: feedletter answered {status}, not {}",
                row.label,
                row.expect
            );
        }
        ours.push(wrk(&format!("{base}{}", row.path), &row.headers, secs)?);
    }
    let peak = watch.peak();
    drop(daemon);

    let theirs: Option<Vec<Figures>> = match ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    {
        None => {
            println!("nginx is not installed (Debian package nginx-light): no comparison");
            None
        }
        Some(nginx) => {
            let port = free_port()?;
            let conf = nginx_conf(dir.path(), port, &www, &feeds)?;
            let _nginx = Process(
                Command::new(nginx)
                    .arg("-c")
                    .arg(&conf)
                    .arg("-p")
                    .arg(dir.path().join("nginx"))
                    .stderr(Stdio::null())
                    .spawn()?,
            );
            let base = format!("http://127.0.0.1:{port}");
            rt.block_on(wait_until_served(&base, Duration::from_secs(10)))?;
            let theirs_paths = rt.block_on(paths(&base, &small))?;
            let mut figures = Vec::new();
            for row in rows(&theirs_paths) {
                figures.push(wrk(&format!("{base}{}", row.path), &row.headers, secs)?);
            }
            Some(figures)
        }
    };

    println!(
        "\n| request | feedletter req/s | p50 | p99 | nginx req/s | p50 | p99 | ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, row) in rows(&ours_paths).iter().enumerate() {
        let f = ours[i];
        let (n, ratio, verdict) = match &theirs {
            Some(t) => {
                let r = f.per_second / t[i].per_second;
                let met = if r >= row.target { "met" } else { "missed" };
                (
                    format!(
                        "{:.0} | {:.2} ms | {:.2} ms",
                        t[i].per_second, t[i].p50_ms, t[i].p99_ms
                    ),
                    format!("{r:.2}x"),
                    format!("{:.1}x: {met}", row.target),
                )
            }
            None => (
                "- | - | -".into(),
                "-".into(),
                format!("{:.1}x", row.target),
            ),
        };
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {n} | {ratio} | {verdict} |",
            row.label, f.per_second, f.p50_ms, f.p99_ms
        );
        if f.errors > 0 {
            println!(
                "  ({}: {} answers were not 2xx or 3xx)",
                row.label, f.errors
            );
        }
    }
    println!(
        "\nfeedletter resident memory: {:.0} MB at rest ({:.0} MB heap and stacks, {:.0} MB mapped files), {:.0} MB at the peak of the load (target under 300 MB)",
        rest as f64 / 1e6,
        anon as f64 / 1e6,
        file as f64 / 1e6,
        peak as f64 / 1e6
    );
    Ok(())
}
