//! Bare JSON inputs: a calendar API's event export (Google's `description`, Microsoft Graph's
//! `body.content`) or Zoom's own API answer (`{"invitation": "…Join Zoom Meeting\r\n…"}`) holds
//! the invitation as an escaped string, whose `\n` escapes glue each line to the next one's
//! label. Read as JSON, its strings are the texts a person sees: each is read as a body of its
//! own.
//!
//! Must never: panic on any input (serde_json's own depth limit bounds the nesting), or read
//! a text that is not one whole JSON object or array.

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
    use super::strings;

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
