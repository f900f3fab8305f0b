//! Unit tests of the invitation parser's public entry points (the golden fixtures live in
//! `tests/invitation_golden.rs`). Must never read files outside `fixtures/invitations`.

use super::*;

#[test]
fn refuses_empty() {
    assert!(matches!(parse(b""), Err(NotAnInvitation::Malformed(_))));
    assert!(matches!(
        parse(b"  \r\n"),
        Err(NotAnInvitation::Malformed(_))
    ));
}

#[test]
fn refuses_oversized() {
    let big = vec![b'a'; 100];
    assert_eq!(
        parse_with_limit(&big, 10),
        Err(NotAnInvitation::TooLarge {
            size: 100,
            limit: 10
        })
    );
}

#[test]
fn minimal_text() {
    let inv =
        parse(b"Join Zoom Meeting\nhttps://zoom.us/j/81234567890?pwd=abc.1.\nPasscode: 012345\n")
            .expect("invitation");
    assert_eq!(inv.meeting_id.as_deref(), Some("81234567890"));
    assert_eq!(inv.join_url, "https://zoom.us/j/81234567890?pwd=abc.1");
    assert_eq!(inv.passcode.as_deref(), Some("012345"));
}

#[test]
fn recurrence_line_after_time() {
    let text = "Topic: Weekly sync\nTime: Jan 5, 2021 09:00 AM Eastern Time (US and Canada)\n        Every week on Tue, until Mar 30, 2021, 13 occurrence(s)\n        Jan 5, 2021 09:00 AM\n\nJoin Zoom Meeting\nhttps://zoom.us/j/81234567890\n";
    let inv = parse(text.as_bytes()).expect("invitation");
    assert_eq!(inv.kind, MeetingKind::Recurring);
    assert_eq!(
        inv.recurrence.as_deref(),
        Some("Every week on Tue, until Mar 30, 2021, 13 occurrence(s)")
    );
    assert_eq!(
        to_json("f", &Ok(inv))["start"],
        serde_json::json!("2021-01-05T09:00:00-05:00")
    );
}

#[test]
fn proofpoint_and_safelinks_in_plain_text() {
    let text = "Join: https://urldefense.proofpoint.com/v2/url?u=https-3A__zoom.us_j_81234567890-3Fpwd-3Dab12&d=DwMF\n";
    let inv = parse(text.as_bytes()).expect("invitation");
    assert_eq!(inv.join_url, "https://zoom.us/j/81234567890?pwd=ab12");
}

#[test]
fn envelope_reads_routing_and_loop_facts() {
    let msg = b"Return-Path: <>\r\nFrom: \"Ana Ruiz\" <Ana@Clinic.example>\r\nTo: a@x.example, B@x.example\r\nCc: a@x.example\r\nDelivered-To: desk@x.example\r\nMessage-ID: <m1@clinic.example>\r\nIn-Reply-To: <m0@clinic.example>\r\nReferences: <r1@x> <m0@clinic.example>\r\nSubject: Intake\r\n\r\nbody\r\n";
    let e = envelope(msg);
    assert_eq!(e.from.as_deref(), Some("ana@clinic.example"));
    assert_eq!(e.from_name.as_deref(), Some("Ana Ruiz"));
    assert_eq!(
        e.recipients,
        vec!["a@x.example", "b@x.example", "desk@x.example"]
    );
    assert_eq!(e.message_id.as_deref(), Some("m1@clinic.example"));
    assert_eq!(e.in_reply_to.as_deref(), Some("m0@clinic.example"));
    assert_eq!(e.references, vec!["r1@x", "m0@clinic.example"]);
    assert_eq!(e.subject.as_deref(), Some("Intake"));
    assert!(e.automated.is_some());
    assert_eq!(envelope(b"Topic: x\nTime: y\n"), Envelope::default());
}

