//! Zoom webhooks: signature and timestamp verification, the `endpoint.url_validation` answer,
//! and turning participant events into `store::ParticipantEvent`.
//!
//! Verification works on the raw bytes exactly as received (never a re-serialised body) and
//! compares in constant time. Callers must call [`verify`] before [`parse_event`]. Nothing here
//! logs, reads the clock, or touches the store; errors never contain the secret or the body.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::store::{ParticipantEvent, ParticipantEventKind};

type HmacSha256 = Hmac<Sha256>;

/// How far `x-zm-request-timestamp` may be from `now`, either way. Zoom states no replay
/// window; five minutes is the customary one (and the SPEC's).
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a webhook request was not accepted as coming from Zoom. Each names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing x-zm-signature header")]
    MissingSignature,
    #[error("missing x-zm-request-timestamp header")]
    MissingTimestamp,
    #[error("x-zm-request-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("x-zm-signature is not of the form v0=<64 hex digits>")]
    MalformedSignature,
    #[error("x-zm-signature does not match the body")]
    Mismatch,
    #[error("x-zm-request-timestamp is {0} s away from now (at most {MAX_SKEW_SECS} s allowed)")]
    Stale(i64),
}

fn mac(secret: &Secret) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length")
}

/// The `x-zm-signature` value Zoom sends for this body at this timestamp: `v0=` + hex of
/// HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`). Used by tests and fake senders.
pub fn sign(secret: &Secret, timestamp: &str, raw_body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(raw_body);
    format!("v0={}", hex::encode(m.finalize().into_bytes()))
}

/// Checks that the request was signed by Zoom with `secret` and is fresh (±300 s of `now`).
/// The signature is checked first, so a stale error is only ever reported for a genuine
/// (replayed or delayed) request.
pub fn verify(
    secret: &Secret,
    headers_signature: Option<&str>,
    headers_timestamp: Option<&str>,
    raw_body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let signature = headers_signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingSignature)?;
    let timestamp = headers_timestamp
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingTimestamp)?;
    let ts: i64 = timestamp
        .parse()
        .ok()
        .filter(|_| timestamp.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(VerifyError::BadTimestamp)?;
    let given = signature
        .strip_prefix("v0=")
        .filter(|h| h.len() == 64)
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::MalformedSignature)?;
    let mut m = mac(secret);
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(raw_body);
    m.verify_slice(&given).map_err(|_| VerifyError::Mismatch)?;
    let skew = (now.timestamp() - ts).abs();
    if skew > MAX_SKEW_SECS {
        return Err(VerifyError::Stale(skew));
    }
    Ok(())
}

/// The answer to `endpoint.url_validation`: the plain token back, and hex HMAC-SHA256 of it
/// under the secret token.
pub fn url_validation_response(secret: &Secret, plain_token: &str) -> Value {
    let mut m = mac(secret);
    m.update(plain_token.as_bytes());
    serde_json::json!({
        "plainToken": plain_token,
        "encryptedToken": hex::encode(m.finalize().into_bytes()),
    })
}

/// Constant-time equality of two strings (for callers comparing tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A verified webhook body, as far as dragoman cares.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    /// `endpoint.url_validation`: answer with [`url_validation_response`].
    UrlValidation { plain_token: String },
    /// A participant joined or left (`meeting.participant_joined`, `_jbh_joined`,
    /// `_jbh_waiting`, `_left`).
    Participant(ParticipantEvent),
    /// Any other event, by name: acknowledged, not recorded.
    Ignored(String),
}

