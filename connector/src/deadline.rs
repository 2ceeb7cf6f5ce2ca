//! How long a request may run: the Lambda's deadline less a margin to answer in, and the
//! statement timeout every database query carries (the configured one, never beyond the
//! deadline). Set for the request by the handler ([`scope`]); read where queries are made,
//! so no source signature carries it.

use std::future::Future;
use std::time::{Duration, Instant};

/// Time kept back before the Lambda's deadline to cancel the statement and answer.
pub const MARGIN: Duration = Duration::from_secs(3);
/// The statement timeout without a deadline or a configured one: the Lambda maximum.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(900);

/// One request's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// When the Lambda is killed (`None`: no deadline, e.g. the local engine).
    pub deadline: Option<Instant>,
    /// `statement_timeout_seconds`, if configured.
    pub statement_timeout: Option<Duration>,
}

tokio::task_local! {
    static LIMITS: Limits;
}

/// Runs `f` under `limits`.
pub async fn scope<F: Future>(limits: Limits, f: F) -> F::Output {
    LIMITS.scope(limits, f).await
}

/// The limits of the request being handled (defaults outside one).
pub fn current() -> Limits {
    LIMITS.try_with(|l| *l).unwrap_or_default()
}

/// The time left before the deadline's margin (`None`: no deadline).
pub fn remaining() -> Option<Duration> {
    current().deadline.map(|d| {
        d.saturating_duration_since(Instant::now())
            .saturating_sub(MARGIN)
    })
}

/// The timeout a statement started now carries: the configured one (else
/// [`DEFAULT_STATEMENT_TIMEOUT`]), cut to the time left; at least one millisecond, so a
/// statement started too late fails at once on the server rather than running unbounded.
pub fn statement_timeout() -> Duration {
    let configured = current()
        .statement_timeout
        .unwrap_or(DEFAULT_STATEMENT_TIMEOUT);
    remaining()
        .map_or(configured, |left| configured.min(left))
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_statement_timeout_is_the_configured_one_cut_to_the_deadline() {
        assert_eq!(
            statement_timeout(),
            DEFAULT_STATEMENT_TIMEOUT,
            "outside a request"
        );
        let configured = Limits {
            deadline: None,
            statement_timeout: Some(Duration::from_secs(30)),
        };
        scope(configured, async {
            assert_eq!(remaining(), None);
            assert_eq!(statement_timeout(), Duration::from_secs(30));
        })
        .await;
        let soon = Limits {
            deadline: Some(Instant::now() + Duration::from_secs(13)),
            statement_timeout: Some(Duration::from_secs(30)),
        };
        scope(soon, async {
            let t = statement_timeout();
            assert!(
                t <= Duration::from_secs(10) && t > Duration::from_secs(9),
                "{t:?}"
            );
        })
        .await;
        let past = Limits {
            deadline: Some(Instant::now()),
            statement_timeout: None,
        };
        scope(past, async {
            assert_eq!(remaining(), Some(Duration::ZERO));
            assert_eq!(statement_timeout(), Duration::from_millis(1));
        })
        .await;
    }
}
