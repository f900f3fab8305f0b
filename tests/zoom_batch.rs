//! Applying stored Zoom events as a batch (`Store::apply_zoom_events`, a handful of
//! statements for the whole batch) does exactly what applying them one at a time does
//! (`Store::apply_zoom_event`): the same outcomes and the same attendance rows, in the same
//! order. The sequence mixes every path of the batch: fresh joins and leaves by customer key,
//! display name and nobody, a participant open before the batch, a rejoin and a repeated join
//! inside it, a leave before its join, `meeting.started`/`ended` between them, a leave after
//! the end, and one event twice. Both databases, each on two fresh databases seeded alike.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use dragoman::store::{ZoomAction, ZoomApplied, ZoomEventInsert};
use dragoman::zoom::events::{action_of, envelope};
use serde_json::{json, Value};
use support::*;

const UUID: &str = "7777BBBiBBBBBiBiBiiBii==";

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn participant(event: &str, at: DateTime<Utc>, uuid: &str, name: &str, key: &str) -> Value {
    let time_field = if event.ends_with("_left") {
        "leave_time"
    } else {
        "join_time"
    };
    json!({"event": event, "event_ts": at.timestamp_millis(),
        "payload": {"account_id": "AAAAAABBBB", "object": {
            "id": MEETING_ID, "uuid": UUID, "host_id": "x1yCzABCDEfg23HiJKl4mN",
            "topic": "Batch", "type": 2, "start_time": rfc(at), "timezone": "UTC", "duration": 60,
            "participant": {"user_id": "16778240", "user_name": name, "id": "",
                "participant_uuid": uuid, time_field: rfc(at), "email": "",
                "customer_key": key}}}})
}

fn meeting(event: &str, at: DateTime<Utc>) -> Value {
    let time_field = if event == "meeting.ended" {
        "end_time"
    } else {
        "start_time"
    };
    json!({"event": event, "event_ts": at.timestamp_millis(),
        "payload": {"account_id": "AAAAAABBBB", "object": {
            "id": MEETING_ID, "uuid": UUID, "host_id": "x1yCzABCDEfg23HiJKl4mN",
            "topic": "Batch", "type": 2, time_field: rfc(at), "timezone": "UTC",
            "duration": 60}}})
}

/// `(before the batch, the batch)` for the app's customer key and the interpreter's name.
fn story(t0: DateTime<Utc>, key: &str, name: &str) -> (Vec<Value>, Vec<Value>) {
    let m = |n: i64| t0 + Duration::minutes(n);
    let joined = "meeting.participant_joined";
    let left = "meeting.participant_left";
    let before = vec![participant(joined, m(0), "open-before", "Guest Early", "")];
    let batch = vec![
        participant(joined, m(1), "by-key", "Someone", key),
        participant(joined, m(1), "guest", "Guest", ""),
        meeting("meeting.started", m(0)),
        participant(left, m(10), "by-key", "Someone", key),
        participant(joined, m(12), "by-key", "Someone", key),
        participant(joined, m(13), "by-key", "Someone", key),
        participant(left, m(20), "leave-first", "Guest Two", ""),
        participant(joined, m(2), "leave-first", "Guest Two", ""),
        participant(joined, m(3), "by-name", name, ""),
        participant(left, m(30), "open-before", "Guest Early", ""),
        meeting("meeting.ended", m(60)),
        participant(left, m(61), "by-name", name, ""),
        participant(joined, m(62), "late", "Guest Late", ""),
    ];
    (before, batch)
}

type Row = (
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
);

async fn attendance_rows(url: &str, key: &str) -> Vec<Row> {
    const Q: &str =
        "SELECT assignment_id, interpreter_id, meeting_id, meeting_uuid, participant_key,
                            user_name, customer_key, method, joined_at, left_at
                     FROM attendance ORDER BY id";
    let mut rows: Vec<Row> = read_rows(url, Q).await;
    // Each database has its own random customer key: compare it by role.
    for r in &mut rows {
        if r.6.as_deref() == Some(key) {
            r.6 = Some("the assignment's key".into());
        }
    }
    rows
}

