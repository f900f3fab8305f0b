//! Connecting a Zoom user (OAuth authorization code): `GET /oauth/zoom/start?link=…` shows
//! what will happen (GET changes nothing: mail scanners open every link), its `POST` stores a
//! random single-use `state` and sends the browser to Zoom, `GET /oauth/zoom/callback` takes
//! the state back (single use, expiring, and the same browser: a cookie holds it), exchanges
//! the code and stores the tokens sealed (`zoom::connect`).
//!
//! Never logs or shows a code, state, link or token; errors are shown in plain words.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Deserialize;

use super::{html, pages, AppState, PLAIN_CSP};
use crate::store::ZoomPerson;
use crate::zoom::connect::{ConnectError, ZoomOAuth};
use crate::zoom::oauth::{verify_connect_link, STATE_TTL};

/// The cookie that ties the callback to the browser that started.
const COOKIE: &str = "dragoman_zoom_oauth";

#[derive(Deserialize)]
pub struct LinkParams {
    #[serde(default)]
    link: String,
}

#[derive(Deserialize)]
pub struct CallbackParams {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

fn oauth(state: &AppState) -> Option<ZoomOAuth> {
    let cfg = state.config.zoom.oauth.as_ref()?;
    Some(ZoomOAuth::new(cfg, &state.config.http.public_url))
}

fn not_configured() -> Response {
    html(
        StatusCode::NOT_FOUND,
        PLAIN_CSP,
        pages::message(
            "Zoom connections are off",
            "This server does not connect Zoom accounts.",
            "Your coordinator can turn it on ([zoom] oauth_client_id, oauth_client_secret, token_key_file).",
        ),
    )
}

fn who(person: &ZoomPerson) -> &'static str {
    match person {
        ZoomPerson::Requestor(_) => "so that your interpreters can join your meetings",
        ZoomPerson::Interpreter(_) => "so that you join meetings as your own Zoom user",
    }
}

fn refused(e: &ConnectError) -> Response {
    let (status, title, next) = match e {
        ConnectError::Link(_) | ConnectError::UnknownState => (
            StatusCode::BAD_REQUEST,
            "This link cannot be used",
            "Ask your coordinator for a new connect link.",
        ),
        ConnectError::Api(_) => (
            StatusCode::BAD_GATEWAY,
            "Zoom did not complete the connection",
            "Try again in a few minutes from your connect link.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again in a minute",
            "Nothing was connected. Try again from your connect link.",
        ),
    };
    html(
        status,
        PLAIN_CSP,
        pages::message(title, &e.to_string(), next),
    )
}

/// `GET /oauth/zoom/start?link=…`: what connecting does, and a button that does it.
pub async fn start_page(State(state): State<AppState>, Query(p): Query<LinkParams>) -> Response {
    let Some(oauth) = oauth(&state) else {
        return not_configured();
    };
    let person = match verify_connect_link(oauth.key(), &p.link, state.now()) {
        Ok(person) => person,
        Err(e) => return refused(&ConnectError::Link(e)),
    };
    let body = format!(
        "<main>\n<h1>Connect your Zoom account</h1>\n\
         <p>dragoman will ask Zoom for permission to act for your Zoom user {why}. You can \
         remove it at any time in Zoom's App Marketplace (Manage → Added Apps).</p>\n\
         <form method=\"post\" action=\"/oauth/zoom/start\">\
         <input type=\"hidden\" name=\"link\" value=\"{link}\">\
         <button class=\"primary\" type=\"submit\">Continue to Zoom</button></form>\n</main>",
        why = text(who(&person)),
        link = attr(&p.link),
    );
    html(
        StatusCode::OK,
        PLAIN_CSP,
        pages::layout("Connect your Zoom account", &body),
    )
}

/// `POST /oauth/zoom/start`: a fresh state (stored hashed), a cookie holding it, and 303 to
/// Zoom's authorize URL.
pub async fn start(State(state): State<AppState>, Form(p): Form<LinkParams>) -> Response {
    let Some(oauth) = oauth(&state) else {
        return not_configured();
    };
    let store = state.offers.store();
    match oauth.start(store.as_ref(), &p.link, state.now()).await {
        Ok((st, url)) => {
            tracing::info!("Zoom authorization started");
            let secure = if state.config.http.public_url.starts_with("https:") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{COOKIE}={}; Path=/oauth/zoom; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
                st.expose(),
                STATE_TTL.num_seconds()
            );
            let mut res = StatusCode::SEE_OTHER.into_response();
            let h = res.headers_mut();
            if let (Ok(loc), Ok(c)) = (
                HeaderValue::from_str(url.as_str()),
                HeaderValue::from_str(&cookie),
            ) {
                h.insert(header::LOCATION, loc);
                h.insert(header::SET_COOKIE, c);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::warn!(error = %e, "Zoom authorization not started");
            refused(&e)
        }
    }
}

fn cookie_state(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// `GET /oauth/zoom/callback?code=…&state=…`: Zoom sends the browser back here.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    let Some(oauth) = oauth(&state) else {
        return not_configured();
    };
    let clear = format!("{COOKIE}=; Path=/oauth/zoom; Max-Age=0; HttpOnly; SameSite=Lax");
    let with_clear = |mut res: Response| {
        if let Ok(v) = HeaderValue::from_str(&clear) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        res
    };
    if p.error.is_some() {
        return with_clear(html(
            StatusCode::OK,
            PLAIN_CSP,
            pages::message(
                "Not connected",
                "Zoom says the permission was not given, so nothing was connected.",
                "If that was a mistake, start again from your connect link.",
            ),
        ));
    }
    let (Some(code), Some(st)) = (p.code, p.state) else {
        return with_clear(refused(&ConnectError::UnknownState));
    };
    // The browser that started must be the one finishing (no one else's state).
    let same_browser = cookie_state(&headers)
        .map(|c| crate::zoom::webhook::constant_time_eq(&c, &st))
        .unwrap_or(false);
    if !same_browser {
        tracing::warn!("Zoom OAuth callback without the matching cookie: refused");
        return with_clear(refused(&ConnectError::UnknownState));
    }
    let store = state.offers.store();
    match oauth.finish(store.as_ref(), &st, &code, state.now()).await {
        Ok(c) => {
            tracing::info!(person = c.person.kind(), "Zoom user connected");
            with_clear(html(
                StatusCode::OK,
                PLAIN_CSP,
                pages::message(
                    "Zoom account connected",
                    "dragoman can now use your Zoom user for meetings.",
                    "You can close this page.",
                ),
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "Zoom OAuth callback failed");
            with_clear(refused(&e))
        }
    }
}

/// How often the reconciliation step looks for ended meetings.
pub const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The reconciliation step (`zoom::reconcile::reconcile_due`) every [`RECONCILE_EVERY`] while
/// the server runs, when Zoom users can be connected. Reads the clock through `state`.
pub async fn reconcile_loop(state: AppState) {
    let Some(oauth) = oauth(&state) else {
        return;
    };
    let after = chrono::Duration::minutes(state.config.zoom.reconcile_after_minutes);
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = state.offers.store();
        match crate::zoom::reconcile::reconcile_due(store.as_ref(), &oauth, after, state.now())
            .await
        {
            Ok(r) if r.meetings + r.failed > 0 => tracing::info!(
                meetings = r.meetings,
                failed = r.failed,
                added = r.merged.added,
                "Zoom report reconciliation step"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Zoom report reconciliation step could not run"),
        }
    }
}
