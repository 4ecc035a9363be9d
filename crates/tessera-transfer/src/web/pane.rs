//! A pane's state as it travels in the query string and forms: `EP:PATH` (an endpoint id, a
//! colon, an API path; `EP` alone means its default directory; empty means "choose an
//! endpoint"), and the file manager's address for two of them.

use super::FILES_PAGE;
use uuid::Uuid;

/// One pane: which endpoint and where, as asked for (not yet resolved or checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PaneState {
    pub(super) endpoint: Option<Uuid>,
    pub(super) path: String,
}

impl PaneState {
    /// Reads `EP:PATH`; anything unreadable is an empty pane (the picker), never an error.
    pub(super) fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        let (ep, path) = raw.split_once(':').unwrap_or((raw, "~"));
        match Uuid::parse_str(ep.trim()) {
            Ok(id) => Self {
                endpoint: Some(id),
                path: if path.is_empty() {
                    "~".into()
                } else {
                    path.into()
                },
            },
            Err(_) => Self::default(),
        }
    }

    pub(super) fn at(endpoint: Uuid, path: &str) -> Self {
        Self {
            endpoint: Some(endpoint),
            path: path.into(),
        }
    }

    /// The form `parse` reads; empty for an empty pane.
    pub(super) fn encode(&self) -> String {
        match self.endpoint {
            Some(id) => format!("{id}:{}", self.path),
            None => String::new(),
        }
    }
}

/// Which pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Left,
    Right,
}

impl Side {
    pub(super) fn parse(raw: &str) -> Option<Self> {
        match raw {
            "left" => Some(Self::Left),
            "right" => Some(Self::Right),
            _ => None,
        }
    }
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
        }
    }
    pub(super) fn other(self) -> Self {
        match self {
            Self::Left => Self::Right,
            Self::Right => Self::Left,
        }
    }
}

/// Both panes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Panes {
    pub(super) left: PaneState,
    pub(super) right: PaneState,
}

impl Panes {
    pub(super) fn get(&self, side: Side) -> &PaneState {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    /// The same panes with `side` replaced.
    pub(super) fn with(&self, side: Side, pane: PaneState) -> Self {
        let mut out = self.clone();
        match side {
            Side::Left => out.left = pane,
            Side::Right => out.right = pane,
        }
        out
    }

    /// The file manager showing these panes, with `extra` query pairs.
    pub(super) fn url(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, p) in [("left", &self.left), ("right", &self.right)] {
            if p.endpoint.is_some() {
                pairs.push((k, p.encode()));
            }
        }
        pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        if pairs.is_empty() {
            return FILES_PAGE.to_owned();
        }
        match serde_urlencoded::to_string(&pairs) {
            Ok(q) => format!("{FILES_PAGE}?{q}"),
            Err(_) => FILES_PAGE.to_owned(),
        }
    }
}

/// `dir` (an API directory path) and `name` joined, as an API path.
pub(super) fn child(dir: &str, name: &str) -> String {
    let mut out = dir.trim_end_matches('/').to_owned();
    out.push('/');
    out.push_str(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_junk_is_an_empty_pane() {
        let id = Uuid::from_u128(7);
        let s = PaneState::parse(&format!("{id}:/data/x y/"));
        assert_eq!(s, PaneState::at(id, "/data/x y/"));
        assert_eq!(PaneState::parse(&s.encode()), s);
        assert_eq!(PaneState::parse(&id.to_string()), PaneState::at(id, "~"));
        assert_eq!(PaneState::parse("nonsense:/etc"), PaneState::default());
        assert_eq!(PaneState::parse(""), PaneState::default());
    }

    #[test]
    fn urls_carry_both_panes_encoded() {
        let id = Uuid::from_u128(7);
        let panes = Panes::default().with(Side::Right, PaneState::at(id, "/a&b/"));
        let url = panes.url(&[("done", "mkdir")]);
        assert_eq!(
            url,
            format!("/v2/web/files?right={id}%3A%2Fa%26b%2F&done=mkdir")
        );
        assert_eq!(Panes::default().url(&[]), "/v2/web/files");
        assert_eq!(child("/a/", "b"), "/a/b");
        assert_eq!(child("/", "b"), "/b");
    }
}
