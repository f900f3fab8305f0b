//! The use cases around a request: plan its offers at ingest, show an offer, accept, decline,
//! and open the join page.
//!
//! Tokens are made here and only their hashes reach the store; the raw offer token lives in the
//! offer email, and the join token is derived from it, so the winner clicking again sees the
//! same join link. Never reads the clock: `now` is a parameter. Never sends email itself: every
//! email goes into the store's outbox in the same transaction as the change.

mod dispatch;

pub use dispatch::{explain_text, PlannedWave, StepReport};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::config::{Config, JoinMode, MatchingConfig, RequestorsConfig, RouteConfig};
use crate::domain::{AssignmentId, CustomerKey, EmailAddress, RequestId, Token};
use crate::outbox::compose;
use crate::outbox::templates::{Message, Templates};
use crate::store::{
    AcceptOutcome, DeclineOutcome, IngestDecision, JoinView, NewAssignment, NewRequest, OfferView,
    Store,
};

/// What an accept POST leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum AcceptResult {
    /// This interpreter holds the assignment (now or from before): the join link to show.
    Accepted { join_url: String, first_time: bool },
    /// Somebody else was faster, or the request is closed.
    Taken,
    /// Unknown, expired or declined offer.
    Gone,
}

/// The offers use cases, shared by ingest, HTTP and the CLI.
pub struct Offers {
    store: Arc<dyn Store>,
    templates: Arc<Templates>,
    public_url: String,
    from: EmailAddress,
    offer_ttl: Duration,
    join_valid: Duration,
    /// `[zoom] join_mode` and `join_fallback`: resolved per assignment when it is won.
    join_mode: JoinMode,
    join_fallback: JoinMode,
    /// `[matching]`, `[requestors]` (preferences) and the routes (required skills).
    matching: MatchingConfig,
    requestors: RequestorsConfig,
    /// `[zoom]` OAuth is set up, so Zoom users may be connected (for `obf` / `zak`).
    oauth_configured: bool,
    routes: Vec<RouteConfig>,
}

