//! Conversations end to end through real Postfix delivering into Dovecot (`scripts/mailstack`):
//! every requestor message arrives threaded with the requestor's own mail (`In-Reply-To`,
//! `References`, `Auto-Submitted: auto-replied`) with a text and an HTML part; replies to our
//! mail cancel (requestor) or are pointed to the offer page (interpreter); loop fixtures and
//! the per-address daily cap produce no mail.
//!
//! Reads delivered mail back from the Dovecot Maildirs, polling with a deadline (never a fixed
//! sleep). Every inbound message has a fresh random Message-ID and topic, so runs never see
//! each other's mail.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use dragoman::config::{Config, SmtpConfig, TlsMode};
use dragoman::domain::{EmailAddress, LanguagePair, NewInterpreter, RequestState};
use dragoman::ingest::ingest_message;
use dragoman::offers::{AcceptResult, Offers};
use dragoman::outbox::templates::Templates;
use dragoman::outbox::{Mailer, Worker};
use dragoman::store::{self, IngestOutcome, Store};
use mail_parser::{Message, MessageParser};
use rand::Rng;

const HOW_TO_START: &str = "run ./scripts/mailstack start, or ./scripts/test";
const REQUESTOR: &str = "requestor@clinic.test";
const STRANGER: &str = "requestor2@clinic.test";
const INTERPRETER: &str = "interp37@agency.test";

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!("{name} is not set: {HOW_TO_START} (then eval \"$(./scripts/mailstack env)\")"),
    }
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn fresh(tag: &str) -> String {
    let r: u64 = rand::thread_rng().gen();
    format!("{tag}.{r:016x}@mail.clinic.test")
}

struct Fixture {
    config: Config,
    store: Arc<dyn Store>,
    offers: Offers,
    worker: Worker,
    maildirs: PathBuf,
    _tmp: tempfile::TempDir,
}

async fn fixture(max_replies: i64) -> Fixture {
    let smtp_port: u16 = var("DRAGOMAN_TEST_SMTP_PORT").parse().expect("port");
    let maildirs: PathBuf = var("DRAGOMAN_TEST_MAILDIR_ROOT").into();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = Config::embedded(tmp.path());
    config.outbound.from = addr("dispatch@agency.test");
    config.outbound.max_replies_per_day = max_replies;
    config.requestors.allow_addresses = vec![REQUESTOR.into()];
    config.requestors.allow_domains = vec![];
    let store = store::connect(&common::fresh_sqlite_url(tmp.path()))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate");
    let templates = Arc::new(Templates::load(None).expect("templates"));
    let offers = Offers::new(store.clone(), templates, &config);
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp_port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: None,
        ca_file: None,
        timeout_secs: 10,
    };
    let worker = Worker::new(
        store.clone(),
        Mailer::smtp(&smtp, config.outbound.from.clone()).expect("mailer"),
    );
    Fixture {
        config,
        store,
        offers,
        worker,
        maildirs,
        _tmp: tmp,
    }
}

impl Fixture {
    async fn interpreter(&self) {
        let i = self
            .store
            .add_interpreter(
                &NewInterpreter {
                    name: "Ana Ruiz".into(),
                    email: addr(INTERPRETER),
                    pairs: vec![LanguagePair::parse("es:en").expect("pair")],
                    timezone: "Europe/Madrid".into(),
                },
                Utc::now(),
            )
            .await
            .expect("add interpreter");
        self.store
            .set_presence(i.id, Some(Utc::now() + Duration::hours(1)))
            .await
            .expect("online");
    }

    async fn ingest(&self, raw: &[u8]) -> IngestOutcome {
        let key = fresh("key");
        ingest_message(&self.offers, &self.config, "test", &key, raw, Utc::now())
            .await
            .expect("ingest")
    }

    /// Sends everything due; returns how many were sent.
    async fn flush(&self) -> usize {
        let r = self.worker.step(Utc::now()).await.expect("outbox step");
        assert_eq!((r.retried, r.failed), (0, 0), "{r:?}");
        r.sent
    }

    async fn pending(&self) -> i64 {
        self.store
            .status(Utc::now())
            .await
            .expect("status")
            .outbox_pending
    }

