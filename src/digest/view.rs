//! What the digest templates see: plain serializable structs built from a
//! run's material and one composition. Their field names are the names the
//! templates use.

use super::compose::{Material, Section};
use crate::store::DigestArticle;
use crate::topics::report::{CandidateView, TrendingTopic};
use crate::topics::trending::Status;
use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

/// One section of the digest: a trending topic, or a topic under "also
/// new".
#[derive(Serialize)]
pub(super) struct SectionView {
    id: String,
    pub label: String,
    status: &'static str,
    status_label: &'static str,
    count: u32,
    feed_url: String,
    articles: Vec<SectionArticle>,
    /// What only a trending section shows, as fields of the section itself.
    #[serde(flatten)]
    trending: TrendingFields,
}

/// An article as a digest section lists it.
#[derive(Serialize)]
struct SectionArticle {
    title: String,
    url: String,
    summary: String,
    /// The summary wrapped for the text part, continuation lines indented
    /// to line up under the first.
    summary_text: String,
    author: String,
    reviewed_by: String,
    image: String,
    image_alt: String,
    date_label: String,
    updated: bool,
    #[serde(rename = "ref")]
    number: usize,
}

/// One week of a topic's bar chart: a table cell of `height` pixels.
#[derive(Serialize)]
struct Bar {
    count: u32,
    height: u32,
    /// This window's bar, drawn darker.
    current: bool,
}

/// Height of the tallest bar, in pixels.
const BAR_MAX: u32 = 36;

fn bars(weekly: &[u32]) -> Vec<Bar> {
    let max = weekly.iter().copied().max().unwrap_or(0).max(1);
    weekly
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            count: *c,
            // An empty week still shows as a hairline, so the axis reads.
            height: if *c == 0 {
                2
            } else {
                (c * BAR_MAX / max).max(4)
            },
            current: i + 1 == weekly.len(),
        })
        .collect()
}

/// An emerging phrase as the editors' preview shows it.
#[derive(Serialize)]
pub(super) struct RadarView {
    phrase: String,
    count: u32,
    baseline_count: u32,
    articles: Vec<RadarArticle>,
}

#[derive(Serialize)]
struct RadarArticle {
    title: String,
    url: String,
}

impl From<&CandidateView> for RadarView {
    fn from(c: &CandidateView) -> Self {
        Self {
            phrase: c.phrase.clone(),
            count: c.count,
            baseline_count: c.baseline_count,
            articles: c
                .articles
                .iter()
                .map(|a| RadarArticle {
                    title: a.title.clone(),
                    url: a.url.clone(),
                })
                .collect(),
        }
    }
}

/// A numbered link at the end of the text part.
#[derive(Serialize)]
pub(super) struct LinkView {
    #[serde(rename = "ref")]
    number: usize,
    url: String,
}

/// Words of `text` in lines of at most `width` characters (a longer word
/// gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// "18 Nov 2026" in the site's time zone.
fn day_label<Z: TimeZone>(t: DateTime<Z>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// Builds a digest's sections in the order they appear, numbering their
/// articles for the text part's links.
pub(super) struct Sections<'a> {
    material: &'a Material,
    /// The site's base URL, for topic feed links.
    base_url: &'a str,
    /// The site's time zone, for dates.
    timezone: Tz,
    /// Every article link so far, numbered from 1.
    pub links: Vec<LinkView>,
}

impl<'a> Sections<'a> {
    pub fn new(material: &'a Material, base_url: &'a str, timezone: Tz) -> Self {
        Self {
            material,
            base_url,
            timezone,
            links: Vec::new(),
        }
    }

    pub fn section(&mut self, s: &Section) -> SectionView {
        let material = self.material;
        let entry = s.rank.map(|r| &material.trending[r]);
        let (status, status_label, count) = match entry {
            Some(t) => match t.status {
                Status::New => ("new", "New", t.count),
                Status::Rising => ("rising", "Rising", t.count),
                Status::Covered => ("covered", "Most covered", t.count),
            },
            None => ("also", "Also new", 0),
        };
        let articles = s
            .articles
            .iter()
            .map(|(i, updated)| self.article(&material.articles[*i], *updated))
            .collect();
        let trending = entry.map(|t| self.trending_fields(t)).unwrap_or_default();
        SectionView {
            id: s.topic.clone(),
            label: material.label(&s.topic).to_owned(),
            status,
            status_label,
            count,
            feed_url: format!("{}/feeds/topics/{}/atom.xml", self.base_url, s.topic),
            articles,
            trending,
        }
    }

    fn article(&mut self, a: &DigestArticle, updated: bool) -> SectionArticle {
        let number = self.links.len() + 1;
        self.links.push(LinkView {
            number,
            url: a.url.clone(),
        });
        let shown = if updated { a.updated } else { a.published };
        SectionArticle {
            title: a.title.clone(),
            url: a.url.clone(),
            summary: a.summary.clone(),
            summary_text: wrap(&a.summary, 66).join("\n     "),
            author: a.author.clone(),
            reviewed_by: a.reviewed_by.clone().unwrap_or_default(),
            image: a.image.clone().unwrap_or_default(),
            // The article's own text alternative; without one the picture
            // is decorative (the headline under it says what it is about).
            image_alt: a.image_alt.clone().unwrap_or_default(),
            date_label: day_label(shown, self.timezone),
            updated,
            number,
        }
    }

    fn trending_fields(&self, t: &TrendingTopic) -> TrendingFields {
        TrendingFields {
            why: t.why.clone(),
            includes: t.includes_text(),
            related: t.related_text(),
            first_seen: DateTime::parse_from_rfc3339(&t.first_seen)
                .map(|d| day_label(d, self.timezone))
                .unwrap_or_default(),
            bars: bars(&t.weekly),
            weekly_text: t
                .weekly
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// What only a trending section shows; empty for "also new".
#[derive(Default, Serialize)]
struct TrendingFields {
    /// Why it trends, in a sentence.
    why: String,
    /// The narrower concepts it includes: "Exosome facials (2), Plant
    /// exosomes (1)".
    includes: String,
    /// Echoes folded into it: "Microneedling".
    related: String,
    /// "18 Nov 2026": the first article ever about it.
    first_seen: String,
    /// The weekly counts as bars of a table chart, oldest first.
    bars: Vec<Bar>,
    /// The same counts for the text part: "0 0 1 2 6".
    weekly_text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_short_and_words_whole() {
        let lines = wrap(
            "Rose, ginseng and centella exosomes are the newest selling point in bottled skincare.",
            30,
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "Rose, ginseng and centella exosomes are the newest selling point in bottled skincare."
        );
        assert_eq!(wrap("", 10), Vec::<String>::new());
    }
}
