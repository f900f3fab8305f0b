//! The outbox worker against the real SQLite store and the file transport: jobs are sent and
//! marked, a crash between send and mark re-sends the same message once, transient failures
//! back off and are given up after the attempt limit, and `run` obeys pokes and shutdown.
//!
//! Owns nothing but these stories. It never sleeps to wait for something: it drives
//! `Worker::step` with chosen instants, and polls the outbox directory with a deadline only
//! where the real loop is under test.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::domain::EmailAddress;
use dragoman::outbox::{Mailer, StepReport, Worker, MAX_ATTEMPTS};
use dragoman::store::{self, IngestDecision, IngestedMessage, NewEmail, Store};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn from() -> EmailAddress {
    addr("dispatch@agency.test")
}

fn email(id: &str, to: &str) -> NewEmail {
    NewEmail {
        message_id: id.into(),
        kind: "offer".into(),
        to: addr(to),
        subject: "Offer: Spanish→English".into(),
        text: "text part".into(),
        html: "<p>html part</p>".into(),
        in_reply_to: None,
    }
}

async fn sqlite(dir: &Path) -> Arc<dyn Store> {
    let store = store::connect(&common::fresh_sqlite_url(dir))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate");
    store
}

/// Commits emails to the outbox the way ingest does: with the record of a rejected message.
async fn enqueue(store: &dyn Store, key: &str, emails: Vec<NewEmail>, now: DateTime<Utc>) {
    store
        .record_ingest(
            &IngestedMessage {
                mailbox: "test".into(),
                source_key: key.into(),
                message_id: None,
                sha256: format!("{key:0>64}"),
            },
            &IngestDecision::Rejected {
                reason: "test".into(),
                emails,
            },
            now,
        )
        .await
        .expect("record ingest");
}

fn eml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read outbox dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn due_jobs_are_sent_once_and_marked_sent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    enqueue(
        &*store,
        "m1",
        vec![
            email("offer.a@agency.test", "interp1@agency.test"),
            email("offer.b@agency.test", "interp2@agency.test"),
            email("offer.c@agency.test", "interp3@agency.test"),
        ],
        t0(),
    )
    .await;

    let r = worker.step(t0()).await.expect("step");
    assert_eq!(
        r,
        StepReport {
            sent: 3,
            retried: 0,
            failed: 0
        }
    );
    assert_eq!(
        eml_files(&out),
        [
            "offer.a@agency.test.eml",
            "offer.b@agency.test.eml",
            "offer.c@agency.test.eml"
        ]
    );
    let raw = std::fs::read(out.join("offer.b@agency.test.eml")).expect("read eml");
    let msg = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parse");
    assert_eq!(msg.message_id(), Some("offer.b@agency.test"));
    assert_eq!(
        msg.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );

    // Nothing is sent twice.
    let r = worker.step(t0() + Duration::hours(3)).await.expect("step");
    assert_eq!(r, StepReport::default());
    let s = store.status(t0()).await.expect("status");
    assert_eq!(
        (s.outbox_sent, s.outbox_pending, s.outbox_failed),
        (3, 0, 0)
    );
}

#[tokio::test]
async fn crash_between_send_and_mark_resends_the_same_message_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let out = tmp.path().join("outbox");
    let mailer = Mailer::file(&out, from()).expect("file mailer");
    enqueue(
        &*store,
        "m1",
        vec![email("confirm.x@agency.test", "interp1@agency.test")],
        t0(),
    )
    .await;

    // A worker claims the job, sends it, and dies before marking it.
    let lease_until = t0() + Duration::minutes(2);
    let jobs = store
        .claim_outbox(t0(), lease_until, 50)
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1);
    mailer.send(&jobs[0].email).await.expect("send");

    // While the dead worker's lease holds, nobody else takes the job.
    let worker = Worker::new(store.clone(), mailer);
    let r = worker
        .step(t0() + Duration::seconds(60))
        .await
        .expect("step");
    assert_eq!(r, StepReport::default());

    // After it, the job is sent again: same Message-ID, so the same file, one copy.
    let r = worker
        .step(lease_until + Duration::seconds(1))
        .await
        .expect("step");
    assert_eq!(r.sent, 1);
    assert_eq!(eml_files(&out), ["confirm.x@agency.test.eml"]);
    let r = worker.step(t0() + Duration::hours(5)).await.expect("step");
    assert_eq!(r, StepReport::default());
}

