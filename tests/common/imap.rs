//! Helpers for the IMAP ingest tests: the mailstack's coordinates, a plain admin IMAP client
//! to create folders and APPEND messages, a fresh App per test, and a blackholing TCP proxy.
//!
//! Owns nothing durable but the per-test folders it creates (named `t_<random>`). It must never
//! pass silently without the mail stack: it panics saying how to start it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use dragoman::app::App;
use dragoman::config::{Config, ImapConfig, MailboxSource};

const HOW_TO_START: &str =
    "the IMAP tests need the private Dovecot: run ./scripts/mailstack start and \
     eval \"$(./scripts/mailstack env)\", or run them through ./scripts/test";

/// The running mail stack, from the variables `scripts/mailstack env` prints.
#[derive(Debug, Clone)]
pub struct MailEnv {
    pub host: String,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub ca: PathBuf,
    pub wrong_ca: PathBuf,
    pub password: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW_TO_START}"))
}

pub fn mail_env() -> MailEnv {
    MailEnv {
        host: var("DRAGOMAN_TEST_MAIL_HOST"),
        imap_port: var("DRAGOMAN_TEST_IMAP_PORT").parse().expect("a port"),
        imaps_port: var("DRAGOMAN_TEST_IMAPS_PORT").parse().expect("a port"),
        ca: var("DRAGOMAN_TEST_CA").into(),
        wrong_ca: var("DRAGOMAN_TEST_WRONG_CA").into(),
        password: var("DRAGOMAN_TEST_MAIL_PASSWORD"),
    }
}

/// The IMAP user the ingest tests work as, each test in its own `t_*` folder (never INBOX, so
/// the outbox tests reading this user's INBOX are not disturbed). A user every version of
/// `scripts/mailstack` defines: the stack is shared, and a restart by an older checkout would
/// drop users added later (`ingest*@agency.test`).
pub const USER: &str = "fr-en@agency.test";

pub type Admin = async_imap::Session<TcpStream>;

