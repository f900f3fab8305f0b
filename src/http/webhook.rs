//! `POST /zoom/webhook`: Zoom's event notifications, durable first, processed after.
//!
//! Verifies the signature and timestamp on the raw bytes before parsing anything (401 with a
//! short reason otherwise), reads the body once, and answers `endpoint.url_validation`. Every
//! other verified event is handed to the intake (`zoom::intake`), which inserts it raw into
//! the store (`zoom_events`, unique by dedupe key) in the next group commit; only after that
//! commit is it acknowledged with 200. Processing (attribution, attendance) happens after, on
//! the intake's worker, never on the request path; the retry step ([`retry_loop`]) covers what
//! that did not finish. Retries of a stored event are 200 and change nothing. 503 only when the
//! insert could not be made within [`STORE_DEADLINE`] (database down or too slow, or shutting
//! down), so that Zoom retries; never 4xx for a verified event, never 5xx for one that can
//! never be processed. Never logs the body or the secret; per-event lines are `debug`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::zoom::events::{self, drain_pending, Received};
use crate::zoom::intake::Recorded;
use crate::zoom::webhook::{url_validation_response, verify};

/// Zoom waits 3 s for an answer; leave room for the network. The wait for the group commit
/// stays within it.
const STORE_DEADLINE: Duration = Duration::from_millis(2500);

/// How often the retry step looks for stored events whose processing failed.
pub const RETRY_EVERY: Duration = Duration::from_secs(60);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The metric label for a verified event's name: a fixed vocabulary, so names from the body
/// never become label values.
fn event_type_label(event: &str) -> &'static str {
    match event {
        "meeting.participant_joined" => "participant_joined",
        "meeting.participant_jbh_joined" => "participant_jbh_joined",
        "meeting.participant_left" => "participant_left",
        "meeting.started" => "meeting_started",
        "meeting.ended" => "meeting_ended",
        _ => "other",
    }
}

fn retry_later(why: &'static str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = state.now();
    let started = tokio::time::Instant::now();
    let request_id = header(&headers, "x-zm-request-id");
    let metrics = state.ops.as_ref().map(|o| &o.metrics);
    let Some(secret) = state.config.zoom.webhook_secret.as_ref() else {
        if let Some(m) = metrics {
            m.webhook_verification_failures.inc();
        }
        tracing::error!("Zoom webhook received but [zoom] webhook_secret is not set: refused");
        return (
            StatusCode::UNAUTHORIZED,
            "webhook secret not configured on this server",
        )
            .into_response();
    };
    if let Err(e) = verify(
        secret,
        header(&headers, "x-zm-signature"),
        header(&headers, "x-zm-request-timestamp"),
        &body,
        now,
    ) {
        if let Some(m) = metrics {
            m.webhook_verification_failures.inc();
        }
        tracing::warn!(reason = %e, request_id, "Zoom webhook refused");
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let (new, action) = match events::receive(&body, request_id) {
        Ok(Received::UrlValidation { plain_token }) => {
            if let Some(m) = metrics {
                m.webhook_event("url_validation");
            }
            tracing::info!(request_id, "Zoom endpoint URL validation answered");
            return (
                StatusCode::OK,
                Json(url_validation_response(secret, &plain_token)),
            )
                .into_response();
        }
        Ok(Received::Event { new, action }) => (new, action),
        Err(e) => {
            if let Some(m) = metrics {
                m.webhook_event("not_understood");
            }
            // Verified, so it is Zoom's: a 4xx would make Zoom drop it silently and a retry
            // would not help either. Acknowledge and say so.
            tracing::warn!(reason = %e, request_id, "verified Zoom webhook not understood");
            return StatusCode::OK.into_response();
        }
    };
    if let Some(m) = metrics {
        m.webhook_event(event_type_label(&new.event));
    }
    let event = event_type_label(&new.event);
    let left = STORE_DEADLINE.saturating_sub(started.elapsed());
    let recorded = tokio::time::timeout(left, state.webhooks().record(new, action, now)).await;
    match recorded {
        Ok(Recorded::Stored(id)) => {
            // Stored: processing follows on the intake's worker. Per event, so `debug`.
            tracing::debug!(request_id, zoom_event = id, event, "Zoom event stored");
            StatusCode::OK.into_response()
        }
        Ok(Recorded::Duplicate) => {
            tracing::debug!(request_id, event, "Zoom event already stored (a retry)");
            StatusCode::OK.into_response()
        }
        Ok(Recorded::Unavailable(e)) => {
            tracing::warn!(request_id, error = %e, "database unavailable: asking Zoom to retry");
            retry_later("database unavailable, retry later")
        }
        Ok(Recorded::Failed(e)) => {
            // Not a retryable condition (a bug or a corrupt row): retrying would fail the same.
            tracing::error!(request_id, event, error = %e, "Zoom event could not be stored");
            StatusCode::OK.into_response()
        }
        Ok(Recorded::Stopped) => {
            tracing::warn!(request_id, "shutting down: asking Zoom to retry");
            retry_later("shutting down, retry later")
        }
        Err(_) => {
            tracing::warn!(
                request_id,
                "database too slow for Zoom's deadline: asking Zoom to retry"
            );
            retry_later("database busy, retry later")
        }
    }
}

/// The retry step, every [`RETRY_EVERY`], until the task is dropped: stored events whose
/// processing failed are processed again. Reads the clock through `state`.
pub async fn retry_loop(state: AppState) {
    // Not at once: the intake's worker works off what an earlier run left when it starts.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + RETRY_EVERY, RETRY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = state.offers.store();
        match drain_pending(store.as_ref(), state.now()).await {
            Ok(r) if r.processed + r.failed > 0 => {
                tracing::info!(
                    processed = r.processed,
                    failed = r.failed,
                    "Zoom event retry step"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Zoom event retry step could not read the store"),
        }
    }
}
