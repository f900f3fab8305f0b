//! Documents to an invitation: picks the join link, then reads the passcode typed near it (never
//! the dial-in one), the topic, time, recurrence, organizer and locale from the same text, and
//! fills gaps from the other bodies and the calendar.
//!
//! Must never: take a value from the phone/SIP/H.323 part when a typed one exists, let the
//! text's meeting ID override the URL's, or return an invitation without a join link.

use super::labels::{self, lang_of};
use super::mime::{Doc, DocKind, Loaded};
use super::url::{self, JoinLink, LinkKind};
use super::{html, ics, time, CalendarRef, Invitation, MeetingKind, NotAnInvitation};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

/// One body as clean text lines.
struct TextDoc {
    text: String,
    links: Vec<JoinLink>,
}

/// A body as clean text: redirect links unwrapped, each line trimmed, quoting (`>`) stripped,
/// no-break and ideographic spaces made plain, invisible characters dropped; every line, the last
/// one too, ends with '\n'.
pub(super) fn clean_text(raw: &str) -> String {
    let raw = url::unwrap_redirects_in_text(raw);
    let mut out = String::with_capacity(raw.len() + 1);
    push_clean_lines(&mut out, &raw);
    out.push('\n');
    out
}

/// Cleans `text[from..]` in place as [`clean_text`] would (without the final '\n'), `from`
/// being 0 or just after a '\n': the HTML converter cleans each line as it ends, so HTML is not
/// copied a second time. A redirect link never spans a line break, so unwrapping the lines one
/// group at a time finds the same links as unwrapping the whole text.
pub(super) fn clean_tail(text: &mut String, from: usize) {
    let Some(tail) = text.get(from..) else {
        return;
    };
    let b = tail.as_bytes();
    // Most lines the converter ends are ASCII, hold no "://" (every redirect link does) and no
    // '\n': only trimmed, by bytes. Tested without an early exit, which the compiler turns
    // into SIMD.
    let (mut high, mut colon, mut lf) = (0u8, false, false);
    for &c in b {
        high |= c;
        colon |= c == b':';
        lf |= c == b'\n';
    }
    if colon && url::has_colon_slashes(b) {
        if let std::borrow::Cow::Owned(unwrapped) = url::unwrap_redirects_in_text(tail) {
            text.truncate(from);
            push_clean_lines(text, &unwrapped);
            return;
        }
    }
    if !lf {
        // One line, the usual case: mostly only trimmed, which needs no copy.
        let (start, end, map) = if high < 0x80 {
            let (start, end) = ascii_span(b);
            (start, end, false)
        } else {
            clean_span(tail, true)
        };
        if !map {
            text.truncate(from + end);
            if start > 0 {
                text.replace_range(from..from + start, "");
            }
            return;
        }
    }
    let tail = text[from..].to_owned();
    text.truncate(from);
    push_clean_lines(text, &tail);
}

/// The lines of `raw` cleaned, joined by '\n' (none after the last).
fn push_clean_lines(out: &mut String, raw: &str) {
    // One pass over the lines: a run of lines that are already clean (most of them) is copied
    // whole, with its line breaks, when a line that is not ends it.
    // Most plain bodies are ASCII: their lines are trimmed by bytes, and hold nothing to map.
    let ascii = raw.is_ascii();
    // Nor do most other texts hold a character to map: then no line is searched for one.
    let mappable = !ascii && has_special(raw);
    let mut run = 0;
    let mut start = 0;
    for line in super::split_lf(raw) {
        let end = start + line.len();
        let (s, e, map) = if ascii {
            let (s, e) = ascii_span(line.as_bytes());
            (s, e, false)
        } else {
            clean_span(line, mappable)
        };
        if s != 0 || e != line.len() || map {
            // '\n' is ASCII: `run`, `start` and `end` are char boundaries.
            out.push_str(&raw[run..start]);
            let t = &line[s..e];
            if map {
                push_mapped(out, t);
            } else {
                out.push_str(t);
            }
            run = end;
        }
        start = end + 1;
    }
    out.push_str(raw.get(run..).unwrap_or(""));
}

/// Writes `t` with the characters [`special`] names replaced by a space or dropped, copying
/// the runs between them.
fn push_mapped(out: &mut String, t: &str) {
    let b = t.as_bytes();
    let (mut i, mut run) = (0, 0);
    while let Some(p) = b
        .get(i..)
        .and_then(|r| r.iter().position(|c| is_special_lead(*c)))
    {
        i += p;
        match special(&b[i..]) {
            Some((width, space)) => {
                // A lead byte: `i` and `i + width` are char boundaries.
                out.push_str(&t[run..i]);
                if space {
                    out.push(' ');
                }
                i += width;
                run = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&t[run..]);
}

/// The lead bytes of the characters [`special`] matches (never continuation bytes).
fn is_special_lead(c: u8) -> bool {
    matches!(c, 0xc2 | 0xe2 | 0xe3 | 0xef)
}

/// The character `b` starts with, if cleaning touches it: its length in UTF-8 and whether it
/// becomes a space (no-break and ideographic spaces) or is dropped (invisible characters mailers
/// put inside long URLs and labels). Read as bytes, without decoding: U+00A0, U+3000, U+2007 and
/// U+202F are spaces; U+00AD, U+200B..200F, U+2060 and U+FEFF are dropped.
fn special(b: &[u8]) -> Option<(usize, bool)> {
    match b {
        [0xc2, 0xa0, ..] => Some((2, true)),
        [0xc2, 0xad, ..] => Some((2, false)),
        [0xe3, 0x80, 0x80, ..] | [0xe2, 0x80, 0x87 | 0xaf, ..] => Some((3, true)),
        [0xe2, 0x80, 0x8b..=0x8f, ..] | [0xe2, 0x81, 0xa0, ..] | [0xef, 0xbb, 0xbf, ..] => {
            Some((3, false))
        }
        _ => None,
    }
}

/// True when `t` holds a character [`push_mapped`] replaces or drops. Walks `t` a character
/// at a time (by its lead byte), eight bytes at a time over ASCII.
fn needs_map(t: &str) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    if t.is_ascii() {
        return false;
    }
    let b = t.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += match c {
            ..0x80 => match b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
                Some(w) if u64::from_le_bytes(w) & HI == 0 => 8,
                _ => 1,
            },
            _ if is_special_lead(c) && special(&b[i..]).is_some() => return true,
            0x80..0xe0 => 2,
            0xe0..0xf0 => 3,
            _ => 4,
        };
    }
    false
}

/// [`clean_span`] of an ASCII line (no '\n'): the range left after trimming white space (ASCII
/// white space and 0x0B, '\r' among them) and, at the start, quoting.
fn ascii_span(b: &[u8]) -> (usize, usize) {
    let strip = |c: u8| c.is_ascii_whitespace() || c == 0x0b;
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if !strip(f) && f != b'>' && !strip(l) => (0, b.len()),
        _ => {
            let start = b
                .iter()
                .position(|c| !(strip(*c) || *c == b'>'))
                .unwrap_or(b.len());
            let end = b
                .iter()
                .rposition(|c| !strip(*c))
                .map_or(start, |e| (e + 1).max(start));
            (start, end)
        }
    }
}

/// Whether `t` holds a character [`push_mapped`] replaces or drops, as [`needs_map`] says, but
/// with SIMD searches for the lead bytes: 0xc2, 0xe2 and 0xef are rare in most texts, while
/// 0xe3 (kana, CJK punctuation) is common, so its one special character, U+3000, is searched
/// for whole. All four are lead bytes, found only where a character starts.
fn has_special(t: &str) -> bool {
    let b = t.as_bytes();
    memchr::memchr3_iter(0xc2, 0xe2, 0xef, b).any(|i| b.get(i..).and_then(special).is_some())
        || memchr::memmem::find(b, "\u{3000}".as_bytes()).is_some()
}

/// One line (no '\n') cleaned: the byte range left after trimming and quote stripping, and
/// whether characters in it must still be replaced or dropped (looked for only when
/// `mappable`, false when the whole text is known to hold none).
fn clean_span(line: &str, mappable: bool) -> (usize, usize, bool) {
    // Most lines neither start nor end with white space, nor start with '>': nothing to trim
    // (on an ASCII character, `char::is_whitespace` is the byte test below: ASCII white space
    // and 0x0B).
    if let (Some(f), Some(l)) = (line.chars().next(), line.chars().next_back()) {
        if !f.is_whitespace() && f != '>' && !l.is_whitespace() {
            return (0, line.len(), mappable && needs_map(line));
        }
    }
    // An ASCII line: trimmed by bytes (the steps below do the same to it).
    if line.is_ascii() {
        let (start, end) = ascii_span(line.as_bytes());
        return (start, end, false);
    }
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut t = line.trim_start();
    // Quoting at any depth: "> > >", ">>>".
    while let Some(r) = t.strip_prefix('>') {
        t = r.trim_start();
    }
    let start = line.len() - t.len();
    let t = t.trim_end();
    (start, start + t.len(), mappable && needs_map(t))
}

#[cfg(test)]
mod clean_text_tests {
    use super::*;

    /// `clean_text` as it was before its line cleaning was shared with the HTML converter.
    fn old_clean_text(raw: &str) -> String {
        let raw = url::unwrap_redirects_in_text(raw);
        let mut out = String::with_capacity(raw.len() + 1);
        for line in raw.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let mut t = line.trim_start();
            while let Some(r) = t.strip_prefix('>') {
                t = r.trim_start();
            }
            for c in t.trim_end().chars() {
                match c {
                    '\u{a0}' | '\u{3000}' | '\u{2007}' | '\u{202f}' => out.push(' '),
                    '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
                    | '\u{200e}' | '\u{200f}' => {}
                    c => out.push(c),
                }
            }
            out.push('\n');
        }
        out
    }

    /// On every fixture's raw text and on lines built from the characters cleaning looks at.
    #[test]
    fn clean_text_matches_the_old_one() {
        let texts = super::super::fixture_texts();
        for t in &texts {
            assert_eq!(clean_text(t), old_clean_text(t));
            assert_eq!(has_special(t), needs_map(t));
        }
        let parts = [
            " ", "\t", "\r", "\n", "\x0b", ">", "a", "é", "\u{a0}", "\u{3000}", "\u{200b}",
            "\u{feff}", "\u{ad}", "\u{2028}", "\u{85}", "\u{2060}", "\u{202f}", "ｘ", "：", "\r\n",
            "\u{2007}", "\u{200f}", "\u{2006}", "\u{3001}", "\u{fffd}", "A", "\x0c",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let t = format!("{a}{b}x{c}{a}\n{c}{b}");
                    assert_eq!(clean_text(&t), old_clean_text(&t), "{t:?}");
                }
            }
        }
        // Long runs of clean lines around a dirty one, and a text without a final line break.
        for t in [
            "a\nb\n c\nd\ne",
            "a\r\nb",
            "\n\n",
            "",
            "x",
            "\u{a0}",
            "a\nb\n",
        ] {
            assert_eq!(clean_text(t), old_clean_text(t), "{t:?}");
        }
    }

    /// The byte patterns of `special` against the characters the old cleaning matched, for
    /// every character, followed by every kind of byte.
    #[test]
    fn special_matches_the_old_characters() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let old = match c {
                '\u{a0}' | '\u{3000}' | '\u{2007}' | '\u{202f}' => Some(true),
                '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
                | '\u{200e}' | '\u{200f}' => Some(false),
                _ => None,
            };
            for (pre, next) in [
                ("", ""),
                ("", "a"),
                ("abcdefg", "\u{80}"),
                ("12345678", "\u{3000}"),
            ] {
                let s = format!("{pre}{c}{next}");
                let new = special(&s.as_bytes()[pre.len()..]);
                assert_eq!(new.map(|(_, space)| space), old, "{c:?}");
                if let Some((width, _)) = new {
                    assert_eq!(width, c.len_utf8());
                    assert!(is_special_lead(s.as_bytes()[pre.len()]));
                }
                assert_eq!(needs_map(&s), old.is_some() || needs_map(next));
                assert_eq!(has_special(&s), needs_map(&s), "{c:?}");
            }
        }
    }
}

/// Where one readable body comes from, in the order bodies are read: plain parts, HTML parts,
/// then calendars.
enum Source<'a> {
    Plain(&'a str),
    /// A body made for [`Docs::fallbacks`]: an HTML body's text with the join links of its
    /// tags after it, a plain body with its HTML character references decoded, or one with
    /// its links' broken pieces joined.
    Decoded(String),
    /// A body made for [`Docs::fallbacks`] whose only links are a host's start links without
    /// the host's token ([`url::find_start_links`]); an HTML body as its text, those links
    /// after it.
    StartLinks(String),
    Html(&'a str),
    Calendar(&'a ics::Calendar),
}

/// A plain body's clean text: JSON's escapes of a URL's characters read first (`?pwd\u003d…`,
/// Go's output), and JSX's spacers (`{' '}`) as the blanks they render.
fn plain_text(t: &str) -> String {
    clean_text(&html::jsx_spacers_blank(&super::json::url_escapes_decoded(
        t,
    )))
}

impl Source<'_> {
    fn text(&self) -> TextDoc {
        let raw = match self {
            Source::Plain(t) => plain_text(t),
            Source::Decoded(t) => plain_text(t),
            Source::StartLinks(t) => {
                let text = clean_text(t);
                let links = url::find_start_links(&text);
                return TextDoc { text, links };
            }
            Source::Html(h) => html::to_clean_text(&html::jsx_spacers_blank(h)),
            Source::Calendar(c) => {
                let mut t = String::new();
                if let Some(d) = &c.description {
                    // Google Calendar keeps a description typed with formatting as HTML.
                    if super::mime::looks_like_html(d) {
                        t.push_str(&html::to_clean_text(d));
                    } else {
                        t.push_str(d);
                    }
                    t.push('\n');
                }
                if let Some(l) = &c.location {
                    t.push_str(l);
                    t.push('\n');
                }
                for l in &c.links {
                    t.push_str(l);
                    t.push('\n');
                }
                clean_text(&t)
            }
        };
        let links = url::find_join_links(&raw);
        TextDoc { text: raw, links }
    }
}

/// The bodies as clean text, each converted (HTML to text, link search) only when first read:
/// most invitations are settled by their first body, and the HTML twin of a plain part is the
/// costliest one to convert.
struct Docs<'a> {
    /// Each body's source, and its text once converted.
    entries: Vec<(Source<'a>, Option<TextDoc>)>,
}

impl<'a> Docs<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        let mut entries = Vec::with_capacity(loaded.docs.len() + loaded.calendars.len());
        for kind in [DocKind::Plain, DocKind::Html] {
            entries.extend(loaded.docs.iter().filter(|d| d.kind == kind).map(|d| {
                let source = if kind == DocKind::Plain {
                    Source::Plain(&d.text)
                } else {
                    Source::Html(&d.text)
                };
                (source, None)
            }));
        }
        entries.extend(loaded.calendars.iter().map(|c| (Source::Calendar(c), None)));
        Docs { entries }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Where no body holds a join link: each HTML body whose source (tags included) holds one,
    /// as its text with those links after it, then each plain body that holds character
    /// references with them decoded, then each with its percent-encoded links decoded; the
    /// first of these that holds a join link. A page's join link may sit in an attribute that
    /// is not an anchor's href (`<Zoom link={'https://uio.zoom.us/j/…'} />`,
    /// a React component on a university's event page); a database dump may keep a text
    /// HTML-escaped (`https:&#047;&#047;us04web.zoom.us&#047;j&#047;…`, a complaints portal's
    /// SQL dump). Where none of those holds one either: each body with its links' pieces
    /// joined where blanks broke them ([`url::with_broken_links_joined`]), then the start
    /// links without the host's token ([`url::find_start_links`]) of each body that says
    /// "URL to join".
    fn fallbacks(&mut self, loaded: &'a Loaded) -> Option<usize> {
        let from = self.entries.len();
        // Only a body that could hold a join link's path is read again (a refusal's bodies,
        // most often, hold none).
        let has_path = |t: &str| {
            ["/j/", "/w/", "/my/", "confno", "&#"]
                .iter()
                .any(|p| t.contains(p))
        };
        // The HTML body as text, its source's join links on lines after it: what the labels
        // say is read from the text a reader sees, never from tags.
        self.entries.extend(
            (loaded.docs.iter())
                .filter(|d| d.kind == DocKind::Html && has_path(&d.text))
                .filter_map(|d| {
                    let links = url::find_join_links(&d.text);
                    if links.is_empty() {
                        return None;
                    }
                    let mut text = html::to_clean_text(&d.text);
                    for l in links {
                        text.push('\n');
                        text.push_str(&l.url);
                    }
                    text.push('\n');
                    Some((Source::Decoded(text), None))
                }),
        );
        self.entries.extend(
            (loaded.docs.iter())
                .filter(|d| d.kind == DocKind::Plain && d.text.contains("&#"))
                .map(|d| {
                    let decoded = html::decode_references(&d.text);
                    (Source::Decoded(decoded), None)
                }),
        );
        // A link kept percent-encoded (`https%3A%2F%2Fus02web.zoom.us%2Fj%2F…`, a form's field
        // in a database dump), decoded where it stands.
        self.entries.extend(
            (loaded.docs.iter())
                .filter(|d| d.kind == DocKind::Plain)
                .filter_map(|d| url::with_encoded_links_decoded(&d.text))
                .map(|t| (Source::Decoded(t), None)),
        );
        if let Some(i) = (from..self.entries.len()).find(|&i| !self.get(i).links.is_empty()) {
            return Some(i);
        }
        // Then links broken by blanks, and last a host's start link without its token.
        let from = self.entries.len();
        fn as_text(d: &Doc) -> Cow<'_, str> {
            match d.kind {
                DocKind::Plain => Cow::Borrowed(d.text.as_str()),
                DocKind::Html => Cow::Owned(html::to_clean_text(&d.text)),
            }
        }
        self.entries.extend(
            (loaded.docs.iter())
                .filter(|d| memchr::memmem::find(d.text.as_bytes(), b"://").is_some())
                .filter_map(|d| url::with_broken_links_joined(&as_text(d)))
                .map(|t| (Source::Decoded(t), None)),
        );
        self.entries.extend(
            (loaded.docs.iter())
                // Only under Zoom's "Please click this URL to join.": Zoom's notices to a
                // host ("… has joined your Personal Meeting Room") carry a start link too.
                .filter(|d| {
                    d.text.contains("/s/") && d.text.to_ascii_lowercase().contains("url to join")
                })
                .map(|d| {
                    let mut text = as_text(d).into_owned();
                    if d.kind == DocKind::Html {
                        for l in url::find_start_links(&d.text) {
                            text.push('\n');
                            text.push_str(&l.url);
                        }
                        text.push('\n');
                    }
                    (Source::StartLinks(text), None)
                }),
        );
        (from..self.entries.len()).find(|&i| !self.get(i).links.is_empty())
    }

    /// Body `i`, converted on first use.
    fn get(&mut self, i: usize) -> &TextDoc {
        let (source, done) = &mut self.entries[i];
        done.get_or_insert_with(|| source.text())
    }

    fn take(&mut self, i: usize) -> TextDoc {
        self.get(i);
        self.entries[i].1.take().expect("converted just above")
    }
}

