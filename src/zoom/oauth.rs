//! The pure parts of connecting a Zoom user (OAuth authorization-code flow): the `state` that
//! binds a callback to the person who started it and expires, Zoom's authorize URL, the token
//! endpoint's answer, when to refresh, and sealing tokens at rest with AES-256-GCM under the key
//! from `[zoom] token_key_file`.
//!
//! No I/O and no clock (`now` is a parameter). Tokens and keys never appear in `Debug` output
//! or error messages. The HTTP endpoints (`/zoom/connect`, `/zoom/oauth/callback`) and the
//! token calls are not built yet; these are the parts they will stand on.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;

/// How long a `state` handed to Zoom stays valid.
pub const STATE_TTL: Duration = Duration::minutes(10);
/// Refresh an access token this long before it expires (Zoom's last an hour).
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// Who is connecting a Zoom user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    Requestor(i64),
    Interpreter(i64),
}

impl Person {
    fn encode(self) -> String {
        match self {
            Person::Requestor(id) => format!("r{id}"),
            Person::Interpreter(id) => format!("i{id}"),
        }
    }

    fn decode(s: &str) -> Option<Person> {
        let (kind, id) = s.split_at_checked(1)?;
        let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
        match kind {
            "r" => Some(Person::Requestor(id)),
            "i" => Some(Person::Interpreter(id)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the OAuth state is malformed")]
    Malformed,
    #[error("the OAuth state was not issued by this server")]
    Forged,
    #[error("the OAuth state expired: start connecting again")]
    Expired,
}

fn state_mac(key: &Secret, payload: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    m.update(b"dragoman-zoom-oauth-state:");
    m.update(payload.as_bytes());
    m
}

/// A `state` for Zoom's authorize URL: the person, an expiry and a random nonce, MACed with
/// `key`. Stateless: [`verify_state`] needs only the key and the clock.
pub fn issue_state(key: &Secret, person: Person, now: DateTime<Utc>) -> String {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let payload = format!(
        "{}.{}.{}",
        person.encode(),
        (now + STATE_TTL).timestamp(),
        URL_SAFE_NO_PAD.encode(nonce)
    );
    let tag = state_mac(key, &payload).finalize().into_bytes();
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The person a `state` was issued for, when it is genuine and not expired.
pub fn verify_state(key: &Secret, state: &str, now: DateTime<Utc>) -> Result<Person, StateError> {
    let (payload, tag) = state.rsplit_once('.').ok_or(StateError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| StateError::Malformed)?;
    state_mac(key, payload)
        .verify_slice(&tag)
        .map_err(|_| StateError::Forged)?;
    let mut parts = payload.split('.');
    let person = parts
        .next()
        .and_then(Person::decode)
        .ok_or(StateError::Malformed)?;
    let expires: i64 = parts
        .next()
        .and_then(|e| e.parse().ok())
        .ok_or(StateError::Malformed)?;
    if now.timestamp() > expires {
        return Err(StateError::Expired);
    }
    Ok(person)
}

/// Zoom's authorize URL (`{oauth_base}/oauth/authorize`, `oauth_base` = `https://zoom.us`).
pub fn authorize_url(
    oauth_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> Result<reqwest::Url, String> {
    let base = format!("{}/oauth/authorize", oauth_base.trim_end_matches('/'));
    reqwest::Url::parse_with_params(
        &base,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ],
    )
    .map_err(|e| format!("[zoom] oauth_base does not make a URL: {e}"))
}

/// What Zoom's token endpoint answers (authorization code or refresh grant).
#[derive(Clone, PartialEq, serde::Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Rotates on every refresh: the new one replaces the old.
    pub refresh_token: String,
    /// Seconds.
    pub expires_in: i64,
    #[serde(default)]
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    pub fn expires_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::seconds(self.expires_in.max(0))
    }
}

/// True when a token expiring at `expires_at` should be refreshed at `now`.
pub fn refresh_due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= expires_at - REFRESH_MARGIN
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("[zoom] token_key_file must hold 32 bytes, raw or as 64 hex digits")]
    BadKey,
    #[error("a sealed token is malformed")]
    Malformed,
    #[error("a sealed token does not open with this key (wrong key, or tampered)")]
    Tampered,
}

