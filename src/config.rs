//! Configuration: one TOML file, `DRAGOMAN__SECTION__KEY` environment overrides, secrets inline,
//! from the environment or from files (systemd `LoadCredential=`), and the embedded default.
//!
//! Loading validates everything and reports *every* problem by key and file at once. Secrets
//! are `Secret`, whose `Debug` and `Display` never show the value; nothing here logs.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Value;

use crate::domain::{EmailAddress, Language, LanguagePair};

/// A secret value. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the daemon keeps its database, spool and outbox when the file does not say.
pub const DEFAULT_DATA_DIR: &str = "./var";

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (`None`: the embedded default).
    pub source: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub mailboxes: Vec<MailboxConfig>,
    pub routes: Vec<RouteConfig>,
    pub requestors: RequestorsConfig,
    pub outbound: OutboundConfig,
    pub smtp: Option<SmtpConfig>,
    pub matching: MatchingConfig,
    pub zoom: ZoomConfig,
    pub limits: LimitsConfig,
    /// `[api]` (issue #5): the HTTP API's bearer tokens and the interpreter's own page.
    pub api: ApiConfig,
    pub templates: TemplatesConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Base of every link in emails, without a trailing slash.
    pub public_url: String,
}

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    pub name: String,
    pub source: MailboxSource,
}

#[derive(Debug, Clone)]
pub enum MailboxSource {
    Maildir(PathBuf),
    Imap(ImapConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Implicit,
    Starttls,
    None,
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    pub processed_folder: Option<String>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// Lower-cased; matched against recipients without their `+tag`.
    pub address: String,
    pub pair: LanguagePair,
    pub skills: Vec<String>,
    pub bidirectional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownSenders {
    /// A polite reply saying the address is not authorised.
    Reply,
    /// Nothing.
    Ignore,
}

#[derive(Debug, Clone)]
pub struct RequestorsConfig {
    pub allow_addresses: Vec<String>,
    pub allow_domains: Vec<String>,
    pub unknown_senders: UnknownSenders,
    /// `[[requestors.preference]]`: preferred and blocked interpreters per sender address or
    /// domain (issue #5).
    pub preferences: Vec<RequestorPreference>,
}

/// Preferred and blocked interpreters (by email) of the senders matching `sender`: an exact
/// address, or a domain (subdomains included).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestorPreference {
    pub sender: String,
    pub preferred: Vec<EmailAddress>,
    pub blocked: Vec<EmailAddress>,
    /// Overrides `[zoom] join_mode` for these senders (see [`RequestorsConfig::join_mode_of`]).
    pub join_mode: Option<JoinMode>,
}

impl RequestorsConfig {
    /// The preferences that apply to `sender`, merged (an address rule and its domain's).
    pub fn preferences_of(&self, sender: &EmailAddress) -> crate::matching::Preferences {
        let addr = sender.as_str().to_ascii_lowercase();
        let domain = sender.domain();
        let mut out = crate::matching::Preferences::default();
        for p in &self.preferences {
            let applies = p.sender == addr
                || (!p.sender.contains('@')
                    && (domain == p.sender || domain.ends_with(&format!(".{}", p.sender))));
            if applies {
                out.preferred.extend(p.preferred.iter().cloned());
                out.blocked.extend(p.blocked.iter().cloned());
            }
        }
        out
    }

    /// The join mode `[[requestors.preference]]` sets for `sender`, with the rule's `sender`
    /// (address or domain) that sets it: an address rule wins over domain rules, a longer
    /// (more specific) domain over a shorter one, and the first of equals in the file. `None`
    /// when no rule that applies sets one: then `[zoom] join_mode` applies.
    pub fn join_mode_of(&self, sender: &EmailAddress) -> Option<(JoinMode, &str)> {
        let addr = sender.as_str().to_ascii_lowercase();
        let domain = sender.domain();
        let mut best: Option<((bool, usize), JoinMode, &str)> = None;
        for p in &self.preferences {
            let Some(mode) = p.join_mode else { continue };
            let exact = p.sender == addr;
            let applies = exact
                || (!p.sender.contains('@')
                    && (domain == p.sender || domain.ends_with(&format!(".{}", p.sender))));
            let rank = (exact, p.sender.len());
            if applies && best.as_ref().is_none_or(|(b, _, _)| rank > *b) {
                best = Some((rank, mode, p.sender.as_str()));
            }
        }
        best.map(|(_, mode, rule)| (mode, rule))
    }

