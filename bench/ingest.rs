//! Figures for IMAP ingest against the real Postfix and Dovecot of `scripts/mailstack` (issue #4),
//! each with a baseline measured in the same run:
//!
//! - `latency [N]`: time from a requestor's SMTP send (to Postfix) to the request committed by
//!   an IMAP task in IDLE, over N (default 120) invitations sent one after another; baseline: the
//!   time until a bare IDLE client on the same folder is told EXISTS (Postfix → LMTP → Dovecot →
//!   IDLE push alone, which dragoman cannot beat).
//! - `backlog [N]`: N (default 10,000) invitations already in a folder when the task starts,
//!   drained into SQLite by one connect + sweep; baseline: the same messages through the Maildir
//!   source into another fresh SQLite database.
//! - `idle [N]`: resident memory (VmRSS, VmHWM from /proc) of the `dragoman run` binary with N
//!   (default 100) IMAP mailboxes (implicit TLS) all in IDLE; baseline: the same binary with
//!   no mailbox.
//!
//! Run: `eval "$(scripts/mailstack env)"; cargo bench --bench ingest -- latency` (or `backlog`,
//! `idle`, or nothing for all three). Writes only into the mail stack (the users `ingest1..3`:
//! INBOX of ingest1 is emptied first; fresh `b_*` folders for the others) and temp dirs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dragoman::app::App;
use dragoman::config::{Config, ImapConfig, MailboxSource};
use dragoman::ingest::imap::{ImapMailbox, ImapOptions};
use futures::TryStreamExt;
use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run ./scripts/mailstack start and eval \"$(./scripts/mailstack env)\"")
    })
}

struct Env {
    host: String,
    smtp: u16,
    imap: u16,
    imaps: u16,
    ca: String,
    password: String,
    maildirs: PathBuf,
}

fn env() -> Env {
    Env {
        host: var("DRAGOMAN_TEST_MAIL_HOST"),
        smtp: var("DRAGOMAN_TEST_SMTP_PORT").parse().expect("port"),
        imap: var("DRAGOMAN_TEST_IMAP_PORT").parse().expect("port"),
        imaps: var("DRAGOMAN_TEST_IMAPS_PORT").parse().expect("port"),
        ca: var("DRAGOMAN_TEST_CA"),
        password: var("DRAGOMAN_TEST_MAIL_PASSWORD"),
        maildirs: var("DRAGOMAN_TEST_MAILDIR_ROOT").into(),
    }
}

type Admin = async_imap::Session<TcpStream>;

async fn admin(env: &Env, user: &str) -> Admin {
    let tcp = TcpStream::connect((env.host.as_str(), env.imap))
        .await
        .expect("connect to Dovecot (is the mail stack running?)");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .login(user, &env.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap_or_else(|e| panic!("login as {user}: {e} (run ./scripts/mailstack start)"))
}

fn folder_name() -> String {
    format!("b_{:08x}", rand::thread_rng().gen::<u32>())
}

/// A Zoom invitation from an allowed requestor to `to`, unique by `n`.
fn invitation(to: &str, n: usize) -> Vec<u8> {
    let id = 83_000_000_000u64 + rand::thread_rng().gen_range(0..900_000_000u64) + n as u64;
    format!(
        "From: Dr. Ruiz <ruiz@clinic.example>\r\nTo: {to}\r\nSubject: Zoom meeting {n}\r\n\
Message-ID: <bench-{n}-{id}@clinic.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: Visit {n}\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/{id}?pwd=QWxwaGFCZXRhR2FtbWE{n}.1\r\n\r\nMeeting ID: {id}\r\nPasscode: 4Xy{n}\r\n"
    )
    .into_bytes()
}

/// A dragoman configuration with one route (`route`, es→en) and `mailboxes`.
fn write_config(dir: &Path, route: &str, mailboxes: &str) -> PathBuf {
    let path = dir.join("dragoman.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[database]
url = "sqlite://{d}/dragoman.db"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
[[route]]
address = "{route}"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "{d}/outbox"
[log]
format = "text"
level = "error"
{mailboxes}
"#,
            d = dir.display()
        ),
    )
    .expect("write the config");
    path
}

fn imap_toml(env: &Env, name: &str, user: &str, folder: &str, tls: bool) -> String {
    format!(
        "[[mailbox]]\nname = \"{name}\"\nhost = \"{}\"\nport = {}\ntls = \"{}\"\nusername = \"{user}\"\npassword = \"{}\"\nfolder = \"{folder}\"\nca_file = \"{}\"\n",
        env.host,
        if tls { env.imaps } else { env.imap },
        if tls { "implicit" } else { "none" },
        env.password,
        env.ca
    )
}

