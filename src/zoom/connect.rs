//! Connected Zoom users: starting an authorization (connect link → single-use `state`),
//! finishing it (code → tokens → `GET /users/me` → sealed into the store), a valid access
//! token when asked (refreshed before expiry; the rotated refresh token stored in the same
//! write, only over the version that was read), the join-time ZAK / OBF token, and
//! forgetting a Zoom user (`app.deauthorized`, or a refresh token Zoom no longer accepts);
//! and issuing a connect link to a person (`dragoman zoom connect-link`), optionally emailed
//! through the outbox.
//!
//! Talks to Zoom through `api` and to the database through the `Store`; `now` is a parameter.
//! Never logs or returns a token except to the caller that asked for it (as a `Secret`).

use chrono::{DateTime, Utc};

use super::api::{ApiError, ZoomApi};
use super::oauth::{
    authorize_url, new_state, refresh_due, seal_context, verify_connect_link, LinkError, SealError,
    TokenKey, TokenResponse, STATE_TTL,
};
use crate::config::{JoinMode, Secret, ZoomOAuthConfig};
use crate::domain::{EmailAddress, InterpreterId, Token};
use crate::store::{SealedTokens, Store, StoreError, ZoomConnection, ZoomPerson};

/// Where Zoom sends the browser back, under `[http] public_url`.
pub const CALLBACK_PATH: &str = "/oauth/zoom/callback";
/// Where a connect link leads, under `[http] public_url` (`http::oauth`).
pub const START_PATH: &str = "/oauth/zoom/start";

