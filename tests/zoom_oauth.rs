//! Connecting Zoom users (issue #7) against a fake Zoom cloud: the whole authorization-code
//! flow through the real server (connect link → start page → POST → Zoom → callback), tokens
//! sealed at rest, the state single-use, expiring and bound to the browser, refresh before
//! expiry with rotated refresh tokens, a dead refresh token forgetting the connection, and
//! `app.deauthorized` deleting the tokens. On SQLite and PostgreSQL. Never sleeps.

#[path = "http_support/fake_zoom.rs"]
mod fake_zoom;
#[path = "http_support/mod.rs"]
mod support;

use chrono::Duration;
use dragoman::config::{Config, Secret, ZoomOAuthConfig};
use dragoman::store::ZoomPerson;
use dragoman::zoom::connect::ZoomOAuth;
use dragoman::zoom::oauth::{issue_connect_link, TokenKey};
use fake_zoom::{FakeZoom, CLIENT_ID, CLIENT_SECRET};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use support::*;

const ZOOM_USER: &str = "KDcuGIm1QgePTO8WbOqwIQ";

fn key() -> TokenKey {
    TokenKey::from_file_bytes(&[42u8; 32]).expect("32-byte key")
}

fn oauth_config(fake: &FakeZoom) -> ZoomOAuthConfig {
    ZoomOAuthConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        token_key: key(),
        oauth_base: fake.base.clone(),
        api_base: fake.base.clone(),
    }
}

fn with_oauth(fake: &FakeZoom) -> impl FnOnce(&mut Config) {
    let cfg = oauth_config(fake);
    move |c: &mut Config| c.zoom.oauth = Some(cfg)
}

fn oauth(app: &TestApp, fake: &FakeZoom) -> ZoomOAuth {
    ZoomOAuth::new(&oauth_config(fake), &app.base)
}

/// Walks the browser through the flow; returns the callback URL and the cookie it carried.
async fn connect(
    app: &TestApp,
    fake: &FakeZoom,
    person: &ZoomPerson,
    zoom_user: &str,
) -> (String, String) {
    let (callback, cookie) = authorize(app, fake, person, zoom_user).await;
    let res = app
        .client
        .get(&callback)
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("callback");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("Zoom account connected"));
    (callback, cookie)
}

/// Start page, POST, Zoom's authorize page: returns the callback URL Zoom redirects to and
/// the cookie set at the start.
async fn authorize(
    app: &TestApp,
    fake: &FakeZoom,
    person: &ZoomPerson,
    zoom_user: &str,
) -> (String, String) {
    fake.consent_as(zoom_user, "jchill@example.com");
    let link = issue_connect_link(&key(), person, app.now());
    let page = app
        .client
        .get(app.url("/oauth/zoom/start"))
        .query(&[("link", &link)])
        .send()
        .await
        .expect("start page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .expect("html")
        .contains("Continue to Zoom"));
    let res = app
        .client
        .post(app.url("/oauth/zoom/start"))
        .form(&[("link", &link)])
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_zoom = res.headers()[LOCATION].to_str().expect("ascii").to_string();
    assert!(
        to_zoom.starts_with(&format!(
            "{}/oauth/authorize?response_type=code&client_id={CLIENT_ID}",
            fake.base
        )),
        "{to_zoom}"
    );
    let cookie = res.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let res = app.client.get(&to_zoom).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::FOUND);
    let callback = res.headers()[LOCATION].to_str().expect("ascii").to_string();
    assert!(callback.starts_with(&app.url("/oauth/zoom/callback?code=")));
    (callback, cookie)
}

