//! The HTTP face of dragoman (axum): offer pages, accept/decline, the join page, Zoom's
//! webhook receiver, the interpreter's own page (`me`), the presence API under `/api/v1`
//! (`api`, bearer tokens), and the operator's `/healthz`, `/readyz` and `/metrics`. Handlers are thin: they read the clock from `AppState`, call `offers`,
//! `zoom` or the store, and render small escaped HTML pages.
//!
//! Never changes state on GET (mail scanners open every link). Never logs tokens, passcodes,
//! join URLs, signatures, webhook bodies or secrets: spans carry the route template, never the
//! path (metrics too are labelled by route template). Every response carries the security
//! headers; token routes are rate-limited per client. axum is used here and nowhere else.

pub mod api;
mod join;
pub mod limits;
mod me;

mod oauth;
mod offer;
mod pages;
mod pages_me;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, State};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::offers::Offers;
use crate::ops::reload::Live;
use crate::ops::Ops;
use crate::store::StoreError;

/// The largest request body accepted (Zoom's webhook bodies are a few KiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A request not answered within this gets 408 (handlers have shorter deadlines of their own).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `/readyz` and `/metrics` wait for the database.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(3);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub offers: Arc<Offers>,
    pub config: Arc<Config>,
    /// The only clock handlers read; tests inject a fixed or movable one.
    pub clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Metrics, heartbeats and mailbox contacts of the running daemon; `None` in tests and the
    /// demo (then `/metrics` is 404 and `/readyz` checks the database only).
    pub ops: Option<Arc<Ops>>,
    /// The webhook receiver's group-commit writer and processing worker, shared by all
    /// clones; started by `serve` (or the first webhook).
    pub webhooks: crate::zoom::intake::IntakeSlot,
    /// The daemon's reloadable configuration (SIGHUP). When set, every request sees the
    /// snapshot current when it arrives (`offers` with its templates, `config` with its
    /// routes and requestors) instead of the two fields above; `None` in tests and the demo.
    pub live: Option<Arc<Live>>,
}

impl AppState {
    /// State with the system clock.
    pub fn new(offers: Arc<Offers>, config: Arc<Config>) -> AppState {
        AppState {
            offers,
            config,
            clock: Arc::new(Utc::now),
            ops: None,
            webhooks: Default::default(),
            live: None,
        }
    }

    /// Serves each request with the snapshot of `live` current when it arrives.
    pub fn with_live(mut self, live: Arc<Live>) -> AppState {
        self.live = Some(live);
        self
    }

    /// This state with the live snapshot's `offers` and `config` (itself without one).
    pub fn current(&self) -> AppState {
        let mut state = self.clone();
        if let Some(live) = &self.live {
            let snapshot = live.current();
            state.offers = snapshot.offers.clone();
            state.config = snapshot.config.clone();
        }
        state
    }

