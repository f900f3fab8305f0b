//! Zoom's link shapes: finds Zoom URLs in text, tells join links (`/j/`, `/w/`, `/my/`, `/wc/`,
//! `zoommtg://…confno=`) from the rest (`/u/`, registration, `.ics`, recordings, start links),
//! trims glued punctuation and unwraps Outlook Safe Links and Google redirects.
//!
//! Must never: rewrite a join link beyond trimming punctuation (query kept, case kept), or accept
//! a host that is not Zoom's.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Domains Zoom serves join links from (and their subdomains).
const DOMAINS: &[&str] = &[
    "zoom.us",
    "zoomgov.com",
    "zoom.com.cn",
    "zoom-x.de",
    "zoom.com",
];

static URL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:https?://|zoommtg://|zoomus://)?(?:[a-z0-9-]+\.)*(?:zoom\.us|zoomgov\.com|zoom\.com\.cn|zoom-x\.de|zoom\.com)(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9\-._~:/?#@!$&*+,;=%]*)?",
    )
    .expect("static regex")
});

static REDIRECT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)https?://[A-Za-z0-9.-]*(?:safelinks\.protection\.outlook\.com|google\.com/url|urldefense\.com/v3/__|urldefense\.proofpoint\.com/v2/url)[A-Za-z0-9\-._~:/?#@!$&*+,;=%]*",
    )
    .expect("static regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkKind {
    Meeting,
    Webinar,
    Personal,
    /// `zoommtg://` / `zoomus://` app link.
    App,
}

/// A join link found in text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JoinLink {
    /// Byte offset in the text it was found in.
    pub pos: usize,
    pub url: String,
    pub host: String,
    pub kind: LinkKind,
    /// Digits only, from the path or `confno=`.
    pub meeting_id: Option<String>,
}

impl JoinLink {
    pub fn has_pwd(&self) -> bool {
        self.url
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"pwd="))
    }
}

/// The first "zoom" in any ASCII case in `b` at or after `from`: every [`URL_RE`] match holds
/// one (each of its domains does, and none of z, o, m has a Unicode case variant outside ASCII).
/// A `memchr2` on 'z'/'Z' and a three-byte compare: 'z' is rare in text, and a generic
/// multi-pattern searcher for one short needle cost several times more per text.
pub(crate) fn find_zoom(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = memchr::memchr2(b'z', b'Z', b.get(at..)?) {
        let z = at + i;
        if b.get(z + 1..z + 4)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"oom"))
        {
            return Some(z);
        }
        at = z + 1;
    }
    None
}

/// True for a byte that can stand in a [`URL_RE`] match: ASCII letters and digits, the path
/// class's punctuation, and every non-ASCII byte (under `(?i)` the Kelvin sign and the long s
/// match `k` and `s`; taking all of them only makes tokens longer).
fn url_byte(b: u8) -> bool {
    URL_BYTES[usize::from(b)]
}

/// [`url_byte`] as a table: token bounds are found byte by byte around every "zoom".
static URL_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c >= 0x80
            || c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
            );
        b += 1;
    }
    t
};

/// The byte ranges `URL_RE.find_iter(text)` yields, in order, each handed to `found`, without
/// running the regex over the whole text: a match never spans a byte [`url_byte`] refuses, so
/// the matches are those of each maximal run of URL bytes (a "token") on its own, the pattern
/// having no anchors or word boundaries; and a token without "zoom" holds none. So only tokens
/// around a "zoom" are read.
fn for_each_url_match(text: &str, mut found: impl FnMut(std::ops::Range<usize>)) {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(z) = find_zoom(bytes, from) {
        // Token bounds: ASCII bytes, so both are char boundaries.
        let start = bytes[..z]
            .iter()
            .rposition(|b| !url_byte(*b))
            .map_or(0, |i| i + 1);
        let end = bytes[z..]
            .iter()
            .position(|b| !url_byte(*b))
            .map_or(bytes.len(), |i| z + i);
        let token = &text[start..end];
        if token.is_ascii() {
            ascii_token_matches(token.as_bytes(), start, &mut found);
        } else if !token.contains(['\u{212a}', '\u{17f}']) {
            // Without the Kelvin sign and the long s (the only non-ASCII characters `(?i)` lets
            // the pattern match) no match holds a non-ASCII byte: the token's ASCII runs are
            // tokens of their own.
            let tb = token.as_bytes();
            let mut i = 0;
            while i < tb.len() {
                let run = tb[i..]
                    .iter()
                    .position(|b| !b.is_ascii())
                    .map_or(tb.len(), |k| i + k);
                ascii_token_matches(&tb[i..run], start + i, &mut found);
                i = run
                    + tb[run..]
                        .iter()
                        .position(|b| b.is_ascii())
                        .unwrap_or(tb.len() - run);
            }
        } else {
            // Under `(?i)` the Kelvin sign and the long s match `k` and `s`: left to the regex.
            for m in URL_RE.find_iter(token) {
                found(start + m.start()..start + m.end());
            }
        }
        from = end;
        if from >= text.len() {
            break;
        }
    }
}

/// [`for_each_url_match`] collected: the form the tests compare with the regex.
#[cfg(test)]
fn url_matches(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for_each_url_match(text, |r| out.push(r));
    out
}

/// The bytes of a host label, `[a-z0-9-]` in any ASCII case, as a table: labels are read byte
/// by byte for every Zoom URL.
static LABEL_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b as u8 == b'-';
        b += 1;
    }
    t
};

/// [`URL_RE`]'s alternatives after the optional scheme and host labels, in the regex's order
/// of preference.
const URL_DOMAINS: [&[u8]; 5] = [
    b"zoom.us",
    b"zoomgov.com",
    b"zoom.com.cn",
    b"zoom-x.de",
    b"zoom.com",
];

