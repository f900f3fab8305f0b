//! Ranking and wave planning (issue #5), pure: candidates with their history in, an ordered
//! list with score components and a wave plan out.
//!
//! Waves are timed backwards from the meeting start: each wave is the smallest prefix of the
//! remaining ranking whose estimated chance that *nobody* accepts is below a target that
//! tightens as the start approaches; wave timeouts shrink toward the start; the last wave goes to
//! everyone left. Acceptance chances come from each interpreter's history with a Beta prior, so
//! newcomers get a fair estimate. Ties are broken by a seeded random, never by id order.
//! No I/O, no clock: `now` is a parameter.

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::domain::InterpreterId;

/// What the ranking knows of one eligible interpreter.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub interpreter: InterpreterId,
    /// The requestor listed them as preferred.
    pub preferred: bool,
    /// Minutes worked in the fairness window.
    pub minutes_worked: f64,
    /// Their fair share of minutes in that window (pool minutes × their availability share).
    pub fair_share_minutes: f64,
    pub last_offer_at: Option<DateTime<Utc>>,
    pub offers: u32,
    pub accepts: u32,
    pub completed: u32,
    pub no_shows: u32,
    pub late_cancellations: u32,
    /// Declines in the recent window.
    pub recent_declines: u32,
}

impl History {
    /// Someone with no history yet: the prior decides their acceptance chance.
    pub fn newcomer(interpreter: InterpreterId) -> History {
        History {
            interpreter,
            preferred: false,
            minutes_worked: 0.0,
            fair_share_minutes: 0.0,
            last_offer_at: None,
            offers: 0,
            accepts: 0,
            completed: 0,
            no_shows: 0,
            late_cancellations: 0,
            recent_declines: 0,
        }
    }
}

/// Weights of the score components (`[matching]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weights {
    pub preferred: f64,
    pub fairness: f64,
    pub idle: f64,
    pub reliability: f64,
    pub declines: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            preferred: 3.0,
            fairness: 2.0,
            idle: 1.0,
            reliability: 1.5,
            declines: 0.5,
        }
    }
}

/// One ranked interpreter, with every component stored for `request explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub interpreter: InterpreterId,
    pub score: f64,
    pub preferred: f64,
    pub fairness: f64,
    pub idle: f64,
    pub reliability: f64,
    pub declines: f64,
    /// Estimated chance that they accept an offer.
    pub accept_chance: f64,
}

/// Beta prior for acceptance: a newcomer counts as one accept in three offers.
const PRIOR_ACCEPTS: f64 = 1.0;
const PRIOR_OFFERS: f64 = 3.0;

/// Estimated acceptance chance from history (posterior mean of a Beta prior).
pub fn accept_chance(h: &History) -> f64 {
    (h.accepts as f64 + PRIOR_ACCEPTS) / (h.offers as f64 + PRIOR_OFFERS)
}

/// Ranks candidates, best first. `seed` makes the tie-break reproducible (store it).
pub fn rank(
    candidates: &[History],
    weights: &Weights,
    now: DateTime<Utc>,
    seed: u64,
) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .map(|h| {
            let preferred = if h.preferred { 1.0 } else { 0.0 };
            // Below their share → positive, above → negative, bounded to [-1, 1].
            let fairness = if h.fair_share_minutes > 0.0 {
                ((h.fair_share_minutes - h.minutes_worked) / h.fair_share_minutes).clamp(-1.0, 1.0)
            } else if h.minutes_worked > 0.0 {
                -1.0
            } else {
                0.0
            };
            // Time since the last offer, saturating at a week; never offered counts as a week.
            let idle_hours = h
                .last_offer_at
                .map(|t| (now - t).num_minutes() as f64 / 60.0)
                .unwrap_or(168.0);
            let idle = (idle_hours.max(0.0) / 168.0).min(1.0);
            let done = h.completed as f64 + 1.0;
            let bad = h.no_shows as f64 + 0.5 * h.late_cancellations as f64;
            let reliability = done / (done + bad);
            let declines = -(h.recent_declines as f64).min(5.0) / 5.0;
            let score = weights.preferred * preferred
                + weights.fairness * fairness
                + weights.idle * idle
                + weights.reliability * reliability
                + weights.declines * declines;
            Ranked {
                interpreter: h.interpreter,
                score,
                preferred,
                fairness,
                idle,
                reliability,
                declines,
                accept_chance: accept_chance(h),
            }
        })
        .collect();
    // Shuffle first, then a stable sort by score: equal scores keep the seeded random order.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    ranked.shuffle(&mut rng);
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked
}

/// One wave of offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wave {
    /// Indexes into the ranking: `start..end`.
    pub start: usize,
    pub end: usize,
    pub send_at: DateTime<Utc>,
    /// When the next wave goes if nobody accepted.
    pub timeout_at: DateTime<Utc>,
}

/// How sure a wave must be that *someone* accepts, by time left before the start: the target
/// for P(nobody accepts) tightens as the meeting approaches.
pub fn nobody_target(time_left: Duration) -> f64 {
    match time_left.num_minutes() {
        m if m <= 60 => 0.05,
        m if m <= 24 * 60 => 0.15,
        _ => 0.35,
    }
}

/// How long a wave waits before the next: a sixth of the time left, between 2 minutes and
/// 4 hours. Meetings starting now get short waves; next week's get long ones.
pub fn wave_timeout(time_left: Duration) -> Duration {
    let t = time_left / 6;
    t.clamp(Duration::minutes(2), Duration::hours(4))
}

