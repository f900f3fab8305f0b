//! HTML to plain text for the extractor: block tags become line breaks, entities are decoded,
//! scripts and styles dropped, and the `href` of a Zoom join link is written next to its anchor
//! text (the href wins when the text shows another URL).
//!
//! Must never: build a DOM, follow links, or drop text a label could be in.

use super::url;

/// Tags after (or before) which a line ends.
const BLOCK: &[&str] = &[
    "br",
    "p",
    "div",
    "tr",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tbody",
    "blockquote",
    "pre",
    "hr",
    "center",
    "section",
    "article",
    "header",
    "footer",
    "dt",
    "dd",
    "title",
];
/// Tags whose content is never text.
const SKIP: &[&str] = &["script", "style", "head", "xml", "template"];

/// Converts an HTML document (or fragment) to text lines.
pub(crate) fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    // The href of the innermost open join-link anchor, and where its text starts in `out`.
    let mut anchor: Option<(String, usize)> = None;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let after = &rest[lt + 1..];
        if let Some(comment) = after.strip_prefix("!--") {
            rest = match comment.find("-->") {
                Some(end) => &comment[end + 3..],
                None => "",
            };
            continue;
        }
        let Some(gt) = find_tag_end(after) else {
            // A lone '<' in text.
            out.push('<');
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let bare = tag.trim_start_matches('/');
        let name_len = bare
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b':')
            .count();
        if name_len == 0 {
            continue;
        }
        // Tag names are ASCII: compare them case-insensitively without building a string.
        let name = &bare[..name_len];
        let is = |n: &str| n.eq_ignore_ascii_case(name);
        if !closing && SKIP.iter().any(|s| is(s)) {
            let name = name.to_ascii_lowercase();
            let close = format!("</{name}");
            rest = match find_ascii_ci(rest, &close) {
                Some(pos) => {
                    let tail = &rest[pos..];
                    match tail.find('>') {
                        Some(g) => &tail[g + 1..],
                        None => "",
                    }
                }
                None => "",
            };
            continue;
        }
        if is("a") {
            if closing {
                if let Some((href, start)) = anchor.take() {
                    finish_anchor(&mut out, start, &href);
                }
            } else if let Some(href) = attr(tag, "href") {
                let href = decode_entities(&href);
                let href = url::unwrap_redirect(href.trim());
                if url::is_join_link(&href) {
                    anchor = Some((href, out.len()));
                }
            }
            continue;
        }
        if BLOCK.iter().any(|b| is(b)) {
            out.push('\n');
        } else if is("td") || is("th") {
            out.push(' ');
        }
    }
    push_text(&mut out, rest);
    if let Some((href, start)) = anchor.take() {
        finish_anchor(&mut out, start, &href);
    }
    out
}

/// Writes the join link after the anchor text, replacing any different Zoom URL the text shows.
fn finish_anchor(out: &mut String, start: usize, href: &str) {
    let start = start.min(out.len());
    let text = out[start..].to_owned();
    if text.contains(href) {
        return;
    }
    let cleaned = url::remove_zoom_urls(&text);
    out.truncate(start);
    out.push_str(&cleaned);
    out.push(' ');
    out.push_str(href);
    out.push(' ');
}

/// Byte position of `needle` (ASCII, lower-case) in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    if n.is_empty() {
        return Some(0);
    }
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

/// The end of a tag, skipping '>' inside quoted attribute values.
fn find_tag_end(s: &str) -> Option<usize> {
    // The characters looked at are ASCII, so a byte scan finds the same positions.
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'>' => return Some(i),
                b'<' if i == 0 => return None,
                _ => {}
            },
        }
    }
    None
}

/// An attribute value of a tag (quoted or not).
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0
            || lower[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == '"' || c == '\'');
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let skip = lower.len() - rest.len() + 1;
        let value = tag.get(skip..)?.trim_start();
        let v = if let Some(v) = value.strip_prefix('"') {
            v.split('"').next().unwrap_or("")
        } else if let Some(v) = value.strip_prefix('\'') {
            v.split('\'').next().unwrap_or("")
        } else {
            value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
        };
        return Some(v.to_owned());
    }
    None
}

fn push_text(out: &mut String, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let decoded = if raw.contains('&') {
        html_escape::decode_html_entities(raw)
    } else {
        std::borrow::Cow::Borrowed(raw)
    };
    // Copy runs of ordinary text at once; only line breaks, tabs and no-break spaces (UTF-8
    // C2 A0; C2 is never a continuation byte) become spaces.
    let b = decoded.as_bytes();
    let (mut i, mut run) = (0, 0);
    while i < b.len() {
        let width = match b[i] {
            b'\r' | b'\n' | b'\t' => 1,
            0xc2 if b.get(i + 1) == Some(&0xa0) => 2,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&decoded[run..i]);
        out.push(' ');
        i += width;
        run = i;
    }
    out.push_str(&decoded[run..]);
}

fn decode_entities(s: &str) -> String {
    if s.contains('&') {
        html_escape::decode_html_entities(s).into_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_and_entities() {
        let t = to_text("Topic: A&amp;B<br>Time: x<p>y</p>");
        assert!(t.contains("Topic: A&B\nTime: x\ny"));
    }

    #[test]
    fn href_beats_text() {
        let t = to_text(
            r#"<a href="https://us02web.zoom.us/j/81234567890?pwd=abc.1">https://zoom.us/j/81234567890</a>."#,
        );
        assert!(t.contains("https://us02web.zoom.us/j/81234567890?pwd=abc.1"));
        assert!(!t.contains("https://zoom.us/j/81234567890 "));
    }

    #[test]
    fn script_and_style_skipped() {
        let t = to_text("<style>p{}</style><script>x<y</script>Hello");
        assert_eq!(t.trim(), "Hello");
    }
}
