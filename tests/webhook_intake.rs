//! The webhook intake under concurrency and across a restart (issue #7, the throughput
//! work): 200 signed posts at once, a quarter of them Zoom's retries of the others, are each
//! answered 200, stored once and processed once (group commit + the processing worker); and
//! an event acknowledged by a run that died before processing it is processed when the next
//! run starts, without waiting for the retry step. Both databases. Never sleeps: waits on the
//! intake's worker.

#[path = "http_support/mod.rs"]
mod support;

use chrono::DateTime;
use dragoman::zoom::events::{envelope, process_pending_events};
use reqwest::StatusCode;
use support::common;
use support::*;

async fn post(app: &TestApp, body: String) -> StatusCode {
    app.post_webhook(&body, None).await
}

/// Accepts the first interpreter's offer; returns the request and the customerKey the join
/// page hands to Zoom.
async fn assigned(app: &TestApp) -> (i64, String) {
    let (accepted, args) = accept_and_join(app, "Intake story").await;
    (
        accepted.request_id,
        args["customerKey"].as_str().expect("customerKey").into(),
    )
}

const DISTINCT: usize = 150;
const RETRIED: usize = 50;

async fn two_hundred_at_once(app: TestApp) {
    let (request_id, key) = assigned(&app).await;
    let at = DateTime::from_timestamp(app.now().timestamp(), 0).expect("in range");
    let bodies: Vec<String> = (0..DISTINCT)
        .map(|n| participant_joined(n, at, &key))
        .collect();
    // Every distinct event, and Zoom's retries of the first RETRIED, all in flight together.
    let all: Vec<String> = bodies
        .iter()
        .chain(bodies.iter().take(RETRIED))
        .cloned()
        .collect();
    assert_eq!(all.len(), 200);
    let answers = futures::future::join_all(all.into_iter().map(|b| post(&app, b))).await;
    assert!(
        answers.iter().all(|s| *s == StatusCode::OK),
        "every post answered 200: {answers:?}"
    );
    app.webhooks_settled().await;

    // Stored once each: storing any of them again is a duplicate, and nothing is pending.
    let now = app.now();
    for b in &bodies {
        let again = app
            .store
            .record_zoom_event(&envelope(b.as_bytes(), None).expect("envelope"), now)
            .await
            .expect("insert");
        assert_eq!(again, dragoman::store::ZoomEventInsert::Duplicate);
    }
    assert!(app
        .store
        .pending_zoom_events(now, 1000)
        .await
        .expect("pending")
        .is_empty());
    // Processed: one attendance row per participant (a retry never opens a second one).
    let d = app
        .store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(d.attendance.len(), DISTINCT, "one row per participant");
    assert!(d
        .attendance
        .iter()
        .all(|a| a.method.as_str() == "customer_key" && a.joined_at == Some(at)));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_posts_with_retries_are_stored_and_processed_once_on_sqlite() {
    two_hundred_at_once(spawn_app(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_posts_with_retries_are_stored_and_processed_once_on_postgres() {
    let (app, url) = spawn_app_postgres().await;
    two_hundred_at_once(app).await;
    common::drop_postgres(&url).await;
}

/// Run one acknowledges an event (the row is committed: exactly what a kill right after the
/// 200 leaves behind) and stops before processing it; run two, on the same database,
/// processes it as it starts.
async fn acknowledged_then_restarted(db_url: &str) {
    let url = db_url.to_string();
    let first = spawn_app_with_db(&url).await;
    let (request_id, key) = assigned(&first).await;
    let at = DateTime::from_timestamp(first.now().timestamp(), 0).expect("in range");
    let body = participant_joined(7, at, &key);
    let stored = first
        .store
        .record_zoom_event(&envelope(body.as_bytes(), None).expect("envelope"), at)
        .await
        .expect("insert");
    assert!(matches!(
        stored,
        dragoman::store::ZoomEventInsert::Inserted(_)
    ));
    let d = first
        .store
        .request_detail(request_id)
        .await
        .unwrap()
        .unwrap();
    assert!(d.attendance.is_empty(), "not processed by the first run");
    first.stop().await;

    let second = spawn_app_with_db(&url).await;
    // Zoom's retry of it, arriving at the new run: acknowledged, still one row.
    assert_eq!(post(&second, body).await, StatusCode::OK);
    second.webhooks_settled().await;
    let d = second
        .store
        .request_detail(request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.attendance.len(), 1, "{:?}", d.attendance);
    assert_eq!(d.attendance[0].method.as_str(), "customer_key");
    // Processed at start-up, not left for the retry step.
    let r = process_pending_events(second.store.as_ref(), second.now())
        .await
        .expect("retry step");
    assert_eq!((r.processed, r.failed), (0, 0));
    second.stop().await;
}

async fn spawn_app_with_db(url: &str) -> TestApp {
    let url = url.to_string();
    spawn_app_with(move |c| c.database.url = url).await
}

#[tokio::test]
async fn an_event_acknowledged_but_not_processed_is_processed_when_the_next_run_starts_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/shared.db", dir.path().display());
    acknowledged_then_restarted(&url).await;
}

#[tokio::test]
async fn an_event_acknowledged_but_not_processed_is_processed_when_the_next_run_starts_on_postgres()
{
    let url = common::fresh_postgres_url().await;
    acknowledged_then_restarted(&url).await;
    common::drop_postgres(&url).await;
}
