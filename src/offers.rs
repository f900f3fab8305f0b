//! The use cases around a request: plan its offers at ingest, show an offer, accept, decline,
//! and open the join page.
//!
//! Tokens are made here and only their hashes reach the store; the raw offer token lives in the
//! offer email, and the join token is derived from it, so the winner clicking again sees the
//! same join link. Never reads the clock: `now` is a parameter. Never sends email itself: every
//! email goes into the store's outbox in the same transaction as the change.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::config::{Config, JoinMode};
use crate::domain::{AssignmentId, CustomerKey, EmailAddress, Token};
use crate::matching;
use crate::outbox::compose;
use crate::outbox::templates::{Message, Templates};
use crate::store::{
    AcceptOutcome, DeclineOutcome, IngestDecision, JoinView, NewAssignment, NewOffer, NewRequest,
    OfferView, Store,
};
use crate::zoom::join_mode::ResolvedJoinMode;

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

    /// The decision to record for a new request: an offer (with its email) to every eligible
    /// interpreter. The store drops the offers if the meeting turns out to be a duplicate.
    pub async fn plan_request(
        &self,
        request: NewRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IngestDecision> {
        let candidates = self.store.eligible_interpreters(&request.pair, now).await?;
        let expires_at = self.offer_expiry(request.meeting.start, now);
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
        let mut offers = Vec::new();
        for interpreter in matching::eligible(&candidates, &request.pair, now) {
            let token = Token::generate();
            let rendered = self.templates.render(&Message::Offer {
                interpreter,
                request: &preview,
                offer_url: self.offer_url(&token),
                expires_at,
            })?;
            offers.push(NewOffer {
                interpreter_id: interpreter.id,
                token_hash: token.hash(),
                expires_at,
                email: compose("offer", &interpreter.email, &self.from, rendered, None),
            });
        }
        Ok(IngestDecision::Request {
            request,
            offers,
            emails: vec![],
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
        let assignment = NewAssignment {
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
                    self.record_join_mode(assignment_id).await;
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

    /// The join mode this assignment gets (see `zoom::join_mode`). No Zoom user can be connected
    /// yet (the OAuth flow is not built), so `obf`/`zak` fall back. Best effort, after the
    /// accept committed: a failure is logged and the join page resolves the same way anyway.
    async fn record_join_mode(&self, assignment_id: AssignmentId) {
        let r = self.resolved_join_mode();
        if let Err(e) = self
            .store
            .set_join_mode(assignment_id, r.mode.as_str(), r.note.as_deref())
            .await
        {
            tracing::warn!(assignment_id, error = %e, "could not record the join mode");
        }
    }

    /// The join mode assignments get now.
    pub fn resolved_join_mode(&self) -> ResolvedJoinMode {
        crate::zoom::join_mode::resolve(self.join_mode, self.join_fallback, false, false)
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