    /// Records metrics into, and reports readiness from, `ops`.
    pub fn with_ops(mut self, ops: Arc<Ops>) -> AppState {
        self.ops = Some(ops);
        self
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The webhook intake, started on first use with this state's store and clock.
    pub(crate) fn webhooks(&self) -> &crate::zoom::intake::Intake {
        self.webhooks
            .get_or_start(|| (self.offers.store().clone(), self.clock.clone()))
    }
}

/// The router's state: the `AppState` the server started with. A handler's `State<AppState>`
/// is made from it per request ([`AppState::current`]), so a SIGHUP reaches the next request
/// on every connection, keep-alive ones included, and one request sees one snapshot.
#[derive(Clone)]
pub struct Served(AppState);

impl FromRef<Served> for AppState {
    fn from_ref(served: &Served) -> AppState {
        served.0.current()
    }
}

/// Every route dragoman serves, with the layers every response goes through.
pub fn router(state: AppState) -> Router {
    let limiter = Arc::new(limits::RateLimiter::default());
    let metrics_state = state.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/offer/{token}", get(offer::page))
        .route("/offer/{token}/accept", post(offer::accept))
        .route("/offer/{token}/accepted", get(offer::accepted))
        .route("/offer/{token}/decline", post(offer::decline))
        .route("/join/{token}", get(join::page))
        .route("/left", get(join::left))
        .route("/zoom/webhook", post(webhook::receive))
        // ---- issue #5: the interpreter's own page and the presence API ----
        .route("/offer/{token}/me", get(me::page).post(me::update))
        .merge(api::routes())
        // ---- end issue #5 ----
        // ---- zoom oauth (issue #7): connecting a Zoom user ----
        .route(
            "/oauth/zoom/start",
            get(oauth::start_page).post(oauth::start),
        )
        .route("/oauth/zoom/callback", get(oauth::callback))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(move |req, next| {
            limits::limit(limiter.clone(), req, next)
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            track(metrics_state.clone(), req, next)
        }))
        .layer(
            // The span names the route template only: paths carry capability tokens.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".into());
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
        .fallback(not_found)
        // Outermost, so 404s, 408s, 413s and 429s carry them too. Pages set their own (the
        // same values); these only fill in what a response lacks.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(Served(state))
}

/// Records each request's latency by method, route template and status.
async fn track(
    state: AppState,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(ops) = state.ops.clone() else {
        return next.run(req).await;
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    ops.metrics
        .http_request(&method, &route, res.status().as_u16(), start.elapsed());
    res
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then lets requests in
/// flight finish. The Zoom event retry step runs alongside and stops with the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the HTTP listener's address")?;
    tracing::info!(%addr, "HTTP server listening");
    // The webhook intake starts now, so that what an earlier run stored and did not process
    // is worked off at once; its retry step lives as long as the server.
    state.webhooks();
    let retries = tokio::spawn(webhook::retry_loop(state.clone()));
    // ---- zoom oauth (issue #7): participant reports merged after meetings end ----
    let reconcile = tokio::spawn(oauth::reconcile_loop(state.clone()));
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .with_context(|| format!("serving HTTP on {addr}"));
    retries.abort();
    reconcile.abort();
    served
}

/// The process is alive and answers HTTP.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready to do its job: the database answers and every mailbox was read recently. 503 with the
/// reasons otherwise (mailbox names only: no paths, hosts or errors with secrets).
async fn readyz(State(state): State<AppState>) -> Response {
    let mut problems = Vec::new();
    match tokio::time::timeout(PROBE_DEADLINE, state.offers.store().ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            problems.push("database unreachable".to_string());
        }
        Err(_) => problems.push(format!(
            "database did not answer within {}s",
            PROBE_DEADLINE.as_secs()
        )),
    }
    if let Some(ops) = &state.ops {
        for m in ops.unready_mailboxes(Instant::now()) {
            problems.push(format!("mailbox {m} not read recently"));
        }
    }
    let mut res = if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_string()).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", problems.join("; ")),
        )
            .into_response()
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Prometheus metrics (OpenMetrics text). The database gauges are read now; when the database
/// does not answer they keep their last values and `dragoman_database_up` is 0.
async fn metrics(State(state): State<AppState>) -> Response {
    let Some(ops) = state.ops.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are served by `dragoman run` only\n",
        )
            .into_response();
    };
    let now = state.now();
    let status = match tokio::time::timeout(PROBE_DEADLINE, state.offers.store().status(now)).await
    {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: cannot read the database counts");
            None
        }
        Err(_) => None,
    };
    let body = ops.render_metrics(status.as_ref());
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::ops::metrics::CONTENT_TYPE),
    );
    res
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        PLAIN_CSP,
        pages::message(
            "Not found",
            "There is nothing at this address.",
            "Check that the link from your email was copied completely.",
        ),
    )
}

/// The policy for pages without scripts.
pub(crate) const PLAIN_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML response with the headers every page gets. Pages live under capability tokens, so
/// nothing is cached and no Referer leaks the token to other sites.
pub(crate) fn html(status: StatusCode, csp: &str, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    match HeaderValue::from_str(csp) {
        Ok(v) => {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        Err(_) => {
            // A policy built from a configured URL with odd characters: fall back to the
            // strictest one rather than none.
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PLAIN_CSP),
            );
        }
    }
    res
}

/// True when the error comes from a database that is down (worth retrying later).
pub(crate) fn store_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<StoreError>(),
            Some(StoreError::Unavailable(_))
        )
    })
}

/// The page for a failure we log here, once: 503 when the database is down, 500 otherwise.
pub(crate) fn failure(what: &str, e: anyhow::Error) -> Response {
    if store_unavailable(&e) {
        tracing::warn!(error = %format!("{e:#}"), "{what}: database unavailable");
        let mut res = html(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN_CSP,
            pages::message(
                "Please try again in a minute",
                "dragoman cannot reach its database right now.",
                "Reload this page in a minute. Nothing was changed.",
            ),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        res
    } else {
        tracing::error!(error = %format!("{e:#}"), "{what} failed");
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            PLAIN_CSP,
            pages::message(
                "Something went wrong",
                "dragoman could not finish this request. The problem has been logged.",
                "Try again in a few minutes; if it keeps happening, tell your coordinator.",
            ),
        )
    }
}
