//! A small iCalendar (RFC 5545) reader: unfolds lines, reads METHOD and one VEVENT, the first
//! that mentions Zoom or else the first (UID, SEQUENCE, DTSTART with its TZID and VTIMEZONE,
//! SUMMARY, DESCRIPTION, LOCATION, URL, ORGANIZER, RRULE, `X-` properties holding Zoom links),
//! unescapes text values.
//!
//! Must never: expand recurrences, or trust a TZID it cannot map (the offset then comes from the
//! VTIMEZONE's STANDARD and DAYLIGHT parts, whichever took effect last before the start by
//! their yearly rules, with no zone name).

use super::time;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use std::borrow::Cow;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Calendar {
    pub method: Option<String>,
    pub uid: Option<String>,
    pub sequence: i64,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    /// `URL` and `X-` property values that may hold a join link.
    pub links: Vec<String>,
    pub organizer: Option<String>,
    pub rrule: Option<String>,
    pub start: Option<DateTime<FixedOffset>>,
    pub timezone: Option<String>,
    /// True when DTSTART named a zone (or UTC) we could place; false for floating times.
    pub start_zoned: bool,
    /// The calendar's PRODID names Zoom ("-//zoom.us//iCalendar Event//EN"): Zoom made it,
    /// not a person's calendar.
    pub made_by_zoom: bool,
}

/// One content line split at its first unquoted ':', borrowing the line.
struct Prop<'a> {
    /// Trimmed, in the case given.
    name: &'a str,
    /// The `;`-separated parameters after the name (read only when asked for).
    params: &'a str,
    value: &'a str,
}

impl Prop<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"'))
        })
    }
}

/// The logical lines of a calendar: a line starting with a space or tab continues the one
/// before it (RFC 5545 folding). So does a line that is no property at all, under a property
/// other than BEGIN and END: a fold whose space was lost (a calendar pasted into a text or a
/// code comment, its URL cut at "…/w/86167548999?" and "tk=…" on the next line). A line is
/// copied only when it is really folded.
fn unfold(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let mut raw = super::split_lf(text)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .peekable();
    std::iter::from_fn(move || {
        let first = raw.next()?;
        let mut line = Cow::Borrowed(first);
        let bounds = |l: &str| {
            l.get(..6).is_some_and(|h| h.eq_ignore_ascii_case("BEGIN:"))
                || l.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("END:"))
        };
        while let Some(&next) = raw.peek() {
            let cont = match next.strip_prefix([' ', '\t']) {
                Some(cont) => cont,
                // Whether the line joined so far is a property: its first raw line may be only
                // the start of one ("---", then a folded "tags: x").
                None if is_property(&line) && !bounds(&line) && !is_property(next) => next,
                None => break,
            };
            line.to_mut().push_str(cont);
            raw.next();
        }
        Some(line)
    })
}

/// Whether `line` has a property's shape: a name of ASCII letters, digits and '-', then ';' or
/// ':'.
fn is_property(line: &str) -> bool {
    let name_len = line
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    name_len > 0 && matches!(line.as_bytes().get(name_len), Some(b':' | b';'))
}

fn split_prop(line: &str) -> Option<Prop<'_>> {
    // The value starts at the first ':' outside a quoted parameter value, the parameters at the
    // first ';' before it, quoted or not (all ASCII, so a byte scan finds char boundaries).
    let mut quote = false;
    let mut colon = None;
    let mut semi = None;
    for (i, c) in line.bytes().enumerate() {
        match c {
            b'"' => quote = !quote,
            b';' if semi.is_none() => semi = Some(i),
            b':' if !quote => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let value = &line[colon + 1..];
    let (name, params) = match semi {
        Some(s) => (&line[..s], &line[s + 1..colon]),
        None => (&line[..colon], ""),
    };
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(Prop {
        name,
        params,
        value,
    })
}

/// Unescapes an iCalendar TEXT value.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = String::with_capacity(v.len());
    let (mut i, mut run) = (0, 0);
    // Runs between backslashes are copied whole; memchr, as descriptions are long.
    while let Some(p) = b.get(i..).and_then(|r| memchr::memchr(b'\\', r)) {
        let at = i + p;
        out.push_str(&v[run..at]);
        i = match b.get(at + 1) {
            Some(b'n' | b'N') => {
                out.push('\n');
                at + 2
            }
            Some(&c) if c.is_ascii() => {
                out.push(char::from(c));
                at + 2
            }
            // A character that is not ASCII, or nothing: the backslash alone is dropped (the
            // character is copied with the run it starts).
            _ => at + 1,
        };
        run = i;
    }
    out.push_str(&v[run..]);
    out
}

