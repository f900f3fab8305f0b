//! Email templates (minijinja): text and HTML for every message dragoman sends, built in and
//! overridable from a directory (`[templates] dir`). HTML is autoescaped.
//!
//! Rendering is pure: it never reads the clock and never touches the store. Templates receive
//! only what the recipient may see: never a passcode or a Zoom join URL in an offer.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{context, AutoEscape, Environment};

use crate::domain::{Interpreter, Request};

/// The built-in templates: (name, source). `NAME.subject`, `NAME.txt` and `NAME.html` per message.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "offer.subject",
        include_str!("../../templates/offer.subject"),
    ),
    ("offer.txt", include_str!("../../templates/offer.txt")),
    ("offer.html", include_str!("../../templates/offer.html")),
    (
        "confirmation.subject",
        include_str!("../../templates/confirmation.subject"),
    ),
    (
        "confirmation.txt",
        include_str!("../../templates/confirmation.txt"),
    ),
    (
        "confirmation.html",
        include_str!("../../templates/confirmation.html"),
    ),
    (
        "received.subject",
        include_str!("../../templates/received.subject"),
    ),
    ("received.txt", include_str!("../../templates/received.txt")),
    (
        "received.html",
        include_str!("../../templates/received.html"),
    ),
    (
        "not_understood.subject",
        include_str!("../../templates/not_understood.subject"),
    ),
    (
        "not_understood.txt",
        include_str!("../../templates/not_understood.txt"),
    ),
    (
        "not_understood.html",
        include_str!("../../templates/not_understood.html"),
    ),
    (
        "not_authorised.subject",
        include_str!("../../templates/not_authorised.subject"),
    ),
    (
        "not_authorised.txt",
        include_str!("../../templates/not_authorised.txt"),
    ),
    (
        "not_authorised.html",
        include_str!("../../templates/not_authorised.html"),
    ),
    (
        "assigned.subject",
        include_str!("../../templates/assigned.subject"),
    ),
    ("assigned.txt", include_str!("../../templates/assigned.txt")),
    (
        "assigned.html",
        include_str!("../../templates/assigned.html"),
    ),
    (
        "cancelled.subject",
        include_str!("../../templates/cancelled.subject"),
    ),
    (
        "cancelled.txt",
        include_str!("../../templates/cancelled.txt"),
    ),
    (
        "cancelled.html",
        include_str!("../../templates/cancelled.html"),
    ),
    (
        "assignment_cancelled.subject",
        include_str!("../../templates/assignment_cancelled.subject"),
    ),
    (
        "assignment_cancelled.txt",
        include_str!("../../templates/assignment_cancelled.txt"),
    ),
    (
        "assignment_cancelled.html",
        include_str!("../../templates/assignment_cancelled.html"),
    ),
    (
        "nobody_available.subject",
        include_str!("../../templates/nobody_available.subject"),
    ),
    (
        "nobody_available.txt",
        include_str!("../../templates/nobody_available.txt"),
    ),
    (
        "nobody_available.html",
        include_str!("../../templates/nobody_available.html"),
    ),
    (
        "offer_reply.subject",
        include_str!("../../templates/offer_reply.subject"),
    ),
    (
        "offer_reply.txt",
        include_str!("../../templates/offer_reply.txt"),
    ),
    (
        "offer_reply.html",
        include_str!("../../templates/offer_reply.html"),
    ),
    (
        "paused.subject",
        include_str!("../../templates/paused.subject"),
    ),
    ("paused.txt", include_str!("../../templates/paused.txt")),
    ("paused.html", include_str!("../../templates/paused.html")),
    (
        "reoffered.subject",
        include_str!("../../templates/reoffered.subject"),
    ),
    (
        "reoffered.txt",
        include_str!("../../templates/reoffered.txt"),
    ),
    (
        "reoffered.html",
        include_str!("../../templates/reoffered.html"),
    ),
    (
        "no_show_released.subject",
        include_str!("../../templates/no_show_released.subject"),
    ),
    (
        "no_show_released.txt",
        include_str!("../../templates/no_show_released.txt"),
    ),
    (
        "no_show_released.html",
        include_str!("../../templates/no_show_released.html"),
    ),
    (
        "meeting_moved.subject",
        include_str!("../../templates/meeting_moved.subject"),
    ),
    (
        "meeting_moved.txt",
        include_str!("../../templates/meeting_moved.txt"),
    ),
    (
        "meeting_moved.html",
        include_str!("../../templates/meeting_moved.html"),
    ),
    ("layout.html", include_str!("../../templates/layout.html")),
    (
        "offer_digest.subject",
        include_str!("../../templates/offer_digest.subject"),
    ),
    (
        "offer_digest.txt",
        include_str!("../../templates/offer_digest.txt"),
    ),
    (
        "offer_digest.html",
        include_str!("../../templates/offer_digest.html"),
    ),
];

