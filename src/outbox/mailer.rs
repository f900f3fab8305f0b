//! The mailer: turns an outbox row into MIME bytes and hands them to a transport (a directory of
//! `.eml` files, or SMTP over our own pooled connections with lettre's SMTP client and rustls).
//!
//! This is the only file that uses lettre. It never touches the store, never decides about
//! retries (it only says whether a failure is transient or permanent), and never logs a body,
//! a password or a full recipient address.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;

use crate::config::{Config, SmtpConfig, TlsMode, Transport};
use crate::domain::EmailAddress;
use crate::store::NewEmail;

/// Why a message could not be sent, as the worker needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx replies, timeouts, refused or broken connections, TLS failures
    /// (a wrong CA is an operator's mistake to fix, not a reason to lose the message).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help: a 5xx reply about this message or recipient, or a message that
    /// cannot be built.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// Classifies an SMTP reply code. 5xx is permanent, except the authentication replies
/// (530, 534, 535, 538): they say our credentials or TLS setup are wrong, which holds for every
/// message alike and is fixed by the operator, so the messages wait instead of being dropped.
pub fn classify_reply(code: u16, text: String) -> SendError {
    match code {
        530 | 534 | 535 | 538 => SendError::Transient(text),
        500..=599 => SendError::Permanent(text),
        _ => SendError::Transient(text),
    }
}

/// How long one message may take to send, connect included, when the config says nothing.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How many SMTP connections the pool keeps (and how many sends the worker runs at once).
pub const SMTP_POOL_SIZE: u32 = 8;

/// The `Auto-Submitted` value (RFC 3834): `auto-replied` for answers to a person's message,
/// `auto-generated` for everything else. Both tell well-behaved responders not to answer.
pub fn auto_submitted(email: &NewEmail) -> &'static str {
    if email.in_reply_to.is_some() {
        "auto-replied"
    } else {
        "auto-generated"
    }
}

/// The complete message (headers and body, CRLF line endings) as both transports send it.
/// `Date` is now.
pub fn build_message(from: &EmailAddress, email: &NewEmail) -> anyhow::Result<Vec<u8>> {
    Ok(build(from, email, SystemTime::now())?.formatted())
}

/// [`build_message`] with a given `Date`.
pub fn build_message_at(
    from: &EmailAddress,
    email: &NewEmail,
    date: SystemTime,
) -> anyhow::Result<Vec<u8>> {
    Ok(build(from, email, date)?.formatted())
}

fn angle(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

/// A Message-ID (with or without its angle brackets) that is safe to put in a header:
/// printable ASCII, no spaces, no brackets inside, one `@`-ish token of sane length.
fn plausible_msg_id(id: &str) -> bool {
    let inner = id.trim().trim_start_matches('<').trim_end_matches('>');
    !inner.is_empty()
        && inner.len() <= 250
        && inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>'))
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string())
}

fn build(from: &EmailAddress, email: &NewEmail, date: SystemTime) -> anyhow::Result<Message> {
    let from: Mailbox = from
        .as_str()
        .parse()
        .with_context(|| format!("outbound.from {from} is not a valid mailbox"))?;
    let to: Mailbox =
        email.to.as_str().parse().with_context(|| {
            format!("recipient at {} is not a valid mailbox", email.to.domain())
        })?;
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.as_str())
        .date(date)
        .message_id(Some(angle(&email.message_id)))
        .raw_header(raw_header("Auto-Submitted", auto_submitted(email)))
        // Asks Exchange and Outlook not to send out-of-office or delivery replies.
        .raw_header(raw_header("X-Auto-Response-Suppress", "All"));
    // The parent id comes from someone else's mail: thread only on a well-formed one.
    if let Some(parent) = email.in_reply_to.as_deref().filter(|p| plausible_msg_id(p)) {
        b = b.in_reply_to(angle(parent)).references(angle(parent));
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(email.html.clone()),
        );
    b.multipart(body).context("building the MIME message")
}

/// A filesystem-safe file stem for a Message-ID: the id itself when it is made only of safe
/// characters, otherwise the safe characters plus a hash of the id (so two ids never share a
/// file).
pub fn file_stem(message_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-' | '=') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let safe = safe.trim_start_matches('.').to_string();
    if safe == message_id && !safe.is_empty() {
        safe
    } else {
        let h = Sha256::digest(message_id.as_bytes());
        format!("{safe}-{}", hex::encode(&h[..6]))
    }
}

