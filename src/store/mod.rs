//! The `Store` trait: every durable unit of work, one transaction each, and its two backends.
//!
//! SQL lives here and nowhere else (`sqlite.rs`, `postgres.rs`, methods in the same order as
//! the trait). Callers never see `sqlx`. Times are passed in as `now`; the store never reads
//! the clock. Timestamps are stored as integer Unix milliseconds in both dialects.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    AssignmentId, AttributionMethod, CustomerKey, EmailAddress, Interpreter, InterpreterId,
    LanguagePair, Meeting, NewInterpreter, OfferId, OfferState, Request, RequestId, RequestState,
    TokenHash,
};

pub mod postgres;
pub mod sqlite;

/// Errors the callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (e.g. an interpreter with that email exists).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The database cannot be reached or failed; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that this version cannot read (a bug or a manual edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An email to be written to the outbox in the same transaction as the change that causes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEmail {
    /// Stable `Message-ID` (without angle brackets); also the outbox's idempotency key.
    pub message_id: String,
    /// What kind of message this is (`offer`, `confirmation`, …): for status and metrics.
    pub kind: String,
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub in_reply_to: Option<String>,
}

/// An outbox row claimed by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxJob {
    pub id: i64,
    pub email: NewEmail,
    pub attempts: i64,
}

/// The message that an ingest step is recording (the dedupe key for mail sources).
#[derive(Debug, Clone)]
pub struct IngestedMessage {
    /// The `[[mailbox]]` name.
    pub mailbox: String,
    /// Unique within the mailbox: the Maildir unique name, or `UIDVALIDITY:UID` for IMAP.
    pub source_key: String,
    pub message_id: Option<String>,
    /// SHA-256 of the raw bytes, hex.
    pub sha256: String,
}

/// A new request plus the offers that go out with it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub meeting: Meeting,
    pub pair: LanguagePair,
    pub requestor: EmailAddress,
    pub route_address: String,
}

/// One offer to write: the interpreter, the hashed token and its email.
#[derive(Debug, Clone)]
pub struct NewOffer {
    pub interpreter_id: InterpreterId,
    pub token_hash: TokenHash,
    pub expires_at: DateTime<Utc>,
    pub email: NewEmail,
}

