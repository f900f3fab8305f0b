//! The real daemon killed right after acknowledging webhooks (issue #7): `dragoman run` is
//! started as a child process, a burst of signed `meeting.participant_joined` events is
//! posted, and the process gets SIGKILL as soon as half of them were answered 200. Every
//! acknowledged event must be a stored row; the next start must process every stored event
//! exactly once (one attendance row per participant, attributed by customer_key) without
//! waiting for the retry step; Zoom's retries of the events that got no answer then complete
//! the set, still one row each. SQLite, and PostgreSQL (`TEST_DATABASE_URL`).
//!
//! On PostgreSQL processing is held back for certain: the test's own session holds
//! `LOCK TABLE attendance IN EXCLUSIVE MODE` (reads pass, the worker's insert waits) until
//! the process is dead, so every acknowledged event is unprocessed at the kill. On SQLite (one
//! writer for the whole file, so a lock would stop the intake too) the kill lands under the
//! burst, with the worker behind the writer; a round whose kill found nothing unprocessed
//! proves nothing, so rounds repeat (at most [`SQLITE_ROUNDS`]) until one did.
//!
//! Waits are bounded polls on the database; never a fixed sleep.

#[path = "ops_support/mod.rs"]
mod ops;
#[path = "http_support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use sqlx::{Connection, Executor};
use support::*;

/// Events in the burst, and how many are in flight at once.
const BURST: usize = 400;
const IN_FLIGHT: usize = 32;
/// SIGKILL once this many were answered 200.
const KILL_AFTER: usize = BURST / 2;
const SQLITE_ROUNDS: usize = 5;
/// How long processing after the restart may take: less than the minute after which the
/// retry step first runs, so it is the start-up sweep that must do it.
const SETTLE: Duration = Duration::from_secs(45);

/// The least `run` accepts (a mailbox and a route are required; the Maildir may be empty).
fn config(maildir: &Path, db_url: &str) -> String {
    format!(
        r#"
[database]
url = "{db_url}"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080/"
[[mailbox]]
name = "spool"
maildir = "{maildir}"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[zoom]
webhook_secret = "{WEBHOOK_SECRET}"
[log]
format = "json"
level = "info"
"#,
        maildir = maildir.display()
    )
}

/// `zoom_events`: dedupe key → processed.
async fn stored(url: &str) -> HashMap<String, bool> {
    const Q: &str = "SELECT dedupe_key, processed_at FROM zoom_events";
    let rows: Vec<(String, Option<i64>)> = read_rows(url, Q).await;
    rows.into_iter().map(|(k, p)| (k, p.is_some())).collect()
}

/// `attendance`: participant key → (rows, methods).
async fn attendance(url: &str) -> HashMap<String, (usize, Vec<String>)> {
    const Q: &str = "SELECT participant_key, method FROM attendance";
    let rows: Vec<(String, String)> = read_rows(url, Q).await;
    let mut out: HashMap<String, (usize, Vec<String>)> = HashMap::new();
    for (key, method) in rows {
        let e = out.entry(key).or_default();
        e.0 += 1;
        e.1.push(method);
    }
    out
}

