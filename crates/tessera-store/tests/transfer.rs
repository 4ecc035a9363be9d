#![allow(clippy::unwrap_used, clippy::expect_used)]
//! TransferRepository's task engine half against SQLite and (when `TESSERA_TEST_POSTGRES_URL`
//! is set) PostgreSQL: submission ids taken once, claims with leases (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL) that expire and move, and progress records counted once.

mod common;
use common::each_backend;
use std::collections::BTreeSet;
use std::sync::Arc;
use tessera_store::transfer::{
    EventRecord, FileOutcomeRecord, FileState, LabelFilter, Submitted, TaskFileRecord, TaskQuery,
    TaskRecord,
};
use tessera_store::{Backend, Store};
use uuid::Uuid;

fn task(owner: Uuid, submission_id: &str, request_time: i64) -> TaskRecord {
    TaskRecord {
        id: Uuid::new_v4(),
        owner_id: owner,
        owner_string: "mover@example.org".into(),
        submission_id: submission_id.into(),
        kind: "TRANSFER".into(),
        status: "ACTIVE".into(),
        label: Some("nightly".into()),
        source_endpoint_id: Uuid::new_v4(),
        destination_endpoint_id: Some(Uuid::new_v4()),
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

fn event(code: &str, at: i64) -> EventRecord {
    EventRecord {
        time: at,
        code: code.into(),
        description: code.to_lowercase(),
        details: String::new(),
        is_error: false,
    }
}

fn file(seq: i64, size: i64) -> TaskFileRecord {
    TaskFileRecord {
        seq,
        is_dir: false,
        source_path: format!("/src/f{seq}"),
        destination_path: Some(format!("/dst/f{seq}")),
        size,
        state: FileState::Pending,
        checksum: None,
        error_code: None,
        error_details: None,
        error_time: None,
    }
}

fn done(seq: i64, bytes: i64, at: i64) -> FileOutcomeRecord {
    FileOutcomeRecord {
        seq,
        state: FileState::Done,
        bytes,
        checksum: Some(format!("sum{seq}")),
        error_code: None,
        error_details: None,
        at,
    }
}

async fn submit(store: &Arc<dyn Store>, t: &TaskRecord) -> Submitted {
    store
        .submit_task(t, &event("SUBMITTED", t.request_time))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_submission_id_makes_one_task_per_owner_even_when_sent_at_once() {
    each_backend("transfer store", |store| async move {
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let first = task(alice, "sub-1", 100);
        assert_eq!(
            submit(&store, &first).await,
            Submitted::Created(Box::new(first.clone()))
        );
        // The same id again, with other content: the first task, unchanged, and nothing new.
        let again = TaskRecord {
            label: Some("other".into()),
            ..task(alice, "sub-1", 200)
        };
        match submit(&store, &again).await {
            Submitted::Duplicate(t) => assert_eq!(*t, first),
            other => panic!("a second task for one submission id: {other:?}"),
        }
        assert_eq!(store.task(again.id).await.unwrap(), None);
        let (_, events) = store.events(first.id, None, 10, 0).await.unwrap();
        assert_eq!(events, 1);
        // Another owner may use the same id.
        let bobs = task(bob, "sub-1", 300);
        assert!(matches!(submit(&store, &bobs).await, Submitted::Created(_)));

        // Eight submissions of one id at once: one task.
        let mut racers = Vec::new();
        for n in 0..8 {
            let (store, t) = (store.clone(), task(alice, "sub-race", 400 + n));
            racers.push(tokio::spawn(async move {
                store
                    .submit_task(&t, &event("SUBMITTED", 400))
                    .await
                    .unwrap()
            }));
        }
        let mut created = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for r in racers {
            match r.await.unwrap() {
                Submitted::Created(t) => {
                    created.insert(t.id);
                    seen.insert(t.id);
                }
                Submitted::Duplicate(t) => {
                    seen.insert(t.id);
                }
            }
        }
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!(seen, created, "a duplicate named another task");
    })
    .await;
}

#[tokio::test]
async fn claims_take_each_task_once_until_the_lease_expires_or_is_released() {
    each_backend("transfer store", |store| async move {
        let owner = Uuid::new_v4();
        let (old, new) = (task(owner, "a", 100), task(owner, "b", 200));
        submit(&store, &old).await;
        submit(&store, &new).await;

        // Oldest first; a claimed task is nobody else's while its lease runs.
        let a = store
            .claim_task("node-a", 1_000, 1_010)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.id, old.id);
        let b = store
            .claim_task("node-b", 1_000, 1_010)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.id, new.id);
        assert_eq!(
            store.claim_task("node-c", 1_005, 1_015).await.unwrap(),
            None
        );

        // node-a renews; node-b stops renewing and its lease runs out.
        assert!(store.renew_lease(old.id, "node-a", 1_020).await.unwrap());
        assert!(!store.renew_lease(old.id, "node-b", 1_020).await.unwrap());
        let taken = store
            .claim_task("node-c", 1_011, 1_021)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.id, new.id, "the expired lease moves to node-c");
        // The old holder has lost it: it can neither renew nor record an expansion.
        assert!(!store.renew_lease(new.id, "node-b", 1_030).await.unwrap());
        assert!(!store
            .record_expansion(new.id, "node-b", &[file(1, 5)], 1, 0)
            .await
            .unwrap());
        assert_eq!(
            store.claim_task("node-d", 1_012, 1_022).await.unwrap(),
            None
        );

        // A released lease is claimable at once; one held by someone else is not released.
        store.release_lease(old.id, "node-x").await.unwrap();
        assert_eq!(
            store.claim_task("node-d", 1_012, 1_022).await.unwrap(),
            None
        );
        store.release_lease(old.id, "node-a").await.unwrap();
        let again = store
            .claim_task("node-d", 1_012, 1_022)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, old.id);

        // A finished task is never claimed or renewed again.
        assert!(store
            .finish_task(old.id, "SUCCEEDED", None, &event("SUCCEEDED", 1_013), 1_013)
            .await
            .unwrap());
        assert!(!store
            .finish_task(old.id, "FAILED", None, &event("CANCELED", 1_014), 1_014)
            .await
            .unwrap());
        assert!(!store.renew_lease(old.id, "node-d", 1_040).await.unwrap());
        assert_eq!(
            store
                .claim_task("node-e", 5_000, 5_010)
                .await
                .unwrap()
                .map(|t| t.id),
            Some(new.id)
        );
        assert_eq!(
            store.claim_task("node-f", 5_000, 5_010).await.unwrap(),
            None
        );

        // SQLite's restart frees every lease; the finished task stays finished.
        if store.backend() == Backend::Sqlite {
            assert_eq!(store.release_all_leases().await.unwrap(), 1);
            let t = store
                .claim_task("node-g", 5_001, 5_011)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(t.id, new.id);
        }
    })
    .await;
}