#[derive(Default)]
struct VTimezone {
    tzid: String,
    location: Option<String>,
    standard_offset: Option<i32>,
    /// Each STANDARD and DAYLIGHT part: when it starts and the offset it sets.
    rules: Vec<ZoneRule>,
}

/// A VTIMEZONE's STANDARD or DAYLIGHT part: its DTSTART (local), the offset it sets
/// (TZOFFSETTO), and its yearly rule's month and day (`RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU`:
/// the second Sunday of March; `-1SU` the last), if it has one.
#[derive(Default, Clone)]
struct ZoneRule {
    start: Option<NaiveDateTime>,
    offset: Option<i32>,
    yearly: Option<(u32, i8, chrono::Weekday)>,
}

impl ZoneRule {
    /// When this part last took effect at or before `local`: its yearly day in `local`'s year
    /// or the year before, at its DTSTART's time of day; or, without a yearly rule, its DTSTART.
    fn last_start(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = self.start?;
        let Some((month, nth, weekday)) = self.yearly else {
            return (start <= local).then_some(start);
        };
        use chrono::Datelike;
        [local.year(), local.year() - 1]
            .into_iter()
            .find_map(|year| {
                let day = if nth > 0 {
                    chrono::NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth as u8)?
                } else {
                    // The last (or n-th last) such weekday of the month.
                    let first_next = if month == 12 {
                        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)?
                    } else {
                        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)?
                    };
                    let last = first_next.pred_opt()?;
                    let back = (last.weekday().num_days_from_monday() + 7
                        - weekday.num_days_from_monday())
                        % 7;
                    last - chrono::Duration::days(i64::from(back) + 7 * i64::from(-nth - 1))
                };
                let at = day.and_time(start.time());
                (at <= local && at >= start).then_some(at)
            })
    }
}

/// `FREQ=YEARLY;BYMONTH=3;BYDAY=2SU` as (3, 2, Sunday); `None` for any other rule.
fn yearly_rule(rrule: &str) -> Option<(u32, i8, chrono::Weekday)> {
    let mut freq_yearly = false;
    let (mut month, mut byday) = (None, None);
    for part in rrule.split(';') {
        let (k, v) = part.split_once('=')?;
        match k.trim().to_ascii_uppercase().as_str() {
            "FREQ" => freq_yearly = v.trim().eq_ignore_ascii_case("YEARLY"),
            "BYMONTH" => {
                month = v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
            }
            "BYDAY" => byday = Some(v.trim().to_ascii_uppercase()),
            _ => {}
        }
    }
    let byday = byday?;
    // The weekday is the last two bytes: cut only at a char boundary (a BYDAY may hold
    // anything, "-1SU" or "月17").
    let cut = byday.len().checked_sub(2)?;
    let (nth, day) = (byday.get(..cut)?, byday.get(cut..)?);
    let nth: i8 = match nth {
        "" | "+" => return None,
        n => n.trim_start_matches('+').parse().ok()?,
    };
    let weekday = match day {
        "MO" => chrono::Weekday::Mon,
        "TU" => chrono::Weekday::Tue,
        "WE" => chrono::Weekday::Wed,
        "TH" => chrono::Weekday::Thu,
        "FR" => chrono::Weekday::Fri,
        "SA" => chrono::Weekday::Sat,
        "SU" => chrono::Weekday::Sun,
        _ => return None,
    };
    (freq_yearly && (1..=5).contains(&nth.unsigned_abs())).then_some((month?, nth, weekday))
}

