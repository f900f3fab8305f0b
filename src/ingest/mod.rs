//! Mail ingest: turns one incoming message into a committed decision (a request with its
//! offers, or a rejection with its reason), whatever the source.
//!
//! `classify` is pure (headers, parse result and configuration in, decision out). The sources
//! (`maildir`) call `ingest_message`, and only after it returns do they mark the message done,
//! so a crash at any point is followed by a correct resume. Nothing here sends email.

pub mod deliver;
pub mod imap;
pub mod maildir;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::domain::{EmailAddress, Meeting, Request, RequestState};
use crate::invitation::{self, Envelope, Invitation};
use crate::offers::Offers;
use crate::outbox::compose;
use crate::outbox::templates::Message;
use crate::store::{
    ImapCursor, IngestDecision, IngestOutcome, IngestedMessage, NewEmail, NewRequest,
};

/// What the pure classification says about a message.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per message and consumed at once
pub enum Classified {
    /// Make (or find) a request.
    Request(NewRequest),
    /// Record and move on; never answered (loops, our own mail, no route, unknown senders
    /// when `[requestors] unknown_senders = "ignore"`).
    Rejected(String),
    /// An allowed requestor's message to a route that is not an invitation we can read:
    /// answered with what was missing ("not understood").
    NotUnderstood {
        reason: invitation::NotAnInvitation,
        sender: EmailAddress,
        route_address: String,
    },
    /// A sender who may not create requests, with `unknown_senders = "reply"`: answered once
    /// with a polite notice (and at most the daily cap per address).
    NotAuthorised {
        sender: EmailAddress,
        route_address: String,
    },
}

impl Classified {
    /// The reason recorded with a message that did not become a request.
    pub fn reason(&self) -> Option<String> {
        match self {
            Classified::Request(_) => None,
            Classified::Rejected(r) => Some(r.clone()),
            Classified::NotUnderstood { reason, .. } => Some(reason.to_string()),
            Classified::NotAuthorised { sender, .. } => {
                Some(format!("sender {sender} is not an allowed requestor"))
            }
        }
    }
}

/// Decides, without I/O, what a message is. Loop safety comes first: automated mail and our
/// own mail are never requests and never answered.
pub fn classify(
    envelope: &Envelope,
    parsed: Result<Invitation, invitation::NotAnInvitation>,
    config: &Config,
) -> Classified {
    if let Some(why) = &envelope.automated {
        return Classified::Rejected(format!("automated message ({why}): not answered"));
    }
    let Some(from) = envelope
        .from
        .as_deref()
        .and_then(|f| EmailAddress::parse(f).ok())
    else {
        return Classified::Rejected("no usable From address".into());
    };
    if from.without_plus_tag() == config.outbound.from.without_plus_tag()
        || config
            .routes
            .iter()
            .any(|r| r.address == from.without_plus_tag())
    {
        return Classified::Rejected("our own message: not answered".into());
    }
    let Some(route) = config.route_for(envelope.recipients.iter().map(String::as_str)) else {
        return Classified::Rejected(format!(
            "no [[route]] for any recipient ({})",
            if envelope.recipients.is_empty() {
                "none found".to_string()
            } else {
                envelope.recipients.join(", ")
            }
        ));
    };
    if !config.requestors.allows(&from) {
        return match config.requestors.unknown_senders {
            crate::config::UnknownSenders::Reply => Classified::NotAuthorised {
                sender: from,
                route_address: route.address.clone(),
            },
            crate::config::UnknownSenders::Ignore => {
                Classified::Rejected(format!("sender {from} is not an allowed requestor"))
            }
        };
    }
    let inv = match parsed {
        Ok(inv) => inv,
        Err(reason) => {
            return Classified::NotUnderstood {
                reason,
                sender: from,
                route_address: route.address.clone(),
            }
        }
    };
    Classified::Request(NewRequest {
        meeting: meeting_of(&inv),
        pair: route.pair.clone(),
        requestor: from,
        route_address: route.address.clone(),
        calendar: inv.calendar.as_ref().map(|c| crate::store::CalendarKey {
            uid: c.uid.clone(),
            sequence: c.sequence,
            cancel: c.method.as_deref() == Some("CANCEL"),
        }),
    })
}

