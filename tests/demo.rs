//! The end-to-end story, driven over HTTP against the running app exactly as `dragoman demo`
//! does it: Maildir in, parser, store, offers, outbox files, accept race, join page, signed
//! webhooks, attendance. Also the binary itself: `dragoman demo --json` exits 0.

use std::process::Command;

#[tokio::test]
async fn the_demo_story_works_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = dragoman::demo::run(tmp.path(), true).await.unwrap();
    assert!(ok, "a demo step failed (its JSON line says which)");
    // Running it again starts from a clean slate.
    assert!(dragoman::demo::run(tmp.path(), true).await.unwrap());
}

#[test]
fn the_demo_command_prints_every_step_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .args(["demo", "--json", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(steps.len() >= 12, "{stdout}");
    assert!(steps.iter().all(|s| s["ok"] == true));
    let last = steps.last().unwrap();
    assert_eq!(last["method"], "customer_key");
    assert!(!stdout.contains("a1B2c3"), "the passcode is never printed");
}
