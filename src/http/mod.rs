//! The HTTP face of dragoman (axum): offer pages, accept/decline, the join page and Zoom's
//! webhook receiver. Handlers are thin: they read the clock from `AppState`, call `offers`,
//! `zoom` or the store, and render small escaped HTML pages.
//!
//! Never changes state on GET (mail scanners open every link). Never logs tokens, passcodes,
//! join URLs, signatures, webhook bodies or secrets: spans carry the route template, never the
//! path. axum is used here and nowhere else.

mod join;
mod offer;
mod pages;
mod webhook;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::offers::Offers;
use crate::store::StoreError;

/// The largest request body accepted (Zoom's webhook bodies are a few KiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub offers: Arc<Offers>,
    pub config: Arc<Config>,
    /// The only clock handlers read; tests inject a fixed or movable one.
    pub clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl AppState {
    /// State with the system clock.
    pub fn new(offers: Arc<Offers>, config: Arc<Config>) -> AppState {
        AppState {
            offers,
            config,
            clock: Arc::new(Utc::now),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// Every route dragoman serves.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/offer/{token}", get(offer::page))
        .route("/offer/{token}/accept", post(offer::accept))
        .route("/offer/{token}/accepted", get(offer::accepted))
        .route("/offer/{token}/decline", post(offer::decline))
        .route("/join/{token}", get(join::page))
        .route("/left", get(join::left))
        .route("/zoom/webhook", post(webhook::receive))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
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
        .with_state(state)
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
    // The webhook receiver's retry step lives as long as the server.
    let retries = tokio::spawn(webhook::retry_loop(state.clone()));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .with_context(|| format!("serving HTTP on {addr}"));
    retries.abort();
    served
}

async fn healthz() -> &'static str {
    "ok"
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
