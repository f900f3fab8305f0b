//! Reconciliation from Zoom's participant report (`GET /v2/report/meetings/{uuid}/participants`,
//! paged by `next_page_token`) after a meeting ended: the participants that webhooks missed
//! (Zoom drops an event after its last retry; deliveries may lag up to 85 minutes) are merged
//! into attendance by the store, attributed by `customer_key`, then the display name, then the
//! interpreter's connected Zoom user (`id`, `user_email`).
//!
//! [`reconcile_meeting`] is one meeting; [`reconcile_due`] is the single step a loop (or a
//! test) drives. `now` is a parameter. Never logs names, tokens or bodies.

use chrono::{DateTime, Duration, Utc};

use super::api::{ApiError, ReportParticipant};
use super::connect::{ConnectError, ZoomOAuth};
use super::events::parse_display_name;
use crate::store::{
    MeetingToReconcile, ParticipantZoomUser, ReconcileOutcome, ReportSegment, Store, ZoomPerson,
};

/// At most this many report pages (300 participants each) are read for one meeting.
pub const MAX_PAGES: usize = 100;
/// How many meetings one step reconciles.
pub const BATCH: i64 = 20;

fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A report row as a segment; `None` for a row without both times (nothing to bill).
pub fn segment_of(p: &ReportParticipant) -> Option<ReportSegment> {
    let joined_at = time(p.join_time.as_deref())?;
    let left_at = time(p.leave_time.as_deref())?;
    let user_name = nonempty(&p.name);
    Some(ReportSegment {
        participant_id: nonempty(&p.id)
            .or_else(|| nonempty(&p.user_id))
            .unwrap_or_else(|| "-".into()),
        named_interpreter: user_name.as_deref().and_then(parse_display_name),
        zoom_user: ParticipantZoomUser::new(
            [p.id.as_deref(), p.user_id.as_deref()],
            p.user_email.as_deref(),
        ),
        user_name,
        customer_key: nonempty(&p.customer_key),
        joined_at,
        left_at,
    })
}

/// Reads the whole report of one meeting instance with the requestor's token and merges it.
pub async fn reconcile_meeting(
    store: &dyn Store,
    oauth: &ZoomOAuth,
    meeting: &MeetingToReconcile,
    now: DateTime<Utc>,
) -> Result<ReconcileOutcome, ConnectError> {
    let person = ZoomPerson::Requestor(meeting.requestor.clone());
    let Some(access) = oauth.access_token(store, &person, now).await? else {
        return Err(ConnectError::Api(ApiError::Refused {
            call: "the participant report",
            status: 401,
            reason: None,
            hint: "the requestor has no connected Zoom user: send them a connect link",
        }));
    };
    let mut segments = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = oauth
            .api
            .report_page(&access, &meeting.meeting_uuid, next.as_deref())
            .await?;
        segments.extend(page.participants.iter().filter_map(segment_of));
        next = page.next_page_token.filter(|t| !t.is_empty());
        if next.is_none() {
            break;
        }
    }
    Ok(store
        .reconcile_zoom_report(&meeting.meeting_id, &meeting.meeting_uuid, &segments, now)
        .await?)
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub meetings: usize,
    pub failed: usize,
    pub merged: ReconcileOutcome,
}

/// The step: every meeting that ended at least `after` ago and is not reconciled yet (at
/// most [`BATCH`]). A meeting that fails (report not ready, Zoom down) stays for the next.
pub async fn reconcile_due(
    store: &dyn Store,
    oauth: &ZoomOAuth,
    after: Duration,
    now: DateTime<Utc>,
) -> Result<ReconcileReport, ConnectError> {
    let due = store.meetings_to_reconcile(now - after, BATCH).await?;
    let mut report = ReconcileReport::default();
    for m in due {
        match reconcile_meeting(store, oauth, &m, now).await {
            Ok(o) => {
                tracing::info!(
                    meeting_id = %m.meeting_id,
                    added = o.added,
                    closed = o.closed,
                    completed = o.completed,
                    covered = o.covered,
                    unattributed = o.unattributed,
                    "meeting reconciled from Zoom's participant report"
                );
                report.meetings += 1;
                report.merged.added += o.added;
                report.merged.closed += o.closed;
                report.merged.completed += o.completed;
                report.merged.covered += o.covered;
                report.merged.unattributed += o.unattributed;
            }
            Err(e) => {
                tracing::warn!(meeting_id = %m.meeting_id, error = %e, "participant report not merged (retried next step)");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The participant shape of Zoom's report API documentation.
    #[test]
    fn report_rows_become_segments() {
        let page: super::super::api::ReportPage = serde_json::from_str(
            r#"{"page_count":1,"page_size":300,"total_records":2,"next_page_token":"",
            "participants":[
              {"id":"30R7kT7bTIKSNUFEuH_Qlg","user_id":"16778240","name":"Ana 17 (Spanish Interpreter)",
               "user_email":"","join_time":"2026-05-01T15:01:12Z","leave_time":"2026-05-01T15:50:00Z",
               "duration":2928,"attentiveness_score":"","failover":false,"status":"in_meeting",
               "customer_key":"349589LkJyeW","registrant_id":"","participant_user_id":""},
              {"id":"","user_id":"16778241","name":"Dr Ruiz","join_time":"2026-05-01T15:00:00Z"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(page.next_page_token.as_deref(), Some(""));
        let s = segment_of(&page.participants[0]).unwrap();
        assert_eq!(s.participant_id, "30R7kT7bTIKSNUFEuH_Qlg");
        assert_eq!(s.customer_key.as_deref(), Some("349589LkJyeW"));
        assert_eq!(s.named_interpreter, Some((17, "Ana".into())));
        assert_eq!(segment_of(&page.participants[1]), None, "no leave time");
    }
}
