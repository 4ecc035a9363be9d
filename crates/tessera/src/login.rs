//! `tessera login`, `logout` and `whoami`: a person's tokens for the command line, on the SDK.
//!
//! `login` is the native-app flow with PKCE (the Globus CLI's, without its template-instance
//! detour): a public client (`--client-id`, by default the Globus CLI app every Tessera seeds),
//! the person's browser signing in and consenting, the code coming back to a one-shot listener
//! on 127.0.0.1 (or pasted, `--no-local-server`), and the tokens kept in the token file under
//! the server's URL. The transfer commands then use them through a renewing authorizer whose
//! new tokens go back into the file.

use crate::cli::{LoginArgs, LogoutArgs, TokenFileArgs, WhoamiArgs};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tessera_client::storage::{JsonFileTokenStorage, StoredTokens, TokenStorage};
use tessera_client::tokens::{by_resource_server, system_clock};
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::{AuthClient, RefreshTokenAuthorizer};

mod callback;

/// The Globus CLI's native app (spec §1.5), seeded as a public installed client on every
/// Tessera: a Globus CLI user's `login` works on a fresh server with nothing registered.
pub(crate) const DEFAULT_CLIENT_ID: &str = "95fdeba8-fac2-42bd-a357-e068d82ff78e";

const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

fn default_scopes() -> Vec<String> {
    [
        "openid",
        "profile",
        "email",
        "urn:globus:auth:scope:auth.globus.org:view_identity_set",
        TRANSFER_ALL,
        tessera_client::groups::GROUPS_ALL,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The token file: the flag, `$XDG_CONFIG_HOME/tessera/tokens.json`, or
/// `~/.config/tessera/tokens.json`.
pub(crate) fn token_file(args: &TokenFileArgs) -> Result<PathBuf> {
    if let Some(p) = &args.token_file {
        return Ok(p.clone());
    }
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .context("no HOME to keep tokens in: give --token-file (TESSERA_TOKEN_FILE)")?,
        )
        .join(".config"),
    };
    Ok(config.join("tessera").join("tokens.json"))
}

/// The storage namespace of a server: its base URL without the trailing slash.
fn namespace(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The server: the flag, else the only one in the token file.
fn server_url(given: Option<&str>, storage: &JsonFileTokenStorage) -> Result<String> {
    if let Some(u) = given {
        return Ok(namespace(u));
    }
    match storage.namespaces()?.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!("not logged in: run `tessera login --auth-url URL`"),
        _ => bail!(
            "logged in to several servers ({}): say which with --auth-url or TESSERA_AUTH_URL",
            storage.path().display()
        ),
    }
}

