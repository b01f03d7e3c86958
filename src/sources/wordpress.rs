//! A WordPress site through its REST API v2: pages of posts with `_embed`
//! (author, terms, featured image), ordered by modification so that a pass
//! cut short resumes where it stopped; later passes ask only for what
//! changed (`modified_after`); a listing of ids (`_fields=id`) finds posts
//! that were trashed or made private.

use super::Pass;
use super::http::{FetchError, Fetched, Fetcher};
use super::item::{ItemError, RemoteItem, decode_entities, html_to_text, http_url};
use crate::config::SourceConfig;
use crate::store::SourceState;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use url::Url;

/// Posts a page: the most the API gives.
pub const PER_PAGE: usize = 100;

/// How far before the last modification seen a later pass asks from.
/// Some WordPress versions compare `modified_after` with the post's local
/// modification time rather than its GMT one; a day covers any offset, and
/// what comes back unchanged is counted as such.
pub const OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// Reads what changed since `state`'s cursor (everything, the first time),
/// and lists every id when `list_ids`. `one_page` stops after the first
/// page (`sources test`).
pub(super) async fn pass(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: &SourceState,
    list_ids: bool,
    one_page: bool,
) -> Pass {
    let mut pass = Pass::default();
    let since = state
        .cursor
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.to_utc() - OVERLAP);
    let mut newest: Option<DateTime<Utc>> = None;
    let mut complete = true;
    for ty in &source.types {
        let endpoint = match source.url.join(ty) {
            Ok(u) => u,
            Err(e) => {
                pass.fail(source.url.as_str(), &format!("post type '{ty}': {e}"), None);
                complete = false;
                break;
            }
        };
        let mut page = 1usize;
        loop {
            let url = page_url(&endpoint, page, since);
            let fetched = match get_json(fetcher, &url).await {
                Ok(f) => f,
                Err((e, retry)) => {
                    pass.fail(url.as_str(), &e, retry);
                    complete = false;
                    break;
                }
            };
            let (posts, pages) = fetched;
            for post in posts {
                match read_post(&post, &url) {
                    Ok((item, modified)) => {
                        newest = newest.max(Some(modified));
                        pass.items.push(item);
                    }
                    Err(e) => pass.item_errors.push(e),
                }
            }
            if one_page || page >= pages {
                break;
            }
            page += 1;
        }
        if !complete || one_page {
            break;
        }
    }
    // Posts come oldest change first: after a failure, the next pass goes
    // on from the newest change read (with one type; with several, the
    // types not read yet would be skipped, so it starts over).
    let old = state.cursor.clone();
    pass.cursor = match newest {
        _ if one_page => old,
        Some(n) if complete || source.types.len() == 1 => {
            let old_t = old
                .as_deref()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                .map(|c| c.to_utc());
            Some(n.max(old_t.unwrap_or(n)).to_rfc3339())
        }
        _ => old,
    };
    if list_ids && !pass.failed {
        pass.live_ids = list(fetcher, source, &mut pass).await;
    }
    pass
}

/// One page of changes: oldest change first.
fn page_url(endpoint: &Url, page: usize, since: Option<DateTime<Utc>>) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string())
            .append_pair("_embed", "1")
            .append_pair("orderby", "modified")
            .append_pair("order", "asc");
        if let Some(s) = since {
            q.append_pair(
                "modified_after",
                &s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
    }
    url
}

/// Every live id of every type, or None when a page failed (then nothing
/// is withdrawn).
async fn list(
    fetcher: &Fetcher,
    source: &SourceConfig,
    pass: &mut Pass,
) -> Option<HashSet<String>> {
    let mut ids = HashSet::new();
    for ty in &source.types {
        let endpoint = source.url.join(ty).ok()?;
        let mut page = 1usize;
        loop {
            let mut url = endpoint.clone();
            url.query_pairs_mut()
                .append_pair("_fields", "id")
                .append_pair("per_page", &PER_PAGE.to_string())
                .append_pair("page", &page.to_string())
                .append_pair("orderby", "id")
                .append_pair("order", "asc");
            let (posts, pages) = match get_json(fetcher, &url).await {
                Ok(f) => f,
                Err((e, retry)) => {
                    pass.fail(url.as_str(), &format!("listing ids: {e}"), retry);
                    return None;
                }
            };
            for p in posts {
                match p.get("id").and_then(Value::as_u64) {
                    Some(id) => {
                        ids.insert(id.to_string());
                    }
                    None => {
                        pass.fail(
                            url.as_str(),
                            "listing ids: an entry without a numeric id; nothing withdrawn",
                            None,
                        );
                        return None;
                    }
                }
            }
            if page >= pages {
                break;
            }
            page += 1;
        }
    }
    Some(ids)
}

/// A page of the API: its JSON array and `X-WP-TotalPages` (1 when
/// absent and the page is not full).
async fn get_json(
    fetcher: &Fetcher,
    url: &Url,
) -> Result<(Vec<Value>, usize), (String, Option<std::time::Duration>)> {
    let fetched = fetcher
        .get(url, &[("accept", "application/json")])
        .await
        .map_err(
            |FetchError {
                 message,
                 retry_after,
             }| (message, retry_after),
        )?;
    let posts = json_array(&fetched).map_err(|e| (e, None))?;
    let pages = fetched
        .header("x-wp-totalpages")
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(if posts.len() >= PER_PAGE {
            usize::MAX
        } else {
            1
        });
    Ok((posts, pages))
}

