//! Join modes `zak` and `obf` with connected Zoom users (issue #7), against a fake Zoom: the
//! join page fetches the interpreter's ZAK (`GET /v2/users/me/zak`) or the requestor's
//! on-behalf-of token for the meeting (`GET /v2/users/me/token?type=onbehalf&meeting_id=…`)
//! at each view and passes it as `zak` / `obfToken`; without the connection, or when Zoom
//! does not give the token, the page falls back to `[zoom] join_fallback`.

#[path = "http_support/fake_zoom.rs"]
mod fake_zoom;
#[path = "http_support/mod.rs"]
mod support;

use dragoman::config::{Config, JoinMode, Secret, ZoomOAuthConfig};
use dragoman::domain::EmailAddress;
use dragoman::store::{SealedTokens, ZoomConnection, ZoomPerson};
use dragoman::zoom::oauth::{seal_context, TokenKey};
use fake_zoom::{FakeZoom, CLIENT_ID, CLIENT_SECRET};
use reqwest::StatusCode;
use support::*;

fn key() -> TokenKey {
    TokenKey::from_file_bytes(&[9u8; 32]).expect("32-byte key")
}

fn tweak(fake: &FakeZoom, mode: JoinMode) -> impl FnOnce(&mut Config) {
    let cfg = ZoomOAuthConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        token_key: key(),
        oauth_base: fake.base.clone(),
        api_base: fake.base.clone(),
    };
    move |c: &mut Config| {
        c.zoom.oauth = Some(cfg);
        c.zoom.join_mode = mode;
        c.zoom.join_fallback = JoinMode::Link;
    }
}

/// Connects `person` as `zoom_user` through the fake's token endpoint (the browser flow has
/// its own test in zoom_oauth.rs): consent, code exchange, sealed into the store.
async fn connect(app: &TestApp, fake: &FakeZoom, person: &ZoomPerson, zoom_user: &str) {
    fake.consent_as(zoom_user, "someone@example.com");
    // Ask the fake for a code the way Zoom's authorize page redirects with one.
    let res = app
        .client
        .get(format!("{}/oauth/authorize", fake.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &app.url("/oauth/zoom/callback")),
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
    let api = dragoman::zoom::api::ZoomApi::new(&ZoomOAuthConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        token_key: key(),
        oauth_base: fake.base.clone(),
        api_base: fake.base.clone(),
    });
    let t = api
        .exchange_code(&code, &app.url("/oauth/zoom/callback"))
        .await
        .expect("exchange");
    let now = app.now();
    let k = key();
    app.store
        .save_zoom_connection(
            &ZoomConnection {
                person: person.clone(),
                zoom_user_id: zoom_user.into(),
                zoom_email: None,
                tokens: SealedTokens {
                    access: k.seal(&t.access_token, &seal_context(person, "access")),
                    refresh: k.seal(&t.refresh_token, &seal_context(person, "refresh")),
                    expires_at: t.expires_at(now),
                    scope: t.scope.clone(),
                },
                version: 1,
                connected_at: now,
            },
            now,
        )
        .await
        .expect("save connection");
}

/// Accepts the first offer; returns the interpreter and the join page URL.
async fn accept(app: &TestApp) -> (i64, String) {
    let accepted = accept_first_offer(app, "Join tokens").await;
    (accepted.interpreter, accepted.join_url)
}

async fn page(app: &TestApp, url: &str) -> String {
    let res = app.client.get(url).send().await.expect("join page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("html")
}

#[tokio::test]
async fn zak_mode_passes_the_interpreters_zak_and_falls_back_when_zoom_gives_none() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(tweak(&fake, JoinMode::Zak)).await;
    let (interpreter, join_url) = accept(&app).await;

    // Not connected yet: the link fallback.
    let html = page(&app, &join_url).await;
    assert!(!html.contains("id=\"zoom-join\""), "link page expected");
    assert_eq!(fake.count("GET /v2/users/me/zak"), 0);

    connect(
        &app,
        &fake,
        &ZoomPerson::Interpreter(interpreter),
        "zIntUser1",
    )
    .await;
    let args = zoom_join_json(&page(&app, &join_url).await);
    let zak = args["zak"].as_str().expect("zak passed to ZoomMtg.join");
    assert!(zak.starts_with("zak-zIntUser1-"), "{zak}");
    assert!(
        args.get("obfToken").is_none(),
        "zak and obfToken are exclusive"
    );
    assert_eq!(args["meetingNumber"], MEETING_ID);
    assert_eq!(fake.count("GET /v2/users/me/zak"), 1);
    // A fresh one per view (they last two hours).
    let again = zoom_join_json(&page(&app, &join_url).await);
    assert_ne!(again["zak"], args["zak"]);

    // Zoom fails to give one: the page still works, by the link.
    fake.set_tokens_down(true);
    let html = page(&app, &join_url).await;
    assert!(!html.contains("id=\"zoom-join\""));
    assert!(html.contains(MEETING_ID));
    app.stop().await;
}

#[tokio::test]
async fn obf_mode_passes_the_requestors_token_for_this_meeting() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(tweak(&fake, JoinMode::Obf)).await;
    let (interpreter, join_url) = accept(&app).await;
    // The interpreter's own connection does not help obf.
    connect(
        &app,
        &fake,
        &ZoomPerson::Interpreter(interpreter),
        "zIntUser1",
    )
    .await;
    let html = page(&app, &join_url).await;
    assert!(!html.contains("id=\"zoom-join\""), "link page expected");

    let requestor = EmailAddress::parse("dr.ruiz@clinic.example").expect("email");
    connect(&app, &fake, &ZoomPerson::Requestor(requestor), "zHostUser").await;
    let args = zoom_join_json(&page(&app, &join_url).await);
    let obf = args["obfToken"]
        .as_str()
        .expect("obfToken passed to ZoomMtg.join");
    assert!(obf.starts_with("obf-zHostUser-"), "{obf}");
    assert!(args.get("zak").is_none());
    assert_eq!(
        fake.count(&format!(
            "GET /v2/users/me/token?type=onbehalf&meeting_id={MEETING_ID}"
        )),
        1
    );
    app.stop().await;
}

/// `[[requestors.preference]] join_mode = "zak"` for this requestor while `[zoom] join_mode`
/// is `same_account`: the interpreter's ZAK once they connected, the fallback before.
#[tokio::test]
async fn a_requestors_zak_mode_passes_the_interpreters_zak() {
    let fake = FakeZoom::start().await;
    let global = tweak(&fake, JoinMode::SameAccount);
    let app = spawn_app_with(move |c| {
        global(c);
        c.requestors
            .preferences
            .push(dragoman::config::RequestorPreference {
                sender: "clinic.example".into(),
                preferred: vec![],
                blocked: vec![],
                join_mode: Some(JoinMode::Zak),
            });
    })
    .await;
    let (interpreter, join_url) = accept(&app).await;
    let html = page(&app, &join_url).await;
    assert!(!html.contains("id=\"zoom-join\""), "link fallback expected");
    connect(
        &app,
        &fake,
        &ZoomPerson::Interpreter(interpreter),
        "zIntUser1",
    )
    .await;
    let args = zoom_join_json(&page(&app, &join_url).await);
    let zak = args["zak"].as_str().expect("zak passed to ZoomMtg.join");
    assert!(zak.starts_with("zak-zIntUser1-"), "{zak}");
    assert_eq!(fake.count("GET /v2/users/me/zak"), 1);
    app.stop().await;
}
