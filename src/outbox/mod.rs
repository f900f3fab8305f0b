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

use crate::domain::{EmailAddress, OfferState, Token, TokenHash};
use crate::store::{NewEmail, OutboxJob, OutboxOffer, Store};
pub use mailer::{Mailer, SendError};
use templates::{DigestOffer, Message, Rendered, Templates};

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

/// Prefix of a digest's `Message-ID`: `digest.` + the `Message-ID` of its lowest job. Derived,
/// not random: the folding that writes the digest row cannot happen twice for the same jobs
/// (the outbox's unique `Message-ID` refuses the second).
pub const DIGEST_PREFIX: &str = "digest.";

/// The `Message-ID` of the digest whose lowest (first-written) job has `first_message_id`.
pub fn digest_message_id(first_message_id: &str) -> String {
    format!("{DIGEST_PREFIX}{first_message_id}")
}

/// The offer's own link in an offer email's text: the first URL with a path segment whose
/// hash is the offer's token hash, cut after that segment. `None` when the text has none (an
/// operator's template without the link): then the email is sent as it is.
pub fn offer_link(text: &str, token: &TokenHash) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .find_map(|url| {
            let mut end = 0;
            for segment in url.split('/') {
                end += segment.len();
                if Token::parse(segment).is_some_and(|t| &t.hash() == token) {
                    return Some(url[..end].to_string());
                }
                end += 1;
            }
            None
        })
}

/// Where the worker gets the templates for digests at each step (so a reload applies).
pub type TemplateSource = Arc<dyn Fn() -> Arc<Templates> + Send + Sync>;

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

