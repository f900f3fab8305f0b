//! The join page: loads the Zoom Meeting SDK for Web (Client View) from `[zoom] sdk_url` and
//! calls `ZoomMtg.join` with a server-made signature, the typed passcode, the interpreter's
//! display name and the assignment's customerKey. In demo mode (no SDK credentials) it shows
//! what it would pass instead.
//!
//! The mode is the requestor's own (`[[requestors.preference]] join_mode`) or `[zoom]
//! join_mode`. In `zak` / `obf` mode with the needed Zoom user connected, the ZAK or OBF token is fetched
//! from Zoom for each page view and passed as `zak` / `obfToken`; otherwise the page follows
//! `[zoom] join_fallback`. The join arguments travel as escaped JSON in `<script
//! type="application/json" id="zoom-join">`. The Content-Security-Policy allows the SDK's origin and Zoom, and our one
//! static script by hash. Never logs the passcode, signature, token or join URL.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{failure, html, pages, AppState, PLAIN_CSP};
use crate::config::{JoinMode, DEFAULT_SDK_VERSION};
use crate::store::JoinView;
use crate::zoom::connect::{connected, JoinToken, ZoomOAuth};
use crate::zoom::join_mode::{resolve, Configured};
use crate::zoom::sdk_signature;

/// The value of `signature` in demo mode.
pub const DEMO_SIGNATURE: &str = "demo-mode-unsigned";

/// Where the SDK's files are, derived from `[zoom] sdk_url`.
///
/// Zoom's CDN layout is `{base}/{version}/lib/vendor/*.min.js` for the dependencies and
/// `{base}/zoom-meeting-{version}.min.js` for Client View, with `sdk_url = {base}/{version}/lib`.
/// A self-hosted copy laid out differently is read as `{sdk_url}/vendor/…` and
/// `{sdk_url}/zoom-meeting-{default version}.min.js`.
#[derive(Debug, Clone, PartialEq)]
pub struct SdkAssets {
    /// The `lib` directory (`ZoomMtg.setZoomJSLib`).
    pub lib: String,
    /// The scripts, in load order.
    pub scripts: Vec<String>,
    /// `scheme://host[:port]` of `lib`, for the CSP.
    pub origin: String,
    pub version: String,
}

impl SdkAssets {
    pub fn from_sdk_url(sdk_url: &str) -> SdkAssets {
        let lib = sdk_url.trim_end_matches('/').to_string();
        let (base, version) = lib
            .strip_suffix("/lib")
            .and_then(|rest| rest.rsplit_once('/'))
            .filter(|(_, v)| {
                !v.is_empty()
                    && v.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(base, v)| (base.to_string(), v.to_string()))
            .unwrap_or_else(|| (lib.clone(), DEFAULT_SDK_VERSION.to_string()));
        let mut scripts: Vec<String> = [
            "react.min.js",
            "react-dom.min.js",
            "redux.min.js",
            "redux-thunk.min.js",
            "lodash.min.js",
        ]
        .iter()
        .map(|f| format!("{lib}/vendor/{f}"))
        .collect();
        scripts.push(format!("{base}/zoom-meeting-{version}.min.js"));
        let origin = match lib.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
                format!("{scheme}://{host}")
            }
            None => "'self'".to_string(),
        };
        SdkAssets {
            lib,
            scripts,
            origin,
            version,
        }
    }
}

