#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One store test suite, run against SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set)
//! PostgreSQL. Each test gets its own SQLite file and its own PostgreSQL database.

use std::future::Future;
use std::sync::Arc;
use tessera_core::client::{Client, ClientCredential, ClientType, Links, Visibility};
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::identity::{Identity, IdentityStatus, IdentityType, LOCAL_IDP_ID};
use tessera_core::random::{SecureRandom, SeededRandom};
use tessera_core::scope::{DependentScope, Scope};
use tessera_core::secret::SecretHash;
use tessera_core::token::TokenKind;
use tessera_store::{seed_defaults, Backend, Store, StoreError, StoredKey, TokenWriter};
use uuid::Uuid;

const PG_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

/// Runs `body` once per available backend.
async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    assert_eq!(sqlite.backend(), Backend::Sqlite);
    body(sqlite).await;

    match std::env::var(PG_ENV) {
        Ok(base) if !base.is_empty() => {
            let (store, db, admin) = fresh_pg(&base).await;
            assert_eq!(store.backend(), Backend::Postgres);
            body(store).await;
            // Best effort: CI machines are thrown away, laptops are not.
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&admin)
                .await;
        }
        _ => eprintln!("notice: {PG_ENV} is not set; PostgreSQL store tests skipped"),
    }
}

async fn fresh_pg(base: &str) -> (Arc<dyn Store>, String, sqlx::PgPool) {
    let admin = sqlx::PgPool::connect(base).await.unwrap();
    let db = format!("tessera_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = tessera_store::connect(&format!("{prefix}/{db}"))
        .await
        .unwrap();
    (store, db, admin)
}

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
        resource_server_name: None,
        access_token_format: Default::default(),
        created_at: 1_000,
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
    }
}

#[tokio::test]
async fn identities_round_trip_and_usernames_are_unique_case_insensitively() {
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
        let owner = client(Uuid::new_v4(), "rs");
        store.insert_client(&owner).await.unwrap();
        let dep_id = Uuid::new_v4();
        let mut s = Scope {
            id: Uuid::new_v4(),
            client_id: owner.id,
            resource_server: owner.id.to_string(),
            scope_string: format!("https://auth.globus.org/scopes/{}/all", owner.id),
            name: "All".into(),
            description: "Everything".into(),
            advertised: false,
            allows_refresh_token: true,
            required_domains: vec!["example.org".into()],
            dependent_scopes: vec![DependentScope {
                scope_id: dep_id,
                optional: true,
                requires_refresh_token: false,
            }],
            created_at: 3,
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
        assert!(store.delete_scope(s.id).await.unwrap());
        assert!(!store.delete_scope(s.id).await.unwrap());
        assert!(!store.update_scope(&s).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn seeding_is_idempotent() {
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
async fn codes_are_claimed_once_and_pending_requests_round_trip() {
    use tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
    each_backend(|store| async move {
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
