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
    ("india", "Asia/Kolkata"),
    ("astana, dhaka", "Asia/Dhaka"),
    ("dacca", "Asia/Dhaka"),
    ("vietnam", "Asia/Ho_Chi_Minh"),
    ("beijing, shanghai", "Asia/Shanghai"),
    ("北京,上海", "Asia/Shanghai"),
    ("北京", "Asia/Shanghai"),
    ("上海", "Asia/Shanghai"),
    ("台北", "Asia/Taipei"),
    ("香港", "Asia/Hong_Kong"),
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
    ("киев", "Europe/Kyiv"),
    ("київ", "Europe/Kyiv"),
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
    ("moskau", "Europe/Moscow"),
    ("moscou", "Europe/Moscow"),
    ("tokio", "Asia/Tokyo"),
    ("ciudad de méxico", "America/Mexico_City"),
    ("são paulo", "America/Sao_Paulo"),
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
    ("America/Godthab", "America/Nuuk"),
    ("America/Indianapolis", "America/Indiana/Indianapolis"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Etc/Greenwich", "Etc/GMT"),
    ("US/Eastern", "America/New_York"),
    ("US/Central", "America/Chicago"),
    ("US/Mountain", "America/Denver"),
    ("US/Pacific", "America/Los_Angeles"),
];

fn normalize(s: &str) -> String {
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

static DISPLAY: LazyLock<Vec<(String, Tz)>> = LazyLock::new(|| {
    let mut v: Vec<(String, Tz)> = DISPLAY_NAMES
        .iter()
        .filter_map(|(k, z)| Some((normalize(k), z.parse::<Tz>().ok()?)))
        .collect();
    // Longest first, so "indiana (east)" wins over "india".
    v.sort_by_key(|(k, _)| std::cmp::Reverse(k.chars().count()));
    v
});

static DISPLAY_EXACT: LazyLock<HashMap<String, Tz>> =
    LazyLock::new(|| DISPLAY.iter().cloned().collect());

/// Last components of IANA names ("new york" -> America/New_York).
static CITIES: LazyLock<HashMap<String, Tz>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for tz in chrono_tz::TZ_VARIANTS.iter() {
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

fn contains_word(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let at = from + pos;
        let end = at + needle.len();
        let before = hay[..at].chars().last();
        let after = hay[end..].chars().next();
        let ok_b = before.is_none_or(|c| !c.is_ascii_alphanumeric());
        let ok_a = after.is_none_or(|c| !c.is_ascii_alphanumeric());
        if ok_b && ok_a {
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
    let mut chain_end: HashMap<usize, usize> = HashMap::new();
    let mut best: Option<usize> = None;
    for m in DISPLAY_SEARCH.find_overlapping_iter(n) {
        let k = m.pattern().as_usize();
        let from = chain_end.get(&k).copied().unwrap_or(0);
        if m.start() < from || best.is_some_and(|b| b <= k) {
            continue;
        }
        chain_end.insert(k, m.end());
        let ok_b = n[..m.start()]
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let ok_a = n[m.end()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if ok_b && ok_a {
            best = Some(k);
        }
    }
    best.and_then(|k| DISPLAY.get(k)).map(|(_, tz)| *tz)
}

/// A zone from display text: a Zoom/Google/Outlook name or an IANA city inside it.
pub(crate) fn zone_from_display(text: &str) -> Option<Tz> {
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
    None
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

/// (prefix, month) for month names and abbreviations in the supported languages.
const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("ene", 1),
    ("gen", 1),
    ("янв", 1),
    ("feb", 2),
    ("fev", 2),
    ("fév", 2),
    ("фев", 2),
    ("mar", 3),
    ("mär", 3),
    ("mrz", 3),
    ("mrt", 3),
    ("мар", 3),
    ("apr", 4),
    ("abr", 4),
    ("avr", 4),
    ("апр", 4),
    ("may", 5),
    ("mai", 5),
    ("mag", 5),
    ("mei", 5),
    ("мая", 5),
    ("май", 5),
    ("juin", 6),
    ("jun", 6),
    ("giu", 6),
    ("июн", 6),
    ("juil", 7),
    ("jul", 7),
    ("lug", 7),
    ("июл", 7),
    ("aug", 8),
    ("ago", 8),
    ("aoû", 8),
    ("aou", 8),
    ("авг", 8),
    ("sep", 9),
    ("set", 9),
    ("сен", 9),
    ("oct", 10),
    ("okt", 10),
    ("ott", 10),
    ("out", 10),
    ("окт", 10),
    ("nov", 11),
    ("ноя", 11),
    ("dec", 12),
    ("dez", 12),
    ("déc", 12),
    ("dic", 12),
    ("дек", 12),
];

fn month(name: &str) -> Option<u32> {
    let n = name.to_lowercase();
    MONTHS
        .iter()
        .find(|(p, _)| n.starts_with(p))
        .map(|(_, m)| *m)
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("static regex"));
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
    r"(?i)(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?|午前|午後|上午|下午|오전|오후)?"
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

struct Found {
    start: usize,
    end: usize,
    date: NaiveDate,
}

fn find_date(s: &str, month_first_numeric: bool) -> Option<Found> {
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

fn is_pm(marker: &str) -> Option<bool> {
    let m = marker.to_lowercase();
    if m.is_empty() {
        return None;
    }
    if m.starts_with('p') || m == "午後" || m == "下午" || m == "오후" {
        Some(true)
    } else {
        Some(false)
    }
}

/// Finds the first time of day in `s`; returns (hour, minute, end offset).
fn find_time(s: &str) -> Option<(u32, u32, usize)> {
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
    let (_, h, m, end) = best?;
    (m < 60).then_some((h, m, end))
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

fn fixed_from_text(s: &str) -> Option<FixedOffset> {
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
pub(crate) fn parse_text_time(value: &str, month_first_numeric: bool) -> TextTime {
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
    let zone = zone_from_display(rest).or_else(|| zone_from_display(&value[..date.start]));
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
        out.start = FixedOffset::east_opt(0).and_then(|o| o.from_local_datetime(&naive).single());
        out.timezone = Some("UTC".into());
    }
    out
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
}