/// Sends email: one `.eml` file per message into a directory, or SMTP.
#[derive(Clone)]
pub struct Mailer {
    /// The `From` of every message.
    from: EmailAddress,
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    File {
        /// Created when the mailer is built; messages appear here atomically (temp + rename).
        dir: PathBuf,
    },
    Smtp {
        transport: Arc<Lanes>,
        /// Bounds a whole send: connecting, the TLS handshake and the SMTP dialogue.
        timeout: Duration,
        /// `host:port` for logs.
        endpoint: Arc<str>,
        /// Connections the pool keeps, and sends the worker runs at once.
        pool_size: u32,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// How a lane's connection is secured.
enum LaneTls {
    None,
    /// STARTTLS is required, with these parameters (lettre upgrades its own stream).
    Starttls(TlsParameters),
    /// TLS from the first byte (SMTPS): our handshake over our socket, handed to lettre as its
    /// transport (see [`ImplicitTls`]).
    Implicit(Arc<rustls::ClientConfig>),
}

/// An implicit-TLS stream as lettre's transport: lettre cannot build its own TLS stream
/// around a socket we opened (with `TCP_NODELAY`), but it takes any stream it can read and
/// write, and this one is already encrypted.
#[derive(Debug)]
struct ImplicitTls(crate::tls::ClientTls);

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// How long an idle SMTP connection is reused: well under the 5 minutes servers wait for a
/// client's next command (RFC 5321 4.5.3.2.7), so a reused connection is rarely closed already.
const IDLE_REUSE: Duration = Duration::from_secs(60);

/// SMTP connections kept open between sends, at most `max_idle`, each opened with
/// `TCP_NODELAY`.
///
/// Why not lettre's pool: lettre writes a message's body and its final `CRLF.CRLF` in two
/// writes; with Nagle's algorithm on (lettre never turns it off) the small second write waits
/// for the server to acknowledge the first, and the server delays that acknowledgement (40 ms
/// on Linux) because it has nothing to answer until the terminator arrives. Every message cost
/// at least 40 ms, whatever the load, which capped a pool of 8 at about 150 messages per
/// second. lettre's pool also sends `NOOP` before every reuse; here a reused connection that
/// turns out dead is replaced once instead.
struct Lanes {
    host: String,
    port: u16,
    tls: LaneTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Idle connections with the instant each went idle; the newest last.
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, tokio::time::Instant)>>,
    max_idle: usize,
}

impl Lanes {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                SendError::Transient(format!(
                    "connecting to the SMTP server {}:{}: {e}",
                    self.host, self.port
                ))
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| SendError::Transient(format!("setting TCP_NODELAY: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            LaneTls::Implicit(config) => Box::new(ImplicitTls(
                crate::tls::handshake(config.clone(), &self.host, tcp)
                    .await
                    .map_err(|e| SendError::Transient(format!("SMTP server {e}")))?,
            )),
            LaneTls::None | LaneTls::Starttls(_) => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| classify_smtp_error(&e))?;
        if let LaneTls::Starttls(params) = &self.tls {
            // On failure just drop it: a failed TLS upgrade leaves lettre's stream unusable,
            // and even a QUIT on it is a bug.
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(|e| classify_smtp_error(&e))?;
        }
        if let Some(credentials) = &self.credentials {
            if let Err(e) = conn.auth(DEFAULT_MECHANISMS, credentials).await {
                conn.abort().await;
                return Err(classify_smtp_error(&e));
            }
        }
        Ok(conn)
    }

    /// A connection idle for less than [`IDLE_REUSE`], closing the older ones.
    async fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let now = tokio::time::Instant::now();
        let (fresh, stale) = {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let stale: Vec<_> = {
                let keep = idle
                    .iter()
                    .position(|(_, since)| now.duration_since(*since) < IDLE_REUSE)
                    .unwrap_or(idle.len());
                idle.drain(..keep).map(|(c, _)| c).collect()
            };
            (idle.pop().map(|(c, _)| c), stale)
        };
        for mut c in stale {
            c.abort().await;
        }
        fresh
    }

    fn put_idle(&self, conn: AsyncSmtpConnection) -> Option<AsyncSmtpConnection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if conn.has_broken() || idle.len() >= self.max_idle {
            return Some(conn);
        }
        idle.push((conn, tokio::time::Instant::now()));
        None
    }

    async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let (mut conn, reused) = match self.take_idle().await {
            Some(c) => (c, true),
            None => (self.connect().await?, false),
        };
        let mut result = conn.send(envelope, raw).await;
        if let (true, Err(e)) = (reused, &result) {
            // No SMTP reply at all on a reused connection: the server most likely closed it
            // while idle. Once more on a new one (were the message through after all, this
            // re-sends it with the same Message-ID, as any retry would).
            if e.status().is_none() {
                conn.abort().await;
                conn = self.connect().await?;
                result = conn.send(envelope, raw).await;
            }
        }
        match result {
            Ok(_) => {
                if let Some(mut extra) = self.put_idle(conn) {
                    extra.abort().await;
                }
                Ok(())
            }
            Err(e) => {
                conn.abort().await;
                Err(classify_smtp_error(&e))
            }
        }
    }
}

