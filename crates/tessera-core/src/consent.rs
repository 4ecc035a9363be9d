//! Consents: what an identity allowed a client to do, as a tree that mirrors the requested
//! scope expression (spec §3.3). A root consent is held by the client the user approved; a
//! child consent by the resource-server client of its parent scope, which will use it to get
//! dependent tokens.

use crate::clock::UnixTime;
use std::collections::HashMap;
use tessera_proto::scope::ScopeRequest;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Globus consent ids are integers.
    pub id: i64,
    pub identity_id: Uuid,
    /// Who holds it: the approved client for a root, the parent scope's owner for a child.
    pub client_id: Uuid,
    pub scope_id: Uuid,
    pub scope_string: String,
    /// Root first, ending with this consent's own id.
    pub dependency_path: Vec<i64>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_used_at: UnixTime,
    pub allows_refresh: bool,
    pub auto_approved: bool,
    /// The linked identity the consent was given as, when not `identity_id`.
    pub effective_identity: Option<Uuid>,
}

impl Consent {
    pub fn parent(&self) -> Option<i64> {
        self.dependency_path
            .len()
            .checked_sub(2)
            .and_then(|i| self.dependency_path.get(i).copied())
    }
}

/// A path of scope strings from a root scope down to one dependency: `[root]`, `[root, dep]`, …
pub type ScopePath = Vec<String>;

/// Every path a request asks consent for, optional dependencies included.
pub fn requested_paths(requests: &[ScopeRequest]) -> Vec<ScopePath> {
    fn walk(r: &ScopeRequest, prefix: &mut Vec<String>, out: &mut Vec<ScopePath>) {
        prefix.push(r.scope.clone());
        if !out.contains(prefix) {
            out.push(prefix.clone());
        }
        for d in &r.dependencies {
            walk(d, prefix, out);
        }
        prefix.pop();
    }
    let mut out = Vec::new();
    for r in requests {
        walk(r, &mut Vec::new(), &mut out);
    }
    out
}

/// The paths `consents` cover for `client` (its roots and everything beneath them).
pub fn consented_paths(consents: &[Consent], client: Uuid) -> Vec<ScopePath> {
    let by_id: HashMap<i64, &Consent> = consents.iter().map(|c| (c.id, c)).collect();
    let mut out = Vec::new();
    for c in consents {
        let Some(&root_id) = c.dependency_path.first() else {
            continue;
        };
        let Some(root) = by_id.get(&root_id) else {
            continue;
        };
        if root.client_id != client {
            continue;
        }
        let path: Option<ScopePath> = c
            .dependency_path
            .iter()
            .map(|id| by_id.get(id).map(|x| x.scope_string.clone()))
            .collect();
        if let Some(p) = path {
            out.push(p);
        }
    }
    out
}

/// Whether every requested path is consented already (then no consent page is needed).
pub fn covers(consented: &[ScopePath], requested: &[ScopePath]) -> bool {
    requested.iter().all(|r| consented.contains(r))
}

/// The root consents of `client` (what the account page lists per app).
pub fn roots_of(consents: &[Consent], client: Uuid) -> Vec<&Consent> {
    consents
        .iter()
        .filter(|c| c.dependency_path.len() == 1 && c.client_id == client)
        .collect()
}

/// `root` and every consent beneath it.
pub fn subtree(consents: &[Consent], root: i64) -> Vec<&Consent> {
    consents
        .iter()
        .filter(|c| c.dependency_path.first() == Some(&root))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_proto::scope::parse_scope_request;

    fn consent(id: i64, client: u128, scope: &str, path: &[i64]) -> Consent {
        Consent {
            id,
            identity_id: Uuid::nil(),
            client_id: Uuid::from_u128(client),
            scope_id: Uuid::nil(),
            scope_string: scope.into(),
            dependency_path: path.to_vec(),
            created_at: 0,
            updated_at: 0,
            last_used_at: 0,
            allows_refresh: true,
            auto_approved: false,
            effective_identity: None,
        }
    }

    #[test]
    fn paths_of_a_nested_request() {
        let r = parse_scope_request("a[b[c] *d] e a").unwrap();
        let want: Vec<ScopePath> = vec![
            vec!["a".into()],
            vec!["a".into(), "b".into()],
            vec!["a".into(), "b".into(), "c".into()],
            vec!["a".into(), "d".into()],
            vec!["e".into()],
        ];
        assert_eq!(requested_paths(&r), want);
    }

    #[test]
    fn consent_is_asked_again_only_for_what_is_new() {
        let app = 1;
        let rs = 2;
        let existing = vec![
            consent(10, app, "a", &[10]),
            consent(11, rs, "b", &[10, 11]),
            consent(20, 9, "a", &[20]),
        ];
        let have = consented_paths(&existing, Uuid::from_u128(app));
        assert!(covers(
            &have,
            &requested_paths(&parse_scope_request("a[b]").unwrap())
        ));
        assert!(covers(
            &have,
            &requested_paths(&parse_scope_request("a").unwrap())
        ));
        assert!(!covers(
            &have,
            &requested_paths(&parse_scope_request("a[b c]").unwrap())
        ));
        assert!(!covers(
            &have,
            &requested_paths(&parse_scope_request("a e").unwrap())
        ));
        // Another client's consent for the same scope counts for nothing here.
        assert!(!covers(
            &consented_paths(&existing, Uuid::from_u128(3)),
            &requested_paths(&parse_scope_request("a").unwrap())
        ));
        assert_eq!(existing[1].parent(), Some(10));
        assert_eq!(existing[0].parent(), None);
        assert_eq!(roots_of(&existing, Uuid::from_u128(app)).len(), 1);
        assert_eq!(subtree(&existing, 10).len(), 2);
    }
}

