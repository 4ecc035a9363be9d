//! The portal's settings: flags or `PORTAL_*` environment variables.

/// Where Tessera is, who the portal is, where the datasets are and where the graph is.
#[derive(Clone, clap::Args)]
pub struct Config {
    /// Tessera's base URL (Auth and Transfer).
    #[arg(long, env = "PORTAL_TESSERA_URL")]
    pub tessera_url: String,
    /// The portal's confidential client (`tessera admin client add --confidential`).
    #[arg(long, env = "PORTAL_CLIENT_ID")]
    pub client_id: String,
    #[arg(long, env = "PORTAL_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// The portal's own URL as browsers reach it; `<url>/callback` must be a redirect URI of
    /// the client. Default: http://<listen address>.
    #[arg(long, env = "PORTAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The endpoint holding the datasets (owned by the portal's client).
    #[arg(long, env = "PORTAL_DATASET_ENDPOINT")]
    pub dataset_endpoint: String,
    /// The directory on that endpoint whose folders are the datasets.
    #[arg(long, env = "PORTAL_DATASET_PATH", default_value = "/datasets/")]
    pub dataset_path: String,
    /// The graph service's base URL.
    #[arg(long, env = "PORTAL_GRAPH_URL")]
    pub graph_url: String,
    /// The graph service's scope (https://auth.globus.org/scopes/<graph client id>/plot).
    #[arg(long, env = "PORTAL_GRAPH_SCOPE")]
    pub graph_scope: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tessera_url", &self.tessera_url)
            .field("client_id", &self.client_id)
            .field("public_url", &self.public_url)
            .field("dataset_endpoint", &self.dataset_endpoint)
            .field("dataset_path", &self.dataset_path)
            .field("graph_url", &self.graph_url)
            .field("graph_scope", &self.graph_scope)
            .finish_non_exhaustive()
    }
}

/// What the portal asks people to consent to: who they are (with their linked identities),
/// Transfer on their behalf, and the graph service (which depends on Transfer and the dataset
/// endpoint's HTTPS scope, so consenting to it covers the graph's own calls too).
pub(crate) fn scopes(graph_scope: &str) -> Vec<String> {
    vec![
        "openid".into(),
        "profile".into(),
        "email".into(),
        "urn:globus:auth:scope:auth.globus.org:view_identity_set".into(),
        tessera_client::transfer::TRANSFER_ALL.into(),
        graph_scope.into(),
    ]
}
