//! The SQLite implementation of `Store`: one file, WAL, a small pool.
//!
//! Owns every SQLite statement, methods in the trait's order (mirrored by `postgres.rs`); what
//! both dialects share is written once (`matching_sql!`, `ingest_sql!`, `zoom_sql!`,
//! `outbox_sql!`) and expanded here, with this dialect's parts (claims, raw-event insert).
//! Every write transaction starts with `BEGIN IMMEDIATE`, so writers queue instead of failing
//! with `SQLITE_BUSY` when a deferred transaction tries to upgrade. Writers of this process
//! queue first on an in-process gate (FIFO, woken at once) and only then on SQLite's lock:
//! SQLite's own busy handler polls with sleeps of 1 to 100 ms, which under concurrent writes
//! was most of the tail latency; the busy timeout is left for other processes. It must
//! never format a value into SQL, read the clock, or leak `sqlx` types to callers.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool, Transaction};

use super::*;
use crate::domain::{
    Interpreter, InterpreterId, LanguagePair, NewInterpreter, OfferState, RequestId,
};
use base64::Engine as _;

/// How long a writer waits for the write lock before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite backend. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Held by every write transaction of this process from before `BEGIN IMMEDIATE` until
    /// it ends (see the module docs): SQLite has one writer, so this loses no parallelism.
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction holding the write gate. Derefs to the connection, like a
/// `Transaction`; ends with [`commit`], or rolls back when dropped.
struct WriteTx {
    tx: Transaction<'static, sqlx::Sqlite>,
    _gate: tokio::sync::OwnedMutexGuard<()>,
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database named by a `sqlite:` URL. Does not migrate.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "parsing the SQLite database url")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database lives and dies with its one connection: keep exactly one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            // No ping before handing out a connection: a SQLite connection is a file handle
            // in this process, and the ping is one more hand-off to its thread and back on
            // every transaction (a backlog's drain is bounded by those hand-offs).
            SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| "opening the SQLite database")?;
        Ok(SqliteStore {
            pool,
            write_gate: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// A write transaction: takes the gate, then the write lock up front (see the module docs).
    async fn write(&self) -> StoreResult<WriteTx> {
        let gate = self.write_gate.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// A read transaction: one consistent snapshot for multi-statement reads.
    async fn read(&self) -> StoreResult<Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin().await.map_err(db_err)
    }
}

// ---- helpers on a connection (inside a transaction) ---------------------------------------

async fn interpreter_by_id(
    conn: &mut SqliteConnection,
    id: InterpreterId,
) -> StoreResult<Option<Interpreter>> {
    let rows: Vec<InterpreterPairRow> = sqlx::query_as(
        "SELECT i.id, i.name, i.email, i.timezone, i.presence_until, i.created_at, p.from_lang, p.to_lang
         FROM interpreters i LEFT JOIN interpreter_pairs p ON p.interpreter_id = i.id
         WHERE i.id = $1
         ORDER BY i.id, p.from_lang, p.to_lang",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(group_interpreters(rows)?.into_iter().next())
}

async fn request_by_id(conn: &mut SqliteConnection, id: RequestId) -> StoreResult<Option<Request>> {
    let row: Option<RequestRow> = sqlx::query_as(
        "SELECT id, meeting_id, passcode, join_url, host, kind, topic, start_at, timezone,
                from_lang, to_lang, requestor, route_address, state, epoch, created_at
         FROM requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.map(RequestRow::into_request).transpose()
}

async fn offer_by_hash(
    conn: &mut SqliteConnection,
    token: &TokenHash,
) -> StoreResult<Option<OfferRow>> {
    sqlx::query_as(
        "SELECT id, request_id, interpreter_id, state, created_at, expires_at FROM offers WHERE token_hash = $1",
    )
    .bind(&token.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)
}

async fn assignment_of_offer(
    conn: &mut SqliteConnection,
    offer_id: OfferId,
) -> StoreResult<AssignmentId> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM assignments WHERE offer_id = $1")
        .bind(offer_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    id.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "offer {offer_id} is accepted but has no assignment"
        ))
    })
}

