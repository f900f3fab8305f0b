//! The HTTP API under `/api/v1` (issue #5): interpreters' presence, for scheduling tools and
//! scripts. `GET /api/v1/interpreters/{id}` shows an interpreter's presence and pairs;
//! `PUT /api/v1/interpreters/{id}/presence` with `{"online": true, "ttl_seconds": 14400}` sets
//! it (`{id}`: the numeric id or the email). Every answer, errors included, is JSON, and every
//! error says what to do.
//!
//! Authentication: `Authorization: Bearer TOKEN`, TOKEN one of `[api] tokens`. The presented
//! token's SHA-256 is compared in constant time with every configured token's SHA-256; with no
//! token configured the API refuses everything (403, saying how to enable it). Never logs,
//! echoes or stores a token. Requests are rate-limited per client (its own
//! [`RateLimiter`] buckets, so the API and the offer pages do not share a budget) and bodies
//! are capped at [`API_BODY_LIMIT`]. Never reads the clock except through `AppState`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRef, FromRequestParts, Path, Request, State,
};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use axum::Router;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::limits::{client_ip, RateLimiter};
use super::{store_unavailable, AppState};
use crate::config::Secret;
use crate::domain::Interpreter;
use crate::store::StoreError;

/// The largest request body the API reads (a presence change is a few dozen bytes).
pub const API_BODY_LIMIT: usize = 4 * 1024;
/// Shortest presence lease the API sets (seconds).
pub const MIN_TTL_SECONDS: u64 = 60;
/// Longest presence lease the API sets: seven days (seconds).
pub const MAX_TTL_SECONDS: u64 = 7 * 24 * 3600;
/// Requests a client may burst on the API (a roster-wide sync at the start of a shift).
pub const API_BURST: f64 = 120.0;
/// Requests per second a client gets back after a burst.
pub const API_REFILL_PER_SEC: f64 = 4.0;

/// The `/api/v1` routes with their own rate limiter and body cap; `super::router` merges them.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    let limiter = Arc::new(RateLimiter::new(API_BURST, API_REFILL_PER_SEC));
    Router::new()
        .route(
            "/api/v1/interpreters/{id}",
            get(show).fallback(wrong_method),
        )
        .route(
            "/api/v1/interpreters/{id}/presence",
            put(set_presence).fallback(wrong_method),
        )
        .route("/api/v1", any(unknown))
        .route("/api/v1/{*rest}", any(unknown))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(axum::middleware::from_fn(move |req, next| {
            rate_limit(limiter.clone(), req, next)
        }))
}

// ---- answers ----------------------------------------------------------------------------