/// Reads the invitation, or says why there is none.
pub(crate) fn extract(loaded: &Loaded) -> Result<Invitation, NotAnInvitation> {
    let mut docs = Docs::new(loaded);
    let Some(primary_ix) = (0..docs.len())
        .find(|&i| !docs.get(i).links.is_empty())
        .or_else(|| docs.fallbacks(loaded))
    else {
        return Err(no_link_reason(loaded));
    };
    let mut primary = docs.take(primary_ix);
    if cancelled_in_text(loaded, &primary.text) {
        return Err(cancellation());
    }
    // The link is borrowed from the primary body until the invitation is built, then moved out
    // of it; only a better one from elsewhere is copied.
    let link_ix = primary
        .links
        .iter()
        .position(|l| l.kind != LinkKind::App)
        .unwrap_or(0);
    let first = primary
        .links
        .get(link_ix)
        .ok_or(NotAnInvitation::NoJoinLink)?;
    let mut better: Option<JoinLink> = None;
    // The same meeting given with its pwd elsewhere (an href, another body): take that one.
    if !first.has_pwd() && first.meeting_id.is_some() {
        let is_better = |l: &JoinLink| {
            l.meeting_id == first.meeting_id && l.has_pwd() && l.kind != LinkKind::App
        };
        better = (0..docs.len()).find_map(|i| {
            let links = if i == primary_ix {
                &primary.links
            } else {
                &docs.get(i).links
            };
            links.iter().find(|l| is_better(l)).cloned()
        });
        if let Some(b) = &mut better {
            b.pos = first.pos;
        }
    }
    let link = better.as_ref().unwrap_or(first);

    let mut facts = read_facts(
        &primary.text,
        &primary.links,
        link.pos,
        link.meeting_id.as_deref(),
    );
    facts.primary_flags = facts.flags;
    for i in 0..docs.len() {
        if i == primary_ix || facts.complete() {
            continue;
        }
        let d = docs.get(i);
        let same = d.links.is_empty()
            || d.links.iter().any(|l| {
                l.meeting_id.is_some() && l.meeting_id == link.meeting_id || l.url == link.url
            });
        if !same {
            continue;
        }
        // Read around this body's link to the meeting, else from its start (the meeting ID is
        // the link's either way).
        let anchor = d
            .links
            .iter()
            .find(|l| l.meeting_id == link.meeting_id)
            .map_or(0, |l| l.pos);
        let other = read_facts(&d.text, &d.links, anchor, link.meeting_id.as_deref());
        facts.fill_from(other);
    }

    let calendar = pick_calendar(&loaded.calendars, link);
    let locale = facts.locale(&primary.text);

    // From here on the link's and the facts' values are moved into the invitation, not copied
    // (`link_ix` is in range: `first` was read there, and the links have not changed since).
    let mut link = match better {
        Some(b) => b,
        None => primary.links.swap_remove(link_ix),
    };
    let meeting_id = link.meeting_id.take().or(facts.text_meeting_id.take());

    // Start: a calendar's zoned DTSTART, unless the text says there is no fixed time and Zoom
    // made the calendar (its DTSTART is then only when the meeting was set up: a person's
    // calendar event holding such a meeting's text is at the event's time); else the text's.
    let mut start = None;
    let mut timezone = None;
    if !facts.time.no_fixed || calendar.is_some_and(|c| !c.made_by_zoom) {
        if let Some(c) = calendar.filter(|c| c.start_zoned && c.timezone.as_deref() != Some("UTC"))
        {
            start = c.start;
            timezone = c.timezone.clone();
        }
        if start.is_none() && facts.time.start.is_some() {
            start = facts.time.start;
            timezone = facts.time.timezone.take();
        }
        if start.is_none() {
            if let Some(c) = calendar.filter(|c| c.start_zoned) {
                start = c.start;
                timezone = c.timezone.clone();
            }
        }
    }
    if timezone.is_none() {
        // (Still there: taken above only when it gave `timezone` a value.)
        timezone = facts.time.timezone.take();
    }

    let topic = facts.topic.take().or_else(|| {
        calendar
            .and_then(|c| c.summary.clone())
            .filter(|s| !s.is_empty())
    });
    let organizer = facts
        .organizer
        .take()
        .or_else(|| calendar.and_then(|c| c.organizer.clone()));
    let recurrence = facts
        .recurrence
        .take()
        .or_else(|| calendar.and_then(|c| c.rrule.clone()));

    let flags = facts.primary_flags;
    let kind = if link.kind == LinkKind::Webinar || flags.webinar {
        MeetingKind::Webinar
    } else if link.kind == LinkKind::Personal || flags.personal {
        MeetingKind::Personal
    } else if flags.recurring
        || facts.time.no_fixed
        || recurrence.is_some()
        // Zoom's pre-2020 text left the Time line out for meetings with no fixed time; a
        // current one without it is an instant meeting, not a recurring one. A date given
        // elsewhere ("**Date**: Friday, 1 November 2019, 7am Boston/…") is a fixed time, even
        // where no zone places it.
        || (!facts.has_time_label
            && facts.has_phone_section
            && facts.old_format
            && start.is_none()
            && !facts.time.has_date)
    {
        MeetingKind::Recurring
    } else if meeting_id.as_ref().is_some_and(|id| id.len() == 10)
        && !link.host.ends_with("zoomgov.com")
    {
        // Personal meeting IDs are 10 digits (ZoomGov's scheduled ones can be too).
        MeetingKind::Personal
    } else {
        MeetingKind::Meeting
    };

    Ok(Invitation {
        meeting_id,
        passcode: facts.passcode.take(),
        join_url: link.url,
        host: link.host,
        kind,
        topic: without_url(topic),
        start,
        timezone,
        recurrence: without_url(recurrence),
        organizer: without_url(organizer),
        locale,
        calendar: calendar.and_then(|c| {
            c.uid.as_ref().map(|uid| CalendarRef {
                uid: uid.clone(),
                sequence: c.sequence,
                method: c.method.clone(),
            })
        }),
    })
}

/// A value offers show before anyone accepts, up to any URL in it ([`on_its_own`]'s cut):
/// whatever body or calendar field it came from (a calendar's SUMMARY or RRULE holding a
/// pasted link), the join link is never shown to interpreters who have not accepted. `None`
/// when nothing is left.
fn without_url(v: Option<String>) -> Option<String> {
    let v = v?;
    if !v.contains("://") {
        return Some(v);
    }
    let kept = on_its_own(&v);
    // A tag the URL stood in, left open by the cut (`<a href="`): dropped from its '<'.
    let kept = match (kept.rfind('<'), kept.rfind('>')) {
        (Some(lt), gt) if gt.is_none_or(|g| g < lt) => &kept[..lt],
        _ => kept,
    };
    let kept = kept.trim_end_matches(['"', '\'', '=', '(', '[', ':', ' ']);
    (!kept.is_empty()).then(|| kept.to_owned())
}

fn pick_calendar<'a>(cals: &'a [ics::Calendar], link: &JoinLink) -> Option<&'a ics::Calendar> {
    let mentions = |c: &ics::Calendar| {
        let id = link.meeting_id.as_deref().unwrap_or(&link.url);
        [c.description.as_deref(), c.location.as_deref()]
            .iter()
            .flatten()
            .any(|t| t.contains(id))
            || c.links.iter().any(|l| l.contains(id))
    };
    cals.iter().find(|c| mentions(c)).or_else(|| cals.first())
}

fn no_link_reason(loaded: &Loaded) -> NotAnInvitation {
    let from_zoom = loaded.from.as_deref().is_some_and(|f| {
        let domain = f.rsplit('@').next().unwrap_or("");
        ["zoom.us", "zoom.com", "zoomgov.com"]
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
    });
    if !from_zoom {
        return NotAnInvitation::NoJoinLink;
    }
    let subject = loaded.subject.as_deref().unwrap_or("").to_lowercase();
    let what = if subject.contains("password") {
        "a password reset"
    } else if subject.contains("recording") {
        "a cloud recording notice"
    } else if subject.contains("regist") {
        "a registration notice without a join link"
    } else if subject.contains("activat") || subject.contains("verif") {
        "an account activation"
    } else {
        "an account notice"
    };
    NotAnInvitation::NotInvitation(format!(
        "a Zoom account email ({what}), not a meeting invitation: no join link"
    ))
}

/// Whether the text the invitation would be read from is Google Calendar's notice that the
/// event was cancelled ("This event has been canceled and removed from your calendar.", a
/// reply quoting one), where no calendar states a method (a calendar's `METHOD:CANCEL` is
/// read as the cancellation it is, and finds its request by UID). A cancelled meeting must
/// never send an interpreter.
fn cancelled_in_text(loaded: &Loaded, text: &str) -> bool {
    static NOTICE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new("This event has been cancel"));
    let b = text.as_bytes();
    // Where the sentence opens a line (only blanks before it; quoting is already gone),
    // spelt "canceled" or "cancelled".
    // Read back from the sentence to the first byte that is not blank: a long line holding it
    // many times is not read back to its start for each.
    let opens_line = |at: usize| {
        b[..at]
            .iter()
            .rev()
            .take_while(|&&c| c != b'\n')
            .all(u8::is_ascii_whitespace)
            && matches!(b.get(at + 26..at + 28), Some(b"ed" | b"le"))
    };
    loaded.calendars.iter().all(|c| c.method.is_none()) && NOTICE.find_iter(b).any(opens_line)
}

/// The refusal of a cancellation notice without a calendar to find its request by.
fn cancellation() -> NotAnInvitation {
    NotAnInvitation::NotInvitation(
        "a notice that the meeting was cancelled (to cancel a request, reply \"cancel\" to \
         our confirmation of it)"
            .to_owned(),
    )
}

/// What one text says around its join link.
#[derive(Debug, Default)]
struct Facts {
    passcode: Option<String>,
    text_meeting_id: Option<String>,
    topic: Option<String>,
    time: time::TextTime,
    has_time_label: bool,
    has_phone_section: bool,
    recurrence: Option<String>,
    organizer: Option<String>,
    /// Label matches per language; a handful of languages at most, so a list, not a map.
    votes: Vec<(&'static str, usize)>,
    flags: labels::PhraseFlags,
    /// The 2017-2019 generation of Zoom's text ("Join from PC, Mac, Linux, iOS or Android").
    old_format: bool,
    /// The primary text's flags (kept when gaps are filled from other bodies).
    primary_flags: labels::PhraseFlags,
}

impl Facts {
    /// Nothing left that another body could fill.
    fn complete(&self) -> bool {
        self.passcode.is_some()
            && self.topic.is_some()
            && self.organizer.is_some()
            && (self.time.start.is_some() || self.time.no_fixed)
    }

    fn fill_from(&mut self, o: Facts) {
        if self.passcode.is_none() {
            self.passcode = o.passcode;
        }
        if self.text_meeting_id.is_none() {
            self.text_meeting_id = o.text_meeting_id;
        }
        if self.topic.is_none() {
            self.topic = o.topic;
        }
        if self.time.start.is_none()
            && !self.time.no_fixed
            && (o.time.start.is_some() || o.time.no_fixed)
        {
            self.time = o.time;
        }
        self.has_time_label |= o.has_time_label;
        if self.recurrence.is_none() {
            self.recurrence = o.recurrence;
        }
        if self.organizer.is_none() {
            self.organizer = o.organizer;
        }
        if self.votes.is_empty() {
            self.votes = o.votes;
        }
    }

    /// Whether a numeric date reads month first ("3/4/2021" as March 4): English has a vote.
    fn month_first(&self) -> bool {
        self.votes.iter().any(|(l, n)| *l == "en" && *n > 0)
    }

    fn vote(&mut self, lang: Option<&'static str>) {
        if let Some(l) = lang {
            match self.votes.iter_mut().find(|(v, _)| *v == l) {
                Some((_, n)) => *n += 1,
                None => self.votes.push((l, 1)),
            }
        }
    }

    fn locale(&self, text: &str) -> Option<String> {
        let max = self.votes.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if max == 0 {
            return script_lang(text)
                .or_else(|| labels::stopword_lang(&stopword_text(text)))
                .map(str::to_owned);
        }
        // The languages with the most votes (each language has one entry), without collecting
        // them: how many, the least in sorted order, and the least that is not English.
        let best = || {
            self.votes
                .iter()
                .filter(move |(_, n)| *n == max)
                .map(|(l, _)| *l)
        };
        let first = best().min();
        if best().nth(1).is_none() {
            return first.map(str::to_owned);
        }
        if let Some(s) = script_lang(text) {
            if best().any(|l| l == s) {
                return Some(s.to_owned());
            }
        }
        // Prefer a non-English language on a tie: English labels leak into localized texts.
        best()
            .filter(|l| *l != "en")
            .min()
            .or(first)
            .map(str::to_owned)
    }
}

/// The text the stopword vote reads: URLs blanked (a run of ASCII letters and digits followed by
/// `://`, to the next blank: a webinar link's `tk=E5YZhz_cGRVZ…O4.DQ…`), and each run of ASCII
/// letters and digits that holds both (`7e44e3cf1bf5285e32b9…`, a hash in a database row):
/// their one-letter pieces "e", "a" and "o" are Portuguese stopwords. Each is one blank in the
/// copy; borrowed when there is nothing to blank.
fn stopword_text(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let (mut digit, mut letter) = (false, false);
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_alphanumeric()) {
            digit |= c.is_ascii_digit();
            letter |= c.is_ascii_alphabetic();
            i += 1;
        }
        if b[i..].starts_with(b"://") {
            i = b[i..]
                .iter()
                .position(u8::is_ascii_whitespace)
                .map_or(b.len(), |k| i + k);
        } else if !(digit && letter) {
            continue;
        }
        // `start` and `i` stand at ASCII bytes (or the end): char boundaries.
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..start]);
        o.push(' ');
        copied = i;
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// The language a script gives away (kana, hangul, Cyrillic, Han), if any, from the first
/// 20,000 characters.
fn script_lang(text: &str) -> Option<&'static str> {
    let head = super::head_chars(text, 20_000);
    let mut counts = ScriptCounts::default();
    // Every script counted is non-ASCII: ASCII runs are skipped a byte at a time, and a char
    // is decoded only at a lead byte (never inside one, so every slice is on a boundary).
    let bytes = head.as_bytes();
    let mut i = 0;
    while let Some(p) = bytes
        .get(i..)
        .and_then(|r| r.iter().position(|b| *b >= 0x80))
    {
        let at = i + p;
        let Some(c) = head.get(at..).and_then(|r| r.chars().next()) else {
            break;
        };
        i = at + c.len_utf8();
        counts.add(c);
    }
    counts.lang()
}

/// Characters seen of each script [`script_lang`] tells by.
#[derive(Default)]
struct ScriptCounts {
    kana: usize,
    hangul: usize,
    cyrillic: usize,
    han: usize,
}

impl ScriptCounts {
    fn add(&mut self, c: char) {
        match c as u32 {
            0x3040..=0x30ff => self.kana += 1,
            0xac00..=0xd7af | 0x1100..=0x11ff => self.hangul += 1,
            0x0400..=0x04ff => self.cyrillic += 1,
            0x4e00..=0x9fff => self.han += 1,
            _ => {}
        }
    }

    /// Kana decides for Japanese even among Han characters (Japanese mixes both); Cyrillic
    /// needs more than three letters.
    fn lang(&self) -> Option<&'static str> {
        if self.kana > 0 {
            Some("ja")
        } else if self.hangul > 0 {
            Some("ko")
        } else if self.cyrillic > 3 {
            Some("ru")
        } else if self.han > 0 {
            Some("zh")
        } else {
            None
        }
    }
}

/// The offset where the line holding byte `pos` starts (`pos` itself when a line starts there;
/// a '\n' belongs to the line it ends). Found by one backward search, so that reading a text
/// needs no table of its lines.
fn line_start(text: &str, pos: usize) -> usize {
    let b = text.as_bytes();
    memchr::memrchr(b'\n', b.get(..pos).unwrap_or(b)).map_or(0, |i| i + 1)
}

/// The offset where the line after the one holding byte `pos` starts, if there is one.
fn next_line_start(text: &str, pos: usize) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memchr(b'\n', b.get(pos..)?).map(|i| pos + i + 1)
}

/// The lines of `text` from offset `from` (a line start) on, each with its start offset:
/// `text[from..].split('\n')`, the last (empty after a final '\n') included.
fn lines_from(text: &str, from: usize) -> impl Iterator<Item = (usize, &str)> + '_ {
    let mut start = from;
    super::split_lf(text.get(from..).unwrap_or("")).map(move |l| {
        let s = start;
        start += l.len() + 1;
        (s, l)
    })
}

/// `line` and `low_line` are the same line of a text and of its ASCII-lower-cased copy. The
/// number tests come first: they reject most prose lines within a character or two.
fn is_phone_line(line: &str, low_line: &str) -> bool {
    let l = line.trim();
    if l.is_empty() {
        return false;
    }
    // `low_line.trim()` without trimming again: lower-casing ASCII letters moves no white
    // space, so the trimmed line sits at the same offsets in both.
    let from = line.len() - line.trim_start().len();
    let low_l = low_line.get(from..from + l.len()).unwrap_or("");
    is_number_line(l) || has_one_tap(l) || labels::is_phone_header(low_l)
}

/// Whether `l` opens with a phone number, as the regex
/// `(?i)^(?:[•·*\-]\s*)?(?:[a-z]{2,3}:\s*)?\+?\(?\d[\d \-().]{7,}\d(?:\s|$|,|#)` matches it
/// (checked against it by the tests), in one pass and without the regex engine's per-search
/// setup, which cost more than the search on a short line.
///
/// The regex never has a choice to make before the number: each optional part is taken when
/// the text starts with its character (a bullet, a letter, '+', '('), as nothing that may come
/// after it starts with that character. The number is then a run of digits and ` -().` that
/// starts with a digit and holds a digit at its ninth character or later that is followed by
/// white space, ',', '#' or the end (a space inside the run counts as white space).
fn is_number_line(l: &str) -> bool {
    let mut rest = l;
    if let Some(r) = rest.strip_prefix(['•', '·', '*', '-']) {
        // `\s` is `char::is_whitespace` (checked by the tests), which `trim_start` trims.
        rest = r.trim_start();
    }
    if rest.starts_with(is_az) {
        // Two or three letters, then ':'.
        let mut letters = 0;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if !is_az(c) {
                end = i;
                break;
            }
            letters += 1;
            if letters > 3 {
                return false;
            }
        }
        match rest.get(end..).and_then(|r| r.strip_prefix(':')) {
            Some(r) if letters >= 2 => rest = r.trim_start(),
            _ => return false,
        }
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    rest = rest.strip_prefix('(').unwrap_or(rest);
    let mut chars = rest.chars();
    if !chars.next().is_some_and(is_digit) {
        return false;
    }
    // `run` is the index in the run of the last character read; `ends` says it is a digit
    // that may end the number (its ninth character or later).
    let (mut run, mut ends) = (0usize, false);
    for c in chars {
        if ends && (c.is_whitespace() || c == ',' || c == '#') {
            return true;
        }
        let digit = is_digit(c);
        if !(digit || matches!(c, ' ' | '-' | '(' | ')' | '.')) {
            return false;
        }
        run += 1;
        ends = digit && run >= 8;
    }
    ends
}

/// Whether `s` holds a one-tap dial string, as the regex `\+?\d{6,},,\d{6,}` finds it (checked
/// against it by the tests): at some ",," six digits just before and six just after. The
/// search runs from each ',' (most lines have none).
fn has_one_tap(s: &str) -> bool {
    let b = s.as_bytes();
    // Six digits, ",,", six digits: at least 14 bytes.
    b.len() >= 14
        && memchr::memchr_iter(b',', b).any(|i| {
            // ',' is ASCII: `i` and `i + 2` are char boundaries.
            b.get(i + 1) == Some(&b',')
                && s.get(..i).is_some_and(|h| {
                    h.chars()
                        .rev()
                        .take_while(|c| is_digit(*c))
                        .nth(5)
                        .is_some()
                })
                && s.get(i + 2..)
                    .is_some_and(|t| t.chars().take_while(|c| is_digit(*c)).nth(5).is_some())
        })
}

/// The characters `(?i)[a-z]` matches: ASCII letters, and the two whose simple case folding
/// reaches one, U+017F 'ſ' (long s) and U+212A (Kelvin sign).
fn is_az(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '\u{17f}' || c == '\u{212a}'
}

/// The characters the regex crate's `\d` matches: Unicode's decimal digits (general category
/// Nd, as of the regex crate's Unicode tables; the tests compare every character).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let u = u32::from(c);
    NON_ASCII_DIGITS
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The ranges of non-ASCII decimal digits (Unicode 16, the version of the regex crate's
/// tables), sorted.
const NON_ASCII_DIGITS: &[(u32, u32)] = &[
    (0x660, 0x669),
    (0x6f0, 0x6f9),
    (0x7c0, 0x7c9),
    (0x966, 0x96f),
    (0x9e6, 0x9ef),
    (0xa66, 0xa6f),
    (0xae6, 0xaef),
    (0xb66, 0xb6f),
    (0xbe6, 0xbef),
    (0xc66, 0xc6f),
    (0xce6, 0xcef),
    (0xd66, 0xd6f),
    (0xde6, 0xdef),
    (0xe50, 0xe59),
    (0xed0, 0xed9),
    (0xf20, 0xf29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17e0, 0x17e9),
    (0x1810, 0x1819),
    (0x1946, 0x194f),
    (0x19d0, 0x19d9),
    (0x1a80, 0x1a89),
    (0x1a90, 0x1a99),
    (0x1b50, 0x1b59),
    (0x1bb0, 0x1bb9),
    (0x1c40, 0x1c49),
    (0x1c50, 0x1c59),
    (0xa620, 0xa629),
    (0xa8d0, 0xa8d9),
    (0xa900, 0xa909),
    (0xa9d0, 0xa9d9),
    (0xa9f0, 0xa9f9),
    (0xaa50, 0xaa59),
    (0xabf0, 0xabf9),
    (0xff10, 0xff19),
    (0x104a0, 0x104a9),
    (0x10d30, 0x10d39),
    (0x10d40, 0x10d49),
    (0x11066, 0x1106f),
    (0x110f0, 0x110f9),
    (0x11136, 0x1113f),
    (0x111d0, 0x111d9),
    (0x112f0, 0x112f9),
    (0x11450, 0x11459),
    (0x114d0, 0x114d9),
    (0x11650, 0x11659),
    (0x116c0, 0x116c9),
    (0x116d0, 0x116e3),
    (0x11730, 0x11739),
    (0x118e0, 0x118e9),
    (0x11950, 0x11959),
    (0x11bf0, 0x11bf9),
    (0x11c50, 0x11c59),
    (0x11d50, 0x11d59),
    (0x11da0, 0x11da9),
    (0x11f50, 0x11f59),
    (0x16130, 0x16139),
    (0x16a60, 0x16a69),
    (0x16ac0, 0x16ac9),
    (0x16b50, 0x16b59),
    (0x16d70, 0x16d79),
    (0x1ccf0, 0x1ccf9),
    (0x1d7ce, 0x1d7ff),
    (0x1e140, 0x1e149),
    (0x1e2f0, 0x1e2f9),
    (0x1e4f0, 0x1e4f9),
    (0x1e5f1, 0x1e5fa),
    (0x1e950, 0x1e959),
    (0x1fbf0, 0x1fbf9),
];

/// Whether a phone line lies between a label above the link's line and that line. The lines
/// are tested from the link's line upward, each once however many labels ask, and only as far
/// up as a label asks.
struct PhoneAbove<'t> {
    text: &'t str,
    low: &'t str,
    /// The lines from this offset down to the link's line are tested: none is a phone line
    /// unless `found`.
    top: usize,
    /// The start of the phone line nearest above the link's line, once found.
    found: Option<usize>,
}