#[tokio::test]
async fn claims_made_at_once_by_many_nodes_never_share_a_task() {
    each_backend("transfer store", |store| async move {
        let owner = Uuid::new_v4();
        let mut ids = BTreeSet::new();
        for n in 0..6 {
            let t = task(owner, &format!("s{n}"), 100 + n);
            ids.insert(t.id);
            submit(&store, &t).await;
        }
        let mut nodes = Vec::new();
        for n in 0..12 {
            let store = store.clone();
            nodes.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(t) = store
                    .claim_task(&format!("node-{n}"), 1_000, 1_100)
                    .await
                    .unwrap()
                {
                    mine.push(t.id);
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for n in nodes {
            claimed.extend(n.await.unwrap());
        }
        claimed.sort();
        let unique: BTreeSet<Uuid> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), unique.len(), "a task was claimed twice");
        assert_eq!(unique, ids);
    })
    .await;
}

#[tokio::test]
async fn progress_is_recorded_once_per_file_and_counted_once() {
    each_backend("transfer store", |store| async move {
        let t = task(Uuid::new_v4(), "p", 100);
        submit(&store, &t).await;
        store
            .claim_task("node-a", 1_000, 1_010)
            .await
            .unwrap()
            .unwrap();
        let rows: Vec<TaskFileRecord> = (1..=200).map(|s| file(s, s * 10)).collect();
        assert!(store
            .record_expansion(t.id, "node-a", &rows, 200, 0)
            .await
            .unwrap());
        // Expanded once: a second expansion (a resumed worker) changes nothing.
        assert!(!store
            .record_expansion(t.id, "node-a", &rows, 200, 0)
            .await
            .unwrap());
        let stored = store.task(t.id).await.unwrap().unwrap();
        assert!(stored.expanded);
        assert_eq!((stored.files, stored.directories), (200, 0));
        let pending = store
            .task_files(t.id, FileState::Pending, 0, 1_000)
            .await
            .unwrap();
        assert_eq!(pending, rows);

        // Files 1..=100 copied, 101 skipped (sync level), 102 a skipped source error.
        let mut batch: Vec<FileOutcomeRecord> = (1..=100).map(|s| done(s, s * 10, 1_001)).collect();
        batch.push(FileOutcomeRecord {
            state: FileState::Skipped,
            bytes: 0,
            checksum: None,
            ..done(101, 0, 1_001)
        });
        batch.push(FileOutcomeRecord {
            state: FileState::Error,
            bytes: 0,
            checksum: None,
            error_code: Some("FILE_NOT_FOUND".into()),
            error_details: Some("gone".into()),
            ..done(102, 0, 1_001)
        });
        assert!(store
            .record_outcomes(t.id, "node-a", &batch, 1)
            .await
            .unwrap());
        // A resumed worker records some of the same files again: not counted twice.
        let replay: Vec<FileOutcomeRecord> = (90..=110).map(|s| done(s, s * 10, 1_002)).collect();
        assert!(store
            .record_outcomes(t.id, "node-a", &replay, 0)
            .await
            .unwrap());
        // Another node (one whose lease ran out) records nothing at all.
        let stale: Vec<FileOutcomeRecord> = (111..=120).map(|s| done(s, s * 10, 1_003)).collect();
        assert!(!store
            .record_outcomes(t.id, "node-b", &stale, 5)
            .await
            .unwrap());

        let stored = store.task(t.id).await.unwrap().unwrap();
        let copied: i64 = (1..=100).chain(103..=110).map(|s| s * 10).sum();
        assert_eq!(stored.files_transferred, 108);
        assert_eq!(stored.files_skipped, 1);
        assert_eq!(stored.bytes_transferred, copied);
        assert_eq!(stored.faults, 1);

        // Progress of files in flight, then a crash: the next attempt counts from the files
        // recorded done, not from what the dead attempt had moved.
        assert!(store
            .record_progress(t.id, "node-a", 777, &event("PROGRESS", 1_004))
            .await
            .unwrap());
        assert_eq!(
            store.task(t.id).await.unwrap().unwrap().bytes_transferred,
            copied + 777
        );
        assert!(!store.restart_progress(t.id, "node-b").await.unwrap());
        assert!(store.restart_progress(t.id, "node-a").await.unwrap());
        assert_eq!(
            store.task(t.id).await.unwrap().unwrap().bytes_transferred,
            copied
        );
        let done_rows = store
            .task_files(t.id, FileState::Done, 0, 1_000)
            .await
            .unwrap();
        assert_eq!(done_rows.len(), 108);
        assert_eq!(done_rows[0].checksum.as_deref(), Some("sum1"));
        // Paged by seq.
        let page = store
            .task_files(t.id, FileState::Done, 50, 10)
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (51..=60).collect::<Vec<_>>()
        );
        let errors = store
            .task_files(t.id, FileState::Error, 0, 10)
            .await
            .unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].error_code.as_deref(), Some("FILE_NOT_FOUND"));
        assert_eq!(errors[0].error_time, Some(1_001));
        let left = store
            .task_files(t.id, FileState::Pending, 0, 1_000)
            .await
            .unwrap();
        assert_eq!(
            left.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (111..=200).collect::<Vec<_>>()
        );

        // Events newest first, filtered by is_error.
        store
            .insert_event(
                t.id,
                &EventRecord {
                    is_error: true,
                    ..event("FILE_NOT_FOUND", 1_001)
                },
            )
            .await
            .unwrap();
        let (all, total) = store.events(t.id, None, 10, 0).await.unwrap();
        assert_eq!(total, 3, "submitted, progress, the error");
        assert_eq!(all[0].code, "FILE_NOT_FOUND");
        let (errs, n) = store.events(t.id, Some(true), 10, 0).await.unwrap();
        assert_eq!((errs.len(), n), (1, 1));
    })
    .await;
}

