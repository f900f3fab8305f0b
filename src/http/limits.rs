//! Per-client rate limiting for the capability-token routes (`/offer/…`, `/join/…`): a token
//! bucket per IP address, so guessing tokens or hammering a page from one address is slowed
//! down while ordinary clicks never notice.
//!
//! The client is the TCP peer, or — only when the peer is a loopback address (a reverse proxy on
//! the same host) — the last address in `X-Forwarded-For`. A loopback peer without that header
//! is not limited: it cannot be told apart from everyone else behind the same proxy (so the
//! proxy must set the header), and local tools and tests are trusted. Never logs the path (it
//! carries the token); never keeps more than [`MAX_CLIENTS`] buckets.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Requests a client may burst.
pub const BURST: f64 = 30.0;
/// Requests per second a client gets back after a burst.
pub const REFILL_PER_SEC: f64 = 1.0;
/// Buckets kept at most; full (idle) ones are dropped first when this is reached.
pub const MAX_CLIENTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by client address. Time is passed in.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(BURST, REFILL_PER_SEC)
    }
}

impl RateLimiter {
    pub fn new(burst: f64, refill_per_sec: f64) -> RateLimiter {
        RateLimiter {
            burst: burst.max(1.0),
            refill_per_sec: refill_per_sec.max(0.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client` at `now`: `Ok` when allowed, else `Err(wait)` with the time
    /// until the next token.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        // Every update is one insert: a poisoned lock still holds consistent data.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (burst, rate) = (self.burst, self.refill_per_sec);
            buckets.retain(|_, b| {
                let refilled =
                    b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate;
                refilled < burst
            });
            if buckets.len() >= MAX_CLIENTS {
                // Still full of active clients: forget them all rather than grow without bound.
                buckets.clear();
            }
        }
        let b = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.refill_per_sec).min(self.burst);
        b.last = b.last.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else if self.refill_per_sec > 0.0 {
            Err(Duration::from_secs_f64(
                (1.0 - b.tokens) / self.refill_per_sec,
            ))
        } else {
            Err(Duration::from_secs(3600))
        }
    }
}

/// True for the routes that carry capability tokens.
pub fn is_token_route(route: &str) -> bool {
    route.starts_with("/offer/") || route.starts_with("/join/")
}

/// The address to limit a request by: the peer, or the last `X-Forwarded-For` hop when the
/// peer is a local reverse proxy; `None` (not limited) for a loopback peer without one.
pub fn client_ip(peer: Option<SocketAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
    let peer = peer?.ip();
    if peer.is_loopback() {
        return forwarded_for
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
    }
    Some(peer)
}

/// The middleware: 429 with `Retry-After` when a client exceeds its bucket on a token route.
pub async fn limit(limiter: std::sync::Arc<RateLimiter>, req: Request, next: Next) -> Response {
    let on_token_route = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| is_token_route(p.as_str()));
    if on_token_route {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        if let Some(ip) = client_ip(peer, forwarded) {
            if let Err(wait) = limiter.check(ip, Instant::now()) {
                tracing::warn!(client = %ip, "rate limit: too many requests on token routes");
                let mut res = super::html(
                    StatusCode::TOO_MANY_REQUESTS,
                    super::PLAIN_CSP,
                    super::pages::message(
                        "Too many requests",
                        "This address has opened too many links in a short time.",
                        "Wait a minute, then reload this page.",
                    ),
                );
                let secs = wait.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return res;
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn a_burst_is_allowed_then_one_request_per_refill() {
        let t0 = Instant::now();
        let l = RateLimiter::new(3.0, 1.0);
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(l.check(a, t0).is_ok());
        }
        let wait = l.check(a, t0).expect_err("the fourth at once is refused");
        assert_eq!(wait, Duration::from_secs(1));
        // Another client is not affected.
        assert!(l.check(ip("192.0.2.2"), t0).is_ok());
        assert!(l.check(a, t0 + Duration::from_millis(999)).is_err());
        // Refused requests do not use tokens up: by 2 s two more have come back.
        assert!(l.check(a, t0 + Duration::from_millis(1999)).is_ok());
        assert!(l.check(a, t0 + Duration::from_millis(2000)).is_ok());
        assert!(l.check(a, t0 + Duration::from_millis(2000)).is_err());
        // A long pause refills up to the burst, not beyond.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert!(l.check(a, later).is_ok());
        }
        assert!(l.check(a, later).is_err());
    }

    #[test]
    fn forwarded_for_is_trusted_only_from_a_local_proxy() {
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let remote: SocketAddr = "198.51.100.7:5000".parse().expect("addr");
        assert_eq!(
            client_ip(Some(proxy), Some("203.0.113.9, 192.0.2.4")),
            Some(ip("192.0.2.4"))
        );
        // Local tools and a proxy that forwards no address are not limited.
        assert_eq!(client_ip(Some(proxy), None), None);
        assert_eq!(client_ip(Some(proxy), Some("junk")), None);
        assert_eq!(
            client_ip(Some(remote), Some("192.0.2.4")),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(client_ip(None, Some("192.0.2.4")), None);
    }

    #[test]
    fn token_routes_are_the_offer_and_join_templates() {
        assert!(is_token_route("/offer/{token}"));
        assert!(is_token_route("/offer/{token}/accept"));
        assert!(is_token_route("/join/{token}"));
        assert!(!is_token_route("/healthz"));
        assert!(!is_token_route("/zoom/webhook"));
        assert!(!is_token_route("/left"));
    }
}