impl<'t> PhoneAbove<'t> {
    /// `link_line` is where the link's line starts.
    fn new(text: &'t str, low: &'t str, link_line: usize) -> Self {
        PhoneAbove {
            text,
            low,
            top: link_line,
            found: None,
        }
    }

    /// True when a line starting at or after `from` (a line start) and above the link's line
    /// is a phone line.
    fn any_from(&mut self, from: usize) -> bool {
        if let Some(f) = self.found {
            return f >= from;
        }
        while self.top > from {
            // `top - 1` is the '\n' ending the line above `top`, which starts at `from` or
            // later since `from` is a line start.
            let end = self.top - 1;
            let start = line_start(self.text, end);
            self.top = start;
            let line = self.text.get(start..end).unwrap_or("");
            if is_phone_line(line, self.low.get(start..end).unwrap_or("")) {
                self.found = Some(start);
                return true;
            }
        }
        false
    }
}

/// The first phone line below the link's line (where the phone part starts), looked for only
/// as far down as asked: most texts have no passcode label below their phone part, which can
/// then go untested (and a text without one is not read to its end).
struct PhoneBelow<'t> {
    text: &'t str,
    low: &'t str,
    /// Where the next line to test starts (none once the text is read to its end).
    next: Option<usize>,
    /// The start of the first phone line, once found.
    found: Option<usize>,
}

impl<'t> PhoneBelow<'t> {
    /// `first` is where the line after the link's line starts, if one does.
    fn new(text: &'t str, low: &'t str, first: Option<usize>) -> Self {
        PhoneBelow {
            text,
            low,
            next: first,
            found: None,
        }
    }

    /// Where the first phone line starts, if it starts at or before `pos`.
    fn first_up_to(&mut self, pos: usize) -> Option<usize> {
        if let Some(f) = self.found {
            return (f <= pos).then_some(f);
        }
        while let Some(start) = self.next.filter(|s| *s <= pos) {
            let end = next_line_start(self.text, start);
            self.next = end;
            let end = end.map_or(self.text.len(), |e| e - 1);
            let line = self.text.get(start..end).unwrap_or("");
            if is_phone_line(line, self.low.get(start..end).unwrap_or("")) {
                self.found = Some(start);
                return Some(start);
            }
        }
        None
    }
}

/// A word after a passcode label that is prose, not a passcode: "(passcode: same as the
/// class, announced at KLMS.)" in a course's GitHub issue, "Passcode: none", "Password: see
/// below".
fn says_no_passcode(v: &str) -> bool {
    const WORDS: [&str; 14] = [
        "same", "none", "tba", "tbd", "see", "below", "above", "will", "is", "not", "provided",
        "required", "sent", "the",
    ];
    WORDS.iter().any(|w| v.eq_ignore_ascii_case(w))
}

/// Where a passcode the label scan read up to `end` really ends. The scan reads Zoom's
/// documented characters (`[A-Za-z0-9@_*!-]`), but real passcodes hold others too
/// ("yV39aa%pi0" in an Outlook add-in invitation on a mailing list): a value that goes on in
/// `%`, `+`, `^`, `$`, `=` or `~` runs on to its end. Never `#`, which ends a dial-in
/// passcode, nor sentence punctuation, but for a '?' that ends its line after a value of six
/// or more characters holding letters and digits both: Zoom's generated passcodes hold '?'
/// ("Passcode: 7s2BQ2Q?", a stored calendar's invitation), and a question would not end there.
fn passcode_end(text: &str, end: usize) -> usize {
    let b = text.as_bytes();
    if b.get(end) == Some(&b'?') && generated_before(b, end) {
        // Read only up to the first byte that is not blank: a long line after the value would
        // otherwise be read whole for each of its labels.
        let rest = b[end + 1..].iter().take_while(|&&c| c != b'\n');
        if rest.copied().all(|c| c.is_ascii_whitespace()) {
            return end + 1;
        }
    }
    if !b
        .get(end)
        .is_some_and(|c| matches!(c, b'%' | b'+' | b'^' | b'$' | b'=' | b'~'))
    {
        return end;
    }
    // Every byte taken is ASCII: the end is a char boundary.
    end + b[end..]
        .iter()
        .take(40)
        .take_while(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'@' | b'_' | b'*' | b'!' | b'-' | b'%' | b'+' | b'^' | b'$' | b'=' | b'~'
                )
        })
        .count()
}

/// Whether the token before byte `end` (a passcode's characters, back to a space or the
/// label's colon) is six or more characters long and holds both a letter and a digit.
fn generated_before(b: &[u8], end: usize) -> bool {
    let token = b[..end]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_graphic() && !matches!(c, b':' | b'(' | b'"' | b'\''))
        .count();
    let t = &b[end - token..end];
    t.len() >= 6 && t.iter().any(u8::is_ascii_alphabetic) && t.iter().any(u8::is_ascii_digit)
}

/// Whether a passcode label's value read up to `end` goes on in a character the scan does not
/// take: a longer word the label scan cut (`Password: abc#def`), or a dotted name
/// (`pass: process.env.EMAIL_PASSWORD`, a mail server's login in a page's source).
fn value_goes_on(text: &str, end: usize) -> bool {
    let b = text.as_bytes();
    match b.get(end) {
        Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'@' | b'_' | b'*' | b'!' | b'-') => {
            true
        }
        Some(b'.') => b.get(end + 1).is_some_and(|c| c.is_ascii_alphabetic()),
        _ => false,
    }
}

/// Whether the character before byte `pos` is an ASCII letter (an ASCII byte is never part of
/// another character).
fn ascii_letter_before(text: &str, pos: usize) -> bool {
    pos.checked_sub(1)
        .and_then(|i| text.as_bytes().get(i))
        .is_some_and(u8::is_ascii_alphabetic)
}

/// A topic's or organizer's value as kept: [`on_its_own`] (never a URL run onto its line: the
/// topic goes into offers, to interpreters who have not accepted), Markdown emphasis trimmed,
/// and a Markdown escape left at its end ("ana@example.org \- organizer" in a Google Calendar
/// invitation stored as Markdown).
fn clean_value(v: &str) -> Option<String> {
    let v = before_string_end(on_its_own(v))
        .trim_matches(|c: char| c == '*' || c == '_')
        .trim()
        .trim_end_matches('\\')
        .trim_end();
    let v = unquoted(without_shortcode_at_end(v));
    (!v.is_empty() && !is_placeholder(v)).then(|| v.to_owned())
}

/// `v` up to a written-out line break that ends a program's string (`Atención a dudas\n" +`,
/// a Java string concatenated line by line; `My Webinar\n\n"`): one that only escapes and then
/// a quote or the value's end follow. The `\n` and what follows are code.
fn before_string_end(v: &str) -> &str {
    let b = v.as_bytes();
    // `\n` (and any escapes right after it) then a closing quote or the value's end.
    let ends = |i: usize| {
        let mut j = i;
        while b.get(j) == Some(&b'\\') && matches!(b.get(j + 1), Some(b'n' | b'r' | b't')) {
            j += 2;
        }
        b.get(i + 1) == Some(&b'n') && b.get(j).is_none_or(|c| matches!(c, b'"' | b'\'' | b'`'))
    };
    // ASCII backslash: the cut is a char boundary.
    memchr::memchr_iter(b'\\', b)
        .find(|&i| ends(i))
        .map_or(v, |i| &v[..i])
}

/// Whether a value is a template's unfilled placeholder (`${topic}`, `{{ meeting.topic }}`,
/// `{topic}`, a mail template's text before its values are put in), not a value.
fn is_placeholder(v: &str) -> bool {
    let inner = (v.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")))
        .or_else(|| v.strip_prefix("${").and_then(|r| r.strip_suffix('}')))
        .or_else(|| v.strip_prefix('{').and_then(|r| r.strip_suffix('}')));
    inner.is_some_and(|i| !i.trim().is_empty() && !i.contains(['{', '}']))
}

/// `v` without the emoji shortcodes at its end ("\"…coinfection\" :dna:", "… :lab_coat:
/// :dna:", a lab's Markdown calendar): each `:`, lower-case letters, digits, '_', '+' or '-',
/// `:`, after a space.
fn without_shortcode_at_end(v: &str) -> &str {
    let shorter = without_one_shortcode_at_end(v);
    if shorter.len() < v.len() {
        without_shortcode_at_end(shorter)
    } else {
        v
    }
}

fn without_one_shortcode_at_end(v: &str) -> &str {
    let Some(inner) = v.strip_suffix(':') else {
        return v;
    };
    let code = inner
        .bytes()
        .rev()
        .take_while(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'+' | b'-')
        })
        .count();
    // ASCII bytes: each cut is a char boundary.
    let before = &inner[..inner.len() - code];
    match before.strip_suffix(':') {
        Some(rest) if code > 0 && rest.ends_with(' ') => rest.trim_end(),
        _ => v,
    }
}

/// `v` without the quotation marks around all of it ("\"Intrapatient dynamics …\""), when
/// it holds no other.
fn unquoted(v: &str) -> &str {
    for (open, close) in [('"', '"'), ('“', '”'), ('«', '»'), ('「', '」')] {
        if let Some(inner) = v.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            if !inner.contains([open, close]) {
                return inner.trim();
            }
        }
    }
    v
}

/// An organizer sentence's name as kept: [`clean_value`] of what follows the line's last tab
/// (the name stands right before the sentence's marker, so a table cell before it is not
/// the name: a timetable's row ends in "…\tТатьяна Серегина приглашает вас…"), without the
/// prose before it on its line ([`after_prose`]), and never the Japanese honorific alone,
/// which is what "さんがあなたを…招待しています" leaves when the name is blank (Google Calendar's
/// copy of a Zoom invitation in a public test).
fn organizer_name(v: &str) -> Option<String> {
    let v = v.trim_end();
    let name = clean_value(v.rsplit('\t').next().unwrap_or(v))?;
    let kept = after_open_quote(after_prose(&name));
    (!kept.is_empty() && kept != "さん").then(|| kept.to_owned())
}

/// The organizer sentence's name (cleaned by [`organizer_name`]) and its language: the first
/// line holding one, unless one of the next few names only the end of its name, after a
/// blank: prose run onto the first line without a stop ("Will update the rebrandly link Dinesh
/// Kumar is inviting you to a scheduled Zoom meeting.", a GitHub issue's comment over the
/// invitation it pasted below, which names "Dinesh Kumar" alone).
fn organizer_sentence(
    text: &str,
    low: &str,
    hits: &[usize],
) -> Option<(Option<String>, Option<&'static str>)> {
    let named = |groups: Vec<Option<Range<usize>>>| {
        let (i, name) = groups
            .into_iter()
            .enumerate()
            .skip(1)
            .find_map(|(i, m)| Some((i, m?)))?;
        let lang = labels::ORGANIZER.get(i - 1).map(|(_, l)| *l);
        Some((organizer_name(&text[name]), lang))
    };
    let mut found = labels::ORGANIZER_RE.each(low, hits).filter_map(named);
    let (first, lang) = found.next()?;
    // A name of four words or more: most names are shorter, and their texts read no further.
    let long = first.as_deref().filter(|n| n.matches(' ').count() >= 3);
    let shorter = long.and_then(|long| {
        found.take(4).find_map(|(n, _)| {
            let n = n?;
            let head = long.strip_suffix(n.as_str())?;
            head.ends_with(' ').then_some(n)
        })
    });
    Some((shorter.or(first), lang))
}

/// A name without the quotation mark a program's string opened before it, on its line
/// (`text: "Kazuya Isawaさんがあなたを…`, a test file's stored invitation): what follows the
/// last `"`, `` ` ``, `“` or string-opening `'` that nothing closes; and without a comment's
/// marks before it (`// Arjun Chouhan is inviting you…`, an invitation kept in a source file's
/// comments).
fn after_open_quote(name: &str) -> &str {
    let name = after_escapes(name.trim_start_matches(['/', '#', '>', ' ', '\t']));
    let odd = |q: char| name.matches(q).count() % 2 == 1;
    let curly = name
        .rfind('“')
        .filter(|&i| !name[i..].contains('”'))
        .map(|i| i + '“'.len_utf8());
    // A `'` opens a string only where no letter stands before it (`value: 'Tomasz Nowak
    // zaprasza Cię…`, a JavaScript object); in a word it is an apostrophe ("Dan O'Brien").
    let single = name
        .rfind('\'')
        .filter(|_| odd('\''))
        .filter(|&i| {
            !name[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphabetic)
        })
        .map(|i| i + 1);
    let cut = ['"', '`']
        .into_iter()
        .filter(|&q| odd(q))
        .filter_map(|q| name.rfind(q).map(|i| i + 1))
        .chain(curly)
        .chain(single)
        .max();
    cut.map_or(name, |c| name[c..].trim())
}

/// A name without the escapes a program's string or an escaped page left before it: `\n`
/// written out (`DESCRIPTION:Hi there, \\n\\nAndrew Knackstedt is inviting you…`, a calendar in
/// a template literal) and character references (`&amp;#65279;Татьяна Серегина приглашает
/// вас…`, a byte-order mark escaped twice in a database dump).
fn after_escapes(mut name: &str) -> &str {
    loop {
        let t = name.trim_start_matches([' ', '\t', '\\']);
        let t = match t.strip_prefix(['n', 'r', 't']) {
            // A letter after a backslash the trim dropped: an escape, not the name's initial.
            Some(r) if name.trim_start_matches([' ', '\t']).starts_with('\\') => r,
            _ => t,
        };
        let reference = t
            .strip_prefix("&amp;#")
            .or_else(|| t.strip_prefix("&#"))
            .and_then(|r| {
                let end = r.find(';').filter(|&e| e <= 8)?;
                r[..end]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric())
                    .then(|| &r[end + 1..])
            });
        match reference {
            Some(r) => name = r,
            None if t.len() < name.len() => name = t,
            None => return t,
        }
    }
}

/// Words a '.' ends without ending a sentence, lower-cased: titles and company suffixes.
const ABBREVIATIONS: &[&str] = &[
    "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "rev", "fr", "inc", "co", "ltd", "corp",
    // Indonesian company forms, written before the name ("PT. Supranusa Sindata … is inviting
    // you", a public training app's stored invitation).
    "pt", "cv",
    // An Indonesian regency ("Diskominfo kab. Muara Enim mengundang Anda…", a public SQL dump).
    "kab",
];

/// Greetings a name can follow on its line ("Hi there, Isabella Ferguson is inviting you…",
/// a Google Calendar description read as a browser shows it), lower-cased.
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "dear",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
];

/// An organizer sentence's name without the prose run onto its line before it: what follows
/// the last sentence end ("Thanks. Ana Ruiz"), colon ("Reminder: Ana Ruiz") or greeting
/// ("Hi there, Ana Ruiz"). A '.' after a title or an initial ends nothing ("Dr. Ana Ruiz",
/// "J. Smith", "U.S. Office"), nor does a comma after anything else ("Ruiz, Ana").
fn after_prose(name: &str) -> &str {
    let mut cut = 0;
    // The marks are ASCII: `i + 2` (past the mark and its space) is a char boundary.
    for (i, c) in name.char_indices() {
        if !matches!(c, '.' | '!' | '?' | ':' | ';' | ',') || !name[i + 1..].starts_with(' ') {
            continue;
        }
        let before = &name[cut..i];
        let word = before.rsplit(' ').next().unwrap_or("");
        let ends = match c {
            '.' => {
                word.chars().count() > 1
                    && !word.contains('.')
                    && !ABBREVIATIONS.contains(&word.to_lowercase().as_str())
            }
            ',' => {
                let b = before.trim().to_lowercase();
                GREETINGS
                    .iter()
                    .any(|g| b == *g || b.strip_prefix(g).is_some_and(|r| r.starts_with(' ')))
            }
            _ => true,
        };
        if ends {
            cut = i + 2;
        }
    }
    name[cut..].trim()
}

/// `v.to_lowercase().contains("recurring")` without the copy: the ASCII letters are the only
/// characters whose lower case holds "recurring"'s letters, but for U+212A (Kelvin sign, which no
/// "recurring" holds) and 'İ', whose "i̇" puts a combining dot after its 'i' where "recurring"
/// needs an 'n'.
fn says_recurring(v: &str) -> bool {
    // Compared only from each 'r' or 'R' (`c | 0x20` is b'r' for those two bytes alone).
    let b = v.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        c | 0x20 == b'r'
            && b.get(i..i + 9)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"recurring"))
    })
}

/// A label and its value, as byte ranges.
type LabelRanges = (Range<usize>, Range<usize>);

/// The topic's value `v` up to a time label on its line ("Topic: X. Time: Y", an HTML paragraph
/// or a table cell read as one line), where one stands after a space, without the full stop
/// or separator before it; and that label with its value, the time line when no line of its own has one.
/// `time_hits` are where the time labels' words start in `low`.
fn split_inline_time(
    low: &str,
    time_hits: &[usize],
    v: Range<usize>,
) -> (Range<usize>, Option<LabelRanges>) {
    let b = low.as_bytes();
    let found = time_hits
        .iter()
        .filter(|&&h| h > v.start && h < v.end && b[h - 1] == b' ')
        .find_map(|&h| labels::TIME_RE.label_from(low, h, v.end));
    match found {
        Some((label, value)) => {
            // The full stop that ended the topic's sentence is not the topic's ("Konu: MEVZUAT.
            // Zaman: …", Zoom's Turkish invitation run onto one line), nor is a separator
            // before the label ("Topic: Live Demo @ Time: …", a mail template); an ellipsis
            // stays. All ASCII: each cut is a char boundary.
            let trim_spaces = |mut end: usize| {
                while end > v.start && b[end - 1] == b' ' {
                    end -= 1;
                }
                end
            };
            let mut end = trim_spaces(label.start);
            if end > v.start + 1
                && (matches!(b[end - 1], b'@' | b'|' | b',' | b';' | b'-')
                    || b[end - 1] == b'.' && b[end - 2] != b'.')
            {
                end = trim_spaces(end - 1);
            }
            (v.start..end, Some((label, value)))
        }
        None => (v, None),
    }
}

/// The webinar a Zoom registration confirmation or reminder names, where no label gives a
/// topic: "Thank you for registering for <topic>." (the sentence's end cut, and the "You can
/// find information about this webinar below." a flattened copy runs onto it), quotes around it
/// dropped; else what [`reminded_topic`] reads.
fn registered_topic(text: &str) -> Option<String> {
    const SAYS: &str = "hank you for registering for ";
    // Built once: most texts are searched and hold none.
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(SAYS));
    let Some(at) = FINDER.find(text.as_bytes()) else {
        return reminded_topic(text);
    };
    if !matches!(text.as_bytes().get(at.wrapping_sub(1)), Some(b'T' | b't')) {
        return None;
    }
    // The needle is ASCII: `at + SAYS.len()` is a char boundary.
    let rest = &text[at + SAYS.len()..];
    let mut lines = rest.split('\n');
    let mut line = lines.next().unwrap_or(rest);
    // The sentence names the webinar on the next line ("Thank you for registering for our FREE
    // webinar:" over the title as a heading, a registration mail's HTML).
    if line.trim_end().ends_with(':') {
        line = lines.find(|l| !l.trim().is_empty()).unwrap_or("");
    }
    let topic = match line.find(". You can find information") {
        Some(end) => &line[..end],
        None => line.trim_end().strip_suffix('.').unwrap_or(line),
    };
    clean_value(
        topic
            .trim()
            .trim_matches(|c| matches!(c, '"' | '“' | '”' | '\'')),
    )
}

/// The meeting or webinar Zoom's reminders name: `This is a reminder that "<topic>" will begin
/// in 1 hour on:` (an HTML reminder mail in a public repository), or the line under `This is a
/// reminder that your webinar will begin in 1 day:` (a reminder quoted in a public mail).
fn reminded_topic(text: &str) -> Option<String> {
    const SAYS: &str = "is a reminder that ";
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(SAYS));
    // The needle is ASCII: the cut is a char boundary.
    let rest = &text[FINDER.find(text.as_bytes())? + SAYS.len()..];
    if let Some(after) = rest.strip_prefix("your webinar will begin in ") {
        let mut lines = after.split('\n');
        if !lines.next()?.trim_end().ends_with(':') {
            return None;
        }
        return clean_value(lines.find(|l| !l.trim().is_empty())?.trim());
    }
    let rest = rest.strip_prefix(['"', '“'])?;
    let end = rest.find(['"', '”', '\n'])?;
    rest[end..]
        .trim_start_matches(['"', '”'])
        .starts_with(" will begin in ")
        .then(|| clean_value(&rest[..end]))?
}

