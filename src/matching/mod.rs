//! Who may be offered a request: pure rules over the roster, each exclusion with its reason.
//!
//! First version (issue #2): the directed pair must match and the presence lease must be valid.
//! Waves, fairness and scores come with the matching issue. Never reads the clock: `now` is a
//! parameter. Never does I/O.

pub mod waves;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Interpreter, InterpreterId, LanguagePair};

/// The decision about one interpreter for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub interpreter: InterpreterId,
    /// `None`: eligible. Otherwise the rule that excluded them.
    pub excluded_by: Option<&'static str>,
}

/// Applies the hard rules to every candidate, in order.
pub fn decide(
    candidates: &[Interpreter],
    pair: &LanguagePair,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    candidates
        .iter()
        .map(|i| {
            let excluded_by = if !i.pairs.contains(pair) {
                Some("pair: does not interpret this direction")
            } else if !i.is_online(now) {
                Some("presence: offline or lease expired")
            } else {
                None
            };
            Decision {
                interpreter: i.id,
                excluded_by,
            }
        })
        .collect()
}

/// The eligible interpreters, in roster order.
pub fn eligible<'a>(
    candidates: &'a [Interpreter],
    pair: &LanguagePair,
    now: DateTime<Utc>,
) -> Vec<&'a Interpreter> {
    let decisions = decide(candidates, pair, now);
    candidates
        .iter()
        .zip(decisions)
        .filter(|(_, d)| d.excluded_by.is_none())
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;
    use chrono::Duration;

    fn interp(id: i64, pairs: &[&str], online_for: Option<i64>, now: DateTime<Utc>) -> Interpreter {
        Interpreter {
            id,
            name: format!("I{id}"),
            email: EmailAddress::parse(&format!("i{id}@example.com")).unwrap(),
            pairs: pairs
                .iter()
                .map(|p| LanguagePair::parse(p).unwrap())
                .collect(),
            timezone: "UTC".into(),
            presence_until: online_for.map(|m| now + Duration::minutes(m)),
            created_at: now,
        }
    }

    #[test]
    fn hard_rules_table() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let es_en = LanguagePair::parse("es:en").unwrap();
        let cases = [
            (interp(1, &["es:en"], Some(30), now), None),
            (
                interp(2, &["en:es"], Some(30), now),
                Some("pair: does not interpret this direction"),
            ),
            (
                interp(3, &["es:en"], None, now),
                Some("presence: offline or lease expired"),
            ),
            (
                interp(4, &["es:en"], Some(-1), now),
                Some("presence: offline or lease expired"),
            ),
            (interp(5, &["fr:en", "es:en"], Some(1), now), None),
        ];
        let roster: Vec<Interpreter> = cases.iter().map(|(i, _)| i.clone()).collect();
        let decisions = decide(&roster, &es_en, now);
        for ((i, want), got) in cases.iter().zip(&decisions) {
            assert_eq!(got.excluded_by, *want, "interpreter {}", i.id);
        }
        let ids: Vec<i64> = eligible(&roster, &es_en, now)
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, vec![1, 5]);
    }
}
