//! The authorization endpoint's logic (RFC 6749 §4.1.1–§4.1.2, RFC 7636, RFC 9207, RFC 9700):
//! validate the request, remember it while the user signs in and decides, record consent, and
//! issue the code.
//!
//! Errors come in two kinds. Until the client and its redirect URI are known to be good, an
//! error is shown on a page of ours and never redirected (RFC 6749 §4.1.2.1; an open redirector
//! otherwise). After that, errors go back to the client's redirect URI.

use crate::state::AppState;
use std::sync::Arc;
use tessera_core::auth_policy::{self, AuthPolicy, Requirement};
use tessera_core::client::Client;
use tessera_core::clock::UnixTime;
use tessera_core::consent::{consented_paths, covers, requested_paths};
use tessera_core::grant::authorization_code::{
    AuthorizationCode, PendingAuthorization, CODE_LIFETIME_S, PENDING_LIFETIME_S,
};
use tessera_core::identity::Identity;
use tessera_core::pkce;
use tessera_core::redirect;
use tessera_core::session::BrowserSession;
use tessera_core::token::TokenKind;
use tessera_proto::scope::{parse_scope_request, ScopeRequest};
use tessera_store::StoreError;
use uuid::Uuid;

pub use super::authorize_params::{AuthorizeParams, Interaction};
pub use super::consent_grant::{record_consent, requested_scope};

