//! Bytes to documents: decides whether the input is a whole message or a bare body, walks MIME
//! (the only file in the crate that uses `mail_parser`), decodes charsets and transfer encodings,
//! and reads the header facts (envelope, automation) the rest needs.
//!
//! Must never: interpret invitation text (that is `extract`'s job), panic on any input, or
//! refuse a message for being bulk or list mail (Zoom's own webinar mails are both).

use super::{ics, json, Envelope, NotAnInvitation};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::Encoding;
use mail_parser::{
    Address, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};
use std::borrow::Cow;
use std::sync::OnceLock;

/// What one body part (or a bare input) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Plain,
    Html,
}

/// One readable body, already decoded to Unicode.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub kind: DocKind,
    pub text: String,
}

/// Everything the extractor reads from one input.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub docs: Vec<Doc>,
    pub calendars: Vec<ics::Calendar>,
    /// Bare From address of the outer message.
    pub from: Option<String>,
    pub subject: Option<String>,
}

/// How deep nested `message/rfc822` parts are followed.
const MAX_DEPTH: usize = 8;

/// Reads an input into documents, refusing bounces, auto-replies and empty or broken messages.
pub(crate) fn load(bytes: &[u8]) -> Result<Loaded, NotAnInvitation> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(NotAnInvitation::Malformed("the message is empty".into()));
    }
    if !looks_like_message(bytes) {
        let mut loaded = Loaded::default();
        add_bare_body(&mut loaded, bytes);
        return Ok(loaded);
    }
    let message = parse_message(bytes)
        .ok_or_else(|| NotAnInvitation::Malformed("the MIME structure cannot be read".into()))?;
    // The sender, read once for `automation_from` and for the result.
    let from = first_addr(message.from()).map(|(a, _)| a);
    if let Some((kind, reason)) = automation_from(&message, from.as_deref()) {
        match kind {
            Automated::Bounce => {
                return Err(NotAnInvitation::NotInvitation(format!(
                    "a delivery failure report (bounce): {reason}"
                )))
            }
            Automated::AutoReply => {
                return Err(NotAnInvitation::NotInvitation(format!(
                    "an automatic reply: {reason}"
                )))
            }
            Automated::Bulk => {}
        }
    }
    let mut loaded = Loaded {
        from,
        subject: message.subject().map(str::to_owned),
        ..Loaded::default()
    };
    let mut seen = Vec::new();
    walk(message, &mut loaded, &mut seen, 0);
    if loaded.docs.is_empty() && loaded.calendars.is_empty() {
        return Err(NotAnInvitation::Malformed(
            "the message has no readable text body".into(),
        ));
    }
    Ok(loaded)
}

/// The mail-parser configuration [`load`] reads messages as (through [`parse_message`], which
/// uses it as is only where its own decoding could differ): only the headers `load` reads are
/// parsed, every other one is skipped to its end unparsed (`parse_and_ignore`), where
/// `MessageParser::default()` (the benchmark's baseline, and what [`envelope`] uses) parses
/// Received, To, Cc, Bcc, Sender, Reply-To, the Resent-* headers, Date, Message-ID,
/// References, In-Reply-To, Content-ID, Content-Description, Content-Location,
/// Content-Language, Keywords, Comments and MIME-Version, and copies every other header
/// (DKIM, ARC, X-*, ...) into a new string.
///
/// Kept, as `default()` parses them: Content-Type and Content-Disposition (the part structure
/// and attachment names), Content-Transfer-Encoding (how bodies are decoded), From and Subject
/// (read by `load` and [`automation_from`]), and the List-* and Return-Path headers (whose raw
/// text `automation_from` reads: parsed as before, their extent is exactly what it was). A
/// skipped header ends where `parse_raw` ends it, so `automation_from`'s raw reads of the
/// others (and every later header) are unchanged. The cost: one hash-map look-up per header.
fn load_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_content_type(HeaderName::ContentType)
            .header_content_type(HeaderName::ContentDisposition)
            .header_text(HeaderName::ContentTransferEncoding)
            .header_address(HeaderName::From)
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::ListArchive)
            .header_address(HeaderName::ListHelp)
            .header_address(HeaderName::ListId)
            .header_address(HeaderName::ListOwner)
            .header_address(HeaderName::ListPost)
            .header_address(HeaderName::ListSubscribe)
            .header_address(HeaderName::ListUnsubscribe)
            .header_id(HeaderName::ReturnPath)
            .default_header_ignore()
    })
}

/// [`load_parser`] with Content-Transfer-Encoding skipped too: mail-parser then leaves every
/// body as it came, and [`decode_bodies`] undoes the transfer encodings itself (mail-parser's
/// quoted-printable decoder pushes byte by byte into a vector, and was half of all the
/// instructions mail-parser spent on the fixture messages). Skipping the header ends it where
/// parsing it as text does (both stop at the first line break not followed by a space or a
/// tab), so every later header and the part structure are unchanged.
fn raw_body_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        load_parser()
            .clone()
            .ignore_header(HeaderName::ContentTransferEncoding)
    })
}

/// What [`load_parser`] gives for `bytes`: parsed with [`raw_body_parser`] and the bodies
/// decoded by [`decode_bodies`], or, for the few messages where that could differ (a
/// `message/rfc822` part in base64 or quoted-printable, a body mail-parser's decoder would
/// refuse), parsed again with [`load_parser`].
fn parse_message(bytes: &[u8]) -> Option<Message<'_>> {
    if let Some(mut message) = parse_bounded(raw_body_parser(), bytes) {
        if decode_bodies(&mut message, b"") {
            return Some(message);
        }
    }
    parse_bounded(load_parser(), bytes)
}

/// `parser.parse(bytes)` with every message nested deeper than [`MAX_DEPTH`] below the root
/// cut off (no one reads them). mail-parser parses nesting with a stack of its own, but a
/// `Message` holds its nested messages in its parts and drops them recursively: a few hundred
/// kilobytes of `Content-Type: message/rfc822` lines one inside the other overflowed a 2 MiB
/// thread stack (30,000 levels, about 900 KB, in mail-parser's drop; 3,000 in the recursive
/// walks here), which aborts the whole daemon.
fn parse_bounded<'x>(parser: &MessageParser, bytes: &'x [u8]) -> Option<Message<'x>> {
    let mut message = parser.parse(bytes)?;
    prune(&mut message, 0);
    Some(message)
}

/// Cuts off the messages nested inside `message` (itself at `depth`) deeper than
/// [`MAX_DEPTH`], tearing them down one at a time instead of by recursive drops. Recursion here
/// stops at [`MAX_DEPTH`].
fn prune(message: &mut Message<'_>, depth: usize) {
    for part in &mut message.parts {
        if let PartType::Message(inner) = &mut part.body {
            if depth < MAX_DEPTH {
                prune(inner, depth + 1);
            } else {
                let mut cut = Vec::new();
                take_nested(inner, &mut cut);
                while let Some(mut m) = cut.pop() {
                    take_nested(&mut m, &mut cut);
                    // `m` is dropped here holding no nested message.
                }
            }
        }
    }
}

/// Moves the messages nested directly in `message`'s parts into `out`, leaving empty
/// multiparts in their place.
fn take_nested<'x>(message: &mut Message<'x>, out: &mut Vec<Message<'x>>) {
    for part in &mut message.parts {
        if matches!(part.body, PartType::Message(_)) {
            if let PartType::Message(inner) =
                std::mem::replace(&mut part.body, PartType::Multipart(Vec::new()))
            {
                out.push(inner);
            }
        }
    }
}

/// The value mail-parser reads from a part's (last) Content-Transfer-Encoding header, when it
/// is one it decodes: parsed again from the raw header with mail-parser's own parser.
fn transfer_encoding(raw: &[u8], part: &MessagePart<'_>) -> Option<Encoding> {
    let h = part
        .headers
        .iter()
        .rev()
        .find(|h| h.name == HeaderName::ContentTransferEncoding)?;
    let value = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    match MessageStream::new(value).parse_unstructured() {
        HeaderValue::Text(t) if t.eq_ignore_ascii_case("base64") => Some(Encoding::Base64),
        HeaderValue::Text(t) if t.eq_ignore_ascii_case("quoted-printable") => {
            Some(Encoding::QuotedPrintable)
        }
        _ => None,
    }
}

