//! Signals on the real `dragoman run` binary (SPEC §8, issue #8):
//!
//! - SIGHUP applies a changed route (mail to the new address becomes a request), keeps an open
//!   HTTP connection working across the reload, logs what changed, and refuses an invalid
//!   file with its reason while the previous configuration keeps running.
//! - SIGHUP reaches the IMAP tasks and the HTTP handlers too: a route added by the reload is
//!   applied to mail arriving over IMAP afterwards (real Dovecot, on the IMAP connection the
//!   task already had: one login for the whole run), and a template changed by it is used for
//!   the confirmation mail of an offer accepted afterwards over an HTTP keep-alive connection
//!   opened before the reload. A `[[mailbox]]` added by a reload is not started: the log
//!   says it needs a restart.
//! - SIGTERM in the middle of a burst loses nothing: exit 0 within systemd's stop deadline;
//!   after a restart every message is exactly one request and every outbox job reached the
//!   real Postfix → Dovecot exactly once (counted in the recipients' Maildirs).
//!
//! The IMAP SIGHUP test and the SIGTERM test need the test mail stack (`./scripts/mailstack start`, then
//! `eval "$(./scripts/mailstack env)"`); it fails saying so when it is missing.

#[path = "ops_support/mod.rs"]
mod support;

#[path = "common/imap.rs"]
mod imap_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use support::{count, invitation, requests, spool, status, wait_until, Daemon};

fn base_config(dir: &Path, routes: &str, outbound: &str) -> String {
    let d = dir.display();
    format!(
        r#"
[database]
url = "sqlite://{d}/dragoman.db"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
[[mailbox]]
name = "spool"
maildir = "{d}/spool"
{routes}
[requestors]
allow_domains = ["clinic.example", "clinic.test"]
{outbound}
[log]
format = "json"
level = "info"
"#
    )
}

fn route(address: &str, from: &str, to: &str) -> String {
    format!("[[route]]\naddress = \"{address}\"\nfrom = \"{from}\"\nto = \"{to}\"\n")
}

fn file_outbound(dir: &Path) -> String {
    format!(
        "[outbound]\ntransport = \"file\"\ndir = \"{}/outbox\"\n",
        dir.display()
    )
}

/// One GET on an open keep-alive connection.
fn get_on(conn: &mut std::net::TcpStream, path: &str) -> String {
    request_on(conn, "GET", path)
}

/// One request (no body) and its whole response on an open keep-alive connection.
fn request_on(conn: &mut std::net::TcpStream, method: &str, path: &str) -> String {
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("write request");
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // /healthz answers a short body with Content-Length: read until the body is in.
    loop {
        let n = conn.read(&mut buf).expect("read response");
        assert!(n > 0, "the server closed the connection");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
}

#[test]
fn sighup_applies_a_changed_route_keeps_connections_and_refuses_an_invalid_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let cfg = dir.join("dragoman.toml");
    let write = |routes: &str| {
        std::fs::write(&cfg, base_config(dir, routes, &file_outbound(dir))).expect("write config")
    };
    write(&(route("es-en@agency.test", "es", "en") + &route("de-en@agency.test", "de", "en")));
    // The CLI reads the same database through its own copy, so it keeps working while the
    // daemon's file is broken on purpose.
    let query = dir.join("query.toml");
    std::fs::copy(&cfg, &query).expect("copy config");
    let mut d = Daemon::start(&cfg);
    let pid = d.child.id();
    let maildir = dragoman::ingest::maildir::Maildir::open(&spool(dir)).expect("spool");
    let new = spool(dir).join("new");
    let cur = spool(dir).join("cur");

    // Before: nothing routes fr-en@, so its invitation is answered but makes no request.
    maildir
        .deliver(
            invitation(
                "ruiz@clinic.example",
                "fr-en@agency.test",
                81_300_000_001,
                "Before",
            )
            .as_bytes(),
        )
        .expect("deliver");
    wait_until(
        "the first message to be handled",
        Duration::from_secs(30),
        || count(&new) == 0 && count(&cur) == 1,
    );
    assert!(requests(&query).is_empty(), "no route for fr-en@ yet");

    // An HTTP client holding a keep-alive connection across the reload.
    let addr = d.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert!(get_on(&mut conn, "/healthz").starts_with("HTTP/1.1 200"));

    // The operator swaps de-en@ for fr-en@ and sends SIGHUP.
    write(&(route("es-en@agency.test", "es", "en") + &route("fr-en@agency.test", "fr", "en")));
    d.signal("HUP");
    let line = d.wait_log("the reload", Duration::from_secs(30), |v| {
        v["message"] == "configuration reloaded"
    });
    let changes = line["changes"].as_str().expect("a changes field");
    assert_eq!(
        changes,
        "routes: +fr-en@agency.test (French→English), -de-en@agency.test (German→English)"
    );

    // Same process, same connection.
    assert!(get_on(&mut conn, "/healthz").starts_with("HTTP/1.1 200"));
    assert_eq!(d.child.try_wait().expect("try_wait"), None, "still running");
    assert_eq!(d.child.id(), pid);

    // Mail to the new address becomes a request for the new pair.
    maildir
        .deliver(
            invitation(
                "ruiz@clinic.example",
                "fr-en@agency.test",
                81_300_000_002,
                "After",
            )
            .as_bytes(),
        )
        .expect("deliver");
    wait_until("the request for fr-en@", Duration::from_secs(30), || {
        !requests(&query).is_empty()
    });
    let list = requests(&query);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["pair"], "fr:en");
    assert_eq!(list[0]["meeting_id"], "81300000002");

    // An invalid file is refused with its reason; the running configuration stays.
    std::fs::write(
        &cfg,
        base_config(
            dir,
            &route("xx-en@agency.test", "klingon", "en"),
            &file_outbound(dir),
        ),
    )
    .expect("write config");
    d.signal("HUP");
    let refused = d.wait_log("the refusal", Duration::from_secs(30), |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("configuration reload refused"))
    });
    let reason = refused["error"].as_str().expect("an error field");
    assert!(
        reason.contains("route"),
        "the reason names the key: {reason}"
    );
    maildir
        .deliver(
            invitation(
                "ruiz@clinic.example",
                "fr-en@agency.test",
                81_300_000_003,
                "Still",
            )
            .as_bytes(),
        )
        .expect("deliver");
    wait_until("the second fr-en request", Duration::from_secs(30), || {
        requests(&query).len() == 2
    });
    assert!(get_on(&mut conn, "/healthz").starts_with("HTTP/1.1 200"));

    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0));
}

