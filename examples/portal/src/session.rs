//! Server-side sessions: a random 256-bit id in the `portal_session` cookie (HttpOnly,
//! SameSite=Lax, Secure over HTTPS) naming an entry of an in-process map. Only the id reaches
//! the browser; tokens stay here. A sign-in always starts a fresh id and the callback moves to
//! another one, so an id planted before sign-in is worth nothing after it.

use axum::http::{header, HeaderMap};
use base64::Engine;
use rand::RngCore;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_client::tokens::TokenData;
use tessera_client::NativeFlow;

pub(crate) const COOKIE: &str = "portal_session";
/// A session ends this long after it began, signed in or not.
const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Past this many sessions, expired ones are swept on each new one.
const SWEEP_ABOVE: usize = 1_000;

/// A signed-in person as the portal shows them.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) username: String,
    pub(crate) email: Option<String>,
    /// (username, name, identity provider) of every linked identity.
    pub(crate) identities: Vec<(String, String, String)>,
    /// Tokens by resource server (auth.globus.org, transfer.api.globus.org, the graph's).
    pub(crate) tokens: BTreeMap<String, TokenData>,
}

impl User {
    /// The access token whose scopes include `scope`.
    pub(crate) fn token_for(&self, scope: &str) -> Option<&str> {
        self.tokens
            .values()
            .find(|t| t.scope.split_whitespace().any(|s| s == scope))
            .map(|t| t.access_token.as_str())
    }
}

#[derive(Clone)]
pub(crate) struct Session {
    /// Put in every form and checked on every POST.
    pub(crate) csrf: String,
    /// The sign-in under way: its `state` and PKCE verifier (never sent to the browser).
    pub(crate) pending: Option<Arc<NativeFlow>>,
    pub(crate) user: Option<User>,
    began: Instant,
}

impl Session {
    pub(crate) fn new() -> Self {
        Self {
            csrf: random_id(),
            pending: None,
            user: None,
            began: Instant::now(),
        }
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub(crate) fn csrf_ok(&self, presented: &str) -> bool {
        same(&self.csrf, presented)
    }
}

/// `a == b`, in time that depends on the length only.
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes, base64url.
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[derive(Clone, Default)]
pub(crate) struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session named by the request's cookie, if live: (id, session).
    pub(crate) fn of(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers)?;
        let map = self.map();
        let s = map.get(&id)?;
        (s.began.elapsed() < LIFETIME).then(|| (id, s.clone()))
    }

    /// Stores `session` under a new id; the id.
    pub(crate) fn create(&self, session: Session) -> String {
        let id = random_id();
        let mut map = self.map();
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, s| s.began.elapsed() < LIFETIME);
        }
        map.insert(id.clone(), session);
        id
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Session> {
        self.map().remove(id)
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value for session `id` (or, with `None`, one that deletes the cookie).
pub(crate) fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            LIFETIME.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_csrf_must_match_exactly() {
        let sessions = Sessions::default();
        let s = Session::new();
        let csrf = s.csrf.clone();
        let id = sessions.create(s);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=b; {COOKIE}={id}; c=d").parse().unwrap(),
        );
        let (found, s) = sessions.of(&h).unwrap();
        assert_eq!(found, id);
        assert!(s.csrf_ok(&csrf));
        assert!(!s.csrf_ok(""));
        assert!(!s.csrf_ok(&csrf[1..]));
        sessions.remove(&id);
        assert!(sessions.of(&h).is_none());
        assert!(set_cookie(Some("x"), true).contains("HttpOnly; SameSite=Lax"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }
}
