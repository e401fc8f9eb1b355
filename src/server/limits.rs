//! Limits on what clients may ask of the server: a per-client rate limit (tower_governor, keyed by the
//! peer's IP address) answered with 429 and Retry-After, and a cap on requests in flight across all
//! clients, answered with 503 and Retry-After at once rather than queued (issue 11).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::IntoResponse;
use axum::{BoxError, Router};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use super::AppError;
use crate::config::ServerSettings;

/// The peer's IP address (its /64 for IPv6). Forwarding headers are not trusted (any client could set them), so behind a
/// reverse proxy all clients share the proxy's allowance. A request without connection info (the router
/// called in-process, as the tests do) counts as this machine's.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp;

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(address)| address.ip());
        // One IPv6 client usually holds a whole /64: its addresses share one allowance.
        Ok(match ip {
            IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
            v4 => v4,
        })
    }
}

/// `router` under the per-client rate limit of `server.rate_limit_per_second` and `rate_limit_burst`
/// (unchanged when the limit is 0, off).
pub fn with_rate_limit<S: Clone + Send + Sync + 'static>(router: Router<S>, settings: &ServerSettings) -> Router<S> {
    if settings.rate_limit_per_second == 0 {
        return router;
    }
    let Some(config) = GovernorConfigBuilder::default()
        .key_extractor(ClientIp)
        .period(Duration::from_secs_f64(1.0 / f64::from(settings.rate_limit_per_second)))
        .burst_size(settings.rate_limit_burst)
        .finish()
    else {
        // Only a zero period or burst fails, and Settings::check refuses both.
        tracing::warn!("the rate limit settings were refused; requests are not rate limited");
        return router;
    };
    let config = Arc::new(config);
    // The limiter keeps a state per client address it has seen: drop the idle ones now and then, so that
    // many addresses do not grow memory without bound.
    if tokio::runtime::Handle::try_current().is_ok() {
        let limiter = Arc::clone(config.limiter());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                limiter.retain_recent();
            }
        });
    }
    router.layer(GovernorLayer::new(config).error_handler(|error| match error {
        GovernorError::TooManyRequests { wait_time, .. } => AppError::RateLimited(wait_time.max(1)).into_response(),
        other => AppError::Internal(other.to_string()).into_response(),
    }))
}

/// `router` with at most `server.max_concurrent_requests` requests in flight; one more is answered 503
/// with Retry-After at once.
pub fn with_concurrency_cap<S: Clone + Send + Sync + 'static>(router: Router<S>, settings: &ServerSettings) -> Router<S> {
    let cap = settings.max_concurrent_requests;
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                AppError::Busy(format!("the server is handling {cap} requests already; try again shortly"))
            }))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(cap)),
    )
}
