//! Bare JSON inputs: a calendar API's event export (Google's `description`, Microsoft Graph's
//! `body.content`) or Zoom's own API answer (`{"invitation": "…Join Zoom Meeting\r\n…"}`) holds
//! the invitation as an escaped string, whose `\n` escapes glue each line to the next one's
//! label. Read as JSON, its strings are the texts a person sees: each is read as a body of its
//! own.
//!
//! Such a string also turns up inside text that is not JSON as a whole: a JSON fragment, or
//! source code holding an event (`description: "…is inviting you…\nJoin Zoom Meeting\n…"`).
//! A string literal there that mentions Zoom and holds a `\n` escape is read the same way; where
//! no double-quoted one is, a single-quoted or template one (an SQL dump's row, a JavaScript
//! string or template).
//!
//! An object that gives the passcode under a key beside its join link (`"password"` beside
//! `"join_url"`) is also written out as an invitation's lines, and a plain body's `\u003d`-style
//! escapes of a URL's characters (Go's JSON output) are read as those characters.
//!
//! Must never: panic on any input (serde_json's own depth limit bounds the nesting), or read
//! anything but a whole JSON object or array, such a string literal, or those escapes; never
//! take an object's `start_url` (it holds the host's token).

use serde_json::Value;
use std::borrow::Cow;

