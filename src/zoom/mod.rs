//! Zoom: the Meeting SDK join signature, the webhook receiver's pure parts (verification,
//! URL validation, payload parsing), the processing of stored webhook events, attendance,
//! connected Zoom users (OAuth, ZAK/OBF tokens) and reconciliation from the report API.
//!
//! Owns every fact about Zoom's wire formats. Never reads the clock (`now` is a parameter),
//! never logs secrets, tokens, signatures, passcodes, names or bodies, and knows nothing of
//! HTTP frameworks: `http` calls in here with headers and raw bytes. I/O: `events`,
//! `connect` and `reconcile` drive the `Store`; `intake` runs the webhook receiver's
//! group-commit writer and processing worker (tasks; their clock is injected); `api` (the
//! only caller of Zoom's cloud) talks to Zoom.

pub mod api;
pub mod attendance;
pub mod connect;
pub mod events;
pub mod intake;
pub mod join_mode;
pub mod oauth;
pub mod reconcile;
pub mod signature;
pub mod webhook;

pub use signature::{sdk_signature, SdkClaims};
pub use webhook::{parse_event, url_validation_response, verify, VerifyError, WebhookEvent};
