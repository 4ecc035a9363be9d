//! When to ask again: 429 and the 5xx statuses a restart or an overload answer with, after an
//! exponential backoff or the server's `Retry-After`, a bounded number of times.

use std::time::{Duration, SystemTime};

/// How a client retries refused calls (429, 500, 502, 503, 504).
///
/// Every method is retried, POST included: Transfer submissions carry a `submission_id` that
/// makes a repeated submission a `Duplicate`, not a second task.
///
/// ```
/// use std::time::Duration;
/// use tessera_client::RetryPolicy;
///
/// let patient = RetryPolicy {
///     max_retries: 5,
///     ..RetryPolicy::default()
/// };
/// assert_eq!(patient.backoff(0), Duration::from_millis(250));
/// assert_eq!(RetryPolicy::never().max_retries, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each next one.
    pub base_delay: Duration,
    /// The longest wait between two attempts: a backoff is cut to it, and a `Retry-After`
    /// longer than it is not waited for (the error is returned instead).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether a status is worth retrying.
    pub fn retries_status(status: u16) -> bool {
        matches!(status, 429 | 500 | 502 | 503 | 504)
    }

    /// The backoff before retry number `retry` (0-based), without `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retry number `retry` after a refusal, or `None` to give up: retries
    /// used up, or the server asking for a longer wait than `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        match retry_after {
            Some(d) if d > self.max_delay => None,
            Some(d) => Some(d),
            None => Some(self.backoff(retry)),
        }
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_retries: 40,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let waits: Vec<_> = (0..6).map(|n| p.delay(n, None).unwrap()).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis)
        );
        assert_eq!(p.delay(39, None), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(40, None), None);
    }

    #[test]
    fn retry_after_is_obeyed_within_the_bound() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(3600))), None);
        assert_eq!(RetryPolicy::never().delay(0, None), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        // A date in the past: no wait.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn only_overload_and_server_failures_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(RetryPolicy::retries_status(s));
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(!RetryPolicy::retries_status(s));
        }
    }
}
