//! Zoom webhook events after verification: the envelope (event name and dedupe key) that is
//! stored before Zoom gets its answer, the parse of a body into a [`ZoomAction`] (at receipt,
//! with the envelope, from ONE JSON parse: [`receive`]), the display-name attribution pattern,
//! and the processing steps: [`process_batch`] (the intake worker's, many events in one
//! transaction), and the retry step [`process_pending_events`] / [`drain_pending`] for stored
//! events not processed yet (a crash between the acknowledgement and processing, a failure).
//!
//! Processing goes through the `Store` only (no network, no HTTP); `now` is a parameter. A body
//! that can never be processed is given up on (recorded with its error), never retried
//! forever. Nothing here logs bodies, names, tokens or secrets.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::webhook::{parse_value, ParseError, WebhookEvent};
use crate::domain::InterpreterId;
use crate::store::{
    NewZoomEvent, ParticipantEvent, ParticipantZoomUser, Store, StoreError, StoredZoomEvent,
    ZoomAction, ZoomApplied,
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

/// A verified body, read once.
// Made once per request and taken apart at once: boxing the big variant would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// `endpoint.url_validation` with its plain token: answered, not stored.
    UrlValidation { plain_token: String },
    /// Everything else: what to store, and what it asks of the store (or why it never can be
    /// processed; it is stored anyway and given up on by processing, with the reason).
    Event {
        new: NewZoomEvent,
        action: Result<ZoomAction, ParseError>,
    },
}

