//! Feed serving: requests per second for `/feeds/atom.xml`, as
//! plain GETs and as conditional GETs answered 304, from the daemon and,
//! when nginx is installed, from nginx serving the same folder.
//!
//!     cargo bench --bench serving
//!     FEEDLETTER_BENCH_SECONDS=2 cargo bench --bench serving   # quick
//!
//! The load generator is in this process: 32 keep-alive connections over
//! loopback (reqwest), each sending its next request when the last answer
//! is read, for a fixed time per scenario. Generator and server share the
//! machine's 2 cores, the same for both servers.

use anyhow::{Context as _, Result};
use feedletter::{Config, FixedClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;

fn seconds() -> Result<u64> {
    match std::env::var("FEEDLETTER_BENCH_SECONDS") {
        Ok(v) => v.trim().parse().context("FEEDLETTER_BENCH_SECONDS"),
        Err(_) => Ok(8),
    }
}

struct Figures {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Hammers `url` for `secs`; `etag` makes every request conditional.
async fn load(url: &str, etag: Option<&str>, secs: u64, expect: u16) -> Result<Figures> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, stop, count) = (client.clone(), stop.clone(), count.clone());
        let url = url.to_owned();
        let etag = etag.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let mut request = client.get(&url).header("accept-encoding", "identity");
                if let Some(tag) = &etag {
                    request = request.header("if-none-match", tag);
                }
                let response = request.send().await?;
                let status = response.status().as_u16();
                let _ = response.bytes().await?;
                anyhow::ensure!(status == expect, "{url}: {status}, expected {expect}");
                latencies.push(started.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let requests = count.load(Ordering::Relaxed);
    Ok(Figures {
        requests,
        per_second: requests as f64 / elapsed,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}

/// The ETag of `url` once it answers 200 (waiting up to 10 s).
async fn first_etag(url: &str) -> Option<String> {
    let probe = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = probe.get(url).send().await
            && r.status() == 200
        {
            return r
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// The plain row and the 304 row for one server.
async fn both_rows(server: &str, url: &str, etag: &str, secs: u64) -> Result<()> {
    print(
        server,
        "200 (full body)",
        &load(url, None, secs, 200).await?,
    );
    print(
        server,
        "304 (If-None-Match)",
        &load(url, Some(etag), secs, 304).await?,
    );
    Ok(())
}

fn print(server: &str, what: &str, f: &Figures) {
    println!(
        "  {server:<10} {what:<16} {:>8.0} requests/s  ({} requests; p50 {:.2} ms, p99 {:.2} ms)",
        f.per_second, f.requests, f.p50_ms, f.p99_ms
    );
}

fn config(dir: &std::path::Path) -> Result<Config> {
    let content = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let text = format!(
        "[site]\ntitle = \"The Dewline\"\nbase_url = \"https://dewline.example\"\ntimezone = \"Asia/Kolkata\"\n\
         [store]\nurl = \"sqlite://{}\"\n[content]\ndir = \"{}\"\n[feeds]\ndir = \"{}\"\n\
         [http]\nbind = \"127.0.0.1:0\"\n[schedule]\ningest = \"0 0 1 1 *\"\n",
        dir.join("bench.db").display(),
        content.display(),
        dir.join("feeds").display(),
    );
    let path = dir.join("feedletter.toml");
    std::fs::write(&path, text)?;
    Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// nginx on a free port serving `feeds`, as a child process; None when
/// nginx is not installed.
fn start_nginx(
    dir: &std::path::Path,
    feeds: &std::path::Path,
) -> Result<Option<(std::process::Child, u16)>> {
    let Some(nginx) = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        return Ok(None);
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = dir.join("nginx.conf");
    std::fs::create_dir_all(dir.join("nginx"))?;
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\ndaemon off;\npid {pid};\nerror_log {err} warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  types {{ application/atom+xml xml; }}\n\
               client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n\
               uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n\
               server {{ listen 127.0.0.1:{port}; location /feeds/ {{ alias {feeds}/; etag on; }} }}\n}}\n",
            pid = dir.join("nginx/nginx.pid").display(),
            err = dir.join("nginx/error.log").display(),
            tmp = dir.join("nginx").display(),
            feeds = feeds.display(),
        ),
    )?;
    let child = std::process::Command::new(nginx)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("nginx"))
        .stderr(std::process::Stdio::null())
        .spawn()?;
    Ok(Some((child, port)))
}

fn main() -> Result<()> {
    let secs = seconds()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let config = config(dir.path())?;
        let feeds = config.feeds.dir.clone();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00+05:30")?.to_utc();
        let app = feedletter::App::build(config, Arc::new(FixedClock::new(now))).await?;
        let port = app.port();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stop_rx.await;
        }));
        let base = format!("http://127.0.0.1:{port}");
        let url = format!("{base}/feeds/atom.xml");
        let etag = first_etag(&url)
            .await
            .context("the daemon never served atom.xml")?;
        let size = std::fs::metadata(feeds.join("atom.xml"))?.len();
        println!(
            "GET /feeds/atom.xml ({:.1} KB), {CONNECTIONS} connections, {secs} s per row:",
            size as f64 / 1000.0
        );
        both_rows("feedletter", &url, &etag, secs).await?;
        let _ = stop_tx.send(());
        let _ = server.await;

        match start_nginx(dir.path(), &feeds)? {
            None => println!("  nginx      not installed: no comparison"),
            Some((mut child, port)) => {
                let url = format!("http://127.0.0.1:{port}/feeds/atom.xml");
                let result = async {
                    let tag = first_etag(&url).await.context("nginx did not answer")?;
                    both_rows("nginx", &url, &tag, secs).await
                }
                .await;
                // SIGTERM to the master stops its worker too (SIGKILL would
                // leave the worker running).
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let _ = child.wait();
                result?;
            }
        }
        Ok(())
    })
}
