//! Inbound replies to our own mail: a requestor answering "cancel" cancels the request; an
//! interpreter answering an offer with "yes"/"accept" is told to accept on the offer page.
//!
//! A message is a reply when its `In-Reply-To`/`References` name one of our outbox
//! `Message-ID`s and it comes from the address that message went to. Some clients and
//! gateways drop those headers: then (and when they name nothing of ours) the subject, with its
//! "Re:"/"AW:"/"Fwd:" prefixes stripped, is matched against the subjects of our mail sent to
//! that same address in the last [`SUBJECT_WINDOW`], the latest first. Only the author's own
//! lines are read (quoted text and the "On … wrote:" tail are skipped, so our own wording such
//! as "reply cancel to cancel" never triggers anything). Loop safety comes first: automated
//! mail and our own mail are never treated as replies.
//!
//! Why an emailed "yes" is not an acceptance: From addresses are trivially forged, and an
//! accept hands out a join link with the meeting passcode. Why the answer does not re-issue the
//! link: the offer token exists only in the original offer email (the store keeps its hash), and
//! minting a second token on the strength of an unauthenticated email would widen exactly the
//! hole that this rule closes; the original email is in the interpreter's mailbox already.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::EmailAddress;
use crate::ingest::reply;
use crate::invitation::{self, Envelope};
use crate::offers::Offers;
use crate::outbox::templates::Message;
use crate::store::IngestDecision;

/// Outbox kinds that go to requestors about a request: a "cancel" answer to any of them cancels.
const REQUESTOR_KINDS: &[&str] = &["received", "assigned", "cancelled", "nobody_available"];
/// Outbox kinds that go to interpreters about offers (one, or several in a digest).
const OFFER_KINDS: &[&str] = &["offer", "offer_digest"];

/// How far back a reply recognised by its subject alone may reach.
pub const SUBJECT_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// The subject a reply answers: reply and forward prefixes ("Re:", "RE:", "AW:", "Fwd:",
/// "FW:", "WG:", "SV:", "Antw:", "TR:", also "Re[2]:") stripped, however many, and whitespace
/// collapsed (a folded header). `None` when nothing is left.
pub fn answered_subject(subject: &str) -> Option<String> {
    let mut s = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(rest) = strip_reply_prefix(&s) {
        s = rest.to_string();
    }
    (!s.is_empty()).then_some(s)
}

/// `s` without its first reply or forward prefix, or `None` when it does not start with one.
fn strip_reply_prefix(s: &str) -> Option<&str> {
    const PREFIXES: &[&str] = &["re", "aw", "fwd", "fw", "wg", "sv", "antw", "tr"];
    let (head, rest) = s.split_once(':')?;
    let word = head.trim();
    let word = match word.split_once('[') {
        Some((w, n))
            if n.len() > 1
                && n.ends_with(']')
                && n[..n.len() - 1].bytes().all(|b| b.is_ascii_digit()) =>
        {
            w
        }
        _ => word,
    };
    PREFIXES
        .iter()
        .any(|p| word.eq_ignore_ascii_case(p))
        .then(|| rest.trim_start())
}

/// What the author of a reply asks for, from their own lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Cancel,
    Accept,
    Other,
}

/// The author's own lines of a reply: up to the first quoted line or reply header, at most 30.
pub fn own_lines(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if t.starts_with('>')
            || (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || lower.starts_with("-----original message")
            || lower.starts_with("from:")
            || lower == "--"
            || lower == "-- "
        {
            break;
        }
        if !t.is_empty() {
            out.push(t);
        }
        if out.len() >= 30 {
            break;
        }
    }
    out
}

