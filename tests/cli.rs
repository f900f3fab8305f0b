//! The command line as a sysadmin meets it: exit codes (0, 1, 2, 78), `check-config` naming
//! every bad key and the file, `print-config` producing a valid file, roster and request JSON.

use std::path::Path;
use std::process::{Command, Output};

fn dragoman(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DRAGOMAN_CONFIG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn print_config_output_passes_check_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dragoman(tmp.path(), &["print-config"]);
    assert!(out.status.success());
    let file = tmp.path().join("dragoman.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = dragoman(
        tmp.path(),
        &["check-config", "--config", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn check_config_exits_78_naming_every_bad_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"
[database]
url = "mysql://nope"
[http]
listen = "not an address"
[[mailbox]]
name = "spool"
[[route]]
address = "es-en@agency.test"
from = "es"
[zoom]
join_mode = "teleport"
"#,
    )
    .unwrap();
    let out = dragoman(
        tmp.path(),
        &["check-config", "--config", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    let t = text(&out);
    for key in [
        "database.url",
        "http.listen",
        "mailbox[0]",
        "route[0].to",
        "zoom",
        "bad.toml",
    ] {
        assert!(t.contains(key), "{key} not named in:\n{t}");
    }
}

#[test]
fn environment_overrides_reach_the_file_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .args(["--data-dir", tmp.path().to_str().unwrap(), "check-config"])
        .env("DRAGOMAN__HTTP__LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(text(&out).contains("http.listen"));
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(
        dragoman(tmp.path(), &["no-such-command"]).status.code(),
        Some(2)
    );
    assert_eq!(
        dragoman(tmp.path(), &["interpreter", "add", "--name", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn roster_commands_round_trip_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = dragoman(
        d,
        &[
            "interpreter",
            "add",
            "--name",
            "Ana Ruiz",
            "--email",
            "ana@example.com",
            "--pair",
            "es:en",
            "--pair",
            "en:es",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let dup = dragoman(
        d,
        &[
            "interpreter",
            "add",
            "--name",
            "Ana 2",
            "--email",
            "ANA@example.com",
            "--pair",
            "es:en",
        ],
    );
    assert_eq!(
        dup.status.code(),
        Some(1),
        "a second interpreter with the same email is refused"
    );
    let bad = dragoman(
        d,
        &[
            "interpreter",
            "add",
            "--name",
            "B",
            "--email",
            "b@example.com",
            "--pair",
            "spanish",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("FROM:TO"), "{}", text(&bad));

    assert!(dragoman(
        d,
        &["interpreter", "online", "ana@example.com", "--for", "2h"]
    )
    .status
    .success());
    let list: serde_json::Value =
        serde_json::from_slice(&dragoman(d, &["interpreter", "list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["email"], "ana@example.com");
    assert_eq!(list[0]["online"], true);
    let mut pairs: Vec<&str> = list[0]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    pairs.sort();
    assert_eq!(pairs, ["en:es", "es:en"]);
    assert!(dragoman(d, &["interpreter", "offline", "1"])
        .status
        .success());
    let one: serde_json::Value =
        serde_json::from_slice(&dragoman(d, &["interpreter", "show", "1", "--json"]).stdout)
            .unwrap();
    assert_eq!(one["online"], false);
    let missing = dragoman(d, &["interpreter", "online", "nobody@example.com"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("interpreter list"),
        "the error says what to do"
    );

    let reqs: serde_json::Value =
        serde_json::from_slice(&dragoman(d, &["request", "list", "--json"]).stdout).unwrap();
    assert_eq!(reqs, serde_json::json!([]));
    assert_eq!(
        dragoman(d, &["request", "show", "42", "--json"])
            .status
            .code(),
        Some(1)
    );
    let status: serde_json::Value =
        serde_json::from_slice(&dragoman(d, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["interpreters"]["total"], 1);
}

#[test]
fn parse_exit_code_says_whether_every_file_was_an_invitation() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.txt");
    std::fs::write(&good, "Join Zoom Meeting\nhttps://us02web.zoom.us/j/81234567890?pwd=abc.1\n\nMeeting ID: 812 3456 7890\nPasscode: 0123\n").unwrap();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, "Let's talk on Zoom next week!\n").unwrap();
    let out = dragoman(tmp.path(), &["parse", "--json", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["meeting_id"], "81234567890");
    assert_eq!(v["passcode"], "0123");
    let out = dragoman(
        tmp.path(),
        &[
            "parse",
            "--json",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["ok"], false);
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("no Zoom join link"));
}

#[test]
fn import_reports_every_bad_row_by_line_and_explain_shows_the_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("roster.csv");
    std::fs::write(
        &csv,
        "name,email,pairs,timezone,skills,availability,max_day_minutes,max_week_minutes\n\
         Ana Ruiz,ana@interpreters.test,es:en,America/New_York,medical:2030-01-31,,240,\n\
         Bad Email,not-an-email,es:en,UTC,,,,\n\
         Bruno Díaz,bruno@interpreters.test,es<>en,UTC,,mon-fri 09:00-17:00,,900\n\
         Bad Zone,zone@interpreters.test,es:en,Mars/Olympus,,,,\n\
         Ana Again,ana@interpreters.test,es:en,UTC,,,,\n\
         Cara Lima,cara@interpreters.test,pt:en,UTC,,,,\n",
    )
    .unwrap();
    let out = dragoman(
        tmp.path(),
        &["interpreter", "import", csv.to_str().unwrap()],
    );
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad rows make the import fail: {t}"
    );
    assert!(
        t.contains("imported 3 interpreter(s); 3 row(s) with errors"),
        "{t}"
    );
    for (line, what) in [(3, "email"), (5, "timezone"), (6, "ana@interpreters.test")] {
        assert!(
            t.contains(&format!("roster.csv:{line}:"))
                && t.lines()
                    .any(|l| l.contains(&format!(":{line}:")) && l.contains(what)),
            "line {line} ({what}) reported: {t}"
        );
    }
    let out = dragoman(
        tmp.path(),
        &["interpreter", "show", "bruno@interpreters.test", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pairs"], serde_json::json!(["en:es", "es:en"]));
    assert_eq!(v["availability"], "mon-fri 09:00-17:00");
    assert_eq!(v["max_week_minutes"], 900);

    // A request piped in as an MTA would, then its explanation.
    let out = dragoman(
        tmp.path(),
        &["interpreter", "online", "ana@interpreters.test"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dragoman"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["deliver", "--to", "es-en@agency.example"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"From: dr@clinic.example\r\nTo: es-en@agency.example\r\nSubject: Intake\r\n\
              Message-ID: <explain-1@clinic.example>\r\n\r\n\
              Join Zoom Meeting\r\nhttps://us02web.zoom.us/j/81234567890?pwd=abc\r\n\r\n\
              Meeting ID: 812 3456 7890\r\nPasscode: 123456\r\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = dragoman(tmp.path(), &["request", "explain", "1"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.lines()
            .any(|l| l.contains("Ana Ruiz") && l.contains("pending")),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.contains("Bruno") && l.contains("presence: offline")),
        "Bruno is offline for a meeting with no fixed time: {t}"
    );
    assert!(!t.contains("Cara"), "pt:en is not in the es:en pool: {t}");
    assert!(
        t.contains("join mode: not decided yet"),
        "explain says the join mode: {t}"
    );
    let out = dragoman(tmp.path(), &["request", "explain", "1", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let out = dragoman(tmp.path(), &["request", "explain", "99"]);
    assert_eq!(out.status.code(), Some(1));

    let out = dragoman(
        tmp.path(),
        &["interpreter", "remove", "cara@interpreters.test"],
    );
    assert!(text(&out).contains("removed"), "{}", text(&out));
    let out = dragoman(
        tmp.path(),
        &["interpreter", "remove", "ana@interpreters.test"],
    );
    assert!(text(&out).contains("kept for the record"), "{}", text(&out));
    let out = dragoman(tmp.path(), &["interpreter", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "only Bruno is left");
}
