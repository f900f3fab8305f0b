//! The outbox: every email dragoman sends is a row first (written in the same transaction as
//! the change that causes it) and leaves through the worker here, after commit.
//!
//! Nothing else in the crate sends email.

pub mod templates;

use crate::domain::EmailAddress;
use crate::store::NewEmail;
use templates::Rendered;

/// A fresh, globally unique `Message-ID` (without angle brackets) in our domain.
pub fn new_message_id(kind: &str, from: &EmailAddress) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    let r: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{kind}.{r}@{}", from.domain())
}

/// Builds the outbox row for a rendered message.
pub fn compose(
    kind: &str,
    to: &EmailAddress,
    from: &EmailAddress,
    rendered: Rendered,
    in_reply_to: Option<String>,
) -> NewEmail {
    NewEmail {
        message_id: new_message_id(kind, from),
        kind: kind.to_string(),
        to: to.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        in_reply_to,
    }
}