    /// Whether this sender may create requests. An empty allow list allows nobody.
    pub fn allows(&self, sender: &EmailAddress) -> bool {
        let addr = sender.as_str().to_ascii_lowercase();
        let domain = sender.domain();
        self.allow_addresses.contains(&addr)
            || self
                .allow_domains
                .iter()
                .any(|d| domain == d || domain.ends_with(&format!(".{d}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    File,
    Smtp,
}

#[derive(Debug, Clone)]
pub struct OutboundConfig {
    pub transport: Transport,
    /// For `file`: one `.eml` per message.
    pub dir: PathBuf,
    /// The From address of every email dragoman sends.
    pub from: EmailAddress,
    /// At most this many automatic replies (received, not understood, not authorised, …) to one
    /// address in any 24 hours; further ones are recorded but not sent (loop and abuse safety).
    pub max_replies_per_day: i64,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: Option<EmailAddress>,
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone)]
pub struct MatchingConfig {
    /// How long an offer stays open when the meeting has no start time or starts later.
    pub offer_ttl_minutes: i64,
    /// Default presence lease for `interpreter online` without `--for`.
    pub presence_hours: i64,
    /// How long a join link stays valid after the meeting's start.
    pub join_valid_hours: i64,
    /// Score weights of the ranking (issue #5).
    pub weights: crate::matching::waves::Weights,
    /// Pause an interpreter after this many offers in a row left unanswered past their wave.
    pub pause_after_unanswered: i64,
    /// Tell the requestor (and the coordinator) this long before the start if nobody accepted.
    pub deadline_lead_minutes: i64,
    /// The request stays open until start + this; then it is unfilled.
    pub close_grace_minutes: i64,
    /// Gap required between two assignments of one interpreter.
    pub overlap_buffer_minutes: i64,
    /// Meetings starting within this need a live presence lease; later ones use availability.
    pub presence_horizon_minutes: i64,
    /// A meeting's assumed length when the invitation does not say.
    pub default_duration_minutes: i64,
    /// The rolling window for fairness (minutes worked) and recent declines.
    pub fairness_window_days: i64,
    /// Also told when a request is unfilled at its deadline.
    pub coordinator: Option<EmailAddress>,
    /// An accepted interpreter who has not joined (per the webhooks) by start + this is
    /// released and the request offered again (`[zoom] no_show_grace_minutes`).
    pub noshow_grace_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    SameAccount,
    Obf,
    Zak,
    Link,
}

impl JoinMode {
    /// The name as written in the config and recorded on assignments.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinMode::SameAccount => "same_account",
            JoinMode::Obf => "obf",
            JoinMode::Zak => "zak",
            JoinMode::Link => "link",
        }
    }

    /// The inverse of [`JoinMode::as_str`].
    pub fn parse(s: &str) -> Option<JoinMode> {
        [
            JoinMode::SameAccount,
            JoinMode::Obf,
            JoinMode::Zak,
            JoinMode::Link,
        ]
        .into_iter()
        .find(|m| m.as_str() == s.trim())
    }
}

#[derive(Debug, Clone)]
pub struct ZoomConfig {
    pub join_mode: JoinMode,
    /// What `obf` / `zak` fall back to when the Zoom user they need is not connected:
    /// `same_account` or `link` (the default: it works for any meeting).
    pub join_fallback: JoinMode,
    pub sdk_key: Option<String>,
    pub sdk_secret: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    /// Where the join page loads the Meeting SDK for Web from.
    pub sdk_url: String,
    // ---- zoom oauth (issue #7) ----
    /// Connecting Zoom users (OAuth app credentials and the token key); `None` when the
    /// deployment does not connect Zoom users (then `obf`/`zak` always fall back).
    pub oauth: Option<ZoomOAuthConfig>,
    /// An assigned interpreter not in the meeting by start + this is a no-show.
    pub no_show_grace_minutes: i64,
    /// How long after `meeting.ended` the participant report is read (Zoom fills it in with
    /// a delay; webhooks may lag up to 85 minutes).
    pub reconcile_after_minutes: i64,
}

/// `[zoom] oauth_client_id`, `oauth_client_secret(_file)`, `token_key_file`, `oauth_base`,
/// `api_base` (issue #7).
#[derive(Debug, Clone)]
pub struct ZoomOAuthConfig {
    pub client_id: String,
    pub client_secret: Secret,
    /// Seals tokens at rest (AES-256-GCM); from `token_key_file` (32 bytes raw or 64 hex).
    pub token_key: crate::zoom::oauth::TokenKey,
    /// Zoom's OAuth host (`https://zoom.us`): `/oauth/authorize`, `/oauth/token`.
    pub oauth_base: String,
    /// Zoom's REST API host (`https://api.zoom.us`): `/v2/...`.
    pub api_base: String,
}

impl ZoomConfig {
    /// Without SDK credentials the join page shows what it would pass (the embedded default).
    pub fn demo_mode(&self) -> bool {
        self.sdk_key.is_none() || self.sdk_secret.is_none()
    }
}

// ---- [api] (issue #5: presence API and the interpreter's own page) -----------------------

/// The shortest bearer token accepted in `[api] tokens` (characters).
pub const API_TOKEN_MIN_LEN: usize = 24;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Bearer tokens accepted by `/api/v1` (`tokens` plus the lines of `tokens_file`). Empty:
    /// the API refuses every request and says how to enable it.
    pub tokens: Vec<Secret>,
    /// How long after an offer's expiry its link still opens the interpreter's own page
    /// (`/offer/{token}/me`).
    pub own_page_hours: i64,
}

// ---- end [api] ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub max_message_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct TemplatesConfig {
    /// A directory whose files override the built-in templates.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `text`, `json` or `journald` (auto when `JOURNAL_STREAM` is set).
    pub format: String,
    pub level: String,
}

/// Every problem found in a configuration, each naming its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} in {}:\n{}", if .problems.len() == 1 { "1 problem".to_string() } else { format!("{} problems", .problems.len()) }, .file, .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The pinned Meeting SDK for Web (`@zoom/meetingsdk`, Client View) on Zoom's CDN. 6.2.0 is the
/// newest release seen published with the classic CDN layout (`{version}/lib/vendor/*.min.js`
/// plus `zoom-meeting-{version}.min.js`); 6.10.0 moved the build to Vite/ESM, so bumping past it
/// needs the join page's script list re-checked first.
pub const ZOOM_SDK_URL: &str = "https://source.zoom.us/6.2.0/lib";
/// The version in [`ZOOM_SDK_URL`]; also the file name used for a self-hosted `sdk_url` whose
/// path does not end in `/{version}/lib`.
pub const DEFAULT_SDK_VERSION: &str = "6.2.0";

