//! Requested scope expressions: `root[dep1 *dep2[subdep]] other`.
//!
//! Globus clients send scopes with a bracket grammar for dependencies (spec §1.1): spaces
//! separate scopes, `*` marks an optional dependency, brackets nest. Parsing happens once, at
//! the edge; the rest of the server only sees [`ScopeRequest`] trees.

use std::fmt;

/// The deepest nesting accepted. Real requests nest two or three levels; anything deeper is
/// either a mistake or an attempt to make the parser work hard.
pub const MAX_DEPTH: usize = 8;
/// The most scope names accepted in one expression, counting dependencies.
pub const MAX_SCOPES: usize = 256;
/// The longest single scope string accepted.
pub const MAX_SCOPE_LEN: usize = 512;

/// One requested scope and the dependencies requested beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRequest {
    pub scope: String,
    /// Marked with `*`: the request does not fail if this dependency cannot be granted.
    pub optional: bool,
    pub dependencies: Vec<ScopeRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeParseError {
    #[error("the scope parameter is empty")]
    Empty,
    #[error("unbalanced brackets in the scope parameter")]
    Unbalanced,
    #[error("'*' must be followed by a scope name")]
    DanglingStar,
    #[error("a dependency list '[...]' must follow a scope name")]
    OrphanDependencies,
    #[error("only dependencies can be optional ('*'); a top-level scope cannot")]
    OptionalRoot,
    #[error("scopes are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
    #[error("more than {MAX_SCOPES} scopes requested")]
    TooMany,
    #[error("a scope string is longer than {MAX_SCOPE_LEN} characters")]
    TooLong,
    #[error("a scope string contains a control character")]
    ControlCharacter,
}

/// Parses a whole `scope` parameter into its top-level requests, in the order given.
///
/// Duplicates are kept here (the caller decides how to merge them); an empty parameter is an
/// error because every grant needs at least one scope.
pub fn parse_scope_request(input: &str) -> Result<Vec<ScopeRequest>, ScopeParseError> {
    let mut parser = Parser {
        chars: input.char_indices().peekable(),
        input,
        count: 0,
    };
    let roots = parser.list(0)?;
    if parser.chars.next().is_some() {
        return Err(ScopeParseError::Unbalanced);
    }
    if roots.is_empty() {
        return Err(ScopeParseError::Empty);
    }
    if roots.iter().any(|r| r.optional) {
        return Err(ScopeParseError::OptionalRoot);
    }
    Ok(roots)
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    input: &'a str,
    count: usize,
}

impl Parser<'_> {
    /// A whitespace-separated list, ending at `]` (left unconsumed) or at the end of input.
    fn list(&mut self, depth: usize) -> Result<Vec<ScopeRequest>, ScopeParseError> {
        if depth > MAX_DEPTH {
            return Err(ScopeParseError::TooDeep);
        }
        let mut items: Vec<ScopeRequest> = Vec::new();
        loop {
            while self.chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            let Some(&(start, c)) = self.chars.peek() else {
                return Ok(items);
            };
            match c {
                ']' => return Ok(items),
                '[' => return Err(ScopeParseError::OrphanDependencies),
                _ => {}
            }
            let optional = c == '*';
            if optional {
                self.chars.next();
            }
            let name_start = if optional { start + 1 } else { start };
            let mut end = name_start;
            while let Some(&(i, c)) = self.chars.peek() {
                if c.is_whitespace() || c == '[' || c == ']' {
                    break;
                }
                if c.is_control() {
                    return Err(ScopeParseError::ControlCharacter);
                }
                end = i + c.len_utf8();
                self.chars.next();
            }
            if end == name_start {
                return Err(ScopeParseError::DanglingStar);
            }
            let name = &self.input[name_start..end];
            if name.len() > MAX_SCOPE_LEN {
                return Err(ScopeParseError::TooLong);
            }
            self.count += 1;
            if self.count > MAX_SCOPES {
                return Err(ScopeParseError::TooMany);
            }
            let mut dependencies = Vec::new();
            if self.chars.next_if(|(_, c)| *c == '[').is_some() {
                dependencies = self.list(depth + 1)?;
                if self.chars.next_if(|(_, c)| *c == ']').is_none() {
                    return Err(ScopeParseError::Unbalanced);
                }
            }
            items.push(ScopeRequest {
                scope: name.to_owned(),
                optional,
                dependencies,
            });
        }
    }
}

