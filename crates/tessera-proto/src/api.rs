//! The JSON objects and envelopes of the Globus Auth REST API (`/v2/api/*`, spec §1.3, §1.4,
//! §3, §4) and its error envelope (spec §0.3).

use serde::{Deserialize, Serialize};

/// The `code` of a Globus API error. The CLI keys behaviour on `UNAUTHORIZED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    /// The DNS evidence for a client FQDN is missing or names another client.
    FqdnNotVerified,
    InternalError,
    /// Something the server depends on (the DNS resolver) did not answer; try again.
    ServiceUnavailable,
}

impl ApiErrorCode {
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::FqdnNotVerified => 400,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::FqdnNotVerified => "FQDN_NOT_VERIFIED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad Request",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not Found",
            Self::Conflict => "Conflict",
            Self::PayloadTooLarge => "Payload Too Large",
            Self::FqdnNotVerified => "FQDN Not Verified",
            Self::InternalError => "Internal Server Error",
            Self::ServiceUnavailable => "Service Unavailable",
        }
    }
}

/// One element of `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorItem {
    pub status: String,
    pub id: String,
    pub code: String,
    pub title: String,
    pub detail: String,
}

/// The error body of `/v2/api` (the shape of the SDK's own fixture, spec §0.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorEnvelope {
    pub errors: Vec<ApiErrorItem>,
    pub error: String,
    pub error_description: String,
}

impl ApiErrorEnvelope {
    pub fn new(code: ApiErrorCode, id: String, detail: String) -> Self {
        Self {
            errors: vec![ApiErrorItem {
                status: code.status().to_string(),
                id,
                code: code.code().to_owned(),
                title: code.title().to_owned(),
                detail,
            }],
            error: code.code().to_ascii_lowercase(),
            error_description: code.title().to_owned(),
        }
    }
}

/// An identity as `/v2/api/identities` returns it (spec §1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityObject {
    pub id: String,
    pub username: String,
    pub status: String,
    pub identity_provider: String,
    pub identity_type: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientLinks {
    pub privacy_policy: Option<String>,
    pub terms_and_conditions: Option<String>,
}

/// A client as the API returns it (spec §1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientObject {
    pub id: String,
    pub name: String,
    pub public_client: bool,
    pub client_type: String,
    pub visibility: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub fqdns: Vec<String>,
    pub links: ClientLinks,
    pub parent_client: Option<String>,
    pub project: Option<String>,
    pub required_idp: Option<String>,
    pub preselect_idp: Option<String>,
    pub prompt_for_named_grant: bool,
    pub userinfo_from_effective_identity: bool,
    /// A Tessera extension: the policy of the client's project its users must satisfy.
    #[serde(default)]
    pub authentication_policy: Option<String>,
    /// Tessera extension: `opaque` (default), `jwt` (RFC 9068) or `scitoken` (SciToken/WLCG
    /// profile) access tokens for this client's scopes.
    #[serde(default = "opaque")]
    pub access_token_format: String,
}

fn opaque() -> String {
    "opaque".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependentScopeObject {
    pub scope: String,
    pub optional: bool,
    pub requires_refresh_token: bool,
}

/// A scope as the API returns it (spec §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeObject {
    pub id: String,
    pub name: String,
    pub description: String,
    pub scope_string: String,
    pub client: String,
    pub advertised: bool,
    pub allows_refresh_token: bool,
    pub required_domains: Vec<String>,
    pub dependent_scopes: Vec<DependentScopeObject>,
    /// Tessera extension: only members of these groups get the scope (absent: anyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_rule: Option<GroupRuleObject>,
}

/// A scope's group rule (Tessera extension, `group_rule` on scopes): members of any of
/// `groups` (`tessera:<group id>`, `posix:<name>`, `ldap:<name>`) get the scope, and its
/// tokens carry `capabilities` (`read:/data`, `write:/home/{username}`, `storage.read:/x`)
/// expanded per user (`{username}`, `{posix_uid}`, `{group}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupRuleObject {
    pub groups: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// The body of `POST /v2/api/clients/{id}/scopes`, inside `{"scope": …}`. Fields the SDK did
