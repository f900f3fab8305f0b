//! Offer digests (issue #6, SPEC §7 "offer (possibly several in one digest)"): several unsent
//! offer emails to one interpreter leave as one mail listing each offer with its own link;
//! offers closed before their email left are left out; a digest of one is the offer mail
//! itself; a job tried before is never folded; a digest is a row before it is sent, so a crash
//! re-sends that one digest with the same `Message-ID`. On SQLite and PostgreSQL with the file
//! transport, and once through the real Postfix into Dovecot, read back over IMAP.
//!
//! Owns these stories only. Never sleeps to wait, except polling IMAP with a deadline.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::config::{SmtpConfig, TlsMode};
use dragoman::domain::{EmailAddress, Interpreter, LanguagePair, Meeting, NewInterpreter, Token};
use dragoman::outbox::templates::{Message, Templates};
use dragoman::outbox::{compose, digest_message_id, Mailer, StepReport, Worker};
use dragoman::store::{
    self, IngestDecision, IngestOutcome, IngestedMessage, NewOffer, NewRequest, Store,
};

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

const PUBLIC: &str = "https://dragoman.test";

async fn interpreter(store: &dyn Store, name: &str, email: &str) -> Interpreter {
    store
        .add_interpreter(
            &NewInterpreter {
                name: name.into(),
                email: addr(email),
                pairs: vec![LanguagePair::parse("es:en").expect("pair")],
                timezone: "Europe/Madrid".into(),
            },
            t0(),
        )
        .await
        .expect("add interpreter")
}

/// A request for a meeting `hours` after t0, offered to `who` (each offer open until
/// `expires`), the offer emails rendered by the real templates. Returns each offer's link
/// and its email's Message-ID, in `who` order.
async fn request(
    store: &dyn Store,
    tag: &str,
    hours: i64,
    who: &[(&Interpreter, DateTime<Utc>)],
) -> Vec<(String, String)> {
    let templates = Templates::load(None).expect("templates");
    let meeting = Meeting {
        meeting_id: Some(format!("8123456{hours:04}")),
        passcode: Some("s3cret9".into()),
        join_url: format!("https://us02web.zoom.us/j/8123456{hours:04}?pwd=abc.1"),
        host: "us02web.zoom.us".into(),
        kind: "meeting".into(),
        topic: Some(format!("Clinic visit {tag}")),
        start: Some(t0() + Duration::hours(hours)),
        timezone: Some("America/New_York".into()),
    };
    let new = NewRequest {
        meeting: meeting.clone(),
        pair: LanguagePair::parse("es:en").expect("pair"),
        requestor: addr("requestor@clinic.test"),
        route_address: "es-en@agency.test".into(),
        calendar: None,
    };
    // What the templates see (the id is not known yet, as in ingest).
    let preview = dragoman::domain::Request {
        id: 0,
        state: dragoman::domain::RequestState::Offered,
        meeting,
        pair: new.pair.clone(),
        requestor: new.requestor.clone(),
        route_address: new.route_address.clone(),
        epoch: 0,
        created_at: t0(),
    };
    let mut offers = Vec::new();
    let mut out = Vec::new();
    for (i, expires_at) in who {
        let token = Token::generate();
        let url = format!("{PUBLIC}/offer/{}", token.expose());
        let rendered = templates
            .render(&Message::Offer {
                interpreter: i,
                request: &preview,
                offer_url: url.clone(),
                expires_at: *expires_at,
            })
            .expect("render offer");
        let email = compose("offer", &i.email, &from(), rendered, None);
        out.push((url, email.message_id.clone()));
        offers.push(NewOffer {
            interpreter_id: i.id,
            token_hash: token.hash(),
            expires_at: *expires_at,
            email,
        });
    }
    let outcome = store
        .record_ingest(
            &IngestedMessage {
                mailbox: "test".into(),
                source_key: format!("key-{tag}"),
                message_id: None,
                sha256: format!("{tag:0>64}"),
            },
            &IngestDecision::Request {
                request: new,
                offers,
                emails: vec![],
                dispatch: None,
            },
            t0(),
        )
        .await
        .expect("record ingest");
    assert!(matches!(outcome, IngestOutcome::Created(_)), "{outcome:?}");
    out
}

fn report(sent: usize, retried: usize, failed: usize) -> StepReport {
    StepReport {
        sent,
        retried,
        failed,
    }
}

