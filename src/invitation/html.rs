//! HTML to plain text for the extractor: block tags become line breaks, entities are decoded,
//! scripts and styles dropped, and the `href` of a Zoom join link is written next to its anchor
//! text (the href wins when the text shows another URL). Each line is cleaned as it ends, as the
//! extractor cleans any body, so the converted text is written once.
//!
//! Must never: build a DOM, follow links, or drop text a label could be in.

use super::{extract, url};
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a tag means to the converter.
#[derive(Clone, Copy, PartialEq)]
enum Tag {
    /// A line ends after (or before) it.
    Block,
    /// A table cell: a space.
    Cell,
    /// Its content is never text.
    Skip,
    Anchor,
    Other,
}

/// The meaning of a tag name (ASCII letters, digits and ':'), compared as lower-cased bytes.
fn tag_kind(name: &str) -> Tag {
    // The longest name below is "blockquote".
    let mut buf = [0u8; 10];
    let Some(lower) = buf.get_mut(..name.len()) else {
        return Tag::Other;
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    match &*lower {
        b"br" | b"p" | b"div" | b"tr" | b"li" | b"ul" | b"ol" | b"h1" | b"h2" | b"h3" | b"h4"
        | b"h5" | b"h6" | b"table" | b"tbody" | b"blockquote" | b"pre" | b"hr" | b"center"
        | b"section" | b"article" | b"header" | b"footer" | b"dt" | b"dd" | b"title" => Tag::Block,
        b"td" | b"th" => Tag::Cell,
        b"script" | b"style" | b"head" | b"xml" | b"template" => Tag::Skip,
        b"a" => Tag::Anchor,
        _ => Tag::Other,
    }
}

/// A Markdown autolink read as a tag, `<https://…>`: kept as its text. A Markdown page that
/// holds one real tag (`<a name="top"/></a>` beside a heading) reads as HTML, and its
/// `**Zoom link:** <https://….zoomgov.com/j/…>` (a public newsletter's) is the join link.
fn is_autolink(name: &str) -> bool {
    name.eq_ignore_ascii_case("https:") || name.eq_ignore_ascii_case("http:")
}

/// Converts an HTML document (or fragment) to the clean text lines the extractor reads, white
/// space inside a line collapsed as a browser shows it: a paragraph's source line breaks and
/// indentation are one space ("1 occurrence(s)" and the next occurrence's date, 33 spaces
/// apart in the source, in a real pasted invitation).
pub(crate) fn to_clean_text(html: &str) -> String {
    let mut text = to_clean_lines(html);
    collapse_spaces(&mut text);
    text
}

/// Each run of spaces in `text` as one space, and each run of spaces and tabs holding a tab (a
/// table's cell ends, and the indentation around them) as one tab. Lines hold no line break or
/// no-break space by now (the converter wrote each as a space), and cleaning left no white
/// space at a line's ends.
fn collapse_spaces(text: &mut String) {
    // Built once: one SIMD pass finds the first run, and most texts have none.
    static DOUBLE_SPACE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
    let b = text.as_bytes();
    let first = match (DOUBLE_SPACE.find(b), memchr::memchr(b'\t', b)) {
        (Some(s), Some(t)) => s.min(t),
        (Some(i), None) | (None, Some(i)) => i,
        (None, None) => return,
    };
    // From the start of the run the first one is in.
    let first = b[..first]
        .iter()
        .rposition(|&c| c != b' ')
        .map_or(0, |i| i + 1);
    // ' ' and '\t' are ASCII: `first` is a char boundary, and so is every cut below.
    let tail = text.split_off(first);
    let b = tail.as_bytes();
    let mut i = 0;
    // Each run of spaces and tabs as its one character, the text between runs copied whole.
    while let Some(k) = memchr::memchr2(b' ', b'\t', &b[i..]) {
        let start = i + k;
        text.push_str(&tail[i..start]);
        let run = b[start..]
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(b.len() - start);
        let tab = memchr::memchr(b'\t', &b[start..start + run]).is_some();
        text.push(if tab { '\t' } else { ' ' });
        i = start + run;
    }
    text.push_str(&tail[i..]);
}

/// The lines of [`to_clean_text`] before spaces are collapsed: the same as
/// [`extract::clean_text`] of the raw converted text (`tests::old::to_text`), each line cleaned
/// as it ends. White space a line's cleaning would trim is never written: indentation at a
/// line's start, and spaces before a line break (HTML has many before each `</tr>`).
fn to_clean_lines(html: &str) -> String {
    let mut out = Out {
        text: String::with_capacity(html.len() / 2),
        dirty: 0,
        spaces: 0,
        anchor: None,
    };
    let mut rest = html;
    // memchr: '<' is ASCII, so the index is a char boundary.
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        if lt > 0 {
            out.push_text(&rest[..lt]);
        }
        let after = &rest[lt + 1..];
        if let Some(comment) = after.strip_prefix("!--") {
            rest = match memchr::memmem::find(comment.as_bytes(), b"-->") {
                Some(end) => &comment[end + 3..],
                None => "",
            };
            continue;
        }
        let Some(gt) = find_tag_end(after) else {
            // A lone '<' in text.
            out.flush();
            out.text.push('<');
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let (closing, name) = tag_name(tag);
        if name.is_empty() {
            continue;
        }
        if !closing && is_autolink(name) {
            out.push_text(tag);
            continue;
        }
        match tag_kind(name) {
            Tag::Skip if !closing => rest = skip_to_close(rest, name),
            Tag::Anchor if closing => {
                if let Some((href, start)) = out.anchor.take() {
                    finish_anchor(&mut out.text, start, &href);
                }
            }
            Tag::Anchor => {
                if let Some(href) = join_href(tag) {
                    out.flush();
                    let start = out.text.len();
                    out.anchor = Some((href, start));
                }
            }
            Tag::Block => out.line_break(),
            Tag::Cell if closing => out.cell_end(),
            Tag::Cell => out.space(),
            Tag::Skip | Tag::Other => {}
        }
    }
    if !rest.is_empty() {
        out.push_text(rest);
    }
    if let Some((href, start)) = out.anchor.take() {
        finish_anchor(&mut out.text, start, &href);
    }
    // The text's last line ends with '\n' too.
    out.line_break();
    out.text
}

/// Whether a tag (without its '<' and '>') closes, and its name: ASCII letters, digits and ':'
/// after any '/'.
fn tag_name(tag: &str) -> (bool, &str) {
    let b = tag.as_bytes();
    let from = b.iter().position(|c| *c != b'/').unwrap_or(b.len());
    let len = b[from..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b':'))
        .unwrap_or(b.len() - from);
    // Both ends are next to ASCII bytes: char boundaries.
    (from > 0, &tag[from..from + len])
}

