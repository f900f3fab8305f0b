//! Property tests of the invitation parser: every golden fixture, mutated (truncated, bytes
//! flipped, junk inserted, line endings changed), must parse without panicking into either a
//! refusal or a sane invitation. Must never depend on the exact values (the golden test does).

use dragoman::invitation::{envelope, parse, parse_with_limit, to_json, Invitation};
use proptest::prelude::*;
use std::path::Path;
use std::sync::LazyLock;

static FIXTURES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "json" && ext != "failed" && p.with_extension("json").exists() {
                if let Ok(b) = std::fs::read(&p) {
                    out.push(b);
                }
            }
        }
    }
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
});

fn sane(inv: &Invitation) {
    if let Some(id) = &inv.meeting_id {
        assert!(!id.is_empty(), "empty meeting id");
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "meeting id {id:?}");
    }
    assert!(!inv.join_url.is_empty());
    assert!(
        !inv.join_url.chars().any(char::is_whitespace),
        "{:?}",
        inv.join_url
    );
    assert!(
        inv.host.ends_with("zoom.us")
            || inv.host.ends_with("zoomgov.com")
            || inv.host.ends_with("zoom.com.cn")
            || inv.host.ends_with("zoom-x.de")
            || inv.host.ends_with("zoom.com"),
        "host {:?}",
        inv.host
    );
    if let Some(p) = &inv.passcode {
        assert!(
            !p.is_empty() && !p.chars().any(char::is_whitespace),
            "passcode {p:?}"
        );
    }
    if let Some(t) = &inv.topic {
        assert!(!t.contains('\n'), "topic spans lines: {t:?}");
    }
    // What offers show before anyone accepts never holds a URL (the join link above all).
    for (what, v) in [
        ("topic", &inv.topic),
        ("organizer", &inv.organizer),
        ("recurrence", &inv.recurrence),
    ] {
        if let Some(v) = v {
            assert!(!v.contains("://"), "{what} holds a URL: {v:?}");
        }
    }
}

fn check(bytes: &[u8]) {
    let _ = envelope(bytes);
    let r = parse(bytes);
    if let Ok(inv) = &r {
        sane(inv);
    }
    let v = to_json("x", &r);
    assert!(v.get("ok").is_some());
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Crlf,
    Lf,
    Cr,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..32),
                Just(b"\r\n\r\n".to_vec()),
                Just(b"=\r\n".to_vec()),
                Just(b"--boundary\r\n".to_vec()),
                Just(b"<a href=\"https://zoom.us/j/".to_vec()),
                Just(b"Passcode: ".to_vec()),
                Just(b"BEGIN:VCALENDAR\nBEGIN:VEVENT\n".to_vec()),
                Just("\u{3000}：パスコード".as_bytes().to_vec()),
            ]
        )
            .prop_map(|(i, j)| Mutation::Insert(i, j)),
        Just(Mutation::Crlf),
        Just(Mutation::Lf),
        Just(Mutation::Cr),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Truncate(n) => {
            let n = if b.is_empty() { 0 } else { n % (b.len() + 1) };
            b.truncate(n);
            b
        }
        Mutation::Flip(i, x) => {
            if !b.is_empty() {
                let i = i % b.len();
                b[i] ^= x | 1;
            }
            b
        }
        Mutation::Insert(i, junk) => {
            let i = if b.is_empty() { 0 } else { i % (b.len() + 1) };
            b.splice(i..i, junk.iter().copied());
            b
        }
        Mutation::Crlf => {
            let s: Vec<u8> = b.iter().copied().filter(|c| *c != b'\r').collect();
            s.iter()
                .flat_map(|c| {
                    if *c == b'\n' {
                        vec![b'\r', b'\n']
                    } else {
                        vec![*c]
                    }
                })
                .collect()
        }
        Mutation::Lf => b.into_iter().filter(|c| *c != b'\r').collect(),
        Mutation::Cr => b
            .into_iter()
            .filter(|c| *c != b'\r')
            .map(|c| if c == b'\n' { b'\r' } else { c })
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        which in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let base = FIXTURES[which % FIXTURES.len()].clone();
        let bytes = muts.iter().fold(base, apply);
        check(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn limit_is_enforced(which in any::<usize>(), limit in 0usize..4096) {
        let base = &FIXTURES[which % FIXTURES.len()];
        let r = parse_with_limit(base, limit);
        if base.len() > limit {
            prop_assert!(r.is_err());
        }
    }
}

#[test]
fn every_fixture_line_ending_variant_is_sane() {
    for f in FIXTURES.iter() {
        for m in [Mutation::Crlf, Mutation::Lf, Mutation::Cr] {
            check(&apply(f.clone(), &m));
        }
    }
}

/// Inputs fuzzing found to break the parser or a dependency (`fixtures/regressions/`): each
/// is read without a panic, in every build profile, into a refusal or a sane invitation.
#[test]
fn fuzz_regressions_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/regressions");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no inputs in {}", dir.display());
    for p in paths {
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        check(&bytes);
    }
}
