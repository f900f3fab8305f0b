//! Zoom's cloud over HTTP: the OAuth token endpoint (authorization code and refresh grants),
//! `GET /v2/users/me`, the ZAK and on-behalf-of (OBF) tokens, and the participant report.
//! The only module that uses `reqwest` for requests (TLS: rustls with ring, the provider
//! lettre uses too).
//!
//! Bases are configurable (`[zoom] oauth_base`, `api_base`) so tests point them at a fake
//! Zoom on loopback. Never logs, and no error holds a token, a code or a full URL with its
//! query: errors name the call and Zoom's status (and Zoom's own `error`/`reason` text).

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::oauth::TokenResponse;
use crate::config::{Secret, ZoomOAuthConfig};

/// A whole call to Zoom (connect, send, read) gives up after this.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to Zoom did not give what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Zoom said no (4xx): retrying the same call will not help. For the token endpoint
    /// `invalid_grant` means the refresh token is dead: the person must connect again.
    #[error("Zoom refused {call} ({status}{}): {hint}", .reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Refused {
        call: &'static str,
        status: u16,
        reason: Option<String>,
        hint: &'static str,
    },
    /// Zoom could not be reached or failed (5xx, timeout): retry later.
    #[error("Zoom unavailable for {call}: {detail}; retry later")]
    Unavailable { call: &'static str, detail: String },
    /// Zoom answered something this version does not understand.
    #[error("Zoom's answer to {call} was not understood: {detail}")]
    Malformed { call: &'static str, detail: String },
}

impl ApiError {
    /// True when Zoom rejected the grant itself (a dead or reused refresh token).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, ApiError::Refused { status: 400 | 401, reason: Some(r), .. } if r.contains("invalid_grant") || r.contains("Invalid Token"))
    }
}

/// The shared HTTP client (connection pool), made once.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dragoman/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with static settings builds")
    })
}

/// `GET /v2/users/me`, as far as dragoman cares.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ZoomUser {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
}

/// One participant of `GET /v2/report/meetings/{meetingId}/participants`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReportParticipant {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Empty when hidden (HIPAA settings, or not a signed-in user).
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub join_time: Option<String>,
    #[serde(default)]
    pub leave_time: Option<String>,
    #[serde(default)]
    pub customer_key: Option<String>,
}

/// One page of the participant report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReportPage {
    #[serde(default)]
    pub participants: Vec<ReportParticipant>,
    /// Empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenOnly {
    token: String,
}

/// Zoom's OAuth app and REST API, with the configured bases.
#[derive(Clone)]
pub struct ZoomApi {
    oauth_base: String,
    api_base: String,
    client_id: String,
    client_secret: Secret,
}

