//! The store's matching vocabulary (issue #5): what a wave, a timer and a decision look like
//! on their way into the database, and how the rows of a matching pool fold into
//! `matching::Candidate`s. No SQL here: the queries are in `sqlite.rs` and `postgres.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{from_millis, NewEmail, NewOffer, StoreError, StoreResult};
use crate::domain::{Interpreter, InterpreterId, OfferState, Request, RequestId};
use crate::matching::profile::{Availability, Profile, Skill};
use crate::matching::waves::History;
use crate::matching::{Booking, Candidate};

/// What matching decided for a new request, written with it at ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchPlan {
    /// Skills the route requires.
    pub skills: Vec<String>,
    pub duration_minutes: i64,
    /// The ranking's tie-break seed.
    pub seed: i64,
    pub decisions: Vec<DecisionRecord>,
    /// When the next wave goes (or matching is retried when nobody was eligible).
    pub next_wave_at: Option<DateTime<Utc>>,
    /// When the requestor is told that nobody accepted (no fixed time: none).
    pub deadline_at: Option<DateTime<Utc>>,
    /// When an unaccepted request becomes unfilled.
    pub close_at: DateTime<Utc>,
}

/// A calendar event's identity as a request stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarKey {
    pub uid: String,
    pub sequence: i64,
    /// `METHOD:CANCEL`.
    pub cancel: bool,
}

/// A calendar update's new timing (issue #5).
#[derive(Debug, Clone, PartialEq)]
pub struct Reschedule {
    pub start: DateTime<Utc>,
    pub sequence: i64,
    pub deadline_at: DateTime<Utc>,
    pub close_at: DateTime<Utc>,
    pub noshow_at: DateTime<Utc>,
}

/// One stored decision: the rule that excluded the interpreter, or their score and rank.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub interpreter_id: InterpreterId,
    pub excluded_by: Option<String>,
    /// The score components as JSON (`matching::waves::Ranked`).
    pub score: Option<String>,
    pub rank: Option<i64>,
    /// The wave they were offered in.
    pub wave: Option<i64>,
}

/// A later wave, written in one transaction fenced by the request's epoch.
#[derive(Debug, Clone)]
pub struct WaveRecord {
    pub request_id: RequestId,
    /// The epoch the timer was scheduled under: an accept since then makes this a no-op.
    pub epoch: i64,
    pub timer_id: i64,
    pub wave: i64,
    pub offers: Vec<NewOffer>,
    pub decisions: Vec<DecisionRecord>,
    pub next_wave_at: Option<DateTime<Utc>>,
    /// Offers of earlier waves still pending count as unanswered for their interpreters; who
    /// reaches this many in a row is paused...
    pub pause_after: i64,
    /// ...and gets this email (prepared for every interpreter who might reach it).
    pub pause_emails: Vec<(InterpreterId, NewEmail)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Send the next wave (or retry matching).
    Wave,
    /// Tell the requestor (and the coordinator) that nobody accepted yet.
    Deadline,
    /// Give up: the request becomes unfilled.
    Close,
    /// Start + grace after an accept: did the interpreter join?
    NoShow,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Wave => "wave",
            TimerKind::Deadline => "deadline",
            TimerKind::Close => "close",
            TimerKind::NoShow => "noshow",
        }
    }

    pub fn parse(s: &str) -> StoreResult<TimerKind> {
        match s {
            "wave" => Ok(TimerKind::Wave),
            "deadline" => Ok(TimerKind::Deadline),
            "close" => Ok(TimerKind::Close),
            "noshow" => Ok(TimerKind::NoShow),
            other => Err(StoreError::Corrupt(format!("unknown timer kind {other:?}"))),
        }
    }
}

/// A claimed timer.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub id: i64,
    pub request_id: RequestId,
    pub kind: TimerKind,
    pub epoch: i64,
    pub due_at: DateTime<Utc>,
}

/// A request as matching sees it at a timer.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchingContext {
    pub request: Request,
    pub skills: Vec<String>,
    pub duration_minutes: i64,
    pub seed: i64,
    /// Every offer made so far: interpreter, wave, state.
    pub offers: Vec<(InterpreterId, i64, OfferState)>,
    /// The first wave of the current round (a no-show starts a new round).
    pub round_wave: i64,
    /// Interpreters whose assignment was released (never offered this request again).
    pub released: Vec<InterpreterId>,
}

