//! OIDC Discovery (`/.well-known/openid-configuration`) and the JWKS (`/jwk.json`), spec §2.9.
//! Both are public and ignore any `Authorization` header (the CLI sends Basic).

use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use tessera_proto::oidc::{DiscoveryDocument, JwkSet};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oidc",
    summary = "OpenID Connect Discovery 1.0",
    responses((status = 200, description = "The provider's metadata", body = tessera_proto::oidc::DiscoveryDocument))
)]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<DiscoveryDocument> {
    let c = &state.config;
    let basic = strings(&["client_secret_basic", "client_secret_post"]);
    Json(DiscoveryDocument {
        issuer: c.issuer().to_owned(),
        authorization_endpoint: c.url("v2/oauth2/authorize"),
        token_endpoint: c.url("v2/oauth2/token"),
        userinfo_endpoint: c.url("v2/oauth2/userinfo"),
        revocation_endpoint: c.url("v2/oauth2/token/revoke"),
        introspection_endpoint: c.url("v2/oauth2/token/introspect"),
        jwks_uri: c.url("jwk.json"),
        response_types_supported: strings(&["code"]),
        grant_types_supported: strings(&[
            "authorization_code",
            "refresh_token",
            "client_credentials",
        ]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&[state.keys.algorithm().as_str()]),
        scopes_supported: strings(&["openid", "email", "profile"]),
        token_endpoint_auth_methods_supported: basic.clone(),
        introspection_endpoint_auth_methods_supported: basic.clone(),
        revocation_endpoint_auth_methods_supported: [basic, strings(&["none"])].concat(),
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "preferred_username",
            "name",
            "email",
            "organization",
            "identity_provider",
            "identity_provider_display_name",
            "identity_set",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
    })
}

#[utoipa::path(
    get,
    path = "/jwk.json",
    tag = "oidc",
    summary = "The signing keys (RFC 7517): `keys[0]` signs ID tokens now; then next and retired keys, then the access-token keys",
    responses((status = 200, description = "The JWKS", body = tessera_proto::oidc::JwkSet))
)]
pub async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(state.keys.jwks(state.clock.now()))
}