/// The AES-256-GCM key for tokens at rest. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct TokenKey(Aes256Gcm);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// From the credential file's bytes: 32 raw bytes, or 64 hex digits (whitespace around
    /// them ignored).
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TokenKey, SealError> {
        let key: Vec<u8> = match std::str::from_utf8(bytes).map(str::trim) {
            Ok(t) if t.len() == 64 => hex::decode(t).map_err(|_| SealError::BadKey)?,
            _ if bytes.len() == 32 => bytes.to_vec(),
            _ => return Err(SealError::BadKey),
        };
        Aes256Gcm::new_from_slice(&key)
            .map(TokenKey)
            .map_err(|_| SealError::BadKey)
    }

    /// Seals `token` bound to `context` (e.g. `"zoom-user:{id}:access"`, so a sealed value
    /// cannot be moved to another row): `v1.` + base64url(nonce ‖ ciphertext+tag).
    pub fn seal(&self, token: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: token.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short token cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1.{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what [`TokenKey::seal`] made for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Secret, SealError> {
        let raw = sealed
            .strip_prefix("v1.")
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|r| r.len() > 12 + 16)
            .ok_or(SealError::Malformed)?;
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain)
            .map(|s| Secret::new(&s))
            .map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 15, 0, 0).unwrap()
    }

    #[test]
    fn state_is_bound_to_the_person_and_expires() {
        let key = Secret::new("state-key");
        let s = issue_state(&key, Person::Interpreter(17), now());
        assert_eq!(verify_state(&key, &s, now()), Ok(Person::Interpreter(17)));
        assert_eq!(
            verify_state(&key, &s, now() + STATE_TTL),
            Ok(Person::Interpreter(17))
        );
        assert_eq!(
            verify_state(&key, &s, now() + STATE_TTL + Duration::seconds(1)),
            Err(StateError::Expired)
        );
        assert_eq!(
            verify_state(&Secret::new("other"), &s, now()),
            Err(StateError::Forged)
        );
        // Moving it to another person breaks the MAC.
        let moved = s.replacen("i17", "i18", 1);
        assert_eq!(verify_state(&key, &moved, now()), Err(StateError::Forged));
        assert_eq!(
            verify_state(&key, "nonsense", now()),
            Err(StateError::Malformed)
        );
        assert_ne!(
            s,
            issue_state(&key, Person::Interpreter(17), now()),
            "random nonce"
        );
        let r = issue_state(&key, Person::Requestor(3), now());
        assert_eq!(verify_state(&key, &r, now()), Ok(Person::Requestor(3)));
    }

    #[test]
    fn authorize_url_is_zooms_with_encoded_params() {
        let u = authorize_url(
            "https://zoom.us/",
            "cid",
            "https://dragoman.example/zoom/oauth/callback",
            "a.b.c",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://zoom.us/oauth/authorize?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fdragoman.example%2Fzoom%2Foauth%2Fcallback&state=a.b.c"
        );
    }

    /// The shape Zoom documents for `POST /oauth/token`.
    #[test]
    fn token_response_parses_and_never_debugs_tokens() {
        let body = r#"{"access_token":"eyJhbGciOiJIUzUxMiJ9.access","token_type":"bearer",
            "refresh_token":"eyJhbGciOiJIUzUxMiJ9.refresh","expires_in":3599,
            "scope":"user:read:token"}"#;
        let t: TokenResponse = serde_json::from_str(body).unwrap();
        assert_eq!(t.expires_at(now()), now() + Duration::seconds(3599));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("eyJ"), "{dbg}");
        assert!(!refresh_due(t.expires_at(now()), now()));
        assert!(refresh_due(
            t.expires_at(now()),
            now() + Duration::seconds(3599) - REFRESH_MARGIN
        ));
    }

    #[test]
    fn sealed_tokens_open_only_with_the_key_and_context() {
        let key = TokenKey::from_file_bytes(&[7u8; 32]).unwrap();
        let hex_key =
            TokenKey::from_file_bytes(format!("{}\n", "07".repeat(32)).as_bytes()).unwrap();
        let sealed = key.seal("access-token-value", "zoom-user:1:access");
        assert!(!sealed.contains("access-token-value"));
        assert_eq!(
            hex_key
                .open(&sealed, "zoom-user:1:access")
                .unwrap()
                .expose(),
            "access-token-value"
        );
        assert_eq!(
            key.open(&sealed, "zoom-user:2:access").map(|_| ()),
            Err(SealError::Tampered)
        );
        let other = TokenKey::from_file_bytes(&[8u8; 32]).unwrap();
        assert_eq!(
            other.open(&sealed, "zoom-user:1:access").map(|_| ()),
            Err(SealError::Tampered)
        );
        assert_eq!(
            key.open("v1.AAAA", "x").map(|_| ()),
            Err(SealError::Malformed)
        );
        assert_ne!(sealed, key.seal("access-token-value", "zoom-user:1:access"));
        assert!(matches!(
            TokenKey::from_file_bytes(b"short"),
            Err(SealError::BadKey)
        ));
        assert_eq!(format!("{key:?}"), "TokenKey(..)");
    }
}
