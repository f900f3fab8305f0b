//! The pure parts of connecting a Zoom user (OAuth authorization-code flow): the emailed
//! connect link that lets a person start (MACed, bound to the person, expiring), the random
//! single-use OAuth `state`, Zoom's authorize URL, the token endpoint's answer, when to
//! refresh, and sealing tokens at rest with AES-256-GCM under the key from
//! `[zoom] token_key_file`.
//!
//! No I/O and no clock (`now` is a parameter). Tokens and keys never appear in `Debug` output
//! or error messages. The flow that uses these is `zoom::connect`; the HTTP endpoints are
//! `http::oauth`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::domain::Token;
use crate::store::ZoomPerson;

/// How long a `state` handed to Zoom stays valid.
pub const STATE_TTL: Duration = Duration::minutes(10);
/// Refresh an access token this long before it expires (Zoom's last an hour).
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// How long an emailed connect link (`/oauth/zoom/start?link=…`) stays valid.
pub const LINK_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the connect link is malformed: copy the whole link from the email")]
    Malformed,
    #[error("the connect link was not issued by this server")]
    Forged,
    #[error("the connect link expired: ask your coordinator for a new one")]
    Expired,
}

fn link_mac(key: &TokenKey, payload: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key.link_key)
        .expect("HMAC-SHA256 accepts keys of any length");
    m.update(b"dragoman-zoom-connect-link:");
    m.update(payload.as_bytes());
    m
}

/// The `link` of a connect URL for `person`: who, until when, a random nonce, MACed with a
/// key derived from the token key. It only lets its holder *start* connecting that person's
/// Zoom user; the OAuth `state` made from it is random, single-use and stored hashed.
pub fn issue_connect_link(key: &TokenKey, person: &ZoomPerson, now: DateTime<Utc>) -> String {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    let who = URL_SAFE_NO_PAD.encode(format!("{}:{}", person.kind(), person.reference()));
    let payload = format!(
        "{who}.{}.{}",
        (now + LINK_TTL).timestamp(),
        URL_SAFE_NO_PAD.encode(nonce)
    );
    let tag = link_mac(key, &payload).finalize().into_bytes();
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The person a connect link was issued for, when it is genuine and not expired.
pub fn verify_connect_link(
    key: &TokenKey,
    link: &str,
    now: DateTime<Utc>,
) -> Result<ZoomPerson, LinkError> {
    let (payload, tag) = link.rsplit_once('.').ok_or(LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed)?;
    link_mac(key, payload)
        .verify_slice(&tag)
        .map_err(|_| LinkError::Forged)?;
    let mut parts = payload.split('.');
    let person = parts
        .next()
        .and_then(|w| URL_SAFE_NO_PAD.decode(w).ok())
        .and_then(|w| String::from_utf8(w).ok())
        .and_then(|w| {
            let (kind, reference) = w.split_once(':')?;
            ZoomPerson::from_parts(kind, reference)
        })
        .ok_or(LinkError::Malformed)?;
    let expires: i64 = parts
        .next()
        .and_then(|e| e.parse().ok())
        .ok_or(LinkError::Malformed)?;
    if now.timestamp() > expires {
        return Err(LinkError::Expired);
    }
    Ok(person)
}

/// A fresh OAuth `state` (random, 190 bits) for one authorization; the store keeps only its
/// hash, for [`STATE_TTL`], and the callback takes it once.
pub fn new_state() -> Token {
    Token::generate()
}

/// What a sealed token is bound to: the person and which token it is, so a sealed value
/// moved to another row or column does not open.
pub fn seal_context(person: &ZoomPerson, which: &str) -> String {
    format!(
        "zoom-connection:{}:{}:{which}",
        person.kind(),
        person.reference()
    )
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
pub struct TokenKey {
    aead: Aes256Gcm,
    /// SHA-256 of a label and the key: the MAC key of connect links (never the AES key).
    link_key: [u8; 32],
}

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
        let aead = Aes256Gcm::new_from_slice(&key).map_err(|_| SealError::BadKey)?;
        let link_key: [u8; 32] = Sha256::new()
            .chain_update(b"dragoman-connect-link-key\0")
            .chain_update(&key)
            .finalize()
            .into();
        Ok(TokenKey { aead, link_key })
    }

    /// Seals `token` bound to `context` (e.g. `"zoom-user:{id}:access"`, so a sealed value
    /// cannot be moved to another row): `v1.` + base64url(nonce ‖ ciphertext+tag).
    pub fn seal(&self, token: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .aead
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
            .aead
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
    use crate::domain::EmailAddress;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 15, 0, 0).unwrap()
    }

    #[test]
    fn connect_link_is_bound_to_the_person_and_expires() {
        let key = TokenKey::from_file_bytes(&[7u8; 32]).unwrap();
        let who = ZoomPerson::Interpreter(17);
        let s = issue_connect_link(&key, &who, now());
        assert_eq!(verify_connect_link(&key, &s, now()), Ok(who.clone()));
        assert_eq!(
            verify_connect_link(&key, &s, now() + LINK_TTL),
            Ok(who.clone())
        );
        assert_eq!(
            verify_connect_link(&key, &s, now() + LINK_TTL + Duration::seconds(1)),
            Err(LinkError::Expired)
        );
        let other = TokenKey::from_file_bytes(&[8u8; 32]).unwrap();
        assert_eq!(
            verify_connect_link(&other, &s, now()),
            Err(LinkError::Forged)
        );
        // Moving it to another person breaks the MAC.
        let (_, rest) = s.split_once('.').unwrap();
        let moved = format!("{}.{rest}", URL_SAFE_NO_PAD.encode("interpreter:18"));
        assert_eq!(
            verify_connect_link(&key, &moved, now()),
            Err(LinkError::Forged)
        );
        assert_eq!(
            verify_connect_link(&key, "nonsense", now()),
            Err(LinkError::Malformed)
        );
        assert_ne!(s, issue_connect_link(&key, &who, now()), "random nonce");
        let r = ZoomPerson::Requestor(EmailAddress::parse("Dr.Ruiz@clinic.example").unwrap());
        let l = issue_connect_link(&key, &r, now());
        assert_eq!(
            verify_connect_link(&key, &l, now()),
            Ok(ZoomPerson::Requestor(
                EmailAddress::parse("dr.ruiz@clinic.example").unwrap()
            ))
        );
        assert_eq!(new_state().expose().len(), 32);
        assert_ne!(
            seal_context(&who, "access"),
            seal_context(&ZoomPerson::Interpreter(18), "access")
        );
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
