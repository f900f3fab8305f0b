//! The outbox against real servers: Postfix accepting over plain SMTP, STARTTLS + AUTH and
//! implicit TLS + AUTH, delivering into Dovecot, whose Maildirs these tests read back.
//! Started by `./scripts/mailstack start` (or `./scripts/test`), which exports the ports.
//!
//! Owns these stories only. A test never passes without the servers: it fails and says how to
//! start them. It never sleeps to wait: it polls a Maildir for a file with a deadline. Every
//! message has a fresh random Message-ID, so runs and parallel tests never see each other's
//! mail.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use dragoman::config::{SmtpConfig, TlsMode};
use dragoman::domain::EmailAddress;
use dragoman::outbox::{Mailer, StepReport, Worker};
use dragoman::store::{self, IngestDecision, IngestedMessage, NewEmail, Store};
use rand::Rng;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};

const HOW_TO_START: &str = "run ./scripts/mailstack start, or ./scripts/test";

/// The running mail stack, from the variables `scripts/mailstack env` prints.
struct Stack {
    smtp: u16,
    submission: u16,
    smtps: u16,
    ca: PathBuf,
    wrong_ca: PathBuf,
    maildirs: PathBuf,
    password: String,
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: these tests need the test mail stack; {HOW_TO_START} \
             (then eval \"$(./scripts/mailstack env)\")"
        ),
    }
}