async fn open_app(config: &Path, dir: &Path) -> App {
    let config = Config::load(Some(config), dir, Vec::<(String, String)>::new()).expect("config");
    App::open(config).await.expect("open the app")
}

fn imap_of(app: &App, name: &str) -> ImapConfig {
    app.config
        .mailboxes
        .iter()
        .find_map(|m| match &m.source {
            MailboxSource::Imap(i) if m.name == name => Some(i.clone()),
            _ => None,
        })
        .expect("configured")
}

fn options() -> ImapOptions {
    ImapOptions {
        use_lease: false,
        ..Default::default()
    }
}

async fn ingested(app: &App) -> i64 {
    app.store
        .status(chrono::Utc::now())
        .await
        .expect("status")
        .messages_ingested
}

/// One SMTP transaction to Postfix; returns when the server accepted the message (250).
async fn smtp_send(env: &Env, from: &str, to: &str, data: &[u8]) {
    let tcp = TcpStream::connect((env.host.as_str(), env.smtp))
        .await
        .expect("connect to Postfix");
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    async fn expect(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: &str) {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.expect("SMTP reply");
            assert!(line.starts_with(code), "SMTP: wanted {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                return;
            }
        }
    }
    expect(&mut r, "220").await;
    for (cmd, code) in [
        ("EHLO bench.clinic.example".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .expect("SMTP write");
        expect(&mut r, code).await;
    }
    let mut body = Vec::with_capacity(data.len() + 8);
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b".") {
            body.push(b'.');
        }
        body.extend_from_slice(line);
    }
    body.extend_from_slice(b".\r\n");
    w.write_all(&body).await.expect("SMTP write");
    expect(&mut r, "250").await;
    let _ = w.write_all(b"QUIT\r\n").await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<34} n={:<4} p50={:>7.1} ms  p90={:>7.1} ms  p99={:>7.1} ms  max={:>7.1} ms",
        v.len(),
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.9)),
        ms(percentile(&v, 0.99)),
        ms(*v.last().expect("samples")),
    );
    percentile(&v, 0.5)
}

