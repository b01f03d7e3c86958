//! Turning a composition into subject, HTML and text: Tera, then CSS
//! inlining for the HTML. Rendering happens once per distinct composition;
//! the links that differ per subscriber are placeholders filled in by
//! `Rendered::personalise`, a plain string replacement.

use super::compose::{Composition, Material, Section};
use crate::config::{Config, DigestConfig, Frequency};
use crate::topics::trending::Status;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Stands in for a subscriber's link token: 64 characters like a real one,
/// and nothing Tera or the CSS inliner would escape or change.
pub const TOKEN_PLACEHOLDER: &str =
    "ffffeeeeddddccccbbbbaaaa99998888ffffeeeeddddccccbbbbaaaa9999zzzz";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    #[error("digest '{schedule}': subject template '{subject}': {message}")]
    Subject {
        schedule: String,
        subject: String,
        message: String,
    },
    #[error("inlining the CSS of email/digest.html: {0}")]
    Css(String),
}

/// A rendered digest, the same for every subscriber with this composition.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl Rendered {
    /// The HTML and text with one subscriber's token in the links.
    pub fn personalise(&self, token: &str) -> (String, String) {
        (
            self.html.replace(TOKEN_PLACEHOLDER, token),
            self.text.replace(TOKEN_PLACEHOLDER, token),
        )
    }
}

#[derive(Serialize)]
struct ArticleView {
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

#[derive(Serialize)]
struct TopicView {
    id: String,
    label: String,
    status: &'static str,
    status_label: &'static str,
    count: u32,
    feed_url: String,
    articles: Vec<ArticleView>,
    /// Why it trends, in a sentence ("" for "also new" sections).
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
struct RadarView {
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

#[derive(Serialize)]
struct LinkView {
    #[serde(rename = "ref")]
    number: usize,
    url: String,
}

/// Where the digest is read: in a subscriber's mailbox (personal links as
/// placeholders) or as the public browser copy (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Subscriber,
    /// `digest preview`, for editors: as a subscriber sees it, plus the
    /// emerging candidates ("On our radar") when the config shows them.
    Preview,
    Web,
}

pub struct Renderer<'a> {
    pub config: &'a Config,
    pub schedule: &'a DigestConfig,
    pub tera: &'a tera::Tera,
    pub fire: DateTime<Utc>,
    pub run_id: i64,
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

fn period_label(f: Frequency) -> &'static str {
    match f {
        Frequency::Daily => "today",
        Frequency::Weekly => "this week",
    }
}

impl Renderer<'_> {
    pub fn web_url(&self) -> String {
        format!("{}/digests/{}", self.config.site.base(), self.run_id)
    }

