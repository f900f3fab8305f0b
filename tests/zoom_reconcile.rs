//! Reconciliation from Zoom's participant report (issue #7), against a fake Zoom serving the
//! documented report shape, paged by `next_page_token`: a rejoin whose webhooks never came is
//! added (method `report`), a participant nobody can attribute is listed but billed to no one,
//! an open row whose leave and `meeting.ended` never came is closed at the report's leave, and
//! running it again changes nothing. On SQLite and PostgreSQL.

#[path = "http_support/fake_zoom.rs"]
mod fake_zoom;
#[path = "http_support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use dragoman::config::{Config, Secret, ZoomOAuthConfig};
use dragoman::domain::{AttributionMethod, EmailAddress};
use dragoman::store::{
    MeetingToReconcile, ReconcileOutcome, SealedTokens, ZoomConnection, ZoomPerson,
};
use dragoman::zoom::attendance::summarize;
use dragoman::zoom::connect::ZoomOAuth;
use dragoman::zoom::oauth::{seal_context, TokenKey};
use dragoman::zoom::reconcile::{reconcile_due, reconcile_meeting};
use fake_zoom::{FakeZoom, CLIENT_ID, CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

const UUID: &str = "4444AAAiAAAAAiAiAiiAii==";

fn cfg(fake: &FakeZoom) -> ZoomOAuthConfig {
    ZoomOAuthConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        token_key: TokenKey::from_file_bytes(&[5u8; 32]).expect("key"),
        oauth_base: fake.base.clone(),
        api_base: fake.base.clone(),
    }
}