#[tokio::test]
async fn plain_outcomes_are_recorded_in_bulk_and_counted_once() {
    each_backend("transfer store", |store| async move {
        let t = task(Uuid::new_v4(), "bulk", 100);
        submit(&store, &t).await;
        store
            .claim_task("node-a", 1_000, 1_010)
            .await
            .unwrap()
            .unwrap();
        let rows: Vec<TaskFileRecord> = (1..=1_200).map(|s| file(s, 3)).collect();
        assert!(store
            .record_expansion(t.id, "node-a", &rows, 1_200, 0)
            .await
            .unwrap());
        let plain = |seq: i64, state: FileState, at: i64| FileOutcomeRecord {
            state,
            checksum: None,
            bytes: if state == FileState::Done { 3 } else { 0 },
            ..done(seq, 0, at)
        };
        // 1..=1000 copied (two different times), 1001..=1100 skipped; then a replay of
        // 900..=1050 (a resumed worker) changes nothing.
        let mut batch: Vec<FileOutcomeRecord> = (1..=1_000)
            .map(|s| plain(s, FileState::Done, 1_001 + s % 2))
            .collect();
        batch.extend((1_001..=1_100).map(|s| plain(s, FileState::Skipped, 1_001)));
        assert!(store
            .record_outcomes(t.id, "node-a", &batch, 0)
            .await
            .unwrap());
        let replay: Vec<FileOutcomeRecord> = (900..=1_050)
            .map(|s| plain(s, FileState::Done, 1_005))
            .collect();
        assert!(store
            .record_outcomes(t.id, "node-a", &replay, 0)
            .await
            .unwrap());
        let stored = store.task(t.id).await.unwrap().unwrap();
        assert_eq!(stored.files_transferred, 1_000);
        assert_eq!(stored.files_skipped, 100);
        assert_eq!(stored.bytes_transferred, 3_000);
        let done_rows = store
            .task_files(t.id, FileState::Done, 0, 2_000)
            .await
            .unwrap();
        assert_eq!(done_rows.len(), 1_000);
        assert_eq!(done_rows[0].error_time, Some(1_002));
        assert_eq!(done_rows[1].error_time, Some(1_001));
        let left = store
            .task_files(t.id, FileState::Pending, 0, 2_000)
            .await
            .unwrap();
        assert_eq!(left.len(), 100);
    })
    .await;
}

