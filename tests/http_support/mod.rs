//! Shared by the HTTP tests: runs the real app (router + SQLite store) on port 0 with a
//! clock the test controls, and seeds interpreters and a request with offers the way ingest
//! does (`Offers::plan_request` + `Store::record_ingest`).
//!
//! Never sleeps; never talks to anything but the app it started.
#![allow(dead_code)]

#[path = "../common/mod.rs"]
pub mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dragoman::config::{Config, Secret};
use dragoman::domain::{
    EmailAddress, InterpreterId, LanguagePair, Meeting, NewInterpreter, RequestId,
};
use dragoman::http::{serve, AppState};
use dragoman::offers::Offers;
use dragoman::outbox::templates::Templates;
use dragoman::store::{IngestDecision, IngestOutcome, IngestedMessage, NewRequest, Store};
use dragoman::zoom::intake::IntakeSlot;

pub const SDK_KEY: &str = "test-sdk-key";
pub const SDK_SECRET: &str = "test-sdk-secret";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const MEETING_ID: &str = "81234567890";
pub const PASSCODE: &str = "a1B2c3";

pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub offers: Arc<Offers>,
    pub client: reqwest::Client,
    /// The app's webhook intake (processing happens after the 200: see `webhooks_settled`).
    pub webhooks: IntakeSlot,
    clock: Arc<AtomicI64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.load(Ordering::SeqCst)).expect("valid time")
    }

    /// Moves the app's clock (never sleeps).
    pub fn advance(&self, by: Duration) {
        self.clock
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Waits until every webhook event acknowledged so far has been processed (processing
    /// runs after the 200, on the intake's worker). Waits on the worker, never sleeps.
    pub async fn webhooks_settled(&self) {
        self.webhooks.settled().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server and waits for it to finish (graceful shutdown).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task panicked")
                .expect("server failed");
        }
    }
}

/// Starts the app on a fresh SQLite file, with SDK credentials (live join page) unless `demo`.
pub async fn spawn_app(demo: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/db", dir.path().display());
    spawn_app_on(dir, &url, demo).await
}

/// Starts the app on a fresh PostgreSQL database (from `TEST_DATABASE_URL`; fails saying how
/// to start a server when there is none). Drop it with `common::drop_postgres` after `stop`.
pub async fn spawn_app_postgres() -> (TestApp, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = common::fresh_postgres_url().await;
    (spawn_app_on(dir, &url, false).await, url)
}

/// Like [`spawn_app_postgres`] with the configuration changed by `tweak`.
pub async fn spawn_app_postgres_with(tweak: impl FnOnce(&mut Config)) -> (TestApp, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = common::fresh_postgres_url().await;
    (spawn_app_tweaked(dir, &url, false, tweak).await, url)
}

/// Like [`spawn_app`] (live join page, SQLite) with the configuration changed by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/db", dir.path().display());
    spawn_app_tweaked(dir, &url, false, tweak).await
}

async fn spawn_app_on(dir: tempfile::TempDir, db_url: &str, demo: bool) -> TestApp {
    spawn_app_tweaked(dir, db_url, demo, |_| {}).await
}

async fn spawn_app_tweaked(
    dir: tempfile::TempDir,
    db_url: &str,
    demo: bool,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let base = format!("http://{addr}");

    let mut config = Config::embedded(dir.path());
    config.http.public_url = base.clone();
    config.database.url = db_url.to_string();
    if !demo {
        config.zoom.sdk_key = Some(SDK_KEY.into());
        config.zoom.sdk_secret = Some(Secret::new(SDK_SECRET));
    }
    config.zoom.webhook_secret = Some(Secret::new(WEBHOOK_SECRET));
    tweak(&mut config);

    let store = dragoman::store::connect(&config.database.url)
        .await
        .expect("the store opens");
    store.migrate().await.expect("migrations apply");
    let templates = Arc::new(Templates::load(None).expect("built-in templates load"));
    let offers = Arc::new(Offers::new(store.clone(), templates, &config));

    let clock = Arc::new(AtomicI64::new(Utc::now().timestamp_millis()));
    let c = clock.clone();
    let state = AppState {
        offers: offers.clone(),
        config: Arc::new(config),
        clock: Arc::new(move || {
            DateTime::from_timestamp_millis(c.load(Ordering::SeqCst)).expect("valid time")
        }),
        ops: None,
        webhooks: IntakeSlot::default(),
        live: None,
    };
    let webhooks = state.webhooks.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client");
    TestApp {
        base,
        store,
        offers,
        client,
        webhooks,
        clock,
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
    }
}

