//! The research data portal sample (the "modern research data portal" of the Globus seeds),
//! built on `tessera-client` only. A confidential client that:
//! - signs people in through Tessera (authorization code with `state` and PKCE S256,
//!   `signin.rs`) and shows their name and linked identities (OIDC userinfo, `home.rs`);
//! - lists the datasets, the folders under a directory of an endpoint the portal owns, with the
//!   portal's own client-credentials token (`datasets.rs`);
//! - transfers a dataset to an endpoint the person finds by search, with their own Transfer
//!   token, and shows the task's progress until it ends (`transfer.rs`, `task.rs`);
//! - asks the graph service for a plot with the person's token for the graph's scope
//!   (`graph.rs`);
//! - revokes every token at sign-out (RFC 7009, `signout.rs`).
//!
//! Sessions live in the process (`session.rs`: a random id in an HttpOnly, SameSite=Lax cookie);
//! every POST carries the session's CSRF token. Pages are server-rendered (minijinja, escaped)
//! and work without JavaScript: the progress page refreshes itself.

mod config;
mod pages;
mod render;
mod session;
mod state;
#[cfg(test)]
mod tests;

pub use config::Config;
pub use state::router;

/// Serves the portal on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let app = router(config, &format!("http://{addr}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}
