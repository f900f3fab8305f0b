//! Talking to systemd (`sd_notify`): READY=1 once the daemon serves, STOPPING=1 when it drains,
//! and the watchdog task that sends WATCHDOG=1 only while every registered loop makes progress.
//!
//! Every function is a no-op without `$NOTIFY_SOCKET` (not under systemd, or `Type=` other than
//! `notify`). Never feeds the watchdog on a timer alone: a stuck loop must get the process
//! restarted. Never exits the process itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use super::heartbeats::{Heartbeats, Stale};

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd ($NOTIFY_SOCKET)");
    }
}

/// The daemon serves: migrations applied, listener bound, loops started.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// SIGHUP arrived: reloading (systemd shows "reloading" until the next READY=1).
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading];
    states.extend(NotifyState::monotonic_usec_now().ok());
    send(&states);
}

/// SIGTERM arrived: draining.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("draining: finishing the current steps"),
    ]);
}

/// What the watchdog does at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Feed,
    /// These loops are stuck: do not feed, so systemd restarts us.
    Starve(Vec<Stale>),
}

/// The decision at `now`: feed while every loop beat within its allowance, or while draining
/// (the loops stop on purpose then, and the drain has its own deadline).
pub fn decide(heartbeats: &Heartbeats, now: Instant, draining: bool) -> Decision {
    if draining {
        return Decision::Feed;
    }
    let stale = heartbeats.stale(now);
    if stale.is_empty() {
        Decision::Feed
    } else {
        Decision::Starve(stale)
    }
}

/// The watchdog interval systemd asked for (`$WATCHDOG_USEC`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// Feeds systemd's watchdog every half interval while [`decide`] says so, until the process
/// ends (abort the task). Returns at once when the watchdog is not enabled. Logs which loops
/// are stuck when it stops feeding, once per change.
pub async fn watchdog(ops: Arc<super::Ops>, draining: tokio::sync::watch::Receiver<bool>) {
    let Some(interval) = watchdog_interval() else {
        tracing::debug!("systemd watchdog not enabled");
        return;
    };
    let period = interval / 2;
    tracing::info!(
        ?interval,
        "feeding the systemd watchdog while every loop progresses"
    );
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut starving: Vec<String> = Vec::new();
    loop {
        tick.tick().await;
        let is_draining = *draining.borrow();
        match decide(&ops.heartbeats, Instant::now(), is_draining) {
            Decision::Feed => {
                if !starving.is_empty() {
                    tracing::warn!(loops = ?starving, "stuck loops progress again: feeding the watchdog");
                    starving.clear();
                }
                send(&[NotifyState::Watchdog]);
            }
            Decision::Starve(stale) => {
                let names: Vec<String> = stale.iter().map(|s| s.name.clone()).collect();
                if names != starving {
                    for s in &stale {
                        tracing::error!(
                            loop_name = %s.name,
                            silent_for = ?s.silent_for,
                            allowance = ?s.allowance,
                            "loop stuck: no longer feeding the systemd watchdog (expect a restart)"
                        );
                    }
                    starving = names;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_only_while_every_loop_progresses_and_always_while_draining() {
        let t0 = Instant::now();
        let h = Heartbeats::new();
        h.register_at("mailbox:spool", Duration::from_secs(10), t0);
        h.register_at("outbox", Duration::from_secs(10), t0);
        h.beat_at("mailbox:spool", t0 + Duration::from_secs(9));
        h.beat_at("outbox", t0 + Duration::from_secs(9));
        assert_eq!(
            decide(&h, t0 + Duration::from_secs(15), false),
            Decision::Feed
        );
        h.beat_at("mailbox:spool", t0 + Duration::from_secs(19));
        match decide(&h, t0 + Duration::from_secs(20), false) {
            Decision::Starve(stale) => {
                assert_eq!(stale.len(), 1);
                assert_eq!(stale[0].name, "outbox");
            }
            Decision::Feed => panic!("the outbox is stuck"),
        }
        assert_eq!(
            decide(&h, t0 + Duration::from_secs(20), true),
            Decision::Feed
        );
        h.beat_at("outbox", t0 + Duration::from_secs(21));
        assert_eq!(
            decide(&h, t0 + Duration::from_secs(22), false),
            Decision::Feed
        );
    }
}