/// Adds `n` online es→en interpreters; returns their ids.
pub async fn seed_interpreters(app: &TestApp, n: usize) -> Vec<InterpreterId> {
    let now = app.now();
    let mut ids = Vec::new();
    for i in 0..n {
        let new = NewInterpreter {
            name: format!("Ana{i} María Ruiz"),
            email: EmailAddress::parse(&format!("ana{i}@interpreters.test")).expect("email"),
            pairs: vec![LanguagePair::parse("es:en").expect("pair")],
            timezone: "America/New_York".into(),
        };
        let added = app
            .store
            .add_interpreter(&new, now)
            .await
            .expect("add interpreter");
        app.store
            .set_presence(added.id, Some(now + Duration::hours(4)))
            .await
            .expect("set presence");
        ids.push(added.id);
    }
    ids
}

/// Records a request for an es→en meeting starting in an hour, with one offer per online
/// interpreter. Returns the request id and each interpreter's raw offer token (read from the
/// offer email, as the interpreter would).
pub async fn seed_request(
    app: &TestApp,
    topic: &str,
) -> (RequestId, HashMap<InterpreterId, String>) {
    let now = app.now();
    let meeting = Meeting {
        meeting_id: Some(MEETING_ID.into()),
        passcode: Some(PASSCODE.into()),
        join_url: format!("https://us02web.zoom.us/j/{MEETING_ID}?pwd=secretPwd.1"),
        host: "us02web.zoom.us".into(),
        kind: "meeting".into(),
        topic: Some(topic.into()),
        start: Some(now + Duration::hours(1)),
        timezone: Some("America/New_York".into()),
    };
    let request = NewRequest {
        meeting,
        pair: LanguagePair::parse("es:en").expect("pair"),
        requestor: EmailAddress::parse("dr.ruiz@clinic.example").expect("email"),
        route_address: "es-en@agency.test".into(),
        calendar: None,
    };
    let decision = app
        .offers
        .plan_request(request, now)
        .await
        .expect("plan request");
    let IngestDecision::Request { offers, .. } = &decision else {
        panic!("plan_request did not make a request")
    };
    let re = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})").expect("regex");
    let tokens: HashMap<InterpreterId, String> = offers
        .iter()
        .map(|o| {
            let token = re
                .captures(&o.email.text)
                .expect("the offer email holds the offer link")[1]
                .to_string();
            (o.interpreter_id, token)
        })
        .collect();
    let message = IngestedMessage {
        mailbox: "spool".into(),
        source_key: format!("test-{}", topic.len()),
        message_id: None,
        sha256: "0".repeat(64),
    };
    let outcome = app
        .store
        .record_ingest(&message, &decision, now)
        .await
        .expect("record ingest");
    let IngestOutcome::Created(request_id) = outcome else {
        panic!("request not created: {outcome:?}")
    };
    (request_id, tokens)
}

/// The JSON inside `<script type="application/json" id="zoom-join">`.
pub fn zoom_join_json(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"zoom-join\">";
    let start = html.find(open).expect("the page has #zoom-join") + open.len();
    let end = start
        + html[start..]
            .find("</script>")
            .expect("#zoom-join is closed");
    serde_json::from_str(&html[start..end]).expect("#zoom-join holds JSON")
}

/// Zoom's signature header for `body` at `ts`.
pub fn zoom_sign(ts: i64, body: &str) -> String {
    dragoman::zoom::webhook::sign(
        &Secret::new(WEBHOOK_SECRET),
        &ts.to_string(),
        body.as_bytes(),
    )
}

/// Sends every later wave of `request_id` (driving the matching timer step forward in time,
/// as the daemon's loop would) until everyone eligible holds an offer; returns each
/// interpreter's raw offer token from the offer emails in the outbox, wave 1's included.
pub async fn offer_everyone(
    app: &TestApp,
    first_wave: &HashMap<InterpreterId, String>,
) -> HashMap<InterpreterId, String> {
    let re = regex::Regex::new(r"/offer/([A-Za-z0-9]{32})").expect("regex");
    let mut tokens = first_wave.clone();
    let mut at = app.now();
    // Never past the start (an hour ahead): the close timer would end the request.
    for _ in 0..4 {
        at += Duration::minutes(11);
        let step = app.offers.dispatch_step(at).await.expect("dispatch step");
        let jobs = app
            .store
            .claim_outbox(at + Duration::days(1), at + Duration::days(2), 10_000)
            .await
            .expect("claim outbox");
        for job in jobs {
            if job.email.kind != "offer" {
                continue;
            }
            let who = app
                .store
                .find_interpreter(job.email.to.as_str())
                .await
                .expect("find")
                .expect("an interpreter");
            let token = re.captures(&job.email.text).expect("offer link")[1].to_string();
            tokens.insert(who.id, token);
        }
        if step.offers == 0 {
            break;
        }
    }
    tokens
}

// ---- webhook and join-page tests (issue #7): an accepted offer, its join page, signed posts --

