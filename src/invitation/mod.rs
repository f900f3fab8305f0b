//! The invitation parser: untrusted bytes (a whole message, or a bare text, HTML or `.ics` body)
//! in, an [`Invitation`] or the reason it is not one out, plus the [`Envelope`] facts the ingest
//! step routes by.
//!
//! Owns: MIME walking (the only place `mail_parser` is used, in [`mime`]), HTML to text, the
//! calendar reader, Zoom's link shapes, labels in every language, and time and zone mapping.
//!
//! Must never: panic on any input, do I/O, read the clock, log passcodes or join URLs, or guess
//! a value it did not read (a field it cannot find is `None`, never a default).
//!
//! Layout: [`mime`] (bytes to documents), [`json`] (a bare JSON export's strings), [`html`]
//! (HTML to text), [`ics`] (iCalendar),
//! [`url`] (join links), [`labels`] (localized labels), [`time`] (dates and zones),
//! [`extract`] (documents to an invitation).

mod extract;
mod html;
mod ics;
mod json;
mod labels;
mod mime;
mod time;
mod url;

use chrono::{DateTime, FixedOffset, SecondsFormat};

/// The size cap of [`parse`]; larger inputs are refused before any parsing.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// What a Zoom invitation says, as far as it says it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Invitation {
    /// Digits only. The join URL path is authoritative; the text's ID serves only for `/my/` links.
    pub meeting_id: Option<String>,
    /// The typed passcode (never the numeric dial-in one), leading zeros kept. Secret.
    pub passcode: Option<String>,
    /// The join link exactly as given (query kept), transfer encodings undone, trailing
    /// punctuation dropped. Secret: never logged in full.
    pub join_url: String,
    /// The join URL's host, lower-cased.
    pub host: String,
    pub kind: MeetingKind,
    pub topic: Option<String>,
    /// `None` when the invitation states no fixed time (or no time we can place in a zone).
    pub start: Option<DateTime<FixedOffset>>,
    /// IANA zone name when known.
    pub timezone: Option<String>,
    /// The recurrence as the invitation words it (or the calendar's RRULE).
    pub recurrence: Option<String>,
    pub organizer: Option<String>,
    /// Primary language tag of the invitation text: "en", "de", "ja", ...
    pub locale: Option<String>,
    /// From a `text/calendar` part or `.ics` body, when there is one.
    pub calendar: Option<CalendarRef>,
}

/// The calendar identity of an invitation: lets a later update or cancellation find its request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CalendarRef {
    pub uid: String,
    pub sequence: i64,
    /// `REQUEST`, `CANCEL`, ... (upper-cased) when the calendar states one.
    pub method: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    Meeting,
    Webinar,
    Personal,
    Recurring,
}

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Meeting => "meeting",
            MeetingKind::Webinar => "webinar",
            MeetingKind::Personal => "personal",
            MeetingKind::Recurring => "recurring",
        }
    }
}

/// Why a message did not become an invitation. The Display text is shown to the requestor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotAnInvitation {
    #[error("not a Zoom invitation: no Zoom join link found")]
    NoJoinLink,
    #[error("message too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("not an invitation: {0}")]
    NotInvitation(String),
}

/// `s.split('\n')`, each end found with the `memchr` crate's SIMD search: std's char search
/// is a word-at-a-time loop, and line splitting is most of what the module's text passes do.
pub(crate) fn split_lf(s: &str) -> impl Iterator<Item = &str> + '_ {
    let mut start = 0;
    memchr::memchr_iter(b'\n', s.as_bytes())
        .map(Some)
        .chain(std::iter::once(None))
        .map(move |end| {
            // '\n' is ASCII: both ends are char boundaries.
            let end = end.unwrap_or(s.len());
            let line = &s[start..end];
            start = end + 1;
            line
        })
}

