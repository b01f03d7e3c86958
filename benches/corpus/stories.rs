//! A labelled synthetic corpus of skincare *article texts* for measuring
//! trending quality: the real pipeline (vocabulary matching, trending,
//! emerging candidates) reads them and its weekly reports are compared with
//! the labels. Seeded ChaCha8: a seed gives the same corpus on every platform.
//!
//! **Time.** 16 weeks; week k is the 7 days before a Monday 08:00 IST (02:30
//! UTC), the last 2026-11-23. `Bench::reports` close weeks 9..=16: report i
//! is week 9 + i, its baseline weeks i+1..=i+8.
//!
//! **Background.** 22-28 articles a week, 07:00-21:00 IST. A skincare article
//! is about 1-3 concepts of a stationary table of real concept ids (in the
//! title or a heading or twice in the body, and tagged). Each concept's
//! weekly count is a Poisson draw at its rate, as real coverage varies
//! (`generate_smooth` gives each the floor or the ceiling of its rate
//! instead, a background that never bursts by chance); a planted concept has
//! no background article in its story's weeks. Single mentions ("SPF", "skin
//! barrier", "patch test") do not count. Templates keep content words to one
//! template each, so that salient phrases repeat no more than in real text.
//! Also: quotes from 15 dermatologists, generic tags ("news", "skin trends",
//! "explainer", "skincare"), 1-3 launch roundups tagged "new launches", most
//! weeks one health article with no concept, one disclaimer on every article.
//!
//! **Planted** (story, shape, articles by week -> positive report; tolerated):
//! - `festive-peels` OldPulse `chemical-peel`: 9 in week 9 (0.5 a week else) -> 0.
//! - `polynucleotide-burst` Burst: 5 from Wednesday of week 11, 1 in week 12 -> 2; 3.
//! - `azelaic-ramp` Ramp (0.3 a week else): 1, 2, then 8 from Thursday of week
//!   13 to Wednesday of week 14 (6 + 2) -> 4; 3 and 5.
//! - `bakuchiol-ramp` Ramp: 1, 3, 5 in weeks 12-14 -> 5; 4 and 6.
//! - `launch-roundups` GenericTags: 12 roundups tagged "new launches" in week
//!   12 (one-off products, no new concept); generic tags are never entries.
//! - `sea-fennel` NewIngredient "sea fennel": 1, 3, 4 in weeks 11-13 -> 3, 4.
//! - `exosome-clinics` SplitSynonyms: 6 in week 13 (2 `exosome-facial`, 2
//!   `plant-exosomes`, 1 `exosome-therapy`, 1 `exosomes`; one `exosomes`
//!   article in week 8 before) -> `exosomes`, not its children. Echo: all 6 are
//!   also about `microneedling`, which must be `related` to that entry.
//! - `diabetes-week` OffTopicTagBurst: 8 articles in week 14 tagged
//!   "diabetes", "blood sugar", "health", with no vocabulary alias.
//! - `microneedling-at-home` Burst: 5 in week 15 -> 6.
//! - `tremella` NewIngredient "tremella": 4 in week 15 -> 6.
//! - `allantoin-one-offs` OneOffDays: one article every 10-12 days.
//! - Steady: `sunscreen`, `retinol`, `niacinamide`, `hyaluronic-acid`, 3-7 a
//!   week; niacinamide rises to 7 over weeks 12-15 (3-6 tolerated).
//!
//! **Controls.** Reports 1 and 7 (weeks 10 and 16): no planted article in
//! their window; no entry at all may be reported there.
//!
//! **Labels.** `positive`: where `expect` must be an entry (NewIngredient: a
//! candidate with that phrase; Echo: `related` to the `related_to` entry and
//! not an entry). Shapes never reported (`onset` None: Echo, OffTopicTagBurst,
//! GenericTags, OneOffDays, Steady): `expect` and `not_entries` are false
//! entries in any report outside `tolerated`. Others: `not_entries` must not be
//! entries in `positive` reports; `expect` is false outside positive+tolerated.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct StoryArticle {
    /// Unique, lowercase-hyphen.
    pub slug: String,
    pub title: String,
    /// One or two sentences (the "dek").
    pub summary: String,
    /// `<h2>` and `<p>` only, plain text inside (& < > as entities).
    pub body_html: String,
    pub tags: Vec<String>,
    pub published: DateTime<Utc>,
    /// The planted story it belongs to (None = background).
    pub story: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    SplitSynonyms,
    Echo,
    Ramp,
    Burst,
    OffTopicTagBurst,
    GenericTags,
    NewIngredient,
    OneOffDays,
    OldPulse,
    Steady,
}

pub struct Label {
    pub story: &'static str,
    pub shape: Shape,
    /// What must be reported: a vocabulary concept id for entries, or the phrase (lower case) for NewIngredient.
    pub expect: &'static str,
    /// Indices into `Bench::reports` where it must be an entry (or a candidate, for NewIngredient;
    /// for Echo: where it must be `related` to the `related_to` entry instead).
    pub positive: Vec<usize>,
    /// Reports where reporting it is neither required nor wrong (e.g. a ramp's rising week, a burst's tail).
    pub tolerated: Vec<usize>,
    /// When the trend becomes detectable by the labels (first article of its first positive week); None for shapes that must never be reported.
    pub onset: Option<DateTime<Utc>>,
    /// The first article of the story at all (for ramps: the first 1-article week), for reporting delay from the very start too.
    pub first_article: Option<DateTime<Utc>>,
    /// Concept ids (or tags/phrases) that must NOT be entries in the positive reports (e.g. an echo, the children of a split concept, a generic tag);
    /// for shapes never reported: in any report outside `tolerated`.
    pub not_entries: Vec<&'static str>,
    /// For echoes: the concept id whose entry it must be `related` to.
    pub related_to: Option<&'static str>,
}

pub struct Bench {
    /// Sorted by published.
    pub articles: Vec<StoryArticle>,
    /// Weekly report times: Mondays 08:00 in Asia/Kolkata (02:30 UTC), ends of weeks 9..=16.
    pub reports: Vec<DateTime<Utc>>,
    /// Indices into `reports` of control weeks: nothing planted has an
    /// article in their window; no entry at all may appear in them.
    pub control: Vec<usize>,
    pub labels: Vec<Label>,
}

const WEEKS: u32 = 16;
const FIRST_REPORT_WEEK: u32 = 9;

/// Start of week `w` (1..=16): a Monday 08:00 IST.
fn week_start(w: u32) -> DateTime<Utc> {
    let last = Utc.with_ymd_and_hms(2026, 11, 23, 2, 30, 0).single();
    last.unwrap_or_default() - Duration::weeks(i64::from(WEEKS + 1 - w))
}

/// Week `w`, `day` days after its Monday, `minute` minutes after local (IST) midnight.
fn local(w: u32, day: u32, minute: u32) -> DateTime<Utc> {
    week_start(w) + Duration::days(i64::from(day)) + Duration::minutes(i64::from(minute) - 480)
}

