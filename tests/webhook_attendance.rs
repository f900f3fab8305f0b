//! Zoom's webhooks over HTTP, in the shapes Zoom documents: the join event as Zoom's own
//! example spells it (`date_time`, string `id`), the real-delivery spelling (`join_time`,
//! numeric `id`), the leave event, retries with the same `x-zm-request-id`, participants with
//! hidden names and no customer key, and events dragoman does not record.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{Duration, SecondsFormat};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::common;
use support::*;

async fn post(app: &TestApp, body: &Value, request_id: Option<&str>) -> StatusCode {
    // Processing runs after the 200: wait for it (on the worker, no sleeping).
    app.post_webhook_processed(&body.to_string(), request_id)
        .await
}

fn participant_event(event: &str, meeting_id: Value, event_ts: i64, participant: Value) -> Value {
    json!({
        "event": event,
        "event_ts": event_ts,
        "payload": {
            "account_id": "AAAAAABBBB",
            "object": {
                "id": meeting_id,
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "My Meeting",
                "type": 8,
                "start_time": "2026-05-01T15:00:00Z",
                "timezone": "America/New_York",
                "duration": 60,
                "participant": participant
            }
        }
    })
}

/// Accepts the request's offer for the first interpreter and reads the customerKey off the
/// join page, as the browser would hand it to Zoom.
async fn assigned_customer_key(app: &TestApp) -> (i64, i64, String) {
    let (accepted, args) = accept_and_join(app, "Webhook story").await;
    let key = args["customerKey"].as_str().unwrap().to_string();
    (accepted.request_id, accepted.interpreter, key)
}

#[tokio::test]
async fn join_and_leave_are_one_attendance_interval_even_when_retried() {
    let app = spawn_app(false).await;
    let (request_id, interpreter, key) = assigned_customer_key(&app).await;
    let joined_at = app.now() - Duration::seconds(5);
    let left_at = app.now() + Duration::minutes(50);

    // Zoom's documented example shape: `date_time`, string id, names hidden (HIPAA).
    let joined = participant_event(
        "meeting.participant_joined",
        json!(MEETING_ID),
        app.now().timestamp_millis(),
        json!({
            "user_id": "16778240", "user_name": "", "id": "",
            "participant_uuid": "55555AAAiAAAAAiAiAiiAii",
            "date_time": joined_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "email": "", "registrant_id": "", "participant_user_id": "",
            "customer_key": key, "phone_number": ""
        }),
    );
    assert_eq!(
        post(&app, &joined, Some("req-join-1")).await,
        StatusCode::OK
    );
    // Zoom retries with the same request id: acknowledged, not recorded twice.
    assert_eq!(
        post(&app, &joined, Some("req-join-1")).await,
        StatusCode::OK
    );
    // A redelivery without the header dedupes on event + ts + meeting + participant.
    assert_eq!(post(&app, &joined, None).await, StatusCode::OK);
    assert_eq!(post(&app, &joined, None).await, StatusCode::OK);

    app.advance(Duration::minutes(50));
    // Real deliveries: numeric id in some payloads, `leave_time`, `leave_reason`.
    let left = participant_event(
        "meeting.participant_left",
        json!(MEETING_ID.parse::<u64>().unwrap()),
        app.now().timestamp_millis(),
        json!({
            "user_id": "16778240", "user_name": "", "id": "",
            "participant_uuid": "55555AAAiAAAAAiAiAiiAii",
            "leave_time": left_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "leave_reason": "left the meeting. Reason : left the meeting",
            "email": "", "customer_key": key
        }),
    );
    assert_eq!(post(&app, &left, Some("req-left-1")).await, StatusCode::OK);
    assert_eq!(post(&app, &left, Some("req-left-1")).await, StatusCode::OK);

    let detail = app.store.request_detail(request_id).await.unwrap().unwrap();
    let rows: Vec<_> = detail
        .attendance
        .iter()
        .filter(|a| a.interpreter == Some(interpreter))
        .collect();
    assert_eq!(rows.len(), 1, "{:?}", detail.attendance);
    assert_eq!(rows[0].method.as_str(), "customer_key");
    assert_eq!(
        rows[0].joined_at.map(|t| t.timestamp()),
        Some(joined_at.timestamp())
    );
    assert_eq!(
        rows[0].left_at.map(|t| t.timestamp()),
        Some(left_at.timestamp())
    );
    app.stop().await;
}