/// A JSON answer that is never cached.
fn json_response(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `{"error": code, "message": what is wrong and what to do}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(status, json!({"error": code, "message": message.into()}))
}

fn disabled() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "api_disabled",
        "the HTTP API is disabled on this server: an operator enables it by setting [api] tokens \
         (or tokens_file, or DRAGOMAN__API__TOKENS) in the configuration and restarting dragoman",
    )
}

/// 401 with the `WWW-Authenticate` challenge of RFC 6750.
fn unauthorized(wrong_token: bool) -> Response {
    let (message, challenge) = if wrong_token {
        (
            "the bearer token is not one of this server's [api] tokens: check it, or ask the \
             operator for a current one",
            "Bearer realm=\"dragoman\", error=\"invalid_token\"",
        )
    } else {
        (
            "send the header `Authorization: Bearer TOKEN` with a token from [api] tokens",
            "Bearer realm=\"dragoman\"",
        )
    };
    let mut res = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    res
}

fn unknown_interpreter() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_interpreter",
        "no interpreter has this id or email: see `dragoman interpreter list` for ids and emails",
    )
}

/// A store failure, logged here once: 503 (retry later) when the database is down, else 500.
fn failure(what: &str, e: anyhow::Error) -> Response {
    if store_unavailable(&e) {
        tracing::warn!(error = %format!("{e:#}"), "API: {what}: database unavailable");
        let mut res = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "dragoman cannot reach its database right now: retry in a minute (nothing was changed)",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        res
    } else {
        tracing::error!(error = %format!("{e:#}"), "API: {what} failed");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "dragoman could not finish this request; the problem has been logged: retry later, \
             and tell the operator if it keeps happening",
        )
    }
}

/// What the API shows of an interpreter. `presence_until` is null when offline (also when
/// a lease has run out).
pub fn interpreter_json(i: &Interpreter, now: DateTime<Utc>) -> Value {
    let online = i.is_online(now);
    json!({
        "id": i.id,
        "name": i.name,
        "email": i.email.as_str(),
        "timezone": i.timezone,
        "pairs": i.pairs.iter().map(|p| format!("{}:{}", p.from, p.to)).collect::<Vec<_>>(),
        "online": online,
        "presence_until": presence_until(i, now),
    })
}

fn presence_until(i: &Interpreter, now: DateTime<Utc>) -> Option<String> {
    i.presence_until
        .filter(|_| i.is_online(now))
        .map(|u| u.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

// ---- authentication ---------------------------------------------------------------------

/// Proof that the request carried one of the configured bearer tokens. Handlers take it as
/// their first argument, so nothing else is looked at before it.
pub struct Authorized;

impl<S> FromRequestParts<S> for Authorized
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let state = AppState::from_ref(state);
        let tokens = &state.config.api.tokens;
        if tokens.is_empty() {
            return Err(disabled());
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        match presented {
            None => Err(unauthorized(false)),
            Some(t) if token_matches(t, tokens) => Ok(Authorized),
            Some(_) => {
                tracing::warn!("API: refused a wrong bearer token");
                Err(unauthorized(true))
            }
        }
    }
}

/// The token of an `Authorization: Bearer TOKEN` value (scheme case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// True when `presented` is one of `configured`: SHA-256 digests compared in constant time,
/// every configured token looked at whatever matched before.
pub fn token_matches(presented: &str, configured: &[Secret]) -> bool {
    let p = Sha256::digest(presented.as_bytes());
    let mut found = Choice::from(0);
    for t in configured {
        let d = Sha256::digest(t.expose().as_bytes());
        found |= d.as_slice().ct_eq(p.as_slice());
    }
    found.into()
}

/// 429 as JSON when a client exceeds its bucket (loopback without `X-Forwarded-For` is not
/// limited: see `limits::client_ip`).
async fn rate_limit(limiter: Arc<RateLimiter>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    if let Some(ip) = client_ip(peer, forwarded) {
        if let Err(wait) = limiter.check(ip, Instant::now()) {
            tracing::warn!(client = %ip, "rate limit: too many API requests");
            let secs = wait.as_secs().max(1);
            let mut res = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this address: retry in {secs} s"),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
    }
    next.run(req).await
}

// ---- the presence change ----------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    online: bool,
    ttl_seconds: Option<u64>,
}

/// A parsed `PUT …/presence` body: online for this long, or offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceChange {
    Online(Duration),
    Offline,
}

/// Why a presence body was refused: (status, error code, message).
pub type BodyError = (StatusCode, &'static str, String);

const EXAMPLE_BODY: &str = r#"{"online": true, "ttl_seconds": 14400}"#;

/// Parses a presence body. `default_ttl` (seconds) is used when `online` is true and
/// `ttl_seconds` is missing; it is clamped into the allowed range. Malformed JSON → 400; JSON
/// of the wrong shape or a `ttl_seconds` out of range → 422.
pub fn parse_presence(body: &[u8], default_ttl: u64) -> Result<PresenceChange, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err((
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is empty: send JSON such as {EXAMPLE_BODY}"),
        ));
    }
    let parsed: PresenceBody = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("{e}: send {EXAMPLE_BODY} (ttl_seconds optional; only these two fields)"),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!("the body is not valid JSON ({e}): send JSON such as {EXAMPLE_BODY}"),
            )
        }
    })?;
    if !parsed.online {
        return Ok(PresenceChange::Offline);
    }
    let ttl = match parsed.ttl_seconds {
        Some(t) if (MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&t) => t,
        Some(t) => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_ttl",
                format!(
                    "ttl_seconds is {t}: it must be between {MIN_TTL_SECONDS} (one minute) and \
                     {MAX_TTL_SECONDS} (seven days); renew the lease before it runs out for longer"
                ),
            ))
        }
        None => default_ttl.clamp(MIN_TTL_SECONDS, MAX_TTL_SECONDS),
    };
    let ttl = i64::try_from(ttl).expect("bounded by MAX_TTL_SECONDS");
    Ok(PresenceChange::Online(Duration::seconds(ttl)))
}

/// True when the request says its body is JSON, or says nothing.
fn json_content_type(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")),
    }
}

// ---- handlers ---------------------------------------------------------------------------

/// `GET /api/v1/interpreters/{id}`: presence and pairs. Changes nothing.
async fn show(
    _auth: Authorized,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let now = state.now();
    match state.offers.store().find_interpreter(&id).await {
        Ok(Some(i)) => json_response(StatusCode::OK, interpreter_json(&i, now)),
        Ok(None) => unknown_interpreter(),
        Err(e) => failure("showing an interpreter", e.into()),
    }
}

/// `PUT /api/v1/interpreters/{id}/presence`: online until now + ttl, or offline. Answers the
/// interpreter's id, `online` and `presence_until` (RFC 3339, or null).
async fn set_presence(
    _auth: Authorized,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.now();
    if !json_content_type(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as Content-Type: application/json, e.g. {EXAMPLE_BODY}"),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {API_BODY_LIMIT} bytes: send only {EXAMPLE_BODY}"),
            )
        }
        Err(rejection) => {
            return error(
                rejection.status(),
                "bad_body",
                format!("the body could not be read ({rejection}): send {EXAMPLE_BODY}"),
            )
        }
    };
    let default_ttl = u64::try_from(state.config.matching.presence_hours)
        .unwrap_or(1)
        .saturating_mul(3600);
    let change = match parse_presence(&body, default_ttl) {
        Ok(c) => c,
        Err((status, code, message)) => return error(status, code, message),
    };
    let interpreter = match state.offers.store().find_interpreter(&id).await {
        Ok(Some(i)) => i,
        Ok(None) => return unknown_interpreter(),
        Err(e) => return failure("setting presence", e.into()),
    };
    let until = match change {
        PresenceChange::Online(ttl) => Some(now + ttl),
        PresenceChange::Offline => None,
    };
    match state
        .offers
        .store()
        .set_presence(interpreter.id, until)
        .await
    {
        Ok(i) => {
            tracing::info!(
                interpreter_id = i.id,
                online = until.is_some(),
                ttl_seconds = until.map(|u| (u - now).num_seconds()),
                "API: presence set"
            );
            json_response(
                StatusCode::OK,
                json!({
                    "id": i.id,
                    "online": i.is_online(now),
                    "presence_until": presence_until(&i, now),
                }),
            )
        }
        Err(StoreError::NotFound(_)) => unknown_interpreter(),
        Err(e) => failure("setting presence", e.into()),
    }
}

/// Any other path under `/api/v1` (after authentication, so the API's shape is not shown to
/// strangers).
async fn unknown(_auth: Authorized) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "no such API endpoint: the API has GET /api/v1/interpreters/{id} and \
         PUT /api/v1/interpreters/{id}/presence",
    )
}

/// A known path with the wrong method.
async fn wrong_method() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "use GET /api/v1/interpreters/{id} to read and PUT /api/v1/interpreters/{id}/presence \
         to change presence",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_reads_the_token_of_the_bearer_scheme_only() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc  "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn tokens_match_by_digest_and_only_exactly() {
        let configured = [
            Secret::new("first-token-aaaaaaaaaaaaaaaa"),
            Secret::new("second-token-bbbbbbbbbbbbbbb"),
        ];
        assert!(token_matches("second-token-bbbbbbbbbbbbbbb", &configured));
        assert!(token_matches("first-token-aaaaaaaaaaaaaaaa", &configured));
        assert!(!token_matches("second-token-bbbbbbbbbbbbbb", &configured));
        assert!(!token_matches("", &configured));
        assert!(!token_matches("first-token-aaaaaaaaaaaaaaaa", &[]));
    }

    #[test]
    fn presence_bodies_are_parsed_with_bounds_and_a_default() {
        let hour = 3600;
        assert_eq!(
            parse_presence(br#"{"online": true, "ttl_seconds": 14400}"#, hour),
            Ok(PresenceChange::Online(Duration::seconds(14400)))
        );
        assert_eq!(
            parse_presence(br#"{"online": true}"#, hour),
            Ok(PresenceChange::Online(Duration::seconds(hour as i64)))
        );
        // A configured default beyond the bound is clamped, not refused.
        assert_eq!(
            parse_presence(br#"{"online": true}"#, 10 * MAX_TTL_SECONDS),
            Ok(PresenceChange::Online(Duration::seconds(
                MAX_TTL_SECONDS as i64
            )))
        );
        assert_eq!(
            parse_presence(br#"{"online": false, "ttl_seconds": 5}"#, hour),
            Ok(PresenceChange::Offline)
        );
        let status = |b: &[u8]| parse_presence(b, hour).map_err(|e| (e.0, e.1));
        assert_eq!(status(b""), Err((StatusCode::BAD_REQUEST, "bad_json")));
        assert_eq!(
            status(b"{\"online\": tru"),
            Err((StatusCode::BAD_REQUEST, "bad_json"))
        );
        assert_eq!(
            status(br#"{"ttl_seconds": 60}"#),
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            status(br#"{"online": "yes"}"#),
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            status(br#"{"online": true, "until": 3}"#),
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            status(br#"{"online": true, "ttl_seconds": -1}"#),
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        for t in [0, 59, MAX_TTL_SECONDS + 1] {
            let body = format!(r#"{{"online": true, "ttl_seconds": {t}}}"#);
            assert_eq!(
                status(body.as_bytes()),
                Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_ttl")),
                "{t}"
            );
        }
        let (_, _, message) = parse_presence(br#"{"ttl_seconds": 60}"#, hour).unwrap_err();
        assert!(message.contains("missing field `online`"), "{message}");
    }

    #[test]
    fn content_type_must_be_json_when_given() {
        let mut h = HeaderMap::new();
        assert!(json_content_type(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(json_content_type(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!json_content_type(&h));
    }
}