/// The first `chars` characters of `text` (all of it when shorter). A text of at most `chars`
/// bytes has no more characters than that, so only longer ones are counted.
pub(crate) fn head_chars(text: &str, chars: usize) -> &str {
    if text.len() <= chars {
        return text;
    }
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Parses with the [`DEFAULT_MAX_BYTES`] cap.
pub fn parse(bytes: &[u8]) -> Result<Invitation, NotAnInvitation> {
    parse_with_limit(bytes, DEFAULT_MAX_BYTES)
}

/// Parses a whole message or a bare body; inputs over `max_bytes` are refused unread.
pub fn parse_with_limit(bytes: &[u8], max_bytes: usize) -> Result<Invitation, NotAnInvitation> {
    if bytes.len() > max_bytes {
        return Err(NotAnInvitation::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let loaded = mime::load(bytes)?;
    extract::extract(&loaded)
}

/// One SPEC §3 JSON object for `dragoman parse --json`, with a `calendar` object (`uid`,
/// `sequence`, `method`) after the SPEC's fields when the invitation came with a calendar.
pub fn to_json(file: &str, result: &Result<Invitation, NotAnInvitation>) -> serde_json::Value {
    match result {
        Ok(inv) => {
            let mut v = serde_json::json!({
            "file": file,
            "ok": true,
            "meeting_id": inv.meeting_id,
            "passcode": inv.passcode,
            "join_url": inv.join_url,
            "host": inv.host,
            "kind": inv.kind.as_str(),
            "topic": inv.topic,
            "start": inv.start.map(|s| s.to_rfc3339_opts(SecondsFormat::Secs, false)),
            "timezone": inv.timezone,
            "recurrence": inv.recurrence,
            "organizer": inv.organizer,
            "locale": inv.locale,
            });
            if let (Some(c), Some(obj)) = (&inv.calendar, v.as_object_mut()) {
                obj.insert(
                    "calendar".into(),
                    serde_json::json!({"uid": c.uid, "sequence": c.sequence, "method": c.method}),
                );
            }
            v
        }
        Err(e) => serde_json::json!({
            "file": file,
            "ok": false,
            "error": e.to_string(),
        }),
    }
}

/// Header facts the ingest step needs to route and to stay loop-safe. Never fails.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// Bare address, e.g. "ana@clinic.example".
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    /// Bare addresses, in order, from To, Cc, Delivered-To, X-Original-To (deduped, lower-cased).
    pub recipients: Vec<String>,
    /// Without `<>`.
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Why this message must never get an automatic answer nor become a request, if so (RFC 3834):
    /// Auto-Submitted other than "no", Precedence bulk/junk/list, List-Id/List-* headers,
    /// empty Return-Path (<>), mailer-daemon/postmaster sender, multipart/report (bounce),
    /// X-Auto-Response-Suppress, X-Autoreply, ...
    pub automated: Option<String>,
}

/// The envelope of a whole message; a bare body (or garbage) gives the default, empty envelope.
pub fn envelope(bytes: &[u8]) -> Envelope {
    mime::envelope(bytes)
}

/// The decoded text of a whole message (its first text part, or its HTML as text): for
/// reading back what dragoman itself sent (the demo, tests) and the replies people send to it
/// (the conversation reader).
pub fn text_of_message(raw: &[u8]) -> String {
    mime::text_of_message(raw)
}

/// mail-parser's own bare parse of `bytes` (true if it produced a message): the baseline the
/// benchmark compares the whole extraction with. Not part of the contract.
#[doc(hidden)]
pub fn mime_baseline(bytes: &[u8]) -> bool {
    mime::baseline(bytes)
}

/// Every file of `fixtures/invitations` (inputs and goldens), sorted by name, read as text: the
/// inputs the module's tests compare new code with old code on.
#[cfg(test)]
pub(crate) fn fixture_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/invitations exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert!(texts.len() > 40, "fixtures found: {}", texts.len());
    texts
}

#[cfg(test)]
mod tests;