/// What an ingest step decided about a message.
#[derive(Debug, Clone)]
pub enum IngestDecision {
    /// An invitation from an allowed sender for a route: record the request (or find the
    /// existing one for the same meeting) and, only if it is new, its offers and emails.
    Request {
        request: NewRequest,
        offers: Vec<NewOffer>,
        emails: Vec<NewEmail>,
    },
    /// Not turned into a request (unknown sender, not an invitation, no route, loop safety);
    /// `emails` may hold a reply.
    Rejected {
        reason: String,
        emails: Vec<NewEmail>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The request was created.
    Created(RequestId),
    /// The same meeting was already a request; nothing new was offered.
    DuplicateMeeting(RequestId),
    /// This very message (mailbox + source key) was already recorded.
    AlreadyRecorded,
    Rejected,
}

/// An offer with what a person needs to see on its page.
#[derive(Debug, Clone, Serialize)]
pub struct OfferView {
    pub offer_id: OfferId,
    pub state: OfferState,
    pub expires_at: DateTime<Utc>,
    pub interpreter: Interpreter,
    pub request: Request,
}

/// What the winner of an accept needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssignment {
    pub customer_key: CustomerKey,
    pub join_token_hash: TokenHash,
    pub join_expires_at: DateTime<Utc>,
    /// The confirmation email with the join link.
    pub email: NewEmail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AcceptOutcome {
    /// This accept won.
    Won {
        offer_id: OfferId,
        request_id: RequestId,
        assignment_id: AssignmentId,
    },
    /// This interpreter had already won: same answer as before, nothing changed.
    AlreadyYours {
        offer_id: OfferId,
        request_id: RequestId,
        assignment_id: AssignmentId,
    },
    /// Someone else won, or the request is no longer open.
    Taken,
    /// The offer expired, was declined, or the token is unknown.
    Gone,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeclineOutcome {
    Declined,
    /// Already declined: same answer.
    AlreadyDeclined,
    /// Not pending any more (accepted, superseded, expired) or unknown.
    Gone,
}

/// Everything the join page needs, found by the join token.
#[derive(Debug, Clone)]
pub struct JoinView {
    pub assignment_id: AssignmentId,
    pub customer_key: CustomerKey,
    pub expires_at: DateTime<Utc>,
    pub interpreter: Interpreter,
    pub request: Request,
}

/// A participant event from a Zoom webhook, already verified and parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantEvent {
    /// Unique per event under Zoom's retries (request id, or event+ts+uuid+participant).
    pub dedupe_key: String,
    pub meeting_id: String,
    pub meeting_uuid: String,
    /// Zoom's `participant_uuid` (or `id`/`user_id` when missing): ties a leave to its join.
    pub participant_key: String,
    pub user_name: Option<String>,
    pub customer_key: Option<String>,
    pub kind: ParticipantEventKind,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantEventKind {
    Joined,
    Left,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Recorded and attributed with this method.
    Recorded(AttributionMethod),
    /// The same event was seen before: nothing changed.
    Duplicate,
}

/// One attendance interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attendance {
    pub interpreter: Option<InterpreterId>,
    pub method: AttributionMethod,
    pub user_name: Option<String>,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

/// A request with everything `request show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    pub request: Request,
    pub assigned_interpreter: Option<InterpreterId>,
    pub customer_key: Option<String>,
    pub offers: Vec<OfferSummary>,
    pub attendance: Vec<Attendance>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferSummary {
    pub offer_id: OfferId,
    pub interpreter: InterpreterId,
    pub state: OfferState,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Counts for `dragoman status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusCounts {
    pub requests: Vec<(String, i64)>,
    pub offers: Vec<(String, i64)>,
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    pub outbox_sent: i64,
    pub interpreters: i64,
    pub interpreters_online: i64,
    pub messages_ingested: i64,
    pub messages_rejected: i64,
}

/// Every durable unit of work. Each method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;

    // ---- roster -------------------------------------------------------------------------

    async fn add_interpreter(
        &self,
        new: &NewInterpreter,
        now: DateTime<Utc>,
    ) -> StoreResult<Interpreter>;
    async fn list_interpreters(&self) -> StoreResult<Vec<Interpreter>>;
    /// By numeric id or by email (case-insensitive).
    async fn find_interpreter(&self, id_or_email: &str) -> StoreResult<Option<Interpreter>>;
    /// Sets the presence lease (`None`: offline). Returns the updated interpreter.
    async fn set_presence(
        &self,
        id: InterpreterId,
        until: Option<DateTime<Utc>>,
    ) -> StoreResult<Interpreter>;
    /// Interpreters who have this directed pair and are online at `now`, by id.
    async fn eligible_interpreters(
        &self,
        pair: &LanguagePair,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Interpreter>>;

    // ---- ingest -------------------------------------------------------------------------

    /// True when this message (mailbox + source key) is already recorded.
    async fn message_recorded(&self, mailbox: &str, source_key: &str) -> StoreResult<bool>;
    /// Records the message and what was decided about it, in one transaction with the request,
    /// offers and emails. Idempotent by (mailbox, source key) and by meeting.
    async fn record_ingest(
        &self,
        message: &IngestedMessage,
        decision: &IngestDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome>;

    // ---- offers -------------------------------------------------------------------------

    async fn offer_by_token(&self, token: &TokenHash) -> StoreResult<Option<OfferView>>;
    /// Exactly one accept per request wins, whatever the concurrency.
    async fn accept_offer(
        &self,
        token: &TokenHash,
        assignment: &NewAssignment,
        now: DateTime<Utc>,
    ) -> StoreResult<AcceptOutcome>;
    async fn decline_offer(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<DeclineOutcome>;
    async fn join_by_token(&self, token: &TokenHash) -> StoreResult<Option<JoinView>>;

    // ---- requests -----------------------------------------------------------------------

    async fn list_requests(&self) -> StoreResult<Vec<Request>>;
    async fn request_detail(&self, id: RequestId) -> StoreResult<Option<RequestDetail>>;
    /// Cancels an open, offered or assigned request; pending offers are superseded.
    /// Returns false when the request was already finished.
    async fn cancel_request(
        &self,
        id: RequestId,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // ---- zoom ---------------------------------------------------------------------------

    /// Records a participant event once, attributing it by `customer_key`.
    async fn record_participant_event(
        &self,
        event: &ParticipantEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookOutcome>;

    // ---- outbox -------------------------------------------------------------------------

    /// Claims up to `limit` due jobs, leasing them until `lease_until` (SKIP LOCKED on PostgreSQL).
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxJob>>;
    async fn outbox_sent(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// `retry_at: None` marks the job failed for good.
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    // ---- status -------------------------------------------------------------------------

    async fn status(&self, now: DateTime<Utc>) -> StoreResult<StatusCounts>;
}

/// Opens the store named by a `sqlite:` or `postgres:` URL (atuin's pattern: the scheme picks
/// the backend). Does not migrate.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let _ = sqlite::SqliteStore::connect(url).await?;
        anyhow::bail!("the SQLite store is not written yet")
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let _ = postgres::PostgresStore::connect(url).await?;
        anyhow::bail!("the PostgreSQL store is not written yet")
    } else {
        anyhow::bail!(
            "database url must start with sqlite: or postgres: (got scheme {:?})",
            url.split(':').next().unwrap_or("")
        )
    }
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

/// The state as text for the `state` column, and back.
pub(crate) fn parse_request_state(s: &str) -> StoreResult<RequestState> {
    RequestState::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown request state {s:?}")))
}

pub(crate) fn parse_offer_state(s: &str) -> StoreResult<OfferState> {
    OfferState::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown offer state {s:?}")))
}
