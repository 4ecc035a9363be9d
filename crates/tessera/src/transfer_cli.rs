//! `tessera transfer`, `tessera ls` and `tessera task …`: moving data through the Transfer API
//! v0.10, with a transfer token (`--token`), as the calling client (client credentials for
//! `transfer.api.globus.org:all`), or as the person `tessera login` logged in. A progress bar on a terminal, plain lines when not on one.
//! (`transfer.rs` is the server side's wiring; this is the client side.)

use crate::cli::{LsArgs, TaskCommand, TransferArgs, TransferAuth};
use crate::login;
use anyhow::{bail, Context, Result};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tessera_client::transfer::{Task, TRANSFER_ALL, TRANSFER_RESOURCE_SERVER};
use tessera_client::{
    AccessTokenAuthorizer, AuthClient, Authorizer, ClientCredentialsAuthorizer, ClientError,
    TransferClient,
};
use tessera_proto::transfer::{TransferItem, TransferSubmission};

/// A Transfer client for the first of: `--token`, the client's credentials (client
/// credentials, renewed as needed), the tokens of `tessera login` (refreshed as needed, the new
/// ones written back to the token file).
async fn connect(auth: &TransferAuth) -> Result<TransferClient> {
    let url = auth.client.auth_url.as_deref();
    let needs_url = || url.context("the server URL is needed: --auth-url or TESSERA_AUTH_URL");
    let authorizer: Arc<dyn Authorizer> = match (
        &auth.token,
        &auth.client.client_id,
        &auth.client.client_secret,
    ) {
        (Some(t), _, _) => Arc::new(AccessTokenAuthorizer::new(t.clone())),
        (None, Some(id), Some(secret)) => Arc::new(ClientCredentialsAuthorizer::new(
            AuthClient::new(needs_url()?, id, secret)?,
            TRANSFER_ALL,
        )),
        (None, None, Some(_)) => bail!("--client-secret needs --client-id"),
        (None, _, None) => {
            match login::stored_authorizer(url, &auth.tokens, TRANSFER_RESOURCE_SERVER)? {
                Some((stored_url, a)) => {
                    return Ok(TransferClient::with_authorizer(&stored_url, Arc::new(a))?)
                }
                None => bail!(
                    "not logged in: run `tessera login`, or give --token \
                     (TESSERA_TRANSFER_TOKEN), or --client-id and --client-secret"
                ),
            }
        }
    };
    Ok(TransferClient::with_authorizer(needs_url()?, authorizer)?)
}

/// `ENDPOINT_ID:PATH` (an empty path is `/`).
fn split_target(s: &str) -> Result<(&str, &str)> {
    match s.split_once(':') {
        Some(("", _)) => bail!("{s:?}: the endpoint id is missing (EP:PATH)"),
        Some((ep, "")) => Ok((ep, "/")),
        Some((ep, path)) => Ok((ep, path)),
        None => bail!("{s:?}: expected ENDPOINT_ID:PATH"),
    }
}