/// `URL_RE.find_iter(token)` for an ASCII token (a maximal run of [`url_byte`]s), offset by
/// `base` and handed to `found` in order, read by hand: the regex engine's set-up per token
/// cost more than the matching, and most texts hold a dozen Zoom tokens. Linear in the token:
/// a URL from the token's first byte (the usual token) is read forwards once; any other
/// position's next host label and the last domain its label chain reaches are worked out
/// once, backwards.
///
/// The regex's leftmost-first choice, rule by rule: a match starts at the first position that
/// can start one; there the scheme is taken if the rest can follow it; `(?:[a-z0-9-]+\.)*` takes
/// as many labels as still leave a domain after them, and the first domain alternative that
/// fits wins; then a port of up to five digits, and a path, query or fragment, whose class is
/// every byte a token holds, so it runs to the token's end.
fn ascii_token_matches(tok: &[u8], base: usize, found: &mut impl FnMut(std::ops::Range<usize>)) {
    let at_ci = |q: usize, lit: &[u8]| at_ci(tok, q, lit);
    // Every domain starts with "zoom": compared once, then only the tails, in the same order.
    let domain_end = |q: usize| {
        if !at_ci(q, b"zoom") {
            return None;
        }
        URL_DOMAINS
            .iter()
            .find(|d| at_ci(q + 4, d.get(4..).unwrap_or_default()))
            .map(|d| q + d.len())
    };
    // Every match holds a domain, and no position after the last domain's start can start a
    // match or lead to a domain: a token without one (a "Zoom" in prose) ends here, and the
    // others are read up to it. Domains all start with 'z'.
    let mut below = tok.len();
    let last_domain = loop {
        let Some(q) = memchr::memrchr2(b'z', b'Z', tok.get(..below).unwrap_or_default()) else {
            return;
        };
        if domain_end(q).is_some() {
            break q;
        }
        below = q;
    };
    let n = last_domain + 1;
    let label = |b: u8| LABEL_BYTES[usize::from(b)];
    let scheme_len = |p: usize| {
        [&b"https://"[..], b"http://", b"zoommtg://", b"zoomus://"]
            .iter()
            .find(|s| at_ci(p, s))
            .map(|s| s.len())
    };
    // The end of a match whose host ends at `end`: a port, then a path to the token's end.
    let match_end = |mut end: usize| {
        if tok.get(end) == Some(&b':') {
            let digits = tok
                .get(end + 1..)
                .unwrap_or_default()
                .iter()
                .take(5)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                end += 1 + digits;
            }
        }
        if matches!(tok.get(end), Some(b'/' | b'?' | b'#')) {
            end = tok.len();
        }
        end
    };
    // The end of the domain after the longest label chain from q that is followed by one, if
    // any, read forwards label by label: the deepest domain the chain passes wins.
    let chain_end = |q: usize| {
        let mut best = None;
        let mut r = q;
        while let Some(&b) = tok.get(r).filter(|_| r < n) {
            if b | 0x20 == b'z' {
                best = domain_end(r).or(best);
            }
            let run = tok
                .get(r..)
                .unwrap_or_default()
                .iter()
                .position(|&c| !label(c))
                .map_or(tok.len(), |k| r + k);
            if run == r || tok.get(run) != Some(&b'.') {
                break;
            }
            r = run + 1;
        }
        best
    };
    // Most tokens are one URL from their first byte: read it forwards, once, and stop there
    // when it runs to the last domain or past it.
    let mut p = 0;
    if let Some(host_end) = scheme_len(0).and_then(chain_end).or_else(|| chain_end(0)) {
        let end = match_end(host_end);
        found(base..base + end);
        p = end;
        if p >= n {
            return;
        }
    }
    // Otherwise every later position may start a match, and forward walks from each could
    // cost the square of a long chain of labels. reach[q]: what `chain_end(q)` returns, NONE
    // for nothing; worked out backwards from the last domain: the label starting at q ends
    // where the one starting at q + 1 does. On the stack for the usual host of a few dozen
    // bytes.
    const NONE: u32 = u32::MAX;
    let mut small = [NONE; 64];
    let mut big = Vec::new();
    let reach: &mut [u32] = match small.get_mut(..=n) {
        Some(r) => r,
        None => {
            big.resize(n + 1, NONE);
            &mut big
        }
    };
    let mut label_end: Option<usize> = None; // after the '.' ending the label holding q + 1
    for q in (0..n).rev() {
        let b = tok[q];
        let next = if label(b) {
            match tok.get(q + 1) {
                Some(&c) if label(c) => label_end,
                Some(b'.') => Some(q + 2),
                _ => None,
            }
        } else {
            None
        };
        label_end = next;
        let via_next = next.and_then(|r| reach.get(r)).copied().unwrap_or(NONE);
        reach[q] = if via_next != NONE {
            via_next
        } else if b | 0x20 == b'z' {
            // Token offsets fit in u32: inputs are capped far below 4 GiB.
            domain_end(q).map_or(NONE, |e| e as u32)
        } else {
            NONE
        };
    }
    let reach_at = |q: usize| {
        reach
            .get(q)
            .copied()
            .filter(|&e| e != NONE)
            .map(|e| e as usize)
    };
    while p < n {
        let host_end = scheme_len(p)
            .and_then(|s| reach_at(p + s))
            .or_else(|| reach_at(p));
        let Some(host_end) = host_end else {
            p += 1;
            continue;
        };
        let end = match_end(host_end);
        found(base + p..base + end);
        p = end;
    }
}

/// Every Zoom join link in `text`, in order. A Markdown link's target replaces a join link shown
/// as its text (`[https://…/j/1](https://…/j/2)`): the target is what a click opens, as an
/// HTML anchor's href is.
pub(crate) fn find_join_links(text: &str) -> Vec<JoinLink> {
    let mut out: Vec<JoinLink> = Vec::new();
    // Where the target of the last link pushed would start, had it been a Markdown link's text.
    let mut markdown_target: Option<usize> = None;
    for_each_url_match(text, |r| {
        let start = r.start;
        let m_end = r.end;
        let raw = &text[r];
        let has_scheme = has_colon_slashes(raw.as_bytes());
        if !has_scheme {
            if let Some(prev) = text[..start].chars().last() {
                if prev.is_alphanumeric() || matches!(prev, '@' | '.' | '-' | '/' | '%' | '_') {
                    return;
                }
            }
        } else if let Some(prev) = text[..start].chars().last() {
            // A word glued before "http(s)://" is prose that lost its space ("live
            // athttps://…", a PDF's text; "\nhttps://…", a JSON string's escape); before any
            // other scheme it may be the scheme's own start.
            if prev.is_ascii_alphanumeric() && !starts_with_ci(raw, "http") {
                return;
            }
        }
        if let Some(next) = text[m_end..].chars().next() {
            if next.is_alphanumeric() && memchr::memchr2(b'/', b'?', raw.as_bytes()).is_none() {
                return;
            }
        }
        let trimmed = trim_trailing(raw);
        if let Some(mut link) = classify(trimmed)
            .or_else(|| without_bold_marks(trimmed))
            .or_else(|| without_glued_word(trimmed))
        {
            link.pos = start;
            if markdown_target == Some(start) {
                out.pop();
            }
            let after = start + trimmed.len();
            markdown_target = text[after..].starts_with("](").then_some(after + 2);
            out.push(link);
        }
    });
    out
}

/// A host's start link without the host's token, `https://zscaler.zoom.us/s/108184677` under
/// "Please click this URL to join." (Zoom's 2020 webinar text on a community page): the meeting's
/// ID is in it. Read only where a text holds no join link (the extraction's fallbacks). A start
/// link that carries its `zak` is the host's own sign-in and is never taken.
pub(crate) fn find_start_links(text: &str) -> Vec<JoinLink> {
    let mut out = Vec::new();
    for_each_url_match(text, |r| {
        if let Some(mut link) = start_link(trim_trailing(&text[r.clone()])) {
            link.pos = r.start;
            out.push(link);
        }
    });
    out
}

/// What follows `https://` or `http://` (any case) at the start of `url`; `None` for any other
/// start.
fn after_http_scheme(url: &str) -> Option<&str> {
    // ASCII schemes: the cut is a char boundary.
    if starts_with_ci(url, "https://") {
        Some(&url[8..])
    } else if starts_with_ci(url, "http://") {
        Some(&url[7..])
    } else {
        None
    }
}

/// [`find_start_links`]'s reading of one URL: `http(s)://<zoom host>/s/<id>`, no `zak`.
fn start_link(raw: &str) -> Option<JoinLink> {
    let (host, path, tail) = split_after_scheme(after_http_scheme(raw)?);
    if !zoom_host(host)
        || tail
            .split(['?', '&', '#'])
            .any(|kv| starts_with_ci(kv, "zak="))
    {
        return None;
    }
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let (Some(s), Some(id), None) = (segs.next(), segs.next(), segs.next()) else {
        return None;
    };
    if !s.eq_ignore_ascii_case("s") {
        return None;
    }
    let id = id_segment(id)?.into_owned();
    Some(JoinLink {
        pos: 0,
        url: raw.to_owned(),
        host: host.to_ascii_lowercase(),
        kind: LinkKind::Meeting,
        meeting_id: Some(id),
    })
}

