//! `dragoman deliver --to ADDRESS < message`, the MTA pipe mode: exit 0 once committed (and
//! again, without a second record, when the MTA retries the same bytes); 75 (EX_TEMPFAIL)
//! when the database cannot be reached, so the MTA keeps the message.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn deliver(config: &Path, to: &str, message: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .arg("--config")
        .arg(config)
        .args(["deliver", "--to", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dragoman deliver");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message)
        .expect("write the message");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(dir: &Path, db_url: &str) -> std::path::PathBuf {
    let path = dir.join("dragoman.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[database]
url = "{db_url}"
[[mailbox]]
name = "spool"
maildir = "{0}/spool"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "{0}/outbox"
"#,
            dir.display()
        ),
    )
    .expect("write config");
    path
}

const MESSAGE: &[u8] = b"From: Dr. Ruiz <ruiz@clinic.example>\r\nTo: undisclosed-recipients:;\r\n\
Subject: Zoom meeting\r\nMessage-ID: <pipe-1@clinic.example>\r\n\r\n\
Join Zoom Meeting\r\nhttps://us02web.zoom.us/j/81234567890?pwd=abc.1\r\n";

#[tokio::test]
async fn deliver_commits_once_and_exits_0_even_when_the_mta_retries() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/dragoman.db", tmp.path().display());
    let cfg = config(tmp.path(), &url);
    let (code, err) = deliver(&cfg, "es-en@agency.test", MESSAGE);
    assert_eq!(code, 0, "{err}");
    let (code, err) = deliver(&cfg, "es-en@agency.test", MESSAGE);
    assert_eq!(code, 0, "a retry is fine too: {err}");
    let store = dragoman::store::connect(&url).await.expect("store");
    let status = store.status(chrono::Utc::now()).await.expect("status");
    assert_eq!(
        status.messages_ingested, 1,
        "the retry recorded nothing new"
    );
}

#[test]
fn deliver_exits_75_when_the_database_is_unavailable() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1: connection refused.
    let cfg = config(
        tmp.path(),
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
    );
    let (code, err) = deliver(&cfg, "es-en@agency.test", MESSAGE);
    assert_eq!(code, 75, "EX_TEMPFAIL so the MTA retries: {err}");
    assert!(
        err.contains("try again later") && err.contains("database"),
        "{err}"
    );
}
