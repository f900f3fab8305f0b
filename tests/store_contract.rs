//! The store contract: one story through every `Store` method, run on SQLite and PostgreSQL.
//!
//! Owns the definition of what callers may rely on from the store. It must never sleep or read
//! the clock: every instant is a parameter, derived from a fixed `T0`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::domain::{
    AttributionMethod, CustomerKey, EmailAddress, Interpreter, LanguagePair, Meeting,
    NewInterpreter, OfferState, RequestState, Token,
};
use dragoman::store::{
    self, AcceptOutcome, DeclineOutcome, IngestDecision, IngestOutcome, IngestedMessage,
    NewAssignment, NewEmail, NewOffer, NewRequest, NewZoomEvent, ParticipantEvent,
    ParticipantEventKind, Store, StoreError, WebhookOutcome, ZoomAction, ZoomApplied,
    ZoomEventInsert,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

fn mins(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address")
}

fn pair(s: &str) -> LanguagePair {
    LanguagePair::parse(s).expect("test pair")
}

fn email(id: &str, kind: &str, to: &str) -> NewEmail {
    NewEmail {
        message_id: id.to_string(),
        kind: kind.to_string(),
        to: addr(to),
        subject: format!("subject of {id}"),
        text: format!("text of {id}"),
        html: format!("<p>html of {id}</p>"),
        in_reply_to: Some(format!("reply-to-{id}")),
    }
}

fn message(source_key: &str) -> IngestedMessage {
    IngestedMessage {
        mailbox: "intake".into(),
        source_key: source_key.into(),
        message_id: Some(format!("{source_key}@mail.example")),
        sha256: format!("{:0>64}", source_key.len()),
    }
}

fn meeting(id: &str, start: DateTime<Utc>) -> Meeting {
    Meeting {
        meeting_id: Some(id.into()),
        passcode: Some("s3cret".into()),
        join_url: format!("https://us02web.zoom.us/j/{id}?pwd=abc"),
        host: "us02web.zoom.us".into(),
        kind: "meeting".into(),
        topic: Some(format!("Topic {id}")),
        start: Some(start),
        timezone: Some("America/New_York".into()),
    }
}

fn new_request(m: Meeting, p: &str) -> NewRequest {
    NewRequest {
        meeting: m,
        pair: pair(p),
        requestor: addr("clinic@requestor.example"),
        route_address: "es-en@agency.example".into(),
        calendar: None,
    }
}

/// An offer for `who`, with its token (kept so the story can click it).
fn offer(who: &Interpreter, tag: &str, expires_at: DateTime<Utc>) -> (Token, NewOffer) {
    let token = Token::generate();
    let o = NewOffer {
        interpreter_id: who.id,
        token_hash: token.hash(),
        expires_at,
        email: email(
            &format!("offer-{tag}@dragoman"),
            "offer",
            who.email.as_str(),
        ),
    };
    (token, o)
}

fn new_assignment(tag: &str, to: &str) -> (Token, NewAssignment) {
    let join = Token::generate();
    let a = NewAssignment {
        noshow_check_at: None,
        customer_key: CustomerKey::generate(),
        join_token_hash: join.hash(),
        join_expires_at: mins(240),
        email: email(&format!("confirm-{tag}@dragoman"), "confirmation", to),
        requestor_email: None,
    };
    (join, a)
}

fn event(
    key: &str,
    participant: &str,
    customer_key: Option<&str>,
    kind: ParticipantEventKind,
    at: DateTime<Utc>,
) -> ParticipantEvent {
    ParticipantEvent {
        dedupe_key: key.into(),
        meeting_id: "81234567890".into(),
        meeting_uuid: "uuid-1==".into(),
        participant_key: participant.into(),
        user_name: Some(format!("user {participant}")),
        customer_key: customer_key.map(str::to_string),
        kind,
        at,
    }
}

/// The whole story. Every assertion here is a promise the rest of dragoman codes against.
async fn contract(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrating twice is a no-op");

    // ---- roster ------------------------------------------------------------------------
    let ana = store
        .add_interpreter(
            &NewInterpreter {
                name: "Ana María Ruiz".into(),
                email: addr("Ana@Example.com"),
                pairs: vec![pair("es:en"), pair("en:es"), pair("es:en")],
                timezone: "America/New_York".into(),
            },
            t0(),
        )
        .await
        .expect("add ana");
    assert_eq!(
        ana.pairs,
        vec![pair("en:es"), pair("es:en")],
        "pairs come back sorted, without duplicates"
    );
    assert_eq!(ana.presence_until, None);
    assert_eq!(ana.created_at, t0());
    let add = |name: &str, email: &str, pairs: &[&str]| NewInterpreter {
        name: name.into(),
        email: addr(email),
        pairs: pairs.iter().map(|p| pair(p)).collect(),
        timezone: "UTC".into(),
    };
    let bob = store
        .add_interpreter(&add("Bob Stone", "bob@example.com", &["es:en"]), t0())
        .await
        .expect("add bob");
    let cho = store
        .add_interpreter(&add("Cho Lee", "cho@example.com", &["fr:en"]), t0())
        .await
        .expect("add cho");
    let dup = store
        .add_interpreter(&add("Ana Again", "ANA@example.com", &["es:en"]), t0())
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(_))),
        "emails are unique case-insensitively: {dup:?}"
    );

    let all = store.list_interpreters().await.expect("list");
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ana.id, bob.id, cho.id]
    );
    assert_eq!(all[0], ana);
    assert_eq!(
        store
            .find_interpreter(&bob.id.to_string())
            .await
            .expect("find"),
        Some(bob.clone())
    );
    assert_eq!(
        store
            .find_interpreter("ana@EXAMPLE.COM")
            .await
            .expect("find"),
        Some(ana.clone())
    );
    assert_eq!(
        store
            .find_interpreter("nobody@example.com")
            .await
            .expect("find"),
        None
    );
    assert_eq!(store.find_interpreter("999999").await.expect("find"), None);

    let ana = store
        .set_presence(ana.id, Some(mins(60)))
        .await
        .expect("presence");
    assert_eq!(ana.presence_until, Some(mins(60)));
    let bob = store
        .set_presence(bob.id, Some(mins(60)))
        .await
        .expect("presence");
    let cho = store
        .set_presence(cho.id, Some(mins(60)))
        .await
        .expect("presence");
    assert!(matches!(
        store.set_presence(999_999, None).await,
        Err(StoreError::NotFound(_))
    ));

    let ids = |v: Vec<Interpreter>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .eligible_interpreters(&pair("es:en"), t0())
            .await
            .expect("eligible")),
        vec![ana.id, bob.id]
    );
    assert_eq!(
        ids(store
            .eligible_interpreters(&pair("en:es"), t0())
            .await
            .expect("eligible")),
        vec![ana.id],
        "pairs are directed"
    );
    assert_eq!(
        ids(store
            .eligible_interpreters(&pair("es:en"), mins(60))
            .await
            .expect("eligible")),
        Vec::<i64>::new(),
        "lease over at its instant"
    );
    store.set_presence(bob.id, None).await.expect("offline");
    assert_eq!(
        ids(store
            .eligible_interpreters(&pair("es:en"), t0())
            .await
            .expect("eligible")),
        vec![ana.id]
    );
    let bob = store
        .set_presence(bob.id, Some(mins(60)))
        .await
        .expect("online again");
    let full = store
        .eligible_interpreters(&pair("es:en"), t0())
        .await
        .expect("eligible");
    assert_eq!(
        full[0], ana,
        "eligible interpreters come with all their pairs"
    );

    // ---- ingest ------------------------------------------------------------------------
    let m1 = meeting("81234567890", mins(120));
    let (ana_token, ana_offer) = offer(&ana, "r1-ana", mins(30));
    let (bob_token, bob_offer) = offer(&bob, "r1-bob", mins(30));
    let (cho_token, cho_offer) = offer(&cho, "r1-cho", mins(30));
    let decision = IngestDecision::Request {
        request: new_request(m1.clone(), "es:en"),
        offers: vec![ana_offer, bob_offer, cho_offer],
        emails: vec![email("ack-r1@dragoman", "ack", "clinic@requestor.example")],
        dispatch: None,
    };
    assert!(!store
        .message_recorded("intake", "1:101")
        .await
        .expect("recorded?"));
    let r1 = match store
        .record_ingest(&message("1:101"), &decision, t0())
        .await
        .expect("ingest")
    {
        IngestOutcome::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    };
    assert!(store
        .message_recorded("intake", "1:101")
        .await
        .expect("recorded?"));
    assert!(!store
        .message_recorded("other-mailbox", "1:101")
        .await
        .expect("keys are scoped by mailbox"));
    assert_eq!(
        store
            .record_ingest(&message("1:101"), &decision, t0())
            .await
            .expect("replay"),
        IngestOutcome::AlreadyRecorded
    );

    // The same meeting forwarded by someone else: one request, nothing new offered or sent.
    let (_, extra_offer) = offer(&ana, "r1-dup", mins(30));
    let forwarded = IngestDecision::Request {
        request: new_request(m1.clone(), "es:en"),
        offers: vec![extra_offer],
        emails: vec![email("ack-dup@dragoman", "ack", "other@requestor.example")],
        dispatch: None,
    };
    assert_eq!(
        store
            .record_ingest(&message("1:102"), &forwarded, mins(1))
            .await
            .expect("dup"),
        IngestOutcome::DuplicateMeeting(r1)
    );
    assert!(store
        .message_recorded("intake", "1:102")
        .await
        .expect("the duplicate is recorded too"));

    let rejected = IngestDecision::Rejected {
        reason: "unknown sender".into(),
        emails: vec![email(
            "reply-stranger@dragoman",
            "rejection",
            "stranger@elsewhere.example",
        )],
    };
    assert_eq!(
        store
            .record_ingest(&message("1:103"), &rejected, mins(1))
            .await
            .expect("rejected"),
        IngestOutcome::Rejected
    );
    // A second message answered with the same Message-ID: recorded, but the email is not queued twice.
    assert_eq!(
        store
            .record_ingest(&message("1:104"), &rejected, mins(1))
            .await
            .expect("rejected"),
        IngestOutcome::Rejected
    );

    // A request nobody could be offered: open.
    let r2 = match store
        .record_ingest(
            &message("1:105"),
            &IngestDecision::Request {
                request: new_request(meeting("5550001", mins(600)), "fr:en"),
                offers: vec![],
                emails: vec![],
                dispatch: None,
            },
            mins(2),
        )
        .await
        .expect("ingest open")
    {
        IngestOutcome::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    };
    // Same meeting, other direction: a different request.
    let r1_reverse = store
        .record_ingest(
            &message("1:106"),
            &IngestDecision::Request {
                request: new_request(m1.clone(), "en:es"),
                offers: vec![],
                emails: vec![],
                dispatch: None,
            },
            mins(2),
        )
        .await
        .expect("ingest reverse");
    assert!(
        matches!(r1_reverse, IngestOutcome::Created(id) if id != r1),
        "{r1_reverse:?}"
    );

    let requests = store.list_requests().await.expect("list requests");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].id, r1);
    assert_eq!(requests[0].state, RequestState::Offered);
    assert_eq!(
        requests[0].meeting, m1,
        "the meeting round-trips, passcode and join URL included"
    );
    assert_eq!(requests[0].pair, pair("es:en"));
    assert_eq!(requests[0].requestor, addr("clinic@requestor.example"));
    assert_eq!(requests[0].route_address, "es-en@agency.example");
    assert_eq!(requests[0].epoch, 0);
    assert_eq!(requests[0].created_at, t0());
    assert_eq!(requests[1].id, r2);
    assert_eq!(requests[1].state, RequestState::Open);

    // ---- offers ------------------------------------------------------------------------
    let view = store
        .offer_by_token(&ana_token.hash())
        .await
        .expect("offer")
        .expect("ana's offer exists");
    assert_eq!(view.state, OfferState::Pending);
    assert_eq!(view.expires_at, mins(30));
    assert_eq!(view.interpreter, ana);
    assert_eq!(view.request, requests[0]);
    assert!(store
        .offer_by_token(&Token::generate().hash())
        .await
        .expect("offer")
        .is_none());

    assert_eq!(
        store
            .decline_offer(&bob_token.hash(), mins(5))
            .await
            .expect("decline"),
        DeclineOutcome::Declined
    );
    assert_eq!(
        store
            .decline_offer(&bob_token.hash(), mins(6))
            .await
            .expect("decline"),
        DeclineOutcome::AlreadyDeclined
    );
    assert_eq!(
        store
            .decline_offer(&Token::generate().hash(), mins(6))
            .await
            .expect("decline"),
        DeclineOutcome::Gone
    );
    assert_eq!(
        store
            .decline_offer(&cho_token.hash(), mins(30))
            .await
            .expect("decline"),
        DeclineOutcome::Gone,
        "expired"
    );
    let r1_now = store.request_detail(r1).await.expect("detail").expect("r1");
    assert_eq!(
        r1_now.request.state,
        RequestState::Offered,
        "a decline leaves the request offered"
    );

    let (join_token, assignment) = new_assignment("r1", ana.email.as_str());
    assert_eq!(
        store
            .accept_offer(&bob_token.hash(), &assignment, mins(6))
            .await
            .expect("accept"),
        AcceptOutcome::Gone,
        "declined"
    );
    assert_eq!(
        store
            .accept_offer(&Token::generate().hash(), &assignment, mins(6))
            .await
            .expect("accept"),
        AcceptOutcome::Gone
    );
    assert_eq!(
        store
            .accept_offer(&ana_token.hash(), &assignment, mins(30))
            .await
            .expect("accept"),
        AcceptOutcome::Gone,
        "expired at its instant"
    );

    let won = store
        .accept_offer(&ana_token.hash(), &assignment, mins(7))
        .await
        .expect("accept");
    let AcceptOutcome::Won {
        offer_id,
        request_id,
        assignment_id,
    } = won.clone()
    else {
        panic!("expected Won, got {won:?}")
    };
    assert_eq!((offer_id, request_id), (view.offer_id, r1));
    let (_, other_assignment) = new_assignment("r1-again", ana.email.as_str());
    assert_eq!(
        store
            .accept_offer(&ana_token.hash(), &other_assignment, mins(8))
            .await
            .expect("accept again"),
        AcceptOutcome::AlreadyYours {
            offer_id,
            request_id,
            assignment_id
        },
        "the winner clicking again gets the same assignment, even after expiry would have passed"
    );
    assert_eq!(
        store
            .accept_offer(&ana_token.hash(), &other_assignment, mins(31))
            .await
            .expect("accept again"),
        AcceptOutcome::AlreadyYours {
            offer_id,
            request_id,
            assignment_id
        }
    );
    assert_eq!(
        store
            .accept_offer(&cho_token.hash(), &other_assignment, mins(9))
            .await
            .expect("accept"),
        AcceptOutcome::Taken
    );
    assert_eq!(
        store
            .decline_offer(&ana_token.hash(), mins(9))
            .await
            .expect("decline"),
        DeclineOutcome::Gone,
        "accepted"
    );
    assert_eq!(
        store
            .decline_offer(&cho_token.hash(), mins(9))
            .await
            .expect("decline"),
        DeclineOutcome::Gone,
        "superseded"
    );

    let join = store
        .join_by_token(&join_token.hash())
        .await
        .expect("join")
        .expect("join view");
    assert_eq!(join.assignment_id, assignment_id);
    assert_eq!(join.customer_key, assignment.customer_key);
    assert_eq!(join.expires_at, mins(240));
    assert_eq!(join.interpreter, ana);
    assert_eq!(join.request.id, r1);
    assert_eq!(join.request.state, RequestState::Assigned);
    assert_eq!(join.request.epoch, 1, "the accept bumped the epoch");
    assert_eq!(join.request.meeting.passcode.as_deref(), Some("s3cret"));
    assert!(store
        .join_by_token(&Token::generate().hash())
        .await
        .expect("join")
        .is_none());
    assert!(
        store
            .join_by_token(&ana_token.hash())
            .await
            .expect("join")
            .is_none(),
        "an offer token is not a join token"
    );

    let detail = store.request_detail(r1).await.expect("detail").expect("r1");
    assert_eq!(detail.assigned_interpreter, Some(ana.id));
    assert_eq!(
        detail.customer_key.as_deref(),
        Some(assignment.customer_key.as_str())
    );
    assert_eq!(
        detail
            .offers
            .iter()
            .map(|o| (o.interpreter, o.state))
            .collect::<Vec<_>>(),
        vec![
            (ana.id, OfferState::Accepted),
            (bob.id, OfferState::Declined),
            (cho.id, OfferState::Superseded)
        ]
    );
    assert_eq!(detail.offers[0].created_at, t0());
    assert_eq!(detail.offers[0].expires_at, mins(30));
    assert!(detail.attendance.is_empty());
    assert!(store
        .request_detail(999_999)
        .await
        .expect("detail")
        .is_none());
    let view = store
        .offer_by_token(&cho_token.hash())
        .await
        .expect("offer")
        .expect("cho's offer");
    assert_eq!(
        view.state,
        OfferState::Superseded,
        "a superseded offer still shows its page"
    );

    // ---- cancel ------------------------------------------------------------------------
    let (bob4, bob4_offer) = offer(&bob, "r4-bob", mins(60));
    let (cho4, cho4_offer) = offer(&cho, "r4-cho", mins(60));
    let r4 = match store
        .record_ingest(
            &message("1:107"),
            &IngestDecision::Request {
                request: new_request(meeting("7770001", mins(300)), "es:en"),
                offers: vec![bob4_offer, cho4_offer],
                emails: vec![],
                dispatch: None,
            },
            mins(10),
        )
        .await
        .expect("ingest r4")
    {
        IngestOutcome::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    };
    assert_eq!(
        store
            .decline_offer(&cho4.hash(), mins(11))
            .await
            .expect("decline"),
        DeclineOutcome::Declined
    );
    let cancel_mail = [email(
        "cancel-r4@dragoman",
        "cancellation",
        "bob@example.com",
    )];
    assert!(store
        .cancel_request(r4, &cancel_mail, mins(12))
        .await
        .expect("cancel"));
    assert!(!store
        .cancel_request(r4, &cancel_mail, mins(13))
        .await
        .expect("cancel twice"));
    assert!(!store
        .cancel_request(999_999, &[], mins(13))
        .await
        .expect("cancel unknown"));
    let d4 = store.request_detail(r4).await.expect("detail").expect("r4");
    assert_eq!(d4.request.state, RequestState::Cancelled);
    assert_eq!(d4.request.epoch, 1);
    assert_eq!(
        d4.offers.iter().map(|o| o.state).collect::<Vec<_>>(),
        vec![OfferState::Superseded, OfferState::Declined],
        "pending offers are superseded; answered ones keep their answer"
    );
    let (_, a4) = new_assignment("r4", "bob@example.com");
    assert_eq!(
        store
            .accept_offer(&bob4.hash(), &a4, mins(14))
            .await
            .expect("accept"),
        AcceptOutcome::Taken
    );
    assert!(store
        .cancel_request(r2, &[], mins(14))
        .await
        .expect("cancel open"));

    // ---- zoom participant events -------------------------------------------------------
    use ParticipantEventKind::{Joined, Left};
    let key = assignment.customer_key.as_str();
    assert_eq!(
        store
            .record_participant_event(
                &event("e1", "p-ana", Some(key), Joined, mins(118)),
                mins(118)
            )
            .await
            .expect("event"),
        WebhookOutcome::Recorded(AttributionMethod::CustomerKey)
    );
    assert_eq!(
        store
            .record_participant_event(
                &event("e1", "p-ana", Some(key), Joined, mins(118)),
                mins(119)
            )
            .await
            .expect("retry"),
        WebhookOutcome::Duplicate
    );
    assert_eq!(
        store
            .record_participant_event(
                &event("e2", "p-host", Some("UnknownKey123"), Joined, mins(119)),
                mins(119)
            )
            .await
            .expect("event"),
        WebhookOutcome::Recorded(AttributionMethod::Unattributed)
    );
    assert_eq!(
        store
            .record_participant_event(&event("e3", "p-ana", None, Left, mins(130)), mins(130))
            .await
            .expect("event"),
        WebhookOutcome::Recorded(AttributionMethod::CustomerKey),
        "a leave takes the method of the join it closes"
    );
    assert_eq!(
        store
            .record_participant_event(
                &event("e4", "p-ana", Some(key), Joined, mins(131)),
                mins(131)
            )
            .await
            .expect("rejoin"),
        WebhookOutcome::Recorded(AttributionMethod::CustomerKey)
    );
    assert_eq!(
        store
            .record_participant_event(&event("e5", "p-ana", Some(key), Left, mins(170)), mins(170))
            .await
            .expect("leave"),
        WebhookOutcome::Recorded(AttributionMethod::CustomerKey)
    );
    assert_eq!(
        store
            .record_participant_event(&event("e6", "p-ghost", None, Left, mins(150)), mins(150))
            .await
            .expect("leave without join"),
        WebhookOutcome::Recorded(AttributionMethod::Unattributed)
    );
    assert_eq!(
        store
            .record_participant_event(&event("e6", "p-ghost", None, Left, mins(150)), mins(151))
            .await
            .expect("retry"),
        WebhookOutcome::Duplicate
    );
    let attendance = store
        .request_detail(r1)
        .await
        .expect("detail")
        .expect("r1")
        .attendance;
    let seen: Vec<_> = attendance
        .iter()
        .map(|a| (a.interpreter, a.method, a.joined_at, a.left_at))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                Some(ana.id),
                AttributionMethod::CustomerKey,
                Some(mins(118)),
                Some(mins(130))
            ),
            (None, AttributionMethod::Unattributed, Some(mins(119)), None),
            (
                Some(ana.id),
                AttributionMethod::CustomerKey,
                Some(mins(131)),
                Some(mins(170))
            ),
            (None, AttributionMethod::Unattributed, None, Some(mins(150))),
        ]
    );
    assert_eq!(attendance[0].user_name.as_deref(), Some("user p-ana"));

    // ---- outbox ------------------------------------------------------------------------
    let expected: BTreeSet<&str> = [
        "offer-r1-ana@dragoman",
        "offer-r1-bob@dragoman",
        "offer-r1-cho@dragoman",
        "ack-r1@dragoman",
        "reply-stranger@dragoman",
        "confirm-r1@dragoman",
        "offer-r4-bob@dragoman",
        "offer-r4-cho@dragoman",
        "cancel-r4@dragoman",
    ]
    .into_iter()
    .collect();
    let status = store.status(mins(20)).await.expect("status");
    assert_eq!(status.outbox_pending, expected.len() as i64);

    let first_two = store
        .claim_outbox(mins(20), mins(25), 2)
        .await
        .expect("claim");
    // The two oldest; and with a never-tried offer email among them, that interpreter's other
    // never-tried offer emails too, beyond the limit (the outbox worker sends them as one
    // digest): Bob's offer for r4.
    assert_eq!(
        first_two
            .iter()
            .map(|j| j.email.message_id.as_str())
            .collect::<Vec<_>>(),
        [
            "offer-r1-ana@dragoman",
            "offer-r1-bob@dragoman",
            "offer-r4-bob@dragoman"
        ]
    );
    assert!(first_two[0].id < first_two[1].id, "oldest first");
    assert!(first_two.iter().all(|j| j.offer_id.is_some()));
    assert_eq!(
        first_two[0].email,
        email("offer-r1-ana@dragoman", "offer", "Ana@example.com"),
        "the email round-trips"
    );
    assert_eq!(first_two[0].attempts, 1);
    let rest = store
        .claim_outbox(mins(20), mins(25), 100)
        .await
        .expect("claim");
    let claimed: BTreeSet<&str> = first_two
        .iter()
        .chain(&rest)
        .map(|j| j.email.message_id.as_str())
        .collect();
    assert_eq!(
        claimed, expected,
        "exactly the due emails, each once: no duplicate replies, nothing from duplicates"
    );
    assert!(
        store
            .claim_outbox(mins(24), mins(30), 100)
            .await
            .expect("claim")
            .is_empty(),
        "leased jobs are not claimed"
    );

    // The lease runs out (a worker died): the jobs come back, counting the attempt.
    let again = store
        .claim_outbox(mins(25), mins(30), 100)
        .await
        .expect("claim");
    assert_eq!(again.len(), expected.len());
    assert!(again.iter().all(|j| j.attempts == 2), "{again:?}");
    let (sent, retry, dead) = (again[0].id, again[1].id, again[2].id);
    store.outbox_sent(sent, mins(26)).await.expect("sent");
    store
        .outbox_failed(retry, "421 try later", Some(mins(40)))
        .await
        .expect("retry");
    store
        .outbox_failed(dead, "550 no such user", None)
        .await
        .expect("dead");
    assert!(matches!(
        store.outbox_sent(999_999, mins(26)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.outbox_failed(999_999, "x", None).await,
        Err(StoreError::NotFound(_))
    ));

    let later = store
        .claim_outbox(mins(35), mins(45), 100)
        .await
        .expect("claim");
    assert_eq!(
        later.len(),
        expected.len() - 3,
        "sent, failed and not-yet-due jobs stay put"
    );
    assert!(later.iter().all(|j| ![sent, retry, dead].contains(&j.id)));
    let retried = store
        .claim_outbox(mins(40), mins(45), 100)
        .await
        .expect("claim");
    assert_eq!(
        retried
            .iter()
            .map(|j| (j.id, j.attempts))
            .collect::<Vec<_>>(),
        vec![(retry, 3)],
        "a retry is due at its time"
    );
    for job in later.iter().chain(&retried) {
        store.outbox_sent(job.id, mins(41)).await.expect("sent");
    }
    assert!(store
        .claim_outbox(mins(500), mins(505), 100)
        .await
        .expect("claim")
        .is_empty());

    // ---- status ------------------------------------------------------------------------
    let status = store.status(mins(20)).await.expect("status");
    let by = |v: &[(String, i64)]| v.iter().map(|(s, n)| (s.clone(), *n)).collect::<Vec<_>>();
    let named = |pairs: &[(&str, i64)]| {
        pairs
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by(&status.requests),
        named(&[
            ("open", 1),
            ("offered", 0),
            ("assigned", 1),
            ("cancelled", 2),
            ("unfilled", 0),
            ("done", 0)
        ])
    );
    assert_eq!(
        by(&status.offers),
        named(&[
            ("pending", 0),
            ("accepted", 1),
            ("declined", 2),
            ("expired", 0),
            ("superseded", 2)
        ])
    );
    assert_eq!(
        (
            status.outbox_pending,
            status.outbox_failed,
            status.outbox_sent
        ),
        (0, 1, expected.len() as i64 - 1)
    );
    assert_eq!((status.interpreters, status.interpreters_online), (3, 3));
    assert_eq!(
        store
            .status(mins(60))
            .await
            .expect("status")
            .interpreters_online,
        0
    );
    assert_eq!((status.messages_ingested, status.messages_rejected), (7, 2));

    zoom_events(store.as_ref(), r1, ana.id, ana.first_name()).await;

    // ---- join mode -----------------------------------------------------------------------
    let d = store.request_detail(r1).await.expect("detail").expect("r1");
    assert_eq!(
        (d.join_mode, d.join_mode_note),
        (None, None),
        "not recorded yet"
    );
    store
        .set_join_mode(
            assignment_id,
            "link",
            Some("obf needs a connected Zoom user"),
        )
        .await
        .expect("set join mode");
    let d = store.request_detail(r1).await.expect("detail").expect("r1");
    assert_eq!(d.join_mode.as_deref(), Some("link"));
    assert_eq!(
        d.join_mode_note.as_deref(),
        Some("obf needs a connected Zoom user")
    );
    assert!(matches!(
        store.set_join_mode(999_999, "link", None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Stored Zoom events (issue #7): durable insert with dedupe, apply exactly once, failures and
/// the retry list, display-name attribution, out-of-order leave/join, meeting start and end.
/// `r1` is assigned to interpreter `ana` (first name `first`) for meeting 81234567890.
async fn zoom_events(store: &dyn Store, r1: i64, ana: i64, first: &str) {
    use ParticipantEventKind::{Joined, Left};
    let raw = |key: &str| NewZoomEvent {
        dedupe_key: key.into(),
        event: "meeting.participant_joined".into(),
        body: format!("{{\"event\":\"meeting.participant_joined\",\"k\":\"{key}\"}}"),
    };
    let insert = |key: &'static str, at: i64| {
        let ev = raw(key);
        async move {
            match store
                .record_zoom_event(&ev, mins(at))
                .await
                .expect("insert")
            {
                ZoomEventInsert::Inserted(id) => id,
                ZoomEventInsert::Duplicate => panic!("{key} is new"),
            }
        }
    };
    let z1 = insert("z1", 300).await;
    assert_eq!(
        store
            .record_zoom_event(&raw("z1"), mins(301))
            .await
            .expect("retry"),
        ZoomEventInsert::Duplicate
    );
    let in_second = |key: &str, participant: &str, kind, at| {
        let mut e = event(key, participant, None, kind, mins(at));
        e.meeting_uuid = "uuid-2==".into();
        e
    };
    let named = |id: i64, name: &str| ZoomAction::Participant {
        event: in_second("z", "p-ana2", Joined, 300),
        named_interpreter: Some((id, name.to_string())),
        zoom_user: Default::default(),
    };
    // Names hidden behind no customer key: the display-name pattern attributes.
    assert_eq!(
        store
            .apply_zoom_event(z1, &named(ana, &first.to_uppercase()), mins(300))
            .await
            .expect("apply"),
        ZoomApplied::Participant(AttributionMethod::DisplayName)
    );
    assert_eq!(
        store
            .apply_zoom_event(z1, &named(ana, first), mins(302))
            .await
            .expect("again"),
        ZoomApplied::AlreadyProcessed,
        "an event is applied once"
    );
    assert!(matches!(
        store
            .apply_zoom_event(999_999, &ZoomAction::Nothing, mins(302))
            .await,
        Err(StoreError::NotFound(_))
    ));
    // A name with the right id and the wrong first name is never taken for the interpreter.
    let z2 = insert("z2", 301).await;
    let wrong = ZoomAction::Participant {
        event: in_second("z", "p-impostor", Joined, 301),
        named_interpreter: Some((ana, "Zed".into())),
        zoom_user: Default::default(),
    };
    assert_eq!(
        store
            .apply_zoom_event(z2, &wrong, mins(301))
            .await
            .expect("apply"),
        ZoomApplied::Participant(AttributionMethod::Unattributed)
    );
    // Leave processed before its join (a retried join): the join completes that row.
    let z3 = insert("z3", 320).await;
    let z4 = insert("z4", 321).await;
    let late = |kind, at| ZoomAction::Participant {
        event: in_second("z", "p-late", kind, at),
        named_interpreter: Some((ana, first.to_string())),
        zoom_user: Default::default(),
    };
    store
        .apply_zoom_event(z4, &late(Left, 320), mins(321))
        .await
        .expect("leave");
    store
        .apply_zoom_event(z3, &late(Joined, 310), mins(322))
        .await
        .expect("join");
    // Failures: counted, listed for the retry step until given up on.
    let z5 = insert("z5", 330).await;
    let z6 = insert("z6", 331).await;
    store
        .zoom_event_failed(z5, "database busy", false, mins(330))
        .await
        .expect("fail");
    store
        .zoom_event_failed(z6, "not JSON", true, mins(331))
        .await
        .expect("give up");
    assert!(matches!(
        store
            .zoom_event_failed(999_999, "x", false, mins(331))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let pending = store
        .pending_zoom_events(mins(400), 10)
        .await
        .expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id, p.attempts))
            .collect::<Vec<_>>(),
        vec![(z5, 1)]
    );
    assert_eq!(pending[0].dedupe_key, "z5");
    assert_eq!(pending[0].received_at, mins(330));
    assert!(store
        .pending_zoom_events(mins(329), 10)
        .await
        .expect("pending")
        .is_empty());
    assert!(store
        .pending_zoom_events(mins(400), 0)
        .await
        .expect("pending")
        .is_empty());
    // Meeting start and end: open rows of the instance close at the end; r1 is done.
    let z7 = insert("z7", 340).await;
    let started = ZoomAction::MeetingStarted {
        meeting_id: "81234567890".into(),
        meeting_uuid: "uuid-2==".into(),
        at: mins(295),
    };
    assert_eq!(
        store
            .apply_zoom_event(z7, &started, mins(340))
            .await
            .expect("start"),
        ZoomApplied::MeetingStarted
    );
    let ended = ZoomAction::MeetingEnded {
        meeting_id: "81234567890".into(),
        meeting_uuid: "uuid-2==".into(),
        at: mins(360),
    };
    assert_eq!(
        store
            .apply_zoom_event(z5, &ended, mins(361))
            .await
            .expect("end"),
        ZoomApplied::MeetingEnded {
            closed_rows: 2,
            done: vec![r1]
        }
    );
    assert!(store
        .pending_zoom_events(mins(400), 10)
        .await
        .expect("pending")
        .is_empty());
    let d = store.request_detail(r1).await.expect("detail").expect("r1");
    assert_eq!(d.request.state, RequestState::Done);
    assert_eq!(d.meeting_started_at, Some(mins(295)));
    assert_eq!(d.meeting_ended_at, Some(mins(360)));
    let second: Vec<_> = d
        .attendance
        .iter()
        .filter(|a| a.joined_at >= Some(mins(300)))
        .map(|a| (a.interpreter, a.method, a.joined_at, a.left_at))
        .collect();
    assert_eq!(
        second,
        vec![
            (
                Some(ana),
                AttributionMethod::DisplayName,
                Some(mins(300)),
                Some(mins(360))
            ),
            (
                None,
                AttributionMethod::Unattributed,
                Some(mins(301)),
                Some(mins(360))
            ),
            (
                Some(ana),
                AttributionMethod::DisplayName,
                Some(mins(310)),
                Some(mins(320))
            ),
        ]
    );

    // Group commit (the webhook intake): one answer per event, in order; a key stored before
    // or earlier in the same batch is a duplicate; ids follow the batch's order.
    let batch = store
        .record_zoom_events(&[raw("b1"), raw("z1"), raw("b2"), raw("b1")], mins(400))
        .await
        .expect("batch insert");
    let (b1, b2) = match batch[..] {
        [ZoomEventInsert::Inserted(b1), ZoomEventInsert::Duplicate, ZoomEventInsert::Inserted(b2), ZoomEventInsert::Duplicate] => {
            (b1, b2)
        }
        _ => panic!("{batch:?}"),
    };
    assert!(b1 < b2, "ids follow the batch");
    assert!(store
        .record_zoom_events(&[], mins(400))
        .await
        .expect("empty batch")
        .is_empty());
    let pending_ids = |at| async move {
        store
            .pending_zoom_events(mins(at), 10)
            .await
            .expect("pending")
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(pending_ids(400).await, vec![b1, b2]);
    // Batch apply: all or nothing (an unknown id rolls back b1 too), in order, each once.
    assert!(matches!(
        store
            .apply_zoom_events(
                &[(b1, ZoomAction::Nothing), (999_999, ZoomAction::Nothing)],
                mins(401)
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(pending_ids(400).await, vec![b1, b2], "rolled back");
    assert_eq!(
        store
            .apply_zoom_events(
                &[
                    (b1, ZoomAction::Nothing),
                    (b2, ZoomAction::Nothing),
                    (b1, ZoomAction::Nothing)
                ],
                mins(401)
            )
            .await
            .expect("batch apply"),
        vec![
            ZoomApplied::Nothing,
            ZoomApplied::Nothing,
            ZoomApplied::AlreadyProcessed
        ]
    );
    assert!(pending_ids(400).await.is_empty());
    assert!(store
        .apply_zoom_events(&[], mins(401))
        .await
        .expect("empty batch")
        .is_empty());
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_sqlite_url(dir.path());
    let store = store::connect(&url).await.expect("connect to SQLite");
    contract(store).await;
}

#[tokio::test]
async fn postgres() {
    let db = common::fresh_postgres().await;
    let url = db.url.clone();
    let store = store::connect(&url).await.expect("connect to PostgreSQL");
    contract(store).await;
}

#[tokio::test]
async fn sqlite_in_memory() {
    // The embedded default for demos: one connection, or each would see its own empty database.
    let store = store::connect("sqlite::memory:")
        .await
        .expect("connect to in-memory SQLite");
    contract(store).await;
}

// ---- conversations (issue #6) -------------------------------------------------------------

/// The conversation block: the reply cap count, finding our message (and its request) from a
/// reply's references, the request's thread, and the requestor email of a winning accept.
async fn conversation_contract(store: Arc<dyn Store>) {
    store.migrate().await.expect("migrate");
    let mut who = Vec::new();
    for n in 0..2 {
        let i = store
            .add_interpreter(
                &NewInterpreter {
                    name: format!("Conv {n}"),
                    email: addr(&format!("conv{n}@interpreters.example")),
                    pairs: vec![pair("es:en")],
                    timezone: "UTC".into(),
                },
                mins(0),
            )
            .await
            .expect("add interpreter");
        who.push(i);
    }
    let (t1, o1) = offer(&who[0], "c1", mins(60));
    let (t2, o2) = offer(&who[1], "c2", mins(60));
    let mut received = email(
        "received-c@dragoman",
        "received",
        "Clinic@Requestor.example",
    );
    received.in_reply_to = Some("conv-1@mail.example".into());
    let created = store
        .record_ingest(
            &message("conv-1"),
            &IngestDecision::Request {
                request: new_request(meeting("85550000001", mins(120)), "es:en"),
                offers: vec![o1, o2],
                emails: vec![received],
                dispatch: None,
            },
            mins(0),
        )
        .await
        .expect("record");
    let IngestOutcome::Created(rid) = created else {
        panic!("expected a new request, got {created:?}");
    };

    assert_eq!(
        store.request_thread(rid).await.expect("thread").as_deref(),
        Some("conv-1@mail.example")
    );
    assert_eq!(
        store.request_thread(rid + 1000).await.expect("thread"),
        None
    );

    let ours = store
        .conversation_of(&["unknown@x".into(), "received-c@dragoman".into()])
        .await
        .expect("lookup")
        .expect("ours");
    assert_eq!(ours.kind, "received");
    assert_eq!(
        ours.recipient,
        addr("Clinic@Requestor.example"),
        "as it was sent"
    );
    assert_eq!(ours.request_id, Some(rid));
    let offer_mail = store
        .conversation_of(&["offer-c1@dragoman".into()])
        .await
        .expect("lookup")
        .expect("the offer is ours");
    assert_eq!(
        (offer_mail.kind.as_str(), offer_mail.recipient.clone()),
        ("offer", who[0].email.clone())
    );
    assert_eq!(store.conversation_of(&[]).await.expect("lookup"), None);
    assert_eq!(
        store
            .conversation_of(&["conv-1@mail.example".into()])
            .await
            .expect("lookup"),
        None,
        "the requestor's own message is not ours"
    );

    // The daily cap counts reply kinds to the address, created after `since`.
    let clinic = addr("clinic@requestor.example");
    assert_eq!(
        store.replies_since(&clinic, mins(-1)).await.expect("count"),
        1
    );
    assert_eq!(
        store.replies_since(&clinic, mins(0)).await.expect("count"),
        0
    );
    assert_eq!(
        store
            .replies_since(&who[0].email, mins(-1))
            .await
            .expect("count"),
        0,
        "an offer is not a reply"
    );

    // The requestor email is written with a winning accept only.
    let (_, mut a1) = new_assignment("c1", who[0].email.as_str());
    let mut assigned = email(
        "assigned-c1@dragoman",
        "assigned",
        "clinic@requestor.example",
    );
    assigned.in_reply_to = Some("conv-1@mail.example".into());
    a1.requestor_email = Some(assigned);
    let won = store
        .accept_offer(&t1.hash(), &a1, mins(1))
        .await
        .expect("accept");
    assert!(matches!(won, AcceptOutcome::Won { .. }), "{won:?}");
    let (_, mut a2) = new_assignment("c2", who[1].email.as_str());
    a2.requestor_email = Some(email(
        "assigned-c2@dragoman",
        "assigned",
        "clinic@requestor.example",
    ));
    assert_eq!(
        store
            .accept_offer(&t2.hash(), &a2, mins(2))
            .await
            .expect("accept"),
        AcceptOutcome::Taken
    );
    let found = store
        .conversation_of(&["assigned-c1@dragoman".into()])
        .await
        .expect("lookup")
        .expect("written with the win");
    assert_eq!(found.request_id, Some(rid));
    assert_eq!(
        store
            .conversation_of(&["assigned-c2@dragoman".into()])
            .await
            .expect("lookup"),
        None,
        "a losing accept writes nothing"
    );
    // Of several of ours, the most recent one answers.
    let latest = store
        .conversation_of(&["received-c@dragoman".into(), "assigned-c1@dragoman".into()])
        .await
        .expect("lookup")
        .expect("ours");
    assert_eq!(latest.kind, "assigned");
}

#[tokio::test]
async fn conversation_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_sqlite_url(dir.path());
    conversation_contract(store::connect(&url).await.expect("connect to SQLite")).await;
}

#[tokio::test]
async fn conversation_postgres() {
    let db = common::fresh_postgres().await;
    let url = db.url.clone();
    conversation_contract(store::connect(&url).await.expect("connect to PostgreSQL")).await;
}