#[tokio::test]
async fn events_we_cannot_attribute_or_do_not_record_are_acknowledged() {
    let app = spawn_app(false).await;
    let (request_id, _, _) = assigned_customer_key(&app).await;
    let now = app.now();

    // Somebody else in the meeting: no customer key, name hidden.
    let stranger = participant_event(
        "meeting.participant_joined",
        json!(MEETING_ID),
        now.timestamp_millis(),
        json!({"user_id": "16778999", "user_name": "", "participant_uuid": "other",
               "join_time": now.to_rfc3339_opts(SecondsFormat::Secs, true)}),
    );
    assert_eq!(post(&app, &stranger, None).await, StatusCode::OK);

    // Waiting for the host (jbh): carries the customer key, no participant_uuid.
    let jbh = participant_event(
        "meeting.participant_jbh_joined",
        json!(MEETING_ID),
        now.timestamp_millis(),
        json!({"id": "", "user_name": "Ana0 1 (Spanish Interpreter)", "customer_key": "ZZZZZZZZ1234"}),
    );
    assert_eq!(post(&app, &jbh, None).await, StatusCode::OK);

    // Events dragoman does not record yet, and a verified body it cannot read.
    let ended = json!({"event": "meeting.ended", "event_ts": now.timestamp_millis(),
        "payload": {"account_id": "a", "object": {"id": MEETING_ID, "uuid": "u",
        "end_time": now.to_rfc3339_opts(SecondsFormat::Secs, true)}}});
    assert_eq!(post(&app, &ended, None).await, StatusCode::OK);
    let broken = json!({"event": "meeting.participant_left", "payload": {"object": {"id": "1"}}});
    assert_eq!(post(&app, &broken, None).await, StatusCode::OK);

    let detail = app.store.request_detail(request_id).await.unwrap().unwrap();
    // The stranger stays unattributed; the jbh participant's key is unknown, but the display
    // name follows the pattern and names the assigned interpreter: attributed by name.
    let methods: Vec<(&str, Option<i64>)> = detail
        .attendance
        .iter()
        .map(|a| (a.method.as_str(), a.interpreter))
        .collect();
    assert_eq!(
        methods,
        vec![
            ("unattributed", None),
            ("display_name", detail.assigned_interpreter)
        ],
        "nothing guessed: {:?}",
        detail.attendance
    );
    // meeting.ended finished the assigned request.
    assert_eq!(detail.request.state.as_str(), "done");
    assert!(detail.meeting_ended_at.is_some());
    app.stop().await;
}

#[tokio::test]
async fn webhooks_are_refused_without_a_valid_signature() {
    let app = spawn_app(false).await;
    let body =
        json!({"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}}).to_string();
    let ts = app.now().timestamp();
    let send = |sig: Option<String>, ts: Option<String>| {
        let mut req = app.client.post(app.url("/zoom/webhook")).body(body.clone());
        if let Some(sig) = sig {
            req = req.header("x-zm-signature", sig);
        }
        if let Some(ts) = ts {
            req = req.header("x-zm-request-timestamp", ts);
        }
        req.send()
    };
    let good = zoom_sign(ts, &body);
    let cases = [
        (None, Some(ts.to_string()), "missing x-zm-signature"),
        (Some(good.clone()), None, "missing x-zm-request-timestamp"),
        (
            Some(good.clone()),
            Some((ts + 1).to_string()),
            "does not match",
        ),
        (
            Some("v0=nothex".into()),
            Some(ts.to_string()),
            "not of the form",
        ),
        (
            Some(zoom_sign(ts + 400, &body)),
            Some((ts + 400).to_string()),
            "away from now",
        ),
    ];
    for (sig, t, reason) in cases {
        let res = send(sig, t).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{reason}");
        let text = res.text().await.unwrap();
        assert!(text.contains(reason), "{text:?} should say {reason:?}");
        assert!(!text.contains(WEBHOOK_SECRET));
    }
    let res = send(Some(good), Some(ts.to_string())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.stop().await;
}

/// When the database is gone, Zoom must hear 5xx (so it retries later), never 200 or 4xx;
/// pages say to try again. Runs on PostgreSQL, whose database the test can drop under the app.
#[tokio::test]
async fn database_unavailable_asks_zoom_to_retry() {
    let (app, url) = spawn_app_postgres().await;
    let ids = seed_interpreters(&app, 1).await;
    let (_, tokens) = seed_request(&app, "Outage story").await;
    common::drop_postgres(&url).await;

    let now = app.now();
    let joined = participant_event(
        "meeting.participant_joined",
        json!(MEETING_ID),
        now.timestamp_millis(),
        json!({"user_id": "1", "user_name": "", "participant_uuid": "p",
               "join_time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
               "customer_key": "ABCDEFGH1234"}),
    );
    assert_eq!(
        post(&app, &joined, None).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // URL validation needs no database and still works.
    let validation = json!({"event": "endpoint.url_validation", "payload": {"plainToken": "t"}});
    assert_eq!(post(&app, &validation, None).await, StatusCode::OK);
    let res = app
        .client
        .get(app.url(&format!("/offer/{}", tokens[&ids[0]])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    app.stop().await;
}
