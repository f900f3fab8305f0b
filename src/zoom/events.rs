//! Zoom webhook events after verification: the envelope (event name and dedupe key) that is
//! stored before Zoom gets its answer, the parse of a stored body into a [`ZoomAction`], the
//! display-name attribution pattern, and the processing step (inline after the insert, and the
//! retry step [`process_pending_events`] for events whose processing failed).
//!
//! Processing goes through the `Store` only (no network, no HTTP); `now` is a parameter. A body
//! that can never be processed is given up on (recorded with its error), never retried
//! forever. Nothing here logs bodies, names, tokens or secrets.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::webhook::{parse_event, ParseError, WebhookEvent};
use crate::domain::InterpreterId;
use crate::store::{
    NewZoomEvent, ParticipantZoomUser, Store, StoreError, StoredZoomEvent, ZoomAction, ZoomApplied,
};

/// After this many failed attempts an event is given up on (its row keeps the last error).
pub const MAX_ATTEMPTS: i64 = 10;
/// How many stored events one retry step handles.
pub const RETRY_BATCH: i64 = 100;

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What is stored for a verified body: its event name and dedupe key. `Err` for a body that is
/// not a JSON object with an `event` (it can never be processed).
///
/// Participant events keep the key [`parse_event`] gives them. Other events: event name, Zoom's
/// `event_ts`, the meeting uuid (or account id) and the user id, so a retry of the same event
/// maps to the same key with or without `x-zm-request-id`; without `event_ts` the request id,
/// and without either the SHA-256 of the body.
pub fn envelope(raw_body: &[u8], request_id: Option<&str>) -> Result<NewZoomEvent, ParseError> {
    let body = std::str::from_utf8(raw_body)
        .map_err(|_| ParseError::NotJson("body is not UTF-8".into()))?
        .to_string();
    let root: Value =
        serde_json::from_str(&body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let event = text(root.get("event")).ok_or(ParseError::Missing {
        event: "(unnamed)".into(),
        field: "event",
    })?;
    if let Ok(WebhookEvent::Participant(p)) = parse_event(raw_body, request_id) {
        return Ok(NewZoomEvent {
            dedupe_key: p.dedupe_key,
            event,
            body,
        });
    }
    let payload = root.get("payload");
    let object = payload.and_then(|p| p.get("object"));
    let instance = text(object.and_then(|o| o.get("uuid")))
        .or_else(|| text(payload.and_then(|p| p.get("account_id"))))
        .unwrap_or_else(|| "-".into());
    let user = text(payload.and_then(|p| p.get("user_id"))).unwrap_or_else(|| "-".into());
    let request_id = request_id.map(str::trim).filter(|r| !r.is_empty());
    let dedupe_key = match (text(root.get("event_ts")), request_id) {
        (Some(ts), _) => format!("{event}:{ts}:{instance}:{user}"),
        (None, Some(id)) => format!("zm-request-id:{id}"),
        (None, None) => format!("sha256:{}", hex::encode(Sha256::digest(raw_body))),
    };
    Ok(NewZoomEvent {
        dedupe_key,
        event,
        body,
    })
}

/// Reads `"{FirstName} {InterpreterId} ({Language} Interpreter)"` (SPEC §1): the interpreter id
/// and first name, or `None` for any other name. Strict on purpose: a name that merely contains
/// a number is never taken for an interpreter.
pub fn parse_display_name(user_name: &str) -> Option<(InterpreterId, String)> {
    let (who, rest) = user_name.trim().split_once(" (")?;
    let language = rest.strip_suffix(" Interpreter)")?;
    if language.is_empty() || !language.chars().all(|c| c.is_alphabetic() || c == ' ') {
        return None;
    }
    let (first, id) = who.trim().rsplit_once(' ')?;
    let first = first.trim();
    if first.is_empty() || first.contains(char::is_whitespace) {
        return None;
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.starts_with('0') {
        return None;
    }
    Some((id.parse().ok()?, first.to_string()))
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = text(v)?;
    DateTime::parse_from_rfc3339(&s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The participant's own Zoom user as a participant event carries it (attribution step 3):
/// `id` (a signed-in user's Zoom user id), `participant_user_id` and `user_id`, and `email`.
/// With HIPAA settings the name and email are hidden for other accounts' users, but the ids
/// of users of the same app may still come through. Only ever compared for equality with a
/// connected interpreter's Zoom user, never logged.
pub fn participant_zoom_user(object: Option<&Value>) -> ParticipantZoomUser {
    let participant = object.and_then(|o| o.get("participant"));
    let field = |k: &str| text(participant.and_then(|p| p.get(k)));
    let (id, participant_user_id, user_id) =
        (field("id"), field("participant_user_id"), field("user_id"));
    ParticipantZoomUser::new(
        [
            id.as_deref(),
            participant_user_id.as_deref(),
            user_id.as_deref(),
        ],
        field("email").as_deref(),
    )
}

/// What the stored body asks of the store.
pub fn action_of(raw_body: &[u8]) -> Result<ZoomAction, ParseError> {
    let root: Value =
        serde_json::from_slice(raw_body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let event = text(root.get("event")).unwrap_or_default();
    let missing = |field: &'static str| ParseError::Missing {
        event: event.clone(),
        field,
    };
    let payload = root.get("payload");
    let object = payload.and_then(|p| p.get("object"));
    let event_time = text(root.get("event_ts"))
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis);
    match event.as_str() {
        "meeting.participant_joined"
        | "meeting.participant_jbh_joined"
        | "meeting.participant_jbh_waiting"
        | "meeting.participant_left" => match parse_event(raw_body, None)? {
            WebhookEvent::Participant(event) => {
                let named_interpreter = event.user_name.as_deref().and_then(parse_display_name);
                Ok(ZoomAction::Participant {
                    event,
                    named_interpreter,
                    zoom_user: participant_zoom_user(object),
                })
            }
            _ => Ok(ZoomAction::Nothing),
        },
        "meeting.started" | "meeting.ended" => {
            let meeting_id = text(object.and_then(|o| o.get("id")))
                .ok_or_else(|| missing("payload.object.id"))?;
            let meeting_uuid = text(object.and_then(|o| o.get("uuid")))
                .ok_or_else(|| missing("payload.object.uuid"))?;
            if event == "meeting.started" {
                let at = time(object.and_then(|o| o.get("start_time")))
                    .or(event_time)
                    .ok_or_else(|| missing("payload.object.start_time"))?;
                Ok(ZoomAction::MeetingStarted {
                    meeting_id,
                    meeting_uuid,
                    at,
                })
            } else {
                let at = time(object.and_then(|o| o.get("end_time")))
                    .or(event_time)
                    .ok_or_else(|| missing("payload.object.end_time"))?;
                Ok(ZoomAction::MeetingEnded {
                    meeting_id,
                    meeting_uuid,
                    at,
                })
            }
        }
        "app.deauthorized" => {
            let zoom_user_id = text(payload.and_then(|p| p.get("user_id")))
                .ok_or_else(|| missing("payload.user_id"))?;
            Ok(ZoomAction::Deauthorized { zoom_user_id })
        }
        _ => Ok(ZoomAction::Nothing),
    }
}

/// Why processing a stored event did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The body can never be processed: given up on.
    #[error("not processable: {0}")]
    Unprocessable(#[from] ParseError),
    /// The store failed: the event stays pending for the retry step.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Processes one stored event: parse, apply (which marks it processed), or record the failure.
pub async fn process_event(
    store: &dyn Store,
    id: i64,
    body: &str,
    attempts_before: i64,
    now: DateTime<Utc>,
) -> Result<ZoomApplied, ProcessError> {
    let action = match action_of(body.as_bytes()) {
        Ok(a) => a,
        Err(e) => {
            store
                .zoom_event_failed(id, &e.to_string(), true, now)
                .await?;
            return Err(e.into());
        }
    };
    // `app.deauthorized`: forget the Zoom user's tokens before the event counts as
    // processed (a failure here leaves it to the retry step; deleting twice is harmless).
    let forgotten = match &action {
        ZoomAction::Deauthorized { zoom_user_id } => {
            store.delete_zoom_connections(zoom_user_id).await
        }
        _ => Ok(0),
    };
    let applied = match forgotten {
        Ok(_) => store.apply_zoom_event(id, &action, now).await,
        Err(e) => Err(e),
    };
    match applied {
        Ok(applied) => Ok(applied),
        Err(e) => {
            let give_up = attempts_before + 1 >= MAX_ATTEMPTS
                || matches!(e, StoreError::Corrupt(_) | StoreError::NotFound(_));
            // If the database is down this fails too; the attempt simply is not counted.
            if let Err(again) = store
                .zoom_event_failed(id, &e.to_string(), give_up, now)
                .await
            {
                tracing::debug!(error = %again, zoom_event = id, "could not record the failed attempt");
            }
            Err(e.into())
        }
    }
}

/// What one retry step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryReport {
    pub processed: usize,
    pub failed: usize,
}

/// The retry step: processes the stored events still pending at `now` (received at or before
/// it), oldest first, at most [`RETRY_BATCH`]. Events the inline step finished meanwhile are
/// skipped by the store (`AlreadyProcessed`).
pub async fn process_pending_events(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<RetryReport, StoreError> {
    let pending: Vec<StoredZoomEvent> = store.pending_zoom_events(now, RETRY_BATCH).await?;
    let mut report = RetryReport::default();
    for ev in pending {
        match process_event(store, ev.id, &ev.body, ev.attempts, now).await {
            Ok(applied) => {
                tracing::info!(zoom_event = ev.id, event = %ev.event, outcome = ?outcome_name(&applied), "stored Zoom event processed on retry");
                report.processed += 1;
            }
            Err(e) => {
                tracing::warn!(zoom_event = ev.id, event = %ev.event, error = %e, "stored Zoom event failed again");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// A short name of an outcome for logs (no personal data).
pub fn outcome_name(applied: &ZoomApplied) -> String {
    match applied {
        ZoomApplied::Participant(m) => format!("participant:{}", m.as_str()),
        ZoomApplied::MeetingStarted => "meeting_started".into(),
        ZoomApplied::MeetingEnded { closed_rows, done } => {
            format!("meeting_ended:closed={closed_rows}:done={}", done.len())
        }
        ZoomApplied::Deauthorized => "deauthorized".into(),
        ZoomApplied::Nothing => "nothing".into(),
        ZoomApplied::AlreadyProcessed => "already_processed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ParticipantEventKind;

    #[test]
    fn display_names_are_read_strictly() {
        assert_eq!(
            parse_display_name("Ana 17 (Spanish Interpreter)"),
            Some((17, "Ana".into()))
        );
        assert_eq!(
            parse_display_name("  José 204 (Haitian Creole Interpreter) "),
            Some((204, "José".into()))
        );
        for not_ours in [
            "Ana 17",
            "Ana (Spanish Interpreter)",
            "17 (Spanish Interpreter)",
            "Ana María 17 (Spanish Interpreter)",
            "Ana 017 (Spanish Interpreter)",
            "Ana 1x (Spanish Interpreter)",
            "Ana 17 (Spanish interpreter)",
            "Ana 17 ( Interpreter)",
            "Room 101 (Board Room)",
            "",
        ] {
            assert_eq!(parse_display_name(not_ours), None, "{not_ours:?}");
        }
    }

    #[test]
    fn envelopes_dedupe_retries_of_every_event() {
        let started = br#"{"event":"meeting.started","event_ts":1777647600000,"payload":{"account_id":"acc","object":{"id":"81234567890","uuid":"u1==","host_id":"h","topic":"t","type":2,"start_time":"2026-05-01T15:00:00Z","timezone":"UTC","duration":60}}}"#;
        let a = envelope(started, Some("r1")).unwrap();
        let b = envelope(started, Some("r2")).unwrap();
        assert_eq!(a.dedupe_key, b.dedupe_key);
        assert_eq!(a.event, "meeting.started");
        assert_eq!(a.dedupe_key, "meeting.started:1777647600000:u1==:-");
        let no_ts = br#"{"event":"meeting.ended","payload":{"object":{"id":"1","uuid":"u"}}}"#;
        assert_eq!(
            envelope(no_ts, Some("r9")).unwrap().dedupe_key,
            "zm-request-id:r9"
        );
        assert!(envelope(no_ts, None)
            .unwrap()
            .dedupe_key
            .starts_with("sha256:"));
        assert!(envelope(b"[]", None).is_err());
        assert!(envelope(&[0xff, 0xfe], None).is_err());
    }

    #[test]
    fn actions_from_zoom_shapes() {
        let ended = br#"{"event":"meeting.ended","event_ts":1777651200000,"payload":{"account_id":"acc","object":{"id":81234567890,"uuid":"u1==","host_id":"h","topic":"t","type":2,"start_time":"2026-05-01T15:00:00Z","end_time":"2026-05-01T16:00:00Z","timezone":"UTC","duration":60}}}"#;
        let ZoomAction::MeetingEnded { meeting_id, at, .. } = action_of(ended).unwrap() else {
            panic!("not an end")
        };
        assert_eq!(meeting_id, "81234567890");
        assert_eq!(at.to_rfc3339(), "2026-05-01T16:00:00+00:00");
        let deauth = br#"{"event":"app.deauthorized","event_ts":1,"payload":{"account_id":"acc","user_id":"z8yCxjabcdEFGHfp8uQ","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2026-05-01T16:00:00Z","client_id":"cid"}}"#;
        assert_eq!(
            action_of(deauth).unwrap(),
            ZoomAction::Deauthorized {
                zoom_user_id: "z8yCxjabcdEFGHfp8uQ".into()
            }
        );
        let waiting = br#"{"event":"meeting.participant_jbh_waiting","event_ts":1777647000000,"payload":{"account_id":"acc","object":{"id":"1","uuid":"u","host_id":"h","topic":"t","type":2,"start_time":"2026-05-01T15:00:00Z","timezone":"UTC","duration":60,"participant":{"id":"","user_name":"Ana 17 (Spanish Interpreter)","customer_key":""}}}}"#;
        let ZoomAction::Participant {
            event,
            named_interpreter,
            zoom_user,
        } = action_of(waiting).unwrap()
        else {
            panic!("not a participant")
        };
        assert_eq!(event.kind, ParticipantEventKind::Joined);
        assert_eq!(named_interpreter, Some((17, "Ana".into())));
        assert!(zoom_user.is_empty(), "{zoom_user:?}");
        assert_eq!(
            action_of(br#"{"event":"recording.completed","payload":{}}"#).unwrap(),
            ZoomAction::Nothing
        );
        assert!(action_of(br#"{"event":"meeting.ended","payload":{"object":{}}}"#).is_err());
    }

    /// Names hidden (HIPAA), but the participant's own Zoom user id and email come through.
    #[test]
    fn the_participants_zoom_user_is_read_for_attribution() {
        let joined = br#"{"event":"meeting.participant_joined","event_ts":1777647600000,"payload":{"account_id":"acc","object":{"id":"81234567890","uuid":"u1==","host_id":"h","topic":"t","type":2,"start_time":"2026-05-01T15:00:00Z","timezone":"UTC","duration":60,"participant":{"user_id":"16778240","user_name":"","id":"zIntUser1","participant_uuid":"pu-1","join_time":"2026-05-01T15:01:00Z","email":" Ana@Interpreters.Example ","registrant_id":"","participant_user_id":"zIntUser1","customer_key":""}}}}"#;
        let ZoomAction::Participant {
            named_interpreter,
            zoom_user,
            ..
        } = action_of(joined).unwrap()
        else {
            panic!("not a participant")
        };
        assert_eq!(named_interpreter, None);
        assert_eq!(zoom_user.ids, ["zIntUser1", "16778240"]);
        assert_eq!(zoom_user.email.as_deref(), Some("ana@interpreters.example"));
        let hidden = br#"{"event":"meeting.participant_left","event_ts":1,"payload":{"account_id":"acc","object":{"id":1,"uuid":"u","participant":{"user_id":"","id":"","email":"","participant_uuid":"pu-2","leave_time":"2026-05-01T15:01:00Z"}}}}"#;
        let ZoomAction::Participant { zoom_user, .. } = action_of(hidden).unwrap() else {
            panic!("not a participant")
        };
        assert!(zoom_user.is_empty(), "{zoom_user:?}");
    }
}