/// Installs rustls's ring provider as the process default, once; another part of the program
/// having installed it first is fine.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Mailer {
    /// The mailer `[outbound]` (and `[smtp]`) describe.
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let from = config.outbound.from.clone();
        match config.outbound.transport {
            Transport::File => Mailer::file(&config.outbound.dir, from),
            Transport::Smtp => {
                let smtp = config
                    .smtp
                    .as_ref()
                    .context("outbound.transport is \"smtp\" but there is no [smtp] section")?;
                Mailer::smtp(smtp, from)
            }
        }
    }

    /// Writes each message to `dir/<message-id>.eml`, creating `dir`.
    pub fn file(dir: &Path, from: EmailAddress) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the outbox directory {}", dir.display()))?;
        Ok(Mailer {
            from,
            inner: Inner::File {
                dir: dir.to_path_buf(),
            },
        })
    }

    /// Sends over SMTP with a pool of [`SMTP_POOL_SIZE`] connections. Does not connect yet.
    pub fn smtp(cfg: &SmtpConfig, from: EmailAddress) -> anyhow::Result<Mailer> {
        Mailer::smtp_pooled(cfg, from, SMTP_POOL_SIZE)
    }

    /// [`Mailer::smtp`] with a pool of `pool_size` connections (at least 1), as many sends at
    /// once.
    pub fn smtp_pooled(
        cfg: &SmtpConfig,
        from: EmailAddress,
        pool_size: u32,
    ) -> anyhow::Result<Mailer> {
        install_crypto_provider();
        let pool_size = pool_size.max(1);
        let timeout = if cfg.timeout_secs == 0 {
            DEFAULT_SEND_TIMEOUT
        } else {
            Duration::from_secs(cfg.timeout_secs)
        };
        if cfg.tls == TlsMode::None && cfg.ca_file.is_some() {
            tracing::warn!("smtp.ca_file is set but smtp.tls is \"none\": the CA is not used");
        }
        let credentials = match &cfg.username {
            Some(user) => {
                let password = cfg
                    .password
                    .as_ref()
                    .context("smtp.username is set but smtp.password (or password_file) is not")?;
                Some(Credentials::new(
                    user.clone(),
                    password.expose().to_string(),
                ))
            }
            None => None,
        };
        let tls = match cfg.tls {
            TlsMode::None => LaneTls::None,
            TlsMode::Starttls => LaneTls::Starttls(tls_parameters(cfg)?),
            TlsMode::Implicit => LaneTls::Implicit(
                crate::tls::client_config(cfg.ca_file.as_deref())
                    .map_err(|e| anyhow::anyhow!("smtp: {e}"))?,
            ),
        };
        let transport = Arc::new(Lanes {
            host: cfg.host.clone(),
            port: cfg.port,
            tls,
            credentials,
            hello: ClientId::default(),
            idle: std::sync::Mutex::new(Vec::new()),
            max_idle: pool_size as usize,
        });
        Ok(Mailer {
            from,
            inner: Inner::Smtp {
                transport,
                timeout,
                endpoint: format!("{}:{}", cfg.host, cfg.port).into(),
                pool_size,
            },
        })
    }

    /// The `From` address.
    pub fn from_address(&self) -> &EmailAddress {
        &self.from
    }

    /// What this mailer is, for logs (no secrets).
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::File { dir } => format!("file:{}", dir.display()),
            Inner::Smtp { endpoint, .. } => format!("smtp:{endpoint}"),
        }
    }

    /// How many sends are worth running at once.
    pub fn concurrency(&self) -> usize {
        match &self.inner {
            Inner::File { .. } => 4,
            Inner::Smtp { pool_size, .. } => *pool_size as usize,
        }
    }

    /// The longest one send can take.
    pub fn send_timeout(&self) -> Duration {
        match &self.inner {
            Inner::File { .. } => Duration::from_secs(10),
            Inner::Smtp { timeout, .. } => *timeout,
        }
    }

    /// Sends one message. Sending the same row again sends the same `Message-ID` again (the
    /// file transport overwrites the same file).
    pub async fn send(&self, email: &NewEmail) -> Result<(), SendError> {
        let message = build(&self.from, email, SystemTime::now())
            .map_err(|e| SendError::Permanent(format!("{e:#}")))?;
        match &self.inner {
            Inner::File { dir } => write_eml(dir, &email.message_id, &message.formatted())
                .await
                .map_err(|e| SendError::Transient(format!("{e:#}"))),
            Inner::Smtp {
                transport, timeout, ..
            } => {
                let raw = message.formatted();
                let send = transport.send(message.envelope(), &raw);
                match tokio::time::timeout(*timeout, send).await {
                    Err(_) => Err(SendError::Transient(format!(
                        "no answer from the SMTP server within {} s",
                        timeout.as_secs()
                    ))),
                    Ok(r) => r,
                }
            }
        }
    }
}