/// A plain-text IMAP session as `user`, for setting the scene.
pub async fn admin(env: &MailEnv, user: &str) -> Admin {
    let tcp = TcpStream::connect((env.host.as_str(), env.imap_port))
        .await
        .unwrap_or_else(|e| panic!("connecting to Dovecot: {e}. {HOW_TO_START}"));
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .expect("greeting")
        .expect("greeting");
    client
        .login(user, &env.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap_or_else(|e| panic!("login as {user}: {e} (is {user} in scripts/mailstack's users? run ./scripts/mailstack start)"))
}

pub fn random_name() -> String {
    let s: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(10)
        .map(char::from)
        .collect();
    format!("t_{}", s.to_lowercase())
}

/// Creates a new folder for this test.
pub async fn fresh_folder(admin: &mut Admin) -> String {
    let name = random_name();
    admin.create(&name).await.expect("CREATE");
    name
}

pub async fn append(admin: &mut Admin, folder: &str, raw: &[u8], flags: Option<&str>) {
    admin
        .append(folder, flags, None, raw)
        .await
        .expect("APPEND");
}

/// UIDs in `folder` and whether each is \Seen.
pub async fn flags_in(admin: &mut Admin, folder: &str) -> Vec<(u32, bool)> {
    use futures::TryStreamExt;
    let mb = admin.select(folder).await.expect("SELECT");
    if mb.exists == 0 {
        return vec![];
    }
    let fetched: Vec<_> = admin
        .uid_fetch("1:*", "(UID FLAGS)")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH");
    let mut out: Vec<(u32, bool)> = fetched
        .iter()
        .map(|f| {
            (
                f.uid.expect("uid"),
                f.flags()
                    .any(|fl| matches!(fl, async_imap::types::Flag::Seen)),
            )
        })
        .collect();
    out.sort();
    out
}

/// A Zoom invitation from an allowed requestor to the es-en route, unique by `n` and `tag`.
pub fn invitation(tag: &str, n: usize) -> Vec<u8> {
    let id = 82_000_000_000u64 + rand::thread_rng().gen_range(0..900_000_000u64) + n as u64;
    format!(
        "From: Dr. Ruiz <ruiz@clinic.example>\r\nTo: es-en@agency.test\r\nSubject: Zoom meeting {n}\r\n\
Message-ID: <{tag}-{n}-{id}@clinic.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Dr. Ruiz is inviting you to a scheduled Zoom meeting.\r\n\r\nTopic: Visit {n}\r\n\
Time: Dec 3, 2030 10:00 AM Eastern Time (US and Canada)\r\n\r\nJoin Zoom Meeting\r\n\
https://us02web.zoom.us/j/{id}?pwd=QWxwaGFCZXRhR2FtbWE{n}.1\r\n\r\nMeeting ID: {id}\r\nPasscode: 4Xy{n}\r\n"
    )
    .into_bytes()
}

/// The configuration file the tests share: one route, an allowed domain, a file outbox.
pub fn write_config(dir: &Path, db_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("dragoman.toml");
    let d = dir.display();
    std::fs::write(
        &path,
        format!(
            r#"
[database]
url = "{db_url}"
[http]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
[[route]]
address = "es-en@agency.test"
from = "es"
to = "en"
[requestors]
allow_domains = ["clinic.example"]
[outbound]
transport = "file"
dir = "{d}/outbox"
[log]
format = "text"
level = "warn"
{extra}
"#
        ),
    )
    .expect("write the config");
    path
}

/// The `[[mailbox]]` table for an IMAP folder.
pub fn mailbox_toml(
    env: &MailEnv,
    name: &str,
    folder: &str,
    tls: &str,
    processed: Option<&str>,
) -> String {
    let port = if tls == "implicit" {
        env.imaps_port
    } else {
        env.imap_port
    };
    format!(
        "[[mailbox]]\nname = \"{name}\"\nhost = \"{}\"\nport = {port}\ntls = \"{tls}\"\nusername = \"{USER}\"\npassword = \"{}\"\nfolder = \"{folder}\"\nca_file = \"{}\"\n{}",
        env.host,
        env.password,
        env.ca.display(),
        processed
            .map(|p| format!("processed_folder = \"{p}\"\n"))
            .unwrap_or_default()
    )
}

pub async fn open_app(config_path: &Path, dir: &Path) -> App {
    let config = Config::load(Some(config_path), dir, Vec::<(String, String)>::new())
        .expect("valid test config");
    App::open(config).await.expect("open the app")
}

/// The IMAP settings of mailbox `name`.
pub fn imap_of(app: &App, name: &str) -> ImapConfig {
    app.config
        .mailboxes
        .iter()
        .find_map(|m| match &m.source {
            MailboxSource::Imap(i) if m.name == name => Some(i.clone()),
            _ => None,
        })
        .expect("the mailbox is configured")
}

/// Awaits `cond` (checked every 20 ms) for at most `limit`; panics naming `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut cond: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Messages ingested into `app`'s store, all mailboxes together (`status`'s count).
pub async fn ingested(app: &App) -> i64 {
    app.store
        .status(chrono::Utc::now())
        .await
        .expect("status")
        .messages_ingested
}

/// Messages recorded for a mailbox (via status counts is too coarse: count by source key).
pub async fn recorded(app: &App, mailbox: &str, keys: &[String]) -> usize {
    let mut n = 0;
    for k in keys {
        if app.store.message_recorded(mailbox, k).await.expect("store") {
            n += 1;
        }
    }
    n
}

/// A TCP proxy that forwards to `upstream` until `freeze()`: then every connection open at
/// that moment stops forwarding in both directions (a silent peer), while new ones work.
/// `cut()` makes the server unreachable instead (open connections closed, new ones closed at
/// once) until `restore()`.
pub struct Proxy {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    frozen_gen: Arc<AtomicUsize>,
    down: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(upstream: (String, u16)) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let frozen_gen = Arc::new(AtomicUsize::new(0));
        let (down, down_rx) = tokio::sync::watch::channel(false);
        let (c, f) = (connections.clone(), frozen_gen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *down_rx.borrow() {
                    drop(client); // unreachable: closed before the greeting
                    continue;
                }
                let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, n, f.clone(), down_rx.clone()));
                tokio::spawn(pump(sr, cw, n, f.clone(), down_rx.clone()));
            }
        });
        Proxy {
            port,
            connections,
            frozen_gen,
            down,
        }
    }

    /// Closes every open connection and refuses new ones until `restore()`.
    pub fn cut(&self) {
        self.down.send_replace(true);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.down.send_replace(false);
    }

    /// Silences every connection opened so far.
    pub fn freeze(&self) {
        self.frozen_gen
            .store(self.connections.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    n: usize,
    frozen_gen: Arc<AtomicUsize>,
    mut down: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let silent = AtomicBool::new(false);
    loop {
        let read = tokio::select! {
            r = from.read(&mut buf) => r,
            // Cut: both halves dropped, so both peers see the connection close.
            _ = down.wait_for(|d| *d) => return,
        };
        let Ok(read) = read else {
            return;
        };
        if read == 0 {
            let _ = to.shutdown().await;
            return;
        }
        if n <= frozen_gen.load(Ordering::SeqCst) {
            silent.store(true, Ordering::SeqCst);
        }
        if silent.load(Ordering::SeqCst) {
            continue; // a blackhole: read and drop, never answer, never close
        }
        if to.write_all(&buf[..read]).await.is_err() {
            return;
        }
    }
}
