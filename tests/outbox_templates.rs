//! Golden tests of every rendered message: the built-in templates with a fixed context (no
//! clock, no randomness) must render exactly `fixtures/templates/NAME.txt` (subject line, blank
//! line, text part) and `NAME.html`. To accept a deliberate wording change, run with
//! `DRAGOMAN_UPDATE_GOLDEN=1` and review the diff.
//!
//! Also checks what no message may carry: a passcode or a Zoom join URL.

use chrono::DateTime;
use dragoman::domain::{EmailAddress, Interpreter, LanguagePair, Meeting, Request, RequestState};
use dragoman::invitation::NotAnInvitation;
use dragoman::outbox::templates::{Message, Rendered, Templates};

fn interpreter() -> Interpreter {
    Interpreter {
        id: 7,
        name: "Ana Ruiz".into(),
        email: EmailAddress::parse("ana@interpreters.example").expect("address"),
        pairs: vec![LanguagePair::parse("es:en").expect("pair")],
        timezone: "Europe/Madrid".into(),
        presence_until: None,
        created_at: DateTime::from_timestamp(0, 0).expect("time"),
    }
}

fn request() -> Request {
    Request {
        id: 3,
        state: RequestState::Offered,
        meeting: Meeting {
            meeting_id: Some("81234567890".into()),
            passcode: Some("s3cret9".into()),
            join_url: "https://us02web.zoom.us/j/81234567890?pwd=abc.1".into(),
            host: "us02web.zoom.us".into(),
            kind: "meeting".into(),
            topic: Some("Cardiology <follow-up>".into()),
            // Thu 3 Dec 2026 15:00 UTC = 10:00 EST = 16:00 CET.
            start: DateTime::from_timestamp(1_796_310_000, 0),
            timezone: Some("America/New_York".into()),
        },
        pair: LanguagePair::parse("es:en").expect("pair"),
        requestor: EmailAddress::parse("dr@clinic.example").expect("address"),
        route_address: "es-en@agency.example".into(),
        epoch: 0,
        created_at: DateTime::from_timestamp(0, 0).expect("time"),
    }
}

fn check(name: &str, r: &Rendered) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates");
    let text = format!("Subject: {}\n\n{}", r.subject, r.text);
    for (file, got) in [
        (format!("{name}.txt"), &text),
        (format!("{name}.html"), &r.html),
    ] {
        let path = dir.join(&file);
        if std::env::var_os("DRAGOMAN_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&dir).expect("fixtures dir");
            std::fs::write(&path, got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with DRAGOMAN_UPDATE_GOLDEN=1)",
                path.display()
            )
        });
        assert_eq!(got, &want, "{file} differs from its golden copy");
    }
    for part in [&text, &r.html] {
        assert!(!part.contains("s3cret9"), "{name} carries the passcode");
        assert!(
            !part.contains("pwd=abc.1"),
            "{name} carries the Zoom join URL"
        );
    }
}

#[test]
fn every_message_renders_exactly_its_golden_copy() {
    let t = Templates::load(None).expect("built-in templates");
    let (i, r) = (interpreter(), request());
    let no_link = NotAnInvitation::NoJoinLink;
    let too_large = NotAnInvitation::TooLarge {
        size: 12_000_000,
        limit: 10_485_760,
    };
    let messages: Vec<(&str, Message<'_>)> = vec![
        (
            "offer",
            Message::Offer {
                interpreter: &i,
                request: &r,
                offer_url: "https://dragoman.example/offer/TOKEN".into(),
                expires_at: DateTime::from_timestamp(1_796_306_400, 0).expect("time"),
            },
        ),
        (
            "confirmation",
            Message::Confirmation {
                interpreter: &i,
                request: &r,
                join_url: "https://dragoman.example/join/JOIN".into(),
            },
        ),
        ("received", Message::Received { request: &r }),
        (
            "not_understood",
            Message::NotUnderstood {
                reason: &no_link,
                original_subject: Some("Fwd: meeting\r\n  tomorrow"),
                address: "es-en@agency.example",
            },
        ),
        (
            "not_understood_too_large",
            Message::NotUnderstood {
                reason: &too_large,
                original_subject: None,
                address: "es-en@agency.example",
            },
        ),
        (
            "not_authorised",
            Message::NotAuthorised {
                sender: "someone@stranger.example",
                address: "es-en@agency.example",
            },
        ),
        (
            "assigned",
            Message::Assigned {
                request: &r,
                interpreter: &i,
            },
        ),
        (
            "cancelled",
            Message::Cancelled {
                request: &r,
                had_interpreter: true,
            },
        ),
        (
            "cancelled_unassigned",
            Message::Cancelled {
                request: &r,
                had_interpreter: false,
            },
        ),
        (
            "assignment_cancelled",
            Message::AssignmentCancelled {
                interpreter: &i,
                request: &r,
            },
        ),
        ("nobody_available", Message::NobodyAvailable { request: &r }),
        (
            "paused",
            Message::Paused {
                interpreter: &i,
                unanswered: 3,
            },
        ),
        ("reoffered", Message::Reoffered { request: &r }),
        (
            "no_show_released",
            Message::NoShowReleased {
                interpreter: &i,
                request: &r,
            },
        ),
        (
            "meeting_moved",
            Message::MeetingMoved {
                interpreter: &i,
                request: &r,
                still_yours: true,
            },
        ),
        (
            "meeting_moved_released",
            Message::MeetingMoved {
                interpreter: &i,
                request: &r,
                still_yours: false,
            },
        ),
        (
            "offer_reply",
            Message::OfferReply {
                original_subject: Some("Re: Offer: Spanish→English — Cardiology"),
            },
        ),
    ];
    for (name, m) in &messages {
        let rendered = t.render(m).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        check(name, &rendered);
    }
}