// ---- SIGTERM mid-burst ------------------------------------------------------------------

fn mail_var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the test mail stack; run ./scripts/mailstack start \
             then eval \"$(./scripts/mailstack env)\" (or ./scripts/test)"
        ),
    }
}

/// Message-ID → number of copies, over every message in `users`' Dovecot Maildirs whose
/// header block contains `marker`.
fn delivered(root: &Path, users: &[&str], marker: &str) -> BTreeMap<String, (usize, usize)> {
    let mut ids = BTreeMap::new();
    for user in users {
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(root.join(user).join("Maildir").join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(raw) = std::fs::read(e.path()) else {
                    continue; // moved between new/ and cur/ meanwhile
                };
                let Some(m) = mail_parser::MessageParser::default().parse(&raw) else {
                    continue;
                };
                let subject = m.subject().unwrap_or_default();
                let text = m.body_text(0).unwrap_or_default();
                // An offer digest names the topics (with the marker) in its body only.
                let offers = if subject.starts_with("Offer:") {
                    1
                } else {
                    text.matches("See it, accept or decline:").count()
                };
                if !subject.contains(marker) && !text.contains(marker) {
                    continue;
                }
                if let Some(id) = m.message_id() {
                    let entry = ids.entry(id.to_string()).or_insert((0, offers));
                    entry.0 += 1;
                }
            }
        }
    }
    ids
}

