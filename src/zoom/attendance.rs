//! Attendance as agencies bill it: per interpreter, the join/leave rows of a meeting merged into
//! intervals (rejoins and overlapping rows count once), total minutes, and late-join /
//! early-leave flags against the meeting's start and end.
//!
//! Pure: takes the rows the store recorded and the times Zoom (or the invitation) gave; never
//! reads the clock, never guesses who an unattributed participant was (those rows are listed,
//! never counted for anyone).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::{AttributionMethod, InterpreterId};
use crate::store::Attendance;

/// A join up to this long after the start is on time.
pub const LATE_GRACE: Duration = Duration::minutes(5);
/// A leave up to this long before the end is not an early leave.
pub const EARLY_GRACE: Duration = Duration::minutes(5);

/// One merged interval of one interpreter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    pub interpreter: InterpreterId,
    /// How the first row of the interval was attributed.
    pub method: AttributionMethod,
    pub joined_at: DateTime<Utc>,
    /// `None` while the interpreter is still in (no leave and no `meeting.ended` yet).
    pub left_at: Option<DateTime<Utc>>,
    /// Whole minutes, partial minutes rounded up; 0 while open.
    pub minutes: i64,
}

/// One interpreter's attendance in the meeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterpreterAttendance {
    pub interpreter: InterpreterId,
    pub intervals: Vec<Interval>,
    /// The sum of the closed intervals' seconds, rounded up to whole minutes.
    pub minutes: i64,
    /// First join later than the start + [`LATE_GRACE`].
    pub late_join: bool,
    /// Last leave earlier than the end − [`EARLY_GRACE`] (only known once the meeting ended).
    pub early_leave: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub interpreters: Vec<InterpreterAttendance>,
    /// The minutes of every attributed interpreter together.
    pub attended_minutes: i64,
}

fn ceil_minutes(seconds: i64) -> i64 {
    (seconds.max(0) + 59) / 60
}

/// Merges the attributed rows per interpreter. `start` is when the meeting really started
/// (`meeting.started`) or else its scheduled start; `end` when Zoom said it ended.
pub fn summarize(
    rows: &[Attendance],
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Summary {
    let mut ids: Vec<InterpreterId> = rows.iter().filter_map(|r| r.interpreter).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut interpreters = Vec::new();
    for id in ids {
        let mut own: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, AttributionMethod)> = rows
            .iter()
            .filter(|r| r.interpreter == Some(id))
            // A leave whose join never arrived has no interval to bill: never guessed.
            .filter_map(|r| {
                r.joined_at
                    .map(|j| (j, r.left_at.map(|l| l.max(j)), r.method))
            })
            .collect();
        own.sort_by_key(|(j, l, _)| (*j, l.is_none(), *l));
        let mut merged: Vec<Interval> = Vec::new();
        for (joined_at, left_at, method) in own {
            match merged.last_mut() {
                Some(last) if last.left_at.is_none_or(|l| joined_at <= l) => {
                    last.left_at = match (last.left_at, left_at) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
                _ => merged.push(Interval {
                    interpreter: id,
                    method,
                    joined_at,
                    left_at,
                    minutes: 0,
                }),
            }
        }
        let mut seconds = 0;
        for i in &mut merged {
            if let Some(l) = i.left_at {
                let s = (l - i.joined_at).num_seconds();
                i.minutes = ceil_minutes(s);
                seconds += s;
            }
        }
        let late_join = match (start, merged.first()) {
            (Some(s), Some(first)) => first.joined_at > s + LATE_GRACE,
            _ => false,
        };
        let last_left = rows
            .iter()
            .filter(|r| r.interpreter == Some(id))
            .map(|r| r.left_at)
            .try_fold(None::<DateTime<Utc>>, |acc, l| {
                l.map(|l| Some(acc.map_or(l, |a: DateTime<Utc>| a.max(l))))
            })
            .flatten();
        let early_leave = match (end, last_left) {
            (Some(e), Some(l)) => l < e - EARLY_GRACE,
            _ => false,
        };
        interpreters.push(InterpreterAttendance {
            interpreter: id,
            intervals: merged,
            minutes: ceil_minutes(seconds),
            late_join,
            early_leave,
        });
    }
    let attended_minutes = interpreters.iter().map(|i| i.minutes).sum();
    Summary {
        interpreters,
        attended_minutes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 15, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn row(who: Option<i64>, j: Option<i64>, l: Option<i64>) -> Attendance {
        Attendance {
            interpreter: who,
            method: if who.is_some() {
                AttributionMethod::CustomerKey
            } else {
                AttributionMethod::Unattributed
            },
            user_name: None,
            joined_at: j.map(t),
            left_at: l.map(t),
        }
    }

    #[test]
    fn rejoins_merge_and_minutes_add_up() {
        // In 0–20, dropped, back 25–50, and an overlapping duplicate row 10–15.
        let rows = [
            row(Some(7), Some(0), Some(20)),
            row(Some(7), Some(25), Some(50)),
            row(Some(7), Some(10), Some(15)),
            row(None, Some(0), Some(60)),
        ];
        let s = summarize(&rows, Some(t(0)), Some(t(60)));
        assert_eq!(
            s.interpreters.len(),
            1,
            "unattributed rows count for nobody"
        );
        let a = &s.interpreters[0];
        assert_eq!(a.intervals.len(), 2);
        assert_eq!(
            (a.intervals[0].joined_at, a.intervals[0].left_at),
            (t(0), Some(t(20)))
        );
        assert_eq!(a.minutes, 45);
        assert_eq!(s.attended_minutes, 45);
        assert!(!a.late_join);
        assert!(a.early_leave, "left at 50 of a meeting that ended at 60");
    }

    #[test]
    fn late_join_and_open_interval() {
        let rows = [row(Some(3), Some(9), None)];
        let s = summarize(&rows, Some(t(0)), None);
        let a = &s.interpreters[0];
        assert!(a.late_join);
        assert!(!a.early_leave, "no end yet: not an early leave");
        assert_eq!(a.intervals[0].left_at, None);
        assert_eq!(a.minutes, 0, "an open interval is not billed yet");
        // Within the grace, and partial minutes round up.
        let rows = [row(Some(3), Some(5), Some(6))];
        let mut r = rows.clone();
        r[0].left_at = Some(t(6) + Duration::seconds(1));
        let s = summarize(&r, Some(t(0)), Some(t(8)));
        assert!(!s.interpreters[0].late_join);
        assert!(!s.interpreters[0].early_leave);
        assert_eq!(s.interpreters[0].minutes, 2);
    }

    #[test]
    fn an_open_row_absorbs_later_rows_and_leave_only_rows_are_not_billed() {
        let rows = [
            row(Some(1), Some(0), None),
            row(Some(1), Some(10), Some(20)),
            row(Some(1), None, Some(30)),
        ];
        let s = summarize(&rows, None, None);
        assert_eq!(s.interpreters[0].intervals.len(), 1);
        assert_eq!(s.interpreters[0].intervals[0].left_at, None);
        assert_eq!(s.attended_minutes, 0);
    }
}