/// An offer accepted over HTTP, as the interpreter holds it afterwards.
pub struct Accepted {
    pub request_id: RequestId,
    pub interpreter: InterpreterId,
    /// The interpreter's raw offer token.
    pub token: String,
    /// The join page the accept led to.
    pub join_url: String,
}

/// Seeds one online interpreter and a request on `topic` (offer emailed to them) and accepts
/// the offer over HTTP (303). Does not open the join page (it may ask Zoom for tokens).
pub async fn accept_first_offer(app: &TestApp, topic: &str) -> Accepted {
    let ids = seed_interpreters(app, 1).await;
    let (request_id, tokens) = seed_request(app, topic).await;
    let token = tokens[&ids[0]].clone();
    let res = app
        .client
        .post(app.url(&format!("/offer/{token}/accept")))
        .send()
        .await
        .expect("accept");
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let join_url = app
        .offers
        .accepted_join_url(&token)
        .await
        .expect("join url")
        .expect("accepted");
    Accepted {
        request_id,
        interpreter: ids[0],
        token,
        join_url,
    }
}

/// The join page at `url` (its HTML).
pub async fn open_join_page(app: &TestApp, url: &str) -> String {
    app.client
        .get(url)
        .send()
        .await
        .expect("join page")
        .text()
        .await
        .expect("html")
}

/// [`accept_first_offer`], then the join page: the accepted offer and the arguments the page
/// hands to Zoom (`#zoom-join`: `customerKey`, `userName`, …).
pub async fn accept_and_join(app: &TestApp, topic: &str) -> (Accepted, serde_json::Value) {
    let accepted = accept_first_offer(app, topic).await;
    let args = zoom_join_json(&open_join_page(app, &accepted.join_url).await);
    (accepted, args)
}

/// Posts `body` to `{base}/zoom/webhook` signed as Zoom does at `ts` (Unix seconds), with
/// `x-zm-request-id` when given. `Err` when the request got no answer.
pub async fn post_signed(
    client: &reqwest::Client,
    base: &str,
    ts: i64,
    body: &str,
    request_id: Option<&str>,
) -> reqwest::Result<reqwest::StatusCode> {
    let mut req = client
        .post(format!("{base}/zoom/webhook"))
        .header("content-type", "application/json")
        .header("x-zm-request-timestamp", ts.to_string())
        .header("x-zm-signature", zoom_sign(ts, body))
        .body(body.to_string());
    if let Some(id) = request_id {
        req = req.header("x-zm-request-id", id);
    }
    Ok(req.send().await?.status())
}

/// The meeting instance (`uuid`) of [`participant_joined`].
pub const MEETING_UUID: &str = "4444AAAiAAAAAiAiAiiAii==";

/// `meeting.participant_joined` of participant `n` (`participant_uuid` `pu-{n}`, Zoom user
/// `16000000 + n`) with `customer_key` at `at`, in meeting [`MEETING_ID`] / [`MEETING_UUID`],
/// as Zoom sends it.
pub fn participant_joined(n: usize, at: DateTime<Utc>, customer_key: &str) -> String {
    let t = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({"event": "meeting.participant_joined", "event_ts": at.timestamp_millis(),
        "payload": {"account_id": "AAAAAABBBB", "object": {
            "id": MEETING_ID, "uuid": MEETING_UUID, "host_id": "x1yCzABCDEfg23HiJKl4mN",
            "topic": "Webhooks", "type": 2, "start_time": t, "timezone": "UTC", "duration": 60,
            "participant": {"user_id": format!("{}", 16_000_000 + n), "user_name": "Guest",
                "id": "", "participant_uuid": format!("pu-{n}"), "join_time": t,
                "email": "", "customer_key": customer_key}}}})
    .to_string()
}

/// Rows of a read-only `sql` on the database at `url` (SQLite or PostgreSQL): for checks on
/// tables the `Store` has no reader for.
pub async fn read_rows<T>(url: &str, sql: &str) -> Vec<T>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_as(sql).fetch_all(&mut c).await.expect(sql)
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_as(sql).fetch_all(&mut c).await.expect(sql)
    }
}

impl TestApp {
    /// Posts a webhook signed at the app's clock; the answer (processing may still follow).
    pub async fn post_webhook(&self, body: &str, request_id: Option<&str>) -> reqwest::StatusCode {
        let ts = self.now().timestamp();
        post_signed(&self.client, &self.base, ts, body, request_id)
            .await
            .expect("webhook POST")
    }

    /// [`TestApp::post_webhook`], then waits until it (and everything before it) is processed.
    pub async fn post_webhook_processed(
        &self,
        body: &str,
        request_id: Option<&str>,
    ) -> reqwest::StatusCode {
        let status = self.post_webhook(body, request_id).await;
        self.webhooks_settled().await;
        status
    }
}
