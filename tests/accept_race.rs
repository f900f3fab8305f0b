//! Exactly-once accept under concurrency (SPEC §5), on SQLite and PostgreSQL.
//!
//! Owns the proof that of any number of concurrent accepts for one request exactly one wins.
//! It must never sleep to line tasks up: a barrier releases them together.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::domain::{
    CustomerKey, EmailAddress, LanguagePair, Meeting, NewInterpreter, OfferState, RequestState,
    Token,
};
use dragoman::store::{
    self, AcceptOutcome, IngestDecision, IngestOutcome, IngestedMessage, NewAssignment, NewEmail,
    NewOffer, NewRequest, Store,
};
use tokio::sync::Barrier;

/// Interpreters offered the same request.
const INTERPRETERS: usize = 32;
/// Tokens clicked a second time, concurrently with everyone else.
const REPEATS: usize = 6;
/// Requests raced one after another (each a fresh race).
const ROUNDS: usize = 3;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

fn email(id: &str, kind: &str, to: &EmailAddress) -> NewEmail {
    NewEmail {
        message_id: id.into(),
        kind: kind.into(),
        to: to.clone(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
        in_reply_to: None,
    }
}

async fn race(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let pair = LanguagePair::parse("es:en").expect("pair");
    let mut interpreters = Vec::new();
    for n in 0..INTERPRETERS {
        let i = store
            .add_interpreter(
                &NewInterpreter {
                    name: format!("Interpreter {n}"),
                    email: EmailAddress::parse(&format!("i{n}@example.com")).expect("address"),
                    pairs: vec![pair.clone()],
                    timezone: "UTC".into(),
                },
                t0(),
            )
            .await
            .expect("add interpreter");
        interpreters.push(i);
    }

    for round in 0..ROUNDS {
        let mut tokens = Vec::new();
        let mut offers = Vec::new();
        for i in &interpreters {
            let token = Token::generate();
            offers.push(NewOffer {
                interpreter_id: i.id,
                token_hash: token.hash(),
                expires_at: t0() + Duration::hours(1),
                email: email(
                    &format!("offer-{round}-{}@dragoman", i.id),
                    "offer",
                    &i.email,
                ),
            });
            tokens.push(token);
        }
        let meeting = Meeting {
            meeting_id: Some(format!("8100000000{round}")),
            passcode: None,
            join_url: format!("https://zoom.us/j/8100000000{round}"),
            host: "zoom.us".into(),
            kind: "meeting".into(),
            topic: None,
            start: Some(t0() + Duration::hours(2)),
            timezone: None,
        };
        let decision = IngestDecision::Request {
            request: NewRequest {
                meeting,
                pair: pair.clone(),
                requestor: EmailAddress::parse("clinic@requestor.example").expect("address"),
                route_address: "es-en@agency.example".into(),
            },
            offers,
            emails: vec![],
            dispatch: None,
        };
        let message = IngestedMessage {
            mailbox: "intake".into(),
            source_key: format!("1:{round}"),
            message_id: None,
            sha256: "0".repeat(64),
        };
        let request_id = match store
            .record_ingest(&message, &decision, t0())
            .await
            .expect("ingest")
        {
            IngestOutcome::Created(id) => id,
            other => panic!("expected Created, got {other:?}"),
        };

        // Every token once, and the first few twice, all released at the same instant.
        let clicks: Vec<usize> = (0..INTERPRETERS).chain(0..REPEATS).collect();
        let barrier = Arc::new(Barrier::new(clicks.len()));
        let mut tasks = Vec::new();
        for (n, &who) in clicks.iter().enumerate() {
            let store = store.clone();
            let barrier = barrier.clone();
            let token = tokens[who].hash();
            let to = interpreters[who].email.clone();
            tasks.push(tokio::spawn(async move {
                let assignment = NewAssignment {
                    noshow_check_at: None,
                    customer_key: CustomerKey::generate(),
                    join_token_hash: Token::generate().hash(),
                    join_expires_at: t0() + Duration::hours(4),
                    email: email(
                        &format!("confirm-{round}-{n}@dragoman"),
                        "confirmation",
                        &to,
                    ),
                    requestor_email: None,
                };
                barrier.wait().await;
                let outcome = store
                    .accept_offer(&token, &assignment, t0() + Duration::minutes(1))
                    .await;
                (who, outcome)
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            let (who, outcome) = t.await.expect("accept task");
            results.push((who, outcome.expect("accept never fails under contention")));
        }

        let winners: Vec<_> = results
            .iter()
            .filter(|(_, o)| matches!(o, AcceptOutcome::Won { .. }))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one Won, got {results:?}"
        );
        let (
            winner,
            AcceptOutcome::Won {
                offer_id,
                request_id: won_request,
                assignment_id,
            },
        ) = winners[0].clone()
        else {
            unreachable!("filtered on Won")
        };
        assert_eq!(won_request, request_id);
        for (who, outcome) in &results {
            match outcome {
                AcceptOutcome::Won { .. } => {}
                AcceptOutcome::Taken => assert_ne!(
                    *who, winner,
                    "the winner's own click is never Taken after it won"
                ),
                AcceptOutcome::AlreadyYours {
                    offer_id: o,
                    request_id: r,
                    assignment_id: a,
                } => {
                    assert_eq!(*who, winner, "only the winner's repeats are AlreadyYours");
                    assert_eq!((*o, *r, *a), (offer_id, request_id, assignment_id));
                }
                AcceptOutcome::Gone => {
                    panic!("round {round}: interpreter {who} got Gone for a live offer")
                }
            }
        }

        let detail = store
            .request_detail(request_id)
            .await
            .expect("detail")
            .expect("request");
        assert_eq!(detail.request.state, RequestState::Assigned);
        assert_eq!(
            detail.request.epoch, 1,
            "one state change, however many clicks"
        );
        assert_eq!(detail.assigned_interpreter, Some(interpreters[winner].id));
        let accepted: Vec<_> = detail
            .offers
            .iter()
            .filter(|o| o.state == OfferState::Accepted)
            .collect();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].offer_id, offer_id);
        assert!(detail
            .offers
            .iter()
            .all(|o| o.offer_id == offer_id || o.state == OfferState::Superseded));
    }

    // One confirmation per request, nothing from the losers.
    let jobs = store
        .claim_outbox(
            t0() + Duration::minutes(2),
            t0() + Duration::minutes(3),
            10_000,
        )
        .await
        .expect("claim");
    let confirmations: BTreeSet<_> = jobs
        .iter()
        .filter(|j| j.email.kind == "confirmation")
        .map(|j| j.email.message_id.clone())
        .collect();
    assert_eq!(confirmations.len(), ROUNDS, "{confirmations:?}");
    assert_eq!(jobs.len(), ROUNDS * (INTERPRETERS + 1));
    let status = store.status(t0()).await.expect("status");
    let assigned = status
        .requests
        .iter()
        .find(|(s, _)| s == "assigned")
        .map(|(_, n)| *n);
    assert_eq!(assigned, Some(ROUNDS as i64));
    let accepted = status
        .offers
        .iter()
        .find(|(s, _)| s == "accepted")
        .map(|(_, n)| *n);
    assert_eq!(
        accepted,
        Some(ROUNDS as i64),
        "one accepted offer per request"
    );
}

/// Counts assignment rows straight from the database: the final word on "exactly one".
async fn assignment_rows(url: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url)
            .await
            .expect("open SQLite");
        sqlx::query_scalar("SELECT count(*) FROM assignments")
            .fetch_one(&mut conn)
            .await
            .expect("count")
    } else {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("open PostgreSQL");
        sqlx::query_scalar("SELECT count(*) FROM assignments")
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_sqlite_url(dir.path());
    race(store::connect(&url).await.expect("connect to SQLite")).await;
    assert_eq!(assignment_rows(&url).await, ROUNDS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let db = common::fresh_postgres().await;
    let url = db.url.clone();
    race(store::connect(&url).await.expect("connect to PostgreSQL")).await;
    assert_eq!(assignment_rows(&url).await, ROUNDS as i64);
}