/// Why connecting, or getting a token, did not work. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting Zoom users is not configured: set [zoom] oauth_client_id, oauth_client_secret and token_key_file")]
    NotConfigured,
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("this Zoom authorization is unknown, expired or was used already: start again from your connect link")]
    UnknownState,
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("a stored Zoom token cannot be opened ({0}): check [zoom] token_key_file, or have the person connect again")]
    Seal(#[from] SealError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Zoom's OAuth app, its REST API and the token key, from `[zoom]`.
#[derive(Debug, Clone)]
pub struct ZoomOAuth {
    pub api: ZoomApi,
    key: TokenKey,
    redirect_uri: String,
}

/// The token the join page passes to `ZoomMtg.join` besides the signature.
#[derive(Debug)]
pub enum JoinToken {
    /// `zak`: the interpreter's own Zoom user.
    Zak(Secret),
    /// `obfToken`: the requestor's Zoom user vouches (they must be in the meeting).
    Obf(Secret),
}

impl ZoomOAuth {
    /// `public_url` is `[http] public_url` (the callback is under it).
    pub fn new(cfg: &ZoomOAuthConfig, public_url: &str) -> ZoomOAuth {
        ZoomOAuth {
            api: ZoomApi::new(cfg),
            key: cfg.token_key.clone(),
            redirect_uri: format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/')),
        }
    }

    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// Starts an authorization for the person `link` names: stores a fresh state (hashed,
    /// [`STATE_TTL`]) and returns it with Zoom's authorize URL carrying it.
    pub async fn start(
        &self,
        store: &dyn Store,
        link: &str,
        now: DateTime<Utc>,
    ) -> Result<(Token, reqwest::Url), ConnectError> {
        let person = verify_connect_link(&self.key, link, now)?;
        let state = new_state();
        store
            .save_zoom_oauth_state(&state.hash(), &person, now + STATE_TTL, now)
            .await?;
        let url = authorize_url(
            self.api.oauth_base(),
            self.api.client_id(),
            &self.redirect_uri,
            state.expose(),
        )
        .map_err(|_| ConnectError::NotConfigured)?;
        Ok((state, url))
    }

    /// Finishes an authorization: takes the state (single use), exchanges the code, asks
    /// Zoom who connected, and stores the sealed tokens for the state's person.
    pub async fn finish(
        &self,
        store: &dyn Store,
        state: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<ZoomConnection, ConnectError> {
        let state = Token::parse(state).ok_or(ConnectError::UnknownState)?;
        let person = store
            .take_zoom_oauth_state(&state.hash(), now)
            .await?
            .ok_or(ConnectError::UnknownState)?;
        let tokens = self.api.exchange_code(code, &self.redirect_uri).await?;
        let access = Secret::new(tokens.access_token.clone());
        let me = self.api.me(&access).await?;
        let connection = ZoomConnection {
            tokens: self.seal(&person, &tokens, now),
            person,
            zoom_user_id: me.id,
            zoom_email: me
                .email
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| e.contains('@')),
            version: 1,
            connected_at: now,
        };
        store.save_zoom_connection(&connection, now).await?;
        Ok(connection)
    }

    fn seal(&self, person: &ZoomPerson, t: &TokenResponse, now: DateTime<Utc>) -> SealedTokens {
        SealedTokens {
            access: self
                .key
                .seal(&t.access_token, &seal_context(person, "access")),
            refresh: self
                .key
                .seal(&t.refresh_token, &seal_context(person, "refresh")),
            expires_at: t.expires_at(now),
            scope: t.scope.clone(),
        }
    }

    /// A valid access token of the person's connected Zoom user, refreshed first when it
    /// expires within `REFRESH_MARGIN`; `None` when the person has no connected Zoom user
    /// (or Zoom no longer accepts the refresh token: then the connection is forgotten).
    pub async fn access_token(
        &self,
        store: &dyn Store,
        person: &ZoomPerson,
        now: DateTime<Utc>,
    ) -> Result<Option<Secret>, ConnectError> {
        // Refreshes of one process go one at a time; other processes are fenced by version.
        static REFRESHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let Some(c) = store.zoom_connection(person).await? else {
            return Ok(None);
        };
        if !refresh_due(c.tokens.expires_at, now) {
            return Ok(Some(
                self.key
                    .open(&c.tokens.access, &seal_context(person, "access"))?,
            ));
        }
        let _one_at_a_time = REFRESHING.lock().await;
        // Someone may have refreshed while we waited.
        let Some(c) = store.zoom_connection(person).await? else {
            return Ok(None);
        };
        if !refresh_due(c.tokens.expires_at, now) {
            return Ok(Some(
                self.key
                    .open(&c.tokens.access, &seal_context(person, "access"))?,
            ));
        }
        let refresh = self
            .key
            .open(&c.tokens.refresh, &seal_context(person, "refresh"))?;
        let fresh = match self.api.refresh(&refresh).await {
            Ok(t) => t,
            Err(e) if e.is_invalid_grant() => {
                // Another instance may have rotated it a moment ago: only a connection still
                // at the version we read is dead.
                match store.zoom_connection(person).await? {
                    Some(now_c) if now_c.version != c.version => {
                        return Ok(Some(
                            self.key
                                .open(&now_c.tokens.access, &seal_context(person, "access"))?,
                        ))
                    }
                    Some(_) => {
                        tracing::warn!(
                            person = person.kind(),
                            "Zoom no longer accepts this refresh token: the connection is forgotten; the person must connect again"
                        );
                        store.delete_zoom_connections(&c.zoom_user_id).await?;
                        return Ok(None);
                    }
                    None => return Ok(None),
                }
            }
            // Zoom unreachable during the margin: the current token still works until it expires.
            Err(e) if now < c.tokens.expires_at => {
                tracing::warn!(error = %e, "Zoom token refresh failed; the current access token is used until it expires");
                return Ok(Some(
                    self.key
                        .open(&c.tokens.access, &seal_context(person, "access"))?,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let sealed = self.seal(person, &fresh, now);
        if store
            .rotate_zoom_tokens(person, c.version, &sealed, now)
            .await?
        {
            return Ok(Some(Secret::new(fresh.access_token)));
        }
        // Lost to a reconnect or another instance: the stored one is the newest.
        match store.zoom_connection(person).await? {
            Some(c) => Ok(Some(
                self.key
                    .open(&c.tokens.access, &seal_context(person, "access"))?,
            )),
            None => Ok(None),
        }
    }

    /// The ZAK or OBF token a join in `mode` needs, fetched now (they last 2 h): `None` for
    /// `same_account`/`link`, or when the Zoom user it needs is not connected.
    pub async fn join_token(
        &self,
        store: &dyn Store,
        mode: JoinMode,
        requestor: &EmailAddress,
        interpreter: InterpreterId,
        meeting_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<JoinToken>, ConnectError> {
        match mode {
            JoinMode::Zak => {
                let person = ZoomPerson::Interpreter(interpreter);
                match self.access_token(store, &person, now).await? {
                    Some(access) => Ok(Some(JoinToken::Zak(self.api.zak(&access).await?))),
                    None => Ok(None),
                }
            }
            JoinMode::Obf => {
                let person = ZoomPerson::Requestor(requestor.clone());
                match self.access_token(store, &person, now).await? {
                    Some(access) => Ok(Some(JoinToken::Obf(
                        self.api.obf_token(&access, meeting_id).await?,
                    ))),
                    None => Ok(None),
                }
            }
            JoinMode::SameAccount | JoinMode::Link => Ok(None),
        }
    }
}

/// Whether the requestor and the interpreter have connected Zoom users: the facts
/// `join_mode::resolve` needs.
pub async fn connected(
    store: &dyn Store,
    requestor: &EmailAddress,
    interpreter: InterpreterId,
) -> Result<(bool, bool), StoreError> {
    let r = store
        .zoom_connection(&ZoomPerson::Requestor(requestor.clone()))
        .await?
        .is_some();
    let i = store
        .zoom_connection(&ZoomPerson::Interpreter(interpreter))
        .await?
        .is_some();
    Ok((r, i))
}

// ---- connect links for people (issue #7, zoomfeat: `dragoman zoom connect-link`) ---------

/// The URL of a connect link: `{public_url}/oauth/zoom/start?link=…` (the link is URL-safe:
/// base64url parts joined by dots).
pub fn connect_url(public_url: &str, link: &str) -> String {
    format!(
        "{}{START_PATH}?link={link}",
        public_url.trim_end_matches('/')
    )
}

/// A connect link issued for one person. Its `Debug` never shows the URL (a capability).
#[derive(Clone)]
pub struct IssuedLink {
    pub person: ZoomPerson,
    /// Where `--send` mails it: the interpreter's or the requestor's address.
    pub to: EmailAddress,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("person", &self.person)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Issues a connect link for `person` (valid [`super::oauth::LINK_TTL`]), to be handed to
/// them at `to`. Nothing is stored: the link is MACed, and the OAuth `state` it leads to is
/// made when they use it.
pub fn issue_link(
    key: &TokenKey,
    public_url: &str,
    person: ZoomPerson,
    to: EmailAddress,
    now: DateTime<Utc>,
) -> IssuedLink {
    let link = super::oauth::issue_connect_link(key, &person, now);
    IssuedLink {
        url: connect_url(public_url, &link),
        expires_at: now + super::oauth::LINK_TTL,
        person,
        to,
    }
}

/// Queues the `zoom_connect` email carrying `issued` in the outbox (the worker sends it);
/// returns the queued message's `Message-ID`. `interpreter` is the person when it is one
/// (their first name and zone in the text).
pub async fn send_link(
    store: &dyn Store,
    templates: &crate::outbox::templates::Templates,
    from: &EmailAddress,
    issued: &IssuedLink,
    interpreter: Option<&crate::domain::Interpreter>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    use crate::outbox::zoom_connect::{self, Recipient};
    let to = match interpreter {
        Some(i) => Recipient::Interpreter(i),
        None => Recipient::Requestor,
    };
    let rendered = zoom_connect::render(templates, to, &issued.url, issued.expires_at)?;
    let email = crate::outbox::compose(zoom_connect::NAME, &issued.to, from, rendered, None);
    store.queue_email(&email, now).await?;
    Ok(email.message_id)
}
