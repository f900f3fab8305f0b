//! `POST /zoom/webhook`: Zoom's event notifications.
//!
//! Verifies the signature and timestamp on the raw bytes before parsing anything (401 with a
//! short reason otherwise), answers `endpoint.url_validation`, records participant events
//! through the store (idempotent: Zoom's retries are answered 200 and change nothing), and
//! acknowledges everything else with 200. Answers 5xx only when the database is unavailable,
//! so that Zoom retries; never 4xx for a verified event. Never logs the body or the secret.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::store::{ParticipantEventKind, StoreError, WebhookOutcome};
use crate::zoom::webhook::{parse_event, url_validation_response, verify, WebhookEvent};

/// Zoom waits 3 s for an answer; leave room for the network.
const STORE_DEADLINE: Duration = Duration::from_millis(2500);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = state.now();
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
    let event = match parse_event(&body, request_id) {
        Ok(ev) => ev,
        Err(e) => {
            if let Some(m) = metrics {
                m.webhook_event("not_understood");
            }
            // Verified, so it is Zoom's: a 4xx would make Zoom drop it silently and never
            // retry, and retrying would not help either. Acknowledge and say so.
            tracing::warn!(reason = %e, request_id, "verified Zoom webhook not understood");
            return StatusCode::OK.into_response();
        }
    };
    if let Some(m) = metrics {
        // A fixed vocabulary: event names from the body never become label values.
        m.webhook_event(match &event {
            WebhookEvent::UrlValidation { .. } => "url_validation",
            WebhookEvent::Participant(p) => match p.kind {
                ParticipantEventKind::Joined => "participant_joined",
                ParticipantEventKind::Left => "participant_left",
            },
            WebhookEvent::Ignored(_) => "ignored",
        });
    }
    match event {
        WebhookEvent::UrlValidation { plain_token } => {
            tracing::info!(request_id, "Zoom endpoint URL validation answered");
            (
                StatusCode::OK,
                Json(url_validation_response(secret, &plain_token)),
            )
                .into_response()
        }
        WebhookEvent::Ignored(name) => {
            tracing::debug!(event = %name, request_id, "Zoom webhook acknowledged, not recorded");
            StatusCode::OK.into_response()
        }
        WebhookEvent::Participant(ev) => {
            let store = state.offers.store();
            let recorded =
                tokio::time::timeout(STORE_DEADLINE, store.record_participant_event(&ev, now))
                    .await;
            match recorded {
                Ok(Ok(WebhookOutcome::Recorded(method))) => {
                    tracing::info!(
                        request_id,
                        meeting_id = %ev.meeting_id,
                        kind = ?ev.kind,
                        method = method.as_str(),
                        "Zoom participant event recorded"
                    );
                    StatusCode::OK.into_response()
                }
                Ok(Ok(WebhookOutcome::Duplicate)) => {
                    tracing::info!(request_id, "Zoom participant event already recorded");
                    StatusCode::OK.into_response()
                }
                Ok(Err(StoreError::Unavailable(e))) => {
                    tracing::warn!(request_id, error = %e, "database unavailable: asking Zoom to retry");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "database unavailable, retry later",
                    )
                        .into_response()
                }
                Ok(Err(e)) => {
                    tracing::error!(request_id, error = %e, "Zoom participant event could not be recorded");
                    StatusCode::OK.into_response()
                }
                Err(_) => {
                    tracing::warn!(
                        request_id,
                        "database too slow for Zoom's deadline: asking Zoom to retry"
                    );
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "database busy, retry later",
                    )
                        .into_response()
                }
            }
        }
    }
}
