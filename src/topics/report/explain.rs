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
            let per_week = f64::from(t.baseline_count) / weeks.max(1.0);
            format!(
                "{articles} {this}, against {} a week over the {} weeks before ({:.1}x the usual rate)",
                if per_week < 0.95 {
                    format!("{per_week:.1}")
                } else {
                    format!("{}", per_week.round())
                },
                weeks.round(),
                t.lift
            )
        }
        Status::Covered => format!("{articles} {this}: among the most covered, not trending"),
    }
}
