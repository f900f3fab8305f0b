//! Roster use cases beyond one-line CLI calls (issue #5): an interpreter entry with its
//! matching profile parsed from text (CLI flags or a CSV row), and `interpreter import`, which
//! reads CSV, adds every good row, and reports every bad one with its line number. The only
//! user of the `csv` crate. Never reads the clock: `now` is a parameter.

use std::io::Read;

use chrono::{DateTime, Utc};

use crate::domain::{EmailAddress, LanguagePair, NewInterpreter};
use crate::matching::profile::{Availability, Profile, Skill};
use crate::store::{Store, StoreError};

/// An interpreter as typed by a person: every field still text.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EntryText {
    pub name: String,
    pub email: String,
    /// `es:en` pairs separated by spaces, commas or semicolons; `es<>en` adds both directions.
    pub pairs: String,
    #[serde(default)]
    pub timezone: String,
    /// `medical` or `medical:2027-06-30`, separated by spaces or semicolons.
    #[serde(default)]
    pub skills: String,
    /// `mon-fri 09:00-17:00; sat 10:00-14:00`, empty for any time.
    #[serde(default)]
    pub availability: String,
    #[serde(default)]
    pub max_day_minutes: String,
    #[serde(default)]
    pub max_week_minutes: String,
}

/// A checked entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub new: NewInterpreter,
    pub profile: Profile,
}

/// Splits a pair list; `A<>B` means both directions.
pub fn parse_pairs(s: &str) -> Result<Vec<LanguagePair>, String> {
    let mut out = Vec::new();
    for item in s
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        match item.split_once("<>") {
            Some((a, b)) => {
                out.push(LanguagePair::parse(&format!("{a}:{b}"))?);
                out.push(LanguagePair::parse(&format!("{b}:{a}"))?);
            }
            None => out.push(LanguagePair::parse(item)?),
        }
    }
    if out.is_empty() {
        return Err(
            "pairs: give at least one directed pair such as es:en (es<>en for both directions)"
                .into(),
        );
    }
    Ok(out)
}

fn parse_cap(field: &str, s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!(
            "{field}: {s:?} is not a positive number of minutes"
        )),
    }
}

impl EntryText {
    /// Checks every field; the error names the field and how to write it.
    pub fn check(&self) -> Result<Entry, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("name: is empty".into());
        }
        let email = EmailAddress::parse(self.email.trim()).map_err(|e| format!("email: {e}"))?;
        let pairs = parse_pairs(&self.pairs)?;
        let timezone = match self.timezone.trim() {
            "" => "UTC".to_string(),
            tz => {
                tz.parse::<chrono_tz::Tz>().map_err(|_| {
                    format!("timezone: {tz:?} is not an IANA zone such as America/New_York")
                })?;
                tz.to_string()
            }
        };
        let skills = self
            .skills
            .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Skill::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let availability = match self.availability.trim() {
            "" => None,
            a => Some(Availability::parse(a)?),
        };
        Ok(Entry {
            new: NewInterpreter {
                name: name.to_string(),
                email,
                pairs,
                timezone,
            },
            profile: Profile {
                skills,
                availability,
                max_day_minutes: parse_cap("max_day_minutes", &self.max_day_minutes)?,
                max_week_minutes: parse_cap("max_week_minutes", &self.max_week_minutes)?,
                paused_at: None,
                unanswered: 0,
            },
        })
    }
}

/// Adds one checked entry with its profile.
pub async fn add(
    store: &dyn Store,
    entry: &Entry,
    now: DateTime<Utc>,
) -> Result<crate::domain::Interpreter, StoreError> {
    let i = store.add_interpreter(&entry.new, now).await?;
    store.set_interpreter_profile(i.id, &entry.profile).await?;
    Ok(i)
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    pub added: usize,
    /// (line number, what is wrong).
    pub errors: Vec<(u64, String)>,
}

/// Reads CSV with a header row (`name,email,pairs,timezone,skills,availability,
/// max_day_minutes,max_week_minutes`; only the first three are required) and adds every good
/// row. `progress` is called every 1,000 rows with the rows read so far.
pub async fn import_csv(
    store: &dyn Store,
    input: impl Read,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("reading the CSV header: {e}"))?
        .clone();
    for required in ["name", "email", "pairs"] {
        if !headers.iter().any(|h| h == required) {
            anyhow::bail!(
                "the CSV header has no {required:?} column: the first line must name the columns, e.g. name,email,pairs,timezone,skills,availability"
            );
        }
    }
    let mut report = ImportReport::default();
    for (n, record) in reader.records().enumerate() {
        if n > 0 && n % 1000 == 0 {
            progress(n);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(n as u64 + 2);
                report.errors.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(n as u64 + 2);
        let text: EntryText = match record.deserialize(Some(&headers)) {
            Ok(t) => t,
            Err(e) => {
                report.errors.push((line, format!("{e}")));
                continue;
            }
        };
        let entry = match text.check() {
            Ok(e) => e,
            Err(e) => {
                report.errors.push((line, e));
                continue;
            }
        };
        match add(store, &entry, now).await {
            Ok(_) => report.added += 1,
            Err(StoreError::Conflict(m)) => report.errors.push((line, m)),
            Err(e) => return Err(anyhow::Error::from(e).context(format!("adding line {line}"))),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_directed_unless_marked_both_ways() {
        let p = parse_pairs("es:en, fr<>en").unwrap();
        let s: Vec<String> = p.iter().map(|p| format!("{}:{}", p.from, p.to)).collect();
        assert_eq!(s, ["es:en", "fr:en", "en:fr"]);
        assert!(parse_pairs("").is_err());
        assert!(parse_pairs("es-en").is_err());
    }

    #[test]
    fn entries_name_the_bad_field() {
        let good = EntryText {
            name: "Ana".into(),
            email: "ana@example.com".into(),
            pairs: "es:en".into(),
            skills: "medical:2027-01-31 legal".into(),
            availability: "mon-fri 09:00-17:00".into(),
            max_day_minutes: "240".into(),
            ..EntryText::default()
        };
        let e = good.check().unwrap();
        assert_eq!(e.profile.skills.len(), 2);
        assert_eq!(e.profile.max_day_minutes, Some(240));
        assert_eq!(e.new.timezone, "UTC");
        for (field, bad) in [
            (
                "email",
                EntryText {
                    email: "nope".into(),
                    ..good.clone()
                },
            ),
            (
                "timezone",
                EntryText {
                    timezone: "Mars/Olympus".into(),
                    ..good.clone()
                },
            ),
            (
                "skill",
                EntryText {
                    skills: "med ical:x".into(),
                    ..good.clone()
                },
            ),
            (
                "availability",
                EntryText {
                    availability: "weekdays".into(),
                    ..good.clone()
                },
            ),
            (
                "max_day_minutes",
                EntryText {
                    max_day_minutes: "-3".into(),
                    ..good.clone()
                },
            ),
        ] {
            let err = bad.check().unwrap_err();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