// ---- raw, as written in the file --------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    migrate_on_start: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    public_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    name: Option<String>,
    maildir: Option<PathBuf>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    folder: Option<String>,
    processed_folder: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    address: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    bidirectional: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequestors {
    #[serde(default)]
    allow_addresses: Vec<String>,
    #[serde(default)]
    allow_domains: Vec<String>,
    unknown_senders: Option<UnknownSenders>,
    #[serde(default)]
    preference: Vec<RawPreference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbound {
    transport: Option<Transport>,
    dir: Option<PathBuf>,
    from: Option<String>,
    max_replies_per_day: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
    timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatching {
    offer_ttl_minutes: Option<i64>,
    presence_hours: Option<i64>,
    join_valid_hours: Option<i64>,
    pause_after_unanswered: Option<i64>,
    deadline_lead_minutes: Option<i64>,
    close_grace_minutes: Option<i64>,
    overlap_buffer_minutes: Option<i64>,
    presence_horizon_minutes: Option<i64>,
    default_duration_minutes: Option<i64>,
    fairness_window_days: Option<i64>,
    coordinator: Option<String>,
    #[serde(default)]
    weights: RawWeights,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    preferred: Option<f64>,
    fairness: Option<f64>,
    idle: Option<f64>,
    reliability: Option<f64>,
    declines: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreference {
    sender: String,
    #[serde(default)]
    preferred: Vec<String>,
    #[serde(default)]
    blocked: Vec<String>,
    join_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZoom {
    join_mode: Option<JoinMode>,
    join_fallback: Option<JoinMode>,
    sdk_key: Option<String>,
    sdk_key_file: Option<PathBuf>,
    sdk_secret: Option<String>,
    sdk_secret_file: Option<PathBuf>,
    webhook_secret: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    sdk_url: Option<String>,
    // ---- zoom oauth (issue #7) ----
    oauth_client_id: Option<String>,
    oauth_client_secret: Option<String>,
    oauth_client_secret_file: Option<PathBuf>,
    token_key_file: Option<PathBuf>,
    oauth_base: Option<String>,
    api_base: Option<String>,
    no_show_grace_minutes: Option<i64>,
    reconcile_after_minutes: Option<i64>,
}

// [api] (issue #5)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    tokens: Option<OneOrMany>,
    tokens_file: Option<PathBuf>,
    own_page_hours: Option<i64>,
}

/// A list, or one string (so `DRAGOMAN__API__TOKENS=abc` works as well as a TOML array).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_message_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<String>,
    level: Option<String>,
}

const SECTIONS: &[&str] = &[
    "data_dir",
    "database",
    "http",
    "mailbox",
    "route",
    "requestors",
    "outbound",
    "smtp",
    "matching",
    "zoom",
    "limits",
    "api",
    "templates",
    "log",
];

/// Collects problems while building a `Config`.
struct Checker {
    problems: Vec<Problem>,
    /// Where relative `*_file` paths are looked up first (systemd's credentials directory).
    credentials_dir: Option<PathBuf>,
}

impl Checker {
    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Deserializes one table, reporting the offending key on failure.
    fn section<T: DeserializeOwned + Default>(&mut self, key: &str, value: Option<&Value>) -> T {
        let Some(value) = value else {
            return T::default();
        };
        match value.clone().try_into::<T>() {
            Ok(t) => t,
            Err(e) => {
                self.problem(key, clean_toml_error(&e.to_string()));
                T::default()
            }
        }
    }

    fn array<T: DeserializeOwned + Default>(&mut self, key: &str, value: Option<&Value>) -> Vec<T> {
        match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.section(&format!("{key}[{i}]"), Some(v)))
                .collect(),
            Some(_) => {
                self.problem(
                    key,
                    format!("must be an array of tables, written [[{key}]]"),
                );
                Vec::new()
            }
        }
    }

    /// Inline, or read from `file` (relative paths looked up in `$CREDENTIALS_DIRECTORY` first).
    fn secret(
        &mut self,
        key: &str,
        inline: Option<String>,
        file: Option<PathBuf>,
    ) -> Option<Secret> {
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.problem(key, format!("give either {key} or {key}_file, not both"));
                None
            }
            (Some(v), None) if v.is_empty() => {
                self.problem(key, "is empty");
                None
            }
            (Some(v), None) => Some(Secret(v)),
            (None, Some(path)) => {
                let path = match (&self.credentials_dir, path.is_relative()) {
                    (Some(dir), true) if dir.join(&path).exists() => dir.join(&path),
                    _ => path,
                };
                match std::fs::read_to_string(&path) {
                    Ok(s) if s.trim().is_empty() => {
                        self.problem(
                            format!("{key}_file"),
                            format!("{} is empty", path.display()),
                        );
                        None
                    }
                    Ok(s) => Some(Secret(s.trim_end_matches(['\n', '\r']).to_string())),
                    Err(e) => {
                        self.problem(
                            format!("{key}_file"),
                            format!("cannot read {}: {e}", path.display()),
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

    // ---- zoom oauth (issue #7) ----
    /// The token key from `[zoom] token_key_file` (binary allowed; credentials dir first).
    fn token_key(&mut self, path: PathBuf) -> Option<crate::zoom::oauth::TokenKey> {
        let path = match (&self.credentials_dir, path.is_relative()) {
            (Some(dir), true) if dir.join(&path).exists() => dir.join(&path),
            _ => path,
        };
        match std::fs::read(&path) {
            Ok(bytes) => match crate::zoom::oauth::TokenKey::from_file_bytes(&bytes) {
                Ok(k) => Some(k),
                Err(e) => {
                    self.problem("zoom.token_key_file", format!("{}: {e}", path.display()));
                    None
                }
            },
            Err(e) => {
                self.problem(
                    "zoom.token_key_file",
                    format!("cannot read {}: {e}", path.display()),
                );
                None
            }
        }
    }

    fn email(&mut self, key: &str, s: &str) -> Option<EmailAddress> {
        match EmailAddress::parse(s) {
            Ok(e) => Some(e),
            Err(e) => {
                self.problem(key, e);
                None
            }
        }
    }
}

/// toml's messages carry a location line that points at the re-serialised value; keep the gist.
fn clean_toml_error(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

impl Config {
    /// The embedded default under `data_dir` (SPEC §4): SQLite, a Maildir spool, file outbox.
    pub fn embedded(data_dir: &Path) -> Config {
        Config::from_value(Value::Table(Default::default()), None, data_dir, &[])
            .expect("the embedded default is valid")
    }

    /// Loads `path` (or the embedded default when `None`) with overrides from `env`
    /// (`DRAGOMAN__SECTION__KEY=value` pairs; pass `std::env::vars()`).
    pub fn load(
        path: Option<&Path>,
        data_dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let file_label = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the embedded default".into());
        let mut value = match path {
            None => Value::Table(Default::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    file: file_label.clone(),
                    problems: vec![Problem {
                        key: "(file)".into(),
                        message: format!("cannot read it: {e}"),
                    }],
                })?;
                text.parse::<toml::Table>()
                    .map(Value::Table)
                    .map_err(|e| ConfigError {
                        file: file_label.clone(),
                        problems: vec![Problem {
                            key: "(syntax)".into(),
                            message: e.to_string().replace('\n', " ").trim().to_string(),
                        }],
                    })?
            }
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut problems = apply_env_overrides(&mut value, &env);
        let data_dir = value
            .get("data_dir")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.to_path_buf());
        let credentials_dir: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k == "CREDENTIALS_DIRECTORY")
            .cloned()
            .collect();
        match Config::from_value(value, path, &data_dir, &credentials_dir) {
            Ok(c) if problems.is_empty() => Ok(c),
            Ok(_) => Err(ConfigError {
                file: file_label,
                problems,
            }),
            Err(mut e) => {
                problems.append(&mut e.problems);
                Err(ConfigError {
                    file: file_label,
                    problems,
                })
            }
        }
    }

    fn from_value(
        value: Value,
        path: Option<&Path>,
        data_dir: &Path,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let credentials_dir = env
            .iter()
            .find(|(k, _)| k == "CREDENTIALS_DIRECTORY")
            .map(|(_, v)| PathBuf::from(v));
        let mut c = Checker {
            problems: Vec::new(),
            credentials_dir,
        };
        let table = value.as_table().cloned().unwrap_or_default();
        for key in table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                c.problem(
                    key.clone(),
                    format!("unknown section (known: {})", SECTIONS.join(", ")),
                );
            }
        }
        let embedded = path.is_none();

        let raw_db: RawDatabase = c.section("database", table.get("database"));
        let database = DatabaseConfig {
            url: raw_db
                .url
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("dragoman.db").display())),
            migrate_on_start: raw_db.migrate_on_start.unwrap_or(true),
        };
        if !(database.url.starts_with("sqlite:")
            || database.url.starts_with("postgres:")
            || database.url.starts_with("postgresql:"))
        {
            c.problem("database.url", "must start with sqlite: or postgres:");
        }

        let raw_http: RawHttp = c.section("http", table.get("http"));
        let listen_text = raw_http.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                c.problem(
                    "http.listen",
                    format!("{listen_text:?} is not an address such as 127.0.0.1:8080"),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };
        let public_url = raw_http
            .public_url
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            c.problem("http.public_url", "must start with http:// or https://");
        }
        let http = HttpConfig { listen, public_url };

        // Routes first: the embedded default's spool folders are named after them.
        let raw_routes: Vec<RawRoute> = c.array("route", table.get("route"));
        let mut routes = Vec::new();
        for (i, r) in raw_routes.into_iter().enumerate() {
            let key = format!("route[{i}]");
            let Some(address) = r.address else {
                c.problem(format!("{key}.address"), "is missing");
                continue;
            };
            let address = match EmailAddress::parse(&address) {
                Ok(a) => a.without_plus_tag(),
                Err(e) => {
                    c.problem(format!("{key}.address"), e);
                    continue;
                }
            };
            let from = r.from.as_deref().map(Language::parse);
            let to = r.to.as_deref().map(Language::parse);
            let pair = match (from, to) {
                (Some(Ok(f)), Some(Ok(t))) => match LanguagePair::new(f, t) {
                    Ok(p) => p,
                    Err(e) => {
                        c.problem(format!("{key}.to"), e);
                        continue;
                    }
                },
                (f, t) => {
                    for (k, v) in [("from", f), ("to", t)] {
                        match v {
                            None => c.problem(format!("{key}.{k}"), "is missing"),
                            Some(Err(e)) => c.problem(format!("{key}.{k}"), e),
                            Some(Ok(_)) => {}
                        }
                    }
                    continue;
                }
            };
            if routes.iter().any(|x: &RouteConfig| x.address == address) {
                c.problem(
                    format!("{key}.address"),
                    format!("{address} is routed twice"),
                );
            }
            routes.push(RouteConfig {
                address,
                pair,
                skills: r.skills,
                bidirectional: r.bidirectional,
            });
        }
        if embedded && routes.is_empty() {
            for (from, to) in [("es", "en"), ("en", "es"), ("fr", "en")] {
                let pair = LanguagePair::parse(&format!("{from}:{to}")).expect("built-in pair");
                routes.push(RouteConfig {
                    address: format!("{from}-{to}@agency.example"),
                    pair,
                    skills: vec![],
                    bidirectional: false,
                });
            }
        }

        let raw_mailboxes: Vec<RawMailbox> = c.array("mailbox", table.get("mailbox"));
        let mut mailboxes = Vec::new();
        for (i, m) in raw_mailboxes.into_iter().enumerate() {
            let key = format!("mailbox[{i}]");
            let name = m.name.clone().unwrap_or_else(|| format!("mailbox{i}"));
            if mailboxes.iter().any(|x: &MailboxConfig| x.name == name) {
                c.problem(format!("{key}.name"), format!("{name:?} is used twice"));
            }
            let source = match (m.maildir, m.host) {
                (Some(dir), None) => MailboxSource::Maildir(dir),
                (None, Some(host)) => {
                    let password =
                        c.secret(&format!("{key}.password"), m.password, m.password_file);
                    let Some(username) = m.username else {
                        c.problem(format!("{key}.username"), "is missing (IMAP needs a login)");
                        continue;
                    };
                    let Some(password) = password else {
                        c.problem(
                            format!("{key}.password"),
                            "is missing: give password or password_file",
                        );
                        continue;
                    };
                    let tls = m.tls.unwrap_or(TlsMode::Implicit);
                    let port = m
                        .port
                        .unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 });
                    MailboxSource::Imap(ImapConfig {
                        host,
                        port,
                        tls,
                        username,
                        password,
                        folder: m.folder.unwrap_or_else(|| "INBOX".into()),
                        processed_folder: m.processed_folder,
                        ca_file: m.ca_file,
                    })
                }
                (Some(_), Some(_)) => {
                    c.problem(key, "give either maildir or host (IMAP), not both");
                    continue;
                }
                (None, None) => {
                    c.problem(key, "needs maildir = \"PATH\" or an IMAP host");
                    continue;
                }
            };
            mailboxes.push(MailboxConfig { name, source });
        }
        if embedded && mailboxes.is_empty() {
            mailboxes.push(MailboxConfig {
                name: "spool".into(),
                source: MailboxSource::Maildir(data_dir.join("spool")),
            });
        }

        let raw_req: RawRequestors = c.section("requestors", table.get("requestors"));
        let mut allow_addresses = Vec::new();
        for (i, a) in raw_req.allow_addresses.iter().enumerate() {
            if let Some(e) = c.email(&format!("requestors.allow_addresses[{i}]"), a) {
                allow_addresses.push(e.as_str().to_ascii_lowercase());
            }
        }
        let mut allow_domains: Vec<String> = raw_req
            .allow_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .collect();
        if embedded && allow_addresses.is_empty() && allow_domains.is_empty() {
            allow_domains.push("clinic.example".into());
        }
        let mut preferences = Vec::new();
        for (i, p) in raw_req.preference.iter().enumerate() {
            let sender = p.sender.trim().trim_start_matches('@').to_ascii_lowercase();
            if sender.is_empty() {
                c.problem(
                    format!("requestors.preference[{i}].sender"),
                    "is empty: give an address or a domain",
                );
            }
            let mut list = |name: &str, items: &[String]| {
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(j, a)| {
                        c.email(&format!("requestors.preference[{i}].{name}[{j}]"), a)
                    })
                    .collect::<Vec<_>>()
            };
            let preferred = list("preferred", &p.preferred);
            let blocked = list("blocked", &p.blocked);
            let join_mode = p.join_mode.as_deref().and_then(|m| {
                let mode = JoinMode::parse(m);
                if mode.is_none() {
                    c.problem(
                        format!("requestors.preference[{i}].join_mode"),
                        format!("{m:?} is not a join mode: use same_account, obf, zak or link"),
                    );
                }
                mode
            });
            preferences.push(RequestorPreference {
                sender,
                preferred,
                blocked,
                join_mode,
            });
        }
        let requestors = RequestorsConfig {
            allow_addresses,
            allow_domains,
            unknown_senders: raw_req.unknown_senders.unwrap_or(UnknownSenders::Reply),
            preferences,
        };

        let raw_out: RawOutbound = c.section("outbound", table.get("outbound"));
        let raw_smtp: Option<RawSmtp> = table.get("smtp").map(|v| c.section("smtp", Some(v)));
        let transport = raw_out.transport.unwrap_or(if raw_smtp.is_some() {
            Transport::Smtp
        } else {
            Transport::File
        });
        let default_from =
            EmailAddress::parse("dispatch@agency.example").expect("built-in address");
        let from = raw_out
            .from
            .as_deref()
            .and_then(|f| c.email("outbound.from", f))
            .or_else(|| {
                raw_smtp
                    .as_ref()
                    .and_then(|s| s.from.clone())
                    .and_then(|f| EmailAddress::parse(&f).ok())
            })
            .unwrap_or(default_from);
        let outbound = OutboundConfig {
            transport,
            dir: raw_out.dir.unwrap_or_else(|| data_dir.join("outbox")),
            from,
            max_replies_per_day: match raw_out.max_replies_per_day {
                None => 5,
                Some(n) if n >= 0 => n,
                Some(n) => {
                    c.problem(
                        "outbound.max_replies_per_day",
                        format!("must be 0 or more (got {n})"),
                    );
                    5
                }
            },
        };
        let smtp = match raw_smtp {
            None => {
                if transport == Transport::Smtp {
                    c.problem(
                        "smtp",
                        "outbound.transport is \"smtp\" but there is no [smtp] section",
                    );
                }
                None
            }
            Some(s) => {
                let password = c.secret("smtp.password", s.password, s.password_file);
                let smtp_from = s.from.as_deref().and_then(|f| c.email("smtp.from", f));
                let tls = s.tls.unwrap_or(TlsMode::Starttls);
                match s.host {
                    None => {
                        c.problem("smtp.host", "is missing");
                        None
                    }
                    Some(host) => Some(SmtpConfig {
                        host,
                        port: s.port.unwrap_or(match tls {
                            TlsMode::Implicit => 465,
                            TlsMode::Starttls => 587,
                            TlsMode::None => 25,
                        }),
                        tls,
                        username: s.username,
                        password,
                        from: smtp_from,
                        ca_file: s.ca_file,
                        timeout_secs: s.timeout.unwrap_or(30),
                    }),
                }
            }
        };

        let raw_m: RawMatching = c.section("matching", table.get("matching"));
        let defaults = crate::matching::waves::Weights::default();
        let w = &raw_m.weights;
        let weights = crate::matching::waves::Weights {
            preferred: w.preferred.unwrap_or(defaults.preferred),
            fairness: w.fairness.unwrap_or(defaults.fairness),
            idle: w.idle.unwrap_or(defaults.idle),
            reliability: w.reliability.unwrap_or(defaults.reliability),
            declines: w.declines.unwrap_or(defaults.declines),
        };
        for (k, v) in [
            ("matching.weights.preferred", weights.preferred),
            ("matching.weights.fairness", weights.fairness),
            ("matching.weights.idle", weights.idle),
            ("matching.weights.reliability", weights.reliability),
            ("matching.weights.declines", weights.declines),
        ] {
            if !(0.0..=100.0).contains(&v) {
                c.problem(k, "must be a number from 0 to 100");
            }
        }
        let coordinator = raw_m
            .coordinator
            .as_deref()
            .and_then(|a| c.email("matching.coordinator", a));
        let matching = MatchingConfig {
            offer_ttl_minutes: raw_m.offer_ttl_minutes.unwrap_or(60),
            presence_hours: raw_m.presence_hours.unwrap_or(4),
            join_valid_hours: raw_m.join_valid_hours.unwrap_or(12),
            weights,
            pause_after_unanswered: raw_m.pause_after_unanswered.unwrap_or(3),
            deadline_lead_minutes: raw_m.deadline_lead_minutes.unwrap_or(0),
            close_grace_minutes: raw_m.close_grace_minutes.unwrap_or(15),
            overlap_buffer_minutes: raw_m.overlap_buffer_minutes.unwrap_or(15),
            presence_horizon_minutes: raw_m.presence_horizon_minutes.unwrap_or(60),
            default_duration_minutes: raw_m.default_duration_minutes.unwrap_or(60),
            fairness_window_days: raw_m.fairness_window_days.unwrap_or(30),
            coordinator,
            // Set from `[zoom] no_show_grace_minutes` below: one key for one fact.
            noshow_grace_minutes: 0,
        };
        for (k, v) in [
            ("matching.offer_ttl_minutes", matching.offer_ttl_minutes),
            ("matching.presence_hours", matching.presence_hours),
            ("matching.join_valid_hours", matching.join_valid_hours),
            (
                "matching.pause_after_unanswered",
                matching.pause_after_unanswered,
            ),
            (
                "matching.default_duration_minutes",
                matching.default_duration_minutes,
            ),
            (
                "matching.fairness_window_days",
                matching.fairness_window_days,
            ),
        ] {
            if v <= 0 {
                c.problem(k, "must be a positive number");
            }
        }
        for (k, v) in [
            (
                "matching.deadline_lead_minutes",
                matching.deadline_lead_minutes,
            ),
            ("matching.close_grace_minutes", matching.close_grace_minutes),
            (
                "matching.overlap_buffer_minutes",
                matching.overlap_buffer_minutes,
            ),
            (
                "matching.presence_horizon_minutes",
                matching.presence_horizon_minutes,
            ),
        ] {
            if v < 0 {
                c.problem(k, "must be zero or a positive number");
            }
        }

        let raw_z: RawZoom = c.section("zoom", table.get("zoom"));
        let sdk_key = c
            .secret("zoom.sdk_key", raw_z.sdk_key, raw_z.sdk_key_file)
            .map(|s| s.0);
        let sdk_secret = c.secret("zoom.sdk_secret", raw_z.sdk_secret, raw_z.sdk_secret_file);
        let webhook_secret = c.secret(
            "zoom.webhook_secret",
            raw_z.webhook_secret,
            raw_z.webhook_secret_file,
        );
        if sdk_key.is_some() != sdk_secret.is_some() {
            c.problem(
                "zoom.sdk_secret",
                "sdk_key and sdk_secret go together: give both or neither",
            );
        }
        let join_fallback = raw_z.join_fallback.unwrap_or(JoinMode::Link);
        if matches!(join_fallback, JoinMode::Obf | JoinMode::Zak) {
            c.problem(
                "zoom.join_fallback",
                "must be same_account or link (what obf/zak fall back to when no Zoom user is connected)",
            );
        }
        // ---- zoom oauth (issue #7) ----
        let oauth_secret = c.secret(
            "zoom.oauth_client_secret",
            raw_z.oauth_client_secret,
            raw_z.oauth_client_secret_file,
        );
        let token_key = raw_z.token_key_file.map(|p| c.token_key(p));
        let oauth = match (raw_z.oauth_client_id, oauth_secret, token_key) {
            (None, None, None) => None,
            (Some(client_id), Some(client_secret), Some(Some(token_key))) => {
                Some(ZoomOAuthConfig {
                    client_id,
                    client_secret,
                    token_key,
                    oauth_base: raw_z
                        .oauth_base
                        .unwrap_or_else(|| "https://zoom.us".into())
                        .trim_end_matches('/')
                        .to_string(),
                    api_base: raw_z
                        .api_base
                        .unwrap_or_else(|| "https://api.zoom.us".into())
                        .trim_end_matches('/')
                        .to_string(),
                })
            }
            (_, _, Some(None)) => None, // the key file's problem is reported already
            _ => {
                c.problem(
                    "zoom.oauth_client_id",
                    "oauth_client_id, oauth_client_secret and token_key_file go together: give all three or none",
                );
                None
            }
        };
        let no_show_grace_minutes = raw_z.no_show_grace_minutes.unwrap_or(10);
        let reconcile_after_minutes = raw_z.reconcile_after_minutes.unwrap_or(30);
        for (k, v) in [
            ("zoom.no_show_grace_minutes", no_show_grace_minutes),
            ("zoom.reconcile_after_minutes", reconcile_after_minutes),
        ] {
            if v < 0 {
                c.problem(k, "must be 0 or more minutes");
            }
        }
        if oauth.is_none() {
            for (i, p) in requestors.preferences.iter().enumerate() {
                if let Some(m @ (JoinMode::Obf | JoinMode::Zak)) = p.join_mode {
                    c.problem(
                        format!("requestors.preference[{i}].join_mode"),
                        format!(
                            "{} needs connected Zoom users, so it would always fall back: set [zoom] oauth_client_id, oauth_client_secret and token_key_file, or choose same_account or link",
                            m.as_str()
                        ),
                    );
                }
            }
        }
        let zoom = ZoomConfig {
            oauth,
            no_show_grace_minutes,
            reconcile_after_minutes,
            join_mode: raw_z.join_mode.unwrap_or(JoinMode::SameAccount),
            join_fallback,
            sdk_key,
            sdk_secret,
            webhook_secret: webhook_secret
                .or_else(|| embedded.then(|| Secret::new("demo-webhook-secret"))),
            sdk_url: raw_z
                .sdk_url
                .unwrap_or_else(|| ZOOM_SDK_URL.into())
                .trim_end_matches('/')
                .to_string(),
        };

        // [api] (issue #5)
        let raw_api: RawApi = c.section("api", table.get("api"));
        let api = ApiConfig {
            tokens: api_tokens(&mut c, raw_api.tokens, raw_api.tokens_file),
            own_page_hours: match raw_api.own_page_hours {
                None => 168,
                Some(h) if h > 0 => h,
                Some(h) => {
                    c.problem(
                        "api.own_page_hours",
                        format!("must be a positive number of hours (got {h})"),
                    );
                    168
                }
            },
        };

        let raw_l: RawLimits = c.section("limits", table.get("limits"));
        let limits = LimitsConfig {
            max_message_bytes: raw_l.max_message_bytes.unwrap_or(10 * 1024 * 1024),
        };
        let raw_t: RawTemplates = c.section("templates", table.get("templates"));
        if let Some(dir) = &raw_t.dir {
            if !dir.is_dir() {
                c.problem(
                    "templates.dir",
                    format!("{} is not a directory", dir.display()),
                );
            }
        }
        let raw_log: RawLog = c.section("log", table.get("log"));
        let log = LogConfig {
            format: raw_log.format.unwrap_or_else(|| "auto".into()),
            level: raw_log.level.unwrap_or_else(|| "info".into()),
        };
        if !["auto", "text", "json", "journald"].contains(&log.format.as_str()) {
            c.problem("log.format", "must be auto, text, json or journald");
        }

        if routes.is_empty() {
            c.problem("route", "no [[route]]: add one, e.g. address = \"es-en@agency.example\", from = \"es\", to = \"en\"");
        }
        if mailboxes.is_empty() {
            c.problem(
                "mailbox",
                "no [[mailbox]]: add one with maildir = \"PATH\" or an IMAP host",
            );
        }

        if !c.problems.is_empty() {
            return Err(ConfigError {
                file: path
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "the embedded default".into()),
                problems: c.problems,
            });
        }
        Ok(Config {
            source: path.map(Path::to_path_buf),
            data_dir: data_dir.to_path_buf(),
            database,
            http,
            mailboxes,
            routes,
            requestors,
            outbound,
            smtp,
            matching: MatchingConfig {
                noshow_grace_minutes: zoom.no_show_grace_minutes,
                ..matching
            },
            zoom,
            limits,
            api,
            templates: TemplatesConfig { dir: raw_t.dir },
            log,
        })
    }

    /// The route for the first recipient that has one.
    pub fn route_for<'a>(
        &self,
        recipients: impl IntoIterator<Item = &'a str>,
    ) -> Option<&RouteConfig> {
        recipients.into_iter().find_map(|r| {
            let addr = EmailAddress::parse(r).ok()?.without_plus_tag();
            self.routes.iter().find(|route| route.address == addr)
        })
    }
}

