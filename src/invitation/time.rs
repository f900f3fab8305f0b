//! Dates, times and zones as invitations write them: Zoom's zone display names (English and
//! localized), Google Calendar's "Zone - City" names, Windows and IANA TZIDs, `GMT+h` offsets, and
//! localized date forms ("Mar 15, 2021 06:08 AM", "2020年8月26日 03:00 PM", "20 dic. 2020 05:00
//! p. m.") to an RFC 3339 instant with the zone's DST-correct offset.
//!
//! Must never: read the clock, or make up an offset for a zone it does not know (the start is then
//! `None`).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Zoom's zone display names (from its API's time zone list), localized forms seen in invitations,
/// and the generic names Google Calendar writes, to IANA names.
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("eastern time (us and canada)", "America/New_York"),
    ("central time (us and canada)", "America/Chicago"),
    ("mountain time (us and canada)", "America/Denver"),
    ("pacific time (us and canada)", "America/Los_Angeles"),
    ("atlantic time (canada)", "America/Halifax"),
    ("newfoundland and labrador", "America/St_Johns"),
    ("indiana (east)", "America/Indiana/Indianapolis"),
    ("arizona", "America/Phoenix"),
    ("alaska", "America/Anchorage"),
    ("hawaii", "Pacific/Honolulu"),
    ("midway island, samoa", "Pacific/Midway"),
    ("pago pago", "Pacific/Pago_Pago"),
    ("independent state of samoa", "Pacific/Apia"),
    ("saskatchewan", "America/Regina"),
    ("greenland", "America/Nuuk"),
    ("brasilia", "America/Sao_Paulo"),
    ("buenos aires, georgetown", "America/Argentina/Buenos_Aires"),
    (
        "amsterdam, berlin, rome, stockholm, vienna",
        "Europe/Berlin",
    ),
    ("amsterdam, berlin, rom, stockholm, wien", "Europe/Berlin"),
    ("ámsterdam, berlín, roma, estocolmo, viena", "Europe/Berlin"),
    (
        "amsterdam, berlin, rome, stockholm, vienne",
        "Europe/Berlin",
    ),
    (
        "amsterdam, berlino, roma, stoccolma, vienna",
        "Europe/Berlin",
    ),
    ("amsterdã, berlim, roma, estocolmo, viena", "Europe/Berlin"),
    (
        "amsterdam, berlijn, rome, stockholm, wenen",
        "Europe/Berlin",
    ),
    ("belgrade, bratislava, ljubljana", "Europe/Belgrade"),
    ("sarajevo, skopje, zagreb", "Europe/Sarajevo"),
    ("prague bratislava", "Europe/Prague"),
    ("greenwich mean time", "Etc/GMT"),
    ("universal time utc", "UTC"),
    ("coordinated universal time", "UTC"),
    ("west central africa", "Africa/Lagos"),
    ("harare, pretoria", "Africa/Harare"),
    ("baku, tbilisi, yerevan", "Asia/Baku"),
    ("islamabad, karachi, tashkent", "Asia/Tashkent"),
    ("mumbai, kolkata, new delhi", "Asia/Kolkata"),
    ("india standard time", "Asia/Kolkata"),
    // Google Calendar's name for Manila's zone ("Wed May 5, 2021 10:30am – 12pm Philippine
    // Standard Time", a Gmail snippet of an updated event).
    ("philippine standard time", "Asia/Manila"),
    ("india", "Asia/Kolkata"),
    ("astana, dhaka", "Asia/Dhaka"),
    ("dacca", "Asia/Dhaka"),
    ("vietnam", "Asia/Ho_Chi_Minh"),
    ("beijing, shanghai", "Asia/Shanghai"),
    ("北京,上海", "Asia/Shanghai"),
    ("北京", "Asia/Shanghai"),
    ("上海", "Asia/Shanghai"),
    ("台北", "Asia/Taipei"),
    // Zoom's Chinese "Eastern Time (US and Canada)" ("時間: 2026年6月17日 10:15 下午 東部時間",
    // a Traditional Chinese invitation in a public repository); Europe's eastern time first,
    // which holds the same characters.
    ("歐洲東部時間", "Europe/Bucharest"),
    ("欧洲东部时间", "Europe/Bucharest"),
    ("東部時間", "America/New_York"),
    ("东部时间", "America/New_York"),
    ("香港", "Asia/Hong_Kong"),
    // Zoom's current English name for the zone ("Time: Jan 15, 2024 04:00 PM Hong Kong SAR", a
    // GitHub issue's pasted invitation).
    ("hong kong sar", "Asia/Hong_Kong"),
    ("irkutsk, ulaanbaatar", "Asia/Irkutsk"),
    ("osaka, sapporo, tokyo", "Asia/Tokyo"),
    ("大阪,札幌,東京", "Asia/Tokyo"),
    ("東京", "Asia/Tokyo"),
    ("서울", "Asia/Seoul"),
    ("首尔", "Asia/Seoul"),
    ("москва", "Europe/Moscow"),
    ("canberra, melbourne, sydney", "Australia/Sydney"),
    ("auckland, wellington", "Pacific/Auckland"),
    ("fiji islands, marshall islands", "Pacific/Fiji"),
    ("guam, port moresby", "Pacific/Port_Moresby"),
    ("new caledonia", "Pacific/Noumea"),
    ("solomon islands", "Pacific/Guadalcanal"),
    ("cape verde islands", "Atlantic/Cape_Verde"),
    ("kiev", "Europe/Kyiv"),
    // Zoom's Turkish zone name ("Zaman: 13 Eyl 2024 09:00 ÖÖ İstanbul", a course page): its
    // dotted capital lowercases to "i" and a combining dot, which no IANA city holds.
    ("İstanbul", "Europe/Istanbul"),
    ("киев", "Europe/Kyiv"),
    ("київ", "Europe/Kyiv"),
    // Names that hold a generic one below ("Australian Eastern Time - Sydney", Google
    // Calendar's, is not New York's): before them.
    ("australian eastern time", "Australia/Sydney"),
    ("australian central time", "Australia/Adelaide"),
    ("australian western time", "Australia/Perth"),
    ("mexican pacific time", "America/Mazatlan"),
    // Generic names (Google Calendar writes "Eastern Time - New York", Outlook "Eastern Time").
    ("eastern time", "America/New_York"),
    ("central time", "America/Chicago"),
    ("mountain time", "America/Denver"),
    ("pacific time", "America/Los_Angeles"),
    ("central european time", "Europe/Berlin"),
    ("central european summer time", "Europe/Berlin"),
    ("british summer time", "Europe/London"),
    ("japan standard time", "Asia/Tokyo"),
    ("korean standard time", "Asia/Seoul"),
    ("china standard time", "Asia/Shanghai"),
    ("moscow standard time", "Europe/Moscow"),
    // Localized city names.
    ("roma", "Europe/Rome"),
    ("londres", "Europe/London"),
    ("londra", "Europe/London"),
    ("londen", "Europe/London"),
    ("lissabon", "Europe/Lisbon"),
    ("lisboa", "Europe/Lisbon"),
    ("parís", "Europe/Paris"),
    ("parigi", "Europe/Paris"),
    ("bruselas", "Europe/Brussels"),
    ("brüssel", "Europe/Brussels"),
    ("bruxelles", "Europe/Brussels"),
    ("brussel", "Europe/Brussels"),
    ("wien", "Europe/Vienna"),
    ("viena", "Europe/Vienna"),
    ("zürich", "Europe/Zurich"),
    ("moscú", "Europe/Moscow"),
    // Mexico City's own short name ("Lunes 23 de octubre de 2023" / "11 a 13 horas CDMX", a
    // Mexican university's event app on GitHub).
    ("cdmx", "America/Mexico_City"),
    ("moskau", "Europe/Moscow"),
    ("moscou", "Europe/Moscow"),
    ("tokio", "Asia/Tokyo"),
    ("ciudad de méxico", "America/Mexico_City"),
    ("são paulo", "America/Sao_Paulo"),
    // Zoom's Portuguese name for its "Brasilia" zone.
    ("brasília", "America/Sao_Paulo"),
    ("bogotá", "America/Bogota"),
];

/// Windows zone names (Outlook TZIDs) to IANA.
const WINDOWS_NAMES: &[(&str, &str)] = &[
    ("eastern standard time", "America/New_York"),
    ("central standard time", "America/Chicago"),
    ("mountain standard time", "America/Denver"),
    ("us mountain standard time", "America/Phoenix"),
    ("pacific standard time", "America/Los_Angeles"),
    ("alaskan standard time", "America/Anchorage"),
    ("hawaiian standard time", "Pacific/Honolulu"),
    ("atlantic standard time", "America/Halifax"),
    ("gmt standard time", "Europe/London"),
    ("greenwich standard time", "Atlantic/Reykjavik"),
    ("w. europe standard time", "Europe/Berlin"),
    ("romance standard time", "Europe/Paris"),
    ("central europe standard time", "Europe/Budapest"),
    ("central european standard time", "Europe/Warsaw"),
    ("e. europe standard time", "Europe/Chisinau"),
    ("fle standard time", "Europe/Kyiv"),
    ("gtb standard time", "Europe/Bucharest"),
    ("russian standard time", "Europe/Moscow"),
    ("tokyo standard time", "Asia/Tokyo"),
    ("korea standard time", "Asia/Seoul"),
    ("china standard time", "Asia/Shanghai"),
    ("taipei standard time", "Asia/Taipei"),
    ("singapore standard time", "Asia/Singapore"),
    ("india standard time", "Asia/Kolkata"),
    ("aus eastern standard time", "Australia/Sydney"),
    ("e. south america standard time", "America/Sao_Paulo"),
    ("sa pacific standard time", "America/Bogota"),
    ("central standard time (mexico)", "America/Mexico_City"),
    ("utc", "UTC"),
];

/// Old IANA names to the canonical ones.
const ALIASES: &[(&str, &str)] = &[
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Dacca", "Asia/Dhaka"),
    ("Asia/Katmandu", "Asia/Kathmandu"),
    ("Europe/Kiev", "Europe/Kyiv"),
    // Both names are in the database; "Istanbul" in a Zoom time line found Asia's first.
    ("Asia/Istanbul", "Europe/Istanbul"),
    ("America/Godthab", "America/Nuuk"),
    ("America/Indianapolis", "America/Indiana/Indianapolis"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Etc/Greenwich", "Etc/GMT"),
    ("US/Eastern", "America/New_York"),
    ("US/Central", "America/Chicago"),
    ("US/Mountain", "America/Denver"),
    ("US/Pacific", "America/Los_Angeles"),
];

/// The form display names are compared in: lowercase, `&` spelled "and", CJK commas as ",",
/// whitespace runs as one space (none at the ends or before "," and ")"), each "," followed by
/// exactly one space.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // Pushing to a `String` never fails: `lowercase_into` cannot stop early.
    let _ = lowercase_into(
        s,
        &mut Collapse::new(|c| {
            out.push(c);
            Some(())
        }),
    );
    out
}

/// [`normalize`] into `buf`, without allocating: `None` when the normal form does not fit.
/// Zone texts are a short name ("London", "大阪、札幌、東京"), for which the allocation was a
/// good part of the lookup.
fn normalize_in<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let mut len = 0;
    lowercase_into(
        s,
        &mut Collapse::new(|c| {
            let room = buf.get_mut(len..len + c.len_utf8())?;
            len += c.encode_utf8(room).len();
            Some(())
        }),
    )?;
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// Feeds the lowercase of `s` to `out`, char by char, as `str::to_lowercase` would give it;
/// `None` when `out` stops.
///
/// `str::to_lowercase` lowercases char by char, except that a final capital sigma becomes "ς":
/// only text with a capital sigma takes the whole-string call. ASCII chars lowercase without the
/// case tables, and so do the scripts without case (kana, CJK ideographs, Hangul syllables;
/// [`caseless`]), whose table search cost more than the rest of the work.
fn lowercase_into<P: FnMut(char) -> Option<()>>(s: &str, out: &mut Collapse<P>) -> Option<()> {
    if !s.is_ascii() && s.contains('Σ') {
        return s.to_lowercase().chars().try_for_each(|c| out.feed(c));
    }
    for c in s.chars() {
        if c.is_ascii() {
            out.feed(c.to_ascii_lowercase())?;
        } else if caseless(c) {
            out.feed(c)?;
        } else {
            c.to_lowercase().try_for_each(|c| out.feed(c))?;
        }
    }
    Some(())
}

/// Whether `c` is in a block without case, which `char::to_lowercase` maps to itself (CJK
/// symbols, kana and ideographs, U+3000 to U+9FFF; Hangul syllables); a test checks each char.
fn caseless(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7A3}')
}

/// The rest of [`normalize`] over lowercased chars: `&` spelled "and", CJK commas as ",",
/// whitespace collapsed; the result goes to `push`, which may stop the work by failing.
struct Collapse<P> {
    push: P,
    /// Whitespace was seen since the last char pushed.
    space: bool,
    /// The last char pushed was a ",".
    after_comma: bool,
    /// Something was pushed.
    any: bool,
}

impl<P: FnMut(char) -> Option<()>> Collapse<P> {
    fn new(push: P) -> Self {
        Collapse {
            push,
            space: false,
            after_comma: false,
            any: false,
        }
    }

    #[inline]
    fn feed(&mut self, c: char) -> Option<()> {
        match c {
            '&' => " and ".chars().try_for_each(|c| self.step(c)),
            '、' | '，' | '､' => self.step(','),
            c => self.step(c),
        }
    }

