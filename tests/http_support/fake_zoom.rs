//! A fake Zoom cloud on loopback for tests (issue #7): the OAuth authorize page (auto-consent
//! as the user a test chose), the token endpoint (authorization code and refresh grants with
//! HTTP Basic client auth; refresh tokens rotate and a used one is dead), `GET /v2/users/me`,
//! `GET /v2/users/me/zak`, `GET /v2/users/me/token?type=zak|onbehalf`, and the paged
//! participant report. Bodies follow Zoom's documented shapes, errors included
//! (`{"reason":"Invalid Token!","error":"invalid_grant"}`, `{"code":124,"message":"Invalid
//! access token."}`).
//!
//! Records every call (path and grant, never a token) for tests to assert on. Never sleeps.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "fakeClientId123";
pub const CLIENT_SECRET: &str = "fakeClientSecret456";

#[derive(Default)]
struct Fake {
    /// Who consents on `/oauth/authorize` next: (Zoom user id, email).
    consenting: Option<(String, String)>,
    codes: HashMap<String, (String, String)>,
    /// access token → user id.
    access: HashMap<String, String>,
    /// live refresh token → user id (a used one is removed: they rotate).
    refresh: HashMap<String, String>,
    users: HashMap<String, String>,
    /// Report participants per meeting path segment (uuid or number, as Zoom gets it).
    reports: HashMap<String, Vec<Value>>,
    page_size: usize,
    /// `/users/me/zak` and `token` answer 5xx while set.
    tokens_down: bool,
    calls: Vec<String>,
    counter: u64,
}

/// The running fake: its base URL and what it saw.
#[derive(Clone)]
pub struct FakeZoom {
    pub base: String,
    inner: Arc<Mutex<Fake>>,
}

impl FakeZoom {
    pub async fn start() -> FakeZoom {
        let inner = Arc::new(Mutex::new(Fake {
            page_size: 300,
            ..Fake::default()
        }));
        let app = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/v2/users/me", get(me))
            .route("/v2/users/me/zak", get(zak))
            .route("/v2/users/me/token", get(user_token))
            .route("/v2/report/meetings/{meeting}/participants", get(report))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Zoom");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Zoom serves");
        });
        FakeZoom { base, inner }
    }

    /// The Zoom user who will consent on the next authorize.
    pub fn consent_as(&self, user_id: &str, email: &str) {
        let mut f = self.inner.lock().unwrap();
        f.users.insert(user_id.into(), email.into());
        f.consenting = Some((user_id.into(), email.into()));
    }

    /// The calls seen so far (`POST /oauth/token grant_type=refresh_token`, `GET /v2/users/me/zak`, …).
    pub fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| c.as_str() == call).count()
    }

    /// Zoom forgets every refresh token of the user (as after the user removes the app).
    pub fn revoke_refresh_tokens(&self, user_id: &str) {
        self.inner
            .lock()
            .unwrap()
            .refresh
            .retain(|_, u| u != user_id);
    }

    pub fn set_report(&self, meeting_segment: &str, participants: Vec<Value>, page_size: usize) {
        let mut f = self.inner.lock().unwrap();
        f.reports.insert(meeting_segment.into(), participants);
        f.page_size = page_size;
    }

    pub fn set_tokens_down(&self, down: bool) {
        self.inner.lock().unwrap().tokens_down = down;
    }
}

type Shared = State<Arc<Mutex<Fake>>>;

fn next(f: &mut Fake, prefix: &str) -> String {
    f.counter += 1;
    format!("{prefix}{}x{:016x}", f.counter, rand::random::<u64>())
}

async fn authorize(State(s): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push("GET /oauth/authorize".into());
    if q.get("response_type").map(String::as_str) != Some("code")
        || q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let (Some(redirect), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "missing redirect_uri or state").into_response();
    };
    let Some(user) = f.consenting.clone() else {
        return (StatusCode::BAD_REQUEST, "no consenting user set").into_response();
    };
    let code = next(&mut f, "code");
    f.codes.insert(code.clone(), (user.0, redirect.clone()));
    let mut to = reqwest::Url::parse(redirect).expect("redirect_uri is a URL");
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn invalid_grant() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"reason": "Invalid Token!", "error": "invalid_grant"})),
    )
        .into_response()
}

