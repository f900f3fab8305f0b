//! A message the real Postfix refuses for good (550, unknown recipient) is counted as failed
//! and shown with its reason by `dragoman status` (table and `--json`), while the messages
//! queued before and after it are delivered into Dovecot.
//!
//! Needs the test mail stack (`./scripts/mailstack start`, then
//! `eval "$(./scripts/mailstack env)"`); fails saying so when it is missing.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use dragoman::domain::EmailAddress;
use dragoman::outbox::{Mailer, StepReport, Worker};
use dragoman::store::{self, IngestDecision, IngestedMessage, NewEmail};

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the test mail stack; run ./scripts/mailstack start \
             then eval \"$(./scripts/mailstack env)\" (or ./scripts/test)"
        ),
    }
}

fn fresh_id(kind: &str) -> String {
    format!("{kind}.{:016x}@agency.test", rand::random::<u64>())
}

fn email(id: &str, to: &str) -> NewEmail {
    NewEmail {
        message_id: id.into(),
        kind: "offer".into(),
        to: EmailAddress::parse(to).expect("address"),
        subject: "Offer: Spanish→English — status test".into(),
        text: "text\n".into(),
        html: "<p>html</p>".into(),
        in_reply_to: None,
    }
}

/// How many copies of `id` are in `user`'s Dovecot Maildir.
fn copies(root: &Path, user: &str, id: &str) -> usize {
    let needle = format!("<{id}>");
    ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(root.join(user).join("Maildir").join(sub)).ok())
        .flat_map(|d| d.flatten())
        .filter(|e| {
            std::fs::read(e.path())
                .map(|raw| String::from_utf8_lossy(&raw).contains(&needle))
                .unwrap_or(false)
        })
        .count()
}