/// A renewing authorizer for `resource_server` from the stored login to `url` (its renewed
/// tokens written back); `None` when not logged in there.
pub(crate) fn stored_authorizer(
    url: Option<&str>,
    files: &TokenFileArgs,
    resource_server: &str,
) -> Result<Option<(String, RefreshTokenAuthorizer)>> {
    let storage = Arc::new(JsonFileTokenStorage::new(token_file(files)?));
    let url = match server_url(url, &storage) {
        Ok(u) => u,
        Err(_) if url.is_none() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(login) = storage.get(&url)? else {
        return Ok(None);
    };
    let token = login
        .tokens
        .get(resource_server)
        .cloned()
        .with_context(|| {
            format!("the login to {url} has no token for {resource_server}: run `tessera login --force`")
        })?;
    let client_id = login.client_id.as_deref().unwrap_or(DEFAULT_CLIENT_ID);
    let auth = AuthClient::native(&url, client_id)?;
    let ns = url.clone();
    let authorizer = RefreshTokenAuthorizer::new(token, auth)?
        .on_refresh(move |t| Ok(storage.store_token(&ns, t)?));
    Ok(Some((url, authorizer)))
}

pub(crate) async fn login(args: LoginArgs) -> Result<ExitCode> {
    if std::env::var_os("TESSERA_CLIENT_SECRET").is_some() {
        bail!(
            "TESSERA_CLIENT_SECRET is set: the commands already act as that client; \
             `tessera login` is for a person (unset it to log in)"
        );
    }
    let url = namespace(
        args.auth_url
            .as_deref()
            .context("the server URL is needed: --auth-url or TESSERA_AUTH_URL")?,
    );
    let path = token_file(&args.tokens)?;
    let storage = JsonFileTokenStorage::new(&path);
    if !args.force && storage.get(&url)?.is_some() {
        println!(
            "You are already logged in to {url} (tokens in {}). Use --force to log in again.",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let client_id = args.client_id.as_deref().unwrap_or(DEFAULT_CLIENT_ID);
    let auth = AuthClient::native(&url, client_id)?;
    let scopes = if args.scopes.is_empty() {
        default_scopes()
    } else {
        args.scopes.clone()
    };
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let grant = format!("tessera CLI on {}", hostname());
    let tokens = if args.no_local_server {
        let flow = auth
            .start_native_flow(&scopes, None, true)
            .prefill_named_grant(&grant);
        println!("Please authenticate with Tessera here:");
        println!("------------------------------------");
        println!("{}", flow.authorize_url());
        println!("------------------------------------");
        println!();
        print!("Enter the resulting Authorization Code here: ");
        std::io::stdout().flush()?;
        let mut code = String::new();
        std::io::stdin().lock().read_line(&mut code)?;
        let code = code.trim();
        if code.is_empty() {
            bail!("no code given: nothing stored");
        }
        flow.exchange(code).await?
    } else {
        let listener = callback::Listener::bind().await?;
        let flow = auth
            .start_native_flow(&scopes, Some(&listener.redirect_uri()), true)
            .prefill_named_grant(&grant);
        let authorize = flow.authorize_url();
        println!("Please authenticate with Tessera in your browser:");
        println!("------------------------------------");
        println!("{authorize}");
        println!("------------------------------------");
        println!("Waiting for the sign-in to finish (Ctrl-C to give up)...");
        open_browser(&authorize);
        let code = listener
            .code(flow.state(), Duration::from_secs(600))
            .await?;
        flow.exchange(&code).await?
    };
    let now = system_clock()();
    let by_rs = by_resource_server(&tokens, now);
    if by_rs.values().any(|t| t.refresh_token.is_none()) {
        bail!("the server issued no refresh tokens: nothing stored");
    }
    let stored = StoredTokens {
        client_id: Some(client_id.to_owned()),
        tokens: by_rs,
    };
    storage.store(&url, &stored)?;
    let who = match stored.tokens.get(AUTH_RESOURCE_SERVER) {
        Some(t) => auth
            .userinfo(&tessera_client::AccessTokenAuthorizer::new(
                t.access_token.clone(),
            ))
            .await
            .ok()
            .and_then(|u| u.preferred_username),
        None => None,
    };
    println!();
    match who {
        Some(u) => println!("You have successfully logged in to {url} as {u}."),
        None => println!("You have successfully logged in to {url}."),
    }
    println!("Tokens are in {}.", path.display());
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn logout(args: LogoutArgs) -> Result<ExitCode> {
    let storage = JsonFileTokenStorage::new(token_file(&args.tokens)?);
    let url = match server_url(args.auth_url.as_deref(), &storage) {
        Ok(u) => u,
        Err(_) if args.auth_url.is_none() && storage.namespaces()?.is_empty() => {
            println!("You are not logged in.");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    let Some(login) = storage.get(&url)? else {
        println!("You are not logged in to {url}.");
        return Ok(ExitCode::SUCCESS);
    };
    let auth = AuthClient::native(
        &url,
        login.client_id.as_deref().unwrap_or(DEFAULT_CLIENT_ID),
    )?;
    let mut failures = 0;
    for t in login.tokens.values() {
        for token in std::iter::once(&t.access_token).chain(&t.refresh_token) {
            if let Err(e) = auth.revoke(token).await {
                failures += 1;
                eprintln!("could not revoke a {} token: {e}", t.resource_server);
            }
        }
    }
    // Forgotten even when a revocation failed: the person asked to be logged out here.
    storage.remove(&url)?;
    if failures == 0 {
        println!("You are logged out of {url}: the tokens are revoked and deleted.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "You are logged out of {url}: the tokens are deleted, {failures} could not be revoked."
        );
        Ok(ExitCode::from(1))
    }
}

pub(crate) async fn whoami(args: WhoamiArgs) -> Result<ExitCode> {
    let Some((url, authorizer)) =
        stored_authorizer(args.auth_url.as_deref(), &args.tokens, AUTH_RESOURCE_SERVER)?
    else {
        bail!("not logged in: run `tessera login`");
    };
    let auth = AuthClient::native(&url, DEFAULT_CLIENT_ID)?;
    let me = auth.userinfo(&authorizer).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&me)?);
        return Ok(ExitCode::SUCCESS);
    }
    let username = me.preferred_username.as_deref().unwrap_or(&me.sub);
    if !args.linked_identities {
        println!("{username}");
        return Ok(ExitCode::SUCCESS);
    }
    for i in &me.identity_set {
        let name = i.username.as_deref().unwrap_or(&i.sub);
        let mark = if i.sub == me.sub { "*" } else { " " };
        match &i.name {
            Some(n) => println!("{mark} {name} ({n}) {}", i.sub),
            None => println!("{mark} {name} {}", i.sub),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".into())
}

/// Opens `url` in a browser when there is a display to show one on; quietly does nothing
/// otherwise (the URL is printed either way).
fn open_browser(url: &str) {
    let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !graphical || !std::io::stdout().is_terminal() {
        return;
    }
    let _ = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
