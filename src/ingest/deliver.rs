//! Pipe mode for MTAs (`dragoman deliver --to ADDRESS < message`): one message from stdin,
//! committed like any other source, with an answer the MTA understands.
//!
//! The mailbox is `deliver` and the source key the SHA-256 of the bytes, so an MTA that
//! retries after a timeout never makes a second request. It must never report success before
//! the commit, and never report a permanent failure: anything not committed is
//! `EX_TEMPFAIL` (75), so the MTA keeps the message and tries again.

use std::io::Read;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::offers::Offers;
use crate::store::IngestOutcome;

/// The `[[mailbox]]`-like name under which piped messages are recorded.
pub const DELIVER_MAILBOX: &str = "deliver";

/// sysexits.h: the MTA defers the message and retries.
pub const EX_TEMPFAIL: u8 = 75;

/// Reads at most `cap + 1` bytes: enough to know the message is over the cap.
pub fn read_message(mut input: impl Read, cap: usize) -> std::io::Result<(Vec<u8>, u64)> {
    let mut raw = Vec::new();
    let limit = (cap as u64).saturating_add(1);
    input.by_ref().take(limit).read_to_end(&mut raw)?;
    let mut total = raw.len() as u64;
    if total > cap as u64 {
        // Count the rest without keeping it, so the MTA's pipe drains.
        total += std::io::copy(&mut input, &mut std::io::sink())?;
    }
    Ok((raw, total))
}

/// Commits one piped message for envelope recipient `to`.
pub async fn deliver(
    offers: &Offers,
    config: &Config,
    to: &str,
    raw: &[u8],
    size: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    let cap = config.limits.max_message_bytes;
    if size > cap as u64 {
        let key = format!("oversized:{size}:{}", super::sha256_hex(raw));
        // What was read (the first `cap` bytes) holds the header: the sender is told.
        return super::ingest_oversized(
            offers,
            config,
            DELIVER_MAILBOX,
            &key,
            size,
            cap,
            Some(super::header_block(raw)),
            now,
        )
        .await;
    }
    let key = format!("sha256:{}", super::sha256_hex(raw));
    super::ingest_with(
        offers,
        config,
        DELIVER_MAILBOX,
        &key,
        raw,
        None,
        Some(to),
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_counts_the_rest() {
        let (raw, size) = read_message(&b"hello world"[..], 100).expect("in memory");
        assert_eq!((raw.as_slice(), size), (&b"hello world"[..], 11));
        let (raw, size) = read_message(&b"hello world"[..], 4).expect("in memory");
        assert_eq!((raw.len(), size), (5, 11));
    }
}