/// A text whose join links a PDF's layout broke with blanks ("https:// trt2- jus- br.zoom.us/
/// j/88631726170?" then "pwd=…" on the next line, a court order's text), with each such link's
/// pieces joined again; `None` when no link was broken so. A piece joins the one before it
/// only where that one ends inside a URL (after `/`, `-`, `?`, `=` or `&`) or where it opens a
/// query, and only a joined URL that reads as a join link is kept. Read only where a text
/// holds no join link (the extraction's fallbacks). A URL is read only up to
/// [`BROKEN_LINK_MAX`] bytes: each `://` costs at most that much, however long the text's
/// runs without blanks are (a text without any would otherwise be read to its end per `://`).
pub(crate) fn with_broken_links_joined(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    // How far `text` has been copied to `out`.
    let mut copied = 0;
    for at in memchr::memmem::find_iter(b, b"://") {
        // The scheme's letters before "://" (ASCII: every cut below is a char boundary).
        let start = at
            - b[..at]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
        if start < copied || !starts_with_ci(&text[start..], "http") {
            continue;
        }
        let mut url = String::from(&text[start..at + 3]);
        let mut end = at + 3;
        let mut broken = false;
        for _ in 0..12 {
            let blanks = b[end..]
                .iter()
                .take(BROKEN_LINK_MAX)
                .take_while(|c| c.is_ascii_whitespace())
                .count();
            let from = end + blanks;
            let room = BROKEN_LINK_MAX.saturating_sub(url.len());
            let len = b[from..]
                .iter()
                .take(room + 1)
                .take_while(|c| !c.is_ascii_whitespace())
                .count();
            if len > room {
                // Longer than any join link: not joined, and not read further.
                break;
            }
            let piece = &text[from..from + len];
            let joins = blanks == 0
                || url.ends_with(['/', '-', '?', '=', '&'])
                || piece.starts_with('?')
                || starts_with_ci(piece, "pwd=");
            if piece.is_empty() || !joins {
                break;
            }
            broken |= blanks > 0;
            url.push_str(piece);
            end = from + len;
        }
        let link = trim_trailing(&url);
        if broken && classify(link).is_some() {
            out.push_str(&text[copied..start]);
            out.push_str(link);
            // What `trim_trailing` cut stays in the text.
            out.push_str(&url[link.len()..]);
            copied = end;
        }
    }
    (copied > 0).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// The longest URL [`with_broken_links_joined`] joins: a join link with its query is under
/// 200 bytes.
const BROKEN_LINK_MAX: usize = 512;

/// A join link whose parts a plain-text rendering of bold type starred
/// ("https://zoom.us/j/**71944238011**?pwd=**A7f…", a Mexican university's invitation as
/// Gmail's plain text gave it), read without the stars: no join link's ID or token holds one.
fn without_bold_marks(raw: &str) -> Option<JoinLink> {
    memchr::memchr(b'*', raw.as_bytes())?;
    classify(&raw.replace('*', ""))
}

/// A join link glued to the word after it ("visit https://zoom.us/j/8599664354or dial …", a
/// newspaper's text): without a query, its ID's digits end it where only letters follow them.
fn without_glued_word(raw: &str) -> Option<JoinLink> {
    // ASCII letters: the cut is a char boundary.
    let letters = raw
        .bytes()
        .rev()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    let head = &raw[..raw.len() - letters];
    if letters == 0
        || !head.ends_with(|c: char| c.is_ascii_digit())
        || memchr::memchr2(b'?', b'#', head.as_bytes()).is_some()
    {
        return None;
    }
    classify(head)
}

/// True when `url` is a Zoom join link.
pub(crate) fn is_join_link(url: &str) -> bool {
    classify(trim_trailing(url.trim())).is_some()
}

/// True when `b` holds "://": found from each ':' (a few per URL or line), without the set-up
/// of a substring searcher. Every redirect and scheme'd Zoom link holds one.
pub(crate) fn has_colon_slashes(b: &[u8]) -> bool {
    memchr::memchr_iter(b':', b).any(|i| b.get(i + 1..i + 3) == Some(b"//"))
}

/// Drops punctuation glued to the end of a URL, a dash after a pwd token's closing ".1" (Zoom's
/// tokens end there: "…pwd=…QlP.1- Toplantı Kimliği", a course page run onto one line), and a
/// `pwd=` left empty at its end (a page's placeholder, `?pwd=...` or `?pwd=[REDACTED]`, whose
/// value is not part of the URL).
fn trim_trailing(raw: &str) -> &str {
    const PUNCT: [char; 9] = ['.', ',', ';', ':', '!', '?', '*', '\'', '&'];
    let mut t = raw.trim_end_matches(PUNCT);
    if let Some(token) = t.trim_end_matches('-').strip_suffix(".1") {
        // '?', '&' and ".1" are ASCII: each cut is a char boundary.
        let last_param = token.rfind(['?', '&']).map(|q| &token[q + 1..]);
        if token.len() + 2 < t.len() && last_param.is_some_and(|p| starts_with_ci(p, "pwd=")) {
            t = &t[..token.len() + 2];
        }
    }
    let b = t.as_bytes();
    // "pwd=" and the '?' or '&' before it are ASCII: the cut is a char boundary.
    if b.len() >= 5
        && b[b.len() - 4..].eq_ignore_ascii_case(b"pwd=")
        && matches!(b[b.len() - 5], b'?' | b'&')
    {
        return t[..t.len() - 5].trim_end_matches(PUNCT);
    }
    t
}

/// True when `s` starts with `prefix`, ignoring ASCII case.
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    at_ci(s.as_bytes(), 0, prefix.as_bytes())
}

/// True when `b` holds `lit` at byte `q`, ignoring ASCII case (false past the end).
fn at_ci(b: &[u8], q: usize, lit: &[u8]) -> bool {
    b.get(q..q + lit.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(lit))
}

/// True when `host` (any ASCII case) is one of [`DOMAINS`] or a subdomain of one.
fn zoom_host(host: &str) -> bool {
    DOMAINS.iter().any(|d| host_under(host, d))
}

/// True when `host` (any ASCII case) is `domain` or a subdomain of it. By bytes: a host may
/// hold non-ASCII characters, and a cut inside one is simply no match.
fn host_under(host: &str, domain: &str) -> bool {
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    h.len() >= d.len()
        && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
        && (h.len() == d.len() || h[h.len() - d.len() - 1] == b'.')
}

/// A URL after its scheme, as (host without port, path, the rest from its '?' or '#' on). Cut
/// by bytes: every delimiter is ASCII, so each cut is a char boundary.
fn split_after_scheme(rest: &str) -> (&str, &str, &str) {
    let cut = |s: &str, stop: fn(u8) -> bool| s.bytes().position(stop).unwrap_or(s.len());
    let (host_port, after) = rest.split_at(cut(rest, |c| matches!(c, b'/' | b'?' | b'#')));
    let host = &host_port[..cut(host_port, |c| c == b':')];
    let (path, tail) = after.split_at(cut(after, |c| matches!(c, b'?' | b'#')));
    (host, path, tail)
}

