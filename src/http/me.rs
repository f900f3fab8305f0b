//! The interpreter's own page (issue #5), reached from an offer page or offer email:
//! `GET /offer/{token}/me` shows their name and presence with forms to go online for a few
//! hours or offline; `POST /offer/{token}/me` changes presence and answers 303 back to the GET.
//!
//! The credential is the offer token (random, only its SHA-256 in the store), good until
//! `[api] own_page_hours` after its offer's expiry; an unknown or older token gets a 404 page.
//! CSRF: as for accept/decline, the unguessable token in the path is the credential, so no
//! other site can build the form, and the CSP limits form targets to this origin. Never changes
//! state on GET (mail scanners open every link); never logs the token.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{failure, html, pages, pages_me, AppState, PLAIN_CSP};
use crate::domain::Interpreter;
use crate::store::StoreError;

/// The "online for N hours" buttons; a POST for any other number is refused.
pub const HOUR_CHOICES: &[i64] = &[1, 2, 4, 8];

fn gone() -> Response {
    html(StatusCode::NOT_FOUND, PLAIN_CSP, pages_me::own_page_gone())
}

/// The interpreter holding `token`, when the token is known and still opens this page at
/// `now`; `Ok(None)` otherwise.
async fn holder(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(i64, Interpreter)>> {
    let Some(view) = state.offers.view(token).await? else {
        return Ok(None);
    };
    let valid_until = view.expires_at + Duration::hours(state.config.api.own_page_hours);
    Ok((now < valid_until).then_some((view.offer_id, view.interpreter)))
}

/// `GET /offer/{token}/me`: name, presence and the forms. Changes nothing.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now();
    match holder(&state, &token, now).await {
        Ok(Some((offer_id, i))) => {
            tracing::info!(offer_id, interpreter_id = i.id, "own page");
            html(
                StatusCode::OK,
                PLAIN_CSP,
                pages_me::own_page(&i, &token, now, HOUR_CHOICES),
            )
        }
        Ok(None) => gone(),
        Err(e) => failure("showing an interpreter's own page", e),
    }
}

/// What the page's forms post.
#[derive(Debug, Deserialize)]
pub struct PresenceForm {
    /// `online` or `offline`.
    presence: String,
    /// For `online`: one of [`HOUR_CHOICES`].
    hours: Option<i64>,
}

/// The lease a form asks for: `Some(Some(until))` online, `Some(None)` offline, `None` when the
/// form is not one of the page's buttons.
fn requested_until(form: &PresenceForm, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
    match (form.presence.as_str(), form.hours) {
        ("offline", _) => Some(None),
        ("online", Some(h)) if HOUR_CHOICES.contains(&h) => Some(Some(now + Duration::hours(h))),
        _ => None,
    }
}

/// `POST /offer/{token}/me`: sets presence, then 303 to the GET.
pub async fn update(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<PresenceForm>, FormRejection>,
) -> Response {
    let now = state.now();
    let (offer_id, interpreter) = match holder(&state, &token, now).await {
        Ok(Some(h)) => h,
        Ok(None) => return gone(),
        Err(e) => return failure("changing presence from the own page", e),
    };
    let Some(until) = form.ok().and_then(|Form(f)| requested_until(&f, now)) else {
        return html(
            StatusCode::BAD_REQUEST,
            PLAIN_CSP,
            pages_me::own_page_bad_form(HOUR_CHOICES),
        );
    };
    match state
        .offers
        .store()
        .set_presence(interpreter.id, until)
        .await
    {
        Ok(_) => {
            tracing::info!(
                offer_id,
                interpreter_id = interpreter.id,
                online = until.is_some(),
                "presence set from the own page"
            );
            // The token passed `Token::parse` (32 ASCII letters and digits) to be found, so
            // the header value is always valid.
            let mut res = html(
                StatusCode::SEE_OTHER,
                PLAIN_CSP,
                pages::message(
                    "Saved",
                    "Your availability was saved.",
                    "Your browser should show your page again now.",
                ),
            );
            match HeaderValue::from_str(&format!("/offer/{token}/me")) {
                Ok(v) => {
                    res.headers_mut().insert(header::LOCATION, v);
                    res
                }
                Err(_) => gone(),
            }
        }
        Err(StoreError::NotFound(_)) => gone(),
        Err(e) => failure("changing presence from the own page", e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(presence: &str, hours: Option<i64>) -> PresenceForm {
        PresenceForm {
            presence: presence.into(),
            hours,
        }
    }

    #[test]
    fn only_the_pages_buttons_change_presence() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        assert_eq!(
            requested_until(&form("online", Some(4)), now),
            Some(Some(now + Duration::hours(4)))
        );
        assert_eq!(requested_until(&form("offline", None), now), Some(None));
        assert_eq!(requested_until(&form("online", Some(3)), now), None);
        assert_eq!(requested_until(&form("online", Some(-1)), now), None);
        assert_eq!(requested_until(&form("online", None), now), None);
        assert_eq!(requested_until(&form("away", Some(1)), now), None);
    }
}
