//! The outbox and status store code, written once for both backends: `outbox_sql!` expands
//! into free functions over one connection type (`SqliteConnection` or `PgConnection`), each
//! run inside the caller's transaction, or on its pooled connection for a one-statement read
//! (`sqlite.rs`/`postgres.rs` open it: the SQLite write gate and `BEGIN IMMEDIATE`,
//! PostgreSQL's READ COMMITTED or read-only snapshot, and commit it). It owns writing an email
//! to the outbox (`enqueue`, `enqueue_offer`, which `matching_sql!` uses too), the worker's
//! claim with the digest claim behind it, the sent/failed/digest marks, the list of failed
//! jobs, `status` counts, and the conversation look-ups (automatic replies under the daily
//! cap, which of our emails a reply answers, a request's thread).
//!
//! The SQL is portable (`$n` placeholders, integer milliseconds, `ON CONFLICT`). The one
//! dialect difference, how jobs are claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL), comes in
//! from each backend as its two claim statements: `claim` (due jobs) and `claim_digest` (the
//! same interpreter's other never-tried offer emails, `$3` the recipient). Checks that need
//! no database (an empty id list, a limit ≤ 0) stay in the backends, before a transaction is
//! opened. It must never commit, format a value into SQL (only placeholders are generated),
//! read the clock, or log.

