//! Zoom: the Meeting SDK join signature, the webhook receiver's pure parts (verification,
//! URL validation, payload parsing), the processing of stored webhook events, and attendance.
//!
//! Owns every fact about Zoom's wire formats. Never reads the clock (`now` is a parameter),
//! never logs secrets, signatures, passcodes, names or bodies, and knows nothing of HTTP
//! frameworks: `http` calls in here with headers and raw bytes. The only I/O is `events`
//! driving the `Store`.

pub mod attendance;
pub mod events;
pub mod join_mode;
pub mod signature;
pub mod webhook;

pub use signature::{sdk_signature, SdkClaims};
pub use webhook::{parse_event, url_validation_response, verify, VerifyError, WebhookEvent};