/// `[api] tokens` and the lines of `tokens_file` (blank lines and `#` comments skipped), each
/// at least [`API_TOKEN_MIN_LEN`] characters. Problems name the key and position, never a value.
fn api_tokens(c: &mut Checker, inline: Option<OneOrMany>, file: Option<PathBuf>) -> Vec<Secret> {
    let mut tokens = Vec::new();
    let inline = match inline {
        None => vec![],
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    };
    let from_file = c
        .secret("api.tokens", None, file)
        .map(|s| {
            s.expose()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (key, list) in [("api.tokens", inline), ("api.tokens_file", from_file)] {
        for (i, t) in list.into_iter().enumerate() {
            let t = t.trim().to_string();
            let n = t.chars().count();
            if n < API_TOKEN_MIN_LEN || t.chars().any(char::is_whitespace) {
                let place = if key == "api.tokens" {
                    format!("{key}[{i}]")
                } else {
                    format!("{key} (token {})", i + 1)
                };
                c.problem(
                    place,
                    format!(
                        "a token must be at least {API_TOKEN_MIN_LEN} characters without spaces \
                         (got {n}): make one with `openssl rand -hex 32`"
                    ),
                );
                continue;
            }
            tokens.push(Secret(t));
        }
    }
    tokens
}

/// Applies `DRAGOMAN__SECTION__KEY=value` (and `DRAGOMAN__MAILBOX__0__KEY` for arrays).
/// Values are parsed as TOML when they can be (numbers, booleans, arrays), else taken as strings.
fn apply_env_overrides(value: &mut Value, env: &[(String, String)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("DRAGOMAN__") else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        let parsed = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(raw.clone()));
        if let Err(msg) = set_path(value, &path, parsed) {
            problems.push(Problem {
                key: name.clone(),
                message: msg,
            });
        }
    }
    problems
}

fn set_path(value: &mut Value, path: &[String], new: Value) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        return Err("names no key".into());
    };
    if rest.is_empty() {
        match value {
            Value::Table(t) => {
                t.insert(head.clone(), new);
                Ok(())
            }
            _ => Err("does not name a key inside a section".into()),
        }
    } else {
        match value {
            Value::Table(t) => {
                let next_is_index = rest.first().is_some_and(|s| s.parse::<usize>().is_ok());
                let entry = t.entry(head.clone()).or_insert_with(|| {
                    if next_is_index {
                        Value::Array(vec![])
                    } else {
                        Value::Table(Default::default())
                    }
                });
                set_path(entry, rest, new)
            }
            Value::Array(items) => {
                let i: usize = head
                    .parse()
                    .map_err(|_| format!("{head:?} is not an index into an array"))?;
                while items.len() <= i {
                    items.push(Value::Table(Default::default()));
                }
                set_path(&mut items[i], rest, new)
            }
            _ => Err(format!("{head} is not a section")),
        }
    }
}