/// not pass are absent; the server's defaults apply (spec §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeCreate {
    pub name: String,
    pub description: String,
    pub scope_suffix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allows_refresh_token: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependent_scopes: Option<Vec<DependentScopeObject>>,
    /// Tessera extension: who may get the scope (see [`GroupRuleObject`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_rule: Option<GroupRuleObject>,
}

/// The body of `PUT /v2/api/scopes/{id}`: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allows_refresh_token: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependent_scopes: Option<Vec<DependentScopeObject>>,
    /// Tessera extension: a new group rule, or `null` to remove it.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_rule: Option<Option<GroupRuleObject>>,
}

/// `{"scope": …}`: the envelope every scope request and response uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeEnvelope<T> {
    pub scope: T,
}

/// A client credential (secret). `secret` is the plaintext exactly once, at creation; `null`
/// everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialObject {
    pub id: String,
    pub name: String,
    pub client: String,
    pub created: String,
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialCreate {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialEnvelope<T> {
    pub credential: T,
}

/// `{"identities": […], "groups": […]}` of a project: its admins, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectAdmins {
    pub identities: Vec<IdentityObject>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub groups: Vec<serde_json::Value>,
}

/// A project as the API returns it (spec §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectObject {
    pub id: String,
    pub display_name: String,
    /// Globus answers both names; they are the same value.
    pub project_name: String,
    pub contact_email: String,
    pub admin_ids: Vec<String>,
    pub admin_group_ids: Option<Vec<String>>,
    pub admins: ProjectAdmins,
}

/// The body of `POST /v2/api/projects`, inside `{"project": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectCreate {
    pub display_name: String,
    pub contact_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_group_ids: Option<Vec<String>>,
}

/// The body of `PUT /v2/api/projects/{id}`: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_group_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectEnvelope<T> {
    pub project: T,
}

/// An authentication policy as the API returns it (spec §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyObject {
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub description: String,
    pub high_assurance: bool,
    pub authentication_assurance_timeout: Option<i64>,
    pub required_mfa: bool,
    pub domain_constraints_include: Option<Vec<String>>,
    pub domain_constraints_exclude: Option<Vec<String>>,
}

/// The body of `POST /v2/api/policies` (all but `project_id` and `display_name` optional) and
/// of `PUT /v2/api/policies/{id}` (all optional). A `null` domain list means "no constraint".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_assurance: Option<bool>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_assurance_timeout: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_mfa: Option<bool>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_constraints_include: Option<Option<Vec<String>>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_constraints_exclude: Option<Option<Vec<String>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyEnvelope<T> {
    pub policy: T,
}

/// Absent (`None`), `null` (`Some(None)`) and a value (`Some(Some(v))`) kept apart, so a PUT can
/// clear a field.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_has_the_sdk_fixture_shape() {
        let e = ApiErrorEnvelope::new(
            ApiErrorCode::Unauthorized,
            "id-1".into(),
            "Call must be authenticated".into(),
        );
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(v["errors"][0]["status"], "401");
        assert_eq!(v["errors"][0]["code"], "UNAUTHORIZED");
        assert_eq!(v["errors"][0]["id"], "id-1");
        assert_eq!(v["error"], "unauthorized");
    }

    #[test]
    fn policy_fields_tell_absent_from_null() {
        let p: PolicyFields = serde_json::from_str(
            r#"{"display_name":"d","domain_constraints_include":null,"domain_constraints_exclude":["x.org"]}"#,
        )
        .unwrap();
        assert_eq!(p.domain_constraints_include, Some(None));
        assert_eq!(
            p.domain_constraints_exclude,
            Some(Some(vec!["x.org".into()]))
        );
        assert_eq!(p.authentication_assurance_timeout, None);
        assert!(serde_json::from_str::<PolicyFields>(r#"{"nope":1}"#).is_err());
    }

    #[test]
    fn scope_create_refuses_unknown_fields() {
        let ok: Result<ScopeCreate, _> =
            serde_json::from_str(r#"{"name":"n","description":"d","scope_suffix":"s"}"#);
        assert!(ok.is_ok());
        let bad: Result<ScopeCreate, _> =
            serde_json::from_str(r#"{"name":"n","description":"d","scope_suffix":"s","x":1}"#);
        assert!(bad.is_err());
    }
}