#[tokio::test]
async fn transient_failures_back_off_and_are_given_up_after_the_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    // The outbox directory becomes a plain file: every write fails (even for root).
    std::fs::remove_dir(&out).expect("remove dir");
    std::fs::write(&out, b"not a directory").expect("write file");
    enqueue(
        &*store,
        "m1",
        vec![email("offer.z@agency.test", "interp1@agency.test")],
        t0(),
    )
    .await;

    let r = worker.step(t0()).await.expect("step");
    assert_eq!(r.retried, 1);
    // The first retry waits 15–30 s (30 s with jitter in its upper half).
    let r = worker
        .step(t0() + Duration::seconds(14))
        .await
        .expect("step");
    assert_eq!(r.claimed(), 0, "retried before its backoff");
    let mut now = t0() + Duration::seconds(31);
    let r = worker.step(now).await.expect("step");
    assert_eq!(r.retried, 1, "not retried after its backoff");

    // Attempts 3.. go on (an hour apart at most) until the limit, then the job is failed.
    let mut attempts = 2;
    loop {
        now += Duration::hours(1) + Duration::seconds(1);
        let r = worker.step(now).await.expect("step");
        assert_eq!(r.claimed(), 1, "attempt {} never claimed", attempts + 1);
        attempts += 1;
        if r.failed == 1 {
            break;
        }
        assert!(attempts < MAX_ATTEMPTS + 1, "never given up");
    }
    assert_eq!(attempts, MAX_ATTEMPTS);
    let s = store.status(now).await.expect("status");
    assert_eq!(
        (s.outbox_sent, s.outbox_pending, s.outbox_failed),
        (0, 0, 1)
    );
    let r = worker.step(now + Duration::days(2)).await.expect("step");
    assert_eq!(r, StepReport::default());
}

#[tokio::test]
async fn run_sends_when_poked_and_returns_on_shutdown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    let poke = worker.notifier();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stop_rx.await;
    }));

    // The real loop reads the real clock: enqueue as of now.
    enqueue(
        &*store,
        "m1",
        vec![email("offer.run@agency.test", "interp1@agency.test")],
        Utc::now(),
    )
    .await;
    poke.notify_one();
    let file = out.join("offer.run@agency.test.eml");
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while !file.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the running worker never sent the job"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }

    stop_tx.send(()).expect("worker still running");
    tokio::time::timeout(StdDuration::from_secs(10), running)
        .await
        .expect("run did not return after shutdown")
        .expect("run panicked");
    let s = store.status(Utc::now()).await.expect("status");
    assert_eq!(s.outbox_sent, 1);
}

/// Two workers stepping at once over the same outbox: every job is sent by exactly one of
/// them (leases, and SKIP LOCKED on PostgreSQL).
async fn two_workers_share_without_overlap(store: Arc<dyn Store>, out: &Path) {
    const JOBS: usize = 120;
    let now = t0();
    for chunk in 0..JOBS / 40 {
        let emails = (0..40)
            .map(|i| {
                email(
                    &format!("offer.{chunk}-{i}@agency.test"),
                    "interp1@agency.test",
                )
            })
            .collect();
        enqueue(&*store, &format!("m{chunk}"), emails, now).await;
    }
    let a = Worker::new(
        store.clone(),
        Mailer::file(out, from()).expect("file mailer"),
    )
    .with_batch(7);
    let b = Worker::new(
        store.clone(),
        Mailer::file(out, from()).expect("file mailer"),
    )
    .with_batch(7);
    let mut total = 0;
    loop {
        let (ra, rb) = tokio::join!(a.step(now), b.step(now));
        let (ra, rb) = (ra.expect("step a"), rb.expect("step b"));
        assert_eq!(ra.retried + ra.failed + rb.retried + rb.failed, 0);
        if ra.claimed() + rb.claimed() == 0 {
            break;
        }
        total += ra.sent + rb.sent;
    }
    assert_eq!(total, JOBS, "some job was sent twice, or never");
    assert_eq!(eml_files(out).len(), JOBS);
    let s = store.status(now).await.expect("status");
    assert_eq!(s.outbox_sent, JOBS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_send_the_same_job_sqlite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    two_workers_share_without_overlap(store, &tmp.path().join("outbox")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_send_the_same_job_postgres() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = common::fresh_postgres_url().await;
    let store = store::connect(&url).await.expect("open PostgreSQL");
    store.migrate().await.expect("migrate");
    two_workers_share_without_overlap(store.clone(), &tmp.path().join("outbox")).await;
    drop(store);
    common::drop_postgres(&url).await;
}
