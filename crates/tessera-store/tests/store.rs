#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One store test suite, run against SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set)
//! PostgreSQL. Each test gets its own SQLite file and its own PostgreSQL database.

mod common;
use common::{each_backend, fresh_pg, PG_ENV};
use std::sync::Arc;
use tessera_core::auth_policy::AuthPolicy;
use tessera_core::client::{Client, ClientCredential, ClientType, Links, Visibility};
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::identity::{Identity, IdentityStatus, IdentityType, LOCAL_IDP_ID};
use tessera_core::project::Project;
use tessera_core::random::{SecureRandom, SeededRandom};
use tessera_core::scope::{DependentScope, Scope};
use tessera_core::secret::SecretHash;
use tessera_core::token::TokenKind;
use tessera_store::{seed_defaults, Store, StoreError, StoredKey, TokenWriter};
use uuid::Uuid;

/// Runs `body` once per available backend.
fn client(id: Uuid, name: &str) -> Client {
    Client {
        id,
        name: name.into(),
        client_type: ClientType::Confidential,
        visibility: Visibility::Private,
        redirect_uris: vec!["https://portal.example.org/cb".into()],
        fqdns: vec![],
        links: Links {
            privacy_policy: Some("https://p".into()),
            terms_and_conditions: None,
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
        created_at: 1_000,
    }
}

/// The `all` scope of resource server `owner`, with no domains or dependents.
fn all_scope(owner: Uuid) -> Scope {
    Scope {
        id: Uuid::new_v4(),
        client_id: owner,
        resource_server: owner.to_string(),
        scope_string: format!("https://auth.globus.org/scopes/{owner}/all"),
        name: "All".into(),
        description: "Everything".into(),
        advertised: false,
        allows_refresh_token: true,
        required_domains: vec![],
        dependent_scopes: vec![],
        created_at: 3,
        group_rule: None,
    }
}

fn identity(username: &str) -> Identity {
    Identity {
        id: Uuid::new_v4(),
        username: username.into(),
        name: Some("Alice".into()),
        email: None,
        organization: Some("Org".into()),
        identity_provider: LOCAL_IDP_ID,
        identity_type: IdentityType::Login,
        status: IdentityStatus::Used,
        created_at: 5,
    }
}

fn token(client_id: Uuid, rng: &SeededRandom) -> TokenRecord {
    let (_, hash) = TokenKind::AccessToken.generate(rng);
    TokenRecord {
        hash,
        kind: TokenKind::AccessToken,
        client_id,
        subject: client_id,
        subject_kind: SubjectKind::Client,
        resource_server: "rs".into(),
        scope: "a b".into(),
        issued_at: 10,
        expires_at: 20,
        revoked_at: None,
        family_id: None,
        session_id: None,
        auth_time: None,
        parent: None,
        rotated_at: None,
        effective_identity: None,
    }
}

#[tokio::test]
async fn identities_round_trip_and_usernames_are_unique_case_insensitively() {
    each_backend("store", |store| async move {
        let alice = identity("Alice@Example.org");
        store
            .insert_identity(&alice, Some("$argon2id$..."))
            .await
            .unwrap();
        let dup = identity("alice@EXAMPLE.org");
        assert!(matches!(
            store.insert_identity(&dup, None).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.identities_by_ids(&[alice.id]).await.unwrap(),
            vec![alice.clone()]
        );
        let by_name = store
            .identities_by_usernames(&["alice@example.org".into()])
            .await
            .unwrap();
        assert_eq!(by_name, vec![alice.clone()]);
        assert!(store
            .identities_by_ids(&[Uuid::new_v4()])
            .await
            .unwrap()
            .is_empty());
        assert!(store.identities_by_usernames(&[]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn clients_and_credentials() {
    each_backend("store", |store| async move {
        let c = client(Uuid::new_v4(), "portal");
        store.insert_client(&c).await.unwrap();
        assert!(matches!(
            store.insert_client(&c).await,
            Err(StoreError::Conflict(_))
        ));
        store.seed_client(&c).await.unwrap(); // seeding an existing id is a no-op
        assert_eq!(store.client(c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(store.client(Uuid::new_v4()).await.unwrap(), None);

        let cred = ClientCredential {
            id: Uuid::new_v4(),
            client_id: c.id,
            name: "first".into(),
            secret_hash: SecretHash::of("s1"),
            created_at: 7,
        };
        store.insert_credential(&cred).await.unwrap();
        assert_eq!(store.credentials(c.id).await.unwrap(), vec![cred.clone()]);
        // A credential is deleted only through its own client.
        assert_eq!(
            store
                .delete_credential(Uuid::new_v4(), cred.id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.delete_credential(c.id, cred.id).await.unwrap(),
            Some(cred.clone())
        );
        assert!(store.credentials(c.id).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn scopes_crud_and_unique_scope_strings() {
    each_backend("store", |store| async move {
        let owner = client(Uuid::new_v4(), "rs");
        store.insert_client(&owner).await.unwrap();
        let dep_id = Uuid::new_v4();
        let mut s = Scope {
            required_domains: vec!["example.org".into()],
            dependent_scopes: vec![DependentScope {
                scope_id: dep_id,
                optional: true,
                requires_refresh_token: false,
            }],
            ..all_scope(owner.id)
        };
        store.insert_scope(&s).await.unwrap();
        let mut again = s.clone();
        again.id = Uuid::new_v4();
        assert!(matches!(
            store.insert_scope(&again).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.scopes_by_ids(&[s.id]).await.unwrap(), vec![s.clone()]);
        assert_eq!(
            store
                .scopes_by_strings(&[s.scope_string.clone()])
                .await
                .unwrap(),
            vec![s.clone()]
        );
        assert_eq!(
            store.scopes_of_client(owner.id).await.unwrap(),
            vec![s.clone()]
        );

        s.name = "Renamed".into();
        s.dependent_scopes.clear();
        assert!(store.update_scope(&s).await.unwrap());
        assert_eq!(store.scopes_by_ids(&[s.id]).await.unwrap(), vec![s.clone()]);
        // A group rule is stored, read back, and removed by an update.
        s.group_rule = Some(tessera_core::scope_rule::GroupRule {
            groups: vec!["posix:cms".into(), "ldap:physics".into()],
            capabilities: vec!["read:/data".into(), "write:/home/{username}".into()],
        });
        assert!(store.update_scope(&s).await.unwrap());
        assert_eq!(store.all_scopes().await.unwrap(), vec![s.clone()]);
        s.group_rule = None;
        assert!(store.update_scope(&s).await.unwrap());
        assert_eq!(store.scopes_by_ids(&[s.id]).await.unwrap(), vec![s.clone()]);
        assert!(store.delete_scope(s.id).await.unwrap());
        assert!(!store.delete_scope(s.id).await.unwrap());
        assert!(!store.update_scope(&s).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn seeding_is_idempotent() {
    each_backend("store", |store| async move {
        seed_defaults(store.as_ref(), 1).await.unwrap();
        let first = store.all_scopes().await.unwrap();
        seed_defaults(store.as_ref(), 2).await.unwrap();
        let second = store.all_scopes().await.unwrap();
        assert_eq!(first, second);
        assert!(first
            .iter()
            .any(|s| s.scope_string == "openid" && s.resource_server == "auth.globus.org"));
        let cli = tessera_core::seed::CLI_TEMPLATES[0].1;
        assert!(store.client(cli).await.unwrap().unwrap().allows_templating);
    })
    .await;
}

#[tokio::test]
async fn tokens_insert_lookup_revoke() {
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(rand::random());
        let owner = Uuid::new_v4();
        // More than one statement's worth (64 rows): the transaction path.
        let batch: Vec<_> = (0..150).map(|_| token(owner, &rng)).collect();
        store.insert_tokens(&batch).await.unwrap();
        for t in [&batch[0], &batch[149]] {
            assert_eq!(store.token(&t.hash).await.unwrap().as_ref(), Some(t));
        }
        assert!(store.revoke_token(&batch[0].hash, 15).await.unwrap());
        assert!(
            !store.revoke_token(&batch[0].hash, 16).await.unwrap(),
            "revoking twice changes nothing"
        );
        assert_eq!(
            store
                .token(&batch[0].hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(15)
        );
        assert!(!store
            .revoke_token(&SecretHash::of("unknown"), 1)
            .await
            .unwrap());
        assert_eq!(store.token(&SecretHash::of("unknown")).await.unwrap(), None);
        // A batch with a duplicate hash is refused whole.
        let fresh = token(owner, &rng);
        let dup = vec![fresh.clone(), batch[1].clone()];
        assert!(store.insert_tokens(&dup).await.is_err());
        assert_eq!(store.token(&fresh.hash).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn group_commit_writer_stores_concurrent_batches() {
    each_backend("store", |store| async move {
        let writer = TokenWriter::spawn(store.clone());
        let rng = Arc::new(SeededRandom::new(rand::random()));
        let owner = rng.uuid_v4();
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (writer, rng) = (writer.clone(), rng.clone());
            tasks.push(tokio::spawn(async move {
                let t = token(owner, &rng);
                writer.write(vec![t.clone()]).await.unwrap();
                t
            }));
        }
        for task in tasks {
            let t = task.await.unwrap();
            assert_eq!(store.token(&t.hash).await.unwrap(), Some(t));
        }
    })
    .await;
}

#[tokio::test]
async fn signing_keys_are_kept_in_order_and_redacted_in_debug() {
    each_backend("store", |store| async move {
        let k1 = StoredKey {
            kid: "a".into(),
            algorithm: "RS512".into(),
            private_pem: "PEM-SECRET".into(),
            created_at: 1,
            activates_at: 1,
        };
        let k2 = StoredKey {
            kid: "b".into(),
            algorithm: "RS512".into(),
            private_pem: "PEM2".into(),
            created_at: 2,
            activates_at: 2,
        };
        store.insert_signing_key(&k2).await.unwrap();
        store.insert_signing_key(&k1).await.unwrap();
        assert_eq!(store.signing_keys().await.unwrap(), vec![k1.clone(), k2]);
        assert!(!format!("{k1:?}").contains("PEM-SECRET"));
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_signing_key_is_added_once_however_many_nodes_rotate_at_once() {
    each_backend("store", |store| async move {
        let key = |kid: &str, alg: &str, created: i64, activates: i64| StoredKey {
            kid: kid.into(),
            algorithm: alg.into(),
            private_pem: format!("PEM-{kid}"),
            created_at: created,
            activates_at: activates,
        };
        // First key: added unless any key of the algorithm exists.
        assert!(store
            .add_signing_key(&key("a", "ES256", 10, 10), i64::MIN, 10)
            .await
            .unwrap());
        assert!(!store
            .add_signing_key(&key("a2", "ES256", 10, 10), i64::MIN, 10)
            .await
            .unwrap());
        // Another algorithm is another key family.
        assert!(store
            .add_signing_key(&key("r", "RS512", 10, 10), i64::MIN, 10)
            .await
            .unwrap());
        // Eight nodes rotate at once: one next key.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .add_signing_key(&key(&format!("n{i}"), "ES256", 100, 150), 50, 100)
                    .await
                    .unwrap()
            }));
        }
        let mut added = 0;
        for t in tasks {
            added += usize::from(t.await.unwrap());
        }
        assert_eq!(added, 1);
        // While it waits to activate no other is added, even past the interval.
        assert!(!store
            .add_signing_key(&key("x", "ES256", 140, 190), i64::MAX, 140)
            .await
            .unwrap());
        assert_eq!(store.signing_keys().await.unwrap().len(), 3);
        // Sealing replaces material only if it is unchanged; deleting removes the row.
        assert!(store
            .replace_key_material("a", "PEM-a", "sealed")
            .await
            .unwrap());
        assert!(!store
            .replace_key_material("a", "PEM-a", "other")
            .await
            .unwrap());
        assert!(store.delete_signing_key("a").await.unwrap());
        let left: Vec<String> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&"a".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn an_emergency_rotation_replaces_every_key_of_the_family_in_one_step() {
    each_backend("store", |store| async move {
        let key = |kid: &str, alg: &str, at: i64| StoredKey {
            kid: kid.into(),
            algorithm: alg.into(),
            private_pem: format!("PEM-{kid}"),
            created_at: at,
            activates_at: at,
        };
        for k in [
            key("old", "ES256", 1),
            key("next", "ES256", 50),
            key("ed", "EdDSA", 2),
            key("rsa", "RS512", 1),
        ] {
            store.insert_signing_key(&k).await.unwrap();
        }
        let mut removed = store
            .replace_signing_keys(&["ES256", "EdDSA"], &key("fresh", "ES256", 60))
            .await
            .unwrap();
        removed.sort();
        assert_eq!(removed, vec!["ed", "next", "old"]);
        let left: Vec<String> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(left, vec!["rsa", "fresh"], "the other family is untouched");
        // A kid already stored refuses the whole step: nothing is deleted.
        assert!(store
            .replace_signing_keys(&["RS512"], &key("fresh", "RS512", 70))
            .await
            .is_err());
        assert_eq!(store.signing_keys().await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn codes_are_claimed_once_and_pending_requests_round_trip() {
    use tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
    each_backend("store", |store| async move {
        let p = PendingAuthorization {
            id: Uuid::new_v4(),
            client_id: Uuid::new_v4(),
            redirect_uri: "http://127.0.0.1:1/".into(),
            scope: "openid profile".into(),
            state: Some("_default".into()),
            code_challenge: None,
            nonce: Some("n".into()),
            offline: true,
            force_login: true,
            created_at: 1,
            expires_at: 2,
        };
        store.insert_pending(&p).await.unwrap();
        assert_eq!(store.pending(p.id).await.unwrap(), Some(p.clone()));
        store.delete_pending(p.id).await.unwrap();
        assert_eq!(store.pending(p.id).await.unwrap(), None);

        let c = AuthorizationCode {
            hash: SecretHash::of(&Uuid::new_v4().to_string()),
            client_id: p.client_id,
            redirect_uri: p.redirect_uri.clone(),
            scope: p.scope.clone(),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            identity_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            auth_time: 5,
            offline: true,
            nonce: None,
            family_id: Uuid::new_v4(),
            created_at: 5,
            expires_at: 605,
            exchanged_at: None,
            effective_identity: None,
        };
        store.insert_code(&c).await.unwrap();
        assert_eq!(store.code(&c.hash).await.unwrap(), Some(c.clone()));
        assert!(store.claim_code(&c.hash, 10).await.unwrap());
        assert!(
            !store.claim_code(&c.hash, 11).await.unwrap(),
            "a code is claimed once"
        );
        assert_eq!(
            store.code(&c.hash).await.unwrap().unwrap().exchanged_at,
            Some(10)
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_round_trip_and_revoke() {
    use tessera_core::session::BrowserSession;
    each_backend("store", |store| async move {
        let s = BrowserSession {
            id: Uuid::new_v4(),
            hash: SecretHash::of(&Uuid::new_v4().to_string()),
            identity_id: Uuid::new_v4(),
            auth_time: 3,
            created_at: 3,
            expires_at: 100,
            revoked_at: None,
        };
        store.insert_session(&s).await.unwrap();
        assert_eq!(store.session(&s.hash).await.unwrap(), Some(s.clone()));
        store.revoke_session(&s.hash, 7).await.unwrap();
        assert_eq!(
            store.session(&s.hash).await.unwrap().unwrap().revoked_at,
            Some(7)
        );
    })
    .await;
}

#[tokio::test]
async fn consent_trees_get_paths_root_first() {
    use tessera_store::{ConsentParent, NewConsent};
    each_backend("store", |store| async move {
        let (who, app, rs) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let nodes = vec![
            NewConsent {
                client_id: app,
                scope_id: Uuid::new_v4(),
                scope_string: "a".into(),
                parent: ConsentParent::Root,
                allows_refresh: true,
            },
            NewConsent {
                client_id: rs,
                scope_id: Uuid::new_v4(),
                scope_string: "b".into(),
                parent: ConsentParent::New(0),
                allows_refresh: true,
            },
        ];
        let mut made = store.insert_consents(who, &nodes, 9).await.unwrap();
        assert_eq!(made[1].dependency_path, vec![made[0].id, made[1].id]);
        // Later, a deeper dependency under the existing tree.
        let deeper = NewConsent {
            client_id: rs,
            scope_id: Uuid::new_v4(),
            scope_string: "c".into(),
            parent: ConsentParent::Existing(made[1].dependency_path.clone()),
            allows_refresh: false,
        };
        made.extend(store.insert_consents(who, &[deeper], 10).await.unwrap());
        assert_eq!(
            made[2].dependency_path,
            vec![made[0].id, made[1].id, made[2].id]
        );
        assert_eq!(store.consents_of(who).await.unwrap(), made);
        store
            .delete_consents(&[made[1].id, made[2].id])
            .await
            .unwrap();
        assert_eq!(store.consents_of(who).await.unwrap(), vec![made[0].clone()]);
        assert!(store.consents_of(Uuid::new_v4()).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn token_families_children_and_rotation() {
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(rand::random());
        let owner = Uuid::new_v4();
        let family = Uuid::new_v4();
        let mut rt = token(owner, &rng);
        rt.kind = TokenKind::RefreshToken;
        rt.family_id = Some(family);
        let mut child = token(owner, &rng);
        child.family_id = Some(family);
        child.parent = Some(rt.hash);
        let mut other = token(owner, &rng);
        other.subject_kind = SubjectKind::Identity; // tokens_for lists people's tokens only
        let cc = token(owner, &rng);
        store
            .insert_tokens(&[rt.clone(), child.clone(), other.clone(), cc])
            .await
            .unwrap();

        assert!(store.mark_rotated(&rt.hash, 12).await.unwrap());
        assert!(
            !store.mark_rotated(&rt.hash, 13).await.unwrap(),
            "rotated once"
        );
        assert_eq!(
            store.revoke_children(&rt.hash, 14).await.unwrap(),
            vec![child.hash]
        );
        let mut revoked = store.revoke_family(family, 15).await.unwrap();
        revoked.sort_by_key(|h| *h.as_bytes());
        assert_eq!(revoked, vec![rt.hash], "the child was revoked already");
        store.extend_token(&other.hash, 99).await.unwrap();
        let live = store.tokens_for(owner, owner).await.unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].expires_at, 99);
    })
    .await;
}

#[tokio::test]
async fn identity_sets_link_merge_and_unlink() {
    each_backend("store", |store| async move {
        let (a, b, c) = (
            identity("a@example.org"),
            identity("b@example.org"),
            identity("c@example.org"),
        );
        for i in [&a, &b, &c] {
            store.insert_identity(i, None).await.unwrap();
        }
        let ids = |v: Vec<Identity>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.identity_set(a.id).await.unwrap()),
            vec![a.id],
            "alone at first"
        );
        store.link_identities(a.id, b.id, 10).await.unwrap();
        let mut set = ids(store.identity_set(b.id).await.unwrap());
        set.sort();
        let mut want = vec![a.id, b.id];
        want.sort();
        assert_eq!(set, want);
        // Linking c from b's side brings c into the same set.
        store.link_identities(b.id, c.id, 11).await.unwrap();
        assert_eq!(store.identity_set(a.id).await.unwrap().len(), 3);
        store.link_identities(a.id, c.id, 12).await.unwrap(); // already linked: no change
        assert_eq!(store.identity_set(c.id).await.unwrap().len(), 3);
        store.unlink_identity(b.id).await.unwrap();
        assert_eq!(ids(store.identity_set(b.id).await.unwrap()), vec![b.id]);
        assert_eq!(store.identity_set(a.id).await.unwrap().len(), 2);
    })
    .await;
}

fn project(id: u128, admins: &[Uuid], at: i64) -> Project {
    Project {
        id: Uuid::from_u128(id),
        display_name: format!("Project {id}"),
        contact_email: "dev@example.org".into(),
        admin_ids: admins.to_vec(),
        admin_group_ids: None,
        created_at: at,
    }
}

fn policy(id: u128, project: Uuid, at: i64) -> AuthPolicy {
    AuthPolicy {
        id: Uuid::from_u128(id),
        project_id: project,
        display_name: "Example only".into(),
        description: "identities from example.org".into(),
        high_assurance: false,
        authentication_assurance_timeout: Some(3600),
        required_mfa: false,
        domain_constraints_include: Some(vec!["example.org".into()]),
        domain_constraints_exclude: None,
        created_at: at,
    }
}

fn audit_event(at: i64, event: &str, actor: Option<Uuid>) -> tessera_store::AuditEvent {
    tessera_store::AuditEvent {
        at,
        event: event.into(),
        actor,
        subject: actor,
        client_id: None,
        remote_addr: Some("127.0.0.1".into()),
        detail: serde_json::json!({"username": "alice@example.org", "n": at}),
    }
}

#[tokio::test]
async fn projects_by_admin_update_and_delete_only_when_empty() {
    each_backend("store", |store| async move {
        let (a, b, c) = (
            Uuid::from_u128(101),
            Uuid::from_u128(102),
            Uuid::from_u128(103),
        );
        let p1 = project(1, &[a], 10);
        let mut p2 = project(2, &[a, b], 11);
        p2.admin_group_ids = Some(vec![Uuid::from_u128(55)]);
        store.insert_project(&p1).await.unwrap();
        store.insert_project(&p2).await.unwrap();
        assert!(matches!(
            store.insert_project(&p1).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.project(p2.id).await.unwrap(), Some(p2.clone()));
        let ids = |v: Vec<Project>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.projects_of_admins(&[a]).await.unwrap()),
            vec![p1.id, p2.id]
        );
        assert_eq!(
            ids(store.projects_of_admins(&[b, c]).await.unwrap()),
            vec![p2.id]
        );
        assert!(store.projects_of_admins(&[c]).await.unwrap().is_empty());
        assert!(store.projects_of_admins(&[]).await.unwrap().is_empty());
        // Admin groups are found by group, and follow updates.
        let (g55, g56) = (Uuid::from_u128(55), Uuid::from_u128(56));
        assert_eq!(
            ids(store.projects_of_admin_groups(&[g56, g55]).await.unwrap()),
            vec![p2.id]
        );
        assert!(store
            .projects_of_admin_groups(&[g56])
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .projects_of_admin_groups(&[])
            .await
            .unwrap()
            .is_empty());
        let mut regrouped = p2.clone();
        regrouped.admin_group_ids = Some(vec![g56]);
        assert!(store.update_project(&regrouped).await.unwrap());
        assert!(store
            .projects_of_admin_groups(&[g55])
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            ids(store.projects_of_admin_groups(&[g56]).await.unwrap()),
            vec![p2.id]
        );
        assert!(store.update_project(&p2).await.unwrap());

        // New admins replace the old ones.
        let mut changed = p1.clone();
        changed.display_name = "Renamed".into();
        changed.admin_ids = vec![c];
        assert!(store.update_project(&changed).await.unwrap());
        assert_eq!(store.project(p1.id).await.unwrap(), Some(changed.clone()));
        assert_eq!(
            ids(store.projects_of_admins(&[a]).await.unwrap()),
            vec![p2.id]
        );
        assert_eq!(
            ids(store.projects_of_admins(&[c]).await.unwrap()),
            vec![p1.id]
        );
        assert!(!store.update_project(&project(9, &[a], 0)).await.unwrap());

        // A project with a client or a policy stays.
        let mut cl = client(Uuid::from_u128(201), "in project");
        cl.project = Some(p1.id);
        store.insert_client(&cl).await.unwrap();
        assert_eq!(
            store.clients_of_project(p1.id).await.unwrap(),
            vec![cl.clone()]
        );
        assert!(matches!(
            store.delete_project(p1.id).await,
            Err(StoreError::Conflict(_))
        ));
        let pol = policy(301, p2.id, 12);
        store.insert_policy(&pol).await.unwrap();
        assert!(matches!(
            store.delete_project(p2.id).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.delete_policy(pol.id).await.unwrap());
        assert!(store.delete_project(p2.id).await.unwrap());
        assert!(!store.delete_project(p2.id).await.unwrap(), "gone already");
        assert_eq!(store.project(p2.id).await.unwrap(), None);
        assert!(store.projects_of_admins(&[b]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn policies_round_trip_and_clients_keep_theirs() {
    each_backend("store", |store| async move {
        let p = project(1, &[Uuid::from_u128(7)], 10);
        let other = project(2, &[Uuid::from_u128(7)], 11);
        store.insert_project(&p).await.unwrap();
        store.insert_project(&other).await.unwrap();
        let pol = policy(301, p.id, 12);
        let mut open = policy(302, other.id, 13);
        open.domain_constraints_include = None;
        open.domain_constraints_exclude = Some(vec!["other.org".into()]);
        store.insert_policy(&pol).await.unwrap();
        store.insert_policy(&open).await.unwrap();
        assert_eq!(store.policy(pol.id).await.unwrap(), Some(pol.clone()));
        assert_eq!(store.policy(open.id).await.unwrap(), Some(open.clone()));
        assert_eq!(
            store.policies_of_projects(&[other.id, p.id]).await.unwrap(),
            vec![pol.clone(), open.clone()]
        );
        let mut changed = pol.clone();
        changed.domain_constraints_include = Some(vec!["*.example.org".into()]);
        changed.authentication_assurance_timeout = None;
        changed.high_assurance = true;
        assert!(store.update_policy(&changed).await.unwrap());
        assert_eq!(store.policy(pol.id).await.unwrap(), Some(changed));

        // A client adopts the policy; the policy cannot go while it does.
        let mut cl = client(Uuid::from_u128(201), "portal");
        cl.project = Some(p.id);
        store.insert_client(&cl).await.unwrap();
        cl.authentication_policy = Some(pol.id);
        cl.required_idp = Some(LOCAL_IDP_ID);
        cl.userinfo_from_effective_identity = false;
        cl.name = "portal 2".into();
        cl.redirect_uris = vec!["https://portal.example.org/cb".into()];
        assert!(store.update_client(&cl).await.unwrap());
        assert_eq!(store.client(cl.id).await.unwrap(), Some(cl.clone()));
        assert!(matches!(
            store.delete_policy(pol.id).await,
            Err(StoreError::Conflict(_))
        ));
        cl.authentication_policy = None;
        assert!(store.update_client(&cl).await.unwrap());
        assert!(store.delete_policy(pol.id).await.unwrap());
        assert_eq!(store.policy(pol.id).await.unwrap(), None);
        assert!(!store
            .update_client(&client(Uuid::from_u128(999), "x"))
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test]
async fn effective_identities_are_kept_on_tokens_codes_and_consents() {
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(5);
        let owner = Uuid::from_u128(1);
        store.insert_client(&client(owner, "portal")).await.unwrap();
        let mut t = token(owner, &rng);
        t.subject_kind = SubjectKind::Identity;
        t.effective_identity = Some(Uuid::from_u128(77));
        store.insert_tokens(std::slice::from_ref(&t)).await.unwrap();
        let back = store.token(&t.hash).await.unwrap().unwrap();
        assert_eq!(back, t);
        assert_eq!(back.effective_subject(), Uuid::from_u128(77));

        let alice = identity("alice@example.org");
        store.insert_identity(&alice, None).await.unwrap();
        seed_defaults(store.as_ref(), 1).await.unwrap();
        let scope = store.all_scopes().await.unwrap().remove(0);
        let made = store
            .insert_consents_as(
                alice.id,
                Some(Uuid::from_u128(77)),
                &[tessera_store::NewConsent {
                    client_id: owner,
                    scope_id: scope.id,
                    scope_string: scope.scope_string.clone(),
                    parent: tessera_store::ConsentParent::Root,
                    allows_refresh: true,
                }],
                20,
            )
            .await
            .unwrap();
        assert_eq!(made[0].effective_identity, Some(Uuid::from_u128(77)));
        assert_eq!(store.consents_of(alice.id).await.unwrap(), made);
    })
    .await;
}

#[tokio::test]
async fn fqdns_are_unique_ordered_and_rename_the_resource_server() {
    each_backend("store", |store| async move {
        let owner = client(Uuid::new_v4(), "rs");
        let other = client(Uuid::new_v4(), "other");
        store.insert_client(&owner).await.unwrap();
        store.insert_client(&other).await.unwrap();
        let scope = all_scope(owner.id);
        store.insert_scope(&scope).await.unwrap();
        let rs_of_scope = || async {
            store.scopes_by_ids(&[scope.id]).await.unwrap()[0]
                .resource_server
                .clone()
        };

        let c = store
            .add_fqdn(owner.id, "a.example.org", 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.fqdns, ["a.example.org"]);
        assert_eq!(rs_of_scope().await, "a.example.org");
        let c = store
            .add_fqdn(owner.id, "b.example.org", 6)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.fqdns, ["a.example.org", "b.example.org"]);
        assert_eq!(
            store.client(owner.id).await.unwrap().unwrap().fqdns,
            c.fqdns
        );
        assert_eq!(rs_of_scope().await, "a.example.org");

        // One owner per name, the same client included.
        for who in [other.id, owner.id] {
            assert!(matches!(
                store.add_fqdn(who, "a.example.org", 7).await,
                Err(StoreError::Conflict(_))
            ));
        }
        assert!(store
            .add_fqdn(Uuid::new_v4(), "c.example.org", 7)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            store
                .client_by_fqdn("b.example.org")
                .await
                .unwrap()
                .map(|c| c.id),
            Some(owner.id)
        );
        assert!(store
            .client_by_fqdn("c.example.org")
            .await
            .unwrap()
            .is_none());

        // Removing the first name hands the resource server to the next one.
        assert!(store
            .remove_fqdn(other.id, "a.example.org")
            .await
            .unwrap()
            .is_none());
        let c = store
            .remove_fqdn(owner.id, "a.example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.fqdns, ["b.example.org"]);
        assert_eq!(rs_of_scope().await, "b.example.org");
        let c = store
            .remove_fqdn(owner.id, "b.example.org")
            .await
            .unwrap()
            .unwrap();
        assert!(c.fqdns.is_empty());
        assert_eq!(rs_of_scope().await, owner.id.to_string());
        // A freed name can be claimed by another client.
        let o = store
            .add_fqdn(other.id, "a.example.org", 8)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.fqdns, ["a.example.org"]);
    })
    .await;
}

#[tokio::test]
async fn audit_events_are_appended_and_read_newest_first_with_filters() {
    each_backend("store", |store| async move {
        let alice = Uuid::new_v4();
        assert!(store
            .audit_events(&tessera_store::AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty());
        let events: Vec<_> = (0..300)
            .map(|i| {
                let kind = if i % 3 == 0 {
                    "sign_in_failed"
                } else {
                    "token_issued"
                };
                audit_event(1_000 + i, kind, (i % 2 == 0).then_some(alice))
            })
            .collect();
        // More rows than one statement takes: the insert is chunked in one transaction.
        store.insert_audit(&events).await.unwrap();
        store.insert_audit(&[]).await.unwrap();

        let q = |since, event: Option<&str>, before_id, limit| tessera_store::AuditQuery {
            since,
            event: event.map(str::to_owned),
            before_id,
            limit,
        };
        let newest = store.audit_events(&q(None, None, None, 5)).await.unwrap();
        assert_eq!(newest.len(), 5);
        assert_eq!(newest[0].event, events[299], "round trip, newest first");
        assert!(newest.windows(2).all(|w| w[0].id > w[1].id));

        let failed = store
            .audit_events(&q(None, Some("sign_in_failed"), None, 1000))
            .await
            .unwrap();
        assert_eq!(failed.len(), 100);
        assert!(failed.iter().all(|r| r.event.event == "sign_in_failed"));

        let recent = store
            .audit_events(&q(Some(1_290), None, None, 1000))
            .await
            .unwrap();
        assert_eq!(recent.len(), 10);
        assert!(recent.iter().all(|r| r.event.at >= 1_290));

        let page2 = store
            .audit_events(&q(None, None, Some(newest[4].id), 3))
            .await
            .unwrap();
        assert_eq!(
            page2[0].event, events[294],
            "the next page starts below `before`"
        );

        // The limit is capped, never unbounded.
        let all = store
            .audit_events(&q(None, None, None, u32::MAX))
            .await
            .unwrap();
        assert_eq!(all.len(), 300);
        let capped = store.audit_events(&q(None, None, None, 0)).await.unwrap();
        assert_eq!(capped.len(), 1, "a limit of 0 reads one, not everything");
    })
    .await;
}

#[tokio::test]
async fn cleanup_deletes_rows_past_their_margin_in_batches_and_keeps_the_rest() {
    use tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
    use tessera_core::session::BrowserSession;
    use tessera_store::maintenance::{purge_expired, Purged, CODE_MARGIN_S, TOKEN_MARGIN_S};
    const NOW: i64 = 1_000_000;
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(rand::random());
        let owner = Uuid::new_v4();
        let expired: Vec<_> = (0..2500).map(|_| token(owner, &rng)).collect();
        store.insert_tokens(&expired).await.unwrap();
        let mut live = token(owner, &rng);
        live.expires_at = NOW + 10;
        // Expired, but within the margin.
        let mut recent = token(owner, &rng);
        recent.expires_at = NOW - TOKEN_MARGIN_S + 60;
        // A rotated and revoked refresh token that has not expired: reuse detection needs it.
        let mut rotated = token(owner, &rng);
        rotated.kind = TokenKind::RefreshToken;
        rotated.family_id = Some(Uuid::new_v4());
        rotated.rotated_at = Some(NOW - 100);
        rotated.revoked_at = Some(NOW - 50);
        rotated.expires_at = NOW + 3600;
        store
            .insert_tokens(&[live.clone(), recent.clone(), rotated.clone()])
            .await
            .unwrap();

        let code = |expires_at: i64| AuthorizationCode {
            hash: SecretHash::of(&Uuid::new_v4().to_string()),
            client_id: owner,
            redirect_uri: "http://127.0.0.1:1/".into(),
            scope: "openid".into(),
            code_challenge: None,
            identity_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            auth_time: 5,
            offline: false,
            nonce: None,
            family_id: Uuid::new_v4(),
            effective_identity: None,
            created_at: expires_at - 600,
            expires_at,
            exchanged_at: Some(expires_at - 590),
        };
        let (old_code, used_code) = (code(NOW - CODE_MARGIN_S - 1), code(NOW - 7200));
        store.insert_code(&old_code).await.unwrap();
        store.insert_code(&used_code).await.unwrap();
        let pending = |id: Uuid, expires_at: i64| PendingAuthorization {
            id,
            client_id: owner,
            redirect_uri: "http://127.0.0.1:1/".into(),
            scope: "openid".into(),
            state: None,
            code_challenge: None,
            nonce: None,
            offline: false,
            force_login: false,
            created_at: expires_at - 1800,
            expires_at,
        };
        let (gone, waiting) = (Uuid::new_v4(), Uuid::new_v4());
        store.insert_pending(&pending(gone, 10)).await.unwrap();
        store
            .insert_pending(&pending(waiting, NOW + 60))
            .await
            .unwrap();
        let session = |expires_at: i64| BrowserSession {
            id: Uuid::new_v4(),
            hash: SecretHash::of(&Uuid::new_v4().to_string()),
            identity_id: Uuid::new_v4(),
            auth_time: 3,
            created_at: 3,
            expires_at,
            revoked_at: None,
        };
        let (old_session, current) = (session(20), session(NOW + 60));
        store.insert_session(&old_session).await.unwrap();
        store.insert_session(&current).await.unwrap();

        let purged = purge_expired(store.as_ref(), NOW, 0, 1000, std::time::Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            purged,
            Purged {
                tokens: 2500,
                authorization_codes: 1,
                pending_authorizations: 1,
                sessions: 1,
                audit_events: 0,
                ..Purged::default()
            }
        );
        for t in [&live, &recent, &rotated] {
            assert!(store.token(&t.hash).await.unwrap().is_some());
        }
        assert!(store.token(&expired[0].hash).await.unwrap().is_none());
        assert!(store.code(&old_code.hash).await.unwrap().is_none());
        assert!(
            store.code(&used_code.hash).await.unwrap().is_some(),
            "a used code is kept a day, so a late replay still revokes its tokens"
        );
        assert!(store.pending(gone).await.unwrap().is_none());
        assert!(store.pending(waiting).await.unwrap().is_some());
        assert!(store.session(&old_session.hash).await.unwrap().is_none());
        assert!(store.session(&current.hash).await.unwrap().is_some());
        let again = purge_expired(store.as_ref(), NOW, 0, 1000, std::time::Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.total(), 0);
    })
    .await;
}

#[tokio::test]
async fn cleanup_deletes_audit_events_older_than_the_retention_in_batches_and_zero_keeps_them() {
    use tessera_store::maintenance::{purge_expired, Purged, DEFAULT_AUDIT_RETENTION_S};
    const NOW: i64 = 2_000_000_000;
    const KEEP: i64 = DEFAULT_AUDIT_RETENTION_S;
    let all = |store: Arc<dyn Store>| async move {
        store
            .audit_events(&tessera_store::AuditQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    each_backend("store", |store| async move {
        let alice = Uuid::new_v4();
        // More than two batches of old events, one exactly at the limit, a few recent ones.
        let mut events: Vec<_> = (0..2500)
            .map(|i| audit_event(NOW - KEEP - 1 - i, "token_issued", Some(alice)))
            .collect();
        events.push(audit_event(NOW - KEEP, "sign_in", Some(alice)));
        events.extend((0..5).map(|i| audit_event(NOW - i * 86_400, "sign_in", Some(alice))));
        store.insert_audit(&events).await.unwrap();

        // Retention 0: nothing is deleted, however old.
        let kept = purge_expired(store.as_ref(), NOW, 0, 1000, std::time::Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept, Purged::default());
        assert_eq!(
            all(store.clone()).await.len(),
            1000,
            "a full page: all still there"
        );

        let purged = purge_expired(store.as_ref(), NOW, KEEP, 1000, std::time::Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            purged,
            Purged {
                audit_events: 2500,
                ..Purged::default()
            }
        );
        let left = all(store.clone()).await;
        assert_eq!(left.len(), 6);
        assert!(left.iter().all(|r| r.event.at >= NOW - KEEP));
        assert_eq!(
            left.last().unwrap().event,
            events[2500],
            "an event exactly as old as the retention is kept"
        );
        // A shorter retention, a day later: the recent ones older than it go too.
        let purged = purge_expired(
            store.as_ref(),
            NOW + 86_400,
            2 * 86_400 + 1,
            1000,
            std::time::Duration::ZERO,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            purged.audit_events, 4,
            "the one at the limit and three of the recent"
        );
        let left = all(store.clone()).await;
        assert_eq!(
            left.iter().map(|r| r.event.at).collect::<Vec<_>>(),
            vec![NOW - 86_400, NOW]
        );
    })
    .await;
}

#[tokio::test]
async fn cleanup_on_two_postgres_nodes_at_once_deletes_each_row_once() {
    use tessera_store::maintenance::purge_expired;
    use tessera_store::Expired;
    let base = match std::env::var(PG_ENV) {
        Ok(b) if !b.is_empty() => b,
        _ => {
            eprintln!("notice: {PG_ENV} is not set; two-node cleanup test skipped");
            return;
        }
    };
    let (one, db, admin) = fresh_pg(&base).await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    // A second node: its own pool, its own connections.
    let two = tessera_store::connect(&format!("{prefix}/{db}"))
        .await
        .unwrap();
    let rng = SeededRandom::new(rand::random());
    let owner = Uuid::new_v4();
    let rows: Vec<_> = (0..6000).map(|_| token(owner, &rng)).collect();
    one.insert_tokens(&rows).await.unwrap();

    // Whole rounds: the lease lets one node run at a time; the sum is every row, once.
    let pause = std::time::Duration::from_millis(5);
    let (a, b) = tokio::join!(
        purge_expired(one.as_ref(), 1_000_000, 0, 500, pause),
        purge_expired(two.as_ref(), 1_000_000, 0, 500, pause)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() || b.is_some());
    let count = |p: Option<tessera_store::maintenance::Purged>| p.map_or(0, |p| p.tokens);
    assert_eq!(count(a) + count(b), 6000, "{a:?} {b:?}");

    // Even without the lease, concurrent batches never delete a row twice.
    one.insert_tokens(&rows).await.unwrap();
    let drain = |s: Arc<dyn Store>| async move {
        let mut n = 0;
        loop {
            let d = s
                .purge_batch(Expired::Tokens, 1_000_000, 250)
                .await
                .unwrap();
            n += d;
            if d == 0 {
                return n;
            }
        }
    };
    let (x, y) = tokio::join!(drain(one.clone()), drain(two.clone()));
    assert_eq!(x + y, 6000, "{x} + {y}");
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

#[derive(Default)]
struct Recorder {
    changes: std::sync::Mutex<Vec<tessera_store::Change>>,
}

impl tessera_store::ChangeSink for Recorder {
    fn apply(&self, change: &tessera_store::Change) {
        self.changes.lock().unwrap().push(change.clone());
    }
    fn set_trusted(&self, _: bool) {}
}

#[tokio::test]
async fn publishing_applies_locally_and_the_database_tells_every_node_itself_included() {
    use tessera_store::{Change, ChangeSink};
    let base = match std::env::var(PG_ENV) {
        Ok(b) if !b.is_empty() => b,
        _ => {
            eprintln!("notice: {PG_ENV} is not set; PostgreSQL change-feed test skipped");
            return;
        }
    };
    let (one, db, admin) = fresh_pg(&base).await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let two = tessera_store::connect(&format!("{prefix}/{db}"))
        .await
        .unwrap();
    let (here, there) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let weak = |r: &Arc<Recorder>| {
        let w: std::sync::Weak<dyn ChangeSink> = Arc::downgrade(r) as _;
        w
    };
    one.feed().subscribe(weak(&here)).await.unwrap();
    two.feed().subscribe(weak(&there)).await.unwrap();
    // Connecting counts as a gap: both start with a flush.
    let settle = |r: Arc<Recorder>, n: usize| async move {
        for _ in 0..500 {
            if r.changes.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        std::mem::take(&mut *r.changes.lock().unwrap())
    };
    assert_eq!(settle(there.clone(), 1).await, vec![Change::FlushAll]);
    assert_eq!(settle(here.clone(), 1).await, vec![Change::FlushAll]);

    // Publishing applies here at once and sends nothing: the database speaks for every change.
    let published = vec![
        Change::TokenRevoked(SecretHash::of("published")),
        Change::FamilyRevoked(Uuid::new_v4()),
    ];
    one.feed().publish(&published).await.unwrap();
    assert_eq!(
        std::mem::take(&mut *here.changes.lock().unwrap()),
        published
    );

    // A family of 250 revoked by node one: every node hears of each token from the database,
    // node one too, in several notices. (Had `publish` sent anything, it would come first.)
    let rng = SeededRandom::new(rand::random());
    let (owner, family) = (Uuid::new_v4(), Uuid::new_v4());
    let members: Vec<_> = (0..250)
        .map(|_| TokenRecord {
            family_id: Some(family),
            ..live_token(owner, &rng)
        })
        .collect();
    one.insert_tokens(&members).await.unwrap();
    one.revoke_family(family, 5).await.unwrap();
    let mut want: Vec<[u8; 32]> = members.iter().map(|m| *m.hash.as_bytes()).collect();
    want.sort();
    let hashes = |changes: Vec<Change>| {
        let mut got: Vec<[u8; 32]> = changes
            .iter()
            .map(|c| match c {
                Change::TokenRevoked(h) => *h.as_bytes(),
                other => panic!("not announced by the database: {other:?}"),
            })
            .collect();
        got.sort();
        got
    };
    assert_eq!(hashes(settle(there.clone(), 250).await), want);
    assert_eq!(
        hashes(settle(here.clone(), 250).await),
        want,
        "the writer too"
    );
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

/// A fresh PostgreSQL database with the store on it, a plain connection for hand-written SQL,
/// and a LISTEN connection on the change channel.
struct Announcements {
    store: Arc<dyn Store>,
    sql: sqlx::PgPool,
    received: tokio::sync::mpsc::UnboundedReceiver<String>,
    fences: u32,
    db: String,
    admin: sqlx::PgPool,
}

impl Announcements {
    async fn start(test: &str) -> Option<Self> {
        let base = match std::env::var(PG_ENV) {
            Ok(b) if !b.is_empty() => b,
            _ => {
                eprintln!("notice: {PG_ENV} is not set; {test} skipped");
                return None;
            }
        };
        let (store, db, admin) = fresh_pg(&base).await;
        let (prefix, _) = base.rsplit_once('/').unwrap();
        let url = format!("{prefix}/{db}");
        let mut listener = sqlx::postgres::PgListener::connect(&url).await.unwrap();
        listener.listen(tessera_store::feed::CHANNEL).await.unwrap();
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(n) = listener.recv().await {
                if tx.send(n.payload().to_owned()).is_err() {
                    return;
                }
            }
        });
        Some(Self {
            store,
            sql: sqlx::PgPool::connect(&url).await.unwrap(),
            received,
            fences: 0,
            db,
            admin,
        })
    }

    /// Every payload of transactions that committed before this call. Notifications arrive in
    /// commit order, so those come before a fence notified now.
    async fn payloads(&mut self) -> Vec<String> {
        self.fences += 1;
        let fence = format!("fence {}", self.fences);
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(tessera_store::feed::CHANNEL)
            .bind(&fence)
            .execute(&self.sql)
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let p = tokio::time::timeout(std::time::Duration::from_secs(10), self.received.recv())
                .await
                .expect("the fence came back")
                .unwrap();
            if p == fence {
                return out;
            }
            out.push(p);
        }
    }

    /// The changes announced since the last call (a set: a row may be announced by more than
    /// one trigger). Every payload comes from node `db` and is under PostgreSQL's limit.
    async fn changes(&mut self) -> std::collections::BTreeSet<String> {
        let mut all = std::collections::BTreeSet::new();
        for p in self.payloads().await {
            assert!(p.len() < 8000, "{} bytes", p.len());
            let from_db = format!("{} ", tessera_store::feed::DB_NODE);
            let body = p
                .strip_prefix(&from_db)
                .unwrap_or_else(|| panic!("not from db: {p}"));
            all.extend(body.split(';').map(str::to_owned));
        }
        all
    }

    async fn sql(&self, statement: &str) {
        sqlx::query(statement).execute(&self.sql).await.unwrap();
    }

    async fn finish(self) {
        self.sql.close().await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))
            .execute(&self.admin)
            .await;
    }
}

fn set<const N: usize>(codes: [String; N]) -> std::collections::BTreeSet<String> {
    codes.into_iter().collect()
}

fn t(hash: &SecretHash) -> String {
    let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t{hex}")
}

fn live_token(client_id: Uuid, rng: &SeededRandom) -> TokenRecord {
    TokenRecord {
        expires_at: 4_000_000_000,
        ..token(client_id, rng)
    }
}

#[tokio::test]
async fn postgres_announces_token_changes_on_commit_and_never_issuance() {
    let Some(mut db) = Announcements::start("token change-trigger test").await else {
        return;
    };
    let rng = SeededRandom::new(rand::random());
    let owner = Uuid::new_v4();
    let family = Uuid::new_v4();
    let mut rt = live_token(owner, &rng);
    rt.kind = TokenKind::RefreshToken;
    rt.family_id = Some(family);
    let mut child = live_token(owner, &rng);
    child.family_id = Some(family);
    child.parent = Some(rt.hash);
    let (a, b) = (live_token(owner, &rng), live_token(owner, &rng));
    let store = db.store.clone();

    // Issuance, one statement or many in a transaction, announces nothing.
    store
        .insert_tokens(&[rt.clone(), child.clone(), a.clone(), b.clone()])
        .await
        .unwrap();
    let many: Vec<_> = (0..100).map(|_| live_token(owner, &rng)).collect();
    store.insert_tokens(&many).await.unwrap();
    TokenWriter::spawn(store.clone())
        .write(vec![live_token(owner, &rng)])
        .await
        .unwrap();
    assert_eq!(db.changes().await, set([]), "issuance is silent");

    assert!(store.revoke_token(&a.hash, 5).await.unwrap());
    assert_eq!(db.changes().await, set([t(&a.hash)]));
    assert!(!store.revoke_token(&a.hash, 6).await.unwrap());
    assert_eq!(db.changes().await, set([]), "a row left as it was");

    assert!(store.mark_rotated(&rt.hash, 7).await.unwrap());
    assert_eq!(db.changes().await, set([t(&rt.hash)]));
    store.extend_token(&b.hash, 4_000_000_100).await.unwrap();
    assert_eq!(db.changes().await, set([t(&b.hash)]));
    assert_eq!(
        store.revoke_children(&rt.hash, 8).await.unwrap(),
        vec![child.hash]
    );
    assert_eq!(db.changes().await, set([t(&child.hash)]));
    store.revoke_family(family, 9).await.unwrap();
    assert_eq!(db.changes().await, set([t(&rt.hash)]));

    // By hand, as an operator (or a node that died before telling anyone) would.
    let c = &many[0];
    let hex = &t(&c.hash)[1..];
    db.sql(&format!(
        "UPDATE tokens SET revoked_at = 10 WHERE hash = '\\x{hex}'"
    ))
    .await;
    assert_eq!(db.changes().await, set([t(&c.hash)]));
    db.sql(&format!(
        "DELETE FROM tokens WHERE hash = '\\x{}'",
        &t(&many[1].hash)[1..]
    ))
    .await;
    assert_eq!(
        db.changes().await,
        set([t(&many[1].hash)]),
        "a live row deleted"
    );
    // The cleanup deletes tokens long expired: nobody needs to hear of those.
    store.insert_tokens(&[token(owner, &rng)]).await.unwrap();
    assert_eq!(
        store
            .purge_batch(tessera_store::Expired::Tokens, 1_000, 1_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.changes().await, set([]));

    // Nothing is announced for a transaction that rolls back.
    let mut tx = db.sql.begin().await.unwrap();
    sqlx::query("UPDATE tokens SET revoked_at = 11 WHERE revoked_at IS NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.changes().await, set([]), "rolled back");

    // A family revocation of 250 tokens: several payloads, every hash once.
    let big = Uuid::new_v4();
    let members: Vec<_> = (0..250)
        .map(|_| TokenRecord {
            family_id: Some(big),
            ..live_token(owner, &rng)
        })
        .collect();
    store.insert_tokens(&members).await.unwrap();
    assert_eq!(db.changes().await, set([]));
    store.revoke_family(big, 12).await.unwrap();
    let payloads = db.payloads().await;
    assert!(payloads.len() >= 3, "{} payloads", payloads.len());
    let got: std::collections::BTreeSet<String> = payloads
        .iter()
        .flat_map(|p| p["db ".len()..].split(';').map(str::to_owned))
        .collect();
    assert_eq!(got, members.iter().map(|m| t(&m.hash)).collect());
    // Past 10000 rows in one statement, every node is told to flush instead.
    db.sql(
        "INSERT INTO tokens (hash, kind, client_id, subject, subject_kind, resource_server, scope, \
         issued_at, expires_at, family_id) SELECT sha256(('huge' || g)::bytea), 'access_token', 'c', \
         's', 'client', 'rs', 's', 0, 4000000000, 'huge' FROM generate_series(1, 10001) AS g",
    )
    .await;
    assert_eq!(db.changes().await, set([]));
    db.sql("UPDATE tokens SET revoked_at = 13 WHERE family_id = 'huge'")
        .await;
    assert_eq!(db.payloads().await, ["db *"]);
    db.sql("TRUNCATE tokens").await;
    assert_eq!(db.payloads().await, ["db *"]);
    db.finish().await;
}

#[tokio::test]
async fn postgres_announces_client_secret_scope_and_fqdn_changes_on_commit() {
    let Some(mut db) = Announcements::start("client change-trigger test").await else {
        return;
    };
    let store = db.store.clone();
    let c = |id: &Uuid| format!("c{}", id.simple());
    let s = || "s".to_owned();
    let mut owner = client(Uuid::new_v4(), "rs");
    // A new client is in nobody's cache.
    store.insert_client(&owner).await.unwrap();
    assert_eq!(db.changes().await, set([]));
    owner.name = "renamed".into();
    assert!(store.update_client(&owner).await.unwrap());
    assert_eq!(db.changes().await, set([c(&owner.id)]));
    assert!(store
        .set_access_token_format(owner.id, tessera_core::client::AccessTokenFormat::Jwt)
        .await
        .unwrap());
    assert_eq!(db.changes().await, set([c(&owner.id)]));

    let cred = ClientCredential {
        id: Uuid::new_v4(),
        client_id: owner.id,
        name: "first".into(),
        secret_hash: SecretHash::of("s1"),
        created_at: 7,
    };
    store.insert_credential(&cred).await.unwrap();
    assert_eq!(db.changes().await, set([c(&owner.id)]));
    store.delete_credential(owner.id, cred.id).await.unwrap();
    assert_eq!(db.changes().await, set([c(&owner.id)]));
    store.insert_credential(&cred).await.unwrap();
    db.changes().await;
    db.sql(&format!(
        "DELETE FROM client_credentials WHERE id = '{}'",
        cred.id
    ))
    .await;
    assert_eq!(db.changes().await, set([c(&owner.id)]), "by hand");

    let mut scope = all_scope(owner.id);
    store.insert_scope(&scope).await.unwrap();
    assert_eq!(db.changes().await, set([s()]));
    store.seed_scope(&scope).await.unwrap();
    assert_eq!(
        db.changes().await,
        set([]),
        "seeding what exists changes nothing"
    );
    scope.name = "Everything at all".into();
    assert!(store.update_scope(&scope).await.unwrap());
    assert_eq!(db.changes().await, set([s()]));

    // FQDNs rename the client's resource server: the client and the catalogue.
    store.add_fqdn(owner.id, "a.example.org", 5).await.unwrap();
    assert_eq!(db.changes().await, set([c(&owner.id), s()]));
    store.remove_fqdn(owner.id, "a.example.org").await.unwrap();
    assert_eq!(db.changes().await, set([c(&owner.id), s()]));
    db.sql(&format!(
        "INSERT INTO client_fqdns (fqdn, client_id, position, verified_at) VALUES ('b.example.org', '{}', 1, 0)",
        owner.id
    ))
    .await;
    assert_eq!(db.changes().await, set([c(&owner.id), s()]), "by hand");

    assert!(store.delete_scope(scope.id).await.unwrap());
    assert_eq!(db.changes().await, set([s()]));
    store.insert_scope(&scope).await.unwrap();
    store.insert_credential(&cred).await.unwrap();
    db.changes().await;

    // Rolled back: nothing.
    let mut tx = db.sql.begin().await.unwrap();
    for statement in [
        "DELETE FROM client_credentials",
        "UPDATE scopes SET name = 'x'",
        "UPDATE clients SET name = 'x'",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    tx.rollback().await.unwrap();
    assert_eq!(db.changes().await, set([]), "rolled back");

    // Deleting a client cascades to its secrets, scopes and names; all are announced.
    db.sql(&format!("DELETE FROM clients WHERE id = '{}'", owner.id))
        .await;
    assert_eq!(db.changes().await, set([c(&owner.id), s()]));
    db.finish().await;
}

#[tokio::test]
async fn postgres_announces_identity_set_and_consent_changes_on_commit() {
    use tessera_store::{ConsentParent, NewConsent};
    let Some(mut db) = Announcements::start("identity change-trigger test").await else {
        return;
    };
    let store = db.store.clone();
    let i = |id: &Uuid| format!("i{}", id.simple());
    // Identities are cached by id: a new one is in no cache, a hand edit drops it.
    let alice = identity("alice@example.org");
    store.insert_identity(&alice, None).await.unwrap();
    assert_eq!(db.changes().await, set([]), "a new identity");
    db.sql(&format!(
        "UPDATE identities SET name = 'Alice B.' WHERE id = '{}'",
        alice.id
    ))
    .await;
    assert_eq!(db.changes().await, set([i(&alice.id)]), "by hand");
    db.sql(&format!("DELETE FROM identities WHERE id = '{}'", alice.id))
        .await;
    assert_eq!(db.changes().await, set([i(&alice.id)]), "by hand");

    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store.link_identities(a, b, 10).await.unwrap();
    assert_eq!(db.changes().await, set([i(&a), i(&b)]));
    store.link_identities(c, a, 11).await.unwrap(); // a's whole set moves into c's
    assert_eq!(db.changes().await, set([i(&a), i(&b), i(&c)]));
    store.link_identities(a, b, 12).await.unwrap();
    assert_eq!(db.changes().await, set([]), "linked already");
    store.unlink_identity(b).await.unwrap();
    assert_eq!(db.changes().await, set([i(&b)]));

    let nodes = vec![
        NewConsent {
            client_id: Uuid::new_v4(),
            scope_id: Uuid::new_v4(),
            scope_string: "a".into(),
            parent: ConsentParent::Root,
            allows_refresh: true,
        },
        NewConsent {
            client_id: Uuid::new_v4(),
            scope_id: Uuid::new_v4(),
            scope_string: "b".into(),
            parent: ConsentParent::New(0),
            allows_refresh: true,
        },
    ];
    let made = store.insert_consents(a, &nodes, 9).await.unwrap();
    store.insert_consents(b, &nodes, 9).await.unwrap();
    assert_eq!(db.changes().await, set([]), "granting is silent");
    store
        .delete_consents(&made.iter().map(|m| m.id).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(db.changes().await, set([format!("r{}", a.simple())]));
    let mut tx = db.sql.begin().await.unwrap();
    sqlx::query("DELETE FROM consents")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM identity_links")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.changes().await, set([]), "rolled back");
    db.sql("DELETE FROM consents").await;
    assert_eq!(db.changes().await, set([format!("r{}", b.simple())]));
    db.sql("TRUNCATE identity_links").await;
    assert_eq!(db.payloads().await, ["db *"]);
    db.finish().await;
}

#[tokio::test]
async fn the_audit_writer_stores_queued_events_by_flush() {
    each_backend("store", |store| async move {
        let writer = tessera_store::AuditWriter::spawn(store.clone());
        for i in 0..50 {
            writer.record(audit_event(i, "sign_in", None));
        }
        writer.flush().await;
        let stored = store
            .audit_events(&tessera_store::AuditQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(stored.len(), 50);
        assert_eq!(stored[0].event.at, 49);
        assert_eq!(writer.dropped(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_token_batch_survives_the_loss_of_the_writers_connection() {
    let base = match std::env::var(PG_ENV) {
        Ok(b) if !b.is_empty() => b,
        _ => {
            eprintln!("notice: {PG_ENV} is not set; writer-connection test skipped");
            return;
        }
    };
    let (store, db, admin) = fresh_pg(&base).await;
    let rng = SeededRandom::new(rand::random());
    let owner = Uuid::new_v4();
    let first: Vec<_> = (0..3).map(|_| token(owner, &rng)).collect();
    store.insert_tokens(&first).await.unwrap();
    // A database restart, as far as this node's sessions can tell: every one of them ends.
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&db)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!ended.is_empty());
    let second: Vec<_> = (0..3).map(|_| token(owner, &rng)).collect();
    store
        .insert_tokens(&second)
        .await
        .expect("the batch is retried on a fresh connection");
    for t in first.iter().chain(&second) {
        assert_eq!(store.token(&t.hash).await.unwrap().as_ref(), Some(t));
    }
    drop(store);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

#[tokio::test]
async fn deleting_a_client_revokes_its_tokens_and_deletes_its_consents_and_scopes_in_one_step() {
    use tessera_store::{ConsentParent, NewConsent};
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(rand::random());
        let (gone, app, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (id, name) in [(gone, "gone"), (app, "app"), (other, "other")] {
            store.insert_client(&client(id, name)).await.unwrap();
        }
        let scope = all_scope(gone);
        let other_scope = all_scope(other);
        store.insert_scope(&scope).await.unwrap();
        store.insert_scope(&other_scope).await.unwrap();
        // Held by it; held by the app for its scope; another's; an expired one of its own.
        let held = token(gone, &rng);
        let for_it = TokenRecord {
            resource_server: gone.to_string(),
            ..token(app, &rng)
        };
        let unrelated = token(app, &rng);
        let expired = TokenRecord {
            expires_at: 5,
            ..token(gone, &rng)
        };
        store
            .insert_tokens(&[
                held.clone(),
                for_it.clone(),
                unrelated.clone(),
                expired.clone(),
            ])
            .await
            .unwrap();
        // A person's tree: the app's consent for its scope, and beneath it its own consent for
        // another's scope; and a consent of the app for another's scope alone.
        let who = Uuid::new_v4();
        let consent = |client_id, s: &Scope, parent| NewConsent {
            client_id,
            scope_id: s.id,
            scope_string: s.scope_string.clone(),
            parent,
            allows_refresh: true,
        };
        let tree = store
            .insert_consents(
                who,
                &[
                    consent(app, &scope, ConsentParent::Root),
                    consent(gone, &other_scope, ConsentParent::New(0)),
                    consent(app, &other_scope, ConsentParent::Root),
                ],
                9,
            )
            .await
            .unwrap();

        let deleted = store.delete_client(gone, 10).await.unwrap().unwrap();
        let mut revoked = deleted.revoked.clone();
        revoked.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut want = vec![held.hash, for_it.hash];
        want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(revoked, want);
        assert_eq!(deleted.consents, 2);
        assert_eq!(deleted.consents_of, vec![who]);
        assert_eq!(
            store
                .token(&unrelated.hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None
        );
        assert_eq!(
            store
                .token(&expired.hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None
        );
        assert_eq!(store.consents_of(who).await.unwrap(), vec![tree[2].clone()]);
        assert!(store.client(gone).await.unwrap().is_none());
        assert!(store.scopes_of_client(gone).await.unwrap().is_empty());
        assert!(store.delete_client(gone, 11).await.unwrap().is_none());

        // A client with children is refused, and keeps everything.
        let child = Client {
            parent_client: Some(app),
            ..client(Uuid::new_v4(), "child")
        };
        store.insert_client(&child).await.unwrap();
        assert!(matches!(
            store.delete_client(app, 12).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.client(app).await.unwrap().is_some());
        assert_eq!(
            store
                .token(&unrelated.hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None
        );
    })
    .await;
}

#[tokio::test]
async fn device_grants_are_decided_once_and_redeemed_once() {
    use tessera_core::grant::device_code::{Approval, DeviceGrant, DeviceState, UserCode};
    each_backend("store", |store| async move {
        let rng = SeededRandom::new(15);
        let c = client(Uuid::from_u128(0xd1), "device client");
        store.insert_client(&c).await.unwrap();
        let code = UserCode::generate(&rng);
        let g = DeviceGrant::new(
            SecretHash::of("tdc_1"),
            code.clone(),
            c.id,
            "openid".into(),
            true,
            1000,
        );
        store.insert_device_grant(&g).await.unwrap();
        // The same user code twice is a conflict (the service draws another).
        let clash = DeviceGrant::new(
            SecretHash::of("tdc_2"),
            code.clone(),
            c.id,
            "openid".into(),
            true,
            1000,
        );
        assert!(matches!(
            store.insert_device_grant(&clash).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.device_grant(&g.device_code_hash).await.unwrap(),
            Some(g.clone())
        );
        assert_eq!(
            store.device_grant_by_user_code(&code).await.unwrap(),
            Some(g.clone())
        );

        store
            .record_device_poll(&g.device_code_hash, 1001, 10)
            .await
            .unwrap();
        let polled = store
            .device_grant(&g.device_code_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((polled.last_polled_at, polled.interval), (Some(1001), 10));

        // Not redeemable while pending.
        assert_eq!(
            store
                .redeem_device_grant(&g.device_code_hash, 1002)
                .await
                .unwrap(),
            None
        );
        let approval = Approval {
            identity_id: Uuid::from_u128(7),
            session_id: Uuid::from_u128(8),
            auth_time: 990,
            effective_identity: Some(Uuid::from_u128(9)),
        };
        assert!(store
            .decide_device_grant(&code, Some(&approval), 1003)
            .await
            .unwrap());
        // Decided once: neither a second approval nor a denial moves it.
        assert!(!store.decide_device_grant(&code, None, 1004).await.unwrap());
        let redeemed = store
            .redeem_device_grant(&g.device_code_hash, 1005)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.state, DeviceState::Redeemed(approval.clone()));
        assert_eq!(
            store
                .redeem_device_grant(&g.device_code_hash, 1006)
                .await
                .unwrap(),
            None
        );

        // A denial, and an approval too late.
        let other = UserCode::generate(&rng);
        let d = DeviceGrant::new(
            SecretHash::of("tdc_3"),
            other.clone(),
            c.id,
            "openid".into(),
            false,
            1000,
        );
        store.insert_device_grant(&d).await.unwrap();
        assert!(store.decide_device_grant(&other, None, 1001).await.unwrap());
        assert_eq!(
            store
                .device_grant(&d.device_code_hash)
                .await
                .unwrap()
                .unwrap()
                .state,
            DeviceState::Denied
        );
        assert_eq!(
            store
                .redeem_device_grant(&d.device_code_hash, 1002)
                .await
                .unwrap(),
            None
        );
        let late = UserCode::generate(&rng);
        let l = DeviceGrant::new(
            SecretHash::of("tdc_4"),
            late.clone(),
            c.id,
            "openid".into(),
            false,
            1000,
        );
        store.insert_device_grant(&l).await.unwrap();
        assert!(!store
            .decide_device_grant(&late, Some(&approval), l.expires_at)
            .await
            .unwrap());

        // Deleting the client takes its grants along.
        store.delete_client(c.id, 2000).await.unwrap();
        assert_eq!(store.device_grant(&g.device_code_hash).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn registered_clients_and_initial_access_tokens() {
    use tessera_core::registration::ClientRegistration;
    each_backend("store", |store| async move {
        let c = client(Uuid::from_u128(0xe1), "registered");
        let cred = ClientCredential {
            id: Uuid::from_u128(0xe2),
            client_id: c.id,
            name: "registration".into(),
            secret_hash: SecretHash::of("tcs_x"),
            created_at: 10,
        };
        let reg = ClientRegistration {
            client_id: c.id,
            metadata: "{\"client_name\":\"registered\"}".into(),
            access_token_hash: SecretHash::of("trg_x"),
            created_at: 10,
            updated_at: 10,
        };
        store
            .insert_registered_client(&c, Some(&cred), &reg)
            .await
            .unwrap();
        assert_eq!(store.client(c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(store.credentials(c.id).await.unwrap(), vec![cred.clone()]);
        assert_eq!(
            store
                .registration_by_token(&reg.access_token_hash)
                .await
                .unwrap(),
            Some(reg.clone())
        );
        // All or nothing: a second registration with the same token hash leaves no client behind.
        let c2 = client(Uuid::from_u128(0xe3), "clash");
        let reg2 = ClientRegistration {
            client_id: c2.id,
            ..reg.clone()
        };
        assert!(store
            .insert_registered_client(&c2, None, &reg2)
            .await
            .is_err());
        assert_eq!(store.client(c2.id).await.unwrap(), None);

        let renamed = Client {
            name: "renamed".into(),
            redirect_uris: vec![],
            ..c.clone()
        };
        let reg3 = ClientRegistration {
            metadata: "{}".into(),
            updated_at: 20,
            ..reg.clone()
        };
        assert!(store
            .update_registered_client(&renamed, &reg3)
            .await
            .unwrap());
        assert_eq!(store.client(c.id).await.unwrap().unwrap().name, "renamed");
        assert_eq!(
            store
                .registration_by_token(&reg.access_token_hash)
                .await
                .unwrap(),
            Some(reg3)
        );
        store.delete_client(c.id, 30).await.unwrap();
        assert_eq!(
            store
                .registration_by_token(&reg.access_token_hash)
                .await
                .unwrap(),
            None
        );

        let iat = SecretHash::of("tia_x");
        store
            .insert_initial_access_token(&iat, 2, 100, 200)
            .await
            .unwrap();
        assert!(store.use_initial_access_token(&iat, 150).await.unwrap());
        assert!(
            !store.use_initial_access_token(&iat, 200).await.unwrap(),
            "expired"
        );
        assert!(store.use_initial_access_token(&iat, 199).await.unwrap());
        assert!(
            !store.use_initial_access_token(&iat, 199).await.unwrap(),
            "used up"
        );
        assert!(!store
            .use_initial_access_token(&SecretHash::of("tia_y"), 150)
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test]
async fn upstream_idps_identities_by_issuer_and_sub_and_single_use_logins() {
    use tessera_core::upstream::{LoginPurpose, UpstreamIdp, UpstreamLogin};
    each_backend("store", |store| async move {
        let idp = UpstreamIdp {
            id: Uuid::from_u128(0xf1),
            name: "Uni".into(),
            issuer: "https://idp.uni.edu".into(),
            client_id: "tessera".into(),
            client_secret: "sealed:v1:xyz".into(),
            domains: vec!["uni.edu".into()],
            scopes: vec!["profile".into(), "email".into()],
            username_claim: Some("uid".into()),
            trust_mfa: true,
            metadata: "{\"issuer\":\"https://idp.uni.edu\"}".into(),
            created_at: 10,
        };
        store.insert_upstream_idp(&idp).await.unwrap();
        let clash = UpstreamIdp {
            id: Uuid::from_u128(0xf2),
            ..idp.clone()
        };
        assert!(matches!(
            store.insert_upstream_idp(&clash).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.upstream_idps().await.unwrap(), vec![idp.clone()]);
        assert_eq!(store.upstream_idp(idp.id).await.unwrap(), Some(idp.clone()));

        // Identities by (issuer, sub): the same sub at another issuer is someone else.
        let mut alice = identity("alice@uni.edu");
        alice.identity_provider = idp.id;
        store
            .insert_upstream_identity(&alice, &idp.issuer, "sub-1")
            .await
            .unwrap();
        assert_eq!(
            store
                .upstream_identity(&idp.issuer, "sub-1")
                .await
                .unwrap()
                .map(|i| i.id),
            Some(alice.id)
        );
        assert_eq!(
            store
                .upstream_identity("https://other.example", "sub-1")
                .await
                .unwrap(),
            None
        );
        // A taken username: nothing is written, not even the key.
        let taken = identity("Alice@uni.edu");
        assert!(matches!(
            store
                .insert_upstream_identity(&taken, &idp.issuer, "sub-2")
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.upstream_identity(&idp.issuer, "sub-2").await.unwrap(),
            None
        );
        // No password: the password form never signs an upstream identity in.
        assert_eq!(
            store
                .login_identity("alice@uni.edu")
                .await
                .unwrap()
                .map(|(_, h)| h),
            Some(None)
        );

        let login = UpstreamLogin {
            state_hash: SecretHash::of("state-1"),
            idp_id: idp.id,
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            request: Some("r".into()),
            next: None,
            purpose: LoginPurpose::Link,
            created_at: 100,
            expires_at: 700,
        };
        store.insert_upstream_login(&login).await.unwrap();
        assert_eq!(
            store
                .claim_upstream_login(&login.state_hash, 700)
                .await
                .unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            store
                .claim_upstream_login(&login.state_hash, 699)
                .await
                .unwrap(),
            Some(login.clone())
        );
        assert_eq!(
            store
                .claim_upstream_login(&login.state_hash, 699)
                .await
                .unwrap(),
            None,
            "single use"
        );
        // Removing the IdP takes its sign-ins in flight, not its people.
        let second = UpstreamLogin {
            state_hash: SecretHash::of("state-2"),
            ..login.clone()
        };
        store.insert_upstream_login(&second).await.unwrap();
        assert!(store.delete_upstream_idp(idp.id).await.unwrap());
        assert!(!store.delete_upstream_idp(idp.id).await.unwrap());
        assert_eq!(
            store
                .claim_upstream_login(&second.state_hash, 200)
                .await
                .unwrap(),
            None
        );
        assert!(store
            .upstream_identity(&idp.issuer, "sub-1")
            .await
            .unwrap()
            .is_some());
    })
    .await;
}
