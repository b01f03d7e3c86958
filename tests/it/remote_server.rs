//! A stand-in for the places sources read, on loopback: a WordPress REST
//! API v2 (`/wp-json/wp/v2/posts`, paged, `_embed`, `modified_after`,
//! `_fields=id`) written from the API's documented shapes, and feed
//! documents with ETags. Every request is recorded; faults (a status, a
//! Retry-After, an HTML page, a body cut short, a stall) can be queued for
//! the next requests. Redirects: to a URL set per name (`/go/{name}`), and
//! an endless chain on the same host (`/loop/{n}`).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// A post as the server keeps it.
#[derive(Debug, Clone)]
pub struct Post {
    pub id: u64,
    pub slug: String,
    /// As `title.rendered`: HTML with entities.
    pub title: String,
    pub content: String,
    pub date: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub author: String,
    pub categories: Vec<&'static str>,
    pub tags: Vec<&'static str>,
    pub image: Option<(String, String)>,
    /// Its post type's REST base.
    pub kind: &'static str,
}

impl Post {
    pub fn new(id: u64, slug: &str, title: &str, date: &str) -> Self {
        let date = DateTime::parse_from_rfc3339(date).unwrap().to_utc();
        Self {
            id,
            slug: slug.into(),
            title: title.into(),
            content: format!("<p>Notes on {slug}, post {id}.</p>"),
            date,
            modified: date,
            author: "Meera Iyer".into(),
            categories: vec!["Skincare"],
            tags: vec!["retinol"],
            image: None,
            kind: "posts",
        }
    }
}

