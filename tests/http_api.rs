//! The presence API under `/api/v1` over real HTTP, as a scheduling tool drives it, on SQLite
//! and PostgreSQL: no token / wrong token / right token, online until now + ttl (the store
//! agrees), the default lease, offline, unknown interpreters, bad bodies; with no token
//! configured the API refuses everything; the API is rate-limited per client.

#[path = "http_support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, Utc};
use dragoman::config::{Config, Secret};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

const TOKEN: &str = "test-api-token-0123456789abcdef";
const OTHER_TOKEN: &str = "another-token-0123456789abcdef";

fn with_tokens(c: &mut Config) {
    c.api.tokens = vec![Secret::new(OTHER_TOKEN), Secret::new(TOKEN)];
}

fn presence(app: &TestApp, id: &str) -> String {
    app.url(&format!("/api/v1/interpreters/{id}/presence"))
}

async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "every API answer is JSON"
    );
    res.json().await.expect("a JSON body")
}

fn rfc3339(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("an RFC 3339 string"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn stored_presence(app: &TestApp, id: i64) -> Option<DateTime<Utc>> {
    app.store
        .find_interpreter(&id.to_string())
        .await
        .expect("store answers")
        .expect("interpreter exists")
        .presence_until
}

/// The whole story against one app (both backends run it).
async fn presence_story(app: &TestApp) {
    let id = seed_interpreters(app, 1).await[0];
    app.store.set_presence(id, None).await.expect("offline");
    let online_4h = json!({"online": true, "ttl_seconds": 14400});

    // No token: 401 with the Bearer challenge, and nothing changes.
    let res = app
        .client
        .put(presence(app, &id.to_string()))
        .json(&online_4h)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"dragoman\""
    );
    let body = json_of(res).await;
    assert_eq!(body["error"], "unauthorized");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert_eq!(stored_presence(app, id).await, None);

    // A wrong token, or the right one under another scheme: 401, the token never echoed.
    for auth in [
        "Bearer wrong-token-0123456789abcdefgh".to_string(),
        format!("Bearer {TOKEN}x"),
        format!("Basic {TOKEN}"),
    ] {
        let res = app
            .client
            .put(presence(app, &id.to_string()))
            .header("authorization", &auth)
            .json(&online_4h)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("wrong-token") && !text.contains(TOKEN),
            "{text}"
        );
    }
    assert_eq!(
        stored_presence(app, id).await,
        None,
        "refused requests change nothing"
    );

    // The right token: online until now + ttl, in the answer and in the store.
    let now = app.now();
    let res = app
        .client
        .put(presence(app, &id.to_string()))
        .bearer_auth(TOKEN)
        .json(&online_4h)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res).await;
    assert_eq!(body["id"], id);
    assert_eq!(body["online"], true);
    let until = now + Duration::seconds(14400);
    assert_eq!(rfc3339(&body["presence_until"]), until);
    assert_eq!(stored_presence(app, id).await, Some(until));

    // GET: presence and pairs; the interpreter can be named by email (any case) too.
    let res = app
        .client
        .get(app.url("/api/v1/interpreters/ANA0@interpreters.test"))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(body["id"], id);
    assert_eq!(body["pairs"], json!(["es:en"]));
    assert_eq!(body["online"], true);
    assert_eq!(rfc3339(&body["presence_until"]), until);
    assert_eq!(body["timezone"], "America/New_York");

    // Once the lease has run out, GET says offline.
    app.advance(Duration::seconds(14400));
    let body = json_of(
        app.client
            .get(app.url(&format!("/api/v1/interpreters/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["online"], false);
    assert_eq!(body["presence_until"], Value::Null);

    // No ttl: the default lease ([matching] presence_hours, 4 h), by email this time.
    let now = app.now();
    let body = json_of(
        app.client
            .put(presence(app, "ana0@interpreters.test"))
            .bearer_auth(TOKEN)
            .json(&json!({"online": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rfc3339(&body["presence_until"]), now + Duration::hours(4));
    assert_eq!(
        stored_presence(app, id).await,
        Some(now + Duration::hours(4))
    );

    // Offline.
    let res = app
        .client
        .put(presence(app, &id.to_string()))
        .bearer_auth(TOKEN)
        .json(&json!({"online": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(body["online"], false);
    assert_eq!(body["presence_until"], Value::Null);
    assert_eq!(stored_presence(app, id).await, None);

    // Unknown interpreters: 404 for reading and writing.
    for who in [
        "999999",
        "nobody@interpreters.test",
        "99999999999999999999999",
    ] {
        let res = app
            .client
            .put(presence(app, who))
            .bearer_auth(TOKEN)
            .json(&online_4h)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who}");
        assert_eq!(json_of(res).await["error"], "unknown_interpreter");
        let res = app
            .client
            .get(app.url(&format!("/api/v1/interpreters/{who}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who}");
    }

    // Bad bodies: 400 for what is not JSON, 422 for JSON of the wrong shape, each saying why.
    let cases: [(&str, StatusCode, &str, &str); 6] = [
        (
            "{\"online\": tr",
            StatusCode::BAD_REQUEST,
            "bad_json",
            "not valid JSON",
        ),
        ("", StatusCode::BAD_REQUEST, "bad_json", "empty"),
        (
            "{\"ttl_seconds\": 600}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "missing field `online`",
        ),
        (
            "{\"online\": \"yes\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "invalid type",
        ),
        (
            "{\"online\": true, \"ttl_seconds\": 30}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_ttl",
            "between 60",
        ),
        (
            "{\"online\": true, \"ttl_seconds\": 604801}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_ttl",
            "seven days",
        ),
    ];
    for (body, status, code, says) in cases {
        let res = app
            .client
            .put(presence(app, &id.to_string()))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{body}");
        let answer = json_of(res).await;
        assert_eq!(answer["error"], code, "{body}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let res = app
        .client
        .put(presence(app, &id.to_string()))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(online_4h.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = app
        .client
        .put(presence(app, &id.to_string()))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"online\": true, \"pad\": \"{}\"}}",
            "x".repeat(8 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(res).await["error"], "body_too_large");
    assert_eq!(
        stored_presence(app, id).await,
        None,
        "bad bodies change nothing"
    );

    // Other paths and methods answer JSON too; unknown paths only after authentication.
    let res = app
        .client
        .get(app.url("/api/v1/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .get(app.url("/api/v1/requests"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(res).await["error"], "no_such_endpoint");
    let res = app
        .client
        .post(presence(app, &id.to_string()))
        .bearer_auth(TOKEN)
        .json(&online_4h)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json_of(res).await["error"], "method_not_allowed");
}

#[tokio::test]
async fn presence_api_on_sqlite() {
    let app = spawn_app_with(with_tokens).await;
    presence_story(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn presence_api_on_postgres() {
    let (app, url) = spawn_app_postgres_with(with_tokens).await;
    presence_story(&app).await;
    app.stop().await;
    common::drop_postgres(&url).await;
}

#[tokio::test]
async fn without_tokens_the_api_refuses_everything_and_says_how_to_enable_it() {
    let app = spawn_app_with(|c| c.api.tokens.clear()).await;
    let id = seed_interpreters(&app, 1).await[0];
    let before = app
        .store
        .find_interpreter(&id.to_string())
        .await
        .unwrap()
        .unwrap()
        .presence_until;
    for auth in [None, Some(TOKEN)] {
        let mut put = app
            .client
            .put(presence(&app, &id.to_string()))
            .json(&json!({"online": false}));
        if let Some(t) = auth {
            put = put.bearer_auth(t);
        }
        let res = put.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body = json_of(res).await;
        assert_eq!(body["error"], "api_disabled");
        assert!(body["message"].as_str().unwrap().contains("[api] tokens"));
    }
    let res = app
        .client
        .get(app.url(&format!("/api/v1/interpreters/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let after = app
        .store
        .find_interpreter(&id.to_string())
        .await
        .unwrap()
        .unwrap()
        .presence_until;
    assert_eq!(before, after, "a disabled API changes nothing");
    app.stop().await;
}

#[tokio::test]
async fn api_clients_are_rate_limited_by_address() {
    let app = spawn_app_with(with_tokens).await;
    // Through a local proxy that names the client (loopback without it is not limited).
    let mut limited = None;
    for n in 0..200 {
        let res = app
            .client
            .get(app.url("/api/v1/interpreters/1"))
            .bearer_auth(TOKEN)
            .header("x-forwarded-for", "192.0.2.10")
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
            assert_eq!(json_of(res).await["error"], "rate_limited");
            limited = Some(n);
            break;
        }
    }
    let n = limited.expect("the client was limited");
    assert!(n >= 120, "the burst is allowed (limited after {n})");
    // Another client is not affected.
    let res = app
        .client
        .get(app.url("/api/v1/interpreters/1"))
        .bearer_auth(TOKEN)
        .header("x-forwarded-for", "192.0.2.11")
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}