/// A message to render.
#[derive(Debug)]
pub enum Message<'a> {
    /// An offer to an interpreter, with the link to the offer page.
    Offer {
        interpreter: &'a Interpreter,
        request: &'a Request,
        offer_url: String,
        expires_at: DateTime<Utc>,
    },
    /// The winner's confirmation with the join link.
    Confirmation {
        interpreter: &'a Interpreter,
        request: &'a Request,
        join_url: String,
    },
    /// To the requestor: the request is recorded, with what was understood (never the passcode).
    Received { request: &'a Request },
    /// To the sender: the message was not an invitation we could read, why, and how to fix it.
    NotUnderstood {
        reason: &'a crate::invitation::NotAnInvitation,
        original_subject: Option<&'a str>,
        /// The route address the message was sent to.
        address: &'a str,
    },
    /// To an unknown sender (only with `[requestors] unknown_senders = "reply"`).
    NotAuthorised { sender: &'a str, address: &'a str },
    /// To the requestor: an interpreter accepted.
    Assigned {
        request: &'a Request,
        interpreter: &'a Interpreter,
    },
    /// To the requestor: the request is cancelled.
    Cancelled {
        request: &'a Request,
        had_interpreter: bool,
    },
    /// To the assigned interpreter: the request is cancelled.
    AssignmentCancelled {
        interpreter: &'a Interpreter,
        request: &'a Request,
    },
    /// To the requestor: nobody accepted by the deadline (issue #5 sends it).
    NobodyAvailable { request: &'a Request },
    /// To an interpreter who answered an offer by email: accepting happens on the offer page.
    OfferReply { original_subject: Option<&'a str> },
    /// To the requestor (and the coordinator): the interpreter did not join; we are finding
    /// another one (issue #5).
    Reoffered { request: &'a Request },
    /// To the assigned interpreter: a calendar update moved the meeting (issue #5).
    MeetingMoved {
        interpreter: &'a Interpreter,
        request: &'a Request,
        /// `false`: the new time no longer fits them, and the assignment is released.
        still_yours: bool,
    },
    /// To the interpreter who did not join by start + grace: the assignment is released.
    NoShowReleased {
        interpreter: &'a Interpreter,
        request: &'a Request,
    },
    /// To an interpreter paused after `unanswered` offers in a row went unanswered (issue #5).
    Paused {
        interpreter: &'a Interpreter,
        unanswered: i64,
    },
    /// Several open offers to one interpreter in one mail, each with its own link; `now` says
    /// how long each is still open.
    OfferDigest {
        interpreter: &'a Interpreter,
        offers: Vec<DigestOffer<'a>>,
        now: DateTime<Utc>,
    },
}

/// One offer of an [`Message::OfferDigest`].
#[derive(Debug)]
pub struct DigestOffer<'a> {
    pub request: &'a Request,
    /// The subject of the offer's own email (what, when, the topic).
    pub subject: &'a str,
    pub offer_url: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl Message<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Message::Offer { .. } => "offer",
            Message::Confirmation { .. } => "confirmation",
            Message::Received { .. } => "received",
            Message::NotUnderstood { .. } => "not_understood",
            Message::NotAuthorised { .. } => "not_authorised",
            Message::Assigned { .. } => "assigned",
            Message::Cancelled { .. } => "cancelled",
            Message::AssignmentCancelled { .. } => "assignment_cancelled",
            Message::NobodyAvailable { .. } => "nobody_available",
            Message::OfferReply { .. } => "offer_reply",
            Message::Paused { .. } => "paused",
            Message::Reoffered { .. } => "reoffered",
            Message::NoShowReleased { .. } => "no_show_released",
            Message::MeetingMoved { .. } => "meeting_moved",
            Message::OfferDigest { .. } => "offer_digest",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).finish()
    }
}