    #[inline]
    fn step(&mut self, c: char) -> Option<()> {
        if c.is_whitespace() {
            self.space = true;
            return Some(());
        }
        if self.space && self.any && c != ',' && c != ')' && !self.after_comma {
            (self.push)(' ')?;
        }
        self.space = false;
        self.after_comma = c == ',';
        self.any = true;
        (self.push)(c)?;
        if self.after_comma {
            (self.push)(' ')?;
        }
        Some(())
    }
}

static DISPLAY: LazyLock<Vec<(String, Tz)>> = LazyLock::new(|| {
    let mut v: Vec<(String, Tz)> = DISPLAY_NAMES
        .iter()
        .filter_map(|(k, z)| Some((normalize(k), z.parse::<Tz>().ok()?)))
        .collect();
    // Longest first, so "indiana (east)" wins over "india".
    v.sort_by_key(|(k, _)| std::cmp::Reverse(k.chars().count()));
    v
});

/// A map from a normalized name, hashed with rustc-hash's Fx hash. The keys are fixed at
/// start-up, so SipHash's resistance to chosen collisions buys nothing there, while hashing the
/// looked-up text with it was a third of a lookup's cost.
type NameMap = HashMap<String, Tz, rustc_hash::FxBuildHasher>;

static DISPLAY_EXACT: LazyLock<NameMap> = LazyLock::new(|| DISPLAY.iter().cloned().collect());

/// Last components of IANA names ("new york" -> America/New_York).
static CITIES: LazyLock<NameMap> = LazyLock::new(|| {
    let mut m = NameMap::default();
    // The first zone of a last name is kept, and the database sorts "Canada/Pacific" before
    // "US/Pacific": the Canadian ones come last, so that "Pacific", "Eastern", "Central" and
    // "Mountain" alone ("- Wednesday April 15, 2022 at 09 AM Pacific", a wiki page) name the
    // United States' zones, as people mean them (the offsets are the same).
    let (canada, rest): (Vec<&Tz>, Vec<&Tz>) =
        (chrono_tz::TZ_VARIANTS.iter()).partition(|tz| tz.name().starts_with("Canada/"));
    for tz in rest.into_iter().chain(canada) {
        let name = tz.name();
        if !name.contains('/') || name.starts_with("Etc/") {
            continue;
        }
        let Some(city) = name.rsplit('/').next() else {
            continue;
        };
        let key = city.replace('_', " ").to_lowercase();
        let canonical = canonical(*tz);
        m.entry(key).or_insert(canonical);
    }
    m
});

fn canonical(tz: Tz) -> Tz {
    ALIASES
        .iter()
        .find(|(old, _)| *old == tz.name())
        .and_then(|(_, new)| new.parse::<Tz>().ok())
        .unwrap_or(tz)
}

/// Whether `hay[at..end]` stands as a word: no ASCII letter or digit glued to it where its own
/// edge is one. A name ending in a CJK character is whole even with Latin text right after it
/// ("大阪、札幌、東京Zoom ミーティングに参加する", a flattened invitation).
fn stands_alone(hay: &str, at: usize, end: usize) -> bool {
    let glued = |a: Option<char>, b: Option<char>| {
        a.zip(b)
            .is_some_and(|(a, b)| a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
    };
    let word = &hay[at..end];
    !glued(hay[..at].chars().last(), word.chars().next())
        && !glued(word.chars().last(), hay[end..].chars().next())
}

fn contains_word(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let at = from + pos;
        let end = at + needle.len();
        if stands_alone(hay, at, end) {
            return true;
        }
        from = at + needle.len().max(1);
        while from < hay.len() && !hay.is_char_boundary(from) {
            from += 1;
        }
        if from >= hay.len() {
            break;
        }
    }
    false
}

/// Every [`DISPLAY`] key, for one search of a text for all of them.
static DISPLAY_SEARCH: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(DISPLAY.iter().map(|(k, _)| k))
        .expect("display name automaton")
});

/// The zone of the first [`DISPLAY`] key (longest first) that [`contains_word`] finds in `n`:
/// one search for every key, each key's occurrences taken left to right without overlap as
/// `contains_word` takes them.
fn first_display_word(n: &str) -> Option<Tz> {
    // (key, end of its last occurrence taken): a handful at most, so a list beats a map.
    let mut chain_end: Vec<(usize, usize)> = Vec::new();
    let mut best: Option<usize> = None;
    for m in DISPLAY_SEARCH.find_overlapping_iter(n) {
        let k = m.pattern().as_usize();
        let from = chain_end
            .iter()
            .find(|(key, _)| *key == k)
            .map_or(0, |(_, end)| *end);
        if m.start() < from || best.is_some_and(|b| b <= k) {
            continue;
        }
        match chain_end.iter_mut().find(|(key, _)| *key == k) {
            Some(entry) => entry.1 = m.end(),
            None => chain_end.push((k, m.end())),
        }
        if stands_alone(n, m.start(), m.end()) {
            best = Some(k);
        }
    }
    best.and_then(|k| DISPLAY.get(k)).map(|(_, tz)| *tz)
}

/// Google Calendar's "<zone name> - <city>" (normalized): the city names an IANA zone exactly,
/// where a name before it may hold another zone's ("Australian Eastern Time - Sydney" holds
/// "Eastern Time").
fn google_city(n: &str) -> Option<Tz> {
    let (_, city) = n.rsplit_once(" - ")?;
    CITIES.get(city.trim()).copied()
}

/// A zone from display text: a Zoom/Google/Outlook name or an IANA city inside it.
pub(crate) fn zone_from_display(text: &str) -> Option<Tz> {
    let mut buf = [0u8; 128];
    let owned;
    let n = match normalize_in(text, &mut buf) {
        Some(n) => n,
        None => {
            owned = normalize(text);
            owned.as_str()
        }
    };
    if n.is_empty() {
        return None;
    }
    // The common case first: the whole remainder is one known name.
    if let Some(tz) = DISPLAY_EXACT.get(n).or_else(|| CITIES.get(n)) {
        return Some(*tz);
    }
    if let Some(tz) = google_city(n) {
        return Some(tz);
    }
    if let Some(tz) = first_display_word(n) {
        return Some(tz);
    }
    for token in n.split([',', '(', ')', '-', '–', '—', '/', '|', ':']) {
        let t = token.trim();
        if t.len() < 3 {
            continue;
        }
        if let Some(tz) = CITIES.get(t) {
            return Some(*tz);
        }
        // "Standard Time - Kolkata": try the last words of a longer token, longest first (the
        // text after each space, which is what joining the split words back would give).
        for (space, _) in t.match_indices(' ') {
            if let Some(tz) = CITIES.get(&t[space + 1..]) {
                return Some(*tz);
            }
        }
    }
    last_resort_zone(text)
}

/// Zone abbreviations people write in their own invitations ("11:00 EDT", "16:00 CET"), in
/// capitals, as a word. Read only when no zone name matched, and only the ones that name one
/// zone: CST (US or China), IST (India, Israel or Ireland), BST, MST (Denver or Phoenix) and the
/// like are left out, and so are two-letter ones ("ET" is French for "and"; [`us_short_zone`]
/// reads those right after a time only).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("CDT", "America/Chicago"),
    ("MDT", "America/Denver"),
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("AKST", "America/Anchorage"),
    ("AKDT", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("CET", "Europe/Berlin"),
    ("CEST", "Europe/Berlin"),
    // German names of the same two ("10:00 Uhr MEZ").
    ("MEZ", "Europe/Berlin"),
    ("MESZ", "Europe/Berlin"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("MSK", "Europe/Moscow"),
    ("SGT", "Asia/Singapore"),
    ("HKT", "Asia/Hong_Kong"),
    // Indonesia's three ("Waktu : 10.00 - 12.00 WIB", a government agency's invitation).
    ("WIB", "Asia/Jakarta"),
    ("WITA", "Asia/Makassar"),
    ("WIT", "Asia/Jayapura"),
    ("AWST", "Australia/Perth"),
    ("ACST", "Australia/Adelaide"),
    ("ACDT", "Australia/Adelaide"),
    ("JST", "Asia/Tokyo"),
    ("KST", "Asia/Seoul"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("NZST", "Pacific/Auckland"),
    ("NZDT", "Pacific/Auckland"),
];

/// The text after a time that can name its zone: up to a " / " or " | " before another time,
/// which gives the same time in other zones ("Jun 11, 2019 12:30 ET / 16:30 UK / 22:00 India",
/// a GitHub issue: India is the last time's zone, not the first's), or a '/' between a word
/// and the next time ("7am Boston/11am London/12pm Berlin", a working group's notes).
fn own_zone_text(rest: &str) -> &str {
    let b = rest.as_bytes();
    let other = memchr::memchr2_iter(b'/', b'|', b).find(|&i| {
        let spaced = i > 0 && b[i - 1] == b' ' && b.get(i + 1) == Some(&b' ') && {
            let j = spaces(rest, i + 1);
            b.get(j).is_some_and(u8::is_ascii_digit) && !rest[..i].trim().is_empty()
        };
        let glued = b[i] == b'/'
            && i > 0
            && b[i - 1].is_ascii_alphabetic()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        spaced || glued
    });
    // '/' and '|' are ASCII: the cut is a char boundary.
    other.map_or(rest, |i| &rest[..i])
}

/// The US zones' two-letter names ("12:30 ET", "10am PT"), read only as the first word after
/// the time, in capitals, and not before a number ("10:00 ET 12:00" is French for "and"). Both
/// Mountain zones say "MT"; Denver's is the one Zoom calls "Mountain Time".
fn us_short_zone(rest: &str) -> Option<Tz> {
    let t = rest.trim_start();
    let word = t.get(..2)?;
    let after = t[2..].trim_start();
    if t[2..].starts_with(|c: char| c.is_alphanumeric())
        || after.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let name = match word {
        "ET" => "America/New_York",
        "CT" => "America/Chicago",
        "MT" => "America/Denver",
        "PT" => "America/Los_Angeles",
        _ => return None,
    };
    name.parse().ok()
}

/// What [`zone_from_display`] tries when no name matched: an IANA name written with a comma
/// for its slash ("03:32 PM America, Los_Angeles", the invitation text of Zoom's API in a public
/// project's sample answer), else a zone abbreviation.
fn last_resort_zone(text: &str) -> Option<Tz> {
    comma_iana(text).or_else(|| abbreviation_zone(text))
}

/// "America, Los_Angeles" (the whole text, trimmed) as America/Los_Angeles.
fn comma_iana(text: &str) -> Option<Tz> {
    let t = text.trim();
    // The area is ASCII letters, so its comma is the first byte that is not one; most texts
    // tried here (a time line's prose) fail on that byte.
    let comma = t.bytes().position(|b| !b.is_ascii_alphabetic())?;
    // ", " is ASCII: both cuts are char boundaries.
    let city = t[comma..].strip_prefix(", ")?;
    if comma == 0 || city.is_empty() || city.contains([' ', ',']) {
        return None;
    }
    format!("{}/{city}", &t[..comma])
        .parse::<Tz>()
        .ok()
        .map(canonical)
}

/// The zone of the first of [`ABBREVIATIONS`] standing as a word in `text`.
pub(crate) fn abbreviation_zone(text: &str) -> Option<Tz> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|w| ABBREVIATIONS.iter().find(|(a, _)| *a == w))
        .and_then(|(_, z)| z.parse().ok())
}

/// A calendar TZID (IANA, Windows, or "(UTC-05:00) Eastern Time (US & Canada)").
pub(crate) fn zone_from_tzid(tzid: &str) -> Option<Tz> {
    let t = tzid.trim().trim_matches('"').trim_start_matches('/');
    if let Ok(tz) = t.parse::<Tz>() {
        return Some(canonical(tz));
    }
    let lower = t.to_lowercase();
    if let Some((_, z)) = WINDOWS_NAMES.iter().find(|(w, _)| *w == lower) {
        return z.parse().ok();
    }
    // "/mozilla.org/20050126_1/America/New_York" style prefixes.
    if let Some(pos) = t.find(|c: char| c.is_ascii_uppercase()) {
        if let Ok(tz) = t[pos..].parse::<Tz>() {
            return Some(canonical(tz));
        }
    }
    zone_from_display(t)
}

/// A local wall-clock time in a zone, DST-correct (the earlier of two in a fold; shifted past a gap).
pub(crate) fn localize(tz: &Tz, naive: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => Some(d.fixed_offset()),
        LocalResult::Ambiguous(a, _) => Some(a.fixed_offset()),
        LocalResult::None => {
            let later = naive.checked_add_signed(chrono::Duration::hours(1))?;
            tz.from_local_datetime(&later)
                .earliest()
                .map(|d| d.fixed_offset())
        }
    }
}

/// What a "Time:" value says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextTime {
    pub start: Option<DateTime<FixedOffset>>,
    pub timezone: Option<String>,
    /// The text says the meeting has no fixed time.
    pub no_fixed: bool,
    /// A date was read (even if no zone could be placed).
    pub has_date: bool,
    /// The wall-clock date and time read, zone or not (a separate time-zone line can place it).
    pub naive: Option<NaiveDateTime>,
}

const NO_FIXED: &[&str] = &[
    "meet anytime",
    "no fixed time",
    "jederzeit",
    "cualquier momento",
    "n'importe quand",
    "à tout moment",
    "qualsiasi momento",
    "qualquer momento",
    "elk gewenst moment",
    "いつでも",
    "随时",
    "隨時",
    "언제든지",
    "в любое время",
];

