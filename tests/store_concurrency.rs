//! No duplicates from concurrency (SPEC §9), on SQLite and PostgreSQL: the same meeting ingested
//! by many tasks at once is one request with one set of offers, and concurrent outbox workers
//! never claim the same job.
//!
//! Owns the concurrency promises other than accept (see `accept_race.rs`). It must never sleep
//! to line tasks up: a barrier releases them together.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::domain::{EmailAddress, LanguagePair, Meeting, NewInterpreter, Token};
use dragoman::store::{
    self, IngestDecision, IngestOutcome, IngestedMessage, NewEmail, NewOffer, NewRequest, Store,
};
use tokio::sync::Barrier;

/// Different messages carrying the same meeting, ingested at once.
const FORWARDS: usize = 16;
/// Of those, how many are also replayed (same mailbox and source key) at the same time.
const REPLAYS: usize = 4;
/// Outbox workers claiming at once.
const WORKERS: usize = 6;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

fn email(id: &str, kind: &str) -> NewEmail {
    NewEmail {
        message_id: id.into(),
        kind: kind.into(),
        to: EmailAddress::parse("someone@example.com").expect("address"),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
        in_reply_to: None,
    }
}

async fn story(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let pair = LanguagePair::parse("es:en").expect("pair");
    let mut interpreters = Vec::new();
    for n in 0..3 {
        let new = NewInterpreter {
            name: format!("Interpreter {n}"),
            email: EmailAddress::parse(&format!("i{n}@example.com")).expect("address"),
            pairs: vec![pair.clone()],
            timezone: "UTC".into(),
        };
        interpreters.push(
            store
                .add_interpreter(&new, t0())
                .await
                .expect("add interpreter"),
        );
    }
    let meeting = Meeting {
        meeting_id: Some("84400000001".into()),
        passcode: Some("pw".into()),
        join_url: "https://zoom.us/j/84400000001".into(),
        host: "zoom.us".into(),
        kind: "meeting".into(),
        topic: None,
        start: Some(t0() + Duration::hours(3)),
        timezone: None,
    };

    // ---- the same meeting, many messages, all at once ----------------------------------
    let sends: Vec<usize> = (0..FORWARDS).chain(0..REPLAYS).collect();
    let barrier = Arc::new(Barrier::new(sends.len()));
    let mut tasks = Vec::new();
    for &n in &sends {
        let store = store.clone();
        let barrier = barrier.clone();
        // Each message's decision has its own offers and emails, as a fresh ingest would.
        let offers = interpreters
            .iter()
            .map(|i| NewOffer {
                interpreter_id: i.id,
                token_hash: Token::generate().hash(),
                expires_at: t0() + Duration::hours(1),
                email: email(
                    &format!("offer-{n}-{}-{}@dragoman", i.id, Token::generate().expose()),
                    "offer",
                ),
            })
            .collect();
        let decision = IngestDecision::Request {
            request: NewRequest {
                meeting: meeting.clone(),
                pair: pair.clone(),
                requestor: EmailAddress::parse("clinic@requestor.example").expect("address"),
                route_address: "es-en@agency.example".into(),
            },
            offers,
            emails: vec![email(
                &format!("ack-{n}-{}@dragoman", Token::generate().expose()),
                "ack",
            )],
            dispatch: None,
        };
        let message = IngestedMessage {
            mailbox: "intake".into(),
            source_key: format!("7:{n}"),
            message_id: Some(format!("m{n}@mail.example")),
            sha256: "0".repeat(64),
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.record_ingest(&message, &decision, t0()).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(
            t.await
                .expect("ingest task")
                .expect("ingest never fails under contention"),
        );
    }
    let created: Vec<_> = outcomes
        .iter()
        .filter_map(|o| {
            if let IngestOutcome::Created(id) = o {
                Some(*id)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        created.len(),
        1,
        "exactly one request for one meeting: {outcomes:?}"
    );
    let request_id = created[0];
    let duplicates = outcomes
        .iter()
        .filter(|o| **o == IngestOutcome::DuplicateMeeting(request_id))
        .count();
    let replays = outcomes
        .iter()
        .filter(|o| **o == IngestOutcome::AlreadyRecorded)
        .count();
    assert_eq!(
        duplicates,
        FORWARDS - 1,
        "every other message is a duplicate of it: {outcomes:?}"
    );
    assert_eq!(
        replays, REPLAYS,
        "each replay finds its message recorded: {outcomes:?}"
    );
    for n in 0..FORWARDS {
        assert!(store
            .message_recorded("intake", &format!("7:{n}"))
            .await
            .expect("recorded?"));
    }
    let detail = store
        .request_detail(request_id)
        .await
        .expect("detail")
        .expect("request");
    assert_eq!(
        detail.offers.len(),
        interpreters.len(),
        "offers only from the one message that created the request"
    );
    assert_eq!(store.list_requests().await.expect("list").len(), 1);

    // ---- outbox workers, all at once ---------------------------------------------------
    let mut more = Vec::new();
    for n in 0..60 {
        more.push(email(&format!("bulk-{n}@dragoman"), "notice"));
    }
    let bulk = IngestDecision::Rejected {
        reason: "bulk".into(),
        emails: more,
    };
    let message = IngestedMessage {
        mailbox: "intake".into(),
        source_key: "7:bulk".into(),
        message_id: None,
        sha256: "1".repeat(64),
    };
    assert_eq!(
        store
            .record_ingest(&message, &bulk, t0())
            .await
            .expect("bulk"),
        IngestOutcome::Rejected
    );
    let due = store.status(t0()).await.expect("status").outbox_pending as usize;
    assert_eq!(due, interpreters.len() + 1 + 60);

    let barrier = Arc::new(Barrier::new(WORKERS));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let store = store.clone();
        let barrier = barrier.clone();
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let jobs = store
                    .claim_outbox(t0(), t0() + Duration::minutes(5), 5)
                    .await
                    .expect("claim");
                if jobs.is_empty() {
                    break;
                }
                mine.extend(jobs.into_iter().map(|j| (j.id, j.attempts)));
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for w in workers {
        claimed.extend(w.await.expect("worker"));
    }
    let ids: BTreeSet<i64> = claimed.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), claimed.len(), "no job claimed twice");
    assert_eq!(ids.len(), due, "every due job claimed");
    assert!(claimed.iter().all(|(_, attempts)| *attempts == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_sqlite_url(dir.path());
    story(store::connect(&url).await.expect("connect to SQLite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let db = common::fresh_postgres().await;
    let url = db.url.clone();
    story(store::connect(&url).await.expect("connect to PostgreSQL")).await;
}
