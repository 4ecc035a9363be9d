//! The scope API a client uses on itself (spec §4): create, list, read, update, delete.

use super::Failure;
use crate::state::AppState;
use tessera_core::client::Client;
use tessera_core::scope::{
    scope_string_for, suffix_of, validate_domain, validate_suffix, validate_text, DependentScope,
    Scope,
};
use tessera_core::scope_rule::GroupRule;
use tessera_proto::api::{
    DependentScopeObject, GroupRuleObject, ScopeCreate, ScopeObject, ScopeUpdate,
};
use tessera_store::{Change, StoreError};
use uuid::Uuid;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 5000;
const MAX_DEPENDENTS: usize = 50;

pub fn to_object(s: &Scope) -> ScopeObject {
    ScopeObject {
        id: s.id.to_string(),
        name: s.name.clone(),
        description: s.description.clone(),
        scope_string: s.scope_string.clone(),
        client: s.client_id.to_string(),
        advertised: s.advertised,
        allows_refresh_token: s.allows_refresh_token,
        required_domains: s.required_domains.clone(),
        dependent_scopes: s
            .dependent_scopes
            .iter()
            .map(|d| DependentScopeObject {
                scope: d.scope_id.to_string(),
                optional: d.optional,
                requires_refresh_token: d.requires_refresh_token,
            })
            .collect(),
        group_rule: s.group_rule.as_ref().map(|r| GroupRuleObject {
            groups: r.groups.clone(),
            capabilities: r.capabilities.clone(),
        }),
    }
}

/// A group rule given through the API, checked (see `tessera_core::scope_rule`).
fn check_rule(given: GroupRuleObject) -> Result<GroupRule, Failure> {
    let rule = GroupRule {
        groups: given.groups.iter().map(|g| g.trim().to_owned()).collect(),
        capabilities: given.capabilities,
    };
    rule.validate().map_err(Failure::BadRequest)?;
    Ok(rule)
}

async fn check_dependents(
    state: &AppState,
    own_id: Uuid,
    given: &[DependentScopeObject],
) -> Result<Vec<DependentScope>, Failure> {
    if given.len() > MAX_DEPENDENTS {
        return Err(Failure::BadRequest(format!(
            "at most {MAX_DEPENDENTS} dependent scopes"
        )));
    }
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let mut out: Vec<DependentScope> = Vec::with_capacity(given.len());
    for d in given {
        let id = Uuid::parse_str(&d.scope).map_err(|_| {
            Failure::BadRequest(format!("dependent scope {:?} is not a scope id", d.scope))
        })?;
        if id == own_id {
            return Err(Failure::BadRequest(
                "a scope cannot depend on itself".into(),
            ));
        }
        let known =
            catalogue.by_id(id).is_some() || !state.store.scopes_by_ids(&[id]).await?.is_empty();
        if !known {
            return Err(Failure::BadRequest(format!(
                "dependent scope {id} does not exist"
            )));
        }
        if out.iter().any(|o| o.scope_id == id) {
            return Err(Failure::BadRequest(format!(
                "dependent scope {id} is listed twice"
            )));
        }
        out.push(DependentScope {
            scope_id: id,
            optional: d.optional,
            requires_refresh_token: d.requires_refresh_token,
        });
    }
    Ok(out)
}

fn check_domains(domains: &[String]) -> Result<(), Failure> {
    domains
        .iter()
        .try_for_each(|d| validate_domain(d).map_err(Failure::BadRequest))
}

pub async fn create(state: &AppState, owner: &Client, body: ScopeCreate) -> Result<Scope, Failure> {
    if owner.is_public() {
        return Err(Failure::BadRequest(
            "a public client cannot own scopes".into(),
        ));
    }
    validate_suffix(&body.scope_suffix).map_err(|e| Failure::BadRequest(e.into()))?;
    validate_text("name", &body.name, MAX_NAME).map_err(Failure::BadRequest)?;
    validate_text("description", &body.description, MAX_DESCRIPTION)
        .map_err(Failure::BadRequest)?;
    let required_domains = body.required_domains.unwrap_or_default();
    check_domains(&required_domains)?;
    let group_rule = body.group_rule.map(check_rule).transpose()?;
    // One scope per suffix and client: its scopes created before and after it registered an
    // FQDN share the FQDN aliases (`tessera_core::scope::aliases`).
    if let Some(twin) = state
        .store
        .scopes_of_client(owner.id)
        .await?
        .into_iter()
        .find(|s| suffix_of(&s.scope_string) == Some(body.scope_suffix.as_str()))
    {
        return Err(Failure::Conflict(format!(
            "this client has a scope with the suffix {} already: {}",
            body.scope_suffix, twin.scope_string
        )));
    }
    let id = state.rng.uuid_v4();
    let dependent_scopes =
        check_dependents(state, id, body.dependent_scopes.as_deref().unwrap_or(&[])).await?;
    let scope = Scope {
        id,
        client_id: owner.id,
        resource_server: owner.resource_server(),
        scope_string: scope_string_for(owner, &body.scope_suffix),
        name: body.name.trim().to_owned(),
        description: body.description.trim().to_owned(),
        // Server defaults per the SDK fixtures (spec §4).
        advertised: body.advertised.unwrap_or(false),
        allows_refresh_token: body.allows_refresh_token.unwrap_or(true),
        required_domains,
        dependent_scopes,
        created_at: state.clock.now(),
        group_rule,
    };
    match state.store.insert_scope(&scope).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(Failure::Conflict(format!(
                "the scope {} exists already",
                scope.scope_string
            )));
        }
        Err(e) => return Err(e.into()),
    }
    state.publish(vec![Change::ScopesChanged]).await?;
    tracing::info!(scope = %scope.scope_string, owner = %owner.id, "scope created");
    Ok(scope)
}

