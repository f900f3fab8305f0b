//! Outbox figures (issue #6), against the test mail stack (`./scripts/mailstack start`, then
//! `eval "$(./scripts/mailstack env)"`):
//!
//! 1. Throughput: `N` committed outbox rows drained by the worker into the local Postfix over
//!    pooled plain SMTP, against the same worker writing `.eml` files (the file transport) in
//!    the same run — the baseline, so the ratio says what SMTP costs.
//! 2. Latency: an outbox row committed → the message found in the interpreter's Dovecot
//!    mailbox over IMAP (`UID SEARCH` polled every 2 ms), with the worker running as in the
//!    daemon (`Worker::run`, poked on commit); baseline: the same message handed straight to
//!    the mailer (no outbox, no store) → found over IMAP.
//!
//! Run: `cargo bench --bench outbox` (`OUTBOX_BENCH_MESSAGES`, default 2000;
//! `OUTBOX_BENCH_SAMPLES`, default 40; `OUTBOX_BENCH_POOL`, SMTP connections and sends at once,
//! default `SMTP_POOL_SIZE`; `OUTBOX_BENCH_BATCH`, jobs claimed per step, default the worker's
//! `BATCH`). Prints one line per figure. SQLite store in a temp
//! dir (the daemon's default). Not a test: it asserts only that nothing failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use dragoman::config::{SmtpConfig, TlsMode};
use dragoman::domain::EmailAddress;
use dragoman::outbox::{Mailer, Worker};
use dragoman::store::{self, IngestDecision, IngestedMessage, NewEmail, Store};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run ./scripts/mailstack start, then eval \"$(./scripts/mailstack env)\""
        )
    })
}

fn from() -> EmailAddress {
    EmailAddress::parse("dispatch@agency.test").expect("address")
}

fn email(id: &str, to: &str) -> NewEmail {
    NewEmail {
        message_id: id.to_string(),
        kind: "offer".into(),
        to: EmailAddress::parse(to).expect("address"),
        subject: "Offer: Spanish→English, Thu 3 Dec 10:00 EST — Cardiology follow-up".into(),
        text: "Dr. Ruiz needs a Spanish→English interpreter.\n\nOpen the offer: \
               http://127.0.0.1:8080/offer/AbCdEfGhIjKlMnOpQrStUvWxYz012345\n\nThis offer is \
               open until Thu 3 Dec 09:30 EST.\n"
            .repeat(3),
        html: "<p>Dr. Ruiz needs a Spanish→English interpreter.</p><p><a \
               href=\"http://127.0.0.1:8080/offer/AbCdEfGhIjKlMnOpQrStUvWxYz012345\">Open the \
               offer</a></p>"
            .repeat(3),
        in_reply_to: None,
    }
}

fn fresh_id(tag: &str) -> String {
    format!("bench-{tag}.{:016x}@agency.test", rand::random::<u64>())
}

async fn sqlite(dir: &std::path::Path) -> Arc<dyn Store> {
    let url = format!(
        "sqlite://{}/bench-{:08x}.db",
        dir.display(),
        rand::random::<u32>()
    );
    let s = store::connect(&url).await.expect("open SQLite");
    s.migrate().await.expect("migrate");
    s
}

/// Commits `emails` as ingest does: one transaction with the record of a message.
async fn commit(store: &dyn Store, emails: Vec<NewEmail>) {
    store
        .record_ingest(
            &IngestedMessage {
                mailbox: "bench".into(),
                source_key: fresh_id("msg"),
                message_id: None,
                sha256: "0".repeat(64),
            },
            &IngestDecision::Rejected {
                reason: "bench".into(),
                emails,
            },
            Utc::now(),
        )
        .await
        .expect("commit outbox rows");
}

