//! The outbox: every email dragoman sends is a row first (written in the same transaction as
//! the change that causes it) and leaves through the worker here, after commit.
//!
//! Nothing else in the crate sends email. The worker never decides *what* to send (rows are
//! final when committed) and never talks to a transport except through [`mailer::Mailer`].

pub mod conversation;
pub mod mailer;
pub mod templates;
pub mod zoom_connect;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::domain::EmailAddress;
use crate::store::{NewEmail, OutboxJob, Store};
pub use mailer::{Mailer, SendError};
use templates::Rendered;

/// A fresh, globally unique `Message-ID` (without angle brackets) in our domain.
pub fn new_message_id(kind: &str, from: &EmailAddress) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    let r: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{kind}.{r}@{}", from.domain())
}

/// Builds the outbox row for a rendered message.
pub fn compose(
    kind: &str,
    to: &EmailAddress,
    from: &EmailAddress,
    rendered: Rendered,
    in_reply_to: Option<String>,
) -> NewEmail {
    NewEmail {
        message_id: new_message_id(kind, from),
        kind: kind.to_string(),
        to: to.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        in_reply_to,
    }
}

/// How long a claimed job stays ours at least (a crashed worker's jobs come back after this).
pub const MIN_LEASE: Duration = Duration::from_secs(120);
/// Jobs claimed per step.
pub const BATCH: i64 = 50;
/// A job that has failed this many times is given up (recorded as failed for good).
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry waits about this long; each further one twice as long.
pub const RETRY_BASE: Duration = Duration::from_secs(30);
/// No retry waits longer than this.
pub const RETRY_CAP: Duration = Duration::from_secs(3600);
/// How long the loop waits for new work when idle (unless poked through [`Worker::notifier`]).
pub const IDLE_WAIT: Duration = Duration::from_millis(500);
/// How long the loop waits after the store failed.
pub const ERROR_WAIT: Duration = Duration::from_secs(5);

/// The delay before the next attempt of a job that has now failed `failures` times:
/// `30 s · 2^(failures-1)`, capped at one hour, then scaled by `jitter` (clamped to 0.5..=1.0, so
/// the wait lies between half and all of the nominal delay and retries of many jobs spread out).
pub fn retry_delay(failures: i64, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).clamp(0, 20) as u32;
    let nominal = RETRY_BASE
        .saturating_mul(2u32.saturating_pow(exp))
        .min(RETRY_CAP);
    nominal.mul_f64(jitter.clamp(0.5, 1.0))
}

/// What one [`Worker::step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Delivered (or written) and marked sent.
    pub sent: usize,
    /// Failed transiently; the job waits for its next attempt.
    pub retried: usize,
    /// Failed for good (a permanent error, or too many attempts).
    pub failed: usize,
}

impl StepReport {
    /// How many jobs this step claimed.
    pub fn claimed(&self) -> usize {
        self.sent + self.retried + self.failed
    }
}

/// The outbox worker: claims due jobs, sends them, and records the outcome.
///
/// Invariants: a job is marked sent only after the transport accepted it; a job that is
/// claimed but never marked (a crash) comes back when its lease ends and is sent again with
/// the same `Message-ID`; nothing here reads the clock except [`Worker::run`].
pub struct Worker {
    store: Arc<dyn Store>,
    mailer: Mailer,
    /// Poked by whoever commits new outbox rows, so they leave without waiting for the tick.
    notify: Arc<Notify>,
    /// Jobs claimed per step.
    batch: i64,
    /// Attempts after which a transiently failing job is given up.
    max_attempts: i64,
    /// Heartbeat and metrics of [`Worker::run`] (the daemon's watchdog waits for it).
    ops: Option<Arc<crate::ops::Ops>>,
}

