//! Documents to an invitation: picks the join link, then reads the passcode typed near it (never
//! the dial-in one), the topic, time, recurrence, organizer and locale from the same text, and
//! fills gaps from the other bodies and the calendar.
//!
//! Must never: take a value from the phone/SIP/H.323 part when a typed one exists, let the
//! text's meeting ID override the URL's, or return an invitation without a join link.

use super::labels::{self, lang_of};
use super::mime::{DocKind, Loaded};
use super::url::{self, JoinLink, LinkKind};
use super::{html, ics, time, CalendarRef, Invitation, MeetingKind, NotAnInvitation};
use regex::Regex;
use std::sync::LazyLock;

/// One body as clean text lines.
struct TextDoc {
    text: String,
    links: Vec<JoinLink>,
}

static PHONE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[•·*\-]\s*)?(?:[a-z]{2,3}:\s*)?\+?\(?\d[\d \-().]{7,}\d(?:\s|$|,|#)")
        .expect("static regex")
});
static ONE_TAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\d{6,},,\d{6,}").expect("static regex"));

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
    if colon && memchr::memchr_iter(b':', b).any(|i| b.get(i + 1..i + 3) == Some(b"//")) {
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
            clean_span(tail)
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
    let mut run = 0;
    let mut start = 0;
    for line in super::split_lf(raw) {
        let end = start + line.len();
        let (s, e, map) = if ascii {
            let (s, e) = ascii_span(line.as_bytes());
            (s, e, false)
        } else {
            clean_span(line)
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

/// One line (no '\n') cleaned: the byte range left after trimming and quote stripping, and
/// whether characters in it must still be replaced or dropped.
fn clean_span(line: &str) -> (usize, usize, bool) {
    // Most lines neither start nor end with white space, nor start with '>': nothing to trim
    // (on an ASCII character, `char::is_whitespace` is the byte test below: ASCII white space
    // and 0x0B).
    if let (Some(f), Some(l)) = (line.chars().next(), line.chars().next_back()) {
        if !f.is_whitespace() && f != '>' && !l.is_whitespace() {
            return (0, line.len(), needs_map(line));
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
    (start, start + t.len(), needs_map(t))
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
            }
        }
    }
}

/// Where one readable body comes from, in the order bodies are read: plain parts, HTML parts,
/// then calendars.
enum Source<'a> {
    Plain(&'a str),
    Html(&'a str),
    Calendar(&'a ics::Calendar),
}

impl Source<'_> {
    fn text(&self) -> TextDoc {
        let raw = match self {
            Source::Plain(t) => clean_text(t),
            Source::Html(h) => html::to_clean_text(h),
            Source::Calendar(c) => {
                let mut t = String::new();
                if let Some(d) = &c.description {
                    t.push_str(d);
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
    sources: Vec<Source<'a>>,
    done: Vec<Option<TextDoc>>,
}

impl<'a> Docs<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        let mut sources = Vec::new();
        sources.extend(
            loaded
                .docs
                .iter()
                .filter(|d| d.kind == DocKind::Plain)
                .map(|d| Source::Plain(&d.text)),
        );
        sources.extend(
            loaded
                .docs
                .iter()
                .filter(|d| d.kind == DocKind::Html)
                .map(|d| Source::Html(&d.text)),
        );
        sources.extend(loaded.calendars.iter().map(Source::Calendar));
        let done = sources.iter().map(|_| None).collect();
        Docs { sources, done }
    }

    fn len(&self) -> usize {
        self.sources.len()
    }

    /// Body `i`, converted on first use.
    fn get(&mut self, i: usize) -> &TextDoc {
        let Docs { sources, done } = self;
        done[i].get_or_insert_with(|| sources[i].text())
    }

    fn take(&mut self, i: usize) -> TextDoc {
        self.get(i);
        self.done[i].take().expect("converted just above")
    }
}

/// Reads the invitation, or says why there is none.
pub(crate) fn extract(loaded: &Loaded) -> Result<Invitation, NotAnInvitation> {
    let mut docs = Docs::new(loaded);
    let Some(primary_ix) = (0..docs.len()).find(|&i| !docs.get(i).links.is_empty()) else {
        return Err(no_link_reason(loaded));
    };
    let primary = docs.take(primary_ix);
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

    let mut facts = read_facts(&primary.text, &primary.links, &link);
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
        let other = read_facts(&d.text, &d.links, &anchor);
        facts.fill_from(other);
    }

    let calendar = pick_calendar(&loaded.calendars, &link);

    let meeting_id = link.meeting_id.clone().or(facts.text_meeting_id.clone());

    // Start: a calendar's zoned DTSTART, unless the text says there is no fixed time; else the
    // text's time.
    let mut start = None;
    let mut timezone = None;
    if !facts.time.no_fixed {
        if let Some(c) = calendar.filter(|c| c.start_zoned && c.timezone.as_deref() != Some("UTC"))
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
            && start.is_none())
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
        topic,
        start,
        timezone,
        recurrence,
        organizer,
        locale: facts.locale(&primary.text),
        calendar: calendar.and_then(|c| {
            c.uid.as_ref().map(|uid| CalendarRef {
                uid: uid.clone(),
                sequence: c.sequence,
                method: c.method.clone(),
            })
        }),
    })
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
                .or_else(|| labels::stopword_lang(text))
                .map(str::to_owned);
        }
        let mut best: Vec<&'static str> = self
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
fn is_phone_line(line: &str, low_line: &str) -> bool {
    let l = line.trim();
    if l.is_empty() {
        return false;
    }
    // ONE_TAP and PHONE_LINE both need at least two digits (Unicode ones count too); most
    // prose lines have fewer than two digits, and then only a section header can match.
    let digits = l.chars().filter(|c| c.is_numeric()).take(2).count();
    labels::is_phone_header(low_line.trim())
        || (digits >= 2 && ((has_two_commas(l) && ONE_TAP.is_match(l)) || PHONE_LINE.is_match(l)))
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
        let (Some(line), Some(low)) = (self.lines.get(i), self.lines.get_in(self.low, i)) else {
            return false;
        };
        *self.known[i].get_or_insert_with(|| is_phone_line(line, low))
    }
}

fn ascii_letter_before(text: &str, pos: usize) -> bool {
    text[..pos]
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphabetic())
}