/// The request with every scope's declared dependent scopes added beneath it, recursively:
/// consenting to a scope is consenting to what it depends on (spec §3.3). Bracketed dependencies
/// the client asked for stay; a scope already on the path is not added again (no cycles), and
/// depth is bounded.
pub fn expand_declared<'a>(
    requests: &[ScopeRequest],
    by_string: &impl Fn(&str) -> Option<&'a crate::scope::Scope>,
    by_id: &impl Fn(Uuid) -> Option<&'a crate::scope::Scope>,
) -> Vec<ScopeRequest> {
    fn expand<'a>(
        r: &ScopeRequest,
        path: &mut Vec<String>,
        by_string: &impl Fn(&str) -> Option<&'a crate::scope::Scope>,
        by_id: &impl Fn(Uuid) -> Option<&'a crate::scope::Scope>,
    ) -> ScopeRequest {
        path.push(r.scope.clone());
        let mut deps: Vec<ScopeRequest> = Vec::new();
        if path.len() <= tessera_proto::scope::MAX_DEPTH {
            for d in &r.dependencies {
                if !path.contains(&d.scope) {
                    deps.push(expand(d, path, by_string, by_id));
                }
            }
            if let Some(scope) = by_string(&r.scope) {
                for declared in &scope.dependent_scopes {
                    let Some(child) = by_id(declared.scope_id) else {
                        continue;
                    };
                    if path.contains(&child.scope_string)
                        || deps.iter().any(|d| d.scope == child.scope_string)
                    {
                        continue;
                    }
                    let leaf = ScopeRequest {
                        scope: child.scope_string.clone(),
                        optional: declared.optional,
                        dependencies: vec![],
                    };
                    deps.push(expand(&leaf, path, by_string, by_id));
                }
            }
        }
        path.pop();
        ScopeRequest {
            scope: r.scope.clone(),
            optional: r.optional,
            dependencies: deps,
        }
    }
    requests
        .iter()
        .map(|r| expand(r, &mut Vec::new(), by_string, by_id))
        .collect()
}

#[cfg(test)]
mod expand_tests {
    use super::*;
    use crate::scope::{DependentScope, Scope};
    use tessera_proto::scope::parse_scope_request;

    fn scope(n: u128, s: &str, deps: &[u128]) -> Scope {
        Scope {
            id: Uuid::from_u128(n),
            client_id: Uuid::nil(),
            resource_server: "rs".into(),
            scope_string: s.into(),
            name: s.into(),
            description: s.into(),
            advertised: false,
            allows_refresh_token: true,
            required_domains: vec![],
            dependent_scopes: deps
                .iter()
                .map(|d| DependentScope {
                    scope_id: Uuid::from_u128(*d),
                    optional: false,
                    requires_refresh_token: false,
                })
                .collect(),
            created_at: 0,
            group_rule: None,
        }
    }

    #[test]
    fn declared_dependencies_join_the_tree_without_cycles() {
        // graph -> transfer -> storage -> graph (a cycle) ; openid has none.
        let cat = [
            scope(1, "graph", &[2]),
            scope(2, "transfer", &[3]),
            scope(3, "storage", &[1]),
            scope(4, "openid", &[]),
        ];
        let bs = |s: &str| cat.iter().find(|c| c.scope_string == s);
        let bi = |id: Uuid| cat.iter().find(|c| c.id == id);
        let got = expand_declared(&parse_scope_request("graph openid").unwrap(), &bs, &bi);
        let text: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["graph[transfer[storage]]", "openid"]);
        // A bracketed dependency that is also declared is not doubled.
        let got = expand_declared(&parse_scope_request("graph[transfer]").unwrap(), &bs, &bi);
        assert_eq!(got[0].to_string(), "graph[transfer[storage]]");
    }
}
