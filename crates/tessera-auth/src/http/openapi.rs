//! The OpenAPI 3.1 document of the Auth surface, generated from the handlers' `#[utoipa::path]`
//! attributes as the router is built (`utoipa_axum`'s `routes!` routes a handler and documents
//! it in one step), and served at `/openapi.json`.
//!
//! Other services routed beside Auth (transfer, groups) contribute their own
//! [`utoipa::openapi::OpenApi`] through [`super::router_with_docs`], which merges them into the
//! one served document.
//!
//! What the handlers' attributes leave out is added here once: the security schemes, and the
//! error answers every operation of a family can give (the Globus `errors[]` envelope on
//! `/v2/api`, RFC 6749 §5.2 errors on `/v2/oauth2`).

use axum::extract::Extension;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tessera_proto::api::{ApiErrorEnvelope, ClientObject, CredentialObject, IdentityObject};
use tessera_proto::api::{PolicyObject, ProjectObject, ScopeObject};
use tessera_proto::oauth::OAuthErrorBody;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// Wire shapes the handlers build as JSON values, named here for the document.
pub mod schemas {
    use super::*;

    #[derive(ToSchema)]
    pub struct ClientEnvelope {
        pub client: ClientObject,
    }

    #[derive(ToSchema)]
    pub struct ClientList {
        pub clients: Vec<ClientObject>,
    }

    /// A new client; a confidential one comes with its first secret, shown once.
    #[derive(ToSchema)]
    pub struct ClientCreated {
        pub client: ClientObject,
        pub included: Option<IncludedCredential>,
    }

    #[derive(ToSchema)]
    pub struct IncludedCredential {
        pub client_credential: CredentialObject,
    }

    #[derive(ToSchema)]
    pub struct CredentialList {
        pub credentials: Vec<CredentialObject>,
    }

    #[derive(ToSchema)]
    pub struct ScopeList {
        pub scopes: Vec<ScopeObject>,
    }

    #[derive(ToSchema)]
    pub struct ProjectList {
        pub projects: Vec<ProjectObject>,
    }

    #[derive(ToSchema)]
    pub struct PolicyList {
        pub policies: Vec<PolicyObject>,
    }

    #[derive(ToSchema)]
    pub struct IdentityList {
        pub identities: Vec<IdentityObject>,
    }

    /// A consent (spec §3.3): every key is always present.
    #[derive(ToSchema)]
    pub struct ConsentObject {
        pub id: i64,
        pub client: String,
        pub scope: String,
        pub scope_name: String,
        pub effective_identity: String,
        /// Root first, ending with this consent's own id.
        pub dependency_path: Vec<i64>,
        pub created: String,
        pub updated: String,
        pub last_used: String,
        pub status: String,
        pub allows_refresh: bool,
        pub auto_approved: bool,
        pub atomically_revocable: bool,
    }

    #[derive(ToSchema)]
    pub struct ConsentList {
        pub consents: Vec<ConsentObject>,
    }

    #[derive(ToSchema)]
    pub struct AuditEventObject {
        pub id: i64,
        pub time: String,
        #[schema(rename = "type")]
        pub event_type: String,
        pub actor: Option<String>,
        pub subject: Option<String>,
        pub client: Option<String>,
        pub remote_addr: Option<String>,
        #[schema(value_type = Object)]
        pub detail: serde_json::Value,
    }

    #[derive(ToSchema)]
    pub struct AuditList {
        pub audit_events: Vec<AuditEventObject>,
    }

    #[derive(ToSchema)]
    pub struct Status {
        pub status: String,
    }

    /// `POST /v2/oauth2/token`: the fields of each grant (RFC 6749 §4, RFC 8693, Globus
    /// dependent tokens); the client authenticates with HTTP Basic or `client_id` and
    /// `client_secret` here.
    #[derive(ToSchema)]
    pub struct TokenRequest {
        /// `client_credentials`, `authorization_code`, `refresh_token`,
        /// `urn:globus:auth:grant_type:dependent_token` or
        /// `urn:ietf:params:oauth:grant-type:token-exchange` or
        /// `urn:ietf:params:oauth:grant-type:device_code`.
        pub grant_type: String,
        /// The device code of a device grant (RFC 8628 §3.4).
        pub device_code: Option<String>,
        pub scope: Option<String>,
        pub code: Option<String>,
        pub redirect_uri: Option<String>,
        pub code_verifier: Option<String>,
        pub refresh_token: Option<String>,
        /// The token a dependent-token grant is made for.
        pub token: Option<String>,
        pub subject_token: Option<String>,
        pub subject_token_type: Option<String>,
        pub requested_token_type: Option<String>,
        pub resource: Option<String>,
        pub audience: Option<String>,
        pub access_type: Option<String>,
        pub client_id: Option<String>,
        pub client_secret: Option<String>,
    }

