//! The Prometheus metrics: one registry with every family dragoman exports, the hooks the loops
//! and handlers call when something happens, and the text exposition for `/metrics`.
//!
//! Labels are bounded sets only: mailbox names from the configuration, states, outcomes, event
//! types and HTTP route *templates*. Never a raw path, address, token, subject or anything
//! that came from a message (paths carry capability tokens; unbounded labels kill Prometheus).
//! Gauges that mirror the database (requests, offers, outbox) are filled at scrape time from
//! `Store::status` by the caller; this module never touches the store.

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::StatusCounts;

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text, which Prometheus
/// prefers and which is a superset of its classic text format).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MailboxLabels {
    pub mailbox: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub mailbox: String,
    /// `created`, `duplicate`, `rejected`, `resumed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

/// A webhook event's type: the label is `type` (a Rust keyword, hence the hand-written encoding).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TypeLabels(pub String);

impl EncodeLabelSet for TypeLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("type", self.0.as_str()).encode(encoder.encode_label())
    }
}

/// A loop's name: the label is `loop` (a Rust keyword, hence the hand-written encoding).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct LoopLabels(pub String);

impl EncodeLabelSet for LoopLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("loop", self.0.as_str()).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route template (`/offer/:token`), or `unmatched`.
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn http_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn fill_histogram() -> Histogram {
    // 30 s … ~34 h: offers are answered in minutes to hours.
    Histogram::new(exponential_buckets(30.0, 2.0, 13))
}

/// Every metric family. Cheap handles (each is an `Arc` inside); share the `Metrics` itself.
pub struct Metrics {
    registry: Registry,
    /// Held while the scrape-time gauges are reset and refilled and the text encoded, so two
    /// scrapes never interleave a reset with an encode.
    scrape: Mutex<()>,

    pub mailbox_messages: Family<MessageLabels, Counter>,
    pub mailbox_errors: Family<MailboxLabels, Counter>,
    pub mailbox_idle_reconnects: Family<MailboxLabels, Counter>,
    pub mailbox_contact_age: Family<MailboxLabels, FloatGauge>,
    pub loop_progress_age: Family<LoopLabels, FloatGauge>,

    pub requests: Family<StateLabels, Gauge>,
    pub offers: Family<StateLabels, Gauge>,
    pub interpreters: Gauge,
    pub interpreters_online: Gauge,
    pub time_to_fill: Histogram,

    pub outbox_jobs: Family<StateLabels, Gauge>,
    pub outbox_sends: Family<OutcomeLabels, Counter>,

    pub webhook_events: Family<TypeLabels, Counter>,
    pub webhook_verification_failures: Counter,

    pub http_duration: Family<HttpLabels, Histogram>,