/// (prefix, month) for month names and abbreviations in the supported languages (Ukrainian's
/// after Russian's: "23 вересня 2026 9:00 AM Київ", Zoom's Ukrainian time line; Turkish last:
/// "13 Eyl 2024 09:00 ÖÖ İstanbul", Zoom's Turkish one).
const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("ene", 1),
    ("gen", 1),
    ("янв", 1),
    ("січ", 1),
    ("feb", 2),
    ("fev", 2),
    ("fév", 2),
    ("фев", 2),
    ("лют", 2),
    ("mar", 3),
    ("mär", 3),
    ("mrz", 3),
    ("mrt", 3),
    ("мар", 3),
    ("бер", 3),
    ("apr", 4),
    ("abr", 4),
    ("avr", 4),
    ("апр", 4),
    ("кві", 4),
    ("may", 5),
    ("mai", 5),
    ("mag", 5),
    ("mei", 5),
    ("мая", 5),
    ("май", 5),
    ("тра", 5),
    ("juin", 6),
    ("jun", 6),
    ("giu", 6),
    ("июн", 6),
    ("чер", 6),
    ("juil", 7),
    ("jul", 7),
    ("lug", 7),
    ("июл", 7),
    ("лип", 7),
    ("aug", 8),
    ("ago", 8),
    ("aoû", 8),
    ("aou", 8),
    ("авг", 8),
    ("сер", 8),
    ("sep", 9),
    ("set", 9),
    ("сен", 9),
    ("вер", 9),
    ("oct", 10),
    ("okt", 10),
    ("ott", 10),
    ("out", 10),
    ("окт", 10),
    ("жов", 10),
    ("nov", 11),
    ("ноя", 11),
    ("лис", 11),
    ("dec", 12),
    ("dez", 12),
    ("déc", 12),
    ("dic", 12),
    ("дек", 12),
    ("гру", 12),
    ("oca", 1),
    ("şub", 2),
    ("nis", 4),
    ("haz", 6),
    ("tem", 7),
    ("ağu", 8),
    ("eyl", 9),
    ("eki", 10),
    ("kas", 11),
    ("ara", 12),
];

/// The month a name starts with (case-insensitively), by [`MONTHS`].
fn month(name: &str) -> Option<u32> {
    // Only the first four lowercase chars can decide (the longest prefix has four); lowercasing
    // char by char gives the same first chars as `str::to_lowercase` (its one context rule, the
    // final sigma, maps to a char no prefix holds).
    //
    // The head is compared as UTF-8 bytes (a char sequence is a prefix of another exactly when
    // its encoding is), first byte first: most entries fail on it without a slice compare.
    // Four chars take 16 bytes at most, so each char has its 4 bytes of room.
    // ASCII chars lowercase without the case tables.
    let mut buf = [0u8; 16];
    let mut len = 0;
    let mut chars = 0;
    let mut push = |c: char| {
        if let Some(room) = buf.get_mut(len..len + 4).filter(|_| chars < 4) {
            len += c.encode_utf8(room).len();
            chars += 1;
        }
    };
    for c in name.chars().take(4) {
        if c.is_ascii() {
            push(c.to_ascii_lowercase());
        } else {
            c.to_lowercase().for_each(&mut push);
        }
    }
    let head = buf.get(..len).unwrap_or_default();
    let first = *head.first()?;
    MONTHS
        .iter()
        .find(|(p, _)| p.as_bytes().first() == Some(&first) && head.starts_with(p.as_bytes()))
        .map(|(_, m)| *m)
}

// The date and time readers below scan by hand what regular expressions described before
// (each reader's doc comment quotes its expression; the tests compare the two on every fixture
// line and generated variants). The expressions ran one after another over the same short text,
// most with capture groups, and cost a fifth of a small invitation's extraction. Each reader
// follows the `regex` crate's semantics exactly: the leftmost match, greedy repetitions, and the
// crate's Unicode classes, which [`class`] reproduces.

/// `\d`: a Unicode decimal digit (only ASCII ones read as numbers, as `str::parse` does).
const DIGIT: u8 = 1;
/// `\p{L}`: a Unicode letter.
const LETTER: u8 = 2;
/// `(?i)\p{L}`: a letter, or a char that case-folds to one (U+0345 folds to "ι").
const LETTER_CI: u8 = 4;
/// `\w`, what `\b` tests: letters, marks, digits, connector punctuation and more.
const WORD: u8 = 8;
/// `\s`: Unicode White_Space, which `char::is_whitespace` also tests.
const SPACE: u8 = 16;

/// The classes of `c` as the `regex` crate's Unicode tables define them: by hand for ASCII and
/// the scripts invitations are written in, by the crate itself for anything else.
///
/// ASCII chars, most of those asked about, go by a table; the rest by [`class_non_ascii`], kept
/// out of line so that this stays a table lookup where it is inlined.
#[inline]
fn class(c: char) -> u8 {
    match ASCII_CLASSES.get(c as usize) {
        Some(k) => *k,
        None => class_non_ascii(c),
    }
}

/// [`class`] for a char beyond ASCII.
#[inline(never)]
fn class_non_ascii(c: char) -> u8 {
    const L: u8 = LETTER | LETTER_CI | WORD;
    match c {
        '\u{FF10}'..='\u{FF19}' => DIGIT | WORD,
        // Latin-1 letters, Latin Extended-A and -B, Cyrillic, hiragana, katakana, CJK
        // ideographs, Hangul syllables, full-width Latin letters (none of them white space, so
        // they are matched before the white space table is searched).
        '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{24F}'
        | '\u{400}'..='\u{481}'
        | '\u{48A}'..='\u{52F}'
        | '\u{3041}'..='\u{3096}'
        | '\u{30A1}'..='\u{30FA}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{FF21}'..='\u{FF3A}'
        | '\u{FF41}'..='\u{FF5A}' => L,
        _ if c.is_whitespace() => SPACE,
        // Dashes, quotes and dots; CJK commas and full stop; full-width punctuation.
        '\u{2010}'..='\u{2027}'
        | '\u{3001}'..='\u{3003}'
        | '\u{FF01}'..='\u{FF0F}'
        | '\u{FF1A}'..='\u{FF20}' => 0,
        _ => class_by_regex(c),
    }
}

/// [`class`] of each ASCII char, by table: the readers ask for ASCII chars most of the time.
const ASCII_CLASSES: [u8; 128] = {
    let mut t = [0; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = match b as u8 {
            b'0'..=b'9' => DIGIT | WORD,
            b'a'..=b'z' | b'A'..=b'Z' => LETTER | LETTER_CI | WORD,
            b'_' => WORD,
            // `char::is_whitespace` on ASCII.
            b' ' | b'\t'..=b'\r' => SPACE,
            _ => 0,
        };
        b += 1;
    }
    t
};

#[cold]
#[inline(never)]
fn class_by_regex(c: char) -> u8 {
    static CLASSES: LazyLock<[(Regex, u8); 5]> = LazyLock::new(|| {
        [
            (r"\A\d\z", DIGIT),
            (r"\A\p{L}\z", LETTER),
            (r"(?i)\A\p{L}\z", LETTER_CI),
            (r"\A\w\z", WORD),
            (r"\A\s\z", SPACE),
        ]
        .map(|(p, bit)| (Regex::new(p).expect("static regex"), bit))
    });
    let mut buf = [0; 4];
    let c = c.encode_utf8(&mut buf);
    CLASSES
        .iter()
        .filter(|(re, _)| re.is_match(c))
        .fold(0, |acc, (_, bit)| acc | bit)
}

/// The char at byte `i` (`None` at the end, or off a char boundary). An ASCII byte is a whole
/// char on a boundary, so it is returned as it is; only other bytes go through the decoder.
fn at(s: &str, i: usize) -> Option<char> {
    match s.as_bytes().get(i) {
        Some(&b) if b.is_ascii() => Some(char::from(b)),
        _ => s.get(i..)?.chars().next(),
    }
}

fn is_at(s: &str, i: usize, bits: u8) -> bool {
    at(s, i).is_some_and(|c| class(c) & bits != 0)
}

/// Whether the char before byte `i` is in `bits`. An ASCII byte before `i` is that char (and
/// puts `i` on a boundary), which spares decoding backwards.
fn char_before_is(s: &str, i: usize, bits: u8) -> bool {
    match i.checked_sub(1).and_then(|j| s.as_bytes().get(j)) {
        Some(&b) if b.is_ascii() => class(char::from(b)) & bits != 0,
        _ => s
            .get(..i)
            .and_then(|b| b.chars().next_back())
            .is_some_and(|c| class(c) & bits != 0),
    }
}

/// `\b` before a word char at `i`: no word char before it. The readers test the char at `i`
/// first: it is cheaper than decoding the one before.
fn word_starts(s: &str, i: usize) -> bool {
    !char_before_is(s, i, WORD)
}

/// `\b` after a word char ending at `i`: no word char at `i`.
fn word_ends(s: &str, i: usize) -> bool {
    !is_at(s, i, WORD)
}

/// Past every `\s` from `i`: ASCII bytes are tested as bytes, others decoded.
fn spaces(s: &str, mut i: usize) -> usize {
    loop {
        match s.as_bytes().get(i) {
            Some(b' ' | b'\t'..=b'\r') => i += 1,
            Some(b) if b.is_ascii() => return i,
            _ => match at(s, i).filter(|c| c.is_whitespace()) {
                Some(c) => i += c.len_utf8(),
                None => return i,
            },
        }
    }
}

/// Past one `\s` at `i`, if there is one.
fn space(s: &str, i: usize) -> usize {
    at(s, i)
        .filter(|c| c.is_whitespace())
        .map_or(i, |c| i + c.len_utf8())
}

/// Past one of `chars` at `i`.
fn one_of(s: &str, i: usize, chars: &[char]) -> Option<usize> {
    at(s, i)
        .filter(|c| chars.contains(c))
        .map(|c| i + c.len_utf8())
}

/// Up to `max` `\d` digits from a position.
struct Digits {
    end: usize,
    count: usize,
    /// `None` when a digit is not ASCII (`str::parse` refuses it).
    value: Option<u32>,
}

/// Reads ASCII digits as bytes (the common case: no decoding, no class lookup); any other
/// byte that starts a char goes through [`class`], as `\d` would test it.
fn digits(s: &str, mut i: usize, max: usize) -> Digits {
    let mut count = 0;
    let mut value = Some(0u32);
    while count < max {
        match s.as_bytes().get(i) {
            Some(&b) if b.is_ascii_digit() => {
                value = value.map(|v| v * 10 + u32::from(b - b'0'));
                i += 1;
                count += 1;
                continue;
            }
            Some(b) if b.is_ascii() => break,
            _ => {}
        }
        let Some(c) = at(s, i).filter(|c| class(*c) & DIGIT != 0) else {
            break;
        };
        // `to_digit` reads ASCII digits only.
        value = value.and_then(|v| Some(v * 10 + c.to_digit(10)?));
        i += c.len_utf8();
        count += 1;
    }
    Digits {
        end: i,
        count,
        value,
    }
}

/// Exactly `n` digits at `i` (`\d{n}`).
fn digits_n(s: &str, i: usize, n: usize) -> Option<Digits> {
    Some(digits(s, i, n)).filter(|d| d.count == n)
}

/// 1 to `n` digits at `i`, as many as there are (`\d{1,n}`).
fn digits_1_to(s: &str, i: usize, n: usize) -> Option<Digits> {
    Some(digits(s, i, n)).filter(|d| d.count > 0)
}

/// The leftmost match of `at` starting at or after `from` and before `to`, with its start.
///
/// `at` is tried only where the byte accepts `first`, which must accept the first byte of every
/// char a match can start with: every reader needs a digit or a letter (or one fixed ASCII
/// letter) first, so a byte test skips most positions without decoding. `to` lets a caller that
/// already holds a match stop where a later one could no longer win.
fn leftmost<T>(
    s: &str,
    from: usize,
    to: usize,
    first: impl Fn(u8) -> bool,
    at: impl Fn(usize) -> Option<T>,
) -> Option<(usize, T)> {
    let bytes = s.get(from..)?.as_bytes();
    let mut k = 0;
    while let Some(b) = bytes.get(k).filter(|_| from + k < to) {
        if first(*b) {
            if let Some(t) = at(from + k) {
                return Some((from + k, t));
            }
        }
        k += 1;
    }
    None
}

/// For [`leftmost`]: a byte that can start `\d`. Beyond ASCII, the only two-byte chars that
/// are digits are the Arabic-Indic and NKo ones (lead bytes 0xD9, 0xDB and 0xDF; a test checks
/// every two-byte char), so Latin, Greek and Cyrillic letters are skipped too; any lead byte of
/// a longer char is tried.
fn digit_start(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, 0xD9 | 0xDB | 0xDF | 0xE0..)
}

/// For [`leftmost`]: a byte that can start `\p{L}`: an ASCII letter or the lead byte of any
/// other char (continuation bytes, from 0x80 to 0xBF, start none).
fn letter_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0xC0
}

/// A date read at some position: its end and the numbers (each `None` when not ASCII).
struct DateAt {
    end: usize,
    year: Option<u32>,
    month: Option<u32>,
    day: Option<u32>,
}

/// `(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?` at `p`.
fn cjk_date_at(s: &str, p: usize) -> Option<DateAt> {
    let y = digits_n(s, p, 4)?;
    let i = one_of(s, spaces(s, y.end), &['年', '년'])?;
    let mo = digits_1_to(s, spaces(s, i), 2)?;
    let i = one_of(s, spaces(s, mo.end), &['月', '월'])?;
    let d = digits_1_to(s, spaces(s, i), 2)?;
    let i = spaces(s, d.end);
    Some(DateAt {
        end: one_of(s, i, &['日', '일']).unwrap_or(i),
        year: y.value,
        month: mo.value,
        day: d.value,
    })
}