fn report(i: usize) -> DateTime<Utc> {
    week_start(FIRST_REPORT_WEEK + i as u32) + Duration::weeks(1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ing,
    Concern,
    Proc,
    Trend,
    /// A phrase no vocabulary knows.
    New,
}
use Kind::*;

/// A concept id, its kind, background articles a week (0: planted only) and
/// the forms text uses: its aliases or their plurals, the first is its tag.
type Concept = (&'static str, Kind, f64, Pool);

#[rustfmt::skip]
const CONCEPTS: &[Concept] = &[
    ("sunscreen", Ing, 4.5, &["sunscreen", "sunscreens", "SPF", "sun cream"]), ("retinol", Ing, 4.0, &["retinol"]),
    ("niacinamide", Ing, 3.5, &["niacinamide", "vitamin B3"]),
    ("hyaluronic-acid", Ing, 4.0, &["hyaluronic acid", "sodium hyaluronate"]),
    ("vitamin-c", Ing, 2.5, &["vitamin C", "ascorbic acid"]), ("ceramides", Ing, 1.5, &["ceramides"]),
    ("acne", Concern, 2.5, &["acne", "breakouts", "pimples"]),
    ("hyperpigmentation", Concern, 1.5, &["hyperpigmentation", "pigmentation", "dark spots"]),
    ("melasma", Concern, 1.2, &["melasma"]), ("rosacea", Concern, 0.8, &["rosacea"]),
    ("eczema", Concern, 0.8, &["eczema", "atopic dermatitis"]),
    ("skin-barrier", Concern, 0.0, &["skin barrier", "moisture barrier"]),
    ("dry-skin", Concern, 1.0, &["dry skin", "skin dryness"]), ("salicylic-acid", Ing, 1.0, &["salicylic acid", "BHA"]),
    ("glycolic-acid", Ing, 0.6, &["glycolic acid"]), ("oily-skin", Concern, 0.8, &["oily skin", "excess sebum"]),
    ("sensitive-skin", Concern, 0.7, &["sensitive skin", "reactive skin"]),
    ("skin-ageing", Concern, 0.8, &["skin ageing"]), ("wrinkles", Concern, 0.6, &["wrinkles", "fine lines"]),
    ("dark-circles", Concern, 0.6, &["dark circles", "under-eye circles"]),
    ("tranexamic-acid", Ing, 0.5, &["tranexamic acid"]), ("alpha-arbutin", Ing, 0.4, &["alpha arbutin"]),
    ("kojic-acid", Ing, 0.3, &["kojic acid"]), ("benzoyl-peroxide", Ing, 0.4, &["benzoyl peroxide"]),
    ("adapalene", Ing, 0.4, &["adapalene"]), ("tretinoin", Ing, 0.4, &["tretinoin"]),
    ("peptides", Ing, 0.5, &["peptides"]), ("centella-asiatica", Ing, 0.5, &["centella asiatica", "cica", "centella"]),
    ("squalane", Ing, 0.3, &["squalane"]), ("panthenol", Ing, 0.3, &["panthenol"]),
    ("glycerin", Ing, 0.3, &["glycerin"]), ("snail-mucin", Ing, 0.3, &["snail mucin"]),
    ("mineral-sunscreen", Ing, 0.5, &["mineral sunscreen", "mineral sunscreens"]),
    ("hair-thinning", Concern, 0.6, &["hair thinning", "hair loss"]), ("dandruff", Concern, 0.4, &["dandruff"]),
    ("comedones", Concern, 0.5, &["blackheads", "whiteheads", "clogged pores"]),
    ("enlarged-pores", Concern, 0.4, &["enlarged pores", "open pores"]),
    ("uneven-texture", Concern, 0.4, &["uneven texture", "skin texture"]),
    ("post-inflammatory-hyperpigmentation", Concern, 0.5, &["acne marks", "post-inflammatory hyperpigmentation"]),
    ("dermal-fillers", Proc, 0.3, &["dermal fillers", "fillers"]),
    ("botulinum-toxin", Proc, 0.4, &["Botox", "botulinum toxin"]),
    ("laser-hair-removal", Proc, 0.3, &["laser hair removal"]), ("hydrafacial", Proc, 0.3, &["HydraFacial"]),
    ("chemical-peel", Proc, 0.5, &["chemical peels"]),
    ("microneedling", Proc, 0.5, &["microneedling", "micro-needling"]), ("azelaic-acid", Ing, 0.3, &["azelaic acid"]),
    ("bakuchiol", Ing, 0.15, &["bakuchiol"]), ("double-cleansing", Trend, 0.3, &["double cleansing"]),
    ("k-beauty", Trend, 0.3, &["K-beauty", "Korean skincare"]), ("skin-cycling", Trend, 0.2, &["skin cycling"]),
    ("gua-sha", Trend, 0.2, &["gua sha"]), ("keratosis-pilaris", Concern, 0.3, &["keratosis pilaris"]),
    ("milia", Concern, 0.3, &["milia"]), ("tea-tree-oil", Ing, 0.2, &["tea tree oil"]),
    ("lactic-acid", Ing, 0.2, &["lactic acid"]), ("mandelic-acid", Ing, 0.2, &["mandelic acid"]),
    ("hormonal-acne", Concern, 0.4, &["hormonal acne", "adult acne"]),
    ("acne-scars", Concern, 0.4, &["acne scars", "acne scarring"]), ("vitiligo", Concern, 0.2, &["vitiligo"]),
    ("seborrheic-dermatitis", Concern, 0.2, &["seborrhoeic dermatitis"]), ("psoriasis", Concern, 0.3, &["psoriasis"]),
    ("led-light-therapy", Proc, 0.2, &["LED light therapy", "red light therapy"]),
    ("perioral-dermatitis", Concern, 0.3, &["perioral dermatitis"]), ("laser-toning", Proc, 0.2, &["laser toning"]),
    // Planted only.
    ("patch-testing", Proc, 0.0, &["patch test"]), ("exosomes", Ing, 0.0, &["exosomes"]),
    ("exosome-facial", Proc, 0.0, &["exosome facials"]),
    ("plant-exosomes", Ing, 0.0, &["plant-derived exosomes", "plant exosomes"]),
    ("exosome-therapy", Proc, 0.0, &["exosome therapy", "exosome injections"]),
    ("polynucleotides", Proc, 0.0, &["polynucleotides", "PDRN", "salmon DNA"]),
    ("allantoin", Ing, 0.0, &["allantoin"]), ("sea fennel", New, 0.0, &["sea fennel"]),
    ("tremella", New, 0.0, &["tremella"]),
];

/// Background weeks left to the planted story of a concept.
const QUIET: &[(&str, &[u32])] = &[
    ("azelaic-acid", &[11, 12, 13, 14]),
    ("bakuchiol", &[12, 13, 14]),
    ("microneedling", &[13, 15]),
    ("chemical-peel", &[9]),
];

/// Niacinamide articles a week: 3-4, rising over weeks 12-15.
const NIACINAMIDE: [usize; 16] = [3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 4, 5, 6, 7, 7, 4];

/// Incidental single mentions with weights, trade phrases first.
#[rustfmt::skip]
const INCIDENTAL: &[&str] = &[
    "sunscreen", "sunscreen", "sunscreen", "sunscreen", "sunscreen", "skin-barrier", "skin-barrier", "skin-barrier",
    "patch-testing", "patch-testing", "patch-testing", "hyaluronic-acid", "niacinamide", "retinol", "ceramides",
    "vitamin-c", "glycerin", "acne", "hyperpigmentation", "sensitive-skin", "dry-skin", "melasma",
];

/// Common concepts a new-ingredient article also covers, in turn.
#[rustfmt::skip]
const NEW_SECONDARY: &[&str] =
    &["hyaluronic-acid", "ceramides", "centella-asiatica", "dry-skin", "glycerin", "squalane", "panthenol"];

fn ci(id: &str) -> usize {
    CONCEPTS.iter().position(|c| c.0 == id).unwrap_or(0)
}

/// Dermatologists quoted, each with a fixed role and city.
#[rustfmt::skip]
const DOCTORS: &[(&str, &str)] = &[
    ("Dr. Kavya Raman", "a dermatologist in Chennai"), ("Dr. Arjun Mehta", "a consultant dermatologist in Mumbai"),
    ("Dr. Priya Nair", "who runs a skin clinic in Kochi"), ("Dr. Sameer Kulkarni", "a dermatologist in Pune"),
    ("Dr. Ananya Sengupta", "a skin specialist in Kolkata"), ("Dr. Rohan Bhatia", "a dermatologist in Delhi"),
    ("Dr. Meera Iyer", "a consultant dermatologist in Bengaluru"), ("Dr. Farah Qureshi", "a dermatologist in Hyderabad"),
    ("Dr. Vikram Rathore", "who practises in Jaipur"), ("Dr. Neha Chawla", "a dermatologist in Gurugram"),
    ("Dr. Sneha Patil", "a skin specialist in Nagpur"), ("Dr. Aditya Rao", "a dermatologist in Mangaluru"),
    ("Dr. Ishita Ghosh", "a cosmetic dermatologist in Bhubaneswar"), ("Dr. Karan Malhotra", "a dermatologist in Chandigarh"),
    ("Dr. Lakshmi Menon", "a paediatric dermatologist in Thiruvananthapuram"),
];

/// Fillers for `{key}` in templates.
#[rustfmt::skip]
const SLOTS: &[(&str, &[&str])] = &[
    ("edr", &["Dr. Suresh Pillai, an endocrinologist in Kochi", "Dr. Anjali Deshmukh, a diabetologist in Pune",
              "Dr. Harish Reddy, a physician in Hyderabad", "Dr. Nandita Bose, a nutrition specialist in Kolkata",
              "Dr. Rahul Khanna, a cardiologist in Delhi", "Dr. Geeta Joshi, a family physician in Indore"]),
    ("city", &["Mumbai", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Hyderabad", "Pune", "Ahmedabad", "Jaipur",
               "Lucknow", "Kochi", "Chandigarh", "Indore", "Guwahati", "Coimbatore"]),
    ("when", &["at night", "in the evening", "after washing", "on alternate days", "twice a week", "first thing",
               "after a shower", "before bed"]),
    ("season", &["in the monsoon", "in humid months", "in winter", "during the summer", "when the air turns dry",
                 "after the rains", "in the cooler months"]),
    ("who", &["teenagers", "new mothers", "office workers", "college students", "people over forty", "commuters",
              "runners", "first-timers", "busy parents", "men who shave"]),
    ("prod", &["serum", "gel", "cream", "lotion", "toner", "essence", "fluid", "balm", "gel cream"]),
    ("span", &["six weeks", "eight weeks", "three months", "a month", "twelve weeks", "a few weeks"]),
    ("res", &["calmer", "smoother", "more even", "brighter", "softer", "less shiny", "more comfortable"]),
    ("tex", &["watery", "soft and creamy", "gel-like", "silky", "rich", "fluid"]),
    ("price", &["399", "499", "549", "650", "699", "799", "899", "999", "1,199", "1,299", "1,450", "1,650", "1,999"]),
    ("ml", &["15", "20", "30", "40", "50", "100"]),
    ("a1c", &["6.5", "6.4", "5.7"]),
    ("age", &["30", "35", "40"]),

];

#[rustfmt::skip]
const TAILS: &[&str] = &[", doctors say", ", dermatologists in {city} say", ", according to the doctors we spoke to",
                         ", several experts told us", ", at least for most people", ", in our experience"];

// Templates: {c}/{C} a form of the article's concept (capitalised), {d} a
// second concept, {dr} a dermatologist with role and city, {drn} a name.
// Concept sentences keep {c} out of verb agreement: forms are singular or plural.

#[rustfmt::skip]
const TITLES: [&[&str]; 5] = [
    &["{C}: what to know", "How to use {c}", "{C}: worth it?", "{C}, explained", "What {c} can and cannot do",
      "Should you try {c}?", "Everything you need to know about {c}", "How to start {c} the right way",
      "What dermatologists want you to know about {c}", "When to use {c}, and when not to"],
    &["What helps with {c}?", "{C}: what works", "What to do about {c}", "{C}, explained", "How to tell if you have {c}",
      "What dermatologists want you to know about {c}", "{C}: what you can do"],
    &["What to know before {c}", "Before you try {c}", "{C}: worth it?", "{C}, explained",
      "What dermatologists want you to know about {c}"],
    &["Should you try {c}?", "{C}: does it work?", "{C}: worth it?", "{C}, explained",
      "What dermatologists think of {c}"],
    &["What is {c}?", "{C}: what to know", "Should you try {c}?", "{C}: worth it?", "What dermatologists think of {c}",
      "{C}, explained", "Everything you need to know about {c}", "Why everyone is talking about {c}"],
];
#[rustfmt::skip]
const TITLE_PAIR: &[&str] = &["{C} and {d}: what to know", "{C} or {d}?", "{C} and {d}, explained"];
#[rustfmt::skip]
const SUMMARY: &[&str] = &[
    "What {c} can and cannot do, according to dermatologists.", "Everything you need to know about {c}, explained.",
    "Who should consider {c}, and when to see a dermatologist.",
    "Readers ask about {c} every week; here is what we found.", "A closer look at {c}, with help from dermatologists.",
];
#[rustfmt::skip]
const LEDE: [&[&str]; 5] = [
    &["Few topics fill our mailbag like {c}.", "Interest in {c} shows no sign of slowing down.",
      "Pharmacy shelves in {city} are crowded with {c}, and choosing is confusing."],
    &["Dermatologists in {city} see {c} every day, and most cases are manageable.",
      "Many readers first visit a clinic because of {c}.", "Few complaints crowd waiting rooms like {c}."],
    &["Clinics across India report brisk demand for {c}.",
      "Demand for {c} has grown as charges have come down in cities like {city}."],
    &["Social media has made {c} a talking point far beyond beauty circles.", "Our readers keep asking about {c}."],
    &["A new name keeps popping up: {c}.", "Shoppers may have already spotted {c}."],
];
/// Sentences about a concept of each kind; their content words are used once.
#[rustfmt::skip]
const SENT: [&[&str]; 5] = [
    &["Start {c} {when}, and give it {span} before judging.",
      "Most people tolerate {c} well in a plain {prod} with few other actives.",
      "Look for {c} near the top of the ingredient list rather than buried at the end.",
      "Formulas with {c} vary widely, so compare the percentage printed on the box.",
      "If your face stings after {c}, pause for a few days.",
      "Do not expect a quick fix from {c}; progress is gradual and easy to miss.",
      "A pea-sized amount of {c} covers the whole face.",
      "Whether {c} will mix well with everything else in a routine depends on the formula.",
      "Pharmacies in {city} now stock {c} at very different price points.",
      "Layering two products that both contain {c} adds little but cost.",
      "Dermatologists tend to suggest {c} to {who} who want a gentle first step.",
      "Keep {c} away from heat and light, especially {season}.",
      "Studies on {c} are mostly small, but they point the same way.",
      "A layer of {c} sits comfortably under makeup if you let it absorb for a minute."],
    &["Among {who}, it is common to see {c}, and it is seldom a sign of poor hygiene.",
      "Triggers for {c} are individual, so a diary helps.",
      "Treating {c} takes {span} of steady effort before anything shifts.",
      "Many people dealing with {c} over-scrub, which makes things worse.",
      "On deeper skin tones, {c} can look unlike textbook photos, which delays diagnosis.",
      "A dermatologist can tell whether stronger treatment is needed for {c}.",
      "Routines for {c} often need adjusting {season}.", "Home remedies for {c} picked up from reels can backfire.",
      "There is no single cure for {c}, but good control is possible.",
      "Stress and lost sleep do not cause {c} on their own, but they make it harder to manage.",
      "Photographs taken every two weeks are the easiest way to track {c}."],
    &["Fees for {c} in {city} start at a few thousand rupees a session.",
      "Most people need several rounds of {c}, spaced weeks apart.",
      "Some redness for a day or two is normal after {c}.",
      "Only a trained professional should perform {c}, not an unregulated salon.",
      "Ask how often the clinic has performed {c} on skin like yours.", "Results from {c} build over {span}.",
      "Doctors postpone {c} during an active infection or after a beach holiday.",
      "A consultation before {c} should cover any history of cold sores."],
    &["Clinics in {city} say patients ask about {c} every week.", "The idea behind {c} is not new, but the name is.",
      "Dermatologists are split on {c}: some like the discipline it brings, others see little benefit.",
      "Trying {c} is probably harmless if it keeps a routine short.",
      "Clips about {c} often skip the caveats that matter for {who}."],
    &["Several new brands now put {c} in serums and creams.",
      "Research on {c} in skincare is still thin, so weigh the claims carefully.",
      "Most products with {c} pair it with familiar hydrators.", "Most launches with {c} are modestly priced.",
      "Early users describe {c} as airy and non-sticky.", "Nothing suggests {c} will replace proven ingredients.",
      "Retailers in {city} say {c} is selling briskly."],
];
#[rustfmt::skip]
const HEADINGS: [&[&str]; 6] = [
    &["What {c} can do", "How to start with {c}", "Who should not use {c}", "Getting the most from {c}",
      "How much {c} to use"],
    &["What helps with {c}", "When to see a dermatologist about {c}", "What to do about {c}", "{C}: what to try first"],
    &["What to expect from {c}", "Who should try {c}", "After {c}", "Before {c}"],
    &["Where {c} came from", "What dermatologists think of {c}", "How to try {c}"],
    &["What is {c}?", "Why {c}, and why now", "Should you try {c}?"],
    &["What the research says", "Getting it right", "Where to start", "The bottom line", "When to see a dermatologist",
      "What to do next", "Is it worth it?", "What to know first"],
];
#[rustfmt::skip]
const QUOTE: &[&str] = &[
    "\u{201c}With {c}, consistency matters more than strength,\u{201d} says {dr}.",
    "\u{201c}I see a lot of people give up on {c} too early,\u{201d} says {dr}.",
    "\u{201c}Most of the trouble I see with {c} comes from doing too much at once,\u{201d} says {dr}.",
    "\u{201c}The people who do well with {c} keep things simple,\u{201d} says {dr}.",
    "\u{201c}For {who}, I introduce {c} slowly,\u{201d} says {dr}.",
    "\u{201c}There is real evidence behind {c}, but expectations need to be realistic,\u{201d} says {dr}.",
    "\u{201c}People often ask me about {c} after seeing posts online,\u{201d} says {dr}.",
];
#[rustfmt::skip]
const QUOTE_GENERIC: &[&str] = &[
    "\u{201c}The best routine is the one you will actually follow,\u{201d} says {dr}.",
    "\u{201c}Skin takes its time, and patience is part of the process,\u{201d} says {dr}.",
    "\u{201c}I would rather see a handful of products used well than a cabinet full used badly,\u{201d} says {dr}.",
    "\u{201c}Much of what I treat comes from over-enthusiastic shopping,\u{201d} says {dr}.",
];
/// Filler sentences; their content words are used once.
#[rustfmt::skip]
const GENERIC: &[&str] = &[
    "A mild cleanser and a basic moisturiser still do most of the work.",
    "Bring in one new product at a time so you know what is helping.",
    "Competition among Indian labels has pushed costs down.", "Read the back of the pack, not just the front.",
    "The weather {season} changes what the face needs.", "Heavy layers can leave the face greasy by noon.",
    "Fragrance-free options suit anyone who reacts easily.", "A clinic photograph does not always match everyday life.",
    "Reviews rarely mention what else the reviewer was using.", "Keep a note of what you apply and when.",
    "Dermatologists in {city} say the questions they hear have shifted over the past year.",
    "Many {who} now copy regimens from short videos.", "Do not drop a doctor's plan because an influencer said so.",
    "The same {prod} can suit one person and feel wrong on another.", "Allow {span} before you judge any change.",
    "A higher price does not buy a better result.", "Water, rest and a regular routine help more than constant swaps.",
    "The same rules hold {season}, with small adjustments.", "A good routine can be three steps long.",
    "Lukewarm rinses are kinder than hot ones.", "Flag any medicines you take before starting something new.",
    "Pregnancy alters what is safe, so check first.", "Anything labelled natural can still irritate.",
    "Textures have improved, and many now feel weightless enough {season}.",
    "A dermatologist can help you decide what is worth chasing.",
    "Stubborn problems deserve a proper examination rather than guesswork.",
    "A manufacturing date and batch number should appear somewhere on the carton.",
    "Stick to authorised sellers; counterfeits turn up on some marketplaces.", "Take a break if the face feels raw.",
    "After washing, pay attention to the hairline and jaw.",
    "A routine that worked {season} may need a lighter {prod} later.",
    "Slogans such as dermatologist-approved invite a second look.",
    "Pillowcases and phone screens collect more grime than most people think.",
    "If something burns rather than tingles, wash it off.", "Small habits beat dramatic overhauls.",
    "Ask the pharmacist for a sample before buying a full-size {prod}.",
];
#[rustfmt::skip]
const INCIDENTAL_SPECIAL: &[(&str, &[&str])] = &[
    ("sunscreen", &["Whatever else you use, finish the morning with a broad-spectrum SPF 50.",
                    "None of this works without sunscreen every day, even when it is cloudy.",
                    "Reapply SPF every few hours if you are outdoors."]),
    ("skin-barrier", &["Anything that leaves the face tight may be stressing the skin barrier.",
                       "Protecting the skin barrier comes first."]),
    ("patch-testing", &["Do a patch test on the inner arm before putting anything new on the face.",
                        "A patch test behind the ear for three nights is a sensible precaution."]),
];
#[rustfmt::skip]
const INCIDENTAL_KIND: [&[&str]; 4] = [
    &["Some readers combine this with {c}, which is fine for most people.", "If you already use {c}, there is no need to stop."],
    &["The same approach can also help with {c}.", "Anyone who also has {c} should say so at the appointment."],
    &["Some clinics offer this alongside {c}."],
    &["It often comes up in the same breath as {c}."],
];
/// Generic tags and their chances (on trend and new-ingredient articles).
const GENERIC_TAGS: &[(&str, f64, f64)] = &[
    ("news", 0.22, 0.22),
    ("skin trends", 0.12, 0.6),
    ("explainer", 0.12, 0.12),
    ("skincare", 0.4, 0.4),
];
const REVIEWED: &str = "Medically reviewed by {drn}.";
const CLOSING: &str = "This article is for general information only and is not a substitute \
for personal advice from a qualified doctor or dermatologist.";

#[rustfmt::skip]
const ROUNDUP_TITLE: &[&str] = &["{C}: what is new this month", "What is new in {c}", "The latest in {c}", "New in {c} this month"];
#[rustfmt::skip]
const ROUNDUP_SUMMARY: &[&str] = &[
    "What is new with {c} this month, and who each one is for.", "The latest in {c}, tried by us.",
];
#[rustfmt::skip]
const ROUNDUP_INTRO: &[&str] = &[
    "New arrivals land every week, and we test the ones readers ask about.",
    "Prices are the maximum retail price at the time of writing.", "None of these brands paid to be included.",
    "This list covers launches from Indian and international labels.",
    "Each one was used for at least a fortnight before we wrote about it.",
];
#[rustfmt::skip]
const ROUNDUP_FOCUS: &[&str] = &[
    "This time the focus is on {c}, now available in several new formats.",
    "Launches with {c} keep turning up on the shelves, and a few stand out.",
];
/// One sentence each about a product, no content word shared.
/// Sentences about a product; their content words are used once.
#[rustfmt::skip]
const PRODUCT: &[&str] = &[
    "The texture is {tex}.", "Our tester used it {when} for {span} without a problem.", "It comes in a pump bottle.",
    "The maker says it was trialled on volunteers.", "Anyone after {res} skin with little fuss will like it.",
    "The packaging is recyclable.", "A travel size is on sale too.",
    "It left no white cast on our testers' darker complexions.", "It dries down quickly without pilling.",
    "A refill for the jar is available.", "Shipping is free on the brand's own website.",
    "The smell is faint and fades fast.",
];
#[rustfmt::skip]
const PRICE: &[&str] = &[
    "It costs \u{20b9}{price} for {ml} ml.", "It is priced at \u{20b9}{price} ({ml} ml).",
    "Expect to pay \u{20b9}{price} for {ml} ml.", "A {ml} ml tube sells for \u{20b9}{price}.",
    "The {ml} ml version is \u{20b9}{price}.",
];

#[rustfmt::skip]
const BRAND: [&[&str]; 2] = [
    &["Aur", "Vel", "Kes", "Noor", "Tar", "Mir", "Sol", "Ved", "Ila", "Rue", "Zen", "Amb", "Kai", "Ora", "Pri",
      "Sar", "Tvi", "Uma", "Yas", "Dhe"],
    &["ora", "ique", "ana", "eve", "ix", "elle", "ica", "aya", "is", "enna", "ara", "ino", "ela", "uma", "essa", "ova"],
];

// Story sentences: no concept but the article's own {c} and those a story lists.
#[rustfmt::skip]
const FESTIVE: &[&str] = &[
    "Bookings rise every year in the weeks before Diwali and the wedding season.",
    "Many patients want to look their best for Navratri and the family functions that follow.",
    "Doctors advise booking at least two weeks ahead, not two days.",
    "Festival pictures are a big motivator, doctors in {city} admit.",
    "Anything done the day before a celebration is a gamble most doctors refuse.",
    "Event planners now fit clinic slots into the calendar well in advance.",
];
#[rustfmt::skip]
const POLY: &[&str] = &[
    "The treatment was first used in wound care before clinics adopted it for the face.",
    "Requests started in {city} after celebrities posted about it.", "Most courses involve three visits in all.",
    "Each visit involves dozens of tiny pricks across the face.",
];
#[rustfmt::skip]
const AZELAIC: &[&str] = &[
    "Doctors often choose it for women who are expecting.", "Higher strengths need a doctor's prescription.",
    "It can tingle for the first week or two.",
];
/// Mentions retinol once (kept out of the incidental mentions).
/// Mentions retinol once (kept out of the incidental mentions).
#[rustfmt::skip]
const BAKU: &[&str] = &["It is often marketed as a plant alternative to retinol."];
#[rustfmt::skip]
const HOME_NEEDLING: &[&str] = &[
    "At-home devices are cheap and come with little guidance.",
    "Clinic-grade pens reach further than rollers bought for the bathroom shelf, and are sterilised between patients.",
    "Infections from poorly cleaned kits are a frequent reason for clinic visits.",
    "Doctors warn that a derma roller used at home should never be shared.",
];
#[rustfmt::skip]
const EXO_PARENT: &[&str] = &[
    "Exosomes are tiny packets that cells release to signal to one another.",
    "The science of exosomes is young, and most studies so far are small.",
];
#[rustfmt::skip]
const EXO_PAIR: &[&str] = &[
    "In {city}, practitioners usually offer {c} straight after microneedling, when the skin is most receptive.",
    "Many practices now sell {c} together with microneedling as a single package.",
];
const EXO_CHILDREN: &[&str] =
    &["Menus list everything from an exosome facial to exosome therapy for the scalp."];
#[rustfmt::skip]
const SEA_FENNEL: &[&str] = &[
    "{C} is a coastal plant that grows wild on rocks and cliffs by the sea.",
    "Marketers pitch {c} as a botanical option for people who find strong acids harsh.",
    "Extracts of {c} are rich in antioxidants, according to early lab work.",
    "Searches for {c} have climbed on Indian shopping sites this season.",
];
#[rustfmt::skip]
const TREMELLA: &[&str] = &[
    "{C} is an edible fungus with a long history in Chinese cooking and medicine.",
    "Formulators like {c} because it binds a remarkable quantity of moisture.",
    "Some makers present {c} as a vegan stand-in for animal-derived humectants.",
    "Gels with {c} feel slippery rather than sticky.",
];

/// Planted articles: story ("": background), main concepts ("*": the next of
/// `NEW_SECONDARY`), one sentence from each story pool, (week, day)s; day 7
/// is the next Monday before 08:00.
type Plan = (&'static str, Pool, &'static [Pool], &'static [(u32, u32)]);
#[rustfmt::skip]
const PLAN: &[Plan] = &[
    ("festive-peels", &["chemical-peel"], &[FESTIVE], &[(9, 0), (9, 1), (9, 1), (9, 2), (9, 3), (9, 3), (9, 4), (9, 5), (9, 6)]),
    ("polynucleotide-burst", &["polynucleotides"], &[POLY], &[(11, 2), (11, 3), (11, 4), (11, 5), (11, 6), (12, 1)]),
    ("azelaic-ramp", &["azelaic-acid"], &[AZELAIC],
     &[(11, 4), (12, 1), (12, 5), (13, 3), (13, 4), (13, 4), (13, 5), (13, 6), (13, 7), (14, 0), (14, 2)]),
    ("bakuchiol-ramp", &["bakuchiol"], &[BAKU], &[(12, 3), (13, 1), (13, 4), (13, 6), (14, 0), (14, 2), (14, 3), (14, 4), (14, 6)]),
    ("", &["exosomes"], &[EXO_PARENT], &[(8, 3)]),
    ("exosome-clinics", &["exosome-facial", "microneedling"], &[EXO_PAIR, EXO_PARENT], &[(13, 1), (13, 4)]),
    ("exosome-clinics", &["plant-exosomes", "microneedling"], &[EXO_PAIR, EXO_PARENT], &[(13, 2), (13, 5)]),
    ("exosome-clinics", &["exosome-therapy", "microneedling"], &[EXO_PAIR, EXO_PARENT], &[(13, 3)]),
    ("exosome-clinics", &["exosomes", "microneedling"], &[EXO_PAIR, EXO_CHILDREN], &[(13, 6)]),
    ("sea-fennel", &["sea fennel", "*"], &[SEA_FENNEL, SEA_FENNEL], &[(11, 5), (12, 2), (12, 4), (12, 6), (13, 1), (13, 3), (13, 5), (13, 6)]),
    ("microneedling-at-home", &["microneedling"], &[HOME_NEEDLING, HOME_NEEDLING], &[(15, 0), (15, 2), (15, 3), (15, 5), (15, 6)]),
    ("tremella", &["tremella", "*"], &[TREMELLA, TREMELLA], &[(15, 1), (15, 3), (15, 4), (15, 6)]),
];

// Health articles: no vocabulary alias anywhere.
#[rustfmt::skip]
const DIABETES_TITLES: &[&str] = &[
    "HbA1c explained: what the three-month number tells you", "Blood sugar after meals: why the spike matters",
    "Insulin myths that keep people from starting treatment",
    "A week of diabetes-friendly meals from an Indian kitchen", "World Diabetes Day: the tests adults should ask for",
    "Walking after dinner and blood sugar: what studies show", "Prediabetes is common in India, and it can be reversed",
    "Gestational diabetes: what expectant mothers should know",
];
#[rustfmt::skip]
const DIABETES: &[&str] = &[
    "HbA1c reflects average blood sugar over roughly three months.",
    "A reading of {a1c} percent or above is an important threshold for doctors.",
    "Fasting glucose is checked after at least eight hours without food.",
    "Insulin is not a punishment or a last resort; it is a hormone the body needs.",
    "Many adults in India live with high blood sugar for years without knowing it.",
    "Walking for ten to fifteen minutes after a meal can blunt the rise in glucose.",
    "Swapping refined flour for millets such as ragi and jowar adds fibre.",
    "Portion size matters as much as what is on the plate.",
    "A plate that is half vegetables, a quarter protein and a quarter grains is an easy guide.",
    "Sugary drinks raise glucose faster than the same sugar eaten with a meal.",
    "Metformin remains the usual first medicine for type 2 diabetes.",
    "Regular eye and kidney checks catch complications early.",
    "Foot care is easy to neglect, and small cuts deserve attention.",
    "Family history raises the risk, but daily habits still matter.",
    "Gestational diabetes usually resolves after delivery, but the long-term risk stays higher.",
    "Skipping meals can lead to low blood sugar in people on some medicines.",
    "Low blood sugar can cause shakiness, sweating and confusion.",
    "Home glucose meters cost far less than they did a decade ago.",
    "Continuous glucose monitors show how different foods affect each person.",
    "Screening is recommended for adults over {age} even without symptoms.",
    "Losing even five percent of body weight can improve blood sugar control.",
    "Dal, curd and eggs are affordable sources of protein for most households.",
    "World Diabetes Day on 14 November is a reminder to book a blood test.",
    "Festive sweets are fine in small amounts when the rest of the day is planned.",
    "\u{201c}Most of my patients find the diet changes harder than the medicines,\u{201d} says {edr}.",
    "\u{201c}An HbA1c test once a year is a small price for an early warning,\u{201d} says {edr}.",
    "\u{201c}Starting insulin early is not a failure,\u{201d} says {edr}.",
    "\u{201c}Blood sugar responds to walking faster than people expect,\u{201d} says {edr}.",
];
#[rustfmt::skip]
const WELLNESS_TITLES: &[&str] = &[
    "How much sleep do adults really need?", "Staying hydrated when the heat will not let up",
    "Desk posture: small fixes for a sore back", "Tired eyes from screens: simple habits that help",
    "Why a daily walk beats a weekend workout", "Fever season: when to see a doctor",
    "Blood pressure checks: how often and why",
];
#[rustfmt::skip]
const WELLNESS: &[&str] = &[
    "Adults need seven to nine hours of sleep, and few city dwellers get it.",
    "Drink water through the day rather than all at once.",
    "A short walk every hour breaks up long stretches of sitting.", "Screens before bed delay sleep for many people.",
    "Heat exhaustion is more likely when humidity is high.",
    "Stretching the neck and shoulders takes two minutes and helps desk workers.",
    "A yearly check-up covers blood pressure and basic blood tests.",
    "Tender coconut water and buttermilk are traditional ways to replace fluids.",
    "Regular meals keep energy steady through the working day.",
    "A fever that lasts more than three days should be seen by a doctor.",
    "Every twenty minutes, look at something twenty feet away for twenty seconds.",
    "Strength training twice a week protects muscles and bones.",
    "Smoking and alcohol both raise the risk of heart disease.",
    "Blood pressure often rises without symptoms, so check it regularly.",
    "Cooking at home makes it easier to control salt and oil.", "A regular bedtime matters as much as the hours slept.",
    "Short breaks from the screen help concentration later in the day.",
    "\u{201c}Small habits, kept up for years, matter more than any single test,\u{201d} says {edr}.",
    "\u{201c}Most people I see need more sleep, not more supplements,\u{201d} says {edr}.",
];
/// Sentences, tags and summary of diabetes and of wellness articles.
#[rustfmt::skip]
const HEALTH: [(Pool, Pool, &str); 2] = [
    (DIABETES, &["diabetes", "blood sugar", "health"],
     "What the latest guidance means for blood sugar, diet and daily routine, with advice from specialists."),
    (WELLNESS, &["health", "wellness"], "Simple, evidence-based habits for everyday health, with advice from doctors."),
];
#[rustfmt::skip]
const HEALTH_HEADINGS: &[&str] =
    &["What the numbers mean", "Food and daily routine", "When to see a doctor", "The bottom line"];

/// A list of templates or words.
type Pool = &'static [&'static str];

fn cap(s: &str) -> String {
    let mut ch = s.chars();
    ch.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(ch).collect())
}

/// Paragraphs of sentences; a heading is a block of one.
type Blocks = Vec<(bool, Vec<String>)>;

/// Title, summary, body and tags.
type Draft = (String, String, Blocks, Vec<String>);

struct Gen {
    rng: ChaCha8Rng,
    /// Floor-or-ceiling background counts instead of Poisson draws.
    smooth: bool,
    brands: Vec<String>,
    /// Turns of `NEW_SECONDARY`.
    secondary: usize,
    /// Doctors quoted in the article being written.
    quoted: Vec<usize>,
    /// Title templates used in the current story, and the story.
    titles: Vec<usize>,
    story: &'static str,
    out: Vec<StoryArticle>,
}

impl Gen {
    /// A Poisson draw (Knuth's product of uniforms; rates here are small).
    fn poisson(&mut self, rate: f64) -> usize {
        let limit = (-rate).exp();
        let mut k = 0;
        let mut p: f64 = self.rng.random();
        while p > limit && k < 64 {
            k += 1;
            p *= self.rng.random::<f64>();
        }
        k
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1) as u32) as usize
    }

    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        self.rng.random_range(lo..=hi)
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// `t` with its slots filled; `cs` are the concepts of {c} and {d}.
    fn fill(&mut self, t: &str, cs: &[usize]) -> String {
        let mut out = String::with_capacity(t.len() + 40);
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let Some(j) = rest[i..].find('}') else { break };
            let (key, c) = (&rest[i + 1..i + j], cs.first().copied().unwrap_or(0));
            let v = match key {
                "c" => self.pick(CONCEPTS[c].3).to_owned(),
                "C" => cap(self.pick(CONCEPTS[c].3)),
                "d" => self
                    .pick(CONCEPTS[cs.get(1).copied().unwrap_or(c)].3)
                    .to_owned(),
                "dr" | "drn" => {
                    let mut d = self.below(DOCTORS.len());
                    while self.quoted.contains(&d) && self.quoted.len() < DOCTORS.len() {
                        d = self.below(DOCTORS.len());
                    }
                    self.quoted.push(d);
                    let (name, role) = DOCTORS[d];
                    if key == "dr" {
                        format!("{name}, {role}")
                    } else {
                        name.to_owned()
                    }
                }
                _ => match SLOTS.iter().find(|s| s.0 == key) {
                    Some((_, pool)) => {
                        let v = self.pick(pool);
                        self.fill(v, &[])
                    }
                    None => key.to_owned(),
                },
            };
            out.push_str(&v);
            rest = &rest[i + j + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A template of `pool` not yet in `used` (when there is one).
    fn choose(&mut self, pool: Pool, used: &mut Vec<usize>) -> &'static str {
        let mut t = pool[0];
        for _ in 0..12 {
            t = self.pick(pool);
            if !used.contains(&(t.as_ptr() as usize)) {
                break;
            }
        }
        used.push(t.as_ptr() as usize);
        t
    }

    fn take(&mut self, pool: Pool, cs: &[usize], used: &mut Vec<usize>) -> String {
        let t = self.choose(pool, used);
        self.fill(t, cs)
    }

    /// As `fill`, sometimes with a tail ("..., doctors say.") not yet in `used`.
    fn tailed(&mut self, t: &str, cs: &[usize], used: &mut Vec<usize>) -> String {
        let s = self.fill(t, cs);
        let tail = self.pick(TAILS);
        match s.strip_suffix('.') {
            Some(stem)
                if self.rng.random_bool(0.2) && !used.contains(&(tail.as_ptr() as usize)) =>
            {
                used.push(tail.as_ptr() as usize);
                self.fill(&format!("{stem}{tail}."), &[])
            }
            _ => s,
        }
    }

    fn told(&mut self, pool: Pool, cs: &[usize], used: &mut Vec<usize>) -> String {
        let t = self.choose(pool, used);
        self.tailed(t, cs, used)
    }

    /// `first`, then `jobs` shuffled and topped up from `filler`, in `paras`
    /// paragraphs of 2-4 sentences, with headings before the second, a
    /// middle and the last paragraph.
    fn layout(
        &mut self,
        first: String,
        mut jobs: Vec<String>,
        headings: Vec<String>,
        filler: Pool,
        used: &mut Vec<usize>,
        paras: (u32, u32),
    ) -> Blocks {
        let mut sizes: Vec<usize> = (0..self.range(paras.0, paras.1))
            .map(|_| [2, 3, 3, 3, 3, 4, 4, 4][self.below(8)])
            .collect();
        while sizes.iter().sum::<usize>() < jobs.len() + 3 {
            match sizes.iter().position(|s| *s < 4) {
                Some(i) => sizes[i] += 1,
                None => sizes.push(3),
            }
        }
        let wanted = sizes.iter().sum::<usize>() - jobs.len() - 1;
        let mut fresh: Vec<&'static str> = filler.to_vec();
        fresh.retain(|t| !used.contains(&(t.as_ptr() as usize)));
        self.shuffle(&mut fresh);
        // Tails ("..., doctors say") only in skincare articles.
        let tails = std::ptr::eq(filler, GENERIC);
        for t in fresh.into_iter().take(wanted) {
            used.push(t.as_ptr() as usize);
            jobs.push(if tails {
                self.tailed(t, &[], used)
            } else {
                self.fill(t, &[])
            });
        }
        self.shuffle(&mut jobs);
        jobs.insert(0, first);
        let mut it = jobs.into_iter();
        let paras: Vec<Vec<String>> = sizes
            .iter()
            .map(|n| it.by_ref().take(*n).collect())
            .collect();
        let paras: Vec<Vec<String>> = paras.into_iter().filter(|p| !p.is_empty()).collect();
        let n = paras.len();
        let (at, mut heads) = ([1, n / 2 + 1, n - 1], headings.into_iter());
        let mut blocks = Vec::new();
        for (i, p) in paras.into_iter().enumerate() {
            if at.contains(&i)
                && let Some(h) = heads.next()
            {
                blocks.push((true, vec![h]));
            }
            blocks.push((false, p));
        }
        blocks
    }

    /// A skincare article about `mains` (the first leads), with story
    /// sentences `extras` that also mention the concepts in `avoid`.
    fn skincare(&mut self, mains: &[usize], extras: Vec<String>, avoid: &[usize]) -> Draft {
        let (m0, used) = (mains[0], &mut Vec::new());
        let kind = |m: usize| CONCEPTS[m].1 as usize;
        // Titles differ within a story (`titles` is cleared for each background article).
        let mut titles = std::mem::take(&mut self.titles);
        let pair = mains.len() > 1 && CONCEPTS[m0].1 != New && self.rng.random_bool(0.3);
        let t = self.choose(
            if pair { TITLE_PAIR } else { TITLES[kind(m0)] },
            &mut titles,
        );
        let title = self.fill(t, &mains[..mains.len().min(2)]);
        self.titles = titles;
        let summary = self.take(SUMMARY, &[m0], used);
        let first = self.take(LEDE[kind(m0)], &[m0], used);
        let mut jobs = Vec::new();
        for _ in 0..4 {
            jobs.push(self.take(SENT[kind(m0)], &[m0], used));
        }
        jobs.push(self.take(QUOTE, &[m0], used));
        for &m in &mains[1..] {
            for _ in 0..3 {
                jobs.push(self.take(SENT[kind(m)], &[m], used));
            }
        }
        let mut incidental: Vec<usize> = Vec::new();
        for _ in 0..self.range(1, 3) {
            let id = self.pick(INCIDENTAL);
            let ix = ci(id);
            if mains.contains(&ix) || avoid.contains(&ix) || incidental.contains(&ix) {
                continue;
            }
            incidental.push(ix);
            let s = match INCIDENTAL_SPECIAL.iter().find(|s| s.0 == id) {
                Some((_, pool)) => self.take(pool, &[], used),
                None => self.take(INCIDENTAL_KIND[kind(ix)], &[ix], used),
            };
            jobs.push(s);
        }
        jobs.extend(extras);
        if self.rng.random_bool(0.6) {
            jobs.push(self.take(QUOTE_GENERIC, &[], used));
        }
        let mut headings = vec![self.take(HEADINGS[kind(m0)], &[m0], used)];
        let m1 = mains.get(1).copied().unwrap_or(m0);
        headings.push(self.take(HEADINGS[kind(m1)], &[m1], used));
        headings.push(self.take(HEADINGS[5], &[], used));
        let mut blocks = self.layout(first, jobs, headings, GENERIC, used, (7, 8));
        let mut close = Vec::new();
        if self.rng.random_bool(0.7) {
            close.push(self.fill(REVIEWED, &[]));
        }
        close.push(CLOSING.to_owned());
        blocks.push((false, close));
        let concepts = mains.iter().filter(|m| CONCEPTS[**m].1 != New);
        let mut tags: Vec<String> = concepts.map(|m| CONCEPTS[*m].3[0].to_owned()).collect();
        let trendy = matches!(CONCEPTS[m0].1, Trend | New);
        for &(tag, p, q) in GENERIC_TAGS {
            if self.rng.random_bool(if trendy { q } else { p }) {
                tags.push(tag.to_owned());
            }
        }
        (title, summary, blocks, tags)
    }

    /// A launch roundup of one-off products, all with ingredient `main`.
    fn roundup(&mut self, main: usize) -> Draft {
        let used = &mut Vec::new();
        let title = self.take(ROUNDUP_TITLE, &[main], used);
        let summary = self.take(ROUNDUP_SUMMARY, &[main], used);
        let mut intro = vec![self.take(ROUNDUP_INTRO, &[], used)];
        intro.push(self.take(ROUNDUP_FOCUS, &[main], used));
        intro.push(self.take(ROUNDUP_INTRO, &[], used));
        let mut blocks = vec![(false, intro)];
        let name: Vec<String> = CONCEPTS[main].3[0].split(' ').map(cap).collect();
        for _ in 0..self.range(4, 5) {
            let brand = self.brands.pop().unwrap_or_else(|| "House".to_owned());
            blocks.push((true, vec![format!("{brand} {}", name.join(" "))]));
            let mut p = vec![self.take(PRICE, &[], used)];
            p.push(self.take(PRODUCT, &[main], used));
            p.push(self.take(PRODUCT, &[main], used));
            if self.rng.random_bool(0.5) {
                p.push(self.told(GENERIC, &[], used));
            }
            blocks.push((false, p));
        }
        let mut last = vec![
            self.told(GENERIC, &[], used),
            self.take(QUOTE_GENERIC, &[], used),
        ];
        last.push(CLOSING.to_owned());
        blocks.push((false, last));
        let mut tags = vec![CONCEPTS[main].3[0].to_owned(), "new launches".to_owned()];
        if self.rng.random_bool(0.3) {
            tags.push("news".to_owned());
        }
        (title, summary, blocks, tags)
    }

    /// A health article with no skincare concept: diabetes (title `i`) or wellness.
    fn health(&mut self, diabetes: Option<usize>) -> Draft {
        let used = &mut Vec::new();
        let (title, (pool, tags, summary)) = match diabetes {
            Some(i) => (DIABETES_TITLES[i % DIABETES_TITLES.len()], HEALTH[0]),
            None => (self.pick(WELLNESS_TITLES), HEALTH[1]),
        };
        let first = self.take(pool, &[], used);
        let mut jobs = Vec::new();
        if diabetes.is_some() {
            for _ in 0..4 {
                jobs.push(self.take(WELLNESS, &[], used));
            }
        }
        let headings = (0..3)
            .map(|_| self.take(HEALTH_HEADINGS, &[], used))
            .collect();
        let mut blocks = self.layout(first, jobs, headings, pool, used, (6, 7));
        blocks.push((false, vec![CLOSING.to_owned()]));
        let tags = tags.iter().map(|t| (*t).to_owned()).collect();
        (title.to_owned(), summary.to_owned(), blocks, tags)
    }

    fn push(&mut self, d: Draft, published: DateTime<Utc>, story: Option<&'static str>) {
        self.quoted.clear();
        let (title, summary, blocks, tags) = d;
        let mut body = String::new();
        for (heading, sentences) in &blocks {
            let tag = if *heading { "h2" } else { "p" };
            let text = sentences.join(" ");
            let text = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            body.push_str(&format!("<{tag}>{text}</{tag}>\n"));
        }
        let words = title.split(|c: char| !c.is_ascii_alphanumeric());
        let words = words.filter(|w| !w.is_empty()).take(8);
        let mut slug: Vec<String> = words.map(str::to_ascii_lowercase).collect();
        slug.push((self.out.len() + 1).to_string());
        let (slug, body_html) = (slug.join("-"), body);
        #[rustfmt::skip]
        self.out.push(StoryArticle { slug, title, summary, body_html, tags, published, story });
    }

    /// On `day` of week `w` (7: the next Monday before 08:00), or any time of
    /// the week (None), between 07:00 and 21:00 IST.
    fn time(&mut self, w: u32, day: Option<u32>) -> DateTime<Utc> {
        let window = week_start(w)..week_start(w) + Duration::weeks(1);
        loop {
            let t = match day {
                Some(7) => local(w, 7, self.range(420, 475)),
                Some(d) => local(w, d, self.range(540, 1259)),
                None => local(w, self.range(0, 7), self.range(420, 1259)),
            };
            if window.contains(&t) {
                return t;
            }
        }
    }

    fn background(&mut self, w: u32, phases: &[f64]) {
        let n = self.range(22, 28) as usize;
        let wellness = usize::from(self.rng.random_bool(0.7));
        let (roundups, planted) = if w == 12 {
            (0, 12)
        } else {
            (self.range(1, 3) as usize, 0)
        };
        let mut slots: Vec<usize> = Vec::new();
        for (i, &(id, _, rate, _)) in CONCEPTS.iter().enumerate() {
            let mut count = if self.smooth {
                let wf = f64::from(w);
                ((rate * wf + phases[i]).floor() - (rate * (wf - 1.0) + phases[i]).floor()) as usize
            } else {
                self.poisson(rate)
            };
            if id == "niacinamide" {
                count = NIACINAMIDE[w as usize - 1];
            }
            if QUIET.iter().any(|q| q.0 == id && q.1.contains(&w)) {
                count = 0;
            }
            slots.extend(std::iter::repeat_n(i, count));
        }
        self.shuffle(&mut slots);
        let mut roundup_mains = Vec::new();
        for _ in 0..roundups + planted {
            let p = slots.iter().position(|s| CONCEPTS[*s].1 == Ing);
            roundup_mains.push(p.map_or(0, |p| slots.remove(p)));
        }
        let regular = n - wellness - roundups;
        let mut mains: Vec<Vec<usize>> = (0..regular)
            .map(|_| slots.pop().into_iter().collect())
            .collect();
        while let Some(s) = slots.pop() {
            for _ in 0..30 {
                let a = self.below(regular);
                if mains[a].len() < 3 && !mains[a].contains(&s) {
                    mains[a].push(s);
                    break;
                }
            }
        }
        for m in mains.into_iter().filter(|m| !m.is_empty()) {
            self.titles.clear();
            let (d, t) = (self.skincare(&m, Vec::new(), &[]), self.time(w, None));
            self.push(d, t, None);
        }
        for (k, m) in roundup_mains.into_iter().enumerate() {
            let d = self.roundup(m);
            if k < roundups {
                let t = self.time(w, None);
                self.push(d, t, None);
            } else {
                let t = self.time(w, Some(k as u32 % 7));
                self.push(d, t, Some("launch-roundups"));
            }
        }
        if wellness == 1 {
            let (d, t) = (self.health(None), self.time(w, None));
            self.push(d, t, None);
        }
    }

    /// An article of `story` about `mains` ("*": the next common concept) on
    /// `day` of week `w`, with a sentence from each of `extras`.
    fn plant(&mut self, story: &'static str, mains: &[&str], extras: &[Pool], w: u32, day: u32) {
        let mut ms: Vec<usize> = Vec::new();
        for m in mains {
            if *m == "*" {
                self.secondary += 1;
                ms.push(ci(NEW_SECONDARY[self.secondary % NEW_SECONDARY.len()]));
            } else {
                ms.push(ci(m));
            }
        }
        if self.story != story {
            (self.story, self.titles) = (story, Vec::new());
        }
        let used = &mut Vec::new();
        let extras = extras
            .iter()
            .map(|pool| self.take(pool, &ms, used))
            .collect();
        let avoid: Vec<usize> = if story == "bakuchiol-ramp" {
            vec![ci("retinol")]
        } else {
            Vec::new()
        };
        let d = self.skincare(&ms, extras, &avoid);
        let t = self.time(w, Some(day));
        self.push(d, t, Some(story).filter(|s| !s.is_empty()));
    }

    fn stories(&mut self) {
        for &(story, mains, extras, days) in PLAN {
            for &(w, day) in days {
                self.plant(story, mains, extras, w, day);
            }
        }
        for (i, day) in [0, 1, 2, 2, 3, 4, 5, 6].into_iter().enumerate() {
            let (d, t) = (self.health(Some(i)), self.time(14, Some(day)));
            self.push(d, t, Some("diabetes-week"));
        }
        // One-offs every 10-12 days (days since week 1), never in the control weeks 10 and 16.
        let mut day = self.range(1, 4);
        loop {
            if day / 7 + 1 == 10 {
                day = 70 + self.range(0, 2);
            }
            if day / 7 + 1 >= 16 {
                break;
            }
            self.plant(
                "allantoin-one-offs",
                &["allantoin"],
                &[],
                day / 7 + 1,
                day % 7,
            );
            day += self.range(10, 12);
        }
    }
}

