//! Maildir ingest on the embedded default: the same meeting twice is one request, loop-unsafe
//! and unknown mail makes nothing, oversized mail is refused unread, and every message ends in
//! `cur/` only once its decision is committed.

use chrono::{Duration, Utc};
use dragoman::app::App;
use dragoman::config::Config;
use dragoman::domain::{EmailAddress, LanguagePair, NewInterpreter};

const INVITATION: &str = "Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: Intake\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/81234567890?pwd=QWxwaGFCZXRhR2FtbWE.1\r\n\r\nMeeting ID: 812 3456 7890\r\nPasscode: 0a1B2c\r\n";

fn message(from: &str, to: &str, id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: meeting\r\nMessage-ID: <{id}>\r\n{extra_headers}MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn app(dir: &std::path::Path, cap: Option<usize>) -> App {
    let mut config = Config::embedded(dir);
    if let Some(cap) = cap {
        config.limits.max_message_bytes = cap;
    }
    let app = App::open(config).await.unwrap();
    let i = app
        .store
        .add_interpreter(
            &NewInterpreter {
                name: "Ana Ruiz".into(),
                email: EmailAddress::parse("ana@interpreters.example").unwrap(),
                pairs: vec![LanguagePair::parse("es:en").unwrap()],
                timezone: "UTC".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    app.store
        .set_presence(i.id, Some(Utc::now() + Duration::hours(1)))
        .await
        .unwrap();
    app
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn the_same_meeting_sent_twice_is_one_request_with_one_set_of_offers() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app(tmp.path(), None).await;
    let (_, spool) = app.maildirs().unwrap().remove(0);
    spool
        .deliver(&message(
            "dr@clinic.example",
            "es-en@agency.example",
            "a@clinic.example",
            "",
            INVITATION,
        ))
        .unwrap();
    let forwarded = format!("FYI, see below.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Dr. Ruiz\r\n\r\n{INVITATION}");
    spool
        .deliver(&message(
            "nurse@clinic.example",
            "es-en@agency.example",
            "b@clinic.example",
            "",
            &forwarded,
        ))
        .unwrap();

    let report = app.ingest_step(Utc::now()).await.unwrap();
    assert_eq!(
        (report.created, report.duplicates, report.errors),
        (1, 1, 0),
        "{report:?}"
    );
    let requests = app.store.list_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let detail = app
        .store
        .request_detail(requests[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.offers.len(), 1, "one offer, not one per copy");
    assert_eq!(detail.request.meeting.passcode.as_deref(), Some("0a1B2c"));
    assert_eq!(count(&spool.root().join("new")), 0);
    assert_eq!(count(&spool.root().join("cur")), 2);

    // A second pass finds nothing to do.
    let again = app.ingest_step(Utc::now()).await.unwrap();
    assert_eq!(again.handled(), 0);
}

#[tokio::test]
async fn loops_strangers_and_non_invitations_make_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app(tmp.path(), None).await;
    let (_, spool) = app.maildirs().unwrap().remove(0);
    let cases = [
        message(
            "dr@clinic.example",
            "es-en@agency.example",
            "1@x",
            "Auto-Submitted: auto-replied\r\n",
            INVITATION,
        ),
        message(
            "MAILER-DAEMON@clinic.example",
            "es-en@agency.example",
            "2@x",
            "",
            INVITATION,
        ),
        message(
            "list@clinic.example",
            "es-en@agency.example",
            "3@x",
            "List-Id: <staff.clinic.example>\r\nPrecedence: list\r\n",
            INVITATION,
        ),
        message(
            "someone@stranger.example",
            "es-en@agency.example",
            "4@x",
            "",
            INVITATION,
        ),
        message(
            "dr@clinic.example",
            "nobody@agency.example",
            "5@x",
            "",
            INVITATION,
        ),
        message(
            "dr@clinic.example",
            "es-en@agency.example",
            "6@x",
            "",
            "Let's talk on Zoom next week!\r\n",
        ),
        message(
            "dispatch@agency.example",
            "es-en@agency.example",
            "7@x",
            "",
            INVITATION,
        ),
    ];
    for m in &cases {
        spool.deliver(m).unwrap();
    }
    let report = app.ingest_step(Utc::now()).await.unwrap();
    assert_eq!(report.rejected, cases.len(), "{report:?}");
    assert!(app.store.list_requests().await.unwrap().is_empty());
    let status = app.store.status(Utc::now()).await.unwrap();
    assert_eq!(status.outbox_pending, 0, "no reply to any of them");
    assert_eq!(count(&spool.root().join("cur")), cases.len());
}

#[tokio::test]
async fn an_oversized_message_is_refused_without_being_read() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app(tmp.path(), Some(4096)).await;
    let (_, spool) = app.maildirs().unwrap().remove(0);
    let big = format!("{INVITATION}\r\n{}", "x".repeat(10_000));
    spool
        .deliver(&message(
            "dr@clinic.example",
            "es-en@agency.example",
            "big@x",
            "",
            &big,
        ))
        .unwrap();
    spool
        .deliver(&message(
            "dr@clinic.example",
            "es-en@agency.example",
            "ok@x",
            "",
            INVITATION,
        ))
        .unwrap();
    let report = app.ingest_step(Utc::now()).await.unwrap();
    assert_eq!((report.rejected, report.created), (1, 1), "{report:?}");
}