/// The time label read: the first line holding one (`line`), unless its value reads no date,
/// time or "no fixed time" at all and the topic's line carries a time label (`inline`) whose
/// value does: a forwarded invitation's "Topic: … Time: Nov 9, 2023 03:00" above its link, the
/// forwarding mail's own "*Time: 3 - 4pm*" further down (a mailing list's copy).
fn pick_time_label(
    text: &str,
    line: Option<LabelRanges>,
    inline: Option<LabelRanges>,
) -> Option<LabelRanges> {
    let reads = |v: &Range<usize>| {
        let t = time::parse_text_time(on_its_own(&text[v.clone()]), true);
        t.start.is_some() || t.naive.is_some() || t.no_fixed
    };
    match (line, inline) {
        (Some(l), Some(i)) if !reads(&l.1) && reads(&i.1) => Some(i),
        (l, i) => l.or(i),
    }
}

/// A time or recurrence value, trimmed, up to where something else starts on its line: a URL
/// (the join link run onto the line by a flattened invitation must never end up in the
/// recurrence text, which is shown before anyone has accepted), a table cell's tab, or the
/// join label run onto it ([`labels::join_phrase_at`]).
fn on_its_own(v: &str) -> &str {
    let mut end = v.find('\t').unwrap_or(v.len());
    if let Some(j) = labels::join_phrase_at(&v[..end]) {
        end = j;
    }
    if let Some(i) = v[..end].find("://") {
        // Back over the scheme's letters: ASCII, so the cut is a char boundary.
        end = v[..i]
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len();
    }
    v[..end].trim()
}

/// A passcode on the line under its label, the label alone on its line ("Passcode:" then
/// "417531", as a mail list's HTML invitation gives it): the first such label below the join
/// link's line, with no URL, phone header or one-tap line between them, and the value one
/// token of a passcode's characters. `hits` are where the word scan found passcode words:
/// only their lines are looked at, so a text without one costs nothing.
fn passcode_below_its_label<'t>(
    text: &'t str,
    hits: &[usize],
    link_line_start: usize,
) -> Option<&'t str> {
    let below_link = next_line_start(text, link_line_start)?;
    let label_line = hits.iter().filter(|&&h| h >= below_link).find_map(|&h| {
        let start = line_start(text, h);
        let end = next_line_start(text, h).map_or(text.len(), |n| n - 1);
        let t = text[start..end].trim().trim_end_matches([' ', '*', '_']);
        let label = t.strip_suffix(':').or_else(|| t.strip_suffix('：'))?;
        let label = label
            .trim_end_matches([' ', '*', '_'])
            .trim_start_matches(['*', '_', '-', '•', ' ']);
        // Compared lower-cased a character at a time: no copy per label.
        let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<Vec<_>>();
        let label = lower(label);
        labels::PASSCODE
            .iter()
            .any(|(p, _)| {
                p.chars()
                    .flat_map(char::to_lowercase)
                    .eq(label.iter().copied())
            })
            .then_some((start, end))
    });
    let (start, end) = label_line?;
    // The phone part's header or one-tap lines end the search, as a URL does (a bare number
    // line may be the meeting ID under its own label).
    if text[below_link..start].split('\n').any(|l| {
        let l = l.trim();
        l.contains("://") || labels::is_phone_header(&l.to_ascii_lowercase()) || has_one_tap(l)
    }) {
        return None;
    }
    let v = text
        .get(end..)?
        .split('\n')
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .trim_matches(['*', '_']);
    let ok = (1..=10).contains(&v.chars().count())
        && v.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'@' | b'_'
                        | b'*'
                        | b'-'
                        | b'!'
                        | b'.'
                        | b'#'
                        | b'$'
                        | b'%'
                        | b'^'
                        | b'&'
                        | b'+'
                        | b'='
                )
        });
    ok.then_some(v)
}

/// A passcode written in a sentence, without the label's colon, where no labelled one was found:
/// "The password is 994922", "Zoom passcode 7858384090", "the Passcode for this meeting is
/// x7Kq2p." (mailing-list announcements), and a program's quoted field (`senha: 'jw1010',`).
/// The label's value is the word right after it (past a colon), or the word after a linking
/// "is" (or its equivalent: "ist", "est", "es", "é", "è", "=") among the next six words. Prose
/// is full of passwords that are not ones ("password protected", "the passcode is in the
/// calendar"), so the value must be 4 to 10 characters (Zoom's limit) of a passcode's
/// characters, hold a digit or stand in quotation marks, and not end in the '#' that ends a
/// dial-in passcode. The first such value at or below the link's line wins, else the last one
/// above it; `keep` says whether a label's position counts (not under another meeting's ID, not
/// after a recording's link).
fn passcode_in_prose<'t>(
    text: &'t str,
    hits: &[usize],
    link_line_start: usize,
    keep: impl Fn(usize) -> bool,
) -> Option<&'t str> {
    let mut above = None;
    for &h in hits {
        if ascii_letter_before(text, h) {
            continue;
        }
        let Some(v) = prose_passcode_at(text, h).filter(|_| keep(h)) else {
            continue;
        };
        if h >= link_line_start {
            return Some(v);
        }
        above = Some(v);
    }
    above
}

/// The value of a passcode label at `h` written in a sentence (see [`passcode_in_prose`]).
fn prose_passcode_at(text: &str, h: usize) -> Option<&str> {
    const LINKS: [&str; 8] = ["is", "is:", "ist", "est", "es", "é", "è", "="];
    let rest = &text[h..];
    let first = rest.as_bytes().first()?.to_ascii_lowercase();
    // The longest label at `h` (ASCII case ignored), never the bare "Pass" ("pass 2 hours");
    // most hits are "meeting" (of "Meeting Passcode"), so labels are told apart by their
    // first byte before they are compared.
    let label_len = labels::PASSCODE
        .iter()
        .map(|(p, _)| p.as_bytes())
        .filter(|p| p.len() > 4 && p[0].to_ascii_lowercase() == first)
        .filter(|p| {
            rest.as_bytes()
                .get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
        })
        .map(<[u8]>::len)
        .max()?;
    let after = &rest[label_len..];
    // The label ends at a word's end, on the same line as its value.
    if after.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    // A program's field, its value quoted (`senha: 'jw1010',`, a congregation app's constants):
    // the colon the label scan read is passed, the value still has to be a prose one.
    let after = after.trim_start_matches([' ', '\t', '*', '_']);
    let after = after.strip_prefix([':', '：']).unwrap_or(after);
    // The first seven words on the label's line, read one at a time and only within
    // [`PROSE_REACH`] bytes (a word cut there is not read): a long line, or one long word (a
    // JSON array on one line), is not read to its end for each label on it.
    let after = if after.len() > PROSE_REACH {
        let end = (0..=PROSE_REACH)
            .rev()
            .find(|&e| after.is_char_boundary(e))
            .unwrap_or(0);
        &after[..after[..end].rfind(char::is_whitespace).unwrap_or(0)]
    } else {
        after
    };
    let mut words = after
        .split_inclusive(char::is_whitespace)
        .scan(false, |line_ended, piece| {
            (!*line_ended).then(|| {
                *line_ended = piece.ends_with('\n');
                piece.trim_end()
            })
        })
        .filter(|w| !w.is_empty())
        .take(7);
    let first = words.next()?;
    if let Some(v) = prose_passcode_value(first) {
        return Some(v);
    }
    let mut words = std::iter::once(first).chain(words);
    words.position(|w| LINKS.iter().any(|l| w.eq_ignore_ascii_case(l)))?;
    prose_passcode_value(words.next()?)
}

/// How far after a passcode label [`prose_passcode_at`] reads: seven words of a sentence, with
/// room to spare.
const PROSE_REACH: usize = 256;

/// A word as a passcode written in a sentence: quotation and emphasis marks around it and
/// sentence punctuation after it dropped; 4 to 10 passcode characters holding a digit, or
/// any of them in quotation marks (`The passcode for the Zoom call is "classics".`, a meetup's
/// event text).
fn prose_passcode_value(word: &str) -> Option<&str> {
    const OPEN: [char; 4] = ['"', '“', '`', '\''];
    const CLOSE: [char; 4] = ['"', '”', '`', '\''];
    let quoted = word.starts_with(OPEN)
        && word
            .trim_end_matches(['.', ',', ';', ':', ')'])
            .ends_with(CLOSE);
    let v = word
        .trim_start_matches(['"', '\'', '“', '‘', '*', '_', '`', '('])
        .trim_end_matches(['.', ',', ';', ':', ')', '"', '\'', '”', '’', '*', '_', '`']);
    let ok = (4..=10).contains(&v.len())
        && (quoted || v.bytes().any(|b| b.is_ascii_digit()))
        && !says_no_passcode(v)
        && v.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'@' | b'_' | b'*' | b'!' | b'-' | b'%' | b'+' | b'^' | b'$' | b'=' | b'~'
                )
        });
    ok.then_some(v)
}

/// A passcode labelled only "Code:" on the line under the meeting's ID label ("Zoom
/// Meeting-ID: 622 1548 6938" over "Code: 598361", a university's consultation-hours page):
/// read only where no passcode label is found, and only there, since "Code" alone labels many
/// other things. `id_labels` are where the labels of this meeting's ID start.
fn code_under_meeting_id(text: &str, id_labels: impl Iterator<Item = usize>) -> Option<&str> {
    // Where the last label's line ends: the labels (in the text's order) on a line already
    // read have the same line under them, which is not looked for again.
    let mut line_end = 0;
    id_labels.into_iter().find_map(|at| {
        if at < line_end {
            return None;
        }
        let next = next_line_start(text, at);
        line_end = next.unwrap_or(text.len());
        let next = next?;
        let line = line_at(text, next).trim_start_matches(['*', '_', '-', '•', ' ', '\t']);
        let rest = line
            .get(..4)
            .filter(|w| w.eq_ignore_ascii_case("code"))
            .map(|_| line[4..].trim_start_matches(['*', '_', ' ']))?;
        let value = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
        let value = value.trim_start_matches(['*', '_', ' ']);
        prose_passcode_value(value.split_whitespace().next()?)
    })
}

/// How far from the join link [`keyed_passcode`] looks, either way, in bytes.
const KEYED_PASSCODE_REACH: usize = 800;

/// A passcode a program's data gives under a key of the meeting's object: `"password":
/// "qwerty123"` beside `"join_url"` in a Zoom API response, `"passcode":"296305"` in a Google
/// Calendar event's conference entry point, `'password': '106747'` in a Python dict. Read only
/// where no label gives one, only within [`KEYED_PASSCODE_REACH`] bytes of the join link (at
/// `link_pos`; a mail server's login elsewhere in the file is not it) and with no brace
/// between key and link, the nearest there; the quoted value must have a passcode's shape
/// ([`prose_passcode_value`]).
fn keyed_passcode(text: &str, link_pos: usize) -> Option<&str> {
    let link_pos = link_pos.min(text.len());
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = boundary(link_pos.saturating_sub(KEYED_PASSCODE_REACH));
    let to = boundary((link_pos + KEYED_PASSCODE_REACH).min(text.len()));
    static PASS: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new("pass"));
    let b = text.as_bytes();
    let mut best: Option<(usize, &str)> = None;
    for at in PASS.find_iter(&b[from..to]).map(|i| from + i) {
        // "password" and "passcode" are as long.
        let end = at + "password".len();
        if !matches!(b.get(at + 4..end), Some(b"word" | b"code")) {
            continue;
        }
        let quote = b.get(at.wrapping_sub(1)).copied();
        if !matches!(quote, Some(b'"' | b'\'')) || b.get(end).copied() != quote {
            continue;
        }
        // `: "value"` after the key's closing quote (all ASCII up to the value).
        let rest = text[end + 1..].trim_start_matches([' ', '\t']);
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
            continue;
        };
        let Some(close) = rest[1..].find(q) else {
            continue;
        };
        let Some(v) = prose_passcode_value(&rest[..close + 2]) else {
            continue;
        };
        // In the link's own object: no brace between them (a mail server's login in a
        // settings object beside the link is not the meeting's).
        let between = &b[at.min(link_pos)..at.max(link_pos)];
        if memchr::memchr2(b'{', b'}', between).is_some() {
            continue;
        }
        let distance = at.abs_diff(link_pos);
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, v));
        }
    }
    best.map(|(_, v)| v)
}

/// True when the last URL between the join link (at `link_pos`) and a passcode label at `pos`
/// is a Zoom recording's (`/rec/share/…`, `/rec/play/…`): the passcode is the recording's
/// (meeting notes list the meeting, then "Recording: <link>" and its "Passcode:"). The
/// reference [`RecordingLinks::follows`] is tested against; it reads the text between anew for
/// each label, so a text of many labels costs the square of its length.
#[cfg(test)]
fn follows_recording_link(text: &str, link_pos: usize, pos: usize) -> bool {
    let Some(between) = text.get(link_pos..pos) else {
        return false;
    };
    // Most texts hold no recording link: one forward (vectorized) search says so.
    if memchr::memmem::find(between.as_bytes(), b"/rec/").is_none() {
        return false;
    }
    let Some(at) = memchr::memmem::rfind(between.as_bytes(), b"://") else {
        return false;
    };
    // The URL runs to the first blank or closing mark ('://' and those are ASCII: boundaries).
    let url = &between[at..];
    let url = &url[..url
        .find(|c: char| c.is_whitespace() || matches!(c, '>' | ')' | ']'))
        .unwrap_or(url.len())];
    url.contains("/rec/share/") || url.contains("/rec/play/")
}

/// [`follows_recording_link`] for every passcode label of one text: the text after the join
/// link is read once, when the first label asks, however many labels follow.
struct RecordingLinks<'t> {
    text: &'t str,
    link_pos: usize,
    /// Each URL after the join link: where its `://` starts, and where the first `/rec/share/`
    /// or `/rec/play/` in it ends (the URL runs to the first blank or closing mark). Empty when
    /// no `/rec/` follows the link at all (most texts); read when first asked.
    urls: std::cell::OnceCell<Vec<(usize, Option<usize>)>>,
}

impl<'t> RecordingLinks<'t> {
    fn new(text: &'t str, link_pos: usize) -> Self {
        RecordingLinks {
            text,
            link_pos,
            urls: std::cell::OnceCell::new(),
        }
    }

    /// Whether the last URL between the join link and `pos` is a recording's, as far as it
    /// runs before `pos`.
    fn follows(&self, pos: usize) -> bool {
        let (text, link_pos) = (self.text, self.link_pos);
        if pos < link_pos || pos > text.len() {
            return false;
        }
        let urls = self.urls.get_or_init(|| {
            let after = &text.as_bytes()[link_pos..];
            if memchr::memmem::find(after, b"/rec/").is_none() {
                return Vec::new();
            }
            memchr::memmem::find_iter(after, b"://")
                .map(|i| {
                    let at = link_pos + i;
                    let url = &text[at..];
                    let url = &url[..url
                        .find(|c: char| c.is_whitespace() || matches!(c, '>' | ')' | ']'))
                        .unwrap_or(url.len())];
                    let rec = ["/rec/share/", "/rec/play/"]
                        .iter()
                        .filter_map(|p| url.find(p).map(|k| at + k + p.len()))
                        .min();
                    (at, rec)
                })
                .collect()
        });
        // The last URL whose `://` lies wholly before `pos`.
        let k = urls.partition_point(|&(at, _)| at + 3 <= pos);
        let Some(&(_, rec)) = k.checked_sub(1).and_then(|k| urls.get(k)) else {
            return false;
        };
        rec.is_some_and(|end| end <= pos)
    }
}

/// Google Calendar's current invitation layout, which labels nothing: the event's title, then
/// its date and times joined by '⋅', then its zone ("黃柏堯's Zoom Meeting" / "Tuesday Mar 10,
/// 2026 ⋅ 10am – 10:30am" / "Australian Eastern Time - Sydney", a mail in a public test). The
/// title (the line above, if any) and the time read, when the line holds a date and time.
fn google_when(text: &str) -> Option<(Option<&str>, time::TextTime)> {
    let Some(dot) = memchr::memmem::find(text.as_bytes(), "⋅".as_bytes()) else {
        return google_when_line(text).map(|t| (None, t));
    };
    let start = line_start(text, dot);
    let next = next_line_start(text, dot);
    let line = text[start..next.map_or(text.len(), |n| n - 1)].trim();
    // The zone line right below, when there is one.
    let zone = next
        .and_then(|n| text[n..].split('\n').next())
        .map(str::trim)
        .filter(|z| !z.is_empty());
    let mut time = time::parse_text_time(&format!("{line} {}", zone.unwrap_or("")), true);
    if time.start.is_none() {
        time = time::parse_text_time(line, true);
    }
    if time.naive.is_none() && time.start.is_none() {
        return None;
    }
    let title = text[..start]
        .strip_suffix('\n')
        .map(|above| above[line_start(above, above.len())..].trim())
        .filter(|t| !t.is_empty());
    Some((title, time))
}

/// Zoom's English recurrence on a line of its own that no time label is above ("Every month on
/// the Last Wed, 07:00 AM Pacific Time (US and Canada)", a project's community-call page): the
/// line from a recurring phrase that opens it in Zoom's form ("Every week on Thu", "Every
/// day,", "Every weekday"), up to where a value ends, a Markdown link after it cut off.
/// `hits` are the recurring phrases about the meeting read.
fn recurrence_line(
    text: &str,
    hits: impl Iterator<Item = (usize, labels::PhraseFlags)>,
) -> Option<String> {
    for (at, _) in hits.filter(|(_, f)| f.recurring) {
        // Only marks before it on its line (a bullet, '#', '*'), read back from the phrase and
        // the line after it only once Zoom's form is known: a long line with many phrases is
        // not read whole for each.
        if text[..at]
            .chars()
            .rev()
            .take_while(|&c| c != '\n')
            .any(char::is_alphanumeric)
        {
            continue;
        }
        let rest = &text[at..];
        let zoom_form = ["every day", "every weekday", "every week", "every month"]
            .iter()
            .any(|p| {
                rest.get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
                    && rest.get(p.len()..).is_some_and(|r| {
                        r.is_empty() || r.starts_with(['\n', ',']) || r.starts_with(" on ")
                    })
            });
        if !zoom_form {
            continue;
        }
        let line = rest.split('\n').next().unwrap_or("");
        let v = on_its_own(recurrence_text(line));
        let v = v.split('[').next().unwrap_or(v);
        let v = v.trim_end_matches(['(', ' ']).trim();
        if !v.is_empty() {
            return Some(v.to_owned());
        }
    }
    None
}

/// The time a time line's `value` reads, or, when that places no start, the value joined with
/// the meridiem wrapped onto the `next` line ([`meridiem_wrapped`]) if that does.
fn time_of(value: &str, next: Option<&str>, month_first: bool) -> time::TextTime {
    let t = time::parse_text_time(value, month_first);
    if t.start.is_some() {
        return t;
    }
    meridiem_wrapped(value, next)
        .map(|joined| time::parse_text_time(&joined, month_first))
        .filter(|w| w.start.is_some())
        .unwrap_or(t)
}

/// A date on a line of its own beside a time line that reads none ("Date: Dec 3, 2026" over
/// "Time: 10:00 AM Eastern Time (US and Canada)", "Fecha:" over "Hora:", a table's two rows):
/// the time the date's value and the time line's `value` read together. Only the three lines
/// that are not blank either side of the time line (starting at `at`) are looked at, and never
/// a mail header block's "Date:" ([`beside_a_mail_header`]).
fn dated_beside(text: &str, at: usize, value: &str, month_first: bool) -> Option<time::TextTime> {
    let not_blank = |&s: &usize| !line_at(text, s).trim().is_empty();
    let above = std::iter::successors(prev_line_start(text, at), |&s| prev_line_start(text, s))
        .filter(not_blank)
        .take(3);
    let below = std::iter::successors(next_line_start(text, at), |&s| next_line_start(text, s))
        .filter(not_blank)
        .take(3);
    let above = above.map(|s| (s, true));
    let below = below.map(|s| (s, false));
    above.chain(below).find_map(|(s, is_above)| {
        let line = line_at(text, s);
        let date = labels::date_value(line).or_else(|| is_above.then(|| heading_date(line))?)?;
        if beside_a_mail_header(text, s) {
            return None;
        }
        let t = time::parse_text_time(&format!("{} {value}", on_its_own(date)), month_first);
        (t.start.is_some() || t.naive.is_some()).then_some(t)
    })
}

/// The ISO date (`2022-09-07`) a Markdown heading holds: a project's meeting notes head each
/// meeting with its date ("# 2022-09-07 Community Meeting" over "- Time: 8pm UTC").
fn heading_date(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?;
    let b = rest.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let iso = (0..10).all(|k| {
            if k == 4 || k == 7 {
                b[i + k] == b'-'
            } else {
                digit(i + k)
            }
        });
        // All ASCII: the slice's ends are char boundaries.
        (iso && !(i > 0 && digit(i - 1)) && !digit(i + 10)).then(|| &rest[i..i + 10])
    })
}

/// A date line's own time, where no time label is: "Date: Thursday, December 3, 2026, 6:00
/// PM ET" (a person's own invitation), the first [`labels::date_value`] line, not in a mail
/// header block, that reads a date and a time. Only lines with a ':', a tab or a full-width
/// colon within their first [`DATE_LABEL_REACH`] bytes are looked at, found by one vectorised
/// search over the text (0xEF is the full-width colon's first byte).
fn date_line_time(text: &str, month_first: bool) -> Option<time::TextTime> {
    let b = text.as_bytes();
    let mut next_line = 0;
    for hit in memchr::memchr3_iter(b':', b'\t', 0xEF, b) {
        if hit < next_line {
            continue;
        }
        let start = line_start(text, hit);
        next_line = next_line_start(text, hit).unwrap_or(b.len());
        if hit - start > DATE_LABEL_REACH {
            continue;
        }
        let Some(date) = labels::date_value(line_at(text, start)) else {
            continue;
        };
        let t = time::parse_text_time(on_its_own(date), month_first);
        if t.naive.is_some() && !beside_a_mail_header(text, start) {
            return Some(t);
        }
    }
    None
}

