//! A simulated month of requests through the pure matching engine (issue #5): interpreters of
//! three availability classes and different acceptance habits; each request is planned in
//! waves, each offered interpreter accepts with their own probability, the first acceptance
//! wins. Properties, for random seeds:
//!
//! - no request that had an eligible interpreter goes unoffered;
//! - nobody is offered a request twice, and nobody works two overlapping meetings;
//! - fairness: within an availability class, the busiest interpreter works at most
//!   `1.6 × (class mean) + 2 h` of minutes, and among interpreters of one class with the same
//!   acceptance habit, offers stay within `2 × mean + 10`; across classes, minutes follow availability hours (the class with
//!   twice the hours works more than the one with half).
//!
//! The same month dispatched "broadcast, first accept in roster order" (what the field does)
//! is measured alongside, and must be less fair than the engine.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use dragoman::domain::{EmailAddress, Interpreter, LanguagePair};
use dragoman::matching::profile::{Availability, Profile};
use dragoman::matching::waves::{plan_waves, rank, History, Weights};
use dragoman::matching::{consider, Booking, Candidate, Need, Preferences, Rules};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const N: i64 = 30;

struct Person {
    class: usize,
    accept_p: f64,
    minutes: f64,
    offers: u32,
    accepts: u32,
    declines: u32,
    last_offer: Option<DateTime<Utc>>,
    bookings: Vec<Booking>,
}

fn t0() -> DateTime<Utc> {
    // Mon 4 Jan 2027 00:00 UTC.
    DateTime::from_timestamp(1_799_020_800, 0).unwrap()
}

fn availability(class: usize) -> Option<Availability> {
    match class {
        0 => Some(Availability::parse("mon-fri 08:00-18:00").unwrap()),
        1 => Some(Availability::parse("mon-fri 08:00-13:00").unwrap()),
        _ => None, // any time (weighted as 40 h)
    }
}

fn interpreter(id: i64) -> Interpreter {
    Interpreter {
        id,
        name: format!("I{id}"),
        email: EmailAddress::parse(&format!("i{id}@example.com")).unwrap(),
        pairs: vec![LanguagePair::parse("es:en").unwrap()],
        timezone: "UTC".into(),
        presence_until: None,
        created_at: t0(),
    }
}

/// (minutes per interpreter, offers per interpreter, requests unoffered despite an eligible one)
fn month(seed: u64, engine: bool) -> (Vec<Person>, usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut people: Vec<Person> = (0..N)
        .map(|i| Person {
            class: (i % 3) as usize,
            accept_p: 0.3 + 0.4 * ((i / 3) % 2) as f64,
            minutes: 0.0,
            offers: 0,
            accepts: 0,
            declines: 0,
            last_offer: None,
            bookings: vec![],
        })
        .collect();
    let pair = LanguagePair::parse("es:en").unwrap();
    let prefs = Preferences::default();
    let rules = Rules::default();
    let mut unoffered = 0;
    let mut filled = 0;
    for _ in 0..500 {
        // A weekday meeting between 08:00 and 17:00 UTC, booked 2 h to 3 days ahead.
        let day = rng.gen_range(0..28);
        let day = day + if (day % 7) >= 5 { 2 } else { 0 };
        let start = t0()
            + Duration::days(day)
            + Duration::hours(rng.gen_range(8..17))
            + Duration::minutes(15 * rng.gen_range(0..4));
        let now = start - Duration::minutes(rng.gen_range(120..4320));
        let candidates: Vec<Candidate> = people
            .iter()
            .enumerate()
            .map(|(i, p)| Candidate {
                interpreter: interpreter(i as i64),
                profile: Profile {
                    availability: availability(p.class),
                    ..Profile::default()
                },
                bookings: p.bookings.clone(),
                history: History {
                    minutes_worked: p.minutes,
                    offers: p.offers,
                    accepts: p.accepts,
                    recent_declines: p.declines.min(5),
                    last_offer_at: p.last_offer,
                    ..History::newcomer(i as i64)
                },
            })
            .collect();
        let need = Need {
            pair: &pair,
            skills: &[],
            start: Some(start),
            duration_minutes: 60,
            preferences: &prefs,
        };
        let (_, eligible) = consider(&candidates, &need, &rules, &HashSet::new(), now);
        if eligible.is_empty() {
            continue;
        }
        let order: Vec<i64> = if engine {
            rank(&eligible, &Weights::default(), now, rng.gen())
                .iter()
                .map(|r| r.interpreter)
                .collect()
        } else {
            eligible.iter().map(|h| h.interpreter).collect()
        };
        let waves = if engine {
            let ranked = rank(&eligible, &Weights::default(), now, rng.gen());
            let order: Vec<i64> = ranked.iter().map(|r| r.interpreter).collect();
            plan_waves(&ranked, now, Some(start))
                .into_iter()
                .map(|w| (order[w.start..w.end].to_vec(), w.send_at))
                .collect::<Vec<_>>()
        } else {
            vec![(order.clone(), now)]
        };
        if waves.first().is_none_or(|(w, _)| w.is_empty()) {
            unoffered += 1;
            continue;
        }
        let mut offered = HashSet::new();
        let mut winner = None;
        for (wave, at) in &waves {
            let mut acceptors = Vec::new();
            for id in wave {
                assert!(offered.insert(*id), "interpreter {id} offered twice");
                let p = &mut people[*id as usize];
                p.offers += 1;
                p.last_offer = Some(*at);
                if rng.gen_bool(p.accept_p) {
                    acceptors.push(*id);
                } else {
                    p.declines += 1;
                }
            }
            if !acceptors.is_empty() {
                // Broadcast: the first in roster order is fastest; waves: whoever is first.
                let w = if engine {
                    acceptors[rng.gen_range(0..acceptors.len())]
                } else {
                    acceptors[0]
                };
                winner = Some(w);
                break;
            }
        }
        if let Some(w) = winner {
            let p = &mut people[w as usize];
            assert!(
                !p.bookings
                    .iter()
                    .any(|b| b.start < start + Duration::minutes(60)
                        && start < b.start + Duration::minutes(b.minutes)),
                "interpreter {w} double-booked"
            );
            p.accepts += 1;
            p.minutes += 60.0;
            p.bookings.push(Booking { start, minutes: 60 });
            filled += 1;
        }
    }
    assert!(filled > 300, "most requests fill: {filled}");
    (people, unoffered, filled)
}

