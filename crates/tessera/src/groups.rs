//! `tessera group …`: a convenience over the Groups API v2, as the calling client (client
//! credentials for `groups.api.globus.org:all`) or with a groups token (`--token`).

use crate::cli::{GroupArgs, GroupCommand};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::process::ExitCode;
use tessera_client::groups::GROUPS_ALL;
use tessera_client::{AuthClient, GroupsClient};

pub(crate) async fn run(args: GroupArgs) -> Result<ExitCode> {
    let url = args
        .client
        .auth_url
        .clone()
        .context("the server URL is needed: --auth-url or TESSERA_AUTH_URL")?;
    let (token, me) = match (
        &args.token,
        &args.client.client_id,
        &args.client.client_secret,
    ) {
        (Some(t), _, _) => (t.clone(), None),
        (None, Some(id), Some(secret)) => {
            let auth = AuthClient::new(&url, id, secret)?;
            let t = auth.client_credentials(GROUPS_ALL).await?;
            (t.top.access_token, Some(id.clone()))
        }
        _ => bail!("give --token (TESSERA_GROUPS_TOKEN), or --client-id and --client-secret"),
    };
    let groups = GroupsClient::new(&url, &token)?;
    let answer = match args.command {
        GroupCommand::List { statuses } => groups.my_groups(&statuses).await?,
        GroupCommand::Show { group } => {
            groups
                .get_group(&group, "memberships,my_memberships")
                .await?
        }
        GroupCommand::Create {
            name,
            description,
            parent_id,
        } => {
            groups
                .create_group(&name, description.as_deref(), parent_id.as_deref())
                .await?
        }
        GroupCommand::Delete { group } => groups.delete_group(&group).await?,
        GroupCommand::Member {
            action,
            group,
            identity,
            role,
        } => {
            let action = action.replace('-', "_");
            let identity = match identity.or(me) {
                Some(i) => i,
                None => bail!("name the identity (an identity id)"),
            };
            let answer = groups
                .membership_action(&group, &action, &identity, role.as_deref())
                .await?;
            let done = answer
                .get(&action)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            println!("{}", serde_json::to_string_pretty(&answer)?);
            return Ok(if done {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    };
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(ExitCode::SUCCESS)
}