/// A line without a label that gives a whole start, where nothing labelled does: "15 May 2026,
/// 18:00 Europe/Vienna" under a workshop's name (a confirmation mail), "📅 Friday, August 30,
/// 2026 @ 6:00 PM EST" (a registration mail). Only the [`UNLABELLED_TIME_REACH`] lines either side of the link's line (starting
/// at `link_line_start`) are read, only those of at most [`UNLABELLED_TIME_MAX`] bytes holding a
/// year (`20` and two digits, alone) and a time's ':' or meridiem, and no URL, phone number,
/// date label or mail header; and only a date, a time and a zone read together count.
fn unlabelled_time(
    text: &str,
    link_line_start: usize,
    month_first: bool,
) -> Option<time::TextTime> {
    let above = std::iter::successors(prev_line_start(text, link_line_start), |&s| {
        prev_line_start(text, s)
    })
    .take(UNLABELLED_TIME_REACH);
    let below = std::iter::successors(next_line_start(text, link_line_start), |&s| {
        next_line_start(text, s)
    })
    .take(UNLABELLED_TIME_REACH);
    // Whether any line opens with '#' (a Markdown heading): one search for the whole text.
    let headings = text.starts_with('#') || memchr::memmem::find(text.as_bytes(), b"\n#").is_some();
    above.chain(below).find_map(|s| {
        let raw = line_at(text, s);
        // Most lines hold no year: decided before anything else is looked at, unless a
        // heading above may give the date.
        if raw.len() > UNLABELLED_TIME_MAX || !(headings || has_year(raw.as_bytes())) {
            return None;
        }
        let line = raw.trim();
        let b = line.as_bytes();
        let timeish = b.contains(&b':')
            || b.windows(2)
                .any(|w| w.eq_ignore_ascii_case(b"am") || w.eq_ignore_ascii_case(b"pm"));
        if !timeish
            || line.contains("://")
            || b.windows(2).any(|w| w[0] == b'+' && w[1].is_ascii_digit())
        {
            return None;
        }
        // A line without a year may have its date in the Markdown heading above it.
        let heading = if has_year(b) {
            None
        } else {
            Some(dated_heading_above(text, s)?)
        };
        // A date line is [`date_line_time`]'s to read, and a mail header's is the mail's.
        if labels::date_value(line).is_some()
            || is_mail_header(line)
            || beside_a_mail_header(text, s)
        {
            return None;
        }
        let t = match heading {
            Some(date) => time::parse_text_time(&format!("{date} {line}"), month_first),
            None => time::parse_text_time(line, month_first),
        };
        (t.start.is_some() && t.has_date && !t.no_fixed).then_some(t)
    })
}

/// The date of the nearest Markdown heading above the line starting at `s` (within
/// [`UNLABELLED_TIME_REACH`] lines), when that heading holds a year: its ISO date, or else its
/// whole text ("## FRIDAY, October 10, 2025" over "FRIB IReNA Online Seminar, 2:00pm.,
/// Eastern Time.", a course's slides), for the time parser to read with the line.
fn dated_heading_above(text: &str, s: usize) -> Option<&str> {
    let heading = std::iter::successors(prev_line_start(text, s), |&p| prev_line_start(text, p))
        .take(UNLABELLED_TIME_REACH)
        .map(|p| line_at(text, p))
        .find(|l| l.starts_with('#'))?
        .trim();
    heading_date(heading).or_else(|| {
        let words = heading.trim_start_matches('#').trim();
        (words.len() <= UNLABELLED_TIME_MAX && has_year(words.as_bytes())).then_some(words)
    })
}

/// Whether `b` holds a year of this century as a number of its own ("2026", not "12026").
fn has_year(b: &[u8]) -> bool {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    memchr::memchr_iter(b'2', b).any(|i| {
        b.get(i + 1) == Some(&b'0')
            && digit(i + 2)
            && digit(i + 3)
            && !digit(i + 4)
            && !(i > 0 && digit(i - 1))
    })
}

/// How many lines either side of the link's [`unlabelled_time`] reads, blank ones included.
const UNLABELLED_TIME_REACH: usize = 8;

/// The longest line [`unlabelled_time`] reads: a date, a time and a zone's name, with room.
const UNLABELLED_TIME_MAX: usize = 100;

/// How far into its line a date label's separator can stand: leads (Markdown, an emoji or
/// two) and the longest [`labels::DATE`] label, with room to spare.
const DATE_LABEL_REACH: usize = 48;

/// The line starting at `start`, without its '\n'.
fn line_at(text: &str, start: usize) -> &str {
    let rest = text.get(start..).unwrap_or("");
    memchr::memchr(b'\n', rest.as_bytes()).map_or(rest, |i| &rest[..i])
}

/// The value of a label alone on its line, from the lines below it: the next one, or the one
/// after a blank line (a wiki's `**Time:**`, a blank line, then `- Wednesday April 15, 2022 at
/// 09 AM Pacific`), without a list item's mark.
fn value_under_label<'a>(mut below: impl Iterator<Item = &'a str>) -> &'a str {
    let next = below.next().map(str::trim).unwrap_or("");
    let line = if next.is_empty() {
        below.next().map(str::trim).unwrap_or("")
    } else {
        next
    };
    match line.strip_prefix(['-', '*', '•']) {
        Some(item) if item.starts_with(' ') => item.trim_start(),
        _ => line,
    }
}

/// The subject of an Outlook meeting block beside its time line ("Subject: FW: Xen FuSa
/// Upstream meeting" over "When: Tuesday, July 22, 2025 3:00 PM-4:00 PM (UTC+00:00) Dublin, …",
/// a forwarded request quoted in a list mail): the meeting's title, without its "FW:" or
/// "RE:" marks. Read only where no label names a topic, and only on the two lines either side
/// of the time line, which starts at `at`.
fn subject_beside(text: &str, at: usize) -> Option<String> {
    const MARKS: [&str; 5] = ["fw:", "fwd:", "re:", "aw:", "wg:"];
    let above = std::iter::successors(prev_line_start(text, at), |&s| prev_line_start(text, s));
    let below = std::iter::successors(next_line_start(text, at), |&s| next_line_start(text, s));
    above.take(2).chain(below.take(2)).find_map(|s| {
        let mut v = line_at(text, s)
            .trim()
            .strip_prefix("Subject:")?
            .trim_start();
        // ASCII marks: a match ends on a char boundary.
        while let Some(m) = MARKS.iter().find(|m| {
            v.as_bytes()
                .get(..m.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(m.as_bytes()))
        }) {
            v = v[m.len()..].trim_start();
        }
        clean_value(v)
    })
}

/// Where the line before the one starting at `start` starts, if there is one.
fn prev_line_start(text: &str, start: usize) -> Option<usize> {
    (start > 0).then(|| line_start(text, start - 1))
}

/// Whether the line starting at `start` has a mail header line above or below it: a forward's
/// or a reply's "From:", "Sent:", "To:" or "Subject:" block (in the languages of the mail
/// clients' forward lines), whose "Date:" is when the mail was sent, not the meeting's.
fn beside_a_mail_header(text: &str, start: usize) -> bool {
    [prev_line_start(text, start), next_line_start(text, start)]
        .into_iter()
        .flatten()
        .any(|s| is_mail_header(line_at(text, s)))
}

/// Whether `line` is a forward's or a reply's header line ([`beside_a_mail_header`]'s).
fn is_mail_header(line: &str) -> bool {
    const HEADERS: &[&str] = &[
        "from:",
        "to:",
        "cc:",
        "sent:",
        "subject:",
        "von:",
        "an:",
        "gesendet:",
        "betreff:",
        "de:",
        "para:",
        "enviado:",
        "asunto:",
        "envoyé :",
        "objet :",
        "à :",
    ];
    let l = line.trim_start_matches(['>', ' ', '*', '\t']);
    HEADERS.iter().any(|h| starts_with_lowercased(l, h))
}

/// A time value whose "AM" or "PM" a mail's line wrap moved to the next line ("Time: Nov 9,
/// 2023 03:00" over "PM Universal Time UTC Join Zoom Meeting https://…", a mailing list's
/// copy): the value joined with that line, up to where a value ends on it ([`on_its_own`]).
fn meridiem_wrapped(value: &str, next: Option<&str>) -> Option<String> {
    let next = on_its_own(next?.trim());
    let b = next.as_bytes();
    let meridiem = b
        .get(..2)
        .is_some_and(|m| m.eq_ignore_ascii_case(b"am") || m.eq_ignore_ascii_case(b"pm"));
    let alone = !b.get(2).is_some_and(u8::is_ascii_alphanumeric);
    // The value ends with a clock time ("03:00"), as a wrapped one does.
    let v = value.as_bytes();
    let clock = v.len() >= 4
        && v[v.len() - 3] == b':'
        && v[v.len() - 2..].iter().all(u8::is_ascii_digit)
        && v[v.len() - 4].is_ascii_digit();
    (meridiem && alone && clock).then(|| format!("{value} {next}"))
}

/// Google Calendar's older plain-text layout: "When" alone on its line, the date, times and
/// zone on the next line that is not blank ("Tue Apr 20, 2021 11am – 11:30am Central Time -
/// Chicago", an updated invitation quoted in a mail API's public documentation).
fn google_when_line(text: &str) -> Option<time::TextTime> {
    let b = text.as_bytes();
    let at = memchr::memmem::find_iter(b, b"When\n").find(|&i| i == 0 || b[i - 1] == b'\n')?;
    // "When\n" is ASCII: `at + 5` is a char boundary.
    let value = super::split_lf(&text[at + 5..])
        .take(3)
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    let time = time::parse_text_time(value, true);
    (time.start.is_some() || time.naive.is_some()).then_some(time)
}

/// The recurrence a flattened invitation ran onto its time line, after the blanks its line
/// break left: "Feb 13, 2024 10:00 AM Eastern Time (US and Canada)  Every 2 weeks on Tuesday"
/// (a GitHub issue's pasted invitation).
fn recurrence_after_time(value: &str) -> Option<&str> {
    let b = value.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut i = 0;
    while i + 1 < b.len() {
        if blank(b[i]) && (blank(b[i + 1]) || b[i + 1] == b'E' && zoom_every(&value[i + 1..])) {
            // ASCII blanks: `i` and where they end are char boundaries.
            let rest = value[i..].trim_start_matches([' ', '\t']);
            // First bytes compared before whole prefixes: an opener's first character and its
            // capital share their first byte (ASCII letters lower-cased; 'К'/'к'; CJK).
            let first = rest.as_bytes().first().map(u8::to_ascii_lowercase);
            if labels::RECURRENCE_LINE
                .iter()
                .any(|p| p.as_bytes().first() == first.as_ref() && starts_with_lowercased(rest, p))
            {
                let r = on_its_own(recurrence_text(rest)).trim_end();
                return (!r.is_empty()).then_some(r);
            }
            i = value.len() - rest.len();
        } else {
            i += 1;
        }
    }
    None
}

/// Whether `rest` opens with Zoom's own English recurrence, capital and unit and what follows
/// as Zoom writes them ("Every day, until Jun 9, 2024, 7 occurrence(s)", "Every 2 weeks on
/// Tue"): such a line run onto the time line by one blank (an HTML `<div>` whose lines are
/// read as one, "10:00 AM Rome Every day, until …") is a recurrence, not part of the zone.
fn zoom_every(rest: &str) -> bool {
    let Some(r) = rest.strip_prefix("Every ") else {
        return false;
    };
    let r = r.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    ["day", "week", "month", "weekday"].iter().any(|unit| {
        r.strip_prefix(unit).is_some_and(|after| {
            let after = after.strip_prefix('s').unwrap_or(after);
            after.starts_with(',') || after.starts_with(" on ") || after.starts_with(" until")
        })
    })
}

/// A time line's value without the recurrence run onto it ([`recurrence_after_time`]): what
/// the start and zone are read from.
fn before_recurrence(value: &str) -> &str {
    match recurrence_after_time(value) {
        // A subslice of `value`: its offset is where the recurrence starts.
        Some(r) => value[..r.as_ptr() as usize - value.as_ptr() as usize].trim_end(),
        None => value,
    }
}

/// A recurrence line up to its count of occurrences: the first occurrence's date run onto the
/// line (an HTML paragraph without a break) is not part of it.
fn recurrence_text(line: &str) -> &str {
    const COUNT: &str = "occurrence(s)";
    line.find(COUNT).map_or(line, |i| &line[..i + COUNT.len()])
}

/// `t.to_lowercase().starts_with(p)` without the copy, `t` lower-cased a character at a time
/// only as far as `p` goes. That differs from `str::to_lowercase` only on a final capital sigma
/// ('ς' rather than 'σ'), and a `p` holding neither reads both as a mismatch.
fn starts_with_lowercased(t: &str, p: &str) -> bool {
    let mut lower = t.chars().flat_map(char::to_lowercase);
    p.chars().all(|c| lower.next() == Some(c))
}

/// Where each of a text's join links starts, and whether it is to the meeting `link_id` (a
/// link without a meeting ID, such as a personal `/my/` one, counts as to it).
fn meeting_links<'a>(
    links: &'a [JoinLink],
    link_id: Option<&'a str>,
) -> impl Iterator<Item = (usize, bool)> + Clone + 'a {
    links.iter().map(move |l| {
        let id = l.meeting_id.as_deref();
        (l.pos, id.is_none() || id == link_id)
    })
}

/// What `text` says around its join link, which is at byte `link_pos` and has the meeting ID
/// `link_id`; `other_links` are the text's links.
fn read_facts(
    text: &str,
    other_links: &[JoinLink],
    link_pos: usize,
    link_id: Option<&str>,
) -> Facts {
    let mut f = Facts::default();
    // Labels are matched on an ASCII-lower-cased copy (same byte offsets) with case-sensitive
    // patterns, tried only where one pass over it found their words; values come from `text`.
    let low = text.to_ascii_lowercase();
    let scan = labels::scan_text(text, &low);
    let link_pos = link_pos.min(text.len());
    let link_line_start = line_start(text, link_pos);

    // Zoom's own phone part (a header or a one-tap line), not any phone number in prose.
    f.old_format = scan.old_format;
    f.has_phone_section = scan.phone_header || has_one_tap(text);

    // Meeting IDs the text labels (where each label starts, and its value). The one read from
    // the text (serving only where the URL has none) is the first at or after the link's line,
    // else the first; its digits copied only once chosen.
    let mut id_labels: Vec<(usize, Range<usize>)> = Vec::new();
    // Every ID label's start, and whether its value is longer than any Zoom meeting ID (12 or
    // more digits: a Microsoft Teams block Outlook put under the Zoom one, "Meeting ID: 421 216
    // 602 896" then its own "Passcode:").
    let mut id_kinds: Vec<(usize, bool)> = Vec::new();
    for (label, value) in labels::MEETING_ID_RE.all(&low, &scan.meeting_id) {
        if ascii_letter_before(text, label.start) {
            continue;
        }
        let label_text = &low[label.clone()];
        f.vote(lang_of(labels::MEETING_ID, label_text).filter(|_| label_text != "id"));
        let digits = low[value.clone()]
            .bytes()
            .filter(u8::is_ascii_digit)
            .count();
        id_kinds.push((label.start, digits > 11));
        if (9..=11).contains(&digits) {
            id_labels.push((label.start, value));
        }
    }
    let id_digits = |v: &Range<usize>| low[v.clone()].bytes().filter(u8::is_ascii_digit);
    // Under another meeting's ID: the nearest ID label above `pos` names a meeting that one of
    // the text's other links joins (a page listing several meetings, each with its passcode).
    // An ID that merely differs from the link's (a typo, an anonymised text) does not count;
    // one no Zoom meeting can have (another service's) does.
    // Labels come in the text's order, so the nearest above is found by halving; the other
    // links' IDs are gathered once, when first asked (a text of many links and labels would
    // otherwise compare each label with each link).
    let link_ids: std::cell::OnceCell<std::collections::HashSet<&str>> = std::cell::OnceCell::new();
    let under_other_meeting = |pos: usize| {
        let above = id_kinds.partition_point(|(start, _)| *start < pos);
        if above > 0 && id_kinds[above - 1].1 {
            return true;
        }
        let Some(link_id) = link_id else {
            return false;
        };
        let above = id_labels.partition_point(|(start, _)| *start < pos);
        above.checked_sub(1).is_some_and(|k| {
            let v = &id_labels[k].1;
            if id_digits(v).eq(link_id.bytes()) {
                return false;
            }
            let ids = link_ids.get_or_init(|| {
                other_links
                    .iter()
                    .filter_map(|l| l.meeting_id.as_deref())
                    .collect()
            });
            let digits: String = id_digits(v).map(char::from).collect();
            ids.contains(digits.as_str())
        })
    };

    // Passcodes: values borrowed from `text` until the one kept is known. The phone part runs
    // from the first phone line below the link's line to the next other link; it is looked
    // for only as far down as a label below the link asks.
    let mut above = PhoneAbove::new(text, &low, link_line_start);
    let mut below = PhoneBelow::new(text, &low, next_line_start(text, link_pos));
    let mut after: Option<&str> = None;
    let mut before: Option<&str> = None;
    let mut in_phone_typed: Option<&str> = None;
    let recordings = RecordingLinks::new(text, link_pos);
    let mut phone_end: Option<usize> = None;
    for (label, value) in labels::PASSCODE_RE.all(&low, &scan.passcode) {
        if ascii_letter_before(text, label.start) {
            continue;
        }
        if value_goes_on(text, value.end) {
            continue;
        }
        let value = value.start..passcode_end(text, value.end);
        let v = text[value].trim_end_matches(['-', '*', '_']);
        if v.is_empty() || says_no_passcode(v) {
            continue;
        }
        f.vote(lang_of(labels::PASSCODE, &low[label.clone()]));
        let pos = label.start;
        if under_other_meeting(pos) || recordings.follows(pos) {
            continue;
        }
        if pos < link_line_start {
            // A phone line between the label's line and the link's line?
            let from = next_line_start(text, pos).unwrap_or(link_line_start);
            if !above.any_from(from) {
                before = Some(v);
            }
        } else if let Some(phone_start) = below.first_up_to(pos) {
            // In or after the phone part: a typed (not all-digit) passcode before the next
            // other link counts, if no better one is found.
            // (The phone part's start, once found, stays: its end is looked for once.)
            let phone_end = *phone_end.get_or_insert_with(|| {
                other_links
                    .iter()
                    .find(|l| l.pos > phone_start && l.meeting_id.as_deref() != link_id)
                    .map(|l| l.pos)
                    .unwrap_or(text.len())
            });
            if pos < phone_end && !v.bytes().all(|b| b.is_ascii_digit()) && in_phone_typed.is_none()
            {
                in_phone_typed = Some(v);
            }
        } else if after.is_none() {
            after = Some(v);
        }
    }
    f.passcode = after
        .or(before)
        .or(in_phone_typed)
        .or_else(|| passcode_below_its_label(text, &scan.passcode, link_line_start))
        .or_else(|| {
            passcode_in_prose(text, &scan.passcode, link_line_start, |pos| {
                !under_other_meeting(pos) && !recordings.follows(pos)
            })
        })
        .or_else(|| {
            let ids = id_labels.iter();
            let ids = ids.filter(|(_, v)| link_id.is_none_or(|id| id_digits(v).eq(id.bytes())));
            code_under_meeting_id(text, ids.map(|(start, _)| *start))
        })
        .or_else(|| keyed_passcode(text, link_pos))
        .map(str::to_owned);
    let id_after_link = id_labels
        .iter()
        .find(|(start, _)| *start >= link_line_start);
    f.text_meeting_id = id_after_link.or(id_labels.first()).map(|(_, v)| {
        let mut id = String::with_capacity(11);
        id.extend(id_digits(v).map(char::from));
        id
    });

    f.flags = scan.meeting_flags(meeting_links(other_links, link_id));
    for &lang in &scan.join_langs {
        f.vote(Some(lang));
    }
    let google = scan.flags.google;

    // Topic and time: the line holding each nearest above the link's line, else the first
    // below (a text may list several sessions over one link, Zoom's own block last); the
    // organizer: the first line holding one.
    let label_and_value = |g: Option<Vec<Option<Range<usize>>>>| {
        let g = g?;
        Some((g.get(1).cloned()??, g.get(2).cloned()??))
    };
    let mut inline_time = None;
    if let Some((l, v)) =
        label_and_value(labels::TOPIC_RE.nearest_above(&low, &scan.topic, link_line_start))
    {
        f.vote(lang_of(labels::TOPIC, &low[l]));
        let (v, time) = split_inline_time(&low, &scan.time, v);
        inline_time = time;
        f.topic = clean_value(&text[v]);
    } else if google {
        if let Some((_, v)) = label_and_value(labels::TITLE_RE.first(&low, &scan.title)) {
            f.topic = clean_value(&text[v]);
        }
    }
    // The time line: where the line after it starts (if one does), and its value.
    let mut time_line: Option<(usize, Option<usize>, &str)> = None;
    let line_time =
        label_and_value(labels::TIME_RE.nearest_above(&low, &scan.time, link_line_start));
    if let Some((l, v)) = pick_time_label(text, line_time, inline_time) {
        f.vote(lang_of(labels::TIME, &low[l.clone()]));
        time_line = Some((
            line_start(text, l.start),
            next_line_start(text, l.start),
            on_its_own(&text[v]),
        ));
    }
    if let Some((name, lang)) = organizer_sentence(text, &low, &scan.organizer) {
        f.organizer = name;
        f.vote(lang);
    }
    if f.organizer.is_none() && google {
        f.organizer = super::split_lf(text).find_map(|l| {
            let t = l.trim().trim_start_matches(['*', '•', '-']).trim();
            t.strip_suffix("- organizer")
                .or_else(|| t.strip_suffix("- organiser"))
                .and_then(clean_value)
        });
    }

    if let Some((at, next, value)) = time_line {
        f.has_time_label = true;
        let below = || next.into_iter().flat_map(|n| lines_from(text, n));
        // A label alone on its line: the value is on the next one.
        let value = if value.is_empty() {
            value_under_label(below().map(|(_, l)| l))
        } else {
            value
        };
        let month_first = f.month_first();
        f.time = time_of(
            before_recurrence(value),
            below().next().map(|(_, l)| l),
            month_first,
        );
        if !f.time.has_date && !f.time.no_fixed {
            f.time = dated_beside(text, at, value, month_first).unwrap_or(f.time);
        }
        if f.time.no_fixed || says_recurring(value) {
            f.recurrence = Some(value.to_owned());
        }
        if f.recurrence.is_none() {
            f.recurrence = recurrence_after_time(value).map(str::to_owned);
        }
        // "Every week on Tue, until ..." on the next lines (blank lines between, as HTML with
        // a <div> per line and an empty one between them gives).
        for (_, l) in below().filter(|(_, l)| !l.trim().is_empty()).take(3) {
            let t = l.trim();
            if labels::RECURRENCE_LINE
                .iter()
                .any(|p| starts_with_lowercased(t, p))
            {
                f.recurrence = Some(on_its_own(recurrence_text(t)).to_owned());
                break;
            }
        }
    }
    if !f.has_time_label {
        if let Some((title, time)) = google_when(text) {
            f.time = time;
            if f.topic.is_none() {
                f.topic = title.and_then(clean_value);
            }
        } else {
            let month_first = f.month_first();
            f.time = date_line_time(text, month_first)
                .or_else(|| unlabelled_time(text, link_line_start, month_first))
                .unwrap_or(f.time);
        }
    }
    if f.topic.is_none() {
        f.topic = registered_topic(text);
    }
    if f.topic.is_none() {
        f.topic = time_line.and_then(|(at, _, _)| subject_beside(text, at));
    }
    if f.recurrence.is_none() {
        f.recurrence =
            recurrence_line(text, scan.meeting_hits(meeting_links(other_links, link_id)));
    }
    // A date and time without a zone, the zone on a line of its own ("Timezone: ...").
    if f.time.start.is_none() && !f.time.no_fixed {
        if let Some(naive) = f.time.naive {
            if let Some((_, v)) = label_and_value(labels::TIMEZONE_RE.first(&low, &scan.timezone)) {
                if let Some(tz) = time::zone_from_display(&text[v]) {
                    f.time.start = time::localize(&tz, naive);
                    f.time.timezone = Some(tz.name().to_owned());
                }
            }
        }
    }
    f
}