/// Decodes in place every body of `message` that mail-parser would have decoded, exactly as
/// it would have (`parse_` in mail-parser's parsers/message.rs): the same decoder over the same
/// bytes up to the same MIME boundary, then the same charset conversion for text. `inherited`
/// is the boundary the message's root part ends at (a nested message's root ends where the
/// part holding it does). False when the result could differ from mail-parser's: a decoder
/// refusing a body (mail-parser then keeps it raw as text), a decoder ending elsewhere than
/// the part (a check of this function), or a nested message in a transfer encoding (mail-parser
/// decodes it before parsing it).
fn decode_bodies(message: &mut Message<'_>, inherited: &[u8]) -> bool {
    let Message {
        parts, raw_message, ..
    } = message;
    let raw: &[u8] = raw_message;
    // Which multipart part holds each part (its boundary ends the part).
    let mut holder = vec![usize::MAX; parts.len()];
    for (i, part) in parts.iter().enumerate() {
        if let PartType::Multipart(children) = &part.body {
            for &c in children {
                if let Some(h) = holder.get_mut(c as usize) {
                    *h = i;
                }
            }
        }
    }
    for (i, &holder) in holder.iter().enumerate() {
        let (before, rest) = parts.split_at_mut(i);
        let Some(part) = rest.first_mut() else {
            return false;
        };
        let boundary: &[u8] = if i == 0 {
            inherited
        } else {
            match before.get(holder) {
                Some(h) => h
                    .content_type()
                    .and_then(|ct| ct.attribute("boundary"))
                    .map_or(&b""[..], str::as_bytes),
                None => return false,
            }
        };
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let Some(encoding) = transfer_encoding(raw, part) else {
            if let PartType::Message(inner) = &mut part.body {
                if !decode_bodies(inner, boundary) {
                    return false;
                }
            }
            continue;
        };
        if part.is_encoding_problem || matches!(part.body, PartType::Message(_)) {
            // A body mail-parser kept raw, or a nested message: with the transfer encoding
            // read, mail-parser may have read it otherwise (decoded, then parsed).
            return false;
        }
        let Some(body) = raw.get(part.offset_body as usize..) else {
            return false;
        };
        let (end, bytes) = match encoding {
            Encoding::Base64 => decode_base64_mime(body, boundary),
            _ => decode_qp_mime(body, boundary),
        };
        if end == usize::MAX || part.offset_body as usize + end != part.offset_end as usize {
            return false;
        }
        let charset = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .and_then(|c| charset_decoder(c.as_bytes()));
        match &mut part.body {
            // As mail-parser turns a decoded (owned) body into text.
            PartType::Text(t) | PartType::Html(t) => {
                *t = match charset {
                    Some(decode) => decode(&bytes).into(),
                    None => String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                        .into(),
                };
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => *b = bytes.into(),
            PartType::Message(_) | PartType::Multipart(_) => return false,
        }
    }
    true
}

/// mail-parser's `MessageStream::decode_base64_mime` over `body` (a part's bytes to the end of
/// the input): the same bytes out and the same end offset (`usize::MAX` where it gives up),
/// with the same tables, but a run of groups of four valid characters (a whole line) is
/// decoded in a tight loop, a group per step, where mail-parser steps through a peekable
/// iterator one byte at a time.
fn decode_base64_mime(body: &[u8], boundary: &[u8]) -> (usize, Vec<u8>) {
    use mail_parser::decoders::base64::BASE64_MAP;
    const INVALID: u32 = 0x01ff_ffff;
    let [m0, m1, m2, m3] = base64_tables();
    let mut buf = Vec::with_capacity(body.len() / 4 * 3);
    let mut chunk: u32 = 0;
    let mut byte_count: usize = 0;
    let mut end_pos = 0usize;
    let mut i = 0;
    while i < body.len() {
        if byte_count == 0 {
            // Every valid value is below 2^24 and the invalid one is not: the four are valid
            // when their union is. A group with any other value is read by the steps below.
            let start = i;
            for g in body[i..].chunks_exact(4) {
                let v =
                    m0[g[0] as usize] | m1[g[1] as usize] | m2[g[2] as usize] | m3[g[3] as usize];
                if v >= 1 << 24 {
                    break;
                }
                buf.extend_from_slice(&v.to_le_bytes()[0..3]);
                i += 4;
            }
            if i > start {
                continue;
            }
        }
        let ch = body[i];
        let val = BASE64_MAP[byte_count][ch as usize];
        if val < INVALID {
            byte_count = (byte_count + 1) & 3;
            if byte_count == 1 {
                chunk = val;
            } else {
                chunk |= val;
                if byte_count == 0 {
                    buf.extend_from_slice(&chunk.to_le_bytes()[0..3]);
                }
            }
        } else {
            // mail-parser's last two bytes start as a line break and nothing.
            let last = if i > 0 { body[i - 1] } else { b'\n' };
            match ch {
                b'=' => match byte_count {
                    1 | 2 => {
                        buf.push(chunk.to_le_bytes()[0]);
                        byte_count = 0;
                    }
                    3 => {
                        buf.extend_from_slice(&chunk.to_le_bytes()[0..2]);
                        byte_count = 0;
                    }
                    _ => (),
                },
                b'\n' => end_pos = if last == b'\r' { i - 1 } else { i },
                b' ' | b'\t' | b'\r' => (),
                b'-' => {
                    if last == b'-' {
                        // i > 0 here: `last` is a real byte.
                        return if !boundary.is_empty() && body[i + 1..].starts_with(boundary) {
                            let before_last = if i > 1 { body[i - 2] } else { b'\n' };
                            (if before_last == b'\n' { end_pos } else { i - 1 }, buf)
                        } else {
                            (usize::MAX, Vec::new())
                        };
                    }
                }
                _ => return (usize::MAX, Vec::new()),
            }
        }
        i += 1;
    }
    if boundary.is_empty() {
        (body.len(), buf)
    } else {
        (usize::MAX, Vec::new())
    }
}

/// mail-parser's four base64 tables (`BASE64_MAP`, slices) copied once into arrays of 256:
/// indexed by a byte, an array needs no bounds check in [`decode_base64_mime`]'s inner loop.
fn base64_tables() -> &'static [[u32; 256]; 4] {
    use mail_parser::decoders::base64::BASE64_MAP;
    static TABLES: OnceLock<[[u32; 256]; 4]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables = [[0x01ff_ffff; 256]; 4];
        for (table, theirs) in tables.iter_mut().zip(BASE64_MAP) {
            for (v, t) in table.iter_mut().zip(theirs.iter()) {
                *v = *t;
            }
        }
        tables
    })
}