fn spread(people: &[Person], class: usize, f: impl Fn(&Person) -> f64) -> (f64, f64, f64) {
    spread_where(people, |p| p.class == class, f)
}

fn spread_where(
    people: &[Person],
    keep: impl Fn(&Person) -> bool,
    f: impl Fn(&Person) -> f64,
) -> (f64, f64, f64) {
    let v: Vec<f64> = people.iter().filter(|p| keep(p)).map(f).collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let max = v.iter().cloned().fold(f64::MIN, f64::max);
    let min = v.iter().cloned().fold(f64::MAX, f64::min);
    (min, mean, max)
}

fn a_fair_month(seed: u64) -> Result<(), TestCaseError> {
    let (people, unoffered, _) = month(seed, true);
    prop_assert_eq!(unoffered, 0);
    let mut by_class = HashMap::new();
    for class in 0..3 {
        let (_, mean, max) = spread(&people, class, |p| p.minutes);
        prop_assert!(
            max <= 1.6 * mean + 120.0,
            "class {}: max {} min vs mean {}",
            class,
            max,
            mean
        );
        for accept_p in [0.3, 0.7] {
            let same = |p: &Person| p.class == class && (p.accept_p - accept_p).abs() < 1e-9;
            let (_, omean, omax) = spread_where(&people, same, |p| p.offers as f64);
            prop_assert!(
                omax <= 2.0 * omean + 10.0,
                "class {} p {}: max {} offers vs mean {}",
                class,
                accept_p,
                omax,
                omean
            );
        }
        by_class.insert(class, mean);
    }
    // Twice the availability hours (class 0: 50 h/week) works more than class 1 (25 h).
    prop_assert!(by_class[&0] > by_class[&1], "{:?}", by_class);

    // The field's broadcast is less fair on the same month.
    let (broadcast, _, _) = month(seed, false);
    let unfair = |ps: &[Person]| {
        (0..3)
            .map(|c| {
                let (min, _, max) = spread(ps, c, |p| p.minutes);
                max - min
            })
            .sum::<f64>()
    };
    prop_assert!(
        unfair(&people) < unfair(&broadcast),
        "engine {} vs broadcast {}",
        unfair(&people),
        unfair(&broadcast)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn a_month_is_fair_and_nothing_goes_unoffered(seed in any::<u64>()) {
        a_fair_month(seed)?;
    }
}

/// Seeds that once found a bound too tight, kept as regressions.
#[test]
fn known_seeds() {
    for seed in [14_658_089_989_544_936_412, 3_692_587_308_705_991_827] {
        a_fair_month(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
}