/// The stored meeting of a parsed invitation.
pub fn meeting_of(inv: &Invitation) -> Meeting {
    Meeting {
        meeting_id: inv.meeting_id.clone(),
        passcode: inv.passcode.clone(),
        join_url: inv.join_url.clone(),
        host: inv.host.clone(),
        kind: inv.kind.as_str().to_string(),
        topic: inv.topic.clone(),
        start: inv.start.map(|s| s.with_timezone(&Utc)),
        timezone: inv.timezone.clone(),
    }
}

/// One message from a source, fully processed and committed.
pub async fn ingest_message(
    offers: &Offers,
    config: &Config,
    mailbox: &str,
    source_key: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    ingest_message_at(offers, config, mailbox, source_key, raw, None, now).await
}

/// SHA-256 of raw bytes, hex (the third dedupe key).
pub fn sha256_hex(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// `ingest_message`, advancing an IMAP high-water mark in the same transaction when `cursor`
/// is given (and deduplicating by Message-ID and content hash within the mailbox).
pub async fn ingest_message_at(
    offers: &Offers,
    config: &Config,
    mailbox: &str,
    source_key: &str,
    raw: &[u8],
    cursor: Option<&ImapCursor>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    ingest_with(offers, config, mailbox, source_key, raw, cursor, None, now).await
}

/// The one implementation behind `ingest_message*`: `extra_recipient` is an envelope
/// recipient the headers may not name (a Bcc handed over by an MTA in pipe mode).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site per source; a struct buys nothing"
)]
pub(crate) async fn ingest_with(
    offers: &Offers,
    config: &Config,
    mailbox: &str,
    source_key: &str,
    raw: &[u8],
    cursor: Option<&ImapCursor>,
    extra_recipient: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    let read = Read::new(config, mailbox, source_key, raw, extra_recipient);
    let decision = decide(offers, config, &read, raw, now).await?;
    record(offers, &read, &decision, cursor, now).await
}

/// A message read without I/O: its envelope, the dedupe keys and what it is. The first of
/// ingest's three steps (`Read::new`, [`decide`], [`record`]); a source that overlaps the
/// decision of one message with the commit of the one before asks [`Read::independent_of`]
/// first.
pub struct Read {
    pub envelope: Envelope,
    pub message: IngestedMessage,
    pub classified: Classified,
}

impl Read {
    pub fn new(
        config: &Config,
        mailbox: &str,
        source_key: &str,
        raw: &[u8],
        extra_recipient: Option<&str>,
    ) -> Read {
        let mut envelope = invitation::envelope(raw);
        if let Some(to) = extra_recipient {
            if !envelope
                .recipients
                .iter()
                .any(|r| r.eq_ignore_ascii_case(to))
            {
                envelope.recipients.push(to.to_string());
            }
        }
        let message = IngestedMessage {
            mailbox: mailbox.to_string(),
            source_key: source_key.to_string(),
            message_id: envelope.message_id.clone(),
            sha256: sha256_hex(raw),
        };
        let parsed = invitation::parse_with_limit(raw, config.limits.max_message_bytes);
        let classified = classify(&envelope, parsed, config);
        Read {
            envelope,
            message,
            classified,
        }
    }

    fn calendar_uid(&self) -> Option<&str> {
        match &self.classified {
            Classified::Request(r) => r.calendar.as_ref().map(|c| c.uid.as_str()),
            _ => None,
        }
    }

    /// Whether this message's decision can be made before `before` (decided as `decision`) is
    /// committed and still be the decision it would get after. Everything [`decide`] reads
    /// that `before`'s commit can change: the request a calendar UID names (`before` may create
    /// it) and an address's daily count of automatic replies (`before` may add one). Other
    /// overlaps are settled inside the commit itself (the same meeting twice is a
    /// `DuplicateMeeting` there), and a reply to mail `before` causes cannot exist yet.
    pub fn independent_of(&self, before: &Read, decision: &IngestDecision) -> bool {
        if let (Some(a), Some(b)) = (self.calendar_uid(), before.calendar_uid()) {
            if a == b {
                return false;
            }
        }
        let emails = match decision {
            IngestDecision::Request { emails, .. } | IngestDecision::Rejected { emails, .. } => {
                emails
            }
        };
        let ours = [
            self.envelope.from.as_deref(),
            self.envelope.reply_to.as_deref(),
        ];
        !emails.iter().any(|e| {
            crate::store::REPLY_KINDS.contains(&e.kind.as_str())
                && ours.iter().flatten().any(|a| {
                    EmailAddress::parse(a)
                        .is_ok_and(|a| a.as_str().eq_ignore_ascii_case(e.to.as_str()))
                })
        })
    }
}