fn with_oauth(fake: &FakeZoom) -> impl FnOnce(&mut Config) {
    let c = cfg(fake);
    move |config: &mut Config| config.zoom.oauth = Some(c)
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn post(app: &TestApp, body: &Value) -> StatusCode {
    // Processing runs after the 200: wait for it (on the worker, no sleeping).
    app.post_webhook_processed(&body.to_string(), None).await
}

fn event(name: &str, at: DateTime<Utc>, extra: Value) -> Value {
    let mut object = json!({"id": MEETING_ID, "uuid": UUID, "host_id": "x1yCzABCDEfg23HiJKl4mN",
        "topic": "My Meeting", "type": 2, "start_time": rfc(at), "timezone": "America/New_York",
        "duration": 60});
    object
        .as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    json!({"event": name, "event_ts": at.timestamp_millis(),
           "payload": {"account_id": "AAAAAABBBB", "object": object}})
}

/// Connects the requestor's Zoom user (the report is read with their token).
async fn connect_requestor(app: &TestApp, fake: &FakeZoom) {
    fake.consent_as("zHostUser", "dr.ruiz@clinic.example");
    let res = app
        .client
        .get(format!("{}/oauth/authorize", fake.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://cb"),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("authorize");
    let to = reqwest::Url::parse(res.headers()["location"].to_str().expect("ascii")).expect("url");
    let code = to
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .to_string();
    let c = cfg(fake);
    let t = dragoman::zoom::api::ZoomApi::new(&c)
        .exchange_code(&code, "http://cb")
        .await
        .expect("exchange");
    let person =
        ZoomPerson::Requestor(EmailAddress::parse("dr.ruiz@clinic.example").expect("email"));
    let now = app.now();
    app.store
        .save_zoom_connection(
            &ZoomConnection {
                tokens: SealedTokens {
                    access: c
                        .token_key
                        .seal(&t.access_token, &seal_context(&person, "access")),
                    refresh: c
                        .token_key
                        .seal(&t.refresh_token, &seal_context(&person, "refresh")),
                    expires_at: t.expires_at(now),
                    scope: t.scope.clone(),
                },
                person,
                zoom_user_id: "zHostUser".into(),
                zoom_email: None,
                version: 1,
                connected_at: now,
            },
            now,
        )
        .await
        .expect("save");
}

/// Accepts the first offer; returns (request id, customer key, user name).
async fn assigned(app: &TestApp) -> (i64, String, String) {
    let (accepted, args) = accept_and_join(app, "Reconcile").await;
    (
        accepted.request_id,
        args["customerKey"].as_str().expect("key").into(),
        args["userName"].as_str().expect("name").into(),
    )
}

fn report_row(id: &str, name: &str, key: &str, join: DateTime<Utc>, leave: DateTime<Utc>) -> Value {
    json!({"id": id, "user_id": "16778240", "name": name, "user_email": "",
           "join_time": rfc(join), "leave_time": rfc(leave),
           "duration": (leave - join).num_seconds(), "attentiveness_score": "", "failover": false,
           "status": "in_meeting", "customer_key": key, "registrant_id": "", "participant_user_id": ""})
}

async fn missing_rejoin_is_reconciled(app: &TestApp, fake: &FakeZoom) {
    let (request_id, key, name) = assigned(app).await;
    connect_requestor(app, fake).await;
    let start = DateTime::from_timestamp(app.now().timestamp(), 0).expect("time");
    let at = |m: i64| start + Duration::minutes(m);

    // Webhooks: started, joined at 1, left at 20; the rejoin (25–50) never arrived; ended at 60.
    assert_eq!(
        post(app, &event("meeting.started", start, json!({}))).await,
        StatusCode::OK
    );
    let p = |extra: Value| {
        let mut v = json!({"user_id": "16778240", "user_name": name, "id": "", "participant_uuid": "pu-1",
                           "email": "", "customer_key": key});
        v.as_object_mut()
            .expect("o")
            .extend(extra.as_object().expect("o").clone());
        json!({ "participant": v })
    };
    let joined = event(
        "meeting.participant_joined",
        at(1),
        p(json!({"join_time": rfc(at(1))})),
    );
    assert_eq!(post(app, &joined).await, StatusCode::OK);
    let left = event(
        "meeting.participant_left",
        at(20),
        p(json!({"leave_time": rfc(at(20)),
        "leave_reason": "left the meeting. Reason : lost connection"})),
    );
    assert_eq!(post(app, &left).await, StatusCode::OK);
    let ended = event("meeting.ended", start, json!({"end_time": rfc(at(60))}));
    assert_eq!(post(app, &ended).await, StatusCode::OK);

    let minutes = |d: &dragoman::store::RequestDetail| {
        summarize(&d.attendance, d.meeting_started_at, d.meeting_ended_at).attended_minutes
    };
    let before = app
        .store
        .request_detail(request_id)
        .await
        .expect("d")
        .expect("r");
    assert_eq!(minutes(&before), 19);

    // Zoom's report, three rows on three pages (page_size 1).
    fake.set_report(
        UUID,
        vec![
            report_row("pid-1", &name, &key, at(1), at(20)),
            report_row("pid-2", &name, &key, at(25), at(50)),
            report_row("pid-host", "Dr Ruiz", "", at(0), at(60)),
        ],
        1,
    );
    let z = ZoomOAuth::new(&cfg(fake), &app.base);
    let store = app.store.as_ref();
    // Not due before end + 30 minutes.
    let early = reconcile_due(store, &z, Duration::minutes(30), at(80))
        .await
        .expect("step");
    assert_eq!(early.meetings, 0);
    let step = reconcile_due(store, &z, Duration::minutes(30), at(95))
        .await
        .expect("step");
    assert_eq!((step.meetings, step.failed), (1, 0));
    assert_eq!(
        step.merged,
        ReconcileOutcome {
            added: 1,
            closed: 0,
            completed: 0,
            covered: 1,
            unattributed: 1
        }
    );
    assert_eq!(
        fake.count("GET /v2/report/meetings/{meetingId}/participants"),
        3,
        "three pages"
    );

    let after = app
        .store
        .request_detail(request_id)
        .await
        .expect("d")
        .expect("r");
    assert_eq!(minutes(&after), 19 + 25, "the missed rejoin is billed");
    assert!(after
        .attendance
        .iter()
        .any(|a| a.method == AttributionMethod::Report));
    let unattributed: Vec<_> = after
        .attendance
        .iter()
        .filter(|a| a.method == AttributionMethod::Unattributed)
        .collect();
    assert_eq!(unattributed.len(), 1);
    assert_eq!(unattributed[0].interpreter, None, "never guessed");

    // Reconciled once: the step skips it; forcing it again changes nothing.
    let again = reconcile_due(store, &z, Duration::minutes(30), at(120))
        .await
        .expect("step");
    assert_eq!(again.meetings, 0);
    let m = MeetingToReconcile {
        meeting_id: MEETING_ID.into(),
        meeting_uuid: UUID.into(),
        requestor: EmailAddress::parse("dr.ruiz@clinic.example").expect("email"),
        ended_at: at(60),
    };
    let forced = reconcile_meeting(store, &z, &m, at(120))
        .await
        .expect("again");
    assert_eq!(
        forced,
        ReconcileOutcome {
            covered: 3,
            ..Default::default()
        }
    );
    let last = app
        .store
        .request_detail(request_id)
        .await
        .expect("d")
        .expect("r");
    assert_eq!(last.attendance.len(), after.attendance.len());
}

#[tokio::test]
async fn a_missing_rejoin_is_reconciled_from_the_report_on_sqlite() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    missing_rejoin_is_reconciled(&app, &fake).await;
    app.stop().await;
}

#[tokio::test]
async fn a_missing_rejoin_is_reconciled_from_the_report_on_postgres() {
    let fake = FakeZoom::start().await;
    let (app, url) = spawn_app_postgres_with(with_oauth(&fake)).await;
    missing_rejoin_is_reconciled(&app, &fake).await;
    let store = app.store.clone();
    app.stop().await;
    drop(store);
    support::common::drop_postgres(&url).await;
}

#[tokio::test]
async fn an_open_row_without_leave_or_end_is_closed_by_the_report() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    let (request_id, key, name) = assigned(&app).await;
    connect_requestor(&app, &fake).await;
    let start = DateTime::from_timestamp(app.now().timestamp(), 0).expect("time");
    let joined = event(
        "meeting.participant_joined",
        start + Duration::minutes(2),
        json!({"participant":
        {"user_id": "16778240", "user_name": name, "id": "", "participant_uuid": "pu-9",
         "date_time": rfc(start + Duration::minutes(2)), "email": "", "customer_key": key}}),
    );
    assert_eq!(post(&app, &joined).await, StatusCode::OK);
    // Zoom's join time in the report is a few seconds off the webhook's.
    fake.set_report(
        UUID,
        vec![report_row(
            "pid-9",
            &name,
            &key,
            start + Duration::seconds(118),
            start + Duration::minutes(32),
        )],
        300,
    );
    let z = ZoomOAuth::new(&cfg(&fake), &app.base);
    let m = MeetingToReconcile {
        meeting_id: MEETING_ID.into(),
        meeting_uuid: UUID.into(),
        requestor: EmailAddress::parse("dr.ruiz@clinic.example").expect("email"),
        ended_at: start + Duration::minutes(60),
    };
    let out = reconcile_meeting(app.store.as_ref(), &z, &m, start + Duration::hours(2))
        .await
        .expect("reconciled");
    assert_eq!(
        out,
        ReconcileOutcome {
            closed: 1,
            ..Default::default()
        }
    );
    let d = app
        .store
        .request_detail(request_id)
        .await
        .expect("d")
        .expect("r");
    assert_eq!(
        summarize(&d.attendance, Some(start), None).attended_minutes,
        30
    );
    app.stop().await;
}

/// The store query the no-show re-dispatch (matching, issue #5/#7) will stand on.
#[tokio::test]
async fn no_shows_are_assignments_nobody_joined_by_start_plus_grace() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    let (request_id, key, name) = assigned(&app).await;
    // seed_request starts the meeting an hour from now.
    let start = app.now() + Duration::hours(1);
    let grace = Duration::minutes(10);
    let store = app.store.as_ref();
    assert!(store
        .assignments_not_joined(app.now() - grace)
        .await
        .expect("q")
        .is_empty());
    let late = store.assignments_not_joined(start).await.expect("q");
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].request_id, request_id);
    assert_eq!(late[0].start_at.timestamp(), start.timestamp());

    let t = DateTime::from_timestamp(start.timestamp(), 0).expect("time") + grace;
    let joined = event(
        "meeting.participant_joined",
        t,
        json!({"participant":
        {"user_id": "16778240", "user_name": name, "id": "", "participant_uuid": "pu-late",
         "join_time": rfc(t), "email": "", "customer_key": key}}),
    );
    assert_eq!(post(&app, &joined).await, StatusCode::OK);
    assert!(store
        .assignments_not_joined(start)
        .await
        .expect("q")
        .is_empty());
    app.stop().await;
}