impl Offers {
    pub fn new(store: Arc<dyn Store>, templates: Arc<Templates>, config: &Config) -> Offers {
        Offers {
            store,
            templates,
            public_url: config.http.public_url.clone(),
            from: config.outbound.from.clone(),
            offer_ttl: Duration::minutes(config.matching.offer_ttl_minutes),
            join_valid: Duration::hours(config.matching.join_valid_hours),
            join_mode: config.zoom.join_mode,
            join_fallback: config.zoom.join_fallback,
            matching: config.matching.clone(),
            oauth_configured: config.zoom.oauth.is_some(),
            requestors: config.requestors.clone(),
            routes: config.routes.clone(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn offer_url(&self, token: &Token) -> String {
        format!("{}/offer/{}", self.public_url, token.expose())
    }

    pub fn join_url(&self, join_token: &Token) -> String {
        format!("{}/join/{}", self.public_url, join_token.expose())
    }

    /// How long an offer made at `now` stays open: the configured time, or until the meeting
    /// starts when that is later.
    pub fn offer_expiry(&self, start: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        let base = now + self.offer_ttl;
        match start {
            Some(s) if s > base => s,
            _ => base,
        }
    }

    /// The decision to record for a new request: the first wave of offers (with their emails),
    /// every matching decision, and the timers for the next wave, the deadline and the close.
    /// The store drops all of it if the meeting turns out to be a duplicate.
    pub async fn plan_request(
        &self,
        request: NewRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IngestDecision> {
        // The request as the templates see it (the id is not known yet, and not shown).
        let preview = crate::domain::Request {
            id: 0,
            state: crate::domain::RequestState::Offered,
            meeting: request.meeting.clone(),
            pair: request.pair.clone(),
            requestor: request.requestor.clone(),
            route_address: request.route_address.clone(),
            epoch: 0,
            created_at: now,
        };
        let (offers, plan) = self.first_wave(&preview, now).await?;
        Ok(IngestDecision::Request {
            request,
            offers,
            emails: vec![],
            dispatch: Some(plan),
        })
    }

    /// The offer behind a token, for its page. Never changes anything (mail scanners GET links).
    pub async fn view(&self, token: &str) -> anyhow::Result<Option<OfferView>> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        Ok(self.store.offer_by_token(&token.hash()).await?)
    }

    /// Accepts the offer. Exactly one accept per request wins; the winner asking again gets
    /// the same join link.
    pub async fn accept(&self, token: &str, now: DateTime<Utc>) -> anyhow::Result<AcceptResult> {
        let Some(token) = Token::parse(token) else {
            return Ok(AcceptResult::Gone);
        };
        let Some(view) = self.store.offer_by_token(&token.hash()).await? else {
            return Ok(AcceptResult::Gone);
        };
        let join_token = token.derive("join");
        let join_url = self.join_url(&join_token);
        let rendered = self.templates.render(&Message::Confirmation {
            interpreter: &view.interpreter,
            request: &view.request,
            join_url: join_url.clone(),
        })?;
        let join_base = view
            .request
            .meeting
            .start
            .filter(|s| *s > now)
            .unwrap_or(now);
        // The requestor hears about it in the same transaction, threaded with their own mail.
        let requestor_email = self
            .compose_to_requestor(
                &Message::Assigned {
                    request: &view.request,
                    interpreter: &view.interpreter,
                },
                &view.request,
            )
            .await?;
        let noshow_check_at = view
            .request
            .meeting
            .start
            .map(|s| s.max(now) + Duration::minutes(self.matching.noshow_grace_minutes));
        let assignment = NewAssignment {
            noshow_check_at,
            requestor_email: Some(requestor_email),
            customer_key: CustomerKey::generate(),
            join_token_hash: join_token.hash(),
            join_expires_at: join_base + self.join_valid,
            email: compose(
                "confirmation",
                &view.interpreter.email,
                &self.from,
                rendered,
                None,
            ),
        };
        Ok(
            match self
                .store
                .accept_offer(&token.hash(), &assignment, now)
                .await?
            {
                AcceptOutcome::Won { assignment_id, .. } => {
                    self.record_join_mode(
                        assignment_id,
                        &view.request.requestor,
                        view.interpreter.id,
                    )
                    .await;
                    AcceptResult::Accepted {
                        join_url,
                        first_time: true,
                    }
                }
                AcceptOutcome::AlreadyYours { .. } => AcceptResult::Accepted {
                    join_url,
                    first_time: false,
                },
                AcceptOutcome::Taken => AcceptResult::Taken,
                AcceptOutcome::Gone => AcceptResult::Gone,
            },
        )
    }

    /// Renders `message` to the requestor of `request`, threaded (`In-Reply-To`) with the
    /// requestor's message that created or matched the request.
    async fn compose_to_requestor(
        &self,
        message: &Message<'_>,
        request: &crate::domain::Request,
    ) -> anyhow::Result<crate::store::NewEmail> {
        let parent = self.store.request_thread(request.id).await?;
        let rendered = self.templates.render(message)?;
        Ok(compose(
            message.name(),
            &request.requestor,
            &self.from,
            rendered,
            parent,
        ))
    }

    /// Cancels a request (CLI `request cancel`, or the requestor replying "cancel"): tells the
    /// requestor and, when there is one, the assigned interpreter, in the cancel transaction.
    /// Returns false when the request is unknown or already finished (nothing sent).
    ///
    /// The assignment is read just before the cancel: an accept that wins in between is
    /// cancelled with the request but its interpreter is not mailed (a window of milliseconds).
    pub async fn cancel(&self, id: RequestId, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let Some(detail) = self.store.request_detail(id).await? else {
            return Ok(false);
        };
        let assigned = match detail.assigned_interpreter {
            Some(i) => self.store.find_interpreter(&i.to_string()).await?,
            None => None,
        };
        let mut emails = vec![
            self.compose_to_requestor(
                &Message::Cancelled {
                    request: &detail.request,
                    had_interpreter: assigned.is_some(),
                },
                &detail.request,
            )
            .await?,
        ];
        if let Some(interpreter) = &assigned {
            let rendered = self.templates.render(&Message::AssignmentCancelled {
                interpreter,
                request: &detail.request,
            })?;
            emails.push(compose(
                "assignment_cancelled",
                &interpreter.email,
                &self.from,
                rendered,
                None,
            ));
        }
        Ok(self.store.cancel_request(id, &emails, now).await?)
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The templates, shared (the outbox worker renders offer digests with them).
    pub fn shared_templates(&self) -> Arc<Templates> {
        self.templates.clone()
    }

    /// The From address of our mail.
    pub fn from(&self) -> &EmailAddress {
        &self.from
    }

    /// The join mode this assignment gets (see `zoom::join_mode`): the requestor's own mode
    /// (`[[requestors.preference]] join_mode`) or `[zoom] join_mode`; `obf` needs the
    /// requestor's Zoom user connected, `zak` the interpreter's; otherwise the fallback. Best effort, after
    /// the accept committed: a failure is logged and the join page resolves it again anyway.
    async fn record_join_mode(
        &self,
        assignment_id: AssignmentId,
        requestor: &EmailAddress,
        interpreter: crate::domain::InterpreterId,
    ) {
        let (requestor_connected, interpreter_connected) = if self.oauth_configured {
            crate::zoom::connect::connected(self.store.as_ref(), requestor, interpreter)
                .await
                .unwrap_or((false, false))
        } else {
            (false, false)
        };
        let configured = crate::zoom::join_mode::Configured::for_requestor(
            self.join_mode,
            &self.requestors,
            requestor,
        );
        let r = crate::zoom::join_mode::resolve(
            &configured,
            self.join_fallback,
            requestor_connected,
            interpreter_connected,
        );
        if let Err(e) = self
            .store
            .set_join_mode(assignment_id, r.mode.as_str(), r.note.as_deref())
            .await
        {
            tracing::warn!(assignment_id, error = %e, "could not record the join mode");
        }
    }

    pub async fn decline(&self, token: &str, now: DateTime<Utc>) -> anyhow::Result<DeclineOutcome> {
        let Some(token) = Token::parse(token) else {
            return Ok(DeclineOutcome::Gone);
        };
        Ok(self.store.decline_offer(&token.hash(), now).await?)
    }

    /// The join link of an offer this token's holder has already won, without changing
    /// anything (for the page after an accept, and for the offer page opened again). `None`
    /// when the token is unknown or its offer is not the accepted one.
    pub async fn accepted_join_url(&self, token: &str) -> anyhow::Result<Option<String>> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let join_token = token.derive("join");
        // Only the winning offer has an assignment under the join token derived from it.
        let assignment = self.store.join_by_token(&join_token.hash()).await?;
        Ok(assignment.map(|_| self.join_url(&join_token)))
    }

    /// The join page's data, if the token is known and not expired.
    pub async fn join(&self, token: &str, now: DateTime<Utc>) -> anyhow::Result<Option<JoinView>> {
        let Some(token) = Token::parse(token) else {
            return Ok(None);
        };
        let view = self.store.join_by_token(&token.hash()).await?;
        Ok(view.filter(|v| v.expires_at > now))
    }
}