/// Polls until every stored event is processed (bounded by [`SETTLE`]).
async fn all_processed(url: &str, daemon: &mut ops::Daemon) -> HashMap<String, bool> {
    let start = Instant::now();
    loop {
        let rows = stored(url).await;
        if rows.values().all(|p| *p) {
            return rows;
        }
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!("dragoman exited ({status}):\n{}", daemon.log_text());
        }
        assert!(
            start.elapsed() < SETTLE,
            "{} of {} stored events still unprocessed after {SETTLE:?}",
            rows.values().filter(|p| !**p).count(),
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Posts every body (signed with the real clock), [`IN_FLIGHT`] at a time; when `kill_after`
/// is given, SIGKILLs the daemon as soon as that many were answered 200 and keeps going (the
/// rest fail or were answered before the kill). Which ones were answered 200.
async fn post_all(
    base: &str,
    bodies: &[String],
    daemon: &mut ops::Daemon,
    kill_after: Option<usize>,
) -> Vec<bool> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut answers = futures::stream::iter(bodies.iter().enumerate().map(|(i, body)| {
        let client = client.clone();
        async move {
            let status = post_signed(&client, base, Utc::now().timestamp(), body, None).await;
            (i, status)
        }
    }))
    .buffer_unordered(IN_FLIGHT);
    let mut acked = vec![false; bodies.len()];
    let mut ok = 0;
    let mut killed = false;
    while let Some((i, status)) = answers.next().await {
        if matches!(status, Ok(StatusCode::OK)) {
            acked[i] = true;
            ok += 1;
        }
        if !killed && kill_after.is_some_and(|k| ok >= k) {
            daemon.child.kill().expect("SIGKILL");
            killed = true;
        }
    }
    if kill_after.is_some() {
        assert!(killed, "only {ok} answered 200: never killed");
        daemon.child.wait().expect("reap the killed daemon");
    }
    acked
}

/// One kill and restart on `url` (a fresh database). `hold`: PostgreSQL, hold processing
/// back with a table lock until the kill. Returns how many acknowledged events were still
/// unprocessed when the process died.
async fn killed_then_restarted(url: &str, hold: bool) -> usize {
    // The assignment whose customer key the events carry, made through the in-process app
    // on the same database (which also migrates it).
    let seed = {
        let url = url.to_string();
        spawn_app_with(move |c| c.database.url = url).await
    };
    let (accepted, args) = accept_and_join(&seed, "Restart").await;
    let key = args["customerKey"]
        .as_str()
        .expect("customerKey")
        .to_string();
    seed.stop().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("dragoman.toml");
    std::fs::write(&cfg, config(&dir.path().join("spool"), url)).expect("write config");

    let at = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("in range");
    let bodies: Vec<String> = (0..BURST)
        .map(|n| participant_joined(n, at, &key))
        .collect();
    let keys: Vec<String> = bodies
        .iter()
        .map(|b| {
            dragoman::zoom::events::envelope(b.as_bytes(), None)
                .expect("envelope")
                .dedupe_key
        })
        .collect();

    // Run one: the burst, SIGKILL after KILL_AFTER acknowledgements.
    let mut first = ops::Daemon::start(&cfg);
    let mut lock = None;
    if hold {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        c.execute("BEGIN; LOCK TABLE attendance IN EXCLUSIVE MODE")
            .await
            .expect("lock attendance");
        lock = Some(c);
    }
    let base = first.base.clone();
    let acked = post_all(&base, &bodies, &mut first, Some(KILL_AFTER)).await;
    if let Some(mut c) = lock {
        c.execute("ROLLBACK").await.expect("unlock");
    }
    let at_kill = stored(url).await;
    let acked_keys: Vec<&String> = keys
        .iter()
        .zip(&acked)
        .filter_map(|(k, a)| a.then_some(k))
        .collect();
    assert!(acked_keys.len() >= KILL_AFTER);
    for k in &acked_keys {
        assert!(at_kill.contains_key(*k), "acknowledged but not stored: {k}");
    }
    let unprocessed = acked_keys.iter().filter(|k| !at_kill[**k]).count();
    if hold {
        assert_eq!(
            unprocessed,
            acked_keys.len(),
            "processing was held back: every acknowledged event is unprocessed at the kill"
        );
    }
    println!(
        "killed after {} acknowledgements ({} stored, {unprocessed} acknowledged and unprocessed)",
        acked_keys.len(),
        at_kill.len()
    );

    // Run two: processes what run one stored, each event once, before any new post.
    let mut second = ops::Daemon::start(&cfg);
    let after = all_processed(url, &mut second).await;
    assert_eq!(after.len(), at_kill.len(), "nothing stored twice or lost");
    let rows = attendance(url).await;
    assert_eq!(
        rows.len(),
        at_kill.len(),
        "one participant per stored event"
    );
    for (participant, (n, methods)) in &rows {
        assert_eq!(*n, 1, "{participant}: one attendance row, got {n}");
        assert_eq!(methods, &["customer_key"], "{participant}");
    }
    for (n, a) in acked.iter().enumerate() {
        if *a {
            assert!(
                rows.contains_key(&format!("pu-{n}")),
                "acknowledged event {n} processed"
            );
        }
    }

    // Zoom retries what got no 200 (and some that did): all 200, still one row each.
    let retried: Vec<String> = bodies
        .iter()
        .zip(&acked)
        .enumerate()
        .filter(|(n, (_, a))| !**a || n % 10 == 0)
        .map(|(_, (b, _))| b.clone())
        .collect();
    let base = second.base.clone();
    let answered = post_all(&base, &retried, &mut second, None).await;
    assert!(answered.iter().all(|a| *a), "every retry answered 200");
    let done = all_processed(url, &mut second).await;
    assert_eq!(done.len(), BURST);
    let rows = attendance(url).await;
    assert_eq!(rows.len(), BURST);
    assert!(
        rows.values().all(|(n, _)| *n == 1),
        "one row per participant"
    );
    let row = dragoman::store::connect(url)
        .await
        .expect("store")
        .request_detail(accepted.request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(row.attendance.len(), BURST, "all billed to the assignment");

    second.signal("TERM");
    assert_eq!(second.wait_exit(Duration::from_secs(30)), Some(0));
    unprocessed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_a_sigkill_and_are_processed_once_on_sqlite() {
    let mut caught = Vec::new();
    for _ in 0..SQLITE_ROUNDS {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/restart.db", dir.path().display());
        let unprocessed = killed_then_restarted(&url, false).await;
        caught.push(unprocessed);
        if unprocessed > 0 {
            return;
        }
    }
    panic!(
        "no kill in {SQLITE_ROUNDS} rounds left an acknowledged event unprocessed \
         ({caught:?}): the restart path was not exercised"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_a_sigkill_and_are_processed_once_on_postgres() {
    let url = common::fresh_postgres_url().await;
    let unprocessed = killed_then_restarted(&url, true).await;
    assert!(unprocessed >= KILL_AFTER);
    common::drop_postgres(&url).await;
}