/// Reads a (trimmed) URL as a join link. Allocates only for a link it accepts: it runs on every
/// Zoom-looking URL and every HTML href. Cut by bytes: every delimiter it looks for is ASCII,
/// which no byte of a multi-byte character equals, so each cut is a char boundary, and a byte
/// search costs a fraction of a char pattern's.
pub(crate) fn classify(raw: &str) -> Option<JoinLink> {
    let (app, rest_at) = if starts_with_ci(raw, "https://") {
        (false, 8)
    } else if starts_with_ci(raw, "http://") {
        (false, 7)
    } else if starts_with_ci(raw, "zoommtg://") {
        (true, 10)
    } else if starts_with_ci(raw, "zoomus://") {
        (true, 9)
    } else if has_colon_slashes(raw.as_bytes()) {
        return None;
    } else {
        (false, 0)
    };
    let (host, path, tail) = split_after_scheme(raw.get(rest_at..)?);
    if !zoom_host(host) {
        return None;
    }
    let query = tail.trim_start_matches('?');
    // The path's non-empty segments: how many, and the first three (all a join link has).
    let mut segs = [""; 3];
    let mut n = 0;
    for s in path.split('/').filter(|s| !s.is_empty()) {
        if let Some(slot) = segs.get_mut(n) {
            *slot = s;
        }
        n += 1;
    }
    let id_ok = |s: &str| (6..=13).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let (kind, meeting_id) = if app {
        let id = query_param(query, "confno")?;
        if !id_ok(&id) {
            return None;
        }
        (LinkKind::App, Some(id))
    } else {
        let seg_is = |i: usize, word: &str| segs[i].eq_ignore_ascii_case(word);
        match n {
            2 if seg_is(0, "j") && id_segment(segs[1]).is_some() => {
                (LinkKind::Meeting, id_segment(segs[1]).map(Cow::into_owned))
            }
            2 if seg_is(0, "w") && id_segment(segs[1]).is_some() => {
                (LinkKind::Webinar, id_segment(segs[1]).map(Cow::into_owned))
            }
            2 if seg_is(0, "my")
                && segs[1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
            {
                (LinkKind::Personal, None)
            }
            3 if seg_is(0, "wc") && seg_is(1, "join") && id_ok(segs[2]) => {
                (LinkKind::Meeting, Some(segs[2].to_owned()))
            }
            3 if seg_is(0, "wc") && seg_is(2, "join") && id_ok(segs[1]) => {
                (LinkKind::Meeting, Some(segs[1].to_owned()))
            }
            1 if seg_is(0, "join") => {
                let id = query_param(query, "confno")?;
                if !id_ok(&id) {
                    return None;
                }
                (LinkKind::Meeting, Some(id))
            }
            _ => return None,
        }
    };
    let url = if rest_at == 0 {
        format!("https://{raw}")
    } else {
        raw.to_owned()
    };
    Some(JoinLink {
        pos: 0,
        url,
        host: host.to_ascii_lowercase(),
        kind,
        meeting_id,
    })
}

/// The meeting ID a `/j/` or `/w/` path segment holds: 6 to 13 digits, alone or with the
/// query run onto them when its `?` was typed away (`/j/89630613401pwd=…`, a university's
/// mailed invitation), which a browser would still send to that meeting; or 9 to 11 digits in
/// dash-separated groups.
pub(crate) fn id_segment(seg: &str) -> Option<Cow<'_, str>> {
    let digits = seg.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &seg.as_bytes()[digits..];
    let glued_pwd = rest.len() > 4 && rest[..4].eq_ignore_ascii_case(b"pwd=");
    if (6..=13).contains(&digits) && (rest.is_empty() || glued_pwd) {
        // ASCII digits: the cut is a char boundary.
        return Some(Cow::Borrowed(&seg[..digits]));
    }
    // The ID typed into the link the way it is read out, "/j/779-351-365" (a project's
    // GitHub issue): dash-separated groups of digits, a Zoom ID's 9 to 11 in all.
    let b = seg.as_bytes();
    let dashed = digits > 0
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'-')
        && b.last().is_some_and(u8::is_ascii_digit)
        && !b.windows(2).any(|w| w == b"--");
    let count = b.iter().filter(|c| c.is_ascii_digit()).count();
    (dashed && (9..=11).contains(&count))
        .then(|| Cow::Owned(seg.chars().filter(char::is_ascii_digit).collect()))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        if k.eq_ignore_ascii_case(name) {
            Some(v.to_owned())
        } else {
            None
        }
    })
}

/// How many redirect wrappers [`unwrap_redirect`] takes off one URL: Safe Links wraps every
/// link it passes again, a Google Calendar redirect included, and a wrapped link stays wrapped
/// when the mail is forwarded to another protected tenant.
const MAX_REDIRECT_LAYERS: usize = 4;

/// The target of an Outlook Safe Links, Google or URL Defense redirect, unwrapped layer by layer
/// (a Safe Links wrapper around Google's, say); other URLs unchanged.
pub(crate) fn unwrap_redirect(url: &str) -> String {
    let mut url = Cow::Borrowed(url);
    for _ in 0..MAX_REDIRECT_LAYERS {
        match unwrap_one_redirect(&url) {
            Some(inner) => url = Cow::Owned(inner),
            None => break,
        }
    }
    url.into_owned()
}

/// The target of `url` if its host and path are one of the redirectors' own, whatever its query
/// mentions: a join link whose query happens to name a redirector is not one.
fn unwrap_one_redirect(url: &str) -> Option<String> {
    let (host, path, tail) = split_after_scheme(after_http_scheme(url)?);
    // The path and all that follows it (they end the URL).
    let after = &url[url.len() - path.len() - tail.len()..];
    let query = tail
        .strip_prefix('?')
        .map(|q| q.split('#').next().unwrap_or(q));
    let under = |domain: &str| host_under(host, domain);
    let param = |name: &str| query.and_then(|q| query_param(q, name));
    if under("urldefense.com") && starts_with_ci(path, "/v3/__") {
        // URL Defense v3: the target stands as it is between "/v3/__" and the next "__".
        let inner = &after["/v3/__".len()..];
        let end = inner.find("__").unwrap_or(inner.len());
        return Some(inner[..end].to_owned());
    }
    if under("urldefense.proofpoint.com") && path.eq_ignore_ascii_case("/v2/url") {
        // Proofpoint v2: "-XX" is a percent escape, "_" a slash.
        let u = param("u")?;
        return Some(percent_decode(&u.replace('-', "%").replace('_', "/")));
    }
    let target = if under("safelinks.protection.outlook.com") {
        param("url")
    } else if under("google.com") && path.eq_ignore_ascii_case("/url") {
        param("q").or_else(|| param("url"))
    } else {
        None
    };
    target.map(|t| percent_decode(&t))
}

/// Replaces redirect wrappers in text by their targets.
pub(crate) fn unwrap_redirects_in_text(text: &str) -> Cow<'_, str> {
    if !may_hold_redirect(text.as_bytes()) || !REDIRECT_RE.is_match(text) {
        return Cow::Borrowed(text);
    }
    REDIRECT_RE.replace_all(text, |c: &regex::Captures<'_>| {
        unwrap_redirect(c.get(0).map(|m| m.as_str()).unwrap_or(""))
    })
}

/// "://", searched for once per text by [`may_hold_redirect`]: built once, and one SIMD pass
/// over the text instead of a `memchr` restarted at every ':' (texts hold a dozen, of times
/// and labels).
static COLON_SLASHES: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"://"));

/// A necessary condition for a [`REDIRECT_RE`] match, cheap enough to spare most texts the
/// regex (which runs on every body and every HTML line with "://"). A match is "http(s)://",
/// a run of `[A-Za-z0-9.-]` (under `(?i)` also the Kelvin sign and the long s: non-ASCII bytes
/// are taken as run bytes), then one of four literals. Each literal is made of run characters
/// up to its first '/' (all of "safelinks.protection.outlook.com"), so the maximal run after
/// "://" holds the start of a piece of it free of k and s, matched in ASCII case only:
/// "google.com/url" and "urldefen" where the literal starts, "afelin" one character in (after
/// the 's' of "safelinks", one byte, or two for a long s).
fn may_hold_redirect(b: &[u8]) -> bool {
    let piece_at = |q: usize| match b.get(q).map(|c| c | 0x20) {
        Some(b'a') => at_ci(b, q, b"afelin"),
        Some(b'u') => at_ci(b, q, b"urldefen"),
        Some(b'g') => at_ci(b, q, b"google.com/url"),
        _ => false,
    };
    COLON_SLASHES.find_iter(b).any(|i| {
        // One pass over the run: RUN_BYTES marks run bytes, and those a piece starts with.
        let mut q = i + 3;
        while let Some(&c) = b.get(q) {
            match RUN_BYTES[usize::from(c)] {
                0 => break,
                2 if piece_at(q) => return true,
                _ => q += 1,
            }
        }
        false
    })
}

