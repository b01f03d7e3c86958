//! Turning a composition into subject, HTML and text: Tera, then CSS
//! inlining for the HTML. Rendering happens once per distinct composition;
//! the links that differ per subscriber are placeholders filled in by
//! `Rendered::personalise`, a plain string replacement.

use super::compose::{Composition, Material};
use super::view::{RadarView, SectionView, Sections};
use crate::config::{Config, DigestConfig, Frequency};
use chrono::{DateTime, Utc};

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
        let base = self.config.site.base();
        let mut sections = Sections::new(material, base, self.config.site.timezone);
        let topics: Vec<SectionView> = c.topics.iter().map(|s| sections.section(s)).collect();
        let also_new: Vec<SectionView> = c.also_new.iter().map(|s| sections.section(s)).collect();
        let top_topic = topics
            .first()
            .or(also_new.first())
            .map_or(String::new(), |t| t.label.clone());

        let mut ctx = self.subject_context(&top_topic);
        let subject = self.subject(&ctx)?;
        ctx.insert("subject", &subject);
        ctx.insert("topics", &topics);
        ctx.insert("also_new", &also_new);
        ctx.insert("links", &sections.links);
        ctx.insert("web_url", &self.web_url());
        ctx.insert("web_copy", &(audience == Audience::Web));
        let radar: Vec<RadarView> =
            if audience == Audience::Preview && self.config.topics.show_candidates_in_preview {
                material.candidates.iter().map(RadarView::from).collect()
            } else {
                Vec::new()
            };
        ctx.insert("radar", &radar);
        let (unsubscribe, preferences) = match audience {
            Audience::Subscriber | Audience::Preview => (
                format!("{base}/unsubscribe/{TOKEN_PLACEHOLDER}"),
                format!("{base}/preferences/{TOKEN_PLACEHOLDER}"),
            ),
            Audience::Web => (String::new(), String::new()),
        };
        ctx.insert("unsubscribe_url", &unsubscribe);
        ctx.insert("preferences_url", &preferences);

        let html = crate::templates::render(self.tera, "email/digest.html", &ctx)?;
        let html = inline_css(&html)?;
        let text = crate::templates::render(self.tera, "email/digest.txt", &ctx)?;
        Ok(Rendered {
            subject,
            html,
            text,
        })
    }

    /// What a subject line may use: the site, the schedule, the date and
    /// the top topic, nothing per subscriber.
    fn subject_context(&self, top_topic: &str) -> tera::Context {
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
        ctx.insert("top_topic", top_topic);
        ctx
    }

    /// The schedule's subject template, on one line.
    fn subject(&self, ctx: &tera::Context) -> Result<String, RenderError> {
        let subject = tera::Tera::one_off(&self.schedule.subject, ctx, false).map_err(|e| {
            RenderError::Subject {
                schedule: self.schedule.name.clone(),
                subject: self.schedule.subject.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(crate::domain::text::squash_whitespace(&subject))
    }
}

/// Styles moved into `style` attributes, for mail clients that drop style
/// sheets; the sheet stays for those that read it (dark mode).
fn inline_css(html: &str) -> Result<String, RenderError> {
    css_inline::CSSInliner::options()
        .keep_style_tags(true)
        .load_remote_stylesheets(false)
        .build()
        .inline(html)
        .map_err(|e| RenderError::Css(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::compose::Limits;
    use crate::store::DigestArticle;
    use crate::topics::trending::Status;

    fn render(audience: Audience) -> Rendered {
        render_with_alt(audience, Some("A tube of \"SPF 50\" <mineral> on sand"))
    }

    fn render_with_alt(audience: Audience, image_alt: Option<&str>) -> Rendered {
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
            headlines: 4,
            baseline_headlines: 1,
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
                image_alt: image_alt.map(str::to_owned),
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
        // The article's own alt text, its quotes escaped (the inliner's
        // serializer may leave `<` and `>` as they are inside a quoted
        // attribute value, which HTML allows).
        assert!(
            [
                "alt=\"A tube of &quot;SPF 50&quot; &lt;mineral&gt; on sand\"",
                "alt=\"A tube of &quot;SPF 50&quot; <mineral> on sand\"",
            ]
            .iter()
            .any(|alt| r.html.contains(alt)),
            "{}",
            r.html
        );
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
    fn an_image_without_alt_text_is_decorative() {
        let r = render_with_alt(Audience::Subscriber, None);
        assert!(
            r.html
                .contains("<img src=\"https://dewline.example/img/spf.jpg\" alt=\"\""),
            "{}",
            r.html
        );
        assert!(!r.html.contains("None"), "{}", r.html);
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
}
