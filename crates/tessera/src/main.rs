//! `tessera`: the server and its command-line tools.

mod admin;
mod admin_idp;
mod admin_scope;
mod connector;
mod group_pages;
mod groups;
mod https_access;
mod login;
mod seeds;
mod serve;
mod service_credential;
mod transfer;
mod transfer_cli;
mod transfer_pages;

use tessera::{cli, settings};

use clap::Parser;
use cli::{Cli, Command};
use settings::LogFormat;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: every request allocates and frees a few dozen
/// small buffers across threads, where glibc malloc spent ~12 % of the server's CPU (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a person at a terminal, never into files or log collectors.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => {
                let settings = settings::serve(&args)?;
                init_logging(settings.log_format);
                serve::run(settings).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Admin(command) => {
                let out = admin::run(command).await?;
                if !out.is_null() {
                    println!("{}", serde_json::to_string_pretty(&out)?);
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Scope(command) => seeds::scope(command).await,
            Command::Token(command) => seeds::token(command).await,
            Command::Client(command) => seeds::client_command(command).await,
            Command::Group(args) => groups::run(args).await,
            Command::Transfer(args) => transfer_cli::transfer(args).await,
            Command::Ls(args) => transfer_cli::ls(args).await,
            Command::Task(args) => transfer_cli::task(args).await,
            Command::Login(args) => login::login(args).await,
            Command::Logout(args) => login::logout(args).await,
            Command::Whoami(args) => login::whoami(args).await,
            Command::Connector(cli::ConnectorCommand::Run(args)) => {
                init_logging(LogFormat::Text);
                connector::run(args).await.map(|()| ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
