//! A deterministic corpus of Markdown articles for benchmarks and tests.
//!
//! Include it with `#[path = "../benches/corpus/mod.rs"] mod corpus;` (the
//! path is relative to the including file). Every article comes from its own
//! ChaCha8 stream (`seed`, article index), so the same seed gives the same
//! bytes on every platform, and one article can be rebuilt without the rest.
#![allow(dead_code)]

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io;
use std::path::{Path, PathBuf};

/// Publication dates are spread over two years from this local time
/// (the site's time zone).
pub const FIRST_PUBLISHED: &str = "2024-07-01 00:00";
/// Length of the spread, in days.
pub const SPREAD_DAYS: i64 = 730;
/// A UTC instant after every generated date (in any time zone): a clock set
/// here sees every article as published.
pub const AFTER_ALL: &str = "2026-07-03T00:00:00Z";

/// One written article.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    /// The slug feedletter derives from the file name.
    pub slug: String,
    /// Local time as written in the front matter.
    pub published: NaiveDateTime,
    pub bytes: u64,
}

/// What `write_articles` wrote.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub articles: Vec<Written>,
    pub total_bytes: u64,
}

impl Corpus {
    /// The article with the latest publication date (first in the feeds).
    pub fn newest(&self) -> Option<&Written> {
        self.articles
            .iter()
            .max_by(|a, b| a.published.cmp(&b.published).then(b.slug.cmp(&a.slug)))
    }
}

/// Writes `count` articles of about 3 KB each into `dir` (created if
/// missing) as `<slug>.md`.
pub fn write_articles(dir: &Path, count: usize, seed: u64) -> io::Result<Corpus> {
    std::fs::create_dir_all(dir)?;
    let mut corpus = Corpus::default();
    for i in 0..count {
        let (slug, published, text) = article(seed, i, count);
        let path = dir.join(format!("{slug}.md"));
        std::fs::write(&path, &text)?;
        let bytes = text.len() as u64;
        corpus.total_bytes += bytes;
        corpus.articles.push(Written {
            path,
            slug,
            published,
            bytes,
        });
    }
    Ok(corpus)
}

/// Rewrites the body of the article at `path` with new text drawn from
/// `seed`, keeping its front matter. The new file always differs in size from
/// the old one, so a size-and-mtime check sees the change. Returns the new size.
pub fn rewrite_body(path: &Path, seed: u64) -> io::Result<u64> {
    let old = std::fs::read_to_string(path)?;
    let end = front_matter_end(&old)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no front matter"))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let main = rng.random_range(0..INGREDIENTS.len() as u32) as usize;
    let concern = rng.random_range(0..CONCERNS.len() as u32) as usize;
    let theme = Theme::pick(&mut rng, main, concern);
    let target = old.len() - end + rng.random_range(0..400);
    let mut text = old[..end].to_owned();
    text.push_str(&body(&mut rng, &theme, target, "/articles/related-reading"));
    if text.len() == old.len() {
        text.push_str("\nUpdated.\n");
    }
    std::fs::write(path, &text)?;
    Ok(text.len() as u64)
}

/// Byte offset just past the closing `---` line.
fn front_matter_end(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("---\n")?;
    let close = rest.find("\n---\n")?;
    Some(4 + close + 5)
}

/// The article stream for index `i`.
fn stream(seed: u64, i: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i as u64);
    rng
}

/// What one article is about: like a real piece, it sticks to a main
/// ingredient and concern and mentions a few others in passing.
struct Theme {
    /// The first is the main one.
    ingredients: Vec<(&'static str, &'static str)>,
    concerns: Vec<&'static str>,
}

impl Theme {
    fn pick(rng: &mut ChaCha8Rng, main: usize, concern: usize) -> Self {
        let mut ingredients = vec![INGREDIENTS[main]];
        ingredients.push(*INGREDIENTS.choose(rng).unwrap_or(&INGREDIENTS[0]));
        let mut concerns = vec![CONCERNS[concern]];
        concerns.push(CONCERNS.choose(rng).unwrap_or(&CONCERNS[0]));
        Self {
            ingredients,
            concerns,
        }
    }