#[tokio::test]
async fn task_lists_filter_by_label_exactly_inexactly_and_by_negation() {
    each_backend("transfer store", |store| async move {
        let owner = Uuid::new_v4();
        let labelled = |n: i64, label: Option<&str>| TaskRecord {
            label: label.map(str::to_owned),
            ..task(owner, &format!("l{n}"), 100 + n)
        };
        let tasks = [
            labelled(1, Some("Nightly backup")),
            labelled(2, Some("nightly")),
            labelled(3, Some("100% done_x")),
            labelled(4, None),
        ];
        for t in &tasks {
            submit(&store, t).await;
        }
        let labels_of = |filters: &[&str]| {
            let store = store.clone();
            let q = TaskQuery {
                owner_ids: vec![owner],
                labels: filters.iter().map(|f| LabelFilter::parse(f)).collect(),
                limit: 100,
                ..TaskQuery::default()
            };
            async move {
                let (found, total) = store.tasks(&q).await.unwrap();
                assert_eq!(total as usize, found.len());
                found
                    .into_iter()
                    .map(|t| t.label.unwrap_or_else(|| "-".into()))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            labels_of(&["~NIGHTLY"]).await,
            ["Nightly backup", "nightly"]
        );
        assert_eq!(labels_of(&["night"]).await, ["Nightly backup", "nightly"]);
        assert_eq!(labels_of(&["=nightly"]).await, ["nightly"]);
        assert_eq!(
            labels_of(&["!nightly"]).await,
            ["Nightly backup", "100% done_x", "-"]
        );
        assert_eq!(labels_of(&["~night", "!~backup"]).await, ["nightly"]);
        assert_eq!(labels_of(&["!~night"]).await, ["100% done_x", "-"]);
        // LIKE's wildcards are plain characters here.
        assert_eq!(labels_of(&["~0% d"]).await, ["100% done_x"]);
        assert!(labels_of(&["~%"]).await == ["100% done_x"]);
        assert!(labels_of(&["~e_x"]).await == ["100% done_x"]);
        assert!(labels_of(&["~_"]).await == ["100% done_x"]);
    })
    .await;
}

#[tokio::test]
async fn connectors_check_in_and_cannot_be_removed_while_they_serve_an_endpoint() {
    use tessera_core::secret::SecretHash;
    use tessera_store::connector::ConnectorRecord;
    use tessera_store::transfer::EndpointRecord;
    use tessera_store::StoreError;
    each_backend("transfer store", |store| async move {
        let c = ConnectorRecord {
            id: Uuid::new_v4(),
            name: format!("store-{}", Uuid::new_v4()),
            secret_hash: SecretHash::of("tcs_secret"),
            public_url: None,
            cert_fingerprint: None,
            last_seen: None,
            created_at: 100,
        };
        store.insert_connector(&c).await.unwrap();
        let twin = ConnectorRecord {
            id: Uuid::new_v4(),
            ..c.clone()
        };
        assert!(matches!(
            store.insert_connector(&twin).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.connector(c.id).await.unwrap(), Some(c.clone()));
        assert!(store
            .connector_seen(c.id, "http://10.0.0.2:7070", Some("ab12"), 200)
            .await
            .unwrap());
        assert!(!store
            .connector_seen(Uuid::new_v4(), "http://x", None, 200)
            .await
            .unwrap());
        let seen = store.connector(c.id).await.unwrap().unwrap();
        assert_eq!(seen.public_url.as_deref(), Some("http://10.0.0.2:7070"));
        assert_eq!(seen.cert_fingerprint.as_deref(), Some("ab12"));
        assert_eq!(seen.last_seen, Some(200));
        assert!(store
            .connectors()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == c.id));
        let e = EndpointRecord {
            id: Uuid::new_v4(),
            display_name: "on the connector".into(),
            owner_id: Uuid::new_v4(),
            owner_string: "mover@example.org".into(),
            root_path: Some("/srv/data".into()),
            host_endpoint_id: None,
            host_path: None,
            connector_id: Some(c.id),
            attrs: serde_json::json!({}),
            created_at: 100,
        };
        store.insert_endpoint(&e).await.unwrap();
        assert_eq!(store.endpoint(e.id).await.unwrap(), Some(e.clone()));
        assert!(matches!(
            store.delete_connector(c.id).await,
            Err(StoreError::Conflict(_))
        ));
        store.delete_endpoint(e.id).await.unwrap();
        assert!(store.delete_connector(c.id).await.unwrap());
        assert!(!store.delete_connector(c.id).await.unwrap());
        assert_eq!(store.connector(c.id).await.unwrap(), None);
    })
    .await;
}
