#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SessionModelRepository (session authentications, step-up requirements, TOTP) against SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;
use common::each_backend;
use tessera_store::StoreError;
use uuid::Uuid;

use tessera_core::secret::SecretHash;
use tessera_core::session::{SessionAuthentication, SessionRequirements};
use tessera_store::TotpCredential;

#[tokio::test]
async fn a_session_keeps_one_authentication_per_identity() {
    each_backend("session-model store", |store| async move {
        let session = Uuid::new_v4();
        let (alice, work, idp) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let first = SessionAuthentication {
            identity_id: alice,
            idp,
            auth_time: 100,
            mfa: false,
        };
        store.record_authentication(session, &first).await.unwrap();
        let linked = SessionAuthentication {
            identity_id: work,
            auth_time: 200,
            ..first.clone()
        };
        store.record_authentication(session, &linked).await.unwrap();
        let again = SessionAuthentication {
            auth_time: 300,
            mfa: true,
            ..first.clone()
        };
        store.record_authentication(session, &again).await.unwrap();
        assert_eq!(
            store.session_authentications(session).await.unwrap(),
            vec![linked, again]
        );
        assert!(store
            .session_authentications(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn requirements_of_a_request_round_trip() {
    each_backend("session-model store", |store| async move {
        let id = Uuid::new_v4();
        let r = SessionRequirements {
            policies: vec![Uuid::new_v4()],
            mfa: true,
            message: Some("step up".into()),
            ..Default::default()
        };
        store.insert_session_requirements(id, &r, 10).await.unwrap();
        assert_eq!(store.session_requirements(id).await.unwrap(), Some(r));
        assert!(matches!(
            store
                .insert_session_requirements(id, &SessionRequirements::default(), 10)
                .await,
            Err(StoreError::Conflict(_))
        ));
        store.delete_pending(id).await.unwrap();
        assert_eq!(store.session_requirements(id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn totp_steps_and_recovery_codes_are_used_once() {
    each_backend("session-model store", |store| async move {
        let alice = Uuid::new_v4();
        assert!(store.totp_credential(alice).await.unwrap().is_none());
        let c = TotpCredential {
            identity_id: alice,
            secret: "sealed:v1:xyz".into(),
            last_step: 50,
            created_at: 1,
        };
        let codes = [SecretHash::of("aaaaa-bbbbb"), SecretHash::of("ccccc-ddddd")];
        store.enrol_totp(&c, &codes).await.unwrap();
        assert_eq!(store.totp_credential(alice).await.unwrap(), Some(c.clone()));
        assert!(format!("{c:?}").contains("[redacted]") && !format!("{c:?}").contains("xyz"));
        assert!(!store.use_totp_step(alice, 50).await.unwrap(), "replay");
        assert!(store.use_totp_step(alice, 51).await.unwrap());
        assert!(!store.use_totp_step(alice, 51).await.unwrap());
        assert!(!store.use_totp_step(alice, 49).await.unwrap());
        assert!(!store.use_totp_step(Uuid::new_v4(), 99).await.unwrap());

        assert_eq!(store.recovery_codes_left(alice).await.unwrap(), 2);
        assert!(!store
            .use_recovery_code(Uuid::new_v4(), &codes[0], 5)
            .await
            .unwrap());
        assert!(store.use_recovery_code(alice, &codes[0], 5).await.unwrap());
        assert!(!store.use_recovery_code(alice, &codes[0], 6).await.unwrap());
        assert_eq!(store.recovery_codes_left(alice).await.unwrap(), 1);

        // Enrolling again replaces the secret and every recovery code.
        store
            .enrol_totp(&c, &[SecretHash::of("eeeee-fffff")])
            .await
            .unwrap();
        assert!(!store.use_recovery_code(alice, &codes[1], 7).await.unwrap());
        assert_eq!(store.recovery_codes_left(alice).await.unwrap(), 1);
        assert!(store.remove_totp(alice).await.unwrap());
        assert!(!store.remove_totp(alice).await.unwrap());
        assert_eq!(store.recovery_codes_left(alice).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn an_mfa_challenge_lives_until_it_expires_or_ends() {
    each_backend("session-model store", |store| async move {
        let (h, alice) = (SecretHash::of("challenge"), Uuid::new_v4());
        store.insert_mfa_challenge(&h, alice, 100).await.unwrap();
        assert_eq!(store.mfa_challenge(&h, 99).await.unwrap(), Some(alice));
        assert_eq!(store.mfa_challenge(&h, 100).await.unwrap(), None, "expired");
        assert_eq!(
            store
                .mfa_challenge(&SecretHash::of("other"), 1)
                .await
                .unwrap(),
            None
        );
        assert!(store.delete_mfa_challenge(&h).await.unwrap());
        assert!(!store.delete_mfa_challenge(&h).await.unwrap());
        assert_eq!(store.mfa_challenge(&h, 1).await.unwrap(), None);
    })
    .await;
}