impl VTimezone {
    /// The offset at `local` by the STANDARD and DAYLIGHT parts' rules (the part that took
    /// effect last), else the standard offset.
    fn offset_at(&self, local: NaiveDateTime) -> Option<i32> {
        self.rules
            .iter()
            .filter_map(|r| Some((r.last_start(local)?, r.offset?)))
            .max_by_key(|(at, _)| *at)
            .map(|(_, off)| off)
            .or(self.standard_offset)
    }
}

/// Reads a calendar; `None` when the text holds no VCALENDAR.
pub(crate) fn parse(text: &str) -> Option<Calendar> {
    let begin = text.find("BEGIN:VCALENDAR")?;
    // A calendar pasted indented or quoted (in a code comment, under "> "): its lines without
    // the prefix its BEGIN line has, so that only the lines indented further are folded ones.
    let prefix = &text[text[..begin].rfind('\n').map_or(0, |i| i + 1)..begin];
    if !prefix.is_empty() && prefix.bytes().all(|b| matches!(b, b' ' | b'\t' | b'>')) {
        let mut lines = String::with_capacity(text.len());
        for l in super::split_lf(text) {
            lines.push_str(l.strip_prefix(prefix).unwrap_or(l));
            lines.push('\n');
        }
        return parse_events(&lines);
    }
    parse_events(text)
}

/// The most events [`parse_events`] looks through for one that mentions Zoom.
const MAX_EVENTS: usize = 16;

/// [`parse_lines`] of the first event that mentions Zoom in its text values (an exported
/// calendar holds other meetings before it: a Google Meet, an office visit), else of the first.
fn parse_events(text: &str) -> Option<Calendar> {
    let first = parse_lines(text, 0)?;
    // A calendar that nowhere says "zoom" is read once.
    if mentions_zoom(&first) || !has_zoom(text) {
        return Some(first);
    }
    let events = memchr::memmem::find_iter(text.as_bytes(), "BEGIN:VEVENT").count();
    (1..events.min(MAX_EVENTS))
        .filter_map(|n| parse_lines(text, n))
        .find(mentions_zoom)
        .or(Some(first))
}

/// Whether a text holding a calendar says "zoom" where the calendar's event `cal` (if one was
/// read) does not: a program's string array of calendar lines (`'LOCATION:https://…',`, whose
/// quotes hide every property) beside the mail it sends (a Russian Apps Script). Such a text is
/// read as a body too.
pub(crate) fn zoom_outside(text: &str, cal: Option<&Calendar>) -> bool {
    !cal.is_some_and(mentions_zoom) && has_zoom(text)
}

/// Whether an event's description, location or link properties say "zoom".
fn mentions_zoom(cal: &Calendar) -> bool {
    [&cal.description, &cal.location]
        .into_iter()
        .flatten()
        .any(|t| has_zoom(t))
        || cal.links.iter().any(|l| has_zoom(l))
}

/// Whether `t` says "zoom", in any ASCII case.
fn has_zoom(t: &str) -> bool {
    super::url::find_zoom(t.as_bytes(), 0).is_some()
}

