//! Crontab lines as operators write them, turned into `cron` schedules.
//!
//! Operators write crontab(5): five fields, minute first, where day-of-week 0
//! and 7 are Sunday and 1 is Monday; or six fields with seconds first. The
//! `cron` crate wants seconds first and counts days of the week from
//! 1 = Sunday, so the day-of-week field is rewritten into day names, which
//! both dialects read the same way.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
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

    /// The first fire time strictly after `after`, for a line read in the
    /// zone `tz`. Daylight-saving changes are handled the way people expect
    /// of a clock on the wall: a local time that does not exist that day
    /// (the spring-forward gap) fires once, at the first valid instant after
    /// the gap; a local time that happens twice (fall back) fires once, the
    /// first time. The `cron` crate alone would skip the first and fire the
    /// second twice.
    pub fn next_fire(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Walk the line over local wall-clock times ("floating", read as
        // UTC so no zone rules apply), then place each on the time line.
        let local = Utc.from_utc_datetime(&after.with_timezone(&tz).naive_local());
        let mut candidates = self.schedule.after(&local);
        // A wall clock that fell back an hour can offer times already past.
        for _ in 0..100_000 {
            let wall = candidates.next()?.naive_utc();
            let at = place(tz, wall)?;
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// The last fire time at or before `at` (the run `digest send --at`
    /// acts on), under the same rules as `next_fire`.
    pub fn last_fire(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Start a little past `at` in wall-clock time: after falling back,
        // the wall clock may read earlier than a fire that already happened.
        let local = at.with_timezone(&tz).naive_local() + chrono::Duration::hours(3);
        let mut candidates = self.schedule.after(&Utc.from_utc_datetime(&local));
        for _ in 0..100_000 {
            let wall = candidates.next_back()?.naive_utc();
            let fire = place(tz, wall)?;
            if fire <= at && self.next_fire(fire - chrono::Duration::seconds(1), tz) == Some(fire) {
                return Some(fire);
            }
        }
        None
    }

    /// The next `count` fire times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, tz: Tz, count: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(count);
        let mut t = after;
        while out.len() < count {
            match self.next_fire(t, tz) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// The instant a wall-clock time in `tz` stands for: the earlier of two for
/// an ambiguous time, the end of the gap for a time that is skipped.
fn place(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // Zone changes fall on whole minutes: step minute by minute to
            // the first wall-clock time that exists again.
            let mut m = wall.with_second(0)?.with_nanosecond(0)?;
            for _ in 0..(48 * 60) {
                m += chrono::Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&m).earliest() {
                    return Some(t.with_timezone(&Utc));
                }
            }
            None
        }
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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(line: &str, after: &str) -> DateTime<Utc> {
        CronLine::parse(line)
            .unwrap()
            .next_fire(utc(after), chrono_tz::UTC)
            .unwrap()
    }

    fn fires(line: &str, tz: Tz, from: &str, count: usize) -> Vec<String> {
        CronLine::parse(line)
            .unwrap()
            .upcoming(utc(from), tz, count)
            .iter()
            .map(|t| t.with_timezone(&tz).to_rfc3339())
            .collect()
    }

    #[test]
    fn berlin_spring_forward_fires_once_at_the_end_of_the_gap() {
        // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            fires("30 2 * * *", berlin, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00"
            ]
        );
        // Several times inside the gap still fire once, together with 03:00.
        assert_eq!(
            fires("*/20 2-3 * * *", berlin, "2026-03-29T00:30:00Z", 4),
            [
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:20:00+02:00",
                "2026-03-29T03:40:00+02:00",
                "2026-03-30T02:00:00+02:00"
            ]
        );
    }

    #[test]
    fn berlin_fall_back_fires_an_ambiguous_time_once() {
        // 2026-10-25: 02:00-03:00 happens twice (CEST, then CET).
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            fires("30 2 * * *", berlin, "2026-10-24T12:00:00Z", 3),
            [
                "2026-10-25T02:30:00+02:00",
                "2026-10-26T02:30:00+01:00",
                "2026-10-27T02:30:00+01:00"
            ]
        );
        let hourly = fires("0 * * * *", berlin, "2026-10-24T23:30:00Z", 4);
        assert_eq!(
            hourly,
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T03:00:00+01:00",
                "2026-10-25T04:00:00+01:00",
                "2026-10-25T05:00:00+01:00"
            ]
        );
    }

    #[test]
    fn new_york_changes_in_both_directions() {
        let ny = chrono_tz::America::New_York;
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(
            fires("30 2 * * *", ny, "2026-03-07T12:00:00Z", 2),
            ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00"][..]
                .iter()
                .skip(1)
                .chain(["2026-03-09T02:30:00-04:00"].iter())
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>()
        );
        // 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
        assert_eq!(
            fires("30 1 * * *", ny, "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
    }

    #[test]
    fn last_fire_is_the_run_a_send_acts_on() {
        let kolkata = chrono_tz::Asia::Kolkata;
        let weekly = CronLine::parse("0 8 * * Mon").unwrap();
        // Thursday 2026-11-26: the last Monday 08:00 IST was 2026-11-23.
        assert_eq!(
            weekly.last_fire(utc("2026-11-26T10:00:00Z"), kolkata),
            Some(utc("2026-11-23T02:30:00Z"))
        );
        // Exactly at a fire time: that one.
        assert_eq!(
            weekly.last_fire(utc("2026-11-23T02:30:00Z"), kolkata),
            Some(utc("2026-11-23T02:30:00Z"))
        );
        // Across the fall-back hour, the first 01:30 in New York.
        let ny = chrono_tz::America::New_York;
        let daily = CronLine::parse("30 1 * * *").unwrap();
        assert_eq!(
            daily.last_fire(utc("2026-11-01T06:45:00Z"), ny),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        // In the spring gap, the end of the gap.
        let berlin = chrono_tz::Europe::Berlin;
        let night = CronLine::parse("30 2 * * *").unwrap();
        assert_eq!(
            night.last_fire(utc("2026-03-29T01:10:00Z"), berlin),
            Some(utc("2026-03-29T01:00:00Z"))
        );
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
