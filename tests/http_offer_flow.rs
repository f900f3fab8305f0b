//! The offer story over real HTTP, as an interpreter's browser and Zoom drive it: offer page
//! (no change on GET), accept (303, again 303, another interpreter 409, garbage 410), the join
//! page's Zoom arguments, and signed webhooks (recorded once; forged or stale refused).

#[path = "http_support/mod.rs"]
mod support;

use chrono::Duration;
use dragoman::domain::{OfferState, RequestState};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app(false).await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    app.stop().await;
}

#[tokio::test]
async fn offer_accept_join_and_webhook_story() {
    let app = spawn_app(false).await;
    let ids = seed_interpreters(&app, 2).await;
    let (request_id, tokens) = seed_request(&app, "Intake <call> & follow-up").await;
    let (ana, other) = (ids[0], ids[1]);
    let token = &tokens[&ana];

    // GET the offer page: details and two POST forms, no Zoom link, no passcode, no change.
    let res = app
        .client
        .get(app.url(&format!("/offer/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(res.headers().contains_key("content-security-policy"));
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Intake &lt;call&gt; &amp; follow-up"),
        "topic escaped"
    );
    assert!(page.contains("Spanish"));
    assert!(page.contains(&format!(
        "<form method=\"post\" action=\"/offer/{token}/accept\">"
    )));
    assert!(page.contains(&format!(
        "<form method=\"post\" action=\"/offer/{token}/decline\">"
    )));
    assert!(
        !page.contains("zoom.us/j/"),
        "no join URL on the offer page"
    );
    assert!(!page.contains(PASSCODE), "no passcode on the offer page");
    let view = app.offers.view(token).await.unwrap().unwrap();
    assert_eq!(view.state, OfferState::Pending, "GET changed nothing");
    assert_eq!(view.request.state, RequestState::Offered);

    // Accept: 303 to the accepted page.
    let accept = |t: &str| {
        app.client
            .post(app.url(&format!("/offer/{t}/accept")))
            .send()
    };
    let res = accept(token).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/offer/{token}/accepted"));
    let accepted = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted = accepted.text().await.unwrap();
    let join_re = regex::Regex::new(&format!(
        r#"href="({}/join/[A-Za-z0-9]{{32}})""#,
        regex::escape(&app.base)
    ))
    .unwrap();
    let join_url = join_re
        .captures(&accepted)
        .expect("join link on the accepted page")[1]
        .to_string();

    // The winner again: 303, the same join link.
    let res = accept(token).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"].to_str().unwrap(), location);
    let again = app
        .client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(join_re.captures(&again).unwrap()[1], join_url);
    // The offer page now shows the join link too.
    let page = app
        .client
        .get(app.url(&format!("/offer/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(&join_url));

    // Another interpreter: 409 with the "taken" page; their accepted page is not theirs.
    let res = app
        .client
        .get(app.url(&format!("/offer/{}", tokens[&other])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let page = res.text().await.unwrap();
    assert!(page.contains("taken by another interpreter"));
    assert!(
        !page.contains("<form"),
        "no forms once the request is taken"
    );
    let res = accept(&tokens[&other]).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("taken by another interpreter"));
    let res = app
        .client
        .get(app.url(&format!("/offer/{}/accepted", tokens[&other])))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        res.status(),
        StatusCode::NOT_FOUND | StatusCode::GONE
    ));

    // Garbage and unknown tokens: 410.
    for t in [
        "garbage",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%3Cscript%3E",
    ] {
        assert_eq!(
            accept(t).await.unwrap().status(),
            StatusCode::GONE,
            "accept {t}"
        );
        let res = app
            .client
            .get(app.url(&format!("/offer/{t}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GONE, "offer page {t}");
        let res = app
            .client
            .get(app.url(&format!("/join/{t}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GONE, "join page {t}");
    }

    // The join page: SDK scripts, and the join arguments as JSON.
    let res = app.client.get(&join_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("https://source.zoom.us"), "{csp}");
    let html = res.text().await.unwrap();
    for script in [
        "react.min.js",
        "react-dom.min.js",
        "redux.min.js",
        "redux-thunk.min.js",
        "lodash.min.js",
    ] {
        assert!(
            html.contains(&format!("/lib/vendor/{script}\"")),
            "{script}"
        );
    }
    assert!(regex::Regex::new(r"zoom-meeting-[0-9.]+\.min\.js")
        .unwrap()
        .is_match(&html));
    assert!(html.contains("ZoomMtg.preLoadWasm()") && html.contains("ZoomMtg.prepareWebSDK()"));
    assert!(html.contains("ZoomMtg.init(") && html.contains("ZoomMtg.join("));
    let args = zoom_join_json(&html);
    assert_eq!(args["meetingNumber"], MEETING_ID);
    assert_eq!(args["passWord"], PASSCODE);
    assert_eq!(
        args["userName"],
        format!("Ana0 {ana} (Spanish Interpreter)")
    );
    let customer_key = args["customerKey"].as_str().unwrap().to_string();
    assert!((8..=35).contains(&customer_key.len()));
    assert!(customer_key.bytes().all(|b| b.is_ascii_alphanumeric()));
    let jwt = args["signature"].as_str().unwrap();
    let claims: Value = jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_secret(SDK_SECRET.as_bytes()),
        &Validation::new(Algorithm::HS256),
    )
    .expect("signature decodes with the SDK secret")
    .claims;
    assert_eq!(claims["mn"], MEETING_ID);
    assert_eq!(claims["appKey"], SDK_KEY);
    assert_eq!(claims["sdkKey"], SDK_KEY);
    assert_eq!(claims["role"], 0);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((1800..=172800).contains(&(exp - iat)));
    assert_eq!(claims["tokenExp"], claims["exp"]);

    // Zoom's webhook for that participant, signed: 200, recorded once even when retried.
    let now = app.now();
    let body = json!({
        "event": "meeting.participant_joined",
        "event_ts": now.timestamp_millis(),
        "payload": {"account_id": "acc", "object": {
            "id": MEETING_ID, "uuid": "mUuid/+==", "host_id": "h", "topic": "Intake", "type": 2,
            "duration": 60, "timezone": "America/New_York",
            "participant": {"user_id": "16778240", "user_name": args["userName"],
                "id": "", "participant_uuid": "pUuid1",
                "join_time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "email": "", "customer_key": customer_key}}}
    })
    .to_string();
    let post_webhook = |body: String, ts: i64, sig: String| {
        app.client
            .post(app.url("/zoom/webhook"))
            .header("content-type", "application/json")
            .header("x-zm-request-timestamp", ts.to_string())
            .header("x-zm-signature", sig)
            .body(body)
            .send()
    };
    let ts = now.timestamp();
    let res = post_webhook(body.clone(), ts, zoom_sign(ts, &body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_webhook(body.clone(), ts, zoom_sign(ts, &body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a retry is acknowledged");
    // Processing runs after the 200: wait for it (on the worker, no sleeping).
    app.webhooks_settled().await;
    let detail = app.store.request_detail(request_id).await.unwrap().unwrap();
    assert_eq!(detail.attendance.len(), 1, "{:?}", detail.attendance);
    assert_eq!(detail.attendance[0].interpreter, Some(ana));
    assert_eq!(detail.attendance[0].method.as_str(), "customer_key");

    // Forged signature, missing signature, stale timestamp: 401, nothing recorded.
    let forged = format!("v0={}", "ab".repeat(32));
    let res = post_webhook(body.clone(), ts, forged).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .post(app.url("/zoom/webhook"))
        .header("x-zm-request-timestamp", ts.to_string())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let stale = ts - 301;
    let res = post_webhook(body.clone(), stale, zoom_sign(stale, &body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("away from now"));
    // The same signed request replayed after the window: refused too.
    app.advance(Duration::seconds(301));
    let res = post_webhook(body.clone(), ts, zoom_sign(ts, &body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let detail = app.store.request_detail(request_id).await.unwrap().unwrap();
    assert_eq!(detail.attendance.len(), 1);

    // URL validation: the right encryptedToken (HMAC-SHA256 of the plain token, hex).
    let now = app.now();
    let ts = now.timestamp();
    let body = json!({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        "event_ts": now.timestamp_millis(), "event": "endpoint.url_validation"})
    .to_string();
    let res = post_webhook(body.clone(), ts, zoom_sign(ts, &body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(b"qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        answer["encryptedToken"],
        hex::encode(mac.finalize().into_bytes())
    );

    // Verified but unknown events and unparseable JSON: acknowledged with 200.
    for body in [
        json!({"event": "meeting.started", "event_ts": 1, "payload": {"object": {"id": "1"}}})
            .to_string(),
        "{not json".to_string(),
    ] {
        let res = post_webhook(body.clone(), ts, zoom_sign(ts, &body))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    app.stop().await;
}

#[tokio::test]
async fn decline_is_a_post_and_repeatable() {
    let app = spawn_app(false).await;
    let ids = seed_interpreters(&app, 1).await;
    let (_, tokens) = seed_request(&app, "Decline story").await;
    let token = &tokens[&ids[0]];
    let decline = || {
        app.client
            .post(app.url(&format!("/offer/{token}/decline")))
            .send()
    };
    let res = decline().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Declined, thank you"));
    assert_eq!(decline().await.unwrap().status(), StatusCode::OK);
    // A declined offer cannot be accepted any more.
    let res = app
        .client
        .post(app.url(&format!("/offer/{token}/accept")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let res = app
        .client
        .post(app.url("/offer/nonsense/decline"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    app.stop().await;
}

#[tokio::test]
async fn expired_offers_answer_410() {
    let app = spawn_app(false).await;
    let ids = seed_interpreters(&app, 1).await;
    let (_, tokens) = seed_request(&app, "Expiry story").await;
    let token = &tokens[&ids[0]];
    // Past the offer's expiry (the meeting starts in an hour).
    app.advance(Duration::hours(3));
    let res = app
        .client
        .get(app.url(&format!("/offer/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let res = app
        .client
        .post(app.url(&format!("/offer/{token}/accept")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    app.stop().await;
}

#[tokio::test]
async fn demo_mode_join_page_shows_what_it_would_pass() {
    let app = spawn_app(true).await;
    let ids = seed_interpreters(&app, 1).await;
    let (_, tokens) = seed_request(&app, "Demo story").await;
    let token = &tokens[&ids[0]];
    let res = app
        .client
        .post(app.url(&format!("/offer/{token}/accept")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let join_url = app
        .offers
        .accepted_join_url(token)
        .await
        .unwrap()
        .expect("join url");
    let res = app.client.get(&join_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("demo mode"));
    assert!(!html.contains("zoom-meeting-"), "demo mode loads no SDK");
    let args = zoom_join_json(&html);
    assert_eq!(args["signature"], "demo-mode-unsigned");
    assert_eq!(args["meetingNumber"], MEETING_ID);
    assert_eq!(args["passWord"], PASSCODE);
    assert_eq!(
        args["userName"],
        format!("Ana0 {} (Spanish Interpreter)", ids[0])
    );
    app.stop().await;
}

#[tokio::test]
async fn oversized_webhook_bodies_are_refused() {
    let app = spawn_app(false).await;
    let body = "x".repeat(1024 * 1024 + 1);
    let ts = app.now().timestamp();
    let res = app
        .client
        .post(app.url("/zoom/webhook"))
        .header("x-zm-request-timestamp", ts.to_string())
        .header("x-zm-signature", zoom_sign(ts, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    app.stop().await;
}
