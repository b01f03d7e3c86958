//! Crontab lines as operators write them, turned into `cron` schedules.
//!
//! Operators write crontab(5): five fields, minute first, where day-of-week 0
//! and 7 are Sunday and 1 is Monday; or six fields with seconds first. The
//! `cron` crate wants seconds first and counts days of the week from
//! 1 = Sunday, so the day-of-week field is rewritten into day names, which
//! both dialects read the same way.

use chrono::{DateTime, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;

#[derive(Clone)]
pub struct CronLine {
    line: String,
    schedule: cron::Schedule,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid crontab line '{line}': {reason}")]
pub struct InvalidCron {
    pub line: String,
    pub reason: String,
}

const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

impl CronLine {
    pub fn parse(line: &str) -> Result<Self, InvalidCron> {
        let err = |reason: String| InvalidCron {
            line: line.to_owned(),
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(err(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found {n}"
                )));
            }
        };
        let dow = translate_day_of_week(rest[4]).map_err(err)?;
        let translated = format!(
            "{seconds} {} {} {} {} {dow}",
            rest[0], rest[1], rest[2], rest[3]
        );
        let schedule = cron::Schedule::from_str(&translated).map_err(|e| err(e.to_string()))?;
        // A line like "0 0 30 2 *" parses but never fires: say so now.
        if schedule.upcoming(Utc).next().is_none() {
            return Err(err("it never fires".to_owned()));
        }
        Ok(Self {
            line: line.to_owned(),
            schedule,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.line
    }

    /// The first fire time strictly after `after`, in the zone `tz`.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.schedule.after(after).next()
    }
}

impl fmt::Debug for CronLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronLine").field(&self.line).finish()
    }
}

/// Rewrites a crontab(5) day-of-week field (numbers 0-7, names, lists,
/// ranges, steps) into a list of day names.
fn translate_day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".to_owned());
    }
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: usize = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step '{s}' in day-of-week"))?;
                (r, step)
            }
            None => (part, 1),
        };
        // Raw numbers 0-7 here (7 is Sunday again); folded with % 7 below.
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            (day_number(a)?, day_number(b)?)
        } else {
            let d = day_number(range)?;
            // "1/2" in crontab means from 1 to the end, every 2.
            if part.contains('/') { (d, 6) } else { (d, d) }
        };
        if lo > hi {
            return Err(format!("day-of-week range '{range}' runs backwards"));
        }
        let mut d = lo;
        while d <= hi {
            days[d % 7] = true;
            d += step;
        }
    }
    if days.iter().all(|d| *d) {
        return Ok("*".to_owned());
    }
    Ok(days
        .iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .map(|(i, _)| DAY_NAMES[i])
        .collect::<Vec<_>>()
        .join(","))
}

fn day_number(s: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return match n {
            0..=7 => Ok(n),
            _ => Err(format!(
                "day-of-week '{s}' is out of range (0-7, 0 and 7 are Sunday)"
            )),
        };
    }
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("unknown day-of-week '{s}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn next(line: &str, after: &str) -> DateTime<Utc> {
        let at = DateTime::parse_from_rfc3339(after)
            .unwrap()
            .with_timezone(&Utc);
        CronLine::parse(line).unwrap().next_after(&at).unwrap()
    }

    #[test]
    fn day_numbers_mean_what_crontab_says() {
        // 2026-11-25 is a Wednesday.
        assert_eq!(
            next("0 8 * * 1", "2026-11-25T00:00:00Z").weekday(),
            Weekday::Mon
        );
        assert_eq!(
            next("0 8 * * 0", "2026-11-25T00:00:00Z").weekday(),
            Weekday::Sun
        );
        assert_eq!(
            next("0 8 * * 7", "2026-11-25T00:00:00Z").weekday(),
            Weekday::Sun
        );
        assert_eq!(
            next("0 8 * * Mon", "2026-11-25T00:00:00Z").weekday(),
            Weekday::Mon
        );
        assert_eq!(
            next("0 8 * * 5-7", "2026-11-25T00:00:00Z").weekday(),
            Weekday::Fri
        );
        assert_eq!(
            next("0 8 * * 1-5", "2026-11-28T00:00:00Z").weekday(),
            Weekday::Mon
        );
    }

    #[test]
    fn five_fields_fire_on_the_minute_six_on_the_second() {
        let t = next("*/15 * * * *", "2026-11-25T10:07:30Z");
        assert_eq!((t.minute(), t.second()), (15, 0));
        let t = next("*/10 * * * * *", "2026-11-25T10:07:31Z");
        assert_eq!((t.minute(), t.second()), (7, 40));
    }

    #[test]
    fn bad_lines_name_the_problem() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "0 8 * * 8",
            "0 8 * * Funday",
            "0 0 30 2 *",
        ] {
            let e = CronLine::parse(bad).unwrap_err();
            assert_eq!(e.line, bad);
        }
    }
}