async fn connect_refresh_and_deauthorize(app: &TestApp, fake: &FakeZoom) {
    let person = ZoomPerson::Interpreter(seed_interpreters(app, 1).await[0]);
    let (callback, cookie) = connect(app, fake, &person, ZOOM_USER).await;

    let stored = app
        .store
        .zoom_connection(&person)
        .await
        .expect("read")
        .expect("connected");
    assert_eq!(stored.zoom_user_id, ZOOM_USER);
    assert!(
        !stored.tokens.access.contains("eyJ") && !stored.tokens.refresh.contains("eyJ"),
        "tokens are sealed at rest"
    );
    assert_eq!(
        stored.tokens.expires_at,
        app.now() + Duration::seconds(3599)
    );

    // The state is single-use: the same callback again connects nothing.
    let again = app
        .client
        .get(&callback)
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("replayed callback");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        fake.count("POST /oauth/token grant_type=authorization_code"),
        1
    );

    // A valid access token without refreshing, then a refresh 5 minutes before expiry.
    let z = oauth(app, fake);
    let store = app.store.as_ref();
    let first = z
        .access_token(store, &person, app.now())
        .await
        .expect("token");
    assert!(first.expect("connected").expose().starts_with("eyJ"));
    assert_eq!(fake.count("POST /oauth/token grant_type=refresh_token"), 0);
    app.advance(Duration::minutes(55));
    let refreshed = z
        .access_token(store, &person, app.now())
        .await
        .expect("refresh")
        .expect("still connected");
    assert_eq!(fake.count("POST /oauth/token grant_type=refresh_token"), 1);
    let rotated = app
        .store
        .zoom_connection(&person)
        .await
        .expect("read")
        .expect("connected");
    assert_eq!(rotated.version, stored.version + 1);
    assert_ne!(
        rotated.tokens.refresh, stored.tokens.refresh,
        "the new refresh token is stored"
    );
    assert_eq!(
        rotated.tokens.expires_at,
        app.now() + Duration::seconds(3599)
    );
    // The new one is used until it is due again; the rotated refresh token works next time.
    let same = z
        .access_token(store, &person, app.now())
        .await
        .expect("token")
        .expect("c");
    assert_eq!(same.expose(), refreshed.expose());
    app.advance(Duration::minutes(56));
    z.access_token(store, &person, app.now())
        .await
        .expect("second refresh")
        .expect("c");
    assert_eq!(fake.count("POST /oauth/token grant_type=refresh_token"), 2);

    // The user removes the app: Zoom's signed app.deauthorized deletes the tokens.
    let body = json!({"event": "app.deauthorized", "event_ts": app.now().timestamp_millis(),
        "payload": {"account_id": "EabCDEFghiLHMA", "user_id": ZOOM_USER,
            "signature": "827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000",
            "deauthorization_time": "2019-06-17T13:52:28.632Z", "client_id": CLIENT_ID}})
    .to_string();
    // Processing runs after the 200: wait for it (on the worker, no sleeping).
    assert_eq!(
        app.post_webhook_processed(&body, None).await,
        StatusCode::OK
    );
    assert_eq!(
        app.store.zoom_connection(&person).await.expect("read"),
        None
    );
    assert!(z
        .access_token(store, &person, app.now())
        .await
        .expect("ok")
        .is_none());
}

#[tokio::test]
async fn connect_refresh_rotate_and_deauthorize_on_sqlite() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    connect_refresh_and_deauthorize(&app, &fake).await;
    app.stop().await;
}

#[tokio::test]
async fn connect_refresh_rotate_and_deauthorize_on_postgres() {
    let fake = FakeZoom::start().await;
    let (app, url) = spawn_app_postgres_with(with_oauth(&fake)).await;
    connect_refresh_and_deauthorize(&app, &fake).await;
    let store = app.store.clone();
    app.stop().await;
    drop(store);
    support::common::drop_postgres(&url).await;
}

#[tokio::test]
async fn the_callback_needs_the_same_browser_and_a_fresh_state() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    let person = ZoomPerson::Interpreter(seed_interpreters(&app, 1).await[0]);

    // Another browser (no cookie) cannot finish someone's authorization.
    let (callback, _cookie) = authorize(&app, &fake, &person, ZOOM_USER).await;
    let res = app.client.get(&callback).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A state older than 10 minutes is gone.
    let (callback, cookie) = authorize(&app, &fake, &person, ZOOM_USER).await;
    app.advance(Duration::minutes(11));
    let res = app
        .client
        .get(&callback)
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.store.zoom_connection(&person).await.expect("read"),
        None
    );
    assert_eq!(
        fake.count("POST /oauth/token grant_type=authorization_code"),
        0
    );

    // The person said no at Zoom.
    let res = app
        .client
        .get(app.url("/oauth/zoom/callback?error=access_denied&state=x"))
        .send()
        .await
        .expect("denied");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("html").contains("Not connected"));

    // A forged or tampered link does not even show the start page.
    let link = issue_connect_link(
        &TokenKey::from_file_bytes(&[1u8; 32]).unwrap(),
        &person,
        app.now(),
    );
    let res = app
        .client
        .get(app.url("/oauth/zoom/start"))
        .query(&[("link", &link)])
        .send()
        .await
        .expect("start page");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .client
        .post(app.url("/oauth/zoom/start"))
        .form(&[("link", &link)])
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_token_zoom_no_longer_accepts_forgets_the_connection() {
    let fake = FakeZoom::start().await;
    let app = spawn_app_with(with_oauth(&fake)).await;
    let person = ZoomPerson::Requestor(
        dragoman::domain::EmailAddress::parse("Dr.Ruiz@clinic.example").expect("email"),
    );
    connect(&app, &fake, &person, ZOOM_USER).await;
    fake.revoke_refresh_tokens(ZOOM_USER);
    app.advance(Duration::hours(1));
    let z = oauth(&app, &fake);
    let got = z
        .access_token(app.store.as_ref(), &person, app.now())
        .await
        .expect("a dead grant is not an error");
    assert!(got.is_none());
    assert_eq!(
        app.store.zoom_connection(&person).await.expect("read"),
        None
    );
    app.stop().await;
}
