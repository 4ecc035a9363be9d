//! The graph service of the research data portal sample. `GET /api/plot?path=/a/b.csv` with a
//! bearer token for this service's scope answers an SVG plot of that CSV file on the dataset
//! endpoint. The token is checked by `tessera-guard` (introspection with this service's own
//! client credentials); the file is read on the caller's behalf with dependent tokens: one for
//! Transfer (the endpoint document names its `https_server`) and one for the endpoint's HTTPS
//! scope, so the endpoint's access rules decide what each person may plot.

mod config;
mod plot;
mod routes;

pub use config::Config;
pub use plot::{parse_csv, render_svg, PlotError, Table};
pub use routes::router;

/// Serves the graph on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> anyhow::Result<()> {
    let app = router(config)?;
    axum::serve(listener, app).await?;
    Ok(())
}