impl Templates {
    /// Built-in templates, each replaced by a file of the same name in `dir` when present.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_keep_trailing_newline(true);
        for (name, source) in BUILT_IN.iter().chain(super::zoom_connect::TEMPLATES) {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("reading template {}: {e}", path.display()))?,
                None => (*source).to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| anyhow::anyhow!("template {name} does not compile: {e}"))?;
        }
        Ok(Templates {
            env,
            dir: dir.map(Path::to_path_buf),
        })
    }

    pub fn render(&self, message: &Message<'_>) -> anyhow::Result<Rendered> {
        let ctx = match message {
            Message::Offer {
                interpreter,
                request,
                offer_url,
                expires_at,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                request => request_ctx(request, &interpreter.timezone),
                offer_url => offer_url,
                expires => local_time(*expires_at, &interpreter.timezone),
            },
            Message::Confirmation {
                interpreter,
                request,
                join_url,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                request => request_ctx(request, &interpreter.timezone),
                join_url => join_url,
                display_name => interpreter.display_name(&request.pair.from),
            },
            Message::Received { request }
            | Message::NobodyAvailable { request }
            | Message::Reoffered { request } => context! {
                request => request_ctx(request, requestor_zone(request)),
            },
            Message::NotUnderstood {
                reason,
                original_subject,
                address,
            } => {
                let (problem, fix) = explain(reason);
                context! {
                    problem => problem,
                    fix => fix,
                    address => address,
                    original_subject => original_subject.map(one_line).unwrap_or_else(|| "your message".into()),
                }
            }
            Message::NotAuthorised { sender, address } => context! {
                sender => sender,
                address => address,
            },
            Message::Assigned {
                request,
                interpreter,
            } => context! {
                request => request_ctx(request, requestor_zone(request)),
                display_name => interpreter.display_name(&request.pair.from),
            },
            Message::Cancelled {
                request,
                had_interpreter,
            } => context! {
                request => request_ctx(request, requestor_zone(request)),
                had_interpreter => had_interpreter,
            },
            Message::AssignmentCancelled {
                interpreter,
                request,
            }
            | Message::NoShowReleased {
                interpreter,
                request,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                request => request_ctx(request, &interpreter.timezone),
            },
            Message::MeetingMoved {
                interpreter,
                request,
                still_yours,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                request => request_ctx(request, &interpreter.timezone),
                still_yours => still_yours,
            },
            Message::Paused {
                interpreter,
                unanswered,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                unanswered => unanswered,
            },
            Message::OfferReply { original_subject } => context! {
                original_subject => original_subject
                    .map(|s| one_line(s).trim_start_matches("Re: ").to_string())
                    .unwrap_or_else(|| "your offer".into()),
            },
            Message::OfferDigest {
                interpreter,
                offers,
                now,
            } => context! {
                interpreter => interpreter_ctx(interpreter),
                offers => offers.iter().map(|o| context! {
                    request => request_ctx(o.request, &interpreter.timezone),
                    subject => one_line(o.subject),
                    offer_url => o.offer_url,
                    expires => local_time(o.expires_at, &interpreter.timezone),
                    open_for => open_for(o.expires_at - *now),
                }).collect::<Vec<_>>(),
            },
        };
        let name = message.name();
        let get = |part: &str| -> anyhow::Result<String> {
            let t = self.env.get_template(&format!("{name}.{part}"))?;
            t.render(&ctx)
                .map_err(|e| anyhow::anyhow!("rendering {name}.{part}: {e}"))
        };
        Ok(Rendered {
            subject: get("subject")?
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_string(),
            text: get("txt")?,
            html: get("html")?,
        })
    }
}

