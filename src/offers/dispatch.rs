//! Matching put to work (issue #5): the first wave at ingest, and the timer step that sends
//! later waves, tells the requestor at the deadline and closes unfilled requests.
//!
//! Every wave is planned afresh from the roster as it is at that moment (someone who came
//! online since is considered; someone already offered never again), then written in one
//! transaction fenced by the request's epoch: a timer scheduled before an accept changes
//! nothing. Timers are rows (`Store::claim_timers`), so a restart or a second instance picks
//! them up. Never reads the clock: `now` is a parameter.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::Offers;
use crate::domain::{Request, Token};
use crate::matching::waves::{plan_waves, rank, wave_timeout};
use crate::matching::{consider, Candidate, Need, Rules};
use crate::outbox::compose;
use crate::outbox::templates::Message;
use crate::store::{
    DecisionRecord, DispatchPlan, MatchingContext, NewEmail, NewOffer, NewRequest, Timer,
    TimerKind, WaveRecord,
};

/// One planned wave: its offers and every decision behind it.
pub struct PlannedWave {
    pub offers: Vec<NewOffer>,
    pub decisions: Vec<DecisionRecord>,
    /// When the next wave (or retry) is due, if before the close.
    pub next_wave_at: Option<DateTime<Utc>>,
}

/// What one timer step did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub timers: usize,
    pub offers: usize,
    pub deadlines: usize,
    pub closed: usize,
    /// Assignments released because the interpreter did not join.
    pub released: usize,
    pub stale: usize,
}

impl Offers {
    fn rules(&self) -> Rules {
        Rules {
            presence_horizon: Duration::minutes(self.matching.presence_horizon_minutes),
            overlap_buffer: Duration::minutes(self.matching.overlap_buffer_minutes),
        }
    }

    /// When an unaccepted request gives up: start + grace, or a week for no fixed time.
    pub fn close_at(&self, start: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        match start {
            Some(s) => s.max(now) + Duration::minutes(self.matching.close_grace_minutes),
            None => now + Duration::days(7),
        }
    }

    /// The pool for a pair as of `now`.
    async fn pool(&self, request: &Request, now: DateTime<Utc>) -> anyhow::Result<Vec<Candidate>> {
        let window = Duration::days(self.matching.fairness_window_days);
        Ok(self
            .store
            .matching_pool(&request.pair, now - window, now - window, now)
            .await?)
    }