fn port(name: &str) -> u16 {
    var(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a port number"))
}

impl Stack {
    fn from_env() -> Stack {
        let s = Stack {
            smtp: port("DRAGOMAN_TEST_SMTP_PORT"),
            submission: port("DRAGOMAN_TEST_SUBMISSION_PORT"),
            smtps: port("DRAGOMAN_TEST_SMTPS_PORT"),
            ca: var("DRAGOMAN_TEST_CA").into(),
            wrong_ca: var("DRAGOMAN_TEST_WRONG_CA").into(),
            maildirs: var("DRAGOMAN_TEST_MAILDIR_ROOT").into(),
            password: var("DRAGOMAN_TEST_MAIL_PASSWORD"),
        };
        if std::net::TcpStream::connect(("127.0.0.1", s.smtp)).is_err() {
            panic!(
                "nothing listens on 127.0.0.1:{} (DRAGOMAN_TEST_SMTP_PORT): {HOW_TO_START}",
                s.smtp
            );
        }
        s
    }

    fn plain(&self) -> SmtpConfig {
        smtp(self.smtp, TlsMode::None, None, None)
    }

    fn auth(&self, port: u16, tls: TlsMode, ca: &Path) -> SmtpConfig {
        let mut c = smtp(port, tls, Some(ca.to_path_buf()), None);
        c.username = Some("dispatch@agency.test".into());
        c.password = Some(dragoman::config::Secret::new(self.password.clone()));
        c
    }

    /// Every delivered copy of the message with this Message-ID in `user`'s Maildir.
    fn copies(&self, user: &str, message_id: &str) -> Vec<Vec<u8>> {
        let needle = format!("<{message_id}>");
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.maildirs.join(user).join("Maildir").join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(raw) = std::fs::read(e.path()) else {
                    continue; // moved between new/ and cur/ meanwhile
                };
                let head_end = find(&raw, b"\r\n\r\n")
                    .or_else(|| find(&raw, b"\n\n"))
                    .unwrap_or(raw.len());
                if find(&raw[..head_end], needle.as_bytes()).is_some() {
                    found.push(raw);
                }
            }
        }
        found
    }

    /// Waits (bounded) until the message is in `user`'s Maildir; returns the one copy.
    async fn delivered(&self, user: &str, message_id: &str) -> mail_parser::Message<'static> {
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(15);
        loop {
            let copies = self.copies(user, message_id);
            match copies.len() {
                0 => {}
                1 => {
                    return mail_parser::MessageParser::default()
                        .parse(&copies[0])
                        .expect("a parsable delivered message")
                        .into_owned()
                }
                n => panic!("{n} copies of {message_id} delivered to {user}"),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{message_id} not delivered to {user} within 15 s; see DRAGOMAN_TEST_MAILSTACK_LOG"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn smtp(port: u16, tls: TlsMode, ca: Option<PathBuf>, user: Option<String>) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: user,
        password: None,
        from: None,
        ca_file: ca,
        timeout_secs: 10,
    }
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn from() -> EmailAddress {
    addr("dispatch@agency.test")
}

/// A Message-ID no other run or test uses.
fn fresh_id(kind: &str) -> String {
    let r: u64 = rand::thread_rng().gen();
    format!("{kind}.{r:016x}@agency.test")
}

fn email(id: &str, to: &str) -> NewEmail {
    NewEmail {
        message_id: id.into(),
        kind: id.split('.').next().unwrap_or("test").into(),
        to: addr(to),
        subject: "Offer: Español→English, Thu 3 Dec 10:00 — Cardiología".into(),
        text: "Open the offer: http://127.0.0.1:8080/offer/abc\n".into(),
        html: "<p>Open the <a href=\"http://127.0.0.1:8080/offer/abc\">offer</a></p>".into(),
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
async fn enqueue(store: &dyn Store, emails: Vec<NewEmail>, now: DateTime<Utc>) {
    let key = fresh_id("msg");
    store
        .record_ingest(
            &IngestedMessage {
                mailbox: "test".into(),
                source_key: key.clone(),
                message_id: None,
                sha256: format!("{:0>64}", key.len()),
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

fn report(sent: usize, retried: usize, failed: usize) -> StepReport {
    StepReport {
        sent,
        retried,
        failed,
    }
}

async fn counts(store: &dyn Store) -> (i64, i64, i64) {
    let s = store.status(Utc::now()).await.expect("status");
    (s.outbox_sent, s.outbox_pending, s.outbox_failed)
}

#[tokio::test]
async fn plain_smtp_delivers_every_message_with_headers_and_both_parts() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let worker = Worker::new(
        store.clone(),
        Mailer::smtp(&stack.plain(), from()).expect("mailer"),
    );
    let offer = fresh_id("offer");
    let confirm = fresh_id("confirmation");
    let received = fresh_id("received");
    let mut reply = email(&received, "requestor@clinic.test");
    reply.in_reply_to = Some("CAFoo.123@mail.clinic.test".into());
    let now = Utc::now();
    enqueue(
        &*store,
        vec![
            email(&offer, "interp1@agency.test"),
            email(&confirm, "interp2@agency.test"),
            reply,
        ],
        now,
    )
    .await;

    assert_eq!(worker.step(now).await.expect("step"), report(3, 0, 0));

    let m = stack.delivered("interp1@agency.test", &offer).await;
    assert_eq!(m.message_id(), Some(offer.as_str()));
    assert_eq!(
        m.subject(),
        Some("Offer: Español→English, Thu 3 Dec 10:00 — Cardiología")
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    let from_hdr = m.from().and_then(|a| a.first()).and_then(|a| a.address());
    assert_eq!(from_hdr, Some("dispatch@agency.test"));
    let to_hdr = m.to().and_then(|a| a.first()).and_then(|a| a.address());
    assert_eq!(to_hdr, Some("interp1@agency.test"));
    assert!(m.date().is_some());
    assert!(m
        .body_text(0)
        .expect("a text part")
        .contains("http://127.0.0.1:8080/offer/abc"));
    assert!(m
        .body_html(0)
        .expect("an HTML part")
        .contains("href=\"http://127.0.0.1:8080/offer/abc\""));
    assert_eq!(m.text_body.len(), 1);
    assert_eq!(m.html_body.len(), 1);

    stack.delivered("interp2@agency.test", &confirm).await;

    let r = stack.delivered("requestor@clinic.test", &received).await;
    assert_eq!(
        r.in_reply_to().as_text(),
        Some("CAFoo.123@mail.clinic.test")
    );
    assert_eq!(r.references().as_text(), Some("CAFoo.123@mail.clinic.test"));
    assert_eq!(
        r.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(counts(&*store).await, (3, 0, 0));
}

#[tokio::test]
async fn starttls_with_auth_against_the_test_ca() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let cfg = stack.auth(stack.submission, TlsMode::Starttls, &stack.ca);
    let worker = Worker::new(store.clone(), Mailer::smtp(&cfg, from()).expect("mailer"));
    let id = fresh_id("offer");
    let now = Utc::now();
    enqueue(&*store, vec![email(&id, "interp3@agency.test")], now).await;
    assert_eq!(worker.step(now).await.expect("step"), report(1, 0, 0));
    let m = stack.delivered("interp3@agency.test", &id).await;
    assert_eq!(m.message_id(), Some(id.as_str()));
}

#[tokio::test]
async fn implicit_tls_with_auth_against_the_test_ca() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let cfg = stack.auth(stack.smtps, TlsMode::Implicit, &stack.ca);
    let worker = Worker::new(store.clone(), Mailer::smtp(&cfg, from()).expect("mailer"));
    let id = fresh_id("offer");
    let now = Utc::now();
    enqueue(&*store, vec![email(&id, "interp4@agency.test")], now).await;
    assert_eq!(worker.step(now).await.expect("step"), report(1, 0, 0));
    stack.delivered("interp4@agency.test", &id).await;
}

#[tokio::test]
async fn a_wrong_ca_is_refused_and_the_job_is_kept_for_a_retry() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let id = fresh_id("offer");
    let now = Utc::now();
    enqueue(&*store, vec![email(&id, "interp5@agency.test")], now).await;

    for (port, tls) in [
        (stack.smtps, TlsMode::Implicit),
        (stack.submission, TlsMode::Starttls),
    ] {
        let wrong = stack.auth(port, tls, &stack.wrong_ca);
        let worker = Worker::new(store.clone(), Mailer::smtp(&wrong, from()).expect("mailer"));
        let at = if tls == TlsMode::Implicit {
            now
        } else {
            now + Duration::hours(2)
        };
        assert_eq!(
            worker.step(at).await.expect("step"),
            report(0, 1, 0),
            "{tls:?}"
        );
        assert_eq!(counts(&*store).await, (0, 1, 0), "{tls:?}");
    }
    assert!(stack.copies("interp5@agency.test", &id).is_empty());

    // The operator fixes the CA: the same job goes out.
    let right = stack.auth(stack.smtps, TlsMode::Implicit, &stack.ca);
    let worker = Worker::new(store.clone(), Mailer::smtp(&right, from()).expect("mailer"));
    assert_eq!(
        worker.step(now + Duration::hours(4)).await.expect("step"),
        report(1, 0, 0)
    );
    stack.delivered("interp5@agency.test", &id).await;
    assert_eq!(counts(&*store).await, (1, 0, 0));
}

#[tokio::test]
async fn a_5xx_recipient_is_failed_and_the_others_are_delivered() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let worker = Worker::new(
        store.clone(),
        Mailer::smtp(&stack.plain(), from()).expect("mailer"),
    );
    let before = fresh_id("offer");
    let bounce = fresh_id("offer");
    let after = fresh_id("offer");
    let now = Utc::now();
    enqueue(
        &*store,
        vec![
            email(&before, "interp6@agency.test"),
            email(&bounce, "bounce@agency.test"),
            email(&after, "interp7@agency.test"),
        ],
        now,
    )
    .await;
    assert_eq!(worker.step(now).await.expect("step"), report(2, 0, 1));
    stack.delivered("interp6@agency.test", &before).await;
    stack.delivered("interp7@agency.test", &after).await;
    assert_eq!(counts(&*store).await, (2, 0, 1));
    // Failed for good: never tried again.
    assert_eq!(
        worker.step(now + Duration::days(1)).await.expect("step"),
        report(0, 0, 0)
    );
}

/// A TCP forwarder in front of Postfix that can be taken down (listener closed and every open
/// connection cut, exactly what the client sees when Postfix stops) and brought back up on the
/// same port. The shared Postfix itself keeps running for the other tests.
struct Outage {
    port: u16,
    upstream: u16,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Mutex<JoinSet<()>>>,
}

impl Outage {
    async fn new(upstream: u16) -> Outage {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            l.local_addr().expect("local addr").port()
        };
        let mut o = Outage {
            port,
            upstream,
            accept: None,
            conns: Arc::new(Mutex::new(JoinSet::new())),
        };
        o.up().await;
        o
    }

    async fn up(&mut self) {
        let sock = TcpSocket::new_v4().expect("socket");
        sock.set_reuseaddr(true).expect("SO_REUSEADDR");
        sock.bind(([127, 0, 0, 1], self.port).into())
            .expect("rebind the proxy port");
        let listener = sock.listen(64).expect("listen");
        let upstream = self.upstream;
        let conns = self.conns.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.lock().await.spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(a) = self.accept.take() {
            a.abort();
            let _ = a.await; // the listener is closed once the task is gone
        }
        self.conns.lock().await.shutdown().await; // every forwarded connection cut
    }
}

#[tokio::test]
async fn postfix_down_then_up_delivers_everything_exactly_once() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let mut outage = Outage::new(stack.smtp).await;
    let worker = Worker::new(
        store.clone(),
        Mailer::smtp(&smtp(outage.port, TlsMode::None, None, None), from()).expect("mailer"),
    );
    let user = "interp8@agency.test";
    let now = Utc::now();

    // A first message leaves a connection in the pool.
    let first = fresh_id("offer");
    enqueue(&*store, vec![email(&first, user)], now).await;
    assert_eq!(worker.step(now).await.expect("step"), report(1, 0, 0));

    // Postfix goes away: the pooled connection dies and new ones are refused. Everything
    // committed meanwhile waits (a whole batch, sent concurrently, not just one message).
    outage.down().await;
    let during = fresh_id("offer");
    let mut batch = vec![email(&during, user)];
    let others: Vec<String> = (0..19).map(|_| fresh_id("offer")).collect();
    batch.extend(others.iter().map(|id| email(id, user)));
    enqueue(&*store, batch, now).await;
    let r = worker.step(now + Duration::seconds(1)).await.expect("step");
    assert_eq!(r, report(0, 20, 0));
    assert_eq!(counts(&*store).await, (1, 20, 0));
    // Still down at the first retry: tried again, kept again.
    let r = worker.step(now + Duration::minutes(2)).await.expect("step");
    assert_eq!(r, report(0, 20, 0));

    // Back up: every job goes out on its next retry, once.
    outage.up().await;
    assert_eq!(
        worker.step(now + Duration::hours(2)).await.expect("step"),
        report(20, 0, 0)
    );
    // A later message to the same mailbox: once it is in, any duplicate of the earlier ones
    // would be too (one queue, one LMTP delivery path, submitted before it).
    let sentinel = fresh_id("offer");
    enqueue(
        &*store,
        vec![email(&sentinel, user)],
        now + Duration::hours(2),
    )
    .await;
    assert_eq!(
        worker.step(now + Duration::hours(3)).await.expect("step"),
        report(1, 0, 0)
    );
    stack.delivered(user, &sentinel).await;
    let during_msg = stack.delivered(user, &during).await;
    assert_eq!(during_msg.message_id(), Some(during.as_str()));
    assert_eq!(stack.copies(user, &first).len(), 1);
    assert_eq!(stack.copies(user, &during).len(), 1);
    for id in &others {
        assert_eq!(stack.copies(user, id).len(), 1, "{id}");
    }
    assert_eq!(counts(&*store).await, (22, 0, 0));
    outage.down().await;
}

/// The `[outbound]` + `[smtp]` keys an operator writes (password from a file, the test CA)
/// reach the server through `Mailer::from_config`.
#[tokio::test]
async fn a_config_file_with_an_smtp_section_sends_through_starttls() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let secret = tmp.path().join("smtp_password");
    std::fs::write(&secret, format!("{}\n", stack.password)).expect("write secret");
    let toml = format!(
        r#"
[database]
url = "sqlite://{db}"
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
tls = "starttls"
username = "dispatch@agency.test"
password_file = "{secret}"
ca_file = "{ca}"
timeout = 10
"#,
        db = tmp.path().join("d.db").display(),
        spool = tmp.path().join("spool").display(),
        port = stack.submission,
        secret = secret.display(),
        ca = stack.ca.display(),
    );
    let path = tmp.path().join("dragoman.toml");
    std::fs::write(&path, toml).expect("write config");
    let config = dragoman::config::Config::load(Some(&path), tmp.path(), Vec::new())
        .unwrap_or_else(|e| panic!("config rejected: {e}"));
    let mailer = Mailer::from_config(&config).expect("mailer from config");
    assert_eq!(
        mailer.describe(),
        format!("smtp:127.0.0.1:{}", stack.submission)
    );
    let id = fresh_id("offer");
    mailer
        .send(&email(&id, "interp10@agency.test"))
        .await
        .expect("send");
    let m = stack.delivered("interp10@agency.test", &id).await;
    let from_hdr = m.from().and_then(|a| a.first()).and_then(|a| a.address());
    assert_eq!(from_hdr, Some("dispatch@agency.test"));
}

