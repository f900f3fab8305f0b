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