    /// Waits (bounded) for the one message in `user`'s Maildir that `pred` picks.
    async fn delivered(
        &self,
        user: &str,
        what: &str,
        pred: impl Fn(&Message) -> bool,
    ) -> Message<'static> {
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(15);
        loop {
            let mut found = Vec::new();
            for sub in ["new", "cur"] {
                let dir = self.maildirs.join(user).join("Maildir").join(sub);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let Ok(raw) = std::fs::read(e.path()) else {
                        continue;
                    };
                    if let Some(m) = MessageParser::default().parse(&raw) {
                        if pred(&m) {
                            found.push(m.into_owned());
                        }
                    }
                }
            }
            match found.len() {
                0 => {}
                1 => return found.remove(0),
                n => panic!("{n} copies of {what} delivered to {user}"),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not delivered to {user} within 15 s"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    /// Our reply of `kind` to the message `parent`, checked for threading and loop headers.
    async fn reply_to(&self, user: &str, parent: &str, kind: &str) -> Message<'static> {
        let m = self
            .delivered(user, &format!("{kind} reply to {parent}"), |m| {
                m.in_reply_to().as_text() == Some(parent)
                    && m.message_id()
                        .is_some_and(|id| id.starts_with(&format!("{kind}.")))
            })
            .await;
        assert_eq!(m.references().as_text(), Some(parent));
        assert_eq!(
            m.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-replied")
        );
        assert_eq!(m.text_body.len(), 1, "{kind}: one text part");
        assert_eq!(m.html_body.len(), 1, "{kind}: one HTML part");
        let from = m.from().and_then(|a| a.first()).and_then(|a| a.address());
        assert_eq!(from, Some("dispatch@agency.test"));
        m
    }
}

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: es-en@agency.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

fn invitation(topic: &str, meeting: &str) -> String {
    format!(
        "Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: {topic}\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/{meeting}?pwd=QWxwaGFCZXRhR2FtbWE.1\r\n\r\nMeeting ID: {meeting}\r\nPasscode: 0a1B2c\r\n"
    )
}

fn text(m: &Message) -> String {
    m.body_text(0).expect("text part").into_owned()
}

#[tokio::test]
async fn a_request_is_received_assigned_and_cancelled_by_reply_all_threaded() {
    let f = fixture(5).await;
    f.interpreter().await;
    let topic = format!("Intake {:08x}", rand::thread_rng().gen::<u32>());
    let meeting = format!(
        "8{:010}",
        rand::thread_rng().gen_range(0..10_000_000_000u64)
    );
    let original = fresh("inv");
    let outcome = f
        .ingest(&mail(
            REQUESTOR,
            &original,
            "Interpreter please",
            "",
            &invitation(&topic, &meeting),
        ))
        .await;
    let IngestOutcome::Created(request_id) = outcome else {
        panic!("expected a request, got {outcome:?}");
    };
    assert_eq!(f.flush().await, 2, "the offer and the received notice");

    // Received: what was understood, in the invitation's zone, never the passcode.
    let received = f.reply_to(REQUESTOR, &original, "received").await;
    let subject = received.subject().expect("subject").to_string();
    assert!(
        subject.starts_with("Received: Spanish→English"),
        "{subject}"
    );
    assert!(subject.contains(&topic), "{subject}");
    let body = text(&received);
    for want in [
        topic.as_str(),
        meeting.as_str(),
        "Tue 3 Dec 2030 10:00 EST",
        "Spanish to English",
    ] {
        assert!(body.contains(want), "received lacks {want:?}:\n{body}");
    }
    let html = received.body_html(0).expect("html").into_owned();
    for part in [&body, &html] {
        assert!(!part.contains("0a1B2c"), "never the passcode");
        assert!(!part.contains("pwd="), "never the join URL");
    }

    // The offer; the interpreter answers "Yes" by email: not an acceptance, a pointer.
    let offer = f
        .delivered(INTERPRETER, "offer", |m| {
            m.message_id().is_some_and(|id| id.starts_with("offer."))
                && m.body_text(0).is_some_and(|t| t.contains(&topic))
        })
        .await;
    let offer_id = offer.message_id().expect("id").to_string();
    let offer_text = text(&offer);
    let token = offer_text
        .split("/offer/")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("offer link")
        .to_string();
    let yes = fresh("yes");
    f.ingest(&mail(
        INTERPRETER,
        &yes,
        &format!("Re: {}", offer.subject().unwrap_or("")),
        &format!("In-Reply-To: <{offer_id}>\r\nReferences: <{offer_id}>\r\n"),
        &format!("Yes!\r\n\r\nOn Thu, dragoman wrote:\r\n> {offer_text}"),
    ))
    .await;
    assert_eq!(f.flush().await, 1);
    let pointer = f.reply_to(INTERPRETER, &yes, "offer_reply").await;
    assert!(text(&pointer).contains("original offer email"));
    let state = f.store.list_requests().await.expect("requests")[0].state;
    assert_eq!(
        state,
        RequestState::Offered,
        "an emailed yes accepts nothing"
    );

    // Accepting on the page tells the requestor, threaded with their invitation.
    let won = f.offers.accept(&token, Utc::now()).await.expect("accept");
    assert!(
        matches!(
            won,
            AcceptResult::Accepted {
                first_time: true,
                ..
            }
        ),
        "{won:?}"
    );
    assert_eq!(f.flush().await, 2, "confirmation and assigned");
    let assigned = f.reply_to(REQUESTOR, &original, "assigned").await;
    assert!(assigned
        .subject()
        .expect("subject")
        .starts_with("Interpreter assigned:"));
    assert!(
        text(&assigned).contains("Ana 1 (Spanish Interpreter)"),
        "{}",
        text(&assigned)
    );

    // The requestor answers "cancel" to the received notice: cancelled, both sides told.
    let received_id = received.message_id().expect("id").to_string();
    let cancel = fresh("cancel");
    f.ingest(&mail(
        REQUESTOR,
        &cancel,
        "Re: Received",
        &format!("In-Reply-To: <{received_id}>\r\nReferences: <{original}> <{received_id}>\r\n"),
        "Cancel please, the meeting moved.\r\n\r\n> To cancel, reply with \"cancel\".\r\n",
    ))
    .await;
    let detail = f
        .store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(detail.request.state, RequestState::Cancelled);
    assert_eq!(f.flush().await, 2, "cancelled to requestor and interpreter");
    let cancelled = f.reply_to(REQUESTOR, &original, "cancelled").await;
    assert!(cancelled
        .subject()
        .expect("subject")
        .starts_with("Cancelled:"));
    assert!(text(&cancelled).contains("The assigned interpreter has been told"));
    let told = f
        .delivered(INTERPRETER, "assignment_cancelled", |m| {
            m.message_id()
                .is_some_and(|id| id.starts_with("assignment_cancelled."))
                && m.body_text(0).is_some_and(|t| t.contains(&topic))
        })
        .await;
    assert_eq!(
        told.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );

    // Cancelling again (a second "cancel") sends nothing.
    let again = fresh("cancel");
    f.ingest(&mail(
        REQUESTOR,
        &again,
        "Re: Received",
        &format!("In-Reply-To: <{received_id}>\r\n"),
        "cancel\r\n",
    ))
    .await;
    assert_eq!(f.pending().await, 0);
}

