//! Zoom: the Meeting SDK join signature and the webhook receiver's pure parts (verification,
//! URL validation, payload parsing).
//!
//! Owns every fact about Zoom's wire formats. Does no I/O, never reads the clock (`now` is a
//! parameter), never logs secrets, signatures, passcodes or bodies, and knows nothing of HTTP
//! frameworks: `http` calls in here with headers and raw bytes.

pub mod signature;
pub mod webhook;

pub use signature::{sdk_signature, SdkClaims};
pub use webhook::{parse_event, url_validation_response, verify, VerifyError, WebhookEvent};