async fn latency(env: &Env, n: usize) {
    const USER: &str = "ingest1@agency.test";
    // The user's INBOX is this bench's alone: empty it so the task starts with no backlog.
    let mut a = admin(env, USER).await;
    let mb = a.select("INBOX").await.expect("SELECT INBOX");
    if mb.exists > 0 {
        a.store("1:*", "+FLAGS.SILENT (\\Deleted)")
            .await
            .expect("STORE")
            .try_collect::<Vec<_>>()
            .await
            .expect("STORE");
        a.expunge()
            .await
            .expect("EXPUNGE")
            .try_collect::<Vec<_>>()
            .await
            .expect("EXPUNGE");
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        tmp.path(),
        USER,
        &imap_toml(env, "inbox", USER, "INBOX", false),
    );
    let app = open_app(&config, tmp.path()).await;
    let task = ImapMailbox::new(
        "inbox",
        imap_of(&app, "inbox"),
        app.offers.clone(),
        app.config.clone(),
        options(),
    );
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(task.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let t0 = Instant::now();
    while !app
        .store
        .mailbox_health()
        .await
        .expect("health")
        .iter()
        .any(|h| h.last_contact_at.is_some())
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the task never connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // into IDLE
    let mut observer = a;
    let mut to_commit = Vec::with_capacity(n);
    let mut to_exists = Vec::with_capacity(n);
    let mut smtp = Vec::with_capacity(n);
    for i in 0..n {
        let raw = invitation(USER, i);
        let mut idle = observer.idle();
        idle.init().await.expect("IDLE");
        let start = Instant::now();
        let pushed = async {
            // Only EXISTS counts: the \Seen that dragoman sets on the previous message is
            // pushed too (as FETCH), sometimes after this IDLE began.
            loop {
                let (push, _stop) = idle.wait_with_timeout(Duration::from_secs(30));
                match push.await.expect("IDLE wait") {
                    async_imap::extensions::idle::IdleResponse::NewData(d)
                        if matches!(
                            d.parsed(),
                            async_imap::imap_proto::Response::MailboxData(
                                async_imap::imap_proto::MailboxDatum::Exists(_)
                            )
                        ) =>
                    {
                        return start.elapsed()
                    }
                    async_imap::extensions::idle::IdleResponse::NewData(_) => continue,
                    _ => panic!("IDLE ended without an EXISTS"),
                }
            }
        };
        let committed = async {
            smtp_send(env, "ruiz@clinic.example", USER, &raw).await;
            smtp.push(start.elapsed());
            let want = i as i64 + 1;
            while ingested(&app).await < want {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "message {i} never committed"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            start.elapsed()
        };
        let (p, c) = tokio::join!(pushed, committed);
        to_exists.push(p);
        to_commit.push(c);
        observer = idle.done().await.expect("DONE");
    }
    println!("-- latency: SMTP send to Postfix -> request committed (IMAP IDLE, SQLite), {n} invitations one after another");
    summary("SMTP transaction (accepted)", smtp);
    let base = summary("baseline: IDLE client told EXISTS", to_exists);
    let ours = summary("dragoman: request committed", to_commit);
    println!(
        "ratio p50 committed / EXISTS pushed: {:.2}",
        ours.as_secs_f64() / base.as_secs_f64()
    );
    stop_tx.send(true).expect("stop");
    let _ = handle.await;
}

/// Writes `messages` straight into Dovecot's Maildir for `user`'s `folder` (created over IMAP
/// first), then has Dovecot index them (SELECT): the fastest way to a big backlog.
async fn fill_folder(env: &Env, user: &str, folder: &str, messages: &[Vec<u8>]) {
    let mut a = admin(env, user).await;
    a.create(folder).await.expect("CREATE");
    let dir = env
        .maildirs
        .join(user)
        .join("Maildir")
        .join(format!(".{folder}"));
    let new = dir.join("new");
    std::fs::create_dir_all(&new).expect("the folder's new/");
    let pid = std::process::id();
    for (i, m) in messages.iter().enumerate() {
        let name = new.join(format!("1700000000.M{i}P{pid}.bench,S={}", m.len()));
        std::fs::write(&name, m).expect("write a message");
    }
    let status = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(&dir)
        .status()
        .expect("chown");
    assert!(status.success(), "chown the folder to Dovecot's mail user");
    let t = Instant::now();
    let mb = a.select(folder).await.expect("SELECT");
    assert_eq!(mb.exists as usize, messages.len(), "Dovecot sees them all");
    println!(
        "   (Dovecot indexed {} messages in {:?})",
        messages.len(),
        t.elapsed()
    );
    let _ = a.logout().await;
}

/// A fresh SQLite database, one connect + sweep of `folder`: the time to commit all `n`.
async fn imap_drain(env: &Env, user: &str, folder: &str, n: usize, body_batch: usize) -> Duration {
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        tmp.path(),
        "es-en@agency.test",
        &imap_toml(env, "backlog", user, folder, false),
    );
    let app = open_app(&config, tmp.path()).await;
    let task = ImapMailbox::new(
        "backlog",
        imap_of(&app, "backlog"),
        app.offers.clone(),
        app.config.clone(),
        ImapOptions {
            body_batch,
            ..options()
        },
    );
    let t = Instant::now();
    let mut session = task.connect().await.expect("connect");
    let report = task
        .sweep(&mut session, chrono::Utc::now())
        .await
        .expect("sweep");
    let took = t.elapsed();
    task.logout(session).await;
    assert_eq!(report.created, n, "{report:?}");
    assert_eq!(ingested(&app).await as usize, n);
    println!(
        "   (batch {body_batch}: {} of {n} decided while the message before committed)",
        report.decided_ahead
    );
    took
}

async fn backlog(env: &Env, n: usize) {
    const USER: &str = "ingest2@agency.test";
    let messages: Vec<Vec<u8>> = (0..n).map(|i| invitation("es-en@agency.test", i)).collect();
    let folder = folder_name();
    fill_folder(env, USER, &folder, &messages).await;

    let imap = imap_drain(env, USER, &folder, n, options().body_batch).await;
    // The same folder again into a fresh database, one message per FETCH and STORE.
    let one_by_one = imap_drain(env, USER, &folder, n, 1).await;

    // Baseline: the same bytes through the Maildir source, into a fresh database.
    let tmp2 = tempfile::tempdir().expect("temp dir");
    let spool = format!(
        "[[mailbox]]\nname = \"spool\"\nmaildir = \"{}/spool\"\n",
        tmp2.path().display()
    );
    let config2 = write_config(tmp2.path(), "es-en@agency.test", &spool);
    let app2 = open_app(&config2, tmp2.path()).await;
    let md = dragoman::ingest::maildir::Maildir::open(&tmp2.path().join("spool")).expect("maildir");
    for m in &messages {
        md.deliver(m).expect("deliver");
    }
    let t = Instant::now();
    let r = md
        .step("spool", &app2.offers, &app2.config, chrono::Utc::now())
        .await
        .expect("maildir step");
    let maildir = t.elapsed();
    assert_eq!(r.created, n, "{r:?}");

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("-- backlog: {n} invitations waiting, drained into SQLite (one connect + sweep)");
    println!(
        "{:<34} {:>8.2} s  {:>7.0} msg/s",
        format!("dragoman IMAP sweep (batch {})", options().body_batch),
        imap.as_secs_f64(),
        rate(imap)
    );
    println!(
        "{:<34} {:>8.2} s  {:>7.0} msg/s",
        "same, one message per FETCH/STORE",
        one_by_one.as_secs_f64(),
        rate(one_by_one)
    );
    println!(
        "{:<34} {:>8.2} s  {:>7.0} msg/s",
        "baseline: Maildir source",
        maildir.as_secs_f64(),
        rate(maildir)
    );
    println!(
        "ratio IMAP / Maildir throughput: {:.2}",
        rate(imap) / rate(maildir)
    );
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .expect("a /proc field")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts `dragoman run` on `config`, waits until `ready` says so, and samples its memory.
async fn daemon_rss(config: &Path, dir: &Path) -> (u64, u64) {
    let bin = env!("CARGO_BIN_EXE_dragoman");
    let out = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("migrate")
        .output()
        .expect("migrate");
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("run.log")).expect("log"))
        .spawn()
        .expect("start the daemon");
    let app = open_app(config, dir).await;
    let t = Instant::now();
    loop {
        let health = app.store.mailbox_health().await.expect("health");
        let want = app
            .config
            .mailboxes
            .iter()
            .filter(|m| matches!(m.source, MailboxSource::Imap(_)))
            .count();
        if health
            .iter()
            .filter(|h| h.last_contact_at.is_some() && h.backlog == Some(0))
            .count()
            >= want
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "only {} of {want} mailboxes contacted after 60 s; see {}",
            health.len(),
            dir.join("run.log").display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // all in IDLE, allocator settled
    let mut rss = 0;
    let mut hwm = 0;
    for _ in 0..5 {
        let (r, h) = rss_kib(child.id());
        rss = rss.max(r);
        hwm = hwm.max(h);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    (rss, hwm)
}

async fn idle(env: &Env, n: usize) {
    const USER: &str = "ingest3@agency.test";
    let mut a = admin(env, USER).await;
    let mut mailboxes = String::new();
    for i in 0..n {
        let folder = format!("bench_idle_{i:03}");
        let _ = a.create(&folder).await; // kept between runs; empty
        mailboxes.push_str(&imap_toml(env, &format!("m{i:03}"), USER, &folder, true));
    }
    let _ = a.logout().await;
    let tmp0 = tempfile::tempdir().expect("temp dir");
    // The configuration needs a mailbox: one empty Maildir (no connection, no task of note).
    let spool = format!(
        "[[mailbox]]\nname = \"spool\"\nmaildir = \"{}/spool\"\n",
        tmp0.path().display()
    );
    let config0 = write_config(tmp0.path(), "es-en@agency.test", &spool);
    let (base, base_hwm) = daemon_rss(&config0, tmp0.path()).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = write_config(tmp.path(), "es-en@agency.test", &mailboxes);
    let (rss, hwm) = daemon_rss(&config, tmp.path()).await;
    let mib = |k: u64| k as f64 / 1024.0;
    println!("-- idle: resident memory of `dragoman run` (VmRSS / VmHWM)");
    println!(
        "{:<34} {:>6.1} MiB  (peak {:>6.1} MiB)",
        format!("{n} IMAP mailboxes in IDLE (TLS)"),
        mib(rss),
        mib(hwm)
    );
    println!(
        "{:<34} {:>6.1} MiB  (peak {:>6.1} MiB)",
        "baseline: no mailbox",
        mib(base),
        mib(base_hwm)
    );
    println!(
        "per mailbox: {:.0} KiB",
        (rss.saturating_sub(base)) as f64 / n as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let what = args.first().map(String::as_str).unwrap_or("all");
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then a smoke run with small counts.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = args
        .get(1)
        .and_then(|n| n.parse::<usize>().ok())
        .or(smoke.then_some(5));
    let env = env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());
    rt.block_on(async {
        if matches!(what, "latency" | "all") {
            latency(&env, n.unwrap_or(120)).await;
        }
        if matches!(what, "backlog" | "all") {
            backlog(&env, n.unwrap_or(10_000)).await;
        }
        if matches!(what, "idle" | "all") {
            idle(&env, n.unwrap_or(100)).await;
        }
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
}