macro_rules! outbox_sql {
    ($conn:ty, claim = $claim:literal, claim_digest = $claim_digest:literal) => {
        mod outbox_q {
            use chrono::{DateTime, Utc};

            #[allow(unused_imports)]
            use super::super::*;
            use super::{interpreter_by_id, request_by_id};
            use crate::domain::{OfferState, RequestId};

            type Conn = $conn;

            // ---- writing emails: every email is a row first ------------------------------------

            /// Writes one email to the outbox, due at `now`; skipped when its `message_id` is there already.
            pub(super) async fn enqueue(
                conn: &mut Conn,
                email: &NewEmail,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO outbox (message_id, kind, recipient, subject, body_text, body_html, in_reply_to,
                                         state, attempts, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)
                     ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(&email.message_id)
                .bind(&email.kind)
                .bind(email.to.as_str())
                .bind(&email.subject)
                .bind(&email.text)
                .bind(&email.html)
                .bind(&email.in_reply_to)
                .bind(to_millis(now))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// Writes an offer's email like [`enqueue`], linked to the offer (written just before, in the
            /// same transaction) so the worker can tell whether it is still open and fold it into a digest.
            pub(super) async fn enqueue_offer(
                conn: &mut Conn,
                offer: &NewOffer,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                enqueue(conn, &offer.email, now).await?;
                sqlx::query(
                    "UPDATE outbox SET offer_id = (SELECT id FROM offers WHERE token_hash = $1)
                     WHERE message_id = $2 AND offer_id IS NULL",
                )
                .bind(&offer.token_hash.0)
                .bind(&offer.email.message_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            // ---- the worker: claims, marks, digests ---------------------------------------------

            /// Claims due jobs (`$claim`), then the same interpreters' other never-tried offer
            /// emails (`$claim_digest`), for a digest. The rows come back as claimed; the caller
            /// commits, then turns them into jobs (`claimed_jobs`).
            pub(super) async fn claim_outbox(
                conn: &mut Conn,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<OutboxRow>> {
                let mut rows: Vec<OutboxRow> = sqlx::query_as($claim)
                .bind(to_millis(lease_until))
                .bind(to_millis(now))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                // The same interpreters' other unsent offers, for a digest (see the trait).
                for to in digest_recipients(&rows) {
                    let more: Vec<OutboxRow> = sqlx::query_as($claim_digest)
                    .bind(to_millis(lease_until))
                    .bind(to_millis(now))
                    .bind(&to)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    rows.extend(more);
                }
                Ok(rows)
            }

            pub(super) async fn outbox_sent(
                conn: &mut Conn,
                id: i64,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let changed = sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL WHERE id = $2",
                )
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound(format!("no outbox job {id}")));
                }
                Ok(())
            }

            pub(super) async fn outbox_failed(
                conn: &mut Conn,
                id: i64,
                error: &str,
                retry_at: Option<DateTime<Utc>>,
            ) -> StoreResult<()> {
                let result = match retry_at {
                    Some(at) => sqlx::query(
                        "UPDATE outbox SET state = 'pending', next_attempt_at = $1, lease_until = NULL, last_error = $2
                         WHERE id = $3",
                    )
                    .bind(to_millis(at))
                    .bind(error)
                    .bind(id),
                    None => sqlx::query("UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = $1 WHERE id = $2")
                        .bind(error)
                        .bind(id),
                };
                let changed = result
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound(format!("no outbox job {id}")));
                }
                Ok(())
            }

            pub(super) async fn outbox_sent_many(
                conn: &mut Conn,
                ids: &[i64],
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let mut marked = 0;
                for id in ids {
                    marked += sqlx::query(
                        "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL WHERE id = $2",
                    )
                    .bind(to_millis(now))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                }
                Ok(marked)
            }

            pub(super) async fn outbox_offers(
                conn: &mut Conn,
                job_ids: &[i64],
            ) -> StoreResult<Vec<OutboxOffer>> {
                let mut out = Vec::new();
                for &job_id in job_ids {
                    let row: Option<OutboxOfferRow> = sqlx::query_as(
                        "SELECT f.id, f.request_id, f.interpreter_id, f.state, f.expires_at, f.token_hash
                         FROM outbox o JOIN offers f ON f.id = o.offer_id WHERE o.id = $1",
                    )
                    .bind(job_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    let Some(offer) = row else { continue };
                    let interpreter = interpreter_by_id(&mut *conn, offer.interpreter_id)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("offer {} has no interpreter", offer.id))
                        })?;
                    let request = request_by_id(&mut *conn, offer.request_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("offer {} has no request", offer.id)))?;
                    out.push(OutboxOffer {
                        job_id,
                        offer: OfferView {
                            offer_id: offer.id,
                            state: parse_offer_state(&offer.state)?,
                            expires_at: from_millis(offer.expires_at)?,
                            interpreter,
                            request,
                        },
                        token_hash: TokenHash(offer.token_hash),
                    });
                }
                Ok(out)
            }

            pub(super) async fn outbox_digest(
                conn: &mut Conn,
                members: &[i64],
                skipped: &[i64],
                digest: Option<&NewEmail>,
                lease_until: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<OutboxJob>> {
                for id in skipped {
                    sqlx::query(
                        "UPDATE outbox SET state = 'skipped', lease_until = NULL,
                                last_error = 'not sent: the offer closed before its email left'
                         WHERE id = $1 AND state = 'pending'",
                    )
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }
                let mut job = None;
                if let Some(email) = digest {
                    let row: Option<OutboxRow> = sqlx::query_as(
                        "INSERT INTO outbox (message_id, kind, recipient, subject, body_text, body_html, in_reply_to,
                                             state, attempts, next_attempt_at, lease_until, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 1, $8, $9, $8)
                         ON CONFLICT (message_id) DO NOTHING
                         RETURNING id, message_id, kind, recipient, subject, body_text, body_html, in_reply_to, attempts, offer_id",
                    )
                    .bind(&email.message_id)
                    .bind(&email.kind)
                    .bind(email.to.as_str())
                    .bind(&email.subject)
                    .bind(&email.text)
                    .bind(&email.html)
                    .bind(&email.in_reply_to)
                    .bind(to_millis(now))
                    .bind(to_millis(lease_until))
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if let Some(row) = row {
                        for id in members {
                            sqlx::query(
                                "UPDATE outbox SET state = 'digested', digest_of = $1, lease_until = NULL
                                 WHERE id = $2 AND state = 'pending'",
                            )
                            .bind(row.id)
                            .bind(id)
                            .execute(&mut *conn)
                            .await
                            .map_err(db_err)?;
                        }
                        job = Some(row.into_job()?);
                    }
                }
                Ok(job)
            }

            // ---- what an operator is shown ------------------------------------------------------

            pub(super) async fn outbox_failures(
                conn: &mut Conn,
                limit: i64,
            ) -> StoreResult<Vec<OutboxFailure>> {
                let rows: Vec<OutboxFailureRow> = sqlx::query_as(
                    "SELECT id, kind, message_id, recipient, attempts, last_error, created_at
                     FROM outbox WHERE state = 'failed' ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                rows.into_iter().map(OutboxFailure::from_row).collect()
            }

            // ---- an email queued on its own (zoom connect links) --------------------------------

            /// Writes `email` unless its `message_id` is queued already; false when it was (then
            /// nothing was written, and the caller need not commit).
            pub(super) async fn queue_email(
                conn: &mut Conn,
                email: &NewEmail,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let queued: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE message_id = $1")
                    .bind(&email.message_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                if queued.is_some() {
                    return Ok(false);
                }
                enqueue(&mut *conn, email, now).await?;
                Ok(true)
            }

            // ---- status -------------------------------------------------------------------------

            pub(super) async fn status(
                conn: &mut Conn,
                now: DateTime<Utc>,
            ) -> StoreResult<StatusCounts> {
                let requests: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, count(*) FROM requests GROUP BY state")
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                let offers: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, count(*) FROM offers GROUP BY state")
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                let outbox: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, count(*) FROM outbox GROUP BY state")
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                let messages: Vec<(String, i64)> =
                    sqlx::query_as("SELECT outcome, count(*) FROM messages GROUP BY outcome")
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                let (interpreters, interpreters_online): (i64, i64) = sqlx::query_as(
                    "SELECT count(*), count(CASE WHEN presence_until > $1 THEN 1 END) FROM interpreters",
                )
                .bind(to_millis(now))
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
                let outbox_count = |st: &str| {
                    outbox
                        .iter()
                        .find(|(s, _)| s == st)
                        .map(|(_, n)| *n)
                        .unwrap_or(0)
                };
                Ok(StatusCounts {
                    requests: counts_in_order(RequestState::ALL.iter().map(|s| s.as_str()), &requests),
                    offers: counts_in_order(OfferState::ALL.iter().map(|s| s.as_str()), &offers),
                    outbox_pending: outbox_count("pending"),
                    outbox_failed: outbox_count("failed"),
                    outbox_sent: outbox_count("sent"),
                    outbox_digested: outbox_count("digested"),
                    outbox_skipped: outbox_count("skipped"),
                    interpreters,
                    interpreters_online,
                    messages_ingested: messages.iter().map(|(_, n)| n).sum(),
                    messages_rejected: messages
                        .iter()
                        .find(|(s, _)| s == OUTCOME_REJECTED)
                        .map(|(_, n)| *n)
                        .unwrap_or(0),
                })
            }

            // ---- conversations (issue #6) -------------------------------------------------------

            pub(super) async fn replies_since(
                conn: &mut Conn,
                to: &EmailAddress,
                since: DateTime<Utc>,
            ) -> StoreResult<i64> {
                let mut q = String::from(
                    "SELECT count(*) FROM outbox WHERE lower(recipient) = lower($1) AND created_at > $2 AND kind IN (",
                );
                // Placeholders only: the kinds are bound, never formatted in.
                for i in 0..REPLY_KINDS.len() {
                    q.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, i + 3));
                }
                q.push(')');
                let mut query = sqlx::query_scalar(&q)
                    .bind(to.as_str())
                    .bind(to_millis(since));
                for k in REPLY_KINDS {
                    query = query.bind(*k);
                }
                query.fetch_one(&mut *conn).await.map_err(db_err)
            }

            pub(super) async fn conversation_of(
                conn: &mut Conn,
                message_ids: &[String],
            ) -> StoreResult<Option<OurMessage>> {
                let mut best: Option<(i64, String, String, String, Option<String>)> = None;
                for id in message_ids.iter().take(32) {
                    let row: Option<(i64, String, String, String, Option<String>)> = sqlx::query_as(
                        "SELECT id, message_id, kind, recipient, in_reply_to FROM outbox WHERE message_id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if let Some(r) = row {
                        if best.as_ref().is_none_or(|b| r.0 > b.0) {
                            best = Some(r);
                        }
                    }
                }
                match best {
                    Some(row) => our_message(&mut *conn, row).await.map(Some),
                    None => Ok(None),
                }
            }

            pub(super) async fn conversation_by_subject(
                conn: &mut Conn,
                to: &EmailAddress,
                subject: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<Option<OurMessage>> {
                let row: Option<(i64, String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, message_id, kind, recipient, in_reply_to FROM outbox
                     WHERE lower(recipient) = lower($1) AND created_at > $2 AND subject = $3 AND state = 'sent'
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(to.as_str())
                .bind(to_millis(since))
                .bind(subject)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                match row {
                    Some(row) => our_message(&mut *conn, row).await.map(Some),
                    None => Ok(None),
                }
            }

            pub(super) async fn request_thread(
                conn: &mut Conn,
                id: RequestId,
            ) -> StoreResult<Option<String>> {
                sqlx::query_scalar(
                    "SELECT message_id FROM messages WHERE request_id = $1 AND message_id IS NOT NULL
                     ORDER BY id LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)
            }

            /// One of our outbox rows (id, message id, kind, recipient, parent) as a conversation, with the
            /// request its parent message (the requestor's own mail) belongs to.
            async fn our_message(
                conn: &mut Conn,
                (row, message_id, kind, recipient, parent): (i64, String, String, String, Option<String>),
            ) -> StoreResult<OurMessage> {
                let request_id: Option<i64> = match parent {
                    Some(p) => sqlx::query_scalar(
                        "SELECT request_id FROM messages WHERE message_id = $1 AND request_id IS NOT NULL
                         ORDER BY id LIMIT 1",
                    )
                    .bind(p)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?,
                    None => None,
                };
                Ok(OurMessage {
                    message_id,
                    kind,
                    recipient: EmailAddress::parse(&recipient)
                        .map_err(|e| StoreError::Corrupt(format!("outbox {row}: {e}")))?,
                    request_id,
                })
            }
        }
    };
}
