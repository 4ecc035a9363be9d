//! Who may see or end which token.

use crate::client::Client;
use crate::grant::TokenRecord;

/// RFC 7662 §4 leaves it to the server whom to tell about a token. Globus tells the client the
/// token was issued to and the resource server it is meant for (its audience), and nobody else:
/// anyone else gets `{"active": false}`, exactly as for an unknown token.
pub fn may_introspect(caller: &Client, token: &TokenRecord) -> bool {
    token.client_id == caller.id || caller.is_audience(&token.resource_server)
}

/// RFC 7009 §2.1: a client may revoke only tokens issued to it. A template client (the Globus
/// CLI's) also speaks for its instances: `globus logout` revokes the instance's tokens while
/// presenting the template id (spec §2.7).
pub fn may_revoke(caller: &Client, token_client: &Client) -> bool {
    token_client.id == caller.id
        || (caller.allows_templating && token_client.parent_client == Some(caller.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientType, Links, Visibility};
    use crate::grant::SubjectKind;
    use crate::secret::SecretHash;
    use crate::token::TokenKind;
    use uuid::Uuid;

    fn client(n: u128) -> Client {
        Client {
            id: Uuid::from_u128(n),
            name: "c".into(),
            client_type: ClientType::Confidential,
            visibility: Visibility::Private,
            redirect_uris: vec![],
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
            created_at: 0,
        }
    }

    fn token(issued_to: &Client, audience: &Client) -> TokenRecord {
        TokenRecord {
            hash: SecretHash::of("t"),
            kind: TokenKind::AccessToken,
            client_id: issued_to.id,
            subject: issued_to.id,
            subject_kind: SubjectKind::Client,
            resource_server: audience.resource_server(),
            scope: "s".into(),
            issued_at: 0,
            expires_at: 10,
            revoked_at: None,
            family_id: None,
            session_id: None,
            auth_time: None,
            parent: None,
            rotated_at: None,
            effective_identity: None,
        }
    }

    #[test]
    fn only_the_holder_and_the_audience_may_introspect() {
        let (portal, api, stranger) = (client(1), client(2), client(3));
        let t = token(&portal, &api);
        assert!(may_introspect(&portal, &t));
        assert!(may_introspect(&api, &t));
        assert!(!may_introspect(&stranger, &t));
    }

    #[test]
    fn only_the_holder_or_its_template_may_revoke() {
        let mut template = client(1);
        template.allows_templating = true;
        let mut instance = client(2);
        instance.parent_client = Some(template.id);
        let stranger = client(3);
        assert!(may_revoke(&instance, &instance));
        assert!(may_revoke(&template, &instance));
        assert!(!may_revoke(&stranger, &instance));
        // A non-template parent does not get to revoke its children's tokens this way.
        let mut parent = client(4);
        let mut child = client(5);
        child.parent_client = Some(parent.id);
        assert!(!may_revoke(&parent, &child));
        parent.allows_templating = true;
        assert!(may_revoke(&parent, &child));
    }
}
