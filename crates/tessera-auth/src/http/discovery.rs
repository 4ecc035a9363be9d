//! OIDC Discovery (`/.well-known/openid-configuration`) and the JWKS (`/jwk.json`), spec §2.9.
//! Both are public and ignore any `Authorization` header (the CLI sends Basic).

use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use tessera_proto::oauth::GrantType;
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
    // A public client (a native app) names itself with `client_id` and proves itself with PKCE.
    let basic_or_public = [basic.clone(), strings(&["none"])].concat();
    Json(DiscoveryDocument {
        issuer: c.issuer().to_owned(),
        authorization_endpoint: c.url("v2/oauth2/authorize"),
        token_endpoint: c.url("v2/oauth2/token"),
        userinfo_endpoint: c.url("v2/oauth2/userinfo"),
        revocation_endpoint: c.url("v2/oauth2/token/revoke"),
        introspection_endpoint: c.url("v2/oauth2/token/introspect"),
        end_session_endpoint: c.url("v2/web/logout"),
        device_authorization_endpoint: c.url("v2/oauth2/device_authorization"),
        registration_endpoint: c
            .registration
            .enabled()
            .then(|| c.url("v2/oauth2/register")),
        jwks_uri: c.url("jwk.json"),
        service_documentation: c.url("/"),
        response_types_supported: strings(&["code"]),
        // Only the query (RFC 6749 §4.1.2); OIDC Discovery's default would add `fragment`.
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&[
            GrantType::AuthorizationCode.as_str(),
            GrantType::RefreshToken.as_str(),
            GrantType::ClientCredentials.as_str(),
            GrantType::DependentToken.as_str(),
            GrantType::TokenExchange.as_str(),
            GrantType::DeviceCode.as_str(),
        ]),
        subject_types_supported: strings(&["public"]),
        // One algorithm per deployment (`id_token_algorithm`): RS512 by default, which the
        // Globus SDK requires; OIDC clients that insist on RS256 need `RS256` configured.
        id_token_signing_alg_values_supported: strings(&[state.keys.algorithm().as_str()]),
        scopes_supported: strings(&["openid", "email", "profile"]),
        token_endpoint_auth_methods_supported: basic_or_public.clone(),
        // RFC 7662 §2.1: only confidential clients may introspect.
        introspection_endpoint_auth_methods_supported: basic,
        revocation_endpoint_auth_methods_supported: basic_or_public,
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "preferred_username",
            "name",
            "email",
            "organization",
            "identity_provider",
            "identity_provider_display_name",
            "last_authentication",
            "identity_set",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
        prompt_values_supported: strings(&["none", "login"]),
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
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
