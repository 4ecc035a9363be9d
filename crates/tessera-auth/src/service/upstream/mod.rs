//! Upstream OpenID Connect identity providers: the registry (`tessera admin idp …`), what each
//! running node keeps of it (the discovery document, the JWKS, the opened client secret), and
//! the display names of their identities. The sign-in itself is in [`flow`].

pub mod flow;

use crate::keys::{open_secret, seal_secret, MasterKey};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, JsonWebKeySet, ProviderMetadata};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_core::clock::Clock;
use tessera_core::random::SecureRandom;
use tessera_core::secret::Secret;
use tessera_core::upstream::{self, UpstreamIdp};
use tessera_store::{Store, StoreError};
use uuid::Uuid;

/// How long a node trusts what it fetched of an upstream (metadata from the store, JWKS from
/// the upstream) before it reads them again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The namespace of IdP ids: an IdP's id is UUIDv5(this, issuer), so its callback URL is known
/// before it is added (the upstream needs it registered first) and stays the same if it is
/// removed and added again.
const IDP_NAMESPACE: Uuid = uuid::uuid!("2d5e6c1a-7b0f-5f0e-9d1c-3a4b5c6d7e8f");

/// The id an IdP with this issuer gets.
pub fn idp_id(issuer: &str) -> Uuid {
    Uuid::new_v5(&IDP_NAMESPACE, issuer.as_bytes())
}

/// The path of an IdP's callback (its `redirect_uri`, after the public URL).
pub fn callback_path(id: Uuid) -> String {
    format!("/v2/web/idp/{id}/callback")
}

/// The RFC 9207 flag, the one discovery field beyond OIDC Discovery that matters here.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct IssParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for IssParameter {}

pub type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("no such identity provider")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// The upstream could not be reached or answered nonsense; nothing about the person.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The response is not one this browser's sign-in can accept (state, iss, signature,
    /// nonce, a code the upstream refuses, a replay).
    #[error("{0}")]
    Refused(String),
    /// The person (or the upstream) declined: `error=access_denied` and friends.
    #[error("{0}")]
    Denied(String),
    /// The identity cannot get a username here (claim missing, or the name is taken).
    #[error("{0}")]
    Unusable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// One upstream as a node uses it.
pub struct Upstream {
    pub idp: UpstreamIdp,
    pub metadata: Metadata,
    pub secret: Secret,
    /// The metadata says the upstream sends RFC 9207 `iss`: a response without it is refused.
    pub iss_required: bool,
}

/// Something read, and when.
type Fetched<T> = (Instant, T);
/// IdP display names by id.
type Names = HashMap<Uuid, String>;

/// What a node keeps of the registry. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    http: reqwest::Client,
    loaded: Arc<Mutex<HashMap<Uuid, Fetched<Arc<Upstream>>>>>,
    names: Arc<Mutex<Option<Fetched<Names>>>>,
}

impl Registry {
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            http: http_client()?,
            loaded: Arc::default(),
            names: Arc::default(),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The upstream `id`, from this node's copy while it is fresh.
    pub async fn get(
        &self,
        store: &dyn Store,
        master: Option<&MasterKey>,
        id: Uuid,
    ) -> Result<Arc<Upstream>, UpstreamError> {
        if let Some(u) = self.cached(id) {
            return Ok(u);
        }
        let idp = store
            .upstream_idp(id)
            .await?
            .ok_or(UpstreamError::NotFound)?;
        let mut metadata: Metadata = serde_json::from_str(&idp.metadata)
            .map_err(|e| UpstreamError::Internal(format!("stored metadata of {id}: {e}")))?;
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("fetching its keys: {e}")))?;
        metadata = metadata.set_jwks(jwks);
        let secret = open_secret(master, &id.to_string(), &idp.client_secret)
            .map_err(|e| UpstreamError::Internal(e.to_string()))?;
        let iss_required = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            == Some(true);
        let u = Arc::new(Upstream {
            idp,
            metadata,
            secret: Secret::new(secret),
            iss_required,
        });
        if let Ok(mut m) = self.loaded.lock() {
            m.insert(id, (Instant::now(), u.clone()));
        }
        Ok(u)
    }

    fn cached(&self, id: Uuid) -> Option<Arc<Upstream>> {
        let m = self.loaded.lock().ok()?;
        m.get(&id)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, u)| u.clone())
    }

    /// Forgets this node's copy (its keys may have rotated).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut m) = self.loaded.lock() {
            m.remove(&id);
        }
    }

    /// The names of the registered IdPs by id (fresh for a while).
    pub async fn names(&self, store: &dyn Store) -> Result<HashMap<Uuid, String>, StoreError> {
        if let Ok(n) = self.names.lock() {
            if let Some((at, names)) = n.as_ref() {
                if at.elapsed() < Duration::from_secs(60) {
                    return Ok(names.clone());
                }
            }
        }
        let names: HashMap<Uuid, String> = store
            .upstream_idps()
            .await?
            .into_iter()
            .map(|i| (i.id, i.name))
            .collect();
        if let Ok(mut n) = self.names.lock() {
            *n = Some((Instant::now(), names.clone()));
        }
        Ok(names)
    }

    /// [`names`](Self::names), or none when the store fails (logged): display names then fall
    /// back to the built-in ones rather than failing a token request.
    pub async fn names_or_empty(&self, store: &dyn Store) -> HashMap<Uuid, String> {
        match self.names(store).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "reading identity provider names failed");
                HashMap::new()
            }
        }
    }
}

