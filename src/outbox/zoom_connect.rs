//! The `zoom_connect` email (issue #7): a link that lets one interpreter or requestor connect
//! their Zoom user (`dragoman zoom connect-link --send`). Owns its templates (registered with
//! the built-in ones, overridable from `[templates] dir` like them) and their context.
//!
//! Rendering is pure: no clock, no store. The link is a capability: it goes into the email
//! body and nowhere else (never a log).

use chrono::{DateTime, Utc};
use minijinja::context;

use super::templates::{local_time, Rendered, Templates};
use crate::domain::Interpreter;

/// The message name (outbox `kind`, template file stem).
pub const NAME: &str = "zoom_connect";

/// `zoom_connect.subject`, `.txt` and `.html`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "zoom_connect.subject",
        include_str!("../../templates/zoom_connect.subject"),
    ),
    (
        "zoom_connect.txt",
        include_str!("../../templates/zoom_connect.txt"),
    ),
    (
        "zoom_connect.html",
        include_str!("../../templates/zoom_connect.html"),
    ),
];

/// Who the link is for.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    /// For `zak` joins and attribution by their Zoom user; times in their zone.
    Interpreter(&'a Interpreter),
    /// For `obf` joins and the participant report; times in UTC (we keep no zone for them).
    Requestor,
}

/// Renders the email carrying `connect_url`, valid until `expires_at`.
pub fn render(
    templates: &Templates,
    to: Recipient<'_>,
    connect_url: &str,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<Rendered> {
    let ctx = match to {
        Recipient::Interpreter(i) => context! {
            interpreter => context! { name => i.name, first_name => i.first_name(), id => i.id },
            connect_url => connect_url,
            expires => local_time(expires_at, &i.timezone),
        },
        Recipient::Requestor => context! {
            connect_url => connect_url,
            expires => local_time(expires_at, "UTC"),
        },
    };
    templates.render_named(NAME, &ctx)
}
