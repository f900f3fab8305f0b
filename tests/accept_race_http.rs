//! Exactly-once acceptance over HTTP: 30 interpreters, each with their own offer for the same
//! request, POST accept at the same moment; exactly one gets 303, the other 29 get 409. On
//! SQLite and on PostgreSQL (`TEST_DATABASE_URL`, as `./scripts/test` sets it).

#[path = "http_support/mod.rs"]
mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use support::common;
use support::*;

const N: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_accepts_one_winner_sqlite() {
    let app = spawn_app(false).await;
    race(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_accepts_one_winner_postgres() {
    let (app, url) = spawn_app_postgres().await;
    race(&app).await;
    app.stop().await;
    common::drop_postgres(&url).await;
}

async fn race(app: &TestApp) {
    let ids = seed_interpreters(app, N).await;
    let (request_id, first_wave) = seed_request(app, "Race").await;
    assert!(first_wave.len() < N, "offers go out in waves");
    let tokens = offer_everyone(app, &first_wave).await;
    assert_eq!(
        tokens.len(),
        N,
        "one offer per interpreter, across the waves"
    );

    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for id in &ids {
        let url = app.url(&format!("/offer/{}/accept", tokens[id]));
        let client = app.client.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = client.post(url).send().await.expect("accept request");
            (res.status(), res.headers().get("location").cloned())
        }));
    }
    let mut winners = 0;
    let mut taken = 0;
    for t in tasks {
        let (status, location) = t.await.expect("task");
        match status {
            StatusCode::SEE_OTHER => {
                winners += 1;
                assert!(location.is_some());
            }
            StatusCode::CONFLICT => taken += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((winners, taken), (1, N - 1));
    let detail = app.store.request_detail(request_id).await.unwrap().unwrap();
    assert!(detail.assigned_interpreter.is_some());
    // The winner asking again still gets 303; a loser asking again still gets 409.
    let mut again = Vec::new();
    for id in &ids {
        let res = app
            .client
            .post(app.url(&format!("/offer/{}/accept", tokens[id])))
            .send()
            .await
            .expect("accept again");
        again.push(res.status());
    }
    assert_eq!(
        again
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1
    );
    assert_eq!(
        again.iter().filter(|s| **s == StatusCode::CONFLICT).count(),
        N - 1
    );
}
