//! The HTML pages, as small functions over already-decided data. Every value that comes from
//! outside (topics, names, tokens, URLs) is escaped here with `html-escape`.
//!
//! Never decides anything and never does I/O; never renders a Zoom join URL or passcode on
//! an offer page.

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::Value;

use crate::outbox::templates::local_time;
use crate::store::OfferView;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}\
h1{font-size:1.5rem}dt{font-weight:600}dd{margin:0 0 .6rem 0}\
form{display:inline-block;margin:.5rem 1rem .5rem 0}\
button{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:1px solid #555;cursor:pointer}\
button.primary{background:#0b5cff;color:#fff;border-color:#0b5cff}\
.next{background:#f3f5f8;padding:.8rem 1rem;border-radius:.4rem}\
.error{position:fixed;top:0;left:0;right:0;z-index:2147483647;background:#fff3f3;\
border-bottom:2px solid #c00;padding:1rem;margin:0}\
code,pre{background:#f3f5f8;padding:.1rem .3rem;border-radius:.2rem;word-break:break-all;white-space:pre-wrap}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}";

/// The page skeleton. `body` is trusted HTML built by this module; `title` is escaped.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} · dragoman</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        text(title)
    )
}

/// A page that says what happened and what to do next.
pub fn message(title: &str, what: &str, next: &str) -> String {
    layout(
        title,
        &format!(
            "<main>\n<h1>{}</h1>\n<p>{}</p>\n<p class=\"next\">{}</p>\n</main>",
            text(title),
            text(what),
            text(next)
        ),
    )
}

fn when(start: Option<DateTime<Utc>>, tz: &str) -> String {
    match start {
        Some(s) => local_time(s, tz),
        None => "No fixed time: the meeting may already be running".into(),
    }
}

fn details(view: &OfferView) -> String {
    let r = &view.request;
    let tz = &view.interpreter.timezone;
    let topic = r.meeting.topic.as_deref().unwrap_or("Zoom meeting");
    format!(
        "<dl>\n<dt>Meeting</dt><dd>{}</dd>\n<dt>Languages</dt><dd>{} → {}</dd>\n\
         <dt>When</dt><dd>{}</dd>\n</dl>",
        text(topic),
        text(&r.pair.from.english_name()),
        text(&r.pair.to.english_name()),
        text(&when(r.meeting.start, tz)),
    )
}

/// The offer page: what, which languages, when, and the two forms. No join URL, no passcode.
pub fn offer(view: &OfferView, token: &str) -> String {
    let tz = &view.interpreter.timezone;
    layout(
        "Interpreting request",
        &format!(
            "<main>\n<h1>Can you interpret this meeting, {name}?</h1>\n{details}\n\
             <p>This offer is open until {until}. The first interpreter to accept gets the \
             assignment; you will see the join link right away and also receive it by email.</p>\n\
             <form method=\"post\" action=\"/offer/{t}/accept\"><button class=\"primary\" type=\"submit\">Accept</button></form>\n\
             <form method=\"post\" action=\"/offer/{t}/decline\"><button type=\"submit\">Decline</button></form>\n\
             <p class=\"next\">Accepting commits you to join at the time above. If you cannot, \
             decline so the request goes to someone else sooner.</p>\n\
             <p><a href=\"/offer/{t}/me\">Your availability: go online or offline</a></p>\n</main>",
            name = text(view.interpreter.first_name()),
            details = details(view),
            until = text(&local_time(view.expires_at, tz)),
            t = attr(token),
        ),
    )
}

/// The page for the interpreter who holds the assignment: the join link.
pub fn accepted(view: Option<&OfferView>, join_url: &str) -> String {
    let details = view.map(details).unwrap_or_default();
    layout(
        "You have this assignment",
        &format!(
            "<main>\n<h1>You have this assignment</h1>\n{details}\n\
             <p>Join the meeting with this link:</p>\n\
             <p><a href=\"{href}\">{label}</a></p>\n\
             <p class=\"next\">We have also emailed you this link. Open it a few minutes before \
             the start, in Chrome, Edge, Firefox or Safari, and allow the microphone. It puts you \
             in the meeting under your interpreter name, so the agency can see that you joined.</p>\n</main>",
            href = attr(join_url),
            label = text(join_url),
        ),
    )
}

pub fn taken() -> String {
    message(
        "This request has been taken by another interpreter",
        "This request has been taken by another interpreter, or it was closed.",
        "Nothing else to do: thank you for answering. New requests will reach you by email.",
    )
}

pub fn gone() -> String {
    message(
        "This link is no longer valid",
        "This offer has expired, was declined, or the link is not one we sent.",
        "Offers close when someone accepts, when the meeting starts, or after a while. \
         Watch your email for new requests; if you think this is a mistake, contact your coordinator.",
    )
}

pub fn declined() -> String {
    message(
        "Declined, thank you",
        "You declined this request. We will not offer it to you again.",
        "Nothing else to do. New requests will reach you by email.",
    )
}

pub fn not_accepted() -> String {
    message(
        "This offer has not been accepted from this link",
        "There is no assignment behind this link.",
        "Open the offer link from your email to see whether the request is still open.",
    )
}

pub fn gone_join() -> String {
    message(
        "This join link is no longer valid",
        "This join link has expired, or it is not one we sent.",
        "If you still have this assignment, open the newest confirmation email; otherwise contact your coordinator.",
    )
}

/// For meetings the SDK cannot join (personal links, `join_mode = "link"`): the Zoom link
/// itself, for the assigned interpreter only, and the display name to type.
/// Only http(s) URLs become links; anything else (a hostile invitation) links nowhere.
fn safe_href(url: &str) -> &str {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        url
    } else {
        "#"
    }
}

pub fn join_by_link(topic: &str, zoom_url: &str, user_name: &str) -> String {
    layout(
        &format!("Joining {topic}"),
        &format!(
            "<main>\n<h1>Join “{topic}”</h1>\n\
             <p>Open the meeting in Zoom with this link:</p>\n\
             <p><a href=\"{href}\" rel=\"noreferrer\">{label}</a></p>\n\
             <p>When Zoom asks for your name, type exactly:</p>\n<p><code>{name}</code></p>\n\
             <p class=\"next\">The agency recognises you in the meeting by this name, so please \
             do not change it.</p>\n</main>",
            topic = text(topic),
            href = attr(safe_href(zoom_url)),
            label = text(zoom_url),
            name = text(user_name),
        ),
    )
}

pub fn left() -> String {
    message(
        "You have left the meeting",
        "You are no longer in the Zoom meeting.",
        "To go back in, open the join link from your email again.",
    )
}

/// JSON that can sit inside a `<script>` element: `<`, `>`, `&` and the JavaScript line
/// separators are `\u` escapes, so no value can close the element.
pub fn script_json(value: &Value) -> String {
    let s = value.to_string();
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// What the join page needs besides the join arguments.
pub struct JoinPage<'a> {
    pub topic: &'a str,
    pub user_name: &'a str,
    /// The arguments for `ZoomMtg.join`, already containing the signature.
    pub join_args: &'a Value,
    /// `leaveUrl` and `libUrl` for the page script.
    pub page_args: &'a Value,
    pub scripts: &'a [String],
}

/// The live join page: loads the SDK and runs [`JOIN_SCRIPT`].
pub fn join(p: &JoinPage<'_>) -> String {
    let scripts: String = p
        .scripts
        .iter()
        .map(|s| format!("<script src=\"{}\"></script>\n", attr(s)))
        .collect();
    layout(
        &format!("Joining {}", p.topic),
        &format!(
            "<main id=\"dragoman-status\">\n<h1>Joining “{topic}”</h1>\n\
             <p id=\"status\">Loading Zoom…</p>\n\
             <p>You will appear as <strong>{name}</strong>. Allow the microphone when your \
             browser asks.</p>\n\
             <noscript><p>This page needs JavaScript to join the meeting.</p></noscript>\n</main>\n\
             <script type=\"application/json\" id=\"zoom-join\">{args}</script>\n\
             <script type=\"application/json\" id=\"zoom-page\">{page}</script>\n\
             {scripts}<script>{JOIN_SCRIPT}</script>",
            topic = text(p.topic),
            name = text(p.user_name),
            args = script_json(p.join_args),
            page = script_json(p.page_args),
        ),
    )
}

/// The demo-mode join page: shows what would be passed, loads nothing.
pub fn join_demo(topic: &str, join_args: &Value) -> String {
    let rows: String = [
        "meetingNumber",
        "passWord",
        "userName",
        "customerKey",
        "signature",
    ]
    .iter()
    .map(|k| {
        let v = match &join_args[*k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        format!(
            "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
            k,
            text(&v)
        )
    })
    .collect();
    layout(
        &format!("Joining {topic} (demo mode)"),
        &format!(
            "<main>\n<h1>Join page — demo mode</h1>\n\
             <p>This server has no Zoom Meeting SDK credentials (<code>[zoom] sdk_key</code> and \
             <code>sdk_secret</code>), so it does not load Zoom. With credentials, this page would \
             load the Zoom Meeting SDK for Web and call <code>ZoomMtg.join</code> for \
             “{topic}” with:</p>\n<table>\n{rows}</table>\n\
             <p class=\"next\">An operator sets <code>[zoom] sdk_key</code> and \
             <code>sdk_secret</code> to make this page join the meeting.</p>\n</main>\n\
             <script type=\"application/json\" id=\"zoom-join\">{args}</script>",
            topic = text(topic),
            args = script_json(join_args),
        ),
    )
}

/// The join page script (static, so the CSP can allow it by hash). Reads its arguments from
/// the JSON elements, prepares the SDK, joins, and explains SDK errors in plain words.
pub const JOIN_SCRIPT: &str = r#"
(function () {
  "use strict";
  var box = document.getElementById("dragoman-status");
  var status = document.getElementById("status");
  function say(msg, isError) {
    status.textContent = msg;
    if (isError) { box.className = "error"; }
  }
  // Codes from the SDK's documented errorCodes list; anything else shows Zoom's own reason.
  var PLAIN = {
    1: "Zoom could not start on this page. Reload it; if it happens again, try another browser.",
    403: "Zoom cannot be reached from this browser right now. Check your internet connection and reload this page.",
    3000: "You are already joining this meeting in another tab or window. Close the others and reload this page.",
    3004: "Zoom did not accept the meeting passcode. Tell your coordinator: the invitation may have changed.",
    3005: "This meeting asks for an email address to join. Tell your coordinator.",
    3008: "The host has not started the meeting yet. Reload this page in a minute.",
    3009: "You were removed from this meeting by the host.",
    3082: "This meeting only admits signed-in Zoom users. Tell your coordinator."
  };
  function explain(res) {
    var code = res && (res.errorCode !== undefined ? res.errorCode : res.code);
    var text = PLAIN[code];
    if (!text) {
      text = "Zoom could not join the meeting" + (code !== undefined ? " (error " + code + ")" : "") +
        ". Reload this page; if it happens again, tell your coordinator.";
    }
    var detail = res && (res.reason || res.errorMessage || res.message);
    return detail ? text + " Zoom said: " + detail : text;
  }
  var args, page;
  try {
    args = JSON.parse(document.getElementById("zoom-join").textContent);
    page = JSON.parse(document.getElementById("zoom-page").textContent);
  } catch (e) {
    say("This page is damaged (its join data cannot be read). Reload it.", true);
    return;
  }
  if (typeof ZoomMtg === "undefined") {
    say("The Zoom Meeting SDK did not load. Check your internet connection (or a blocker) and reload this page.", true);
    return;
  }
  try {
    if (page.libUrl && ZoomMtg.setZoomJSLib) { ZoomMtg.setZoomJSLib(page.libUrl, "/av"); }
    ZoomMtg.preLoadWasm();
    ZoomMtg.prepareWebSDK();
    if (ZoomMtg.i18n && ZoomMtg.i18n.load) { ZoomMtg.i18n.load("en-US"); }
  } catch (e) {
    say("Zoom could not prepare this browser: " + e + ". Try Chrome, Edge, Firefox or Safari.", true);
    return;
  }
  say("Starting Zoom…");
  ZoomMtg.init({
    leaveUrl: page.leaveUrl,
    patchJsMedia: true,
    success: function () {
      say("Joining the meeting…");
      var join = {
        signature: args.signature,
        meetingNumber: args.meetingNumber,
        userName: args.userName,
        passWord: args.passWord,
        customerKey: args.customerKey,
        success: function () { say("You are in the meeting."); },
        error: function (res) { say(explain(res), true); }
      };
      // join_mode zak / obf (issue #7): mutually exclusive, set only when fetched.
      if (args.zak) { join.zak = args.zak; }
      else if (args.obfToken) { join.obfToken = args.obfToken; }
      ZoomMtg.join(join);
    },
    error: function (res) { say(explain(res), true); }
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = serde_json::json!({"userName": "</script><script>alert(1)</script> & \u{2028}"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert!(s.contains("\\u003c/script\\u003e"));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn messages_escape_their_text() {
        let page = message("<b>t</b>", "a & b", "<i>next</i>");
        assert!(page.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert!(page.contains("a &amp; b"));
        assert!(!page.contains("<i>"));
    }

    #[test]
    fn demo_page_escapes_values() {
        let args = serde_json::json!({
            "meetingNumber": "81234567890", "passWord": "<pw>", "userName": "Ana 7 (Spanish Interpreter)",
            "customerKey": "abcDEF123456", "signature": "demo-mode-unsigned"});
        let page = join_demo("Intake <call>", &args);
        assert!(page.contains("&lt;pw&gt;"));
        assert!(page.contains("Intake &lt;call&gt;"));
        assert!(!page.contains("<pw>"));
        assert!(page.contains("demo-mode-unsigned"));
    }
}
