//! An IMAP folder as a mail source: one task per mailbox that connects, sweeps by UID, commits
//! the messages (with the UID high-water mark, in the same transaction; a backlog in groups,
//! one transaction per run of messages decided while the run before committed — see
//! `ImapMailbox::commit_group`), then MOVEs them to the processed folder or sets \Seen, and
//! waits in IDLE (or polls) for more.
//!
//! The only file that uses `async_imap`. It must never delete a message, never mark one before
//! its commit, never trust \Seen or pushed data (the UID mark is the truth), never run an IMAP
//! command without a timeout (DONE and LOGOUT included), and never log a password or a body.
//! Any protocol error or timeout drops the connection; the loop reconnects with backoff.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use async_imap::types::Fetch;
use chrono::{DateTime, Utc};
use futures::{FutureExt, TryStreamExt};
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{Config, ImapConfig, TlsMode};
use crate::offers::Offers;
use crate::ops::reload::Live;
use crate::ops::{self, Ops};
use crate::store::{ImapCursor, IngestDecision, IngestOutcome, IngestedMessage, StoreError};

use super::Read;

/// A message decided and not committed yet: a member of a run (group commit).
struct Ahead {
    uid: u32,
    read: Read,
    decision: IngestDecision,
    /// The snapshot it was decided with, whose store records it (SIGHUP).
    offers: Arc<Offers>,
}

/// Timeouts and limits of one mailbox task. Tests use short ones.
#[derive(Debug, Clone)]
pub struct ImapOptions {
    /// TCP connect + TLS handshake + greeting.
    pub connect_timeout: Duration,
    /// Every IMAP command, DONE and LOGOUT included.
    pub command_timeout: Duration,
    /// IDLE ends when the server says nothing for this long (≤ 5 min; Dovecot says
    /// "Still here" every 2 min).
    pub idle_silence: Duration,
    /// IDLE ends after this long whatever the server says (≤ 10 min); a sweep follows. It
    /// also bounds the time between two contacts while idle, so it stays under `/readyz`'s
    /// contact allowance (`ops::CONTACT_ALLOWANCE`, 5 min).
    pub idle_deadline: Duration,
    /// Sweep period when the server lacks IDLE.
    pub poll_every: Duration,
    /// Reconnect backoff: doubles from `backoff_min` up to `backoff_max`, with jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Failed attempts at one message before it is quarantined.
    pub max_attempts: i64,
    /// Take the watch lease before connecting (PostgreSQL, where several instances may run;
    /// SQLite has one instance by construction).
    pub use_lease: bool,
    /// The watch lease: held this long, renewed every third of it. Another instance takes
    /// over within `lease + lease / 3` of this one dying.
    pub lease: Duration,
    /// This instance's name in the lease table.
    pub owner: String,
    /// UIDs per FETCH of sizes and flags.
    pub fetch_batch: usize,
    /// Messages per FETCH of bodies (and per MOVE/STORE after their commits), at most
    /// [`BODY_BATCH_BYTES`] of bodies at once. 1 = one message at a time.
    pub body_batch: usize,
    /// A run of decided messages (committed as one group) is decided until the commit under
    /// way has finished and it holds at least this many, or the body batch ends. Groups grow
    /// with the commit's cost; this only sets where they start.
    pub group_min: usize,
    /// A test seam: messages for which this returns true fail to ingest, as a poison message
    /// would. Always `None` outside tests.
    #[doc(hidden)]
    pub fail_if: Option<fn(&[u8]) -> bool>,
}

impl Default for ImapOptions {
    fn default() -> Self {
        ImapOptions {
            connect_timeout: Duration::from_secs(20),
            command_timeout: Duration::from_secs(60),
            idle_silence: Duration::from_secs(3 * 60),
            idle_deadline: Duration::from_secs(210),
            poll_every: Duration::from_secs(60),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5 * 60),
            max_attempts: 3,
            use_lease: true,
            lease: Duration::from_secs(60),
            owner: default_owner(),
            fetch_batch: 500,
            body_batch: 100,
            group_min: 4,
            fail_if: None,
        }
    }
}

impl ImapOptions {
    /// The longest a mailbox task may go between two heartbeats while it works as it should:
    /// the longest single wait it makes (an IDLE with its IDLE and DONE commands, a backoff, a
    /// connect and login) plus a minute. The watchdog counts a longer silence as a stuck loop.
    pub fn heartbeat_allowance(&self) -> Duration {
        let idle = self.idle_deadline + self.command_timeout * 2;
        let poll = self.poll_every + self.command_timeout;
        let connect = self.connect_timeout * 2 + self.command_timeout * 4;
        idle.max(poll)
            .max(self.backoff_max)
            .max(connect)
            .max(self.lease / 3)
            + Duration::from_secs(60)
    }
}

/// `host:pid:random`, unique per process.
pub fn default_owner() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    )
}