/// The digest email for `open` offers (each: its job, its offer, its link), all to one
/// interpreter; its `Message-ID` derives from the lowest job's.
fn render_digest(
    templates: &Templates,
    open: &[(&OutboxJob, &OutboxOffer, String)],
    from: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let (first, first_offer, _) = open
        .iter()
        .min_by_key(|(job, _, _)| job.id)
        .context("a digest of no offers")?;
    let mut items: Vec<_> = open.iter().collect();
    // Soonest meeting first; those without a time last, in the order they were offered.
    items.sort_by_key(|(job, o, _)| {
        (
            o.offer.request.meeting.start.is_none(),
            o.offer.request.meeting.start,
            job.id,
        )
    });
    let rendered = templates.render(&Message::OfferDigest {
        interpreter: &first_offer.offer.interpreter,
        offers: items
            .iter()
            .map(|(job, o, link)| DigestOffer {
                request: &o.offer.request,
                subject: &job.email.subject,
                offer_url: link,
                expires_at: o.offer.expires_at,
            })
            .collect(),
        now,
    })?;
    let mut email = compose("offer_digest", &first.email.to, from, rendered, None);
    email.message_id = digest_message_id(&first.email.message_id);
    Ok(email)
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
    /// Renders offer digests (the built-in templates unless [`Worker::with_templates`]).
    templates: TemplateSource,
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
            templates: {
                let built_in = Arc::new(
                    Templates::load(None)
                        .expect("the built-in templates are compiled in and golden-tested"),
                );
                Arc::new(move || built_in.clone())
            },
        }
    }

    /// Renders digests with the templates `source` returns at each step (the daemon passes
    /// the live snapshot's, so SIGHUP reloads apply).
    pub fn with_templates(mut self, source: TemplateSource) -> Worker {
        self.templates = source;
        self
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
        if jobs.is_empty() {
            return Ok(StepReport::default());
        }
        let jobs = self.fold_offers(jobs, now, now + lease).await?;
        // Group commit: each send that the transport accepted is marked sent by the committer
        // below, together with every other one that completed while its previous commit ran
        // (one transaction for many, instead of one each). Crash safety is unchanged in kind:
        // a crash between a send and its mark re-sends that message with the same Message-ID
        // when its lease ends. It is unchanged in size too, near enough: the messages sent but
        // not yet marked at any instant are at most those sending concurrently plus one
        // commit's worth (which completed while `concurrency` sends were running anyway), so a
        // crash re-sends at most about twice the concurrency, never a whole batch.
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
        let concurrency = self.mailer.concurrency().max(1);
        let sends = async move {
            let mut results = futures::stream::iter(jobs)
                .map(|job| self.process(job, now, &done_tx))
                .buffer_unordered(concurrency);
            let mut report = StepReport::default();
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
            (report, first_err)
        };
        let marks = async {
            let mut first_err = None;
            while let Some(id) = done_rx.recv().await {
                let mut ids = vec![id];
                while let Ok(id) = done_rx.try_recv() {
                    ids.push(id);
                }
                if let Err(e) = self.store.outbox_sent_many(&ids, now).await {
                    tracing::error!(jobs = ?ids, error = %e, "sent, but not marked sent: they will be sent again after their lease");
                    first_err.get_or_insert(e);
                }
            }
            first_err
        };
        let ((report, send_err), mark_err) = tokio::join!(sends, marks);
        match (send_err, mark_err) {
            (Some(e), _) => Err(e),
            (None, Some(e)) => Err(anyhow::Error::new(e).context("marking outbox jobs sent")),
            (None, None) => Ok(report),
        }
    }

    /// Offer emails about to be tried for the first time: those whose offer closed already
    /// are closed unsent, and two or more still open to one interpreter become one digest
    /// (a new job, written with the folding in one transaction, sent in their place).
    ///
    /// Crash safety: only never-tried jobs are folded (a job tried before may have reached
    /// the interpreter, so it is only ever sent again as itself, with its own `Message-ID`);
    /// the digest is a row before it is sent, so from then on it is an ordinary job: a crash
    /// between its send and its mark re-sends that one digest, with the same `Message-ID`.
    async fn fold_offers(
        &self,
        jobs: Vec<OutboxJob>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<OutboxJob>> {
        let fresh: Vec<i64> = jobs
            .iter()
            .filter(|j| j.offer_id.is_some() && j.attempts == 1)
            .map(|j| j.id)
            .collect();
        if fresh.is_empty() {
            return Ok(jobs);
        }
        let offers = self
            .store
            .outbox_offers(&fresh)
            .await
            .context("reading the offers of outbox jobs")?;
        let (mut out, mut folding): (Vec<OutboxJob>, Vec<OutboxJob>) = jobs
            .into_iter()
            .partition(|j| !offers.iter().any(|o| o.job_id == j.id));
        folding.sort_by_key(|j| (j.email.to.as_str().to_lowercase(), j.id));
        let templates = (self.templates)();
        let mut rest = folding.as_slice();
        while let Some(first) = rest.first() {
            let to = first.email.to.as_str().to_lowercase();
            let n = rest
                .iter()
                .take_while(|j| j.email.to.as_str().to_lowercase() == to)
                .count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            let mut open: Vec<(&OutboxJob, &OutboxOffer, String)> = Vec::new();
            let mut closed = Vec::new();
            for job in group {
                let o = offers
                    .iter()
                    .find(|o| o.job_id == job.id)
                    .expect("every folding job has its offer (partitioned on it)");
                if o.offer.state != OfferState::Pending || o.offer.expires_at <= now {
                    closed.push(job.id);
                    continue;
                }
                match offer_link(&job.email.text, &o.token_hash) {
                    Some(link) => open.push((job, o, link)),
                    // No link to put in a digest: it goes out as it is.
                    None => out.push(job.clone()),
                }
            }
            let digest = if open.len() >= 2 {
                match render_digest(&templates, &open, self.mailer.from_address(), now) {
                    Ok(email) => Some(email),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "offer digest does not render; sending the offers one by one");
                        None
                    }
                }
            } else {
                None
            };
            if digest.is_none() {
                out.extend(open.iter().map(|(job, _, _)| (*job).clone()));
            }
            if digest.is_none() && closed.is_empty() {
                continue;
            }
            let members: Vec<i64> = if digest.is_some() {
                open.iter().map(|(job, _, _)| job.id).collect()
            } else {
                Vec::new()
            };
            let written = self
                .store
                .outbox_digest(&members, &closed, digest.as_ref(), lease_until, now)
                .await
                .context("folding offer emails into a digest")?;
            if !closed.is_empty() {
                tracing::info!(jobs = ?closed, "offer emails not sent: their offers closed first");
            }
            match (written, digest.is_some()) {
                (Some(job), _) => {
                    tracing::info!(digest = job.id, jobs = ?members, "offer emails folded into one digest");
                    out.push(job);
                }
                // Its Message-ID exists already (cannot happen while only never-tried jobs
                // fold): send the offers as they are.
                (None, true) => out.extend(open.iter().map(|(job, _, _)| (*job).clone())),
                (None, false) => {}
            }
        }
        out.sort_by_key(|j| j.id);
        Ok(out)
    }

    /// Sends one job and records a failure; a success is handed to `sent` (the step's group
    /// commit marks it).
    async fn process(
        &self,
        job: OutboxJob,
        now: DateTime<Utc>,
        sent: &tokio::sync::mpsc::UnboundedSender<i64>,
    ) -> anyhow::Result<Outcome> {
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
                    sent.send(job.id)
                        .map_err(|_| anyhow::anyhow!("the step's committer stopped"))?;
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
    fn an_offer_link_is_found_by_its_token_hash_only() {
        let token = Token::generate();
        let other = Token::generate();
        let text = format!(
            "See <https://x.test/offer/{o}> or open:\nhttps://x.test/offer/{t}\n\
             Go online: https://x.test/offer/{t}/me\n",
            o = other.expose(),
            t = token.expose()
        );
        assert_eq!(
            offer_link(&text, &token.hash()).as_deref(),
            Some(format!("https://x.test/offer/{}", token.expose()).as_str())
        );
        // Only the /me link left: cut after the token.
        let me_only = format!("https://x.test/offer/{}/me", token.expose());
        assert_eq!(
            offer_link(&me_only, &token.hash()),
            Some(format!("https://x.test/offer/{}", token.expose()))
        );
        assert_eq!(offer_link("no link here", &token.hash()), None);
        assert_eq!(
            offer_link(
                &format!("https://x.test/offer/{}", other.expose()),
                &token.hash()
            ),
            None
        );
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