    /// The main ingredient two times in three, else another.
    fn ingredient(&self, rng: &mut ChaCha8Rng) -> (&'static str, &'static str) {
        if rng.random_range(0..3u32) < 2 {
            self.ingredients[0]
        } else {
            *self.ingredients.choose(rng).unwrap_or(&self.ingredients[0])
        }
    }

    fn concern(&self, rng: &mut ChaCha8Rng) -> &'static str {
        if rng.random_range(0..3u32) < 2 {
            self.concerns[0]
        } else {
            self.concerns.choose(rng).unwrap_or(&self.concerns[0])
        }
    }
}

/// Title first in each stream, so another article's slug is cheap to know
/// (for links). Returns the title, the slug and the theme's main indices.
fn title_and_slug(rng: &mut ChaCha8Rng, i: usize) -> (String, String, usize, usize) {
    let main = rng.random_range(0..INGREDIENTS.len() as u32) as usize;
    let concern = rng.random_range(0..CONCERNS.len() as u32) as usize;
    let pattern = TITLES.choose(rng).unwrap_or(&TITLES[0]);
    let title = capitalise(
        &pattern
            .replace("{a}", INGREDIENTS[main].0)
            .replace("{c}", CONCERNS[concern]),
    );
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = format!("{}-{i:05}", slug.trim_matches('-'));
    (title, slug, main, concern)
}

fn slug_of(seed: u64, i: usize) -> String {
    title_and_slug(&mut stream(seed, i), i).1
}

/// (slug, published, file text) of article `i`.
fn article(seed: u64, i: usize, count: usize) -> (String, NaiveDateTime, String) {
    let mut rng = stream(seed, i);
    let (title, slug, main, concern) = title_and_slug(&mut rng, i);
    let theme = Theme::pick(&mut rng, main, concern);
    let start = NaiveDateTime::parse_from_str(FIRST_PUBLISHED, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|_| NaiveDate::MIN.into());
    let minutes = rng.random_range(0..SPREAD_DAYS * 24 * 60);
    let published = start + Duration::minutes(minutes);

    let mut fm = String::with_capacity(512);
    fm.push_str("---\n");
    fm.push_str(&format!("title: \"{title}\"\n"));
    fm.push_str(&format!(
        "published: {}\n",
        published.format("%Y-%m-%d %H:%M")
    ));
    if rng.random_bool(0.15) {
        let end = start + Duration::days(SPREAD_DAYS) - Duration::minutes(1);
        let later = (published + Duration::days(rng.random_range(1..60))).min(end);
        fm.push_str(&format!("updated: {}\n", later.format("%Y-%m-%d %H:%M")));
    }
    let (name, email) = *AUTHORS.choose(&mut rng).unwrap_or(&AUTHORS[0]);
    if rng.random_bool(0.5) {
        fm.push_str(&format!(
            "author: {{ name: \"{name}\", email: \"{email}\" }}\n"
        ));
    } else {
        fm.push_str(&format!("author: \"{name}\"\n"));
    }
    let n_tags = rng.random_range(2..6);
    let tags: Vec<String> = TAGS
        .choose_multiple(&mut rng, n_tags)
        .map(|t| format!("\"{t}\""))
        .collect();
    fm.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    fm.push_str(&format!(
        "category: \"{}\"\n",
        CATEGORIES.choose(&mut rng).unwrap_or(&CATEGORIES[0])
    ));
    if rng.random_bool(0.4) {
        fm.push_str(&format!("summary: \"{}\"\n", sentence(&mut rng, &theme)));
    }
    fm.push_str("---\n\n");

    // Link to another article of the corpus, by its slug.
    let other = if count > 1 {
        (i + 1 + rng.random_range(0..count as u32 - 1) as usize) % count
    } else {
        i
    };
    let link = format!("/articles/{}", slug_of(seed, other));
    let target = rng.random_range(2_700..3_300usize);
    let text = body(&mut rng, &theme, target.saturating_sub(fm.len()), &link);
    (slug, published, fm + &text)
}