#[tokio::test]
async fn not_understood_and_not_authorised_say_why_threaded() {
    let f = fixture(5).await;
    let vague = fresh("vague");
    f.ingest(&mail(
        REQUESTOR,
        &vague,
        "Zoom tomorrow",
        "",
        "Let's talk on Zoom tomorrow!\r\n",
    ))
    .await;
    let stranger = fresh("stranger");
    f.ingest(&mail(
        STRANGER,
        &stranger,
        "Interpreter",
        "",
        &invitation("X", "81234567890"),
    ))
    .await;
    assert_eq!(f.flush().await, 2);
    let nu = f.reply_to(REQUESTOR, &vague, "not_understood").await;
    assert!(nu
        .subject()
        .expect("subject")
        .starts_with("Not understood:"));
    assert!(
        text(&nu).contains("we could not find a Zoom join link in your message"),
        "{}",
        text(&nu)
    );
    let na = f.reply_to(STRANGER, &stranger, "not_authorised").await;
    assert!(na
        .subject()
        .expect("subject")
        .starts_with("Not authorised:"));
    assert!(f.store.list_requests().await.expect("requests").is_empty());
}

#[tokio::test]
async fn loop_fixtures_and_our_own_mail_get_no_answer() {
    let f = fixture(5).await;
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
    for name in [
        "203-bounce-multipart-report-quoting-020.eml",
        "204-auto-reply-quoting-020.eml",
    ] {
        let raw = std::fs::read(fixtures.join(name)).expect("fixture");
        assert_eq!(f.ingest(&raw).await, IngestOutcome::Rejected, "{name}");
    }
    let cases = [
        mail(
            REQUESTOR,
            &fresh("list"),
            "Staff",
            "List-Id: <staff.clinic.test>\r\nPrecedence: list\r\n",
            "Zoom?\r\n",
        ),
        mail(
            REQUESTOR,
            &fresh("auto"),
            "Out of office",
            "Auto-Submitted: auto-replied\r\n",
            "Away.\r\n",
        ),
        mail(
            "MAILER-DAEMON@clinic.test",
            &fresh("bounce"),
            "Undelivered",
            "",
            "Returned.\r\n",
        ),
        mail(
            "dispatch@agency.test",
            &fresh("self"),
            "Received: x",
            "Auto-Submitted: auto-replied\r\n",
            "We received.\r\n",
        ),
        mail(
            "dispatch@agency.test",
            &fresh("self"),
            "Not understood",
            "",
            "cancel\r\n",
        ),
    ];
    for raw in &cases {
        assert_eq!(f.ingest(raw).await, IngestOutcome::Rejected);
    }
    assert_eq!(f.pending().await, 0, "no answer to any of them");
    assert_eq!(f.flush().await, 0);
}

