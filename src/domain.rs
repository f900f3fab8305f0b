//! Pure domain types: languages, pairs, interpreters, requests, offers, tokens, customer keys.
//!
//! Values here are parsed, never validated after the fact: a `LanguagePair` or `CustomerKey`
//! that exists is well formed. This module does no I/O and never reads the clock.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A BCP 47 primary language subtag such as `es` or `en`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    /// Parses `es`, `EN`, `pt-BR` (kept as `pt-br`). Two or three letters, optional subtags.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let mut parts = s.split('-');
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if primary_ok && rest_ok {
            Ok(Language(s))
        } else {
            Err(format!(
                "{s:?} is not a language code: use a BCP 47 code such as \"es\" or \"pt-BR\""
            ))
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// The English name used in display names ("Spanish" for `es`); the code itself when unknown.
    pub fn english_name(&self) -> String {
        let primary = self.0.split('-').next().unwrap_or(&self.0);
        let name = match primary {
            "ar" => "Arabic",
            "bn" => "Bengali",
            "de" => "German",
            "el" => "Greek",
            "en" => "English",
            "es" => "Spanish",
            "fa" => "Persian",
            "fr" => "French",
            "he" => "Hebrew",
            "hi" => "Hindi",
            "ht" => "Haitian Creole",
            "it" => "Italian",
            "ja" => "Japanese",
            "ko" => "Korean",
            "nl" => "Dutch",
            "pl" => "Polish",
            "pt" => "Portuguese",
            "ru" => "Russian",
            "so" => "Somali",
            "sw" => "Swahili",
            "tl" => "Tagalog",
            "tr" => "Turkish",
            "uk" => "Ukrainian",
            "ur" => "Urdu",
            "vi" => "Vietnamese",
            "zh" => "Chinese",
            "ase" => "American Sign Language",
            _ => return self.0.clone(),
        };
        name.to_string()
    }
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Language::parse(&s)
    }
}

impl From<Language> for String {
    fn from(l: Language) -> String {
        l.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A directed language pair: interpreting *from* one language *to* another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LanguagePair {
    pub from: Language,
    pub to: Language,
}

impl LanguagePair {
    pub fn new(from: Language, to: Language) -> Result<Self, String> {
        if from == to {
            return Err(format!(
                "a language pair needs two different languages, got {from}:{to}"
            ));
        }
        Ok(LanguagePair { from, to })
    }

    /// Parses `es:en` (also accepts `es-en` only when both halves are plain codes, and `es>en`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once(':')
            .or_else(|| s.split_once('>'))
            .ok_or_else(|| {
                format!("{s:?} is not a language pair: write it as FROM:TO, e.g. es:en")
            })?;
        LanguagePair::new(Language::parse(a)?, Language::parse(b)?)
    }

    pub fn reversed(&self) -> LanguagePair {
        LanguagePair {
            from: self.to.clone(),
            to: self.from.clone(),
        }
    }
}

impl fmt::Display for LanguagePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}→{}", self.from.english_name(), self.to.english_name())
    }
}

/// An email address, lower-cased in its domain, with a single `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| format!("{s:?} is not an email address: it has no @"))?;
        let ok_local =
            !local.is_empty() && !local.contains(char::is_whitespace) && !local.contains('@');
        let ok_domain = domain.contains('.') || domain == "localhost";
        let ok_domain = ok_domain
            && !domain.is_empty()
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !ok_local || !ok_domain {
            return Err(format!("{s:?} is not an email address"));
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// The address with any `+tag` removed from the local part, lower-cased: how routes match.
    pub fn without_plus_tag(&self) -> String {
        let local = self.local_part().split('+').next().unwrap_or_default();
        format!("{}@{}", local.to_ascii_lowercase(), self.domain())
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type InterpreterId = i64;
pub type RequestId = i64;
pub type OfferId = i64;
pub type AssignmentId = i64;

/// An interpreter on the roster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interpreter {
    pub id: InterpreterId,
    pub name: String,
    pub email: EmailAddress,
    pub pairs: Vec<LanguagePair>,
    pub timezone: String,
    /// Online until this instant; `None` or a past instant means offline.
    pub presence_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Interpreter {
    pub fn is_online(&self, now: DateTime<Utc>) -> bool {
        self.presence_until.is_some_and(|until| until > now)
    }

    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }

    /// `"{FirstName} {InterpreterId} ({Language} Interpreter)"` (SPEC §1), Language being the
    /// English name of the request's source language.
    pub fn display_name(&self, source: &Language) -> String {
        format!(
            "{} {} ({} Interpreter)",
            self.first_name(),
            self.id,
            source.english_name()
        )
    }
}

/// What a CLI or import adds to the roster.
#[derive(Debug, Clone)]
pub struct NewInterpreter {
    pub name: String,
    pub email: EmailAddress,
    pub pairs: Vec<LanguagePair>,
    pub timezone: String,
}

/// States of a request. Transitions live in `offers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Recorded; nobody eligible was found yet.
    Open,
    /// Offers are out.
    Offered,
    /// An interpreter accepted.
    Assigned,
    Cancelled,
    /// Nobody accepted in time.
    Unfilled,
    Done,
}