    pub database_up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("dragoman");
        let m = Metrics {
            registry: Registry::default(),
            scrape: Mutex::new(()),
            mailbox_messages: Family::default(),
            mailbox_errors: Family::default(),
            mailbox_idle_reconnects: Family::default(),
            mailbox_contact_age: Family::default(),
            loop_progress_age: Family::default(),
            requests: Family::default(),
            offers: Family::default(),
            interpreters: Gauge::default(),
            interpreters_online: Gauge::default(),
            time_to_fill: fill_histogram(),
            outbox_jobs: Family::default(),
            outbox_sends: Family::default(),
            webhook_events: Family::default(),
            webhook_verification_failures: Counter::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            database_up: Gauge::default(),
        };
        let info: Family<VersionLabels, Gauge> = Family::default();
        info.get_or_create(&VersionLabels {
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
        .set(1);
        registry.register("build_info", "The running version (always 1)", info);
        registry.register(
            "mailbox_messages",
            "Messages handled per mailbox, by outcome (created a request, duplicate, rejected, resumed after a crash)",
            m.mailbox_messages.clone(),
        );
        registry.register(
            "mailbox_errors",
            "Failed ingest passes or messages per mailbox (left in place, retried)",
            m.mailbox_errors.clone(),
        );
        registry.register(
            "mailbox_idle_reconnects",
            "IMAP connections lost after login per mailbox (each followed by a reconnect with backoff)",
            m.mailbox_idle_reconnects.clone(),
        );
        registry.register(
            "mailbox_seconds_since_contact",
            "Seconds since the mailbox was last read successfully (since start when never)",
            m.mailbox_contact_age.clone(),
        );
        registry.register(
            "loop_seconds_since_progress",
            "Seconds since each loop (mailbox:NAME, outbox, timers) last finished a step",
            m.loop_progress_age.clone(),
        );
        registry.register(
            "requests",
            "Requests in the database, by state",
            m.requests.clone(),
        );
        registry.register(
            "offers",
            "Offers in the database, by state (pending, accepted, declined, expired, …)",
            m.offers.clone(),
        );
        registry.register(
            "interpreters",
            "Interpreters on the roster",
            m.interpreters.clone(),
        );
        registry.register(
            "interpreters_online",
            "Interpreters with a current presence lease",
            m.interpreters_online.clone(),
        );
        registry.register(
            "request_time_to_fill_seconds",
            "From a request's creation to its first accepted offer",
            m.time_to_fill.clone(),
        );
        registry.register(
            "outbox_jobs",
            "Outbox rows by state (pending is the backlog; failed gave up)",
            m.outbox_jobs.clone(),
        );
        registry.register(
            "outbox_sends",
            "Send attempts by this process, by outcome (sent, retry, failed)",
            m.outbox_sends.clone(),
        );
        registry.register(
            "webhook_events",
            "Verified Zoom webhook events by type",
            m.webhook_events.clone(),
        );
        registry.register(
            "webhook_verification_failures",
            "Zoom webhook requests refused: bad or missing signature, stale timestamp, no secret",
            m.webhook_verification_failures.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            m.http_duration.clone(),
        );
        registry.register(
            "database_up",
            "1 when the last scrape could read the database, else 0",
            m.database_up.clone(),
        );
        Metrics { registry, ..m }
    }

    /// One ingest pass over `mailbox` with these counts.
    pub fn ingested(
        &self,
        mailbox: &str,
        created: usize,
        duplicates: usize,
        rejected: usize,
        resumed: usize,
        errors: usize,
    ) {
        for (outcome, n) in [
            ("created", created),
            ("duplicate", duplicates),
            ("rejected", rejected),
            ("resumed", resumed),
        ] {
            let c = self.mailbox_messages.get_or_create(&MessageLabels {
                mailbox: mailbox.to_string(),
                outcome: outcome.to_string(),
            });
            c.inc_by(n as u64);
        }
        self.mailbox_errors
            .get_or_create(&MailboxLabels {
                mailbox: mailbox.to_string(),
            })
            .inc_by(errors as u64);
    }

    /// An ingest pass that failed as a whole (the mailbox could not be read).
    pub fn mailbox_failed(&self, mailbox: &str) {
        self.mailbox_errors
            .get_or_create(&MailboxLabels {
                mailbox: mailbox.to_string(),
            })
            .inc();
    }

    /// Shows `mailbox`'s counters at 0 from the start (a series that appears only with its
    /// first increment is missed by `increase()` in alert rules).
    pub fn mailbox_known(&self, mailbox: &str) {
        let labels = MailboxLabels {
            mailbox: mailbox.to_string(),
        };
        // Creating the series is the point; the guard it returns is not needed.
        let _ = self.mailbox_errors.get_or_create(&labels);
        let _ = self.mailbox_idle_reconnects.get_or_create(&labels);
    }

    /// An IMAP connection of `mailbox` that was up (logged in, watching) broke; the task
    /// reconnects.
    pub fn idle_reconnect(&self, mailbox: &str) {
        self.mailbox_idle_reconnects
            .get_or_create(&MailboxLabels {
                mailbox: mailbox.to_string(),
            })
            .inc();
    }

    /// Outbox step outcomes.
    pub fn outbox_step(&self, sent: usize, retried: usize, failed: usize) {
        for (outcome, n) in [("sent", sent), ("retry", retried), ("failed", failed)] {
            self.outbox_sends
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.to_string(),
                })
                .inc_by(n as u64);
        }
    }

    /// A verified webhook event of `kind` (a small fixed vocabulary chosen by the caller).
    pub fn webhook_event(&self, kind: &str) {
        self.webhook_events
            .get_or_create(&TypeLabels(kind.to_string()))
            .inc();
    }

    /// One HTTP request. `route` must be a template, never the request's path; it is written
    /// with `:name` parameters (`/offer/:token`), since braces inside label values trip up
    /// simpler exposition parsers.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_duration
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.replace('{', ":").replace('}', ""),
                status: status.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Encodes everything, after refilling the scrape-time gauges: the database's counts
    /// (`None` when it could not be read), each mailbox's age since last contact and each
    /// loop's age since its last step.
    pub fn encode(
        &self,
        status: Option<&StatusCounts>,
        mailbox_ages: &[(String, Duration)],
        loop_ages: &[(String, Duration)],
    ) -> String {
        let _guard = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        match status {
            Some(s) => {
                self.database_up.set(1);
                fill(&self.requests, &s.requests);
                fill(&self.offers, &s.offers);
                fill(
                    &self.outbox_jobs,
                    &[
                        ("pending".to_string(), s.outbox_pending),
                        ("failed".to_string(), s.outbox_failed),
                        ("sent".to_string(), s.outbox_sent),
                        ("digested".to_string(), s.outbox_digested),
                        ("skipped".to_string(), s.outbox_skipped),
                    ],
                );
                self.interpreters.set(s.interpreters);
                self.interpreters_online.set(s.interpreters_online);
            }
            None => {
                self.database_up.set(0);
            }
        }
        self.mailbox_contact_age.clear();
        for (name, age) in mailbox_ages {
            self.mailbox_contact_age
                .get_or_create(&MailboxLabels {
                    mailbox: name.clone(),
                })
                .set(age.as_secs_f64());
        }
        self.loop_progress_age.clear();
        for (name, age) in loop_ages {
            self.loop_progress_age
                .get_or_create(&LoopLabels(name.clone()))
                .set(age.as_secs_f64());
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Replaces a gauge family's contents: states that have no rows any more disappear instead of
/// keeping their last value.
fn fill(family: &Family<StateLabels, Gauge>, counts: &[(String, i64)]) {
    family.clear();
    for (state, n) in counts {
        family
            .get_or_create(&StateLabels {
                state: state.clone(),
            })
            .set(*n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_families_with_bounded_labels_and_refreshes_scrape_gauges() {
        let m = Metrics::new();
        m.ingested("spool", 2, 1, 0, 0, 1);
        m.idle_reconnect("inbox");
        m.webhook_event("participant_joined");
        m.webhook_verification_failures.inc();
        m.http_request("GET", "/offer/{token}", 200, Duration::from_millis(3));
        let status = StatusCounts {
            requests: vec![("offered".into(), 3)],
            offers: vec![("pending".into(), 5)],
            outbox_pending: 4,
            outbox_failed: 1,
            outbox_sent: 9,
            outbox_digested: 0,
            outbox_skipped: 0,
            interpreters: 7,
            interpreters_online: 2,
            messages_ingested: 0,
            messages_rejected: 0,
        };
        let text = m.encode(
            Some(&status),
            &[("spool".into(), Duration::from_secs(3))],
            &[("outbox".into(), Duration::from_secs(1))],
        );
        for line in [
            r#"dragoman_mailbox_messages_total{mailbox="spool",outcome="created"} 2"#,
            r#"dragoman_mailbox_errors_total{mailbox="spool"} 1"#,
            r#"dragoman_mailbox_idle_reconnects_total{mailbox="inbox"} 1"#,
            r#"dragoman_requests{state="offered"} 3"#,
            r#"dragoman_offers{state="pending"} 5"#,
            r#"dragoman_outbox_jobs{state="pending"} 4"#,
            r#"dragoman_webhook_events_total{type="participant_joined"} 1"#,
            "dragoman_webhook_verification_failures_total 1",
            r#"dragoman_mailbox_seconds_since_contact{mailbox="spool"} 3.0"#,
            r#"dragoman_loop_seconds_since_progress{loop="outbox"} 1.0"#,
            "dragoman_database_up 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains(
            r#"dragoman_http_request_duration_seconds_count{method="GET",route="/offer/:token",status="200"} 1"#
        ));

        // The request moved on: its old state is gone, not frozen at 3.
        let status = StatusCounts {
            requests: vec![("assigned".into(), 1)],
            ..status
        };
        let text = m.encode(Some(&status), &[], &[]);
        assert!(!text.contains(r#"state="offered""#), "{text}");
        assert!(text.contains(r#"dragoman_requests{state="assigned"} 1"#));

        let text = m.encode(None, &[], &[]);
        assert!(text.contains("dragoman_database_up 0"));
    }
}