/// Why a session step failed. Every variant means: drop the connection and reconnect.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("{0} timed out after {1:?}")]
    Timeout(&'static str, Duration),
    #[error("{0}: {1}")]
    Protocol(&'static str, String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the database is unavailable: {0}")]
    Store(#[from] StoreError),
}

/// The transport under the IMAP client: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<crate::tls::ClientTls>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<Conn>;

/// A logged-in connection with the folder selected.
pub struct ImapSession {
    session: Session,
    /// UIDVALIDITY of the selected folder: part of every source key and of the mark.
    pub uidvalidity: u32,
    /// The server announced IDLE (else poll mode).
    pub idle: bool,
    /// The server announced MOVE.
    pub can_move: bool,
    /// Messages at or below the mark still waiting for their MOVE/\Seen (a crash between
    /// commit and marking) were handled on this connection.
    tidied: bool,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// UIDs above the mark when the sweep began.
    pub seen: usize,
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Recorded before (a crash between commit and MOVE, or a rescan after a UIDVALIDITY
    /// change): only marked now.
    pub already: usize,
    /// Over the size cap: recorded from the size alone, body never fetched.
    pub oversized: usize,
    pub quarantined: usize,
    /// Messages whose decision was made before the message before them committed (in the
    /// same run, or while the run before committed).
    pub decided_ahead: usize,
    /// Messages committed in a group of two or more (one transaction for the group).
    pub grouped: usize,
}

impl SweepReport {
    fn count(&mut self, outcome: &IngestOutcome) {
        match outcome {
            IngestOutcome::Created(_) => self.created += 1,
            IngestOutcome::DuplicateMeeting(_) => self.duplicates += 1,
            IngestOutcome::Rejected => self.rejected += 1,
            IngestOutcome::AlreadyRecorded => self.already += 1,
        }
    }

    /// Messages whose decision was committed in this sweep (request, duplicate or rejection).
    pub fn committed(&self) -> usize {
        self.created + self.duplicates + self.rejected
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// The server pushed something (or the poll period passed): sweep.
    Data,
    /// The silence timeout or the absolute deadline passed: sweep anyway.
    Timeout,
    Shutdown,
}

/// One watched IMAP mailbox.
#[derive(Clone)]
pub struct ImapMailbox {
    name: String,
    cfg: ImapConfig,
    offers: Arc<Offers>,
    config: Arc<Config>,
    pub options: ImapOptions,
    /// Heartbeats (`mailbox:NAME`), contacts (for `/readyz`) and metrics of the running
    /// daemon; `None` in tests that do not look at them.
    ops: Option<Arc<Ops>>,
    /// The daemon's reloadable configuration (SIGHUP): each message is routed and answered
    /// with the snapshot current when its turn comes, on the connection already open. `None`:
    /// `offers` and `config` above, as given.
    live: Option<Arc<Live>>,
}

async fn within<T, E: std::fmt::Display>(
    what: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ImapError::Protocol(what, e.to_string())),
        Err(_) => Err(ImapError::Timeout(what, limit)),
    }
}

/// The most body bytes one FETCH brings in (a message bigger than this, under the cap, is
/// fetched alone).
pub const BODY_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Splits `(uid, size)` pairs (in UID order) into runs fetched with one command each: at most
/// `max_count` messages and `max_bytes` of bodies under `cap` (over the cap: no body fetched,
/// no bytes counted); never an empty run.
pub fn body_groups(
    sizes: &[(u32, u32)],
    cap: usize,
    max_count: usize,
    max_bytes: usize,
) -> Vec<&[(u32, u32)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, (_, size)) in sizes.iter().enumerate() {
        let size = *size as usize;
        let body = if size > cap { 0 } else { size };
        if i > start && (i - start >= max_count.max(1) || bytes + body > max_bytes) {
            out.push(&sizes[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += body;
    }
    if start < sizes.len() {
        out.push(&sizes[start..]);
    }
    out
}

/// The body of `uid` among fetched bodies.
fn body_in(bodies: &[Fetch], uid: u32) -> Option<&[u8]> {
    bodies
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body())
}

/// `1:5,7,9:10`: UIDs (sorted) as ranges, so a set never grows past one short line per run.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Doubling backoff with jitter in [d/2, d].
pub fn backoff(attempt: u32, min: Duration, max: Duration) -> Duration {
    let d = min
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    let ms = d.as_millis().max(2) as u64;
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}

impl ImapMailbox {
    pub fn new(
        name: impl Into<String>,
        cfg: ImapConfig,
        offers: Arc<Offers>,
        config: Arc<Config>,
        options: ImapOptions,
    ) -> ImapMailbox {
        ImapMailbox {
            name: name.into(),
            cfg,
            offers,
            config,
            options,
            ops: None,
            live: None,
        }
    }

    /// Reads routes, requestors and templates from `live` for each message, so a SIGHUP
    /// applies to the next message without dropping the connection.
    pub fn with_live(mut self, live: Arc<Live>) -> ImapMailbox {
        self.live = Some(live);
        self
    }

    /// The use cases and configuration for one message: the live snapshot's when there is
    /// one. (Connection settings, the size cap and the store never change on reload.)
    fn current(&self) -> (Arc<Offers>, Arc<Config>) {
        match &self.live {
            Some(live) => {
                let snapshot = live.current();
                (snapshot.offers.clone(), snapshot.config.clone())
            }
            None => (self.offers.clone(), self.config.clone()),
        }
    }

    /// Reports heartbeats, contacts and ingest counts to `ops`.
    pub fn with_ops(mut self, ops: Arc<Ops>) -> ImapMailbox {
        self.ops = Some(ops);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One step of the task: the watchdog's sign of life.
    fn beat(&self) {
        if let Some(ops) = &self.ops {
            ops.heartbeats.beat(&ops::mailbox_loop(&self.name));
        }
    }

    /// The server answered (login, a sweep, an IDLE ended by DONE): `/readyz`'s sign of life.
    fn contacted(&self) {
        if let Some(ops) = &self.ops {
            ops.contacted(&self.name);
        }
        self.beat();
    }

    async fn tls_wrap(&self, tcp: TcpStream) -> Result<Conn, ImapError> {
        let config =
            crate::tls::client_config(self.cfg.ca_file.as_deref()).map_err(ImapError::Tls)?;
        let tls = tokio::time::timeout(
            self.options.connect_timeout,
            crate::tls::handshake(config, &self.cfg.host, tcp),
        )
        .await
        .map_err(|_| ImapError::Timeout("TLS handshake", self.options.connect_timeout))?
        .map_err(ImapError::Tls)?;
        Ok(Conn::Tls(Box::new(tls)))
    }

    /// Connects (TLS per `tls`, TCP keepalive), reads the greeting, logs in, selects the
    /// folder. One connection per watched folder.
    pub async fn connect(&self) -> Result<ImapSession, ImapError> {
        let limit = self.options.connect_timeout;
        let tcp = within(
            "connect",
            limit,
            TcpStream::connect((self.cfg.host.as_str(), self.cfg.port)),
        )
        .await?;
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(60))
            .with_interval(Duration::from_secs(15))
            .with_retries(4);
        socket2::SockRef::from(&tcp)
            .set_tcp_keepalive(&keepalive)
            .map_err(|e| ImapError::Protocol("TCP keepalive", e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let conn = match self.cfg.tls {
            TlsMode::Implicit => self.tls_wrap(tcp).await?,
            TlsMode::None | TlsMode::Starttls => Conn::Plain(tcp),
        };
        let mut client = async_imap::Client::new(conn);
        self.greeting(&mut client).await?;
        if self.cfg.tls == TlsMode::Starttls {
            within(
                "STARTTLS",
                self.options.command_timeout,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let Conn::Plain(tcp) = client.into_inner() else {
                return Err(ImapError::Tls("STARTTLS on a TLS stream".into()));
            };
            client = async_imap::Client::new(self.tls_wrap(tcp).await?);
        }
        let t = self.options.command_timeout;
        let mut session = match tokio::time::timeout(
            t,
            client.login(&self.cfg.username, self.cfg.password.expose()),
        )
        .await
        {
            Err(_) => return Err(ImapError::Timeout("LOGIN", t)),
            Ok(Err((e, _))) => return Err(ImapError::Protocol("LOGIN", e.to_string())),
            Ok(Ok(s)) => s,
        };
        let caps = within("CAPABILITY", t, session.capabilities()).await?;
        let idle = caps.has_str("IDLE");
        let can_move = caps.has_str("MOVE");
        let mailbox = within("SELECT", t, session.select(&self.cfg.folder)).await?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| ImapError::Protocol("SELECT", "no UIDVALIDITY".into()))?;
        tracing::debug!(mailbox = %self.name, folder = %self.cfg.folder, uidvalidity, idle, can_move, "IMAP folder selected");
        Ok(ImapSession {
            session,
            uidvalidity,
            idle,
            can_move,
            tidied: false,
        })
    }

    async fn greeting(&self, client: &mut async_imap::Client<Conn>) -> Result<(), ImapError> {
        let limit = self.options.connect_timeout;
        let greeting = within("greeting", limit, client.read_response())
            .await?
            .ok_or_else(|| ImapError::Protocol("greeting", "connection closed".into()))?;
        match greeting.parsed() {
            async_imap::imap_proto::Response::Data {
                status: async_imap::imap_proto::Status::Ok,
                ..
            } => Ok(()),
            other => Err(ImapError::Protocol(
                "greeting",
                format!("unexpected {other:?}"),
            )),
        }
    }

    /// Every UID above the mark: sizes and flags first (batched), then each body with
    /// `BODY.PEEK[]` (over the cap: never fetched), committed with the mark, then MOVEd or
    /// flagged. A message that keeps failing is quarantined after `max_attempts`.
    pub async fn sweep(
        &self,
        s: &mut ImapSession,
        now: DateTime<Utc>,
    ) -> Result<SweepReport, ImapError> {
        let store = self.offers.store();
        let t = self.options.command_timeout;
        let mark = store.imap_mark(&self.name, s.uidvalidity).await?;
        if mark.last_uid.is_none() && mark.other_uidvalidity {
            tracing::warn!(mailbox = %self.name, folder = %self.cfg.folder, uidvalidity = s.uidvalidity,
                "UIDVALIDITY changed (folder recreated or migrated): rescanning every message, deduplicating by Message-ID and content hash");
        }
        let last = mark.last_uid.unwrap_or(0);
        if !s.tidied && last > 0 {
            self.tidy(s, last).await?;
        }
        s.tidied = true;
        let found = within(
            "UID SEARCH",
            t,
            s.session
                .uid_search(format!("UID {}:*", last.saturating_add(1))),
        )
        .await?;
        // `n:*` always matches the highest UID, even below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        let mut report = SweepReport {
            seen: uids.len(),
            ..Default::default()
        };
        store
            .record_mailbox_health(&self.name, Some(uids.len() as i64), None, now)
            .await?;
        if uids.is_empty() {
            return Ok(report);
        }
        for chunk in uids.chunks(self.options.fetch_batch.max(1)) {
            let set = uid_set(chunk);
            let meta: Vec<Fetch> = within("UID FETCH sizes", t, async {
                s.session
                    .uid_fetch(&set, "(UID RFC822.SIZE FLAGS)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            let mut sizes: Vec<(u32, u32)> = meta
                .iter()
                .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                .filter(|(uid, _)| *uid > last)
                .collect();
            sizes.sort_unstable();
            let cap = self.config.limits.max_message_bytes;
            for group in body_groups(&sizes, cap, self.options.body_batch, BODY_BATCH_BYTES) {
                // One FETCH for the bodies, one commit per message in UID order (the mark
                // advances with each), then one MOVE/STORE for those committed.
                let wanted: Vec<u32> = group
                    .iter()
                    .filter(|(_, size)| *size as usize <= cap)
                    .map(|(uid, _)| *uid)
                    .collect();
                let bodies: Vec<Fetch> = if wanted.is_empty() {
                    vec![]
                } else {
                    let set = uid_set(&wanted);
                    within("UID FETCH bodies", t, async {
                        s.session
                            .uid_fetch(&set, "(UID BODY.PEEK[])")
                            .await?
                            .try_collect::<Vec<_>>()
                            .await
                    })
                    .await?
                };
                let body_of = |uid: u32| body_in(&bodies, uid);
                let mut done = Vec::with_capacity(group.len());
                // Group commit. `inflight` is a run of decided messages committed in ONE
                // transaction while the next run is decided (`decide_run`); see
                // `commit_group` for why no message is lost or doubled.
                let mut inflight: Vec<Ahead> = Vec::new();
                let mut i = 0;
                loop {
                    let was_empty = inflight.is_empty();
                    // The run grows until the commit under way has finished (and holds
                    // `group_min` messages): groups grow with the commit's cost.
                    let finished = std::sync::atomic::AtomicBool::new(false);
                    let (committed, run) = tokio::join!(
                        async {
                            let r = self.commit_group(&inflight, s.uidvalidity, now).await;
                            finished.store(true, std::sync::atomic::Ordering::SeqCst);
                            r
                        },
                        self.decide_run(
                            &group[i..],
                            &bodies,
                            &inflight,
                            &finished,
                            s.uidvalidity,
                            now
                        )
                    );
                    match committed {
                        Ok(outcomes) => {
                            for outcome in &outcomes {
                                report.count(outcome);
                            }
                            if outcomes.len() > 1 {
                                report.grouped += outcomes.len();
                            }
                            done.extend(inflight.iter().map(|a| a.uid));
                        }
                        Err(e) => {
                            if let Some(StoreError::Unavailable(m)) = e.downcast_ref::<StoreError>()
                            {
                                // Nothing of the group is committed or marked: the sweep is
                                // retried later.
                                return Err(ImapError::Store(StoreError::Unavailable(m.clone())));
                            }
                            // Nothing of the group is committed: each message again on its
                            // own, with the usual failure accounting. The run decided
                            // meanwhile stays valid (independent of every one of them,
                            // committed or not) and commits after them, in UID order.
                            tracing::warn!(mailbox = %self.name, messages = inflight.len(), error = %format!("{e:#}"),
                                "group commit failed; committing its messages one at a time");
                            for a in &inflight {
                                let size = group
                                    .iter()
                                    .find(|(u, _)| *u == a.uid)
                                    .map_or(0, |(_, z)| *z);
                                if self
                                    .one(s, a.uid, size, body_of(a.uid), now, &mut report)
                                    .await?
                                {
                                    done.push(a.uid);
                                }
                            }
                        }
                    }
                    // Every message of a run was decided before the one before it committed
                    // (the first only when a commit was under way).
                    report.decided_ahead += run
                        .len()
                        .saturating_sub(usize::from(was_empty && !run.is_empty()));
                    i += run.len();
                    inflight = run;
                    self.beat();
                    // Nothing under way and nothing decided: the message at `i` needs its own
                    // path (recorded already, over the cap, gone, failing). (A run that came
                    // back empty while a group was under way stopped at a message depending on
                    // that group: it is decided on the next turn, knowing its effects.)
                    if inflight.is_empty() && was_empty {
                        let Some(&(uid, size)) = group.get(i) else {
                            break;
                        };
                        if self
                            .one(s, uid, size, body_of(uid), now, &mut report)
                            .await?
                        {
                            done.push(uid);
                        }
                        i += 1;
                    }
                }
                if !done.is_empty() {
                    self.mark_set(s, &uid_set(&done)).await?;
                }
            }
        }
        store
            .record_mailbox_health(&self.name, Some(0), None, now)
            .await?;
        Ok(report)
    }

    /// Commits `run` (decided messages, in UID order) in one transaction with their marks
    /// (group commit). Why this neither loses nor doubles a message:
    ///
    /// - the mark advances only in this transaction, to the group's highest UID, and every
    ///   lower UID of the sweep is committed before it (runs are consecutive; a message on its
    ///   own path — `one` — runs only when no group is under way; a failed group's messages
    ///   are committed one at a time before the next run);
    /// - \Seen/MOVE happen only after this commit returns (the sweep marks `done` after the
    ///   body batch); a crash before the commit leaves nothing recorded and the mark where it
    ///   was, so every message of the group is fetched and decided again; a crash after it is
    ///   tidied by the next connection (`tidy`);
    /// - all or nothing: an error rolls back the whole group, whose messages then go one at a
    ///   time (`one`, with attempts and quarantine), so one bad message costs only itself;
    /// - each decision was made before the earlier messages of its group (and the group under
    ///   way when it was decided) committed, so `decide_run` admits a message only when
    ///   [`Read::independent_of`] holds against every one of them: their commits cannot change
    ///   its decision. A message that depends on one ends the run and is decided after that
    ///   commit. Within the transaction the records apply in UID order, so what the commit
    ///   itself settles (the same meeting twice) comes out as one at a time.
    async fn commit_group(
        &self,
        run: &[Ahead],
        uidvalidity: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<IngestOutcome>> {
        let Some(first) = run.first() else {
            return Ok(Vec::new());
        };
        let cursors: Vec<ImapCursor> = run
            .iter()
            .map(|a| ImapCursor {
                mailbox: self.name.clone(),
                uidvalidity,
                uid: a.uid,
            })
            .collect();
        let items: Vec<(&Read, &IngestDecision, Option<&ImapCursor>)> = run
            .iter()
            .zip(&cursors)
            .map(|(a, c)| (&a.read, &a.decision, Some(c)))
            .collect();
        // One snapshot's store serves them all (the store never changes on reload).
        super::record_group(&first.offers, &items, now).await
    }

    /// Decides the messages at the start of `next` (bodies in `bodies`) in order, while
    /// `inflight` commits, and stops at the first one that cannot join the run: over the cap,
    /// gone, recorded already, failing to decide, or whose decision could depend on a message
    /// of `inflight` or of the run so far (see `commit_group`).
    #[allow(
        clippy::too_many_arguments,
        reason = "the sweep's loop state, passed through; one call site"
    )]
    async fn decide_run(
        &self,
        next: &[(u32, u32)],
        bodies: &[Fetch],
        inflight: &[Ahead],
        finished: &std::sync::atomic::AtomicBool,
        uidvalidity: u32,
        now: DateTime<Utc>,
    ) -> Vec<Ahead> {
        let cap = self.config.limits.max_message_bytes;
        let mut run: Vec<Ahead> = Vec::new();
        for &(uid, size) in next {
            if run.len() >= self.options.group_min.max(1)
                && finished.load(std::sync::atomic::Ordering::SeqCst)
            {
                break;
            }
            if size as usize > cap {
                break;
            }
            let Some(raw) = body_in(bodies, uid) else {
                break;
            };
            let decided = self
                .decide_one(
                    uid,
                    raw,
                    inflight.iter().chain(run.iter()),
                    uidvalidity,
                    now,
                )
                .await;
            match decided {
                Some(a) => run.push(a),
                None => break,
            }
        }
        run
    }

    /// Commits one message on its own (its `body` fetched already unless over the cap), with
    /// its mark: a message recorded already, one over the cap (recorded from its header), or
    /// one that failed in a run or a group — retried here up to `max_attempts`, then
    /// quarantined. True when it is committed (now or before) and must be marked; false when
    /// it vanished before its body was fetched.
    async fn one(
        &self,
        s: &mut ImapSession,
        uid: u32,
        size: u32,
        body: Option<&[u8]>,
        now: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<bool, ImapError> {
        let store = self.offers.store();
        let t = self.options.command_timeout;
        let key = format!("{}:{uid}", s.uidvalidity);
        let cursor = ImapCursor {
            mailbox: self.name.clone(),
            uidvalidity: s.uidvalidity,
            uid,
        };
        let cap = self.config.limits.max_message_bytes;
        // One snapshot per message, decided and recorded with the same configuration: the
        // one current now (SIGHUP).
        let (offers, config) = self.current();
        if store.message_recorded(&self.name, &key).await? {
            report.already += 1;
            return Ok(true);
        }
        if size as usize > cap {
            // The header only (at most HEADER_LIMIT bytes), to tell the sender; never the body.
            let head: Vec<Fetch> = within("UID FETCH header", t, async {
                s.session
                    .uid_fetch(
                        uid.to_string(),
                        format!("(UID BODY.PEEK[HEADER]<0.{}>)", super::HEADER_LIMIT),
                    )
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            let header = head
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.header());
            super::ingest_oversized_at(
                &offers,
                &config,
                &self.name,
                &key,
                u64::from(size),
                cap,
                header.map(super::header_block),
                Some(&cursor),
                now,
            )
            .await
            .map_err(store_or_protocol)?;
            report.oversized += 1;
            return Ok(true);
        }
        let Some(raw) = body else {
            // Expunged between the two fetches: nothing to ingest.
            tracing::info!(mailbox = %self.name, source_key = %key, "message gone before its body was fetched");
            return Ok(false);
        };
        loop {
            let injected = self.options.fail_if.is_some_and(|f| f(raw));
            let attempt = std::panic::AssertUnwindSafe(async {
                if injected {
                    return Err(anyhow::anyhow!("injected failure (test seam)"));
                }
                let read = Read::new(&config, &self.name, &key, raw, None);
                let decision = super::decide(&offers, &config, &read, raw, now).await?;
                super::record(&offers, &read, &decision, Some(&cursor), now).await
            })
            .catch_unwind()
            .await;
            let error = match attempt {
                Ok(Ok(outcome)) => {
                    report.count(&outcome);
                    return Ok(true);
                }
                Ok(Err(e)) => {
                    if let Some(StoreError::Unavailable(m)) = e.downcast_ref::<StoreError>() {
                        // Not the message's fault: retry the whole sweep later.
                        return Err(ImapError::Store(StoreError::Unavailable(m.clone())));
                    }
                    format!("{e:#}")
                }
                Err(_) => "panicked while processing the message".to_string(),
            };
            let attempts = store
                .ingest_attempt_failed(&self.name, &key, &error, now)
                .await?;
            tracing::warn!(mailbox = %self.name, source_key = %key, attempts, error = %error, "ingest attempt failed");
            if attempts >= self.options.max_attempts {
                let message = IngestedMessage {
                    mailbox: self.name.clone(),
                    source_key: key.clone(),
                    message_id: None,
                    sha256: super::sha256_hex(raw),
                };
                store
                    .quarantine_message(Some(&cursor), &message, Some(raw), &error, now)
                    .await?;
                tracing::error!(mailbox = %self.name, source_key = %key, attempts, "poison message quarantined (raw bytes kept); moving past it");
                report.quarantined += 1;
                return Ok(true);
            }
        }
    }

    /// The decision for message `uid` (`raw`) made before the messages in `before` commit —
    /// or `None` when it could depend on one of their commits, is recorded already, or fails
    /// (the message then gets its own attempt, with the usual failure accounting).
    async fn decide_one(
        &self,
        uid: u32,
        raw: &[u8],
        mut before: impl Iterator<Item = &Ahead>,
        uidvalidity: u32,
        now: DateTime<Utc>,
    ) -> Option<Ahead> {
        if self.options.fail_if.is_some_and(|f| f(raw)) {
            return None;
        }
        let key = format!("{uidvalidity}:{uid}");
        let (offers, config) = self.current();
        let attempt = std::panic::AssertUnwindSafe(async {
            let read = Read::new(&config, &self.name, &key, raw, None);
            if !before.all(|b| read.independent_of(&b.read, &b.decision)) {
                return None;
            }
            if self
                .offers
                .store()
                .message_recorded(&self.name, &key)
                .await
                .ok()?
            {
                return None;
            }
            let decision = super::decide(&offers, &config, &read, raw, now)
                .await
                .ok()?;
            Some(Ahead {
                uid,
                read,
                decision,
                offers: offers.clone(),
            })
        })
        .catch_unwind()
        .await;
        attempt.ok().flatten()
    }

    /// Once per connection: every message at or below the mark is committed (the mark only
    /// advances in the commit's transaction, in UID order), so any still in the folder (MOVE
    /// mode) or still unseen (flag mode) was interrupted between commit and marking: mark it.
    async fn tidy(&self, s: &mut ImapSession, last: u32) -> Result<(), ImapError> {
        let t = self.options.command_timeout;
        let query = if self.moves(s) {
            format!("UID 1:{last}")
        } else {
            format!("UID 1:{last} UNSEEN")
        };
        let found = within("UID SEARCH", t, s.session.uid_search(query)).await?;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u <= last).collect();
        uids.sort_unstable();
        if !uids.is_empty() {
            tracing::info!(mailbox = %self.name, count = uids.len(), "marking messages committed before an interruption");
        }
        for chunk in uids.chunks(self.options.fetch_batch.max(1)) {
            self.mark_set(s, &uid_set(chunk)).await?;
        }
        Ok(())
    }

    fn moves(&self, s: &ImapSession) -> bool {
        self.cfg.processed_folder.is_some() && s.can_move
    }

    async fn mark_set(&self, s: &mut ImapSession, set: &str) -> Result<(), ImapError> {
        let t = self.options.command_timeout;
        match (&self.cfg.processed_folder, s.can_move) {
            (Some(folder), true) => within("UID MOVE", t, s.session.uid_mv(set, folder)).await,
            _ => {
                within("UID STORE", t, async {
                    s.session
                        .uid_store(set, "+FLAGS.SILENT (\\Seen)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
                Ok(())
            }
        }
    }

    /// Waits for news: IDLE bounded by the silence timeout and the absolute deadline, or one
    /// poll period (then NOOP) without IDLE. Returns the session to sweep again.
    pub async fn wait(
        &self,
        s: ImapSession,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> Result<(ImapSession, Woke), ImapError> {
        let t = self.options.command_timeout;
        let ImapSession {
            session,
            uidvalidity,
            idle,
            can_move,
            tidied,
        } = s;
        let mut session = session;
        // Mail that arrived during the sweep was announced (`* N EXISTS`) in the answer to
        // one of its commands, which async-imap files as unsolicited; IDLE does not announce
        // it again, so waiting would leave it until the next push or the IDLE deadline
        // (minutes). The folder grew: sweep again at once. (A stale announcement costs one
        // UID SEARCH.)
        let mut grew = false;
        while let Ok(r) = session.unsolicited_responses.try_recv() {
            grew |= matches!(
                r,
                async_imap::types::UnsolicitedResponse::Exists(_)
                    | async_imap::types::UnsolicitedResponse::Recent(_)
            );
        }
        if grew {
            let session = ImapSession {
                session,
                uidvalidity,
                idle,
                can_move,
                tidied,
            };
            return Ok((session, Woke::Data));
        }
        if !idle {
            let woke = tokio::select! {
                _ = shutdown => Woke::Shutdown,
                _ = tokio::time::sleep(self.options.poll_every) => Woke::Data,
            };
            if woke != Woke::Shutdown {
                within("NOOP", t, session.noop()).await?;
            }
            return Ok((
                ImapSession {
                    session,
                    uidvalidity,
                    idle,
                    can_move,
                    tidied,
                },
                woke,
            ));
        }
        let mut handle = session.idle();
        within("IDLE", t, handle.init()).await?;
        let woke = {
            let (fut, _stop) = handle.wait_with_timeout(self.options.idle_silence);
            tokio::select! {
                _ = shutdown => Woke::Shutdown,
                r = tokio::time::timeout(self.options.idle_deadline, fut) => match r {
                    Err(_) => Woke::Timeout,
                    Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => Woke::Data,
                    Ok(Ok(async_imap::extensions::idle::IdleResponse::Timeout)) => Woke::Timeout,
                    // The server closed the socket (or BYE): reconnect.
                    Ok(Ok(async_imap::extensions::idle::IdleResponse::ManualInterrupt)) => {
                        return Err(ImapError::Protocol("IDLE", "connection closed by the server".into()))
                    }
                    Ok(Err(e)) => return Err(ImapError::Protocol("IDLE", e.to_string())),
                },
            }
        };
        let session = within("DONE", t, handle.done()).await?;
        Ok((
            ImapSession {
                session,
                uidvalidity,
                idle,
                can_move,
                tidied,
            },
            woke,
        ))
    }

    /// LOGOUT, bounded; errors only logged (the connection is dropped anyway).
    pub async fn logout(&self, mut s: ImapSession) {
        if let Err(e) = within("LOGOUT", self.options.command_timeout, s.session.logout()).await {
            tracing::debug!(mailbox = %self.name, error = %e, "LOGOUT failed; dropping the connection");
        }
    }

    /// Connect, sweep, then wait and sweep until shutdown or an error.
    async fn watch(
        &self,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
        connected: &mut bool,
    ) -> Result<(), ImapError> {
        let mut s = self.connect().await?;
        *connected = true;
        self.contacted();
        loop {
            let report = self.sweep(&mut s, Utc::now()).await?;
            self.contacted();
            if report.seen > 0 {
                tracing::info!(mailbox = %self.name, ?report, "IMAP sweep");
            }
            if let Some(ops) = &self.ops {
                ops.metrics.ingested(
                    &self.name,
                    report.created,
                    report.duplicates,
                    report.rejected + report.oversized,
                    report.already,
                    report.quarantined,
                );
            }
            let (next, woke) = self.wait(s, shutdown).await?;
            s = next;
            if woke != Woke::Shutdown {
                self.contacted();
            }
            if woke == Woke::Shutdown {
                self.logout(s).await;
                return Ok(());
            }
        }
    }

    /// Keeps the lease while `watch` runs; returns when a renewal fails or is refused.
    async fn keep_lease(&self) -> String {
        let store = self.offers.store();
        let every = self.options.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let now = Utc::now();
            match store
                .acquire_mailbox_lease(
                    &self.name,
                    &self.options.owner,
                    now,
                    now + self.options.lease,
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => return "lease taken by another instance".into(),
                Err(e) => return format!("lease renewal failed: {e}"),
            }
        }
    }

    /// The mailbox task: holds the lease, watches, and on any error drops the connection and
    /// reconnects with backoff and jitter, until `shutdown` resolves. Never returns early.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let store = self.offers.store().clone();
        // Fused: polling it again after it resolved stays pending instead of panicking; so
        // `stopped` remembers that it resolved (a DONE that times out after the shutdown
        // must not send the loop into a backoff that waits for it again).
        let stopped = std::sync::atomic::AtomicBool::new(false);
        let shutdown = async {
            shutdown.await;
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        .fuse();
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            self.beat();
            let now = Utc::now();
            let held = if self.options.use_lease {
                store
                    .acquire_mailbox_lease(
                        &self.name,
                        &self.options.owner,
                        now,
                        now + self.options.lease,
                    )
                    .await
            } else {
                Ok(true)
            };
            match held {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(mailbox = %self.name, "another instance watches this mailbox");
                    // Its renewed lease says the mailbox is watched: this standby is healthy.
                    self.contacted();
                    tokio::select! {
                        _ = &mut shutdown => return,
                        _ = tokio::time::sleep(self.options.lease / 3) => continue,
                    }
                }
                Err(e) => {
                    tracing::warn!(mailbox = %self.name, error = %e, "cannot take the watch lease");
                    failures += 1;
                    tokio::select! {
                        _ = &mut shutdown => return,
                        _ = tokio::time::sleep(backoff(failures, self.options.backoff_min, self.options.backoff_max)) => continue,
                    }
                }
            }
            let mut connected = false;
            let result = tokio::select! {
                r = self.watch(&mut shutdown, &mut connected) => r.map(|_| true),
                why = self.keep_lease(), if self.options.use_lease => Err(ImapError::Protocol("lease", why)),
            };
            match result {
                Ok(_) => {
                    let _ = store
                        .release_mailbox_lease(&self.name, &self.options.owner)
                        .await;
                    return;
                }
                Err(_) if stopped.load(std::sync::atomic::Ordering::SeqCst) => {
                    let _ = store
                        .release_mailbox_lease(&self.name, &self.options.owner)
                        .await;
                    return;
                }
                Err(e) => {
                    failures = if connected { 1 } else { failures + 1 };
                    let wait =
                        backoff(failures, self.options.backoff_min, self.options.backoff_max);
                    let msg = e.to_string();
                    tracing::warn!(mailbox = %self.name, error = %msg, retry_in = ?wait, "IMAP connection dropped; reconnecting");
                    if let Some(ops) = &self.ops {
                        ops.metrics.mailbox_failed(&self.name);
                        if connected {
                            ops.metrics.idle_reconnect(&self.name);
                        }
                    }
                    self.beat();
                    let _ = store
                        .record_mailbox_health(&self.name, None, Some(&msg), Utc::now())
                        .await;
                    tokio::select! {
                        _ = &mut shutdown => {
                            let _ = store.release_mailbox_lease(&self.name, &self.options.owner).await;
                            return;
                        }
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }
}

fn store_or_protocol(e: anyhow::Error) -> ImapError {
    match e.downcast::<StoreError>() {
        Ok(s) => ImapError::Store(s),
        Err(e) => ImapError::Protocol("ingest", format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_ranges() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
    }

    #[test]
    fn an_idle_healthy_mailbox_stays_ready_and_its_loop_is_never_called_stuck() {
        let o = ImapOptions::default();
        // A contact at least at the end of every IDLE (DONE answered): within /readyz's bound.
        assert!(o.idle_deadline + o.command_timeout < crate::ops::CONTACT_ALLOWANCE);
        assert!(o.idle_silence <= o.idle_deadline);
        // Every wait the task makes between two beats fits the watchdog's allowance.
        let a = o.heartbeat_allowance();
        assert!(a > o.idle_deadline + o.command_timeout * 2, "{a:?}");
        assert!(
            a > o.backoff_max && a > o.poll_every + o.command_timeout,
            "{a:?}"
        );
    }

    #[test]
    fn body_groups_bound_count_and_bytes_and_skip_oversized_bodies() {
        let sizes = [(1, 10), (2, 10), (3, 10), (4, 1000), (5, 10), (6, 60)];
        let g = body_groups(&sizes, 100, 2, 1000);
        assert_eq!(g, vec![&sizes[0..2], &sizes[2..4], &sizes[4..6]]);
        // Bytes: 10+10+10 fill 30, the fourth is over the cap (no body: it joins), then the
        // fifth starts a run and the sixth (10 + 60 > 30) another.
        let g = body_groups(&sizes, 100, 10, 30);
        assert_eq!(g, vec![&sizes[0..4], &sizes[4..5], &sizes[5..6]]);
        // A body bigger than the byte budget still gets its own run.
        let g = body_groups(&[(1, 50), (2, 50)], 100, 10, 30);
        assert_eq!(g.len(), 2);
        assert!(body_groups(&[], 100, 10, 30).is_empty());
        assert_eq!(body_groups(&sizes, 10_000, 1, 1 << 20).len(), sizes.len());
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let min = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        for attempt in 0..30 {
            let d = backoff(attempt, min, max);
            assert!(d <= max, "{d:?}");
            assert!(d >= min / 2, "{d:?}");
        }
        assert!(backoff(30, min, max) >= max / 2);
    }
}