/// Reads a verified body with one JSON parse: the URL validation, or the envelope
/// ([`envelope`]) and action ([`action_of`]) of any other event, exactly as those two give
/// them. `Err` for a body that is not a JSON object with an `event` (never processable).
pub fn receive(raw_body: &[u8], request_id: Option<&str>) -> Result<Received, ParseError> {
    let body = std::str::from_utf8(raw_body)
        .map_err(|_| ParseError::NotJson("body is not UTF-8".into()))?;
    let root: Value = serde_json::from_str(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let parsed = parse_value(&root, request_id);
    let participant = match parsed {
        Ok(WebhookEvent::UrlValidation { plain_token }) => {
            return Ok(Received::UrlValidation { plain_token })
        }
        Ok(WebhookEvent::Participant(p)) => Some(p),
        _ => None,
    };
    let new = envelope_of(
        &root,
        body,
        participant.as_ref().map(|p| &p.dedupe_key),
        request_id,
    )?;
    let action = match participant {
        Some(event) => Ok(participant_action(
            event,
            root.get("payload").and_then(|p| p.get("object")),
        )),
        None => action_of_value(&root),
    };
    Ok(Received::Event { new, action })
}

/// What is stored for a verified body: its event name and dedupe key. `Err` for a body that is
/// not a JSON object with an `event` (it can never be processed).
///
/// Participant events keep the key [`parse_event`](super::webhook::parse_event) gives them. Other events: event name, Zoom's
/// `event_ts`, the meeting uuid (or account id) and the user id, so a retry of the same event
/// maps to the same key with or without `x-zm-request-id`; without `event_ts` the request id,
/// and without either the SHA-256 of the body.
pub fn envelope(raw_body: &[u8], request_id: Option<&str>) -> Result<NewZoomEvent, ParseError> {
    let body = std::str::from_utf8(raw_body)
        .map_err(|_| ParseError::NotJson("body is not UTF-8".into()))?;
    let root: Value = serde_json::from_str(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let participant = match parse_value(&root, request_id) {
        Ok(WebhookEvent::Participant(p)) => Some(p.dedupe_key),
        _ => None,
    };
    envelope_of(&root, body, participant.as_ref(), request_id)
}

/// [`envelope`] on the parsed body; `participant_key` is the dedupe key [`parse_value`] gave
/// a participant event.
fn envelope_of(
    root: &Value,
    body: &str,
    participant_key: Option<&String>,
    request_id: Option<&str>,
) -> Result<NewZoomEvent, ParseError> {
    let event = text(root.get("event")).ok_or(ParseError::Missing {
        event: "(unnamed)".into(),
        field: "event",
    })?;
    let body = body.to_string();
    if let Some(key) = participant_key {
        return Ok(NewZoomEvent {
            dedupe_key: key.clone(),
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
        (None, None) => format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes()))),
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

fn participant_action(event: ParticipantEvent, object: Option<&Value>) -> ZoomAction {
    let named_interpreter = event.user_name.as_deref().and_then(parse_display_name);
    ZoomAction::Participant {
        event,
        named_interpreter,
        zoom_user: participant_zoom_user(object),
    }
}

/// What the stored body asks of the store.
pub fn action_of(raw_body: &[u8]) -> Result<ZoomAction, ParseError> {
    let root: Value =
        serde_json::from_slice(raw_body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    action_of_value(&root)
}

/// [`action_of`] on the parsed body.
fn action_of_value(root: &Value) -> Result<ZoomAction, ParseError> {
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
        | "meeting.participant_left" => match parse_value(root, None)? {
            WebhookEvent::Participant(event) => Ok(participant_action(event, object)),
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
    process_action(store, id, action_of(body.as_bytes()), attempts_before, now).await
}

/// [`process_event`] with the body already read into its action (or the reason it cannot be).
pub async fn process_action(
    store: &dyn Store,
    id: i64,
    action: Result<ZoomAction, ParseError>,
    attempts_before: i64,
    now: DateTime<Utc>,
) -> Result<ZoomApplied, ProcessError> {
    let action = match action {
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

/// A stored event to process: its id, what its body asks (or why it never can be), and the
/// attempts made so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    pub id: i64,
    pub action: Result<ZoomAction, ParseError>,
    pub attempts_before: i64,
}

impl Work {
    /// Work for a stored event read back from the store (the retry step).
    pub fn of_stored(ev: &StoredZoomEvent) -> Work {
        Work {
            id: ev.id,
            action: action_of(ev.body.as_bytes()),
            attempts_before: ev.attempts,
        }
    }

    /// Events applied together in one transaction; the others (a body that cannot be read,
    /// `app.deauthorized`, which first deletes tokens) go one at a time.
    fn batchable(&self) -> bool {
        matches!(&self.action, Ok(a) if !matches!(a, ZoomAction::Deauthorized { .. }))
    }
}

/// Processes stored events in the order given (ids ascending: a leave after its join), as
/// few transactions as possible: each run of batchable events is applied in ONE transaction
/// ([`Store::apply_zoom_events`]); if that fails, the run goes one event at a time
/// ([`process_action`]), so one bad event costs only itself and every failure is recorded
/// as it would be alone. Per-event lines are `debug`; failures `warn`.
pub async fn process_batch(store: &dyn Store, items: Vec<Work>, now: DateTime<Utc>) -> RetryReport {
    let mut report = RetryReport::default();
    let mut run: Vec<(i64, ZoomAction, i64)> = Vec::new();
    let mut items = items.into_iter().peekable();
    while let Some(w) = items.next() {
        if w.batchable() {
            let Work {
                id,
                action,
                attempts_before,
            } = w;
            run.push((
                id,
                action.expect("batchable work has an action"),
                attempts_before,
            ));
            if items.peek().is_some_and(Work::batchable) {
                continue;
            }
            apply_run(store, std::mem::take(&mut run), now, &mut report).await;
        } else {
            one(store, w.id, w.action, w.attempts_before, now, &mut report).await;
        }
    }
    report
}

async fn apply_run(
    store: &dyn Store,
    run: Vec<(i64, ZoomAction, i64)>,
    now: DateTime<Utc>,
    report: &mut RetryReport,
) {
    let batch: Vec<(i64, ZoomAction)> = run.iter().map(|(id, a, _)| (*id, a.clone())).collect();
    match store.apply_zoom_events(&batch, now).await {
        Ok(applied) => {
            for ((id, _), applied) in batch.iter().zip(&applied) {
                tracing::debug!(zoom_event = id, outcome = %outcome_name(applied), "Zoom event processed");
            }
            report.processed += applied.len();
        }
        Err(e) => {
            tracing::debug!(error = %e, events = batch.len(), "Zoom event batch failed: one at a time");
            for (id, action, attempts_before) in run {
                one(store, id, Ok(action), attempts_before, now, report).await;
            }
        }
    }
}

async fn one(
    store: &dyn Store,
    id: i64,
    action: Result<ZoomAction, ParseError>,
    attempts_before: i64,
    now: DateTime<Utc>,
    report: &mut RetryReport,
) {
    match process_action(store, id, action, attempts_before, now).await {
        Ok(applied) => {
            tracing::debug!(zoom_event = id, outcome = %outcome_name(&applied), "Zoom event processed");
            report.processed += 1;
        }
        Err(e) => {
            tracing::warn!(zoom_event = id, error = %e, "stored Zoom event not processed (kept for the retry step unless it can never work)");
            report.failed += 1;
        }
    }
}

/// The retry step: processes the stored events still pending at `now` (received at or before
/// it), oldest first, at most [`RETRY_BATCH`], with [`process_batch`]. Events another
/// processor finished meanwhile are skipped by the store (`AlreadyProcessed`, counted as
/// processed).
pub async fn process_pending_events(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<RetryReport, StoreError> {
    let pending: Vec<StoredZoomEvent> = store.pending_zoom_events(now, RETRY_BATCH).await?;
    let items = pending.iter().map(Work::of_stored).collect();
    Ok(process_batch(store, items, now).await)
}

/// Retry steps until nothing received at or before `now` is pending: a backlog (after a
/// restart, or events the intake worker could not be told of) is worked off at once, not
/// [`RETRY_BATCH`] per step. Stops after a step with a failure (the rest waits for the next
/// retry step, so a database that is down is not hammered). The reports summed.
pub async fn drain_pending(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<RetryReport, StoreError> {
    let mut total = RetryReport::default();
    loop {
        let r = process_pending_events(store, now).await?;
        total.processed += r.processed;
        total.failed += r.failed;
        if r.failed > 0 || ((r.processed + r.failed) as i64) < RETRY_BATCH {
            return Ok(total);
        }
    }
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
