//! Secrets under systemd (SPEC §8, issue #8): every secret key of the configuration has a
//! `LoadCredential=` line in `systemd/dragoman.service`, and the configuration reads each one
//! from `$CREDENTIALS_DIRECTORY` by the credential's name — through the library and through
//! the real binary's `check-config`, which fails naming the key when the directory is not
//! given.
//!
//! No server needed. Never prints a secret's value.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dragoman::config::{Config, MailboxSource};

/// Every secret `*_file` key of the configuration and the credential the unit passes for it.
const SECRETS: &[(&str, &str)] = &[
    ("[[mailbox]] password_file", "imap-password"),
    ("[smtp] password_file", "smtp-password"),
    ("[zoom] sdk_key_file", "zoom-sdk-key"),
    ("[zoom] sdk_secret_file", "zoom-sdk-secret"),
    ("[zoom] webhook_secret_file", "zoom-webhook-secret"),
    (
        "[zoom] oauth_client_secret_file",
        "zoom-oauth-client-secret",
    ),
    ("[zoom] token_key_file", "zoom-token-key"),
    ("[api] tokens_file", "api-tokens"),
];

/// `*_file` keys that name files which are not secrets (a CA certificate is public).
const NOT_SECRETS: &[&str] = &["ca_file"];

const TOKEN_KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The IDs of the unit's `LoadCredential=ID:PATH` lines.
fn unit_credentials() -> BTreeSet<String> {
    let unit = std::fs::read_to_string(repo("systemd/dragoman.service")).expect("read the unit");
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix("LoadCredential="))
        .map(|v| v.split(':').next().unwrap_or(v).to_string())
        .collect()
}

/// A configuration using every secret key, each by its credential's name only.
fn config_text(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"
[database]
url = "sqlite://{d}/dragoman.db"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
[[mailbox]]
name = "imap"
host = "imap.agency.test"
username = "dispatch@agency.test"
password_file = "imap-password"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "smtp"
from = "dispatch@agency.test"
[smtp]
host = "smtp.agency.test"
username = "dispatch@agency.test"
password_file = "smtp-password"
[zoom]
join_mode = "same_account"
sdk_key_file = "zoom-sdk-key"
sdk_secret_file = "zoom-sdk-secret"
webhook_secret_file = "zoom-webhook-secret"
oauth_client_id = "client-id"
oauth_client_secret_file = "zoom-oauth-client-secret"
token_key_file = "zoom-token-key"
[api]
tokens_file = "api-tokens"
"#
    )
}

/// A credentials directory as systemd lays it out: one file per credential, named by its ID.
fn credentials(dir: &Path) {
    for (_, id) in SECRETS {
        let value = match *id {
            "zoom-token-key" => format!("{TOKEN_KEY_HEX}\n"),
            "api-tokens" => format!(
                "# one per line\n{}\n{}\n",
                "first-api-token-".repeat(2),
                "second-api-token-".repeat(2)
            ),
            other => format!("value-of-{other}\n"),
        };
        std::fs::write(dir.join(id), value).expect("write a credential");
    }
}

#[test]
fn the_unit_passes_a_credential_for_every_secret_key_of_the_config() {
    let declared = unit_credentials();
    let wanted: BTreeSet<String> = SECRETS.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(
        declared, wanted,
        "systemd/dragoman.service's LoadCredential= lines and the config's secret keys differ: \
         add the missing LoadCredential= line (and its comment) or the key to SECRETS here"
    );

    // Every `*_file` key the configuration accepts is either a secret listed above or named
    // as not secret: a new secret key cannot be added without its credential.
    let source = std::fs::read_to_string(repo("src/config.rs")).expect("read src/config.rs");
    let keys: BTreeSet<String> = regex::Regex::new(r"\b([a-z_]+_file): Option<PathBuf>")
        .expect("regex")
        .captures_iter(&source)
        .map(|c| c[1].to_string())
        .filter(|k| !NOT_SECRETS.contains(&k.as_str()))
        .collect();
    let listed: BTreeSet<String> = SECRETS
        .iter()
        .map(|(key, _)| key.rsplit(' ').next().unwrap_or(key).to_string())
        .collect();
    assert_eq!(
        keys, listed,
        "src/config.rs has *_file keys this test (and so the unit) does not know"
    );
}