/// The second step: what to record for a message — a request with its first wave and
/// notices, or a rejection with its answer. Reads the store; a calendar update or
/// cancellation of an existing request, and a requestor's "cancel" reply, are applied here.
pub async fn decide(
    offers: &Offers,
    config: &Config,
    read: &Read,
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<IngestDecision> {
    let envelope = &read.envelope;
    let calendar_change = match &read.classified {
        Classified::Request(request) => offers.calendar_change(request, now).await?,
        _ => None,
    };
    Ok(match (calendar_change, &read.classified) {
        // An update or cancellation of a request we already have (same calendar UID).
        (Some(what), _) => IngestDecision::Rejected {
            reason: what,
            emails: vec![],
        },
        (None, Classified::Request(request)) => {
            let received = reply(
                offers,
                config,
                envelope,
                &request.requestor,
                &Message::Received {
                    request: &preview(request, now),
                },
                now,
            )
            .await?;
            let mut decision = offers.plan_request(request.clone(), now).await?;
            if let IngestDecision::Request { emails, .. } = &mut decision {
                emails.extend(received);
            }
            decision
        }
        (None, other) => {
            match crate::outbox::conversation::handle(offers, config, envelope, raw, now).await? {
                Some(decision) => decision,
                None => IngestDecision::Rejected {
                    reason: other.reason().unwrap_or_default(),
                    emails: refusal(offers, config, envelope, other, now).await?,
                },
            }
        }
    })
}

/// The third step: the decision committed (with the IMAP mark when `cursor` is given), and
/// logged.
pub async fn record(
    offers: &Offers,
    read: &Read,
    decision: &IngestDecision,
    cursor: Option<&ImapCursor>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    let outcome = offers
        .store()
        .record_ingest_at(cursor, &read.message, decision, now)
        .await?;
    log_outcome(read, decision, &outcome);
    Ok(outcome)
}

/// The third step for several messages at once (group commit): every decision committed in
/// one transaction, in order, with its IMAP mark; all or nothing. Each decision must have
/// been made knowing every earlier one's effects, or not depend on them
/// ([`Read::independent_of`] against each earlier message of the group).
pub async fn record_group(
    offers: &Offers,
    items: &[(&Read, &IngestDecision, Option<&ImapCursor>)],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<IngestOutcome>> {
    let list: Vec<crate::store::IngestItem<'_>> = items
        .iter()
        .map(|(read, decision, cursor)| (*cursor, &read.message, *decision))
        .collect();
    let outcomes = offers.store().record_ingest_group(&list, now).await?;
    for ((read, decision, _), outcome) in items.iter().zip(&outcomes) {
        log_outcome(read, decision, outcome);
    }
    Ok(outcomes)
}

fn log_outcome(read: &Read, decision: &IngestDecision, outcome: &IngestOutcome) {
    let (mailbox, source_key) = (&read.message.mailbox, &read.message.source_key);
    match (outcome, decision) {
        (IngestOutcome::Created(id), IngestDecision::Request { offers, .. }) => {
            tracing::info!(
                mailbox,
                source_key,
                request = id,
                offers = offers.len(),
                "request recorded"
            )
        }
        (IngestOutcome::DuplicateMeeting(id), _) => {
            tracing::info!(
                mailbox,
                source_key,
                request = id,
                "same meeting as an existing request"
            )
        }
        (IngestOutcome::Rejected, IngestDecision::Rejected { reason, .. }) => {
            tracing::info!(mailbox, source_key, reason = %reason, "message not turned into a request")
        }
        _ => tracing::debug!(mailbox, source_key, ?outcome, "message already recorded"),
    }
}

/// The automatic answer to a message that did not become a request: "not understood" (saying
/// what was missing: no join link, too large, ...) or "not authorised"; nothing for the silent
/// rejections (loops, our own mail, no route). Within the per-address daily cap (`reply`).
async fn refusal(
    offers: &Offers,
    config: &Config,
    envelope: &Envelope,
    classified: &Classified,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<NewEmail>> {
    let message = match classified {
        Classified::NotUnderstood {
            reason,
            sender,
            route_address,
        } => (
            sender,
            Message::NotUnderstood {
                reason,
                original_subject: envelope.subject.as_deref(),
                address: route_address,
            },
        ),
        Classified::NotAuthorised {
            sender,
            route_address,
        } => (
            sender,
            Message::NotAuthorised {
                sender: sender.as_str(),
                address: route_address,
            },
        ),
        Classified::Request(_) | Classified::Rejected(_) => return Ok(vec![]),
    };
    let (to, message) = message;
    Ok(reply(offers, config, envelope, to, &message, now)
        .await?
        .into_iter()
        .collect())
}

/// The request as the requestor templates see it before it is stored (no id yet; not shown).
fn preview(request: &NewRequest, now: DateTime<Utc>) -> Request {
    Request {
        id: 0,
        state: RequestState::Open,
        meeting: request.meeting.clone(),
        pair: request.pair.clone(),
        requestor: request.requestor.clone(),
        route_address: request.route_address.clone(),
        epoch: 0,
        created_at: now,
    }
}

/// An automatic reply to the message in `envelope` (threaded with it), or `None` when `to` has
/// had `[outbound] max_replies_per_day` replies in the last 24 hours already.
pub(crate) async fn reply(
    offers: &Offers,
    config: &Config,
    envelope: &Envelope,
    to: &EmailAddress,
    message: &Message<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<NewEmail>> {
    let sent = offers
        .store()
        .replies_since(to, now - chrono::Duration::hours(24))
        .await?;
    if sent >= config.outbound.max_replies_per_day {
        tracing::warn!(
            kind = message.name(),
            to_domain = %to.domain(),
            sent,
            "daily reply cap reached for this address: not answered"
        );
        return Ok(None);
    }
    let rendered = offers.templates().render(message)?;
    Ok(Some(compose(
        message.name(),
        to,
        offers.from(),
        rendered,
        envelope.message_id.clone(),
    )))
}

/// How much of a message over the size cap is read to find who sent it: its header, up to
/// this many bytes (a header block longer than this is cut; the envelope reads what it gets).
pub const HEADER_LIMIT: usize = 64 * 1024;

/// The header block of a message (up to and including the blank line), at most
/// [`HEADER_LIMIT`] bytes.
pub fn header_block(raw: &[u8]) -> &[u8] {
    let head = &raw[..raw.len().min(HEADER_LIMIT)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
    &head[..end.unwrap_or(head.len())]
}

/// A message too large to read, recorded as rejected from its size (and `header`, when the
/// source could read it without the body).
#[allow(
    clippy::too_many_arguments,
    reason = "the size-only twin of ingest_message_at; one call site per source"
)]
pub async fn ingest_oversized(
    offers: &Offers,
    config: &Config,
    mailbox: &str,
    source_key: &str,
    size: u64,
    limit: usize,
    header: Option<&[u8]>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    ingest_oversized_at(
        offers, config, mailbox, source_key, size, limit, header, None, now,
    )
    .await
}

/// `ingest_oversized`, advancing an IMAP high-water mark in the same transaction.
///
/// With the `header`, the sender is told, exactly as for any message that is not an
/// invitation we can read: an allowed requestor writing to a route gets the "not understood"
/// notice saying the message is too large (within the daily reply cap), a stranger the "not
/// authorised" one (per `[requestors]`), and automated mail, our own mail and mail to no route
/// nothing at all (loop safety comes first, as in `classify`).
#[allow(
    clippy::too_many_arguments,
    reason = "the size-only twin of ingest_message_at; one call site per source"
)]
pub async fn ingest_oversized_at(
    offers: &Offers,
    config: &Config,
    mailbox: &str,
    source_key: &str,
    size: u64,
    limit: usize,
    header: Option<&[u8]>,
    cursor: Option<&ImapCursor>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    let envelope = header.map(invitation::envelope).unwrap_or_default();
    let message = IngestedMessage {
        mailbox: mailbox.to_string(),
        source_key: source_key.to_string(),
        message_id: envelope.message_id.clone(),
        sha256: format!("unread:{size}"),
    };
    let too_large = invitation::NotAnInvitation::TooLarge {
        size: size as usize,
        limit,
    };
    let reason = too_large.to_string();
    tracing::warn!(
        mailbox,
        source_key,
        size,
        limit,
        "message over the size cap: recorded without reading its body"
    );
    let emails = match header {
        Some(_) => {
            let classified = classify(&envelope, Err(too_large), config);
            refusal(offers, config, &envelope, &classified, now).await?
        }
        None => vec![],
    };
    let decision = IngestDecision::Rejected { reason, emails };
    Ok(offers
        .store()
        .record_ingest_at(cursor, &message, &decision, now)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitation::{MeetingKind, NotAnInvitation};
    use std::path::Path;

    fn inv() -> Invitation {
        Invitation {
            meeting_id: Some("81234567890".into()),
            passcode: Some("a1B2c3".into()),
            join_url: "https://us02web.zoom.us/j/81234567890?pwd=abc.1".into(),
            host: "us02web.zoom.us".into(),
            kind: MeetingKind::Meeting,
            topic: Some("Intake".into()),
            start: None,
            timezone: None,
            recurrence: None,
            organizer: None,
            locale: None,
            calendar: None,
        }
    }

    fn env(from: &str, to: &str) -> Envelope {
        Envelope {
            from: Some(from.into()),
            recipients: vec![to.into()],
            ..Default::default()
        }
    }

    #[test]
    fn classification_table() {
        let c = Config::embedded(Path::new("/tmp/x"));
        let ok = env("dr@clinic.example", "es-en@agency.example");
        assert!(
            matches!(classify(&ok, Ok(inv()), &c), Classified::Request(r) if r.pair.from.code() == "es")
        );
        let plus = env("dr@clinic.example", "ES-EN+urgent@agency.example");
        assert!(matches!(
            classify(&plus, Ok(inv()), &c),
            Classified::Request(_)
        ));

        let cases: Vec<(Envelope, Result<Invitation, NotAnInvitation>, &str)> = vec![
            (
                Envelope {
                    automated: Some("Auto-Submitted: auto-replied".into()),
                    ..ok.clone()
                },
                Ok(inv()),
                "automated",
            ),
            (
                env("dr@stranger.example", "es-en@agency.example"),
                Ok(inv()),
                "not an allowed requestor",
            ),
            (
                env("dr@clinic.example", "nobody@agency.example"),
                Ok(inv()),
                "no [[route]]",
            ),
            (
                env("dispatch@agency.example", "es-en@agency.example"),
                Ok(inv()),
                "our own message",
            ),
            (
                ok.clone(),
                Err(NotAnInvitation::NoJoinLink),
                "no Zoom join link",
            ),
            (
                Envelope {
                    from: None,
                    ..ok.clone()
                },
                Ok(inv()),
                "no usable From",
            ),
        ];
        for (e, parsed, want) in cases {
            match classify(&e, parsed, &c).reason() {
                Some(reason) => {
                    assert!(reason.contains(want), "{reason:?} should say {want:?}")
                }
                None => panic!("expected a rejection saying {want:?}"),
            }
        }
        // Which rejections are answered: strangers (with "reply") and non-invitations only.
        assert!(matches!(
            classify(
                &env("dr@stranger.example", "es-en@agency.example"),
                Ok(inv()),
                &c
            ),
            Classified::NotAuthorised { .. }
        ));
        assert!(matches!(
            classify(&ok, Err(NotAnInvitation::NoJoinLink), &c),
            Classified::NotUnderstood { .. }
        ));
        let mut silent = c.clone();
        silent.requestors.unknown_senders = crate::config::UnknownSenders::Ignore;
        assert!(matches!(
            classify(
                &env("dr@stranger.example", "es-en@agency.example"),
                Ok(inv()),
                &silent
            ),
            Classified::Rejected(_)
        ));
    }

    #[test]
    fn the_header_block_ends_at_the_blank_line_and_is_capped() {
        assert_eq!(
            header_block(b"From: a@b\r\nTo: c@d\r\n\r\nbody\r\n\r\nmore"),
            b"From: a@b\r\nTo: c@d\r\n\r\n"
        );
        assert_eq!(header_block(b"From: a@b\n\nbody"), b"From: a@b\n\n");
        let long = vec![b'x'; HEADER_LIMIT * 2];
        assert_eq!(header_block(&long).len(), HEADER_LIMIT);
    }
}
