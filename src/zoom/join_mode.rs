//! Which join mode an assignment really gets: the requestor's own mode
//! (`[[requestors.preference]] join_mode`) or else `[zoom] join_mode`, when it can work; else
//! `[zoom] join_fallback`, with a note saying why (recorded on the assignment, shown by
//! `request show` and `request explain`).
//!
//! Pure: the caller says which Zoom users are connected (`zoom::connect::connected` reads
//! those facts from the store). The join page resolves again at each view, with the facts of
//! that moment, and falls back too when Zoom does not give the ZAK / OBF token.

use crate::config::{JoinMode, RequestorsConfig};
use crate::domain::EmailAddress;

/// Where the mode to try comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeSource {
    /// `[zoom] join_mode`.
    Global,
    /// `[[requestors.preference]]` with this `sender` (the requestor's address or domain).
    Requestor { rule: String },
}

/// The mode to try for one requestor, and where it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub mode: JoinMode,
    pub source: ModeSource,
}

impl Configured {
    /// `[zoom] join_mode` for everyone.
    pub fn global(mode: JoinMode) -> Configured {
        Configured {
            mode,
            source: ModeSource::Global,
        }
    }

    /// The requestor's mode from `[[requestors.preference]]` (the most specific rule that
    /// sets one), else `global` (`[zoom] join_mode`).
    pub fn for_requestor(
        global: JoinMode,
        requestors: &RequestorsConfig,
        requestor: &EmailAddress,
    ) -> Configured {
        match requestors.join_mode_of(requestor) {
            Some((mode, rule)) => Configured {
                mode,
                source: ModeSource::Requestor {
                    rule: rule.to_string(),
                },
            },
            None => Configured::global(global),
        }
    }

    /// "join_mode obf" for the global mode; with where it was set for a requestor's.
    fn describe(&self) -> String {
        match &self.source {
            ModeSource::Global => format!("join_mode {}", self.mode.as_str()),
            ModeSource::Requestor { rule } => format!(
                "join_mode {} (set for this requestor by [[requestors.preference]] sender {rule})",
                self.mode.as_str()
            ),
        }
    }
}

/// The mode decided for one assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedJoinMode {
    pub mode: JoinMode,
    /// Why `mode` is what it is when that is not simply `[zoom] join_mode`: a requestor's own
    /// mode says where it was set, a fallback says what was missing. `None` otherwise.
    pub note: Option<String>,
}

/// `configured` when it can work; `obf` needs the requestor's connected Zoom user, `zak` the
/// interpreter's; otherwise `fallback` (`same_account` or `link`).
pub fn resolve(
    configured: &Configured,
    fallback: JoinMode,
    requestor_connected: bool,
    interpreter_connected: bool,
) -> ResolvedJoinMode {
    let missing = match configured.mode {
        JoinMode::Obf if !requestor_connected => {
            Some("the requestor has not connected a Zoom user")
        }
        JoinMode::Zak if !interpreter_connected => {
            Some("the interpreter has not connected a Zoom user")
        }
        _ => None,
    };
    match missing {
        None => ResolvedJoinMode {
            mode: configured.mode,
            note: match configured.source {
                ModeSource::Global => None,
                ModeSource::Requestor { .. } => Some(configured.describe()),
            },
        },
        Some(why) => ResolvedJoinMode {
            mode: fallback,
            note: Some(format!(
                "{} needs a connected Zoom user and {why}: fell back to {}",
                configured.describe(),
                fallback.as_str()
            )),
        },
    }
}

/// The line `request explain` prints about the join mode, from what the assignment recorded
/// (`request show --json`: `join_mode`, `join_mode_note`).
pub fn explain_line(mode: Option<&str>, note: Option<&str>) -> String {
    match (mode, note) {
        (None, _) => "join mode: not decided yet (decided when an interpreter accepts)".into(),
        (Some(mode), Some(note)) => format!("join mode: {mode} ({note})"),
        (Some(mode), None) => format!("join mode: {mode} ([zoom] join_mode)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(m: JoinMode) -> Configured {
        Configured::global(m)
    }

    fn for_clinic(m: JoinMode) -> Configured {
        Configured {
            mode: m,
            source: ModeSource::Requestor {
                rule: "clinic.example".into(),
            },
        }
    }

    #[test]
    fn configured_mode_when_it_can_work() {
        for m in [JoinMode::SameAccount, JoinMode::Link] {
            assert_eq!(resolve(&global(m), JoinMode::Link, false, false).mode, m);
        }
        let r = resolve(&global(JoinMode::Obf), JoinMode::Link, true, false);
        assert_eq!((r.mode, r.note), (JoinMode::Obf, None));
        let r = resolve(&global(JoinMode::Zak), JoinMode::Link, false, true);
        assert_eq!((r.mode, r.note), (JoinMode::Zak, None));
    }

    #[test]
    fn falls_back_and_says_why() {
        let r = resolve(&global(JoinMode::Obf), JoinMode::SameAccount, false, true);
        assert_eq!(r.mode, JoinMode::SameAccount);
        assert_eq!(
            r.note.as_deref(),
            Some("join_mode obf needs a connected Zoom user and the requestor has not connected a Zoom user: fell back to same_account")
        );
        let r = resolve(&global(JoinMode::Zak), JoinMode::Link, true, false);
        assert_eq!(r.mode, JoinMode::Link);
        assert!(r
            .note
            .unwrap()
            .contains("the interpreter has not connected"));
    }

    #[test]
    fn a_requestors_own_mode_says_where_it_was_set() {
        let r = resolve(&for_clinic(JoinMode::Zak), JoinMode::Link, false, true);
        assert_eq!(r.mode, JoinMode::Zak);
        assert_eq!(
            r.note.as_deref(),
            Some("join_mode zak (set for this requestor by [[requestors.preference]] sender clinic.example)")
        );
        // A requestor's `link` always works and still says why it is not the global mode.
        let r = resolve(
            &for_clinic(JoinMode::Link),
            JoinMode::SameAccount,
            false,
            false,
        );
        assert_eq!(r.mode, JoinMode::Link);
        assert!(r.note.unwrap().contains("sender clinic.example"));
        let r = resolve(&for_clinic(JoinMode::Obf), JoinMode::Link, false, true);
        assert_eq!(r.mode, JoinMode::Link);
        assert_eq!(
            r.note.as_deref(),
            Some("join_mode obf (set for this requestor by [[requestors.preference]] sender clinic.example) needs a connected Zoom user and the requestor has not connected a Zoom user: fell back to link")
        );
    }

    #[test]
    fn explain_says_which_mode_and_why() {
        assert_eq!(
            explain_line(Some("same_account"), None),
            "join mode: same_account ([zoom] join_mode)"
        );
        assert_eq!(
            explain_line(Some("link"), Some("join_mode obf … fell back to link")),
            "join mode: link (join_mode obf … fell back to link)"
        );
        assert!(explain_line(None, None).contains("not decided yet"));
    }
}