#[cfg(test)]
mod char_scan_tests {
    use super::*;

    /// `script_lang` as it was: every character of the first 20,000 decoded and counted.
    fn old_script_lang(text: &str) -> Option<&'static str> {
        let mut counts = ScriptCounts::default();
        for c in text.chars().take(20_000) {
            counts.add(c);
        }
        counts.lang()
    }

    #[test]
    fn stopword_text_blanks_links_and_tokens_of_letters_and_digits() {
        assert_eq!(
            stopword_text("o a e 7e44e3cf x2 é9a https://z.us/j/1?tk=E5.O4 3rd de"),
            "o a e     é      de"
        );
        assert!(matches!(stopword_text("de la e o"), Cow::Borrowed(_)));
    }

    /// Same answer on every fixture, on texts where the script starts past the 20,000th
    /// character or just before it, and on short mixes.
    #[test]
    fn script_lang_matches_the_old_one() {
        let mut texts = super::super::fixture_texts();
        for s in [
            "会議",
            "회의",
            "Встреча",
            "ミーティング",
            "é",
            "\u{1100}",
            "\u{30ff}",
        ] {
            for pad in [19_990, 19_999, 20_000, 20_001] {
                texts.push("a".repeat(pad) + s);
                texts.push("é".repeat(pad) + s);
            }
            texts.push(format!("x{s}y{s}{s}{s}"));
        }
        texts.push(String::new());
        for t in &texts {
            assert_eq!(
                script_lang(t),
                old_script_lang(t),
                "{}",
                t.chars().take(60).collect::<String>()
            );
        }
    }
}

#[cfg(test)]
mod facts_tests {
    //! The phone-line matchers and `read_facts` against the regexes and code they replaced.
    use super::*;
    use regex::Regex;
    use std::sync::LazyLock;

