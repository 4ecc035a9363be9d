//! Signing in through an upstream IdP: the authorization code flow with PKCE S256, a `state`
//! bound to the browser (a cookie holding its hash) and stored server-side until its one use,
//! a `nonce`, the ID token verified (issuer, audience, expiry, nonce, signature against the
//! upstream's JWKS), RFC 9207 `iss` checked, and the identity found by (issuer, `sub`).

use super::{Upstream, UpstreamError};
use crate::service::sessions::Proof;
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tessera_core::identity::{Identity, IdentityStatus, IdentityType};
use tessera_core::secret::SecretHash;
use tessera_core::upstream::{self, LoginPurpose, UpstreamClaims, UpstreamLogin};
use tessera_store::StoreError;
use uuid::Uuid;

/// The cookie that binds a sign-in in flight to the browser that started it: the base64url
/// SHA-256 of its `state`.
pub const BINDING_COOKIE: &str = "tessera_upstream";

fn random_token(state: &AppState) -> String {
    let mut b = [0u8; 32];
    state.rng.fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// What the browser holds for a state: the cookie value.
pub fn binding(state_param: &str) -> String {
    URL_SAFE_NO_PAD.encode(SecretHash::of(state_param).as_bytes())
}

/// The upstream as an OpenID Connect client sees it.
type Oidc = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(state: &AppState, u: &Upstream) -> Result<Oidc, UpstreamError> {
    let redirect = RedirectUrl::new(state.config.url(&super::callback_path(u.idp.id)))
        .map_err(|e| UpstreamError::Internal(format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        u.metadata.clone(),
        ClientId::new(u.idp.client_id.clone()),
        Some(ClientSecret::new(u.secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// Where to send the browser, and the binding cookie's value.
pub struct Started {
    pub location: String,
    pub binding: String,
}

/// Starts a sign-in at upstream `idp_id` for `purpose`, continuing `request` (or ending at
/// `next`) afterwards.
pub async fn start(
    state: &AppState,
    idp_id: Uuid,
    purpose: LoginPurpose,
    request: Option<String>,
    next: Option<String>,
) -> Result<Started, UpstreamError> {
    let u = state
        .upstreams
        .get(
            state.store.as_ref(),
            state.config.master_key.as_ref(),
            idp_id,
        )
        .await?;
    let (csrf, nonce, verifier) = (
        random_token(state),
        random_token(state),
        random_token(state),
    );
    let now = state.clock.now();
    state
        .store
        .insert_upstream_login(&UpstreamLogin {
            state_hash: SecretHash::of(&csrf),
            idp_id,
            nonce: nonce.clone(),
            pkce_verifier: verifier.clone(),
            request,
            next,
            purpose,
            created_at: now,
            expires_at: now + upstream::LOGIN_LIFETIME_S,
        })
        .await?;
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier));
    let c = client(state, &u)?;
    let bound = csrf.clone();
    let mut auth = c
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(bound),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(challenge);
    for s in &u.idp.scopes {
        auth = auth.add_scope(Scope::new(s.clone()));
    }
    let (url, _, _) = auth.url();
    Ok(Started {
        location: url.to_string(),
        binding: binding(&csrf),
    })
}

/// The query of a callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A callback that proved an identity.
pub struct Proven {
    pub identity: Identity,
    pub proof: Proof,
    pub login: UpstreamLogin,
    /// The IdP's name, for pages.
    pub idp_name: String,
}

/// Checks a callback and finds (or creates) the identity it proves. Every check fails closed.
pub async fn callback(
    state: &AppState,
    idp_id: Uuid,
    cookie: Option<&str>,
    cb: Callback,
) -> Result<Proven, UpstreamError> {
    let refused = |why: &str| UpstreamError::Refused(why.to_owned());
    let csrf = cb
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| refused("The response has no state."))?;
    // Bound to this browser: the cookie holds the hash of the state it started with.
    let bound = cookie.is_some_and(|c| bool::from(c.as_bytes().ct_eq(binding(csrf).as_bytes())));
    if !bound {
        return Err(refused("This sign-in was not started in this browser."));
    }
    // Used once: the row is deleted as it is read, so a replay finds nothing.
    let login = state
        .store
        .claim_upstream_login(&SecretHash::of(csrf), state.clock.now())
        .await?
        .ok_or_else(|| refused("This sign-in has expired or was already used."))?;
    // Each upstream has its own callback: a response for another IdP's request is a mix-up.
    if login.idp_id != idp_id {
        return Err(refused(
            "The response came back to another identity provider's address.",
        ));
    }
    let u = state
        .upstreams
        .get(
            state.store.as_ref(),
            state.config.master_key.as_ref(),
            idp_id,
        )
        .await?;
    match cb.iss.as_deref() {
        Some(iss) if iss != u.idp.issuer => {
            return Err(refused("The response names another issuer."));
        }
        None if u.iss_required => {
            return Err(refused("The response lacks the issuer it must name."));
        }
        _ => {}
    }
    if let Some(error) = cb.error.as_deref() {
        let why = match error {
            "access_denied" => format!("{} did not sign you in.", u.idp.name),
            "login_required" | "interaction_required" | "consent_required" => {
                format!("{} needs you to sign in there first.", u.idp.name)
            }
            _ => format!("{} refused the sign-in ({error}).", u.idp.name),
        };
        tracing::info!(event = "upstream_sign_in_refused", idp = %idp_id, error, description = cb.error_description.as_deref().unwrap_or(""), "upstream refused a sign-in");
        return Err(UpstreamError::Denied(why));
    }
    let code = cb
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| refused("The response has no authorization code."))?;
    let c = client(state, &u)?;
    let tokens = c
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| UpstreamError::Internal(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(state.upstreams.http())
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => UpstreamError::Refused(format!(
                "{} refused the authorization code ({}).",
                u.idp.name,
                r.error()
            )),
            e => UpstreamError::Unavailable(format!("token endpoint: {e}")),
        })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| refused("The identity provider sent no ID token."))?;
    let raw = verified_claims(state, &u, &c, id_token, &login.nonce)?;
    let userinfo = userinfo(state, &u, tokens.access_token().secret(), &raw).await;
    let claims = claims_of(&u, &raw, userinfo.as_ref());
    let proof = Proof {
        mfa: upstream::mfa(&u.idp, &claims),
    };
    let identity = find_or_create(state, &u, &claims).await?;
    crate::audit::signed_in(state, &identity);
    Ok(Proven {
        identity,
        proof,
        login,
        idp_name: u.idp.name.clone(),
    })
}

