//! Which join mode an assignment really gets: the configured one when it can work, else the
//! configured fallback, with a note saying why (recorded on the assignment, shown by
//! `request show`).
//!
//! Pure: the caller says which Zoom users are connected (`zoom::connect::connected` reads
//! those facts from the store). The join page resolves again at each view, with the facts of
//! that moment, and falls back too when Zoom does not give the ZAK / OBF token.

use crate::config::JoinMode;

/// The mode decided for one assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedJoinMode {
    pub mode: JoinMode,
    /// Why `mode` is not the configured one; `None` when it is.
    pub note: Option<String>,
}

/// `configured` when it can work; `obf` needs the requestor's connected Zoom user, `zak` the
/// interpreter's; otherwise `fallback` (`same_account` or `link`).
pub fn resolve(
    configured: JoinMode,
    fallback: JoinMode,
    requestor_connected: bool,
    interpreter_connected: bool,
) -> ResolvedJoinMode {
    let missing = match configured {
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
            mode: configured,
            note: None,
        },
        Some(why) => ResolvedJoinMode {
            mode: fallback,
            note: Some(format!(
                "join_mode {} needs a connected Zoom user and {why}: fell back to {}",
                configured.as_str(),
                fallback.as_str()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_mode_when_it_can_work() {
        for m in [JoinMode::SameAccount, JoinMode::Link] {
            assert_eq!(resolve(m, JoinMode::Link, false, false).mode, m);
        }
        let r = resolve(JoinMode::Obf, JoinMode::Link, true, false);
        assert_eq!((r.mode, r.note), (JoinMode::Obf, None));
        let r = resolve(JoinMode::Zak, JoinMode::Link, false, true);
        assert_eq!((r.mode, r.note), (JoinMode::Zak, None));
    }

    #[test]
    fn falls_back_and_says_why() {
        let r = resolve(JoinMode::Obf, JoinMode::SameAccount, false, true);
        assert_eq!(r.mode, JoinMode::SameAccount);
        assert_eq!(
            r.note.as_deref(),
            Some("join_mode obf needs a connected Zoom user and the requestor has not connected a Zoom user: fell back to same_account")
        );
        let r = resolve(JoinMode::Zak, JoinMode::Link, true, false);
        assert_eq!(r.mode, JoinMode::Link);
        assert!(r
            .note
            .unwrap()
            .contains("the interpreter has not connected"));
    }
}
