//! Why an entry is listed, in a sentence an editor would write.

use super::TrendingTopic;
use crate::topics::trending::Status;

/// "this week" for a 7-day window, else "in the last N days".
fn window_phrase(days: u32) -> String {
    match days {
        1 => "today".into(),
        7 => "this week".into(),
        d => format!("in the last {d} days"),
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why an entry is listed, as an editor would say it.
pub fn explain(t: &TrendingTopic, window_days: u32, baseline_days: u32) -> String {
    let this = window_phrase(window_days);
    let articles = plural(t.count, "article", "articles");
    let weeks = f64::from(baseline_days) / 7.0;
    match t.status {
        Status::New => format!(
            "{articles} {this}, none in the {} weeks before: new",
            weeks.round()
        ),
        Status::Rising => {
            // The test counts headlines when it counts fewer than all
            // articles: say so, with the headline figures it used.
            let headlined = t.headlines != t.count || t.baseline_headlines != t.baseline_count;
            let before = if headlined {
                t.baseline_headlines
            } else {
                t.baseline_count
            };
            let per_week = f64::from(before) / weeks.max(1.0);
            let rate = if per_week < 0.95 {
                format!("{per_week:.1}")
            } else {
                format!("{}", per_week.round())
            };
            let weeks = weeks.round();
            let lift = t.lift;
            if headlined {
                format!(
                    "{articles} {this}, {} of them headlined on it, against {rate} such \
                     headlines a week over the {weeks} weeks before ({lift:.1}x the usual rate)",
                    t.headlines
                )
            } else {
                format!(
                    "{articles} {this}, against {rate} a week over the {weeks} weeks before \
                     ({lift:.1}x the usual rate)"
                )
            }
        }
        Status::Covered => format!("{articles} {this}: among the most covered, not trending"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rising(count: u32, headlines: u32, baseline: u32, baseline_headlines: u32) -> TrendingTopic {
        TrendingTopic {
            id: "azelaic-acid".into(),
            label: "Azelaic acid".into(),
            status: Status::Rising,
            count,
            baseline_count: baseline,
            headlines,
            baseline_headlines,
            score: 5.0,
            lift: 6.25,
            feed: String::new(),
            first_seen: String::new(),
            weekly: Vec::new(),
            includes: Vec::new(),
            related: Vec::new(),
            articles: Vec::new(),
            why: String::new(),
            ancestors: Vec::new(),
        }
    }

    #[test]
    fn the_sentence_gives_the_figures_the_test_used() {
        // Every article headlined on it: the counts are the test's.
        assert_eq!(
            explain(&rising(6, 6, 4, 4), 7, 56),
            "6 articles this week, against 0.5 a week over the 8 weeks before (6.2x the usual rate)"
        );
        // Some only mention it: the sentence says which the test counted.
        assert_eq!(
            explain(&rising(9, 6, 12, 4), 7, 56),
            "9 articles this week, 6 of them headlined on it, against 0.5 such headlines a \
             week over the 8 weeks before (6.2x the usual rate)"
        );
    }
}