/// For [`may_hold_redirect`]: 0 for a byte that ends a host run, 1 for one in it (ASCII
/// letters, digits, '.', '-', and every non-ASCII byte), 2 for a run byte a piece it looks
/// for can start with (a, g, u in either case).
static RUN_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if matches!(c | 0x20, b'a' | b'g' | b'u') && c.is_ascii_alphabetic() {
            2
        } else if c >= 0x80 || c.is_ascii_alphanumeric() || c == b'.' || c == b'-' {
            1
        } else {
            0
        };
        b += 1;
    }
    t
};

/// `text` with each percent-encoded URL (`https%3A%2F%2Fus02web.zoom.us%2Fj%2F…%3Fpwd%3D…`, a
/// form's field kept encoded in a database dump) decoded where it stands: from its scheme's
/// letters to the next blank, quotation mark or bracket. `None` when there is none. Only these
/// tokens are decoded: a passcode elsewhere in the text may hold a `%`.
pub(crate) fn with_encoded_links_decoded(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + 9 <= b.len() {
        // Case-insensitively ("%3a%2f%2f" too), from each '%'.
        let Some(at) = memchr::memchr(b'%', &b[i..]).map(|k| i + k) else {
            break;
        };
        if !b[at..]
            .get(..9)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"%3A%2F%2F"))
        {
            i = at + 1;
            continue;
        }
        let scheme = b[..at]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let end = b[at..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || b"'\"<>()[]{}`|\\^".contains(&c) || c >= 0x80)
            .map_or(b.len(), |k| at + k);
        if scheme > 0 {
            let start = at - scheme;
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..start]);
            o.push_str(&percent_decode(&text[start..end]));
            copied = end;
        }
        i = end.max(at + 9);
    }
    out.map(|mut o| {
        o.push_str(&text[copied..]);
        o
    })
}

