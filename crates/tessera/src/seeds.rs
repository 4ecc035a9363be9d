//! The seed scripts as commands: `scope create` (createscope.py), `token get` (gettoken.py),
//! `token check` (minicatokencheck.py), plus `token revoke`.

use crate::cli::{ClientArgs, ClientCommand, FqdnCommand, ScopeCommand, TokenCommand};
use anyhow::{anyhow, bail, Context, Result};
use std::process::ExitCode;
use tessera_client::AuthClient;
use tessera_proto::api::{DependentScopeObject, ScopeCreate};

fn client(args: ClientArgs) -> Result<AuthClient> {
    let url = args
        .auth_url
        .context("the auth server URL is needed: --auth-url or TESSERA_AUTH_URL")?;
    let id = args
        .client_id
        .context("a client id is needed: --client-id or TESSERA_CLIENT_ID")?;
    let secret = args
        .client_secret
        .context("a client secret is needed: --client-secret or TESSERA_CLIENT_SECRET")?;
    Ok(AuthClient::new(&url, &id, &secret)?)
}

pub(crate) async fn scope(command: ScopeCommand) -> Result<ExitCode> {
    let ScopeCommand::Create {
        suffix,
        name,
        description,
        dependent_scopes,
        client: args,
    } = command;
    let client = client(args)?;
    let dependents = if dependent_scopes.is_empty() {
        None
    } else {
        let found = client.scopes_by_strings(&dependent_scopes).await?;
        let mut out = Vec::new();
        for wanted in &dependent_scopes {
            let s = found
                .iter()
                .find(|s| &s.scope_string == wanted)
                .ok_or_else(|| anyhow!("dependent scope {wanted:?} does not exist"))?;
            out.push(DependentScopeObject {
                scope: s.id.clone(),
                optional: false,
                requires_refresh_token: false,
            });
        }
        Some(out)
    };
    let scope = client
        .create_scope(ScopeCreate {
            name,
            description,
            scope_suffix: suffix,
            dependent_scopes: dependents,
            ..ScopeCreate::default()
        })
        .await?;
    println!("{}", serde_json::to_string_pretty(&scope)?);
    Ok(ExitCode::SUCCESS)
}

/// `tessera client fqdn add|remove FQDN`, as the client the credentials name.
pub(crate) async fn client_command(command: ClientCommand) -> Result<ExitCode> {
    let ClientCommand::Fqdn(command) = command;
    let out = match command {
        FqdnCommand::Add { fqdn, client: args } => client(args)?.add_fqdn(&fqdn).await?,
        FqdnCommand::Remove { fqdn, client: args } => client(args)?.remove_fqdn(&fqdn).await?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn token(command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Get {
            scopes,
            client: args,
        } => {
            let response = client(args)?.client_credentials(&scopes.join(" ")).await?;
            println!("{}", response.top.access_token);
            for other in &response.other_tokens {
                println!("{}", other.access_token);
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Check {
            token,
            require_domains,
            client: args,
        } => check(client(args)?, &token, &require_domains).await,
        TokenCommand::Revoke {
            token,
            client: args,
        } => {
            client(args)?.revoke(&token).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Exit 0 and the username on stdout when the token is active (and from a required domain);
/// otherwise exit 1 and the reason on stderr. The username introspection reports is the
/// grant's effective identity (the linked identity that satisfied the client's policy), so the
/// domain is judged on it, not on the other identities of the set.
async fn check(client: AuthClient, token: &str, domains: &[String]) -> Result<ExitCode> {
    let answer = match client.introspect(token, None).await {
        Ok(a) => a,
        Err(e) => return refuse(&format!("introspection failed: {e}")),
    };
    if answer.get("active").and_then(serde_json::Value::as_bool) != Some(true) {
        return refuse(
            "the token is not active (unknown, expired, revoked, or not visible to this client)",
        );
    }
    let Some(username) = answer.get("username").and_then(serde_json::Value::as_str) else {
        bail!("the introspection answer has no username");
    };
    if !domains.is_empty() {
        let lower = username.to_lowercase();
        let ok = domains
            .iter()
            .any(|d| lower.ends_with(&format!("@{}", d.trim_start_matches('@').to_lowercase())));
        if !ok {
            return refuse(&format!(
                "the token's identity {username} is not from {}",
                domains.join(" or ")
            ));
        }
    }
    println!("{username}");
    Ok(ExitCode::SUCCESS)
}

fn refuse(reason: &str) -> Result<ExitCode> {
    eprintln!("{reason}");
    Ok(ExitCode::from(1))
}