/// `dragoman print-config`: a fully commented example.
pub const EXAMPLE: &str = include_str!("../fixtures/config/example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dragoman.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(
            Some(&path),
            dir.path(),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    const GOOD: &str = r#"
[database]
url = "sqlite:///tmp/x/dragoman.db"
[http]
listen = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080/"
[[mailbox]]
name = "spool"
maildir = "/tmp/x/spool"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "/tmp/x/outbox"
[zoom]
join_mode = "same_account"
sdk_key = "key"
sdk_secret = "shh"
webhook_secret = "whs"
"#;

    #[test]
    fn the_issue_example_loads() {
        let c = load_str(GOOD, &[]).unwrap();
        assert_eq!(c.database.url, "sqlite:///tmp/x/dragoman.db");
        assert_eq!(c.http.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.routes[0].pair, LanguagePair::parse("es:en").unwrap());
        assert!(
            matches!(&c.mailboxes[0].source, MailboxSource::Maildir(p) if p == Path::new("/tmp/x/spool"))
        );
        assert_eq!(c.outbound.transport, Transport::File);
        assert_eq!(c.zoom.sdk_secret.as_ref().unwrap().expose(), "shh");
        assert!(
            !format!("{c:?}").contains("shh"),
            "secrets never show in Debug"
        );
        assert!(c
            .route_for(["someone@else.test", "ES-EN+x@agency.test"])
            .is_some());
    }

    #[test]
    fn every_bad_key_is_named() {
        let bad = GOOD
            .replace("listen = \"127.0.0.1:8080\"", "listen = \"nowhere\"")
            .replace("from = \"es\"", "from = \"spanish!\"")
            .replace("transport = \"file\"", "transport = \"pigeon\"")
            + "\n[bogus]\nx = 1\n";
        let e = load_str(&bad, &[]).unwrap_err();
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        for k in ["http.listen", "route[0].from", "outbound", "bogus"] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert!(e.to_string().contains("dragoman.toml"));
    }

    #[test]
    fn environment_overrides_and_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sdk_secret"), "from-file\n").unwrap();
        let text = GOOD.replace("sdk_secret = \"shh\"", "sdk_secret_file = \"sdk_secret\"");
        let c = load_str(
            &text,
            &[
                ("DRAGOMAN__HTTP__LISTEN", "127.0.0.1:9999"),
                ("DRAGOMAN__ROUTE__0__TO", "fr"),
                ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
            ],
        )
        .unwrap();
        assert_eq!(c.http.listen.port(), 9999);
        assert_eq!(c.routes[0].pair.to.code(), "fr");
        assert_eq!(c.zoom.sdk_secret.unwrap().expose(), "from-file");
    }

    #[test]
    fn both_inline_and_file_is_an_error() {
        let text = GOOD.replace(
            "sdk_secret = \"shh\"",
            "sdk_secret = \"a\"\nsdk_secret_file = \"/nope\"",
        );
        let e = load_str(&text, &[]).unwrap_err();
        assert!(e.problems.iter().any(|p| p.key == "zoom.sdk_secret"));
    }

    #[test]
    fn embedded_default_is_complete() {
        let c = Config::embedded(Path::new("/tmp/dd"));
        assert!(c.database.url.starts_with("sqlite:"));
        assert_eq!(c.routes.len(), 3);
        assert!(c.zoom.demo_mode());
        assert_eq!(c.outbound.dir, Path::new("/tmp/dd/outbox"));
    }

    // ---- [api] (issue #5) ----

    #[test]
    fn api_tokens_come_inline_from_the_environment_and_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = "t".repeat(API_TOKEN_MIN_LEN);
        std::fs::write(
            dir.path().join("api-tokens"),
            format!("# rotated monthly\n\n{good}-file\n"),
        )
        .unwrap();
        let text = format!(
            "{GOOD}\n[api]\ntokens = [\"{good}-inline\"]\ntokens_file = \"api-tokens\"\nown_page_hours = 24\n"
        );
        let c = load_str(
            &text,
            &[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())],
        )
        .unwrap();
        let got: Vec<&str> = c.api.tokens.iter().map(Secret::expose).collect();
        assert_eq!(got, [format!("{good}-inline"), format!("{good}-file")]);
        assert_eq!(c.api.own_page_hours, 24);
        assert!(
            !format!("{c:?}").contains(&good),
            "tokens never show in Debug"
        );

        let c = load_str(GOOD, &[("DRAGOMAN__API__TOKENS", &format!("{good}-env"))]).unwrap();
        assert_eq!(c.api.tokens.len(), 1);
        assert_eq!(c.api.tokens[0].expose(), format!("{good}-env"));
        let c = load_str(GOOD, &[]).unwrap();
        assert!(c.api.tokens.is_empty(), "no tokens unless configured");
        assert_eq!(c.api.own_page_hours, 168);
    }

    #[test]
    fn short_api_tokens_are_named_without_their_value() {
        let text = format!(
            "{GOOD}\n[api]\ntokens = [\"{}\", \"short-secret\"]\n",
            "x".repeat(40)
        );
        let e = load_str(&text, &[]).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.problems[0].key, "api.tokens[1]");
        assert!(e.to_string().contains("openssl rand"));
        assert!(!e.to_string().contains("short-secret"), "{e}");
    }

    // ---- per-requestor join mode (issue #7) ----

    #[test]
    fn a_requestor_join_mode_overrides_the_global_one_most_specific_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "07".repeat(32)).unwrap();
        let text = GOOD.replace(
            "webhook_secret = \"whs\"",
            "webhook_secret = \"whs\"\noauth_client_id = \"cid\"\noauth_client_secret = \"cs\"\ntoken_key_file = \"key\"",
        ) + r#"
