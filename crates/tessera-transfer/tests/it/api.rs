//! Authentication, errors, hostile paths, other users refused, access rules.

use crate::harness::{assert_error, World};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn missing_junk_and_foreign_tokens_get_401_in_the_globus_envelope() {
    let w = World::new(false).await;
    let uri = format!("/v0.10/endpoint/{}", w.src);
    let none = w.call(None, Method::GET, &uri, None).await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "AuthenticationFailed");
    let junk = crate::harness::Who {
        id: String::new(),
        token: "junk".into(),
    };
    assert_error(
        &w.call(Some(&junk), Method::GET, &uri, None).await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
    );
    assert_eq!(w.get(&w.mover, &uri).await.status, StatusCode::OK);
}

#[tokio::test]
async fn endpoint_documents_search_and_the_doubled_prefix() {
    let w = World::new(false).await;
    let doc = w
        .get(&w.mover, &format!("/v0.10/v0.10/endpoint/{}", w.src))
        .await
        .body;
    assert_eq!(
        (
            doc["entity_type"].as_str(),
            doc["is_globus_connect"].as_bool()
        ),
        (Some("GCSv4_host"), Some(false))
    );
    assert_eq!(
        doc["owner_string"],
        format!("{}@clients.auth.globus.org", w.mover.id)
    );
    let unknown = w
        .get(
            &w.mover,
            &format!("/v0.10/endpoint/{}", uuid::Uuid::new_v4()),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "EndpointNotFound");
    let mine = w
        .get(&w.mover, "/v0.10/endpoint_search?filter_scope=my-endpoints")
        .await
        .body;
    assert_eq!(mine["DATA"].as_array().unwrap().len(), 2);
    assert_eq!(mine["has_next_page"], false);
    let paged = w
        .get(
            &w.mover,
            "/v0.10/endpoint_search?filter_scope=my-endpoints&limit=1",
        )
        .await
        .body;
    assert_eq!(
        (
            paged["DATA"].as_array().unwrap().len(),
            paged["has_next_page"].as_bool()
        ),
        (1, Some(true))
    );
    let theirs = w
        .get(
            &w.reader,
            "/v0.10/endpoint_search?filter_scope=my-endpoints",
        )
        .await
        .body;
    assert_eq!(theirs["DATA"], json!([]));
    let hit = w
        .get(&w.mover, "/v0.10/endpoint_search?filter_fulltext=SOURCE")
        .await
        .body;
    assert_eq!(hit["DATA"][0]["id"], w.src.as_str());
    let bad = w
        .get(&w.mover, "/v0.10/endpoint_search?filter_scope=everything")
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
}

#[tokio::test]
async fn ls_sorts_by_code_point_and_refuses_escapes_through_dots_and_links() {
    let w = World::new(false).await;
    for name in ["b", "a b", "é", "Z"] {
        std::fs::write(w.src_dir.join(name), name).unwrap();
    }
    std::fs::create_dir(w.src_dir.join("dir")).unwrap();
    std::os::unix::fs::symlink("/etc", w.src_dir.join("etc-link")).unwrap();
    let ls = w
        .get(
            &w.mover,
            &format!("/v0.10/operation/endpoint/{}/ls?path=/", w.src),
        )
        .await
        .body;
    let names: Vec<&str> = ls["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Z", "a b", "b", "dir", "etc-link", "é"]);
    assert_eq!(ls["path"], "/");
    let dir = w
        .get(
            &w.mover,
            &format!("/v0.10/operation/endpoint/{}/ls?path=/dir", w.src),
        )
        .await
        .body;
    assert_eq!(dir["path"], "/dir/");
    for path in [
        "/../..",
        "/dir/../../etc",
        "../etc",
        "/etc-link",
        "/etc-link/passwd",
    ] {
        let r = w
            .get(
                &w.mover,
                &format!("/v0.10/operation/endpoint/{}/ls?path={path}", w.src),
            )
            .await;
        assert!(
            r.status.is_client_error() || r.status == StatusCode::BAD_GATEWAY,
            "{path}: {}",
            r.body
        );
        assert!(
            r.body["DATA"].is_null(),
            "{path} listed something: {}",
            r.body
        );
    }
    let stat = w
        .get(
            &w.mover,
            &format!(
                "/v0.10/operation/endpoint/{}/stat?path=/etc-link/passwd",
                w.src
            ),
        )
        .await;
    assert!(stat.status.is_client_error(), "{}", stat.body);
    let file = w
        .get(
            &w.mover,
            &format!("/v0.10/operation/endpoint/{}/ls?path=/b", w.src),
        )
        .await;
    assert_error(
        &file,
        StatusCode::BAD_GATEWAY,
        "ExternalError.DirListingFailed.NotDirectory",
    );
    let missing = w
        .get(
            &w.mover,
            &format!("/v0.10/operation/endpoint/{}/ls?path=/nope", w.src),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "ClientError.NotFound");
    let stat = w
        .get(
            &w.mover,
            &format!("/v0.10/operation/endpoint/{}/stat?path=/nope", w.src),
        )
        .await;
    assert_error(&stat, StatusCode::NOT_FOUND, "NotFound");
}

