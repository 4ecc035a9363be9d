//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), and the
//! initial access tokens that gate it (`registration = "token"`).
//!
//! A registered client is an ordinary client with no project; it is managed only with its
//! registration access token, which is stored as a hash like every other token. Nothing is
//! written until the whole request has been checked; an initial access token is spent only by
//! a registration that is otherwise valid.

use super::credentials;
use super::project_clients::{self, Actor};
use super::Failure;
use crate::config::Registration;
use crate::state::AppState;
use serde_json::{Map, Value};
use tessera_core::client::{Client, Links, Visibility};
use tessera_core::clock::UnixTime;
use tessera_core::registration::{ClientRegistration, Metadata, MetadataError};
use tessera_core::secret::{Secret, SecretHash};
use tessera_core::token::{self, TokenKind};
use tessera_store::{Change, StoreError};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// Registration is off: the endpoint does not exist.
    #[error("no such resource")]
    Disabled,
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// RFC 6750 §3.1 `invalid_token` (401): a missing or bad initial or registration access
    /// token, or one for another client.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 7592 §2.3: the deletion is refused (another client's scopes depend on this one's).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client as RFC 7591 §3.2.1 / RFC 7592 §3 describe it to its owner.
pub struct Described {
    pub client_id: Uuid,
    /// Only in the answer to the registration (it is stored as a hash).
    pub client_secret: Option<Secret>,
    /// Only in the answer to the registration.
    pub registration_access_token: Option<Secret>,
    pub client_id_issued_at: UnixTime,
    pub confidential: bool,
    pub metadata: Map<String, Value>,
}

fn check_uri(uri: &str) -> Result<(), String> {
    super::admin::validate_redirect_uri(uri)
}

fn client_of(id: Uuid, m: &Metadata, now: UnixTime) -> Client {
    Client {
        id,
        name: m.client_name.clone(),
        client_type: m.client_type(),
        visibility: Visibility::Private,
        redirect_uris: m.redirect_uris.clone(),
        fqdns: vec![],
        links: Links {
            privacy_policy: m.policy_uri.clone(),
            terms_and_conditions: m.tos_uri.clone(),
        },
        parent_client: None,
        project: None,
        required_idp: None,
        preselect_idp: None,
        allows_templating: false,
        authentication_policy: None,
        userinfo_from_effective_identity: true,
        resource_server_name: None,
        access_token_format: Default::default(),
        created_at: now,
    }
}

