//! The scope-expression parser (tessera-proto): whatever it accepts is a well-formed tree
//! within the limits, and printing it parses back to the same tree.

use tessera_proto::scope::{
    parse_scope_request, ScopeRequest, MAX_DEPTH, MAX_SCOPES, MAX_SCOPE_LEN,
};

/// Checks one node and its subtree; returns the number of nodes.
fn check(r: &ScopeRequest, level: usize) -> usize {
    assert!(level <= MAX_DEPTH, "nested deeper than MAX_DEPTH: {level}");
    assert!(!r.scope.is_empty(), "an empty scope name");
    assert!(
        r.scope.len() <= MAX_SCOPE_LEN,
        "a scope name over MAX_SCOPE_LEN"
    );
    assert!(
        !r.scope
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '[' || c == ']'),
        "a separator or control character in {:?}",
        r.scope
    );
    1 + r
        .dependencies
        .iter()
        .map(|d| check(d, level + 1))
        .sum::<usize>()
}

pub fn scope(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(roots) = parse_scope_request(input) else {
        return;
    };
    assert!(!roots.is_empty());
    assert!(roots.iter().all(|r| !r.optional), "an optional root");
    let count: usize = roots.iter().map(|r| check(r, 0)).sum();
    assert!(count <= MAX_SCOPES, "{count} scopes accepted");
    // Display is the canonical form: it parses back to the same tree, and is a fixed point.
    let printed = roots
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let again = parse_scope_request(&printed);
    assert_eq!(
        again.as_ref(),
        Ok(&roots),
        "{input:?} printed as {printed:?}"
    );
}