/// The answer for an accept whose conditional update changed nothing: `AlreadyYours` when a
/// concurrent accept of this very offer won meanwhile, else `Taken`.
async fn accept_lost(conn: &mut SqliteConnection, offer: &OfferRow) -> StoreResult<AcceptOutcome> {
    let now_state: Option<String> = sqlx::query_scalar("SELECT state FROM offers WHERE id = $1")
        .bind(offer.id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if now_state.as_deref() == Some(OfferState::Accepted.as_str()) {
        let assignment_id = assignment_of_offer(conn, offer.id).await?;
        return Ok(AcceptOutcome::AlreadyYours {
            offer_id: offer.id,
            request_id: offer.request_id,
            assignment_id,
        });
    }
    Ok(AcceptOutcome::Taken)
}

async fn commit(tx: WriteTx) -> StoreResult<()> {
    tx.tx.commit().await.map_err(db_err)
}

// ---- matching (issue #5): the shared queries of `matching_sql` over this backend ------------

matching_sql!(
    sqlx::sqlite::SqliteConnection,
    "UPDATE timers SET lease_until = $1
     WHERE id IN (SELECT id FROM timers
                  WHERE done_at IS NULL AND due_at <= $2
                    AND (lease_until IS NULL OR lease_until <= $2)
                  ORDER BY due_at, id LIMIT $3)
     RETURNING id, request_id, kind, epoch, due_at"
);

// ---- zoom (issue #7): the shared code of `zoom_sql` over this backend ----------------------

zoom_sql!(
    sqlx::sqlite::SqliteConnection,
    rows = "json_each($1) AS j",
    texts = "json_each($1) AS j"
);

// ---- outbox: the shared code of `outbox_sql` over this backend -----------------------------

outbox_sql!(
    sqlx::sqlite::SqliteConnection,
    claim = "UPDATE outbox SET lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE state = 'pending' AND next_attempt_at <= $2
                            AND (lease_until IS NULL OR lease_until <= $2)
                          ORDER BY id LIMIT $3)
             RETURNING id, message_id, kind, recipient, subject, body_text, body_html, in_reply_to, attempts, offer_id",
    claim_digest = "UPDATE outbox SET lease_until = $1, attempts = attempts + 1
                    WHERE id IN (SELECT id FROM outbox
                                 WHERE lower(recipient) = lower($3) AND state = 'pending'
                                   AND offer_id IS NOT NULL AND attempts = 0 AND next_attempt_at <= $2
                                   AND (lease_until IS NULL OR lease_until <= $2))
                    RETURNING id, message_id, kind, recipient, subject, body_text, body_html, in_reply_to, attempts, offer_id"
);

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(migrate_err)
    }

    // ---- roster -------------------------------------------------------------------------

    async fn add_interpreter(
        &self,
        new: &NewInterpreter,
        now: DateTime<Utc>,
    ) -> StoreResult<Interpreter> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO interpreters (name, email, timezone, presence_until, created_at)
             VALUES ($1, $2, $3, NULL, $4) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.email.as_str())
        .bind(&new.timezone)
        .bind(to_millis(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("an interpreter with email {} exists", new.email))
            }
            other => other,
        })?;
        for pair in normalized_pairs(&new.pairs) {
            sqlx::query("INSERT INTO interpreter_pairs (interpreter_id, from_lang, to_lang) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(pair.from.code())
                .bind(pair.to.code())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let interpreter = interpreter_by_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("interpreter {id} vanished")))?;
        commit(tx).await?;
        Ok(interpreter)
    }

    async fn list_interpreters(&self) -> StoreResult<Vec<Interpreter>> {
        let rows: Vec<InterpreterPairRow> = sqlx::query_as(
            "SELECT i.id, i.name, i.email, i.timezone, i.presence_until, i.created_at, p.from_lang, p.to_lang
             FROM interpreters i LEFT JOIN interpreter_pairs p ON p.interpreter_id = i.id
             WHERE i.removed_at IS NULL
             ORDER BY i.id, p.from_lang, p.to_lang",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        group_interpreters(rows)
    }

    async fn find_interpreter(&self, id_or_email: &str) -> StoreResult<Option<Interpreter>> {
        let needle = id_or_email.trim();
        let mut tx = self.read().await?;
        let id: Option<i64> = if !needle.is_empty() && needle.bytes().all(|b| b.is_ascii_digit()) {
            needle.parse().ok()
        } else {
            sqlx::query_scalar("SELECT id FROM interpreters WHERE lower(email) = lower($1)")
                .bind(needle)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
        };
        match id {
            Some(id) => interpreter_by_id(&mut tx, id).await,
            None => Ok(None),
        }
    }

    async fn set_presence(
        &self,
        id: InterpreterId,
        until: Option<DateTime<Utc>>,
    ) -> StoreResult<Interpreter> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE interpreters SET presence_until = $1,
                    paused_at = CASE WHEN $1 IS NULL THEN paused_at ELSE NULL END,
                    unanswered = CASE WHEN $1 IS NULL THEN unanswered ELSE 0 END
             WHERE id = $2",
        )
        .bind(until.map(to_millis))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no interpreter with id {id}")));
        }
        let interpreter = interpreter_by_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no interpreter with id {id}")))?;
        commit(tx).await?;
        Ok(interpreter)
    }

    async fn eligible_interpreters(
        &self,
        pair: &LanguagePair,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Interpreter>> {
        let rows: Vec<InterpreterPairRow> = sqlx::query_as(
            "SELECT i.id, i.name, i.email, i.timezone, i.presence_until, i.created_at, p.from_lang, p.to_lang
             FROM interpreters i LEFT JOIN interpreter_pairs p ON p.interpreter_id = i.id
             WHERE i.presence_until > $1 AND i.removed_at IS NULL
               AND i.id IN (SELECT interpreter_id FROM interpreter_pairs WHERE from_lang = $2 AND to_lang = $3)
             ORDER BY i.id, p.from_lang, p.to_lang",
        )
        .bind(to_millis(now))
        .bind(pair.from.code())
        .bind(pair.to.code())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        group_interpreters(rows)
    }

    // ---- ingest -------------------------------------------------------------------------

    async fn message_recorded(&self, mailbox: &str, source_key: &str) -> StoreResult<bool> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM messages WHERE mailbox = $1 AND source_key = $2")
                .bind(mailbox)
                .bind(source_key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(id.is_some())
    }

    async fn record_ingest(
        &self,
        message: &IngestedMessage,
        decision: &IngestDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome> {
        self.record_ingest_at(None, message, decision, now).await
    }

    // ---- offers -------------------------------------------------------------------------

    async fn offer_by_token(&self, token: &TokenHash) -> StoreResult<Option<OfferView>> {
        let mut tx = self.read().await?;
        let Some(offer) = offer_by_hash(&mut tx, token).await? else {
            return Ok(None);
        };
        let interpreter = interpreter_by_id(&mut tx, offer.interpreter_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("offer {} has no interpreter", offer.id)))?;
        let request = request_by_id(&mut tx, offer.request_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("offer {} has no request", offer.id)))?;
        Ok(Some(OfferView {
            offer_id: offer.id,
            state: parse_offer_state(&offer.state)?,
            expires_at: from_millis(offer.expires_at)?,
            interpreter,
            request,
        }))
    }

    async fn accept_offer(
        &self,
        token: &TokenHash,
        assignment: &NewAssignment,
        now: DateTime<Utc>,
    ) -> StoreResult<AcceptOutcome> {
        let mut tx = self.write().await?;
        let Some(offer) = offer_by_hash(&mut tx, token).await? else {
            return Ok(AcceptOutcome::Gone);
        };
        let state = parse_offer_state(&offer.state)?;
        if state == OfferState::Accepted {
            let assignment_id = assignment_of_offer(&mut tx, offer.id).await?;
            return Ok(AcceptOutcome::AlreadyYours {
                offer_id: offer.id,
                request_id: offer.request_id,
                assignment_id,
            });
        }
        if state == OfferState::Superseded {
            return Ok(AcceptOutcome::Taken);
        }
        if state != OfferState::Pending || offer.expires_at <= to_millis(now) {
            return Ok(AcceptOutcome::Gone);
        }
        // The one conditional update that decides the winner.
        let won = sqlx::query(
            "UPDATE requests SET state = 'assigned', epoch = epoch + 1, updated_at = $1
             WHERE id = $2 AND state IN ('open', 'offered')",
        )
        .bind(to_millis(now))
        .bind(offer.request_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if won == 0 {
            return accept_lost(&mut tx, &offer).await;
        }
        let accepted = sqlx::query(
            "UPDATE offers SET state = 'accepted', responded_at = $1 WHERE id = $2 AND state = 'pending'",
        )
        .bind(to_millis(now))
        .bind(offer.id)
        .execute(&mut *tx)
        .await;
        match accepted {
            Err(e) if is_unique_violation_of(&e, "offers_one_accepted", "offers.request_id") => {
                return Ok(AcceptOutcome::Taken)
            }
            Err(e) => return Err(db_err(e)),
            Ok(r) if r.rows_affected() == 0 => return Ok(AcceptOutcome::Gone),
            Ok(_) => {}
        }
        sqlx::query(
            "UPDATE offers SET state = 'superseded', responded_at = $1
             WHERE request_id = $2 AND state = 'pending' AND id <> $3",
        )
        .bind(to_millis(now))
        .bind(offer.request_id)
        .bind(offer.id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let assignment_id: i64 = sqlx::query_scalar(
            "INSERT INTO assignments (request_id, offer_id, interpreter_id, customer_key, join_token_hash,
                                      join_expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(offer.request_id)
        .bind(offer.id)
        .bind(offer.interpreter_id)
        .bind(assignment.customer_key.as_str())
        .bind(&assignment.join_token_hash.0)
        .bind(to_millis(assignment.join_expires_at))
        .bind(to_millis(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation_of(&e, "assignments_request", "assignments.request_id") {
                StoreError::Conflict(format!("request {} already has an assignment", offer.request_id))
            } else {
                db_err(e)
            }
        })?;
        outbox_q::enqueue(&mut tx, &assignment.email, now).await?;
        if let Some(email) = &assignment.requestor_email {
            outbox_q::enqueue(&mut tx, email, now).await?;
        }
        matching_q::answered(&mut tx, offer.interpreter_id, offer.request_id, now).await?;
        if let Some(at) = assignment.noshow_check_at {
            matching_q::schedule_noshow(&mut tx, offer.request_id, at, now).await?;
        }
        commit(tx).await?;
        Ok(AcceptOutcome::Won {
            offer_id: offer.id,
            request_id: offer.request_id,
            assignment_id,
        })
    }

    async fn decline_offer(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<DeclineOutcome> {
        let mut tx = self.write().await?;
        let declined: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE offers SET state = 'declined', responded_at = $1
             WHERE token_hash = $2 AND state = 'pending' AND expires_at > $1
             RETURNING interpreter_id, request_id",
        )
        .bind(to_millis(now))
        .bind(&token.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some((interpreter_id, request_id)) = declined {
            matching_q::answered(&mut tx, interpreter_id, request_id, now).await?;
            commit(tx).await?;
            return Ok(DeclineOutcome::Declined);
        }
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM offers WHERE token_hash = $1")
                .bind(&token.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        Ok(match state.as_deref() {
            Some("declined") => DeclineOutcome::AlreadyDeclined,
            _ => DeclineOutcome::Gone,
        })
    }

    async fn join_by_token(&self, token: &TokenHash) -> StoreResult<Option<JoinView>> {
        let mut tx = self.read().await?;
        let row: Option<(i64, i64, i64, String, i64)> = sqlx::query_as(
            "SELECT id, request_id, interpreter_id, customer_key, join_expires_at
             FROM assignments WHERE join_token_hash = $1 AND released_at IS NULL",
        )
        .bind(&token.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some((assignment_id, request_id, interpreter_id, customer_key, expires_at)) = row
        else {
            return Ok(None);
        };
        let interpreter = interpreter_by_id(&mut tx, interpreter_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("assignment {assignment_id} has no interpreter"))
            })?;
        let request = request_by_id(&mut tx, request_id).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("assignment {assignment_id} has no request"))
        })?;
        Ok(Some(JoinView {
            assignment_id,
            customer_key: parse_customer_key(&customer_key)?,
            expires_at: from_millis(expires_at)?,
            interpreter,
            request,
        }))
    }

    // ---- requests -----------------------------------------------------------------------

    async fn list_requests(&self) -> StoreResult<Vec<Request>> {
        let rows: Vec<RequestRow> = sqlx::query_as(
            "SELECT id, meeting_id, passcode, join_url, host, kind, topic, start_at, timezone,
                    from_lang, to_lang, requestor, route_address, state, epoch, created_at
             FROM requests ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(RequestRow::into_request).collect()
    }

    async fn request_detail(&self, id: RequestId) -> StoreResult<Option<RequestDetail>> {
        let mut tx = self.read().await?;
        let Some(request) = request_by_id(&mut tx, id).await? else {
            return Ok(None);
        };
        let assignment: Option<(i64, i64, String, Option<String>, Option<String>)> =
            sqlx::query_as(
                "SELECT id, interpreter_id, customer_key, join_mode, join_mode_note
             FROM assignments WHERE request_id = $1 AND released_at IS NULL",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let offers: Vec<OfferRow> = sqlx::query_as(
            "SELECT id, request_id, interpreter_id, state, created_at, expires_at
             FROM offers WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let attendance: Vec<AttendanceRow> = sqlx::query_as(
            "SELECT interpreter_id, method, user_name, joined_at, left_at FROM attendance
             WHERE assignment_id = $1 OR (assignment_id IS NULL AND meeting_id = $2)
             ORDER BY id",
        )
        .bind(assignment.as_ref().map(|(a, ..)| *a))
        .bind(&request.meeting.meeting_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let instance: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT started_at, ended_at FROM zoom_meetings WHERE meeting_id = $1
             ORDER BY COALESCE(started_at, ended_at) DESC LIMIT 1",
        )
        .bind(&request.meeting.meeting_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let (started, ended) = instance.unwrap_or((None, None));
        let (join_mode, join_mode_note) = assignment
            .as_ref()
            .map(|(_, _, _, m, n)| (m.clone(), n.clone()))
            .unwrap_or((None, None));
        Ok(Some(RequestDetail {
            request,
            assigned_interpreter: assignment.as_ref().map(|(_, i, ..)| *i),
            customer_key: assignment.map(|(_, _, k, ..)| k),
            meeting_started_at: started.map(from_millis).transpose()?,
            meeting_ended_at: ended.map(from_millis).transpose()?,
            join_mode,
            join_mode_note,
            offers: offers
                .iter()
                .map(OfferRow::summary)
                .collect::<StoreResult<_>>()?,
            attendance: attendance
                .into_iter()
                .map(AttendanceRow::into_attendance)
                .collect::<StoreResult<_>>()?,
        }))
    }

    async fn cancel_request(
        &self,
        id: RequestId,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let cancelled = sqlx::query(
            "UPDATE requests SET state = 'cancelled', epoch = epoch + 1, updated_at = $1
             WHERE id = $2 AND state IN ('open', 'offered', 'assigned')",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if cancelled == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE offers SET state = 'superseded', responded_at = $1 WHERE request_id = $2 AND state = 'pending'",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for email in emails {
            outbox_q::enqueue(&mut tx, email, now).await?;
        }
        commit(tx).await?;
        Ok(true)
    }

    // ---- zoom ---------------------------------------------------------------------------

    async fn record_participant_event(
        &self,
        event: &ParticipantEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookOutcome> {
        let mut tx = self.write().await?;
        let fresh: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_events (dedupe_key, received_at) VALUES ($1, $2)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&event.dedupe_key)
        .bind(to_millis(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if fresh.is_none() {
            return Ok(WebhookOutcome::Duplicate);
        }
        let method = zoom_q::attendance_event(&mut tx, event, None, None, false).await?;
        commit(tx).await?;
        Ok(WebhookOutcome::Recorded(method))
    }

    // ---- outbox: the shared code of `outbox_sql` ----------------------------------------

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxJob>> {
        if limit <= 0 {
            // SQLite reads a negative LIMIT as "no limit": never let that through.
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let rows = outbox_q::claim_outbox(&mut tx, now, lease_until, limit).await?;
        commit(tx).await?;
        claimed_jobs(rows)
    }

    async fn outbox_sent(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        outbox_q::outbox_sent(&mut tx, id, now).await?;
        commit(tx).await
    }

    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        outbox_q::outbox_failed(&mut tx, id, error, retry_at).await?;
        commit(tx).await
    }

    async fn outbox_sent_many(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        let marked = outbox_q::outbox_sent_many(&mut tx, ids, now).await?;
        commit(tx).await?;
        Ok(marked)
    }

    async fn outbox_offers(&self, job_ids: &[i64]) -> StoreResult<Vec<OutboxOffer>> {
        let mut tx = self.read().await?;
        outbox_q::outbox_offers(&mut tx, job_ids).await
    }

    async fn outbox_digest(
        &self,
        members: &[i64],
        skipped: &[i64],
        digest: Option<&NewEmail>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OutboxJob>> {
        let mut tx = self.write().await?;
        let job =
            outbox_q::outbox_digest(&mut tx, members, skipped, digest, lease_until, now).await?;
        commit(tx).await?;
        Ok(job)
    }

    // ---- status -------------------------------------------------------------------------

    async fn status(&self, now: DateTime<Utc>) -> StoreResult<StatusCounts> {
        let mut tx = self.read().await?;
        outbox_q::status(&mut tx, now).await
    }

    // ---- conversations (issue #6) -------------------------------------------------------

    async fn replies_since(&self, to: &EmailAddress, since: DateTime<Utc>) -> StoreResult<i64> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        outbox_q::replies_since(&mut conn, to, since).await
    }

    async fn conversation_of(&self, message_ids: &[String]) -> StoreResult<Option<OurMessage>> {
        let mut tx = self.read().await?;
        outbox_q::conversation_of(&mut tx, message_ids).await
    }

    async fn conversation_by_subject(
        &self,
        to: &EmailAddress,
        subject: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<OurMessage>> {
        let mut tx = self.read().await?;
        outbox_q::conversation_by_subject(&mut tx, to, subject, since).await
    }

    async fn request_thread(&self, id: RequestId) -> StoreResult<Option<String>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        outbox_q::request_thread(&mut conn, id).await
    }

    // ---- zoom events (issue #7; keep this block last) ------------------------------------

    async fn record_zoom_event(
        &self,
        event: &NewZoomEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<ZoomEventInsert> {
        let mut tx = self.write().await?;
        let stored = zoom_q::record_zoom_event(&mut tx, event, now).await?;
        commit(tx).await?;
        Ok(stored)
    }

    async fn record_zoom_events(
        &self,
        events: &[NewZoomEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ZoomEventInsert>> {
        // Each key once, first occurrence first; the rest of the slice are duplicates.
        let mut first: std::collections::HashMap<&str, usize> = Default::default();
        let mut rows: Vec<[&str; 3]> = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(v) = first.entry(&e.dedupe_key) {
                v.insert(i);
                rows.push([&e.dedupe_key, &e.event, &e.body]);
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let rows = serde_json::to_string(&rows)
            .map_err(|e| StoreError::Corrupt(format!("encoding zoom events: {e}")))?;
        // ONE statement for the batch, the rows passed as one JSON array (a fixed, prepared
        // statement whatever the batch size): every statement is a round trip to SQLite's
        // thread, and that, not SQLite, was the cost. One statement is atomic; the write gate
        // is held around it like any write transaction. Rows go in in the array's order, so
        // ids follow the slice. (`WHERE true`: SQLite's parser needs it before `ON CONFLICT`.)
        let _gate = self.write_gate.clone().lock_owned().await;
        let inserted: Vec<(i64, String)> = sqlx::query_as(
            "INSERT INTO zoom_events (dedupe_key, event, body, received_at, attempts)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), $2, 0
             FROM json_each($1) WHERE true ORDER BY CAST(key AS INTEGER)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        )
        .bind(rows)
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut stored = vec![ZoomEventInsert::Duplicate; events.len()];
        for (id, key) in inserted {
            if let Some(&i) = first.get(key.as_str()) {
                stored[i] = ZoomEventInsert::Inserted(id);
            }
        }
        Ok(stored)
    }

    async fn apply_zoom_event(
        &self,
        id: i64,
        action: &ZoomAction,
        now: DateTime<Utc>,
    ) -> StoreResult<ZoomApplied> {
        let mut tx = self.write().await?;
        let applied = zoom_q::apply_action(&mut tx, id, action, now).await?;
        commit(tx).await?;
        Ok(applied)
    }

    async fn apply_zoom_events(
        &self,
        batch: &[(i64, ZoomAction)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ZoomApplied>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let applied = zoom_q::apply_batch(&mut tx, batch, now).await?;
        commit(tx).await?;
        Ok(applied)
    }

    async fn zoom_event_failed(
        &self,
        id: i64,
        error: &str,
        give_up: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        zoom_q::zoom_event_failed(&mut tx, id, error, give_up, now).await?;
        commit(tx).await
    }

    async fn pending_zoom_events(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<StoredZoomEvent>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        zoom_q::pending_zoom_events(&mut conn, received_before, limit).await
    }

    async fn set_join_mode(
        &self,
        assignment_id: AssignmentId,
        mode: &str,
        note: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        zoom_q::set_join_mode(&mut tx, assignment_id, mode, note).await?;
        commit(tx).await
    }

    // ---- IMAP ingest (issue #4) -----------------------------------------------------------

    async fn imap_mark(&self, mailbox: &str, uidvalidity: u32) -> StoreResult<ImapMark> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT uidvalidity, last_uid FROM imap_marks WHERE mailbox = $1")
                .bind(mailbox)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        let mut mark = ImapMark::default();
        for (v, last) in rows {
            if v == i64::from(uidvalidity) {
                mark.last_uid =
                    Some(u32::try_from(last).map_err(|_| {
                        StoreError::Corrupt(format!("imap mark {last} out of range"))
                    })?);
            } else {
                mark.other_uidvalidity = true;
            }
        }
        Ok(mark)
    }

    async fn record_ingest_at(
        &self,
        cursor: Option<&ImapCursor>,
        message: &IngestedMessage,
        decision: &IngestDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome> {
        let mut tx = self.write().await?;
        // Committed whatever the outcome: an `AlreadyRecorded` still advances the mark.
        let outcome = ingest_q::record(&mut tx, cursor, message, decision, now).await?;
        commit(tx).await?;
        Ok(outcome)
    }

    async fn record_ingest_group(
        &self,
        items: &[IngestItem<'_>],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IngestOutcome>> {
        let mut tx = self.write().await?;
        let mut outcomes = Vec::with_capacity(items.len());
        for (cursor, message, decision) in items {
            // An error returns before the commit: the transaction rolls back, all of it.
            outcomes.push(ingest_q::record(&mut tx, *cursor, message, decision, now).await?);
        }
        commit(tx).await?;
        Ok(outcomes)
    }

    async fn ingest_attempt_failed(
        &self,
        mailbox: &str,
        source_key: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let mut tx = self.write().await?;
        let attempts: i64 = sqlx::query_scalar(
            "INSERT INTO ingest_attempts (mailbox, source_key, attempts, last_error, updated_at)
             VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (mailbox, source_key)
             DO UPDATE SET attempts = ingest_attempts.attempts + 1, last_error = $3, updated_at = $4
             RETURNING attempts",
        )
        .bind(mailbox)
        .bind(source_key)
        .bind(error)
        .bind(to_millis(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        commit(tx).await?;
        Ok(attempts)
    }

    async fn quarantine_message(
        &self,
        cursor: Option<&ImapCursor>,
        message: &IngestedMessage,
        raw: Option<&[u8]>,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        if let Some(cursor) = cursor {
            advance_mark(&mut tx, cursor, now).await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO messages (mailbox, source_key, message_id, sha256, outcome, reason, request_id, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
             ON CONFLICT (mailbox, source_key) DO NOTHING",
        )
        .bind(&message.mailbox)
        .bind(&message.source_key)
        .bind(&message.message_id)
        .bind(&message.sha256)
        .bind(OUTCOME_REJECTED)
        .bind(quarantine_reason(error))
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if inserted > 0 {
            sqlx::query(
                "INSERT INTO quarantine (mailbox, source_key, raw_base64, error, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (mailbox, source_key) DO NOTHING",
            )
            .bind(&message.mailbox)
            .bind(&message.source_key)
            .bind(raw.map(|r| base64::engine::general_purpose::STANDARD.encode(r)))
            .bind(error)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        commit(tx).await
    }

    async fn quarantined(
        &self,
        mailbox: &str,
    ) -> StoreResult<Vec<(String, Option<Vec<u8>>, String)>> {
        let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT source_key, raw_base64, error FROM quarantine WHERE mailbox = $1 ORDER BY id",
        )
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|(key, raw, error)| {
                let raw = raw
                    .map(|r| base64::engine::general_purpose::STANDARD.decode(r))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("quarantine {key}: {e}")))?;
                Ok((key, raw, error))
            })
            .collect()
    }

    async fn record_mailbox_health(
        &self,
        mailbox: &str,
        backlog: Option<i64>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // One statement for both cases: a contact ($4 NULL) or an error ($4 set).
        let sql = "INSERT INTO mailbox_health (mailbox, last_contact_at, last_error, last_error_at, backlog, updated_at)
             VALUES ($1, CASE WHEN $4 IS NULL THEN $2 END, $4, CASE WHEN $4 IS NULL THEN NULL ELSE $2 END, $3, $2)
             ON CONFLICT (mailbox) DO UPDATE SET
               last_contact_at = CASE WHEN $4 IS NULL THEN $2 ELSE mailbox_health.last_contact_at END,
               last_error = COALESCE($4, mailbox_health.last_error),
               last_error_at = CASE WHEN $4 IS NULL THEN mailbox_health.last_error_at ELSE $2 END,
               backlog = COALESCE($3, mailbox_health.backlog),
               updated_at = $2";
        sqlx::query(sql)
            .bind(mailbox)
            .bind(to_millis(now))
            .bind(backlog)
            .bind(error)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        commit(tx).await
    }

    async fn mailbox_health(&self) -> StoreResult<Vec<MailboxHealth>> {
        #[allow(clippy::type_complexity, reason = "one row of a two-table join, read once")]
        let rows: Vec<(String, Option<i64>, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<i64>)> =
            sqlx::query_as(
                "SELECT h.mailbox, h.last_contact_at, h.last_error, h.last_error_at, h.backlog, l.owner, l.expires_at
                 FROM mailbox_health h LEFT JOIN mailbox_leases l ON l.mailbox = h.mailbox
                 ORDER BY h.mailbox",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(
                |(mailbox, contact, error, error_at, backlog, owner, until)| {
                    Ok(MailboxHealth {
                        mailbox,
                        last_contact_at: contact.map(from_millis).transpose()?,
                        last_error: error,
                        last_error_at: error_at.map(from_millis).transpose()?,
                        backlog,
                        owner,
                        lease_until: until.map(from_millis).transpose()?,
                    })
                },
            )
            .collect()
    }

    async fn acquire_mailbox_lease(
        &self,
        mailbox: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        // One statement: insert, or take over only when expired or already ours.
        let got: Option<String> = sqlx::query_scalar(
            "INSERT INTO mailbox_leases (mailbox, owner, expires_at) VALUES ($1, $2, $4)
             ON CONFLICT (mailbox) DO UPDATE SET owner = $2, expires_at = $4
             WHERE mailbox_leases.owner = $2 OR mailbox_leases.expires_at <= $3
             RETURNING owner",
        )
        .bind(mailbox)
        .bind(owner)
        .bind(to_millis(now))
        .bind(to_millis(until))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        commit(tx).await?;
        Ok(got.as_deref() == Some(owner))
    }

    async fn release_mailbox_lease(&self, mailbox: &str, owner: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM mailbox_leases WHERE mailbox = $1 AND owner = $2")
            .bind(mailbox)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- matching (issue #5) -------------------------------------------------------------

    async fn interpreter_profile(&self, id: InterpreterId) -> StoreResult<Profile> {
        let mut tx = self.read().await?;
        matching_q::profile(&mut tx, id).await
    }

    async fn set_interpreter_profile(
        &self,
        id: InterpreterId,
        profile: &Profile,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        matching_q::set_profile(&mut tx, id, profile).await?;
        commit(tx).await
    }

    async fn remove_interpreter(
        &self,
        id: InterpreterId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed> {
        let mut tx = self.write().await?;
        let removed = matching_q::remove(&mut tx, id, now).await?;
        commit(tx).await?;
        Ok(removed)
    }

    async fn matching_pool(
        &self,
        pair: &LanguagePair,
        since: DateTime<Utc>,
        recent_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Candidate>> {
        // One statement: a consistent snapshot without a transaction's BEGIN and ROLLBACK.
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        matching_q::pool(&mut conn, pair, since, recent_since, now).await
    }

    async fn matching_context(&self, id: RequestId) -> StoreResult<Option<MatchingContext>> {
        let mut tx = self.read().await?;
        matching_q::context(&mut tx, id).await
    }

    async fn record_wave(&self, wave: &WaveRecord, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let written = matching_q::wave(&mut tx, wave, now).await?;
        commit(tx).await?;
        Ok(written)
    }

    async fn claim_timers(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Timer>> {
        let mut tx = self.write().await?;
        let timers = matching_q::claim(&mut tx, now, lease_until, limit).await?;
        commit(tx).await?;
        Ok(timers)
    }

    async fn finish_timer(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        matching_q::finish(&mut tx, id, now).await?;
        commit(tx).await
    }

    async fn request_deadline(
        &self,
        timer_id: i64,
        request_id: RequestId,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let acted = matching_q::deadline(&mut tx, timer_id, request_id, emails, now).await?;
        commit(tx).await?;
        Ok(acted)
    }

    async fn close_unfilled(
        &self,
        timer_id: i64,
        request_id: RequestId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let acted = matching_q::close(&mut tx, timer_id, request_id, now).await?;
        commit(tx).await?;
        Ok(acted)
    }

    async fn request_explain(&self, id: RequestId) -> StoreResult<Vec<ExplainRow>> {
        let mut tx = self.read().await?;
        matching_q::explain(&mut tx, id).await
    }

    async fn release_assignment(
        &self,
        timer_id: Option<i64>,
        request_id: RequestId,
        reason: &str,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let released =
            matching_q::release_assignment(&mut tx, timer_id, request_id, reason, emails, now)
                .await?;
        commit(tx).await?;
        Ok(released)
    }

    async fn request_by_calendar(
        &self,
        uid: &str,
        pair: &LanguagePair,
    ) -> StoreResult<Option<(RequestId, i64)>> {
        let mut tx = self.read().await?;
        matching_q::by_calendar(&mut tx, uid, pair).await
    }

    async fn reschedule_request(
        &self,
        id: RequestId,
        change: &Reschedule,
        emails: &[NewEmail],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let done = matching_q::reschedule(&mut tx, id, change, emails, now).await?;
        commit(tx).await?;
        Ok(done)
    }

    // ---- operations (issue #8) ------------------------------------------------------------

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- ops (issue #8/#6, ops2) -----------------------------------------------------------

    async fn outbox_failures(&self, limit: i64) -> StoreResult<Vec<OutboxFailure>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        outbox_q::outbox_failures(&mut conn, limit).await
    }

    // ---- zoom oauth (issue #7): the shared code of `zoom_sql` ---------------------------------

    async fn save_zoom_oauth_state(
        &self,
        state: &TokenHash,
        person: &ZoomPerson,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        zoom_q::save_zoom_oauth_state(&mut tx, state, person, expires_at, now).await?;
        commit(tx).await
    }

    async fn take_zoom_oauth_state(
        &self,
        state: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ZoomPerson>> {
        let mut tx = self.write().await?;
        let row = zoom_q::take_zoom_oauth_state(&mut tx, state, now).await?;
        commit(tx).await?;
        zoom_q::state_person(row, now)
    }

    async fn save_zoom_connection(
        &self,
        c: &ZoomConnection,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        zoom_q::save_zoom_connection(&mut tx, c, now).await?;
        commit(tx).await
    }

    async fn zoom_connection(&self, person: &ZoomPerson) -> StoreResult<Option<ZoomConnection>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        zoom_q::zoom_connection(&mut conn, person).await
    }

    async fn rotate_zoom_tokens(
        &self,
        person: &ZoomPerson,
        expected_version: i64,
        tokens: &SealedTokens,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let rotated =
            zoom_q::rotate_zoom_tokens(&mut tx, person, expected_version, tokens, now).await?;
        commit(tx).await?;
        Ok(rotated)
    }

    async fn delete_zoom_connections(&self, zoom_user_id: &str) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let deleted = zoom_q::delete_zoom_connections(&mut tx, zoom_user_id).await?;
        commit(tx).await?;
        Ok(deleted)
    }

    async fn reconcile_zoom_report(
        &self,
        meeting_id: &str,
        meeting_uuid: &str,
        segments: &[ReportSegment],
        now: DateTime<Utc>,
    ) -> StoreResult<ReconcileOutcome> {
        let mut tx = self.write().await?;
        let out =
            zoom_q::reconcile_zoom_report(&mut tx, meeting_id, meeting_uuid, segments, now).await?;
        commit(tx).await?;
        Ok(out)
    }

    async fn meetings_to_reconcile(
        &self,
        ended_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<MeetingToReconcile>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        zoom_q::meetings_to_reconcile(&mut conn, ended_before, limit).await
    }

    async fn assignments_not_joined(
        &self,
        started_before: DateTime<Utc>,
    ) -> StoreResult<Vec<NotJoined>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        zoom_q::assignments_not_joined(&mut conn, started_before).await
    }

    // ---- zoom connect links (issue #7, zoomfeat) -----------------------------------------

    async fn list_zoom_connections(&self) -> StoreResult<Vec<ZoomConnectionSummary>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        zoom_q::list_zoom_connections(&mut conn).await
    }

    async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let queued = outbox_q::queue_email(&mut tx, email, now).await?;
        if queued {
            commit(tx).await?;
        }
        Ok(queued)
    }
}

// ---- IMAP ingest helpers (issue #4) --------------------------------------------------------

/// Raises the (mailbox, UIDVALIDITY) mark to at least `cursor.uid`.
async fn advance_mark(
    conn: &mut SqliteConnection,
    cursor: &ImapCursor,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO imap_marks (mailbox, uidvalidity, last_uid, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (mailbox, uidvalidity) DO UPDATE
         SET last_uid = CASE WHEN imap_marks.last_uid > $3 THEN imap_marks.last_uid ELSE $3 END,
             updated_at = $4",
    )
    .bind(&cursor.mailbox)
    .bind(i64::from(cursor.uidvalidity))
    .bind(i64::from(cursor.uid))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

// The ingest write, shared with the other backend (`store/ingest_sql.rs`).
ingest_sql!(sqlx::sqlite::SqliteConnection, true);
