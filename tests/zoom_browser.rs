//! The join page in a real browser (issue #7): headless Chromium opens it with `[zoom] sdk_url`
//! pointing at a stub SDK served by this test, whose `ZoomMtg` records the `init` and `join`
//! arguments into the DOM; the test reads the DOM back (`--dump-dom`) and checks customerKey,
//! passWord, userName and signature are exactly what the server meant.
//!
//! Needs Debian's `chromium` (scripts/test installs it); without it the test fails saying how
//! to install it. Never sleeps: Chromium's `--dump-dom` returns once the page has loaded, and
//! the stub runs the SDK callbacks synchronously.

#[path = "http_support/mod.rs"]
mod support;

use std::time::Duration;

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use support::*;

/// The stub SDK: every `ZoomMtg` call the page makes, recorded as `<pre id="rec-NAME">JSON</pre>`.
const STUB_SDK: &str = r#"
(function () {
  function rec(name, value) {
    var p = document.createElement("pre");
    p.id = "rec-" + name;
    p.textContent = JSON.stringify(value);
    document.body.appendChild(p);
  }
  function plain(o) {
    var c = {};
    Object.keys(o).forEach(function (k) { if (typeof o[k] !== "function") { c[k] = o[k]; } });
    return c;
  }
  window.ZoomMtg = {
    setZoomJSLib: function (lib, av) { rec("setZoomJSLib", [lib, av]); },
    preLoadWasm: function () { rec("preLoadWasm", true); },
    prepareWebSDK: function () { rec("prepareWebSDK", true); },
    i18n: { load: function (lang) { rec("i18n", lang); } },
    init: function (o) { rec("init", plain(o)); o.success({}); },
    join: function (o) { rec("join", plain(o)); o.success({}); }
  };
})();
"#;

async fn stub_file(Path(path): Path<String>) -> impl IntoResponse {
    let body = if path.ends_with("zoom-meeting-6.2.0.min.js") {
        STUB_SDK
    } else {
        "/* vendor stub */"
    };
    ([(header::CONTENT_TYPE, "text/javascript")], body)
}

fn chromium() -> std::path::PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = std::path::Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed for this test and was not found on PATH. Install it with \
         `apt-get install -y chromium chromium-driver` (scripts/test does this when run as root)"
    )
}

fn recorded(dom: &str, name: &str) -> serde_json::Value {
    let open = format!("<pre id=\"rec-{name}\">");
    let start = dom
        .find(&open)
        .unwrap_or_else(|| panic!("the stub never saw ZoomMtg.{name}; DOM:\n{dom}"))
        + open.len();
    let end = start + dom[start..].find("</pre>").expect("closed <pre>");
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

#[tokio::test]
async fn chromium_joins_with_exactly_the_arguments_the_server_meant() {
    let browser = chromium();
    let stub = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind stub");
    let stub_addr = stub.local_addr().expect("stub addr");
    let stub_server = tokio::spawn(async move {
        let app = Router::new().route("/{*path}", get(stub_file));
        axum::serve(stub, app).await
    });
    let sdk_url = format!("http://{stub_addr}/zoom/6.2.0/lib");
    let app = spawn_app_with(|c| c.zoom.sdk_url = sdk_url.clone()).await;

    let accepted = accept_first_offer(&app, "Browser story").await;
    let join_url = accepted.join_url.clone();
    // What the server put in the page (the clock does not move, so the JWT is the same).
    let meant = zoom_join_json(&open_join_page(&app, &join_url).await);

    let profile = tempfile::tempdir().expect("profile dir");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(&join_url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium finished within 60 s")
    .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "Chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        recorded(&dom, "setZoomJSLib"),
        serde_json::json!([sdk_url, "/av"])
    );
    let init = recorded(&dom, "init");
    assert_eq!(init["leaveUrl"], format!("{}/left", app.base));
    let join = recorded(&dom, "join");
    for key in [
        "customerKey",
        "passWord",
        "userName",
        "signature",
        "meetingNumber",
    ] {
        assert_eq!(join[key], meant[key], "{key}");
    }
    assert_eq!(join["passWord"], PASSCODE);
    assert_eq!(join["userName"], "Ana0 1 (Spanish Interpreter)");
    assert_eq!(join["meetingNumber"], MEETING_ID);
    let key = join["customerKey"].as_str().expect("customerKey");
    assert!(
        (8..=35).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{key}"
    );
    assert_eq!(
        join["signature"]
            .as_str()
            .expect("signature")
            .split('.')
            .count(),
        3,
        "a JWT"
    );
    assert!(
        dom.contains("You are in the meeting."),
        "the page reports success"
    );
    app.stop().await;
    stub_server.abort();
}
