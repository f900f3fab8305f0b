//! The progress registry: every long-running loop (each mailbox, the outbox worker, the timer
//! worker) calls [`Heartbeats::beat`] once per step; the watchdog asks [`Heartbeats::stale`]
//! which loops have not beaten within their allowance.
//!
//! Pure bookkeeping with the time passed in (`*_at` methods); only the loops call the
//! clock-reading conveniences. Never sleeps, never does I/O, never decides what to do about a
//! stuck loop (that is the watchdog's job in `notify`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a loop registered implicitly (by its first beat) may go without beating.
pub const DEFAULT_ALLOWANCE: Duration = Duration::from_secs(120);

/// One loop's last sign of life.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When it last beat (or was registered, before its first beat).
    last: Instant,
    /// How long it may go without beating before it counts as stuck.
    allowance: Duration,
}

/// A loop that has not beaten within its allowance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub name: String,
    /// Time since its last beat.
    pub silent_for: Duration,
    pub allowance: Duration,
}

/// The registry. Cheap to share (`Arc`); every method takes the lock briefly.
#[derive(Debug, Default)]
pub struct Heartbeats {
    /// Loop name → last beat. Names are stable and small (`mailbox:NAME`, `outbox`, `timers`).
    loops: Mutex<BTreeMap<String, Entry>>,
}

impl Heartbeats {
    pub fn new() -> Heartbeats {
        Heartbeats::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (every update is
        // one insert), so a poisoned lock is still usable.
        self.loops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Declares a loop before it starts, so one that never beats at all is noticed once
    /// `allowance` has passed since `now`. Re-registering keeps the last beat and updates the
    /// allowance.
    pub fn register_at(&self, name: &str, allowance: Duration, now: Instant) {
        let mut loops = self.lock();
        loops
            .entry(name.to_string())
            .and_modify(|e| e.allowance = allowance)
            .or_insert(Entry {
                last: now,
                allowance,
            });
    }

    /// [`Heartbeats::register_at`] now.
    pub fn register(&self, name: &str, allowance: Duration) {
        self.register_at(name, allowance, Instant::now());
    }

    /// Records progress of `name` at `now`; an unknown name is registered with
    /// [`DEFAULT_ALLOWANCE`].
    pub fn beat_at(&self, name: &str, now: Instant) {
        let mut loops = self.lock();
        match loops.get_mut(name) {
            Some(e) => e.last = e.last.max(now),
            None => {
                loops.insert(
                    name.to_string(),
                    Entry {
                        last: now,
                        allowance: DEFAULT_ALLOWANCE,
                    },
                );
            }
        }
    }

    /// [`Heartbeats::beat_at`] now. Called by loops once per step.
    pub fn beat(&self, name: &str) {
        self.beat_at(name, Instant::now());
    }

    /// Forgets a loop that ended on purpose (a mailbox removed by a reload).
    pub fn unregister(&self, name: &str) {
        self.lock().remove(name);
    }

    /// The loops silent for longer than their allowance at `now`, by name.
    pub fn stale(&self, now: Instant) -> Vec<Stale> {
        self.lock()
            .iter()
            .filter_map(|(name, e)| {
                let silent_for = now.saturating_duration_since(e.last);
                (silent_for > e.allowance).then(|| Stale {
                    name: name.clone(),
                    silent_for,
                    allowance: e.allowance,
                })
            })
            .collect()
    }

    /// Every registered loop with the time since its last beat at `now`.
    pub fn snapshot(&self, now: Instant) -> Vec<(String, Duration)> {
        self.lock()
            .iter()
            .map(|(name, e)| (name.clone(), now.saturating_duration_since(e.last)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_loop_that_beats_within_its_allowance_is_not_stale() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.register_at("outbox", S(10), t0);
        h.beat_at("outbox", t0 + S(8));
        assert!(h.stale(t0 + S(17)).is_empty());
        assert!(
            h.stale(t0 + S(18)).is_empty(),
            "exactly the allowance is still fine"
        );
        let stale = h.stale(t0 + S(19));
        assert_eq!(
            stale,
            vec![Stale {
                name: "outbox".into(),
                silent_for: S(11),
                allowance: S(10)
            }]
        );
    }

    #[test]
    fn a_registered_loop_that_never_beats_goes_stale() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.register_at("mailbox:spool", S(5), t0);
        assert!(h.stale(t0 + S(5)).is_empty());
        assert_eq!(h.stale(t0 + S(6))[0].name, "mailbox:spool");
    }

    #[test]
    fn each_loop_has_its_own_allowance_and_only_the_stuck_one_is_named() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.register_at("mailbox:a", S(5), t0);
        h.register_at("outbox", S(60), t0);
        for s in 1..=60 {
            h.beat_at("mailbox:a", t0 + S(s));
        }
        let names: Vec<_> = h.stale(t0 + S(61)).into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["outbox".to_string()]);
        let names: Vec<_> = h.stale(t0 + S(59)).into_iter().map(|s| s.name).collect();
        assert!(names.is_empty());
    }

    #[test]
    fn first_beat_registers_with_the_default_allowance_and_late_beats_do_not_go_back() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.beat_at("timers", t0 + S(10));
        h.beat_at("timers", t0); // an out-of-order beat from a slower step
        assert!(h.stale(t0 + S(10) + DEFAULT_ALLOWANCE).is_empty());
        assert_eq!(h.stale(t0 + S(11) + DEFAULT_ALLOWANCE).len(), 1);
    }

    #[test]
    fn unregistered_loops_are_forgotten() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.register_at("mailbox:old", S(1), t0);
        h.unregister("mailbox:old");
        assert!(h.stale(t0 + S(100)).is_empty());
        assert!(h.snapshot(t0).is_empty());
    }
}
