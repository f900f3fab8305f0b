//! outbox (in progress).