    pub fn render(
        &self,
        material: &Material,
        c: &Composition,
        audience: Audience,
    ) -> Result<Rendered, RenderError> {
        let site_tz = self.config.site.timezone;
        let mut number = 0usize;
        let mut links = Vec::new();
        let mut section = |s: &Section| {
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
                .map(|(i, updated)| {
                    let a = &material.articles[*i];
                    number += 1;
                    links.push(LinkView {
                        number,
                        url: a.url.clone(),
                    });
                    let shown = if *updated { a.updated } else { a.published };
                    ArticleView {
                        title: a.title.clone(),
                        url: a.url.clone(),
                        summary: a.summary.clone(),
                        summary_text: wrap(&a.summary, 66).join("\n     "),
                        author: a.author.clone(),
                        reviewed_by: a.reviewed_by.clone().unwrap_or_default(),
                        image: a.image.clone().unwrap_or_default(),
                        // Articles carry no caption of their own; the title
                        // says what the picture illustrates.
                        image_alt: format!("Illustration for \u{201c}{}\u{201d}", a.title),
                        date_label: shown
                            .with_timezone(&site_tz)
                            .format("%-d %b %Y")
                            .to_string(),
                        updated: *updated,
                        number,
                    }
                })
                .collect();
            TopicView {
                id: s.topic.clone(),
                label: material.label(&s.topic).to_owned(),
                status,
                status_label,
                count,
                feed_url: format!(
                    "{}/feeds/topics/{}/atom.xml",
                    self.config.site.base(),
                    s.topic
                ),
                articles,
                why: entry.map(|t| t.why.clone()).unwrap_or_default(),
                includes: entry
                    .map(|t| {
                        t.includes
                            .iter()
                            .map(|i| format!("{} ({})", i.label, i.count))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                related: entry
                    .map(|t| {
                        t.related
                            .iter()
                            .map(|r| r.label.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                first_seen: entry
                    .and_then(|t| DateTime::parse_from_rfc3339(&t.first_seen).ok())
                    .map(|d| d.with_timezone(&site_tz).format("%-d %b %Y").to_string())
                    .unwrap_or_default(),
                bars: entry.map(|t| bars(&t.weekly)).unwrap_or_default(),
                weekly_text: entry
                    .map(|t| {
                        t.weekly
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default(),
            }
        };
        let topics: Vec<TopicView> = c.topics.iter().map(&mut section).collect();
        let also_new: Vec<TopicView> = c.also_new.iter().map(&mut section).collect();
        let top_topic = topics
            .first()
            .or(also_new.first())
            .map_or(String::new(), |t| t.label.clone());
        let date_label = self
            .fire
            .with_timezone(&self.schedule.timezone)
            .format("%A %-d %B %Y")
            .to_string();

        let mut ctx = tera::Context::new();
        ctx.insert("site_title", &self.config.site.title);
        ctx.insert("site_url", &format!("{}/", self.config.site.base()));
        ctx.insert("postal_address", &self.config.mail.postal_address);
        ctx.insert("schedule", &self.schedule.name);
        ctx.insert("frequency", self.schedule.frequency.as_str());
        ctx.insert("period_label", period_label(self.schedule.frequency));
        ctx.insert("date_label", &date_label);
        ctx.insert("top_topic", &top_topic);
        let subject = tera::Tera::one_off(&self.schedule.subject, &ctx, false)
            .map_err(|e| RenderError::Subject {
                schedule: self.schedule.name.clone(),
                subject: self.schedule.subject.clone(),
                message: e.to_string(),
            })?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ctx.insert("subject", &subject);
        ctx.insert("topics", &topics);
        ctx.insert("also_new", &also_new);
        ctx.insert("links", &links);
        ctx.insert("web_url", &self.web_url());
        ctx.insert("web_copy", &(audience == Audience::Web));
        let radar: Vec<RadarView> =
            if audience == Audience::Preview && self.config.topics.show_candidates_in_preview {
                material
                    .candidates
                    .iter()
                    .map(|c| RadarView {
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
                    })
                    .collect()
            } else {
                Vec::new()
            };
        ctx.insert("radar", &radar);
        let (unsubscribe, preferences) = match audience {
            Audience::Subscriber | Audience::Preview => (
                format!(
                    "{}/unsubscribe/{TOKEN_PLACEHOLDER}",
                    self.config.site.base()
                ),
                format!(
                    "{}/preferences/{TOKEN_PLACEHOLDER}",
                    self.config.site.base()
                ),
            ),
            Audience::Web => (String::new(), String::new()),
        };
        ctx.insert("unsubscribe_url", &unsubscribe);
        ctx.insert("preferences_url", &preferences);

        let html = crate::templates::render(self.tera, "email/digest.html", &ctx)?;
        let html = css_inline::CSSInliner::options()
            .keep_style_tags(true)
            .load_remote_stylesheets(false)
            .build()
            .inline(&html)
            .map_err(|e| RenderError::Css(e.to_string()))?;
        let text = crate::templates::render(self.tera, "email/digest.txt", &ctx)?;
        Ok(Rendered {
            subject,
            html,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::compose::Limits;
    use crate::store::DigestArticle;

    fn render(audience: Audience) -> Rendered {
        let config = Config::from_toml_str(
            "[site]\ntitle = \"The Dewline\"\nbase_url = \"https://dewline.example\"\n\
             [mail]\npostal_address = \"4th floor, Sea Breeze House, Mumbai\"\n\
             [[digest]]\nname = \"weekly\"\ncron = \"0 8 * * Mon\"\nsubject = \"Top: {{ top_topic }}\"\n",
            std::path::Path::new("/srv/dew/feedletter.toml"),
            &[],
        )
        .unwrap();
        let tera = crate::templates::load(std::path::Path::new("/nonexistent")).unwrap();
        let at = |d: &str| {
            chrono::DateTime::parse_from_rfc3339(d)
                .unwrap()
                .with_timezone(&Utc)
        };
        let trending = crate::topics::report::TrendingTopic {
            id: "sunscreen".into(),
            label: "Sunscreen".into(),
            status: Status::Rising,
            count: 4,
            baseline_count: 1,
            score: 2.0,
            lift: 3.0,
            feed: String::new(),
            first_seen: "2026-11-02T03:00:00Z".into(),
            weekly: vec![1, 0, 0, 1, 0, 1, 0, 0, 4],
            includes: vec![crate::topics::report::Included {
                id: "mineral-sunscreen".into(),
                label: "Mineral sunscreen".into(),
                count: 2,
            }],
            related: vec![crate::topics::report::Related {
                id: "pollution".into(),
                label: "Pollution".into(),
                shared: 3,
            }],
            articles: Vec::new(),
            why: "4 articles this week, against 0.4 a week over the 8 weeks before (3.0x the usual rate)"
                .into(),
            ancestors: Vec::new(),
        };
        let material = Material::new(
            vec![trending],
            vec![DigestArticle {
                slug: "spf-myths".into(),
                title: "Five SPF myths <debunked>".into(),
                summary: "Sunscreen & you.".into(),
                url: "https://dewline.example/articles/spf-myths".into(),
                image: Some("https://dewline.example/img/spf.jpg".into()),
                author: "Meera Kapoor".into(),
                reviewed_by: Some("Dr. Kavya Raman".into()),
                published: at("2026-11-20T08:00:00Z"),
                updated: at("2026-11-20T08:00:00Z"),
                topics: vec![("sunscreen".into(), "Sunscreen".into())],
            }],
        );
        let c = material.compose(
            &[],
            at("2026-11-16T02:30:00Z"),
            Limits {
                max_topics: 5,
                max_articles_per_topic: 3,
            },
        );
        Renderer {
            config: &config,
            schedule: &config.digests[0],
            tera: &tera,
            fire: at("2026-11-23T02:30:00Z"),
            run_id: 7,
        }
        .render(&material, &c, audience)
        .unwrap()
    }

    #[test]
    fn html_is_escaped_inlined_and_images_have_alt_text_and_a_size() {
        let r = render(Audience::Subscriber);
        assert_eq!(r.subject, "Top: Sunscreen");
        assert!(r.html.contains("Five SPF myths &lt;debunked&gt;"));
        assert!(r.html.contains("alt=\"Illustration for"), "{}", r.html);
        assert!(r.html.contains("width=\"560\""));
        assert!(r.html.contains("prefers-color-scheme: dark"));
        // Personal links are placeholders until personalised.
        let (html, text) = r.personalise("abc123");
        assert!(html.contains("https://dewline.example/unsubscribe/abc123"));
        assert!(text.contains("https://dewline.example/preferences/abc123"));
        assert!(text.contains("https://dewline.example/digests/7"));
        assert!(!html.contains(TOKEN_PLACEHOLDER) && !text.contains(TOKEN_PLACEHOLDER));
        // The text part is text: the title as written, not escaped.
        assert!(text.contains("Five SPF myths <debunked>"));
    }

    #[test]
    fn the_web_copy_has_no_personal_links() {
        let r = render(Audience::Web);
        for part in [&r.html, &r.text] {
            assert!(!part.contains("/unsubscribe/"));
            assert!(!part.contains("/preferences/"));
            assert!(part.contains("Sea Breeze House"));
        }
    }

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