/// The `.eml` files the file transport wrote, by name, parsed.
fn written(dir: &Path) -> Vec<(String, mail_parser::Message<'static>)> {
    let mut out: Vec<(String, mail_parser::Message<'static>)> = std::fs::read_dir(dir)
        .expect("read outbox dir")
        .map(|e| {
            let e = e.expect("dir entry");
            let raw = std::fs::read(e.path()).expect("read eml");
            let m = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("parsable")
                .into_owned();
            (e.file_name().to_string_lossy().into_owned(), m)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn text_of(m: &mail_parser::Message<'_>) -> String {
    m.body_text(0).expect("a text part").into_owned()
}

fn html_of(m: &mail_parser::Message<'_>) -> String {
    m.body_html(0)
        .expect("an HTML part")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

/// Three offers to Ana (one closed before anything is sent), one to Ben: Ana gets one digest
/// with the two open offers, each with its own link; Ben gets his offer mail itself.
async fn digest_story(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let ana = interpreter(&*store, "Ana Ruiz", "ana@agency.test").await;
    let ben = interpreter(&*store, "Ben Stone", "ben@agency.test").await;
    let open = t0() + Duration::minutes(90);
    let r1 = request(&*store, "a", 5, &[(&ana, open), (&ben, open)]).await;
    // Closes before the worker runs: left out.
    let r2 = request(&*store, "b", 3, &[(&ana, t0() + Duration::minutes(10))]).await;
    let r3 = request(&*store, "c", 2, &[(&ana, t0() + Duration::minutes(45))]).await;

    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    let now = t0() + Duration::minutes(15);
    assert_eq!(worker.step(now).await.expect("step"), report(2, 0, 0));
    assert_eq!(
        worker.step(now).await.expect("step"),
        report(0, 0, 0),
        "nothing left: the folded and the closed jobs never go out"
    );

    let mails = written(&out);
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    let digest_id = digest_message_id(&r1[0].1);
    let (_, digest) = mails
        .iter()
        .find(|(_, m)| m.message_id() == Some(digest_id.as_str()))
        .unwrap_or_else(|| panic!("no mail with Message-ID {digest_id}"));
    assert_eq!(
        digest
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("ana@agency.test")
    );
    let subject = digest.subject().expect("subject");
    assert!(
        subject.starts_with("2 offers: Spanish→English"),
        "{subject}"
    );
    let text = text_of(digest);
    let html = html_of(digest);
    for part in [&text, &html] {
        assert!(part.contains(&r1[0].0), "offer a's link missing:\n{part}");
        assert!(part.contains(&r3[0].0), "offer c's link missing:\n{part}");
        assert!(
            !part.contains(&r2[0].0),
            "the closed offer is left out:\n{part}"
        );
        assert!(!part.contains("s3cret9") && !part.contains("pwd=abc"));
    }
    // Soonest meeting first; times in Ana's zone; how long each stays open (from `now`).
    let (c, a) = (
        text.find("Clinic visit c").expect("c listed"),
        text.find("Clinic visit a").expect("a listed"),
    );
    assert!(c < a, "soonest first:\n{text}");
    assert!(
        text.contains("When:    Fri 27 Nov 2026 12:00 CET"),
        "{text}"
    );
    assert!(
        text.contains("Open for 30 min more, until Fri 27 Nov 2026 10:45 CET"),
        "{text}"
    );
    assert!(text.contains("Open for 1 h 15 min more"), "{text}");
    assert_eq!(
        text.matches("/offer/").count(),
        3,
        "two offers and one /me link:\n{text}"
    );

    // Ben's single offer is his ordinary offer mail, under its own Message-ID.
    assert!(
        mails
            .iter()
            .any(|(_, m)| m.message_id() == Some(r1[1].1.as_str())
                && text_of(m).contains(&r1[1].0)),
        "Ben's offer mail"
    );
    let s = store.status(now).await.expect("status");
    assert_eq!(
        (s.outbox_pending, s.outbox_failed, s.outbox_sent),
        (0, 0, 2)
    );
}

#[tokio::test]
async fn several_unsent_offers_to_one_interpreter_leave_as_one_digest_sqlite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = store::connect(&common::fresh_sqlite_url(tmp.path()))
        .await
        .expect("open SQLite");
    digest_story(store).await;
}

#[tokio::test]
async fn several_unsent_offers_to_one_interpreter_leave_as_one_digest_postgres() {
    let db = common::fresh_postgres().await;
    let store = store::connect(&db.url).await.expect("open PostgreSQL");
    digest_story(store.clone()).await;
    drop(store);
}

/// Two offers to Ana, one closed by send time: the open one leaves as its own offer mail
/// (a digest of one is the offer mail); the closed one never leaves.
async fn digest_of_one_story(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let ana = interpreter(&*store, "Ana Ruiz", "ana@agency.test").await;
    let a = request(&*store, "a", 5, &[(&ana, t0() + Duration::minutes(5))]).await;
    let b = request(&*store, "b", 6, &[(&ana, t0() + Duration::minutes(90))]).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    let now = t0() + Duration::minutes(6);
    assert_eq!(worker.step(now).await.expect("step"), report(1, 0, 0));
    let mails = written(&out);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].1.message_id(), Some(b[0].1.as_str()));
    assert!(text_of(&mails[0].1).contains(&b[0].0));
    assert!(!text_of(&mails[0].1).contains(&a[0].0));
}

#[tokio::test]
async fn a_digest_of_one_is_the_offer_mail_itself_sqlite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = store::connect(&common::fresh_sqlite_url(tmp.path()))
        .await
        .expect("open SQLite");
    digest_of_one_story(store).await;
}

#[tokio::test]
async fn a_digest_of_one_is_the_offer_mail_itself_postgres() {
    let db = common::fresh_postgres().await;
    let store = store::connect(&db.url).await.expect("open PostgreSQL");
    digest_of_one_story(store.clone()).await;
    drop(store);
}

/// Crash safety. (1) Offer jobs claimed by a worker that died before marking them may have
/// reached Ana: after the lease they go out again as themselves, with their own Message-IDs,
/// never folded into a digest. (2) A digest is written (claimed) before it is sent: a worker
/// dying between writing or sending it and marking it leaves that digest row, which goes out
/// after the lease with the same Message-ID; its members never go out; folding the same jobs
/// again is refused.
async fn crash_story(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let ana = interpreter(&*store, "Ana Ruiz", "ana@agency.test").await;
    let open = t0() + Duration::hours(3);
    let a = request(&*store, "a", 5, &[(&ana, open)]).await;
    let b = request(&*store, "b", 6, &[(&ana, open)]).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("outbox");
    let worker = Worker::new(
        store.clone(),
        Mailer::file(&out, from()).expect("file mailer"),
    );
    let lease = chrono::Duration::from_std(worker.lease()).expect("lease");

    // (1) A worker claims both and dies.
    let claimed = store
        .claim_outbox(t0(), t0() + lease, 50)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|j| j.offer_id.is_some()));
    let after = t0() + lease + Duration::seconds(1);
    assert_eq!(worker.step(after).await.expect("step"), report(2, 0, 0));
    let mut ids: Vec<String> = written(&out)
        .iter()
        .map(|(_, m)| m.message_id().expect("id").to_string())
        .collect();
    ids.sort();
    let mut want = vec![a[0].1.clone(), b[0].1.clone()];
    want.sort();
    assert_eq!(ids, want, "tried jobs go out as themselves");

    // (2) Two more; a worker folds them into a digest row and dies before sending it.
    let c = request(&*store, "c", 7, &[(&ana, open)]).await;
    let d = request(&*store, "d", 8, &[(&ana, open)]).await;
    let t1 = after + Duration::minutes(1);
    let claimed = store.claim_outbox(t1, t1 + lease, 1).await.expect("claim");
    assert_eq!(
        claimed.len(),
        2,
        "the interpreter's other unsent offer comes with the first, beyond the limit"
    );
    let digest_email = {
        let mut e = dragoman::store::NewEmail {
            message_id: digest_message_id(&c[0].1),
            kind: "offer_digest".into(),
            to: ana.email.clone(),
            subject: "2 offers".into(),
            text: format!("{}\n{}\n", c[0].0, d[0].0),
            html: "<p>2 offers</p>".into(),
            in_reply_to: None,
        };
        e.subject.push_str(": test");
        e
    };
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    let job = store
        .outbox_digest(&ids, &[], Some(&digest_email), t1 + lease, t1)
        .await
        .expect("fold")
        .expect("the digest job");
    assert_eq!(job.attempts, 1);
    assert_eq!(job.email.message_id, digest_email.message_id);
    assert!(
        store
            .outbox_digest(&ids, &[], Some(&digest_email), t1 + lease, t1)
            .await
            .expect("fold again")
            .is_none(),
        "the same digest cannot be written twice"
    );
    // Still leased to the dead worker.
    assert_eq!(
        worker.step(t1 + Duration::seconds(5)).await.expect("step"),
        report(0, 0, 0)
    );
    let t2 = t1 + lease + Duration::seconds(1);
    assert_eq!(worker.step(t2).await.expect("step"), report(1, 0, 0));
    let mails = written(&out);
    assert_eq!(mails.len(), 3);
    let digest = mails
        .iter()
        .find(|(_, m)| m.message_id() == Some(digest_email.message_id.as_str()))
        .expect("the digest, with its Message-ID");
    assert!(text_of(&digest.1).contains(&d[0].0));
    assert_eq!(worker.step(t2).await.expect("step"), report(0, 0, 0));
    let s = store.status(t2).await.expect("status");
    assert_eq!((s.outbox_pending, s.outbox_sent), (0, 3));
}