impl Templates {
    /// Renders the message `name` (`NAME.subject`, `.txt`, `.html`) with `ctx`: for messages
    /// whose context is built beside their own templates (`outbox::zoom_connect`).
    pub fn render_named(&self, name: &str, ctx: &minijinja::Value) -> anyhow::Result<Rendered> {
        let get = |part: &str| -> anyhow::Result<String> {
            let t = self.env.get_template(&format!("{name}.{part}"))?;
            t.render(ctx)
                .map_err(|e| anyhow::anyhow!("rendering {name}.{part}: {e}"))
        };
        Ok(Rendered {
            subject: get("subject")?
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_string(),
            text: get("txt")?,
            html: get("html")?,
        })
    }
}

fn interpreter_ctx(i: &Interpreter) -> minijinja::Value {
    context! { name => i.name, first_name => i.first_name(), id => i.id }
}

fn request_ctx(r: &Request, tz: &str) -> minijinja::Value {
    context! {
        id => r.id,
        pair => r.pair.to_string(),
        from_language => r.pair.from.english_name(),
        to_language => r.pair.to.english_name(),
        topic => r.meeting.topic.clone().unwrap_or_else(|| "Zoom meeting".into()),
        start => r.meeting.start.map(|s| local_time(s, tz)),
        kind => r.meeting.kind,
        meeting_id => r.meeting.meeting_id.clone(),
    }
}

/// The zone requestor mail shows times in: we keep no zone per requestor, so the
/// invitation's own zone (what the requestor wrote), else UTC.
fn requestor_zone(r: &Request) -> &str {
    r.meeting.timezone.as_deref().unwrap_or("UTC")
}

/// A header value on one line, at most 120 characters (it is echoed from untrusted mail).
fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(120).collect()
}

/// What was missing, in the requestor's words, and how to fix it.
pub fn explain(reason: &crate::invitation::NotAnInvitation) -> (String, String) {
    use crate::invitation::NotAnInvitation as N;
    const FORWARD: &str = "forward the Zoom invitation itself (it holds a link such as \
        https://zoom.us/j/81234567890?pwd=…), or paste its text into the body of your email.";
    match reason {
        N::NoJoinLink => (
            "we could not find a Zoom join link in your message".into(),
            FORWARD.into(),
        ),
        N::TooLarge { size, limit } => (
            format!("your message is {size} bytes, over our limit of {limit} bytes"),
            "send the invitation text on its own, without attachments.".into(),
        ),
        N::Malformed(_) => (
            "we could not read your message (it is not well-formed email)".into(),
            "send the invitation again as plain text in the body of a new email.".into(),
        ),
        N::NotInvitation(why) => (
            format!("it does not look like a Zoom invitation ({why})"),
            FORWARD.into(),
        ),
    }
}

