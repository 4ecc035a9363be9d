//! `tessera-example-graph`: see the crate's README.md.

use clap::Parser;
use tessera_example_graph::Config;

#[derive(Debug, Parser)]
#[command(about = "The research data portal's graph service (an SVG plot of a dataset's CSV)")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "GRAPH_LISTEN", default_value = "127.0.0.1:8082")]
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
    // The first line names the address (tests and scripts read it).
    println!("graph listening on http://{}", listener.local_addr()?);
    tessera_example_graph::serve(listener, args.config).await
}