pub fn generate(seed: u64) -> Bench {
    generate_with(seed, false)
}

/// The same corpus with a background that never varies by chance (each
/// concept gets the floor or the ceiling of its weekly rate).
pub fn generate_smooth(seed: u64) -> Bench {
    generate_with(seed, true)
}

fn generate_with(seed: u64, smooth: bool) -> Bench {
    use Shape::*;
    let rng = ChaCha8Rng::seed_from_u64(seed);
    #[rustfmt::skip]
    let mut g = Gen { rng, smooth, brands: Vec::new(), secondary: 0, quoted: Vec::new(), titles: Vec::new(), story: "", out: Vec::new() };
    let brand = |a| BRAND[1].iter().map(move |b| format!("{a}{b}"));
    let mut brands: Vec<String> = BRAND[0].iter().flat_map(brand).collect();
    g.shuffle(&mut brands);
    g.brands = brands;
    let phases: Vec<f64> = CONCEPTS.iter().map(|_| g.rng.random::<f64>()).collect();
    for w in 1..=WEEKS {
        g.background(w, &phases);
    }
    g.stories();
    let mut articles = g.out;
    articles.sort_by(|a, b| {
        a.published
            .cmp(&b.published)
            .then_with(|| a.slug.cmp(&b.slug))
    });
    let reports: Vec<DateTime<Utc>> = (0..=(WEEKS - FIRST_REPORT_WEEK) as usize)
        .map(report)
        .collect();
    let a = &articles;
    let label = |story, shape, expect, positive: Vec<usize>, tolerated, not_entries, related_to| {
        let times = || {
            a.iter()
                .filter(move |x| x.story == Some(story))
                .map(|x| x.published)
        };
        let never = matches!(
            shape,
            Echo | OffTopicTagBurst | GenericTags | OneOffDays | Steady
        );
        let window = |r: usize| report(r) - Duration::weeks(1)..report(r);
        let onset = positive
            .first()
            .filter(|_| !never)
            .and_then(|&r| times().filter(|t| window(r).contains(t)).min());
        let first_article = times().min();
        Label {
            story,
            shape,
            expect,
            positive,
            tolerated,
            onset,
            first_article,
            not_entries,
            related_to,
        }
    };
    #[rustfmt::skip]
    let labels = vec![
        label("exosome-clinics", SplitSynonyms, "exosomes", vec![4], vec![],
              vec!["exosome-facial", "exosome-therapy", "plant-exosomes", "microneedling"], None),
        label("exosome-clinics", Echo, "microneedling", vec![4], vec![], vec!["microneedling"], Some("exosomes")),
        label("microneedling-at-home", Burst, "microneedling", vec![6], vec![], vec![], None),
        label("azelaic-ramp", Ramp, "azelaic-acid", vec![4], vec![3, 5], vec![], None),
        label("bakuchiol-ramp", Ramp, "bakuchiol", vec![5], vec![4, 6], vec![], None),
        label("polynucleotide-burst", Burst, "polynucleotides", vec![2], vec![3], vec![], None),
        label("diabetes-week", OffTopicTagBurst, "diabetes", vec![], vec![], vec!["diabetes", "blood-sugar", "health"], None),
        label("launch-roundups", GenericTags, "new-launches", vec![], vec![],
              vec!["news", "skin-trends", "new-launches", "explainer", "skincare"], None),
        label("sea-fennel", NewIngredient, "sea fennel", vec![3, 4], vec![], vec![], None),
        label("tremella", NewIngredient, "tremella", vec![6], vec![], vec![], None),
        label("allantoin-one-offs", OneOffDays, "allantoin", vec![], vec![], vec!["allantoin"], None),
        label("festive-peels", OldPulse, "chemical-peel", vec![0], vec![], vec![], None),
        label("steady-sunscreen", Steady, "sunscreen", vec![], vec![], vec!["sunscreen"], None),
        label("steady-retinol", Steady, "retinol", vec![], vec![], vec!["retinol"], None),
        label("rising-niacinamide", Steady, "niacinamide", vec![], vec![3, 4, 5, 6], vec!["niacinamide"], None),
        label("steady-hyaluronic-acid", Steady, "hyaluronic-acid", vec![], vec![], vec!["hyaluronic-acid"], None),
    ];
    Bench {
        articles,
        reports,
        control: vec![1, 7],
        labels,
    }
}
