#![allow(clippy::unwrap_used, clippy::expect_used)]
//! GroupRepository against SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;
use common::each_backend;
use tessera_core::group::{Group, Membership, Policies, Role, Status};
use tessera_store::StoreError;
use uuid::Uuid;

fn group(parent: Option<Uuid>) -> Group {
    Group {
        id: Uuid::new_v4(),
        name: "Lab".into(),
        description: Some("people".into()),
        parent_id: parent,
        terms_and_conditions: None,
        policies: Policies::default(),
        subscription_id: None,
        subscription_admin_verified_id: None,
        created_at: 10,
        updated_at: 10,
    }
}

fn member(g: &Group, who: Uuid, role: Role, status: Status) -> Membership {
    Membership {
        group_id: g.id,
        identity_id: who,
        role,
        status,
        status_reason: None,
        invite_email_address: None,
        invite_time: None,
        updated: 10,
    }
}

#[tokio::test]
async fn groups_and_memberships_round_trip_with_optimistic_writes() {
    each_backend("group store", |store| async move {
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let g = group(None);
        let admin = member(&g, alice, Role::Admin, Status::Active);
        store.insert_group(&g, &admin).await.unwrap();
        assert_eq!(store.group(g.id).await.unwrap(), Some(g.clone()));
        assert_eq!(
            store.memberships_of_group(g.id).await.unwrap(),
            vec![admin.clone()]
        );

        // A new membership, then a move that expects the stored state.
        let invited = member(&g, bob, Role::Member, Status::Invited);
        store
            .write_memberships(g.id, &[(None, invited.clone())], 11)
            .await
            .unwrap();
        let mut active = invited.clone();
        active.status = Status::Active;
        store
            .write_memberships(g.id, &[(Some(invited.clone()), active.clone())], 12)
            .await
            .unwrap();
        // A stale `before` (someone else moved it): nothing is written.
        let mut declined = invited.clone();
        declined.status = Status::Declined;
        assert!(matches!(
            store
                .write_memberships(g.id, &[(Some(invited.clone()), declined)], 13)
                .await,
            Err(StoreError::Conflict(_))
        ));
        // Leaving the group without an active admin: refused, nothing written.
        let mut gone = admin.clone();
        gone.status = Status::Left;
        let mut promoted = active.clone();
        promoted.role = Role::Manager;
        assert!(matches!(
            store
                .write_memberships(
                    g.id,
                    &[
                        (Some(active.clone()), promoted),
                        (Some(admin.clone()), gone)
                    ],
                    14
                )
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.memberships_of_identities(&[bob]).await.unwrap(),
            vec![active.clone()]
        );
        let mine = store
            .memberships_of_identities(&[alice, bob])
            .await
            .unwrap();
        assert_eq!(mine.len(), 2);

        // Subgroups block deletion; deletion takes the memberships along.
        let child = group(Some(g.id));
        store
            .insert_group(&child, &member(&child, alice, Role::Admin, Status::Active))
            .await
            .unwrap();
        assert_eq!(store.child_group_ids(g.id).await.unwrap(), vec![child.id]);
        assert!(matches!(
            store.delete_group(g.id).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.delete_group(child.id).await.unwrap().map(|c| c.id),
            Some(child.id)
        );
        assert_eq!(
            store.delete_group(g.id).await.unwrap().map(|c| c.id),
            Some(g.id)
        );
        assert!(store
            .memberships_of_identities(&[alice, bob])
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.delete_group(g.id).await.unwrap(), None);

        // Updates and preferences.
        let mut h = group(None);
        store
            .insert_group(&h, &member(&h, alice, Role::Admin, Status::Active))
            .await
            .unwrap();
        h.name = "Renamed".into();
        h.policies.join_requests = true;
        assert!(store.update_group(&h).await.unwrap());
        assert_eq!(store.group(h.id).await.unwrap(), Some(h.clone()));
        store.set_group_preference(bob, Some(false)).await.unwrap();
        store.set_group_preference(bob, None).await.unwrap();
        store
            .set_group_preference(alice, Some(false))
            .await
            .unwrap();
        let mut prefs = store.group_preferences(&[alice, bob]).await.unwrap();
        prefs.sort();
        let mut want = vec![(alice, Some(false)), (bob, None)];
        want.sort();
        assert_eq!(prefs, want);
    })
    .await;
}