fn clean_value(v: &str) -> Option<String> {
    let v = v.trim().trim_matches(|c: char| c == '*' || c == '_').trim();
    (!v.is_empty()).then(|| v.to_owned())
}

fn read_facts(text: &str, other_links: &[JoinLink], link: &JoinLink) -> Facts {
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

    // Passcodes.
    let mut after: Option<String> = None;
    let mut before: Option<(usize, String)> = None;
    let mut in_phone_typed: Option<String> = None;
    for (label, value) in labels::PASSCODE_RE.all(&low, &scan.passcode) {
        if ascii_letter_before(text, label.start) {
            continue;
        }
        if text[value.end..].chars().next().is_some_and(|ch| {
            ch.is_ascii_alphanumeric() || matches!(ch, '@' | '_' | '*' | '!' | '-')
        }) {
            continue;
        }
        let v = text[value].trim_end_matches(['-', '*', '_']).to_owned();
        if v.is_empty() {
            continue;
        }
        f.vote(lang_of(labels::PASSCODE, &low[label.clone()]));
        let pos = label.start;
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
    f.passcode = after.or(before.map(|(_, v)| v)).or(in_phone_typed);

    // Meeting ID from the text (serves only where the URL has none).
    let mut ids: Vec<(usize, String)> = Vec::new();
    for (label, value) in labels::MEETING_ID_RE.all(&low, &scan.meeting_id) {
        if ascii_letter_before(text, label.start) {
            continue;
        }
        let label_text = &low[label.clone()];
        f.vote(lang_of(labels::MEETING_ID, label_text).filter(|_| label_text != "id"));
        let digits: String = low[value].chars().filter(char::is_ascii_digit).collect();
        if (9..=11).contains(&digits.len()) {
            ids.push((label.start, digits));
        }
    }
    f.text_meeting_id = ids
        .iter()
        .find(|(p, _)| *p >= link_line_start)
        .or_else(|| ids.first())
        .map(|(_, d)| d.clone());

    f.flags = scan.flags;
    for &lang in &scan.join_langs {
        f.vote(Some(lang));
    }
    let google = scan.flags.google;

    // Topic, time and organizer: the first line holding each.
    let label_and_value = |g: Option<Vec<Option<std::ops::Range<usize>>>>| {
        let g = g?;
        Some((g.get(1).cloned()??, g.get(2).cloned()??))
    };
    if let Some((l, v)) = label_and_value(labels::TOPIC_RE.first(&low, &scan.topic)) {
        f.vote(lang_of(labels::TOPIC, &low[l]));
        f.topic = clean_value(&text[v]);
    } else if google {
        if let Some((_, v)) = label_and_value(labels::TITLE_RE.first(&low, &scan.title)) {
            f.topic = clean_value(&text[v]);
        }
    }
    let mut time_line: Option<(usize, String)> = None;
    if let Some((l, v)) = label_and_value(labels::TIME_RE.first(&low, &scan.time)) {
        f.vote(lang_of(labels::TIME, &low[l.clone()]));
        time_line = Some((line_of(l.start), text[v].trim().to_owned()));
    }
    if let Some(groups) = labels::ORGANIZER_RE.first(&low, &scan.organizer) {
        if let Some((i, name)) = groups
            .into_iter()
            .enumerate()
            .skip(1)
            .find_map(|(i, m)| Some((i, m?)))
        {
            f.organizer = clean_value(&text[name]);
            f.vote(labels::ORGANIZER.get(i - 1).map(|(_, l)| *l));
        }
    }
    if f.organizer.is_none() && google {
        f.organizer = lines.iter().find_map(|l| {
            let t = l.trim().trim_start_matches(['*', '•', '-']).trim();
            t.strip_suffix("- organizer")
                .or_else(|| t.strip_suffix("- organiser"))
                .and_then(clean_value)
        });
    }

    if let Some((i, value)) = time_line {
        f.has_time_label = true;
        // A label alone on its line: the value is on the next one.
        let value = if value.is_empty() {
            lines
                .get(i + 1)
                .map(|l| l.trim().to_owned())
                .unwrap_or_default()
        } else {
            value
        };
        let month_first = f.votes.iter().any(|(l, n)| *l == "en" && *n > 0);
        f.time = time::parse_text_time(&value, month_first);
        let vl = value.to_lowercase();
        if f.time.no_fixed || vl.contains("recurring") {
            f.recurrence = Some(value.clone());
        }
        // "Every week on Tue, until ..." on the next lines.
        for l in lines.iter().skip(i + 1).take(3) {
            let t = l.trim();
            if t.is_empty() {
                break;
            }
            let tl = t.to_lowercase();
            if labels::RECURRENCE_LINE.iter().any(|p| tl.starts_with(p)) {
                f.recurrence = Some(t.to_owned());
                break;
            }
        }
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
