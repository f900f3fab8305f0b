//! The HTML of the interpreter's own page (issue #5), in the style of `pages`: small
//! functions over already-decided data, every outside value (names, tokens, zones) escaped
//! with `html-escape`.
//!
//! Never decides anything and never does I/O; shows nothing about any offer or meeting.

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::pages::{layout, message};
use crate::domain::Interpreter;
use crate::outbox::templates::local_time;

/// The interpreter's presence, in their own time zone.
pub fn presence_text(i: &Interpreter, now: DateTime<Utc>) -> String {
    match i.presence_until {
        Some(until) if until > now => {
            format!("You are online until {}.", local_time(until, &i.timezone))
        }
        _ => "You are offline.".to_string(),
    }
}

fn hours(n: i64) -> String {
    if n == 1 {
        "1 hour".into()
    } else {
        format!("{n} hours")
    }
}

/// The page: name, presence, one "go online" form per choice of hours, and "go offline".
/// `token` is the offer token the page was reached with (its forms post back to it).
pub fn own_page(i: &Interpreter, token: &str, now: DateTime<Utc>, choices: &[i64]) -> String {
    let t = attr(token);
    let online = i.is_online(now);
    let online_forms: String = choices
        .iter()
        .map(|n| {
            format!(
                "<form method=\"post\" action=\"/offer/{t}/me\">\
                 <input type=\"hidden\" name=\"presence\" value=\"online\">\
                 <input type=\"hidden\" name=\"hours\" value=\"{n}\">\
                 <button type=\"submit\"{class}>{label}</button></form>\n",
                class = if online { "" } else { " class=\"primary\"" },
                label = text(&format!("Online for {}", hours(*n))),
            )
        })
        .collect();
    layout(
        "Your availability",
        &format!(
            "<main>\n<h1>Your availability, {name}</h1>\n\
             <p id=\"presence\"><strong>{presence}</strong></p>\n\
             <p>While you are online, requests for meetings that start soon are offered to you \
             by email. Going online again replaces the time below; it is counted from now.</p>\n\
             <h2>Go online</h2>\n{online_forms}\
             <h2>Go offline</h2>\n\
             <form method=\"post\" action=\"/offer/{t}/me\">\
             <input type=\"hidden\" name=\"presence\" value=\"offline\">\
             <button type=\"submit\"{offline_class}>Go offline now</button></form>\n\
             <p class=\"next\">Times are shown in your time zone ({zone}). \
             <a href=\"/offer/{t}\">Back to the offer</a></p>\n</main>",
            name = text(&i.name),
            presence = text(&presence_text(i, now)),
            offline_class = if online { " class=\"primary\"" } else { "" },
            zone = text(&i.timezone),
        ),
    )
}

/// For an unknown token, or one older than `[api] own_page_hours` after its offer closed.
pub fn own_page_gone() -> String {
    message(
        "This link no longer opens your page",
        "This link is too old, or it is not one we sent.",
        "Open the link in your newest offer email, or ask your coordinator to set your \
         availability for you.",
    )
}

/// For a form post that is not one of the page's buttons.
pub fn own_page_bad_form(choices: &[i64]) -> String {
    let list: Vec<String> = choices.iter().map(|n| hours(*n)).collect();
    message(
        "That change was not understood",
        &format!(
            "The form asked for something this page does not offer (online for {}, or offline).",
            list.join(", ")
        ),
        "Go back, reload the page, and press one of its buttons. Nothing was changed.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;

    fn interpreter(until: Option<DateTime<Utc>>) -> Interpreter {
        Interpreter {
            id: 7,
            name: "Ana <b>Ruiz</b> & co".into(),
            email: EmailAddress::parse("ana@example.com").expect("email"),
            pairs: vec![],
            timezone: "America/New_York".into(),
            presence_until: until,
            created_at: DateTime::from_timestamp(0, 0).expect("epoch"),
        }
    }

    #[test]
    fn the_page_escapes_the_name_and_shows_presence_in_the_interpreters_zone() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T15:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let page = own_page(
            &interpreter(Some(now + chrono::Duration::hours(2))),
            "tok",
            now,
            &[1, 4],
        );
        assert!(
            page.contains("Ana &lt;b&gt;Ruiz&lt;/b&gt; &amp; co"),
            "{page}"
        );
        assert!(!page.contains("<b>Ruiz"));
        assert!(
            page.contains("online until Fri 27 Nov 2026 12:00 EST"),
            "{page}"
        );
        assert!(page.contains("name=\"hours\" value=\"4\""));
        assert!(page.contains("Online for 1 hour<"));
        assert_eq!(page.matches("action=\"/offer/tok/me\"").count(), 3);

        let page = own_page(&interpreter(Some(now)), "tok", now, &[1]);
        assert!(
            page.contains("You are offline."),
            "a lease ending now is over"
        );
    }
}
