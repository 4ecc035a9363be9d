#![allow(clippy::unwrap_used, clippy::expect_used)]
//! EndpointManagerRepository against SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set)
//! PostgreSQL: the managers' task list and its last-key order, pause rules, pauses by id,
//! admin cancels, and parked tasks that no claim takes until they are unparked.

mod common;
use common::each_backend;
use tessera_store::endpoint_manager::{
    AdminCancelRecord, EndpointUse, ManagerTaskQuery, PauseRuleRecord, TaskAdminCancelRecord,
    TaskPauseRecord,
};
use tessera_store::transfer::{EndpointRecord, EventRecord, Submitted, TaskRecord};
use uuid::Uuid;

fn endpoint(owner: Uuid) -> EndpointRecord {
    EndpointRecord {
        id: Uuid::new_v4(),
        display_name: "E".into(),
        owner_id: owner,
        owner_string: "o@example.org".into(),
        root_path: Some("/tmp".into()),
        host_endpoint_id: None,
        host_path: None,
        attrs: serde_json::json!({}),
        connector_id: None,
        created_at: 1,
    }
}

fn task(src: Uuid, dst: Uuid, request_time: i64) -> TaskRecord {
    TaskRecord {
        id: Uuid::new_v4(),
        owner_id: Uuid::new_v4(),
        owner_string: "someone@example.org".into(),
        submission_id: Uuid::new_v4().to_string(),
        kind: "TRANSFER".into(),
        status: "ACTIVE".into(),
        label: None,
        source_endpoint_id: src,
        destination_endpoint_id: Some(dst),
        request_time,
        completion_time: None,
        deadline: request_time + 86_400,
        spec: serde_json::json!({"items": []}),
        fatal_error: None,
        expanded: false,
        files: 0,
        directories: 0,
        files_transferred: 0,
        files_skipped: 0,
        bytes_transferred: 0,
        faults: 0,
    }
}

fn event(code: &str) -> EventRecord {
    EventRecord {
        time: 1,
        code: code.into(),
        description: code.to_lowercase(),
        details: String::new(),
        is_error: false,
    }
}

#[tokio::test]
async fn the_managers_view_pages_pauses_parks_and_cancels() {
    each_backend("endpoint manager store", |store| async move {
        let e = endpoint(Uuid::new_v4());
        store.insert_endpoint(&e).await.unwrap();
        let other = Uuid::new_v4();
        // Three into e, one out of e, one elsewhere; request times 10..14.
        let mut tasks = Vec::new();
        for (i, (src, dst)) in [
            (other, e.id),
            (other, e.id),
            (e.id, other),
            (other, e.id),
            (other, other),
        ]
        .into_iter()
        .enumerate()
        {
            let t = task(src, dst, 10 + i as i64);
            assert!(matches!(
                store.submit_task(&t, &event("QUEUED")).await.unwrap(),
                Submitted::Created(_)
            ));
            tasks.push(t);
        }
        let mut q = ManagerTaskQuery {
            endpoint_ids: vec![e.id],
            limit: 2,
            ..Default::default()
        };
        let first = store.manager_tasks(&q).await.unwrap();
        assert_eq!(
            first.iter().map(|t| t.id).collect::<Vec<_>>(),
            [tasks[3].id, tasks[2].id]
        );
        q.after = Some((first[1].request_time, first[1].id));
        let second = store.manager_tasks(&q).await.unwrap();
        assert_eq!(
            second.iter().map(|t| t.id).collect::<Vec<_>>(),
            [tasks[1].id, tasks[0].id]
        );
        q.after = None;
        q.limit = 10;
        q.endpoint_use = Some(EndpointUse::Source);
        assert_eq!(store.manager_tasks(&q).await.unwrap().len(), 1);
        q.endpoint_use = None;
        q.min_faults = Some(1);
        assert!(store.manager_tasks(&q).await.unwrap().is_empty());

        // Pause rules.
        let mut rule = PauseRuleRecord {
            id: Uuid::new_v4(),
            endpoint_id: e.id,
            identity_id: None,
            message: "upgrade".into(),
            start_time: Some(5),
            pause_ls: false,
            pause_mkdir: false,
            pause_rename: false,
            pause_task_delete: true,
            pause_task_transfer_write: true,
            pause_task_transfer_read: false,
            modified_by_id: Uuid::new_v4(),
            modified_by: "admin".into(),
            created_at: 3,
        };
        store.insert_pause_rule(&rule).await.unwrap();
        assert_eq!(
            store.pause_rule(rule.id).await.unwrap().as_ref(),
            Some(&rule)
        );
        rule.message = "later".into();
        rule.identity_id = Some(Uuid::new_v4());
        assert!(store.update_pause_rule(&rule).await.unwrap());
        assert_eq!(
            store.pause_rules(&[e.id, other]).await.unwrap(),
            vec![rule.clone()]
        );
        assert!(store.delete_pause_rule(rule.id).await.unwrap());
        assert!(store.pause_rules(&[e.id]).await.unwrap().is_empty());

        // Pause by id: only ACTIVE tasks; a second pause replaces the message.
        let t = &tasks[0];
        let mut p = TaskPauseRecord {
            task_id: t.id,
            message: "hold".into(),
            side: "DESTINATION".into(),
            paused_by: Uuid::new_v4(),
            paused_at: 7,
        };
        assert!(store.pause_task(&p).await.unwrap());
        p.message = "hold longer".into();
        assert!(store.pause_task(&p).await.unwrap());
        assert_eq!(store.task_pauses(&[t.id]).await.unwrap(), vec![p.clone()]);

        // A parked task is not claimed until unparked.
        let claimed = store.claim_task("n1", 100, 110).await.unwrap().unwrap();
        assert_eq!(claimed.id, t.id, "oldest first");
        assert!(store.park_task(t.id, "n1", 105).await.unwrap());
        store.release_lease(t.id, "n1").await.unwrap();
        let next = store.claim_task("n1", 101, 111).await.unwrap().unwrap();
        assert_ne!(next.id, t.id, "a parked task is left alone");
        assert!(store.resume_task(t.id).await.unwrap(), "resume unparks");
        assert!(!store.resume_task(t.id).await.unwrap());
        assert_eq!(
            store.claim_task("n2", 102, 112).await.unwrap().unwrap().id,
            t.id
        );
        assert!(store.park_task(t.id, "n2", 200).await.unwrap());
        assert_eq!(store.unpark_tasks(&[]).await.unwrap(), 1);

        // An admin cancel and the task it ended.
        let c = AdminCancelRecord {
            id: Uuid::new_v4(),
            message: "bye".into(),
            task_ids: vec![t.id, tasks[1].id],
            processed_task_ids: vec![t.id],
            created_by: Uuid::new_v4(),
            created_at: 9,
        };
        let ended = TaskAdminCancelRecord {
            task_id: t.id,
            admin_cancel_id: c.id,
            message: "bye".into(),
            side: "BOTH".into(),
        };
        store
            .insert_admin_cancel(&c, std::slice::from_ref(&ended))
            .await
            .unwrap();
        assert_eq!(store.admin_cancel(c.id).await.unwrap(), Some(c));
        assert_eq!(
            store
                .task_admin_cancels(&[t.id, tasks[1].id])
                .await
                .unwrap(),
            vec![ended]
        );
        assert!(store
            .finish_task(t.id, "FAILED", None, &event("CANCELED"), 9)
            .await
            .unwrap());
        assert!(
            !store.pause_task(&p).await.unwrap(),
            "a finished task is not paused"
        );
    })
    .await;
}
