//! One loaded snapshot of the key table, and where each key stands at a given moment.

use super::material::{Family, LoadedKey};
use tessera_core::clock::UnixTime;

/// Where a key stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

/// One loaded snapshot of the key table.
pub(super) struct KeySet {
    pub(super) keys: Vec<LoadedKey>,
}

impl KeySet {
    /// The family's keys in publication order at `now`: current, next (soonest first), retired
    /// (newest first).
    pub(super) fn ordered(&self, family: Family, now: UnixTime) -> Vec<(&LoadedKey, KeyState)> {
        let mut of: Vec<&LoadedKey> = self.keys.iter().filter(|k| k.family == family).collect();
        // The newest activated key signs; among keys activated together (stored before rotation
        // existed, all 0), the oldest, as before.
        of.sort_by(|a, b| {
            b.activates_at
                .cmp(&a.activates_at)
                .then(a.created_at.cmp(&b.created_at))
                .then(a.kid.cmp(&b.kid))
        });
        let current = of.iter().position(|k| k.activates_at <= now);
        let mut out = Vec::with_capacity(of.len());
        if let Some(c) = current {
            out.push((of[c], KeyState::Current));
        }
        let mut next: Vec<&LoadedKey> = of
            .iter()
            .copied()
            .filter(|k| k.activates_at > now)
            .collect();
        next.reverse();
        out.extend(next.into_iter().map(|k| (k, KeyState::Next)));
        if let Some(c) = current {
            out.extend(of[c + 1..].iter().map(|k| (*k, KeyState::Retired)));
        }
        out
    }

    pub(super) fn current(&self, family: Family, now: UnixTime) -> Option<&LoadedKey> {
        self.ordered(family, now)
            .into_iter()
            .find(|(_, s)| *s == KeyState::Current)
            .map(|(k, _)| k)
    }
}

/// Replaced keys with the time their successor started to sign.
pub(super) fn retired(set: &KeySet, now: UnixTime) -> Vec<(String, UnixTime)> {
    let mut out = Vec::new();
    for family in [Family::Rsa, Family::Es256, Family::EdDsa] {
        let ordered = set.ordered(family, now);
        // Activated keys, newest first: each one's successor is the one before it.
        let activated: Vec<&LoadedKey> = ordered
            .iter()
            .filter(|(_, s)| *s != KeyState::Next)
            .map(|(k, _)| *k)
            .collect();
        for pair in activated.windows(2) {
            out.push((pair[1].kid.clone(), pair[0].activates_at));
        }
    }
    out
}
