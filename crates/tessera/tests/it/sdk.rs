//! The Rust SDK (`tessera-client`) against the real server: a native-app login with PKCE, a
//! revoked access token answered 401 then refreshed and the call sent again (the new tokens
//! handed to `on_refresh` and kept in a token file), a refresh before expiry, client
//! credentials, paging in the offset/total, has_next_page and marker styles, and refusals as
//! typed errors.

use crate::login::{code_from_page, sign_in_and_allow, PASSWORD};
use crate::process::{json, Server};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use tessera_client::storage::{JsonFileTokenStorage, StoredTokens, TokenStorage};
use tessera_client::tokens::{by_resource_server, system_clock, TokenData};
use tessera_client::transfer::{TRANSFER_ALL, TRANSFER_RESOURCE_SERVER};
use tessera_client::{
    AuthClient, ClientCredentialsAuthorizer, ClientError, RefreshTokenAuthorizer, TransferClient,
};
use tessera_proto::transfer::{TransferItem, TransferSubmission};

const CLI_APP: &str = "95fdeba8-fac2-42bd-a357-e068d82ff78e";

async fn submit(t: &TransferClient, src: &str, dst: &str, from: &str, to: &str) -> String {
    let s = TransferSubmission {
        submission_id: Some(t.submission_id().await.unwrap()),
        source_endpoint: Some(src.into()),
        destination_endpoint: Some(dst.into()),
        data: vec![TransferItem {
            source_path: from.into(),
            destination_path: to.into(),
            ..TransferItem::default()
        }],
        ..TransferSubmission::default()
    };
    t.submit_transfer(&s).await.unwrap().task_id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_logs_in_refreshes_after_a_401_pages_and_types_errors() {
    let server = Server::start();
    let base = server.url.trim_end_matches('/').to_owned();
    json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "carol@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..5 {
        std::fs::write(src.path().join(format!("f{i}")), format!("file {i}\n")).unwrap();
    }
    let endpoint = |name: &str, dir: &std::path::Path| {
        json(&server.admin(
            &[
                "admin",
                "endpoint",
                "add",
                "--name",
                name,
                "--path",
                &dir.display().to_string(),
                "--owner",
                "carol@example.org",
            ],
            None,
        ))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (src_ep, dst_ep) = (
        endpoint("carol source", src.path()),
        endpoint("carol destination", dst.path()),
    );

    // The native flow: authorize URL, browser, the code from the auth-code page, exchange.
    let auth = AuthClient::native(&base, CLI_APP).unwrap();
    let flow = auth.start_native_flow(&["openid", "profile", TRANSFER_ALL], None, true);
    let redirect = sign_in_and_allow(&base, &flow.authorize_url(), "carol@example.org").await;
    let code = code_from_page(&redirect).await;
    let tokens = flow.exchange(&code).await.unwrap();
    let by_rs = by_resource_server(&tokens, system_clock()());
    let transfer_token = by_rs[TRANSFER_RESOURCE_SERVER].clone();
    assert!(transfer_token.refresh_token.is_some());
    let me = auth
        .userinfo(&tessera_client::AccessTokenAuthorizer::new(
            by_rs["auth.globus.org"].access_token.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(me.preferred_username.as_deref(), Some("carol@example.org"));

    // Kept in a token file; the access token then revoked behind the program's back.
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(JsonFileTokenStorage::new(dir.path().join("tokens.json")));
    storage
        .store(
            &base,
            &StoredTokens {
                client_id: Some(CLI_APP.into()),
                tokens: by_rs.clone(),
            },
        )
        .unwrap();
    auth.revoke(&transfer_token.access_token).await.unwrap();
    let stale = TransferClient::new(&base, &transfer_token.access_token).unwrap();
    let e = stale.submission_id().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");

    // 401 → refresh → the same call again, once; the hook saw the new tokens.
    let refreshes = Arc::new(AtomicUsize::new(0));
    let (keep, count, ns) = (storage.clone(), refreshes.clone(), base.clone());
    let now = Arc::new(AtomicI64::new(system_clock()()));
    let clock_now = now.clone();
    let authorizer = Arc::new(
        RefreshTokenAuthorizer::new(transfer_token.clone(), auth.clone())
            .unwrap()
            .with_clock(Arc::new(move || clock_now.load(Ordering::SeqCst)))
            .on_refresh(move |t: &TokenData| {
                count.fetch_add(1, Ordering::SeqCst);
                Ok(keep.store_token(&ns, t)?)
            }),
    );
    let transfer = TransferClient::with_authorizer(&base, authorizer.clone()).unwrap();
    let task_a = submit(&transfer, &src_ep, &dst_ep, "/f0", "/g0").await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    let after_401 = authorizer.current().await;
    assert_ne!(after_401.access_token, transfer_token.access_token);
    assert_ne!(after_401.refresh_token, transfer_token.refresh_token);
    let saved = storage.get(&base).unwrap().unwrap();
    assert_eq!(saved.tokens[TRANSFER_RESOURCE_SERVER], after_401);
    assert_eq!(
        saved.tokens["auth.globus.org"], by_rs["auth.globus.org"],
        "the other tokens are kept"
    );

    // No refresh while the token is fresh; one when it nears expiry (the clock moved on).
    let task_b = submit(&transfer, &src_ep, &dst_ep, "/f1", "/g1").await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    now.store(after_401.expires_at_seconds - 30, Ordering::SeqCst);
    let task_c = submit(&transfer, &src_ep, &dst_ep, "/f2", "/g2").await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
    assert_ne!(
        authorizer.current().await.access_token,
        after_401.access_token
    );

    // Paging, offset/total: three tasks two at a time, newest first.
    let mut pages = transfer.task_list(2, &[]);
    let mut ids = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= 2);
        ids.extend(page.into_iter().map(|t| t.task_id));
    }
    assert_eq!(pages.pages_fetched(), 2);
    // Newest first, ties (same second) broken by id: every task once.
    ids.sort();
    let mut all = vec![task_a.clone(), task_b, task_c.clone()];
    all.sort();
    assert_eq!(ids, all);
    // ls a page at a time.
    let mut names: Vec<String> = transfer
        .ls_pages(&src_ep, "/", 2)
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    names.sort();
    assert_eq!(names, ["f0", "f1", "f2", "f3", "f4"]);
    // has_next_page: both of carol's endpoints, one a page.
    let mut search = transfer.endpoint_search("carol", "my-endpoints", 1);
    let mut found = Vec::new();
    while let Some(e) = search.next().await.unwrap() {
        found.push(e.display_name.unwrap_or_default());
    }
    found.sort();
    assert_eq!(found, ["carol destination", "carol source"]);
    assert!(search.pages_fetched() >= 2);
    // marker: the files a finished task copied.
    let done = loop {
        let t = transfer.get_task(&task_a).await.unwrap();
        if !t.is_active() {
            break t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(done.status, "SUCCEEDED");
    let copied = transfer
        .successful_transfers(&task_a)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].destination_path, "/g0");
    let events = transfer
        .task_events(&task_a, 1)
        .collect_all()
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.code == "SUCCEEDED"), "{events:?}");
    let ep = transfer.get_endpoint(&src_ep).await.unwrap();
    assert_eq!(ep.display_name.as_deref(), Some("carol source"));
    assert_eq!(ep.owner_string.as_deref(), Some("carol@example.org"));

    // Refusals as typed errors in the Transfer envelope.
    let e = transfer
        .get_task("00000000-0000-4000-8000-000000000001")
        .await
        .unwrap_err();
    match &e {
        ClientError::Api {
            status: 404,
            code: Some(code),
            request_id: Some(id),
            ..
        } => {
            assert!(code.contains("NotFound"), "{e}");
            assert!(!id.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let e = transfer
        .ls("00000000-0000-4000-8000-000000000000", "/")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("EndpointNotFound"), "{e}");
    assert!(!e.is_transient());

    // A confidential client as itself: client credentials, renewed by the authorizer.
    let client = json(&server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "robot",
            "--confidential",
        ],
        None,
    ));
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let robot_dir = tempfile::tempdir().unwrap();
    std::fs::write(robot_dir.path().join("r"), "robot").unwrap();
    let robot_ep = json(&server.admin(
        &[
            "admin",
            "endpoint",
            "add",
            "--name",
            "robot",
            "--path",
            &robot_dir.path().display().to_string(),
            "--owner",
            id,
        ],
        None,
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cc =
        ClientCredentialsAuthorizer::new(AuthClient::new(&base, id, secret).unwrap(), TRANSFER_ALL);
    let robot = TransferClient::with_authorizer(&base, Arc::new(cc)).unwrap();
    let listing = robot.ls(&robot_ep, "/").await.unwrap();
    assert_eq!(listing.data[0].name, "r");
    // The robot may not read carol's endpoint.
    let e = robot.ls(&src_ep, "/").await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    // A bad secret: the OAuth error, typed.
    let bad = AuthClient::new(&base, id, "wrong").unwrap();
    let e = bad.client_credentials(TRANSFER_ALL).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(401), Some("invalid_client")),
        "{e}"
    );
    // A refresh token from another client is refused and the authorizer gives up after one
    // try: the 401 is returned, not looped on.
    let other = AuthClient::native(&base, "33b6a241-bce4-4359-9c6d-09f88b3c9eef").unwrap();
    let mut foreign = authorizer.current().await;
    foreign.access_token = "revoked".into();
    let stuck = TransferClient::with_authorizer(
        &base,
        Arc::new(RefreshTokenAuthorizer::new(foreign, other).unwrap()),
    )
    .unwrap();
    let e = stuck.get_task(&task_c).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");

    // A code is good once (and its replay revokes what it gave, RFC 6749 §4.1.2).
    let again = flow.exchange(&code).await.unwrap_err();
    assert_eq!(
        (again.status(), again.code()),
        (Some(400), Some("invalid_grant"))
    );

    // The rotated-out refresh token is spent, and presenting it again looks like theft: the
    // server ends the whole grant (RFC 9700 §4.14.2), so the authorizer's tokens stop working
    // and its one renewal after the 401 fails too.
    let spent = auth
        .refresh_token(transfer_token.refresh_token.as_deref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(spent.code(), Some("invalid_grant"), "{spent}");
    let e = transfer.get_task(&task_c).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

/// Two programs sharing one login in one token file (two storages on the same path, as two
/// processes would have), both holding a revoked access token: each renewal happens under the
/// file's lock and adopts a token the other already renewed, so the rotating refresh token is
/// spent once and the login survives (spending it twice would end it, as the control shows).
#[tokio::test(flavor = "multi_thread")]
async fn programs_sharing_a_token_file_renew_once() {
    let server = Server::start();
    let base = server.url.trim_end_matches('/').to_owned();
    json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "dave@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    let auth = AuthClient::native(&base, CLI_APP).unwrap();
    let login = || async {
        let flow = auth.start_native_flow(&["openid", TRANSFER_ALL], None, true);
        let redirect = sign_in_and_allow(&base, &flow.authorize_url(), "dave@example.org").await;
        let tokens = flow
            .exchange(&code_from_page(&redirect).await)
            .await
            .unwrap();
        by_resource_server(&tokens, system_clock()())
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let shared = |storage: &Arc<JsonFileTokenStorage>, token: &TokenData| {
        let a = RefreshTokenAuthorizer::new(token.clone(), auth.clone())
            .unwrap()
            .shared_with(storage.clone(), &base);
        let a = Arc::new(a);
        (
            a.clone(),
            TransferClient::with_authorizer(&base, a).unwrap(),
        )
    };

    let by_rs = login().await;
    let token = by_rs[TRANSFER_RESOURCE_SERVER].clone();
    let (one, two) = (
        Arc::new(JsonFileTokenStorage::new(&path)),
        Arc::new(JsonFileTokenStorage::new(&path)),
    );
    one.store(
        &base,
        &StoredTokens {
            client_id: Some(CLI_APP.into()),
            tokens: by_rs,
        },
    )
    .unwrap();
    auth.revoke(&token.access_token).await.unwrap();
    // One after the other: the second adopts what the first stored.
    let (a, ta) = shared(&one, &token);
    let (b, tb) = shared(&two, &token);
    ta.submission_id().await.unwrap();
    tb.submission_id().await.unwrap();
    assert_eq!(a.current().await, b.current().await);
    assert_ne!(a.current().await.refresh_token, token.refresh_token);
    assert_eq!(
        one.get(&base).unwrap().unwrap().tokens[TRANSFER_RESOURCE_SERVER],
        a.current().await
    );
    // At once: both wait on the lock, one renews, both work.
    let now = a.current().await;
    auth.revoke(&now.access_token).await.unwrap();
    let (a, ta) = shared(&one, &now);
    let (b, tb) = shared(&two, &now);
    let (ra, rb) = tokio::join!(ta.submission_id(), tb.submission_id());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(a.current().await, b.current().await);
    // And the login is alive: its stored refresh token still renews.
    let stored = one.get(&base).unwrap().unwrap().tokens[TRANSFER_RESOURCE_SERVER].clone();
    auth.refresh_token(stored.refresh_token.as_deref().unwrap())
        .await
        .unwrap();

    // The control: two renewing authorizers that do not share the file spend the same
    // refresh token; the second use ends the login.
    let token = login().await[TRANSFER_RESOURCE_SERVER].clone();
    auth.revoke(&token.access_token).await.unwrap();
    let lone = |t: &TokenData| {
        TransferClient::with_authorizer(
            &base,
            Arc::new(RefreshTokenAuthorizer::new(t.clone(), auth.clone()).unwrap()),
        )
        .unwrap()
    };
    let (ta, tb) = (lone(&token), lone(&token));
    ta.submission_id().await.unwrap();
    let e = tb.submission_id().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let e = ta.submission_id().await.unwrap_err();
    assert_eq!(
        e.status(),
        Some(401),
        "the first one's login ended too: {e}"
    );
}