#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// Shown on an error page with status 400; never redirected.
    #[error("{message}")]
    Page {
        title: &'static str,
        message: String,
    },
    /// Sent to the client's redirect URI.
    #[error("{error}: {description}")]
    Redirect {
        location: String,
        error: &'static str,
        description: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

const MAX_STATE: usize = 2048;

/// Whether the client gets the native redirect rules: a public client, or an instance of a
/// template (the CLI's confidential instances stand for the native CLI).
pub async fn native_like(state: &AppState, client: &Client) -> Result<bool, StoreError> {
    if client.is_public() {
        return Ok(true);
    }
    let Some(parent) = client.parent_client else {
        return Ok(false);
    };
    let parent = state.clients.get(state.store.as_ref(), parent).await?;
    Ok(parent.is_some_and(|p| p.client.allows_templating))
}

pub fn auth_code_page(state: &AppState) -> String {
    state.config.url("v2/web/auth-code")
}

/// `uri` with these query parameters appended (RFC 6749 §4.1.2: keep its own query).
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// The redirect carrying an error, with `state` and `iss` (RFC 9207).
fn error_location(
    state: &AppState,
    uri: &str,
    client_state: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    let mut p = vec![("error", error), ("error_description", description)];
    if let Some(s) = client_state {
        p.push(("state", s));
    }
    p.push(("iss", state.config.issuer()));
    with_params(uri, &p)
}

/// Validates an authorize request and stores it as pending; says how the user may be involved.
/// `signed_in_at` is the `auth_time` of the browser's session, if it has one (for `max_age`).
pub async fn start(
    state: &AppState,
    p: AuthorizeParams,
    signed_in_at: Option<UnixTime>,
) -> Result<(PendingAuthorization, Interaction), AuthorizeError> {
    let page = |title: &'static str, message: &str| AuthorizeError::Page {
        title,
        message: message.to_owned(),
    };
    let client_id = p
        .client_id
        .as_deref()
        .ok_or_else(|| page("Unknown application", "The request names no client_id."))?;
    let client = match Uuid::parse_str(client_id) {
        Ok(id) => state.clients.get(state.store.as_ref(), id).await?,
        Err(_) => None,
    };
    let client = client.ok_or_else(|| {
        page(
            "Unknown application",
            "The application that sent you here is not registered.",
        )
    })?;
    let redirect_uri = p
        .redirect_uri
        .clone()
        .ok_or_else(|| page("Invalid request", "The request names no redirect_uri."))?;
    let native = native_like(state, &client.client).await?;
    if !redirect::allowed(
        &client.client,
        native,
        &redirect_uri,
        &auth_code_page(state),
    ) {
        return Err(page(
            "Invalid redirect",
            "The application asked to send you to an address it has not registered. For your safety, you were not sent there.",
        ));
    }
    if p.state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(page("Invalid request", "The state parameter is too long."));
    }
    // From here on, errors go back to the client.
    let back = |error: &'static str, description: &str| AuthorizeError::Redirect {
        location: error_location(state, &redirect_uri, p.state.as_deref(), error, description),
        error,
        description: description.to_owned(),
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let interaction = p
        .interaction()
        .map_err(|(error, description)| back(error, description))?;
    let session_requirements = p
        .session_requirements()
        .map_err(|why| back("invalid_request", &why))?;
    if !client.client.client_type.allows_grant("authorization_code") {
        return Err(back(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let challenge = match (&p.code_challenge, client.client.is_public()) {
        (Some(c), _) => {
            pkce::validate_challenge(c, p.code_challenge_method.as_deref())
                .map_err(|e| back("invalid_request", &e.to_string()))?;
            Some(c.clone())
        }
        // RFC 9700 §2.1.1: public clients must use PKCE.
        (None, true) => {
            return Err(back(
                "invalid_request",
                "code_challenge (PKCE, S256) is required for this client",
            ))
        }
        (None, false) => None,
    };
    let scope = match requested_scope(state, p.scope.as_deref().unwrap_or("")).await? {
        Ok(scope) => scope,
        Err(why) => return Err(back("invalid_scope", &why)),
    };
    let offline = match p.access_type.as_deref() {
        None | Some("online") => false,
        Some("offline") => true,
        Some(_) => {
            return Err(back(
                "invalid_request",
                "access_type must be online or offline",
            ))
        }
    };
    let now = state.clock.now();
    let pending = PendingAuthorization {
        id: state.rng.uuid_v4(),
        client_id: client.client.id,
        redirect_uri,
        scope,
        state: p.state,
        code_challenge: challenge,
        nonce: p.nonce.filter(|n| n.len() <= MAX_STATE),
        offline,
        force_login: interaction.needs_sign_in(signed_in_at, now),
        created_at: now,
        expires_at: now + PENDING_LIFETIME_S,
    };
    state.store.insert_pending(&pending).await?;
    if !session_requirements.is_empty() {
        state
            .store
            .insert_session_requirements(pending.id, &session_requirements, pending.expires_at)
            .await?;
    }
    Ok((pending, interaction))
}

/// Where a `prompt=none` request goes: back to the client with its code, or, where the user
/// would have to act, with why not (OIDC Core §3.1.2.6), ending the request.
pub async fn without_interaction(
    state: &AppState,
    pending: &PendingAuthorization,
    next: Next,
) -> Result<String, StoreError> {
    let (error, description) = match next {
        Next::Redirect(to) => return Ok(to),
        Next::SignIn => ("login_required", "the user must sign in"),
        Next::Consent => ("consent_required", "the user must consent"),
        Next::LinkIdentity(_) => (
            "interaction_required",
            "the user must sign in with another identity",
        ),
        Next::StepUp(_) => (
            "interaction_required",
            "the session does not meet the session requirements; the user must sign in again",
        ),
    };
    state.store.delete_pending(pending.id).await?;
    Ok(error_location(
        state,
        &pending.redirect_uri,
        pending.state.as_deref(),
        error,
        description,
    ))
}

/// A pending request by the id a page carries, if it is still live.
pub async fn pending(
    state: &AppState,
    id: &str,
) -> Result<Option<PendingAuthorization>, StoreError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    Ok(state
        .store
        .pending(id)
        .await?
        .filter(|p| state.clock.now() < p.expires_at))
}

pub enum Next {
    SignIn,
    /// None of the signed-in person's identities satisfies the client's `required_idp` or
    /// policy: they must sign in with one that does (it is then linked), e.g. "an identity from
    /// example.org".
    LinkIdentity(String),
    /// The session does not meet what the request or the client's policy asks of it
    /// (`session_required_*`, a policy's timeout or MFA): sign in again, with another
    /// identity, or with the second factor.
    StepUp(super::step_up::Shortfall),
    Consent,
    /// Done: send the browser here.
    Redirect(String),
}

/// What a client requires of the identity it acts for, resolved.
pub struct ClientRequirement {
    pub required_idp: Option<Uuid>,
    pub policy: Option<AuthPolicy>,
    /// The display name of `required_idp` (the built-in IdP's, or an upstream's).
    pub required_idp_name: Option<String>,
}

impl ClientRequirement {
    pub fn as_requirement(&self) -> Requirement<'_> {
        Requirement {
            required_idp: self.required_idp,
            policy: self.policy.as_ref(),
        }
    }

    /// "an identity from example.org", for the sign-in page.
    pub fn describe(&self) -> String {
        match (&self.policy, self.required_idp) {
            (Some(p), _) => p.requirement(),
            (None, Some(_)) => format!(
                "an identity from {}",
                self.required_idp_name
                    .as_deref()
                    .unwrap_or(tessera_core::identity::LOCAL_IDP_NAME)
            ),
            (None, None) => "an identity".into(),
        }
    }
}