/// The text being written, and where its first line not yet cleaned starts.
struct Out {
    text: String,
    /// Where the line not yet cleaned starts in `text`.
    dirty: usize,
    /// Spaces that belong at the end of `text` but are written only if more follows on the
    /// line (cleaning trims them from a line's end). Always 0 while an anchor is open.
    spaces: usize,
    /// The href of the innermost open join-link anchor, and where its text starts in `text`.
    /// While it is open, its text is written raw (as `finish_anchor` reads it) and its lines are
    /// not cleaned.
    anchor: Option<(String, usize)>,
}

impl Out {
    /// Writes the text between two tags, entities decoded.
    #[inline(always)]
    fn push_text(&mut self, raw: &str) {
        // Most text between two tags is indentation: held back as spaces (no '&' in it to
        // decode), without a call. Tested without an early exit, which the compiler turns into
        // SIMD.
        let rb = raw.as_bytes();
        if self.anchor.is_none()
            && !rb.iter().fold(false, |acc, c| {
                acc | !matches!(c, b' ' | b'\n' | b'\r' | b'\t')
            })
        {
            self.spaces += rb.len();
            return;
        }
        self.push_words(raw);
    }

    /// [`Out::push_text`] of text that is not only white space (or inside an anchor).
    fn push_words(&mut self, raw: &str) {
        let rb = raw.as_bytes();
        let decoded = if memchr::memchr(b'&', rb).is_some() {
            html_escape::decode_html_entities(raw)
        } else {
            Cow::Borrowed(raw)
        };
        let t = &*decoded;
        if self.anchor.is_some() {
            push_mapped(&mut self.text, t);
            return;
        }
        let b = t.as_bytes();
        let mut from = 0;
        if self.text.len() == self.dirty {
            // At the start of a line cleaning would strip anyway (ASCII white space and '>' are
            // stripped from a line's start, whatever follows, and so are spaces held back):
            // HTML indentation is not written.
            loop {
                match b.get(from..) {
                    Some([b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'>', ..]) => from += 1,
                    Some([0xc2, 0xa0, ..]) => from += 2,
                    _ => break,
                }
            }
            if from == b.len() {
                return;
            }
            self.spaces = 0;
        }
        // White space at the end (all of it, for the indentation between two tags) is held
        // back as spaces: a line break may follow.
        let end = b
            .iter()
            .rposition(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
            .map_or(from, |e| (e + 1).max(from));
        if end > from {
            push_spaces(&mut self.text, self.spaces);
            self.spaces = 0;
            // `from` and `end` are next to ASCII bytes or the end of a no-break space: char
            // boundaries.
            push_mapped(&mut self.text, &t[from..end]);
        }
        self.spaces += b.len() - end;
    }

    /// Writes the spaces held back: something other than white space follows on the line.
    fn flush(&mut self) {
        if self.text.len() != self.dirty {
            push_spaces(&mut self.text, self.spaces);
        }
        self.spaces = 0;
    }

    /// A table cell's space.
    fn space(&mut self) {
        if self.anchor.is_none() {
            self.spaces += 1;
        } else {
            self.text.push(' ');
        }
    }

    /// The end of a table cell: a tab, as a browser's text of a table row has between its cells
    /// ("Date & Time", tab, "Apr 5, 2026 03:00 PM …": Zoom's webinar registration mail), so a
    /// label cell reads as a label and a value stops at its cell's end. Not written at a line's
    /// start, where cleaning would strip it; a space inside an open anchor.
    fn cell_end(&mut self) {
        if self.anchor.is_some() {
            self.text.push(' ');
        } else if self.text.len() != self.dirty {
            push_spaces(&mut self.text, self.spaces);
            self.spaces = 0;
            self.text.push('\t');
        }
    }

    /// Ends a line; cleans what is pending unless an open anchor may still rewrite it.
    fn line_break(&mut self) {
        if self.anchor.is_none() {
            // The spaces held back end the line: cleaning would trim them.
            self.spaces = 0;
            if self.text.len() > self.dirty {
                extract::clean_tail(&mut self.text, self.dirty);
            }
            self.text.push('\n');
            self.dirty = self.text.len();
        } else {
            self.text.push('\n');
        }
    }
}

/// The rest after the end tag of a skipped element (`</name ...>`, any case), or nothing.
fn skip_to_close<'a>(rest: &'a str, name: &str) -> &'a str {
    let b = rest.as_bytes();
    let n = name.as_bytes();
    let mut from = 0;
    while let Some(lt) = rest
        .get(from..)
        .and_then(|r| memchr::memchr(b'<', r.as_bytes()))
    {
        let at = from + lt;
        let close = b.get(at + 1) == Some(&b'/')
            && b.get(at + 2..at + 2 + n.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(n));
        if close {
            // '<' and '>' are ASCII: the slices stay on char boundaries.
            return match rest[at..].find('>') {
                Some(g) => &rest[at + g + 1..],
                None => "",
            };
        }
        from = at + 1;
    }
    ""
}