/// A Markdown body of about `target` bytes: an intro, `##` sections, one
/// bullet list, one blockquote, one relative link.
fn body(rng: &mut ChaCha8Rng, theme: &Theme, target: usize, link: &str) -> String {
    let mut out = String::with_capacity(target + 512);
    out.push_str(&paragraph(rng, theme, 3, 5));
    out.push_str("\n\n");
    let mut section = 0;
    loop {
        out.push_str("## ");
        out.push_str(&heading(rng, theme, section));
        out.push_str("\n\n");
        out.push_str(&paragraph(rng, theme, 2, 4));
        out.push_str("\n\n");
        match section {
            0 => {
                for _ in 0..rng.random_range(3..7) {
                    out.push_str("- ");
                    out.push_str(&list_item(rng, theme));
                    out.push('\n');
                }
                out.push('\n');
            }
            1 => {
                let (name, place) = *EXPERTS.choose(rng).unwrap_or(&EXPERTS[0]);
                out.push_str(&format!(
                    "> \"{} {}\"\n> — {name}, {place}\n\n",
                    sentence(rng, theme),
                    sentence(rng, theme)
                ));
            }
            _ => {}
        }
        section += 1;
        if section >= 3 && out.len() + 300 >= target {
            break;
        }
    }
    let (anchor, _) = *INGREDIENTS.choose(rng).unwrap_or(&INGREDIENTS[0]);
    out.push_str(&format!(
        "{} For more, read [our guide to {anchor}]({link}).\n",
        sentence(rng, theme)
    ));
    out
}

fn heading(rng: &mut ChaCha8Rng, theme: &Theme, section: usize) -> String {
    let h =
        HEADINGS[(section + rng.random_range(0..HEADINGS.len() as u32) as usize) % HEADINGS.len()];
    capitalise(&h.replace("{a}", theme.ingredients[0].0))
}

fn list_item(rng: &mut ChaCha8Rng, theme: &Theme) -> String {
    let tip = TIPS.choose(rng).unwrap_or(&TIPS[0]);
    if rng.random_bool(0.5) {
        let (a, what) = theme.ingredient(rng);
        format!("**{}**, {what}: {tip}.", capitalise(a))
    } else {
        format!("{}.", capitalise(tip))
    }
}

fn paragraph(rng: &mut ChaCha8Rng, theme: &Theme, min: u32, max: u32) -> String {
    let n = rng.random_range(min..=max);
    let mut p = String::new();
    for k in 0..n {
        if k > 0 {
            p.push(' ');
        }
        p.push_str(&sentence(rng, theme));
    }
    p
}

