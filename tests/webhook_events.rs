//! Zoom webhooks stored durably and processed after (issue #7), over HTTP in Zoom's shapes:
//! a meeting with a retried join, a drop and a rejoin attributed by display name only (no
//! customer key), `meeting.started` / `meeting.ended`, and the retry step picking up stored
//! events whose processing did not happen. Never sleeps: the app's clock is moved by hand.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use dragoman::store::{NewZoomEvent, ZoomEventInsert};
use dragoman::zoom::attendance::summarize;
use dragoman::zoom::events::process_pending_events;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

const UUID: &str = "4444AAAiAAAAAiAiAiiAii==";

async fn post(app: &TestApp, body: &Value, request_id: &str) -> StatusCode {
    // Processing runs after the 200: wait for it (on the worker, no sleeping).
    app.post_webhook_processed(&body.to_string(), Some(request_id))
        .await
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meeting_event(event: &str, at: DateTime<Utc>, extra: Value) -> Value {
    let mut object = json!({
        "id": MEETING_ID, "uuid": UUID, "host_id": "x1yCzABCDEfg23HiJKl4mN", "topic": "My Meeting",
        "type": 2, "start_time": rfc(at), "timezone": "America/New_York", "duration": 60
    });
    if let (Some(o), Some(e)) = (object.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    json!({"event": event, "event_ts": at.timestamp_millis(),
           "payload": {"account_id": "AAAAAABBBB", "object": object}})
}

fn participant(event: &str, at: DateTime<Utc>, p: Value) -> Value {
    meeting_event(event, at, json!({ "participant": p }))
}

/// Accepts the first interpreter's offer; returns the request, the interpreter and the
/// customerKey and userName the join page hands to Zoom.
async fn assigned(app: &TestApp) -> (i64, i64, String, String) {
    let (accepted, args) = accept_and_join(app, "Events story").await;
    (
        accepted.request_id,
        accepted.interpreter,
        args["customerKey"].as_str().expect("customerKey").into(),
        args["userName"].as_str().expect("userName").into(),
    )
}

#[tokio::test]
async fn a_meeting_with_a_retry_a_drop_and_a_rejoin_by_name_is_billed_once_and_closed() {
    let app = spawn_app(false).await;
    let (request_id, interpreter, key, user_name) = assigned(&app).await;
    // Zoom's times are whole seconds.
    let start = DateTime::from_timestamp(app.now().timestamp(), 0).expect("in range");

    let started = meeting_event("meeting.started", start, json!({}));
    assert_eq!(post(&app, &started, "r-start").await, StatusCode::OK);

    // Joined with the customer key; Zoom retries the same event under a new request id.
    let joined = participant(
        "meeting.participant_joined",
        start + Duration::minutes(2),
        json!({"user_id": "16778240", "user_name": user_name, "id": "", "participant_uuid": "pu-1",
               "join_time": rfc(start + Duration::minutes(2)), "email": "", "customer_key": key}),
    );
    assert_eq!(post(&app, &joined, "r-join").await, StatusCode::OK);
    assert_eq!(post(&app, &joined, "r-join-retry").await, StatusCode::OK);

    app.advance(Duration::minutes(20));
    let left = participant(
        "meeting.participant_left",
        start + Duration::minutes(20),
        json!({"user_id": "16778240", "user_name": user_name, "participant_uuid": "pu-1",
               "leave_time": rfc(start + Duration::minutes(20)),
               "leave_reason": "left the meeting. Reason : lost connection", "customer_key": key}),
    );
    assert_eq!(post(&app, &left, "r-left").await, StatusCode::OK);

    // Back from another device without the SDK: no customer key, only the display name.
    app.advance(Duration::minutes(5));
    let rejoined = participant(
        "meeting.participant_joined",
        start + Duration::minutes(25),
        json!({"user_id": "16778241", "user_name": user_name, "id": "", "participant_uuid": "pu-2",
               "join_time": rfc(start + Duration::minutes(25)), "email": ""}),
    );
    assert_eq!(post(&app, &rejoined, "r-rejoin").await, StatusCode::OK);

    // The meeting ends while the interpreter is still in: the row closes at end_time.
    app.advance(Duration::minutes(35));
    let end = start + Duration::minutes(60);
    let ended = meeting_event("meeting.ended", start, json!({"end_time": rfc(end)}));
    assert_eq!(post(&app, &ended, "r-end").await, StatusCode::OK);
    assert_eq!(post(&app, &ended, "r-end-retry").await, StatusCode::OK);

    let d = app
        .store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(d.request.state.as_str(), "done");
    assert_eq!(d.meeting_started_at, Some(start));
    assert_eq!(d.meeting_ended_at, Some(end));
    let rows: Vec<_> = d
        .attendance
        .iter()
        .map(|a| (a.interpreter, a.method.as_str(), a.joined_at, a.left_at))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                Some(interpreter),
                "customer_key",
                Some(start + Duration::minutes(2)),
                Some(start + Duration::minutes(20))
            ),
            (
                Some(interpreter),
                "display_name",
                Some(start + Duration::minutes(25)),
                Some(end)
            ),
        ],
        "one row per stay, the retry recorded once"
    );
    let s = summarize(&d.attendance, d.meeting_started_at, d.meeting_ended_at);
    assert_eq!(s.attended_minutes, 18 + 35);
    assert!(!s.interpreters[0].late_join && !s.interpreters[0].early_leave);
    // Nothing is left for the retry step.
    let r = process_pending_events(app.store.as_ref(), app.now())
        .await
        .expect("retry step");
    assert_eq!((r.processed, r.failed), (0, 0));
    app.stop().await;
}

#[tokio::test]
async fn the_retry_step_processes_what_was_stored_but_not_processed() {
    let app = spawn_app(false).await;
    let (request_id, interpreter, key, _) = assigned(&app).await;
    let now = app.now();
    // As if the daemon stopped between the insert (Zoom got its 200) and the processing.
    let body = participant(
        "meeting.participant_joined",
        now,
        json!({"user_id": "1", "user_name": "", "participant_uuid": "pu-9",
               "join_time": rfc(now), "customer_key": key}),
    )
    .to_string();
    for (k, b) in [
        ("k-join", body.as_str()),
        ("k-garbage", "{\"event\":\"meeting.ended\"}"),
    ] {
        let stored = app
            .store
            .record_zoom_event(
                &NewZoomEvent {
                    dedupe_key: k.into(),
                    event: "meeting.participant_joined".into(),
                    body: b.into(),
                },
                now,
            )
            .await
            .expect("insert");
        assert!(matches!(stored, ZoomEventInsert::Inserted(_)));
    }
    let r = process_pending_events(app.store.as_ref(), now)
        .await
        .expect("retry step");
    assert_eq!((r.processed, r.failed), (1, 1));
    // The unreadable one is given up on, the other done: a second step finds nothing.
    let r = process_pending_events(app.store.as_ref(), now)
        .await
        .expect("retry step");
    assert_eq!((r.processed, r.failed), (0, 0));
    let d = app
        .store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(d.attendance.len(), 1);
    assert_eq!(d.attendance[0].interpreter, Some(interpreter));
    assert_eq!(d.attendance[0].method.as_str(), "customer_key");
    app.stop().await;
}
