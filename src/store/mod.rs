//! The `Store` trait: every durable unit of work, one transaction each, and its two backends.
//!
//! SQL lives here and nowhere else (`sqlite.rs`, `postgres.rs`, methods in the same order as
//! the trait; the SQL both dialects share is written once in the `*_sql.rs` macro files).
//! Callers never see `sqlx`. Times are passed in as `now`; the store never reads the clock.
//! Timestamps are stored as integer Unix milliseconds in both dialects.

pub mod matching;
#[macro_use]
mod matching_sql;
#[macro_use]
mod ingest_sql;
#[macro_use]
mod zoom_sql;
#[macro_use]
mod outbox_sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use self::matching::{
    CalendarKey, DecisionRecord, DispatchPlan, ExplainRow, MatchingContext, Removed, Reschedule,
    Timer, TimerKind, WaveRecord,
};
use crate::matching::profile::Profile;
use crate::matching::Candidate;

use crate::domain::{
    AssignmentId, AttributionMethod, CustomerKey, EmailAddress, Interpreter, InterpreterId,
    Language, LanguagePair, Meeting, NewInterpreter, OfferId, OfferState, Request, RequestId,
    RequestState, TokenHash,
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
    /// The offer an `offer` email is about (written with it); `None` for every other email.
    pub offer_id: Option<OfferId>,
}

/// The offer behind an outbox job, as the worker needs it to fold offers into a digest.
#[derive(Debug, Clone)]
pub struct OutboxOffer {
    pub job_id: i64,
    pub offer: OfferView,
    /// To find the offer's own link in the job's text (the token itself is only there).
    pub token_hash: TokenHash,
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
    /// The calendar event it came from (UID, SEQUENCE), so a later update or cancellation
    /// finds it (issue #5).
    pub calendar: Option<CalendarKey>,
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
#[allow(
    clippy::large_enum_variant,
    reason = "one value per ingested message, built by callers with a struct literal: boxing buys nothing"
)]
pub enum IngestDecision {
    /// An invitation from an allowed sender for a route: record the request (or find the
    /// existing one for the same meeting) and, only if it is new, its offers and emails.
    Request {
        request: NewRequest,
        offers: Vec<NewOffer>,
        emails: Vec<NewEmail>,
        /// Matching's decisions and timers (issue #5); `None` writes the offers only.
        dispatch: Option<DispatchPlan>,
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
    /// The "interpreter assigned" email to the requestor, written only when this accept wins.
    pub requestor_email: Option<NewEmail>,
    /// When to check that the interpreter joined (start + grace); `None`: never (issue #5).
    pub noshow_check_at: Option<DateTime<Utc>>,
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
    /// When Zoom said the meeting started / ended (`meeting.started` / `meeting.ended` of its
    /// latest instance); `None` when no such event arrived.
    pub meeting_started_at: Option<DateTime<Utc>>,
    pub meeting_ended_at: Option<DateTime<Utc>>,
    /// The join mode the assignment was given, and why when it is a fallback.
    pub join_mode: Option<String>,
    pub join_mode_note: Option<String>,
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
    /// Offer emails folded into a digest (sent as part of it), and offer emails closed unsent
    /// because their offer was no longer open when the worker came to them.
    pub outbox_digested: i64,
    pub outbox_skipped: i64,
    pub interpreters: i64,
    pub interpreters_online: i64,
    pub messages_ingested: i64,
    pub messages_rejected: i64,
}

// ---- zoom events (issue #7) -------------------------------------------------------------

/// A verified Zoom webhook event, to be stored raw before Zoom gets its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct NewZoomEvent {
    /// Unique per event under Zoom's retries (see `zoom::events::envelope`).
    pub dedupe_key: String,
    /// Zoom's event name (`meeting.participant_joined`, …).
    pub event: String,
    /// The raw body exactly as received (verified, UTF-8).
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoomEventInsert {
    /// Stored with this id; process it.
    Inserted(i64),
    /// The same event was stored before (a retry): nothing written.
    Duplicate,
}

/// A stored event not processed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredZoomEvent {
    pub id: i64,
    pub dedupe_key: String,
    pub event: String,
    pub body: String,
    pub received_at: DateTime<Utc>,
    /// Attempts so far (0: never tried).
    pub attempts: i64,
}

/// What a stored event asks of the store, parsed by `zoom::events`.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoomAction {
    /// A participant joined (also before the host, or waiting for the host) or left.
    /// `named_interpreter` is the interpreter id and first name read from a display name of
    /// the form `"{FirstName} {InterpreterId} ({Language} Interpreter)"`, if it has that form.
    Participant {
        event: ParticipantEvent,
        named_interpreter: Option<(InterpreterId, String)>,
        /// The participant's own Zoom user, as far as the event tells (attribution step 3).
        zoom_user: ParticipantZoomUser,
    },
    MeetingStarted {
        meeting_id: String,
        meeting_uuid: String,
        at: DateTime<Utc>,
    },
    /// Closes every open attendance row of the instance at `at` and finishes (`done`) the
    /// assigned requests for `meeting_id`.
    MeetingEnded {
        meeting_id: String,
        meeting_uuid: String,
        at: DateTime<Utc>,
    },
    /// The Zoom user removed dragoman's app: forget what we hold for them.
    Deauthorized { zoom_user_id: String },
    /// Nothing to do (an event dragoman does not use).
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ZoomApplied {
    /// A participant event recorded with this attribution method.
    Participant(AttributionMethod),
    MeetingStarted,
    MeetingEnded {
        /// Attendance rows closed at the end time.
        closed_rows: u64,
        /// Requests that became `done`.
        done: Vec<RequestId>,
    },
    Deauthorized,
    Nothing,
    /// Someone else (the inline step or another worker) processed it first: nothing written.
    AlreadyProcessed,
}