/// `\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b` at `p`.
fn iso_date_at(s: &str, p: usize) -> Option<DateAt> {
    if !is_at(s, p, DIGIT) || !word_starts(s, p) {
        return None;
    }
    let y = digits_n(s, p, 4)?;
    let mo = digits_1_to(s, one_of(s, y.end, &['-', '/', '.'])?, 2)?;
    let d = digits_1_to(s, one_of(s, mo.end, &['-', '/', '.'])?, 2)?;
    word_ends(s, d.end).then_some(DateAt {
        end: d.end,
        year: y.value,
        month: mo.value,
        day: d.value,
    })
}

/// A date with a month name: where the name ends, the day and year read.
struct NamedAt {
    name_end: usize,
    end: usize,
    day: Option<u32>,
    year: Option<u32>,
}

/// `(\p{L}{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})` at `p`.
fn mdy_date_at(s: &str, p: usize) -> Option<NamedAt> {
    let mut i = p;
    let mut letters = 0;
    while let Some(c) = at(s, i).filter(|c| class(*c) & LETTER != 0) {
        i += c.len_utf8();
        letters += 1;
    }
    if letters < 3 {
        return None;
    }
    let name_end = i;
    let i = one_of(s, i, &['.']).unwrap_or(i);
    let j = spaces(s, i);
    if j == i {
        return None;
    }
    let d = digits_1_to(s, j, 2)?;
    let mut i = d.end;
    if ["st", "nd", "rd", "th"]
        .iter()
        .any(|x| s.get(i..).is_some_and(|r| r.starts_with(x)))
    {
        i += 2;
    }
    let i = one_of(s, i, &[',']).unwrap_or(i);
    let j = spaces(s, i);
    if j == i {
        return None;
    }
    let y = digits_n(s, j, 4)?;
    Some(NamedAt {
        name_end,
        end: y.end,
        day: d.value,
        year: y.value,
    })
}

/// Past `(?i:de\s+)` at `i`, if it is there.
fn de(s: &str, i: usize) -> usize {
    match s.get(i..i + 2) {
        Some(w) if w.eq_ignore_ascii_case("de") => {
            let j = spaces(s, i + 2);
            if j > i + 2 {
                j
            } else {
                i
            }
        }
        _ => i,
    }
}

/// `(?i)\b(\d{1,2})\.?\s*(?:de\s+)?(\p{L}{3,})\.{0,2},?\s*(?:de\s+)?(\d{4})` at `p`, with the
/// name's range.
fn dmy_date_at(s: &str, p: usize) -> Option<(usize, NamedAt)> {
    if !is_at(s, p, DIGIT) || !word_starts(s, p) {
        return None;
    }
    let d = digits_1_to(s, p, 2)?;
    let i = one_of(s, d.end, &['.']).unwrap_or(d.end);
    // "de" followed by a space can only be the word: as the name it would have two letters.
    let name = de(s, spaces(s, i));
    let mut i = name;
    let mut letters = 0;
    while let Some(c) = at(s, i).filter(|c| class(*c) & LETTER_CI != 0) {
        i += c.len_utf8();
        letters += 1;
    }
    if letters < 3 {
        return None;
    }
    let name_end = i;
    let i = one_of(s, i, &['.']).unwrap_or(i);
    let i = one_of(s, i, &['.']).unwrap_or(i);
    let i = one_of(s, i, &[',']).unwrap_or(i);
    let y = digits_n(s, de(s, spaces(s, i)), 4)?;
    Some((
        name,
        NamedAt {
            name_end,
            end: y.end,
            day: d.value,
            year: y.value,
        },
    ))
}

/// `\b(\d{1,2})([./])(\d{1,2})[./](\d{4})\b` at `p`; the month and day are the numbers in the
/// order written, and whether the first separator is a slash.
fn numeric_date_at(s: &str, p: usize) -> Option<(DateAt, bool)> {
    if !is_at(s, p, DIGIT) || !word_starts(s, p) {
        return None;
    }
    let a = digits_1_to(s, p, 2)?;
    let sep = one_of(s, a.end, &['.', '/'])?;
    let b = digits_1_to(s, sep, 2)?;
    let y = digits_n(s, one_of(s, b.end, &['.', '/'])?, 4)?;
    word_ends(s, y.end).then_some((
        DateAt {
            end: y.end,
            year: y.value,
            month: a.value,
            day: b.value,
        },
        s.get(a.end..sep) == Some("/"),
    ))
}

struct Found {
    start: usize,
    end: usize,
    date: NaiveDate,
}

/// The leftmost date of the forms below. Each form after the first searches only before the
/// best start so far: a match at or after it could not replace it. The named-month form goes
/// second, as it most often matches at the start and spares the digit forms their searches; no
/// two forms can match at the same start (a name starts with a letter, and the digit forms
/// differ in their digit counts or in the char after them), so the order only changes the work.
fn find_date(s: &str, month_first_numeric: bool) -> Option<Found> {
    let mut best: Option<Found> = None;
    let consider = |best: &mut Option<Found>, start: usize, end: usize, date: Option<NaiveDate>| {
        if let Some(date) = date {
            if best.as_ref().is_none_or(|b| start < b.start) {
                *best = Some(Found { start, end, date });
            }
        }
    };
    let to = |best: &Option<Found>| best.as_ref().map_or(s.len(), |b| b.start);
    let ymd =
        |y: Option<u32>, m: Option<u32>, d: Option<u32>| NaiveDate::from_ymd_opt(y? as i32, m?, d?);
    // Only the first match of the year-first forms counts, as with the expressions' `captures`;
    // each needs a literal the text may not hold. An ASCII literal is looked for as a byte (no
    // other char's encoding holds an ASCII byte), which spares decoding the text; none is looked
    // for once a match at the start leaves no room before it.
    if s.contains('年') || s.contains('년') {
        if let Some((p, f)) = leftmost(s, 0, s.len(), digit_start, |p| cjk_date_at(s, p)) {
            consider(&mut best, p, f.end, ymd(f.year, f.month, f.day));
        }
    }
    // Named months: the first match, left to right, that names a month and a real date.
    let mut from = 0;
    // A letter run whose first letter does not start a match has no later letter that does
    // (the same text follows the run), and matches end on a digit: only run starts are tried.
    while let Some((p, f)) = leftmost(s, from, to(&best), letter_start, |p| {
        let run_start = p == from || !char_before_is(s, p, LETTER);
        run_start.then(|| mdy_date_at(s, p)).flatten()
    }) {
        let date = month(&s[p..f.name_end]).and_then(|mo| ymd(f.year, Some(mo), f.day));
        if date.is_some() {
            consider(&mut best, p, f.end, date);
            break;
        }
        from = f.end;
    }
    if to(&best) > 0 && memchr::memchr3(b'-', b'/', b'.', s.as_bytes()).is_some() {
        if let Some((p, f)) = leftmost(s, 0, to(&best), digit_start, |p| iso_date_at(s, p)) {
            consider(&mut best, p, f.end, ymd(f.year, f.month, f.day));
        }
    }
    let mut from = 0;
    while let Some((p, (name, f))) =
        leftmost(s, from, to(&best), digit_start, |p| dmy_date_at(s, p))
    {
        let date = month(&s[name..f.name_end]).and_then(|mo| ymd(f.year, Some(mo), f.day));
        if date.is_some() {
            consider(&mut best, p, f.end, date);
            break;
        }
        from = f.end;
    }
    if to(&best) > 0 && memchr::memchr2(b'.', b'/', s.as_bytes()).is_some() {
        let found = leftmost(s, 0, to(&best), digit_start, |p| numeric_date_at(s, p));
        if let Some((p, (f, slash))) = found {
            let (mo, d) = if slash && month_first_numeric {
                (f.month, f.day)
            } else {
                (f.day, f.month)
            };
            consider(&mut best, p, f.end, ymd(f.year, mo, d));
        }
    }
    best
}

fn is_pm(marker: &str) -> Option<bool> {
    if marker.is_empty() {
        return None;
    }
    // A marker is a Latin "a.m."/"p.m." form or one of the CJK words (none changes in case).
    Some(marker.starts_with(['p', 'P']) || ["午後", "下午", "오후", "ÖS"].contains(&marker))
}

const CJK_MARKERS: [&str; 6] = ["午前", "午後", "上午", "下午", "오전", "오후"];

/// Turkish's markers, öğleden önce / sonra ("09:00 ÖÖ İstanbul", Zoom's Turkish time line):
/// read after a time only, and in these capitals only.
const TURKISH_MARKERS: [&str; 2] = ["ÖÖ", "ÖS"];

/// `(?i)a\.?\s?m\b\.?|p\.?\s?m\b\.?`, and with `cjk` also `|午前|午後|上午|下午|오전|오후|(?-i:ÖÖ|ÖS)`,
/// at `i`: where it ends.
fn marker_at(s: &str, i: usize, cjk: bool) -> Option<usize> {
    if matches!(at(s, i), Some('a' | 'A' | 'p' | 'P')) {
        let j = one_of(s, i + 1, &['.']).unwrap_or(i + 1);
        let j = one_of(s, space(s, j), &['m', 'M'])?;
        return word_ends(s, j).then(|| one_of(s, j, &['.']).unwrap_or(j));
    }
    let rest = s.get(i..)?;
    CJK_MARKERS
        .iter()
        .chain(&TURKISH_MARKERS)
        .find(|m| cjk && rest.starts_with(**m))
        .map(|m| i + m.len())
}

/// The meridiem a range's end gives its start, for a start written without one ("2:00–4:00 PM
/// EST", a datathon's page: two in the afternoon, not in the night): after `from` (where the
/// start's time ends), a dash or "to" and a time with a marker. The start takes the end's
/// meridiem when it is not later on the 12-hour dial ("2:00–4:00 PM"), else the other one
/// ("11:00–1:00 PM" starts in the morning). `hour` is the start's hour as written; over 12 it
/// needs no meridiem.
fn range_meridiem(s: &str, from: usize, hour: u32) -> Option<bool> {
    if !(1..=12).contains(&hour) {
        return None;
    }
    let i = spaces(s, from);
    let rest = s.get(i..)?;
    let dash = ["-", "–", "—", "to ", "TO "]
        .iter()
        .find(|d| rest.starts_with(**d))?;
    let j = spaces(s, i + dash.len());
    let end = colon_time_at(s, j).or_else(|| ampm_time_at(s, j))?;
    let (a, b) = end.marker?;
    let end_pm = is_pm(&s[a..b])?;
    let end_hour = end.hour.filter(|h| (1..=12).contains(h))?;
    Some(if hour % 12 <= end_hour % 12 {
        end_pm
    } else {
        !end_pm
    })
}

/// A time read at some position: hour, minute, the am/pm marker's range, and the end.
struct TimeAt {
    hour: Option<u32>,
    minute: Option<u32>,
    marker: Option<(usize, usize)>,
    end: usize,
}

/// `(?i)(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?|午前|午後|上午|下午|오전|오후|(?-i:ÖÖ|ÖS))?`
/// at `p`.
fn colon_time_at(s: &str, p: usize) -> Option<TimeAt> {
    let h = digits_1_to(s, p, 2)?;
    let m = digits_n(s, one_of(s, h.end, &[':', '：'])?, 2)?;
    let seconds = one_of(s, m.end, &[':', '：']).and_then(|i| digits_n(s, i, 2));
    let i = spaces(s, seconds.map_or(m.end, |sec| sec.end));
    let marker = marker_at(s, i, true).map(|end| (i, end));
    Some(TimeAt {
        hour: h.value,
        minute: m.value,
        marker,
        end: marker.map_or(i, |(_, end)| end),
    })
}

/// `(?i)\b(\d{1,2})\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?)` at `p`.
fn ampm_time_at(s: &str, p: usize) -> Option<TimeAt> {
    if !is_at(s, p, DIGIT) || !word_starts(s, p) {
        return None;
    }
    let h = digits_1_to(s, p, 2)?;
    let i = spaces(s, h.end);
    let end = marker_at(s, i, false)?;
    Some(TimeAt {
        hour: h.value,
        minute: Some(0),
        marker: Some((i, end)),
        end,
    })
}

/// `(?i)\b(\d{1,2})\s?h\s?(\d{2})\b` at `p`.
fn h_time_at(s: &str, p: usize) -> Option<TimeAt> {
    if !is_at(s, p, DIGIT) || !word_starts(s, p) {
        return None;
    }
    let h = digits_1_to(s, p, 2)?;
    let i = one_of(s, space(s, h.end), &['h', 'H'])?;
    let m = digits_n(s, space(s, i), 2)?;
    word_ends(s, m.end).then_some(TimeAt {
        hour: h.value,
        minute: m.value,
        marker: None,
        end: m.end,
    })
}