/// What the next request gets instead of its answer.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
    /// An HTML page, 200.
    Html,
    /// A 200 whose body stops halfway, the connection closed.
    Truncated,
    /// No answer at all for this long (then a 500): a server that hangs.
    Stall(std::time::Duration),
    /// A 200 whose body starts, then stops coming for this long.
    SlowBody(std::time::Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Inner {
    posts: BTreeMap<u64, Post>,
    feeds: HashMap<String, (String, &'static str)>,
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
    /// `/go/{name}` answers 301 to this URL.
    redirects: HashMap<String, String>,
}

#[derive(Clone, Default)]
pub struct Remote {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

const WP: &str = "/wp-json/wp/v2/";

impl Remote {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let remote = Remote {
            base: format!("http://{addr}"),
            ..Remote::default()
        };
        let app = axum::Router::new()
            .route("/wp-json/wp/v2/{kind}", axum::routing::get(wp_posts))
            .route("/feeds/{name}", axum::routing::get(feed))
            .route("/moved/{name}", axum::routing::get(moved))
            .route("/go/{name}", axum::routing::get(go))
            .route("/loop/{n}", axum::routing::get(endless))
            .with_state(remote.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        remote
    }

    /// The API root a `[[source]]` names.
    pub fn wp_url(&self) -> String {
        format!("{}{WP}", self.base)
    }

    pub fn feed_url(&self, name: &str) -> String {
        format!("{}/feeds/{name}", self.base)
    }

    pub fn put(&self, post: Post) {
        self.inner.lock().unwrap().posts.insert(post.id, post);
    }

    /// Edits a post, as saving it in WordPress does: `modified` moves.
    pub fn edit(&self, id: u64, modified: &str, f: impl FnOnce(&mut Post)) {
        let mut inner = self.inner.lock().unwrap();
        let post = inner.posts.get_mut(&id).unwrap();
        f(post);
        post.modified = DateTime::parse_from_rfc3339(modified).unwrap().to_utc();
    }

    /// Trashes a post: the public API no longer lists it.
    pub fn trash(&self, id: u64) {
        self.inner.lock().unwrap().posts.remove(&id);
    }

    /// Serves `body` at `/feeds/<name>` with media type `media`.
    pub fn set_feed(&self, name: &str, body: &str, media: &'static str) {
        self.inner
            .lock()
            .unwrap()
            .feeds
            .insert(name.into(), (body.into(), media));
    }

    /// Makes `/go/{name}` answer `301 Location: to`.
    pub fn redirect(&self, name: &str, to: &str) {
        self.inner
            .lock()
            .unwrap()
            .redirects
            .insert(name.into(), to.into());
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn fail_next(&self, fault: Fault) {
        self.inner.lock().unwrap().faults.push_back(fault);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    pub fn forget_requests(&self) {
        self.inner.lock().unwrap().seen.clear();
    }
}

fn parse_query(q: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The queued fault, answered, if any.
async fn faulted(fault: Fault) -> Response {
    let builder = Response::builder();
    match fault {
        Fault::Stall(how_long) => {
            tokio::time::sleep(how_long).await;
            builder.status(500).body(Body::empty()).unwrap()
        }
        Fault::SlowBody(how_long) => {
            let chunks = futures_util::stream::unfold(0u8, move |step| async move {
                match step {
                    0 => Some((Ok::<_, std::io::Error>(b"[{\"id\": 1".to_vec()), 1)),
                    1 => {
                        tokio::time::sleep(how_long).await;
                        Some((Ok(b"}]".to_vec()), 2))
                    }
                    _ => None,
                }
            });
            builder
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(chunks))
                .unwrap()
        }
        Fault::Status(code) => builder
            .status(code)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"code":"internal_server_error"}"#))
            .unwrap(),
        Fault::TooMany(secs) => builder
            .status(429)
            .header(header::RETRY_AFTER, secs.to_string())
            .body(Body::from("slow down"))
            .unwrap(),
        Fault::Html => builder
            .status(200)
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .body(Body::from(
                "<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>",
            ))
            .unwrap(),
        Fault::Truncated => {
            // Half a page, a pause so that it goes out, then the
            // connection breaks.
            let chunks = futures_util::stream::unfold(0u8, |step| async move {
                match step {
                    0 => Some((Ok(br#"[{"id": 1, "title": {"rendered": "Half"#.to_vec()), 1)),
                    1 => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        Some((Err(std::io::Error::other("connection reset")), 2))
                    }
                    _ => None,
                }
            });
            builder
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(chunks))
                .unwrap()
        }
    }
}

/// Records the request and takes the next fault.
fn arrive(
    remote: &Remote,
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
) -> Option<Fault> {
    let mut inner = remote.inner.lock().unwrap();
    inner.seen.push(Seen {
        path,
        query,
        headers,
    });
    inner.faults.pop_front()
}

fn gmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A post in the API's shape, with `_embedded` as `_embed` asks.
fn post_json(base: &str, p: &Post) -> Value {
    let link = format!("https://cms.example/{}/{}/", p.date.format("%Y/%m"), p.slug);
    let terms = |tax: &str, names: &[&str], first: u64| -> Vec<Value> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                json!({"id": first + i as u64, "name": n, "slug": n.to_lowercase().replace(' ', "-"),
                       "taxonomy": tax, "link": format!("https://cms.example/{tax}/{n}/")})
            })
            .collect()
    };
    let mut embedded = json!({
        "author": [{"id": 3, "name": p.author, "slug": "meera"}],
        "wp:term": [terms("category", &p.categories, 10), terms("post_tag", &p.tags, 100)],
    });
    if let Some((src, alt)) = &p.image {
        embedded["wp:featuredmedia"] =
            json!([{"id": 900, "source_url": src, "alt_text": alt, "media_type": "image"}]);
    }
    json!({
        "id": p.id,
        "date": gmt(p.date + chrono::Duration::minutes(330)),
        "date_gmt": gmt(p.date),
        "guid": {"rendered": format!("https://cms.example/?p={}", p.id)},
        "modified": gmt(p.modified + chrono::Duration::minutes(330)),
        "modified_gmt": gmt(p.modified),
        "slug": p.slug,
        "status": "publish",
        "type": "post",
        "link": link,
        "title": {"rendered": p.title},
        "content": {"rendered": p.content, "protected": false},
        "excerpt": {"rendered": format!("<p>About {} [&hellip;]</p>\n", p.slug), "protected": false},
        "author": 3,
        "featured_media": if p.image.is_some() { 900 } else { 0 },
        "categories": [10],
        "tags": [100],
        "_links": {"self": [{"href": format!("{base}{WP}posts/{}", p.id)}]},
        "_embedded": embedded,
    })
}

async fn wp_posts(
    State(remote): State<Remote>,
    Path(kind): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(q);
    if let Some(fault) = arrive(
        &remote,
        format!("/wp-json/wp/v2/{kind}"),
        query.clone(),
        headers,
    ) {
        return faulted(fault).await;
    }
    let per_page: usize = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10);
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let after = query
        .get("modified_after")
        .map(|a| DateTime::parse_from_rfc3339(a).unwrap().to_utc());
    let inner = remote.inner.lock().unwrap();
    let mut posts: Vec<&Post> = inner
        .posts
        .values()
        .filter(|p| p.kind == kind && after.is_none_or(|a| p.modified > a))
        .collect();
    match query.get("orderby").map(String::as_str) {
        Some("modified") => posts.sort_by_key(|p| (p.modified, p.id)),
        Some("id") => posts.sort_by_key(|p| p.id),
        _ => posts.sort_by_key(|p| std::cmp::Reverse((p.date, p.id))),
    }
    if query.get("order").map(String::as_str) == Some("desc") {
        posts.reverse();
    }
    let total = posts.len();
    let pages = total.div_ceil(per_page).max(1);
    if page > pages {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from(r#"{"code":"rest_post_invalid_page_number"}"#))
            .unwrap();
    }
    let slice = posts.iter().skip((page - 1) * per_page).take(per_page);
    let body: Vec<Value> = if query.get("_fields").map(String::as_str) == Some("id") {
        slice.map(|p| json!({"id": p.id})).collect()
    } else {
        slice.map(|p| post_json(&remote.base, p)).collect()
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
        .header("X-WP-Total", total.to_string())
        .header("X-WP-TotalPages", pages.to_string())
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

/// A feed document, with an ETag made from its bytes and 304 when the
/// client has it.
async fn feed(
    State(remote): State<Remote>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inm = headers.get(header::IF_NONE_MATCH).cloned();
    if let Some(fault) = arrive(&remote, format!("/feeds/{name}"), HashMap::new(), headers) {
        return faulted(fault).await;
    }
    let Some((body, media)) = remote.inner.lock().unwrap().feeds.get(&name).cloned() else {
        return Response::builder().status(404).body(Body::empty()).unwrap();
    };
    let etag = format!("\"{}\"", feedletter_hash(&body));
    if inm.as_ref().and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .body(Body::empty())
            .unwrap();
    }
    Response::builder()
        .header(header::CONTENT_TYPE, HeaderValue::from_static(media))
        .header(header::ETAG, etag)
        .body(Body::from(body))
        .unwrap()
}

fn feedletter_hash(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:x}", h.finish())
}

/// A permanent redirect to the same feed under another host name
/// (`localhost` for `127.0.0.1`).
async fn moved(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let host = headers[header::HOST].to_str().unwrap();
    let to = host.replace("127.0.0.1", "localhost");
    Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, format!("http://{to}/feeds/{name}"))
        .body(Body::empty())
        .unwrap()
}

/// `301` to the URL `Remote::redirect` set for `name`.
async fn go(
    State(remote): State<Remote>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    arrive(&remote, format!("/go/{name}"), HashMap::new(), headers);
    let to = remote.inner.lock().unwrap().redirects.get(&name).cloned();
    match to {
        Some(to) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, to)
            .body(Body::empty())
            .unwrap(),
        None => Response::builder().status(404).body(Body::empty()).unwrap(),
    }
}

/// A redirect chain that never ends: `/loop/{n}` to `/loop/{n + 1}`.
async fn endless(State(remote): State<Remote>, Path(n): Path<u32>, headers: HeaderMap) -> Response {
    arrive(&remote, format!("/loop/{n}"), HashMap::new(), headers);
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, format!("/loop/{}", n + 1))
        .body(Body::empty())
        .unwrap()
}
