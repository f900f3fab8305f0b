//! Golden test of the invitation parser: every `fixtures/invitations/<case>.<ext>` beside its
//! `<case>.json` is parsed with LF and with CRLF line endings and compared with the JSON
//! `dragoman parse --json` prints (SPEC §3 shape, with its "calendar" object when the invitation
//! came with a calendar), plus an optional "max_bytes" limit and an optional "source" note saying
//! where the case's wording came from, which is not compared.
//!
//! On mismatch it writes `<case>.failed` (gitignored) with the actual output and fails listing
//! every failing case. Must never rewrite a `.json` itself: goldens are reviewed by hand.

use dragoman::invitation::{parse_with_limit, to_json, DEFAULT_MAX_BYTES};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations")
}

/// Every (input, golden) pair, sorted by name.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).expect("fixtures/invitations exists");
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for json in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let stem = json
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let input = files.iter().find(|p| {
            p.file_stem().and_then(|s| s.to_str()) == Some(stem)
                && !p
                    .extension()
                    .is_some_and(|e| e == "json" || e == "failed" || e == "md~")
        });
        match input {
            Some(i) => out.push((i.clone(), json.clone())),
            None => panic!("{} has no input file beside it", json.display()),
        }
    }
    out
}

fn to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let lf = to_lf(bytes);
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 40);
    for b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn actual_for(file: &str, bytes: &[u8], expected: &Value) -> Value {
    let limit = expected
        .get("max_bytes")
        .and_then(Value::as_u64)
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_MAX_BYTES);
    let result = parse_with_limit(bytes, limit);
    let mut v = to_json(file, &result);
    if let Some(obj) = v.as_object_mut() {
        if expected.get("max_bytes").is_some() {
            obj.insert("max_bytes".into(), json!(limit));
        }
        // Where the case's wording came from: documentation, not parser output.
        if let Some(source) = expected.get("source") {
            obj.insert("source".into(), source.clone());
        }
    }
    v
}

#[test]
fn golden_fixtures() {
    let cases = cases();
    assert!(
        !cases.is_empty(),
        "no fixtures found in {}",
        fixtures_dir().display()
    );
    let mut failures = Vec::new();
    for (input, golden) in &cases {
        let file = input
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(golden).expect("golden is readable"))
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", golden.display()));
        let raw = std::fs::read(input).expect("fixture is readable");
        let mut report = Vec::new();
        for (ending, bytes) in [("LF", to_lf(&raw)), ("CRLF", to_crlf(&raw))] {
            let actual = actual_for(&file, &bytes, &expected);
            if actual != expected {
                report.push(format!(
                    "// {ending}\n{}",
                    serde_json::to_string_pretty(&actual).unwrap_or_default()
                ));
            }
        }
        let failed = golden.with_extension("failed");
        if report.is_empty() {
            let _ = std::fs::remove_file(&failed);
        } else {
            std::fs::write(&failed, report.join("\n")).expect("write .failed");
            failures.push(file);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ (actual output in <case>.failed):\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}