/// Finds the first time of day in `s`; returns (hour, minute, end offset). As in
/// [`find_date`], each form after the first searches only before the best start so far.
fn find_time(s: &str) -> Option<(u32, u32, usize)> {
    type Best = Option<(usize, u32, u32, usize)>;
    let mut best: Best = None;
    let consider = |best: &mut Best, start: usize, h: u32, m: u32, end: usize| {
        if best.is_none_or(|b| start < b.0) {
            *best = Some((start, h, m, end));
        }
    };
    let to = |best: &Best| best.map_or(s.len(), |b| b.0);
    // A number that is not ASCII reads as 99, which no hour or minute accepts.
    let num = |n: Option<u32>| n.unwrap_or(99);
    // Only each form's first match counts; each needs a literal the text may not hold (looked
    // for as in `find_date`).
    if memchr::memchr(b':', s.as_bytes()).is_some() || s.contains('：') {
        if let Some((p, t)) = leftmost(s, 0, s.len(), digit_start, |p| colon_time_at(s, p)) {
            let mut pm = t.marker.and_then(|(a, b)| is_pm(&s[a..b]));
            if pm.is_none() {
                // A marker written before the time: "午後3:00", "下午 3:00", "오후 3:00".
                let three_back = s[..p].char_indices().rev().nth(2).map_or(0, |(i, _)| i);
                let before = s[three_back..p].trim();
                if let Some(m) = CJK_MARKERS.iter().find(|m| before.ends_with(**m)) {
                    pm = is_pm(m);
                }
            }
            if pm.is_none() {
                pm = range_meridiem(s, t.end, num(t.hour));
            }
            if let Some(h) = to_24h(num(t.hour), pm) {
                consider(&mut best, p, h, num(t.minute), t.end);
            }
        }
    }
    if let Some((p, t)) = leftmost(s, 0, to(&best), digit_start, |p| ampm_time_at(s, p)) {
        let pm = t.marker.and_then(|(a, b)| is_pm(&s[a..b]));
        if let Some(h) = to_24h(num(t.hour), pm) {
            consider(&mut best, p, h, 0, t.end);
        }
    }
    if to(&best) > 0 && memchr::memchr2(b'h', b'H', s.as_bytes()).is_some() {
        if let Some((p, t)) = leftmost(s, 0, to(&best), digit_start, |p| h_time_at(s, p)) {
            let h = num(t.hour);
            if h < 24 {
                consider(&mut best, p, h, num(t.minute), t.end);
            }
        }
    }
    if let Some(d) = dotted_time(s) {
        if best.is_none_or(|b| (d.0..d.3).contains(&b.0)) {
            best = Some(d);
        }
    }
    let (_, h, m, end) = best?;
    (m < 60).then_some((h, m, end))
}

/// A clock time written with a dot, "10.00" or "2.00 PM" (Indonesian and Sri Lankan
/// invitations write them so), as (start, hour, minute, end): one or two digits starting a
/// word, '.', two digits, then neither another digit nor a '.' (so never a date, "22.07.2021"
/// or "3.12."), and the AM or PM after it, if there is one. [`find_time`] takes it only where
/// it found no other time, or one inside it (the "00 PM" of "2.00 PM").
fn dotted_time(s: &str) -> Option<(usize, u32, u32, usize)> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'.', b).find_map(|i| {
        let hour_digits = b[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let start = i.checked_sub(hour_digits)?;
        let minute = b.get(i + 1..i + 3)?;
        let after = b.get(i + 3);
        if !(1..=2).contains(&hour_digits)
            || !word_starts(s, start)
            || matches!(start.checked_sub(1).map(|j| b[j]), Some(b'.' | b':' | b','))
            || !minute.iter().all(u8::is_ascii_digit)
            || after.is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        {
            return None;
        }
        // ASCII digits and '.': every cut is a char boundary.
        let h: u32 = s[start..i].parse().ok()?;
        let m: u32 = s[i + 1..i + 3].parse().ok()?;
        let j = spaces(s, i + 3);
        let (pm, end) = match marker_at(s, j, false) {
            Some(e) => (is_pm(&s[j..e]), e),
            None => (None, i + 3),
        };
        Some((start, to_24h(h, pm)?, m, end)).filter(|_| m < 60)
    })
}

fn to_24h(h: u32, pm: Option<bool>) -> Option<u32> {
    match pm {
        None if h < 24 => Some(h),
        Some(true) if (1..=12).contains(&h) => Some(if h == 12 { 12 } else { h + 12 }),
        Some(false) if (1..=12).contains(&h) => Some(if h == 12 { 0 } else { h }),
        Some(_) if h == 0 => Some(0),
        _ => None,
    }
}

/// `(?i)\b(?:gmt|utc)\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?` at `p`: the sign, hour and
/// minute.
fn gmt_offset_at(s: &str, p: usize) -> Option<(i32, Option<u32>, Option<u32>)> {
    let word = s.get(p..p + 3)?;
    if !(word.eq_ignore_ascii_case("gmt") || word.eq_ignore_ascii_case("utc")) || !word_starts(s, p)
    {
        return None;
    }
    let i = spaces(s, p + 3);
    let sign = at(s, i).filter(|c| matches!(c, '+' | '-' | '−'))?;
    let h = digits_1_to(s, spaces(s, i + sign.len_utf8()), 2)?;
    let with_sep = one_of(s, h.end, &[':', '.']).and_then(|i| digits_n(s, i, 2));
    let minutes = with_sep.or_else(|| digits_n(s, h.end, 2));
    Some((
        if sign == '+' { 1 } else { -1 },
        h.value,
        minutes.map(|m| m.value.unwrap_or(0)),
    ))
}

fn fixed_from_text(s: &str) -> Option<FixedOffset> {
    // "gmt" or "utc" in any case (none of their letters has a non-ASCII case variant).
    if !s
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"gmt") || w.eq_ignore_ascii_case(b"utc"))
    {
        return None;
    }
    let (_, (sign, h, m)) = leftmost(
        s,
        0,
        s.len(),
        |b| matches!(b, b'g' | b'G' | b'u' | b'U'),
        |p| gmt_offset_at(s, p),
    )?;
    let h = h? as i32;
    let m = m.unwrap_or(0) as i32;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// [`NO_FIXED`], for one search of a lowercased text (or of an ASCII text, ignoring ASCII case:
/// the patterns are lowercase, so on lowercased text that finds only exact matches).
static NO_FIXED_SEARCH: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(NO_FIXED)
        .expect("no-fixed-time automaton")
});

/// Whether the lowercased `value` holds a [`NO_FIXED`] phrase (`ascii`: `value` is ASCII, and is
/// searched in place ignoring ASCII case instead of being lowercased).
///
/// Other text is searched as it is first: a phrase found there (ignoring ASCII case) is in its
/// lowercase too, since the phrases' chars lowercase to themselves and `str::to_lowercase`
/// changes no char for its neighbours' sake (the final sigma aside, which no phrase holds). Only
/// when that fails is the text lowercased (for "В ЛЮБОЕ ВРЕМЯ").
fn says_no_fixed(value: &str, ascii: bool) -> bool {
    NO_FIXED_SEARCH.is_match(value)
        || (!ascii && NO_FIXED_SEARCH.is_match(value.to_lowercase().as_str()))
}

/// Whether the lowercased `value` holds "noon" (`ascii`: `value` is ASCII, and is searched in
/// place ignoring ASCII case instead of being lowercased).
fn says_noon(value: &str, ascii: bool) -> bool {
    if ascii {
        value
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"noon"))
    } else {
        value.to_lowercase().contains("noon")
    }
}

/// [`contains_word`] on the lowercase of an ASCII `hay`, without lowercasing it, for a
/// lowercase `needle` that cannot overlap itself ("utc", "gmt"): `contains_word` then tests
/// every occurrence, as this does.
fn ascii_word_ci(hay: &str, needle: &str) -> bool {
    let hay = hay.as_bytes();
    let n = needle.len();
    let not_word = |i: Option<usize>| {
        i.and_then(|i| hay.get(i))
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    hay.windows(n).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(needle.as_bytes())
            && not_word(i.checked_sub(1))
            && not_word(Some(i + n))
    })
}

/// Reads a "Time:"/"When:" value. `month_first_numeric`: read "3/4/2021" as March 4 (English).
pub(crate) fn parse_text_time(value: &str, month_first_numeric: bool) -> TextTime {
    let mut out = TextTime::default();
    // Lowercased only on the paths that read it, and only when not ASCII: the lowercase of ASCII
    // text is its ASCII lowercase, which the searches below compare in place.
    let ascii = value.is_ascii();
    let lower = || value.to_lowercase();
    let Some(date) = find_date(value, month_first_numeric) else {
        out.no_fixed = says_no_fixed(value, ascii);
        return out;
    };
    out.has_date = true;
    let after_date = &value[date.end..];
    let (naive, rest) = match find_time(after_date) {
        Some((h, m, end)) => (date.date.and_hms_opt(h, m, 0), &after_date[end..]),
        None => {
            // A time written before the date ("10:00 AM, 15 March 2021").
            match find_time(&value[..date.start]) {
                Some((h, m, _)) => (date.date.and_hms_opt(h, m, 0), after_date),
                None if says_noon(value, ascii) => (date.date.and_hms_opt(12, 0, 0), after_date),
                None => (None, after_date),
            }
        }
    };
    let Some(naive) = naive else {
        return out;
    };
    out.naive = Some(naive);
    let rest = own_zone_text(rest);
    let zone = zone_from_display(rest)
        .or_else(|| us_short_zone(rest))
        .or_else(|| zone_from_display(&value[..date.start]));
    if let Some(tz) = zone {
        out.start = localize(&tz, naive);
        out.timezone = Some(tz.name().to_owned());
        return out;
    }
    if let Some(off) = fixed_from_text(value) {
        out.start = off.from_local_datetime(&naive).single();
        return out;
    }
    let utc = if ascii {
        ascii_word_ci(value, "utc") || ascii_word_ci(value, "gmt")
    } else {
        let lower = lower();
        contains_word(&lower, "utc") || contains_word(&lower, "gmt")
    };
    if utc {
        out.start = FixedOffset::east_opt(0).and_then(|o| o.from_local_datetime(&naive).single());
        out.timezone = Some("UTC".into());
    }
    out
}

/// The readers as they were before the hand scanners, which the tests compare them with.
#[cfg(test)]
mod old {
    use super::{
        contains_word, localize, TextTime, CITIES, DISPLAY, DISPLAY_EXACT, DISPLAY_SEARCH,
    };
    use super::{MONTHS, NO_FIXED};
    use chrono::{FixedOffset, NaiveDate, TimeZone};
    use chrono_tz::Tz;
    use regex::Regex;
    use std::collections::HashMap;
    use std::sync::LazyLock;