#[tokio::test]
async fn digests_keep_the_crash_safety_of_the_outbox_sqlite() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = store::connect(&common::fresh_sqlite_url(tmp.path()))
        .await
        .expect("open SQLite");
    crash_story(store).await;
}

#[tokio::test]
async fn digests_keep_the_crash_safety_of_the_outbox_postgres() {
    let db = common::fresh_postgres().await;
    let store = store::connect(&db.url).await.expect("open PostgreSQL");
    crash_story(store.clone()).await;
    drop(store);
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the test mail stack; run ./scripts/mailstack \
             start, then eval \"$(./scripts/mailstack env)\" (or run ./scripts/test)"
        ),
    }
}

/// Through the real Postfix into Dovecot: one mail in the interpreter's INBOX, read back over
/// IMAP, with one link per offer.
#[tokio::test]
async fn a_digest_reaches_dovecot_as_one_mail_with_every_link() {
    let smtp_port: u16 = var("DRAGOMAN_TEST_SMTP_PORT").parse().expect("port");
    let imap_port: u16 = var("DRAGOMAN_TEST_IMAP_PORT").parse().expect("port");
    let password = var("DRAGOMAN_TEST_MAIL_PASSWORD");
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = store::connect(&common::fresh_sqlite_url(tmp.path()))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate");
    let user = "interp12@agency.test";
    let ana = interpreter(&*store, "Ana Ruiz", user).await;
    // Fresh tags: this mailbox keeps earlier runs' mail.
    let run = format!("{:08x}", rand::random::<u32>());
    let open = t0() + Duration::hours(2);
    let mut links = Vec::new();
    let mut first_id = None;
    for (n, hours) in [4, 5, 6].into_iter().enumerate() {
        let r = request(&*store, &format!("{run}{n}"), hours, &[(&ana, open)]).await;
        first_id.get_or_insert(r[0].1.clone());
        links.push(r[0].0.clone());
    }
    let digest_id = digest_message_id(&first_id.expect("three offers"));
    let cfg = SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp_port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: None,
        ca_file: None,
        timeout_secs: 10,
    };
    let worker = Worker::new(store.clone(), Mailer::smtp(&cfg, from()).expect("mailer"));
    assert_eq!(worker.step(t0()).await.expect("step"), report(1, 0, 0));

    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", imap_port))
        .await
        .expect("connect to Dovecot");
    let mut client = async_imap::Client::new(tcp);
    let _greeting = client.read_response().await;
    let mut imap = client
        .login(user, &password)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login");
    imap.select("INBOX").await.expect("SELECT");
    let query = format!("HEADER Message-ID \"{digest_id}\"");
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(15);
    let uids = loop {
        imap.noop().await.expect("NOOP");
        let found = imap.uid_search(&query).await.expect("UID SEARCH");
        if !found.is_empty() {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the digest never reached {user}'s INBOX; see DRAGOMAN_TEST_MAILSTACK_LOG"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    };
    assert_eq!(uids.len(), 1, "exactly one digest delivered");
    let uid = uids.into_iter().next().expect("one");
    let raw = {
        use futures::TryStreamExt as _;
        let fetched: Vec<_> = imap
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await
            .expect("UID FETCH")
            .try_collect()
            .await
            .expect("fetch stream");
        fetched
            .first()
            .and_then(|f| f.body())
            .expect("a body")
            .to_vec()
    };
    let _ = imap.logout().await;
    let m = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parsable");
    assert!(
        m.subject().expect("subject").starts_with("3 offers: "),
        "{:?}",
        m.subject()
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    let text = text_of(&m);
    let html = html_of(&m);
    for link in &links {
        assert_eq!(
            text.matches(link.as_str()).count(),
            1 + usize::from(link == &links[0]),
            "{text}"
        );
        assert!(html.contains(link.as_str()), "{html}");
    }
    let s = store.status(t0()).await.expect("status");
    assert_eq!((s.outbox_pending, s.outbox_sent), (0, 1));
}