#[test]
fn every_secret_is_read_from_the_credentials_directory_by_name() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let creds = tmp.path().join("credentials");
    std::fs::create_dir(&creds).expect("mkdir");
    credentials(&creds);
    let path = tmp.path().join("dragoman.toml");
    std::fs::write(&path, config_text(tmp.path())).expect("write config");

    let env = vec![(
        "CREDENTIALS_DIRECTORY".to_string(),
        creds.display().to_string(),
    )];
    let c = Config::load(Some(&path), tmp.path(), env).expect("the config loads");

    let MailboxSource::Imap(imap) = &c.mailboxes[0].source else {
        panic!("an IMAP mailbox");
    };
    assert_eq!(imap.password.expose(), "value-of-imap-password");
    let smtp = c.smtp.as_ref().expect("[smtp]");
    assert_eq!(
        smtp.password.as_ref().map(|s| s.expose()),
        Some("value-of-smtp-password")
    );
    assert_eq!(c.zoom.sdk_key.as_deref(), Some("value-of-zoom-sdk-key"));
    assert_eq!(
        c.zoom.sdk_secret.as_ref().map(|s| s.expose()),
        Some("value-of-zoom-sdk-secret")
    );
    assert_eq!(
        c.zoom.webhook_secret.as_ref().map(|s| s.expose()),
        Some("value-of-zoom-webhook-secret")
    );
    let oauth = c.zoom.oauth.as_ref().expect("[zoom] oauth");
    assert_eq!(
        oauth.client_secret.expose(),
        "value-of-zoom-oauth-client-secret"
    );
    // The token key is the credential's: what one seals, the other opens.
    let expected =
        dragoman::zoom::oauth::TokenKey::from_file_bytes(TOKEN_KEY_HEX.as_bytes()).expect("key");
    let sealed = expected.seal("a-token", "context");
    assert_eq!(
        oauth
            .token_key
            .open(&sealed, "context")
            .expect("the configured key opens it")
            .expose(),
        "a-token"
    );
    let tokens: Vec<&str> = c.api.tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(
        tokens,
        ["first-api-token-".repeat(2), "second-api-token-".repeat(2)]
    );
    // The SDK key is a client ID the join page hands to every browser: not kept secret in
    // memory. Every other credential is.
    let debug = format!("{c:?}");
    for (_, id) in SECRETS.iter().filter(|(_, id)| *id != "zoom-sdk-key") {
        assert!(
            !debug.contains(&format!("value-of-{id}")),
            "{id} shows in Debug"
        );
    }
}

#[test]
fn check_config_reads_credentials_and_names_the_key_when_they_are_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let creds = tmp.path().join("credentials");
    std::fs::create_dir(&creds).expect("mkdir");
    credentials(&creds);
    let path = tmp.path().join("dragoman.toml");
    std::fs::write(&path, config_text(tmp.path())).expect("write config");
    let check = |creds: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dragoman"));
        cmd.arg("--config")
            .arg(&path)
            .arg("check-config")
            // Relative *_file paths would otherwise be tried from here.
            .current_dir(tmp.path())
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("RUST_LOG");
        if let Some(dir) = creds {
            cmd.env("CREDENTIALS_DIRECTORY", dir);
        }
        cmd.output().expect("run dragoman check-config")
    };

    let ok = check(Some(&creds));
    assert!(
        ok.status.success(),
        "check-config with the credentials: {}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // Without systemd's directory the relative names resolve to nothing: exit 78, every key
    // named, no value printed.
    let bad = check(None);
    assert_eq!(bad.status.code(), Some(78));
    let err = String::from_utf8_lossy(&bad.stderr).to_string();
    for key in [
        "api.tokens_file",
        "smtp.password_file",
        "zoom.token_key_file",
    ] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
    assert!(!err.contains("value-of-"), "{err}");
}
