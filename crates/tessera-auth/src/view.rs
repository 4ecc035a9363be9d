//! Domain values as the API shows them. Shared by the handlers and the admin commands, so the
//! operator sees exactly what `/v2/api` would return.

use tessera_core::client::Client;
use tessera_core::identity::Identity;
use tessera_proto::api::{ClientLinks, ClientObject, IdentityObject};

pub fn identity_object(i: &Identity) -> IdentityObject {
    IdentityObject {
        id: i.id.to_string(),
        username: i.username.clone(),
        status: i.status.as_str().to_owned(),
        identity_provider: i.identity_provider.to_string(),
        identity_type: i.identity_type.as_str().to_owned(),
        name: i.name.clone(),
        email: i.email.clone(),
        organization: i.organization.clone(),
    }
}

pub fn client_object(c: &Client, scope_ids: Vec<String>) -> ClientObject {
    ClientObject {
        id: c.id.to_string(),
        name: c.name.clone(),
        public_client: c.is_public(),
        client_type: c.client_type.as_str().to_owned(),
        visibility: c.visibility.as_str().to_owned(),
        redirect_uris: c.redirect_uris.clone(),
        grant_types: c
            .client_type
            .grant_types()
            .iter()
            .map(|g| (*g).to_owned())
            .collect(),
        scopes: scope_ids,
        fqdns: c.fqdns.clone(),
        links: ClientLinks {
            privacy_policy: c.links.privacy_policy.clone(),
            terms_and_conditions: c.links.terms_and_conditions.clone(),
        },
        parent_client: c.parent_client.map(|p| p.to_string()),
        project: c.project.map(|p| p.to_string()),
        required_idp: c.required_idp.map(|p| p.to_string()),
        preselect_idp: c.preselect_idp.map(|p| p.to_string()),
        prompt_for_named_grant: c.is_public(),
        userinfo_from_effective_identity: c.userinfo_from_effective_identity,
        authentication_policy: c.authentication_policy.map(|p| p.to_string()),
        access_token_format: c.access_token_format.as_str().to_owned(),
    }
}

/// An audit event as the API and `tessera admin audit` show it.
pub fn audit_object(r: &tessera_store::AuditRecord) -> serde_json::Value {
    let e = &r.event;
    serde_json::json!({
        "id": r.id,
        "time": tessera_core::clock::iso8601(e.at),
        "type": e.event,
        "actor": e.actor,
        "subject": e.subject,
        "client": e.client_id,
        "remote_addr": e.remote_addr,
        "detail": e.detail,
    })
}