/// One sentence; about half name an ingredient or a concern.
fn sentence(rng: &mut ChaCha8Rng, theme: &Theme) -> String {
    let q = QUALIFIERS.choose(rng).unwrap_or(&QUALIFIERS[0]);
    let s = match rng.random_range(0..6u32) {
        0 | 1 => {
            let (a, _) = theme.ingredient(rng);
            let v = VERBS.choose(rng).unwrap_or(&VERBS[0]);
            let c = theme.concern(rng);
            format!("{a} {v} {c}, {q}")
        }
        2 => {
            let (a, _) = theme.ingredient(rng);
            format!("dermatologists often suggest {a}, {q}")
        }
        _ => {
            let g = GENERIC.choose(rng).unwrap_or(&GENERIC[0]);
            format!("{g}, {q}")
        }
    };
    format!("{}.", capitalise(&s))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

const TITLES: &[&str] = &[
    "what {a} can and cannot do for {c}",
    "{a} for {c}: a dermatologist's guide",
    "is {a} worth it for {c}?",
    "the monsoon guide to {a} and {c}",
    "{c} in winter: where {a} fits",
    "how to layer {a} when you have {c}",
    "five myths about {a} and {c}",
];

const HEADINGS: &[&str] = &[
    "what the studies say",
    "how to use {a}",
    "who should avoid {a}",
    "building a routine",
    "the cost question",
    "what to expect in the first month",
    "when to see a dermatologist",
    "{a} and sunscreen",
];

const INGREDIENTS: &[(&str, &str)] = &[
    ("niacinamide", "a form of vitamin B3"),
    ("retinol", "a vitamin A derivative"),
    ("tretinoin", "a prescription retinoid"),
    ("azelaic acid", "a gentle dicarboxylic acid"),
    ("salicylic acid", "an oil-soluble beta hydroxy acid"),
    ("glycolic acid", "a small alpha hydroxy acid"),
    ("vitamin C", "an antioxidant"),
    ("ceramides", "lipids of the skin barrier"),
    ("hyaluronic acid", "a humectant"),
    ("benzoyl peroxide", "an antibacterial"),
    ("zinc oxide", "a mineral UV filter"),
    ("tranexamic acid", "a pigment-fading agent"),
    ("centella asiatica", "a soothing plant extract"),
    ("sunscreen", "daily UV protection"),
];

const CONCERNS: &[&str] = &[
    "acne",
    "melasma",
    "dark spots",
    "dry skin",
    "oily skin",
    "fine lines",
    "rosacea",
    "sensitive skin",
    "post-inflammatory hyperpigmentation",
    "enlarged pores",
    "tanning",
    "eczema",
];

const GENERIC: &[&str] = &[
    "most people notice little in the first fortnight",
    "a simple routine is easier to keep up than a long one",
    "the label on the front of the bottle is marketing, the list on the back is the formula",
    "results depend on the strength, the base and how often it is used",
    "what works for a friend may not suit your skin",
    "a small amount, applied evenly, is enough",
    "readers often ask whether the expensive version is better",
    "the summer heat changes how much product the skin tolerates",
];

const VERBS: &[&str] = &[
    "can help with",
    "may worsen",
    "is often recommended for",
    "works slowly on",
    "has modest evidence against",
    "is no quick fix for",
    "pairs well with treatment for",
];

const QUALIFIERS: &[&str] = &[
    "especially when used every night for eight to twelve weeks",
    "though results vary from one skin type to another",
    "provided you wear sunscreen every morning",
    "as long as you start with a low strength and build up slowly",
    "but a patch test on the inner arm comes first",
    "and the price of the bottle says little about how well it works",
    "which is why clinics in Mumbai and Delhi report steady demand",
    "according to a 2023 review of randomised trials",
];

const TIPS: &[&str] = &[
    "start twice a week and build up",
    "apply to dry skin to limit stinging",
    "avoid mixing it with strong acids on the same night",
    "keep it away from the corners of the eyes and mouth",
    "store it away from heat and sunlight",
    "stop a week before a peel or waxing",
    "ask a pharmacist if you are pregnant",
];

const EXPERTS: &[(&str, &str)] = &[
    ("Dr. Kavya Raman", "dermatologist in Chennai"),
    ("Dr. Farhan Qureshi", "aesthetic dermatologist in Mumbai"),
    ("Dr. Ananya Iyer", "paediatric dermatologist in Bengaluru"),
    ("Dr. Rohit Malhotra", "cosmetic chemist in Delhi"),
    ("Dr. Sunita Deshpande", "trichologist in Pune"),
];

const AUTHORS: &[(&str, &str)] = &[
    ("Meera Kapoor", "meera@bench.example"),
    ("Arjun Nair", "arjun@bench.example"),
    ("Priya Sharma", "priya@bench.example"),
    ("Leela Menon", "leela@bench.example"),
    ("Vikram Singh", "vikram@bench.example"),
    ("Nisha Banerjee", "nisha@bench.example"),
];

const TAGS: &[&str] = &[
    "acne",
    "retinoids",
    "niacinamide",
    "sunscreen",
    "pigmentation",
    "melasma",
    "monsoon",
    "winter skin",
    "chemical peels",
    "barrier repair",
    "vitamin c",
    "rosacea",
    "budget skincare",
    "ingredients",
    "myths",
    "clinic treatments",
];

const CATEGORIES: &[&str] = &[
    "Ingredients",
    "Treatments",
    "Conditions",
    "Routines",
    "News",
];
