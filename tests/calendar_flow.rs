//! Calendar updates and cancellations through ingest (issue #5), on both databases: an
//! invitation with a `text/calendar` part makes a request; the same UID with a higher
//! SEQUENCE and a new DTSTART moves it (the assigned interpreter is told, the assignment
//! stands when they still fit, and is released and offered again when they do not); the same
//! SEQUENCE again changes nothing; `METHOD:CANCEL` cancels it and tells everyone concerned.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dragoman::config::Config;
use dragoman::domain::RequestState;
use dragoman::ingest::ingest_message;
use dragoman::matching::profile::{Availability, Profile};
use dragoman::offers::{AcceptResult, Offers};
use dragoman::outbox::templates::Templates;
use dragoman::roster::EntryText;
use dragoman::store::{IngestOutcome, Store};

fn calendar(method: &str, sequence: i64, start: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Dr Ruiz <dr@clinic.example>\r\n\
         To: es-en@agency.example\r\n\
         Subject: Invitation: Cardiology follow-up\r\n\
         Message-ID: <{message_id}@clinic.example>\r\n\
         Date: Mon, 04 Jan 2027 12:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/calendar; method={method}; charset=UTF-8\r\n\
         \r\n\
         BEGIN:VCALENDAR\r\n\
         METHOD:{method}\r\n\
         PRODID:test\r\n\
         VERSION:2.0\r\n\
         BEGIN:VEVENT\r\n\
         UID:abc-123@clinic.example\r\n\
         SEQUENCE:{sequence}\r\n\
         DTSTART:{start}\r\n\
         SUMMARY:Cardiology follow-up\r\n\
         DESCRIPTION:Join Zoom Meeting\\nhttps://us02web.zoom.us/j/81234567890?pwd=\r\n \
         abcDEF123\\n\\nMeeting ID: 812 3456 7890\\nPasscode: 123456\\n\r\n\
         LOCATION:https://us02web.zoom.us/j/81234567890?pwd=abcDEF123\r\n\
         END:VEVENT\r\n\
         END:VCALENDAR\r\n"
    )
    .into_bytes()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 12, 0, 0).unwrap()
}

async fn mail(store: &dyn Store) -> Vec<(String, String, String)> {
    let jobs = store
        .claim_outbox(now() + Duration::days(30), now() + Duration::days(31), 1000)
        .await
        .unwrap();
    let mut out = Vec::new();
    for j in jobs {
        store.outbox_sent(j.id, now()).await.unwrap();
        out.push((j.email.kind, j.email.to.to_string(), j.email.text));
    }
    out
}

async fn story(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::embedded(dir.path());
    config.database.url = url.to_string();
    let store = dragoman::store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let offers = Offers::new(
        store.clone(),
        Arc::new(Templates::load(None).unwrap()),
        &config,
    );
    // One interpreter works weekdays 08:00-18:00 UTC only.
    let entry = EntryText {
        name: "Ana Ruiz".into(),
        email: "ana@interpreters.test".into(),
        pairs: "es:en".into(),
        availability: "mon-fri 08:00-18:00".into(),
        ..EntryText::default()
    }
    .check()
    .unwrap();
    let ana = dragoman::roster::add(store.as_ref(), &entry, now())
        .await
        .unwrap();
    store
        .set_presence(ana.id, Some(now() + Duration::hours(8)))
        .await
        .unwrap();

    let first = calendar("REQUEST", 0, "20270104T150000Z", "c0");
    let IngestOutcome::Created(id) = ingest_message(&offers, &config, "spool", "c0", &first, now())
        .await
        .unwrap()
    else {
        panic!("the invitation makes a request")
    };
    let sent = mail(store.as_ref()).await;
    let offer = sent
        .iter()
        .find(|(k, _, _)| k == "offer")
        .expect("an offer");
    let token = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})")
        .unwrap()
        .captures(&offer.2)
        .unwrap()[1]
        .to_string();
    let accepted = offers.accept(&token, now()).await.unwrap();
    assert!(matches!(accepted, AcceptResult::Accepted { .. }));
    mail(store.as_ref()).await;

    // Moved by an hour, still inside Ana's availability: she keeps it and is told.
    let moved = calendar("REQUEST", 1, "20270104T160000Z", "c1");
    let out = ingest_message(&offers, &config, "spool", "c1", &moved, now())
        .await
        .unwrap();
    assert_eq!(
        out,
        IngestOutcome::Rejected,
        "recorded as an update, not a new request"
    );
    let d = store.request_detail(id).await.unwrap().unwrap();
    assert_eq!(
        d.request.meeting.start,
        Some(Utc.with_ymd_and_hms(2027, 1, 4, 16, 0, 0).unwrap())
    );
    assert_eq!(d.request.state, RequestState::Assigned);
    let sent = mail(store.as_ref()).await;
    assert!(
        sent.iter().any(|(k, to, text)| k == "meeting_moved"
            && to == "ana@interpreters.test"
            && text.contains("stands")),
        "{sent:?}"
    );
    assert_eq!(store.list_requests().await.unwrap().len(), 1);

    // The same SEQUENCE again (a re-sent copy) changes nothing.
    let again = calendar("REQUEST", 1, "20270104T170000Z", "c1b");
    ingest_message(&offers, &config, "spool", "c1b", &again, now())
        .await
        .unwrap();
    let d = store.request_detail(id).await.unwrap().unwrap();
    assert_eq!(
        d.request.meeting.start,
        Some(Utc.with_ymd_and_hms(2027, 1, 4, 16, 0, 0).unwrap())
    );
    assert!(mail(store.as_ref()).await.is_empty());

    // Moved to Saturday: outside her availability, so the assignment is released and the
    // request offered again.
    let weekend = calendar("REQUEST", 2, "20270109T100000Z", "c2");
    ingest_message(&offers, &config, "spool", "c2", &weekend, now())
        .await
        .unwrap();
    let d = store.request_detail(id).await.unwrap().unwrap();
    assert_eq!(d.request.state, RequestState::Offered, "re-opened");
    assert_eq!(d.assigned_interpreter, None);
    let sent = mail(store.as_ref()).await;
    let kinds: Vec<&str> = sent.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(kinds.contains(&"reoffered"), "{kinds:?}");
    let told = sent
        .iter()
        .find(|(k, _, _)| k == "meeting_moved")
        .expect("Ana is told");
    assert!(told.2.contains("released"), "{}", told.2);

    // Cancelled: the request ends and the requestor is told.
    let cancel = calendar("CANCEL", 3, "20270109T100000Z", "c3");
    ingest_message(&offers, &config, "spool", "c3", &cancel, now())
        .await
        .unwrap();
    let d = store.request_detail(id).await.unwrap().unwrap();
    assert_eq!(d.request.state, RequestState::Cancelled);
    let sent = mail(store.as_ref()).await;
    assert!(
        sent.iter()
            .any(|(k, to, _)| k == "cancelled" && to == "dr@clinic.example"),
        "{sent:?}"
    );
    let profile: Profile = store.interpreter_profile(ana.id).await.unwrap();
    assert_eq!(
        profile.availability,
        Some(Availability::parse("mon-fri 08:00-18:00").unwrap())
    );
}

#[tokio::test]
async fn calendar_updates_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story(&common::fresh_sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn calendar_updates_on_postgres() {
    let db = common::fresh_postgres().await;
    story(&db.url).await;
}