/// The body as a JSON array, or why it is not one.
fn json_array(f: &Fetched) -> Result<Vec<Value>, String> {
    let media = f.media_type();
    let start = f.body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    // By the bytes: a JSON answer mislabelled text/html still reads.
    if start == Some(b'<') {
        return Err(format!(
            "expected JSON from the WordPress API, got {} (is the url the API root, \
             such as https://example.com/wp-json/wp/v2/?)",
            if media.is_empty() {
                "HTML"
            } else {
                media.as_str()
            }
        ));
    }
    match serde_json::from_slice::<Value>(&f.body) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err("expected a JSON array of posts".into()),
        Err(e) if e.is_eof() => Err(format!(
            "the JSON ends early, after {} bytes (a truncated response)",
            f.body.len()
        )),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// A time as the API writes `date_gmt`: no offset, UTC.
fn gmt(field: &str, post: &Value) -> Result<Option<DateTime<Utc>>, String> {
    let Some(text) = post.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let t = text.trim();
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .map(|n| n.and_utc())
        .or_else(|_| DateTime::parse_from_rfc3339(t).map(|d| d.to_utc()))
        .map(Some)
        .map_err(|_| format!("{field}: '{text}' is not a date"))
}

fn rendered(post: &Value, field: &str) -> String {
    post.get(field)
        .and_then(|f| f.get("rendered").or(Some(f)))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// One post, and when it was last modified.
fn read_post(post: &Value, page: &Url) -> Result<(RemoteItem, DateTime<Utc>), ItemError> {
    let Some(id) = post.get("id").and_then(Value::as_u64) else {
        return Err(ItemError {
            url: Some(page.to_string()),
            error: "an item without a numeric id".into(),
        });
    };
    let link = post.get("link").and_then(Value::as_str);
    let fail = |error: String| ItemError {
        url: Some(link.map_or_else(|| page.to_string(), str::to_owned)),
        error: format!("post {id}: {error}"),
    };
    let url = http_url(link.ok_or_else(|| fail("link: missing".into()))?, None)
        .map_err(|e| fail(format!("link: {e}")))?;
    let title = html_to_text(&rendered(post, "title"));
    if title.is_empty() {
        return Err(fail("title: empty".into()));
    }
    let published = gmt("date_gmt", post)
        .map_err(&fail)?
        .ok_or_else(|| fail("date_gmt: missing".into()))?;
    let modified = gmt("modified_gmt", post).map_err(&fail)?;
    let mut summary = html_to_text(&rendered(post, "excerpt"));
    for tail in ["[…]", "[...]", "…", "Continue reading"] {
        summary = summary
            .trim_end()
            .trim_end_matches(tail)
            .trim_end()
            .to_owned();
    }
    let embedded = post.get("_embedded");
    let author = embedded
        .and_then(|e| e.get("author"))
        .and_then(|a| a.get(0))
        .and_then(|a| a.get("name"))
        .and_then(Value::as_str)
        .map(html_to_text);
    let (category, tags) = terms(embedded);
    let media = embedded
        .and_then(|e| e.get("wp:featuredmedia"))
        .and_then(|m| m.get(0));
    let image = media
        .and_then(|m| m.get("source_url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // What the editor typed in the media library's "Alternative Text":
    // plain text, where a `<` is a character, not a tag.
    let image_alt = media
        .and_then(|m| m.get("alt_text"))
        .and_then(Value::as_str)
        .map(decode_entities);
    let item = RemoteItem {
        id: id.to_string(),
        slug: post.get("slug").and_then(Value::as_str).map(str::to_owned),
        title,
        content_html: rendered(post, "content"),
        summary,
        author,
        tags,
        category,
        image,
        image_alt,
        url,
        published,
        updated: modified,
        dated_by_update: false,
    };
    Ok((item, modified.unwrap_or(published)))
}

/// The first category (WordPress's default "Uncategorized" aside), and the
/// names of every category and tag.
fn terms(embedded: Option<&Value>) -> (Option<String>, Vec<String>) {
    let mut category = None;
    let mut tags = Vec::new();
    let groups = embedded
        .and_then(|e| e.get("wp:term"))
        .and_then(Value::as_array);
    for term in groups
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        let taxonomy = term.get("taxonomy").and_then(Value::as_str).unwrap_or("");
        let slug = term.get("slug").and_then(Value::as_str).unwrap_or("");
        let Some(name) = term.get("name").and_then(Value::as_str).map(html_to_text) else {
            continue;
        };
        if name.is_empty() || slug == "uncategorized" {
            continue;
        }
        match taxonomy {
            "category" => {
                category.get_or_insert_with(|| name.clone());
                tags.push(name);
            }
            "post_tag" => tags.push(name),
            _ => {}
        }
    }
    (category, tags)
}