fn dragoman(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run dragoman");
    assert!(
        out.status.success(),
        "dragoman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[tokio::test]
async fn a_550_recipient_is_failed_shown_in_status_and_does_not_block_the_rest() {
    let port = var("DRAGOMAN_TEST_SMTP_PORT");
    let root = std::path::PathBuf::from(var("DRAGOMAN_TEST_MAILDIR_ROOT"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = common::fresh_sqlite_url(tmp.path());
    let cfg = tmp.path().join("dragoman.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[database]
url = "{db}"
[[mailbox]]
name = "spool"
maildir = "{spool}"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.test"]
[outbound]
transport = "smtp"
from = "dispatch@agency.test"
[smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
timeout = 10
"#,
            spool = tmp.path().join("spool").display()
        ),
    )
    .expect("write config");
    let config = dragoman::config::Config::load(Some(&cfg), tmp.path(), Vec::new())
        .unwrap_or_else(|e| panic!("config rejected: {e}"));
    let store = store::connect(&db).await.expect("open SQLite");
    store.migrate().await.expect("migrate");

    let before = fresh_id("offer");
    let refused = fresh_id("offer");
    let after = fresh_id("offer");
    let now = Utc::now();
    store
        .record_ingest(
            &IngestedMessage {
                mailbox: "spool".into(),
                source_key: fresh_id("msg"),
                message_id: None,
                sha256: "0".repeat(64),
            },
            &IngestDecision::Rejected {
                reason: "test".into(),
                emails: vec![
                    email(&before, "interp12@agency.test"),
                    email(&refused, "nobody-here@agency.test"),
                    email(&after, "interp13@agency.test"),
                ],
            },
            now,
        )
        .await
        .expect("enqueue");

    let worker = Worker::new(store.clone(), Mailer::from_config(&config).expect("mailer"));
    assert_eq!(
        worker.step(now).await.expect("step"),
        StepReport {
            sent: 2,
            retried: 0,
            failed: 1
        }
    );
    // The refused one is not tried again.
    assert_eq!(
        worker
            .step(now + chrono::Duration::days(1))
            .await
            .expect("step")
            .claimed(),
        0
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while copies(&root, "interp12@agency.test", &before) == 0
        || copies(&root, "interp13@agency.test", &after) == 0
    {
        assert!(
            Instant::now() < deadline,
            "the other two were not delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(copies(&root, "interp12@agency.test", &before), 1);
    assert_eq!(copies(&root, "interp13@agency.test", &after), 1);

    // `status --json`: counted, and listed with Postfix's reason.
    let v: serde_json::Value =
        serde_json::from_str(&dragoman(&cfg, &["status", "--json"])).expect("JSON");
    assert_eq!(v["outbox"]["failed"], 1, "{v}");
    assert_eq!(v["outbox"]["sent"], 2, "{v}");
    assert_eq!(v["outbox"]["pending"], 0, "{v}");
    let failures = v["outbox"]["recent_failures"].as_array().expect("a list");
    assert_eq!(failures.len(), 1, "{v}");
    let f = &failures[0];
    assert_eq!(f["to"], "nobody-here@agency.test");
    assert_eq!(f["message_id"], refused.as_str());
    assert_eq!(f["attempts"], 1);
    let error = f["error"].as_str().expect("an error");
    assert!(
        error.starts_with("permanent:") && error.contains("550"),
        "{error}"
    );

    // The table for people says the same.
    let table = dragoman(&cfg, &["status"]);
    let row = table
        .lines()
        .find(|l| l.contains("nobody-here@agency.test"))
        .unwrap_or_else(|| panic!("no failed row in\n{table}"));
    assert!(row.contains("offer") && row.contains("550"), "{row}");
    assert!(table.contains("failed mail"), "{table}");
    assert!(
        table.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .ends_with(&["failed", "1"])),
        "{table}"
    );
}

/// `Store::outbox_failures` on both backends: only jobs given up for good, newest first, with
/// their last error; `limit` respected. (A closed port and one attempt make the failures.)
async fn failures_listed(url: &str) {
    let store = store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let smtp = dragoman::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: closed,
        tls: dragoman::config::TlsMode::None,
        username: None,
        password: None,
        from: None,
        ca_file: None,
        timeout_secs: 5,
    };
    let from = EmailAddress::parse("dispatch@agency.test").expect("address");
    let now = Utc::now();
    let ids: Vec<String> = (0..3).map(|_| fresh_id("offer")).collect();
    for id in &ids {
        store
            .record_ingest(
                &IngestedMessage {
                    mailbox: "spool".into(),
                    source_key: fresh_id("msg"),
                    message_id: None,
                    sha256: "0".repeat(64),
                },
                &IngestDecision::Rejected {
                    reason: "test".into(),
                    emails: vec![email(id, "interp12@agency.test")],
                },
                now,
            )
            .await
            .expect("enqueue");
    }
    assert!(store.outbox_failures(10).await.expect("list").is_empty());
    let worker =
        Worker::new(store.clone(), Mailer::smtp(&smtp, from).expect("mailer")).with_max_attempts(1);
    assert_eq!(worker.step(now).await.expect("step").failed, 3);
    let all = store.outbox_failures(10).await.expect("list");
    let listed: Vec<&str> = all.iter().map(|f| f.message_id.as_str()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    for f in &all {
        assert_eq!(f.recipient, "interp12@agency.test");
        assert_eq!(f.kind, "offer");
        assert_eq!(f.attempts, 1);
        assert!(
            f.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("transient:")),
            "{f:?}"
        );
    }
    assert_eq!(store.outbox_failures(2).await.expect("list").len(), 2);
    assert!(store.outbox_failures(0).await.expect("list").is_empty());
}

#[tokio::test]
async fn outbox_failures_are_listed_newest_first_on_sqlite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    failures_listed(&common::fresh_sqlite_url(tmp.path())).await;
}

#[tokio::test]
async fn outbox_failures_are_listed_newest_first_on_postgres() {
    let db = common::fresh_postgres().await;
    failures_listed(&db.url).await;
}