#[test]
fn envelope_flags_lists_and_auto_replies() {
    let list = b"From: a@x.example\r\nList-Id: <l.x.example>\r\nSubject: s\r\n\r\nb\r\n";
    assert!(envelope(list).automated.is_some());
    let human = b"From: a@x.example\r\nAuto-Submitted: no\r\nSubject: s\r\n\r\nb\r\n";
    assert_eq!(envelope(human).automated, None);
}

#[test]
fn labels_with_non_ascii_capitals_and_full_width_colons() {
    let ru = "Тема: Планёрка\nhttps://zoom.us/j/81234567890\nИдентификатор конференции: 812 3456 7890\nКод доступа: 0a1B2\n";
    let inv = parse(ru.as_bytes()).expect("invitation");
    assert_eq!(inv.topic.as_deref(), Some("Планёрка"));
    assert_eq!(inv.passcode.as_deref(), Some("0a1B2"));
    assert_eq!(inv.locale.as_deref(), Some("ru"));
    let ko = "주제：회의\nhttps://zoom.us/j/81234567890\n회의 ID：812 3456 7890\n암호：Xy7\n";
    let inv = parse(ko.as_bytes()).expect("invitation");
    assert_eq!(inv.topic.as_deref(), Some("회의"));
    assert_eq!(inv.passcode.as_deref(), Some("Xy7"));
    assert_eq!(inv.locale.as_deref(), Some("ko"));
}

#[test]
fn invisible_characters_inside_a_url_are_dropped() {
    let t = "Join Zoom Meeting\nhttps://us02web.zoom.us/j/812\u{ad}34567890?pwd=ab\u{200b}c.1\n";
    let inv = parse(t.as_bytes()).expect("invitation");
    assert_eq!(
        inv.join_url,
        "https://us02web.zoom.us/j/81234567890?pwd=abc.1"
    );
}

/// Zoom's Korean sentence with its particle placeholder (a Korean meeting bot's public test),
/// and the webinar reminder's `Date Time:` label (Zoom's own reminder mail).
#[test]
fn korean_placeholder_sentence_and_date_time_label() {
    let ko = "ABC이(가) 예약된 Zoom 회의에 귀하를 초대합니다.\n\nZoom 회의 참가\nhttps://us02web.zoom.us/j/81234567890?pwd=abc\n\n회의 ID: 812 3456 7890\n암호: 123456\n";
    let inv = parse(ko.as_bytes()).expect("invitation");
    assert_eq!(inv.organizer.as_deref(), Some("ABC"));
    assert_eq!(inv.locale.as_deref(), Some("ko"));

    let reminder = "This is a reminder that \"Weekly\" will begin in 1 hour on:\nDate Time: Feb 24, 2022 01:00 PM Eastern Time (US and Canada)\n\nJoin from a PC, Mac, iPad, iPhone or Android device:\nhttps://zoom.us/w/94209094905?tk=x\nPasscode: 940194\n";
    let inv = parse(reminder.as_bytes()).expect("invitation");
    assert_eq!(
        to_json("f", &Ok(inv))["start"],
        serde_json::json!("2022-02-24T13:00:00-05:00")
    );
}

/// People's own words for a series make the meeting recurring; a single date does not.
#[test]
fn a_series_in_peoples_own_words() {
    for (text, want) in [
        (
            "Weekly on Wednesdays @ 10:00 PT on [Zoom](https://zoom.us/j/812345678)",
            MeetingKind::Recurring,
        ),
        (
            "We will have our bi-weekly telecon tomorrow: https://zoom.us/j/812345678",
            MeetingKind::Recurring,
        ),
        (
            "Meetings are held every other week: https://zoom.us/j/812345678",
            MeetingKind::Recurring,
        ),
        (
            "* When: Every Wednesday @ 16:00 CET\n* Where: https://zoom.us/j/812345678",
            MeetingKind::Recurring,
        ),
        (
            "Our meeting this Wednesday: https://zoom.us/j/812345678",
            MeetingKind::Meeting,
        ),
    ] {
        let inv = parse(text.as_bytes()).expect("invitation");
        assert_eq!(inv.kind, want, "{text:?}");
    }
}
