//! Pause rules on operations (`pause_ls`, `pause_mkdir`, `pause_rename`), on the HTTPS access
//! (the task flags: read for GET, write for PUT, delete for DELETE), and `force_encryption`.

use crate::harness::{assert_error, Who, World};
use crate::https::{register, req, send, token};
use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use tessera_transfer::https::scope_string;
use uuid::Uuid;

/// Mover (the endpoints' administrator) adds a pause rule on `endpoint`; its id.
async fn pause_rule(w: &World, endpoint: &str, identity: Option<&str>, flags: Value) -> String {
    let mut body = json!({"DATA_TYPE": "pause_rule", "endpoint_id": endpoint, "identity_id": identity,
        "start_time": null, "message": "disk swap until noon", "pause_ls": false, "pause_mkdir": false,
        "pause_rename": false, "pause_task_delete": false, "pause_task_transfer_read": false,
        "pause_task_transfer_write": false});
    for (k, v) in flags.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = w
        .post(&w.mover, "/v0.10/endpoint_manager/pause_rule", body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn drop_rule(w: &World, id: &str) {
    let r = w
        .call(
            Some(&w.mover),
            Method::DELETE,
            &format!("/v0.10/endpoint_manager/pause_rule/{id}"),
            None,
        )
        .await;
    assert_eq!(r.body["code"], json!("Deleted"), "{}", r.body);
}

async fn grant(w: &World, endpoint: &str, who: &Who, perms: &str) {
    let r = w
        .post(
            &w.mover,
            &format!("/v0.10/endpoint/{endpoint}/access"),
            json!({"principal_type": "identity", "principal": who.id, "path": "/", "permissions": perms}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn paused(a: &crate::harness::Answer) {
    assert_error(a, StatusCode::CONFLICT, "OperationPaused");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("disk swap until noon"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn ls_mkdir_and_rename_are_refused_while_a_rule_pauses_them_for_the_caller() {
    let w = World::new(false).await;
    grant(&w, &w.dst, &w.reader, "rw").await;
    std::fs::create_dir_all(w.dst_dir.join("d")).unwrap();
    std::fs::write(w.dst_dir.join("d/f.txt"), b"x").unwrap();
    let ls = format!("/v0.10/operation/endpoint/{}/ls?path=/d/", w.dst);
    let stat = format!("/v0.10/operation/endpoint/{}/stat?path=/d/f.txt", w.dst);
    let mkdir = format!("/v0.10/operation/endpoint/{}/mkdir", w.dst);
    let rename = format!("/v0.10/operation/endpoint/{}/rename", w.dst);
    let mk = |p: &str| json!({"DATA_TYPE": "mkdir", "path": p});
    let mv = json!({"DATA_TYPE": "rename", "old_path": "/d/f.txt", "new_path": "/d/g.txt"});

    // A rule for someone else does not stop the reader.
    let other = pause_rule(
        &w,
        &w.dst,
        Some(&Uuid::new_v4().to_string()),
        json!({"pause_ls": true, "pause_mkdir": true, "pause_rename": true}),
    )
    .await;
    assert_eq!(w.get(&w.reader, &ls).await.status, StatusCode::OK);
    drop_rule(&w, &other).await;

    let rule = pause_rule(
        &w,
        &w.dst,
        None,
        json!({"pause_ls": true, "pause_mkdir": true, "pause_rename": true}),
    )
    .await;
    paused(&w.get(&w.reader, &ls).await);
    paused(&w.get(&w.reader, &stat).await);
    paused(&w.post(&w.reader, &mkdir, mk("/d/new")).await);
    paused(&w.post(&w.reader, &rename, mv.clone()).await);
    // Nothing happened.
    assert!(!w.dst_dir.join("d/new").exists());
    assert!(w.dst_dir.join("d/f.txt").exists());
    // The other endpoint is not paused.
    let src_ls = format!("/v0.10/operation/endpoint/{}/ls", w.src);
    assert_eq!(w.get(&w.mover, &src_ls).await.status, StatusCode::OK);
    // Someone without access is refused for that, not told about the pause.
    let stranger = w.who("stranger").await;
    let refused = w.get(&stranger, &ls).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // A rule for mkdir only: ls works again, mkdir does not.
    drop_rule(&w, &rule).await;
    let only = pause_rule(&w, &w.dst, None, json!({"pause_mkdir": true})).await;
    assert_eq!(w.get(&w.reader, &ls).await.status, StatusCode::OK);
    paused(&w.post(&w.reader, &mkdir, mk("/d/new")).await);
    let ok = w.post(&w.reader, &rename, mv.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    drop_rule(&w, &only).await;
    let ok = w.post(&w.reader, &mkdir, mk("/d/new")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(w.dst_dir.join("d/new").is_dir());

    // A rule on the host stops the same operations on its shares.
    let share = w
        .post(
            &w.mover,
            "/v0.10/shared_endpoint",
            json!({"DATA_TYPE": "shared_endpoint", "display_name": "Share", "host_endpoint": w.dst, "host_path": "/d/"}),
        )
        .await;
    assert_eq!(share.status, StatusCode::CREATED, "{}", share.body);
    let share = share.body["id"].as_str().unwrap().to_owned();
    let _host_rule = pause_rule(&w, &w.dst, None, json!({"pause_ls": true})).await;
    paused(
        &w.get(&w.mover, &format!("/v0.10/operation/endpoint/{share}/ls"))
            .await,
    );
}

#[tokio::test]
async fn https_get_put_and_delete_answer_503_with_retry_after_while_paused() {
    let w = World::new(false).await;
    register(&w, &w.dst).await;
    std::fs::write(w.dst_dir.join("f.txt"), b"payload").unwrap();
    let t = token(
        &w,
        &w.mover,
        &scope_string(Uuid::parse_str(&w.dst).unwrap()),
    )
    .await;
    let url = |p: &str| format!("/https/{}/{p}", w.dst);
    let call = |method: Method, p: &str, body: &'static str| {
        req(method, &url(p), Some(&t))
            .body(Body::from(body))
            .unwrap()
    };
    let is_paused = |g: &crate::https::Got| {
        assert_eq!(g.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", g.json());
        assert_eq!(g.header(header::RETRY_AFTER), "60");
        if g.body.is_empty() {
            return; // HEAD
        }
        assert_eq!(g.json()["code"], json!("OperationPaused"));
        assert!(g.json()["message"]
            .as_str()
            .unwrap()
            .contains("disk swap until noon"));
    };

    // Writes paused: PUT is refused, GET and DELETE are not.
    let writes = pause_rule(&w, &w.dst, None, json!({"pause_task_transfer_write": true})).await;
    is_paused(&send(&w, call(Method::PUT, "new.txt", "x")).await);
    assert!(!w.dst_dir.join("new.txt").exists());
    assert_eq!(
        send(&w, call(Method::GET, "f.txt", "")).await.status,
        StatusCode::OK
    );
    drop_rule(&w, &writes).await;

    // Reads paused: GET and HEAD are refused.
    let reads = pause_rule(&w, &w.dst, None, json!({"pause_task_transfer_read": true})).await;
    is_paused(&send(&w, call(Method::GET, "f.txt", "")).await);
    is_paused(&send(&w, call(Method::HEAD, "f.txt", "")).await);
    assert_eq!(
        send(&w, call(Method::PUT, "new.txt", "x")).await.status,
        StatusCode::CREATED
    );
    drop_rule(&w, &reads).await;

    // Deletes paused: DELETE is refused, the file stays.
    let deletes = pause_rule(&w, &w.dst, None, json!({"pause_task_delete": true})).await;
    is_paused(&send(&w, call(Method::DELETE, "f.txt", "")).await);
    assert!(w.dst_dir.join("f.txt").exists());
    // A stranger's token is refused for what it is (no scope, no permission), not told.
    let stranger = w.who("stranger").await;
    let theirs = token(
        &w,
        &stranger,
        &scope_string(Uuid::parse_str(&w.dst).unwrap()),
    )
    .await;
    let refused = send(
        &w,
        req(Method::DELETE, &url("f.txt"), Some(&theirs))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    drop_rule(&w, &deletes).await;
    assert_eq!(
        send(&w, call(Method::DELETE, "f.txt", "")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn force_encryption_is_set_by_the_administrator_and_upgrades_transfers() {
    let w = World::new(true).await;
    let w = &w;
    let update = |body: Value| {
        let uri = format!("/v0.10/endpoint/{}", w.dst);
        async move { w.call(Some(&w.mover), Method::PUT, &uri, Some(body)).await }
    };
    let bad = update(json!({"DATA_TYPE": "endpoint", "force_encryption": "yes"})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    let stranger = w.who("stranger").await;
    let refused = w
        .call(
            Some(&stranger),
            Method::PUT,
            &format!("/v0.10/endpoint/{}", w.dst),
            Some(json!({"DATA_TYPE": "endpoint", "force_encryption": true})),
        )
        .await;
    assert_eq!(refused.status.as_u16() / 100, 4, "{}", refused.body);
    let doc = w.get(&w.mover, &format!("/v0.10/endpoint/{}", w.dst)).await;
    assert_eq!(doc.body["force_encryption"], json!(false));

    // Without it, encrypt_data false stays false.
    std::fs::write(w.src_dir.join("a.txt"), b"a").unwrap();
    let item = |n: &str| json!([{"DATA_TYPE": "transfer_item", "source_path": format!("/{n}"), "destination_path": format!("/{n}")}]);
    let plain = w
        .transfer(item("a.txt"), json!({"encrypt_data": false}))
        .await;
    assert_eq!(w.wait(&plain).await["encrypt_data"], json!(false));

    let ok = update(json!({"DATA_TYPE": "endpoint", "force_encryption": true})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let doc = w.get(&w.mover, &format!("/v0.10/endpoint/{}", w.dst)).await;
    assert_eq!(doc.body["force_encryption"], json!(true), "{}", doc.body);

    // Submitted with encrypt_data false into it: the task runs (and says it runs) encrypted.
    std::fs::write(w.src_dir.join("b.txt"), b"b").unwrap();
    let forced = w
        .transfer(item("b.txt"), json!({"encrypt_data": false}))
        .await;
    let t = w.wait(&forced).await;
    assert_eq!(
        (t["status"].as_str(), &t["encrypt_data"]),
        (Some("SUCCEEDED"), &json!(true)),
        "{t}"
    );
    assert_eq!(std::fs::read(w.dst_dir.join("b.txt")).unwrap(), b"b");
}
