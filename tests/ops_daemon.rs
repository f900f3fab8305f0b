//! The daemon as systemd and Prometheus see it: the real `dragoman run` binary with a temp
//! config, a `NOTIFY_SOCKET` this test binds (READY=1, WATCHDOG=1 while the loops progress,
//! STOPPING=1 on SIGTERM, exit 0), `/metrics` parsed by a Prometheus text parser, `/readyz`
//! going unready when a Maildir path is unusable or the database is gone, and the security
//! headers on every response.
//!
//! Never sleeps to wait: every wait is a bounded poll on a socket, a pipe or an HTTP probe.

#[path = "common/mod.rs"]
mod common;

use std::io::BufRead;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(15);

struct Daemon {
    child: Child,
    notify: UnixDatagram,
    /// Every notify datagram received so far, in order.
    messages: Vec<String>,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn config(dir: &Path, db_url: &str, maildir: &Path) -> String {
    format!(
        r#"
[database]
url = "{db_url}"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080/"
[[mailbox]]
name = "spool"
maildir = "{maildir}"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "{outbox}"
[zoom]
join_mode = "same_account"
webhook_secret = "whs"
[log]
format = "json"
level = "info"
"#,
        maildir = maildir.display(),
        outbox = dir.join("outbox").display(),
    )
}

impl Daemon {
    /// Starts `dragoman run` on `db_url`, with the Maildir at `maildir` (default: a fresh one),
    /// and waits for the HTTP address in its log and READY=1 on the notify socket.
    fn start(dir: tempfile::TempDir, db_url: &str, maildir: Option<PathBuf>) -> Daemon {
        let maildir = maildir.unwrap_or_else(|| dir.path().join("spool"));
        let cfg = dir.path().join("dragoman.toml");
        std::fs::write(&cfg, config(dir.path(), db_url, &maildir)).expect("write config");
        let sock_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("socket timeout");
        let mut child = Command::new(env!("CARGO_BIN_EXE_dragoman"))
            .args(["--config"])
            .arg(&cfg)
            .arg("run")
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dragoman run");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The listener's address, from the JSON log line.
        let start = Instant::now();
        let addr = loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no 'HTTP server listening' log line within {DEADLINE:?}")
            });
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["message"] == "HTTP server listening" {
                    break v["addr"].as_str().expect("addr field").to_string();
                }
            }
        };
        // Keep draining stderr so the daemon never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        let mut d = Daemon {
            child,
            notify,
            messages: Vec::new(),
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
            _dir: dir,
        };
        d.wait_for("READY=1");
        d
    }

    /// Receives notify datagrams until one has the line `line`; panics after [`DEADLINE`].
    fn wait_for(&mut self, line: &str) {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < DEADLINE {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let found = msg.lines().any(|l| l == line);
                self.messages.push(msg);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no {line} within {DEADLINE:?}; received {:?}",
            self.messages
        );
    }

    fn count(&self, line: &str) -> usize {
        self.messages
            .iter()
            .filter(|m| m.lines().any(|l| l == line))
            .count()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Polls `/readyz` until it answers `want`; returns the body.
    async fn readyz_until(&self, want: u16) -> String {
        let start = Instant::now();
        loop {
            let res = self.get("/readyz").await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            if status == want {
                return body;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "/readyz still {status} ({body:?}) after {DEADLINE:?}, wanted {want}"
            );
            tokio::task::yield_now().await;
        }
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to exit; its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "dragoman did not exit within {DEADLINE:?}"
            );
            // Bounded poll on the notify socket doubles as the pause between checks.
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.notify.recv(&mut buf) {
                self.messages
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    common::fresh_sqlite_url(dir.path())
}

#[test]
fn notify_ready_watchdog_while_progressing_then_stopping_and_exit_0_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite(&dir);
    let mut d = Daemon::start(dir, &url, None);
    // READY came with a STATUS line for `systemctl status`.
    assert!(
        d.messages.iter().any(|m| m.contains("STATUS=serving")),
        "{:?}",
        d.messages
    );
    // WATCHDOG_USEC=400000: fed every ~200 ms while the mailbox loop and outbox progress.
    d.wait_for("WATCHDOG=1");
    d.wait_for("WATCHDOG=1");
    d.wait_for("WATCHDOG=1");
    assert!(d.count("WATCHDOG=1") >= 3);
    d.sigterm();
    d.wait_for("STOPPING=1");
    assert_eq!(d.wait_exit(), Some(0), "clean exit after the drain");
    // READY before any WATCHDOG, STOPPING last of the three kinds.
    let first = |l: &str| d.messages.iter().position(|m| m.lines().any(|x| x == l));
    assert!(first("READY=1") < first("WATCHDOG=1"));
    assert!(first("WATCHDOG=1") < first("STOPPING=1"));
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_readyz_is_ready_when_all_is_well() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite(&dir);
    let d = Daemon::start(dir, &url, None);
    d.readyz_until(200).await;

    // A request to a token route with a token in its path: the metric names the template.
    let res = d.get("/offer/NotARealTokenButSecretLooking12").await;
    assert_eq!(res.status(), 410);

    let res = d.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ctype.contains("openmetrics-text"), "{ctype}");
    let text = res.text().await.expect("body");
    assert!(
        !text.contains("NotARealTokenButSecretLooking12"),
        "a path leaked into the metrics"
    );
    // Every metric the shipped alert rules and dashboard query is one this daemon serves (a
    // renamed metric would leave an alert that can never fire). Families are named by their
    // `# TYPE` lines; samples add `_total`, `_bucket`, `_sum`, `_count`, `_info`.
    let families: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // A labelled family shows only once it has a series (webhook events by type before the
    // first event): those must at least be registered under that name in src/ops/metrics.rs.
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops/metrics.rs"))
            .expect("read src/ops/metrics.rs");
    let registered: std::collections::BTreeSet<String> =
        regex::Regex::new(r#"registry\.register\(\s*"([a-z_]+)""#)
            .expect("regex")
            .captures_iter(&source)
            .map(|c| format!("dragoman_{}", &c[1]))
            .collect();
    let served = |name: &str| {
        let known = |f: &str| families.contains(f) || registered.contains(f);
        known(name)
            || ["_total", "_bucket", "_sum", "_count", "_created", "_info"]
                .iter()
                .any(|s| name.strip_suffix(s).is_some_and(known))
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let re = regex::Regex::new(r"\bdragoman_[a-z_]+").expect("regex");
    for file in ["dragoman-alerts.yml", "dragoman-dashboard.json"] {
        let deploy = std::fs::read_to_string(root.join(file)).expect("read deploy/");
        let names: std::collections::BTreeSet<&str> =
            re.find_iter(&deploy).map(|m| m.as_str()).collect();
        assert!(!names.is_empty(), "{file} queries no dragoman metric");
        for name in names {
            assert!(
                served(name),
                "deploy/{file} queries {name}, not served:\n{text}"
            );
        }
    }

    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text parses");
    let sample = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("no sample {name} {label:?} in\n{text}"))
            .value
            .clone()
    };
    let gauge = |v: prometheus_parse::Value| match v {
        prometheus_parse::Value::Gauge(g) | prometheus_parse::Value::Untyped(g) => g,
        prometheus_parse::Value::Counter(c) => c,
        other => panic!("not a number: {other:?}"),
    };
    assert_eq!(gauge(sample("dragoman_database_up", None)), 1.0);
    assert_eq!(
        gauge(sample("dragoman_outbox_jobs", Some(("state", "pending")))),
        0.0
    );
    assert!(gauge(sample("dragoman_requests", Some(("state", "open")))) >= 0.0);
    let age = gauge(sample(
        "dragoman_mailbox_seconds_since_contact",
        Some(("mailbox", "spool")),
    ));
    assert!((0.0..10.0).contains(&age), "{age}");
    assert!(
        gauge(sample(
            "dragoman_loop_seconds_since_progress",
            Some(("loop", "outbox"))
        )) < 10.0
    );
    assert_eq!(
        gauge(sample(
            "dragoman_mailbox_errors_total",
            Some(("mailbox", "spool"))
        )),
        0.0
    );
    // At 0 from the start, so `increase()` sees the first one.
    assert_eq!(
        gauge(sample(
            "dragoman_mailbox_idle_reconnects_total",
            Some(("mailbox", "spool"))
        )),
        0.0
    );
    assert!(
        scrape.samples.iter().any(|s| s
            .metric
            .starts_with("dragoman_http_request_duration_seconds")
            && s.labels.get("route") == Some("/offer/:token")),
        "latency by route template:\n{text}"
    );

    // Security headers on every response, the 404 fallback and probes included.
    for path in ["/healthz", "/readyz", "/no/such/page", "/offer/x"] {
        let res = d.get(path).await;
        let h = res.headers();
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert_eq!(
            h.get("referrer-policy").map(|v| v.as_bytes()),
            Some(&b"no-referrer"[..]),
            "{path}"
        );
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn webhook_verification_failures_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite(&dir);
    let d = Daemon::start(dir, &url, None);
    for _ in 0..2 {
        let res = d
            .client
            .post(format!("{}/zoom/webhook", d.base))
            .header("x-zm-signature", "v0=forged")
            .header("x-zm-request-timestamp", "1")
            .body("{}")
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 401);
    }
    let text = d.get("/metrics").await.text().await.expect("body");
    assert!(
        text.lines()
            .any(|l| l == "dragoman_webhook_verification_failures_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn readyz_is_503_naming_the_mailbox_when_its_maildir_path_is_unusable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite(&dir);
    // A regular file where the Maildir should be: new/ cur/ tmp/ cannot be made.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"x").expect("write file");
    let d = Daemon::start(dir, &url, Some(blocked));
    let body = d.readyz_until(503).await;
    assert!(body.contains("mailbox spool"), "{body}");
    assert!(!body.contains("not-a-dir"), "no paths in the probe: {body}");
    // Still alive, and errors are counted.
    assert_eq!(d.get("/healthz").await.status(), 200);
    let text = d.get("/metrics").await.text().await.expect("body");
    assert!(
        text.lines().any(
            |l| l.starts_with("dragoman_mailbox_errors_total{mailbox=\"spool\"}")
                && !l.ends_with(" 0")
        ),
        "{text}"
    );
}

#[tokio::test]
async fn readyz_goes_503_when_the_database_is_gone() {
    let url = common::fresh_postgres_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir, &url, None);
    d.readyz_until(200).await;
    common::drop_postgres(&url).await;
    let body = d.readyz_until(503).await;
    assert!(body.contains("database"), "{body}");
    assert!(
        !body.contains("postgres://"),
        "no URLs in the probe: {body}"
    );
}

#[tokio::test]
async fn token_routes_are_rate_limited_per_forwarded_client_and_probes_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite(&dir);
    let d = Daemon::start(dir, &url, None);
    // One client behind a local reverse proxy (which sets X-Forwarded-For).
    let guess = |i: usize| {
        d.client
            .get(format!("{}/offer/guess{i}", d.base))
            .header("x-forwarded-for", "192.0.2.55")
            .send()
    };
    let mut limited = None;
    for i in 0..(dragoman::http::limits::BURST as usize + 5) {
        let res = guess(i).await.expect("get");
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), 410, "an unknown token is gone");
    }
    let res = limited.expect("a burst of token guesses from one address gets 429");
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(
        res.headers().get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
    for _ in 0..5 {
        assert_eq!(d.get("/healthz").await.status(), 200);
    }
    // Another client, and local requests without a forwarded address, are not affected.
    assert_eq!(d.get("/offer/guess-local").await.status(), 410);
    let other = d
        .client
        .get(format!("{}/offer/guess-other", d.base))
        .header("x-forwarded-for", "192.0.2.56")
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 410);
}
