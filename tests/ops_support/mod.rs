//! The real `dragoman run` binary for signal tests: started with a config file the test owns,
//! its JSON log lines collected (so a test can wait for "configuration reloaded"), signals
//! sent by PID, the exit code awaited with a deadline, and the CLI run beside it.
//!
//! Never sleeps to wait for something: every wait is a bounded poll on a condition.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dragoman")
}

/// A running `dragoman --config CONFIG run`.
pub struct Daemon {
    pub child: Child,
    /// Every stderr line so far (JSON log lines), in order.
    pub log: Arc<Mutex<Vec<String>>>,
    /// `http://addr` of its listener.
    pub base: String,
}

impl Daemon {
    /// Starts the daemon on `config` and waits for its "HTTP server listening" log line.
    pub fn start(config: &Path) -> Daemon {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dragoman run");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("log lock").push(line);
            }
        });
        let mut d = Daemon {
            child,
            log,
            base: String::new(),
        };
        let listening = d.wait_log("the HTTP listener", Duration::from_secs(60), |v| {
            v["message"] == "HTTP server listening"
        });
        d.base = format!("http://{}", listening["addr"].as_str().expect("addr field"));
        d
    }

    /// Waits (bounded) for a JSON log line matching `pred`; returns it.
    pub fn wait_log(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Some(v) = self.find_log(&pred) {
                return v;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dragoman exited ({status}) before {what}:\n{}",
                    self.log_text()
                );
            }
            assert!(
                start.elapsed() < limit,
                "no log line for {what} within {limit:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The first JSON log line matching `pred`, if any yet.
    pub fn find_log(&self, pred: impl Fn(&serde_json::Value) -> bool) -> Option<serde_json::Value> {
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| pred(v))
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit within `limit`; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                start.elapsed() < limit,
                "dragoman did not exit within {limit:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `dragoman --config CONFIG ARGS…`; its stdout (panics when it fails).
pub fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run dragoman");
    assert!(
        out.status.success(),
        "dragoman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `dragoman request list --json`.
pub fn requests(config: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&cli(config, &["request", "list", "--json"])).expect("JSON");
    v.as_array().expect("an array").clone()
}

/// `dragoman status --json`.
pub fn status(config: &Path) -> serde_json::Value {
    serde_json::from_str(&cli(config, &["status", "--json"])).expect("JSON")
}

/// Adds an interpreter for `pair` ("es:en") and puts them online for 10 hours.
pub fn add_interpreter(config: &Path, name: &str, email: &str, pair: &str) {
    cli(
        config,
        &[
            "interpreter",
            "add",
            "--name",
            name,
            "--email",
            email,
            "--pair",
            pair,
        ],
    );
    cli(config, &["interpreter", "online", email, "--for", "10h"]);
}

/// A Zoom invitation from `from` to `to`, meeting `id`, topic `topic`, in 2030.
pub fn invitation(from: &str, to: &str, id: u64, topic: &str) -> String {
    format!(
        "From: Dr. Ruiz <{from}>\r\nTo: {to}\r\nSubject: Zoom meeting {id}\r\n\
Message-ID: <inv-{id}-{r}@clinic.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: {topic}\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/{id}?pwd=QWxwaGFCZXRhR2FtbWE.1\r\n\r\nMeeting ID: {id}\r\nPasscode: 4Xy9\r\n",
        r = rand::random::<u32>()
    )
}

/// Files in a directory (0 when it does not exist).
pub fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Polls `cond` until true; panics with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The Maildir spool of a config made by the tests: `DIR/spool`.
pub fn spool(dir: &Path) -> PathBuf {
    dir.join("spool")
}