/// mail-parser's `MessageStream::decode_quoted_printable_mime` over `body` (a part's bytes to
/// the end of the input): the same bytes out and the same end offset (`usize::MAX` where it
/// gives up), but a run of plain bytes is found with memchr and copied at once, and the end
/// boundary is found with one memmem search, where mail-parser steps through a peekable
/// iterator and pushes byte by byte.
fn decode_qp_mime(body: &[u8], boundary: &[u8]) -> (usize, Vec<u8>) {
    use mail_parser::decoders::quoted_printable::HEX_MAP;
    #[derive(PartialEq)]
    enum State {
        None,
        Eq,
        Hex1,
    }
    // mail-parser stops at the second `-` of the first `--boundary`: a `-` after a `-`,
    // followed by the boundary.
    let stop = if boundary.is_empty() {
        None
    } else {
        let mut marker = Vec::with_capacity(boundary.len() + 2);
        marker.extend_from_slice(b"--");
        marker.extend_from_slice(boundary);
        memchr::memmem::find(body, &marker).map(|q| q + 1)
    };
    let data = &body[..stop.unwrap_or(body.len())];
    let mut buf = Vec::with_capacity(data.len());
    let mut state = State::None;
    let mut hex1 = 0i8;
    let mut ws_count = 0usize;
    let mut end_pos = 0usize;
    let mut crlf: &[u8] = b"\n";
    let mut i = 0;
    while i < data.len() {
        if state == State::None {
            if data[i] == b'=' {
                // The usual escapes in one step each, as the state machine below reads them.
                if let Some(&[h1, h2]) = data.get(i + 1..i + 3) {
                    let (hi, lo) = (HEX_MAP[h1 as usize], HEX_MAP[h2 as usize]);
                    if hi != -1 && lo != -1 {
                        buf.push(((hi as u8) << 4) | lo as u8);
                        ws_count = 0;
                        i += 3;
                        continue;
                    }
                }
                if data.get(i + 1) == Some(&b'\n') {
                    // A soft line break.
                    end_pos = i + 1;
                    ws_count = 0;
                    i += 2;
                    continue;
                }
                if data.get(i + 1..i + 3) == Some(b"\r\n") {
                    crlf = b"\r\n";
                    end_pos = i + 1;
                    ws_count = 0;
                    i += 3;
                    continue;
                }
            } else if data[i] != b'\n' && data[i] != b'\r' {
                // A run of plain bytes: pushed as they are; the whitespace at its end counts
                // towards what a hard line break trims.
                let run_end =
                    memchr::memchr3(b'=', b'\n', b'\r', &data[i..]).map_or(data.len(), |e| i + e);
                let run = &data[i..run_end];
                buf.extend_from_slice(run);
                let trailing = run
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                ws_count = if trailing == run.len() {
                    ws_count + trailing
                } else {
                    trailing
                };
                i = run_end;
                continue;
            }
        }
        let ch = data[i];
        match ch {
            b'=' => {
                if state == State::None {
                    state = State::Eq;
                } else {
                    return (usize::MAX, Vec::new());
                }
            }
            b'\n' => {
                end_pos = if i > 0 && data[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                if state == State::Eq {
                    state = State::None;
                } else {
                    buf.truncate(buf.len().saturating_sub(ws_count));
                    buf.extend_from_slice(crlf);
                }
                ws_count = 0;
            }
            b'\r' => crlf = b"\r\n",
            _ => match state {
                State::None => {
                    // Not reached: plain bytes in this state are copied as runs above.
                    if ch.is_ascii_whitespace() {
                        ws_count += 1;
                    } else {
                        ws_count = 0;
                    }
                    buf.push(ch);
                }
                State::Eq => {
                    hex1 = HEX_MAP[ch as usize];
                    if hex1 != -1 {
                        state = State::Hex1;
                    } else if !ch.is_ascii_whitespace() {
                        state = State::None;
                        buf.push(b'=');
                        buf.push(ch);
                        ws_count = 0;
                    }
                }
                State::Hex1 => {
                    let hex2 = HEX_MAP[ch as usize];
                    state = State::None;
                    if hex2 != -1 {
                        buf.push(((hex1 as u8) << 4) | hex2 as u8);
                    } else {
                        // i > 0: the state is Hex1 only after a byte.
                        buf.push(b'=');
                        buf.push(data[i - 1]);
                        buf.push(ch);
                    }
                    ws_count = 0;
                }
            },
        }
        i += 1;
    }
    match stop {
        None if boundary.is_empty() => (body.len(), buf),
        None => (usize::MAX, Vec::new()),
        Some(p) => {
            // `p` is the boundary's second `-`; mail-parser drops the line break and the first
            // `-` it already pushed, or the `-` alone when no line break came before it.
            if p >= 2 && body[p - 2] == b'\n' {
                if let Some(n) = buf.len().checked_sub(crlf.len() + 1) {
                    buf.truncate(n);
                }
                (end_pos, buf)
            } else {
                if let Some(n) = buf.len().checked_sub(1) {
                    buf.truncate(n);
                }
                (p - 1, buf)
            }
        }
    }
}

/// How [`walk`] reads a part, from its content type and attachment name.
struct PartRole {
    calendar: bool,
    /// What a text body (not a calendar) is read as; `None`: not read.
    text: Option<DocKind>,
    /// Named `*.eml`: a binary body is parsed as a message.
    eml: bool,
}

/// The role of a part. Types and names are compared ignoring ASCII case in place (they used to
/// be lower-cased into new strings first: two or three allocations per part).
fn part_role(part: &MessagePart<'_>) -> PartRole {
    let (ctype, subtype) = match part.content_type() {
        Some(ct) => (ct.ctype(), ct.subtype().unwrap_or("")),
        None => ("text", "plain"),
    };
    let name = part.attachment_name().unwrap_or("").as_bytes();
    let name_ends = |suffix: &[u8]| {
        name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    let calendar = subtype.eq_ignore_ascii_case("calendar")
        || subtype.eq_ignore_ascii_case("ics")
        || subtype.eq_ignore_ascii_case("x-vcalendar")
        || name_ends(b".ics")
        || name_ends(b".vcs");
    let is_text = ctype.eq_ignore_ascii_case("text");
    let text = if is_text && (subtype.eq_ignore_ascii_case("plain") || subtype.is_empty()) {
        Some(DocKind::Plain)
    } else if subtype.eq_ignore_ascii_case("html") {
        Some(DocKind::Html)
    } else if is_text && !subtype.eq_ignore_ascii_case("rfc822-headers") {
        // text/markdown, text/enriched, text/x-*: read as plain text.
        Some(DocKind::Plain)
    } else {
        None
    };
    PartRole {
        calendar,
        text,
        eml: name_ends(b".eml"),
    }
}

/// Takes the message by value so a body mail-parser already decoded into a new string (QP,
/// base64, another charset) becomes the document's text without a second copy.
fn walk(message: Message<'_>, out: &mut Loaded, seen: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for part in message.parts {
        let role = part_role(&part);
        match part.body {
            PartType::Text(t) if t.trim().is_empty() => {}
            PartType::Html(h) if h.trim().is_empty() => {}
            PartType::Text(t) => {
                if role.calendar {
                    add_calendar(out, seen, t);
                } else if let Some(kind) = role.text {
                    out.docs.push(Doc {
                        kind,
                        text: t.into_owned(),
                    });
                }
            }
            PartType::Html(h) => out.docs.push(Doc {
                kind: DocKind::Html,
                text: h.into_owned(),
            }),
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                if role.calendar {
                    add_calendar(out, seen, decode_bytes_cow(&b));
                } else if role.eml {
                    if let Some(inner) = parse_message(b.as_ref()) {
                        walk(inner, out, seen, depth + 1);
                    }
                }
            }
            PartType::Message(m) => walk(m, out, seen, depth + 1),
            PartType::Multipart(_) => {}
        }
    }
}

/// Reads a calendar part, unless the same text byte for byte was read before (inline and as
/// `invite.ics`). `seen` holds the texts read so far: comparing is exact. A text already owned
/// (decoded by [`decode_bodies`] or from another charset) is moved in, where it used to be
/// copied; a borrowed one is copied once, and only when it is new.
fn add_calendar(out: &mut Loaded, seen: &mut Vec<String>, text: Cow<'_, str>) {
    if seen.iter().any(|s| *s == *text) {
        return;
    }
    if let Some(cal) = ics::parse(&text) {
        // The same event inline and as an .ics attachment: read it once.
        if !out.calendars.contains(&cal) {
            out.calendars.push(cal);
        }
    }
    seen.push(text.into_owned());
}

/// A bare body: `.ics`, HTML or plain text, in whatever charset and transfer encoding it came.
/// The input is read where it lies (a UTF-8 input is only validated) and copied once, at the
/// end, into the document's text; a calendar is parsed from it without any copy.
fn add_bare_body(out: &mut Loaded, bytes: &[u8]) {
    let mut text = decode_bytes_cow(bytes);
    if let Some(strings) = json::strings(&text) {
        for s in strings {
            add_bare_body(out, s.as_bytes());
        }
        return;
    }
    for s in json::escaped_strings(&text).into_iter().flatten() {
        add_bare_body(out, s.as_bytes());
    }
    // A calendar is never quoted-printable as a whole; its "UNTIL=2024…" and an HTML
    // description's line ending in "href=" only look it.
    let mut calendar = has_vcalendar(text.as_bytes());
    if !calendar && looks_quoted_printable(&text) {
        text = Cow::Owned(decode_bytes(&decode_qp(text.as_bytes())));
        calendar = has_vcalendar(text.as_bytes());
    }
    if calendar {
        // The only calendar of the input: nothing to compare it with.
        let cal = ics::parse(&text);
        let read_text = ics::zoom_outside(&text, cal.as_ref());
        out.calendars.extend(cal);
        if !read_text {
            return;
        }
    }
    let kind = if looks_like_html(&text) {
        DocKind::Html
    } else {
        DocKind::Plain
    };
    out.docs.push(Doc {
        kind,
        text: text.into_owned(),
    });
}

/// `text` holds `BEGIN:VCALENDAR`: each `B` found with memchr's vectorised byte search and
/// the rest compared there. A capital B is rare in a body (a few per kilobyte), where
/// `str::contains` runs the scalar two-way search over every byte, and memchr's substring
/// searcher costs more to start than these short bodies take to scan.
fn has_vcalendar(text: &[u8]) -> bool {
    memchr::memchr_iter(b'B', text).any(|i| text[i..].starts_with(b"BEGIN:VCALENDAR"))
}

/// See [`super::mime_baseline`].
pub(crate) fn baseline(bytes: &[u8]) -> bool {
    MessageParser::default().parse(bytes).is_some()
}

/// Header names that only a message (not a pasted invitation) starts with.
const STRONG_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "reply-to",
    "sender",
    "dkim-signature",
    "subject",
];

/// The bytes a header name is made of here: ASCII letters and digits, `-` and `_`.
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

/// True when the input starts with an RFC 5322 header block holding at least one real header.
pub(crate) fn looks_like_message(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(256 * 1024)];
    let mut strong = false;
    let mut lines = 0usize;
    // Line by line, each end found with memchr (a header block can be many kilobytes).
    let mut at = 0;
    let mut first = true;
    while at <= head.len() {
        let rest = &head[at..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        at += end + 1;
        let raw = &rest[..end];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some(&lead) = line.first() else {
            return strong && lines > 0;
        };
        if first {
            first = false;
            if line.starts_with(b"From ") {
                continue; // mbox separator
            }
        }
        if lead == b' ' || lead == b'\t' {
            if lines == 0 {
                return false;
            }
            continue;
        }
        // A name of name bytes, then the line's first colon: one pass instead of a search for
        // the colon and a second pass over the name (a colon is not a name byte).
        let name_len = line.iter().take_while(|&&b| NAME_BYTE[b as usize]).count();
        if name_len == 0 || line.get(name_len) != Some(&b':') {
            return false;
        }
        lines += 1;
        if !strong {
            let name = &line[..name_len];
            strong = STRONG_HEADERS
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(name));
        }
    }
    // Headers only, no body.
    strong && lines > 1
}

