//! Operator bootstrap (`tessera admin …`): works straight on the store, so it needs no running
//! server and no credentials.

use super::credentials::mint;
use super::password;
use tessera_core::client::{validate_client_name, Client, ClientType, Links, Visibility};
use tessera_core::clock::Clock;
use tessera_core::identity::{
    validate_username, Identity, IdentityStatus, IdentityType, LOCAL_IDP_ID,
};
use tessera_core::random::SecureRandom;
use tessera_core::secret::Secret;
use tessera_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} exists already")]
    Exists(&'static str),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Exists(what),
            other => Self::Store(other),
        }
    }
}

#[derive(Debug, Default)]
pub struct Profile {
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
}

fn clean(field: &str, v: Option<String>) -> Result<Option<String>, AdminError> {
    match v.map(|s| s.trim().to_owned()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s.chars().count() > 256 || s.chars().any(char::is_control) => Err(
            AdminError::Invalid(format!("{field} must be at most 256 printable characters")),
        ),
        Some(s) => Ok(Some(s)),
    }
}

/// Adds a person to the built-in identity provider.
pub async fn add_user(
    store: &dyn Store,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    username: &str,
    password: &Secret,
    profile: Profile,
) -> Result<Identity, AdminError> {
    let username = username.trim();
    validate_username(username).map_err(|e| AdminError::Invalid(e.into()))?;
    password::validate(password).map_err(|e| AdminError::Invalid(e.into()))?;
    let email = clean("email", profile.email)?;
    if email
        .as_deref()
        .is_some_and(|e| validate_username(e).is_err())
    {
        return Err(AdminError::Invalid(
            "email must look like name@domain".into(),
        ));
    }
    let identity = Identity {
        id: rng.uuid_v4(),
        username: username.to_owned(),
        name: clean("name", profile.name)?,
        email,
        organization: clean("organization", profile.organization)?,
        identity_provider: LOCAL_IDP_ID,
        identity_type: IdentityType::Login,
        status: IdentityStatus::Used,
        created_at: clock.now(),
    };
    let hashed = password::hash(password).map_err(AdminError::Invalid)?;
    store.insert_identity(&identity, Some(&hashed)).await?;
    Ok(identity)
}

/// Adds a client; a confidential one gets its first secret, returned once.
pub async fn add_client(
    store: &dyn Store,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    name: &str,
    client_type: ClientType,
    redirect_uris: Vec<String>,
) -> Result<(Client, Option<Secret>), AdminError> {
    validate_client_name(name).map_err(|e| AdminError::Invalid(e.into()))?;
    for uri in &redirect_uris {
        validate_redirect_uri(uri).map_err(AdminError::Invalid)?;
    }
    let now = clock.now();
    let client = Client {
        id: rng.uuid_v4(),
        name: name.trim().to_owned(),
        client_type,
        visibility: Visibility::Private,
        redirect_uris,
        fqdns: vec![],
        links: Links::default(),
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
    };
    store.insert_client(&client).await?;
    if client.is_public() {
        return Ok((client, None));
    }
    let (cred, secret) = mint(rng, client.id, "initial", now);
    store.insert_credential(&cred).await?;
    Ok((client, Some(secret)))
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment; RFC 9700 §2.1: https, or http only for
/// loopback hosts; or a private-use scheme for native apps (RFC 8252 §7.1).
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("redirect URI {uri:?}: {why}"));
    if uri.len() > 2048 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("too long or contains spaces");
    }
    if uri.contains('#') {
        return bad("must not contain a fragment");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return bad("must be absolute");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "https" || scheme == "http" {
        let Some(authority) = rest.strip_prefix("//") else {
            return bad("must be absolute");
        };
        let host_port = authority.split(['/', '?']).next().unwrap_or("");
        let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
        if host.is_empty() {
            return bad("has no host");
        }
        if scheme == "http" && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return bad("plain http is allowed only for loopback hosts");
        }
        Ok(())
    } else if scheme.contains('.')
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        Ok(())
    } else {
        bad("use https, http on loopback, or a reverse-DNS private-use scheme")
    }
}

#[cfg(test)]
mod tests {
    use super::validate_redirect_uri;

    #[test]
    fn redirect_uris_are_checked() {
        for ok in [
            "https://portal.example.org/cb",
            "http://127.0.0.1:8080/cb",
            "http://localhost/",
            "org.example.app:/cb",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/cb",
            "http://portal.example.org/cb",
            "https://x.org/cb#frag",
            "javascript:alert(1)",
            "https:///cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