    pub(super) fn normalize(s: &str) -> String {
        let s = s
            .to_lowercase()
            .replace('&', " and ")
            .replace(['、', '，', '､'], ",");
        let mut out = String::with_capacity(s.len());
        let mut space = false;
        for c in s.chars() {
            if c.is_whitespace() {
                space = true;
                continue;
            }
            if space && !out.is_empty() && c != ',' && c != ')' {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
        out.replace(", ", ",").replace(',', ", ")
    }

    /// `contains_word` takes them.
    pub(super) fn first_display_word(n: &str) -> Option<Tz> {
        let mut chain_end: HashMap<usize, usize> = HashMap::new();
        let mut best: Option<usize> = None;
        for m in DISPLAY_SEARCH.find_overlapping_iter(n) {
            let k = m.pattern().as_usize();
            let from = chain_end.get(&k).copied().unwrap_or(0);
            if m.start() < from || best.is_some_and(|b| b <= k) {
                continue;
            }
            chain_end.insert(k, m.end());
            // The word rule is the module's (a later change of it, not of the search).
            if super::stands_alone(n, m.start(), m.end()) {
                best = Some(k);
            }
        }
        best.and_then(|k| DISPLAY.get(k)).map(|(_, tz)| *tz)
    }

    /// A zone from display text: a Zoom/Google/Outlook name or an IANA city inside it.
    pub(super) fn zone_from_display(text: &str) -> Option<Tz> {
        let n = normalize(text);
        if n.is_empty() {
            return None;
        }
        // The common case first: the whole remainder is one known name.
        if let Some(tz) = DISPLAY_EXACT
            .get(n.as_str())
            .or_else(|| CITIES.get(n.as_str()))
        {
            return Some(*tz);
        }
        if let Some(tz) = super::google_city(&n) {
            return Some(tz);
        }
        if let Some(tz) = first_display_word(&n) {
            return Some(tz);
        }
        for token in n.split([',', '(', ')', '-', '–', '—', '/', '|', ':']) {
            let t = token.trim();
            if t.len() < 3 {
                continue;
            }
            if let Some(tz) = CITIES.get(t) {
                return Some(*tz);
            }
            // "Standard Time - Kolkata": try the last words of a longer token.
            let words: Vec<&str> = t.split(' ').collect();
            for k in (1..words.len()).rev() {
                let tail = words[words.len() - k..].join(" ");
                if let Some(tz) = CITIES.get(&tail) {
                    return Some(*tz);
                }
            }
        }
        super::last_resort_zone(text)
    }

    pub(super) fn month(name: &str) -> Option<u32> {
        let n = name.to_lowercase();
        MONTHS
            .iter()
            .find(|(p, _)| n.starts_with(p))
            .map(|(_, m)| *m)
    }

    macro_rules! re {
        ($name:ident, $pat:expr) => {
            static $name: LazyLock<Regex> =
                LazyLock::new(|| Regex::new($pat).expect("static regex"));
        };
    }

    re!(
        DATE_CJK,
        r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?"
    );
    re!(DATE_ISO, r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b");
    re!(
        DATE_MDY,
        r"(\p{L}{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"
    );
    re!(
        DATE_DMY,
        r"(?i)\b(\d{1,2})\.?\s*(?:de\s+)?(\p{L}{3,})\.{0,2},?\s*(?:de\s+)?(\d{4})"
    );
    re!(DATE_NUM, r"\b(\d{1,2})([./])(\d{1,2})[./](\d{4})\b");
    re!(
        TIME_COLON,
        r"(?i)(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?|午前|午後|上午|下午|오전|오후|(?-i:ÖÖ|ÖS))?"
    );
    re!(
        TIME_AMPM,
        r"(?i)\b(\d{1,2})\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
    );
    re!(TIME_H, r"(?i)\b(\d{1,2})\s?h\s?(\d{2})\b");
    re!(
        GMT_OFFSET,
        r"(?i)\b(?:gmt|utc)\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?"
    );

    pub(super) struct Found {
        pub(super) start: usize,
        pub(super) end: usize,
        pub(super) date: NaiveDate,
    }

    pub(super) fn find_date(s: &str, month_first_numeric: bool) -> Option<Found> {
        let mut best: Option<Found> = None;
        let mut consider = |f: Found| {
            if best.as_ref().is_none_or(|b| f.start < b.start) {
                best = Some(f);
            }
        };
        let num = |m: Option<regex::Match<'_>>| m.and_then(|m| m.as_str().parse::<u32>().ok());
        // Each regex below runs only when the text holds a literal every match of it needs.
        if let Some(c) = s
            .contains(['年', '년'])
            .then(|| DATE_CJK.captures(s))
            .flatten()
        {
            if let (Some(y), Some(mo), Some(d), Some(m0)) =
                (num(c.get(1)), num(c.get(2)), num(c.get(3)), c.get(0))
            {
                if let Some(date) = NaiveDate::from_ymd_opt(y as i32, mo, d) {
                    consider(Found {
                        start: m0.start(),
                        end: m0.end(),
                        date,
                    });
                }
            }
        }
        if let Some(c) = s
            .contains(['-', '/', '.'])
            .then(|| DATE_ISO.captures(s))
            .flatten()
        {
            if let (Some(y), Some(mo), Some(d), Some(m0)) =
                (num(c.get(1)), num(c.get(2)), num(c.get(3)), c.get(0))
            {
                if let Some(date) = NaiveDate::from_ymd_opt(y as i32, mo, d) {
                    consider(Found {
                        start: m0.start(),
                        end: m0.end(),
                        date,
                    });
                }
            }
        }
        for c in DATE_MDY.captures_iter(s) {
            let (Some(name), Some(d), Some(y), Some(m0)) =
                (c.get(1), num(c.get(2)), num(c.get(3)), c.get(0))
            else {
                continue;
            };
            if let Some(date) =
                month(name.as_str()).and_then(|mo| NaiveDate::from_ymd_opt(y as i32, mo, d))
            {
                consider(Found {
                    start: m0.start(),
                    end: m0.end(),
                    date,
                });
                break;
            }
        }
        for c in DATE_DMY.captures_iter(s) {
            let (Some(d), Some(name), Some(y), Some(m0)) =
                (num(c.get(1)), c.get(2), num(c.get(3)), c.get(0))
            else {
                continue;
            };
            if let Some(date) =
                month(name.as_str()).and_then(|mo| NaiveDate::from_ymd_opt(y as i32, mo, d))
            {
                consider(Found {
                    start: m0.start(),
                    end: m0.end(),
                    date,
                });
                break;
            }
        }
        if let Some(c) = s
            .contains(['.', '/'])
            .then(|| DATE_NUM.captures(s))
            .flatten()
        {
            if let (Some(a), Some(sep), Some(b), Some(y), Some(m0)) = (
                num(c.get(1)),
                c.get(2),
                num(c.get(3)),
                num(c.get(4)),
                c.get(0),
            ) {
                let (mo, d) = if sep.as_str() == "/" && month_first_numeric {
                    (a, b)
                } else {
                    (b, a)
                };
                if let Some(date) = NaiveDate::from_ymd_opt(y as i32, mo, d) {
                    consider(Found {
                        start: m0.start(),
                        end: m0.end(),
                        date,
                    });
                }
            }
        }
        best
    }

    pub(super) fn is_pm(marker: &str) -> Option<bool> {
        let m = marker.to_lowercase();
        if m.is_empty() {
            return None;
        }
        if m.starts_with('p') || m == "午後" || m == "下午" || m == "오후" || marker == "ÖS"
        {
            Some(true)
        } else {
            Some(false)
        }
    }

    /// Finds the first time of day in `s`; returns (hour, minute, end offset).
    pub(super) fn find_time(s: &str) -> Option<(u32, u32, usize)> {
        let mut best: Option<(usize, u32, u32, usize)> = None;
        let mut consider = |start: usize, h: u32, m: u32, end: usize| {
            if best.is_none_or(|b| start < b.0) {
                best = Some((start, h, m, end));
            }
        };
        // Each regex below runs only when the text holds a literal every match of it needs.
        if let Some(c) = s
            .contains([':', '：'])
            .then(|| TIME_COLON.captures(s))
            .flatten()
        {
            if let (Some(m0), Some(h), Some(mi)) = (c.get(0), c.get(1), c.get(2)) {
                let h: u32 = h.as_str().parse().unwrap_or(99);
                let mi: u32 = mi.as_str().parse().unwrap_or(99);
                let mut pm = c.get(3).and_then(|m| is_pm(m.as_str()));
                if pm.is_none() {
                    // A marker written before the time: "午後3:00", "下午 3:00", "오후 3:00".
                    let before: String = s[..m0.start()]
                        .chars()
                        .rev()
                        .take(3)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let before = before.trim();
                    for marker in ["午前", "午後", "上午", "下午", "오전", "오후"] {
                        if before.ends_with(marker) {
                            pm = is_pm(marker);
                        }
                    }
                }
                if pm.is_none() {
                    // The range's end's meridiem (read by the new code's reader, which the
                    // regexes here never had).
                    pm = super::range_meridiem(s, m0.end(), h);
                }
                if let Some(h) = to_24h(h, pm) {
                    consider(m0.start(), h, mi, m0.end());
                }
            }
        }
        if let Some(c) = TIME_AMPM.captures(s) {
            if let (Some(m0), Some(h), Some(mk)) = (c.get(0), c.get(1), c.get(2)) {
                let h: u32 = h.as_str().parse().unwrap_or(99);
                if let Some(h) = to_24h(h, is_pm(mk.as_str())) {
                    consider(m0.start(), h, 0, m0.end());
                }
            }
        }
        if let Some(c) = s.contains(['h', 'H']).then(|| TIME_H.captures(s)).flatten() {
            if let (Some(m0), Some(h), Some(mi)) = (c.get(0), c.get(1), c.get(2)) {
                let h: u32 = h.as_str().parse().unwrap_or(99);
                let mi: u32 = mi.as_str().parse().unwrap_or(99);
                if h < 24 {
                    consider(m0.start(), h, mi, m0.end());
                }
            }
        }
        if let Some(d) = super::dotted_time(s) {
            if best.is_none_or(|b| (d.0..d.3).contains(&b.0)) {
                best = Some(d);
            }
        }
        let (_, h, m, end) = best?;
        (m < 60).then_some((h, m, end))
    }

    pub(super) fn to_24h(h: u32, pm: Option<bool>) -> Option<u32> {
        match pm {
            None if h < 24 => Some(h),
            Some(true) if (1..=12).contains(&h) => Some(if h == 12 { 12 } else { h + 12 }),
            Some(false) if (1..=12).contains(&h) => Some(if h == 12 { 0 } else { h }),
            Some(_) if h == 0 => Some(0),
            _ => None,
        }
    }

    pub(super) fn fixed_from_text(s: &str) -> Option<FixedOffset> {
        // "gmt" or "utc" in any case (none of their letters has a non-ASCII case variant).
        if !s
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"gmt") || w.eq_ignore_ascii_case(b"utc"))
        {
            return None;
        }
        let c = GMT_OFFSET.captures(s)?;
        let sign = if c.get(1)?.as_str() == "+" { 1 } else { -1 };
        let h: i32 = c.get(2)?.as_str().parse().ok()?;
        let m: i32 = c
            .get(3)
            .map(|m| m.as_str().parse().unwrap_or(0))
            .unwrap_or(0);
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
    }

    /// Reads a "Time:"/"When:" value. `month_first_numeric`: read "3/4/2021" as March 4 (English).
    pub(super) fn parse_text_time(value: &str, month_first_numeric: bool) -> TextTime {
        let mut out = TextTime::default();
        let lower = value.to_lowercase();
        let date = find_date(value, month_first_numeric);
        if date.is_none() {
            out.no_fixed = NO_FIXED.iter().any(|p| lower.contains(p));
            return out;
        }
        let Some(date) = date else {
            return out;
        };
        out.has_date = true;
        let after_date = &value[date.end..];
        let (naive, rest) = match find_time(after_date) {
            Some((h, m, end)) => (date.date.and_hms_opt(h, m, 0), &after_date[end..]),
            None => {
                // A time written before the date ("10:00 AM, 15 March 2021").
                match find_time(&value[..date.start]) {
                    Some((h, m, _)) => (date.date.and_hms_opt(h, m, 0), after_date),
                    None if lower.contains("noon") => (date.date.and_hms_opt(12, 0, 0), after_date),
                    None => (None, after_date),
                }
            }
        };
        let Some(naive) = naive else {
            return out;
        };
        out.naive = Some(naive);
        let rest = super::own_zone_text(rest);
        let zone = zone_from_display(rest)
            .or_else(|| super::us_short_zone(rest))
            .or_else(|| zone_from_display(&value[..date.start]));
        if let Some(tz) = zone {
            out.start = localize(&tz, naive);
            out.timezone = Some(tz.name().to_owned());
            return out;
        }
        if let Some(off) = fixed_from_text(value) {
            out.start = off.from_local_datetime(&naive).single();
            return out;
        }
        if contains_word(&lower, "utc") || contains_word(&lower, "gmt") {
            out.start =
                FixedOffset::east_opt(0).and_then(|o| o.from_local_datetime(&naive).single());
            out.timezone = Some("UTC".into());
        }
        out
    }
}

/// The scanning helpers as they were before the byte-level fast paths (each char decoded and
/// classed, every position tried), which the tests compare the new ones with.
#[cfg(test)]
mod old_scan {
    use super::{class, Digits, DIGIT, MONTHS};

    pub(super) fn at(s: &str, i: usize) -> Option<char> {
        s.get(i..)?.chars().next()
    }

    pub(super) fn char_before_is(s: &str, i: usize, bits: u8) -> bool {
        s.get(..i)
            .and_then(|b| b.chars().next_back())
            .is_some_and(|c| class(c) & bits != 0)
    }

    pub(super) fn spaces(s: &str, mut i: usize) -> usize {
        while let Some(c) = at(s, i).filter(|c| c.is_whitespace()) {
            i += c.len_utf8();
        }
        i
    }

    pub(super) fn digits(s: &str, mut i: usize, max: usize) -> Digits {
        let mut count = 0;
        let mut value = Some(0u32);
        while count < max {
            let Some(c) = at(s, i).filter(|c| class(*c) & DIGIT != 0) else {
                break;
            };
            value = value.and_then(|v| Some(v * 10 + c.to_digit(10)?));
            i += c.len_utf8();
            count += 1;
        }
        Digits {
            end: i,
            count,
            value,
        }
    }

    pub(super) fn leftmost<T>(
        s: &str,
        from: usize,
        at: impl Fn(usize) -> Option<T>,
    ) -> Option<(usize, T)> {
        s.get(from..)?
            .char_indices()
            .find_map(|(k, _)| at(from + k).map(|t| (from + k, t)))
    }

    pub(super) fn month(name: &str) -> Option<u32> {
        let mut head = ['\0'; 4];
        let mut len = 0;
        for (slot, c) in head
            .iter_mut()
            .zip(name.chars().flat_map(char::to_lowercase))
        {
            *slot = c;
            len += 1;
        }
        let head = head.get(..len)?;
        MONTHS
            .iter()
            .find(|(p, _)| {
                let mut head = head.iter();
                p.chars().all(|c| head.next() == Some(&c))
            })
            .map(|(_, m)| *m)
    }

    /// `normalize` in one pass, as the previous round wrote it.
    pub(super) fn normalize(s: &str) -> String {
        let mut out = String::new();
        out.reserve(s.len() + 8);
        if s.contains('Σ') {
            collapse(s.to_lowercase().chars(), &mut out);
        } else {
            collapse(s.chars().flat_map(char::to_lowercase), &mut out);
        }
        out
    }