pub(super) fn looks_like_html(text: &str) -> bool {
    // Within the first 64 Ki characters, a tag opening ignoring ASCII case. (The same as
    // searching the Unicode-lower-cased text: no non-ASCII character lower-cases into one of
    // these tags, and UTF-8 never hides an ASCII byte inside another character.)
    const TAGS: &[&[u8]] = &[
        b"<br", b"<p>", b"<p ", b"<div", b"<html", b"<a ", b"<td", b"<table", b"<span", b"<body",
        b"</p>",
    ];
    // A tag's name ends at a blank, '/' or '>' (`<br>`, `<br/>`, `<div class=…>`); a Perl
    // mailer's `s/\n/<br\/>\n/g` under a pasted invitation is no tag, and read as HTML
    // its lines would run together.
    let head = super::head_chars(text, 64 * 1024).as_bytes();
    memchr::memchr_iter(b'<', head).any(|i| {
        TAGS.iter().any(|t| {
            head.get(i..i + t.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(t))
                && (t.ends_with(b">")
                    || t.ends_with(b" ")
                    || head
                        .get(i + t.len())
                        .is_none_or(|&c| c == b'/' || c == b'>' || c.is_ascii_whitespace()))
        })
    })
}

/// At least one soft line break and one escape Zoom texts hold (`=3D`, `=E3=`, `=C3=`, `=20`).
fn looks_quoted_printable(text: &str) -> bool {
    let b = text.as_bytes();
    let (mut soft, mut hex) = (false, false);
    for i in memchr::memchr_iter(b'=', b) {
        let rest = &b[i + 1..];
        soft |= rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
        hex |= rest.starts_with(b"3D")
            || rest.starts_with(b"E3=")
            || rest.starts_with(b"C3=")
            || rest.starts_with(b"20");
        if soft && hex {
            return true;
        }
    }
    false
}

/// Quoted-printable decoding for bare bodies pasted still encoded.
pub(crate) fn decode_qp(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'=' {
            let rest = &bytes[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if rest.len() >= 2 {
                let hi = (rest[0] as char).to_digit(16);
                let lo = (rest[1] as char).to_digit(16);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Bytes of unknown charset to text: BOM, UTF-8, an HTML/XML charset declaration, else
/// Windows-1252 (which never fails).
pub(crate) fn decode_bytes(bytes: &[u8]) -> String {
    decode_bytes_cow(bytes).into_owned()
}

/// [`decode_bytes`], lending a text that needs no conversion (UTF-8, or a BOM and UTF-8) back
/// from `bytes` instead of copying it: the caller copies it once, where it keeps it.
fn decode_bytes_cow(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    if let Some(s) = utf8(bytes) {
        return Cow::Borrowed(s);
    }
    if let Some(enc) = declared_charset(bytes) {
        let (text, _, _) = enc.decode(bytes);
        return text;
    }
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    text
}

/// `std::str::from_utf8(bytes).ok()`, validated by encoding_rs: its validator skips ASCII a
/// word at a time and reads multi-byte characters with fewer branches, a third of std's
/// instructions over the fixture bodies. Both accept exactly the well-formed UTF-8 of the
/// Unicode standard (no surrogates, no overlong forms, nothing past U+10FFFF).
fn utf8(bytes: &[u8]) -> Option<&str> {
    match encoding_rs::UTF_8.decode_without_bom_handling_and_without_replacement(bytes)? {
        Cow::Borrowed(s) => Some(s),
        // Not given for UTF-8 (a valid input is lent back as it is); exact all the same.
        Cow::Owned(_) => std::str::from_utf8(bytes).ok(),
    }
}

fn declared_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(8192)];
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let pos = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = &lower[pos + 8..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    encoding_rs::Encoding::for_label(&rest[..end])
}

/// What kind of automated mail a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Automated {
    Bounce,
    AutoReply,
    /// Lists and bulk senders: never answered automatically, but may carry a real invitation.
    Bulk,
}

/// The root headers [`automation_from`] reads, found in one pass over the header list (one
/// `header_raw` call per name converted the name and scanned the whole list each time).
#[derive(Default)]
struct AutoHeaders<'m, 'x> {
    auto_submitted: Option<&'m Header<'x>>,
    /// X-Autoreply, X-Autorespond, X-Autoresponder, in the order they are reported.
    autoreply: [Option<&'m Header<'x>>; 3],
    response_suppress: Option<&'m Header<'x>>,
    precedence: Option<&'m Header<'x>>,
    /// List-Id, -Unsubscribe, -Post, -Help, -Subscribe, -Owner, -Archive, in reporting order.
    list: [Option<&'m Header<'x>>; 7],
    return_path: Option<&'m Header<'x>>,
}

const AUTOREPLY_NAMES: [&str; 3] = ["X-Autoreply", "X-Autorespond", "X-Autoresponder"];
const LIST_NAMES: [&str; 7] = [
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Owner",
    "List-Archive",
];

impl<'m, 'x> AutoHeaders<'m, 'x> {
    /// Each slot holds the last header of its name, as `Message::header_raw` finds it. Names
    /// compare as mail-parser compares them: known names by variant, others ignoring ASCII case.
    fn read(headers: &'m [Header<'x>]) -> Self {
        let mut found = AutoHeaders::default();
        for h in headers {
            let slot = match &h.name {
                HeaderName::AutoSubmitted => &mut found.auto_submitted,
                HeaderName::ListId => &mut found.list[0],
                HeaderName::ListUnsubscribe => &mut found.list[1],
                HeaderName::ListPost => &mut found.list[2],
                HeaderName::ListHelp => &mut found.list[3],
                HeaderName::ListSubscribe => &mut found.list[4],
                HeaderName::ListOwner => &mut found.list[5],
                HeaderName::ListArchive => &mut found.list[6],
                HeaderName::ReturnPath => &mut found.return_path,
                HeaderName::Other(n) => {
                    if n.eq_ignore_ascii_case("Precedence") {
                        &mut found.precedence
                    } else if n.eq_ignore_ascii_case("X-Auto-Response-Suppress") {
                        &mut found.response_suppress
                    } else if let Some(i) = AUTOREPLY_NAMES
                        .iter()
                        .position(|a| n.eq_ignore_ascii_case(a))
                    {
                        &mut found.autoreply[i]
                    } else {
                        continue;
                    }
                }
                _ => continue,
            };
            *slot = Some(h);
        }
        found
    }
}

/// A header's raw value, as `Message::header_raw` gives it (`None` when not UTF-8).
fn raw<'m>(message: &'m Message<'_>, header: Option<&Header<'_>>) -> Option<&'m str> {
    let h = header?;
    let bytes = message
        .raw_message
        .get(h.offset_start as usize..h.offset_end as usize)?;
    std::str::from_utf8(bytes).ok()
}

fn header_text(message: &Message<'_>, header: Option<&Header<'_>>) -> Option<String> {
    raw(message, header).map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// What kind of automated mail `message` is, and why (see [`Envelope::automated`]), given its
/// sender as `first_addr(message.from())` reads it: [`load`] and [`envelope`] read it anyway,
/// so it is not read (trimmed and lower-cased into a new string) a second time here.
fn automation_from(message: &Message<'_>, from: Option<&str>) -> Option<(Automated, String)> {
    let root_is_report = message
        .root_part()
        .content_type()
        .map(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .unwrap_or(false);
    if root_is_report {
        return Some((Automated::Bounce, "multipart/report".into()));
    }
    if let Some(addr) = from {
        let local = addr.split('@').next().unwrap_or("");
        if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
            return Some((Automated::Bounce, format!("sender is {local}")));
        }
    }
    let found = AutoHeaders::read(message.parts.first().map_or(&[], |p| &p.headers[..]));
    if let Some(v) = header_text(message, found.auto_submitted) {
        let lv = v.to_ascii_lowercase();
        if !lv.starts_with("no") {
            let kind = if lv.starts_with("auto-replied") {
                Automated::AutoReply
            } else {
                Automated::Bulk
            };
            return Some((kind, format!("Auto-Submitted: {v}")));
        }
    }
    for (name, h) in AUTOREPLY_NAMES.iter().zip(found.autoreply) {
        if raw(message, h).is_some() {
            return Some((Automated::AutoReply, format!("{name} header")));
        }
    }
    if let Some(subject) = message.subject() {
        let s = subject.trim().to_lowercase();
        let auto_prefixes = [
            "automatic reply",
            "auto reply",
            "auto-reply",
            "autoreply",
            "out of office",
            "out of the office",
            "abwesenheitsnotiz",
            "automatische antwort",
            "respuesta automática",
            "réponse automatique",
            "risposta automatica",
            "resposta automática",
            "自動応答",
            "自动回复",
        ];
        if auto_prefixes.iter().any(|p| s.starts_with(p)) {
            return Some((
                Automated::AutoReply,
                format!("subject \"{}\"", subject.trim()),
            ));
        }
        let bounce_prefixes = [
            "undelivered mail returned to sender",
            "delivery status notification",
            "mail delivery failed",
            "undeliverable:",
            "returned mail:",
            "delivery failure",
        ];
        if bounce_prefixes.iter().any(|p| s.starts_with(p)) {
            return Some((Automated::Bounce, format!("subject \"{}\"", subject.trim())));
        }
    }
    if let Some(v) = header_text(message, found.response_suppress) {
        return Some((Automated::Bulk, format!("X-Auto-Response-Suppress: {v}")));
    }
    if let Some(v) = header_text(message, found.precedence) {
        let lv = v.to_ascii_lowercase();
        if ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| lv.starts_with(p))
        {
            let kind = if lv.starts_with("auto_reply") {
                Automated::AutoReply
            } else {
                Automated::Bulk
            };
            return Some((kind, format!("Precedence: {v}")));
        }
    }
    for (name, h) in LIST_NAMES.iter().zip(found.list) {
        if raw(message, h).is_some() {
            return Some((Automated::Bulk, format!("{name} header (mailing list)")));
        }
    }
    if let Some(rp) = raw(message, found.return_path) {
        let rp: String = rp.chars().filter(|c| !c.is_whitespace()).collect();
        if rp == "<>" {
            return Some((Automated::Bounce, "empty Return-Path (<>)".into()));
        }
    }
    None
}