/// The distinct root scope strings of a request, first occurrence first.
pub fn distinct_roots(requests: &[ScopeRequest]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::with_capacity(requests.len());
    for r in requests {
        if !seen.contains(&r.scope.as_str()) {
            seen.push(&r.scope);
        }
    }
    seen
}

impl fmt::Display for ScopeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.optional {
            f.write_str("*")?;
        }
        f.write_str(&self.scope)?;
        if !self.dependencies.is_empty() {
            f.write_str("[")?;
            for (i, d) in self.dependencies.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                d.fmt(f)?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf(s: &str, optional: bool) -> ScopeRequest {
        ScopeRequest {
            scope: s.into(),
            optional,
            dependencies: vec![],
        }
    }

    #[test]
    fn plain_list_with_duplicates_keeps_order() {
        let got = parse_scope_request("openid openid  profile\temail").unwrap();
        let names: Vec<_> = got.iter().map(|r| r.scope.as_str()).collect();
        assert_eq!(names, ["openid", "openid", "profile", "email"]);
        assert_eq!(distinct_roots(&got), ["openid", "profile", "email"]);
    }

    #[test]
    fn nested_optional_dependencies() {
        let got = parse_scope_request("root[dep1 *dep2[sub]] other").unwrap();
        assert_eq!(
            got,
            vec![
                ScopeRequest {
                    scope: "root".into(),
                    optional: false,
                    dependencies: vec![
                        leaf("dep1", false),
                        ScopeRequest {
                            scope: "dep2".into(),
                            optional: true,
                            dependencies: vec![leaf("sub", false)]
                        },
                    ],
                },
                leaf("other", false),
            ]
        );
    }

    #[test]
    fn timers_scope_as_the_cli_sends_it() {
        let s = "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer[urn:globus:auth:scope:transfer.api.globus.org:all]";
        let got = parse_scope_request(s).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].dependencies[0].scope,
            "urn:globus:auth:scope:transfer.api.globus.org:all"
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        let table = [
            ("", ScopeParseError::Empty),
            ("   ", ScopeParseError::Empty),
            ("a[b", ScopeParseError::Unbalanced),
            ("a]", ScopeParseError::Unbalanced),
            ("a[b]]", ScopeParseError::Unbalanced),
            ("[b]", ScopeParseError::OrphanDependencies),
            ("a [b]", ScopeParseError::OrphanDependencies),
            ("a[*]", ScopeParseError::DanglingStar),
            ("*a", ScopeParseError::OptionalRoot),
            ("a\u{0}b", ScopeParseError::ControlCharacter),
        ];
        for (input, want) in table {
            assert_eq!(parse_scope_request(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn depth_and_count_are_bounded() {
        let deep = format!(
            "{}x{}",
            "a[".repeat(MAX_DEPTH + 2),
            "]".repeat(MAX_DEPTH + 2)
        );
        assert_eq!(parse_scope_request(&deep), Err(ScopeParseError::TooDeep));
        let many = vec!["s"; MAX_SCOPES + 1].join(" ");
        assert_eq!(parse_scope_request(&many), Err(ScopeParseError::TooMany));
        let long = "x".repeat(MAX_SCOPE_LEN + 1);
        assert_eq!(parse_scope_request(&long), Err(ScopeParseError::TooLong));
    }

    fn arb_request(depth: u32) -> BoxedStrategy<ScopeRequest> {
        let name = "[a-z0-9:/._-]{1,20}";
        if depth == 0 {
            return (name, any::<bool>())
                .prop_map(|(scope, optional)| ScopeRequest {
                    scope,
                    optional,
                    dependencies: vec![],
                })
                .boxed();
        }
        (
            name,
            any::<bool>(),
            prop::collection::vec(arb_request(depth - 1), 0..3),
        )
            .prop_map(|(scope, optional, dependencies)| ScopeRequest {
                scope,
                optional,
                dependencies,
            })
            .boxed()
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(mut roots in prop::collection::vec(arb_request(3), 1..4)) {
            for r in &mut roots { r.optional = false; }
            let text = roots.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(parse_scope_request(&text).unwrap(), roots);
        }

        #[test]
        fn never_panics(input in "\\PC{0,200}") {
            let _ = parse_scope_request(&input);
        }
    }
}