/// Why a verified body could not be understood. Never contains the body itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a JSON object: {0}")]
    NotJson(String),
    #[error("{event}: missing or empty field {field}")]
    Missing { event: String, field: &'static str },
    #[error("{event}: field {field} is not an RFC 3339 time")]
    BadTime { event: String, field: &'static str },
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a verified webhook body. `request_id` is the `x-zm-request-id` header, the dedupe
/// key of last resort (see below).
pub fn parse_event(raw_body: &[u8], request_id: Option<&str>) -> Result<WebhookEvent, ParseError> {
    let root: Value =
        serde_json::from_slice(raw_body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    parse_value(&root, request_id)
}

/// [`parse_event`] on a body already parsed as JSON (the receiver parses each body once).
pub fn parse_value(root: &Value, request_id: Option<&str>) -> Result<WebhookEvent, ParseError> {
    if !root.is_object() {
        return Err(ParseError::NotJson("top level is not an object".into()));
    }
    let event = text(root.get("event")).ok_or_else(|| ParseError::Missing {
        event: "(unnamed)".into(),
        field: "event",
    })?;
    let missing = |field: &'static str| ParseError::Missing {
        event: event.clone(),
        field,
    };
    let payload = root.get("payload");
    let kind = match event.as_str() {
        "endpoint.url_validation" => {
            let plain_token = text(payload.and_then(|p| p.get("plainToken")))
                .ok_or_else(|| missing("payload.plainToken"))?;
            return Ok(WebhookEvent::UrlValidation { plain_token });
        }
        "meeting.participant_joined"
        | "meeting.participant_jbh_joined"
        | "meeting.participant_jbh_waiting" => ParticipantEventKind::Joined,
        "meeting.participant_left" => ParticipantEventKind::Left,
        _ => return Ok(WebhookEvent::Ignored(event)),
    };
    let object = payload
        .and_then(|p| p.get("object"))
        .filter(|o| o.is_object())
        .ok_or_else(|| missing("payload.object"))?;
    let participant = object
        .get("participant")
        .filter(|p| p.is_object())
        .ok_or_else(|| missing("payload.object.participant"))?;
    let meeting_id = text(object.get("id")).ok_or_else(|| missing("payload.object.id"))?;
    let meeting_uuid = text(object.get("uuid")).ok_or_else(|| missing("payload.object.uuid"))?;
    let p = |k: &str| text(participant.get(k));
    let participant_key = p("participant_uuid")
        .or_else(|| p("id"))
        .or_else(|| p("user_id"))
        .or_else(|| p("customer_key"))
        // `_jbh_waiting` may carry nothing else: the name is then all that ties events.
        .or_else(|| p("user_name").map(|n| format!("name:{n}")))
        .ok_or_else(|| missing("payload.object.participant.participant_uuid"))?;
    // Zoom's own doc example spells the join time `date_time`; real deliveries `join_time`.
    let time_fields: &[&'static str] = match kind {
        ParticipantEventKind::Joined => &["join_time", "date_time", "leave_time"],
        ParticipantEventKind::Left => &["leave_time", "date_time", "join_time"],
    };
    let mut at = None;
    for field in time_fields {
        if let Some(s) = p(field) {
            let t = DateTime::parse_from_rfc3339(&s).map_err(|_| ParseError::BadTime {
                event: event.clone(),
                field,
            })?;
            at = Some(t.with_timezone(&Utc));
            break;
        }
    }
    let event_ts = text(root.get("event_ts"));
    let at = match at {
        Some(t) => t,
        // No participant time at all: fall back to when Zoom says the event happened.
        None => event_ts
            .as_deref()
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| missing("payload.object.participant.join_time"))?,
    };
    // Zoom's retries resend the same body, so what the event says (name, Zoom's own
    // timestamp, meeting instance, participant) identifies it however it is delivered, with
    // or without `x-zm-request-id`, and even if a retry carried a new request id. The
    // request id is the key only when the body has no `event_ts` to tell events apart.
    let participant_part = p("participant_uuid")
        .or_else(|| p("user_id"))
        .unwrap_or_else(|| participant_key.clone());
    let request_id = request_id.map(str::trim).filter(|r| !r.is_empty());
    let dedupe_key = match (event_ts.as_deref(), request_id) {
        (None, Some(id)) => format!("zm-request-id:{id}"),
        (ts, _) => format!(
            "{event}:{}:{meeting_uuid}:{participant_part}",
            ts.unwrap_or("-")
        ),
    };
    Ok(WebhookEvent::Participant(ParticipantEvent {
        dedupe_key,
        meeting_id,
        meeting_uuid,
        participant_key,
        user_name: p("user_name"),
        customer_key: p("customer_key"),
        kind,
        at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn secret() -> Secret {
        Secret::new("zoom-webhook-secret")
    }

    const BODY: &[u8] = br#"{"event":"meeting.participant_joined","event_ts":1777647600000}"#;
    /// Computed independently (Python's hmac module) for `secret()`, ts 1777647600 and BODY.
    const SIG: &str = "v0=4b69123da321f33f276f2fbd03dafc71f978f8d9d795741bbe77b21948b88d50";

    fn at(ts: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(ts, 0).unwrap()
    }

    #[test]
    fn signs_like_the_computed_vector() {
        assert_eq!(sign(&secret(), "1777647600", BODY), SIG);
    }

    #[test]
    fn verify_accepts_a_good_signature_within_the_window() {
        for now in [1777647600, 1777647600 + 300, 1777647600 - 300] {
            assert_eq!(
                verify(&secret(), Some(SIG), Some("1777647600"), BODY, at(now)),
                Ok(())
            );
        }
    }

    #[test]
    fn verify_rejects_stale_and_future_timestamps() {
        let err = verify(
            &secret(),
            Some(SIG),
            Some("1777647600"),
            BODY,
            at(1777647901),
        );
        assert_eq!(err, Err(VerifyError::Stale(301)));
        let err = verify(
            &secret(),
            Some(SIG),
            Some("1777647600"),
            BODY,
            at(1777647299),
        );
        assert_eq!(err, Err(VerifyError::Stale(301)));
    }

    #[test]
    fn verify_rejects_tampering() {
        let now = at(1777647600);
        let mut body = BODY.to_vec();
        body[3] ^= 1;
        assert_eq!(
            verify(&secret(), Some(SIG), Some("1777647600"), &body, now),
            Err(VerifyError::Mismatch)
        );
        // The timestamp is part of the signed message.
        assert_eq!(
            verify(&secret(), Some(SIG), Some("1777647601"), BODY, now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                &Secret::new("other"),
                Some(SIG),
                Some("1777647600"),
                BODY,
                now
            ),
            Err(VerifyError::Mismatch)
        );
        let forged = format!("v0={}", "0".repeat(64));
        assert_eq!(
            verify(&secret(), Some(&forged), Some("1777647600"), BODY, now),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn verify_names_missing_and_malformed_headers() {
        let now = at(1777647600);
        assert_eq!(
            verify(&secret(), None, Some("1777647600"), BODY, now),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            verify(&secret(), Some(SIG), None, BODY, now),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            verify(&secret(), Some(SIG), Some("soon"), BODY, now),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret(), Some(SIG), Some("-5"), BODY, now),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret(), Some(&SIG[3..]), Some("1777647600"), BODY, now),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            verify(&secret(), Some("v0=zz"), Some("1777647600"), BODY, now),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn url_validation_matches_the_computed_vector() {
        let v = url_validation_response(&secret(), "qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(v["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
        // Python: hmac.new(b"zoom-webhook-secret", b"qgg8vlvZRS6UYooatFL8Aw", sha256).hexdigest()
        assert_eq!(
            v["encryptedToken"],
            "652a0188f06bf15dec80150c3da2729148fdcb8439d1f19ff7eba53901875baf"
        );
        let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
        assert_eq!(
            parse_event(body, None),
            Ok(WebhookEvent::UrlValidation {
                plain_token: "qgg8vlvZRS6UYooatFL8Aw".into()
            })
        );
    }

    /// The shape of Zoom's own documentation example for `meeting.participant_joined`,
    /// which spells the join time `date_time`.
    const DOC_EXAMPLE_JOINED: &str = r#"{
      "event": "meeting.participant_joined",
      "event_ts": 1626230691572,
      "payload": {
        "account_id": "AAAAAABBBB",
        "object": {
          "id": "1234567890",
          "uuid": "4444AAAiAAAAAiAiAiiAii==",
          "host_id": "x1yCzABCDEfg23HiJKl4mN",
          "topic": "My Meeting",
          "type": 8,
          "start_time": "2021-07-13T21:44:51Z",
          "timezone": "America/Los_Angeles",
          "duration": 60,
          "participant": {
            "user_id": "1234567890",
            "user_name": "Jill Chill",
            "id": "iFxeBPYun6SAiWUzBcEkX",
            "participant_uuid": "55555AAAiAAAAAiAiAiiAii",
            "date_time": "2021-07-13T21:44:51Z",
            "email": "jchill@example.com",
            "registrant_id": "abcdefghij0-klmnopq23456",
            "participant_user_id": "rstuvwxyZ789-abcdefghij0123",
            "customer_key": "349589LkJyeW",
            "phone_number": "8615250064084"
          }
        }
      }
    }"#;

    #[test]
    fn parses_zooms_doc_example_with_date_time() {
        let WebhookEvent::Participant(e) =
            parse_event(DOC_EXAMPLE_JOINED.as_bytes(), None).unwrap()
        else {
            panic!("not a participant event")
        };
        assert_eq!(e.kind, ParticipantEventKind::Joined);
        assert_eq!(e.meeting_id, "1234567890");
        assert_eq!(e.meeting_uuid, "4444AAAiAAAAAiAiAiiAii==");
        assert_eq!(e.participant_key, "55555AAAiAAAAAiAiAiiAii");
        assert_eq!(e.user_name.as_deref(), Some("Jill Chill"));
        assert_eq!(e.customer_key.as_deref(), Some("349589LkJyeW"));
        assert_eq!(e.at, Utc.with_ymd_and_hms(2021, 7, 13, 21, 44, 51).unwrap());
        assert_eq!(
            e.dedupe_key,
            "meeting.participant_joined:1626230691572:4444AAAiAAAAAiAiAiiAii==:55555AAAiAAAAAiAiAiiAii"
        );
    }

    #[test]
    fn retries_dedupe_with_or_without_request_id() {
        let key = |rid: Option<&str>| match parse_event(DOC_EXAMPLE_JOINED.as_bytes(), rid) {
            Ok(WebhookEvent::Participant(e)) => e.dedupe_key,
            other => panic!("not a participant event: {other:?}"),
        };
        assert_eq!(key(None), key(Some("5f0e2c0a-req")));
        assert_eq!(key(Some("first-attempt")), key(Some("second-attempt")));
        // Without event_ts, the request id is what tells deliveries apart.
        let no_ts = DOC_EXAMPLE_JOINED.replace("\"event_ts\": 1626230691572,", "");
        let WebhookEvent::Participant(e) = parse_event(no_ts.as_bytes(), Some("rid-7")).unwrap()
        else {
            panic!("not a participant event")
        };
        assert_eq!(e.dedupe_key, "zm-request-id:rid-7");
    }

    /// Real deliveries: `join_time`, `leave_time`, and a numeric `id` as the REST API spells it.
    #[test]
    fn parses_join_time_leave_time_and_numeric_ids() {
        let joined = r#"{"event":"meeting.participant_joined","event_ts":1777647600123,
          "payload":{"account_id":"acc","object":{"id":81234567890,"uuid":"a/b+c=","host_id":"h",
          "topic":"Intake","type":2,"start_time":"2026-05-01T15:00:00Z","duration":60,
          "timezone":"America/New_York","participant":{"user_id":"16778240","user_name":"Ana 17 (Spanish Interpreter)",
          "id":"","participant_uuid":"pU1","join_time":"2026-05-01T15:01:02Z","email":"",
          "customer_key":"K3y0fAssignment8"}}}}"#;
        let WebhookEvent::Participant(j) = parse_event(joined.as_bytes(), None).unwrap() else {
            panic!("not a participant event")
        };
        assert_eq!(j.meeting_id, "81234567890");
        assert_eq!(j.meeting_uuid, "a/b+c=");
        assert_eq!(j.at, Utc.with_ymd_and_hms(2026, 5, 1, 15, 1, 2).unwrap());
        assert_eq!(j.customer_key.as_deref(), Some("K3y0fAssignment8"));

        let left = r#"{"event":"meeting.participant_left","event_ts":1777651200456,
          "payload":{"account_id":"acc","object":{"id":"81234567890","uuid":"a/b+c=","host_id":"h",
          "topic":"Intake","type":2,"duration":60,"participant":{"user_id":"16778240",
          "user_name":"Ana 17 (Spanish Interpreter)","participant_uuid":"pU1",
          "leave_time":"2026-05-01T16:00:00Z","leave_reason":"left the meeting. Reason : left the meeting",
          "customer_key":"K3y0fAssignment8"}}}}"#;
        let WebhookEvent::Participant(l) = parse_event(left.as_bytes(), None).unwrap() else {
            panic!("not a participant event")
        };
        assert_eq!(l.kind, ParticipantEventKind::Left);
        assert_eq!(l.meeting_id, "81234567890");
        assert_eq!(l.participant_key, j.participant_key);
        assert_eq!(l.at, Utc.with_ymd_and_hms(2026, 5, 1, 16, 0, 0).unwrap());
        assert_ne!(l.dedupe_key, j.dedupe_key);
    }

    /// HIPAA accounts hide names; SDK joins without a customerKey have none.
    #[test]
    fn customer_key_and_names_are_optional() {
        let body = r#"{"event":"meeting.participant_joined","event_ts":1,
          "payload":{"account_id":"acc","object":{"id":"99","uuid":"u","host_id":"h","type":2,
          "duration":0,"participant":{"user_id":"16778241","user_name":"","participant_uuid":"p2",
          "join_time":"2026-05-01T15:01:02+02:00"}}}}"#;
        let WebhookEvent::Participant(e) = parse_event(body.as_bytes(), None).unwrap() else {
            panic!("not a participant event")
        };
        assert_eq!(e.customer_key, None);
        assert_eq!(e.user_name, None);
        assert_eq!(e.at, Utc.with_ymd_and_hms(2026, 5, 1, 13, 1, 2).unwrap());
    }

    #[test]
    fn jbh_joined_counts_as_joined() {
        let body = r#"{"event":"meeting.participant_jbh_joined","event_ts":1777647600000,
          "payload":{"account_id":"acc","object":{"id":"99","uuid":"u","host_id":"h","topic":"t",
          "type":2,"duration":30,"participant":{"id":"","user_name":"Ana 17 (Spanish Interpreter)",
          "customer_key":"K3y0fAssignment8"}}}}"#;
        let WebhookEvent::Participant(e) = parse_event(body.as_bytes(), None).unwrap() else {
            panic!("not a participant event")
        };
        assert_eq!(e.kind, ParticipantEventKind::Joined);
        assert_eq!(e.participant_key, "K3y0fAssignment8");
        assert_eq!(e.at, at(1777647600));
    }

    #[test]
    fn other_events_are_ignored_by_name() {
        let body = br#"{"event":"meeting.started","event_ts":1,"payload":{"object":{}}}"#;
        assert_eq!(
            parse_event(body, None),
            Ok(WebhookEvent::Ignored("meeting.started".into()))
        );
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        assert!(matches!(
            parse_event(b"not json", None),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_event(b"[1]", None),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            parse_event(br#"{"payload":{}}"#, None),
            Err(ParseError::Missing { field: "event", .. })
        ));
        let no_participant =
            br#"{"event":"meeting.participant_left","payload":{"object":{"id":"1","uuid":"u"}}}"#;
        assert!(matches!(
            parse_event(no_participant, None),
            Err(ParseError::Missing {
                field: "payload.object.participant",
                ..
            })
        ));
        let bad_time =
            br#"{"event":"meeting.participant_left","payload":{"object":{"id":"1","uuid":"u",
            "participant":{"participant_uuid":"p","leave_time":"yesterday"}}}}"#;
        assert!(matches!(
            parse_event(bad_time, None),
            Err(ParseError::BadTime {
                field: "leave_time",
                ..
            })
        ));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
