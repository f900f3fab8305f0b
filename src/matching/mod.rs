//! Who may be offered a request, and in what order: pure rules over the roster, each exclusion
//! with its reason, then the ranking and wave plan of `waves`.
//!
//! The hard rules, in order (the first that applies is recorded): directed pair, required skills
//! valid on the meeting date, paused after unanswered offers, blocked by the requestor, presence
//! (meetings within the presence horizon) or weekly availability (later ones), an overlapping
//! assignment (with a buffer), daily and weekly minute caps. Never reads the clock: `now` is a
//! parameter. Never does I/O.

pub mod profile;
pub mod waves;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::{EmailAddress, Interpreter, InterpreterId, LanguagePair};
use profile::{day_and_week, zone, Profile};
use waves::History;

/// Another assignment of a candidate: its start and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    pub start: DateTime<Utc>,
    pub minutes: i64,
}

/// What the store knows of one interpreter who holds the request's pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub interpreter: Interpreter,
    pub profile: Profile,
    /// Their other assignments around the meeting (for overlap and caps).
    pub bookings: Vec<Booking>,
    /// Acceptance and work history (the `preferred` and `fair_share_minutes` fields are filled
    /// in by `consider`).
    pub history: History,
}

/// The requestor's wishes, from `[[requestor]]` in the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences {
    pub preferred: Vec<EmailAddress>,
    pub blocked: Vec<EmailAddress>,
}

impl Preferences {
    fn lists(list: &[EmailAddress], who: &Interpreter) -> bool {
        list.iter()
            .any(|e| e.as_str().eq_ignore_ascii_case(who.email.as_str()))
    }
}

/// What the request needs.
#[derive(Debug, Clone)]
pub struct Need<'a> {
    pub pair: &'a LanguagePair,
    pub skills: &'a [String],
    /// `None`: no fixed time (treated as starting now for presence).
    pub start: Option<DateTime<Utc>>,
    pub duration_minutes: i64,
    pub preferences: &'a Preferences,
}

/// The tunable parts of the hard rules (`[matching]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Meetings starting within this need a live presence lease; later ones use availability.
    pub presence_horizon: Duration,
    /// Gap required between two assignments of one interpreter.
    pub overlap_buffer: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            presence_horizon: Duration::hours(1),
            overlap_buffer: Duration::minutes(15),
        }
    }
}

/// The rule texts `request explain` shows. Stable: they are stored.
pub mod rule {
    pub const PAIR: &str = "pair: does not interpret this direction";
    pub const SKILL: &str = "skill: lacks a required skill valid on the meeting date";
    pub const PAUSED: &str = "paused: left too many offers unanswered (going online un-pauses)";
    pub const BLOCKED: &str = "blocked: the requestor asked not to be sent them";
    pub const PRESENCE: &str = "presence: offline or lease expired (the meeting is soon)";
    pub const AVAILABILITY: &str = "availability: outside their weekly availability";
    pub const BUSY: &str = "busy: an overlapping assignment";
    pub const DAY_CAP: &str = "cap: daily minutes would be exceeded";
    pub const WEEK_CAP: &str = "cap: weekly minutes would be exceeded";
}

/// The first hard rule that excludes `c`, or `None` when they are eligible.
pub fn exclusion(
    c: &Candidate,
    need: &Need<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let i = &c.interpreter;
    let start = need.start.unwrap_or(now).max(now);
    let minutes = need.duration_minutes.max(1);
    let tz = zone(&i.timezone);
    if !i.pairs.contains(need.pair) {
        return Some(rule::PAIR);
    }
    let has_skill = |want: &String| {
        c.profile
            .skills
            .iter()
            .any(|s| &s.name == want && s.valid_at(start))
    };
    if !need.skills.iter().all(has_skill) {
        return Some(rule::SKILL);
    }
    if c.profile.paused_at.is_some() {
        return Some(rule::PAUSED);
    }
    if Preferences::lists(&need.preferences.blocked, i) {
        return Some(rule::BLOCKED);
    }
    if start - now <= rules.presence_horizon {
        if !i.is_online(now) {
            return Some(rule::PRESENCE);
        }
    } else if let Some(a) = &c.profile.availability {
        if !a.covers(start, minutes, tz) {
            return Some(rule::AVAILABILITY);
        }
    }
    let end = start + Duration::minutes(minutes);
    let overlaps = c.bookings.iter().any(|b| {
        let b_end = b.start + Duration::minutes(b.minutes);
        b.start < end + rules.overlap_buffer && start < b_end + rules.overlap_buffer
    });
    if overlaps {
        return Some(rule::BUSY);
    }
    let (day, week) = day_and_week(start, tz);
    let (mut on_day, mut in_week) = (minutes, minutes);
    for b in &c.bookings {
        let (d, w) = day_and_week(b.start, tz);
        if d == day {
            on_day += b.minutes;
        }
        if w == week {
            in_week += b.minutes;
        }
    }
    if c.profile.max_day_minutes.is_some_and(|cap| on_day > cap) {
        return Some(rule::DAY_CAP);
    }
    if c.profile.max_week_minutes.is_some_and(|cap| in_week > cap) {
        return Some(rule::WEEK_CAP);
    }
    None
}