/// Every durable unit of work. Each method is one transaction.
///
/// Both backends implement exactly the semantics written here; `tests/store_contract.rs` runs
/// one story against both and is the check.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;

    // ---- roster -------------------------------------------------------------------------

    /// Adds an interpreter with its pairs (returned sorted, duplicates dropped).
    /// `Conflict` when an interpreter with that email (case-insensitive) exists.
    async fn add_interpreter(
        &self,
        new: &NewInterpreter,
        now: DateTime<Utc>,
    ) -> StoreResult<Interpreter>;
    /// Every interpreter, by id.
    async fn list_interpreters(&self) -> StoreResult<Vec<Interpreter>>;
    /// By numeric id (when the text is all digits) or by email (case-insensitive).
    async fn find_interpreter(&self, id_or_email: &str) -> StoreResult<Option<Interpreter>>;
    /// Sets the presence lease (`None`: offline). Returns the updated interpreter;
    /// `NotFound` for an unknown id.
    async fn set_presence(
        &self,
        id: InterpreterId,
        until: Option<DateTime<Utc>>,
    ) -> StoreResult<Interpreter>;
    /// Interpreters who have this exact directed pair and are online at `now`
    /// (`presence_until > now`), by id.
    async fn eligible_interpreters(
        &self,
        pair: &LanguagePair,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Interpreter>>;

    // ---- ingest -------------------------------------------------------------------------

    /// True when this message (mailbox + source key) is already recorded.
    async fn message_recorded(&self, mailbox: &str, source_key: &str) -> StoreResult<bool>;
    /// Records the message and what was decided about it, in one transaction with the request,
    /// offers and emails. Idempotent by (mailbox, source key) and by meeting:
    ///
    /// - (mailbox, source key) already recorded → `AlreadyRecorded`, nothing written.
    /// - `Request`: the request is stored with `meeting.dedupe_key()` as its meeting key, in
    ///   state `offered` when `offers` is non-empty, else `open`. When a request for the same
    ///   meeting key and pair exists, the message is recorded with outcome `duplicate` and
    ///   `DuplicateMeeting(existing id)` is returned: no offers and no emails are written.
    ///   Otherwise the offers (state `pending`), each offer's email, and `emails` are written,
    ///   the message is recorded with outcome `request`, and `Created(id)` is returned.
    /// - `Rejected`: the message is recorded with outcome `rejected` and the reason, plus
    ///   `emails`; returns `Rejected`.
    ///
    /// Every email goes to the outbox as `pending`, due at `now`; an email whose `message_id`
    /// is already in the outbox is skipped (so a replay never sends twice).
    async fn record_ingest(
        &self,
        message: &IngestedMessage,
        decision: &IngestDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome>;

    // ---- offers -------------------------------------------------------------------------

    /// The offer with its interpreter and request, whatever its state (the page shows it).
    async fn offer_by_token(&self, token: &TokenHash) -> StoreResult<Option<OfferView>>;
    /// Exactly one accept per request wins, whatever the concurrency:
    ///
    /// - unknown token → `Gone`;
    /// - offer already accepted → `AlreadyYours` with the existing assignment (nothing written);
    /// - offer superseded (another accept won, or the request was cancelled) → `Taken`;
    /// - offer otherwise not pending (declined, expired), or `expires_at <= now` → `Gone`;
    /// - the request moves from `open`/`offered` to `assigned` (epoch + 1) in one conditional
    ///   update: the winner's offer becomes `accepted`, the request's other pending offers
    ///   `superseded`, the assignment and `assignment.email` are written → `Won`;
    /// - the conditional update changes nothing (someone else won, or the request was
    ///   cancelled or finished) → `Taken`, or `AlreadyYours` when the winner was a concurrent
    ///   accept of this same offer.
    ///
    /// A losing accept writes nothing.
    async fn accept_offer(
        &self,
        token: &TokenHash,
        assignment: &NewAssignment,
        now: DateTime<Utc>,
    ) -> StoreResult<AcceptOutcome>;
    /// A pending, unexpired offer becomes `declined` → `Declined`; an already declined one →
    /// `AlreadyDeclined`; anything else (unknown, accepted, superseded, expired) → `Gone`.
    /// The request's state is not changed, even when no pending offer remains (the next wave
    /// is the offers module's decision).
    async fn decline_offer(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<DeclineOutcome>;
    /// The assignment whose join token hashes to `token`, whatever its expiry (the caller
    /// compares `expires_at` with its clock).
    async fn join_by_token(&self, token: &TokenHash) -> StoreResult<Option<JoinView>>;

    // ---- requests -----------------------------------------------------------------------

    /// Every request, by id.
    async fn list_requests(&self) -> StoreResult<Vec<Request>>;
    /// The request, its assignment, its offers (by id) and its attendance: rows attributed to
    /// its assignment, plus unattributed rows of the same Zoom meeting id.
    async fn request_detail(&self, id: RequestId) -> StoreResult<Option<RequestDetail>>;
    /// Cancels an open, offered or assigned request (epoch + 1); pending offers are superseded
    /// and `emails` are enqueued. Returns false (nothing written) when the request is unknown or
    /// already finished.
    async fn cancel_request(
        &self,
        id: RequestId,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // ---- zoom ---------------------------------------------------------------------------

    /// Records a participant event once (by `dedupe_key`; a repeat → `Duplicate`).
    ///
    /// `Joined`: attributed by `customer_key` to its assignment (method `customer_key`, with
    /// the interpreter) or else `unattributed`; opens an attendance row. `Left`: closes the most
    /// recent open row of (meeting uuid, participant key) and returns that row's method; when
    /// the join never arrived, a row with only `left_at` is written, attributed as a join would
    /// be.
    async fn record_participant_event(
        &self,
        event: &ParticipantEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookOutcome>;

    // ---- outbox -------------------------------------------------------------------------

    /// Claims up to `limit` due jobs (state `pending`, `next_attempt_at <= now`, not leased or
    /// lease over), oldest first: each is leased until `lease_until` and its `attempts` is
    /// incremented (the returned value counts this attempt). SKIP LOCKED on PostgreSQL.
    /// With a never-tried offer email among them, the same recipient's other due, never-tried
    /// offer emails are claimed too (beyond `limit`), so the worker can send them as one digest.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxJob>>;
    /// Marks the job sent at `now`. `NotFound` for an unknown id.
    async fn outbox_sent(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records `error`. With `retry_at` the job is pending again, due then, lease cleared;
    /// `retry_at: None` marks the job failed for good. `NotFound` for an unknown id.
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Marks every job in `ids` sent at `now`, in one transaction (the worker's group commit of
    /// sends that completed together). Unknown ids are ignored; returns how many were marked.
    async fn outbox_sent_many(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<u64>;
    /// The offers behind those of `job_ids` that are offer emails (with their request and
    /// interpreter), in `job_ids` order; jobs without an offer are left out.
    async fn outbox_offers(&self, job_ids: &[i64]) -> StoreResult<Vec<OutboxOffer>>;
    /// One transaction: each job in `skipped` is closed unsent (state `skipped`: its offer
    /// closed before it left); with `digest`, that email is written as a new job, claimed
    /// already (leased until `lease_until`, attempt 1), and each job in `members` is folded
    /// into it (state `digested`, `digest_of` = the new job). Only jobs still leased and
    /// pending are touched. Returns the digest job, or `None` without `digest` or when its
    /// `Message-ID` is in the outbox already (then nothing is folded).
    async fn outbox_digest(
        &self,
        members: &[i64],
        skipped: &[i64],
        digest: Option<&NewEmail>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OutboxJob>>;

    // ---- status -------------------------------------------------------------------------

    /// Requests and offers counted by state (every state listed, in `ALL` order, zeros
    /// included); outbox by state; interpreters in total and online at `now`; messages in total
    /// (`messages_ingested`, every outcome) and with outcome `rejected`.
    async fn status(&self, now: DateTime<Utc>) -> StoreResult<StatusCounts>;

    // ---- IMAP ingest (issue #4) -----------------------------------------------------------

    /// The UID high-water mark of (mailbox, UIDVALIDITY), and whether the mailbox has marks
    /// under other UIDVALIDITY values (a change: the caller rescans and logs loudly).
    async fn imap_mark(&self, mailbox: &str, uidvalidity: u32) -> StoreResult<ImapMark>;
    /// `record_ingest`, plus, when `cursor` is given, in the same transaction: the high-water
    /// mark of (mailbox, UIDVALIDITY) advanced to at least `cursor.uid` (whatever the outcome,
    /// `AlreadyRecorded` included), and a second dedupe: a message of the same mailbox with the
    /// same Message-ID or the same SHA-256 already recorded → `AlreadyRecorded`, nothing else
    /// written (a rescan after a UIDVALIDITY change never doubles a request or a reply).
    async fn record_ingest_at(
        &self,
        cursor: Option<&ImapCursor>,
        message: &IngestedMessage,
        decision: &IngestDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome>;
    /// Several `record_ingest_at`s in ONE transaction (group commit), applied in order, so
    /// each sees the writes of those before it (the same meeting twice: the second is a
    /// `DuplicateMeeting`); the outcomes in the same order. All or nothing: an error writes
    /// nothing at all, marks included.
    async fn record_ingest_group(
        &self,
        items: &[IngestItem<'_>],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IngestOutcome>>;
    /// Counts one failed attempt at (mailbox, source key) and returns the attempts so far.
    async fn ingest_attempt_failed(
        &self,
        mailbox: &str,
        source_key: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Gives up on a message: keeps its raw bytes (when read) in the quarantine, records it as
    /// `rejected` ("quarantined: …") so it is never tried again, and advances the mark, in one
    /// transaction. Idempotent by (mailbox, source key).
    async fn quarantine_message(
        &self,
        cursor: Option<&ImapCursor>,
        message: &IngestedMessage,
        raw: Option<&[u8]>,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Quarantined messages of a mailbox: (source key, raw bytes, error), oldest first.
    async fn quarantined(
        &self,
        mailbox: &str,
    ) -> StoreResult<Vec<(String, Option<Vec<u8>>, String)>>;
    /// Health of a watched mailbox: a successful contact (with the backlog seen then) when
    /// `error` is `None`, else the error. Upsert by mailbox.
    async fn record_mailbox_health(
        &self,
        mailbox: &str,
        backlog: Option<i64>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Every mailbox's health, by name.
    async fn mailbox_health(&self) -> StoreResult<Vec<MailboxHealth>>;
    /// Takes or renews the lease on watching `mailbox`: true when `owner` holds it until
    /// `until` (it was free, expired at `now`, or already `owner`'s); false when another owner
    /// holds an unexpired lease. One owner per mailbox at a time.
    async fn acquire_mailbox_lease(
        &self,
        mailbox: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives the lease up (only if `owner` holds it).
    async fn release_mailbox_lease(&self, mailbox: &str, owner: &str) -> StoreResult<()>;

    // ---- conversations (issue #6) -------------------------------------------------------

    /// How many outbox rows of a [`REPLY_KINDS`] kind to `to` (case-insensitive) were created after `since`
    /// (whatever their state): the per-address daily cap on automatic replies.
    async fn replies_since(&self, to: &EmailAddress, since: DateTime<Utc>) -> StoreResult<i64>;
    /// The most recent of our outbox messages whose `Message-ID` is among `message_ids` (the
    /// `In-Reply-To` and `References` of an incoming reply), with the request it belongs to
    /// when it answered a requestor's message that became (or matched) a request. `None`
    /// when none of the ids is ours. At most the first 32 ids are looked at.
    async fn conversation_of(&self, message_ids: &[String]) -> StoreResult<Option<OurMessage>>;
    /// The latest of our sent messages to `to` (case-insensitive) created after `since` whose
    /// subject is exactly `subject`: a reply whose client dropped `In-Reply-To`/`References`.
    async fn conversation_by_subject(
        &self,
        to: &EmailAddress,
        subject: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<OurMessage>>;
    /// The `Message-ID` of the first message recorded for this request (the requestor's mail
    /// that created or matched it), for threading our answers with it.
    async fn request_thread(&self, id: RequestId) -> StoreResult<Option<String>>;

    // ---- zoom events (issue #7; keep this block last) ------------------------------------

    /// Stores a verified webhook event before it is processed (`attempts` 0, unprocessed).
    /// A `dedupe_key` seen before → `Duplicate`, nothing written.
    async fn record_zoom_event(
        &self,
        event: &NewZoomEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<ZoomEventInsert>;
    /// [`Store::record_zoom_event`] for several events in ONE transaction (the webhook
    /// receiver's group commit): one answer per event, in order. A `dedupe_key` stored before,
    /// or earlier in the same slice, → `Duplicate`. All or nothing: an error stores none.
    async fn record_zoom_events(
        &self,
        events: &[NewZoomEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ZoomEventInsert>>;
    /// Applies `action` for the stored event `id` and marks it processed at `now`
    /// (`attempts` + 1), in one transaction; `AlreadyProcessed` (nothing written) when it was
    /// processed already, `NotFound` for an unknown id.
    ///
    /// - `Participant`: attributed by `customer_key` to its assignment (method
    ///   `customer_key`); else, when `named_interpreter` names an interpreter whose first name
    ///   matches (case-insensitive) and who holds an assignment for a request with this Zoom
    ///   meeting id, to that assignment (method `display_name`); else, when `zoom_user` is the
    ///   connected Zoom user of exactly one interpreter (by id, or by email) and that
    ///   interpreter holds an assignment for a request with this meeting id, to that
    ///   assignment (method `zoom_user`); else `unattributed`. A join
    ///   opens an attendance row unless one is open for (meeting uuid, participant key); a
    ///   leave closes the most recent open row, or writes a row with only `left_at`.
    /// - `MeetingStarted` / `MeetingEnded`: the instance's `started_at` / `ended_at`;
    ///   `MeetingEnded` also closes the instance's open rows at `at` and moves the `assigned`
    ///   requests with this meeting id and an assignment to `done`.
    /// - `Deauthorized`, `Nothing`: only marks the event processed.
    async fn apply_zoom_event(
        &self,
        id: i64,
        action: &ZoomAction,
        now: DateTime<Utc>,
    ) -> StoreResult<ZoomApplied>;
    /// [`Store::apply_zoom_event`] for several events in order, in ONE transaction (the
    /// processing worker's batch): one outcome per event. All or nothing: the first error
    /// rolls back the whole batch and is returned (the caller then goes one by one).
    async fn apply_zoom_events(
        &self,
        batch: &[(i64, ZoomAction)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ZoomApplied>>;
    /// Records a failed attempt (`attempts` + 1, `last_error`). `give_up` also marks it
    /// processed (it will never work: e.g. a body that does not parse). `NotFound` for an
    /// unknown id.
    async fn zoom_event_failed(
        &self,
        id: i64,
        error: &str,
        give_up: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Unprocessed events received at or before `received_before`, oldest first, at most
    /// `limit` (none when `limit <= 0`).
    async fn pending_zoom_events(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<StoredZoomEvent>>;
    /// Records the join mode the assignment was given (`same_account`, `obf`, `zak`, `link`)
    /// and, for a fallback, why. `NotFound` for an unknown assignment.
    async fn set_join_mode(
        &self,
        assignment_id: AssignmentId,
        mode: &str,
        note: Option<&str>,
    ) -> StoreResult<()>;

    // ---- matching (issue #5) -------------------------------------------------------------

    /// The hard-rule facts of an interpreter (skills, availability, caps, pause).
    async fn interpreter_profile(&self, id: InterpreterId) -> StoreResult<Profile>;

    /// Replaces skills, availability and caps (the pause fields are left alone).
    async fn set_interpreter_profile(
        &self,
        id: InterpreterId,
        profile: &Profile,
    ) -> StoreResult<()>;

    /// Removes an interpreter: deleted when they never had an offer, otherwise retired (kept
    /// for the record, never listed or matched again).
    async fn remove_interpreter(
        &self,
        id: InterpreterId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed>;

    /// Everyone (not removed) who holds `pair`, with profile, bookings since `since` and
    /// history (declines counted since `recent_since`).
    async fn matching_pool(
        &self,
        pair: &LanguagePair,
        since: DateTime<Utc>,
        recent_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Candidate>>;

    /// The request with its matching facts and offers so far.
    async fn matching_context(&self, id: RequestId) -> StoreResult<Option<MatchingContext>>;

    /// Writes a later wave: its offers and emails, decisions, the next wave timer, unanswered
    /// counts and pauses, and finishes the timer. Fenced: `false` (nothing written but the
    /// timer finished) when the request's epoch moved or it is no longer open or offered.
    async fn record_wave(&self, wave: &WaveRecord, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Claims up to `limit` due timers until `lease_until` (another claimer skips them).
    async fn claim_timers(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Timer>>;

    /// Marks a timer done without acting (stale, or nothing to do).
    async fn finish_timer(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;

    /// The deadline passed with nobody assigned: records it, enqueues `emails`, finishes the
    /// timer. `false` when the request is no longer open or offered.
    async fn request_deadline(
        &self,
        timer_id: i64,
        request_id: RequestId,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Start + grace passed with nobody assigned: the request becomes unfilled and its pending
    /// offers expire; finishes the timer. `false` when it was no longer open or offered.
    async fn close_unfilled(
        &self,
        timer_id: i64,
        request_id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Every stored decision of a request with its offer, by rank then interpreter.
    async fn request_explain(&self, id: RequestId) -> StoreResult<Vec<ExplainRow>>;

    /// When the assigned interpreter has no attendance, releases the assignment (kept for the
    /// record with `reason`: `no_show` at start + grace, `moved` when a calendar update no
    /// longer fits them), re-opens the request under a new epoch with a new round of waves due
    /// now, and enqueues `emails`. Finishes the timer, if any. `false` when they joined, or the
    /// request is no longer assigned.
    async fn release_assignment(
        &self,
        timer_id: Option<i64>,
        request_id: RequestId,
        reason: &str,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// The request made from the calendar event `uid` for `pair`, with its stored SEQUENCE.
    async fn request_by_calendar(
        &self,
        uid: &str,
        pair: &LanguagePair,
    ) -> StoreResult<Option<(RequestId, i64)>>;

    /// A calendar update moved the meeting: new start and SEQUENCE, and the pending deadline,
    /// close and no-show timers moved to the given times. Enqueues `emails`. `false` when the
    /// request is finished (cancelled, unfilled, done) or already at this SEQUENCE or later.
    async fn reschedule_request(
        &self,
        id: RequestId,
        change: &Reschedule,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // ---- operations (issue #8) ------------------------------------------------------------

    /// The cheapest round trip that proves the database answers (for `/readyz`):
    /// `Unavailable` when it does not.
    async fn ping(&self) -> StoreResult<()>;

    // ---- ops (issue #8/#6, ops2) -----------------------------------------------------------

    /// The outbox jobs given up for good (a 5xx reply, or too many attempts), newest first, at
    /// most `limit` (none when `limit <= 0`): what `dragoman status` shows under "outbox".
    async fn outbox_failures(&self, limit: i64) -> StoreResult<Vec<OutboxFailure>>;

    // ---- zoom oauth (issue #7) ------------------------------------------------------------

    /// Stores an OAuth `state` in flight (its hash only) for `person`, valid until
    /// `expires_at`. A hash seen before → `Conflict`.
    async fn save_zoom_oauth_state(
        &self,
        state: &TokenHash,
        person: &ZoomPerson,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Takes a `state` (single use: deleted whatever the answer) and returns its person when
    /// it has not expired at `now`. Expired states of anyone are deleted too.
    async fn take_zoom_oauth_state(
        &self,
        state: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ZoomPerson>>;
    /// Connects (or reconnects) `c.person`'s Zoom user, replacing any earlier connection of
    /// the person; a replaced connection's `version` is raised (a refresh in flight for the
    /// old tokens then writes nothing), a new one starts at `c.version`.
    async fn save_zoom_connection(&self, c: &ZoomConnection, now: DateTime<Utc>)
        -> StoreResult<()>;
    /// The person's connected Zoom user, if any.
    async fn zoom_connection(&self, person: &ZoomPerson) -> StoreResult<Option<ZoomConnection>>;
    /// Replaces the tokens after a refresh (refresh tokens rotate) only when the stored
    /// `version` is still `expected_version`, raising it by one; false (nothing written) when
    /// another refresh or a disconnect came first.
    async fn rotate_zoom_tokens(
        &self,
        person: &ZoomPerson,
        expected_version: i64,
        tokens: &SealedTokens,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Forgets every connection of a Zoom user (`app.deauthorized`, or a refresh token Zoom
    /// no longer accepts); returns how many were deleted.
    async fn delete_zoom_connections(&self, zoom_user_id: &str) -> StoreResult<u64>;
    /// Merges one meeting instance's participant report into attendance, and records the
    /// instance as reconciled. Each segment is attributed like a webhook (customer_key, then
    /// the display name, then the connected Zoom user) and then: an open row of that assignment that began inside the
    /// segment is closed at its leave; a leave-only row inside it gets its join; a segment
    /// already covered by a row of the assignment changes nothing; otherwise a row with
    /// method `report` is added. Unattributed segments are added as `unattributed` unless a
    /// row with the same name and join time (±60 s) exists. Running it again changes nothing.
    async fn reconcile_zoom_report(
        &self,
        meeting_id: &str,
        meeting_uuid: &str,
        segments: &[ReportSegment],
        now: DateTime<Utc>,
    ) -> StoreResult<ReconcileOutcome>;
    /// Meeting instances that ended at or before `ended_before`, are not reconciled yet and
    /// belong to a request with an assignment whose requestor has a connected Zoom user (the
    /// report is read with their token), oldest end first, at most `limit`.
    async fn meetings_to_reconcile(
        &self,
        ended_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<MeetingToReconcile>>;
    /// Assigned requests that started at or before `started_before` (start + grace) whose
    /// assignment has no attendance row with a join: candidates for no-show re-dispatch.
    async fn assignments_not_joined(
        &self,
        started_before: DateTime<Utc>,
    ) -> StoreResult<Vec<NotJoined>>;

    // ---- zoom connect links (issue #7, zoomfeat) -----------------------------------------

    /// Every connected Zoom user (`dragoman zoom connections`): requestors then interpreters,
    /// each by person. Never a token.
    async fn list_zoom_connections(&self) -> StoreResult<Vec<ZoomConnectionSummary>>;
    /// Queues one email that no other change goes with (`dragoman zoom connect-link --send`);
    /// false (nothing written) when its `Message-ID` is queued already.
    async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<bool>;
}

// ---- ops (issue #8/#6, ops2) ---------------------------------------------------------------

/// An outbox job that failed for good, as `dragoman status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFailure {
    pub id: i64,
    pub kind: String,
    pub message_id: String,
    /// The recipient as written in the job (the CLI shows it to the operator; logs do not).
    pub recipient: String,
    pub attempts: i64,
    /// The last transport error (e.g. the server's 5xx reply).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OutboxFailure {
    pub(crate) fn from_row(
        (id, kind, message_id, recipient, attempts, last_error, created_at): OutboxFailureRow,
    ) -> StoreResult<OutboxFailure> {
        Ok(OutboxFailure {
            id,
            kind,
            message_id,
            recipient,
            attempts,
            last_error,
            created_at: from_millis(created_at)?,
        })
    }
}

/// A row of `outbox_failures` as both dialects return it.
pub(crate) type OutboxFailureRow = (i64, String, String, String, i64, Option<String>, i64);

// ---- IMAP ingest types (issue #4) --------------------------------------------------------

/// Where an IMAP message sits: its UID under a UIDVALIDITY of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapCursor {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// One message of a group commit (`Store::record_ingest_group`): where it sits (IMAP), what
/// it is, and what to record.
pub type IngestItem<'a> = (
    Option<&'a ImapCursor>,
    &'a IngestedMessage,
    &'a IngestDecision,
);

/// The stored high-water mark of a (mailbox, UIDVALIDITY).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImapMark {
    /// Highest UID handled (committed or quarantined); `None` when never seen.
    pub last_uid: Option<u32>,
    /// The mailbox has marks under other UIDVALIDITY values.
    pub other_uidvalidity: bool,
}

/// Health of one watched mailbox, for `status --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailboxHealth {
    pub mailbox: String,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Messages above the mark at the last contact.
    pub backlog: Option<i64>,
    /// The instance holding the watch lease, and until when.
    pub owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// The outcome text of a quarantined message's `reason`.
pub(crate) fn quarantine_reason(error: &str) -> String {
    format!("quarantined: {error}")
}

/// Outbox kinds that are automatic replies to someone's mail: counted by
/// [`Store::replies_since`] for the per-address daily cap.
pub const REPLY_KINDS: &[&str] = &[
    "received",
    "not_understood",
    "not_authorised",
    "offer_reply",
    "cancelled",
];

/// One of our sent (or queued) messages, found from an incoming reply.
#[derive(Debug, Clone, PartialEq)]
pub struct OurMessage {
    pub message_id: String,
    pub kind: String,
    pub recipient: EmailAddress,
    /// The request it is about, when known (requestor mail threads with the requestor's own).
    pub request_id: Option<RequestId>,
}

/// Opens the store named by a `sqlite:` or `postgres:` URL (atuin's pattern: the scheme picks
/// the backend). Does not migrate.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
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

/// Message outcomes in the `messages.outcome` column.
pub(crate) const OUTCOME_REQUEST: &str = "request";
pub(crate) const OUTCOME_DUPLICATE: &str = "duplicate";
pub(crate) const OUTCOME_REJECTED: &str = "rejected";

/// Maps a driver error to what callers branch on: uniqueness → `Conflict`, a row that does not
/// decode → `Corrupt`, everything else (connection, pool, I/O, busy, serialization) →
/// `Unavailable`.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_string())
        }
        sqlx::Error::RowNotFound => StoreError::NotFound(e.to_string()),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// True when `e` is a unique violation of the index or constraint `name` (PostgreSQL names it;
/// SQLite names the columns in the message instead, so `columns` is matched there).
pub(crate) fn is_unique_violation_of(e: &sqlx::Error, name: &str, columns: &str) -> bool {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            d.constraint() == Some(name)
                || (d.constraint().is_none() && d.message().contains(columns))
        }
        _ => false,
    }
}

pub(crate) fn migrate_err(e: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Unavailable(format!("migrations failed: {e}"))
}

/// An interpreter joined with one of its pairs (pairs NULL when it has none).
#[derive(sqlx::FromRow)]
pub(crate) struct InterpreterPairRow {
    id: i64,
    name: String,
    email: String,
    timezone: String,
    presence_until: Option<i64>,
    created_at: i64,
    from_lang: Option<String>,
    to_lang: Option<String>,
}

/// Folds rows ordered by interpreter id into interpreters with their pairs.
pub(crate) fn group_interpreters(rows: Vec<InterpreterPairRow>) -> StoreResult<Vec<Interpreter>> {
    let mut out: Vec<Interpreter> = Vec::new();
    for row in rows {
        let pair = match (&row.from_lang, &row.to_lang) {
            (Some(f), Some(t)) => Some(parse_pair(f, t)?),
            _ => None,
        };
        match out.last_mut() {
            Some(last) if last.id == row.id => {
                if let Some(p) = pair {
                    last.pairs.push(p);
                }
            }
            _ => out.push(Interpreter {
                id: row.id,
                name: row.name,
                email: EmailAddress::parse(&row.email)
                    .map_err(|e| StoreError::Corrupt(format!("interpreter {}: {e}", row.id)))?,
                pairs: pair.into_iter().collect(),
                timezone: row.timezone,
                presence_until: row.presence_until.map(from_millis).transpose()?,
                created_at: from_millis(row.created_at)?,
            }),
        }
    }
    for i in &mut out {
        i.pairs.sort();
        i.pairs.dedup();
    }
    Ok(out)
}

pub(crate) fn parse_pair(from: &str, to: &str) -> StoreResult<LanguagePair> {
    let lang = |s: &str| Language::parse(s).map_err(StoreError::Corrupt);
    LanguagePair::new(lang(from)?, lang(to)?).map_err(StoreError::Corrupt)
}

/// The pairs of a new interpreter as stored: sorted, without duplicates.
pub(crate) fn normalized_pairs(pairs: &[LanguagePair]) -> Vec<LanguagePair> {
    let mut p = pairs.to_vec();
    p.sort();
    p.dedup();
    p
}

/// A `requests` row (every column but `meeting_key` and `updated_at`).
#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    id: i64,
    meeting_id: Option<String>,
    passcode: Option<String>,
    join_url: String,
    host: String,
    kind: String,
    topic: Option<String>,
    start_at: Option<i64>,
    timezone: Option<String>,
    from_lang: String,
    to_lang: String,
    requestor: String,
    route_address: String,
    state: String,
    epoch: i64,
    created_at: i64,
}

impl RequestRow {
    pub(crate) fn into_request(self) -> StoreResult<Request> {
        Ok(Request {
            id: self.id,
            state: parse_request_state(&self.state)?,
            meeting: Meeting {
                meeting_id: self.meeting_id,
                passcode: self.passcode,
                join_url: self.join_url,
                host: self.host,
                kind: self.kind,
                topic: self.topic,
                start: self.start_at.map(from_millis).transpose()?,
                timezone: self.timezone,
            },
            pair: parse_pair(&self.from_lang, &self.to_lang)?,
            requestor: EmailAddress::parse(&self.requestor)
                .map_err(|e| StoreError::Corrupt(format!("request {}: {e}", self.id)))?,
            route_address: self.route_address,
            epoch: self.epoch,
            created_at: from_millis(self.created_at)?,
        })
    }
}

/// An `offers` row (what every reader needs).
#[derive(sqlx::FromRow)]
pub(crate) struct OfferRow {
    pub(crate) id: i64,
    pub(crate) request_id: i64,
    pub(crate) interpreter_id: i64,
    pub(crate) state: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

impl OfferRow {
    pub(crate) fn summary(&self) -> StoreResult<OfferSummary> {
        Ok(OfferSummary {
            offer_id: self.id,
            interpreter: self.interpreter_id,
            state: parse_offer_state(&self.state)?,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
        })
    }
}

/// An `outbox` row as a claimed job.
#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    message_id: String,
    kind: String,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    in_reply_to: Option<String>,
    attempts: i64,
    offer_id: Option<i64>,
}

/// The offer behind an outbox job (`outbox_offers`), both dialects.
#[derive(sqlx::FromRow)]
pub(crate) struct OutboxOfferRow {
    pub(crate) id: i64,
    pub(crate) request_id: i64,
    pub(crate) interpreter_id: i64,
    pub(crate) state: String,
    pub(crate) expires_at: i64,
    pub(crate) token_hash: String,
}

/// The recipients (lower-cased, once each) of the never-tried offer emails among freshly
/// claimed rows: whose other unsent offers `claim_outbox` claims too, for a digest.
pub(crate) fn digest_recipients(rows: &[OutboxRow]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .filter(|r| r.offer_id.is_some() && r.attempts == 1)
        .map(|r| r.recipient.to_lowercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What `claim_outbox` answers: the claimed rows as jobs, in id order. Run after the claim
/// committed, so a row that cannot be read never rolls the claim back.
pub(crate) fn claimed_jobs(rows: Vec<OutboxRow>) -> StoreResult<Vec<OutboxJob>> {
    let mut jobs = rows
        .into_iter()
        .map(OutboxRow::into_job)
        .collect::<StoreResult<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

impl OutboxRow {
    pub(crate) fn into_job(self) -> StoreResult<OutboxJob> {
        Ok(OutboxJob {
            id: self.id,
            email: NewEmail {
                message_id: self.message_id,
                kind: self.kind,
                to: EmailAddress::parse(&self.recipient)
                    .map_err(|e| StoreError::Corrupt(format!("outbox {}: {e}", self.id)))?,
                subject: self.subject,
                text: self.body_text,
                html: self.body_html,
                in_reply_to: self.in_reply_to,
            },
            attempts: self.attempts,
            offer_id: self.offer_id,
        })
    }
}

/// An `attendance` row as `request show` prints it.
#[derive(sqlx::FromRow)]
pub(crate) struct AttendanceRow {
    interpreter_id: Option<i64>,
    method: String,
    user_name: Option<String>,
    joined_at: Option<i64>,
    left_at: Option<i64>,
}

impl AttendanceRow {
    pub(crate) fn into_attendance(self) -> StoreResult<Attendance> {
        Ok(Attendance {
            interpreter: self.interpreter_id,
            method: parse_method(&self.method)?,
            user_name: self.user_name,
            joined_at: self.joined_at.map(from_millis).transpose()?,
            left_at: self.left_at.map(from_millis).transpose()?,
        })
    }
}

pub(crate) fn parse_method(s: &str) -> StoreResult<AttributionMethod> {
    AttributionMethod::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown attribution method {s:?}")))
}

pub(crate) fn parse_customer_key(s: &str) -> StoreResult<CustomerKey> {
    CustomerKey::parse(s).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "malformed customer key in assignment ({} chars)",
            s.len()
        ))
    })
}

/// Counts by state in `all` order, zeros included, from (state, count) rows.
pub(crate) fn counts_in_order<'a>(
    all: impl IntoIterator<Item = &'a str>,
    rows: &[(String, i64)],
) -> Vec<(String, i64)> {
    all.into_iter()
        .map(|st| {
            (
                st.to_string(),
                rows.iter()
                    .find(|(s, _)| s == st)
                    .map(|(_, n)| *n)
                    .unwrap_or(0),
            )
        })
        .collect()
}

/// A `zoom_events` row as the retry step reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct ZoomEventRow {
    id: i64,
    dedupe_key: String,
    event: String,
    body: String,
    received_at: i64,
    attempts: i64,
}

impl ZoomEventRow {
    pub(crate) fn into_event(self) -> StoreResult<StoredZoomEvent> {
        Ok(StoredZoomEvent {
            id: self.id,
            dedupe_key: self.dedupe_key,
            event: self.event,
            body: self.body,
            received_at: from_millis(self.received_at)?,
            attempts: self.attempts,
        })
    }
}

/// True when `first` is the first word of `name`, ignoring case (display-name attribution).
pub(crate) fn first_name_matches(name: &str, first: &str) -> bool {
    name.split_whitespace()
        .next()
        .is_some_and(|n| n.to_lowercase() == first.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_list_every_state_in_order_with_zeros() {
        let rows = vec![("offered".to_string(), 3), ("done".to_string(), 1)];
        let counts = counts_in_order(RequestState::ALL.iter().map(|s| s.as_str()), &rows);
        let expected: Vec<(String, i64)> = [
            ("open", 0),
            ("offered", 3),
            ("assigned", 0),
            ("cancelled", 0),
            ("unfilled", 0),
            ("done", 1),
        ]
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn pairs_are_stored_sorted_and_once() {
        let p = |s: &str| LanguagePair::parse(s).expect("pair");
        assert_eq!(
            normalized_pairs(&[p("es:en"), p("en:es"), p("es:en")]),
            vec![p("en:es"), p("es:en")]
        );
    }

    #[test]
    fn rows_fold_into_interpreters_with_their_pairs() {
        let row = |id: i64, pair: Option<(&str, &str)>| InterpreterPairRow {
            id,
            name: format!("I {id}"),
            email: format!("i{id}@example.com"),
            timezone: "UTC".into(),
            presence_until: None,
            created_at: 0,
            from_lang: pair.map(|(f, _)| f.to_string()),
            to_lang: pair.map(|(_, t)| t.to_string()),
        };
        let folded = group_interpreters(vec![
            row(1, Some(("es", "en"))),
            row(1, Some(("en", "es"))),
            row(2, None),
        ])
        .expect("well-formed rows");
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].pairs.len(), 2);
        assert!(
            folded[1].pairs.is_empty(),
            "an interpreter without pairs is still listed"
        );
        let bad = group_interpreters(vec![row(3, Some(("es", "es")))]);
        assert!(matches!(bad, Err(StoreError::Corrupt(_))), "{bad:?}");
    }

    #[test]
    fn timestamps_round_trip_in_milliseconds() {
        let t = DateTime::from_timestamp_millis(1_795_000_000_123).expect("in range");
        assert_eq!(from_millis(to_millis(t)).expect("in range"), t);
        assert!(matches!(from_millis(i64::MAX), Err(StoreError::Corrupt(_))));
    }
}

// ---- zoom oauth types (issue #7) ---------------------------------------------------------

/// Who connected a Zoom user: a requestor (by email, for OBF tokens and reports) or an
/// interpreter (for ZAK).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ZoomPerson {
    Requestor(EmailAddress),
    Interpreter(InterpreterId),
}

impl ZoomPerson {
    /// `requestor` or `interpreter` (the `person_kind` column).
    pub fn kind(&self) -> &'static str {
        match self {
            ZoomPerson::Requestor(_) => "requestor",
            ZoomPerson::Interpreter(_) => "interpreter",
        }
    }

    /// The lower-cased email or the interpreter id (the `person_ref` column).
    pub fn reference(&self) -> String {
        match self {
            ZoomPerson::Requestor(e) => e.as_str().to_ascii_lowercase(),
            ZoomPerson::Interpreter(id) => id.to_string(),
        }
    }

    /// The inverse of [`ZoomPerson::kind`] and [`ZoomPerson::reference`].
    pub fn from_parts(kind: &str, reference: &str) -> Option<ZoomPerson> {
        match kind {
            "requestor" => EmailAddress::parse(reference)
                .ok()
                .map(ZoomPerson::Requestor),
            "interpreter" => reference
                .parse()
                .ok()
                .filter(|id: &InterpreterId| *id > 0)
                .map(ZoomPerson::Interpreter),
            _ => None,
        }
    }
}

/// Access and refresh token sealed by `zoom::oauth::TokenKey` (never plain), with the access
/// token's expiry.
#[derive(Clone, PartialEq)]
pub struct SealedTokens {
    pub access: String,
    pub refresh: String,
    pub expires_at: DateTime<Utc>,
    pub scope: String,
}

impl std::fmt::Debug for SealedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedTokens")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A person's connected Zoom user.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoomConnection {
    pub person: ZoomPerson,
    /// Zoom's user id (`GET /users/me` → `id`); `app.deauthorized` names it.
    pub zoom_user_id: String,
    /// The Zoom user's email (`GET /users/me` → `email`), lower-cased; `None` when Zoom gave
    /// none (or the connection predates migration 0007). Matched in attribution step 3.
    pub zoom_email: Option<String>,
    pub tokens: SealedTokens,
    /// Raised by every rotation (see [`Store::rotate_zoom_tokens`]).
    pub version: i64,
    pub connected_at: DateTime<Utc>,
}

/// One join–leave segment of Zoom's participant report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSegment {
    /// Zoom's participant id in the report (`id`, else `user_id`).
    pub participant_id: String,
    pub user_name: Option<String>,
    pub customer_key: Option<String>,
    /// What `zoom::events::parse_display_name` read from `user_name`.
    pub named_interpreter: Option<(InterpreterId, String)>,
    /// The participant's Zoom user as the report gives it (`id`, `user_email`).
    pub zoom_user: ParticipantZoomUser,
    pub joined_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
}

/// What one reconciliation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileOutcome {
    /// Rows added from the report (method `report`).
    pub added: u64,
    /// Open rows closed at the report's leave time.
    pub closed: u64,
    /// Leave-only rows given the report's join time.
    pub completed: u64,
    /// Segments the webhooks had already recorded.
    pub covered: u64,
    /// Unattributed rows added.
    pub unattributed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeetingToReconcile {
    pub meeting_id: String,
    pub meeting_uuid: String,
    pub requestor: EmailAddress,
    pub ended_at: DateTime<Utc>,
}

/// An assignment whose interpreter has not joined by start + grace.
#[derive(Debug, Clone, PartialEq)]
pub struct NotJoined {
    pub assignment_id: AssignmentId,
    pub request_id: RequestId,
    pub interpreter_id: InterpreterId,
    pub start_at: DateTime<Utc>,
}

// ---- zoom user attribution and connect links (issue #7, zoomfeat) -------------------------

/// Who a participant is on Zoom, as far as an event or a report row tells: the Zoom user ids
/// it carries (a signed-in user's `id`, `participant_user_id`, `user_id`; empty strings
/// dropped) and the email, lower-cased. Both empty when Zoom hides them (other accounts'
/// users under HIPAA settings). Only ever compared for equality with connected Zoom users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantZoomUser {
    /// At most [`ParticipantZoomUser::MAX_IDS`], in the order given, without repeats.
    pub ids: Vec<String>,
    pub email: Option<String>,
}

impl ParticipantZoomUser {
    pub const MAX_IDS: usize = 3;

    /// From the candidate ids (blank ones and repeats dropped) and the email.
    pub fn new<'a>(
        ids: impl IntoIterator<Item = Option<&'a str>>,
        email: Option<&str>,
    ) -> ParticipantZoomUser {
        let mut out: Vec<String> = Vec::new();
        for id in ids.into_iter().flatten().map(str::trim) {
            if !id.is_empty() && !out.iter().any(|o| o == id) && out.len() < Self::MAX_IDS {
                out.push(id.to_string());
            }
        }
        ParticipantZoomUser {
            ids: out,
            email: email
                .map(str::trim)
                .filter(|e| e.contains('@'))
                .map(str::to_ascii_lowercase),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.email.is_none()
    }

    /// The `i`th id, for a bound parameter (`None` binds NULL, which matches nothing).
    pub(crate) fn id(&self, i: usize) -> Option<&str> {
        self.ids.get(i).map(String::as_str)
    }
}

/// A connected Zoom user as `dragoman zoom connections` lists it: never a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoomConnectionSummary {
    /// `requestor` or `interpreter`.
    pub person_kind: String,
    /// The requestor's email or the interpreter id.
    pub person: String,
    pub zoom_user_id: String,
    pub zoom_email: Option<String>,
    pub scope: String,
    pub connected_at: DateTime<Utc>,
    /// When the current access token expires (it is refreshed on use).
    pub expires_at: DateTime<Utc>,
}

/// The interpreter a participant's Zoom user identifies, from the interpreters whose
/// connection matched it: one, or none when nobody or several matched (never guessed).
pub(crate) fn one_interpreter(matched: &[String]) -> Option<InterpreterId> {
    let mut ids: Vec<InterpreterId> = matched.iter().filter_map(|r| r.parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}