    fn collapse(chars: impl Iterator<Item = char>, out: &mut String) {
        let mut space = false;
        let mut after_comma = false;
        let mut step = |c: char, out: &mut String| {
            if c.is_whitespace() {
                space = true;
                return;
            }
            if space && !out.is_empty() && c != ',' && c != ')' && !after_comma {
                out.push(' ');
            }
            space = false;
            after_comma = c == ',';
            if after_comma {
                out.push_str(", ");
            } else {
                out.push(c);
            }
        };
        for c in chars {
            match c {
                '&' => " and ".chars().for_each(|c| step(c, out)),
                '、' | '，' | '､' => step(',', out),
                c => step(c, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_search_matches_the_key_by_key_loop() {
        let reference = |n: &str| {
            DISPLAY
                .iter()
                .find(|(k, _)| contains_word(n, k))
                .map(|(_, tz)| *tz)
        };
        let mut texts: Vec<String> = DISPLAY.iter().map(|(k, _)| k.clone()).collect();
        for (i, (k, _)) in DISPLAY.iter().enumerate() {
            let other = &DISPLAY[(i * 7 + 3) % DISPLAY.len()].0;
            texts.push(format!("{other} {k}"));
            texts.push(format!("x{k}"));
            texts.push(format!("{k}x, {other}"));
            texts.push(format!("{k}{k} {k}"));
            texts.push(k.chars().skip(1).collect());
        }
        for t in [
            "",
            "gmt",
            "am eastern time (us and canada)",
            "10:00 am, paris",
        ] {
            texts.push(t.to_owned());
        }
        for t in &texts {
            let n = normalize(t);
            assert_eq!(first_display_word(&n), reference(&n), "{n}");
        }
    }

    use super::*;

    #[test]
    fn a_range_gives_its_meridiem_to_a_start_without_one() {
        let cases = [
            ("2:00–4:00 PM EST", Some((14, 0))),
            ("2:00 - 4:00 pm", Some((14, 0))),
            ("11:00 – 1:00 PM", Some((11, 0))),
            ("10:30 to 11:45 a.m.", Some((10, 30))),
            ("11:00-2 PM", Some((11, 0))),
            ("12:30-1:30 PM", Some((12, 30))),
            ("10:00 AM - 2:00 PM", Some((10, 0))),
            ("14:00-16:00 UTC", Some((14, 0))),
            ("2:00-4:00 UTC", Some((2, 0))),
        ];
        for (s, want) in cases {
            assert_eq!(find_time(s).map(|(h, m, _)| (h, m)), want, "{s}");
        }
    }

    fn t(s: &str) -> (Option<String>, Option<String>) {
        let r = parse_text_time(s, true);
        (r.start.map(|d| d.to_rfc3339()), r.timezone)
    }

    #[test]
    fn zoom_forms() {
        assert_eq!(
            t("Mar 15, 2021 06:08 AM London"),
            (
                Some("2021-03-15T06:08:00+00:00".into()),
                Some("Europe/London".into())
            )
        );
        assert_eq!(
            t("2020年8月26日 03:00 PM 大阪、札幌、東京"),
            (
                Some("2020-08-26T15:00:00+09:00".into()),
                Some("Asia/Tokyo".into())
            )
        );
        assert_eq!(
            t("20 dic. 2020 05:00 p. m. Lima"),
            (
                Some("2020-12-20T17:00:00-05:00".into()),
                Some("America/Lima".into())
            )
        );
        assert_eq!(
            t("Mar 13, 2026 03:00 PM Eastern Time (US and Canada)"),
            (
                Some("2026-03-13T15:00:00-04:00".into()),
                Some("America/New_York".into())
            )
        );
        assert_eq!(
            t("Mon Apr 6, 2020 4pm – 5pm India Standard Time - Kolkata"),
            (
                Some("2020-04-06T16:00:00+05:30".into()),
                Some("Asia/Kolkata".into())
            )
        );
        assert_eq!(
            t("Jun 15, 2017 10:00 AM - Noon Pacific Time (US and Canada)"),
            (
                Some("2017-06-15T10:00:00-07:00".into()),
                Some("America/Los_Angeles".into())
            )
        );
        assert_eq!(
            t("21.Apr..2021 07:00 PM Amsterdam, Berlin, Rom, Stockholm, Wien"),
            (
                Some("2021-04-21T19:00:00+02:00".into()),
                Some("Europe/Berlin".into())
            )
        );
        assert!(parse_text_time("This is a recurring meeting Meet anytime", true).no_fixed);
        // Zoom's Russian forms (real texts: a public Go test file and a Telegram bot reply).
        assert_eq!(
            t("29 мая 2023 01:30 PM Киев"),
            (
                Some("2023-05-29T13:30:00+03:00".into()),
                Some("Europe/Kyiv".into())
            )
        );
        assert!(parse_text_time("Это регулярная конференция Начать в любое время", false).no_fixed);
        // Zoom's Ukrainian time line (a Google Classroom post), and a Ukrainian month in the
        // Russian template (a public Go test).
        assert_eq!(
            t("23 вересня 2026 9:00 AM Київ"),
            (
                Some("2026-09-23T09:00:00+03:00".into()),
                Some("Europe/Kyiv".into())
            )
        );
        assert_eq!(
            t("29 травня 2023 01:30 PM Киев").0,
            Some("2023-05-29T13:30:00+03:00".into())
        );
    }

    /// `v`'s start as RFC 3339, as the zone tests below compare it.
    fn start_of(v: &str) -> Option<String> {
        parse_text_time(v, true).start.map(|s| s.to_rfc3339())
    }

    /// A time's zone is its own, not a later alternative's; US two-letter zones right after a
    /// time; Zoom's Hong Kong and Turkish names.
    #[test]
    fn a_times_zone_is_its_own() {
        for (v, want) in [
            // The same time given in three zones: the first time's zone, not India's.
            (
                "Jun 11, 2019 12:30 ET / 16:30 UK / 22:00 India",
                Some("2019-06-11T12:30:00-04:00"),
            ),
            ("Jun 11, 2019 12:30 / 16:30 UK / 22:00 India", None),
            (
                "Friday, 1 November 2019, 7am Boston/11am London/12pm Berlin",
                None,
            ),
            (
                "Friday, 1 November 2019, 7am EDT/11am London",
                Some("2019-11-01T07:00:00-04:00"),
            ),
            (
                "Jun 11, 2019 12:30 PM / 1:30 PM Eastern Time (US and Canada)",
                Some("2019-06-11T12:30:00-04:00"),
            ),
            ("Jun 11, 2019 10am PT", Some("2019-06-11T10:00:00-07:00")),
            ("Jan 9, 2026 10:00 CT.", Some("2026-01-09T10:00:00-06:00")),
            (
                "Jan 9, 2026 10:00 MT (Denver)",
                Some("2026-01-09T10:00:00-07:00"),
            ),
            ("11 juin 2019 10:00 ET 12:00", None),
            ("Jun 11, 2019 10:00 ETA", None),
            ("Jun 11, 2019 10:00 et", None),
            (
                "Jan 15, 2024 04:00 PM Hong Kong SAR",
                Some("2024-01-15T16:00:00+08:00"),
            ),
            // Zoom's Turkish time line: month, marker and zone in Turkish.
            (
                "13 Eyl 2024 09:00 ÖÖ İstanbul",
                Some("2024-09-13T09:00:00+03:00"),
            ),
            (
                "13 Eyl 2024 09:00 ÖS İstanbul-",
                Some("2024-09-13T21:00:00+03:00"),
            ),
            (
                "5 Ara 2024 09:00 öö İstanbul",
                Some("2024-12-05T09:00:00+03:00"),
            ),
        ] {
            assert_eq!(start_of(v).as_deref(), want, "{v:?}");
            check(v);
        }
    }

    /// "America, Los_Angeles" (Zoom's API text) names America/Los_Angeles; an unknown city does not.
    #[test]
    fn an_iana_name_written_with_a_comma() {
        for (v, want) in [
            (
                "Mar 25, 2022 03:32 PM America, Los_Angeles",
                Some("2022-03-25T15:32:00-07:00"),
            ),
            (
                "Mar 25, 2022 03:32 PM Europe, Kiev",
                Some("2022-03-25T15:32:00+02:00"),
            ),
            ("Mar 25, 2022 03:32 PM America, Nowhere", None),
            ("Mar 25, 2022 03:32 PM America, Los_Angeles, CA", None),
        ] {
            assert_eq!(start_of(v).as_deref(), want, "{v:?}");
            check(v);
        }
    }

    /// Clock times written with a dot; never a date's numbers, nor the "00 PM" of "2.00 PM".
    #[test]
    fn dotted_clock_times() {
        for (v, want) in [
            (
                "Senin, 2 Maret 2026 10.00 - 12.00 WIB",
                Some("2026-03-02T10:00:00+07:00"),
            ),
            (
                "Jul 22, 2021 2.00 PM Colombo",
                Some("2021-07-22T14:00:00+05:30"),
            ),
            (
                "Jul 22, 2021 2.00pm WITA",
                Some("2021-07-22T14:00:00+08:00"),
            ),
            ("22.07.2021 10:00 CET", Some("2021-07-22T10:00:00+02:00")),
            ("22.07.2021 CET", None),
            ("Dec 3, 2026 10.00. CET", None),
            ("Dec 3, 2026 v1.10 CET", None),
            ("Dec 3, 2026 10.5 CET", None),
            ("Dec 3, 2026 25.00 CET", None),
        ] {
            assert_eq!(start_of(v).as_deref(), want, "{v:?}");
            check(v);
        }
    }

    /// Zone abbreviations in capitals, as words, where no name matched; ambiguous ones and
    /// lower-case words are not zones.
    #[test]
    fn zone_abbreviations() {
        for (v, want) in [
            (
                "Oct 3, 2018 11:00 AM EDT",
                Some("2018-10-03T11:00:00-04:00"),
            ),
            (
                "Wednesday, Oct 3, 2018, at 11:00 EDT",
                Some("2018-10-03T11:00:00-04:00"),
            ),
            ("Jan 9, 2026 16:00 CET", Some("2026-01-09T16:00:00+01:00")),
            (
                "Jan 9, 2026 10:00 AM (PST)",
                Some("2026-01-09T10:00:00-08:00"),
            ),
            ("Jan 9, 2026 10:00 JST", Some("2026-01-09T10:00:00+09:00")),
            (
                "Donnerstag, 3. Dezember 2026 10:00 Uhr MEZ",
                Some("2026-12-03T10:00:00+01:00"),
            ),
            (
                "3. Juni 2026 10:00 Uhr (MESZ)",
                Some("2026-06-03T10:00:00+02:00"),
            ),
            ("Jun 3, 2026 18:00 MSK", Some("2026-06-03T18:00:00+03:00")),
            ("Jan 9, 2026 10:00 CST", None),
            ("Jan 9, 2026 10:00 IST", None),
            ("Jan 9, 2026 10:00 est", None),
            ("Jan 9, 2026 10:00 ESTONIA", None),
        ] {
            assert_eq!(start_of(v).as_deref(), want, "{v:?}");
        }
        for (abbreviation, zone) in ABBREVIATIONS {
            assert!(zone.parse::<Tz>().is_ok(), "{abbreviation}: {zone}");
        }
        assert_eq!(
            parse_text_time("Oct 3, 2018 11:00 AM EDT", true)
                .timezone
                .as_deref(),
            Some("America/New_York")
        );
    }

    /// Google Calendar's zone names, some holding a generic name of another zone.
    #[test]
    fn google_zone_names_with_their_city() {
        for (v, want) in [
            (
                "Mar 10, 2026 10:00 AM Australian Eastern Time - Sydney",
                "2026-03-10T10:00:00+11:00",
            ),
            (
                "Mar 10, 2026 10:00 AM Australian Central Time - Adelaide",
                "2026-03-10T10:00:00+10:30",
            ),
            (
                "Mar 10, 2026 10:00 AM Australian Eastern Time",
                "2026-03-10T10:00:00+11:00",
            ),
            (
                "Mar 10, 2026 10:00 AM Eastern Time - Toronto",
                "2026-03-10T10:00:00-04:00",
            ),
            (
                "Mar 10, 2026 10:00 AM Mountain Standard Time - Phoenix",
                "2026-03-10T10:00:00-07:00",
            ),
            (
                "Mar 10, 2026 10:00 AM India Standard Time - Kolkata",
                "2026-03-10T10:00:00+05:30",
            ),
            (
                "Mar 10, 2026 10:00 AM Eastern Time (US and Canada)",
                "2026-03-10T10:00:00-04:00",
            ),
        ] {
            assert_eq!(t(v).0.as_deref(), Some(want), "{v}");
        }
    }

    #[test]
    fn dst_edges() {
        // Winter in New York.
        assert_eq!(
            t("Dec 3, 2026 10:00 AM Eastern Time (US and Canada)").0,
            Some("2026-12-03T10:00:00-05:00".into())
        );
        // India is not a prefix of Indiana.
        assert_eq!(
            t("Jan 5, 2021 09:00 AM Indiana (East)").1,
            Some("America/Indiana/Indianapolis".into())
        );
    }

    /// Every char's classes against the `regex` crate's (all of the BMP, and every 97th char
    /// beyond it).
    #[test]
    fn classes_match_the_regex_crate() {
        let chars = (0..0x1_0000u32)
            .chain((0x1_0000..=0x10_FFFF).step_by(97))
            .filter_map(char::from_u32);
        for c in chars {
            assert_eq!(class(c), class_by_regex(c), "U+{:04X}", c as u32);
        }
    }

    /// Each fixture line, the text after each colon in it (a label's value), and both cut at
    /// every char boundary.
    fn fixture_values() -> Vec<String> {
        let files = super::super::fixture_texts();
        let mut values = Vec::new();
        for line in files.iter().flat_map(|f| f.split('\n')) {
            if line.len() > 300 {
                continue;
            }
            values.push(line.to_owned());
            for (i, c) in line.char_indices().filter(|(_, c)| matches!(c, ':' | '：')) {
                values.push(line[i + c.len_utf8()..].trim().to_owned());
            }
        }
        values.sort();
        values.dedup();
        values
    }

    /// Dates, times, markers and zones in every form the readers know, put together.
    fn generated_values() -> Vec<String> {
        let mut out = Vec::new();
        let zones: Vec<String> = DISPLAY_NAMES
            .iter()
            .flat_map(|(k, _)| [k.to_string(), k.to_uppercase(), k.replace(" and ", " & ")])
            .chain(
                [
                    "",
                    "London",
                    "India",
                    "Lima",
                    "Kolkata",
                    "New York",
                    "Europe/Paris",
                    "GMT+5:30",
                    "UTC-0800",
                    "(GMT−05:00) Eastern",
                    "gmt + 1",
                    "UTC",
                    "utc+05.30",
                    "GMT+123",
                    "GMT-1:3",
                    "Noon",
                    "- Noon Pacific Time",
                    "大阪、札幌、東京",
                    "大阪，札幌",
                    "서울",
                    "台北",
                    "Киев",
                    "ΣΟΦΙΑ",
                    "Kutc",
                    "İndia",
                ]
                .map(String::from),
            )
            .collect();
        let mut zone = zones.iter().cycle();
        let mut names: Vec<String> = Vec::new();
        for (p, _) in MONTHS {
            let mut cap = p.chars();
            let cap: String = cap
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .chain(cap)
                .collect();
            names.extend([
                p.to_string(),
                p.to_uppercase(),
                cap.clone(),
                format!("{cap}ember"),
            ]);
        }
        names
            .extend(["Tuesday", "de", "MAİ", "Σep", "ma\u{345}r", "〇Mar", "xx"].map(String::from));
        for n in &names {
            for t in [
                "{N} 5, 2021 10:00 AM",
                "{N}. 15th, 2021 3pm",
                "{N} 1st 2021 7 h 30",
                "5 {N} 2021 09:00",
                "5 de {N} de 2021 9:00 p. m.",
                "15. {N}.. 2021 14h30",
                "15. {N}... 2021 14h30",
                "5{N}2021 17:00",
                "Tuesday, {N} 3, 2026 at 14:00",
                "1 {N}de 2021 10:00",
                "123 {N} 2021, 12 {N} 20211 1:00",
            ] {
                let z = zone.next().expect("cycle");
                out.push(format!("{} {z}", t.replace("{N}", n)));
            }
        }
        let dates = [
            "Mar 15, 2021",
            "2021年3月15日",
            "2021 年 3 月 15 日",
            "12021年3月15",
            "2025년 5월 5일",
            "15.03.2021",
            "3/4/2021",
            "13/4/2021",
            "2021-03-15",
            "2021/3/1x",
            "15 mars 2021",
            "21.Apr..2021",
            "31 Feb 2021",
        ];
        let times = [
            "10:00",
            "24h00",
            "23H59",
            "9h60",
            "9h 05x",
            "7 h30",
            "9:05",
            "10：00",
            "10:00:30",
            "10:00：30",
            "7",
            "07h30",
            "7 h 30",
            "7h3",
            "12:00",
            "00:30",
            "0",
            "24:00",
            "10:60",
            "123:45",
            "1:5",
            "12",
        ];
        let markers = [
            "", " AM", " PM", "am", "pm", "a.m.", "p.m.", " a. m.", " p. m.", " A.M", "amx",
            " a .m", " 午前", " 午後", " 上午", " 下午", " 오전", " 오후", "午後", " ÖÖ", " ÖS",
            " öö", " ÖSx",
        ];
        // Each date with each time and each marker (the other one taken in turn).
        let mut time = times.iter().cycle();
        let mut marker = markers.iter().cycle();
        for d in dates {
            let pairs = times
                .iter()
                .map(|t| (*t, *marker.next().expect("cycle")))
                .chain(markers.iter().map(|m| (*time.next().expect("cycle"), *m)));
            for (t, m) in pairs.collect::<Vec<_>>() {
                let z = zone.next().expect("cycle");
                out.push(format!("{d} {t}{m} {z}"));
                out.push(format!("{t}{m}, {d}"));
            }
            for before in ["午後3:00", "下午 3:00", "오후 3:00", "x午前3:00", "at noon"] {
                out.push(format!("{d} {before}"));
                out.push(format!("{before} {d}"));
            }
        }
        for v in NO_FIXED {
            out.push(format!("Recurring: {}", v.to_uppercase()));
        }
        // The same texts written differently: full-width or Arabic-Indic digits, full-width
        // colons, no spaces, no-break spaces, CRLF endings.
        let base = out.len();
        for i in 0..base {
            let s = out[i].clone();
            let wide = |c: char| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                ':' => '：',
                c => c,
            };
            let arabic = |c: char| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0x660).unwrap_or(c),
                c => c,
            };
            match i % 6 {
                0 => out.push(s.chars().map(wide).collect()),
                1 => out.push(s.chars().map(arabic).collect()),
                2 => out.push(s.replace(' ', "")),
                3 => out.push(s.replace(' ', "\u{a0}")),
                4 => out.push(format!("{s}\r")),
                _ => out.push(s.replace(":", " : ")),
            }
        }
        out
    }

    fn check(s: &str) {
        for month_first in [true, false] {
            assert_eq!(
                parse_text_time(s, month_first),
                old::parse_text_time(s, month_first),
                "{s:?} {month_first}"
            );
            assert_eq!(
                find_date(s, month_first).map(|f| (f.start, f.end, f.date)),
                old::find_date(s, month_first).map(|f| (f.start, f.end, f.date)),
                "{s:?} {month_first}"
            );
        }
        assert_eq!(find_time(s), old::find_time(s), "{s:?}");
        assert_eq!(fixed_from_text(s), old::fixed_from_text(s), "{s:?}");
        assert_eq!(normalize(s), old::normalize(s), "{s:?}");
        assert_eq!(zone_from_display(s), old::zone_from_display(s), "{s:?}");
        assert_eq!(month(s), old::month(s), "{s:?}");
    }

    /// Every prefix of `s`, cut at each char boundary (the whole of it too).
    fn prefixes(s: &str) -> impl Iterator<Item = &str> {
        s.char_indices()
            .map(|(i, _)| &s[..i])
            .chain(std::iter::once(s))
    }

    #[test]
    fn hand_readers_match_the_regexes_on_fixture_lines() {
        let values = fixture_values();
        assert!(values.len() > 1000, "values: {}", values.len());
        for v in &values {
            check(v);
        }
        // The time values themselves, cut anywhere.
        for v in values
            .iter()
            .filter(|v| find_date(v, true).is_some() && v.len() < 120)
        {
            for p in prefixes(v) {
                check(p);
                check(&v[p.len()..]);
            }
        }
    }

    #[test]
    fn hand_readers_match_the_regexes_on_generated_values() {
        let values = generated_values();
        for (i, v) in values.iter().enumerate() {
            check(v);
            // Cut anywhere: every 11th text, which still reaches each template and date.
            if i % 11 == 0 {
                for p in prefixes(v) {
                    check(p);
                }
            }
        }
        for (k, _) in DISPLAY_NAMES.iter().chain(WINDOWS_NAMES) {
            assert_eq!(normalize(k), old::normalize(k));
        }
    }

    /// Texts the fixture lines and generated values may miss: empty, CRLF, full-width digits,
    /// case edge cases (final sigma, dotted capital I, the Kelvin sign), "&" and CJK commas, and
    /// very long texts.
    fn edge_values() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "\r\n",
            "Mar 15, 2021 06:08 AM London\r\n",
            "２０２１年３月１５日 １０：００ 東京",
            "2021年3月15日 10:00 ΣΟΦΙΑ Σ",
            "Mar 15, 2021 06:08 AM İSTANBUL",
            "Mar 15, 2021 06:08 AM \u{212A}olkata",
            "Dec 3, 2026 10:00 AM Eastern Time (US & Canada)",
            "Dec 3, 2026 10:00 AM EASTERN  TIME(US&CANADA)",
            "MEET ANYTIME",
            "Meet\u{a0}anytime",
            "Recurring, \u{212A} meet anytime",
            "Это регулярная конференция Начать в любое время",
            "Это регулярная конференция НАЧАТЬ В ЛЮБОЕ ВРЕМЯ",
            "Это регулярная конференция Начать В Любое Время",
            "Meeting 随时 隨時 언제든지 À TOUT MOMENT",
            "ΣΟΦΙΑ meet ANYTIME",
            "NOON 3 Mar 2021",
            "15 March 2021 at NOON",
            "15 March 2021 at nöon",
            "Mar 15, 2021 10:00 UTC",
            "Mar 15, 2021 10:00 (utc)",
            "Mar 15, 2021 10:00 KUTC",
            "Mar 15, 2021 10:00 gmt+1",
            "Mar 15, 2021 10:00 Gmt",
            "Mar 15, 2021 10:00 xgmt utcx",
            "Mar 15, 2021 10:00 ütc",
            "Mar 15, 2021 10:00 ÜTC gmt",
            "Mar 15, 2021 10:00 大阪、札幌、東京",
            "Mar 15, 2021 10:00 大阪，札幌､ 東京",
            "Mar 15, 2021 10:00 a & b",
            "&&",
            ", ,",
            "( )",
            "Σep 5, 2021",
            "ＭＡＲ 5, 2021 10:00",
        ]
        .map(String::from)
        .into();
        let long_zone = "Eastern Time (US and Canada) ".repeat(10);
        v.push(format!("Mar 15, 2021 06:08 AM {long_zone}"));
        v.push(format!("Mar 15, 2021 06:08 AM {}", "大阪、".repeat(30)));
        v.push(format!("{}Mar 15, 2021 06:08 AM", "x".repeat(3000)));
        v.push("1".repeat(3000));
        v.push("Это 5 ".repeat(300));
        v
    }

