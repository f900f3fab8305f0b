//! The ingest write (issue #4), written once for both backends: `ingest_sql!` expands into
//! `ingest_q::record`, the whole of `record_ingest_at` inside the caller's write transaction,
//! over one connection type. It owns the statements of a message's commit (the IMAP mark, the
//! message row, the request with its plan, offers, emails, decisions and timers) and must
//! never commit, read the clock or format a value into SQL (every value is bound).
//!
//! Why it is shaped this way: a backlog's drain is bounded by round trips to the database
//! (on SQLite, each statement is a hand-off to sqlx's connection thread and back), not by
//! the work in them. So the commit of a new request is three commands whatever its size: the
//! mark with the message row, the request row, then everything that hangs off the request
//! as multi-row statements. `$joined` says whether the backend runs several `;`-separated
//! statements with bound values as one command (SQLite does; PostgreSQL's extended protocol
//! takes one statement per command, so there each statement is its own round trip, still
//! multi-row).

macro_rules! ingest_sql {
    ($conn:ty, $joined:expr) => {
        mod ingest_q {
            use chrono::{DateTime, Utc};
            use sqlx::Row as _;

            use super::super::matching::{join_skills, DecisionRecord, TimerKind};
            use super::super::{
                db_err, to_millis, ImapCursor, IngestDecision, IngestOutcome, IngestedMessage,
                NewEmail, NewOffer, StoreError, StoreResult, OUTCOME_DUPLICATE, OUTCOME_REJECTED,
                OUTCOME_REQUEST,
            };
            use crate::domain::{RequestId, RequestState};

            type Conn = $conn;
            type Db = <Conn as sqlx::Connection>::Database;

            /// Rows per multi-row INSERT: far under both dialects' limits on bound values
            /// (SQLite 32,766 per command, PostgreSQL 65,535 per statement).
            const ROWS_PER_STATEMENT: usize = 200;
            /// Bound values per joined command before the next statement starts a new one
            /// (SQLite numbers `$N` across the whole command).
            const VALUES_PER_COMMAND: usize = 20_000;

            /// A bound value.
            enum V<'a> {
                I(i64),
                OI(Option<i64>),
                S(&'a str),
                OS(Option<&'a str>),
            }

            /// Statements built with their values, run as few commands as the backend allows:
            /// one per statement, or (`$joined`) several `;`-separated statements per command,
            /// each `$N` numbered across its command.
            struct Batch<'a> {
                commands: Vec<(String, Vec<V<'a>>)>,
            }

            impl<'a> Batch<'a> {
                fn new() -> Self {
                    Batch { commands: Vec::new() }
                }

                /// Starts a statement.
                fn begin(&mut self, sql: &str) {
                    match self.commands.last_mut() {
                        Some((text, values)) if $joined && values.len() < VALUES_PER_COMMAND => {
                            text.push_str(";\n");
                            text.push_str(sql);
                        }
                        _ => self.commands.push((sql.to_string(), Vec::new())),
                    }
                }

                fn sql(&mut self, sql: &str) {
                    self.last().0.push_str(sql);
                }

                /// Binds `v` and writes its placeholder.
                fn arg(&mut self, v: V<'a>) {
                    let (text, values) = self.last();
                    values.push(v);
                    text.push('$');
                    text.push_str(&values.len().to_string());
                }

                /// Opens a row of a multi-row VALUES list and binds each of `vs` in it,
                /// comma-separated; the caller adds any literal tail and the closing `)`.
                fn row(&mut self, first: bool, vs: Vec<V<'a>>) {
                    self.sql(if first { "(" } else { ", (" });
                    for (i, v) in vs.into_iter().enumerate() {
                        if i > 0 {
                            self.sql(", ");
                        }
                        self.arg(v);
                    }
                }

                fn last(&mut self) -> &mut (String, Vec<V<'a>>) {
                    self.commands
                        .last_mut()
                        .expect("a statement is begun before it is written")
                }

                /// Runs every command in order; the rows any statement returned, in order.
                async fn run(self, conn: &mut Conn) -> StoreResult<Vec<<Db as sqlx::Database>::Row>> {
                    let mut rows = Vec::new();
                    for (text, values) in &self.commands {
                        let mut q = sqlx::query::<Db>(text);
                        for v in values {
                            q = match v {
                                V::I(x) => q.bind(*x),
                                V::OI(x) => q.bind(*x),
                                V::S(x) => q.bind(*x),
                                V::OS(x) => q.bind(*x),
                            };
                        }
                        rows.extend(q.fetch_all(&mut *conn).await.map_err(db_err)?);
                    }
                    Ok(rows)
                }
            }

            fn first_id(rows: &[<Db as sqlx::Database>::Row]) -> StoreResult<Option<i64>> {
                rows.first()
                    .map(|r| r.try_get::<i64, _>(0))
                    .transpose()
                    .map_err(db_err)
            }

            /// Everything `record_ingest_at` writes, in the caller's transaction: the mark
            /// (when `cursor` is given, and then the duplicate check by Message-ID and content
            /// hash within the mailbox), the message row as the claim on (mailbox, source key),
            /// and the decision. `AlreadyRecorded` leaves only the mark advanced, which the
            /// caller commits as for any other outcome.
            pub(crate) async fn record(
                conn: &mut Conn,
                cursor: Option<&ImapCursor>,
                message: &IngestedMessage,
                decision: &IngestDecision,
                now: DateTime<Utc>,
            ) -> StoreResult<IngestOutcome> {
                let now_ms = to_millis(now);
                let (outcome, reason) = match decision {
                    IngestDecision::Request { .. } => (OUTCOME_REQUEST, None),
                    IngestDecision::Rejected { reason, .. } => {
                        (OUTCOME_REJECTED, Some(reason.as_str()))
                    }
                };
                // Command 1: the mark, then the message row unless this message is there
                // already (by key; and on IMAP by hash or Message-ID, two index lookups — one
                // OR would make the planners scan the mailbox's rows). A size-only placeholder
                // hash never counts; a NULL binding matches nothing.
                let mut b = Batch::new();
                if let Some(c) = cursor {
                    b.begin("INSERT INTO imap_marks (mailbox, uidvalidity, last_uid, updated_at) VALUES (");
                    b.arg(V::S(&c.mailbox));
                    b.sql(", ");
                    b.arg(V::I(i64::from(c.uidvalidity)));
                    b.sql(", ");
                    b.arg(V::I(i64::from(c.uid)));
                    b.sql(", ");
                    b.arg(V::I(now_ms));
                    b.sql(
                        ") ON CONFLICT (mailbox, uidvalidity) DO UPDATE
                         SET last_uid = CASE WHEN imap_marks.last_uid > excluded.last_uid
                                             THEN imap_marks.last_uid ELSE excluded.last_uid END,
                             updated_at = excluded.updated_at",
                    );
                }
                let by_hash = (cursor.is_some() && !message.sha256.starts_with("unread:"))
                    .then_some(message.sha256.as_str());
                let by_id = cursor.and(message.message_id.as_deref());
                b.begin("INSERT INTO messages (mailbox, source_key, message_id, sha256, outcome, reason, received_at) SELECT ");
                b.arg(V::S(&message.mailbox));
                b.sql(", ");
                b.arg(V::S(&message.source_key));
                b.sql(", ");
                b.arg(V::OS(message.message_id.as_deref()));
                b.sql(", ");
                b.arg(V::S(&message.sha256));
                b.sql(", ");
                b.arg(V::S(outcome));
                b.sql(", ");
                b.arg(V::OS(reason));
                b.sql(", ");
                b.arg(V::I(now_ms));
                b.sql(" WHERE NOT EXISTS (SELECT 1 FROM messages WHERE mailbox = ");
                b.arg(V::S(&message.mailbox));
                b.sql(" AND sha256 = ");
                b.arg(V::OS(by_hash));
                b.sql(") AND NOT EXISTS (SELECT 1 FROM messages WHERE mailbox = ");
                b.arg(V::S(&message.mailbox));
                b.sql(" AND message_id = ");
                b.arg(V::OS(by_id));
                b.sql(") ON CONFLICT (mailbox, source_key) DO NOTHING RETURNING id");
                let Some(message_row) = first_id(&b.run(&mut *conn).await?)? else {
                    return Ok(IngestOutcome::AlreadyRecorded);
                };

                let (request, offers, emails, dispatch) = match decision {
                    IngestDecision::Rejected { emails, .. } => {
                        let mut b = Batch::new();
                        outbox(&mut b, &[], emails, now_ms);
                        b.run(&mut *conn).await?;
                        return Ok(IngestOutcome::Rejected);
                    }
                    IngestDecision::Request {
                        request,
                        offers,
                        emails,
                        dispatch,
                    } => (request, offers, emails, dispatch),
                };

                // Command 2: the request, with its plan and calendar key in the same row.
                let meeting = &request.meeting;
                let meeting_key = meeting.dedupe_key();
                let state = if offers.is_empty() {
                    RequestState::Open
                } else {
                    RequestState::Offered
                };
                let mut b = Batch::new();
                b.begin(
                    "INSERT INTO requests (meeting_key, meeting_id, passcode, join_url, host, kind, topic, start_at,
                                           timezone, from_lang, to_lang, requestor, route_address, state, epoch,
                                           created_at, updated_at, skills, duration_minutes, match_seed,
                                           cal_uid, cal_sequence)
                     VALUES (",
                );
                let skills = dispatch.as_ref().map(|p| join_skills(&p.skills));
                for (i, v) in [
                    V::S(&meeting_key),
                    V::OS(meeting.meeting_id.as_deref()),
                    V::OS(meeting.passcode.as_deref()),
                    V::S(&meeting.join_url),
                    V::S(&meeting.host),
                    V::S(&meeting.kind),
                    V::OS(meeting.topic.as_deref()),
                    V::OI(meeting.start.map(to_millis)),
                    V::OS(meeting.timezone.as_deref()),
                    V::S(request.pair.from.code()),
                    V::S(request.pair.to.code()),
                    V::S(request.requestor.as_str()),
                    V::S(&request.route_address),
                    V::S(state.as_str()),
                ]
                .into_iter()
                .enumerate()
                {
                    if i > 0 {
                        b.sql(", ");
                    }
                    b.arg(v);
                }
                b.sql(", 0, ");
                b.arg(V::I(now_ms));
                b.sql(", ");
                b.arg(V::I(now_ms));
                // Without a plan, the columns' defaults (as before plans existed).
                b.sql(", COALESCE(");
                b.arg(V::OS(skills.as_deref()));
                b.sql(", ''), COALESCE(");
                b.arg(V::OI(dispatch.as_ref().map(|p| p.duration_minutes)));
                b.sql(", 60), COALESCE(");
                b.arg(V::OI(dispatch.as_ref().map(|p| p.seed)));
                b.sql(", 0), ");
                b.arg(V::OS(request.calendar.as_ref().map(|c| c.uid.as_str())));
                b.sql(", ");
                b.arg(V::OI(request.calendar.as_ref().map(|c| c.sequence)));
                b.sql(") ON CONFLICT (meeting_key, from_lang, to_lang) DO NOTHING RETURNING id");
                let created = first_id(&b.run(&mut *conn).await?)?;

                let Some(request_id) = created else {
                    // The same meeting for the same pair: point the message at it.
                    let existing: Option<i64> = sqlx::query_scalar(
                        "UPDATE messages SET outcome = $1,
                                request_id = (SELECT id FROM requests
                                              WHERE meeting_key = $2 AND from_lang = $3 AND to_lang = $4)
                         WHERE id = $5 RETURNING request_id",
                    )
                    .bind(OUTCOME_DUPLICATE)
                    .bind(&meeting_key)
                    .bind(request.pair.from.code())
                    .bind(request.pair.to.code())
                    .bind(message_row)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    let existing = existing.ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "message {message_row}: the request of its meeting is gone"
                        ))
                    })?;
                    return Ok(IngestOutcome::DuplicateMeeting(existing));
                };

                // Command 3: everything that hangs off the new request, multi-row.
                let mut b = Batch::new();
                offer_rows(&mut b, request_id, offers, now_ms);
                outbox(&mut b, offers, emails, now_ms);
                if let Some(plan) = dispatch {
                    decision_rows(&mut b, request_id, &plan.decisions, now_ms);
                    let timers: Vec<(TimerKind, i64)> = [
                        plan.next_wave_at.map(|at| (TimerKind::Wave, to_millis(at))),
                        plan.deadline_at.map(|at| (TimerKind::Deadline, to_millis(at))),
                        Some((TimerKind::Close, to_millis(plan.close_at))),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    b.begin("INSERT INTO timers (request_id, kind, due_at, epoch, lease_until, done_at, created_at) VALUES ");
                    for (i, (kind, at)) in timers.into_iter().enumerate() {
                        b.row(i == 0, vec![V::I(request_id), V::S(kind.as_str()), V::I(at)]);
                        b.sql(", 0, NULL, NULL, ");
                        b.arg(V::I(now_ms));
                        b.sql(")");
                    }
                    b.sql(
                        " ON CONFLICT (request_id, kind) DO UPDATE SET
                             due_at = excluded.due_at, epoch = excluded.epoch, lease_until = NULL, done_at = NULL",
                    );
                }
                b.begin("UPDATE messages SET request_id = ");
                b.arg(V::I(request_id));
                b.sql(" WHERE id = ");
                b.arg(V::I(message_row));
                b.run(&mut *conn).await?;
                Ok(IngestOutcome::Created(request_id))
            }

            /// The first wave's offers, multi-row.
            fn offer_rows<'a>(b: &mut Batch<'a>, request_id: RequestId, offers: &'a [NewOffer], now_ms: i64) {
                for chunk in offers.chunks(ROWS_PER_STATEMENT) {
                    b.begin("INSERT INTO offers (request_id, interpreter_id, token_hash, state, created_at, expires_at) VALUES ");
                    for (i, o) in chunk.iter().enumerate() {
                        b.row(
                            i == 0,
                            vec![
                                V::I(request_id),
                                V::I(o.interpreter_id),
                                V::S(&o.token_hash.0),
                                V::S("pending"),
                                V::I(now_ms),
                                V::I(to_millis(o.expires_at)),
                            ],
                        );
                        b.sql(")");
                    }
                }
            }

            /// The offers' emails (each linked to its offer, written before in the same
            /// transaction), then `emails`, in that order; an email whose `message_id` is in
            /// the outbox already is skipped.
            fn outbox<'a>(b: &mut Batch<'a>, offers: &'a [NewOffer], emails: &'a [NewEmail], now_ms: i64) {
                let all: Vec<(&'a NewEmail, Option<&'a str>)> = offers
                    .iter()
                    .map(|o| (&o.email, Some(o.token_hash.0.as_str())))
                    .chain(emails.iter().map(|e| (e, None)))
                    .collect();
                for chunk in all.chunks(ROWS_PER_STATEMENT) {
                    b.begin(
                        "INSERT INTO outbox (message_id, kind, recipient, subject, body_text, body_html, in_reply_to,
                                             state, attempts, next_attempt_at, created_at, offer_id) VALUES ",
                    );
                    for (i, (e, token)) in chunk.iter().enumerate() {
                        b.row(
                            i == 0,
                            vec![
                                V::S(&e.message_id),
                                V::S(&e.kind),
                                V::S(e.to.as_str()),
                                V::S(&e.subject),
                                V::S(&e.text),
                                V::S(&e.html),
                                V::OS(e.in_reply_to.as_deref()),
                                V::S("pending"),
                                V::I(0),
                                V::I(now_ms),
                                V::I(now_ms),
                            ],
                        );
                        // The offer's id, from its token (NULL for other mail).
                        b.sql(", (SELECT id FROM offers WHERE token_hash = ");
                        b.arg(V::OS(*token));
                        b.sql("))");
                    }
                    b.sql(" ON CONFLICT (message_id) DO NOTHING");
                }
            }

            /// Every matching decision, multi-row; the last one for an interpreter wins (as
            /// one upsert per decision did).
            fn decision_rows<'a>(
                b: &mut Batch<'a>,
                request_id: RequestId,
                decisions: &'a [DecisionRecord],
                now_ms: i64,
            ) {
                let mut last: Vec<&'a DecisionRecord> = Vec::with_capacity(decisions.len());
                let mut seen = std::collections::HashSet::new();
                for d in decisions.iter().rev() {
                    if seen.insert(d.interpreter_id) {
                        last.push(d);
                    }
                }
                last.reverse();
                for chunk in last.chunks(ROWS_PER_STATEMENT) {
                    b.begin("INSERT INTO match_decisions (request_id, interpreter_id, excluded_by, score, rank, wave, decided_at) VALUES ");
                    for (i, d) in chunk.iter().enumerate() {
                        b.row(
                            i == 0,
                            vec![
                                V::I(request_id),
                                V::I(d.interpreter_id),
                                V::OS(d.excluded_by.as_deref()),
                                V::OS(d.score.as_deref()),
                                V::OI(d.rank),
                                V::OI(d.wave),
                                V::I(now_ms),
                            ],
                        );
                        b.sql(")");
                    }
                    b.sql(
                        " ON CONFLICT (request_id, interpreter_id) DO UPDATE SET
                             excluded_by = excluded.excluded_by, score = excluded.score, rank = excluded.rank,
                             wave = excluded.wave, decided_at = excluded.decided_at",
                    );
                }
            }
        }
    };
}
