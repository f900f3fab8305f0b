//! Bare JSON inputs: a calendar API's event export (Google's `description`, Microsoft Graph's
//! `body.content`) or Zoom's own API answer (`{"invitation": "…Join Zoom Meeting\r\n…"}`) holds
//! the invitation as an escaped string, whose `\n` escapes glue each line to the next one's
//! label. Read as JSON, its strings are the texts a person sees: each is read as a body of its
//! own.
//!
//! Such a string also turns up inside text that is not JSON as a whole: a JSON fragment, or
//! source code holding an event (`description: "…is inviting you…\nJoin Zoom Meeting\n…"`).
//! A string literal there that mentions Zoom and holds a `\n` escape is read the same way.
//!
//! Must never: panic on any input (serde_json's own depth limit bounds the nesting), or read
//! anything but a whole JSON object or array, or such a string literal.

use serde_json::Value;

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
/// JavaScript `\'`, say) is left out. `None` when there is none, most texts decided by a
/// search for `\n`. The text itself is still read as well: a link may stand in a literal of
/// its own, without a line escape.
pub(crate) fn escaped_strings(text: &str) -> Option<Vec<String>> {
    let b = text.as_bytes();
    if !has_line_escape(b) {
        return None;
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(q) = memchr::memchr(b'"', &b[from..]) {
        let start = from + q;
        let mut i = start + 1;
        let end = loop {
            match b.get(i) {
                Some(b'\\') => i += 2,
                Some(b'"') => break Some(i),
                Some(b'\n') | None => break None,
                Some(_) => i += 1,
            }
        };
        let Some(end) = end else {
            from = i.min(b.len());
            continue;
        };
        from = end + 1;
        // Both ends are '"' bytes: char boundaries.
        let literal = &text[start..=end];
        if has_line_escape(literal.as_bytes()) && literal.to_ascii_lowercase().contains("zoom") {
            if let Ok(s) = serde_json::from_str::<String>(literal) {
                out.push(s);
                if out.len() == MAX_STRINGS {
                    break;
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
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
        Value::Object(fields) => fields.into_iter().for_each(|(_, f)| collect(f, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{escaped_strings, strings};

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