#[tokio::test]
async fn mkdir_and_rename_stay_inside_the_root_and_name_their_errors() {
    let w = World::new(false).await;
    let mkdir = format!("/v0.10/operation/endpoint/{}/mkdir", w.dst);
    let made = w
        .post(
            &w.mover,
            &mkdir,
            json!({"DATA_TYPE": "mkdir", "path": "/made"}),
        )
        .await;
    assert_eq!(made.body["code"], "DirectoryCreated");
    assert!(w.dst_dir.join("made").is_dir());
    let again = w.post(&w.mover, &mkdir, json!({"path": "/made"})).await;
    assert_error(
        &again,
        StatusCode::BAD_GATEWAY,
        "ExternalError.MkdirFailed.Exists",
    );
    let escape = w
        .post(&w.mover, &mkdir, json!({"path": "/../outside"}))
        .await;
    assert_error(&escape, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    assert!(!w.dst_dir.parent().unwrap().join("outside").exists());
    std::os::unix::fs::symlink(w.dst_dir.parent().unwrap(), w.dst_dir.join("up")).unwrap();
    let through = w
        .post(&w.mover, &mkdir, json!({"path": "/up/through-link"}))
        .await;
    assert!(
        through.status.is_client_error() || through.status == StatusCode::BAD_GATEWAY,
        "{}",
        through.body
    );
    assert!(!w.dst_dir.parent().unwrap().join("through-link").exists());
    let rename = format!("/v0.10/operation/endpoint/{}/rename", w.dst);
    let r = w
        .post(
            &w.mover,
            &rename,
            json!({"old_path": "/made", "new_path": "/renamed"}),
        )
        .await;
    assert_eq!(r.body["code"], "FileRenamed");
    let r = w
        .post(
            &w.mover,
            &rename,
            json!({"old_path": "/renamed", "new_path": "/../stolen"}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    let r = w
        .post(
            &w.mover,
            &rename,
            json!({"old_path": "/nope", "new_path": "/x"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "ClientError.NotFound");
    let broken = w.call(Some(&w.mover), Method::POST, &mkdir, None).await;
    assert_error(&broken, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
}

#[tokio::test]
async fn other_users_are_refused_until_a_rule_grants_and_rules_cover_whole_components() {
    let w = World::new(false).await;
    std::fs::create_dir_all(w.src_dir.join("a/inner")).unwrap();
    std::fs::create_dir_all(w.src_dir.join("ab")).unwrap();
    let ls = |path: &str| format!("/v0.10/operation/endpoint/{}/ls?path={path}", w.src);
    let refused = w.get(&w.reader, &ls("/")).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "EndpointPermissionDenied");
    let add = w
        .post(&w.reader, &format!("/v0.10/endpoint/{}/access", w.src), json!({"principal_type": "identity", "principal": w.reader.id, "path": "/", "permissions": "rw"}))
        .await;
    assert_error(&add, StatusCode::FORBIDDEN, "PermissionDenied");
    let rule = w
        .post(&w.mover, &format!("/v0.10/endpoint/{}/access", w.src), json!({"DATA_TYPE": "access", "principal_type": "identity", "principal": w.reader.id, "path": "/a", "permissions": "r"}))
        .await;
    assert_eq!(rule.body["code"], "Created", "{}", rule.body);
    assert_eq!(
        w.get(&w.reader, &ls("/a/inner")).await.status,
        StatusCode::OK
    );
    assert_error(
        &w.get(&w.reader, &ls("/ab")).await,
        StatusCode::FORBIDDEN,
        "EndpointPermissionDenied",
    );
    assert_error(
        &w.get(&w.reader, &ls("/")).await,
        StatusCode::FORBIDDEN,
        "EndpointPermissionDenied",
    );
    let mkdir = w
        .post(
            &w.reader,
            &format!("/v0.10/operation/endpoint/{}/mkdir", w.src),
            json!({"path": "/a/new"}),
        )
        .await;
    assert_error(
        &mkdir,
        StatusCode::FORBIDDEN,
        "ExternalError.MkdirFailed.PermissionDenied",
    );
    assert!(!w.src_dir.join("a/new").exists());
    let dup = w
        .post(&w.mover, &format!("/v0.10/endpoint/{}/access", w.src), json!({"principal_type": "identity", "principal": w.reader.id, "path": "/a/", "permissions": "rw"}))
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "Exists");

    // A share of /a/: its "/" is the host's /a/, and a rule there grants nothing on the host.
    let share = w
        .post(&w.mover, "/v0.10/shared_endpoint", json!({"DATA_TYPE": "shared_endpoint", "host_endpoint": w.src, "host_path": "/a/", "display_name": "Share"}))
        .await;
    let share = share.body["id"].as_str().unwrap().to_owned();
    let share_ls = |path: &str| format!("/v0.10/operation/endpoint/{share}/ls?path={path}");
    assert_error(
        &w.get(&w.reader, &share_ls("/")).await,
        StatusCode::FORBIDDEN,
        "EndpointPermissionDenied",
    );
    w.post(&w.mover, &format!("/v0.10/endpoint/{share}/access"), json!({"principal_type": "all_authenticated_users", "principal": "", "path": "/", "permissions": "r"}))
        .await;
    let listed = w.get(&w.reader, &share_ls("/")).await.body;
    assert_eq!(listed["DATA"][0]["name"], "inner");
    let escape = w.get(&w.reader, &share_ls("/..")).await;
    assert!(escape.status.is_client_error(), "{}", escape.body);
}

#[tokio::test]
async fn bookmarks_are_private_to_their_owner() {
    let w = World::new(false).await;
    let b = w
        .post(
            &w.mover,
            "/v0.10/bookmark",
            json!({"endpoint_id": w.src, "path": "/x", "name": "mine"}),
        )
        .await
        .body;
    let id = b["id"].as_str().unwrap();
    assert_eq!(b["path"], "/x/");
    assert_error(
        &w.get(&w.reader, &format!("/v0.10/bookmark/{id}")).await,
        StatusCode::NOT_FOUND,
        "BookmarkNotFound",
    );
    assert_eq!(
        w.get(&w.reader, "/v0.10/bookmark_list").await.body["DATA"],
        json!([])
    );
    let gone = w
        .call(
            Some(&w.reader),
            Method::DELETE,
            &format!("/v0.10/bookmark/{id}"),
            None,
        )
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "BookmarkNotFound");
    assert_eq!(
        w.get(&w.mover, "/v0.10/bookmark_list").await.body["DATA"][0]["name"],
        "mine"
    );
    let bad = w
        .post(
            &w.mover,
            "/v0.10/bookmark",
            json!({"endpoint_id": w.src, "path": "/x", "name": " padded "}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
}
