//! Offer pages: show an offer (GET, read-only), accept and decline (POST), and the page after
//! an accept with the join link.
//!
//! Accept answers 303 to the winner (every time), 409 to everyone else, 410 to unknown or
//! expired tokens; the decision is `Offers::accept`'s, made in one store transaction. Never
//! changes state on GET; never logs the token or the join URL.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::{failure, html, pages, AppState, PLAIN_CSP};
use crate::domain::{OfferState, RequestState};
use crate::offers::AcceptResult;
use crate::store::DeclineOutcome;

fn gone() -> Response {
    html(StatusCode::GONE, PLAIN_CSP, pages::gone())
}

/// `GET /offer/{token}`: the offer, with Accept and Decline forms. Changes nothing.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now();
    let view = match state.offers.view(&token).await {
        Ok(Some(v)) => v,
        Ok(None) => return gone(),
        Err(e) => return failure("showing an offer", e),
    };
    tracing::info!(
        offer_id = view.offer_id,
        request_id = view.request.id,
        state = %view.state,
        "offer page"
    );
    match view.state {
        OfferState::Pending
            if view.expires_at > now
                && matches!(
                    view.request.state,
                    RequestState::Open | RequestState::Offered
                ) =>
        {
            html(StatusCode::OK, PLAIN_CSP, pages::offer(&view, &token))
        }
        // Still pending, but the request moved on (assigned, cancelled, unfilled, done).
        OfferState::Pending if view.expires_at > now => {
            html(StatusCode::GONE, PLAIN_CSP, pages::taken())
        }
        OfferState::Accepted => match state.offers.accepted_join_url(&token).await {
            Ok(Some(url)) => html(
                StatusCode::OK,
                PLAIN_CSP,
                pages::accepted(Some(&view), &url),
            ),
            Ok(None) => gone(),
            Err(e) => failure("showing an accepted offer", e),
        },
        OfferState::Superseded => html(StatusCode::GONE, PLAIN_CSP, pages::taken()),
        OfferState::Declined => html(StatusCode::GONE, PLAIN_CSP, pages::declined()),
        OfferState::Pending | OfferState::Expired => gone(),
    }
}

/// `POST /offer/{token}/accept`: 303 to the accepted page for the winner, 409 for the others.
pub async fn accept(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now();
    // Read first, only to name the offer in the logs (the token never is).
    let (offer_id, request_id, requested_at) = match state.offers.view(&token).await {
        Ok(Some(v)) => (v.offer_id, v.request.id, v.request.created_at),
        Ok(None) => return gone(),
        Err(e) => return failure("accepting an offer", e),
    };
    match state.offers.accept(&token, now).await {
        Ok(AcceptResult::Accepted { first_time, .. }) => {
            tracing::info!(offer_id, request_id, first_time, "offer accepted");
            if let (true, Some(ops)) = (first_time, &state.ops) {
                let waited = (now - requested_at).num_milliseconds().max(0) as f64 / 1000.0;
                ops.metrics.time_to_fill.observe(waited);
            }
            // The token is 32 ASCII letters and digits (Offers::accept parsed it), so the
            // header value is always valid.
            let location = format!("/offer/{token}/accepted");
            let mut res = html(
                StatusCode::SEE_OTHER,
                PLAIN_CSP,
                pages::message(
                    "Accepted",
                    "You have this assignment.",
                    "Your browser should show the join link now.",
                ),
            );
            match HeaderValue::from_str(&location) {
                Ok(v) => {
                    res.headers_mut().insert(header::LOCATION, v);
                    res
                }
                Err(_) => gone(),
            }
        }
        Ok(AcceptResult::Taken) => {
            tracing::info!(offer_id, request_id, "accept refused: taken");
            html(StatusCode::CONFLICT, PLAIN_CSP, pages::taken())
        }
        Ok(AcceptResult::Gone) => {
            tracing::info!(
                offer_id,
                request_id,
                "accept refused: offer expired or declined"
            );
            gone()
        }
        Err(e) => failure("accepting an offer", e),
    }
}

/// `GET /offer/{token}/accepted`: the join link, for the holder of the winning offer only.
pub async fn accepted(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let view = match state.offers.view(&token).await {
        Ok(Some(v)) => v,
        Ok(None) => return gone(),
        Err(e) => return failure("showing an accepted offer", e),
    };
    match state.offers.accepted_join_url(&token).await {
        Ok(Some(url)) if view.state == OfferState::Accepted => {
            tracing::info!(
                offer_id = view.offer_id,
                request_id = view.request.id,
                "accepted page"
            );
            html(
                StatusCode::OK,
                PLAIN_CSP,
                pages::accepted(Some(&view), &url),
            )
        }
        Ok(_) => html(StatusCode::NOT_FOUND, PLAIN_CSP, pages::not_accepted()),
        Err(e) => failure("showing an accepted offer", e),
    }
}

/// `POST /offer/{token}/decline`: 200 (also when repeated), 410 when no longer pending.
pub async fn decline(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now();
    match state.offers.decline(&token, now).await {
        Ok(DeclineOutcome::Declined) => {
            tracing::info!("offer declined");
            html(StatusCode::OK, PLAIN_CSP, pages::declined())
        }
        Ok(DeclineOutcome::AlreadyDeclined) => html(StatusCode::OK, PLAIN_CSP, pages::declined()),
        Ok(DeclineOutcome::Gone) => gone(),
        Err(e) => failure("declining an offer", e),
    }
}