/// RFC 7591 §3.1: registers a client. `initial`: the Bearer token sent, if any.
pub async fn register(
    state: &AppState,
    initial: Option<&Secret>,
    body: &Value,
) -> Result<Described, RegistrationError> {
    let mode = state.config.registration;
    if mode == Registration::Off {
        return Err(RegistrationError::Disabled);
    }
    let metadata = Metadata::from_request(body, check_uri)?;
    let now = state.clock.now();
    if mode == Registration::Token {
        let bad = RegistrationError::InvalidToken("a valid initial access token is required");
        let Some(t) = initial else { return Err(bad) };
        if token::expect_kind(t.expose(), TokenKind::InitialAccess).is_err()
            || !state
                .store
                .use_initial_access_token(&SecretHash::of(t.expose()), now)
                .await?
        {
            return Err(bad);
        }
    }
    let client = client_of(state.rng.uuid_v4(), &metadata, now);
    let (credential, secret) = if client.is_public() {
        (None, None)
    } else {
        let (c, s) = credentials::mint(state.rng.as_ref(), client.id, "registration", now);
        (Some(c), Some(s))
    };
    let (access_token, access_token_hash) =
        TokenKind::RegistrationAccess.generate(state.rng.as_ref());
    let json = metadata.to_json();
    let registration = ClientRegistration {
        client_id: client.id,
        metadata: Value::Object(json.clone()).to_string(),
        access_token_hash,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .insert_registered_client(&client, credential.as_ref(), &registration)
        .await?;
    crate::audit::client_registered(
        state,
        client.id,
        client.is_public(),
        mode == Registration::Token,
    );
    tracing::info!(event = "client_registered", client = %client.id, public = client.is_public(), "client registered dynamically");
    Ok(Described {
        client_id: client.id,
        client_secret: secret,
        registration_access_token: Some(access_token),
        client_id_issued_at: now,
        confidential: !client.is_public(),
        metadata: json,
    })
}

/// The registration `token` manages, if it is the one of client `raw_id` (RFC 7592 §3).
async fn authorized(
    state: &AppState,
    token: Option<&Secret>,
    raw_id: &str,
) -> Result<(Client, ClientRegistration), RegistrationError> {
    if !state.config.registration.enabled() {
        return Err(RegistrationError::Disabled);
    }
    let bad = || {
        RegistrationError::InvalidToken(
            "the registration access token is not valid for this client",
        )
    };
    let token = token.ok_or_else(bad)?;
    if token::expect_kind(token.expose(), TokenKind::RegistrationAccess).is_err() {
        return Err(bad());
    }
    let reg = state
        .store
        .registration_by_token(&SecretHash::of(token.expose()))
        .await?
        .ok_or_else(bad)?;
    // Another client's token: the same answer as a bad one (RFC 7592 §2.1, 401).
    if Uuid::parse_str(raw_id).ok() != Some(reg.client_id) {
        return Err(bad());
    }
    let client = state.store.client(reg.client_id).await?.ok_or_else(bad)?;
    Ok((client, reg))
}

fn stored_metadata(reg: &ClientRegistration) -> Map<String, Value> {
    match serde_json::from_str(&reg.metadata) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// RFC 7592 §2.1: the client's registration as it stands.
pub async fn read(
    state: &AppState,
    token: Option<&Secret>,
    raw_id: &str,
) -> Result<Described, RegistrationError> {
    let (client, reg) = authorized(state, token, raw_id).await?;
    Ok(Described {
        client_id: client.id,
        client_secret: None,
        registration_access_token: None,
        client_id_issued_at: reg.created_at,
        confidential: !client.is_public(),
        metadata: stored_metadata(&reg),
    })
}

/// RFC 7592 §2.2: replaces the client's metadata with `body`.
pub async fn update(
    state: &AppState,
    token: Option<&Secret>,
    raw_id: &str,
    body: &Value,
) -> Result<Described, RegistrationError> {
    let (client, reg) = authorized(state, token, raw_id).await?;
    let invalid =
        |m: &str| RegistrationError::Metadata(MetadataError::InvalidClientMetadata(m.into()));
    if body.get("client_id").and_then(Value::as_str) != Some(raw_id) {
        return Err(invalid("the body must repeat the client_id"));
    }
    for field in [
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    ] {
        if body.get(field).is_some() {
            return Err(invalid(&format!("{field} must not be sent in an update")));
        }
    }
    let metadata = Metadata::from_request(body, check_uri)?;
    if metadata.client_type() != client.client_type {
        return Err(invalid(
            "token_endpoint_auth_method cannot change between none and a secret; register a new client",
        ));
    }
    let now = state.clock.now();
    let updated = Client {
        name: metadata.client_name.clone(),
        redirect_uris: metadata.redirect_uris.clone(),
        links: Links {
            privacy_policy: metadata.policy_uri.clone(),
            terms_and_conditions: metadata.tos_uri.clone(),
        },
        ..client
    };
    let json = metadata.to_json();
    let registration = ClientRegistration {
        metadata: Value::Object(json.clone()).to_string(),
        updated_at: now,
        ..reg
    };
    if !state
        .store
        .update_registered_client(&updated, &registration)
        .await?
    {
        return Err(RegistrationError::InvalidToken(
            "the registration access token is not valid for this client",
        ));
    }
    state
        .publish(vec![Change::ClientChanged(updated.id)])
        .await?;
    Ok(Described {
        client_id: updated.id,
        client_secret: None,
        registration_access_token: None,
        client_id_issued_at: registration.created_at,
        confidential: !updated.is_public(),
        metadata: json,
    })
}

/// RFC 7592 §2.3: deletes the client, its tokens and consents, as the client API's deletion.
pub async fn delete(
    state: &AppState,
    token: Option<&Secret>,
    raw_id: &str,
) -> Result<(), RegistrationError> {
    let (client, _) = authorized(state, token, raw_id).await?;
    match project_clients::delete(state, &Actor::Client(&client), raw_id).await {
        Ok(_) => Ok(()),
        Err(Failure::Store(e)) => Err(e.into()),
        Err(Failure::NotFound(_)) => Err(RegistrationError::InvalidToken(
            "the registration access token is not valid for this client",
        )),
        Err(other) => Err(RegistrationError::Refused(other.to_string())),
    }
}

/// `tessera admin registration-token create`: a token good for `uses` registrations until
/// `lifetime` seconds from now, returned once.
pub async fn create_initial_access_token(
    store: &dyn tessera_store::Store,
    clock: &dyn tessera_core::clock::Clock,
    rng: &dyn tessera_core::random::SecureRandom,
    uses: i64,
    lifetime: i64,
) -> Result<(Secret, UnixTime), StoreError> {
    let now = clock.now();
    let (token, hash) = TokenKind::InitialAccess.generate(rng);
    let expires_at = now.saturating_add(lifetime);
    store
        .insert_initial_access_token(&hash, uses, now, expires_at)
        .await?;
    Ok((token, expires_at))
}