[[requestors.preference]]
sender = "clinic.example"
join_mode = "obf"
[[requestors.preference]]
sender = "er.clinic.example"
join_mode = "link"
[[requestors.preference]]
sender = "Dr.Zak@er.clinic.example"
join_mode = "zak"
[[requestors.preference]]
sender = "other.example"
preferred = ["ana@interpreters.example"]
"#;
        let c = load_str(
            &text,
            &[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())],
        )
        .unwrap();
        let of = |a: &str| {
            c.requestors
                .join_mode_of(&EmailAddress::parse(a).unwrap())
                .map(|(m, rule)| (m, rule.to_string()))
        };
        assert_eq!(
            of("a@clinic.example"),
            Some((JoinMode::Obf, "clinic.example".into()))
        );
        assert_eq!(
            of("a@er.clinic.example"),
            Some((JoinMode::Link, "er.clinic.example".into()))
        );
        assert_eq!(
            of("dr.zak@ER.clinic.example"),
            Some((JoinMode::Zak, "dr.zak@er.clinic.example".into()))
        );
        assert_eq!(
            of("a@other.example"),
            None,
            "a rule without join_mode sets none"
        );
        assert_eq!(of("a@notclinic.example"), None);
        assert_eq!(c.zoom.join_mode, JoinMode::SameAccount);
    }

    #[test]
    fn a_bad_or_unusable_requestor_join_mode_is_named() {
        let text = format!(
            "{GOOD}\n[[requestors.preference]]\nsender = \"clinic.example\"\njoin_mode = \"teleport\"\n\n[[requestors.preference]]\nsender = \"b.example\"\njoin_mode = \"zak\"\n\n[[requestors.preference]]\nsender = \"c.example\"\njoin_mode = \"link\"\n"
        );
        let e = load_str(&text, &[]).unwrap_err();
        let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "requestors.preference[0].join_mode",
                "requestors.preference[1].join_mode"
            ],
            "{e}"
        );
        assert!(
            e.problems[0]
                .message
                .contains("same_account, obf, zak or link"),
            "{e}"
        );
        assert!(e.problems[1].message.contains("oauth_client_id"), "{e}");
        assert_eq!(JoinMode::parse("same_account"), Some(JoinMode::SameAccount));
        assert_eq!(JoinMode::parse("SAME"), None);
    }

    #[test]
    fn the_printed_example_is_valid() {
        let c = load_str(EXAMPLE, &[]);
        assert!(c.is_ok(), "{c:?}");
    }
}
