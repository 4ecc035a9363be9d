//! What the graph service needs to know: the auth server, its own client, the dataset endpoint.

/// Flags or environment variables (`GRAPH_*`).
#[derive(Clone, clap::Args)]
pub struct Config {
    /// Tessera's base URL (auth, Transfer and HTTPS access are all served there).
    #[arg(long, env = "GRAPH_TESSERA_URL")]
    pub tessera_url: String,
    /// This service's confidential client (its scope's owner).
    #[arg(long, env = "GRAPH_CLIENT_ID")]
    pub client_id: String,
    #[arg(long, env = "GRAPH_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// The endpoint the datasets live on.
    #[arg(long, env = "GRAPH_DATASET_ENDPOINT")]
    pub dataset_endpoint: String,
    /// The scope callers' tokens must carry (default
    /// https://auth.globus.org/scopes/<client id>/plot).
    #[arg(long, env = "GRAPH_SCOPE")]
    pub scope: Option<String>,
    /// The endpoint's HTTPS base URL, instead of reading `https_server` from its document.
    #[arg(long, env = "GRAPH_HTTPS_SERVER")]
    pub https_server: Option<String>,
}

impl Config {
    /// The scope this service requires.
    pub fn scope(&self) -> String {
        self.scope
            .clone()
            .unwrap_or_else(|| format!("https://auth.globus.org/scopes/{}/plot", self.client_id))
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tessera_url", &self.tessera_url)
            .field("client_id", &self.client_id)
            .field("dataset_endpoint", &self.dataset_endpoint)
            .field("scope", &self.scope())
            .field("https_server", &self.https_server)
            .finish_non_exhaustive()
    }
}