fn first_addr(addr: Option<&Address<'_>>) -> Option<(String, Option<String>)> {
    let a = addr?.first()?;
    let email = a.address()?.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    Some((email, a.name().map(|n| n.trim().to_owned())))
}

fn push_addrs(out: &mut Vec<String>, addr: Option<&Address<'_>>) {
    if let Some(addr) = addr {
        for a in addr.iter() {
            if let Some(e) = a.address() {
                push_bare(out, e);
            }
        }
    }
}

fn push_bare(out: &mut Vec<String>, raw: &str) {
    let e = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if e.is_empty() || !e.contains('@') {
        return;
    }
    let e = e.to_lowercase();
    if !out.contains(&e) {
        out.push(e);
    }
}

fn strip_angle(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    match value {
        Some(HeaderValue::Text(t)) => vec![strip_angle(t)],
        Some(HeaderValue::TextList(l)) => l.iter().map(|t| strip_angle(t)).collect(),
        _ => Vec::new(),
    }
}

/// See [`super::text_of_message`]. Bounded like every parse here: the conversation reader
/// runs it on replies strangers send.
pub(crate) fn text_of_message(raw: &[u8]) -> String {
    parse_bounded(&MessageParser::default(), raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

/// See [`super::envelope`].
pub(crate) fn envelope(bytes: &[u8]) -> Envelope {
    if !looks_like_message(bytes) {
        return Envelope::default();
    }
    let Some(message) = parse_bounded(&MessageParser::default(), bytes) else {
        return Envelope::default();
    };
    let (from, from_name) = match first_addr(message.from()) {
        Some((a, n)) => (Some(a), n.filter(|n| !n.is_empty())),
        None => (None, None),
    };
    let mut recipients = Vec::new();
    push_addrs(&mut recipients, message.to());
    push_addrs(&mut recipients, message.cc());
    for name in ["Delivered-To", "X-Original-To"] {
        for v in message.header_values(name) {
            match v {
                HeaderValue::Text(t) => push_bare(&mut recipients, t),
                HeaderValue::TextList(l) => l.iter().for_each(|t| push_bare(&mut recipients, t)),
                HeaderValue::Address(a) => push_addrs(&mut recipients, Some(a)),
                _ => {}
            }
        }
    }
    let in_reply_to = ids(Some(message.in_reply_to())).into_iter().next();
    let automated = automation_from(&message, from.as_deref()).map(|(_, reason)| reason);
    Envelope {
        from,
        from_name,
        reply_to: first_addr(message.reply_to()).map(|(a, _)| a),
        recipients,
        message_id: message.message_id().map(strip_angle),
        subject: message.subject().map(|s| s.trim().to_owned()),
        in_reply_to,
        references: ids(Some(message.references())),
        automated,
    }
}

/// The implementations replaced for speed, kept as the reference the tests compare with.
#[cfg(test)]
mod old {
    use super::{
        declared_charset, decode_qp, first_addr, ics, looks_like_html, looks_quoted_printable,
        Automated, Doc, DocKind, Loaded, NotAnInvitation, MAX_DEPTH, STRONG_HEADERS,
    };
    use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
    use std::hash::{Hash, Hasher};

    /// (length, hash) of every calendar text read, so an identical copy is not parsed again.
    type Keys = Vec<(usize, u64)>;

    /// Reads an input into documents, refusing bounces, auto-replies and empty or broken messages.
    pub(super) fn load(bytes: &[u8]) -> Result<Loaded, NotAnInvitation> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(NotAnInvitation::Malformed("the message is empty".into()));
        }
        if !looks_like_message(bytes) {
            let mut loaded = Loaded::default();
            add_bare_body(&mut loaded, bytes);
            return Ok(loaded);
        }
        let message = MessageParser::default().parse(bytes).ok_or_else(|| {
            NotAnInvitation::Malformed("the MIME structure cannot be read".into())
        })?;
        if let Some((kind, reason)) = automation(&message) {
            match kind {
                Automated::Bounce => {
                    return Err(NotAnInvitation::NotInvitation(format!(
                        "a delivery failure report (bounce): {reason}"
                    )))
                }
                Automated::AutoReply => {
                    return Err(NotAnInvitation::NotInvitation(format!(
                        "an automatic reply: {reason}"
                    )))
                }
                Automated::Bulk => {}
            }
        }
        let mut loaded = Loaded {
            from: first_addr(message.from()).map(|(a, _)| a),
            subject: message.subject().map(str::to_owned),
            ..Loaded::default()
        };
        walk(&message, &mut loaded, &mut Vec::new(), 0);
        if loaded.docs.is_empty() && loaded.calendars.is_empty() {
            return Err(NotAnInvitation::Malformed(
                "the message has no readable text body".into(),
            ));
        }
        Ok(loaded)
    }

    fn walk(message: &Message<'_>, out: &mut Loaded, keys: &mut Keys, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for part in &message.parts {
            let (ctype, subtype) = match part.content_type() {
                Some(ct) => (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("").to_ascii_lowercase(),
                ),
                None => ("text".to_owned(), "plain".to_owned()),
            };
            let name = part
                .attachment_name()
                .map(|n| n.to_ascii_lowercase())
                .unwrap_or_default();
            let is_calendar = subtype == "calendar"
                || subtype == "ics"
                || subtype == "x-vcalendar"
                || name.ends_with(".ics")
                || name.ends_with(".vcs");
            match &part.body {
                PartType::Text(t) if t.trim().is_empty() => {}
                PartType::Html(h) if h.trim().is_empty() => {}
                PartType::Text(t) => {
                    if is_calendar {
                        add_calendar(out, keys, t);
                    } else if ctype == "text" && (subtype == "plain" || subtype.is_empty()) {
                        out.docs.push(Doc {
                            kind: DocKind::Plain,
                            text: t.to_string(),
                        });
                    } else if subtype == "html" {
                        out.docs.push(Doc {
                            kind: DocKind::Html,
                            text: t.to_string(),
                        });
                    } else if ctype == "text" && subtype != "rfc822-headers" {
                        // text/markdown, text/enriched, text/x-*: read as plain text.
                        out.docs.push(Doc {
                            kind: DocKind::Plain,
                            text: t.to_string(),
                        });
                    }
                }
                PartType::Html(h) => out.docs.push(Doc {
                    kind: DocKind::Html,
                    text: h.to_string(),
                }),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    if is_calendar {
                        add_calendar(out, keys, &decode_bytes(b));
                    } else if name.ends_with(".eml") {
                        if let Some(inner) = MessageParser::default().parse(b.as_ref()) {
                            walk(&inner, out, keys, depth + 1);
                        }
                    }
                }
                PartType::Message(m) => walk(m, out, keys, depth + 1),
                PartType::Multipart(_) => {}
            }
        }
    }

    fn add_calendar(out: &mut Loaded, keys: &mut Keys, text: &str) {
        // A calendar sent twice byte for byte (inline and as `invite.ics`) is read once.
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            (text.len(), h.finish())
        };
        if keys.contains(&key) {
            return;
        }
        keys.push(key);
        if let Some(cal) = ics::parse(text) {
            // The same event inline and as an .ics attachment: read it once.
            if !out.calendars.contains(&cal) {
                out.calendars.push(cal);
            }
        }
    }

    /// A bare body: `.ics`, HTML or plain text, in whatever charset and transfer encoding it came.
    fn add_bare_body(out: &mut Loaded, bytes: &[u8]) {
        let mut text = decode_bytes(bytes);
        if let Some(strings) = super::json::strings(&text) {
            for s in strings {
                add_bare_body(out, s.as_bytes());
            }
            return;
        }
        for s in super::json::escaped_strings(&text).into_iter().flatten() {
            add_bare_body(out, s.as_bytes());
        }
        let mut calendar = text.contains("BEGIN:VCALENDAR");
        if !calendar && looks_quoted_printable(&text) {
            text = decode_bytes(&decode_qp(text.as_bytes()));
            calendar = text.contains("BEGIN:VCALENDAR");
        }
        if calendar {
            add_calendar(out, &mut Vec::new(), &text);
            if !ics::zoom_outside(&text, ics::parse(&text).as_ref()) {
                return;
            }
        }
        let kind = if looks_like_html(&text) {
            DocKind::Html
        } else {
            DocKind::Plain
        };
        out.docs.push(Doc { kind, text });
    }

    /// Bytes of unknown charset to text: BOM, UTF-8, an HTML/XML charset declaration, else
    /// Windows-1252 (which never fails).
    pub(super) fn decode_bytes(bytes: &[u8]) -> String {
        if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
            let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
            return text.into_owned();
        }
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_owned();
        }
        if let Some(enc) = declared_charset(bytes) {
            let (text, _, _) = enc.decode(bytes);
            return text.into_owned();
        }
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
        text.into_owned()
    }

    /// True when the input starts with an RFC 5322 header block holding at least one real header.
    pub(super) fn looks_like_message(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(256 * 1024)];
        let mut strong = false;
        let mut lines = 0usize;
        // Line by line, each end found with memchr (a header block can be many kilobytes).
        let mut at = 0;
        for i in 0.. {
            if at > head.len() {
                break;
            }
            let end = memchr::memchr(b'\n', &head[at..]).map_or(head.len(), |e| at + e);
            let raw = &head[at..end];
            at = end + 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                return strong && lines > 0;
            }
            if i == 0 && line.starts_with(b"From ") {
                continue; // mbox separator
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if lines == 0 {
                    return false;
                }
                continue;
            }
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                return false;
            };
            let name = &line[..colon];
            if name.is_empty()
                || !name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            {
                return false;
            }
            lines += 1;
            if !strong
                && STRONG_HEADERS
                    .iter()
                    .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
            {
                strong = true;
            }
        }
        // Headers only, no body.
        strong && lines > 1
    }

    fn header_text(message: &Message<'_>, name: &str) -> Option<String> {
        message
            .header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    pub(super) fn automation(message: &Message<'_>) -> Option<(Automated, String)> {
        let root_is_report = message
            .root_part()
            .content_type()
            .map(|ct| {
                ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            })
            .unwrap_or(false);
        if root_is_report {
            return Some((Automated::Bounce, "multipart/report".into()));
        }
        if let Some((addr, _)) = first_addr(message.from()) {
            let local = addr.split('@').next().unwrap_or("");
            if local.eq_ignore_ascii_case("mailer-daemon")
                || local.eq_ignore_ascii_case("postmaster")
            {
                return Some((Automated::Bounce, format!("sender is {local}")));
            }
        }
        if let Some(v) = header_text(message, "Auto-Submitted") {
            let lv = v.to_ascii_lowercase();
            if !lv.starts_with("no") {
                let kind = if lv.starts_with("auto-replied") {
                    Automated::AutoReply
                } else {
                    Automated::Bulk
                };
                return Some((kind, format!("Auto-Submitted: {v}")));
            }
        }
        for name in ["X-Autoreply", "X-Autorespond", "X-Autoresponder"] {
            if message.header_raw(name).is_some() {
                return Some((Automated::AutoReply, format!("{name} header")));
            }
        }
        if let Some(subject) = message.subject() {
            let s = subject.trim().to_lowercase();
            let auto_prefixes = [
                "automatic reply",
                "auto reply",
                "auto-reply",
                "autoreply",
                "out of office",
                "out of the office",
                "abwesenheitsnotiz",
                "automatische antwort",
                "respuesta automática",
                "réponse automatique",
                "risposta automatica",
                "resposta automática",
                "自動応答",
                "自动回复",
            ];
            if auto_prefixes.iter().any(|p| s.starts_with(p)) {
                return Some((
                    Automated::AutoReply,
                    format!("subject \"{}\"", subject.trim()),
                ));
            }
            let bounce_prefixes = [
                "undelivered mail returned to sender",
                "delivery status notification",
                "mail delivery failed",
                "undeliverable:",
                "returned mail:",
                "delivery failure",
            ];
            if bounce_prefixes.iter().any(|p| s.starts_with(p)) {
                return Some((Automated::Bounce, format!("subject \"{}\"", subject.trim())));
            }
        }
        if let Some(v) = header_text(message, "X-Auto-Response-Suppress") {
            return Some((Automated::Bulk, format!("X-Auto-Response-Suppress: {v}")));
        }
        if let Some(v) = header_text(message, "Precedence") {
            let lv = v.to_ascii_lowercase();
            if ["bulk", "junk", "list", "auto_reply"]
                .iter()
                .any(|p| lv.starts_with(p))
            {
                let kind = if lv.starts_with("auto_reply") {
                    Automated::AutoReply
                } else {
                    Automated::Bulk
                };
                return Some((kind, format!("Precedence: {v}")));
            }
        }
        for name in [
            "List-Id",
            "List-Unsubscribe",
            "List-Post",
            "List-Help",
            "List-Subscribe",
            "List-Owner",
            "List-Archive",
        ] {
            if message.header_raw(name).is_some() {
                return Some((Automated::Bulk, format!("{name} header (mailing list)")));
            }
        }
        if let Some(rp) = message.header_raw("Return-Path") {
            let rp: String = rp.chars().filter(|c| !c.is_whitespace()).collect();
            if rp == "<>" {
                return Some((Automated::Bounce, "empty Return-Path (<>)".into()));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixture input as raw bytes (charsets matter here), the lossy texts of
    /// `fixture_texts()`, the shared corpus when it is there, and hand-made edge cases; each
    /// also with CRLF line ends.
    fn inputs() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out: Vec<Vec<u8>> = Vec::new();
        for dir in ["fixtures/invitations", "../shared/corpus/invitations"] {
            if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
                let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                paths.sort();
                out.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
            }
        }
        out.extend(
            super::super::fixture_texts()
                .into_iter()
                .map(String::into_bytes),
        );
        let cal = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:u1\nSEQUENCE:1\nSUMMARY:Sync\nLOCATION:https://zoom.us/j/81234567890\nEND:VEVENT\nEND:VCALENDAR\n";
        let cal2 = cal.replace("UID:u1", "UID:u2");
        let edge: Vec<String> = vec![
            String::new(),
            " \n\t".into(),
            "From: a@x.example\nSubject: s\n\nbody https://zoom.us/j/1\n".into(),
            "From: a@x.example\nList-Id: <l.x>\nSubject: s\n\nbody\n".into(),
            "From: a@x.example\nLIST-ARCHIVE: <l.x>\nlist-post: <l.x>\n\nbody\n".into(),
            "From: a@x.example\nAuto-Submitted: no\nAuto-Submitted: Auto-Replied\n\nbody\n".into(),
            "From: a@x.example\nAuto-Submitted: auto-generated  (x)\n\nbody\n".into(),
            "From: a@x.example\nAuto-Submitted: No\n\nbody\n".into(),
            "From: a@x.example\nX-AUTORESPONDER: yes\nx-autoreply: 1\n\nbody\n".into(),
            "From: a@x.example\nX-Auto-Response-Suppress: All\n\nbody\n".into(),
            "From: a@x.example\nPRECEDENCE: Auto_Reply\n\nbody\n".into(),
            "From: a@x.example\nPrecedence: junk\nPrecedence: normal\n\nbody\n".into(),
            "From: a@x.example\nReturn-Path: < >\n\nbody\n".into(),
            "From: a@x.example\nReturn-Path: <>\nReturn-Path: <b@x.example>\n\nbody\n".into(),
            "From: MAILER-DAEMON@x.example\n\nbody\n".into(),
            "From: a@x.example\nSubject: Réponse automatique: absent\n\nbody\n".into(),
            "From: a@x.example\nSubject: =?utf-8?q?Out_of_Office?=\n\nbody\n".into(),
            "From: a@x.example\nSubject: Returned mail: x\n\nbody\n".into(),
            "From: a@x.example\nContent-Type: multipart/REPORT; boundary=b\n\n--b\n\nx\n--b--\n".into(),
            format!("From: a@x.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: TEXT/Calendar\n\n{cal}\n--b\nContent-Type: application/octet-stream; name=INVITE.ICS\nContent-Transfer-Encoding: base64\n\nQkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFSDQo=\n--b\nContent-Type: application/ics; name=a.ics\n\n{cal}\n--b\nContent-Type: text/calendar\n\n{cal2}\n--b--\n"),
            "From: a@x.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: Text/HTML\n\n<p>hi</p>\n--b\nContent-Type: text/rfc822-headers\n\nX: y\n--b\nContent-Type: text/x-markdown\n\n# hi\n--b\nContent-Type: application/pdf; name=a.pdf\n\nxx\n--b\nContent-Type: application/octet-stream; name=FWD.EML\n\nFrom: c@x.example\nSubject: inner\n\ninner body\n--b\nContent-Type: text/plain; name=fwd.eml\nContent-Disposition: attachment; filename=fwd.eml\n\nFrom: d@x.example\n\ninner two\n--b\nContent-Type: message/rfc822\n\nFrom: e@x.example\nContent-Type: text/plain\n\nnested\n--b--\n".into(),
            "From: a@x.example\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nJ=C3=9CRGEN\n".into(),
            "Topic: x\nTime: y\n".into(),
            "<DIV>Join</DIV> caf\u{e9}".into(),
            "Join=\nhttps://zoom.us/j/1?pwd=3Dab =C3=A9\n".into(),
            format!("\u{feff}{cal}"),
        ];
        out.extend(edge.into_iter().map(String::into_bytes));
        out.push(
            b"From: a@x.example\nX-Autoreply: \xff\xfe\nList-Id: ok\n\ncaf\xe9 <br>\n".to_vec(),
        );
        out.push(b"<html><meta charset=\"iso-8859-1\">caf\xe9</html>".to_vec());
        out.push("Join: 会議 https://zoom.us/j/1".as_bytes()[..12].to_vec());
        let crlf: Vec<Vec<u8>> = out
            .iter()
            .map(|b| {
                let lf = String::from_utf8_lossy(b).replace("\r\n", "\n");
                lf.replace('\n', "\r\n").into_bytes()
            })
            .collect();
        out.extend(crlf);
        out
    }

    #[test]
    fn load_matches_old() {
        for b in inputs() {
            assert_eq!(
                format!("{:?}", load(&b)),
                format!("{:?}", old::load(&b)),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
    }

    #[test]
    fn a_tag_name_ends_at_a_blank_a_slash_or_a_bracket() {
        for html in [
            "a<br>b",
            "a<BR/>b",
            "a<br />b",
            "<div\tclass=x>",
            "x<td",
            "<a href=y>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in [
            "$body =~ s/\n/<br\\/>\n/g;",
            "<bring>",
            "<divide>",
            "<a>",
            "<tdx>",
        ] {
            assert!(!looks_like_html(text), "{text}");
        }
    }

    /// Every part, header extent and body the way `load` reads them, and the values of the
    /// headers it reads.
    fn structure(m: &Message<'_>) -> String {
        structure_of(m, true)
    }

    /// [`structure`], with or without the transfer encodings (which [`parse_message`] leaves
    /// unread in the parts it decodes itself).
    fn structure_of(m: &Message<'_>, encodings: bool) -> String {
        let mut s = String::new();
        for part in &m.parts {
            for h in &part.headers {
                s += &format!(
                    "{:?} {} {} {}",
                    h.name, h.offset_field, h.offset_start, h.offset_end
                );
                if matches!(
                    h.name,
                    HeaderName::ContentType
                        | HeaderName::ContentDisposition
                        | HeaderName::From
                        | HeaderName::Subject
                ) || encodings && h.name == HeaderName::ContentTransferEncoding
                {
                    s += &format!(" {:?}", h.value);
                }
                s += "\n";
            }
            s += &format!(
                "{} {} {} {} ",
                part.offset_header, part.offset_body, part.offset_end, part.is_encoding_problem
            );
            if encodings {
                s += &format!("{:?} ", part.encoding);
            }
            match &part.body {
                PartType::Message(inner) => {
                    s += &format!("message {{\n{}}}\n", structure_of(inner, encodings))
                }
                body => s += &format!("{body:?}\n"),
            }
        }
        s
    }

    #[test]
    fn load_parser_reads_what_default_reads() {
        for b in inputs() {
            let default = MessageParser::default().parse(&b[..]);
            let ours = load_parser().parse(&b[..]);
            assert_eq!(
                default.as_ref().map(structure),
                ours.as_ref().map(structure),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
    }

    #[test]
    fn parse_message_reads_what_load_parser_reads() {
        let mut decoded_here = 0;
        for b in inputs() {
            let ours = parse_message(&b[..]);
            let theirs = load_parser().parse(&b[..]);
            assert_eq!(
                ours.as_ref().map(|m| structure_of(m, false)),
                theirs.as_ref().map(|m| structure_of(m, false)),
                "{}",
                String::from_utf8_lossy(&b)
            );
            if let Some(mut m) = raw_body_parser().parse(&b[..]) {
                if decode_bodies(&mut m, b"") {
                    decoded_here += 1;
                }
            }
        }
        // The fallback is for rare shapes: nearly every message is decoded by decode_bodies.
        assert!(decoded_here > 100, "{decoded_here}");
    }

    /// Every string of up to `max_len` bytes over `alphabet`, then 20,000 pseudo-random ones
    /// (shorter than `random_len`) whose bytes `pick` draws from a xorshift sequence.
    fn generated_bodies(
        alphabet: &[u8],
        max_len: usize,
        random_len: u64,
        mut seed: u64,
        pick: impl Fn(u64) -> u8,
    ) -> Vec<Vec<u8>> {
        let mut bodies = Vec::new();
        for len in 0..=max_len {
            let mut idx = vec![0usize; len];
            loop {
                bodies.push(idx.iter().map(|&i| alphabet[i]).collect());
                let mut k = 0;
                while k < len {
                    idx[k] += 1;
                    if idx[k] < alphabet.len() {
                        break;
                    }
                    idx[k] = 0;
                    k += 1;
                }
                if k == len {
                    break;
                }
            }
        }
        for _ in 0..20_000 {
            let len = seed % random_len;
            let mut s = Vec::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(pick(seed));
            }
            bodies.push(s);
        }
        bodies
    }

    /// A decoder's (end, bytes), the bytes dropped where it gives up (they do not matter then).
    fn outcome(end: usize, bytes: &[u8]) -> (usize, Vec<u8>) {
        (
            end,
            if end == usize::MAX {
                Vec::new()
            } else {
                bytes.to_vec()
            },
        )
    }

    /// A transfer decoder over (body, boundary): where it ends, and what it decoded.
    type Decoder = fn(&[u8], &[u8]) -> (usize, Vec<u8>);

    /// `ours` and mail-parser's decoder (`theirs`) agree on every body and boundary.
    fn assert_decoders_agree(
        bodies: &[Vec<u8>],
        boundaries: &[&[u8]],
        ours: Decoder,
        theirs: impl Fn(&[u8], &[u8]) -> (usize, Vec<u8>),
    ) {
        for body in bodies {
            for boundary in boundaries {
                assert_eq!(
                    ours(body, boundary),
                    theirs(body, boundary),
                    "{:?} {:?}",
                    String::from_utf8_lossy(body),
                    String::from_utf8_lossy(boundary)
                );
            }
        }
    }

    /// Over every input and every short string of the bytes the decoder treats apart.
    #[test]
    fn decode_qp_mime_matches_mail_parser() {
        let alphabet = b"=\n\r-A3 \tb\x0cz";
        let mut bodies = inputs();
        bodies.extend(generated_bodies(
            alphabet,
            4,
            40,
            0x2545_f491_4f6c_dd1d,
            |r| alphabet[(r % alphabet.len() as u64) as usize],
        ));
        assert_decoders_agree(
            &bodies,
            &[b"", b"b", b"-b", b"zz", b"=_NextPart", b"b105"],
            decode_qp_mime,
            |body, boundary| {
                let (end, bytes) = MessageStream::new(body).decode_quoted_printable_mime(boundary);
                outcome(end, &bytes)
            },
        );
    }

    /// The copied tables are mail-parser's, and every value in them is either the invalid one
    /// or below 2^24 (what the inner loop of [`decode_base64_mime`] relies on).
    #[test]
    fn base64_tables_are_mail_parsers() {
        use mail_parser::decoders::base64::BASE64_MAP;
        assert_eq!(BASE64_MAP.len(), 4);
        for (ours, theirs) in base64_tables().iter().zip(BASE64_MAP) {
            assert_eq!(&ours[..], *theirs);
            assert!(ours.iter().all(|&v| v == 0x01ff_ffff || v < 1 << 24));
        }
    }

    /// Over every input and every short string of the characters the decoder treats apart,
    /// and random ones with long valid runs.
    #[test]
    fn decode_base64_mime_matches_mail_parser() {
        let alphabet = b"QUJD=\n\r -\tb!";
        let mut bodies = inputs();
        bodies.extend(generated_bodies(
            alphabet,
            5,
            48,
            0x9e37_79b9_7f4a_7c15,
            |r| {
                // Mostly valid characters, so long valid runs occur.
                let r = r % 64;
                if r < 48 {
                    b"QUJDRUZHSElK"[(r % 12) as usize]
                } else {
                    alphabet[(r % alphabet.len() as u64) as usize]
                }
            },
        ));
        assert_decoders_agree(
            &bodies,
            &[b"", b"b", b"-b", b"QU", b"b105"],
            decode_base64_mime,
            |body, boundary| {
                let (end, bytes) = MessageStream::new(body).decode_base64_mime(boundary);
                outcome(end, &bytes)
            },
        );
    }

    /// Messages nested tens of thousands deep (1.5 MB of `Content-Type: message/rfc822`
    /// lines) are read and dropped on a 2 MiB stack, a tokio worker's; the nesting that is read
    /// still is: a link three levels down is found, one past MAX_DEPTH is not.
    #[test]
    fn deep_nesting_fits_a_small_stack() {
        let nested = |levels: usize, link_at: usize| {
            let mut m = String::from("From: a@x.example\nSubject: s\nMIME-Version: 1.0\n");
            for level in 0..levels {
                if level == link_at {
                    m.push_str("Content-Type: multipart/mixed; boundary=b\n\n--b\n");
                    m.push_str("Content-Type: text/plain\n\nhttps://zoom.us/j/81234567890\n--b\n");
                }
                m.push_str("Content-Type: message/rfc822\n\n");
            }
            m.push_str("Content-Type: text/plain\n\nhello\n");
            m.into_bytes()
        };
        let run = move || {
            for (levels, link_at) in [(50_000, 3), (50_000, MAX_DEPTH + 1), (3, 1)] {
                let b = nested(levels, link_at);
                let loaded = load(&b);
                let found = loaded
                    .as_ref()
                    .is_ok_and(|l| l.docs.iter().any(|d| d.text.contains("zoom.us/j/")));
                assert_eq!(
                    found,
                    link_at <= MAX_DEPTH,
                    "{levels} levels, link at {link_at}"
                );
                assert_eq!(envelope(&b).from.as_deref(), Some("a@x.example"));
                // Only the nesting read is kept; the text part is deeper than that.
                let _ = text_of_message(&b);
            }
        };
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(run)
            .expect("test thread")
            .join()
            .expect("no stack overflow, no panic");
    }

    /// Damaged copies of every message: cut, a byte replaced by one the MIME and transfer
    /// decoders treat apart, a piece doubled. Where the new decoding path could part from
    /// mail-parser's, it is on inputs like these.
    #[test]
    fn load_matches_old_on_damaged_messages() {
        let messages: Vec<Vec<u8>> = inputs()
            .into_iter()
            .filter(|b| looks_like_message(b))
            .collect();
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let specials = b"=-\n\r \t:;\"AZ09/+.";
        for m in &messages {
            for _ in 0..60 {
                let mut b = m.clone();
                let at = (next() % b.len().max(1) as u64) as usize;
                match next() % 4 {
                    0 => b.truncate(at),
                    1 => {
                        if let Some(x) = b.get_mut(at) {
                            *x = specials[(next() % specials.len() as u64) as usize];
                        }
                    }
                    2 => {
                        let end = (at + (next() % 40) as usize).min(b.len());
                        let piece = b[at..end].to_vec();
                        b.splice(at..at, piece);
                    }
                    _ => {
                        let ins: &[u8] =
                            [&b"=="[..], b"--", b"=\r\n", b"=4", b"\n--"][(next() % 5) as usize];
                        b.splice(at..at, ins.iter().copied());
                    }
                }
                assert_eq!(
                    format!("{:?}", load(&b)),
                    format!("{:?}", old::load(&b)),
                    "{}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }

    /// Byte strings UTF-8 validation treats apart: every string of up to three bytes over the
    /// lead, continuation and invalid bytes, then random mixes of those and whole characters
    /// (ASCII, 2, 3 and 4 bytes, full-width), and cuts of the multi-byte fixtures.
    fn utf8_edge_bytes() -> Vec<Vec<u8>> {
        let alphabet: &[u8] = &[
            b'a', b'\n', 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
            0xff, 0x9f, 0xa0,
        ];
        let pieces: [&[u8]; 12] = [
            b"a",
            b"<p>",
            "\u{e9}".as_bytes(),
            "\u{4f1a}".as_bytes(),
            "\u{ff1a}".as_bytes(),
            "\u{1f600}".as_bytes(),
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"\xf4\x90\x80\x80",
            b"\xe3\x81",
            b"\xef\xbb\xbf",
            b"\r\n",
        ];
        // Every short string; the 20,000 random ones `generated_bodies` appends are dropped
        // (random strings of whole characters follow instead).
        let mut out = generated_bodies(alphabet, 3, 1, 1, |_| b'a');
        out.truncate(out.len() - 20_000);
        let mut seed = 0x51_7cc1_b727_220au64;
        for _ in 0..20_000 {
            let mut s = Vec::new();
            for _ in 0..seed % 24 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
                if seed.is_multiple_of(7) {
                    // A long ASCII run, so the word-at-a-time paths are taken.
                    s.extend_from_slice(&[b'x'; 40][..(seed % 40) as usize]);
                }
            }
            out.push(s);
        }
        for b in inputs() {
            if !b.is_ascii() {
                out.extend((0..b.len().min(400)).map(|n| b[..n].to_vec()));
            }
        }
        out
    }

    #[test]
    fn utf8_matches_std() {
        for b in utf8_edge_bytes() {
            assert_eq!(utf8(&b), std::str::from_utf8(&b).ok(), "{b:?}");
        }
    }

    #[test]
    fn decode_bytes_matches_the_old_one() {
        let mut all = inputs();
        all.extend(utf8_edge_bytes());
        for extra in [
            &b"\xff\xfeh\x00i\x00"[..],
            b"\xfe\xff\x00h\x00i",
            b"\xef\xbb\xbfcaf\xc3\xa9",
            b"\xef\xbb\xbfcaf\xe9",
            b"<meta charset='shift_jis'>\x82\xa0",
            b"charset=\"koi8-r\" \xc1",
            b"charset=utf-8 caf\xe9",
            b"caf\xe9",
        ] {
            all.push(extra.to_vec());
        }
        for b in all {
            assert_eq!(decode_bytes(&b), old::decode_bytes(&b), "{b:?}");
        }
    }

    /// Bare bodies, read as `load` reads them: every fixture and edge input, cut anywhere in
    /// its first 300 bytes, still quoted-printable or not, with and without a calendar.
    #[test]
    fn load_matches_old_on_bare_bodies() {
        let mut all: Vec<Vec<u8>> = inputs()
            .into_iter()
            .filter(|b| !looks_like_message(b))
            .collect();
        let cuts: Vec<Vec<u8>> = all
            .iter()
            .flat_map(|b| (0..b.len().min(300)).map(move |n| b[..n].to_vec()))
            .collect();
        all.extend(cuts);
        for extra in [
            &b"BEGIN:VCALENDAR"[..],
            b"x BEGIN:VCALENDA",
            b"=3D=\nBEGIN:VCALENDAR\nEND:VCALENDAR\n",
            b"caf=C3=A9 =\n<br>",
            b"caf=E9 =\n<br>",
            b"\xef\xbb\xbf<P>hi",
            b"<html><meta charset=windows-1252>\x80</html>",
            "\u{ff1c}br\u{ff1e} \u{ff1d}3D".as_bytes(),
        ] {
            all.push(extra.to_vec());
        }
        all.extend(utf8_edge_bytes());
        for b in all {
            assert_eq!(
                format!("{:?}", load(&b)),
                format!("{:?}", old::load(&b)),
                "{b:?}"
            );
        }
    }

    #[test]
    fn automation_matches_old() {
        for b in inputs() {
            if let Some(m) = MessageParser::default().parse(&b[..]) {
                let from = first_addr(m.from()).map(|(a, _)| a);
                assert_eq!(
                    automation_from(&m, from.as_deref()),
                    old::automation(&m),
                    "{}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }

    #[test]
    fn looks_like_message_matches_old() {
        let mut all = inputs();
        // Cut every input at every byte of its first 300: header blocks end anywhere.
        let cuts: Vec<Vec<u8>> = all
            .iter()
            .flat_map(|b| (0..b.len().min(300)).map(move |n| b[..n].to_vec()))
            .collect();
        all.extend(cuts);
        for extra in [
            &b"From x\nFrom: a\nX: y\n"[..],
            b" x: y\n\n",
            b"X_Y-1: a\nTo: b\n",
            b"To: b\n",
            b"X: b\n\tcont\nSUBJECT: c\n\n",
            b"Bad Name: x\nFrom: a\n\n",
            b"\xc3\xa9: x\nFrom: a\n\n",
            b":x\nFrom: a\n\n",
        ] {
            all.push(extra.to_vec());
        }
        for b in all {
            assert_eq!(
                looks_like_message(&b),
                old::looks_like_message(&b),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
    }
}
