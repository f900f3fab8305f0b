//! The daemon killed with SIGKILL in the middle of ingesting a Maildir backlog, then restarted:
//! every message becomes exactly one request, with exactly one offer email per eligible
//! interpreter (SPEC §9: no accepted mail lost, no duplicates from restarts).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MESSAGES: usize = 400;
const INTERPRETERS: usize = 3;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dragoman")
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("dragoman.toml");
    let d = dir.display();
    std::fs::write(
        &path,
        format!(
            r#"
[database]
url = "sqlite://{d}/dragoman.db"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
[[mailbox]]
name = "spool"
maildir = "{d}/spool"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "{d}/outbox"
[log]
format = "text"
level = "warn"
"#
        ),
    )
    .unwrap();
    path
}

fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dragoman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn invitation(n: usize) -> String {
    let id = 81_200_000_000u64 + n as u64;
    format!(
        "From: Dr. Ruiz <ruiz@clinic.example>\r\nTo: es-en@agency.test\r\nSubject: Zoom meeting {n}\r\n\
Message-ID: <crash-{n}@clinic.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: Visit {n}\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/{id}?pwd=QWxwaGFCZXRhR2FtbWE{n}.1\r\n\r\nMeeting ID: {id}\r\nPasscode: 4Xy{n}\r\n"
    )
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Offer emails written to the file outbox (the requestor's "received" replies are written
/// beside them): one per `offer.*` file, plus each offer a digest file (`digest.*`) lists
/// (the worker folds an interpreter's waiting offers into one).
fn offers_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    if name.starts_with("offer.") {
                        1
                    } else if name.starts_with("digest.") {
                        let raw = std::fs::read(e.path()).unwrap_or_default();
                        mail_parser::MessageParser::default()
                            .parse(&raw)
                            .and_then(|m| {
                                m.body_text(0)
                                    .map(|t| t.matches("See it, accept or decline:").count())
                            })
                            .unwrap_or(0)
                    } else {
                        0
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn start(config: &Path, log: &Path) -> Child {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[test]
fn sigkill_mid_batch_then_restart_ingests_every_message_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = write_config(dir);
    cli(&config, &["migrate"]);
    for i in 0..INTERPRETERS {
        cli(
            &config,
            &[
                "interpreter",
                "add",
                "--name",
                &format!("Interp {i}"),
                "--email",
                &format!("i{i}@agency.test"),
                "--pair",
                "es:en",
            ],
        );
        cli(
            &config,
            &[
                "interpreter",
                "online",
                &format!("i{i}@agency.test"),
                "--for",
                "10h",
            ],
        );
    }
    let spool = dragoman::ingest::maildir::Maildir::open(&dir.join("spool")).unwrap();
    for n in 0..MESSAGES {
        spool.deliver(invitation(n).as_bytes()).unwrap();
    }
    let cur = dir.join("spool/cur");
    let new = dir.join("spool/new");

    // First run: killed as soon as it has made some progress.
    let mut child = start(&config, &dir.join("run1.log"));
    wait_until(
        "the first messages to be ingested",
        Duration::from_secs(60),
        || count(&cur) >= 10,
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_before = count(&cur);
    assert!(
        done_before < MESSAGES,
        "the kill came too late to be mid-batch ({done_before} done)"
    );

    // Second run: finishes the backlog, then stops cleanly on SIGTERM.
    let mut child = start(&config, &dir.join("run2.log"));
    wait_until("the backlog to drain", Duration::from_secs(120), || {
        count(&new) == 0
    });
    let outbox = dir.join("outbox");
    wait_until(
        "every offer email to be written",
        Duration::from_secs(60),
        || offers_in(&outbox) >= MESSAGES * INTERPRETERS,
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM should drain and exit 0, got {status}: {}",
        std::fs::read_to_string(dir.join("run2.log")).unwrap_or_default()
    );

    let list: serde_json::Value =
        serde_json::from_str(&cli(&config, &["request", "list", "--json"])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), MESSAGES, "one request per message");
    let mut ids: Vec<&str> = list
        .iter()
        .map(|r| r["meeting_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES, "no request twice");
    assert_eq!(
        offers_in(&outbox),
        MESSAGES * INTERPRETERS,
        "exactly one offer email (or digest entry) per interpreter per request"
    );
    let status: serde_json::Value =
        serde_json::from_str(&cli(&config, &["status", "--json"])).unwrap();
    assert_eq!(status["offers"]["pending"], MESSAGES * INTERPRETERS);
    assert_eq!(status["outbox"]["pending"], 0);
    assert_eq!(count(&cur), MESSAGES);
}
