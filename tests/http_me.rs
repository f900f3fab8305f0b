//! The interpreter's own page over real HTTP, on SQLite and PostgreSQL, as an interpreter's
//! browser uses it from an offer: the offer page links it; GET shows name and presence and
//! changes nothing; POST goes online for N hours or offline and answers 303 back to the page;
//! a form that is not one of the buttons changes nothing; the page still opens after a decline;
//! an unknown or too old token gets the 404 page and changes nothing.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, Utc};
use dragoman::outbox::templates::local_time;
use reqwest::StatusCode;
use support::*;

async fn stored_presence(app: &TestApp, id: i64) -> Option<DateTime<Utc>> {
    app.store
        .find_interpreter(&id.to_string())
        .await
        .expect("store answers")
        .expect("interpreter exists")
        .presence_until
}

async fn get_page(app: &TestApp, token: &str) -> (StatusCode, String) {
    let res = app
        .client
        .get(app.url(&format!("/offer/{token}/me")))
        .send()
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::OK {
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        assert!(res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self'"));
    }
    (status, res.text().await.unwrap())
}

async fn post_form(app: &TestApp, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/offer/{token}/me")))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn own_page_story(app: &TestApp) {
    let ids = seed_interpreters(app, 2).await;
    let (_, tokens) = seed_request(app, "Intake call").await;
    let (ana, other) = (ids[0], ids[1]);
    let token = &tokens[&ana];
    let tz = "America/New_York";

    // The offer page links the own page.
    let offer = app
        .client
        .get(app.url(&format!("/offer/{token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        offer.contains(&format!("href=\"/offer/{token}/me\"")),
        "{offer}"
    );

    // GET: name, presence in their zone, the forms; nothing changes (scanners open links).
    let before = stored_presence(app, ana).await.expect("seeded online");
    let (status, page) = get_page(app, token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ana0 María Ruiz"), "{page}");
    assert!(
        page.contains(&format!("You are online until {}", local_time(before, tz))),
        "{page}"
    );
    assert!(page.contains(&format!(
        "<form method=\"post\" action=\"/offer/{token}/me\">"
    )));
    assert!(page.contains("name=\"hours\" value=\"2\""));
    assert!(page.contains("value=\"offline\""));
    let (status, _) = get_page(app, token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored_presence(app, ana).await,
        Some(before),
        "GET changed nothing"
    );

    // POST offline: 303 back to the page, the store says offline, the page too.
    let res = post_form(app, token, &[("presence", "offline")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/offer/{token}/me").as_str()
    );
    assert_eq!(stored_presence(app, ana).await, None);
    let (_, page) = get_page(app, token).await;
    assert!(page.contains("You are offline."), "{page}");

    // POST online for 2 hours, an hour later: until then + 2 h.
    app.advance(Duration::minutes(30));
    let now = app.now();
    let res = post_form(app, token, &[("presence", "online"), ("hours", "2")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let until = now + Duration::hours(2);
    assert_eq!(stored_presence(app, ana).await, Some(until));
    let (_, page) = get_page(app, token).await;
    assert!(
        page.contains(&format!("You are online until {}", local_time(until, tz))),
        "{page}"
    );
    // Only this interpreter changed.
    assert!(stored_presence(app, other).await.is_some());

    // A form that is not one of the buttons: 400, nothing changes.
    for form in [
        vec![("presence", "online"), ("hours", "3")],
        vec![("presence", "online")],
        vec![("presence", "sleeping")],
        vec![],
    ] {
        let res = post_form(app, token, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{form:?}");
        assert!(res.text().await.unwrap().contains("Nothing was changed"));
    }
    assert_eq!(stored_presence(app, ana).await, Some(until));

    // The page still opens after declining the offer.
    let res = app
        .client
        .post(app.url(&format!("/offer/{token}/decline")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _) = get_page(app, token).await;
    assert_eq!(status, StatusCode::OK);

    // Unknown tokens: the 404 page, for GET and POST.
    for bad in ["A".repeat(32), "short".to_string()] {
        let (status, page) = get_page(app, &bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(page.contains("no longer opens your page"), "{page}");
        let res = post_form(app, &bad, &[("presence", "offline")]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    // A week after the offer expired ([api] own_page_hours = 168) the token no longer works.
    let other_token = &tokens[&other];
    let view = app.offers.view(other_token).await.unwrap().unwrap();
    let valid_until = view.expires_at + Duration::hours(168);
    app.advance(valid_until - app.now() - Duration::seconds(1));
    let (status, _) = get_page(app, other_token).await;
    assert_eq!(status, StatusCode::OK, "still valid a second before");
    app.advance(Duration::seconds(1));
    let (status, page) = get_page(app, other_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("newest offer email"), "{page}");
    let other_before = stored_presence(app, other).await;
    let res = post_form(app, other_token, &[("presence", "offline")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        stored_presence(app, other).await,
        other_before,
        "an expired token changes nothing"
    );
}

#[tokio::test]
async fn own_page_on_sqlite() {
    let app = spawn_app(false).await;
    own_page_story(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn own_page_on_postgres() {
    let (app, url) = spawn_app_postgres().await;
    own_page_story(&app).await;
    app.stop().await;
    common::drop_postgres(&url).await;
}

#[tokio::test]
async fn own_page_escapes_the_name() {
    let app = spawn_app(false).await;
    let new = dragoman::domain::NewInterpreter {
        name: "<script>alert(1)</script> Eve".into(),
        email: dragoman::domain::EmailAddress::parse("eve@interpreters.test").unwrap(),
        pairs: vec![dragoman::domain::LanguagePair::parse("es:en").unwrap()],
        timezone: "Europe/Madrid".into(),
    };
    let eve = app.store.add_interpreter(&new, app.now()).await.unwrap();
    app.store
        .set_presence(eve.id, Some(app.now() + Duration::hours(1)))
        .await
        .unwrap();
    let (_, tokens) = seed_request(&app, "Escaping").await;
    let (status, page) = get_page(&app, &tokens[&eve.id]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Eve"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("(Europe/Madrid)"));
    app.stop().await;
}