    /// Plans the next wave for `request`: hard rules over the pool (skipping `offered`), the
    /// ranking, the wave plan from now, and the offers of its first wave (numbered `wave`).
    #[allow(clippy::too_many_arguments)]
    pub fn plan_wave(
        &self,
        request: &Request,
        pool: &[Candidate],
        skills: &[String],
        duration_minutes: i64,
        seed: i64,
        offered: &HashSet<i64>,
        wave: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<PlannedWave> {
        let preferences = self.requestors.preferences_of(&request.requestor);
        let need = Need {
            pair: &request.pair,
            skills,
            start: request.meeting.start,
            duration_minutes,
            preferences: &preferences,
        };
        let (decisions, histories) = consider(pool, &need, &self.rules(), offered, now);
        // The seed is per request; mixing in the wave keeps ties fair between waves too.
        let ranked = rank(
            &histories,
            &self.matching.weights,
            now,
            (seed as u64) ^ (wave as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let plan = plan_waves(&ranked, now, request.meeting.start);
        let first = plan.first().map(|w| w.start..w.end).unwrap_or(0..0);
        let close = self.close_at(request.meeting.start, now);
        let start = request.meeting.start.unwrap_or(now + Duration::days(1));
        let next = plan
            .first()
            .map(|w| w.timeout_at)
            .unwrap_or_else(|| now + wave_timeout(start - now));
        let expires_at = self.offer_expiry(request.meeting.start, now);
        let mut offers = Vec::with_capacity(first.len());
        let mut records: Vec<DecisionRecord> = decisions
            .iter()
            .filter(|d| d.excluded_by.is_some())
            .map(|d| DecisionRecord {
                interpreter_id: d.interpreter,
                excluded_by: d.excluded_by.map(str::to_string),
                score: None,
                rank: None,
                wave: None,
            })
            .collect();
        for (position, r) in ranked.iter().enumerate() {
            let in_wave = first.contains(&position);
            records.push(DecisionRecord {
                interpreter_id: r.interpreter,
                excluded_by: None,
                score: Some(serde_json::to_string(r)?),
                rank: Some(position as i64 + 1),
                wave: in_wave.then_some(wave),
            });
            if !in_wave {
                continue;
            }
            let Some(c) = pool.iter().find(|c| c.interpreter.id == r.interpreter) else {
                continue;
            };
            let token = Token::generate();
            let rendered = self.templates.render(&Message::Offer {
                interpreter: &c.interpreter,
                request,
                offer_url: self.offer_url(&token),
                expires_at,
            })?;
            offers.push(NewOffer {
                interpreter_id: c.interpreter.id,
                token_hash: token.hash(),
                expires_at,
                email: compose("offer", &c.interpreter.email, &self.from, rendered, None),
            });
        }
        Ok(PlannedWave {
            offers,
            decisions: records,
            next_wave_at: (next < close).then_some(next),
        })
    }

    /// The first wave of a new request and its timers, for `record_ingest`.
    pub(super) async fn first_wave(
        &self,
        preview: &Request,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Vec<NewOffer>, DispatchPlan)> {
        let skills = self.route_skills(&preview.route_address);
        let duration = self.matching.default_duration_minutes;
        let seed: i64 = rand::thread_rng().gen::<i64>() & i64::MAX;
        let pool = self.pool(preview, now).await?;
        let planned = self.plan_wave(
            preview,
            &pool,
            &skills,
            duration,
            seed,
            &HashSet::new(),
            1,
            now,
        )?;
        let start = preview.meeting.start;
        let deadline_at =
            start.map(|s| (s - Duration::minutes(self.matching.deadline_lead_minutes)).max(now));
        let plan = DispatchPlan {
            skills,
            duration_minutes: duration,
            seed,
            decisions: planned.decisions,
            next_wave_at: planned.next_wave_at,
            deadline_at,
            close_at: self.close_at(start, now),
        };
        Ok((planned.offers, plan))
    }

    /// A calendar message about a request we already have (same UID and pair): `METHOD:CANCEL`
    /// cancels it (everyone concerned told); a `METHOD:REQUEST` with a higher SEQUENCE and a
    /// new start moves it, tells the assigned interpreter, and re-checks them at the new time
    /// (released and offered again when they no longer fit). Returns what happened, for the
    /// message's record; `None` when there is no such request (a new one is made).
    pub async fn calendar_change(
        &self,
        request: &NewRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        let Some(cal) = &request.calendar else {
            return Ok(None);
        };
        let Some((id, stored_sequence)) = self
            .store
            .request_by_calendar(&cal.uid, &request.pair)
            .await?
        else {
            return Ok(None);
        };
        if cal.cancel {
            let done = self.cancel(id, now).await?;
            return Ok(Some(if done {
                format!("calendar cancellation: request {id} cancelled")
            } else {
                format!("calendar cancellation: request {id} was already finished")
            }));
        }
        if cal.sequence <= stored_sequence {
            return Ok(Some(format!(
                "calendar update SEQUENCE {} is not newer than request {id}'s {stored_sequence}: nothing changed",
                cal.sequence
            )));
        }
        let Some(start) = request.meeting.start else {
            return Ok(Some(format!(
                "calendar update for request {id} states no start: nothing changed"
            )));
        };
        let Some(detail) = self.store.request_detail(id).await? else {
            return Ok(None);
        };
        if detail.request.meeting.start == Some(start) {
            return Ok(Some(format!(
                "calendar update for request {id}: same start, nothing changed"
            )));
        }
        let mut moved = detail.request.clone();
        moved.meeting.start = Some(start);
        let assigned = match detail.assigned_interpreter {
            Some(i) => self.store.find_interpreter(&i.to_string()).await?,
            None => None,
        };
        let change = crate::store::Reschedule {
            start,
            sequence: cal.sequence,
            deadline_at: (start - Duration::minutes(self.matching.deadline_lead_minutes)).max(now),
            close_at: self.close_at(Some(start), now),
            noshow_at: start.max(now) + Duration::minutes(self.matching.noshow_grace_minutes),
        };
        // Does the assigned interpreter still fit the new time? Checked before the move,
        // their booking of this very request left out.
        let mut misfit = None;
        if let Some(interpreter) = &assigned {
            let pool = self.pool(&moved, now).await?;
            if let Some(mut c) = pool
                .into_iter()
                .find(|c| c.interpreter.id == interpreter.id)
            {
                let old_start = detail.request.meeting.start;
                c.bookings.retain(|b| Some(b.start) != old_start);
                let preferences = self.requestors.preferences_of(&moved.requestor);
                let ctx = self.store.matching_context(id).await?;
                let (skills, duration) = ctx
                    .map(|c| (c.skills, c.duration_minutes))
                    .unwrap_or_else(|| (vec![], self.matching.default_duration_minutes));
                let need = Need {
                    pair: &moved.pair,
                    skills: &skills,
                    start: Some(start),
                    duration_minutes: duration,
                    preferences: &preferences,
                };
                // Presence is not required of someone already assigned: only the rules
                // about the new time itself count.
                c.interpreter.presence_until = Some(start + Duration::days(1));
                misfit = crate::matching::exclusion(&c, &need, &self.rules(), now);
            }
        }
        let mut emails = Vec::new();
        if let Some(interpreter) = &assigned {
            let rendered = self.templates.render(&Message::MeetingMoved {
                interpreter,
                request: &moved,
                still_yours: misfit.is_none(),
            })?;
            emails.push(compose(
                "meeting_moved",
                &interpreter.email,
                &self.from,
                rendered,
                None,
            ));
        }
        if !self
            .store
            .reschedule_request(id, &change, &emails, now)
            .await?
        {
            return Ok(Some(format!(
                "calendar update for request {id}: the request is finished, nothing changed"
            )));
        }
        if let Some(rule) = misfit {
            let rendered = self
                .templates
                .render(&Message::Reoffered { request: &moved })?;
            let to_requestor = compose("reoffered", &moved.requestor, &self.from, rendered, None);
            self.store
                .release_assignment(None, id, "moved", &[to_requestor], now)
                .await?;
            return Ok(Some(format!(
                "calendar update moved request {id}; the assigned interpreter no longer fits ({rule}): offered again"
            )));
        }
        Ok(Some(format!(
            "calendar update moved request {id} to {start}"
        )))
    }

    /// Skills the route of this address requires.
    fn route_skills(&self, route_address: &str) -> Vec<String> {
        self.routes
            .iter()
            .find(|r| r.address.eq_ignore_ascii_case(route_address))
            .map(|r| r.skills.clone())
            .unwrap_or_default()
    }

    /// One step of the timer worker: claims due timers and acts on each. Tests drive it with
    /// their own `now`; the daemon calls it every second and when ingest or a decline wakes it.
    pub async fn dispatch_step(&self, now: DateTime<Utc>) -> anyhow::Result<StepReport> {
        let timers = self
            .store
            .claim_timers(now, now + Duration::seconds(60), 32)
            .await?;
        let mut report = StepReport {
            timers: timers.len(),
            ..StepReport::default()
        };
        for timer in timers {
            let result = match timer.kind {
                TimerKind::Wave => self.next_wave(&timer, now).await,
                TimerKind::Deadline => self.deadline(&timer, now).await,
                TimerKind::NoShow => self.no_show(&timer, now).await,
                // A failure is logged below like the others, not the end of the step.
                TimerKind::Close => self
                    .store
                    .close_unfilled(timer.id, timer.request_id, now)
                    .await
                    .map(Acted::Closed)
                    .map_err(anyhow::Error::from),
            };
            match result {
                Ok(Acted::Wave(n)) => report.offers += n,
                Ok(Acted::Released(true)) => {
                    report.released += 1;
                    tracing::warn!(
                        request_id = timer.request_id,
                        "the interpreter did not join: assignment released, offering again"
                    );
                }
                Ok(Acted::Deadline(true)) => report.deadlines += 1,
                Ok(Acted::Closed(true)) => {
                    report.closed += 1;
                    tracing::info!(request_id = timer.request_id, "request unfilled: closed");
                }
                Ok(
                    Acted::Stale
                    | Acted::Deadline(false)
                    | Acted::Closed(false)
                    | Acted::Released(false),
                ) => report.stale += 1,
                Err(e) => {
                    // The lease runs out and another step retries it.
                    tracing::warn!(request_id = timer.request_id, kind = timer.kind.as_str(), error = %e, "timer failed; will retry");
                }
            }
        }
        Ok(report)
    }

    async fn next_wave(&self, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<Acted> {
        let Some(ctx) = self.store.matching_context(timer.request_id).await? else {
            self.store.finish_timer(timer.id, now).await?;
            return Ok(Acted::Stale);
        };
        let open = matches!(
            ctx.request.state,
            crate::domain::RequestState::Open | crate::domain::RequestState::Offered
        );
        if !open || ctx.request.epoch != timer.epoch {
            self.store.finish_timer(timer.id, now).await?;
            return Ok(Acted::Stale);
        }
        let pool = self.pool(&ctx.request, now).await?;
        let offered = ctx.skip();
        let wave = ctx.last_wave() + 1;
        let planned = self.plan_wave(
            &ctx.request,
            &pool,
            &ctx.skills,
            ctx.duration_minutes,
            ctx.seed,
            &offered,
            wave,
            now,
        )?;
        let pause_emails = self.pause_emails(&ctx, &pool)?;
        let n = planned.offers.len();
        let written = self
            .store
            .record_wave(
                &WaveRecord {
                    request_id: ctx.request.id,
                    epoch: timer.epoch,
                    timer_id: timer.id,
                    wave,
                    offers: planned.offers,
                    decisions: planned.decisions,
                    next_wave_at: planned.next_wave_at,
                    pause_after: self.matching.pause_after_unanswered,
                    pause_emails,
                },
                now,
            )
            .await?;
        if !written {
            return Ok(Acted::Stale);
        }
        if n > 0 {
            tracing::info!(request_id = ctx.request.id, wave, offers = n, "wave sent");
        }
        Ok(Acted::Wave(n))
    }

    /// The pause notice for everyone whose still-pending offer may be their Nth unanswered
    /// one; the store sends it only to those it actually pauses.
    fn pause_emails(
        &self,
        ctx: &MatchingContext,
        pool: &[Candidate],
    ) -> anyhow::Result<Vec<(i64, NewEmail)>> {
        let threshold = self.matching.pause_after_unanswered;
        let pending: HashSet<i64> = ctx
            .offers
            .iter()
            .filter(|(_, _, s)| *s == crate::domain::OfferState::Pending)
            .map(|(i, _, _)| *i)
            .collect();
        let mut out = Vec::new();
        for c in pool.iter().filter(|c| pending.contains(&c.interpreter.id)) {
            if c.profile.paused_at.is_some() || c.profile.unanswered + 1 < threshold {
                continue;
            }
            let rendered = self.templates.render(&Message::Paused {
                interpreter: &c.interpreter,
                unanswered: threshold,
            })?;
            out.push((
                c.interpreter.id,
                compose("paused", &c.interpreter.email, &self.from, rendered, None),
            ));
        }
        Ok(out)
    }

    /// Start + grace after an accept: releases the assignment when the interpreter has not
    /// joined, and offers the request again. The emails are prepared first; the store sends
    /// them only if it releases.
    async fn no_show(&self, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<Acted> {
        let detail = self.store.request_detail(timer.request_id).await?;
        let Some((detail, interpreter_id)) =
            detail.and_then(|d| d.assigned_interpreter.map(|i| (d, i)))
        else {
            self.store.finish_timer(timer.id, now).await?;
            return Ok(Acted::Stale);
        };
        let Some(interpreter) = self
            .store
            .find_interpreter(&interpreter_id.to_string())
            .await?
        else {
            self.store.finish_timer(timer.id, now).await?;
            return Ok(Acted::Stale);
        };
        let request = &detail.request;
        let to_requestor = Message::Reoffered { request };
        let mut emails = vec![self.compose_to_requestor(&to_requestor, request).await?];
        if let Some(coordinator) = &self.matching.coordinator {
            emails.push(compose(
                "reoffered",
                coordinator,
                &self.from,
                self.templates.render(&to_requestor)?,
                None,
            ));
        }
        let rendered = self.templates.render(&Message::NoShowReleased {
            interpreter: &interpreter,
            request,
        })?;
        emails.push(compose(
            "no_show_released",
            &interpreter.email,
            &self.from,
            rendered,
            None,
        ));
        Ok(Acted::Released(
            self.store
                .release_assignment(Some(timer.id), timer.request_id, "no_show", &emails, now)
                .await?,
        ))
    }

    async fn deadline(&self, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<Acted> {
        let Some(ctx) = self.store.matching_context(timer.request_id).await? else {
            self.store.finish_timer(timer.id, now).await?;
            return Ok(Acted::Stale);
        };
        let message = Message::NobodyAvailable {
            request: &ctx.request,
        };
        let mut emails = vec![self.compose_to_requestor(&message, &ctx.request).await?];
        if let Some(coordinator) = &self.matching.coordinator {
            let rendered = self.templates.render(&message)?;
            emails.push(compose(
                "nobody_available",
                coordinator,
                &self.from,
                rendered,
                None,
            ));
        }
        Ok(Acted::Deadline(
            self.store
                .request_deadline(timer.id, timer.request_id, &emails, now)
                .await?,
        ))
    }
}

enum Acted {
    Wave(usize),
    Released(bool),
    Deadline(bool),
    Closed(bool),
    Stale,
}

/// `request explain` for people: one line per interpreter, ranked ones first.
pub fn explain_text(rows: &[crate::store::ExplainRow]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>4} {:>5}  {:<22} {:>6}  {:<54} {:>4}  {:<17} outcome",
        "rank", "id", "name", "score", "components / excluded by", "wave", "offered at"
    );
    for r in rows {
        let (score, detail) = match (&r.excluded_by, &r.score) {
            (Some(rule), _) => ("-".to_string(), rule.clone()),
            (None, Some(s)) => {
                let f = |k: &str| s.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
                (
                    format!("{:.2}", f("score")),
                    format!(
                        "pref {:.0} fair {:+.2} idle {:.2} rel {:.2} decl {:+.2} p {:.2}",
                        f("preferred"),
                        f("fairness"),
                        f("idle"),
                        f("reliability"),
                        f("declines"),
                        f("accept_chance")
                    ),
                )
            }
            (None, None) => ("-".to_string(), "eligible".to_string()),
        };
        let outcome = match (&r.offer_state, r.responded_at) {
            (Some(s), Some(at)) => format!("{s} {}", at.format("%m-%d %H:%M:%S")),
            (Some(s), None) => s.clone(),
            (None, _) if r.excluded_by.is_some() => "not offered".into(),
            (None, _) => "not offered (a later wave)".into(),
        };
        let _ = writeln!(
            out,
            "{:>4} {:>5}  {:<22} {:>6}  {:<54} {:>4}  {:<17} {}",
            r.rank.map_or("-".into(), |n| n.to_string()),
            r.interpreter_id,
            r.name.chars().take(22).collect::<String>(),
            score,
            detail,
            r.wave.map_or("-".into(), |w| w.to_string()),
            r.offered_at
                .map_or("-".into(), |t| t.format("%m-%d %H:%M:%S").to_string()),
            outcome
        );
    }
    out
}