/// Plans waves over a ranking, from `now` toward `start` (`None`: no fixed time, planned as if
/// it started in a day). The last wave goes to everyone left; no one is in two waves.
pub fn plan_waves(
    ranking: &[Ranked],
    now: DateTime<Utc>,
    start: Option<DateTime<Utc>>,
) -> Vec<Wave> {
    let start = start.unwrap_or(now + Duration::days(1));
    let mut waves = Vec::new();
    let mut at = now;
    let mut i = 0;
    while i < ranking.len() {
        let time_left = start - at;
        let timeout = wave_timeout(time_left);
        let last_chance = time_left <= timeout * 2;
        let target = nobody_target(time_left);
        let mut end = i;
        let mut nobody = 1.0;
        while end < ranking.len() && (end == i || nobody >= target || last_chance) {
            nobody *= 1.0 - ranking[end].accept_chance;
            end += 1;
        }
        waves.push(Wave {
            start: i,
            end,
            send_at: at,
            timeout_at: at + timeout,
        });
        i = end;
        at += timeout;
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(id: i64) -> History {
        History {
            interpreter: id,
            preferred: false,
            minutes_worked: 0.0,
            fair_share_minutes: 600.0,
            last_offer_at: None,
            offers: 0,
            accepts: 0,
            completed: 0,
            no_shows: 0,
            late_cancellations: 0,
            recent_declines: 0,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn components_order_the_ranking() {
        let mut preferred = h(1);
        preferred.preferred = true;
        let mut overworked = h(2);
        overworked.minutes_worked = 1200.0;
        let mut no_shows = h(3);
        no_shows.no_shows = 4;
        let mut decliner = h(4);
        decliner.recent_declines = 5;
        let fresh = h(5);
        let ranked = rank(
            &[overworked, decliner, no_shows, fresh, preferred],
            &Weights::default(),
            now(),
            7,
        );
        let ids: Vec<i64> = ranked.iter().map(|r| r.interpreter).collect();
        assert_eq!(ids[0], 1, "preferred first: {ranked:#?}");
        assert_eq!(ids[1], 5, "then the fresh one");
        assert_eq!(*ids.last().unwrap(), 2, "the overworked one last: {ids:?}");
    }

    #[test]
    fn ties_are_broken_by_the_seed_not_by_id() {
        let pool: Vec<History> = (1..=20).map(h).collect();
        let orders: Vec<Vec<i64>> = (0..5)
            .map(|seed| {
                rank(&pool, &Weights::default(), now(), seed)
                    .iter()
                    .map(|r| r.interpreter)
                    .collect()
            })
            .collect();
        assert!(
            orders.iter().any(|o| o[0] != 1),
            "id order would always put 1 first"
        );
        assert_eq!(
            orders[0],
            rank(&pool, &Weights::default(), now(), 0)
                .iter()
                .map(|r| r.interpreter)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn newcomers_get_the_prior() {
        assert!((accept_chance(&h(1)) - 1.0 / 3.0).abs() < 1e-9);
        let mut reliable = h(2);
        reliable.offers = 10;
        reliable.accepts = 9;
        assert!(accept_chance(&reliable) > 0.7);
    }

    #[test]
    fn wave_plan_table() {
        let pool: Vec<History> = (1..=30).map(h).collect();
        let ranking = rank(&pool, &Weights::default(), now(), 1);
        // (time to start, expected first-wave size bounds, expected timeout)
        let cases = [
            (Duration::days(7), 3..=3, Duration::hours(4)),
            (Duration::hours(6), 4..=6, Duration::hours(1)),
            (Duration::minutes(30), 8..=8, Duration::minutes(5)),
        ];
        for (left, size, timeout) in cases {
            let waves = plan_waves(&ranking, now(), Some(now() + left));
            let first = &waves[0];
            assert!(
                size.contains(&(first.end - first.start)),
                "{left:?}: first wave {first:?}"
            );
            assert_eq!(first.timeout_at - first.send_at, timeout, "{left:?}");
            // Everyone exactly once, in order, the last wave reaching the end.
            assert_eq!(waves.last().unwrap().end, ranking.len());
            for w in waves.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(w[1].send_at > w[0].send_at);
            }
        }
    }

    #[test]
    fn meetings_starting_now_offer_everyone_at_once() {
        let pool: Vec<History> = (1..=8).map(h).collect();
        let ranking = rank(&pool, &Weights::default(), now(), 3);
        let waves = plan_waves(&ranking, now(), Some(now() + Duration::minutes(3)));
        assert_eq!(waves.len(), 1);
        assert_eq!(waves[0].end, 8);
        assert_eq!(waves[0].send_at, now(), "the first wave goes at once");
    }

    proptest::proptest! {
        #[test]
        fn every_candidate_is_in_exactly_one_wave(n in 0usize..200, minutes in 0i64..20_000, seed in 0u64..1000) {
            let pool: Vec<History> = (0..n as i64).map(|i| {
                let mut x = h(i);
                x.offers = (i % 7) as u32;
                x.accepts = (i % 3) as u32;
                x
            }).collect();
            let ranking = rank(&pool, &Weights::default(), now(), seed);
            let waves = plan_waves(&ranking, now(), Some(now() + Duration::minutes(minutes)));
            let covered: usize = waves.iter().map(|w| w.end - w.start).sum();
            proptest::prop_assert_eq!(covered, n);
            for w in &waves {
                proptest::prop_assert!(w.end > w.start);
                proptest::prop_assert!(w.timeout_at > w.send_at);
            }
        }
    }
}