    #[test]
    fn hand_readers_match_the_regexes_on_edge_values() {
        for v in edge_values() {
            check(&v);
            if v.len() < 200 {
                for p in prefixes(&v) {
                    check(p);
                    check(&v[p.len()..]);
                }
            }
        }
    }

    /// The byte-level helpers against the char-by-char ones they replace, at every position of
    /// the fixture lines, generated values and edge cases.
    #[test]
    fn scan_helpers_match_the_old_ones() {
        let generated = generated_values();
        let mut values = fixture_values();
        values.extend(generated.into_iter().step_by(3));
        values.extend(edge_values());
        let readers: [fn(&str, usize) -> bool; 9] = [
            |s, p| cjk_date_at(s, p).is_some(),
            |s, p| iso_date_at(s, p).is_some(),
            |s, p| mdy_date_at(s, p).is_some(),
            |s, p| dmy_date_at(s, p).is_some(),
            |s, p| numeric_date_at(s, p).is_some(),
            |s, p| colon_time_at(s, p).is_some(),
            |s, p| ampm_time_at(s, p).is_some(),
            |s, p| h_time_at(s, p).is_some(),
            |s, p| gmt_offset_at(s, p).is_some(),
        ];
        let firsts: [fn(u8) -> bool; 9] = [
            digit_start,
            digit_start,
            letter_start,
            digit_start,
            digit_start,
            digit_start,
            digit_start,
            digit_start,
            |b| matches!(b, b'g' | b'G' | b'u' | b'U'),
        ];
        for s in &values {
            let s = s.as_str();
            for i in 0..s.len() + 2 {
                assert_eq!(at(s, i), old_scan::at(s, i), "{s:?} {i}");
                for bits in [DIGIT, LETTER, LETTER_CI, WORD, SPACE] {
                    assert_eq!(
                        char_before_is(s, i, bits),
                        old_scan::char_before_is(s, i, bits),
                        "{s:?} {i} {bits}"
                    );
                }
                assert_eq!(spaces(s, i), old_scan::spaces(s, i), "{s:?} {i}");
                for max in 1..=4 {
                    let (new, old) = (digits(s, i, max), old_scan::digits(s, i, max));
                    assert_eq!(
                        (new.end, new.count, new.value),
                        (old.end, old.count, old.value),
                        "{s:?} {i} {max}"
                    );
                }
                if let Some(rest) = s.get(i..) {
                    assert_eq!(month(rest), old_scan::month(rest), "{rest:?}");
                }
            }
            if s.len() > 400 {
                continue;
            }
            for (reader, first) in readers.iter().zip(firsts) {
                let at = |p: usize| reader(s, p).then_some(());
                for from in [0, 1, 2, s.len() / 2] {
                    let old = old_scan::leftmost(s, from, at).map(|(p, _)| p);
                    for to in [0, from + 3, s.len() / 2, s.len(), s.len() + 1] {
                        assert_eq!(
                            leftmost(s, from, to, first, at).map(|(p, _)| p),
                            old.filter(|p| *p < to),
                            "{s:?} {from} {to}"
                        );
                    }
                }
            }
        }
    }

    /// Every char that `\d` or `\p{L}` accepts (all of the BMP, which holds every two-byte
    /// char, and every 97th char beyond it) starts with a byte that [`digit_start`] or
    /// [`letter_start`] accepts, so `leftmost` skips no position a reader could match at.
    #[test]
    fn start_bytes_cover_every_digit_and_letter() {
        let chars = (0x80..0x1_0000u32)
            .chain((0x1_0000..=0x10_FFFF).step_by(97))
            .filter_map(char::from_u32);
        for c in chars {
            let mut buf = [0; 4];
            let lead = c.encode_utf8(&mut buf).as_bytes()[0];
            let k = class(c);
            if k & DIGIT != 0 {
                assert!(digit_start(lead), "U+{:04X}", c as u32);
            }
            if k & (LETTER | LETTER_CI) != 0 {
                assert!(letter_start(lead), "U+{:04X}", c as u32);
            }
        }
        for b in 0..=u8::MAX {
            assert_eq!(digit_start(b) && b.is_ascii(), b.is_ascii_digit());
            assert_eq!(letter_start(b) && b.is_ascii(), b.is_ascii_alphabetic());
        }
    }

    /// The zone-name helpers against the ones they replace.
    #[test]
    fn zone_helpers_match_the_old_ones() {
        let mut values = fixture_values();
        values.extend(generated_values());
        values.extend(edge_values());
        for s in &values {
            let n = normalize(s);
            assert_eq!(n, old_scan::normalize(s), "{s:?}");
            let mut buf = [0u8; 128];
            let fits = n.len() <= buf.len();
            assert_eq!(
                normalize_in(s, &mut buf),
                fits.then_some(n.as_str()),
                "{s:?}"
            );
            let lower = s.to_lowercase();
            let ascii = s.is_ascii();
            assert_eq!(
                says_no_fixed(s, ascii),
                NO_FIXED.iter().any(|p| lower.contains(p)),
                "{s:?}"
            );
            assert_eq!(says_noon(s, ascii), lower.contains("noon"), "{s:?}");
            if ascii {
                for w in ["utc", "gmt"] {
                    assert_eq!(ascii_word_ci(s, w), contains_word(&lower, w), "{s:?}");
                }
            }
        }
        // The blocks `caseless` skips lowercase to themselves, char by char.
        let caseless_chars = ('\u{3000}'..='\u{9FFF}').chain('\u{AC00}'..='\u{D7A3}');
        for c in caseless_chars {
            assert!(caseless(c));
            assert!(c.to_lowercase().eq([c]), "U+{:04X}", c as u32);
        }
    }
}