/// The decision about one interpreter for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub interpreter: InterpreterId,
    /// `None`: eligible. Otherwise the rule that excluded them.
    pub excluded_by: Option<&'static str>,
}

/// Every candidate's decision, and the eligible ones' histories with `preferred` and their
/// fair share of minutes filled in (pool minutes split by weekly availability hours; no
/// availability counts as 40 hours). Candidates in `skip` (already offered) are left out of both.
pub fn consider(
    candidates: &[Candidate],
    need: &Need<'_>,
    rules: &Rules,
    skip: &HashSet<InterpreterId>,
    now: DateTime<Utc>,
) -> (Vec<Decision>, Vec<History>) {
    let weight = |c: &Candidate| {
        c.profile
            .availability
            .as_ref()
            .map_or(40.0, |a| a.weekly_hours())
            .max(1.0)
    };
    let pool_minutes: f64 = candidates.iter().map(|c| c.history.minutes_worked).sum();
    let pool_weight: f64 = candidates.iter().map(weight).sum::<f64>().max(1.0);
    let mut decisions = Vec::with_capacity(candidates.len());
    let mut eligible = Vec::new();
    for c in candidates
        .iter()
        .filter(|c| !skip.contains(&c.interpreter.id))
    {
        let excluded_by = exclusion(c, need, rules, now);
        decisions.push(Decision {
            interpreter: c.interpreter.id,
            excluded_by,
        });
        if excluded_by.is_none() {
            let mut h = c.history.clone();
            h.interpreter = c.interpreter.id;
            h.preferred = Preferences::lists(&need.preferences.preferred, &c.interpreter);
            h.fair_share_minutes = pool_minutes * weight(c) / pool_weight;
            eligible.push(h);
        }
    }
    (decisions, eligible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::profile::{Availability, Skill};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        // Tue 1 Dec 2026 14:00 UTC.
        Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap()
    }

    fn cand(id: i64, pairs: &[&str], online_for: Option<i64>) -> Candidate {
        Candidate {
            interpreter: Interpreter {
                id,
                name: format!("I{id}"),
                email: EmailAddress::parse(&format!("i{id}@example.com")).unwrap(),
                pairs: pairs
                    .iter()
                    .map(|p| LanguagePair::parse(p).unwrap())
                    .collect(),
                timezone: "UTC".into(),
                presence_until: online_for.map(|m| now() + Duration::minutes(m)),
                created_at: now(),
            },
            profile: Profile::default(),
            bookings: vec![],
            history: waves::History::newcomer(id),
        }
    }

    fn with(mut c: Candidate, f: impl FnOnce(&mut Candidate)) -> Candidate {
        f(&mut c);
        c
    }

    #[test]
    fn hard_rules_table() {
        let es_en = LanguagePair::parse("es:en").unwrap();
        let medical = vec!["medical".to_string()];
        let prefs = Preferences {
            preferred: vec![],
            blocked: vec![EmailAddress::parse("i7@example.com").unwrap()],
        };
        let soon = Need {
            pair: &es_en,
            skills: &medical,
            start: Some(now() + Duration::minutes(20)),
            duration_minutes: 60,
            preferences: &prefs,
        };
        let later = Need {
            start: Some(now() + Duration::days(2)), // Thu 3 Dec 14:00 UTC
            ..soon.clone()
        };
        let skilled = |c: Candidate| {
            with(c, |c| {
                c.profile.skills = vec![Skill::parse("medical").unwrap()]
            })
        };
        let booking = |hours: i64, minutes: i64| Booking {
            start: now() + Duration::hours(hours),
            minutes,
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, Candidate, &Need, Option<&str>)> = vec![
            ("eligible soon", skilled(cand(1, &["es:en"], Some(30))), &soon, None),
            ("wrong direction", skilled(cand(2, &["en:es"], Some(30))), &soon, Some(rule::PAIR)),
            ("no skill", cand(3, &["es:en"], Some(30)), &soon, Some(rule::SKILL)),
            ("expired skill", with(cand(4, &["es:en"], Some(30)), |c| {
                c.profile.skills = vec![Skill::parse("medical:2026-11-30").unwrap()] }), &soon, Some(rule::SKILL)),
            ("skill expires before the meeting", with(cand(5, &["es:en"], None), |c| {
                c.profile.skills = vec![Skill::parse("medical:2026-12-02").unwrap()] }), &later, Some(rule::SKILL)),
            ("paused", with(skilled(cand(6, &["es:en"], Some(30))), |c| c.profile.paused_at = Some(now())), &soon, Some(rule::PAUSED)),
            ("blocked", skilled(cand(7, &["es:en"], Some(30))), &soon, Some(rule::BLOCKED)),
            ("offline, soon", skilled(cand(8, &["es:en"], None)), &soon, Some(rule::PRESENCE)),
            ("lease expired", skilled(cand(9, &["es:en"], Some(-1))), &soon, Some(rule::PRESENCE)),
            ("offline, later, no availability set", skilled(cand(10, &["es:en"], None)), &later, None),
            ("later, inside availability", with(skilled(cand(11, &["es:en"], None)), |c| {
                c.profile.availability = Some(Availability::parse("mon-fri 09:00-17:00").unwrap()) }), &later, None),
            ("later, outside availability", with(skilled(cand(12, &["es:en"], None)), |c| {
                c.profile.availability = Some(Availability::parse("sat-sun 09:00-17:00").unwrap()) }), &later, Some(rule::AVAILABILITY)),
            ("overlapping assignment", with(skilled(cand(13, &["es:en"], Some(30))), |c| c.bookings = vec![booking(1, 30)]), &soon, Some(rule::BUSY)),
            ("inside the buffer", with(skilled(cand(14, &["es:en"], Some(30))), |c| c.bookings = vec![Booking {
                start: now() + Duration::minutes(20 + 60 + 10), minutes: 30 }]), &soon, Some(rule::BUSY)),
            ("after the buffer", with(skilled(cand(15, &["es:en"], Some(30))), |c| c.bookings = vec![booking(2, 30)]), &soon, None),
            ("day cap", with(skilled(cand(16, &["es:en"], Some(30))), |c| {
                c.profile.max_day_minutes = Some(120); c.bookings = vec![booking(3, 90)] }), &soon, Some(rule::DAY_CAP)),
            ("day cap with room", with(skilled(cand(17, &["es:en"], Some(30))), |c| {
                c.profile.max_day_minutes = Some(150); c.bookings = vec![booking(3, 90)] }), &soon, None),
            ("week cap", with(skilled(cand(18, &["es:en"], Some(30))), |c| {
                c.profile.max_week_minutes = Some(200); c.bookings = vec![booking(30, 180)] }), &soon, Some(rule::WEEK_CAP)),
        ];
        for (what, c, need, want) in &cases {
            assert_eq!(
                exclusion(c, need, &Rules::default(), now()),
                *want,
                "{what}"
            );
        }
    }

    #[test]
    fn consider_skips_the_already_offered_and_fills_shares() {
        let es_en = LanguagePair::parse("es:en").unwrap();
        let prefs = Preferences {
            preferred: vec![EmailAddress::parse("i2@example.com").unwrap()],
            blocked: vec![],
        };
        let need = Need {
            pair: &es_en,
            skills: &[],
            start: Some(now()),
            duration_minutes: 60,
            preferences: &prefs,
        };
        let mut pool: Vec<Candidate> = (1..=4).map(|i| cand(i, &["es:en"], Some(60))).collect();
        pool[0].history.minutes_worked = 300.0;
        pool[1].profile.availability = Some(Availability::parse("mon-sun 00:00-24:00").unwrap());
        pool[3].interpreter.presence_until = None;
        let skip: HashSet<i64> = [3].into();
        let (decisions, eligible) = consider(&pool, &need, &Rules::default(), &skip, now());
        assert_eq!(decisions.len(), 3, "3 was offered already");
        assert_eq!(decisions[2].excluded_by, Some(rule::PRESENCE));
        let ids: Vec<i64> = eligible.iter().map(|h| h.interpreter).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(eligible[1].preferred && !eligible[0].preferred);
        assert!(
            eligible[1].fair_share_minutes > eligible[0].fair_share_minutes,
            "more availability, larger share: {eligible:?}"
        );
    }
}