pub(crate) async fn transfer(args: TransferArgs) -> Result<ExitCode> {
    let (src_ep, src_path) = split_target(&args.source)?;
    let (dst_ep, dst_path) = split_target(&args.destination)?;
    let client = connect(&args.auth).await?;
    let verify = match (args.verify_checksum, args.no_verify_checksum) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    let submission = TransferSubmission {
        submission_id: Some(client.submission_id().await?),
        source_endpoint: Some(src_ep.to_owned()),
        destination_endpoint: Some(dst_ep.to_owned()),
        data: vec![TransferItem {
            data_type: Some("transfer_item".into()),
            source_path: src_path.to_owned(),
            destination_path: dst_path.to_owned(),
            recursive: args.recursive.then_some(true),
            ..TransferItem::default()
        }],
        label: args.label.clone(),
        sync_level: args.sync_level,
        verify_checksum: verify,
        ..TransferSubmission::default()
    };
    let result = client.submit_transfer(&submission).await?;
    if std::io::stdout().is_terminal() {
        println!("Task ID: {} ({})", result.task_id, result.message);
    } else {
        println!("{}", serde_json::to_string(&result)?);
    }
    if args.wait {
        wait(&client, &result.task_id).await
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

pub(crate) async fn ls(args: LsArgs) -> Result<ExitCode> {
    let (ep, path) = split_target(&args.target)?;
    let client = connect(&args.auth).await?;
    let list = client.ls(ep, path).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for f in &list.data {
        let name = if f.kind == "dir" {
            format!("{}/", f.name)
        } else {
            f.name.clone()
        };
        println!(
            "{} {:>12} {} {}",
            f.permissions, f.size, f.last_modified, name
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn task(command: TaskCommand) -> Result<ExitCode> {
    match command {
        TaskCommand::Show { task_id, auth } => {
            let t = connect(&auth).await?.get_task(&task_id).await?;
            println!("{}", serde_json::to_string_pretty(&t)?);
            Ok(ExitCode::SUCCESS)
        }
        TaskCommand::Wait { task_id, auth } => wait(&connect(&auth).await?, &task_id).await,
        TaskCommand::Cancel { task_id, auth } => {
            let answer = connect(&auth).await?.cancel_task(&task_id).await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            // `TaskComplete`: it had already ended, nothing was canceled.
            Ok(if answer["code"] == "Canceled" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// The numbers of a task document that progress shows.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    status: String,
    files: u64,
    done: u64,
    bytes: u64,
    rate: u64,
}

impl Progress {
    fn of(t: &Task) -> Self {
        Self {
            status: t.status.clone(),
            files: t.files,
            done: t.files_transferred + t.files_skipped,
            bytes: t.bytes_transferred,
            rate: t.effective_bytes_per_second,
        }
    }

    fn line(&self, task_id: &str) -> String {
        format!(
            "task {task_id}: {} {}/{} files, {}, {}/s",
            self.status,
            self.done,
            self.files,
            HumanBytes(self.bytes),
            HumanBytes(self.rate)
        )
    }
}

/// Failed polls in a row that `wait` rides out (a second apart) before it gives up.
const MAX_POLL_FAILURES: u32 = 10;

/// An error worth asking again after: the server unreachable or answering 5xx or 429 (the
/// client has already retried those a few times within seconds; a restart takes longer).
fn transient(e: &ClientError) -> bool {
    e.is_transient()
}

/// Polls the task until it leaves ACTIVE (and INACTIVE); exit 0 only for SUCCEEDED.
async fn wait(client: &TransferClient, task_id: &str) -> Result<ExitCode> {
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last: Option<Progress> = None;
    let mut pause = Duration::from_millis(50);
    let mut failures = 0;
    let doc = loop {
        let doc = match client.get_task(task_id).await {
            Ok(doc) => doc,
            // The server restarting or a node failing over: the task lives on, so ask again.
            Err(e) if transient(&e) && failures < MAX_POLL_FAILURES => {
                failures += 1;
                match &bar {
                    Some(bar) => bar.set_message(format!("({e}; asking again)")),
                    None => eprintln!("task {task_id}: {e}; asking again"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        failures = 0;
        let p = Progress::of(&doc);
        match &bar {
            Some(bar) => {
                bar.set_length(p.files);
                bar.set_position(p.done);
                bar.set_message(format!(
                    "{}, {}/s {}",
                    HumanBytes(p.bytes),
                    HumanBytes(p.rate),
                    p.status
                ));
            }
            None if last.as_ref() != Some(&p) => eprintln!("{}", p.line(task_id)),
            None => {}
        }
        let active = matches!(p.status.as_str(), "ACTIVE" | "INACTIVE");
        last = Some(p);
        if !active {
            break doc;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    let status = doc.status.as_str();
    // Why it failed, on standard error in both modes: `FILE_NOT_FOUND: /x: not found: /x`.
    if let Some(err) = &doc.fatal_error {
        eprintln!("task {task_id}: {}: {}", err.code, err.description);
    }
    if std::io::stdout().is_terminal() {
        println!("Task {task_id} {status}");
    } else {
        println!("{}", serde_json::to_string(&doc)?);
    }
    Ok(if status == "SUCCEEDED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_split_at_the_first_colon() {
        assert_eq!(split_target("ep:/a:b").unwrap(), ("ep", "/a:b"));
        assert_eq!(split_target("ep:").unwrap(), ("ep", "/"));
        assert!(split_target("/no/endpoint").is_err());
        assert!(split_target(":/x").is_err());
    }

    #[test]
    fn only_unreachable_servers_and_5xx_are_asked_again() {
        let api = |status| ClientError::Api {
            status,
            code: None,
            message: String::new(),
            request_id: None,
            authorization_parameters: None,
        };
        assert!(transient(&api(503)));
        assert!(!transient(&api(404)));
        assert!(!transient(&ClientError::Decode("x".into())));
    }

    #[test]
    fn progress_lines_say_files_and_bytes() {
        let t = serde_json::from_value(serde_json::json!({"task_id": "t1", "status": "ACTIVE",
            "files": 4, "files_transferred": 1, "files_skipped": 1, "bytes_transferred": 2048,
            "effective_bytes_per_second": 1024}))
        .unwrap();
        let line = Progress::of(&t).line("t1");
        assert_eq!(line, "task t1: ACTIVE 2/4 files, 2.00 KiB, 1.00 KiB/s");
    }
}
