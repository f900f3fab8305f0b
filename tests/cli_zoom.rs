//! `dragoman zoom connect-link` and `dragoman zoom connections` as a sysadmin meets them (issue
//! #7): the printed link is the `/oauth/zoom/start?link=…` URL bound to the person, `--send`
//! queues the `zoom_connect` email in the outbox, a deployment without the OAuth app exits 78
//! saying which keys to set, and the connection list never prints a token.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use dragoman::domain::EmailAddress;
use dragoman::store::{SealedTokens, ZoomConnection, ZoomPerson};
use dragoman::zoom::oauth::{verify_connect_link, TokenKey};

const KEY_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";

/// Runs the binary on the embedded default under `dir`, with the Zoom OAuth app configured
/// through the environment when `oauth`.
fn dragoman(dir: &Path, oauth: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dragoman"));
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DRAGOMAN_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY");
    if oauth {
        let key = dir.join("zoom-token-key");
        std::fs::write(&key, KEY_HEX).expect("key file");
        cmd.env("DRAGOMAN__ZOOM__OAUTH_CLIENT_ID", "cid")
            .env("DRAGOMAN__ZOOM__OAUTH_CLIENT_SECRET", "client-secret")
            .env("DRAGOMAN__ZOOM__TOKEN_KEY_FILE", &key);
    }
    cmd.output().expect("run dragoman")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn key() -> TokenKey {
    TokenKey::from_file_bytes(KEY_HEX.as_bytes()).expect("key")
}

/// The `link` parameter of a printed connect URL, checked against the public URL.
fn link_of(url: &str) -> String {
    let prefix = "http://127.0.0.1:8080/oauth/zoom/start?link=";
    assert!(url.starts_with(prefix), "{url}");
    url[prefix.len()..].to_string()
}

async fn store(dir: &Path) -> std::sync::Arc<dyn dragoman::store::Store> {
    dragoman::store::connect(&format!("sqlite://{}/dragoman.db", dir.display()))
        .await
        .expect("the CLI's database")
}

fn add_ana(dir: &Path) {
    let out = dragoman(
        dir,
        false,
        &[
            "interpreter",
            "add",
            "--name",
            "Ana Ruiz",
            "--email",
            "ana@interpreters.example",
            "--pair",
            "es:en",
            "--timezone",
            "Europe/Madrid",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn connect_link_needs_the_oauth_app_and_a_person() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    add_ana(d);
    let out = dragoman(d, false, &["zoom", "connect-link", "--interpreter", "1"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(
        text(&out).contains("oauth_client_id, oauth_client_secret and token_key_file"),
        "{}",
        text(&out)
    );
    // Exactly one of --interpreter / --requestor: a usage error otherwise.
    assert_eq!(
        dragoman(d, true, &["zoom", "connect-link"]).status.code(),
        Some(2)
    );
    assert_eq!(
        dragoman(
            d,
            true,
            &[
                "zoom",
                "connect-link",
                "--interpreter",
                "1",
                "--requestor",
                "a@clinic.example"
            ]
        )
        .status
        .code(),
        Some(2)
    );
    let out = dragoman(d, true, &["zoom", "connect-link", "--interpreter", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("dragoman interpreter list"),
        "{}",
        text(&out)
    );
    let out = dragoman(
        d,
        true,
        &[
            "zoom",
            "connect-link",
            "--requestor",
            "someone@stranger.example",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("allow_domains"), "{}", text(&out));
    let out = dragoman(d, true, &["zoom", "connect-link", "--requestor", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("not an email address"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn connect_link_prints_a_link_bound_to_the_person_and_send_queues_the_email() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    add_ana(d);

    // By id: the URL on stdout, the rest on stderr; nothing queued without --send.
    let out = dragoman(d, true, &["zoom", "connect-link", "--interpreter", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let url = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(
        verify_connect_link(&key(), &link_of(url), Utc::now()),
        Ok(ZoomPerson::Interpreter(1))
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("interpreter 1 <ana@interpreters.example>"),
        "{err}"
    );
    assert!(err.contains("add --send"), "{err}");
    let s = store(d).await;
    let far = Utc::now() + Duration::days(1);
    assert!(s
        .claim_outbox(far, far + Duration::minutes(5), 10)
        .await
        .unwrap()
        .is_empty());

    // By email, with --send: the zoom_connect email carries this very link.
    let out = dragoman(
        d,
        true,
        &[
            "zoom",
            "connect-link",
            "--interpreter",
            "ana@interpreters.example",
            "--send",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["person_kind"], "interpreter");
    assert_eq!(v["person"], "1");
    let url = v["url"].as_str().unwrap().to_string();
    let jobs = s
        .claim_outbox(far, far + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let mail = &jobs[0].email;
    assert_eq!(mail.kind, "zoom_connect");
    assert_eq!(mail.to.as_str(), "ana@interpreters.example");
    assert_eq!(
        Some(mail.message_id.as_str()),
        v["queued_message_id"].as_str()
    );
    assert!(mail.text.contains(&url), "{}", mail.text);
    assert!(mail.text.starts_with("Hello Ana,"), "{}", mail.text);
    assert!(
        mail.text.contains("CET") || mail.text.contains("CEST"),
        "in her zone: {}",
        mail.text
    );
    assert!(mail
        .html
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .contains(&url));
    assert!(
        mail.subject.contains("connect your Zoom account"),
        "{}",
        mail.subject
    );

    // A requestor allowed by [requestors] (the embedded default allows clinic.example).
    let out = dragoman(
        d,
        true,
        &[
            "zoom",
            "connect-link",
            "--requestor",
            "Dr.Ruiz@Clinic.example",
            "--send",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(
        verify_connect_link(&key(), &link_of(&url), Utc::now()),
        Ok(ZoomPerson::Requestor(
            EmailAddress::parse("dr.ruiz@clinic.example").unwrap()
        ))
    );
    let jobs = s
        .claim_outbox(far, far + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].email.to.as_str().to_lowercase(),
        "dr.ruiz@clinic.example"
    );
    assert!(
        jobs[0].email.text.contains("vouches"),
        "{}",
        jobs[0].email.text
    );
}

#[tokio::test]
async fn connections_lists_who_is_connected_and_never_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    add_ana(d);
    let out = dragoman(d, false, &["zoom", "connections"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no Zoom user is connected"),
        "{}",
        text(&out)
    );

    let s = store(d).await;
    let now = Utc::now();
    for (person, user, email) in [
        (
            ZoomPerson::Interpreter(1),
            "zIntUser1",
            Some("ana@zoom.example"),
        ),
        (
            ZoomPerson::Requestor(EmailAddress::parse("dr.ruiz@clinic.example").unwrap()),
            "zHostUser",
            None,
        ),
    ] {
        s.save_zoom_connection(
            &ZoomConnection {
                person,
                zoom_user_id: user.into(),
                zoom_email: email.map(str::to_string),
                tokens: SealedTokens {
                    access: "v1.SEALEDACCESS".into(),
                    refresh: "v1.SEALEDREFRESH".into(),
                    expires_at: now + Duration::hours(1),
                    scope: "user:read:zak".into(),
                },
                version: 1,
                connected_at: now,
            },
            now,
        )
        .await
        .unwrap();
    }
    let out = dragoman(d, false, &["zoom", "connections", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(!t.contains("SEALED"), "no token, sealed or not: {t}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String, String, serde_json::Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["person_kind"].as_str().unwrap().to_string(),
                c["person"].as_str().unwrap().to_string(),
                c["zoom_user_id"].as_str().unwrap().to_string(),
                c["zoom_email"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "requestor".into(),
                "dr.ruiz@clinic.example".into(),
                "zHostUser".into(),
                serde_json::Value::Null
            ),
            (
                "interpreter".into(),
                "1".into(),
                "zIntUser1".into(),
                "ana@zoom.example".into()
            ),
        ]
    );
    let out = dragoman(d, false, &["zoom", "connections"]);
    let t = text(&out);
    assert!(!t.contains("SEALED"), "{t}");
    assert!(
        t.lines().any(|l| l.starts_with("interpreter")
            && l.contains("zIntUser1")
            && l.contains("ana@zoom.example")),
        "{t}"
    );
}
