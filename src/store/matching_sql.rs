//! The matching queries (issue #5), written once for both backends: `matching_sql!` expands
//! into free functions over one connection type (`SqliteConnection` or `PgConnection`), each
//! run inside the caller's transaction. The SQL is portable (`$n` placeholders, integer
//! milliseconds, no dialect functions); the one dialect difference, how timers are claimed
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), comes in as `$claim`.

macro_rules! matching_sql {
    ($conn:ty, $claim:expr) => {
        mod matching_q {
            use chrono::{DateTime, Utc};

            use super::super::matching::{
                fold_pool, split_pool, split_skills, ExplainRow,
                MatchingContext, PoolRow, ProfileRow, Removed, SkillRow, Timer, TimerKind,
                WaveRecord,
            };
            use super::super::{
                db_err, from_millis, group_interpreters, parse_offer_state, to_millis,
                RequestRow, StoreError, StoreResult,
            };
            use super::outbox_q::{enqueue, enqueue_offer};
            use crate::domain::{InterpreterId, LanguagePair, RequestId};
            use crate::matching::profile::Profile;
            use crate::matching::Candidate;

            type Conn = $conn;

            pub(crate) async fn profile(
                conn: &mut Conn,
                id: InterpreterId,
            ) -> StoreResult<Profile> {
                let row: Option<ProfileRow> = sqlx::query_as(
                    "SELECT id, max_day_minutes, max_week_minutes, availability, paused_at, unanswered
                     FROM interpreters WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                let row =
                    row.ok_or_else(|| StoreError::NotFound(format!("no interpreter with id {id}")))?;
                let skills: Vec<SkillRow> = sqlx::query_as(
                    "SELECT interpreter_id, skill, expires_at FROM interpreter_skills
                     WHERE interpreter_id = $1 ORDER BY skill",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let skills = super::super::matching::skills_by_interpreter(skills)?
                    .remove(&id)
                    .unwrap_or_default();
                row.into_profile(skills)
            }

            pub(crate) async fn set_profile(
                conn: &mut Conn,
                id: InterpreterId,
                p: &Profile,
            ) -> StoreResult<()> {
                let changed = sqlx::query(
                    "UPDATE interpreters SET max_day_minutes = $1, max_week_minutes = $2, availability = $3
                     WHERE id = $4",
                )
                .bind(p.max_day_minutes)
                .bind(p.max_week_minutes)
                .bind(p.availability.as_ref().map(|a| a.as_str().to_string()))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound(format!("no interpreter with id {id}")));
                }
                sqlx::query("DELETE FROM interpreter_skills WHERE interpreter_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                for s in &p.skills {
                    sqlx::query(
                        "INSERT INTO interpreter_skills (interpreter_id, skill, expires_at) VALUES ($1, $2, $3)
                         ON CONFLICT (interpreter_id, skill) DO UPDATE SET expires_at = excluded.expires_at",
                    )
                    .bind(id)
                    .bind(&s.name)
                    .bind(s.expires_at.map(to_millis))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }
                Ok(())
            }

            pub(crate) async fn remove(
                conn: &mut Conn,
                id: InterpreterId,
                now: DateTime<Utc>,
            ) -> StoreResult<Removed> {
                let offers: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM offers WHERE interpreter_id = $1")
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db_err)?;
                let decisions: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM match_decisions WHERE interpreter_id = $1",
                )
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
                let (changed, outcome) = if offers == 0 && decisions == 0 {
                    let r = sqlx::query("DELETE FROM interpreters WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await;
                    (r, Removed::Deleted)
                } else {
                    let r = sqlx::query(
                        "UPDATE interpreters SET removed_at = $2, presence_until = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(to_millis(now))
                    .execute(&mut *conn)
                    .await;
                    (r, Removed::Retired)
                };
                if changed.map_err(db_err)?.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("no interpreter with id {id}")));
                }
                Ok(outcome)
            }

            pub(crate) async fn pool(
                conn: &mut Conn,
                pair: &LanguagePair,
                since: DateTime<Utc>,
                recent_since: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<Candidate>> {
                // One statement, one round trip (a pool used to take five reads in a read
                // transaction: seven round trips to the database thread for every message a
                // backlog decides). The parts are told apart by `part`; see `split_pool` for
                // which generic column holds what. Bound once: $1/$2 the pair, $3 the start of
                // the recent-declines window, $4 the start of the bookings window.
                let rows: Vec<PoolRow> = sqlx::query_as(
                    "WITH ids AS (SELECT interpreter_id AS id FROM interpreter_pairs WHERE from_lang = $1 AND to_lang = $2)
                     SELECT CAST(0 AS BIGINT) AS part, i.id AS id, i.name AS t1, i.email AS t2, i.timezone AS t3,
                            p.from_lang AS t4, p.to_lang AS t5, i.availability AS t6,
                            i.presence_until AS n1, i.created_at AS n2, i.max_day_minutes AS n3,
                            i.max_week_minutes AS n4, i.paused_at AS n5, i.unanswered AS n6
                     FROM interpreters i LEFT JOIN interpreter_pairs p ON p.interpreter_id = i.id
                     WHERE i.removed_at IS NULL AND i.id IN (SELECT id FROM ids)
                     UNION ALL
                     SELECT CAST(1 AS BIGINT), s.interpreter_id, s.skill, NULL, NULL, NULL, NULL, NULL,
                            s.expires_at, NULL, NULL, NULL, NULL, NULL
                     FROM interpreter_skills s WHERE s.interpreter_id IN (SELECT id FROM ids)
                     UNION ALL
                     SELECT CAST(2 AS BIGINT), o.interpreter_id, NULL, NULL, NULL, NULL, NULL, NULL,
                            COUNT(*),
                            SUM(CASE WHEN o.state = 'accepted' THEN 1 ELSE 0 END),
                            SUM(CASE WHEN o.state = 'declined' AND o.responded_at >= $3 THEN 1 ELSE 0 END),
                            MAX(o.created_at), NULL, NULL
                     FROM offers o WHERE o.interpreter_id IN (SELECT id FROM ids)
                     GROUP BY o.interpreter_id
                     UNION ALL
                     SELECT CAST(3 AS BIGINT), a.interpreter_id, NULL, NULL, NULL, NULL, NULL, NULL,
                            r.start_at, r.duration_minutes,
                            CAST(CASE WHEN EXISTS (SELECT 1 FROM attendance t WHERE t.assignment_id = a.id)
                                 THEN 1 ELSE 0 END AS BIGINT),
                            NULL, NULL, NULL
                     FROM assignments a JOIN requests r ON r.id = a.request_id
                     WHERE a.interpreter_id IN (SELECT id FROM ids)
                       AND r.state IN ('assigned', 'done') AND r.start_at >= $4
                     ORDER BY part, id, t4, t5, t1, n1",
                )
                .bind(pair.from.code())
                .bind(pair.to.code())
                .bind(to_millis(recent_since))
                .bind(to_millis(since))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let (pairs, profiles, skills, stats, bookings) = split_pool(rows)?;
                let interpreters = group_interpreters(pairs)?;
                fold_pool(interpreters, profiles, skills, stats, bookings, now)
            }

            async fn write_decisions(
                conn: &mut Conn,
                request_id: RequestId,
                decisions: &[super::super::matching::DecisionRecord],
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                for d in decisions {
                    sqlx::query(
                        "INSERT INTO match_decisions (request_id, interpreter_id, excluded_by, score, rank, wave, decided_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (request_id, interpreter_id) DO UPDATE SET
                             excluded_by = excluded.excluded_by, score = excluded.score, rank = excluded.rank,
                             wave = excluded.wave, decided_at = excluded.decided_at",
                    )
                    .bind(request_id)
                    .bind(d.interpreter_id)
                    .bind(&d.excluded_by)
                    .bind(&d.score)
                    .bind(d.rank)
                    .bind(d.wave)
                    .bind(to_millis(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }
                Ok(())
            }

            /// Sets the pending timer of (request, kind), re-arming a finished one.
            async fn schedule(
                conn: &mut Conn,
                request_id: RequestId,
                kind: TimerKind,
                at: DateTime<Utc>,
                epoch: i64,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO timers (request_id, kind, due_at, epoch, lease_until, done_at, created_at)
                     VALUES ($1, $2, $3, $4, NULL, NULL, $5)
                     ON CONFLICT (request_id, kind) DO UPDATE SET
                         due_at = excluded.due_at, epoch = excluded.epoch, lease_until = NULL, done_at = NULL",
                )
                .bind(request_id)
                .bind(kind.as_str())
                .bind(to_millis(at))
                .bind(epoch)
                .bind(to_millis(now))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            pub(crate) async fn context(
                conn: &mut Conn,
                id: RequestId,
            ) -> StoreResult<Option<MatchingContext>> {
                let row: Option<RequestRow> = sqlx::query_as(
                    "SELECT id, meeting_id, passcode, join_url, host, kind, topic, start_at, timezone,
                            from_lang, to_lang, requestor, route_address, state, epoch, created_at
                     FROM requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let (skills, duration_minutes, seed, round_wave): (String, i64, i64, i64) = sqlx::query_as(
                    "SELECT skills, duration_minutes, match_seed, round_wave FROM requests WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
                let offers: Vec<(i64, i64, String)> = sqlx::query_as(
                    "SELECT interpreter_id, wave, state FROM offers WHERE request_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let released: Vec<i64> = sqlx::query_scalar(
                    "SELECT interpreter_id FROM assignments WHERE request_id = $1 AND released_at IS NOT NULL",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(Some(MatchingContext {
                    round_wave,
                    released,
                    request: row.into_request()?,
                    skills: split_skills(&skills),
                    duration_minutes,
                    seed,
                    offers: offers
                        .into_iter()
                        .map(|(i, w, s)| Ok((i, w, parse_offer_state(&s)?)))
                        .collect::<StoreResult<_>>()?,
                }))
            }

            pub(crate) async fn schedule_noshow(
                conn: &mut Conn,
                request_id: RequestId,
                at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                schedule(conn, request_id, TimerKind::NoShow, at, 0, now).await
            }

            #[allow(clippy::too_many_arguments)]
            pub(crate) async fn release_assignment(
                conn: &mut Conn,
                timer_id: Option<i64>,
                request_id: RequestId,
                reason: &str,
                emails: &[super::super::NewEmail],
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                if let Some(id) = timer_id {
                    finish(conn, id, now).await?;
                }
                let current: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT a.id, a.offer_id FROM assignments a JOIN requests r ON r.id = a.request_id
                     WHERE a.request_id = $1 AND a.released_at IS NULL AND r.state = 'assigned'
                       AND NOT EXISTS (SELECT 1 FROM attendance t WHERE t.assignment_id = a.id)",
                )
                .bind(request_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                let Some((assignment_id, offer_id)) = current else {
                    return Ok(false);
                };
                sqlx::query(
                    "UPDATE assignments SET released_at = $1, release_reason = $2 WHERE id = $3",
                )
                .bind(to_millis(now))
                .bind(reason)
                .bind(assignment_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE offers SET state = 'expired' WHERE id = $1")
                    .bind(offer_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                let epoch: i64 = sqlx::query_scalar(
                    "UPDATE requests SET state = 'offered', epoch = epoch + 1, updated_at = $1,
                            round_wave = COALESCE((SELECT MAX(wave) FROM offers WHERE request_id = $2), 0) + 1
                     WHERE id = $2 RETURNING epoch",
                )
                .bind(to_millis(now))
                .bind(request_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
                schedule(conn, request_id, TimerKind::Wave, now, epoch, now).await?;
                for e in emails {
                    enqueue(conn, e, now).await?;
                }
                Ok(true)
            }

            pub(crate) async fn by_calendar(
                conn: &mut Conn,
                uid: &str,
                pair: &LanguagePair,
            ) -> StoreResult<Option<(RequestId, i64)>> {
                let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, cal_sequence FROM requests
                     WHERE cal_uid = $1 AND from_lang = $2 AND to_lang = $3
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(uid)
                .bind(pair.from.code())
                .bind(pair.to.code())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(row.map(|(id, seq)| (id, seq.unwrap_or(0))))
            }

            pub(crate) async fn reschedule(
                conn: &mut Conn,
                id: RequestId,
                change: &super::super::matching::Reschedule,
                emails: &[super::super::NewEmail],
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let changed = sqlx::query(
                    "UPDATE requests SET start_at = $1, cal_sequence = $2, updated_at = $3
                     WHERE id = $4 AND state IN ('open', 'offered', 'assigned')
                       AND COALESCE(cal_sequence, 0) < $2",
                )
                .bind(to_millis(change.start))
                .bind(change.sequence)
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Ok(false);
                }
                for (kind, at) in [
                    ("deadline", change.deadline_at),
                    ("close", change.close_at),
                    ("noshow", change.noshow_at),
                ] {
                    sqlx::query(
                        "UPDATE timers SET due_at = $1, lease_until = NULL
                         WHERE request_id = $2 AND kind = $3 AND done_at IS NULL",
                    )
                    .bind(to_millis(at))
                    .bind(id)
                    .bind(kind)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }
                // Offers stay open until the new start at least.
                sqlx::query(
                    "UPDATE offers SET expires_at = $1 WHERE request_id = $2 AND state = 'pending' AND expires_at < $1",
                )
                .bind(to_millis(change.start))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                for e in emails {
                    enqueue(conn, e, now).await?;
                }
                Ok(true)
            }

            pub(crate) async fn finish(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE timers SET done_at = $1, lease_until = NULL WHERE id = $2")
                    .bind(to_millis(now))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            /// `true` when the request is still open or offered under `epoch` (any epoch when
            /// `None`); bumps `updated_at` and sets `offered` when `offered`.
            async fn fence(
                conn: &mut Conn,
                request_id: RequestId,
                epoch: Option<i64>,
                offered: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let changed = sqlx::query(
                    "UPDATE requests SET updated_at = $1,
                            state = CASE WHEN $2 = 1 THEN 'offered' ELSE state END
                     WHERE id = $3 AND state IN ('open', 'offered') AND ($4 < 0 OR epoch = $4)",
                )
                .bind(to_millis(now))
                .bind(i64::from(offered))
                .bind(request_id)
                .bind(epoch.unwrap_or(-1))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(changed == 1)
            }

            pub(crate) async fn wave(
                conn: &mut Conn,
                w: &WaveRecord,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                finish(conn, w.timer_id, now).await?;
                if !fence(conn, w.request_id, Some(w.epoch), !w.offers.is_empty(), now).await? {
                    return Ok(false);
                }
                // Offers of earlier waves nobody answered count against their interpreters.
                let late: Vec<i64> = sqlx::query_scalar(
                    "UPDATE offers SET lapsed_at = $3
                     WHERE request_id = $1 AND state = 'pending' AND lapsed_at IS NULL AND wave < $2
                     RETURNING interpreter_id",
                )
                .bind(w.request_id)
                .bind(w.wave)
                .bind(to_millis(now))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                for id in late {
                    // Only someone not yet paused counts; RETURNING says whether this update
                    // paused them (one statement, no read-back).
                    let paused_at: Option<Option<i64>> = sqlx::query_scalar(
                        "UPDATE interpreters SET unanswered = unanswered + 1,
                                paused_at = CASE WHEN unanswered + 1 >= $1 THEN $2 ELSE paused_at END,
                                presence_until = CASE WHEN unanswered + 1 >= $1 THEN NULL ELSE presence_until END
                         WHERE id = $3 AND paused_at IS NULL
                         RETURNING paused_at",
                    )
                    .bind(w.pause_after)
                    .bind(to_millis(now))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if paused_at.flatten().is_some() {
                        if let Some((_, email)) = w.pause_emails.iter().find(|(i, _)| *i == id) {
                            enqueue(conn, email, now).await?;
                        }
                    }
                }
                for offer in &w.offers {
                    sqlx::query(
                        "INSERT INTO offers (request_id, interpreter_id, token_hash, state, created_at, expires_at, wave)
                         VALUES ($1, $2, $3, 'pending', $4, $5, $6)",
                    )
                    .bind(w.request_id)
                    .bind(offer.interpreter_id)
                    .bind(&offer.token_hash.0)
                    .bind(to_millis(now))
                    .bind(to_millis(offer.expires_at))
                    .bind(w.wave)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    enqueue_offer(conn, offer, now).await?;
                }
                write_decisions(conn, w.request_id, &w.decisions, now).await?;
                if let Some(at) = w.next_wave_at {
                    schedule(conn, w.request_id, TimerKind::Wave, at, w.epoch, now).await?;
                }
                Ok(true)
            }

            pub(crate) async fn claim(
                conn: &mut Conn,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<Timer>> {
                if limit <= 0 {
                    return Ok(Vec::new());
                }
                let rows: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as($claim)
                    .bind(to_millis(lease_until))
                    .bind(to_millis(now))
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(id, request_id, kind, epoch, due)| {
                        Ok(Timer {
                            id,
                            request_id,
                            kind: TimerKind::parse(&kind)?,
                            epoch,
                            due_at: from_millis(due)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn deadline(
                conn: &mut Conn,
                timer_id: i64,
                request_id: RequestId,
                emails: &[super::super::NewEmail],
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                finish(conn, timer_id, now).await?;
                if !fence(conn, request_id, None, false, now).await? {
                    return Ok(false);
                }
                sqlx::query("UPDATE requests SET unfilled_notified_at = $1 WHERE id = $2")
                    .bind(to_millis(now))
                    .bind(request_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                for e in emails {
                    enqueue(conn, e, now).await?;
                }
                Ok(true)
            }

            pub(crate) async fn close(
                conn: &mut Conn,
                timer_id: i64,
                request_id: RequestId,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                finish(conn, timer_id, now).await?;
                let changed = sqlx::query(
                    "UPDATE requests SET state = 'unfilled', epoch = epoch + 1, updated_at = $1
                     WHERE id = $2 AND state IN ('open', 'offered')",
                )
                .bind(to_millis(now))
                .bind(request_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE offers SET state = 'expired' WHERE request_id = $1 AND state = 'pending'",
                )
                .bind(request_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE timers SET done_at = $1 WHERE request_id = $2 AND done_at IS NULL")
                    .bind(to_millis(now))
                    .bind(request_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(true)
            }

            /// After an answer (accept or decline) from `interpreter_id`: their unanswered
            /// streak ends; when a decline leaves the request with no pending offer, its next
            /// wave is due now.
            pub(crate) async fn answered(
                conn: &mut Conn,
                interpreter_id: InterpreterId,
                request_id: RequestId,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE interpreters SET unanswered = 0 WHERE id = $1")
                    .bind(interpreter_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                sqlx::query(
                    "UPDATE timers SET due_at = $1
                     WHERE request_id = $2 AND kind = 'wave' AND done_at IS NULL AND due_at > $1
                       AND NOT EXISTS (SELECT 1 FROM offers WHERE request_id = $2 AND state = 'pending')",
                )
                .bind(to_millis(now))
                .bind(request_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            pub(crate) async fn explain(
                conn: &mut Conn,
                id: RequestId,
            ) -> StoreResult<Vec<ExplainRow>> {
                #[allow(clippy::type_complexity)]
                let rows: Vec<(i64, String, Option<String>, Option<String>, Option<i64>, Option<i64>, i64, Option<i64>, Option<String>, Option<i64>)> =
                    sqlx::query_as(
                        "SELECT d.interpreter_id, i.name, d.excluded_by, d.score, d.rank, d.wave, d.decided_at,
                                o.created_at, o.state, o.responded_at
                         FROM match_decisions d
                         JOIN interpreters i ON i.id = d.interpreter_id
                         LEFT JOIN offers o ON o.request_id = d.request_id AND o.interpreter_id = d.interpreter_id
                         WHERE d.request_id = $1
                         ORDER BY CASE WHEN d.rank IS NULL THEN 1 ELSE 0 END, d.rank, d.interpreter_id",
                    )
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(iid, name, excluded_by, score, rank, wave, decided, offered, state, responded)| {
                        Ok(ExplainRow {
                            interpreter_id: iid,
                            name,
                            excluded_by,
                            score: score
                                .map(|s| serde_json::from_str(&s))
                                .transpose()
                                .map_err(|e| StoreError::Corrupt(format!("decision score: {e}")))?,
                            rank,
                            wave,
                            decided_at: from_millis(decided)?,
                            offered_at: offered.map(from_millis).transpose()?,
                            offer_state: state,
                            responded_at: responded.map(from_millis).transpose()?,
                        })
                    })
                    .collect()
            }
        }
    };
}