/// The CSP source for the page's one inline script.
fn script_hash() -> String {
    let digest = Sha256::digest(pages::JOIN_SCRIPT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Only what the Client View SDK needs: its own origin (scripts, workers, wasm, CSS, fonts,
/// sounds), Zoom's servers (HTTPS and WebSocket, zoom.us and zoomgov.com), blob: workers, and
/// WebAssembly compilation. Zoom documents `'unsafe-eval'` as required by its web SDKs.
pub fn join_csp(assets: &SdkAssets) -> String {
    let o = &assets.origin;
    let zoom = "https://zoom.us https://*.zoom.us https://*.zoomgov.com";
    format!(
        "default-src 'none'; base-uri 'none'; object-src 'none'; form-action 'self'; \
         frame-ancestors 'none'; \
         script-src {hash} {o} {zoom} 'unsafe-eval' 'wasm-unsafe-eval' blob:; \
         worker-src 'self' blob: {o}; \
         connect-src 'self' {o} {zoom} wss://*.zoom.us wss://*.zoomgov.com; \
         style-src 'self' 'unsafe-inline' {o}; \
         img-src 'self' data: blob: {o} {zoom}; \
         media-src 'self' blob: {o} {zoom}; \
         font-src 'self' data: {o}; \
         frame-src {zoom}",
        hash = script_hash(),
    )
}

/// `GET /join/{token}`.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now();
    let view = match state.offers.join(&token, now).await {
        Ok(Some(v)) => v,
        Ok(None) => return html(StatusCode::GONE, PLAIN_CSP, pages::gone_join()),
        Err(e) => return failure("showing a join page", e),
    };
    let zoom = &state.config.zoom;
    let meeting = &view.request.meeting;
    let topic = meeting.topic.as_deref().unwrap_or("Zoom meeting");
    let user_name = view.interpreter.display_name(&view.request.pair.from);
    tracing::info!(
        assignment_id = view.assignment_id,
        request_id = view.request.id,
        demo = zoom.demo_mode(),
        "join page"
    );
    let Some(meeting_number) = meeting.meeting_id.as_deref() else {
        // A personal link (`/my/name`) has no number for the SDK: the plain link is all we have.
        return html(
            StatusCode::OK,
            PLAIN_CSP,
            pages::join_by_link(topic, &meeting.join_url, &user_name),
        );
    };
    // `obf`/`zak` need a connected Zoom user (and its token, fetched now: they last 2 h);
    // without one they fall back to `[zoom] join_fallback`.
    let (mode, join_token) = join_mode_now(&state, &view, meeting_number, now).await;
    if mode == JoinMode::Link {
        return html(
            StatusCode::OK,
            PLAIN_CSP,
            pages::join_by_link(topic, &meeting.join_url, &user_name),
        );
    }
    let signature = match (&zoom.sdk_key, &zoom.sdk_secret) {
        (Some(key), Some(secret)) => match sdk_signature(key, secret, meeting_number, 0, now) {
            Ok(s) => Some(s),
            Err(e) => return failure("signing a join", e),
        },
        _ => None,
    };
    let mut args = json!({
        "meetingNumber": meeting_number,
        "passWord": meeting.passcode.as_deref().unwrap_or(""),
        "userName": user_name,
        "customerKey": view.customer_key.as_str(),
        "signature": signature.as_deref().unwrap_or(DEMO_SIGNATURE),
    });
    match &join_token {
        Some(JoinToken::Zak(t)) => args["zak"] = json!(t.expose()),
        Some(JoinToken::Obf(t)) => args["obfToken"] = json!(t.expose()),
        None => {}
    }
    if signature.is_none() {
        return html(StatusCode::OK, PLAIN_CSP, pages::join_demo(topic, &args));
    }
    let assets = SdkAssets::from_sdk_url(&zoom.sdk_url);
    let page_args = json!({
        "leaveUrl": format!("{}/left", state.config.http.public_url),
        "libUrl": assets.lib,
    });
    let body = pages::join(&pages::JoinPage {
        topic,
        user_name: &user_name,
        join_args: &args,
        page_args: &page_args,
        scripts: &assets.scripts,
    });
    html(StatusCode::OK, &join_csp(&assets), body)
}

/// The join mode for this page view, and the ZAK / OBF token it needs: the configured mode
/// when the Zoom user it needs is connected and Zoom gives the token now, else
/// `[zoom] join_fallback` (logged with the reason; never the token).
async fn join_mode_now(
    state: &AppState,
    view: &JoinView,
    meeting_number: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> (JoinMode, Option<JoinToken>) {
    let zoom = &state.config.zoom;
    let requestor = &view.request.requestor;
    // The requestor's own mode (`[[requestors.preference]] join_mode`), else `[zoom] join_mode`.
    let configured = Configured::for_requestor(zoom.join_mode, &state.config.requestors, requestor);
    let Some(cfg) = zoom.oauth.as_ref() else {
        return (
            resolve(&configured, zoom.join_fallback, false, false).mode,
            None,
        );
    };
    let store = state.offers.store();
    let interpreter = view.interpreter.id;
    let (r, i) = match connected(store.as_ref(), requestor, interpreter).await {
        Ok(facts) => facts,
        Err(e) => {
            tracing::warn!(assignment_id = view.assignment_id, error = %e, "join page: cannot read Zoom connections; falling back");
            (false, false)
        }
    };
    let resolved = resolve(&configured, zoom.join_fallback, r, i);
    if !matches!(resolved.mode, JoinMode::Zak | JoinMode::Obf) {
        return (resolved.mode, None);
    }
    let oauth = ZoomOAuth::new(cfg, &state.config.http.public_url);
    match oauth
        .join_token(
            store.as_ref(),
            resolved.mode,
            requestor,
            interpreter,
            meeting_number,
            now,
        )
        .await
    {
        Ok(Some(t)) => (resolved.mode, Some(t)),
        Ok(None) => {
            tracing::warn!(
                assignment_id = view.assignment_id,
                mode = resolved.mode.as_str(),
                "join page: the Zoom user was disconnected; falling back"
            );
            (zoom.join_fallback, None)
        }
        Err(e) => {
            tracing::warn!(assignment_id = view.assignment_id, mode = resolved.mode.as_str(), error = %e, "join page: no ZAK/OBF token from Zoom; falling back");
            (zoom.join_fallback, None)
        }
    }
}

/// `GET /left`: where the SDK sends the interpreter after leaving.
pub async fn left() -> Response {
    html(StatusCode::OK, PLAIN_CSP, pages::left())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_cdn_layout() {
        let a = SdkAssets::from_sdk_url("https://source.zoom.us/6.2.0/lib");
        assert_eq!(a.version, "6.2.0");
        assert_eq!(a.lib, "https://source.zoom.us/6.2.0/lib");
        assert_eq!(a.origin, "https://source.zoom.us");
        assert_eq!(
            a.scripts,
            vec![
                "https://source.zoom.us/6.2.0/lib/vendor/react.min.js",
                "https://source.zoom.us/6.2.0/lib/vendor/react-dom.min.js",
                "https://source.zoom.us/6.2.0/lib/vendor/redux.min.js",
                "https://source.zoom.us/6.2.0/lib/vendor/redux-thunk.min.js",
                "https://source.zoom.us/6.2.0/lib/vendor/lodash.min.js",
                "https://source.zoom.us/zoom-meeting-6.2.0.min.js",
            ]
        );
    }

    #[test]
    fn self_hosted_layouts() {
        let a = SdkAssets::from_sdk_url("http://127.0.0.1:9000/zoom/6.2.0/lib/");
        assert_eq!(a.version, "6.2.0");
        assert_eq!(a.origin, "http://127.0.0.1:9000");
        assert_eq!(
            a.scripts[5],
            "http://127.0.0.1:9000/zoom/zoom-meeting-6.2.0.min.js"
        );
        let b = SdkAssets::from_sdk_url("https://static.example/zoomsdk");
        assert_eq!(b.version, DEFAULT_SDK_VERSION);
        assert_eq!(
            b.scripts[0],
            "https://static.example/zoomsdk/vendor/react.min.js"
        );
        assert_eq!(
            b.scripts[5],
            format!("https://static.example/zoomsdk/zoom-meeting-{DEFAULT_SDK_VERSION}.min.js")
        );
    }

    #[test]
    fn csp_allows_the_sdk_origin_and_our_script_only() {
        let csp = join_csp(&SdkAssets::from_sdk_url("https://source.zoom.us/6.2.0/lib"));
        assert!(csp.contains("default-src 'none'"));
        assert!(csp.contains("script-src 'sha256-"));
        assert!(csp.contains("https://source.zoom.us"));
        assert!(csp.contains("wss://*.zoom.us"));
        assert!(!csp.contains("'unsafe-inline' https://source.zoom.us https://zoom.us"));
        assert!(!csp.contains("script-src 'unsafe-inline'"));
    }
}