enum Outcome {
    Sent,
    Retry,
    Failed,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, mailer: Mailer) -> Worker {
        Worker {
            store,
            mailer,
            notify: Arc::new(Notify::new()),
            batch: BATCH,
            max_attempts: MAX_ATTEMPTS,
            ops: None,
        }
    }

    /// Reports each step of [`Worker::run`] to `ops`: a heartbeat and the send outcomes.
    pub fn with_ops(mut self, ops: Arc<crate::ops::Ops>) -> Worker {
        self.ops = Some(ops);
        self
    }

    /// Jobs claimed per step (default [`BATCH`]).
    pub fn with_batch(mut self, batch: i64) -> Worker {
        self.batch = batch.max(1);
        self
    }

    /// Attempts before a job is given up (default [`MAX_ATTEMPTS`]).
    pub fn with_max_attempts(mut self, n: i64) -> Worker {
        self.max_attempts = n.max(1);
        self
    }

    /// Poke it (`notify_one`) after committing outbox rows to have them sent at once.
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// The lease for one batch: long enough for every send of the batch to time out in turn
    /// (sends run `concurrency` at a time), and never under [`MIN_LEASE`].
    pub fn lease(&self) -> Duration {
        let rounds = (self.batch as u32).div_ceil(self.mailer.concurrency().max(1) as u32) + 1;
        self.mailer
            .send_timeout()
            .saturating_mul(rounds)
            .max(MIN_LEASE)
    }

    /// Claims the jobs due at `now`, sends them (several at once) and records each outcome.
    /// Fails only when the store fails; sending errors are recorded on the jobs.
    pub async fn step(&self, now: DateTime<Utc>) -> anyhow::Result<StepReport> {
        let lease = chrono::Duration::from_std(self.lease()).context("lease out of range")?;
        let jobs = self
            .store
            .claim_outbox(now, now + lease, self.batch)
            .await
            .context("claiming outbox jobs")?;
        let mut report = StepReport::default();
        if jobs.is_empty() {
            return Ok(report);
        }
        let mut results = futures::stream::iter(jobs)
            .map(|job| self.process(job, now))
            .buffer_unordered(self.mailer.concurrency().max(1));
        let mut first_err = None;
        while let Some(r) = results.next().await {
            match r {
                Ok(Outcome::Sent) => report.sent += 1,
                Ok(Outcome::Retry) => report.retried += 1,
                Ok(Outcome::Failed) => report.failed += 1,
                // Keep going: the other sends are already under way and their outcomes
                // should be recorded if the store lets us.
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn process(&self, job: OutboxJob, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
        let email = &job.email;
        let span = tracing::info_span!(
            "outbox_send",
            job = job.id,
            message_id = %email.message_id,
            kind = %email.kind,
            to_domain = %email.to.domain(),
            attempt = job.attempts,
        );
        async {
            match self.mailer.send(email).await {
                Ok(()) => {
                    self.store
                        .outbox_sent(job.id, now)
                        .await
                        .context("marking an outbox job sent")?;
                    tracing::info!("sent");
                    Ok(Outcome::Sent)
                }
                Err(err) => {
                    // The claim counted this attempt already.
                    let failures = job.attempts.max(1);
                    let give_up = err.is_permanent() || failures >= self.max_attempts;
                    let retry_at = if give_up {
                        None
                    } else {
                        let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..=1.0);
                        let d = retry_delay(failures, jitter);
                        Some(
                            now + chrono::Duration::from_std(d)
                                .unwrap_or(chrono::Duration::hours(1)),
                        )
                    };
                    self.store
                        .outbox_failed(job.id, &err.to_string(), retry_at)
                        .await
                        .context("recording an outbox failure")?;
                    let logged = mailer::redact_addresses(&err.to_string());
                    match retry_at {
                        Some(at) => {
                            tracing::warn!(error = %logged, retry_at = %at, "send failed; will retry");
                            Ok(Outcome::Retry)
                        }
                        None => {
                            tracing::error!(error = %logged, failures, "send failed for good");
                            Ok(Outcome::Failed)
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Runs steps until `shutdown` completes: at once while there is work, otherwise after
    /// [`IDLE_WAIT`] or a poke. A step under way when shutdown comes is finished (its sends
    /// are drained and recorded) before this returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(transport = %self.mailer.describe(), "outbox worker started");
        loop {
            let result = self.step(Utc::now()).await;
            if let Some(ops) = &self.ops {
                if let Ok(r) = &result {
                    ops.metrics.outbox_step(r.sent, r.retried, r.failed);
                }
                ops.heartbeats.beat(crate::ops::OUTBOX_LOOP);
            }
            let wait = match result {
                Ok(r) if r.claimed() as i64 >= self.batch => Duration::ZERO,
                Ok(_) => IDLE_WAIT,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "outbox step failed");
                    ERROR_WAIT
                }
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_from_30s_and_caps_at_an_hour() {
        let secs = |n, j| retry_delay(n, j).as_secs_f64();
        assert_eq!(secs(1, 1.0), 30.0);
        assert_eq!(secs(2, 1.0), 60.0);
        assert_eq!(secs(3, 1.0), 120.0);
        assert_eq!(secs(7, 1.0), 1920.0);
        assert_eq!(secs(8, 1.0), 3600.0);
        assert_eq!(secs(60, 1.0), 3600.0);
        // Jitter spreads a retry over the upper half of its nominal delay, never beyond.
        assert_eq!(secs(1, 0.5), 15.0);
        assert_eq!(secs(1, 0.0), 15.0);
        assert_eq!(secs(1, 7.0), 30.0);
        assert_eq!(secs(60, 0.5), 1800.0);
        // A job claimed with attempts 0 (never by this store) is treated as the first failure.
        assert_eq!(secs(0, 1.0), 30.0);
    }

    #[test]
    fn ten_attempts_span_hours_not_days() {
        let total: f64 = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay(n, 1.0).as_secs_f64())
            .sum();
        // 30+60+…+1920 then 3600 twice: a message keeps being tried for about 3 hours.
        assert!((10_000.0..20_000.0).contains(&total), "{total}");
    }
}