/// The ID token's claims once its signature, issuer, audience, expiry and nonce are checked.
fn verified_claims(
    state: &AppState,
    u: &Upstream,
    c: &Oidc,
    id_token: &CoreIdToken,
    nonce: &str,
) -> Result<Value, UpstreamError> {
    let verifier = c.id_token_verifier();
    if let Err(e) = id_token.claims(&verifier, &Nonce::new(nonce.to_owned())) {
        // The keys may have rotated since this node fetched them: the next sign-in refetches.
        state.upstreams.forget(u.idp.id);
        tracing::info!(event = "upstream_id_token_refused", idp = %u.idp.id, error = %e, "upstream ID token refused");
        return Err(UpstreamError::Refused(
            "The identity provider's ID token did not verify.".into(),
        ));
    }
    // Verified: read every claim (the username claim may be any) from the same bytes.
    let text = id_token.to_string();
    let payload = text
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| UpstreamError::Refused("The ID token cannot be read.".into()))?;
    Ok(payload)
}

/// Userinfo, when the upstream has it; kept only if its `sub` is the ID token's.
async fn userinfo(state: &AppState, u: &Upstream, access_token: &str, id: &Value) -> Option<Value> {
    let endpoint = u.metadata.userinfo_endpoint()?;
    let r = state
        .upstreams
        .http()
        .get(endpoint.url().as_str())
        .bearer_auth(access_token)
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        tracing::info!(idp = %u.idp.id, status = %r.status(), "upstream userinfo failed; using the ID token alone");
        return None;
    }
    let v: Value = r.json().await.ok()?;
    (v.get("sub").is_some() && v.get("sub") == id.get("sub")).then_some(v)
}

fn claims_of(u: &Upstream, id: &Value, userinfo: Option<&Value>) -> UpstreamClaims {
    // ID-token claims first; userinfo fills what the ID token lacks (same `sub` checked).
    let get = |name: &str| -> Option<String> {
        let pick = |v: &Value| v.get(name).and_then(Value::as_str).map(str::to_owned);
        pick(id).or_else(|| userinfo.and_then(pick))
    };
    let username_claim = u
        .idp
        .username_claim
        .clone()
        .unwrap_or_else(|| "preferred_username".into());
    let amr = id
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    UpstreamClaims {
        subject: id
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        username: get(&username_claim),
        name: get("name"),
        email: get("email"),
        organization: get("organization").or_else(|| get("org")),
        amr,
        acr: id.get("acr").and_then(Value::as_str).map(str::to_owned),
    }
}

/// The identity of (issuer, sub): the one made at its first sign-in, or a new one now.
async fn find_or_create(
    state: &AppState,
    u: &Upstream,
    claims: &UpstreamClaims,
) -> Result<Identity, UpstreamError> {
    if claims.subject.is_empty() {
        return Err(UpstreamError::Refused(
            "The ID token has no subject.".into(),
        ));
    }
    if let Some(i) = state
        .store
        .upstream_identity(&u.idp.issuer, &claims.subject)
        .await?
    {
        if i.status == IdentityStatus::Closed {
            return Err(UpstreamError::Denied(
                "This identity is closed here.".into(),
            ));
        }
        return Ok(i);
    }
    let username = upstream::username(&u.idp, claims).map_err(|e| {
        UpstreamError::Unusable(format!("{} cannot sign you in here: {e}.", u.idp.name))
    })?;
    let identity = Identity {
        id: state.rng.uuid_v4(),
        username: username.clone(),
        name: claims.name.clone(),
        email: claims.email.clone(),
        organization: claims.organization.clone(),
        identity_provider: u.idp.id,
        identity_type: IdentityType::Login,
        status: IdentityStatus::Used,
        created_at: state.clock.now(),
    };
    match state
        .store
        .insert_upstream_identity(&identity, &u.idp.issuer, &claims.subject)
        .await
    {
        Ok(()) => {
            tracing::info!(event = "upstream_identity_created", idp = %u.idp.id, identity = %identity.id, "first sign-in through an upstream IdP");
            Ok(identity)
        }
        // Two first sign-ins at once: the other one made it.
        Err(StoreError::Conflict(_)) => match state
            .store
            .upstream_identity(&u.idp.issuer, &claims.subject)
            .await?
        {
            Some(i) => Ok(i),
            None => Err(UpstreamError::Unusable(format!(
                "The username {username} is already taken here, so {} cannot sign you in. \
                 Ask the operator.",
                u.idp.name
            ))),
        },
        Err(e) => Err(e.into()),
    }
}