    /// `POST /v2/oauth2/device_authorization` (RFC 8628 §3.1).
    #[derive(ToSchema)]
    pub struct DeviceAuthorizationRequest {
        pub client_id: Option<String>,
        pub client_secret: Option<String>,
        pub scope: String,
        /// `offline` (the default for devices: refresh tokens) or `online`.
        pub access_type: Option<String>,
    }

    /// `POST /v2/oauth2/token/introspect` (RFC 7662 §2.1).
    #[derive(ToSchema)]
    pub struct IntrospectRequest {
        pub token: String,
        /// Comma-separated: `identity_set`, `identity_set_detail`, `session_info`.
        pub include: Option<String>,
        /// Comma-separated policy ids to evaluate the token's identities against.
        pub authentication_policies: Option<String>,
    }

    /// `POST /v2/oauth2/token/revoke` (RFC 7009 §2.1) and `/token/validate`.
    #[derive(ToSchema)]
    pub struct TokenOnly {
        pub token: String,
        pub token_type_hint: Option<String>,
    }
}

fn error_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
    ]
    .into_iter()
    .filter_map(|(method, op)| Some((method, op.as_mut()?)))
}

/// Handler names repeat across modules (`list`, `get`, …) and one handler may serve two
/// methods: ids get the tag in front, and the method behind when that is not enough.
fn unique_id(op: &mut Operation, method: &str, seen: &mut std::collections::HashSet<String>) {
    let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
    let mut id = match (op.operation_id.take(), tag) {
        (Some(id), Some(tag)) => format!("{tag}_{id}"),
        (Some(id), None) => id,
        (None, _) => method.to_owned(),
    };
    if seen.contains(&id) {
        id = format!("{id}_{method}");
    }
    seen.insert(id.clone());
    op.operation_id = Some(id);
}

/// Adds `errors` to an operation unless its attribute documents that status itself.
fn add_errors(op: &mut Operation, errors: &[(&str, &str)], schema: &str) {
    for (status, description) in errors {
        if !op.responses.responses.contains_key(*status) {
            op.responses.responses.insert(
                (*status).to_owned(),
                error_response(description, schema).into(),
            );
        }
    }
}

const API_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "The request is malformed or invalid (Globus `errors[]` envelope)",
    ),
    ("401", "No valid credentials"),
    ("403", "The caller may not do this"),
    ("404", "No such resource"),
];

const OAUTH_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "An RFC 6749 §5.2 error (`invalid_request`, `invalid_grant`, …)",
    ),
    ("401", "`invalid_client`: client authentication failed"),
];

/// The finished document: what the routes documented, with the schemes and shared errors.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "Tessera".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The Globus Auth compatible API of Tessera (`/v2/oauth2`, `/v2/api`), OpenID Connect \
         discovery and JWKS, and the health checks."
            .into(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for schema in [
        ("ApiErrorEnvelope", ApiErrorEnvelope::schema()),
        ("OAuthErrorBody", OAuthErrorBody::schema()),
    ] {
        components.schemas.insert(schema.0.into(), schema.1);
    }
    let mut nested = Vec::new();
    ApiErrorEnvelope::schemas(&mut nested);
    OAuthErrorBody::schemas(&mut nested);
    components.schemas.extend(nested);
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let family = if path.starts_with("/v2/api/") {
            Some((API_ERRORS, "ApiErrorEnvelope"))
        } else if path.starts_with("/v2/oauth2/token") {
            Some((OAUTH_ERRORS, "OAuthErrorBody"))
        } else {
            None
        };
        for (method, op) in operations(item) {
            unique_id(op, method, &mut ids);
            if let Some((errors, schema)) = family {
                add_errors(op, errors, schema);
            }
        }
    }
    doc
}

/// `/openapi.json` as it is served: rendered once, with a validator for caches.
#[derive(Clone)]
pub struct Rendered {
    body: bytes::Bytes,
    etag: HeaderValue,
}

impl Rendered {
    pub fn new(doc: &OpenApi) -> Self {
        // Plain data with string keys: serialising it cannot fail.
        let body = bytes::Bytes::from(serde_json::to_vec(doc).unwrap_or_default());
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"openapi\""));
        Self { body, etag }
    }
}

/// The OpenAPI document of this server (this one included).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
    )
)]
pub async fn openapi_json(
    Extension(doc): Extension<Arc<Rendered>>,
    headers: HeaderMap,
) -> Response {
    let cache = [
        (header::ETAG, doc.etag.clone()),
        // The document changes only with the server's version; caches revalidate hourly.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
    ];
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == doc.etag.to_str().unwrap_or_default() || t.trim() == "*");
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.body.clone(),
    )
        .into_response()
}
