//! Join modes (issue #7): `obf` and `zak` need a connected Zoom user; without one (and no
//! Zoom user can be connected yet) the assignment falls back to `[zoom] join_fallback`, the
//! join page follows it, and `request show` records which mode was used and why.

#[path = "http_support/mod.rs"]
mod support;

use dragoman::config::{JoinMode, RequestorPreference};
use support::*;

/// Accepts the first offer; returns the request id and the join page's HTML.
async fn accept_and_open(app: &TestApp) -> (i64, String) {
    let accepted = accept_first_offer(app, "Join modes").await;
    let html = open_join_page(app, &accepted.join_url).await;
    (accepted.request_id, html)
}

async fn recorded(app: &TestApp, request_id: i64) -> (Option<String>, Option<String>) {
    let d = app
        .store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    (d.join_mode, d.join_mode_note)
}

#[tokio::test]
async fn obf_without_a_connected_requestor_falls_back_to_the_link() {
    let app = spawn_app_with(|c| {
        c.zoom.join_mode = JoinMode::Obf;
        c.zoom.join_fallback = JoinMode::Link;
    })
    .await;
    let (request_id, html) = accept_and_open(&app).await;
    assert!(
        html.contains("When Zoom asks for your name, type exactly"),
        "{html}"
    );
    assert!(html.contains("Ana0 1 (Spanish Interpreter)"));
    assert!(!html.contains("zoom-join"), "no SDK page in link mode");
    let (mode, note) = recorded(&app, request_id).await;
    assert_eq!(mode.as_deref(), Some("link"));
    let note = note.expect("a fallback says why");
    assert!(
        note.contains("join_mode obf") && note.contains("requestor has not connected"),
        "{note}"
    );
    app.stop().await;
}

#[tokio::test]
async fn zak_can_fall_back_to_the_same_account_sdk_join() {
    let app = spawn_app_with(|c| {
        c.zoom.join_mode = JoinMode::Zak;
        c.zoom.join_fallback = JoinMode::SameAccount;
    })
    .await;
    let (request_id, html) = accept_and_open(&app).await;
    let args = zoom_join_json(&html);
    assert_eq!(args["meetingNumber"], MEETING_ID);
    assert!(args.get("zak").is_none() && args.get("obfToken").is_none());
    let (mode, note) = recorded(&app, request_id).await;
    assert_eq!(mode.as_deref(), Some("same_account"));
    assert!(note.expect("why").contains("interpreter has not connected"));
    app.stop().await;
}

#[tokio::test]
async fn the_configured_mode_is_recorded_without_a_note() {
    let app = spawn_app(false).await;
    let (request_id, html) = accept_and_open(&app).await;
    assert!(html.contains("zoom-join"));
    assert_eq!(
        recorded(&app, request_id).await,
        (Some("same_account".into()), None)
    );
    app.stop().await;
}

// ---- per-requestor join mode (`[[requestors.preference]] join_mode`) --------------------

fn requestor_mode(sender: &str, mode: JoinMode) -> RequestorPreference {
    RequestorPreference {
        sender: sender.into(),
        preferred: vec![],
        blocked: vec![],
        join_mode: Some(mode),
    }
}

#[tokio::test]
async fn a_requestors_own_mode_overrides_the_global_one_and_says_so() {
    let app = spawn_app_with(|c| {
        c.zoom.join_mode = JoinMode::SameAccount;
        c.zoom.join_fallback = JoinMode::SameAccount;
        // Another sender's rule changes nothing for dr.ruiz@clinic.example.
        c.requestors
            .preferences
            .push(requestor_mode("other.example", JoinMode::Zak));
        c.requestors
            .preferences
            .push(requestor_mode("clinic.example", JoinMode::Link));
    })
    .await;
    let (request_id, html) = accept_and_open(&app).await;
    assert!(
        html.contains("When Zoom asks for your name, type exactly"),
        "the requestor's link mode, not the global SDK join: {html}"
    );
    assert!(!html.contains("id=\"zoom-join\""));
    let (mode, note) = recorded(&app, request_id).await;
    assert_eq!(mode.as_deref(), Some("link"));
    let note = note.expect("a requestor's own mode says where it was set");
    assert_eq!(
        note,
        "join_mode link (set for this requestor by [[requestors.preference]] sender clinic.example)"
    );
    assert_eq!(
        dragoman::zoom::join_mode::explain_line(mode.as_deref(), Some(&note)),
        format!("join mode: link ({note})")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_requestors_obf_falls_back_as_configured_when_they_have_not_connected() {
    let app = spawn_app_with(|c| {
        c.zoom.join_mode = JoinMode::SameAccount;
        c.zoom.join_fallback = JoinMode::Link;
        c.requestors
            .preferences
            .push(requestor_mode("dr.ruiz@clinic.example", JoinMode::Obf));
    })
    .await;
    let (request_id, html) = accept_and_open(&app).await;
    assert!(!html.contains("id=\"zoom-join\""), "fell back to the link");
    assert!(html.contains(MEETING_ID));
    let (mode, note) = recorded(&app, request_id).await;
    assert_eq!(mode.as_deref(), Some("link"));
    assert_eq!(
        note.as_deref(),
        Some("join_mode obf (set for this requestor by [[requestors.preference]] sender dr.ruiz@clinic.example) needs a connected Zoom user and the requestor has not connected a Zoom user: fell back to link")
    );
    app.stop().await;
}
