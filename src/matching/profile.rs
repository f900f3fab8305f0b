//! What the roster knows about an interpreter beyond name and pairs, for the hard rules: skills
//! with expiry, weekly availability in their own zone, minute caps, and the pause after
//! unanswered offers. Pure values parsed into existence (`Availability::parse`,
//! `Skill::parse`); no I/O, no clock.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

/// A skill or certification, valid until `expires_at` (exclusive) when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skill {
    pub name: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Skill {
    /// `medical` or `medical:2027-06-30` (valid through that day, UTC).
    pub fn parse(s: &str) -> Result<Skill, String> {
        let (name, expiry) = match s.split_once(':') {
            Some((n, e)) => (n, Some(e)),
            None => (s, None),
        };
        let name = normalize_skill(name)
            .ok_or_else(|| format!("skill {s:?}: the name must be letters, digits, - or _"))?;
        let expires_at = match expiry {
            None => None,
            Some(e) => {
                let day = NaiveDate::parse_from_str(e.trim(), "%Y-%m-%d").map_err(|_| {
                    format!("skill {s:?}: the expiry must be a date like 2027-06-30")
                })?;
                let next = day
                    .succ_opt()
                    .ok_or_else(|| format!("skill {s:?}: bad date"))?;
                Some(next.and_time(NaiveTime::MIN).and_utc())
            }
        };
        Ok(Skill { name, expires_at })
    }

    /// Whether it counts for a meeting at `at`.
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|e| at < e)
    }
}

/// Skill names compare lower-cased; `None` when the name has other characters.
pub fn normalize_skill(name: &str) -> Option<String> {
    let n = name.trim().to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(n)
}

/// One weekly window: these days, from `start` to `end` local time (same day).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
}

/// Weekly availability, e.g. `mon-fri 09:00-17:00; sat 10:00-14:00`, in the interpreter's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    windows: Vec<Window>,
    text: String,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter().position(|d| s.starts_with(d) && s.len() >= 3)
}

impl Availability {
    pub fn parse(s: &str) -> Result<Availability, String> {
        let mut windows = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                format!(
                    "availability {part:?}: write days and hours like \"mon-fri 09:00-17:00; sat 10:00-14:00\""
                )
            };
            let (days_s, hours_s) = part.split_once(char::is_whitespace).ok_or_else(bad)?;
            let mut days = [false; 7];
            for group in days_s.split(',') {
                match group.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                        let mut d = a;
                        loop {
                            days[d] = true;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    }
                    None => days[day_index(group).ok_or_else(bad)?] = true,
                }
            }
            let (a, b) = hours_s.trim().split_once('-').ok_or_else(bad)?;
            let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
            let end = match b.trim() {
                "24:00" => NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(bad)?,
                b => NaiveTime::parse_from_str(b, "%H:%M").map_err(|_| bad())?,
            };
            if end <= start {
                return Err(format!(
                    "availability {part:?}: the end must be after the start (split windows that cross midnight)"
                ));
            }
            windows.push(Window { days, start, end });
        }
        if windows.is_empty() {
            return Err("availability is empty: leave it unset for \"any time\"".into());
        }
        Ok(Availability {
            windows,
            text: s.trim().to_string(),
        })
    }

    /// Whether `[start, start + minutes]` lies inside one window, read in zone `tz`.
    pub fn covers(&self, start: DateTime<Utc>, minutes: i64, tz: Tz) -> bool {
        let from = start.with_timezone(&tz);
        let to = (start + Duration::minutes(minutes)).with_timezone(&tz);
        let day = from.weekday().num_days_from_monday() as usize;
        self.windows.iter().any(|w| {
            w.days[day]
                && from.date_naive() == to.date_naive()
                && from.time() >= w.start
                && to.time() <= w.end
        })
    }

    /// Hours available per week: the fairness weight.
    pub fn weekly_hours(&self) -> f64 {
        self.windows
            .iter()
            .map(|w| {
                let days = w.days.iter().filter(|d| **d).count() as f64;
                days * (w.end - w.start).num_minutes() as f64 / 60.0
            })
            .sum()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The hard-rule facts of one interpreter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub skills: Vec<Skill>,
    pub availability: Option<Availability>,
    pub max_day_minutes: Option<i64>,
    pub max_week_minutes: Option<i64>,
    pub paused_at: Option<DateTime<Utc>>,
    /// Offers left unanswered in a row.
    pub unanswered: i64,
}

/// The start of the (local) day and ISO week of `at` in `tz`, as comparable keys.
pub fn day_and_week(at: DateTime<Utc>, tz: Tz) -> (NaiveDate, (i32, u32)) {
    let local = at.with_timezone(&tz);
    let iso = local.iso_week();
    (local.date_naive(), (iso.year(), iso.week()))
}

/// Parses a zone name, falling back to UTC (the roster validates zones on entry).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// The weekday of a day index (tests, display).
pub fn weekday(i: usize) -> Weekday {
    Weekday::try_from(i as u8).unwrap_or(Weekday::Mon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn skills_parse_with_and_without_expiry() {
        let s = Skill::parse("Medical:2027-06-30").unwrap();
        assert_eq!(s.name, "medical");
        let last_day = Utc.with_ymd_and_hms(2027, 6, 30, 23, 0, 0).unwrap();
        assert!(s.valid_at(last_day));
        assert!(!s.valid_at(last_day + Duration::hours(1)));
        assert!(Skill::parse("legal").unwrap().valid_at(last_day));
        assert!(Skill::parse("le gal").is_err());
        assert!(Skill::parse("legal:30/06/2027").is_err());
    }

    #[test]
    fn availability_reads_days_and_hours_in_the_zone() {
        let a = Availability::parse("mon-fri 09:00-17:00; sat 10:00-14:00").unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // Thu 3 Dec 2026 10:00 EST = 15:00 UTC.
        let thu10 = Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap();
        assert!(a.covers(thu10, 60, ny));
        assert!(!a.covers(thu10, 8 * 60, ny), "runs past 17:00");
        assert!(
            a.covers(thu10, 60, Tz::UTC),
            "15:00-16:00 UTC is inside in UTC too"
        );
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert!(!a.covers(thu10, 60, tokyo), "midnight in Tokyo");
        let sun = Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap();
        assert!(!a.covers(sun, 30, ny));
        assert_eq!(a.weekly_hours(), 5.0 * 8.0 + 4.0);
        let wrap = Availability::parse("fri-mon 08:00-12:00").unwrap();
        assert_eq!(wrap.weekly_hours(), 16.0);
    }

    #[test]
    fn availability_errors_say_how_to_write_it() {
        for bad in ["", "weekdays 9-5", "mon 17:00-09:00", "mon 09:00"] {
            let e = Availability::parse(bad).unwrap_err();
            assert!(e.contains("availability"), "{bad:?}: {e}");
        }
    }
}