fn issue(f: &mut Fake, user: &str) -> Value {
    let access = next(f, "eyJhbGciOiJIUzUxMiJ9.access");
    let refresh = next(f, "eyJhbGciOiJIUzUxMiJ9.refresh");
    f.access.insert(access.clone(), user.into());
    f.refresh.insert(refresh.clone(), user.into());
    json!({"access_token": access, "token_type": "bearer", "refresh_token": refresh,
           "expires_in": 3599, "scope": "user:read:user user:read:zak user:read:token report:read:list_meeting_participants:admin"})
}

async fn token(
    State(s): Shared,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut f = s.lock().unwrap();
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    f.calls
        .push(format!("POST /oauth/token grant_type={grant}"));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
            ),
        )
            .into_response();
    }
    match grant.as_str() {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some((user, redirect)) = f.codes.remove(&code) else {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(
                        json!({"reason": "Invalid authorization code", "error": "invalid_request"}),
                    ),
                )
                    .into_response();
            };
            if form.get("redirect_uri") != Some(&redirect) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"reason": "Invalid redirect uri", "error": "invalid_request"})),
                )
                    .into_response();
            }
            Json(issue(&mut f, &user)).into_response()
        }
        "refresh_token" => {
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            match f.refresh.remove(&rt) {
                Some(user) => Json(issue(&mut f, &user)).into_response(),
                None => invalid_grant(),
            }
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"reason": "Unsupported grant type", "error": "unsupported_grant_type"})),
        )
            .into_response(),
    }
}

fn bearer_user(f: &Fake, headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| f.access.get(t).cloned())
}

fn invalid_access_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 124, "message": "Invalid access token."})),
    )
        .into_response()
}

async fn me(State(s): Shared, headers: HeaderMap) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push("GET /v2/users/me".into());
    let Some(user) = bearer_user(&f, &headers) else {
        return invalid_access_token();
    };
    let email = f.users.get(&user).cloned().unwrap_or_default();
    Json(json!({"id": user, "first_name": "Jill", "last_name": "Chill", "display_name": "Jill Chill",
                "email": email, "type": 1, "pmi": 3542471135u64, "timezone": "Asia/Shanghai",
                "verified": 1, "dept": "", "created_at": "2019-06-01T07:58:03Z",
                "last_login_time": "2019-06-01T07:58:03Z", "pic_url": "https://example.com/photo.jpg",
                "language": "en-US", "status": "active", "role_id": "0", "account_id": "q6gBJVO5TzexKYTb_I2rpg"}))
    .into_response()
}

fn token_answer(f: &mut Fake, headers: &HeaderMap, kind: &str) -> Response {
    let Some(user) = bearer_user(f, headers) else {
        return invalid_access_token();
    };
    if f.tokens_down {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let t = next(f, &format!("{kind}-{user}-"));
    Json(json!({"token": t})).into_response()
}

async fn zak(State(s): Shared, headers: HeaderMap) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push("GET /v2/users/me/zak".into());
    token_answer(&mut f, &headers, "zak")
}

async fn user_token(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut f = s.lock().unwrap();
    let kind = q.get("type").cloned().unwrap_or_else(|| "token".into());
    let meeting = q.get("meeting_id").cloned().unwrap_or_default();
    f.calls.push(format!(
        "GET /v2/users/me/token?type={kind}&meeting_id={meeting}"
    ));
    match kind.as_str() {
        "zak" => token_answer(&mut f, &headers, "zak"),
        "onbehalf" if !meeting.is_empty() => token_answer(&mut f, &headers, "obf"),
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 300, "message": "Invalid type or missing meeting_id"})),
        )
            .into_response(),
    }
}

async fn report(
    State(s): Shared,
    Path(meeting): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut f = s.lock().unwrap();
    f.calls
        .push("GET /v2/report/meetings/{meetingId}/participants".into());
    if bearer_user(&f, &headers).is_none() {
        return invalid_access_token();
    }
    // axum decoded the segment once: a double-encoded UUID arrives encoded once.
    let Some(all) = f.reports.get(&meeting).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"code": 3001, "message": "Meeting does not exist: 0."})),
        )
            .into_response();
    };
    let size = q
        .get("page_size")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .min(f.page_size)
        .max(1);
    let from: usize = q
        .get("next_page_token")
        .and_then(|t| t.strip_prefix("page-from-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(from).take(size).cloned().collect();
    let next = if from + size < all.len() {
        format!("page-from-{}", from + size)
    } else {
        String::new()
    };
    Json(
        json!({"page_count": all.len().div_ceil(size), "page_size": size,
                "total_records": all.len(), "next_page_token": next, "participants": page}),
    )
    .into_response()
}