impl MatchingContext {
    pub fn last_wave(&self) -> i64 {
        self.offers.iter().map(|(_, w, _)| *w).max().unwrap_or(0)
    }

    /// Who the next wave must skip: offered in this round, or released.
    pub fn skip(&self) -> std::collections::HashSet<InterpreterId> {
        self.offers
            .iter()
            .filter(|(_, w, _)| *w >= self.round_wave)
            .map(|(i, _, _)| *i)
            .chain(self.released.iter().copied())
            .collect()
    }
}

/// `interpreter remove`: deleted outright, or kept for the record (they have offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Deleted,
    Retired,
}

/// One line of `request explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainRow {
    pub interpreter_id: InterpreterId,
    pub name: String,
    pub excluded_by: Option<String>,
    pub score: Option<serde_json::Value>,
    pub rank: Option<i64>,
    pub wave: Option<i64>,
    pub decided_at: DateTime<Utc>,
    pub offered_at: Option<DateTime<Utc>>,
    pub offer_state: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
}

/// The rows of a matching pool query, per interpreter.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ProfileRow {
    pub id: i64,
    pub max_day_minutes: Option<i64>,
    pub max_week_minutes: Option<i64>,
    pub availability: Option<String>,
    pub paused_at: Option<i64>,
    pub unanswered: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SkillRow {
    pub interpreter_id: i64,
    pub skill: String,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OfferStatsRow {
    pub interpreter_id: i64,
    pub offers: i64,
    pub accepts: i64,
    pub recent_declines: i64,
    pub last_offer_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct BookingRow {
    pub interpreter_id: i64,
    pub start_at: i64,
    pub duration_minutes: i64,
    pub attended: i64,
}

/// One row of the matching pool's single query (`matching_sql`'s `pool`): the five parts of a
/// pool (interpreters with their pairs and profiles, skills, offer statistics, bookings) in one
/// `UNION ALL`, told apart by `part`, so reading a pool is one round trip. Generic columns: see
/// [`split_pool`] for what each part keeps where.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PoolRow {
    pub part: i64,
    pub id: i64,
    pub t1: Option<String>,
    pub t2: Option<String>,
    pub t3: Option<String>,
    pub t4: Option<String>,
    pub t5: Option<String>,
    pub t6: Option<String>,
    pub n1: Option<i64>,
    pub n2: Option<i64>,
    pub n3: Option<i64>,
    pub n4: Option<i64>,
    pub n5: Option<i64>,
    pub n6: Option<i64>,
}

/// The parts of a pool, as [`fold_pool`] takes them.
pub(crate) type PoolParts = (
    Vec<super::InterpreterPairRow>,
    Vec<ProfileRow>,
    Vec<SkillRow>,
    Vec<OfferStatsRow>,
    Vec<BookingRow>,
);

/// Splits the single pool query's rows (ordered by part, then interpreter id, then pair) into
/// the parts [`fold_pool`] folds. Part 0: an interpreter with one of its pairs (`t1` name,
/// `t2` email, `t3` time zone, `t4`/`t5` pair, `t6` availability; `n1` presence, `n2`
/// created, `n3`/`n4` day/week caps, `n5` paused, `n6` unanswered); part 1: a skill (`t1`,
/// `n1` expiry); part 2: offer statistics (`n1` offers, `n2` accepts, `n3` recent declines,
/// `n4` last offer); part 3: a booking (`n1` start, `n2` minutes, `n3` attended).
pub(crate) fn split_pool(rows: Vec<PoolRow>) -> StoreResult<PoolParts> {
    let (mut interpreters, mut profiles, mut skills, mut stats, mut bookings) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let missing = |what: &str, id: i64| {
        StoreError::Corrupt(format!("matching pool: interpreter {id} without {what}"))
    };
    for r in rows {
        match r.part {
            0 => {
                if profiles.last().is_none_or(|p: &ProfileRow| p.id != r.id) {
                    profiles.push(ProfileRow {
                        id: r.id,
                        max_day_minutes: r.n3,
                        max_week_minutes: r.n4,
                        availability: r.t6.clone(),
                        paused_at: r.n5,
                        unanswered: r.n6.unwrap_or(0),
                    });
                }
                interpreters.push(super::InterpreterPairRow {
                    id: r.id,
                    name: r.t1.ok_or_else(|| missing("name", r.id))?,
                    email: r.t2.ok_or_else(|| missing("email", r.id))?,
                    timezone: r.t3.ok_or_else(|| missing("time zone", r.id))?,
                    presence_until: r.n1,
                    created_at: r.n2.ok_or_else(|| missing("created_at", r.id))?,
                    from_lang: r.t4,
                    to_lang: r.t5,
                });
            }
            1 => skills.push(SkillRow {
                interpreter_id: r.id,
                skill: r.t1.ok_or_else(|| missing("skill name", r.id))?,
                expires_at: r.n1,
            }),
            2 => stats.push(OfferStatsRow {
                interpreter_id: r.id,
                offers: r.n1.unwrap_or(0),
                accepts: r.n2.unwrap_or(0),
                recent_declines: r.n3.unwrap_or(0),
                last_offer_at: r.n4,
            }),
            3 => bookings.push(BookingRow {
                interpreter_id: r.id,
                start_at: r.n1.ok_or_else(|| missing("booking start", r.id))?,
                duration_minutes: r.n2.unwrap_or(0),
                attended: r.n3.unwrap_or(0),
            }),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "matching pool: unknown part {other}"
                )))
            }
        }
    }
    Ok((interpreters, profiles, skills, stats, bookings))
}