/// Removes every Zoom URL from a piece of anchor text.
pub(crate) fn remove_zoom_urls(text: &str) -> String {
    URL_RE.replace_all(text, "").into_owned()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_links_are_decoded_in_place() {
        assert_eq!(
            with_encoded_links_decoded(
                "'Zoom', 'https%3A%2F%2Fus02web.zoom.us%2Fj%2F8310%3Fpwd%3DVTJ', 100%, x%3a%2f%2fy"
            )
            .as_deref(),
            Some("'Zoom', 'https://us02web.zoom.us/j/8310?pwd=VTJ', 100%, x://y")
        );
        assert_eq!(with_encoded_links_decoded("%3A%2F%2Fx 50% off"), None);
    }

    /// A link whose `?` before `pwd=` was typed away still names its meeting; digits with
    /// anything else after them do not.
    #[test]
    fn a_pwd_glued_to_the_meeting_id() {
        for (raw, id) in [
            (
                "https://us02web.zoom.us/j/89630613401pwd=NXRh",
                Some("89630613401"),
            ),
            ("https://zoom.us/w/896306134PWD=x", Some("896306134")),
            ("https://zoom.us/j/89630613401", Some("89630613401")),
            ("https://zoom.us/j/89630pwd=x", None),
            ("https://zoom.us/j/89630613401pwd=", None),
            ("https://zoom.us/j/89630613401pwdx", None),
            ("https://zoom.us/j/89630613401x", None),
            // Dashed groups, as an ID is read out.
            ("https://zoom.us/j/779-351-365", Some("779351365")),
            ("https://zoom.us/w/896-3061-3401?pwd=x", Some("89630613401")),
            ("https://zoom.us/j/779-351-36", None),
            ("https://zoom.us/j/779--351-365", None),
            ("https://zoom.us/j/779-351-365-", None),
            ("https://zoom.us/j/-779-351-365", None),
            ("https://zoom.us/j/779-351-365-123", None),
        ] {
            assert_eq!(
                classify(raw).and_then(|l| l.meeting_id).as_deref(),
                id,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn an_empty_pwd_at_the_end_is_dropped() {
        for (raw, want) in [
            (
                "https://zoom.us/j/834434601?pwd=...",
                "https://zoom.us/j/834434601",
            ),
            (
                "https://zoom.us/j/834434601?PWD=",
                "https://zoom.us/j/834434601",
            ),
            (
                "https://zoom.us/j/834434601?x=1&pwd=.",
                "https://zoom.us/j/834434601?x=1",
            ),
            (
                "https://zoom.us/j/834434601?pwd=a.",
                "https://zoom.us/j/834434601?pwd=a",
            ),
            (
                "https://zoom.us/j/834434601?xpwd=",
                "https://zoom.us/j/834434601?xpwd=",
            ),
            ("pwd=", "pwd="),
            (
                "https://zoom.us/j/834434601?pwd=aBc.1-",
                "https://zoom.us/j/834434601?pwd=aBc.1",
            ),
            (
                "https://zoom.us/j/834434601?pwd=aBc.1--.",
                "https://zoom.us/j/834434601?pwd=aBc.1",
            ),
            (
                "https://zoom.us/j/834434601?pwd=aBc-",
                "https://zoom.us/j/834434601?pwd=aBc-",
            ),
            (
                "https://zoom.us/j/834434601?tk=x.1-",
                "https://zoom.us/j/834434601?tk=x.1-",
            ),
        ] {
            assert_eq!(trim_trailing(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn shapes() {
        let t = "a https://us02web.zoom.us/j/81234567890?pwd=abc.1. b zoom.us/my/ana) \
                 zoommtg://zoom.us/join?action=join&confno=81234567890&pwd=x \
                 https://zoom.us/u/abc https://zoom.us/meeting/register/tJ no-reply@zoom.us \
                 https://acme.zoomgov.com/j/1612345678 https://zoom.us/s/81234567890?zak=x";
        let links = find_join_links(t);
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://us02web.zoom.us/j/81234567890?pwd=abc.1",
                "https://zoom.us/my/ana",
                "zoommtg://zoom.us/join?action=join&confno=81234567890&pwd=x",
                "https://acme.zoomgov.com/j/1612345678",
            ]
        );
    }

    #[test]
    fn start_links_without_the_hosts_token() {
        let t = "Please click this URL to join. https://zscaler.zoom.us/s/108184677) and \
                 https://zoom.us/s/81234567890?zak=eyJ0 https://zoom.us/s/81234567890?a=1&ZAK=x \
                 https://zoom.us/s/1234 https://zoom.us/s/81234567890/x https://zoom.us/j/812345678";
        let links = find_start_links(t);
        let got: Vec<(&str, Option<&str>)> = links
            .iter()
            .map(|l| (l.url.as_str(), l.meeting_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![("https://zscaler.zoom.us/s/108184677", Some("108184677"))]
        );
        // Never a join link of the ordinary kind.
        assert!(find_join_links("https://zscaler.zoom.us/s/108184677").is_empty());
    }

    #[test]
    fn links_broken_by_blanks_are_joined() {
        for (t, want) in [
            (
                "citação. https:// trt2- jus- br.zoom.us/ j/88631726170?\npwd=Cxy9.1 ID da reunião",
                Some("citação. https://trt2-jus-br.zoom.us/j/88631726170?pwd=Cxy9.1 ID da reunião"),
            ),
            (
                "Link: https://us02web.zoom.us/j/81234567890 ?pwd=abc. Next",
                Some("Link: https://us02web.zoom.us/j/81234567890?pwd=abc. Next"),
            ),
            // Nothing broken, or joining gives no join link: no text.
            ("https://us02web.zoom.us/j/81234567890 and more", None),
            (
                "see https:// example.org/ x and https://jte.csjt.jus.br/",
                None,
            ),
            ("https:// zoom.us/ u/abc", None),
        ] {
            assert_eq!(with_broken_links_joined(t).as_deref(), want, "{t:?}");
        }
        // A URL longer than any join link is not joined (nor read past the cap).
        let long = format!(
            "https://us02web.zoom.us/j/81234567890?x={}& pwd=abc",
            "a".repeat(600)
        );
        assert_eq!(with_broken_links_joined(&long), None);
        let short = long.replace(&"a".repeat(600), "a");
        assert!(with_broken_links_joined(&short).is_some());
    }

    #[test]
    fn a_link_starred_for_bold_type() {
        let t = "Entrar Zoom Reunión\nhttps://zoom.us/j/**71944238011**?pwd=**A7f39PLm.1\n**\n";
        let links = find_join_links(t);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].url, "https://zoom.us/j/71944238011?pwd=A7f39PLm.1");
        assert_eq!(links[0].meeting_id.as_deref(), Some("71944238011"));
        // A star that is no bold mark leaves a link that is not a join link as it was.
        assert!(find_join_links("https://zoom.us/**/rec/share/abc").is_empty());
    }

    #[test]
    fn a_word_glued_after_the_id() {
        let t =
            "visit https://zoom.us/j/8599664354or dial; https://zoom.us/j/8599664354?pwd=abcor \
                 https://zoom.us/j/abcdef https://zoom.us/meeting/register/tZabc1x";
        let urls: Vec<String> = find_join_links(t).into_iter().map(|l| l.url).collect();
        // Only a query-less link whose digits end before the glued word is cut; a pwd token's
        // letters are its own.
        assert_eq!(
            urls,
            vec![
                "https://zoom.us/j/8599664354",
                "https://zoom.us/j/8599664354?pwd=abcor"
            ]
        );
    }

    #[test]
    fn a_word_glued_before_the_scheme() {
        let t = "live athttps://us06web.zoom.us/j/87031160717 and\\nhttps://zoom.us/j/91234567890 \
                 xzoommtg://zoom.us/join?confno=81234567890 ab.zoom.us/j/71234567890";
        let urls: Vec<String> = find_join_links(t).into_iter().map(|l| l.url).collect();
        assert_eq!(
            urls,
            vec![
                "https://us06web.zoom.us/j/87031160717",
                "https://zoom.us/j/91234567890",
                "https://ab.zoom.us/j/71234567890",
            ]
        );
    }

    #[test]
    fn markdown_target_replaces_the_link_shown() {
        let t = "[https://us06web.zoom.us/j/81679782107?pwd=abc](https://us06web.zoom.us/j/84721071832)\n\
                 [Join](https://zoom.us/j/91234567890) [https://zoom.us/j/81234567890](https://zoom.us/j/81234567890).\n\
                 https://zoom.us/j/71234567890 (https://zoom.us/j/61234567890)";
        let ids: Vec<_> = find_join_links(t)
            .iter()
            .map(|l| (l.meeting_id.clone().unwrap_or_default(), l.pos))
            .collect();
        let at = |s: &str| t.find(s).expect("in the text");
        assert_eq!(
            ids,
            vec![
                (
                    "84721071832".to_owned(),
                    at("https://us06web.zoom.us/j/847")
                ),
                ("91234567890".to_owned(), at("https://zoom.us/j/912")),
                (
                    "81234567890".to_owned(),
                    at("https://zoom.us/j/81234567890)")
                ),
                ("71234567890".to_owned(), at("https://zoom.us/j/712")),
                ("61234567890".to_owned(), at("https://zoom.us/j/612")),
            ]
        );
    }

    /// `url_matches` against the whole-text regex it replaces, on every fixture (raw bytes read
    /// as text) and on splices of them with glue that can join or split a URL.
    #[test]
    fn token_search_matches_whole_text_regex() {
        let texts = super::super::fixture_texts();
        let check = |t: &str| {
            let want: Vec<_> = URL_RE.find_iter(t).map(|m| m.range()).collect();
            assert_eq!(
                url_matches(t),
                want,
                "{}",
                t.chars().take(80).collect::<String>()
            );
        };
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        for t in &texts {
            check(t);
            check(&t.to_uppercase());
        }
        for _ in 0..400 {
            let mut s = String::new();
            for _ in 0..3 {
                let t = &texts[next(texts.len())];
                let mut a = next(t.len() + 1);
                while !t.is_char_boundary(a) {
                    a -= 1;
                }
                let mut b = (a + next(300)).min(t.len());
                while !t.is_char_boundary(b) {
                    b -= 1;
                }
                s.push_str(&t[a..b]);
                const GLUE: [&str; 10] = [
                    "",
                    "zoom",
                    ".",
                    " ",
                    "/",
                    "\u{212a}",
                    "ZOOM.US/j/",
                    "\u{17f}",
                    "会議",
                    "é.zoom.us/j/123456789?pwd=x",
                ];
                s.push_str(GLUE[next(GLUE.len())]);
            }
            check(&s);
        }
    }

    /// The hand reading of ASCII tokens against [`URL_RE`] on tokens built from the pieces its
    /// rules turn on: schemes, labels, dots, each domain and near-misses of them, ports, paths.
    #[test]
    fn ascii_tokens_match_the_regex() {
        const PIECES: &[&str] = &[
            "https://",
            "http://",
            "HTTPS://",
            "zoommtg://",
            "zoomus://",
            "http",
            "://",
            "zoom",
            "ZOOM",
            ".us",
            ".com",
            ".cn",
            "gov",
            "-x",
            ".de",
            "zoom.us",
            "zoom.com.cn",
            "zoomgov.com",
            "zoom-x.de",
            "Zoom.Com",
            ".",
            "..",
            "-",
            "a",
            "us02web",
            "x1",
            ":",
            ":443",
            ":123456",
            "/",
            "/j/81234567890",
            "?pwd=a.1",
            "#f",
            "@",
            "%20",
            "_",
            "~",
            "9",
            "zoom.",
            ".zoom",
            "com.",
            "mtg",
        ];
        let mut state: u64 = 0x1234_5678_9abc_def1;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let mut matched = 0;
        for _ in 0..20_000 {
            let tok: String = (0..1 + next(9))
                .map(|_| PIECES[next(PIECES.len())])
                .collect();
            assert!(tok.bytes().all(url_byte), "{tok}");
            let want: Vec<_> = URL_RE
                .find_iter(&tok)
                .map(|m| 3 + m.start()..3 + m.end())
                .collect();
            let mut got = Vec::new();
            ascii_token_matches(tok.as_bytes(), 3, &mut |r| got.push(r));
            assert_eq!(got, want, "{tok}");
            matched += usize::from(!want.is_empty());
        }
        assert!(matched > 2_000, "tokens with a match: {matched}");
        // A long chain of labels that never reaches a domain stays linear (and finds nothing).
        let long = "a.".repeat(50_000) + "zoom";
        let mut got = Vec::new();
        ascii_token_matches(long.as_bytes(), 0, &mut |r| got.push(r));
        assert!(got.is_empty());
    }

    /// The version of `classify` that lower-cased copies, kept to check the one that does not.
    /// Reads a (trimmed) URL as a join link.
    fn old_classify(raw: &str) -> Option<JoinLink> {
        let lower = raw.to_ascii_lowercase();
        let (scheme, rest_at) = if lower.starts_with("https://") {
            ("https", 8)
        } else if lower.starts_with("http://") {
            ("http", 7)
        } else if lower.starts_with("zoommtg://") {
            ("zoommtg", 10)
        } else if lower.starts_with("zoomus://") {
            ("zoomus", 9)
        } else if lower.contains("://") {
            return None;
        } else {
            ("", 0)
        };
        let rest = &raw[rest_at..];
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host_port = rest[..host_end].to_ascii_lowercase();
        let host = host_port.split(':').next().unwrap_or("").to_owned();
        if !DOMAINS
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        {
            return None;
        }
        let after = &rest[host_end..];
        let path_end = after.find(['?', '#']).unwrap_or(after.len());
        let path = &after[..path_end];
        let query = after[path_end..].trim_start_matches('?');
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let url = if scheme.is_empty() {
            format!("https://{raw}")
        } else {
            raw.to_owned()
        };
        let id_ok = |s: &str| (6..=13).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        let (kind, meeting_id) = if scheme == "zoommtg" || scheme == "zoomus" {
            let id = query_param(query, "confno")?;
            if !id_ok(&id) {
                return None;
            }
            (LinkKind::App, Some(id))
        } else {
            let seg = |i: usize| segs.get(i).map(|s| s.to_ascii_lowercase());
            match (seg(0).as_deref(), segs.len()) {
                (Some("j"), 2) if id_segment(segs[1]).is_some() => {
                    (LinkKind::Meeting, id_segment(segs[1]).map(Cow::into_owned))
                }
                (Some("w"), 2) if id_segment(segs[1]).is_some() => {
                    (LinkKind::Webinar, id_segment(segs[1]).map(Cow::into_owned))
                }
                (Some("my"), 2)
                    if segs[1]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
                {
                    (LinkKind::Personal, None)
                }
                (Some("wc"), 3) if seg(1).as_deref() == Some("join") && id_ok(segs[2]) => {
                    (LinkKind::Meeting, Some(segs[2].to_owned()))
                }
                (Some("wc"), 3) if seg(2).as_deref() == Some("join") && id_ok(segs[1]) => {
                    (LinkKind::Meeting, Some(segs[1].to_owned()))
                }
                (Some("join"), 1) => {
                    let id = query_param(query, "confno")?;
                    if !id_ok(&id) {
                        return None;
                    }
                    (LinkKind::Meeting, Some(id))
                }
                _ => return None,
            }
        };
        Some(JoinLink {
            pos: 0,
            url,
            host,
            kind,
            meeting_id,
        })
    }

    /// `classify` as it was before it cut by bytes (char patterns, `str::contains`).
    fn classify_by_chars(raw: &str) -> Option<JoinLink> {
        let (scheme, rest_at) = if starts_with_ci(raw, "https://") {
            ("https", 8)
        } else if starts_with_ci(raw, "http://") {
            ("http", 7)
        } else if starts_with_ci(raw, "zoommtg://") {
            ("zoommtg", 10)
        } else if starts_with_ci(raw, "zoomus://") {
            ("zoomus", 9)
        } else if raw.contains("://") {
            return None;
        } else {
            ("", 0)
        };
        let rest = &raw[rest_at..];
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host_port = &rest[..host_end];
        let host = host_port.split(':').next().unwrap_or("");
        if !zoom_host(host) {
            return None;
        }
        let after = &rest[host_end..];
        let path_end = after.find(['?', '#']).unwrap_or(after.len());
        let path = &after[..path_end];
        let query = after[path_end..].trim_start_matches('?');
        // The path's non-empty segments: how many, and the first three (all a join link has).
        let mut segs = [""; 3];
        let mut n = 0;
        for s in path.split('/').filter(|s| !s.is_empty()) {
            if let Some(slot) = segs.get_mut(n) {
                *slot = s;
            }
            n += 1;
        }
        let id_ok = |s: &str| (6..=13).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        let (kind, meeting_id) = if scheme == "zoommtg" || scheme == "zoomus" {
            let id = query_param(query, "confno")?;
            if !id_ok(&id) {
                return None;
            }
            (LinkKind::App, Some(id))
        } else {
            let seg_is = |i: usize, word: &str| segs[i].eq_ignore_ascii_case(word);
            match n {
                2 if seg_is(0, "j") && id_segment(segs[1]).is_some() => {
                    (LinkKind::Meeting, id_segment(segs[1]).map(Cow::into_owned))
                }
                2 if seg_is(0, "w") && id_segment(segs[1]).is_some() => {
                    (LinkKind::Webinar, id_segment(segs[1]).map(Cow::into_owned))
                }
                2 if seg_is(0, "my")
                    && segs[1]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
                {
                    (LinkKind::Personal, None)
                }
                3 if seg_is(0, "wc") && seg_is(1, "join") && id_ok(segs[2]) => {
                    (LinkKind::Meeting, Some(segs[2].to_owned()))
                }
                3 if seg_is(0, "wc") && seg_is(2, "join") && id_ok(segs[1]) => {
                    (LinkKind::Meeting, Some(segs[1].to_owned()))
                }
                1 if seg_is(0, "join") => {
                    let id = query_param(query, "confno")?;
                    if !id_ok(&id) {
                        return None;
                    }
                    (LinkKind::Meeting, Some(id))
                }
                _ => return None,
            }
        };
        let url = if scheme.is_empty() {
            format!("https://{raw}")
        } else {
            raw.to_owned()
        };
        Some(JoinLink {
            pos: 0,
            url,
            host: host.to_ascii_lowercase(),
            kind,
            meeting_id,
        })
    }

    /// `classify` against the copying version it replaced, on every URL-looking token of every
    /// fixture, upper-cased too, and on edge cases.
    #[test]
    fn classify_matches_copying_version() {
        let mut urls: Vec<String> = vec![
            "zoom.us/j/123456".into(),
            "ZOOM.US:443/J/123456789".into(),
            "https://x.zoom.us.evil.example/j/81234567890".into(),
            "https://evilzoom.us/j/81234567890".into(),
            "zoommtg://zoom.us/join?confno=81234567890&pwd=x".into(),
            "https://zoom.us/wc/join/81234567890".into(),
            "https://zoom.us/wc/81234567890/join".into(),
            "https://zoom.us/join?confno=812345678".into(),
            "https://zoom.us/my/ana.b-c".into(),
            "https://zoom.us//j//81234567890/".into(),
            "https://zoom.us/j/81234567890/x".into(),
            "https://zoom.us/\u{212a}/1".into(),
            "ftp://zoom.us/j/81234567890".into(),
            "https://zoom.us".into(),
            "zoom.us/join??confno=81234567890".into(),
            "zoom.us/j/81234567890?x=http://a".into(),
            "https://zoom.us#/j/81234567890?pwd=1".into(),
            "https://zoom.us:443:1/j/81234567890".into(),
            "https://zoöm.us/j/81234567890".into(),
            "https://é.zoom.us/wc/81234567890/join?x=ü".into(),
            "https://zoom.us/my/ana/".into(),
            "ZoomMtg://Zoom.US/join?ConfNo=81234567890".into(),
            "zoomus://zoom.us/join?confno=12345".into(),
            "http://".into(),
            "HTTPS://ZOOM.US/J/81234567890".into(),
            "https://us02web.zoom.us/j/89630613401pwd=NXRhU3ZC".into(),
            "https://zoom.us/w/89630613401PWD=x".into(),
            "https://zoom.us/j/89630pwd=x".into(),
            "https://zoom.us/j/89630613401pwd=".into(),
            "https://zoom.us/j/89630613401pwdx".into(),
            String::new(),
        ];
        for t in super::super::fixture_texts() {
            for r in url_matches(&t) {
                urls.push(trim_trailing(&t[r.clone()]).to_owned());
                urls.push(t[r].to_uppercase());
            }
        }
        assert!(urls.len() > 100, "urls found: {}", urls.len());
        for u in &urls {
            assert_eq!(classify(u), old_classify(u), "{u}");
            assert_eq!(classify(u), classify_by_chars(u), "{u}");
        }
    }

    /// `find_zoom` against a plain scan for every "zoom" start, on every fixture and its upper-
    /// and lower-cased copies, from every start offset near each hit.
    #[test]
    fn zoom_search_finds_every_zoom() {
        let mut texts = super::super::fixture_texts();
        texts.extend([
            "zzoom zoo zoOm z".to_owned(),
            "zoo".to_owned(),
            String::new(),
        ]);
        for t in &texts {
            for t in [t.clone(), t.to_uppercase(), t.to_lowercase()] {
                let b = t.as_bytes();
                let want: Vec<usize> = (0..b.len())
                    .filter(|&i| b[i..].len() >= 4 && b[i..i + 4].eq_ignore_ascii_case(b"zoom"))
                    .collect();
                let mut got = Vec::new();
                let mut from = 0;
                while let Some(z) = find_zoom(b, from) {
                    got.push(z);
                    from = z + 1;
                }
                assert_eq!(got, want);
                assert_eq!(find_zoom(b, b.len() + 1), None);
            }
        }
    }

    /// `unwrap_redirects_in_text` as it was: the regex on every text, with no cheaper test first.
    fn old_unwrap_redirects_in_text(text: &str) -> Cow<'_, str> {
        if !REDIRECT_RE.is_match(text) {
            return Cow::Borrowed(text);
        }
        REDIRECT_RE.replace_all(text, |c: &regex::Captures<'_>| {
            unwrap_redirect(c.get(0).map(|m| m.as_str()).unwrap_or(""))
        })
    }

    /// The prefiltered unwrapping against the regex-only one, on every fixture (as is, upper-
    /// and lower-cased), on redirect links written with the Kelvin sign and the long s where the
    /// regex's `(?i)` accepts them, and on splices of all these with glue that cuts them.
    #[test]
    fn redirect_prefilter_keeps_every_redirect() {
        let mut texts = super::super::fixture_texts();
        let links = [
            "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us%2Fj%2F1",
            "HTTP\u{17f}://eu.\u{17f}afelin\u{212a}\u{17f}.protection.outlook.com/?url=x",
            "https://\u{17f}afelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us",
            "http://www.google.com/url?q=https://zoom.us/j/81234567890&sa=D",
            "https://urldefense.com/v3/__https://zoom.us/j/81234567890__;!!x",
            "https://urldefen\u{17f}e.proofpoint.com/v2/url?u=https-3A__zoom.us_j_1&d=x",
            "https://a-b.9.\u{212a}.google.com/url?q=x",
            "https://google.com/URL",
            "https://safelinks.protection.outlook.co",
            "https://x y.safelinks.protection.outlook.com/?url=z",
            "https:/urldefense.com/v3/__x",
            "ftp://safelinks.protection.outlook.com/?url=z https://",
            "日本://urldefense.proofpoint.com/v2/url?u=x",
            "https://",
            "",
        ];
        let found = links
            .iter()
            .filter(|l| REDIRECT_RE.is_match(l) && may_hold_redirect(l.as_bytes()))
            .count();
        assert!(found >= 8, "redirects the regex takes: {found}");
        texts.extend(links.iter().map(|l| l.to_string()));
        let mut state: u64 = 0x0dd_b1a5_e5ca_1ab1;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let base = texts.clone();
        for _ in 0..2_000 {
            let mut s = String::new();
            for _ in 0..3 {
                let t = &base[next(base.len())];
                let mut a = next(t.len() + 1);
                while !t.is_char_boundary(a) {
                    a -= 1;
                }
                let mut b = (a + next(200)).min(t.len());
                while !t.is_char_boundary(b) {
                    b -= 1;
                }
                s.push_str(&t[a..b]);
                s.push_str(links[next(links.len())]);
            }
            texts.push(s);
        }
        for t in &texts {
            for t in [t.clone(), t.to_uppercase(), t.to_lowercase()] {
                assert_eq!(
                    unwrap_redirects_in_text(&t),
                    old_unwrap_redirects_in_text(&t),
                    "{t}"
                );
                // Necessary: never false where the regex matches.
                assert!(
                    may_hold_redirect(t.as_bytes()) || !REDIRECT_RE.is_match(&t),
                    "{t}"
                );
            }
        }
    }

    #[test]
    fn safelinks() {
        let u = "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us%2Fj%2F81234567890%3Fpwd%3Dab.1&data=x";
        assert_eq!(unwrap_redirect(u), "https://zoom.us/j/81234567890?pwd=ab.1");
    }

    /// Every redirector's shape, one wrapped in another (Safe Links around Google Calendar's
    /// redirect, as an Outlook recipient gets a Google invitation; Safe Links around Safe Links,
    /// as a protected tenant forwards to another), and URLs that only mention a redirector.
    #[test]
    fn redirects_by_host_and_path_layer_by_layer() {
        let join = "https://us02web.zoom.us/j/81234567890?pwd=ab.1";
        let google = "https://www.google.com/url?q=https://us02web.zoom.us/j/81234567890?pwd%3Dab.1&sa=D&source=calendar&usg=AOvVaw0";
        assert_eq!(unwrap_redirect(google), join);
        let outer = |inner: &str| {
            let mut enc = String::new();
            for b in inner.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                    enc.push(char::from(b));
                } else {
                    enc.push_str(&format!("%{b:02X}"));
                }
            }
            format!(
                "https://eur01.safelinks.protection.outlook.com/?url={enc}&data=05%7C01&reserved=0"
            )
        };
        assert_eq!(unwrap_redirect(&outer(google)), join);
        assert_eq!(unwrap_redirect(&outer(&outer(join))), join);
        assert_eq!(
            unwrap_redirect("HTTPS://URLDEFENSE.COM/v3/__https://zoom.us/j/81234567890__;!!x"),
            "https://zoom.us/j/81234567890"
        );
        assert_eq!(
            unwrap_redirect(
                "https://urldefense.proofpoint.com/v2/url?u=https-3A__zoom.us_j_81234567890&d=x"
            ),
            "https://zoom.us/j/81234567890"
        );
        assert_eq!(
            unwrap_redirect(
                "https://www.google.com:443/url?sa=t&url=https%3A%2F%2Fzoom.us%2Fj%2F81234567890"
            ),
            "https://zoom.us/j/81234567890"
        );
        // Named only in a query or a path, or by a look-alike host: not a redirect.
        for u in [
            "https://zoom.us/j/81234567890?pwd=ab&ref=nam02.safelinks.protection.outlook.com&url=https://x.example",
            "https://zoom.us/j/81234567890?from=google.com/url&q=https://x.example",
            "https://x.example/google.com/url?q=https://zoom.us/j/81234567890",
            "https://notgoogle.com/url?q=https://zoom.us/j/81234567890",
            "https://safelinks.protection.outlook.com.x.example/?url=https://zoom.us/j/1",
            "https://example.com/v3/__https://zoom.us/j/81234567890__?via=urldefense.com/v3/__",
            "https://www.google.com/calendar/event?q=https://zoom.us/j/81234567890",
            "ftp://www.google.com/url?q=https://zoom.us/j/81234567890",
        ] {
            assert_eq!(unwrap_redirect(u), u);
        }
        // A wrapper without a target is left as it is.
        let bare = "https://nam02.safelinks.protection.outlook.com/?data=x";
        assert_eq!(unwrap_redirect(bare), bare);
    }
}
