//! The daemon binary watching a real Dovecot folder, killed with SIGKILL in the middle of a
//! batch and restarted: every message recorded exactly once, every one marked \Seen, none
//! deleted; then `status --json` shows the mailbox's health.

#[path = "common/imap.rs"]
mod imap_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use imap_common::*;

const MESSAGES: usize = 300;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dragoman")
}

fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run dragoman");
    assert!(
        out.status.success(),
        "dragoman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn start(config: &Path, log: &Path) -> Child {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start the daemon")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_restart_ingests_every_imap_message_exactly_once() {
    let env = mail_env();
    let mut admin = admin(&env, USER).await;
    let folder = fresh_folder(&mut admin).await;
    for n in 0..MESSAGES {
        append(&mut admin, &folder, &invitation("kill", n), None).await;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let db = format!("sqlite://{}/dragoman.db", dir.display());
    let config = write_config(dir, &db, &mailbox_toml(&env, "imap", &folder, "none", None));
    cli(&config, &["migrate"]);
    let store = dragoman::store::connect(&db).await.expect("open the store");
    let ingested = || {
        let store = store.clone();
        async move {
            store
                .status(chrono::Utc::now())
                .await
                .expect("status")
                .messages_ingested as usize
        }
    };

    let mut child = start(&config, &dir.join("run1.log"));
    eventually("the first messages", Duration::from_secs(30), || async {
        ingested().await >= 20
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let before = ingested().await;
    assert!(
        before < MESSAGES,
        "the kill came too late to be mid-batch ({before} done)"
    );

    let mut child = start(&config, &dir.join("run2.log"));
    let t0 = std::time::Instant::now();
    while ingested().await < MESSAGES {
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "the restart did not drain the backlog within 60 s ({} of {MESSAGES}); its log:\n{}",
                ingested().await,
                std::fs::read_to_string(dir.join("run2.log")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t0.elapsed();
    eprintln!("killed after {before}; the restart drained the rest in {took:?}");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = child.wait().expect("reaped");
    assert!(
        status.success(),
        "SIGTERM drains and exits 0, got {status}: {}",
        std::fs::read_to_string(dir.join("run2.log")).unwrap_or_default()
    );

    assert_eq!(ingested().await, MESSAGES, "every message exactly once");
    let requests: i64 = store
        .status(chrono::Utc::now())
        .await
        .expect("status")
        .requests
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(requests as usize, MESSAGES, "one request per invitation");
    let flags = flags_in(&mut admin, &folder).await;
    assert_eq!(flags.len(), MESSAGES, "nothing deleted");
    assert!(
        flags.iter().all(|(_, seen)| *seen),
        "every message marked after commit"
    );

    let status: serde_json::Value =
        serde_json::from_str(&cli(&config, &["status", "--json"])).expect("json");
    let mailbox = status["mailboxes"]
        .as_array()
        .expect("mailboxes")
        .iter()
        .find(|m| m["name"] == "imap")
        .expect("the IMAP mailbox is listed")
        .clone();
    assert_eq!(mailbox["kind"], "imap");
    assert_eq!(mailbox["backlog"], 0, "{mailbox}");
    assert!(mailbox["last_contact_at"].is_string(), "{mailbox}");
}
