//! Attribution step 3 (issue #7): a participant whose name is hidden (HIPAA) and who carries
//! no customer key is attributed to an assignment when the event's Zoom user (`id`, or
//! `email`) is the connected Zoom user of exactly one interpreter, and that interpreter holds
//! the assignment for this meeting: method `zoom_user`. Never guessed: a connected interpreter
//! without an assignment for the meeting, the requestor's own Zoom user, a stranger, and a
//! Zoom user two interpreters connected stay unattributed. Signed webhooks in Zoom's payload
//! shapes over HTTP, on SQLite and PostgreSQL.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{Duration, SecondsFormat};
use dragoman::domain::EmailAddress;
use dragoman::store::{SealedTokens, ZoomConnection, ZoomPerson};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

async fn post(app: &TestApp, body: &Value) {
    assert_eq!(
        app.post_webhook(&body.to_string(), None).await,
        StatusCode::OK
    );
    // Whether the receiver processes inline or later, the retry step finishes the job (an
    // event processed already is skipped).
    dragoman::zoom::events::process_pending_events(
        app.store.as_ref(),
        app.now() + Duration::seconds(1),
    )
    .await
    .expect("retry step");
}

/// `meeting.participant_joined` / `_left` as Zoom sends them for a HIPAA account: empty
/// `user_name`, no `customer_key`; `id` and `email` as given.
fn participant(event: &str, app: &TestApp, uuid: &str, id: &str, email: &str, n: i64) -> Value {
    let at = (app.now() + Duration::seconds(n)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let time_field = if event.ends_with("_left") {
        "leave_time"
    } else {
        "join_time"
    };
    json!({
        "event": event,
        "event_ts": app.now().timestamp_millis() + n,
        "payload": {
            "account_id": "AAAAAABBBB",
            "object": {
                "id": MEETING_ID,
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "My Meeting",
                "type": 2,
                "start_time": "2026-05-01T15:00:00Z",
                "timezone": "America/New_York",
                "duration": 60,
                "participant": {
                    "user_id": format!("1677824{n}"),
                    "user_name": "",
                    "id": id,
                    "participant_uuid": uuid,
                    time_field: at,
                    "email": email,
                    "registrant_id": "",
                    "participant_user_id": id,
                    "customer_key": "",
                    "phone_number": ""
                }
            }
        }
    })
}

async fn connect(app: &TestApp, person: ZoomPerson, zoom_user: &str, email: Option<&str>) {
    let now = app.now();
    app.store
        .save_zoom_connection(
            &ZoomConnection {
                person,
                zoom_user_id: zoom_user.into(),
                zoom_email: email.map(str::to_string),
                tokens: SealedTokens {
                    access: "v1.sealed-access".into(),
                    refresh: "v1.sealed-refresh".into(),
                    expires_at: now + Duration::hours(1),
                    scope: "user:read:user".into(),
                },
                version: 1,
                connected_at: now,
            },
            now,
        )
        .await
        .expect("save connection");
}

async fn attendance(app: &TestApp, request_id: i64) -> Vec<(String, Option<i64>, bool)> {
    app.store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request")
        .attendance
        .iter()
        .map(|a| {
            (
                a.method.as_str().to_string(),
                a.interpreter,
                a.left_at.is_some(),
            )
        })
        .collect()
}

async fn story(app: &TestApp) {
    let ids = seed_interpreters(app, 3).await;
    let (request_id, tokens) = seed_request(app, "Zoom user attribution").await;
    // Whoever the first wave reached accepts; the other two are connected but not assigned.
    let at = ids
        .iter()
        .position(|i| tokens.contains_key(i))
        .expect("the first wave offers someone");
    let assigned = ids[at];
    let (other, third) = (ids[(at + 1) % 3], ids[(at + 2) % 3]);
    let res = app
        .client
        .post(app.url(&format!("/offer/{}/accept", tokens[&assigned])))
        .send()
        .await
        .expect("accept");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    connect(
        app,
        ZoomPerson::Interpreter(assigned),
        "zIntUser1",
        Some("ana0@zoom.example"),
    )
    .await;
    connect(
        app,
        ZoomPerson::Interpreter(other),
        "zIntUser2",
        Some("ana1@zoom.example"),
    )
    .await;
    let requestor = EmailAddress::parse("dr.ruiz@clinic.example").expect("email");
    connect(
        app,
        ZoomPerson::Requestor(requestor),
        "zHostUser",
        Some("dr.ruiz@clinic.example"),
    )
    .await;

    // The assigned interpreter's own Zoom user id: attributed, and its leave closes that row.
    let joined = "meeting.participant_joined";
    let left = "meeting.participant_left";
    post(app, &participant(joined, app, "pu-1", "zIntUser1", "", 1)).await;
    post(app, &participant(left, app, "pu-1", "zIntUser1", "", 2)).await;
    // A rejoin that carries only the email (id hidden), in another case.
    post(
        app,
        &participant(joined, app, "pu-2", "", "ANA0@Zoom.Example", 3),
    )
    .await;
    assert_eq!(
        attendance(app, request_id).await,
        vec![
            ("zoom_user".into(), Some(assigned), true),
            ("zoom_user".into(), Some(assigned), false),
        ]
    );

    // Connected, but no assignment for this meeting: never guessed.
    post(
        app,
        &participant(joined, app, "pu-3", "zIntUser2", "ana1@zoom.example", 4),
    )
    .await;
    // The requestor's own Zoom user (the host) is nobody's attendance.
    post(
        app,
        &participant(
            joined,
            app,
            "pu-4",
            "zHostUser",
            "dr.ruiz@clinic.example",
            5,
        ),
    )
    .await;
    // A stranger with a Zoom user nobody connected, and one with nothing at all.
    post(
        app,
        &participant(joined, app, "pu-5", "zStranger", "x@elsewhere.example", 6),
    )
    .await;
    post(app, &participant(joined, app, "pu-6", "", "", 7)).await;

    // Two interpreters connected the same Zoom user (here: the same email): ambiguous, so
    // an event carrying only that email is not attributed to either, even though one of
    // them holds the assignment. The id alone still identifies one interpreter.
    connect(
        app,
        ZoomPerson::Interpreter(third),
        "zIntUser3",
        Some("ana0@zoom.example"),
    )
    .await;
    post(
        app,
        &participant(joined, app, "pu-7", "", "ana0@zoom.example", 8),
    )
    .await;
    post(app, &participant(joined, app, "pu-8", "zIntUser1", "", 9)).await;

    // customer_key and the display name still come first in the chain.
    let mut named = participant(joined, app, "pu-9", "zIntUser1", "", 10);
    named["payload"]["object"]["participant"]["user_name"] =
        json!(format!("Ana{at} {assigned} (Spanish Interpreter)"));
    post(app, &named).await;

    let rows = attendance(app, request_id).await;
    let methods: Vec<(&str, Option<i64>)> = rows.iter().map(|(m, i, _)| (m.as_str(), *i)).collect();
    assert_eq!(
        methods,
        vec![
            ("zoom_user", Some(assigned)),
            ("zoom_user", Some(assigned)),
            ("unattributed", None),
            ("unattributed", None),
            ("unattributed", None),
            ("unattributed", None),
            ("unattributed", None),
            ("zoom_user", Some(assigned)),
            ("display_name", Some(assigned)),
        ],
        "{rows:?}"
    );
}

#[tokio::test]
async fn hidden_names_are_attributed_by_the_interpreters_connected_zoom_user_sqlite() {
    let app = spawn_app(false).await;
    story(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn hidden_names_are_attributed_by_the_interpreters_connected_zoom_user_postgres() {
    let (app, url) = spawn_app_postgres().await;
    story(&app).await;
    app.stop().await;
    common::drop_postgres(&url).await;
}