/// The requirement of `client`, or `None` when it has none (then nothing else is read).
pub async fn client_requirement(
    state: &AppState,
    client: &Client,
) -> Result<Option<ClientRequirement>, StoreError> {
    if client.required_idp.is_none() && client.authentication_policy.is_none() {
        return Ok(None);
    }
    let policy = match client.authentication_policy {
        Some(id) => Some(state.store.policy(id).await?.unwrap_or_else(|| AuthPolicy {
            // Deleting a policy in use is refused; should the row vanish anyway, nobody
            // satisfies what is left, rather than everybody.
            id,
            project_id: Uuid::nil(),
            display_name: String::new(),
            description: String::new(),
            high_assurance: false,
            authentication_assurance_timeout: None,
            required_mfa: false,
            domain_constraints_include: Some(vec![]),
            domain_constraints_exclude: None,
            created_at: 0,
        })),
        None => None,
    };
    let required_idp_name = match client.required_idp {
        Some(id) => state
            .upstreams
            .names_or_empty(state.store.as_ref())
            .await
            .remove(&id),
        None => None,
    };
    Ok(Some(ClientRequirement {
        required_idp: client.required_idp,
        policy,
        required_idp_name,
    }))
}

/// Which identity a grant for `client_id` acts as, for a person signed in as `signed_in`.
pub enum Effective {
    /// The identity signed in with: no requirement, or it satisfies it.
    SignedIn,
    /// A linked identity that satisfies the requirement.
    Linked(Identity),
    /// None does; what to ask for.
    Missing(String),
}

pub async fn effective(
    state: &AppState,
    client_id: Uuid,
    signed_in: &Identity,
) -> Result<Effective, StoreError> {
    let Some(client) = state.clients.get(state.store.as_ref(), client_id).await? else {
        return Ok(Effective::SignedIn);
    };
    let Some(req) = client_requirement(state, &client.client).await? else {
        return Ok(Effective::SignedIn);
    };
    let set = state.store.identity_set(signed_in.id).await?;
    Ok(
        match auth_policy::effective_identity(signed_in, &set, &req.as_requirement()) {
            Some(i) if i.id == signed_in.id => Effective::SignedIn,
            Some(i) => Effective::Linked(i.clone()),
            None => Effective::Missing(req.describe()),
        },
    )
}

/// What the user must do next for `pending`, given who is signed in.
pub async fn next_step(
    state: &AppState,
    pending: &PendingAuthorization,
    session: Option<&(BrowserSession, Identity)>,
) -> Result<Next, StoreError> {
    let Some((session, identity)) = session else {
        return Ok(Next::SignIn);
    };
    if pending.force_login && session.auth_time < pending.created_at {
        return Ok(Next::SignIn);
    }
    if let Some(short) = super::step_up::shortfall(state, pending, session, identity).await? {
        return Ok(Next::StepUp(short));
    }
    let effective_identity = match effective(state, pending.client_id, identity).await? {
        Effective::Missing(what) => return Ok(Next::LinkIdentity(what)),
        Effective::SignedIn => None,
        Effective::Linked(i) => Some(i.id),
    };
    if let Some(to) = refused_by_group(state, pending, identity).await? {
        return Ok(Next::Redirect(to));
    }
    let requests = parse_scope_request(&pending.scope).unwrap_or_default();
    let consents = state.store.consents_of(identity.id).await?;
    if covers(
        &consented_paths(&consents, pending.client_id),
        &requested_paths(&requests),
    ) {
        return Ok(Next::Redirect(
            issue_code(state, pending, session, effective_identity).await?,
        ));
    }
    Ok(Next::Consent)
}

/// The user pressed Allow: record what was new, issue the code, return where to go.
pub async fn approve(
    state: &AppState,
    pending: &PendingAuthorization,
    session: &BrowserSession,
    identity: &Identity,
) -> Result<String, StoreError> {
    let effective_identity = match effective(state, pending.client_id, identity).await? {
        // The set changed since the consent page was shown: ask again.
        Effective::Missing(_) => {
            return Ok(format!(
                "/v2/web/login?request={}",
                url::form_urlencoded::byte_serialize(pending.id.to_string().as_bytes())
                    .collect::<String>()
            ))
        }
        Effective::SignedIn => None,
        Effective::Linked(i) => Some(i.id),
    };
    // The membership may have ended while the consent page was open.
    if let Some(to) = refused_by_group(state, pending, identity).await? {
        return Ok(to);
    }
    record_consent(
        state,
        pending.client_id,
        &pending.scope,
        identity,
        effective_identity,
    )
    .await?;
    issue_code(state, pending, session, effective_identity).await
}