/// Fills a fresh store with `n` rows (to interp20..29), then drains it with `mailer`;
/// messages per second.
async fn drain_rate(dir: &std::path::Path, mailer: Mailer, n: usize, batch: i64) -> f64 {
    let store = sqlite(dir).await;
    for chunk in 0..n.div_ceil(100) {
        let emails = (0..100.min(n - chunk * 100))
            .map(|i| {
                email(
                    &fresh_id("tp"),
                    &format!("interp{}@agency.test", 20 + i % 10),
                )
            })
            .collect();
        commit(&*store, emails).await;
    }
    let worker = Worker::new(store.clone(), mailer).with_batch(batch);
    let started = Instant::now();
    let mut sent = 0;
    let now = Utc::now();
    while sent < n {
        let r = worker.step(now).await.expect("step");
        assert_eq!(r.retried + r.failed, 0, "sends failed: {r:?}");
        assert!(r.sent > 0, "stalled at {sent}/{n}");
        sent += r.sent;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

type Imap = async_imap::Session<tokio::net::TcpStream>;

async fn imap_login(user: &str) -> Imap {
    let port: u16 = var("DRAGOMAN_TEST_IMAP_PORT").parse().expect("port");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to Dovecot");
    let mut client = async_imap::Client::new(tcp);
    let _greeting = client.read_response().await;
    let mut s = client
        .login(user, var("DRAGOMAN_TEST_MAIL_PASSWORD"))
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login");
    s.select("INBOX").await.expect("SELECT INBOX");
    s
}

/// Polls until a message with this Message-ID is in the selected mailbox (UIDs ≥ `from_uid`).
async fn wait_found(s: &mut Imap, from_uid: u32, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let query = format!("UID {from_uid}:* HEADER Message-ID \"{id}\"");
    loop {
        s.noop().await.expect("NOOP");
        let found = s.uid_search(&query).await.expect("UID SEARCH");
        if found.iter().any(|u| *u >= from_uid) {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never arrived");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn uid_next(s: &mut Imap) -> u32 {
    let m = s.examine("INBOX").await.expect("EXAMINE");
    let next = m.uid_next.unwrap_or(1);
    s.select("INBOX").await.expect("SELECT");
    next
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms (n={})",
        p(0.5),
        p(0.9),
        ms(*v.last().expect("samples")),
        v.len()
    )
}

async fn latency(samples: usize, pool: u32) -> (Vec<Duration>, Vec<Duration>) {
    let port: u16 = var("DRAGOMAN_TEST_SMTP_PORT").parse().expect("port");
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: None,
        ca_file: None,
        timeout_secs: 10,
    };
    let user = "interp19@agency.test";
    let mut imap = imap_login(user).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let mailer = Mailer::smtp_pooled(&smtp, from(), pool).expect("mailer");
    let worker = Worker::new(store.clone(), mailer.clone());
    let poke = worker.notifier();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    // Warm the pool and the IMAP session (not measured).
    let warm = fresh_id("warm");
    let next = uid_next(&mut imap).await;
    mailer.send(&email(&warm, user)).await.expect("send");
    wait_found(&mut imap, next, &warm).await;

    let mut outbox = Vec::new();
    let mut direct = Vec::new();
    // Interleaved so load on the machine hits both alike.
    for _ in 0..samples {
        let id = fresh_id("lat");
        let next = uid_next(&mut imap).await;
        let t0 = Instant::now();
        commit(&*store, vec![email(&id, user)]).await;
        poke.notify_one();
        wait_found(&mut imap, next, &id).await;
        outbox.push(t0.elapsed());

        let id = fresh_id("direct");
        let next = uid_next(&mut imap).await;
        let t0 = Instant::now();
        mailer.send(&email(&id, user)).await.expect("send");
        wait_found(&mut imap, next, &id).await;
        direct.push(t0.elapsed());
    }
    let _ = stop_tx.send(true);
    let _ = running.await;
    let _ = imap.logout().await;
    (outbox, direct)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run with small counts.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("OUTBOX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 50 } else { 2000 });
    let pool: u32 = std::env::var("OUTBOX_BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(dragoman::outbox::mailer::SMTP_POOL_SIZE);
    let batch: i64 = std::env::var("OUTBOX_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(dragoman::outbox::BATCH);
    let samples: usize = std::env::var("OUTBOX_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 3 } else { 40 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let port: u16 = var("DRAGOMAN_TEST_SMTP_PORT").parse().expect("port");
        let tmp = tempfile::tempdir().expect("tempdir");
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            timeout_secs: 10,
        };
        let file = drain_rate(
            tmp.path(),
            Mailer::file(&tmp.path().join("eml"), from()).expect("file mailer"),
            n,
            batch,
        )
        .await;
        let pooled = drain_rate(
            tmp.path(),
            Mailer::smtp_pooled(&smtp, from(), pool).expect("smtp mailer"),
            n,
            batch,
        )
        .await;
        println!(
            "outbox throughput, {n} messages, batch {batch}: SMTP into Postfix (pool of {pool}) \
             {pooled:.0} msg/s; file transport (baseline) {file:.0} msg/s; ratio SMTP/file {:.2}",
            pooled / file
        );
        // Implicit TLS (SMTPS, port 465 style) with AUTH against the test CA.
        let smtps = SmtpConfig {
            port: var("DRAGOMAN_TEST_SMTPS_PORT").parse().expect("port"),
            tls: TlsMode::Implicit,
            username: Some("dispatch@agency.test".into()),
            password: Some(dragoman::config::Secret::new(var(
                "DRAGOMAN_TEST_MAIL_PASSWORD",
            ))),
            ca_file: Some(var("DRAGOMAN_TEST_CA").into()),
            ..smtp.clone()
        };
        let tls = drain_rate(
            tmp.path(),
            Mailer::smtp_pooled(&smtps, from(), pool).expect("smtps mailer"),
            n,
            batch,
        )
        .await;
        println!(
            "outbox throughput, {n} messages: implicit TLS + AUTH into Postfix (pool of {pool}) \
             {tls:.0} msg/s; ratio to the file baseline {:.2}, to plain SMTP {:.2}",
            tls / file,
            tls / pooled
        );
        let (outbox, direct) = latency(samples, pool).await;
        let med = |v: &[Duration]| {
            let mut v = v.to_vec();
            v.sort();
            v[v.len() / 2]
        };
        let ratio = med(&outbox).as_secs_f64() / med(&direct).as_secs_f64();
        println!(
            "commit -> Dovecot (IMAP) through the outbox: {}",
            summary(outbox.clone())
        );
        println!(
            "send -> Dovecot (IMAP) straight through the mailer (baseline): {}",
            summary(direct)
        );
        println!("latency ratio outbox/direct (medians): {ratio:.2}");
    });
}
