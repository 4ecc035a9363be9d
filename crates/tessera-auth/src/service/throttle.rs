//! Slowing down password guessing, per account and per client address.
//!
//! After a few failures, each further attempt must wait longer (doubling, capped). Keys are the
//! normalised username as typed, whether or not such an account exists, so the throttle itself
//! says nothing about which accounts exist. State is per process and bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;
use tessera_core::clock::UnixTime;

const FREE_ACCOUNT_FAILURES: u32 = 5;
const FREE_ADDRESS_FAILURES: u32 = 20;
const MAX_DELAY_S: i64 = 15 * 60;
/// Failures older than this are forgotten.
const WINDOW_S: i64 = 3600;
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: UnixTime,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<String, Failures>>,
}

fn wait(map: &Mutex<HashMap<String, Failures>>, key: &str, free: u32, now: UnixTime) -> i64 {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    let Some(f) = map.get(key) else { return 0 };
    if f.count < free || now - f.last > WINDOW_S {
        return 0;
    }
    let exp = (f.count - free).min(20);
    let delay = (1i64 << exp).min(MAX_DELAY_S);
    (f.last + delay - now).max(0)
}

fn bump(map: &Mutex<HashMap<String, Failures>>, key: &str, now: UnixTime) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, f| now - f.last <= WINDOW_S);
        if map.len() >= MAX_ENTRIES {
            map.clear(); // under a flood of distinct keys, forget rather than grow
        }
    }
    let e = map.entry(key.to_owned()).or_insert(Failures {
        count: 0,
        last: now,
    });
    if now - e.last > WINDOW_S {
        e.count = 0;
    }
    e.count += 1;
    e.last = now;
}

impl LoginThrottle {
    /// Seconds to wait before another attempt for this account or from this address.
    pub fn wait(&self, account: &str, address: Option<&str>, now: UnixTime) -> i64 {
        let a = wait(&self.accounts, account, FREE_ACCOUNT_FAILURES, now);
        let b = address.map_or(0, |addr| {
            wait(&self.addresses, addr, FREE_ADDRESS_FAILURES, now)
        });
        a.max(b)
    }

    pub fn failed(&self, account: &str, address: Option<&str>, now: UnixTime) {
        bump(&self.accounts, account, now);
        if let Some(addr) = address {
            bump(&self.addresses, addr, now);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_slows_down_after_five_failures_and_recovers_on_success() {
        let t = LoginThrottle::default();
        for i in 0..5 {
            assert_eq!(t.wait("alice", None, 100), 0, "attempt {i} is free");
            t.failed("alice", None, 100);
        }
        assert_eq!(t.wait("alice", None, 100), 1);
        t.failed("alice", None, 101);
        assert_eq!(t.wait("alice", None, 101), 2);
        assert_eq!(t.wait("bob", None, 101), 0, "other accounts are unaffected");
        t.succeeded("alice");
        assert_eq!(t.wait("alice", None, 101), 0);
    }

    #[test]
    fn an_address_guessing_many_accounts_is_slowed_too() {
        let t = LoginThrottle::default();
        for i in 0..25 {
            t.failed(&format!("user{i}"), Some("10.0.0.1"), 50);
        }
        assert!(t.wait("fresh-user", Some("10.0.0.1"), 50) > 0);
        assert_eq!(t.wait("fresh-user", Some("10.0.0.2"), 50), 0);
        assert_eq!(
            t.wait("fresh-user", Some("10.0.0.1"), 50 + WINDOW_S + 1),
            0,
            "old failures are forgotten"
        );
    }
}