/// `zoom_connect` (issue #7: `dragoman zoom connect-link --send`), to an interpreter (their
/// first name, times in their zone) and to a requestor.
#[test]
fn zoom_connect_renders_exactly_its_golden_copies() {
    use dragoman::outbox::zoom_connect::{render, Recipient};
    let t = Templates::load(None).expect("built-in templates");
    let i = interpreter();
    let url = "https://dragoman.example/oauth/zoom/start?link=LINK";
    let expires = DateTime::from_timestamp(1_796_310_000, 0).expect("time");
    for (name, to) in [
        ("zoom_connect", Recipient::Interpreter(&i)),
        ("zoom_connect_requestor", Recipient::Requestor),
    ] {
        let rendered = render(&t, to, url, expires).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(rendered.text.contains(url), "{name}: {}", rendered.text);
        check(name, &rendered);
    }
}

/// The offer digest: several offers to one interpreter, each with its own subject facts,
/// time in the interpreter's zone, how long it stays open and its own link; no passcode, no
/// join URL; topics escaped in HTML.
#[test]
fn the_offer_digest_renders_exactly_its_golden_copy() {
    use dragoman::outbox::templates::DigestOffer;
    let t = Templates::load(None).expect("built-in templates");
    let i = interpreter();
    let first = request();
    let mut second = request();
    second.id = 4;
    second.pair = LanguagePair::parse("en:es").expect("pair");
    second.meeting.topic = Some("Orthopaedics & physio".into());
    second.meeting.start = DateTime::from_timestamp(1_796_400_000, 0);
    let mut third = request();
    third.id = 5;
    third.meeting.topic = Some("Phone triage".into());
    third.meeting.start = None;
    // Thu 3 Dec 2026 13:30 UTC: the first closes in 30 min, the second in a day and a bit.
    let now = DateTime::from_timestamp(1_796_304_600, 0).expect("time");
    let offers = vec![
        DigestOffer {
            request: &first,
            subject: "Offer: Spanish→English, Thu 3 Dec 2026 16:00 CET — Cardiology <follow-up>",
            offer_url: "https://dragoman.example/offer/TOKEN1",
            expires_at: DateTime::from_timestamp(1_796_306_400, 0).expect("time"),
        },
        DigestOffer {
            request: &second,
            subject: "Offer: English→Spanish, Fri 4 Dec 2026 17:00 CET — Orthopaedics & physio",
            offer_url: "https://dragoman.example/offer/TOKEN2",
            expires_at: DateTime::from_timestamp(1_796_397_000, 0).expect("time"),
        },
        DigestOffer {
            request: &third,
            subject: "Offer: Spanish→English — Phone triage",
            offer_url: "https://dragoman.example/offer/TOKEN3",
            expires_at: DateTime::from_timestamp(1_796_308_200, 0).expect("time"),
        },
    ];
    let rendered = t
        .render(&Message::OfferDigest {
            interpreter: &i,
            offers,
            now,
        })
        .expect("render the digest");
    check("offer_digest", &rendered);
    for n in 1..=3 {
        let link = format!("https://dragoman.example/offer/TOKEN{n}");
        assert!(rendered.text.contains(&link), "{}", rendered.text);
        assert!(
            rendered.html.replace("&#x2f;", "/").contains(&link),
            "{}",
            rendered.html
        );
    }
    assert!(rendered.html.contains("Cardiology &lt;follow-up&gt;"));
}
