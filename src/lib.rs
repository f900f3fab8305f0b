//! dragoman: reads Zoom invitations from mailboxes, offers the meeting to online interpreters,
//! hands the one who accepts a join link, and follows Zoom's webhooks to know they joined.
//!
//! Layout (see ARCHITECTURE.md for the invariants of each):
//! - [`domain`]: pure types (languages, pairs, interpreters, requests, tokens, customer keys).
//! - [`config`]: the TOML file, environment overrides and secrets.
//! - [`invitation`]: the invitation parser (untrusted MIME in, `Invitation` out).
//! - [`ingest`]: mail sources (Maildir), routing by recipient, requestor checks.
//! - [`matching`]: who is eligible for a request (pure).
//! - [`offers`]: the use cases: record a request with its offers, accept, decline.
//! - [`outbox`]: templates, transports and the worker; every email leaves through here.
//! - [`zoom`]: SDK join signature and webhook verification.
//! - [`store`]: every SQL statement, behind the `Store` trait (SQLite and PostgreSQL).
//! - [`http`]: axum handlers, thin.
//! - [`ops`]: systemd notify + watchdog heartbeats, Prometheus metrics, readiness.
//! - [`app`]: wiring, the daemon's loops and shutdown.
//! - [`demo`]: the whole story on the embedded default.

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod invitation;
pub mod matching;
pub mod offers;
pub mod ops;
pub mod outbox;
pub mod roster;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod zoom;
