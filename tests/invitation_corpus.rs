//! The development corpus check: every case of the shared corpus (`../shared/corpus/invitations/`
//! beside this worktree, or `$DRAGOMAN_CORPUS`), read from there rather than from the fixture
//! copies, must give the `expected` values its own JSON states: meeting ID, passcode, join URL,
//! host, topic and kind exactly, and a start exactly when the corpus says there is one.
//!
//! Must never write into the corpus, nor pass when the corpus cannot be found (it fails saying
//! where it looked and how to point it elsewhere).

use dragoman::invitation::{parse, Invitation};
use serde_json::Value;
use std::path::PathBuf;

/// `DRAGOMAN_CORPUS`, else the shared corpus beside the checkout when there is one, else the
/// copy vendored in `fixtures/corpus/invitations` (so a clean clone checks it too).
fn corpus_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("DRAGOMAN_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => {
            let shared = root.join("../shared/corpus/invitations");
            if shared.is_dir() {
                shared
            } else {
                root.join("fixtures/corpus/invitations")
            }
        }
    }
}

fn string_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The differences between what the corpus expects and what the parser read.
fn differences(expected: &Value, got: &Invitation) -> Vec<String> {
    let mut out = Vec::new();
    let mut same = |what: &str, want: Option<String>, have: Option<String>| {
        if want != have {
            out.push(format!("{what}: expected {want:?}, got {have:?}"));
        }
    };
    same(
        "meeting_id",
        string_field(expected, "meeting_id"),
        got.meeting_id.clone(),
    );
    same(
        "passcode",
        string_field(expected, "passcode"),
        got.passcode.clone(),
    );
    same(
        "join_url",
        string_field(expected, "join_url"),
        Some(got.join_url.clone()),
    );
    same(
        "host",
        string_field(expected, "host_domain"),
        Some(got.host.clone()),
    );
    same("topic", string_field(expected, "topic"), got.topic.clone());
    same(
        "kind",
        string_field(expected, "kind"),
        Some(got.kind.as_str().to_owned()),
    );
    // The corpus writes the start as the invitation words it; the golden fixtures pin the
    // RFC 3339 value. Here: a start exactly when the corpus has one.
    let wants_start = expected.get("start").is_some_and(|s| !s.is_null());
    if wants_start != got.start.is_some() {
        out.push(format!(
            "start: expected {}, got {:?}",
            if wants_start { "a start" } else { "none" },
            got.start
        ));
    }
    out
}

#[test]
fn development_corpus() {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot read the development corpus at {}: {e}. Check out the shared corpus there, \
             or set DRAGOMAN_CORPUS to its invitations/ directory",
            dir.display()
        )
    });
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for json in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let case: Value = serde_json::from_slice(&std::fs::read(json).expect("readable"))
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", json.display()));
        let Some(expected) = case.get("expected") else {
            continue;
        };
        let input = paths.iter().find(|p| {
            p.file_stem() == json.file_stem() && p.extension().is_some_and(|e| e != "json")
        });
        let Some(input) = input else {
            panic!("{} has no input file beside it", json.display());
        };
        let name = input.display().to_string();
        match parse(&std::fs::read(input).expect("readable")) {
            Ok(inv) => {
                let d = differences(expected, &inv);
                if !d.is_empty() {
                    failures.push(format!("{name}: {}", d.join("; ")));
                }
            }
            Err(e) => failures.push(format!("{name}: refused: {e}")),
        }
        checked += 1;
    }
    assert!(
        checked > 0,
        "no corpus cases (JSON with \"expected\") in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} corpus cases differ:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