/// Outbound HTTP to upstreams: no redirects followed (OAuth endpoints do not redirect, and
/// following them is an SSRF aid), bounded in time.
fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())
}

/// What the operator gives `tessera admin idp add`.
pub struct NewIdp {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: Vec<String>,
    pub scopes: Vec<String>,
    pub username_claim: Option<String>,
    pub trust_mfa: bool,
}

/// Discovers the issuer (its document must name exactly this issuer, and its keys must be
/// fetchable), seals the secret and stores the IdP.
pub async fn add(
    store: &dyn Store,
    clock: &dyn Clock,
    _rng: &dyn SecureRandom,
    master: Option<&MasterKey>,
    new: NewIdp,
) -> Result<UpstreamIdp, UpstreamError> {
    let issuer_url = IssuerUrl::new(new.issuer.clone())
        .map_err(|e| UpstreamError::Invalid(format!("issuer {:?}: {e}", new.issuer)))?;
    let http = http_client().map_err(UpstreamError::Internal)?;
    let metadata = Metadata::discover_async(issuer_url, &http)
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("discovery at {}: {e}", new.issuer)))?;
    if !metadata
        .response_types_supported()
        .iter()
        .any(|r| r.as_slice().contains(&CoreResponseType::Code))
    {
        return Err(UpstreamError::Invalid(
            "the issuer does not support the authorization code flow".into(),
        ));
    }
    if metadata.token_endpoint().is_none() {
        return Err(UpstreamError::Invalid(
            "the issuer's discovery document has no token_endpoint".into(),
        ));
    }
    let document = serde_json::to_string(&metadata)
        .map_err(|e| UpstreamError::Internal(format!("serialising metadata: {e}")))?;
    let id = idp_id(&new.issuer);
    let idp = UpstreamIdp {
        id,
        name: new.name.trim().to_owned(),
        client_secret: seal_secret(master, &id.to_string(), new.client_secret.expose())
            .map_err(|e| UpstreamError::Internal(e.to_string()))?,
        issuer: new.issuer,
        client_id: new.client_id,
        domains: new.domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        scopes: new.scopes,
        username_claim: new.username_claim.filter(|c| !c.is_empty()),
        trust_mfa: new.trust_mfa,
        metadata: document,
        created_at: clock.now(),
    };
    upstream::validate(&idp).map_err(UpstreamError::Invalid)?;
    store.insert_upstream_idp(&idp).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            UpstreamError::Invalid("an identity provider with this issuer exists".into())
        }
        e => UpstreamError::Store(e),
    })?;
    Ok(idp)
}

/// The IdP named by id or by exact name (for `idp remove`).
pub async fn find(store: &dyn Store, key: &str) -> Result<UpstreamIdp, UpstreamError> {
    let all = store.upstream_idps().await?;
    let by_id = Uuid::parse_str(key).ok();
    all.into_iter()
        .find(|i| Some(i.id) == by_id || i.name == key || i.issuer == key)
        .ok_or(UpstreamError::NotFound)
}