const BURST: usize = 300;
/// systemd's `TimeoutStopSec=` in systemd/dragoman.service.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn sigterm_mid_burst_loses_nothing_and_sends_every_email_once() {
    let smtp_port = mail_var("DRAGOMAN_TEST_SMTP_PORT");
    let mail_root = std::path::PathBuf::from(mail_var("DRAGOMAN_TEST_MAILDIR_ROOT"));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", smtp_port.parse::<u16>().expect("port")))
            .is_ok(),
        "nothing listens on DRAGOMAN_TEST_SMTP_PORT: run ./scripts/mailstack start"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let cfg = dir.join("dragoman.toml");
    let outbound = format!(
        "[outbound]\ntransport = \"smtp\"\nfrom = \"dispatch@agency.test\"\nmax_replies_per_day = 100000\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\ntimeout = 10\n"
    );
    std::fs::write(
        &cfg,
        base_config(dir, &route("es-en@agency.test", "es", "en"), &outbound),
    )
    .expect("write config");
    support::cli(&cfg, &["migrate"]);
    let interpreters = ["interp33@agency.test", "interp34@agency.test"];
    for (i, email) in interpreters.iter().enumerate() {
        support::add_interpreter(&cfg, &format!("Burst {i}"), email, "es:en");
    }
    let marker = format!("burst{:08x}", rand::random::<u32>());
    let base_id = 82_000_000_000u64 + u64::from(rand::random::<u16>()) * 1000;

    let mut d = Daemon::start(&cfg);
    let maildir = dragoman::ingest::maildir::Maildir::open(&spool(dir)).expect("spool");
    for n in 0..BURST {
        maildir
            .deliver(
                invitation(
                    "requestor@clinic.test",
                    "es-en@agency.test",
                    base_id + n as u64,
                    &format!("{marker} visit {n}"),
                )
                .as_bytes(),
            )
            .expect("deliver");
    }
    let cur = spool(dir).join("cur");
    let new = spool(dir).join("new");
    wait_until("the burst to be under way", Duration::from_secs(60), || {
        count(&cur) >= 10
    });
    d.signal("TERM");
    assert_eq!(d.wait_exit(STOP_DEADLINE), Some(0), "{}", d.log_text());
    let done = count(&cur);
    assert!(
        done < BURST,
        "SIGTERM came after the burst ({done} done): not mid-burst"
    );
    drop(d);

    // Restart: the rest of the burst, and every email left in the outbox.
    let mut d = Daemon::start(&cfg);
    wait_until("the inbox to drain", Duration::from_secs(120), || {
        count(&new) == 0
    });
    wait_until("the outbox to drain", Duration::from_secs(120), || {
        status(&cfg)["outbox"]["pending"] == 0
    });
    d.signal("TERM");
    assert_eq!(d.wait_exit(STOP_DEADLINE), Some(0));

    // Every message one request.
    let list = requests(&cfg);
    assert_eq!(list.len(), BURST, "one request per message");
    let mut ids: Vec<&str> = list
        .iter()
        .filter_map(|r| r["meeting_id"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), BURST, "no meeting twice");
    assert_eq!(count(&cur), BURST);

    // Every outbox job sent once: as many distinct messages in the mailboxes as jobs sent,
    // none of them twice. Postfix delivers 10–20 ms after accepting: wait for the count.
    let s = status(&cfg);
    assert_eq!(s["outbox"]["failed"], 0, "{s}");
    let sent = s["outbox"]["sent"].as_u64().expect("sent") as usize;
    // Offers to both interpreters (one mail each, or several in one digest when the worker
    // was behind) plus a "received" notice per request.
    let digested = s["outbox"]["digested"].as_u64().expect("digested") as usize;
    assert!(sent <= BURST * (interpreters.len() + 1), "{s}");
    let mut users: Vec<&str> = interpreters.to_vec();
    users.push("requestor@clinic.test");
    wait_until(
        "Postfix to deliver every message",
        Duration::from_secs(60),
        || delivered(&mail_root, &users, &marker).len() >= sent,
    );
    let copies = delivered(&mail_root, &users, &marker);
    assert_eq!(copies.len(), sent, "every job delivered");
    let twice: Vec<_> = copies.iter().filter(|(_, (n, _))| *n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let offers: usize = copies.values().map(|(_, o)| o).sum();
    assert_eq!(
        offers,
        BURST * interpreters.len(),
        "every offer reached its interpreter once ({digested} of them in digests)"
    );
}

// ---- SIGHUP reaches IMAP and HTTP ---------------------------------------------------------