fn tls_parameters(cfg: &SmtpConfig) -> anyhow::Result<TlsParameters> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem =
            std::fs::read(ca).with_context(|| format!("reading smtp.ca_file {}", ca.display()))?;
        let cert = Certificate::from_pem(&pem)
            .with_context(|| format!("smtp.ca_file {} is not a PEM certificate", ca.display()))?;
        // Only that CA: a private relay's certificate must not be trusted because some public
        // CA signed something with the same name, nor the other way round.
        b = b
            .certificate_store(CertificateStore::None)
            .add_root_certificate(cert);
    }
    b.build_rustls().context("setting up TLS for SMTP")
}

/// `text` with the local part of every email address replaced by `…`, for logs: SMTP replies
/// quote the recipient, and logs carry only its domain.
pub fn redact_addresses(text: &str) -> String {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r#"[^\s<>()\[\]"',;:=@]+@"#).expect("a valid literal regex")
    });
    re.replace_all(text, "…@").into_owned()
}

/// Every cause in the chain on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn classify_smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let text = error_chain(e);
    match e.status() {
        Some(code) => match code.to_string().parse::<u16>() {
            Ok(n) => classify_reply(n, text),
            Err(_) => SendError::Transient(text),
        },
        // Connection refused or reset, TLS handshake, timeouts, a closed pool: all transient.
        None => SendError::Transient(text),
    }
}