impl ProfileRow {
    pub(crate) fn into_profile(self, skills: Vec<Skill>) -> StoreResult<Profile> {
        Ok(Profile {
            skills,
            availability: match self.availability {
                Some(a) => Some(Availability::parse(&a).map_err(StoreError::Corrupt)?),
                None => None,
            },
            max_day_minutes: self.max_day_minutes,
            max_week_minutes: self.max_week_minutes,
            paused_at: self.paused_at.map(from_millis).transpose()?,
            unanswered: self.unanswered,
        })
    }
}

pub(crate) fn skills_by_interpreter(
    rows: Vec<SkillRow>,
) -> StoreResult<HashMap<InterpreterId, Vec<Skill>>> {
    let mut out: HashMap<InterpreterId, Vec<Skill>> = HashMap::new();
    for r in rows {
        out.entry(r.interpreter_id).or_default().push(Skill {
            name: r.skill,
            expires_at: r.expires_at.map(from_millis).transpose()?,
        });
    }
    Ok(out)
}

/// Folds the pool's rows into candidates. Assignments that started before `now - grace` count
/// as completed when attended and as no-shows when not; their minutes count as worked.
pub(crate) fn fold_pool(
    interpreters: Vec<Interpreter>,
    profiles: Vec<ProfileRow>,
    skills: Vec<SkillRow>,
    stats: Vec<OfferStatsRow>,
    bookings: Vec<BookingRow>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Candidate>> {
    let mut skills = skills_by_interpreter(skills)?;
    let mut profiles: HashMap<i64, ProfileRow> = profiles.into_iter().map(|p| (p.id, p)).collect();
    let stats: HashMap<i64, OfferStatsRow> =
        stats.into_iter().map(|s| (s.interpreter_id, s)).collect();
    let mut by_interpreter: HashMap<i64, Vec<BookingRow>> = HashMap::new();
    for b in bookings {
        by_interpreter.entry(b.interpreter_id).or_default().push(b);
    }
    let grace = Duration::minutes(30);
    interpreters
        .into_iter()
        .map(|interpreter| {
            let id = interpreter.id;
            let profile = match profiles.remove(&id) {
                Some(p) => p.into_profile(skills.remove(&id).unwrap_or_default())?,
                None => Profile::default(),
            };
            let mut history = History::newcomer(id);
            if let Some(s) = stats.get(&id) {
                history.offers = s.offers.max(0) as u32;
                history.accepts = s.accepts.max(0) as u32;
                history.recent_declines = s.recent_declines.max(0) as u32;
                history.last_offer_at = s.last_offer_at.map(from_millis).transpose()?;
            }
            let mut list = Vec::new();
            for b in by_interpreter.remove(&id).unwrap_or_default() {
                let start = from_millis(b.start_at)?;
                if start + grace <= now {
                    history.minutes_worked += b.duration_minutes as f64;
                    if b.attended > 0 {
                        history.completed += 1;
                    } else {
                        history.no_shows += 1;
                    }
                }
                list.push(Booking {
                    start,
                    minutes: b.duration_minutes,
                });
            }
            Ok(Candidate {
                interpreter,
                profile,
                bookings: list,
                history,
            })
        })
        .collect()
}

/// The stored form of a request's skills.
pub(crate) fn join_skills(skills: &[String]) -> String {
    let mut s: Vec<&str> = skills.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(",")
}

pub(crate) fn split_skills(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}