/// Seeds an assignment on `url`, applies the story from `t0` (one at a time, or the batch in one call)
/// and returns the outcomes and the attendance rows.
async fn run(url: String, t0: DateTime<Utc>, batched: bool) -> (Vec<ZoomApplied>, Vec<Row>) {
    let app = {
        let url = url.clone();
        spawn_app_with(move |c| c.database.url = url).await
    };
    let (_, args) = accept_and_join(&app, "Batch").await;
    let key = args["customerKey"]
        .as_str()
        .expect("customerKey")
        .to_string();
    let name = args["userName"].as_str().expect("userName").to_string();
    let (before, batch) = story(t0, &key, &name);
    let now = app.now();

    let store = app.store.clone();
    let stored = |bodies: Vec<Value>| {
        let store = store.clone();
        async move {
            let new: Vec<_> = bodies
                .iter()
                .map(|b| envelope(b.to_string().as_bytes(), None).expect("envelope"))
                .collect();
            let ids = store.record_zoom_events(&new, now).await.expect("stored");
            ids.into_iter()
                .zip(&bodies)
                .map(|(id, b)| {
                    let ZoomEventInsert::Inserted(id) = id else {
                        panic!("every event of the story is new")
                    };
                    (id, action_of(b.to_string().as_bytes()).expect("action"))
                })
                .collect::<Vec<(i64, ZoomAction)>>()
        }
    };
    for (id, action) in stored(before).await {
        store
            .apply_zoom_event(id, &action, now)
            .await
            .expect("before the batch");
    }
    let mut events = stored(batch).await;
    // The same event twice in one batch: applied once.
    events.push(events[3].clone());

    let outcomes = if batched {
        store.apply_zoom_events(&events, now).await.expect("batch")
    } else {
        let mut out = Vec::new();
        for (id, action) in &events {
            out.push(store.apply_zoom_event(*id, action, now).await.expect("one"));
        }
        out
    };
    let rows = attendance_rows(&url, &key).await;
    app.stop().await;
    (outcomes, rows)
}

async fn batch_equals_one_by_one(one_url: String, batch_url: String) {
    // One time line for both (each app's clock starts at its own start).
    let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("in range");
    let (one, one_rows) = run(one_url, t0, false).await;
    let (batch, batch_rows) = run(batch_url, t0, true).await;
    assert_eq!(batch, one, "the same outcomes");
    assert_eq!(
        batch_rows, one_rows,
        "the same attendance rows, in the same order"
    );
    // And the story exercised what it means to: every method, a row closed by the end.
    let methods: Vec<&str> = one_rows.iter().map(|r| r.7.as_str()).collect();
    for m in ["customer_key", "display_name", "unattributed"] {
        assert!(methods.contains(&m), "{m} in {methods:?}");
    }
    assert!(matches!(one.last(), Some(ZoomApplied::AlreadyProcessed)));
    assert!(one
        .iter()
        .any(|o| matches!(o, ZoomApplied::MeetingEnded { closed_rows, .. } if *closed_rows > 0)));
}

#[tokio::test]
async fn a_batch_does_what_one_event_at_a_time_does_on_sqlite() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    batch_equals_one_by_one(
        format!("sqlite://{}/one.db", a.path().display()),
        format!("sqlite://{}/batch.db", b.path().display()),
    )
    .await;
}

#[tokio::test]
async fn a_batch_does_what_one_event_at_a_time_does_on_postgres() {
    let (a, b) = (
        common::fresh_postgres_url().await,
        common::fresh_postgres_url().await,
    );
    batch_equals_one_by_one(a.clone(), b.clone()).await;
    common::drop_postgres(&a).await;
    common::drop_postgres(&b).await;
}