/// The daemon is killed while a send hangs (the server accepted the connection and went
/// silent); a restarted worker sends the job once its lease ends, exactly once.
#[tokio::test]
async fn a_worker_killed_mid_send_leaves_the_job_to_its_successor() {
    let stack = Stack::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = sqlite(tmp.path()).await;
    let hole = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hole_port = hole.local_addr().expect("addr").port();
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        let mut tell = Some(accepted_tx);
        while let Ok((s, _)) = hole.accept().await {
            held.push(s); // never answered
            if let Some(t) = tell.take() {
                let _ = t.send(());
            }
        }
    });

    let user = "interp11@agency.test";
    let id = fresh_id("offer");
    let now = Utc::now();
    enqueue(&*store, vec![email(&id, user)], now).await;
    let doomed = Worker::new(
        store.clone(),
        Mailer::smtp(&smtp(hole_port, TlsMode::None, None, None), from()).expect("mailer"),
    );
    let running = tokio::spawn(async move { doomed.step(now).await });
    tokio::time::timeout(StdDuration::from_secs(10), accepted_rx)
        .await
        .expect("the worker never connected")
        .expect("holder gone");
    running.abort(); // the kill
    assert!(running.await.expect_err("aborted").is_cancelled());

    let successor = Worker::new(
        store.clone(),
        Mailer::smtp(&stack.plain(), from()).expect("mailer"),
    );
    // Still leased to the dead worker.
    assert_eq!(
        successor
            .step(now + Duration::seconds(30))
            .await
            .expect("step"),
        report(0, 0, 0)
    );
    assert_eq!(
        successor
            .step(now + Duration::minutes(10))
            .await
            .expect("step"),
        report(1, 0, 0)
    );
    stack.delivered(user, &id).await;
    assert_eq!(counts(&*store).await, (1, 0, 0));
    holder.abort();
}