/// `text` with the `\u00XX` escapes JSON writers use for a URL's characters read as those
/// characters: Go's and Gson's HTML-safe output writes `=`, `&`, `<`, `>` and `'` so
/// (`"join_url":"https://…/j/89199048779?pwd\u003djUdh…"`, a meeting in a Go test's raw
/// string), which would end the link at its `pwd`. Borrowed when there are none.
pub(crate) fn url_escapes_decoded(text: &str) -> Cow<'_, str> {
    const ESCAPES: [(&[u8; 6], char); 6] = [
        (b"\\u003d", '='),
        (b"\\u0026", '&'),
        (b"\\u003f", '?'),
        (b"\\u003c", '<'),
        (b"\\u003e", '>'),
        (b"\\u0027", '\''),
    ];
    let b = text.as_bytes();
    // Most texts hold no backslash at all: one vectorised byte search says so.
    if memchr::memchr(b'\\', b).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    for at in memchr::memmem::find_iter(b, b"\\u00") {
        let Some(seq) = b.get(at..at + 6) else {
            break;
        };
        if at < copied {
            continue;
        }
        if let Some((_, c)) = ESCAPES.iter().find(|(e, _)| e.eq_ignore_ascii_case(seq)) {
            // The escape is ASCII: both cuts are char boundaries.
            out.push_str(&text[copied..at]);
            out.push(*c);
            copied = at + 6;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// How many of a document's strings are read: an export's attendee list can hold thousands,
/// and each string read is a body of its own.
const MAX_STRINGS: usize = 64;

/// The string values of `text`, when all of it is a JSON object or array: those that mention
/// Zoom first, then the others, each group in document order, [`MAX_STRINGS`] at most (blank
/// ones left out). `None` for anything else, most inputs decided by their first byte.
pub(crate) fn strings(text: &str) -> Option<Vec<String>> {
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if !body.starts_with(['{', '[']) {
        return None;
    }
    let value: Value = serde_json::from_str(body).ok()?;
    let mut all = Vec::new();
    collect(value, &mut all);
    let (mut out, rest): (Vec<String>, Vec<String>) = all
        .into_iter()
        .partition(|s| s.to_ascii_lowercase().contains("zoom"));
    out.extend(rest);
    out.truncate(MAX_STRINGS);
    (!out.is_empty()).then_some(out)
}

/// The double-quoted string literals of `text` (each on one line, as JSON writes them) that
/// mention Zoom and hold a `\n` escape, read as JSON strings, [`MAX_STRINGS`] at most: the
/// invitations a JSON fragment or a program's source holds. A literal JSON cannot read (a
/// JavaScript `\'`, say) is left out; where none qualifies, the single-quoted or template ones
/// ([`quoted_literals`]). `None` when there is none, most texts decided by a
/// search for `\n`. The text itself is still read as well: a link may stand in a literal of
/// its own, without a line escape.
pub(crate) fn escaped_strings(text: &str) -> Option<Vec<String>> {
    let b = text.as_bytes();
    if !has_line_escape(b) {
        return None;
    }
    let mut out = quoted_literals(text, b'"', |literal| {
        serde_json::from_str(literal).ok().map(escaped_twice)
    });
    for quote in [b'\'', b'`'] {
        if out.is_empty() {
            // The quotes at both ends are ASCII: the cut is at char boundaries.
            out = quoted_literals(text, quote, |literal| {
                Some(unescaped(&literal[1..literal.len() - 1], quote))
            });
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A JSON string read from a literal that was escaped twice (a JSON document stored in an SQL
/// string, `…meeting.\\n\\nTopic: …\\nPasscode: 483019\\n…`, an audit log's row), read once
/// more: one whose lines are still `\n` escapes, with no line break of its own. As it was when
/// that second reading fails.
fn escaped_twice(s: String) -> String {
    if s.contains('\n') || !s.contains("\\n") {
        return s;
    }
    serde_json::from_str(&format!("\"{s}\"")).unwrap_or(s)
}

/// The literals of `text` between `quote`s (on one line) that mention Zoom and hold a `\n`
/// escape, each as `read` gives it (from the literal with its quotes), [`MAX_STRINGS`] at most.
/// A double-quoted one is read as a JSON string (a literal JSON cannot read, a JavaScript
/// `\'` say, is left out). A single-quoted or template one is read where no double-quoted one
/// was, its escapes undone ([`unescaped`]): an SQL dump's row (`(10, 'SFT paper class 2', …,
/// '… is inviting you…\nPasscode: SQS8ezA', 2, 1)`), a JavaScript string or template
/// (`` `──────────\n\nXXX is inviting you…` ``); an apostrophe in prose opens a "literal"
/// too, and such a one rarely holds both.
fn quoted_literals(text: &str, quote: u8, read: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(q) = memchr::memchr(quote, &b[from..]) {
        let start = from + q;
        let mut i = start + 1;
        let end = loop {
            match b.get(i) {
                Some(b'\\') => i += 2,
                // SQL's doubled quote inside a single-quoted literal.
                Some(b'\'') if quote == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
                Some(&c) if c == quote => break Some(i),
                Some(b'\n') | None => break None,
                Some(_) => i += 1,
            }
        };
        let Some(end) = end else {
            from = i.min(b.len());
            continue;
        };
        from = end + 1;
        // Both ends are ASCII quotes: char boundaries.
        let literal = &text[start..=end];
        if has_line_escape(literal.as_bytes()) && literal.to_ascii_lowercase().contains("zoom") {
            if let Some(s) = read(literal) {
                out.push(s);
                if out.len() == MAX_STRINGS {
                    break;
                }
            }
        }
    }
    out
}

/// A literal's inside, between `quote`s, with its escapes undone (see [`quoted_literals`]).
fn unescaped(inner: &str, quote: u8) -> String {
    let mut s = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => s.push('\n'),
                Some('r') => s.push('\r'),
                Some('t') => s.push('\t'),
                Some(other) => s.push(other),
                None => {}
            },
            // SQL's doubled quote inside a single-quoted literal: one apostrophe.
            '\'' if quote == b'\'' && chars.peek() == Some(&'\'') => {
                chars.next();
                s.push('\'');
            }
            c => s.push(c),
        }
    }
    s
}

/// Whether `b` holds a `\n` escape, found from each backslash (none in most texts) without
/// the set-up of a substring searcher.
fn has_line_escape(b: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', b).any(|i| b.get(i + 1) == Some(&b'n'))
}

/// Moves `v`'s non-blank strings into `out`. serde_json refuses input nested deeper than 128
/// levels, so the recursion is bounded.
fn collect(v: Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() => out.push(s),
        Value::Array(items) => items.into_iter().for_each(|i| collect(i, out)),
        Value::Object(fields) => {
            let keyed = keyed_invitation(&fields);
            fields.into_iter().for_each(|(_, f)| collect(f, out));
            out.extend(keyed);
        }
        _ => {}
    }
}

/// An object that gives a meeting's passcode under a key beside its join link (Zoom's API
/// answer: `"join_url"`, `"password"`, `"topic"`; a Google Calendar event's conference entry
/// point: `"uri"`, `"passcode"`), written as the lines an invitation has ("Topic:", the link,
/// "Passcode:"): the strings alone say nothing of which is the passcode. A `start_url` is never
/// taken (it holds the host's token); without a join link or a passcode, nothing.
fn keyed_invitation(fields: &serde_json::Map<String, Value>) -> Option<String> {
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let passcode = text("password").or_else(|| text("passcode"))?;
    let link = text("join_url")
        .or_else(|| text("uri"))
        .filter(|l| l.starts_with("http") && l.to_ascii_lowercase().contains("zoom"))?;
    let mut body = String::new();
    if let Some(topic) = text("topic") {
        body.push_str("Topic: ");
        body.push_str(topic);
        body.push('\n');
    }
    body.push_str(link);
    body.push_str("\nPasscode: ");
    body.push_str(passcode);
    body.push('\n');
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::{escaped_strings, strings};

    #[test]
    fn a_literal_escaped_twice() {
        let row = r#"(44, '{"zoom_link":"X is inviting you to a Zoom meeting.\\n\\nTopic: T\\nhttps://zoom.us/j/84237044357\\nPasscode: 483019\\n"}', '::1'),"#;
        assert_eq!(
            escaped_strings(row),
            Some(vec![
                "X is inviting you to a Zoom meeting.\n\nTopic: T\nhttps://zoom.us/j/84237044357\nPasscode: 483019\n".to_owned()
            ])
        );
    }

    #[test]
    fn a_passcode_under_a_key_beside_the_join_link() {
        let api = r#"{"topic": "Staff meeting", "start_url": "https://zoom.us/s/4157326842?zak=x",
            "join_url": "https://zoom.us/j/4157326842", "password": "qwerty123"}"#;
        let got = strings(api).unwrap();
        assert!(got.contains(
            &"Topic: Staff meeting\nhttps://zoom.us/j/4157326842\nPasscode: qwerty123\n".to_owned()
        ));
        let google = r#"{"conferenceData": {"entryPoints": [{"entryPointType": "video",
            "uri": "https://rho-co.zoom.us/j/83815239874", "passcode": "296305"},
            {"entryPointType": "phone", "uri": "tel:+13017158592", "passcode": "296305"}]}}"#;
        let got = strings(google).unwrap();
        let keyed: Vec<&String> = got.iter().filter(|s| s.contains("Passcode:")).collect();
        assert_eq!(
            keyed,
            ["https://rho-co.zoom.us/j/83815239874\nPasscode: 296305\n"]
        );
        // No passcode key, or only a start URL: nothing made up.
        let none = r#"{"start_url": "https://zoom.us/s/1?zak=x", "password": "x1"}"#;
        assert!(!strings(none)
            .unwrap()
            .iter()
            .any(|s| s.contains("Passcode:")));
    }

    #[test]
    fn escaped_invitations_inside_other_text() {
        // A program's source holding an event (a calendar app's test fixture), and a JSON
        // fragment cut from an export: the literals that mention Zoom and hold a line escape.
        let source = "export const EVENT = {\n  title: \"Ty & Tim\",\n  description:\n    \
                      \"Tim is inviting you to a scheduled Zoom meeting.\\n\\nJoin Zoom Meeting\\n\
                      https://us02web.zoom.us/j/87324397243\\n\\nPasscode: 305275\\n\",\n  \
                      other: \"zoom without a line escape\",\n  odd: \"zoom\\n\\'x\",\n};\n";
        assert_eq!(
            escaped_strings(source),
            Some(vec![
                "Tim is inviting you to a scheduled Zoom meeting.\n\nJoin Zoom \
                       Meeting\nhttps://us02web.zoom.us/j/87324397243\n\nPasscode: 305275\n"
                    .to_owned()
            ])
        );
        let fragment =
            "  {\n    \"description\": \"Join Zoom\\nhttps://zoom.us/j/83925314649\",\n  },";
        assert_eq!(
            escaped_strings(fragment),
            Some(vec!["Join Zoom\nhttps://zoom.us/j/83925314649".to_owned()])
        );
        // An unclosed literal ends at its line; a text without a "\n" escape is not searched.
        assert_eq!(escaped_strings("say \"zoom\\n\n\"x\""), None);
        assert_eq!(
            escaped_strings("Join: \"https://zoom.us/j/83925314649\""),
            None
        );
    }

    #[test]
    fn single_quoted_and_template_literals() {
        // An SQL dump's row (fixture 225), with SQL's doubled quote and an escaped one.
        let sql = "\t(10, 'class 2', '2024-08-11', 'Ana''s Zoom meeting.\\nJoin Zoom \
                   Meeting\\nhttps://us05web.zoom.us/j/3917462058\\nPasscode: Rk4tPwQ', 2, 1),\n\
                   \t(11, 'it\\'s zoom\\n', 1);";
        assert_eq!(
            escaped_strings(sql),
            Some(vec![
                "Ana's Zoom meeting.\nJoin Zoom Meeting\nhttps://us05web.zoom.us/j/3917462058\n\
                 Passcode: Rk4tPwQ"
                    .to_owned(),
                "it's zoom\n".to_owned(),
            ])
        );
        // A JavaScript template literal (fixture 224), an apostrophe in it kept as it is.
        assert_eq!(
            escaped_strings("const d = `Ana's Zoom meeting.\\nPasscode: 615`;"),
            Some(vec!["Ana's Zoom meeting.\nPasscode: 615".to_owned()])
        );
        // A double-quoted literal that qualifies: single quotes are not read.
        assert_eq!(
            escaped_strings("a: \"zoom\\nx\", b: 'zoom\\ny'"),
            Some(vec!["zoom\nx".to_owned()])
        );
    }

    #[test]
    fn the_strings_of_a_json_document() {
        let zoom = "{\"topic\": \"My Meeting\", \"id\": 55544443210, \"invitation\": \
                    \"Jill Chill is inviting you to a scheduled Zoom meeting.\\r\\n\\r\\nJoin Zoom \
                    Meeting\\r\\nhttps://zoom.us/j/55544443210\"}";
        assert_eq!(
            strings(zoom),
            Some(vec![
                "Jill Chill is inviting you to a scheduled Zoom meeting.\r\n\r\n\
                 Join Zoom Meeting\r\nhttps://zoom.us/j/55544443210"
                    .to_owned(),
                "My Meeting".to_owned()
            ])
        );
        assert_eq!(
            strings("\u{feff} [{\"a\": [\"x\", \" \"]}, \"y\"]"),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        let many = format!("[{}\"ZOOM\"]", "\"a\",".repeat(100));
        let read = strings(&many).expect("an array of strings");
        assert_eq!((read.len(), read[0].as_str()), (64, "ZOOM"));
        for not in [
            "Topic: {x}",
            "{\"a\": \"unclosed\"",
            "{\"a\": 1} and more",
            "[]",
            "{\"n\": 3}",
            "",
        ] {
            assert_eq!(strings(not), None, "{not:?}");
        }
    }
}