/// How long something stays open, in words a reader takes in at a glance: "45 min",
/// "2 h 5 min", "3 days 4 h" (minutes rounded down; under a minute reads "less than a minute").
pub fn open_for(left: chrono::Duration) -> String {
    let minutes = left.num_minutes();
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours, mins) {
        _ if minutes < 1 => "less than a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".into(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// "Thu 3 Dec 10:00 EST" in the recipient's zone (UTC when the zone is unknown).
pub fn local_time(t: DateTime<Utc>, tz: &str) -> String {
    let zone: Tz = tz.parse().unwrap_or(Tz::UTC);
    t.with_timezone(&zone)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, LanguagePair, Meeting, RequestState};

    fn fixtures() -> (Interpreter, Request) {
        let i = Interpreter {
            id: 7,
            name: "Ana <b>Ruiz</b>".into(),
            email: EmailAddress::parse("ana@example.com").unwrap(),
            pairs: vec![LanguagePair::parse("es:en").unwrap()],
            timezone: "America/New_York".into(),
            presence_until: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        let r = Request {
            id: 3,
            state: RequestState::Offered,
            meeting: Meeting {
                meeting_id: Some("81234567890".into()),
                passcode: Some("s3cret".into()),
                join_url: "https://us02web.zoom.us/j/81234567890?pwd=abc.1".into(),
                host: "us02web.zoom.us".into(),
                kind: "meeting".into(),
                topic: Some("Cardiology <follow-up>".into()),
                start: DateTime::from_timestamp(1_796_310_000, 0),
                timezone: Some("America/New_York".into()),
            },
            pair: LanguagePair::parse("es:en").unwrap(),
            requestor: EmailAddress::parse("dr@clinic.example").unwrap(),
            route_address: "es-en@agency.example".into(),
            epoch: 0,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        (i, r)
    }

    #[test]
    fn offer_says_what_when_and_never_the_join_url() {
        let t = Templates::load(None).unwrap();
        let (i, r) = fixtures();
        let m = t
            .render(&Message::Offer {
                interpreter: &i,
                request: &r,
                offer_url: "http://x/offer/T".into(),
                expires_at: DateTime::from_timestamp(1_796_306_400, 0).unwrap(),
            })
            .unwrap();
        assert!(
            m.subject.starts_with("Offer: Spanish→English"),
            "{}",
            m.subject
        );
        assert!(
            m.subject.contains("EST"),
            "times in the interpreter's zone: {}",
            m.subject
        );
        let html = m.html.replace("&#x2f;", "/");
        for part in [&m.text, &html] {
            assert!(part.contains("http://x/offer/T"));
            assert!(
                !part.contains("zoom.us"),
                "an offer never carries the join URL"
            );
            assert!(
                !part.contains("s3cret"),
                "an offer never carries the passcode"
            );
        }
        assert!(
            m.html.contains("Cardiology &lt;follow-up&gt;"),
            "HTML is escaped: {}",
            m.html
        );
        assert!(!m.html.contains("<b>Ruiz</b>"));
    }

    #[test]
    fn confirmation_carries_our_join_link() {
        let t = Templates::load(None).unwrap();
        let (i, r) = fixtures();
        let m = t
            .render(&Message::Confirmation {
                interpreter: &i,
                request: &r,
                join_url: "http://x/join/J".into(),
            })
            .unwrap();
        assert!(m.text.contains("http://x/join/J"));
        assert!(m.html.replace("&#x2f;", "/").contains("http://x/join/J"));
        assert!(m.text.contains("Ana 7 (Spanish Interpreter)"));
    }

    #[test]
    fn open_for_reads_at_a_glance() {
        let m = chrono::Duration::minutes;
        assert_eq!(
            open_for(chrono::Duration::seconds(30)),
            "less than a minute"
        );
        assert_eq!(open_for(m(-5)), "less than a minute");
        assert_eq!(open_for(m(45)), "45 min");
        assert_eq!(open_for(m(60)), "1 h");
        assert_eq!(open_for(m(125)), "2 h 5 min");
        assert_eq!(open_for(m(1440 + 30)), "1 day");
        assert_eq!(open_for(m(1440 + 120)), "1 day 2 h");
        assert_eq!(open_for(m(3 * 1440 + 4 * 60 + 59)), "3 days 4 h");
        assert_eq!(open_for(m(2 * 1440)), "2 days");
    }

    #[test]
    fn a_directory_overrides_a_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("offer.subject"),
            "Custom {{ request.pair }}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let (i, r) = fixtures();
        let m = t
            .render(&Message::Offer {
                interpreter: &i,
                request: &r,
                offer_url: "u".into(),
                expires_at: DateTime::from_timestamp(0, 0).unwrap(),
            })
            .unwrap();
        assert_eq!(m.subject, "Custom Spanish→English");
    }
}