/// Writes `bytes` to `dir/<stem>.eml` atomically: a hidden temp file in the same directory,
/// flushed, then renamed over any earlier copy.
async fn write_eml(dir: &Path, message_id: &str, bytes: &[u8]) -> anyhow::Result<()> {
    use rand::Rng;
    use tokio::io::AsyncWriteExt;
    let stem = file_stem(message_id);
    let target = dir.join(format!("{stem}.eml"));
    let tmp = dir.join(format!(
        ".{stem}.{:08x}.tmp",
        rand::thread_rng().gen::<u32>()
    ));
    let write = async {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes).await.context("writing the message")?;
        f.sync_all().await.context("flushing the message")?;
        drop(f);
        tokio::fs::rename(&tmp, &target)
            .await
            .with_context(|| format!("renaming into {}", target.display()))?;
        // The rename is durable only once the directory is: the job is marked sent next.
        let d = tokio::fs::File::open(dir)
            .await
            .with_context(|| format!("opening {}", dir.display()))?;
        d.sync_all()
            .await
            .with_context(|| format!("flushing {}", dir.display()))
    };
    let r = write.await;
    if r.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn email(id: &str) -> NewEmail {
        NewEmail {
            message_id: id.to_string(),
            kind: "offer".into(),
            to: addr("interp1@agency.test"),
            subject: "Offer: Español→English — Cardiología".into(),
            text: "Plain body line\n".into(),
            html: "<p>HTML body</p>".into(),
            in_reply_to: None,
        }
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The header section, unfolded.
    fn headers(msg: &str) -> Vec<(String, String)> {
        let head = msg.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
        head.split("\r\n")
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect()
    }

    fn header(msg: &str, name: &str) -> Option<String> {
        headers(msg)
            .into_iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v)
    }

    #[test]
    fn message_has_stable_id_and_loop_headers_and_both_parts() {
        let from = addr("dispatch@agency.test");
        let e = email("offer.abc123@agency.test");
        let a = text(&build_message(&from, &e).unwrap());
        let b = text(&build_message(&from, &e).unwrap());
        for m in [&a, &b] {
            assert_eq!(
                header(m, "Message-ID").as_deref(),
                Some("<offer.abc123@agency.test>")
            );
        }
        assert_eq!(
            header(&a, "Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
        assert_eq!(
            header(&a, "X-Auto-Response-Suppress").as_deref(),
            Some("All")
        );
        assert_eq!(header(&a, "From").as_deref(), Some("dispatch@agency.test"));
        assert_eq!(header(&a, "To").as_deref(), Some("interp1@agency.test"));
        assert!(header(&a, "Date").is_some());
        assert!(header(&a, "In-Reply-To").is_none());
        assert!(header(&a, "Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"));
        assert!(a.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(a.contains("Content-Type: text/html; charset=utf-8"));
        assert!(a.contains("Plain body line"));
        assert!(a.contains("<p>HTML body</p>"));
        // Bodies and subjects never travel as raw 8-bit in the headers.
        let subject = header(&a, "Subject").unwrap();
        assert!(subject.is_ascii(), "{subject}");
        assert!(subject.contains("=?utf-8?"), "{subject}");
    }

    #[test]
    fn non_ascii_subject_round_trips() {
        let from = addr("dispatch@agency.test");
        let e = email("x@agency.test");
        let raw = build_message(&from, &e).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some(e.subject.as_str()));
        // Line ends travel as CRLF.
        assert_eq!(
            parsed.body_text(0).as_deref().map(str::trim_end),
            Some("Plain body line")
        );
        assert_eq!(parsed.body_html(0).as_deref(), Some("<p>HTML body</p>"));
    }

    #[test]
    fn replies_thread_and_say_auto_replied() {
        let from = addr("dispatch@agency.test");
        let mut e = email("received.1@agency.test");
        e.in_reply_to = Some("CAF00@mail.clinic.test".into());
        let m = text(&build_message(&from, &e).unwrap());
        assert_eq!(
            header(&m, "In-Reply-To").as_deref(),
            Some("<CAF00@mail.clinic.test>")
        );
        assert_eq!(
            header(&m, "References").as_deref(),
            Some("<CAF00@mail.clinic.test>")
        );
        assert_eq!(
            header(&m, "Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        // Already bracketed ids are not bracketed twice.
        e.in_reply_to = Some("<CAF00@mail.clinic.test>".into());
        let m = text(&build_message(&from, &e).unwrap());
        assert_eq!(
            header(&m, "In-Reply-To").as_deref(),
            Some("<CAF00@mail.clinic.test>")
        );
    }

    #[test]
    fn reply_codes_are_classified() {
        assert!(matches!(
            classify_reply(450, "busy".into()),
            SendError::Transient(_)
        ));
        assert!(matches!(
            classify_reply(421, "closing".into()),
            SendError::Transient(_)
        ));
        assert!(classify_reply(550, "no such user".into()).is_permanent());
        assert!(classify_reply(554, "rejected".into()).is_permanent());
        // Our own credentials are wrong: every message would fail alike; keep them.
        assert!(!classify_reply(535, "auth failed".into()).is_permanent());
        assert!(!classify_reply(530, "auth required".into()).is_permanent());
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        // Subjects carry meeting topics from untrusted invitations.
        let from = addr("dispatch@agency.test");
        let mut e = email("inj.1@agency.test");
        e.subject = "Offer: Hi\r\nBcc: evil@attacker.test\r\n\r\nbody".into();
        let m = text(&build_message(&from, &e).unwrap());
        let head = m.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.to_ascii_lowercase().contains("\r\nbcc:"),
            "header injected:\n{head}"
        );
        assert!(header(&m, "Bcc").is_none());

        // In-Reply-To comes from the requestor's own (untrusted) Message-ID.
        let mut e = email("inj.2@agency.test");
        e.in_reply_to = Some("abc@x>\r\nBcc: evil@attacker.test\r\nX-A: <y".into());
        let m = text(&build_message(&from, &e).unwrap());
        let head = m.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.to_ascii_lowercase().contains("\r\nbcc:"),
            "header injected:\n{head}"
        );
        assert!(header(&m, "In-Reply-To").is_none(), "{head}");
    }

    #[test]
    fn logged_errors_keep_only_the_domain() {
        assert_eq!(
            redact_addresses(
                "permanent: 550 5.1.1 <bounce@agency.test>: Recipient address rejected"
            ),
            "permanent: 550 5.1.1 <…@agency.test>: Recipient address rejected"
        );
        assert_eq!(
            redact_addresses("to=a.b+c@x.test, from=d@y.test"),
            "to=…@x.test, from=…@y.test"
        );
        assert_eq!(redact_addresses("no address here"), "no address here");
    }

    #[test]
    fn file_stems_are_safe_and_distinct() {
        assert_eq!(file_stem("offer.abc@agency.test"), "offer.abc@agency.test");
        let a = file_stem("../../etc/passwd@x");
        assert!(!a.contains('/'), "{a}");
        assert!(!a.starts_with('.'), "{a}");
        assert_ne!(file_stem("a/b@x"), file_stem("a_b@x"));
        assert_ne!(file_stem("a/b@x"), file_stem("a\\b@x"));
        assert!(file_stem(&"x".repeat(500)).len() < 140);
    }

    #[tokio::test]
    async fn file_transport_is_atomic_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("outbox/nested");
        let m = Mailer::file(&out, addr("dispatch@agency.test")).unwrap();
        let e = email("offer.same@agency.test");
        m.send(&e).await.unwrap();
        m.send(&e).await.unwrap();
        m.send(&email("offer.other@agency.test")).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|d| d.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["offer.other@agency.test.eml", "offer.same@agency.test.eml"]
        );
        let raw = std::fs::read(out.join("offer.same@agency.test.eml")).unwrap();
        let m = text(&raw);
        assert_eq!(
            header(&m, "Message-ID").as_deref(),
            Some("<offer.same@agency.test>")
        );
    }

    #[tokio::test]
    async fn smtp_refused_connection_is_transient() {
        // A port nothing listens on: bind, note the port, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            timeout_secs: 5,
        };
        let m = Mailer::smtp(&cfg, addr("dispatch@agency.test")).unwrap();
        let err = m.send(&email("x.1@agency.test")).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err}");
    }

    /// A minimal SMTP server that accepts every message and hangs up after `per_connection`
    /// messages on a connection (as a server closing an idle connection does). Returns its
    /// port and a counter of (connections, messages).
    async fn hanging_up_server(
        per_connection: usize,
    ) -> (u16, Arc<std::sync::Mutex<(usize, usize)>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new((0, 0)));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                counter.lock().unwrap().0 += 1;
                let counter = counter.clone();
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    w.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    let mut done = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                w.write_all(b"354 go on\r\n").await.unwrap();
                                loop {
                                    line.clear();
                                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                    if line == ".\r\n" {
                                        break;
                                    }
                                }
                                counter.lock().unwrap().1 += 1;
                                done += 1;
                                w.write_all(b"250 queued\r\n").await.unwrap();
                                if done >= per_connection {
                                    return; // hang up without a word
                                }
                                continue;
                            }
                            "QUIT" => return,
                            _ => b"250 ok\r\n",
                        };
                        w.write_all(answer).await.unwrap();
                    }
                });
            }
        });
        (port, seen)
    }

    fn plain(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            timeout_secs: 5,
        }
    }

    #[tokio::test]
    async fn smtp_connections_are_reused() {
        let (port, seen) = hanging_up_server(usize::MAX).await;
        let m = Mailer::smtp_pooled(&plain(port), addr("dispatch@agency.test"), 2).unwrap();
        for n in 0..5 {
            m.send(&email(&format!("reuse.{n}@agency.test")))
                .await
                .unwrap();
        }
        assert_eq!(
            *seen.lock().unwrap(),
            (1, 5),
            "one connection, five messages"
        );
    }

    #[tokio::test]
    async fn a_reused_connection_the_server_closed_is_replaced_once() {
        // The server hangs up after each message: every reuse finds a dead connection.
        let (port, seen) = hanging_up_server(1).await;
        let m = Mailer::smtp_pooled(&plain(port), addr("dispatch@agency.test"), 2).unwrap();
        for n in 0..3 {
            m.send(&email(&format!("closed.{n}@agency.test")))
                .await
                .unwrap_or_else(|e| panic!("send {n}: {e}"));
        }
        assert_eq!(*seen.lock().unwrap(), (3, 3));
    }

    #[tokio::test]
    async fn smtp_silent_server_times_out_as_transient() {
        // Accepts the connection and never says a word.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        let cfg = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            timeout_secs: 1,
        };
        let m = Mailer::smtp(&cfg, addr("dispatch@agency.test")).unwrap();
        let err = m.send(&email("x.2@agency.test")).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err}");
        hold.abort();
    }
}
