//! `tessera admin scope rule …`: a scope's group rule, straight on the database.

use crate::cli::AdminScope;
use anyhow::{bail, Result};
use serde_json::Value;
use tessera_auth::service::scopes::to_object;
use tessera_core::scope_rule::GroupRule;

pub(crate) async fn run(command: AdminScope) -> Result<Value> {
    let AdminScope::Rule {
        scope,
        groups,
        capabilities,
        clear,
        store,
    } = command;
    let rule = if clear {
        None
    } else {
        let rule = GroupRule {
            groups: groups.iter().map(|g| g.trim().to_owned()).collect(),
            capabilities,
        };
        rule.validate().map_err(anyhow::Error::msg)?;
        Some(rule)
    };
    let store = crate::admin::open(&store).await?;
    let mut found = store
        .scopes_by_strings(std::slice::from_ref(&scope))
        .await?;
    if found.is_empty() {
        let all = store.all_scopes().await?;
        found = all
            .into_iter()
            .filter(|s| s.id.to_string() == scope)
            .collect();
    }
    let Some(mut s) = found.into_iter().next() else {
        bail!("no scope {scope}");
    };
    s.group_rule = rule;
    if !store.update_scope(&s).await? {
        bail!("no scope {scope}");
    }
    Ok(serde_json::to_value(to_object(&s))?)
}