/// "cancel" anywhere in the author's own words cancels; else "yes"/"accept" is an accept wish.
pub fn intent(body: &str) -> Intent {
    let words: Vec<String> = own_lines(body)
        .iter()
        .flat_map(|l| l.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.iter().any(|w| w == "cancel") {
        Intent::Cancel
    } else if words
        .iter()
        .any(|w| matches!(w.as_str(), "yes" | "accept" | "accepted"))
    {
        Intent::Accept
    } else {
        Intent::Other
    }
}

/// The sender, when the message may be treated as a person's reply: not automated, a usable
/// From, not ourselves, and threaded (`In-Reply-To` or `References`) or with a reply subject.
fn replying_person(envelope: &Envelope, config: &Config) -> Option<EmailAddress> {
    if envelope.automated.is_some() {
        return None;
    }
    let from = EmailAddress::parse(envelope.from.as_deref()?).ok()?;
    if from.without_plus_tag() == config.outbound.from.without_plus_tag()
        || config
            .routes
            .iter()
            .any(|r| r.address == from.without_plus_tag())
    {
        return None;
    }
    let threaded = envelope.in_reply_to.is_some() || !envelope.references.is_empty();
    if !threaded && !envelope.subject.as_deref().is_some_and(has_reply_prefix) {
        return None;
    }
    Some(from)
}

/// Whether the subject starts with a reply or forward prefix and has more after it (so it may
/// answer ours).
fn has_reply_prefix(subject: &str) -> bool {
    strip_reply_prefix(subject.trim_start()).is_some() && answered_subject(subject).is_some()
}

/// The decision for a reply to one of our messages, or `None` when the message is not one
/// (the caller then handles it as ordinary mail). Cancelling commits its own transaction
/// (with the cancellation emails) before the message is recorded; a crash in between is
/// harmless: the replay finds the request cancelled already and records the message.
pub async fn handle(
    offers: &Offers,
    config: &Config,
    envelope: &Envelope,
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<Option<IngestDecision>> {
    let Some(from) = replying_person(envelope, config) else {
        return Ok(None);
    };
    let mut ids: Vec<String> = envelope.references.clone();
    if let Some(parent) = &envelope.in_reply_to {
        ids.insert(0, parent.clone());
    }
    let mut ours = if ids.is_empty() {
        None
    } else {
        offers.store().conversation_of(&ids).await?
    };
    if ours.is_none() {
        // No usable thread headers: the subject, against what we sent this address lately.
        if let Some(subject) = envelope
            .subject
            .as_deref()
            .filter(|s| has_reply_prefix(s))
            .and_then(answered_subject)
        {
            ours = offers
                .store()
                .conversation_by_subject(&from, &subject, now - SUBJECT_WINDOW)
                .await?;
            if ours.is_some() {
                tracing::info!("reply recognised by its subject (no thread headers of ours)");
            }
        }
    }
    let Some(ours) = ours else {
        return Ok(None);
    };
    let rejected = |reason: String, emails| Some(IngestDecision::Rejected { reason, emails });
    if !ours
        .recipient
        .without_plus_tag()
        .eq_ignore_ascii_case(&from.without_plus_tag())
    {
        return Ok(rejected(
            format!(
                "reply to our {} message from an address it was not sent to: ignored",
                ours.kind
            ),
            vec![],
        ));
    }
    let intent = intent(&invitation::text_of_message(raw));
    let kind = ours.kind.as_str();
    Ok(match (intent, ours.request_id) {
        (Intent::Cancel, Some(id)) if REQUESTOR_KINDS.contains(&kind) => {
            let done = offers.cancel(id, now).await?;
            tracing::info!(request = id, cancelled = done, "requestor replied cancel");
            rejected(
                if done {
                    format!("requestor replied cancel: request {id} cancelled")
                } else {
                    format!("requestor replied cancel: request {id} was already finished")
                },
                vec![],
            )
        }
        (Intent::Accept, _) if OFFER_KINDS.contains(&kind) => {
            let answer = reply(
                offers,
                config,
                envelope,
                &from,
                &Message::OfferReply {
                    original_subject: envelope.subject.as_deref(),
                },
                now,
            )
            .await?;
            rejected(
                "interpreter replied to an offer by email: told to accept on the offer page".into(),
                answer.into_iter().collect(),
            )
        }
        _ => rejected(
            format!("reply to our {kind} message: nothing to do"),
            vec![],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefixes_are_stripped_whatever_the_client() {
        let a = |s: &str| answered_subject(s);
        let want = Some("Offer: Spanish→English, Thu 3 Dec — Cardiology".to_string());
        assert_eq!(
            a("Re: Offer: Spanish→English, Thu 3 Dec — Cardiology"),
            want
        );
        assert_eq!(
            a("RE: Offer: Spanish→English, Thu 3 Dec — Cardiology"),
            want
        );
        assert_eq!(
            a("AW: Offer: Spanish→English, Thu 3 Dec — Cardiology"),
            want
        );
        assert_eq!(
            a("Fwd: Re: Offer: Spanish→English, Thu 3 Dec — Cardiology"),
            want
        );
        assert_eq!(
            a("Re[2]: FW: Offer: Spanish→English, Thu 3 Dec — Cardiology"),
            want
        );
        assert_eq!(
            a("  re:Offer:   Spanish→English,\r\n Thu 3 Dec — Cardiology "),
            want
        );
        // "Offer:" itself is ours, not a prefix; nor is a colon inside a word.
        assert_eq!(a("Offer: x").as_deref(), Some("Offer: x"));
        assert_eq!(a("Re: Received: 10:00").as_deref(), Some("Received: 10:00"));
        assert_eq!(a("Re: "), None);
        assert!(has_reply_prefix("Re: Received"));
        assert!(has_reply_prefix("AW: Received"));
        assert!(!has_reply_prefix("Received: x"));
        assert!(!has_reply_prefix("Zoom meeting invitation"));
        assert!(!has_reply_prefix("Re:"), "nothing left to match");
    }

    #[test]
    fn only_the_authors_own_words_count() {
        assert_eq!(intent("Cancel please"), Intent::Cancel);
        assert_eq!(intent("Please CANCEL, thanks."), Intent::Cancel);
        assert_eq!(intent("yes"), Intent::Accept);
        assert_eq!(intent("Yes!\n\nAna"), Intent::Accept);
        assert_eq!(intent("I accept"), Intent::Accept);
        assert_eq!(intent("Thanks!"), Intent::Other);
        // Our own text quoted back never counts.
        assert_eq!(
            intent("Thanks\n\n> To cancel, reply with the word \"cancel\"."),
            Intent::Other
        );
        assert_eq!(
            intent("ok\nOn Thu, 3 Dec 2026, dragoman wrote:\nTo cancel, reply cancel"),
            Intent::Other
        );
        assert_eq!(intent("cancelled?"), Intent::Other, "only the word itself");
        assert_eq!(intent("yes, but cancel it"), Intent::Cancel, "cancel wins");
    }
}