/// [`parse`] of a calendar whose lines start at the line start, reading its `wanted`th
/// top-level VEVENT (from 0).
fn parse_lines(text: &str, wanted: usize) -> Option<Calendar> {
    let mut cal = Calendar::default();
    let mut stack: Vec<String> = Vec::new();
    let mut in_wanted = false;
    let mut events = 0;
    let mut zones: Vec<VTimezone> = Vec::new();
    let mut dtstart: Option<(String, Option<String>)> = None;
    for line in unfold(text) {
        let Some(p) = split_prop(&line) else {
            continue;
        };
        // Names are upper-case nearly always: copied only when they are not.
        let name = if p.name.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(p.name.to_ascii_uppercase())
        } else {
            Cow::Borrowed(p.name)
        };
        match &*name {
            "BEGIN" => {
                let what = p.value.trim().to_ascii_uppercase();
                if what == "VEVENT" && stack.len() <= 1 {
                    in_wanted = events == wanted;
                    events += 1;
                }
                if what == "VTIMEZONE" {
                    zones.push(VTimezone::default());
                }
                if matches!(what.as_str(), "STANDARD" | "DAYLIGHT")
                    && stack.last().is_some_and(|t| t == "VTIMEZONE")
                {
                    if let Some(z) = zones.last_mut() {
                        z.rules.push(ZoneRule::default());
                    }
                }
                stack.push(what);
                if stack.len() > 32 {
                    return Some(cal);
                }
                continue;
            }
            "END" => {
                let what = stack.pop();
                if what.as_deref() == Some("VEVENT") {
                    in_wanted = false;
                }
                continue;
            }
            _ => {}
        }
        let top = stack.last().map(String::as_str);
        match top {
            Some("VCALENDAR") if name == "METHOD" => {
                cal.method = Some(p.value.trim().to_ascii_uppercase());
            }
            Some("VCALENDAR") if name == "PRODID" => {
                cal.made_by_zoom = p.value.to_ascii_lowercase().contains("zoom");
            }
            Some("VTIMEZONE") => {
                if let Some(z) = zones.last_mut() {
                    match &*name {
                        "TZID" => z.tzid = p.value.trim().to_owned(),
                        "X-LIC-LOCATION" => z.location = Some(p.value.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            Some(part @ ("STANDARD" | "DAYLIGHT")) => {
                if let Some(z) = zones.last_mut() {
                    if name == "TZOFFSETTO" && part == "STANDARD" {
                        z.standard_offset = parse_utc_offset(p.value.trim());
                    }
                    // The rule opened at this part's BEGIN.
                    if let Some(r) = z.rules.last_mut() {
                        let v = p.value.trim();
                        match &*name {
                            "TZOFFSETTO" => r.offset = parse_utc_offset(v),
                            "DTSTART" => {
                                r.start = v.get(..15).and_then(|v| {
                                    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()
                                });
                            }
                            "RRULE" => r.yearly = yearly_rule(v),
                            _ => {}
                        }
                    }
                }
            }
            Some("VEVENT") if in_wanted => match &*name {
                "UID" => cal.uid = Some(p.value.trim().to_owned()),
                "SEQUENCE" => cal.sequence = p.value.trim().parse().unwrap_or(0),
                "SUMMARY" => cal.summary = Some(unescape(p.value).trim().to_owned()),
                "DESCRIPTION" => cal.description = Some(unescape(p.value)),
                "LOCATION" => cal.location = Some(unescape(p.value)),
                "URL" => cal.links.push(unescape(p.value)),
                "RRULE" => cal.rrule = Some(p.value.trim().to_owned()),
                "ORGANIZER" => {
                    let cn = p.param("CN").map(str::trim).filter(|s| !s.is_empty());
                    let mail = p.value.trim();
                    let mail = mail
                        .strip_prefix("mailto:")
                        .or_else(|| mail.strip_prefix("MAILTO:"))
                        .unwrap_or(mail);
                    // Zoom's own sender in the calendars its webinar registration mails
                    // carry ("CN=Zoom Webinar:no-reply@zoom.us"): not the one inviting.
                    if !zoom_no_reply(mail) {
                        cal.organizer = cn
                            .map(str::to_owned)
                            .or_else(|| (!mail.is_empty()).then(|| mail.to_owned()));
                    }
                }
                "DTSTART" => {
                    dtstart = Some((
                        p.value.trim().to_owned(),
                        p.param("TZID").map(str::to_owned),
                    ));
                }
                name if name.starts_with("X-") => {
                    let v = unescape(p.value);
                    if has_zoom(&v) {
                        cal.links.push(v);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    if let Some((value, tzid)) = dtstart {
        resolve_start(&mut cal, &value, tzid.as_deref(), &zones);
    }
    Some(cal)
}

fn parse_utc_offset(v: &str) -> Option<i32> {
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => (1, v),
    };
    if digits.len() < 4 || !digits.is_ascii() {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

fn resolve_start(cal: &mut Calendar, value: &str, tzid: Option<&str>, zones: &[VTimezone]) {
    let utc = value.ends_with('Z') || value.ends_with('z');
    let v = value.trim_end_matches(['Z', 'z']);
    // A date without time (all-day event) has no start time to join at.
    let naive = if v.len() >= 15 && v.is_char_boundary(15) {
        NaiveDateTime::parse_from_str(&v[..15], "%Y%m%dT%H%M%S").ok()
    } else {
        None
    };
    let Some(naive) = naive else {
        return;
    };
    if utc {
        cal.start = Some(chrono::Utc.from_utc_datetime(&naive).fixed_offset());
        cal.start_zoned = true;
        cal.timezone = Some("UTC".into());
        return;
    }
    let Some(tzid) = tzid else {
        return; // floating time
    };
    let zone = zones.iter().find(|z| z.tzid == tzid);
    let iana = time::zone_from_tzid(tzid)
        .or_else(|| zone.and_then(|z| z.location.as_deref().and_then(time::zone_from_tzid)));
    if let Some(tz) = iana {
        if let Some(dt) = time::localize(&tz, naive) {
            cal.start = Some(dt);
            cal.timezone = Some(tz.name().to_owned());
            cal.start_zoned = true;
        }
        return;
    }
    if let Some(off) = zone
        .and_then(|z| z.offset_at(naive))
        .and_then(FixedOffset::east_opt)
    {
        if let Some(dt) = off.from_local_datetime(&naive).single() {
            cal.start = Some(dt);
            cal.start_zoned = true;
        }
    }
}

/// True for Zoom's no-reply sender addresses (`no-reply@zoom.us`, `noreply@zoomgov.com`).
fn zoom_no_reply(mail: &str) -> bool {
    let Some((local, domain)) = mail.rsplit_once('@') else {
        return false;
    };
    let local = local.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    matches!(local.as_str(), "no-reply" | "noreply")
        && ["zoom.us", "zoomgov.com"]
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A TZID no table maps (Exchange's "GMT -0500 (Standard) / GMT -0400 (Daylight)", a
    /// French Zoom add-in invitation in a mail library's test data): the offset comes from the
    /// VTIMEZONE part that took effect last, by its yearly rule; in September that is DAYLIGHT.
    #[test]
    fn an_unmapped_tzid_takes_its_daylight_part_by_its_rule() {
        let cal = |tzid: &str, std_rule: &str, dst_rule: &str, std: &str, dst: &str, at: &str| {
            format!(
                "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\n\
                 DTSTART:16010101T020000\r\nTZOFFSETTO:{std}\r\nRRULE:{std_rule}\r\n\
                 END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\n\
                 TZOFFSETTO:{dst}\r\nRRULE:{dst_rule}\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
                 BEGIN:VEVENT\r\nDTSTART;TZID=\"{tzid}\":{at}\r\n\
                 LOCATION:https://zoom.us/j/99542199327\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )
        };
        let us = |at: &str| {
            let text = cal(
                "GMT -0500 (Standard) / GMT -0400 (Daylight)",
                "FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=11;BYDAY=1SU",
                "FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=3;BYDAY=2SU",
                "-0500",
                "-0400",
                at,
            );
            let c = parse(&text).expect("calendar");
            assert_eq!(c.timezone, None);
            c.start.map(|s| s.to_rfc3339())
        };
        assert_eq!(
            us("20200917T133000").as_deref(),
            Some("2020-09-17T13:30:00-04:00")
        );
        assert_eq!(
            us("20200115T133000").as_deref(),
            Some("2020-01-15T13:30:00-05:00")
        );
        // 2020: DST from Sunday 8 March, 02:00, to Sunday 1 November, 02:00.
        assert_eq!(
            us("20200308T013000").as_deref(),
            Some("2020-03-08T01:30:00-05:00")
        );
        assert_eq!(
            us("20200308T030000").as_deref(),
            Some("2020-03-08T03:00:00-04:00")
        );
        assert_eq!(
            us("20201101T030000").as_deref(),
            Some("2020-11-01T03:00:00-05:00")
        );
        assert_eq!(
            us("20201231T120000").as_deref(),
            Some("2020-12-31T12:00:00-05:00")
        );
        // The last Sunday of March and of October (a European zone's rules).
        let eu = |at: &str| {
            let text = cal(
                "Zone (Standard) / Zone (Daylight)",
                "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
                "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
                "+0100",
                "+0200",
                at,
            );
            parse(&text).and_then(|c| c.start).map(|s| s.to_rfc3339())
        };
        assert_eq!(
            eu("20260328T120000").as_deref(),
            Some("2026-03-28T12:00:00+01:00")
        );
        assert_eq!(
            eu("20260329T120000").as_deref(),
            Some("2026-03-29T12:00:00+02:00")
        );
        assert_eq!(
            eu("20261025T120000").as_deref(),
            Some("2026-10-25T12:00:00+01:00")
        );
        assert_eq!(yearly_rule("FREQ=WEEKLY;BYDAY=SU"), None);
        // Found by fuzzing: a BYDAY whose last two bytes cut a character.
        assert_eq!(yearly_rule("FREQ=YEARLY;BYMONTH=3;BYDAY=-1月"), None);
        assert_eq!(yearly_rule("FREQ=YEARLY;BYMONTH=3;BYDAY=é"), None);
        assert_eq!(yearly_rule("FREQ=YEARLY;BYMONTH=13;BYDAY=1SU"), None);
    }

    /// `unescape` as it was before it searched with memchr.
    fn old_unescape(v: &str) -> String {
        let mut out = String::with_capacity(v.len());
        let mut rest = v;
        while let Some(i) = rest.find('\\') {
            out.push_str(&rest[..i]);
            let mut chars = rest[i + 1..].chars();
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
            rest = chars.as_str();
        }
        out.push_str(rest);
        out
    }

    /// On every fixture line and on escapes before every kind of character, at the end too.
    #[test]
    fn unescape_matches_the_old_one() {
        for t in super::super::fixture_texts() {
            for line in t.split('\n') {
                assert_eq!(unescape(line), old_unescape(line), "{line:?}");
            }
        }
        let parts = [
            "\\", "n", "N", ",", ";", "é", "\u{3000}", "a", "\r", "\\\\", "",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let t = format!("{a}{b}x{c}{a}{b}");
                    assert_eq!(unescape(&t), old_unescape(&t), "{t:?}");
                }
            }
        }
    }

    /// A calendar pasted indented or quoted reads as the calendar itself: its lines lose the
    /// BEGIN line's prefix, and only lines indented further are folded.
    #[test]
    fn indented_or_quoted_calendar_reads_as_itself() {
        let ics = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nDTSTART;TZID=America/New_York:20260313T150000\nSUMMARY:Weekly\n  sync\nUID:u-1\nLOCATION:https://zoom.us/w/8123456\n 7890?tk=x\nEND:VEVENT\nEND:VCALENDAR\n";
        let want = parse(ics).expect("calendar");
        assert_eq!(want.summary.as_deref(), Some("Weekly sync"));
        for prefix in ["        ", "\t", "> ", ">> ", " * "] {
            let pasted: String = ics.lines().map(|l| format!("{prefix}{l}\n")).collect();
            let text = format!("Here it is:\n{pasted}thanks\n");
            let got = parse(&text);
            if prefix == " * " {
                // Not white space or quoting: the lines are left as they are.
                assert_ne!(got.and_then(|c| c.uid), Some("u-1".into()), "{prefix:?}");
                continue;
            }
            let got = got.expect("calendar");
            assert_eq!(got.uid, want.uid, "{prefix:?}");
            assert_eq!(got.summary, want.summary, "{prefix:?}");
            assert_eq!(got.location, want.location, "{prefix:?}");
            assert_eq!(got.start, want.start, "{prefix:?}");
        }
    }

    /// An exported calendar's Zoom meeting after other events is the one read; a calendar
    /// with no Zoom event gives its first.
    #[test]
    fn the_first_event_that_mentions_zoom() {
        let ev =
            |uid: &str, loc: &str| format!("BEGIN:VEVENT\nUID:{uid}\nLOCATION:{loc}\nEND:VEVENT\n");
        let cal =
            |events: &[String]| format!("BEGIN:VCALENDAR\n{}END:VCALENDAR\n", events.concat());
        let meet = ev("meet", "https://meet.google.com/abc-defg-hij");
        let zoom = ev("zoom", "https://zoom.us/j/81234567890");
        let office = ev("office", "Room 4");
        let c = parse(&cal(&[meet.clone(), office.clone(), zoom.clone()])).expect("calendar");
        assert_eq!(c.uid.as_deref(), Some("zoom"));
        assert_eq!(c.location.as_deref(), Some("https://zoom.us/j/81234567890"));
        let c = parse(&cal(&[meet.clone(), office])).expect("calendar");
        assert_eq!(c.uid.as_deref(), Some("meet"));
        let c = parse(&cal(&[zoom, meet])).expect("calendar");
        assert_eq!(c.uid.as_deref(), Some("zoom"));
    }

    /// Zoom's no-reply sender is not an organizer; a person, or an address alone, is.
    #[test]
    fn zoom_no_reply_is_not_the_organizer() {
        let cal = |org: &str| {
            let ics =
                format!("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u\n{org}\nEND:VEVENT\nEND:VCALENDAR\n");
            parse(&ics).expect("calendar").organizer
        };
        assert_eq!(
            cal("ORGANIZER;ROLE=REQ-PARTICIPANT;CN=Zoom Webinar:no-reply@zoom.us"),
            None
        );
        assert_eq!(cal("ORGANIZER:mailto:NoReply@us02web.zoom.us"), None);
        assert_eq!(
            cal("ORGANIZER;CN=Ana Ruiz:mailto:ana@zoom.us"),
            Some("Ana Ruiz".into())
        );
        assert_eq!(
            cal("ORGANIZER:mailto:no-reply@agency.example"),
            Some("no-reply@agency.example".into())
        );
        assert!(!zoom_no_reply("no-reply@notzoom.us"));
    }

    /// Lines that lost their fold's space join the property above them; the calendar's
    /// structure and text around it are left alone.
    #[test]
    fn folds_without_their_space_join_the_property_above() {
        let ics = "Hi\nBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u-2\nSUMMARY:Identificadores Persist\nentes Alternativos\nLOCATION:https://zoom.us/w/86167548999?\ntk=abc_DEF.1&uuid=WN_x\nnot a property\nEND:VEVENT\nstray\nEND:VCALENDAR\nBye\n";
        let c = parse(ics).expect("calendar");
        assert_eq!(c.uid.as_deref(), Some("u-2"));
        assert_eq!(
            c.summary.as_deref(),
            Some("Identificadores Persistentes Alternativos")
        );
        assert_eq!(
            c.location.as_deref(),
            Some("https://zoom.us/w/86167548999?tk=abc_DEF.1&uuid=WN_xnot a property")
        );
        for (l, want) in [
            ("DTSTART;TZID=X:1", true),
            ("X-MS-OLK:1", true),
            ("tk=abc", false),
            ("https://x", true),
            ("a b:c", false),
            (":x", false),
            ("", false),
        ] {
            assert_eq!(is_property(l), want, "{l:?}");
        }
    }

    #[test]
    fn reads_zoom_calendar() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nDTSTART;TZID=America/New_York:20260313T150000\r\nSUMMARY:A\\, B\r\nUID:abc\r\nSEQUENCE:3\r\nLOCATION:https://zoom.us/j/1\r\n 23456789\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let c = parse(ics).expect("calendar");
        assert_eq!(c.method.as_deref(), Some("CANCEL"));
        assert_eq!(c.uid.as_deref(), Some("abc"));
        assert_eq!(c.sequence, 3);
        assert_eq!(c.summary.as_deref(), Some("A, B"));
        assert_eq!(c.location.as_deref(), Some("https://zoom.us/j/123456789"));
        assert_eq!(
            c.start.map(|s| s.to_rfc3339()),
            Some("2026-03-13T15:00:00-04:00".to_owned())
        );
        assert_eq!(c.timezone.as_deref(), Some("America/New_York"));
    }
    /// A property as the test compares it: name, parameters, value (all upper-cased but the
    /// value).
    type PropLine = (String, Vec<(String, String)>, String);

    /// The copying reader this one replaced: every line owned, every name and parameter key
    /// upper-cased.
    fn old_lines(text: &str) -> Vec<PropLine> {
        let property = regex::Regex::new("^[A-Za-z0-9-]+[:;]").expect("regex");
        let bound = regex::Regex::new("(?i)^(?:BEGIN|END):").expect("regex");
        let mut lines: Vec<String> = Vec::new();
        for raw in text.split('\n') {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if let Some(cont) = line.strip_prefix([' ', '\t']) {
                if let Some(last) = lines.last_mut() {
                    last.push_str(cont);
                    continue;
                }
            }
            // A fold that lost its space, under a property other than BEGIN and END.
            if !property.is_match(line) {
                if let Some(last) = lines
                    .last_mut()
                    .filter(|l| property.is_match(l) && !bound.is_match(l))
                {
                    last.push_str(line);
                    continue;
                }
            }
            lines.push(line.to_owned());
        }
        lines
            .iter()
            .filter_map(|line| {
                let mut quote = false;
                let mut colon = None;
                for (i, c) in line.char_indices() {
                    match c {
                        '"' => quote = !quote,
                        ':' if !quote => {
                            colon = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let colon = colon?;
                let mut parts = line[..colon].split(';');
                let name = parts.next()?.trim().to_ascii_uppercase();
                if name.is_empty() {
                    return None;
                }
                let params = parts
                    .filter_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        Some((
                            k.trim().to_ascii_uppercase(),
                            v.trim().trim_matches('"').to_owned(),
                        ))
                    })
                    .collect();
                Some((name, params, line[colon + 1..].to_owned()))
            })
            .collect()
    }

    fn assert_same_lines(text: &str) {
        let new: Vec<_> = unfold(text)
            .filter_map(|line| {
                let p = split_prop(&line)?;
                let keys: Vec<(String, String)> = p
                    .params
                    .split(';')
                    .filter_map(|kv| {
                        kv.split_once('=')
                            .map(|(k, _)| k.trim().to_ascii_uppercase())
                    })
                    .map(|k| {
                        let v = p.param(&k).unwrap_or_default().to_owned();
                        (k, v)
                    })
                    .collect();
                Some((p.name.to_ascii_uppercase(), keys, p.value.to_owned()))
            })
            .collect();
        let old: Vec<_> = old_lines(text)
            .into_iter()
            .map(|(name, params, value)| {
                // The lookup returns the first parameter of a name, as the old one did.
                let firsts = params
                    .iter()
                    .map(|(k, _)| {
                        let v = params
                            .iter()
                            .find(|(k2, _)| k2 == k)
                            .map(|(_, v)| v.clone());
                        (k.clone(), v.unwrap_or_default())
                    })
                    .collect();
                (name, firsts, value)
            })
            .collect();
        assert_eq!(new, old, "{}", text.chars().take(120).collect::<String>());
    }

    /// The borrowing line reader against the copying one, on every fixture and on edits of them
    /// that fold, unfold, quote and re-case lines.
    #[test]
    fn borrowed_lines_match_copied_lines() {
        let texts = super::super::fixture_texts();
        let edits: [(&str, &str); 9] = [
            ("\r\n", "\r\n "),
            ("\n", "\n\t"),
            (":", "\":"),
            ("TZID=", "tzid = "),
            ("DTSTART", "dtStart"),
            (";", "\";\""),
            ("\r\n", "\n"),
            ("BEGIN", " BEGIN"),
            ("=", ""),
        ];
        for t in &texts {
            assert_same_lines(t);
            for (from, to) in edits {
                assert_same_lines(&t.replacen(from, to, 3));
                assert_same_lines(&t.replace(from, to));
            }
        }
        for t in [
            "",
            " a:b",
            "\t\n",
            "A;X=\"q:r\";Y=1:v\r\n x",
            "é;ü=1:ß\n\u{3000}y",
            ":",
            "\r",
        ] {
            assert_same_lines(t);
        }
    }
}
