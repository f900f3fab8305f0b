//! TEMPORARY contract stub for the invitation parser (replaced by the parser branch).
use serde::Serialize;

pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invitation {
    pub meeting_id: Option<String>,
    pub passcode: Option<String>,
    pub join_url: String,
    pub host: String,
    pub kind: MeetingKind,
    pub topic: Option<String>,
    pub start: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub timezone: Option<String>,
    pub recurrence: Option<String>,
    pub organizer: Option<String>,
    pub locale: Option<String>,
    pub calendar: Option<CalendarRef>,
}
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarRef {
    pub uid: String,
    pub sequence: i64,
    pub method: Option<String>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    Meeting,
    Webinar,
    Personal,
    Recurring,
}
impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Meeting => "meeting",
            MeetingKind::Webinar => "webinar",
            MeetingKind::Personal => "personal",
            MeetingKind::Recurring => "recurring",
        }
    }
}
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotAnInvitation {
    #[error("not a Zoom invitation: no Zoom join link found")]
    NoJoinLink,
    #[error("message too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("not an invitation: {0}")]
    NotInvitation(String),
}
pub fn parse(bytes: &[u8]) -> Result<Invitation, NotAnInvitation> {
    parse_with_limit(bytes, DEFAULT_MAX_BYTES)
}
pub fn parse_with_limit(_bytes: &[u8], _max_bytes: usize) -> Result<Invitation, NotAnInvitation> {
    Err(NotAnInvitation::NoJoinLink)
}
pub fn to_json(file: &str, result: &Result<Invitation, NotAnInvitation>) -> serde_json::Value {
    match result {
        Ok(_) => serde_json::json!({"file": file, "ok": true}),
        Err(e) => serde_json::json!({"file": file, "ok": false, "error": e.to_string()}),
    }
}
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub recipients: Vec<String>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub automated: Option<String>,
}
pub fn envelope(_bytes: &[u8]) -> Envelope {
    Envelope::default()
}
/// The decoded text of a whole message (its first text part, or HTML as text): for reading
/// back what dragoman itself sent (demo, tests).
pub fn text_of_message(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}