    static PHONE_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:[•·*\-]\s*)?(?:[a-z]{2,3}:\s*)?\+?\(?\d[\d \-().]{7,}\d(?:\s|$|,|#)")
            .expect("static regex")
    });
    static ONE_TAP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\+?\d{6,},,\d{6,}").expect("static regex"));

    /// A text's lines, found once: line `i` is `text[starts[i]..]` up to its `\n`.
    struct Lines<'t> {
        text: &'t str,
        starts: Vec<usize>,
    }

    impl<'t> Lines<'t> {
        fn new(text: &'t str) -> Self {
            let mut starts = Vec::with_capacity(text.len() / 32 + 2);
            starts.push(0);
            starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
            Lines { text, starts }
        }

        fn len(&self) -> usize {
            self.starts.len()
        }

        /// Line `i` of `of` (the text itself or a copy with the same byte offsets), without its
        /// `\n`.
        fn get_in<'a>(&self, of: &'a str, i: usize) -> Option<&'a str> {
            let start = *self.starts.get(i)?;
            let end = self.starts.get(i + 1).map_or(of.len(), |n| n - 1);
            of.get(start..end)
        }

        fn get(&self, i: usize) -> Option<&'t str> {
            self.get_in(self.text, i)
        }

        fn iter(&self) -> impl Iterator<Item = &'t str> + '_ {
            (0..self.len()).filter_map(|i| self.get(i))
        }
    }

    /// `line` and `low_line` are the same line of a text and of its ASCII-lower-cased copy.
    fn old_is_phone_line(line: &str, low_line: &str) -> bool {
        let l = line.trim();
        if l.is_empty() {
            return false;
        }
        // ONE_TAP and PHONE_LINE both need at least two digits (Unicode ones count too); most
        // prose lines have fewer than two digits, and then only a section header can match.
        let digits = l.chars().filter(|c| c.is_numeric()).take(2).count();
        labels::is_phone_header(low_line.trim())
            || (digits >= 2
                && ((has_two_commas(l) && ONE_TAP.is_match(l)) || PHONE_LINE.is_match(l)))
    }

    /// `s.contains(",,")` (a one-tap number's separator) without building a substring searcher,
    /// which costs more than the search on a short line.
    fn has_two_commas(s: &str) -> bool {
        let b = s.as_bytes();
        memchr::memchr_iter(b',', b).any(|i| b.get(i + 1) == Some(&b','))
    }

    /// Which lines of a text are phone lines, each worked out once when first asked.
    struct PhoneLines<'t> {
        lines: &'t Lines<'t>,
        low: &'t str,
        known: Vec<Option<bool>>,
    }

    impl<'t> PhoneLines<'t> {
        fn new(lines: &'t Lines<'t>, low: &'t str) -> Self {
            PhoneLines {
                lines,
                low,
                known: vec![None; lines.len()],
            }
        }

        fn is_phone(&mut self, i: usize) -> bool {
            let (Some(line), Some(low)) = (self.lines.get(i), self.lines.get_in(self.low, i))
            else {
                return false;
            };
            *self.known[i].get_or_insert_with(|| old_is_phone_line(line, low))
        }
    }

    fn old_ascii_letter_before(text: &str, pos: usize) -> bool {
        text[..pos]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic())
    }

    pub(super) fn old_read_facts(text: &str, other_links: &[JoinLink], link: &JoinLink) -> Facts {
        let mut f = Facts::default();
        let lines = Lines::new(text);
        let starts = &lines.starts;
        let line_of = |pos: usize| match starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        // Labels are matched on an ASCII-lower-cased copy (same byte offsets) with case-sensitive
        // patterns, tried only where one pass over it found their words; values come from `text`.
        let low = text.to_ascii_lowercase();
        let scan = labels::scan_text(text, &low);
        let mut phone = PhoneLines::new(&lines, &low);
        let link_line = line_of(link.pos.min(text.len()));
        let link_line_start = starts.get(link_line).copied().unwrap_or(0);

        // The phone part: from the first phone line after the link's line to the next other link.
        let phone_first = (link_line + 1..lines.len()).find(|&i| phone.is_phone(i));
        // Zoom's own phone part (a header or a one-tap line), not any phone number in prose.
        f.old_format = scan.old_format;
        f.has_phone_section = scan.phone_header || (has_two_commas(text) && ONE_TAP.is_match(text));
        let phone_start = phone_first
            .and_then(|i| starts.get(i).copied())
            .unwrap_or(text.len());
        let phone_end = other_links
            .iter()
            .find(|l| l.pos > phone_start && l.meeting_id != link.meeting_id)
            .map(|l| l.pos)
            .unwrap_or(text.len());

        // Meeting IDs the text labels (the one from the text serves only where the URL has none).
        let mut ids: Vec<(usize, String)> = Vec::new();
        let mut foreign: Vec<(usize, bool)> = Vec::new();
        for (label, value) in labels::MEETING_ID_RE.all(&low, &scan.meeting_id) {
            if old_ascii_letter_before(text, label.start) {
                continue;
            }
            let label_text = &low[label.clone()];
            f.vote(lang_of(labels::MEETING_ID, label_text).filter(|_| label_text != "id"));
            let digits: String = low[value].chars().filter(char::is_ascii_digit).collect();
            foreign.push((label.start, digits.len() > 11));
            if (9..=11).contains(&digits.len()) {
                ids.push((label.start, digits));
            }
        }
        // A passcode under another meeting's ID label: that of one of the other links, or one
        // longer than any Zoom ID.
        let under_other_meeting = |pos: usize| {
            if foreign
                .iter()
                .rfind(|(p, _)| *p < pos)
                .is_some_and(|(_, f)| *f)
            {
                return true;
            }
            let Some(link_id) = link.meeting_id.as_deref() else {
                return false;
            };
            ids.iter().rfind(|(p, _)| *p < pos).is_some_and(|(_, d)| {
                d != link_id
                    && other_links
                        .iter()
                        .any(|l| l.meeting_id.as_deref() == Some(d.as_str()))
            })
        };

        // Passcodes.
        let mut after: Option<String> = None;
        let mut before: Option<(usize, String)> = None;
        let mut in_phone_typed: Option<String> = None;
        for (label, value) in labels::PASSCODE_RE.all(&low, &scan.passcode) {
            if old_ascii_letter_before(text, label.start) {
                continue;
            }
            if value_goes_on(text, value.end) {
                continue;
            }
            let value = value.start..passcode_end(text, value.end);
            let v = text[value].trim_end_matches(['-', '*', '_']).to_owned();
            if v.is_empty() || says_no_passcode(&v) {
                continue;
            }
            f.vote(lang_of(labels::PASSCODE, &low[label.clone()]));
            let pos = label.start;
            if under_other_meeting(pos) || follows_recording_link(text, link.pos, pos) {
                continue;
            }
            if pos >= link_line_start && pos < phone_start {
                if after.is_none() {
                    after = Some(v);
                }
            } else if pos < link_line_start {
                let phone_between = (line_of(pos) + 1..link_line).any(|i| phone.is_phone(i));
                if !phone_between {
                    before = Some((pos, v));
                }
            } else if pos < phone_end
                && !v.bytes().all(|b| b.is_ascii_digit())
                && in_phone_typed.is_none()
            {
                in_phone_typed = Some(v);
            }
        }
        f.passcode = after
            .or(before.map(|(_, v)| v))
            .or(in_phone_typed)
            .or_else(|| {
                passcode_below_its_label(text, &scan.passcode, link_line_start)
                    .or_else(|| {
                        passcode_in_prose(text, &scan.passcode, link_line_start, |pos| {
                            !under_other_meeting(pos)
                                && !follows_recording_link(text, link.pos, pos)
                        })
                    })
                    .or_else(|| {
                        let this = |d: &String| link.meeting_id.as_ref().is_none_or(|m| m == d);
                        let ids = ids.iter().filter(|(_, d)| this(d)).map(|(p, _)| *p);
                        code_under_meeting_id(text, ids)
                    })
                    .or_else(|| keyed_passcode(text, link.pos))
                    .map(str::to_owned)
            });

        f.text_meeting_id = ids
            .iter()
            .find(|(p, _)| *p >= link_line_start)
            .or_else(|| ids.first())
            .map(|(_, d)| d.clone());

        f.flags = scan.meeting_flags(meeting_links(other_links, link.meeting_id.as_deref()));
        for &lang in &scan.join_langs {
            f.vote(Some(lang));
        }
        let google = scan.flags.google;

        // Topic and time: the line holding each nearest above the link's line, else the first
        // below; the organizer: the first line holding one.
        let label_and_value = |g: Option<Vec<Option<Range<usize>>>>| {
            let g = g?;
            Some((g.get(1).cloned()??, g.get(2).cloned()??))
        };
        let mut inline_time = None;
        if let Some((l, v)) =
            label_and_value(labels::TOPIC_RE.nearest_above(&low, &scan.topic, link_line_start))
        {
            f.vote(lang_of(labels::TOPIC, &low[l]));
            let (v, time) = split_inline_time(&low, &scan.time, v);
            inline_time = time;
            f.topic = clean_value(&text[v]);
        } else if google {
            if let Some((_, v)) = label_and_value(labels::TITLE_RE.first(&low, &scan.title)) {
                f.topic = clean_value(&text[v]);
            }
        }
        let mut time_line: Option<(usize, usize, String)> = None;
        let line_time =
            label_and_value(labels::TIME_RE.nearest_above(&low, &scan.time, link_line_start));
        if let Some((l, v)) = pick_time_label(text, line_time, inline_time) {
            f.vote(lang_of(labels::TIME, &low[l.clone()]));
            time_line = Some((
                line_of(l.start),
                line_start(text, l.start),
                on_its_own(&text[v]).to_owned(),
            ));
        }
        if let Some((name, lang)) = organizer_sentence(text, &low, &scan.organizer) {
            f.organizer = name;
            f.vote(lang);
        }
        if f.organizer.is_none() && google {
            f.organizer = lines.iter().find_map(|l| {
                let t = l.trim().trim_start_matches(['*', '•', '-']).trim();
                t.strip_suffix("- organizer")
                    .or_else(|| t.strip_suffix("- organiser"))
                    .and_then(clean_value)
            });
        }

        let time_at = time_line.as_ref().map(|(_, at, _)| *at);
        if let Some((i, at, value)) = time_line {
            f.has_time_label = true;
            // A label alone on its line: the value is on the next one.
            let value = if value.is_empty() {
                value_under_label(lines.iter().skip(i + 1)).to_owned()
            } else {
                value
            };
            let month_first = f.month_first();
            f.time = time_of(before_recurrence(&value), lines.get(i + 1), month_first);
            if !f.time.has_date && !f.time.no_fixed {
                f.time = dated_beside(text, at, &value, month_first).unwrap_or(f.time);
            }
            let vl = value.to_lowercase();
            if f.time.no_fixed || vl.contains("recurring") {
                f.recurrence = Some(value.clone());
            }
            if f.recurrence.is_none() {
                f.recurrence = recurrence_after_time(&value).map(str::to_owned);
            }
            // "Every week on Tue, until ..." on the next lines.
            for l in lines
                .iter()
                .skip(i + 1)
                .filter(|l| !l.trim().is_empty())
                .take(3)
            {
                let t = l.trim();
                let tl = t.to_lowercase();
                if labels::RECURRENCE_LINE.iter().any(|p| tl.starts_with(p)) {
                    f.recurrence = Some(on_its_own(recurrence_text(t)).to_owned());
                    break;
                }
            }
        }
        if !f.has_time_label {
            if let Some((title, time)) = google_when(text) {
                f.time = time;
                if f.topic.is_none() {
                    f.topic = title.and_then(clean_value);
                }
            } else {
                let month_first = f.month_first();
                f.time = date_line_time(text, month_first)
                    .or_else(|| unlabelled_time(text, link_line_start, month_first))
                    .unwrap_or(f.time);
            }
        }
        if f.topic.is_none() {
            f.topic = registered_topic(text);
        }
        if f.topic.is_none() {
            f.topic = time_at.and_then(|at| subject_beside(text, at));
        }
        if f.recurrence.is_none() {
            let links = meeting_links(other_links, link.meeting_id.as_deref());
            f.recurrence = recurrence_line(text, scan.meeting_hits(links));
        }
        // A date and time without a zone, the zone on a line of its own ("Timezone: ...").
        if f.time.start.is_none() && !f.time.no_fixed {
            if let Some(naive) = f.time.naive {
                if let Some((_, v)) =
                    label_and_value(labels::TIMEZONE_RE.first(&low, &scan.timezone))
                {
                    if let Some(tz) = time::zone_from_display(&text[v]) {
                        f.time.start = time::localize(&tz, naive);
                        f.time.timezone = Some(tz.name().to_owned());
                    }
                }
            }
        }
        f
    }

    /// Reads the invitation, or says why there is none.
    fn old_extract(loaded: &Loaded) -> Result<Invitation, NotAnInvitation> {
        let mut docs = Docs::new(loaded);
        let Some(primary_ix) = (0..docs.len())
            .find(|&i| !docs.get(i).links.is_empty())
            .or_else(|| docs.fallbacks(loaded))
        else {
            return Err(no_link_reason(loaded));
        };
        let primary = docs.take(primary_ix);
        if cancelled_in_text(loaded, &primary.text) {
            return Err(cancellation());
        }
        let mut link = primary
            .links
            .iter()
            .find(|l| l.kind != LinkKind::App)
            .or_else(|| primary.links.first())
            .cloned()
            .ok_or(NotAnInvitation::NoJoinLink)?;
        // The same meeting given with its pwd elsewhere (an href, another body): take that one.
        if !link.has_pwd() && link.meeting_id.is_some() {
            let better = |l: &JoinLink| {
                l.meeting_id == link.meeting_id && l.has_pwd() && l.kind != LinkKind::App
            };
            let found = (0..docs.len()).find_map(|i| {
                let links = if i == primary_ix {
                    &primary.links
                } else {
                    &docs.get(i).links
                };
                links.iter().find(|l| better(l)).cloned()
            });
            if let Some(better) = found {
                let pos = link.pos;
                link = better;
                link.pos = pos;
            }
        }

        let mut facts = old_read_facts(&primary.text, &primary.links, &link);
        facts.primary_flags = facts.flags;
        for i in 0..docs.len() {
            if i == primary_ix || facts.complete() {
                continue;
            }
            let d = docs.get(i);
            let same = d.links.is_empty()
                || d.links.iter().any(|l| {
                    l.meeting_id.is_some() && l.meeting_id == link.meeting_id || l.url == link.url
                });
            if !same {
                continue;
            }
            let anchor = d
                .links
                .iter()
                .find(|l| l.meeting_id == link.meeting_id)
                .cloned()
                .unwrap_or_else(|| JoinLink {
                    pos: 0,
                    ..link.clone()
                });
            let other = old_read_facts(&d.text, &d.links, &anchor);
            facts.fill_from(other);
        }

        let calendar = pick_calendar(&loaded.calendars, &link);

        let meeting_id = link.meeting_id.clone().or(facts.text_meeting_id.clone());

        // Start: a calendar's zoned DTSTART, unless the text says there is no fixed time and
        // Zoom made the calendar; else the text's time.
        let mut start = None;
        let mut timezone = None;
        if !facts.time.no_fixed || calendar.is_some_and(|c| !c.made_by_zoom) {
            if let Some(c) =
                calendar.filter(|c| c.start_zoned && c.timezone.as_deref() != Some("UTC"))
            {
                start = c.start;
                timezone = c.timezone.clone();
            }
            if start.is_none() && facts.time.start.is_some() {
                start = facts.time.start;
                timezone = facts.time.timezone.clone();
            }
            if start.is_none() {
                if let Some(c) = calendar.filter(|c| c.start_zoned) {
                    start = c.start;
                    timezone = c.timezone.clone();
                }
            }
        }
        if timezone.is_none() {
            timezone = facts.time.timezone.clone();
        }

        let topic = facts.topic.clone().or_else(|| {
            calendar
                .and_then(|c| c.summary.clone())
                .filter(|s| !s.is_empty())
        });
        let organizer = facts
            .organizer
            .clone()
            .or_else(|| calendar.and_then(|c| c.organizer.clone()));
        let recurrence = facts
            .recurrence
            .clone()
            .or_else(|| calendar.and_then(|c| c.rrule.clone()));

        let flags = facts.primary_flags;
        let kind = if link.kind == LinkKind::Webinar || flags.webinar {
            MeetingKind::Webinar
        } else if link.kind == LinkKind::Personal || flags.personal {
            MeetingKind::Personal
        } else if flags.recurring
            || facts.time.no_fixed
            || recurrence.is_some()
            // Zoom's pre-2020 text left the Time line out for meetings with no fixed time; a
            // current one without it is an instant meeting, not a recurring one.
            || (!facts.has_time_label
                && facts.has_phone_section
                && facts.old_format
                && start.is_none()
                && !facts.time.has_date)
        {
            MeetingKind::Recurring
        } else if meeting_id.as_ref().is_some_and(|id| id.len() == 10)
            && !link.host.ends_with("zoomgov.com")
        {
            // Personal meeting IDs are 10 digits (ZoomGov's scheduled ones can be too).
            MeetingKind::Personal
        } else {
            MeetingKind::Meeting
        };

        Ok(Invitation {
            meeting_id,
            passcode: facts.passcode.clone(),
            join_url: link.url.clone(),
            host: link.host.clone(),
            kind,
            topic: without_url(topic),
            start,
            timezone,
            recurrence: without_url(recurrence),
            organizer: without_url(organizer),
            locale: old_locale(&facts, &primary.text),
            calendar: calendar.and_then(|c| {
                c.uid.as_ref().map(|uid| CalendarRef {
                    uid: uid.clone(),
                    sequence: c.sequence,
                    method: c.method.clone(),
                })
            }),
        })
    }

    /// `Facts::locale` as it was.
    fn old_locale(f: &Facts, text: &str) -> Option<String> {
        let max = f.votes.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if max == 0 {
            return script_lang(text)
                .or_else(|| labels::stopword_lang(&stopword_text(text)))
                .map(str::to_owned);
        }
        let mut best: Vec<&'static str> = f
            .votes
            .iter()
            .filter(|(_, n)| *n == max)
            .map(|(l, _)| *l)
            .collect();
        best.sort_unstable();
        if best.len() == 1 {
            return best.first().map(|l| (*l).to_owned());
        }
        if let Some(s) = script_lang(text) {
            if best.contains(&s) {
                return Some(s.to_owned());
            }
        }
        // Prefer a non-English language on a tie: English labels leak into localized texts.
        best.iter()
            .find(|l| **l != "en")
            .or_else(|| best.first())
            .map(|l| (*l).to_owned())
    }

    /// A small deterministic generator for the test inputs (no randomness crate needed).
    struct Gen(u64);

    impl Gen {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        /// A string of `len` pieces drawn from `parts`.
        fn string(&mut self, parts: &[&str], len: usize) -> String {
            (0..len).map(|_| parts[self.below(parts.len())]).collect()
        }
    }

    /// Every char the regex crate's `\d`, `(?i)[a-z]` and `\s` match, against the hand classes.
    #[test]
    fn character_classes_match_the_regex() {
        let digit = Regex::new(r"^\d$").expect("regex");
        let az = Regex::new(r"(?i)^[a-z]$").expect("regex");
        let space = Regex::new(r"^\s$").expect("regex");
        let mut buf = [0u8; 4];
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = c.encode_utf8(&mut buf);
            assert_eq!(is_digit(c), digit.is_match(s), "{c:?}");
            assert_eq!(is_az(c), az.is_match(s), "{c:?}");
            assert_eq!(c.is_whitespace(), space.is_match(s), "{c:?}");
        }
    }

    /// The lines the phone matchers are tried on: every fixture line (raw, trimmed and
    /// lower-cased), its prefixes and suffixes at every char boundary (the first 400 bytes of long
    /// lines), and generated lines of digits (ASCII and not), separators, bullets and letters.
    fn phone_test_lines() -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for t in super::super::fixture_texts() {
            for l in t.lines() {
                lines.push(l.to_owned());
                lines.push(l.trim().to_owned());
                lines.push(l.to_ascii_lowercase());
                let head = &l[..l.floor_char_boundary(400)];
                for (i, _) in head.char_indices() {
                    lines.push(head[..i].to_owned());
                    lines.push(head[i..].to_owned());
                }
            }
        }
        let parts = [
            "0",
            "1",
            "5",
            "9",
            "٣",
            "１",
            "𝟙",
            "²",
            "½",
            "Ⅻ",
            " ",
            " ",
            "+",
            "(",
            ")",
            "-",
            ".",
            ",",
            ",,",
            "#",
            "*",
            "•",
            "·",
            "\t",
            "\u{3000}",
            "\u{a0}",
            "a",
            "Z",
            "us",
            "ſ",
            "\u{212a}",
            "k",
            ":",
            "é",
            "x",
            "\u{85}",
            "/",
            "pwd",
            "123456",
            "646 558 8656",
            "٠١٢٣٤٥",
        ];
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..60_000 {
            let len = g.below(14);
            lines.push(g.string(&parts, len));
        }
        // Phone-shaped lines with each lead and tail.
        let numbers = [
            "+1 646 558 8656",
            "+1 (646) 558-8656",
            "646.558.8656",
            "+16465588656,,123456789#",
            "+16465588656,,,,123456789#,,,,*123456#",
            "1234567",
            "12345678",
            "123456789",
            "１２３４５６７８９０",
            "٠١٢٣٤٥٦٧٨٩",
            "(0) 30 5679 5800",
            "12 3 4 5 6 7 8 9",
            "1-------8",
            "1........9",
        ];
        let leads = [
            "",
            "• ",
            "·",
            "*  ",
            "- ",
            "-",
            "US: ",
            "us:",
            "USA:",
            "ussr: ",
            "u:",
            "ſ\u{212a}: ",
            "• DE:\t",
            "+",
            "(",
            "+(",
            "(+",
            "• +",
            "x",
            "  ",
        ];
        let tails = [
            "", " ", " US", ",", "#", ",,12345#", "x", "a", "-", ".", ")", "\t", "\u{3000}",
            "\u{a0}", "5", " 5",
        ];
        for n in numbers {
            for lead in leads {
                for tail in tails {
                    lines.push(format!("{lead}{n}{tail}"));
                }
            }
        }
        lines.push(String::new());
        lines.push("9".repeat(5000));
        lines.push(format!("{},,{}", "1".repeat(3000), "2".repeat(3000)));
        lines
    }

    /// `is_number_line` and `has_one_tap` against the regexes, and `is_phone_line` against the
    /// old one, on every test line.
    #[test]
    fn phone_matchers_match_the_regexes() {
        for l in phone_test_lines() {
            assert_eq!(is_number_line(&l), PHONE_LINE.is_match(&l), "{l:?}");
            assert_eq!(has_one_tap(&l), ONE_TAP.is_match(&l), "{l:?}");
            let low = l.to_ascii_lowercase();
            assert_eq!(
                is_phone_line(&l, &low),
                old_is_phone_line(&l, &low),
                "{l:?}"
            );
        }
        // Whole texts, as `read_facts` asks `has_one_tap` of them.
        for t in super::super::fixture_texts() {
            assert_eq!(has_one_tap(&t), ONE_TAP.is_match(&t));
        }
    }

    /// `says_recurring` and `starts_with_lowercased` against the `to_lowercase` copies they
    /// replaced, on strings mixing the characters whose lower case is special.
    #[test]
    fn lowercase_tests_match_the_old_ones() {
        let parts = [
            "recurring",
            "RECURRING",
            "Recur",
            "ring",
            "recurrİng",
            "recurrıng",
            "\u{212a}",
            "İ",
            "Σ",
            "σ",
            "ς",
            " ",
            "a",
            "E",
            "EVERY ",
            "Every ",
            "every",
            "JEDE ",
            "Jeden ",
            "CADA ",
            "毎",
            "每",
            "매",
            "КАЖД",
            "Кажд",
            "кажд",
            "ß",
            "ẞ",
            "Ω",
            "\u{307}",
            "x",
        ];
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let mut texts: Vec<String> = (0..40_000)
            .map(|_| {
                let len = g.below(6);
                g.string(&parts, len)
            })
            .collect();
        for t in super::super::fixture_texts() {
            texts.extend(t.lines().take(200).map(str::to_owned));
        }
        for t in &texts {
            let lower = t.to_lowercase();
            assert_eq!(says_recurring(t), lower.contains("recurring"), "{t:?}");
            for p in labels::RECURRENCE_LINE {
                assert_eq!(
                    starts_with_lowercased(t, p),
                    lower.starts_with(p),
                    "{t:?} {p:?}"
                );
            }
        }
    }

    /// The bodies `read_facts` reads for a fixture: its text cleaned as plain text and as HTML.
    fn fact_texts(raw: &str) -> Vec<String> {
        vec![clean_text(raw), html::to_clean_text(raw)]
    }

    /// `read_facts` against the old one on every fixture body, read around each of its links, from
    /// its start and from past its end; and on the body cut at line ends and mid-line.
    #[test]
    fn read_facts_matches_the_old_one() {
        let mut texts: Vec<String> = Vec::new();
        for raw in super::super::fixture_texts() {
            for t in fact_texts(&raw) {
                let b = t.as_bytes();
                let cuts: Vec<usize> = memchr::memchr_iter(b'\n', b)
                    .step_by(3)
                    .flat_map(|i| [i, i + 1, t.floor_char_boundary(i / 2 + 7)])
                    .collect();
                for c in cuts {
                    texts.push(t[..t.floor_char_boundary(c)].to_owned());
                    texts.push(t[t.floor_char_boundary(c)..].to_owned());
                }
                texts.push(t);
            }
        }
        // Passcodes above a phone line above the link, and labels alone on their lines.
        texts.push(
            "Passcode: abc1\n+1 646 558 8656 US\nPasscode: zz9\nhttps://zoom.us/j/123456789\n\
             Time:\nJan 5, 2026 10:00 AM London\nEvery week on Tue\nMeeting ID: 123 456 7890\n"
                .to_owned(),
        );
        texts.push(
            "Passcode: first\nx\nPasscode: second\n\nhttps://zoom.us/j/98765432101?pwd=x\n\
             +16465588656,,98765432101#\nPasscode: typed1\nMeeting ID: 987 6543 2101\n"
                .to_owned(),
        );
        for t in &texts {
            let links = url::find_join_links(t);
            let id = links.first().and_then(|l| l.meeting_id.clone());
            let mut anchors: Vec<JoinLink> = links.clone();
            for pos in [0, t.len(), t.len() + 10] {
                anchors.push(JoinLink {
                    pos,
                    url: String::new(),
                    host: String::new(),
                    kind: LinkKind::Meeting,
                    meeting_id: id.clone(),
                });
            }
            for link in &anchors {
                let new = read_facts(t, &links, link.pos, link.meeting_id.as_deref());
                let old = old_read_facts(t, &links, link);
                assert_eq!(
                    format!("{new:?}"),
                    format!("{old:?}"),
                    "{t:?} at {}",
                    link.pos
                );
            }
        }
    }

    /// `Facts::locale` against the old one on every mix of up to three languages and vote counts,
    /// with texts whose script does or does not name one of them.
    #[test]
    fn locale_matches_the_old_one() {
        let langs = ["en", "de", "ja", "ru", "zh", "fr"];
        let texts = [
            "",
            "plain words",
            "会議ミーティング",
            "Встреча встреча",
            "会议",
            "회의",
        ];
        let mut g = Gen(0x1234_5678_9abc_def1);
        for _ in 0..20_000 {
            let mut f = Facts::default();
            for _ in 0..g.below(6) {
                let l = langs[g.below(langs.len())];
                for _ in 0..1 + g.below(2) {
                    f.vote(Some(l));
                }
            }
            let text = texts[g.below(texts.len())];
            assert_eq!(
                f.locale(text),
                old_locale(&f, text),
                "{:?} {text:?}",
                f.votes
            );
        }
    }

    /// The line helpers against the old line table, and `ascii_letter_before` against the old
    /// one, at every char boundary of every fixture and of short texts with and without a
    /// final line break.
    #[test]
    fn line_helpers_match_the_old_table() {
        let mut texts = super::super::fixture_texts();
        for t in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "\na",
            "ab\ncd\n\néf\n",
            "x\r\ny",
        ] {
            texts.push(t.to_owned());
        }
        for t in &texts {
            let lines = Lines::new(t);
            let old_line_of = |pos: usize| match lines.starts.binary_search(&pos) {
                Ok(i) => i,
                Err(i) => i.saturating_sub(1),
            };
            for pos in (0..=t.len()).filter(|p| t.is_char_boundary(*p)) {
                assert_eq!(ascii_letter_before(t, pos), old_ascii_letter_before(t, pos));
                let i = old_line_of(pos);
                assert_eq!(Some(line_start(t, pos)), lines.starts.get(i).copied());
                assert_eq!(next_line_start(t, pos), lines.starts.get(i + 1).copied());
            }
            for (i, &start) in lines.starts.iter().enumerate() {
                let new: Vec<(usize, &str)> = lines_from(t, start).collect();
                let old: Vec<(usize, &str)> = (i..lines.len())
                    .filter_map(|j| Some((*lines.starts.get(j)?, lines.get(j)?)))
                    .collect();
                assert_eq!(new, old);
            }
        }
    }

    /// The whole extraction against the old one (its old `read_facts`, `locale` and copies) on
    /// every fixture.
    #[test]
    fn extract_matches_the_old_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invitations");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("fixture");
            let Ok(loaded) = super::super::mime::load(&bytes) else {
                continue;
            };
            assert_eq!(extract(&loaded), old_extract(&loaded));
            n += 1;
        }
        assert!(n > 40, "{n}");
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;

    /// Values end where a URL or a table cell starts on their line; nothing else is cut.
    #[test]
    fn values_stop_at_a_url_or_a_tab() {
        for (v, want) in [
            (" Weekly sync ", "Weekly sync"),
            (
                "Sync Join Zoom Meeting https://zoom.us/j/81234567890?pwd=x",
                "Sync",
            ),
            ("Sync zoommtg://zoom.us/join?confno=1", "Sync"),
            ("a\tb https://x", "a"),
            ("https://zoom.us/j/1", ""),
            ("Q&A: what is ://", "Q&A: what is"),
            ("日本語https://x", "日本語"),
            (
                "This is a recurring meeting Meet anytime Join Zoom Meeting",
                "This is a recurring meeting Meet anytime",
            ),
            (
                "Это регулярная конференция Начать в любое время  Подключиться к конференции Zoom",
                "Это регулярная конференция Начать в любое время",
            ),
            ("Zoom sync", "Zoom sync"),
            ("JOIN ZOOM MEETING", ""),
        ] {
            assert_eq!(on_its_own(v), want, "{v:?}");
        }
        assert_eq!(
            clean_value("**Topic https://zoom.us/j/1**"),
            Some("Topic".into())
        );
        assert_eq!(clean_value("https://zoom.us/j/1"), None);
        assert_eq!(
            clean_value("ana@example.org \\"),
            Some("ana@example.org".into())
        );
    }

    /// Zoom's English recurrence on a line of its own counts; prose opening with its words and
    /// a phrase inside a line do not.
    #[test]
    fn a_recurrence_line_of_its_own() {
        for (t, want) in [
            (
                "## Call\n\nEvery month on the Last Wed, 07:00 AM Pacific Time (US and Canada)([x](https://a.example))\n",
                Some("Every month on the Last Wed, 07:00 AM Pacific Time (US and Canada)"),
            ),
            ("* Every week on Thu, 08:00 AM\n", Some("Every week on Thu, 08:00 AM")),
            ("Every weekday, 3 occurrence(s) Jan 1\n", Some("Every weekday, 3 occurrence(s)")),
            ("Every week we talk.\n", None),
            ("We meet every week on Thu.\n", None),
        ] {
            let low = t.to_ascii_lowercase();
            let scan = labels::scan_text(t, &low);
            let hits = scan.meeting_hits(std::iter::empty());
            assert_eq!(recurrence_line(t, hits).as_deref(), want, "{t:?}");
        }
    }

    /// A time line that reads no time gives way to the topic line's inline one; one that does
    /// read a time is kept.
    #[test]
    fn a_time_line_reading_nothing_gives_way_to_the_topics() {
        let read = |t: &str| {
            let links = url::find_join_links(t);
            let f = read_facts(t, &links, links[0].pos, links[0].meeting_id.as_deref());
            f.time.start.map(|s| s.to_rfc3339())
        };
        let invitation = "Topic: Talk Time: Nov 9, 2023 03:00\nPM Universal Time UTC Join Zoom Meeting https://cloud.zoom.us/j/95208394179\n";
        assert_eq!(
            read(&format!("{invitation}\n*Time: 3 - 4pm *\n")).as_deref(),
            Some("2023-11-09T15:00:00+00:00")
        );
        assert_eq!(
            read(&format!("{invitation}\nTime: Nov 10, 2023 09:00 AM UTC\n")).as_deref(),
            Some("2023-11-10T09:00:00+00:00")
        );
    }

    /// A date on a line of its own: beside a time line that gives none, or alone where no time
    /// label is; never a mail header block's "Date:".
    #[test]
    fn a_date_on_a_line_of_its_own() {
        let link = "Join Zoom Meeting\nhttps://us02web.zoom.us/j/81234567890\n";
        for (text, want) in [
            (
                "Date: Dec 3, 2026\nTime: 10:00 AM Eastern Time (US and Canada)\n",
                Some("2026-12-03T10:00:00-05:00"),
            ),
            (
                "Tema: Reunión\nHora: 10:00 a. m. Ciudad de México\n\n📅 Fecha: 3 dic 2026\n",
                Some("2026-12-03T10:00:00-06:00"),
            ),
            // A table's two rows, as the HTML converter leaves them.
            (
                "**Date:**\tDecember 3, 2026\nTime:\t6:00 PM ET\n",
                Some("2026-12-03T18:00:00-05:00"),
            ),
            (
                "Date: Thursday, December 3, 2026, 6:00 PM ET\n",
                Some("2026-12-03T18:00:00-05:00"),
            ),
            // Too far from the time line, or a word that only starts like the label.
            (
                "Date: Dec 3, 2026\n1\n2\n3\nTime: 10:00 AM Eastern Time (US and Canada)\n",
                None,
            ),
            (
                "Dates: Dec 3, 2026\nTime: 10:00 AM Eastern Time (US and Canada)\n",
                None,
            ),
            // A forward's header block: when the mail was sent, not the meeting.
            (
                "From: Ana <ana@example.org>\nDate: Mon, Nov 30, 2026 at 9:12 AM EST\n\
                 Subject: Board\n",
                None,
            ),
            (
                "From: Ana <ana@example.org>\nDate: Mon, Nov 30, 2026\n\
                 Time: 10:00 AM Eastern Time (US and Canada)\n",
                None,
            ),
        ] {
            let t = format!("{text}\n{link}");
            let links = url::find_join_links(&t);
            let f = read_facts(&t, &links, links[0].pos, links[0].meeting_id.as_deref());
            let start = f.time.start.map(|s| s.to_rfc3339());
            assert_eq!(start.as_deref(), want, "{t:?}");
            let old = facts_tests::old_read_facts(&t, &links, &links[0]);
            assert_eq!(old.time.start.map(|s| s.to_rfc3339()), start, "{t:?}");
        }
    }

    /// A value's own quotation marks and an emoji shortcode after it are not part of it.
    #[test]
    fn values_lose_their_quotes_and_a_shortcode_after_them() {
        for (v, want) in [
            (
                "\"Intrapatient dynamics of early drug resistance\" :dna:",
                Some("Intrapatient dynamics of early drug resistance"),
            ),
            ("“Weekly sync”", Some("Weekly sync")),
            (
                "\"Rust\" and \"Go\" night",
                Some("\"Rust\" and \"Go\" night"),
            ),
            ("\"A\" or \"B\"", Some("\"A\" or \"B\"")),
            ("Ratio 1:2:", Some("Ratio 1:2:")),
            ("Launch :rocket:", Some("Launch")),
            ("\"Diversity\" :lab_coat: :dna: :scroll:", Some("Diversity")),
            ("Launch:rocket:", Some("Launch:rocket:")),
            ("\"\"", None),
        ] {
            assert_eq!(clean_value(v).as_deref(), want, "{v:?}");
        }
    }

    /// A topic cut at a time label on its line loses the full stop that ended its sentence,
    /// not an ellipsis; both `read_facts` agree.
    #[test]
    fn a_topic_cut_at_its_lines_time_label_loses_its_full_stop() {
        for (topic, want) in [
            ("Konu: MEVZUAT. Zaman:", "MEVZUAT"),
            ("Topic: Board call.  Time:", "Board call"),
            ("Topic: Wait... Time:", "Wait..."),
            ("Topic: Q&A Time:", "Q&A"),
            ("Topic: Live Demo @ Time:", "Live Demo"),
            ("Topic: Board | Time:", "Board"),
            ("Topic: Q-and-A - Time:", "Q-and-A"),
        ] {
            let t = format!(
                "{topic} Jun 11, 2019 10:00 AM Eastern Time (US and Canada)\nhttps://zoom.us/j/95208394179\n"
            );
            let links = url::find_join_links(&t);
            let f = read_facts(&t, &links, links[0].pos, links[0].meeting_id.as_deref());
            assert_eq!(f.topic.as_deref(), Some(want), "{t:?}");
            let old = facts_tests::old_read_facts(&t, &links, &links[0]);
            assert_eq!(old.topic.as_deref(), Some(want), "{t:?}");
        }
    }

    /// Prose after a passcode label is not a passcode; a passcode that goes on in characters
    /// outside Zoom's documented set is read whole; both `read_facts` agree.
    #[test]
    fn passcodes_that_are_prose_or_hold_other_characters() {
        for (line, want) in [
            ("(passcode: same as the class, announced at KLMS.)", None),
            ("Passcode: none", None),
            ("Passcode: Same", None),
            ("Passcode: sameday", Some("sameday")),
            ("Passcode: yV39aa%pi0", Some("yV39aa%pi0")),
            ("Passcode: sAS9=.", Some("sAS9=")),
            ("Passcode: 123456#", Some("123456")),
            ("Passcode: abc.", Some("abc")),
            ("Passcode: 7s2BQ2Q?", Some("7s2BQ2Q?")),
            ("Passcode: 7s2BQ2Q? (ask the host)", Some("7s2BQ2Q")),
            ("Passcode: 123456?", Some("123456")),
            ("Passcode: meeting?", Some("meeting")),
            ("Passcode: a1?", Some("a1")),
            // Written in a sentence, without a colon (fixtures 221, 222).
            ("The password is 994922.", Some("994922")),
            ("Zoom passcode 7858384090", Some("7858384090")),
            (
                "The passcode is **221011**, you could find it in Canvas.",
                Some("221011"),
            ),
            (
                "The passcode for the Zoom call is \"classics\".",
                Some("classics"),
            ),
            ("the password for this meeting is `x7Kq2p`", Some("x7Kq2p")),
            ("Password is: ab12cd", Some("ab12cd")),
            ("This meeting is password protected.", None),
            ("Password is required.", None),
            ("The password will be sent to you on 2024-05-01.", None),
            ("The passcode is same as the class.", None),
            ("pass 2024 on", None),
            ("Passcode 123456# (dial-in)", None),
            // A dotted name is no value (fixture 228).
            ("pass: process.env.EMAIL_PASSWORD", None),
            // A program's field with its value quoted.
            ("    senha: 'jw1010',", Some("jw1010")),
            ("Passcode: 'none'", None),
        ] {
            let t = format!("Join Zoom Meeting\nhttps://zoom.us/j/95208394179\n{line}\n");
            let links = url::find_join_links(&t);
            let f = read_facts(&t, &links, links[0].pos, links[0].meeting_id.as_deref());
            assert_eq!(f.passcode.as_deref(), want, "{t:?}");
            let old = facts_tests::old_read_facts(&t, &links, &links[0]);
            assert_eq!(old.passcode.as_deref(), want, "{t:?}");
        }
    }

    /// A Markdown heading's ISO date, and nothing else in a line.
    #[test]
    fn a_date_in_a_heading() {
        for (line, want) in [
            ("# 2022-09-07 Community Meeting", Some("2022-09-07")),
            ("## NumPy meeting 2020-03-18", Some("2020-03-18")),
            ("2022-09-07 Community Meeting", None),
            ("# Meeting 12022-09-07", None),
            ("# 2022-9-7 Meeting", None),
            ("#", None),
        ] {
            assert_eq!(heading_date(line), want, "{line:?}");
        }
    }

    /// A line with no label near the link gives the start only with a date, a time and a zone.
    #[test]
    fn an_unlabelled_time_near_the_link() {
        let start = |t: &str| {
            let at = t.find("https://").expect("a link");
            unlabelled_time(t, line_start(t, at), true).and_then(|t| t.start)
        };
        let t =
            "AI for Life & Work\n15 May 2026, 18:00 Europe/Vienna\n\nZoom: https://zoom.us/j/1\n";
        assert_eq!(
            start(t).map(|s| s.to_rfc3339()).as_deref(),
            Some("2026-05-15T18:00:00+02:00")
        );
        for t in [
            // No zone, no date, a phone line, or too far from the link.
            "15 May 2026, 18:00\nhttps://zoom.us/j/1\n",
            "Every Monday 18:00 Europe/Vienna\nhttps://zoom.us/j/1\n",
            "https://zoom.us/j/1\n+1 312 626 6799 US (Chicago) 15 May 2026 18:00\n",
            "15 May 2026, 18:00 Europe/Vienna\n1\n2\n\n4\n5\n6\n7\n8\nhttps://zoom.us/j/1\n",
            // A heading's date, but a nearer heading without one, or no zone on the line.
            "## FRIDAY, October 10, 2025\n\n### Seminar\n2:00pm Eastern Time\nhttps://zoom.us/j/1\n",
            "## FRIDAY, October 10, 2025\n\nSeminar, 2:00pm.\nhttps://zoom.us/j/1\n",
            "## Seminars 2025\n\nSeminar, 2:00pm Eastern Time\nhttps://zoom.us/j/1\n",
        ] {
            assert_eq!(start(t), None, "{t:?}");
        }
        // The date only in the Markdown heading above the time's line (a course's slides).
        for (t, want) in [
            (
                "## FRIDAY, October 10, 2025 \n\nFRIB IReNA Online Seminar, 2:00pm., Eastern Time.\nJoin Zoom: https://msu.zoom.us/j/1\n",
                "2025-10-10T14:00:00-04:00",
            ),
            (
                "# 2022-09-07 Community Meeting\n8pm UTC\nhttps://zoom.us/j/1\n",
                "2022-09-07T20:00:00+00:00",
            ),
        ] {
            assert_eq!(start(t).map(|s| s.to_rfc3339()).as_deref(), Some(want), "{t:?}");
        }
    }

    /// What offers show never holds a URL, whichever field it came from.
    #[test]
    fn shown_values_lose_their_urls() {
        for (v, want) in [
            ("<a href=\"https://zoom.us/j/Investor call", None),
            (
                "Investor call <a href=\"https://zoom.us/j/1\">",
                Some("Investor call"),
            ),
            (
                "FREQ=WEEKLY (see https://x.example/a)",
                Some("FREQ=WEEKLY (see"),
            ),
            ("Weekly sync", Some("Weekly sync")),
        ] {
            assert_eq!(without_url(Some(v.to_owned())).as_deref(), want, "{v:?}");
        }
    }

    /// A meridiem wrapped onto the next line joins its time; nothing else does.
    #[test]
    fn a_meridiem_wrapped_onto_the_next_line() {
        assert_eq!(
            meridiem_wrapped(
                "Nov 9, 2023 03:00",
                Some("PM Universal Time UTC Join Zoom Meeting https://cloud.zoom.us/j/1")
            )
            .as_deref(),
            Some("Nov 9, 2023 03:00 PM Universal Time UTC")
        );
        assert_eq!(
            meridiem_wrapped("Nov 9, 2023 03:00", Some("Pmeeting")),
            None
        );
        assert_eq!(meridiem_wrapped("Nov 9, 2023", Some("PM x")), None);
        assert_eq!(meridiem_wrapped("03:00", None), None);
    }

    /// Google Calendar's older layout: "When" alone, the time on the next line not blank.
    #[test]
    fn google_when_alone_on_its_line() {
        let t = "When\n\nTue Apr 20, 2021 11am – 11:30am Central Time - Chicago\n\nJoining info\n";
        let (title, time) = google_when(t).expect("a time");
        assert_eq!(title, None);
        assert_eq!(
            time.start.map(|s| s.to_rfc3339()).as_deref(),
            Some("2021-04-20T11:00:00-05:00")
        );
        assert_eq!(time.timezone.as_deref(), Some("America/Chicago"));
        assert!(google_when("Whenever\nTue Apr 20, 2021 11am CT\n").is_none());
        assert!(google_when("When\n\n\n\nTue Apr 20, 2021 11am\n").is_none());
    }

    /// Zoom's registration confirmation names its webinar in a sentence, not under a label.
    #[test]
    fn a_registration_confirmation_names_its_webinar() {
        for (t, want) in [
            (
                "Hi Ana,\nThank you for registering for 8090 Software Factory Demo + Q&A. You can find information about this webinar below.\n",
                Some("8090 Software Factory Demo + Q&A"),
            ),
            (
                "Thank you for registering for \"Intro to Rust\".\n\nPlease submit any questions",
                Some("Intro to Rust"),
            ),
            ("thank you for registering for Dr. Ruiz's talk.", Some("Dr. Ruiz's talk")),
            ("Thank you for registering for .\n", None),
            (
                "Thank you for registering for our FREE webinar:\n\nHow to Recover Lost Leads\n",
                Some("How to Recover Lost Leads"),
            ),
            ("Thanks for registering!", None),
            (
                "Hi Ana,\nThis is a reminder that your webinar will begin in 1 day: \nHybrid BILT Bridging Event: Towards inclusive excellence in TVET\nDate & Time\tApr 23, 2024",
                Some("Hybrid BILT Bridging Event: Towards inclusive excellence in TVET"),
            ),
            (
                "This is a reminder that your webinar will begin in 1 hour:\r\n\r\n  Intro to Rust  \r\nDate",
                Some("Intro to Rust"),
            ),
            (
                "This is a reminder that your webinar will begin in 1 hour. See you!\nIntro",
                None,
            ),
            ("This is a reminder that your webinar will begin in 1 hour:\n\n", None),
            (
                "This is a reminder that \"Transitioning from Student to Professional\" will begin in 1 hour on:",
                Some("Transitioning from Student to Professional"),
            ),
            ("This is a reminder that “Intro” will begin in 1 day.", Some("Intro")),
            ("This is a reminder that \"Intro\" starts soon.", None),
        ] {
            assert_eq!(registered_topic(t).as_deref(), want, "{t:?}");
        }
    }

    #[test]
    fn an_outlook_subject_beside_the_time_line() {
        let block =
            "From: Ana\nSubject: FW: RE: Xen FuSa Upstream meeting\nWhen: Tuesday, July 22\n";
        let at = block.find("When").unwrap();
        assert_eq!(
            subject_beside(block, at).as_deref(),
            Some("Xen FuSa Upstream meeting")
        );
        let below = "When: 15:00 - 16:00 21 January 2025\nSubject: Weekly sync\n";
        assert_eq!(subject_beside(below, 0).as_deref(), Some("Weekly sync"));
        let far = "Subject: Old thread\na\nb\nWhen: Tuesday\n";
        assert_eq!(subject_beside(far, far.find("When").unwrap()), None);
        assert_eq!(subject_beside("Subject: RE:\nWhen: Tuesday\n", 13), None);
    }

    #[test]
    fn a_passcode_under_a_key_of_the_meetings_object() {
        for (t, want) in [
            (
                "{\"join_url\": \"https://zoom.us/j/1\", \"password\": \"qwerty123\"}",
                Some("qwerty123"),
            ),
            (
                "{'join_url': 'https://zoom.us/j/1', 'password': '106747'}",
                Some("106747"),
            ),
            (
                "[{\"uri\":\"https://zoom.us/j/1\",\"passcode\":\"296305\"}]",
                Some("296305"),
            ),
            // Another key, an empty value, no quotes, or not a passcode's shape.
            (
                "{\"join_url\": \"https://zoom.us/j/1\", \"h323_password\": \"12345\"}",
                None,
            ),
            (
                "{\"join_url\": \"https://zoom.us/j/1\", \"password\": \"\"}",
                None,
            ),
            (
                "{join_url: 'https://zoom.us/j/1', password: process.env.PASS}",
                None,
            ),
            (
                "{\"join_url\": \"https://zoom.us/j/1\", \"password\": \"a very long pass\"}",
                None,
            ),
        ] {
            assert_eq!(keyed_passcode(t, t.find("https").unwrap()), want, "{t:?}");
        }
        let other = "{\"link\": \"https://zoom.us/j/1\", \"smtp\": {\"password\": \"hunter22\"}}";
        assert_eq!(keyed_passcode(other, other.find("https").unwrap()), None);
        let far = format!(
            "\"password\": \"hunter22\"{}https://zoom.us/j/1",
            " ".repeat(900)
        );
        assert_eq!(keyed_passcode(&far, far.find("https").unwrap()), None);
    }

    #[test]
    fn values_of_programs_and_templates() {
        for (v, want) in [
            (r#"Atención a dudas\n" +"#, Some("Atención a dudas")),
            (r#"Topic X\n", "#, Some("Topic X")),
            (r#"My Webinar\n\n""#, Some("My Webinar")),
            (
                r#"Hi there, \n\nAna Ruiz"#,
                Some(r#"Hi there, \n\nAna Ruiz"#),
            ),
            (r#"Line\n"#, Some("Line")),
            (r#"C:\new folder"#, Some(r#"C:\new folder"#)),
            ("${topic}", None),
            ("{{ meeting.topic }}", None),
            ("{topic}", None),
            ("${order.name}", None),
            ("{a} and {b}", Some("{a} and {b}")),
            ("Ana {Ruiz}", Some("Ana {Ruiz}")),
        ] {
            assert_eq!(clean_value(v).as_deref(), want, "{v:?}");
        }
    }

    #[test]
    fn a_code_under_the_meeting_id() {
        for (t, want) in [
            (
                "Meeting-ID: 622 1548 6938\n**Code:** 598361\n",
                Some("598361"),
            ),
            ("Meeting-ID: 622 1548 6938\nCode : Ab12cd\n", Some("Ab12cd")),
            // Not on the next line, not a passcode's shape, or another word.
            ("Meeting-ID: 622 1548 6938\n\nCode: 598361\n", None),
            ("Meeting-ID: 622 1548 6938\nCode: see below\n", None),
            ("Meeting-ID: 622 1548 6938\nCodes: 598361\n", None),
            ("Meeting-ID: 622 1548 6938\nZip Code: 12345\n", None),
        ] {
            assert_eq!(code_under_meeting_id(t, [0].into_iter()), want, "{t:?}");
        }
        assert_eq!(code_under_meeting_id("Code: 598361", [].into_iter()), None);
    }

    #[test]
    fn organizer_names_lose_the_prose_before_them() {
        for (v, want) in [
            ("Hi there, Isabella Ferguson", Some("Isabella Ferguson")),
            ("Hello all, Ana Ruiz", Some("Ana Ruiz")),
            ("Thanks. Ana Ruiz", Some("Ana Ruiz")),
            ("Reminder: Ana Ruiz", Some("Ana Ruiz")),
            ("Dr. Ana Ruiz", Some("Dr. Ana Ruiz")),
            ("J. Smith", Some("J. Smith")),
            ("U.S. Office of Ruiz", Some("U.S. Office of Ruiz")),
            ("Acme Inc. Team", Some("Acme Inc. Team")),
            ("Ruiz, Ana", Some("Ruiz, Ana")),
            ("Hiroshi, Tanaka", Some("Hiroshi, Tanaka")),
            ("Ana Ruiz Jr.", Some("Ana Ruiz Jr.")),
            ("さん", None),
            ("田中", Some("田中")),
            ("Done. ", Some("Done.")),
            ("Hi, ", Some("Hi,")),
            ("PT. Supranusa Sindata", Some("PT. Supranusa Sindata")),
            ("\\n\\nAndrew Knackstedt", Some("Andrew Knackstedt")),
            ("&amp;#65279;Татьяна Серегина", Some("Татьяна Серегина")),
            ("&#xFEFF; Ana Ruiz", Some("Ana Ruiz")),
            ("nina Ruiz", Some("nina Ruiz")),
            ("390758\t0\tлек\tТатьяна Серегина", Some("Татьяна Серегина")),
            ("Ana Ruiz\t", Some("Ana Ruiz")),
            ("\"Kazuya Isawa", Some("Kazuya Isawa")),
            ("text: `Ana Ruiz", Some("Ana Ruiz")),
            ("“Ana Ruiz", Some("Ana Ruiz")),
            ("// Arjun Chouhan", Some("Arjun Chouhan")),
            ("# Ana Ruiz", Some("Ana Ruiz")),
            ("Ana \"Nena\" Ruiz", Some("Ana \"Nena\" Ruiz")),
        ] {
            assert_eq!(organizer_name(v).as_deref(), want, "{v:?}");
        }
    }

    #[test]
    fn a_passcode_on_the_line_under_its_label() {
        fn read(t: &str) -> Option<&str> {
            let low = t.to_ascii_lowercase();
            passcode_below_its_label(t, &labels::scan_text(t, &low).passcode, 0)
        }
        assert_eq!(
            read("https://zoom.us/j/1\nMeeting ID:\n812\nPasscode:\n\n417531\n"),
            Some("417531")
        );
        assert_eq!(
            read("https://zoom.us/j/1\n**Kenncode：**\nAb1.x\n"),
            Some("Ab1.x")
        );
        assert_eq!(read("https://zoom.us/j/1\nPasscode:\nsee the chat\n"), None);
        assert_eq!(
            read("https://zoom.us/j/1\nMeeting ID:\n812 3456 7890\nPasscode:\n417531\n"),
            Some("417531")
        );
        assert_eq!(
            read("https://zoom.us/j/1\nOne tap mobile\nPasscode:\n417531\n"),
            None
        );
        assert_eq!(
            read("https://zoom.us/j/1\nhttps://x.example\nPasscode:\n417531\n"),
            None
        );
        assert_eq!(read("https://zoom.us/j/1\nPasscode:\n"), None);
        assert_eq!(read("Passcode:\n417531\nhttps://zoom.us/j/1\n"), None);
    }

    #[test]
    fn a_passcode_under_a_recording_link_is_the_recordings() {
        let t = "## Meeting\n- https://zoom.us/j/93387192601\n## Recording\n- https://zoom.us/rec/share/rqS.VHp\n- Passcode: Ex3gesis\n";
        let link = t.find("https").expect("link");
        let pass = t.find("Passcode").expect("label");
        assert!(follows_recording_link(t, link, pass));
        let t2 = t.replace("/rec/share/", "/j/");
        assert!(!follows_recording_link(&t2, link, pass));
        let t3 = "https://zoom.us/rec/play/x\nhttps://zoom.us/j/93387192601\nPasscode: a";
        let link = t3.find("https://zoom.us/j").expect("link");
        assert!(!follows_recording_link(
            t3,
            link,
            t3.find("Passcode").expect("label")
        ));
        assert!(!follows_recording_link(t3, 40, 10));
    }

    /// [`RecordingLinks`] answers as [`follows_recording_link`] at every place of texts with
    /// recording links, other links, blanks and closing marks between them.
    #[test]
    fn recording_links_read_once_match_the_reference() {
        let texts = [
            "## Meeting\n- https://zoom.us/j/93387192601\n## Recording\n- https://zoom.us/rec/share/rqS.VHp\n- Passcode: Ex3gesis\nhttps://x.example/a Passcode: b",
            "https://zoom.us/j/1 (https://zoom.us/rec/play/x) Passcode: a https://zoom.us/rec/sha",
            "https://zoom.us/j/1 <https://zoom.us/rec/share/x>://rec/play/ P: a ://://rec/share/y]z",
            "https://zoom.us/rec/play/x\nhttps://zoom.us/j/93387192601\nPasscode: a /rec/ ://b",
            "https://zoom.us/j/1 https://zoom.us/x/rec/share/ é https://a.example/rec/play/ü",
        ];
        for t in texts {
            for link in t.match_indices("://").map(|(i, _)| i.saturating_sub(5)) {
                let fast = RecordingLinks::new(t, link);
                for pos in (0..=t.len()).filter(|&p| t.is_char_boundary(p)) {
                    assert_eq!(
                        fast.follows(pos),
                        follows_recording_link(t, link, pos),
                        "{t:?} link {link} pos {pos}"
                    );
                }
            }
        }
    }

    #[test]
    fn recurrence_run_onto_the_time_line() {
        for (v, want) in [
            (
                "Feb 13, 2024 10:00 AM Eastern Time (US and Canada)  Every 2 weeks on Tuesday ",
                Some("Every 2 weeks on Tuesday"),
            ),
            (
                "Jan 6, 2026 09:00 AM Paris \t Every week on Tue, 2 occurrence(s) Jan 13",
                Some("Every week on Tue, 2 occurrence(s)"),
            ),
            (
                "Jan 6, 2026 09:00 AM Paris  Jede Woche am Di",
                Some("Jede Woche am Di"),
            ),
            ("Jan 6, 2026 09:00 AM  London   ", None),
            ("Jan 6, 2026 09:00 AM Every week", None),
            ("Jan 6  Everyone welcome", None),
            ("  Every day", Some("Every day")),
            // One blank, where the text after it is Zoom's own recurrence (a `<div>` page).
            (
                "Jun 3, 2024 10:00 AM Rome Every day, until Jun 9, 2024, 7 occurrence(s)",
                Some("Every day, until Jun 9, 2024, 7 occurrence(s)"),
            ),
            (
                "Jun 3, 2024 10:00 AM Rome Every 2 weeks on Mon, until Jun 9, 2024",
                Some("Every 2 weeks on Mon, until Jun 9, 2024"),
            ),
            ("Jun 3, 2024 10:00 AM Rome Every day", None),
            ("Jun 3, 2024 10:00 AM Rome every day, until Jun 9", None),
        ] {
            assert_eq!(recurrence_after_time(v), want, "{v:?}");
        }
    }
}
