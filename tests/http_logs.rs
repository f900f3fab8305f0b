//! The logs of a whole HTTP story name offers and requests but never the capability tokens,
//! join URLs, passcodes, signatures or secrets (STYLE.md: logs never contain them).

#[path = "http_support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::SecondsFormat;
use serde_json::json;
use support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the server runs on this thread, so the thread's default subscriber
// sees every event the handlers log.
#[tokio::test]
async fn logs_never_hold_tokens_urls_passcodes_or_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app(false).await;
    let ids = seed_interpreters(&app, 2).await;
    let (_, tokens) = seed_request(&app, "Log story").await;
    let token = &tokens[&ids[0]];
    let c = &app.client;
    c.get(app.url(&format!("/offer/{token}")))
        .send()
        .await
        .unwrap();
    c.post(app.url(&format!("/offer/{token}/accept")))
        .send()
        .await
        .unwrap();
    c.get(app.url(&format!("/offer/{token}/accepted")))
        .send()
        .await
        .unwrap();
    c.post(app.url(&format!("/offer/{}/accept", tokens[&ids[1]])))
        .send()
        .await
        .unwrap();
    c.post(app.url(&format!("/offer/{}/decline", tokens[&ids[1]])))
        .send()
        .await
        .unwrap();
    let join_url = app.offers.accepted_join_url(token).await.unwrap().unwrap();
    let html = c.get(&join_url).send().await.unwrap().text().await.unwrap();
    let args = zoom_join_json(&html);
    let signature = args["signature"].as_str().unwrap().to_string();
    let now = app.now();
    let body = json!({"event": "meeting.participant_joined", "event_ts": now.timestamp_millis(),
        "payload": {"account_id": "a", "object": {"id": MEETING_ID, "uuid": "u",
        "participant": {"participant_uuid": "p", "user_name": args["userName"],
        "join_time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "customer_key": args["customerKey"]}}}})
    .to_string();
    let ts = now.timestamp();
    for sig in [zoom_sign(ts, &body), format!("v0={}", "0".repeat(64))] {
        c.post(app.url("/zoom/webhook"))
            .header("x-zm-request-timestamp", ts.to_string())
            .header("x-zm-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
    }
    // Processing runs after the 200 on the intake's worker: its lines belong to the story.
    app.webhooks_settled().await;
    app.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("offer accepted"), "{logs}");
    assert!(logs.contains("offer_id="), "{logs}");
    assert!(logs.contains("Zoom event stored"), "{logs}");
    assert!(logs.contains("Zoom event processed"), "{logs}");
    assert!(logs.contains("Zoom webhook refused"), "{logs}");
    assert!(logs.contains("route=/offer/{token}/accept"), "{logs}");
    let join_token = join_url.rsplit('/').next().unwrap();
    for (what, secret) in [
        ("offer token", token.as_str()),
        ("other offer token", tokens[&ids[1]].as_str()),
        ("join token", join_token),
        ("passcode", PASSCODE),
        ("signature", signature.as_str()),
        ("SDK secret", SDK_SECRET),
        ("webhook secret", WEBHOOK_SECRET),
        ("Zoom join URL", "zoom.us/j/"),
        ("webhook body", "participant_uuid"),
    ] {
        assert!(!logs.contains(secret), "the logs hold the {what}:\n{logs}");
    }
}