/// A requested scope's group rule (`tessera_core::scope_rule`) does not hold for the signed-in
/// person: the request ends with `invalid_scope` naming the scopes (RFC 6749 §4.1.2.1), and
/// nothing is consented.
async fn refused_by_group(
    state: &AppState,
    pending: &PendingAuthorization,
    identity: &Identity,
) -> Result<Option<String>, StoreError> {
    let Some(refused) =
        super::group_rules::refused_at_consent(state, identity.id, &pending.scope).await?
    else {
        return Ok(None);
    };
    tracing::info!(event = "scope_refused_by_group", identity = %identity.id, client = %pending.client_id, scopes = %refused, "scope refused: not a member of its groups");
    state.store.delete_pending(pending.id).await?;
    Ok(Some(error_location(
        state,
        &pending.redirect_uri,
        pending.state.as_deref(),
        "invalid_scope",
        &format!("not granted: {refused} (granted only to members of the scope's groups)"),
    )))
}

/// The user pressed Deny (RFC 6749 §4.1.2.1 `access_denied`).
pub async fn deny(state: &AppState, pending: &PendingAuthorization) -> Result<String, StoreError> {
    state.store.delete_pending(pending.id).await?;
    Ok(error_location(
        state,
        &pending.redirect_uri,
        pending.state.as_deref(),
        "access_denied",
        "the user denied the request",
    ))
}

async fn issue_code(
    state: &AppState,
    pending: &PendingAuthorization,
    session: &BrowserSession,
    effective_identity: Option<Uuid>,
) -> Result<String, StoreError> {
    let now = state.clock.now();
    let (code, hash) = TokenKind::AuthorizationCode.generate(state.rng.as_ref());
    state
        .store
        .insert_code(&AuthorizationCode {
            hash,
            client_id: pending.client_id,
            redirect_uri: pending.redirect_uri.clone(),
            scope: pending.scope.clone(),
            code_challenge: pending.code_challenge.clone(),
            identity_id: session.identity_id,
            session_id: session.id,
            auth_time: session.auth_time,
            offline: pending.offline,
            nonce: pending.nonce.clone(),
            family_id: state.rng.uuid_v4(),
            created_at: now,
            expires_at: now + CODE_LIFETIME_S,
            exchanged_at: None,
            effective_identity,
        })
        .await?;
    state.store.delete_pending(pending.id).await?;
    let mut p = vec![("code", code.expose())];
    if let Some(s) = pending.state.as_deref() {
        p.push(("state", s));
    }
    p.push(("iss", state.config.issuer()));
    Ok(with_params(&pending.redirect_uri, &p))
}

/// What the consent page shows: the client and the requested scope tree, named.
pub struct ConsentView {
    pub client: Arc<crate::cache::ClientEntry>,
    pub scopes: Vec<ScopeView>,
}

#[derive(serde::Serialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
    pub scope_string: String,
    pub optional: bool,
    pub dependencies: Vec<ScopeView>,
}

pub async fn consent_view(
    state: &AppState,
    pending: &PendingAuthorization,
) -> Result<Option<ConsentView>, StoreError> {
    consent_view_of(state, pending.client_id, &pending.scope).await
}

/// What the consent page shows for `client_id` asking for `scope` (in normal form).
pub async fn consent_view_of(
    state: &AppState,
    client_id: Uuid,
    scope: &str,
) -> Result<Option<ConsentView>, StoreError> {
    let Some(client) = state.clients.get(state.store.as_ref(), client_id).await? else {
        return Ok(None);
    };
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    fn view(r: &ScopeRequest, c: &crate::cache::Catalogue) -> ScopeView {
        let s = c.by_string(&r.scope);
        ScopeView {
            name: s.map_or_else(|| r.scope.clone(), |s| s.name.clone()),
            description: s.map(|s| s.description.clone()).unwrap_or_default(),
            scope_string: r.scope.clone(),
            optional: r.optional,
            dependencies: r.dependencies.iter().map(|d| view(d, c)).collect(),
        }
    }
    let requests = parse_scope_request(scope).unwrap_or_default();
    let mut seen = Vec::new();
    let scopes = requests
        .iter()
        .filter(|r| {
            let new = !seen.contains(&r.to_string());
            seen.push(r.to_string());
            new
        })
        .map(|r| view(r, &catalogue))
        .collect();
    Ok(Some(ConsentView { client, scopes }))
}