/// `(subject, text body)` of every `.eml` the file transport wrote into `dir`.
fn outbox_mail(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|raw| {
            let m = mail_parser::MessageParser::default().parse(&raw)?;
            Some((
                m.subject().unwrap_or_default().to_string(),
                m.body_text(0).unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Polls `cond` until true; after `limit`, panics with `what` and the daemon's log.
fn wait_logged(d: &Daemon, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}; the daemon's log:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reaches_imap_mail_and_http_confirmations_on_connections_already_open() {
    let env = imap_common::mail_env();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (mut admin, folder) = rt.block_on(async {
        let mut admin = imap_common::admin(&env, imap_common::USER).await;
        let folder = imap_common::fresh_folder(&mut admin).await;
        (admin, folder)
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let templates = dir.join("templates");
    std::fs::create_dir(&templates).expect("templates dir");
    let cfg = dir.join("dragoman.toml");
    let d_ = dir.display();
    let write = |routes: &str, extra_mailbox: &str| {
        let text = format!(
            r#"
[database]
url = "sqlite://{d_}/dragoman.db"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
{mailbox}
{extra_mailbox}
{routes}
[requestors]
allow_domains = ["clinic.example"]
{outbound}
[templates]
dir = "{t}"
[log]
format = "json"
level = "info,dragoman::ingest::imap=debug"
"#,
            mailbox = imap_common::mailbox_toml(&env, "imap", &folder, "none", None),
            outbound = file_outbound(dir),
            t = templates.display(),
        );
        std::fs::write(&cfg, text).expect("write config");
    };
    write(&route("es-en@agency.test", "es", "en"), "");
    support::cli(&cfg, &["migrate"]);
    support::add_interpreter(&cfg, "Ana Reload", "interp35@agency.test", "es:en");
    let mut d = Daemon::start(&cfg);
    let append = |admin: &mut imap_common::Admin, to: &str, id: u64, topic: &str| {
        let raw = support::invitation("ruiz@clinic.example", to, id, topic);
        rt.block_on(imap_common::append(admin, &folder, raw.as_bytes(), None));
    };
    let meeting = |id: u64| {
        requests(&cfg)
            .iter()
            .find(|r| r["meeting_id"].as_str() == Some(id.to_string().as_str()))
            .cloned()
    };
    let base = 83_000_000_000u64 + u64::from(rand::random::<u16>()) * 1000;

    // Before: fr-en@ has no route (answered, no request); es-en@ makes a request and an offer.
    // Appended back to back, the second usually lands while the first is being swept: it is
    // announced in the answer to a sweep command, not by IDLE (before `ImapMailbox::wait`
    // looked at those announcements, it then waited for the IDLE deadline, 3.5 min).
    append(&mut admin, "fr-en@agency.test", base + 1, "Before");
    append(&mut admin, "es-en@agency.test", base + 2, "Offered");
    wait_logged(&d, "the es-en request", Duration::from_secs(60), || {
        meeting(base + 2).is_some()
    });
    assert!(meeting(base + 1).is_none(), "no route for fr-en@ yet");
    let outbox = dir.join("outbox");
    let offer_re = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})").expect("regex");
    let mut token = None;
    wait_logged(&d, "the offer email", Duration::from_secs(30), || {
        token = outbox_mail(&outbox).iter().find_map(|(subject, body)| {
            (subject.starts_with("Offer:") && subject.contains("Offered"))
                .then(|| offer_re.captures(body).map(|c| c[1].to_string()))
                .flatten()
        });
        token.is_some()
    });
    let token = token.expect("an offer token");

    // An HTTP client holding a keep-alive connection across the reload.
    let addr = d.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert!(get_on(&mut conn, "/healthz").starts_with("HTTP/1.1 200"));

    // The operator adds fr-en@ and overrides the confirmation subject, then sends SIGHUP.
    std::fs::write(
        templates.join("confirmation.subject"),
        "Reloaded confirmation — {{ request.topic }}\n",
    )
    .expect("write template");
    let both = route("es-en@agency.test", "es", "en") + &route("fr-en@agency.test", "fr", "en");
    write(&both, "");
    d.signal("HUP");
    let line = d.wait_log("the reload", Duration::from_secs(30), |v| {
        v["message"] == "configuration reloaded"
    });
    assert_eq!(
        line["changes"].as_str().expect("a changes field"),
        "routes: +fr-en@agency.test (French→English); templates: +confirmation.subject"
    );

    // Mail over IMAP after the reload is routed by the new routes.
    append(&mut admin, "fr-en@agency.test", base + 3, "After");
    wait_logged(&d, "the fr-en request", Duration::from_secs(60), || {
        meeting(base + 3).is_some()
    });
    assert_eq!(meeting(base + 3).expect("request")["pair"], "fr:en");

    // An accept on the connection opened before the reload: its confirmation uses the new
    // template.
    let answer = request_on(&mut conn, "POST", &format!("/offer/{token}/accept"));
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    wait_logged(
        &d,
        "the confirmation email",
        Duration::from_secs(30),
        || {
            outbox_mail(&outbox)
                .iter()
                .any(|(subject, _)| subject == "Reloaded confirmation — Offered")
        },
    );
    assert!(get_on(&mut conn, "/healthz").starts_with("HTTP/1.1 200"));

    // A mailbox added to the file is not started by a reload: the log says it needs a restart.
    let extra = format!(
        "[[mailbox]]\nname = \"later\"\nmaildir = \"{}/later\"\n",
        dir.display()
    );
    write(&both, &extra);
    d.signal("HUP");
    let line = d.wait_log("the second reload", Duration::from_secs(30), |v| {
        v["message"] == "configuration reloaded; some changes need a restart"
    });
    assert_eq!(line["level"], "WARN");
    assert_eq!(
        line["changes"].as_str().expect("a changes field"),
        "nothing changed; not applied until a restart: mailbox"
    );
    assert!(!dir.join("later").exists(), "the new mailbox is not opened");

    // One IMAP login for the whole run: the reloads dropped no connection.
    let logins = d
        .log
        .lock()
        .expect("log lock")
        .iter()
        .filter(|l| l.contains("IMAP folder selected"))
        .count();
    assert_eq!(logins, 1, "{}", d.log_text());
    assert!(
        d.find_log(|v| v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("IMAP connection dropped")))
            .is_none(),
        "{}",
        d.log_text()
    );

    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0));
}