#[tokio::test]
async fn at_most_the_daily_cap_of_replies_per_address() {
    let f = fixture(2).await;
    for _ in 0..4 {
        f.ingest(&mail(
            REQUESTOR,
            &fresh("vague"),
            "Zoom",
            "",
            "No link here.\r\n",
        ))
        .await;
    }
    f.ingest(&mail(
        STRANGER,
        &fresh("s"),
        "Zoom",
        "",
        "No link here.\r\n",
    ))
    .await;
    assert_eq!(
        f.pending().await,
        3,
        "two to the requestor, one to the other address"
    );
    let since = Utc::now() - Duration::hours(24);
    assert_eq!(
        f.store
            .replies_since(&addr(REQUESTOR), since)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        f.store
            .replies_since(&addr(REQUESTOR), Utc::now() + Duration::seconds(1))
            .await
            .expect("count"),
        0,
        "only the last 24 hours count"
    );
}

/// Some clients and gateways drop `In-Reply-To` and `References`: a reply is then recognised
/// by its subject ("RE:"/"AW:"/"Fwd:" stripped) matching our mail to that same address within
/// 30 days. The same subject from another address, or later than that, is not a reply.
#[tokio::test]
async fn replies_without_thread_headers_are_recognised_by_subject() {
    let f = fixture(20).await;
    f.interpreter().await;
    let topic = format!("Headerless {:08x}", rand::thread_rng().gen::<u32>());
    let meeting = format!(
        "8{:010}",
        rand::thread_rng().gen_range(0..10_000_000_000u64)
    );
    let original = fresh("inv");
    let IngestOutcome::Created(request_id) = f
        .ingest(&mail(
            REQUESTOR,
            &original,
            "Interpreter please",
            "",
            &invitation(&topic, &meeting),
        ))
        .await
    else {
        panic!("expected a request");
    };
    assert_eq!(f.flush().await, 2, "the offer and the received notice");
    let received = f.reply_to(REQUESTOR, &original, "received").await;
    let received_subject = received.subject().expect("subject").to_string();
    let offer = f
        .delivered(INTERPRETER, "offer", |m| {
            m.message_id().is_some_and(|id| id.starts_with("offer."))
                && m.body_text(0).is_some_and(|t| t.contains(&topic))
        })
        .await;
    let offer_subject = offer.subject().expect("subject").to_string();
    let state = |f: &Fixture| {
        let store = f.store.clone();
        async move {
            store
                .request_detail(request_id)
                .await
                .expect("detail")
                .expect("request")
                .request
                .state
        }
    };

    // The interpreter's client dropped the headers: "AW: <offer subject>" still gets the
    // pointer to the offer page (and accepts nothing).
    let yes = fresh("yes");
    f.ingest(&mail(
        INTERPRETER,
        &yes,
        &format!("AW: {offer_subject}"),
        "",
        "Ja, yes please\r\n",
    ))
    .await;
    assert_eq!(f.flush().await, 1, "the pointer to the offer page");
    let pointer = f.reply_to(INTERPRETER, &yes, "offer_reply").await;
    assert!(text(&pointer).contains("original offer email"));
    assert_eq!(state(&f).await, RequestState::Offered);

    // The same subject from someone we never wrote to is not a reply to us.
    f.ingest(&mail(
        STRANGER,
        &fresh("stranger"),
        &format!("RE: {received_subject}"),
        "",
        "cancel\r\n",
    ))
    .await;
    assert_eq!(state(&f).await, RequestState::Offered);

    // Past the 30-day window the subject no longer leads back to us.
    ingest_message(
        &f.offers,
        &f.config,
        "test",
        &fresh("key"),
        &mail(
            REQUESTOR,
            &fresh("late"),
            &format!("RE: {received_subject}"),
            "",
            "cancel\r\n",
        ),
        Utc::now() + Duration::days(31),
    )
    .await
    .expect("ingest");
    assert_eq!(state(&f).await, RequestState::Offered);

    // Within it, the requestor's "RE: Fwd: <received subject>" with no headers cancels.
    f.ingest(&mail(
        REQUESTOR,
        &fresh("cancel"),
        &format!("RE: Fwd: {received_subject}"),
        "",
        "Cancel please.\r\n",
    ))
    .await;
    assert_eq!(state(&f).await, RequestState::Cancelled);
}