/// `text` with React's JSX spacers (`{' '}`, `{" "}`) written as the blank they render: a
/// component's source puts one where a line of HTML ends in a blank ("Код доступа:{' '}" over
/// "<strong>3ft6uQ</strong>", a project's promo component), and a label's value must not be
/// read as the spacer's braces. Most texts hold no '}' at all.
pub(crate) fn jsx_spacers_blank(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let is_spacer = |end: usize| {
        end >= 4 && matches!(&b[end - 4..end], [b'{', q @ (b'\'' | b'"'), b' ', r] if q == r)
    };
    if !memchr::memchr_iter(b'}', b).any(is_spacer) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for end in memchr::memchr_iter(b'}', b).filter(|&e| is_spacer(e)) {
        // The spacer is ASCII: its bounds are char boundaries.
        out.push_str(&text[from..end - 4]);
        out.push(' ');
        from = end + 1;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// `text` with its HTML character references decoded (`&#047;` → `/`, `&amp;` → `&`).
pub(crate) fn decode_references(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

/// The join link an `<a>` tag's href holds (a redirect unwrapped), if any.
fn join_href(tag: &str) -> Option<String> {
    let href = attr(tag, "href")?;
    let href = if href.contains('&') {
        html_escape::decode_html_entities(href)
    } else {
        Cow::Borrowed(href)
    };
    let href = href.trim();
    // A join link's host holds "zoom"; a redirect hides it only behind one of these hosts
    // (which `unwrap_redirect` alone rewrites). Most hrefs are neither: no copy, no classify.
    if !["zoom", "safelinks", "google.com/url", "urldefense"]
        .iter()
        .any(|n| contains_ascii_ci(href, n))
    {
        return None;
    }
    let href = url::unwrap_redirect(href);
    url::is_join_link(&href).then_some(href)
}

/// True when `hay` holds `needle` (ASCII, lower-case), ignoring ASCII case.
fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    n.len() <= hay.len()
        && hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
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

/// The end of a tag, skipping '>' inside quoted attribute values.
fn find_tag_end(s: &str) -> Option<usize> {
    // The characters looked at are ASCII, so byte positions are char boundaries.
    let b = s.as_bytes();
    if b.first() == Some(&b'<') {
        return None;
    }
    let mut i = 0;
    loop {
        let j = i + find_tag_byte(b.get(i..)?)?;
        let q = b[j];
        if q == b'>' {
            return Some(j);
        }
        // A quoted value: its end is the same quote again (none: the tag never ends).
        i = j + 1 + memchr::memchr(q, b.get(j + 1..)?)? + 1;
    }
}

/// Position of the first '>', '"' or '\'' in `hay`. Most are near (a tag's name ends, a quoted
/// value closes just before '>'): the first 16 bytes are looked at one by one, as memchr3 costs
/// more to start.
fn find_tag_byte(hay: &[u8]) -> Option<usize> {
    let near = hay.len().min(16);
    match hay[..near]
        .iter()
        .position(|c| matches!(c, b'>' | b'"' | b'\''))
    {
        Some(p) => Some(p),
        None => memchr::memchr3(b'>', b'"', b'\'', &hay[near..]).map(|p| p + near),
    }
}

/// An attribute value of a tag (quoted or not).
fn attr<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    // `name` is ASCII and lower-case: matched ignoring ASCII case, so every position found is a
    // char boundary of `tag`.
    let b = tag.as_bytes();
    let n = name.as_bytes();
    let mut from = 0;
    while let Some(pos) = b
        .get(from..)?
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
    {
        let at = from + pos;
        from = at + n.len();
        let before_ok = at == 0
            || tag[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == '"' || c == '\'');
        let rest = tag[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        // A JSX expression holding a string literal: `href={'https://…'}` (a React page).
        let value = value.strip_prefix('{').map_or(value, str::trim_start);
        let v = if let Some(v) = value.strip_prefix('`') {
            v.split('`').next().unwrap_or("")
        } else if let Some(v) = value.strip_prefix('"') {
            v.split('"').next().unwrap_or("")
        } else if let Some(v) = value.strip_prefix('\'') {
            v.split('\'').next().unwrap_or("")
        } else {
            value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
        };
        return Some(v);
    }
    None
}

/// Writes text with line breaks, tabs and no-break spaces as spaces, copying the runs between
/// them.
fn push_mapped(out: &mut String, t: &str) {
    let b = t.as_bytes();
    // Tested without an early exit, which the compiler turns into SIMD.
    let (high, control) = b
        .iter()
        .fold((0u8, false), |(h, c), x| (h | x, c | (*x < 0x20)));
    if high < 0x80 && !control {
        // Mostly: ASCII without control characters, copied whole.
        out.push_str(t);
        return;
    }
    if high < 0x80 || memchr::memchr(0xc2, b).is_none() {
        // No no-break space: only the line breaks and tabs, found with memchr.
        let mut run = 0;
        for i in memchr::memchr3_iter(b'\r', b'\n', b'\t', b) {
            // ASCII bytes: char boundaries.
            out.push_str(&t[run..i]);
            out.push(' ');
            run = i + 1;
        }
        out.push_str(&t[run..]);
        return;
    }
    let (mut i, mut run) = (0, 0);
    while let Some(&c) = b.get(i) {
        let width = match c {
            b'\r' | b'\n' | b'\t' => 1,
            // C2 is never a continuation byte: `i` is a char boundary.
            0xc2 if b.get(i + 1) == Some(&0xa0) => 2,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&t[run..i]);
        out.push(' ');
        i += width;
        run = i;
    }
    out.push_str(&t[run..]);
}

fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use old::to_text;

    #[test]
    fn jsx_spacers_are_blanks() {
        for (t, want) in [
            (
                "Код доступа:{' '}\n<strong>7kq2Wd</strong>",
                "Код доступа: \n<strong>7kq2Wd</strong>",
            ),
            ("408212{\" \"}x {' '}{\" \"}", "408212 x   "),
            // Not spacers: other quotes, other contents, a brace alone.
            (
                "{' \"} {\" '} {'  '} {' x'} a} {}",
                "{' \"} {\" '} {'  '} {' x'} a} {}",
            ),
            ("é{' '}ü", "é ü"),
        ] {
            assert_eq!(jsx_spacers_blank(t), want, "{t:?}");
        }
        assert!(matches!(
            jsx_spacers_blank("no braces {x}"),
            Cow::Borrowed(_)
        ));
    }

    /// The converter as it was before it held back the white space cleaning trims: raw text
    /// (`clean` false) is what the new converter is checked against, through
    /// [`extract::clean_text`].
    pub(super) mod old {
        use super::super::{extract, finish_anchor, join_href, skip_to_close, tag_kind, Tag};
        use std::borrow::Cow;

        pub(crate) fn to_clean_text(html: &str) -> String {
            convert(html, true)
        }

        pub(crate) fn to_text(html: &str) -> String {
            convert(html, false)
        }

        /// The text being written, and where its first line not yet cleaned starts.
        struct Out {
            text: String,
            clean: bool,
            dirty: usize,
            /// Spaces that belong at the end of `text` but are written only if more follows on the
            /// line (cleaning trims them from a line's end, and HTML has many before each `</tr>`).
            /// Always 0 while an anchor is open.
            spaces: usize,
        }

        impl Out {
            /// Writes the text between two tags, entities decoded.
            fn push_text(&mut self, raw: &str, anchor_closed: bool) {
                if raw.is_empty() {
                    return;
                }
                let decoded = if raw.contains('&') {
                    html_escape::decode_html_entities(raw)
                } else {
                    Cow::Borrowed(raw)
                };
                let mut t = &*decoded;
                if self.clean && anchor_closed && self.text.len() == self.dirty {
                    // At the start of a line cleaning would strip anyway (ASCII white space and '>'
                    // are stripped from a line's start, whatever follows): HTML indentation is not
                    // written. Inside an anchor the raw text is kept for `finish_anchor`.
                    t = t.trim_start_matches(|c: char| {
                        matches!(
                            c,
                            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '>' | '\u{a0}'
                        )
                    });
                }
                if self.clean
                    && anchor_closed
                    && t.bytes().all(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
                {
                    // Written as spaces (see `push_text`), if at all.
                    self.spaces += t.len();
                    return;
                }
                self.flush();
                push_text(&mut self.text, t);
            }

            /// Writes the spaces held back: something other than white space follows on the line.
            fn flush(&mut self) {
                push_spaces(&mut self.text, self.spaces);
                self.spaces = 0;
            }

            /// A table cell's space.
            fn space(&mut self, anchor_closed: bool) {
                if self.clean && anchor_closed {
                    self.spaces += 1;
                } else {
                    self.flush();
                    self.text.push(' ');
                }
            }

            /// Ends a line; cleans what is pending unless an open anchor may still rewrite it.
            fn line_break(&mut self, anchor_open: bool) {
                if self.clean && !anchor_open {
                    // The spaces held back end the line: cleaning would trim them.
                    self.spaces = 0;
                    extract::clean_tail(&mut self.text, self.dirty);
                    self.text.push('\n');
                    self.dirty = self.text.len();
                } else {
                    self.text.push('\n');
                }
            }
        }

        fn convert(html: &str, clean: bool) -> String {
            let mut out = Out {
                text: String::with_capacity(html.len() / 2),
                clean,
                dirty: 0,
                spaces: 0,
            };
            let mut rest = html;
            // The href of the innermost open join-link anchor, and where its text starts in `out`.
            let mut anchor: Option<(String, usize)> = None;
            // memchr: '<' is ASCII, so the index is a char boundary.
            while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
                out.push_text(&rest[..lt], anchor.is_none());
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
                    out.flush();
                    out.text.push('<');
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
                let name = &bare[..name_len];
                if !closing && super::is_autolink(name) {
                    out.push_text(tag, anchor.is_none());
                    continue;
                }
                match tag_kind(name) {
                    Tag::Skip if !closing => rest = skip_to_close(rest, name),
                    Tag::Anchor if closing => {
                        if let Some((href, start)) = anchor.take() {
                            finish_anchor(&mut out.text, start, &href);
                        }
                    }
                    Tag::Anchor => {
                        if let Some(href) = join_href(tag) {
                            out.flush();
                            anchor = Some((href, out.text.len()));
                        }
                    }
                    Tag::Block => out.line_break(anchor.is_some()),
                    Tag::Cell if closing && anchor.is_none() => {
                        out.flush();
                        out.text.push('\t');
                    }
                    Tag::Cell => out.space(anchor.is_none()),
                    Tag::Skip | Tag::Other => {}
                }
            }
            out.push_text(rest, anchor.is_none());
            if let Some((href, start)) = anchor.take() {
                finish_anchor(&mut out.text, start, &href);
            }
            if clean {
                // The text's last line ends with '\n' too.
                out.line_break(false);
            }
            out.text
        }

        /// The end of a tag, skipping '>' inside quoted attribute values.
        pub(super) fn find_tag_end(s: &str) -> Option<usize> {
            // The characters looked at are ASCII, so byte positions are char boundaries.
            let b = s.as_bytes();
            if b.first() == Some(&b'<') {
                return None;
            }
            let mut i = 0;
            loop {
                let j = i + find_any(b.get(i..)?, [b'>', b'"', b'\''])?;
                let q = b[j];
                if q == b'>' {
                    return Some(j);
                }
                // A quoted value: its end is the same quote again (none: the tag never ends).
                i = j + 1 + find_any(b.get(j + 1..)?, [q])? + 1;
            }
        }

        fn push_text(out: &mut String, decoded: &str) {
            let b = decoded.as_bytes();
            // Text between two tags is mostly indentation: spaces, line breaks, tabs, all written
            // as spaces.
            if b.iter().all(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t')) {
                push_spaces(out, b.len());
                return;
            }
            // Copy runs of ordinary text at once; only line breaks, tabs and no-break spaces (UTF-8
            // C2 A0; C2 is never a continuation byte) become spaces.
            let (mut i, mut run) = (0, 0);
            while let Some(p) = b
                .get(i..)
                .and_then(|r| find_any(r, [b'\r', b'\n', b'\t', 0xc2]))
            {
                i += p;
                let width = match b[i] {
                    0xc2 if b.get(i + 1) != Some(&0xa0) => {
                        i += 1;
                        continue;
                    }
                    0xc2 => 2,
                    _ => 1,
                };
                out.push_str(&decoded[run..i]);
                out.push(' ');
                i += width;
                run = i;
            }
            out.push_str(&decoded[run..]);
        }

        fn push_spaces(out: &mut String, mut n: usize) {
            const SPACES: &str = "                                                                ";
            while n > 0 {
                let k = n.min(SPACES.len());
                out.push_str(&SPACES[..k]);
                n -= k;
            }
        }

        /// Position of the first byte of `hay` that is one of `set`. Eight bytes are tested at a
        /// time (a word holds a zero byte iff `(x - 0x01..01) & !x & 0x80..80` is not zero), as
        /// tags and text runs are long and the bytes looked for rare.
        pub(super) fn find_any<const N: usize>(hay: &[u8], set: [u8; N]) -> Option<usize> {
            const LO: u64 = 0x0101_0101_0101_0101;
            const HI: u64 = 0x8080_8080_8080_8080;
            let mut i = 0;
            for chunk in hay.chunks_exact(8) {
                let mut x = [0u8; 8];
                x.copy_from_slice(chunk);
                let x = u64::from_le_bytes(x);
                let hit = set.iter().fold(0, |acc, &c| {
                    let y = x ^ (LO * u64::from(c));
                    acc | (y.wrapping_sub(LO) & !y & HI)
                });
                if hit != 0 {
                    break;
                }
                i += 8;
            }
            hay.get(i..)?
                .iter()
                .position(|c| set.contains(c))
                .map(|p| i + p)
        }
    }

    /// A paragraph's source line breaks and indentation read as one space, as a browser shows
    /// them; block tags still end lines.
    #[test]
    fn white_space_inside_a_line_collapses() {
        let h = "<p>X is inviting you.\n      Topic: A  B <br>\n   Time: x <br>\n\
                 \t\tEvery week on Tue, 2 occurrence(s)\n        Jan 6, 2026 <br>&nbsp; &nbsp;y  z</p>";
        assert_eq!(
            to_clean_text(h),
            "\nX is inviting you. Topic: A B\nTime: x\nEvery week on Tue, 2 occurrence(s) Jan 6, 2026\ny z\n\n"
        );
        for (t, want) in [
            ("a  b   c", "a b c"),
            ("a b", "a b"),
            ("", ""),
            ("ab  ", "ab "),
            ("a \t  b\t\tc\td", "a\tb\tc\td"),
            ("a\t", "a\t"),
        ] {
            let mut t = t.to_owned();
            collapse_spaces(&mut t);
            assert_eq!(t, want);
        }
    }

    /// A table row reads as a browser's text of it: a tab between cells, none at the row's
    /// ends, the indentation around it gone (Zoom's webinar registration mail).
    #[test]
    fn table_cells_end_with_a_tab() {
        let h = "<table>\n  <tr>\n    <td valign=\"top\">Date & Time</td>\n    <td>Apr 5, 2026 03:00 PM</td>\n  </tr>\n\
                 <tr><td></td><td> Passcode </td><td></td><td>620874</td></tr><tr><td><a href=\"https://zoom.us/j/1\">x</td></a></td></tr></table>";
        let t = to_clean_text(h);
        assert!(t.contains("\nDate & Time\tApr 5, 2026 03:00 PM\n"), "{t:?}");
        assert!(t.contains("\nPasscode\t620874\n"), "{t:?}");
        assert_same(h);
    }

    /// A React page's href is a JSX expression holding a string literal.
    #[test]
    fn jsx_hrefs_are_read() {
        for h in [
            "<a href={'https://zoom.us/j/981646663'}>Kliknij</a>",
            "<a href={ \"https://zoom.us/j/981646663\" }>Kliknij</a>",
            "<a href={`https://zoom.us/j/981646663`}>Kliknij</a>",
        ] {
            let t = to_clean_text(h);
            assert!(
                t.contains("Kliknij https://zoom.us/j/981646663"),
                "{h:?}: {t:?}"
            );
        }
    }

    #[test]
    fn markdown_autolinks_stay_as_text() {
        let t = to_clean_text(
            "### News <a name=\"x\"/></a>\n\n**Zoom link:** <https://a.zoomgov.com/j/1602639518?pwd=Zn&amp;x=1>\n<HTTP://b> <httpx://c>",
        );
        assert!(
            t.contains("**Zoom link:** https://a.zoomgov.com/j/1602639518?pwd=Zn&x=1"),
            "{t}"
        );
        assert!(t.contains("HTTP://b"), "{t}");
        assert!(!t.contains("httpx"), "{t}");
        assert_same("<p>x <https://zoom.us/j/123456789> y</p><a href=\"https://zoom.us/j/1\"><https://q></a>");
    }

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

    /// Every HTML body (decoded as the parser loads it) and every raw input of the fixtures.
    fn fixture_html() -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["fixtures/invitations", "fixtures/corpus/invitations"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
            let mut paths: Vec<_> = std::fs::read_dir(&dir)
                .expect("fixture folder exists")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e != "json" && e != "failed"))
                .collect();
            paths.sort();
            for p in paths {
                let bytes = std::fs::read(&p).expect("fixture readable");
                if let Ok(loaded) = super::super::mime::load(&bytes) {
                    out.extend(
                        loaded
                            .docs
                            .into_iter()
                            .filter(|d| d.kind == super::super::mime::DocKind::Html)
                            .map(|d| d.text),
                    );
                }
                out.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        out
    }

    fn assert_same(h: &str) {
        let new = to_clean_lines(h);
        let head = || h.chars().take(120).collect::<String>();
        assert_eq!(new, extract::clean_text(&to_text(h)), "{}", head());
        assert_eq!(new, old::to_clean_text(h), "{}", head());
    }

    /// Cleaning each line as it ends gives what cleaning the whole converted text gives, on the
    /// fixtures and on cuts and splices of them with the markup the converter reacts to.
    #[test]
    fn clean_lines_match_clean_text_of_to_text() {
        let texts = fixture_html();
        assert!(texts.len() > 80, "fixture texts: {}", texts.len());
        for t in &texts {
            assert_same(t);
        }
        let glue = [
            "", "<br>", "</a>", "<a href=\"https://zoom.us/j/81234567890?pwd=x\">", "<p>",
            "\n", "\r\n", "&nbsp;", "\u{a0}", "\u{200b}", "\u{3000}", "> ", "\u{feff}>",
            "<a href='https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us%2Fj%2F81234567890%0A%3Fpwd%3Dx&data=1'>",
            "https://www.google.com/url?q=https://zoom.us/j/812345678%0A90&sa=D ", "<td>",
            "<style>", "</STYLE >", "<!--", "-->", "<", ">", "\"", "&#10;", "&amp;", "Ω",
            "<a href=\"https://zoom.us/j/1234567&#10;890\">", "  \t", "<a>", "</div>",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let html: Vec<&String> = texts.iter().filter(|t| t.contains('<')).collect();
        for _ in 0..3000 {
            let a = html[next(html.len())];
            let b = html[next(html.len())];
            let cut = |t: &str, at: usize| {
                let mut at = at.min(t.len());
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                at
            };
            let i = cut(a, next(a.len() + 1));
            let j = cut(b, next(b.len() + 1));
            let k = cut(b, j + next(400));
            let mut m = String::new();
            m.push_str(&a[..i]);
            for _ in 0..next(4) {
                m.push_str(glue[next(glue.len())]);
            }
            m.push_str(&b[j..k]);
            m.push_str(glue[next(glue.len())]);
            m.push_str(&a[i..]);
            assert_same(&m);
        }
        for g in glue {
            assert_same(g);
            assert_same(&format!("x{g}y<br>{g}"));
        }
    }
    /// The SIMD tag end search against the old word-at-a-time one, and the old word-at-a-time
    /// search against a byte-by-byte one, at every offset of the fixtures.
    #[test]
    fn find_tag_end_matches_the_old_one() {
        let mut texts = fixture_html();
        texts.push("\u{a0}\u{80}\u{ff}>\"'\r\n\t\x00\x01\x7f\u{100}<".repeat(3));
        texts.push("a=\"x>y\" b='>' c>".into());
        texts.push("<a '".into());
        for t in &texts {
            let b = t.as_bytes();
            for i in (0..b.len()).filter(|i| t.is_char_boundary(*i)).step_by(3) {
                assert_eq!(find_tag_end(&t[i..]), old::find_tag_end(&t[i..]));
            }
            for i in (0..b.len()).step_by(7) {
                let hay = &b[i..];
                let naive = |set: &[u8]| hay.iter().position(|c| set.contains(c));
                assert_eq!(old::find_any(hay, [b'>', b'"', b'\'']), naive(b">\"'"));
                assert_eq!(
                    old::find_any(hay, [b'\r', b'\n', b'\t', 0xc2]),
                    naive(b"\r\n\t\xc2")
                );
            }
        }
    }
}
