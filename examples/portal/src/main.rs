//! `tessera-example-portal`: see examples/README.md.

use clap::Parser;
use tessera_example_portal::Config;

#[derive(Debug, Parser)]
#[command(about = "The research data portal sample (sign in, datasets, transfer, graph)")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "PORTAL_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    // The first line names the address (tests and scripts read it).
    println!("portal listening on http://{addr}");
    tessera_example_portal::serve(listener, args.config).await
}