impl std::fmt::Debug for ZoomApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoomApi")
            .field("oauth_base", &self.oauth_base)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes one path segment (a meeting UUID may hold `/`, `+`, `=`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `{meetingId}` path segment for a meeting number or instance UUID: Zoom wants a UUID
/// that starts with `/` or holds `//` encoded twice.
pub fn meeting_path_segment(meeting: &str) -> String {
    if meeting.starts_with('/') || meeting.contains("//") {
        encode_segment(&encode_segment(meeting))
    } else {
        encode_segment(meeting)
    }
}

impl ZoomApi {
    pub fn new(cfg: &ZoomOAuthConfig) -> ZoomApi {
        ZoomApi {
            oauth_base: cfg.oauth_base.clone(),
            api_base: cfg.api_base.clone(),
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
        }
    }

    pub fn oauth_base(&self) -> &str {
        &self.oauth_base
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    async fn token_call(
        &self,
        call: &'static str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, ApiError> {
        let res = client()
            .post(format!("{}/oauth/token", self.oauth_base))
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(form)
            .send()
            .await
            .map_err(|e| unavailable(call, e))?;
        read_json(call, res, "connect the Zoom user again").await
    }

    /// `POST /oauth/token` with `grant_type=authorization_code`.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, ApiError> {
        self.token_call(
            "the authorization code exchange",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }

    /// `POST /oauth/token` with `grant_type=refresh_token`. Zoom answers a new refresh token
    /// too (they rotate): the caller must store it.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenResponse, ApiError> {
        self.token_call(
            "the token refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
        )
        .await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        access: &Secret,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let res = client()
            .get(format!("{}{path}", self.api_base))
            .bearer_auth(access.expose())
            .query(query)
            .send()
            .await
            .map_err(|e| unavailable(call, e))?;
        read_json(
            call,
            res,
            "check the app's scopes, or connect the Zoom user again",
        )
        .await
    }

    /// `GET /v2/users/me`: who connected.
    pub async fn me(&self, access: &Secret) -> Result<ZoomUser, ApiError> {
        self.get("GET /users/me", access, "/v2/users/me", &[]).await
    }

    /// `GET /v2/users/me/zak`: the connected user's Zoom Access Key (2 h), for `zak` joins.
    pub async fn zak(&self, access: &Secret) -> Result<Secret, ApiError> {
        let t: TokenOnly = self
            .get("GET /users/me/zak", access, "/v2/users/me/zak", &[])
            .await?;
        Ok(Secret::new(t.token))
    }

    /// `GET /v2/users/me/token?type=onbehalf&meeting_id=…`: an on-behalf-of token for
    /// `obf` joins (the connected user must be in the meeting).
    pub async fn obf_token(&self, access: &Secret, meeting_id: &str) -> Result<Secret, ApiError> {
        let t: TokenOnly = self
            .get(
                "GET /users/me/token?type=onbehalf",
                access,
                "/v2/users/me/token",
                &[("type", "onbehalf"), ("meeting_id", meeting_id)],
            )
            .await?;
        Ok(Secret::new(t.token))
    }

    /// One page of `GET /v2/report/meetings/{meetingId}/participants` (300 a page).
    pub async fn report_page(
        &self,
        access: &Secret,
        meeting: &str,
        next_page_token: Option<&str>,
    ) -> Result<ReportPage, ApiError> {
        let path = format!(
            "/v2/report/meetings/{}/participants",
            meeting_path_segment(meeting)
        );
        let mut query = vec![("page_size", "300")];
        if let Some(t) = next_page_token {
            query.push(("next_page_token", t));
        }
        self.get(
            "GET /report/meetings/{meetingId}/participants",
            access,
            &path,
            &query,
        )
        .await
    }
}

fn unavailable(call: &'static str, e: reqwest::Error) -> ApiError {
    ApiError::Unavailable {
        call,
        detail: e.without_url().to_string(),
    }
}

/// Zoom's error bodies: `{"reason": "...", "error": "invalid_grant"}` (OAuth) or
/// `{"code": 124, "message": "Invalid access token."}` (REST).
fn reason_of(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let parts: Vec<String> = ["error", "reason", "message"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|s| s.as_str()))
        .map(|s| s.chars().take(200).collect())
        .collect();
    (!parts.is_empty()).then(|| parts.join(": "))
}

async fn read_json<T: serde::de::DeserializeOwned>(
    call: &'static str,
    res: reqwest::Response,
    hint: &'static str,
) -> Result<T, ApiError> {
    let status = res.status();
    let body = res.text().await.map_err(|e| unavailable(call, e))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(ApiError::Unavailable {
            call,
            detail: format!("status {}", status.as_u16()),
        });
    }
    if !status.is_success() {
        return Err(ApiError::Refused {
            call,
            status: status.as_u16(),
            reason: reason_of(&body),
            hint,
        });
    }
    serde_json::from_str(&body).map_err(|e| ApiError::Malformed {
        call,
        // serde's message names the field and position, never the value.
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_uuids_are_encoded_as_zoom_documents() {
        assert_eq!(meeting_path_segment("81234567890"), "81234567890");
        assert_eq!(
            meeting_path_segment("4444AAAiAAAAAiAiAiiAii=="),
            "4444AAAiAAAAAiAiAiiAii%3D%3D"
        );
        assert_eq!(
            meeting_path_segment("/ajXp112QmuoKj4854875=="),
            "%252FajXp112QmuoKj4854875%253D%253D"
        );
        assert_eq!(meeting_path_segment("ab//c"), "ab%252F%252Fc");
    }

    #[test]
    fn errors_name_the_call_and_zooms_reason_never_a_token() {
        let e = ApiError::Refused {
            call: "the token refresh",
            status: 400,
            reason: reason_of(r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#),
            hint: "connect the Zoom user again",
        };
        assert!(e.is_invalid_grant());
        assert_eq!(
            e.to_string(),
            "Zoom refused the token refresh (400: invalid_grant: Invalid Token!): connect the Zoom user again"
        );
        assert_eq!(reason_of("not json"), None);
    }
}
