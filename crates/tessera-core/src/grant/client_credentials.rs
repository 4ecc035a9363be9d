//! The client-credentials grant (RFC 6749 §4.4) as Globus Auth shapes it (spec §2.3): the
//! requested root scopes are grouped into one token per resource server; the `auth.globus.org`
//! token comes first when `openid` is asked for, so that it lands at the top level.

use super::TokenPlan;
use crate::scope::Scope;
use tessera_proto::scope::ScopeRequest;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown scope: {0}")]
    UnknownScope(String),
    #[error("{dependency} is not a dependent scope of {parent}")]
    NotADependency { parent: String, dependency: String },
}

/// Plans the tokens for a client-credentials request. `resolve` maps a scope string to the
/// known scope; every scope named, root or dependency, must resolve, and a bracketed
/// dependency must be one the parent scope declares.
pub fn plan<'a>(
    requests: &[ScopeRequest],
    resolve: impl Fn(&str) -> Option<&'a Scope>,
) -> Result<Vec<TokenPlan>, PlanError> {
    let mut plans: Vec<TokenPlan> = Vec::new();
    for request in requests {
        let scope = check_tree(request, &resolve)?;
        match plans
            .iter_mut()
            .find(|p| p.resource_server == scope.resource_server)
        {
            Some(p) if p.scopes.contains(&scope.scope_string) => {}
            Some(p) => p.scopes.push(scope.scope_string.clone()),
            None => plans.push(TokenPlan {
                resource_server: scope.resource_server.clone(),
                scopes: vec![scope.scope_string.clone()],
            }),
        }
    }
    if let Some(i) = plans
        .iter()
        .position(|p| p.scopes.iter().any(|s| s == "openid"))
    {
        let openid = plans.remove(i);
        plans.insert(0, openid);
    }
    Ok(plans)
}

fn check_tree<'a>(
    request: &ScopeRequest,
    resolve: &impl Fn(&str) -> Option<&'a Scope>,
) -> Result<&'a Scope, PlanError> {
    let scope =
        resolve(&request.scope).ok_or_else(|| PlanError::UnknownScope(request.scope.clone()))?;
    for dep in &request.dependencies {
        let child = check_tree(dep, resolve)?;
        if !scope
            .dependent_scopes
            .iter()
            .any(|d| d.scope_id == child.id)
        {
            return Err(PlanError::NotADependency {
                parent: scope.scope_string.clone(),
                dependency: child.scope_string.clone(),
            });
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::DependentScope;
    use tessera_proto::scope::parse_scope_request;
    use uuid::Uuid;

    fn scope(n: u128, s: &str, rs: &str) -> Scope {
        Scope {
            id: Uuid::from_u128(n),
            client_id: Uuid::from_u128(1000 + n),
            resource_server: rs.into(),
            scope_string: s.into(),
            name: s.into(),
            description: s.into(),
            advertised: false,
            allows_refresh_token: true,
            required_domains: vec![],
            dependent_scopes: vec![],
            created_at: 0,
            group_rule: None,
        }
    }

    fn catalogue() -> Vec<Scope> {
        let mut timer = scope(5, "timer", "timers");
        timer.dependent_scopes = vec![DependentScope {
            scope_id: Uuid::from_u128(4),
            optional: false,
            requires_refresh_token: true,
        }];
        vec![
            scope(1, "openid", "auth.globus.org"),
            scope(2, "profile", "auth.globus.org"),
            scope(3, "email", "auth.globus.org"),
            scope(4, "transfer", "transfer.api.globus.org"),
            timer,
        ]
    }

    fn run(input: &str) -> Result<Vec<TokenPlan>, PlanError> {
        let cat = catalogue();
        let requests = parse_scope_request(input).unwrap();
        plan(&requests, |s| cat.iter().find(|c| c.scope_string == s))
    }

    #[test]
    fn duplicates_collapse_into_one_token_per_resource_server() {
        let plans = run("openid openid profile email").unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].scopes, ["openid", "profile", "email"]);
    }

    #[test]
    fn auth_token_goes_first_when_openid_is_asked_for() {
        let plans = run("transfer openid").unwrap();
        let rs: Vec<_> = plans.iter().map(|p| p.resource_server.as_str()).collect();
        assert_eq!(rs, ["auth.globus.org", "transfer.api.globus.org"]);
    }

    #[test]
    fn declared_dependencies_are_accepted_but_not_issued() {
        let plans = run("timer[transfer]").unwrap();
        assert_eq!(
            plans,
            vec![TokenPlan {
                resource_server: "timers".into(),
                scopes: vec!["timer".into()]
            }]
        );
    }

    #[test]
    fn unknown_scopes_and_undeclared_dependencies_are_refused() {
        assert_eq!(
            run("openid nope"),
            Err(PlanError::UnknownScope("nope".into()))
        );
        assert_eq!(
            run("timer[nope]"),
            Err(PlanError::UnknownScope("nope".into()))
        );
        assert!(matches!(
            run("openid[transfer]"),
            Err(PlanError::NotADependency { .. })
        ));
    }
}