pub async fn get(state: &AppState, id: &str) -> Result<Scope, Failure> {
    let not_found = || Failure::NotFound(format!("no scope {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    state
        .store
        .scopes_by_ids(&[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)
}

/// The scope, if the caller manages its owner.
async fn owned(state: &AppState, caller: &Client, id: &str) -> Result<Scope, Failure> {
    let scope = get(state, id).await?;
    let owner = state
        .clients
        .get(state.store.as_ref(), scope.client_id)
        .await?;
    match owner {
        Some(o) if caller.manages(&o.client) => Ok(scope),
        _ => Err(Failure::Forbidden(
            "only the scope's owner may change it".into(),
        )),
    }
}

pub async fn update(
    state: &AppState,
    caller: &Client,
    id: &str,
    body: ScopeUpdate,
) -> Result<Scope, Failure> {
    let mut scope = owned(state, caller, id).await?;
    if let Some(name) = body.name {
        validate_text("name", &name, MAX_NAME).map_err(Failure::BadRequest)?;
        scope.name = name.trim().to_owned();
    }
    if let Some(description) = body.description {
        validate_text("description", &description, MAX_DESCRIPTION).map_err(Failure::BadRequest)?;
        scope.description = description.trim().to_owned();
    }
    if let Some(a) = body.advertised {
        scope.advertised = a;
    }
    if let Some(a) = body.allows_refresh_token {
        scope.allows_refresh_token = a;
    }
    if let Some(d) = body.required_domains {
        check_domains(&d)?;
        scope.required_domains = d;
    }
    if let Some(deps) = body.dependent_scopes {
        scope.dependent_scopes = check_dependents(state, scope.id, &deps).await?;
    }
    if let Some(rule) = body.group_rule {
        scope.group_rule = rule.map(check_rule).transpose()?;
    }
    if !state.store.update_scope(&scope).await? {
        return Err(Failure::NotFound(format!("no scope {id}")));
    }
    state.publish(vec![Change::ScopesChanged]).await?;
    Ok(scope)
}

pub async fn delete(state: &AppState, caller: &Client, id: &str) -> Result<Scope, Failure> {
    let scope = owned(state, caller, id).await?;
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    if let Some(parent) = catalogue.dependents_on(scope.id).next() {
        return Err(Failure::Conflict(format!(
            "{} is a dependent scope of {}; remove it there first",
            scope.scope_string, parent.scope_string
        )));
    }
    state.store.delete_scope(scope.id).await?;
    state.publish(vec![Change::ScopesChanged]).await?;
    tracing::info!(scope = %scope.scope_string, "scope deleted");
    Ok(scope)
}

/// `GET /v2/api/scopes`: by `scope_strings=` or `ids=` (comma-separated), or the caller's own.
pub async fn search(
    state: &AppState,
    caller: &Client,
    scope_strings: Option<&str>,
    ids: Option<&str>,
) -> Result<Vec<Scope>, Failure> {
    let split = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    match (scope_strings, ids) {
        (Some(_), Some(_)) => Err(Failure::BadRequest(
            "give scope_strings or ids, not both".into(),
        )),
        (Some(strings), None) => {
            // Aliases (the FQDN forms) find the scope they name.
            let catalogue = state.scopes.get(state.store.as_ref()).await?;
            let strings: Vec<String> = split(strings)
                .into_iter()
                .map(|s| {
                    catalogue
                        .by_string(&s)
                        .map_or(s, |x| x.scope_string.clone())
                })
                .collect();
            Ok(state.store.scopes_by_strings(&strings).await?)
        }
        (None, Some(ids)) => {
            let ids = split(ids)
                .iter()
                .map(|s| {
                    Uuid::parse_str(s)
                        .map_err(|_| Failure::BadRequest(format!("{s:?} is not a scope id")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(state.store.scopes_by_ids(&ids).await?)
        }
        (None, None) => Ok(state.store.scopes_of_client(caller.id).await?),
    }
}

/// A scope a resource server running beside this one owns under a string it chose (Transfer's
/// per-endpoint `https://auth.globus.org/scopes/<endpoint_id>/https`), written straight to the
/// store: idempotent (its id is derived from the string), so every node and a retry write the
/// same row. Callers inside `tessera serve` publish `ScopesChanged` afterwards; a command in
/// another process needs not (a token request naming a scope the catalogue lacks reloads it,
/// `ScopeCatalogue::get_with`, and PostgreSQL announces the write itself).
pub async fn put_service_scope(
    store: &dyn tessera_store::Store,
    owner: Uuid,
    resource_server: &str,
    scope_string: &str,
    name: &str,
    description: &str,
    now: tessera_core::clock::UnixTime,
) -> Result<Scope, StoreError> {
    let scope = Scope {
        id: tessera_core::seed::scope_id(scope_string),
        client_id: owner,
        resource_server: resource_server.to_owned(),
        scope_string: scope_string.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        advertised: false,
        allows_refresh_token: true,
        required_domains: Vec::new(),
        dependent_scopes: Vec::new(),
        created_at: now,
        group_rule: None,
    };
    store.seed_scope(&scope).await?;
    Ok(scope)
}

/// Removes the scope [`put_service_scope`] wrote for `scope_string`; false when there was none.
/// Clients that listed it as a dependent scope keep a reference to nothing, which consent and
/// issuance already skip as they do for any scope deleted under them.
pub async fn remove_service_scope(
    store: &dyn tessera_store::Store,
    scope_string: &str,
) -> Result<bool, StoreError> {
    store
        .delete_scope(tessera_core::seed::scope_id(scope_string))
        .await
}
