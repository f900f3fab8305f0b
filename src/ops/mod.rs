//! Operations: what lets a sysadmin run dragoman under systemd for months and forget it —
//! the progress registry ([`heartbeats`]) that gates systemd's watchdog ([`notify`]), the
//! Prometheus metrics ([`metrics`]), and each mailbox's last successful contact (for `/readyz`
//! and the "seconds since contact" gauge).
//!
//! [`Ops`] is one shared handle: loops call `beat` and `contacted`, handlers record events,
//! `/metrics` and `/readyz` read it. [`reload`] swaps routes, requestors and templates on
//! SIGHUP. This module never touches the database, the network or the mailboxes itself, and
//! never decides business outcomes; it only observes (and, on reload, re-reads template files).

pub mod heartbeats;
pub mod metrics;
pub mod notify;
pub mod reload;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use heartbeats::Heartbeats;
pub use metrics::Metrics;

/// A mailbox whose last successful read is older than this makes `/readyz` fail.
pub const CONTACT_ALLOWANCE: Duration = Duration::from_secs(300);

/// The heartbeat name of a mailbox's loop.
pub fn mailbox_loop(mailbox: &str) -> String {
    format!("mailbox:{mailbox}")
}

/// The heartbeat name of the outbox worker.
pub const OUTBOX_LOOP: &str = "outbox";

/// The shared operations handle.
pub struct Ops {
    pub heartbeats: Heartbeats,
    pub metrics: Metrics,
    /// When this handle was made (the daemon's start, for mailboxes never contacted).
    started: Instant,
    /// Every configured mailbox → when it was last read successfully (`None`: not yet).
    contacts: Mutex<BTreeMap<String, Option<Instant>>>,
    /// How recent a contact `/readyz` requires.
    contact_allowance: Duration,
}

/// Why the daemon is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unready {
    /// Mailboxes not read successfully within the allowance (or never).
    pub mailboxes: Vec<String>,
}

impl Ops {
    /// A handle for these configured mailboxes, started now.
    pub fn new<I, S>(mailboxes: I) -> Ops
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ops::new_at(mailboxes, Instant::now())
    }

    pub fn new_at<I, S>(mailboxes: I, started: Instant) -> Ops
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let contacts: BTreeMap<String, Option<Instant>> =
            mailboxes.into_iter().map(|m| (m.into(), None)).collect();
        let metrics = Metrics::new();
        for name in contacts.keys() {
            metrics.mailbox_known(name);
        }
        Ops {
            heartbeats: Heartbeats::new(),
            metrics,
            started,
            contacts: Mutex::new(contacts),
            contact_allowance: CONTACT_ALLOWANCE,
        }
    }

    /// Changes how recent a mailbox contact must be for readiness.
    pub fn with_contact_allowance(mut self, allowance: Duration) -> Ops {
        self.contact_allowance = allowance;
        self
    }

    fn contacts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<Instant>>> {
        // Every update is one insert: a poisoned lock still holds consistent data.
        self.contacts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `mailbox` was read successfully at `now` (a Maildir listed, an IMAP command answered).
    pub fn contacted_at(&self, mailbox: &str, now: Instant) {
        self.contacts().insert(mailbox.to_string(), Some(now));
    }

    /// [`Ops::contacted_at`] now.
    pub fn contacted(&self, mailbox: &str) {
        self.contacted_at(mailbox, Instant::now());
    }

    /// Each mailbox with the time since its last contact (since start when never).
    pub fn contact_ages(&self, now: Instant) -> Vec<(String, Duration)> {
        self.contacts()
            .iter()
            .map(|(name, last)| {
                (
                    name.clone(),
                    now.saturating_duration_since(last.unwrap_or(self.started)),
                )
            })
            .collect()
    }

    /// The mailboxes that keep the daemon from being ready at `now`: never contacted, or not
    /// within the allowance.
    pub fn unready_mailboxes(&self, now: Instant) -> Vec<String> {
        self.contacts()
            .iter()
            .filter(|(_, last)| match last {
                None => true,
                Some(t) => now.saturating_duration_since(*t) > self.contact_allowance,
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The metrics text, with the scrape-time gauges filled from `status` (`None` when the
    /// database could not be read).
    pub fn render_metrics(&self, status: Option<&crate::store::StatusCounts>) -> String {
        let now = Instant::now();
        self.metrics.encode(
            status,
            &self.contact_ages(now),
            &self.heartbeats.snapshot(now),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_is_ready_only_once_contacted_and_while_the_contact_is_recent() {
        let t0 = Instant::now();
        let ops = Ops::new_at(["a", "b"], t0).with_contact_allowance(Duration::from_secs(60));
        assert_eq!(ops.unready_mailboxes(t0), vec!["a", "b"]);
        ops.contacted_at("a", t0 + Duration::from_secs(1));
        ops.contacted_at("b", t0 + Duration::from_secs(2));
        assert!(ops
            .unready_mailboxes(t0 + Duration::from_secs(61))
            .is_empty());
        assert_eq!(
            ops.unready_mailboxes(t0 + Duration::from_secs(62)),
            vec!["a"]
        );
        let ages = ops.contact_ages(t0 + Duration::from_secs(10));
        assert_eq!(
            ages,
            vec![
                ("a".to_string(), Duration::from_secs(9)),
                ("b".to_string(), Duration::from_secs(8))
            ]
        );
    }

    #[test]
    fn never_contacted_mailboxes_age_from_the_start() {
        let t0 = Instant::now();
        let ops = Ops::new_at(["x"], t0);
        assert_eq!(
            ops.contact_ages(t0 + Duration::from_secs(5)),
            vec![("x".to_string(), Duration::from_secs(5))]
        );
    }
}
