//! The Zoom store code (issue #7), written once for both backends: `zoom_sql!` expands into
//! free functions over one connection type (`SqliteConnection` or `PgConnection`), each run
//! inside the caller's transaction (`sqlite.rs`/`postgres.rs` open it: the SQLite write gate
//! and `BEGIN IMMEDIATE`, PostgreSQL's READ COMMITTED, and commit it). It owns attribution
//! (customer_key, display name, connected Zoom user), attendance rows, applying stored
//! webhook events (one at a time, and a batch in a handful of statements), the stored-event
//! bookkeeping, connected Zoom users' OAuth states and sealed tokens, and reconciliation from
//! the participant report. The group insert of raw events differs too much per dialect
//! (`json_each` / `UNNEST`) and stays in each backend.
//!
//! The SQL is portable (`$n` placeholders, integer milliseconds, `ON CONFLICT`, `->>` on JSON,
//! which SQLite has since 3.38). The one dialect difference is how a list or rows is read
//! from ONE bound JSON text (`$1`), as a table `j` with columns `value` and `key` (position):
//! `$rows` yields each element as JSON (read with `j.value ->> n`), `$texts` each element as
//! text. It must never format a value into SQL, read the clock, or log.

macro_rules! zoom_sql {
    ($conn:ty, rows = $rows:literal, texts = $texts:literal) => {
        mod zoom_q {
            use std::collections::{HashMap, HashSet};

            use chrono::{DateTime, Utc};

            #[allow(unused_imports)]
            use super::super::*;
            use crate::domain::{AssignmentId, AttributionMethod, EmailAddress, InterpreterId};

            type Conn = $conn;

            /// `(assignment id, interpreter id)`: whom an attendance row is billed to.
            type Found = (i64, i64);

            // ---- attribution (SPEC §6: customer_key, display name, connected Zoom user) ---------------

            /// The assignment and interpreter a Zoom `customer_key` belongs to, if any.
            pub(super) async fn attribute(
                conn: &mut Conn,
                customer_key: Option<&str>,
            ) -> StoreResult<Option<Found>> {
                let Some(key) = customer_key else {
                    return Ok(None);
                };
                sqlx::query_as("SELECT id, interpreter_id FROM assignments WHERE customer_key = $1")
                    .bind(key)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)
            }

            /// The assignment `named` (interpreter id, first name from a display name) points at: one of
            /// theirs for a request with this Zoom meeting id, and only when the first name matches.
            pub(super) async fn attribute_by_name(
                conn: &mut Conn,
                meeting_id: &str,
                named: Option<&(InterpreterId, String)>,
            ) -> StoreResult<Option<Found>> {
                let Some((interpreter, first)) = named else {
                    return Ok(None);
                };
                let found: Option<(i64, i64, String)> = sqlx::query_as(
                    "SELECT a.id, a.interpreter_id, i.name FROM assignments a
                     JOIN requests r ON r.id = a.request_id
                     JOIN interpreters i ON i.id = a.interpreter_id
                     WHERE a.interpreter_id = $1 AND r.meeting_id = $2
                     ORDER BY a.id DESC LIMIT 1",
                )
                .bind(interpreter)
                .bind(meeting_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(found
                    .filter(|(_, _, name)| first_name_matches(name, first))
                    .map(|(a, i, _)| (a, i)))
            }

            /// The assignment a participant's own Zoom user points at (attribution step 3): the
            /// interpreter whose connected Zoom user it is (by id, or by email), when exactly one
            /// interpreter's connection matches, through their latest assignment for a request with this
            /// Zoom meeting id. A requestor's connection never attributes anyone; a connected interpreter
            /// without an assignment for this meeting is not attributed.
            pub(super) async fn attribute_by_zoom_user(
                conn: &mut Conn,
                meeting_id: &str,
                zoom_user: Option<&ParticipantZoomUser>,
            ) -> StoreResult<Option<Found>> {
                let Some(who) = zoom_user.filter(|w| !w.is_empty()) else {
                    return Ok(None);
                };
                let matched: Vec<String> = sqlx::query_scalar(
                    "SELECT person_ref FROM zoom_connections
                     WHERE person_kind = 'interpreter'
                       AND (zoom_user_id IN ($1, $2, $3) OR zoom_email = $4)",
                )
                .bind(who.id(0))
                .bind(who.id(1))
                .bind(who.id(2))
                .bind(who.email.as_deref())
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let Some(interpreter) = one_interpreter(&matched) else {
                    return Ok(None);
                };
                sqlx::query_as(
                    "SELECT a.id, a.interpreter_id FROM assignments a
                     JOIN requests r ON r.id = a.request_id
                     WHERE a.interpreter_id = $1 AND r.meeting_id = $2
                     ORDER BY a.id DESC LIMIT 1",
                )
                .bind(interpreter)
                .bind(meeting_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)
            }

            /// The whole chain, one step after the other (the one-event path and reconciliation).
            async fn attribution(
                conn: &mut Conn,
                meeting_id: &str,
                customer_key: Option<&str>,
                named: Option<&(InterpreterId, String)>,
                zoom_user: Option<&ParticipantZoomUser>,
            ) -> StoreResult<(Option<Found>, AttributionMethod)> {
                if let Some(f) = attribute(conn, customer_key).await? {
                    return Ok((Some(f), AttributionMethod::CustomerKey));
                }
                if let Some(f) = attribute_by_name(conn, meeting_id, named).await? {
                    return Ok((Some(f), AttributionMethod::DisplayName));
                }
                if let Some(f) = attribute_by_zoom_user(conn, meeting_id, zoom_user).await? {
                    return Ok((Some(f), AttributionMethod::ZoomUser));
                }
                Ok((None, AttributionMethod::Unattributed))
            }

            // ---- attendance ---------------------------------------------------------------------------

            async fn insert_attendance(
                conn: &mut Conn,
                event: &ParticipantEvent,
                named: Option<&(InterpreterId, String)>,
                zoom_user: Option<&ParticipantZoomUser>,
                joined_at: Option<i64>,
                left_at: Option<i64>,
            ) -> StoreResult<AttributionMethod> {
                let (found, method) = attribution(
                    conn,
                    &event.meeting_id,
                    event.customer_key.as_deref(),
                    named,
                    zoom_user,
                )
                .await?;
                sqlx::query(
                    "INSERT INTO attendance (assignment_id, interpreter_id, meeting_id, meeting_uuid, participant_key,
                                             user_name, customer_key, method, joined_at, left_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(found.map(|(a, _)| a))
                .bind(found.map(|(_, i)| i))
                .bind(&event.meeting_id)
                .bind(&event.meeting_uuid)
                .bind(&event.participant_key)
                .bind(&event.user_name)
                .bind(&event.customer_key)
                .bind(method.as_str())
                .bind(joined_at)
                .bind(left_at)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(method)
            }

            /// Records a participant join or leave (shared by both webhook paths).
            pub(super) async fn attendance_event(
                conn: &mut Conn,
                event: &ParticipantEvent,
                named: Option<&(InterpreterId, String)>,
                zoom_user: Option<&ParticipantZoomUser>,
                join_reopens: bool,
            ) -> StoreResult<AttributionMethod> {
                let at = to_millis(event.at);
                match event.kind {
                    ParticipantEventKind::Joined => {
                        if join_reopens {
                            // Already in (a jbh_waiting/jbh_joined then joined, or a redelivery under a
                            // new key): the open row stands.
                            let open: Option<String> = sqlx::query_scalar(
                                "SELECT method FROM attendance
                                 WHERE meeting_uuid = $1 AND participant_key = $2 AND left_at IS NULL
                                 ORDER BY id DESC LIMIT 1",
                            )
                            .bind(&event.meeting_uuid)
                            .bind(&event.participant_key)
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(db_err)?;
                            if let Some(method) = open {
                                return parse_method(&method);
                            }
                            // The leave was processed first (a retried join): complete that row.
                            let leave_only: Option<(i64, String)> = sqlx::query_as(
                                "SELECT id, method FROM attendance
                                 WHERE meeting_uuid = $1 AND participant_key = $2 AND joined_at IS NULL
                                   AND left_at >= $3
                                 ORDER BY left_at, id LIMIT 1",
                            )
                            .bind(&event.meeting_uuid)
                            .bind(&event.participant_key)
                            .bind(at)
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(db_err)?;
                            if let Some((row, method)) = leave_only {
                                sqlx::query("UPDATE attendance SET joined_at = $1 WHERE id = $2")
                                    .bind(at)
                                    .bind(row)
                                    .execute(&mut *conn)
                                    .await
                                    .map_err(db_err)?;
                                return parse_method(&method);
                            }
                        }
                        insert_attendance(conn, event, named, zoom_user, Some(at), None).await
                    }
                    ParticipantEventKind::Left => {
                        let open: Option<(i64, String)> = sqlx::query_as(
                            "SELECT id, method FROM attendance
                             WHERE meeting_uuid = $1 AND participant_key = $2 AND left_at IS NULL
                             ORDER BY joined_at DESC, id DESC LIMIT 1",
                        )
                        .bind(&event.meeting_uuid)
                        .bind(&event.participant_key)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(db_err)?;
                        match open {
                            Some((row, method)) => {
                                sqlx::query("UPDATE attendance SET left_at = $1 WHERE id = $2")
                                    .bind(at)
                                    .bind(row)
                                    .execute(&mut *conn)
                                    .await
                                    .map_err(db_err)?;
                                parse_method(&method)
                            }
                            None => insert_attendance(conn, event, named, zoom_user, None, Some(at)).await,
                        }
                    }
                }
            }

            // ---- applying stored events ---------------------------------------------------------------

            /// Marks event `id` processed; `Some` with the outcome when it was not there to claim.
            async fn claim(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> StoreResult<Option<ZoomApplied>> {
                let claimed = sqlx::query(
                    "UPDATE zoom_events SET processed_at = $1, attempts = attempts + 1, last_error = NULL
                     WHERE id = $2 AND processed_at IS NULL",
                )
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if claimed == 1 {
                    return Ok(None);
                }
                let known: Option<i64> = sqlx::query_scalar("SELECT id FROM zoom_events WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                match known {
                    Some(_) => Ok(Some(ZoomApplied::AlreadyProcessed)),
                    None => Err(StoreError::NotFound(format!("no zoom event {id}"))),
                }
            }

            /// What a claimed event does (everything of `apply_zoom_event` but the claim).
            async fn act(conn: &mut Conn, action: &ZoomAction, now: DateTime<Utc>) -> StoreResult<ZoomApplied> {
                let applied = match action {
                    ZoomAction::Participant {
                        event,
                        named_interpreter,
                        zoom_user,
                    } => ZoomApplied::Participant(
                        attendance_event(
                            &mut *conn,
                            event,
                            named_interpreter.as_ref(),
                            Some(zoom_user),
                            true,
                        )
                        .await?,
                    ),
                    ZoomAction::MeetingStarted {
                        meeting_id,
                        meeting_uuid,
                        at,
                    } => {
                        sqlx::query(
                            "INSERT INTO zoom_meetings (meeting_uuid, meeting_id, started_at) VALUES ($1, $2, $3)
                             ON CONFLICT (meeting_uuid) DO UPDATE SET started_at = excluded.started_at",
                        )
                        .bind(meeting_uuid)
                        .bind(meeting_id)
                        .bind(to_millis(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?;
                        ZoomApplied::MeetingStarted
                    }
                    ZoomAction::MeetingEnded {
                        meeting_id,
                        meeting_uuid,
                        at,
                    } => {
                        let end = to_millis(*at);
                        sqlx::query(
                            "INSERT INTO zoom_meetings (meeting_uuid, meeting_id, ended_at) VALUES ($1, $2, $3)
                             ON CONFLICT (meeting_uuid) DO UPDATE SET ended_at = excluded.ended_at",
                        )
                        .bind(meeting_uuid)
                        .bind(meeting_id)
                        .bind(end)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?;
                        let closed_rows = sqlx::query(
                            "UPDATE attendance
                             SET left_at = CASE WHEN joined_at > $1 THEN joined_at ELSE $1 END
                             WHERE meeting_uuid = $2 AND left_at IS NULL",
                        )
                        .bind(end)
                        .bind(meeting_uuid)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                        let mut done: Vec<i64> = sqlx::query_scalar(
                            "UPDATE requests SET state = 'done', epoch = epoch + 1, updated_at = $1
                             WHERE meeting_id = $2 AND state = 'assigned'
                               AND id IN (SELECT request_id FROM assignments)
                             RETURNING id",
                        )
                        .bind(to_millis(now))
                        .bind(meeting_id)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                        done.sort_unstable();
                        ZoomApplied::MeetingEnded { closed_rows, done }
                    }
                    ZoomAction::Deauthorized { .. } => ZoomApplied::Deauthorized,
                    ZoomAction::Nothing => ZoomApplied::Nothing,
                };
                Ok(applied)
            }

            /// `Store::apply_zoom_event` inside the caller's write transaction.
            pub(super) async fn apply_action(
                conn: &mut Conn,
                id: i64,
                action: &ZoomAction,
                now: DateTime<Utc>,
            ) -> StoreResult<ZoomApplied> {
                if let Some(outcome) = claim(conn, id, now).await? {
                    return Ok(outcome);
                }
                act(conn, action, now).await
            }

            /// A list or rows bound as one JSON parameter (a fixed statement whatever the batch size).
            fn json_param(value: &impl serde::Serialize) -> StoreResult<String> {
                serde_json::to_string(value)
                    .map_err(|e| StoreError::Corrupt(format!("encoding a list for SQL: {e}")))
            }

            /// What a batch's attribution steps need, read for the whole batch at once. Valid for the
            /// whole batch: applying events never changes assignments, interpreters or connections.
            #[derive(Default)]
            struct Prefetched {
                /// `(meeting_uuid, participant_key)` of the batch with an open or leave-only row already:
                /// their events take the one-event path.
                busy: HashSet<(String, String)>,
                /// Assignments by `customer_key`.
                by_key: HashMap<String, Found>,
                /// Interpreters' connections matching a participant of the batch:
                /// `(person_ref, zoom_user_id, zoom_email)`.
                connections: Vec<(String, String, Option<String>)>,
                /// The latest assignment (id, interpreter's name) of an interpreter for a meeting id.
                latest: HashMap<(i64, String), (i64, String)>,
            }

            impl Prefetched {
                /// The interpreter step 3 names: exactly one interpreter's connection matches.
                fn zoom_interpreter(&self, zoom_user: &ParticipantZoomUser) -> Option<InterpreterId> {
                    if zoom_user.is_empty() {
                        return None;
                    }
                    let matched: Vec<String> = self
                        .connections
                        .iter()
                        .filter(|(_, id, email)| {
                            zoom_user.ids.contains(id)
                                || (zoom_user.email.is_some() && email.as_deref() == zoom_user.email.as_deref())
                        })
                        .map(|(person, _, _)| person.clone())
                        .collect();
                    one_interpreter(&matched)
                }

                /// [`attribution`] from what was read: the same steps, the same answers.
                fn attribution(
                    &self,
                    event: &ParticipantEvent,
                    named: Option<&(InterpreterId, String)>,
                    zoom_user: &ParticipantZoomUser,
                ) -> (Option<Found>, AttributionMethod) {
                    if let Some(f) = event.customer_key.as_deref().and_then(|k| self.by_key.get(k)) {
                        return (Some(*f), AttributionMethod::CustomerKey);
                    }
                    if let Some((interpreter, first)) = named {
                        if let Some((a, name)) = self.latest.get(&(*interpreter, event.meeting_id.clone())) {
                            if first_name_matches(name, first) {
                                return (Some((*a, *interpreter)), AttributionMethod::DisplayName);
                            }
                        }
                    }
                    if let Some(interpreter) = self.zoom_interpreter(zoom_user) {
                        if let Some((a, _)) = self.latest.get(&(interpreter, event.meeting_id.clone())) {
                            return (Some((*a, interpreter)), AttributionMethod::ZoomUser);
                        }
                    }
                    (None, AttributionMethod::Unattributed)
                }
            }

            /// Reads [`Prefetched`] for the participant events of a batch: at most four statements.
            async fn prefetch(
                conn: &mut Conn,
                participants: &[(&ParticipantEvent, Option<&(InterpreterId, String)>, &ParticipantZoomUser)],
            ) -> StoreResult<Prefetched> {
                let mut pre = Prefetched::default();
                if participants.is_empty() {
                    return Ok(pre);
                }
                let keys: HashSet<(&str, &str)> = participants
                    .iter()
                    .map(|(e, _, _)| (e.meeting_uuid.as_str(), e.participant_key.as_str()))
                    .collect();
                let keys: Vec<[&str; 2]> = keys.into_iter().map(|(u, k)| [u, k]).collect();
                // CROSS JOIN: the list drives the index lookups (SQLite keeps that order).
                let busy: Vec<(String, String)> = sqlx::query_as(concat!(
                    "SELECT DISTINCT a.meeting_uuid, a.participant_key FROM ",
                    $rows,
                    " CROSS JOIN attendance a
                     WHERE a.meeting_uuid = j.value ->> 0 AND a.participant_key = j.value ->> 1
                       AND (a.left_at IS NULL OR a.joined_at IS NULL)"
                ))
                .bind(json_param(&keys)?)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                pre.busy = busy.into_iter().collect();

                let customer_keys: HashSet<&str> = participants
                    .iter()
                    .filter_map(|(e, _, _)| e.customer_key.as_deref())
                    .collect();
                if !customer_keys.is_empty() {
                    let rows: Vec<(String, i64, i64)> = sqlx::query_as(concat!(
                        "SELECT customer_key, id, interpreter_id FROM assignments
                         WHERE customer_key IN (SELECT j.value FROM ",
                        $texts,
                        ")"
                    ))
                    .bind(json_param(&customer_keys)?)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    pre.by_key = rows.into_iter().map(|(k, a, i)| (k, (a, i))).collect();
                }

                let who: HashSet<&str> = participants
                    .iter()
                    .flat_map(|(_, _, z)| z.ids.iter().map(String::as_str).chain(z.email.as_deref()))
                    .collect();
                if !who.is_empty() {
                    pre.connections = sqlx::query_as(concat!(
                        "SELECT person_ref, zoom_user_id, zoom_email FROM zoom_connections
                         WHERE person_kind = 'interpreter'
                           AND (zoom_user_id IN (SELECT j.value FROM ",
                        $texts,
                        ") OR zoom_email IN (SELECT j.value FROM ",
                        $texts,
                        "))"
                    ))
                    .bind(json_param(&who)?)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }

                let mut pairs: HashSet<(i64, &str)> = HashSet::new();
                for (e, named, zoom_user) in participants {
                    if let Some((interpreter, _)) = named {
                        pairs.insert((*interpreter, e.meeting_id.as_str()));
                    }
                    if let Some(interpreter) = pre.zoom_interpreter(zoom_user) {
                        pairs.insert((interpreter, e.meeting_id.as_str()));
                    }
                }
                if !pairs.is_empty() {
                    let pairs: Vec<(i64, &str)> = pairs.into_iter().collect();
                    let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(concat!(
                        "SELECT a.interpreter_id, r.meeting_id, a.id, i.name FROM ",
                        $rows,
                        " CROSS JOIN assignments a
                         JOIN requests r ON r.id = a.request_id
                         JOIN interpreters i ON i.id = a.interpreter_id
                         WHERE a.interpreter_id = CAST(j.value ->> 0 AS BIGINT) AND r.meeting_id = j.value ->> 1"
                    ))
                    .bind(json_param(&pairs)?)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    for (interpreter, meeting_id, assignment, name) in rows {
                        let latest = pre
                            .latest
                            .entry((interpreter, meeting_id))
                            .or_insert((assignment, name.clone()));
                        if assignment > latest.0 {
                            *latest = (assignment, name);
                        }
                    }
                }
                Ok(pre)
            }

            /// Inserts the attendance rows gathered so far, in order, in ONE statement.
            async fn flush_attendance(conn: &mut Conn, rows: &mut Vec<serde_json::Value>) -> StoreResult<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                let param = json_param(rows)?;
                rows.clear();
                sqlx::query(concat!(
                    "INSERT INTO attendance (assignment_id, interpreter_id, meeting_id, meeting_uuid,
                                             participant_key, user_name, customer_key, method, joined_at, left_at)
                     SELECT CAST(j.value ->> 0 AS BIGINT), CAST(j.value ->> 1 AS BIGINT), j.value ->> 2,
                            j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7,
                            CAST(j.value ->> 8 AS BIGINT), CAST(j.value ->> 9 AS BIGINT)
                     FROM ",
                    $rows,
                    " ORDER BY j.key"
                ))
                .bind(param)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// `Store::apply_zoom_events` inside the caller's write transaction: for each event in order
            /// exactly what [`apply_action`] would do, in a handful of statements for the whole batch
            /// instead of about five per event (each statement is a round trip, on SQLite a hand-off to
            /// its connection thread). One statement claims every event; the attribution inputs are read
            /// once ([`prefetch`]); a participant with no open or leave-only row, before or earlier in
            /// the batch, only gets a new row, and those rows go in together ([`flush_attendance`]).
            /// Everything else (a participant seen before, `meeting.started`/`ended`) runs as alone,
            /// after the rows gathered before it are written, so the order of effects is the same.
            pub(super) async fn apply_batch(
                conn: &mut Conn,
                batch: &[(i64, ZoomAction)],
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<ZoomApplied>> {
                if batch.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
                let mut claimed: HashSet<i64> = sqlx::query_scalar::<_, i64>(concat!(
                    "UPDATE zoom_events SET processed_at = $2, attempts = attempts + 1, last_error = NULL
                     WHERE processed_at IS NULL AND id IN (SELECT CAST(j.value AS BIGINT) FROM ",
                    $texts,
                    ") RETURNING id"
                ))
                .bind(json_param(&ids)?)
                .bind(to_millis(now))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?
                .into_iter()
                .collect();
                let unclaimed: Vec<i64> = ids
                    .iter()
                    .filter(|id| !claimed.contains(id))
                    .copied()
                    .collect();
                if !unclaimed.is_empty() {
                    let known: HashSet<i64> = sqlx::query_scalar::<_, i64>(concat!(
                        "SELECT id FROM zoom_events WHERE id IN (SELECT CAST(j.value AS BIGINT) FROM ",
                        $texts,
                        ")"
                    ))
                    .bind(json_param(&unclaimed)?)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?
                    .into_iter()
                    .collect();
                    if let Some(id) = unclaimed.iter().find(|id| !known.contains(id)) {
                        return Err(StoreError::NotFound(format!("no zoom event {id}")));
                    }
                }
                // The first occurrence of a claimed id is applied; any other is already processed.
                let mut mine: Vec<bool> = Vec::with_capacity(batch.len());
                for id in &ids {
                    mine.push(claimed.remove(id));
                }
                let participants: Vec<_> = batch
                    .iter()
                    .zip(&mine)
                    .filter_map(|((_, action), &mine)| match action {
                        ZoomAction::Participant {
                            event,
                            named_interpreter,
                            zoom_user,
                        } if mine => Some((event, named_interpreter.as_ref(), zoom_user)),
                        _ => None,
                    })
                    .collect();
                let pre = prefetch(conn, &participants).await?;

                let mut out = Vec::with_capacity(batch.len());
                let mut seen: HashSet<(&str, &str)> = HashSet::new();
                let mut rows: Vec<serde_json::Value> = Vec::new();
                for ((_, action), mine) in batch.iter().zip(mine) {
                    if !mine {
                        out.push(ZoomApplied::AlreadyProcessed);
                        continue;
                    }
                    match action {
                        ZoomAction::Participant {
                            event,
                            named_interpreter,
                            zoom_user,
                        } => {
                            let key = (event.meeting_uuid.as_str(), event.participant_key.as_str());
                            let fresh = seen.insert(key)
                                && !pre
                                    .busy
                                    .contains(&(key.0.to_string(), key.1.to_string()));
                            if !fresh {
                                flush_attendance(conn, &mut rows).await?;
                                out.push(act(conn, action, now).await?);
                                continue;
                            }
                            let (found, method) = pre.attribution(event, named_interpreter.as_ref(), zoom_user);
                            let at = to_millis(event.at);
                            let (joined_at, left_at) = match event.kind {
                                ParticipantEventKind::Joined => (Some(at), None),
                                ParticipantEventKind::Left => (None, Some(at)),
                            };
                            rows.push(serde_json::json!([
                                found.map(|(a, _)| a),
                                found.map(|(_, i)| i),
                                event.meeting_id,
                                event.meeting_uuid,
                                event.participant_key,
                                event.user_name,
                                event.customer_key,
                                method.as_str(),
                                joined_at,
                                left_at,
                            ]));
                            out.push(ZoomApplied::Participant(method));
                        }
                        ZoomAction::MeetingEnded { .. } => {
                            // It closes open rows: the gathered ones first.
                            flush_attendance(conn, &mut rows).await?;
                            out.push(act(conn, action, now).await?);
                        }
                        _ => out.push(act(conn, action, now).await?),
                    }
                }
                flush_attendance(conn, &mut rows).await?;
                Ok(out)
            }

            // ---- stored webhook events ------------------------------------------------------------

            pub(super) async fn record_zoom_event(
                conn: &mut Conn,
                event: &NewZoomEvent,
                now: DateTime<Utc>,
            ) -> StoreResult<ZoomEventInsert> {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO zoom_events (dedupe_key, event, body, received_at, attempts)
                     VALUES ($1, $2, $3, $4, 0)
                     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                )
                .bind(&event.dedupe_key)
                .bind(&event.event)
                .bind(&event.body)
                .bind(to_millis(now))
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(match id {
                    Some(id) => ZoomEventInsert::Inserted(id),
                    None => ZoomEventInsert::Duplicate,
                })
            }

            pub(super) async fn zoom_event_failed(
                conn: &mut Conn,
                id: i64,
                error: &str,
                give_up: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let changed = sqlx::query(
                    "UPDATE zoom_events SET attempts = attempts + 1, last_error = $1,
                            processed_at = CASE WHEN $2 THEN $3 ELSE processed_at END
                     WHERE id = $4",
                )
                .bind(error)
                .bind(give_up)
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound(format!("no zoom event {id}")));
                }
                Ok(())
            }

            pub(super) async fn pending_zoom_events(
                conn: &mut Conn,
                received_before: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<StoredZoomEvent>> {
                if limit <= 0 {
                    return Ok(Vec::new());
                }
                let rows: Vec<ZoomEventRow> = sqlx::query_as(
                    "SELECT id, dedupe_key, event, body, received_at, attempts FROM zoom_events
                     WHERE processed_at IS NULL AND received_at <= $1
                     ORDER BY id LIMIT $2",
                )
                .bind(to_millis(received_before))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                rows.into_iter().map(ZoomEventRow::into_event).collect()
            }

            pub(super) async fn set_join_mode(
                conn: &mut Conn,
                assignment_id: AssignmentId,
                mode: &str,
                note: Option<&str>,
            ) -> StoreResult<()> {
                let changed =
                    sqlx::query("UPDATE assignments SET join_mode = $1, join_mode_note = $2 WHERE id = $3")
                        .bind(mode)
                        .bind(note)
                        .bind(assignment_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                if changed == 0 {
                    return Err(StoreError::NotFound(format!(
                        "no assignment {assignment_id}"
                    )));
                }
                Ok(())
            }

            // ---- connected Zoom users (OAuth) and reconciliation -------------------------------------

            pub(super) async fn save_zoom_oauth_state(
                conn: &mut Conn,
                state: &TokenHash,
                person: &ZoomPerson,
                expires_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let inserted = sqlx::query(
                    "INSERT INTO zoom_oauth_states (state_hash, person_kind, person_ref, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (state_hash) DO NOTHING",
                )
                .bind(&state.0)
                .bind(person.kind())
                .bind(person.reference())
                .bind(to_millis(now))
                .bind(to_millis(expires_at))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                if inserted == 0 {
                    return Err(StoreError::Conflict(
                        "that OAuth state exists already".into(),
                    ));
                }
                Ok(())
            }

            /// A taken state's row: `(person_kind, person_ref, expires_at)`; [`state_person`] reads it
            /// (after the commit: a row that cannot be read is gone all the same).
            pub(super) async fn take_zoom_oauth_state(
                conn: &mut Conn,
                state: &TokenHash,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<(String, String, i64)>> {
                let row: Option<(String, String, i64)> = sqlx::query_as(
                    "DELETE FROM zoom_oauth_states WHERE state_hash = $1
                     RETURNING person_kind, person_ref, expires_at",
                )
                .bind(&state.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                sqlx::query("DELETE FROM zoom_oauth_states WHERE expires_at < $1")
                    .bind(to_millis(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(row)
            }

            /// The person a taken state was for, unless it had expired at `now`.
            pub(super) fn state_person(
                row: Option<(String, String, i64)>,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<ZoomPerson>> {
                let Some((kind, reference, expires_at)) = row else {
                    return Ok(None);
                };
                if expires_at < to_millis(now) {
                    return Ok(None);
                }
                ZoomPerson::from_parts(&kind, &reference)
                    .map(Some)
                    .ok_or_else(|| StoreError::Corrupt(format!("OAuth state for {kind} {reference:?}")))
            }

            pub(super) async fn save_zoom_connection(
                conn: &mut Conn,
                c: &ZoomConnection,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO zoom_connections (person_kind, person_ref, zoom_user_id, access_token,
                         refresh_token, expires_at, scope, version, connected_at, updated_at, zoom_email)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (person_kind, person_ref) DO UPDATE SET
                         zoom_user_id = excluded.zoom_user_id, zoom_email = excluded.zoom_email,
                         access_token = excluded.access_token,
                         refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
                         scope = excluded.scope, version = zoom_connections.version + 1,
                         connected_at = excluded.connected_at, updated_at = excluded.updated_at",
                )
                .bind(c.person.kind())
                .bind(c.person.reference())
                .bind(&c.zoom_user_id)
                .bind(&c.tokens.access)
                .bind(&c.tokens.refresh)
                .bind(to_millis(c.tokens.expires_at))
                .bind(&c.tokens.scope)
                .bind(c.version)
                .bind(to_millis(c.connected_at))
                .bind(to_millis(now))
                .bind(c.zoom_email.as_deref().map(str::to_ascii_lowercase))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            pub(super) async fn zoom_connection(conn: &mut Conn, person: &ZoomPerson) -> StoreResult<Option<ZoomConnection>> {
                type Row = (
                    String,
                    String,
                    String,
                    i64,
                    String,
                    i64,
                    i64,
                    Option<String>,
                );
                let row: Option<Row> = sqlx::query_as(
                    "SELECT zoom_user_id, access_token, refresh_token, expires_at, scope, version, connected_at,
                            zoom_email
                     FROM zoom_connections WHERE person_kind = $1 AND person_ref = $2",
                )
                .bind(person.kind())
                .bind(person.reference())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                row.map(
                    |(
                        zoom_user_id,
                        access,
                        refresh,
                        expires_at,
                        scope,
                        version,
                        connected_at,
                        zoom_email,
                    )| {
                        Ok(ZoomConnection {
                            person: person.clone(),
                            zoom_user_id,
                            zoom_email,
                            tokens: SealedTokens {
                                access,
                                refresh,
                                expires_at: from_millis(expires_at)?,
                                scope,
                            },
                            version,
                            connected_at: from_millis(connected_at)?,
                        })
                    },
                )
                .transpose()
            }

            pub(super) async fn rotate_zoom_tokens(
                conn: &mut Conn,
                person: &ZoomPerson,
                expected_version: i64,
                tokens: &SealedTokens,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let changed = sqlx::query(
                    "UPDATE zoom_connections SET access_token = $1, refresh_token = $2, expires_at = $3,
                         scope = $4, version = version + 1, updated_at = $5
                     WHERE person_kind = $6 AND person_ref = $7 AND version = $8",
                )
                .bind(&tokens.access)
                .bind(&tokens.refresh)
                .bind(to_millis(tokens.expires_at))
                .bind(&tokens.scope)
                .bind(to_millis(now))
                .bind(person.kind())
                .bind(person.reference())
                .bind(expected_version)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                Ok(changed == 1)
            }

            pub(super) async fn delete_zoom_connections(conn: &mut Conn, zoom_user_id: &str) -> StoreResult<u64> {
                let deleted = sqlx::query("DELETE FROM zoom_connections WHERE zoom_user_id = $1")
                    .bind(zoom_user_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                Ok(deleted)
            }

            pub(super) async fn reconcile_zoom_report(
                conn: &mut Conn,
                meeting_id: &str,
                meeting_uuid: &str,
                segments: &[ReportSegment],
                now: DateTime<Utc>,
            ) -> StoreResult<ReconcileOutcome> {
                /// Report and webhook times of the same join differ by a few seconds.
                const SLACK_MS: i64 = 60_000;
                let mut out = ReconcileOutcome::default();
                for seg in segments {
                    let (j, l) = (
                        to_millis(seg.joined_at),
                        to_millis(seg.left_at.max(seg.joined_at)),
                    );
                    let (found, _) = attribution(
                        conn,
                        meeting_id,
                        seg.customer_key.as_deref(),
                        seg.named_interpreter.as_ref(),
                        Some(&seg.zoom_user),
                    )
                    .await?;
                    let Some((assignment, interpreter)) = found else {
                        let seen: Option<i64> = sqlx::query_scalar(
                            "SELECT id FROM attendance
                             WHERE meeting_uuid = $1 AND user_name IS NOT DISTINCT FROM $2
                               AND joined_at BETWEEN $3 AND $4 LIMIT 1",
                        )
                        .bind(meeting_uuid)
                        .bind(&seg.user_name)
                        .bind(j - SLACK_MS)
                        .bind(j + SLACK_MS)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(db_err)?;
                        if seen.is_some() {
                            out.covered += 1;
                            continue;
                        }
                        insert_report_row(conn, None, meeting_id, meeting_uuid, seg, "unattributed")
                            .await?;
                        out.unattributed += 1;
                        continue;
                    };
                    // A webhook row this segment closes (its leave never came) or completes
                    // (its join never came).
                    if set_first_row(
                        conn,
                        "SELECT id FROM attendance
                         WHERE assignment_id = $1 AND left_at IS NULL AND joined_at BETWEEN $2 AND $3
                         ORDER BY joined_at, id LIMIT 1",
                        "UPDATE attendance SET left_at = $1 WHERE id = $2",
                        (assignment, j - SLACK_MS, l),
                        l,
                    )
                    .await?
                    {
                        out.closed += 1;
                        continue;
                    }
                    if set_first_row(
                        conn,
                        "SELECT id FROM attendance
                         WHERE assignment_id = $1 AND joined_at IS NULL AND left_at BETWEEN $2 AND $3
                         ORDER BY left_at, id LIMIT 1",
                        "UPDATE attendance SET joined_at = $1 WHERE id = $2",
                        (assignment, j, l + SLACK_MS),
                        j,
                    )
                    .await?
                    {
                        out.completed += 1;
                        continue;
                    }
                    let covering: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM attendance
                         WHERE assignment_id = $1 AND joined_at IS NOT NULL AND joined_at <= $2
                           AND (left_at IS NULL OR left_at >= $3)
                         LIMIT 1",
                    )
                    .bind(assignment)
                    .bind(l)
                    .bind(j)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if covering.is_some() {
                        out.covered += 1;
                        continue;
                    }
                    insert_report_row(
                        conn,
                        Some((assignment, interpreter)),
                        meeting_id,
                        meeting_uuid,
                        seg,
                        AttributionMethod::Report.as_str(),
                    )
                    .await?;
                    out.added += 1;
                }
                sqlx::query(
                    "INSERT INTO zoom_reconciliations (meeting_uuid, meeting_id, reconciled_at, segments)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (meeting_uuid) DO UPDATE SET reconciled_at = excluded.reconciled_at,
                         segments = excluded.segments",
                )
                .bind(meeting_uuid)
                .bind(meeting_id)
                .bind(to_millis(now))
                .bind(segments.len() as i64)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(out)
            }

            pub(super) async fn meetings_to_reconcile(
                conn: &mut Conn,
                ended_before: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<MeetingToReconcile>> {
                if limit <= 0 {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT DISTINCT m.meeting_id, m.meeting_uuid, r.requestor, m.ended_at
                     FROM zoom_meetings m
                     JOIN requests r ON r.meeting_id = m.meeting_id
                     JOIN assignments a ON a.request_id = r.id
                     JOIN zoom_connections c
                       ON c.person_kind = 'requestor' AND c.person_ref = lower(r.requestor)
                     WHERE m.ended_at IS NOT NULL AND m.ended_at <= $1
                       AND NOT EXISTS (SELECT 1 FROM zoom_reconciliations z
                                       WHERE z.meeting_uuid = m.meeting_uuid)
                     ORDER BY m.ended_at, m.meeting_uuid, r.requestor LIMIT $2",
                )
                .bind(to_millis(ended_before))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let mut out: Vec<MeetingToReconcile> = Vec::new();
                for (meeting_id, meeting_uuid, requestor, ended_at) in rows {
                    if out.iter().any(|m| m.meeting_uuid == meeting_uuid) {
                        continue;
                    }
                    out.push(MeetingToReconcile {
                        meeting_id,
                        meeting_uuid,
                        requestor: EmailAddress::parse(&requestor)
                            .map_err(|e| StoreError::Corrupt(format!("requestor {requestor:?}: {e}")))?,
                        ended_at: from_millis(ended_at)?,
                    });
                }
                Ok(out)
            }

            pub(super) async fn assignments_not_joined(
                conn: &mut Conn,
                started_before: DateTime<Utc>,
            ) -> StoreResult<Vec<NotJoined>> {
                let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT a.id, a.request_id, a.interpreter_id, r.start_at
                     FROM assignments a JOIN requests r ON r.id = a.request_id
                     WHERE r.state = 'assigned' AND a.released_at IS NULL AND r.start_at IS NOT NULL AND r.start_at <= $1
                       AND NOT EXISTS (SELECT 1 FROM attendance t WHERE t.assignment_id = a.id)
                     ORDER BY a.id",
                )
                .bind(to_millis(started_before))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                rows.into_iter()
                    .map(|(assignment_id, request_id, interpreter_id, start)| {
                        Ok(NotJoined {
                            assignment_id,
                            request_id,
                            interpreter_id,
                            start_at: from_millis(start)?,
                        })
                    })
                    .collect()
            }


            pub(super) async fn list_zoom_connections(conn: &mut Conn) -> StoreResult<Vec<ZoomConnectionSummary>> {
                type Row = (String, String, String, Option<String>, String, i64, i64);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT person_kind, person_ref, zoom_user_id, zoom_email, scope, connected_at, expires_at
                     FROM zoom_connections
                     ORDER BY CASE person_kind WHEN 'requestor' THEN 0 ELSE 1 END, person_kind,
                              LENGTH(person_ref), person_ref",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                rows.into_iter()
                    .map(
                        |(
                            person_kind,
                            person,
                            zoom_user_id,
                            zoom_email,
                            scope,
                            connected_at,
                            expires_at,
                        )| {
                            Ok(ZoomConnectionSummary {
                                person_kind,
                                person,
                                zoom_user_id,
                                zoom_email,
                                scope,
                                connected_at: from_millis(connected_at)?,
                                expires_at: from_millis(expires_at)?,
                            })
                        },
                    )
                    .collect()
            }


            /// Sets the time of the first attendance row `find` names (bound: assignment, from,
            /// to) with `set` (bound: `at`, the row's id); whether there was one.
            async fn set_first_row(
                conn: &mut Conn,
                find: &str,
                set: &str,
                (assignment, from, to): (i64, i64, i64),
                at: i64,
            ) -> StoreResult<bool> {
                let row: Option<i64> = sqlx::query_scalar(find)
                    .bind(assignment)
                    .bind(from)
                    .bind(to)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                let Some(row) = row else {
                    return Ok(false);
                };
                sqlx::query(set)
                    .bind(at)
                    .bind(row)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(true)
            }

            /// Adds an attendance row for a report segment (`found`: assignment and interpreter).
            async fn insert_report_row(
                conn: &mut Conn,
                found: Option<(i64, i64)>,
                meeting_id: &str,
                meeting_uuid: &str,
                seg: &ReportSegment,
                method: &str,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO attendance (assignment_id, interpreter_id, meeting_id, meeting_uuid, participant_key,
                                             user_name, customer_key, method, joined_at, left_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(found.map(|(a, _)| a))
                .bind(found.map(|(_, i)| i))
                .bind(meeting_id)
                .bind(meeting_uuid)
                .bind(format!("report:{}", seg.participant_id))
                .bind(&seg.user_name)
                .bind(&seg.customer_key)
                .bind(method)
                .bind(to_millis(seg.joined_at))
                .bind(to_millis(seg.left_at.max(seg.joined_at)))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}