impl RequestState {
    pub const ALL: [RequestState; 6] = [
        RequestState::Open,
        RequestState::Offered,
        RequestState::Assigned,
        RequestState::Cancelled,
        RequestState::Unfilled,
        RequestState::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Offered => "offered",
            RequestState::Assigned => "assigned",
            RequestState::Cancelled => "cancelled",
            RequestState::Unfilled => "unfilled",
            RequestState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RequestState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    Pending,
    Accepted,
    Declined,
    Expired,
    /// Another interpreter accepted, or the request was cancelled.
    Superseded,
}

impl OfferState {
    pub const ALL: [OfferState; 5] = [
        OfferState::Pending,
        OfferState::Accepted,
        OfferState::Declined,
        OfferState::Expired,
        OfferState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Pending => "pending",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Expired => "expired",
            OfferState::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        OfferState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for OfferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The meeting a request is for, as parsed from the invitation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meeting {
    /// Digits only; `None` for personal links without a numeric ID.
    pub meeting_id: Option<String>,
    /// The typed passcode the SDK needs. Secret: never logged.
    #[serde(skip)]
    pub passcode: Option<String>,
    /// The join URL as the invitation gave it. Secret: never logged in full.
    #[serde(skip)]
    pub join_url: String,
    pub host: String,
    pub kind: String,
    pub topic: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub timezone: Option<String>,
}

impl Meeting {
    /// The key that makes one request of the same meeting sent twice: the meeting ID (or the
    /// join URL path for personal links) plus the start time.
    pub fn dedupe_key(&self) -> String {
        let what = match &self.meeting_id {
            Some(id) => id.clone(),
            None => {
                let no_query = self.join_url.split('?').next().unwrap_or(&self.join_url);
                no_query.trim_end_matches('/').to_ascii_lowercase()
            }
        };
        let when = self
            .start
            .map(|s| s.timestamp().to_string())
            .unwrap_or_else(|| "none".into());
        format!("{what}@{when}")
    }
}

/// A request as the store returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub id: RequestId,
    pub state: RequestState,
    pub meeting: Meeting,
    pub pair: LanguagePair,
    pub requestor: EmailAddress,
    pub route_address: String,
    /// Bumped by every state change: a fencing token for stale timers and late accepts.
    pub epoch: i64,
    pub created_at: DateTime<Utc>,
}

/// A single-purpose capability token handed to a browser (offer link, join link).
///
/// The raw value exists only in emails and URLs; the store keeps its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// 32 random alphanumeric characters: about 190 bits.
    pub fn generate() -> Self {
        let s: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        Token(s)
    }

    /// Accepts only what `generate` (or `derive`) can produce, so junk never reaches the store.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Token(s.to_string()))
    }

    /// A second token bound to this one (e.g. the join token of an accepted offer), so the
    /// holder of the offer token can be shown the same join link again without the store
    /// keeping any raw token.
    pub fn derive(&self, purpose: &str) -> Token {
        let digest = Sha256::new()
            .chain_update(purpose.as_bytes())
            .chain_update([0u8])
            .chain_update(self.0.as_bytes())
            .finalize();
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let s = digest
            .iter()
            .take(32)
            .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
            .collect();
        Token(s)
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// SHA-256 of a token, hex: what the store indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

/// The `customerKey` passed to `ZoomMtg.join` and echoed by Zoom's webhooks: 32 random ASCII
/// letters and digits (Zoom allows at most 35), unique per assignment, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CustomerKey(String);

impl CustomerKey {
    pub fn generate() -> Self {
        let s: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        CustomerKey(s)
    }

    pub fn parse(s: &str) -> Option<Self> {
        ((8..=35).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| CustomerKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an attendance row was tied to an assignment (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionMethod {
    CustomerKey,
    DisplayName,
    ZoomUser,
    Report,
    Unattributed,
}

impl AttributionMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributionMethod::CustomerKey => "customer_key",
            AttributionMethod::DisplayName => "display_name",
            AttributionMethod::ZoomUser => "zoom_user",
            AttributionMethod::Report => "report",
            AttributionMethod::Unattributed => "unattributed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AttributionMethod::CustomerKey,
            AttributionMethod::DisplayName,
            AttributionMethod::ZoomUser,
            AttributionMethod::Report,
            AttributionMethod::Unattributed,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_directed_and_parsed() {
        let p = LanguagePair::parse("es:en").unwrap();
        assert_eq!(p.from.code(), "es");
        assert_eq!(p.to.code(), "en");
        assert_ne!(p, p.reversed());
        assert!(LanguagePair::parse("es:es").is_err());
        assert!(LanguagePair::parse("spanish").is_err());
        assert_eq!(p.to_string(), "Spanish→English");
    }

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.hash(), Token::parse(a.expose()).unwrap().hash());
        assert!(Token::parse("short").is_none());
        assert!(Token::parse(&"!".repeat(32)).is_none());
        let j = a.derive("join");
        assert_eq!(j, a.derive("join"));
        assert_ne!(j, a.derive("other"));
        assert!(Token::parse(j.expose()).is_some());
        assert_eq!(format!("{a:?}"), "Token(…)");
    }

    #[test]
    fn customer_keys_fit_zoom() {
        let k = CustomerKey::generate();
        assert!(k.as_str().len() <= 35 && k.as_str().len() >= 8);
        assert!(k.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(CustomerKey::parse("abc").is_none());
        assert!(CustomerKey::parse(&"a".repeat(36)).is_none());
    }

    #[test]
    fn display_name_follows_spec() {
        let i = Interpreter {
            id: 17,
            name: "Ana María Ruiz".into(),
            email: EmailAddress::parse("ana@example.com").unwrap(),
            pairs: vec![],
            timezone: "UTC".into(),
            presence_until: None,
            created_at: Utc::now(),
        };
        assert_eq!(
            i.display_name(&Language::parse("es").unwrap()),
            "Ana 17 (Spanish Interpreter)"
        );
    }

    #[test]
    fn email_plus_tags_are_ignored_for_routing() {
        let e = EmailAddress::parse("ES-EN+urgent@Agency.Example").unwrap();
        assert_eq!(e.without_plus_tag(), "es-en@agency.example");
    }
}
