//! The Meeting SDK signature: an HS256 JWT signed server-side for each join (notes/zoom.md).
//!
//! Owns the claim set Zoom expects (`appKey`, `sdkKey`, `mn`, `role`, numeric `iat`/`exp`,
//! `tokenExp`). Never reads the clock (`now` is a parameter) and never logs the secret or the
//! signature it makes.

use anyhow::{ensure, Context};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How far `iat` is set in the past, for clocks that run slightly ahead of Zoom's.
pub const IAT_SKEW: Duration = Duration::seconds(30);
/// How long a signature is valid after `iat`. Zoom accepts 1800 s to 172800 s.
pub const LIFETIME: Duration = Duration::hours(2);

/// The claims of a Meeting SDK signature, spelled as Zoom spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdkClaims {
    /// The SDK key (client ID). Required since SDK v5.
    #[serde(rename = "appKey")]
    pub app_key: String,
    /// The same SDK key, for older SDK versions.
    #[serde(rename = "sdkKey")]
    pub sdk_key: String,
    /// The meeting number, digits only.
    pub mn: String,
    /// 0 participant, 1 host.
    pub role: u8,
    /// Issued at, Unix seconds (a number, never a string).
    pub iat: i64,
    /// Expiry, Unix seconds; `exp - iat` is within Zoom's 1800..=172800 s.
    pub exp: i64,
    /// Equal to `exp`.
    #[serde(rename = "tokenExp")]
    pub token_exp: i64,
}

/// Signs a join for `meeting_number` as `role` (0: participant), valid from `now - 30 s` for
/// two hours.
pub fn sdk_signature(
    sdk_key: &str,
    sdk_secret: &Secret,
    meeting_number: &str,
    role: u8,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    ensure!(!sdk_key.is_empty(), "the Meeting SDK key is empty");
    ensure!(
        !sdk_secret.expose().is_empty(),
        "the Meeting SDK secret is empty"
    );
    ensure!(
        !meeting_number.is_empty() && meeting_number.bytes().all(|b| b.is_ascii_digit()),
        "a meeting number is digits only (got {} characters that are not)",
        meeting_number.len()
    );
    ensure!(
        role <= 1,
        "role must be 0 (participant) or 1 (host), got {role}"
    );
    let iat = (now - IAT_SKEW).timestamp();
    let exp = iat + LIFETIME.num_seconds();
    let claims = SdkClaims {
        app_key: sdk_key.to_string(),
        sdk_key: sdk_key.to_string(),
        mn: meeting_number.to_string(),
        role,
        iat,
        exp,
        token_exp: exp,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(sdk_secret.expose().as_bytes()),
    )
    .context("signing the Meeting SDK JWT")
}

/// Checks a signature made by [`sdk_signature`] and returns its claims (expiry is not checked:
/// the caller compares `exp` with its own `now`). For tests and diagnostics.
pub fn decode_sdk_signature(sdk_secret: &Secret, token: &str) -> anyhow::Result<SdkClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<SdkClaims>(
        token,
        &DecodingKey::from_secret(sdk_secret.expose().as_bytes()),
        &validation,
    )
    .context("decoding the Meeting SDK JWT")?;
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 15, 0, 0).unwrap()
    }

    #[test]
    fn claims_are_what_zoom_expects() {
        let secret = Secret::new("sdk-secret");
        let jwt = sdk_signature("sdk-key", &secret, "81234567890", 0, now()).unwrap();
        let c = decode_sdk_signature(&secret, &jwt).unwrap();
        assert_eq!(c.app_key, "sdk-key");
        assert_eq!(c.sdk_key, "sdk-key");
        assert_eq!(c.mn, "81234567890");
        assert_eq!(c.role, 0);
        assert_eq!(c.iat, now().timestamp() - 30);
        assert_eq!(c.exp, c.iat + 7200);
        assert_eq!(c.token_exp, c.exp);
        assert!((1800..=172800).contains(&(c.exp - c.iat)));
    }

    #[test]
    fn header_is_hs256_and_times_are_numbers() {
        let secret = Secret::new("sdk-secret");
        let jwt = sdk_signature("k", &secret, "123456789", 1, now()).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
        let body: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert!(body["iat"].is_i64());
        assert!(body["exp"].is_i64());
        assert!(body["tokenExp"].is_i64());
        assert!(body["role"].is_u64());
        assert_eq!(body["role"], 1);
        assert_eq!(body["mn"], "123456789");
    }

    #[test]
    fn wrong_secret_does_not_decode() {
        let jwt = sdk_signature("k", &Secret::new("right"), "123456789", 0, now()).unwrap();
        assert!(decode_sdk_signature(&Secret::new("wrong"), &jwt).is_err());
    }

    #[test]
    fn refuses_bad_input() {
        let s = Secret::new("s");
        assert!(sdk_signature("", &s, "123", 0, now()).is_err());
        assert!(sdk_signature("k", &Secret::new(""), "123", 0, now()).is_err());
        assert!(sdk_signature("k", &s, "", 0, now()).is_err());
        assert!(sdk_signature("k", &s, "123 456", 0, now()).is_err());
        assert!(sdk_signature("k", &s, "123", 2, now()).is_err());
    }
}
